//! The async path: a broker between the caller and the consumers.
//!
//! - A new message is stored if there is room (the caller's answer is the broker's ack,
//!   `enqueue_latency` after production); a full queue rejects it, evicts the oldest
//!   waiting message (`drop-oldest`) or makes the caller wait (`block`). With
//!   `capacity = 0` every policy refuses a message that finds every consumer busy.
//! - A failed attempt is retried after its backoff, waiting outside the queue and then
//!   rejoining its tail (`retry.in = "queue"`), or inside the consumer, which sleeps and
//!   holds its slot (`retry.in = "consumer"`). After `max_attempts` it goes to the DLQ
//!   (or counts as failed with the DLQ disabled).
//! - A retry or redelivery that finds the queue full under `reject` or `block` cannot be
//!   stored: it is dead-lettered (or failed) and counted in `retry_refused`. Under
//!   `drop-oldest` it evicts the oldest waiting message like any arrival.
//! - A consumer that crashes after the side effect, before the ack, is replaced at once;
//!   its message becomes visible again `visibility_timeout` after it was received and is
//!   delivered again (a redelivery), which repeats the side effect unless idempotent.
//!
//! Broker kinds (`[broker]`) change these rules (the queue side is in
//! `model::queue`'s ordered lanes):
//! - `sqs`: a failed message becomes visible again a visibility timeout after it was
//!   received, at the tail; after `max_receive_count` receives it is redriven to the DLQ.
//! - `sqs-fifo`: the same, but at the head of its message group, which stays blocked until
//!   then; each group gives out one message at a time; starts are spaced by the throughput
//!   limit.
//! - `rabbitmq`: a failed message is requeued at the head at once until `delivery_limit`,
//!   or dead-lettered; `reject-publish-dlx` dead-letters refused messages.
//! - `kafka`: partitions give out one message at a time; a retry in the consumer holds the
//!   partition, a retry through the queue releases it and republishes to its tail; a crash
//!   redelivers at the partition's head.

use super::kinds::{AfterFailure, Semantics};
use super::{Ev, Sim};
use crate::model::{ConsumerId, MessageId};
use crate::rng::uniform;
use crate::scenario::{Overflow, RetryPlace};

