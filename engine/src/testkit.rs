//! Test fixtures: a small catalogue with the shapes the ranking rules need
//! (safety kernel, contraindicated kernels, clinician-led, follow-through aid,
//! long and short kernels), and builders for observations. Test-only.

use crate::catalog::{
    Condition, Intervention, InterventionCatalog, Modality, Process, ProcessCatalog, Target,
};
use crate::config::EngineConfig;
use crate::engine::Engine;
use crate::ids::{InterventionId, ProcessId, Timestamp};
use crate::observe::{Assessment, Completion, Context, Feedback, Instrument, Outcome, Rating};
use crate::population::PopulationModel;
use crate::rank::RecommendQuery;

pub(crate) fn process(id: &str) -> Process {
    Process {
        id: ProcessId::from(id),
        display_name: format!("{}{}", id[..1].to_uppercase(), &id[1..]),
        dimension: id.into(),
        adaptive_pole: "adaptive".into(),
        maladaptive_pole: "maladaptive".into(),
        prior_adaptive_mean: 45.0,
        prior_maladaptive_mean: 55.0,
        prior_sd: 20.0,
        min_observations: 20,
    }
}

pub(crate) fn processes() -> ProcessCatalog {
    ProcessCatalog::new(vec![
        process("cognition"),
        process("social"),
        process("sleep"),
    ])
    .expect("valid processes")
}

pub(crate) struct Iv {
    pub iv: Intervention,
}

impl Iv {
    pub(crate) fn new(
        id: &str,
        family: &str,
        targets: &[(&str, f64)],
        effort: u32,
        effect: f64,
    ) -> Self {
        Self {
            iv: Intervention {
                id: InterventionId::from(id),
                display_name: id.replace('-', " "),
                family: family.into(),
                instructions: "Do it.".into(),
                targets: targets
                    .iter()
                    .map(|(p, w)| Target {
                        process: ProcessId::from(*p),
                        weight: *w,
                    })
                    .collect(),
                effort_minutes: effort,
                modality: Modality::BetweenSessions,
                requires_clinician: false,
                contraindications: vec![],
                min_days_between: 0,
                evidence: "Test evidence.".into(),
                prior_effect: effect,
                built_in: false,
                safety: false,
                follow_through_aid: false,
            },
        }
    }
    pub(crate) fn modality(mut self, m: Modality) -> Self {
        self.iv.modality = m;
        self
    }
    pub(crate) fn clinician(mut self) -> Self {
        self.iv.requires_clinician = true;
        self
    }
    pub(crate) fn contra(mut self, c: &[Condition]) -> Self {
        self.iv.contraindications = c.to_vec();
        self
    }
    pub(crate) fn safety(mut self) -> Self {
        self.iv.safety = true;
        self
    }
    pub(crate) fn aid(mut self) -> Self {
        self.iv.follow_through_aid = true;
        self
    }
    pub(crate) fn min_days(mut self, d: u32) -> Self {
        self.iv.min_days_between = d;
        self
    }
}

pub(crate) fn interventions(pc: &ProcessCatalog) -> InterventionCatalog {
    let all = vec![
        Iv::new("defuse", "defusion", &[("cognition", 1.0)], 3, 2.5).modality(Modality::App),
        Iv::new(
            "restructure",
            "restructuring",
            &[("cognition", 0.8)],
            15,
            2.5,
        ),
        Iv::new(
            "reach-out",
            "social_connection",
            &[("social", 1.0)],
            10,
            2.5,
        ),
        Iv::new(
            "shared-activity",
            "activation",
            &[("social", 0.7), ("sleep", 0.3)],
            30,
            3.0,
        ),
        Iv::new("wind-down", "sleep", &[("sleep", 1.0)], 10, 2.5),
        Iv::new(
            "if-then",
            "implementation_intentions",
            &[("cognition", 0.5)],
            2,
            1.0,
        )
        .modality(Modality::App)
        .aid(),
        Iv::new(
            "exposure",
            "exposure",
            &[("cognition", 0.5), ("social", 0.5)],
            30,
            4.0,
        )
        .modality(Modality::InSession)
        .clinician()
        .contra(&[Condition::AcuteSuicidality, Condition::TraumaHistory]),
        Iv::new(
            "body-scan",
            "present_moment",
            &[("sleep", 0.5), ("cognition", 0.5)],
            10,
            2.0,
        )
        .modality(Modality::App)
        .contra(&[Condition::TraumaHistory, Condition::Dissociation]),
        Iv::new(
            "safety-plan",
            "safety_planning",
            &[("social", 0.5), ("sleep", 0.5)],
            30,
            3.0,
        )
        .modality(Modality::InSession)
        .clinician()
        .safety(),
    ];
    InterventionCatalog::new(all.into_iter().map(|b| b.iv).collect(), pc).expect("valid catalogue")
}

pub(crate) fn engine_with(config: EngineConfig) -> Engine {
    let pc = processes();
    let ic = interventions(&pc);
    let pop = PopulationModel::from_catalog(&pc);
    Engine::new(config, pc, ic, pop).expect("valid engine")
}

pub(crate) fn engine() -> Engine {
    engine_with(EngineConfig::default())
}

pub(crate) fn day(d: f64) -> Timestamp {
    Timestamp(0).plus_days(d + 20_000.0)
}

/// An assessment: `(process, adaptive, maladaptive)` ratings and a 0-100 well-being.
pub(crate) fn assessment(
    d: f64,
    ratings: &[(&str, f64, f64)],
    wellbeing: Option<f64>,
) -> Assessment {
    Assessment {
        at: day(d),
        ratings: ratings
            .iter()
            .map(|(p, a, m)| Rating {
                process: ProcessId::from(*p),
                adaptive: Some(*a),
                maladaptive: Some(*m),
            })
            .collect(),
        outcomes: wellbeing
            .map(|w| {
                vec![Outcome {
                    instrument: Instrument::Wellbeing,
                    score: w,
                }]
            })
            .unwrap_or_default(),
        risk_flags: vec![],
    }
}

pub(crate) fn feedback(
    id: &str,
    d: f64,
    completion: Option<Completion>,
    helpfulness: Option<f64>,
) -> Feedback {
    Feedback {
        intervention: InterventionId::from(id),
        at: day(d),
        completion,
        minutes_spent: None,
        helpfulness,
        distress_before: None,
        distress_after: None,
        post_ratings: vec![],
        clinician: None,
        context: Context::default(),
    }
}

pub(crate) fn query(k: usize, d: f64, seed: u64) -> RecommendQuery {
    RecommendQuery {
        k,
        context: Context::default(),
        exclude: vec![],
        pin: vec![],
        now: day(d),
        seed,
    }
}

pub(crate) fn id(s: &str) -> InterventionId {
    InterventionId::from(s)
}
