//! The storage contract: everything the service layer persists, behind one
//! async, object-safe trait ([`Storage`]), with two backends: embedded SQLite
//! ([`sqlite`], the zero-setup default) and PostgreSQL ([`postgres`], for
//! several replicas on one database). [`open`] picks one from the configuration.
//!
//! Rules every backend keeps:
//! - Every row carries its tenant and every query is scoped by tenant.
//! - A write, its idempotency record and its audit row commit in one
//!   transaction; a method returns only once that transaction is durable.
//! - Audit rows are append-only and hash-chained per tenant ([`audit_chain`]).
//! - A write whose caller's deadline ([`crate::deadline`]) has passed is rolled
//!   back rather than committed.
//! - Person state is updated with optimistic concurrency: a write names the
//!   state version it was computed from and fails with
//!   [`StorageError::Conflict`] if another write got there first.
//! - Event payloads are encoded `tutti.v1` messages (a contract guarded against
//!   breaking changes); rankings are JSON of the engine types; person state is
//!   the compact binary form of [`state_codec`] (JSON states of earlier
//!   versions still load), encoded by the caller's task before the write is
//!   queued, so no backend holds a writer while it serialises.
//!
//! It must not validate requests, call the engine or know about gRPC.

pub mod audit_chain;
pub mod decision_log;
pub mod postgres;
pub mod snappy;
pub mod sqlite;
pub mod state_codec;

use crate::convert::ids::{DecisionId, PersonId, RecommendationId, RequestId, TenantId};
use tutti_engine::catalog::Condition;
use tutti_engine::ids::{InterventionId, Timestamp};
use tutti_engine::observe::Context;
use tutti_engine::rank::{Ranking, RecommendQuery};
use tutti_engine::state::PersonState;

/// What a stored row is, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A person.
    Person,
    /// A recommendation.
    Recommendation,
    /// A tenant's intervention.
    Intervention,
}

/// Everything that can go wrong in storage.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The row does not exist (in this tenant).
    #[error("{kind:?} `{id}` not found")]
    NotFound {
        /// What was looked for.
        kind: Kind,
        /// Its id.
        id: String,
    },
    /// A row with this id exists already.
    #[error("{kind:?} `{id}` already exists")]
    AlreadyExists {
        /// What was created.
        kind: Kind,
        /// Its id.
        id: String,
    },
    /// The person's state changed since it was read; recompute and retry.
    #[error("concurrent update")]
    Conflict,
    /// A write with the same idempotency key committed first; read its response.
    #[error("duplicate request id")]
    DuplicateRequest,
    /// Stored data that cannot be decoded.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// The schema could not be brought up to date.
    #[error("migration: {0}")]
    Migration(String),
    /// The database is locked, read-only or failing I/O, or the blocking pool is gone.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The disk (or the configured `storage.max_bytes`) is full; nothing was written.
    #[error("full: {0}")]
    Full(String),
    /// The caller's deadline passed before the write committed; it was rolled back.
    #[error("deadline exceeded before commit")]
    DeadlineExceeded,
    /// Any other backend failure.
    #[error("backend: {0}")]
    Backend(Box<dyn std::error::Error + Send + Sync>),
}

/// Result alias for storage.
pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// A stored first response for an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// Hex SHA-256 of the request that produced it.
    pub request_hash: String,
    /// The encoded response message.
    pub response: Vec<u8>,
}

/// The idempotency row written with a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// Full gRPC method, e.g. `/tutti.v1.PeopleService/RecordAssessment`.
    pub method: String,
    /// The client's key.
    pub request_id: RequestId,
    /// Hex SHA-256 of the request.
    pub request_hash: String,
    /// The encoded response (empty for [`Storage::delete_person`], which fills it in).
    pub response: Vec<u8>,
    /// The person whose data the response holds, so erasing them erases it too.
    pub person: Option<PersonId>,
    /// When it was written.
    pub create_time: Timestamp,
    /// The audit row of the call, committed in the same transaction as the write.
    pub audit: Option<AuditRow>,
}

/// A person as stored.
#[derive(Debug, Clone)]
pub struct PersonRecord {
    /// Id.
    pub id: PersonId,
    /// Standing conditions.
    pub conditions: Vec<Condition>,
    /// When registered.
    pub create_time: Timestamp,
    /// Assessments recorded.
    pub assessment_count: u32,
    /// Feedback reports recorded.
    pub feedback_count: u32,
    /// Observation time of the latest assessment, if any.
    pub latest_assessment_time: Option<Timestamp>,
    /// The engine state, or `None` when the stored state does not decode with
    /// this engine version (the caller rebuilds it from the events).
    pub state: Option<PersonState>,
    /// Version for optimistic concurrency.
    pub version: i64,
}

