//! The field rules every request is parsed with ([`crate::command`] applies
//! them, one parse per RPC). Each rule checks one field, records what is wrong
//! in [`Violations`] with its path (such as `assessment.ratings[2].adaptive`)
//! and yields the typed value when the field is good, so a request is read
//! once and nothing downstream parses it again. Descriptions say what is
//! expected; they never echo the submitted value (it may be health data).
//!
//! It must not build statuses (that is [`crate::error`]'s) or touch storage.

use crate::config::LimitsConfig;
use crate::convert::ids::{IdError, PersonId, RecommendationId, RequestId};
use crate::convert::{self, ConvertError, FromWire as _};
use crate::error::Violations;
use std::collections::HashSet;
use tutti_engine::Engine;
use tutti_engine::catalog::{Condition, Intervention};
use tutti_engine::ids::{InterventionId, ProcessId, Timestamp};
use tutti_engine::observe::{Assessment, Rating};
use tutti_proto::v1 as pb;

/// How far in the future a client clock may be.
pub const MAX_FUTURE_MS: i64 = 5 * 60 * 1000;
/// Free-text fields (reason, barrier, evidence).
pub const MAX_TEXT_CHARS: usize = 1000;
/// Display names.
pub const MAX_DISPLAY_NAME_CHARS: usize = 200;
/// Instructions.
pub const MAX_INSTRUCTIONS_CHARS: usize = 2000;
/// Process ratings in one assessment or feedback.
pub const MAX_RATINGS: usize = 64;
/// Excluded or pinned intervention ids.
pub const MAX_ID_LIST: usize = 100;
/// Targets of one intervention.
pub const MAX_TARGETS: usize = 16;
/// Minutes (available, spent, effort).
pub const MAX_MINUTES: u32 = 600;
/// Items one Recommend call may ask for.
pub const MAX_RESULTS: u32 = 20;
/// Page size bounds of ListInterventions.
pub const MAX_INTERVENTION_PAGE: u32 = 200;
/// Page size bounds of ListAssessments.
pub const MAX_ASSESSMENT_PAGE: u32 = 1000;
/// Days between two recommendations of one intervention.
pub const MAX_MIN_DAYS_BETWEEN: u32 = 365;
/// Prior effect bounds (well-being points), as the engine accepts.
pub const PRIOR_EFFECT_RANGE: (f64, f64) = (-20.0, 20.0);

/// What parsing needs to know beyond the request.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    /// Server time.
    pub now: Timestamp,
    /// The tenant's engine (its catalogues).
    pub engine: &'a Engine,
    /// Request limits.
    pub limits: &'a LimitsConfig,
}

