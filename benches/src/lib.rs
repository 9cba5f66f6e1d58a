//! Fixtures for Tutti's benchmarks: engines over synthetic catalogues of a
//! chosen size, and people with realistic histories (a year of daily
//! assessments, recommendations and feedback), so that each benchmark measures
//! the call it names and not the set-up. Everything is seeded: the same
//! fixture every run.
//!
//! The criterion benches live in `benches/engine.rs` (groups
//! `engine/rank/{interventions}`, `engine/update`, `engine/network/{processes}`).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tutti_engine::Engine;
use tutti_engine::catalog::{
    Intervention, InterventionCatalog, Modality, Process, ProcessCatalog, Target,
};
use tutti_engine::config::EngineConfig;
use tutti_engine::ids::{InterventionId, ProcessId, Timestamp};
use tutti_engine::observe::{
    Assessment, Completion, Context, Feedback, Instrument, Outcome, Rating,
};
use tutti_engine::population::{EffectPrior, PopulationModel, ReferenceProfile};
use tutti_engine::rank::RecommendQuery;
use tutti_engine::state::PersonState;

/// Start of every synthetic history (2026-01-01T00:00:00Z).
pub const START: Timestamp = Timestamp(1_767_225_600_000);

/// A process catalogue of `n` generic processes (`p00`, `p01`, ...).
pub fn processes(n: usize) -> ProcessCatalog {
    let all = (0..n)
        .map(|i| Process {
            id: ProcessId(format!("p{i:02}")),
            display_name: format!("Process {i}"),
            dimension: "bench".into(),
            adaptive_pole: "adaptive".into(),
            maladaptive_pole: "maladaptive".into(),
            prior_adaptive_mean: 45.0,
            prior_maladaptive_mean: 55.0,
            prior_sd: 20.0,
            min_observations: 20,
        })
        .collect();
    ProcessCatalog::new(all).expect("generated processes are valid")
}

/// `n` synthetic interventions over `processes`: one to three targets each,
/// efforts from 2 to 45 minutes, 15 families, a few contraindications, one
/// safety kernel and a few follow-through aids, like a real catalogue.
pub fn interventions(processes: &ProcessCatalog, n: usize, seed: u64) -> InterventionCatalog {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let ids: Vec<ProcessId> = processes.all().iter().map(|p| p.id.clone()).collect();
    let all = (0..n)
        .map(|i| {
            let k = rng.random_range(1..=3usize.min(ids.len()));
            let mut targets: Vec<Target> = Vec::new();
            while targets.len() < k {
                let p = &ids[rng.random_range(0..ids.len())];
                if !targets.iter().any(|t| &t.process == p) {
                    targets.push(Target {
                        process: p.clone(),
                        weight: rng.random_range(0.2..1.0),
                    });
                }
            }
            let modality = match i % 3 {
                0 => Modality::App,
                1 => Modality::BetweenSessions,
                _ => Modality::InSession,
            };
            Intervention {
                id: InterventionId(format!("kernel-{i:03}")),
                display_name: format!("Kernel {i}"),
                family: format!("family-{}", i % 15),
                instructions: "Do the exercise.".into(),
                targets,
                effort_minutes: rng.random_range(2..=45),
                modality,
                requires_clinician: modality == Modality::InSession && i % 2 == 0,
                contraindications: if i % 7 == 0 {
                    vec![tutti_engine::catalog::Condition::TraumaHistory]
                } else {
                    vec![]
                },
                min_days_between: if i % 5 == 0 { 2 } else { 0 },
                evidence: "Synthetic.".into(),
                prior_effect: rng.random_range(0.5..5.0),
                built_in: false,
                safety: i == 0,
                follow_through_aid: i % 11 == 3,
            }
        })
        .collect();
    InterventionCatalog::new(all, processes).expect("generated interventions are valid")
}

/// An engine with the default configuration over `p` processes and `n` interventions.
pub fn engine(p: usize, n: usize) -> Engine {
    engine_with(EngineConfig::default(), p, n)
}

/// An engine with `config` over `p` processes and `n` interventions.
pub fn engine_with(config: EngineConfig, p: usize, n: usize) -> Engine {
    let pc = processes(p);
    let ic = interventions(&pc, n, 42);
    let pop = PopulationModel::from_catalog(&pc);
    Engine::new(config, pc, ic, pop).expect("valid bench engine")
}

