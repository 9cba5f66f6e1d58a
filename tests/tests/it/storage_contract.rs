//! Behaviour: the storage contract ([`tutti_server::storage::Storage`]) holds
//! on both backends, SQLite on a real file and PostgreSQL on a real cluster
//! this test binary starts: idempotency keys stored once with their write,
//! rows scoped by tenant, a stale state version refused, erasure, and what
//! several replicas on one database need (concurrent writers of one person
//! lose no update, a request id raced on two replicas is stored once, audit
//! chains appended from two replicas verify).
//!
//! This is the one integration target that uses the server's storage layer
//! directly (the others talk gRPC): it tests that layer. Each behaviour is
//! one function taking a [`Backend`]; `on_both!` runs it on each.

use std::sync::Arc;
use tutti_engine::Engine;
use tutti_engine::ids::Timestamp;
use tutti_server::convert::ids::{DecisionId, PersonId, RecommendationId, RequestId, TenantId};
use tutti_server::storage::postgres::{PgOptions, PgStorage};
use tutti_server::storage::sqlite::SqliteStorage;
use tutti_server::storage::{
    AuditRow, Erased, IdempotencyRecord, NewDecision, NewPerson, NewRecommendation, StateUpdate,
    Storage, StorageError, StoredAssessment, Subject, WriteSnapshot,
};
use tutti_tests::postgres;

/// One database, and a way to open it again as another replica would.
enum Backend {
    Sqlite(tempfile::TempDir),
    Postgres(String),
}

impl Backend {
    fn sqlite() -> Self {
        Backend::Sqlite(tempfile::tempdir().expect("temp dir"))
    }

    fn postgres() -> Option<Self> {
        postgres::fresh_database().map(Backend::Postgres)
    }

    /// Opens the database (again): each call is a separate "replica".
    async fn open(&self) -> Arc<dyn Storage> {
        match self {
            Backend::Sqlite(dir) => Arc::new(
                SqliteStorage::open(dir.path().join("t.db"))
                    .await
                    .expect("opens"),
            ),
            Backend::Postgres(url) => Arc::new(
                PgStorage::open(&PgOptions {
                    url: url.clone(),
                    pool_size: 8,
                    tls_ca_path: None,
                })
                .await
                .expect("opens"),
            ),
        }
    }

    /// Every tenant's audit chain verifies.
    async fn audit_verifies(&self) {
        let reports = match self {
            Backend::Sqlite(dir) => {
                let conn = rusqlite::Connection::open(dir.path().join("t.db")).expect("opens");
                tutti_server::storage::audit_chain::verify(&conn, None).expect("verify")
            }
            Backend::Postgres(url) => PgStorage::open(&PgOptions {
                url: url.clone(),
                pool_size: 1,
                tls_ca_path: None,
            })
            .await
            .expect("opens")
            .verify_audit(None)
            .await
            .expect("verify"),
        };
        assert!(!reports.is_empty(), "no audit chain");
        for r in reports {
            assert_eq!(r.problem, None, "tenant {}: {:?}", r.tenant, r);
        }
    }
}

macro_rules! on_both {
    ($($behaviour:ident),* $(,)?) => {
        $(
            mod $behaviour {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$behaviour(super::Backend::sqlite()).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(backend) = super::Backend::postgres() {
                        super::$behaviour(backend).await;
                    }
                }
            }
        )*
    };
}

on_both!(
    an_idempotency_key_is_stored_once_with_its_write,
    rows_are_scoped_by_tenant,
    a_stale_state_version_is_a_conflict_and_stores_nothing,
    erasing_a_person_erases_their_rows_and_stored_responses,
    concurrent_writers_on_two_replicas_lose_no_update,
    a_request_id_raced_on_two_replicas_is_stored_once,
    audit_chains_appended_from_two_replicas_verify,
    recent_states_are_the_newest_and_expired_responses_are_swept,
    a_write_reads_its_stored_answer_and_its_person_at_once,
    a_token_id_is_claimed_once_across_replicas_until_it_expires,
);

