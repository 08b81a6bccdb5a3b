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
mod delivery;
mod direct;
mod fanout;
pub(crate) mod kinds;

pub use fanout::totals_scenario;

use crate::engine::EventQueue;
use crate::error::InputError;
use crate::guard::{self, Limits};
use crate::metrics::recorder::{Context, Gauges, Recorder, Tally};
use crate::metrics::summary::*;
use crate::metrics::{LatencyRecorder, Row, Summary};
use crate::model::breaker::Breaker;
use crate::model::consumer::{Pool, Slot};
use crate::model::downstream::Downstream;
use crate::model::message::{Msg, Slab};
use crate::model::producer::Source;
use crate::model::queue::{Entry, WaitQueue};
use crate::model::retry::{Budget, Policy};
use crate::model::{ConsumerId, MessageId};
use crate::rng::{self, uniform, Rng, Sampler, Stream};
use crate::scenario::{ClientMode, Producer, ScaleMetric, Scenario, TtlAction};
use crate::time::{ns_to_secs, Nanos};
use kinds::{Gate, Receives, Semantics};
use std::collections::VecDeque;

/// What one run produced.
#[derive(Clone)]
pub struct RunResult {
    /// summary.json.
    pub summary: Summary,
    /// timeseries.csv.
    pub rows: Vec<Row>,
    /// End-to-end latency distribution: (seconds, fraction of completions at or below).
    pub e2e_cdf: Vec<(f64, f64)>,
    /// What callers waited: (seconds, fraction at or below).
    pub client_cdf: Vec<(f64, f64)>,
    /// The final accumulators behind the summary (fan-out merges them).
    pub tally: Tally,
    /// Messages produced by each producer: (its arrival stream, count).
    pub produced_by: Vec<(u32, u64)>,
    /// Fan-out: each subscriber's own result, in file order (empty otherwise).
    pub subscribers: Vec<(String, RunResult)>,
    /// Why the run stopped before its duration, if it did (`summary.stopped` says it in
    /// words).
    pub stop: Option<StopReason>,
}

/// Why a run stopped before its duration. Its `Display` is `summary.stopped`.
#[derive(Debug, Clone)]
pub enum StopReason {
    /// A bad line of a data file met during the run (a trace is read as it replays): bad
    /// input, which the command line reports as such.
    BadInput {
        /// When.
        at: Nanos,
        /// The line and what was wrong with it.
        error: InputError,
    },
    /// More messages waited than the memory budget allows (`--max-memory`).
    MemoryBudget {
        /// When.
        at: Nanos,
        /// Messages waiting then.
        waiting: u64,
        /// The most the budget allows.
        limit: u64,
    },
    /// More messages alive at once than the engine tracks (2^31, `Slab::MAX_LIVE`).
    TooManyAlive {
        /// When.
        at: Nanos,
    },
    /// Interrupted ([`crate::guard::interrupt`], the command line's Ctrl-C).
    Interrupted {
        /// When.
        at: Nanos,
    },
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let when = |at: &Nanos| crate::time::human(ns_to_secs(*at));
        match self {
            StopReason::BadInput { at, error } => write!(f, "stopped at {}: {error}", when(at)),
            StopReason::MemoryBudget { at, waiting, limit } => write!(
                f,
                "stopped at {}: {waiting} messages were waiting, more than the memory budget allows ({limit} messages, about {}); raise --max-memory or bound the queue",
                when(at),
                guard::human_bytes((limit * guard::BYTES_PER_WAITING) as f64)
            ),
            StopReason::TooManyAlive { at } => write!(
                f,
                "stopped at {}: more than {} messages were alive at once, the most the engine tracks; bound the queue",
                when(at),
                Slab::MAX_LIVE
            ),
            StopReason::Interrupted { at } => write!(f, "interrupted at {}", when(at)),
        }
    }
}

impl std::fmt::Debug for RunResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunResult")
            .field("summary", &self.summary)
            .field("rows", &self.rows.len())
            .field("subscribers", &self.subscribers.len())
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
    kinds::run(s, limits)
}

/// Events between two checks of the limits and of the interrupt flag (an atomic load
/// and two comparisons: cheap next to 4,096 events). Every time-series row checks too, so
/// a run whose events are slow (many lanes to scan at each sample) still stops within a
/// sample of Ctrl-C.
const CHECK_EVERY: u64 = 1 << 12;

