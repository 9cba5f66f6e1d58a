//! Request validation. Every field of every request is checked here, before
//! anything is converted or stored, and *all* violations are collected (not
//! just the first) with field paths such as `assessment.ratings[2].adaptive`.
//!
//! [`Violations::into_status`] is the one helper that builds `INVALID_ARGUMENT`
//! with `google.rpc.BadRequest` field violations. Descriptions say what is
//! expected; they never echo the submitted value (it may be health data).

use crate::config::{LimitsConfig, TenantMode};
use crate::convert::ids::{IdError, PersonId, RecommendationId, RequestId};
use crate::convert::{self, ConvertError};
use crate::error::ServiceError;
use std::collections::HashSet;
use std::fmt;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation};
use tutti_engine::Engine;
use tutti_engine::ids::{InterventionId, ProcessId, Timestamp};
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

/// Violations listed in one status at most.
pub const MAX_REPORTED: usize = 50;

/// Field violations of one request, in the order found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Violations(Vec<(String, String)>);

impl Violations {
    /// No violations yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// One violation.
    pub fn single(field: impl Into<String>, description: impl Into<String>) -> Self {
        let mut v = Self::new();
        v.add(field, description);
        v
    }

    /// Records a violation of `field`.
    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push((field.into(), description.into()));
    }

    /// Records a violation unless `ok`.
    pub fn check(&mut self, ok: bool, field: impl FnOnce() -> String, description: &str) {
        if !ok {
            self.add(field(), description);
        }
    }

    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The violated field paths, in order.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(f, _)| f.as_str())
    }

    /// The violations as (field, description), in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(f, d)| (f.as_str(), d.as_str()))
    }

    /// `Ok` when there are none, else `INVALID_ARGUMENT` with all of them.
    pub fn finish(self) -> Result<(), ServiceError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(ServiceError::InvalidArgument(self))
        }
    }

    /// `INVALID_ARGUMENT` with a `google.rpc.BadRequest` detail listing the
    /// violations (the first [`MAX_REPORTED`], so a bad batch of thousands still
    /// fits in the status headers). The only code that builds this status.
    pub fn into_status(self) -> Status {
        let message = self.to_string();
        let total = self.0.len();
        let mut violations: Vec<FieldViolation> = self
            .0
            .into_iter()
            .take(MAX_REPORTED)
            .map(|(f, d)| FieldViolation::new(f, d))
            .collect();
        if total > MAX_REPORTED {
            violations.push(FieldViolation::new(
                "",
                format!("{} more violations not listed", total - MAX_REPORTED),
            ));
        }
        crate::error::status_with(
            Code::InvalidArgument,
            message,
            "INVALID_REQUEST",
            &[],
            ErrorDetails::with_bad_request(violations),
        )
    }
}

impl fmt::Display for Violations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 3;
        write!(f, "invalid request:")?;
        for (i, (field, d)) in self.0.iter().take(SHOWN).enumerate() {
            let sep = if i == 0 { " " } else { "; " };
            if field.is_empty() {
                write!(f, "{sep}{d}")?;
            } else {
                write!(f, "{sep}{field} {d}")?;
            }
        }
        if self.0.len() > SHOWN {
            write!(f, "; and {} more (see details)", self.0.len() - SHOWN)?;
        }
        Ok(())
    }
}

/// What validation needs to know beyond the request.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    /// Server time.
    pub now: Timestamp,
    /// The tenant's engine (its catalogues).
    pub engine: &'a Engine,
    /// Request limits.
    pub limits: &'a LimitsConfig,
}

fn join(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_owned()
    } else {
        format!("{path}.{field}")
    }
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

fn unit_scale(v: f64) -> bool {
    v.is_finite() && (0.0..=100.0).contains(&v)
}

fn record(v: &mut Violations, path: &str, r: Result<(), IdError>) {
    if let Err(e) = r {
        v.add(path, e.to_string());
    }
}

