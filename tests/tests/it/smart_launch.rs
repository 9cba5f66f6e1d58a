//! SMART App Launch (EHR launch) of the clinician app against a pretend EHR
//! authorization server on loopback: the card links the launch URL; launch,
//! authorize and callback open the app's session for the person the CDS
//! calls made of the same patient; an `iss` not configured is refused with
//! nothing fetched from it; a wrong, missing or replayed state and a token
//! endpoint that refuses the PKCE verifier (or a confidential client's
//! secret) open nothing. With `openid` asked for, the id_token's `fhirUser`
//! is the audit principal, of the callback and of the app's calls after it,
//! and an id_token that is missing or fails any check opens nothing; without
//! `openid` the EHR stays the principal. The card's `appContext`, handed back
//! in the token response, opens the card's decision; one that does not
//! verify (tampered, expired, another person's or tenant's) is ignored and
//! the app ranks afresh, as without one.

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tutti_server::config::Secret;
use tutti_server::convert::ids::{PersonId, TenantId};
use tutti_server::ehr::launch::Launcher;
use tutti_server::storage::AuditRow;
use tutti_server::storage::decision_log::DecisionLog;
use tutti_tests::TestServer;
use tutti_tests::audit::trail;
use tutti_tests::ehr::{
    self, ISS, LAUNCH_KEY, OTHER_TENANT, TENANT, app_view, assert_app_calls_audited, assert_golden,
    card_skeleton, decide, open_session, person_of, weekly_history,
};
use tutti_tests::jwt::{Jwt, Key, now_secs};
use tutti_tests::smart::{
    FakeEhr, PRACTITIONER, launch_and_authorize, launch_to_callback, query_value, step,
};

const PATIENT: &str = "pt-smart-7";
/// Another patient of the same EHR with a card of their own.
const OTHER_PATIENT: &str = "pt-smart-8";

async fn start(fake: &FakeEhr) -> anyhow::Result<TestServer> {
    let server = TestServer::start_with(|c| {
        ehr::configure(c);
        fake.configure(c, ISS);
    })
    .await?;
    fake.register(&server);
    Ok(server)
}

/// The patient's history arrives through a CDS call, as in the chart.
async fn card_for_patient(server: &TestServer) -> anyhow::Result<Value> {
    card_for(server, PATIENT).await
}

/// `patient`'s card, their history arriving with it.
async fn card_for(server: &TestServer, patient: &str) -> anyhow::Result<Value> {
    ehr::card_for(server, patient, weekly_history(patient, 5, 16.0, -1.0)).await
}

/// A whole SMART launch through `fake`, then the app's session exchange:
/// the session token.
async fn launch_session(server: &TestServer, fake: &FakeEhr) -> anyhow::Result<String> {
    let done = launch_to_callback(server, &fake.fhir_base()).await?;
    anyhow::ensure!(done.status == 302, "callback: {done:?}");
    let location = done.location.context("the callback redirects")?;
    let launch = query_value(&location, "tutti_launch").context("a launch token")?;
    open_session(server, &launch).await
}

/// The recommendation ids the app shows.
fn shown(view: &Value) -> Vec<String> {
    ids(&view["recommendations"], "id")
}

/// The recommendation ids of a card (its suggestions' uuids).
fn offered(card: &Value) -> Vec<String> {
    ids(&card["suggestions"], "uuid")
}

