//! # queuelab
//!
//! The command line of queuelab, a discrete-event simulator of message queues and
//! asynchronous systems. The simulation itself lives in [`queuelab_core`] (scenario,
//! engine, model, metrics, theory: pure, no files, clock, threads, terminal or plots);
//! this crate is the shell around it: the commands ([`app`]), the files and pictures a run
//! leaves ([`report`]), sweeps and plans on many threads ([`sweep`], [`plan`]), live
//! playback in the terminal ([`watch`]) and the fuzzing entry points ([`fuzzing`]).
//!
//! The core's modules are re-exported here under their own names, so
//! `queuelab::sim::run` and `queuelab_core::sim::run` are the same function.
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
//! let s = queuelab::sim::run(&file.base).summary;
//! assert_eq!(s.conservation.gap, 0);
//! ```

#![forbid(unsafe_code)]
// InputError is large (it carries the source line and hints) but is only returned while
// loading input, never inside the simulation loop.
#![allow(clippy::result_large_err)]

pub use queuelab_core::{
    engine, error, findings, guard, metrics, model, output, quiz, rng, stats, theory, time,
};
pub use queuelab_core::{Error, InputError};

pub mod app;
pub mod fuzzing;
pub mod live;
pub mod plan;
pub mod report;
pub mod sweep;
pub mod watch;

/// Scenario files: the core's [`queuelab_core::scenario`], plus reading one from disk.
pub mod scenario {
    pub use queuelab_core::scenario::*;

    use crate::error::{Error, InputError};

    /// Reads and checks a scenario file.
    ///
    /// # Errors
    /// [`Error::Input`] when the file cannot be read (naming it) or does not check.
    pub fn load(path: &str, overrides: &Overrides) -> Result<ScenarioFile, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            InputError::new(format!("cannot read the scenario file: {e}")).in_file(path.to_string())
        })?;
        Ok(parse(&text, path, overrides)?)
    }
}

/// The event loop: the core's [`queuelab_core::sim`], with the wall clock read around
/// each run (the core reads no clock), so that `summary.wall_seconds` is filled in.
pub mod sim {
    pub use queuelab_core::sim::*;

    use crate::guard::Limits;
    use queuelab_core::scenario::Scenario;

    /// Simulates `s` with the default limits; `summary.wall_seconds` measured here.
    pub fn run(s: &Scenario) -> RunResult {
        run_with(s, &Limits::default())
    }

    /// Simulates `s` under `limits`; `summary.wall_seconds` measured here. A fan-out
    /// run's subscribers run together, so each of theirs is the whole run's.
    pub fn run_with(s: &Scenario, limits: &Limits) -> RunResult {
        let started = std::time::Instant::now();
        let mut r = queuelab_core::sim::run_with(s, limits);
        let wall = started.elapsed().as_secs_f64();
        r.summary.wall_seconds = wall;
        for (_, sub) in &mut r.subscribers {
            sub.summary.wall_seconds = wall;
        }
        for sub in &mut r.summary.subscribers {
            sub.summary.wall_seconds = wall;
        }
        r
    }
}
