//! A pretend EHR for the EHR-integration tests: it signs CDS Hooks JWTs with
//! the test keys in `tests/fixtures/ehr/` (whose public halves the server is
//! configured with), builds US Core-shaped FHIR resources, calls the HTTP
//! routes, checks answers against the CDS Hooks 2.0.1 rules, and can run a
//! small real FHIR server on loopback for the `fhirServer` read path.

pub use crate::jwt::{Jwt, Key, now_secs};
use crate::server::TestServer;
use anyhow::Context as _;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tutti_server::config::{Config, IssuerConfig, Secret};
use tutti_server::storage::AuditRow;

/// The issuer the test server trusts.
pub const ISS: &str = "https://ehr.test.example";
/// Its tenant.
pub const TENANT: &str = "clinic-ehr";
/// A second trusted issuer, of another tenant.
pub const OTHER_ISS: &str = "https://other-ehr.test.example";
/// Its tenant.
pub const OTHER_TENANT: &str = "clinic-other";
/// The patient-view service id.
pub const PATIENT_VIEW: &str = "tutti-patient-view";
/// The encounter-start service id.
pub const ENCOUNTER_START: &str = "tutti-encounter-start";
/// LOINC.
pub const LOINC: &str = "http://loinc.org";
/// Tutti's process questionnaire.
pub const QUESTIONNAIRE: &str = "http://tutti.health/fhir/Questionnaire/tutti-processes";

/// A file under `tests/fixtures/ehr/`.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/ehr")
        .join(name)
}

/// The `ehr.launch_key` [`configure`] sets (tests sign app contexts with it).
pub const LAUNCH_KEY: &str = "test-launch-key-0123456789abcdef0123";

/// Configures the EHR integration: both issuers with the test JWKS, their
/// pseudonym keys, the launch key and the public URL (`{addr}` is filled in
/// when the port is bound).
pub fn configure(config: &mut Config) {
    config.ehr.public_url = Some("http://{addr}".into());
    config.ehr.launch_key = Some(Secret::new(LAUNCH_KEY));
    for (iss, tenant) in [(ISS, TENANT), (OTHER_ISS, OTHER_TENANT)] {
        config.ehr.issuers.push(IssuerConfig {
            iss: iss.into(),
            tenant: tenant.into(),
            jwks_path: fixture("jwks.json"),
            smart: None,
        });
        config.ehr.pseudonym_keys.insert(
            tenant.into(),
            Secret::new(format!("pseudonym-key-of-{tenant}-0123456789abcdef")),
        );
    }
}

/// Starts a server with the EHR integration configured.
pub async fn start() -> anyhow::Result<TestServer> {
    TestServer::start_with(configure).await
}

impl Jwt {
    /// A valid token of [`ISS`] for `url`, with a fresh `jti`, valid 5 minutes.
    pub fn for_url(url: &str) -> Self {
        let now = now_secs();
        Self {
            key: Key::Rsa,
            kid: None,
            claims: json!({
                "iss": ISS,
                "aud": url,
                "iat": now,
                "exp": now + 300,
                "jti": uuid::Uuid::new_v4().to_string(),
            }),
        }
    }
}

/// An HTTP client for the server's HTTP routes.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .expect("http client")
}

/// The URL of `path` on `server`.
pub fn url(server: &TestServer, path: &str) -> String {
    format!("{}{path}", server.base_url())
}

/// A response read whole.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Content type, if any.
    pub content_type: String,
    /// Body bytes as text.
    pub text: String,
}

impl Reply {
    /// The body as JSON (panics with the body if it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
}

async fn reply(r: reqwest::Response) -> anyhow::Result<Reply> {
    let status = r.status().as_u16();
    let content_type = r
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = r.text().await.context("reading the body")?;
    Ok(Reply {
        status,
        content_type,
        text,
    })
}

/// `GET path` with an optional bearer token.
pub async fn get(server: &TestServer, path: &str, bearer: Option<&str>) -> anyhow::Result<Reply> {
    let mut req = http().get(url(server, path));
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    reply(req.send().await.context("GET")?).await
}

/// `POST path` with a JSON body and an optional bearer token.
pub async fn post(
    server: &TestServer,
    path: &str,
    bearer: Option<&str>,
    body: &Value,
) -> anyhow::Result<Reply> {
    let mut req = http().post(url(server, path)).json(body);
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    reply(req.send().await.context("POST")?).await
}

