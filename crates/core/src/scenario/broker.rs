//! `[broker]` and `[keys]`: which broker's semantics the queue follows, and message keys.
//!
//! `generic` (the default) is the plain queue of docs/reference.md. The other kinds change the rules that
//! matter in design discussions (ordering, parallelism, what happens to a failed message,
//! what a full queue does); see `sim::broker` for how each is simulated.

use super::raw::{Dur, Overflow, RawScenario};
use super::validate::{bad, conflict, missing, too_large};
use super::{ClientMode, Nanos};
use crate::error::InputError;
use serde::Deserialize;

/// `[broker]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBroker {
    /// generic | sqs | sqs-fifo | rabbitmq | kafka.
    #[serde(default)]
    pub kind: BrokerKind,
    /// sqs, sqs-fifo: receives before a message is redriven to the DLQ (none: forever).
    pub max_receive_count: Option<i64>,
    /// sqs-fifo: most messages started per second (300 without batching, 3,000 with).
    pub throughput_limit: Option<f64>,
    /// sqs: messages one receive returns at most (1..=10).
    pub batch_size: Option<i64>,
    /// sqs, sqs-fifo: long polling: an empty receive waits this long for a message (0..=20 s;
    /// 0 = short polling).
    pub wait_time: Option<Dur>,
    /// sqs, sqs-fifo: with short polling, how often an idle consumer asks again.
    pub poll_interval: Option<Dur>,
    /// sqs-fifo: a copy published again within this window is dropped (SQS: 5 minutes).
    pub dedup_window: Option<Dur>,
    /// kafka: the producer is idempotent (retried publishes are dropped by the broker).
    pub idempotent_producer: Option<bool>,
    /// rabbitmq: a failed message is requeued at the head (true) or dead-lettered (false).
    pub requeue: Option<bool>,
    /// rabbitmq: deliveries before a requeued message is dead-lettered (quorum queues).
    pub delivery_limit: Option<i64>,
    /// rabbitmq: what a full queue (`queue.capacity` = max-length) does.
    pub overflow: Option<RabbitOverflow>,
    /// rabbitmq: unacknowledged messages a consumer may hold (basic.qos).
    pub prefetch: Option<i64>,
    /// rabbitmq: `classic` (RabbitMQ's default) or `quorum` (x-queue-type).
    pub queue_type: Option<QueueType>,
    /// rabbitmq: a message that reaches the broker with a consumer free to take it is
    /// delivered this much later (measured on 3.10.8: 0.9 ms p50).
    pub publish_to_deliver: Option<Dur>,
    /// rabbitmq: after a consumer acks (or nacks), the next waiting message reaches it this
    /// much later (measured on 3.10.8 with prefetch 1: 0.2 ms).
    pub ack_to_deliver: Option<Dur>,
    /// kafka: partitions of the topic.
    pub partitions: Option<i64>,
    /// kafka: consumption stops this long when the group's membership changes (autoscaling).
    pub rebalance_pause: Option<Dur>,
    /// kafka: unconsumed messages older than this are deleted (counted as expired).
    pub retention: Option<Dur>,
}

/// The broker semantics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BrokerKind {
    /// The plain queue (no broker's own rules).
    #[default]
    Generic,
    /// Amazon SQS standard queue.
    Sqs,
    /// Amazon SQS FIFO queue.
    SqsFifo,
    /// RabbitMQ queue.
    Rabbitmq,
    /// Kafka topic and consumer group.
    Kafka,
}

impl BrokerKind {
    /// As written in the file.
    pub fn name(self) -> &'static str {
        match self {
            BrokerKind::Generic => "generic",
            BrokerKind::Sqs => "sqs",
            BrokerKind::SqsFifo => "sqs-fifo",
            BrokerKind::Rabbitmq => "rabbitmq",
            BrokerKind::Kafka => "kafka",
        }
    }
}

/// RabbitMQ's `x-overflow`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RabbitOverflow {
    /// The oldest message is dropped.
    DropHead,
    /// The publisher is refused.
    RejectPublish,
    /// The publisher is refused and the message dead-lettered.
    RejectPublishDlx,
}

/// RabbitMQ's `x-queue-type`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum QueueType {
    /// A classic queue: RabbitMQ's default, priorities and every overflow mode, no
    /// delivery limit.
    #[default]
    Classic,
    /// A quorum queue: a delivery limit; no priorities and no `reject-publish-dlx` (3.10).
    Quorum,
}

