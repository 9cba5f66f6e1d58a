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
//! (every `idempotency.sweep_seconds`), and with them the CDS token claims
//! past any leeway (`Storage::claim_token`).

use crate::audit::AuditNote;
use crate::convert::hex;
use crate::convert::ids::{PersonId, RequestId, TenantId};
use crate::error::{Result, ServiceError};
use crate::queue::PersonQueue;
use crate::storage::{
    IdempotencyRecord, Storage, StorageError, StoredResponse, Subject, WriteSnapshot, snappy,
};
use prost::Message;
use sha2::{Digest, Sha256};
use std::future::Future;
use tutti_engine::ids::Timestamp;

/// Attempts of one write under contention before giving up with `ABORTED`
/// (with [`backoff`], about a second of trying; the caller's deadline cuts it
/// shorter).
const MAX_ATTEMPTS: usize = 24;

/// Stored responses longer than this are Snappy-compressed. A Recommend
/// answer (5 items with rationales) is about 5 KB and 2.4 KB compressed:
/// one SQLite overflow page less on every Recommend's write.
const COMPRESS_OVER: usize = 512;

/// First byte of a compressed stored response, followed by [`SNAPPY`]. No
/// encoded protobuf message starts with it (it would be a tag of field
/// number 0, which is invalid), so responses stored before compression, and
/// short ones, read as they were.
const PACKED: u8 = 0;

/// The codec byte after [`PACKED`]: the raw Snappy format.
const SNAPPY: u8 = 1;

/// The bytes stored for an encoded response.
fn pack(encoded: Vec<u8>) -> Vec<u8> {
    if encoded.len() <= COMPRESS_OVER {
        return encoded;
    }
    let mut out = vec![PACKED, SNAPPY];
    match snappy::compress_into(&mut out, &encoded) {
        Ok(()) if out.len() < encoded.len() => out,
        // Incompressible (or the encoder refused): stored as it is.
        _ => encoded,
    }
}

/// The encoded response in stored bytes.
fn unpack(stored: &[u8]) -> std::result::Result<std::borrow::Cow<'_, [u8]>, String> {
    match stored {
        [PACKED, SNAPPY, body @ ..] => snappy::expand(body).map(std::borrow::Cow::Owned),
        [PACKED, codec, ..] => Err(format!("unknown codec {codec}")),
        plain => Ok(std::borrow::Cow::Borrowed(plain)),
    }
}

/// Longest wait between two attempts (before jitter).
const MAX_BACKOFF: std::time::Duration = std::time::Duration::from_millis(64);

