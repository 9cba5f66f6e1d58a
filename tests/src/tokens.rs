//! OAuth2 access tokens for the bearer-JWT tests, signed with the test keys in
//! `tests/fixtures/ehr/` ([`crate::jwt`]; the server trusts their public
//! halves, `jwks.json`, as a login issuer of its own, apart from the EHR's CDS
//! Hooks issuers).

use crate::ehr::fixture;
pub use crate::jwt::{AUDIENCE, ISSUER, access_token};
use tutti_server::config::{Config, JwtIssuerConfig};

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
