//! Every CDS call needs the EHR's signed JWT; each way a token can be wrong
//! gets a bare 401 (no body), and nothing reaches the service. An EHR's key
//! rotation (a changed JWK Set file) takes effect without a restart.

use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};
use tutti_tests::ehr::{self, Jwt, Key, get, post, url};

async fn status_of(
    server: &tutti_tests::TestServer,
    token: Option<String>,
) -> anyhow::Result<(u16, String)> {
    let r = get(server, "/cds-services", token.as_deref()).await?;
    Ok((r.status, r.text))
}

#[tokio::test]
async fn every_bad_token_is_a_bare_401() -> anyhow::Result<()> {
    let server = ehr::start().await?;
    let aud = url(&server, "/cds-services");
    let valid = || Jwt::for_url(&aud);
    let now = ehr::now_secs();
    let cases: Vec<(&str, Option<String>)> = vec![
        ("missing token", None),
        ("not a JWT", Some("not-a-jwt".into())),
        ("alg none", Some(valid().unsigned())),
        (
            "HS256 with the public key as secret",
            Some(valid().sign_hs256_with_public_key()),
        ),
        (
            "unknown kid",
            Some(
                Jwt {
                    kid: Some("nobody".into()),
                    ..valid()
                }
                .sign(),
            ),
        ),
        (
            "known kid, wrong key",
            Some(valid().key(Key::RsaImpostor).sign()),
        ),
        (
            "ES256 key under the RSA kid",
            Some(
                Jwt {
                    kid: Some("ehr-rsa-1".into()),
                    ..valid().key(Key::Es256)
                }
                .sign(),
            ),
        ),
        (
            "wrong iss",
            Some(valid().claim("iss", json!("https://evil.example")).sign()),
        ),
        (
            "no iss",
            Some({
                let mut j = valid();
                j.claims.as_object_mut().expect("obj").remove("iss");
                j.sign()
            }),
        ),
        (
            "wrong aud",
            Some(
                valid()
                    .claim("aud", json!("https://elsewhere.example/cds-services"))
                    .sign(),
            ),
        ),
        (
            "aud of another endpoint",
            Some(
                valid()
                    .claim(
                        "aud",
                        json!(url(&server, "/cds-services/tutti-patient-view")),
                    )
                    .sign(),
            ),
        ),
        (
            "expired",
            Some(
                valid()
                    .claim("exp", json!(now - 600))
                    .claim("iat", json!(now - 900))
                    .sign(),
            ),
        ),
        (
            "nbf in the future",
            Some(valid().claim("nbf", json!(now + 600)).sign()),
        ),
        (
            "no jti",
            Some({
                let mut j = valid();
                j.claims.as_object_mut().expect("obj").remove("jti");
                j.sign()
            }),
        ),
        (
            "no exp",
            Some({
                let mut j = valid();
                j.claims.as_object_mut().expect("obj").remove("exp");
                j.sign()
            }),
        ),
    ];
    for (what, token) in cases {
        let (status, body) = status_of(&server, token).await?;
        assert_eq!(status, 401, "{what}: expected 401, got {status}: {body}");
        assert!(
            body.is_empty(),
            "{what}: a bare 401 has no body, got {body}"
        );
    }
    server.stop().await
}

#[tokio::test]
async fn a_replayed_jti_is_refused_and_each_allowed_algorithm_works() -> anyhow::Result<()> {
    let server = ehr::start().await?;
    let aud = url(&server, "/cds-services");
    for key in [Key::Rsa, Key::Rs384, Key::Es256, Key::Es384] {
        let token = Jwt::for_url(&aud).key(key).sign();
        let (first, body) = status_of(&server, Some(token.clone())).await?;
        assert_eq!(first, 200, "{key:?}: {body}");
        let (again, body) = status_of(&server, Some(token)).await?;
        assert_eq!(again, 401, "{key:?} replayed: {body}");
        assert!(body.is_empty());
    }
    // The service and feedback endpoints check their own audience.
    let path = "/cds-services/tutti-patient-view";
    let wrong = Jwt::for_url(&aud).sign();
    let r = post(&server, path, Some(&wrong), &json!({})).await?;
    assert_eq!((r.status, r.text.as_str()), (401, ""));
    let r = post(
        &server,
        &format!("{path}/feedback"),
        Some(&wrong),
        &json!({"feedback": []}),
    )
    .await?;
    assert_eq!((r.status, r.text.as_str()), (401, ""));
    server.stop().await
}

