//! Who is calling a CDS service: the EHR's signed JWT (CDS Hooks 2.0.1,
//! "Trusting CDS Clients"), checked on every call, discovery included.
//!
//! A call is accepted only if all of these hold, in this order:
//! - `Authorization: Bearer <JWT>` is present;
//! - the header's `alg` is RS256, ES256 or ES384: `none` does not even parse,
//!   and HMAC algorithms are refused before any key is looked at, so a token
//!   "signed" with the public key as an HMAC secret never reaches a verifier;
//! - the (not yet verified) `iss` is on the allow-list ([`crate::config::IssuerConfig`]);
//!   only then is that issuer's JWK Set consulted, and `kid` must name one of
//!   its keys whose own `alg`, when given, matches the header's;
//! - the signature verifies, `iss` matches, `aud` is this service's URL for the
//!   endpoint called, `exp` has not passed and `nbf` (when present) has, with
//!   the configured leeway; `iat` and `jti` are present;
//! - the `jti` has not been seen from this issuer before its token expired.
//!
//! The tenant comes from the verified issuer, never from the request. A `jku`
//! header is not followed: keys come from the configured JWKS file only.
//! Any failure is a bare 401; the reason goes to the log as a fixed word,
//! never with the token or its claims.
//!
//! Replay protection is an in-process cache of `(iss, jti)` until the token's
//! `exp`. Tokens live minutes, so a restart opens at most that window; several
//! replicas behind one URL would need a shared store (not built yet).

use crate::config::{EhrConfig, IssuerConfig};
use crate::convert::ids::TenantId;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

/// The algorithms an EHR may sign with (asymmetric only, per the spec).
pub const ALLOWED_ALGORITHMS: [Algorithm; 3] =
    [Algorithm::RS256, Algorithm::ES256, Algorithm::ES384];

/// Most `(iss, jti)` pairs remembered; past it, expired ones are dropped first
/// and a full cache refuses new tokens rather than forget live ones.
const MAX_REMEMBERED: usize = 200_000;

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

/// Why a token was refused; logged as a word, answered as a bare 401.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No bearer token.
    Missing,
    /// Not a JWT, or a header or payload that does not decode.
    Malformed,
    /// `alg` outside RS256/ES256/ES384.
    Algorithm,
    /// `iss` not on the allow-list.
    Issuer,
    /// No `kid`, or none of the issuer's keys has it.
    UnknownKey,
    /// Signature, `aud`, `exp`, `nbf` or a required claim failed.
    Invalid,
    /// The `jti` was seen before.
    Replayed,
}

impl Refusal {
    /// The word logged for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Missing => "missing_token",
            Refusal::Malformed => "malformed_token",
            Refusal::Algorithm => "algorithm_not_allowed",
            Refusal::Issuer => "issuer_not_allowed",
            Refusal::UnknownKey => "unknown_key",
            Refusal::Invalid => "invalid_token",
            Refusal::Replayed => "replayed_jti",
        }
    }
}

#[derive(Debug)]
struct Issuer {
    tenant: TenantId,
    keys: JwkSet,
}

/// Verifies CDS clients' JWTs.
#[derive(Debug)]
pub struct CdsAuth {
    issuers: HashMap<String, Issuer>,
    public_url: Option<String>,
    leeway: u64,
    seen: Mutex<HashMap<(String, String), i64>>,
}

