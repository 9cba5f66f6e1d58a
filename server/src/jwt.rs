//! The one JWT verifier: checks shared by the EHR's CDS Hooks tokens
//! ([`crate::ehr::jwt`]) and OAuth2 bearer access tokens on the API
//! ([`crate::auth`]). Keys come only from configured JWK Set files.
//!
//! A token is verified in this order, so that nothing an attacker controls
//! picks a key or an algorithm before the allow-lists have spoken:
//! - the header's `alg` must be RS256, RS384, ES256 or ES384 (CDS Hooks 2.0.1
//!   names ES384 and RS384 as the EHR's; RS256 and ES256 are what OAuth2
//!   issuers commonly sign with): `none` does not even
//!   parse, and HMAC algorithms are refused before any key is looked at, so a
//!   token "signed" with the public key as an HMAC secret never reaches a verifier;
//! - the (not yet verified) `iss` picks the caller's JWK Set, and `kid` must name
//!   one of its keys whose own `alg`, when given, matches the header's. A
//!   token without `kid` (RFC 7515 makes it optional, and issuers with one
//!   key often leave it out) is checked against the one key of the set that
//!   could have signed with its `alg`; if several could, it is refused, so
//!   no key is ever guessed;
//! - the signature verifies, and `iss`, `aud`, `exp` and `nbf` (when present)
//!   hold, with the configured leeway.
//!
//! Refusals are fixed words ([`Refusal`]), never the token or its claims.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::SystemTime;

/// The algorithms accepted (asymmetric only), for CDS Hooks and bearer tokens alike.
pub const ALLOWED_ALGORITHMS: [Algorithm; 4] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::ES256,
    Algorithm::ES384,
];

/// Why a token was refused; logged as a word, answered without detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No bearer token.
    Missing,
    /// Not a JWT, or a header or payload that does not decode.
    Malformed,
    /// `alg` outside RS256/RS384/ES256/ES384.
    Algorithm,
    /// `iss` not on the allow-list.
    Issuer,
    /// No key of the issuer's has the `kid`, or without `kid` not exactly one could have signed.
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

/// Reads a JWK Set file: every key must be usable for verification, and
/// needs a `kid` unless it is the set's only key.
pub fn load_jwks(path: &Path) -> Result<JwkSet, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let keys: JwkSet = serde_json::from_str(&text).map_err(|e| format!("not a JWK Set: {e}"))?;
    if keys.keys.is_empty() {
        return Err("the JWK Set has no keys".into());
    }
    for k in &keys.keys {
        if k.common.key_id.is_none() && keys.keys.len() > 1 {
            return Err("every key of a set with several needs a `kid`".into());
        }
        DecodingKey::from_jwk(k).map_err(|e| format!("unusable key: {e}"))?;
    }
    Ok(keys)
}

fn mtime(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// A JWK Set file and the keys last read from it. [`JwksFile::reload`]
/// re-reads it when its modification time changed, so an issuer's key
/// rotation needs no restart; the server's reloader calls it for bearer and
/// CDS Hooks issuers alike (every `tls.reload_seconds` and on SIGHUP).
#[derive(Debug)]
pub struct JwksFile {
    path: PathBuf,
    keys: RwLock<(Arc<JwkSet>, Option<SystemTime>)>,
}

impl JwksFile {
    /// Reads `path` ([`load_jwks`]); an unusable file is an error.
    pub fn open(path: &Path) -> Result<Self, String> {
        // The time is taken before the read: a change racing the read is
        // seen as a change on the next reload, never missed.
        let seen = mtime(path);
        let keys = load_jwks(path)?;
        Ok(Self {
            path: path.to_owned(),
            keys: RwLock::new((Arc::new(keys), seen)),
        })
    }

    /// The current keys.
    pub fn keys(&self) -> Arc<JwkSet> {
        Arc::clone(&self.keys.read().unwrap_or_else(PoisonError::into_inner).0)
    }

    /// Re-reads the file if it changed since it was read (always with
    /// `force`). A file that does not load keeps the old keys.
    pub fn reload(&self, force: bool) {
        let now = mtime(&self.path);
        let seen = self.keys.read().unwrap_or_else(PoisonError::into_inner).1;
        if !force && now == seen {
            return;
        }
        match load_jwks(&self.path) {
            Ok(set) => {
                *self.keys.write().unwrap_or_else(PoisonError::into_inner) = (Arc::new(set), now);
                tracing::info!(path = %self.path.display(), "JWK Set reloaded");
            }
            Err(reason) => {
                tracing::error!(path = %self.path.display(), %reason, "JWK Set not reloaded; keeping the old keys");
            }
        }
    }
}

/// The token of an `Authorization: Bearer <token>` header value.
pub fn bearer(authorization: Option<&str>) -> Result<&str, Refusal> {
    authorization
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(Refusal::Missing)
}

/// Whether `token` has the shape of a compact JWS (three base64url parts).
pub fn looks_like_jwt(token: &str) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    parts.len() == 3
        && parts[..2].iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

#[derive(Deserialize)]
struct Peek {
    iss: Option<String>,
}

/// A token's header (with an allowed `alg`) and unverified `iss`, only to pick
/// the issuer's keys.
pub fn inspect(token: &str) -> Result<(Header, String), Refusal> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| Refusal::Malformed)?;
    if !ALLOWED_ALGORITHMS.contains(&header.alg) {
        return Err(Refusal::Algorithm);
    }
    let payload = token.split('.').nth(1).ok_or(Refusal::Malformed)?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| Refusal::Malformed)?;
    let peek: Peek = serde_json::from_slice(&bytes).map_err(|_| Refusal::Malformed)?;
    Ok((header, peek.iss.ok_or(Refusal::Issuer)?))
}

