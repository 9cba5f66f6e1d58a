//! Behaviour: on SIGTERM the real server turns its health to NOT_SERVING at
//! once while still serving calls for `shutdown.drain_seconds`, then closes
//! the listener, lets a call that was in flight finish, and exits 0.

use crate::support;

use std::time::Duration;
use tonic_health::pb::health_check_response::ServingStatus;

const NOT_SERVING: i32 = ServingStatus::NotServing as i32;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::codegen::http::uri::PathAndQuery;
use tutti_proto::codec::TuttiCodec;
use tutti_proto::v1::catalog_service_client::CatalogServiceClient;
use tutti_proto::v1::people_service_client::PeopleServiceClient;
use tutti_proto::v1::{
    CreatePersonRequest, CreatePersonResponse, GetPersonRequest, ListProcessesRequest,
};

#[tokio::test]
async fn sigterm_reports_not_serving_then_drains_then_stops() {
    let dir = support::temp_dir();
    let mut cmd = support::serve_command(&support::db_path(dir.path()), &[]);
    cmd.env("TUTTI_SHUTDOWN__DRAIN_SECONDS", "3")
        .env("TUTTI_SHUTDOWN__GRACE_SECONDS", "30");
    let server = support::Server::spawn(cmd).await.expect("starts");
    let channel = server.channel();

    // A call in flight across the shutdown: its headers are sent now, its
    // message only once the listener has closed.
    let (tx, rx) = mpsc::channel::<CreatePersonRequest>(1);
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready().await.expect("ready");
    let in_flight = tokio::spawn(async move {
        grpc.client_streaming::<_, CreatePersonRequest, CreatePersonResponse, _>(
            tonic::Request::new(ReceiverStream::new(rx)),
            PathAndQuery::from_static("/tutti.v1.PeopleService/CreatePerson"),
            TuttiCodec::<CreatePersonRequest, CreatePersonResponse>::default(),
        )
        .await
    });

    server.signal("TERM").expect("SIGTERM");
    let mut not_serving = false;
    for _ in 0..400 {
        if matches!(server.health().await, Ok(s) if s == NOT_SERVING) {
            not_serving = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(not_serving, "health never turned NOT_SERVING after SIGTERM");
    // Draining: still serving calls.
    CatalogServiceClient::new(channel.clone())
        .list_processes(ListProcessesRequest {})
        .await
        .expect("calls are still served while draining");

    // Once the listener has closed, the call in flight still completes.
    let mut closed = false;
    for _ in 0..600 {
        if server.log_text().contains("listener closed") {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(closed, "the listener never closed:\n{}", server.log_text());
    tx.send(CreatePersonRequest {
        request_id: "shutdown-1".into(),
        person_id: "p-in-flight".into(),
        conditions: vec![],
    })
    .await
    .expect("send the held message");
    drop(tx);
    let created = in_flight
        .await
        .expect("task")
        .expect("the call in flight finished during the grace period");
    assert_eq!(
        created.into_inner().person.map(|p| p.name),
        Some("people/p-in-flight".to_owned())
    );

    let (status, log) = server
        .wait_exit(Duration::from_secs(60))
        .await
        .expect("exits by itself");
    assert!(status.success(), "exit status {status}:\n{log}");
    let order = [
        "SIGTERM received",
        "NOT_SERVING, draining",
        "listener closed",
        "stopped",
    ];
    let mut at = 0;
    for step in order {
        let found = log[at..]
            .find(step)
            .unwrap_or_else(|| panic!("`{step}` missing or out of order in the log:\n{log}"));
        at += found;
    }

    // The write made during the grace period is durable.
    let server = support::Server::spawn(support::serve_command(&support::db_path(dir.path()), &[]))
        .await
        .expect("restarts");
    PeopleServiceClient::new(server.channel())
        .get_person(GetPersonRequest {
            name: "people/p-in-flight".into(),
        })
        .await
        .expect("the person written in flight is there after the restart");
}
