//! SMART App Launch 2.x (EHR launch) of the clinician app: the EHR's
//! authorization server, not a link Tutti signed, vouches that the browser
//! opening the app is a signed-in user with this patient in context.
//!
//! - `GET /ehr/app/launch?iss=…&launch=…` (the card's `smart` link, to which
//!   the EHR appends both): `iss` must be one of the `fhir_base_urls` of a
//!   configured issuer's `[ehr.issuers.smart]`, else 400 before anything is
//!   fetched (no request ever goes to a URL the configuration does not
//!   name). Reads `{iss}/.well-known/smart-configuration` and redirects to
//!   its authorization endpoint: code flow, the configured client id,
//!   redirect URI and scopes, `launch`, `aud={iss}`, a random `state` and a
//!   PKCE S256 challenge.
//! - `GET /ehr/app/callback?code=…&state=…`: the state must match the
//!   browser's pending-launch cookie and is claimed once in the storage (so
//!   a replay is refused on every replica); the code is exchanged at the
//!   token endpoint with the PKCE verifier; the `patient` of the token
//!   response maps to the person exactly as the same EHR's CDS calls map it
//!   ([`super::pseudonym`], under the CDS issuer), and the browser is sent
//!   on to the app with a launch token of Tutti's making, so the app and its
//!   session work as after a card's link.
//!
//! The pending launch (issuer, `iss`, token endpoint, redirect URI, PKCE
//! verifier) rides in a cookie signed with `ehr.launch_key`
//! ([`super::launch::Launcher::seal`]), `HttpOnly`, scoped to the callback's
//! path and named after the state, so no replica needs to remember it and
//! only the browser that started a launch can finish it (a callback URL sent
//! to someone else opens nothing for them).
//!
//! - With `openid` in the configured scope, the token response must carry an
//!   `id_token` that verifies ([`super::id_token`]) against the `issuer` and
//!   `jwks_uri` of the EHR's discovery documents (`smart-configuration`, else
//!   `{iss}/.well-known/openid-configuration`, read at the launch and carried
//!   in the pending cookie), else the callback is a 401 and opens nothing.
//!   Its `fhirUser` becomes the audit principal ([`clinician_principal`]):
//!   `ehr:<issuer>|Practitioner/123`. Without `openid` the principal stays
//!   the EHR, `ehr:<issuer>`.
//!
//!   The launch token the callback mints (and so the app's session) carries
//!   the clinician's principal too, so the app's later calls (view,
//!   feedback) name the clinician; without `openid` they are audited as
//!   `clinician-app`, as after a card link.
//!
//! - The card's decision: a SMART card's link carries an `appContext`
//!   (CDS Hooks 2.0.1 `Link.appContext`) that the EHR returns in the token
//!   response beside `patient`. When it verifies ([`card_of`]: signed with
//!   `ehr.launch_key` for this purpose, unexpired, this tenant, the person
//!   `patient` maps to, and a stored recommendation of theirs), the app opens
//!   that decision. Otherwise it is *ignored*, not refused: the EHR's
//!   authorization server, not the appContext, vouches for the launch and its
//!   patient, and the session is scoped to that patient either way, so an
//!   appContext only chooses which of that patient's decisions is shown. A
//!   bad one (tampered, expired, another tenant's or person's) is never
//!   honoured, only logged by kind; the app then shows what a launch without
//!   one shows: a fresh decision for the person (Recommend, logged like a
//!   card's, its request id derived from the state). Refusing would lock a
//!   clinician the EHR vouched for out of the app over a stale card.
//!
//! The access token is not used (Tutti reads nothing with it), not stored and
//! never logged; neither are the id_token, the code, the state, `launch`,
//! `appContext` or the cookie.

