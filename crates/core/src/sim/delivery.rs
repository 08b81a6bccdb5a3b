//! What the broker kinds add to the event loop (`[broker]`, see `sim::broker` for the
//! failure rules): ordered lanes (SQS FIFO groups, Kafka partitions), the FIFO throughput
//! limit, Kafka rebalances and lag, prefetch and batch buffers (RabbitMQ, SQS), and a
//! producer's second publishes with the brokers' deduplication.

use super::kinds::Semantics;
use super::{Ev, Sim};
use crate::model::message::Msg;
use crate::model::queue::Entry;
use crate::model::{ConsumerId, MessageId};
use crate::rng::uniform;
use crate::time::Nanos;
use std::collections::VecDeque;

impl<K: Semantics> Sim<'_, K> {
    /// The consumer group changed: lanes are dealt again (Kafka), and consumption pauses
    /// if the kind says so.
    pub(super) fn rebalance(&mut self) {
        self.reassign();
        if K::PUSHES {
            self.push_members();
        }
        if let Some(until) = self.kind.members_changed(self.now) {
            self.events.push(until, Ev::ConsumersUp);
        }
    }

    /// Kafka: partitions are dealt round-robin to the consumers that exist now.
    pub(super) fn reassign(&mut self) {
        if K::ASSIGNS_LANES {
            let members = self.pool.members();
            self.queue.assign(&members);
        }
    }

    /// The ordered lane (message group or partition), or priority tier, of message `id`.
    #[inline]
    pub(super) fn lane_of(&self, id: MessageId) -> usize {
        self.kind.lane(self.msgs.get(id), self.s.queue.priority)
    }

    /// Ordered queues: message `id` no longer holds its lane.
    #[inline]
    pub(super) fn release_lane(&mut self, id: MessageId) {
        if self.queue.is_ordered() {
            let lane = self.lane_of(id);
            self.queue.unlock(lane);
        }
    }

    /// Ordered queues: message `id` goes back to the head of its lane (received again), and
    /// the lane may give it out.
    pub(super) fn rejoin_front(&mut self, id: MessageId) {
        let lane = self.push_front(id);
        self.queue.unlock(lane);
        self.wake_consumers();
    }

    /// Puts message `id` back at the head of its lane (or tier); returns the lane.
    pub(super) fn push_front(&mut self, id: MessageId) -> usize {
        let (produced, lane) = (self.msgs.get(id).produced, self.lane_of(id));
        self.queue.push_front(
            Entry {
                produced,
                id,
                call: 0,
            },
            lane,
        );
        self.rec.depth.set(self.now, self.queue.len() as u64);
        if K::TTL_TIMER {
            self.arm_ttl();
        }
        lane
    }

    /// RabbitMQ prefetch: consumer `c` fills its buffer from the head of the queue
    /// (messages whose TTL ran out at the head expire instead).
    #[inline]
    pub(super) fn top_up(&mut self, c: ConsumerId) {
        if self.prefetch_extra > 0 {
            self.fill_buffer(c);
        }
    }

    fn fill_buffer(&mut self, c: ConsumerId) {
        let c = c.index();
        if self.buffers.len() <= c {
            self.buffers.resize_with(c + 1, VecDeque::new);
        }
        while self.buffers[c].len() < self.prefetch_extra {
            let Some(e) = self.pop_queue() else { break };
            if self.expired(e.produced) {
                self.expire(e.id);
                continue;
            }
            self.buffers[c].push_back(e.id);
            self.buffered += 1;
        }
    }

    /// RabbitMQ prefetch: consumer `c` is gone (crashed, or scaled in); its prefetched
    /// messages go back to the head of the queue in order, marked redelivered.
    pub(super) fn requeue_buffer(&mut self, c: ConsumerId) {
        let Some(buf) = self.buffers.get_mut(c.index()) else {
            return;
        };
        let mut buf = std::mem::take(buf);
        self.buffered -= buf.len() as u64;
        // Last first, so that they end up at the head in their delivery order.
        while let Some(id) = buf.pop_back() {
            self.push_front(id);
            self.rec.c.redeliveries += 1;
        }
        self.buffers[c.index()] = buf;
    }

    /// The producer of message `id` publishes it again `delay` later (a retry after a lost
    /// ack): a copy with the same payload, key and production time, and its own draws.
    pub(super) fn publish_again(&mut self, id: MessageId, delay: Nanos) {
        let o = *self.msgs.get(id);
        let service = self.sampler.sample(&mut self.rng.dup);
        let u = uniform(&mut self.rng.dup);
        let mut m = Msg::new(o.produced, service, u);
        m.key = o.key;
        m.priority = o.priority;
        m.poison = o.poison;
        m.dup = true;
        let copy = self.msgs.alloc(m);
        self.events
            .push(self.now.saturating_add(delay), Ev::Duplicate(copy));
    }

    /// The copy reaches the broker: produced (a second publish); dropped by a broker that
    /// deduplicates, else stored like any message.
    pub(super) fn on_duplicate(&mut self, id: MessageId) {
        // Its place in its key's order is where it is published now.
        self.msgs.get_mut(id).seq = self.rec.c.produced;
        let m = self.msgs.get(id);
        self.rec.produced(m.produced, m.priority, None);
        if self
            .kind
            .dedups(self.now.saturating_sub(m.produced + self.shift))
        {
            self.rec.c.deduplicated += 1;
            self.msgs.free(id);
        } else {
            self.arrive(id);
        }
    }
}
