//! Behaviour: `tutti serve` configured from a file with a login issuer
//! (`[[auth.jwt]]`, a JWK Set file) takes bearer access tokens signed with its
//! keys: the roles in a token's claims decide what it may do, its tenant claim
//! decides the tenant (a header naming another cannot), and an expired token,
//! an `alg: none` token and an HS256 token "signed" with the public key are
//! refused. The JWK Set file rewritten under the running process (key
//! rotation) is picked up by the polling reloader: the new key's tokens are
//! accepted and the removed key's refused, with no restart or signal.

use crate::support::jwt::{self, AUDIENCE, ISSUER, Key, access_token, now_secs};
use crate::support::{self, Headers};

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tutti_proto::v1::catalog_service_client::CatalogServiceClient;
use tutti_proto::v1::people_service_client::PeopleServiceClient;
use tutti_proto::v1::{CreatePersonRequest, GetPersonRequest, ListProcessesRequest};

type People = PeopleServiceClient<InterceptedService<Channel, Headers>>;

/// A JWK Set file at `path` holding the test keys named by `kids` only.
fn write_jwks(path: &Path, kids: &[&str]) {
    let mut set: Value = serde_json::from_str(jwt::JWKS).expect("the fixture JWK Set");
    set["keys"]
        .as_array_mut()
        .expect("keys")
        .retain(|k| kids.contains(&k["kid"].as_str().unwrap_or_default()));
    assert_eq!(set["keys"].as_array().map(Vec::len), Some(kids.len()));
    // Written beside and renamed over, as a deployment would, so the server
    // never reads half a file.
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, set.to_string()).expect("JWK Set file");
    std::fs::rename(&tmp, path).expect("JWK Set in place");
}

/// A `tutti serve` trusting [`ISSUER`]'s keys in `dir/login-jwks.json`
/// (holding `kids`), re-reading that file every `reload_seconds`.
async fn start(dir: &Path, kids: &[&str], reload_seconds: u64) -> (support::Server, PathBuf) {
    let jwks = dir.join("login-jwks.json");
    write_jwks(&jwks, kids);
    let config = support::write_config(
        dir,
        &format!(
            "[tls]\nreload_seconds = {reload_seconds}\n\n\
             [[auth.jwt]]\nissuer = {ISSUER:?}\naudience = {AUDIENCE:?}\njwks_path = {jwks:?}\n"
        ),
    );
    let cmd = support::serve_command(
        &support::db_path(dir),
        &["--config", config.to_str().expect("utf-8 path")],
    );
    let server = support::Server::spawn(cmd)
        .await
        .expect("tutti serve starts with a login issuer");
    (server, jwks)
}

fn people(server: &support::Server, headers: Headers) -> People {
    PeopleServiceClient::with_interceptor(server.channel(), headers)
}

fn create(person_id: &str) -> CreatePersonRequest {
    CreatePersonRequest {
        request_id: format!("create-{person_id}"),
        person_id: person_id.into(),
        conditions: vec![],
    }
}

async fn get(people: &mut People, person_id: &str) -> Result<(), tonic::Status> {
    people
        .get_person(GetPersonRequest {
            name: format!("people/{person_id}"),
        })
        .await
        .map(drop)
}

fn code<T>(r: Result<T, tonic::Status>) -> Option<Code> {
    r.err().map(|s| s.code())
}