/// `[keys]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKeys {
    /// Distinct keys.
    pub count: i64,
    /// Zipf exponent (0 = uniform).
    #[serde(default)]
    pub skew: f64,
}

/// Message keys: each message gets one of `count` keys, uniformly (`skew = 0`) or Zipf
/// distributed with exponent `skew` (key 0 the hottest).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Keys {
    /// Distinct keys.
    pub count: u32,
    /// Zipf exponent; 0 = uniform.
    pub skew: f64,
}

/// The checked broker semantics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Broker {
    /// The plain queue (no broker's own rules).
    Generic,
    /// SQS standard: unbounded, a failed message becomes visible again after the
    /// visibility timeout (at the tail: no order), redriven to the DLQ after
    /// `max_receive_count` receives.
    Sqs {
        /// Receives before redrive (`None`: forever).
        max_receive_count: Option<u32>,
        /// Messages per receive: a consumer works through a batch before it asks again.
        batch_size: u32,
        /// An idle consumer makes one empty receive per this long (long polling's wait, or
        /// the short-polling interval).
        poll_every: Nanos,
        /// Short polling (`wait_time = 0`): an idle consumer sees a message only at its
        /// next receive, `poll_every` apart.
        short_polling: bool,
    },
    /// SQS FIFO: as `Sqs`, but each message group (key) is processed in order, one message
    /// at a time; a failed message blocks its group until it is received again; at most
    /// `throughput_limit` messages start per second.
    SqsFifo {
        /// Receives before redrive (`None`: forever).
        max_receive_count: Option<u32>,
        /// Starts per second.
        throughput_limit: f64,
        /// An idle consumer makes one empty receive per this long.
        poll_every: Nanos,
        /// Short polling (`wait_time = 0`).
        short_polling: bool,
        /// A copy published again within this long is dropped.
        dedup_window: Nanos,
    },
    /// RabbitMQ: a failed message is requeued at the head at once (`requeue`) and goes to
    /// the next consumer with credit, until the delivery limit, or dead-lettered; a full
    /// queue drops (dead-letters) its head or refuses the publisher (and dead-letters the
    /// message with `dlx_on_reject`); each arrival is pushed to the next consumer with a
    /// free prefetch slot.
    RabbitMq {
        /// A quorum queue (else classic).
        quorum: bool,
        /// Nack with requeue (else dead-letter).
        requeue: bool,
        /// `x-delivery-limit` as written: dead-lettered after `limit + 1` deliveries
        /// (`None`: unlimited). Quorum queues only.
        delivery_limit: Option<u32>,
        /// reject-publish-dlx.
        dlx_on_reject: bool,
        /// Unacknowledged messages a consumer may hold: the one it works on and up to
        /// `prefetch - 1` more delivered to it, out of other consumers' reach.
        prefetch: u32,
        /// Broker to consumer when a message is delivered as it arrives.
        publish_to_deliver: Nanos,
        /// Broker to consumer when a message is delivered because a consumer acked.
        ack_to_deliver: Nanos,
    },
    /// Kafka: messages go to partition `key mod partitions` (round robin without keys);
    /// each partition is consumed in order, one message at a time, so at most
    /// `partitions` consumers are ever busy. Retries in the consumer block the partition
    /// (`retry.in = "consumer"`); retries through the queue are republished to the
    /// partition's tail after their backoff (a retry topic). Membership changes pause
    /// consumption for `rebalance_pause`.
    Kafka {
        /// Partitions.
        partitions: u32,
        /// Pause at each membership change.
        rebalance_pause: Nanos,
        /// Retried publishes are dropped by the broker.
        idempotent_producer: bool,
    },
}

/// Who bounds a message's processing attempts ([`Broker::attempt_limit`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AttemptLimit {
    /// `retry.max_attempts`.
    RetryTable,
    /// The broker redelivers: at most this many deliveries (`None`: without limit).
    Broker(Option<u64>),
}

