//! Behaviour: every rule stated in the `tutti.v1` proto comments rejects a
//! request with INVALID_ARGUMENT carrying a `google.rpc.BadRequest` field
//! violation for the offending field (paths from the request root, e.g.
//! `assessment.ratings[0].adaptive`), and a rejected request stores nothing.
//! Values at the edges of each range are accepted.
//!
//! Each test walks a table of cases, each breaking one field of a valid request.

use std::time::Duration;
use tonic::Code;
use tutti_proto::v1::{
    Assessment, BatchRecordAssessmentsRequest, ClinicianDecision, ClinicianReview, Completion,
    Condition, CreateInterventionRequest, CreatePersonRequest, DeletePersonRequest, Feedback,
    GetInterventionRequest, GetPersonInsightsRequest, GetPersonRequest, Instrument,
    ListAssessmentsRequest, ListInterventionsRequest, RecommendRequest, RecommendationContext,
    RecordAssessmentRequest, RecordFeedbackRequest, RiskFlag, UpdateInterventionRequest,
};
use tutti_tests::TestServer;
use tutti_tests::assertions::{expect_code, expect_invalid_field};
use tutti_tests::fixtures::{
    assessment_series, create_intervention, feedback, from_now, get_person, hours_ago,
    new_intervention_id, new_person, new_person_id, now, outcome, person_name, rating, recommend,
    recommend_request, record_assessment, record_feedback, rid, ts, valid_assessment,
    valid_intervention,
};

async fn start() -> TestServer {
    TestServer::start().await.expect("server starts")
}

/// A copy of `base` changed by `change`, labelled, with the field it breaks.
fn case<T: Clone>(
    label: &'static str,
    field: &'static str,
    base: &T,
    change: impl FnOnce(&mut T),
) -> (&'static str, &'static str, T) {
    let mut r = base.clone();
    change(&mut r);
    (label, field, r)
}

/// Ids that break "1-64 of [A-Za-z0-9_-]".
fn bad_ids() -> Vec<(&'static str, String)> {
    vec![
        ("empty", String::new()),
        ("65 characters", "a".repeat(65)),
        ("a space", "has space".to_owned()),
        ("a slash", "a/b".to_owned()),
        ("an e-mail", "jane@example.com".to_owned()),
        ("non-ASCII", "jürgen".to_owned()),
    ]
}

fn ten_minutes_ahead() -> prost_types::Timestamp {
    ts(from_now(Duration::from_secs(600)))
}

#[tokio::test]
async fn create_person_rejects_each_invalid_field_and_stores_nothing() {
    let server = start().await;
    let mut people = server.people();
    let base = CreatePersonRequest {
        request_id: rid(),
        person_id: new_person_id(),
        conditions: vec![Condition::TraumaHistory as i32],
    };
    let mut cases = vec![
        case("condition unspecified", "conditions[0]", &base, |r| {
            r.conditions = vec![0]
        }),
        case("unknown condition", "conditions[1]", &base, |r| {
            r.conditions.push(999)
        }),
        case("condition twice", "conditions[1]", &base, |r| {
            r.conditions.push(Condition::TraumaHistory as i32)
        }),
    ];
    for (label, bad) in bad_ids() {
        let b = bad.clone();
        cases.push(case(label, "request_id", &base, move |r| r.request_id = b));
        cases.push(case(label, "person_id", &base, move |r| r.person_id = bad));
    }
    for (label, field, mut req) in cases {
        if field != "person_id" {
            req.person_id = new_person_id();
        }
        req.request_id = if field == "request_id" {
            req.request_id
        } else {
            rid()
        };
        let person_id = req.person_id.clone();
        let result = people.create_person(req).await;
        expect_invalid_field(
            result,
            field,
            &format!("CreatePerson with {field}: {label}"),
        );
        if field != "person_id" {
            let got = people
                .get_person(GetPersonRequest {
                    name: person_name(&person_id),
                })
                .await;
            expect_code(
                got,
                Code::NotFound,
                &format!("person stored despite {field}: {label}"),
            );
        }
    }
}

