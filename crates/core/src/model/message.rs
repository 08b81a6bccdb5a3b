//! Messages (and, in sync mode, requests) and the slab that stores them.
//!
//! A message lives in one slab slot from its production until its fate is decided; slots
//! are recycled through a free list, so the hot path allocates nothing once the slab has
//! grown to the largest number of messages alive at once.

use super::MessageId;
use crate::time::Nanos;

/// Where a sync request's current call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Async: somewhere in the broker. Sync: the caller waits for call `call`.
    Waiting,
    /// Sync: the caller waits out a backoff before calling again.
    Backoff,
    /// Sync: the caller has its answer (or gave up); server work may still be outstanding.
    Done,
}

/// One message.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Msg {
    /// When it was produced.
    pub(crate) produced: Nanos,
    /// First attempt's service time, drawn at production (common random numbers).
    pub(crate) first_service: Nanos,
    /// First attempt's failure draw in [0, 1), drawn at production.
    pub(crate) first_fail_u: f64,
    /// Processing attempts started.
    pub(crate) attempts: u32,
    /// Failed attempts (async) or failed calls (sync) so far.
    pub(crate) failures: u32,
    /// Previous backoff delay (for decorrelated jitter).
    pub(crate) prev_delay: Nanos,
    /// Side effects performed (successful attempts).
    pub(crate) side_effects: u32,
    /// When its current delivery was received by a consumer.
    pub(crate) received: Nanos,
    /// When it reached the broker (async: `enqueue_latency` after production, or when a
    /// second publish arrived; sync and the warm backlog: when produced). Queue waits count
    /// from here.
    pub(crate) arrived: Nanos,
    /// Sync: the id of the caller's current call.
    pub(crate) call: u32,
    /// Sync: calls made.
    pub(crate) calls: u32,
    /// Sync: server attempts queued or running for this request.
    pub(crate) outstanding: u32,
    /// Sync: where the caller is.
    pub(crate) phase: Phase,
    /// Sync: whether the current call is being served (else it waits in the backlog).
    pub(crate) in_service: bool,
    /// Admitted to the queue/backlog at least once.
    pub(crate) accepted: bool,
    /// Fails on every attempt.
    pub(crate) poison: bool,
    /// Priority tier (its producer's).
    pub(crate) priority: u8,
    /// Its key (`[keys]`; 0 without keys).
    pub(crate) key: u32,
    /// Its place in production order (0, 1, 2, ...).
    pub(crate) seq: u64,
    /// A second copy of a message its producer published twice.
    pub(crate) dup: bool,
}

impl Msg {
    /// A new message produced at `produced`.
    pub(crate) fn new(produced: Nanos, first_service: Nanos, first_fail_u: f64) -> Msg {
        Msg {
            produced,
            first_service,
            first_fail_u,
            attempts: 0,
            failures: 0,
            prev_delay: 0,
            side_effects: 0,
            received: 0,
            arrived: produced,
            call: 0,
            calls: 0,
            outstanding: 0,
            phase: Phase::Waiting,
            in_service: false,
            accepted: false,
            poison: false,
            priority: 0,
            key: 0,
            seq: 0,
            dup: false,
        }
    }
}

/// Message storage with slot reuse.
///
/// Ids are `u32`; the slab grows only when no freed slot is left, so its length is the
/// most messages alive at once. A run keeps that below `u32::MAX`: validation caps the warm
/// backlog at [`Slab::MAX_LIVE`] (scenario/validate.rs), and the event loop stops a run
/// with more than [`Slab::MAX_LIVE`] alive (`Sim::check_limits`, every 4096 events, each of
/// which allocates at most two: an arrival and its duplicate).
#[derive(Default)]
pub(crate) struct Slab {
    items: Vec<Msg>,
    free: Vec<u32>,
    live: usize,
}

impl Slab {
    /// The most messages a run keeps alive at once (2^31): half of what a `u32` id numbers,
    /// so what is allocated between two checks always fits.
    pub(crate) const MAX_LIVE: usize = 1 << 31;

    /// Stores `m` and returns its id.
    #[inline]
    pub(crate) fn alloc(&mut self, m: Msg) -> MessageId {
        self.live += 1;
        if let Some(id) = self.free.pop() {
            self.items[id as usize] = m;
            MessageId(id)
        } else {
            self.items.push(m);
            MessageId(u32::try_from(self.items.len() - 1).expect(
                "runs stop past Slab::MAX_LIVE live messages (Sim::check_limits), below u32::MAX",
            ))
        }
    }

    /// Releases `id` for reuse.
    #[inline]
    pub(crate) fn free(&mut self, id: MessageId) {
        debug_assert!(!self.free.contains(&id.0), "message {id:?} freed twice");
        self.live -= 1;
        self.free.push(id.0);
    }

    /// The message `id`.
    #[inline]
    pub(crate) fn get(&self, id: MessageId) -> &Msg {
        &self.items[id.0 as usize]
    }

    /// The message `id`, mutably.
    #[inline]
    pub(crate) fn get_mut(&mut self, id: MessageId) -> &mut Msg {
        &mut self.items[id.0 as usize]
    }

    /// Messages alive now.
    pub(crate) fn live(&self) -> usize {
        self.live
    }

    /// Every live message (O(capacity); used once at the end of a run).
    pub(crate) fn iter_live(&self) -> impl Iterator<Item = &Msg> {
        let mut is_free = vec![false; self.items.len()];
        for &f in &self.free {
            is_free[f as usize] = true;
        }
        self.items
            .iter()
            .zip(is_free)
            .filter(|(_, f)| !f)
            .map(|(m, _)| m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_reused() {
        let mut s = Slab::default();
        let a = s.alloc(Msg::new(1, 0, 0.0));
        let b = s.alloc(Msg::new(2, 0, 0.0));
        s.free(a);
        let c = s.alloc(Msg::new(3, 0, 0.0));
        assert_eq!(c, a);
        assert_eq!(s.get(b).produced, 2);
        assert_eq!(s.live(), 2);
        assert_eq!(s.iter_live().count(), 2);
    }
}
