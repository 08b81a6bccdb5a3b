//! `kafka`: a Kafka topic read by one consumer group.
//!
//! - Messages go to partition `key mod partitions` (round robin without keys); each
//!   partition is consumed in order, one message at a time, so at most `partitions`
//!   consumers are ever busy.
//! - Partitions are dealt round-robin to the group's consumers and dealt again when the
//!   group changes (autoscaling); each change pauses consumption for `rebalance_pause`.
//! - A retry in the consumer holds its partition (head-of-line blocking); a retry through
//!   the queue is republished to the partition's tail after its backoff (a retry topic).
//! - An idempotent producer's second publish is dropped by the broker.
//! - Partition lag: the longest partition backlog at any sample, and at the end.

use super::{Gate, Receives, Semantics};
use crate::metrics::summary::BrokerStats;
use crate::model::message::Msg;
use crate::model::queue::WaitQueue;
use crate::scenario::Scenario;
use crate::time::Nanos;

/// A Kafka topic and consumer group.
pub(crate) struct Kafka {
    partitions: u32,
    rebalance_pause: Nanos,
    idempotent_producer: bool,
    /// Keyed messages (else round robin by production order).
    keyed: bool,
    /// Consumption paused by a rebalance until then.
    paused_until: Nanos,
    /// The longest partition backlog seen at a sample.
    max_lag: u64,
}

impl Kafka {
    pub(crate) fn new(
        s: &Scenario,
        partitions: u32,
        rebalance_pause: Nanos,
        idempotent_producer: bool,
    ) -> Self {
        Kafka {
            partitions,
            rebalance_pause,
            idempotent_producer,
            keyed: s.keys.is_some(),
            paused_until: 0,
            max_lag: 0,
        }
    }
}

/// The most messages waiting in one partition now.
fn lag(queue: &WaitQueue) -> u64 {
    queue.lane_lengths().max().unwrap_or(0) as u64
}

impl Semantics for Kafka {
    const GATED: bool = true;
    const ASSIGNS_LANES: bool = true;

    fn wait_queue(&self, _: &Scenario) -> WaitQueue {
        WaitQueue::ordered(self.partitions)
    }

    #[inline]
    fn lane(&self, m: &Msg, _: bool) -> usize {
        if self.keyed {
            (m.key % self.partitions) as usize
        } else {
            // The remainder is below `partitions`, a u32: it fits a usize everywhere.
            usize::try_from(m.seq % u64::from(self.partitions)).expect("below a u32")
        }
    }

    #[inline]
    fn gate(&mut self, now: Nanos) -> Gate {
        if now < self.paused_until {
            Gate::Closed
        } else {
            Gate::Open
        }
    }

    fn members_changed(&mut self, now: Nanos) -> Option<Nanos> {
        (self.rebalance_pause > 0).then(|| {
            self.paused_until = now.saturating_add(self.rebalance_pause);
            self.paused_until
        })
    }

    fn dedups(&self, _: Nanos) -> bool {
        self.idempotent_producer
    }

    fn sampled(&mut self, queue: &WaitQueue) {
        self.max_lag = self.max_lag.max(lag(queue));
    }

    fn stats(&self, queue: &WaitQueue, _: &Receives, stats: &mut BrokerStats) {
        stats.max_partition_lag = Some(self.max_lag.max(lag(queue)));
        stats.partition_lag_at_end = Some(lag(queue));
        stats.total_lag_at_end = Some(queue.len() as u64);
    }
}
