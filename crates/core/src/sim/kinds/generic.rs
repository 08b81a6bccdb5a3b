//! `generic`: the queue every other kind is measured against. FIFO (or strict priority
//! with `queue.priority`), `queue.overflow` when full, `[retry]`'s backoff after a
//! failure, redelivery at the tail after a crash. Every [`Semantics`] hook's default.

use super::Semantics;

/// The generic queue.
pub(crate) struct Generic;

impl Semantics for Generic {}
