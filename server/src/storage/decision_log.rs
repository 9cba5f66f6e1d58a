//! Read-only access to one tenant's decision log and events, for the offline
//! tools (`tutti export`, `evaluate`, `tune`, `train`): in a SQLite file
//! ([`DecisionLog`]), or in PostgreSQL (`PgStorage::read_log`, which returns
//! the same [`LogTables`] through the same row parsing).
//!
//! Reading a tenant's health data offline is an access like any API call, so
//! [`DecisionLog::open_audited`] first appends one row to the same audit table
//! the server writes (method `tutti.cli/<tool>`, resource `tenants/<id>`, the
//! principal the operator names) through a short separate read-write
//! connection, and refuses to read when it cannot: no audit, no data.
//!
//! It opens the file with `SQLITE_OPEN_READ_ONLY`, never migrates or writes,
//! and can run beside a live server (WAL lets readers see a consistent
//! snapshot while the server writes). Rows come back as stored: payloads
//! stay encoded `tutti.v1` messages and decoding them is the caller's job, as
//! everywhere else in `storage`. Synchronous on purpose: the tools have no
//! async runtime and read each table once, in bulk.
//!
//! Files a server has not yet migrated past schema version 1 (before shadow
//! mode) are read too: their decisions are all live. Migrating them here is
//! not an option, since the file is opened read-only.

use super::{AuditRow, RecommendationRole, Result, StorageError, StoredIntervention, snappy};
use crate::convert::ids::TenantId;
use rusqlite::types::{Type, ValueRef};
use rusqlite::{Connection, OpenFlags, params};
use std::path::Path;
use tutti_engine::catalog::Condition;
use tutti_engine::ids::{InterventionId, Timestamp};
use tutti_engine::rank::{Ranking, RecommendQuery};

/// A person as the log tools need them.
#[derive(Debug, Clone, PartialEq)]
pub struct LogPerson {
    /// Person id (the server's stored id, without `people/`).
    pub id: String,
    /// Standing conditions.
    pub conditions: Vec<Condition>,
    /// When registered.
    pub create_time: Timestamp,
}

/// One logged decision (one `Recommend` call).
#[derive(Debug, Clone)]
pub struct LogDecision {
    /// Decision id.
    pub id: String,
    /// For whom.
    pub person: String,
    /// The full query: context, exclusions, pins, time, exploration seed.
    pub query: RecommendQuery,
    /// The query as stored (JSON), for exports.
    pub query_json: String,
    /// Model version that ranked.
    pub model_version: String,
    /// When the server decided.
    pub decide_time: Timestamp,
    /// The time the ranking was for.
    pub for_time: Timestamp,
    /// Whether the safety path was active.
    pub safety_mode: bool,
    /// Exploration level used.
    pub exploration: f64,
    /// The ranking with scores, propensities and explanations.
    pub ranking: Ranking,
    /// Every candidate's probability of being ranked first (above 0); `None`
    /// for decisions logged before schema version 3.
    pub first_place: Option<Vec<(InterventionId, f64)>>,
    /// Whether the ranking was logged but not shown (shadow mode): the action
    /// taken was then the platform's choice, not the rank-1 item.
    pub shadow: bool,
    /// The intervention the platform said it shows, if the request named one
    /// (in live mode only for comparison).
    pub platform_intervention: Option<InterventionId>,
}

/// One returned item of a decision.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRecommendation {
    /// Recommendation id.
    pub id: String,
    /// Its decision.
    pub decision: String,
    /// For whom.
    pub person: String,
    /// The intervention.
    pub intervention: InterventionId,
    /// Tutti's item (shown or not) or the platform's choice.
    pub role: RecommendationRole,
    /// 1-based rank; `None` for the platform's choice.
    pub rank: Option<u32>,
    /// Ranking score; `None` for the platform's choice.
    pub score: Option<f64>,
    /// Probability that the engine ranked it first; `None` for the platform's
    /// choice (the platform's policy logged no propensity).
    pub propensity: Option<f64>,
    /// The time the ranking was for.
    pub for_time: Timestamp,
}

/// One feedback report, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct LogFeedback {
    /// Feedback id.
    pub id: String,
    /// The recommendation it reports on.
    pub recommendation: String,
    /// Whose.
    pub person: String,
    /// The intervention.
    pub intervention: InterventionId,
    /// When it was observed.
    pub observe_time: Timestamp,
    /// When the server stored it.
    pub create_time: Timestamp,
    /// Encoded `tutti.v1.Feedback`.
    pub payload: Vec<u8>,
}

/// One assessment, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct LogAssessment {
    /// Assessment id.
    pub id: String,
    /// Whose.
    pub person: String,
    /// When the person made the ratings.
    pub observe_time: Timestamp,
    /// When the server stored it.
    pub create_time: Timestamp,
    /// Encoded `tutti.v1.Assessment`.
    pub payload: Vec<u8>,
}

