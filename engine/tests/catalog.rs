//! The built-in intervention catalogue (`engine/data/interventions.toml`) as
//! data: it loads, it covers every process and modality, its safety, dose and
//! contraindication rules match the domain brief (section 4), its evidence notes
//! only quote statistics the brief gives, and `docs/catalogue.md` matches it.
//!
//! Only the catalogue API and compiled-in files are used: no I/O at run time.
//! To regenerate the generated part of the doc after changing the data, run
//! `cargo test -p tutti-engine --test catalog -- --ignored --nocapture print_catalogue_doc`
//! and paste the output between the markers in `docs/catalogue.md`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use tutti_engine::EngineError;
use tutti_engine::catalog::{
    Condition, Intervention, InterventionCatalog, Modality, ProcessCatalog,
};

/// Every family, in the order the doc lists them. A typo in a family name
/// (`behavioral_activation`) would silently split a kernel from its variants and
/// defeat diversity across families, so the set is closed here.
const FAMILIES: &[&str] = &[
    "acceptance",
    "defusion",
    "present_moment",
    "self_as_context",
    "values",
    "committed_action",
    "behavioural_activation",
    "exposure",
    "cognitive_restructuring",
    "problem_solving",
    "self_compassion",
    "sleep",
    "physical_activity",
    "social_connection",
    "implementation_intentions",
    "strengths",
    "safety_planning",
    "crisis_resources",
];

/// Families on the safety path; they hold safety items only.
const SAFETY_FAMILIES: &[&str] = &["safety_planning", "crisis_resources"];

/// Cautions for meditation-type practice (Farias 2020: adverse events in about
/// 8% of meditators, more with trauma, dissociation or psychosis history).
const MEDITATION_CAUTIONS: &[Condition] = &[
    Condition::TraumaHistory,
    Condition::Dissociation,
    Condition::PsychosisHistory,
    Condition::ActivePsychosis,
];

/// Meditation-type kernels outside the `present_moment` family: sustained,
/// inward attention to breath, body, thoughts or the observing self.
const MEDITATION_TYPE_ELSEWHERE: &[&str] = &[
    "acceptance-willingness-expansion",
    "acceptance-urge-surfing",
    "defusion-leaves-on-a-stream",
    "self-as-context-observer-self",
    "self-as-context-notice-the-noticer",
];

/// `present_moment` kernels that are not meditation-type. 5-4-3-2-1 grounding
/// anchors attention outward with eyes open and is itself a stabilisation skill
/// for dissociation and flashbacks; sending it to clinician review for exactly
/// those people would withhold the skill they most need.
const EXTEROCEPTIVE_PRESENT_MOMENT: &[&str] = &["present-moment-grounding-5-4-3-2-1"];

const EXPOSURE_CAUTIONS: &[Condition] = &[
    Condition::AcuteSuicidality,
    Condition::ActivePsychosis,
    Condition::Intoxication,
    Condition::UnstableMedical,
];

const INTEROCEPTIVE_CAUTIONS: &[Condition] = &[
    Condition::Cardiac,
    Condition::Respiratory,
    Condition::Seizures,
    Condition::Pregnancy,
];

const SLEEP_RESTRICTION_CAUTIONS: &[Condition] = &[
    Condition::Bipolar,
    Condition::Seizures,
    Condition::DrowsyDrivingRisk,
];

const VIGOROUS_EXERCISE_CAUTIONS: &[Condition] = &[
    Condition::ExerciseRestriction,
    Condition::Cardiac,
    Condition::UnstableMedical,
];

/// The only effect sizes the domain brief gives for kernels; an evidence note
/// quoting any other number has invented or misremembered it.
const BRIEF_STATISTICS: &[&str] = &["0.74", "0.79", "0.34", "0.66", "0.65", "0.62", "8%"];

const DOC: &str = include_str!("../../docs/catalogue.md");
const DOC_BEGIN: &str = "<!-- catalogue:begin -->";
const DOC_END: &str = "<!-- catalogue:end -->";

fn catalog() -> InterventionCatalog {
    InterventionCatalog::builtin(&ProcessCatalog::builtin())
        .expect("the built-in interventions validate against the built-in processes")
}

