//! The habituation memory: how much of an intervention's benefit a person
//! still gets after recent doses of it and of its family; ranking discounts
//! expected benefits by it. (A person's own learning does not divide it out
//! of what feedback reports: treating a rating given while habituated as a
//! partial dose was tried and cost 0.003-0.03 of captured share on every
//! built-in scenario. Training does: it reads a rating per unit of the
//! exposure recorded with it, see `ItemEvidence::sum_exposure`.)
//!
//! A dose fades by half every `habituation_half_life_days`, or, when the
//! person's timestamps are a replay (decisions under an hour apart on
//! average), every [`HABITUATION_HALF_LIFE_DECISIONS`] later decisions.

use crate::ids::Timestamp;
use crate::model::Model;
use crate::state::PersonState;

/// Weight of a family member's doses in an intervention's habituation.
const FAMILY_HABITUATION: f64 = 0.5;
/// Mean time between a person's decisions (days) under which their clock is
/// taken to be a replay rather than real time: no care schedule decides
/// several times an hour, but platforms that replay history or drive the API
/// faster than real time stamp weeks of care seconds apart.
const REPLAY_SPACING_DAYS: f64 = 1.0 / 24.0;
/// On a replayed clock a dose weighs half after this many later decisions
/// instead of after `habituation_half_life_days` (two weeks at one decision a
/// week). Fading by days alone kept every dose at full weight on such clocks
/// and buried whatever worked (-5 points of captured share on the simulator
/// with its clock squeezed 10^5-fold); fading by decisions on a real clock
/// misjudges daily schedules, whose doses the days fade more slowly.
const HABITUATION_HALF_LIFE_DECISIONS: f64 = 2.0;

/// Fading dose memory per catalogue position and per family at one time.
pub(crate) struct Memory {
    own: Vec<f64>,
    family: Vec<f64>,
}

impl Memory {
    /// The memory of `state`'s doses as of `now`.
    pub(crate) fn at(model: &Model, state: &PersonState, now: Timestamp) -> Self {
        let config = model.config();
        let compiled = model.compiled();
        let records = crate::state::records_by_position(model.interventions().all(), state);
        let mut decisions: Vec<_> = records
            .iter()
            .flatten()
            .flat_map(|r| r.recent_recommended.iter().copied())
            .collect();
        // One decision shows several items at one time: count decisions, not items.
        decisions.sort_unstable();
        decisions.dedup();
        let replayed = match (decisions.first(), decisions.last()) {
            (Some(first), Some(last)) if decisions.len() >= 2 => {
                last.days_since(*first) / ((decisions.len() - 1) as f64) < REPLAY_SPACING_DAYS
            }
            _ => false,
        };
        let own: Vec<f64> = records
            .iter()
            .map(|r| {
                r.map_or(0.0, |r| {
                    r.recent_done
                        .iter()
                        .filter_map(|t| {
                            let age = now.days_since(*t);
                            let later = decisions.len() - decisions.partition_point(|d| d <= t);
                            (age >= 0.0).then(|| {
                                let halves = if replayed {
                                    later as f64 / HABITUATION_HALF_LIFE_DECISIONS
                                } else {
                                    age / config.habituation_half_life_days
                                };
                                0.5f64.powf(halves)
                            })
                        })
                        .sum()
                })
            })
            .collect();
        let mut family = vec![0.0; compiled.families];
        for (pos, m) in own.iter().enumerate() {
            family[compiled.items[pos].family] += m;
        }
        Self { own, family }
    }

    /// The share of its benefit the intervention at catalogue position `pos`
    /// still gives: `exp(-habituation × (own doses + ½ × the family's other doses))`.
    pub(crate) fn multiplier(&self, model: &Model, pos: usize) -> f64 {
        let own = self.own[pos];
        let family = self.family[model.compiled().items[pos].family] - own;
        (-model.config().habituation * (own + FAMILY_HABITUATION * family)).exp()
    }
}
