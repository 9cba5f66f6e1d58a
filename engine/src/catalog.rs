//! Processes and intervention kernels.
//!
//! The built-in catalogues are data files in this crate (`data/processes.toml`,
//! `data/interventions.toml`), written in our own words from the domain brief.
//! A tenant may add its own interventions (and replace the process set); every
//! catalogue is validated when it is built, so the ranking code can trust it.

use crate::error::{EngineError, Result};
use crate::ids::{InterventionId, ProcessId};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// A psychological process with an adaptive and a maladaptive pole, both rated 0-100.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Process {
    /// Stable id, e.g. `affect`.
    pub id: ProcessId,
    /// Display name.
    pub display_name: String,
    /// EEMM dimension or context, e.g. `affect`, `sociocultural`.
    pub dimension: String,
    /// The adaptive pole as the person reads it.
    pub adaptive_pole: String,
    /// The maladaptive pole as the person reads it.
    pub maladaptive_pole: String,
    /// Population prior mean of the adaptive pole (0-100).
    pub prior_adaptive_mean: f64,
    /// Population prior mean of the maladaptive pole (0-100).
    pub prior_maladaptive_mean: f64,
    /// Population prior standard deviation of either pole.
    pub prior_sd: f64,
    /// Observations needed before this person's own estimates are trusted.
    pub min_observations: u32,
}

/// A standing condition that makes some interventions unsafe without a clinician.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// History of trauma.
    TraumaHistory,
    /// Dissociative symptoms.
    Dissociation,
    /// History of psychosis.
    PsychosisHistory,
    /// Bipolar disorder.
    Bipolar,
    /// Seizure disorder.
    Seizures,
    /// Cardiac condition.
    Cardiac,
    /// Respiratory condition.
    Respiratory,
    /// Pregnancy.
    Pregnancy,
    /// Unstable medical condition.
    UnstableMedical,
    /// Drowsiness is dangerous at work (e.g. driving).
    DrowsyDrivingRisk,
    /// Vigorous exercise needs medical clearance.
    ExerciseRestriction,
    /// Acute suicidality (from an assessment's risk flags, not a standing condition).
    AcuteSuicidality,
    /// Active psychosis (from an assessment's risk flags).
    ActivePsychosis,
    /// Current intoxication (from an assessment's risk flags).
    Intoxication,
}

/// Where an intervention is carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Modality {
    /// In a session with the clinician.
    InSession,
    /// Homework between sessions.
    BetweenSessions,
    /// A short practice in an app.
    App,
}

/// How strongly an intervention is expected to move one process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// Process id.
    pub process: ProcessId,
    /// Prior share of the intervention's effect that goes to this process, in (0, 1].
    pub weight: f64,
}

/// An evidence-based intervention kernel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Intervention {
    /// Stable id: lowercase letters, digits and dashes.
    pub id: InterventionId,
    /// Display name.
    pub display_name: String,
    /// Kernel family, e.g. `defusion`; diversity is judged across families and processes.
    pub family: String,
    /// Short instructions a person can follow.
    pub instructions: String,
    /// Processes it targets, with prior weights.
    pub targets: Vec<Target>,
    /// Typical effort in minutes.
    pub effort_minutes: u32,
    /// Where it is carried out.
    pub modality: Modality,
    /// Whether a clinician must lead it.
    #[serde(default)]
    pub requires_clinician: bool,
    /// Conditions under which it must not be recommended without clinician review.
    #[serde(default)]
    pub contraindications: Vec<Condition>,
    /// Minimum days between two recommendations of it (dose limit); 0 means none.
    #[serde(default)]
    pub min_days_between: u32,
    /// Short note on the evidence.
    pub evidence: String,
    /// Prior expected gain in well-being points (0-100 scale) when done, before personalisation.
    pub prior_effect: f64,
    /// Whether it ships with Tutti.
    #[serde(default)]
    pub built_in: bool,
    /// Whether this is a safety-path intervention (safety planning, crisis resources).
    #[serde(default)]
    pub safety: bool,
    /// Whether it is a low-effort variant or an if-then step that helps follow-through.
    #[serde(default)]
    pub follow_through_aid: bool,
}