/// Calls a CDS endpoint (`path` under the server) as [`ISS`] with a fresh valid token.
pub async fn cds_post(server: &TestServer, path: &str, body: &Value) -> anyhow::Result<Reply> {
    let token = Jwt::for_url(&url(server, path)).sign();
    post(server, path, Some(&token), body).await
}

/// `GET /cds-services` as [`ISS`].
pub async fn discovery(server: &TestServer) -> anyhow::Result<Reply> {
    let token = Jwt::for_url(&url(server, "/cds-services")).sign();
    get(server, "/cds-services", Some(&token)).await
}

/// A `patient-view` request for `patient` with `prefetch` (an object).
pub fn hook(patient: &str, prefetch: Value) -> Value {
    json!({
        "hookInstance": uuid::Uuid::new_v4().to_string(),
        "hook": "patient-view",
        "fhirServer": "https://ehr.test.example/fhir",
        "context": {"userId": "Practitioner/example", "patientId": patient},
        "prefetch": prefetch,
    })
}

/// A `patient-view` request for `patient` with no prefetch: Tutti reads the
/// data from the FHIR server at `fhir_base` with the access token `token`.
pub fn fetch_hook(patient: &str, fhir_base: &str, token: &str) -> Value {
    json!({
        "hookInstance": uuid::Uuid::new_v4().to_string(),
        "hook": "patient-view",
        "fhirServer": fhir_base,
        "fhirAuthorization": {"access_token": token, "token_type": "Bearer", "expires_in": 300,
            "scope": "user/Observation.read user/QuestionnaireResponse.read", "subject": "tutti"},
        "context": {"userId": "Practitioner/1", "patientId": patient},
    })
}

/// A searchset Bundle of `resources`.
pub fn bundle(resources: Vec<Value>) -> Value {
    json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "total": resources.len(),
        "entry": resources.into_iter().map(|r| json!({
            "fullUrl": format!("https://ehr.test.example/fhir/{}/{}",
                r["resourceType"].as_str().unwrap_or("Resource"),
                r["id"].as_str().unwrap_or("x")),
            "resource": r,
            "search": {"mode": "match"},
        })).collect::<Vec<_>>(),
    })
}

/// An ISO date-time `days` days ago at 09:00 UTC, or a minute ago when that
/// would be in the future (before 09:00 UTC today: the server refuses
/// observations from the future).
pub fn days_ago(days: i64) -> String {
    let now = now_secs();
    let t = now - days * 86_400;
    let day = (t - t.rem_euclid(86_400) + 9 * 3600).min(now - 60);
    let dt = time_of(day);
    format!("{dt}Z")
}

fn time_of(secs: i64) -> String {
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// A US Core-style PHQ-9 total Observation (survey category, LOINC code,
/// `valueQuantity` with the `{score}` unit).
pub fn phq9(id: &str, patient: &str, when: &str, score: f64) -> Value {
    json!({
        "resourceType": "Observation",
        "id": id,
        "meta": {"profile": ["http://hl7.org/fhir/us/core/StructureDefinition/us-core-observation-survey"]},
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "survey", "display": "Survey"}]}],
        "code": {"coding": [{"system": LOINC, "code": "44261-6", "display": "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]"}], "text": "PHQ-9 total"},
        "subject": {"reference": format!("Patient/{patient}")},
        "effectiveDateTime": when,
        "valueQuantity": {"value": score, "unit": "{score}", "system": "http://unitsofmeasure.org", "code": "{score}"},
    })
}

/// A PHQ-9 item 9 Observation with a LOINC answer code (0-3).
pub fn phq9_item9(id: &str, patient: &str, when: &str, answer: u8) -> Value {
    let code = ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"][usize::from(answer.min(3))];
    json!({
        "resourceType": "Observation",
        "id": id,
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "survey"}]}],
        "code": {"coding": [{"system": LOINC, "code": "44260-8", "display": "Thoughts that you would be better off dead, or of hurting yourself in some way"}]},
        "subject": {"reference": format!("Patient/{patient}")},
        "effectiveDateTime": when,
        "valueCodeableConcept": {"coding": [{"system": LOINC, "code": code}]},
    })
}

/// A GAD-7 total Observation with its score as a `valueString` (as some EHRs send it).
pub fn gad7_string(id: &str, patient: &str, when: &str, score: &str) -> Value {
    json!({
        "resourceType": "Observation",
        "id": id,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "70274-6", "display": "GAD-7 total score"}]},
        "subject": {"reference": format!("Patient/{patient}")},
        "effectiveDateTime": when,
        "valueString": score,
    })
}