/// An engine whose population model was "trained" on `people` reference
/// people (random maps, levels and per-intervention residuals), so that
/// similar-person pooling searches a realistic index.
pub fn trained_engine(p: usize, n: usize, people: usize) -> Engine {
    let pc = processes(p);
    let ic = interventions(&pc, n, 42);
    let mut pop = PopulationModel::from_catalog(&pc);
    pop.version = format!("bench-trained-{people}");
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    let d = pop.variable_mean.len();
    pop.profiles = (0..people)
        .map(|_| ReferenceProfile {
            features: (0..d).map(|_| rng.random_range(10.0..90.0)).collect(),
            map: (0..p).map(|_| rng.random_range(-1.0..3.0)).collect(),
            effects: (0..5)
                .map(|_| {
                    let iv = &ic.all()[rng.random_range(0..ic.len())];
                    (
                        iv.id.clone(),
                        EffectPrior {
                            mean: rng.random_range(-2.0..2.0),
                            n: rng.random_range(1..4),
                        },
                    )
                })
                .collect(),
        })
        .collect();
    Engine::new(EngineConfig::default(), pc, ic, pop).expect("valid trained bench engine")
}

/// One day's full assessment for every process in `engine` with a well-being score.
pub fn assessment(engine: &Engine, day: usize, rng: &mut ChaCha8Rng) -> Assessment {
    let ratings = engine
        .processes()
        .all()
        .iter()
        .map(|p| {
            let a: f64 = rng.random_range(10.0..90.0);
            Rating {
                process: p.id.clone(),
                adaptive: Some(a),
                maladaptive: Some((100.0 - a + rng.random_range(-10.0..10.0)).clamp(0.0, 100.0)),
            }
        })
        .collect();
    Assessment {
        at: START.plus_days(day as f64),
        ratings,
        outcomes: vec![Outcome {
            instrument: Instrument::Wellbeing,
            score: rng.random_range(20.0..80.0),
        }],
        risk_flags: vec![],
    }
}

/// A person with `days` daily assessments, a recommendation every day and
/// feedback every other day, as the server would have folded them in.
pub fn person(engine: &Engine, days: usize, seed: u64) -> PersonState {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut state = engine.new_person(vec![]);
    let ids: Vec<InterventionId> = engine
        .interventions()
        .all()
        .iter()
        .map(|iv| iv.id.clone())
        .collect();
    for day in 0..days {
        engine
            .observe_assessment(&mut state, &assessment(engine, day, &mut rng))
            .expect("valid assessment");
        let id = &ids[rng.random_range(0..ids.len())];
        let at = START.plus_days(day as f64 + 0.5);
        engine
            .observe_recommendation(&mut state, id, at)
            .expect("known intervention");
        if day % 2 == 0 {
            let completion = match rng.random_range(0..3) {
                0 => Completion::Done,
                1 => Completion::Partly,
                _ => Completion::NotDone,
            };
            let feedback = Feedback {
                intervention: id.clone(),
                at: START.plus_days(day as f64 + 0.8),
                completion: Some(completion),
                minutes_spent: None,
                helpfulness: Some(rng.random_range(0.0..100.0)),
                distress_before: None,
                distress_after: None,
                post_ratings: vec![],
                clinician: None,
                context: Context::default(),
            };
            engine
                .observe_feedback(&mut state, &feedback)
                .expect("valid feedback");
        }
    }
    state
}

/// The query the benches rank with: five items, no context, a fixed seed.
pub fn query(days: usize) -> RecommendQuery {
    RecommendQuery {
        k: 5,
        context: Context::default(),
        exclude: vec![],
        pin: vec![],
        now: START.plus_days(days as f64 + 0.9),
        seed: 7,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixtures_build_and_rank() {
        let e = engine(12, 50);
        let mut s = person(&e, 30, 1);
        assert_eq!(s.assessment_count(), 30);
        e.refresh(&mut s).expect("compatible");
        let r = e.recommend(&s, &query(30)).expect("ranks");
        assert_eq!(r.items.len(), 5);
    }
}
