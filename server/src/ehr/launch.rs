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
//!
//! After a SMART launch whose id_token was verified, both tokens also carry
//! the signed-in clinician's audit principal ([`Grant::principal`]), so the
//! app's calls are audited under the clinician; tokens without one (a card
//! link's) are audited as [`APP_PRINCIPAL`].
//!
//! A SMART card's link carries an *app context* (CDS Hooks 2.0.1
//! `Link.appContext`, handed back by the EHR in the token response): the
//! card's decision named by tenant, pseudonymous person, request id and
//! first recommendation id, signed here ([`Launcher::app_context`]) so the
//! callback can tell it is Tutti's and unaltered. It is no credential: it
//! only selects which of the launched person's decisions the app opens.

use crate::config::Secret;
use crate::convert::ids::{PersonId, TenantId, new_uuid};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
const LAUNCH: &str = "tutti-app-launch";
/// The issuer launch tokens' single-use claims are stored under.
pub const LAUNCH_ISSUER: &str = LAUNCH;
const SESSION: &str = "tutti-app-session";
const APP_CONTEXT: &str = "tutti-app-context";
/// The audit principal of the app's calls when its token names no clinician.
pub const APP_PRINCIPAL: &str = "clinician-app";

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
    /// The signed-in clinician's audit principal, when a SMART launch
    /// verified who signed in (`ehr:<iss>|Practitioner/<id>`); else none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
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

    /// The audit principal of calls made with this grant.
    pub fn principal(&self) -> &str {
        self.principal.as_deref().unwrap_or(APP_PRINCIPAL)
    }
}

/// A card's decision, as its SMART link's `appContext` names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardContext {
    /// `tutti-app-context`.
    aud: String,
    /// Expiry, Unix seconds.
    exp: i64,
    /// Tenant.
    pub tenant: String,
    /// Pseudonymous person id (never the patient's).
    pub person: String,
    /// The request id of the card's ranking (replayed by the app).
    pub rid: String,
    /// The card's first recommendation id (its `uuid`).
    pub rec: String,
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

    /// Signs `claims`, which must carry `aud` and `exp` (checked by [`Self::unseal`]).
    pub fn seal<T: Serialize>(&self, claims: &T) -> Option<String> {
        let key = EncodingKey::from_secret(self.key.as_ref()?.expose());
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &key).ok()
    }

    /// The claims of a token [`Self::seal`]ed for `aud`, unexpired.
    pub fn unseal<T: DeserializeOwned>(&self, token: &str, aud: &str) -> Option<T> {
        let key = DecodingKey::from_secret(self.key.as_ref()?.expose());
        let mut v = Validation::new(Algorithm::HS256);
        v.set_audience(&[aud]);
        v.leeway = 0;
        jsonwebtoken::decode::<T>(token, &key, &v)
            .ok()
            .map(|d| d.claims)
    }

    /// Lifetime of a launch token, seconds (also that of a pending SMART launch).
    pub fn launch_ttl(&self) -> i64 {
        self.launch_ttl
    }

    /// A launch token for a card's decision `rid`, naming `principal` (the
    /// signed-in clinician of a SMART launch) if known.
    pub fn launch_token(
        &self,
        tenant: &TenantId,
        person: &PersonId,
        rid: &str,
        principal: Option<&str>,
        now: i64,
    ) -> Option<String> {
        self.seal(&Grant {
            aud: LAUNCH.into(),
            exp: now + self.launch_ttl,
            iat: now,
            jti: new_uuid(),
            tenant: tenant.as_str().to_owned(),
            person: person.as_str().to_owned(),
            rid: rid.to_owned(),
            principal: principal.map(str::to_owned),
        })
    }

    /// The `appContext` of a SMART card's link: its decision `rid` with its
    /// first recommendation `rec`. Valid as long as a session (a card is
    /// opened while its chart is), after which a launch ranks afresh.
    pub fn app_context(
        &self,
        tenant: &TenantId,
        person: &PersonId,
        rid: &str,
        rec: &str,
        now: i64,
    ) -> Option<String> {
        self.seal(&CardContext {
            aud: APP_CONTEXT.into(),
            exp: now + self.session_ttl,
            tenant: tenant.as_str().to_owned(),
            person: person.as_str().to_owned(),
            rid: rid.to_owned(),
            rec: rec.to_owned(),
        })
    }

    /// The card an `appContext` names, if Tutti signed it and it is unexpired.
    /// Whose it is is the caller's to check.
    pub fn card_context(&self, app_context: &str) -> Option<CardContext> {
        self.unseal(app_context, APP_CONTEXT)
    }

    /// The grant of a valid launch token. Single use is the caller's to
    /// enforce, by claiming its `jti` before [`Self::session_token`].
    pub fn launch(&self, token: &str) -> Option<Grant> {
        self.unseal(token, LAUNCH)
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
        Some((self.seal(&session)?, self.session_ttl))
    }

    /// The grant of a valid session token.
    pub fn session(&self, token: &str) -> Option<Grant> {
        self.unseal(token, SESSION)
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
        let launch = l.launch_token(&t, &p, "cds-1", None, now).expect("signed");
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
        assert_eq!(
            g.principal(),
            APP_PRINCIPAL,
            "a card link names no clinician"
        );
        let other = Launcher::new(Some(Secret::new("y".repeat(32))), 600, 1800);
        assert!(other.session(&session).is_none(), "another key");
    }

    #[test]
    fn a_clinician_named_at_the_launch_stays_named_in_the_session() {
        let l = Launcher::new(Some(Secret::new("x".repeat(32))), 600, 1800);
        let t = TenantId::parse("acme").expect("id");
        let p = PersonId::parse("ehr-1").expect("id");
        let now = crate::convert::wall_clock().0 / 1000;
        let who = "ehr:https://ehr|Practitioner/7";
        let launch = l
            .launch_token(&t, &p, "smart-1", Some(who), now)
            .expect("signed");
        let grant = l.launch(&launch).expect("a launch token");
        assert_eq!(grant.principal(), who);
        let (session, _) = l.session_token(grant, now).expect("exchanged");
        assert_eq!(l.session(&session).expect("session").principal(), who);
    }

    #[test]
    fn an_app_context_is_no_token_and_no_token_is_an_app_context() {
        let l = Launcher::new(Some(Secret::new("x".repeat(32))), 600, 1800);
        let t = TenantId::parse("acme").expect("id");
        let p = PersonId::parse("ehr-1").expect("id");
        let now = crate::convert::wall_clock().0 / 1000;
        let ctx = l
            .app_context(&t, &p, "cds-1", "rec-1", now)
            .expect("signed");
        let card = l.card_context(&ctx).expect("reads back");
        assert_eq!(
            (
                card.tenant.as_str(),
                card.person.as_str(),
                card.rid.as_str(),
                card.rec.as_str()
            ),
            ("acme", "ehr-1", "cds-1", "rec-1")
        );
        assert!(l.launch(&ctx).is_none() && l.session(&ctx).is_none());
        let launch = l.launch_token(&t, &p, "cds-1", None, now).expect("signed");
        assert!(
            l.card_context(&launch).is_none(),
            "a launch token is no app context"
        );
        let mut tampered = ctx.clone();
        tampered.push('A');
        assert!(
            l.card_context(&tampered).is_none(),
            "the signature covers it"
        );
        let other = Launcher::new(Some(Secret::new("y".repeat(32))), 600, 1800);
        assert!(other.card_context(&ctx).is_none(), "another key");
    }
}
