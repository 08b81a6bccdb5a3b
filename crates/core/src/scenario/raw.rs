//! The scenario file as written: a serde mirror of the format, with unknown keys refused.
//!
//! Nothing here is checked beyond its TOML type; `validate` turns a [`RawScenario`]
//! into a [`super::Scenario`] with every value checked.

// Fields are named exactly as the keys they mirror; docs/reference.md documents each
// (and a test keeps that page and these structs in step).
#![allow(missing_docs)]

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use std::fmt;

/// A duration as written: a string with a unit or a bare number of seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dur(pub f64);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a duration such as \"250ms\", \"1.5s\", \"2m\", \"1h\" or a number of seconds",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Dur, E> {
                crate::time::parse_duration(v).map(Dur).map_err(|m| {
                    E::custom(format!(
                        "{m}; a duration is a number with a unit (ns, us, ms, s, m, h, d), e.g. \"250ms\", or a number of seconds"
                    ))
                })
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Dur, E> {
                if v.is_finite() && v >= 0.0 {
                    Ok(Dur(v))
                } else {
                    Err(E::custom(format!(
                        "{v} is not a duration: it must be finite and >= 0"
                    )))
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Dur, E> {
                self.visit_f64(v as f64)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Dur, E> {
                self.visit_f64(v as f64)
            }
        }
        d.deserialize_any(V)
    }
}

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub seed: Option<i64>,
    pub duration: Dur,
    pub warmup: Option<Dur>,
    pub sample_every: Option<Dur>,
    pub producers: Vec<RawProducer>,
    #[serde(default)]
    pub queue: RawQueue,
    pub consumers: RawConsumers,
    #[serde(default)]
    pub downstream: RawDownstream,
    #[serde(default)]
    pub retry: RawRetry,
    #[serde(default)]
    pub dlq: RawDlq,
    #[serde(default)]
    pub delivery: RawDelivery,
    #[serde(default)]
    pub client: RawClient,
    pub teaching: Option<RawTeaching>,
    pub cost: Option<RawCost>,
    pub breaker: Option<RawBreaker>,
    pub autoscale: Option<RawAutoscale>,
    /// Broker semantics (see `scenario::broker`).
    pub broker: Option<super::broker::RawBroker>,
    /// Message keys.
    pub keys: Option<super::broker::RawKeys>,
    /// Fan-out subscriptions: each a name, an optional `producers` filter and
    /// consumer-side tables merged over the file's (see `scenario::subscribers`).
    #[serde(default)]
    pub subscribers: Vec<toml::Table>,
    /// Overlays: each is a partial scenario merged over the base (see `overlay`).
    #[serde(default)]
    pub variants: Vec<toml::Table>,
}

/// `[[producers]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProducer {
    pub name: Option<String>,
    #[serde(default)]
    pub arrivals: ArrivalKind,
    /// Required for `poisson` and `constant` arrivals; not for `trace` or `rates`.
    pub rate: Option<f64>,
    #[serde(default)]
    pub schedule: Vec<RawStep>,
    /// Multiplies `rate` and every schedule step's rate (a what-if on the whole profile);
    /// for `trace` thins or superposes the timestamps, for `rates` multiplies the series.
    pub scale: Option<f64>,
    /// `arrivals = "trace"`: the data file of timestamps (relative to the scenario file).
    pub trace: Option<String>,
    /// `arrivals = "rates"`: the data file of `time,rate` rows.
    pub rates: Option<String>,
    /// Trace and rates: every gap (and every time) divided by this.
    pub speed: Option<f64>,
    /// Trace and rates: everything starts this much later.
    pub offset: Option<Dur>,
    /// Trace and rates: start again at the end.
    #[serde(rename = "loop")]
    pub looped: Option<bool>,
    /// Priority tier of this producer's messages (0 lowest, 9 highest).
    pub priority: Option<i64>,
    /// Probability that a message is published twice (a producer retry after a lost ack).
    pub duplicate_rate: Option<f64>,
    /// When the second copy goes out, after the first.
    pub duplicate_delay: Option<Dur>,
}

/// How a producer spaces its messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ArrivalKind {
    /// Exponential gaps (a Poisson process).
    #[default]
    Poisson,
    /// Evenly spaced, one every 1/rate.
    Constant,
    /// The timestamps of a data file, replayed.
    Trace,
    /// A non-homogeneous Poisson process following a rate series from a data file.
    Rates,
}

/// One entry of a producer's `schedule`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    pub at: Dur,
    pub rate: f64,
}

/// `[queue]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawQueue {
    pub capacity: Option<i64>,
    #[serde(default)]
    pub overflow: Overflow,
    /// Messages that have waited longer than this expire when they reach the head.
    pub ttl: Option<Dur>,
    /// What an expired message does: `drop` (counted as expired) or `dlq`.
    #[serde(default)]
    pub ttl_action: TtlAction,
    /// Messages already waiting at time 0 (a warm start after a restart).
    pub initial_backlog: Option<i64>,
    /// Serve higher-priority messages first (producers' `priority`).
    #[serde(default)]
    pub priority: bool,
}

/// What happens to a message whose TTL ran out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TtlAction {
    /// Discarded, counted in `counts.expired`.
    #[default]
    Drop,
    /// Moved to the dead-letter queue.
    Dlq,
}

/// What an arrival that finds the queue full does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Overflow {
    /// The arriving message is refused.
    #[default]
    Reject,
    /// The oldest waiting message is evicted to make room.
    DropOldest,
    /// The caller waits until there is room.
    Block,
}

