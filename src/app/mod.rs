//! The commands behind the binary. They return the text to print; the binary prints it
//! and turns errors into exit statuses ([`crate::error`]).

use crate::error::{Error, ErrorKind, InputError};
use crate::guard::{self, Limits};
use crate::report::{self, files, html, plot, text, Bundle};
use crate::scenario::{self, overlay, Overrides, Scenario, ScenarioFile};
use crate::sim::{self, RunResult, StopReason};
use crate::theory;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// How `run` prints its results.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Format {
    /// A table for people.
    #[default]
    Text,
    /// The summary JSON (one object, or an array with one per variant).
    Json,
}

/// Arguments of `queuelab run`.
#[derive(Debug, Clone, Default)]
pub struct RunArgs {
    /// The scenario file.
    pub scenario: String,
    /// Output folder (default `output/<name>/`).
    pub out: Option<PathBuf>,
    /// Overrides the file's seed.
    pub seed: Option<u64>,
    /// Runs only this variant, into the out folder itself.
    pub variant: Option<String>,
    /// `KEY=VALUE` overrides.
    pub sets: Vec<String>,
    /// Overrides the file's duration.
    pub duration: Option<String>,
    /// Skips the pictures.
    pub no_plots: bool,
    /// Text or JSON on standard output.
    pub format: Format,
    /// Prints nothing on success.
    pub quiet: bool,
    /// Refuse runs estimated above this many events (default [`guard::DEFAULT_MAX_EVENTS`]).
    pub max_events: Option<f64>,
    /// Memory budget for waiting messages, e.g. `4GiB` (default [`guard::DEFAULT_MAX_MEMORY`]).
    pub max_memory: Option<String>,
}

/// Parses `--max-memory` into run limits.
pub fn limits(max_memory: Option<&str>) -> Result<Limits, Error> {
    match max_memory {
        None => Ok(Limits::default()),
        Some(m) => guard::parse_bytes(m).map(Limits::from_memory).map_err(|e| {
            InputError::new(e)
                .in_file("--max-memory")
                .allowed("a size such as 512MiB, 4GiB, 1e9")
                .into()
        }),
    }
}

/// Refuses scenarios whose estimated work is above `max_events` (summed over `scenarios`).
pub fn check_work(
    scenarios: &[&Scenario],
    max_events: Option<f64>,
    times: usize,
) -> Result<(), Error> {
    let max = max_events.unwrap_or(guard::DEFAULT_MAX_EVENTS);
    if max.is_nan() || max <= 0.0 {
        return Err(InputError::new("must be a positive number of events")
            .in_file("--max-events")
            .into());
    }
    let est: f64 = scenarios
        .iter()
        .map(|s| guard::estimate(s).events)
        .sum::<f64>()
        * times as f64;
    if est > max {
        let minutes = est / 15e6 / 60.0;
        return Err(InputError::new(format!(
            "this needs about {est:.2e} events (roughly {minutes:.0} minutes at 15 M events/s on one core), more than the limit of {max:.2e}"
        ))
        .in_file("--max-events")
        .hint(format!("shorten the run or lower the rates, or pass --max-events {:.1e} to run it anyway", est * 1.1))
        .into());
    }
    Ok(())
}

/// Turns the command-line overrides into [`Overrides`], checking them.
pub fn overrides(
    sets: &[String],
    seed: Option<u64>,
    duration: Option<&str>,
) -> Result<Overrides, Error> {
    let mut o = Overrides::default();
    for s in sets {
        let (k, v) = overlay::split_assignment(s, "--set")?;
        o.sets.push((k, v));
    }
    o.seed = seed;
    if let Some(d) = duration {
        crate::time::parse_duration(d).map_err(|m| {
            InputError::of(ErrorKind::BadDuration, m.to_string())
                .in_file("--duration")
                .allowed("a duration such as 90s, 15m, 2h")
        })?;
        o.set("duration", format!("\"{d}\""));
    }
    Ok(o)
}

/// A scenario as loaded for a command: where it came from, its text, the overrides.
pub struct Loaded {
    /// How the scenario is named in messages (the path, or `bundled:NAME.toml`).
    pub label: String,
    /// The file's text.
    pub text: String,
    /// The overrides applied (`--set`, `--seed`, `--duration`, the variant filter).
    pub overrides: Overrides,
    /// The checked scenarios.
    pub file: ScenarioFile,
}