/// Everything the offline tools read of one tenant, from one snapshot.
#[derive(Debug, Clone, Default)]
pub struct LogTables {
    /// People, by id.
    pub people: Vec<LogPerson>,
    /// Decisions, by person, then decision time, then insertion.
    pub decisions: Vec<LogDecision>,
    /// Returned items, by decision and rank (a platform choice first).
    pub recommendations: Vec<LogRecommendation>,
    /// Feedback, in the order it was stored.
    pub feedback: Vec<LogFeedback>,
    /// Assessments, by person and observation time.
    pub assessments: Vec<LogAssessment>,
    /// The tenant's own interventions.
    pub interventions: Vec<StoredIntervention>,
}

/// A JSON column of `decisions` as text: TEXT as written before, or the
/// Snappy-compressed BLOB the server writes now (`sqlite::packed_json`).
#[expect(
    clippy::wildcard_enum_match_arm,
    reason = "rusqlite's ValueRef: JSON is TEXT or a BLOB; numbers are refused"
)]
fn json_column(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Option<String>> {
    let fail = |ty, e: Box<dyn std::error::Error + Send + Sync>| {
        rusqlite::Error::FromSqlConversionFailure(i, ty, e)
    };
    let text = |bytes: Vec<u8>, ty| String::from_utf8(bytes).map_err(|e| fail(ty, e.into()));
    match r.get_ref(i)? {
        ValueRef::Null => Ok(None),
        ValueRef::Text(t) => text(t.to_vec(), Type::Text).map(Some),
        ValueRef::Blob(b) => {
            let json = snappy::expand(b).map_err(|e| fail(Type::Blob, e.into()))?;
            text(json, Type::Blob).map(Some)
        }
        other => Err(rusqlite::Error::InvalidColumnType(
            i,
            "decision JSON".into(),
            other.data_type(),
        )),
    }
}

/// A `decisions` row as stored, before its JSON columns are parsed.
pub(crate) struct DecisionRow {
    pub(crate) id: String,
    pub(crate) person: String,
    pub(crate) request: String,
    pub(crate) model_version: String,
    pub(crate) decide_time: i64,
    pub(crate) for_time: i64,
    pub(crate) safety_mode: bool,
    pub(crate) exploration: f64,
    pub(crate) ranking: String,
    pub(crate) shadow: bool,
    pub(crate) platform: Option<String>,
    pub(crate) first_place: Option<String>,
}

impl DecisionRow {
    /// Parses the stored query, ranking and first-place distribution.
    pub(crate) fn parse(self) -> Result<LogDecision> {
        let id = self.id;
        let query = serde_json::from_str(&self.request)
            .map_err(|e| StorageError::Corrupt(format!("request of decision {id}: {e}")))?;
        let ranking = serde_json::from_str(&self.ranking)
            .map_err(|e| StorageError::Corrupt(format!("ranking of decision {id}: {e}")))?;
        let first_place = self
            .first_place
            .map(|json| {
                serde_json::from_str(&json).map_err(|e| {
                    StorageError::Corrupt(format!("first-place distribution of decision {id}: {e}"))
                })
            })
            .transpose()?;
        Ok(LogDecision {
            first_place,
            id,
            person: self.person,
            query,
            query_json: self.request,
            model_version: self.model_version,
            decide_time: Timestamp(self.decide_time),
            for_time: Timestamp(self.for_time),
            safety_mode: self.safety_mode,
            exploration: self.exploration,
            ranking,
            shadow: self.shadow,
            platform_intervention: self.platform.map(InterventionId),
        })
    }
}

/// A `people` row as the tools need it, its conditions parsed.
pub(crate) fn parse_person(id: String, conditions: &str, create_time: i64) -> Result<LogPerson> {
    let conditions = serde_json::from_str(conditions)
        .map_err(|e| StorageError::Corrupt(format!("conditions of person {id}: {e}")))?;
    Ok(LogPerson {
        id,
        conditions,
        create_time: Timestamp(create_time),
    })
}

impl OfflineAccess {
    /// The audit row that records this access (method `tutti.cli/<tool>`).
    pub(crate) fn audit_row(&self) -> AuditRow {
        AuditRow {
            time: crate::convert::wall_clock(),
            tenant: self.tenant.as_str().to_owned(),
            principal: self.principal.clone(),
            method: format!("tutti.cli/{}", self.tool),
            resource: format!("tenants/{}", self.tenant.as_str()),
            code: 0,
            call_id: uuid::Uuid::new_v4().to_string(),
            request_id: None,
            trace_id: String::new(),
            count: 1,
        }
    }
}

/// A read-only connection to a Tutti SQLite file.
#[derive(Debug)]
pub struct DecisionLog {
    conn: Connection,
    /// `PRAGMA user_version`: which columns exist.
    version: i64,
}

fn db(e: rusqlite::Error) -> StorageError {
    StorageError::Backend(Box::new(e))
}

/// Who reads a tenant's data offline, and with which tool, for the audit row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflineAccess {
    /// The tool, e.g. `export` (recorded as method `tutti.cli/export`).
    pub tool: &'static str,
    /// The tenant whose data are read.
    pub tenant: TenantId,
    /// Who runs the tool (an operator id, never a patient's).
    pub principal: String,
}

