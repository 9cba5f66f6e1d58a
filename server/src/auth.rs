//! Who is calling, for which tenant, and what they may do, from request
//! metadata, for the layer in front of the `tutti.v1` services
//! ([`crate::middleware::auth`]).
//!
//! - Nothing configured: auth is off (the server refuses to start so off
//!   loopback); the tenant is `x-tutti-tenant` (or `default`), the principal
//!   `anonymous`, and every role is granted.
//! - API keys (`auth.api_keys`) and/or OAuth2 issuers (`auth.jwt`) configured:
//!   `authorization: Bearer <key or JWT>` is required (`UNAUTHENTICATED`
//!   otherwise). A key's SHA-256 is looked up, so keys are never held in plain
//!   text; a JWT is verified by [`crate::jwt`] against its issuer's JWK Set, and
//!   the tenant, principal (`sub`) and roles come from its verified claims only.
//!   An `x-tutti-tenant` naming another tenant is `PERMISSION_DENIED`.
//! - Every method needs one role ([`required_role`]): read, write, admin (the
//!   tenant's catalogue) or erase; lacking it is `PERMISSION_DENIED`.
//!
//! Health and reflection are not tenant data and stay open (load balancers and
//! `grpcurl list` call them without credentials).
//!
//! On success the layer puts the [`Caller`] into the request extensions for
//! the handlers; either way the audit note learns who called.

use crate::config::{AuthConfig, JwtIssuerConfig, Role};
use crate::convert::hex;
use crate::convert::ids::TenantId;
use crate::error::ServiceError;
use crate::error::Violations;
use crate::jwt::{self, Refusal};
use http::HeaderMap;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;

/// Metadata key naming the tenant.
pub const TENANT_HEADER: &str = "x-tutti-tenant";
/// Principal recorded when auth is off or fails.
pub const ANONYMOUS: &str = "anonymous";

/// A set of [`Role`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Roles(u8);

impl Roles {
    /// Every role.
    pub fn all() -> Self {
        Self::from_iter(Role::ALL)
    }

    fn bit(role: Role) -> u8 {
        match role {
            Role::Read => 1,
            Role::Write => 2,
            Role::Admin => 4,
            Role::Erase => 8,
        }
    }

    /// Whether `role` is in the set.
    pub fn contains(self, role: Role) -> bool {
        self.0 & Self::bit(role) != 0
    }
}

impl FromIterator<Role> for Roles {
    fn from_iter<I: IntoIterator<Item = Role>>(iter: I) -> Self {
        Self(iter.into_iter().fold(0, |acc, r| acc | Self::bit(r)))
    }
}

/// The authenticated caller of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The tenant every read and write of the request is scoped to.
    pub tenant: TenantId,
    /// Who called (for the audit log).
    pub principal: String,
    /// What they may do.
    pub roles: Roles,
}

/// Whether a request path belongs to the tenant API (authenticated, audited).
pub fn is_tenant_api(path: &str) -> bool {
    path.starts_with("/tutti.")
}

/// The role a `tutti.v1` method needs. Unknown methods need `read`, so an
/// unauthenticated caller cannot even learn which methods exist.
pub fn required_role(path: &str) -> Role {
    let method = path.rsplit('/').next().unwrap_or_default();
    match method {
        "CreateIntervention" | "UpdateIntervention" => Role::Admin,
        "DeletePerson" => Role::Erase,
        "CreatePerson"
        | "RecordAssessment"
        | "BatchRecordAssessments"
        | "IngestFhir"
        | "Recommend"
        | "RecordFeedback" => Role::Write,
        _ => Role::Read,
    }
}

/// One accepted OAuth2 issuer and its current keys.
#[derive(Debug)]
struct JwtIssuer {
    config: JwtIssuerConfig,
    keys: jwt::JwksFile,
}

/// Why the authentication settings cannot be used (stops the start-up).
#[derive(Debug, thiserror::Error)]
#[error("auth.jwt[{index}] ({path}): {reason}")]
pub struct AuthError {
    index: usize,
    path: String,
    reason: String,
}

/// Resolves callers from metadata.
#[derive(Debug, Clone, Default)]
pub struct Authenticator {
    /// SHA-256 hex of a key -> the caller it authenticates.
    keys: Arc<HashMap<String, Caller>>,
    /// Issuer (`iss`) -> its settings and keys.
    issuers: Arc<HashMap<String, JwtIssuer>>,
}

/// The claims of a bearer access token that Tutti reads (besides `iss`, `aud`,
/// `exp`, `nbf`, which [`jwt::verify`] checks).
type Claims = serde_json::Map<String, serde_json::Value>;

