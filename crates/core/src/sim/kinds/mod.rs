//! Broker kinds: what each broker's semantics change in the event loop.
//!
//! The loop ([`super::Sim`]) is generic over one [`Semantics`] and asks it at named
//! decision points: the layout of the wait queue, the lane of a message, what a full
//! queue does with a refused publish, what happens after a failed attempt (returned as
//! data, an [`AfterFailure`], that the loop carries out), whether consumers may start now
//! (FIFO throughput, Kafka rebalances), whether a second publish is dropped, and the
//! kind's own figures. Every hook has a default that is the generic queue's behaviour,
//! so a kind's file says only what it changes. The loop is compiled once per kind
//! (static dispatch): the generic queue pays nothing for the others.
//!
//! | kind | file | what it changes |
//! |---|---|---|
//! | `generic` | [`generic`] | nothing: FIFO, `[retry]` backoff, `queue.overflow` |
//! | `sqs` | [`sqs`] | visibility timeout instead of backoff, redrive, batches, polling |
//! | `sqs-fifo` | [`sqs_fifo`] | message groups in order, head-of-group retry, throughput limit, dedup |
//! | `rabbitmq` | [`rabbitmq`] | push to consumers with credit (prefetch), hand-off times, nack requeue at the head, delivery limit, drop-head and DLX, TTL timer |
//! | `kafka` | [`kafka`] | partitions assigned to consumers, rebalance pauses, lag, idempotent producer |
//!
//! ## Adding a broker kind
//! 1. Its configuration: a variant of `BrokerKind` and of `Broker`, its keys in `RawBroker`
//!    and their checks, all in `scenario/broker.rs`, with its answers to
//!    `Broker::ordered_lanes`, `attempt_limit` and `ack_hand_off` where they differ from
//!    the generic queue's.
//! 2. Its semantics: a new file in this folder with a struct that implements
//!    [`Semantics`] (only the hooks that differ from the generic queue).
//! 3. One arm in [`run`] below, the only `match` on `Broker` in the simulator.
//!
//! Then list its keys in docs/reference.md (tests/reference.rs checks) and add it to the
//! property tests (`tests/properties.rs` runs every workload on every kind).

pub(crate) mod generic;
pub(crate) mod kafka;
pub(crate) mod rabbitmq;
pub(crate) mod sqs;
pub(crate) mod sqs_fifo;

use super::{RunResult, Sim};
use crate::guard::Limits;
use crate::metrics::summary::BrokerStats;
use crate::model::message::Msg;
use crate::model::queue::WaitQueue;
use crate::model::retry::Policy;
use crate::scenario::broker::Broker;
use crate::scenario::Scenario;
use crate::time::Nanos;

/// Runs `s` with the semantics of its `[broker]`: the one place that maps a scenario's
/// broker to a kind.
pub(crate) fn run(s: &Scenario, limits: &Limits) -> RunResult {
    match s.broker {
        Broker::Generic => Sim::new(s, generic::Generic, limits).run(),
        Broker::Sqs {
            max_receive_count,
            batch_size,
            poll_every,
            short_polling,
        } => Sim::new(
            s,
            sqs::Sqs::new(s, max_receive_count, batch_size, poll_every, short_polling),
            limits,
        )
        .run(),
        Broker::SqsFifo {
            max_receive_count,
            throughput_limit,
            poll_every,
            short_polling,
            dedup_window,
        } => Sim::new(
            s,
            sqs_fifo::SqsFifo::new(
                s,
                max_receive_count,
                throughput_limit,
                (poll_every, short_polling),
                dedup_window,
            ),
            limits,
        )
        .run(),
        Broker::RabbitMq {
            quorum: _,
            requeue,
            delivery_limit,
            dlx_on_reject,
            prefetch,
            publish_to_deliver,
            ack_to_deliver,
        } => Sim::new(
            s,
            rabbitmq::RabbitMq::new(
                s,
                requeue,
                delivery_limit,
                dlx_on_reject,
                prefetch,
                (publish_to_deliver, ack_to_deliver),
            ),
            limits,
        )
        .run(),
        Broker::Kafka {
            partitions,
            rebalance_pause,
            idempotent_producer,
        } => Sim::new(
            s,
            kafka::Kafka::new(s, partitions, rebalance_pause, idempotent_producer),
            limits,
        )
        .run(),
    }
}

/// What happens to a message after a failed attempt (async). The loop carries it out;
/// the retry budget (`retry.budget`) may still turn a retry into [`AfterFailure::GiveUp`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AfterFailure {
    /// `[retry]`'s backoff, waited out in the consumer (`retry.in = "consumer"`) or
    /// outside the queue, then back at its tail (`retry.in = "queue"`).
    Backoff,
    /// Not deleted: it becomes visible again at `at` (SQS's visibility timeout, counted
    /// from its receive), waiting outside the queue until then.
    VisibleAgain {
        /// When it may be received again.
        at: Nanos,
    },
    /// Requeued at the head of the queue at once (RabbitMQ's nack with requeue); the
    /// retry budget does not apply (the broker decides).
    RequeueHead,
    /// No more attempts: dead-lettered (or failed without a DLQ).
    GiveUp,
}

