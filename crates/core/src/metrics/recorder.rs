//! The [`Recorder`]: everything a run measures, kept apart from what happens in it.
//!
//! The event loop tells the recorder what happened (a message produced, a first attempt,
//! a completion, a caller's answer, a gauge's new level) and when to take a time-series
//! row; it never touches a counter's arithmetic itself. At the end the recorder is closed
//! into a [`Tally`] (plain final accumulators), and [`Tally::summary`] is the one place a
//! `summary.json` is assembled. Fan-out totals are [`Tally::merge`] of the subscribers'
//! tallies, summarised by the same function.

use super::latency::IntervalLatency;
use super::summary::*;
use super::{recovery, Counts, LatencyRecorder, Moments, Row, TimeWeighted};
use crate::scenario::Scenario;
use crate::time::{ns_to_secs, Nanos};

/// One priority tier's figures.
#[derive(Clone)]
pub struct Tier {
    /// Messages produced in the tier.
    pub produced: u64,
    /// Messages of the tier completed.
    pub completed: u64,
    /// Their end-to-end latencies.
    pub e2e: LatencyRecorder,
    /// Their queue waits.
    pub wait: LatencyRecorder,
}

impl Tier {
    fn new() -> Self {
        Tier {
            produced: 0,
            completed: 0,
            e2e: LatencyRecorder::new(3),
            wait: LatencyRecorder::new(3),
        }
    }

    fn add(&mut self, o: &Tier) {
        let Tier {
            produced,
            completed,
            e2e,
            wait,
        } = o;
        self.produced += produced;
        self.completed += completed;
        self.e2e.merge(e2e);
        self.wait.merge(wait);
    }
}

/// Per tier (index = tier, 0..10) when producers use more than one tier, else empty.
fn tiers_for(s: &Scenario) -> Vec<Tier> {
    let mut tiers: Vec<u8> = s.producers.iter().map(|p| p.priority).collect();
    if s.queue.initial_backlog > 0 {
        // A warm backlog is tier 0.
        tiers.push(0);
    }
    tiers.sort_unstable();
    tiers.dedup();
    if tiers.len() > 1 {
        (0..10).map(|_| Tier::new()).collect()
    } else {
        Vec::new()
    }
}

/// The levels the loop owns, read at each time-series row.
#[derive(Debug, Clone, Copy)]
pub struct Gauges {
    /// Messages waiting in the queue.
    pub queue_depth: u64,
    /// Production time of the oldest waiting message.
    pub oldest: Option<Nanos>,
    /// Busy consumers, invisible and prefetched messages.
    pub in_flight: u64,
    /// Messages waiting out a retry backoff.
    pub retry_waiting: u64,
    /// Callers blocked by `overflow = "block"`.
    pub blocked: u64,
    /// Consumers that exist.
    pub consumers: u64,
    /// Offered rate of all producers now.
    pub offered_rate: f64,
}

/// Everything a run measures while it goes: memory independent of its length (counters,
/// HDR histograms, time-weighted gauges) plus one row per `sample_every`.
pub struct Recorder {
    warmup: Nanos,
    sample_every: Nanos,
    consumers: u32,
    autoscale: bool,
    /// The fate and event counters.
    pub c: Counts,
    /// Async: messages stored; sync: callers answered with success.
    pub client_ok: u64,
    /// Callers refused or failed.
    pub client_errors: u64,
    /// Callers that gave up (sync timeouts).
    pub client_timeouts: u64,
    /// Messages waiting.
    pub depth: TimeWeighted,
    /// Busy consumers.
    pub busy: TimeWeighted,
    /// Consumers asleep in an inline backoff.
    pub asleep: TimeWeighted,
    /// Consumers that exist (changes with autoscaling).
    pub present: TimeWeighted,
    /// SQS: receives that returned messages.
    pub receives: u64,
    /// SQS short polling: receives that returned nothing.
    pub empty_polls: u64,
    /// Events the loop has taken from the event queue.
    pub events: u64,
    /// The largest age of a waiting message seen so far (exact: updated as entries leave).
    pub max_oldest: Nanos,
    tiers: Vec<Tier>,
    produced_by: Vec<u64>,
    /// Per key: 1 + the production index of the latest message completed (0: none yet).
    last_done: Vec<u64>,
    e2e: LatencyRecorder,
    wait: LatencyRecorder,
    client: LatencyRecorder,
    e2e_iv: IntervalLatency,
    client_iv: IntervalLatency,
    produced_measured: u64,
    first_attempts: u64,
    successes_measured: u64,
    goodput_measured: u64,
    rows: Vec<Row>,
    last: (Counts, u64, u64),
    /// Gaps between consecutive producer arrivals (all producers together), seconds,
    /// after warm-up.
    gaps: Moments,
    /// The latest producer arrival.
    last_arrival: Option<Nanos>,
    /// First-attempt service times (consumer occupancy), seconds, after warm-up.
    service: Moments,
}

