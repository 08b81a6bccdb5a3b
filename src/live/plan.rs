//! What a live run will do, decided before it connects: what it refuses, the messages it
//! publishes (the model's own arrival and first-attempt draws, in the model's order) and
//! the queue it declares.

use crate::error::InputError;
use crate::model::producer::Source;
use crate::rng::{self, uniform, Sampler, Stream};
use crate::scenario::broker::Broker;
use crate::scenario::{Overflow, Scenario, TtlAction};
use crate::time::{ns_to_secs, Nanos};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// The longest live run, in wall seconds (`duration / --speed`).
pub const MAX_WALL_SECONDS: f64 = 60.0;
/// The highest total publish rate a live run drives, in messages per wall second. Measured
/// on the 2-core machine with a local RabbitMQ 3.10 and other builds running (load
/// average 12): at 1,000/s the one confirmed publisher sent 4,062 of 4,062 messages on
/// schedule, 1,015.6/s achieved for 1,015.6/s asked, late by p50 0.13 ms and p99 1.7 ms.
/// Faster rates were not verified, so they are refused.
pub const MAX_PUBLISH_RATE: f64 = 1000.0;
/// The shortest mean service time a consumer sleeps, in wall milliseconds: below this the
/// timer's overshoot (up to about 1 ms with tokio's millisecond wheel) is a large share of
/// the service time itself.
pub const MIN_SERVICE_MS: f64 = 2.0;
/// The most consumers a live run opens (one AMQP channel each).
pub const MAX_CONSUMERS: u32 = 64;

/// One message the live publisher sends: the model's arrival and first-attempt draws.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Planned {
    /// When the model produces it (simulated ns).
    pub at: Nanos,
    /// Its producer (index into `producers`).
    pub producer: u32,
    /// Its priority tier.
    pub priority: u8,
    /// First-attempt service time (simulated ns).
    pub service: Nanos,
    /// First-attempt failure draw.
    pub fail_u: f64,
    /// Fails on every attempt.
    pub poison: bool,
}

/// The queue a live run declares, from the checked scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueSpec {
    /// `x-queue-type`: `broker.queue_type`, quorum or classic.
    pub quorum: bool,
    /// `x-max-length`.
    pub max_length: Option<u64>,
    /// `x-overflow`: `drop-head`, `reject-publish` or `reject-publish-dlx` (with a max-length).
    pub overflow: Option<&'static str>,
    /// A dead-letter queue through the default exchange (`x-dead-letter-exchange = ""`).
    pub dlx: bool,
    /// `x-delivery-limit`.
    pub delivery_limit: Option<u32>,
    /// `x-message-ttl`, in wall milliseconds (after `--speed`).
    pub ttl_ms: Option<u64>,
    /// `x-max-priority`.
    pub max_priority: Option<u8>,
    /// basic.qos prefetch of each consumer.
    pub prefetch: u16,
    /// Nack a failed message with requeue.
    pub requeue: bool,
}

impl QueueSpec {
    /// The arguments as `key=value` words, for the report.
    pub fn describe(&self) -> String {
        let mut w = vec![format!(
            "x-queue-type={}",
            if self.quorum { "quorum" } else { "classic" }
        )];
        if let Some(n) = self.max_length {
            w.push(format!("x-max-length={n}"));
        }
        if let Some(o) = self.overflow {
            w.push(format!("x-overflow={o}"));
        }
        if self.dlx {
            w.push("x-dead-letter-exchange=\"\" (to a dead-letter queue)".into());
        }
        if let Some(n) = self.delivery_limit {
            w.push(format!("x-delivery-limit={n}"));
        }
        if let Some(t) = self.ttl_ms {
            w.push(format!("x-message-ttl={t}"));
        }
        if let Some(p) = self.max_priority {
            w.push(format!("x-max-priority={p}"));
        }
        w.push(format!("prefetch={}", self.prefetch));
        w.push(format!("nack requeue={}", self.requeue));
        w.join(", ")
    }
}

fn unsupported(key: &str, what: impl Into<String>) -> InputError {
    InputError::of(crate::error::ErrorKind::Unsupported, what)
        .key(key)
        .allowed("live runs a `rabbitmq` broker: producers (poisson, constant or a rate series, with schedules and priorities), one queue (capacity = x-max-length, broker.overflow, a DLQ, broker.delivery_limit, queue.ttl, queue.priority), consumers with a service-time law, broker.prefetch and broker.requeue, downstream.failure_rate and poison_rate")
}