fn get<'a>(catalog: &'a InterventionCatalog, id: &str) -> &'a Intervention {
    catalog
        .get(&id.into())
        .unwrap_or_else(|| panic!("`{id}` is in the built-in catalogue"))
}

fn family<'a>(catalog: &'a InterventionCatalog, name: &str) -> Vec<&'a Intervention> {
    catalog
        .all()
        .iter()
        .filter(|iv| iv.family == name)
        .collect()
}

fn lacks<'a>(iv: &Intervention, required: &'a [Condition]) -> Vec<&'a Condition> {
    required
        .iter()
        .filter(|c| !iv.contraindications.contains(c))
        .collect()
}

fn wire_name<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        other => panic!("expected a unit enum to serialise to a string, got {other:?}"),
    }
}

/// Number of sentences, with `...` and `et al.` not counted as sentence ends.
fn sentences(text: &str) -> usize {
    let text = text.replace("...", "\u{2026}").replace("et al.", "et al");
    let chars: Vec<char> = text.chars().collect();
    let mut count = 0;
    for (i, &c) in chars.iter().enumerate() {
        if matches!(c, '.' | '!' | '?') {
            let mut j = i + 1;
            while j < chars.len() && matches!(chars[j], '"' | ')' | '\'') {
                j += 1;
            }
            if j == chars.len() || chars[j].is_whitespace() {
                count += 1;
            }
        }
    }
    count
}

#[test]
fn builtin_catalogue_loads_with_at_least_44_kernels() {
    let catalog = catalog();
    assert!(
        catalog.len() >= 44,
        "expected at least 44 built-in kernels, found {}",
        catalog.len()
    );
    assert!(catalog.all().iter().all(|iv| iv.built_in));
}

#[test]
fn builtin_catalogue_reports_a_missing_process_instead_of_panicking() {
    let processes = ProcessCatalog::builtin();
    let without_sleep = ProcessCatalog::new(
        processes
            .all()
            .iter()
            .filter(|p| p.id.as_str() != "sleep")
            .cloned()
            .collect(),
    )
    .expect("a smaller process set is still valid");
    assert_eq!(
        InterventionCatalog::builtin(&without_sleep),
        Err(EngineError::UnknownProcess("sleep".into()))
    );
}

#[test]
fn ids_and_display_names_are_unique_and_ids_are_lowercase_dashed() {
    let catalog = catalog();
    let mut ids = BTreeSet::new();
    let mut names = BTreeSet::new();
    for iv in catalog.all() {
        let id = iv.id.as_str();
        assert!(
            !id.starts_with('-')
                && !id.ends_with('-')
                && !id.contains("--")
                && id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "`{id}` must be lowercase letters, digits and single dashes"
        );
        assert!(ids.insert(id), "duplicate id `{id}`");
        assert!(
            names.insert(iv.display_name.as_str()),
            "duplicate display name `{}`",
            iv.display_name
        );
    }
}

#[test]
fn families_are_the_known_set_and_each_is_used() {
    let catalog = catalog();
    let used: BTreeSet<&str> = catalog.all().iter().map(|iv| iv.family.as_str()).collect();
    for f in &used {
        assert!(
            FAMILIES.contains(f),
            "unknown family `{f}`: fix the typo or add it to FAMILIES and the doc"
        );
    }
    for f in FAMILIES {
        assert!(used.contains(f), "family `{f}` has no kernel");
    }
}

#[test]
fn every_process_is_targeted_at_least_three_times_and_is_a_primary_target() {
    let processes = ProcessCatalog::builtin();
    let catalog = catalog();
    for p in processes.all() {
        let targeting = catalog
            .all()
            .iter()
            .filter(|iv| iv.targets.iter().any(|t| t.process == p.id))
            .count();
        let primary = catalog
            .all()
            .iter()
            .filter(|iv| iv.targets[0].process == p.id)
            .count();
        assert!(
            targeting >= 3,
            "process `{}` is targeted by {targeting} kernels",
            p.id
        );
        assert!(
            primary >= 1,
            "process `{}` is nobody's primary target",
            p.id
        );
    }
}

