//! The OpenID Connect `id_token` of a SMART launch (OpenID Connect Core 1.0,
//! 3.1.3.7): who signed in at the EHR, so the launch's audit row names the
//! clinician and not only the EHR. It owns where an EHR's id_tokens are
//! checked against ([`OidcIssuer`]: the `issuer` and `jwks_uri` of its
//! discovery documents), a short per-issuer cache of the keys fetched from
//! that `jwks_uri`, and the check itself, which is the server's one JWT
//! verifier ([`crate::jwt`]): `alg` on the allow-list (RS256, RS384, ES256,
//! ES384; `none` and HMAC refused before any key is fetched), `kid` naming a
//! key of the set, the signature, `iss` equal to the discovery's `issuer`,
//! `aud` containing the client id, `exp` (and `nbf`) with the configured
//! leeway; here also `sub` present, `iat` not in the future and `azp`, when
//! present, equal to the client id.
//!
//! Nothing is fetched from a URL the token names: the keys come from the
//! `jwks_uri` that the discovery documents of a configured FHIR base gave at
//! the launch (carried to the callback in the signed pending-launch cookie),
//! and the token's own `iss` only has to equal the discovery's `issuer`. It
//! must not log the token or its claims: refusals are [`Refusal`] words.

use super::fhir_client::FhirClient;
use crate::jwt::{self, Refusal};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// How long fetched keys are used before they are fetched again (seconds).
/// A `kid` the cached set lacks fetches them again at once (key rotation).
pub const KEYS_TTL_SECONDS: i64 = 300;

/// Where one EHR's id_tokens come from: the `issuer` its tokens must name
/// and the `jwks_uri` holding its keys, as its discovery documents say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OidcIssuer {
    /// The `issuer` of the discovery document; the id_token's `iss` must equal it.
    pub issuer: String,
    /// The `jwks_uri` of the discovery document.
    pub jwks_uri: String,
}

/// An `id_token` as the token response carries it; never printed.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IdToken(String);

impl std::fmt::Debug for IdToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdToken(..)")
    }
}

/// The verified claims Tutti uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    /// The `fhirUser` claim (SMART App Launch 2.x): the signed-in user's
    /// FHIR resource, relative (`Practitioner/123`) or absolute.
    pub fhir_user: Option<String>,
}

/// Why an id_token was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdTokenError {
    /// The token failed a check (a 401).
    Refused(Refusal),
    /// The EHR's keys could not be read (a 502): nothing to check against.
    KeysUnavailable,
}

#[derive(Deserialize)]
struct Claims {
    iat: i64,
    // Required by OpenID Connect Core 2; the principal comes from `fhirUser`.
    #[allow(dead_code)] // read only to require the claim
    sub: String,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default, rename = "fhirUser")]
    fhir_user: Option<String>,
}

/// A JWK Set document, each key parsed on its own so that a key of a kind
/// the verifier does not know (an encryption key, say) does not hide the
/// others.
#[derive(Deserialize)]
struct RawSet {
    keys: Vec<serde_json::Value>,
}

/// Keys fetched from `jwks_uri`s, kept [`KEYS_TTL_SECONDS`] per issuer.
#[derive(Debug, Default)]
pub struct KeyCache {
    sets: Mutex<HashMap<String, (i64, Arc<JwkSet>)>>,
}

impl KeyCache {
    fn cached(&self, uri: &str, now: i64) -> Option<Arc<JwkSet>> {
        let sets = self.sets.lock().unwrap_or_else(PoisonError::into_inner);
        sets.get(uri)
            .filter(|(at, _)| now.saturating_sub(*at) < KEYS_TTL_SECONDS)
            .map(|(_, keys)| Arc::clone(keys))
    }

    async fn fetch(
        &self,
        http: &FhirClient,
        uri: &str,
        now: i64,
    ) -> Result<Arc<JwkSet>, IdTokenError> {
        let raw: RawSet = http.document(uri).await.map_err(|what| {
            tracing::warn!(problem = what, "smart id_token keys unusable");
            IdTokenError::KeysUnavailable
        })?;
        let keys: Vec<Jwk> = raw
            .keys
            .into_iter()
            .filter_map(|k| serde_json::from_value(k).ok())
            .collect();
        let keys = Arc::new(JwkSet { keys });
        let mut sets = self.sets.lock().unwrap_or_else(PoisonError::into_inner);
        // Stale sets go, so the cache holds only what is in use.
        sets.retain(|_, (at, _)| now.saturating_sub(*at) < KEYS_TTL_SECONDS);
        sets.insert(uri.to_owned(), (now, Arc::clone(&keys)));
        drop(sets);
        Ok(keys)
    }

    /// Verifies `token` from `issuer` for `client_id` at `now` (Unix seconds).
    pub async fn verify(
        &self,
        http: &FhirClient,
        issuer: &OidcIssuer,
        client_id: &str,
        token: &IdToken,
        leeway: u64,
        now: i64,
    ) -> Result<SignedIn, IdTokenError> {
        let token = token.0.as_str();
        // The algorithm allow-list speaks before any key is fetched.
        let (header, _) = jwt::inspect(token).map_err(IdTokenError::Refused)?;
        let audiences = [client_id.to_owned()];
        let check = |keys: &JwkSet| {
            jwt::verify::<Claims>(token, &header, keys, &issuer.issuer, &audiences, leeway)
        };
        let claims = match self.cached(&issuer.jwks_uri, now) {
            Some(keys) => match check(&keys) {
                // The EHR may have rotated its keys since they were fetched.
                Err(Refusal::UnknownKey) => check(&*self.fetch(http, &issuer.jwks_uri, now).await?),
                other => other,
            },
            None => check(&*self.fetch(http, &issuer.jwks_uri, now).await?),
        }
        .map_err(IdTokenError::Refused)?;
        let leeway = i64::try_from(leeway).unwrap_or(i64::MAX);
        if claims.iat > now.saturating_add(leeway) {
            return Err(IdTokenError::Refused(Refusal::Invalid));
        }
        if claims.azp.as_deref().is_some_and(|azp| azp != client_id) {
            return Err(IdTokenError::Refused(Refusal::Invalid));
        }
        Ok(SignedIn {
            fhir_user: claims.fhir_user,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_token_is_never_printed() {
        let t = IdToken("eyJ.secret.sig".into());
        assert_eq!(format!("{t:?}"), "IdToken(..)");
    }
}
