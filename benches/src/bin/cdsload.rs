//! `cdsload`: the CDS Hooks service under an EHR's load. It starts the server
//! in-process on `127.0.0.1:0` (the real `tutti_server::serve`, over a fresh
//! SQLite file with fsync and audit) with the EHR integration configured for
//! the test keys in `tests/fixtures/ehr/`, then `--concurrency` callers send
//! `patient-view` calls for `--patients` patients for `--duration` seconds.
//! Each call is what an EHR sends when a chart opens: a freshly signed JWT
//! (RS256; signed before the clock starts), a new `hookInstance`, and the
//! patient's whole recent history prefetched (`--weeks` of weekly PHQ-9
//! totals and process questionnaires), so the timed path is: verify the JWT,
//! map the patient, read the FHIR, find the resources already stored, rank
//! and log the decision, read the insights, build the card.
//!
//! It writes a JSON report (p50/p95/p99/max in milliseconds, throughput,
//! errors, git sha) and asserts nothing about speed: CDS Hooks asks for
//! answers "in about 500 ms"; `docs/benchmarks.md` quotes the numbers. It
//! exits with an error if any call failed.

use anyhow::{Context as _, bail};
use clap::Parser;
use hdrhistogram::Histogram;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::net::TcpListener;
use tutti_server::config::{Config, IssuerConfig, Secret};

const ISS: &str = "https://ehr.bench.example";
const TENANT: &str = "bench-ehr";
const SERVICE: &str = "/cds-services/tutti-patient-view";

