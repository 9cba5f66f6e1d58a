//! Behaviour: several real `tutti serve` processes on one PostgreSQL database
//! (a throwaway cluster this test starts) act as one service: writes to the
//! same people from every replica at once lose nothing and count nothing
//! twice, a retry that lands on another replica returns the first answer, a
//! new model artifact is served by every replica without a restart, a replica
//! killed with SIGKILL under write load loses no acknowledged write, an
//! intervention a tenant adds on one replica is ranked by the others, and the
//! audit chains the replicas append together verify.

use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tonic::Code;
use tonic::transport::Channel;
use tutti_engine::Engine;
use tutti_engine::train::{TrainingSet, train};
use tutti_proto::v1::people_service_client::PeopleServiceClient;
use tutti_proto::v1::recommendation_service_client::RecommendationServiceClient;
use tutti_proto::v1::{
    Assessment, Completion, CreatePersonRequest, Feedback, GetPersonRequest, ProcessRating,
    RecommendRequest, RecommendationContext, RecordAssessmentRequest, RecordFeedbackRequest,
};
use tutti_server::model::{FORMAT, ModelArtifact};
use tutti_server::storage::postgres::{PgOptions, PgStorage};

/// A fresh database on the test binary's cluster, or `None` (skipped, loudly).
fn database() -> Option<String> {
    support::postgres::fresh_database()
}

async fn replicas(url: &str, n: usize, extra_env: &[(&str, &str)]) -> Vec<support::Server> {
    let mut out = Vec::new();
    for _ in 0..n {
        let mut cmd = support::serve_postgres_command(url, &[]);
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        out.push(support::Server::spawn(cmd).await.expect("replica starts"));
    }
    out
}

fn ts(t: SystemTime) -> prost_types::Timestamp {
    prost_types::Timestamp::from(t)
}

/// The i-th assessment of a writer: the same every time it is asked for, so
/// a retry is the same request.
fn assessment(i: usize) -> Assessment {
    static BASE: std::sync::OnceLock<SystemTime> = std::sync::OnceLock::new();
    let base = *BASE.get_or_init(|| SystemTime::now() - Duration::from_secs(7 * 86_400));
    let rating = |p: &str, a: f64, m: f64| ProcessRating {
        process_id: p.into(),
        adaptive: Some(a),
        maladaptive: Some(m),
    };
    let wobble = (i % 7) as f64 * 5.0;
    Assessment {
        observe_time: Some(ts(base + Duration::from_secs(i as u64 * 60))),
        ratings: vec![
            rating("affect", 40.0 + wobble, 50.0 - wobble),
            rating("cognition", 60.0 - wobble, 30.0 + wobble),
        ],
        ..Default::default()
    }
}

async fn create_person(channel: Channel, person_id: &str) {
    PeopleServiceClient::new(channel)
        .create_person(CreatePersonRequest {
            request_id: format!("create-{person_id}"),
            person_id: person_id.into(),
            conditions: vec![],
        })
        .await
        .unwrap_or_else(|s| panic!("create {person_id}: {s:?}"));
}

/// Calls `call` until it is not ABORTED (the service gives up on a person
/// after several conflicting writers; the request id makes the retry safe).
async fn until_not_aborted<T, F, Fut>(mut call: F) -> Result<T, tonic::Status>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, tonic::Status>>,
{
    for _ in 0..100 {
        match call().await {
            Err(s) if s.code() == Code::Aborted => continue,
            other => return other,
        }
    }
    call().await
}

