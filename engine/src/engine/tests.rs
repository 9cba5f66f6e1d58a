//! Behaviour of the engine on constructed people: what their ratings and
//! feedback teach it, and the rules ranking must keep.

use super::*;
use crate::EngineError;
use crate::catalog::Condition;
use crate::observe::{ClinicianDecision, Completion, Context, Rating, RiskFlag};
use crate::rank::RankedItem;
use crate::testkit::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const FLAT: &[(&str, f64, f64)] = &[
    ("cognition", 45.0, 55.0),
    ("social", 45.0, 55.0),
    ("sleep", 45.0, 55.0),
];

fn greedy() -> EngineConfig {
    EngineConfig {
        exploration: 0.0,
        diversity: 0.0,
        ..EngineConfig::default()
    }
}

fn item<'r>(r: &'r Ranking, id: &str) -> Option<&'r RankedItem> {
    r.items.iter().find(|i| i.intervention.as_str() == id)
}

fn position(r: &Ranking, id: &str) -> usize {
    r.items
        .iter()
        .position(|i| i.intervention.as_str() == id)
        .unwrap_or(usize::MAX)
}

fn all(e: &Engine, s: &PersonState, d: f64) -> Ranking {
    e.recommend(s, &query(20, d, 7)).expect("ranks")
}

/// `days` daily assessments of three processes with noise; well-being follows
/// `drive` (per process, on the pole contrast, same day). Ends on a flat profile.
fn history(e: &Engine, days: usize, drive: [f64; 3], seed: u64) -> PersonState {
    history_apart(e, days, drive, seed, 0.0)
}

/// [`history`], with each day's well-being sent `apart_minutes` after its
/// ratings as an assessment of its own (before them when negative; together
/// when 0).
fn history_apart(
    e: &Engine,
    days: usize,
    drive: [f64; 3],
    seed: u64,
    apart_minutes: f64,
) -> PersonState {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut s = e.new_person(vec![]);
    for day_i in 0..days {
        let last = day_i + 1 == days;
        let levels: [f64; 3] = if last {
            [45.0; 3]
        } else {
            std::array::from_fn(|_| rng.random_range(20.0..80.0))
        };
        let noise: f64 = rng.random_range(-4.0..4.0);
        let w = 50.0
            + (0..3)
                .map(|p| drive[p] * (levels[p] - 50.0) * 2.0)
                .sum::<f64>()
            + noise;
        let ratings: Vec<(&str, f64, f64)> = ["cognition", "social", "sleep"]
            .iter()
            .zip(levels)
            .map(|(p, a)| (*p, a, 100.0 - a))
            .collect();
        let occasion = assessment(day_i as f64, &ratings, Some(w.clamp(0.0, 100.0)));
        if apart_minutes == 0.0 {
            e.observe_assessment(&mut s, &occasion).expect("valid");
            continue;
        }
        for part in crate::sim::runner::split_occasion(&occasion, apart_minutes) {
            e.observe_assessment(&mut s, &part).expect("valid");
        }
    }
    s
}

#[test]
fn ratings_and_outcomes_sent_minutes_apart_teach_the_map_as_if_sent_together() {
    let e = engine_with(greedy());
    let drive = [0.0, -0.5, 0.0];
    let social = |s: &PersonState| {
        e.insights(s, day(61.0))
            .processes
            .into_iter()
            .find(|p| p.process.as_str() == "social")
            .expect("listed")
            .drive
    };
    let together = history(&e, 60, drive, 2);
    let base = social(&together);
    assert!(base.upper < 0.0, "{base:?}");
    // The outcome first, the ratings five minutes later (a questionnaire and
    // a check-in as two calls): the same rows, so the same map.
    let first = history_apart(&e, 60, drive, 2, -5.0);
    assert_eq!(first.map_observations(), together.map_observations());
    assert_eq!(social(&first), base);
    // The ratings first: the same rows but for the lags of the outcome's
    // part (the occasion before is not the one just sent).
    let after = history_apart(&e, 60, drive, 2, 5.0);
    assert_eq!(after.map_observations(), together.map_observations());
    let got = social(&after);
    assert!(
        got.upper < 0.0 && (got.mean - base.mean).abs() < 0.15 * base.mean.abs(),
        "{got:?} against {base:?}"
    );
}

#[test]
fn defaults_build_and_name_their_model() {
    let e = Engine::with_defaults();
    assert!(e.model_version().starts_with("catalog-prior+cfg."));
    assert_eq!(e.model_version().len(), "catalog-prior+cfg.".len() + 8);
    let other = Engine::new(
        EngineConfig {
            exploration: 0.1,
            ..EngineConfig::default()
        },
        e.processes().clone(),
        e.interventions().clone(),
        e.population().clone(),
    )
    .expect("valid");
    assert_ne!(e.model_version(), other.model_version());
    let s = e.new_person(vec![]);
    let r = e.recommend(&s, &query(5, 0.0, 1)).expect("ranks");
    assert!(!r.items.is_empty());
}

#[test]
fn invalid_configuration_or_mismatched_population_is_rejected() {
    let e = engine();
    let bad = EngineConfig {
        diversity: 2.0,
        ..EngineConfig::default()
    };
    assert!(matches!(
        Engine::new(
            bad,
            e.processes().clone(),
            e.interventions().clone(),
            e.population().clone()
        ),
        Err(EngineError::InvalidConfig(_))
    ));
    let builtin = Engine::with_defaults();
    assert!(matches!(
        Engine::new(
            EngineConfig::default(),
            e.processes().clone(),
            e.interventions().clone(),
            builtin.population().clone()
        ),
        Err(EngineError::IncompatibleState(_))
    ));
}

