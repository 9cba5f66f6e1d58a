//! The EHR integration: HTTP routes served beside gRPC on the same port (the
//! tonic router is an axum router underneath; [`router`] is merged into it).
//!
//! - [`cds`]: CDS Hooks 2.0.1 discovery, services (`patient-view`,
//!   `encounter-start`) and feedback, authenticated by the EHR's JWT ([`jwt`]),
//!   patients mapped to pseudonymous people ([`pseudonym`]).
//! - [`fhir`]: FHIR R4 resources read into assessments; [`ingest`] stores them
//!   (the REST route here and `PeopleService.IngestFhir` share it);
//!   [`fhir_client`] reads from an EHR's FHIR server when a prefetch is missing.
//! - [`app`]: the clinician's app (opened from the card's link), its static
//!   page and its small JSON API; [`launch`] signs its tokens; [`smart`]
//!   launches it as a SMART app (EHR launch, OAuth 2.0 with PKCE) where the
//!   EHR is configured for that, and [`id_token`] checks the OpenID Connect
//!   `id_token` of such a launch (who signed in).
//!
//! Each route does what a gRPC method does (authenticate, parse into the same
//! commands, call the same handlers of [`crate::service`], convert back), so a CDS card and a
//! `Recommend` call log their decision through one code path. Errors become
//! HTTP responses in one place, [`EhrError`]'s `IntoResponse`. Every
//! tenant-scoped route writes an audit row like the gRPC API does. Bodies,
//! tokens and patient details are never logged: handlers log pseudonymous ids
//! and counts only.

pub mod app;
pub mod cds;
pub mod fhir;
pub mod fhir_client;
pub mod id_token;
pub mod ingest;
pub mod jwt;
pub mod launch;
pub mod pseudonym;
pub mod smart;

use crate::audit::{AuditNote, AuditSink};
use crate::auth::Authenticator;
use crate::config::EhrConfig;
use crate::error::ServiceError;
use crate::service::App;
use crate::telemetry::{TraceId, call_id};
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use fhir::Issue;
use std::sync::Arc;
use tonic::Code;

/// What the EHR routes share.
#[derive(Debug)]
pub struct Ehr {
    /// The gRPC handlers' shared state (storage, engines, limits).
    pub app: Arc<App>,
    /// The `[ehr]` configuration.
    pub config: EhrConfig,
    /// CDS client JWT verification.
    pub auth: Arc<jwt::CdsAuth>,
    /// API-key authentication, as for gRPC (the REST ingest route).
    pub keys: Authenticator,
    /// Launch and session tokens of the clinician app.
    pub launch: launch::Launcher,
    /// Reads from EHR FHIR servers.
    pub fhir: fhir_client::FhirClient,
    /// EHRs' OpenID Connect keys, fetched for SMART launches' id_tokens.
    pub id_token_keys: id_token::KeyCache,
    /// Where audit rows go.
    pub audit: AuditSink,
    /// Observation codes FHIR ingest understands.
    pub fhir_codes: Arc<fhir::CodeMap>,
}

impl Ehr {
    /// Unix seconds now (the one clock read of the EHR routes).
    pub fn now_secs(&self) -> i64 {
        self.app.now().0.div_euclid(1000)
    }

    /// Takes a single-use token's id (a CDS client's `jti`, a launch token's)
    /// in the storage, so it is refused as `refusal` on every replica once
    /// used; claims that expired before `expired_before` are free again.
    pub async fn claim_once(
        &self,
        tenant: &crate::convert::ids::TenantId,
        issuer: &str,
        jti: &str,
        expires_at: i64,
        expired_before: i64,
        refusal: &'static str,
    ) -> Result<(), EhrError> {
        let claimed = self
            .app
            .storage
            .claim_token(tenant, issuer, jti, expires_at, expired_before)
            .await
            .map_err(|e| EhrError::Service(e.into()))?;
        if claimed {
            Ok(())
        } else {
            Err(EhrError::Unauthorized(refusal))
        }
    }
}

