//! The PostgreSQL backend: any number of `tutti serve` replicas on one
//! database (`storage.url = "postgres://…"`).
//!
//! Crates, and why: `tokio-postgres` is the async driver the Rust PostgreSQL
//! ecosystem builds on (pipelining, binary parameters, prepared statements);
//! `deadpool-postgres` pools its connections and caches each connection's
//! prepared statements (`prepare_cached`), so a hot query is parsed and
//! planned once per connection; `tokio-postgres-rustls` gives TLS through the
//! rustls (ring) stack the API port already uses, with no OpenSSL; and
//! `refinery` applies the versioned migrations in
//! `server/src/storage/migrations/postgres/`. sqlx would have done too, but
//! brings its own runtime layer, macros and a second TLS stack for one
//! backend; these four are smaller and each does one thing.
//!
//! How several replicas stay correct on one database:
//! - Person state: the update names the version it was computed from
//!   (`UPDATE … WHERE version = $n`). Under READ COMMITTED a second writer of
//!   the same row waits for the first to commit, re-reads the row, finds the
//!   version moved on and updates nothing: [`StorageError::Conflict`], and the
//!   service recomputes from the new state. No update is lost.
//! - Idempotency: the key is the primary key and is inserted first with
//!   `ON CONFLICT DO NOTHING`; a retry racing its original on another replica
//!   waits for it and then finds the key taken
//!   ([`StorageError::DuplicateRequest`]), and reads the first answer.
//! - Audit chains: an append locks its tenant's `audit_heads` row until the
//!   transaction ends, so no two appends link to the same predecessor. It is
//!   the last statement of every write, so the lock is held for the commit
//!   only; it does serialise one tenant's commits (see `docs/benchmarks.md`).
//! - Migrations run under a session advisory lock, so replicas starting
//!   together migrate once.
//!
//! Every query names its tenant. A write's deadline ([`crate::deadline`]) is
//! checked before it starts and before it commits, as in SQLite.
//!
//! It must not validate requests, call the engine or know about gRPC.

use super::audit_chain::{self, ChainReport, ChainWalk, GENESIS};
use super::decision_log::{
    DecisionRow, LogAssessment, LogFeedback, LogRecommendation, LogTables, OfflineAccess,
    parse_person,
};
use super::state_codec;
use super::{
    AssessmentCursor, AssessmentPage, AuditRow, EncodeErased, EncodedUpdate, Erased, History,
    IdempotencyRecord, Kind, NewDecision, NewFeedback, NewPerson, PersonRecord,
    RecommendationRecord, RecommendationRole, Result, StateUpdate, Storage, StorageError,
    StoredAssessment, StoredFeedback, StoredIntervention, StoredRecommendation, StoredResponse,
    Subject, WriteSnapshot,
};
use super::{context_of_request, to_json};
use crate::convert::ids::{DecisionId, PersonId, RecommendationId, RequestId, TenantId};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Transaction};
use std::path::Path;
use std::str::FromStr as _;
use std::time::Duration;
use tokio_postgres::error::SqlState;
use tutti_engine::ids::{InterventionId, Timestamp};
use tutti_engine::state::PersonState;

mod embedded {
    refinery::embed_migrations!("src/storage/migrations/postgres");
}

/// Advisory lock key held while migrating ("tutti" in ASCII).
const MIGRATION_LOCK: i64 = 0x0074_7574_7469;

/// Rows deleted per transaction by the idempotency sweep.
const SWEEP_BATCH: i64 = 1000;

/// How long a call waits for a pooled connection before `UNAVAILABLE`.
const POOL_WAIT: Duration = Duration::from_secs(10);

/// How the backend connects.
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// `postgres://user:password@host:port/database?…` (libpq URL syntax).
    pub url: String,
    /// Most connections this process keeps open.
    pub pool_size: usize,
    /// PEM CA certificate(s) to verify the server with; set: TLS is required.
    pub tls_ca_path: Option<std::path::PathBuf>,
}

/// Storage in a PostgreSQL database shared by any number of replicas.
#[derive(Clone)]
pub struct PgStorage {
    pool: Pool,
    target: String,
}

impl std::fmt::Debug for PgStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the URL: it may hold a password.
        f.debug_struct("PgStorage")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

/// A URL's host, port and database, without credentials, for logs.
pub fn describe(url: &str) -> String {
    match tokio_postgres::Config::from_str(url) {
        Ok(c) => {
            let host = c
                .get_hosts()
                .first()
                .map(|h| match h {
                    tokio_postgres::config::Host::Tcp(h) => h.clone(),
                    tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
                })
                .unwrap_or_default();
            let port = c.get_ports().first().copied().unwrap_or(5432);
            format!(
                "postgres://{host}:{port}/{}",
                c.get_dbname().unwrap_or_default()
            )
        }
        Err(_) => "postgres://(unparsable)".to_owned(),
    }
}

fn tls_connector(ca: &Path) -> Result<tokio_postgres_rustls::MakeRustlsConnect> {
    let pem = std::fs::read(ca).map_err(|e| {
        StorageError::Unavailable(format!("reading storage.tls_ca_path {}: {e}", ca.display()))
    })?;
    let mut roots = rustls::RootCertStore::empty();
    use rustls_pki_types::pem::PemObject as _;
    for cert in rustls_pki_types::CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| {
            StorageError::Unavailable(format!("storage.tls_ca_path {}: {e}", ca.display()))
        })?;
        roots.add(cert).map_err(|e| {
            StorageError::Unavailable(format!("storage.tls_ca_path {}: {e}", ca.display()))
        })?;
    }
    if roots.is_empty() {
        return Err(StorageError::Unavailable(format!(
            "storage.tls_ca_path {} holds no certificate",
            ca.display()
        )));
    }
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| StorageError::Unavailable(format!("TLS to the database: {e}")))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// A read-only, repeatable-read transaction: every table it reads is read
/// from one snapshot, whatever replicas write meanwhile.
async fn snapshot(client: &mut deadpool_postgres::Object) -> Result<Transaction<'_>> {
    client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(pg)
}

