//! Behaviour: OAuth2 bearer access tokens (RS256, ES256) from a configured
//! JWK Set authenticate API calls; `iss`, `aud`, `exp` and `nbf` are checked;
//! `alg: none` and HMAC "signed" with the public key are refused; tenant and
//! roles come only from verified claims; each RPC needs its role (read,
//! write, admin for the catalogue, erase).

use serde_json::json;
use tonic::Code;
use tutti_proto::v1::{
    CreatePersonRequest, DeletePersonRequest, GetPersonRequest, ListProcessesRequest,
};
use tutti_tests::assertions::expect_code;
use tutti_tests::ehr::{Key, now_secs};
use tutti_tests::fixtures::{
    create_intervention, create_person, new_intervention_id, new_person_id, person_name, rid,
    valid_intervention,
};
use tutti_tests::tokens::{self, access_token};
use tutti_tests::{Headers, TestServer};

async fn start() -> TestServer {
    TestServer::start_with(tokens::configure)
        .await
        .expect("server with a login issuer starts")
}

fn bearer(token: &str) -> Headers {
    Headers::bearer(token)
}

#[tokio::test]
async fn rs256_and_es256_tokens_act_for_the_tenant_in_their_claims() {
    let server = start().await;
    let rsa = access_token("alice", "acme", &["read", "write"]).sign();
    let ec = access_token("bob", "acme", &["read"])
        .key(Key::Es256)
        .sign();
    let id = new_person_id();
    create_person(&mut server.people_with(bearer(&rsa)), &id, &[]).await;
    server
        .people_with(bearer(&ec))
        .get_person(GetPersonRequest {
            name: person_name(&id),
        })
        .await
        .expect("an ES256 token of the same tenant reads the person");
    // Another tenant's token does not see it, and a header cannot switch tenants.
    let other = access_token("carol", "beta", &["read"]).sign();
    let r = server
        .people_with(bearer(&other))
        .get_person(GetPersonRequest {
            name: person_name(&id),
        })
        .await;
    expect_code(r, Code::NotFound, "beta's token reading acme's person");
    let r = server
        .people_with(bearer(&other).with("x-tutti-tenant", "acme"))
        .get_person(GetPersonRequest {
            name: person_name(&id),
        })
        .await;
    expect_code(
        r,
        Code::PermissionDenied,
        "beta's token claiming acme by header",
    );
}

#[tokio::test]
async fn tokens_failing_any_check_are_unauthenticated() {
    let server = start().await;
    let now = now_secs();
    let base = || access_token("alice", "acme", &["read"]);
    let cases = [
        ("no token", None),
        (
            "wrong issuer",
            Some(base().claim("iss", json!("https://evil.example")).sign()),
        ),
        (
            "wrong audience",
            Some(base().claim("aud", json!("another-api")).sign()),
        ),
        (
            "expired",
            Some(base().claim("exp", json!(now - 600)).sign()),
        ),
        (
            "not yet valid",
            Some(base().claim("nbf", json!(now + 600)).sign()),
        ),
        (
            "no exp",
            Some({
                let mut t = base();
                t.claims.as_object_mut().expect("claims").remove("exp");
                t.sign()
            }),
        ),
        ("alg none", Some(base().unsigned())),
        (
            "HS256 with the public key as secret",
            Some(base().sign_hs256_with_public_key()),
        ),
        (
            "key not in the JWK Set",
            Some(base().key(Key::RsaImpostor).sign()),
        ),
        (
            "tampered payload",
            Some({
                let good = base().sign();
                let other = base().claim("tenant", json!("beta")).sign();
                let g: Vec<&str> = good.split('.').collect();
                let o: Vec<&str> = other.split('.').collect();
                format!("{}.{}.{}", g[0], o[1], g[2])
            }),
        ),
        (
            "no tenant claim",
            Some({
                let mut t = base();
                t.claims.as_object_mut().expect("claims").remove("tenant");
                t.sign()
            }),
        ),
    ];
    for (what, token) in cases {
        let headers = match &token {
            Some(t) => bearer(t),
            None => Headers::none(),
        };
        let r = server
            .catalog_with(headers)
            .list_processes(ListProcessesRequest {})
            .await;
        expect_code(r, Code::Unauthenticated, what);
    }
    // The control: the base token itself is accepted.
    server
        .catalog_with(bearer(&base().sign()))
        .list_processes(ListProcessesRequest {})
        .await
        .expect("the untampered token is accepted");
}

#[tokio::test]
async fn each_rpc_needs_its_role() {
    let server = start().await;
    let reader = access_token("r", "acme", &["read"]).sign();
    let writer = access_token("w", "acme", &["read", "write"]).sign();
    let admin = access_token("a", "acme", &["admin"]).sign();
    let eraser = access_token("e", "acme", &["erase"]).sign();
    // A space-separated string works as well as an array.
    let space = access_token("s", "acme", &[])
        .claim("roles", json!("read write"))
        .sign();

    let id = new_person_id();
    let create = |token: &str| {
        let mut people = server.people_with(bearer(token));
        let id = id.clone();
        async move {
            people
                .create_person(CreatePersonRequest {
                    request_id: rid(),
                    person_id: id,
                    conditions: vec![],
                })
                .await
        }
    };
    expect_code(
        create(&reader).await,
        Code::PermissionDenied,
        "read-only token writing",
    );
    expect_code(
        create(&admin).await,
        Code::PermissionDenied,
        "admin-only token writing a person",
    );
    create(&writer).await.expect("writer creates a person");
    server
        .people_with(bearer(&space))
        .get_person(GetPersonRequest {
            name: person_name(&id),
        })
        .await
        .expect("space-separated roles read");
    let r = server
        .people_with(bearer(&eraser))
        .get_person(GetPersonRequest {
            name: person_name(&id),
        })
        .await;
    expect_code(r, Code::PermissionDenied, "erase-only token reading");

    // The catalogue: admin only.
    let r = server
        .catalog_with(bearer(&writer))
        .create_intervention(tutti_proto::v1::CreateInterventionRequest {
            request_id: rid(),
            intervention: Some(valid_intervention(&new_intervention_id("x"))),
        })
        .await;
    expect_code(r, Code::PermissionDenied, "writer changing the catalogue");
    create_intervention(
        &mut server.catalog_with(bearer(&admin)),
        valid_intervention(&new_intervention_id("x")),
    )
    .await;

    // Erasure: erase only.
    let delete = |token: &str| {
        let mut people = server.people_with(bearer(token));
        let name = person_name(&id);
        async move {
            people
                .delete_person(DeletePersonRequest {
                    request_id: rid(),
                    name,
                })
                .await
        }
    };
    let denied = expect_code(
        delete(&writer).await,
        Code::PermissionDenied,
        "writer erasing",
    );
    assert!(denied.message().contains("erase"), "{}", denied.message());
    delete(&eraser).await.expect("eraser erases");
    // No roles claim at all: nothing is allowed.
    let none = access_token("n", "acme", &[]).sign();
    let r = server
        .catalog_with(bearer(&none))
        .list_processes(ListProcessesRequest {})
        .await;
    expect_code(r, Code::PermissionDenied, "token without roles");
}