#[tokio::test]
async fn malformed_person_names_are_rejected() {
    let server = start().await;
    let mut people = server.people();
    let bad_names = [
        "",
        "p-123",
        "persons/p-123",
        "people/",
        "people/has space",
        "people/a/b",
        "/people/p-123",
    ];
    let person = new_person(&mut people).await;
    for name in bad_names {
        let what = format!("name {name:?}");
        expect_invalid_field(
            people
                .get_person(GetPersonRequest {
                    name: name.to_owned(),
                })
                .await,
            "name",
            &format!("GetPerson {what}"),
        );
        expect_invalid_field(
            people
                .delete_person(DeletePersonRequest {
                    request_id: rid(),
                    name: name.to_owned(),
                })
                .await,
            "name",
            &format!("DeletePerson {what}"),
        );
        expect_invalid_field(
            people
                .record_assessment(RecordAssessmentRequest {
                    request_id: rid(),
                    person: name.to_owned(),
                    assessment: Some(valid_assessment(hours_ago(1))),
                })
                .await,
            "person",
            &format!("RecordAssessment {what}"),
        );
        expect_invalid_field(
            people
                .batch_record_assessments(BatchRecordAssessmentsRequest {
                    request_id: rid(),
                    person: name.to_owned(),
                    assessments: vec![valid_assessment(hours_ago(1))],
                })
                .await,
            "person",
            &format!("BatchRecordAssessments {what}"),
        );
        expect_invalid_field(
            people
                .list_assessments(ListAssessmentsRequest {
                    person: name.to_owned(),
                    page_size: 0,
                    page_token: String::new(),
                })
                .await,
            "person",
            &format!("ListAssessments {what}"),
        );
        expect_invalid_field(
            people
                .get_person_insights(GetPersonInsightsRequest {
                    person: name.to_owned(),
                })
                .await,
            "person",
            &format!("GetPersonInsights {what}"),
        );
        let mut rec = recommend_request(name);
        rec.person = name.to_owned();
        expect_invalid_field(
            server.recommendations().recommend(rec).await,
            "person",
            &format!("Recommend {what}"),
        );
    }
    assert_eq!(get_person(&mut people, &person).await.assessment_count, 0);
}

#[tokio::test]
async fn delete_person_with_an_invalid_request_id_is_rejected_and_deletes_nothing() {
    let server = start().await;
    let mut people = server.people();
    let person = new_person(&mut people).await;
    for (label, bad) in bad_ids() {
        let result = people
            .delete_person(DeletePersonRequest {
                request_id: bad,
                name: person.clone(),
            })
            .await;
        expect_invalid_field(
            result,
            "request_id",
            &format!("DeletePerson request_id {label}"),
        );
        get_person(&mut people, &person).await;
    }
}