/// A tenant's own interventions, by id: what serving lists and what the
/// offline tools read in their snapshot.
async fn select_interventions(
    db: &impl deadpool_postgres::GenericClient,
    tenant: &TenantId,
) -> Result<Vec<StoredIntervention>> {
    let stmt = db
        .prepare_cached(
            "SELECT intervention_id, payload, version FROM interventions
             WHERE tenant = $1 ORDER BY intervention_id",
        )
        .await
        .map_err(pg)?;
    Ok(db
        .query(&stmt, &[&tenant.as_str()])
        .await
        .map_err(pg)?
        .iter()
        .map(|r| StoredIntervention {
            id: InterventionId(r.get(0)),
            payload: r.get(1),
            version: r.get(2),
        })
        .collect())
}

impl PgStorage {
    /// Connects, and migrates the database to the latest schema.
    pub async fn open(options: &PgOptions) -> Result<Self> {
        let mut config = tokio_postgres::Config::from_str(&options.url)
            .map_err(|e| StorageError::Unavailable(format!("storage.url: {e}")))?;
        if config.get_application_name().is_none() {
            config.application_name("tutti");
        }
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = match &options.tls_ca_path {
            Some(ca) => {
                // With a CA configured, plaintext is never an option.
                config.ssl_mode(tokio_postgres::config::SslMode::Require);
                Manager::from_config(config, tls_connector(ca)?, manager_config)
            }
            None => {
                if config.get_ssl_mode() == tokio_postgres::config::SslMode::Require {
                    return Err(StorageError::Unavailable(
                        "storage.url asks for sslmode=require: set storage.tls_ca_path to the CA that signed the server's certificate".into(),
                    ));
                }
                Manager::from_config(config, tokio_postgres::NoTls, manager_config)
            }
        };
        let pool = Pool::builder(manager)
            .max_size(options.pool_size.max(1))
            .wait_timeout(Some(POOL_WAIT))
            .create_timeout(Some(POOL_WAIT))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| StorageError::Unavailable(format!("connection pool: {e}")))?;
        let storage = Self {
            pool,
            target: describe(&options.url),
        };
        storage.migrate().await?;
        Ok(storage)
    }

    async fn migrate(&self) -> Result<()> {
        let mut client = self.client().await?;
        client
            .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(pg)?;
        let client_ref: &mut tokio_postgres::Client = &mut client;
        let outcome = embedded::migrations::runner()
            .run_async(client_ref)
            .await
            .map_err(|e| StorageError::Migration(e.to_string()));
        client
            .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(pg)?;
        let report = outcome?;
        for m in report.applied_migrations() {
            tracing::info!(version = m.version(), name = %m.name(), "database migrated");
        }
        Ok(())
    }

    /// Host, port and database (no credentials), for logs.
    pub fn target(&self) -> &str {
        &self.target
    }

    #[expect(
        clippy::wildcard_enum_match_arm,
        reason = "deadpool's PoolError: every pool failure but those named is the database being unavailable"
    )]
    async fn client(&self) -> Result<deadpool_postgres::Object> {
        self.pool.get().await.map_err(|e| match e {
            deadpool_postgres::PoolError::Backend(e) => pg(e),
            other => StorageError::Unavailable(format!("database connection pool: {other}")),
        })
    }

    /// Runs `f` in one transaction and commits it, unless the caller's
    /// deadline passed first (then it rolls back).
    async fn write<T>(&self, f: impl AsyncFnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let deadline = crate::deadline::current();
        let late = || deadline.is_some_and(|d| tokio::time::Instant::now() >= d);
        if late() {
            return Err(StorageError::DeadlineExceeded);
        }
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        // An error (or a dropped future) drops `tx`, which rolls it back.
        let out = f(&tx).await?;
        if late() {
            return Err(StorageError::DeadlineExceeded);
        }
        tx.commit().await.map_err(pg)?;
        Ok(out)
    }

    /// Appends the audit row for `access`, then reads the tenant's whole log
    /// from one read-only snapshot, for the offline tools: the rows and the
    /// order [`super::decision_log::DecisionLog::read_all`] gives on SQLite,
    /// parsed by the same code. No audit, no data: the row commits first.
    pub async fn read_log(&self, access: &OfflineAccess) -> Result<LogTables> {
        self.append_audit(vec![access.audit_row()]).await?;
        let mut client = self.client().await?;
        let tx = snapshot(&mut client).await?;
        let tenant = access.tenant.as_str();
        let rows = |sql: &'static str| {
            let tx = &tx;
            async move { tx.query(sql, &[&tenant]).await.map_err(pg) }
        };
        let people = rows(
            "SELECT person_id, conditions, create_time FROM people
             WHERE tenant = $1 ORDER BY person_id",
        )
        .await?
        .iter()
        .map(|r| parse_person(r.get(0), r.get(1), r.get(2)))
        .collect::<Result<_>>()?;
        let decisions = rows(
            "SELECT decision_id, person_id, request, model_version, decide_time, for_time,
                    safety_mode, exploration, ranking, shadow, platform_intervention_id,
                    first_place
             FROM decisions WHERE tenant = $1 ORDER BY person_id, decide_time, decision_id",
        )
        .await?
        .iter()
        .map(|r| {
            DecisionRow {
                id: r.get(0),
                person: r.get(1),
                request: r.get(2),
                model_version: r.get(3),
                decide_time: r.get(4),
                for_time: r.get(5),
                safety_mode: r.get(6),
                exploration: r.get(7),
                ranking: r.get(8),
                shadow: r.get(9),
                platform: r.get(10),
                first_place: r.get(11),
            }
            .parse()
        })
        .collect::<Result<_>>()?;
        // NULLS FIRST: SQLite's order, a shadow decision's platform choice first.
        let recommendations = rows(
            "SELECT recommendation_id, decision_id, person_id, intervention_id, rank, score,
                    propensity, for_time, role
             FROM recommendations WHERE tenant = $1 ORDER BY decision_id, rank NULLS FIRST, seq",
        )
        .await?
        .iter()
        .map(|r| {
            Ok(LogRecommendation {
                id: r.get(0),
                decision: r.get(1),
                person: r.get(2),
                intervention: InterventionId(r.get(3)),
                role: RecommendationRole::parse(r.get(8))?,
                rank: r
                    .get::<_, Option<i32>>(4)
                    .map(|rank| {
                        u32::try_from(rank).map_err(|e| StorageError::Corrupt(e.to_string()))
                    })
                    .transpose()?,
                score: r.get(5),
                propensity: r.get(6),
                for_time: Timestamp(r.get(7)),
            })
        })
        .collect::<Result<_>>()?;
        let feedback = rows(
            "SELECT feedback_id, recommendation_id, person_id, intervention_id, observe_time,
                    create_time, payload
             FROM feedback WHERE tenant = $1 ORDER BY seq",
        )
        .await?
        .iter()
        .map(|r| LogFeedback {
            id: r.get(0),
            recommendation: r.get(1),
            person: r.get(2),
            intervention: InterventionId(r.get(3)),
            observe_time: Timestamp(r.get(4)),
            create_time: Timestamp(r.get(5)),
            payload: r.get(6),
        })
        .collect();
        let assessments = rows(
            "SELECT assessment_id, person_id, observe_time, create_time, payload
             FROM assessments WHERE tenant = $1 ORDER BY person_id, observe_time, seq",
        )
        .await?
        .iter()
        .map(|r| LogAssessment {
            id: r.get(0),
            person: r.get(1),
            observe_time: Timestamp(r.get(2)),
            create_time: Timestamp(r.get(3)),
            payload: r.get(4),
        })
        .collect();
        let interventions = select_interventions(&tx, &access.tenant).await?;
        tx.commit().await.map_err(pg)?;
        Ok(LogTables {
            people,
            decisions,
            recommendations,
            feedback,
            assessments,
            interventions,
        })
    }

    /// Walks every tenant's audit chain (or only `only`'s), in one snapshot,
    /// as `tutti audit verify` does on SQLite.
    pub async fn verify_audit(&self, only: Option<&str>) -> Result<Vec<ChainReport>> {
        let mut client = self.client().await?;
        let tx = snapshot(&mut client).await?;
        let mut tenants: Vec<String> = tx
            .query(
                "SELECT tenant FROM audit_heads UNION SELECT DISTINCT tenant FROM audit ORDER BY 1",
                &[],
            )
            .await
            .map_err(pg)?
            .iter()
            .map(|r| r.get(0))
            .collect();
        if let Some(t) = only {
            tenants.retain(|x| x == t);
        }
        let mut out = Vec::new();
        for tenant in tenants {
            let rows = tx
                .query(
                    "SELECT seq, time, principal, method, resource, code, call_id, request_id,
                            trace_id, count, tenant_seq, prev_hash, hash
                     FROM audit WHERE tenant = $1 ORDER BY seq",
                    &[&tenant],
                )
                .await
                .map_err(pg)?;
            let mut walk = ChainWalk::new(&tenant);
            for r in &rows {
                let row = AuditRow {
                    time: Timestamp(r.get(1)),
                    tenant: tenant.clone(),
                    principal: r.get(2),
                    method: r.get(3),
                    resource: r.get(4),
                    code: r.get(5),
                    call_id: r.get(6),
                    request_id: r.get(7),
                    trace_id: r.get(8),
                    count: u32::try_from(r.get::<_, i64>(9)).unwrap_or(u32::MAX),
                };
                walk.push(r.get(0), Some((r.get(10), r.get(11), r.get(12))), &row);
            }
            let head = tx
                .query_opt(
                    "SELECT seq, hash FROM audit_heads WHERE tenant = $1",
                    &[&tenant],
                )
                .await
                .map_err(pg)?
                .map(|r| (r.get::<_, i64>(0), r.get::<_, String>(1)))
                .unwrap_or_else(|| (0, GENESIS.to_owned()));
            out.push(walk.finish(head.0, &head.1));
        }
        tx.commit().await.map_err(pg)?;
        Ok(out)
    }
}

