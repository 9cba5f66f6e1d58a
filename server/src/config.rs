//! The typed configuration: defaults, then a TOML file, then `TUTTI_*`
//! environment variables (`__` separates nesting levels, e.g.
//! `TUTTI_STORAGE__PATH`), then command-line flags. [`Config::validate`] runs at
//! start-up and fails fast with a message naming the bad key.
//!
//! Nothing else in the server reads the environment: the engine gets typed
//! parameters from here.
//!
//! ```toml
//! listen = "127.0.0.1:50051"
//!
//! [storage]
//! path = "tutti.db"         # SQLite (the default)
//! commit_batch = 64         # SQLite group commit: writes per transaction (1: none)
//! wal_max_mb = 256          # SQLite WAL size before it is started over under load
//! # url = "postgres://tutti:secret@db.example.org/tutti"   # PostgreSQL instead
//! # pool_size = 16          # connections per replica
//! # tls_ca_path = "/etc/tutti/db-ca.pem"                   # TLS to the database
//!
//! [log]
//! format = "text"          # or "json"
//! filter = "info"          # tracing-subscriber EnvFilter syntax
//!
//! [limits]
//! max_message_bytes = 16777216
//! max_batch = 5000
//!
//! [[auth.api_keys]]        # none (and no auth.jwt): auth off, loopback only
//! sha256 = "<hex SHA-256 of the key>"
//! tenant = "acme"
//! principal = "acme-ehr"
//! roles = ["read", "write"] # default: read, write, admin, erase
//!
//! [[auth.jwt]]             # OAuth2 access tokens (RS256/RS384/ES256/ES384)
//! issuer = "https://login.example.org"
//! audience = "tutti"
//! jwks_path = "/etc/tutti/login-jwks.json"
//! tenant_claim = "tenant"  # the tenant comes from this verified claim
//! roles_claim = "roles"    # array or space-separated string
//!
//! [tls]                    # unset: plaintext, allowed on loopback (or with insecure)
//! cert_path = "/etc/tutti/tls/cert.pem"
//! key_path = "/etc/tutti/tls/key.pem"
//! client_ca_path = "/etc/tutti/tls/clients-ca.pem"   # mutual TLS
//! reload_seconds = 30      # re-read changed files, JWK Sets too (also on SIGHUP)
//!
//! [limits]                 # overload: shed with RetryInfo past these
//! max_in_flight = 256
//! max_in_flight_per_tenant = 128
//!
//! [shutdown]
//! drain_seconds = 5        # NOT_SERVING, still serving, before the listener closes
//! grace_seconds = 30
//!
//! [idempotency]
//! ttl_seconds = 86400      # stored first responses (health data) expire
//!
//! [metrics]
//! prometheus = true        # GET /metrics
//!
//! [telemetry]
//! otlp_endpoint = "http://127.0.0.1:4317"   # unset: no trace export
//! service_name = "tutti"
//!
//! [model]                  # a trained model (`tutti train`); unset: catalogue priors
//! path = "models"          # an artifact file, or a directory: the greatest *.json wins
//! poll_seconds = 30        # re-check for a new artifact (0: only on SIGHUP)
//!
//! [engine]                 # tutti_engine::config::EngineConfig
//! exploration = 0.3
//!
//! [http]                   # browsers (gRPC-Web, the REST routes, the SMART app)
//! cors_origins = ["https://ehr.example.org"]
//!
//! [ehr]                    # CDS Hooks, FHIR ingest, the clinician app (server/src/ehr)
//! public_url = "https://tutti.example.org"   # what EHRs call; JWT `aud` is checked against it
//! launch_key = "<32+ random characters>"     # signs the app's launch and session tokens
//! # tls_ca_path = "/etc/tutti/ehr-ca.pem"    # trusted for calls to EHRs, beside public roots
//! [[ehr.issuers]]          # EHRs allowed to call the CDS services
//! iss = "https://ehr.example.org"
//! tenant = "acme"
//! jwks_path = "/etc/tutti/acme-ehr-jwks.json"
//! [ehr.issuers.smart]      # SMART App Launch of the app from this EHR (unset: launch tokens)
//! fhir_base_urls = ["https://ehr.example.org/fhir/r4"]  # the `iss` values it launches with
//! client_id = "tutti"      # registered at the EHR; a public client with PKCE by default
//! [ehr.pseudonym_keys]     # per tenant: HMAC key mapping FHIR patients to person ids
//! acme = "<32+ random characters>"
//! [[ehr.codes]]            # extra observation codes (LOINC ones are built in)
//! system = "http://example.org/codes"
//! code = "wb-1"
//! measure = "wellbeing"
//!
//! [tenants.acme]
//! mode = "shadow"          # or "live" (the default); see TenantMode
//!
//! [tenants.acme.engine]    # per-tenant overrides of [engine]
//! exploration = 0.1
//! ```

use crate::convert::ids::TenantId;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use tutti_engine::config::EngineConfig;

/// Everything the server can be configured with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on (the binary binds it; `serve` takes a bound listener).
    pub listen: SocketAddr,
    /// Storage settings.
    pub storage: StorageConfig,
    /// Logging.
    pub log: LogConfig,
    /// Trace export.
    pub telemetry: TelemetryConfig,
    /// API keys; none configured means auth is off.
    pub auth: AuthConfig,
    /// Request size limits.
    pub limits: LimitsConfig,
    /// The trained population model.
    pub model: ModelConfig,
    /// Online pooling of each tenant's people into its population model.
    pub pooling: PoolingConfig,
    /// Engine hyperparameters for every tenant.
    pub engine: EngineConfig,
    /// Per-tenant settings, keyed by tenant id.
    pub tenants: BTreeMap<String, TenantConfig>,
    /// Browser access (CORS) to the gRPC-Web and HTTP routes.
    pub http: HttpConfig,
    /// EHR integration: CDS Hooks, FHIR ingest, the clinician app.
    pub ehr: EhrConfig,
    /// Transport security: TLS, mutual TLS, plaintext off loopback.
    pub tls: TlsConfig,
    /// Graceful shutdown.
    pub shutdown: ShutdownConfig,
    /// How long stored first responses are kept.
    pub idempotency: IdempotencyConfig,
    /// The audit trail.
    pub audit: AuditConfig,
    /// Metrics (Prometheus text; OTLP export is under `telemetry`).
    pub metrics: MetricsConfig,
}

/// Transport security. With `cert_path` and `key_path` the port speaks TLS
/// only (gRPC, gRPC-Web and the HTTP routes alike); with `client_ca_path` too,
/// every client must present a certificate that CA signed (mutual TLS). The
/// files are re-read when they change (polled every `reload_seconds`, and on
/// SIGHUP), so a renewed certificate needs no restart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain (leaf first).
    pub cert_path: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key_path: Option<PathBuf>,
    /// PEM CA certificate(s) client certificates must chain to; unset: no client certificates.
    pub client_ca_path: Option<PathBuf>,
    /// Seconds between checks of the files for changes (these, and the JWK
    /// Sets of `auth.jwt` and `ehr.issuers`); 0: only on SIGHUP.
    pub reload_seconds: u64,
    /// Allow plaintext on a non-loopback address (behind a TLS-terminating proxy
    /// or a mesh sidecar). Without it such a start is refused.
    pub insecure: bool,
}

