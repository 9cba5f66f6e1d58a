//! Who is calling and for which tenant, from request metadata, as a tower layer
//! in front of the `tutti.v1` services.
//!
//! - No API keys configured: auth is off; the tenant is `x-tutti-tenant` (or
//!   `default`) and the principal `anonymous`.
//! - Keys configured: `authorization: Bearer <key>` is required
//!   (`UNAUTHENTICATED` otherwise); the key's SHA-256 is looked up, so keys are
//!   never held in plain text; an `x-tutti-tenant` naming another tenant than
//!   the key's is `PERMISSION_DENIED`.
//!
//! Health and reflection are not tenant data and stay open (load balancers and
//! `grpcurl list` call them without credentials).
//!
//! On success the [`Caller`] goes into the request extensions for the handlers;
//! either way the audit note learns who called.

use crate::audit::AuditNote;
use crate::config::AuthConfig;
use crate::convert::hex;
use crate::convert::ids::TenantId;
use crate::error::ServiceError;
use crate::validate::Violations;
use http::HeaderMap;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower::{Layer, Service};

/// Metadata key naming the tenant.
pub const TENANT_HEADER: &str = "x-tutti-tenant";
/// Principal recorded when auth is off or fails.
pub const ANONYMOUS: &str = "anonymous";

/// The authenticated caller of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The tenant every read and write of the request is scoped to.
    pub tenant: TenantId,
    /// Who called (for the audit log).
    pub principal: String,
}

/// Whether a request path belongs to the tenant API (authenticated, audited).
pub fn is_tenant_api(path: &str) -> bool {
    path.starts_with("/tutti.")
}

/// Resolves callers from metadata.
#[derive(Debug, Clone, Default)]
pub struct Authenticator {
    /// SHA-256 hex of a key -> the caller it authenticates.
    keys: Arc<HashMap<String, Caller>>,
}

impl Authenticator {
    /// From the (validated) auth configuration.
    pub fn new(config: &AuthConfig) -> Self {
        let keys = config
            .api_keys
            .iter()
            .filter_map(|k| {
                let tenant = TenantId::parse(&k.tenant).ok()?;
                let principal = k
                    .principal
                    .clone()
                    .unwrap_or_else(|| format!("key:{}", &k.sha256[..12.min(k.sha256.len())]));
                Some((k.sha256.clone(), Caller { tenant, principal }))
            })
            .collect();
        Self {
            keys: Arc::new(keys),
        }
    }

    /// Whether any key is configured.
    pub fn enabled(&self) -> bool {
        !self.keys.is_empty()
    }

    /// The caller named by `headers`, or why it is refused.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, ServiceError> {
        let claimed = match headers.get(TENANT_HEADER) {
            None => None,
            Some(v) => {
                let parsed = v.to_str().ok().and_then(|s| TenantId::parse(s).ok());
                match parsed {
                    Some(t) => Some(t),
                    None => {
                        return Err(ServiceError::InvalidArgument(Violations::single(
                            TENANT_HEADER,
                            "must be 1-64 of [A-Za-z0-9_-]",
                        )));
                    }
                }
            }
        };
        if !self.enabled() {
            return Ok(Caller {
                tenant: claimed.unwrap_or_else(TenantId::default_tenant),
                principal: ANONYMOUS.to_owned(),
            });
        }
        let key = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .ok_or(ServiceError::Unauthenticated(
                "missing credentials: send `authorization: Bearer <api key>`",
            ))?;
        // Looking up the digest rather than comparing keys means the map holds
        // no secret, and timing reveals nothing about a key's bytes.
        let digest = hex(&Sha256::digest(key.as_bytes()));
        let caller = self
            .keys
            .get(&digest)
            .cloned()
            .ok_or(ServiceError::Unauthenticated("unknown API key"))?;
        match claimed {
            Some(t) if t != caller.tenant => Err(ServiceError::PermissionDenied(
                "this API key does not act for the tenant named in x-tutti-tenant",
            )),
            _ => Ok(caller),
        }
    }

    /// The tenant a refused request claimed, for the audit row.
    fn claimed_tenant(headers: &HeaderMap) -> String {
        headers
            .get(TENANT_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|s| TenantId::parse(s).is_ok())
            .unwrap_or("")
            .to_owned()
    }
}

