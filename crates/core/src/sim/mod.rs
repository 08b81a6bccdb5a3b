//! The event loop: one loop, events ordered by (time, sequence), that moves messages
//! between the parts of [`crate::model`] and records [`crate::metrics`].
//!
//! - `broker.rs`: the async path (queue, consumer retries, DLQ, crashes and redelivery).
//! - `direct.rs`: the sync path (server backlog, caller timeouts and caller retries).
//! - `kinds.rs`: what the broker kinds add (ordered lanes, throttle, rebalances, prefetch
//!   and batch buffers, duplicate publishes).
//! - `fanout.rs`: `[[subscribers]]`, one simulation per subscriber, added up.
//!
//! Hot-path rules: no allocation per message (messages live in a recycled slab, the queue
//! and the heap reuse their buffers), statistics are streaming, and every random draw
//! comes from the stream of its source (see [`crate::rng`]).

mod broker;
mod direct;
mod fanout;
mod kinds;

pub use fanout::totals_scenario;

use crate::engine::EventQueue;
use crate::guard::{self, Limits};
use crate::metrics::latency::IntervalLatency;
use crate::metrics::summary::*;
use crate::metrics::{recovery, Counts, LatencyRecorder, Row, Summary, TimeWeighted};
use crate::model::breaker::Breaker;
use crate::model::consumer::{Pool, Slot};
use crate::model::downstream::Downstream;
use crate::model::message::{Msg, Slab};
use crate::model::producer::Source;
use crate::model::queue::{Entry, WaitQueue};
use crate::model::retry::{Budget, Policy};
use crate::rng::{self, uniform, Rng, Sampler, Stream};
use crate::scenario::broker::Broker;
use crate::scenario::{ClientMode, ScaleMetric, Scenario, TtlAction};
use crate::time::{ns_to_secs, Nanos};
use std::collections::VecDeque;

/// What one run produced.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// summary.json.
    pub summary: Summary,
    /// timeseries.csv.
    pub rows: Vec<Row>,
    /// End-to-end latency distribution: (seconds, fraction of completions at or below).
    pub e2e_cdf: Vec<(f64, f64)>,
    /// What callers waited: (seconds, fraction at or below).
    pub client_cdf: Vec<(f64, f64)>,
    /// The latency histograms behind the summary (fan-out merges them).
    pub hists: Hists,
    /// Messages produced by each producer: (its arrival stream, count).
    pub produced_by: Vec<(u32, u64)>,
    /// Fan-out: each subscriber's own result, in file order (empty otherwise).
    pub subscribers: Vec<(String, RunResult)>,
}

/// A run's latency histograms.
#[derive(Clone)]
pub struct Hists {
    /// Produced -> processed successfully.
    pub e2e: LatencyRecorder,
    /// Produced -> first attempt.
    pub wait: LatencyRecorder,
    /// What callers waited.
    pub client: LatencyRecorder,
    /// Per priority tier (index = tier, empty with one tier): produced, completed,
    /// end-to-end, queue wait.
    pub classes: Vec<(u64, u64, LatencyRecorder, LatencyRecorder)>,
}

impl std::fmt::Debug for Hists {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hists")
            .field("e2e", &self.e2e.count())
            .field("wait", &self.wait.count())
            .field("client", &self.client.count())
            .finish_non_exhaustive()
    }
}

/// Simulates `s` from an empty system to `s.duration`, with the default [`Limits`].
pub fn run(s: &Scenario) -> RunResult {
    run_with(s, &Limits::default())
}

/// Simulates `s` under `limits`. A run that hits a limit, or is interrupted
/// ([`crate::guard::interrupt`]), stops at that instant and reports what it has, with
/// `summary.stopped` saying why. A fan-out scenario runs each subscriber and adds them up.
///
/// The core reads no clock: `summary.wall_seconds` is 0 here, and the caller that
/// measures wall time fills it in.
pub fn run_with(s: &Scenario, limits: &Limits) -> RunResult {
    if !s.subscribers.is_empty() {
        return fanout::run(s, limits);
    }
    let mut sim = Sim::new(s);
    sim.limits = *limits;
    sim.run()
}

/// Events between two checks of the limits and of the interrupt flag.
const CHECK_EVERY: u64 = 1 << 16;

#[derive(Debug, Clone, Copy)]
enum Ev {
    /// Producer `p`'s next message (ignored if `generation` is stale).
    Arrival(u32, u32),
    /// Producer `p` moves to schedule step `j`.
    RateStep(u32, u32),
    /// A `consumers.down` window (or a Kafka rebalance) ends: consumers take messages again.
    ConsumersUp,
    /// SQS FIFO: the throughput limit allows the next start.
    Throttle,
    /// The second copy `m` of a message published twice reaches the broker.
    Duplicate(u32),
    /// Consumer `c` finishes its attempt.
    Done(u32),
    /// Consumer `c` wakes from an inline backoff and tries again.
    Wake(u32),
    /// Message `m` has waited out its backoff and rejoins the queue.
    RetryReady(u32),
    /// Message `m` becomes visible again after its consumer crashed.
    Redeliver(u32),
    /// Sync: the caller of request `m` gives up on call `call`.
    CallTimeout(u32, u32),
    /// Sync: the caller of request `m` calls again after its backoff.
    CallRetry(u32),
    /// Time-series row.
    Sample,
    /// The breaker half-opens: idle consumers may probe.
    BreakerTick,
    /// Autoscaling looks at its signal.
    AutoscaleCheck,
    /// `n` consumers added by autoscaling start working.
    ScaleOut(u32),
}