#[tokio::test]
async fn bearer_tokens_act_for_their_claims_and_forged_or_expired_ones_are_refused() {
    let dir = support::temp_dir();
    let (server, _) = start(dir.path(), &[Key::Rsa.kid(), Key::Es256.kid()], 30).await;
    let reader = access_token("reader", "acme", &["read"]).sign();
    let writer = access_token("writer", "acme", &["read", "write"])
        .key(Key::Es256)
        .sign();
    let other = access_token("other", "beta", &["read", "write"]).sign();

    people(&server, Headers::bearer(&writer))
        .create_person(create("p-jwt-1"))
        .await
        .expect("a token with write creates a person");
    get(&mut people(&server, Headers::bearer(&reader)), "p-jwt-1")
        .await
        .expect("a token with read reads it");
    let denied = people(&server, Headers::bearer(&reader))
        .create_person(create("p-jwt-2"))
        .await
        .expect_err("a read-only token writing");
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");

    // The tenant is the token's: a header naming another is refused, and
    // nothing written by one tenant's token is seen by the other's.
    let r = people(
        &server,
        Headers::bearer(&other).with("x-tutti-tenant", "acme"),
    )
    .create_person(create("p-jwt-3"))
    .await;
    assert_eq!(
        code(r),
        Some(Code::PermissionDenied),
        "beta's token claiming acme"
    );
    let r = get(
        &mut people(
            &server,
            Headers::bearer(&other).with("x-tutti-tenant", "acme"),
        ),
        "p-jwt-1",
    )
    .await;
    assert_eq!(
        code(r),
        Some(Code::PermissionDenied),
        "beta's token reading as acme"
    );
    let r = get(&mut people(&server, Headers::bearer(&other)), "p-jwt-1").await;
    assert_eq!(
        code(r),
        Some(Code::NotFound),
        "beta's token sees acme's person"
    );
    people(&server, Headers::bearer(&other))
        .create_person(create("p-jwt-3"))
        .await
        .expect("beta's token writes in beta");
    let r = get(&mut people(&server, Headers::bearer(&reader)), "p-jwt-3").await;
    assert_eq!(
        code(r),
        Some(Code::NotFound),
        "acme's token sees beta's person"
    );

    let now = now_secs();
    let base = || access_token("reader", "acme", &["read"]);
    for (what, token) in [
        ("expired", base().claim("exp", json!(now - 600)).sign()),
        ("alg none", base().unsigned()),
        (
            "HS256 with the public key as secret",
            base().sign_hs256_with_public_key(),
        ),
        ("no token", String::new()),
    ] {
        let headers = if token.is_empty() {
            Headers::default()
        } else {
            Headers::bearer(&token)
        };
        let r = CatalogServiceClient::with_interceptor(server.channel(), headers.clone())
            .list_processes(ListProcessesRequest {})
            .await;
        assert_eq!(code(r), Some(Code::Unauthenticated), "{what} (read)");
        let r = people(&server, headers)
            .create_person(create("p-jwt-4"))
            .await;
        assert_eq!(code(r), Some(Code::Unauthenticated), "{what} (write)");
    }
    let r = get(&mut people(&server, Headers::bearer(&writer)), "p-jwt-4").await;
    assert_eq!(code(r), Some(Code::NotFound), "a refused token wrote");

    server.stop_cleanly().await;
}

#[tokio::test]
async fn a_rotated_jwks_file_is_reloaded_while_serving() {
    let dir = support::temp_dir();
    let (server, jwks) = start(dir.path(), &[Key::Rsa.kid()], 1).await;
    let old = access_token("reader", "acme", &["read"]).sign();
    let new = access_token("reader", "acme", &["read"])
        .key(Key::Es256)
        .sign();
    let list = |token: &str| {
        let mut catalog =
            CatalogServiceClient::with_interceptor(server.channel(), Headers::bearer(token));
        async move { catalog.list_processes(ListProcessesRequest {}).await }
    };
    list(&old).await.expect("the configured key's token");
    assert_eq!(
        code(list(&new).await),
        Some(Code::Unauthenticated),
        "a key not in the file yet"
    );

    // Rotation: the file now holds the new key only.
    write_jwks(&jwks, &[Key::Es256.kid()]);
    let mut accepted = false;
    for _ in 0..300 {
        if list(&new).await.is_ok() {
            accepted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        accepted,
        "the new key's token is still refused 30 s after the JWK Set file changed\n{}",
        server.log_text()
    );
    assert_eq!(
        code(list(&old).await),
        Some(Code::Unauthenticated),
        "the removed key's token is still accepted"
    );
    assert!(
        server.log_text().contains("JWK Set reloaded"),
        "{}",
        server.log_text()
    );
}
