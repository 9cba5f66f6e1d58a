//! Behaviour: with API keys configured, the tenant API needs
//! `authorization: Bearer <key>` and each key acts for its own tenant only;
//! health and reflection stay open. With auth off, a malformed tenant header
//! is rejected.

use sha2::{Digest, Sha256};
use tonic::Code;
use tutti_proto::v1::{GetPersonRequest, ListProcessesRequest};
use tutti_server::config::ApiKeyConfig;
use tutti_tests::assertions::{expect_code, expect_invalid_field};
use tutti_tests::fixtures::{create_person, get_person, new_person_id, person_name};
use tutti_tests::{Headers, TestServer};

const ACME_KEY: &str = "acme-secret-key-0123456789";
const BETA_KEY: &str = "beta-secret-key-9876543210";

fn key(secret: &str, tenant: &str) -> ApiKeyConfig {
    ApiKeyConfig {
        sha256: Sha256::digest(secret.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
        tenant: tenant.to_owned(),
        principal: None,
        roles: None,
    }
}

async fn start_with_keys() -> TestServer {
    TestServer::start_with(|c| {
        c.auth.api_keys = vec![key(ACME_KEY, "acme"), key(BETA_KEY, "beta")];
    })
    .await
    .expect("server with API keys starts (health stays open)")
}

#[tokio::test]
async fn without_credentials_the_tenant_api_is_unauthenticated() {
    let server = start_with_keys().await;
    let result = server
        .catalog()
        .list_processes(ListProcessesRequest {})
        .await;
    expect_code(result, Code::Unauthenticated, "no authorization header");
    let result = server
        .catalog_with(Headers::bearer("not-a-key"))
        .list_processes(ListProcessesRequest {})
        .await;
    expect_code(result, Code::Unauthenticated, "unknown key");
    let result = server
        .catalog_with(Headers::none().with("authorization", ACME_KEY))
        .list_processes(ListProcessesRequest {})
        .await;
    expect_code(
        result,
        Code::Unauthenticated,
        "key without the Bearer scheme",
    );
}

#[tokio::test]
async fn a_key_acts_for_its_own_tenant_only() {
    let server = start_with_keys().await;
    let id = new_person_id();
    create_person(&mut server.people_with(Headers::bearer(ACME_KEY)), &id, &[]).await;
    get_person(
        &mut server.people_with(Headers::bearer(ACME_KEY).with("x-tutti-tenant", "acme")),
        &person_name(&id),
    )
    .await;
    let result = server
        .people_with(Headers::bearer(BETA_KEY))
        .get_person(GetPersonRequest {
            name: person_name(&id),
        })
        .await;
    expect_code(result, Code::NotFound, "beta's key reading acme's person");
    let result = server
        .people_with(Headers::bearer(BETA_KEY).with("x-tutti-tenant", "acme"))
        .get_person(GetPersonRequest {
            name: person_name(&id),
        })
        .await;
    expect_code(
        result,
        Code::PermissionDenied,
        "beta's key claiming tenant acme",
    );
}

#[tokio::test]
async fn health_and_reflection_stay_open_without_credentials() {
    let server = start_with_keys().await;
    let resp = server
        .health()
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("health answers without credentials")
        .into_inner();
    assert_eq!(
        resp.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
    let req = tonic_reflection::pb::v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            tonic_reflection::pb::v1::server_reflection_request::MessageRequest::ListServices(
                String::new(),
            ),
        ),
    };
    let mut stream = server
        .reflection()
        .server_reflection_info(tokio_stream::iter(vec![req]))
        .await
        .expect("reflection answers without credentials")
        .into_inner();
    assert!(stream.message().await.expect("reflection").is_some());
}

#[tokio::test]
async fn a_malformed_tenant_header_is_invalid_argument() {
    let server = TestServer::start().await.expect("server starts");
    for bad in ["has space", "a/b", &"t".repeat(65)] {
        let result = server
            .catalog_as(bad)
            .list_processes(ListProcessesRequest {})
            .await;
        expect_invalid_field(result, "x-tutti-tenant", &format!("tenant {bad:?}"));
    }
}