impl Default for TlsConfig {
    fn default() -> Self {
        Self {
            cert_path: None,
            key_path: None,
            client_ca_path: None,
            reload_seconds: 30,
            insecure: false,
        }
    }
}

impl TlsConfig {
    /// Whether the port speaks TLS.
    pub fn enabled(&self) -> bool {
        self.cert_path.is_some()
    }
}

/// Graceful shutdown: on SIGTERM/Ctrl-C health turns NOT_SERVING at once, new
/// calls are still served for `drain_seconds` (so load balancers stop sending
/// them), then the listener closes and in-flight calls get `grace_seconds` to
/// finish before the server stops regardless.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShutdownConfig {
    /// Seconds between NOT_SERVING and closing the listener.
    pub drain_seconds: u64,
    /// Seconds in-flight calls get after the listener closed.
    pub grace_seconds: u64,
}

impl Default for ShutdownConfig {
    fn default() -> Self {
        Self {
            drain_seconds: 0,
            grace_seconds: 30,
        }
    }
}

/// Stored first responses (they hold health data) expire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IdempotencyConfig {
    /// Seconds a request id is remembered; a retry after that is a new request.
    pub ttl_seconds: u64,
    /// Seconds between sweeps that delete expired records.
    pub sweep_seconds: u64,
}

impl Default for IdempotencyConfig {
    fn default() -> Self {
        Self {
            ttl_seconds: 24 * 3600,
            sweep_seconds: 300,
        }
    }
}

/// The audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    /// Seconds over which rejected unauthenticated calls and shed calls are
    /// counted into one summary row each (and one log line), instead of one
    /// durable row per call.
    pub summary_seconds: u64,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            summary_seconds: 60,
        }
    }
}

/// Metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Serve Prometheus text at `GET /metrics`.
    pub prometheus: bool,
    /// Serve `/metrics` on this separate (admin) address instead of the API port.
    pub listen: Option<SocketAddr>,
    /// Seconds between OTLP metric exports (with `telemetry.otlp_endpoint`).
    pub export_seconds: u64,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            prometheus: true,
            listen: None,
            export_seconds: 60,
        }
    }
}

/// Browser access.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Origins (`https://host[:port]`) whose pages may call the API from a
    /// browser (gRPC-Web, REST). Empty: no cross-origin access; `"*"` allows
    /// any origin (credentials are bearer headers, never cookies, so this
    /// exposes nothing a page could not send anyway, but prefer a list).
    pub cors_origins: Vec<String>,
}

/// Most clock skew `ehr.jwt_leeway_seconds` may allow: a CDS token's claim
/// against replay is kept this long past its `exp` by the sweeper.
pub const MAX_JWT_LEEWAY_SECONDS: u64 = 300;

/// EHR integration (see `server/src/ehr`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EhrConfig {
    /// The service's public base URL as EHRs reach it (`https://tutti.example.org`,
    /// no trailing slash). The CDS JWT's `aud` must be this plus the path
    /// called, and card links point here. Required when issuers are set.
    pub public_url: Option<String>,
    /// EHRs allowed to call the CDS services. None: every CDS call is refused.
    pub issuers: Vec<IssuerConfig>,
    /// Per-tenant HMAC-SHA256 keys (at least 32 characters) that map an EHR's
    /// patient id to a pseudonymous person id. Every issuer's tenant needs one.
    pub pseudonym_keys: BTreeMap<String, Secret>,
    /// Key (at least 32 characters) signing the clinician app's short-lived
    /// launch and session tokens. Required when issuers are set.
    pub launch_key: Option<Secret>,
    /// Lifetime of a card's launch token, and of a SMART launch's pending
    /// state (redirect to the EHR until the callback), seconds.
    pub launch_ttl_seconds: u64,
    /// Lifetime of the app session a launch token is exchanged for, seconds.
    pub session_ttl_seconds: u64,
    /// Timeout of one read from an EHR's FHIR server, milliseconds.
    pub fhir_timeout_ms: u64,
    /// PEM file of CA certificates trusted for Tutti's own calls to EHRs
    /// (FHIR reads, SMART discovery, token endpoint, id_token keys) beside
    /// the built-in public roots, for an EHR whose https certificate comes
    /// from a private CA. Read at start-up. Unset: the public roots only.
    pub tls_ca_path: Option<PathBuf>,
    /// Clock skew allowed on JWT `exp`/`nbf`, seconds (at most
    /// [`MAX_JWT_LEEWAY_SECONDS`]).
    pub jwt_leeway_seconds: u64,
    /// Observation codes beyond the built-in LOINC ones.
    pub codes: Vec<CodeMapConfig>,
}

/// An http(s) URL with no trailing slash, so paths are appended and `iss`
/// values compared as they are.
fn is_base_url(url: &str) -> bool {
    (url.starts_with("http://") || url.starts_with("https://")) && !url.ends_with('/')
}

impl Default for EhrConfig {
    fn default() -> Self {
        Self {
            public_url: None,
            issuers: Vec::new(),
            pseudonym_keys: BTreeMap::new(),
            launch_key: None,
            launch_ttl_seconds: 600,
            session_ttl_seconds: 1800,
            fhir_timeout_ms: 3000,
            tls_ca_path: None,
            jwt_leeway_seconds: 30,
            codes: Vec::new(),
        }
    }
}

/// A secret string from the configuration. Its `Debug` form is redacted, so a
/// logged or printed configuration never shows it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The secret's bytes, for keying a MAC.
    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// The secret as text, for a connection string.
    pub fn expose_str(&self) -> &str {
        &self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// One EHR allowed to call the CDS services.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// The JWT `iss` the EHR signs with, exactly.
    pub iss: String,
    /// The tenant its calls act for.
    pub tenant: String,
    /// Its JSON Web Key Set (public keys); re-read when it changes, with the
    /// TLS files (`tls.reload_seconds`, and on SIGHUP).
    pub jwks_path: PathBuf,
    /// The clinician app as a SMART app of this EHR. None: its cards link the
    /// app with Tutti's own launch token.
    #[serde(default)]
    pub smart: Option<SmartConfig>,
}

/// Tutti registered as a SMART on FHIR app (EHR launch) at one EHR. The
/// patient in a launch's context maps to the person its CDS calls map to
/// (same tenant, same issuer in the pseudonym), because the same EHR names
/// the patient in both.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmartConfig {
    /// The EHR's FHIR base URLs that may launch the app (the launch's `iss`),
    /// exactly, without a trailing slash. Only these are ever contacted:
    /// any other `iss` is refused before a request is made.
    pub fhir_base_urls: Vec<String>,
    /// The OAuth 2.0 client id the EHR registered Tutti under.
    pub client_id: String,
    /// Set for a confidential client (HTTP Basic at the token endpoint);
    /// unset: a public client, protected by PKCE alone.
    #[serde(default)]
    pub client_secret: Option<Secret>,
    /// The redirect URI registered at the EHR. Default:
    /// `{ehr.public_url}/ehr/app/callback`.
    #[serde(default)]
    pub redirect_uri: Option<String>,
    /// The scopes asked for. Tutti reads nothing with the access token: it
    /// uses the patient in context and, with `openid`, the verified
    /// `id_token`'s `fhirUser` as the launch's audit principal.
    #[serde(default = "default_smart_scope")]
    pub scope: String,
}