fn pg(e: tokio_postgres::Error) -> StorageError {
    let Some(code) = e.code() else {
        // No SQLSTATE: the connection broke or could not be made. The
        // operator can clear it; the caller should retry.
        return StorageError::Unavailable(e.to_string());
    };
    if *code == SqlState::T_R_SERIALIZATION_FAILURE || *code == SqlState::T_R_DEADLOCK_DETECTED {
        // Another writer won; recomputing and retrying is the answer.
        StorageError::Conflict
    } else if *code == SqlState::DISK_FULL || *code == SqlState::OUT_OF_MEMORY {
        StorageError::Full(e.to_string())
    } else if code.code().starts_with("08")
        || code.code().starts_with("53")
        || code.code().starts_with("57")
        || *code == SqlState::READ_ONLY_SQL_TRANSACTION
    {
        // Connection exceptions, insufficient resources, operator
        // intervention (shutdown, cancel), a read-only standby.
        StorageError::Unavailable(e.to_string())
    } else {
        StorageError::Backend(Box::new(e))
    }
}

fn count(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn i64_of(n: u32) -> i64 {
    i64::from(n)
}

/// Inserts the idempotency row; [`StorageError::DuplicateRequest`] if the key
/// is taken (also by a transaction of another replica that commits first:
/// the insert waits for it).
async fn insert_idempotency(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    idem: &IdempotencyRecord,
) -> Result<()> {
    let stmt = tx
        .prepare_cached(
            "INSERT INTO idempotency (tenant, method, request_id, request_hash, response, person_id, create_time)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (tenant, method, request_id) DO NOTHING",
        )
        .await
        .map_err(pg)?;
    let inserted = tx
        .execute(
            &stmt,
            &[
                &tenant.as_str(),
                &idem.method,
                &idem.request_id.as_str(),
                &idem.request_hash,
                &idem.response,
                &idem.person.as_ref().map(PersonId::as_str),
                &idem.create_time.0,
            ],
        )
        .await
        .map_err(pg)?;
    if inserted == 0 {
        return Err(StorageError::DuplicateRequest);
    }
    Ok(())
}

/// Appends rows to their tenants' chains. Each tenant's head row stays
/// locked until the transaction ends, so call it last.
async fn append_audit_rows(tx: &Transaction<'_>, rows: &[&AuditRow]) -> Result<()> {
    let lock = tx
        .prepare_cached("SELECT seq, hash FROM audit_heads WHERE tenant = $1 FOR UPDATE")
        .await
        .map_err(pg)?;
    let create = tx
        .prepare_cached(
            "INSERT INTO audit_heads (tenant, seq, hash) VALUES ($1, 0, $2)
             ON CONFLICT (tenant) DO NOTHING",
        )
        .await
        .map_err(pg)?;
    let insert = tx
        .prepare_cached(
            "INSERT INTO audit (time, tenant, principal, method, resource, code, call_id, request_id,
                                trace_id, count, tenant_seq, prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .await
        .map_err(pg)?;
    let set_head = tx
        .prepare_cached("UPDATE audit_heads SET seq = $2, hash = $3 WHERE tenant = $1")
        .await
        .map_err(pg)?;
    for row in rows {
        let head = match tx.query_opt(&lock, &[&row.tenant]).await.map_err(pg)? {
            Some(r) => r,
            None => {
                // A tenant's first row: create its head (racing replicas
                // create it once), then lock it.
                tx.execute(&create, &[&row.tenant, &GENESIS])
                    .await
                    .map_err(pg)?;
                tx.query_one(&lock, &[&row.tenant]).await.map_err(pg)?
            }
        };
        let (last, prev): (i64, String) = (head.get(0), head.get(1));
        let seq = last + 1;
        let hash = audit_chain::row_hash(&prev, seq, row);
        tx.execute(
            &insert,
            &[
                &row.time.0,
                &row.tenant,
                &row.principal,
                &row.method,
                &row.resource,
                &row.code,
                &row.call_id,
                &row.request_id,
                &row.trace_id,
                &i64::from(row.count),
                &seq,
                &prev,
                &hash,
            ],
        )
        .await
        .map_err(pg)?;
        tx.execute(&set_head, &[&row.tenant, &seq, &hash])
            .await
            .map_err(pg)?;
    }
    Ok(())
}

/// The call's audit row, if it has one, appended last.
async fn audit_of(tx: &Transaction<'_>, idem: &IdempotencyRecord) -> Result<()> {
    match &idem.audit {
        Some(row) => append_audit_rows(tx, &[row]).await,
        None => Ok(()),
    }
}

/// Counter changes that go with a state update.
#[derive(Default)]
struct Counters {
    assessments: u32,
    feedback: u32,
    latest_assessment_time: Option<Timestamp>,
}

/// Writes a new (already encoded) person state if the stored version is still
/// the one it was computed from. Takes the person's row lock.
async fn apply_state(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    update: &EncodedUpdate,
    counters: Counters,
) -> Result<()> {
    let stmt = tx
        .prepare_cached(
            "UPDATE people SET
                state = $1, version = version + 1, update_time = $2,
                assessment_count = assessment_count + $3,
                feedback_count = feedback_count + $4,
                latest_assessment_time = GREATEST(latest_assessment_time, $5)
             WHERE tenant = $6 AND person_id = $7 AND version = $8",
        )
        .await
        .map_err(pg)?;
    let changed = tx
        .execute(
            &stmt,
            &[
                &update.state,
                &update.update_time.0,
                &i64_of(counters.assessments),
                &i64_of(counters.feedback),
                &counters.latest_assessment_time.map(|t| t.0),
                &tenant.as_str(),
                &update.person.as_str(),
                &update.expected_version,
            ],
        )
        .await
        .map_err(pg)?;
    if changed == 1 {
        return Ok(());
    }
    let exists = tx
        .query_opt(
            "SELECT 1 FROM people WHERE tenant = $1 AND person_id = $2",
            &[&tenant.as_str(), &update.person.as_str()],
        )
        .await
        .map_err(pg)?;
    Err(match exists {
        Some(_) => StorageError::Conflict,
        None => StorageError::NotFound {
            kind: Kind::Person,
            id: update.person.to_string(),
        },
    })
}

/// The stored response of an idempotency key.
const SELECT_RESPONSE: &str = "SELECT request_hash, response FROM idempotency
     WHERE tenant = $1 AND method = $2 AND request_id = $3";

/// A person, in the columns [`person_from_row`] reads.
const SELECT_PERSON: &str = "SELECT conditions, create_time, assessment_count, feedback_count,
            latest_assessment_time, state, version
     FROM people WHERE tenant = $1 AND person_id = $2";

/// A recommendation, in the columns [`recommendation_from_row`] reads.
const SELECT_RECOMMENDATION: &str =
    "SELECT r.decision_id, r.person_id, r.intervention_id, d.request, r.role
     FROM recommendations r
     JOIN decisions d ON d.tenant = r.tenant AND d.decision_id = r.decision_id
     WHERE r.tenant = $1 AND r.recommendation_id = $2";

/// [`SELECT_RECOMMENDATION`] and, from column [`RECOMMENDATION_WIDTH`] on,
/// its person as in [`SELECT_PERSON`] (NULLs when the person is gone).
const SELECT_RECOMMENDATION_AND_PERSON: &str =
    "SELECT r.decision_id, r.person_id, r.intervention_id, d.request, r.role,
            p.conditions, p.create_time, p.assessment_count, p.feedback_count,
            p.latest_assessment_time, p.state, p.version
     FROM recommendations r
     JOIN decisions d ON d.tenant = r.tenant AND d.decision_id = r.decision_id
     LEFT JOIN people p ON p.tenant = r.tenant AND p.person_id = r.person_id
     WHERE r.tenant = $1 AND r.recommendation_id = $2";

/// How many columns of [`SELECT_RECOMMENDATION_AND_PERSON`] are the recommendation's.
const RECOMMENDATION_WIDTH: usize = 5;

/// The person in the [`SELECT_PERSON`] columns of `row` from column `at` on.
fn person_from_row(
    row: &tokio_postgres::Row,
    at: usize,
    tenant: &TenantId,
    person: PersonId,
) -> Result<PersonRecord> {
    let conditions = serde_json::from_str(row.get::<_, &str>(at))
        .map_err(|e| StorageError::Corrupt(format!("person conditions: {e}")))?;
    let state = match state_codec::decode(row.get::<_, &[u8]>(at + 5)) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(
                tenant = %tenant, person = %person, error = %e,
                "stored person state does not decode; it will be rebuilt from events"
            );
            None
        }
    };
    Ok(PersonRecord {
        id: person,
        conditions,
        create_time: Timestamp(row.get(at + 1)),
        assessment_count: count(row.get::<_, i64>(at + 2).max(0) as u64),
        feedback_count: count(row.get::<_, i64>(at + 3).max(0) as u64),
        latest_assessment_time: row.get::<_, Option<i64>>(at + 4).map(Timestamp),
        state,
        version: row.get(at + 6),
    })
}