impl Broker {
    /// `generic`, `sqs`, `sqs-fifo`, `rabbitmq` or `kafka`.
    pub fn name(&self) -> &'static str {
        match self {
            Broker::Generic => "generic",
            Broker::Sqs { .. } => "sqs",
            Broker::SqsFifo { .. } => "sqs-fifo",
            Broker::RabbitMq { .. } => "rabbitmq",
            Broker::Kafka { .. } => "kafka",
        }
    }

    /// Who bounds a message's processing attempts: the retry table, or the broker's own
    /// redelivery (RabbitMQ's requeue with its delivery limit, SQS's redrive policy).
    pub(crate) fn attempt_limit(&self) -> AttemptLimit {
        match *self {
            Broker::RabbitMq {
                requeue: true,
                delivery_limit,
                ..
            } => AttemptLimit::Broker(delivery_limit.map(|l| u64::from(l) + 1)),
            Broker::Sqs {
                max_receive_count, ..
            }
            | Broker::SqsFifo {
                max_receive_count, ..
            } => AttemptLimit::Broker(max_receive_count.map(u64::from)),
            _ => AttemptLimit::RetryTable,
        }
    }

    /// The broker's hand-off after an ack, before the consumer's next delivery (RabbitMQ's
    /// `ack_to_deliver`; 0 for the others).
    pub(crate) fn ack_hand_off(&self) -> Nanos {
        match *self {
            Broker::RabbitMq { ack_to_deliver, .. } => ack_to_deliver,
            _ => 0,
        }
    }

    /// Lanes of an ordered queue (message groups or partitions), if the kind has them.
    pub(crate) fn ordered_lanes(&self, keys: Option<Keys>) -> Option<u32> {
        match *self {
            Broker::SqsFifo { .. } => keys.map(|k| k.count),
            Broker::Kafka { partitions, .. } => Some(partitions),
            _ => None,
        }
    }
}

/// `wait_time = 0`: short polling.
fn short_polling(b: &RawBroker) -> bool {
    b.wait_time.is_some_and(|d| d.0 == 0.0)
}

/// How often an idle SQS consumer receives nothing: long polling's `wait_time` (default
/// 20 s), or with `wait_time = 0` the short-polling `poll_interval` (default 1 s).
fn poll_every(b: &RawBroker) -> Result<Nanos, InputError> {
    let wait = b.wait_time.map(|d| d.0).unwrap_or(20.0);
    if wait > 20.0 {
        return Err(bad(
            "broker.wait_time",
            format!("SQS long polling waits at most 20 s, got {wait} s"),
        ));
    }
    if wait > 0.0 {
        if b.poll_interval.is_some() {
            return Err(conflict(
                "broker.poll_interval",
                "applies to short polling: set wait_time = 0 to use it",
            ));
        }
        return Ok(crate::time::secs_to_ns(wait));
    }
    let every = b.poll_interval.map(|d| d.0).unwrap_or(1.0);
    if every <= 0.0 {
        return Err(bad("broker.poll_interval", "must be longer than 0"));
    }
    Ok(crate::time::secs_to_ns(every))
}

/// The checked `[keys]`.
///
/// # Errors
/// [`crate::error::ErrorKind::OutOfRange`] for a `count` or `skew` out of range; the key
/// is named, the position is added by the caller.
pub fn keys(raw: &RawScenario) -> Result<Option<Keys>, InputError> {
    let Some(k) = &raw.keys else {
        return Ok(None);
    };
    if !(1..=1_000_000).contains(&k.count) {
        return Err(bad(
            "keys.count",
            format!("must be between 1 and 1000000, got {}", k.count),
        ));
    }
    if !(k.skew.is_finite() && (0.0..=10.0).contains(&k.skew)) {
        return Err(bad(
            "keys.skew",
            format!("must be between 0 (uniform) and 10, got {}", k.skew),
        )
        .hint("about 1.0 is a typical hot-key skew (Zipf)"));
    }
    Ok(Some(Keys {
        count: u32::try_from(k.count).expect("checked 1..=1000000 above"),
        skew: k.skew,
    }))
}

