//! Training a [`PopulationModel`] from logged events: what `tutti train` fits
//! and the server loads as a versioned artifact.
//!
//! # What is learned
//! The per-person models already learn from each person's own data; what a
//! log of many people adds is the *hierarchy* they shrink toward, estimated
//! by the method of moments from every person's own posterior (empirical
//! Bayes). Each part falls back to its prior where the log is thin.
//!
//! - **The population process map** ([`crate::population::MapPrior`]): the
//!   mean of people's map coefficients, and their between-person sd by the
//!   law of total variance (`Var β = Var E[β | data] + E Var[β | data]`), from
//!   people with at least [`MIN_MAP_ROWS`] assessments with an outcome, once
//!   [`MIN_MAP_PEOPLE`] people have them. The person's intercept is never
//!   part of it (the map is a within-person regression).
//! - **Population response per intervention**: a multiplier on its
//!   catalogue effect, from how it worked relative to what people's maps
//!   predicted for it (the benefit their helpfulness above the population's
//!   rating level implies, on the engine's scale, per unit of the dose that
//!   reached them past habituation and against the rating level the log
//!   itself shows), shrunk toward 1 by 30 typical rows and normalised to a
//!   weighted mean of 1 (see `fit_effects`).
//! - **Variances of the response model**: the helpfulness noise from
//!   repeated ratings of one intervention by one person and the spread of
//!   people's rating levels. The spread of ratings beyond what people's maps
//!   predicted (per family and per intervention) is measured and reported,
//!   not applied ([`RatingSpread`] says why), and so is the multiple of the
//!   person-level spreads under which people's feedback is likeliest
//!   ([`TrainReport::spread_scale`]; `fit_response_spread` says why).
//! - **Reference people** for similar-person pooling: per person, their map
//!   (relative process values), mean levels and how each intervention worked
//!   for them beyond what their map said and beyond what it did for everyone
//!   (that part is the intervention's effect); the engine compares people by map
//!   first ([`crate::population::NeighbourIndex`]).
//! - **Follow-through base rate**: a pooled logistic regression (smartcore)
//!   of done / not done on the covariates of [`crate::follow::offset`] (log
//!   effort, time pressure, in-session fit, app mismatch; partly done counts as
//!   one done and one not-done row, the soft label 0.5 the online update
//!   uses), de-attenuated for the ignored person effect (`1 / sqrt(1 + π
//!   σ²/8)`). Only its intercept becomes the population's base rate: the
//!   covariates in a decision log were chosen by the logging policy, which
//!   flattens their pooled slopes (measured: taking them made new simulated
//!   people's rankings worse), and the person-level model learns each
//!   person's effort sensitivity itself. The fit, which refits a covariate
//!   only when [`MIN_COVARIATE_ROWS`] rows exercise it and only in the
//!   direction [`crate::follow`] gives it, is kept for logs that were not so
//!   chosen.
//! - **Population levels**: the mean and between-person sd of every variable
//!   (cold-start imputation, headroom reference, neighbour scaling).
//!
//! The lagged network (insights only) and the recovery curve keep their
//! catalogue values.
//!
//! # Collecting rows
//! [`Collector`] replays each person's events in time order through an engine,
//! so the simulator and the server's decision log produce rows the same way;
//! at the end of each person it reads their posterior.

use crate::Engine;
use crate::catalog::Modality;
use crate::catalog::{InterventionCatalog, ProcessCatalog};
use crate::config::EngineConfig;
use crate::error::{EngineError, Result};
use crate::follow::{FollowPrior, REFERENCE_EFFORT_MINUTES};
use crate::ids::InterventionId;
use crate::map;
use crate::model::Model;
use crate::observe::{Assessment, Completion, Context, Feedback, Setting};
use crate::population::{
    EffectPrior, NeighbourIndex, PopulationModel, ReferenceProfile, ResponsePrior,
    neighbour_evidence,
};
use crate::state::{ItemEvidence, PersonState};
use crate::stats::sigmoid;
use serde::{Deserialize, Serialize};
use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::linear::logistic_regression::{LogisticRegression, LogisticRegressionParameters};
use std::collections::BTreeMap;

/// Rows a follow-through covariate needs (non-zero values) before it is refitted.
pub const MIN_COVARIATE_ROWS: usize = 30;
/// Follow-through reports needed before the intercept is refitted.
pub const MIN_FOLLOW_ROWS: usize = 50;
/// People with an observation of a variable needed before its population level is refitted.
pub const MIN_PEOPLE_FOR_LEVELS: usize = 10;
/// Assessments with an outcome a person needs for their map to count.
pub const MIN_MAP_ROWS: u32 = 20;
/// People with such a map needed before the population map is refitted.
pub const MIN_MAP_PEOPLE: usize = 20;
/// Repeated-rating degrees of freedom needed to refit the helpfulness noise.
pub const MIN_NOISE_DF: u32 = 30;
/// Rows (and pairs of rows) needed to measure the rating spread.
pub const MIN_RESIDUAL_PAIRS: usize = 50;
/// Pseudo-rows of the current effect when fitting population effects.
const FIT_PRIOR_ROWS: f64 = 30.0;
/// Bounds on the ratings' common scale against predicted benefit: outside
/// them the rows disagree with the maps about scale (a thin or odd log, say
/// one whose raters' maps predict harm), and only a bounded correction is
/// believed.
const SLOPE_RANGE: (f64, f64) = (0.1, 10.0);
/// The most an intervention's effect may move from its prior in one fit, up
/// or down: no log of ratings makes an exercise many times what its evidence
/// says, nor next to nothing. (Down to zero, a clinic deciding daily lost the
/// effects of most of its much-used exercises and its pooled model chose
/// the rest: captured share -0.04 on `daily_sampling` against 0.20 unpooled.)
const MAX_EFFECT_MULTIPLIER: f64 = 4.0;
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

/// What one person's helpfulness ratings say about one intervention.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EffectRow {
    /// Pseudonymous person key.
    pub person: String,
    /// The intervention.
    pub intervention: InterventionId,
    /// Benefit (points) the ratings imply: their mean above the population's
    /// rating level, over the helpfulness slope, per full dose.
    pub benefit: f64,
    /// That benefit minus what the person's map alone predicted.
    pub residual: f64,
    /// Ratings behind it.
    pub ratings: u32,
    /// The population rating level `benefit` was read against (`None` in
    /// sets written before it was kept), and how far `benefit` moves per
    /// point that level is lowered: training reads it again against the
    /// level it estimates.
    #[serde(default)]
    pub read_at_level: Option<f64>,
    /// See `read_at_level`.
    #[serde(default)]
    pub level_sensitivity: f64,
    /// Its weight in the fit: `Σ (dose × exposure)²` over its ratings, so a
    /// rating of a dose that had worn off counts for what reached the person
    /// (0 in sets written before it was kept: the rating count is used).
    #[serde(default)]
    pub weight: f64,
    /// Variance of that prediction from the map's uncertainty alone (points²;
    /// 0 in sets written before it was kept), so the residual spread is not
    /// charged with the map's error.
    #[serde(default)]
    pub map_var: f64,
}

impl EffectRow {
    /// The row's weight in the fits: [`EffectRow::weight`], or the rating
    /// count for rows written before it was kept.
    pub fn fit_weight(&self) -> f64 {
        if self.weight > 0.0 {
            self.weight
        } else {
            f64::from(self.ratings)
        }
    }
}

/// One person's posterior, as the hierarchy sees them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersonRow {
    /// Pseudonymous person key.
    pub person: String,
    /// Posterior mean of their map coefficients (`3P`: poles, then lags).
    pub map: Vec<f64>,
    /// Posterior variance of each coefficient.
    pub map_var: Vec<f64>,
    /// Assessments with an outcome behind the map.
    pub map_rows: u32,
    /// Their relative process values (`P`).
    pub values: Vec<f64>,
    /// Their level of every network variable (population mean where never observed).
    pub levels: Vec<f64>,
    /// Their rating level, when they rated at least three times.
    pub rater: Option<f64>,
    /// Within-intervention sum of squared rating deviations, and its degrees of freedom.
    pub rating_ss: f64,
    /// See `rating_ss`.
    pub rating_df: u32,
}

/// Everything [`train`] learns from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainingSet {
    /// Benefit rows (one per person and rated intervention).
    pub effects: Vec<EffectRow>,
    /// Follow-through rows (one per report with a completion).
    pub follow: Vec<FollowRow>,
    /// Per person, the mean level of every variable over their assessments
    /// (`None` where never observed).
    pub levels: Vec<Vec<Option<f64>>>,
    /// Per person, their posterior.
    pub people: Vec<PersonRow>,
    /// Similar people the collecting engine searches (`engine.neighbours`):
    /// the neighbours' weight is learned for that many (unset: the engine's
    /// default, 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub neighbours: Option<usize>,
    /// The people with feedback as collected, with the collecting engine's
    /// configuration, when the collector was asked to keep them
    /// ([`Collector::keeping_people`]): the response spreads are measured on
    /// them under the fitted model ([`fit_response_spread`]). Not serialised
    /// (they are whole states).
    #[serde(skip)]
    pub(crate) kept: Option<KeptPeople>,
}

