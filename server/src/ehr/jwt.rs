//! Who is calling a CDS service: the EHR's signed JWT (CDS Hooks 2.0.1,
//! "Trusting CDS Clients"), checked on every call, discovery included.
//!
//! A call is accepted only if all of these hold, in this order:
//! - `Authorization: Bearer <JWT>` is present;
//! - the header's `alg` is RS256, RS384, ES256 or ES384 (the spec's EHRs sign
//!   with ES384 or RS384): `none` does not even parse,
//!   and HMAC algorithms are refused before any key is looked at, so a token
//!   "signed" with the public key as an HMAC secret never reaches a verifier;
//! - the (not yet verified) `iss` is on the allow-list ([`crate::config::IssuerConfig`]);
//!   only then is that issuer's JWK Set consulted, and `kid` must name one of
//!   its keys whose own `alg`, when given, matches the header's;
//! - the signature verifies, `iss` matches, `aud` is this service's URL for the
//!   endpoint called, `exp` has not passed and `nbf` (when present) has, with
//!   the configured leeway; `iat` and `jti` are present;
//! - the `jti` has not been claimed by an earlier call from this issuer
//!   whose token has not yet expired ([`Verified`], checked by the caller
//!   against the storage).
//!
//! The tenant comes from the verified issuer, never from the request. A `jku`
//! header is not followed: keys come from the configured JWKS file only.
//! Any failure is a bare 401; the reason goes to the log as a fixed word,
//! never with the token or its claims.
//!
//! Keys come from each issuer's JWK Set file, re-read when it changes (the
//! server's reloader: every `tls.reload_seconds` and on SIGHUP), so an EHR's
//! key rotation needs no restart; a file that does not load keeps the old keys.
//!
//! Replay protection lives in the storage (`Storage::claim_token`), not in
//! the process: every replica on one database sees every claim, and a restart
//! forgets none.

use crate::config::{EhrConfig, IssuerConfig};
use crate::convert::ids::TenantId;
pub use crate::jwt::{ALLOWED_ALGORITHMS, Refusal};
use serde::Deserialize;
use std::collections::HashMap;

/// Why a configured issuer cannot be used (stops the start-up).
#[derive(Debug, thiserror::Error)]
#[error("ehr.issuers[{index}] ({path}): {reason}")]
pub struct JwksError {
    index: usize,
    path: String,
    reason: String,
}

/// The verified caller of a CDS call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EhrCaller {
    /// The tenant of the issuer.
    pub tenant: TenantId,
    /// The verified issuer.
    pub iss: String,
}

/// A token whose signature and claims verified; the call is accepted once
/// its `jti` is claimed against replay (`Storage::claim_token` with
/// [`CdsAuth::expired_before`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Who is calling.
    pub caller: EhrCaller,
    /// The token's id.
    pub jti: String,
    /// When it expires (Unix seconds).
    pub exp: i64,
}

#[derive(Debug)]
struct Issuer {
    tenant: TenantId,
    keys: crate::jwt::JwksFile,
}

/// Verifies CDS clients' JWTs.
#[derive(Debug)]
pub struct CdsAuth {
    issuers: HashMap<String, Issuer>,
    public_url: Option<String>,
    leeway: u64,
}

#[derive(Deserialize)]
struct Claims {
    exp: i64,
    // Required by the spec; its value is not used.
    #[allow(dead_code)] // read only to require the claim
    iat: i64,
    jti: String,
}

impl CdsAuth {
    /// Loads every issuer's JWK Set; a missing or unreadable file stops the start-up.
    pub fn load(config: &EhrConfig) -> Result<Self, JwksError> {
        let mut issuers = HashMap::new();
        for (
            index,
            IssuerConfig {
                iss,
                tenant,
                jwks_path,
                smart: _,
            },
        ) in config.issuers.iter().enumerate()
        {
            let err = |reason: String| JwksError {
                index,
                path: jwks_path.display().to_string(),
                reason,
            };
            let keys = crate::jwt::JwksFile::open(jwks_path).map_err(err)?;
            let tenant = TenantId::parse(tenant).map_err(|e| err(e.to_string()))?;
            issuers.insert(iss.clone(), Issuer { tenant, keys });
        }
        Ok(Self {
            issuers,
            public_url: config.public_url.clone(),
            leeway: config.jwt_leeway_seconds,
        })
    }

    /// Re-reads issuers' JWK Set files that changed (every one with
    /// `force`): an EHR's key rotation needs no restart.
    pub fn reload(&self, force: bool) {
        for issuer in self.issuers.values() {
            issuer.keys.reload(force);
        }
    }

    /// The `aud` values accepted for a call to `path`: the endpoint's URL and,
    /// for a feedback endpoint, its service's URL too (clients differ on which
    /// they sign for feedback).
    fn audiences(&self, path: &str) -> Vec<String> {
        let Some(base) = &self.public_url else {
            return Vec::new();
        };
        let mut out = vec![format!("{base}{path}")];
        if let Some(service) = path.strip_suffix("/feedback") {
            out.push(format!("{base}{service}"));
        }
        out
    }

    /// Claims of tokens that expired before this, at `now` (Unix seconds),
    /// are dead: the leeway past `exp` that verification allows.
    pub fn expired_before(&self, now: i64) -> i64 {
        now.saturating_sub(i64::try_from(self.leeway).unwrap_or(i64::MAX))
    }

    /// Checks the bearer token of a call to `path`: everything but replay,
    /// which needs the storage (see [`Verified`]).
    pub fn verify(&self, authorization: Option<&str>, path: &str) -> Result<Verified, Refusal> {
        let token = crate::jwt::bearer(authorization)?;
        let (header, iss) = crate::jwt::inspect(token)?;
        let issuer = self.issuers.get(&iss).ok_or(Refusal::Issuer)?;
        let claims: Claims = crate::jwt::verify(
            token,
            &header,
            &issuer.keys.keys(),
            &iss,
            &self.audiences(path),
            self.leeway,
        )?;
        if claims.jti.is_empty() {
            return Err(Refusal::Invalid);
        }
        Ok(Verified {
            caller: EhrCaller {
                tenant: issuer.tenant.clone(),
                iss,
            },
            jti: claims.jti,
            exp: claims.exp,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feedback_accepts_the_endpoint_or_its_service_as_audience() {
        let auth = CdsAuth {
            issuers: HashMap::new(),
            public_url: Some("https://t.example".into()),
            leeway: 0,
        };
        assert_eq!(
            auth.audiences("/cds-services/x/feedback"),
            vec![
                "https://t.example/cds-services/x/feedback".to_owned(),
                "https://t.example/cds-services/x".to_owned()
            ]
        );
        assert_eq!(
            auth.audiences("/cds-services"),
            vec!["https://t.example/cds-services".to_owned()]
        );
    }

    #[test]
    fn none_and_hmac_tokens_are_refused_before_any_key() {
        let auth = CdsAuth {
            issuers: HashMap::new(),
            public_url: Some("https://t.example".into()),
            leeway: 0,
        };
        // {"alg":"none","typ":"JWT"}.{"iss":"x"}.
        let none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJpc3MiOiJ4In0.";
        assert!(
            auth.verify(Some(&format!("Bearer {none}")), "/cds-services")
                .is_err()
        );
        // {"alg":"HS256","typ":"JWT"}.{"iss":"x"}.sig
        let hs = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJ4In0.c2ln";
        assert_eq!(
            auth.verify(Some(&format!("Bearer {hs}")), "/cds-services"),
            Err(Refusal::Algorithm)
        );
        assert_eq!(auth.verify(None, "/cds-services"), Err(Refusal::Missing));
    }
}