/// The checked `[broker]`: its knobs, and the other keys it rules out.
///
/// # Errors
/// [`crate::error::ErrorKind::Conflict`] for a knob of another kind or a key the kind
/// rules out (a bound on an SQS queue, a `[retry]` table where the broker retries by its
/// own rules, a zero-time redelivery loop), `Missing` for a knob the kind needs,
/// `OutOfRange` and `TooLarge` for values past their limits.
pub fn broker(raw: &RawScenario, keys: Option<Keys>) -> Result<Broker, InputError> {
    let Some(b) = &raw.broker else {
        return Ok(Broker::Generic);
    };
    let kind = b.kind;
    let name = BrokerKind::name;
    // Each knob belongs to some kinds.
    let sqs_kinds: &[BrokerKind] = &[BrokerKind::Sqs, BrokerKind::SqsFifo];
    let knobs: [(&str, bool, &[BrokerKind]); 17] = [
        (
            "queue_type",
            b.queue_type.is_some(),
            &[BrokerKind::Rabbitmq],
        ),
        (
            "publish_to_deliver",
            b.publish_to_deliver.is_some(),
            &[BrokerKind::Rabbitmq],
        ),
        (
            "ack_to_deliver",
            b.ack_to_deliver.is_some(),
            &[BrokerKind::Rabbitmq],
        ),
        (
            "dedup_window",
            b.dedup_window.is_some(),
            &[BrokerKind::SqsFifo],
        ),
        (
            "idempotent_producer",
            b.idempotent_producer.is_some(),
            &[BrokerKind::Kafka],
        ),
        ("batch_size", b.batch_size.is_some(), &[BrokerKind::Sqs]),
        ("wait_time", b.wait_time.is_some(), sqs_kinds),
        ("poll_interval", b.poll_interval.is_some(), sqs_kinds),
        ("prefetch", b.prefetch.is_some(), &[BrokerKind::Rabbitmq]),
        (
            "max_receive_count",
            b.max_receive_count.is_some(),
            &[BrokerKind::Sqs, BrokerKind::SqsFifo],
        ),
        (
            "throughput_limit",
            b.throughput_limit.is_some(),
            &[BrokerKind::SqsFifo],
        ),
        ("requeue", b.requeue.is_some(), &[BrokerKind::Rabbitmq]),
        (
            "delivery_limit",
            b.delivery_limit.is_some(),
            &[BrokerKind::Rabbitmq],
        ),
        ("overflow", b.overflow.is_some(), &[BrokerKind::Rabbitmq]),
        ("partitions", b.partitions.is_some(), &[BrokerKind::Kafka]),
        (
            "rebalance_pause",
            b.rebalance_pause.is_some(),
            &[BrokerKind::Kafka],
        ),
        ("retention", b.retention.is_some(), &[BrokerKind::Kafka]),
    ];
    for (knob, set, kinds) in knobs {
        if set && !kinds.contains(&kind) {
            let owners: Vec<String> = kinds.iter().map(|k| format!("\"{}\"", name(*k))).collect();
            return Err(conflict(
                format!("broker.{knob}"),
                format!("`{knob}` does not apply to kind = \"{}\"", name(kind)),
            )
            .allowed(format!("with kind = {}", owners.join(" or "))));
        }
    }
    if kind == BrokerKind::Generic {
        return Ok(Broker::Generic);
    }
    if raw.client.mode == ClientMode::Sync {
        return Err(conflict(
            "broker.kind",
            "a broker kind describes the queue between producer and consumers: it needs client.mode = \"async\"",
        )
        .hint("use kind = \"generic\" (or no [broker]) in a sync variant"));
    }
    let unbounded = |what: &str| -> Result<(), InputError> {
        if raw.queue.capacity.is_some() {
            return Err(conflict(
                "queue.capacity",
                format!("{what} has no length bound"),
            )
            .hint("remove queue.capacity for this kind (in a variant: unset = [\"queue.capacity\"]; Kafka: broker.retention bounds how long messages stay)"));
        }
        Ok(())
    };
    // These kinds retry by their own rules: a [retry] table would be silently ignored.
    // `max_attempts = 1` (no retries) is the one setting that agrees with them.
    let no_retry_table = |why: &str| -> Result<(), InputError> {
        let keys = raw.retry.set_keys();
        let clash = keys
            .iter()
            .find(|k| **k != "max_attempts" || raw.retry.max_attempts != Some(1));
        if let Some(k) = clash {
            return Err(conflict(
                format!("retry.{k}"),
                format!("[retry] does not apply to kind = \"{}\": {why}", name(kind)),
            )
            .hint("remove the [retry] table (in a variant: unset = [\"retry\"])"));
        }
        Ok(())
    };
    let receive_count = |v: Option<i64>| -> Result<Option<u32>, InputError> {
        match v {
            None => Ok(None),
            Some(n) if (1..=1000).contains(&n) => {
                Ok(Some(u32::try_from(n).expect("checked 1..=1000")))
            }
            Some(n) => Err(bad(
                "broker.max_receive_count",
                format!("must be between 1 and 1000, got {n}"),
            )),
        }
    };
    let ordered = |what: &str| -> Result<(), InputError> {
        if raw.queue.priority {
            return Err(conflict(
                "queue.priority",
                format!("{what} is ordered: it has no priorities"),
            ));
        }
        Ok(())
    };
    match kind {
        BrokerKind::Generic => Ok(Broker::Generic),
        BrokerKind::Sqs => {
            unbounded("an SQS queue")?;
            no_retry_table("SQS retries by making a failed message visible again after delivery.visibility_timeout: set broker.max_receive_count for the redrive to the DLQ")?;
            let batch_size = match b.batch_size {
                None => 1,
                Some(n) if (1..=10).contains(&n) => u32::try_from(n).expect("checked 1..=10"),
                Some(n) => {
                    return Err(bad(
                        "broker.batch_size",
                        format!("must be between 1 and 10 (SQS returns at most 10), got {n}"),
                    ))
                }
            };
            Ok(Broker::Sqs {
                max_receive_count: receive_count(b.max_receive_count)?,
                batch_size,
                poll_every: poll_every(b)?,
                short_polling: short_polling(b),
            })
        }
        BrokerKind::SqsFifo => {
            unbounded("an SQS queue")?;
            ordered("an SQS FIFO queue")?;
            no_retry_table("SQS retries by making a failed message visible again after delivery.visibility_timeout: set broker.max_receive_count for the redrive to the DLQ")?;
            if keys.is_none() {
                return Err(missing(
                    "broker.kind",
                    "an SQS FIFO queue needs message group ids: add a [keys] table",
                )
                .hint(
                    "e.g. [keys] count = 1000 (uniform) or count = 1000, skew = 1.1 (hot groups)",
                ));
            }
            if let Some(k) = keys.filter(|k| k.count > 100_000) {
                return Err(too_large(
                    "keys.count",
                    format!(
                        "an SQS FIFO queue has at most 100000 message groups here, got {}",
                        k.count
                    ),
                )
                .hint("every group is a lane the simulator scans for the oldest message at each sample"));
            }
            let limit = b.throughput_limit.unwrap_or(300.0);
            if !(limit.is_finite() && limit > 0.0) {
                return Err(bad(
                    "broker.throughput_limit",
                    format!("must be a number > 0 (messages per second), got {limit}"),
                )
                .hint("SQS FIFO allows 300 messages/s, 3000 with batching"));
            }
            Ok(Broker::SqsFifo {
                max_receive_count: receive_count(b.max_receive_count)?,
                throughput_limit: limit,
                poll_every: poll_every(b)?,
                short_polling: short_polling(b),
                dedup_window: b
                    .dedup_window
                    .map(|d| crate::time::secs_to_ns(d.0))
                    .unwrap_or(300_000_000_000),
            })
        }
        BrokerKind::Rabbitmq => rabbitmq(raw, b),
        BrokerKind::Kafka => {
            let partitions = match b.partitions {
                Some(p) if (1..=100_000).contains(&p) => {
                    u32::try_from(p).expect("checked 1..=100000")
                }
                Some(p) => {
                    return Err(bad(
                        "broker.partitions",
                        format!("must be between 1 and 100000, got {p}"),
                    ))
                }
                None => {
                    return Err(
                        missing("broker.partitions", "kind = \"kafka\" needs `partitions`")
                            .hint("e.g. partitions = 12"),
                    )
                }
            };
            unbounded("a Kafka topic")?;
            ordered("a Kafka partition")?;
            if b.retention.is_some() && raw.queue.ttl.is_some() {
                return Err(conflict(
                    "broker.retention",
                    "set either broker.retention or queue.ttl, not both",
                ));
            }
            Ok(Broker::Kafka {
                partitions,
                rebalance_pause: b
                    .rebalance_pause
                    .map(|d| crate::time::secs_to_ns(d.0))
                    .unwrap_or(0),
                idempotent_producer: b.idempotent_producer.unwrap_or(false),
            })
        }
    }
}