struct Rngs {
    dup: Rng,
    service: Rng,
    fail: Rng,
    retry_service: Rng,
    retry_fail: Rng,
    jitter: Rng,
    crash: Rng,
    poison: Rng,
    warm: Rng,
}

struct Sim<'a> {
    s: &'a Scenario,
    now: Nanos,
    /// Async: messages reach the broker `enqueue_latency` after they are produced.
    shift: Nanos,
    sync: bool,
    events: EventQueue<Ev>,
    msgs: Slab,
    queue: WaitQueue,
    blocked: VecDeque<u32>,
    pool: Pool,
    sources: Vec<Source>,
    downstream: Downstream,
    policy: Policy,
    budget: Option<Budget>,
    breaker: Option<Breaker>,
    sampler: Sampler,
    rng: Rngs,
    c: Counts,
    client_ok: u64,
    client_errors: u64,
    client_timeouts: u64,
    retry_waiting: u64,
    invisible: u64,
    in_transit: u64,
    sleeping: u64,
    depth: TimeWeighted,
    busy: TimeWeighted,
    asleep: TimeWeighted,
    /// Per priority tier (empty unless producers use more than one tier): produced,
    /// completed, end-to-end and queue-wait latencies.
    classes: Vec<(u64, u64, LatencyRecorder, LatencyRecorder)>,
    /// Messages produced per producer.
    produced_by: Vec<u64>,
    /// `[keys]`: the key stream and sampler.
    keys: Option<(Rng, rng::KeySampler)>,
    /// Per key: 1 + the production index of the latest message completed (0: none yet).
    last_done: Vec<u64>,
    /// SQS FIFO: time between starts, and the earliest next start.
    start_gap: Option<Nanos>,
    next_start: Nanos,
    throttle_pending: bool,
    /// Kafka: consumption paused by a rebalance until then.
    paused_until: Nanos,
    /// Kafka: the longest partition backlog seen at a sample.
    max_lane_lag: u64,
    /// Kafka: partitions are assigned to consumers (reassigned when the group changes).
    assigned: bool,
    /// Whether anything can stop a consumer from taking a message (a breaker, downtime,
    /// a rebalance pause, the FIFO throughput limit); false keeps the common case fast.
    gated: bool,
    /// RabbitMQ prefetch: messages each consumer holds beyond the one it works on.
    prefetch_extra: usize,
    /// Per consumer slot: prefetched messages, in delivery order.
    buffers: Vec<VecDeque<u32>>,
    /// All prefetched messages (unacknowledged, not yet started).
    buffered: u64,
    /// SQS batches: a consumer receives a new batch only when it has finished the last.
    batch_mode: bool,
    /// SQS: receives that returned messages.
    receives: u64,
    /// Consumers that exist (changes only with autoscaling).
    present: TimeWeighted,
    /// Consumers ordered by autoscaling that have not started yet.
    pending_out: u32,
    /// No autoscaling decision before this.
    scale_quiet_until: Nanos,
    e2e: LatencyRecorder,
    wait: LatencyRecorder,
    client: LatencyRecorder,
    e2e_iv: IntervalLatency,
    client_iv: IntervalLatency,
    max_oldest: Nanos,
    produced_measured: u64,
    successes_measured: u64,
    goodput_measured: u64,
    events_done: u64,
    next_call: u32,
    rows: Vec<Row>,
    last: (Counts, u64, u64),
    limits: Limits,
    stopped: Option<String>,
}

