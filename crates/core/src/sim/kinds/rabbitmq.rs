//! `rabbitmq`: a RabbitMQ queue (classic or quorum), checked against RabbitMQ 3.10.8.
//!
//! Everything the kind does is in this file: the [`Semantics`] hooks, and the push
//! delivery the loop hands over to (the `impl Sim` block below).
//!
//! - Push with credit: the queue delivers each message to the next consumer that has a
//!   free prefetch slot (`prefetch` unacknowledged messages, the one it works on
//!   included), in strict round robin, whether that consumer is idle or busy; a message
//!   waits in the queue only while no consumer has credit. A consumer works through what
//!   was delivered to it in order, so with a large prefetch the wait moves from the queue
//!   into the consumers' buffers.
//! - Hand-off: a message delivered as it arrives reaches its consumer
//!   `publish_to_deliver` later (0.9 ms measured); one delivered because a consumer acked
//!   or nacked `ack_to_deliver` later (0.2 ms). With prefetch 1 a consumer waits that long
//!   between messages; with more, the next one is already there.
//! - A nacked message is requeued at the head (`requeue`) and goes to the next consumer
//!   with credit, which is another one when another has room. A quorum queue's
//!   `delivery_limit` (x-delivery-limit = N) dead-letters it after N + 1 deliveries;
//!   without requeue it is dead-lettered at once. The retry budget does not apply.
//! - A consumer that dies (crash) or leaves (scaled in) returns its unacknowledged
//!   messages to the head at once, in delivery order (no visibility timeout); a quorum
//!   queue dead-letters one past its delivery limit instead.
//! - A full queue (`queue.capacity` = max-length) drops its head, the highest-priority
//!   message, dead-lettering it when a DLX is set (`dlq.enabled`) — RabbitMQ's default
//!   `drop-head`; or refuses the publisher (`reject-publish`), dead-lettering the message
//!   with `reject-publish-dlx`.
//! - Message TTL expires messages at the head on a timer, consumers or not.

use super::{AfterFailure, Semantics};
use crate::model::message::Msg;
use crate::model::retry::Policy;
use crate::model::{ConsumerId, MessageId};
use crate::scenario::Scenario;
use crate::sim::{Ev, Sim};
use crate::time::Nanos;
use std::collections::VecDeque;

/// A RabbitMQ queue.
pub(crate) struct RabbitMq {
    /// Nack with requeue (else dead-letter).
    pub(crate) requeue: bool,
    /// x-delivery-limit: dead-lettered after this many + 1 deliveries.
    pub(crate) delivery_limit: Option<u32>,
    /// reject-publish-dlx.
    pub(crate) dlx_on_reject: bool,
    /// The consumers' credit and what was delivered to each.
    pub(crate) push: Push,
}

impl RabbitMq {
    pub(crate) fn new(
        s: &Scenario,
        requeue: bool,
        delivery_limit: Option<u32>,
        dlx_on_reject: bool,
        prefetch: u32,
        hops: (Nanos, Nanos),
    ) -> Self {
        RabbitMq {
            requeue,
            delivery_limit,
            dlx_on_reject,
            push: Push::new(s, prefetch, hops, delivery_limit),
        }
    }
}

/// Past x-delivery-limit: a message delivered `attempts` times goes to the DLX.
fn past_limit(limit: Option<u32>, attempts: u32) -> bool {
    limit.is_some_and(|l| attempts > l)
}

impl Semantics for RabbitMq {
    const PUSHES: bool = true;
    const TTL_TIMER: bool = true;

    fn push(&mut self) -> Option<&mut Push> {
        Some(&mut self.push)
    }

    fn refused_dead_letters(&self) -> bool {
        self.dlx_on_reject
    }

    fn evicts_head(&self) -> bool {
        true
    }

    fn evicted_dead_letters(&self) -> bool {
        true
    }