/// The recommendation in the [`SELECT_RECOMMENDATION`] columns of `row`.
fn recommendation_from_row(
    row: &tokio_postgres::Row,
    id: &RecommendationId,
) -> Result<RecommendationRecord> {
    let corrupt = |what: &str| StorageError::Corrupt(format!("stored {what} id"));
    Ok(RecommendationRecord {
        id: id.clone(),
        decision: DecisionId::parse(row.get(0)).map_err(|_| corrupt("decision"))?,
        person: PersonId::parse(row.get(1)).map_err(|_| corrupt("person"))?,
        intervention: InterventionId(row.get(2)),
        context: context_of_request(row.get(3))?,
        role: RecommendationRole::parse(row.get(4))?,
    })
}

#[async_trait::async_trait]
impl Storage for PgStorage {
    async fn find_response(
        &self,
        tenant: &TenantId,
        method: &str,
        request_id: &RequestId,
    ) -> Result<Option<StoredResponse>> {
        let client = self.client().await?;
        let stmt = client.prepare_cached(SELECT_RESPONSE).await.map_err(pg)?;
        let row = client
            .query_opt(&stmt, &[&tenant.as_str(), &method, &request_id.as_str()])
            .await
            .map_err(pg)?;
        Ok(row.map(|r| StoredResponse {
            request_hash: r.get(0),
            response: r.get(1),
        }))
    }