/// Why an EHR route failed; the one place these become HTTP responses.
#[derive(Debug)]
pub enum EhrError {
    /// Authentication failed: a bare 401, no body, the reason only in the log.
    Unauthorized(&'static str),
    /// The request is malformed or the FHIR in it invalid (400, OperationOutcome).
    Invalid(Vec<Issue>),
    /// Data the service needs cannot be had (412, OperationOutcome).
    Precondition(String),
    /// No such service or resource (404, OperationOutcome).
    NotFound(String),
    /// The EHR's own server answered unusably (502, OperationOutcome).
    Upstream(String),
    /// A service-layer error, mapped through its gRPC status.
    Service(ServiceError),
}

impl From<ServiceError> for EhrError {
    fn from(e: ServiceError) -> Self {
        EhrError::Service(e)
    }
}

impl From<ingest::IngestError> for EhrError {
    fn from(e: ingest::IngestError) -> Self {
        match e {
            ingest::IngestError::Fhir(issues) => EhrError::Invalid(issues),
            ingest::IngestError::Service(e) => EhrError::Service(e),
        }
    }
}

fn outcome(status: StatusCode, code: &str, issues: &[Issue]) -> Response {
    let body = fhir::operation_outcome(issues, code);
    let mut response = (status, axum::Json(body)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/fhir+json"),
    );
    response
}

fn issue(expression: &str, diagnostics: impl Into<String>) -> Vec<Issue> {
    vec![Issue {
        expression: expression.to_owned(),
        diagnostics: diagnostics.into(),
    }]
}

impl IntoResponse for EhrError {
    fn into_response(self) -> Response {
        match self {
            EhrError::Unauthorized(reason) => {
                tracing::info!(reason, "ehr call refused");
                StatusCode::UNAUTHORIZED.into_response()
            }
            EhrError::Invalid(issues) => outcome(StatusCode::BAD_REQUEST, "invalid", &issues),
            EhrError::Precondition(msg) => outcome(
                StatusCode::PRECONDITION_FAILED,
                "not-found",
                &issue("prefetch", msg),
            ),
            EhrError::NotFound(what) => outcome(
                StatusCode::NOT_FOUND,
                "not-found",
                &issue("", format!("{what} not found")),
            ),
            EhrError::Upstream(msg) => {
                outcome(StatusCode::BAD_GATEWAY, "exception", &issue("", msg))
            }
            EhrError::Service(ServiceError::InvalidArgument(v)) => {
                let issues: Vec<Issue> = v
                    .iter()
                    .map(|(f, d)| Issue {
                        expression: f.to_owned(),
                        diagnostics: d.to_owned(),
                    })
                    .collect();
                outcome(StatusCode::BAD_REQUEST, "invalid", &issues)
            }
            EhrError::Service(ServiceError::Unauthenticated(reason)) => {
                tracing::info!(reason, "ehr call refused");
                StatusCode::UNAUTHORIZED.into_response()
            }
            EhrError::Service(e) => {
                let status = e.into_status();
                let http = http_status(status.code());
                outcome(http, "processing", &issue("", status.message().to_owned()))
            }
        }
    }
}

/// The HTTP status for a gRPC code (the same table gRPC gateways use).
fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::InvalidArgument | Code::OutOfRange => StatusCode::BAD_REQUEST,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::FailedPrecondition => StatusCode::PRECONDITION_FAILED,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Cancelled => StatusCode::REQUEST_TIMEOUT,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::Internal | Code::Unknown | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Writes one audit row per call of a tenant-scoped route (method: HTTP
/// method and route template, e.g. `POST /cds-services/{id}`), filled in by
/// the handler through the [`AuditNote`]; the response waits for it, as on
/// the gRPC side.
async fn audit(State(ehr): State<Arc<Ehr>>, mut req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| req.uri().path().to_owned(), |m| m.as_str().to_owned());
    let method = format!("{} {route}", req.method());
    let call_id = call_id(req.extensions());
    let trace_id = req
        .extensions()
        .get::<TraceId>()
        .map(|t| t.0.clone())
        .unwrap_or_default();
    let note = AuditNote::new(method, call_id, trace_id);
    req.extensions_mut().insert(note.clone());
    let response = next.run(req).await;
    let code = crate::telemetry::http_code(response.status());
    // Writes committed their rows with their data; the rest are recorded here.
    let Some(row) = note.finish_row(code, ehr.app.now()) else {
        return response;
    };
    match ehr.audit.append(row).await {
        Ok(()) => response,
        Err(cause) => EhrError::Service(cause.into_service_error()).into_response(),
    }
}

/// The EHR routes, to be merged with the gRPC services.
pub fn router(ehr: Arc<Ehr>) -> Router {
    use axum::routing::{get, post};
    let audited = Router::new()
        .route("/cds-services", get(cds::discovery))
        .route("/cds-services/{id}", post(cds::service))
        .route("/cds-services/{id}/feedback", post(cds::feedback))
        .route("/fhir/r4/people/{person_id}", post(app::ingest_rest))
        .route("/ehr/app/session", post(app::session))
        .route(smart::LAUNCH_PATH, get(smart::launch))
        .route(smart::CALLBACK_PATH, get(smart::callback))
        .route("/ehr/app/api/view", get(app::view))
        .route("/ehr/app/api/feedback", post(app::feedback))
        .route_layer(middleware::from_fn_with_state(Arc::clone(&ehr), audit));
    let public = Router::new()
        .route(
            "/fhir/r4/Questionnaire/tutti-processes",
            get(app::questionnaire),
        )
        .route("/ehr/app", get(app::page))
        .route("/ehr/app/app.js", get(app::script))
        .route("/ehr/app/app.css", get(app::style));
    audited.merge(public).with_state(ehr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_and_grpc_codes_correspond() {
        for code in [
            Code::Ok,
            Code::InvalidArgument,
            Code::Unauthenticated,
            Code::PermissionDenied,
            Code::NotFound,
            Code::FailedPrecondition,
            Code::Unavailable,
        ] {
            assert_eq!(crate::telemetry::http_code(http_status(code)), code);
        }
    }
}