/// Two replicas behind one public URL on one database: a token used on one
/// is refused by the other, because the claim on its `jti` lives in the
/// storage, not in either process; so is a card's launch token exchanged
/// on one. On a shared SQLite file and, where the
/// test cluster runs, on PostgreSQL.
#[tokio::test]
async fn a_token_used_on_one_replica_is_refused_by_another() -> anyhow::Result<()> {
    const PUBLIC: &str = "https://tutti.example";
    let dir = tutti_tests::TestServer::temp_dir()?;
    let shared = dir.path().join("shared.db");
    let mut databases = vec![None];
    if let Some(url) = tutti_tests::postgres::fresh_database() {
        databases.push(Some(url));
    }
    for url in databases {
        let mut replicas = Vec::new();
        for _ in 0..2 {
            let (shared, url) = (shared.clone(), url.clone());
            replicas.push(
                tutti_tests::TestServer::start_with(move |c| {
                    ehr::configure(c);
                    c.ehr.public_url = Some(PUBLIC.into());
                    c.storage.path = shared;
                    c.storage.url = url.map(tutti_server::config::Secret::new);
                })
                .await?,
            );
        }
        let backend = if url.is_some() { "postgres" } else { "sqlite" };
        let aud = format!("{PUBLIC}/cds-services");
        for round in 0..3 {
            let token = Jwt::for_url(&aud).sign();
            let (first, second) = (&replicas[round % 2], &replicas[1 - round % 2]);
            let (status, body) = status_of(first, Some(token.clone())).await?;
            assert_eq!(status, 200, "{backend}: {body}");
            let (again, body) = status_of(second, Some(token.clone())).await?;
            assert_eq!((again, body.as_str()), (401, ""), "{backend}: replayed");
            let (again, _) = status_of(first, Some(token)).await?;
            assert_eq!(again, 401, "{backend}: replayed to the first");
        }
        // A card's launch token opens one session, whichever replica it reaches.
        let path = format!("/cds-services/{}", ehr::PATIENT_VIEW);
        let token = Jwt::for_url(&format!("{PUBLIC}{path}")).sign();
        let hook = ehr::hook(
            "pt-replicas",
            ehr::prefetch_of(ehr::weekly_history("pt-replicas", 6, 15.0, -1.0)),
        );
        let r = post(&replicas[0], &path, Some(&token), &hook).await?;
        assert_eq!(r.status, 200, "{backend}: {}", r.text);
        let launch = json!({"launch": ehr::launch_token(&ehr::the_card(&r.json()))});
        let opened = post(&replicas[1], "/ehr/app/session", None, &launch).await?;
        assert_eq!(opened.status, 200, "{backend}: {}", opened.text);
        let again = post(&replicas[0], "/ehr/app/session", None, &launch).await?;
        assert_eq!((again.status, again.text.as_str()), (401, ""), "{backend}");
        for r in replicas {
            r.stop().await?;
        }
    }
    Ok(())
}

/// Writes `jwks` to `path` whole (a reader never sees half a file).
fn write_jwks(path: &Path, jwks: &Value) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(jwks)?)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// The test JWK Set with only the keys named.
fn only_keys(kids: &[&str]) -> anyhow::Result<Value> {
    let mut jwks: Value = serde_json::from_slice(&std::fs::read(ehr::fixture("jwks.json"))?)?;
    let keys = jwks["keys"].as_array_mut().expect("keys");
    keys.retain(|k| kids.contains(&k["kid"].as_str().unwrap_or_default()));
    assert_eq!(keys.len(), kids.len());
    Ok(jwks)
}

