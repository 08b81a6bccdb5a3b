//! summary.json: the figures of one run, each documented in docs/reference.md.

use super::counts::Counts;
use super::latency::LatencyStats;
use super::moments::MomentStats;
use super::recovery::Disturbance;
use serde::Serialize;

/// Everything a run reports in summary.json. All times in seconds.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Scenario name.
    pub scenario: String,
    /// Variant name (`null` without variants).
    pub variant: Option<String>,
    /// The seed used.
    pub seed: u64,
    /// Simulated time.
    pub simulated_seconds: f64,
    /// Events processed by the engine.
    pub events: u64,
    /// Wall-clock time of the simulation (the one field that differs between equal runs).
    pub wall_seconds: f64,
    /// Fate counters.
    pub counts: Counts,
    /// Latency distributions.
    pub latency: Latencies,
    /// Queue (async) or server backlog (sync) figures.
    pub queue: QueueStats,
    /// Consumer figures.
    pub consumers: ConsumerStats,
    /// What callers saw.
    pub client: ClientStats,
    /// Rates over the measured window.
    pub rates: Rates,
    /// One entry per disturbance (schedule step up, outage).
    pub recovery: Vec<Disturbance>,
    /// The conservation identity.
    pub conservation: Conservation,
    /// Why the run stopped before `duration` (a resource limit, Ctrl-C); `null` when it
    /// ran to the end. `simulated_seconds` is then the time it reached.
    pub stopped: Option<String>,
    /// The bill, when the scenario has `[cost]` prices.
    pub cost: Option<CostStats>,
    /// Per priority tier, when producers use more than one (highest first).
    pub classes: Vec<ClassStats>,
    /// The broker's semantics and its own figures.
    pub broker: BrokerStats,
    /// Fan-out figures (`null` without `[[subscribers]]`). With subscribers every other
    /// figure above is over all of them together (each copy counts as a message).
    pub fanout: Option<FanoutStats>,
    /// Each subscriber's own figures, in file order (empty without fan-out).
    pub subscribers: Vec<SubscriberSummary>,
    /// How the run was asked for: the command line fills this in (the library leaves it
    /// out), so that a summary says which overrides its numbers are for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invocation: Option<Invocation>,
    /// The measured variability of arrivals and service (after warm-up).
    pub variability: Variability,
    /// Kingman (one consumer) or Allen-Cunneen (several) fed by `variability`, beside a
    /// run whose arrivals or service are not Poisson / exponential; `null` where the
    /// formulas do not apply (the conditions are in docs/reference.md).
    pub gg_approximation: Option<crate::theory::GgApproximation>,
}

/// `variability.*`: streaming moments (Welford) of what the G/G formulas take.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Variability {
    /// Gaps between consecutive producer arrivals, all producers together (scv = Ca²).
    pub interarrival: MomentStats,
    /// How long each first processing attempt occupied its consumer (scv = Cs²).
    pub service: MomentStats,
}

impl Summary {
    /// Fills in `gg_approximation` from the figures and the scenario they are of.
    pub(crate) fn with_gg(mut self, s: &crate::scenario::Scenario) -> Summary {
        self.gg_approximation = crate::theory::gg_approximation(s, &self);
        self
    }
}

/// `invocation`: the command and the scenario exactly as run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Invocation {
    /// The command line, one argument per entry (the program named `queuelab`), less
    /// `--out` and its folder: equal runs into different folders write equal summaries
    /// (report.html shows the command whole).
    pub command: Vec<String>,
    /// The scenario file (or bundled lesson) as given.
    pub scenario_file: String,
    /// The overrides applied over the file, in order: `--set KEY=VALUE`, and `--seed`
    /// and `--duration` as `seed=...` and `duration=...`.
    pub overrides: Vec<String>,
    /// The scenario as run, as TOML: the file's keys, then the variant's, then the
    /// overrides. Running this file alone gives the same numbers.
    pub effective_scenario: String,
}