    async fn create_person(
        &self,
        tenant: &TenantId,
        person: NewPerson,
        idem: IdempotencyRecord,
    ) -> Result<()> {
        let conditions = to_json(&person.conditions)?;
        let state = state_codec::encode(&person.state)?;
        self.write(async |tx| {
            insert_idempotency(tx, tenant, &idem).await?;
            let stmt = tx
                .prepare_cached(
                    "INSERT INTO people (tenant, person_id, conditions, create_time, update_time, state, version)
                     VALUES ($1, $2, $3, $4, $4, $5, 1)
                     ON CONFLICT (tenant, person_id) DO NOTHING",
                )
                .await
                .map_err(pg)?;
            let inserted = tx
                .execute(
                    &stmt,
                    &[
                        &tenant.as_str(),
                        &person.id.as_str(),
                        &conditions,
                        &person.create_time.0,
                        &state,
                    ],
                )
                .await
                .map_err(pg)?;
            if inserted == 0 {
                return Err(StorageError::AlreadyExists {
                    kind: Kind::Person,
                    id: person.id.to_string(),
                });
            }
            audit_of(tx, &idem).await
        })
        .await
    }

    async fn get_person(
        &self,
        tenant: &TenantId,
        person: &PersonId,
    ) -> Result<Option<PersonRecord>> {
        let client = self.client().await?;
        let stmt = client.prepare_cached(SELECT_PERSON).await.map_err(pg)?;
        client
            .query_opt(&stmt, &[&tenant.as_str(), &person.as_str()])
            .await
            .map_err(pg)?
            .map(|r| person_from_row(&r, 0, tenant, person.clone()))
            .transpose()
    }

    async fn read_for_write(
        &self,
        tenant: &TenantId,
        method: &str,
        request_id: &RequestId,
        subject: Subject<'_>,
    ) -> Result<WriteSnapshot> {
        // One connection, and the statements pipelined on it (one round
        // trip). They are not one snapshot, and need not be: the write
        // re-checks both, the state by its version and the key by inserting it.
        let client = self.client().await?;
        let response = async {
            let stmt = client.prepare_cached(SELECT_RESPONSE).await.map_err(pg)?;
            client
                .query_opt(&stmt, &[&tenant.as_str(), &method, &request_id.as_str()])
                .await
                .map_err(pg)
        };
        let subject_rows = async {
            match subject {
                Subject::Person(p) => {
                    let stmt = client.prepare_cached(SELECT_PERSON).await.map_err(pg)?;
                    client
                        .query_opt(&stmt, &[&tenant.as_str(), &p.as_str()])
                        .await
                        .map_err(pg)
                }
                Subject::Recommendation(id) => {
                    // The person through the recommendation, in the same statement.
                    let stmt = client
                        .prepare_cached(SELECT_RECOMMENDATION_AND_PERSON)
                        .await
                        .map_err(pg)?;
                    client
                        .query_opt(&stmt, &[&tenant.as_str(), &id.as_str()])
                        .await
                        .map_err(pg)
                }
            }
        };
        let (response, row) = tokio::try_join!(response, subject_rows)?;
        let response = response.map(|r| StoredResponse {
            request_hash: r.get(0),
            response: r.get(1),
        });
        let (recommendation, person) = match (subject, row) {
            (_, None) => (None, None),
            (Subject::Person(p), Some(r)) => {
                (None, Some(person_from_row(&r, 0, tenant, p.clone())?))
            }
            (Subject::Recommendation(id), Some(r)) => {
                let rec = recommendation_from_row(&r, id)?;
                // The person's columns are NULL when the person is gone.
                let person = match r.get::<_, Option<i64>>(RECOMMENDATION_WIDTH + 6) {
                    Some(_) => Some(person_from_row(
                        &r,
                        RECOMMENDATION_WIDTH,
                        tenant,
                        rec.person.clone(),
                    )?),
                    None => None,
                };
                (Some(rec), person)
            }
        };
        Ok(WriteSnapshot {
            response,
            recommendation,
            person,
        })
    }

