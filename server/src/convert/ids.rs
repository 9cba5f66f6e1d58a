//! Server-side id newtypes. Ids are strings on the wire; here each kind has its
//! own type so a person id can never be passed where a tenant id is expected,
//! and every value of these types has already been checked.

use std::fmt;

/// Why a string is not a valid id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Empty string.
    #[error("must not be empty")]
    Empty,
    /// Longer than 64 bytes.
    #[error("must be at most 64 characters")]
    TooLong,
    /// A character outside `[A-Za-z0-9_-]`.
    #[error("must contain only letters, digits, '_' and '-'")]
    BadCharacter,
    /// A resource name without the expected `{collection}/` prefix.
    #[error("must have the form \"people/{{person_id}}\"")]
    BadResourceName,
}

/// Checks the shared id format: 1-64 characters of `[A-Za-z0-9_-]`.
pub fn check_id(s: &str) -> Result<(), IdError> {
    if s.is_empty() {
        Err(IdError::Empty)
    } else if s.len() > 64 {
        Err(IdError::TooLong)
    } else if !s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        Err(IdError::BadCharacter)
    } else {
        Ok(())
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Parses and checks an id (1-64 of `[A-Za-z0-9_-]`).
            pub fn parse(s: &str) -> Result<Self, IdError> {
                check_id(s)?;
                Ok(Self(s.to_owned()))
            }

            /// The id as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = IdError;
            fn try_from(s: &str) -> Result<Self, IdError> {
                Self::parse(s)
            }
        }
    };
}

id_type!(
    /// A pseudonymous person id; its resource name is `people/{id}`.
    PersonId
);
id_type!(
    /// A tenant: every row and every engine belongs to exactly one.
    TenantId
);
id_type!(
    /// A client's idempotency key.
    RequestId
);
id_type!(
    /// A recommendation id (server-generated, UUID v7 text).
    RecommendationId
);
id_type!(
    /// A decision id (server-generated, UUID v7 text).
    DecisionId
);

impl PersonId {
    /// The resource-name prefix.
    pub const PREFIX: &'static str = "people/";

    /// Parses a resource name `people/{person_id}`.
    pub fn from_name(name: &str) -> Result<Self, IdError> {
        let id = name
            .strip_prefix(Self::PREFIX)
            .ok_or(IdError::BadResourceName)?;
        Self::parse(id)
    }

    /// The resource name `people/{person_id}`.
    pub fn name(&self) -> String {
        format!("{}{}", Self::PREFIX, self.0)
    }
}

impl TenantId {
    /// The tenant used when auth is off and the caller names none.
    pub fn default_tenant() -> Self {
        Self("default".to_owned())
    }
}

impl RecommendationId {
    /// A new server-generated id ([`new_uuid`]): well-formed by construction,
    /// so it is not parsed back.
    pub fn generate() -> Self {
        Self(new_uuid())
    }
}

impl DecisionId {
    /// A new server-generated id ([`new_uuid`]).
    pub fn generate() -> Self {
        Self(new_uuid())
    }
}

/// A new server-generated id: a UUID v7 (time-ordered, so rows cluster by
/// creation time and ids sort roughly chronologically).
pub fn new_uuid() -> String {
    uuid::Uuid::now_v7().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn person_names_parse_and_round_trip() {
        let id = PersonId::from_name("people/p-1_A").expect("valid");
        assert_eq!(id.as_str(), "p-1_A");
        assert_eq!(id.name(), "people/p-1_A");
    }

    #[test]
    fn bad_person_names_are_rejected_with_a_reason() {
        assert_eq!(PersonId::from_name("p1"), Err(IdError::BadResourceName));
        assert_eq!(PersonId::from_name("people/"), Err(IdError::Empty));
        assert_eq!(
            PersonId::from_name("people/a b"),
            Err(IdError::BadCharacter)
        );
        assert_eq!(PersonId::from_name("people/ä"), Err(IdError::BadCharacter));
        let long = format!("people/{}", "x".repeat(65));
        assert_eq!(PersonId::from_name(&long), Err(IdError::TooLong));
        let max = format!("people/{}", "x".repeat(64));
        assert!(PersonId::from_name(&max).is_ok());
    }

    #[test]
    fn generated_ids_are_valid_ids() {
        assert!(RecommendationId::parse(&new_uuid()).is_ok());
        let id = RecommendationId::generate();
        assert_eq!(RecommendationId::parse(id.as_str()), Ok(id));
        let id = DecisionId::generate();
        assert_eq!(DecisionId::parse(id.as_str()), Ok(id));
    }
}
