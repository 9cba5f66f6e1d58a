//! Folding what the engine is told into a person's state: assessments,
//! recommendations shown and feedback. Every update is incremental (`O(d²)`
//! at most, no estimation), validates what its maths depends on before it
//! touches the state, and leaves the state unchanged when it refuses.
//!
//! # Assessments
//! Missing poles are imputed from the person's smoothed level (else the
//! population mean). The complete vector feeds the lagged network (insights)
//! when the previous assessment is at most `max_gap_days` old, and, when the
//! assessment carries an outcome, the process map ([`crate::map`]) with the
//! previous assessment's pole contrasts as lags. An assessment older than the
//! latest is counted but not folded in: the state is a forward filter, and the
//! server rebuilds it by replaying events in time order when late data matter.
//!
//! # Feedback
//! Completion updates follow-through ([`crate::follow`]). What was done
//! (fully or partly; `θ` is the gain *when done*, so a skipped exercise is
//! follow-through's business only) yields benefit evidence
//! ([`crate::state::ItemEvidence`]):
//! - the helpfulness rating, kept raw; the person's rating level and the
//!   rating's scale are applied by [`crate::benefit`];
//! - the change of the targeted processes' post ratings against the person's
//!   smoothed level, mapped to well-being through the person's current map,
//!   with a variance that propagates rating noise and the map's uncertainty;
//!   the map's error is shared by every such signal on the intervention, so
//!   the k-th one counts 1/k;
//! - the change of well-being at the next assessment within 7 days, against
//!   the smoothed level when the feedback came, split between the
//!   interventions done in between (`outcome_change_sd`: everything else in a
//!   life moves well-being too).
//!
//! SUDS before/after is kept in the event log for research but not used:
//! within-session distress reduction does not track outcome well
//! (inhibitory-learning accounts of exposure). Clinician decisions are
//! counted and demote an item at ranking time.

use crate::benefit;
use crate::catalog::Intervention;
use crate::error::{EngineError, Result};
use crate::follow::{self, Situation};
use crate::ids::{InterventionId, Timestamp};
use crate::model::Model;
use crate::network;
use crate::observe::{Assessment, ClinicianDecision, Completion, Feedback, Rating};
use crate::state::{
    HeldRow, InterventionRecord, PENDING_KEPT, PendingOutcome, PersonState, push_recent,
};

/// Days after feedback within which the next outcome counts as its result.
const OUTCOME_LINK_DAYS: f64 = 7.0;
/// Assessments at most this far apart (milliseconds) are parts of one
/// occasion when one has the ratings and the other the outcome.
const OCCASION_MS: i64 = 60 * 60 * 1000;

/// Checks that the state was built for this model's process set and sizes.
pub(crate) fn check_state(model: &Model, state: &PersonState) -> Result<()> {
    let same_layout = state.layout.len() == model.processes.len()
        && state
            .layout
            .iter()
            .zip(model.processes.all())
            .all(|(a, b)| *a == b.id);
    if !same_layout {
        return Err(EngineError::IncompatibleState(
            "the person's state was built for a different process set; rebuild it by replaying their events".into(),
        ));
    }
    let d = model.variables();
    if state.variables.len() != d
        || state.network.dim() != d
        || !state.network.is_consistent()
        || state.map.processes() != model.processes.len()
        || !state.map.is_consistent()
        || !(state.last_values.is_empty() || state.last_values.len() == d)
    {
        return Err(EngineError::IncompatibleState(
            "the person's state has inconsistent sizes".into(),
        ));
    }
    Ok(())
}

fn process_index(model: &Model, r: &Rating) -> Result<usize> {
    model
        .processes
        .index_of(&r.process)
        .ok_or_else(|| EngineError::UnknownProcess(r.process.to_string()))
}

fn check_rating(model: &Model, r: &Rating) -> Result<()> {
    process_index(model, r)?;
    for v in [r.adaptive, r.maladaptive].into_iter().flatten() {
        if !(v.is_finite() && (0.0..=100.0).contains(&v)) {
            return Err(EngineError::InvalidObservation(format!(
                "rating {v} for `{}` is outside 0-100",
                r.process
            )));
        }
    }
    Ok(())
}

pub(crate) fn known<'m>(model: &'m Model, id: &InterventionId) -> Result<&'m Intervention> {
    model
        .interventions
        .get(id)
        .ok_or_else(|| EngineError::UnknownIntervention(id.to_string()))
}

