//! Training a [`PopulationModel`] from logged events: what `tutti train` fits
//! and the server loads as a versioned artifact.
//!
//! # What is learned, and why only this
//! The per-person models already learn from each person's own data; what a
//! log of many people adds is a better *starting point* for the next person.
//! Three parts of [`PopulationModel`] are fitted, each falling back to the
//! catalogue prior where the log is thin:
//!
//! - **Population response** per intervention: the mean benefit signal of
//!   everyone who did it, shrunk toward the catalogue's `prior_effect` by five
//!   pseudo-rows ([`PopulationModel::fit`]). The benefit signal is the one the
//!   per-person model uses for helpfulness (`(h - 50) / 50 × 10` points, see
//!   [`crate::response`]), so the trained mean and the person's own evidence
//!   are on one scale.
//! - **Reference profiles** for similar-person pooling: one per person in the
//!   log (their mean process levels at feedback time and their mean benefit
//!   per intervention). Together with the smartcore nearest-neighbour search in
//!   [`crate::response`] this is the nomothetic response model: "people whose
//!   processes looked like yours got this much from it".
//! - **Follow-through covariates**: a pooled logistic regression (smartcore)
//!   of done / not done on the covariates of [`crate::follow::offset`]: log
//!   effort, time pressure, in-session fit, app mismatch. Partly done counts as
//!   one done and one not-done row (the soft label 0.5 the online update uses).
//!   A pooled fit ignores the person effect and so estimates *marginal*
//!   coefficients, attenuated by about `1 / sqrt(1 + π σ²/8)` against the
//!   conditional ones the engine needs (σ = the prior person sd); the fit is
//!   de-attenuated by that factor. A covariate is only refitted when at least
//!   [`MIN_COVARIATE_ROWS`] rows exercise it; otherwise the prior value stays,
//!   because a ridge fit of an unexercised covariate returns zero, which
//!   would silently erase the prior. The coefficients are also sign-constrained
//!   (clamped at zero) to the direction [`crate::follow`] gives them: longer,
//!   tighter-fitting and badly placed exercises are not *more* likely done. A
//!   fit that says otherwise is confounded by the logging policy (the engine
//!   suggests a long exercise mostly when the person has shown they do them),
//!   not evidence, and a wrong-signed prior would steer every new person.
//! - **Population levels**: the mean and between-person sd of every variable
//!   (cold-start imputation and neighbour scaling), from people with at least
//!   one observation of it, once [`MIN_PEOPLE_FOR_LEVELS`] people have one.
//!
//! The population network and the recovery curve keep their catalogue values:
//! estimating a pooled network well needs the per-person estimates' own
//! uncertainty (a multilevel VAR), which is a project of its own.
//!
//! # Collecting rows
//! [`Collector`] replays each person's events in time order through an engine
//! (assessments update the person's levels; feedback becomes rows, read
//! against the levels *before* the feedback's own post-ratings), so the
//! simulator and the server's decision log produce rows the same way.

use crate::Engine;
use crate::catalog::Modality;
use crate::catalog::{InterventionCatalog, ProcessCatalog};
use crate::error::{EngineError, Result};
use crate::follow::{self, FollowPrior, REFERENCE_EFFORT_MINUTES};
use crate::ids::InterventionId;
use crate::observe::{Assessment, Completion, Context, Feedback, Setting};
use crate::response::{PopulationModel, TrainingRow};
use crate::state::PersonState;
use serde::{Deserialize, Serialize};
use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::linear::logistic_regression::{LogisticRegression, LogisticRegressionParameters};

/// Rows a follow-through covariate needs (non-zero values) before it is refitted.
pub const MIN_COVARIATE_ROWS: usize = 30;
/// Follow-through reports needed before the intercept is refitted.
pub const MIN_FOLLOW_ROWS: usize = 50;
/// People with an observation of a variable needed before its population level is refitted.
pub const MIN_PEOPLE_FOR_LEVELS: usize = 10;
/// Ridge penalty of the follow-through regression (on the coefficients, not the intercept).
const FOLLOW_RIDGE: f64 = 1.0;
/// Bounds that keep a fitted logit coefficient within what a person-level
/// model can sensibly start from.
const MAX_ABS_COEFFICIENT: f64 = 4.0;

/// One follow-through report: the intervention, its context and what happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FollowRow {
    /// The intervention.
    pub intervention: InterventionId,
    /// Minutes available and setting when it was suggested.
    pub context: Context,
    /// Done, partly, not done.
    pub completion: Completion,
}