fn ids(list: &Value, field: &str) -> Vec<String> {
    list.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x[field].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The `appContext` of a card's link.
fn app_context(card: &Value) -> String {
    card["links"][0]["appContext"]
        .as_str()
        .unwrap_or_else(|| panic!("a SMART card's link carries an appContext: {card}"))
        .to_owned()
}

/// The claims of a signed app context (read without checking it).
fn claims_of(context: &str) -> Value {
    let payload = context.split('.').nth(1).expect("a JWS");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON")
}

/// The tenant's audit trail, read after a restart.
async fn audit_rows(server: &mut TestServer) -> anyhow::Result<Vec<AuditRow>> {
    server.restart().await?;
    Ok(trail(server.data_path(), TENANT))
}

/// The successful callback's row: the launch that opened the app.
fn callback_row(rows: &[AuditRow]) -> &AuditRow {
    rows.iter()
        .find(|r| r.method == "GET /ehr/app/callback" && r.code == 0)
        .unwrap_or_else(|| panic!("no callback row in {rows:?}"))
}

/// How many times `fake` got exactly `request` (`METHOD path`).
fn count(fake: &FakeEhr, request: &str) -> usize {
    fake.requests().iter().filter(|r| *r == request).count()
}

#[tokio::test]
async fn a_smart_launch_opens_the_app_for_the_patient_in_context() -> anyhow::Result<()> {
    let fake = FakeEhr::start(PATIENT).await?;
    let mut server = start(&fake).await?;
    let card = card_for_patient(&server).await?;
    assert_eq!(
        card["links"][0]["url"].as_str(),
        Some(format!("{}/ehr/app/launch", server.base_url()).as_str()),
        "a SMART EHR's card links the launch URL (the EHR appends iss and launch)"
    );
    assert_eq!(card["links"][0]["type"], "smart");
    assert_golden("cds_card_smart", &card_skeleton(&card));

    // This EHR sends no appContext: the app ranks afresh.
    let flow = launch_and_authorize(&server, &fake.fhir_base()).await?;
    assert_eq!(
        query_value(&flow.callback, "state").as_deref(),
        Some(flow.state.as_str())
    );
    let done = step(&flow.callback, Some(&flow.cookie)).await?;
    assert_eq!(done.status, 302, "{done:?}");
    assert_eq!(fake.token_answers(), vec![200], "one code exchanged");
    let location = done.location.clone().expect("to the app");
    assert!(
        location.starts_with(&format!("{}/ehr/app?tutti_launch=", server.base_url())),
        "{location}"
    );
    assert!(
        done.set_cookie
            .as_deref()
            .is_some_and(|c| c.contains("Max-Age=0")),
        "the pending cookie is cleared: {done:?}"
    );

    // The app's own path from here: the launch token for a session.
    let launch = query_value(&location, "tutti_launch").expect("launch token");
    let session = open_session(&server, &launch).await?;
    let v = app_view(&server, &session).await?;
    assert_eq!(
        v["person"].as_str(),
        Some(person_of(PATIENT, ISS, TENANT).as_str()),
        "the patient in the token's context is the CDS calls' person"
    );
    assert_eq!(v["assessments"], 5, "{v}");
    assert!(
        shown(&v).iter().all(|id| !offered(&card).contains(id)),
        "without an appContext the app shows a fresh decision"
    );
    let first = v["recommendations"][0]["id"]
        .as_str()
        .expect("a suggestion")
        .to_owned();
    let accepted = decide(&server, &session, first.as_str(), "accepted").await?;
    assert_eq!(accepted.status, 200, "{}", accepted.text);

    // The same callback again: the state was used.
    let replay = step(&flow.callback, Some(&flow.cookie)).await?;
    assert_eq!(replay.status, 401, "a state works once");
    assert_eq!(fake.token_answers(), vec![200], "a replay spends no code");

    // The callback is audited in the issuer's tenant, under the pseudonym,
    // by the clinician the id_token names.
    let rows = audit_rows(&mut server).await?;
    let opened = callback_row(&rows);
    assert_eq!(
        opened.resource,
        format!("people/{}", person_of(PATIENT, ISS, TENANT))
    );
    assert_eq!(opened.principal, format!("ehr:{ISS}|{PRACTITIONER}"));
    // So are the app's own calls after it: the session, the view and the
    // feedback (whose row commits with the review it stores).
    assert_app_calls_audited(
        &rows,
        &format!("ehr:{ISS}|{PRACTITIONER}"),
        &person_of(PATIENT, ISS, TENANT),
        &first,
    );
    assert!(
        rows.iter()
            .any(|r| r.method == "GET /ehr/app/launch" && r.code == 0),
        "{rows:?}"
    );
    assert!(
        rows.iter().all(|r| !r.resource.contains(PATIENT)),
        "{rows:?}"
    );
    server.stop().await
}

#[tokio::test]
async fn an_unconfigured_iss_is_refused_without_a_request_to_it() -> anyhow::Result<()> {
    let fake = FakeEhr::start(PATIENT).await?;
    let stranger = FakeEhr::start(PATIENT).await?;
    let server = start(&fake).await?;
    for iss in [
        stranger.fhir_base(),
        format!("{}/", fake.fhir_base()),
        format!("{}/other", fake.fhir_base()),
        ISS.to_owned(),
    ] {
        let mut url = reqwest::Url::parse(&format!("{}/ehr/app/launch", server.base_url()))?;
        url.query_pairs_mut()
            .append_pair("iss", &iss)
            .append_pair("launch", "x");
        let r = step(url.as_str(), None).await?;
        assert_eq!(r.status, 400, "{iss}: {r:?}");
        assert!(r.location.is_none() && r.cookie.is_none(), "{r:?}");
    }
    assert!(
        stranger.requests().is_empty(),
        "nothing was fetched from an unconfigured iss: {:?}",
        stranger.requests()
    );
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
    let no_launch = step(
        &format!(
            "{}/ehr/app/launch?iss={}",
            server.base_url(),
            fake.fhir_base()
        ),
        None,
    )
    .await?;
    assert_eq!(no_launch.status, 400, "an EHR launch carries `launch`");
    server.stop().await
}

#[tokio::test]
async fn a_wrong_or_missing_state_opens_nothing() -> anyhow::Result<()> {
    let fake = FakeEhr::start(PATIENT).await?;
    let server = start(&fake).await?;
    card_for_patient(&server).await?;
    let a = launch_and_authorize(&server, &fake.fhir_base()).await?;
    let b = launch_and_authorize(&server, &fake.fhir_base()).await?;
    let code_a = query_value(&a.callback, "code").expect("code");
    let callback = |code: &str, state: &str| {
        let mut u =
            reqwest::Url::parse(&format!("{}/ehr/app/callback", server.base_url())).expect("url");
        u.query_pairs_mut()
            .append_pair("code", code)
            .append_pair("state", state);
        u.to_string()
    };
    for (what, url, cookie) in [
        ("no cookie", a.callback.clone(), None),
        (
            "another launch's cookie",
            a.callback.clone(),
            Some(b.cookie.as_str()),
        ),
        (
            "a state of no launch",
            callback(&code_a, "AAAAAAAAAAAAAAAAAAAAAA"),
            Some(a.cookie.as_str()),
        ),
        (
            "another launch's state",
            callback(&code_a, &b.state),
            Some(a.cookie.as_str()),
        ),
        (
            "a forged cookie",
            a.callback.clone(),
            Some(&*format!("tutti_smart_{}=forged.jwt.value", a.state)),
        ),
    ] {
        let r = step(&url, cookie).await?;
        assert_eq!(r.status, 401, "{what}: {r:?}");
        assert!(r.location.is_none(), "{what}: {r:?}");
    }
    assert!(
        fake.token_answers().is_empty(),
        "no code was exchanged for a refused callback"
    );
    // The right pair still works (nothing above used its state up).
    let ok = step(&a.callback, Some(&a.cookie)).await?;
    assert_eq!(ok.status, 302, "{ok:?}");
    let err = step(
        &format!(
            "{}/ehr/app/callback?error=access_denied&state={}",
            server.base_url(),
            b.state
        ),
        Some(&b.cookie),
    )
    .await?;
    assert_eq!(err.status, 401, "the user or the EHR said no");
    server.stop().await
}

#[tokio::test]
async fn a_token_endpoint_refusing_the_verifier_opens_nothing() -> anyhow::Result<()> {
    let fake = FakeEhr::start(PATIENT).await?;
    let server = start(&fake).await?;
    card_for_patient(&server).await?;
    fake.refuse_verifiers();
    let r = launch_to_callback(&server, &fake.fhir_base()).await?;
    assert_eq!(r.status, 401, "{r:?}");
    assert!(r.location.is_none(), "{r:?}");
    assert_eq!(
        fake.token_answers(),
        vec![400],
        "the code went to the token endpoint, which refused the verifier"
    );
    server.stop().await
}

#[tokio::test]
async fn a_confidential_client_sends_its_secret_and_only_the_right_one_works() -> anyhow::Result<()>
{
    for (configured, status, answers) in [
        ("right-secret", 302, vec![200]),
        ("wrong-secret", 401, vec![400]),
    ] {
        let fake = FakeEhr::start(PATIENT).await?;
        fake.require_secret("right-secret");
        let server = TestServer::start_with(|c| {
            ehr::configure(c);
            fake.configure(c, ISS);
            for smart in c.ehr.issuers.iter_mut().filter_map(|i| i.smart.as_mut()) {
                smart.client_secret = Some(Secret::new(configured));
            }
        })
        .await?;
        fake.register(&server);
        card_for_patient(&server).await?;
        let r = launch_to_callback(&server, &fake.fhir_base()).await?;
        assert_eq!(r.status, status, "{configured}: {r:?}");
        assert_eq!(fake.token_answers(), answers, "{configured}");
        server.stop().await?;
    }
    Ok(())
}

#[tokio::test]
async fn a_patient_tutti_has_not_seen_opens_no_app() -> anyhow::Result<()> {
    let fake = FakeEhr::start("pt-never-seen").await?;
    let server = start(&fake).await?;
    let r = launch_to_callback(&server, &fake.fhir_base()).await?;
    assert_eq!(r.status, 404, "{r:?}");
    server.stop().await
}

#[tokio::test]
async fn an_id_token_failing_any_check_opens_nothing() -> anyhow::Result<()> {
    let fake = FakeEhr::start(PATIENT).await?;
    let stranger = FakeEhr::start(PATIENT).await?;
    let stranger_issuer = stranger.issuer();
    let mut server = start(&fake).await?;
    card_for_patient(&server).await?;
    let now = now_secs();
    type Make = Box<dyn Fn(Jwt) -> Option<String> + Send>;
    let cases: Vec<(&str, Make)> = vec![
        (
            "a forged signature",
            Box::new(|j: Jwt| Some(j.key(Key::RsaImpostor).sign())),
        ),
        ("alg none", Box::new(|j: Jwt| Some(j.unsigned()))),
        (
            "HS256 with the public key",
            Box::new(|j: Jwt| Some(j.sign_hs256_with_public_key())),
        ),
        (
            "another client's aud",
            Box::new(|j: Jwt| Some(j.claim("aud", json!("another-client")).sign())),
        ),
        (
            "another issuer's iss",
            Box::new(move |j: Jwt| Some(j.claim("iss", json!(stranger_issuer)).sign())),
        ),
        (
            "expired",
            Box::new(move |j: Jwt| {
                Some(
                    j.claim("iat", json!(now - 900))
                        .claim("exp", json!(now - 120))
                        .sign(),
                )
            }),
        ),
        (
            "issued in the future",
            Box::new(move |j: Jwt| Some(j.claim("iat", json!(now + 600)).sign())),
        ),
        (
            "no sub",
            Box::new(|j: Jwt| Some(j.claim("sub", json!(null)).sign())),
        ),
        (
            "another client as azp",
            Box::new(|j: Jwt| Some(j.claim("azp", json!("another-client")).sign())),
        ),
        (
            "no fhirUser",
            Box::new(|j: Jwt| Some(j.claim("fhirUser", json!(null)).sign())),
        ),
        ("missing", Box::new(|_: Jwt| None)),
    ];
    let n = cases.len();
    for (what, make) in cases {
        fake.id_tokens_from(make);
        let r = launch_to_callback(&server, &fake.fhir_base()).await?;
        assert_eq!(r.status, 401, "{what}: {r:?}");
        assert!(r.location.is_none(), "{what}: nothing opened: {r:?}");
    }
    assert_eq!(
        fake.token_answers(),
        vec![200; n],
        "each code was exchanged and its id_token refused"
    );
    assert!(
        stranger.requests().is_empty(),
        "the id_token's iss is never fetched from: {:?}",
        stranger.requests()
    );
    // The same EHR with a valid id_token still opens the app: the checks can pass.
    fake.id_tokens_from(|j| Some(j.sign()));
    let ok = launch_to_callback(&server, &fake.fhir_base()).await?;
    assert_eq!(ok.status, 302, "{ok:?}");

    let rows = audit_rows(&mut server).await?;
    let opened: Vec<_> = rows
        .iter()
        .filter(|r| r.method == "GET /ehr/app/callback" && r.code == 0)
        .collect();
    assert_eq!(opened.len(), 1, "only the valid launch opened: {rows:?}");
    assert_eq!(opened[0].principal, format!("ehr:{ISS}|{PRACTITIONER}"));
    server.stop().await
}

#[tokio::test]
async fn the_keys_may_come_from_the_openid_configuration_and_are_fetched_once() -> anyhow::Result<()>
{
    let fake = FakeEhr::start(PATIENT).await?;
    fake.openid_configuration_only();
    let server = start(&fake).await?;
    card_for_patient(&server).await?;
    for _ in 0..2 {
        let r = launch_to_callback(&server, &fake.fhir_base()).await?;
        assert_eq!(r.status, 302, "{r:?}");
    }
    assert_eq!(
        count(&fake, "GET /fhir/.well-known/openid-configuration"),
        2,
        "read at each launch: {:?}",
        fake.requests()
    );
    assert_eq!(
        count(&fake, "GET /auth/jwks"),
        1,
        "the keys are cached: {:?}",
        fake.requests()
    );
    server.stop().await
}

#[tokio::test]
async fn without_openid_the_ehr_stays_the_principal() -> anyhow::Result<()> {
    let fake = FakeEhr::start(PATIENT).await?;
    let mut server = TestServer::start_with(|c| {
        ehr::configure(c);
        fake.configure(c, ISS);
        for smart in c.ehr.issuers.iter_mut().filter_map(|i| i.smart.as_mut()) {
            smart.scope = "launch patient/Patient.rs".into();
        }
    })
    .await?;
    fake.register(&server);
    card_for_patient(&server).await?;
    let r = launch_to_callback(&server, &fake.fhir_base()).await?;
    assert_eq!(r.status, 302, "{r:?}");
    assert!(fake.id_tokens().is_empty(), "none was asked for");
    assert_eq!(count(&fake, "GET /auth/jwks"), 0, "{:?}", fake.requests());
    let rows = audit_rows(&mut server).await?;
    let opened = callback_row(&rows);
    assert_eq!(opened.principal, format!("ehr:{ISS}"));
    server.stop().await
}

#[tokio::test]
async fn the_cards_app_context_opens_the_cards_decision() -> anyhow::Result<()> {
    let fake = FakeEhr::start(PATIENT).await?;
    let mut server = start(&fake).await?;
    let card = card_for_patient(&server).await?;
    let context = app_context(&card);
    let claims = claims_of(&context);
    assert_eq!(claims["tenant"], TENANT, "{claims}");
    assert_eq!(
        claims["person"],
        person_of(PATIENT, ISS, TENANT),
        "{claims}"
    );
    assert_eq!(claims["rec"], card["uuid"], "{claims}");
    assert!(
        !context.contains(PATIENT) && !claims.to_string().contains(PATIENT),
        "no patient id in the appContext: {claims}"
    );

    // The clinician clicks the card's link; the EHR hands its appContext back.
    fake.app_context(Some(json!(context)));
    let session = launch_session(&server, &fake).await?;
    let v = app_view(&server, &session).await?;
    assert_eq!(shown(&v), offered(&card), "the card's decision");
    let again = app_view(&server, &session).await?;
    assert_eq!(shown(&again), offered(&card), "a reload shows it again");
    let first = card["uuid"].as_str().expect("uuid").to_owned();
    let accepted = decide(&server, &session, first.as_str(), "accepted").await?;
    assert_eq!(accepted.status, 200, "{}", accepted.text);
    let feedback_id = accepted.json()["feedbackId"]
        .as_str()
        .expect("feedback id")
        .to_owned();

    let rows = audit_rows(&mut server).await?;
    // The review is stored against the card's recommendation ...
    let tenant = TenantId::parse(TENANT).expect("tenant id");
    let stored = DecisionLog::open(server.data_path())
        .expect("opens")
        .snapshot(|s| s.feedback(&tenant))
        .expect("reads the feedback");
    let review = stored
        .iter()
        .find(|f| f.id == feedback_id)
        .unwrap_or_else(|| panic!("feedback {feedback_id} not stored: {stored:?}"));
    assert_eq!(review.recommendation, first);
    assert_eq!(review.person, person_of(PATIENT, ISS, TENANT));
    // ... the callback's row names the card's decision (its hook's request
    // id), and the review's row names who decided.
    let opened = callback_row(&rows);
    assert_eq!(
        opened.request_id.as_ref(),
        claims["rid"].as_str().map(str::to_owned).as_ref()
    );
    assert!(
        rows.iter()
            .any(|r| r.method == "POST /cds-services/{id}" && r.request_id == opened.request_id),
        "the hook call ranked under it: {rows:?}"
    );
    let decided = rows
        .iter()
        .find(|r| r.method == "POST /ehr/app/api/feedback" && r.code == 0)
        .unwrap_or_else(|| panic!("no feedback row in {rows:?}"));
    assert_eq!(decided.principal, format!("ehr:{ISS}|{PRACTITIONER}"));
    server.stop().await
}

#[tokio::test]
async fn an_app_context_that_does_not_verify_is_ignored_and_the_app_ranks_afresh()
-> anyhow::Result<()> {
    let fake = FakeEhr::start(PATIENT).await?;
    let server = start(&fake).await?;
    let card = card_for_patient(&server).await?;
    let other_card = card_for(&server, OTHER_PATIENT).await?;
    let context = app_context(&card);
    let claims = claims_of(&context);
    let str_of = |k: &str| claims[k].as_str().expect("claim").to_owned();
    let launcher = Launcher::new(Some(Secret::new(LAUNCH_KEY)), 600, 1800);
    let person = PersonId::parse(&str_of("person")).expect("person id");
    let now = now_secs();
    // The same card re-signed for another tenant, and signed long ago.
    let other_tenant = launcher
        .app_context(
            &TenantId::parse(OTHER_TENANT).expect("tenant id"),
            &person,
            &str_of("rid"),
            &str_of("rec"),
            now,
        )
        .expect("signed");
    let expired = launcher
        .app_context(
            &TenantId::parse(TENANT).expect("tenant id"),
            &person,
            &str_of("rid"),
            &str_of("rec"),
            now - 3600,
        )
        .expect("signed");
    // The expired one re-dated, its signature kept.
    let tampered = {
        let parts: Vec<&str> = expired.split('.').collect();
        let mut c = claims_of(&expired);
        c["exp"] = json!(now + 600);
        format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(c.to_string()),
            parts[2]
        )
    };
    let cases = [
        ("tampered", json!(tampered)),
        ("another person's", json!(app_context(&other_card))),
        ("another tenant's", json!(other_tenant)),
        ("expired", json!(expired)),
        ("not a string", json!({"rid": str_of("rid")})),
        ("no token", json!("card-1")),
    ];
    for (what, given) in cases {
        fake.app_context(Some(given));
        let session = launch_session(&server, &fake).await?;
        let v = app_view(&server, &session).await?;
        assert_eq!(
            v["person"].as_str(),
            Some(person.as_str()),
            "{what}: the patient in context"
        );
        let ids = shown(&v);
        assert!(!ids.is_empty(), "{what}: {v}");
        for card in [&card, &other_card] {
            assert!(
                ids.iter().all(|id| !offered(card).contains(id)),
                "{what}: a fresh decision, not a card's: {ids:?}"
            );
        }
        // Another person's decision cannot be decided on from this session.
        let foreign = decide(&server, &session, other_card["uuid"].clone(), "accepted").await?;
        assert_eq!(foreign.status, 404, "{what}: {}", foreign.text);
    }
    // The same EHR handing back the card's own appContext opens it: the
    // checks above can pass.
    fake.app_context(Some(json!(context)));
    let session = launch_session(&server, &fake).await?;
    assert_eq!(shown(&app_view(&server, &session).await?), offered(&card));
    server.stop().await
}
