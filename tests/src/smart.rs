//! A pretend EHR authorization server and FHIR base for the SMART App
//! Launch tests, on a loopback port: `GET /fhir/.well-known/smart-configuration`,
//! `GET /auth/authorize` (checks the client id, redirect URI, `aud`, `launch`
//! and that PKCE is S256, then redirects back with a code and the state) and
//! `POST /auth/token` (checks the code, client id, redirect URI and the PKCE
//! verifier against the challenge, then answers with an access token and
//! the patient in context, and, when `openid` was asked for, an `id_token`
//! signed with the RS256 test key naming [`PRACTITIONER`] as `fhirUser`,
//! and, after [`FakeEhr::app_context`], the `appContext` of the card whose
//! link the clinician clicked, as CDS Hooks 2.0.1 has an EHR do).
//! Its keys are at `GET /auth/jwks`, named as `jwks_uri` (with `issuer`) in
//! the SMART configuration or, after [`FakeEhr::openid_configuration_only`],
//! only in `GET /fhir/.well-known/openid-configuration`. It records every
//! request it gets, and a browser that follows redirects by hand drives
//! Tutti through it.

use crate::jwt::{Jwt, Key, now_secs};
use crate::server::TestServer;
use anyhow::{Context as _, bail};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tutti_server::config::{Config, SmartConfig};

/// The client id Tutti is registered under at the pretend EHR.
pub const CLIENT_ID: &str = "tutti-test-client";
/// The access token the pretend EHR issues (searched for in the logs).
pub const ACCESS_TOKEN: &str = "smart-access-token-5b9e1d07c4";
/// The `launch` value the pretend EHR appends to the app's link.
pub const LAUNCH: &str = "launch-ctx-81f2";
/// The signed-in user its id_tokens name (`fhirUser`).
pub const PRACTITIONER: &str = "Practitioner/prac-4711";

/// Turns the valid id_token's [`Jwt`] into what the token response carries
/// (`None`: no id_token).
type IdTokenMaker = Box<dyn Fn(Jwt) -> Option<String> + Send>;

#[derive(Default)]
struct Inner {
    patient: String,
    redirect_uri: String,
    /// code -> (PKCE challenge, redirect URI, `openid` asked for)
    codes: HashMap<String, (String, String, bool)>,
    /// How id_tokens are made (default: valid, RS256).
    id_token: Option<IdTokenMaker>,
    /// The id_tokens it issued (searched for in the logs).
    id_tokens: Vec<String>,
    /// `issuer` and `jwks_uri` only in the OpenID configuration.
    openid_configuration_only: bool,
    /// Store a challenge the verifier will not match (an EHR refusing it).
    wrong_challenge: bool,
    /// A confidential client's secret, expected as HTTP Basic (RFC 6749 2.3.1).
    client_secret: Option<String>,
    /// The `appContext` of the card link launched (any JSON; none: absent).
    app_context: Option<serde_json::Value>,
    requests: Vec<String>,
    token_answers: Vec<u16>,
}

type Shared = Arc<Mutex<Inner>>;

fn lock(s: &Shared) -> std::sync::MutexGuard<'_, Inner> {
    s.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The pretend EHR.
pub struct FakeEhr {
    /// Its address.
    pub addr: SocketAddr,
    inner: Shared,
    task: JoinHandle<()>,
}