#[test]
fn targets_are_one_to_three_primary_first_with_shares_summing_to_one() {
    for iv in catalog().all() {
        assert!(
            (1..=3).contains(&iv.targets.len()),
            "`{}` has {} targets",
            iv.id,
            iv.targets.len()
        );
        assert!(
            iv.targets.windows(2).all(|w| w[0].weight >= w[1].weight),
            "`{}`: the primary target must come first (weights non-increasing)",
            iv.id
        );
        let sum: f64 = iv.targets.iter().map(|t| t.weight).sum();
        assert!(
            (sum - 1.0).abs() < 1e-9,
            "`{}`: target shares add up to {sum}, not 1",
            iv.id
        );
    }
}

#[test]
fn every_modality_is_represented_with_several_short_app_items() {
    let catalog = catalog();
    for m in [
        Modality::InSession,
        Modality::BetweenSessions,
        Modality::App,
    ] {
        assert!(
            catalog.all().iter().any(|iv| iv.modality == m),
            "no kernel with modality {m:?}"
        );
    }
    let short_app = catalog
        .all()
        .iter()
        .filter(|iv| iv.modality == Modality::App && iv.effort_minutes <= 3)
        .count();
    assert!(
        short_app >= 8,
        "only {short_app} app items of 3 minutes or less"
    );
}

#[test]
fn effort_and_dose_limits_are_realistic() {
    for iv in catalog().all() {
        let max = match iv.modality {
            Modality::App => 15,
            Modality::BetweenSessions | Modality::InSession => 60,
        };
        assert!(
            iv.effort_minutes <= max,
            "`{}`: {} minutes is a lot for {:?}",
            iv.id,
            iv.effort_minutes,
            iv.modality
        );
        assert!(
            iv.min_days_between <= 30,
            "`{}`: min_days_between {} would hide it for over a month",
            iv.id,
            iv.min_days_between
        );
    }
}

#[test]
fn clinician_led_kernels_happen_in_session() {
    for iv in catalog().all() {
        if iv.requires_clinician {
            assert_eq!(
                iv.modality,
                Modality::InSession,
                "`{}` needs a clinician to lead it, so it cannot be homework or an app item",
                iv.id
            );
        }
    }
}

#[test]
fn safety_items_are_clinician_led_in_session_or_low_effort_app_items() {
    let catalog = catalog();
    let safety: Vec<_> = catalog.all().iter().filter(|iv| iv.safety).collect();
    assert!(
        safety
            .iter()
            .any(|iv| iv.requires_clinician && iv.modality == Modality::InSession),
        "no clinician-led safety plan"
    );
    assert!(
        safety.iter().any(|iv| iv.modality == Modality::App),
        "no app-level crisis resource"
    );
    for iv in &safety {
        let clinician_led = iv.requires_clinician && iv.modality == Modality::InSession;
        let low_effort_app =
            iv.modality == Modality::App && iv.effort_minutes <= 3 && !iv.requires_clinician;
        assert!(
            clinician_led || low_effort_app,
            "safety item `{}` must be clinician-led in session or a low-effort app item",
            iv.id
        );
    }
}

#[test]
fn safety_items_are_never_excluded_or_dose_limited() {
    for iv in catalog().all() {
        let in_safety_family = SAFETY_FAMILIES.contains(&iv.family.as_str());
        assert_eq!(
            iv.safety, in_safety_family,
            "`{}`: safety items and safety families must coincide",
            iv.id
        );
        if iv.safety {
            assert!(
                iv.contraindications.is_empty(),
                "safety item `{}` must never be filtered out by a contraindication",
                iv.id
            );
            assert_eq!(
                iv.min_days_between, 0,
                "safety item `{}` is dose-limited",
                iv.id
            );
            assert_eq!(iv.prior_effect, 3.0, "safety item `{}`", iv.id);
            assert!(!iv.follow_through_aid, "safety item `{}`", iv.id);
        }
    }
}