    fn after_failure(&self, m: &Msg, _: Nanos, _: &Policy) -> AfterFailure {
        if !self.requeue || past_limit(self.delivery_limit, m.attempts) {
            AfterFailure::GiveUp
        } else {
            AfterFailure::RequeueHead
        }
    }
}

/// Push delivery: each consumer's credit and the messages delivered to it. Every buffer is
/// allocated at the start for the most consumers the run can have; nothing is allocated
/// per message.
pub(crate) struct Push {
    prefetch: u32,
    /// Broker to consumer for a message delivered as it arrives.
    publish_hop: Nanos,
    /// Broker to consumer for a message delivered because a consumer settled one.
    ack_hop: Nanos,
    limit: Option<u32>,
    /// Per consumer slot: delivered, not started, in order: (message, when it reaches the
    /// consumer).
    rings: Vec<VecDeque<(MessageId, Nanos)>>,
    /// Per slot: unacknowledged messages (the one in progress included).
    held: Vec<u32>,
    /// Per slot: idle, waiting for the head of its ring to arrive (a `Handoff` is due).
    waiting: Vec<bool>,
    /// Per slot: the consumer exists.
    member: Vec<bool>,
    /// Consumers with credit in round-robin order; an entry whose consumer has no credit
    /// or is gone is skipped when it comes up.
    ready: VecDeque<ConsumerId>,
    /// Per slot: has an entry in `ready`.
    queued: Vec<bool>,
    /// When the pending TTL timer fires, if one is.
    ttl_at: Option<Nanos>,
}

impl Push {
    fn new(s: &Scenario, prefetch: u32, hops: (Nanos, Nanos), limit: Option<u32>) -> Self {
        let count = s.consumers.count as usize;
        let slots = s.autoscale.map_or(count, |a| count.max(a.max as usize));
        let ring = ring_capacity(prefetch, slots);
        let mut p = Push {
            prefetch,
            publish_hop: hops.0,
            ack_hop: hops.1,
            limit,
            rings: (0..slots).map(|_| VecDeque::with_capacity(ring)).collect(),
            held: vec![0; slots],
            waiting: vec![false; slots],
            member: vec![false; slots],
            ready: VecDeque::with_capacity(slots + 1),
            queued: vec![false; slots],
            ttl_at: None,
        };
        for c in 0..count {
            p.member[c] = true;
            p.requeue_credit(ConsumerId::from_index(c));
        }
        p
    }

    /// Makes room for slot `c` (a consumer added past the expected maximum).
    fn ensure(&mut self, c: usize) {
        if self.held.len() <= c {
            let n = c + 1;
            let ring = ring_capacity(self.prefetch, n);
            self.rings.resize_with(n, || VecDeque::with_capacity(ring));
            self.held.resize(n, 0);
            self.waiting.resize(n, false);
            self.member.resize(n, false);
            self.queued.resize(n, false);
        }
    }

    fn has_credit(&self, c: ConsumerId) -> bool {
        self.member[c.index()] && self.held[c.index()] < self.prefetch
    }

    /// Consumer `c` may have credit again: it joins the round robin's tail.
    fn requeue_credit(&mut self, c: ConsumerId) {
        if self.has_credit(c) && !self.queued[c.index()] {
            self.queued[c.index()] = true;
            self.ready.push_back(c);
        }
    }

    /// The next consumer with credit in round-robin order (skipping stale entries).
    fn front(&mut self) -> Option<ConsumerId> {
        while let Some(&c) = self.ready.front() {
            if self.has_credit(c) {
                return Some(c);
            }
            self.ready.pop_front();
            self.queued[c.index()] = false;
        }
        None
    }

    /// Consumer `c`, at the front, is given a message: it goes to the tail if it still has
    /// credit.
    fn rotate(&mut self, c: ConsumerId) {
        if self.ready.front() == Some(&c) {
            self.ready.pop_front();
            self.queued[c.index()] = false;
        }
        self.requeue_credit(c);
    }
}

