//! # queuelab
//!
//! A discrete-event simulator of message queues and asynchronous systems: producers, a
//! bounded queue, consumers, a failing downstream, retries with backoff and jitter, a DLQ,
//! at-least-once delivery, and callers that go through the queue or call synchronously.
//!
//! ```
//! let file = queuelab::scenario::parse(
//!     r#"
//!     name = "mm1"
//!     duration = "1h"
//!     [[producers]]
//!     rate = 5.0
//!     [consumers]
//!     count = 1
//!     service = { dist = "exponential", mean = "100ms" }
//!     "#,
//!     "inline.toml",
//!     &Default::default(),
//! )
//! .unwrap();
//! let result = queuelab::sim::run(&file.base);
//! let s = &result.summary;
//! assert_eq!(s.conservation.gap, 0);
//! // M/M/1 at rho = 0.5: mean time in system 1/(mu - lambda) = 0.2 s.
//! let w = s.latency.end_to_end.mean.unwrap();
//! assert!((w - 0.2).abs() < 0.02, "{w}");
//! ```
//!
//! Modules, in the order a run uses them: [`scenario`] (load and check a file),
//! [`sim`] (the event loop over [`engine`] and [`model`], drawing from [`rng`]),
//! [`metrics`] (what is recorded), [`report`] (files and text), [`app`] (the commands).
//! Around them: [`sweep`], [`plan`] and [`stats`] (capacity planning), [`theory`] (closed
//! forms), [`quiz`] (predict first), [`guard`] (resource limits, interruption).

#![forbid(unsafe_code)]
#![warn(missing_docs)]
// InputError is large (it carries the source line and hints) but is only returned while
// loading input, never inside the simulation loop.
#![allow(clippy::result_large_err)]

pub mod app;
pub mod engine;
pub mod error;
pub mod fuzzing;
pub mod guard;
pub mod metrics;
pub mod model;
pub mod plan;
pub mod quiz;
pub mod report;
pub mod rng;
pub mod scenario;
pub mod sim;
pub mod stats;
pub mod sweep;
pub mod theory;
pub mod time;
pub mod watch;

pub use error::{Error, InputError};