impl Recorder {
    /// An empty recorder for a run of `s`.
    pub fn new(s: &Scenario) -> Self {
        Recorder {
            warmup: s.warmup,
            sample_every: s.sample_every,
            consumers: s.consumers.count,
            autoscale: s.autoscale.is_some(),
            c: Counts::default(),
            client_ok: 0,
            client_errors: 0,
            client_timeouts: 0,
            depth: TimeWeighted::new(s.warmup),
            busy: TimeWeighted::new(s.warmup),
            asleep: TimeWeighted::new(s.warmup),
            present: TimeWeighted::new(s.warmup),
            receives: 0,
            empty_polls: 0,
            events: 0,
            max_oldest: 0,
            tiers: tiers_for(s),
            produced_by: vec![0; s.producers.len()],
            last_done: vec![0; s.keys.map_or(0, |k| k.count as usize)],
            e2e: LatencyRecorder::new(3),
            wait: LatencyRecorder::new(3),
            client: LatencyRecorder::new(3),
            e2e_iv: IntervalLatency::default(),
            client_iv: IntervalLatency::default(),
            produced_measured: 0,
            first_attempts: 0,
            successes_measured: 0,
            goodput_measured: 0,
            rows: Vec::with_capacity((s.duration / s.sample_every).min(1 << 20) as usize),
            last: (Counts::default(), 0, 0),
            gaps: Moments::default(),
            last_arrival: None,
            service: Moments::default(),
        }
    }

    /// Whether a message produced at `produced` counts in the statistics (after warm-up).
    #[inline]
    pub fn measured(&self, produced: Nanos) -> bool {
        produced >= self.warmup
    }

    /// A message was produced at `at` (by `producer`, if it is a producer's first
    /// publish): the one place every produced message is counted (new arrivals, the warm
    /// backlog, messages still in transit at the end, second publishes).
    #[inline]
    pub fn produced(&mut self, at: Nanos, tier: u8, producer: Option<usize>) {
        self.c.produced += 1;
        if self.measured(at) {
            self.produced_measured += 1;
        }
        if let Some(t) = self.tiers.get_mut(usize::from(tier)) {
            t.produced += 1;
        }
        if let Some(p) = producer {
            self.produced_by[p] += 1;
            if let Some(prev) = self.last_arrival.filter(|_| self.measured(at)) {
                self.gaps.push(at.saturating_sub(prev));
            }
            self.last_arrival = Some(at);
        }
    }

    /// The first attempt of a message produced at `produced` occupies its consumer for
    /// `took` (the service time the G/G formulas take).
    #[inline]
    pub(crate) fn first_service(&mut self, produced: Nanos, took: Nanos) {
        if self.measured(produced) {
            self.service.push(took);
        }
    }

    /// A message produced at `produced`, that reached the broker at `arrived`, starts its
    /// first attempt at `now`. Its queue wait counts from `arrived`, so that Little's law
    /// holds on the queue (Lq = lambda x Wq) whatever `client.enqueue_latency` is.
    #[inline]
    pub fn first_attempt(&mut self, now: Nanos, produced: Nanos, arrived: Nanos, tier: u8) {
        self.first_attempts += 1;
        if self.measured(produced) {
            let w = now.saturating_sub(arrived);
            self.wait.record(w);
            if let Some(t) = self.tiers.get_mut(usize::from(tier)) {
                t.wait.record(w);
            }
        }
    }

    /// A message (the `seq`-th produced, of `key`) completed successfully at `now`.
    #[inline]
    pub fn completed(&mut self, now: Nanos, produced: Nanos, tier: u8, key: u32, seq: u64) {
        self.c.completed += 1;
        if let Some(last) = self.last_done.get_mut(key as usize) {
            // Per-key order: a message done after a later one of its key is out of order.
            if seq + 1 < *last {
                self.c.out_of_order += 1;
            } else {
                *last = seq + 1;
            }
        }
        let measured = self.measured(produced);
        if let Some(t) = self.tiers.get_mut(usize::from(tier)) {
            t.completed += 1;
            if measured {
                t.e2e.record(now - produced);
            }
        }
        if now >= self.warmup {
            self.goodput_measured += 1;
            self.successes_measured += 1;
        }
        if measured {
            let l = now - produced;
            self.e2e.record(l);
            self.e2e_iv.record(l);
        }
    }