/// A new person.
#[derive(Debug, Clone)]
pub struct NewPerson {
    /// Id.
    pub id: PersonId,
    /// Standing conditions.
    pub conditions: Vec<Condition>,
    /// When registered.
    pub create_time: Timestamp,
    /// Initial engine state.
    pub state: PersonState,
}

/// A new person state, computed from the version that was read.
#[derive(Debug, Clone)]
pub struct StateUpdate {
    /// Whose state.
    pub person: PersonId,
    /// The version the new state was computed from.
    pub expected_version: i64,
    /// The new state.
    pub state: PersonState,
    /// When the state was computed.
    pub update_time: Timestamp,
}

impl StateUpdate {
    /// The update with its state encoded ([`state_codec`]), for a backend to
    /// take into its write: the state is serialised, and dropped, by the
    /// caller's task before any transaction or writer is held.
    pub(crate) fn encode(self) -> Result<EncodedUpdate> {
        Ok(EncodedUpdate {
            state: state_codec::encode(&self.state)?,
            person: self.person,
            expected_version: self.expected_version,
            update_time: self.update_time,
        })
    }
}

/// A [`StateUpdate`] whose state is encoded.
#[derive(Debug)]
pub(crate) struct EncodedUpdate {
    pub(crate) person: PersonId,
    pub(crate) expected_version: i64,
    pub(crate) state: Vec<u8>,
    pub(crate) update_time: Timestamp,
}

/// One stored assessment.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAssessment {
    /// Server-assigned id.
    pub id: String,
    /// When the person made the ratings.
    pub observe_time: Timestamp,
    /// Encoded `tutti.v1.Assessment` (with its id).
    pub payload: Vec<u8>,
}

/// Where a page of assessments (newest first) continues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssessmentCursor {
    /// Observation time of the last row of the previous page.
    pub observe_time: Timestamp,
    /// Id of the last row of the previous page.
    pub id: String,
}

/// A page of assessments.
#[derive(Debug, Clone, PartialEq)]
pub struct AssessmentPage {
    /// Newest first.
    pub items: Vec<StoredAssessment>,
    /// Number of assessments the person has.
    pub total: u32,
    /// Whether more rows follow.
    pub more: bool,
}

/// What a recommendation row stands for, in the decision log.
///
/// Shadow mode needs the distinction in storage, not only in the response:
/// replay (dose limits, habituation) must count only what the person was
/// offered, feedback must not attach to an item nobody saw, and the offline
/// tools must not take a shadow ranking's rank 1 for the action taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecommendationRole {
    /// Tutti's item in a live decision: shown to the person.
    Live,
    /// Tutti's item in a shadow decision: logged, not shown.
    Shadow,
    /// The platform's own choice in a shadow decision: shown to the person.
    Platform,
}

impl RecommendationRole {
    /// The stored form (`recommendations.role`).
    pub fn as_str(self) -> &'static str {
        match self {
            RecommendationRole::Live => "live",
            RecommendationRole::Shadow => "shadow",
            RecommendationRole::Platform => "platform",
        }
    }

    /// Reads the stored form.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "live" => Ok(RecommendationRole::Live),
            "shadow" => Ok(RecommendationRole::Shadow),
            "platform" => Ok(RecommendationRole::Platform),
            other => Err(StorageError::Corrupt(format!(
                "recommendation role `{other}`"
            ))),
        }
    }

    /// Whether the person was offered the intervention.
    pub fn shown(self) -> bool {
        match self {
            RecommendationRole::Live | RecommendationRole::Platform => true,
            RecommendationRole::Shadow => false,
        }
    }
}

/// The platform's own choice, stored with a shadow decision as the action taken.
#[derive(Debug, Clone)]
pub struct PlatformChoice {
    /// Server-generated id that feedback on the choice is sent against.
    pub id: RecommendationId,
    /// The intervention the platform showed.
    pub intervention: InterventionId,
}

