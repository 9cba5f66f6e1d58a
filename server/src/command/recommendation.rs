//! Commands of `tutti.v1.RecommendationService`.

use crate::config::TenantMode;
use crate::convert::{self, ids::PersonId, ids::RecommendationId};
use crate::error::Violations;
use crate::idempotency::Idempotency;
use crate::validate::{self, Ctx, MAX_MINUTES, MAX_RESULTS, MAX_TEXT_CHARS};
use tutti_engine::ids::{InterventionId, Timestamp};
use tutti_engine::observe::{ClinicianDecision, Completion, Context, Feedback, Rating};
use tutti_proto::v1 as pb;

/// Full method name of Recommend (its idempotency records are keyed by it).
pub const RECOMMEND: &str = "/tutti.v1.RecommendationService/Recommend";
/// Full method name of RecordFeedback.
pub const RECORD_FEEDBACK: &str = "/tutti.v1.RecommendationService/RecordFeedback";

/// Items a Recommend call gets when it asks for none.
pub const DEFAULT_RESULTS: u32 = 5;

/// Recommend.
#[derive(Debug, Clone)]
pub struct RecommendCommand {
    /// Idempotency key (also seeds exploration, so a replay explores alike).
    pub idem: Idempotency,
    /// For whom.
    pub person: PersonId,
    /// How many items.
    pub k: usize,
    /// The situation.
    pub context: Context,
    /// Interventions never to return.
    pub exclude: Vec<InterventionId>,
    /// Interventions to put first.
    pub pin: Vec<InterventionId>,
    /// The time the recommendation is for, when not now.
    pub request_time: Option<Timestamp>,
    /// The intervention the platform says it shows (either mode).
    pub platform: Option<InterventionId>,
    /// The tenant runs in shadow mode: the platform's choice is shown.
    pub shadow: bool,
}

impl RecommendCommand {
    /// Parses the request. `mode` is the tenant's: in shadow mode the
    /// platform's choice is required, because without the action the person
    /// was actually offered the decision cannot be evaluated, and a platform
    /// that does not send it may not know it is in shadow mode at all (an
    /// older client drops the response's `shadow` flag unread and would show
    /// the ranking).
    pub fn parse(
        req: &pb::RecommendRequest,
        mode: TenantMode,
        ctx: &Ctx<'_>,
    ) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let request_id = validate::request_id(&mut v, "request_id", &req.request_id);
        let person = validate::person_name(&mut v, "person", &req.person);
        if req.max_results > MAX_RESULTS {
            v.add(
                "max_results",
                format!("must be at most {MAX_RESULTS} (0 means 5)"),
            );
        }
        let mut context = Some(Context::default());
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
            context = validate::converted(&mut v, "", convert::context_from_pb(Some(c)));
        }
        let exclude = validate::id_list(
            &mut v,
            "exclude_intervention_ids",
            &req.exclude_intervention_ids,
            ctx,
        );
        let pin = validate::id_list(
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
        let request_time = validate::timestamp(
            &mut v,
            "request_time",
            req.request_time.as_ref(),
            false,
            ctx.now,
        );
        let platform = match (mode, req.platform_intervention_id.is_empty()) {
            (TenantMode::Shadow, true) => {
                v.add(
                    "platform_intervention_id",
                    "is required: the tenant runs in shadow mode, so name the intervention the platform shows",
                );
                None
            }
            (_, false) => validate::known_intervention(
                &mut v,
                "platform_intervention_id",
                &req.platform_intervention_id,
                ctx,
            ),
            (TenantMode::Live, true) => None,
        };
        v.finish(|| {
            Some(Self {
                idem: Idempotency::new(RECOMMEND, request_id?, req),
                person: person?,
                k: match req.max_results {
                    0 => DEFAULT_RESULTS,
                    n => n,
                } as usize,
                context: context?,
                exclude,
                pin,
                request_time,
                platform,
                shadow: mode == TenantMode::Shadow,
            })
        })
    }
}