#[test]
fn meditation_type_kernels_carry_meditation_cautions() {
    let catalog = catalog();
    let mut checked = 0;
    for iv in catalog.all() {
        let meditation_type = (iv.family == "present_moment"
            && !EXTEROCEPTIVE_PRESENT_MOMENT.contains(&iv.id.as_str()))
            || MEDITATION_TYPE_ELSEWHERE.contains(&iv.id.as_str());
        if meditation_type {
            checked += 1;
            let missing = lacks(iv, MEDITATION_CAUTIONS);
            assert!(missing.is_empty(), "`{}` lacks {missing:?}", iv.id);
        }
    }
    // Guards against the lists above going stale after a rename.
    assert_eq!(
        checked,
        MEDITATION_TYPE_ELSEWHERE.len() + family(&catalog, "present_moment").len()
            - EXTEROCEPTIVE_PRESENT_MOMENT.len()
    );
    for id in MEDITATION_TYPE_ELSEWHERE
        .iter()
        .chain(EXTEROCEPTIVE_PRESENT_MOMENT)
    {
        get(&catalog, id);
    }
}

#[test]
fn exposure_kernels_carry_exposure_cautions() {
    let catalog = catalog();
    let exposure = family(&catalog, "exposure");
    assert!(exposure.len() >= 3);
    for iv in exposure {
        let missing = lacks(iv, EXPOSURE_CAUTIONS);
        assert!(missing.is_empty(), "`{}` lacks {missing:?}", iv.id);
        assert!(iv.contraindications.contains(&Condition::AcuteSuicidality));
    }
}

#[test]
fn interoceptive_exposure_carries_medical_cautions_and_is_clinician_led() {
    let catalog = catalog();
    let iv = get(&catalog, "exposure-interoceptive");
    let missing = lacks(iv, INTEROCEPTIVE_CAUTIONS);
    assert!(missing.is_empty(), "`{}` lacks {missing:?}", iv.id);
    assert!(iv.requires_clinician);
}

#[test]
fn imaginal_exposure_is_clinician_led() {
    let catalog = catalog();
    let iv = get(&catalog, "exposure-imaginal");
    assert!(iv.requires_clinician);
    assert_eq!(iv.modality, Modality::InSession);
}

#[test]
fn sleep_restriction_is_clinician_led_with_its_cautions() {
    let catalog = catalog();
    let iv = get(&catalog, "sleep-restriction");
    assert!(iv.requires_clinician);
    let missing = lacks(iv, SLEEP_RESTRICTION_CAUTIONS);
    assert!(missing.is_empty(), "`{}` lacks {missing:?}", iv.id);
}

#[test]
fn vigorous_exercise_carries_exercise_cautions() {
    let catalog = catalog();
    let iv = get(&catalog, "physical-activity-jog");
    let missing = lacks(iv, VIGOROUS_EXERCISE_CAUTIONS);
    assert!(missing.is_empty(), "`{}` lacks {missing:?}", iv.id);
}

#[test]
fn contraindications_are_listed_once_each() {
    for iv in catalog().all() {
        let unique: BTreeSet<_> = iv.contraindications.iter().collect();
        assert_eq!(
            unique.len(),
            iv.contraindications.len(),
            "`{}` repeats a contraindication",
            iv.id
        );
    }
}

#[test]
fn follow_through_aids_are_short_self_help_that_promise_no_more_than_the_full_form() {
    let catalog = catalog();
    for iv in catalog.all().iter().filter(|iv| iv.follow_through_aid) {
        assert!(
            iv.effort_minutes <= 5
                && iv.modality == Modality::App
                && !iv.requires_clinician
                && !iv.safety,
            "follow-through aid `{}` must be a short app item a person does alone",
            iv.id
        );
        let full_forms: Vec<f64> = family(&catalog, &iv.family)
            .iter()
            .filter(|o| !o.follow_through_aid)
            .map(|o| o.prior_effect)
            .collect();
        if let Some(best) = full_forms.iter().copied().reduce(f64::max) {
            assert!(
                iv.prior_effect <= best,
                "`{}` promises {} but the best full form of `{}` only {best}",
                iv.id,
                iv.prior_effect,
                iv.family
            );
        }
    }
}