#[test]
fn same_state_query_and_seed_give_the_same_ranking_even_after_a_round_trip() {
    let e = engine();
    let s = history(&e, 30, [0.3, 0.0, 0.0], 5);
    let q = query(6, 31.0, 1234);
    let a = e.recommend(&s, &q).expect("ranks");
    assert_eq!(a, e.recommend(&s, &q).expect("ranks"));
    let json = serde_json::to_string(&s).expect("serialises");
    let back: PersonState = serde_json::from_str(&json).expect("deserialises");
    assert_eq!(back, s);
    assert_eq!(e.recommend(&back, &q).expect("ranks"), a);
    let differs = (0..20).any(|seed| {
        e.recommend(&s, &RecommendQuery { seed, ..q.clone() })
            .expect("ranks")
            != a
    });
    assert!(differs, "another seed explores differently somewhere");
    // A state from an older engine (no `format`) does not decode: the server rebuilds it.
    let mut old: serde_json::Value = serde_json::from_str(&json).expect("json");
    old.as_object_mut().expect("object").remove("format");
    assert!(serde_json::from_value::<PersonState>(old).is_err());
}

#[test]
fn a_person_whose_well_being_follows_cognition_gets_cognition_kernels_first() {
    let e = engine_with(greedy());
    let driven = history(&e, 60, [0.5, 0.0, 0.0], 1);
    let flat = history(&e, 60, [0.0, 0.0, 0.0], 1);
    let rd = all(&e, &driven, 61.0);
    let rf = all(&e, &flat, 61.0);
    let ratio = |r: &Ranking| {
        item(r, "restructure").expect("listed").benefit.mean
            / item(r, "reach-out").expect("listed").benefit.mean
    };
    assert!(
        ratio(&rd) > 2.0 * ratio(&rf),
        "{} vs {}",
        ratio(&rd),
        ratio(&rf)
    );
    assert!(position(&rd, "restructure") < position(&rd, "reach-out"));
    let defuse = item(&rd, "defuse").expect("listed");
    assert!(
        defuse
            .summary
            .contains("Cognition has moved with their well-being: r = 0."),
        "{}",
        defuse.summary
    );
    assert!(
        defuse.targets[0].influence.lower > 0.0,
        "{:?}",
        defuse.targets[0].influence
    );
    assert!(
        defuse.sufficiency.own_weight > 0.5,
        "{:?}",
        defuse.sufficiency
    );
}

#[test]
fn a_reversed_sign_process_is_learned_from_the_person_s_ratings() {
    let e = engine_with(greedy());
    // Better social ratings go with *lower* well-being for this person.
    let s = history(&e, 80, [0.0, -0.5, 0.0], 2);
    let r = all(&e, &s, 81.0);
    let reach = item(&r, "reach-out").expect("listed");
    assert!(reach.benefit.mean < 0.0, "{:?}", reach.benefit);
    assert!(reach.targets[0].influence.upper < 0.0);
    assert!(position(&r, "reach-out") > position(&r, "wind-down"));
    assert!(
        reach.summary.contains("gone with lower well-being"),
        "{}",
        reach.summary
    );
    let ins = e.insights(&s, day(81.0));
    let social = ins
        .processes
        .iter()
        .find(|p| p.process.as_str() == "social")
        .expect("listed");
    assert!(social.drive.upper < 0.0, "{:?}", social.drive);
    assert_eq!(
        ins.processes[0].process.as_str(),
        "social",
        "the strongest link comes first"
    );
}

#[test]
fn a_backfiring_intervention_is_demoted_after_three_bad_reports() {
    let e = engine();
    let mut s = e.new_person(vec![]);
    e.observe_assessment(&mut s, &assessment(0.0, FLAT, Some(50.0)))
        .expect("valid");
    // The person rates other things as usual, so their rating level is known.
    for (i, iv) in ["reach-out", "wind-down", "restructure"].iter().enumerate() {
        e.observe_feedback(
            &mut s,
            &feedback(iv, 1.0 + i as f64, Some(Completion::Done), Some(65.0)),
        )
        .expect("valid");
    }
    let before = all(&e, &s, 10.0);
    let b0 = item(&before, "shared-activity")
        .expect("listed")
        .benefit
        .mean;
    for d in [11.0, 18.0, 25.0] {
        e.observe_feedback(
            &mut s,
            &feedback("shared-activity", d, Some(Completion::Done), Some(5.0)),
        )
        .expect("valid");
    }
    e.refresh(&mut s).expect("compatible");
    let after = all(&e, &s, 40.0);
    let it = item(&after, "shared-activity").expect("listed");
    assert!(
        it.benefit.mean < 0.0 && it.benefit.mean < b0 - 2.0,
        "{} from {b0}",
        it.benefit.mean
    );
    assert!(
        position(&after, "shared-activity") >= 4,
        "{}",
        position(&after, "shared-activity")
    );
    // Not offered again without a reason: it practically never comes first.
    let (_, props) = e
        .recommend_with_propensities(&s, &query(3, 40.0, 1))
        .expect("ranks");
    let p = props
        .iter()
        .find(|(id, _)| id.as_str() == "shared-activity")
        .map_or(0.0, |x| x.1);
    assert!(p < 0.01, "{p}");
    assert!(
        it.summary.contains("rated 5 helpful last time"),
        "{}",
        it.summary
    );
}

#[test]
fn exploration_falls_as_the_person_s_data_accrue() {
    // Explicit, not the default: the default explores so little that a new
    // person's leader is already nearly certain, which would hide the fall.
    let e = engine_with(EngineConfig {
        exploration: 0.3,
        ..EngineConfig::default()
    });
    let top_share = |s: &PersonState, d: f64| {
        let (_, p) = e
            .recommend_with_propensities(s, &query(1, d, 3))
            .expect("ranks");
        p.iter().map(|x| x.1).fold(0.0, f64::max)
    };
    let fresh = e.new_person(vec![]);
    let cold = top_share(&fresh, 0.0);
    let mut s = history(&e, 90, [0.5, 0.0, -0.3], 9);
    for (i, (iv, h)) in [("defuse", 90.0), ("restructure", 85.0), ("reach-out", 30.0)]
        .iter()
        .cycle()
        .take(12)
        .enumerate()
    {
        e.observe_feedback(
            &mut s,
            &feedback(iv, 90.0 + 2.0 * i as f64, Some(Completion::Done), Some(*h)),
        )
        .expect("valid");
    }
    let warm = top_share(&s, 130.0);
    assert!(
        warm > cold + 0.2,
        "greedy choice's propensity {cold} -> {warm}"
    );
}

