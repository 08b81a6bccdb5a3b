//! The fate counters (docs/reference.md, summary.json `counts`) and the conservation identity.

use serde::{Deserialize, Serialize};

/// What happened to the messages of a run. Every produced message is in exactly one fate
/// (rejected, dropped, completed, dead_lettered, failed) or one end-of-run state
/// (`*_at_end`); the other fields count events, not messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Messages created by producers.
    pub produced: u64,
    /// Admitted to the queue (async) or the server backlog (sync), each message once.
    pub accepted: u64,
    /// Refused because the queue or backlog was full (sync: the caller's last call was).
    pub rejected: u64,
    /// Evicted by `drop-oldest`.
    pub dropped: u64,
    /// Processed successfully (each message once).
    pub completed: u64,
    /// Moved to the DLQ.
    pub dead_lettered: u64,
    /// Given up without a DLQ (sync: the caller's last call timed out or failed).
    pub failed: u64,
    /// Waiting in the queue at the end.
    pub in_queue_at_end: u64,
    /// Being processed (or invisible after a consumer crash) at the end.
    pub in_flight_at_end: u64,
    /// Waiting out a retry backoff at the end.
    pub retry_waiting_at_end: u64,
    /// Callers still blocked by `overflow = "block"` at the end (a term of the identity).
    pub blocked_at_end: u64,
    /// Messages whose `queue.ttl` ran out before processing (`ttl_action = "drop"`; a term of
    /// the identity). With `ttl_action = "dlq"` they are dead-lettered instead.
    pub expired: u64,
    /// Second copies dropped by the broker's deduplication (SQS FIFO's window, Kafka's
    /// idempotent producer; a term of the identity). Copies are counted in `produced`.
    pub deduplicated: u64,
    /// Poison messages produced (they fail on every attempt).
    pub poison: u64,
    /// Retries refused by the retry budget (the message then gives up).
    pub retries_denied: u64,
    /// Times the circuit breaker opened.
    pub breaker_opens: u64,
    /// Sync: calls the caller's open breaker failed at once, without reaching the server.
    pub breaker_rejections: u64,
    /// Autoscaling decisions that added consumers.
    pub scale_outs: u64,
    /// Autoscaling decisions that removed consumers.
    pub scale_ins: u64,
    /// Processing attempts started.
    pub attempts: u64,
    /// Attempts that failed (including timeouts).
    pub failed_attempts: u64,
    /// Attempts cut short by `downstream.timeout`.
    pub attempt_timeouts: u64,
    /// Retries scheduled.
    pub retries: u64,
    /// Retries or redeliveries that found the queue full and were dead-lettered (or failed).
    pub retry_refused: u64,
    /// Deliveries of a message again after a consumer died before its ack.
    pub redeliveries: u64,
    /// Consumers that died after the side effect, before the ack.
    pub crashes: u64,
    /// Side effects performed more than once.
    pub duplicates: u64,
    /// Of `duplicates`, those of a producer's second copy (`producers.duplicate_rate`); the
    /// rest are repeats after a consumer crash (async) or of a call whose caller had given
    /// up and retried (sync).
    pub duplicate_copies: u64,
    /// Messages completed after a later-produced message with the same key (`[keys]`);
    /// 0 without keys.
    pub out_of_order: u64,
    /// Sync: server work finished for calls whose caller had already given up or moved on.
    pub abandoned_work: u64,
}

impl Counts {
    /// The terms on the right of the conservation identity, by name. Every field is named
    /// here, so a new count must be declared a fate or not.
    pub fn fates(&self) -> [(&'static str, u64); 11] {
        let Counts {
            produced: _,
            accepted: _,
            rejected,
            dropped,
            completed,
            dead_lettered,
            failed,
            in_queue_at_end,
            in_flight_at_end,
            retry_waiting_at_end,
            blocked_at_end,
            expired,
            deduplicated,
            // Not fates: a message's attributes or events on its way (the poison ones, the
            // retries and attempts, the copies) while it has exactly one of the fates above.
            poison: _,
            retries_denied: _,
            breaker_opens: _,
            breaker_rejections: _,
            scale_outs: _,
            scale_ins: _,
            attempts: _,
            failed_attempts: _,
            attempt_timeouts: _,
            retries: _,
            retry_refused: _,
            redeliveries: _,
            crashes: _,
            duplicates: _,
            duplicate_copies: _,
            out_of_order: _,
            abandoned_work: _,
        } = *self;
        [
            ("rejected", rejected),
            ("dropped", dropped),
            ("completed", completed),
            ("dead_lettered", dead_lettered),
            ("failed", failed),
            ("in_queue_at_end", in_queue_at_end),
            ("in_flight_at_end", in_flight_at_end),
            ("retry_waiting_at_end", retry_waiting_at_end),
            ("blocked_at_end", blocked_at_end),
            ("expired", expired),
            ("deduplicated", deduplicated),
        ]
    }

    /// Adds `o` field by field (the totals of fan-out subscribers).
    pub fn add(&mut self, o: &Counts) {
        let Counts {
            produced,
            accepted,
            rejected,
            dropped,
            completed,
            dead_lettered,
            failed,
            in_queue_at_end,
            in_flight_at_end,
            retry_waiting_at_end,
            blocked_at_end,
            expired,
            deduplicated,
            poison,
            retries_denied,
            breaker_opens,
            breaker_rejections,
            scale_outs,
            scale_ins,
            attempts,
            failed_attempts,
            attempt_timeouts,
            retries,
            retry_refused,
            redeliveries,
            crashes,
            duplicates,
            duplicate_copies,
            out_of_order,
            abandoned_work,
        } = *o;
        self.produced += produced;
        self.accepted += accepted;
        self.rejected += rejected;
        self.dropped += dropped;
        self.completed += completed;
        self.dead_lettered += dead_lettered;
        self.failed += failed;
        self.in_queue_at_end += in_queue_at_end;
        self.in_flight_at_end += in_flight_at_end;
        self.retry_waiting_at_end += retry_waiting_at_end;
        self.blocked_at_end += blocked_at_end;
        self.expired += expired;
        self.deduplicated += deduplicated;
        self.poison += poison;
        self.retries_denied += retries_denied;
        self.breaker_opens += breaker_opens;
        self.breaker_rejections += breaker_rejections;
        self.scale_outs += scale_outs;
        self.scale_ins += scale_ins;
        self.attempts += attempts;
        self.failed_attempts += failed_attempts;
        self.attempt_timeouts += attempt_timeouts;
        self.retries += retries;
        self.retry_refused += retry_refused;
        self.redeliveries += redeliveries;
        self.crashes += crashes;
        self.duplicates += duplicates;
        self.duplicate_copies += duplicate_copies;
        self.out_of_order += out_of_order;
        self.abandoned_work += abandoned_work;
    }

    /// `produced - (sum of fates)`: 0 when every message is accounted for.
    pub fn conservation_gap(&self) -> i128 {
        let fates: u64 = self.fates().iter().map(|(_, v)| v).sum();
        i128::from(self.produced) - i128::from(fates)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_covers_every_field() {
        // Every field of `ones` is 1 (through serde, so a new field cannot be missed).
        let mut v = serde_json::to_value(Counts::default()).unwrap();
        for x in v.as_object_mut().unwrap().values_mut() {
            *x = serde_json::json!(1);
        }
        let ones: Counts = serde_json::from_value(v).unwrap();
        let mut sum = ones;
        sum.add(&ones);
        let got = serde_json::to_value(sum).unwrap();
        assert!(got.as_object().unwrap().values().all(|x| x == 2));
    }
}
