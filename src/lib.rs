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

/// `queuelab fit`'s fitting (the core's).
pub use queuelab_core::fit;
pub use queuelab_core::{
    error, findings, guard, input, metrics, model, output, quiz, rng, stats, theory, time,
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
///
/// [`parse`](scenario::parse) here is the core's with data files (`trace`, `rates`, `samples`, `buckets`)
/// read from disk relative to the scenario file ([`FileInputs`](scenario::FileInputs)).
pub mod scenario {
    pub use queuelab_core::scenario::*;

    use crate::error::{Error, InputError};
    use queuelab_core::error::ErrorKind;
    use queuelab_core::input::{Inputs, Reader};
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    /// Data files on disk, relative to a folder (the scenario file's).
    #[derive(Debug, Clone)]
    pub struct FileInputs {
        /// The folder names are relative to.
        pub dir: PathBuf,
    }

    impl FileInputs {
        /// Data files relative to the folder of the scenario file `scenario` (the current
        /// folder for a bare name or a label that is not a path).
        pub fn beside(scenario: &str) -> FileInputs {
            let dir = Path::new(scenario)
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default();
            FileInputs { dir }
        }

        fn path(&self, name: &str) -> PathBuf {
            let p = Path::new(name);
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                self.dir.join(p)
            }
        }
    }

    impl Inputs for FileInputs {
        fn open(&self, name: &str) -> Result<Reader, InputError> {
            let path = self.path(name);
            match std::fs::File::open(&path) {
                Ok(f) if path.is_dir() => {
                    drop(f);
                    Err(
                        InputError::of(ErrorKind::Invalid, "this is a folder, not a data file")
                            .in_file(self.label(name)),
                    )
                }
                Ok(f) => Ok(Box::new(std::io::BufReader::with_capacity(64 * 1024, f))),
                Err(e) => {
                    let kind = if e.kind() == std::io::ErrorKind::NotFound {
                        ErrorKind::Missing
                    } else {
                        ErrorKind::Invalid
                    };
                    Err(
                        InputError::of(kind, format!("cannot open this data file: {e}"))
                            .in_file(self.label(name))
                            .hint(format!(
                                "data file names are relative to the scenario file's folder ({})",
                                if self.dir.as_os_str().is_empty() {
                                    ".".to_string()
                                } else {
                                    self.dir.display().to_string()
                                }
                            )),
                    )
                }
            }
        }

        fn label(&self, name: &str) -> String {
            self.path(name).display().to_string()
        }
    }

    /// The core's [`queuelab_core::scenario::parse_with`], data files read from disk
    /// relative to `label` (the scenario file's path).
    ///
    /// # Errors
    /// As the core's `parse`; an error in a data file names the file and line.
    pub fn parse(
        text: &str,
        label: &str,
        overrides: &Overrides,
    ) -> Result<ScenarioFile, InputError> {
        // A bundled lesson (`queuelab run real_traffic` from any folder) reads the data files
        // built in with it.
        if label.starts_with("bundled:") {
            return parse_with(
                text,
                label,
                overrides,
                Arc::new(crate::app::bundled::data_inputs()),
            );
        }
        parse_with(text, label, overrides, Arc::new(FileInputs::beside(label)))
    }

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