/// Everything [`train`] learns from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainingSet {
    /// Benefit rows (one per done or partly done report with a helpfulness rating).
    pub effects: Vec<TrainingRow>,
    /// Follow-through rows (one per report with a completion).
    pub follow: Vec<FollowRow>,
    /// Per person, the mean level of every variable over their assessments
    /// (`None` where never observed).
    pub levels: Vec<Vec<Option<f64>>>,
}

/// Replays people's events through an engine and collects training rows.
#[derive(Debug)]
pub struct Collector<'e> {
    engine: &'e Engine,
    set: TrainingSet,
    person: Option<Current>,
}

#[derive(Debug)]
struct Current {
    key: String,
    state: PersonState,
    sums: Vec<(f64, u32)>,
}

impl<'e> Collector<'e> {
    /// A collector reading levels through `engine` (its catalogues must
    /// contain every intervention in the events).
    pub fn new(engine: &'e Engine) -> Self {
        Self {
            engine,
            set: TrainingSet::default(),
            person: None,
        }
    }

    /// Starts the next person; their events must follow in time order.
    pub fn start_person(&mut self, key: impl Into<String>, state: PersonState) {
        self.close_person();
        let d = state.variables.len();
        self.person = Some(Current {
            key: key.into(),
            state,
            sums: vec![(0.0, 0); d],
        });
    }

    /// One assessment of the current person.
    pub fn assessment(&mut self, assessment: &Assessment) -> Result<()> {
        let engine = self.engine;
        let cur = self.current()?;
        engine.observe_assessment(&mut cur.state, assessment)?;
        for (v, (sum, n)) in cur.state.variables.iter().zip(cur.sums.iter_mut()) {
            if v.last_at == Some(assessment.at)
                && let Some(level) = v.level
            {
                *sum += level;
                *n += 1;
            }
        }
        Ok(())
    }

    /// One feedback report of the current person.
    pub fn feedback(&mut self, feedback: &Feedback) -> Result<()> {
        let engine = self.engine;
        let cur = self
            .person
            .as_mut()
            .ok_or_else(|| EngineError::IncompatibleState("feedback before start_person".into()))?;
        let pop = engine.population();
        let profile: Vec<f64> = cur
            .state
            .variables
            .iter()
            .zip(&pop.variable_mean)
            .map(|(v, m)| v.level.unwrap_or(*m).clamp(0.0, 100.0))
            .collect();
        if let Some(completion) = feedback.completion {
            self.set.follow.push(FollowRow {
                intervention: feedback.intervention.clone(),
                context: feedback.context,
                completion,
            });
            if completion != Completion::NotDone
                && let Some(h) = feedback.helpfulness
            {
                self.set.effects.push(TrainingRow {
                    person: cur.key.clone(),
                    profile,
                    intervention: feedback.intervention.clone(),
                    benefit: (h - 50.0) / 50.0 * 10.0,
                });
            }
        }
        engine.observe_feedback(&mut cur.state, feedback)
    }

    /// The rows collected so far.
    pub fn finish(mut self) -> TrainingSet {
        self.close_person();
        self.set
    }

    fn current(&mut self) -> Result<&mut Current> {
        self.person
            .as_mut()
            .ok_or_else(|| EngineError::IncompatibleState("event before start_person".into()))
    }

    fn close_person(&mut self) {
        if let Some(cur) = self.person.take() {
            self.set.levels.push(
                cur.sums
                    .iter()
                    .map(|&(s, n)| (n > 0).then(|| s / f64::from(n)))
                    .collect(),
            );
        }
    }
}

/// What a training run did, for the artifact and the command line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainReport {
    /// Benefit rows used.
    pub effect_rows: usize,
    /// Interventions with a trained population mean.
    pub interventions_trained: usize,
    /// Reference profiles (people with benefit rows).
    pub reference_profiles: usize,
    /// Follow-through reports used.
    pub follow_rows: usize,
    /// The follow-through prior before and after.
    pub follow_before: FollowPrior,
    /// See `follow_before`.
    pub follow_after: FollowPrior,
    /// Covariates left at their prior for lack of rows.
    pub follow_kept: Vec<String>,
    /// People behind the population levels (0 when they were kept).
    pub level_people: usize,
}

