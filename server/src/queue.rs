//! One write at a time per person within a replica.
//!
//! Writes to one person are optimistic across replicas (compare-and-set on
//! the state's version, [`crate::idempotency`]). Within one replica, two
//! writes to the same person that overlap would both compute from the same
//! snapshot, and the loser would back off, read again and compute again; and
//! an assessment that loses the race to a later one arrives out of order and
//! rebuilds the person from their whole history. Queueing a replica's writes
//! per person turns both into a short wait. Measured with the load generator
//! (64 callers, RecordAssessment alone, 200 people, so a third of the writes
//! overlap another on the same person): see docs/benchmarks.md.

use crate::convert::ids::{PersonId, TenantId};
use std::hash::{BuildHasher, Hash, Hasher, RandomState};
use tokio::sync::{Mutex, MutexGuard};

/// Shards of [`PersonQueue`]: people who share a shard wait for each other,
/// so it is sized for a few hundred writes in flight to collide rarely.
const SHARDS: usize = 4096;

/// Per-person write queue, sharded by a hash of tenant and person.
#[derive(Debug)]
pub struct PersonQueue {
    shards: Box<[Mutex<()>]>,
    hasher: RandomState,
}

impl Default for PersonQueue {
    fn default() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(())).collect(),
            hasher: RandomState::new(),
        }
    }
}

impl PersonQueue {
    /// Waits for this person's earlier writes on this replica; the guard
    /// holds later ones until it drops.
    pub async fn enter(&self, tenant: &TenantId, person: &PersonId) -> MutexGuard<'_, ()> {
        self.enter_noting_wait(tenant, person).await.0
    }

    /// [`PersonQueue::enter`], and whether it had to wait: a write that
    /// read its snapshot before queueing and then waited may have been
    /// overtaken, and reads again rather than compute from a stale one.
    pub async fn enter_noting_wait(
        &self,
        tenant: &TenantId,
        person: &PersonId,
    ) -> (MutexGuard<'_, ()>, bool) {
        let mut h = self.hasher.build_hasher();
        tenant.as_str().hash(&mut h);
        person.as_str().hash(&mut h);
        // The remainder is below `SHARDS`, so the cast back cannot truncate.
        let shard = &self.shards[(h.finish() % SHARDS as u64) as usize];
        match shard.try_lock() {
            Ok(guard) => (guard, false),
            Err(_) => (shard.lock().await, true),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Whether entering completes without waiting: a zero timeout polls the
    /// future once before it looks at the clock.
    async fn enters_at_once(queue: &PersonQueue, tenant: &TenantId, person: &PersonId) -> bool {
        tokio::time::timeout(Duration::ZERO, queue.enter(tenant, person))
            .await
            .is_ok()
    }

    #[tokio::test]
    async fn a_second_write_to_the_same_person_waits_for_the_first_and_others_do_not() {
        let queue = PersonQueue::default();
        let tenant = TenantId::parse("clinic-a").expect("valid tenant");
        let other_tenant = TenantId::parse("clinic-b").expect("valid tenant");
        let person = PersonId::parse("p-1").expect("valid person");
        let first = queue.enter(&tenant, &person).await;
        assert!(!enters_at_once(&queue, &tenant, &person).await);
        // Other people, and the same id in another tenant, go ahead (but for
        // the odd one sharing a shard: 1 in 4096 each).
        let free = (0..100)
            .filter_map(|i| PersonId::parse(&format!("p-other-{i}")).ok())
            .map(|p| (tenant.clone(), p))
            .chain([(other_tenant, person.clone())]);
        let mut waited = 0;
        for (t, p) in free {
            if !enters_at_once(&queue, &t, &p).await {
                waited += 1;
            }
        }
        assert!(waited <= 3, "{waited} of 101 unrelated writes waited");
        drop(first);
        assert!(enters_at_once(&queue, &tenant, &person).await);
    }

    #[tokio::test]
    async fn entering_says_whether_it_waited() {
        let queue = std::sync::Arc::new(PersonQueue::default());
        let tenant = TenantId::parse("clinic-a").expect("valid tenant");
        let person = PersonId::parse("p-1").expect("valid person");
        let (first, waited) = queue.enter_noting_wait(&tenant, &person).await;
        assert!(!waited);
        let second = {
            let (queue, tenant, person) = (queue.clone(), tenant.clone(), person.clone());
            tokio::spawn(async move { queue.enter_noting_wait(&tenant, &person).await.1 })
        };
        // On the test's single-threaded runtime, yielding runs the second
        // write until it waits in the queue, before the first leaves it.
        tokio::task::yield_now().await;
        drop(first);
        assert!(second.await.expect("joins"));
        assert!(!queue.enter_noting_wait(&tenant, &person).await.1);
    }
}
