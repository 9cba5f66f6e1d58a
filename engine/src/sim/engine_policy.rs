//! The engine as a simulated policy: every hook goes through the real
//! [`Engine`] API, exactly as the server would call it, so what the simulator
//! measures is what production would do.
//!
//! One piece of the workflow around the engine is simulated too: the
//! clinician. Without a risk flag the engine keeps a contraindicated kernel in
//! its list, marked `requires_clinician_review` with the reason; a clinician
//! reviewing it declines it. So the policy asks for a short list, takes the
//! first item that is not contraindicated for the person, and reports each
//! declined one back as clinician feedback (`Rejected`), as the server would
//! receive it. With review off it takes the top item blindly (and the report
//! counts the contraindicated choices).

use super::SimRng;
use super::policy::{Intake, PersonView, Policy};
use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::ids::{InterventionId, Timestamp};
use crate::observe::{Assessment, ClinicianDecision, Feedback};
use crate::rank::{Ranking, RecommendQuery};
use crate::state::PersonState;
use crate::train::{self, Collector};
use rand::RngCore;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::Arc;

/// People a pool needs before it is first fitted.
const MIN_POOL_PEOPLE: usize = 10;
/// Growth of the pool's evidence (assessments and feedback reports) that
/// triggers a refit: geometric, so a clinic of n people refits O(log n) times.
const POOL_REFIT_GROWTH: f64 = 1.1;

/// A simulated clinic's shared pool: online pooling as the server does it.
/// It holds every person's latest state; a decision is ranked by the base
/// population refitted ([`train::pool`]) on all of them as they were at the
/// last refit. The simulator runs people one after another, so a person is
/// pooled with everyone before them (their whole course) and their own past.
#[derive(Debug)]
pub struct ClinicPool<'e> {
    base: &'e Engine,
    states: BTreeMap<u64, PersonState>,
    /// [`train::evidence`] summed over `states`, kept as they change.
    evidence: u64,
    fitted_evidence: u64,
    generation: u64,
    engine: Option<Arc<Engine>>,
}

impl<'e> ClinicPool<'e> {
    /// An empty pool over `base` (its population is the starting point).
    pub fn new(base: &'e Engine) -> Self {
        Self {
            base,
            states: BTreeMap::new(),
            evidence: 0,
            fitted_evidence: 0,
            generation: 0,
            engine: None,
        }
    }

    /// The pooled engine now, refitted first when the pool has grown enough
    /// since its last fit; `None` until it holds [`MIN_POOL_PEOPLE`].
    fn engine(&mut self) -> Result<Option<Arc<Engine>>> {
        let evidence = self.evidence;
        let grown = self.states.len() >= MIN_POOL_PEOPLE
            && (self.engine.is_none()
                || evidence as f64 >= POOL_REFIT_GROWTH * self.fitted_evidence as f64);
        if grown {
            let base = self.base;
            let mut c = Collector::new(base);
            for (person, state) in &self.states {
                c.add_state(format!("p{person}"), state.clone());
            }
            self.generation += 1;
            let (model, _) = train::pool(
                format!("{}+pool.{}", base.population().version, self.generation),
                base.population(),
                &c.finish(),
                base.interventions(),
                base.processes(),
            )?;
            self.engine = Some(Arc::new(Engine::new(
                base.config().clone(),
                base.processes().clone(),
                base.interventions().clone(),
                model,
            )?));
            self.fitted_evidence = evidence;
        }
        Ok(self.engine.clone())
    }

    /// Keeps `state` as the person's latest.
    fn update(&mut self, person: u64, state: &PersonState) {
        let old = self.states.insert(person, state.clone());
        self.evidence =
            self.evidence + train::evidence(state) - old.as_ref().map_or(0, train::evidence);
    }
}

/// Recommends the engine's top item for one person, with a fresh exploration
/// seed from the simulator's policy stream at every decision.
#[derive(Debug, Clone)]
pub struct EnginePolicy<'e> {
    engine: &'e Engine,
    pool: Option<&'e RefCell<ClinicPool<'e>>>,
    pooled: Option<Arc<Engine>>,
    name: String,
    k: usize,
    clinician_review: bool,
    state: Option<PersonState>,
    declined: Feedback,
    /// The latest ranking, recorded as offered when the platform shows it
    /// (as the server records what it returns).
    shown: Option<Ranking>,
}

impl<'e> EnginePolicy<'e> {
    /// The engine under its default report name `engine`.
    pub fn new(engine: &'e Engine) -> Self {
        Self::named(engine, "engine")
    }