use super::cds::derived_id;
use super::id_token::{IdToken, IdTokenError, OidcIssuer};
use super::{Ehr, EhrError, fhir::Issue, pseudonym};
use crate::audit::AuditNote;
use crate::config::{IssuerConfig, Secret, SmartConfig};
use crate::convert::ids::{PersonId, RecommendationId, TenantId};
use crate::error::ServiceError;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cookie::{Cookie, SameSite};
use oauth2::basic::{
    BasicClient, BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, ExtraTokenFields,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope,
    StandardRevocableToken, StandardTokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The app's SMART launch URL, under `ehr.public_url`.
pub const LAUNCH_PATH: &str = "/ehr/app/launch";
/// The default redirect URI's path, under `ehr.public_url`.
pub const CALLBACK_PATH: &str = "/ehr/app/callback";
/// The issuer single-use SMART states are claimed under.
pub const STATE_ISSUER: &str = "tutti-smart-state";
const PENDING: &str = "tutti-smart-pending";
const COOKIE_PREFIX: &str = "tutti_smart_";
const REFUSED: &str = "invalid or used SMART state";

/// The part of `.well-known/smart-configuration` the EHR launch needs.
#[derive(Debug, Deserialize)]
struct Discovery {
    authorization_endpoint: String,
    token_endpoint: String,
    #[serde(default)]
    code_challenge_methods_supported: Option<Vec<String>>,
    /// SMART 2.x lists these where it offers `sso-openid-connect`.
    #[serde(default)]
    issuer: Option<String>,
    #[serde(default)]
    jwks_uri: Option<String>,
}

/// The part of `.well-known/openid-configuration` an id_token's check needs.
#[derive(Debug, Deserialize)]
struct OpenIdConfiguration {
    issuer: String,
    jwks_uri: String,
}

/// The launch context SMART adds to the token response.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct LaunchContext {
    #[serde(default)]
    patient: Option<String>,
    /// Present when `openid` was granted (its `Debug` prints nothing of it).
    #[serde(default)]
    id_token: Option<IdToken>,
    /// CDS Hooks `Link.appContext` of the card whose link launched the app.
    /// A string by the spec; read as any JSON so that another shape is
    /// ignored rather than failing the whole token response.
    #[serde(default, rename = "appContext")]
    app_context: Option<serde_json::Value>,
}

impl ExtraTokenFields for LaunchContext {}

type TokenResponse = StandardTokenResponse<LaunchContext, BasicTokenType>;
type TokenClient = oauth2::Client<
    BasicErrorResponse,
    TokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
>;

/// A launch between the redirect to the authorization server and the
/// callback, carried by the browser in a signed cookie.
#[derive(Serialize, Deserialize)]
struct Pending {
    aud: String,
    exp: i64,
    /// The state, single use.
    jti: String,
    /// The CDS issuer (`ehr.issuers[].iss`) whose SMART settings launched.
    issuer: String,
    /// The launch's `iss` (the FHIR base URL): the token's audience.
    fhir: String,
    token_url: String,
    redirect_uri: String,
    verifier: String,
    /// Where the id_token is checked against, when `openid` is asked for.
    #[serde(default)]
    oidc: Option<OidcIssuer>,
}

// Written by hand so the verifier can never be printed.
impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

/// `GET /ehr/app/launch` parameters.
#[derive(Deserialize)]
pub struct LaunchParams {
    iss: Option<String>,
    launch: Option<String>,
}

/// `GET /ehr/app/callback` parameters.
#[derive(Deserialize)]
pub struct CallbackParams {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

fn invalid(expression: &str, diagnostics: &str) -> EhrError {
    EhrError::Invalid(vec![Issue {
        expression: expression.to_owned(),
        diagnostics: diagnostics.to_owned(),
    }])
}

/// The issuer whose SMART settings list `iss` among their FHIR base URLs.
fn issuer_for<'a>(ehr: &'a Ehr, iss: &str) -> Option<(&'a IssuerConfig, &'a SmartConfig)> {
    ehr.config.issuers.iter().find_map(|i| {
        let smart = i.smart.as_ref()?;
        smart
            .fhir_base_urls
            .iter()
            .any(|u| u == iss)
            .then_some((i, smart))
    })
}