#[test]
fn logged_propensities_match_how_often_the_policy_puts_an_item_first() {
    for floor in [0.0, 0.05] {
        let e = engine_with(EngineConfig {
            exploration: 1.0,
            propensity_floor: floor,
            ..EngineConfig::default()
        });
        let mut s = e.new_person(vec![]);
        e.observe_assessment(&mut s, &assessment(0.0, FLAT, Some(50.0)))
            .expect("valid");
        let seeds = 4000u64;
        let mut first: std::collections::BTreeMap<String, f64> = Default::default();
        let mut logged: std::collections::BTreeMap<String, f64> = Default::default();
        for seed in 0..seeds {
            let (r, all_p) = e
                .recommend_with_propensities(&s, &query(1, 1.0, seed))
                .expect("ranks");
            *first
                .entry(r.items[0].intervention.to_string())
                .or_default() += 1.0 / seeds as f64;
            for (id, p) in all_p {
                *logged.entry(id.to_string()).or_default() += p / seeds as f64;
            }
        }
        for (id, p) in &logged {
            let f = first.get(id).copied().unwrap_or(0.0);
            // Binomial sd at 4000 draws is at most 0.008.
            assert!(
                (f - p).abs() < 0.03,
                "floor {floor}: {id} first {f:.3}, logged {p:.3}"
            );
        }
    }
}

#[test]
fn greedy_propensities_are_zero_or_one_and_exploring_ones_sum_to_one() {
    let e = engine_with(greedy());
    let s = history(&e, 20, [0.3, 0.0, 0.0], 3);
    let (r, all_p) = e
        .recommend_with_propensities(&s, &query(5, 21.0, 2))
        .expect("ranks");
    assert!(all_p.iter().all(|(_, p)| *p == 0.0 || *p == 1.0));
    assert_eq!(all_p.iter().filter(|(_, p)| *p == 1.0).count(), 1);
    assert_eq!(r.items[0].propensity, 1.0);
    let e = engine_with(EngineConfig {
        exploration: 1.0,
        propensity_floor: 0.02,
        ..EngineConfig::default()
    });
    let (r, all_p) = e
        .recommend_with_propensities(&s, &query(3, 21.0, 2))
        .expect("ranks");
    let total: f64 = all_p.iter().map(|(_, p)| p).sum();
    assert!((total - 1.0).abs() < 1e-9, "{total}");
    assert!(all_p.iter().all(|(_, p)| *p >= 0.02 - 1e-12 && *p <= 1.0));
    assert!(r.items.iter().map(|i| i.propensity).sum::<f64>() <= 1.0 + 1e-9);
}

#[test]
fn feedback_that_an_intervention_helped_raises_its_estimate_and_its_neighbours() {
    let e = engine_with(greedy());
    let mut s = e.new_person(vec![]);
    e.observe_assessment(&mut s, &assessment(0.0, FLAT, Some(50.0)))
        .expect("valid");
    let before = all(&e, &s, 30.0);
    let mut helped = s.clone();
    let mut useless = s.clone();
    for d in [1.0, 5.0, 9.0] {
        e.observe_feedback(
            &mut helped,
            &feedback("reach-out", d, Some(Completion::Done), Some(95.0)),
        )
        .expect("valid");
        e.observe_feedback(
            &mut useless,
            &feedback("reach-out", d, Some(Completion::Done), Some(10.0)),
        )
        .expect("valid");
    }
    let b = |r: &Ranking, id: &str| item(r, id).expect("listed").benefit;
    let after = all(&e, &helped, 30.0);
    assert!(b(&after, "reach-out").mean > b(&before, "reach-out").mean + 1.0);
    assert!(
        b(&after, "reach-out").upper - b(&after, "reach-out").lower
            < b(&before, "reach-out").upper - b(&before, "reach-out").lower
    );
    // Pooled through the social process: the other social kernel rises too.
    assert!(b(&after, "shared-activity").mean > b(&before, "shared-activity").mean);
    let it = item(&after, "reach-out").expect("listed");
    assert_eq!(it.times_done, 3);
    assert_eq!(it.mean_helpfulness, Some(95.0));
    let worse = all(&e, &useless, 30.0);
    assert!(b(&worse, "reach-out").mean < b(&before, "reach-out").mean);
}

#[test]
fn not_done_teaches_follow_through_but_not_benefit() {
    let e = engine_with(greedy());
    let mut s = e.new_person(vec![]);
    e.observe_assessment(&mut s, &assessment(0.0, FLAT, Some(50.0)))
        .expect("valid");
    let before = item(&all(&e, &s, 10.0), "reach-out")
        .expect("listed")
        .clone();
    e.observe_feedback(
        &mut s,
        &feedback("reach-out", 1.0, Some(Completion::NotDone), Some(90.0)),
    )
    .expect("valid");
    let after = item(&all(&e, &s, 10.0), "reach-out")
        .expect("listed")
        .clone();
    assert_eq!(after.benefit, before.benefit);
    assert!(after.follow_through.mean < before.follow_through.mean);
}

#[test]
fn low_follow_through_lifts_follow_through_aids_and_low_effort_variants() {
    let e = engine_with(greedy());
    let run = |completion: Completion| {
        let mut s = e.new_person(vec![]);
        e.observe_assessment(&mut s, &assessment(0.0, FLAT, Some(50.0)))
            .expect("valid");
        for (i, id) in ["wind-down", "reach-out", "body-scan"]
            .iter()
            .cycle()
            .take(9)
            .enumerate()
        {
            e.observe_feedback(
                &mut s,
                &feedback(id, 1.0 + i as f64, Some(completion), None),
            )
            .expect("valid");
        }
        all(&e, &s, 30.0)
    };
    let low = run(Completion::NotDone);
    let high = run(Completion::Done);
    let score = |r: &Ranking, id: &str| {
        let it = item(r, id).expect("listed");
        it.benefit.mean * it.follow_through.mean
    };
    let aid_low = score(&low, "if-then") / score(&low, "shared-activity");
    let aid_high = score(&high, "if-then") / score(&high, "shared-activity");
    assert!(aid_low > 1.3 * aid_high, "{aid_low} vs {aid_high}");
    assert!(position(&low, "if-then") < position(&high, "if-then"));
    let short_low = score(&low, "defuse") / score(&low, "restructure");
    let short_high = score(&high, "defuse") / score(&high, "restructure");
    assert!(short_low > short_high);
}

