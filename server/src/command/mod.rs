//! One typed command per `tutti.v1` RPC, parsed once from its request.
//!
//! `XxxCommand::parse` applies the field rules of [`crate::validate`] to every
//! field, collects every violation (not just the first) into [`Violations`],
//! and, when there are none, yields the request as the types the rest of the
//! server works with: ids as newtypes, times as [`Timestamp`]s, observations
//! as the engine's types, and the idempotency key of a write
//! ([`Idempotency`]). The handlers in [`crate::service`] take these commands
//! and never look at a request field again.
//!
//! It must not read storage or the clock (time and the tenant's catalogue
//! come in through [`Ctx`]) or build statuses.
//!
//! [`Violations`]: crate::error::Violations
//! [`Timestamp`]: tutti_engine::ids::Timestamp
//! [`Idempotency`]: crate::idempotency::Idempotency
//! [`Ctx`]: crate::validate::Ctx

pub mod catalog;
pub mod people;
pub mod recommendation;

pub use catalog::{
    CreateInterventionCommand, GetInterventionCommand, ListInterventionsCommand,
    UpdateInterventionCommand,
};
pub use people::{
    CreatePersonCommand, DeletePersonCommand, GetPersonCommand, GetPersonInsightsCommand,
    IngestFhirCommand, ListAssessmentsCommand, NewAssessment, RecordAssessmentsCommand,
};
pub use recommendation::{RecommendCommand, RecordFeedbackCommand};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{LimitsConfig, TenantMode};
    use crate::convert;
    use crate::error::Violations;
    use crate::validate::{Ctx, MAX_FUTURE_MS};
    use std::sync::OnceLock;
    use tutti_engine::Engine;
    use tutti_engine::ids::Timestamp;
    use tutti_proto::v1 as pb;

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

    fn fields<T>(r: Result<T, Violations>) -> Vec<String> {
        match r {
            Err(v) => v.fields().map(str::to_owned).collect(),
            Ok(_) => vec![],
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
        assert!(validate_ok(RecordAssessmentsCommand::parse_one(
            record_req(good_assessment()),
            &ctx()
        )));
    }

    fn validate_ok<T>(r: Result<T, Violations>) -> bool {
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
        let got = fields(RecordAssessmentsCommand::parse_one(record_req(a), &ctx()));
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
        let got = fields(RecordAssessmentsCommand::parse_one(record_req(a), &ctx()));
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
            fields(RecordAssessmentsCommand::parse_one(
                record_req(a.clone()),
                &ctx()
            )),
            vec!["assessment.observe_time"]
        );
        a.observe_time = ts(NOW.0 + MAX_FUTURE_MS + 1);
        assert_eq!(
            fields(RecordAssessmentsCommand::parse_one(
                record_req(a.clone()),
                &ctx()
            )),
            vec!["assessment.observe_time"]
        );
        a.observe_time = ts(NOW.0 + MAX_FUTURE_MS);
        assert!(RecordAssessmentsCommand::parse_one(record_req(a.clone()), &ctx()).is_ok());
        a.observe_time = Some(prost_types::Timestamp {
            seconds: -5,
            nanos: 0,
        });
        assert_eq!(
            fields(RecordAssessmentsCommand::parse_one(record_req(a), &ctx())),
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
            fields(RecordAssessmentsCommand::parse_one(req, &ctx())),
            vec!["request_id", "person", "assessment"]
        );
        let long = pb::CreatePersonRequest {
            request_id: "x".repeat(65),
            person_id: "Ann Smith".into(),
            conditions: vec![0, 99, 1, 1],
        };
        assert_eq!(
            fields(CreatePersonCommand::parse(long)),
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
            fields(RecordAssessmentsCommand::parse_batch(req.clone(), &ctx())),
            vec!["assessments[1].ratings[0].adaptive"]
        );
        let empty = pb::BatchRecordAssessmentsRequest {
            assessments: vec![],
            ..req.clone()
        };
        assert_eq!(
            fields(RecordAssessmentsCommand::parse_batch(empty, &ctx())),
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
            fields(RecordAssessmentsCommand::parse_batch(req, &small)),
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
            fields(RecommendCommand::parse(&req, TenantMode::Live, &ctx())),
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
            assert!(fields(RecommendCommand::parse(&req(&known), mode, &ctx())).is_empty());
            assert_eq!(
                fields(RecommendCommand::parse(
                    &req("not-in-the-catalogue"),
                    mode,
                    &ctx()
                )),
                vec!["platform_intervention_id"]
            );
        }
        assert!(fields(RecommendCommand::parse(&req(""), TenantMode::Live, &ctx())).is_empty());
        assert_eq!(
            fields(RecommendCommand::parse(
                &req(""),
                TenantMode::Shadow,
                &ctx()
            )),
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
            fields(RecordFeedbackCommand::parse(&req(base.clone()), &ctx())),
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
            fields(RecordFeedbackCommand::parse(&req(overridden), &ctx())),
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
        assert!(RecordFeedbackCommand::parse(&req(done), &ctx()).is_ok());
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
            fields(CreateInterventionCommand::parse(&req, &ctx())),
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
            fields(UpdateInterventionCommand::parse(req)),
            vec!["update_mask.paths[1]", "update_mask.paths[2]"]
        );
    }

    #[test]
    fn a_good_recommend_parses_into_typed_values_keyed_by_the_request_as_sent() {
        let known = engine().interventions().all()[0].id.clone();
        let req = pb::RecommendRequest {
            request_id: "r".into(),
            person: "people/p".into(),
            context: Some(pb::RecommendationContext {
                minutes_available: 10,
                setting: pb::Setting::App as i32,
                capacity: None,
            }),
            exclude_intervention_ids: vec![known.to_string()],
            request_time: ts(NOW.0 - 1000),
            platform_intervention_id: known.to_string(),
            ..Default::default()
        };
        let cmd = RecommendCommand::parse(&req, TenantMode::Shadow, &ctx()).expect("valid");
        assert_eq!(cmd.person.as_str(), "p");
        assert_eq!(cmd.k, 5, "0 asks for the default");
        assert_eq!(cmd.context.minutes_available, Some(10));
        assert_eq!(cmd.exclude, vec![known.clone()]);
        assert_eq!(cmd.request_time, Some(Timestamp(NOW.0 - 1000)));
        assert_eq!(cmd.platform, Some(known));
        assert!(cmd.shadow);
        // Stored responses of earlier releases keep answering their retries.
        let as_sent = crate::idempotency::Idempotency::new(
            recommendation::RECOMMEND,
            cmd.idem.request_id.clone(),
            &req,
        );
        assert_eq!(cmd.idem.request_hash, as_sent.request_hash);
    }

    #[test]
    fn feedback_parses_into_the_engines_observation() {
        let req = pb::RecordFeedbackRequest {
            request_id: "f".into(),
            feedback: Some(pb::Feedback {
                recommendation_id: "0190-abc".into(),
                completion: pb::Completion::Partly as i32,
                helpfulness: Some(70.0),
                post_ratings: vec![pb::ProcessRating {
                    process_id: "affect".into(),
                    adaptive: Some(60.0),
                    maladaptive: None,
                }],
                ..Default::default()
            }),
        };
        let cmd = RecordFeedbackCommand::parse(&req, &ctx()).expect("valid");
        assert_eq!(cmd.recommendation.as_str(), "0190-abc");
        let iv = engine().interventions().all()[0].id.clone();
        let seen = cmd.observation(iv.clone(), Default::default(), NOW);
        assert_eq!(seen.intervention, iv);
        assert_eq!(seen.at, NOW);
        assert_eq!(
            seen.completion,
            Some(tutti_engine::observe::Completion::Partly)
        );
        assert_eq!(seen.helpfulness, Some(70.0));
        assert_eq!(seen.post_ratings.len(), 1);
    }

    #[test]
    fn a_batch_keeps_each_assessment_as_sent_beside_its_engine_form() {
        let req = pb::BatchRecordAssessmentsRequest {
            request_id: "b".into(),
            person: "people/p".into(),
            assessments: vec![good_assessment(), good_assessment()],
        };
        let cmd = RecordAssessmentsCommand::parse_batch(req, &ctx()).expect("valid");
        assert_eq!(cmd.assessments.len(), 2);
        assert_eq!(cmd.assessments[0].wire, good_assessment());
        assert_eq!(cmd.assessments[0].domain.at, Timestamp(NOW.0 - 1000));
    }
}