/// `[consumers]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConsumers {
    pub count: i64,
    pub service: RawService,
    /// Windows in which no consumer takes a message (a deploy, the service down).
    #[serde(default)]
    pub down: Vec<RawWindow>,
}

/// A time window `{ start, end }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWindow {
    pub start: Dur,
    pub end: Dur,
}

/// A service-time law: `{ dist = "...", ... }`. Which keys apply depends on `dist`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawService {
    pub dist: String,
    pub value: Option<Dur>,
    pub mean: Option<Dur>,
    pub stddev: Option<Dur>,
    pub min: Option<Dur>,
    pub max: Option<Dur>,
    /// `empirical`: the data file of measured service times.
    pub samples: Option<String>,
    /// `empirical`: the unit of bare numbers in `samples` (`ms`, `s`, ...).
    pub unit: Option<String>,
    /// `histogram`: the data file of `le,count` buckets.
    pub buckets: Option<String>,
}

/// `[downstream]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDownstream {
    #[serde(default)]
    pub failure_rate: f64,
    pub timeout: Option<Dur>,
    #[serde(default)]
    pub outages: Vec<RawOutage>,
    /// Fraction of messages that fail on every attempt.
    #[serde(default)]
    pub poison_rate: f64,
}

/// One outage window.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOutage {
    pub start: Dur,
    pub end: Dur,
    pub failure_rate: Option<f64>,
    pub slowdown: Option<f64>,
}

/// `[retry]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRetry {
    pub max_attempts: Option<i64>,
    /// Default `exponential`.
    pub backoff: Option<Backoff>,
    pub base_delay: Option<Dur>,
    pub max_delay: Option<Dur>,
    /// Default `none`.
    pub jitter: Option<Jitter>,
    /// Default `queue`.
    #[serde(rename = "in")]
    pub place: Option<RetryPlace>,
    /// Retry budget: tokens earned per produced message (e.g. 0.1 = retries up to 10% of traffic).
    pub budget: Option<f64>,
    /// Retry budget: most tokens saved up (the burst allowed), default 10.
    pub budget_burst: Option<f64>,
}

/// Backoff before jitter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backoff {
    /// No delay.
    None,
    /// `base_delay` every time.
    Fixed,
    /// `min(max_delay, base_delay * 2^(n-1))`.
    #[default]
    Exponential,
}

/// Randomisation of the backoff delay.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Jitter {
    /// The delay as computed.
    #[default]
    None,
    /// `uniform(0, d)`.
    Full,
    /// `d/2 + uniform(0, d/2)`.
    Equal,
    /// `min(max_delay, uniform(base_delay, 3 * previous))`.
    Decorrelated,
}

/// Where a message waits out its backoff.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RetryPlace {
    /// Outside the queue, then back at its tail.
    #[default]
    Queue,
    /// Inside the consumer, which sleeps and holds its slot.
    Consumer,
}

/// `[dlq]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDlq {
    #[serde(default = "yes")]
    pub enabled: bool,
}

impl RawRetry {
    /// The keys of `[retry]` that are set, as written.
    pub fn set_keys(&self) -> Vec<&'static str> {
        let RawRetry {
            max_attempts,
            backoff,
            base_delay,
            max_delay,
            jitter,
            place,
            budget,
            budget_burst,
        } = self;
        [
            ("max_attempts", max_attempts.is_some()),
            ("backoff", backoff.is_some()),
            ("base_delay", base_delay.is_some()),
            ("max_delay", max_delay.is_some()),
            ("jitter", jitter.is_some()),
            ("in", place.is_some()),
            ("budget", budget.is_some()),
            ("budget_burst", budget_burst.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, set)| set.then_some(k))
        .collect()
    }
}

impl Default for RawDlq {
    fn default() -> Self {
        RawDlq { enabled: true }
    }
}

fn yes() -> bool {
    true
}

/// `[breaker]`: a circuit breaker in front of the downstream.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBreaker {
    pub window: Option<i64>,
    pub failure_threshold: Option<f64>,
    pub open_for: Option<Dur>,
    pub half_open_probes: Option<i64>,
}

/// `[autoscale]`: consumers added and removed on a signal.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAutoscale {
    #[serde(default)]
    pub metric: ScaleMetric,
    pub scale_out_above: Dur,
    pub scale_in_below: Dur,
    pub step: Option<i64>,
    pub min: Option<i64>,
    pub max: i64,
    pub reaction: Option<Dur>,
    pub cooldown: Option<Dur>,
    pub check_every: Option<Dur>,
}

/// What autoscaling watches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScaleMetric {
    /// Messages waiting.
    #[default]
    QueueDepth,
    /// Age of the oldest waiting message, seconds.
    OldestAge,
}

/// `[cost]`: prices for the bill in summary.json.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCost {
    #[serde(default)]
    pub per_consumer_hour: f64,
    #[serde(default)]
    pub per_million_requests: f64,
}

/// `[delivery]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDelivery {
    #[serde(default)]
    pub crash_rate: f64,
    pub visibility_timeout: Option<Dur>,
    #[serde(default)]
    pub idempotent: bool,
}

/// `[client]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClient {
    #[serde(default)]
    pub mode: ClientMode,
    pub enqueue_latency: Option<Dur>,
    pub timeout: Option<Dur>,
}

/// How the caller talks to the system.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientMode {
    /// Through the queue: the caller's answer is the broker's ack.
    #[default]
    Async,
    /// Directly: the caller waits for the processing to finish.
    Sync,
}

/// `[teaching]`: text shown in reports.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawTeaching {
    #[serde(default)]
    pub question: String,
    #[serde(default)]
    pub look_for: String,
    #[serde(default)]
    pub takeaway: String,
}
