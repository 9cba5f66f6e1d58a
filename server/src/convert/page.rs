//! Opaque page tokens. A token is URL-safe base64 of `v1`, the list it belongs
//! to, a fingerprint of the request's filter and the last key of the page. The
//! fingerprint makes a token from one listing (or one filter) invalid for
//! another instead of silently skipping rows; keyset paging (rather than an
//! offset) keeps pages stable while rows are added.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

const VERSION: &str = "v1";
const SEP: char = '\u{1f}'; // ASCII unit separator: never part of an id or a number

/// Why a page token was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("is not a page token from a previous call with the same parameters")]
pub struct BadPageToken;

/// A decoded page token: the key after which the next page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageToken {
    /// The key parts of the last row of the previous page.
    pub after: Vec<String>,
}

/// A short fingerprint of the parameters a listing was called with.
pub fn fingerprint(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    h.finalize()[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl PageToken {
    /// Encodes the token for the listing `list` called with `fingerprint`.
    pub fn encode(list: &str, fingerprint: &str, after: &[&str]) -> String {
        let mut s = String::new();
        s.push_str(VERSION);
        for part in [list, fingerprint].into_iter().chain(after.iter().copied()) {
            s.push(SEP);
            s.push_str(part);
        }
        URL_SAFE_NO_PAD.encode(s)
    }

    /// Decodes a token; an empty token means the first page (`None`).
    pub fn decode(
        token: &str,
        list: &str,
        fingerprint: &str,
        key_parts: usize,
    ) -> Result<Option<Self>, BadPageToken> {
        if token.is_empty() {
            return Ok(None);
        }
        let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| BadPageToken)?;
        let text = String::from_utf8(bytes).map_err(|_| BadPageToken)?;
        let mut parts = text.split(SEP);
        if parts.next() != Some(VERSION)
            || parts.next() != Some(list)
            || parts.next() != Some(fingerprint)
        {
            return Err(BadPageToken);
        }
        let after: Vec<String> = parts.map(str::to_owned).collect();
        if after.len() != key_parts || after.iter().any(String::is_empty) {
            return Err(BadPageToken);
        }
        Ok(Some(Self { after }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        let fp = fingerprint(&["affect", "1"]);
        let t = PageToken::encode("interventions", &fp, &["values-card-sort"]);
        let back = PageToken::decode(&t, "interventions", &fp, 1).expect("valid");
        assert_eq!(
            back,
            Some(PageToken {
                after: vec!["values-card-sort".into()]
            })
        );
    }

    #[test]
    fn empty_token_is_first_page() {
        assert_eq!(PageToken::decode("", "x", "y", 1), Ok(None));
    }

    #[test]
    fn tokens_from_another_listing_or_filter_are_rejected() {
        let t = PageToken::encode("assessments", "f1", &["1", "a"]);
        assert_eq!(
            PageToken::decode(&t, "interventions", "f1", 2),
            Err(BadPageToken)
        );
        assert_eq!(
            PageToken::decode(&t, "assessments", "f2", 2),
            Err(BadPageToken)
        );
        assert_eq!(
            PageToken::decode(&t, "assessments", "f1", 1),
            Err(BadPageToken)
        );
        assert_eq!(
            PageToken::decode("not base64!", "assessments", "f1", 2),
            Err(BadPageToken)
        );
    }
}
