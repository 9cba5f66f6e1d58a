//! Tokens of the clinician app, signed with `ehr.launch_key` (HS256).
//!
//! A card's link carries a *launch token*: short-lived
//! (`ehr.launch_ttl_seconds`), scoped to one tenant, one pseudonymous person
//! and a decision. The app exchanges it once (`POST /ehr/app/session`) for a
//! *session token* (`ehr.session_ttl_seconds`) that it keeps in memory and
//! sends as a bearer header; the launch token is then dropped from the
//! address bar. Neither names the patient. "Once" is a claim on the launch
//! token's id in the storage (`Storage::claim_token`, issuer
//! [`LAUNCH_ISSUER`]), so it holds across replicas and restarts.
//!
//! Where an EHR launches the app as a SMART app ([`super::smart`]), the
//! EHR's authorization server vouches for the launch instead, and the
//! callback hands the app a launch token of its own making, so both paths
//! end in the same session. The SMART flow's pending state (its PKCE
//! verifier among it) is signed here too ([`Launcher::seal`]), for the
//! browser to carry from the launch to the callback.

use crate::config::Secret;
use crate::convert::ids::{PersonId, TenantId, new_uuid};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
const LAUNCH: &str = "tutti-app-launch";
/// The issuer launch tokens' single-use claims are stored under.
pub const LAUNCH_ISSUER: &str = LAUNCH;
const SESSION: &str = "tutti-app-session";

/// What a launch or session token grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// `tutti-app-launch` or `tutti-app-session`.
    aud: String,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// Issued at, Unix seconds.
    iat: i64,
    /// Unique id (launch tokens are single-use).
    pub jti: String,
    /// Tenant.
    pub tenant: String,
    /// Pseudonymous person id.
    pub person: String,
    /// The request id of the ranking the app shows: the card's, or one a
    /// SMART launch derived (so a reload of the view replays that decision).
    pub rid: String,
}

impl Grant {
    /// The tenant, checked.
    pub fn tenant_id(&self) -> Option<TenantId> {
        TenantId::parse(&self.tenant).ok()
    }

    /// The person, checked.
    pub fn person_id(&self) -> Option<PersonId> {
        PersonId::parse(&self.person).ok()
    }
}

/// Signs and checks the app's tokens.
pub struct Launcher {
    key: Option<Secret>,
    launch_ttl: i64,
    session_ttl: i64,
}

impl std::fmt::Debug for Launcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Launcher")
            .field("enabled", &self.key.is_some())
            .finish_non_exhaustive()
    }
}

impl Launcher {
    /// With `key` (none: the app cannot be launched).
    pub fn new(key: Option<Secret>, launch_ttl: u64, session_ttl: u64) -> Self {
        Self {
            key,
            launch_ttl: i64::try_from(launch_ttl).unwrap_or(600),
            session_ttl: i64::try_from(session_ttl).unwrap_or(1800),
        }
    }

    fn sign<T: Serialize>(&self, claims: &T) -> Option<String> {
        let key = EncodingKey::from_secret(self.key.as_ref()?.expose());
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &key).ok()
    }

    fn check<T: DeserializeOwned>(&self, token: &str, aud: &str) -> Option<T> {
        let key = DecodingKey::from_secret(self.key.as_ref()?.expose());
        let mut v = Validation::new(Algorithm::HS256);
        v.set_audience(&[aud]);
        v.leeway = 0;
        jsonwebtoken::decode::<T>(token, &key, &v)
            .ok()
            .map(|d| d.claims)
    }

    /// Signs `claims`, which must carry `aud` and `exp` (checked by [`Self::unseal`]).
    pub fn seal<T: Serialize>(&self, claims: &T) -> Option<String> {
        self.sign(claims)
    }

    /// The claims of a token [`Self::seal`]ed for `aud`, unexpired.
    pub fn unseal<T: DeserializeOwned>(&self, token: &str, aud: &str) -> Option<T> {
        self.check(token, aud)
    }

    /// Lifetime of a launch token, seconds (also that of a pending SMART launch).
    pub fn launch_ttl(&self) -> i64 {
        self.launch_ttl
    }

    /// A launch token for a card.
    pub fn launch_token(
        &self,
        tenant: &TenantId,
        person: &PersonId,
        rid: &str,
        now: i64,
    ) -> Option<String> {
        self.sign(&Grant {
            aud: LAUNCH.into(),
            exp: now + self.launch_ttl,
            iat: now,
            jti: new_uuid(),
            tenant: tenant.as_str().to_owned(),
            person: person.as_str().to_owned(),
            rid: rid.to_owned(),
        })
    }

    /// The grant of a valid launch token. Single use is the caller's to
    /// enforce, by claiming its `jti` before [`Self::session_token`].
    pub fn launch(&self, token: &str) -> Option<Grant> {
        self.check(token, LAUNCH)
    }

    /// A session token, and its lifetime, for a launch grant whose `jti` was claimed.
    pub fn session_token(&self, grant: Grant, now: i64) -> Option<(String, i64)> {
        let session = Grant {
            aud: SESSION.into(),
            exp: now + self.session_ttl,
            iat: now,
            jti: new_uuid(),
            ..grant
        };
        Some((self.sign(&session)?, self.session_ttl))
    }

    /// The grant of a valid session token.
    pub fn session(&self, token: &str) -> Option<Grant> {
        self.check(token, SESSION)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_launch_token_is_exchanged_for_a_session_and_neither_is_the_other() {
        let l = Launcher::new(Some(Secret::new("x".repeat(32))), 600, 1800);
        let t = TenantId::parse("acme").expect("id");
        let p = PersonId::parse("ehr-1").expect("id");
        let now = crate::convert::wall_clock().0 / 1000;
        let launch = l.launch_token(&t, &p, "cds-1", now).expect("signed");
        assert!(
            l.session(&launch).is_none(),
            "a launch token is not a session"
        );
        let grant = l.launch(&launch).expect("a launch token");
        let (session, ttl) = l.session_token(grant, now).expect("exchanged");
        assert_eq!(ttl, 1800);
        assert!(l.launch(&session).is_none(), "a session is no launch token");
        let g = l.session(&session).expect("session");
        assert_eq!(
            (g.tenant.as_str(), g.person.as_str(), g.rid.as_str()),
            ("acme", "ehr-1", "cds-1")
        );
        let other = Launcher::new(Some(Secret::new("y".repeat(32))), 600, 1800);
        assert!(other.session(&session).is_none(), "another key");
    }
}