fn default_smart_scope() -> String {
    "launch openid fhirUser patient/Patient.rs".into()
}

/// What an observation code measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeasureKind {
    /// PHQ-9 total, 0-27.
    Phq9,
    /// GAD-7 total, 0-21.
    Gad7,
    /// WHO-5 percentage score, 0-100.
    Who5,
    /// WHO-5 raw score, 0-25 (converted to the percentage score).
    Who5Raw,
    /// OQ-45 total, 0-180.
    Oq45,
    /// Single-item well-being, 0-100.
    Wellbeing,
    /// Single-item distress, 0-100.
    Distress,
    /// PHQ-9 item 9 (or another suicidality item): above zero raises the
    /// suicidality risk flag.
    SuicidalityItem,
}

/// One entry of the configurable observation code map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeMapConfig {
    /// Coding system URI, e.g. `http://loinc.org`.
    pub system: String,
    /// The code.
    pub code: String,
    /// What it measures.
    pub measure: MeasureKind,
}

/// Where data lives: a SQLite file (the default), or a PostgreSQL database
/// that several replicas share (`url`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// SQLite database file (created if missing); unused with `url`.
    pub path: PathBuf,
    /// Largest size of the database file in bytes; a write that would grow it
    /// further is refused with `UNAVAILABLE` (reads go on). Unset: no cap
    /// beyond the disk's. SQLite only.
    pub max_bytes: Option<u64>,
    /// Most concurrent SQLite writes committed together in one transaction
    /// (one fsync): group commit. 1 commits each write on its own. Every
    /// write is acknowledged only after its transaction is on disk. SQLite only.
    pub commit_batch: usize,
    /// Size in MiB past which a SQLite WAL under writes that never pause is
    /// checkpointed on the writer thread and started over (its file trimmed
    /// back to this). Larger: rarer pauses of a few milliseconds for every
    /// queued write (tail latency), more disk. SQLite only.
    pub wal_max_mb: u32,
    /// `postgres://user:password@host:port/database`: store in PostgreSQL
    /// instead of SQLite. Redacted in logs.
    pub url: Option<Secret>,
    /// Most PostgreSQL connections each replica keeps open.
    pub pool_size: usize,
    /// PEM CA certificate(s) that signed the PostgreSQL server's certificate:
    /// set, the connection must be TLS and the server must prove its name.
    pub tls_ca_path: Option<PathBuf>,
    /// Seconds between checks for catalogue changes made by other replicas
    /// (0: never; one process alone needs none).
    pub catalog_poll_seconds: u64,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Logging.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// Output format.
    pub format: LogFormat,
    /// Which events to log, in `tracing_subscriber::EnvFilter` syntax.
    pub filter: String,
}

/// Trace export over OTLP (off unless an endpoint is set).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetryConfig {
    /// OTLP/gRPC collector endpoint, e.g. `http://127.0.0.1:4317`; unset: no export.
    pub otlp_endpoint: Option<String>,
    /// `service.name` of the exported spans.
    pub service_name: String,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            otlp_endpoint: None,
            service_name: "tutti".to_owned(),
        }
    }
}

/// Authentication: API keys and OAuth2 bearer JWTs. Neither configured: auth
/// is off (allowed on loopback only) and the tenant comes from the
/// `x-tutti-tenant` header (or `default`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Accepted keys.
    pub api_keys: Vec<ApiKeyConfig>,
    /// Accepted JWT issuers (OAuth2 access tokens, RS256/RS384/ES256/ES384).
    pub jwt: Vec<JwtIssuerConfig>,
}

impl AuthConfig {
    /// Whether any credential is configured (auth on).
    pub fn enabled(&self) -> bool {
        !self.api_keys.is_empty() || !self.jwt.is_empty()
    }
}

/// What a caller may do. A method needs one role (see `auth::required_role`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read people, assessments, insights and the catalogue.
    Read,
    /// Register people, record assessments and feedback, ask for recommendations.
    Write,
    /// Change the tenant's own catalogue.
    Admin,
    /// Erase a person.
    Erase,
}

impl Role {
    /// Every role (an API key without `roles` has them all).
    pub const ALL: [Role; 4] = [Role::Read, Role::Write, Role::Admin, Role::Erase];

    /// The role's name as configured and as sent in tokens.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Read => "read",
            Role::Write => "write",
            Role::Admin => "admin",
            Role::Erase => "erase",
        }
    }
}

/// One OAuth2 authorization server whose access tokens are accepted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtIssuerConfig {
    /// The token's `iss`, exactly.
    pub issuer: String,
    /// The `aud` the token must carry (this service's identifier at the issuer).
    pub audience: String,
    /// The issuer's public keys (JWK Set file); re-read with the TLS files.
    pub jwks_path: PathBuf,
    /// The claim naming the tenant (a string).
    #[serde(default = "default_tenant_claim")]
    pub tenant_claim: String,
    /// The claim listing roles: an array of strings or a space-separated string.
    #[serde(default = "default_roles_claim")]
    pub roles_claim: String,
    /// Clock skew allowed on `exp` and `nbf`, in seconds.
    #[serde(default = "default_leeway")]
    pub leeway_seconds: u64,
}

fn default_tenant_claim() -> String {
    "tenant".to_owned()
}
fn default_roles_claim() -> String {
    "roles".to_owned()
}
fn default_leeway() -> u64 {
    30
}

/// One accepted API key. Only its SHA-256 is stored, never the key itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyConfig {
    /// Lowercase hex SHA-256 of the key (`printf %s "$KEY" | sha256sum`).
    pub sha256: String,
    /// The tenant the key acts for.
    pub tenant: String,
    /// Who holds the key, as written to the audit log; default `key:<first 12 hex>`.
    #[serde(default)]
    pub principal: Option<String>,
    /// What the key may do; default every role (keys from before roles existed
    /// keep working).
    #[serde(default)]
    pub roles: Option<Vec<Role>>,
}

/// Request limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Largest request or response message, in bytes.
    pub max_message_bytes: usize,
    /// Most assessments in one BatchRecordAssessments call.
    pub max_batch: usize,
    /// Most tenant-API calls in flight at once; past it calls wait up to
    /// `queue_ms`, then are shed with `UNAVAILABLE` and `RetryInfo`.
    pub max_in_flight: usize,
    /// Most calls of one tenant in flight at once; past it that tenant's calls
    /// wait up to `queue_ms`, then are shed with `RESOURCE_EXHAUSTED` and `RetryInfo`.
    pub max_in_flight_per_tenant: usize,
    /// Milliseconds a call may wait for its slots (tenant and global) before it is shed.
    pub queue_ms: u64,
    /// The retry delay suggested to shed callers, in milliseconds.
    pub retry_after_ms: u64,
}

/// Where the trained population model comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    /// An artifact written by `tutti train`, or a directory of them (the
    /// greatest file name wins). Unset: the catalogue's priors.
    pub path: Option<PathBuf>,
    /// Seconds between checks for a new artifact; 0 reloads only on SIGHUP.
    pub poll_seconds: u64,
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            path: None,
            poll_seconds: 30,
        }
    }
}