impl FakeEhr {
    /// Starts one whose launches have `patient` in context.
    pub async fn start(patient: &str) -> anyhow::Result<Self> {
        use axum::extract::{Query, Request, State};
        use axum::http::{StatusCode, header};
        use axum::middleware::{self, Next};
        use axum::response::{IntoResponse, Response};
        use axum::routing::{get, post};

        async fn record(State(s): State<Shared>, req: Request, next: Next) -> Response {
            let path = req
                .uri()
                .path_and_query()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default();
            lock(&s).requests.push(format!("{} {path}", req.method()));
            next.run(req).await
        }

        fn host_of(headers: &axum::http::HeaderMap) -> String {
            headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        }

        async fn discovery(State(s): State<Shared>, req: Request) -> Response {
            let host = host_of(req.headers());
            let mut d = json!({
                "authorization_endpoint": format!("http://{host}/auth/authorize"),
                "token_endpoint": format!("http://{host}/auth/token"),
                "grant_types_supported": ["authorization_code"],
                "code_challenge_methods_supported": ["S256"],
                "capabilities": ["launch-ehr", "client-public", "context-ehr-patient", "sso-openid-connect"],
            });
            if !lock(&s).openid_configuration_only {
                d["issuer"] = json!(format!("http://{host}/auth"));
                d["jwks_uri"] = json!(format!("http://{host}/auth/jwks"));
            }
            axum::Json(d).into_response()
        }

        async fn openid_configuration(req: Request) -> Response {
            let host = host_of(req.headers());
            axum::Json(json!({
                "issuer": format!("http://{host}/auth"),
                "jwks_uri": format!("http://{host}/auth/jwks"),
                "authorization_endpoint": format!("http://{host}/auth/authorize"),
                "token_endpoint": format!("http://{host}/auth/token"),
                "id_token_signing_alg_values_supported": ["RS256"],
            }))
            .into_response()
        }

        async fn jwks() -> Response {
            (
                [(header::CONTENT_TYPE, "application/json")],
                crate::jwt::JWKS,
            )
                .into_response()
        }

        async fn authorize(
            State(s): State<Shared>,
            headers: axum::http::HeaderMap,
            Query(q): Query<HashMap<String, String>>,
        ) -> Response {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or_default();
            let mut inner = lock(&s);
            let want = |k: &str, v: &str| q.get(k).map(String::as_str) == Some(v);
            let scopes: Vec<&str> = q
                .get("scope")
                .map(|s| s.split(' ').collect())
                .unwrap_or_default();
            let checks = [
                ("response_type", want("response_type", "code")),
                ("client_id", want("client_id", CLIENT_ID)),
                ("redirect_uri", want("redirect_uri", &inner.redirect_uri)),
                ("aud", want("aud", &format!("http://{host}/fhir"))),
                ("launch", want("launch", LAUNCH)),
                (
                    "code_challenge_method",
                    want("code_challenge_method", "S256"),
                ),
                ("scope", scopes.contains(&"launch")),
                ("state", q.get("state").is_some_and(|s| s.len() >= 16)),
            ];
            if let Some((failed, _)) = checks.iter().find(|(_, ok)| !ok) {
                return (StatusCode::BAD_REQUEST, format!("bad {failed}")).into_response();
            }
            let Some(challenge) = q.get("code_challenge") else {
                return (StatusCode::BAD_REQUEST, "no code_challenge").into_response();
            };
            let challenge = if inner.wrong_challenge {
                format!("{challenge}x")
            } else {
                challenge.clone()
            };
            let code = uuid::Uuid::new_v4().simple().to_string();
            let redirect = inner.redirect_uri.clone();
            let openid = scopes.contains(&"openid");
            inner
                .codes
                .insert(code.clone(), (challenge, redirect.clone(), openid));
            let state = q.get("state").cloned().unwrap_or_default();
            let mut location = reqwest::Url::parse(&redirect).expect("redirect URI");
            location
                .query_pairs_mut()
                .append_pair("code", &code)
                .append_pair("state", &state);
            (
                StatusCode::FOUND,
                [(header::LOCATION, location.to_string())],
            )
                .into_response()
        }

        async fn token(
            State(s): State<Shared>,
            headers: axum::http::HeaderMap,
            axum::Form(f): axum::Form<HashMap<String, String>>,
        ) -> Response {
            let mut inner = lock(&s);
            let get = |k: &str| f.get(k).map(String::as_str).unwrap_or_default();
            let basic = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let client_ok = match &inner.client_secret {
                Some(secret) => {
                    basic
                        == Some(format!(
                            "Basic {}",
                            base64::engine::general_purpose::STANDARD
                                .encode(format!("{CLIENT_ID}:{secret}"))
                        ))
                }
                None => basic.is_none() && get("client_id") == CLIENT_ID,
            };
            // Codes are single use, spent even by a failed exchange.
            let known = inner.codes.remove(get("code"));
            let verifier_hash = URL_SAFE_NO_PAD.encode(Sha256::digest(get("code_verifier")));
            let ok = get("grant_type") == "authorization_code"
                && client_ok
                && known.as_ref().is_some_and(|(challenge, redirect, _)| {
                    *challenge == verifier_hash && get("redirect_uri") == redirect
                });
            let answer = if ok {
                let mut body = json!({
                    "access_token": ACCESS_TOKEN,
                    "token_type": "Bearer",
                    "expires_in": 3600,
                    "scope": "launch openid fhirUser patient/Patient.rs",
                    "patient": inner.patient,
                });
                if let Some(context) = &inner.app_context {
                    body["appContext"] = context.clone();
                }
                if known.as_ref().is_some_and(|(_, _, openid)| *openid) {
                    let valid = id_token(&format!("http://{}/auth", host_of(&headers)));
                    let made = match &inner.id_token {
                        Some(make) => make(valid),
                        None => Some(valid.sign()),
                    };
                    if let Some(t) = made {
                        body["id_token"] = json!(t);
                        inner.id_tokens.push(t);
                    }
                } else {
                    body["scope"] = json!("launch patient/Patient.rs");
                }
                (StatusCode::OK, axum::Json(body))
            } else {
                (
                    StatusCode::BAD_REQUEST,
                    axum::Json(json!({"error": "invalid_grant"})),
                )
            };
            inner.token_answers.push(answer.0.as_u16());
            answer.into_response()
        }

        let inner: Shared = Arc::new(Mutex::new(Inner {
            patient: patient.to_owned(),
            ..Inner::default()
        }));
        let app = axum::Router::new()
            .route("/fhir/.well-known/smart-configuration", get(discovery))
            .route(
                "/fhir/.well-known/openid-configuration",
                get(openid_configuration),
            )
            .route("/auth/jwks", get(jwks))
            .route("/auth/authorize", get(authorize))
            .route("/auth/token", post(token))
            .layer(middleware::from_fn_with_state(Arc::clone(&inner), record))
            .with_state(Arc::clone(&inner));
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { addr, inner, task })
    }

    /// Its FHIR base URL (the launch's `iss`).
    pub fn fhir_base(&self) -> String {
        format!("http://{}/fhir", self.addr)
    }

    /// Registers Tutti's redirect URI (known once Tutti has its port).
    pub fn register(&self, server: &TestServer) {
        lock(&self.inner).redirect_uri = format!("{}/ehr/app/callback", server.base_url());
    }

    /// From now on, store challenges the verifier does not match.
    pub fn refuse_verifiers(&self) {
        lock(&self.inner).wrong_challenge = true;
    }

    /// Its OpenID Connect issuer (the `iss` of the id_tokens it signs).
    pub fn issuer(&self) -> String {
        format!("http://{}/auth", self.addr)
    }

    /// From now on, answer with `make(valid)` as the id_token (`None`: none),
    /// where `valid` is the one it would sign.
    pub fn id_tokens_from(&self, make: impl Fn(Jwt) -> Option<String> + Send + 'static) {
        lock(&self.inner).id_token = Some(Box::new(make));
    }

    /// The id_tokens it issued, in order.
    pub fn id_tokens(&self) -> Vec<String> {
        lock(&self.inner).id_tokens.clone()
    }

    /// From now on, name `issuer` and `jwks_uri` only in the OpenID
    /// configuration, not in the SMART one.
    pub fn openid_configuration_only(&self) {
        lock(&self.inner).openid_configuration_only = true;
    }

    /// From now on, answer launches with `context` as the token response's
    /// `appContext` (as after a click on a card link carrying it; a string
    /// by the spec, any JSON here), or with none.
    pub fn app_context(&self, context: Option<serde_json::Value>) {
        lock(&self.inner).app_context = context;
    }

    /// From now on, expect a confidential client with `secret`.
    pub fn require_secret(&self, secret: &str) {
        lock(&self.inner).client_secret = Some(secret.to_owned());
    }

    /// Every request it got (`METHOD path?query`), in order.
    pub fn requests(&self) -> Vec<String> {
        lock(&self.inner).requests.clone()
    }

    /// The statuses of its token endpoint's answers, in order.
    pub fn token_answers(&self) -> Vec<u16> {
        lock(&self.inner).token_answers.clone()
    }

    /// The `[ehr.issuers.smart]` settings for launches from it.
    pub fn smart_config(&self) -> SmartConfig {
        SmartConfig {
            fhir_base_urls: vec![self.fhir_base()],
            client_id: CLIENT_ID.into(),
            client_secret: None,
            redirect_uri: None,
            scope: "launch openid fhirUser patient/Patient.rs".into(),
        }
    }

    /// Configures the issuer `iss` (already in `config`) to launch the app from here.
    pub fn configure(&self, config: &mut Config, iss: &str) {
        for issuer in &mut config.ehr.issuers {
            if issuer.iss == iss {
                issuer.smart = Some(self.smart_config());
            }
        }
    }
}