impl<'a> Sim<'a> {
    fn new(s: &'a Scenario) -> Self {
        let sync = s.client.mode == ClientMode::Sync;
        let st = |x| rng::salted(s.seed, s.stream_salt, x);
        Sim {
            s,
            now: 0,
            shift: if sync { 0 } else { s.client.enqueue_latency },
            sync,
            events: EventQueue::default(),
            msgs: Slab::default(),
            queue: match s.broker.ordered_lanes(s.keys) {
                Some(lanes) => WaitQueue::ordered(lanes),
                None => {
                    WaitQueue::with_tiers(s.queue.capacity, if s.queue.priority { 10 } else { 1 })
                }
            },
            blocked: VecDeque::new(),
            pool: Pool::new(s.consumers.count),
            sources: s
                .producers
                .iter()
                .map(|p| Source::new(p, st(Stream::Arrivals(p.stream))))
                .collect(),
            downstream: Downstream::new(&s.downstream),
            policy: Policy::new(s.retry),
            sampler: Sampler::new(&s.consumers.service),
            rng: Rngs {
                dup: st(Stream::Duplicates),
                service: st(Stream::Service),
                fail: st(Stream::Failure),
                retry_service: st(Stream::RetryService),
                retry_fail: st(Stream::RetryFailure),
                jitter: st(Stream::Jitter),
                crash: st(Stream::Crash),
                poison: st(Stream::Poison),
                warm: st(Stream::Warm),
            },
            budget: s
                .retry
                .budget
                .map(|(ratio, burst)| Budget::new(ratio, burst)),
            breaker: s.breaker.map(Breaker::new),
            c: Counts::default(),
            client_ok: 0,
            client_errors: 0,
            client_timeouts: 0,
            retry_waiting: 0,
            invisible: 0,
            in_transit: 0,
            sleeping: 0,
            depth: TimeWeighted::new(s.warmup),
            busy: TimeWeighted::new(s.warmup),
            asleep: TimeWeighted::new(s.warmup),
            classes: {
                let mut tiers: Vec<u8> = s.producers.iter().map(|p| p.priority).collect();
                if s.queue.initial_backlog > 0 {
                    // A warm backlog is tier 0.
                    tiers.push(0);
                }
                tiers.sort_unstable();
                tiers.dedup();
                if tiers.len() > 1 {
                    (0..10)
                        .map(|_| (0, 0, LatencyRecorder::new(3), LatencyRecorder::new(3)))
                        .collect()
                } else {
                    Vec::new()
                }
            },
            produced_by: vec![0; s.producers.len()],
            keys: s
                .keys
                .map(|k| (st(Stream::Keys), rng::KeySampler::new(k.count, k.skew))),
            last_done: vec![0; s.keys.map_or(0, |k| k.count as usize)],
            start_gap: match s.broker {
                Broker::SqsFifo {
                    throughput_limit, ..
                } => Some(((1e9 / throughput_limit).round() as Nanos).max(1)),
                _ => None,
            },
            next_start: 0,
            throttle_pending: false,
            paused_until: 0,
            max_lane_lag: 0,
            prefetch_extra: match s.broker {
                Broker::RabbitMq { prefetch, .. } => prefetch.saturating_sub(1) as usize,
                Broker::Sqs { batch_size, .. } => batch_size.saturating_sub(1) as usize,
                _ => 0,
            },
            batch_mode: matches!(s.broker, Broker::Sqs { .. }),
            assigned: matches!(s.broker, Broker::Kafka { .. }),
            gated: s.breaker.is_some()
                || !s.consumers.down.is_empty()
                || matches!(s.broker, Broker::Kafka { .. } | Broker::SqsFifo { .. }),
            receives: 0,
            buffers: Vec::new(),
            buffered: 0,
            present: TimeWeighted::new(s.warmup),
            pending_out: 0,
            scale_quiet_until: 0,
            e2e: LatencyRecorder::new(3),
            wait: LatencyRecorder::new(3),
            client: LatencyRecorder::new(3),
            e2e_iv: IntervalLatency::default(),
            client_iv: IntervalLatency::default(),
            max_oldest: 0,
            produced_measured: 0,
            successes_measured: 0,
            goodput_measured: 0,
            events_done: 0,
            next_call: 0,
            rows: Vec::with_capacity((s.duration / s.sample_every).min(1 << 20) as usize),
            last: (Counts::default(), 0, 0),
            limits: Limits::default(),
            stopped: None,
        }
    }

    fn run(mut self) -> RunResult {
        for (p, src) in self.sources.iter_mut().enumerate() {
            if let Some(t) = src.first() {
                self.events.push(
                    t.saturating_add(self.shift),
                    Ev::Arrival(p as u32, src.generation),
                );
            }
            for (j, (at, _)) in self.s.producers[p].schedule.iter().enumerate() {
                self.events.push(
                    at.saturating_add(self.shift),
                    Ev::RateStep(p as u32, j as u32),
                );
            }
        }
        self.events.push(self.s.sample_every, Ev::Sample);
        for &(_, end) in &self.s.consumers.down {
            self.events.push(end, Ev::ConsumersUp);
        }
        self.present.set(0, u64::from(self.s.consumers.count));
        self.reassign();
        if let Some(a) = self.s.autoscale {
            self.events.push(a.check_every, Ev::AutoscaleCheck);
        }
        self.warm_start();
        let end = self.s.duration;
        while let Some((t, ev)) = self.events.pop() {
            if t > end {
                self.in_transit_at_end(t, ev);
                break;
            }
            self.now = t;
            self.events_done += 1;
            if self.events_done % CHECK_EVERY == 0 && self.over_limits() {
                return self.finish();
            }
            match ev {
                Ev::Arrival(p, gen) => self.on_arrival(p, gen),
                Ev::RateStep(p, j) => self.on_rate_step(p, j),
                Ev::Done(c) => {
                    if self.sync {
                        self.sync_done(c)
                    } else {
                        self.async_done(c)
                    }
                }
                Ev::Wake(c) => self.on_wake(c),
                Ev::RetryReady(m) => {
                    self.retry_waiting -= 1;
                    self.retry_ready(m);
                }
                Ev::Redeliver(m) => {
                    self.invisible -= 1;
                    self.c.redeliveries += 1;
                    self.redeliver(m);
                }
                Ev::CallTimeout(m, call) => self.on_call_timeout(m, call),
                Ev::CallRetry(m) => {
                    self.retry_waiting -= 1;
                    self.call(m);
                }
                Ev::Sample => self.on_sample(),
                Ev::BreakerTick | Ev::ConsumersUp => self.wake_consumers(),
                Ev::Duplicate(m) => self.on_duplicate(m),
                Ev::Throttle => {
                    self.throttle_pending = false;
                    self.wake_consumers();
                }
                Ev::AutoscaleCheck => self.on_autoscale_check(),
                Ev::ScaleOut(n) => {
                    self.pending_out -= n;
                    self.pool.add(n);
                    self.present.set(self.now, self.pool.present() as u64);
                    self.rebalance();
                    self.wake_consumers();
                }
            }
        }
        self.now = end;
        self.finish()
    }