/// See [`TrainingSet::kept`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct KeptPeople {
    config: EngineConfig,
    states: Vec<PersonState>,
}

/// The person-level variances of the response model ([`crate::benefit`]):
/// how far a person's responsiveness, family multipliers and per-intervention
/// residuals stray from what the population and their map predict. Training
/// measures them together, as the multiple the log's feedback is likeliest
/// under ([`TrainReport::spread_scale`]), and reports it; an operator who
/// wants it applied scales the four in the artifact's `response`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ResponseSpreads {
    /// [`ResponsePrior::responsiveness_sd`].
    pub responsiveness_sd: f64,
    /// [`ResponsePrior::family_sd`].
    pub family_sd: f64,
    /// [`ResponsePrior::item_sd_share`].
    pub item_sd_share: f64,
    /// [`ResponsePrior::item_sd_floor`].
    pub item_sd_floor: f64,
}

impl ResponseSpreads {
    /// The spreads of `r`.
    pub fn of(r: &ResponsePrior) -> Self {
        Self {
            responsiveness_sd: r.responsiveness_sd,
            family_sd: r.family_sd,
            item_sd_share: r.item_sd_share,
            item_sd_floor: r.item_sd_floor,
        }
    }

    /// Sets `r`'s spreads to `scale` times these.
    pub fn apply(&self, scale: f64, r: &mut ResponsePrior) {
        r.responsiveness_sd = scale * self.responsiveness_sd;
        r.family_sd = scale * self.family_sd;
        r.item_sd_share = scale * self.item_sd_share;
        r.item_sd_floor = scale * self.item_sd_floor;
    }
}

impl TrainingSet {
    /// Appends `other`'s rows after this set's (sets collected in parts, e.g.
    /// on several threads, merge in part order).
    pub fn append(&mut self, other: TrainingSet) {
        // Destructured, so a new field cannot be left out of the merge.
        let TrainingSet {
            effects,
            follow,
            levels,
            people,
            neighbours,
            kept,
        } = other;
        self.neighbours = self.neighbours.or(neighbours);
        match (&mut self.kept, kept) {
            (Some(mine), Some(theirs)) => {
                mine.states.extend(theirs.states);
                mine.states.truncate(MAX_SPREAD_PEOPLE);
            }
            (mine @ None, theirs) => *mine = theirs,
            (Some(_), None) => {}
        }
        self.effects.extend(effects);
        self.follow.extend(follow);
        self.levels.extend(levels);
        self.people.extend(people);
    }
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
            set: TrainingSet {
                neighbours: Some(engine.config().neighbours),
                ..TrainingSet::default()
            },
            person: None,
        }
    }

    /// Also keeps the states of people with feedback (the first
    /// [`MAX_SPREAD_PEOPLE`]), so that [`train`] can measure the response
    /// spreads the log is likeliest under ([`TrainReport::spread_scale`]).
    pub fn keeping_people(mut self) -> Self {
        self.set.kept = Some(KeptPeople {
            config: self.engine.config().clone(),
            states: Vec::new(),
        });
        self
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
        self.current()?;
        if let Some(completion) = feedback.completion {
            self.set.follow.push(FollowRow {
                intervention: feedback.intervention.clone(),
                context: feedback.context,
                completion,
            });
        }
        let cur = self
            .person
            .as_mut()
            .ok_or_else(|| EngineError::IncompatibleState("feedback before start_person".into()))?;
        engine.observe_feedback(&mut cur.state, feedback)
    }

    /// Adds one person from their current state, without replaying their
    /// events: what online pooling reads from stored states. Their levels are
    /// discounted means over the trend's half-life (not a plain mean over
    /// every assessment) and their follow-through reports carry no context
    /// (minutes available, setting): the base rate and the effort slope are
    /// learned from them, the context covariates keep the model's values.
    pub fn add_state(&mut self, key: impl Into<String>, state: PersonState) {
        self.close_person();
        let sums = state
            .variables
            .iter()
            .map(|v| v.trend.mean().or(v.level).map_or((0.0, 0), |l| (l, 1)))
            .collect();
        for (id, r) in &state.interventions {
            for (count, completion) in [
                (r.done, Completion::Done),
                (r.partly, Completion::Partly),
                (r.not_done, Completion::NotDone),
            ] {
                for _ in 0..count {
                    self.set.follow.push(FollowRow {
                        intervention: id.clone(),
                        context: Context::default(),
                        completion,
                    });
                }
            }
        }
        self.person = Some(Current {
            key: key.into(),
            state,
            sums,
        });
        self.close_person();
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
        let Some(mut cur) = self.person.take() else {
            return;
        };
        let engine = self.engine;
        let pop = engine.population();
        let slope = pop.response.helpfulness_slope;
        self.set.levels.push(
            cur.sums
                .iter()
                .map(|&(s, n)| (n > 0).then(|| s / f64::from(n)))
                .collect(),
        );
        if engine.refresh(&mut cur.state).is_err() {
            return;
        }
        let Some(post) = cur.state.cache.clone() else {
            return;
        };
        // What the map alone predicts: the same person without feedback evidence.
        let mut bare = cur.state.clone();
        for r in bare.interventions.values_mut() {
            r.evidence = ItemEvidence::default();
        }
        bare.revision += 1;
        bare.cache = None;
        let map_only = engine.refresh(&mut bare).ok().and(bare.cache);
        let fit = map::fit(&cur.state.map, &pop.map);
        let k = fit.coef.len();
        let (mut ss, mut df, mut ratings) = (0.0, 0u32, 0u32);
        let all = engine.interventions().all();
        for (pos, iv) in all.iter().enumerate() {
            let Some(r) = cur.state.interventions.get(&iv.id) else {
                continue;
            };
            let ev = &r.evidence;
            if ev.ratings == 0 || ev.sum_dose <= 0.0 {
                continue;
            }
            let n = f64::from(ev.ratings);
            ratings += ev.ratings;
            ss += (ev.sum_rating_sq - ev.sum_rating * ev.sum_rating / n).max(0.0);
            df += ev.ratings - 1;
            // Against the population's rating level, not the person's own:
            // their own level is estimated from these same ratings, and
            // centring on it would erase what all their exercises did.
            // (The population level's offset is estimated in `fit_effects`.)
            // Per unit of what reached the person, by least squares through
            // the origin: a much-repeated exercise rated low because it had
            // worn off is not a weak exercise, and ratings of doses that had
            // mostly worn off say little about it either way.
            let (benefit, weight, level_sensitivity) = if ev.sum_exposure_sq > 1e-9 {
                (
                    (ev.sum_exposure_rating - ev.sum_exposure * pop.response.rater_mean)
                        / slope
                        / ev.sum_exposure_sq,
                    ev.sum_exposure_sq,
                    ev.sum_exposure / slope / ev.sum_exposure_sq,
                )
            } else {
                // Kept before exposure was: per dose, one weight per rating.
                (
                    (ev.sum_rating - n * pop.response.rater_mean) / slope / ev.sum_dose,
                    n,
                    n / slope / ev.sum_dose,
                )
            };
            let (predicted, map_var) = map_only.as_ref().map_or((0.0, 0.0), |m| {
                let item = m.items[pos];
                let explore = m.item_explore_var.get(pos).copied().unwrap_or(0.0);
                (item.mean, (item.var - explore).max(0.0))
            });
            self.set.effects.push(EffectRow {
                person: cur.key.clone(),
                intervention: iv.id.clone(),
                benefit,
                residual: benefit - predicted,
                ratings: ev.ratings,
                read_at_level: Some(pop.response.rater_mean),
                level_sensitivity,
                weight,
                map_var,
            });
        }
        let levels = crate::benefit::levels(engine.model(), &cur.state);
        self.set.people.push(PersonRow {
            person: cur.key,
            map: fit.coef.clone(),
            map_var: (0..k).map(|i| fit.cov[i * k + i]).collect(),
            map_rows: fit.rows,
            values: post.processes.iter().map(|p| p.value.mean).collect(),
            levels,
            rater: (ratings >= 3).then_some(post.rater),
            rating_ss: ss,
            rating_df: df,
        });
        if let Some(kept) = &mut self.set.kept
            && kept.states.len() < MAX_SPREAD_PEOPLE
            && cur
                .state
                .interventions
                .values()
                .any(|r| !r.evidence.is_empty())
        {
            kept.states.push(cur.state);
        }
    }
}

