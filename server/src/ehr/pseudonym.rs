//! The tenant-scoped pseudonymous mapping from an EHR's patient to a Tutti
//! person id: `ehr-` and the first 128 bits (hex) of
//! HMAC-SHA256(tenant key, issuer ‖ 0 ‖ patient id).
//!
//! Why a keyed MAC and not a hash: a plain hash of a record number can be
//! reversed by hashing every plausible number; without the tenant's key the
//! person id reveals nothing, and the same patient maps to unrelated ids in
//! two tenants. The issuer is part of the input because patient ids are only
//! unique within one EHR. Nothing of the patient id is stored or logged.

use crate::config::Secret;
use crate::convert::hex;
use crate::convert::ids::PersonId;
use crate::error::ServiceError;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The person id for `patient` of `iss`, under the tenant's `key`.
pub fn person_for(key: &Secret, iss: &str, patient: &str) -> Result<PersonId, ServiceError> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.expose())
        .map_err(|e| ServiceError::Internal(format!("pseudonym key: {e}")))?;
    mac.update(iss.as_bytes());
    mac.update(&[0]);
    mac.update(patient.as_bytes());
    let digest = mac.finalize().into_bytes();
    let id = format!("ehr-{}", hex(&digest[..16]));
    PersonId::parse(&id).map_err(|e| ServiceError::Internal(format!("pseudonym: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mapping_is_stable_keyed_and_hides_the_patient_id() {
        let k1 = Secret::new("k1-0123456789abcdef0123456789abcdef");
        let k2 = Secret::new("k2-0123456789abcdef0123456789abcdef");
        let a = person_for(&k1, "https://ehr", "MRN-12345").expect("id");
        assert_eq!(a, person_for(&k1, "https://ehr", "MRN-12345").expect("id"));
        assert_ne!(a, person_for(&k2, "https://ehr", "MRN-12345").expect("id"));
        assert_ne!(
            a,
            person_for(&k1, "https://other", "MRN-12345").expect("id")
        );
        assert_ne!(a, person_for(&k1, "https://ehr", "MRN-12346").expect("id"));
        assert!(!a.as_str().contains("12345"));
        assert_eq!(a.as_str().len(), 4 + 32);
    }
}