/// Whether consumers may start a message now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gate {
    /// They may.
    Open,
    /// Not now; the loop has already been asked to look again.
    Closed,
    /// Not now; the loop should look again at this instant.
    ClosedUntil(Nanos),
}

/// A broker kind's semantics. Every hook defaults to the generic queue's behaviour.
pub(crate) trait Semantics {
    /// Whether the kind can stop consumers from starting ([`Semantics::gate`]).
    const GATED: bool = false;
    /// Whether lanes are dealt to consumers (a consumer serves only its own).
    const ASSIGNS_LANES: bool = false;
    /// Whether a message that waited out a failure goes back to the head of its lane.
    const RETRY_AT_HEAD: bool = false;
    /// Whether a consumer works through a batch before it receives again.
    const BATCHES: bool = false;
    /// Whether the broker pushes messages to consumers with credit (RabbitMQ's prefetch):
    /// the loop hands arrivals, settled messages and dispatch to [`Semantics::push`]'s
    /// state (`rabbitmq.rs`) instead of idle consumers taking from the queue.
    const PUSHES: bool = false;
    /// Whether messages past `queue.ttl` expire at the head on a timer, consumers or not
    /// (else as a consumer reaches them).
    const TTL_TIMER: bool = false;

    /// The push-delivery state, for a kind that [`Semantics::PUSHES`].
    fn push(&mut self) -> Option<&mut rabbitmq::Push> {
        None
    }

    /// A full queue's drop-oldest sheds the head (the highest-priority message, RabbitMQ's
    /// drop-head) instead of the oldest message of the lowest tier.
    fn evicts_head(&self) -> bool {
        false
    }

    /// A message shed by drop-oldest is dead-lettered when the DLQ is enabled (RabbitMQ's
    /// drop-head with a dead-letter exchange) instead of counted as dropped.
    fn evicted_dead_letters(&self) -> bool {
        false
    }

    /// The wait queue: ordered lanes (groups, partitions), or the generic queue with
    /// `queue.priority`'s tiers.
    fn wait_queue(&self, s: &Scenario) -> WaitQueue {
        WaitQueue::with_tiers(s.queue.capacity, if s.queue.priority { 10 } else { 1 })
    }

    /// The lane (or priority tier) of message `m`; `priority`: `queue.priority` is on.
    #[inline]
    fn lane(&self, m: &Msg, priority: bool) -> usize {
        if priority {
            usize::from(m.priority)
        } else {
            0
        }
    }

    /// Messages a consumer holds beyond the one it works on (prefetch, batches).
    fn buffer(&self) -> usize {
        0
    }

    /// A publish that a full queue refuses is dead-lettered (RabbitMQ's
    /// `reject-publish-dlx`) instead of counted as rejected.
    fn refused_dead_letters(&self) -> bool {
        false
    }

    /// After a failed attempt of `m` (its `failures` and `attempts` already counted).
    fn after_failure(&self, m: &Msg, now: Nanos, policy: &Policy) -> AfterFailure {
        let _ = now;
        if m.failures >= policy.max_attempts() {
            AfterFailure::GiveUp
        } else {
            AfterFailure::Backoff
        }
    }

    /// Whether consumers may start a message at `now`.
    #[inline]
    fn gate(&mut self, now: Nanos) -> Gate {
        let _ = now;
        Gate::Open
    }

    /// A consumer started a message at `now` (after [`Semantics::gate`] allowed it).
    #[inline]
    fn started(&mut self, now: Nanos) {
        let _ = now;
    }

    /// The loop looks again, as [`Gate::ClosedUntil`] asked.
    fn reopened(&mut self) {}

    /// The consumer group changed at `now`: until when consumption pauses, if it does.
    fn members_changed(&mut self, now: Nanos) -> Option<Nanos> {
        let _ = now;
        None
    }

    /// Whether a copy published again `delay` after the first is dropped by the broker.
    fn dedups(&self, delay: Nanos) -> bool {
        let _ = delay;
        false
    }

    /// Short polling: consumers see messages only when they receive, each one this long
    /// after its last empty receive (a message that arrives meanwhile waits for it).
    fn short_poll(&self) -> Option<Nanos> {
        None
    }

    /// A time-series sample is taken (the kind may watch its queue).
    fn sampled(&mut self, queue: &WaitQueue) {
        let _ = queue;
    }

    /// The kind's figures in `broker.*` at the end of the run, from its queue and what the
    /// loop counted of the consumers' receives.
    fn stats(&self, queue: &WaitQueue, receives: &Receives, stats: &mut BrokerStats) {
        let _ = (queue, receives, stats);
    }
}

/// What the loop counted of messages and consumers' receives, for a kind that bills its
/// requests (SQS).
pub(crate) struct Receives {
    /// Messages the broker accepted (sends).
    pub(crate) accepted: u64,
    /// Receives that returned messages.
    pub(crate) receives: u64,
    /// Short polling: receives that returned nothing.
    pub(crate) empty_polls: u64,
    /// Consumer-nanoseconds present but idle (long polling: empty receives are this over
    /// the polling wait).
    pub(crate) idle_area: u128,
}