/// What a training run did, for the artifact and the command line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainReport {
    /// Benefit rows used (one per person and rated intervention).
    pub effect_rows: usize,
    /// Helpfulness ratings behind them.
    pub effect_ratings: usize,
    /// Interventions with a trained population mean.
    pub interventions_trained: usize,
    /// Reference profiles (people with benefit rows).
    pub reference_profiles: usize,
    /// People whose maps shaped the population map (0 when it was kept).
    pub map_people: usize,
    /// People whose rating level shaped the rater prior (0 when kept).
    pub rater_people: usize,
    /// Degrees of freedom behind the helpfulness noise (0 when kept).
    pub noise_df: u32,
    /// How far people's ratings spread beyond what their maps predicted
    /// (`None`: too few rows). Reported, not applied: see [`RatingSpread`].
    #[serde(default)]
    pub rating_spread: Option<RatingSpread>,
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
    /// (Reference person, intervention) pairs the neighbours' weight was
    /// learned from (0 when it was kept).
    #[serde(default)]
    pub neighbour_pairs: usize,
    /// The multiple of the model's response spreads the log's feedback is
    /// likeliest under (`None`: too few people with feedback, or none kept).
    /// Measured, not applied: see `fit_response_spread`.
    #[serde(default)]
    pub spread_scale: Option<f64>,
    /// People with feedback it was measured on.
    #[serde(default)]
    pub spread_people: usize,
}

/// The spread of people's helpfulness ratings around what their maps
/// predicted, split the way the benefit model keeps it apart
/// ([`crate::benefit`]), relative to the prediction.
///
/// A diagnostic, not applied to the trained model. Ratings cannot tell a
/// lasting difference in what an exercise did for someone from a lasting
/// difference in how it felt to them; charging the whole spread to the
/// benefit (which training did before) pinned `item_sd_share` at its bound
/// and cost about three points of captured share on every simulated clinic
/// tried (individual, low follow-through; trained offline and pooled
/// online), because the ranking then distrusted every prediction and spent
/// decisions exploring. The priors stay until outcomes, not ratings,
/// calibrate them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatingSpread {
    /// Benefit rows behind it.
    pub rows: usize,
    /// Sd of a person's multiplier on a whole family.
    pub family_sd: f64,
    /// Sd of each intervention's own residual, as a share of its prediction.
    pub item_sd_share: f64,
}

/// Fits a population model from `set` on top of the catalogue prior.
pub fn train(
    version: impl Into<String>,
    set: &TrainingSet,
    interventions: &InterventionCatalog,
    processes: &ProcessCatalog,
) -> Result<(PopulationModel, TrainReport)> {
    let mut model = PopulationModel::from_catalog(processes);
    model.version = version.into();
    let (mut model, mut report) = fit_onto(model, set, interventions, processes)?;
    report.neighbour_pairs = fit_neighbour_weight(&mut model, set.neighbours);
    (report.spread_scale, report.spread_people) =
        fit_response_spread(&model, set, interventions, processes)?;
    model.validate(processes)?;
    Ok((model, report))
}

/// How much a stored state holds for pooling: its assessments and feedback
/// reports. A pool refits when this grows, not when people merely return.
pub fn evidence(state: &PersonState) -> u64 {
    u64::from(state.assessments)
        + state
            .interventions
            .values()
            .map(|r| u64::from(r.done + r.partly + r.not_done))
            .sum::<u64>()
}

/// Refits `base` with a tenant's own people: online pooling. Every part with
/// enough rows in `set` is re-estimated as [`train`] would (intervention
/// effects shrink toward `base`'s rather than the catalogue's); every other
/// part, and `base`'s reference people, are kept, so a trained artifact stays
/// the starting point and a thin log changes little.
pub fn pool(
    version: impl Into<String>,
    base: &PopulationModel,
    set: &TrainingSet,
    interventions: &InterventionCatalog,
    processes: &ProcessCatalog,
) -> Result<(PopulationModel, TrainReport)> {
    let mut model = base.clone();
    model.version = version.into();
    let inherited = std::mem::take(&mut model.profiles);
    let (mut model, mut report) = fit_onto(model, set, interventions, processes)?;
    // Own people first: the neighbour search breaks ties by order.
    model.profiles.extend(inherited);
    // The ranking searches all of them, so the weight is learned on all.
    report.neighbour_pairs = fit_neighbour_weight(&mut model, set.neighbours);
    model.validate(processes)?;
    Ok((model, report))
}

fn fit_onto(
    mut model: PopulationModel,
    set: &TrainingSet,
    interventions: &InterventionCatalog,
    processes: &ProcessCatalog,
) -> Result<(PopulationModel, TrainReport)> {
    let level_people = fit_levels(&mut model, &set.levels);
    let map_people = fit_map(&mut model, &set.people);
    let (rater_people, noise_df) = fit_ratings(&mut model, &set.people);
    // Benefit rows read against the rating level just estimated, not the one
    // the collecting engine assumed: a clinic whose people rate on a harsher
    // scale would otherwise read as exercises that do harm, the more so the
    // more a rating's dose had worn off (pooled `daily_sampling` 0.16 -> 0.21,
    // unpooled 0.20).
    let effects: std::borrow::Cow<'_, [EffectRow]> = if rater_people > 0 {
        let level = model.response.rater_mean;
        set.effects
            .iter()
            .map(|r| {
                let d =
                    r.read_at_level.map_or(0.0, |read_at| level - read_at) * r.level_sensitivity;
                EffectRow {
                    benefit: r.benefit - d,
                    residual: r.residual - d,
                    ..r.clone()
                }
            })
            .collect::<Vec<_>>()
            .into()
    } else {
        // No level estimated: the rows stand as collected.
        set.effects.as_slice().into()
    };
    let (interventions_trained, rating_spread) = fit_effects(&mut model, &effects, interventions)?;
    // The similar-people weight is the caller's to fit, once the profiles
    // the ranking will search are all in (`pool` adds inherited ones).
    model.profiles = profiles(&set.people, &effects, interventions, processes.len());
    let follow_before = model.follow.clone();
    let (fitted, _) = fit_follow(&set.follow, interventions, &follow_before)?;
    // Only the population's base rate is taken from the log: the covariates
    // were chosen by the logging policy (it offers long exercises to people
    // who do them, short ones to people who do not), which flattens their
    // pooled slopes. The person-level model learns each person's effort
    // sensitivity itself; `fit_follow` alone recovers the covariates from
    // logs that were not so chosen.
    model.follow.mean = fitted.mean;
    let kept = COVARIATE_NAMES.iter().map(|s| (*s).to_owned()).collect();
    // Validated by the callers, once their own parts are in.
    let report = TrainReport {
        effect_rows: set.effects.len(),
        effect_ratings: set.effects.iter().map(|r| r.ratings as usize).sum(),
        interventions_trained,
        reference_profiles: model.profiles.len(),
        map_people,
        rater_people,
        noise_df,
        rating_spread,
        follow_rows: set.follow.len(),
        follow_before,
        follow_after: model.follow.clone(),
        follow_kept: kept,
        level_people,
        neighbour_pairs: 0,
        spread_scale: None,
        spread_people: 0,
    };
    Ok((model, report))
}

/// Mean and between-person sd of the map coefficients (law of total variance).
fn fit_map(model: &mut PopulationModel, people: &[PersonRow]) -> usize {
    let p = model.processes.len();
    let k = 3 * p;
    let rows: Vec<&PersonRow> = people
        .iter()
        .filter(|r| r.map_rows >= MIN_MAP_ROWS && r.map.len() == k && r.map_var.len() == k)
        .collect();
    if rows.len() < MIN_MAP_PEOPLE {
        return 0;
    }
    let n = rows.len() as f64;
    for i in 0..k {
        let mean = rows.iter().map(|r| r.map[i]).sum::<f64>() / n;
        let between = rows.iter().map(|r| (r.map[i] - mean).powi(2)).sum::<f64>() / (n - 1.0);
        let within = rows.iter().map(|r| r.map_var[i]).sum::<f64>() / n;
        let prior_sd = if i < 2 * p {
            model.map.pole_sd[i]
        } else {
            model.map.lag_sd[i - 2 * p]
        };
        // A floor: a population in which everyone looks alike still leaves
        // room for the next person to differ.
        let sd = (between + within).sqrt().max(0.25 * prior_sd);
        if i < 2 * p {
            model.map.pole_mean[i] = mean;
            model.map.pole_sd[i] = sd;
        } else {
            model.map.lag_mean[i - 2 * p] = mean;
            model.map.lag_sd[i - 2 * p] = sd;
        }
    }
    rows.len()
}