#[derive(Default)]
struct Acked {
    assessments: BTreeMap<String, u32>,
    feedback: BTreeMap<String, u32>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_to_the_same_people_from_three_replicas_lose_nothing_and_count_nothing_twice() {
    let Some(url) = database() else { return };
    let servers = replicas(&url, 3, &[]).await;
    const PEOPLE: usize = 3;
    const WRITERS: usize = 6;
    const ROUNDS: usize = 12;
    for k in 0..PEOPLE {
        create_person(servers[k % 3].channel(), &format!("shared-{k}")).await;
    }
    let acked = Arc::new(Mutex::new(Acked::default()));
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        // Every person is written through every replica.
        let channel = servers[w % 3].channel();
        let acked = Arc::clone(&acked);
        tasks.push(tokio::spawn(async move {
            let people = PeopleServiceClient::new(channel.clone());
            let recs = RecommendationServiceClient::new(channel);
            for i in 0..ROUNDS {
                let person = format!("people/shared-{}", (w + i) % PEOPLE);
                let request = RecordAssessmentRequest {
                    request_id: format!("a-{w}-{i}"),
                    person: person.clone(),
                    assessment: Some(assessment(w * 1000 + i)),
                };
                until_not_aborted(|| {
                    let (mut c, r) = (people.clone(), request.clone());
                    async move { c.record_assessment(r).await }
                })
                .await
                .unwrap_or_else(|s| panic!("assessment {w}-{i}: {s:?}"));
                *acked
                    .lock()
                    .expect("lock")
                    .assessments
                    .entry(person.clone())
                    .or_default() += 1;
                if i % 3 == 0 {
                    let request = RecommendRequest {
                        request_id: format!("r-{w}-{i}"),
                        person: person.clone(),
                        max_results: 2,
                        context: Some(RecommendationContext::default()),
                        ..Default::default()
                    };
                    let ranking = until_not_aborted(|| {
                        let (mut c, r) = (recs.clone(), request.clone());
                        async move { c.recommend(r).await }
                    })
                    .await
                    .unwrap_or_else(|s| panic!("recommend {w}-{i}: {s:?}"))
                    .into_inner();
                    let first = ranking.recommendations.first().expect("a recommendation");
                    let request = RecordFeedbackRequest {
                        request_id: format!("f-{w}-{i}"),
                        feedback: Some(Feedback {
                            recommendation_id: first.recommendation_id.clone(),
                            completion: Completion::Done as i32,
                            helpfulness: Some(70.0),
                            observe_time: Some(ts(SystemTime::now())),
                            ..Default::default()
                        }),
                    };
                    until_not_aborted(|| {
                        let (mut c, r) = (recs.clone(), request.clone());
                        async move { c.record_feedback(r).await }
                    })
                    .await
                    .unwrap_or_else(|s| panic!("feedback {w}-{i}: {s:?}"));
                    *acked
                        .lock()
                        .expect("lock")
                        .feedback
                        .entry(person.clone())
                        .or_default() += 1;
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("writer");
    }
    let acked = std::mem::take(&mut *acked.lock().expect("lock"));
    // Every replica reads the same, exact counts.
    for server in &servers {
        let mut people = PeopleServiceClient::new(server.channel());
        for (person, n) in &acked.assessments {
            let p = people
                .get_person(GetPersonRequest {
                    name: person.clone(),
                })
                .await
                .expect("read")
                .into_inner()
                .person
                .expect("person");
            assert_eq!(p.assessment_count, *n, "{person}: assessments");
            assert_eq!(
                p.feedback_count,
                acked.feedback.get(person).copied().unwrap_or(0),
                "{person}: feedback"
            );
        }
    }
    let reports = pg_storage(&url)
        .await
        .verify_audit(None)
        .await
        .expect("verify");
    assert!(!reports.is_empty());
    for r in reports {
        assert_eq!(r.problem, None, "audit chain of tenant {:?}", r.tenant);
    }
}

async fn pg_storage(url: &str) -> PgStorage {
    PgStorage::open(&PgOptions {
        url: url.into(),
        pool_size: 2,
        tls_ca_path: None,
    })
    .await
    .expect("opens the database")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_on_another_replica_returns_the_first_answer_and_stores_nothing_twice() {
    let Some(url) = database() else { return };
    let servers = replicas(&url, 2, &[]).await;
    create_person(servers[0].channel(), "retry").await;
    let mut a = PeopleServiceClient::new(servers[0].channel());
    let mut b = PeopleServiceClient::new(servers[1].channel());
    let request = RecordAssessmentRequest {
        request_id: "retried".into(),
        person: "people/retry".into(),
        assessment: Some(assessment(1)),
    };
    let first = a
        .record_assessment(request.clone())
        .await
        .expect("first")
        .into_inner();
    let again = b
        .record_assessment(request.clone())
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(
        first, again,
        "the retry on replica B returns replica A's answer"
    );
    // The same key raced on both replicas at once.
    let raced = RecordAssessmentRequest {
        request_id: "raced".into(),
        person: "people/retry".into(),
        assessment: Some(assessment(2)),
    };
    let (x, y) = tokio::join!(
        a.record_assessment(raced.clone()),
        b.record_assessment(raced)
    );
    let (x, y) = (x.expect("A").into_inner(), y.expect("B").into_inner());
    assert_eq!(x, y, "both replicas answer with the one stored write");
    let person = a
        .get_person(GetPersonRequest {
            name: "people/retry".into(),
        })
        .await
        .expect("read")
        .into_inner()
        .person
        .expect("person");
    assert_eq!(person.assessment_count, 2);
}

fn artifact(version: &str) -> ModelArtifact {
    let base = Engine::with_defaults();
    let (population, report) = train(
        version,
        &TrainingSet::default(),
        base.interventions(),
        base.processes(),
    )
    .expect("trains");
    ModelArtifact {
        format: FORMAT.into(),
        version: version.into(),
        created_at: "2026-11-26T00:00:00Z".into(),
        source: serde_json::json!({ "kind": "test" }),
        report,
        population,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_model_artifact_is_served_by_every_replica_without_a_restart() {
    let Some(url) = database() else { return };
    let models = support::temp_dir();
    artifact("trained-20260101T000000Z-a")
        .write(models.path())
        .expect("written");
    let dir = models.path().display().to_string();
    let servers = replicas(
        &url,
        2,
        &[
            ("TUTTI_MODEL__PATH", dir.as_str()),
            ("TUTTI_MODEL__POLL_SECONDS", "1"),
        ],
    )
    .await;
    create_person(servers[0].channel(), "model").await;
    let version_on = |server: &support::Server| {
        let mut recs = RecommendationServiceClient::new(server.channel());
        async move {
            recs.recommend(RecommendRequest {
                request_id: uuid_like(),
                person: "people/model".into(),
                context: Some(RecommendationContext::default()),
                ..Default::default()
            })
            .await
            .expect("recommend")
            .into_inner()
            .model_version
        }
    };
    for s in &servers {
        assert!(
            version_on(s)
                .await
                .starts_with("trained-20260101T000000Z-a")
        );
    }
    artifact("trained-20260301T000000Z-c")
        .write(models.path())
        .expect("written");
    for (i, s) in servers.iter().enumerate() {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let v = version_on(s).await;
            if v.starts_with("trained-20260301T000000Z-c") {
                break;
            }
            assert!(Instant::now() < deadline, "replica {i} still serves {v}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "req-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Kill trials; each starts two replicas on a fresh database.
const KILL_TRIALS: usize = 10;
/// Writes acknowledged before the kill (the writers keep going meanwhile).
const ACKED_BEFORE_KILL: usize = 60;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_acknowledged_write_is_lost_when_a_replica_is_killed_under_load() {
    if support::postgres::shared().is_none() {
        return;
    }
    for trial in 0..KILL_TRIALS {
        let url = database().expect("cluster is up");
        let mut servers = replicas(&url, 2, &[]).await;
        let survivor = servers.pop().expect("two");
        let victim = servers.pop().expect("two");
        let acked: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let mut writers = Vec::new();
        for w in 0..6 {
            // Most writers on the victim, a couple on the survivor, all on a
            // few shared people.
            let channel = if w < 4 {
                victim.channel()
            } else {
                survivor.channel()
            };
            let acked = Arc::clone(&acked);
            writers.push(tokio::spawn(async move {
                let mut people = PeopleServiceClient::new(channel);
                let person_id = format!("k{trial}-{}", w % 3);
                let _ = people
                    .create_person(CreatePersonRequest {
                        request_id: format!("create-{person_id}"),
                        person_id: person_id.clone(),
                        conditions: vec![],
                    })
                    .await;
                for i in 0..400 {
                    let request_id = format!("k{trial}-{w}-{i}");
                    let r = people
                        .record_assessment(RecordAssessmentRequest {
                            request_id: request_id.clone(),
                            person: format!("people/{person_id}"),
                            assessment: Some(assessment(w * 1000 + i)),
                        })
                        .await;
                    match r {
                        Ok(_) => acked
                            .lock()
                            .expect("lock")
                            .push((request_id, format!("people/{person_id}"))),
                        Err(s) if s.code() == Code::Aborted => {}
                        // The replica is gone: nothing more is acknowledged here.
                        Err(_) => return,
                    }
                    if w >= 4 && i >= 40 {
                        return;
                    }
                }
            }));
        }
        let deadline = Instant::now() + Duration::from_secs(120);
        while acked.lock().expect("lock").len() < ACKED_BEFORE_KILL {
            assert!(
                Instant::now() < deadline,
                "trial {trial}: too few writes acknowledged"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        victim.kill_9().expect("kill -9");
        for w in writers {
            w.await.expect("writer");
        }
        let acked = acked.lock().expect("lock").clone();
        let mut per_person: BTreeMap<String, u32> = BTreeMap::new();
        for (_, person) in &acked {
            *per_person.entry(person.clone()).or_default() += 1;
        }
        let mut people = PeopleServiceClient::new(survivor.channel());
        for (person, n) in &per_person {
            let p = people
                .get_person(GetPersonRequest {
                    name: person.clone(),
                })
                .await
                .unwrap_or_else(|s| panic!("trial {trial}: {person} is gone: {s:?}"))
                .into_inner()
                .person
                .expect("person");
            assert!(
                p.assessment_count >= *n,
                "trial {trial}: {person}: {n} acknowledged, {} stored",
                p.assessment_count
            );
        }
        // Each acknowledged write has its audit row, committed with it.
        let cluster = support::postgres::shared().expect("cluster");
        let db = url.rsplit('/').next().expect("database name");
        let audited: BTreeSet<String> = cluster
            .psql(
                db,
                "SELECT request_id FROM audit WHERE code = 0 AND request_id IS NOT NULL",
            )
            .expect("audit rows")
            .lines()
            .map(str::to_owned)
            .collect();
        for (request_id, _) in &acked {
            assert!(
                audited.contains(request_id),
                "trial {trial}: acknowledged {request_id} has no audit row"
            );
        }
        for r in pg_storage(&url)
            .await
            .verify_audit(None)
            .await
            .expect("verify")
        {
            assert_eq!(
                r.problem, None,
                "trial {trial}: audit chain of {:?}",
                r.tenant
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_intervention_added_on_one_replica_is_ranked_by_the_others() {
    use tutti_proto::v1::catalog_service_client::CatalogServiceClient;
    use tutti_proto::v1::{CreateInterventionRequest, Intervention, Modality, ProcessTarget};
    let Some(url) = database() else { return };
    let servers = replicas(&url, 2, &[("TUTTI_STORAGE__CATALOG_POLL_SECONDS", "1")]).await;
    create_person(servers[0].channel(), "catalogue").await;
    let pinned = |server: &support::Server| {
        let mut recs = RecommendationServiceClient::new(server.channel());
        async move {
            recs.recommend(RecommendRequest {
                request_id: uuid_like(),
                person: "people/catalogue".into(),
                context: Some(RecommendationContext::default()),
                pinned_intervention_ids: vec!["clinic-breathing".into()],
                ..Default::default()
            })
            .await
        }
    };
    // Replica B builds its engine for the tenant before the change.
    assert!(
        pinned(&servers[1]).await.is_err(),
        "unknown before it is added"
    );
    CatalogServiceClient::new(servers[0].channel())
        .create_intervention(CreateInterventionRequest {
            request_id: "add-breathing".into(),
            intervention: Some(Intervention {
                id: "clinic-breathing".into(),
                display_name: "Clinic breathing".into(),
                family: "clinic".into(),
                instructions: "Take five slow breaths and name what you feel.".into(),
                targets: vec![ProcessTarget {
                    process_id: "affect".into(),
                    weight: 1.0,
                }],
                effort_minutes: 5,
                modality: Modality::App as i32,
                evidence: "Written for the tests.".into(),
                prior_effect: 0.5,
                ..Default::default()
            }),
        })
        .await
        .expect("created on replica A");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match pinned(&servers[1]).await {
            Ok(r) => {
                let first = r.into_inner().recommendations.into_iter().next();
                let id = first.and_then(|f| f.intervention).map(|i| i.id);
                assert_eq!(id.as_deref(), Some("clinic-breathing"));
                break;
            }
            Err(s) => assert!(
                Instant::now() < deadline,
                "replica B never learned the new intervention: {s:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