impl Authenticator {
    /// From the (validated) auth configuration; reads every issuer's JWK Set.
    pub fn new(config: &AuthConfig) -> Result<Self, AuthError> {
        let keys = config
            .api_keys
            .iter()
            .filter_map(|k| {
                let tenant = TenantId::parse(&k.tenant).ok()?;
                let principal = k
                    .principal
                    .clone()
                    .unwrap_or_else(|| format!("key:{}", &k.sha256[..12.min(k.sha256.len())]));
                let roles = match &k.roles {
                    Some(r) => r.iter().copied().collect(),
                    None => Roles::all(),
                };
                Some((
                    k.sha256.clone(),
                    Caller {
                        tenant,
                        principal,
                        roles,
                    },
                ))
            })
            .collect();
        let mut issuers = HashMap::new();
        for (index, j) in config.jwt.iter().enumerate() {
            let keys = jwt::JwksFile::open(&j.jwks_path).map_err(|reason| AuthError {
                index,
                path: j.jwks_path.display().to_string(),
                reason,
            })?;
            issuers.insert(
                j.issuer.clone(),
                JwtIssuer {
                    config: j.clone(),
                    keys,
                },
            );
        }
        Ok(Self {
            keys: Arc::new(keys),
            issuers: Arc::new(issuers),
        })
    }

    /// Whether any credential is configured.
    pub fn enabled(&self) -> bool {
        !self.keys.is_empty() || !self.issuers.is_empty()
    }

    /// Re-reads JWK Set files that changed since they were read (key rotation
    /// without a restart). A file that does not load keeps the old keys.
    pub fn reload(&self, force: bool) {
        for issuer in self.issuers.values() {
            issuer.keys.reload(force);
        }
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
                roles: Roles::all(),
            });
        }
        let token = jwt::bearer(
            headers
                .get(http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok()),
        )
        .map_err(|_| {
            ServiceError::Unauthenticated(
                "missing credentials: send `authorization: Bearer <API key or access token>`",
            )
        })?;
        // Looking up the digest rather than comparing keys means the map holds
        // no secret, and timing reveals nothing about a key's bytes.
        let digest = hex(&Sha256::digest(token.as_bytes()));
        let caller = match self.keys.get(&digest) {
            Some(c) => c.clone(),
            None if !self.issuers.is_empty() && jwt::looks_like_jwt(token) => {
                self.verify_jwt(token).map_err(|r| {
                    tracing::debug!(reason = r.as_str(), "bearer token refused");
                    ServiceError::Unauthenticated("invalid access token")
                })?
            }
            None => return Err(ServiceError::Unauthenticated("unknown API key")),
        };
        match claimed {
            Some(t) if t != caller.tenant => Err(ServiceError::PermissionDenied(
                "these credentials do not act for the tenant named in x-tutti-tenant",
            )),
            _ => Ok(caller),
        }
    }

    /// A verified access token's caller: tenant, principal and roles from its claims only.
    fn verify_jwt(&self, token: &str) -> Result<Caller, Refusal> {
        let (header, iss) = jwt::inspect(token)?;
        let issuer = self.issuers.get(&iss).ok_or(Refusal::Issuer)?;
        let keys = issuer.keys.keys();
        let c = &issuer.config;
        let claims: Claims = jwt::verify(
            token,
            &header,
            &keys,
            &iss,
            std::slice::from_ref(&c.audience),
            c.leeway_seconds,
        )?;
        let tenant = claims
            .get(&c.tenant_claim)
            .and_then(serde_json::Value::as_str)
            .and_then(|t| TenantId::parse(t).ok())
            .ok_or(Refusal::Invalid)?;
        let subject = claims
            .get("sub")
            .and_then(serde_json::Value::as_str)
            .filter(|s| !s.is_empty() && s.len() <= 100 && !s.chars().any(char::is_control))
            .ok_or(Refusal::Invalid)?;
        let roles = match claims.get(&c.roles_claim) {
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .filter_map(serde_json::Value::as_str)
                .filter_map(parse_role)
                .collect(),
            Some(serde_json::Value::String(s)) => {
                s.split_whitespace().filter_map(parse_role).collect()
            }
            _ => Roles::default(),
        };
        Ok(Caller {
            tenant,
            principal: format!("jwt:{subject}"),
            roles,
        })
    }

    /// `PERMISSION_DENIED` unless `caller` has `role`.
    pub fn require(caller: &Caller, role: Role) -> Result<(), ServiceError> {
        if caller.roles.contains(role) {
            Ok(())
        } else {
            Err(ServiceError::RoleRequired(role))
        }
    }

    /// The tenant a refused request claimed, for the audit row.
    pub fn claimed_tenant(headers: &HeaderMap) -> String {
        headers
            .get(TENANT_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|s| TenantId::parse(s).is_ok())
            .unwrap_or("")
            .to_owned()
    }
}

fn parse_role(s: &str) -> Option<Role> {
    Role::ALL.into_iter().find(|r| r.as_str() == s)
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
                roles: Some(vec![Role::Read, Role::Write]),
            }],
            jwt: vec![],
        })
        .expect("no JWKS to read")
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
    fn each_method_needs_its_role() {
        let a = with_key("s3cret", "acme");
        let c = a
            .authenticate(&headers(&[("authorization", "Bearer s3cret")]))
            .expect("valid key");
        let m = |name: &str| required_role(&format!("/tutti.v1.X/{name}"));
        assert!(Authenticator::require(&c, m("GetPerson")).is_ok());
        assert!(Authenticator::require(&c, m("Recommend")).is_ok());
        assert_eq!(
            Authenticator::require(&c, m("DeletePerson"))
                .expect_err("no erase")
                .into_status()
                .code(),
            Code::PermissionDenied
        );
        assert_eq!(m("CreateIntervention"), Role::Admin);
        assert_eq!(m("NoSuchMethod"), Role::Read);
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