    /// Checks the memory budget and the interrupt flag; records why the run stops.
    fn over_limits(&mut self) -> bool {
        let waiting = (self.queue.len() + self.blocked.len()) as u64;
        if waiting > self.limits.max_waiting {
            self.stopped = Some(format!(
                "stopped at {}: {} messages were waiting, more than the memory budget allows ({} messages, about {}); raise --max-memory or bound the queue",
                crate::time::human(ns_to_secs(self.now)),
                waiting,
                self.limits.max_waiting,
                guard::human_bytes((self.limits.max_waiting * guard::BYTES_PER_WAITING) as f64)
            ));
        } else if guard::interrupted() {
            self.stopped = Some(format!(
                "interrupted at {}",
                crate::time::human(ns_to_secs(self.now))
            ));
        }
        self.stopped.is_some()
    }

    /// Async with an enqueue latency: messages produced before the end that had not yet
    /// reached the broker are counted as produced and in flight (in transit), so that every
    /// variant of a scenario sees the same arrivals.
    fn in_transit_at_end(&mut self, first_t: Nanos, first: Ev) {
        let limit = self.s.duration.saturating_add(self.shift);
        let mut next = Some((first_t, first));
        while let Some((t, ev)) = next {
            if t > limit {
                break;
            }
            match ev {
                Ev::Arrival(p, gen) if gen == self.sources[p as usize].generation => {
                    let src = &mut self.sources[p as usize];
                    if let Some(t2) = src.after(t - self.shift) {
                        self.events
                            .push(t2.saturating_add(self.shift), Ev::Arrival(p, gen));
                    }
                    self.c.produced += 1;
                    self.produced_by[p as usize] += 1;
                    self.in_transit += 1;
                    let tier = usize::from(self.s.producers[p as usize].priority);
                    if let Some(class) = self.classes.get_mut(tier) {
                        class.0 += 1;
                    }
                }
                Ev::RateStep(p, j) => {
                    self.now = t;
                    self.on_rate_step(p, j);
                }
                _ => {}
            }
            next = self.events.pop();
        }
    }

    /// Draws whether message `id` is poison (`downstream.poison_rate`).
    fn mark_poison(&mut self, id: u32) {
        let rate = self.s.downstream.poison_rate;
        if rate > 0.0 && uniform(&mut self.rng.poison) < rate {
            self.msgs.get_mut(id).poison = true;
            self.c.poison += 1;
        }
    }

    /// Whether the retry budget (if any) allows one more retry; counts refusals.
    fn retry_allowed(&mut self) -> bool {
        let allowed = self.budget.as_mut().is_none_or(|b| b.spend());
        if !allowed {
            self.c.retries_denied += 1;
        }
        allowed
    }

    /// Warm start: `queue.initial_backlog` messages produced at time 0, already stored.
    fn warm_start(&mut self) {
        for _ in 0..self.s.queue.initial_backlog {
            let service = self.sampler.sample(&mut self.rng.warm);
            let u = uniform(&mut self.rng.warm);
            // A warm backlog is tier 0, already stored.
            let id = self.new_message(0, service, u, 0);
            self.c.accepted += 1;
            match self.idle_for_new() {
                Some(c) => self.start(c, id, 0),
                None => self.push_queue(id, 0),
            }
        }
    }

    /// A message produced at `produced` with its first-attempt draws: stored in the slab and
    /// counted (produced, its tier, the retry budget's earnings), poison drawn.
    fn new_message(&mut self, produced: Nanos, service: Nanos, u: f64, tier: u8) -> u32 {
        let seq = self.c.produced;
        let key = match &mut self.keys {
            Some((r, k)) => k.sample(r),
            None => 0,
        };
        self.c.produced += 1;
        if self.measured(produced) {
            self.produced_measured += 1;
        }
        let id = self.msgs.alloc(Msg::new(produced, service, u));
        let m = self.msgs.get_mut(id);
        m.priority = tier;
        m.key = key;
        m.seq = seq;
        if let Some(class) = self.classes.get_mut(usize::from(tier)) {
            class.0 += 1;
        }
        self.mark_poison(id);
        if let Some(b) = &mut self.budget {
            b.earn();
        }
        id
    }

    #[inline]
    fn measured(&self, produced: Nanos) -> bool {
        produced >= self.s.warmup
    }

