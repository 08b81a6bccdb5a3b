//! The sync path: no broker; the caller waits for the server.
//!
//! Each request is one caller. A call waits in the server's accept backlog (sized by
//! `queue.capacity`; when it is full the call is refused, whatever `overflow` says) until a
//! consumer serves it. The caller gives up on a call after `client.timeout`, but the
//! server keeps working on it: work finished for a call whose caller has gone is counted
//! in `abandoned_work` (and a second success for the same request as a duplicate). A
//! refused, failed or timed-out call is sent again after the `[retry]` backoff until
//! `max_attempts` calls have been made; the request's fate is its last call's outcome.

use super::kinds::Semantics;
use super::{Ev, Sim};
use crate::model::message::Phase;
use crate::model::queue::Entry;
use crate::model::{ConsumerId, MessageId};

#[derive(Clone, Copy)]
enum CallEnd {
    Refused,
    Failed,
    TimedOut,
}

impl<K: Semantics> Sim<'_, K> {
    /// The caller of request `id` makes a call.
    pub(super) fn call(&mut self, id: MessageId) {
        self.next_call = self.next_call.wrapping_add(1);
        let call = self.next_call;
        let m = self.msgs.get_mut(id);
        m.calls += 1;
        m.call = call;
        m.phase = Phase::Waiting;
        m.in_service = false;
        let now = self.now;
        if self.breaker.as_mut().is_some_and(|b| !b.allow(now)) {
            // The caller's breaker is open: the call fails at once, nothing reaches the server.
            self.rec.c.breaker_rejections += 1;
            self.call_ended(id, CallEnd::Failed);
            self.release_if_done(id);
            return;
        }
        if self.consumers_down() {
            // The servers are down: the call is refused at once (connection refused).
            self.breaker_outcome(false);
            self.call_ended(id, CallEnd::Refused);
            self.release_if_done(id);
            return;
        }
        if let Some(c) = self.idle_for_new() {
            self.admit_call(id);
            self.msgs.get_mut(id).in_service = true;
            self.start(c, id, call);
        } else if self.queue.has_room() {
            self.admit_call(id);
            self.push_queue(id, call);
        } else {
            self.breaker_outcome(false);
            self.call_ended(id, CallEnd::Refused);
            self.release_if_done(id);
            return;
        }
        if let Some(t) = self.s.client.timeout {
            self.events.push(
                self.now.saturating_add(t),
                Ev::CallTimeout { msg: id, call },
            );
        }
    }

    fn admit_call(&mut self, id: MessageId) {
        let m = self.msgs.get_mut(id);
        m.outstanding += 1;
        if !m.accepted {
            m.accepted = true;
            self.rec.c.accepted += 1;
        }
    }

    /// A consumer takes backlog entry `e`.
    pub(super) fn serve_call(&mut self, e: Entry) {
        let m = self.msgs.get_mut(e.id);
        if m.phase == Phase::Waiting && m.call == e.call {
            m.in_service = true;
        }
    }

    /// Consumer `c` finished serving a call (sync).
    pub(super) fn sync_done(&mut self, c: ConsumerId) {
        let slot = *self.pool.slot(c);
        let id = slot.msg;
        if slot.ok {
            self.side_effect(id);
        }
        let m = self.msgs.get_mut(id);
        m.outstanding -= 1;
        let current = m.phase == Phase::Waiting && m.call == slot.call;
        if current {
            self.breaker_outcome(slot.ok);
            let m = self.msgs.get_mut(id);
            m.in_service = false;
            if slot.ok {
                m.phase = Phase::Done;
                let produced = m.produced;
                self.rec.client_ok += 1;
                self.record_completion(id);
                self.rec.client(produced, self.now - produced);
            } else {
                self.call_ended(id, CallEnd::Failed);
            }
        } else {
            self.rec.c.abandoned_work += 1;
            if slot.ok {
                self.rec.abandoned_success(self.now);
            }
        }
        self.release_if_done(id);
        self.free_consumer(c);
    }

    /// The caller's timer for call `call` of request `id` fires.
    pub(super) fn on_call_timeout(&mut self, id: MessageId, call: u32) {
        let m = self.msgs.get(id);
        if m.phase == Phase::Waiting && m.call == call {
            self.breaker_outcome(false);
            self.call_ended(id, CallEnd::TimedOut);
            self.release_if_done(id);
        }
    }

    /// The caller's current call ended without success: retry it or settle the request's
    /// fate. Does not free the request (the caller of this does, once).
    fn call_ended(&mut self, id: MessageId, how: CallEnd) {
        let m = self.msgs.get_mut(id);
        m.in_service = false;
        m.failures += 1;
        let calls_left = m.calls < self.policy.max_attempts();
        if calls_left && self.spend_retry() {
            self.rec.c.retries += 1;
            let m = self.msgs.get_mut(id);
            m.phase = Phase::Backoff;
            let n = m.calls;
            let delay = self
                .policy
                .delay(n, &mut m.prev_delay, &mut self.rng.jitter);
            self.retry_waiting += 1;
            self.events
                .push(self.now.saturating_add(delay), Ev::CallRetry(id));
            return;
        }
        let m = self.msgs.get_mut(id);
        m.phase = Phase::Done;
        let produced = m.produced;
        match how {
            CallEnd::Refused => {
                self.rec.c.rejected += 1;
                self.rec.client_errors += 1;
            }
            CallEnd::Failed => {
                self.rec.c.failed += 1;
                self.rec.client_errors += 1;
            }
            CallEnd::TimedOut => {
                self.rec.c.failed += 1;
                self.rec.client_timeouts += 1;
            }
        }
        self.rec.client(produced, self.now - produced);
    }

    /// Frees request `id` once its caller is done and no server work refers to it.
    /// Call it exactly once after each event that may finish a request.
    fn release_if_done(&mut self, id: MessageId) {
        let m = self.msgs.get(id);
        if m.phase == Phase::Done && m.outstanding == 0 {
            self.msgs.free(id);
        }
    }

    /// End of run: each caller still waiting is counted where its current call is.
    pub(super) fn tally_sync_at_end(&mut self) {
        for m in self.msgs.iter_live() {
            match m.phase {
                Phase::Waiting if m.in_service => self.rec.c.in_flight_at_end += 1,
                Phase::Waiting => self.rec.c.in_queue_at_end += 1,
                Phase::Backoff => self.rec.c.retry_waiting_at_end += 1,
                Phase::Done => {}
            }
        }
    }
}