fn record<'s>(
    model: &Model,
    state: &'s mut PersonState,
    id: &InterventionId,
) -> &'s mut InterventionRecord {
    let sd = model.population.follow.item_sd;
    state
        .interventions
        .entry(id.clone())
        .or_insert_with(|| InterventionRecord::new(sd))
}

/// Folds one assessment into the person's state.
pub(crate) fn observe_assessment(
    model: &Model,
    state: &mut PersonState,
    assessment: &Assessment,
) -> Result<()> {
    check_state(model, state)?;
    for r in &assessment.ratings {
        check_rating(model, r)?;
    }
    for o in &assessment.outcomes {
        let (lo, hi) = o.instrument.range();
        if !(o.score.is_finite() && (lo..=hi).contains(&o.score)) {
            return Err(EngineError::InvalidObservation(format!(
                "{:?} score {} is outside {lo}-{hi}",
                o.instrument, o.score
            )));
        }
    }
    if state.last_at.is_some_and(|last| assessment.at < last) {
        state.assessments += 1;
        return Ok(());
    }
    let config = &model.config;
    let d = state.variables.len();
    let p = model.processes.len();
    let out = network::outcome(d);
    let smoothed = benefit::levels(model, state);
    let mut values = smoothed.clone();
    let mut observed = vec![false; d];
    for r in &assessment.ratings {
        let q = process_index(model, r)?;
        if let Some(a) = r.adaptive {
            values[network::adaptive(q)] = a;
            observed[network::adaptive(q)] = true;
        }
        if let Some(m) = r.maladaptive {
            values[network::maladaptive(q)] = m;
            observed[network::maladaptive(q)] = true;
        }
    }
    let wellbeing = (!assessment.outcomes.is_empty()).then(|| {
        assessment
            .outcomes
            .iter()
            .map(|o| o.instrument.to_wellbeing(o.score))
            .sum::<f64>()
            / assessment.outcomes.len() as f64
    });
    if let Some(w) = wellbeing {
        values[out] = w;
        observed[out] = true;
        resolve_pending(model, state, assessment.at, w);
    }

    let paired = state.last_at.is_some_and(|last| {
        state.last_values.len() == d && assessment.at.days_since(last) <= config.max_gap_days
    });
    if paired {
        state.network.push(&state.last_values, &values);
    }
    // One occasion sent in parts: platforms whose check-ins and
    // questionnaires are separate instruments (or FHIR resources) send the
    // ratings and the outcome apart, minutes from each other. A row of the
    // map needs both, so the parts are joined: an outcome just after ratings
    // takes them (not the smoothed levels, which lag the ratings), and an
    // outcome without ratings is held for ratings that follow within the
    // hour (written on its own, as before, when none come). Measured on
    // `individual` with the parts 5 minutes apart: captured share 0.34
    // (outcome after) and 0.22 (outcome first) against 0.36 together.
    let rated = observed[..2 * p].iter().any(|&o| o);
    let same_occasion =
        |earlier: Timestamp| assessment.at.0.saturating_sub(earlier.0) <= OCCASION_MS;
    let contrasts = |source: &[f64]| -> Vec<f64> {
        (0..p)
            .map(|q| source[network::adaptive(q)] - source[network::maladaptive(q)])
            .collect()
    };
    if let Some(held) = state.held_row.take() {
        let joined = rated && wellbeing.is_none() && same_occasion(held.at);
        let poles = if joined {
            &values[..2 * p]
        } else {
            &held.poles[..]
        };
        state.map.push(
            poles,
            &held.lag,
            held.wellbeing,
            held.at,
            config.map_half_life_days,
        );
    }
    if let Some(w) = wellbeing {
        let after_ratings = !rated
            && state.last_rated
            && state.last_values.len() == d
            && state.last_at.is_some_and(same_occasion);
        // Lags: the previous occasion's contrasts when it was recent, else
        // the person's smoothed contrasts (mean imputation). The part sent
        // just before is this occasion, not the one before it.
        let lag = if paired && !after_ratings {
            contrasts(&state.last_values)
        } else {
            contrasts(&smoothed)
        };
        if after_ratings {
            values[..2 * p].copy_from_slice(&state.last_values[..2 * p]);
        }
        if rated || after_ratings {
            state.map.push(
                &values[..2 * p],
                &lag,
                w,
                assessment.at,
                config.map_half_life_days,
            );
        } else {
            state.held_row = Some(HeldRow {
                at: assessment.at,
                poles: values[..2 * p].to_vec(),
                lag,
                wellbeing: w,
            });
        }
    }
    state.last_rated = rated;

    let origin = *state.first_at.get_or_insert(assessment.at);
    for (i, track) in state.variables.iter_mut().enumerate() {
        if observed[i] {
            track.observe(
                values[i],
                assessment.at,
                origin,
                config.level_half_life_days,
                config.trend_half_life_days,
            );
        }
    }
    if let Some(w) = wellbeing {
        state.outcome.observe(assessment.at, w);
    }
    state.last_values = values;
    state.last_at = Some(assessment.at);
    state.assessments += 1;
    state.changed();
    let mut flags = assessment.risk_flags.clone();
    flags.sort_by_key(|f| *f as u8);
    flags.dedup();
    state.risk_flags = flags;
    Ok(())
}