/// Entries preallocated per consumer's ring: its prefetch, up to 64, and at most about 4
/// million over all consumers (64 MiB); a ring that fills beyond grows (doubling), so it
/// allocates a few times at most over a run, never per message.
fn ring_capacity(prefetch: u32, slots: usize) -> usize {
    (prefetch as usize)
        .min(64)
        .min((1 << 22) / slots.max(1))
        .max(1)
}

/// The push state of a kind that pushes (`K::PUSHES`); returns from the caller otherwise.
macro_rules! push {
    ($sim:expr) => {
        match $sim.kind.push() {
            Some(p) => p,
            None => return,
        }
    };
    ($sim:expr, $none:expr) => {
        match $sim.kind.push() {
            Some(p) => p,
            None => return $none,
        }
    };
}

impl<K: Semantics> Sim<'_, K> {
    /// A new message reaches the broker: when nothing waits and a consumer has credit, it
    /// is stored and delivered to the next such consumer (true); else the caller queues it.
    pub(in crate::sim) fn push_arrival(&mut self, id: MessageId) -> bool {
        if !self.queue.is_empty() || push!(self, false).front().is_none() {
            return false;
        }
        if self.gated && !self.admit_consumer() {
            return false;
        }
        let Some(c) = push!(self, false).front() else {
            return false;
        };
        self.store(id);
        let hop = push!(self, false).publish_hop;
        self.deliver(c, id, hop);
        true
    }

    /// The queue gives its head to consumers with credit, in round-robin order, until it
    /// is empty or none has credit (messages whose TTL ran out at the head expire).
    pub(in crate::sim) fn dispatch(&mut self) {
        while let Some(produced) = self.queue.front().map(|e| e.produced) {
            if self.expired(produced) {
                if let Some(e) = self.pop_queue() {
                    self.expire(e.id);
                }
                continue;
            }
            let Some(c) = push!(self).front() else {
                return;
            };
            if self.gated && !self.admit_consumer() {
                return;
            }
            let Some(e) = self.pop_queue() else { return };
            let hop = push!(self).ack_hop;
            self.deliver(c, e.id, hop);
        }
    }

    /// Message `id` goes to consumer `c` (which has credit), reaching it `hop` from now,
    /// behind what was delivered to it before.
    fn deliver(&mut self, c: ConsumerId, id: MessageId, hop: Nanos) {
        let now = self.now;
        let p = push!(self);
        let i = c.index();
        p.held[i] += 1;
        let at = p.rings[i]
            .back()
            .map_or(now + hop, |&(_, t)| t.max(now + hop));
        p.rings[i].push_back((id, at));
        p.rotate(c);
        let idle = p.rings[i].len() == 1 && !p.waiting[i];
        #[cfg(test)]
        tests::TRACE.with(|t| t.borrow_mut().push((c.0, self.msgs.get(id).seq, now)));
        self.buffered += 1;
        // An idle consumer starts it when it lands; a busy one when it gets to it.
        if idle && self.pool.take_if_idle(c) {
            self.next_delivered(c);
        }
    }

    /// Consumer `c` (taken) starts the first message delivered to it if it has landed;
    /// otherwise it idles until it does (a `Handoff`), or until it is given one.
    fn next_delivered(&mut self, c: ConsumerId) {
        let now = self.now;
        let p = push!(self);
        let i = c.index();
        match p.rings[i].front().copied() {
            Some((id, at)) if at <= now => {
                p.rings[i].pop_front();
                self.buffered -= 1;
                self.rec.receives += 1;
                self.start(c, id, 0);
            }
            Some((_, at)) => {
                p.waiting[i] = true;
                self.pool.release(c);
                self.rec.busy.set(now, self.pool.busy() as u64);
                self.events.push(at, Ev::Handoff(c));
            }
            None => {
                self.pool.release(c);
                self.rec.busy.set(now, self.pool.busy() as u64);
            }
        }
    }

    /// The message consumer `c` waited for has landed.
    pub(in crate::sim) fn on_handoff(&mut self, c: ConsumerId) {
        let now = self.now;
        let p = push!(self);
        let i = c.index();
        let due = i < p.waiting.len()
            && p.waiting[i]
            && p.member[i]
            && p.rings[i].front().is_some_and(|&(_, at)| at == now);
        if !due {
            return;
        }
        p.waiting[i] = false;
        if self.pool.take_if_idle(c) {
            self.next_delivered(c);
        }
    }

    /// Consumer `c` settled the message it worked on (acked, nacked, dead-lettered, or
    /// returned by a crash): its credit returns, the queue dispatches, and it goes on with
    /// what was delivered to it (or leaves, when scaled in).
    pub(in crate::sim) fn push_settled(&mut self, c: ConsumerId) {
        let p = push!(self);
        let i = c.index();
        p.held[i] = p.held[i].saturating_sub(1);
        if self.pool.retire_if_due(c) {
            self.return_delivered(c);
            let p = push!(self);
            p.member[i] = false;
            p.held[i] = 0;
            self.rec.present.set(self.now, self.pool.present() as u64);
            self.rec.busy.set(self.now, self.pool.busy() as u64);
            self.dispatch();
            return;
        }
        push!(self).requeue_credit(c);
        self.dispatch();
        self.next_delivered(c);
    }

    /// Consumer `c` is gone: the messages delivered to it and not started go back to the
    /// head of the queue in delivery order, counted as redeliveries (a quorum queue
    /// dead-letters one past its delivery limit).
    fn return_delivered(&mut self, c: ConsumerId) {
        let i = c.index();
        // Last first, so that they end up at the head in their delivery order.
        while let Some((id, _)) = push!(self).rings[i].pop_back() {
            push!(self).held[i] -= 1;
            self.buffered -= 1;
            self.return_one(id);
        }
        push!(self).waiting[i] = false;
    }

    /// One unacknowledged message returns to the head (or past its delivery limit, to the
    /// DLX).
    fn return_one(&mut self, id: MessageId) {
        let limit = push!(self).limit;
        self.rec.c.redeliveries += 1;
        if past_limit(limit, self.msgs.get(id).attempts) {
            self.give_up(id);
        } else {
            self.push_front(id);
        }
    }

    /// Consumer `c` died while it worked on `id` after its side effect, before the ack:
    /// its channel closes, and everything it had not acked returns to the head at once,
    /// `id` first. The caller settles `c` (a fresh consumer takes its place).
    pub(in crate::sim) fn crashed(&mut self, c: ConsumerId, id: MessageId) {
        self.return_delivered(c);
        self.return_one(id);
    }

    /// The consumer group changed (autoscaling): slots that left return what was delivered
    /// to them; new ones join the round robin with full credit.
    pub(in crate::sim) fn push_members(&mut self) {
        let members = self.pool.members();
        let slots = members.iter().map(|m| m.index() + 1).max().unwrap_or(0);
        let p = push!(self);
        p.ensure(slots.max(p.held.len()).saturating_sub(1));
        let n = p.member.len();
        for i in 0..n {
            let c = ConsumerId::from_index(i);
            let now_member = members.binary_search(&c).is_ok();
            let p = push!(self);
            if p.member[i] && !now_member {
                self.return_delivered(c);
                let p = push!(self);
                p.member[i] = false;
                p.held[i] = 0;
            } else if !p.member[i] && now_member {
                p.member[i] = true;
                p.held[i] = 0;
                p.requeue_credit(c);
            }
        }
    }

    /// Message TTL on a timer: arms it for the head's expiry if nothing earlier is due.
    pub(in crate::sim) fn arm_ttl(&mut self) {
        let Some(at) = self.queue.front().and_then(|e| self.expires_at(e.produced)) else {
            return;
        };
        let at = at.max(self.now);
        let now = self.now;
        let p = push!(self);
        if p.ttl_at.is_none_or(|t| at < t || t < now) {
            p.ttl_at = Some(at);
            self.events.push(at, Ev::TtlTimer);
        }
    }

    /// The TTL timer fires: messages whose TTL ran out at the head expire, consumers or
    /// not; the timer is armed for the next head.
    pub(in crate::sim) fn on_ttl_timer(&mut self) {
        let now = self.now;
        let p = push!(self);
        if p.ttl_at != Some(now) {
            return;
        }
        p.ttl_at = None;
        while let Some(produced) = self.queue.front().map(|e| e.produced) {
            if !self.expired(produced) {
                break;
            }
            if let Some(e) = self.pop_queue() {
                self.expire(e.id);
            }
        }
        self.arm_ttl();
    }
}

