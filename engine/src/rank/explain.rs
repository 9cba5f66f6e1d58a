//! What a clinician reads: each item's structured rationale and plain-language
//! summary, and the note on the ranking as a whole.
//!
//! A summary says, most important first and in at most 200 characters:
//! what the item targets and how that process stands for the person (their
//! most stuck process is named as such; a process well above the middle that
//! helps them is a strength to build on); what *their own data* say when they
//! say something (the correlation of the process with their well-being over
//! the days it was measured, or how they rated this exercise last time), or
//! that population evidence stands in; why an item was tried when it was an
//! exploratory draw; and cautions (clinician review, low follow-through).
//! Phrasing builds rather than fixes, after the orchestra principle.

use super::filters::{Dropped, Group};
use super::scoring::Candidate;
use super::{RankedItem, TargetExplanation};
use crate::catalog::Condition;
use crate::model::Model;
use crate::network;
use crate::observe::Context;
use crate::state::{PersonCache, PersonState};
use crate::stats::Sufficiency;

pub(super) const SUMMARY_MAX_CHARS: usize = 200;
const LOW_FOLLOW: f64 = 0.4;
/// Smallest |r| worth naming in a summary.
const NOTABLE_CORRELATION: f64 = 0.2;
/// Adaptive level from which a helpful process counts as a strength.
const STRENGTH_LEVEL: f64 = 65.0;
/// How much more maladaptive than adaptive a process must be to be called stuck.
const STUCK_GAP: f64 = 20.0;

/// The facts every item's explanation draws on.
pub(super) struct Facts<'a> {
    model: &'a Model,
    state: &'a PersonState,
    post: &'a PersonCache,
    levels: &'a [f64],
    safety_mode: bool,
    /// The person's most stuck rated process, if one clearly is.
    stuck: Option<usize>,
}

/// What the note needs besides the facts.
pub(super) struct NoteFacts<'a> {
    pub cands: &'a [Candidate<'a>],
    pub ranked_in_list: &'a [usize],
    pub indistinguishable: bool,
    pub plateau: bool,
    pub dropped: &'a Dropped,
    pub context: &'a Context,
    pub empty: bool,
    /// Only contraindicated items fit, and none may rank first.
    pub only_review: bool,
    pub any_exploratory: bool,
}

