//! Behaviour: every tenant-API call leaves one durable audit row in its own
//! tenant's trail (method, resource, status code, request id; never a
//! payload), failed calls included, and an offline tool that reads a tenant's
//! data (`tutti export`) records itself, with the operator who ran it, before
//! it reads anything.

use clap::Parser as _;
use tonic::Code;
use tutti_proto::v1::GetPersonRequest;
use tutti_tests::TestServer;
use tutti_tests::audit::trail;
use tutti_tests::fixtures::{new_person, now, record_assessment, valid_assessment};
use tutti_workbench::Cli;

#[tokio::test]
async fn calls_and_offline_reads_are_audited_in_their_own_tenant() {
    let mut server = TestServer::start().await.expect("server starts");
    let mut people = server.people_as("clinic-a");
    let person = new_person(&mut people).await;
    record_assessment(&mut people, &person, valid_assessment(now())).await;
    // Another tenant asking for clinic-a's person: NOT_FOUND, on its own trail.
    let status = server
        .people_as("clinic-b")
        .get_person(GetPersonRequest {
            name: person.clone(),
        })
        .await
        .expect_err("tenants are isolated");
    assert_eq!(status.code(), Code::NotFound);

    let out = tempfile::tempdir().expect("temp dir");
    Cli::try_parse_from([
        "tutti",
        "export",
        "--db",
        server.data_path().to_str().expect("utf-8"),
        "--tenant",
        "clinic-a",
        "--operator",
        "analyst-7",
        "--out",
        out.path().to_str().expect("utf-8"),
    ])
    .expect("arguments parse")
    .run()
    .expect("export runs");
    // Stopping drains the audit writer; a restart proves the rows are on disk.
    server.restart().await.expect("server restarts");

    let a = trail(server.data_path(), "clinic-a");
    let methods: Vec<&str> = a.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(
        methods,
        [
            "/tutti.v1.PeopleService/CreatePerson",
            "/tutti.v1.PeopleService/RecordAssessment",
            "tutti.cli/export",
        ],
        "clinic-a's trail: {a:#?}"
    );
    assert!(a[..2].iter().all(|r| r.code == 0 && r.resource == person));
    assert!(
        a[..2].iter().all(|r| r.request_id.is_some()),
        "writes carry their request id"
    );
    let export = &a[2];
    assert_eq!(
        (
            export.principal.as_str(),
            export.resource.as_str(),
            export.code
        ),
        ("analyst-7", "tenants/clinic-a", 0)
    );

    let b = trail(server.data_path(), "clinic-b");
    assert_eq!(b.len(), 1, "clinic-b's trail: {b:#?}");
    assert_eq!(b[0].method, "/tutti.v1.PeopleService/GetPerson");
    assert_eq!(b[0].code, Code::NotFound as i32);
    assert_eq!(b[0].resource, person, "the resource asked for, not found");
    server.stop().await.expect("server stops");
}

/// An operator follows one call from the platform's logs to the audit trail by
/// its `x-request-id`: the server echoes the caller's, or makes one up and
/// returns it, and the audit row carries the same.
#[tokio::test]
async fn the_x_request_id_is_echoed_and_recorded_in_the_audit_row() {
    let mut server = TestServer::start().await.expect("server starts");
    let mut catalog = server.catalog_with(
        tutti_tests::Headers::tenant("clinic-r").with("x-request-id", "platform-call-0042"),
    );
    let echoed = catalog
        .list_processes(tutti_proto::v1::ListProcessesRequest {})
        .await
        .expect("served");
    assert_eq!(
        echoed
            .metadata()
            .get("x-request-id")
            .map(|v| v.to_str().expect("ascii")),
        Some("platform-call-0042")
    );
    let made_up = server
        .catalog_as("clinic-r")
        .list_processes(tutti_proto::v1::ListProcessesRequest {})
        .await
        .expect("served");
    let generated = made_up
        .metadata()
        .get("x-request-id")
        .expect("a request id is made up when the caller sends none")
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(!generated.is_empty() && generated != "platform-call-0042");
    server.restart().await.expect("server restarts");
    let ids: Vec<String> = trail(server.data_path(), "clinic-r")
        .into_iter()
        .filter(|r| r.method.ends_with("ListProcesses"))
        .map(|r| r.call_id)
        .collect();
    assert!(ids.contains(&"platform-call-0042".to_owned()), "{ids:?}");
    assert!(ids.contains(&generated), "{ids:?}");
}
