//! JWTs signed with the test keys in `tests/fixtures/ehr/` (their public
//! halves are `jwks.json`): CDS Hooks client tokens ([`crate::ehr`]) and
//! OAuth2 access tokens ([`access_token`]), built claim by claim so each test
//! can break one. The keys are compiled in (paths relative to this file), so
//! the process tests of `tutti-cli` include this module as it is.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use std::time::{SystemTime, UNIX_EPOCH};

/// The test keys' public halves, as a JWK Set (`tests/fixtures/ehr/jwks.json`).
pub const JWKS: &str = include_str!("../fixtures/ehr/jwks.json");

/// The authorization server the bearer-JWT tests' servers trust.
pub const ISSUER: &str = "https://login.test.example";
/// The audience it issues Tutti's tokens for.
pub const AUDIENCE: &str = "tutti-api";

/// Unix seconds now.
pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Which test key signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// RS256 with `ehr-rsa-1`.
    Rsa,
    /// RS384 with `ehr-rs384-1`.
    Rs384,
    /// ES256 with `ehr-es256-1`.
    Es256,
    /// ES384 with `ehr-es384-1`.
    Es384,
    /// An RSA key not in the JWKS, claiming kid `ehr-rsa-1`.
    RsaImpostor,
}

impl Key {
    /// The `kid` under which [`JWKS`] holds the key's public half (the
    /// impostor claims the RSA key's).
    pub fn kid(self) -> &'static str {
        match self {
            Key::Rsa | Key::RsaImpostor => "ehr-rsa-1",
            Key::Rs384 => "ehr-rs384-1",
            Key::Es256 => "ehr-es256-1",
            Key::Es384 => "ehr-es384-1",
        }
    }
}

/// A JWT, built claim by claim so each test can break one.
#[derive(Debug, Clone)]
pub struct Jwt {
    /// Signing key.
    pub key: Key,
    /// Header `kid` (default: the key's own).
    pub kid: Option<String>,
    /// Claims.
    pub claims: Value,
}

/// A valid RS256 access token of `subject` for `tenant` with `roles`, from
/// [`ISSUER`] for [`AUDIENCE`], valid 5 minutes; change claims or the key
/// with [`Jwt`]'s methods.
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

impl Jwt {
    /// Sets one claim.
    pub fn claim(mut self, name: &str, value: Value) -> Self {
        self.claims[name] = value;
        self
    }

    /// Signs with `key`.
    pub fn key(mut self, key: Key) -> Self {
        self.key = key;
        self
    }

    /// The compact token.
    pub fn sign(&self) -> String {
        self.sign_as(Some(
            self.kid
                .clone()
                .unwrap_or_else(|| self.key.kid().to_owned()),
        ))
    }

    /// The compact token with no `kid` in its header (RFC 7515 makes it
    /// optional; issuers with one key often leave it out).
    pub fn sign_without_kid(&self) -> String {
        self.sign_as(None)
    }

    fn sign_as(&self, kid: Option<String>) -> String {
        let (alg, pem): (_, &[u8]) = match self.key {
            Key::Rsa => (
                Algorithm::RS256,
                include_bytes!("../fixtures/ehr/rsa-private.pem"),
            ),
            Key::Rs384 => (
                Algorithm::RS384,
                include_bytes!("../fixtures/ehr/rsa384-private.pem"),
            ),
            Key::Es256 => (
                Algorithm::ES256,
                include_bytes!("../fixtures/ehr/ec256-private.pem"),
            ),
            Key::Es384 => (
                Algorithm::ES384,
                include_bytes!("../fixtures/ehr/ec384-private.pem"),
            ),
            Key::RsaImpostor => (
                Algorithm::RS256,
                include_bytes!("../fixtures/ehr/rsa-other-private.pem"),
            ),
        };
        let key = match self.key {
            Key::Rsa | Key::Rs384 | Key::RsaImpostor => EncodingKey::from_rsa_pem(pem),
            Key::Es256 | Key::Es384 => EncodingKey::from_ec_pem(pem),
        }
        .expect("test key loads");
        let mut header = Header::new(alg);
        header.kid = kid;
        jsonwebtoken::encode(&header, &self.claims, &key).expect("signs")
    }

    /// An HS256 token "signed" with the RSA public key's PEM as the HMAC
    /// secret: the classic algorithm-confusion attack.
    pub fn sign_hs256_with_public_key(&self) -> String {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(Key::Rsa.kid().into());
        let key = EncodingKey::from_secret(include_bytes!("../fixtures/ehr/rsa-public.pem"));
        jsonwebtoken::encode(&header, &self.claims, &key).expect("signs")
    }

    /// An unsecured token (`alg: none`, empty signature).
    pub fn unsigned(&self) -> String {
        let header = json!({"alg": "none", "typ": "JWT", "kid": Key::Rsa.kid()});
        format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(self.claims.to_string())
        )
    }
}