    fn on_arrival(&mut self, p: u32, gen: u32) {
        let src = &mut self.sources[p as usize];
        if gen != src.generation {
            return;
        }
        let produced = self.now - self.shift;
        if let Some(t) = src.after(produced) {
            self.events
                .push(t.saturating_add(self.shift), Ev::Arrival(p, gen));
        }
        self.produced_by[p as usize] += 1;
        let service = self.sampler.sample(&mut self.rng.service);
        let u = uniform(&mut self.rng.fail);
        let id = self.new_message(produced, service, u, self.s.producers[p as usize].priority);
        let rate = self.s.producers[p as usize].duplicate_rate;
        if rate > 0.0 && uniform(&mut self.rng.dup) < rate {
            self.publish_again(id, self.s.producers[p as usize].duplicate_delay);
        }
        if self.sync {
            self.call(id);
        } else {
            self.arrive(id);
        }
    }

    fn on_rate_step(&mut self, p: u32, j: u32) {
        let rate = self.s.producers[p as usize].schedule[j as usize].1;
        let src = &mut self.sources[p as usize];
        if let Some(t) = src.set_rate(self.now - self.shift, rate) {
            self.events
                .push(t.saturating_add(self.shift), Ev::Arrival(p, src.generation));
        }
    }

    /// Starts a processing attempt of message `id` (call `call` in sync mode) on the
    /// already-taken consumer `c`.
    fn start(&mut self, c: u32, id: u32, call: u32) {
        let now = self.now;
        let m = self.msgs.get_mut(id);
        m.attempts += 1;
        m.received = now;
        let first = m.attempts == 1;
        let (produced, base, u, poison, tier) = (
            m.produced,
            m.first_service,
            m.first_fail_u,
            m.poison,
            m.priority,
        );
        self.c.attempts += 1;
        let (base, u) = if first {
            if produced >= self.s.warmup {
                self.wait.record(now - produced);
                if let Some(class) = self.classes.get_mut(usize::from(tier)) {
                    class.3.record(now - produced);
                }
            }
            (base, u)
        } else {
            (
                self.sampler.sample(&mut self.rng.retry_service),
                uniform(&mut self.rng.retry_fail),
            )
        };
        let a = self.downstream.attempt(now, base, u, poison);
        if !a.ok {
            self.c.failed_attempts += 1;
            if a.timed_out {
                self.c.attempt_timeouts += 1;
            }
        }
        *self.pool.slot(c) = Slot {
            msg: id,
            call,
            ok: a.ok,
            sleeping: false,
        };
        self.busy.set(now, self.pool.busy() as u64);
        self.events
            .push(now.saturating_add(a.duration), Ev::Done(c));
    }

    /// Consumer `c` is free: it takes the next waiting message (discarding any whose TTL
    /// has run out on the way), or goes idle.
    fn free_consumer(&mut self, c: u32) {
        if self.prefetch_extra > 0 {
            if self.pool.retire_if_due(c) {
                self.requeue_buffer(c);
                self.present.set(self.now, self.pool.present() as u64);
                self.busy.set(self.now, self.pool.busy() as u64);
                return;
            }
            // Its own prefetched messages come first, then it takes more from the queue.
            if let Some(id) = self.buffers.get_mut(c as usize).and_then(|b| b.pop_front()) {
                self.buffered -= 1;
                self.start(c, id, 0);
                if !self.batch_mode {
                    self.top_up(c);
                }
                return;
            }
        }
        if self.pool.retire_if_due(c) {
            // Scaled in while busy: this consumer leaves now that it has finished (Kafka: its
            // partitions go to the others).
            self.present.set(self.now, self.pool.present() as u64);
            self.busy.set(self.now, self.pool.busy() as u64);
            if self.assigned {
                self.reassign();
                self.wake_consumers();
            }
            return;
        }
        // Messages whose TTL ran out are discarded as they reach the head.
        while let Some(head) = self.queue.front_for(c) {
            if self
                .s
                .queue
                .ttl
                .is_none_or(|ttl| self.now - head.produced <= ttl)
            {
                break;
            }
            if let Some(e) = self.pop_queue_for(c) {
                if !self.sync {
                    self.unblock_one();
                }
                self.expire(e.id);
            }
        }
        if self.queue.has_ready_for(c) && self.consumer_may_take() {
            if let Some(e) = self.pop_queue_for(c) {
                if self.sync {
                    self.serve_call(e);
                } else {
                    self.unblock_one();
                }
                self.receives += 1;
                self.start(c, e.id, e.call);
                self.top_up(c);
                return;
            }
        }
        self.pool.release(c);
        self.busy.set(self.now, self.pool.busy() as u64);
    }

    /// Async with a breaker: whether a consumer may take a message now (an open breaker
    /// pauses consumption; the messages wait in the queue). Counts a half-open probe.
    #[inline(always)]
    fn consumer_may_take(&mut self) -> bool {
        if !self.gated {
            return true;
        }
        self.consumer_may_take_gated()
    }

    fn consumer_may_take_gated(&mut self) -> bool {
        if self.consumers_down() || self.throttled() {
            return false;
        }
        if self.sync {
            return true;
        }
        let now = self.now;
        let ok = self.breaker.as_mut().is_none_or(|b| b.allow(now));
        if ok {
            if let Some(gap) = self.start_gap {
                self.next_start = self.next_start.max(now).saturating_add(gap);
            }
        }
        ok
    }