/// A valid id_token from the OpenID issuer `issuer` for [`CLIENT_ID`],
/// signed in as [`PRACTITIONER`], valid 5 minutes (RS256 test key).
pub fn id_token(issuer: &str) -> Jwt {
    let now = now_secs();
    Jwt {
        key: Key::Rsa,
        kid: None,
        claims: json!({
            "iss": issuer,
            "sub": "user-4711",
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "fhirUser": PRACTITIONER,
        }),
    }
}

impl Drop for FakeEhr {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A browser that follows no redirects by itself and keeps no cookies: each
/// step is one request, its status, `Location` and `Set-Cookie`.
#[derive(Debug, Clone)]
pub struct Step {
    /// HTTP status.
    pub status: u16,
    /// The redirect target, if any.
    pub location: Option<String>,
    /// The `name=value` of the first cookie set, if any.
    pub cookie: Option<String>,
    /// The whole `Set-Cookie` header, if any.
    pub set_cookie: Option<String>,
}

/// `GET url` with an optional `Cookie` header, redirects not followed.
pub async fn step(url: &str, cookie: Option<&str>) -> anyhow::Result<Step> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(60))
        .build()?;
    let mut req = client.get(url);
    if let Some(c) = cookie {
        req = req.header(reqwest::header::COOKIE, c);
    }
    let r = req.send().await.context("GET")?;
    let header = |name| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let set_cookie = header(reqwest::header::SET_COOKIE);
    Ok(Step {
        status: r.status().as_u16(),
        location: header(reqwest::header::LOCATION),
        cookie: set_cookie
            .as_deref()
            .and_then(|c| c.split(';').next())
            .map(str::to_owned),
        set_cookie,
    })
}