/// `path.field`, or `field` at the top level.
pub fn join(path: &str, field: &str) -> String {
    if path.is_empty() || field.is_empty() {
        format!("{path}{field}")
    } else {
        format!("{path}.{field}")
    }
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// A finite number in [0, 100] (ratings, helpfulness, distress).
pub fn unit_scale(v: f64) -> bool {
    v.is_finite() && (0.0..=100.0).contains(&v)
}

fn id<T>(v: &mut Violations, field: &str, r: Result<T, IdError>) -> Option<T> {
    r.map_err(|e| v.add(field, e.to_string())).ok()
}

/// Records a conversion's failure at `path`.
pub fn converted<T>(v: &mut Violations, path: &str, r: Result<T, ConvertError>) -> Option<T> {
    r.map_err(|e| v.add(join(path, &e.field), e.reason)).ok()
}

/// Converts `wire` only if the checks since `before` violations found nothing:
/// the checks give the client every problem with its path, the conversion
/// (which cannot fail after them) gives the typed value.
fn convert_checked<T>(
    v: &mut Violations,
    before: usize,
    path: &str,
    convert: impl FnOnce() -> Result<T, ConvertError>,
) -> Option<T> {
    if v.len() > before {
        return None;
    }
    converted(v, path, convert())
}

// ---------------------------------------------------------------- fields

/// `request_id`: required, 1-64 of `[A-Za-z0-9_-]`.
pub fn request_id(v: &mut Violations, field: &str, s: &str) -> Option<RequestId> {
    id(v, field, RequestId::parse(s))
}

/// A resource name `people/{person_id}`.
pub fn person_name(v: &mut Violations, field: &str, s: &str) -> Option<PersonId> {
    id(v, field, PersonId::from_name(s))
}

/// A bare person id (CreatePerson).
pub fn person_id(v: &mut Violations, field: &str, s: &str) -> Option<PersonId> {
    id(v, field, PersonId::parse(s))
}

/// A recommendation id (server-generated; the client sends it back).
pub fn recommendation_id(v: &mut Violations, field: &str, s: &str) -> Option<RecommendationId> {
    id(v, field, RecommendationId::parse(s))
}

/// The contract's intervention id format: 1-64 of lowercase letters, digits and '-'.
pub fn is_intervention_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// What an intervention id must look like.
pub const INTERVENTION_ID: &str = "must be 1-64 of lowercase letters, digits and '-'";

/// An intervention id in the contract's format (the intervention may not exist).
pub fn intervention_id(v: &mut Violations, field: &str, id: &str) -> Option<InterventionId> {
    if is_intervention_id(id) {
        Some(InterventionId::from(id))
    } else {
        v.add(field, INTERVENTION_ID);
        None
    }
}

/// A reference to an intervention in the tenant's catalogue.
pub fn known_intervention(
    v: &mut Violations,
    field: &str,
    id: &str,
    ctx: &Ctx<'_>,
) -> Option<InterventionId> {
    let id = intervention_id(v, field, id)?;
    if ctx.engine.interventions().get(&id).is_none() {
        v.add(field, "is not an intervention in the catalogue");
        return None;
    }
    Some(id)
}

/// A timestamp: present if `required`, not before 1970, at most 5 minutes ahead.
/// `None` when absent (a violation only if required) or bad.
pub fn timestamp(
    v: &mut Violations,
    field: &str,
    ts: Option<&prost_types::Timestamp>,
    required: bool,
    now: Timestamp,
) -> Option<Timestamp> {
    let Some(ts) = ts else {
        if required {
            v.add(field, "is required");
        }
        return None;
    };
    match convert::timestamp_from_pb(ts, "") {
        Ok(t) if t.0 > now.0.saturating_add(MAX_FUTURE_MS) => {
            v.add(field, "must not be more than 5 minutes in the future");
            None
        }
        Ok(t) => Some(t),
        Err(e) => {
            v.add(field, e.reason);
            None
        }
    }
}

/// Process ratings: known process, each at most once, at least one pole, poles
/// finite and in [0, 100], at most [`MAX_RATINGS`].
pub fn ratings(
    v: &mut Violations,
    path: &str,
    ratings: &[pb::ProcessRating],
    ctx: &Ctx<'_>,
) -> Option<Vec<Rating>> {
    if ratings.len() > MAX_RATINGS {
        v.add(path, format!("must have at most {MAX_RATINGS} ratings"));
        return None;
    }
    let before = v.len();
    let mut seen = HashSet::new();
    for (i, r) in ratings.iter().enumerate() {
        let at = format!("{path}[{i}]");
        let pid = ProcessId::from(r.process_id.as_str());
        if r.process_id.is_empty() {
            v.add(join(&at, "process_id"), "is required");
        } else if ctx.engine.processes().get(&pid).is_none() {
            v.add(
                join(&at, "process_id"),
                "is not a process in the catalogue (see ListProcesses)",
            );
        } else if !seen.insert(r.process_id.as_str()) {
            v.add(join(&at, "process_id"), "appears more than once");
        }
        if r.adaptive.is_none() && r.maladaptive.is_none() {
            v.add(&at, "must rate at least one of adaptive and maladaptive");
        }
        for (pole, value) in [("adaptive", r.adaptive), ("maladaptive", r.maladaptive)] {
            if let Some(x) = value
                && !unit_scale(x)
            {
                v.add(join(&at, pole), "must be a finite number in [0, 100]");
            }
        }
    }
    convert_checked(v, before, path, || {
        ratings.iter().map(Rating::from_wire).collect()
    })
}

/// Outcome measures: instrument set, each at most once, score finite and in the
/// instrument's range.
pub fn outcomes(v: &mut Violations, path: &str, outcomes: &[pb::OutcomeMeasure]) {
    let mut seen = HashSet::new();
    for (i, o) in outcomes.iter().enumerate() {
        let at = format!("{path}[{i}]");
        match convert::instrument_from_pb(o.instrument, "instrument") {
            Ok(inst) => {
                if !seen.insert(o.instrument) {
                    v.add(join(&at, "instrument"), "appears more than once");
                }
                let (lo, hi) = inst.range();
                if !(o.score.is_finite() && (lo..=hi).contains(&o.score)) {
                    v.add(
                        join(&at, "score"),
                        format!("must be a finite number in [{lo}, {hi}] for this instrument"),
                    );
                }
            }
            Err(e) => {
                v.add(join(&at, "instrument"), e.reason);
                if !o.score.is_finite() {
                    v.add(join(&at, "score"), "must be a finite number");
                }
            }
        }
    }
}

/// One assessment, as the engine reads it.
pub fn assessment(
    v: &mut Violations,
    path: &str,
    a: &pb::Assessment,
    ctx: &Ctx<'_>,
) -> Option<Assessment> {
    let before = v.len();
    timestamp(
        v,
        &join(path, "observe_time"),
        a.observe_time.as_ref(),
        true,
        ctx.now,
    );
    ratings(v, &join(path, "ratings"), &a.ratings, ctx);
    outcomes(v, &join(path, "outcomes"), &a.outcomes);
    let mut seen = HashSet::new();
    for (i, &f) in a.risk_flags.iter().enumerate() {
        let at = format!("{}[{i}]", join(path, "risk_flags"));
        match convert::risk_flag_from_pb(f, "") {
            Ok(_) if !seen.insert(f) => v.add(at, "appears more than once"),
            Ok(_) => {}
            Err(e) => v.add(at, e.reason),
        }
    }
    if a.ratings.is_empty() && a.outcomes.is_empty() && a.risk_flags.is_empty() {
        v.add(
            path,
            "must contain at least one rating, outcome measure or risk flag",
        );
    }
    convert_checked(v, before, path, || Assessment::from_wire(a))
}

/// Standing conditions: each known and at most once; sorted.
pub fn conditions(v: &mut Violations, path: &str, values: &[i32]) -> Option<Vec<Condition>> {
    let before = v.len();
    let mut seen = HashSet::new();
    for (i, &c) in values.iter().enumerate() {
        let at = format!("{path}[{i}]");
        match convert::condition_from_pb(c, "") {
            Ok(_) if !seen.insert(c) => v.add(at, "appears more than once"),
            Ok(_) => {}
            Err(e) => v.add(at, e.reason),
        }
    }
    convert_checked(v, before, "", || convert::conditions_from_pb(values, path))
}

/// Free text: at most `max` characters, and not blank if `required`.
pub fn text(v: &mut Violations, field: &str, s: &str, max: usize, required: bool) {
    if required && s.trim().is_empty() {
        v.add(field, "is required");
    } else if chars(s) > max {
        v.add(field, format!("must be at most {max} characters"));
    }
}

/// A page size: 0 (the default) up to `max`.
pub fn page_size(v: &mut Violations, field: &str, size: u32, max: u32) {
    if size > max {
        v.add(
            field,
            format!("must be at most {max} (0 means the default)"),
        );
    }
}

/// All fields of an intervention except its id (checked by the caller, since
/// create and update treat it differently), as the engine's catalogue entry
/// (`built_in` on the wire is ignored).
pub fn intervention_fields(
    v: &mut Violations,
    path: &str,
    iv: &pb::Intervention,
    ctx: &Ctx<'_>,
) -> Option<Intervention> {
    let before = v.len();
    text(
        v,
        &join(path, "display_name"),
        &iv.display_name,
        MAX_DISPLAY_NAME_CHARS,
        true,
    );
    let family_ok = !iv.family.is_empty()
        && iv.family.len() <= 64
        && iv
            .family
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !family_ok {
        v.add(
            join(path, "family"),
            "must be 1-64 of lowercase letters, digits and '_'",
        );
    }
    text(
        v,
        &join(path, "instructions"),
        &iv.instructions,
        MAX_INSTRUCTIONS_CHARS,
        true,
    );
    text(
        v,
        &join(path, "evidence"),
        &iv.evidence,
        MAX_TEXT_CHARS,
        false,
    );
    let targets = join(path, "targets");
    if iv.targets.is_empty() {
        v.add(&targets, "must name at least one process");
    } else if iv.targets.len() > MAX_TARGETS {
        v.add(&targets, format!("must have at most {MAX_TARGETS} targets"));
    } else {
        let mut seen = HashSet::new();
        for (i, t) in iv.targets.iter().enumerate() {
            let at = format!("{targets}[{i}]");
            if ctx
                .engine
                .processes()
                .get(&ProcessId::from(t.process_id.as_str()))
                .is_none()
            {
                v.add(
                    join(&at, "process_id"),
                    "is not a process in the catalogue (see ListProcesses)",
                );
            } else if !seen.insert(t.process_id.as_str()) {
                v.add(join(&at, "process_id"), "appears more than once");
            }
            if !(t.weight.is_finite() && t.weight > 0.0 && t.weight <= 1.0) {
                v.add(join(&at, "weight"), "must be a finite number in (0, 1]");
            }
        }
    }
    if iv.effort_minutes == 0 || iv.effort_minutes > MAX_MINUTES {
        v.add(
            join(path, "effort_minutes"),
            format!("must be in 1..={MAX_MINUTES}"),
        );
    }
    match convert::modality_from_pb(iv.modality, "") {
        Ok(Some(_)) => {}
        Ok(None) => v.add(join(path, "modality"), "must be set"),
        Err(e) => v.add(join(path, "modality"), e.reason),
    }
    conditions(v, &join(path, "contraindications"), &iv.contraindications);
    if iv.min_days_between > MAX_MIN_DAYS_BETWEEN {
        v.add(
            join(path, "min_days_between"),
            format!("must be at most {MAX_MIN_DAYS_BETWEEN}"),
        );
    }
    let (lo, hi) = PRIOR_EFFECT_RANGE;
    if !(iv.prior_effect.is_finite() && (lo..=hi).contains(&iv.prior_effect)) {
        v.add(
            join(path, "prior_effect"),
            format!("must be a finite number in [{lo}, {hi}]"),
        );
    }
    convert_checked(v, before, path, || Intervention::from_wire(iv))
}

/// A list of intervention ids in the catalogue, each at most once, at most [`MAX_ID_LIST`].
pub fn id_list(
    v: &mut Violations,
    field: &str,
    ids: &[String],
    ctx: &Ctx<'_>,
) -> Vec<InterventionId> {
    if ids.len() > MAX_ID_LIST {
        v.add(field, format!("must have at most {MAX_ID_LIST} ids"));
        return Vec::new();
    }
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        let at = format!("{field}[{i}]");
        out.extend(known_intervention(v, &at, id, ctx));
        if !seen.insert(id.as_str()) {
            v.add(at, "appears more than once");
        }
    }
    out
}
