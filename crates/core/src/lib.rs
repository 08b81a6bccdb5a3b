//! # queuelab-core
//!
//! The pure core of queuelab: a discrete-event simulator of message queues and
//! asynchronous systems. Producers, a bounded queue or a broker with real semantics,
//! consumers, a failing downstream, retries with backoff and jitter, a DLQ, at-least-once
//! delivery, and callers that go through the queue or call synchronously.
//!
//! This crate touches no file, clock, thread, terminal or plot: a scenario comes in as
//! text, a summary and a time series come out as values (and as the bytes of
//! summary.json and timeseries.csv). It builds for `wasm32-unknown-unknown`, so the
//! command line and the browser lab run the same engine and print the same numbers.
//!
//! ```
//! let file = queuelab_core::scenario::parse(
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
//! let result = queuelab_core::sim::run(&file.base);
//! let s = &result.summary;
//! assert_eq!(s.conservation.gap, 0);
//! // M/M/1 at rho = 0.5: mean time in system 1/(mu - lambda) = 0.2 s.
//! let w = s.latency.end_to_end.mean.unwrap();
//! assert!((w - 0.2).abs() < 0.02, "{w}");
//! ```
//!
//! Modules, in the order a run uses them: [`scenario`] (parse and check a file),
//! [`sim`] (the event loop over [`engine`] and [`model`], drawing from [`rng`]),
//! [`metrics`] (what is recorded), [`output`] (the bytes of summary.json and
//! timeseries.csv), [`findings`] (sentences written from the numbers). Around them:
//! [`theory`] (closed forms), [`quiz`] (predict first), [`stats`] (confidence
//! intervals), [`guard`] (what a run will cost, limits, interruption), [`time`].

#![forbid(unsafe_code)]
// InputError is large (it carries the source line and hints) but is only returned while
// loading input, never inside the simulation loop.
#![allow(clippy::result_large_err)]

pub mod engine;
pub mod error;
pub mod findings;
pub mod guard;
pub mod metrics;
pub mod model;
pub mod output;
pub mod quiz;
pub mod rng;
pub mod scenario;
pub mod sim;
pub mod stats;
pub mod theory;
pub mod time;

pub use error::{Error, InputError};