impl<'a> Facts<'a> {
    pub(crate) fn new(
        model: &'a Model,
        state: &'a PersonState,
        post: &'a PersonCache,
        levels: &'a [f64],
        safety_mode: bool,
    ) -> Self {
        let rated = |i: usize| state.variables.get(i).and_then(|v| v.level);
        let stuck = (0..model.processes().len())
            .filter_map(|p| {
                let a = rated(network::adaptive(p))?;
                let m = rated(network::maladaptive(p))?;
                Some((m - a, p))
            })
            .filter(|(gap, _)| *gap >= STUCK_GAP)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, p)| p);
        Self {
            model,
            state,
            post,
            levels,
            safety_mode,
            stuck,
        }
    }

    fn rated(&self, i: usize) -> Option<f64> {
        self.state.variables.get(i).and_then(|v| v.level)
    }

    fn levels_text(&self, p: usize) -> String {
        match (
            self.rated(network::adaptive(p)),
            self.rated(network::maladaptive(p)),
        ) {
            (Some(a), Some(m)) => format!("{a:.0} adaptive, {m:.0} maladaptive"),
            (Some(a), None) => format!("adaptive {a:.0}"),
            (None, Some(m)) => format!("maladaptive {m:.0}"),
            (None, None) => "not yet rated".into(),
        }
    }

    /// The target carrying most of this person's expected gain.
    fn main_target(&self, c: &Candidate<'_>) -> Option<usize> {
        self.model.compiled().items[c.pos]
            .targets
            .iter()
            .map(|&(p, w)| {
                let v = self.post.processes[p].value.mean.max(0.0);
                (w * v + 1e-12 * w, p)
            })
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, p)| p)
    }

    fn is_strength(&self, p: usize) -> bool {
        self.rated(network::adaptive(p))
            .is_some_and(|a| a >= STRENGTH_LEVEL)
            && self.post.processes[p].value.mean > 0.0
    }

    pub(crate) fn item(&self, c: &Candidate<'_>, draw: f64, propensity: f64) -> RankedItem {
        let model = self.model;
        let targets: Vec<TargetExplanation> = model.compiled().items[c.pos]
            .targets
            .iter()
            .map(|&(p, w)| {
                let (ia, im) = (network::adaptive(p), network::maladaptive(p));
                let room = 0.5 * ((100.0 - self.levels[ia]) + self.levels[im]) / 100.0;
                TargetExplanation {
                    process: model.processes().all()[p].id.clone(),
                    weight: w,
                    influence: self.post.processes[p].map_value.interval().scaled(10.0),
                    adaptive_level: self.rated(ia),
                    maladaptive_level: self.rated(im),
                    headroom: room.clamp(0.0, 1.0),
                }
            })
            .collect();
        let requires_clinician_review =
            self.safety_mode || c.iv.requires_clinician || !c.contraindicated.is_empty();
        let (times_recommended, times_done, mean_helpfulness) = match c.record {
            Some(r) => (r.recommended, r.done + r.partly, r.mean_helpfulness()),
            None => (0, 0, None),
        };
        let main = self.main_target(c);
        let builds_on_strength = main.is_some_and(|p| self.is_strength(p));
        RankedItem {
            intervention: c.iv.id.clone(),
            score: draw,
            benefit: c.benefit.interval(),
            follow_through: c.follow.probability,
            targets,
            propensity,
            pinned: matches!(c.group, Group::Pinned(_)),
            requires_clinician_review,
            exploratory: c.exploratory,
            builds_on_strength,
            times_recommended,
            times_done,
            mean_helpfulness,
            sufficiency: Sufficiency {
                observations: self.post.map_rows + c.signals,
                own_weight: c.own_weight,
            },
            summary: self.summary(c, main, builds_on_strength, times_done),
        }
    }

    fn summary(
        &self,
        c: &Candidate<'_>,
        main: Option<usize>,
        strength: bool,
        times_done: u32,
    ) -> String {
        let mut parts: Vec<String> = Vec::new();
        if c.group == Group::Safety {
            parts.push(
                "Safety first: risk flag in the latest assessment; go through it with the person now."
                    .into(),
            );
        }
        if !c.contraindicated.is_empty() && !self.safety_mode {
            let what: Vec<&str> = c
                .contraindicated
                .iter()
                .map(|x| condition_label(*x))
                .collect();
            parts.push(format!(
                "Clinician review: clinician-led only, caution with {}.",
                what.join(", ")
            ));
        } else if c.iv.requires_clinician && c.group != Group::Safety {
            parts.push("Clinician-led.".into());
        }
        if let Some(p) = main {
            let process = &self.model.processes().all()[p];
            let name = process.display_name.as_str();
            let levels = self.levels_text(p);
            parts.push(if strength {
                format!("Builds on {name}, a strength ({levels}).")
            } else if self.stuck == Some(p) {
                format!("Targets {name}, their most stuck process ({levels}).")
            } else {
                format!("Targets {name} ({levels}).")
            });
            let belief = &self.post.processes[p];
            let r = belief.correlation;
            let enough = self.post.map_rows >= process.min_observations;
            let last = c.record.and_then(|r| r.last_helpfulness);
            if enough && r.abs() >= NOTABLE_CORRELATION {
                let days = self.post.map_span_days.round().max(1.0);
                parts.push(if r > 0.0 {
                    format!("{name} has moved with their well-being: r = {r:.2} over {days:.0} days.")
                } else {
                    format!(
                        "In their data better {name} has gone with lower well-being: r = {r:.2} over {days:.0} days."
                    )
                });
            } else if let Some(h) = last {
                parts.push(if times_done > 1 {
                    format!("Done {times_done}x, rated {h:.0} helpful last time.")
                } else {
                    format!("Rated {h:.0} helpful last time.")
                });
            } else if c.signals > 0 {
                parts.push(format!(
                    "Learning from their feedback ({} reports).",
                    c.signals
                ));
            } else if belief.own_weight >= 0.5 {
                parts.push(format!(
                    "Their own data and feedback shape the {name} estimate."
                ));
            } else {
                parts.push("Population evidence so far.".into());
            }
        }
        if c.exploratory {
            parts.push("Tried to learn: little is known yet about how it works for them.".into());
        }
        if times_done == 0 && c.follow.probability.mean < LOW_FOLLOW {
            parts.push("Follow-through may be hard; keep it small.".into());
        }
        fit(parts)
    }

    pub(crate) fn note(&self, f: NoteFacts<'_>) -> String {
        let mut parts: Vec<String> = Vec::new();
        if self.safety_mode {
            parts.push("Risk flag in the latest assessment: safety interventions first, exploration off, contraindicated interventions removed; every item needs clinician review.".into());
        }
        for id in &f.dropped.pins {
            parts.push(format!(
                "Pinned `{id}` dropped: contraindicated while risk is active."
            ));
        }
        if f.only_review {
            parts.push("Every intervention that fits needs clinician review first (contraindicated for this person): none is suggested directly.".into());
        } else if f.empty {
            parts.push("No intervention fits this request.".into());
        }
        if let Some(p) = self.stuck {
            let name = &self.model.processes().all()[p].display_name;
            parts.push(format!("Most stuck: {name} ({}).", self.levels_text(p)));
        }
        if f.indistinguishable
            && let [a, b, ..] = f.ranked_in_list
        {
            parts.push(format!(
                "The top two ({} and {}) cannot be told apart on current evidence; choose with the person.",
                f.cands[*a].iv.display_name, f.cands[*b].iv.display_name
            ));
        }
        if self.post.map_rows < 3 {
            parts.push(
                "Few observations so far: based on their current profile and population evidence."
                    .into(),
            );
        }
        if f.plateau {
            parts.push("Well-being has levelled off: favouring kernels not used recently.".into());
        }
        let d = f.dropped;
        if d.too_long > 0 {
            let minutes = f.context.minutes_available.unwrap_or(0);
            parts.push(format!(
                "{} left out as longer than the {minutes} minutes available.",
                d.too_long
            ));
        }
        if d.needs_session > 0 {
            parts.push(format!(
                "{} left out as they need a session.",
                d.needs_session
            ));
        }
        if d.dose > 0 {
            parts.push(format!(
                "{} left out as suggested too recently (dose limits).",
                d.dose
            ));
        }
        if d.contraindicated > 0 {
            parts.push(format!(
                "{} left out as contraindicated.",
                d.contraindicated
            ));
        }
        let reviewed = f
            .ranked_in_list
            .iter()
            .filter(|&&i| !f.cands[i].contraindicated.is_empty())
            .count();
        if reviewed > 0 && !self.safety_mode {
            parts.push(format!(
                "{reviewed} listed for clinician review only (contraindicated for this person), never first."
            ));
        }
        if f.any_exploratory {
            parts.push("Some items are tried to learn what works for this person.".into());
        }
        parts.join(" ")
    }
}