#[tokio::test]
async fn a_token_without_kid_is_checked_against_the_one_key_that_fits() -> anyhow::Result<()> {
    // Every fixture key names its `alg`: each algorithm has exactly one key.
    let server = ehr::start().await?;
    let aud = url(&server, "/cds-services");
    for key in [Key::Rsa, Key::Rs384, Key::Es256, Key::Es384] {
        let token = Jwt::for_url(&aud).key(key).sign_without_kid();
        assert_eq!(status_of(&server, Some(token)).await?.0, 200, "{key:?}");
    }
    // The one fitting key is still checked: another key's signature fails.
    let impostor = Jwt::for_url(&aud).key(Key::RsaImpostor).sign_without_kid();
    assert_eq!(status_of(&server, Some(impostor)).await?.0, 401);
    server.stop().await?;

    // Two RSA keys that do not say their `alg` could both have signed an
    // RS256 token: without a `kid` it is refused rather than guessed.
    let dir = tutti_tests::TestServer::temp_dir()?;
    let path = dir.path().join("ehr-jwks.json");
    let mut jwks = only_keys(&["ehr-rsa-1", "ehr-rs384-1", "ehr-es256-1"])?;
    for k in jwks["keys"].as_array_mut().expect("keys") {
        if k["kty"] == "RSA" {
            k.as_object_mut().expect("key").remove("alg");
        }
    }
    write_jwks(&path, &jwks)?;
    let server = tutti_tests::TestServer::start_with(move |c| {
        ehr::configure(c);
        for issuer in &mut c.ehr.issuers {
            issuer.jwks_path = path.clone();
        }
    })
    .await?;
    let aud = url(&server, "/cds-services");
    let rsa = Jwt::for_url(&aud).key(Key::Rsa);
    assert_eq!(
        status_of(&server, Some(rsa.sign_without_kid())).await?.0,
        401
    );
    assert_eq!(
        status_of(&server, Some(rsa.sign())).await?.0,
        200,
        "with its kid"
    );
    let ec = Jwt::for_url(&aud).key(Key::Es256).sign_without_kid();
    assert_eq!(status_of(&server, Some(ec)).await?.0, 200);
    server.stop().await?;
    Ok(())
}

#[tokio::test]
async fn a_rotated_jwks_file_is_read_without_a_restart() -> anyhow::Result<()> {
    let dir = tutti_tests::TestServer::temp_dir()?;
    let path = dir.path().join("ehr-jwks.json");
    write_jwks(&path, &only_keys(&["ehr-rsa-1"])?)?;
    let jwks_path = path.clone();
    let server = tutti_tests::TestServer::start_with(move |c| {
        ehr::configure(c);
        for issuer in &mut c.ehr.issuers {
            issuer.jwks_path = jwks_path.clone();
        }
        c.tls.reload_seconds = 1;
    })
    .await?;
    let aud = url(&server, "/cds-services");
    let call = |key: Key| {
        let token = Jwt::for_url(&aud).key(key).sign();
        let server = &server;
        async move { status_of(server, Some(token)).await.map(|(s, _)| s) }
    };
    assert_eq!(call(Key::Rsa).await?, 200);
    assert_eq!(call(Key::Rs384).await?, 401, "not in the JWK Set yet");

    // The EHR rotates: the RS384 key in, the RS256 key out.
    write_jwks(&path, &only_keys(&["ehr-rs384-1"])?)?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while call(Key::Rs384).await? != 200 {
        assert!(
            Instant::now() < deadline,
            "the new key was not read within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(call(Key::Rsa).await?, 401, "the retired key is refused");

    // A broken file keeps the keys that work.
    std::fs::write(&path, b"{not json")?;
    let settle = Instant::now() + Duration::from_secs(3);
    while Instant::now() < settle {
        assert_eq!(call(Key::Rs384).await?, 200);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    server.stop().await
}

/// An EHR CA file (`ehr.tls_ca_path`) that is missing or holds no
/// certificate stops start-up with a message naming the setting, rather than
/// serving with calls to that EHR failing later.
#[tokio::test]
async fn an_unusable_ehr_ca_file_stops_start_up() -> anyhow::Result<()> {
    let dir = tutti_tests::TestServer::temp_dir()?;
    let no_cert = dir.path().join("no-cert.pem");
    std::fs::write(&no_cert, std::fs::read(ehr::fixture("rsa-public.pem"))?)?;
    for path in [dir.path().join("missing.pem"), no_cert] {
        let at = path.clone();
        let started = tutti_tests::TestServer::start_with(move |c| {
            ehr::configure(c);
            c.ehr.tls_ca_path = Some(at);
        })
        .await;
        let e = match started {
            Ok(server) => {
                server.stop().await?;
                panic!("{} was accepted", path.display());
            }
            Err(e) => format!("{e:#}"),
        };
        assert!(e.contains("ehr.tls_ca_path"), "{}: {e}", path.display());
    }
    Ok(())
}