/// Checks that a live run of `s` at `speed` is one it can do honestly; the error names the
/// key (or flag) it cannot do.
///
/// # Errors
/// An [`InputError`] (exit status 2) naming the key: a feature the live runner does not
/// implement, a run longer than [`MAX_WALL_SECONDS`], a rate above [`MAX_PUBLISH_RATE`],
/// service times below [`MIN_SERVICE_MS`] at this speed.
pub fn check(s: &Scenario, speed: f64) -> Result<QueueSpec, InputError> {
    let Broker::RabbitMq {
        quorum,
        requeue,
        delivery_limit,
        dlx_on_reject,
        prefetch,
        ..
    } = s.broker
    else {
        return Err(unsupported(
            "broker.kind",
            format!(
                "live runs against RabbitMQ: the scenario's broker is `{}`",
                s.broker.name()
            ),
        )
        .hint("set [broker] kind = \"rabbitmq\" (Kafka, SQS and the generic queue have no live runner)"));
    };
    let refusals: [(&str, bool, &str); 11] = [
        (
            "subscribers",
            !s.subscribers.is_empty(),
            "fan-out (`[[subscribers]]`) is not implemented live",
        ),
        (
            "autoscale",
            s.autoscale.is_some(),
            "autoscaling is not implemented live",
        ),
        (
            "breaker",
            s.breaker.is_some(),
            "a circuit breaker is not implemented live",
        ),
        (
            "consumers.down",
            !s.consumers.down.is_empty(),
            "consumer downtime windows are not implemented live",
        ),
        (
            "downstream.outages",
            !s.downstream.outages.is_empty(),
            "downstream outages are not implemented live",
        ),
        (
            "downstream.timeout",
            s.downstream.timeout.is_some(),
            "a downstream timeout is not implemented live",
        ),
        (
            "delivery.crash_rate",
            s.delivery.crash_rate > 0.0,
            "consumer crashes (a channel closed before the ack) are not implemented live",
        ),
        (
            "keys",
            s.keys.is_some(),
            "message keys are not implemented live",
        ),
        (
            "queue.initial_backlog",
            s.queue.initial_backlog > 0,
            "a warm backlog is not implemented live",
        ),
        (
            "client.enqueue_latency",
            s.client.enqueue_latency > 0,
            "live measures the broker's own publish latency: remove client.enqueue_latency",
        ),
        (
            "queue.ttl_action",
            s.queue.ttl.is_some() && s.queue.ttl_action == TtlAction::Dlq && !s.dlq_enabled,
            "expired messages go to the DLQ only when it is enabled",
        ),
    ];
    for (key, hit, why) in refusals {
        if hit {
            return Err(unsupported(key, why));
        }
    }
    if let Some((i, _)) = s
        .producers
        .iter()
        .enumerate()
        .find(|(_, p)| p.duplicate_rate > 0.0)
    {
        return Err(unsupported(
            &format!("producers.{i}.duplicate_rate"),
            "duplicate publishes are not implemented live",
        ));
    }
    if let Some((i, _)) = s
        .producers
        .iter()
        .enumerate()
        .find(|(_, p)| p.trace.is_some())
    {
        return Err(unsupported(
            &format!("producers.{i}.arrivals"),
            "replaying a trace (arrivals = \"trace\") is not implemented live; a rate series (arrivals = \"rates\") is",
        ));
    }
    if !(speed.is_finite() && speed > 0.0 && speed <= 1000.0) {
        return Err(InputError::of(
            crate::error::ErrorKind::OutOfRange,
            format!("--speed must be a number above 0 and at most 1000, got {speed}"),
        )
        .in_file("--speed"));
    }
    let wall = ns_to_secs(s.duration) / speed;
    if wall > MAX_WALL_SECONDS {
        return Err(InputError::of(
            crate::error::ErrorKind::TooLarge,
            format!(
                "a live run of {} at --speed {speed} takes {} of wall time, more than {} s",
                crate::time::human(ns_to_secs(s.duration)),
                crate::time::human(wall),
                MAX_WALL_SECONDS
            ),
        )
        .key("duration")
        .hint(format!(
            "shorten it (--set duration=...) or raise --speed to at least {}",
            (ns_to_secs(s.duration) / MAX_WALL_SECONDS * 100.0).ceil() / 100.0
        )));
    }
    // The highest total rate at any time (each producer's largest rate, added); the key
    // named is the largest producer's.
    let peaks: Vec<f64> = s
        .producers
        .iter()
        .map(|p| p.schedule.iter().map(|&(_, r)| r).fold(p.rate, f64::max))
        .collect();
    let peak: f64 = peaks.iter().sum();
    let biggest = (0..peaks.len())
        .max_by(|&a, &b| peaks[a].total_cmp(&peaks[b]))
        .unwrap_or(0);
    if peak * speed > MAX_PUBLISH_RATE {
        return Err(InputError::of(
            crate::error::ErrorKind::TooLarge,
            format!(
                "the producers' peak rate of {peak}/s at --speed {speed} is {}/s of wall time; one live publisher keeps to its schedule up to {MAX_PUBLISH_RATE}/s on this machine",
                peak * speed
            ),
        )
        .key(format!("producers.{biggest}.rate"))
        .hint("lower the rate or the --speed"));
    }
    let service_ms = s.consumers.service.mean() * 1e3 / speed;
    if service_ms < MIN_SERVICE_MS {
        return Err(InputError::of(
            crate::error::ErrorKind::OutOfRange,
            format!(
                "a mean service time of {} at --speed {speed} is {service_ms:.3} ms of wall time; the live consumers' timers are not accurate below {MIN_SERVICE_MS} ms",
                crate::time::human(s.consumers.service.mean())
            ),
        )
        .key("consumers.service")
        .hint("lower the --speed"));
    }
    if s.consumers.count > MAX_CONSUMERS {
        return Err(InputError::of(
            crate::error::ErrorKind::TooLarge,
            format!(
                "live opens one channel per consumer, at most {MAX_CONSUMERS}; got {}",
                s.consumers.count
            ),
        )
        .key("consumers.count"));
    }
    let ttl_ms = match s.queue.ttl {
        None => None,
        Some(t) => {
            let ms = t as f64 / 1e6 / speed;
            if ms < 1.0 || (ms - ms.round()).abs() > 1e-6 {
                return Err(InputError::of(
                    crate::error::ErrorKind::OutOfRange,
                    format!(
                        "RabbitMQ's x-message-ttl is whole milliseconds: queue.ttl / --speed is {ms} ms"
                    ),
                )
                .key("queue.ttl"));
            }
            Some(ms.round() as u64)
        }
    };
    if s.queue.ttl.is_some() && s.queue.capacity.is_some() && !s.dlq_enabled {
        return Err(unsupported(
            "queue.ttl",
            "without a dead-letter queue the live run cannot tell a message RabbitMQ expired from one its max-length dropped (neither is seen again)",
        )
        .hint("enable the DLQ (dlq.enabled = true), or drop queue.ttl or queue.capacity"));
    }
    let overflow = s.queue.capacity.map(|_| match s.queue.overflow {
        Overflow::DropOldest => "drop-head",
        _ if dlx_on_reject => "reject-publish-dlx",
        _ => "reject-publish",
    });
    let max_priority = s.queue.priority.then(|| {
        s.producers
            .iter()
            .map(|p| p.priority)
            .max()
            .unwrap_or(0)
            .max(1)
    });
    Ok(QueueSpec {
        quorum,
        max_length: s.queue.capacity,
        overflow,
        dlx: s.dlq_enabled,
        delivery_limit,
        ttl_ms,
        max_priority,
        prefetch: prefetch.min(u32::from(u16::MAX)) as u16,
        requeue,
    })
}