fn redirect_uri(ehr: &Ehr, smart: &SmartConfig) -> Option<String> {
    smart.redirect_uri.clone().or_else(|| {
        ehr.config
            .public_url
            .as_ref()
            .map(|base| format!("{base}{CALLBACK_PATH}"))
    })
}

fn http_url(s: &str) -> bool {
    s.starts_with("https://") || s.starts_with("http://")
}

/// Whether the configured scope asks who signed in (OpenID Connect).
fn wants_openid(smart: &SmartConfig) -> bool {
    smart.scope.split_whitespace().any(|s| s == "openid")
}

/// A FHIR logical id (FHIR R4 `id`: 1 to 64 of `A-Za-z0-9-.`).
fn fhir_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// The audit principal of a SMART launch's signed-in user, from the
/// id_token's `fhirUser` (relative, or absolute under the launch's FHIR
/// base `fhir`), in the namespace of the CDS issuer `iss`:
/// `ehr:<iss>|<Type>/<id>`, `|` as in FHIR's `system|code`, since ids are
/// only unique within one EHR.
///
/// A `Practitioner` or `PractitionerRole` is staff, not a data subject: it is
/// kept as the EHR's reference, as a bearer token's `sub` is (`jwt:<sub>`),
/// so the audit trail says who looked without a key to undo. A `Patient`,
/// `RelatedPerson` or `Person` may be a patient or their relative: its id is
/// replaced by the keyed pseudonym patients get ([`pseudonym::person_for`]),
/// a patient's own id mapping to their person id. A version
/// (`.../_history/2`, a literal reference FHIR allows) names the same user
/// and is dropped. Any other `fhirUser` (another server's URL, another type,
/// no id) is `None`.
pub fn clinician_principal(key: &Secret, iss: &str, fhir: &str, fhir_user: &str) -> Option<String> {
    let relative = fhir_user
        .strip_prefix(fhir)
        .and_then(|r| r.strip_prefix('/'))
        .unwrap_or(fhir_user);
    let (kind, id) = relative.split_once('/')?;
    let id = match id.split_once("/_history/") {
        Some((id, version)) if fhir_id(version) => id,
        Some(_) => return None,
        None => id,
    };
    if !fhir_id(id) {
        return None;
    }
    let relative = format!("{kind}/{id}");
    let id = match kind {
        "Practitioner" | "PractitionerRole" => id.to_owned(),
        "Patient" => pseudonym::person_for(key, iss, id)
            .ok()?
            .as_str()
            .to_owned(),
        "RelatedPerson" | "Person" => pseudonym::person_for(key, iss, &relative)
            .ok()?
            .as_str()
            .to_owned(),
        _ => return None,
    };
    Some(format!("ehr:{iss}|{kind}/{id}"))
}

/// The pending-launch cookie for `state`: only the callback's path sees it,
/// never script. Over https it is `SameSite=None; Secure; Partitioned`, so
/// it also reaches the callback when the EHR frames the app (partitioned per
/// embedding site); plain http (loopback, tests) gets `SameSite=Lax`.
fn pending_cookie(state: &str, value: String, redirect: &oauth2::url::Url, max_age: i64) -> String {
    let https = redirect.scheme() == "https";
    let mut c = Cookie::build((format!("{COOKIE_PREFIX}{state}"), value))
        .path(redirect.path().to_owned())
        .http_only(true)
        .max_age(cookie::time::Duration::seconds(max_age));
    c = if https {
        c.secure(true).same_site(SameSite::None).partitioned(true)
    } else {
        c.same_site(SameSite::Lax)
    };
    c.build().to_string()
}