    /// Sync: the server finished, successfully, work whose caller had already given up.
    #[inline]
    pub(crate) fn abandoned_success(&mut self, now: Nanos) {
        if now >= self.warmup {
            self.successes_measured += 1;
        }
    }

    /// A caller of a message produced at `produced` waited `waited`.
    #[inline]
    pub fn client(&mut self, produced: Nanos, waited: Nanos) {
        if self.measured(produced) {
            self.client.record(waited);
            self.client_iv.record(waited);
        }
    }

    /// Takes the time-series row that ends at `now`.
    pub fn sample(&mut self, now: Nanos, g: Gauges) {
        let (busy_area, _) = self.busy.take_interval(now);
        let (_, depth_max) = self.depth.take_interval(now);
        let (present_area, _) = self.present.take_interval(now);
        let span = if self.autoscale {
            (present_area as f64).max(1.0)
        } else {
            self.sample_every as f64 * f64::from(self.consumers)
        };
        let (e2e_p50, e2e_p99) = self.e2e_iv.quantile_pair(0.5, 0.99);
        let (last, last_err, last_to) = self.last;
        let c = &self.c;
        self.rows.push(Row {
            time: ns_to_secs(now),
            arrivals: c.produced - last.produced,
            completed: c.completed - last.completed,
            rejected: c.rejected - last.rejected,
            retries: c.retries - last.retries,
            dead_lettered_total: c.dead_lettered,
            queue_depth: g.queue_depth,
            oldest_age: g.oldest.map(|p| ns_to_secs(now - p)).unwrap_or(0.0),
            in_flight: g.in_flight,
            utilization: busy_area as f64 / span,
            e2e_p50,
            e2e_p99,
            queue_depth_max: depth_max,
            retry_waiting: g.retry_waiting,
            blocked: g.blocked,
            dropped: c.dropped - last.dropped,
            dead_lettered: c.dead_lettered - last.dead_lettered,
            failed: c.failed - last.failed,
            attempts: c.attempts - last.attempts,
            failed_attempts: c.failed_attempts - last.failed_attempts,
            client_errors: self.client_errors - last_err,
            client_timeouts: self.client_timeouts - last_to,
            client_p99: self.client_iv.quantile(0.99),
            offered_rate: g.offered_rate,
            consumers: g.consumers,
        });
        self.e2e_iv.reset();
        self.client_iv.reset();
        self.last = (self.c, self.client_errors, self.client_timeouts);
    }

    /// Idle consumer time so far (present minus busy), ns.
    pub(crate) fn idle_area(&mut self, now: Nanos) -> u128 {
        self.present
            .total_area(now)
            .saturating_sub(self.busy.total_area(now))
    }

    /// Consumer-hours provisioned over the whole run (warm-up included: the bill covers
    /// every hour): fixed, or integrated when autoscaling.
    pub fn consumer_hours(&mut self, now: Nanos) -> f64 {
        if self.autoscale {
            self.present.total_area(now) as f64 / 1e9 / 3600.0
        } else {
            f64::from(self.consumers) * ns_to_secs(now) / 3600.0
        }
    }

    /// Closes the run at `now` into its final accumulators and its time series.
    pub fn close(mut self, now: Nanos) -> (Tally, Vec<Row>) {
        self.e2e.flush();
        self.wait.flush();
        self.client.flush();
        for t in &mut self.tiers {
            t.e2e.flush();
            t.wait.flush();
        }
        let mean_depth = self.depth.mean(now);
        let busy_mean = self.busy.mean(now);
        let asleep_mean = self.asleep.mean(now);
        let present_mean = self.present.mean(now);
        let mean_count = if self.autoscale {
            present_mean
        } else {
            f64::from(self.consumers)
        };
        let window = ns_to_secs(now.saturating_sub(self.warmup)).max(1e-9);
        let tally = Tally {
            now,
            counts: self.c,
            first_attempts: self.first_attempts,
            client_ok: self.client_ok,
            client_errors: self.client_errors,
            client_timeouts: self.client_timeouts,
            consumers: self.consumers,
            mean_count,
            mean_depth,
            busy_mean,
            asleep_mean,
            max_depth: self.depth.max(),
            max_count: self.present.max(),
            max_oldest: self.max_oldest,
            offered: self.produced_measured as f64 / window,
            throughput: self.successes_measured as f64 / window,
            goodput: self.goodput_measured as f64 / window,
            e2e: self.e2e,
            wait: self.wait,
            client: self.client,
            tiers: self.tiers,
            produced_by: self.produced_by,
            gaps: self.gaps,
            service: self.service,
        };
        (tally, self.rows)
    }
}

