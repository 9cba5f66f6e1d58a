//! Ids and time. Ids are strings on the wire and newtypes here so a process id
//! can never be passed where an intervention id is expected.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
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

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }
    };
}

string_id!(
    /// A process id such as `affect`.
    ProcessId
);
string_id!(
    /// An intervention id such as `defusion-having-the-thought`.
    InterventionId
);

/// A point in time, milliseconds since the Unix epoch (UTC). The engine never
/// reads the clock: callers pass the time in.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Milliseconds in a day.
    pub const DAY_MS: i64 = 86_400_000;

    /// Builds a timestamp from whole seconds since the epoch.
    pub fn from_secs(secs: i64) -> Self {
        Self(secs.saturating_mul(1000))
    }

    /// Days (fractional) from `earlier` to `self`; negative if `earlier` is later.
    pub fn days_since(self, earlier: Timestamp) -> f64 {
        (self.0 - earlier.0) as f64 / Self::DAY_MS as f64
    }

    /// This timestamp moved by a number of (fractional) days.
    pub fn plus_days(self, days: f64) -> Self {
        Self(self.0 + (days * Self::DAY_MS as f64).round() as i64)
    }
}
