//! Behaviour: every error a client can get carries `google.rpc.ErrorInfo`
//! (reason, domain `tutti.health`) beside its other details (`BadRequest`
//! field violations, `RetryInfo`); bodies that do not decode are
//! INVALID_ARGUMENT, never INTERNAL. Each error is produced by a real server
//! and its code, message and details are compared with
//! `tests/golden/error_details.json` (`UPDATE_GOLDEN=1` rewrites it).
//!
//! Not produced here: `CONCURRENT_UPDATE` and `CONCURRENT_RETRY` (ABORTED),
//! which need a lost race between replicas or between a commit and its own
//! read, and `INTERNAL`, a server defect.

use prost::Message as _;
use rusqlite::Connection;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tonic::Status;
use tonic::metadata::MetadataMap;
use tonic_types::StatusExt as _;
use tutti_proto::v1::{
    BatchRecordAssessmentsRequest, Completion, CreatePersonRequest, DeletePersonRequest,
    GetPersonRequest, ListProcessesRequest, RecordFeedbackRequest, UpdateInterventionRequest,
};
use tutti_server::config::{ApiKeyConfig, Role, TenantMode};
use tutti_tests::ehr::assert_golden;
use tutti_tests::fixtures::{
    assessment_series, builtin_intervention_ids, feedback, hours_ago, new_person, recommend,
    recommend_request, record_assessment, rid, unrestricted_built_in, valid_assessment,
    valid_intervention,
};
use tutti_tests::raw::{call_raw, hold_until_refused};
use tutti_tests::{Headers, TestServer};

const KEY: &str = "golden-key-0123456789abcdef";

/// Code, message and every detail of `status`, as JSON.
fn describe(case: &str, status: &Status) -> Value {
    let d = status.get_error_details();
    let info = d.error_info().map(|i| {
        let mut metadata: Vec<_> = i.metadata.iter().collect();
        metadata.sort();
        json!({"reason": i.reason, "domain": i.domain, "metadata": metadata})
    });
    let bad_request = d.bad_request().map(|b| {
        b.field_violations
            .iter()
            .map(|v| json!({"field": v.field, "description": v.description}))
            .collect::<Vec<_>>()
    });
    let retry = d
        .retry_info()
        .map(|r| r.retry_delay.map(|t| t.as_millis() as u64));
    json!({
        "case": case,
        "code": format!("{:?}", status.code()),
        "message": status.message(),
        "error_info": info,
        "bad_request": bad_request,
        "retry_delay_ms": retry,
    })
}

/// [`describe`] with each `(value, placeholder)` replaced in the message: ids
/// the server makes up (a recommendation id) would change the golden file on
/// every run.
fn describe_redacted(case: &str, status: &Status, redact: &[(&str, &str)]) -> Value {
    let mut v = describe(case, status);
    let mut message = status.message().to_owned();
    for (value, placeholder) in redact {
        message = message.replace(value, placeholder);
    }
    v["message"] = Value::String(message);
    v
}

fn err<T: std::fmt::Debug>(r: Result<T, Status>, case: &str) -> Status {
    match r {
        Ok(v) => panic!("{case}: expected an error, got {v:?}"),
        Err(s) => s,
    }
}