fn t(s: &str) -> TenantId {
    TenantId::parse(s).expect("id")
}
fn p(s: &str) -> PersonId {
    PersonId::parse(s).expect("id")
}
fn rid(s: &str) -> RequestId {
    RequestId::parse(s).expect("id")
}

fn idem(request_id: &str, person: Option<&str>) -> IdempotencyRecord {
    IdempotencyRecord {
        method: "/m".into(),
        request_id: rid(request_id),
        request_hash: "h".into(),
        response: vec![1, 2, 3],
        person: person.map(p),
        create_time: Timestamp(1),
        audit: None,
    }
}

fn audit_row(tenant: &str, call: &str) -> AuditRow {
    AuditRow {
        time: Timestamp(1),
        tenant: tenant.into(),
        principal: "test".into(),
        method: "/m".into(),
        resource: String::new(),
        code: 0,
        call_id: call.into(),
        request_id: Some(call.into()),
        trace_id: String::new(),
        count: 1,
    }
}

async fn create(
    db: &dyn Storage,
    tenant: &str,
    person: &str,
    request_id: &str,
) -> Result<(), StorageError> {
    db.create_person(
        &t(tenant),
        NewPerson {
            id: p(person),
            conditions: vec![],
            create_time: Timestamp(1),
            state: Engine::with_defaults().new_person(vec![]),
        },
        idem(request_id, Some(person)),
    )
    .await
}

fn assessment(id: &str, at: i64) -> StoredAssessment {
    StoredAssessment {
        id: id.into(),
        observe_time: Timestamp(at),
        payload: vec![],
    }
}

async fn an_idempotency_key_is_stored_once_with_its_write(b: Backend) {
    let db = b.open().await;
    create(&*db, "a", "p1", "r1").await.expect("created");
    let stored = db
        .find_response(&t("a"), "/m", &rid("r1"))
        .await
        .expect("read");
    assert_eq!(stored.map(|s| s.response), Some(vec![1, 2, 3]));
    // Same key again: refused, and the second person is not stored either.
    assert!(matches!(
        create(&*db, "a", "p2", "r1").await,
        Err(StorageError::DuplicateRequest)
    ));
    assert!(
        db.get_person(&t("a"), &p("p2"))
            .await
            .expect("read")
            .is_none()
    );
    // A taken id with a new key: AlreadyExists, and the key is not kept.
    assert!(matches!(
        create(&*db, "a", "p1", "r2").await,
        Err(StorageError::AlreadyExists { .. })
    ));
    assert!(
        db.find_response(&t("a"), "/m", &rid("r2"))
            .await
            .expect("read")
            .is_none()
    );
}

async fn rows_are_scoped_by_tenant(b: Backend) {
    let db = b.open().await;
    create(&*db, "a", "p1", "r1").await.expect("created");
    create(&*db, "b", "p1", "r1")
        .await
        .expect("same ids, other tenant");
    assert!(
        db.get_person(&t("c"), &p("p1"))
            .await
            .expect("read")
            .is_none()
    );
    let erased = db
        .delete_person(&t("a"), &p("p1"), idem("d1", None), Box::new(|_| vec![]))
        .await
        .expect("deleted");
    assert_eq!(erased, Erased::default());
    assert!(
        db.get_person(&t("b"), &p("p1"))
            .await
            .expect("read")
            .is_some()
    );
}

async fn a_stale_state_version_is_a_conflict_and_stores_nothing(b: Backend) {
    let db = b.open().await;
    let engine = Engine::with_defaults();
    create(&*db, "a", "p1", "r1").await.expect("created");
    let person = db
        .get_person(&t("a"), &p("p1"))
        .await
        .expect("read")
        .expect("exists");
    let update = |v| StateUpdate {
        person: p("p1"),
        expected_version: v,
        state: engine.new_person(vec![]),
        update_time: Timestamp(2),
    };
    db.record_assessments(
        &t("a"),
        update(person.version),
        vec![assessment("x1", 10)],
        idem("a1", Some("p1")),
    )
    .await
    .expect("first write");
    let stale = db
        .record_assessments(
            &t("a"),
            update(person.version),
            vec![assessment("x2", 5)],
            idem("a2", Some("p1")),
        )
        .await;
    assert!(matches!(stale, Err(StorageError::Conflict)));
    let after = db
        .get_person(&t("a"), &p("p1"))
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(after.assessment_count, 1);
    assert_eq!(after.latest_assessment_time, Some(Timestamp(10)));
    assert!(
        db.find_response(&t("a"), "/m", &rid("a2"))
            .await
            .expect("read")
            .is_none()
    );
}