impl Loaded {
    /// The `invocation` block of a summary of `s`, one of this file's runs.
    pub fn invocation(&self, s: &Scenario) -> Result<crate::metrics::summary::Invocation, Error> {
        // `--seed` is applied after parsing (so that any u64 is a seed); it is listed
        // with the other overrides in the order the flags apply (before `--duration`).
        let mut sets = self.overrides.sets.clone();
        if let Some(seed) = self.overrides.seed {
            let at = match sets.last() {
                Some((k, _)) if k == "duration" => sets.len() - 1,
                _ => sets.len(),
            };
            sets.insert(at, ("seed".to_string(), seed.to_string()));
        }
        Ok(crate::metrics::summary::Invocation {
            command: report::command_without_out(),
            scenario_file: self.label.clone(),
            overrides: sets.iter().map(|(k, v)| format!("{k}={v}")).collect(),
            effective_scenario: effective_toml(&self.text, s.variant.as_deref(), &sets)?,
        })
    }
}

/// The scenario as run, as TOML: the file without its `[[variants]]`, the keys of
/// `variant` merged over it, then the overrides (as [`scenario::parse`] applies them).
pub fn effective_toml(
    text: &str,
    variant: Option<&str>,
    sets: &[(String, String)],
) -> Result<String, Error> {
    let mut doc: toml::Table = toml::from_str(text)
        .map_err(|e| Error::Other(format!("cannot re-read the scenario: {e}")))?;
    let variants = doc.remove("variants");
    if let (Some(name), Some(toml::Value::Array(vs))) = (variant, &variants) {
        let found = vs.iter().find_map(|v| match v {
            toml::Value::Table(t) if t.get("name").and_then(toml::Value::as_str) == Some(name) => {
                Some(t.clone())
            }
            _ => None,
        });
        if let Some(mut t) = found {
            t.remove("name");
            overlay::merge(&mut doc, &t)?;
        }
    }
    for (k, v) in sets {
        overlay::set_path(&mut doc, k, overlay::parse_value(v))?;
    }
    toml::to_string(&doc)
        .map_err(|e| Error::Other(format!("cannot write the scenario as TOML: {e}")))
}

/// Reads a scenario (a path, or a bundled lesson by name) and checks it with `o`.
pub fn load_with(arg: &str, o: Overrides) -> Result<Loaded, Error> {
    let (label, text) = bundled::source(arg)?;
    let file = scenario::parse(&text, &label, &o)?;
    Ok(Loaded {
        label,
        text,
        overrides: o,
        file,
    })
}

/// Loads the scenario with the run's overrides and variant choice.
pub fn load(args: &RunArgs) -> Result<ScenarioFile, Error> {
    Ok(load_run(args)?.file)
}

/// [`load`], keeping the text and overrides.
pub fn load_run(args: &RunArgs) -> Result<Loaded, Error> {
    let mut o = overrides(&args.sets, args.seed, args.duration.as_deref())?;
    if let Some(v) = &args.variant {
        // Only that variant is built (and `--set` applies to it, not to the base).
        o.variants = scenario::VariantFilter::Only(v.clone());
    }
    let mut l = load_with(&args.scenario, o)?;
    if let Some(v) = &args.variant {
        l.file.select_variant(v)?;
    }
    Ok(l)
}

/// A fan-out run's extra files: each subscriber's time series (and dashboard) under
/// `subscribers/<name>/`, and its headline series side by side in `subscribers.png/svg`.
fn fanout_files(
    s: &Scenario,
    r: &RunResult,
    dir: &Path,
    no_plots: bool,
    bundle: &mut Bundle,
    pictures: &mut Vec<(String, String)>,
) -> Result<(), Error> {
    for (sub, (name, sr)) in s.subscribers.iter().zip(&r.subscribers) {
        let sd = dir.join("subscribers").join(name);
        bundle.add(sd.join("timeseries.csv"), files::timeseries_csv(&sr.rows)?);
        if !no_plots {
            let (png, svg) = plot::dashboard(&sub.run, &sr.rows)?;
            bundle.add(sd.join("dashboard.png"), png);
            bundle.add(sd.join("dashboard.svg"), svg);
        }
    }
    if !no_plots {
        let runs: Vec<(String, &Scenario, &[crate::metrics::Row])> = s
            .subscribers
            .iter()
            .zip(&r.subscribers)
            .map(|(sub, (name, sr))| (name.clone(), &*sub.run, sr.rows.as_slice()))
            .collect();
        let title = match &s.variant {
            Some(v) => format!("{} / {v}: subscribers compared", s.name),
            None => format!("{}: subscribers compared", s.name),
        };
        let (png, svg) = plot::compare_named(&title, &sim::totals_scenario(s), &runs)?;
        bundle.add(dir.join("subscribers.png"), png);
        pictures.push((
            format!(
                "The subscribers of the fan-out side by side{}: each has its own queue and consumers.",
                s.variant
                    .as_deref()
                    .map(|v| format!(" ({v})"))
                    .unwrap_or_default()
            ),
            html::inline_svg(&svg, "subscribers compared"),
        ));
        bundle.add(dir.join("subscribers.svg"), svg);
    }
    Ok(())
}