/// How long to wait before attempt `attempts + 1` after a conflict: doubling
/// from 1 ms up to [`MAX_BACKOFF`], with full jitter. *Why:* writers of one
/// person that collided once collide again if they retry at once; on SQLite
/// the winner's commit waits for its group's fsync, so a retry before that
/// reads the same version and loses again. The load generator saw writes give
/// up after eight immediate retries at 64 callers, so the retries now back off
/// and span about a second.
fn backoff(attempts: usize) -> std::time::Duration {
    let shift = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(u32::MAX)
        .min(6);
    let cap = std::time::Duration::from_millis(1 << shift).min(MAX_BACKOFF);
    cap.mul_f64(rand::random::<f64>())
}

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
    /// Keys a request whose id was parsed. Protobuf encoding of one message
    /// value is deterministic (no maps in the contract), so equal requests
    /// hash equal; the hash is of the request as sent, so a retry matches
    /// however the server reads it.
    pub fn new<M: Message>(method: &'static str, request_id: RequestId, request: &M) -> Self {
        let mut h = Sha256::new();
        h.update(method.as_bytes());
        h.update([0]);
        h.update(request.encode_to_vec());
        Self {
            method,
            request_id,
            request_hash: hex(&h.finalize()),
            note: None,
        }
    }

    /// Commits the call's audit row (its `note`, if audited) in the same
    /// transaction as the write.
    pub fn audited(mut self, note: Option<&AuditNote>) -> Self {
        self.note = note.cloned();
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
            response: pack(response.encode_to_vec()),
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
        match storage
            .find_response(tenant, self.method, &self.request_id)
            .await?
        {
            Some(stored) => self.answer(&stored).map(Some),
            None => Ok(None),
        }
    }

    /// The answer stored for this key, if it was for this same request.
    fn answer<R: Message + Default>(&self, stored: &StoredResponse) -> Result<R> {
        if stored.request_hash != self.request_hash {
            return Err(ServiceError::FailedPrecondition(
                "REQUEST_ID_REUSED",
                format!(
                    "request_id `{}` was already used for a different request",
                    self.request_id
                ),
            ));
        }
        let corrupt = |e: String| StorageError::Corrupt(format!("stored response: {e}"));
        let encoded = unpack(&stored.response).map_err(corrupt)?;
        R::decode(&*encoded).map_err(|e| corrupt(e.to_string()).into())
    }

    /// What one attempt's outcome means: done, or worth another attempt.
    async fn after_attempt<R: Message + Default>(
        &self,
        storage: &dyn Storage,
        tenant: &TenantId,
        outcome: Result<R>,
        attempts: usize,
    ) -> Option<Result<R>> {
        self.settle(outcome.is_ok());
        match outcome {
            Err(ServiceError::Storage(StorageError::Conflict)) if attempts < MAX_ATTEMPTS => {
                tokio::time::sleep(backoff(attempts)).await;
                None
            }
            Err(ServiceError::Storage(StorageError::DuplicateRequest)) => {
                // A concurrent retry committed first: answer as it did.
                Some(
                    self.replay(storage, tenant).await.and_then(|r| {
                        r.ok_or(ServiceError::Storage(StorageError::DuplicateRequest))
                    }),
                )
            }
            other => Some(other),
        }
    }

    /// Runs a write that changes `subject`'s state once. One read gives both
    /// the stored response of an earlier identical request (answered as it
    /// was) and the snapshot `attempt` computes from (the person, and for
    /// feedback the recommendation); after a concurrency conflict the next
    /// attempt reads a fresh snapshot.
    ///
    /// The write waits in `queue` behind this replica's other writes to the
    /// same person: before the read when the subject is the person, after it
    /// (once the recommendation names them) for feedback, which reads again
    /// if it had to wait.
    pub async fn run_on<R, F, Fut>(
        &self,
        storage: &dyn Storage,
        queue: &PersonQueue,
        tenant: &TenantId,
        subject: Subject<'_>,
        mut attempt: F,
    ) -> Result<R>
    where
        R: Message + Default,
        F: FnMut(WriteSnapshot) -> Fut,
        Fut: Future<Output = Result<R>>,
    {
        let mut queued = match subject {
            Subject::Person(person) => Some(queue.enter(tenant, person).await),
            Subject::Recommendation(_) => None,
        };
        let mut attempts = 0;
        loop {
            let snapshot = storage
                .read_for_write(tenant, self.method, &self.request_id, subject)
                .await?;
            if let Some(stored) = &snapshot.response {
                return self.answer(stored);
            }
            if queued.is_none()
                && let Some(person) = &snapshot.person
            {
                let (guard, waited) = queue.enter_noting_wait(tenant, &person.id).await;
                queued = Some(guard);
                // Overtaken while waiting: the snapshot is likely stale, and
                // computing from it would fail the version check and back
                // off while holding the person's queue. Read again instead.
                if waited {
                    continue;
                }
            }
            attempts += 1;
            let outcome = attempt(snapshot).await;
            if let Some(done) = self.after_attempt(storage, tenant, outcome, attempts).await {
                return done;
            }
        }
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
        let mut attempts = 0;
        loop {
            attempts += 1;
            let outcome = attempt().await;
            if let Some(done) = self.after_attempt(storage, tenant, outcome, attempts).await {
                return done;
            }
        }
    }
}