#[test]
fn a_reported_low_capacity_lowers_follow_through() {
    let e = engine_with(greedy());
    let s = e.new_person(vec![]);
    let p = |capacity: Option<f64>| {
        let mut q = query(20, 1.0, 1);
        q.context.capacity = capacity;
        item(&e.recommend(&s, &q).expect("ranks"), "reach-out")
            .expect("listed")
            .follow_through
            .mean
    };
    assert!(p(Some(10.0)) < p(None) && p(None) < p(Some(90.0)));
}

#[test]
fn a_risk_flag_puts_safety_first_turns_exploration_off_and_removes_contraindicated_items() {
    let e = engine();
    let mut s = e.new_person(vec![]);
    let mut a = assessment(0.0, FLAT, Some(20.0));
    a.risk_flags = vec![RiskFlag::Suicidality];
    e.observe_assessment(&mut s, &a).expect("valid");
    let mut q = query(5, 0.5, 3);
    q.pin = vec![id("exposure"), id("wind-down")];
    q.context = Context {
        minutes_available: Some(5),
        ..Context::default()
    };
    let r = e.recommend(&s, &q).expect("ranks");
    assert!(r.safety_mode);
    assert_eq!(r.exploration, 0.0);
    assert_eq!(
        r.items[0].intervention.as_str(),
        "safety-plan",
        "safety first even if long"
    );
    assert_eq!(r.items[0].propensity, 1.0);
    assert!(r.items[0].summary.starts_with("Safety first"));
    assert_eq!(r.items[1].intervention.as_str(), "wind-down");
    assert!(r.items[1].pinned);
    assert!(item(&r, "exposure").is_none());
    assert!(r.note.contains("Pinned `exposure` dropped"));
    assert!(
        r.items
            .iter()
            .all(|i| i.requires_clinician_review && !i.exploratory)
    );
    assert!(r.items[1..].iter().all(|i| i.propensity == 0.0));
    e.observe_assessment(&mut s, &assessment(1.0, FLAT, Some(30.0)))
        .expect("valid");
    let r = e.recommend(&s, &query(5, 1.5, 3)).expect("ranks");
    assert!(!r.safety_mode);
    assert!(item(&r, "safety-plan").is_none());
}

#[test]
fn contraindicated_items_are_never_first_and_only_for_clinician_review() {
    // A catalogue where the contraindicated kernel is by far the best on paper.
    let pc = processes();
    let ivs = vec![
        Iv::new("strong", "fam-a", &[("cognition", 1.0)], 5, 9.0)
            .contra(&[Condition::TraumaHistory])
            .iv,
        Iv::new("mild", "fam-b", &[("social", 1.0)], 5, 1.0).iv,
        Iv::new("other", "fam-c", &[("sleep", 1.0)], 5, 0.8).iv,
    ];
    let ic = crate::catalog::InterventionCatalog::new(ivs, &pc).expect("valid");
    let pop = PopulationModel::from_catalog(&pc);
    let e = Engine::new(EngineConfig::default(), pc, ic, pop).expect("valid");
    let s = e.new_person(vec![Condition::TraumaHistory]);
    for seed in 0..200 {
        let (r, props) = e
            .recommend_with_propensities(&s, &query(3, 1.0, seed))
            .expect("ranks");
        assert_ne!(r.items[0].intervention.as_str(), "strong");
        let strong = item(&r, "strong").expect("listed for review");
        assert!(strong.requires_clinician_review);
        assert!(
            strong.summary.contains("caution with trauma history"),
            "{}",
            strong.summary
        );
        assert_eq!(strong.propensity, 0.0);
        assert!(
            props
                .iter()
                .any(|(id, p)| id.as_str() == "strong" && *p == 0.0)
        );
        assert!(r.note.contains("clinician review only"), "{}", r.note);
    }
    // Only contraindicated items fit: nothing is suggested directly.
    let mut q = query(3, 1.0, 1);
    q.exclude = vec![id("mild"), id("other")];
    let r = e.recommend(&s, &q).expect("ranks");
    assert!(r.items.is_empty());
    assert!(
        r.note.contains("needs clinician review first"),
        "{}",
        r.note
    );
}

#[test]
fn pins_come_first_in_order_and_exclusions_always_win() {
    let e = engine();
    let mut s = e.new_person(vec![]);
    e.observe_assessment(&mut s, &assessment(0.0, FLAT, Some(50.0)))
        .expect("valid");
    let mut q = query(4, 1.0, 5);
    q.pin = vec![
        id("shared-activity"),
        id("wind-down"),
        id("shared-activity"),
        id("defuse"),
    ];
    q.exclude = vec![id("defuse"), id("no-such-thing")];
    q.context.minutes_available = Some(12);
    let r = e.recommend(&s, &q).expect("ranks");
    let ids: Vec<&str> = r.items.iter().map(|i| i.intervention.as_str()).collect();
    assert_eq!(
        &ids[..2],
        ["shared-activity", "wind-down"],
        "pins bypass the time filter"
    );
    assert!(!ids.contains(&"defuse"));
    assert!(r.items[0].pinned && r.items[1].pinned && !r.items[2].pinned);
    assert_eq!(r.items[0].propensity, 1.0);
    let mut bad = q.clone();
    bad.pin = vec![id("no-such-thing")];
    assert_eq!(
        e.recommend(&s, &bad),
        Err(EngineError::UnknownIntervention("no-such-thing".into()))
    );
}

#[test]
fn context_drops_what_does_not_fit_and_says_so() {
    let e = engine();
    let mut s = e.new_person(vec![]);
    e.observe_assessment(&mut s, &assessment(0.0, FLAT, Some(50.0)))
        .expect("valid");
    let mut q = query(10, 1.0, 5);
    q.context = Context {
        minutes_available: Some(5),
        setting: Some(crate::observe::Setting::App),
        capacity: None,
    };
    let r = e.recommend(&s, &q).expect("ranks");
    let ids: Vec<&str> = r.items.iter().map(|i| i.intervention.as_str()).collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(ids.contains(&"defuse") && ids.contains(&"if-then"));
    assert!(r.note.contains("longer than the 5 minutes"), "{}", r.note);
    q.context = Context {
        setting: Some(crate::observe::Setting::BetweenSessions),
        ..Context::default()
    };
    let r = e.recommend(&s, &q).expect("ranks");
    assert!(item(&r, "exposure").is_none());
    assert!(r.note.contains("need a session"));
}