/// Online pooling: each tenant's population model is refitted, in the
/// background, on its own people's stored states (empirical Bayes over the
/// tenant: population map, rating scale, follow-through, intervention effects
/// relative to the served model, similar-person profiles), so people who are
/// alike teach each other without a `tutti train` run. The served model stays
/// the starting point: parts with too little data keep its values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PoolingConfig {
    /// Off: every tenant is served the configured model as is.
    pub enabled: bool,
    /// People with stored states a tenant needs before its first refit.
    pub min_people: u32,
    /// Recorded assessments and feedback reports before the first refit,
    /// and the least between two refits.
    pub min_writes: u32,
    /// A refit is due when the writes since the last one reach this share of
    /// the evidence (assessments and feedback) that fit used: 0.1 refits a
    /// tenant O(log n) times as it grows.
    pub refit_share: f64,
    /// The most recently updated people a refit reads (bounds its memory and time).
    pub max_people: u32,
    /// Least time between the starts of two refits of one tenant (and at least
    /// nine times as long as the last refit took): under a
    /// burst of writes the refit that falls due waits this long, then reads
    /// everything written meanwhile. 0 = no wait. An erasure never waits.
    pub min_interval_seconds: u64,
}

impl Default for PoolingConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            min_people: 10,
            min_writes: 20,
            refit_share: 0.1,
            max_people: 2000,
            min_interval_seconds: 1,
        }
    }
}

/// Whether a tenant's platform shows Tutti's ranking.
///
/// Shadow mode lets a tenant evaluate the engine before it goes live: every
/// `Recommend` still ranks (same exploration, same logged propensities), but
/// the platform keeps showing its own choice, which the request must name.
/// The decision is logged as shadow with that choice as the action taken, and
/// feedback attaches to the choice. It is a server setting rather than a
/// request field so that a platform cannot put a tenant's log in or out of
/// shadow by accident, one call at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TenantMode {
    /// The platform shows Tutti's ranking.
    #[default]
    Live,
    /// The platform shows its own choice; Tutti's ranking is only logged.
    Shadow,
}

/// One tenant's settings.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TenantConfig {
    /// Live (default) or shadow.
    pub mode: TenantMode,
    /// Overrides of `[engine]` for this tenant: only the keys given change.
    pub engine: serde_json::Map<String, serde_json::Value>,
}

/// Values given on the command line; each set one wins over every other layer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    /// `--listen`.
    pub listen: Option<SocketAddr>,
    /// `--data`.
    pub data: Option<PathBuf>,
    /// `--log-format`.
    pub log_format: Option<LogFormat>,
    /// `--insecure`: plaintext allowed off loopback.
    pub insecure: bool,
}

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The named file does not exist.
    #[error("config file {0} not found")]
    FileNotFound(PathBuf),
    /// A layer could not be read or does not fit the schema.
    #[error("{0}")]
    Load(Box<figment::Error>),
    /// A value is out of range or inconsistent.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            storage: StorageConfig::default(),
            log: LogConfig::default(),
            telemetry: TelemetryConfig::default(),
            auth: AuthConfig::default(),
            limits: LimitsConfig::default(),
            model: ModelConfig::default(),
            pooling: PoolingConfig::default(),
            engine: EngineConfig::default(),
            tenants: BTreeMap::new(),
            http: HttpConfig::default(),
            ehr: EhrConfig::default(),
            tls: TlsConfig::default(),
            shutdown: ShutdownConfig::default(),
            idempotency: IdempotencyConfig::default(),
            audit: AuditConfig::default(),
            metrics: MetricsConfig::default(),
        }
    }
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            path: PathBuf::from("tutti.db"),
            max_bytes: None,
            commit_batch: 64,
            wal_max_mb: 256,
            url: None,
            pool_size: 16,
            tls_ca_path: None,
            catalog_poll_seconds: 5,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            filter: "info".to_owned(),
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_message_bytes: 16 * 1024 * 1024,
            max_batch: 5000,
            max_in_flight: 256,
            max_in_flight_per_tenant: 128,
            queue_ms: 500,
            retry_after_ms: 1000,
        }
    }
}

/// Top-level sections that `TUTTI_<SECTION>[__KEY]` environment variables may set.
const ENV_SECTIONS: &[&str] = &[
    "listen",
    "storage",
    "log",
    "telemetry",
    "auth",
    "limits",
    "model",
    "engine",
    "tenants",
    "http",
    "ehr",
    "tls",
    "shutdown",
    "idempotency",
    "audit",
    "metrics",
];

impl Overrides {
    fn into_value(self) -> serde_json::Value {
        let mut root = serde_json::Map::new();
        if let Some(listen) = self.listen {
            root.insert("listen".into(), listen.to_string().into());
        }
        if let Some(data) = self.data {
            root.insert(
                "storage".into(),
                serde_json::json!({ "path": data.to_string_lossy() }),
            );
        }
        if let Some(format) = self.log_format {
            root.insert("log".into(), serde_json::json!({ "format": format }));
        }
        if self.insecure {
            root.insert("tls".into(), serde_json::json!({ "insecure": true }));
        }
        serde_json::Value::Object(root)
    }
}