    async fn delete_person(
        &self,
        tenant: &TenantId,
        person: &PersonId,
        idem: IdempotencyRecord,
        encode: EncodeErased,
    ) -> Result<Erased> {
        self.write(async |tx| {
            let (t, p) = (tenant.as_str(), person.as_str());
            let del = async |sql: &str| -> Result<u32> {
                Ok(count(tx.execute(sql, &[&t, &p]).await.map_err(pg)?))
            };
            if del("DELETE FROM people WHERE tenant = $1 AND person_id = $2").await? == 0 {
                return Err(StorageError::NotFound {
                    kind: Kind::Person,
                    id: person.to_string(),
                });
            }
            let erased = Erased {
                assessments: del("DELETE FROM assessments WHERE tenant = $1 AND person_id = $2")
                    .await?,
                recommendations: del(
                    "DELETE FROM recommendations WHERE tenant = $1 AND person_id = $2",
                )
                .await?,
                feedback: del("DELETE FROM feedback WHERE tenant = $1 AND person_id = $2").await?,
                decisions: del("DELETE FROM decisions WHERE tenant = $1 AND person_id = $2")
                    .await?,
            };
            // Stored responses of their earlier writes hold their data too.
            del("DELETE FROM idempotency WHERE tenant = $1 AND person_id = $2").await?;
            let idem = IdempotencyRecord {
                response: encode(erased),
                person: None,
                ..idem
            };
            insert_idempotency(tx, tenant, &idem).await?;
            audit_of(tx, &idem).await?;
            Ok(erased)
        })
        .await
    }