async fn erasing_a_person_erases_their_rows_and_stored_responses(b: Backend) {
    let db = b.open().await;
    create(&*db, "a", "p1", "r1").await.expect("created");
    let person = db
        .get_person(&t("a"), &p("p1"))
        .await
        .expect("read")
        .expect("exists");
    db.record_assessments(
        &t("a"),
        StateUpdate {
            person: p("p1"),
            expected_version: person.version,
            state: Engine::with_defaults().new_person(vec![]),
            update_time: Timestamp(2),
        },
        vec![assessment("x1", 10), assessment("x2", 20)],
        idem("a1", Some("p1")),
    )
    .await
    .expect("stored");
    let erased = db
        .delete_person(
            &t("a"),
            &p("p1"),
            idem("d1", None),
            Box::new(|e| vec![e.assessments as u8]),
        )
        .await
        .expect("deleted");
    assert_eq!(erased.assessments, 2);
    let stored = |r: &'static str| {
        let db = Arc::clone(&db);
        async move {
            db.find_response(&t("a"), "/m", &rid(r))
                .await
                .expect("read")
        }
    };
    assert!(
        stored("r1").await.is_none(),
        "create response held their data"
    );
    assert!(
        stored("a1").await.is_none(),
        "assessment response held their data"
    );
    assert_eq!(stored("d1").await.map(|s| s.response), Some(vec![2]));
    assert!(matches!(
        db.list_assessments(&t("a"), &p("p1"), None, 10).await,
        Err(StorageError::NotFound { .. })
    ));
}

/// Writers on two replicas each add assessments to the same person with
/// read, compute, compare-and-set and retry on conflict (as the service
/// does): every acknowledged write is counted, none twice.
async fn concurrent_writers_on_two_replicas_lose_no_update(b: Backend) {
    const WRITERS: usize = 6;
    const EACH: usize = 8;
    let replicas = [b.open().await, b.open().await];
    create(&*replicas[0], "a", "shared", "c")
        .await
        .expect("created");
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let db = Arc::clone(&replicas[w % 2]);
        tasks.push(tokio::spawn(async move {
            let engine = Engine::with_defaults();
            let mut conflicts = 0;
            for i in 0..EACH {
                loop {
                    let person = db
                        .get_person(&t("a"), &p("shared"))
                        .await
                        .expect("read")
                        .expect("exists");
                    let write = db
                        .record_assessments(
                            &t("a"),
                            StateUpdate {
                                person: p("shared"),
                                expected_version: person.version,
                                state: person.state.unwrap_or_else(|| engine.new_person(vec![])),
                                update_time: Timestamp(2),
                            },
                            vec![assessment(&format!("w{w}-{i}"), (w * 100 + i) as i64)],
                            idem(&format!("w{w}-{i}"), Some("shared")),
                        )
                        .await;
                    match write {
                        Ok(()) => break,
                        Err(StorageError::Conflict) => conflicts += 1,
                        Err(e) => panic!("writer {w}: {e}"),
                    }
                }
            }
            conflicts
        }));
    }
    let mut conflicts = 0;
    for task in tasks {
        conflicts += task.await.expect("writer");
    }
    let person = replicas[1]
        .get_person(&t("a"), &p("shared"))
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(
        person.assessment_count as usize,
        WRITERS * EACH,
        "{conflicts} conflicts were retried"
    );
    assert_eq!(person.version, 1 + (WRITERS * EACH) as i64);
    let history = replicas[0]
        .load_history(&t("a"), &p("shared"))
        .await
        .expect("history");
    assert_eq!(history.assessments.len(), WRITERS * EACH);
}

