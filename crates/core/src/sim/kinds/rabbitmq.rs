//! `rabbitmq`: a RabbitMQ queue.
//!
//! - A failed (nacked) message is requeued at the head at once (`requeue`), and so, as a
//!   rule, taken again straight away, until `delivery_limit` deliveries; without requeue,
//!   or past the limit, it is dead-lettered. The retry budget does not apply.
//! - A full queue (`queue.capacity` = max-length) drops its head, refuses the publisher,
//!   or refuses it and dead-letters the message (`reject-publish-dlx`).
//! - Prefetch: a consumer holds up to `prefetch - 1` messages in its own buffer besides
//!   the one it works on, out of the others' reach; they return to the head when it
//!   crashes or leaves.

use super::{AfterFailure, Semantics};
use crate::model::message::Msg;
use crate::model::retry::Policy;
use crate::time::Nanos;

/// A RabbitMQ queue.
pub(crate) struct RabbitMq {
    /// Nack with requeue (else dead-letter).
    pub(crate) requeue: bool,
    /// Deliveries before dead-lettering.
    pub(crate) delivery_limit: Option<u32>,
    /// reject-publish-dlx.
    pub(crate) dlx_on_reject: bool,
    /// basic.qos prefetch.
    pub(crate) prefetch: u32,
}

impl Semantics for RabbitMq {
    fn buffer(&self) -> usize {
        self.prefetch.saturating_sub(1) as usize
    }

    fn refused_dead_letters(&self) -> bool {
        self.dlx_on_reject
    }

    fn after_failure(&self, m: &Msg, _: Nanos, _: &Policy) -> AfterFailure {
        if !self.requeue || self.delivery_limit.is_some_and(|l| m.attempts >= l) {
            AfterFailure::GiveUp
        } else {
            AfterFailure::RequeueHead
        }
    }
}
