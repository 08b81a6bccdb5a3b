//! The live run itself: a publisher, the consumers, a dead-letter reader, a depth poller
//! and a sampler, on tokio, against a real RabbitMQ, all telling one [`Recorder`] what
//! happened when.

use super::plan::{Planned, QueueSpec};
use crate::metrics::recorder::{Context, Gauges, Recorder};
use crate::metrics::summary::{BrokerStats, CostStats};
use crate::metrics::{Row, Summary};
use crate::model::downstream::Downstream;
use crate::rng::{self, uniform, Rng, Sampler, Stream};
use crate::scenario::Scenario;
use crate::time::Nanos;
use futures_lite::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::uri::AMQPUri;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Header carrying a message's index in the plan.
const SEQ: &str = "x-queuelab-seq";
/// Header carrying its publish time (simulated ns since the run's start).
const PUBLISHED: &str = "x-queuelab-published";

/// One delivery as a consumer saw it, for tests and the report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Delivery {
    /// Simulated ns since the start at which the consumer started the attempt.
    pub at: Nanos,
    /// The message (its index in the plan).
    pub seq: u64,
    /// Which consumer.
    pub consumer: u32,
    /// Its delivery number (1 = first).
    pub attempt: u32,
    /// Whether the attempt succeeded.
    pub ok: bool,
}