/// A PHQ-9 panel (44249-1) whose total and item 9 are components.
pub fn phq9_panel(id: &str, patient: &str, when: &str, total: i32, item9: i32) -> Value {
    json!({
        "resourceType": "Observation",
        "id": id,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "44249-1", "display": "PHQ-9 quick depression assessment panel"}]},
        "subject": {"reference": format!("Patient/{patient}")},
        "effectiveDateTime": when,
        "component": [
            {"code": {"coding": [{"system": LOINC, "code": "44261-6"}]}, "valueInteger": total},
            {"code": {"coding": [{"system": LOINC, "code": "44260-8"}]}, "valueInteger": item9},
        ],
    })
}

/// A QuestionnaireResponse of Tutti's process questionnaire: `(linkId, value)`.
pub fn process_ratings(id: &str, patient: &str, when: &str, answers: &[(&str, f64)]) -> Value {
    json!({
        "resourceType": "QuestionnaireResponse",
        "id": id,
        "questionnaire": format!("{QUESTIONNAIRE}|1"),
        "status": "completed",
        "subject": {"reference": format!("Patient/{patient}")},
        "authored": when,
        "item": answers.iter().map(|(link, v)| json!({
            "linkId": link,
            "answer": [{"valueInteger": v.round() as i64}],
        })).collect::<Vec<_>>(),
    })
}

/// A Patient with a name (to check that names never reach the logs).
pub fn patient(id: &str, family: &str, given: &str) -> Value {
    json!({
        "resourceType": "Patient",
        "id": id,
        "identifier": [{"system": "http://hospital.example/mrn", "value": id}],
        "name": [{"family": family, "given": [given]}],
        "gender": "female",
        "birthDate": "1985-04-12",
    })
}

/// Several weeks of a person's data: process ratings and a PHQ-9 each week,
/// PHQ-9 `start` at the first and moving by `step` a week; the last
/// `weeks - 1` days ago .. today.
pub fn weekly_history(patient: &str, weeks: i64, start: f64, step: f64) -> Vec<Value> {
    let mut out = Vec::new();
    for w in 0..weeks {
        let when = days_ago((weeks - 1 - w) * 7);
        let phq = (start + step * w as f64).clamp(0.0, 27.0);
        let wb = 100.0 - phq * 3.0;
        out.push(phq9(&format!("phq-{w}"), patient, &when, phq.round()));
        out.push(process_ratings(
            &format!("qr-{w}"),
            patient,
            &when,
            &[
                ("affect.adaptive", (wb * 0.8).clamp(0.0, 100.0)),
                ("affect.maladaptive", (100.0 - wb).clamp(0.0, 100.0)),
                ("social.adaptive", 60.0),
                ("sleep.maladaptive", (90.0 - wb * 0.5).clamp(0.0, 100.0)),
                (
                    "cognition.maladaptive",
                    (100.0 - wb * 0.9).clamp(0.0, 100.0),
                ),
            ],
        ));
    }
    out
}

/// Splits resources into the two prefetch keys Tutti asks for.
pub fn prefetch_of(resources: Vec<Value>) -> Value {
    let (qrs, obs): (Vec<Value>, Vec<Value>) = resources
        .into_iter()
        .partition(|r| r["resourceType"] == "QuestionnaireResponse");
    json!({"questionnaireResponses": bundle(qrs), "observations": bundle(obs)})
}