impl DecisionLog {
    /// Appends the audit row for `access`, then opens `path` read-only (see
    /// the module docs). The row is written before any data are read, so an
    /// interrupted run is still on record.
    pub fn open_audited(path: &Path, access: &OfflineAccess) -> Result<Self> {
        let log = Self::open(path)?;
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(db)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(db)?;
        // The server's durability settings: an acknowledged audit row survives a crash.
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(db)?;
        let row = access.audit_row();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(db)?;
        let tx =
            rusqlite::Transaction::new_unchecked(&conn, rusqlite::TransactionBehavior::Immediate)
                .map_err(db)?;
        if version >= 4 {
            // The same per-tenant chain the server appends to; IMMEDIATE makes
            // this the only writer while it links to the head.
            super::audit_chain::append(&tx, &row)?;
        } else {
            // A file the server has not migrated yet: it chains this row when it does.
            tx.execute(
                "INSERT INTO audit (time, tenant, principal, method, resource, code, call_id, request_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, NULL)",
                params![row.time.0, row.tenant, row.principal, row.method, row.resource, row.call_id],
            )
            .map_err(db)?;
        }
        tx.commit().map_err(db)?;
        Ok(log)
    }

    /// Opens `path` read-only. Fails if the file does not exist or is not a
    /// Tutti database (no schema version).
    pub fn open(path: &Path) -> Result<Self> {
        if !path.is_file() {
            return Err(StorageError::Unavailable(format!(
                "{} does not exist or is not a file",
                path.display()
            )));
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(db)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(db)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(db)?;
        if version < 1 {
            return Err(StorageError::Corrupt(format!(
                "{} has no Tutti schema (user_version {version})",
                path.display()
            )));
        }
        Ok(Self { conn, version })
    }

    /// Every table of `tenant`, from one snapshot.
    pub fn read_all(&mut self, tenant: &TenantId) -> Result<LogTables> {
        self.snapshot(|s| {
            Ok(LogTables {
                people: s.people(tenant)?,
                decisions: s.decisions(tenant)?,
                recommendations: s.recommendations(tenant)?,
                feedback: s.feedback(tenant)?,
                assessments: s.assessments(tenant)?,
                interventions: s.interventions(tenant)?,
            })
        })
    }

    /// Runs `f` inside one read transaction, so every table is read from the
    /// same snapshot even while a server writes.
    pub fn snapshot<T>(&mut self, f: impl FnOnce(&Snapshot<'_>) -> Result<T>) -> Result<T> {
        let tx = self.conn.transaction().map_err(db)?;
        let out = f(&Snapshot {
            tx: &tx,
            version: self.version,
        });
        tx.finish().map_err(db)?;
        out
    }
}

/// One consistent read of the file.
#[derive(Debug)]
pub struct Snapshot<'a> {
    tx: &'a rusqlite::Transaction<'a>,
    version: i64,
}

impl Snapshot<'_> {
    /// The tenant's audit trail, oldest first.
    pub fn audit(&self, tenant: &TenantId) -> Result<Vec<AuditRow>> {
        let extra = if self.version >= 4 {
            "trace_id, count"
        } else {
            "'', 1"
        };
        self.tx
            .prepare(&format!(
                "SELECT time, tenant, principal, method, resource, code, call_id, request_id, {extra}
                 FROM audit WHERE tenant = ?1 ORDER BY seq"
            ))
            .map_err(db)?
            .query_map(params![tenant.as_str()], |r| {
                Ok(AuditRow {
                    time: Timestamp(r.get(0)?),
                    tenant: r.get(1)?,
                    principal: r.get(2)?,
                    method: r.get(3)?,
                    resource: r.get(4)?,
                    code: r.get(5)?,
                    call_id: r.get(6)?,
                    request_id: r.get(7)?,
                    trace_id: r.get(8)?,
                    count: r.get(9)?,
                })
            })
            .map_err(db)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(db)
    }

    /// The tenant's people, by id.
    pub fn people(&self, tenant: &TenantId) -> Result<Vec<LogPerson>> {
        let rows = self
            .tx
            .prepare(
                "SELECT person_id, conditions, create_time FROM people
                 WHERE tenant = ?1 ORDER BY person_id",
            )
            .map_err(db)?
            .query_map(params![tenant.as_str()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })
            .map_err(db)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(db)?;
        rows.into_iter()
            .map(|(id, conditions, create)| parse_person(id, &conditions, create))
            .collect()
    }