    /// Records an attempt's (async) or call's (sync) outcome with the breaker; when it
    /// opens, schedules the moment it half-opens; when it closes, wakes idle consumers.
    fn breaker_outcome(&mut self, ok: bool) {
        let now = self.now;
        let Some(b) = self.breaker.as_mut() else {
            return;
        };
        let before = b.opened;
        let closed = b.record(now, ok);
        let reopen = b.reopens_at();
        self.c.breaker_opens += b.opened - before;
        if let Some(t) = reopen.filter(|_| b.opened > before) {
            self.events.push(t, Ev::BreakerTick);
        }
        if closed {
            self.wake_consumers();
        }
    }

    /// Inside a `consumers.down` window: no consumer takes a message.
    #[inline]
    fn consumers_down(&self) -> bool {
        let now = self.now;
        now < self.paused_until
            || self
                .s
                .consumers
                .down
                .iter()
                .any(|&(a, b)| now >= a && now < b)
    }

    /// Idle consumers take waiting messages (after the breaker half-opens or closes, or a
    /// `consumers.down` window ends).
    fn wake_consumers(&mut self) {
        let now = self.now;
        while self.queue.has_ready()
            && !self.consumers_down()
            && !self.throttled()
            && (self.sync || self.breaker.as_mut().is_none_or(|b| b.would_allow(now)))
        {
            let taken = if self.assigned {
                // Kafka: only a consumer that owns a ready partition can take from it.
                let q = &self.queue;
                self.pool.take_idle_where(|c| q.has_ready_for(c))
            } else {
                self.pool.take_idle()
            };
            let Some(c) = taken else {
                break;
            };
            self.busy.set(now, self.pool.busy() as u64);
            self.free_consumer(c);
        }
    }

    /// Message `id` waited past its TTL: dropped (counted) or dead-lettered.
    fn expire(&mut self, id: u32) {
        self.release_lane(id);
        match self.s.queue.ttl_action {
            TtlAction::Drop => self.c.expired += 1,
            TtlAction::Dlq => self.c.dead_lettered += 1,
        }
        self.msgs.free(id);
    }

    fn push_queue(&mut self, id: u32, call: u32) {
        let produced = self.msgs.get(id).produced;
        let lane = if self.queue.is_ordered() || self.s.queue.priority {
            self.lane_of(id)
        } else {
            0
        };
        self.queue.push(Entry { produced, id, call }, lane);
        self.depth.set(self.now, self.queue.len() as u64);
        if self.queue.is_ordered() {
            self.wake_consumers();
        }
    }

    fn pop_queue(&mut self) -> Option<Entry> {
        let e = self.queue.pop()?;
        Some(self.removed(e))
    }

    /// The next entry for consumer `c` (ordered queues with assigned lanes: from its own).
    #[inline]
    fn pop_queue_for(&mut self, c: u32) -> Option<Entry> {
        let e = self.queue.pop_for(c)?;
        Some(self.removed(e))
    }

    /// Removes the head of the lowest priority tier (the message drop-oldest sheds).
    fn pop_queue_lowest(&mut self) -> Option<Entry> {
        let e = self.queue.pop_lowest()?;
        Some(self.removed(e))
    }

    /// Bookkeeping for an entry leaving the queue: its age bounds the oldest age, exactly.
    fn removed(&mut self, e: Entry) -> Entry {
        self.max_oldest = self.max_oldest.max(self.now.saturating_sub(e.produced));
        self.depth.set(self.now, self.queue.len() as u64);
        e
    }

    /// An idle consumer, if the queue is empty and one is free (FIFO: nobody to overtake).
    fn idle_for_new(&mut self) -> Option<u32> {
        // Ordered queues: every message goes through its lane (its predecessors first).
        if !self.queue.is_ordered()
            && self.queue.is_empty()
            && self.pool.has_idle()
            && self.consumer_may_take()
        {
            self.receives += 1;
            self.pool.take_idle()
        } else {
            None
        }
    }

    /// Records what a caller waited (for a message produced at `produced`).
    fn record_client(&mut self, produced: Nanos, waited: Nanos) {
        if self.measured(produced) {
            self.client.record(waited);
            self.client_iv.record(waited);
        }
    }

    /// Side effect of a successful attempt; counts duplicates (a producer's second copy is
    /// one, unless the consumer is idempotent: it carries the same message id).
    fn side_effect(&mut self, id: u32) {
        let idempotent = self.s.delivery.idempotent;
        let m = self.msgs.get_mut(id);
        if m.dup && m.side_effects == 0 {
            if idempotent {
                return;
            }
            m.side_effects = 1;
            self.c.duplicates += 1;
            self.c.duplicate_copies += 1;
            return;
        }
        if idempotent && m.side_effects > 0 {
            return;
        }
        m.side_effects += 1;
        if m.side_effects > 1 {
            self.c.duplicates += 1;
        }
    }

    /// A successful answer for message `id`: completed, with its end-to-end latency.
    fn record_completion(&mut self, id: u32) {
        let m = self.msgs.get(id);
        let (produced, tier, key, seq) = (m.produced, m.priority, m.key, m.seq);
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
        if let Some(class) = self.classes.get_mut(usize::from(tier)) {
            class.1 += 1;
            if measured {
                class.2.record(self.now - produced);
            }
        }
        if self.now >= self.s.warmup {
            self.goodput_measured += 1;
            self.successes_measured += 1;
        }
        if self.measured(produced) {
            let l = self.now - produced;
            self.e2e.record(l);
            self.e2e_iv.record(l);
        }
    }