/// The checked `[broker]` of `kind = "rabbitmq"`: its knobs, what its queue type supports
/// (RabbitMQ 3.10 refuses the rest with PRECONDITION_FAILED), and the keys it rules out.
fn rabbitmq(raw: &RawScenario, b: &RawBroker) -> Result<Broker, InputError> {
    let queue_type = b.queue_type.unwrap_or_default();
    let prefetch = match b.prefetch {
        None => 1,
        Some(n) if (1..=10_000).contains(&n) => u32::try_from(n).expect("checked 1..=10000"),
        Some(n) => {
            return Err(bad(
                "broker.prefetch",
                format!("must be between 1 and 10000, got {n}"),
            ))
        }
    };
    if prefetch > 1 {
        for (key, used) in [
            ("breaker", raw.breaker.is_some()),
            ("consumers.down", !raw.consumers.down.is_empty()),
        ] {
            if used {
                return Err(conflict(
                    key,
                    "pausing consumers that hold prefetched messages is not modelled",
                )
                .hint("use broker.prefetch = 1 with it"));
            }
        }
    }
    let no_retry = "RabbitMQ retries by requeueing a nacked message at the head at once (broker.requeue = true) or dead-letters it (false); broker.delivery_limit caps requeues";
    let clash = raw
        .retry
        .set_keys()
        .into_iter()
        .find(|k| *k != "max_attempts" || raw.retry.max_attempts != Some(1));
    if let Some(k) = clash {
        return Err(conflict(
            format!("retry.{k}"),
            format!("[retry] does not apply to kind = \"rabbitmq\": {no_retry}"),
        )
        .hint("remove the [retry] table (in a variant: unset = [\"retry\"])"));
    }
    if raw.queue.overflow != Overflow::Reject {
        return Err(conflict(
            "queue.overflow",
            "a RabbitMQ queue's overflow is broker.overflow (x-overflow); it never blocks publishers",
        )
        .allowed("broker.overflow = \"drop-head\" (RabbitMQ's default), \"reject-publish\" or \"reject-publish-dlx\""));
    }
    if raw.delivery.visibility_timeout.is_some() {
        return Err(conflict(
            "delivery.visibility_timeout",
            "RabbitMQ has no visibility timeout: a consumer that dies returns its unacknowledged messages to the head of the queue at once",
        )
        .hint("remove it (in a variant: unset = [\"delivery.visibility_timeout\"])"));
    }
    let delivery_limit = match b.delivery_limit {
        None => None,
        Some(n) if (0..=100_000).contains(&n) => {
            Some(u32::try_from(n).expect("checked 0..=100000"))
        }
        Some(n) => {
            return Err(bad(
                "broker.delivery_limit",
                format!("must be between 0 and 100000 (x-delivery-limit: dead-lettered after limit + 1 deliveries), got {n}"),
            ))
        }
    };
    let hop = |key: &str, d: Option<Dur>, default: Nanos| -> Result<Nanos, InputError> {
        match d {
            None => Ok(default),
            Some(Dur(v)) if v.is_finite() && (0.0..=60.0).contains(&v) => {
                Ok(crate::time::secs_to_ns(v))
            }
            Some(Dur(v)) => Err(bad(
                format!("broker.{key}"),
                format!("must be between 0 and 60 s, got {v} s"),
            )),
        }
    };
    match queue_type {
        QueueType::Classic => {
            if delivery_limit.is_some() {
                return Err(conflict(
                    "broker.delivery_limit",
                    "a classic queue has no delivery limit (RabbitMQ refuses x-delivery-limit on it with PRECONDITION_FAILED)",
                )
                .allowed("broker.delivery_limit with broker.queue_type = \"quorum\""));
            }
        }
        QueueType::Quorum => {
            if raw.queue.priority {
                return Err(conflict(
                    "queue.priority",
                    "a quorum queue has no message priorities in RabbitMQ 3.10 (x-max-priority needs a classic queue)",
                )
                .allowed("queue.priority with broker.queue_type = \"classic\""));
            }
            if b.overflow == Some(RabbitOverflow::RejectPublishDlx) {
                return Err(conflict(
                    "broker.overflow",
                    "a quorum queue does not support x-overflow = reject-publish-dlx in RabbitMQ 3.10",
                )
                .allowed("\"drop-head\" or \"reject-publish\" on a quorum queue; \"reject-publish-dlx\" with broker.queue_type = \"classic\""));
            }
        }
    }
    Ok(Broker::RabbitMq {
        quorum: queue_type == QueueType::Quorum,
        requeue: b.requeue.unwrap_or(true),
        delivery_limit,
        dlx_on_reject: b.overflow == Some(RabbitOverflow::RejectPublishDlx),
        prefetch,
        publish_to_deliver: hop("publish_to_deliver", b.publish_to_deliver, 900_000)?,
        ack_to_deliver: hop("ack_to_deliver", b.ack_to_deliver, 200_000)?,
    })
}