fn assessment_cases(
    prefix: &'static str,
    base_assessment: &Assessment,
) -> Vec<(&'static str, String, Assessment)> {
    let a = base_assessment;
    let p = |suffix: &str| format!("{prefix}{suffix}");
    let mut out: Vec<(&'static str, String, Assessment)> = Vec::new();
    let mut add = |label: &'static str, field: String, change: &dyn Fn(&mut Assessment)| {
        let mut x = a.clone();
        change(&mut x);
        out.push((label, field, x));
    };
    add("no observe_time", p(".observe_time"), &|x| {
        x.observe_time = None
    });
    add("observe_time 10 minutes ahead", p(".observe_time"), &|x| {
        x.observe_time = Some(ten_minutes_ahead())
    });
    add(
        "observe_time with invalid nanos",
        p(".observe_time"),
        &|x| {
            x.observe_time = Some(prost_types::Timestamp {
                seconds: 1_700_000_000,
                nanos: 2_000_000_000,
            })
        },
    );
    add("empty process id", p(".ratings[0].process_id"), &|x| {
        x.ratings[0].process_id.clear()
    });
    add("unknown process", p(".ratings[0].process_id"), &|x| {
        x.ratings[0].process_id = "no-such-process".into()
    });
    add("neither pole rated", p(".ratings[1]"), &|x| {
        x.ratings[1].adaptive = None;
        x.ratings[1].maladaptive = None;
    });
    add("adaptive below 0", p(".ratings[0].adaptive"), &|x| {
        x.ratings[0].adaptive = Some(-0.5)
    });
    add("adaptive above 100", p(".ratings[0].adaptive"), &|x| {
        x.ratings[0].adaptive = Some(100.5)
    });
    add("adaptive NaN", p(".ratings[0].adaptive"), &|x| {
        x.ratings[0].adaptive = Some(f64::NAN)
    });
    add("adaptive infinite", p(".ratings[0].adaptive"), &|x| {
        x.ratings[0].adaptive = Some(f64::INFINITY)
    });
    add(
        "maladaptive above 100",
        p(".ratings[2].maladaptive"),
        &|x| x.ratings[2].maladaptive = Some(101.0),
    );
    add("maladaptive NaN", p(".ratings[2].maladaptive"), &|x| {
        x.ratings[2].maladaptive = Some(f64::NAN)
    });
    add("maladaptive below 0", p(".ratings[2].maladaptive"), &|x| {
        x.ratings[2].maladaptive = Some(-1.0)
    });
    add("process rated twice", p(".ratings[1].process_id"), &|x| {
        x.ratings[1].process_id = x.ratings[0].process_id.clone()
    });
    add(
        "instrument unspecified",
        p(".outcomes[0].instrument"),
        &|x| x.outcomes[0].instrument = 0,
    );
    add("unknown instrument", p(".outcomes[0].instrument"), &|x| {
        x.outcomes[0].instrument = 99
    });
    add("instrument twice", p(".outcomes[1].instrument"), &|x| {
        x.outcomes[1].instrument = x.outcomes[0].instrument
    });
    add("PHQ-9 above 27", p(".outcomes[1].score"), &|x| {
        x.outcomes[1] = outcome(Instrument::Phq9, 28.0)
    });
    add("PHQ-9 below 0", p(".outcomes[1].score"), &|x| {
        x.outcomes[1] = outcome(Instrument::Phq9, -1.0)
    });
    add("GAD-7 above 21", p(".outcomes[1].score"), &|x| {
        x.outcomes[1] = outcome(Instrument::Gad7, 22.0)
    });
    add("WHO-5 above 100", p(".outcomes[1].score"), &|x| {
        x.outcomes[1] = outcome(Instrument::Who5, 101.0)
    });
    add("OQ-45 above 180", p(".outcomes[1].score"), &|x| {
        x.outcomes[1] = outcome(Instrument::Oq45, 181.0)
    });
    add("well-being above 100", p(".outcomes[0].score"), &|x| {
        x.outcomes[0] = outcome(Instrument::Wellbeing, 100.1)
    });
    add("distress NaN", p(".outcomes[1].score"), &|x| {
        x.outcomes[1] = outcome(Instrument::Distress, f64::NAN)
    });
    add("risk flag unspecified", p(".risk_flags[0]"), &|x| {
        x.risk_flags = vec![0]
    });
    add("unknown risk flag", p(".risk_flags[1]"), &|x| {
        x.risk_flags = vec![RiskFlag::Suicidality as i32, 42]
    });
    add("risk flag twice", p(".risk_flags[1]"), &|x| {
        x.risk_flags = vec![RiskFlag::SelfHarm as i32, RiskFlag::SelfHarm as i32]
    });
    add("nothing observed", prefix.to_owned(), &|x| {
        x.ratings.clear();
        x.outcomes.clear();
        x.risk_flags.clear();
    });
    out
}