/// The rating-level prior and the helpfulness noise.
fn fit_ratings(model: &mut PopulationModel, people: &[PersonRow]) -> (usize, u32) {
    let r = &mut model.response;
    let raters: Vec<f64> = people.iter().filter_map(|p| p.rater).collect();
    let mut rater_people = 0;
    if raters.len() >= MIN_PEOPLE_FOR_LEVELS {
        let n = raters.len() as f64;
        let mean = raters.iter().sum::<f64>() / n;
        let sd = (raters.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        r.rater_mean = mean.clamp(0.0, 100.0);
        r.rater_sd = sd.max(3.0);
        rater_people = raters.len();
    }
    let (ss, df) = people
        .iter()
        .fold((0.0, 0u32), |(s, d), p| (s + p.rating_ss, d + p.rating_df));
    let mut noise_df = 0;
    if df >= MIN_NOISE_DF {
        r.helpfulness_noise_sd = (ss / f64::from(df)).sqrt().clamp(2.0, 50.0);
        noise_df = df;
    }
    (rater_people, noise_df)
}

/// Population effects per intervention and the residual spread.
///
/// What the log can teach about an intervention is how it worked *relative
/// to what people's maps predicted for it*: the people who did it were
/// chosen because their map favoured it, so a plain mean of their benefit
/// would count the map twice. Each intervention's multiplier is the
/// regression (through the origin) of the benefit people's ratings imply on
/// the benefit their maps predicted, shrunk toward 1 by [`FIT_PRIOR_ROWS`]
/// typical rows; the multipliers are then normalised to a weighted mean of 1,
/// because ratings measure how an exercise felt, on a scale of their own, and
/// only the differences between interventions carry over to lasting benefit.
fn fit_effects(
    model: &mut PopulationModel,
    rows: &[EffectRow],
    interventions: &InterventionCatalog,
) -> Result<(usize, Option<RatingSpread>)> {
    struct Acc {
        num: f64,
        den: f64,
        sum_p: f64,
        n: u32,
    }
    let mut totals: BTreeMap<&InterventionId, Acc> = BTreeMap::new();
    for r in rows {
        if interventions.get(&r.intervention).is_none() {
            return Err(EngineError::UnknownIntervention(r.intervention.to_string()));
        }
        if !(r.benefit.is_finite() && r.residual.is_finite()) {
            return Err(EngineError::InvalidObservation(format!(
                "training row for `{}` has a non-finite benefit",
                r.intervention
            )));
        }
        let predicted = r.benefit - r.residual;
        let w = r.fit_weight();
        let t = totals.entry(&r.intervention).or_insert(Acc {
            num: 0.0,
            den: 0.0,
            sum_p: 0.0,
            n: 0,
        });
        t.num += w * r.benefit * predicted;
        t.den += w * predicted * predicted;
        t.sum_p += w * predicted;
        t.n += r.ratings;
    }
    let weight: f64 = rows.iter().map(EffectRow::fit_weight).sum();
    if weight <= 0.0 {
        return Ok((0, None));
    }
    // The ratings' scale against lasting benefit: the weighted mean of every
    // intervention's multiplier, so that the average trained intervention
    // keeps the catalogue's size and only the differences between them move.
    let (mut sw, mut spp, mut spb) = (0.0, 0.0, 0.0);
    for r in rows {
        let w = r.fit_weight();
        let p = r.benefit - r.residual;
        sw += w;
        spp += w * p * p;
        spb += w * p * r.benefit;
    }
    let slope = if spp > 1e-9 {
        (spb / spp).clamp(SLOPE_RANGE.0, SLOPE_RANGE.1)
    } else {
        1.0
    };
    let offset = 0.0;
    let typical = (spp / sw).max(1e-9);
    let k = FIT_PRIOR_ROWS * typical;
    // Per intervention, its own slope through the common offset, shrunk
    // toward the common slope, then relative to it.
    let raw: Vec<(&InterventionId, f64, f64, u32)> = totals
        .iter()
        .map(|(id, a)| {
            let own = (a.num - offset * a.sum_p + k * slope) / (a.den + k);
            (
                *id,
                (own / slope).clamp(1.0 / MAX_EFFECT_MULTIPLIER, MAX_EFFECT_MULTIPLIER),
                a.den,
                a.n,
            )
        })
        .collect();
    let all = interventions.all();
    let catalogue_mean =
        all.iter().map(|iv| iv.prior_effect).sum::<f64>() / all.len().max(1) as f64;
    let trust = model.response.catalog_trust;
    for (id, phi, _, n) in &raw {
        // A model refitted on top of a trained one (see `pool`) starts from
        // its effects; a fresh one from the catalogue's.
        let prior = match model.effects.get(*id) {
            Some(e) => e.mean,
            None => interventions.get(id).map_or(0.0, |iv| {
                catalogue_mean + trust * (iv.prior_effect - catalogue_mean)
            }),
        };
        model.effects.insert(
            (*id).clone(),
            EffectPrior {
                mean: prior * phi,
                n: *n,
            },
        );
    }
    let spread = fit_spread(&model.response, rows, slope, interventions);
    Ok((raw.len(), spread))
}

/// Measures [`RatingSpread`] by the method of moments over pairs of one
/// person's rows: what two rows in *different* families share (the person's
/// rating habit, their map's error) is the baseline; what two rows in the
/// *same* family share beyond it is the family's; what is left of a row's own
/// spread, net of rating noise and of the map's own uncertainty about the
/// prediction, is the intervention's. `None` with too few rows.
fn fit_spread(
    r: &ResponsePrior,
    rows: &[EffectRow],
    slope: f64,
    interventions: &InterventionCatalog,
) -> Option<RatingSpread> {
    if rows.len() < MIN_RESIDUAL_PAIRS {
        return None;
    }
    let noise = r.helpfulness_noise_sd / r.helpfulness_slope / slope;
    let rater = r.rater_sd / r.helpfulness_slope / slope;
    // Per person: (family, residual on the lasting scale, prediction).
    let mut people: BTreeMap<&str, Vec<(&str, f64, f64)>> = BTreeMap::new();
    let (mut own, mut predicted2) = (0.0, 0.0);
    for row in rows {
        let predicted = row.benefit - row.residual;
        let e = row.benefit / slope - predicted;
        own += e * e - noise * noise / f64::from(row.ratings.max(1)) - row.map_var;
        predicted2 += predicted * predicted;
        let family = interventions
            .get(&row.intervention)
            .map_or("", |iv| iv.family.as_str());
        people
            .entry(row.person.as_str())
            .or_default()
            .push((family, e, predicted));
    }
    if predicted2 <= 1e-9 {
        return None;
    }
    let (mut same, mut same_pp, mut same_n) = (0.0, 0.0, 0usize);
    let (mut other, mut other_n) = (0.0, 0usize);
    for person in people.values() {
        for (i, a) in person.iter().enumerate() {
            for b in &person[i + 1..] {
                if a.0 == b.0 {
                    same += a.1 * b.1;
                    same_pp += a.2 * b.2;
                    same_n += 1;
                } else {
                    other += a.1 * b.1;
                    other_n += 1;
                }
            }
        }
    }
    // What any two of a person's rows share; the rating habit alone when no
    // one has rows in two families.
    let shared = if other_n >= MIN_RESIDUAL_PAIRS {
        (other / other_n as f64).max(0.0)
    } else {
        rater * rater
    };
    let family2 = if same_n >= MIN_RESIDUAL_PAIRS && same_pp > 1e-9 {
        ((same - shared * same_n as f64) / same_pp).max(0.0)
    } else {
        r.family_sd.powi(2)
    };
    let item2 = ((own - shared * rows.len() as f64) / predicted2 - family2).max(0.0);
    Some(RatingSpread {
        rows: rows.len(),
        family_sd: family2.sqrt(),
        item_sd_share: item2.sqrt(),
    })
}

/// One reference profile per person with benefit rows.
fn profiles(
    people: &[PersonRow],
    effects: &[EffectRow],
    interventions: &InterventionCatalog,
    processes: usize,
) -> Vec<ReferenceProfile> {
    // What everyone's residuals on an intervention share belongs to the
    // intervention (`fit_effects` moves its population mean by it): a profile
    // keeps how this person differed from everyone else. Uncentred, a clinic
    // that repeats its favourites daily handed every newcomer its habituated
    // people's disappointment with them (captured share 0.20 unpooled, 0.10
    // pooled on `daily_sampling`; centred 0.15). Rows weigh what they weigh
    // in `fit_effects` (their exposure), not their rating counts: level
    // either way on twelve simulated worlds pooled (0.302 against 0.301).
    let mut common: BTreeMap<&InterventionId, (f64, f64)> = BTreeMap::new();
    for e in effects {
        let c = common.entry(&e.intervention).or_default();
        let w = e.fit_weight();
        c.0 += w * e.residual;
        c.1 += w;
    }
    let mut by_person: BTreeMap<&str, BTreeMap<InterventionId, EffectPrior>> = BTreeMap::new();
    for e in effects {
        if interventions.get(&e.intervention).is_some() {
            let shared = common
                .get(&e.intervention)
                .map_or(0.0, |&(s, w)| if w > 0.0 { s / w } else { 0.0 });
            by_person.entry(e.person.as_str()).or_default().insert(
                e.intervention.clone(),
                EffectPrior {
                    mean: e.residual - shared,
                    n: e.ratings,
                },
            );
        }
    }
    people
        .iter()
        .filter(|p| p.values.len() == processes && p.values.iter().all(|v| v.is_finite()))
        .filter_map(|p| {
            let effects = by_person.remove(p.person.as_str())?;
            Some(ReferenceProfile {
                features: p.levels.clone(),
                map: p.values.clone(),
                effects,
            })
        })
        .collect()
}

/// Neighbours searched when learning the neighbours' weight for a training
/// set that does not say how many its engine searches (the engine's default).
const WEIGHT_NEIGHBOURS: usize = 10;
/// Most reference people whose residuals are predicted when learning it (an
/// even stride over more): each is one search over all of them.
const WEIGHT_QUERIES: usize = 2_000;
/// Fewest (person, intervention) pairs with neighbour evidence to learn it from.
const MIN_WEIGHT_PAIRS: usize = 30;

/// Multiples of the fitted model's response spreads at which the people's
/// feedback evidence is compared.
pub const SPREAD_GRID: [f64; 7] = [0.2, 0.3, 0.45, 0.7, 1.0, 1.4, 2.0];
/// People with feedback needed before the response spreads are measured.
pub const MIN_SPREAD_PEOPLE: usize = 30;
/// Most people kept to measure them on (the first with feedback): one
/// multiple is well determined by far fewer, and each is a whole state.
pub const MAX_SPREAD_PEOPLE: usize = 1_000;

/// Measures the response spreads by type-II maximum likelihood: the multiple
/// of the fitted model's spreads under which the people's feedback, given
/// each one's map and everything else the fit found (intervention effects,
/// rating noise and level, reference people), is likeliest (summed log
/// evidence over [`SPREAD_GRID`], refined by a parabola in the log of the
/// multiple between the best point's neighbours). Returns the multiple and
/// the people behind it; `None` with fewer than [`MIN_SPREAD_PEOPLE`] or
/// without kept people.
///
/// Measured, not applied: the spreads under which feedback is likeliest are
/// not those under which the ranking decides best. Applied in every pooled
/// refit over twelve simulated clinics (docs/benchmarks.md), it found 0.2-0.3
/// where people respond alike and 0.6 on `individual`, and lifted
/// `homogeneous` by 0.05 and `daily_sampling` by 0.02, but it also found 0.2
/// on a random world whose catalogue says almost nothing about which
/// exercises work, where the ranking needs large spreads to let each
/// person's reports overrule the catalogue, and lost 0.02 there and 0.007 on
/// the random worlds on average: level overall (0.303 against 0.302), and
/// lower on all six worlds drawn afterwards (`docs/worlds/fresh_w*`).
fn fit_response_spread(
    model: &PopulationModel,
    set: &TrainingSet,
    interventions: &InterventionCatalog,
    processes: &ProcessCatalog,
) -> Result<(Option<f64>, usize)> {
    let Some(kept) = &set.kept else {
        return Ok((None, 0));
    };
    let people = kept.states.len();
    if people < MIN_SPREAD_PEOPLE {
        return Ok((None, people));
    }
    let fitted = Model::new(
        kept.config.clone(),
        processes.clone(),
        interventions.clone(),
        model.clone(),
    )?;
    let base = ResponseSpreads::of(&model.response);
    let total: Vec<f64> = SPREAD_GRID
        .iter()
        .map(|&c| {
            let mut r = model.response.clone();
            base.apply(c, &mut r);
            kept.states
                .iter()
                .map(|s| crate::benefit::feedback_log_evidence(&fitted, s, &r))
                .filter(|x| x.is_finite())
                .sum()
        })
        .collect();
    let best = (0..total.len())
        .max_by(|&a, &b| total[a].total_cmp(&total[b]))
        .unwrap_or(0);
    let mut log_scale = SPREAD_GRID[best].ln();
    if best > 0 && best + 1 < SPREAD_GRID.len() {
        let x: [f64; 3] = [best - 1, best, best + 1].map(|i| SPREAD_GRID[i].ln());
        let y: [f64; 3] = [best - 1, best, best + 1].map(|i| total[i]);
        // Vertex of the parabola through the three points.
        let num = (x[1] - x[0]).powi(2) * (y[1] - y[2]) - (x[1] - x[2]).powi(2) * (y[1] - y[0]);
        let den = (x[1] - x[0]) * (y[1] - y[2]) - (x[1] - x[2]) * (y[1] - y[0]);
        if den.abs() > 1e-12 {
            log_scale = (x[1] - 0.5 * num / den).clamp(x[0], x[2]);
        }
    }
    Ok((Some(log_scale.exp()), people))
}

/// Learns [`ResponsePrior::neighbour_weight`]: the weighted least-squares
/// slope, through the origin, of each reference person's residual on an
/// intervention on what their nearest *other* reference people say about it,
/// shrunk as the ranking shrinks it, clamped to 0-1. Leaving the person out
/// is the point: with them in, the neighbours would predict their own rows.
/// It measures people whose maps are known (reference people carry all their
/// data), so the ranking scales it by how well a person's own map is known
/// (see `benefit::posterior`). On simulated clinics it came out 0.3-0.6.
/// It is learned for the `k` neighbours the ranking will search (more of
/// them say more, and earn more weight). Returns the pairs it was learned
/// from; with too few, the weight stays.
fn fit_neighbour_weight(model: &mut PopulationModel, k: Option<usize>) -> usize {
    let Some(index) = NeighbourIndex::new(model) else {
        return 0;
    };
    // A set written before the field was optional says 0 for unset.
    let k = k.filter(|&k| k > 0).unwrap_or(WEIGHT_NEIGHBOURS);
    let n = model.profiles.len();
    let (mut sxy, mut sxx, mut pairs) = (0.0, 0.0, 0usize);
    for i in (0..n).step_by(n.div_ceil(WEIGHT_QUERIES).max(1)) {
        let p = &model.profiles[i];
        let others: Vec<(usize, f64)> = index
            .nearest(&p.map, &p.features, k + 1)
            .into_iter()
            .filter(|&(j, _)| j != i)
            .take(k)
            .collect();
        let rows: Vec<(f64, f64, f64)> = p
            .effects
            .iter()
            .filter_map(|(id, own)| {
                let nb = neighbour_evidence(model, &others, id)?;
                Some((nb.shrunk(), own.mean, f64::from(own.n)))
            })
            .collect();
        // Within the person: what neighbours say about *which* interventions
        // suit them. A shift they share on every intervention (similar
        // levels, a shared error of the map) predicts residuals too, but
        // moves every score alike and ranks nothing.
        let sw: f64 = rows.iter().map(|r| r.2).sum();
        if rows.len() < 2 || sw <= 0.0 {
            continue;
        }
        let mx = rows.iter().map(|r| r.2 * r.0).sum::<f64>() / sw;
        let my = rows.iter().map(|r| r.2 * r.1).sum::<f64>() / sw;
        for (x, y, w) in &rows {
            sxy += w * (x - mx) * (y - my);
            sxx += w * (x - mx) * (x - mx);
        }
        pairs += rows.len();
    }
    if pairs < MIN_WEIGHT_PAIRS || sxx <= 1e-12 {
        return 0;
    }
    model.response.neighbour_weight = (sxy / sxx).clamp(0.0, 1.0);
    pairs
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
    if !intercept.is_finite() {
        // smartcore's optimiser now and then ends on NaN for ordinary data
        // (523 reports over eight effort levels from a simulated clinic; the
        // same rows in another order fit). A fit that failed is no evidence:
        // the prior stays, rather than a NaN reaching every ranking.
        return Ok((prior.clone(), all_kept()));
    }
    let attenuation = (1.0 + std::f64::consts::PI * prior.person_sd.powi(2) / 8.0).sqrt();
    let coef = |k: usize| {
        (*fit.coefficients().get((0, k)) * attenuation)
            .clamp(-MAX_ABS_COEFFICIENT, MAX_ABS_COEFFICIENT)
    };
    let mut out = prior.clone();
    out.mean = sigmoid((intercept * attenuation).clamp(-MAX_ABS_COEFFICIENT, MAX_ABS_COEFFICIENT))
        .clamp(0.02, 0.98);
    let mut kept = Vec::new();
    for (j, name) in COVARIATE_NAMES.iter().enumerate() {
        match used.iter().position(|&u| u == j) {
            Some(k) => match j {
                // The engine subtracts these three: a positive coefficient
                // in the regression is a negative penalty.
                // A fit on the wrong side of zero is confounded by the
                // logging policy, not evidence: the prior stays.
                0 if coef(k) < 0.0 => out.effort_slope = -coef(k),
                1 if coef(k) < 0.0 => out.time_pressure = -coef(k),
                2 if coef(k) > 0.0 => out.in_session_boost = coef(k),
                3 if coef(k) < 0.0 => out.modality_mismatch = -coef(k),
                _ => kept.push((*name).to_owned()),
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
    use crate::follow::offset;
    use crate::stats::{logit, sigmoid};
    use crate::testkit::{self, assessment, feedback, id, query};
    use rand::{Rng as _, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, StandardNormal};

    /// A clinic whose people rate each exercise alike is likeliest under
    /// small response spreads; one whose people's ratings of the same
    /// exercises lie far apart, under large ones. The report says so; the
    /// model keeps its spreads.
    #[test]
    fn response_spreads_are_estimated_from_how_far_people_s_feedback_differs() {
        let engine = testkit::engine_with(EngineConfig::default());
        let base = ResponseSpreads::of(&engine.population().response);
        let ivs = [
            "defuse",
            "restructure",
            "reach-out",
            "wind-down",
            "exposure",
        ];
        let clinic = |alike: bool| {
            let mut c = Collector::new(&engine).keeping_people();
            let mut rng = ChaCha8Rng::seed_from_u64(5);
            let shared: Vec<f64> = ivs.iter().map(|_| rng.random_range(55.0..75.0)).collect();
            for p in 0..60 {
                c.start_person(format!("p{p}"), engine.new_person(vec![]));
                for d in 0..8 {
                    let cog: f64 = rng.random_range(30.0..70.0);
                    c.assessment(&assessment(
                        f64::from(d),
                        &[("cognition", cog, 100.0 - cog)],
                        Some(30.0 + 0.3 * cog),
                    ))
                    .expect("assessment");
                }
                for (j, iv) in ivs.iter().enumerate() {
                    let centre = if alike {
                        shared[j]
                    } else {
                        rng.random_range(5.0..95.0)
                    };
                    for k in 0..3 {
                        let noise: f64 = StandardNormal.sample(&mut rng);
                        let day = 10.0 + (3 * j + k) as f64;
                        let h = (centre + 3.0 * noise).clamp(0.0, 100.0);
                        c.feedback(&feedback(iv, day, Some(Completion::Done), Some(h)))
                            .expect("feedback");
                    }
                }
            }
            let (model, report) =
                train("t", &c.finish(), engine.interventions(), engine.processes())
                    .expect("trains");
            assert_eq!(report.spread_people, 60);
            // Reported, not applied.
            assert_eq!(ResponseSpreads::of(&model.response), base);
            report.spread_scale.expect("enough people")
        };
        let (alike, differ) = (clinic(true), clinic(false));
        assert!(alike < 0.5, "{alike}");
        assert!(differ > 1.0, "{differ}");
    }

    /// Too few people with feedback: nothing is measured.
    #[test]
    fn response_spreads_are_not_measured_without_enough_feedback() {
        let engine = testkit::engine_with(EngineConfig::default());
        let set = collect(&engine, MIN_SPREAD_PEOPLE - 1, "defuse");
        let (model, report) =
            train("t", &set, engine.interventions(), engine.processes()).expect("trains");
        assert_eq!(report.spread_scale, None);
        assert_eq!(report.spread_people, MIN_SPREAD_PEOPLE - 1);
        assert_eq!(
            ResponseSpreads::of(&model.response),
            ResponseSpreads::of(&engine.population().response)
        );
    }

    /// The rating spread is split into the parts the benefit model keeps
    /// apart: rows drawn with a known family multiplier (sd 0.6), an
    /// intervention residual (sd 0.4 of the prediction), each person's rating
    /// habit and rating noise give back 0.6 and 0.4, the habit not counted
    /// in either.
    #[test]
    fn rating_spread_separates_family_item_and_rating_habit() {
        let engine = Engine::with_defaults();
        let ivs = engine.interventions();
        let mut by_family: BTreeMap<&str, Vec<&InterventionId>> = BTreeMap::new();
        for iv in ivs.all() {
            by_family
                .entry(iv.family.as_str())
                .or_default()
                .push(&iv.id);
        }
        let families: Vec<Vec<&InterventionId>> = by_family
            .into_values()
            .filter(|v| v.len() >= 2)
            .take(3)
            .map(|v| v[..2].to_vec())
            .collect();
        assert_eq!(
            families.len(),
            3,
            "the built-in catalogue has families of two"
        );
        let r = ResponsePrior::default();
        let noise = r.helpfulness_noise_sd / r.helpfulness_slope;
        let habit = r.rater_sd / r.helpfulness_slope;
        let (family_sd, item_sd) = (0.6, 0.4);
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut z = || -> f64 { StandardNormal.sample(&mut rng) };
        let mut rows = Vec::new();
        for person in 0..3000 {
            let level = habit * z();
            for family in &families {
                let phi = family_sd * z();
                for id in family {
                    let predicted = 2.0 + 4.0 * (0.5 + 0.15 * z()).clamp(0.0, 1.0);
                    let e = (phi + item_sd * z()) * predicted + level + noise * z();
                    rows.push(EffectRow {
                        person: person.to_string(),
                        intervention: (*id).clone(),
                        benefit: predicted + e,
                        residual: e,
                        ratings: 1,
                        read_at_level: None,
                        level_sensitivity: 0.0,
                        weight: 1.0,
                        map_var: 0.0,
                    });
                }
            }
        }
        let spread = fit_spread(&r, &rows, 1.0, ivs).expect("enough rows");
        assert_eq!(spread.rows, rows.len());
        assert!(
            (spread.family_sd - family_sd).abs() < 0.08,
            "family sd {} (true {family_sd})",
            spread.family_sd
        );
        assert!(
            (spread.item_sd_share - item_sd).abs() < 0.08,
            "item share {} (true {item_sd})",
            spread.item_sd_share
        );
        // Charged to the intervention alone, as before, it reads far larger.
        let naive = (rows
            .iter()
            .map(|r| r.residual.powi(2) - noise * noise)
            .sum::<f64>()
            / rows
                .iter()
                .map(|r| (r.benefit - r.residual).powi(2))
                .sum::<f64>())
        .sqrt();
        assert!(naive > spread.item_sd_share + 0.3, "naive {naive}");
    }

    #[test]
    fn a_fit_moves_an_effect_by_at_most_four_times_either_way() {
        // Many people rated one exercise as doing nothing at all while their
        // maps predicted it helps; the others did what their maps said.
        let pc = testkit::processes();
        let ic = testkit::interventions(&pc);
        let ids: Vec<InterventionId> = ic.all().iter().map(|iv| iv.id.clone()).collect();
        let mut rows = Vec::new();
        for person in 0..200 {
            for (j, iv) in ids.iter().enumerate() {
                let predicted = 2.0 + 0.01 * f64::from(person % 7);
                let benefit = if j == 0 { 0.0 } else { predicted };
                rows.push(EffectRow {
                    person: person.to_string(),
                    intervention: iv.clone(),
                    benefit,
                    residual: benefit - predicted,
                    ratings: 5,
                    read_at_level: None,
                    level_sensitivity: 0.0,
                    weight: 0.0,
                    map_var: 0.0,
                });
            }
        }
        let mut model = PopulationModel::from_catalog(&pc);
        let before: Vec<f64> = ids
            .iter()
            .map(|id| {
                let all = ic.all();
                let mean = all.iter().map(|iv| iv.prior_effect).sum::<f64>() / all.len() as f64;
                let iv = ic.get(id).expect("known");
                mean + model.response.catalog_trust * (iv.prior_effect - mean)
            })
            .collect();
        fit_effects(&mut model, &rows, &ic).expect("fits");
        let after = model.effects[&ids[0]].mean;
        assert!(
            (after - before[0] / MAX_EFFECT_MULTIPLIER).abs() < 1e-9,
            "{after} against a prior of {}",
            before[0]
        );
        for (id, b) in ids.iter().zip(&before).skip(1) {
            let a = model.effects[id].mean;
            assert!(
                a >= b * 0.9 && a <= b * MAX_EFFECT_MULTIPLIER,
                "{id}: {a} from {b}"
            );
        }
    }

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
                    capacity: None,
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
    fn a_follow_through_fit_that_ends_on_nan_keeps_the_prior() {
        // Reports logged by a pooled simulated clinic, in their order: one
        // letter per report, `a`-`h` not done and `i`-`p` done at the eighth
        // of these efforts. smartcore's logistic regression returns NaN on
        // exactly these rows, which once reached ranking as a NaN base rate.
        const MINUTES: [u32; 8] = [1, 2, 3, 5, 10, 15, 20, 30];
        let pc = testkit::processes();
        let ic = InterventionCatalog::new(
            MINUTES
                .iter()
                .map(|m| testkit::Iv::new(&format!("m{m}"), "f", &[("cognition", 1.0)], *m, 2.0).iv)
                .collect(),
            &pc,
        )
        .expect("catalogue");
        let rows: Vec<FollowRow> = include_str!("testdata/follow_rows_smartcore_nan.txt")
            .trim()
            .bytes()
            .map(|b| {
                let k = usize::from(b - b'a');
                FollowRow {
                    intervention: InterventionId(format!("m{}", MINUTES[k % 8])),
                    context: Context::default(),
                    completion: if k >= 8 {
                        Completion::Done
                    } else {
                        Completion::NotDone
                    },
                }
            })
            .collect();
        assert_eq!(rows.len(), 523);
        let prior = FollowPrior::default();
        let (fit, _) = fit_follow(&rows, &ic, &prior).expect("fits");
        assert!(fit.mean.is_finite(), "{fit:?}");
        let mut model = PopulationModel::from_catalog(&pc);
        model.follow = fit;
        model.validate(&pc).expect("a usable model");
        model.follow.mean = f64::NAN;
        assert!(model.validate(&pc).is_err(), "a NaN base rate is refused");
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

    /// People whose well-being follows cognition, who report that one
    /// intervention helped a lot.
    fn collect(engine: &Engine, people: usize, star: &str) -> TrainingSet {
        let mut c = Collector::new(engine).keeping_people();
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for p in 0..people {
            c.start_person(format!("p{p}"), engine.new_person(vec![]));
            for d in 0..30 {
                let cog: f64 = rng.random_range(20.0..80.0);
                let soc: f64 = rng.random_range(20.0..80.0);
                let w = 20.0 + (p % 10) as f64 + 0.4 * cog + rng.random_range(-3.0..3.0);
                c.assessment(&assessment(
                    f64::from(d),
                    &[
                        ("cognition", cog, 100.0 - cog),
                        ("social", soc, 100.0 - soc),
                    ],
                    Some(w),
                ))
                .expect("assessment");
            }
            for (d, iv, h) in [
                (31.0, star, 95.0),
                (32.0, star, 90.0),
                (33.0, "restructure", 40.0),
                (34.0, "reach-out", 45.0),
            ] {
                c.feedback(&feedback(iv, d, Some(Completion::Done), Some(h)))
                    .expect("feedback");
            }
            c.feedback(&feedback(
                "wind-down",
                35.0,
                Some(Completion::NotDone),
                None,
            ))
            .expect("feedback");
        }
        c.finish()
    }

    #[test]
    fn the_collector_turns_events_into_rows_and_the_hierarchy_is_estimated() {
        let engine = testkit::engine();
        let set = collect(&engine, 24, "wind-down");
        assert_eq!(
            set.effects.len(),
            24 * 3,
            "per person and rated intervention"
        );
        assert_eq!(set.follow.len(), 24 * 5, "every completion");
        assert_eq!(set.levels.len(), 24);
        assert_eq!(set.people.len(), 24);
        let (model, report) = train(
            "trained-test",
            &set,
            engine.interventions(),
            engine.processes(),
        )
        .expect("trains");
        assert_eq!(report.reference_profiles, 24);
        assert_eq!(report.level_people, 24);
        assert_eq!(report.map_people, 24);
        assert_eq!(report.rater_people, 24);
        assert_eq!(model.version, "trained-test");
        // Everyone's well-being follows cognition: the population map learns it.
        let prior = crate::population::MapPrior::default_for(3);
        assert!(
            model.map.pole_mean[0] > prior.pole_mean[0] + 0.1,
            "{:?}",
            model.map.pole_mean
        );
        assert!(model.map.pole_mean[2].abs() < model.map.pole_mean[0].abs());
        assert!(model.effects[&id("wind-down")].mean > 3.0);
        assert!(model.effects[&id("restructure")].mean < model.effects[&id("wind-down")].mean);
    }

    #[test]
    fn a_trained_model_moves_what_the_log_found_helpful_up_the_ranking() {
        let base = testkit::engine();
        let set = collect(&base, 30, "wind-down");
        let (model, _) =
            train("trained-test", &set, base.interventions(), base.processes()).expect("trains");
        let greedy = || EngineConfig {
            exploration: 0.0,
            ..EngineConfig::default()
        };
        let trained = Engine::new(
            greedy(),
            base.processes().clone(),
            base.interventions().clone(),
            model,
        )
        .expect("engine");
        let plain = Engine::new(
            greedy(),
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
            // By expected benefit: the score also weighs follow-through,
            // which the log says nothing about for this person.
            let mut items = r.items;
            items.sort_by(|a, b| b.benefit.mean.total_cmp(&a.benefit.mean));
            items
                .iter()
                .position(|i| i.intervention == id("wind-down"))
                .expect("ranked")
        };
        let (before, after) = (rank_of(&plain), rank_of(&trained));
        assert!(
            after < before,
            "wind-down ranked {before} with the catalogue prior, {after} trained"
        );
        assert!(trained.model_version().starts_with("trained-test+cfg."));
    }

    #[test]
    fn pooling_on_a_thin_set_keeps_what_it_cannot_estimate() {
        let base = testkit::engine();
        let (trained, _) = train(
            "trained-test",
            &collect(&base, 30, "wind-down"),
            base.interventions(),
            base.processes(),
        )
        .expect("trains");
        // Three people: too few for the map, the levels or the rating scale.
        let thin = collect(&base, 3, "restructure");
        let (pooled, report) = pool(
            "trained-test+pool",
            &trained,
            &thin,
            base.interventions(),
            base.processes(),
        )
        .expect("pools");
        assert_eq!(pooled.version, "trained-test+pool");
        assert_eq!(pooled.map, trained.map);
        assert_eq!(pooled.variable_mean, trained.variable_mean);
        assert_eq!(pooled.response.rater_mean, trained.response.rater_mean);
        assert_eq!(report.map_people, 0);
        // Never rated in the thin set: its trained effect stands.
        let wind_down = &id("wind-down");
        assert_eq!(pooled.effects[wind_down], trained.effects[wind_down]);
        // Rated: refitted from the trained effect, not from the catalogue.
        assert!(pooled.effects.contains_key(&id("restructure")));
        // The tenant's own people first, then the trained model's.
        assert_eq!(pooled.profiles.len(), 3 + trained.profiles.len());
        assert_eq!(&pooled.profiles[3..], &trained.profiles[..]);
    }

    #[test]
    fn ratings_given_while_habituated_are_read_per_unit_of_exposure() {
        let engine = testkit::engine();
        let mut c = Collector::new(&engine);
        // Alike but for the schedule: once, or five days running, rated the
        // same. Five doses in a row reach the person less and less, so the
        // same ratings mean a stronger exercise.
        for (key, days) in [("once", 1), ("daily", 5)] {
            c.start_person(key, engine.new_person(vec![]));
            for d in 0..days {
                c.feedback(&feedback(
                    "wind-down",
                    f64::from(d),
                    Some(Completion::Done),
                    Some(80.0),
                ))
                .expect("feedback");
            }
        }
        let set = c.finish();
        let benefit = |key: &str| {
            set.effects
                .iter()
                .find(|r| r.person == key)
                .map(|r| r.benefit)
                .expect("a row")
        };
        assert!(benefit("once") > 0.0);
        // Five ratings, but doses that had partly worn off weigh less.
        let daily = set
            .effects
            .iter()
            .find(|r| r.person == "daily")
            .expect("a row");
        assert_eq!(daily.ratings, 5);
        assert!(
            daily.fit_weight() > 1.0 && daily.fit_weight() < 4.0,
            "{daily:?}"
        );
        assert!(
            benefit("daily") > 1.2 * benefit("once"),
            "daily {} once {}",
            benefit("daily"),
            benefit("once")
        );
    }

    #[test]
    fn effects_are_read_against_the_clinic_s_own_rating_level() {
        let engine = testkit::engine();
        // The same clinic twice, once rating 20 points lower throughout: what
        // the exercises did is the same, and so should the trained effects be.
        let clinic = |offset: f64| {
            let mut c = Collector::new(&engine);
            let mut rng = ChaCha8Rng::seed_from_u64(5);
            for p in 0..40 {
                c.start_person(format!("p{p}"), engine.new_person(vec![]));
                let mut day = 0.0;
                for (iv, times, h) in [
                    ("wind-down", 4, 80.0),
                    ("restructure", 1, 55.0),
                    ("reach-out", 2, 65.0),
                    ("defuse", 1, 70.0),
                ] {
                    for _ in 0..times {
                        let noise: f64 = rng.random_range(-5.0..5.0);
                        c.feedback(&feedback(
                            iv,
                            day,
                            Some(Completion::Done),
                            Some(h + noise - offset),
                        ))
                        .expect("feedback");
                        day += 1.0;
                    }
                }
            }
            let set = c.finish();
            // Read against the level the collector assumed, as before.
            let mut assumed = set.clone();
            for r in &mut assumed.effects {
                r.read_at_level = None;
            }
            let fit = |set: &TrainingSet| {
                train("t", set, engine.interventions(), engine.processes())
                    .expect("trains")
                    .0
            };
            (fit(&set), fit(&assumed))
        };
        let ((usual, _), (harsh, harsh_assumed)) = (clinic(0.0), clinic(20.0));
        // Ratings alone cannot tell all of a harsh scale from weak exercises
        // (the level is estimated jointly with what they did), so the fit
        // comes closer rather than all the way.
        assert!(harsh.response.rater_mean < usual.response.rater_mean - 5.0);
        let distance = |m: &PopulationModel| -> f64 {
            ["wind-down", "restructure", "reach-out", "defuse"]
                .iter()
                .map(|iv| (m.effects[&id(iv)].mean - usual.effects[&id(iv)].mean).abs())
                .sum()
        };
        assert!(
            distance(&harsh) < 0.6 * distance(&harsh_assumed),
            "{} against {}",
            distance(&harsh),
            distance(&harsh_assumed)
        );
    }

    #[test]
    fn reference_profiles_keep_how_a_person_differed_from_everyone() {
        let engine = testkit::engine();
        let set = collect(&engine, 24, "wind-down");
        let (model, _) = train(
            "trained-test",
            &set,
            engine.interventions(),
            engine.processes(),
        )
        .expect("trains");
        // Everyone rated wind-down far above what their maps predicted: that
        // is the intervention's (its trained effect), not any one person's.
        assert!(
            set.effects
                .iter()
                .filter(|r| r.intervention == id("wind-down"))
                .all(|r| r.residual > 0.0)
        );
        let (mut sum, mut weight) = (0.0, 0.0);
        for p in &model.profiles {
            let e = &p.effects[&id("wind-down")];
            sum += f64::from(e.n) * e.mean;
            weight += f64::from(e.n);
        }
        assert!(weight > 0.0);
        assert!(
            (sum / weight).abs() < 1e-9,
            "mean profile residual {}",
            sum / weight
        );
    }

    /// Reference people in two groups by their maps; `residual(group, item,
    /// rng)` draws how item 0 or 1 worked for one of them beyond their map.
    fn grouped_profiles(
        residual: impl Fn(usize, usize, &mut ChaCha8Rng) -> f64,
    ) -> PopulationModel {
        let mut m = PopulationModel::from_catalog(&testkit::processes());
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let noise = |rng: &mut ChaCha8Rng| 0.1 * rng.sample::<f64, _>(StandardNormal);
        m.profiles = (0..80)
            .map(|i| {
                let group = i % 2;
                let mut map = vec![noise(&mut rng); 3];
                map[group] += 3.0;
                ReferenceProfile {
                    features: vec![50.0; 7],
                    map,
                    effects: (0..2)
                        .map(|item| {
                            let mean = residual(group, item, &mut rng);
                            (id(&format!("item-{item}")), EffectPrior { mean, n: 2 })
                        })
                        .collect(),
                }
            })
            .collect();
        m
    }

    #[test]
    fn the_neighbours_weight_is_what_similar_maps_say_about_which_interventions_suit_a_person() {
        let shift = |rng: &mut ChaCha8Rng| 3.0 * rng.sample::<f64, _>(StandardNormal);
        // People whose maps are alike find the same item works for them.
        let mut suits = grouped_profiles(|group, item, rng| {
            let sign = if group == item { 1.0 } else { -1.0 };
            2.0 * sign + 0.5 * rng.sample::<f64, _>(StandardNormal)
        });
        assert!(fit_neighbour_weight(&mut suits, Some(10)) >= 160);
        let learned = suits.response.neighbour_weight;
        assert!(learned > 0.8, "{learned}");
        // One group rates everything higher than its maps predict, and each
        // person has a habit of their own: a shift on every item that similar
        // maps predict but that ranks nothing.
        let mut shifted = grouped_profiles(|group, _, rng| {
            let group_shift = if group == 0 { 3.0 } else { -3.0 };
            group_shift + shift(rng) + 0.5 * rng.sample::<f64, _>(StandardNormal)
        });
        fit_neighbour_weight(&mut shifted, Some(10));
        let learned = shifted.response.neighbour_weight;
        assert!(learned < 0.2, "{learned}");
        // Too few reference people: the weight stays.
        let mut few = suits.clone();
        few.response.neighbour_weight = 0.5;
        few.profiles.truncate(10);
        assert_eq!(fit_neighbour_weight(&mut few, Some(10)), 0);
        assert_eq!(few.response.neighbour_weight, 0.5);
    }

    #[test]
    fn the_neighbours_weight_is_learned_for_as_many_as_the_ranking_searches() {
        // Alike maps, alike items, but each person's rows are noisy: ten
        // neighbours' mean is still noisy, thirty's much less.
        let noisy = grouped_profiles(|group, item, rng| {
            let sign = if group == item { 1.0 } else { -1.0 };
            sign + 5.0 * rng.sample::<f64, _>(StandardNormal)
        });
        let weight = |k: usize| {
            let mut m = noisy.clone();
            assert!(fit_neighbour_weight(&mut m, Some(k)) >= 160);
            m.response.neighbour_weight
        };
        let (ten, thirty) = (weight(10), weight(30));
        assert!(ten + 0.2 < thirty, "{ten} {thirty}");
        // A training set says how many its engine searches.
        let config = EngineConfig {
            neighbours: 30,
            ..EngineConfig::default()
        };
        let base = Engine::with_defaults();
        let engine = Engine::new(
            config,
            base.processes().clone(),
            base.interventions().clone(),
            base.population().clone(),
        )
        .expect("engine");
        assert_eq!(Collector::new(&engine).finish().neighbours, Some(30));
        let mut merged = TrainingSet::default();
        merged.append(Collector::new(&engine).finish());
        assert_eq!(merged.neighbours, Some(30));
    }

    #[test]
    fn a_stored_state_gives_the_rows_its_events_gave() {
        let engine = testkit::engine();
        let events = collect(&engine, 12, "wind-down");
        // The same people, folded into states and read back without replay.
        let mut states = Collector::new(&engine);
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for p in 0..12 {
            let mut s = engine.new_person(vec![]);
            for d in 0..30 {
                let cog: f64 = rng.random_range(20.0..80.0);
                let soc: f64 = rng.random_range(20.0..80.0);
                let w = 20.0 + (p % 10) as f64 + 0.4 * cog + rng.random_range(-3.0..3.0);
                engine
                    .observe_assessment(
                        &mut s,
                        &assessment(
                            f64::from(d),
                            &[
                                ("cognition", cog, 100.0 - cog),
                                ("social", soc, 100.0 - soc),
                            ],
                            Some(w),
                        ),
                    )
                    .expect("assessment");
            }
            for (d, iv, h, c) in [
                (31.0, "wind-down", Some(95.0), Completion::Done),
                (32.0, "wind-down", Some(90.0), Completion::Done),
                (33.0, "restructure", Some(40.0), Completion::Done),
                (34.0, "reach-out", Some(45.0), Completion::Done),
                (35.0, "wind-down", None, Completion::NotDone),
            ] {
                engine
                    .observe_feedback(&mut s, &feedback(iv, d, Some(c), h))
                    .expect("feedback");
            }
            states.add_state(format!("p{p}"), s);
        }
        let stored = states.finish();
        assert_eq!(stored.effects.len(), events.effects.len());
        for (a, b) in stored.effects.iter().zip(&events.effects) {
            assert_eq!((&a.person, &a.intervention), (&b.person, &b.intervention));
            assert!((a.benefit - b.benefit).abs() < 1e-9, "{a:?} vs {b:?}");
        }
        assert_eq!(stored.follow.len(), events.follow.len());
        assert_eq!(stored.people.len(), events.people.len());
        for (a, b) in stored.people.iter().zip(&events.people) {
            assert_eq!(a.map, b.map);
        }
        // Levels are the states' discounted means, close to the events' means.
        for (a, b) in stored.levels.iter().zip(&events.levels) {
            for (x, y) in a.iter().zip(b) {
                if let (Some(x), Some(y)) = (x, y) {
                    assert!((x - y).abs() < 8.0, "level {x} vs mean {y}");
                }
            }
        }
        assert_eq!(evidence(&engine.new_person(vec![])), 0);
    }
}