#[test]
fn every_self_help_family_of_three_or_more_offers_a_follow_through_aid() {
    let catalog = catalog();
    for f in FAMILIES {
        let self_help: Vec<_> = family(&catalog, f)
            .into_iter()
            .filter(|iv| !iv.requires_clinician && !iv.safety)
            .collect();
        if self_help.len() >= 3 {
            assert!(
                self_help.iter().any(|iv| iv.follow_through_aid),
                "family `{f}` has {} self-help kernels but no follow-through aid",
                self_help.len()
            );
        }
    }
    let ii = family(&catalog, "implementation_intentions");
    assert!(!ii.is_empty() && ii.iter().all(|iv| iv.follow_through_aid));
}

#[test]
fn strengths_based_moves_are_self_help_across_several_processes() {
    let catalog = catalog();
    let strengths = family(&catalog, "strengths");
    assert!(strengths.len() >= 4);
    assert!(strengths.iter().all(|iv| !iv.requires_clinician));
    let primaries: BTreeSet<&str> = strengths
        .iter()
        .map(|iv| iv.targets[0].process.as_str())
        .collect();
    assert!(
        primaries.len() >= 3,
        "strengths moves build only on {primaries:?}"
    );
}

#[test]
fn prior_effects_are_modest_and_follow_the_evidence() {
    let catalog = catalog();
    for iv in catalog.all() {
        assert!(
            (0.5..=4.0).contains(&iv.prior_effect),
            "`{}`: prior_effect {} is not modest",
            iv.id,
            iv.prior_effect
        );
    }
    let p = |id: &str| get(&catalog, id).prior_effect;
    // (stronger, weaker) pairs where the brief's evidence orders them.
    let ordered = [
        // Behavioural activation (SMD -0.74) over problem solving in
        // low-risk-of-bias trials (g=0.34).
        (
            "behavioural-activation-activity-scheduling",
            "problem-solving-steps",
        ),
        // Self-compassion is no better than active controls (Wilson 2018).
        (
            "behavioural-activation-activity-scheduling",
            "self-compassion-letter",
        ),
        // CBT-I components over sleep hygiene education alone.
        ("sleep-stimulus-control", "sleep-hygiene-review"),
        ("sleep-restriction", "sleep-hygiene-review"),
        // Walking/jogging (g=-0.62) over untested light stretching.
        ("physical-activity-walk", "physical-activity-gentle-stretch"),
    ];
    for (stronger, weaker) in ordered {
        assert!(
            p(stronger) > p(weaker),
            "`{stronger}` should be expected to help more than `{weaker}`"
        );
    }
}

#[test]
fn instructions_are_one_to_three_sentences() {
    for iv in catalog().all() {
        let n = sentences(&iv.instructions);
        assert!(
            (1..=3).contains(&n),
            "`{}` has {n} sentences of instructions",
            iv.id
        );
    }
}

#[test]
fn evidence_notes_are_one_sentence_quoting_only_the_briefs_statistics() {
    for iv in catalog().all() {
        let e = &iv.evidence;
        assert_eq!(
            sentences(e),
            1,
            "`{}`: evidence should be one sentence",
            iv.id
        );
        assert!(
            e.ends_with('.'),
            "`{}`: evidence should end with a full stop",
            iv.id
        );
        // Every decimal or percentage must be one the brief gives.
        for token in e.split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '%')) {
            let token = token.trim_end_matches('.');
            if token.contains('.') || token.ends_with('%') {
                assert!(
                    BRIEF_STATISTICS.contains(&token),
                    "`{}` quotes `{token}`, which is not in the domain brief",
                    iv.id
                );
            }
        }
        let has_statistic = BRIEF_STATISTICS.iter().any(|s| e.contains(s));
        let cites_year = e
            .split(|c: char| !c.is_ascii_digit())
            .any(|w| w.len() == 4 && (w.starts_with("19") || w.starts_with("20")));
        assert!(
            !has_statistic || cites_year,
            "`{}` quotes a statistic without its source",
            iv.id
        );
    }
}

// ---------------------------------------------------------------------------
// docs/catalogue.md
// ---------------------------------------------------------------------------