#[test]
fn dose_limits_stop_three_days_running_and_respect_min_days_between() {
    let e = engine_with(greedy());
    let mut s = e.new_person(vec![]);
    e.observe_assessment(&mut s, &assessment(0.0, FLAT, Some(50.0)))
        .expect("valid");
    e.observe_recommendation(&mut s, &id("reach-out"), day(1.0))
        .expect("known");
    e.observe_recommendation(&mut s, &id("reach-out"), day(2.0))
        .expect("known");
    assert!(item(&all(&e, &s, 2.5), "reach-out").is_none());
    assert!(all(&e, &s, 2.5).note.contains("dose limits"));
    assert!(
        item(&all(&e, &s, 3.5), "reach-out").is_some(),
        "yesterday only"
    );
    assert_eq!(
        item(&all(&e, &s, 3.5), "reach-out")
            .expect("listed")
            .times_recommended,
        2
    );
    let pc = processes();
    let weekly = Iv::new("weekly", "values", &[("social", 1.0)], 10, 2.0)
        .min_days(7)
        .iv;
    let ic = crate::catalog::InterventionCatalog::new(vec![weekly], &pc).expect("valid");
    let pop = PopulationModel::from_catalog(&pc);
    let e = Engine::new(greedy(), pc, ic, pop).expect("valid");
    let mut s = e.new_person(vec![]);
    e.observe_recommendation(&mut s, &id("weekly"), day(0.0))
        .expect("known");
    assert!(all(&e, &s, 5.0).items.is_empty());
    assert_eq!(all(&e, &s, 7.5).items.len(), 1);
    // The same decision asked again an hour later keeps its answer; a
    // completion reported in that hour is a dose.
    assert_eq!(all(&e, &s, 1.0 / 24.0).items.len(), 1);
    assert!(all(&e, &s, 0.3).items.is_empty());
    e.observe_feedback(
        &mut s,
        &feedback("weekly", 0.02, Some(Completion::Done), None),
    )
    .expect("valid");
    assert!(all(&e, &s, 1.0 / 24.0).items.is_empty());
}

#[test]
fn repetitions_habituate_the_expected_benefit() {
    let e = engine_with(greedy());
    let mut s = e.new_person(vec![]);
    e.observe_assessment(&mut s, &assessment(0.0, FLAT, Some(50.0)))
        .expect("valid");
    let fresh = item(&all(&e, &s, 10.0), "wind-down")
        .expect("listed")
        .benefit
        .mean;
    for d in [0.0, 4.0, 8.0] {
        e.observe_feedback(
            &mut s,
            &feedback("wind-down", d, Some(Completion::Done), None),
        )
        .expect("valid");
    }
    let used = item(&all(&e, &s, 10.0), "wind-down")
        .expect("listed")
        .benefit
        .mean;
    // Doses 10, 6 and 2 days ago, each fading by half every half-life.
    let memory: f64 = [10.0, 6.0, 2.0]
        .iter()
        .map(|age: &f64| 0.5f64.powf(age / e.config().habituation_half_life_days))
        .sum();
    let expected = fresh * (-e.config().habituation * memory).exp();
    assert!((used - expected).abs() < 1e-9, "{used} vs {expected}");
    let later = item(&all(&e, &s, 100.0), "wind-down")
        .expect("listed")
        .benefit
        .mean;
    assert!(
        (later - fresh).abs() < 0.02 * fresh,
        "habituation wears off: {later} vs {fresh}"
    );
}

#[test]
fn habituation_fades_with_later_decisions_when_the_clock_barely_moves() {
    // A platform replaying weeks of care through the API stamps them seconds
    // apart: by the clock nothing has faded, by the decisions since it has.
    let e = engine_with(greedy());
    let mut s = e.new_person(vec![]);
    e.observe_assessment(&mut s, &assessment(0.0, FLAT, Some(50.0)))
        .expect("valid");
    let second = 1.0 / 86_400.0;
    let benefit = |s: &PersonState, d: f64| {
        item(&all(&e, s, d), "wind-down")
            .expect("listed")
            .benefit
            .mean
    };
    let fresh = benefit(&s, 1.0);
    e.observe_feedback(
        &mut s,
        &feedback("wind-down", 1.0, Some(Completion::Done), None),
    )
    .expect("valid");
    let hab = e.config().habituation;
    let just_done = benefit(&s, 1.0 + second);
    assert!(
        (just_done - fresh * (-hab).exp()).abs() < 1e-5 * fresh,
        "{just_done} vs {fresh}"
    );
    for k in 1..=6 {
        e.observe_recommendation(
            &mut s,
            &id("reach-out"),
            day(1.0 + 2.0 * f64::from(k) * second),
        )
        .expect("known");
    }
    // Six later decisions seconds apart (a replayed clock): three halvings,
    // though a minute has passed.
    let after = benefit(&s, 1.0 + 14.0 * second);
    let expected = fresh * (-hab * 0.125).exp();
    assert!(
        (after - expected).abs() < 1e-5 * fresh,
        "{after} vs {expected}"
    );
}

#[test]
fn a_plateau_rotates_away_from_recently_used_families() {
    let e = engine_with(greedy());
    let mut s = e.new_person(vec![]);
    for d in 0..30 {
        e.observe_assessment(&mut s, &assessment(f64::from(d), FLAT, Some(40.0)))
            .expect("valid");
    }
    let before = item(&all(&e, &s, 30.0), "wind-down")
        .expect("listed")
        .benefit
        .mean;
    e.observe_feedback(
        &mut s,
        &feedback("wind-down", 12.0, Some(Completion::Done), None),
    )
    .expect("valid");
    let r = all(&e, &s, 30.0);
    assert!(r.note.contains("levelled off"), "{}", r.note);
    let after = item(&r, "wind-down").expect("listed").benefit.mean;
    assert!(after < before * 0.8, "{after} vs {before}");
}

