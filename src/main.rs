//! `queuelab`: the command line. Parses arguments, calls the library, prints, exits.

use clap::{Parser, Subcommand, ValueEnum};
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
    },
    /// Parse and validate a scenario without running it.
    Check {
        /// The scenario file (TOML).
        scenario: String,
        /// Override a key, as for `run`.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
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

fn main() -> ExitCode {
    let cli = Cli::parse();
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
        })
        .map(|r| r.stdout),
        Command::Check { scenario, sets } => app::check(&scenario, &sets),
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