/// An ordered, validated set of processes with O(1) lookup by id.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessCatalog {
    processes: Vec<Process>,
    index: HashMap<ProcessId, usize>,
}

/// An ordered (by id), validated set of interventions with O(1) lookup by id.
#[derive(Debug, Clone, PartialEq)]
pub struct InterventionCatalog {
    interventions: Vec<Intervention>,
    index: HashMap<InterventionId, usize>,
}

impl ProcessCatalog {
    /// Builds and validates a process catalogue.
    pub fn new(processes: Vec<Process>) -> Result<Self> {
        if processes.is_empty() {
            return Err(invalid(
                "a process catalogue needs at least one process".into(),
            ));
        }
        let mut index = HashMap::with_capacity(processes.len());
        for (i, p) in processes.iter().enumerate() {
            check_id(p.id.as_str(), "process")?;
            let in_scale = |v: f64| v.is_finite() && (0.0..=100.0).contains(&v);
            if !in_scale(p.prior_adaptive_mean) || !in_scale(p.prior_maladaptive_mean) {
                return Err(invalid(format!(
                    "process `{}`: prior means must be in [0, 100]",
                    p.id
                )));
            }
            if !(p.prior_sd.is_finite() && p.prior_sd > 0.0 && p.prior_sd <= 50.0) {
                return Err(invalid(format!(
                    "process `{}`: prior_sd must be in (0, 50]",
                    p.id
                )));
            }
            if index.insert(p.id.clone(), i).is_some() {
                return Err(invalid(format!("duplicate process id `{}`", p.id)));
            }
        }
        Ok(Self { processes, index })
    }

    /// The built-in EEMM/PBAT-based process set from `data/processes.toml`.
    pub fn builtin() -> Self {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct File {
            process: Vec<Process>,
        }
        // The data file is compiled into the crate and covered by tests, so a
        // failure here is a build defect, not a runtime condition.
        let file: File = toml::from_str(include_str!("../data/processes.toml"))
            .expect("data/processes.toml is valid TOML for Process");
        Self::new(file.process).expect("data/processes.toml is a valid catalogue")
    }

    /// Processes in catalogue order.
    pub fn all(&self) -> &[Process] {
        &self.processes
    }
    /// Position of a process in catalogue order (its index in network vectors).
    pub fn index_of(&self, id: &ProcessId) -> Option<usize> {
        self.index.get(id).copied()
    }
    /// Looks a process up.
    pub fn get(&self, id: &ProcessId) -> Option<&Process> {
        self.index_of(id).map(|i| &self.processes[i])
    }
    /// Number of processes.
    pub fn len(&self) -> usize {
        self.processes.len()
    }
    /// Whether the catalogue is empty.
    pub fn is_empty(&self) -> bool {
        self.processes.is_empty()
    }
}

impl InterventionCatalog {
    /// Builds and validates an intervention catalogue against a process catalogue.
    pub fn new(mut interventions: Vec<Intervention>, processes: &ProcessCatalog) -> Result<Self> {
        interventions.sort_by(|a, b| a.id.cmp(&b.id));
        let mut index = HashMap::with_capacity(interventions.len());
        for (i, iv) in interventions.iter().enumerate() {
            validate_intervention(iv, processes)?;
            if index.insert(iv.id.clone(), i).is_some() {
                return Err(invalid(format!("duplicate intervention id `{}`", iv.id)));
            }
        }
        Ok(Self {
            interventions,
            index,
        })
    }

