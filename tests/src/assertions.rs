//! Assertions on gRPC outcomes: status codes, `google.rpc.BadRequest` field
//! violations (read with tonic-types), and the invariants of an [`Estimate`].

use tonic::{Code, Response, Status};
use tonic_types::{FieldViolation, StatusExt};
use tutti_proto::v1::Estimate;

/// Unwraps the error of a call that must fail with `code`; panics (showing the
/// response) if it succeeded or failed differently.
pub fn expect_code<T: std::fmt::Debug>(
    result: Result<Response<T>, Status>,
    code: Code,
    what: &str,
) -> Status {
    match result {
        Ok(resp) => panic!(
            "{what}: expected {code:?}, but the call succeeded with {:?}",
            resp.get_ref()
        ),
        Err(status) => {
            assert_eq!(
                status.code(),
                code,
                "{what}: expected {code:?}, got {:?}: {}",
                status.code(),
                status.message()
            );
            status
        }
    }
}

/// The field violations a status carries (empty if it carries no `BadRequest`).
pub fn field_violations(status: &Status) -> Vec<FieldViolation> {
    status
        .get_details_bad_request()
        .map(|b| b.field_violations)
        .unwrap_or_default()
}

/// Asserts that the call failed with INVALID_ARGUMENT carrying a
/// `google.rpc.BadRequest` field violation for exactly `field` (with a description).
pub fn expect_invalid_field<T: std::fmt::Debug>(
    result: Result<Response<T>, Status>,
    field: &str,
    what: &str,
) -> Status {
    let status = expect_code(result, Code::InvalidArgument, what);
    let violations = field_violations(&status);
    assert!(
        !violations.is_empty(),
        "{what}: INVALID_ARGUMENT carries no google.rpc.BadRequest field violations (message: {})",
        status.message()
    );
    let hit = violations.iter().find(|v| v.field == field);
    let fields: Vec<&str> = violations.iter().map(|v| v.field.as_str()).collect();
    let hit = hit.unwrap_or_else(|| {
        panic!("{what}: expected a field violation for `{field}`, got {fields:?}")
    });
    assert!(
        !hit.description.trim().is_empty(),
        "{what}: the violation for `{field}` has no description"
    );
    status
}

/// Asserts an estimate is finite with `lower <= mean <= upper`.
pub fn assert_estimate(e: Option<&Estimate>, what: &str) -> Estimate {
    let e = *e.unwrap_or_else(|| panic!("{what}: estimate is not set"));
    assert!(
        e.mean.is_finite() && e.lower.is_finite() && e.upper.is_finite(),
        "{what}: estimate not finite: {e:?}"
    );
    assert!(
        e.lower <= e.mean + 1e-9 && e.mean <= e.upper + 1e-9,
        "{what}: expected lower <= mean <= upper, got {e:?}"
    );
    e
}

/// Asserts an estimate of a probability: as [`assert_estimate`] and within [0, 1].
pub fn assert_probability(e: Option<&Estimate>, what: &str) -> Estimate {
    let e = assert_estimate(e, what);
    assert!(
        (0.0..=1.0).contains(&e.lower) && (0.0..=1.0).contains(&e.upper),
        "{what}: probability interval outside [0, 1]: {e:?}"
    );
    e
}