#[test]
fn the_top_items_are_called_indistinguishable_at_cold_start_but_not_after_clear_evidence() {
    let e = engine_with(greedy());
    let mut s = e.new_person(vec![]);
    e.observe_assessment(&mut s, &assessment(0.0, FLAT, Some(50.0)))
        .expect("valid");
    let r = e.recommend(&s, &query(5, 1.0, 1)).expect("ranks");
    assert!(r.indistinguishable);
    assert!(r.note.contains("cannot be told apart"));
    for i in 0..20 {
        let d = 1.0 + 2.0 * f64::from(i);
        let (iv, h) = if i % 2 == 0 {
            ("reach-out", 100.0)
        } else {
            ("wind-down", 20.0)
        };
        e.observe_feedback(&mut s, &feedback(iv, d, Some(Completion::Done), Some(h)))
            .expect("valid");
    }
    // The two rated kernels, compared with each other.
    let mut q = query(5, 100.0, 1);
    q.exclude = vec![id("exposure"), id("shared-activity")];
    let r = e.recommend(&s, &q).expect("ranks");
    assert_eq!(r.items[0].intervention.as_str(), "reach-out");
    assert!(!r.indistinguishable, "{r:?}");
    assert!(
        r.items[0].sufficiency.own_weight > 0.5,
        "{:?}",
        r.items[0].sufficiency
    );
}

#[test]
fn refresh_caches_the_posterior_without_changing_the_ranking() {
    let e = engine();
    let mut s = history(&e, 40, [0.3, 0.0, 0.0], 8);
    let q = query(5, 41.0, 77);
    let uncached = e.recommend(&s, &q).expect("ranks");
    e.refresh(&mut s).expect("compatible");
    assert!(s.has_fresh_cache(&e.cache_key(&s)));
    assert_eq!(e.recommend(&s, &q).expect("ranks"), uncached);
    e.observe_assessment(&mut s, &assessment(41.0, FLAT, Some(50.0)))
        .expect("valid");
    assert!(
        !s.has_fresh_cache(&e.cache_key(&s)),
        "a new assessment makes it stale"
    );
    assert!(
        s.cache.is_none(),
        "and a stale cache is not carried or stored"
    );
    e.refresh(&mut s).expect("compatible");
    e.observe_feedback(
        &mut s,
        &feedback("defuse", 41.5, Some(Completion::Done), Some(80.0)),
    )
    .expect("valid");
    assert!(!s.has_fresh_cache(&e.cache_key(&s)), "so does feedback");
    assert!(s.cache.is_none());
    // A cache from another configuration is never used.
    let other = engine_with(greedy());
    e.refresh(&mut s).expect("compatible");
    assert!(!s.has_fresh_cache(&other.cache_key(&s)));
}

#[test]
fn assessments_update_levels_network_map_and_risk_and_gaps_break_pairs() {
    let e = engine();
    let mut s = e.new_person(vec![]);
    e.observe_assessment(&mut s, &assessment(0.0, FLAT, Some(50.0)))
        .expect("valid");
    e.observe_assessment(&mut s, &assessment(1.0, FLAT, None))
        .expect("valid");
    assert_eq!(s.network_observations(), 1);
    assert_eq!(s.map_observations(), 1, "only assessments with an outcome");
    e.observe_assessment(&mut s, &assessment(30.0, FLAT, Some(60.0)))
        .expect("valid");
    assert_eq!(
        s.network_observations(),
        1,
        "a 29-day gap is not a lag-1 step"
    );
    assert_eq!(s.map_observations(), 2, "but the same-day map row counts");
    e.observe_assessment(&mut s, &assessment(31.0, FLAT, Some(60.0)))
        .expect("valid");
    assert_eq!(s.network_observations(), 2);
    assert_eq!(s.assessment_count(), 4);
    let snapshot = s.clone();
    e.observe_assessment(&mut s, &assessment(10.0, FLAT, Some(0.0)))
        .expect("valid");
    assert_eq!(
        s.wellbeing(),
        snapshot.wellbeing(),
        "late data do not move the filter"
    );
    assert_eq!(s.assessment_count(), 5);
}

#[test]
fn invalid_observations_are_rejected_and_leave_the_state_untouched() {
    let e = engine();
    let mut s = e.new_person(vec![]);
    let before = s.clone();
    let bad = assessment(0.0, &[("cognition", 120.0, 10.0)], Some(50.0));
    assert!(matches!(
        e.observe_assessment(&mut s, &bad),
        Err(EngineError::InvalidObservation(_))
    ));
    let unknown = assessment(0.0, &[("nope", 10.0, 10.0)], None);
    assert_eq!(
        e.observe_assessment(&mut s, &unknown),
        Err(EngineError::UnknownProcess("nope".into()))
    );
    let mut nan = assessment(0.0, FLAT, Some(50.0));
    nan.outcomes[0].score = f64::NAN;
    assert!(e.observe_assessment(&mut s, &nan).is_err());
    assert!(
        e.observe_feedback(&mut s, &feedback("reach-out", 0.0, None, Some(101.0)))
            .is_err()
    );
    let mut cap = feedback("reach-out", 0.0, Some(Completion::Done), None);
    cap.context.capacity = Some(f64::NAN);
    assert!(e.observe_feedback(&mut s, &cap).is_err());
    assert!(
        e.observe_feedback(&mut s, &feedback("zzz", 0.0, None, None))
            .is_err()
    );
    assert!(
        e.observe_recommendation(&mut s, &id("zzz"), day(0.0))
            .is_err()
    );
    assert_eq!(s, before);
}

#[test]
fn a_state_from_another_process_set_is_reported_not_mixed() {
    let e = engine();
    let builtin = Engine::with_defaults();
    let mut foreign = builtin.new_person(vec![]);
    assert!(matches!(
        e.observe_assessment(&mut foreign, &assessment(0.0, FLAT, None)),
        Err(EngineError::IncompatibleState(_))
    ));
    assert!(matches!(
        e.recommend(&foreign, &query(3, 0.0, 1)),
        Err(EngineError::IncompatibleState(_))
    ));
    assert_eq!(e.insights(&foreign, day(0.0)).assessment_count, 0);
}