    /// Autoscaling: compares its signal with the thresholds and orders consumers in or out.
    fn on_autoscale_check(&mut self) {
        let Some(a) = self.s.autoscale else { return };
        let now = self.now;
        let signal = match a.metric {
            ScaleMetric::QueueDepth => self.queue.len() as f64,
            ScaleMetric::OldestAge => self.queue.oldest().map_or(0.0, |p| ns_to_secs(now - p)),
        };
        let count = self.pool.count() as u32;
        let planned = count + self.pending_out;
        if now >= self.scale_quiet_until {
            if signal > a.scale_out_above && planned < a.max {
                let n = a.step.min(a.max - planned);
                self.pending_out += n;
                self.events
                    .push(now.saturating_add(a.reaction), Ev::ScaleOut(n));
                self.scale_quiet_until = now.saturating_add(a.cooldown);
                self.c.scale_outs += 1;
            } else if signal < a.scale_in_below && self.pending_out == 0 && count > a.min {
                self.pool.remove(a.step.min(count - a.min));
                self.present.set(now, self.pool.present() as u64);
                self.scale_quiet_until = now.saturating_add(a.cooldown);
                self.c.scale_ins += 1;
                self.rebalance();
                self.wake_consumers();
            }
        }
        let next = now.saturating_add(a.check_every);
        if next <= self.s.duration {
            self.events.push(next, Ev::AutoscaleCheck);
        }
    }

    fn on_sample(&mut self) {
        let now = self.now;
        if matches!(self.s.broker, Broker::Kafka { .. }) {
            self.max_lane_lag = self.max_lane_lag.max(self.lane_lag());
        }
        let (busy_area, _) = self.busy.take_interval(now);
        let (_, depth_max) = self.depth.take_interval(now);
        let (present_area, _) = self.present.take_interval(now);
        let span = if self.s.autoscale.is_some() {
            (present_area as f64).max(1.0)
        } else {
            self.s.sample_every as f64 * f64::from(self.s.consumers.count)
        };
        let (last, last_err, last_to) = self.last;
        let c = &self.c;
        self.rows.push(Row {
            time: ns_to_secs(now),
            arrivals: c.produced - last.produced,
            completed: c.completed - last.completed,
            rejected: c.rejected - last.rejected,
            retries: c.retries - last.retries,
            dead_lettered_total: c.dead_lettered,
            queue_depth: self.queue.len() as u64,
            oldest_age: self
                .queue
                .oldest()
                .map(|p| ns_to_secs(now - p))
                .unwrap_or(0.0),
            in_flight: self.pool.busy() as u64 + self.invisible + self.buffered,
            utilization: busy_area as f64 / span,
            e2e_p50: self.e2e_iv.quantile(0.5),
            e2e_p99: self.e2e_iv.quantile(0.99),
            queue_depth_max: depth_max,
            retry_waiting: self.retry_waiting,
            blocked: self.blocked.len() as u64,
            dropped: c.dropped - last.dropped,
            dead_lettered: c.dead_lettered - last.dead_lettered,
            failed: c.failed - last.failed,
            attempts: c.attempts - last.attempts,
            failed_attempts: c.failed_attempts - last.failed_attempts,
            client_errors: self.client_errors - last_err,
            client_timeouts: self.client_timeouts - last_to,
            client_p99: self.client_iv.quantile(0.99),
            offered_rate: self
                .s
                .producers
                .iter()
                .map(|p| p.rate_at(now.saturating_sub(self.shift)))
                .sum(),
            consumers: self.pool.present() as u64,
        });
        self.e2e_iv.reset();
        self.client_iv.reset();
        self.last = (self.c, self.client_errors, self.client_timeouts);
        let next = now.saturating_add(self.s.sample_every);
        if next <= self.s.duration {
            self.events.push(next, Ev::Sample);
        }
    }