fn record_convert<T>(v: &mut Violations, path: &str, r: Result<T, ConvertError>) {
    if let Err(e) = r {
        v.add(join(path, &e.field), e.reason);
    }
}

// ---------------------------------------------------------------- fields

/// `request_id`: required, 1-64 of `[A-Za-z0-9_-]`.
pub fn request_id(v: &mut Violations, field: &str, s: &str) {
    record(v, field, RequestId::parse(s).map(drop));
}

/// A resource name `people/{person_id}`.
pub fn person_name(v: &mut Violations, field: &str, s: &str) {
    record(v, field, PersonId::from_name(s).map(drop));
}

/// The contract's intervention id format: 1-64 of lowercase letters, digits and '-'.
pub fn is_intervention_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

const INTERVENTION_ID: &str = "must be 1-64 of lowercase letters, digits and '-'";

/// A reference to an intervention in the tenant's catalogue.
pub fn known_intervention(v: &mut Violations, field: &str, id: &str, ctx: &Ctx<'_>) {
    if !is_intervention_id(id) {
        v.add(field, INTERVENTION_ID);
    } else if ctx
        .engine
        .interventions()
        .get(&InterventionId::from(id))
        .is_none()
    {
        v.add(field, "is not an intervention in the catalogue");
    }
}

/// A timestamp: present if `required`, not before 1970, at most 5 minutes ahead.
pub fn timestamp(
    v: &mut Violations,
    field: &str,
    ts: Option<&prost_types::Timestamp>,
    required: bool,
    now: Timestamp,
) {
    let Some(ts) = ts else {
        if required {
            v.add(field, "is required");
        }
        return;
    };
    match convert::timestamp_from_pb(ts, "") {
        Ok(t) if t.0 > now.0.saturating_add(MAX_FUTURE_MS) => {
            v.add(field, "must not be more than 5 minutes in the future");
        }
        Ok(_) => {}
        Err(e) => v.add(field, e.reason),
    }
}