#[test]
fn the_next_outcome_and_process_change_after_feedback_become_benefit_evidence() {
    let e = engine_with(greedy());
    let mut s = history(&e, 40, [0.5, 0.0, 0.0], 4);
    e.refresh(&mut s).expect("compatible");
    // The same post ratings and next outcome, once after doing it and once
    // after skipping it: only the first is evidence about the benefit (the
    // ratings move the levels, and with them the headroom, in both).
    let run = |completion: Completion| {
        let mut s = s.clone();
        let mut fb = feedback("defuse", 40.0, Some(completion), None);
        fb.post_ratings = vec![Rating {
            process: "cognition".into(),
            adaptive: Some(70.0),
            maladaptive: Some(30.0),
        }];
        e.observe_feedback(&mut s, &fb).expect("valid");
        e.observe_assessment(&mut s, &assessment(41.0, FLAT, Some(75.0)))
            .expect("valid");
        s
    };
    let done = run(Completion::Done);
    let skipped = run(Completion::NotDone);
    let ev = done.interventions[&id("defuse")].evidence;
    assert_eq!(ev.signals, 2, "process change and outcome change");
    assert!(ev.weighted_sum > 0.0);
    assert!(done.pending.is_empty());
    assert_eq!(skipped.interventions[&id("defuse")].evidence.signals, 0);
    let benefit = |s: &PersonState| {
        item(&all(&e, s, 75.0), "defuse")
            .expect("listed")
            .benefit
            .mean
    };
    assert!(
        benefit(&done) > benefit(&skipped) + 0.1,
        "{} vs {}",
        benefit(&done),
        benefit(&skipped)
    );
}

#[test]
fn clinician_decisions_are_learned() {
    let e = engine_with(greedy());
    let mut s = e.new_person(vec![]);
    e.observe_assessment(&mut s, &assessment(0.0, FLAT, Some(50.0)))
        .expect("valid");
    let before = item(&all(&e, &s, 1.0), "wind-down")
        .expect("listed")
        .benefit
        .mean;
    let mut fb = feedback("wind-down", 0.5, None, None);
    fb.clinician = Some(ClinicianDecision::Overridden {
        replacement: Some(id("reach-out")),
    });
    e.observe_feedback(&mut s, &fb).expect("valid");
    let r = all(&e, &s, 1.0);
    assert!(item(&r, "wind-down").expect("listed").benefit.mean < before);
    assert_eq!(item(&r, "reach-out").expect("listed").times_recommended, 1);
}

/// What the CDS Hooks feedback path sends for an override: a decision and
/// nothing else (no completion, no rating).
fn clinician_only(iv: &str, d: f64, decision: ClinicianDecision) -> Feedback {
    let mut fb = feedback(iv, d, None, None);
    fb.clinician = Some(decision);
    fb
}

#[test]
fn a_bare_rejection_lowers_the_item_s_score_and_rank() {
    let e = engine_with(greedy());
    let mut s = e.new_person(vec![]);
    e.observe_assessment(&mut s, &assessment(0.0, FLAT, Some(50.0)))
        .expect("valid");
    let before = all(&e, &s, 1.0);
    let top = before.items[0].intervention.as_str().to_owned();
    e.observe_feedback(
        &mut s,
        &clinician_only(&top, 0.5, ClinicianDecision::Rejected),
    )
    .expect("valid");
    let after = all(&e, &s, 1.0);
    let score = |r: &Ranking| item(r, &top).expect("listed").score;
    assert!(
        score(&after) < score(&before),
        "{} -> {}",
        score(&before),
        score(&after)
    );
    assert!(
        position(&after, &top) > 0,
        "{top} stays first after the clinician rejected it"
    );
}

#[test]
fn an_acceptance_takes_back_an_earlier_decline_of_the_same_intervention() {
    let e = engine_with(greedy());
    let mut s = e.new_person(vec![]);
    e.observe_assessment(&mut s, &assessment(0.0, FLAT, Some(50.0)))
        .expect("valid");
    let score = |s: &PersonState| item(&all(&e, s, 2.0), "wind-down").expect("listed").score;
    let fresh = score(&s);
    let mut once = s.clone();
    e.observe_feedback(
        &mut once,
        &clinician_only("wind-down", 0.5, ClinicianDecision::Rejected),
    )
    .expect("valid");
    let declined_once = score(&once);
    assert!(declined_once < fresh);

    // Declined twice, then accepted: counted as one decline.
    let mut twice_then_accepted = once.clone();
    e.observe_feedback(
        &mut twice_then_accepted,
        &clinician_only(
            "wind-down",
            0.6,
            ClinicianDecision::Overridden { replacement: None },
        ),
    )
    .expect("valid");
    assert!(score(&twice_then_accepted) < declined_once);
    e.observe_feedback(
        &mut twice_then_accepted,
        &clinician_only("wind-down", 0.7, ClinicianDecision::Accepted),
    )
    .expect("valid");
    assert!((score(&twice_then_accepted) - declined_once).abs() < 1e-9);

    // Declined once, then accepted: as if never declined, and a further
    // acceptance does not lift it above that.
    let mut offset = once.clone();
    for d in [0.7, 0.8] {
        e.observe_feedback(
            &mut offset,
            &clinician_only("wind-down", d, ClinicianDecision::Accepted),
        )
        .expect("valid");
        assert!(
            (score(&offset) - fresh).abs() < 1e-9,
            "{} vs {fresh}",
            score(&offset)
        );
    }
}