/// RecordFeedback.
#[derive(Debug, Clone)]
pub struct RecordFeedbackCommand {
    /// Idempotency key.
    pub idem: Idempotency,
    /// The recommendation reported on.
    pub recommendation: RecommendationId,
    /// The report as sent: stored, with the id and time the server gives it.
    pub report: pb::Feedback,
    /// When it was observed, if the client said.
    pub observe_time: Option<Timestamp>,
    /// Whether the person did it.
    pub completion: Option<Completion>,
    /// The clinician's review.
    pub clinician: Option<ClinicianDecision>,
    /// Process ratings after the intervention.
    pub post_ratings: Vec<Rating>,
}

impl RecordFeedbackCommand {
    /// Parses the request (whether the recommendation exists is the
    /// handler's to find: `NOT_FOUND`).
    pub fn parse(req: &pb::RecordFeedbackRequest, ctx: &Ctx<'_>) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let request_id = validate::request_id(&mut v, "request_id", &req.request_id);
        let Some(f) = &req.feedback else {
            v.add("feedback", "is required");
            return Err(v);
        };
        let recommendation =
            validate::recommendation_id(&mut v, "feedback.recommendation_id", &f.recommendation_id);
        let completion = validate::converted(
            &mut v,
            "feedback",
            convert::completion_from_pb(f.completion, "completion"),
        );
        let has_completion = matches!(completion, Some(Some(_)));
        let clinician = match &f.clinician {
            None if !has_completion => {
                v.add(
                    "feedback",
                    "must report a completion or a clinician review (or both)",
                );
                None
            }
            None => Some(None),
            Some(c) => {
                let before = v.len();
                match pb::ClinicianDecision::try_from(c.decision) {
                    Ok(pb::ClinicianDecision::Overridden) => {
                        if c.replacement_intervention_id.is_empty() {
                            v.add(
                                "feedback.clinician.replacement_intervention_id",
                                "is required when the decision is OVERRIDDEN",
                            );
                        } else {
                            validate::known_intervention(
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
                validate::text(
                    &mut v,
                    "feedback.clinician.reason",
                    &c.reason,
                    MAX_TEXT_CHARS,
                    false,
                );
                (v.len() == before)
                    .then(|| {
                        validate::converted(
                            &mut v,
                            "feedback",
                            convert::clinician_from_pb(c, "clinician"),
                        )
                    })
                    .flatten()
                    .map(Some)
            }
        };
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
                && !validate::unit_scale(x)
            {
                v.add(field, "must be a finite number in [0, 100]");
            }
        }
        validate::text(
            &mut v,
            "feedback.barrier",
            &f.barrier,
            MAX_TEXT_CHARS,
            false,
        );
        let post_ratings = validate::ratings(&mut v, "feedback.post_ratings", &f.post_ratings, ctx);
        let observe_time = validate::timestamp(
            &mut v,
            "feedback.observe_time",
            f.observe_time.as_ref(),
            false,
            ctx.now,
        );
        v.finish(|| {
            Some(Self {
                idem: Idempotency::new(RECORD_FEEDBACK, request_id?, req),
                recommendation: recommendation?,
                report: f.clone(),
                observe_time,
                completion: completion?,
                clinician: clinician?,
                post_ratings: post_ratings?,
            })
        })
    }

    /// The report as the engine reads it, about the recommendation's
    /// intervention in its decision's context, observed at `at`.
    pub fn observation(
        &self,
        intervention: InterventionId,
        context: Context,
        at: Timestamp,
    ) -> Feedback {
        Feedback {
            intervention,
            at,
            completion: self.completion,
            minutes_spent: self.report.minutes_spent,
            helpfulness: self.report.helpfulness,
            distress_before: self.report.distress_before,
            distress_after: self.report.distress_after,
            post_ratings: self.post_ratings.clone(),
            clinician: self.clinician.clone(),
            context,
        }
    }
}