/// Asserts a CDS service response obeys the CDS Hooks 2.0.1 rules for cards.
pub fn assert_cds_rules(response: &Value) {
    let cards = response["cards"]
        .as_array()
        .unwrap_or_else(|| panic!("`cards` must be an array: {response}"));
    assert_no_nulls(response, "$");
    for (i, card) in cards.iter().enumerate() {
        let at = |f: &str| format!("cards[{i}].{f}");
        let summary = card["summary"]
            .as_str()
            .unwrap_or_else(|| panic!("{} required", at("summary")));
        assert!(
            !summary.is_empty() && summary.chars().count() < 140,
            "{}: {summary}",
            at("summary")
        );
        assert!(
            matches!(
                card["indicator"].as_str(),
                Some("info" | "warning" | "critical")
            ),
            "{}",
            at("indicator")
        );
        assert!(
            card["source"]["label"].is_string(),
            "{}",
            at("source.label")
        );
        if let Some(d) = card.get("detail") {
            assert!(
                d.as_str().is_some_and(|s| !s.is_empty()),
                "{}",
                at("detail")
            );
        }
        if let Some(s) = card.get("suggestions") {
            let s = s
                .as_array()
                .unwrap_or_else(|| panic!("{}", at("suggestions")));
            assert!(
                matches!(
                    card["selectionBehavior"].as_str(),
                    Some("at-most-one" | "any")
                ),
                "{} required with suggestions",
                at("selectionBehavior")
            );
            for (j, sug) in s.iter().enumerate() {
                assert!(
                    sug["label"].is_string(),
                    "{}",
                    at(&format!("suggestions[{j}].label"))
                );
                if let Some(a) = sug.get("actions") {
                    assert!(a.is_array());
                }
            }
        }
        if let Some(r) = card.get("overrideReasons") {
            for (j, c) in r.as_array().expect("array").iter().enumerate() {
                assert!(
                    c["display"].as_str().is_some_and(|d| !d.is_empty()),
                    "{} needs a display",
                    at(&format!("overrideReasons[{j}]"))
                );
            }
        }
        if let Some(links) = card.get("links") {
            for (j, l) in links.as_array().expect("array").iter().enumerate() {
                assert!(
                    l["label"].is_string() && l["url"].is_string(),
                    "{}",
                    at(&format!("links[{j}]"))
                );
                let ty = l["type"].as_str();
                assert!(
                    matches!(ty, Some("absolute" | "smart")),
                    "{}",
                    at(&format!("links[{j}].type"))
                );
                if l.get("appContext").is_some() {
                    assert_eq!(ty, Some("smart"), "appContext only with smart links");
                }
            }
        }
        if let Some(uuid) = card.get("uuid") {
            uuid::Uuid::parse_str(uuid.as_str().expect("string")).expect("card uuid is a UUID");
        }
    }
}

/// Optional fields are omitted, never sent as `null` or empty strings.
#[expect(
    clippy::wildcard_enum_match_arm,
    reason = "serde_json's Value: only null and the containers matter here"
)]
pub fn assert_no_nulls(v: &Value, at: &str) {
    match v {
        Value::Null => panic!("{at} is null: omit it instead"),
        Value::String(s) if s.is_empty() => panic!("{at} is an empty string: omit it instead"),
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                assert_no_nulls(x, &format!("{at}[{i}]"));
            }
        }
        Value::Object(m) => {
            for (k, x) in m {
                assert_no_nulls(x, &format!("{at}.{k}"));
            }
        }
        _ => {}
    }
}

/// A small real FHIR server on loopback: answers `GET /fhir/<Type>?...` with
/// a Bundle of the resources of that type, if the bearer token matches; it
/// records the paths it was asked for.
pub struct FhirServer {
    /// Its address.
    pub addr: SocketAddr,
    /// Paths and queries requested, in order.
    pub requests: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl FhirServer {
    /// Serves `resources` to callers presenting `token`.
    pub async fn start(resources: Vec<Value>, token: &str) -> anyhow::Result<Self> {
        use axum::extract::{Request, State};
        use axum::http::StatusCode;
        use axum::response::IntoResponse;
        #[derive(Clone)]
        struct S {
            resources: Arc<Vec<Value>>,
            token: String,
            requests: Arc<Mutex<Vec<String>>>,
        }
        async fn handle(State(s): State<S>, req: Request) -> axum::response::Response {
            let path = req
                .uri()
                .path_and_query()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default();
            s.requests
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(path.clone());
            let auth = req
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if auth != format!("Bearer {}", s.token) {
                return StatusCode::UNAUTHORIZED.into_response();
            }
            let ty = path
                .trim_start_matches("/fhir/")
                .split(['?', '/'])
                .next()
                .unwrap_or_default()
                .to_owned();
            let matching: Vec<Value> = s
                .resources
                .iter()
                .filter(|r| r["resourceType"] == ty.as_str())
                .cloned()
                .collect();
            axum::Json(bundle(matching)).into_response()
        }
        let requests = Arc::new(Mutex::new(Vec::new()));
        let state = S {
            resources: Arc::new(resources),
            token: token.to_owned(),
            requests: Arc::clone(&requests),
        };
        let app = axum::Router::new().fallback(handle).with_state(state);
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            addr,
            requests,
            task,
        })
    }

    /// Its FHIR base URL.
    pub fn base(&self) -> String {
        format!("http://{}/fhir", self.addr)
    }
}

impl Drop for FhirServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Compares `actual` with `tests/golden/<name>.json`; with `UPDATE_GOLDEN=1`
/// in the environment it writes the file instead (review the diff!).
pub fn assert_golden(name: &str, actual: &Value) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("golden")
        .join(format!("{name}.json"));
    let pretty = format!(
        "{}\n",
        serde_json::to_string_pretty(actual).expect("serialises")
    );
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
        std::fs::write(&path, &pretty).expect("writes golden");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with UPDATE_GOLDEN=1 to create)",
            path.display()
        )
    });
    assert_eq!(
        pretty,
        expected,
        "{name} differs from its golden file {}",
        path.display()
    );
}