/// The same request id sent to two replicas at once: one write is stored,
/// the other finds the key taken.
async fn a_request_id_raced_on_two_replicas_is_stored_once(b: Backend) {
    let replicas = [b.open().await, b.open().await];
    for round in 0..10 {
        let key = format!("race-{round}");
        let racers: Vec<_> = replicas
            .iter()
            .enumerate()
            .map(|(i, db)| {
                let (db, key) = (Arc::clone(db), key.clone());
                tokio::spawn(async move { create(&*db, "a", &format!("r{round}-{i}"), &key).await })
            })
            .collect();
        let mut stored = 0;
        for r in racers {
            match r.await.expect("racer") {
                Ok(()) => stored += 1,
                Err(StorageError::DuplicateRequest) => {}
                Err(e) => panic!("round {round}: {e}"),
            }
        }
        assert_eq!(stored, 1, "round {round}");
        let people = [0, 1].map(|i| format!("r{round}-{i}"));
        let mut present = 0;
        for id in &people {
            if replicas[0]
                .get_person(&t("a"), &p(id))
                .await
                .expect("read")
                .is_some()
            {
                present += 1;
            }
        }
        assert_eq!(present, 1, "round {round}: one person per request id");
    }
}

async fn audit_chains_appended_from_two_replicas_verify(b: Backend) {
    let replicas = [b.open().await, b.open().await];
    let mut tasks = Vec::new();
    for w in 0..4 {
        let db = Arc::clone(&replicas[w % 2]);
        tasks.push(tokio::spawn(async move {
            for i in 0..10 {
                let tenant = if i % 3 == 0 { "b" } else { "a" };
                db.append_audit(vec![audit_row(tenant, &format!("{w}-{i}"))])
                    .await
                    .expect("appended");
                // Audit rows committed with data, too.
                let mut record = idem(&format!("audited-{w}-{i}"), None);
                record.audit = Some(audit_row(tenant, &format!("with-data-{w}-{i}")));
                db.create_person(
                    &t(tenant),
                    NewPerson {
                        id: p(&format!("aud-{w}-{i}")),
                        conditions: vec![],
                        create_time: Timestamp(1),
                        state: Engine::with_defaults().new_person(vec![]),
                    },
                    record,
                )
                .await
                .expect("created");
            }
        }));
    }
    for task in tasks {
        task.await.expect("appender");
    }
    b.audit_verifies().await;
}

async fn recent_states_are_the_newest_and_expired_responses_are_swept(b: Backend) {
    let db = b.open().await;
    let engine = Engine::with_defaults();
    for i in 0..5 {
        create(&*db, "a", &format!("p{i}"), &format!("r{i}"))
            .await
            .expect("created");
    }
    create(&*db, "other", "p9", "r9").await.expect("created");
    assert_eq!(db.recent_states(&t("a"), 3).await.expect("states").len(), 3);
    assert_eq!(
        db.recent_states(&t("a"), 50).await.expect("states").len(),
        5
    );
    assert_eq!(
        db.recent_states(&t("nobody"), 50)
            .await
            .expect("states")
            .len(),
        0
    );
    let person = db
        .get_person(&t("a"), &p("p0"))
        .await
        .expect("read")
        .expect("exists");
    let mut state = engine.new_person(vec![]);
    state.conditions = vec![];
    db.record_assessments(
        &t("a"),
        StateUpdate {
            person: p("p0"),
            expected_version: person.version,
            state,
            update_time: Timestamp(1_000),
        },
        vec![assessment("x", 1)],
        IdempotencyRecord {
            create_time: Timestamp(5_000),
            ..idem("late", Some("p0"))
        },
    )
    .await
    .expect("stored");
    let newest = db.recent_states(&t("a"), 1).await.expect("states");
    assert_eq!(newest.len(), 1);
    // Every key but `late` was written at time 1.
    let swept = db.sweep_idempotency(Timestamp(2)).await.expect("swept");
    assert_eq!(swept, 6);
    assert!(
        db.find_response(&t("a"), "/m", &rid("late"))
            .await
            .expect("read")
            .is_some()
    );
    assert!(
        db.find_response(&t("a"), "/m", &rid("r1"))
            .await
            .expect("read")
            .is_none()
    );
}