/// What the live run measured.
pub struct Measured {
    /// summary.json of the measured run.
    pub summary: Summary,
    /// timeseries.csv of the measured run.
    pub rows: Vec<Row>,
    /// Every delivery, in the order the consumers started them.
    pub deliveries: Vec<Delivery>,
    /// Messages published.
    pub published: u64,
    /// Wall seconds from the first publish to the last.
    pub publish_span: f64,
    /// How late publishes were against the plan, wall ms: (p50, p99, max).
    pub lateness_ms: (f64, f64, f64),
    /// Dead-lettered messages by their `x-death` reason.
    pub dead_reasons: Vec<(String, u64)>,
    /// Messages that left the queue unseen (no DLQ), counted at the end from the message
    /// identities: as dropped, expired or failed (delivery limit).
    pub inferred: u64,
    /// Publish-to-delivery hand-off with an idle consumer, wall ms (p50, p99), over the
    /// first deliveries of messages published while their consumer was idle.
    pub handoff_ms: Option<(f64, f64)>,
    /// How much longer than asked the consumers' sleeps took, wall ms (p50, p99).
    pub overshoot_ms: Option<(f64, f64)>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Fate {
    Planned,
    Sent,
    Accepted,
    Rejected,
    Completed,
    DeadLettered,
    Failed,
}

#[derive(Clone, Copy)]
struct Msg {
    produced: Nanos,
    fate: Fate,
    deliveries: u32,
    /// Its last attempt failed and it was nacked with requeue.
    requeued: bool,
    /// Delivered and not yet settled.
    out: bool,
    /// Prefetched by a consumer that has not started it.
    held: bool,
}

struct State {
    rec: Recorder,
    last: Nanos,
    msgs: Vec<Msg>,
    /// Messages the broker holds as far as the clients know: (produced, seq).
    waiting: BTreeSet<(Nanos, u64)>,
    depth: u64,
    busy: u64,
    held: u64,
    retry_service: Rng,
    retry_fail: Rng,
    deliveries: Vec<Delivery>,
    dead_reasons: Vec<(String, u64)>,
    lateness: Vec<f64>,
    handoff: Vec<f64>,
    overshoot: Vec<f64>,
    published: u64,
    first_publish: Option<Instant>,
    last_publish: Option<Instant>,
}

struct Shared {
    t0: Instant,
    speed: f64,
    state: Mutex<State>,
    ended: AtomicBool,
}

impl Shared {
    /// Simulated ns since the start, never going back (the recorder's gauges want order).
    fn now(&self, st: &mut State) -> Nanos {
        let t = (self.t0.elapsed().as_nanos() as f64 * self.speed) as Nanos;
        st.last = st.last.max(t);
        st.last
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wall(&self, sim: Nanos) -> Instant {
        self.t0 + Duration::from_secs_f64(sim as f64 / 1e9 / self.speed)
    }

    fn ended(&self) -> bool {
        self.ended.load(Ordering::SeqCst)
    }

    /// Keeps the clients' idea of the waiting messages no larger than the broker's count:
    /// the excess left from the head (dropped or expired unseen).
    fn oldest(&self, st: &mut State) -> Option<Nanos> {
        while st.waiting.len() as u64 > st.depth {
            st.waiting.pop_first();
        }
        st.waiting.first().map(|&(p, _)| p)
    }
}

type Fail = String;

/// Sleeps until `when` on a blocking thread: the OS timer overshoots by tens of
/// microseconds, where tokio's millisecond wheel overshoots by up to a millisecond, a
/// large share of a 20 ms service time.
async fn sleep_until(when: Instant) {
    if when <= Instant::now() {
        return;
    }
    let _ = tokio::task::spawn_blocking(move || {
        let now = Instant::now();
        if when > now {
            std::thread::sleep(when - now);
        }
    })
    .await;
}

fn amqp_err(what: &str) -> impl Fn(lapin::Error) -> Fail + '_ {
    move |e| format!("{what}: {e}")
}

fn header_u64(p: &BasicProperties, key: &str) -> Option<u64> {
    let h = p.headers().as_ref()?;
    match h.inner().get(key)? {
        AMQPValue::LongLongInt(v) => u64::try_from(*v).ok(),
        AMQPValue::LongUInt(v) => Some(u64::from(*v)),
        AMQPValue::LongInt(v) => u64::try_from(*v).ok(),
        _ => None,
    }
}

/// The first `x-death` entry's reason (`rejected`, `expired`, `maxlen`, `delivery_limit`).
fn death_reason(p: &BasicProperties) -> String {
    let reason = p
        .headers()
        .as_ref()
        .and_then(|h| match h.inner().get("x-death") {
            Some(AMQPValue::FieldArray(a)) => a.as_slice().first().and_then(|v| match v {
                AMQPValue::FieldTable(t) => match t.inner().get("reason") {
                    Some(AMQPValue::LongString(s)) => Some(s.to_string()),
                    Some(AMQPValue::ShortString(s)) => Some(s.to_string()),
                    _ => None,
                },
                _ => None,
            }),
            _ => None,
        });
    reason.unwrap_or_else(|| "unknown".into())
}

/// Connects to `uri` (bounded wait).
pub async fn connect(uri: &AMQPUri) -> Result<Connection, Fail> {
    match tokio::time::timeout(
        Duration::from_secs(5),
        Connection::connect_uri(uri.clone(), ConnectionProperties::default()),
    )
    .await
    {
        Ok(Ok(c)) => Ok(c),
        Ok(Err(e)) => Err(format!("cannot connect to the broker: {e}")),
        Err(_) => Err("cannot connect to the broker: no answer within 5 s".into()),
    }
}

/// Runs `s` live against the broker at `uri`.
pub async fn run(
    s: &Scenario,
    spec: &QueueSpec,
    plan: &[Planned],
    uri: &AMQPUri,
    speed: f64,
) -> Result<Measured, Fail> {
    let conn = connect(uri).await?;
    let admin = conn
        .create_channel()
        .await
        .map_err(amqp_err("cannot open a channel"))?;
    let unique = format!(
        "queuelab-live-{}-{}-{}",
        s.name,
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    );
    let queue = unique.clone();
    let dlq = format!("{unique}-dlq");
    let result = run_on(&conn, &admin, s, spec, plan, &queue, &dlq, speed).await;
    // The queues go whatever happened (a fresh channel: the run's may be closed).
    if let Ok(ch) = conn.create_channel().await {
        for q in [&queue, &dlq] {
            let _ = ch
                .queue_delete(q.as_str().into(), QueueDeleteOptions::default())
                .await;
        }
    }
    let _ = conn.close(200, "queuelab live: done".into()).await;
    result
}

#[allow(clippy::too_many_arguments)]
async fn run_on(
    conn: &Connection,
    admin: &Channel,
    s: &Scenario,
    spec: &QueueSpec,
    plan: &[Planned],
    queue: &str,
    dlq: &str,
    speed: f64,
) -> Result<Measured, Fail> {
    let durable = QueueDeclareOptions {
        durable: spec.quorum,
        ..QueueDeclareOptions::default()
    };
    // Both queues delete themselves two minutes after their last use if this process dies.
    let expires = |t: &mut FieldTable| {
        t.insert("x-expires".into(), AMQPValue::LongInt(120_000));
    };
    if spec.dlx {
        let mut a = FieldTable::default();
        expires(&mut a);
        admin
            .queue_declare(dlq.into(), QueueDeclareOptions::default(), a)
            .await
            .map_err(amqp_err("the broker refused the dead-letter queue"))?;
    }
    let mut args = FieldTable::default();
    expires(&mut args);
    if spec.quorum {
        args.insert(
            "x-queue-type".into(),
            AMQPValue::LongString("quorum".into()),
        );
    }
    if let Some(n) = spec.max_length {
        args.insert(
            "x-max-length".into(),
            AMQPValue::LongLongInt(i64::try_from(n).unwrap_or(i64::MAX)),
        );
    }
    if let Some(o) = spec.overflow {
        args.insert("x-overflow".into(), AMQPValue::LongString(o.into()));
    }
    if spec.dlx {
        args.insert(
            "x-dead-letter-exchange".into(),
            AMQPValue::LongString("".into()),
        );
        args.insert(
            "x-dead-letter-routing-key".into(),
            AMQPValue::LongString(dlq.into()),
        );
    }
    if let Some(n) = spec.delivery_limit {
        args.insert(
            "x-delivery-limit".into(),
            AMQPValue::LongInt(i32::try_from(n).unwrap_or(i32::MAX)),
        );
    }
    if let Some(t) = spec.ttl_ms {
        args.insert(
            "x-message-ttl".into(),
            AMQPValue::LongLongInt(i64::try_from(t).unwrap_or(i64::MAX)),
        );
    }
    if let Some(p) = spec.max_priority {
        args.insert("x-max-priority".into(), AMQPValue::ShortShortUInt(p));
    }
    admin
        .queue_declare(queue.into(), durable, args)
        .await
        .map_err(|e| format!("the broker refused the queue ({}): {e}", spec.describe()))?;

    let st = |x| rng::salted(s.seed, s.stream_salt, x);
    let mut state = State {
        rec: Recorder::new(s),
        last: 0,
        msgs: plan
            .iter()
            .map(|p| Msg {
                produced: p.at,
                fate: Fate::Planned,
                deliveries: 0,
                requeued: false,
                out: false,
                held: false,
            })
            .collect(),
        waiting: BTreeSet::new(),
        depth: 0,
        busy: 0,
        held: 0,
        retry_service: st(Stream::RetryService),
        retry_fail: st(Stream::RetryFailure),
        deliveries: Vec::new(),
        dead_reasons: Vec::new(),
        lateness: Vec::with_capacity(plan.len()),
        handoff: Vec::new(),
        overshoot: Vec::new(),
        published: 0,
        first_publish: None,
        last_publish: None,
    };
    state.rec.present.set(0, u64::from(s.consumers.count));
    // Consumers, each on its own channel, start first, as the model's are there at time 0.
    let mut consumers = Vec::new();
    for c in 0..s.consumers.count {
        let ch = conn
            .create_channel()
            .await
            .map_err(amqp_err("cannot open a consumer's channel"))?;
        ch.basic_qos(spec.prefetch, BasicQosOptions::default())
            .await
            .map_err(amqp_err("basic.qos"))?;
        let stream = ch
            .basic_consume(
                queue.into(),
                format!("queuelab-{c}").as_str().into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(amqp_err("basic.consume"))?;
        consumers.push((ch, stream));
    }
    let dl_stream = if spec.dlx {
        let ch = conn
            .create_channel()
            .await
            .map_err(amqp_err("cannot open the dead-letter channel"))?;
        let stream = ch
            .basic_consume(
                dlq.into(),
                "queuelab-dlq".into(),
                BasicConsumeOptions {
                    no_ack: true,
                    ..BasicConsumeOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(amqp_err("basic.consume on the dead-letter queue"))?;
        Some((ch, stream))
    } else {
        None
    };
    let pub_ch = conn
        .create_channel()
        .await
        .map_err(amqp_err("cannot open the publisher's channel"))?;
    pub_ch
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .map_err(amqp_err("confirm.select"))?;
    let poll_ch = conn
        .create_channel()
        .await
        .map_err(amqp_err("cannot open the polling channel"))?;

    // The clock starts now: everything above was set-up.
    let shared = Arc::new(Shared {
        t0: Instant::now(),
        speed,
        ended: AtomicBool::new(false),
        state: Mutex::new(state),
    });

    let downstream = Arc::new(Downstream::new(&s.downstream));
    let sampler = Sampler::new(&s.consumers.service);
    let mut tasks = Vec::new();
    for (c, (ch, mut stream)) in consumers.into_iter().enumerate() {
        let sh = shared.clone();
        let downstream = downstream.clone();
        let sampler = sampler.clone();
        let plan: Arc<Vec<Planned>> = Arc::new(plan.to_vec());
        let requeue = spec.requeue;
        let dlx = spec.dlx;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let reader_sh = shared.clone();
        // The reader takes deliveries off the channel as they arrive: a message it holds and
        // its consumer has not started is prefetched (in flight, not in the queue).
        tasks.push(tokio::spawn(async move {
            while let Some(d) = stream.next().await {
                let Ok(d) = d else { break };
                {
                    let mut g = reader_sh.lock();
                    g.held += 1;
                    if let Some(seq) = header_u64(&d.properties, SEQ) {
                        if let Some(m) = g.msgs.get_mut(seq as usize) {
                            m.held = true;
                            let key = (m.produced, seq);
                            g.waiting.remove(&key);
                        }
                    }
                }
                if tx.send(d).is_err() {
                    break;
                }
            }
        }));
        tasks.push(tokio::spawn(async move {
            let _ch = ch;
            let mut idle_since: Nanos = 0;
            while let Some(d) = rx.recv().await {
                if sh.ended() {
                    break;
                }
                let Some(seq) = header_u64(&d.properties, SEQ) else {
                    continue;
                };
                let Some(p) = plan.get(seq as usize).copied() else {
                    continue;
                };
                let (dur, ok) = {
                    let mut g = sh.lock();
                    let now = sh.now(&mut g);
                    g.held -= 1;
                    let st = &mut *g;
                    let m = &mut st.msgs[seq as usize];
                    m.deliveries += 1;
                    m.out = true;
                    m.held = false;
                    m.requeued = false;
                    let attempt = m.deliveries;
                    let produced = m.produced;
                    st.rec.c.attempts += 1;
                    let (base, u) = if attempt == 1 {
                        st.rec.first_attempt(now, produced, produced, p.priority);
                        // Published while this consumer was idle (and nothing ahead of
                        // it in its buffer): the delivery is the broker's hand-off alone.
                        if produced >= idle_since && st.held == 0 {
                            st.handoff.push((now - produced) as f64 / 1e6 / sh.speed);
                        }
                        (p.service, p.fail_u)
                    } else {
                        st.rec.c.retries += 1;
                        (
                            sampler.sample(&mut st.retry_service),
                            uniform(&mut st.retry_fail),
                        )
                    };
                    let a = downstream.attempt(now, base, u, p.poison);
                    if !a.ok {
                        st.rec.c.failed_attempts += 1;
                    }
                    st.busy += 1;
                    let busy = st.busy;
                    st.rec.busy.set(now, busy);
                    st.deliveries.push(Delivery {
                        at: now,
                        seq,
                        consumer: c as u32,
                        attempt,
                        ok: a.ok,
                    });
                    (a.duration, a.ok)
                };
                let asked = Duration::from_secs_f64(dur as f64 / 1e9 / sh.speed);
                let slept = Instant::now();
                sleep_until(slept + asked).await;
                let over = slept.elapsed().saturating_sub(asked).as_secs_f64() * 1e3;
                sh.lock().overshoot.push(over);
                if sh.ended() {
                    // Still in progress at the end: in flight, as the model counts it.
                    break;
                }
                let settle = if ok {
                    d.acker.ack(BasicAckOptions::default()).await
                } else {
                    d.acker
                        .nack(BasicNackOptions {
                            multiple: false,
                            requeue,
                        })
                        .await
                };
                let mut g = sh.lock();
                let now = sh.now(&mut g);
                idle_since = now;
                let st = &mut *g;
                st.busy -= 1;
                let busy = st.busy;
                st.rec.busy.set(now, busy);
                let m = &mut st.msgs[seq as usize];
                m.out = false;
                if settle.is_err() {
                    continue;
                }
                if ok {
                    m.fate = Fate::Completed;
                    let produced = m.produced;
                    st.rec.completed(now, produced, p.priority, 0, seq);
                } else if requeue {
                    m.requeued = true;
                    let key = (m.produced, seq);
                    st.waiting.insert(key);
                } else if !dlx {
                    m.fate = Fate::Failed;
                    st.rec.c.failed += 1;
                }
            }
        }));
    }
    if let Some((ch, mut stream)) = dl_stream {
        let sh = shared.clone();
        tasks.push(tokio::spawn(async move {
            let _ch = ch;
            while let Some(d) = stream.next().await {
                let Ok(d) = d else { break };
                if sh.ended() {
                    break;
                }
                let reason = death_reason(&d.properties);
                let mut g = sh.lock();
                let st = &mut *g;
                match st.dead_reasons.iter_mut().find(|(r, _)| *r == reason) {
                    Some((_, n)) => *n += 1,
                    None => st.dead_reasons.push((reason, 1)),
                }
                st.rec.c.dead_lettered += 1;
                if let Some(seq) = header_u64(&d.properties, SEQ) {
                    if let Some(m) = st.msgs.get_mut(seq as usize) {
                        let key = (m.produced, seq);
                        m.fate = Fate::DeadLettered;
                        st.waiting.remove(&key);
                    }
                }
            }
        }));
    }
    // The depth poller: the broker's own count of ready messages, by a passive declare.
    let poll_every = Duration::from_millis(5);
    {
        let sh = shared.clone();
        let q: ShortString = queue.into();
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(poll_every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                tick.tick().await;
                if sh.ended() {
                    break;
                }
                let Ok(info) = poll_ch
                    .queue_declare(
                        q.clone(),
                        QueueDeclareOptions {
                            passive: true,
                            ..QueueDeclareOptions::default()
                        },
                        FieldTable::default(),
                    )
                    .await
                else {
                    break;
                };
                let mut g = sh.lock();
                let now = sh.now(&mut g);
                g.depth = u64::from(info.message_count());
                let d = g.depth;
                g.rec.depth.set(now, d);
                if let Some(p) = sh.oldest(&mut g) {
                    g.rec.max_oldest = g.rec.max_oldest.max(now.saturating_sub(p));
                }
            }
        }));
    }
    // The sampler: one time-series row per sample_every.
    let samples = {
        let sh = shared.clone();
        let every = s.sample_every;
        let end = s.duration;
        let producers = s.producers.clone();
        let consumers = u64::from(s.consumers.count);
        tokio::spawn(async move {
            let mut k = 1u64;
            while k * every < end {
                let at = k * every;
                tokio::time::sleep_until(sh.wall(at).into()).await;
                let mut g = sh.lock();
                g.last = g.last.max(at);
                let now = g.last;
                let oldest = sh.oldest(&mut g);
                let rate: f64 = producers.iter().map(|p| p.rate_at(now)).sum();
                let gauges = Gauges {
                    queue_depth: g.depth,
                    oldest,
                    in_flight: g.busy + g.held,
                    retry_waiting: 0,
                    blocked: 0,
                    consumers,
                    offered_rate: rate,
                };
                g.rec.sample(now, gauges);
                k += 1;
            }
        })
    };

    // The publisher: each planned message at its time, confirmed by the broker.
    let mut confirms = Vec::with_capacity(plan.len());
    for (seq, p) in plan.iter().enumerate() {
        let when = shared.wall(p.at);
        sleep_until(when).await;
        let produced = {
            let mut g = shared.lock();
            let now = shared.now(&mut g);
            let late = Instant::now().saturating_duration_since(when).as_secs_f64() * 1e3;
            g.lateness.push(late);
            g.rec.produced(now, p.priority, Some(p.producer as usize));
            g.msgs[seq].produced = now;
            g.msgs[seq].fate = Fate::Sent;
            g.published += 1;
            let t = Instant::now();
            g.first_publish.get_or_insert(t);
            g.last_publish = Some(t);
            now
        };
        let mut headers = FieldTable::default();
        headers.insert(
            SEQ.into(),
            AMQPValue::LongLongInt(i64::try_from(seq).unwrap_or(i64::MAX)),
        );
        headers.insert(
            PUBLISHED.into(),
            AMQPValue::LongLongInt(i64::try_from(produced).unwrap_or(i64::MAX)),
        );
        let mut props = BasicProperties::default().with_headers(headers);
        if spec.max_priority.is_some() {
            props = props.with_priority(p.priority);
        }
        let confirm = pub_ch
            .basic_publish(
                "".into(),
                queue.into(),
                BasicPublishOptions::default(),
                b"queuelab",
                props,
            )
            .await
            .map_err(amqp_err("basic.publish"))?;
        let sh = shared.clone();
        let reject_dlx = spec.overflow == Some("reject-publish-dlx") && spec.dlx;
        confirms.push(tokio::spawn(async move {
            let c = confirm.await;
            let mut g = sh.lock();
            let now = sh.now(&mut g);
            let st = &mut *g;
            let m = &mut st.msgs[seq];
            match c {
                Ok(c) if c.is_ack() => {
                    if m.fate == Fate::Sent {
                        m.fate = Fate::Accepted;
                    }
                    if m.deliveries == 0 && !m.out {
                        st.waiting.insert((produced, seq as u64));
                    }
                    st.rec.c.accepted += 1;
                    st.rec.client_ok += 1;
                    st.rec.client(produced, now.saturating_sub(produced));
                }
                _ => {
                    st.rec.client_errors += 1;
                    st.rec.client(produced, 0);
                    if !reject_dlx {
                        m.fate = Fate::Rejected;
                        st.rec.c.rejected += 1;
                    }
                }
            }
        }));
    }
    // The end of the run.
    tokio::time::sleep_until(shared.wall(s.duration).into()).await;
    shared.ended.store(true, Ordering::SeqCst);
    let _ = samples.await;
    let at_end = admin
        .queue_declare(
            queue.into(),
            QueueDeclareOptions {
                passive: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .map_err(amqp_err("passive queue.declare at the end"))?;
    for c in confirms {
        let _ = tokio::time::timeout(Duration::from_secs(2), c).await;
    }
    // Dead-lettering is immediate on loopback; give the reader a moment for the last ones.
    tokio::time::sleep(Duration::from_millis(50)).await;

    let mut g = shared.lock();
    let st = &mut *g;
    let in_queue = u64::from(at_end.message_count());
    let in_flight = st.busy + st.held;
    st.rec.c.in_queue_at_end = in_queue;
    st.rec.c.in_flight_at_end = in_flight;
    st.depth = in_queue;
    // Messages accepted whose fate no client saw: RabbitMQ dropped them (max-length),
    // expired them (TTL) or discarded them at the delivery limit, without a DLQ to say so.
    let unseen: Vec<usize> = st
        .msgs
        .iter()
        .enumerate()
        .filter(|(_, m)| m.fate == Fate::Accepted && !m.out && !m.held)
        .map(|(i, _)| i)
        .collect();
    let accounted = st.rec.c.in_queue_at_end;
    let mut vanished = (unseen.len() as u64).saturating_sub(accounted);
    let mut inferred = 0;
    if let Some(limit) = spec.delivery_limit.filter(|_| !spec.dlx) {
        let gone = unseen
            .iter()
            .filter(|&&i| st.msgs[i].requeued && st.msgs[i].deliveries > limit)
            .count() as u64;
        let gone = gone.min(vanished);
        st.rec.c.failed += gone;
        vanished -= gone;
        inferred += gone;
    }
    if vanished > 0 && !spec.dlx {
        if s.queue.ttl.is_some() {
            st.rec.c.expired += vanished;
        } else {
            st.rec.c.dropped += vanished;
        }
        inferred += vanished;
    }
    // The last row, at the end.
    let end = s.duration;
    st.last = st.last.max(end);
    let oldest = {
        while st.waiting.len() as u64 > st.depth {
            st.waiting.pop_first();
        }
        st.waiting.first().map(|&(p, _)| p)
    };
    if let Some(p) = oldest {
        st.rec.max_oldest = st.rec.max_oldest.max(end.saturating_sub(p));
    }
    if s.duration % s.sample_every == 0 {
        let gauges = Gauges {
            queue_depth: in_queue,
            oldest,
            in_flight,
            retry_waiting: 0,
            blocked: 0,
            consumers: u64::from(s.consumers.count),
            offered_rate: s.producers.iter().map(|p| p.rate_at(end)).sum(),
        };
        st.rec.sample(end, gauges);
    }
    let rec = std::mem::replace(&mut st.rec, Recorder::new(s));
    let deliveries = std::mem::take(&mut st.deliveries);
    let mut lateness = std::mem::take(&mut st.lateness);
    let mut handoff = std::mem::take(&mut st.handoff);
    let mut overshoot = std::mem::take(&mut st.overshoot);
    let dead_reasons = std::mem::take(&mut st.dead_reasons);
    let published = st.published;
    let publish_span = match (st.first_publish, st.last_publish) {
        (Some(a), Some(b)) => b.duration_since(a).as_secs_f64(),
        _ => 0.0,
    };
    drop(g);
    for t in tasks {
        t.abort();
    }
    let q = |v: &mut Vec<f64>, p: f64| -> f64 {
        if v.is_empty() {
            return 0.0;
        }
        v.sort_by(f64::total_cmp);
        v[((v.len() - 1) as f64 * p).round() as usize]
    };
    let lateness_ms = (
        q(&mut lateness, 0.5),
        q(&mut lateness, 0.99),
        lateness.last().copied().unwrap_or(0.0),
    );
    let handoff_ms = (!handoff.is_empty()).then(|| (q(&mut handoff, 0.5), q(&mut handoff, 0.99)));
    let overshoot_ms =
        (!overshoot.is_empty()).then(|| (q(&mut overshoot, 0.5), q(&mut overshoot, 0.99)));
    let (tally, rows) = rec.close(end);
    let cost = s.cost.map(|p| {
        let consumer_hours = f64::from(s.consumers.count) * end as f64 / 1e9 / 3600.0;
        CostStats::new(consumer_hours, tally.counts.attempts, &p)
    });
    let summary = tally.summary(
        &rows,
        Context {
            scenario: s,
            capacity: s.queue.capacity,
            sync: false,
            events: 0,
            stopped: None,
            broker: BrokerStats::of_kind(s.broker.name(), None),
            cost,
        },
    );
    Ok(Measured {
        summary,
        rows,
        deliveries,
        published,
        publish_span,
        lateness_ms,
        dead_reasons,
        inferred,
        handoff_ms,
        overshoot_ms,
    })
}