/// The messages the model produces, in its order, with the same draws: each producer's
/// arrival stream, then per message its service time, failure draw and poison draw from
/// the shared streams, exactly as the event loop draws them (events at the same instant in
/// the order they were scheduled).
pub fn schedule(s: &Scenario) -> Vec<Planned> {
    let st = |x| rng::salted(s.seed, s.stream_salt, x);
    let mut sources: Vec<Source> = s
        .producers
        .iter()
        .map(|p| Source::new(p, st(Stream::Arrivals(p.stream))))
        .collect();
    #[derive(PartialEq, Eq, PartialOrd, Ord)]
    enum Ev {
        Arrival { producer: u32, generation: u32 },
        Step { producer: u32, step: u32 },
    }
    let mut heap: BinaryHeap<Reverse<(Nanos, u64, Ev)>> = BinaryHeap::new();
    let mut seq = 0u64;
    let mut push = |heap: &mut BinaryHeap<_>, t: Nanos, ev: Ev| {
        heap.push(Reverse((t, seq, ev)));
        seq += 1;
    };
    for (i, src) in sources.iter_mut().enumerate() {
        if let Some(t) = src.first() {
            let generation = src.generation;
            push(
                &mut heap,
                t,
                Ev::Arrival {
                    producer: i as u32,
                    generation,
                },
            );
        }
        for (j, (at, _)) in s.producers[i].schedule.iter().enumerate() {
            push(
                &mut heap,
                *at,
                Ev::Step {
                    producer: i as u32,
                    step: j as u32,
                },
            );
        }
    }
    let sampler = Sampler::new(&s.consumers.service);
    let mut service = st(Stream::Service);
    let mut fail = st(Stream::Failure);
    let mut poison = st(Stream::Poison);
    let mut out = Vec::new();
    while let Some(Reverse((t, _, ev))) = heap.pop() {
        if t > s.duration {
            break;
        }
        match ev {
            Ev::Arrival {
                producer,
                generation,
            } => {
                let src = &mut sources[producer as usize];
                if generation != src.generation {
                    continue;
                }
                if let Some(next) = src.after(t) {
                    push(
                        &mut heap,
                        next,
                        Ev::Arrival {
                            producer,
                            generation,
                        },
                    );
                }
                let svc = sampler.sample(&mut service);
                let u = uniform(&mut fail);
                let rate = s.downstream.poison_rate;
                let is_poison = rate > 0.0 && uniform(&mut poison) < rate;
                out.push(Planned {
                    at: t,
                    producer,
                    priority: s.producers[producer as usize].priority,
                    service: svc,
                    fail_u: u,
                    poison: is_poison,
                });
            }
            Ev::Step { producer, step } => {
                let rate = s.producers[producer as usize].schedule[step as usize].1;
                let src = &mut sources[producer as usize];
                if let Some(next) = src.set_rate(t, rate) {
                    let generation = src.generation;
                    push(
                        &mut heap,
                        next,
                        Ev::Arrival {
                            producer,
                            generation,
                        },
                    );
                }
            }
        }
    }
    out
}