/// Why a producer's index and its schedule steps fit `u32`: scenario validation refuses
/// more producers, or more steps in one schedule, than `u32` numbers (validate.rs).
const PRODUCERS_FIT: &str = "validation bounds producers and schedule steps by u32::MAX";

/// What happens at an instant. Simultaneous events are taken in the order they were
/// scheduled (the engine's sequence number), so a run is the same on every machine.
#[derive(Debug, Clone, Copy)]
enum Ev {
    /// A producer's next message (ignored if `generation` is stale: its rate changed).
    Arrival {
        /// Index of the producer.
        producer: u32,
        /// The producer's schedule generation when this arrival was drawn.
        generation: u32,
    },
    /// A producer moves to step `step` of its schedule.
    RateStep {
        /// Index of the producer.
        producer: u32,
        /// Index into its schedule.
        step: u32,
    },
    /// A `consumers.down` window or a Kafka rebalance pause ends: consumers take messages
    /// again.
    ConsumersUp,
    /// The broker kind's gate may open (SQS FIFO's throughput limit allows a start).
    GateOpens,
    /// The second copy of a message published twice reaches the broker.
    Duplicate(MessageId),
    /// A consumer finishes its attempt.
    Done(ConsumerId),
    /// A consumer wakes from an inline backoff and tries again.
    Wake(ConsumerId),
    /// A message has waited out its backoff (or visibility timeout) and rejoins the queue.
    RetryReady(MessageId),
    /// A message becomes visible again after its consumer crashed.
    Redeliver(MessageId),
    /// Sync: the caller of a request gives up on its call `call`.
    CallTimeout {
        /// The request.
        msg: MessageId,
        /// Which of its calls the timer belongs to.
        call: u32,
    },
    /// Sync: the caller of a request calls again after its backoff.
    CallRetry(MessageId),
    /// SQS short polling: an idle consumer receives.
    Poll(ConsumerId),
    /// RabbitMQ: a message delivered to an idle consumer reaches it.
    Handoff(ConsumerId),
    /// RabbitMQ: the message TTL timer for the head of the queue.
    TtlTimer,
    /// Time-series row.
    Sample,
    /// The breaker half-opens: idle consumers may probe.
    BreakerTick,
    /// Autoscaling looks at its signal.
    AutoscaleCheck,
    /// Consumers added by autoscaling start working.
    ScaleOut {
        /// How many.
        n: u32,
    },
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

struct Sim<'a, K: Semantics> {
    s: &'a Scenario,
    /// The broker kind's semantics.
    kind: K,
    now: Nanos,
    /// Async: messages reach the broker `enqueue_latency` after they are produced.
    shift: Nanos,
    sync: bool,
    events: EventQueue<Ev>,
    msgs: Slab,
    queue: WaitQueue,
    blocked: VecDeque<MessageId>,
    pool: Pool,
    sources: Vec<Source>,
    downstream: Downstream,
    policy: Policy,
    budget: Option<Budget>,
    breaker: Option<Breaker>,
    sampler: Sampler,
    rng: Rngs,
    /// What is measured.
    rec: Recorder,
    retry_waiting: u64,
    invisible: u64,
    in_transit: u64,
    sleeping: u64,
    /// `[keys]`: the key stream and sampler.
    keys: Option<(Rng, rng::KeySampler)>,
    /// Whether anything can stop a consumer from taking a message (a breaker, downtime,
    /// a rebalance pause, the FIFO throughput limit); false keeps the common case fast.
    gated: bool,
    /// SQS short polling: the interval between an idle consumer's receives.
    short_poll: Option<Nanos>,
    /// Short polling: each consumer's next receive (a `Poll` event at another time is
    /// stale), and the receives that found nothing.
    next_poll: Vec<Nanos>,
    /// Prefetch or batches: messages each consumer holds beyond the one it works on.
    prefetch_extra: usize,
    /// Per consumer slot: prefetched messages, in delivery order.
    buffers: Vec<VecDeque<MessageId>>,
    /// All prefetched messages (unacknowledged, not yet started).
    buffered: u64,
    /// Consumers ordered by autoscaling that have not started yet.
    pending_out: u32,
    /// No autoscaling decision before this.
    scale_quiet_until: Nanos,
    next_call: u32,
    limits: Limits,
    stopped: Option<StopReason>,
}