/// A closed run's final accumulators: what [`Tally::summary`] turns into `summary.json`,
/// and what fan-out adds up ([`Tally::merge`]).
#[derive(Clone)]
pub struct Tally {
    /// Where the run ended.
    pub now: Nanos,
    /// Fate and event counters.
    pub counts: Counts,
    /// Messages that started a first attempt.
    pub first_attempts: u64,
    /// `client.ok`.
    pub client_ok: u64,
    /// `client.errors`.
    pub client_errors: u64,
    /// `client.timeouts`.
    pub client_timeouts: u64,
    /// Configured consumers.
    pub consumers: u32,
    /// Consumers provisioned on average (the configured count without autoscaling).
    pub mean_count: f64,
    /// Time-average of waiting messages over the measured window.
    pub mean_depth: f64,
    /// Time-average of busy consumers.
    pub busy_mean: f64,
    /// Time-average of consumers asleep in a backoff.
    pub asleep_mean: f64,
    /// Exact largest queue depth.
    pub max_depth: u64,
    /// Most consumers at once.
    pub max_count: u64,
    /// Largest age of a waiting message, ns.
    pub max_oldest: Nanos,
    /// Messages produced per second of the measured window.
    pub offered: f64,
    /// Successful processings per second (sync: including abandoned work).
    pub throughput: f64,
    /// Successful answers per second.
    pub goodput: f64,
    /// End-to-end latencies.
    pub e2e: LatencyRecorder,
    /// Queue waits.
    pub wait: LatencyRecorder,
    /// What callers waited.
    pub client: LatencyRecorder,
    /// Per priority tier (index = tier), empty with one tier.
    pub tiers: Vec<Tier>,
    /// Messages produced by each producer, in file order.
    pub produced_by: Vec<u64>,
    /// Gaps between producer arrivals, seconds (fan-out: every subscriber's, pooled).
    pub gaps: Moments,
    /// First-attempt service times, seconds (fan-out: pooled).
    pub service: Moments,
}

/// What the summary takes from outside the recorder.
pub struct Context<'a> {
    /// The scenario the figures are drawn against (fan-out: the totals' scenario).
    pub scenario: &'a Scenario,
    /// `queue.capacity` (fan-out: the sum, unbounded if any is).
    pub capacity: Option<u64>,
    /// Sync or async.
    pub sync: bool,
    /// Engine events.
    pub events: u64,
    /// Why the run stopped early.
    pub stopped: Option<String>,
    /// The broker's figures.
    pub broker: BrokerStats,
    /// The bill.
    pub cost: Option<CostStats>,
}

impl Tally {
    /// The tallies of fan-out subscribers added up: counts, means and rates add,
    /// histograms merge, maxima are the largest subscriber's (consumers: the sum of each
    /// one's most), rows add interval by interval. `file_tiers`: the file's producers use
    /// more than one tier, so per-tier figures are kept; `sub_tier[i]` is the tier of
    /// subscriber `i`'s messages when it has one tier only (a dedicated queue per tier).
    pub fn merge(subs: &[&Tally], file_tiers: bool, sub_tier: &[u8]) -> Tally {
        let mut t = Tally {
            now: 0,
            counts: Counts::default(),
            first_attempts: 0,
            client_ok: 0,
            client_errors: 0,
            client_timeouts: 0,
            consumers: 0,
            mean_count: 0.0,
            mean_depth: 0.0,
            busy_mean: 0.0,
            asleep_mean: 0.0,
            max_depth: 0,
            max_count: 0,
            max_oldest: 0,
            offered: 0.0,
            throughput: 0.0,
            goodput: 0.0,
            e2e: LatencyRecorder::new(3),
            wait: LatencyRecorder::new(3),
            client: LatencyRecorder::new(3),
            tiers: if file_tiers {
                (0..10).map(|_| Tier::new()).collect()
            } else {
                Vec::new()
            },
            produced_by: Vec::new(),
            gaps: Moments::default(),
            service: Moments::default(),
        };
        for (i, x) in subs.iter().enumerate() {
            let Tally {
                now,
                counts,
                first_attempts,
                client_ok,
                client_errors,
                client_timeouts,
                consumers,
                mean_count,
                mean_depth,
                busy_mean,
                asleep_mean,
                max_depth,
                max_count,
                max_oldest,
                offered,
                throughput,
                goodput,
                e2e,
                wait,
                client,
                tiers,
                produced_by: _,
                gaps,
                service,
            } = x;
            t.gaps.merge(gaps);
            t.service.merge(service);
            t.now = t.now.max(*now);
            t.counts.add(counts);
            t.first_attempts += first_attempts;
            t.client_ok += client_ok;
            t.client_errors += client_errors;
            t.client_timeouts += client_timeouts;
            t.consumers += consumers;
            t.mean_count += mean_count;
            t.mean_depth += mean_depth;
            t.busy_mean += busy_mean;
            t.asleep_mean += asleep_mean;
            t.max_depth = t.max_depth.max(*max_depth);
            t.max_count += max_count;
            t.max_oldest = t.max_oldest.max(*max_oldest);
            t.offered += offered;
            t.throughput += throughput;
            t.goodput += goodput;
            t.e2e.merge(e2e);
            t.wait.merge(wait);
            t.client.merge(client);
            if t.tiers.is_empty() {
                continue;
            }
            if tiers.is_empty() {
                // One tier in this subscriber (its warm backlog, if any, is tier 0 as always).
                let tier = &mut t.tiers[usize::from(sub_tier[i])];
                tier.produced += counts.produced;
                tier.completed += counts.completed;
                tier.e2e.merge(e2e);
                tier.wait.merge(wait);
            } else {
                for (a, b) in t.tiers.iter_mut().zip(tiers) {
                    a.add(b);
                }
            }
        }
        t
    }