fn no_store(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

fn redirect(location: &str, cookie: &str) -> Result<Response, EhrError> {
    let bad = |_| EhrError::Service(ServiceError::Internal("redirect header".into()));
    let mut r = StatusCode::FOUND.into_response();
    let h = r.headers_mut();
    h.insert(
        header::LOCATION,
        HeaderValue::from_str(location).map_err(bad)?,
    );
    h.insert(
        header::SET_COOKIE,
        HeaderValue::from_str(cookie).map_err(bad)?,
    );
    Ok(no_store(r))
}

/// Reads the EHR's SMART configuration from `iss`, a configured FHIR base.
async fn discover(ehr: &Ehr, iss: &str) -> Result<Discovery, EhrError> {
    let upstream = |what: &str| {
        tracing::warn!(problem = what, "smart configuration unusable");
        EhrError::Upstream(format!("the EHR's SMART configuration {what}"))
    };
    let d: Discovery = ehr
        .fhir
        .document(&format!("{iss}/.well-known/smart-configuration"))
        .await
        .map_err(upstream)?;
    if !(http_url(&d.authorization_endpoint) && http_url(&d.token_endpoint)) {
        return Err(upstream("has no http(s) endpoints"));
    }
    if let Some(methods) = &d.code_challenge_methods_supported
        && !methods.iter().any(|m| m == "S256")
    {
        return Err(upstream("does not support PKCE S256"));
    }
    Ok(d)
}

/// Where the EHR's id_tokens are checked against: the `issuer` and
/// `jwks_uri` of its SMART configuration (SMART 2.x lists them there), else
/// of `{iss}/.well-known/openid-configuration`. Only URLs derived from the
/// configured `iss` and these documents are read.
async fn oidc_issuer(ehr: &Ehr, iss: &str, found: &Discovery) -> Result<OidcIssuer, EhrError> {
    let upstream = |what: &str| {
        tracing::warn!(problem = what, "openid configuration unusable");
        EhrError::Upstream(format!("the EHR's OpenID configuration {what}"))
    };
    let (issuer, jwks_uri) = match (&found.issuer, &found.jwks_uri) {
        (Some(issuer), Some(jwks_uri)) => (issuer.clone(), jwks_uri.clone()),
        _ => {
            let c: OpenIdConfiguration = ehr
                .fhir
                .document(&format!("{iss}/.well-known/openid-configuration"))
                .await
                .map_err(upstream)?;
            (c.issuer, c.jwks_uri)
        }
    };
    if issuer.is_empty() || !http_url(&jwks_uri) {
        return Err(upstream("names no issuer or no http(s) jwks_uri"));
    }
    Ok(OidcIssuer { issuer, jwks_uri })
}

/// `GET /ehr/app/launch`.
pub async fn launch(
    State(ehr): State<Arc<Ehr>>,
    axum::Extension(note): axum::Extension<AuditNote>,
    Query(params): Query<LaunchParams>,
) -> Result<Response, EhrError> {
    let iss = params.iss.unwrap_or_default();
    let launch = params.launch.unwrap_or_default();
    if iss.is_empty() {
        return Err(invalid("iss", "is required (an EHR launch)"));
    }
    if launch.is_empty() {
        return Err(invalid("launch", "is required (an EHR launch)"));
    }
    let Some((issuer, smart)) = issuer_for(&ehr, &iss) else {
        tracing::info!("smart launch refused: iss not configured");
        return Err(invalid(
            "iss",
            "is not a FHIR server configured to launch this app",
        ));
    };
    note.set_caller(&issuer.tenant, &format!("ehr:{}", issuer.iss));
    let internal = |what: &str| EhrError::Service(ServiceError::Internal(what.to_owned()));
    let redirect_uri = redirect_uri(&ehr, smart).ok_or_else(|| internal("no redirect URI"))?;
    let redirect_url =
        RedirectUrl::new(redirect_uri.clone()).map_err(|_| internal("redirect URI"))?;
    let found = discover(&ehr, &iss).await?;
    // Read now, so a launch that could never be checked fails before the user signs in.
    let oidc = if wants_openid(smart) {
        Some(oidc_issuer(&ehr, &iss, &found).await?)
    } else {
        None
    };
    let auth_url = AuthUrl::new(found.authorization_endpoint)
        .map_err(|_| EhrError::Upstream("the EHR's authorization endpoint is no URL".into()))?;
    let client = BasicClient::new(ClientId::new(smart.client_id.clone()))
        .set_auth_uri(auth_url)
        .set_redirect_uri(redirect_url.clone());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scopes(
            smart
                .scope
                .split_whitespace()
                .map(|s| Scope::new(s.to_owned())),
        )
        .add_extra_param("launch", launch)
        .add_extra_param("aud", iss.clone())
        .set_pkce_challenge(challenge)
        .url();
    let ttl = ehr.launch.launch_ttl();
    let pending = Pending {
        aud: PENDING.into(),
        exp: ehr.now_secs() + ttl,
        jti: state.secret().clone(),
        issuer: issuer.iss.clone(),
        fhir: iss,
        token_url: found.token_endpoint,
        redirect_uri,
        verifier: verifier.secret().clone(),
        oidc,
    };
    let sealed = ehr
        .launch
        .seal(&pending)
        .ok_or_else(|| internal("no launch key"))?;
    let cookie = pending_cookie(state.secret(), sealed, redirect_url.url(), ttl);
    tracing::info!(tenant = %issuer.tenant, "smart launch sent to the authorization server");
    redirect(url.as_str(), &cookie)
}

/// The request id of the card decision a launch's `appContext` names, when
/// Tutti signed it (with `ehr.launch_key`, as an app context, unexpired) for
/// this `tenant` and `person` (the one the token's `patient` maps to) and
/// the recommendation it names is stored as theirs. Otherwise `None`, and
/// the kind of failure is logged (never the value): the caller ignores it
/// (see the module docs for why it is not refused).
pub async fn card_of(
    ehr: &Ehr,
    app_context: &str,
    tenant: &TenantId,
    person: &PersonId,
) -> Result<Option<String>, EhrError> {
    let ignored = |why: &'static str| {
        tracing::info!(ignored = why, "smart appContext not used");
        Ok(None)
    };
    let Some(card) = ehr.launch.card_context(app_context) else {
        return ignored("invalid");
    };
    if card.tenant != tenant.as_str() {
        return ignored("other_tenant");
    }
    if card.person != person.as_str() {
        return ignored("other_person");
    }
    let Ok(rec) = RecommendationId::parse(&card.rec) else {
        return ignored("invalid");
    };
    let stored = ehr
        .app
        .storage
        .get_recommendation(tenant, &rec)
        .await
        .map_err(ServiceError::from)?;
    if stored.is_none_or(|r| r.person != *person) {
        return ignored("unknown_recommendation");
    }
    tracing::info!(person = %person, "smart launch opens the card's decision");
    Ok(Some(card.rid))
}

