//! Idempotent writes. Every write carries a client `request_id`; the first
//! response is stored with the write, in the same transaction, under
//! (tenant, method, request_id) with a hash of the request. A retry with the
//! same id and the same request gets the stored response and stores nothing; the
//! same id with a different request is `FAILED_PRECONDITION`.
//!
//! It also runs a write's optimistic-concurrency retries
//! ([`StorageError::Conflict`]), and carries the call's audit row into the
//! write's transaction ([`Idempotency::audited`]).
//!
//! Records hold full responses (health data), so they expire:
//! [`spawn_sweeper`] deletes those older than `idempotency.ttl_seconds`
//! (every `idempotency.sweep_seconds`).

use crate::audit::AuditNote;
use crate::convert::hex;
use crate::convert::ids::{PersonId, RequestId, TenantId};
use crate::error::{Result, ServiceError};
use crate::storage::{IdempotencyRecord, Storage, StorageError};
use prost::Message;
use sha2::{Digest, Sha256};
use std::future::Future;
use tutti_engine::ids::Timestamp;

/// Attempts of one write under contention before giving up with `ABORTED`.
const MAX_ATTEMPTS: usize = 8;

/// The idempotency key and request hash of one write.
#[derive(Debug, Clone)]
pub struct Idempotency {
    /// Full gRPC method.
    pub method: &'static str,
    /// The client's key.
    pub request_id: RequestId,
    /// Hex SHA-256 of the method and the encoded request.
    pub request_hash: String,
    /// The call's audit note: its row commits with the write.
    note: Option<AuditNote>,
}

impl Idempotency {
    /// Keys a validated request. Protobuf encoding of one message value is
    /// deterministic (no maps in the contract), so equal requests hash equal.
    pub fn new<M: Message>(method: &'static str, request_id: &str, request: &M) -> Result<Self> {
        let request_id =
            RequestId::parse(request_id).map_err(|e| ServiceError::bad_id("request_id", e))?;
        let mut h = Sha256::new();
        h.update(method.as_bytes());
        h.update([0]);
        h.update(request.encode_to_vec());
        Ok(Self {
            method,
            request_id,
            request_hash: hex(&h.finalize()),
            note: None,
        })
    }

    /// Commits `call`'s audit row in the same transaction as the write.
    pub fn audited(mut self, call: &crate::grpc::Call) -> Self {
        self.note = call.note().cloned();
        self
    }

    /// The row to commit with the write.
    pub fn record<R: Message>(
        &self,
        response: &R,
        person: Option<&PersonId>,
        now: Timestamp,
    ) -> IdempotencyRecord {
        IdempotencyRecord {
            method: self.method.to_owned(),
            request_id: self.request_id.clone(),
            request_hash: self.request_hash.clone(),
            response: response.encode_to_vec(),
            person: person.cloned(),
            create_time: now,
            audit: self.note.as_ref().map(|n| n.pending_row(now)),
        }
    }

    fn settle(&self, committed: bool) {
        if let Some(note) = &self.note {
            note.settle(committed);
        }
    }

    /// The stored first response, if a write with this key committed.
    pub async fn replay<R: Message + Default>(
        &self,
        storage: &dyn Storage,
        tenant: &TenantId,
    ) -> Result<Option<R>> {
        let Some(stored) = storage
            .find_response(tenant, self.method, &self.request_id)
            .await?
        else {
            return Ok(None);
        };
        if stored.request_hash != self.request_hash {
            return Err(ServiceError::FailedPrecondition(
                "REQUEST_ID_REUSED",
                format!(
                    "request_id `{}` was already used for a different request",
                    self.request_id
                ),
            ));
        }
        R::decode(stored.response.as_slice())
            .map(Some)
            .map_err(|e| StorageError::Corrupt(format!("stored response: {e}")).into())
    }

    /// Runs a write once: returns the stored response of an earlier identical
    /// request, or runs `attempt` (again after a concurrency conflict) until it
    /// commits.
    pub async fn run<R, F, Fut>(
        &self,
        storage: &dyn Storage,
        tenant: &TenantId,
        mut attempt: F,
    ) -> Result<R>
    where
        R: Message + Default,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<R>>,
    {
        if let Some(r) = self.replay(storage, tenant).await? {
            return Ok(r);
        }
        for _ in 1..MAX_ATTEMPTS {
            let outcome = attempt().await;
            self.settle(outcome.is_ok());
            match outcome {
                Err(ServiceError::Storage(StorageError::Conflict)) => {
                    tokio::task::yield_now().await;
                }
                Err(ServiceError::Storage(StorageError::DuplicateRequest)) => {
                    // A concurrent retry committed first: answer as it did.
                    return self
                        .replay(storage, tenant)
                        .await?
                        .ok_or(ServiceError::Storage(StorageError::DuplicateRequest));
                }
                other => return other,
            }
        }
        let outcome = attempt().await;
        self.settle(outcome.is_ok());
        outcome
    }
}

/// Deletes expired records every `every`, until the task is aborted.
pub fn spawn_sweeper(
    storage: std::sync::Arc<dyn Storage>,
    ttl: std::time::Duration,
    every: std::time::Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
            let before = Timestamp(crate::convert::wall_clock().0.saturating_sub(ttl_ms));
            match storage.sweep_idempotency(before).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "expired idempotency records deleted"),
                Err(e) => {
                    tracing::warn!(error = %e, "idempotency sweep failed; retrying next time")
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tutti_proto::v1 as pb;

    #[test]
    fn equal_requests_hash_equal_and_different_ones_differ() {
        let a = pb::CreatePersonRequest {
            request_id: "r1".into(),
            person_id: "p1".into(),
            conditions: vec![1],
        };
        let m = "/tutti.v1.PeopleService/CreatePerson";
        let h1 = Idempotency::new(m, "r1", &a).expect("valid");
        let h2 = Idempotency::new(m, "r1", &a.clone()).expect("valid");
        assert_eq!(h1.request_hash, h2.request_hash);
        let b = pb::CreatePersonRequest {
            person_id: "p2".into(),
            ..a.clone()
        };
        assert_ne!(
            h1.request_hash,
            Idempotency::new(m, "r1", &b).expect("valid").request_hash
        );
        let other_method = Idempotency::new("/x/Y", "r1", &a).expect("valid");
        assert_ne!(h1.request_hash, other_method.request_hash);
    }
}
