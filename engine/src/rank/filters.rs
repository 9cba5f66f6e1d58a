//! Which interventions may appear, and in which group. Never silently bypassed:
//! everything left out is counted for the ranking's note.
//!
//! Exclusions always win. Safety-path kernels (`safety = true`) are for the
//! safety path only unless pinned. Without risk, a contraindicated kernel may
//! stay in the list for clinician review (never first, see the parent module);
//! with an active risk flag it is removed (standing conditions plus the acute
//! conditions the flags imply), even when pinned, and the note says so.
//! Unpinned kernels that do not fit the context (longer than the minutes
//! available; needing a session outside one) or would break a dose limit
//! (`min_days_between`; by default not three days running) are left out and
//! counted. A recommendation within the last [`SAME_DECISION_DAYS`] does not
//! count toward a dose: that is the same decision asked again (a refreshed
//! screen, a second device, the clinician's view before the person's), which
//! must not lose its first choice to its own earlier answer; a reported
//! completion always counts. Pins bypass context and dose: the clinician
//! chose them.
//!
//! A plateau (at least 6 outcome points over 3 weeks, trend under 0.5
//! points/week, below the recovery asymptote) marks the families used in the
//! last 28 days for rotation (see [`super::scoring`]).

use crate::catalog::{Condition, Intervention};
use crate::follow::{self, Infeasible};
use crate::ids::{InterventionId, Timestamp};
use crate::model::Model;
use crate::state::{InterventionRecord, PersonState, records_by_position};
use std::collections::BTreeSet;

use super::RecommendQuery;

const ROTATION_WINDOW_DAYS: f64 = 28.0;
/// How recent a recommendation must be to count as the same decision asked
/// again rather than a dose (6 hours).
pub(crate) const SAME_DECISION_DAYS: f64 = 0.25;
const PLATEAU_MIN_POINTS: u32 = 6;
const PLATEAU_MIN_DAYS: f64 = 21.0;
const PLATEAU_SLOPE: f64 = 0.5;

/// Where a candidate stands in the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Group {
    /// A safety-path kernel under an active risk flag.
    Safety,
    /// Pinned, at this position of the pins.
    Pinned(usize),
    /// Ordered by the policy.
    Ranked,
}

/// What was left out, for the note.
#[derive(Debug, Default)]
pub(super) struct Dropped {
    pub too_long: u32,
    pub needs_session: u32,
    pub dose: u32,
    pub contraindicated: u32,
    pub pins: Vec<InterventionId>,
}

/// One intervention that may appear.
pub(super) struct Selected<'a> {
    /// Position in the catalogue (and in the compiled catalogue).
    pub pos: usize,
    pub iv: &'a Intervention,
    pub record: Option<&'a InterventionRecord>,
    pub group: Group,
    /// The person's conditions it is contraindicated for.
    pub contraindicated: Vec<Condition>,
}

/// The candidates and what the filters found.
pub(super) struct Selection<'a> {
    pub entries: Vec<Selected<'a>>,
    pub dropped: Dropped,
    pub plateau: bool,
    /// Per family: used in the last 28 days while well-being has plateaued.
    pub rotated: Vec<bool>,
}

