//! Behaviour: the server answers the standard gRPC health check and server
//! reflection (so `grpcurl` works with no proto files at hand), and stops
//! cleanly through its shutdown future.

use prost::Message as _;
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
use tutti_tests::TestServer;
use tutti_tests::assertions::expect_code;

const TUTTI_SERVICES: [&str; 3] = [
    "tutti.v1.CatalogService",
    "tutti.v1.PeopleService",
    "tutti.v1.RecommendationService",
];

async fn start() -> TestServer {
    TestServer::start().await.expect("server starts")
}

/// Sends one reflection request and returns the single response.
async fn reflect(server: &TestServer, request: MessageRequest) -> MessageResponse {
    let req = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(request),
    };
    let mut stream = server
        .reflection()
        .server_reflection_info(tokio_stream::iter(vec![req]))
        .await
        .expect("ServerReflectionInfo opens")
        .into_inner();
    let resp = stream
        .message()
        .await
        .expect("reflection stream answers")
        .expect("reflection stream yields one response");
    resp.message_response
        .expect("reflection response has a message")
}

#[tokio::test]
async fn health_check_reports_serving_for_the_whole_server() {
    let server = start().await;
    let resp = server
        .health()
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("health check answers")
        .into_inner();
    assert_eq!(resp.status, ServingStatus::Serving as i32);
    server.stop().await.expect("server stops cleanly");
}

#[tokio::test]
async fn health_check_reports_serving_for_each_tutti_service() {
    let server = start().await;
    for service in TUTTI_SERVICES {
        let resp = server
            .health()
            .check(HealthCheckRequest {
                service: service.to_owned(),
            })
            .await
            .unwrap_or_else(|s| panic!("health check for {service}: {s:?}"))
            .into_inner();
        assert_eq!(
            resp.status,
            ServingStatus::Serving as i32,
            "{service} is not SERVING"
        );
    }
}

#[tokio::test]
async fn health_check_for_an_unknown_service_returns_not_found() {
    let server = start().await;
    let result = server
        .health()
        .check(HealthCheckRequest {
            service: "no.such.Service".to_owned(),
        })
        .await;
    expect_code(
        result,
        Code::NotFound,
        "health check for an unknown service",
    );
}

#[tokio::test]
async fn reflection_lists_the_tutti_services_and_health() {
    let server = start().await;
    let MessageResponse::ListServicesResponse(list) =
        reflect(&server, MessageRequest::ListServices(String::new())).await
    else {
        panic!("ListServices answered with something else");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for expected in TUTTI_SERVICES.into_iter().chain(["grpc.health.v1.Health"]) {
        assert!(
            names.iter().any(|n| n == expected),
            "reflection does not list {expected}; it lists {names:?}"
        );
    }
}

#[tokio::test]
async fn reflection_serves_the_descriptor_of_each_tutti_service() {
    let server = start().await;
    for (service, method) in [
        ("tutti.v1.PeopleService", "CreatePerson"),
        ("tutti.v1.CatalogService", "ListInterventions"),
        ("tutti.v1.RecommendationService", "Recommend"),
    ] {
        let MessageResponse::FileDescriptorResponse(files) = reflect(
            &server,
            MessageRequest::FileContainingSymbol(service.to_owned()),
        )
        .await
        else {
            panic!("FileContainingSymbol({service}) answered with something else");
        };
        let short = service.trim_start_matches("tutti.v1.");
        let found = files
            .file_descriptor_proto
            .iter()
            .map(|bytes| {
                prost_types::FileDescriptorProto::decode(bytes.as_slice())
                    .expect("reflection returns valid FileDescriptorProto bytes")
            })
            .filter(|f| f.package() == "tutti.v1")
            .flat_map(|f| f.service)
            .find(|s| s.name() == short)
            .unwrap_or_else(|| panic!("no descriptor for {service}"));
        assert!(
            found.method.iter().any(|m| m.name() == method),
            "{service} descriptor lacks {method}"
        );
    }
}

#[tokio::test]
async fn reflection_for_an_unknown_symbol_reports_not_found() {
    let server = start().await;
    let req = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::FileContainingSymbol(
            "tutti.v1.NoSuchService".to_owned(),
        )),
    };
    let mut stream = server
        .reflection()
        .server_reflection_info(tokio_stream::iter(vec![req]))
        .await
        .expect("ServerReflectionInfo opens")
        .into_inner();
    // Either an in-band ErrorResponse or a NOT_FOUND status on the stream.
    match stream.message().await {
        Ok(Some(resp)) => match resp.message_response {
            Some(MessageResponse::ErrorResponse(err)) => {
                assert_eq!(err.error_code, Code::NotFound as i32)
            }
            other => panic!("expected NOT_FOUND for an unknown symbol, got {other:?}"),
        },
        Ok(None) => panic!("the reflection stream ended without an answer"),
        Err(status) => assert_eq!(status.code(), Code::NotFound, "{status:?}"),
    }
}

#[tokio::test]
async fn server_stops_cleanly_through_its_shutdown_future_and_releases_the_port() {
    let server = start().await;
    let addr = server.addr();
    server
        .stop()
        .await
        .expect("serve returns Ok after shutdown");
    let connect = tokio::net::TcpStream::connect(addr).await;
    assert!(
        connect.is_err(),
        "the port {addr} still accepts connections after shutdown"
    );
}