/// What `run` did, for the binary and for tests.
pub struct RunReport {
    /// Text for standard output.
    pub stdout: String,
    /// Where files went.
    pub out_dir: PathBuf,
    /// One result per run, in file order.
    pub results: Vec<(Scenario, RunResult)>,
    /// Set when a run stopped early (resource limit or Ctrl-C): the files were written,
    /// but the command must not report success.
    pub incomplete: Option<Error>,
}

/// `queuelab run`.
pub fn run(args: &RunArgs) -> Result<RunReport, Error> {
    let loaded = load_run(args)?;
    let file = &loaded.file;
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("output").join(&file.base.name));
    let scenarios: Vec<Scenario> = file.runs().into_iter().cloned().collect();
    check_work(&scenarios.iter().collect::<Vec<_>>(), args.max_events, 1)?;
    let limits = limits(args.max_memory.as_deref())?;
    for s in &scenarios {
        guard::fits(s, &limits).map_err(|e| e.in_file(file.path.clone()))?;
    }
    let invocations = scenarios
        .iter()
        .map(|s| loaded.invocation(s))
        .collect::<Result<Vec<_>, _>>()?;
    // The folder is checked (and its staging folder made) before anything runs.
    let mut staging = report::Staging::begin(&out_dir)?;
    let mut results: Vec<RunResult> = scenarios
        .par_iter()
        .map(|s| sim::run_with(s, &limits))
        .collect();
    for (r, inv) in results.iter_mut().zip(invocations) {
        r.summary.invocation = Some(inv);
    }
    let side_by_side = !file.variants.is_empty() && args.variant.is_none();

    let mut bundle = Bundle::default();
    let mut pictures: Vec<(String, String)> = Vec::new();
    let run_dir = |s: &Scenario| {
        if side_by_side {
            out_dir.join(s.variant.as_deref().unwrap_or("base"))
        } else {
            out_dir.clone()
        }
    };
    let summaries: Vec<&crate::metrics::Summary> = results.iter().map(|r| &r.summary).collect();
    if side_by_side && !args.no_plots {
        let runs: Vec<(&Scenario, &[crate::metrics::Row])> = scenarios
            .iter()
            .zip(&results)
            .map(|(s, r)| (s, r.rows.as_slice()))
            .collect();
        let (png, svg) = plot::compare(&file.base, &runs)?;
        bundle.add(out_dir.join("compare.png"), png);
        pictures.push((
            "The variants compared on the dashboard's headline series (shaded: spikes and outages).".into(),
            html::inline_svg(&svg, "variants compared"),
        ));
        bundle.add(out_dir.join("compare.svg"), svg);
    }
    for (s, r) in scenarios.iter().zip(&results) {
        let dir = run_dir(s);
        bundle.add(dir.join("summary.json"), files::summary_json(&r.summary)?);
        bundle.add(dir.join("timeseries.csv"), files::timeseries_csv(&r.rows)?);
        if !s.subscribers.is_empty() {
            fanout_files(s, r, &dir, args.no_plots, &mut bundle, &mut pictures)?;
        }
        if !args.no_plots {
            let drawn = if s.subscribers.is_empty() {
                s.clone()
            } else {
                sim::totals_scenario(s)
            };
            let (png, svg) = plot::dashboard(&drawn, &r.rows)?;
            bundle.add(dir.join("dashboard.png"), png);
            pictures.push((
                format!(
                    "Dashboard{}",
                    s.variant
                        .as_deref()
                        .map(|v| format!(" of {v}"))
                        .unwrap_or_default()
                ),
                html::inline_svg(&svg, "dashboard"),
            ));
            bundle.add(dir.join("dashboard.svg"), svg);
        }
    }
    if side_by_side {
        bundle.add(
            out_dir.join("comparison.csv"),
            files::comparison_csv(&summaries)?,
        );
        bundle.add(
            out_dir.join("comparison.json"),
            files::summaries_json(&summaries)?,
        );
    }
    if !args.no_plots {
        let named: Vec<(String, &RunResult)> = scenarios
            .iter()
            .zip(&results)
            .map(|(s, r)| (s.variant.clone().unwrap_or_else(|| s.name.clone()), r))
            .collect();
        let (png, svg) = plot::latency_cdf(
            &format!("{}: latency distribution", file.base.name),
            &plot::cdf_curves(&named),
        )?;
        bundle.add(out_dir.join("latency_cdf.png"), png);
        pictures.push((
            "Latency distribution: end-to-end (solid, as a share of every message produced) and what callers waited (dashed), log-scaled time.".into(),
            html::inline_svg(&svg, "latency distribution"),
        ));
        bundle.add(out_dir.join("latency_cdf.svg"), svg);
    }
    let overridden = !loaded.overrides.sets.is_empty() || args.variant.is_some();
    let as_run: Vec<(String, String)> = if overridden {
        scenarios
            .iter()
            .zip(&results)
            .filter_map(|(s, r)| {
                let inv = r.summary.invocation.as_ref()?;
                Some((
                    s.variant.clone().unwrap_or_else(|| s.name.clone()),
                    inv.effective_scenario.clone(),
                ))
            })
            .collect()
    } else {
        Vec::new()
    };
    let page = html::render(&html::Report {
        base: &file.base,
        source: &loaded.text,
        path: &args.scenario,
        command: &shell_words(&report::command_line()),
        overrides: &results[0]
            .summary
            .invocation
            .as_ref()
            .map(|i| i.overrides.clone())
            .unwrap_or_default(),
        as_run,
        runs: scenarios
            .iter()
            .zip(&summaries)
            .map(|(s, r)| (s, *r))
            .collect(),
        pictures,
        lab: report::lab::address(&out_dir).map(|lab| {
            report::lab::link(
                &lab,
                &loaded.text,
                args.seed,
                args.variant.as_deref(),
                &args.scenario,
            )
        }),
    });
    bundle.add(out_dir.join("report.html"), page);
    staging.write(&bundle)?;
    staging.commit()?;

    // --quiet silences the text, never the output asked for with --format json.
    let stdout = match args.format {
        Format::Text if args.quiet => String::new(),
        Format::Json => {
            let bytes = if summaries.len() == 1 && !side_by_side {
                files::summary_json(summaries[0])?
            } else {
                files::summaries_json(&summaries)?
            };
            String::from_utf8_lossy(&bytes).into_owned()
        }
        Format::Text => {
            let mut o = String::new();
            for (s, r) in scenarios.iter().zip(&results) {
                let prediction = theory::params_of(s).and_then(|p| theory::predict(&p));
                let dir = if side_by_side {
                    out_dir.join(s.variant.as_deref().unwrap_or("base"))
                } else {
                    out_dir.clone()
                };
                o.push_str(&text::summary(
                    &r.summary,
                    prediction.as_ref(),
                    &[dir.display().to_string()],
                ));
                o.push('\n');
            }
            if side_by_side {
                o.push_str(&format!("{}: variants side by side\n", file.base.name));
                o.push_str(&text::comparison(&summaries));
                o.push_str(&format!("  comparison files in {}\n", out_dir.display()));
            }
            o
        }
    };
    let stops: Vec<String> = results
        .iter()
        .filter_map(|r| r.summary.stopped.clone())
        .collect();
    let incomplete = if stops.is_empty() {
        None
    } else {
        let msg = format!(
            "{}; the results so far are in {}",
            stops.join("; "),
            out_dir.display()
        );
        // A bad line met during the replay of a trace is bad input (exit 2), named as such.
        let bad = results.iter().find_map(|r| match &r.stop {
            Some(StopReason::BadInput { error, .. }) => Some(error.clone()),
            _ => None,
        });
        Some(if let Some(mut e) = bad {
            e.message = format!(
                "{} (the results so far are in {})",
                e.message,
                out_dir.display()
            );
            Error::Input(Box::new(e))
        } else if results
            .iter()
            .any(|r| matches!(r.stop, Some(StopReason::Interrupted { .. })))
        {
            Error::Interrupted(msg)
        } else {
            Error::Stopped(msg)
        })
    };
    Ok(RunReport {
        stdout,
        out_dir,
        results: scenarios.into_iter().zip(results).collect(),
        incomplete,
    })
}