#[tokio::test]
async fn record_assessment_rejects_each_invalid_field_and_stores_nothing() {
    let server = start().await;
    let mut people = server.people();
    let person = new_person(&mut people).await;
    let base = RecordAssessmentRequest {
        request_id: rid(),
        person: person.clone(),
        assessment: Some(valid_assessment(hours_ago(1))),
    };
    let mut cases: Vec<(String, String, RecordAssessmentRequest)> = Vec::new();
    for (label, bad) in bad_ids() {
        let (l, f, r) = case(label, "request_id", &base, |r| r.request_id = bad);
        cases.push((l.to_owned(), f.to_owned(), r));
    }
    let (l, f, r) = case("no assessment", "assessment", &base, |r| {
        r.assessment = None
    });
    cases.push((l.to_owned(), f.to_owned(), r));
    for (label, field, a) in assessment_cases("assessment", &valid_assessment(hours_ago(1))) {
        let mut r = base.clone();
        r.assessment = Some(a);
        cases.push((label.to_owned(), field, r));
    }
    for (label, field, mut req) in cases {
        if field != "request_id" {
            req.request_id = rid();
        }
        let result = people.record_assessment(req).await;
        expect_invalid_field(
            result,
            &field,
            &format!("RecordAssessment with {field}: {label}"),
        );
        assert_eq!(
            get_person(&mut people, &person).await.assessment_count,
            0,
            "assessment stored despite {field}: {label}"
        );
    }
    let listed = people
        .list_assessments(ListAssessmentsRequest {
            person,
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .expect("ListAssessments")
        .into_inner();
    assert!(listed.assessments.is_empty() && listed.total_size == 0);
}

#[tokio::test]
async fn batch_rejects_each_invalid_assessment_by_index_and_stores_none() {
    let server = start().await;
    let mut people = server.people();
    let person = new_person(&mut people).await;
    let series = assessment_series(5, hours_ago(1), Duration::from_secs(3600), 2);
    let base = BatchRecordAssessmentsRequest {
        request_id: rid(),
        person: person.clone(),
        assessments: series.clone(),
    };
    let mut cases: Vec<(String, String, BatchRecordAssessmentsRequest)> = vec![
        {
            let (l, f, r) = case("no assessments", "assessments", &base, |r| {
                r.assessments.clear()
            });
            (l.to_owned(), f.to_owned(), r)
        },
        {
            let many = assessment_series(5001, hours_ago(1), Duration::from_secs(60), 3);
            let (l, f, r) = case("5001 assessments", "assessments", &base, move |r| {
                r.assessments = many
            });
            (l.to_owned(), f.to_owned(), r)
        },
    ];
    for (label, bad) in bad_ids() {
        let (l, f, r) = case(label, "request_id", &base, |r| r.request_id = bad);
        cases.push((l.to_owned(), f.to_owned(), r));
    }
    // Break the fourth assessment of the batch only: the rest are valid.
    let mut template = valid_assessment(hours_ago(1));
    template.observe_time = series[3].observe_time;
    for (label, field, a) in assessment_cases("assessments[3]", &template) {
        let mut r = base.clone();
        r.assessments[3] = a;
        cases.push((label.to_owned(), field, r));
    }
    for (label, field, mut req) in cases {
        if field != "request_id" {
            req.request_id = rid();
        }
        let result = people.batch_record_assessments(req).await;
        expect_invalid_field(
            result,
            &field,
            &format!("BatchRecordAssessments with {field}: {label}"),
        );
        assert_eq!(
            get_person(&mut people, &person).await.assessment_count,
            0,
            "assessments stored despite {field}: {label}"
        );
    }
}

#[tokio::test]
async fn list_assessments_rejects_a_bad_page_size_or_token() {
    let server = start().await;
    let mut people = server.people();
    let person = new_person(&mut people).await;
    let result = people
        .list_assessments(ListAssessmentsRequest {
            person: person.clone(),
            page_size: 1001,
            page_token: String::new(),
        })
        .await;
    expect_invalid_field(result, "page_size", "ListAssessments page_size 1001");
    let result = people
        .list_assessments(ListAssessmentsRequest {
            person,
            page_size: 10,
            page_token: "not-a-token".to_owned(),
        })
        .await;
    expect_invalid_field(result, "page_token", "ListAssessments with a forged token");
}

#[tokio::test]
async fn list_and_get_interventions_reject_bad_arguments() {
    let server = start().await;
    let mut catalog = server.catalog();
    let result = catalog
        .list_interventions(ListInterventionsRequest {
            page_size: 201,
            ..Default::default()
        })
        .await;
    expect_invalid_field(result, "page_size", "ListInterventions page_size 201");
    let result = catalog
        .list_interventions(ListInterventionsRequest {
            page_token: "not-a-token".to_owned(),
            ..Default::default()
        })
        .await;
    expect_invalid_field(
        result,
        "page_token",
        "ListInterventions with a forged token",
    );
    for (label, req, field) in [
        (
            "unknown process filter",
            ListInterventionsRequest {
                process_id: "no-such-process".to_owned(),
                ..Default::default()
            },
            "process_id",
        ),
        (
            "unknown modality",
            ListInterventionsRequest {
                modality: 42,
                ..Default::default()
            },
            "modality",
        ),
        (
            "max_minutes over 600",
            ListInterventionsRequest {
                max_minutes: 601,
                ..Default::default()
            },
            "max_minutes",
        ),
    ] {
        let result = catalog.list_interventions(req).await;
        expect_invalid_field(result, field, &format!("ListInterventions {label}"));
    }
    // "under_score" last: the contract allows only lowercase letters, digits and dashes.
    for bad in [
        "",
        "Upper-Case",
        "has space",
        &"a".repeat(200),
        "under_score",
    ] {
        let result = catalog
            .get_intervention(GetInterventionRequest { id: bad.to_owned() })
            .await;
        expect_invalid_field(result, "id", &format!("GetIntervention id {bad:?}"));
    }
}

#[tokio::test]
async fn create_intervention_rejects_each_invalid_field_and_stores_nothing() {
    let server = start().await;
    let mut catalog = server.catalog();
    let base = CreateInterventionRequest {
        request_id: rid(),
        intervention: Some(valid_intervention("placeholder")),
    };
    type Change = Box<dyn Fn(&mut tutti_proto::v1::Intervention)>;
    let changes: Vec<(&str, &str, Change)> = vec![
        ("empty id", "intervention.id", Box::new(|i| i.id.clear())),
        (
            "upper-case id",
            "intervention.id",
            Box::new(|i| i.id = "Upper-Case".into()),
        ),
        (
            "underscore in id",
            "intervention.id",
            Box::new(|i| i.id = "under_score".into()),
        ),
        (
            "space in id",
            "intervention.id",
            Box::new(|i| i.id = "has space".into()),
        ),
        (
            "unknown target process",
            "intervention.targets[0].process_id",
            Box::new(|i| i.targets[0].process_id = "no-such-process".into()),
        ),
        (
            "target weight above 1",
            "intervention.targets[1].weight",
            Box::new(|i| i.targets[1].weight = 1.5),
        ),
        (
            "target weight below 0",
            "intervention.targets[0].weight",
            Box::new(|i| i.targets[0].weight = -0.1),
        ),
        (
            "target weight NaN",
            "intervention.targets[0].weight",
            Box::new(|i| i.targets[0].weight = f64::NAN),
        ),
        (
            "contraindication unspecified",
            "intervention.contraindications[0]",
            Box::new(|i| i.contraindications = vec![0]),
        ),
        (
            "unknown contraindication",
            "intervention.contraindications[0]",
            Box::new(|i| i.contraindications = vec![999]),
        ),
        (
            "prior effect NaN",
            "intervention.prior_effect",
            Box::new(|i| i.prior_effect = f64::NAN),
        ),
        (
            "prior effect infinite",
            "intervention.prior_effect",
            Box::new(|i| i.prior_effect = f64::INFINITY),
        ),
        (
            "prior effect out of range",
            "intervention.prior_effect",
            Box::new(|i| i.prior_effect = 25.0),
        ),
        (
            "target weight 0",
            "intervention.targets[0].weight",
            Box::new(|i| i.targets[0].weight = 0.0),
        ),
        (
            "no targets",
            "intervention.targets",
            Box::new(|i| i.targets.clear()),
        ),
        (
            "process targeted twice",
            "intervention.targets[1].process_id",
            Box::new(|i| i.targets[1].process_id = i.targets[0].process_id.clone()),
        ),
        (
            "empty display name",
            "intervention.display_name",
            Box::new(|i| i.display_name = "  ".into()),
        ),
        (
            "empty instructions",
            "intervention.instructions",
            Box::new(|i| i.instructions.clear()),
        ),
        (
            "evidence over 1000 characters",
            "intervention.evidence",
            Box::new(|i| i.evidence = "e".repeat(1001)),
        ),
        (
            "malformed family",
            "intervention.family",
            Box::new(|i| i.family = "Not A Family".into()),
        ),
        (
            "effort 0 minutes",
            "intervention.effort_minutes",
            Box::new(|i| i.effort_minutes = 0),
        ),
        (
            "effort over 600 minutes",
            "intervention.effort_minutes",
            Box::new(|i| i.effort_minutes = 601),
        ),
        (
            "modality unspecified",
            "intervention.modality",
            Box::new(|i| i.modality = 0),
        ),
        (
            "unknown modality",
            "intervention.modality",
            Box::new(|i| i.modality = 42),
        ),
        (
            "dose limit over a year",
            "intervention.min_days_between",
            Box::new(|i| i.min_days_between = 366),
        ),
        (
            "id over 64 characters",
            "intervention.id",
            Box::new(|i| i.id = "a".repeat(65)),
        ),
    ];
    let mut cases: Vec<(String, String, CreateInterventionRequest)> = vec![(
        "no intervention".to_owned(),
        "intervention".to_owned(),
        CreateInterventionRequest {
            request_id: rid(),
            intervention: None,
        },
    )];
    for (label, bad) in bad_ids() {
        let (l, f, r) = case(label, "request_id", &base, |r| r.request_id = bad);
        cases.push((l.to_owned(), f.to_owned(), r));
    }
    for (label, field, change) in changes {
        let mut r = base.clone();
        let mut i = valid_intervention(&new_intervention_id("t-bad"));
        change(&mut i);
        r.intervention = Some(i);
        cases.push((label.to_owned(), field.to_owned(), r));
    }
    for (label, field, mut req) in cases {
        if field != "request_id" {
            req.request_id = rid();
        } else if let Some(i) = req.intervention.as_mut() {
            i.id = new_intervention_id("t-rid");
        }
        let id = req.intervention.as_ref().map(|i| i.id.clone());
        let result = catalog.create_intervention(req).await;
        expect_invalid_field(
            result,
            &field,
            &format!("CreateIntervention with {field}: {label}"),
        );
        if let Some(id) = id.filter(|_| field != "intervention.id") {
            let got = catalog
                .get_intervention(GetInterventionRequest { id })
                .await;
            expect_code(
                got,
                Code::NotFound,
                &format!("intervention stored despite {field}: {label}"),
            );
        }
    }
}

#[tokio::test]
async fn update_intervention_rejects_invalid_fields_and_changes_nothing() {
    let server = start().await;
    let mut catalog = server.catalog();
    let stored = create_intervention(
        &mut catalog,
        valid_intervention(&new_intervention_id("t-upd")),
    )
    .await;
    let base = UpdateInterventionRequest {
        request_id: rid(),
        intervention: Some(stored.clone()),
        update_mask: None,
    };
    let cases = vec![
        case("no intervention", "intervention", &base, |r| {
            r.intervention = None
        }),
        case("bad request id", "request_id", &base, |r| {
            r.request_id = "has space".into()
        }),
        case(
            "target weight above 1",
            "intervention.targets[0].weight",
            &base,
            |r| r.intervention.as_mut().expect("set").targets[0].weight = 2.0,
        ),
        case(
            "unknown target process",
            "intervention.targets[0].process_id",
            &base,
            |r| {
                r.intervention.as_mut().expect("set").targets[0].process_id =
                    "no-such-process".into()
            },
        ),
        case("unknown mask path", "update_mask.paths[0]", &base, |r| {
            r.update_mask = Some(prost_types::FieldMask {
                paths: vec!["no_such_field".into()],
            });
            r.intervention.as_mut().expect("set").display_name = "Changed".into();
        }),
        case("mask changes the id", "update_mask.paths[0]", &base, |r| {
            r.update_mask = Some(prost_types::FieldMask {
                paths: vec!["id".into()],
            });
        }),
    ];
    for (label, field, mut req) in cases {
        if field != "request_id" {
            req.request_id = rid();
        }
        let result = catalog.update_intervention(req).await;
        expect_invalid_field(
            result,
            field,
            &format!("UpdateIntervention with {field}: {label}"),
        );
        let now = catalog
            .get_intervention(GetInterventionRequest {
                id: stored.id.clone(),
            })
            .await
            .expect("GetIntervention")
            .into_inner()
            .intervention;
        assert_eq!(
            now.as_ref(),
            Some(&stored),
            "intervention changed despite {field}: {label}"
        );
    }
}

#[tokio::test]
async fn recommend_rejects_each_invalid_field_and_logs_no_decision() {
    let server = start().await;
    let mut people = server.people();
    let person = new_person(&mut people).await;
    record_assessment(&mut people, &person, valid_assessment(hours_ago(1))).await;
    let base: RecommendRequest = recommend_request(&person);
    let mut cases = vec![
        case("max_results 21", "max_results", &base, |r| {
            r.max_results = 21
        }),
        case("601 minutes", "context.minutes_available", &base, |r| {
            r.context = Some(RecommendationContext {
                minutes_available: 601,
                ..Default::default()
            })
        }),
        case("capacity 101", "context.capacity", &base, |r| {
            r.context = Some(RecommendationContext {
                capacity: Some(101.0),
                ..Default::default()
            })
        }),
        case("capacity NaN", "context.capacity", &base, |r| {
            r.context = Some(RecommendationContext {
                capacity: Some(f64::NAN),
                ..Default::default()
            })
        }),
        case(
            "request_time 10 minutes ahead",
            "request_time",
            &base,
            |r| r.request_time = Some(ten_minutes_ahead()),
        ),
        case(
            "malformed excluded id",
            "exclude_intervention_ids[1]",
            &base,
            |r| r.exclude_intervention_ids = vec!["safety-plan".into(), "Not An Id".into()],
        ),
        case(
            "malformed pinned id",
            "pinned_intervention_ids[0]",
            &base,
            |r| r.pinned_intervention_ids = vec!["Not An Id".into()],
        ),
        case(
            "unknown excluded id",
            "exclude_intervention_ids[0]",
            &base,
            |r| r.exclude_intervention_ids = vec!["no-such-intervention".into()],
        ),
        case(
            "unknown pinned id",
            "pinned_intervention_ids[0]",
            &base,
            |r| r.pinned_intervention_ids = vec!["no-such-intervention".into()],
        ),
        case("pinned twice", "pinned_intervention_ids[1]", &base, |r| {
            r.pinned_intervention_ids = vec!["safety-plan".into(), "safety-plan".into()]
        }),
        case(
            "pinned and excluded",
            "pinned_intervention_ids[0]",
            &base,
            |r| {
                r.pinned_intervention_ids = vec!["safety-plan".into()];
                r.exclude_intervention_ids = vec!["safety-plan".into()];
            },
        ),
        case("unknown setting", "context.setting", &base, |r| {
            r.context = Some(RecommendationContext {
                setting: 42,
                ..Default::default()
            })
        }),
    ];
    for (label, bad) in bad_ids() {
        cases.push(case(label, "request_id", &base, |r| r.request_id = bad));
    }
    let mut recs = server.recommendations();
    for (label, field, mut req) in cases {
        if field != "request_id" {
            req.request_id = rid();
        }
        let result = recs.recommend(req).await;
        expect_invalid_field(result, field, &format!("Recommend with {field}: {label}"));
    }
    let erased = people
        .delete_person(DeletePersonRequest {
            request_id: rid(),
            name: person,
        })
        .await
        .expect("DeletePerson")
        .into_inner();
    assert_eq!(
        erased.erased_recommendations, 0,
        "rejected Recommend calls logged recommendations"
    );
}

fn f(r: &mut RecordFeedbackRequest) -> &mut Feedback {
    r.feedback.as_mut().expect("feedback is set")
}

#[tokio::test]
async fn record_feedback_rejects_each_invalid_field_and_stores_nothing() {
    let server = start().await;
    let mut people = server.people();
    let person = new_person(&mut people).await;
    record_assessment(&mut people, &person, valid_assessment(hours_ago(1))).await;
    let mut recs = server.recommendations();
    let rec_id = recommend(&mut recs, recommend_request(&person))
        .await
        .recommendations[0]
        .recommendation_id
        .clone();
    let good = Feedback {
        helpfulness: Some(50.0),
        minutes_spent: Some(5),
        ..feedback(&rec_id, Completion::Done)
    };
    let base = RecordFeedbackRequest {
        request_id: rid(),
        feedback: Some(good),
    };
    let review = |decision: ClinicianDecision, reason: String, replacement: &str| ClinicianReview {
        decision: decision as i32,
        reason,
        replacement_intervention_id: replacement.to_owned(),
    };
    let mut cases = vec![
        case("no feedback", "feedback", &base, |r| r.feedback = None),
        case(
            "no recommendation id",
            "feedback.recommendation_id",
            &base,
            |r| f(r).recommendation_id.clear(),
        ),
        case("neither completion nor review", "feedback", &base, |r| {
            f(r).completion = Completion::Unspecified as i32;
            f(r).clinician = None;
        }),
        case("601 minutes spent", "feedback.minutes_spent", &base, |r| {
            f(r).minutes_spent = Some(601)
        }),
        case(
            "helpfulness above 100",
            "feedback.helpfulness",
            &base,
            |r| f(r).helpfulness = Some(100.5),
        ),
        case("helpfulness below 0", "feedback.helpfulness", &base, |r| {
            f(r).helpfulness = Some(-1.0)
        }),
        case("helpfulness NaN", "feedback.helpfulness", &base, |r| {
            f(r).helpfulness = Some(f64::NAN)
        }),
        case(
            "distress before above 100",
            "feedback.distress_before",
            &base,
            |r| f(r).distress_before = Some(101.0),
        ),
        case(
            "distress after below 0",
            "feedback.distress_after",
            &base,
            |r| f(r).distress_after = Some(-5.0),
        ),
        case(
            "barrier over 1000 characters",
            "feedback.barrier",
            &base,
            |r| f(r).barrier = "x".repeat(1001),
        ),
        case(
            "post rating above 100",
            "feedback.post_ratings[0].adaptive",
            &base,
            |r| f(r).post_ratings = vec![rating("affect", Some(120.0), None)],
        ),
        case(
            "post rating of an unknown process",
            "feedback.post_ratings[0].process_id",
            &base,
            |r| f(r).post_ratings = vec![rating("no-such-process", Some(50.0), None)],
        ),
        case(
            "post rating without a pole",
            "feedback.post_ratings[0]",
            &base,
            |r| f(r).post_ratings = vec![rating("affect", None, None)],
        ),
        case(
            "reason over 1000 characters",
            "feedback.clinician.reason",
            &base,
            |r| f(r).clinician = Some(review(ClinicianDecision::Rejected, "y".repeat(1001), "")),
        ),
        case(
            "override without replacement",
            "feedback.clinician.replacement_intervention_id",
            &base,
            |r| {
                f(r).clinician = Some(review(
                    ClinicianDecision::Overridden,
                    "Other plan.".into(),
                    "",
                ))
            },
        ),
        case(
            "override with a malformed replacement",
            "feedback.clinician.replacement_intervention_id",
            &base,
            |r| {
                f(r).clinician = Some(review(
                    ClinicianDecision::Overridden,
                    "Other plan.".into(),
                    "Not An Id",
                ))
            },
        ),
        case(
            "observe_time 10 minutes ahead",
            "feedback.observe_time",
            &base,
            |r| f(r).observe_time = Some(ten_minutes_ahead()),
        ),
        case("unknown completion", "feedback.completion", &base, |r| {
            f(r).completion = 42
        }),
        case(
            "review without a decision",
            "feedback.clinician.decision",
            &base,
            |r| f(r).clinician = Some(review(ClinicianDecision::Unspecified, String::new(), "")),
        ),
        case(
            "accepted with a replacement",
            "feedback.clinician.replacement_intervention_id",
            &base,
            |r| {
                f(r).clinician = Some(review(
                    ClinicianDecision::Accepted,
                    String::new(),
                    "safety-plan",
                ))
            },
        ),
        case(
            "override with an unknown replacement",
            "feedback.clinician.replacement_intervention_id",
            &base,
            |r| {
                f(r).clinician = Some(review(
                    ClinicianDecision::Overridden,
                    "Other plan.".into(),
                    "no-such-intervention",
                ))
            },
        ),
    ];
    for (label, bad) in bad_ids() {
        cases.push(case(label, "request_id", &base, |r| r.request_id = bad));
    }
    for (label, field, mut req) in cases {
        if field != "request_id" {
            req.request_id = rid();
        }
        let result = recs.record_feedback(req).await;
        expect_invalid_field(
            result,
            field,
            &format!("RecordFeedback with {field}: {label}"),
        );
        assert_eq!(
            get_person(&mut people, &person).await.feedback_count,
            0,
            "feedback stored despite {field}: {label}"
        );
    }
}

#[tokio::test]
async fn values_at_the_edges_of_their_ranges_are_accepted() {
    let server = start().await;
    let mut people = server.people();
    let person = new_person(&mut people).await;
    let edge_id = "Az09_-".repeat(10) + "abcd";
    assert_eq!(edge_id.len(), 64);

    let mut a = valid_assessment(from_now(Duration::from_secs(4 * 60)));
    a.ratings = vec![
        rating("affect", Some(0.0), Some(100.0)),
        rating("cognition", Some(100.0), Some(0.0)),
    ];
    a.outcomes = vec![
        outcome(Instrument::Phq9, 27.0),
        outcome(Instrument::Gad7, 21.0),
        outcome(Instrument::Oq45, 180.0),
        outcome(Instrument::Who5, 100.0),
        outcome(Instrument::Wellbeing, 0.0),
        outcome(Instrument::Distress, 100.0),
    ];
    people
        .record_assessment(RecordAssessmentRequest {
            request_id: edge_id.clone(),
            person: person.clone(),
            assessment: Some(a),
        })
        .await
        .expect("edge values and a 64-character request id are valid");
    people
        .batch_record_assessments(BatchRecordAssessmentsRequest {
            request_id: "x".to_owned(),
            person: person.clone(),
            assessments: vec![valid_assessment(hours_ago(3))],
        })
        .await
        .expect("a batch of one and a 1-character request id are valid");
    people
        .list_assessments(ListAssessmentsRequest {
            person: person.clone(),
            page_size: 1000,
            page_token: String::new(),
        })
        .await
        .expect("page_size 1000 is valid");
    server
        .catalog()
        .list_interventions(ListInterventionsRequest {
            page_size: 200,
            ..Default::default()
        })
        .await
        .expect("page_size 200 is valid");

    let mut recs = server.recommendations();
    let mut req = recommend_request(&person);
    req.max_results = 20;
    req.context = Some(RecommendationContext {
        minutes_available: 600,
        capacity: Some(100.0),
        ..Default::default()
    });
    req.request_time = Some(ts(now()));
    let resp = recommend(&mut recs, req).await;
    assert_eq!(resp.recommendations.len(), 20);
    let rec_id = resp.recommendations[0].recommendation_id.clone();
    let edge = Feedback {
        minutes_spent: Some(600),
        helpfulness: Some(100.0),
        distress_before: Some(100.0),
        distress_after: Some(0.0),
        barrier: "b".repeat(1000),
        clinician: Some(ClinicianReview {
            decision: ClinicianDecision::Rejected as i32,
            reason: "r".repeat(1000),
            replacement_intervention_id: String::new(),
        }),
        ..feedback(&rec_id, Completion::Partly)
    };
    record_feedback(&mut recs, edge).await;
    let low = Feedback {
        helpfulness: Some(0.0),
        minutes_spent: Some(0),
        ..feedback(&rec_id, Completion::NotDone)
    };
    record_feedback(&mut recs, low).await;
    let p = get_person(&mut people, &person).await;
    assert_eq!((p.assessment_count, p.feedback_count), (2, 2));
}