/// Remembers that an intervention was recommended (dose limits, habituation).
pub(crate) fn observe_recommendation(
    model: &Model,
    state: &mut PersonState,
    intervention: &InterventionId,
    at: Timestamp,
) -> Result<()> {
    check_state(model, state)?;
    known(model, intervention)?;
    let r = record(model, state, intervention);
    r.recommended += 1;
    push_recent(&mut r.recent_recommended, at);
    Ok(())
}

/// Folds feedback on an intervention into the person's state.
pub(crate) fn observe_feedback(
    model: &Model,
    state: &mut PersonState,
    feedback: &Feedback,
) -> Result<()> {
    check_state(model, state)?;
    let iv = known(model, &feedback.intervention)?;
    let unit = |name: &str, v: Option<f64>| match v {
        Some(x) if !(x.is_finite() && (0.0..=100.0).contains(&x)) => Err(
            EngineError::InvalidObservation(format!("{name} {x} is outside 0-100")),
        ),
        _ => Ok(()),
    };
    unit("helpfulness", feedback.helpfulness)?;
    unit("distress_before", feedback.distress_before)?;
    unit("distress_after", feedback.distress_after)?;
    if let Some(c) = feedback.context.capacity {
        unit("capacity", Some(c))?;
    }
    for r in &feedback.post_ratings {
        check_rating(model, r)?;
    }
    if let Some(ClinicianDecision::Overridden {
        replacement: Some(rep),
    }) = &feedback.clinician
    {
        known(model, rep)?;
    }

    let prior = &model.population.follow;
    let sit = Situation::of(iv, &feedback.context, prior, feedback.at);
    let dose = match feedback.completion {
        Some(Completion::Done) => 1.0,
        Some(Completion::Partly) => 0.5,
        Some(Completion::NotDone) => 0.0,
        // A clinician-only report with a helpfulness rating: something was done.
        None if feedback.helpfulness.is_some() => 1.0,
        None => 0.0,
    };
    let change = if dose > 0.0 {
        process_change(model, state, iv, feedback)?
    } else {
        None
    };
    let baseline = state.wellbeing();
    // Before this dose joins the memory: the share it could still give.
    let exposure = if dose > 0.0 && feedback.helpfulness.is_some() {
        model
            .interventions
            .index_of(&feedback.intervention)
            .map_or(dose, |pos| {
                dose * crate::habituation::Memory::at(model, state, feedback.at)
                    .multiplier(model, pos)
            })
    } else {
        dose
    };

    let mut person = state.follow.clone();
    {
        let r = record(model, state, &feedback.intervention);
        if let Some(c) = feedback.completion {
            follow::update(
                prior,
                &mut person,
                &mut r.follow,
                &sit,
                follow::completion_score(c),
            );
            match c {
                Completion::Done => r.done += 1,
                Completion::Partly => r.partly += 1,
                Completion::NotDone => r.not_done += 1,
            }
            if c != Completion::NotDone {
                push_recent(&mut r.recent_done, feedback.at);
            }
        }
        if dose > 0.0 {
            if let Some(h) = feedback.helpfulness {
                r.helpfulness_sum += h;
                r.helpfulness_n += 1;
                r.last_helpfulness = Some(h);
                r.evidence.add_rating(h, dose, exposure);
            }
            if let Some((v, var)) = change {
                // The map's error is common to every process-change signal on
                // this intervention: the k-th counts 1/k as much, so their
                // total weight grows like log k, not k.
                let k = f64::from(r.evidence.process_signals + 1);
                r.evidence.add_signal(v, var * k, dose);
                r.evidence.process_signals += 1;
            }
        }
        match &feedback.clinician {
            Some(ClinicianDecision::Accepted) => r.clinician_accepted += 1,
            Some(ClinicianDecision::Overridden { .. } | ClinicianDecision::Rejected) => {
                r.clinician_declined += 1
            }
            None => {}
        }
    }
    if let Some(c) = feedback.completion {
        person.reported += 1;
        match c {
            Completion::Done => person.done += 1,
            Completion::Partly => person.partly += 1,
            Completion::NotDone => {}
        }
    }
    state.follow = person;
    if let Some(ClinicianDecision::Overridden {
        replacement: Some(rep),
    }) = &feedback.clinician
    {
        let r = record(model, state, rep);
        r.recommended += 1;
        push_recent(&mut r.recent_recommended, feedback.at);
    }
    if dose > 0.0
        && let Some(b) = baseline
    {
        state.pending.push(PendingOutcome {
            intervention: feedback.intervention.clone(),
            at: feedback.at,
            baseline: b,
            dose,
        });
        if state.pending.len() > PENDING_KEPT {
            state.pending.remove(0);
        }
    }
    // Post ratings are real observations of the processes.
    if !feedback.post_ratings.is_empty() && state.last_at.is_none_or(|l| feedback.at >= l) {
        let config = &model.config;
        let origin = *state.first_at.get_or_insert(feedback.at);
        for r in &feedback.post_ratings {
            let q = process_index(model, r)?;
            for (i, v) in [
                (network::adaptive(q), r.adaptive),
                (network::maladaptive(q), r.maladaptive),
            ] {
                if let Some(v) = v {
                    state.variables[i].observe(
                        v,
                        feedback.at,
                        origin,
                        config.level_half_life_days,
                        config.trend_half_life_days,
                    );
                }
            }
        }
    }
    state.changed();
    Ok(())
}