/// Process ratings: known process, each at most once, at least one pole, poles
/// finite and in [0, 100], at most [`MAX_RATINGS`].
pub fn ratings(v: &mut Violations, path: &str, ratings: &[pb::ProcessRating], ctx: &Ctx<'_>) {
    if ratings.len() > MAX_RATINGS {
        v.add(path, format!("must have at most {MAX_RATINGS} ratings"));
        return;
    }
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

/// One assessment.
pub fn assessment(v: &mut Violations, path: &str, a: &pb::Assessment, ctx: &Ctx<'_>) {
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
}

fn conditions(v: &mut Violations, path: &str, values: &[i32]) {
    let mut seen = HashSet::new();
    for (i, &c) in values.iter().enumerate() {
        let at = format!("{path}[{i}]");
        match convert::condition_from_pb(c, "") {
            Ok(_) if !seen.insert(c) => v.add(at, "appears more than once"),
            Ok(_) => {}
            Err(e) => v.add(at, e.reason),
        }
    }
}

fn text(v: &mut Violations, field: &str, s: &str, max: usize, required: bool) {
    if required && s.trim().is_empty() {
        v.add(field, "is required");
    } else if chars(s) > max {
        v.add(field, format!("must be at most {max} characters"));
    }
}

fn page_size(v: &mut Violations, field: &str, size: u32, max: u32) {
    if size > max {
        v.add(
            field,
            format!("must be at most {max} (0 means the default)"),
        );
    }
}

fn new_intervention_id(v: &mut Violations, field: &str, id: &str) {
    if !is_intervention_id(id) {
        v.add(field, INTERVENTION_ID);
    }
}

/// All fields of an intervention except its id (checked by the caller, since
/// create and update treat it differently).
pub fn intervention_fields(v: &mut Violations, path: &str, iv: &pb::Intervention, ctx: &Ctx<'_>) {
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
}

// ---------------------------------------------------------------- requests

/// CreatePerson.
pub fn create_person(req: &pb::CreatePersonRequest) -> Result<(), ServiceError> {
    let mut v = Violations::new();
    request_id(&mut v, "request_id", &req.request_id);
    record(
        &mut v,
        "person_id",
        PersonId::parse(&req.person_id).map(drop),
    );
    conditions(&mut v, "conditions", &req.conditions);
    v.finish()
}

/// GetPerson.
pub fn get_person(req: &pb::GetPersonRequest) -> Result<(), ServiceError> {
    let mut v = Violations::new();
    person_name(&mut v, "name", &req.name);
    v.finish()
}

/// DeletePerson.
pub fn delete_person(req: &pb::DeletePersonRequest) -> Result<(), ServiceError> {
    let mut v = Violations::new();
    request_id(&mut v, "request_id", &req.request_id);
    person_name(&mut v, "name", &req.name);
    v.finish()
}

/// RecordAssessment.
pub fn record_assessment(
    req: &pb::RecordAssessmentRequest,
    ctx: &Ctx<'_>,
) -> Result<(), ServiceError> {
    let mut v = Violations::new();
    request_id(&mut v, "request_id", &req.request_id);
    person_name(&mut v, "person", &req.person);
    match &req.assessment {
        Some(a) => assessment(&mut v, "assessment", a, ctx),
        None => v.add("assessment", "is required"),
    }
    v.finish()
}

/// BatchRecordAssessments.
pub fn batch_record_assessments(
    req: &pb::BatchRecordAssessmentsRequest,
    ctx: &Ctx<'_>,
) -> Result<(), ServiceError> {
    let mut v = Violations::new();
    request_id(&mut v, "request_id", &req.request_id);
    person_name(&mut v, "person", &req.person);
    let max = ctx.limits.max_batch;
    if req.assessments.is_empty() || req.assessments.len() > max {
        v.add("assessments", format!("must hold 1 to {max} assessments"));
    } else {
        for (i, a) in req.assessments.iter().enumerate() {
            assessment(&mut v, &format!("assessments[{i}]"), a, ctx);
        }
    }
    v.finish()
}

/// ListAssessments (the page token is checked when it is decoded).
pub fn list_assessments(req: &pb::ListAssessmentsRequest) -> Result<(), ServiceError> {
    let mut v = Violations::new();
    person_name(&mut v, "person", &req.person);
    page_size(&mut v, "page_size", req.page_size, MAX_ASSESSMENT_PAGE);
    v.finish()
}

/// GetPersonInsights.
pub fn get_person_insights(req: &pb::GetPersonInsightsRequest) -> Result<(), ServiceError> {
    let mut v = Violations::new();
    person_name(&mut v, "person", &req.person);
    v.finish()
}

/// ListInterventions (the page token is checked when it is decoded).
pub fn list_interventions(
    req: &pb::ListInterventionsRequest,
    ctx: &Ctx<'_>,
) -> Result<(), ServiceError> {
    let mut v = Violations::new();
    page_size(&mut v, "page_size", req.page_size, MAX_INTERVENTION_PAGE);
    if !req.process_id.is_empty()
        && ctx
            .engine
            .processes()
            .get(&ProcessId::from(req.process_id.as_str()))
            .is_none()
    {
        v.add(
            "process_id",
            "is not a process in the catalogue (see ListProcesses)",
        );
    }
    record_convert(
        &mut v,
        "",
        convert::modality_from_pb(req.modality, "modality"),
    );
    if req.max_minutes > MAX_MINUTES {
        v.add(
            "max_minutes",
            format!("must be at most {MAX_MINUTES} (0 means any)"),
        );
    }
    v.finish()
}

/// GetIntervention (existence is checked by the handler: NOT_FOUND).
pub fn get_intervention(req: &pb::GetInterventionRequest) -> Result<(), ServiceError> {
    let mut v = Violations::new();
    if !is_intervention_id(&req.id) {
        v.add("id", INTERVENTION_ID);
    }
    v.finish()
}

/// CreateIntervention.
pub fn create_intervention(
    req: &pb::CreateInterventionRequest,
    ctx: &Ctx<'_>,
) -> Result<(), ServiceError> {
    let mut v = Violations::new();
    request_id(&mut v, "request_id", &req.request_id);
    match &req.intervention {
        Some(iv) => {
            new_intervention_id(&mut v, "intervention.id", &iv.id);
            intervention_fields(&mut v, "intervention", iv, ctx);
        }
        None => v.add("intervention", "is required"),
    }
    v.finish()
}

/// The fields UpdateIntervention may change (`update_mask` paths).
pub const UPDATABLE_FIELDS: &[&str] = &[
    "display_name",
    "family",
    "instructions",
    "targets",
    "effort_minutes",
    "modality",
    "requires_clinician",
    "contraindications",
    "min_days_between",
    "evidence",
    "prior_effect",
];

/// UpdateIntervention, before the stored intervention is read: ids and mask.
/// The merged result is checked with [`updated_intervention`].
pub fn update_intervention(req: &pb::UpdateInterventionRequest) -> Result<(), ServiceError> {
    let mut v = Violations::new();
    request_id(&mut v, "request_id", &req.request_id);
    match &req.intervention {
        Some(iv) if !is_intervention_id(&iv.id) => v.add("intervention.id", INTERVENTION_ID),
        Some(_) => {}
        None => v.add("intervention", "is required"),
    }
    if let Some(mask) = &req.update_mask {
        let mut seen = HashSet::new();
        for (i, p) in mask.paths.iter().enumerate() {
            let field = format!("update_mask.paths[{i}]");
            if !UPDATABLE_FIELDS.contains(&p.as_str()) {
                v.add(
                    field,
                    format!("must be one of: {}", UPDATABLE_FIELDS.join(", ")),
                );
            } else if !seen.insert(p.as_str()) {
                v.add(field, "appears more than once");
            }
        }
    }
    v.finish()
}

/// UpdateIntervention, after the mask is applied: the merged intervention.
pub fn updated_intervention(merged: &pb::Intervention, ctx: &Ctx<'_>) -> Result<(), ServiceError> {
    let mut v = Violations::new();
    intervention_fields(&mut v, "intervention", merged, ctx);
    v.finish()
}

fn id_list(v: &mut Violations, field: &str, ids: &[String], ctx: &Ctx<'_>) {
    if ids.len() > MAX_ID_LIST {
        v.add(field, format!("must have at most {MAX_ID_LIST} ids"));
        return;
    }
    let mut seen = HashSet::new();
    for (i, id) in ids.iter().enumerate() {
        let at = format!("{field}[{i}]");
        known_intervention(v, &at, id, ctx);
        if !seen.insert(id.as_str()) {
            v.add(at, "appears more than once");
        }
    }
}

/// Recommend. `mode` is the tenant's: in shadow mode the platform's choice is
/// required, because without the action the person was actually offered the
/// decision cannot be evaluated, and a platform that does not send it may not
/// know it is in shadow mode at all (an older client drops the response's
/// `shadow` flag unread and would show the ranking).
pub fn recommend(
    req: &pb::RecommendRequest,
    mode: TenantMode,
    ctx: &Ctx<'_>,
) -> Result<(), ServiceError> {
    let mut v = Violations::new();
    request_id(&mut v, "request_id", &req.request_id);
    person_name(&mut v, "person", &req.person);
    if req.max_results > MAX_RESULTS {
        v.add(
            "max_results",
            format!("must be at most {MAX_RESULTS} (0 means 5)"),
        );
    }
    if let Some(c) = &req.context {
        if c.minutes_available > MAX_MINUTES {
            v.add(
                "context.minutes_available",
                format!("must be at most {MAX_MINUTES} (0 means unknown)"),
            );
        }
        if let Some(cap) = c.capacity
            && !(cap.is_finite() && (0.0..=100.0).contains(&cap))
        {
            v.add("context.capacity", "must be within 0-100 when given");
        }
        record_convert(
            &mut v,
            "context",
            convert::setting_from_pb(c.setting, "setting"),
        );
    }
    id_list(
        &mut v,
        "exclude_intervention_ids",
        &req.exclude_intervention_ids,
        ctx,
    );
    id_list(
        &mut v,
        "pinned_intervention_ids",
        &req.pinned_intervention_ids,
        ctx,
    );
    for (i, id) in req.pinned_intervention_ids.iter().enumerate() {
        if req.exclude_intervention_ids.contains(id) {
            v.add(
                format!("pinned_intervention_ids[{i}]"),
                "must not also be excluded",
            );
        }
    }
    timestamp(
        &mut v,
        "request_time",
        req.request_time.as_ref(),
        false,
        ctx.now,
    );
    match (mode, req.platform_intervention_id.is_empty()) {
        (TenantMode::Shadow, true) => v.add(
            "platform_intervention_id",
            "is required: the tenant runs in shadow mode, so name the intervention the platform shows",
        ),
        (_, false) => known_intervention(
            &mut v,
            "platform_intervention_id",
            &req.platform_intervention_id,
            ctx,
        ),
        (TenantMode::Live, true) => {}
    }
    v.finish()
}

/// RecordFeedback (the recommendation's existence is checked by the handler: NOT_FOUND).
pub fn record_feedback(req: &pb::RecordFeedbackRequest, ctx: &Ctx<'_>) -> Result<(), ServiceError> {
    let mut v = Violations::new();
    request_id(&mut v, "request_id", &req.request_id);
    let Some(f) = &req.feedback else {
        v.add("feedback", "is required");
        return v.finish();
    };
    record(
        &mut v,
        "feedback.recommendation_id",
        RecommendationId::parse(&f.recommendation_id).map(drop),
    );
    let completion = convert::completion_from_pb(f.completion, "completion");
    record_convert(&mut v, "feedback", completion.clone());
    let has_completion = matches!(completion, Ok(Some(_)));
    match &f.clinician {
        None if !has_completion => v.add(
            "feedback",
            "must report a completion or a clinician review (or both)",
        ),
        None => {}
        Some(c) => {
            match pb::ClinicianDecision::try_from(c.decision) {
                Ok(pb::ClinicianDecision::Overridden) => {
                    if c.replacement_intervention_id.is_empty() {
                        v.add(
                            "feedback.clinician.replacement_intervention_id",
                            "is required when the decision is OVERRIDDEN",
                        );
                    } else {
                        known_intervention(
                            &mut v,
                            "feedback.clinician.replacement_intervention_id",
                            &c.replacement_intervention_id,
                            ctx,
                        );
                    }
                }
                Ok(pb::ClinicianDecision::Accepted | pb::ClinicianDecision::Rejected) => {
                    if !c.replacement_intervention_id.is_empty() {
                        v.add(
                            "feedback.clinician.replacement_intervention_id",
                            "must be empty unless the decision is OVERRIDDEN",
                        );
                    }
                }
                Ok(pb::ClinicianDecision::Unspecified) => {
                    v.add("feedback.clinician.decision", "must be set")
                }
                Err(_) => v.add("feedback.clinician.decision", "is not a known decision"),
            }
            text(
                &mut v,
                "feedback.clinician.reason",
                &c.reason,
                MAX_TEXT_CHARS,
                false,
            );
        }
    }
    if let Some(m) = f.minutes_spent
        && m > MAX_MINUTES
    {
        v.add(
            "feedback.minutes_spent",
            format!("must be at most {MAX_MINUTES}"),
        );
    }
    for (field, value) in [
        ("feedback.helpfulness", f.helpfulness),
        ("feedback.distress_before", f.distress_before),
        ("feedback.distress_after", f.distress_after),
    ] {
        if let Some(x) = value
            && !unit_scale(x)
        {
            v.add(field, "must be a finite number in [0, 100]");
        }
    }
    text(
        &mut v,
        "feedback.barrier",
        &f.barrier,
        MAX_TEXT_CHARS,
        false,
    );
    ratings(&mut v, "feedback.post_ratings", &f.post_ratings, ctx);
    timestamp(
        &mut v,
        "feedback.observe_time",
        f.observe_time.as_ref(),
        false,
        ctx.now,
    );
    v.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::OnceLock;
    use tonic_types::StatusExt as _;

    const NOW: Timestamp = Timestamp(1_750_000_000_000);

    fn engine() -> &'static Engine {
        static ENGINE: OnceLock<Engine> = OnceLock::new();
        ENGINE.get_or_init(Engine::with_defaults)
    }

    fn ctx() -> Ctx<'static> {
        static LIMITS: OnceLock<LimitsConfig> = OnceLock::new();
        Ctx {
            now: NOW,
            engine: engine(),
            limits: LIMITS.get_or_init(LimitsConfig::default),
        }
    }

    fn ts(ms: i64) -> Option<prost_types::Timestamp> {
        Some(convert::timestamp_to_pb(Timestamp(ms)))
    }

    fn good_assessment() -> pb::Assessment {
        pb::Assessment {
            id: String::new(),
            observe_time: ts(NOW.0 - 1000),
            ratings: vec![pb::ProcessRating {
                process_id: "affect".into(),
                adaptive: Some(40.0),
                maladaptive: Some(60.0),
            }],
            outcomes: vec![pb::OutcomeMeasure {
                instrument: pb::Instrument::Phq9 as i32,
                score: 10.0,
            }],
            risk_flags: vec![],
        }
    }

    fn fields(r: Result<(), ServiceError>) -> Vec<String> {
        match r {
            Err(ServiceError::InvalidArgument(v)) => v.fields().map(str::to_owned).collect(),
            Err(other) => panic!("expected InvalidArgument, got {other:?}"),
            Ok(()) => vec![],
        }
    }

    fn record_req(a: pb::Assessment) -> pb::RecordAssessmentRequest {
        pb::RecordAssessmentRequest {
            request_id: "r1".into(),
            person: "people/p1".into(),
            assessment: Some(a),
        }
    }

    #[test]
    fn a_good_assessment_passes() {
        assert!(validate_ok(record_assessment(
            &record_req(good_assessment()),
            &ctx()
        )));
    }

    fn validate_ok(r: Result<(), ServiceError>) -> bool {
        r.is_ok()
    }

    #[test]
    fn every_bad_rating_field_is_reported_with_its_path() {
        let mut a = good_assessment();
        a.ratings = vec![
            pb::ProcessRating {
                process_id: "affect".into(),
                adaptive: Some(40.0),
                maladaptive: None,
            },
            pb::ProcessRating {
                process_id: "nope".into(),
                adaptive: Some(101.0),
                maladaptive: Some(f64::NAN),
            },
            pb::ProcessRating {
                process_id: "affect".into(),
                adaptive: None,
                maladaptive: None,
            },
        ];
        let got = fields(record_assessment(&record_req(a), &ctx()));
        assert_eq!(
            got,
            vec![
                "assessment.ratings[1].process_id",
                "assessment.ratings[1].adaptive",
                "assessment.ratings[1].maladaptive",
                "assessment.ratings[2].process_id",
                "assessment.ratings[2]",
            ]
        );
    }

    #[test]
    fn outcomes_must_be_in_their_instruments_range_and_unique() {
        let mut a = good_assessment();
        a.outcomes = vec![
            pb::OutcomeMeasure {
                instrument: pb::Instrument::Phq9 as i32,
                score: 28.0,
            },
            pb::OutcomeMeasure {
                instrument: pb::Instrument::Phq9 as i32,
                score: 3.0,
            },
            pb::OutcomeMeasure {
                instrument: 0,
                score: 3.0,
            },
            pb::OutcomeMeasure {
                instrument: pb::Instrument::Oq45 as i32,
                score: 150.0,
            },
        ];
        let got = fields(record_assessment(&record_req(a), &ctx()));
        assert_eq!(
            got,
            vec![
                "assessment.outcomes[0].score",
                "assessment.outcomes[1].instrument",
                "assessment.outcomes[2].instrument",
            ]
        );
    }

    #[test]
    fn timestamps_are_required_and_not_in_the_future() {
        let mut a = good_assessment();
        a.observe_time = None;
        assert_eq!(
            fields(record_assessment(&record_req(a.clone()), &ctx())),
            vec!["assessment.observe_time"]
        );
        a.observe_time = ts(NOW.0 + MAX_FUTURE_MS + 1);
        assert_eq!(
            fields(record_assessment(&record_req(a.clone()), &ctx())),
            vec!["assessment.observe_time"]
        );
        a.observe_time = ts(NOW.0 + MAX_FUTURE_MS);
        assert!(record_assessment(&record_req(a.clone()), &ctx()).is_ok());
        a.observe_time = Some(prost_types::Timestamp {
            seconds: -5,
            nanos: 0,
        });
        assert_eq!(
            fields(record_assessment(&record_req(a), &ctx())),
            vec!["assessment.observe_time"]
        );
    }

    #[test]
    fn ids_and_names_are_checked() {
        let req = pb::RecordAssessmentRequest {
            request_id: String::new(),
            person: "persons/p1".into(),
            assessment: None,
        };
        assert_eq!(
            fields(record_assessment(&req, &ctx())),
            vec!["request_id", "person", "assessment"]
        );
        let long = pb::CreatePersonRequest {
            request_id: "x".repeat(65),
            person_id: "Ann Smith".into(),
            conditions: vec![0, 99, 1, 1],
        };
        assert_eq!(
            fields(create_person(&long)),
            vec![
                "request_id",
                "person_id",
                "conditions[0]",
                "conditions[1]",
                "conditions[3]"
            ]
        );
    }

    #[test]
    fn batches_are_bounded_and_every_item_is_checked() {
        let mut bad = good_assessment();
        bad.ratings[0].adaptive = Some(-1.0);
        let req = pb::BatchRecordAssessmentsRequest {
            request_id: "b".into(),
            person: "people/p".into(),
            assessments: vec![good_assessment(), bad],
        };
        assert_eq!(
            fields(batch_record_assessments(&req, &ctx())),
            vec!["assessments[1].ratings[0].adaptive"]
        );
        let empty = pb::BatchRecordAssessmentsRequest {
            assessments: vec![],
            ..req.clone()
        };
        assert_eq!(
            fields(batch_record_assessments(&empty, &ctx())),
            vec!["assessments"]
        );
        let limits = LimitsConfig {
            max_batch: 1,
            ..LimitsConfig::default()
        };
        let small = Ctx {
            limits: &limits,
            ..ctx()
        };
        assert_eq!(
            fields(batch_record_assessments(&req, &small)),
            vec!["assessments"]
        );
    }

    #[test]
    fn recommend_limits_are_enforced() {
        let known = engine().interventions().all()[0].id.to_string();
        let req = pb::RecommendRequest {
            request_id: "r".into(),
            person: "people/p".into(),
            max_results: 21,
            context: Some(pb::RecommendationContext {
                minutes_available: 601,
                setting: 42,
                capacity: Some(-1.0),
            }),
            exclude_intervention_ids: vec![known.clone(), "unknown-one".into()],
            pinned_intervention_ids: vec![known],
            request_time: ts(NOW.0 + MAX_FUTURE_MS * 2),
            platform_intervention_id: "Not An Id".into(),
        };
        assert_eq!(
            fields(recommend(&req, TenantMode::Live, &ctx())),
            vec![
                "max_results",
                "context.minutes_available",
                "context.capacity",
                "context.setting",
                "exclude_intervention_ids[1]",
                "pinned_intervention_ids[0]",
                "request_time",
                "platform_intervention_id",
            ]
        );
    }

    #[test]
    fn the_platform_choice_is_required_in_shadow_mode_and_must_be_in_the_catalogue() {
        let known = engine().interventions().all()[0].id.to_string();
        let req = |platform: &str| pb::RecommendRequest {
            request_id: "r".into(),
            person: "people/p".into(),
            platform_intervention_id: platform.into(),
            ..Default::default()
        };
        for mode in [TenantMode::Live, TenantMode::Shadow] {
            assert!(fields(recommend(&req(&known), mode, &ctx())).is_empty());
            assert_eq!(
                fields(recommend(&req("not-in-the-catalogue"), mode, &ctx())),
                vec!["platform_intervention_id"]
            );
        }
        assert!(fields(recommend(&req(""), TenantMode::Live, &ctx())).is_empty());
        assert_eq!(
            fields(recommend(&req(""), TenantMode::Shadow, &ctx())),
            vec!["platform_intervention_id"]
        );
    }

    #[test]
    fn feedback_needs_completion_or_review_and_overrides_need_a_replacement() {
        let base = pb::Feedback {
            recommendation_id: "0190-abc".into(),
            ..Default::default()
        };
        let req = |f: pb::Feedback| pb::RecordFeedbackRequest {
            request_id: "f".into(),
            feedback: Some(f),
        };
        assert_eq!(
            fields(record_feedback(&req(base.clone()), &ctx())),
            vec!["feedback"]
        );
        let overridden = pb::Feedback {
            clinician: Some(pb::ClinicianReview {
                decision: pb::ClinicianDecision::Overridden as i32,
                reason: "r".repeat(1001),
                replacement_intervention_id: String::new(),
            }),
            helpfulness: Some(f64::INFINITY),
            barrier: "b".repeat(1001),
            ..base.clone()
        };
        assert_eq!(
            fields(record_feedback(&req(overridden), &ctx())),
            vec![
                "feedback.clinician.replacement_intervention_id",
                "feedback.clinician.reason",
                "feedback.helpfulness",
                "feedback.barrier",
            ]
        );
        let done = pb::Feedback {
            completion: pb::Completion::Done as i32,
            minutes_spent: Some(10),
            ..base
        };
        assert!(record_feedback(&req(done), &ctx()).is_ok());
    }

    #[test]
    fn new_interventions_are_checked_field_by_field() {
        let req = pb::CreateInterventionRequest {
            request_id: "c".into(),
            intervention: Some(pb::Intervention {
                id: "Bad_Id".into(),
                display_name: String::new(),
                family: "Family".into(),
                instructions: "do it".into(),
                targets: vec![pb::ProcessTarget {
                    process_id: "affect".into(),
                    weight: 1.5,
                }],
                effort_minutes: 0,
                modality: 0,
                contraindications: vec![0],
                prior_effect: f64::NAN,
                ..Default::default()
            }),
        };
        assert_eq!(
            fields(create_intervention(&req, &ctx())),
            vec![
                "intervention.id",
                "intervention.display_name",
                "intervention.family",
                "intervention.targets[0].weight",
                "intervention.effort_minutes",
                "intervention.modality",
                "intervention.contraindications[0]",
                "intervention.prior_effect",
            ]
        );
    }

    #[test]
    fn update_masks_name_only_updatable_fields() {
        let req = pb::UpdateInterventionRequest {
            request_id: "u".into(),
            intervention: Some(pb::Intervention {
                id: "x".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["display_name".into(), "id".into(), "display_name".into()],
            }),
        };
        assert_eq!(
            fields(update_intervention(&req)),
            vec!["update_mask.paths[1]", "update_mask.paths[2]"]
        );
    }

    #[test]
    fn the_status_carries_every_violation_as_bad_request() {
        let mut v = Violations::new();
        v.add("a.b[0]", "must be set");
        v.add("c", "is required");
        let status = v.into_status();
        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        let bad = details.bad_request().expect("BadRequest detail");
        let got: Vec<_> = bad
            .field_violations
            .iter()
            .map(|f| (f.field.as_str(), f.description.as_str()))
            .collect();
        assert_eq!(got, vec![("a.b[0]", "must be set"), ("c", "is required")]);
    }
}