/// Deletes expired records and CDS token claims every `every`, until the task is aborted.
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
            let leeway = i64::try_from(crate::config::MAX_JWT_LEEWAY_SECONDS).unwrap_or(i64::MAX);
            let dead = crate::convert::wall_clock()
                .0
                .div_euclid(1000)
                .saturating_sub(leeway);
            if let Err(e) = storage.sweep_tokens(dead).await {
                tracing::warn!(error = %e, "token claim sweep failed; retrying next time");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflict_backoff_doubles_to_its_cap_with_jitter() {
        for attempts in 1..=MAX_ATTEMPTS {
            let cap = std::time::Duration::from_millis(1 << (attempts - 1).min(6));
            let waits: Vec<_> = (0..200).map(|_| backoff(attempts)).collect();
            assert!(waits.iter().all(|w| *w <= cap && *w <= MAX_BACKOFF));
            // Jittered: spread over the range, not one value.
            let (lo, hi) = (waits.iter().min(), waits.iter().max());
            assert!(
                hi.zip(lo).is_some_and(|(h, l)| *h - *l > cap / 2),
                "attempt {attempts}: waits from {lo:?} to {hi:?} under {cap:?}"
            );
        }
    }
    use tutti_proto::v1 as pb;

    #[test]
    fn equal_requests_hash_equal_and_different_ones_differ() {
        let a = pb::CreatePersonRequest {
            request_id: "r1".into(),
            person_id: "p1".into(),
            conditions: vec![1],
        };
        let m = "/tutti.v1.PeopleService/CreatePerson";
        let r1 = || RequestId::parse("r1").expect("valid");
        let h1 = Idempotency::new(m, r1(), &a);
        let h2 = Idempotency::new(m, r1(), &a.clone());
        assert_eq!(h1.request_hash, h2.request_hash);
        let b = pb::CreatePersonRequest {
            person_id: "p2".into(),
            ..a.clone()
        };
        assert_ne!(h1.request_hash, Idempotency::new(m, r1(), &b).request_hash);
        let other_method = Idempotency::new("/x/Y", r1(), &a);
        assert_ne!(h1.request_hash, other_method.request_hash);
    }

    #[test]
    fn long_responses_are_stored_compressed_and_earlier_records_still_read() {
        let m = "/tutti.v1.RecommendationService/Recommend";
        let idem = Idempotency::new(
            m,
            RequestId::parse("r1").expect("valid"),
            &pb::RecommendRequest::default(),
        );
        let response = pb::RecommendResponse {
            decision_id: "d1".into(),
            note: "the rationale a clinician reads, repeated ".repeat(40),
            ..Default::default()
        };
        let plain = response.encode_to_vec();
        let record = idem.record(&response, None, Timestamp(0));
        assert!(
            record.response.len() < plain.len() / 2 && record.response[0] == PACKED,
            "{} bytes stored for {}",
            record.response.len(),
            plain.len()
        );
        let stored = |bytes: Vec<u8>| StoredResponse {
            request_hash: idem.request_hash.clone(),
            response: bytes,
        };
        let read: pb::RecommendResponse = idem.answer(&stored(record.response)).expect("reads");
        assert_eq!(read, response);
        // Stored before compression: read as it is.
        let read: pb::RecommendResponse = idem.answer(&stored(plain.clone())).expect("reads");
        assert_eq!(read, response);
        // Short answers are stored as they are.
        let short = pb::RecommendResponse {
            decision_id: "d1".into(),
            ..Default::default()
        };
        assert_eq!(
            idem.record(&short, None, Timestamp(0)).response,
            short.encode_to_vec()
        );
        // A codec this server does not know is corruption, not a panic or a wrong answer.
        let unknown = idem.answer::<pb::RecommendResponse>(&stored(vec![PACKED, 9, 1, 2]));
        assert!(matches!(
            unknown,
            Err(ServiceError::Storage(StorageError::Corrupt(_)))
        ));
    }
}