/// Fits a population model from `set` on top of the catalogue prior.
pub fn train(
    version: impl Into<String>,
    set: &TrainingSet,
    interventions: &InterventionCatalog,
    processes: &ProcessCatalog,
) -> Result<(PopulationModel, TrainReport)> {
    let mut model = PopulationModel::fit(version, &set.effects, interventions, processes)?;
    let follow_before = model.follow.clone();
    let (follow, kept) = fit_follow(&set.follow, interventions, &follow_before)?;
    model.follow = follow;
    let level_people = fit_levels(&mut model, &set.levels);
    model.validate(processes)?;
    let report = TrainReport {
        effect_rows: set.effects.len(),
        interventions_trained: model.effects.len(),
        reference_profiles: model.profiles.len(),
        follow_rows: set.follow.len(),
        follow_before,
        follow_after: model.follow.clone(),
        follow_kept: kept,
        level_people,
    };
    Ok((model, report))
}

/// The covariates of [`follow::offset`], without their coefficients.
fn covariates(effort_minutes: u32, modality: Modality, ctx: &Context) -> [f64; 4] {
    let effort = f64::from(effort_minutes.max(1));
    let pressure = ctx.minutes_available.map_or(0.0, |m| {
        ((effort / f64::from(m.max(1)) - 0.5) / 0.5).clamp(0.0, 2.0)
    });
    let (in_session, mismatch) = match (ctx.setting, modality) {
        (Some(Setting::InSession), Modality::InSession) => (1.0, 0.0),
        (Some(Setting::App), Modality::BetweenSessions) => (0.0, 1.0),
        _ => (0.0, 0.0),
    };
    [
        (effort / REFERENCE_EFFORT_MINUTES).ln(),
        pressure,
        in_session,
        mismatch,
    ]
}

const COVARIATE_NAMES: [&str; 4] = [
    "effort_slope",
    "time_pressure",
    "in_session_boost",
    "modality_mismatch",
];

fn fit_follow(
    rows: &[FollowRow],
    interventions: &InterventionCatalog,
    prior: &FollowPrior,
) -> Result<(FollowPrior, Vec<String>)> {
    let all_kept = || COVARIATE_NAMES.iter().map(|s| (*s).to_owned()).collect();
    if rows.len() < MIN_FOLLOW_ROWS {
        return Ok((prior.clone(), all_kept()));
    }
    let mut x: Vec<[f64; 4]> = Vec::with_capacity(rows.len() * 2);
    let mut y: Vec<u32> = Vec::with_capacity(rows.len() * 2);
    for r in rows {
        let iv = interventions
            .get(&r.intervention)
            .ok_or_else(|| EngineError::UnknownIntervention(r.intervention.to_string()))?;
        let c = covariates(iv.effort_minutes, iv.modality, &r.context);
        match r.completion {
            Completion::Done => {
                x.push(c);
                y.push(1);
            }
            Completion::NotDone => {
                x.push(c);
                y.push(0);
            }
            Completion::Partly => {
                x.extend([c, c]);
                y.extend([1, 0]);
            }
        }
    }
    if !(y.contains(&0) && y.contains(&1)) {
        // Everyone did everything (or nothing): no contrast to learn from.
        return Ok((prior.clone(), all_kept()));
    }
    let used: Vec<usize> = (0..4)
        .filter(|&j| {
            let distinct = x.iter().filter(|c| c[j].abs() > 1e-9).count();
            distinct >= MIN_COVARIATE_ROWS && distinct + MIN_COVARIATE_ROWS <= x.len()
                || (j == 0 && spread(x.iter().map(|c| c[0])) > 0.1)
        })
        .collect();
    let design: Vec<Vec<f64>> = x
        .iter()
        .map(|c| {
            let mut row: Vec<f64> = used.iter().map(|&j| c[j]).collect();
            // smartcore rejects a zero-column design; a constant column is
            // absorbed by the intercept split and carries no information.
            if row.is_empty() {
                row.push(0.0);
            }
            row
        })
        .collect();
    let matrix = DenseMatrix::from_2d_vec(&design)
        .map_err(|e| EngineError::InvalidObservation(format!("follow-through design: {e}")))?;
    let fit = LogisticRegression::fit(
        &matrix,
        &y,
        LogisticRegressionParameters::default().with_alpha(FOLLOW_RIDGE),
    )
    .map_err(|e| EngineError::InvalidObservation(format!("follow-through regression: {e}")))?;
    use smartcore::linalg::basic::arrays::Array;
    let intercept = *fit.intercept().get((0, 0));
    let attenuation = (1.0 + std::f64::consts::PI * prior.person_sd.powi(2) / 8.0).sqrt();
    let coef = |k: usize| {
        (*fit.coefficients().get((0, k)) * attenuation)
            .clamp(-MAX_ABS_COEFFICIENT, MAX_ABS_COEFFICIENT)
    };
    let mut out = prior.clone();
    out.mean =
        follow::sigmoid((intercept * attenuation).clamp(-MAX_ABS_COEFFICIENT, MAX_ABS_COEFFICIENT))
            .clamp(0.02, 0.98);
    let mut kept = Vec::new();
    for (j, name) in COVARIATE_NAMES.iter().enumerate() {
        match used.iter().position(|&u| u == j) {
            Some(k) => match j {
                // The engine subtracts these three: a positive coefficient
                // in the regression is a negative penalty.
                0 => out.effort_slope = (-coef(k)).max(0.0),
                1 => out.time_pressure = (-coef(k)).max(0.0),
                2 => out.in_session_boost = coef(k).max(0.0),
                _ => out.modality_mismatch = (-coef(k)).max(0.0),
            },
            None => kept.push((*name).to_owned()),
        }
    }
    Ok((out, kept))
}