/// Arguments of `queuelab check`.
#[derive(Debug, Clone, Default)]
pub struct CheckArgs {
    /// The scenario file (or bundled lesson).
    pub scenario: String,
    /// `KEY=VALUE` overrides.
    pub sets: Vec<String>,
    /// Check only this variant (with the overrides applied to it).
    pub variant: Option<String>,
    /// Overrides the file's seed.
    pub seed: Option<u64>,
    /// Overrides the file's duration.
    pub duration: Option<String>,
    /// Text or JSON on standard output.
    pub format: Format,
}

/// `queuelab check`: parse and validate only.
pub fn check(a: &CheckArgs) -> Result<String, Error> {
    let l = load_run(&RunArgs {
        scenario: a.scenario.clone(),
        sets: a.sets.clone(),
        variant: a.variant.clone(),
        seed: a.seed,
        duration: a.duration.clone(),
        ..Default::default()
    })?;
    let path = &a.scenario;
    let file = &l.file;
    let shown = if a.variant.is_some() {
        &file.variants[0]
    } else {
        &file.base
    };
    let names: Vec<&str> = file
        .variants
        .iter()
        .filter_map(|v| v.variant.as_deref())
        .collect();
    if a.format == Format::Json {
        let v = serde_json::json!({
            "file": l.label,
            "ok": true,
            "scenario": shown.name,
            "variant": shown.variant,
            "producers": shown.producers.len(),
            "consumers": shown.consumers.count,
            "duration_seconds": crate::time::ns_to_secs(shown.duration),
            "seed": shown.seed,
            "variants": names,
        });
        let mut s = serde_json::to_string_pretty(&v).map_err(|e| Error::Other(e.to_string()))?;
        s.push('\n');
        return Ok(s);
    }
    let mut out = format!(
        "{path}: ok — scenario `{}`{}, {} producer(s), {} consumer(s), {}",
        shown.name,
        shown
            .variant
            .as_deref()
            .map(|v| format!(" / {v}"))
            .unwrap_or_default(),
        shown.producers.len(),
        shown.consumers.count,
        crate::time::human(crate::time::ns_to_secs(shown.duration))
    );
    if !names.is_empty() && a.variant.is_none() {
        out.push_str(&format!(", variants: {}", names.join(", ")));
    }
    out.push('\n');
    Ok(out)
}