    fn finish(mut self) -> RunResult {
        let now = self.now;
        if let Some(p) = self.queue.oldest() {
            self.max_oldest = self.max_oldest.max(now - p);
        }
        if self.sync {
            self.tally_sync_at_end();
        } else {
            self.c.in_queue_at_end = self.queue.len() as u64;
            self.c.in_flight_at_end =
                self.pool.busy() as u64 + self.invisible + self.in_transit + self.buffered;
            self.c.retry_waiting_at_end = self.retry_waiting;
            self.c.blocked_at_end = self.blocked.len() as u64;
        }
        let s = self.s;
        let window = ns_to_secs(now.saturating_sub(s.warmup)).max(1e-9);
        let mean_depth = self.depth.mean(now);
        let busy_mean = self.busy.mean(now);
        let asleep_mean = self.asleep.mean(now);
        // Consumer-time provisioned: fixed, or integrated when autoscaling.
        let present_mean = self.present.mean(now);
        let n = if s.autoscale.is_some() {
            present_mean.max(1e-9)
        } else {
            f64::from(s.consumers.count)
        };
        let wait_count = self.wait.count();
        let gap = self.c.conservation_gap();
        let recovery = recovery::analyse(s, &self.rows);
        let sqs_poll = match s.broker {
            Broker::Sqs { poll_every, .. } | Broker::SqsFifo { poll_every, .. } => {
                Some(poll_every.max(1))
            }
            _ => None,
        };
        let empty_receives = sqs_poll.map(|every| {
            let idle = self
                .present
                .total_area(now)
                .saturating_sub(self.busy.total_area(now));
            (idle / u128::from(every)) as u64
        });
        let api_requests = empty_receives.map(|empty| self.c.accepted + 2 * self.receives + empty);
        let summary = Summary {
            scenario: s.name.clone(),
            variant: s.variant.clone(),
            seed: s.seed,
            simulated_seconds: ns_to_secs(now),
            events: self.events_done,
            wall_seconds: 0.0,
            counts: self.c,
            latency: Latencies {
                end_to_end: self.e2e.stats(),
                queue_wait: self.wait.stats(),
                client: self.client.stats(),
            },
            queue: QueueStats {
                capacity: s.queue.capacity,
                mean_depth,
                max_depth: self.depth.max(),
                max_oldest_age: ns_to_secs(self.max_oldest),
                mean_in_system: mean_depth + busy_mean - asleep_mean,
                p_wait: (wait_count > 0)
                    .then(|| 1.0 - self.wait.zeros() as f64 / wait_count as f64),
            },
            consumers: ConsumerStats {
                count: s.consumers.count,
                utilization: busy_mean / n,
                backoff_fraction: asleep_mean / n,
                mean_count: if s.autoscale.is_some() {
                    present_mean
                } else {
                    n
                },
                max_count: self.present.max(),
            },
            client: ClientStats {
                mode: if self.sync { "sync" } else { "async" }.to_string(),
                ok: self.client_ok,
                errors: self.client_errors,
                timeouts: self.client_timeouts,
            },
            rates: Rates {
                offered: self.produced_measured as f64 / window,
                throughput: self.successes_measured as f64 / window,
                goodput: self.goodput_measured as f64 / window,
                retry_amplification: if self.c.produced == 0 {
                    0.0
                } else {
                    self.c.attempts as f64 / self.c.produced as f64
                },
            },
            recovery,
            conservation: Conservation {
                holds: gap == 0,
                gap: gap as i64,
            },
            stopped: self.stopped.clone(),
            classes: class_stats(&self.classes),
            broker: BrokerStats {
                kind: s.broker.name().to_string(),
                lanes: s.broker.ordered_lanes(s.keys),
                max_partition_lag: matches!(s.broker, Broker::Kafka { .. })
                    .then_some(self.max_lane_lag.max(self.lane_lag())),
                partition_lag_at_end: matches!(s.broker, Broker::Kafka { .. })
                    .then(|| self.lane_lag()),
                total_lag_at_end: matches!(s.broker, Broker::Kafka { .. })
                    .then_some(self.queue.len() as u64),
                receives: sqs_poll.map(|_| self.receives),
                empty_receives,
                api_requests,
            },
            fanout: None,
            subscribers: Vec::new(),
            cost: s.cost.map(|p| {
                let consumer_hours = if s.autoscale.is_some() {
                    // The whole run, warm-up included: the bill covers every hour.
                    self.present.total_area(now) as f64 / 1e9 / 3600.0
                } else {
                    f64::from(s.consumers.count) * ns_to_secs(now) / 3600.0
                };
                let requests = api_requests.unwrap_or(self.c.attempts);
                CostStats {
                    consumer_hours,
                    requests,
                    total: consumer_hours * p.per_consumer_hour
                        + requests as f64 / 1e6 * p.per_million_requests,
                }
            }),
        };
        RunResult {
            summary,
            rows: self.rows,
            e2e_cdf: cdf(&self.e2e),
            client_cdf: cdf(&self.client),
            produced_by: s
                .producers
                .iter()
                .zip(&self.produced_by)
                .map(|(p, n)| (p.stream, *n))
                .collect(),
            hists: Hists {
                e2e: self.e2e,
                wait: self.wait,
                client: self.client,
                classes: self.classes,
            },
            subscribers: Vec::new(),
        }
    }
}

/// `classes[]` from per-tier tallies (index = tier), highest tier first.
pub(crate) fn class_stats(
    classes: &[(u64, u64, LatencyRecorder, LatencyRecorder)],
) -> Vec<ClassStats> {
    classes
        .iter()
        .enumerate()
        .rev()
        .filter(|(_, c)| c.0 > 0)
        .map(|(tier, c)| ClassStats {
            priority: tier as u8,
            produced: c.0,
            completed: c.1,
            end_to_end: c.2.stats(),
            queue_wait: c.3.stats(),
        })
        .collect()
}

/// A latency distribution as (seconds, cumulative fraction) at 1000 evenly spaced levels
/// plus the far tail.
pub(crate) fn cdf(r: &LatencyRecorder) -> Vec<(f64, f64)> {
    if r.count() == 0 {
        return Vec::new();
    }
    let mut levels: Vec<f64> = (1..1000).map(|i| f64::from(i) / 1000.0).collect();
    levels.extend([0.9995, 0.9999, 1.0]);
    levels
        .into_iter()
        .filter_map(|q| r.quantile(q).map(|v| (v, q)))
        .collect()
}
