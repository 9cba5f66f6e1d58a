//! Reads from an EHR's FHIR server when a CDS call's prefetch lacks data:
//! `GET {fhirServer}/{query}` with the call's `fhirAuthorization` bearer
//! token. The token is used for that request only: never stored, never
//! logged (nor is the URL, which names the patient's FHIR id).

use serde_json::Value;
use std::time::Duration;

/// Why a read failed (the caller answers 412).
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Not an http(s) URL.
    #[error("fhirServer is not an http(s) URL")]
    BadUrl,
    /// Transport failure or time-out.
    #[error("the FHIR server could not be reached")]
    Unreachable,
    /// A non-2xx answer.
    #[error("the FHIR server answered {0}")]
    Status(u16),
    /// Not JSON.
    #[error("the FHIR server's answer is not JSON")]
    NotJson,
}

/// The CA certificates of a PEM file (`ehr.tls_ca_path`); an error, in
/// words for the start-up message, when it holds none.
pub fn roots_from_pem(pem: &[u8]) -> Result<Vec<reqwest::Certificate>, String> {
    let roots = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| e.to_string())?;
    if roots.is_empty() {
        return Err("holds no certificate".into());
    }
    Ok(roots)
}

/// An HTTP client for FHIR reads.
#[derive(Debug, Clone)]
pub struct FhirClient {
    http: reqwest::Client,
}

impl FhirClient {
    /// With a per-request timeout, trusting the CA certificates `extra_roots`
    /// ([`roots_from_pem`]) beside the built-in public roots.
    pub fn new(
        timeout: Duration,
        extra_roots: Vec<reqwest::Certificate>,
    ) -> Result<Self, reqwest::Error> {
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            // A FHIR server that redirects elsewhere must not receive the token there.
            .redirect(reqwest::redirect::Policy::none());
        for root in extra_roots {
            builder = builder.add_root_certificate(root);
        }
        Ok(Self {
            http: builder.build()?,
        })
    }

    /// The HTTP client itself (no redirects followed, the read timeout), for
    /// the SMART flow's calls to the EHR's authorization server.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Reads one of the SMART flow's JSON documents (a discovery document, a
    /// JWK Set) from `url`, without credentials. The error is words a log
    /// may carry: never the body, which is the EHR's.
    pub async fn document<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
    ) -> Result<T, &'static str> {
        let response = self
            .http
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|_| "could not be read")?;
        if !response.status().is_success() {
            return Err("could not be read");
        }
        response.json().await.map_err(|_| "is not valid")
    }

    /// Reads `query` (relative, e.g. `Observation?patient=123`) from `base`.
    pub async fn get(&self, base: &str, query: &str, token: &str) -> Result<Value, FetchError> {
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(FetchError::BadUrl);
        }
        let url = format!(
            "{}/{}",
            base.trim_end_matches('/'),
            query.trim_start_matches('/')
        );
        let response = self
            .http
            .get(url)
            .bearer_auth(token)
            .header(reqwest::header::ACCEPT, "application/fhir+json")
            .send()
            .await
            .map_err(|_| FetchError::Unreachable)?;
        let status = response.status();
        if !status.is_success() {
            return Err(FetchError::Status(status.as_u16()));
        }
        response
            .json::<Value>()
            .await
            .map_err(|_| FetchError::NotJson)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_without_a_certificate_is_refused() {
        assert!(roots_from_pem(b"").is_err());
        // A public key is no certificate.
        let key = include_bytes!("../../../tests/fixtures/ehr/rsa-public.pem");
        assert!(roots_from_pem(key).is_err());
    }
}