impl Config {
    /// Loads the layered configuration: defaults, then `file` (if given; it must
    /// exist), then `TUTTI_*` environment variables, then `overrides`; and
    /// validates it.
    pub fn load(file: Option<&Path>, overrides: Overrides) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            if !file.is_file() {
                return Err(ConfigError::FileNotFound(file.to_owned()));
            }
            figment = figment.merge(Toml::file_exact(file));
        }
        let config: Config = figment
            // TUTTI_CONFIG names the file (a flag's env fallback), not a key.
            .merge(
                // Only variables naming a config section are read, so an
                // unrelated `TUTTI_*` variable in a platform's environment
                // cannot stop the server; a typo inside a section still fails.
                Env::prefixed("TUTTI_").split("__").filter(|key| {
                    let section = key.as_str().split(['.', '_']).next().unwrap_or_default();
                    ENV_SECTIONS.iter().any(|s| section.eq_ignore_ascii_case(s))
                }),
            )
            .merge(Serialized::defaults(overrides.into_value()))
            .extract()
            .map_err(|e| ConfigError::Load(Box::new(e)))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks every value; the error names the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |msg: String| Err(ConfigError::Invalid(msg));
        if self.storage.path.as_os_str().is_empty() {
            return invalid("storage.path must not be empty".into());
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log.filter) {
            return invalid(format!("log.filter: {e}"));
        }
        if let Some(endpoint) = &self.telemetry.otlp_endpoint
            && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
        {
            return invalid("telemetry.otlp_endpoint must be an http:// or https:// URL".into());
        }
        if self.telemetry.service_name.is_empty() {
            return invalid("telemetry.service_name must not be empty".into());
        }
        const MIN_MESSAGE: usize = 4 * 1024;
        const MAX_MESSAGE: usize = 1024 * 1024 * 1024;
        if !(MIN_MESSAGE..=MAX_MESSAGE).contains(&self.limits.max_message_bytes) {
            return invalid(format!(
                "limits.max_message_bytes must be in {MIN_MESSAGE}..={MAX_MESSAGE}"
            ));
        }
        if !(1..=100_000).contains(&self.limits.max_batch) {
            return invalid("limits.max_batch must be in 1..=100000".into());
        }
        let p = &self.pooling;
        if !(2..=1_000_000).contains(&p.min_people) {
            return invalid("pooling.min_people must be in 2..=1000000".into());
        }
        if !(1..=1_000_000).contains(&p.min_writes) {
            return invalid("pooling.min_writes must be in 1..=1000000".into());
        }
        if !(p.refit_share.is_finite() && (0.01..=10.0).contains(&p.refit_share)) {
            return invalid("pooling.refit_share must be in 0.01..=10".into());
        }
        if p.min_interval_seconds > 86_400 {
            return invalid("pooling.min_interval_seconds must be in 0..=86400".into());
        }
        if !(p.min_people..=100_000).contains(&p.max_people) {
            return invalid("pooling.max_people must be in pooling.min_people..=100000".into());
        }
        if self.model.poll_seconds > 86_400 {
            return invalid("model.poll_seconds must be in 0..=86400".into());
        }
        if self
            .model
            .path
            .as_ref()
            .is_some_and(|p| p.as_os_str().is_empty())
        {
            return invalid("model.path must not be empty when set".into());
        }
        if let Err(e) = self.engine.validate() {
            return invalid(format!("engine: {e}"));
        }
        for tenant in self.tenants.keys() {
            if TenantId::parse(tenant).is_err() {
                return invalid(format!(
                    "tenants.{tenant}: tenant ids are 1-64 of [A-Za-z0-9_-]"
                ));
            }
            self.engine_for(tenant)?;
        }
        let mut hashes = HashSet::new();
        for (i, key) in self.auth.api_keys.iter().enumerate() {
            let at = format!("auth.api_keys[{i}]");
            let hex = key.sha256.len() == 64
                && key
                    .sha256
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            if !hex {
                return invalid(format!(
                    "{at}.sha256 must be 64 lowercase hex digits (the SHA-256 of the key, not the key)"
                ));
            }
            if !hashes.insert(key.sha256.as_str()) {
                return invalid(format!("{at}.sha256 is listed twice"));
            }
            if TenantId::parse(&key.tenant).is_err() {
                return invalid(format!("{at}.tenant must be 1-64 of [A-Za-z0-9_-]"));
            }
            if let Some(p) = &key.principal
                && (p.is_empty() || p.len() > 128 || p.chars().any(char::is_control))
            {
                return invalid(format!("{at}.principal must be 1-128 printable characters"));
            }
        }
        self.validate_http()?;
        self.validate_ehr()?;
        self.validate_security()
    }

    /// Transport security, bearer JWTs, limits and lifecycle settings.
    fn validate_security(&self) -> Result<(), ConfigError> {
        let invalid = |msg: String| Err(ConfigError::Invalid(msg));
        let tls = &self.tls;
        if tls.cert_path.is_some() != tls.key_path.is_some() {
            return invalid("tls.cert_path and tls.key_path must be set together".into());
        }
        if tls.client_ca_path.is_some() && !tls.enabled() {
            return invalid("tls.client_ca_path needs tls.cert_path and tls.key_path".into());
        }
        if tls.reload_seconds > 86_400 {
            return invalid("tls.reload_seconds must be in 0..=86400".into());
        }
        let loopback = self.listen.ip().is_loopback();
        if !loopback && !tls.enabled() && !tls.insecure {
            return invalid(format!(
                "listen = {}: plaintext off loopback is refused; set tls.cert_path and tls.key_path, or tls.insecure = true (--insecure) behind a TLS-terminating proxy",
                self.listen
            ));
        }
        if !loopback && !self.auth.enabled() {
            return invalid(format!(
                "listen = {}: a non-loopback address needs authentication; configure auth.api_keys or auth.jwt",
                self.listen
            ));
        }
        let mut issuers = HashSet::new();
        for (i, j) in self.auth.jwt.iter().enumerate() {
            let at = format!("auth.jwt[{i}]");
            if j.issuer.trim().is_empty() || j.audience.trim().is_empty() {
                return invalid(format!("{at}: issuer and audience must not be empty"));
            }
            if !issuers.insert(j.issuer.as_str()) {
                return invalid(format!("{at}.issuer is listed twice"));
            }
            if j.jwks_path.as_os_str().is_empty() {
                return invalid(format!("{at}.jwks_path must not be empty"));
            }
            if j.tenant_claim.is_empty() || j.roles_claim.is_empty() {
                return invalid(format!(
                    "{at}: tenant_claim and roles_claim must not be empty"
                ));
            }
            if j.leeway_seconds > 300 {
                return invalid(format!("{at}.leeway_seconds must be in 0..=300"));
            }
        }
        for (i, k) in self.auth.api_keys.iter().enumerate() {
            if k.roles.as_ref().is_some_and(Vec::is_empty) {
                return invalid(format!(
                    "auth.api_keys[{i}].roles must name at least one role (or be left out for all)"
                ));
            }
        }
        let l = &self.limits;
        if !(1..=100_000).contains(&l.max_in_flight) {
            return invalid("limits.max_in_flight must be in 1..=100000".into());
        }
        if !(1..=100_000).contains(&l.max_in_flight_per_tenant) {
            return invalid("limits.max_in_flight_per_tenant must be in 1..=100000".into());
        }
        if l.queue_ms > 60_000 {
            return invalid("limits.queue_ms must be in 0..=60000".into());
        }
        if !(1..=3_600_000).contains(&l.retry_after_ms) {
            return invalid("limits.retry_after_ms must be in 1..=3600000".into());
        }
        if self.shutdown.drain_seconds > 3600 || self.shutdown.grace_seconds > 3600 {
            return invalid(
                "shutdown.drain_seconds and shutdown.grace_seconds must be in 0..=3600".into(),
            );
        }
        if !(1..=366 * 24 * 3600).contains(&self.idempotency.ttl_seconds) {
            return invalid("idempotency.ttl_seconds must be in 1..=31622400 (a year)".into());
        }
        if !(1..=86_400).contains(&self.idempotency.sweep_seconds) {
            return invalid("idempotency.sweep_seconds must be in 1..=86400".into());
        }
        if !(1..=3600).contains(&self.audit.summary_seconds) {
            return invalid("audit.summary_seconds must be in 1..=3600".into());
        }
        if !(1..=3600).contains(&self.metrics.export_seconds) {
            return invalid("metrics.export_seconds must be in 1..=3600".into());
        }
        if self.metrics.listen.is_some_and(|a| a == self.listen) {
            return invalid("metrics.listen must differ from listen".into());
        }
        if self.storage.max_bytes.is_some_and(|b| b < 1024 * 1024) {
            return invalid("storage.max_bytes must be at least 1048576 (1 MiB)".into());
        }
        self.validate_storage()
    }

    fn validate_storage(&self) -> Result<(), ConfigError> {
        let invalid = |msg: String| Err(ConfigError::Invalid(msg));
        let s = &self.storage;
        if !(1..=4096).contains(&s.commit_batch) {
            return invalid("storage.commit_batch must be in 1..=4096".into());
        }
        if !(4..=65_536).contains(&s.wal_max_mb) {
            return invalid("storage.wal_max_mb must be in 4..=65536".into());
        }
        if !(1..=1024).contains(&s.pool_size) {
            return invalid("storage.pool_size must be in 1..=1024".into());
        }
        match &s.url {
            None => {
                if s.tls_ca_path.is_some() {
                    return invalid("storage.tls_ca_path needs storage.url (PostgreSQL)".into());
                }
            }
            Some(url) => {
                let url = url.expose_str();
                if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                    return invalid(
                        "storage.url must start with postgres:// or postgresql://".into(),
                    );
                }
                if let Err(e) = url.parse::<tokio_postgres::Config>() {
                    // The parser's message never echoes the password.
                    return invalid(format!("storage.url: {e}"));
                }
                if s.max_bytes.is_some() {
                    return invalid(
                        "storage.max_bytes caps a SQLite file; with storage.url set PostgreSQL's own limits apply".into(),
                    );
                }
            }
        }
        Ok(())
    }

    fn validate_http(&self) -> Result<(), ConfigError> {
        for (i, origin) in self.http.cors_origins.iter().enumerate() {
            let ok = origin == "*"
                || ((origin.starts_with("http://") || origin.starts_with("https://"))
                    && !origin.ends_with('/')
                    && http::HeaderValue::from_str(origin).is_ok());
            if !ok {
                return Err(ConfigError::Invalid(format!(
                    "http.cors_origins[{i}] must be \"*\" or an origin like https://host[:port] (no path, no trailing slash)"
                )));
            }
        }
        Ok(())
    }

    fn validate_ehr(&self) -> Result<(), ConfigError> {
        let invalid = |msg: String| Err(ConfigError::Invalid(msg));
        let ehr = &self.ehr;
        const MIN_KEY: usize = 32;
        if let Some(url) = &ehr.public_url
            && !is_base_url(url)
        {
            return invalid(
                "ehr.public_url must be an http:// or https:// URL without a trailing slash".into(),
            );
        }
        if let Some(k) = &ehr.launch_key
            && k.len() < MIN_KEY
        {
            return invalid(format!(
                "ehr.launch_key must be at least {MIN_KEY} characters"
            ));
        }
        for (tenant, key) in &ehr.pseudonym_keys {
            if TenantId::parse(tenant).is_err() {
                return invalid(format!(
                    "ehr.pseudonym_keys.{tenant}: tenant ids are 1-64 of [A-Za-z0-9_-]"
                ));
            }
            if key.len() < MIN_KEY {
                return invalid(format!(
                    "ehr.pseudonym_keys.{tenant} must be at least {MIN_KEY} characters"
                ));
            }
        }
        if !(60..=3600).contains(&ehr.launch_ttl_seconds) {
            return invalid("ehr.launch_ttl_seconds must be in 60..=3600".into());
        }
        if !(60..=43_200).contains(&ehr.session_ttl_seconds) {
            return invalid("ehr.session_ttl_seconds must be in 60..=43200".into());
        }
        if !(100..=30_000).contains(&ehr.fhir_timeout_ms) {
            return invalid("ehr.fhir_timeout_ms must be in 100..=30000".into());
        }
        if ehr
            .tls_ca_path
            .as_ref()
            .is_some_and(|p| p.as_os_str().is_empty())
        {
            return invalid("ehr.tls_ca_path must not be empty when set".into());
        }
        if ehr.jwt_leeway_seconds > MAX_JWT_LEEWAY_SECONDS {
            return invalid(format!(
                "ehr.jwt_leeway_seconds must be in 0..={MAX_JWT_LEEWAY_SECONDS}"
            ));
        }
        let mut seen = HashSet::new();
        let mut fhir_bases = HashSet::new();
        for (i, issuer) in ehr.issuers.iter().enumerate() {
            let at = format!("ehr.issuers[{i}]");
            if issuer.iss.trim().is_empty() {
                return invalid(format!("{at}.iss must not be empty"));
            }
            if !seen.insert(issuer.iss.as_str()) {
                return invalid(format!("{at}.iss is listed twice"));
            }
            if TenantId::parse(&issuer.tenant).is_err() {
                return invalid(format!("{at}.tenant must be 1-64 of [A-Za-z0-9_-]"));
            }
            if !ehr.pseudonym_keys.contains_key(&issuer.tenant) {
                return invalid(format!(
                    "{at}: tenant `{}` has no ehr.pseudonym_keys entry",
                    issuer.tenant
                ));
            }
            if issuer.jwks_path.as_os_str().is_empty() {
                return invalid(format!("{at}.jwks_path must not be empty"));
            }
            if let Some(smart) = &issuer.smart {
                let at = format!("{at}.smart");
                if smart.fhir_base_urls.is_empty() {
                    return invalid(format!("{at}.fhir_base_urls must not be empty"));
                }
                for (j, url) in smart.fhir_base_urls.iter().enumerate() {
                    if !is_base_url(url) {
                        return invalid(format!(
                            "{at}.fhir_base_urls[{j}] must be an http:// or https:// URL without a trailing slash"
                        ));
                    }
                    // One `iss` launches for one tenant and one pseudonym issuer.
                    if !fhir_bases.insert(url.as_str()) {
                        return invalid(format!("{at}.fhir_base_urls[{j}] is listed twice"));
                    }
                }
                if smart.client_id.trim().is_empty() {
                    return invalid(format!("{at}.client_id must not be empty"));
                }
                if smart.client_secret.as_ref().is_some_and(Secret::is_empty) {
                    return invalid(format!("{at}.client_secret must not be empty when set"));
                }
                if let Some(uri) = &smart.redirect_uri
                    && !(uri.starts_with("http://") || uri.starts_with("https://"))
                {
                    return invalid(format!(
                        "{at}.redirect_uri must be an http:// or https:// URL"
                    ));
                }
                if !smart.scope.split_whitespace().any(|s| s == "launch") {
                    return invalid(format!("{at}.scope must include `launch` (EHR launch)"));
                }
            }
        }
        if !ehr.issuers.is_empty() {
            if ehr.public_url.is_none() {
                return invalid("ehr.public_url is required when ehr.issuers are set".into());
            }
            if ehr.launch_key.is_none() {
                return invalid("ehr.launch_key is required when ehr.issuers are set".into());
            }
        }
        let mut codes = HashSet::new();
        for (i, c) in ehr.codes.iter().enumerate() {
            if c.system.trim().is_empty() || c.code.trim().is_empty() {
                return invalid(format!("ehr.codes[{i}]: system and code must not be empty"));
            }
            if !codes.insert((c.system.as_str(), c.code.as_str())) {
                return invalid(format!("ehr.codes[{i}] is listed twice"));
            }
        }
        Ok(())
    }

    /// The tenant's mode; tenants not listed are live.
    pub fn mode_for(&self, tenant: &str) -> TenantMode {
        self.tenants
            .get(tenant)
            .map_or(TenantMode::Live, |t| t.mode)
    }

    /// The engine configuration for `tenant`: `[engine]` with the tenant's overrides.
    pub fn engine_for(&self, tenant: &str) -> Result<EngineConfig, ConfigError> {
        let Some(overrides) = self.tenants.get(tenant).filter(|t| !t.engine.is_empty()) else {
            return Ok(self.engine.clone());
        };
        let bad = |e: &dyn std::fmt::Display| {
            ConfigError::Invalid(format!("tenants.{tenant}.engine: {e}"))
        };
        let mut merged = serde_json::to_value(&self.engine).map_err(|e| bad(&e))?;
        if let serde_json::Value::Object(map) = &mut merged {
            for (k, v) in overrides.engine.clone() {
                map.insert(k, v);
            }
        }
        let config: EngineConfig = serde_json::from_value(merged).map_err(|e| bad(&e))?;
        config.validate().map_err(|e| bad(&e))?;
        Ok(config)
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail fixes the closures' error type
mod tests {
    use super::*;
    use figment::Jail;

    #[test]
    fn defaults_need_no_file_and_are_valid() {
        let c = Config::default();
        assert_eq!(c.listen, "127.0.0.1:50051".parse().expect("addr"));
        assert_eq!(c.storage.path, PathBuf::from("tutti.db"));
        assert_eq!(c.limits.max_message_bytes, 16 * 1024 * 1024);
        assert_eq!(c.limits.max_batch, 5000);
        assert!(c.auth.api_keys.is_empty());
        c.validate().expect("defaults are valid");
    }

    #[test]
    fn pooling_settings_out_of_range_are_refused_by_name() {
        type Break = fn(&mut PoolingConfig);
        let cases: [(&str, Break); 5] = [
            ("pooling.min_people", |p| p.min_people = 1),
            ("pooling.min_writes", |p| p.min_writes = 0),
            ("pooling.refit_share", |p| p.refit_share = f64::NAN),
            ("pooling.min_interval_seconds", |p| {
                p.min_interval_seconds = 86_401
            }),
            ("pooling.max_people", |p| p.max_people = 5),
        ];
        for (key, break_it) in cases {
            let mut c = Config::default();
            break_it(&mut c.pooling);
            let e = c.validate().expect_err(key);
            assert!(e.to_string().contains(key), "{key}: {e}");
        }
    }

    #[test]
    fn off_loopback_needs_tls_or_insecure_and_authentication() {
        let mut c = Config {
            listen: "0.0.0.0:50051".parse().expect("addr"),
            ..Config::default()
        };
        let e = c.validate().expect_err("plaintext off loopback");
        assert!(e.to_string().contains("tls.insecure"), "{e}");
        c.tls.insecure = true;
        let e = c.validate().expect_err("no auth off loopback");
        assert!(e.to_string().contains("authentication"), "{e}");
        c.auth.api_keys.push(ApiKeyConfig {
            sha256: "a".repeat(64),
            tenant: "acme".into(),
            principal: None,
            roles: None,
        });
        c.validate().expect("insecure with auth");
        c.tls.cert_path = Some("cert.pem".into());
        assert!(c.validate().is_err(), "cert without key");
    }

    #[test]
    fn unrelated_tutti_env_vars_are_ignored_but_section_typos_fail() {
        Jail::expect_with(|jail| {
            jail.set_env("TUTTI_ADDR", "127.0.0.1:1");
            jail.set_env("TUTTI_LIMITS__MAX_BATCH", "7");
            let c = Config::load(None, Overrides::default()).expect("loads");
            assert_eq!(c.limits.max_batch, 7);
            jail.set_env("TUTTI_LIMITS__MAX_BACTH", "7");
            assert!(Config::load(None, Overrides::default()).is_err());
            Ok(())
        });
    }

    #[test]
    fn layers_apply_in_order_file_env_flags() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "tutti.toml",
                r#"
                listen = "127.0.0.1:6000"
                [storage]
                path = "from-file.db"
                [log]
                format = "json"
                filter = "debug"
                [engine]
                exploration = 0.2
                "#,
            )?;
            jail.set_env("TUTTI_STORAGE__PATH", "from-env.db");
            jail.set_env("TUTTI_LIMITS__MAX_BATCH", "100");
            jail.set_env("TUTTI_CONFIG", "ignored-here.toml");
            let c = Config::load(
                Some(Path::new("tutti.toml")),
                Overrides {
                    listen: Some("127.0.0.1:7000".parse().expect("addr")),
                    ..Overrides::default()
                },
            )
            .expect("loads");
            assert_eq!(c.listen, "127.0.0.1:7000".parse().expect("addr"));
            assert_eq!(c.storage.path, PathBuf::from("from-env.db"));
            assert_eq!(c.log.format, LogFormat::Json);
            assert_eq!(c.log.filter, "debug");
            assert_eq!(c.limits.max_batch, 100);
            assert_eq!(c.engine.exploration, 0.2);

            let flagged = Config::load(
                Some(Path::new("tutti.toml")),
                Overrides {
                    data: Some("from-flag.db".into()),
                    log_format: Some(LogFormat::Text),
                    ..Overrides::default()
                },
            )
            .expect("loads");
            assert_eq!(flagged.storage.path, PathBuf::from("from-flag.db"));
            assert_eq!(flagged.log.format, LogFormat::Text);
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_and_missing_files_are_errors() {
        Jail::expect_with(|jail| {
            jail.create_file("bad.toml", "lisen = \"127.0.0.1:1\"")?;
            let e = Config::load(Some(Path::new("bad.toml")), Overrides::default())
                .expect_err("unknown key");
            assert!(e.to_string().contains("lisen"), "{e}");
            let e = Config::load(Some(Path::new("missing.toml")), Overrides::default())
                .expect_err("missing file");
            assert!(matches!(e, ConfigError::FileNotFound(_)));
            Ok(())
        });
    }

    #[test]
    fn tenant_engine_overrides_merge_over_the_global_engine() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "t.toml",
                r#"
                [engine]
                exploration = 0.2
                diversity = 0.4
                [tenants.acme.engine]
                exploration = 0.05
                "#,
            )?;
            let c = Config::load(Some(Path::new("t.toml")), Overrides::default()).expect("loads");
            let acme = c.engine_for("acme").expect("valid");
            assert_eq!(acme.exploration, 0.05);
            assert_eq!(acme.diversity, 0.4);
            assert_eq!(c.engine_for("other").expect("valid").exploration, 0.2);
            Ok(())
        });
    }

    #[test]
    fn tenant_mode_defaults_to_live_and_rejects_unknown_modes() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "m.toml",
                r#"
                [tenants.acme]
                mode = "shadow"
                [tenants.acme.engine]
                exploration = 0.05
                [tenants.beta.engine]
                exploration = 0.1
                "#,
            )?;
            let c = Config::load(Some(Path::new("m.toml")), Overrides::default()).expect("loads");
            assert_eq!(c.mode_for("acme"), TenantMode::Shadow);
            assert_eq!(c.engine_for("acme").expect("valid").exploration, 0.05);
            assert_eq!(c.mode_for("beta"), TenantMode::Live);
            assert_eq!(c.mode_for("unlisted"), TenantMode::Live);
            jail.create_file("bad.toml", "[tenants.acme]\nmode = \"dark\"\n")?;
            let e = Config::load(Some(Path::new("bad.toml")), Overrides::default())
                .expect_err("unknown mode");
            assert!(e.to_string().contains("dark"), "{e}");
            Ok(())
        });
    }

    #[test]
    fn ehr_settings_are_checked_and_secrets_are_redacted() {
        let mut c = Config::default();
        c.ehr.issuers.push(IssuerConfig {
            iss: "https://ehr".into(),
            tenant: "acme".into(),
            jwks_path: "jwks.json".into(),
            smart: None,
        });
        let e = c.validate().expect_err("no pseudonym key");
        assert!(e.to_string().contains("ehr.pseudonym_keys"), "{e}");
        c.ehr
            .pseudonym_keys
            .insert("acme".into(), Secret::new("short"));
        let e = c.validate().expect_err("short key");
        assert!(e.to_string().contains("ehr.pseudonym_keys.acme"), "{e}");
        c.ehr
            .pseudonym_keys
            .insert("acme".into(), Secret::new("k".repeat(40)));
        let e = c.validate().expect_err("no public url");
        assert!(e.to_string().contains("ehr.public_url"), "{e}");
        c.ehr.public_url = Some("https://tutti.example/".into());
        assert!(c.validate().is_err(), "trailing slash");
        c.ehr.public_url = Some("https://tutti.example".into());
        c.ehr.launch_key = Some(Secret::new("l".repeat(40)));
        c.validate().expect("valid");
        c.ehr.tls_ca_path = Some(PathBuf::new());
        let e = c.validate().expect_err("empty CA path");
        assert!(e.to_string().contains("ehr.tls_ca_path"), "{e}");
        c.ehr.tls_ca_path = None;
        assert!(
            !format!("{c:?}").contains("kkkk"),
            "secrets are redacted in Debug"
        );
        let smart = SmartConfig {
            fhir_base_urls: vec!["https://ehr/fhir".into()],
            client_id: "tutti".into(),
            client_secret: Some(Secret::new("ssssssss")),
            redirect_uri: None,
            scope: default_smart_scope(),
        };
        c.ehr.issuers[0].smart = Some(smart.clone());
        c.validate().expect("valid with SMART");
        assert!(!format!("{c:?}").contains("ssss"), "the client secret too");
        let smart_error = |f: &dyn Fn(&mut SmartConfig)| {
            let mut c = c.clone();
            let mut s = smart.clone();
            f(&mut s);
            c.ehr.issuers[0].smart = Some(s);
            c.validate().expect_err("invalid").to_string()
        };
        assert!(smart_error(&|s| s.fhir_base_urls.clear()).contains("smart.fhir_base_urls"));
        assert!(
            smart_error(&|s| s.fhir_base_urls = vec!["https://ehr/fhir/".into()])
                .contains("smart.fhir_base_urls[0]")
        );
        assert!(
            smart_error(&|s| s.fhir_base_urls.push("https://ehr/fhir".into()))
                .contains("listed twice")
        );
        assert!(smart_error(&|s| s.client_id = " ".into()).contains("smart.client_id"));
        assert!(smart_error(&|s| s.scope = "openid".into()).contains("smart.scope"));
        assert!(
            smart_error(&|s| s.redirect_uri = Some("tutti.example/cb".into()))
                .contains("smart.redirect_uri")
        );
        c.http.cors_origins = vec!["https://ehr.example/".into()];
        let e = c.validate().expect_err("origin with a path");
        assert!(e.to_string().contains("http.cors_origins[0]"), "{e}");
    }

    #[test]
    fn an_issuers_smart_table_loads_from_the_file_with_its_defaults() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "tutti.toml",
                r#"
                [ehr]
                public_url = "https://tutti.example"
                launch_key = "llllllllllllllllllllllllllllllllllll"
                [[ehr.issuers]]
                iss = "https://ehr"
                tenant = "acme"
                jwks_path = "jwks.json"
                [ehr.issuers.smart]
                fhir_base_urls = ["https://ehr/fhir/r4"]
                client_id = "tutti"
                [ehr.pseudonym_keys]
                acme = "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
                "#,
            )?;
            let c =
                Config::load(Some(Path::new("tutti.toml")), Overrides::default()).expect("loads");
            let smart = c.ehr.issuers[0].smart.clone().expect("smart");
            assert_eq!(smart.fhir_base_urls, ["https://ehr/fhir/r4"]);
            assert_eq!(
                (
                    smart.client_secret,
                    smart.redirect_uri,
                    smart.scope.as_str()
                ),
                (None, None, "launch openid fhirUser patient/Patient.rs")
            );
            jail.create_file(
                "typo.toml",
                r#"
                [[ehr.issuers]]
                iss = "https://ehr"
                tenant = "acme"
                jwks_path = "jwks.json"
                [ehr.issuers.smart]
                fhir_base_urls = ["https://ehr/fhir/r4"]
                client_id = "tutti"
                redirect_url = "https://tutti.example/cb"
                "#,
            )?;
            let e = Config::load(Some(Path::new("typo.toml")), Overrides::default())
                .expect_err("unknown key");
            assert!(e.to_string().contains("redirect_url"), "{e}");
            Ok(())
        });
    }

    #[test]
    fn storage_keys_are_checked_and_the_url_is_redacted() {
        let mut c = Config::default();
        c.storage.url = Some(Secret::new("postgres://tutti:hunter2@db.example.org/tutti"));
        assert!(c.validate().is_ok());
        assert!(
            !format!("{c:?}").contains("hunter2"),
            "the password never shows"
        );
        let bad = |f: &dyn Fn(&mut Config)| {
            let mut c = Config::default();
            f(&mut c);
            c.validate().expect_err("invalid").to_string()
        };
        assert!(bad(&|c| c.storage.url = Some(Secret::new("mysql://x/y"))).contains("storage.url"));
        assert!(
            bad(&|c| {
                c.storage.url = Some(Secret::new("postgres://x/y"));
                c.storage.max_bytes = Some(1 << 30);
            })
            .contains("storage.max_bytes")
        );
        assert!(
            bad(&|c| c.storage.tls_ca_path = Some("ca.pem".into())).contains("storage.tls_ca_path")
        );
        assert!(bad(&|c| c.storage.commit_batch = 0).contains("storage.commit_batch"));
        assert!(bad(&|c| c.storage.wal_max_mb = 1).contains("storage.wal_max_mb"));
        assert!(bad(&|c| c.storage.pool_size = 0).contains("storage.pool_size"));
    }

    #[test]
    fn bad_values_fail_validation_with_the_key_named() {
        let mut c = Config::default();
        c.engine.exploration = 2.0;
        let e = c.validate().expect_err("engine");
        assert!(e.to_string().contains("exploration"), "{e}");

        let mut c = Config::default();
        c.tenants.insert(
            "acme".into(),
            TenantConfig {
                engine: serde_json::from_str(r#"{"explorashun": 0.1}"#).expect("json"),
                ..TenantConfig::default()
            },
        );
        let e = c.validate().expect_err("typo in tenant engine");
        assert!(e.to_string().contains("tenants.acme.engine"), "{e}");

        let mut c = Config::default();
        c.auth.api_keys.push(ApiKeyConfig {
            sha256: "my-plain-secret".into(),
            tenant: "acme".into(),
            principal: None,
            roles: None,
        });
        let e = c.validate().expect_err("plain key");
        assert!(e.to_string().contains("auth.api_keys[0].sha256"), "{e}");

        let mut c = Config::default();
        c.limits.max_batch = 0;
        assert!(c.validate().is_err());
        let mut c = Config::default();
        c.log.filter = "info,[".into();
        assert!(c.validate().is_err());
    }
}
