//! `sqs-fifo`: Amazon SQS FIFO queues.
//!
//! - Message groups (`[keys]`) are ordered lanes: each gives out one message at a time,
//!   in order.
//! - A failed message blocks its group until it is visible again (the visibility timeout
//!   from its receive), then returns to the head of the group; after `max_receive_count`
//!   receives it is redriven to the DLQ.
//! - At most `throughput_limit` messages start per second: starts are spaced.
//! - A copy a producer publishes again within `dedup_window` is dropped.
//! - Idle consumers poll as in `sqs`.

use super::sqs::{bill_requests, visible_again};
use super::{AfterFailure, Gate, Receives, Semantics};
use crate::convert::round_u64;
use crate::metrics::summary::BrokerStats;
use crate::model::message::Msg;
use crate::model::queue::WaitQueue;
use crate::model::retry::Policy;
use crate::scenario::Scenario;
use crate::time::Nanos;

/// SQS FIFO.
pub(crate) struct SqsFifo {
    max_receive_count: Option<u32>,
    poll_every: Nanos,
    short_polling: bool,
    dedup_window: Nanos,
    visibility: Nanos,
    /// Message groups (`[keys]`), if any.
    groups: Option<u32>,
    /// Time between starts (the throughput limit).
    start_gap: Nanos,
    /// The earliest next start.
    next_start: Nanos,
    /// A look-again is scheduled for `next_start`.
    pending: bool,
}

impl SqsFifo {
    pub(crate) fn new(
        s: &Scenario,
        max_receive_count: Option<u32>,
        throughput_limit: f64,
        (poll_every, short_polling): (Nanos, bool),
        dedup_window: Nanos,
    ) -> Self {
        SqsFifo {
            max_receive_count,
            poll_every,
            short_polling,
            dedup_window,
            visibility: s.delivery.visibility_timeout,
            groups: s.keys.map(|k| k.count),
            start_gap: round_u64(1e9 / throughput_limit).max(1),
            next_start: 0,
            pending: false,
        }
    }
}

impl Semantics for SqsFifo {
    const GATED: bool = true;
    const RETRY_AT_HEAD: bool = true;

    fn wait_queue(&self, s: &Scenario) -> WaitQueue {
        match self.groups {
            Some(groups) => WaitQueue::ordered(groups),
            None => WaitQueue::with_tiers(s.queue.capacity, if s.queue.priority { 10 } else { 1 }),
        }
    }

    #[inline]
    fn lane(&self, m: &Msg, _: bool) -> usize {
        m.key as usize
    }

    fn after_failure(&self, m: &Msg, now: Nanos, _: &Policy) -> AfterFailure {
        visible_again(m, now, self.max_receive_count, self.visibility)
    }

    #[inline]
    fn gate(&mut self, now: Nanos) -> Gate {
        if now >= self.next_start {
            Gate::Open
        } else if self.pending {
            Gate::Closed
        } else {
            self.pending = true;
            Gate::ClosedUntil(self.next_start)
        }
    }

    #[inline]
    fn started(&mut self, now: Nanos) {
        self.next_start = self.next_start.max(now).saturating_add(self.start_gap);
    }

    fn reopened(&mut self) {
        self.pending = false;
    }

    fn dedups(&self, delay: Nanos) -> bool {
        delay <= self.dedup_window
    }

    fn short_poll(&self) -> Option<Nanos> {
        self.short_polling.then_some(self.poll_every)
    }

    fn stats(&self, _: &WaitQueue, receives: &Receives, stats: &mut BrokerStats) {
        bill_requests(self.poll_every, self.short_polling, receives, stats);
    }
}
