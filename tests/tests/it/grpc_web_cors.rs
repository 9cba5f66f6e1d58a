//! Browsers reach the same gRPC API through gRPC-Web on the same port, from
//! the configured origins only (CORS); plain gRPC keeps working beside it.

use prost::Message;
use tutti_proto::v1::{ListProcessesRequest, ListProcessesResponse};
use tutti_tests::TestServer;

const ORIGIN: &str = "http://app.test.example";
const METHOD: &str = "/tutti.v1.CatalogService/ListProcesses";

async fn start() -> anyhow::Result<TestServer> {
    TestServer::start_with(|c| c.http.cors_origins = vec![ORIGIN.into()]).await
}

#[tokio::test]
async fn a_preflight_from_a_configured_origin_is_allowed_and_others_are_not() -> anyhow::Result<()>
{
    let server = start().await?;
    let client = tutti_tests::ehr::http();
    let preflight = |origin: &str| {
        client
            .request(
                reqwest::Method::OPTIONS,
                format!("{}{METHOD}", server.base_url()),
            )
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type,x-grpc-web,x-tutti-tenant,authorization",
            )
            .send()
    };
    let ok = preflight(ORIGIN).await?;
    assert!(ok.status().is_success(), "{}", ok.status());
    assert_eq!(ok.headers()["access-control-allow-origin"], ORIGIN);
    let allowed = ok.headers()["access-control-allow-headers"]
        .to_str()?
        .to_owned();
    for h in [
        "x-grpc-web",
        "x-tutti-tenant",
        "authorization",
        "content-type",
    ] {
        assert!(allowed.contains(h), "{h} not in {allowed}");
    }
    let other = preflight("http://evil.example").await?;
    assert!(other.headers().get("access-control-allow-origin").is_none());
    server.stop().await
}

#[tokio::test]
async fn a_grpc_web_call_over_http1_gets_the_same_answer_as_grpc() -> anyhow::Result<()> {
    let server = start().await?;
    let message = ListProcessesRequest::default().encode_to_vec();
    let mut frame = vec![0u8];
    frame.extend_from_slice(&u32::try_from(message.len())?.to_be_bytes());
    frame.extend_from_slice(&message);
    let r = tutti_tests::ehr::http()
        .post(format!("{}{METHOD}", server.base_url()))
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .header("origin", ORIGIN)
        .body(frame)
        .send()
        .await?;
    assert_eq!(r.status(), 200);
    assert_eq!(r.version(), reqwest::Version::HTTP_11);
    assert_eq!(r.headers()["access-control-allow-origin"], ORIGIN);
    let body = r.bytes().await?;
    assert_eq!(body[0], 0, "first frame is the message");
    let len = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
    let web = ListProcessesResponse::decode(&body[5..5 + len])?;
    let trailers = String::from_utf8_lossy(&body[5 + len + 5..]).to_lowercase();
    assert!(trailers.contains("grpc-status:0"), "{trailers}");
    let grpc = server
        .catalog()
        .list_processes(ListProcessesRequest::default())
        .await?
        .into_inner();
    assert_eq!(web, grpc);
    server.stop().await
}