/// One logged decision and its ranked items.
#[derive(Debug, Clone)]
pub struct NewDecision {
    /// Server-generated id.
    pub id: DecisionId,
    /// For whom.
    pub person: PersonId,
    /// The full query (context, exclusions, pins, time, seed): what is needed to replay it.
    pub query: RecommendQuery,
    /// Model version that ranked.
    pub model_version: String,
    /// When the server made the decision.
    pub decide_time: Timestamp,
    /// The full ranking with scores, propensities and explanations.
    pub ranking: Ranking,
    /// One row per returned item.
    pub items: Vec<NewRecommendation>,
    /// Every candidate's probability of being ranked first (those above 0),
    /// not only the returned items': the complete logging distribution that
    /// off-policy evaluation needs.
    pub first_place: Vec<(InterventionId, f64)>,
    /// Whether the ranking was logged but not shown (shadow mode); its items
    /// are then stored with [`RecommendationRole::Shadow`].
    pub shadow: bool,
    /// The intervention the platform said it shows, as sent (either mode).
    pub platform_intervention: Option<InterventionId>,
    /// Shadow mode: the platform's choice as a recommendation of its own
    /// ([`RecommendationRole::Platform`]).
    pub platform_choice: Option<PlatformChoice>,
}

/// One returned item of a decision.
#[derive(Debug, Clone)]
pub struct NewRecommendation {
    /// Server-generated id.
    pub id: RecommendationId,
    /// The intervention.
    pub intervention: InterventionId,
    /// 1-based rank.
    pub rank: u32,
    /// Ranking score.
    pub score: f64,
    /// Logged propensity.
    pub propensity: f64,
}

/// A recommendation as feedback needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecommendationRecord {
    /// Id.
    pub id: RecommendationId,
    /// Its decision.
    pub decision: DecisionId,
    /// For whom.
    pub person: PersonId,
    /// The intervention.
    pub intervention: InterventionId,
    /// The context the decision was made in.
    pub context: Context,
    /// What the row stands for (shown or not).
    pub role: RecommendationRole,
}

/// One feedback report.
#[derive(Debug, Clone, PartialEq)]
pub struct NewFeedback {
    /// Server-generated id.
    pub id: String,
    /// The recommendation it reports on.
    pub recommendation: RecommendationId,
    /// The intervention (denormalised for exports and replay).
    pub intervention: InterventionId,
    /// When it was observed.
    pub observe_time: Timestamp,
    /// Encoded `tutti.v1.Feedback` (with its id).
    pub payload: Vec<u8>,
}

/// One stored feedback report with the context of its decision, for replay.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredFeedback {
    /// When it was observed.
    pub observe_time: Timestamp,
    /// The intervention.
    pub intervention: InterventionId,
    /// The context of the decision.
    pub context: Context,
    /// Encoded `tutti.v1.Feedback`.
    pub payload: Vec<u8>,
}

/// One item the person was offered (Tutti's in live mode, the platform's in
/// shadow mode), for replay (dose limits, habituation).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRecommendation {
    /// The time the recommendation was for.
    pub at: Timestamp,
    /// The intervention.
    pub intervention: InterventionId,
}

/// Everything a person's state is computed from, each in insertion order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    /// Assessments.
    pub assessments: Vec<StoredAssessment>,
    /// Items the person was offered.
    pub recommendations: Vec<StoredRecommendation>,
    /// Feedback.
    pub feedback: Vec<StoredFeedback>,
}

/// Rows erased with a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Erased {
    /// Assessments.
    pub assessments: u32,
    /// Recommendations.
    pub recommendations: u32,
    /// Feedback reports.
    pub feedback: u32,
    /// Decisions.
    pub decisions: u32,
}

/// A tenant's own intervention as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredIntervention {
    /// Id.
    pub id: InterventionId,
    /// Encoded `tutti.v1.Intervention`.
    pub payload: Vec<u8>,
    /// Version for optimistic concurrency (1 on create).
    pub version: i64,
}

/// One audit row: who did what to which resource, and how it ended. No
/// payloads and no free text, only ids and codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    /// When the call ended.
    pub time: Timestamp,
    /// Tenant (as authenticated, or as claimed when authentication failed).
    pub tenant: String,
    /// Who called: the API key's principal, or `anonymous`.
    pub principal: String,
    /// Full gRPC method.
    pub method: String,
    /// Resource name, e.g. `people/p1`; empty when the request named none validly.
    pub resource: String,
    /// gRPC status code.
    pub code: i32,
    /// Per-call id (`x-request-id`).
    pub call_id: String,
    /// The client's idempotency key, for writes.
    pub request_id: Option<String>,
    /// W3C trace id (32 hex digits) of the call, to find its spans and log lines.
    pub trace_id: String,
    /// How many calls the row stands for: 1, or more for a summary of refused
    /// unauthenticated or shed calls.
    pub count: u32,
}