/// The pending launch of `state` from the browser's cookies.
fn pending_of(ehr: &Ehr, headers: &HeaderMap, state: &str) -> Option<Pending> {
    let name = format!("{COOKIE_PREFIX}{state}");
    let value = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)?
        .value()
        .to_owned();
    let pending: Pending = ehr.launch.unseal(&value, PENDING)?;
    (pending.jti == state).then_some(pending)
}

/// `GET /ehr/app/callback`.
pub async fn callback(
    State(ehr): State<Arc<Ehr>>,
    axum::Extension(note): axum::Extension<AuditNote>,
    headers: HeaderMap,
    Query(params): Query<CallbackParams>,
) -> Result<Response, EhrError> {
    if params.error.is_some() {
        return Err(EhrError::Unauthorized("the authorization server refused"));
    }
    let state = params.state.unwrap_or_default();
    let code = params.code.unwrap_or_default();
    if state.is_empty() || code.is_empty() {
        return Err(EhrError::Unauthorized("no code or state"));
    }
    let pending = pending_of(&ehr, &headers, &state).ok_or(EhrError::Unauthorized(REFUSED))?;
    let Some((issuer, smart)) =
        issuer_for(&ehr, &pending.fhir).filter(|(i, _)| i.iss == pending.issuer)
    else {
        return Err(EhrError::Unauthorized("SMART launch no longer configured"));
    };
    let tenant = TenantId::parse(&issuer.tenant).map_err(|_| EhrError::Unauthorized(REFUSED))?;
    note.set_caller(tenant.as_str(), &format!("ehr:{}", issuer.iss));
    let now = ehr.now_secs();
    // Claimed before the code is spent, so a replayed callback spends nothing.
    ehr.claim_once(&tenant, STATE_ISSUER, &state, pending.exp, now, REFUSED)
        .await?;

    let upstream = |what: &str| EhrError::Upstream(format!("the EHR's token endpoint {what}"));
    let token_url = TokenUrl::new(pending.token_url.clone()).map_err(|_| upstream("is no URL"))?;
    let redirect_url =
        RedirectUrl::new(pending.redirect_uri.clone()).map_err(|_| upstream("is no URL"))?;
    let mut client = TokenClient::new(ClientId::new(smart.client_id.clone()))
        .set_token_uri(token_url)
        .set_redirect_uri(redirect_url);
    if let Some(secret) = &smart.client_secret {
        client = client.set_client_secret(ClientSecret::new(secret.expose_str().to_owned()));
    }
    let token = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier.clone()))
        .request_async(ehr.fhir.http())
        .await
        .map_err(|e| {
            // Only the kind is logged: a body that failed to parse may hold the token.
            let (kind, error) = match e {
                RequestTokenError::ServerResponse(_) => (
                    "refused",
                    EhrError::Unauthorized("the token endpoint refused the code"),
                ),
                RequestTokenError::Request(_) => ("unreachable", upstream("could not be reached")),
                RequestTokenError::Parse(..) => ("unparsable", upstream("answered no token")),
                RequestTokenError::Other(_) => ("other", upstream("answered unusably")),
            };
            tracing::info!(problem = kind, "smart token exchange failed");
            error
        })?;
    // The access token goes out of scope here unused: only the context is kept.
    let patient = token
        .extra_fields()
        .patient
        .clone()
        .filter(|p| !p.trim().is_empty());
    let id_token = token.extra_fields().id_token.clone();
    let app_context = token
        .extra_fields()
        .app_context
        .as_ref()
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned);
    drop(token);
    let key = ehr
        .config
        .pseudonym_keys
        .get(tenant.as_str())
        .ok_or_else(|| ServiceError::Internal("issuer tenant without pseudonym key".into()))?;
    let mut clinician = None;
    if wants_openid(smart) {
        let id_token = id_token.ok_or(EhrError::Unauthorized("no id_token"))?;
        let oidc = pending.oidc.as_ref().ok_or(EhrError::Unauthorized(
            "launch without OpenID configuration",
        ))?;
        let signed_in = ehr
            .id_token_keys
            .verify(
                &ehr.fhir,
                oidc,
                &smart.client_id,
                &id_token,
                ehr.config.jwt_leeway_seconds,
                now,
            )
            .await
            .map_err(|e| match e {
                IdTokenError::Refused(refusal) => {
                    tracing::info!(refusal = refusal.as_str(), "smart id_token refused");
                    EhrError::Unauthorized("invalid id_token")
                }
                IdTokenError::KeysUnavailable => {
                    EhrError::Upstream("the EHR's OpenID keys could not be read".into())
                }
            })?;
        let principal = signed_in
            .fhir_user
            .as_deref()
            .and_then(|u| clinician_principal(key, &issuer.iss, &pending.fhir, u))
            .ok_or(EhrError::Unauthorized("id_token without a usable fhirUser"))?;
        note.set_caller(tenant.as_str(), &principal);
        clinician = Some(principal);
    }
    let patient = patient.ok_or_else(|| upstream("put no patient in context"))?;
    let person = pseudonym::person_for(key, &issuer.iss, &patient)?;
    note.set_resource(person.name(), None);
    ehr.app
        .storage
        .get_person(&tenant, &person)
        .await
        .map_err(ServiceError::from)?
        .ok_or_else(|| EhrError::NotFound("this patient's Tutti record".into()))?;
    // The card's decision if its appContext verifies, else a fresh one.
    let card = match &app_context {
        Some(context) => card_of(&ehr, context, &tenant, &person).await?,
        None => None,
    };
    let rid = card.unwrap_or_else(|| derived_id("smart", &[&state]));
    note.set_resource(person.name(), Some(&rid));
    let internal = |what: &str| EhrError::Service(ServiceError::Internal(what.to_owned()));
    let launch = ehr
        .launch
        .launch_token(&tenant, &person, &rid, clinician.as_deref(), now)
        .ok_or_else(|| internal("no launch key"))?;
    let redirect_url =
        oauth2::url::Url::parse(&pending.redirect_uri).map_err(|_| internal("redirect URI"))?;
    let spent = pending_cookie(&state, String::new(), &redirect_url, 0);
    // The app where cards link it (a proxy may serve Tutti under a path).
    let base = ehr.config.public_url.as_deref().unwrap_or_default();
    tracing::info!(person = %person, "smart launch opened the app");
    redirect(&format!("{base}/ehr/app?tutti_launch={launch}"), &spent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pending_cookie_is_scoped_to_the_callback_and_hidden_from_script() {
        let url = oauth2::url::Url::parse("https://tutti.example/ehr/app/callback").expect("url");
        let c = pending_cookie("abc", "v".into(), &url, 600);
        for part in [
            "tutti_smart_abc=v",
            "HttpOnly",
            "Path=/ehr/app/callback",
            "Max-Age=600",
            "Secure",
            "SameSite=None",
            "Partitioned",
        ] {
            assert!(c.contains(part), "{part} in {c}");
        }
        let local = oauth2::url::Url::parse("http://127.0.0.1:8080/cb").expect("url");
        let c = pending_cookie("abc", "v".into(), &local, 600);
        assert!(c.contains("SameSite=Lax") && !c.contains("Secure"), "{c}");
    }

    #[test]
    fn staff_are_named_by_reference_and_patients_by_pseudonym() {
        let key = Secret::new("k1-0123456789abcdef0123456789abcdef");
        let (iss, fhir) = ("https://ehr", "https://ehr/fhir");
        let p = |u: &str| clinician_principal(&key, iss, fhir, u);
        assert_eq!(
            p("Practitioner/123").as_deref(),
            Some("ehr:https://ehr|Practitioner/123")
        );
        assert_eq!(
            p("https://ehr/fhir/PractitionerRole/r-9").as_deref(),
            Some("ehr:https://ehr|PractitionerRole/r-9")
        );
        let person = pseudonym::person_for(&key, iss, "MRN-1").expect("id");
        assert_eq!(
            p("Patient/MRN-1"),
            Some(format!("ehr:https://ehr|Patient/{}", person.as_str()))
        );
        let related = p("RelatedPerson/MRN-1").expect("pseudonymised");
        assert!(!related.contains("MRN-1"), "{related}");
        // A versioned reference is the same user (and the same pseudonym).
        assert_eq!(
            p("https://ehr/fhir/Practitioner/123/_history/4").as_deref(),
            Some("ehr:https://ehr|Practitioner/123")
        );
        assert_eq!(p("Patient/MRN-1/_history/2"), p("Patient/MRN-1"));
        assert_eq!(
            p("RelatedPerson/MRN-1/_history/7").as_deref(),
            Some(related.as_str())
        );
        for bad in [
            "https://elsewhere/fhir/Practitioner/1",
            "Organization/1",
            "Practitioner/",
            "Practitioner/a/b",
            "Practitioner",
            "Practitioner/1/_history/",
            "Practitioner/1/_history/a/b",
            "Practitioner//_history/1",
        ] {
            assert_eq!(p(bad), None, "{bad}");
        }
    }
}
