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

#[derive(Clone, Copy, Default, ValueEnum)]
enum FormatArg {
    #[default]
    Text,
    Json,
}

/// `--format text|json`, with `--json` kept as the old spelling of `--format json`.
#[derive(Args)]
struct Output {
    /// What to print on standard output.
    #[arg(long, value_enum, default_value = "text")]
    format: FormatArg,
    /// The same as --format json (the old spelling).
    #[arg(long, hide = true)]
    json: bool,
}

impl Output {
    fn get(&self) -> app::Format {
        match (self.json, self.format) {
            (true, _) | (_, FormatArg::Json) => app::Format::Json,
            _ => app::Format::Text,
        }
    }
}

/// `--variant` and `--set`: wherever a scenario is read.
#[derive(Args)]
struct ScenarioOpts {
    /// Use one variant of the file (default: the whole file, or the base scenario).
    #[arg(long)]
    variant: Option<String>,
    /// Override a key, e.g. --set consumers.count=8 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
}

/// Options shared by the commands that run many simulations (sweep, plan).
#[derive(Args)]
struct ManyRuns {
    /// Worker threads, 1 to 1024 [default: all cores].
    #[arg(long)]
    threads: Option<usize>,
    /// Override the scenario's seed (replication 0's seed; the others derive from it).
    #[arg(long)]
    seed: Option<u64>,
}

#[derive(Clone, Copy, ValueEnum)]
enum SeedsArg {
    Common,
    Independent,
}

/// The scenario argument's help, the same everywhere.
const SCENARIO_HELP: &str =
    "The scenario: a TOML file, or a bundled lesson by name (see `queuelab list`)";