/// Whether `jwk` names its own `alg` and it is not `alg`.
fn names_another(jwk: &Jwk, alg: Algorithm) -> bool {
    // Two enums of the same names (a JWK's and a header's).
    jwk.common
        .key_algorithm
        .is_some_and(|a| format!("{a:?}") != format!("{alg:?}"))
}

/// The one key of `keys` that could have signed with `alg`: its type and
/// curve fit the algorithm, its own `alg` (if any) is `alg`, and it is not
/// marked for encryption. `None` when no key or several keys could.
fn only_key_for(keys: &JwkSet, alg: Algorithm) -> Option<&Jwk> {
    let fits = |k: &&Jwk| {
        let shape = match (&k.algorithm, alg) {
            (AlgorithmParameters::RSA(_), Algorithm::RS256 | Algorithm::RS384) => true,
            (AlgorithmParameters::EllipticCurve(ec), Algorithm::ES256) => {
                ec.curve == EllipticCurve::P256
            }
            (AlgorithmParameters::EllipticCurve(ec), Algorithm::ES384) => {
                ec.curve == EllipticCurve::P384
            }
            _ => false,
        };
        let signs = k.common.public_key_use != Some(PublicKeyUse::Encryption);
        shape && !names_another(k, alg) && signs
    };
    let mut fitting = keys.keys.iter().filter(fits);
    match (fitting.next(), fitting.next()) {
        (Some(k), None) => Some(k),
        _ => None,
    }
}

/// Verifies `token` (already [`inspect`]ed) with the issuer's `keys`: the key
/// named by `kid` (or, without one, the only key that fits its `alg`), the
/// signature, `iss`, one of `audiences`, `exp` and `nbf`.
pub fn verify<C: DeserializeOwned>(
    token: &str,
    header: &Header,
    keys: &JwkSet,
    iss: &str,
    audiences: &[String],
    leeway: u64,
) -> Result<C, Refusal> {
    let jwk = match header.kid.as_deref() {
        Some(kid) => keys.find(kid),
        None => only_key_for(keys, header.alg),
    }
    .ok_or(Refusal::UnknownKey)?;
    if names_another(jwk, header.alg) {
        return Err(Refusal::Algorithm);
    }
    let key = DecodingKey::from_jwk(jwk).map_err(|_| Refusal::UnknownKey)?;
    if audiences.is_empty() {
        return Err(Refusal::Invalid);
    }
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[iss]);
    validation.set_audience(audiences);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    validation.leeway = leeway;
    validation.validate_exp = true;
    validation.validate_nbf = true;
    jsonwebtoken::decode::<C>(token, &key, &validation)
        .map(|d| d.claims)
        .map_err(|_| Refusal::Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_and_hmac_headers_are_refused_before_any_key() {
        // {"alg":"none","typ":"JWT"}.{"iss":"x"}.
        let none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJpc3MiOiJ4In0.";
        assert!(inspect(none).is_err());
        // {"alg":"HS256","typ":"JWT"}.{"iss":"x"}.sig
        let hs = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJ4In0.c2ln";
        assert_eq!(inspect(hs).map(|_| ()), Err(Refusal::Algorithm));
        assert!(looks_like_jwt(hs));
        assert!(!looks_like_jwt("acme-secret-key"));
        assert_eq!(bearer(None), Err(Refusal::Missing));
        assert_eq!(bearer(Some("Bearer  t ")), Ok("t"));
    }

    #[test]
    fn only_a_single_key_set_may_leave_out_kid() {
        let fixture: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/fixtures/ehr/jwks.json"))
                .expect("fixture");
        let without_kid = |n: usize| {
            let mut keys: Vec<serde_json::Value> =
                fixture["keys"].as_array().expect("keys")[..n].to_vec();
            keys[0].as_object_mut().expect("key").remove("kid");
            serde_json::json!({ "keys": keys }).to_string()
        };
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("jwks.json");
        std::fs::write(&path, without_kid(1)).expect("write");
        let one = load_jwks(&path).expect("one key without kid loads");
        assert!(only_key_for(&one, Algorithm::RS256).is_some());
        assert!(
            only_key_for(&one, Algorithm::RS384).is_none(),
            "its alg is RS256"
        );
        assert!(only_key_for(&one, Algorithm::ES256).is_none());
        std::fs::write(&path, without_kid(2)).expect("write");
        assert!(load_jwks(&path).is_err(), "two keys, one without kid");
    }
}