fn spread(values: impl Iterator<Item = f64>) -> f64 {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if hi >= lo { hi - lo } else { 0.0 }
}

/// Refits population means and sds from per-person mean levels; returns the
/// number of people used (0 when too few and the prior was kept).
fn fit_levels(model: &mut PopulationModel, levels: &[Vec<Option<f64>>]) -> usize {
    let d = model.variable_mean.len();
    let mut used = 0;
    for i in 0..d {
        let values: Vec<f64> = levels
            .iter()
            .filter_map(|p| p.get(i).copied().flatten())
            .collect();
        if values.len() < MIN_PEOPLE_FOR_LEVELS {
            continue;
        }
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
        model.variable_mean[i] = mean;
        // A floor keeps neighbour scaling finite when everyone looks alike.
        model.variable_sd[i] = var.sqrt().max(2.0);
        used = used.max(values.len());
    }
    used
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::EngineConfig;
    use crate::follow::{logit, offset, sigmoid};
    use crate::testkit::{self, assessment, feedback, id, query};
    use rand::{Rng as _, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, StandardNormal};

    /// Follow-through reports drawn from a known hierarchical logistic model
    /// (person effects included, as in real data).
    fn follow_rows(
        truth: &FollowPrior,
        people: usize,
        per_person: usize,
        seed: u64,
    ) -> Vec<FollowRow> {
        let pc = testkit::processes();
        let ic = testkit::interventions(&pc);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let settings = [
            None,
            Some(Setting::InSession),
            Some(Setting::BetweenSessions),
            Some(Setting::App),
        ];
        let minutes = [None, Some(5), Some(10), Some(20), Some(45)];
        let mut rows = Vec::new();
        for _ in 0..people {
            let z: f64 = StandardNormal.sample(&mut rng);
            let u = truth.person_sd * z;
            for _ in 0..per_person {
                let iv = &ic.all()[rng.random_range(0..ic.len())];
                let context = Context {
                    minutes_available: minutes[rng.random_range(0..minutes.len())],
                    setting: settings[rng.random_range(0..settings.len())],
                };
                let p = sigmoid(logit(truth.mean) + u + offset(iv, &context, truth));
                let completion = if rng.random::<f64>() < p {
                    Completion::Done
                } else {
                    Completion::NotDone
                };
                rows.push(FollowRow {
                    intervention: iv.id.clone(),
                    context,
                    completion,
                });
            }
        }
        rows
    }

    #[test]
    fn follow_through_covariates_are_recovered_from_a_known_model() {
        let pc = testkit::processes();
        let ic = testkit::interventions(&pc);
        let truth = FollowPrior {
            mean: 0.45,
            effort_slope: 0.9,
            time_pressure: 1.2,
            in_session_boost: 1.5,
            modality_mismatch: 0.6,
            ..FollowPrior::default()
        };
        let rows = follow_rows(&truth, 2_000, 10, 7);
        let (fit, kept) = fit_follow(&rows, &ic, &FollowPrior::default()).expect("fits");
        assert!(kept.is_empty(), "every covariate is exercised: {kept:?}");
        let close = |name: &str, got: f64, want: f64, tol: f64| {
            assert!(
                (got - want).abs() < tol,
                "{name}: fitted {got:.3}, truth {want:.3}"
            );
        };
        close("mean", fit.mean, truth.mean, 0.06);
        close("effort_slope", fit.effort_slope, truth.effort_slope, 0.25);
        close("time_pressure", fit.time_pressure, truth.time_pressure, 0.3);
        close(
            "in_session_boost",
            fit.in_session_boost,
            truth.in_session_boost,
            0.35,
        );
        close(
            "modality_mismatch",
            fit.modality_mismatch,
            truth.modality_mismatch,
            0.35,
        );
        // And it moved away from the default, which differs from the truth.
        assert!((fit.effort_slope - FollowPrior::default().effort_slope).abs() > 0.2);
    }

    #[test]
    fn thin_logs_keep_the_prior() {
        let pc = testkit::processes();
        let ic = testkit::interventions(&pc);
        let prior = FollowPrior::default();
        let rows = follow_rows(&prior, 4, 10, 1);
        assert!(rows.len() < MIN_FOLLOW_ROWS);
        let (fit, kept) = fit_follow(&rows, &ic, &prior).expect("fits");
        assert_eq!(fit, prior);
        assert_eq!(kept.len(), 4);
        // Enough rows, but never in session: that covariate keeps its prior.
        let rows: Vec<FollowRow> = follow_rows(&prior, 300, 10, 2)
            .into_iter()
            .filter(|r| r.context.setting != Some(Setting::InSession))
            .collect();
        let (fit, kept) = fit_follow(&rows, &ic, &prior).expect("fits");
        assert_eq!(kept, vec!["in_session_boost".to_owned()]);
        assert_eq!(fit.in_session_boost, prior.in_session_boost);
    }

    /// People who report that one intervention helped a lot.
    fn collect(engine: &Engine, people: usize, star: &str) -> TrainingSet {
        let mut c = Collector::new(engine);
        for p in 0..people {
            c.start_person(format!("p{p}"), engine.new_person(vec![]));
            let w = 30.0 + (p % 10) as f64;
            c.assessment(&assessment(
                0.0,
                &[("cognition", 40.0, 60.0), ("social", 50.0, 50.0)],
                Some(w),
            ))
            .expect("assessment");
            for (d, iv, h) in [
                (1.0, star, 95.0),
                (2.0, "restructure", 40.0),
                (3.0, "reach-out", 45.0),
            ] {
                c.feedback(&feedback(iv, d, Some(Completion::Done), Some(h)))
                    .expect("feedback");
            }
            c.feedback(&feedback("wind-down", 4.0, Some(Completion::NotDone), None))
                .expect("feedback");
        }
        c.finish()
    }

    #[test]
    fn the_collector_turns_events_into_rows_and_levels() {
        let engine = testkit::engine();
        let set = collect(&engine, 12, "wind-down");
        assert_eq!(set.effects.len(), 12 * 3, "done with a rating");
        assert_eq!(set.follow.len(), 12 * 4, "every completion");
        assert_eq!(set.levels.len(), 12);
        let first = &set.effects[0];
        assert_eq!(first.benefit, 9.0);
        assert_eq!(first.profile.len(), engine.population().variable_mean.len());
        let (model, report) = train(
            "trained-test",
            &set,
            engine.interventions(),
            engine.processes(),
        )
        .expect("trains");
        assert_eq!(report.reference_profiles, 12);
        assert_eq!(report.level_people, 12);
        assert_eq!(model.version, "trained-test");
        assert!(model.effects[&id("wind-down")].mean > 5.0);
        assert!(
            model.effects[&id("restructure")].mean
                < engine
                    .interventions()
                    .get(&id("restructure"))
                    .expect("known")
                    .prior_effect
        );
    }

    #[test]
    fn a_trained_model_moves_what_the_log_found_helpful_up_the_ranking() {
        let base = testkit::engine();
        let set = collect(&base, 40, "wind-down");
        let (model, _) =
            train("trained-test", &set, base.interventions(), base.processes()).expect("trains");
        let trained = Engine::new(
            EngineConfig {
                exploration: 0.0,
                ..EngineConfig::default()
            },
            base.processes().clone(),
            base.interventions().clone(),
            model,
        )
        .expect("engine");
        let greedy = Engine::new(
            EngineConfig {
                exploration: 0.0,
                ..EngineConfig::default()
            },
            base.processes().clone(),
            base.interventions().clone(),
            base.population().clone(),
        )
        .expect("engine");
        let rank_of = |e: &Engine| {
            let mut s = e.new_person(vec![]);
            e.observe_assessment(
                &mut s,
                &assessment(
                    0.0,
                    &[
                        ("cognition", 40.0, 60.0),
                        ("social", 50.0, 50.0),
                        ("sleep", 40.0, 60.0),
                    ],
                    Some(35.0),
                ),
            )
            .expect("assessment");
            let r = e.recommend(&s, &query(9, 1.0, 3)).expect("ranks");
            r.items
                .iter()
                .position(|i| i.intervention == id("wind-down"))
                .expect("ranked")
        };
        let (before, after) = (rank_of(&greedy), rank_of(&trained));
        assert!(
            after < before,
            "wind-down ranked {before} with the catalogue prior, {after} trained"
        );
        assert!(trained.model_version().starts_with("trained-test+cfg."));
    }
}