/// Joins parts into at most [`SUMMARY_MAX_CHARS`] characters, dropping the
/// least important (later) parts that do not fit whole.
fn fit(parts: Vec<String>) -> String {
    let mut out = String::new();
    for part in parts {
        let extra = usize::from(!out.is_empty());
        if out.chars().count() + extra + part.chars().count() > SUMMARY_MAX_CHARS {
            if out.is_empty() {
                out = part.chars().take(SUMMARY_MAX_CHARS - 1).collect::<String>() + "…";
            }
            continue;
        }
        if extra == 1 {
            out.push(' ');
        }
        out.push_str(&part);
    }
    out
}

pub(super) fn condition_label(c: Condition) -> &'static str {
    match c {
        Condition::TraumaHistory => "trauma history",
        Condition::Dissociation => "dissociation",
        Condition::PsychosisHistory => "psychosis history",
        Condition::Bipolar => "bipolar disorder",
        Condition::Seizures => "seizures",
        Condition::Cardiac => "a cardiac condition",
        Condition::Respiratory => "a respiratory condition",
        Condition::Pregnancy => "pregnancy",
        Condition::UnstableMedical => "an unstable medical condition",
        Condition::DrowsyDrivingRisk => "drowsy-driving risk",
        Condition::ExerciseRestriction => "exercise restriction",
        Condition::AcuteSuicidality => "acute suicidality",
        Condition::ActivePsychosis => "active psychosis",
        Condition::Intoxication => "intoxication",
    }
}