fn render_doc(catalog: &InterventionCatalog, processes: &ProcessCatalog) -> String {
    let mut out = String::new();
    let rank = |f: &str| FAMILIES.iter().position(|x| *x == f).unwrap_or(usize::MAX);
    let mut rows: Vec<&Intervention> = catalog.all().iter().collect();
    rows.sort_by(|a, b| {
        rank(&a.family)
            .cmp(&rank(&b.family))
            .then_with(|| a.id.cmp(&b.id))
    });

    let families: BTreeMap<usize, (&str, usize)> =
        rows.iter().fold(BTreeMap::new(), |mut acc, iv| {
            acc.entry(rank(&iv.family))
                .or_insert((iv.family.as_str(), 0))
                .1 += 1;
            acc
        });
    let _ = writeln!(out, "### Summary\n");
    let _ = writeln!(
        out,
        "{} kernels in {} families; {} follow-through aids; {} safety items.\n",
        rows.len(),
        families.len(),
        rows.iter().filter(|iv| iv.follow_through_aid).count(),
        rows.iter().filter(|iv| iv.safety).count(),
    );
    let _ = writeln!(out, "| family | kernels |\n|---|---|");
    for (name, n) in families.values() {
        let _ = writeln!(out, "| {name} | {n} |");
    }
    let _ = writeln!(
        out,
        "\n| process | targeted by | primary target of |\n|---|---|---|"
    );
    for p in processes.all() {
        let by = rows
            .iter()
            .filter(|iv| iv.targets.iter().any(|t| t.process == p.id))
            .count();
        let primary = rows
            .iter()
            .filter(|iv| iv.targets[0].process == p.id)
            .count();
        let _ = writeln!(out, "| {} | {by} | {primary} |", p.id);
    }

    let _ = writeln!(out, "\n### Kernels\n");
    let _ = writeln!(
        out,
        "| id | name | family | targets | minutes | modality | clinician | contraindications | min days | prior | flags |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|---|");
    for iv in &rows {
        let targets: Vec<String> = iv
            .targets
            .iter()
            .map(|t| format!("{} {}", t.process, t.weight))
            .collect();
        let contra: Vec<String> = iv.contraindications.iter().map(wire_name).collect();
        let mut flags = Vec::new();
        if iv.safety {
            flags.push("safety");
        }
        if iv.follow_through_aid {
            flags.push("follow-through aid");
        }
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} | {} | {} | {} | {:.1} | {} |",
            iv.id,
            iv.display_name.replace('|', "\\|"),
            iv.family,
            targets.join(", "),
            iv.effort_minutes,
            wire_name(&iv.modality),
            if iv.requires_clinician { "yes" } else { "" },
            contra.join(", "),
            iv.min_days_between,
            iv.prior_effect,
            flags.join(", "),
        );
    }

    let _ = writeln!(out, "\n### Evidence notes\n");
    for iv in &rows {
        let _ = writeln!(out, "- `{}`: {}", iv.id, iv.evidence);
    }
    out
}

fn doc_generated_section() -> &'static str {
    let start = DOC
        .find(DOC_BEGIN)
        .expect("docs/catalogue.md has the begin marker")
        + DOC_BEGIN.len();
    let end = DOC
        .find(DOC_END)
        .expect("docs/catalogue.md has the end marker");
    DOC[start..end].trim()
}

#[test]
fn docs_catalogue_matches_the_data() {
    let rendered = render_doc(&catalog(), &ProcessCatalog::builtin());
    assert!(
        doc_generated_section() == rendered.trim(),
        "docs/catalogue.md is out of date; regenerate it with\n  \
         cargo test -p tutti-engine --test catalog -- --ignored --nocapture print_catalogue_doc\n\
         and paste the output between the markers"
    );
}

#[test]
fn docs_catalogue_mentions_every_id() {
    for iv in catalog().all() {
        assert!(
            DOC.contains(&format!("`{}`", iv.id)),
            "docs/catalogue.md does not mention `{}`",
            iv.id
        );
    }
}

#[test]
#[ignore = "prints the generated part of docs/catalogue.md"]
fn print_catalogue_doc() {
    print!("{}", render_doc(&catalog(), &ProcessCatalog::builtin()));
}