/// A CDS client's token id raced on two replicas is claimed by one of them;
/// it stays taken until it expires, then is free again; it is scoped by
/// tenant and issuer; the sweep removes only expired claims.
async fn a_token_id_is_claimed_once_across_replicas_until_it_expires(b: Backend) {
    let replicas = [b.open().await, b.open().await];
    for round in 0..10 {
        let jti = format!("jti-{round}");
        let racers: Vec<_> = replicas
            .iter()
            .map(|db| {
                let (db, jti) = (Arc::clone(db), jti.clone());
                tokio::spawn(async move {
                    db.claim_token(&t("a"), "https://ehr", &jti, 1_000, 900)
                        .await
                        .expect("claims")
                })
            })
            .collect();
        let mut claimed = 0;
        for r in racers {
            claimed += usize::from(r.await.expect("racer"));
        }
        assert_eq!(claimed, 1, "round {round}");
    }
    let [one, two] = [&*replicas[0], &*replicas[1]];
    // Live until its exp, whichever replica asks.
    assert!(!claim(two, ("a", "https://ehr", "jti-0"), 1_000, 1_000).await);
    // Another issuer's or tenant's token with the same id is another token.
    assert!(claim(one, ("a", "https://other", "jti-0"), 1_000, 900).await);
    assert!(claim(one, ("b", "https://ehr", "jti-0"), 1_000, 900).await);
    // Expired: taken over, and then live again until the new exp.
    assert!(claim(two, ("a", "https://ehr", "jti-0"), 2_000, 1_001).await);
    assert!(!claim(one, ("a", "https://ehr", "jti-0"), 2_000, 1_500).await);
    // The sweep deletes the nine claims that expired at 1,000 in tenant a
    // and the two of other issuers and tenants, not the renewed one.
    assert_eq!(one.sweep_tokens(1_001).await.expect("swept"), 11);
    assert!(!claim(one, ("a", "https://ehr", "jti-0"), 2_000, 1_500).await);
    assert!(claim(one, ("a", "https://ehr", "jti-1"), 2_000, 1_500).await);
}

/// Claims `(tenant, issuer, jti)` until `exp`; claims expired before `dead` are free.
async fn claim(
    db: &dyn Storage,
    (tenant, issuer, jti): (&str, &str, &str),
    exp: i64,
    dead: i64,
) -> bool {
    db.claim_token(&t(tenant), issuer, jti, exp, dead)
        .await
        .expect("claims")
}

/// Logs `dec-1` for a new person `person` (version 1, created by the
/// caller): the engine's ranking of five with its first-place distribution,
/// the first item returned as `rec-1` (request `r2`). Returns what it logged.
async fn log_decision(
    db: &dyn Storage,
    engine: &Engine,
    tenant: &TenantId,
    person: &PersonId,
) -> NewDecision {
    let state = engine.new_person(vec![]);
    let query = tutti_engine::rank::RecommendQuery {
        k: 5,
        context: Default::default(),
        exclude: vec![],
        pin: vec![],
        now: Timestamp(2),
        seed: 7,
    };
    let (ranking, all) = engine
        .recommend_with_propensities(&state, &query)
        .expect("ranks");
    let item = ranking.items.first().expect("an item").clone();
    let logged = NewDecision {
        id: DecisionId::parse("dec-1").expect("id"),
        person: person.clone(),
        query,
        model_version: "m".into(),
        decide_time: Timestamp(2),
        ranking,
        items: vec![NewRecommendation {
            id: RecommendationId::parse("rec-1").expect("id"),
            intervention: item.intervention.clone(),
            rank: 1,
            score: item.score,
            propensity: item.propensity,
        }],
        first_place: all.into_iter().filter(|(_, p)| *p > 0.0).collect(),
        shadow: false,
        platform_intervention: None,
        platform_choice: None,
    };
    db.record_decision(
        tenant,
        StateUpdate {
            person: person.clone(),
            expected_version: 1,
            state,
            update_time: Timestamp(2),
        },
        logged.clone(),
        idem("r2", Some(person.as_str())),
    )
    .await
    .expect("logged");
    logged
}