#[derive(Debug, Clone, Parser, Serialize)]
#[command(about = "Load generator for Tutti's CDS Hooks service")]
struct Args {
    /// Patients the EHR opens charts of.
    #[arg(long, default_value_t = 50)]
    patients: usize,
    /// Weeks of history prefetched with every call.
    #[arg(long, default_value_t = 12)]
    weeks: usize,
    /// Concurrent callers.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Seconds of measured load.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Where to write the JSON report [default: stdout only].
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
struct Report {
    tool: &'static str,
    git_sha: String,
    args: Args,
    calls: u64,
    errors: u64,
    first_calls: u64,
    throughput_per_s: f64,
    p50_ms: f64,
    p95_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    first_call_p95_ms: f64,
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/ehr")
        .join(name)
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
}

/// 09:00 UTC on the day of `secs`, or a minute ago if that is still to come:
/// the service refuses observations from the future, and a run before 09:00
/// UTC once sent this week's at 09:00 today, and every call failed.
fn date(secs: i64) -> String {
    let nine = secs - secs.rem_euclid(86_400) + 9 * 3600;
    let t = time::OffsetDateTime::from_unix_timestamp(nine.min(now_secs() - 60))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// The patient's weekly history as the two prefetch bundles.
fn prefetch(patient: usize, weeks: usize) -> Value {
    let mut obs = Vec::new();
    let mut qrs = Vec::new();
    for w in 0..weeks {
        let when = date(now_secs() - ((weeks - 1 - w) as i64) * 7 * 86_400);
        let phq = ((patient % 7) as f64 + 14.0 - w as f64 * 0.8)
            .clamp(0.0, 27.0)
            .round();
        let wb = 100.0 - phq * 3.0;
        obs.push(json!({"resource": {
            "resourceType": "Observation", "id": format!("phq-{patient}-{w}"), "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "44261-6"}]},
            "subject": {"reference": format!("Patient/bench-{patient}")},
            "effectiveDateTime": when, "valueQuantity": {"value": phq, "unit": "{score}"}}}));
        let answer = |link: &str, v: f64| json!({"linkId": link, "answer": [{"valueInteger": v.clamp(0.0, 100.0).round() as i64}]});
        qrs.push(json!({"resource": {
            "resourceType": "QuestionnaireResponse", "id": format!("qr-{patient}-{w}"), "status": "completed",
            "questionnaire": "http://tutti.health/fhir/Questionnaire/tutti-processes",
            "subject": {"reference": format!("Patient/bench-{patient}")}, "authored": when,
            "item": [answer("affect.adaptive", wb * 0.8), answer("affect.maladaptive", 100.0 - wb),
                     answer("social.adaptive", 55.0 + (patient % 5) as f64 * 5.0),
                     answer("sleep.maladaptive", 90.0 - wb * 0.5), answer("cognition.maladaptive", 100.0 - wb * 0.9)]}}));
    }
    json!({
        "observations": {"resourceType": "Bundle", "type": "searchset", "entry": obs},
        "questionnaireResponses": {"resourceType": "Bundle", "type": "searchset", "entry": qrs},
    })
}

fn jwt(key: &EncodingKey, aud: &str) -> anyhow::Result<String> {
    let now = now_secs();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("ehr-rsa-1".into());
    let claims = json!({"iss": ISS, "aud": aud, "iat": now, "exp": now + 300,
        "jti": uuid::Uuid::new_v4().to_string()});
    Ok(jsonwebtoken::encode(&header, &claims, key)?)
}

async fn caller(
    base: String,
    args: Args,
    worker: usize,
    until: Instant,
) -> anyhow::Result<(Histogram<u64>, Histogram<u64>, u64)> {
    let key = EncodingKey::from_rsa_pem(&std::fs::read(fixture("rsa-private.pem"))?)?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let url = format!("{base}{SERVICE}");
    let mut steady = Histogram::<u64>::new(3)?;
    let mut first = Histogram::<u64>::new(3)?;
    let mut errors = 0;
    // Each caller has its own patients, so "a patient's first call" is exact.
    let mine: Vec<usize> = (worker..args.patients).step_by(args.concurrency).collect();
    let mut seen = vec![false; args.patients];
    let mut i = 0;
    while Instant::now() < until {
        let patient = mine[i % mine.len()];
        i += 1;
        let body = json!({
            "hookInstance": uuid::Uuid::new_v4().to_string(),
            "hook": "patient-view",
            "fhirServer": "https://ehr.bench.example/fhir",
            "context": {"userId": "Practitioner/1", "patientId": format!("bench-{patient}")},
            "prefetch": prefetch(patient, args.weeks),
        });
        let token = jwt(&key, &url)?;
        let start = Instant::now();
        let r = http.post(&url).bearer_auth(token).json(&body).send().await;
        let ok = match r {
            Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
            Ok(r) => {
                if errors == 0 {
                    let status = r.status();
                    let body = r.text().await.unwrap_or_default();
                    eprintln!("cdsload: caller {worker}'s first failed call: {status} {body}");
                }
                false
            }
            Err(e) => {
                if errors == 0 {
                    eprintln!("cdsload: caller {worker}'s first failed call: {e}");
                }
                false
            }
        };
        let us = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
        if !ok {
            errors += 1;
        } else if seen[patient] {
            steady.record(us)?;
        } else {
            // A patient's first call stores their whole history: reported apart.
            first.record(us)?;
        }
        seen[patient] = true;
    }
    Ok((steady, first, errors))
}

fn git_sha() -> String {
    std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map_or_else(|| "unknown".to_owned(), |s| s.trim().to_owned())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.concurrency == 0
        || args.patients < args.concurrency
        || args.weeks == 0
        || args.duration <= 0.0
    {
        bail!(
            "--concurrency and --weeks must be at least 1, --patients at least --concurrency, --duration > 0"
        );
    }
    let dir = tempfile::tempdir()?;
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let base = format!("http://{addr}");
    let mut config = Config::default();
    config.storage.path = dir.path().join("tutti.db");
    config.log.filter = "warn".into();
    config.ehr.public_url = Some(base.clone());
    config.ehr.launch_key = Some(Secret::new("bench-launch-key-0123456789abcdef0123"));
    config.ehr.issuers.push(IssuerConfig {
        iss: ISS.into(),
        tenant: TENANT.into(),
        jwks_path: fixture("jwks.json"),
        smart: None,
    });
    config.ehr.pseudonym_keys.insert(
        TENANT.into(),
        Secret::new("bench-pseudonym-key-0123456789abcdef"),
    );
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(tutti_server::serve(listener, config, async move {
        let _ = rx.await;
    }));
    let deadline = Instant::now() + Duration::from_secs(30);
    let probe = reqwest::Client::new();
    loop {
        let url = format!("{base}/fhir/r4/Questionnaire/tutti-processes");
        if probe
            .get(&url)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        if Instant::now() > deadline || server.is_finished() {
            bail!("the server did not come up");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let until = Instant::now() + Duration::from_secs_f64(args.duration);
    let mut tasks = Vec::new();
    for w in 0..args.concurrency {
        tasks.push(tokio::spawn(caller(base.clone(), args.clone(), w, until)));
    }
    let mut steady = Histogram::<u64>::new(3)?;
    let mut first = Histogram::<u64>::new(3)?;
    let mut errors = 0;
    for t in tasks {
        let (s, f, e) = t.await.context("caller")??;
        steady.add(&s)?;
        first.add(&f)?;
        errors += e;
    }
    let _ = tx.send(());
    let _ = server.await;
    let ms = |us: u64| us as f64 / 1000.0;
    let report = Report {
        tool: "cdsload",
        git_sha: git_sha(),
        args: args.clone(),
        calls: steady.len() + first.len(),
        errors,
        first_calls: first.len(),
        throughput_per_s: (steady.len() + first.len()) as f64 / args.duration,
        p50_ms: ms(steady.value_at_quantile(0.5)),
        p95_ms: ms(steady.value_at_quantile(0.95)),
        p99_ms: ms(steady.value_at_quantile(0.99)),
        max_ms: ms(steady.max()),
        first_call_p95_ms: ms(first.value_at_quantile(0.95)),
    };
    let text = serde_json::to_string_pretty(&report)?;
    println!("{text}");
    if let Some(out) = &args.out {
        std::fs::write(out, format!("{text}\n"))
            .with_context(|| format!("writing {}", out.display()))?;
    }
    // An EHR gets no card from a failed call: a run with failures measured
    // something else, and the smoke run in scripts/test.sh must say so.
    if errors > 0 {
        bail!("{errors} calls failed (each caller's first failure is above)");
    }
    Ok(())
}