/// Where a whole launch got to: the callback's URL and the cookie for it.
#[derive(Debug, Clone)]
pub struct Authorized {
    /// Tutti's callback URL with the code and state.
    pub callback: String,
    /// The pending-launch cookie Tutti set.
    pub cookie: String,
    /// The state Tutti sent to the authorization server.
    pub state: String,
}

/// The EHR opens the card's link with `iss` and `launch`; the browser is
/// sent to the authorization server, which sends it back to Tutti's callback.
pub async fn launch_and_authorize(server: &TestServer, iss: &str) -> anyhow::Result<Authorized> {
    let mut launch = reqwest::Url::parse(&format!("{}/ehr/app/launch", server.base_url()))?;
    launch
        .query_pairs_mut()
        .append_pair("iss", iss)
        .append_pair("launch", LAUNCH);
    let first = step(launch.as_str(), None).await?;
    if first.status != 302 {
        bail!("launch answered {}", first.status);
    }
    let authorize = first.location.context("launch redirects")?;
    let cookie = first.cookie.context("launch sets the pending cookie")?;
    let state = query_value(&authorize, "state").context("state sent")?;
    let back = step(&authorize, None).await?;
    if back.status != 302 {
        bail!("authorize answered {}", back.status);
    }
    let callback = back.location.context("authorize redirects")?;
    Ok(Authorized {
        callback,
        cookie,
        state,
    })
}

/// A whole launch through the EHR at `iss`, then the browser at Tutti's
/// callback with the pending cookie: the callback's answer, not followed.
pub async fn launch_to_callback(server: &TestServer, iss: &str) -> anyhow::Result<Step> {
    let flow = launch_and_authorize(server, iss).await?;
    step(&flow.callback, Some(&flow.cookie)).await
}

/// A query parameter of `url`.
pub fn query_value(url: &str, name: &str) -> Option<String> {
    let url = reqwest::Url::parse(url).ok()?;
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}