/// SQLite only: a decision's ranking and first-place distribution are
/// stored compressed, and rows stored as JSON text before still read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_stores_rankings_compressed_and_still_reads_them_as_json_text() {
    use tutti_server::storage::decision_log::DecisionLog;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("t.db");
    let engine = Engine::with_defaults();
    let (tenant, person) = (t("a"), p("p1"));
    let db = SqliteStorage::open(&path).await.expect("opens");
    create(&db, "a", "p1", "r1").await.expect("created");
    let logged = log_decision(&db, &engine, &tenant, &person).await;
    let (ranking, first_place) = (logged.ranking, logged.first_place);
    drop(db);
    let conn = rusqlite::Connection::open(&path).expect("opens");
    let (kind, stored): (String, usize) = conn
        .query_row(
            "SELECT typeof(ranking), length(ranking) FROM decisions",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("row");
    let json = serde_json::to_string(&ranking).expect("json");
    assert_eq!(kind, "blob");
    assert!(
        stored < json.len() / 2,
        "{stored} bytes stored for {} of JSON",
        json.len()
    );
    // A row as versions before this one wrote it: the JSON as TEXT.
    conn.execute(
        "INSERT INTO decisions (tenant, decision_id, person_id, request, model_version,
                                decide_time, for_time, safety_mode, exploration, ranking,
                                shadow, platform_intervention_id, first_place)
         SELECT tenant, 'dec-0', person_id, request, model_version, 1, for_time,
                safety_mode, exploration, ?1, shadow, platform_intervention_id, ?2
         FROM decisions",
        rusqlite::params![json, serde_json::to_string(&first_place).expect("json")],
    )
    .expect("old row");
    drop(conn);
    let mut log = DecisionLog::open(&path).expect("log");
    let decisions = log.read_all(&tenant).expect("reads").decisions;
    assert_eq!(decisions.len(), 2);
    for d in &decisions {
        assert_eq!(d.ranking, ranking, "decision {}", d.id);
        assert_eq!(
            d.first_place.as_ref(),
            Some(&first_place),
            "decision {}",
            d.id
        );
    }
}

async fn read(db: &dyn Storage, request_id: &str, subject: Subject<'_>) -> WriteSnapshot {
    db.read_for_write(&t("a"), "/m", &rid(request_id), subject)
        .await
        .expect("read")
}

async fn a_write_reads_its_stored_answer_and_its_person_at_once(b: Backend) {
    let db = b.open().await;
    let engine = Engine::with_defaults();
    let (tenant, person) = (t("a"), p("p1"));
    let db = &*db;
    let s = read(db, "w1", Subject::Person(&person)).await;
    assert!(s.response.is_none() && s.person.is_none() && s.recommendation.is_none());

    create(db, "a", "p1", "r1").await.expect("created");
    // A retry finds its answer; the person comes with it either way.
    let s = read(db, "r1", Subject::Person(&person)).await;
    assert_eq!(s.response.map(|r| r.response), Some(vec![1, 2, 3]));
    assert_eq!(s.person.map(|p| p.version), Some(1));

    let logged = log_decision(db, &engine, &tenant, &person).await;
    let item = logged.items.first().expect("an item").clone();
    let rec = item.id.clone();
    // Feedback names only the recommendation: its person comes through it.
    let s = read(db, "r3", Subject::Recommendation(&rec)).await;
    assert!(s.response.is_none());
    let got = s.recommendation.expect("the recommendation");
    assert_eq!(got.person, person);
    assert_eq!(got.intervention, item.intervention);
    assert_eq!(s.person.map(|p| p.version), Some(2));
    let unknown = RecommendationId::parse("rec-2").expect("id");
    let s = read(db, "r3", Subject::Recommendation(&unknown)).await;
    assert!(s.recommendation.is_none() && s.person.is_none());
    // Another tenant sees none of it.
    let s = db
        .read_for_write(&t("b"), "/m", &rid("r1"), Subject::Recommendation(&rec))
        .await
        .expect("read");
    assert!(s.response.is_none() && s.recommendation.is_none() && s.person.is_none());
}
