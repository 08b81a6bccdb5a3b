//! `queuelab`: the command line. Parses arguments, calls the library, prints, exits.

use clap::{Args, Parser, Subcommand, ValueEnum};
use queuelab::app;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "queuelab", version, about = "Simulate message queues and asynchronous systems", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    Text,
    Json,
}

/// Options shared by the commands that run many simulations (sweep, plan).
#[derive(Args)]
struct ManyRuns {
    /// Worker threads [default: all cores].
    #[arg(long)]
    threads: Option<usize>,
    /// Override a key for every run (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Use one variant of the file (default: the base scenario).
    #[arg(long)]
    variant: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum SeedsArg {
    Common,
    Independent,
}

#[derive(Subcommand)]
enum Command {
    /// Simulate a scenario and write summary.json, timeseries.csv and plots.
    Run {
        /// The scenario file (TOML).
        scenario: String,
        /// Output folder [default: output/<name>/].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Override the scenario's seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Run only this variant, into the output folder itself.
        #[arg(long)]
        variant: Option<String>,
        /// Override a key, e.g. --set consumers.count=8 (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
        /// Override the run's duration, e.g. 10m.
        #[arg(long)]
        duration: Option<String>,
        /// Skip the PNG/SVG plots.
        #[arg(long)]
        no_plots: bool,
        /// What to print on standard output.
        #[arg(long, value_enum, default_value = "text")]
        format: FormatArg,
        /// Print nothing on success.
        #[arg(long)]
        quiet: bool,
        /// Refuse runs estimated above this many events [default: 1e10].
        #[arg(long)]
        max_events: Option<f64>,
        /// Memory budget for waiting messages, e.g. 512MiB [default: 4GiB].
        #[arg(long)]
        max_memory: Option<String>,
    },
    /// Parse and validate a scenario without running it.
    Check {
        /// The scenario file (TOML).
        scenario: String,
        /// Override a key, as for `run`.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
    },
    /// Run a grid of settings x replications in parallel, with 95% confidence intervals.
    Sweep {
        /// The scenario file (TOML).
        scenario: String,
        /// KEY=V1,V2,... or KEY=A..B or KEY=A..B:STEP (repeat for a grid).
        #[arg(long, required = true)]
        vary: Vec<String>,
        /// Runs per point.
        #[arg(long, default_value_t = 1)]
        replications: u32,
        /// Output folder [default: output/<name>-sweep/].
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        runs: ManyRuns,
        /// Seeds: common (same per replication at every point) or independent.
        #[arg(long, value_enum, default_value = "common")]
        seeds: SeedsArg,
        /// Run only shard I of N (then `queuelab merge` the shard folders).
        #[arg(long, value_name = "I/N")]
        shard: Option<String>,
        /// The metric to print and plot.
        #[arg(long, default_value = "latency.end_to_end.p99")]
        metric: String,
        /// Skip the plot.
        #[arg(long)]
        no_plots: bool,
        /// Refuse sweeps estimated above this many events in all [default: 1e10].
        #[arg(long)]
        max_events: Option<f64>,
    },
    /// Merge `sweep --shard` folders into what one machine would have written.
    Merge {
        /// The shard folders.
        #[arg(required = true)]
        shards: Vec<PathBuf>,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
        /// The metric to print and plot.
        #[arg(long, default_value = "latency.end_to_end.p99")]
        metric: String,
        /// Skip the plot.
        #[arg(long)]
        no_plots: bool,
    },
    /// Find the smallest setting whose 95% interval meets every target.
    Plan {
        /// The scenario file (TOML).
        scenario: String,
        /// The key to search, e.g. consumers.count=1..64.
        #[arg(long)]
        vary: String,
        /// e.g. "latency.end_to_end.p99 < 2s" (repeatable, or joined with `and`).
        #[arg(long, required = true)]
        target: Vec<String>,
        /// Runs per evaluated value.
        #[arg(long, default_value_t = 5)]
        replications: u32,
        #[command(flatten)]
        runs: ManyRuns,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Predict first: answer a few questions about a scenario, then see the run and the reasoning.
    Quiz {
        /// The scenario file (TOML).
        scenario: String,
        /// Quiz on one variant of the file.
        #[arg(long)]
        variant: Option<String>,
        /// Give an answer instead of being asked, e.g. --answer peak_backlog=50000 (repeatable).
        #[arg(long = "answer", value_name = "KEY=VALUE")]
        answers: Vec<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Play a run in the terminal: the queue filling and draining, consumers, DLQ, sparklines.
    Watch {
        /// The scenario file (TOML).
        scenario: String,
        /// The variant to play (default: the first).
        #[arg(long)]
        variant: Option<String>,
        /// Override a key (repeatable), as for run.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
        /// Override the seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Starting speed in simulated seconds per second (default: the run in about a minute).
        #[arg(long)]
        speed: Option<f64>,
        /// Print the frame at this simulated time as text (no terminal needed), e.g. --at 2m.
        #[arg(long)]
        at: Option<String>,
        /// Size of the printed frame, WIDTHxHEIGHT.
        #[arg(long, default_value = "100x32")]
        size: String,
    },
    /// List the bundled scenarios and the question each answers.
    List {
        /// The folder to list.
        #[arg(default_value = "scenarios")]
        dir: PathBuf,
    },
    /// Closed-form queueing results (M/M/1, M/M/c, M/M/c/K, Erlang B, M/G/1).
    Theory {
        /// Take the model from this scenario instead of the flags.
        scenario: Option<String>,
        /// Arrivals per second.
        #[arg(long)]
        arrival_rate: Option<f64>,
        /// Mean service time, e.g. 40ms.
        #[arg(long)]
        service_mean: Option<String>,
        /// Squared coefficient of variation of service (1 exponential, 0 constant).
        #[arg(long, default_value_t = 1.0)]
        service_scv: f64,
        /// Number of consumers.
        #[arg(long, default_value_t = 1)]
        consumers: u32,
        /// Waiting places (0 = pure loss; omit for unbounded).
        #[arg(long)]
        capacity: Option<u64>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// A progress bar on standard error (indicatif hides it when stderr is not a terminal).
fn progress(total: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{bar:40} {pos}/{len} runs, {elapsed} elapsed, ~{eta} left",
    ) {
        bar.set_style(style);
    }
    bar
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Ctrl-C asks runs and sweeps to stop; they keep what they finished. A second Ctrl-C
    // while stopping is ignored by this handler (the runs check the flag promptly).
    let _ = ctrlc::set_handler(queuelab::guard::interrupt);
    let result = match cli.command {
        Command::Run {
            scenario,
            out,
            seed,
            variant,
            sets,
            duration,
            no_plots,
            format,
            quiet,
            max_events,
            max_memory,
        } => app::run(&app::RunArgs {
            scenario,
            out,
            seed,
            variant,
            sets,
            duration,
            no_plots,
            format: match format {
                FormatArg::Text => app::Format::Text,
                FormatArg::Json => app::Format::Json,
            },
            quiet,
            max_events,
            max_memory,
        })
        .and_then(|r| {
            // A stopped run still shows what it has; then it fails with the guard's status.
            match r.incomplete {
                Some(e) => {
                    let _ = std::io::stdout().write_all(r.stdout.as_bytes());
                    Err(e)
                }
                None => Ok(r.stdout),
            }
        }),
        Command::Check { scenario, sets } => app::check(&scenario, &sets),
        Command::Quiz {
            scenario,
            variant,
            answers,
            json,
        } => {
            use std::io::IsTerminal;
            let interactive = std::io::stdin().is_terminal() && !json;
            let mut ask = |q: &queuelab::quiz::Question| -> Option<f64> {
                if !interactive {
                    return None;
                }
                app::ask_answer(q, &mut std::io::stdin().lock(), &mut std::io::stderr())
            };
            app::quiz(
                &app::QuizArgs {
                    scenario,
                    variant,
                    answers,
                    json,
                },
                &mut ask,
            )
        }
        Command::List { dir } => app::list(&dir),
        Command::Watch {
            scenario,
            variant,
            sets,
            seed,
            speed,
            at,
            size,
        } => app::watch(&app::WatchArgs {
            scenario,
            variant,
            sets,
            seed,
            speed,
            at,
            size: Some(size),
        }),
        Command::Sweep {
            scenario,
            vary,
            replications,
            out,
            runs:
                ManyRuns {
                    threads,
                    sets,
                    variant,
                },
            seeds,
            shard,
            metric,
            no_plots,
            max_events,
        } => app::prepare_sweep(&app::SweepArgs {
            scenario,
            vary,
            replications,
            out,
            threads,
            sets,
            variant,
            seeds: match seeds {
                SeedsArg::Common => queuelab::sweep::Seeds::Common,
                SeedsArg::Independent => queuelab::sweep::Seeds::Independent,
            },
            shard,
            metric,
            no_plots,
            max_events,
        })
        .and_then(|p| {
            let bar = progress(p.runs() as u64);
            let r = app::run_sweep(&p, &|| bar.inc(1));
            bar.finish_and_clear();
            r
        }),
        Command::Merge {
            shards,
            out,
            metric,
            no_plots,
        } => app::merge(&shards, &out, &metric, no_plots),
        Command::Plan {
            scenario,
            vary,
            target,
            replications,
            runs:
                ManyRuns {
                    threads,
                    sets,
                    variant,
                },
            json,
        } => {
            let bar = indicatif::ProgressBar::new_spinner();
            let r = app::plan(
                &app::PlanArgs {
                    scenario,
                    vary,
                    targets: target,
                    replications,
                    threads,
                    sets,
                    variant,
                    json,
                },
                &|| bar.inc(1),
            );
            bar.finish_and_clear();
            r
        }
        Command::Theory {
            scenario,
            arrival_rate,
            service_mean,
            service_scv,
            consumers,
            capacity,
            json,
        } => app::theory(&app::TheoryArgs {
            scenario,
            arrival_rate,
            service_mean,
            service_scv,
            consumers,
            capacity,
            json,
        }),
    };
    match result {
        Ok(text) => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}