/// Tower layer running the [`Authenticator`] before the tenant API.
#[derive(Debug, Clone)]
pub struct AuthLayer {
    authenticator: Authenticator,
}

impl AuthLayer {
    /// A layer that authenticates with `authenticator`.
    pub fn new(authenticator: Authenticator) -> Self {
        Self { authenticator }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = Auth<S>;
    fn layer(&self, inner: S) -> Auth<S> {
        Auth {
            inner,
            authenticator: self.authenticator.clone(),
        }
    }
}

/// The service [`AuthLayer`] produces.
#[derive(Debug, Clone)]
pub struct Auth<S> {
    inner: S,
    authenticator: Authenticator,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for Auth<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = http::Response<ResBody>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<ReqBody>) -> Self::Future {
        // Take the service that was driven to readiness; leave a clone behind.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        if !is_tenant_api(req.uri().path()) {
            return Box::pin(inner.call(req));
        }
        let note = req.extensions().get::<AuditNote>().cloned();
        match self.authenticator.authenticate(req.headers()) {
            Ok(caller) => {
                if let Some(note) = &note {
                    note.set_caller(caller.tenant.as_str(), &caller.principal);
                }
                req.extensions_mut().insert(caller);
                Box::pin(inner.call(req))
            }
            Err(e) => {
                if let Some(note) = &note {
                    note.set_caller(&Authenticator::claimed_tenant(req.headers()), ANONYMOUS);
                }
                let response = e.into_status().into_http();
                Box::pin(async move { Ok(response) })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ApiKeyConfig;
    use tonic::Code;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().expect("header value"));
        }
        h
    }

    fn with_key(key: &str, tenant: &str) -> Authenticator {
        Authenticator::new(&AuthConfig {
            api_keys: vec![ApiKeyConfig {
                sha256: hex(&Sha256::digest(key.as_bytes())),
                tenant: tenant.into(),
                principal: Some("ehr".into()),
            }],
        })
    }

    fn code(r: Result<Caller, ServiceError>) -> Code {
        match r {
            Ok(_) => Code::Ok,
            Err(e) => e.into_status().code(),
        }
    }

    #[test]
    fn without_keys_the_tenant_comes_from_metadata_or_default() {
        let a = Authenticator::default();
        let c = a.authenticate(&headers(&[])).expect("open");
        assert_eq!(c.tenant.as_str(), "default");
        assert_eq!(c.principal, ANONYMOUS);
        let c = a
            .authenticate(&headers(&[(TENANT_HEADER, "acme")]))
            .expect("open");
        assert_eq!(c.tenant.as_str(), "acme");
        assert_eq!(
            code(a.authenticate(&headers(&[(TENANT_HEADER, "a b")]))),
            Code::InvalidArgument
        );
    }

    #[test]
    fn with_keys_a_valid_bearer_key_is_required() {
        let a = with_key("s3cret", "acme");
        assert_eq!(code(a.authenticate(&headers(&[]))), Code::Unauthenticated);
        assert_eq!(
            code(a.authenticate(&headers(&[("authorization", "Bearer wrong")]))),
            Code::Unauthenticated
        );
        assert_eq!(
            code(a.authenticate(&headers(&[("authorization", "Basic s3cret")]))),
            Code::Unauthenticated
        );
        let c = a
            .authenticate(&headers(&[("authorization", "Bearer s3cret")]))
            .expect("valid key");
        assert_eq!(c.tenant.as_str(), "acme");
        assert_eq!(c.principal, "ehr");
    }

    #[test]
    fn a_key_cannot_act_for_another_tenant() {
        let a = with_key("s3cret", "acme");
        assert_eq!(
            code(a.authenticate(&headers(&[
                ("authorization", "Bearer s3cret"),
                (TENANT_HEADER, "other")
            ]))),
            Code::PermissionDenied
        );
        assert_eq!(
            code(a.authenticate(&headers(&[
                ("authorization", "Bearer s3cret"),
                (TENANT_HEADER, "acme")
            ]))),
            Code::Ok
        );
    }
}