/// `broker.*`.
#[derive(Debug, Clone, Serialize)]
pub struct BrokerStats {
    /// `generic`, `sqs`, `sqs-fifo`, `rabbitmq` or `kafka`.
    pub kind: String,
    /// Kafka: partitions; SQS FIFO: message groups (`null` for unordered kinds).
    pub lanes: Option<u32>,
    /// Kafka: the most messages waiting in one partition at any sample (consumer lag).
    pub max_partition_lag: Option<u64>,
    /// Kafka: the most messages waiting in one partition at the end.
    pub partition_lag_at_end: Option<u64>,
    /// Kafka: messages waiting in all partitions at the end (the group's total lag; its
    /// largest value over the run is `queue.max_depth`).
    pub total_lag_at_end: Option<u64>,
    /// SQS: receive requests that returned messages.
    pub receives: Option<u64>,
    /// SQS: receive requests that returned nothing (idle consumer-time / the polling wait).
    pub empty_receives: Option<u64>,
    /// SQS: API requests: sends + receives + empty receives + one delete per receive.
    /// `cost.requests` uses this for SQS kinds.
    pub api_requests: Option<u64>,
}

impl BrokerStats {
    /// A kind's figures before it adds its own: all `null` but the kind.
    pub fn of_kind(kind: &str, lanes: Option<u32>) -> BrokerStats {
        BrokerStats {
            kind: kind.to_string(),
            lanes,
            max_partition_lag: None,
            partition_lag_at_end: None,
            total_lag_at_end: None,
            receives: None,
            empty_receives: None,
            api_requests: None,
        }
    }

    /// Fan-out totals: adds subscriber `other`'s figures (the largest for maxima, the sum
    /// for counts, over the subscribers that have each; kind and lanes are the topic's).
    pub fn merge(&mut self, other: &BrokerStats) {
        fn max(a: Option<u64>, b: Option<u64>) -> Option<u64> {
            a.max(b)
        }
        fn sum(a: Option<u64>, b: Option<u64>) -> Option<u64> {
            match (a, b) {
                (Some(x), Some(y)) => Some(x + y),
                (x, None) | (None, x) => x,
            }
        }
        let BrokerStats {
            kind: _,
            lanes: _,
            max_partition_lag,
            partition_lag_at_end,
            total_lag_at_end,
            receives,
            empty_receives,
            api_requests,
        } = *other;
        self.max_partition_lag = max(self.max_partition_lag, max_partition_lag);
        self.partition_lag_at_end = max(self.partition_lag_at_end, partition_lag_at_end);
        self.total_lag_at_end = sum(self.total_lag_at_end, total_lag_at_end);
        self.receives = sum(self.receives, receives);
        self.empty_receives = sum(self.empty_receives, empty_receives);
        self.api_requests = sum(self.api_requests, api_requests);
    }
}

/// `fanout.*`.
#[derive(Debug, Clone, Serialize)]
pub struct FanoutStats {
    /// Number of subscribers.
    pub subscribers: u32,
    /// Messages the producers published to the topic.
    pub published: u64,
    /// Copies the topic delivered to subscriber queues (a message counts once per
    /// subscriber that takes its producer).
    pub deliveries: u64,
}

/// `subscribers[]`: one subscriber's name, the producers it takes, and its own summary.
#[derive(Debug, Clone, Serialize)]
pub struct SubscriberSummary {
    /// The subscriber's name.
    pub name: String,
    /// The producers whose messages it receives.
    pub producers: Vec<String>,
    /// Its figures, as for a run of its own.
    #[serde(flatten)]
    pub summary: Summary,
}

/// `classes[]`: the figures of one priority tier.
#[derive(Debug, Clone, Serialize)]
pub struct ClassStats {
    /// The tier (0 lowest, 9 highest).
    pub priority: u8,
    /// Messages produced in this tier.
    pub produced: u64,
    /// Messages of this tier completed.
    pub completed: u64,
    /// Produced -> processed successfully.
    pub end_to_end: LatencyStats,
    /// Produced -> first processing attempt starts.
    pub queue_wait: LatencyStats,
}