#[derive(Subcommand)]
enum Command {
    /// Simulate a scenario and write summary.json, timeseries.csv and plots.
    Run {
        #[arg(help = SCENARIO_HELP)]
        scenario: String,
        /// Output folder [default: output/<name>/]; replaced whole by each run.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Override the scenario's seed.
        #[arg(long)]
        seed: Option<u64>,
        #[command(flatten)]
        scen: ScenarioOpts,
        /// Override the run's duration, e.g. 10m.
        #[arg(long)]
        duration: Option<String>,
        /// Skip the PNG/SVG plots.
        #[arg(long)]
        no_plots: bool,
        #[command(flatten)]
        output: Output,
        /// Print no text on success (--format json still prints the JSON).
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
        #[arg(help = SCENARIO_HELP)]
        scenario: String,
        #[command(flatten)]
        scen: ScenarioOpts,
        /// Override the scenario's seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Override the duration, e.g. 10m.
        #[arg(long)]
        duration: Option<String>,
        #[command(flatten)]
        output: Output,
    },
    /// Run a grid of settings x replications in parallel, with 95% confidence intervals.
    Sweep {
        #[arg(help = SCENARIO_HELP)]
        scenario: String,
        /// KEY=V1,V2,... or KEY=A..B or KEY=A..B:STEP (repeat for a grid).
        #[arg(long, required = true)]
        vary: Vec<String>,
        /// Runs per point (2 or more for an interval).
        #[arg(long, default_value_t = 1)]
        replications: u32,
        /// Output folder [default: output/<name>-sweep/]; replaced whole by each sweep.
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        scen: ScenarioOpts,
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
        #[command(flatten)]
        output: Output,
        /// An uncertain input, e.g. 'producers.0.rate=triangular(800,1000,1200)'; each replication draws one future (repeatable).
        #[arg(long, value_name = "KEY=LAW(...)")]
        uncertain: Vec<String>,
        /// Also report, per point, the share of runs meeting this, e.g. "latency.end_to_end.p99 < 2s" (repeatable).
        #[arg(long)]
        target: Vec<String>,
    },
    /// Merge `sweep --shard` folders into what one machine would have written.
    Merge {
        /// The shard folders.
        #[arg(required = true)]
        shards: Vec<PathBuf>,
        /// Output folder; replaced whole.
        #[arg(long)]
        out: PathBuf,
        /// The metric to print and plot.
        #[arg(long, default_value = "latency.end_to_end.p99")]
        metric: String,
        /// Skip the plot.
        #[arg(long)]
        no_plots: bool,
        /// Merge the runs present when some are missing (shards stopped by Ctrl-C or SIGTERM).
        #[arg(long)]
        partial: bool,
        #[command(flatten)]
        output: Output,
    },
    /// Find the smallest setting whose 95% interval meets every target.
    Plan {
        #[arg(help = SCENARIO_HELP)]
        scenario: String,
        /// The key to search, e.g. consumers.count=1..64.
        #[arg(long)]
        vary: String,
        /// e.g. "latency.end_to_end.p99 < 2s" (repeatable, or joined with `and`).
        #[arg(long, required = true)]
        target: Vec<String>,
        /// Runs per evaluated value (at least 2) [default: 5; with --futures, enough to show the share].
        #[arg(long)]
        replications: Option<u32>,
        #[command(flatten)]
        scen: ScenarioOpts,
        #[command(flatten)]
        runs: ManyRuns,
        #[command(flatten)]
        output: Output,
        /// An uncertain input, e.g. 'producers.0.rate=uniform(800,1200)'; each replication draws one future (repeatable).
        #[arg(long, value_name = "KEY=LAW(...)")]
        uncertain: Vec<String>,
        /// Answer for this share of plausible futures, e.g. 0.9 or 95%: the smallest value meeting every target in at least that share.
        #[arg(long, value_name = "SHARE")]
        futures: Option<String>,
    },
    /// Predict first: answer a few questions about a scenario, then see the run and the reasoning.
    Quiz {
        #[arg(help = SCENARIO_HELP)]
        scenario: String,
        #[command(flatten)]
        scen: ScenarioOpts,
        /// Override the scenario's seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Give an answer instead of being asked, e.g. --answer peak_backlog=50000 (repeatable).
        #[arg(long = "answer", value_name = "KEY=VALUE")]
        answers: Vec<String>,
        #[command(flatten)]
        output: Output,
    },
    /// Play a run in the terminal: the queue filling and draining, consumers, DLQ, sparklines.
    Watch {
        #[arg(help = SCENARIO_HELP)]
        scenario: String,
        #[command(flatten)]
        scen: ScenarioOpts,
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
    /// Run the scenario against a real RabbitMQ and print the model and the broker side by side.
    Live {
        #[arg(help = SCENARIO_HELP)]
        scenario: String,
        /// The broker: amqp://HOST[:PORT][/VHOST] (user guest, or amqp://USER:PASS@HOST).
        #[arg(long)]
        broker: String,
        /// Scenario seconds per wall second (a 60 s scenario at --speed 2 takes 30 s).
        #[arg(long, default_value_t = 1.0)]
        speed: f64,
        /// Output folder [default: output/<name>-live/]; replaced whole by each run.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Override the scenario's seed.
        #[arg(long)]
        seed: Option<u64>,
        #[command(flatten)]
        scen: ScenarioOpts,
        #[command(flatten)]
        output: Output,
    },
    /// List the bundled lessons (or the scenarios in a folder) and the question each answers.
    List {
        /// A folder of scenario files [default: the lessons built into queuelab].
        dir: Option<PathBuf>,
    },
    /// Fit exponential, lognormal, gamma, constant and empirical laws to a measured sample.
    Fit {
        /// The sample: one value a line, or a CSV with a `value` column (`time` with --timestamps).
        file: PathBuf,
        /// The unit of bare numbers, e.g. ms (values such as 12ms carry their own).
        #[arg(long)]
        unit: Option<String>,
        /// The values are gaps between arrivals: also say how far they are from Poisson.
        #[arg(long)]
        gaps: bool,
        /// The values are arrival times (seconds or RFC 3339): fit their gaps, as --gaps.
        #[arg(long)]
        timestamps: bool,
        /// Output folder for fit.json and the QQ plots [default: output/fit-<file name>/].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Write no files (no QQ plots).
        #[arg(long)]
        no_plots: bool,
        #[command(flatten)]
        output: Output,
    },
    /// Closed-form queueing results (M/M/1, M/M/c, M/M/c/K, Erlang B, M/G/1).
    Theory {
        /// Take the model from this scenario (a file or a bundled lesson) instead of the flags.
        scenario: Option<String>,
        #[command(flatten)]
        scen: ScenarioOpts,
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
        #[command(flatten)]
        output: Output,
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
    // Ctrl-C, SIGTERM and SIGHUP (what `timeout`, Slurm and Kubernetes send) ask runs and
    // sweeps to stop; they keep what they finished. A second signal while stopping is
    // ignored by this handler (the runs check the flag promptly).
    let _ = ctrlc::set_handler(queuelab::guard::interrupt);
    let result = match cli.command {
        Command::Run {
            scenario,
            out,
            seed,
            scen: ScenarioOpts { variant, sets },
            duration,
            no_plots,
            output,
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
            format: output.get(),
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
        Command::Check {
            scenario,
            scen: ScenarioOpts { variant, sets },
            seed,
            duration,
            output,
        } => app::check(&app::CheckArgs {
            scenario,
            sets,
            variant,
            seed,
            duration,
            format: output.get(),
        }),
        Command::Quiz {
            scenario,
            scen: ScenarioOpts { variant, sets },
            seed,
            answers,
            output,
        } => {
            use std::io::IsTerminal;
            let format = output.get();
            let interactive = std::io::stdin().is_terminal() && format == app::Format::Text;
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
                    format,
                    sets,
                    seed,
                },
                &mut ask,
            )
        }
        Command::List { dir } => app::list(dir.as_deref()),
        Command::Live {
            scenario,
            broker,
            speed,
            out,
            seed,
            scen: ScenarioOpts { variant, sets },
            output,
        } => queuelab::live::live(&queuelab::live::LiveArgs {
            scenario,
            broker,
            speed,
            out,
            seed,
            variant,
            sets,
            format: output.get(),
        })
        .map(|r| r.stdout),
        Command::Watch {
            scenario,
            scen: ScenarioOpts { variant, sets },
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
            scen: ScenarioOpts { variant, sets },
            runs: ManyRuns { threads, seed },
            seeds,
            shard,
            metric,
            no_plots,
            max_events,
            output,
            uncertain,
            target,
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
            seed,
            format: output.get(),
            uncertain,
            targets: target,
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
            partial,
            output,
        } => app::merge(&app::MergeArgs {
            shards,
            out,
            metric,
            no_plots,
            partial,
            format: output.get(),
        }),
        Command::Plan {
            scenario,
            vary,
            target,
            replications,
            scen: ScenarioOpts { variant, sets },
            runs: ManyRuns { threads, seed },
            output,
            uncertain,
            futures,
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
                    seed,
                    format: output.get(),
                    uncertain,
                    futures,
                },
                &|| bar.inc(1),
            );
            bar.finish_and_clear();
            // No value meets: the evidence is printed, then the command fails.
            r.and_then(|p| match p.unmet {
                Some(e) => {
                    let _ = std::io::stdout().write_all(p.stdout.as_bytes());
                    Err(e)
                }
                None => Ok(p.stdout),
            })
        }
        Command::Fit {
            file,
            unit,
            gaps,
            timestamps,
            out,
            no_plots,
            output,
        } => app::fit(&app::FitArgs {
            file,
            unit,
            gaps,
            timestamps,
            out,
            no_plots,
            format: output.get(),
        })
        .map(|r| r.stdout),
        Command::Theory {
            scenario,
            scen: ScenarioOpts { variant, sets },
            arrival_rate,
            service_mean,
            service_scv,
            consumers,
            capacity,
            output,
        } => app::theory(&app::TheoryArgs {
            scenario,
            arrival_rate,
            service_mean,
            service_scv,
            consumers,
            capacity,
            format: output.get(),
            variant,
            sets,
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