    async fn record_assessments(
        &self,
        tenant: &TenantId,
        update: StateUpdate,
        assessments: Vec<StoredAssessment>,
        idem: IdempotencyRecord,
    ) -> Result<()> {
        let update = update.encode()?;
        self.write(async |tx| {
            insert_idempotency(tx, tenant, &idem).await?;
            apply_state(tx, tenant, &update,
                Counters {
                    assessments: count(assessments.len() as u64),
                    feedback: 0,
                    latest_assessment_time: assessments.iter().map(|a| a.observe_time).max(),
                },
            )
            .await?;
            let insert = tx
                .prepare_cached(
                    "INSERT INTO assessments (tenant, person_id, assessment_id, observe_time, create_time, payload)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .await
                .map_err(pg)?;
            for a in &assessments {
                tx.execute(
                    &insert,
                    &[
                        &tenant.as_str(),
                        &update.person.as_str(),
                        &a.id,
                        &a.observe_time.0,
                        &idem.create_time.0,
                        &a.payload,
                    ],
                )
                .await
                .map_err(pg)?;
            }
            audit_of(tx, &idem).await
        })
        .await
    }

    async fn list_assessments(
        &self,
        tenant: &TenantId,
        person: &PersonId,
        after: Option<AssessmentCursor>,
        limit: u32,
    ) -> Result<AssessmentPage> {
        let mut client = self.client().await?;
        // One snapshot for the count and the page.
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(pg)?;
        let total = tx
            .query_opt(
                "SELECT assessment_count FROM people WHERE tenant = $1 AND person_id = $2",
                &[&tenant.as_str(), &person.as_str()],
            )
            .await
            .map_err(pg)?;
        let Some(total) = total else {
            return Err(StorageError::NotFound {
                kind: Kind::Person,
                id: person.to_string(),
            });
        };
        let total = count(total.get::<_, i64>(0).max(0) as u64);
        let fetch = i64::from(limit) + 1;
        let rows = match &after {
            None => {
                let stmt = tx
                    .prepare_cached(
                        "SELECT assessment_id, observe_time, payload FROM assessments
                         WHERE tenant = $1 AND person_id = $2
                         ORDER BY observe_time DESC, assessment_id DESC LIMIT $3",
                    )
                    .await
                    .map_err(pg)?;
                tx.query(&stmt, &[&tenant.as_str(), &person.as_str(), &fetch])
                    .await
            }
            Some(c) => {
                let stmt = tx
                    .prepare_cached(
                        "SELECT assessment_id, observe_time, payload FROM assessments
                         WHERE tenant = $1 AND person_id = $2
                           AND (observe_time, assessment_id) < ($3, $4)
                         ORDER BY observe_time DESC, assessment_id DESC LIMIT $5",
                    )
                    .await
                    .map_err(pg)?;
                tx.query(
                    &stmt,
                    &[
                        &tenant.as_str(),
                        &person.as_str(),
                        &c.observe_time.0,
                        &c.id,
                        &fetch,
                    ],
                )
                .await
            }
        }
        .map_err(pg)?;
        tx.commit().await.map_err(pg)?;
        let mut items: Vec<StoredAssessment> = rows
            .iter()
            .map(|r| StoredAssessment {
                id: r.get(0),
                observe_time: Timestamp(r.get(1)),
                payload: r.get(2),
            })
            .collect();
        let more = items.len() > limit as usize;
        items.truncate(limit as usize);
        Ok(AssessmentPage { items, total, more })
    }

    async fn load_history(&self, tenant: &TenantId, person: &PersonId) -> Result<History> {
        let mut client = self.client().await?;
        let tx = snapshot(&mut client).await?;
        let (t, p) = (tenant.as_str(), person.as_str());
        let stmt = tx
            .prepare_cached(
                "SELECT assessment_id, observe_time, payload FROM assessments
                 WHERE tenant = $1 AND person_id = $2 ORDER BY seq",
            )
            .await
            .map_err(pg)?;
        let assessments = tx
            .query(&stmt, &[&t, &p])
            .await
            .map_err(pg)?
            .iter()
            .map(|r| StoredAssessment {
                id: r.get(0),
                observe_time: Timestamp(r.get(1)),
                payload: r.get(2),
            })
            .collect();
        let stmt = tx
            .prepare_cached(
                "SELECT for_time, intervention_id FROM recommendations
                 WHERE tenant = $1 AND person_id = $2 AND role <> 'shadow' ORDER BY seq",
            )
            .await
            .map_err(pg)?;
        let recommendations = tx
            .query(&stmt, &[&t, &p])
            .await
            .map_err(pg)?
            .iter()
            .map(|r| StoredRecommendation {
                at: Timestamp(r.get(0)),
                intervention: InterventionId(r.get(1)),
            })
            .collect();
        let stmt = tx
            .prepare_cached(
                "SELECT f.observe_time, f.intervention_id, d.request, f.payload
                 FROM feedback f
                 JOIN recommendations r
                   ON r.tenant = f.tenant AND r.recommendation_id = f.recommendation_id
                 JOIN decisions d
                   ON d.tenant = r.tenant AND d.decision_id = r.decision_id
                 WHERE f.tenant = $1 AND f.person_id = $2 ORDER BY f.seq",
            )
            .await
            .map_err(pg)?;
        let feedback = tx
            .query(&stmt, &[&t, &p])
            .await
            .map_err(pg)?
            .iter()
            .map(|r| {
                Ok(StoredFeedback {
                    observe_time: Timestamp(r.get(0)),
                    intervention: InterventionId(r.get(1)),
                    context: context_of_request(r.get(2))?,
                    payload: r.get(3),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        tx.commit().await.map_err(pg)?;
        Ok(History {
            assessments,
            recommendations,
            feedback,
        })
    }

    async fn record_decision(
        &self,
        tenant: &TenantId,
        update: StateUpdate,
        decision: NewDecision,
        idem: IdempotencyRecord,
    ) -> Result<()> {
        let request = to_json(&decision.query)?;
        let ranking = to_json(&decision.ranking)?;
        let first_place = to_json(&decision.first_place)?;
        let update = update.encode()?;
        self.write(async |tx| {
            insert_idempotency(tx, tenant, &idem).await?;
            apply_state(tx, tenant, &update, Counters::default()).await?;
            let stmt = tx
                .prepare_cached(
                    "INSERT INTO decisions (tenant, decision_id, person_id, request, model_version,
                                            decide_time, for_time, safety_mode, exploration, ranking,
                                            shadow, platform_intervention_id, first_place)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                )
                .await
                .map_err(pg)?;
            tx.execute(
                &stmt,
                &[
                    &tenant.as_str(),
                    &decision.id.as_str(),
                    &decision.person.as_str(),
                    &request,
                    &decision.model_version,
                    &decision.decide_time.0,
                    &decision.query.now.0,
                    &decision.ranking.safety_mode,
                    &decision.ranking.exploration,
                    &ranking,
                    &decision.shadow,
                    &decision
                        .platform_intervention
                        .as_ref()
                        .map(InterventionId::as_str),
                    &first_place,
                ],
            )
            .await
            .map_err(pg)?;
            let insert = tx
                .prepare_cached(
                    "INSERT INTO recommendations (tenant, recommendation_id, decision_id, person_id,
                                                  intervention_id, role, rank, score, propensity,
                                                  for_time)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .await
                .map_err(pg)?;
            let role = if decision.shadow {
                RecommendationRole::Shadow
            } else {
                RecommendationRole::Live
            };
            for item in &decision.items {
                let rank = i32::try_from(item.rank).unwrap_or(i32::MAX);
                tx.execute(
                    &insert,
                    &[
                        &tenant.as_str(),
                        &item.id.as_str(),
                        &decision.id.as_str(),
                        &decision.person.as_str(),
                        &item.intervention.as_str(),
                        &role.as_str(),
                        &Some(rank),
                        &Some(item.score),
                        &Some(item.propensity),
                        &decision.query.now.0,
                    ],
                )
                .await
                .map_err(pg)?;
            }
            if let Some(choice) = &decision.platform_choice {
                tx.execute(
                    &insert,
                    &[
                        &tenant.as_str(),
                        &choice.id.as_str(),
                        &decision.id.as_str(),
                        &decision.person.as_str(),
                        &choice.intervention.as_str(),
                        &RecommendationRole::Platform.as_str(),
                        &None::<i32>,
                        &None::<f64>,
                        &None::<f64>,
                        &decision.query.now.0,
                    ],
                )
                .await
                .map_err(pg)?;
            }
            audit_of(tx, &idem).await
        })
        .await
    }

    async fn get_recommendation(
        &self,
        tenant: &TenantId,
        id: &RecommendationId,
    ) -> Result<Option<RecommendationRecord>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(SELECT_RECOMMENDATION)
            .await
            .map_err(pg)?;
        client
            .query_opt(&stmt, &[&tenant.as_str(), &id.as_str()])
            .await
            .map_err(pg)?
            .map(|r| recommendation_from_row(&r, id))
            .transpose()
    }

    async fn record_feedback(
        &self,
        tenant: &TenantId,
        update: StateUpdate,
        feedback: NewFeedback,
        idem: IdempotencyRecord,
    ) -> Result<()> {
        let update = update.encode()?;
        self.write(async |tx| {
            insert_idempotency(tx, tenant, &idem).await?;
            apply_state(
                tx,
                tenant,
                &update,
                Counters {
                    feedback: 1,
                    ..Counters::default()
                },
            )
            .await?;
            let stmt = tx
                .prepare_cached(
                    "INSERT INTO feedback (tenant, feedback_id, recommendation_id, person_id,
                                           intervention_id, observe_time, create_time, payload)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .await
                .map_err(pg)?;
            tx.execute(
                &stmt,
                &[
                    &tenant.as_str(),
                    &feedback.id,
                    &feedback.recommendation.as_str(),
                    &update.person.as_str(),
                    &feedback.intervention.as_str(),
                    &feedback.observe_time.0,
                    &idem.create_time.0,
                    &feedback.payload,
                ],
            )
            .await
            .map_err(pg)?;
            audit_of(tx, &idem).await
        })
        .await
    }

    async fn list_interventions(&self, tenant: &TenantId) -> Result<Vec<StoredIntervention>> {
        let client = self.client().await?;
        select_interventions(&client, tenant).await
    }

    async fn create_intervention(
        &self,
        tenant: &TenantId,
        intervention: StoredIntervention,
        idem: IdempotencyRecord,
    ) -> Result<()> {
        self.write(async |tx| {
            insert_idempotency(tx, tenant, &idem).await?;
            let inserted = tx
                .execute(
                    "INSERT INTO interventions (tenant, intervention_id, payload, version, create_time, update_time)
                     VALUES ($1, $2, $3, 1, $4, $4)
                     ON CONFLICT (tenant, intervention_id) DO NOTHING",
                    &[
                        &tenant.as_str(),
                        &intervention.id.as_str(),
                        &intervention.payload,
                        &idem.create_time.0,
                    ],
                )
                .await
                .map_err(pg)?;
            if inserted == 0 {
                return Err(StorageError::AlreadyExists {
                    kind: Kind::Intervention,
                    id: intervention.id.to_string(),
                });
            }
            audit_of(tx, &idem).await
        })
        .await
    }

    async fn update_intervention(
        &self,
        tenant: &TenantId,
        intervention: StoredIntervention,
        idem: IdempotencyRecord,
    ) -> Result<()> {
        self.write(async |tx| {
            insert_idempotency(tx, tenant, &idem).await?;
            let changed = tx
                .execute(
                    "UPDATE interventions SET payload = $1, version = $2, update_time = $3
                     WHERE tenant = $4 AND intervention_id = $5 AND version = $6",
                    &[
                        &intervention.payload,
                        &intervention.version,
                        &idem.create_time.0,
                        &tenant.as_str(),
                        &intervention.id.as_str(),
                        &(intervention.version - 1),
                    ],
                )
                .await
                .map_err(pg)?;
            if changed == 1 {
                return audit_of(tx, &idem).await;
            }
            let exists = tx
                .query_opt(
                    "SELECT 1 FROM interventions WHERE tenant = $1 AND intervention_id = $2",
                    &[&tenant.as_str(), &intervention.id.as_str()],
                )
                .await
                .map_err(pg)?;
            Err(match exists {
                Some(_) => StorageError::Conflict,
                None => StorageError::NotFound {
                    kind: Kind::Intervention,
                    id: intervention.id.to_string(),
                },
            })
        })
        .await
    }

    async fn append_audit(&self, rows: Vec<AuditRow>) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        self.write(async |tx| {
            let refs: Vec<&AuditRow> = rows.iter().collect();
            append_audit_rows(tx, &refs).await
        })
        .await
    }

    async fn recent_states(&self, tenant: &TenantId, limit: u32) -> Result<Vec<PersonState>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT state FROM people WHERE tenant = $1
                 ORDER BY update_time DESC, person_id LIMIT $2",
            )
            .await
            .map_err(pg)?;
        let rows = client
            .query(&stmt, &[&tenant.as_str(), &i64::from(limit)])
            .await
            .map_err(pg)?;
        Ok(rows
            .iter()
            .filter_map(|r| state_codec::decode(r.get::<_, &[u8]>(0)).ok())
            .collect())
    }