#[cfg(test)]
mod tests {
    use crate::guard::Limits;
    use crate::scenario::{parse, Overrides};
    use std::cell::RefCell;

    thread_local! {
        /// Every delivery of the run on this thread: (consumer, message's production
        /// sequence number, when).
        pub(super) static TRACE: RefCell<Vec<(u32, u64, u64)>> = const { RefCell::new(Vec::new()) };
    }

    /// Runs `text`'s base scenario and returns its deliveries.
    fn deliveries(text: &str) -> (crate::metrics::Summary, Vec<(u32, u64, u64)>) {
        TRACE.with(|t| t.borrow_mut().clear());
        let f = parse(text, "t.toml", &Overrides::default()).unwrap();
        let r = crate::sim::kinds::run(&f.base, &Limits::default());
        (r.summary, TRACE.with(|t| t.borrow_mut().split_off(0)))
    }

    const BASE: &str = r#"
name = "t"
seed = 5
duration = "60s"
[[producers]]
arrivals = "constant"
rate = 2.0
[consumers]
count = 2
service = { dist = "constant", value = "10ms" }
[downstream]
failure_rate = 0.5
[broker]
kind = "rabbitmq"
"#;

    /// Point 1: with two idle consumers, a nacked message goes back to the head and to the
    /// other consumer (the next with credit), every time.
    #[test]
    fn a_nacked_message_goes_to_the_next_consumer_with_credit() {
        let (s, trace) = deliveries(BASE);
        assert!(s.counts.retries > 20, "{}", s.counts.retries);
        let mut redeliveries = 0;
        for w in trace.windows(2) {
            let ((c0, m0, _), (c1, m1, _)) = (w[0], w[1]);
            if m0 == m1 {
                redeliveries += 1;
                assert_ne!(
                    c0, c1,
                    "message {m0} redelivered to the consumer that nacked it"
                );
            }
        }
        assert_eq!(redeliveries, s.counts.retries);
    }

    /// Point 6: strict round robin: each consumer gets every 4th message (the measured
    /// 1501/1501/1501/1500), busy or not.
    #[test]
    fn prefetch_pushes_arrivals_round_robin() {
        let text = BASE
            .replace("arrivals = \"constant\"\nrate = 2.0", "rate = 150.0")
            .replace("count = 2", "count = 4")
            .replace(
                "{ dist = \"constant\", value = \"10ms\" }",
                "{ dist = \"exponential\", mean = \"20ms\" }",
            )
            .replace("failure_rate = 0.5", "failure_rate = 0.0")
            .replace("kind = \"rabbitmq\"", "kind = \"rabbitmq\"\nprefetch = 50");
        let (_, trace) = deliveries(&text);
        let mut per = [0u64; 4];
        for (i, &(c, _, _)) in trace.iter().enumerate() {
            per[c as usize] += 1;
            assert_eq!(c as usize, i % 4, "delivery {i}");
        }
        assert!(
            per.iter().max().unwrap() - per.iter().min().unwrap() <= 1,
            "{per:?}"
        );
    }
}