    /// The tenant's decisions, by person, then decision time, then insertion.
    pub fn decisions(&self, tenant: &TenantId) -> Result<Vec<LogDecision>> {
        let shadow_columns = if self.version >= 2 {
            "shadow, platform_intervention_id"
        } else {
            "0, NULL"
        };
        let first_place_column = if self.version >= 3 {
            "first_place"
        } else {
            "NULL"
        };
        let rows = self
            .tx
            .prepare(&format!(
                "SELECT decision_id, person_id, request, model_version, decide_time, for_time,
                        safety_mode, exploration, ranking, {shadow_columns},
                        {first_place_column}
                 FROM decisions WHERE tenant = ?1 ORDER BY person_id, decide_time, rowid"
            ))
            .map_err(db)?
            .query_map(params![tenant.as_str()], |r| {
                Ok(DecisionRow {
                    id: r.get(0)?,
                    person: r.get(1)?,
                    request: r.get(2)?,
                    model_version: r.get(3)?,
                    decide_time: r.get(4)?,
                    for_time: r.get(5)?,
                    safety_mode: r.get(6)?,
                    exploration: r.get(7)?,
                    ranking: json_column(r, 8)?.unwrap_or_default(),
                    shadow: r.get(9)?,
                    platform: r.get(10)?,
                    first_place: json_column(r, 11)?,
                })
            })
            .map_err(db)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(db)?;
        rows.into_iter().map(DecisionRow::parse).collect()
    }

    /// The tenant's returned items, by decision and rank; a shadow decision's
    /// platform choice (no rank) comes first.
    pub fn recommendations(&self, tenant: &TenantId) -> Result<Vec<LogRecommendation>> {
        let role = if self.version >= 2 { "role" } else { "'live'" };
        let rows = self
            .tx
            .prepare(&format!(
                "SELECT recommendation_id, decision_id, person_id, intervention_id, rank, score,
                        propensity, for_time, {role}
                 FROM recommendations WHERE tenant = ?1 ORDER BY decision_id, rank"
            ))
            .map_err(db)?
            .query_map(params![tenant.as_str()], |r| {
                Ok((
                    LogRecommendation {
                        id: r.get(0)?,
                        decision: r.get(1)?,
                        person: r.get(2)?,
                        intervention: InterventionId(r.get(3)?),
                        role: RecommendationRole::Live,
                        rank: r.get(4)?,
                        score: r.get(5)?,
                        propensity: r.get(6)?,
                        for_time: Timestamp(r.get(7)?),
                    },
                    r.get::<_, String>(8)?,
                ))
            })
            .map_err(db)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(db)?;
        rows.into_iter()
            .map(|(rec, role)| {
                Ok(LogRecommendation {
                    role: RecommendationRole::parse(&role)?,
                    ..rec
                })
            })
            .collect()
    }

    /// The tenant's feedback, in the order it was stored.
    pub fn feedback(&self, tenant: &TenantId) -> Result<Vec<LogFeedback>> {
        self.tx
            .prepare(
                "SELECT feedback_id, recommendation_id, person_id, intervention_id, observe_time,
                        create_time, payload
                 FROM feedback WHERE tenant = ?1 ORDER BY rowid",
            )
            .map_err(db)?
            .query_map(params![tenant.as_str()], |r| {
                Ok(LogFeedback {
                    id: r.get(0)?,
                    recommendation: r.get(1)?,
                    person: r.get(2)?,
                    intervention: InterventionId(r.get(3)?),
                    observe_time: Timestamp(r.get(4)?),
                    create_time: Timestamp(r.get(5)?),
                    payload: r.get(6)?,
                })
            })
            .map_err(db)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(db)
    }

    /// The tenant's assessments, by person and observation time.
    pub fn assessments(&self, tenant: &TenantId) -> Result<Vec<LogAssessment>> {
        self.tx
            .prepare(
                "SELECT assessment_id, person_id, observe_time, create_time, payload
                 FROM assessments WHERE tenant = ?1 ORDER BY person_id, observe_time, rowid",
            )
            .map_err(db)?
            .query_map(params![tenant.as_str()], |r| {
                Ok(LogAssessment {
                    id: r.get(0)?,
                    person: r.get(1)?,
                    observe_time: Timestamp(r.get(2)?),
                    create_time: Timestamp(r.get(3)?),
                    payload: r.get(4)?,
                })
            })
            .map_err(db)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(db)
    }

    /// The tenant's own interventions.
    pub fn interventions(&self, tenant: &TenantId) -> Result<Vec<StoredIntervention>> {
        super::sqlite::select_interventions(self.tx, tenant)
    }
}