impl<'a, K: Semantics> Sim<'a, K> {
    fn new(s: &'a Scenario, kind: K, limits: &Limits) -> Self {
        let sync = s.client.mode == ClientMode::Sync;
        let st = |x| rng::salted(s.seed, s.stream_salt, x);
        let queue = kind.wait_queue(s);
        let prefetch_extra = kind.buffer();
        let short_poll = kind.short_poll().map(|p| p.max(1));
        Sim {
            s,
            kind,
            now: 0,
            shift: if sync { 0 } else { s.client.enqueue_latency },
            sync,
            events: EventQueue::default(),
            msgs: Slab::default(),
            queue,
            blocked: VecDeque::new(),
            pool: Pool::new(s.consumers.count),
            sources: Vec::new(),
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
            rec: Recorder::new(s),
            retry_waiting: 0,
            invisible: 0,
            in_transit: 0,
            sleeping: 0,
            keys: s
                .keys
                .map(|k| (st(Stream::Keys), rng::KeySampler::new(k.count, k.skew))),
            prefetch_extra,
            gated: s.breaker.is_some() || !s.consumers.down.is_empty() || K::GATED,
            short_poll,
            next_poll: Vec::new(),
            buffers: Vec::new(),
            buffered: 0,
            pending_out: 0,
            scale_quiet_until: 0,
            next_call: 0,
            limits: *limits,
            stopped: None,
        }
    }