/// Arguments of `queuelab theory`.
#[derive(Debug, Clone)]
pub struct TheoryArgs {
    /// A scenario to take the model from (instead of the numbers below).
    pub scenario: Option<String>,
    /// Arrivals per second.
    pub arrival_rate: Option<f64>,
    /// Mean service time (a duration).
    pub service_mean: Option<String>,
    /// Squared coefficient of variation of the service time.
    pub service_scv: f64,
    /// Consumers.
    pub consumers: u32,
    /// Waiting places (omit for unbounded).
    pub capacity: Option<u64>,
    /// Text or JSON on standard output.
    pub format: Format,
    /// With a scenario: its variant to take the model from.
    pub variant: Option<String>,
    /// With a scenario: `KEY=VALUE` overrides.
    pub sets: Vec<String>,
}

/// `queuelab theory`.
pub fn theory(a: &TheoryArgs) -> Result<String, Error> {
    if a.scenario.is_none() && (a.variant.is_some() || !a.sets.is_empty()) {
        return Err(
            InputError::new("--variant and --set change a scenario; give one")
                .in_file(if a.variant.is_some() {
                    "--variant"
                } else {
                    "--set"
                })
                .hint("e.g. queuelab theory scenarios/decoupling.toml --set consumers.count=6")
                .into(),
        );
    }
    let params = if let Some(path) = &a.scenario {
        let file = load(&RunArgs {
            scenario: path.clone(),
            sets: a.sets.clone(),
            variant: a.variant.clone(),
            ..Default::default()
        })?;
        let s = if a.variant.is_some() {
            &file.variants[0]
        } else {
            &file.base
        };
        theory::params_of(s).ok_or_else(|| {
            InputError::new("this scenario is not a textbook queue (it has failures, retries, a schedule, several producers, sync callers, an enqueue latency, a broker kind or fan-out)")
                .in_file(path.clone())
        })?
    } else {
        let rate = a.arrival_rate.ok_or_else(|| {
            InputError::new("give --arrival-rate and --service-mean, or a scenario file")
                .in_file("theory")
        })?;
        let mean = a.service_mean.as_deref().ok_or_else(|| {
            InputError::new("give --service-mean (e.g. 40ms)").in_file("--service-mean")
        })?;
        let mean = crate::time::parse_duration(mean).map_err(|m| {
            InputError::of(ErrorKind::BadDuration, m.to_string())
                .in_file("--service-mean")
                .allowed("a duration such as 40ms")
        })?;
        if !(rate.is_finite() && rate > 0.0) {
            return Err(InputError::new("must be a positive number")
                .in_file("--arrival-rate")
                .into());
        }
        if a.consumers == 0 {
            return Err(InputError::new("must be at least 1")
                .in_file("--consumers")
                .into());
        }
        theory::Params {
            arrival_rate: rate,
            service_mean: mean,
            service_scv: a.service_scv,
            consumers: a.consumers,
            capacity: a.capacity,
        }
    };
    params.check().map_err(|e| match &a.scenario {
        Some(path) => e.in_file(path.clone()),
        None => e,
    })?;
    let p = theory::predict(&params).ok_or_else(|| {
        InputError::new("no closed form for this combination: finite capacity needs exponential service (scv 1), and several consumers need exponential service")
            .in_file("theory")
    })?;
    if a.format == Format::Json {
        let mut s = serde_json::to_string_pretty(&p).map_err(|e| Error::Other(e.to_string()))?;
        s.push('\n');
        return Ok(s);
    }
    let f = |x: Option<f64>| {
        x.map(|v| format!("{v:.6}"))
            .unwrap_or("- (no steady state)".into())
    };
    // Times as durations, as every command prints them, with the exact seconds after.
    let t = |x: Option<f64>| {
        x.map(|v| format!("{} ({v:.6} s)", crate::time::human(v)))
            .unwrap_or("- (no steady state)".into())
    };
    Ok(format!(
        "{} at rho = {:.4}{}\n  rejected fraction      {:.6}\n  throughput             {:.4}/s\n  utilization            {:.6}\n  P(wait > 0)            {}\n  mean queue wait        {}\n  mean time in system    {}\n  mean queue depth       {}\n",
        p.model,
        p.rho,
        if p.stable { "" } else { " (unstable: the queue grows without bound)" },
        p.p_block,
        p.throughput,
        p.utilization,
        f(p.p_wait),
        t(p.wq_mean),
        t(p.w_mean),
        f(p.lq_mean)
    ))
}

