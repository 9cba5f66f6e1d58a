//! OAuth2 access tokens for the bearer-JWT tests, signed with the test keys in
//! `tests/fixtures/ehr/` (the server trusts their public halves, `jwks.json`,
//! as a login issuer of its own, apart from the EHR's CDS Hooks issuers).

use crate::ehr::{Jwt, Key, fixture, now_secs};
use serde_json::json;
use tutti_server::config::{Config, JwtIssuerConfig};

/// The authorization server the test server trusts.
pub const ISSUER: &str = "https://login.test.example";
/// The audience it issues Tutti's tokens for.
pub const AUDIENCE: &str = "tutti-api";

/// Trusts [`ISSUER`]'s tokens for [`AUDIENCE`]: tenant in `tenant`, roles in `roles`.
pub fn configure(config: &mut Config) {
    config.auth.jwt.push(JwtIssuerConfig {
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
        jwks_path: fixture("jwks.json"),
        tenant_claim: "tenant".into(),
        roles_claim: "roles".into(),
        leeway_seconds: 30,
    });
}

/// A valid RS256 access token of `subject` for `tenant` with `roles`, valid 5
/// minutes; change claims or the key with [`Jwt`]'s methods.
pub fn access_token(subject: &str, tenant: &str, roles: &[&str]) -> Jwt {
    let now = now_secs();
    Jwt {
        key: Key::Rsa,
        kid: None,
        claims: json!({
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": subject,
            "tenant": tenant,
            "roles": roles,
            "iat": now,
            "nbf": now - 5,
            "exp": now + 300,
        }),
    }
}