#[test]
fn the_most_stuck_process_is_named_and_strengths_are_built_on() {
    let e = engine_with(greedy());
    let mut s = e.new_person(vec![]);
    e.observe_assessment(
        &mut s,
        &assessment(
            0.0,
            &[
                ("cognition", 30.0, 80.0),
                ("social", 85.0, 10.0),
                ("sleep", 40.0, 60.0),
            ],
            Some(50.0),
        ),
    )
    .expect("valid");
    let r = all(&e, &s, 1.0);
    assert!(
        r.note
            .contains("Most stuck: Cognition (30 adaptive, 80 maladaptive)"),
        "{}",
        r.note
    );
    let defuse = item(&r, "defuse").expect("listed");
    assert!(
        defuse
            .summary
            .starts_with("Targets Cognition, their most stuck process"),
        "{}",
        defuse.summary
    );
    let reach = item(&r, "reach-out").expect("listed");
    assert!(reach.builds_on_strength);
    assert!(
        reach.summary.starts_with("Builds on Social"),
        "{}",
        reach.summary
    );
    // The room is where the person is stuck: cognition first.
    assert!(position(&r, "restructure") < position(&r, "reach-out"));
}

#[test]
fn exploratory_items_say_why_they_were_tried() {
    let e = engine_with(EngineConfig {
        exploration: 1.0,
        ..EngineConfig::default()
    });
    let mut s = e.new_person(vec![]);
    e.observe_assessment(&mut s, &assessment(0.0, FLAT, Some(50.0)))
        .expect("valid");
    let found = (0..50).find_map(|seed| {
        let r = e.recommend(&s, &query(3, 1.0, seed)).expect("ranks");
        r.items.into_iter().find(|i| i.exploratory)
    });
    let it = found.expect("some seed explores");
    assert!(it.summary.contains("Tried to learn"), "{}", it.summary);
}

#[test]
fn the_builtin_engine_ranks_with_built_in_kernels() {
    let e = Engine::with_defaults();
    let mut s = e.new_person(vec![]);
    let ratings: Vec<Rating> = e
        .processes()
        .all()
        .iter()
        .map(|p| Rating {
            process: p.id.clone(),
            adaptive: Some(40.0),
            maladaptive: Some(60.0),
        })
        .collect();
    let a = Assessment {
        at: day(0.0),
        ratings,
        outcomes: vec![],
        risk_flags: vec![],
    };
    e.observe_assessment(&mut s, &a).expect("valid");
    let r = e.recommend(&s, &query(5, 0.5, 1)).expect("ranks");
    assert!(!r.items.is_empty());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]
    #[test]
    fn the_state_network_equals_the_batch_network_of_the_imputed_series(
        steps in proptest::collection::vec(
            (0.1f64..20.0,
             proptest::collection::vec((0usize..3, proptest::option::of(0.0f64..100.0), proptest::option::of(0.0f64..100.0)), 0..4),
             proptest::option::of(0.0f64..100.0)),
            2..40),
    ) {
        let e = engine_with(EngineConfig { network_shrinkage: 0.0, ..EngineConfig::default() });
        let mut s = e.new_person(vec![]);
        let mut series: Vec<Vec<f64>> = Vec::new();
        let mut times: Vec<f64> = Vec::new();
        let mut t = 0.0;
        for (gap, ratings, wellbeing) in &steps {
            t += gap;
            let a = Assessment {
                at: day(t),
                ratings: ratings
                    .iter()
                    .map(|(p, a, m)| Rating {
                        process: ["cognition", "social", "sleep"][*p].into(),
                        adaptive: *a,
                        maladaptive: *m,
                    })
                    .collect(),
                outcomes: wellbeing
                    .map(|w| vec![crate::observe::Outcome { instrument: crate::observe::Instrument::Wellbeing, score: w }])
                    .unwrap_or_default(),
                risk_flags: vec![],
            };
            e.observe_assessment(&mut s, &a).expect("valid");
            series.push(s.last_values.clone());
            times.push(t);
        }
        let max_gap = e.config().max_gap_days;
        let batch = NetworkStats::from_series(&series, |i| times[i + 1] - times[i] <= max_gap + 1e-9);
        proptest::prop_assert_eq!(batch.n(), s.network.n());
        let a = e.network_estimate(&s).expect("compatible");
        let b = e.model().estimate_network(&batch, &(0..7).collect::<Vec<_>>());
        for (ra, rb) in a.rows.iter().zip(&b.rows) {
            for (x, y) in ra.coef.iter().zip(&rb.coef) {
                proptest::prop_assert!((x - y).abs() <= 1e-9 * (1.0 + y.abs()), "{} vs {}", x, y);
            }
        }
    }
}

#[test]
fn similar_people_count_once_the_person_s_map_is_known() {
    let pc = processes();
    let ic = interventions(&pc);
    let plain = Engine::new(
        greedy(),
        pc.clone(),
        ic.clone(),
        PopulationModel::from_catalog(&pc),
    )
    .expect("valid");
    // Every reference person found "defuse" worked far beyond their map.
    let mut pop = PopulationModel::from_catalog(&pc);
    pop.response.neighbour_weight = 1.0;
    pop.profiles = (0..10)
        .map(|_| crate::population::ReferenceProfile {
            features: vec![50.0; 7],
            map: vec![1.0; 3],
            effects: [(
                id("defuse"),
                crate::population::EffectPrior { mean: 6.0, n: 3 },
            )]
            .into_iter()
            .collect(),
        })
        .collect();
    let pooled = Engine::new(greedy(), pc, ic, pop).expect("valid");
    let benefit = |e: &Engine, s: &PersonState| {
        item(&all(e, s, 81.0), "defuse")
            .expect("listed")
            .benefit
            .mean
    };
    // A stranger's nearest people are nobody in particular yet.
    let stranger = plain.new_person(vec![]);
    let lift = benefit(&pooled, &stranger) - benefit(&plain, &stranger);
    assert!(lift.abs() < 1e-9, "{lift}");
    // Eighty days of ratings pin the map down: now they are similar people.
    let known = history(&plain, 80, [0.3, 0.0, 0.0], 2);
    let lift = benefit(&pooled, &known) - benefit(&plain, &known);
    assert!(lift > 1.0 && lift < 6.0, "{lift}");
    // The operator's weight caps the learned one.
    let off = Engine::new(
        EngineConfig {
            neighbour_weight: 0.0,
            ..greedy()
        },
        pooled.processes().clone(),
        pooled.interventions().clone(),
        pooled.population().clone(),
    )
    .expect("valid");
    assert_eq!(benefit(&off, &known), benefit(&plain, &known));
}