#[derive(Deserialize)]
struct Peek {
    iss: Option<String>,
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
            },
        ) in config.issuers.iter().enumerate()
        {
            let err = |reason: String| JwksError {
                index,
                path: jwks_path.display().to_string(),
                reason,
            };
            let text = std::fs::read_to_string(jwks_path).map_err(|e| err(e.to_string()))?;
            let keys: JwkSet =
                serde_json::from_str(&text).map_err(|e| err(format!("not a JWK Set: {e}")))?;
            if keys.keys.is_empty() {
                return Err(err("the JWK Set has no keys".into()));
            }
            for k in &keys.keys {
                if k.common.key_id.is_none() {
                    return Err(err("every key needs a `kid`".into()));
                }
                DecodingKey::from_jwk(k).map_err(|e| err(format!("unusable key: {e}")))?;
            }
            let tenant = TenantId::parse(tenant).map_err(|e| err(e.to_string()))?;
            issuers.insert(iss.clone(), Issuer { tenant, keys });
        }
        Ok(Self {
            issuers,
            public_url: config.public_url.clone(),
            leeway: config.jwt_leeway_seconds,
            seen: Mutex::new(HashMap::new()),
        })
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

    /// Checks the bearer token of a call to `path` at `now` (Unix seconds).
    pub fn verify(
        &self,
        authorization: Option<&str>,
        path: &str,
        now: i64,
    ) -> Result<EhrCaller, Refusal> {
        let token = authorization
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(Refusal::Missing)?;
        let header = jsonwebtoken::decode_header(token).map_err(|_| Refusal::Malformed)?;
        if !ALLOWED_ALGORITHMS.contains(&header.alg) {
            return Err(Refusal::Algorithm);
        }
        let iss = peek_issuer(token)?;
        let issuer = self.issuers.get(&iss).ok_or(Refusal::Issuer)?;
        let kid = header.kid.as_deref().ok_or(Refusal::UnknownKey)?;
        let jwk = issuer.keys.find(kid).ok_or(Refusal::UnknownKey)?;
        if let Some(alg) = jwk.common.key_algorithm
            && format!("{alg:?}") != format!("{:?}", header.alg)
        {
            return Err(Refusal::Algorithm);
        }
        let key = DecodingKey::from_jwk(jwk).map_err(|_| Refusal::UnknownKey)?;
        let audiences = self.audiences(path);
        if audiences.is_empty() {
            return Err(Refusal::Invalid);
        }
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[iss.as_str()]);
        validation.set_audience(&audiences);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.leeway = self.leeway;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        let claims = jsonwebtoken::decode::<Claims>(token, &key, &validation)
            .map_err(|_| Refusal::Invalid)?
            .claims;
        if claims.jti.is_empty() {
            return Err(Refusal::Invalid);
        }
        self.remember(&iss, claims.jti, claims.exp, now)?;
        Ok(EhrCaller {
            tenant: issuer.tenant.clone(),
            iss,
        })
    }

    /// Records a verified token's `jti` until it expires; seen before: replay.
    fn remember(&self, iss: &str, jti: String, exp: i64, now: i64) -> Result<(), Refusal> {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let leeway = i64::try_from(self.leeway).unwrap_or(i64::MAX);
        if seen.len() >= MAX_REMEMBERED {
            seen.retain(|_, until| *until + leeway >= now);
            if seen.len() >= MAX_REMEMBERED {
                return Err(Refusal::Replayed);
            }
        }
        let key = (iss.to_owned(), jti);
        match seen.get(&key) {
            Some(until) if *until + leeway >= now => Err(Refusal::Replayed),
            _ => {
                seen.insert(key, exp);
                Ok(())
            }
        }
    }
}

/// The `iss` claim before verification, only to pick the issuer's keys.
fn peek_issuer(token: &str) -> Result<String, Refusal> {
    let payload = token.split('.').nth(1).ok_or(Refusal::Malformed)?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| Refusal::Malformed)?;
    let peek: Peek = serde_json::from_slice(&bytes).map_err(|_| Refusal::Malformed)?;
    peek.iss.ok_or(Refusal::Issuer)
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
            seen: Mutex::new(HashMap::new()),
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
    fn a_jti_is_refused_until_its_token_expired() {
        let auth = CdsAuth {
            issuers: HashMap::new(),
            public_url: None,
            leeway: 0,
            seen: Mutex::new(HashMap::new()),
        };
        assert_eq!(auth.remember("i", "j".into(), 100, 50), Ok(()));
        assert_eq!(
            auth.remember("i", "j".into(), 100, 60),
            Err(Refusal::Replayed)
        );
        assert_eq!(auth.remember("other", "j".into(), 100, 60), Ok(()));
        assert_eq!(auth.remember("i", "j".into(), 300, 101), Ok(()));
    }

    #[test]
    fn none_and_hmac_tokens_are_refused_before_any_key() {
        let auth = CdsAuth {
            issuers: HashMap::new(),
            public_url: Some("https://t.example".into()),
            leeway: 0,
            seen: Mutex::new(HashMap::new()),
        };
        // {"alg":"none","typ":"JWT"}.{"iss":"x"}.
        let none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJpc3MiOiJ4In0.";
        assert!(
            auth.verify(Some(&format!("Bearer {none}")), "/cds-services", 0)
                .is_err()
        );
        // {"alg":"HS256","typ":"JWT"}.{"iss":"x"}.sig
        let hs = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJ4In0.c2ln";
        assert_eq!(
            auth.verify(Some(&format!("Bearer {hs}")), "/cds-services", 0),
            Err(Refusal::Algorithm)
        );
        assert_eq!(auth.verify(None, "/cds-services", 0), Err(Refusal::Missing));
    }
}