/// `cost.*`.
#[derive(Debug, Clone, Serialize)]
pub struct CostStats {
    /// Consumers x simulated hours.
    pub consumer_hours: f64,
    /// Processing attempts (requests to the downstream).
    pub requests: u64,
    /// consumer_hours x per_consumer_hour + requests / 1e6 x per_million_requests.
    pub total: f64,
}

impl CostStats {
    /// The bill for `consumer_hours` and `requests` at `price`.
    pub fn new(consumer_hours: f64, requests: u64, price: &crate::scenario::Cost) -> CostStats {
        CostStats {
            consumer_hours,
            requests,
            total: consumer_hours * price.per_consumer_hour
                + requests as f64 / 1e6 * price.per_million_requests,
        }
    }

    /// Fan-out totals: adds subscriber `other`'s bill.
    pub fn merge(&mut self, other: &CostStats) {
        let CostStats {
            consumer_hours,
            requests,
            total,
        } = *other;
        self.consumer_hours += consumer_hours;
        self.requests += requests;
        self.total += total;
    }
}

/// `latency.*`.
#[derive(Debug, Clone, Serialize)]
pub struct Latencies {
    /// Produced -> processed successfully.
    pub end_to_end: LatencyStats,
    /// Produced -> first processing attempt starts.
    pub queue_wait: LatencyStats,
    /// What the caller waited.
    pub client: LatencyStats,
}

/// `queue.*`.
#[derive(Debug, Clone, Serialize)]
pub struct QueueStats {
    /// Capacity (`null` = unbounded).
    pub capacity: Option<u64>,
    /// Time-weighted mean of messages waiting (after warm-up).
    pub mean_depth: f64,
    /// Largest number waiting at any instant.
    pub max_depth: u64,
    /// Largest age of the oldest waiting message at any instant.
    pub max_oldest_age: f64,
    /// Time-weighted mean of messages waiting or being processed.
    pub mean_in_system: f64,
    /// Fraction of first attempts that waited at all (queue_wait > 0).
    pub p_wait: Option<f64>,
}

/// `consumers.*`.
#[derive(Debug, Clone, Serialize)]
pub struct ConsumerStats {
    /// Number of consumers.
    pub count: u32,
    /// Busy fraction of consumer time (processing, or sleeping out an inline backoff).
    pub utilization: f64,
    /// Part of that fraction spent sleeping out inline backoffs (`retry.in = "consumer"`).
    pub backoff_fraction: f64,
    /// Time-average number of consumers (differs from `count` only with autoscaling).
    pub mean_count: f64,
    /// Most consumers at once.
    pub max_count: u64,
}

/// `client.*`.
#[derive(Debug, Clone, Serialize)]
pub struct ClientStats {
    /// `async` or `sync`.
    pub mode: String,
    /// Async: messages stored. Sync: callers with a successful answer.
    pub ok: u64,
    /// Async: messages refused. Sync: callers whose last call was refused or failed.
    pub errors: u64,
    /// Sync: callers whose last call timed out.
    pub timeouts: u64,
}

/// `rates.*`: per second over the measured window (after warm-up).
#[derive(Debug, Clone, Serialize)]
pub struct Rates {
    /// Messages produced per second.
    pub offered: f64,
    /// Successful processing per second (sync: including work for callers who left).
    pub throughput: f64,
    /// Completions whose caller still waited, or that were async, per second.
    pub goodput: f64,
    /// Processing attempts per message that was attempted at all (1.0 without retries
    /// or redeliveries; refused and never-started messages do not count).
    pub retry_amplification: f64,
}

/// The identity `produced = rejected + dropped + completed + dead_lettered + failed +
/// in_queue_at_end + in_flight_at_end + retry_waiting_at_end + blocked_at_end + expired +
/// deduplicated`.
#[derive(Debug, Clone, Serialize)]
pub struct Conservation {
    /// True when the identity holds.
    pub holds: bool,
    /// produced minus the sum of the terms.
    pub gap: i64,
}
