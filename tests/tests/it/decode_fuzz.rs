//! Property: every RPC's decode and validation path, fed arbitrary bytes or
//! arbitrary well-formed messages over real gRPC, never panics and never
//! answers INTERNAL (or UNKNOWN): a bad request is the caller's error; and a
//! rejected call stores nothing: every table's contents (a SHA-256 over all
//! its rows and columns) are unchanged, the audit trail aside, which records
//! rejected calls too. Contents, not row counts: a rejected update that
//! rewrote a row in place would keep every count.

use proptest::prelude::*;
use prost::Message;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use sha2::{Digest as _, Sha256};
use std::sync::OnceLock;
use tonic::Code;
use tonic::metadata::MetadataMap;
use tutti_proto::v1 as pb;
use tutti_tests::TestServer;
use tutti_tests::fixtures::create_person;
use tutti_tests::raw::call_raw;

/// Every method of the tenant API.
const METHODS: &[&str] = &[
    "/tutti.v1.CatalogService/ListProcesses",
    "/tutti.v1.CatalogService/ListInterventions",
    "/tutti.v1.CatalogService/GetIntervention",
    "/tutti.v1.CatalogService/CreateIntervention",
    "/tutti.v1.CatalogService/UpdateIntervention",
    "/tutti.v1.PeopleService/CreatePerson",
    "/tutti.v1.PeopleService/GetPerson",
    "/tutti.v1.PeopleService/DeletePerson",
    "/tutti.v1.PeopleService/RecordAssessment",
    "/tutti.v1.PeopleService/BatchRecordAssessments",
    "/tutti.v1.PeopleService/ListAssessments",
    "/tutti.v1.PeopleService/GetPersonInsights",
    "/tutti.v1.PeopleService/IngestFhir",
    "/tutti.v1.RecommendationService/Recommend",
    "/tutti.v1.RecommendationService/RecordFeedback",
];

struct Harness {
    runtime: tokio::runtime::Runtime,
    server: TestServer,
}

/// One server for every case (started once; cases run one at a time).
fn harness() -> &'static Harness {
    static H: OnceLock<Harness> = OnceLock::new();
    H.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let server = runtime.block_on(async {
            let server = TestServer::start().await.expect("server starts");
            create_person(&mut server.people(), "p-fuzz", &[]).await;
            server
        });
        Harness { runtime, server }
    })
}

/// Tables a rejected call may write to: the audit trail (its rows and chain heads).
const AUDIT_TABLES: &[&str] = &["audit", "audit_heads"];

/// Every table but the audit trail's, read from the schema (a table added
/// later is covered without a change here), with its row count and a SHA-256
/// of its rows: each row's columns encoded with their type, rows sorted.
fn snapshot(h: &Harness) -> Vec<(String, usize, String)> {
    let conn = Connection::open_with_flags(h.server.data_path(), OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("open");
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .expect("schema")
        .query_map([], |r| r.get(0))
        .expect("tables")
        .collect::<rusqlite::Result<_>>()
        .expect("table names");
    tables
        .into_iter()
        .filter(|t| !AUDIT_TABLES.contains(&t.as_str()))
        .map(|t| {
            let mut stmt = conn
                .prepare(&format!("SELECT * FROM \"{t}\""))
                .expect("select");
            let columns = stmt.column_count();
            let mut rows: Vec<Vec<u8>> = stmt
                .query_map([], |r| {
                    let mut row = Vec::new();
                    for i in 0..columns {
                        match r.get_ref(i)? {
                            ValueRef::Null => row.push(0),
                            ValueRef::Integer(v) => {
                                row.push(1);
                                row.extend(v.to_le_bytes());
                            }
                            ValueRef::Real(v) => {
                                row.push(2);
                                row.extend(v.to_bits().to_le_bytes());
                            }
                            ValueRef::Text(b) | ValueRef::Blob(b) => {
                                row.push(3);
                                row.extend((b.len() as u64).to_le_bytes());
                                row.extend(b);
                            }
                        }
                    }
                    Ok(row)
                })
                .expect("rows")
                .collect::<rusqlite::Result<_>>()
                .expect("read rows");
            rows.sort();
            let mut hash = Sha256::new();
            for row in &rows {
                hash.update((row.len() as u64).to_le_bytes());
                hash.update(row);
            }
            let hex = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
            (t, rows.len(), hex)
        })
        .collect()
}

/// Sends `body` to `method`; checks the answer and, if it is an error, that
/// nothing was stored.
fn check(method: &'static str, body: Vec<u8>) -> Result<(), TestCaseError> {
    // The two properties share the server: one case at a time, so a write
    // one of them makes cannot look like a rejected call that stored something.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let h = harness();
    let before = snapshot(h);
    let result = h.runtime.block_on(call_raw(
        h.server.channel(),
        method,
        body,
        MetadataMap::new(),
    ));
    match result {
        Ok(_) => Ok(()),
        Err(status) => {
            prop_assert!(
                !matches!(
                    status.code(),
                    Code::Internal | Code::Unknown | Code::DataLoss
                ),
                "{method} answered {:?}: {}",
                status.code(),
                status.message()
            );
            prop_assert_eq!(
                snapshot(h),
                before,
                "{} stored something on rejection",
                method
            );
            Ok(())
        }
    }
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("p-fuzz".to_owned()),
        Just("people/p-fuzz".to_owned()),
        Just("affect".to_owned()),
        "[A-Za-z0-9_/-]{0,24}",
        any::<String>(),
    ]
}

fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        -10.0f64..250.0,
        Just(f64::NAN),
        Just(f64::INFINITY)
    ]
}

fn timestamp() -> impl Strategy<Value = Option<prost_types::Timestamp>> {
    proptest::option::of(
        (any::<i64>(), any::<i32>())
            .prop_map(|(seconds, nanos)| prost_types::Timestamp { seconds, nanos }),
    )
}

fn rating() -> impl Strategy<Value = pb::ProcessRating> {
    (
        text(),
        proptest::option::of(number()),
        proptest::option::of(number()),
    )
        .prop_map(|(process_id, adaptive, maladaptive)| pb::ProcessRating {
            process_id,
            adaptive,
            maladaptive,
        })
}

fn assessment() -> impl Strategy<Value = pb::Assessment> {
    (
        text(),
        timestamp(),
        proptest::collection::vec(rating(), 0..4),
        proptest::collection::vec((any::<i32>(), number()), 0..3),
        proptest::collection::vec(any::<i32>(), 0..3),
    )
        .prop_map(
            |(id, observe_time, ratings, outcomes, risk_flags)| pb::Assessment {
                id,
                observe_time,
                ratings,
                outcomes: outcomes
                    .into_iter()
                    .map(|(instrument, score)| pb::OutcomeMeasure { instrument, score })
                    .collect(),
                risk_flags,
            },
        )
}