    /// The built-in kernels from `data/interventions.toml`, checked against
    /// `processes`. Fails only when a tenant's process set lacks processes the
    /// kernels target.
    pub fn builtin(processes: &ProcessCatalog) -> Result<Self> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct File {
            intervention: Vec<Intervention>,
        }
        let file: File = toml::from_str(include_str!("../data/interventions.toml"))
            .map_err(|e| invalid(format!("data/interventions.toml: {e}")))?;
        let all = file
            .intervention
            .into_iter()
            .map(|iv| Intervention {
                built_in: true,
                ..iv
            })
            .collect();
        Self::new(all, processes)
    }

    /// A new catalogue with a tenant's `extra` interventions added. An extra
    /// entry may replace a tenant entry with the same id, never a built-in one.
    pub fn with_additions(
        &self,
        extra: Vec<Intervention>,
        processes: &ProcessCatalog,
    ) -> Result<Self> {
        let mut all = self.interventions.clone();
        for iv in extra {
            match self.index.get(&iv.id) {
                Some(&i) if all[i].built_in => {
                    return Err(invalid(format!(
                        "`{}` is built in and cannot be replaced",
                        iv.id
                    )));
                }
                Some(&i) => {
                    all[i] = Intervention {
                        built_in: false,
                        ..iv
                    }
                }
                None => all.push(Intervention {
                    built_in: false,
                    ..iv
                }),
            }
        }
        Self::new(all, processes)
    }

    /// Interventions ordered by id.
    pub fn all(&self) -> &[Intervention] {
        &self.interventions
    }
    /// Looks an intervention up.
    pub fn get(&self, id: &InterventionId) -> Option<&Intervention> {
        self.index.get(id).map(|&i| &self.interventions[i])
    }
    /// Position of an intervention (index into per-intervention state vectors).
    pub fn index_of(&self, id: &InterventionId) -> Option<usize> {
        self.index.get(id).copied()
    }
    /// Number of interventions.
    pub fn len(&self) -> usize {
        self.interventions.len()
    }
    /// Whether the catalogue is empty.
    pub fn is_empty(&self) -> bool {
        self.interventions.is_empty()
    }
}

fn invalid(msg: String) -> EngineError {
    EngineError::InvalidCatalog(msg)
}

/// Ids are lowercase ASCII letters, digits, `_` and `-`, 1-64 long, so they are
/// safe in URLs, file names and log fields.
fn check_id(id: &str, what: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "{what} id `{id}` must be 1-64 of [a-z0-9_-]"
        )))
    }
}

/// Checks one intervention against the process catalogue.
pub fn validate_intervention(iv: &Intervention, processes: &ProcessCatalog) -> Result<()> {
    check_id(iv.id.as_str(), "intervention")?;
    if iv.targets.is_empty() {
        return Err(invalid(format!(
            "intervention `{}` targets no process",
            iv.id
        )));
    }
    for (i, t) in iv.targets.iter().enumerate() {
        if processes.get(&t.process).is_none() {
            return Err(EngineError::UnknownProcess(t.process.to_string()));
        }
        if !(t.weight.is_finite() && t.weight > 0.0 && t.weight <= 1.0) {
            return Err(invalid(format!(
                "intervention `{}`: target weights must be in (0, 1]",
                iv.id
            )));
        }
        if iv.targets[..i].iter().any(|o| o.process == t.process) {
            return Err(invalid(format!(
                "intervention `{}` targets `{}` twice",
                iv.id, t.process
            )));
        }
    }
    if iv.effort_minutes == 0 || iv.effort_minutes > 600 {
        return Err(invalid(format!(
            "intervention `{}`: effort_minutes must be in 1..=600",
            iv.id
        )));
    }
    if !(iv.prior_effect.is_finite() && (-20.0..=20.0).contains(&iv.prior_effect)) {
        return Err(invalid(format!(
            "intervention `{}`: prior_effect must be in [-20, 20]",
            iv.id
        )));
    }
    if iv.min_days_between > 365 {
        return Err(invalid(format!(
            "intervention `{}`: min_days_between must be at most 365",
            iv.id
        )));
    }
    Ok(())
}