    /// The engine under a report name (e.g. to compare configurations).
    pub fn named(engine: &'e Engine, name: impl Into<String>) -> Self {
        Self {
            engine,
            pool: None,
            pooled: None,
            name: name.into(),
            k: 5,
            clinician_review: true,
            state: None,
            declined: Feedback {
                intervention: InterventionId(String::new()),
                at: Timestamp::default(),
                completion: None,
                minutes_spent: None,
                helpfulness: None,
                distress_before: None,
                distress_after: None,
                post_ratings: Vec::new(),
                clinician: Some(ClinicianDecision::Rejected),
                context: Default::default(),
            },
            shown: None,
        }
    }

    /// Asks the engine for `k` items (default 5), as a platform showing a
    /// list would; the first one the clinician keeps is done. The ranking
    /// cost grows with `k`.
    pub fn with_k(mut self, k: usize) -> Self {
        self.k = k.clamp(1, 20);
        self
    }

    /// Whether a simulated clinician declines contraindicated items (default
    /// on; see the module docs).
    pub fn with_clinician_review(mut self, on: bool) -> Self {
        self.clinician_review = on;
        self
    }

    /// Ranks with the clinic's pool refitted on the people before (see
    /// [`ClinicPool`]), as a server pooling a tenant's people does.
    pub fn with_pool(mut self, pool: &'e RefCell<ClinicPool<'e>>) -> Self {
        self.pool = Some(pool);
        self
    }

    /// The engine's state for the current person (for inspection in tests).
    pub fn state(&self) -> Option<&PersonState> {
        self.state.as_ref()
    }

    fn state_mut(&mut self) -> Result<&mut PersonState> {
        self.state.as_mut().ok_or_else(not_started)
    }
}

fn not_started() -> EngineError {
    EngineError::IncompatibleState("engine policy used before start()".into())
}

impl Policy for EnginePolicy<'_> {
    fn name(&self) -> &str {
        &self.name
    }

    fn start(&mut self, intake: &Intake<'_>) -> Result<()> {
        self.state = Some(self.engine.new_person(intake.conditions.to_vec()));
        self.pooled = None;
        Ok(())
    }

    fn observe_assessment(&mut self, assessment: &Assessment) -> Result<()> {
        let engine = self.pooled.clone();
        let engine = engine.as_deref().unwrap_or(self.engine);
        let state = self.state_mut()?;
        engine.observe_assessment(state, assessment)
    }

    fn choose(&mut self, view: &PersonView<'_>, rng: &mut SimRng) -> Result<InterventionId> {
        if let Some(pool) = self.pool {
            let mut pool = pool.borrow_mut();
            if let Some(state) = &self.state {
                pool.update(view.person, state);
            }
            self.pooled = pool.engine()?;
        }
        let pooled = self.pooled.clone();
        let engine = pooled.as_deref().unwrap_or(self.engine);
        let state = self.state.as_mut().ok_or_else(not_started)?;
        let query = RecommendQuery {
            k: self.k,
            context: view.context,
            exclude: Vec::new(),
            pin: Vec::new(),
            now: view.now,
            seed: rng.next_u64(),
        };
        // As the server does: the posterior is estimated once per decision,
        // after the writes since the last one (a cache, never the result).
        engine.refresh(state)?;
        let ranking = engine.recommend(state, &query)?;
        let contraindicated = |id: &InterventionId| {
            view.interventions
                .index_of(id)
                .is_some_and(|i| !view.is_eligible(i))
        };
        let keep = if self.clinician_review {
            ranking
                .items
                .iter()
                .position(|it| !contraindicated(&it.intervention))
                .unwrap_or(0)
        } else {
            0
        };
        for item in ranking.items.iter().take(keep) {
            let fb = &mut self.declined;
            fb.intervention.0.clone_from(&item.intervention.0);
            fb.at = view.now;
            fb.context = view.context;
            engine.observe_feedback(state, fb)?;
        }
        let chosen = ranking
            .items
            .get(keep)
            .map(|item| item.intervention.clone());
        self.shown = Some(ranking);
        chosen.ok_or_else(|| {
            EngineError::InvalidCatalog(format!(
                "the engine returned an empty ranking for simulated person {}",
                view.person
            ))
        })
    }

    fn observe_recommendation(
        &mut self,
        intervention: &InterventionId,
        at: Timestamp,
    ) -> Result<()> {
        let engine = self.pooled.clone();
        let engine = engine.as_deref().unwrap_or(self.engine);
        let shown = self.shown.take();
        let state = self.state_mut()?;
        match shown {
            Some(ranking) => engine.observe_ranking(state, &ranking, at),
            None => engine.observe_recommendation(state, intervention, at),
        }
    }

    fn observe_feedback(&mut self, feedback: &Feedback) -> Result<()> {
        let engine = self.pooled.clone();
        let engine = engine.as_deref().unwrap_or(self.engine);
        let state = self.state_mut()?;
        engine.observe_feedback(state, feedback)
    }
}