/// An arbitrary well-formed request for one of the methods, encoded: each
/// method of [`METHODS`] has its arm.
fn message() -> impl Strategy<Value = (&'static str, Vec<u8>)> {
    prop_oneof![
        Just((METHODS[0], pb::ListProcessesRequest {}.encode_to_vec())),
        (any::<u32>(), text(), text(), any::<i32>(), any::<u32>()).prop_map(
            |(page_size, page_token, process_id, modality, max_minutes)| (
                METHODS[1],
                pb::ListInterventionsRequest {
                    page_size,
                    page_token,
                    process_id,
                    modality,
                    max_minutes,
                }
                .encode_to_vec()
            )
        ),
        (
            text(),
            text(),
            text(),
            any::<u32>(),
            proptest::collection::vec((text(), number()), 0..3),
            proptest::option::of(proptest::collection::vec(text(), 0..3))
        )
            .prop_map(
                |(request_id, id, display_name, effort_minutes, targets, mask)| (
                    METHODS[4],
                    pb::UpdateInterventionRequest {
                        request_id,
                        intervention: Some(pb::Intervention {
                            id,
                            display_name,
                            effort_minutes,
                            targets: targets
                                .into_iter()
                                .map(|(process_id, weight)| pb::ProcessTarget {
                                    process_id,
                                    weight,
                                })
                                .collect(),
                            ..Default::default()
                        }),
                        update_mask: mask.map(|paths| prost_types::FieldMask { paths }),
                    }
                    .encode_to_vec()
                )
            ),
        text().prop_map(|person| (
            METHODS[11],
            pb::GetPersonInsightsRequest { person }.encode_to_vec()
        )),
        (
            text(),
            text(),
            proptest::collection::vec(any::<i32>(), 0..3)
        )
            .prop_map(|(request_id, person_id, conditions)| (
                METHODS[5],
                pb::CreatePersonRequest {
                    request_id,
                    person_id,
                    conditions
                }
                .encode_to_vec()
            )),
        text().prop_map(|name| (METHODS[6], pb::GetPersonRequest { name }.encode_to_vec())),
        (text(), text()).prop_map(|(request_id, name)| (
            METHODS[7],
            pb::DeletePersonRequest { request_id, name }.encode_to_vec()
        )),
        (text(), text(), proptest::option::of(assessment())).prop_map(
            |(request_id, person, assessment)| (
                METHODS[8],
                pb::RecordAssessmentRequest {
                    request_id,
                    person,
                    assessment
                }
                .encode_to_vec()
            )
        ),
        (
            text(),
            text(),
            proptest::collection::vec(assessment(), 0..3)
        )
            .prop_map(|(request_id, person, assessments)| (
                METHODS[9],
                pb::BatchRecordAssessmentsRequest {
                    request_id,
                    person,
                    assessments
                }
                .encode_to_vec()
            )),
        (text(), any::<u32>(), text()).prop_map(|(person, page_size, page_token)| (
            METHODS[10],
            pb::ListAssessmentsRequest {
                person,
                page_size,
                page_token
            }
            .encode_to_vec()
        )),
        (text(), text(), text()).prop_map(|(request_id, person, resource_json)| (
            METHODS[12],
            pb::IngestFhirRequest {
                request_id,
                person,
                resource_json
            }
            .encode_to_vec()
        )),
        (
            text(),
            text(),
            any::<u32>(),
            proptest::collection::vec(text(), 0..3),
            text()
        )
            .prop_map(|(request_id, person, max_results, exclude, platform)| (
                METHODS[13],
                pb::RecommendRequest {
                    request_id,
                    person,
                    max_results,
                    exclude_intervention_ids: exclude,
                    platform_intervention_id: platform,
                    ..Default::default()
                }
                .encode_to_vec()
            )),
        (
            text(),
            text(),
            any::<i32>(),
            proptest::option::of(number()),
            text(),
            timestamp()
        )
            .prop_map(
                |(
                    request_id,
                    recommendation_id,
                    completion,
                    helpfulness,
                    barrier,
                    observe_time,
                )| (
                    METHODS[14],
                    pb::RecordFeedbackRequest {
                        request_id,
                        feedback: Some(pb::Feedback {
                            recommendation_id,
                            completion,
                            helpfulness,
                            barrier,
                            observe_time,
                            ..Default::default()
                        }),
                    }
                    .encode_to_vec()
                )
            ),
        text().prop_map(|id| (
            METHODS[2],
            pb::GetInterventionRequest { id }.encode_to_vec()
        )),
        (text(), text(), text(), any::<u32>()).prop_map(
            |(request_id, id, display_name, effort_minutes)| (
                METHODS[3],
                pb::CreateInterventionRequest {
                    request_id,
                    intervention: Some(pb::Intervention {
                        id,
                        display_name,
                        effort_minutes,
                        ..Default::default()
                    }),
                }
                .encode_to_vec()
            )
        ),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_are_never_internal_and_store_nothing_when_rejected(
        method in proptest::sample::select(METHODS),
        body in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        check(method, body)?;
    }

    #[test]
    fn arbitrary_well_formed_messages_are_never_internal_and_store_nothing_when_rejected(
        (method, body) in message(),
    ) {
        check(method, body)?;
    }
}