impl<K: Semantics> Sim<'_, K> {
    /// A new message reaches the broker.
    pub(super) fn arrive(&mut self, id: MessageId) {
        self.msgs.get_mut(id).arrived = self.now;
        if K::PUSHES && self.push_arrival(id) {
            return;
        }
        if let Some(c) = self.idle_for_new() {
            self.store(id);
            self.start(c, id, 0);
        } else if self.queue.has_room() {
            self.store(id);
            self.push_queue(id, 0);
        } else {
            let bounded_room = self.s.queue.capacity.is_some_and(|c| c > 0);
            match self.s.queue.overflow {
                Overflow::DropOldest if bounded_room && self.arrival_becomes_head(id) => {
                    // RabbitMQ's drop-head stores the message, then drops the head: a message
                    // that outranks every waiting one is that head, and goes at once.
                    self.store(id);
                    self.shed(id);
                }
                Overflow::DropOldest if bounded_room => {
                    self.evict_oldest();
                    self.store(id);
                    self.push_queue(id, 0);
                }
                Overflow::Block if bounded_room => self.blocked.push_back(id),
                // reject-publish-dlx with nowhere to dead-letter (no DLQ): a plain refusal.
                _ if self.kind.refused_dead_letters() && self.s.dlq_enabled => {
                    // reject-publish-dlx: the publisher is refused, the message dead-lettered.
                    self.rec.c.dead_lettered += 1;
                    self.rec.client_errors += 1;
                    let produced = self.msgs.get(id).produced;
                    self.rec.client(produced, 0);
                    self.msgs.free(id);
                }
                _ => {
                    self.rec.c.rejected += 1;
                    self.rec.client_errors += 1;
                    let produced = self.msgs.get(id).produced;
                    self.rec.client(produced, 0);
                    self.msgs.free(id);
                }
            }
        }
    }

    /// The broker accepts message `id`: the caller gets its ack now.
    pub(super) fn store(&mut self, id: MessageId) {
        self.rec.c.accepted += 1;
        self.rec.client_ok += 1;
        let produced = self.msgs.get(id).produced;
        self.rec.client(produced, self.now - produced);
    }

    /// drop-oldest: sheds the lowest tier's oldest message (RabbitMQ's drop-head: the head,
    /// dead-lettered when there is a DLQ).
    fn evict_oldest(&mut self) {
        let e = if self.kind.evicts_head() {
            self.pop_queue()
        } else {
            self.pop_queue_lowest()
        };
        if let Some(e) = e {
            self.shed(e.id);
        }
    }

    /// Drop-head with a priority queue (RabbitMQ): whether the arriving message `id`
    /// outranks every waiting message, so that it would be the head once stored.
    fn arrival_becomes_head(&self, id: MessageId) -> bool {
        self.kind.evicts_head()
            && self.s.queue.priority
            && self
                .queue
                .front()
                .is_some_and(|h| self.msgs.get(id).priority > self.msgs.get(h.id).priority)
    }

    /// A message shed by overflow: dropped, or dead-lettered where the kind does so and
    /// there is a DLQ (RabbitMQ's drop-head with a DLX, reason maxlen).
    fn shed(&mut self, id: MessageId) {
        if self.kind.evicted_dead_letters() && self.s.dlq_enabled {
            self.rec.c.dead_lettered += 1;
        } else {
            self.rec.c.dropped += 1;
        }
        self.msgs.free(id);
    }

    /// A slot opened in the queue: the first blocked caller's message is stored.
    pub(super) fn unblock_one(&mut self) {
        if self.queue.has_room() {
            if let Some(id) = self.blocked.pop_front() {
                self.store(id);
                self.push_queue(id, 0);
            }
        }
    }

    /// A retried or redelivered message comes back to the queue.
    pub(super) fn rejoin(&mut self, id: MessageId) {
        if let Some(c) = self.idle_for_new() {
            self.start(c, id, 0);
        } else if self.queue.has_room() {
            self.push_queue(id, 0);
        } else if self.s.queue.overflow == Overflow::DropOldest
            && self.s.queue.capacity.is_some_and(|c| c > 0)
        {
            self.evict_oldest();
            self.push_queue(id, 0);
        } else {
            self.rec.c.retry_refused += 1;
            self.give_up(id);
        }
    }

    /// Retries exhausted (or refused): DLQ, or failed without one.
    pub(super) fn give_up(&mut self, id: MessageId) {
        self.release_lane(id);
        if self.s.dlq_enabled {
            self.rec.c.dead_lettered += 1;
        } else {
            self.rec.c.failed += 1;
        }
        self.msgs.free(id);
    }

    /// Consumer `c` finished an attempt (async).
    pub(super) fn async_done(&mut self, c: ConsumerId) {
        let slot = *self.pool.slot(c);
        let id = slot.msg;
        self.breaker_outcome(slot.ok);
        if slot.ok {
            self.side_effect(id);
            let crash = self.s.delivery.crash_rate;
            if crash > 0.0 && uniform(&mut self.rng.crash) < crash {
                self.rec.c.crashes += 1;
                if K::PUSHES {
                    // RabbitMQ: its channel closes; what it had not acked returns at once.
                    self.crashed(c, id);
                } else {
                    // The broker takes back what the dead consumer held.
                    self.requeue_buffer(c);
                    self.invisible += 1;
                    let visible_at = (self.msgs.get(id).received
                        + self.s.delivery.visibility_timeout)
                        .max(self.now);
                    self.events.push(visible_at, Ev::Redeliver(id));
                }
            } else {
                self.record_completion(id);
                self.release_lane(id);
                self.msgs.free(id);
            }
            self.free_consumer(c);
            return;
        }
        self.msgs.get_mut(id).failures += 1;
        self.after_failure(c, id);
    }

    /// After a failed attempt of message `id` on consumer `c`: the one place that decides
    /// (the broker kind says what it does, the retry budget may refuse a retry) and
    /// carries it out.
    fn after_failure(&mut self, c: ConsumerId, id: MessageId) {
        let mut next = self
            .kind
            .after_failure(self.msgs.get(id), self.now, &self.policy);
        if matches!(
            next,
            AfterFailure::Backoff | AfterFailure::VisibleAgain { .. }
        ) && !self.spend_retry()
        {
            next = AfterFailure::GiveUp;
        }
        match next {
            AfterFailure::GiveUp => {
                self.give_up(id);
                self.free_consumer(c);
            }
            AfterFailure::Backoff => {
                self.rec.c.retries += 1;
                let m = self.msgs.get_mut(id);
                let n = m.failures;
                let delay = self
                    .policy
                    .delay(n, &mut m.prev_delay, &mut self.rng.jitter);
                match self.s.retry.place {
                    RetryPlace::Consumer => {
                        self.pool.slot(c).sleeping = true;
                        self.sleeping += 1;
                        self.rec.asleep.set(self.now, self.sleeping);
                        self.events
                            .push(self.now.saturating_add(delay), Ev::Wake(c));
                    }
                    RetryPlace::Queue => {
                        // Kafka: the retry is republished (a retry topic), so the partition
                        // moves on.
                        self.release_lane(id);
                        self.retry_waiting += 1;
                        self.events
                            .push(self.now.saturating_add(delay), Ev::RetryReady(id));
                        self.free_consumer(c);
                    }
                }
            }
            AfterFailure::VisibleAgain { at } => {
                self.rec.c.retries += 1;
                self.retry_waiting += 1;
                self.events.push(at, Ev::RetryReady(id));
                self.free_consumer(c);
            }
            AfterFailure::RequeueHead => {
                self.rec.c.retries += 1;
                self.push_front(id);
                self.free_consumer(c);
            }
        }
    }

    /// A message waited out its retry delay (or became visible again): back to the queue;
    /// SQS FIFO puts it back at the head of its group.
    pub(super) fn retry_ready(&mut self, id: MessageId) {
        if K::RETRY_AT_HEAD {
            self.rejoin_front(id);
        } else {
            self.rejoin(id);
        }
    }

    /// A crashed consumer's message becomes visible again: ordered queues put it back at
    /// the head of its lane (its successors wait for it), others at the tail.
    pub(super) fn redeliver(&mut self, id: MessageId) {
        if self.queue.is_ordered() {
            self.rejoin_front(id);
        } else {
            self.rejoin(id);
        }
    }

    /// Consumer `c` wakes from an inline backoff and tries its message again.
    pub(super) fn on_wake(&mut self, c: ConsumerId) {
        let slot = self.pool.slot(c);
        slot.sleeping = false;
        let id = slot.msg;
        self.sleeping -= 1;
        self.rec.asleep.set(self.now, self.sleeping);
        self.start(c, id, 0);
    }
}