fn key() -> ApiKeyConfig {
    ApiKeyConfig {
        sha256: Sha256::digest(KEY.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
        tenant: "acme".into(),
        principal: Some("golden".into()),
        roles: Some(vec![Role::Read, Role::Write]),
    }
}

fn create(id: &str, request_id: &str) -> CreatePersonRequest {
    CreatePersonRequest {
        request_id: request_id.into(),
        person_id: id.into(),
        conditions: vec![],
    }
}

async fn open_server_errors(out: &mut Vec<Value>) {
    let server = TestServer::start_with(|c| {
        c.limits.max_message_bytes = 4096;
    })
    .await
    .expect("server starts");
    let mut people = server.people();

    let s = err(people.create_person(create("", "r1")).await, "invalid");
    out.push(describe("invalid_argument", &s));

    let s = err(
        call_raw(
            server.channel(),
            "/tutti.v1.PeopleService/CreatePerson",
            vec![0x0a, 0xff, 0xff, 0xff],
            MetadataMap::new(),
        )
        .await,
        "malformed",
    );
    out.push(describe("malformed_body", &s));

    let s = err(
        call_raw(
            server.channel(),
            "/tutti.v1.PeopleService/NoSuchMethod",
            Vec::new(),
            MetadataMap::new(),
        )
        .await,
        "unknown method",
    );
    out.push(describe("unknown_method", &s));

    // A 5000-byte string field: over the 4096-byte limit.
    let oversized = GetPersonRequest {
        name: "x".repeat(5000),
    }
    .encode_to_vec();
    let s = err(
        call_raw(
            server.channel(),
            "/tutti.v1.PeopleService/GetPerson",
            oversized,
            MetadataMap::new(),
        )
        .await,
        "too large",
    );
    out.push(describe("message_too_large", &s));

    let s = err(
        people
            .get_person(GetPersonRequest {
                name: "people/p-nobody".into(),
            })
            .await,
        "not found",
    );
    out.push(describe("not_found", &s));

    people
        .create_person(create("p-golden", "r-first"))
        .await
        .expect("create");
    let s = err(
        people.create_person(create("p-golden", "r-second")).await,
        "exists",
    );
    out.push(describe("already_exists", &s));
    let s = err(
        people.create_person(create("p-other", "r-first")).await,
        "reused",
    );
    out.push(describe("request_id_reused", &s));

    let blocker = Connection::open(server.data_path()).expect("open");
    blocker.execute_batch("BEGIN IMMEDIATE").expect("lock");
    let mut request = tonic::Request::new(create("p-late", "r-late"));
    request
        .metadata_mut()
        .insert("grpc-timeout", "300m".parse().expect("ascii"));
    let s = err(people.create_person(request).await, "deadline");
    out.push(describe("deadline_exceeded", &s));
    blocker.execute_batch("ROLLBACK").expect("unlock");
    drop(blocker);
    server.stop().await.expect("clean stop");
}

async fn list(server: &TestServer, tenant: &str) -> Result<(), Status> {
    server
        .catalog_as(tenant)
        .list_processes(ListProcessesRequest {})
        .await
        .map(|_| ())
}

async fn overload_errors(out: &mut Vec<Value>) {
    // One slot for the server and one per tenant: a call held open as `a`
    // fills both, so `a` meets its own limit and `b` the server's.
    let server = TestServer::start_with(|c| {
        c.limits.max_in_flight = 1;
        c.limits.max_in_flight_per_tenant = 1;
        c.limits.queue_ms = 0;
        c.limits.retry_after_ms = 1500;
    })
    .await
    .expect("server starts");
    let (held, own) = hold_until_refused(server.channel(), "a", || list(&server, "a")).await;
    out.push(describe("tenant_concurrency_limit", &own));
    let global = list(&server, "b")
        .await
        .expect_err("the held call fills the server");
    out.push(describe("overloaded", &global));
    held.release().await;
    server.stop().await.expect("clean stop");
}

async fn auth_errors(out: &mut Vec<Value>) {
    let server = TestServer::start_with(|c| c.auth.api_keys = vec![key()])
        .await
        .expect("server starts");
    let s = err(
        server
            .catalog()
            .list_processes(ListProcessesRequest {})
            .await,
        "no credentials",
    );
    out.push(describe("unauthenticated", &s));
    let s = err(
        server
            .catalog_with(Headers::bearer(KEY).with("x-tutti-tenant", "other"))
            .list_processes(ListProcessesRequest {})
            .await,
        "other tenant",
    );
    out.push(describe("permission_denied", &s));
    let s = err(
        server
            .people_with(Headers::bearer(KEY))
            .delete_person(DeletePersonRequest {
                request_id: "r-del".into(),
                name: "people/p-1".into(),
            })
            .await,
        "role",
    );
    out.push(describe("role_required", &s));
    server.stop().await.expect("clean stop");
}

/// UpdateIntervention on a built-in intervention; feedback on a shadow
/// tenant's ranked item, which nobody was shown.
async fn catalog_and_shadow_errors(out: &mut Vec<Value>) {
    const SHADOW: &str = "clinic-shadow";
    let server = TestServer::start_with_modes(&[(SHADOW, TenantMode::Shadow)])
        .await
        .expect("server starts");
    let mut catalog = server.catalog();
    let mut built_in = builtin_intervention_ids(&mut catalog).await;
    built_in.sort();
    let id = built_in.first().expect("a built-in intervention").clone();
    let s = err(
        catalog
            .update_intervention(UpdateInterventionRequest {
                request_id: "r-update".into(),
                intervention: Some(valid_intervention(&id)),
                update_mask: None,
            })
            .await,
        "built in",
    );
    out.push(describe("built_in_intervention", &s));

    // The platform's own pick, which a shadow tenant must name.
    let choice = unrestricted_built_in(&mut server.catalog_as(SHADOW)).await;
    let mut people = server.people_as(SHADOW);
    let person = new_person(&mut people).await;
    record_assessment(&mut people, &person, valid_assessment(hours_ago(2))).await;
    let mut request = recommend_request(&person);
    request.platform_intervention_id = choice.id;
    let mut recs = server.recommendations_as(SHADOW);
    let answer = recommend(&mut recs, request).await;
    let unseen = answer
        .recommendations
        .first()
        .expect("the engine still ranks")
        .recommendation_id
        .clone();
    let s = err(
        recs.record_feedback(RecordFeedbackRequest {
            request_id: rid(),
            feedback: Some(feedback(&unseen, Completion::Done)),
        })
        .await,
        "shadow",
    );
    out.push(describe_redacted(
        "shadow_recommendation",
        &s,
        &[(&unseen, "<recommendation_id>")],
    ));
    server.stop().await.expect("clean stop");
}

/// A database at its size cap (`storage.max_bytes`), and one locked by
/// another process past the busy timeout.
async fn storage_errors(out: &mut Vec<Value>) {
    let server = TestServer::start_with(|c| c.storage.max_bytes = Some(1 << 20))
        .await
        .expect("server starts");
    let mut people = server.people();
    let person = new_person(&mut people).await;
    let mut full = None;
    for batch in 0..200u64 {
        let r = people
            .batch_record_assessments(BatchRecordAssessmentsRequest {
                request_id: format!("r-fill-{batch}"),
                person: person.clone(),
                assessments: assessment_series(
                    500,
                    hours_ago(1 + batch * 1000),
                    std::time::Duration::from_secs(3600),
                    batch,
                ),
            })
            .await;
        if let Err(s) = r {
            full = Some(s);
            break;
        }
    }
    let s = full.expect("1 MiB fills up");
    out.push(describe("storage_full", &s));
    server.stop().await.expect("clean stop");

    let server = TestServer::start().await.expect("server starts");
    let blocker = Connection::open(server.data_path()).expect("open");
    blocker.execute_batch("BEGIN IMMEDIATE").expect("lock");
    // No deadline: the write waits out SQLite's busy timeout.
    let s = err(
        server
            .people()
            .create_person(create("p-locked", "r-locked"))
            .await,
        "locked",
    );
    out.push(describe("storage_unavailable", &s));
    blocker.execute_batch("ROLLBACK").expect("unlock");
    drop(blocker);
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn every_error_carries_error_info_and_matches_its_golden_details() {
    let mut out = Vec::new();
    open_server_errors(&mut out).await;
    overload_errors(&mut out).await;
    auth_errors(&mut out).await;
    catalog_and_shadow_errors(&mut out).await;
    storage_errors(&mut out).await;
    for e in &out {
        assert_eq!(
            e["error_info"]["domain"], "tutti.health",
            "every error carries ErrorInfo: {e}"
        );
        assert_ne!(e["code"], "Internal", "{e}");
    }
    let malformed = &out[1];
    assert_eq!(malformed["code"], "InvalidArgument", "{malformed}");
    assert_golden("error_details", &Value::Array(out));
}