    async fn catalog_stamps(&self) -> Result<Vec<(TenantId, i64)>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT tenant, (count(*) + sum(version) * 1000003 + max(update_time))::BIGINT
                 FROM interventions GROUP BY tenant",
            )
            .await
            .map_err(pg)?;
        Ok(client
            .query(&stmt, &[])
            .await
            .map_err(pg)?
            .iter()
            .filter_map(|r| {
                TenantId::parse(r.get::<_, &str>(0))
                    .ok()
                    .map(|t| (t, r.get::<_, i64>(1)))
            })
            .collect())
    }

    async fn claim_token(
        &self,
        tenant: &TenantId,
        issuer: &str,
        jti: &str,
        expires_at: i64,
        expired_before: i64,
    ) -> Result<bool> {
        let changed = self
            .write(async |tx| {
                tx.execute(
                    "INSERT INTO cds_tokens (tenant, issuer, jti, expires_at)
                     VALUES ($1, $2, $3, $4)
                     ON CONFLICT (tenant, issuer, jti) DO UPDATE SET expires_at = EXCLUDED.expires_at
                     WHERE cds_tokens.expires_at < $5",
                    &[&tenant.as_str(), &issuer, &jti, &expires_at, &expired_before],
                )
                .await
                .map_err(pg)
            })
            .await?;
        Ok(changed == 1)
    }

    async fn sweep_tokens(&self, before: i64) -> Result<u64> {
        self.write(async |tx| {
            tx.execute("DELETE FROM cds_tokens WHERE expires_at < $1", &[&before])
                .await
                .map_err(pg)
        })
        .await
    }

    async fn sweep_idempotency(&self, before: Timestamp) -> Result<u64> {
        let mut total = 0;
        loop {
            let n = self
                .write(async |tx| {
                    tx.execute(
                        "DELETE FROM idempotency WHERE ctid IN
                           (SELECT ctid FROM idempotency WHERE create_time < $1 LIMIT $2)",
                        &[&before.0, &SWEEP_BATCH],
                    )
                    .await
                    .map_err(pg)
                })
                .await?;
            total += n;
            if n < SWEEP_BATCH as u64 {
                return Ok(total);
            }
        }
    }
}
