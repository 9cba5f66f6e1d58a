//! JWTs, FHIR access tokens, app tokens, patient names and patient ids never
//! reach the logs, spans or metrics: everything the server (and the libraries
//! under it) logs at TRACE during a full EHR flow is captured and searched,
//! and so is `GET /metrics` scraped after it.

use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex};
use tracing_subscriber::fmt::format::FmtSpan;
use tutti_tests::ehr::{
    self, FhirServer, Jwt, PATIENT_VIEW, get, launch_token, patient, post, the_card, url,
    weekly_history,
};

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

    let server = ehr::start().await?;
    let patient_id = "MRN-77310042";
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
    let s = post(
        &server,
        "/ehr/app/session",
        None,
        &json!({"launch": launch}),
    )
    .await?;
    assert_eq!(s.status, 200, "{}", s.text);
    let session = s.json()["session"].as_str().expect("session").to_owned();
    assert_eq!(
        get(&server, "/ehr/app/api/view", Some(&session))
            .await?
            .status,
        200
    );
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