pub(super) fn select<'a>(
    model: &'a Model,
    state: &'a PersonState,
    query: &RecommendQuery,
    safety_mode: bool,
) -> Selection<'a> {
    let excluded: BTreeSet<&InterventionId> = query.exclude.iter().collect();
    let mut pins: Vec<&InterventionId> = Vec::new();
    for p in &query.pin {
        if !excluded.contains(p) && !pins.contains(&p) {
            pins.push(p);
        }
    }
    let mut conditions: BTreeSet<Condition> = state.conditions.iter().copied().collect();
    if safety_mode {
        conditions.extend(state.risk_flags().iter().map(|f| f.condition()));
    }
    let compiled = model.compiled();
    let all = model.interventions().all();
    let records = records_by_position(all, state);
    let plateau = plateaued(model, state, query.now);
    let mut rotated = vec![false; compiled.families];
    if plateau {
        for (pos, r) in records.iter().enumerate() {
            if let Some(r) = r
                && count_recent(&r.recent_done, query.now, ROTATION_WINDOW_DAYS) > 0
            {
                rotated[compiled.items[pos].family] = true;
            }
        }
    }

    let mut dropped = Dropped::default();
    let mut entries = Vec::with_capacity(all.len());
    for (pos, iv) in all.iter().enumerate() {
        if excluded.contains(&iv.id) {
            continue;
        }
        let pin_pos = pins.iter().position(|p| **p == iv.id);
        let contraindicated: Vec<Condition> = iv
            .contraindications
            .iter()
            .copied()
            .filter(|c| conditions.contains(c))
            .collect();
        if safety_mode && !contraindicated.is_empty() {
            if pin_pos.is_some() {
                dropped.pins.push(iv.id.clone());
            } else {
                dropped.contraindicated += 1;
            }
            continue;
        }
        let group = match pin_pos {
            _ if safety_mode && iv.safety => Group::Safety,
            Some(i) => Group::Pinned(i),
            // Safety-path kernels are not ordinary suggestions.
            None if iv.safety => continue,
            None => Group::Ranked,
        };
        let record = records[pos];
        if group == Group::Ranked {
            match follow::feasible(iv, &query.context) {
                Err(Infeasible::TooLong) => {
                    dropped.too_long += 1;
                    continue;
                }
                Err(Infeasible::NeedsSession) => {
                    dropped.needs_session += 1;
                    continue;
                }
                Ok(()) => {}
            }
            if dose_blocked(iv, record, query.now) {
                dropped.dose += 1;
                continue;
            }
        }
        entries.push(Selected {
            pos,
            iv,
            record,
            group,
            contraindicated,
        });
    }
    Selection {
        entries,
        dropped,
        plateau,
        rotated,
    }
}

/// Timestamps in `ts` at most `window` days before `now` (and not after it).
pub(super) fn count_recent(ts: &[Timestamp], now: Timestamp, window: f64) -> u32 {
    ts.iter()
        .filter(|t| {
            let age = now.days_since(**t);
            (0.0..=window).contains(&age)
        })
        .count() as u32
}

/// Dose limits: `min_days_between` days since the last recommendation (of
/// an earlier decision) or completion, or by default not three days running.
fn dose_blocked(iv: &Intervention, record: Option<&InterventionRecord>, now: Timestamp) -> bool {
    let Some(r) = record else {
        return false;
    };
    let asked = r
        .recent_recommended
        .iter()
        .map(|t| now.days_since(*t))
        .filter(|age| *age >= SAME_DECISION_DAYS);
    let done = r
        .recent_done
        .iter()
        .map(|t| now.days_since(*t))
        .filter(|age| *age >= 0.0);
    let ages = asked.chain(done);
    if iv.min_days_between > 0 {
        let limit = f64::from(iv.min_days_between);
        ages.into_iter().any(|age| age < limit)
    } else {
        let (mut today, mut yesterday) = (false, false);
        for age in ages {
            today |= age < 1.0;
            yesterday |= (1.0..2.0).contains(&age);
        }
        today && yesterday
    }
}

/// Well-being has levelled off below the recovery asymptote.
fn plateaued(model: &Model, state: &PersonState, now: Timestamp) -> bool {
    let Some((t0, _)) = state.outcome.first else {
        return false;
    };
    let Some(track) = state.variables.last() else {
        return false;
    };
    let level = track.level.unwrap_or(0.0);
    state.outcome.count >= PLATEAU_MIN_POINTS
        && now.days_since(t0) >= PLATEAU_MIN_DAYS
        && track.trend.per_week().abs() < PLATEAU_SLOPE
        && level < model.population().recovery.asymptote
}