/// The report module's atomic writer, re-exported for other commands.
pub use report::write_atomic;

pub mod bundled;

/// Arguments joined into one line a shell reads back as the same arguments.
pub fn shell_words(args: &[String]) -> String {
    args.iter()
        .map(|a| {
            let plain = !a.is_empty()
                && a.chars().all(|c| {
                    c.is_ascii_alphanumeric()
                        || matches!(c, '_' | '-' | '.' | '/' | '=' | ':' | ',' | '+' | '@' | '%')
                });
            if plain {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

pub mod fit;
pub use fit::{fit, FitArgs, FitReport};

mod capacity;
pub use capacity::{
    merge, plan, prepare_sweep, run_sweep, MergeArgs, PlanArgs, PlanOutcome, PreparedSweep,
    SweepArgs,
};

/// Arguments of `queuelab quiz`.
#[derive(Debug, Clone, Default)]
pub struct QuizArgs {
    /// The scenario file.
    pub scenario: String,
    /// One variant of the file (default: the base scenario).
    pub variant: Option<String>,
    /// `KEY=VALUE` answers.
    pub answers: Vec<String>,
    /// Text or JSON on standard output.
    pub format: Format,
    /// `KEY=VALUE` overrides.
    pub sets: Vec<String>,
    /// Overrides the file's seed.
    pub seed: Option<u64>,
}

/// The quiz questions of a scenario (to ask before running).
pub fn quiz_questions(a: &QuizArgs) -> Result<(Scenario, Vec<crate::quiz::Question>), Error> {
    let file = load(&RunArgs {
        scenario: a.scenario.clone(),
        variant: a.variant.clone(),
        sets: a.sets.clone(),
        seed: a.seed,
        ..Default::default()
    })?;
    let s = if a.variant.is_some() {
        file.variants[0].clone()
    } else {
        file.base.clone()
    };
    if s.broker != crate::scenario::broker::Broker::Generic {
        return Err(InputError::new(format!(
            "the quiz reasons about a generic queue, and this scenario uses {} semantics",
            s.broker.name()
        ))
        .in_file(a.scenario.clone())
        .hint("run it with `queuelab run`, or pick a generic variant with --variant")
        .into());
    }
    if !s.subscribers.is_empty() {
        return Err(InputError::new(
            "the quiz asks about one queue, and this scenario fans out to several subscribers",
        )
        .in_file(a.scenario.clone())
        .hint(
            "pick a variant without [[subscribers]] with --variant, or run it with `queuelab run`",
        )
        .into());
    }
    let q = crate::quiz::questions(&s);
    Ok((s, q))
}

/// `queuelab quiz`: `ask` is called for each question without an `--answer` (the binary
/// prompts on a terminal, or returns None to skip); then the run is simulated and marked.
pub fn quiz(
    a: &QuizArgs,
    ask: &mut dyn FnMut(&crate::quiz::Question) -> Option<f64>,
) -> Result<String, Error> {
    let (s, questions) = quiz_questions(a)?;
    let mut answers: Vec<(String, f64)> = Vec::new();
    for raw in &a.answers {
        let (k, v) = overlay::split_assignment(raw, "--answer")?;
        let known: Vec<&str> = questions.iter().map(|q| q.key).collect();
        if !known.contains(&k.as_str()) {
            let mut e = InputError::new(format!("this scenario has no question `{k}`"))
                .in_file("--answer")
                .allowed(known.join(", "));
            if let Some(s) = crate::error::did_you_mean(&k, known.iter().copied()) {
                e = e.hint(format!("did you mean `{s}`?"));
            }
            return Err(e.into());
        }
        let value = crate::quiz::parse_answer(&v).ok_or_else(|| {
            InputError::new(format!("`{v}` is not a number")).in_file(format!("--answer {raw}"))
        })?;
        answers.push((k, value));
    }
    for q in &questions {
        if !answers.iter().any(|(k, _)| k == q.key) {
            if let Some(v) = ask(q) {
                answers.push((q.key.to_string(), v));
            }
        }
    }
    check_work(&[&s], None, 1)?;
    guard::fits(&s, &Limits::default())?;
    let summary = sim::run(&s).summary;
    let marked = crate::quiz::mark(&s, &summary, &answers);
    if a.format == Format::Json {
        let mut out =
            serde_json::to_string_pretty(&marked).map_err(|e| Error::Other(e.to_string()))?;
        out.push('\n');
        Ok(out)
    } else {
        Ok(crate::quiz::describe(&marked) + &crate::quiz::not_asked_text(&s))
    }
}

/// Asks `q` on `output` and reads the answer from `input`, asking again (and saying why)
/// until the line is a number, a duration or empty (skip); None on an empty line or at the
/// end of the input.
pub fn ask_answer(
    q: &crate::quiz::Question,
    input: &mut dyn std::io::BufRead,
    output: &mut dyn std::io::Write,
) -> Option<f64> {
    loop {
        let _ = write!(output, "{} [{}; Enter to skip] ", q.prompt, q.unit);
        let _ = output.flush();
        let mut line = String::new();
        if input.read_line(&mut line).ok()? == 0 || line.trim().is_empty() {
            return None;
        }
        match crate::quiz::parse_answer(&line) {
            Some(v) => return Some(v),
            None => {
                let _ = writeln!(
                    output,
                    "`{}` is not a number: answer with a number (50000, 12.5%) or a duration (90s, 3m, 1m30s), or press Enter to skip.",
                    line.trim()
                );
            }
        }
    }
}

/// `queuelab list`: the scenarios in a folder (or, without one, the bundled lessons)
/// with the question each answers.
pub fn list(dir: Option<&Path>) -> Result<String, Error> {
    let entries: Vec<(String, String)> = match dir {
        None => bundled::BUNDLED
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect(),
        Some(dir) => {
            let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
                .map_err(|e| {
                    InputError::new(format!("cannot read the folder: {e}"))
                        .in_file(dir.display().to_string())
                })?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect();
            names.sort();
            names
                .into_iter()
                .map(|p| {
                    let text = std::fs::read_to_string(&p).unwrap_or_default();
                    (p.display().to_string(), text)
                })
                .collect()
        }
    };
    let mut out = String::new();
    if dir.is_none() {
        out.push_str("The bundled lessons (run one by name from any folder, e.g. `queuelab run flash_sale`; a path to a file of your own works the same way):\n\n");
    }
    for (path, text) in entries {
        match scenario::parse(&text, &path, &Overrides::default()) {
            Ok(f) => {
                let question = f
                    .base
                    .teaching
                    .as_ref()
                    .map(|t| t.question.clone())
                    .unwrap_or_default();
                let variants: Vec<&str> = f
                    .variants
                    .iter()
                    .filter_map(|v| v.variant.as_deref())
                    .collect();
                out.push_str(&format!(
                    "{path}\n  {}\n",
                    if question.is_empty() {
                        &f.base.description
                    } else {
                        &question
                    }
                ));
                if !variants.is_empty() {
                    out.push_str(&format!("  variants: {}\n", variants.join(", ")));
                }
            }
            Err(e) => out.push_str(&format!(
                "{path}\n  (does not load: {})\n",
                e.to_string().lines().next().unwrap_or("")
            )),
        }
    }
    if out.is_empty() {
        out = format!(
            "no scenario files in {}\n",
            dir.map(|d| d.display().to_string()).unwrap_or_default()
        );
    }
    Ok(out)
}

/// Arguments of `queuelab watch`.
#[derive(Debug, Clone, Default)]
pub struct WatchArgs {
    /// The scenario file.
    pub scenario: String,
    /// The variant to play (default: the first one, or the file itself without variants).
    pub variant: Option<String>,
    /// `KEY=VALUE` overrides.
    pub sets: Vec<String>,
    /// Overrides the file's seed.
    pub seed: Option<u64>,
    /// Starting speed, simulated seconds per second (default: the whole run in about a minute).
    pub speed: Option<f64>,
    /// Print the frame at this simulated time as text instead of playing.
    pub at: Option<String>,
    /// Size of a printed frame, `WIDTHxHEIGHT`.
    pub size: Option<String>,
}

/// `queuelab watch`: plays a run in the terminal, or with `--at` prints one frame as text.
pub fn watch(a: &WatchArgs) -> Result<String, Error> {
    use crate::watch::{term, view, Player};
    let mut file = load(&RunArgs {
        scenario: a.scenario.clone(),
        variant: a.variant.clone(),
        sets: a.sets.clone(),
        seed: a.seed,
        ..Default::default()
    })?;
    let s = if file.variants.is_empty() {
        file.base.clone()
    } else {
        file.variants.swap_remove(0)
    };
    let (width, height) = match a.size.as_deref() {
        None => (100, 32),
        Some(t) => t
            .split_once('x')
            .and_then(|(w, h)| Some((w.trim().parse::<u16>().ok()?, h.trim().parse::<u16>().ok()?)))
            .filter(|&(w, h)| (60..=400).contains(&w) && (20..=200).contains(&h))
            .ok_or_else(|| {
                InputError::new(format!("`{t}` is not a frame size"))
                    .in_file("--size")
                    .allowed("WIDTHxHEIGHT with width 60..=400 and height 20..=200, e.g. 100x32")
            })?,
    };
    let at = match a.at.as_deref() {
        None => None,
        Some(t) => Some(crate::time::parse_duration(t).map_err(|m| {
            InputError::of(ErrorKind::BadDuration, m.to_string())
                .in_file("--at")
                .allowed("a simulated time such as 90s, 2m30s")
        })?),
    };
    if let Some(v) = a.speed {
        if !(v.is_finite() && v > 0.0) {
            return Err(InputError::new(format!("{v} is not a speed"))
                .in_file("--speed")
                .allowed("simulated seconds per second, > 0, e.g. 10")
                .into());
        }
    }
    check_work(&[&s], None, 1)?;
    guard::fits(&s, &Limits::default())?;
    let mut p = Player::new(&s);
    if let Some(v) = a.speed {
        p.speed = v;
    }
    if let Some(t) = at {
        p.t = t.min(p.duration);
        p.paused = true;
        return Ok(view::snapshot(&p, width, height));
    }
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() {
        return Err(InputError::new(
            "watch plays in an interactive terminal, and standard output is not one",
        )
        .in_file("watch")
        .hint("pass --at TIME to print the frame at that simulated time as text, e.g. --at 2m")
        .into());
    }
    term::play(&mut p).map_err(|e| Error::io("cannot drive the terminal".to_string(), e))?;
    Ok(String::new())
}
