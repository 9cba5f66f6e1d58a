//! Behaviour: the errors of a real `tutti serve` carry their details over a
//! real socket: an invalid request is INVALID_ARGUMENT with
//! `google.rpc.BadRequest` field violations naming the bad field and
//! `google.rpc.ErrorInfo{reason, domain}`; a body that does not decode as the
//! method's message is INVALID_ARGUMENT (`MALFORMED_REQUEST`), never INTERNAL.
//! (`tests/tests/it/error_details.rs` holds the golden details of every error,
//! in process.)

use crate::support::{self, raw::call_raw};

use tonic::Code;
use tonic::metadata::MetadataMap;
use tonic_types::StatusExt as _;
use tutti_proto::v1::CreatePersonRequest;
use tutti_proto::v1::people_service_client::PeopleServiceClient;

/// The `ErrorInfo` domain of every Tutti error (a contract with clients).
const DOMAIN: &str = "tutti.health";

/// `(reason, domain)` of the status's `ErrorInfo`, if it has one.
fn error_info(s: &tonic::Status) -> Option<(String, String)> {
    s.get_error_details()
        .error_info()
        .map(|i| (i.reason.clone(), i.domain.clone()))
}

#[tokio::test]
async fn invalid_and_undecodable_requests_are_invalid_argument_with_details() {
    let dir = support::temp_dir();
    let server = support::Server::spawn(support::serve_command(&support::db_path(dir.path()), &[]))
        .await
        .expect("tutti serve starts");

    let invalid = PeopleServiceClient::new(server.channel())
        .create_person(CreatePersonRequest {
            request_id: "bad-id-1".into(),
            person_id: "not a valid id!".into(),
            conditions: vec![],
        })
        .await
        .expect_err("a person id with spaces");
    assert_eq!(invalid.code(), Code::InvalidArgument, "{invalid:?}");
    let details = invalid.get_error_details();
    let fields: Vec<&str> = details
        .bad_request()
        .map(|b| {
            b.field_violations
                .iter()
                .map(|v| v.field.as_str())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(fields, ["person_id"], "{invalid:?}");
    assert_eq!(
        error_info(&invalid),
        Some(("INVALID_REQUEST".into(), DOMAIN.into())),
        "{invalid:?}"
    );

    // Field 1 (request_id, a string) whose length varint never ends.
    for path in [
        "/tutti.v1.PeopleService/CreatePerson",
        "/tutti.v1.PeopleService/RecordAssessment",
        "/tutti.v1.RecommendationService/Recommend",
    ] {
        let malformed = call_raw(
            server.channel(),
            path,
            vec![0x0a, 0xff, 0xff, 0xff],
            MetadataMap::new(),
        )
        .await
        .expect_err("bytes that do not decode");
        assert_eq!(
            malformed.code(),
            Code::InvalidArgument,
            "{path}: {malformed:?}"
        );
        assert_eq!(
            error_info(&malformed),
            Some(("MALFORMED_REQUEST".into(), DOMAIN.into())),
            "{path}: {malformed:?}"
        );
    }

    server.stop_cleanly().await;
}
