//! The parts of the system being simulated, each with one job.
//!
//! - [`producer`]: when messages are created (Poisson or evenly spaced, with a schedule).
//! - `message`: the per-message record and the slab that recycles them.
//! - `queue`: the bounded FIFO with overflow policies and oldest-age tracking.
//! - `consumer`: the consumer pool (idle list, what each busy consumer holds).
//! - [`downstream`]: what one processing attempt costs and whether it fails.
//! - `retry`: backoff and jitter delays.
//!
//! The event loop that moves messages between these is [`crate::sim`].

/// A message's place in the slab (`message::Slab`); reused once the message is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub(crate) struct MessageId(pub(crate) u32);

/// A consumer's slot in the pool (`consumer::Pool`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub(crate) struct ConsumerId(pub(crate) u32);

impl ConsumerId {
    /// As an index.
    #[inline]
    pub(crate) fn index(self) -> usize {
        self.0 as usize
    }

    /// The consumer in slot `i`. There are at most 100000 slots: `consumers.count` and
    /// `autoscale.max` are checked to be at most 100000 (scenario/validate.rs), and the
    /// pool never holds more than the larger of them.
    #[inline]
    pub(crate) fn from_index(i: usize) -> Self {
        ConsumerId(u32::try_from(i).expect("at most 100000 consumer slots (validate.rs)"))
    }
}

pub(crate) mod breaker;
pub(crate) mod consumer;
pub mod downstream;
pub(crate) mod message;
pub mod producer;
pub(crate) mod queue;
pub(crate) mod retry;
