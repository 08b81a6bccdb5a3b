//! `sqs`: Amazon SQS standard queues.
//!
//! - Unbounded, no order: a failed message is not deleted, so it becomes visible again
//!   `delivery.visibility_timeout` after it was received, and rejoins at the tail.
//! - After `max_receive_count` receives it is redriven to the DLQ (none: forever).
//! - A receive returns up to `batch_size` messages; a consumer works through its batch
//!   before it receives again.
//! - Long polling (`wait_time` > 0): an idle consumer's receive returns as soon as a
//!   message arrives, so a message never waits for a poll; one empty receive per
//!   `wait_time` of idleness. Short polling (`wait_time = 0`): an idle consumer receives
//!   every `poll_interval`, so a message that finds every consumer idle waits for the next
//!   one's receive (consumers' polls are staggered evenly over the interval at the start);
//!   every receive that finds nothing is an empty receive, counted exactly.
//!   Simplification: a real short poll samples a subset of SQS's servers and can come
//!   back empty while messages exist; here a receive always sees what is queued.
//!   Figures: `broker.receives`, `empty_receives`, `api_requests`.

use super::{AfterFailure, Receives, Semantics};
use crate::metrics::summary::BrokerStats;
use crate::model::message::Msg;
use crate::model::queue::WaitQueue;
use crate::model::retry::Policy;
use crate::scenario::Scenario;
use crate::time::Nanos;

/// SQS standard.
pub(crate) struct Sqs {
    /// Receives before redrive.
    pub(crate) max_receive_count: Option<u32>,
    /// Messages per receive.
    pub(crate) batch_size: u32,
    /// One empty receive per this long.
    pub(crate) poll_every: Nanos,
    /// `delivery.visibility_timeout`.
    pub(crate) visibility: Nanos,
    /// `wait_time = 0`.
    pub(crate) short_polling: bool,
}

impl Sqs {
    pub(crate) fn new(
        s: &Scenario,
        max_receive_count: Option<u32>,
        batch_size: u32,
        poll_every: Nanos,
        short_polling: bool,
    ) -> Self {
        Sqs {
            max_receive_count,
            batch_size,
            poll_every,
            visibility: s.delivery.visibility_timeout,
            short_polling,
        }
    }
}

/// SQS (standard and FIFO): a failed message becomes visible again a visibility timeout
/// after it was received, until `max_receive_count` receives.
pub(crate) fn visible_again(
    m: &Msg,
    now: Nanos,
    max_receive_count: Option<u32>,
    visibility: Nanos,
) -> AfterFailure {
    if max_receive_count.is_some_and(|n| m.attempts >= n) {
        AfterFailure::GiveUp
    } else {
        AfterFailure::VisibleAgain {
            at: (m.received + visibility).max(now),
        }
    }
}

impl Semantics for Sqs {
    const BATCHES: bool = true;

    fn buffer(&self) -> usize {
        self.batch_size.saturating_sub(1) as usize
    }

    fn after_failure(&self, m: &Msg, now: Nanos, _: &Policy) -> AfterFailure {
        visible_again(m, now, self.max_receive_count, self.visibility)
    }

    fn short_poll(&self) -> Option<Nanos> {
        self.short_polling.then_some(self.poll_every)
    }

    fn stats(&self, _: &WaitQueue, receives: &Receives, stats: &mut BrokerStats) {
        bill_requests(self.poll_every, self.short_polling, receives, stats);
    }
}

/// SQS's API requests, for both SQS kinds: a send per accepted message, a receive and a
/// delete per message received, and the empty receives (short polling: counted; long
/// polling: an idle consumer's receive returns empty once per `poll_every`).
pub(super) fn bill_requests(
    poll_every: Nanos,
    short_polling: bool,
    r: &Receives,
    stats: &mut BrokerStats,
) {
    let empty = if short_polling {
        r.empty_polls
    } else {
        // Saturates: an idle area past u64::MAX polls is not reachable in 146 years.
        u64::try_from(r.idle_area / u128::from(poll_every.max(1))).unwrap_or(u64::MAX)
    };
    stats.receives = Some(r.receives);
    stats.empty_receives = Some(empty);
    stats.api_requests = Some(r.accepted + 2 * r.receives + empty);
}