/// Whose state a write changes: a person named by the request, or the
/// person a recommendation was for (feedback names only the recommendation).
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    /// The person.
    Person(&'a PersonId),
    /// The recommendation, and through it its person.
    Recommendation(&'a RecommendationId),
}

/// What a write reads before it computes ([`Storage::read_for_write`]).
#[derive(Debug)]
pub struct WriteSnapshot {
    /// The stored first response of the write's idempotency key: a retry.
    pub response: Option<StoredResponse>,
    /// For [`Subject::Recommendation`], the recommendation.
    pub recommendation: Option<RecommendationRecord>,
    /// The person whose state the write changes, if they exist.
    pub person: Option<PersonRecord>,
}

/// Builds the response stored for a delete, once the erased counts are known
/// inside the transaction.
pub type EncodeErased = Box<dyn FnOnce(Erased) -> Vec<u8> + Send>;

/// Opens the configured backend: PostgreSQL when `storage.url` is set, else
/// the SQLite file at `storage.path`; either is migrated to the latest schema.
pub async fn open(config: &crate::config::StorageConfig) -> Result<std::sync::Arc<dyn Storage>> {
    Ok(match &config.url {
        Some(url) => std::sync::Arc::new(
            postgres::PgStorage::open(&postgres::PgOptions {
                url: url.expose_str().to_owned(),
                pool_size: config.pool_size,
                tls_ca_path: config.tls_ca_path.clone(),
            })
            .await?,
        ),
        None => std::sync::Arc::new(
            sqlite::SqliteStorage::open_with_options(
                &config.path,
                sqlite::SqliteOptions {
                    max_bytes: config.max_bytes,
                    commit_batch: config.commit_batch,
                    wal_max_bytes: u64::from(config.wal_max_mb) << 20,
                },
            )
            .await?,
        ),
    })
}

/// Where the configured storage is, for logs (never a password).
pub fn describe(config: &crate::config::StorageConfig) -> String {
    match &config.url {
        Some(url) => postgres::describe(url.expose_str()),
        None => config.path.display().to_string(),
    }
}

/// Durable storage for one or many tenants.
#[async_trait::async_trait]
pub trait Storage: Send + Sync + std::fmt::Debug + 'static {
    /// The stored response for an idempotency key, if a write with it committed.
    async fn find_response(
        &self,
        tenant: &TenantId,
        method: &str,
        request_id: &RequestId,
    ) -> Result<Option<StoredResponse>>;

    /// Everything a write of `subject`'s state reads first, in one trip to
    /// the database: the stored response for its idempotency key and the
    /// person (with the recommendation, for feedback). Backends override the
    /// default (three separate reads) to read it in one transaction or
    /// round trip.
    async fn read_for_write(
        &self,
        tenant: &TenantId,
        method: &str,
        request_id: &RequestId,
        subject: Subject<'_>,
    ) -> Result<WriteSnapshot> {
        let response = self.find_response(tenant, method, request_id).await?;
        let recommendation = match subject {
            Subject::Person(_) => None,
            Subject::Recommendation(id) => self.get_recommendation(tenant, id).await?,
        };
        let person = match (subject, &recommendation) {
            (Subject::Person(p), _) => self.get_person(tenant, p).await?,
            (Subject::Recommendation(_), Some(r)) => self.get_person(tenant, &r.person).await?,
            (Subject::Recommendation(_), None) => None,
        };
        Ok(WriteSnapshot {
            response,
            recommendation,
            person,
        })
    }

    /// Registers a person. [`StorageError::AlreadyExists`] if the id is taken.
    async fn create_person(
        &self,
        tenant: &TenantId,
        person: NewPerson,
        idem: IdempotencyRecord,
    ) -> Result<()>;

    /// Reads a person with their state.
    async fn get_person(
        &self,
        tenant: &TenantId,
        person: &PersonId,
    ) -> Result<Option<PersonRecord>>;

    /// Erases a person and every row about them except audit rows.
    async fn delete_person(
        &self,
        tenant: &TenantId,
        person: &PersonId,
        idem: IdempotencyRecord,
        encode: EncodeErased,
    ) -> Result<Erased>;

    /// Stores assessments and the state they produced.
    async fn record_assessments(
        &self,
        tenant: &TenantId,
        update: StateUpdate,
        assessments: Vec<StoredAssessment>,
        idem: IdempotencyRecord,
    ) -> Result<()>;

    /// A page of a person's assessments, newest first.
    async fn list_assessments(
        &self,
        tenant: &TenantId,
        person: &PersonId,
        after: Option<AssessmentCursor>,
        limit: u32,
    ) -> Result<AssessmentPage>;

    /// Every event a person's state is computed from (of recommendations, only
    /// those shown: [`RecommendationRole::shown`]).
    async fn load_history(&self, tenant: &TenantId, person: &PersonId) -> Result<History>;

    /// Logs a decision with its items (and, in shadow mode, the platform's
    /// choice) and stores the state it produced.
    async fn record_decision(
        &self,
        tenant: &TenantId,
        update: StateUpdate,
        decision: NewDecision,
        idem: IdempotencyRecord,
    ) -> Result<()>;

    /// Reads a recommendation (in this tenant).
    async fn get_recommendation(
        &self,
        tenant: &TenantId,
        id: &RecommendationId,
    ) -> Result<Option<RecommendationRecord>>;

    /// Stores feedback and the state it produced.
    async fn record_feedback(
        &self,
        tenant: &TenantId,
        update: StateUpdate,
        feedback: NewFeedback,
        idem: IdempotencyRecord,
    ) -> Result<()>;

    /// The tenant's own interventions.
    async fn list_interventions(&self, tenant: &TenantId) -> Result<Vec<StoredIntervention>>;

    /// Adds a tenant intervention. [`StorageError::AlreadyExists`] if the id is taken.
    async fn create_intervention(
        &self,
        tenant: &TenantId,
        intervention: StoredIntervention,
        idem: IdempotencyRecord,
    ) -> Result<()>;

    /// Replaces a tenant intervention whose stored version is `intervention.version - 1`.
    async fn update_intervention(
        &self,
        tenant: &TenantId,
        intervention: StoredIntervention,
        idem: IdempotencyRecord,
    ) -> Result<()>;

    /// Appends audit rows to their tenants' chains, durably, in one transaction.
    async fn append_audit(&self, rows: Vec<AuditRow>) -> Result<()>;

    /// The stored states of the tenant's `limit` most recently updated people
    /// (what online pooling refits on). States that no longer decode are
    /// skipped: pooling is an estimate, and their people are rebuilt on use.
    async fn recent_states(&self, tenant: &TenantId, limit: u32) -> Result<Vec<PersonState>>;

    /// Deletes stored first responses written before `before`; returns how many.
    async fn sweep_idempotency(&self, before: Timestamp) -> Result<u64>;

    /// Claims a CDS client's token id (`jti`, from `issuer`, for `tenant`)
    /// until `expires_at` (Unix seconds): `true` if no live claim holds it,
    /// `false` if one does (a replay). A claim is live while its `expires_at`
    /// is at or after `expired_before`; an expired one is taken over. Shared
    /// by every replica on the storage, so a token replayed to another
    /// replica is refused too.
    async fn claim_token(
        &self,
        tenant: &TenantId,
        issuer: &str,
        jti: &str,
        expires_at: i64,
        expired_before: i64,
    ) -> Result<bool>;

    /// Deletes token claims that expired before `before` (Unix seconds);
    /// returns how many.
    async fn sweep_tokens(&self, before: i64) -> Result<u64>;

    /// A stamp of every tenant's own catalogue that changes whenever an
    /// intervention is created or updated, by this process or another
    /// replica: each replica polls it to drop engines built on a stale
    /// catalogue ([`crate::engines::Engines::invalidate`]).
    async fn catalog_stamps(&self) -> Result<Vec<(TenantId, i64)>>;
}

/// JSON text of a stored column (conditions, a decision's query and ranking),
/// the same on every backend.
pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StorageError::Corrupt(format!("encode: {e}")))
}

/// The ranking context of a stored decision, from its request JSON.
pub(crate) fn context_of_request(request_json: &str) -> Result<tutti_engine::observe::Context> {
    // Only the context is needed; reading it from a generic value keeps old
    // decision rows readable if other query fields change.
    let v: serde_json::Value = serde_json::from_str(request_json)
        .map_err(|e| StorageError::Corrupt(format!("decision request: {e}")))?;
    match v.get("context") {
        Some(c) => serde_json::from_value(c.clone())
            .map_err(|e| StorageError::Corrupt(format!("decision context: {e}"))),
        None => Ok(tutti_engine::observe::Context::default()),
    }
}
