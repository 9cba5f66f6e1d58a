//! Behaviour: past `limits.max_in_flight_per_tenant` a tenant's calls wait
//! up to `limits.queue_ms` for a slot and are served when one frees; after
//! that they are shed with RESOURCE_EXHAUSTED, past `limits.max_in_flight`
//! every call with UNAVAILABLE, both with `RetryInfo` and `ErrorInfo`, while
//! other tenants go on; shed calls are counted in the metrics; once the load
//! is gone calls are served again.
//!
//! Load is a call held open: its headers (and so its admission) go out at
//! once, its message only when the test releases it.

use std::time::Duration;
use tonic::{Code, Status};
use tonic_types::StatusExt as _;
use tutti_proto::v1::ListProcessesRequest;
use tutti_tests::TestServer;
use tutti_tests::raw::{Held, hold_until_refused};

async fn list(server: &TestServer, tenant: &str) -> Result<(), Status> {
    server
        .catalog_as(tenant)
        .list_processes(ListProcessesRequest {})
        .await
        .map(|_| ())
}

fn assert_shed(status: &Status, code: Code, reason: &str) {
    assert_eq!(status.code(), code, "{status:?}");
    let details = status.get_error_details();
    let info = details.error_info().expect("ErrorInfo");
    assert_eq!(info.reason, reason);
    let retry = details.retry_info().expect("RetryInfo");
    assert_eq!(retry.retry_delay, Some(Duration::from_millis(250)));
}

#[tokio::test]
async fn a_tenant_past_its_limit_is_shed_with_resource_exhausted_and_others_go_on() {
    let server = TestServer::start_with(|c| {
        c.limits.max_in_flight_per_tenant = 1;
        c.limits.queue_ms = 20;
        c.limits.retry_after_ms = 250;
    })
    .await
    .expect("server starts");
    let (held, refused) =
        hold_until_refused(server.channel(), "busy", || list(&server, "busy")).await;
    assert_shed(
        &refused,
        Code::ResourceExhausted,
        "TENANT_CONCURRENCY_LIMIT",
    );
    list(&server, "calm")
        .await
        .expect("another tenant is served meanwhile");

    let metrics = reqwest::get(format!("{}/metrics", server.base_url()))
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("body");
    let shed_line = metrics
        .lines()
        .find(|l| l.starts_with("tutti_shed") && l.contains("scope=\"tenant\""))
        .unwrap_or_else(|| panic!("no tenant shed counter in:\n{metrics}"));
    assert!(
        shed_line.contains("ListProcesses") && !shed_line.contains("busy"),
        "labelled by method, never by tenant: {shed_line}"
    );

    held.release().await;
    list(&server, "busy")
        .await
        .expect("served again once the load is gone");
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn past_the_global_limit_calls_are_shed_with_unavailable() {
    let server = TestServer::start_with(|c| {
        c.limits.max_in_flight = 1;
        c.limits.queue_ms = 0;
        c.limits.retry_after_ms = 250;
    })
    .await
    .expect("server starts");
    let (held, refused) =
        hold_until_refused(server.channel(), "tenant-a", || list(&server, "tenant-b")).await;
    assert_shed(&refused, Code::Unavailable, "OVERLOADED");
    held.release().await;
    list(&server, "tenant-b")
        .await
        .expect("served again once the load is gone");
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn a_call_past_the_tenant_s_limit_waits_for_a_slot_and_is_served() {
    let server = TestServer::start_with(|c| {
        c.limits.max_in_flight_per_tenant = 1;
        c.limits.queue_ms = 60_000;
    })
    .await
    .expect("server starts");
    let held = Held::open(server.channel(), "busy").await;
    // Its headers are out at once; give the server a moment to admit it.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let waiting = tokio::spawn({
        let mut catalog = server.catalog_as("busy");
        async move { catalog.list_processes(ListProcessesRequest {}).await }
    });
    // Still queued behind the held call: not served, not shed.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !waiting.is_finished(),
        "the call waits for the tenant's slot"
    );
    held.release().await;
    tokio::time::timeout(Duration::from_secs(30), waiting)
        .await
        .expect("served once the slot is free")
        .expect("task")
        .expect("served, not shed");
    server.stop().await.expect("clean stop");
}