    fn run(mut self) -> RunResult {
        self.open_sources();
        for p in 0..self.sources.len() {
            let src = &mut self.sources[p];
            if let Some(t) = src.first() {
                let generation = src.generation;
                let producer = u32::try_from(p).expect(PRODUCERS_FIT);
                self.schedule_arrival(t.saturating_add(self.shift), producer, generation);
            }
            for (j, (at, _)) in self.s.producers[p].schedule.iter().enumerate() {
                self.events.push(
                    at.saturating_add(self.shift),
                    Ev::RateStep {
                        producer: u32::try_from(p).expect(PRODUCERS_FIT),
                        step: u32::try_from(j).expect(PRODUCERS_FIT),
                    },
                );
            }
        }
        self.events.push(self.s.sample_every, Ev::Sample);
        for &(_, end) in &self.s.consumers.down {
            self.events.push(end, Ev::ConsumersUp);
        }
        self.rec.present.set(0, u64::from(self.s.consumers.count));
        self.reassign();
        if let Some(a) = self.s.autoscale {
            self.events.push(a.check_every, Ev::AutoscaleCheck);
        }
        if let Some(every) = self.short_poll {
            // Consumers' receives are staggered evenly over the polling interval.
            let n = u64::from(self.s.consumers.count).max(1);
            for c in self.pool.members() {
                self.schedule_poll(c, u64::from(c.0) * every / n);
            }
        }
        self.warm_start();
        let end = self.s.duration;
        while let Some((t, ev)) = self.events.pop() {
            if t > end {
                self.in_transit_at_end(t, ev);
                break;
            }
            self.now = t;
            self.rec.events += 1;
            if self.rec.events % CHECK_EVERY == 0 && self.check_limits() {
                return self.finish();
            }
            match ev {
                Ev::Arrival {
                    producer,
                    generation,
                } => self.on_arrival(producer, generation),
                Ev::RateStep { producer, step } => self.on_rate_step(producer, step),
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
                    self.rec.c.redeliveries += 1;
                    self.redeliver(m);
                }
                Ev::CallTimeout { msg, call } => self.on_call_timeout(msg, call),
                Ev::CallRetry(m) => {
                    self.retry_waiting -= 1;
                    self.call(m);
                }
                Ev::Sample => {
                    self.on_sample();
                    if self.check_limits() {
                        return self.finish();
                    }
                }
                Ev::BreakerTick | Ev::ConsumersUp => self.wake_consumers(),
                Ev::Duplicate(m) => self.on_duplicate(m),
                Ev::GateOpens => {
                    self.kind.reopened();
                    self.wake_consumers();
                }
                Ev::AutoscaleCheck => self.on_autoscale_check(),
                Ev::Poll(c) => self.on_poll(c),
                Ev::Handoff(c) => self.on_handoff(c),
                Ev::TtlTimer => self.on_ttl_timer(),
                Ev::ScaleOut { n } => {
                    self.pending_out -= n;
                    self.pool.add(n);
                    if self.short_poll.is_some() {
                        // New consumers receive at once.
                        let idle: Vec<ConsumerId> = self.pool.idle().to_vec();
                        for c in idle {
                            if self.next_poll.get(c.index()).is_none_or(|&t| t < self.now) {
                                self.schedule_poll(c, self.now);
                            }
                        }
                    }
                    self.rec.present.set(self.now, self.pool.present() as u64);
                    self.rebalance();
                    self.wake_consumers();
                }
            }
        }
        self.now = end;
        self.finish()
    }

    /// One source per producer; a trace producer opens its file (a failure stops the run
    /// at time 0, saying why).
    fn open_sources(&mut self) {
        let s = self.s;
        for p in &s.producers {
            let rng = rng::stream(s.seed, Stream::Arrivals(p.stream));
            let src = match &p.trace {
                Some(t) if t.scale > 0.0 => Source::replay(p, t, rng).unwrap_or_else(|e| {
                    self.data_error(e);
                    Source::new(
                        &Producer {
                            rate: 0.0,
                            ..p.clone()
                        },
                        rng::stream(s.seed, Stream::Arrivals(p.stream)),
                    )
                }),
                Some(_) => Source::new(
                    &Producer {
                        rate: 0.0,
                        trace: None,
                        ..p.clone()
                    },
                    rng,
                ),
                None => Source::new(p, rng),
            };
            self.sources.push(src);
        }
    }

    /// A trace met a bad line (or could not be opened again): the run stops, saying where.
    #[cold]
    fn data_error(&mut self, e: InputError) {
        if self.stopped.is_none() {
            self.stopped = Some(StopReason::BadInput {
                at: self.now,
                error: e,
            });
        }
    }

    /// Checks the memory budget and the interrupt flag: true when the run must stop,
    /// recording why (an action, not a predicate: it sets `stopped`).
    fn check_limits(&mut self) -> bool {
        if self.stopped.is_some() {
            return true;
        }
        let waiting = (self.queue.len() + self.blocked.len()) as u64;
        let at = self.now;
        if waiting > self.limits.max_waiting {
            self.stopped = Some(StopReason::MemoryBudget {
                at,
                waiting,
                limit: self.limits.max_waiting,
            });
        } else if self.msgs.live() > Slab::MAX_LIVE {
            self.stopped = Some(StopReason::TooManyAlive { at });
        } else if guard::interrupted() {
            self.stopped = Some(StopReason::Interrupted { at });
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
                Ev::Arrival {
                    producer: p,
                    generation,
                } if generation == self.sources[p as usize].generation => {
                    let src = &mut self.sources[p as usize];
                    if let Some(t2) = src.after(t - self.shift) {
                        self.schedule_arrival(t2.saturating_add(self.shift), p, generation);
                    }
                    let tier = self.s.producers[p as usize].priority;
                    self.rec.produced(t - self.shift, tier, Some(p as usize));
                    self.in_transit += 1;
                }
                Ev::RateStep { producer, step } => {
                    self.now = t;
                    self.on_rate_step(producer, step);
                }
                _ => {}
            }
            next = self.events.pop();
        }
    }

    /// Draws whether message `id` is poison (`downstream.poison_rate`).
    fn mark_poison(&mut self, id: MessageId) {
        let rate = self.s.downstream.poison_rate;
        if rate > 0.0 && uniform(&mut self.rng.poison) < rate {
            self.msgs.get_mut(id).poison = true;
            self.rec.c.poison += 1;
        }
    }

    /// Spends one token of the retry budget (if any) for a retry: true when granted;
    /// counts refusals.
    fn spend_retry(&mut self) -> bool {
        let allowed = self.budget.as_mut().is_none_or(|b| b.spend());
        if !allowed {
            self.rec.c.retries_denied += 1;
        }
        allowed
    }

    /// Warm start: `queue.initial_backlog` messages produced at time 0, already stored.
    fn warm_start(&mut self) {
        for _ in 0..self.s.queue.initial_backlog {
            let service = self.sampler.sample(&mut self.rng.warm);
            let u = uniform(&mut self.rng.warm);
            // A warm backlog is tier 0, already stored.
            let id = self.new_message(0, service, u, 0, None);
            self.rec.c.accepted += 1;
            match self.idle_for_new() {
                Some(c) => self.start(c, id, 0),
                None => self.push_queue(id, 0),
            }
        }
        if K::PUSHES {
            self.dispatch();
        }
    }

    /// A message produced at `produced` with its first-attempt draws: stored in the slab and
    /// counted (produced, its tier, the retry budget's earnings), poison drawn.
    fn new_message(
        &mut self,
        produced: Nanos,
        service: Nanos,
        u: f64,
        tier: u8,
        producer: Option<usize>,
    ) -> MessageId {
        let seq = self.rec.c.produced;
        let key = match &mut self.keys {
            Some((r, k)) => k.sample(r),
            None => 0,
        };
        self.rec.produced(produced, tier, producer);
        let id = self.msgs.alloc(Msg::new(produced, service, u));
        let m = self.msgs.get_mut(id);
        m.priority = tier;
        m.key = key;
        m.seq = seq;
        self.mark_poison(id);
        if let Some(b) = &mut self.budget {
            b.earn();
        }
        id
    }

    /// Schedules producer `producer`'s next arrival at `at`. The first producer's is the
    /// event that recurs at almost every step: it has the event queue's slot.
    #[inline]
    fn schedule_arrival(&mut self, at: Nanos, producer: u32, generation: u32) {
        let ev = Ev::Arrival {
            producer,
            generation,
        };
        if producer == 0 {
            self.events.push_slot(at, ev);
        } else {
            self.events.push(at, ev);
        }
    }

    fn on_arrival(&mut self, p: u32, gen: u32) {
        let src = &mut self.sources[p as usize];
        if gen != src.generation {
            return;
        }
        let produced = self.now - self.shift;
        src.count_one();
        if let Some(t) = src.after(produced) {
            self.schedule_arrival(t.saturating_add(self.shift), p, gen);
        } else if let Some(e) = src.take_error() {
            self.data_error(e);
        }
        let service = self.sampler.sample(&mut self.rng.service);
        let u = uniform(&mut self.rng.fail);
        let tier = self.s.producers[p as usize].priority;
        let id = self.new_message(produced, service, u, tier, Some(p as usize));
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
            let generation = src.generation;
            self.schedule_arrival(t.saturating_add(self.shift), p, generation);
        }
    }

    /// Starts a processing attempt of message `id` (call `call` in sync mode) on the
    /// already-taken consumer `c`.
    fn start(&mut self, c: ConsumerId, id: MessageId, call: u32) {
        let now = self.now;
        let m = self.msgs.get_mut(id);
        m.attempts += 1;
        m.received = now;
        let first = m.attempts == 1;
        let (produced, arrived, base, u, poison, tier) = (
            m.produced,
            m.arrived,
            m.first_service,
            m.first_fail_u,
            m.poison,
            m.priority,
        );
        self.rec.c.attempts += 1;
        let (base, u) = if first {
            self.rec.first_attempt(now, produced, arrived, tier);
            (base, u)
        } else {
            (
                self.sampler.sample(&mut self.rng.retry_service),
                uniform(&mut self.rng.retry_fail),
            )
        };
        let a = self.downstream.attempt(now, base, u, poison);
        if first {
            self.rec.first_service(produced, a.duration);
        }
        if !a.ok {
            self.rec.c.failed_attempts += 1;
            if a.timed_out {
                self.rec.c.attempt_timeouts += 1;
            }
        }
        *self.pool.slot(c) = Slot {
            msg: id,
            call,
            ok: a.ok,
            sleeping: false,
        };
        self.rec.busy.set(now, self.pool.busy() as u64);
        self.events
            .push(now.saturating_add(a.duration), Ev::Done(c));
    }

    /// Consumer `c` is free: it takes the next waiting message (discarding any whose TTL
    /// has run out on the way), or goes idle.
    fn free_consumer(&mut self, c: ConsumerId) {
        if K::PUSHES {
            return self.push_settled(c);
        }
        if self.prefetch_extra > 0 {
            if self.pool.retire_if_due(c) {
                self.requeue_buffer(c);
                self.rec.present.set(self.now, self.pool.present() as u64);
                self.rec.busy.set(self.now, self.pool.busy() as u64);
                return;
            }
            // Its own prefetched messages come first, then it takes more from the queue.
            if let Some(id) = self.buffers.get_mut(c.index()).and_then(|b| b.pop_front()) {
                self.buffered -= 1;
                self.start(c, id, 0);
                if !K::BATCHES {
                    self.top_up(c);
                }
                return;
            }
        }
        if self.pool.retire_if_due(c) {
            // Scaled in while busy: this consumer leaves now that it has finished (Kafka: its
            // partitions go to the others).
            self.rec.present.set(self.now, self.pool.present() as u64);
            self.rec.busy.set(self.now, self.pool.busy() as u64);
            if K::ASSIGNS_LANES {
                self.reassign();
                self.wake_consumers();
            }
            return;
        }
        // Messages whose TTL ran out are discarded as they reach the head.
        while let Some(produced) = self
            .s
            .queue
            .ttl
            .and_then(|_| self.queue.front_for(c))
            .map(|head| head.produced)
        {
            if !self.expired(produced) {
                break;
            }
            if let Some(e) = self.pop_queue_for(c) {
                if !self.sync {
                    self.unblock_one();
                }
                self.expire(e.id);
            }
        }
        if self.queue.has_ready_for(c) && self.admit_consumer() {
            if let Some(e) = self.pop_queue_for(c) {
                if self.sync {
                    self.serve_call(e);
                } else {
                    self.unblock_one();
                }
                self.rec.receives += 1;
                self.start(c, e.id, e.call);
                self.top_up(c);
                return;
            }
        }
        self.pool.release(c);
        self.rec.busy.set(self.now, self.pool.busy() as u64);
        if let Some(every) = self.short_poll {
            // Short polling: that receive came back empty; the next one is an interval away.
            self.rec.empty_polls += 1;
            self.schedule_poll(c, self.now.saturating_add(every));
        }
    }

    /// Short polling: consumer `c` receives at `at`.
    fn schedule_poll(&mut self, c: ConsumerId, at: Nanos) {
        if self.next_poll.len() <= c.index() {
            self.next_poll.resize(c.index() + 1, 0);
        }
        self.next_poll[c.index()] = at;
        self.events.push(at, Ev::Poll(c));
    }

    /// Short polling: idle consumer `c` receives (a stale poll, or one for a consumer that
    /// is busy or gone, does nothing: it receives again when it finishes).
    fn on_poll(&mut self, c: ConsumerId) {
        if self.next_poll.get(c.index()) != Some(&self.now) || !self.pool.take_if_idle(c) {
            return;
        }
        self.rec.busy.set(self.now, self.pool.busy() as u64);
        self.free_consumer(c);
    }

    /// Admits a consumer to take a message now, or not: true when it may (an open breaker
    /// pauses consumption, the messages wait in the queue). An action: it counts a
    /// half-open probe and tells the broker kind a start is coming.
    #[inline(always)]
    fn admit_consumer(&mut self) -> bool {
        if !self.gated {
            return true;
        }
        self.admit_consumer_gated()
    }

    fn admit_consumer_gated(&mut self) -> bool {
        if self.consumers_down() || self.check_gate_closed() {
            return false;
        }
        if self.sync {
            return true;
        }
        let now = self.now;
        let ok = self.breaker.as_mut().is_none_or(|b| b.allow(now));
        if ok {
            self.kind.started(now);
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
        self.rec.c.breaker_opens += b.opened - before;
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
        self.s
            .consumers
            .down
            .iter()
            .any(|&(a, b)| now >= a && now < b)
    }

    /// Whether the broker kind stops consumers from starting now (SQS FIFO's throughput
    /// limit, Kafka's rebalance pause); schedules the look-again the kind asks for.
    #[inline]
    fn check_gate_closed(&mut self) -> bool {
        match self.kind.gate(self.now) {
            Gate::Open => false,
            Gate::Closed => true,
            Gate::ClosedUntil(t) => {
                self.events.push(t, Ev::GateOpens);
                true
            }
        }
    }

    /// Idle consumers take waiting messages (after the breaker half-opens or closes, or a
    /// `consumers.down` window ends).
    fn wake_consumers(&mut self) {
        if K::PUSHES {
            return self.dispatch();
        }
        if self.short_poll.is_some() {
            // Short polling: idle consumers see messages at their next receive.
            return;
        }
        let now = self.now;
        while self.queue.has_ready()
            && !self.consumers_down()
            && !self.check_gate_closed()
            && (self.sync || self.breaker.as_ref().is_none_or(|b| b.would_allow(now)))
        {
            let taken = if K::ASSIGNS_LANES {
                // Kafka: only a consumer that owns a ready partition can take from it.
                let q = &self.queue;
                self.pool.take_idle_where(|c| q.has_ready_for(c))
            } else {
                self.pool.take_idle()
            };
            let Some(c) = taken else {
                break;
            };
            self.rec.busy.set(now, self.pool.busy() as u64);
            self.free_consumer(c);
        }
    }

    /// Whether a message produced at `produced` has outlived `queue.ttl` (Kafka:
    /// `broker.retention`) now: the one TTL rule, applied as messages reach the head.
    #[inline]
    fn expired(&self, produced: Nanos) -> bool {
        self.s
            .queue
            .ttl
            .is_some_and(|ttl| self.now - produced > ttl)
    }

    /// The first instant at which [`expired`](Self::expired) holds for a message produced
    /// at `produced` (`None` without a TTL): the same rule, for a timer.
    fn expires_at(&self, produced: Nanos) -> Option<Nanos> {
        self.s
            .queue
            .ttl
            .map(|ttl| produced.saturating_add(ttl).saturating_add(1))
    }

    /// Message `id` waited past its TTL: dropped (counted) or dead-lettered.
    fn expire(&mut self, id: MessageId) {
        self.release_lane(id);
        match self.s.queue.ttl_action {
            TtlAction::Drop => self.rec.c.expired += 1,
            TtlAction::Dlq => self.rec.c.dead_lettered += 1,
        }
        self.msgs.free(id);
    }

    fn push_queue(&mut self, id: MessageId, call: u32) {
        let produced = self.msgs.get(id).produced;
        let lane = if self.queue.is_ordered() || self.s.queue.priority {
            self.lane_of(id)
        } else {
            0
        };
        let lane_ready = self.queue.push(Entry { produced, id, call }, lane);
        self.rec.depth.set(self.now, self.queue.len() as u64);
        if K::TTL_TIMER {
            self.arm_ttl();
        }
        // Ordered: a message behind its lane's head, or in a locked lane, changes nothing
        // an idle consumer could take (gates, breakers and downtime wake them by events).
        if lane_ready {
            self.wake_consumers();
        }
    }

    fn pop_queue(&mut self) -> Option<Entry> {
        let e = self.queue.pop()?;
        Some(self.removed(e))
    }

    /// The next entry for consumer `c` (ordered queues with assigned lanes: from its own).
    #[inline]
    fn pop_queue_for(&mut self, c: ConsumerId) -> Option<Entry> {
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
        self.rec.max_oldest = self.rec.max_oldest.max(self.now.saturating_sub(e.produced));
        self.rec.depth.set(self.now, self.queue.len() as u64);
        e
    }

    /// An idle consumer, if the queue is empty and one is free (FIFO: nobody to overtake).
    fn idle_for_new(&mut self) -> Option<ConsumerId> {
        // Ordered queues: every message goes through its lane (its predecessors first).
        if !K::PUSHES
            && self.short_poll.is_none()
            && !self.queue.is_ordered()
            && self.queue.is_empty()
            && self.pool.has_idle()
            && self.admit_consumer()
        {
            self.rec.receives += 1;
            self.pool.take_idle()
        } else {
            None
        }
    }

    /// Side effect of a successful attempt; counts duplicates (a producer's second copy is
    /// one, unless the consumer is idempotent: it carries the same message id).
    fn side_effect(&mut self, id: MessageId) {
        let idempotent = self.s.delivery.idempotent;
        let m = self.msgs.get_mut(id);
        if m.dup && m.side_effects == 0 {
            if idempotent {
                return;
            }
            m.side_effects = 1;
            self.rec.c.duplicates += 1;
            self.rec.c.duplicate_copies += 1;
            return;
        }
        if idempotent && m.side_effects > 0 {
            return;
        }
        m.side_effects += 1;
        if m.side_effects > 1 {
            self.rec.c.duplicates += 1;
        }
    }

    /// A successful answer for message `id`: completed, with its end-to-end latency.
    fn record_completion(&mut self, id: MessageId) {
        let m = self.msgs.get(id);
        self.rec
            .completed(self.now, m.produced, m.priority, m.key, m.seq);
    }

    /// Autoscaling: compares its signal with the thresholds and orders consumers in or out.
    fn on_autoscale_check(&mut self) {
        let Some(a) = self.s.autoscale else { return };
        let now = self.now;
        let signal = match a.metric {
            ScaleMetric::QueueDepth => self.queue.len() as f64,
            ScaleMetric::OldestAge => self.queue.oldest().map_or(0.0, |p| ns_to_secs(now - p)),
        };
        let count = u32::try_from(self.pool.count())
            .expect("at most 100000 consumer slots: consumers.count, autoscale.max (validate.rs)");
        let planned = count + self.pending_out;
        if now >= self.scale_quiet_until {
            if signal > a.scale_out_above && planned < a.max {
                let n = a.step.min(a.max - planned);
                self.pending_out += n;
                self.events
                    .push(now.saturating_add(a.reaction), Ev::ScaleOut { n });
                self.scale_quiet_until = now.saturating_add(a.cooldown);
                self.rec.c.scale_outs += 1;
            } else if signal < a.scale_in_below && self.pending_out == 0 && count > a.min {
                self.pool.remove(a.step.min(count - a.min));
                self.rec.present.set(now, self.pool.present() as u64);
                self.scale_quiet_until = now.saturating_add(a.cooldown);
                self.rec.c.scale_ins += 1;
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
        self.kind.sampled(&self.queue);
        let gauges = Gauges {
            queue_depth: self.queue.len() as u64,
            oldest: self.queue.oldest(),
            in_flight: self.pool.busy() as u64 + self.invisible + self.buffered,
            retry_waiting: self.retry_waiting,
            blocked: self.blocked.len() as u64,
            consumers: self.pool.present() as u64,
            offered_rate: self
                .s
                .producers
                .iter()
                .zip(&mut self.sources)
                .map(|(p, src)| match src.take_window() {
                    // A trace has no rate of its own: what it produced in the interval.
                    Some(n) => n as f64 / ns_to_secs(self.s.sample_every),
                    None => p.rate_at(now.saturating_sub(self.shift)),
                })
                .sum(),
        };
        self.rec.sample(now, gauges);
        let next = now.saturating_add(self.s.sample_every);
        if next <= self.s.duration {
            self.events.push(next, Ev::Sample);
        }
    }

    fn finish(mut self) -> RunResult {
        let now = self.now;
        if let Some(p) = self.queue.oldest() {
            self.rec.max_oldest = self.rec.max_oldest.max(now - p);
        }
        if self.sync {
            self.tally_sync_at_end();
        } else {
            self.rec.c.in_queue_at_end = self.queue.len() as u64;
            self.rec.c.in_flight_at_end =
                self.pool.busy() as u64 + self.invisible + self.in_transit + self.buffered;
            self.rec.c.retry_waiting_at_end = self.retry_waiting;
            self.rec.c.blocked_at_end = self.blocked.len() as u64;
        }
        let s = self.s;
        let receives = Receives {
            accepted: self.rec.c.accepted,
            receives: self.rec.receives,
            empty_polls: self.rec.empty_polls,
            idle_area: self.rec.idle_area(now),
        };
        let mut broker = BrokerStats::of_kind(s.broker.name(), s.broker.ordered_lanes(s.keys));
        self.kind.stats(&self.queue, &receives, &mut broker);
        let cost = s.cost.map(|p| {
            // A kind that bills its API requests (SQS) is billed by them, else by attempts.
            let requests = broker.api_requests.unwrap_or(self.rec.c.attempts);
            CostStats::new(self.rec.consumer_hours(now), requests, &p)
        });
        let events = self.rec.events;
        let (tally, rows) = self.rec.close(now);
        let summary = tally.summary(
            &rows,
            Context {
                scenario: s,
                capacity: s.queue.capacity,
                sync: self.sync,
                events,
                stopped: self.stopped.as_ref().map(ToString::to_string),
                broker,
                cost,
            },
        );
        RunResult {
            summary,
            rows,
            e2e_cdf: cdf(&tally.e2e),
            client_cdf: cdf(&tally.client),
            produced_by: s
                .producers
                .iter()
                .zip(&tally.produced_by)
                .map(|(p, n)| (p.stream, *n))
                .collect(),
            tally,
            subscribers: Vec::new(),
            stop: self.stopped.take(),
        }
    }
}

/// A latency distribution as (seconds, cumulative fraction) at 1000 evenly spaced levels
/// plus the far tail.
pub(crate) fn cdf(r: &LatencyRecorder) -> Vec<(f64, f64)> {
    if r.count() == 0 {
        return Vec::new();
    }
    let mut levels: Vec<f64> = (1..1000).map(|i| f64::from(i) / 1000.0).collect();
    levels.extend([0.9995, 0.9999, 1.0]);
    let values = r.quantiles(&levels);
    values
        .into_iter()
        .zip(levels)
        .filter_map(|(v, q)| v.map(|v| (v, q)))
        .collect()
}