/// The process-change signal of a done intervention: post ratings of its
/// targeted processes against the smoothed levels before, through the
/// person's current map. `(value, variance)` in well-being points.
fn process_change(
    model: &Model,
    state: &PersonState,
    iv: &Intervention,
    feedback: &Feedback,
) -> Result<Option<(f64, f64)>> {
    if feedback.post_ratings.is_empty() {
        return Ok(None);
    }
    let r = &model.population.response;
    // The map's pole coefficients as of now (not a cached posterior, which
    // may be older: the signal must not depend on when the caller refreshed).
    let np = 2 * model.processes.len();
    let fit = crate::map::fit(&state.map, &model.population.map);
    let k = fit.coef.len();
    let poles = &fit.coef[..np];
    let poles_var: Vec<f64> = (0..np).map(|i| fit.cov[i * k + i]).collect();
    // Rating noise through the map, plus the map's own uncertainty times the
    // size of the change: an uncertain map makes a large change weak evidence.
    let (mut value, mut var, mut any) = (0.0, 0.0, false);
    for rating in &feedback.post_ratings {
        if !iv.targets.iter().any(|t| t.process == rating.process) {
            continue;
        }
        let q = process_index(model, rating)?;
        for (i, v) in [
            (network::adaptive(q), rating.adaptive),
            (network::maladaptive(q), rating.maladaptive),
        ] {
            if let (Some(v), Some(level)) = (v, state.variables[i].level) {
                let change = v - level;
                value += poles[i] * change;
                var += poles[i] * poles[i] * r.rating_noise_sd.powi(2)
                    + change * change * poles_var[i];
                any = true;
            }
        }
    }
    if !any {
        return Ok(None);
    }
    Ok(Some((value, var.max(r.process_change_min_sd.powi(2)))))
}

/// Turns interventions awaiting an outcome into outcome-change signals.
fn resolve_pending(model: &Model, state: &mut PersonState, at: Timestamp, wellbeing: f64) {
    let pending = std::mem::take(&mut state.pending);
    let (due, keep): (Vec<_>, Vec<_>) = pending
        .into_iter()
        .filter(|p| at.days_since(p.at) <= OUTCOME_LINK_DAYS)
        .partition(|p| at > p.at);
    state.pending = keep;
    let share = due.len() as f64;
    let var = model.population.response.outcome_change_sd.powi(2) * share;
    for p in due {
        let r = record(model, state, &p.intervention);
        r.evidence.add_signal(wellbeing - p.baseline, var, p.dose);
    }
}