    /// `summary.json` for these figures and time series: the one place it is assembled.
    pub fn summary(&self, rows: &[Row], ctx: Context<'_>) -> Summary {
        let s = ctx.scenario;
        let c = self.counts;
        let n = self.mean_count.max(1e-9);
        let wait_count = self.wait.count();
        let gap = c.conservation_gap();
        Summary {
            scenario: s.name.clone(),
            variant: s.variant.clone(),
            seed: s.seed,
            simulated_seconds: ns_to_secs(self.now),
            events: ctx.events,
            wall_seconds: 0.0,
            counts: c,
            latency: Latencies {
                end_to_end: self.e2e.stats(),
                queue_wait: self.wait.stats(),
                client: self.client.stats(),
            },
            queue: QueueStats {
                capacity: ctx.capacity,
                mean_depth: self.mean_depth,
                max_depth: self.max_depth,
                max_oldest_age: ns_to_secs(self.max_oldest),
                mean_in_system: self.mean_depth + self.busy_mean - self.asleep_mean,
                p_wait: (wait_count > 0)
                    .then(|| 1.0 - self.wait.zeros() as f64 / wait_count as f64),
            },
            consumers: ConsumerStats {
                count: self.consumers,
                utilization: self.busy_mean / n,
                backoff_fraction: self.asleep_mean / n,
                mean_count: self.mean_count,
                max_count: self.max_count,
            },
            client: ClientStats {
                mode: if ctx.sync { "sync" } else { "async" }.to_string(),
                ok: self.client_ok,
                errors: self.client_errors,
                timeouts: self.client_timeouts,
            },
            rates: Rates {
                offered: self.offered,
                throughput: self.throughput,
                goodput: self.goodput,
                retry_amplification: if self.first_attempts == 0 {
                    0.0
                } else {
                    c.attempts as f64 / self.first_attempts as f64
                },
            },
            recovery: recovery::analyse(s, rows),
            conservation: Conservation {
                holds: gap == 0,
                gap: i64::try_from(gap).unwrap_or(if gap < 0 { i64::MIN } else { i64::MAX }),
            },
            stopped: ctx.stopped,
            classes: self.class_stats(),
            broker: ctx.broker,
            fanout: None,
            subscribers: Vec::new(),
            cost: ctx.cost,
            invocation: None,
            variability: Variability {
                interarrival: self.gaps.stats(),
                service: self.service.stats(),
            },
            gg_approximation: None,
        }
        .with_gg(s)
    }

    /// `classes[]`, highest tier first.
    fn class_stats(&self) -> Vec<ClassStats> {
        self.tiers
            .iter()
            .enumerate()
            .rev()
            .filter(|(_, t)| t.produced > 0)
            .map(|(tier, t)| ClassStats {
                priority: u8::try_from(tier)
                    .expect("tiers are the ten priorities 0..=9 (tiers_for)"),
                produced: t.produced,
                completed: t.completed,
                end_to_end: t.e2e.stats(),
                queue_wait: t.wait.stats(),
            })
            .collect()
    }
}
