//! JWTs, FHIR access tokens, app tokens, patient names and patient ids never
//! reach the logs, spans or metrics: everything the server (and the libraries
//! under it) logs at TRACE during a full EHR flow is captured and searched,
//! and so is `GET /metrics` scraped after it. The flow includes a SMART App
//! Launch (a second EHR's), whose access token, OpenID Connect id_token
//! (verified, so it went through the JWT verifier), code, state, `launch`,
//! pending-launch cookie and the card's `appContext` (handed back in the
//! token response) are searched for too.

use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex};
use tracing_subscriber::fmt::format::FmtSpan;
use tutti_tests::TestServer;
use tutti_tests::ehr::{
    self, FhirServer, Jwt, PATIENT_VIEW, app_view, get, launch_token, open_session, patient, post,
    prefetch_of, the_card, url, weekly_history,
};
use tutti_tests::smart::{self, FakeEhr, launch_and_authorize, query_value, step};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn tokens_and_patient_details_never_reach_the_logs_or_metrics() -> anyhow::Result<()> {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_env_filter("trace")
        .with_span_events(FmtSpan::FULL)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .try_init()
        .map_err(|e| anyhow::anyhow!("installing the capturing subscriber: {e}"))?;

    let patient_id = "MRN-77310042";
    // The second EHR launches the app as a SMART app; the first keeps launch tokens.
    let smart_patient = "MRN-55018823";
    let fake = FakeEhr::start(smart_patient).await?;
    let server = TestServer::start_with(|c| {
        ehr::configure(c);
        fake.configure(c, ehr::OTHER_ISS);
    })
    .await?;
    fake.register(&server);
    let access_token = "fhir-access-token-e2f1c7a9";
    let mut resources = weekly_history(patient_id, 4, 15.0, -1.0);
    resources.push(patient(patient_id, "Testpatient", "Wilhelmina"));
    let fhir = FhirServer::start(resources, access_token).await?;
    let path = format!("/cds-services/{PATIENT_VIEW}");
    let jwt = Jwt::for_url(&url(&server, &path)).sign();
    let body = json!({
        "hookInstance": uuid::Uuid::new_v4().to_string(),
        "hook": "patient-view",
        "fhirServer": fhir.base(),
        "fhirAuthorization": {"access_token": access_token, "token_type": "Bearer",
            "expires_in": 300, "scope": "user/Observation.read", "subject": "tutti"},
        "context": {"userId": "Practitioner/1", "patientId": patient_id},
        "prefetch": {"patient": patient(patient_id, "Testpatient", "Wilhelmina")},
    });
    let r = post(&server, &path, Some(&jwt), &body).await?;
    assert_eq!(r.status, 200, "{}", r.text);
    let card = the_card(&r.json());
    // A replay and a bad token are refused (and logged as refusals).
    assert_eq!(post(&server, &path, Some(&jwt), &body).await?.status, 401);
    assert_eq!(
        get(&server, "/cds-services", Some("garbage.token.here"))
            .await?
            .status,
        401
    );
    // The app: launch token exchanged for a session, which reads the view.
    let launch = launch_token(&card);
    let session = open_session(&server, &launch).await?;
    app_view(&server, &session).await?;
    // The SMART launch, for a patient the second EHR's CDS call brought in.
    let jwt_other = Jwt::for_url(&url(&server, &path))
        .claim("iss", json!(ehr::OTHER_ISS))
        .sign();
    let mut hook = ehr::hook(
        smart_patient,
        prefetch_of(weekly_history(smart_patient, 3, 14.0, -1.0)),
    );
    hook["fhirServer"] = json!(fake.fhir_base());
    let r = post(&server, &path, Some(&jwt_other), &hook).await?;
    assert_eq!(r.status, 200, "{}", r.text);
    // The EHR hands the card's appContext back in the token response.
    let app_context = the_card(&r.json())["links"][0]["appContext"]
        .as_str()
        .expect("the SMART card's appContext")
        .to_owned();
    fake.app_context(Some(json!(app_context)));
    let flow = launch_and_authorize(&server, &fake.fhir_base()).await?;
    let opened = step(&flow.callback, Some(&flow.cookie)).await?;
    assert_eq!(opened.status, 302, "{opened:?}");
    let app_url = opened.location.unwrap_or_default();
    let smart_launch = query_value(&app_url, "tutti_launch").expect("launch token");
    let smart_session = open_session(&server, &smart_launch).await?;
    app_view(&server, &smart_session).await?;
    assert_eq!(fake.token_answers(), vec![200], "a token was issued");
    let id_tokens = fake.id_tokens();
    assert_eq!(id_tokens.len(), 1, "with an id_token");
    let id_token = id_tokens[0].clone();
    let code = query_value(&flow.callback, "code").expect("code");
    let cookie_value = flow
        .cookie
        .split_once('=')
        .map(|(_, v)| v.to_owned())
        .unwrap_or_default();
    // The metrics after the flow (HTTP routes included).
    let scrape = get(&server, "/metrics", None).await?;
    assert_eq!(scrape.status, 200, "{}", scrape.text);
    let metrics = scrape.text;
    server.stop().await?;

    let logs = String::from_utf8_lossy(&capture.0.lock().expect("lock")).into_owned();
    assert!(
        logs.contains("cds call answered"),
        "the flow was logged at all"
    );
    for (what, secret) in [
        ("the EHR's JWT", jwt.as_str()),
        (
            "the JWT's signature",
            jwt.rsplit('.').next().unwrap_or_default(),
        ),
        ("the FHIR access token", access_token),
        ("the launch token", launch.as_str()),
        ("the session token", session.as_str()),
        ("the patient's family name", "Testpatient"),
        ("the patient's given name", "Wilhelmina"),
        ("the patient's id", patient_id),
        ("the SMART access token", smart::ACCESS_TOKEN),
        ("the SMART id_token", id_token.as_str()),
        (
            "the SMART id_token's payload",
            id_token.split('.').nth(1).unwrap_or("id_token"),
        ),
        (
            "the SMART id_token's signature",
            id_token.rsplit('.').next().unwrap_or("id_token"),
        ),
        ("the SMART authorization code", code.as_str()),
        ("the SMART state", flow.state.as_str()),
        ("the SMART `launch`", smart::LAUNCH),
        ("the pending-launch cookie", cookie_value.as_str()),
        ("the SMART launch's launch token", smart_launch.as_str()),
        ("the SMART launch's session", smart_session.as_str()),
        ("the card's appContext", app_context.as_str()),
        ("the SMART patient's id", smart_patient),
    ] {
        assert!(!logs.contains(secret), "{what} appears in the logs");
        assert!(!metrics.contains(secret), "{what} appears in the metrics");
    }
    assert!(
        metrics.contains(r#"rpc_method="/cds-services/{id}""#),
        "the CDS route is measured, by its template: {metrics}"
    );
    let person = ehr::person_of(patient_id, ehr::ISS, ehr::TENANT);
    assert!(
        !metrics.contains(&person),
        "the person id is no metric label: {metrics}"
    );
    Ok(())
}