/// A card with what changes from run to run (ids, tokens, numbers, ranked
/// names) replaced by placeholders, so its golden file pins the shape and
/// the fixed texts.
pub fn card_skeleton(card: &Value) -> Value {
    let mut c = card.clone();
    c["uuid"] = json!("<uuid>");
    c["summary"] = json!("<summary>");
    c["detail"] = json!("<markdown>");
    if let Some(s) = c["suggestions"].as_array_mut() {
        for sug in s {
            sug["uuid"] = json!("<uuid>");
            sug["label"] = json!("<label>");
        }
    }
    if let Some(links) = c["links"].as_array_mut() {
        for l in links {
            l["url"] = json!("<url>");
            if l.get("appContext").is_some() {
                l["appContext"] = json!("<appContext>");
            }
        }
    }
    c
}

/// The pseudonymous person id Tutti gives `patient` of `iss` in `tenant`
/// (the same keyed mapping as the server, with the test's keys).
pub fn person_of(patient: &str, iss: &str, tenant: &str) -> String {
    let key = Secret::new(format!("pseudonym-key-of-{tenant}-0123456789abcdef"));
    tutti_server::ehr::pseudonym::person_for(&key, iss, patient)
        .expect("maps")
        .as_str()
        .to_owned()
}

/// The card of a CDS answer that must have exactly one.
pub fn the_card(body: &Value) -> Value {
    let cards = body["cards"].as_array().expect("cards");
    assert_eq!(cards.len(), 1, "{body}");
    cards[0].clone()
}

/// The launch token in a card's app link.
pub fn launch_token(card: &Value) -> String {
    let url = card["links"][0]["url"].as_str().expect("link url");
    url.split("tutti_launch=").nth(1).expect("token").to_owned()
}

/// A `patient-view` call for `patient` with `resources` prefetched, as in the
/// chart; its one card.
pub async fn card_for(
    server: &TestServer,
    patient: &str,
    resources: Vec<Value>,
) -> anyhow::Result<Value> {
    let r = cds_post(
        server,
        &format!("/cds-services/{PATIENT_VIEW}"),
        &hook(patient, prefetch_of(resources)),
    )
    .await?;
    assert_eq!(r.status, 200, "{}", r.text);
    Ok(the_card(&r.json()))
}

/// The clinician app's session for a launch token (a card link's, or the
/// one a SMART callback hands the app).
pub async fn open_session(server: &TestServer, launch: &str) -> anyhow::Result<String> {
    let s = post(server, "/ehr/app/session", None, &json!({"launch": launch})).await?;
    assert_eq!(s.status, 200, "{}", s.text);
    Ok(s.json()["session"].as_str().expect("session").to_owned())
}

/// The clinician app's view for `session`.
pub async fn app_view(server: &TestServer, session: &str) -> anyhow::Result<Value> {
    let view = get(server, "/ehr/app/api/view", Some(session)).await?;
    assert_eq!(view.status, 200, "{}", view.text);
    Ok(view.json())
}

/// The clinician's `decision` (`accepted`, `overridden`) on `recommendation`
/// from the app's buttons; the answer, unchecked.
pub async fn decide(
    server: &TestServer,
    session: &str,
    recommendation: impl Into<Value>,
    decision: &str,
) -> anyhow::Result<Reply> {
    let body = json!({"recommendationId": recommendation.into(), "decision": decision});
    post(server, "/ehr/app/api/feedback", Some(session), &body).await
}

/// Each of the app's own calls (session, view, feedback) left a successful
/// audit row by `principal`, on `person` (feedback: on the recommendation it
/// names, RecordFeedback's resource).
pub fn assert_app_calls_audited(
    rows: &[AuditRow],
    principal: &str,
    person: &str,
    recommendation: &str,
) {
    for method in [
        "POST /ehr/app/session",
        "GET /ehr/app/api/view",
        "POST /ehr/app/api/feedback",
    ] {
        let row = rows
            .iter()
            .find(|r| r.method == method && r.code == 0)
            .unwrap_or_else(|| panic!("no {method} row in {rows:?}"));
        assert_eq!(row.principal, principal, "{method}");
        let resource = if method.ends_with("feedback") {
            format!("recommendations/{recommendation}")
        } else {
            format!("people/{person}")
        };
        assert_eq!(row.resource, resource, "{method}");
    }
}
