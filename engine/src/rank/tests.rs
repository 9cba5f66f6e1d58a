//! Ranking rules that must hold for any person, query and seed.

use super::*;
use crate::Engine;
use crate::catalog::Condition;
use crate::config::EngineConfig;
use crate::observe::{Completion, RiskFlag, Setting};
use crate::testkit::*;
use proptest::prelude::*;

#[test]
fn diversity_pushes_a_second_kernel_of_the_same_family_down() {
    let pc = processes();
    let ivs = vec![
        Iv::new("a1", "fam-a", &[("cognition", 1.0)], 5, 3.0).iv,
        Iv::new("a2", "fam-a", &[("cognition", 1.0)], 5, 2.9).iv,
        Iv::new("b1", "fam-b", &[("social", 1.0)], 5, 2.0).iv,
    ];
    let ic = crate::catalog::InterventionCatalog::new(ivs, &pc).expect("valid");
    let pop = crate::population::PopulationModel::from_catalog(&pc);
    let order = |diversity: f64| {
        let cfg = EngineConfig {
            exploration: 0.0,
            diversity,
            ..EngineConfig::default()
        };
        let e = Engine::new(cfg, pc.clone(), ic.clone(), pop.clone()).expect("valid");
        let s = e.new_person(vec![]);
        e.recommend(&s, &query(3, 0.0, 1))
            .expect("ranks")
            .items
            .iter()
            .map(|i| i.intervention.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(order(0.0), ["a1", "a2", "b1"]);
    assert_eq!(order(0.8), ["a1", "b1", "a2"]);
}

#[test]
fn k_is_capped_and_zero_returns_nothing() {
    let e = engine();
    let s = e.new_person(vec![]);
    assert!(
        e.recommend(&s, &query(0, 0.0, 1))
            .expect("ranks")
            .items
            .is_empty()
    );
    let r = e.recommend(&s, &query(500, 0.0, 1)).expect("ranks");
    assert!(r.items.len() <= MAX_K);
}

const CONDITIONS: [Condition; 3] = [
    Condition::TraumaHistory,
    Condition::Dissociation,
    Condition::Cardiac,
];
const FLAGS: [RiskFlag; 5] = [
    RiskFlag::Suicidality,
    RiskFlag::SelfHarm,
    RiskFlag::CrisisContact,
    RiskFlag::Psychosis,
    RiskFlag::Intoxication,
];
const PROCESSES: [&str; 3] = ["cognition", "social", "sleep"];

type Ratings = Vec<(usize, f64, f64)>;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    #[test]
    fn pins_exclusions_safety_and_propensity_rules_always_hold(
        conds in proptest::collection::vec(0usize..3, 0..3),
        days in proptest::collection::vec(
            (proptest::collection::vec((0usize..3, 0.0f64..100.0, 0.0f64..100.0), 0..4),
             proptest::option::of(0.0f64..100.0)),
            0..6),
        risk in proptest::option::of(0usize..5),
        feedback_in in proptest::collection::vec((0usize..9, 0u8..4, proptest::option::of(0.0f64..100.0)), 0..8),
        recs in proptest::collection::vec(0usize..9, 0..6),
        k in 0usize..12,
        pins in proptest::collection::vec(0usize..9, 0..4),
        excludes in proptest::collection::vec(0usize..9, 0..4),
        minutes in proptest::option::of(1u32..40),
        setting in proptest::option::of(0u8..3),
        seed in any::<u64>(),
        exploration in proptest::sample::select(vec![0.0, 0.3, 1.0]),
        floor in proptest::sample::select(vec![0.0, 0.05]),
        diversity in 0.0f64..1.0,
    ) {
        let e = engine_with(EngineConfig {
            exploration,
            propensity_floor: floor,
            diversity,
            ..EngineConfig::default()
        });
        let ids: Vec<InterventionId> = e.interventions().all().iter().map(|iv| iv.id.clone()).collect();
        let mut s = e.new_person(conds.iter().map(|&c| CONDITIONS[c]).collect());
        let n = days.len();
        for (i, (ratings, wellbeing)) in days.iter().enumerate() {
            let ratings: Ratings = ratings.clone();
            let named: Vec<(&str, f64, f64)> = ratings.iter().map(|(p, a, m)| (PROCESSES[*p], *a, *m)).collect();
            let mut a = assessment(i as f64, &named, *wellbeing);
            if i + 1 == n && let Some(f) = risk {
                a.risk_flags = vec![FLAGS[f]];
            }
            e.observe_assessment(&mut s, &a).expect("valid assessment");
        }
        for (j, (iv, c, h)) in feedback_in.iter().enumerate() {
            let completion = match c {
                0 => Some(Completion::Done),
                1 => Some(Completion::Partly),
                2 => Some(Completion::NotDone),
                _ => None,
            };
            let fb = feedback(ids[*iv].as_str(), n as f64 - 0.5 + 0.01 * j as f64, completion, *h);
            e.observe_feedback(&mut s, &fb).expect("valid feedback");
        }
        for r in &recs {
            e.observe_recommendation(&mut s, &ids[*r], day(n as f64 - 0.2)).expect("known");
        }
        let mut q = query(k, n as f64, seed);
        q.pin = pins.iter().map(|&i| ids[i].clone()).collect();
        q.exclude = excludes.iter().map(|&i| ids[i].clone()).collect();
        q.context.minutes_available = minutes;
        q.context.setting = setting.map(|x| [Setting::InSession, Setting::BetweenSessions, Setting::App][x as usize]);

        let (r, all_p) = e.recommend_with_propensities(&s, &q).expect("ranks");
        prop_assert_eq!(&e.recommend(&s, &q).expect("ranks"), &r, "deterministic");

        let safety = risk.is_some() && n > 0;
        prop_assert_eq!(r.safety_mode, safety);
        let mut conditions: Vec<Condition> = s.conditions.clone();
        if safety {
            conditions.push(FLAGS[risk.unwrap_or(0)].condition());
            prop_assert_eq!(r.exploration, 0.0);
        }
        let iv_of = |id: &InterventionId| e.interventions().get(id).expect("catalogue item");
        let contraindicated = |id: &InterventionId| {
            iv_of(id).contraindications.iter().any(|c| conditions.contains(c))
        };

        // Size, uniqueness, exclusions.
        prop_assert!(r.items.len() <= k.min(MAX_K));
        let returned: Vec<&InterventionId> = r.items.iter().map(|i| &i.intervention).collect();
        let unique: BTreeSet<&InterventionId> = returned.iter().copied().collect();
        prop_assert_eq!(unique.len(), returned.len());
        for x in &q.exclude {
            prop_assert!(!returned.contains(&x), "excluded {} returned", x);
        }

        // The fixed head: safety kernels (in safety mode), then pins in order.
        let mut prefix: Vec<&InterventionId> = Vec::new();
        if safety {
            prefix.extend(ids.iter().filter(|id| iv_of(id).safety && !q.exclude.contains(id)));
        }
        for p in &q.pin {
            let dropped = q.exclude.contains(p)
                || prefix.contains(&p)
                || (safety && contraindicated(p));
            if !dropped {
                prefix.push(p);
            }
        }
        let head = prefix.len().min(r.items.len());
        prop_assert_eq!(&returned[..head], &prefix[..head]);
        prop_assert!(head == prefix.len() || r.items.len() == k.min(MAX_K));

        for it in &r.items {
            let iv = iv_of(&it.intervention);
            if safety {
                prop_assert!(!contraindicated(&it.intervention), "contraindicated {} in safety mode", it.intervention);
                prop_assert!(it.requires_clinician_review);
                prop_assert!(!it.exploratory);
            } else {
                if contraindicated(&it.intervention) {
                    prop_assert!(it.requires_clinician_review);
                    prop_assert!(it.summary.contains("Clinician review"), "{}", it.summary);
                    if !it.pinned {
                        prop_assert_eq!(it.propensity, 0.0);
                    }
                }
                prop_assert!(!iv.safety || it.pinned, "safety kernel outside the safety path");
            }
            let filtered = !(it.pinned || (safety && iv.safety));
            if filtered && let Some(m) = minutes {
                prop_assert!(iv.effort_minutes <= m);
            }
            for p in [it.follow_through.lower, it.follow_through.mean, it.follow_through.upper, it.propensity] {
                prop_assert!((0.0..=1.0).contains(&p), "probability {}", p);
            }
            prop_assert!(it.follow_through.lower <= it.follow_through.mean + 1e-12);
            prop_assert!(it.follow_through.mean <= it.follow_through.upper + 1e-12);
            prop_assert!(it.benefit.lower <= it.benefit.mean && it.benefit.mean <= it.benefit.upper);
            prop_assert!((0.0..=1.0).contains(&it.sufficiency.own_weight));
            prop_assert!(!it.summary.is_empty() && it.summary.chars().count() <= explain::SUMMARY_MAX_CHARS);
        }

        // A contraindicated item never ranks first (pins are the clinician's choice).
        if let Some(first) = r.items.first() && !first.pinned {
            prop_assert!(!contraindicated(&first.intervention), "contraindicated {} first", first.intervention);
        }

        // Propensities.
        let sum_returned: f64 = r.items.iter().map(|i| i.propensity).sum();
        prop_assert!(sum_returned <= 1.0 + 1e-9);
        let sum_all: f64 = all_p.iter().map(|(_, p)| p).sum();
        if all_p.is_empty() {
            prop_assert_eq!(sum_all, 0.0);
        } else {
            prop_assert!((sum_all - 1.0).abs() < 1e-9, "sum {}", sum_all);
        }
        if r.exploration == 0.0 || !prefix.is_empty() {
            prop_assert!(all_p.iter().all(|(_, p)| *p == 0.0 || *p == 1.0));
        } else {
            // The floor holds for every candidate that may rank first; a
            // contraindicated one never does.
            let eligible: Vec<f64> = all_p
                .iter()
                .filter(|(id, _)| !contraindicated(id))
                .map(|(_, p)| *p)
                .collect();
            prop_assert!(all_p.iter().filter(|(id, _)| contraindicated(id)).all(|(_, p)| *p == 0.0));
            if floor > 0.0 && eligible.len() > 1 {
                let f = floor.min(1.0 / eligible.len() as f64);
                prop_assert!(eligible.iter().all(|p| *p >= f - 1e-12));
            }
        }
        if let Some(first) = r.items.first()
            && (r.exploration == 0.0 || !prefix.is_empty())
        {
            prop_assert_eq!(first.propensity, 1.0);
        }
    }
}
