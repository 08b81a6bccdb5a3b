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
//! ## What a run is
//!
//! A scenario file is parsed and checked ([`scenario::parse`]: every value, with errors
//! that name the file, line, column and key) into a [`scenario::ScenarioFile`]: a base
//! [`scenario::Scenario`] and one per `[[variants]]` entry, times in integer nanoseconds.
//! [`sim::run`] simulates one of them from an empty system (or a warm backlog) to its
//! `duration` and returns a [`sim::RunResult`]: the [`metrics::Summary`] (summary.json),
//! the time series (timeseries.csv, one row per `sample_every`) and latency distributions.
//! [`output`] turns them into the exact bytes the command line writes; [`findings`]
//! writes the sentences a report prints; [`theory`] gives the closed forms beside them.
//!
//! ## The event loop
//!
//! ```text
//!  producers ──Arrival──▶ broker ──▶ wait queue ──▶ consumers ──Done──▶ downstream
//!  (model::producer)      (sim::broker: store,   (model::queue:    (model::consumer:   (model::downstream:
//!                          refuse, evict, block)  FIFO, tiers,       pool, slots)        service, failures,
//!                                                  ordered lanes)                        outages, timeouts)
//!        ▲                                                              │ failed
//!        │            RetryReady / Redeliver / requeue at head ◀────────┘ (sim::kinds: AfterFailure)
//!        └── sync callers (sim::direct: backlog, caller timeouts, caller retries)
//!
//!  engine::EventQueue: (time ns, sequence) → Ev, a sorted vector or a heap, and a slot for the first
//!  producer's next arrival; one loop pops, handles, schedules. metrics::recorder::Recorder is told what happened; it owns every counter.
//! ```
//!
//! One loop ([`sim`]) owns what happens; a [`metrics::recorder::Recorder`] owns what is
//! measured (counters, time-weighted gauges, HDR histograms, tiers, rows) and one function,
//! `Tally::summary`, assembles summary.json, for a single run and for fan-out totals alike.
//! Broker kinds (generic, SQS, SQS FIFO, RabbitMQ, Kafka) live one file each under
//! `sim/kinds/`, behind one trait the loop asks at named decision points; the loop is
//! compiled once per kind, so the generic queue pays nothing for the others.
//!
//! ## Adding a broker kind
//!
//! 1. Configuration: a `BrokerKind` and a `Broker` variant, its keys in `RawBroker`, and
//!    their checks, in `scenario/broker.rs`; there too, if the kind has them, its ordered
//!    lanes (`Broker::ordered_lanes`), its own redelivery limit (`Broker::attempt_limit`,
//!    which the cost estimate reads) and its hand-off after an ack (`Broker::ack_hand_off`);
//!    each defaults to the generic queue's answer.
//! 2. Semantics: a file in `sim/kinds/` with a struct implementing the kinds' `Semantics`
//!    trait; every hook defaults to the generic queue, so it states only what differs
//!    (the wait queue's layout, a message's lane, what a refused publish becomes, what
//!    follows a failure as an `AfterFailure`, buffers, start gates, membership changes,
//!    deduplication, polling, its own figures in `broker.*`).
//! 3. One arm in `sim::kinds::run`, the only `match` on the broker in the simulator.
//!
//! Then: its keys in docs/reference.md (tests/reference.rs fails until they are listed), and
//! the kind in the property tests' list (they run every random workload on every kind).
//!
//! ## How determinism is kept
//!
//! - Every source of randomness has its own portable generator ([`rng`]: Xoshiro256++
//!   seeded by SplitMix64 from the seed and the stream's identity), so changing one part
//!   of a scenario does not shift the draws of another (common random numbers across
//!   variants); distributions go through `libm`, not the platform's maths.
//! - Time is integer nanoseconds; simultaneous events are taken in the order they were
//!   scheduled (the engine's sequence number), never by hash or address.
//! - The core reads no clock, spawns no thread (fan-out subscribers run on rayon only with
//!   the `parallel` feature, collected in file order, so both paths give the same bytes),
//!   and touches no file: the same scenario and seed give the same bytes on every machine,
//!   natively and in WebAssembly.
//! - Floats are printed as the shortest text that reads back the same value.
//! - No cast truncates or loses a sign unseen: `clippy::cast_possible_truncation`,
//!   `cast_sign_loss` and `cast_possible_wrap` are on (crates/core/Cargo.toml); floats
//!   become integers through the saturating helpers of `convert.rs` and [`time`], integers
//!   through `try_from` with a decision at the site.
//!
//! ## Modules
//!
//! Modules, in the order a run uses them: [`scenario`] (parse and check a file),
//! [`sim`] (the event loop over `engine` and [`model`], drawing from [`rng`]),
//! [`metrics`] (what is recorded), [`output`] (the bytes of summary.json and
//! timeseries.csv), [`findings`] (sentences written from the numbers). Around them:
//! [`theory`] (closed forms), [`quiz`] (predict first), [`stats`] (confidence
//! intervals), [`guard`] (what a run will cost, limits, interruption), [`time`].

#![forbid(unsafe_code)]
// InputError is large (it carries the source line and hints) but is only returned while
// loading input, never inside the simulation loop.
#![allow(clippy::result_large_err)]

mod convert;
pub(crate) mod engine;
pub mod error;
pub mod findings;
pub mod fit;
pub mod guard;
pub mod input;
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
