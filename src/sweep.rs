//! Sweeps: a grid of scenario settings x replications, run in parallel, summarised with
//! confidence intervals, and split into shards that merge back into the same files.
//!
//! Determinism: every run's seed depends only on the scenario's seed, the replication
//! and (with `--seeds independent`) the point; results are collected in run order, so
//! the files are byte-identical for any thread count, any shard split and any order.
//! Statistics are computed from the values as written to sweep.csv (shortest round-trip
//! floats), so a merge of shards goes through exactly the same arithmetic.

use crate::error::{did_you_mean, Error, InputError};
use crate::metrics::timeseries::fmt_f;
use crate::rng::mix64;
use crate::scenario::{self, overlay, Overrides, Scenario, VariantFilter};
use crate::stats::{interval, Interval};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

pub mod uncertain;
pub use uncertain::{Law, Uncertain};

/// The metrics written per run (dotted paths into summary.json).
pub const METRICS: &[&str] = &[
    "counts.produced",
    "counts.completed",
    "counts.rejected",
    "counts.dropped",
    "counts.dead_lettered",
    "counts.failed",
    "counts.retries",
    "counts.duplicates",
    "latency.end_to_end.mean",
    "latency.end_to_end.p50",
    "latency.end_to_end.p99",
    "latency.end_to_end.max",
    "latency.queue_wait.mean",
    "latency.queue_wait.p99",
    "latency.client.p99",
    "latency.client.max",
    "queue.mean_depth",
    "queue.max_depth",
    "queue.max_oldest_age",
    "consumers.utilization",
    "client.errors",
    "client.timeouts",
    "rates.throughput",
    "rates.goodput",
    "rates.retry_amplification",
    "recovered",
];

/// One `--vary`: a key and the values it takes (as TOML value texts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vary {
    /// Dotted scenario key.
    pub key: String,
    /// Values, as written on the command line or expanded from a range.
    pub values: Vec<String>,
}

/// Parses `KEY=V1,V2,...`, `KEY=A..B` (integers, inclusive) or `KEY=A..B:STEP`.
pub fn parse_vary(arg: &str) -> Result<Vary, InputError> {
    let (key, spec) = overlay::split_assignment(arg, "--vary")?;
    let bad = |m: String| {
        InputError::new(m)
            .in_file(format!("--vary {arg}"))
            .allowed("KEY=V1,V2,...  KEY=A..B (integers)  KEY=A..B:STEP")
    };
    let values = if let Some((range, step)) = spec.split_once("..").map(|(a, rest)| {
        let (b, step) = rest
            .split_once(':')
            .map(|(b, s)| (b, Some(s)))
            .unwrap_or((rest, None));
        ((a.trim(), b.trim()), step.map(str::trim))
    }) {
        let (a, b) = range;
        let ints = a.parse::<i64>().is_ok()
            && b.parse::<i64>().is_ok()
            && step.is_none_or(|s| s.parse::<i64>().is_ok());
        if ints {
            let (a, b): (i64, i64) = (a.parse().unwrap_or(0), b.parse().unwrap_or(0));
            let step: i64 = step.and_then(|s| s.parse().ok()).unwrap_or(1);
            if step <= 0 || b < a {
                return Err(bad(format!(
                    "`{spec}` is an empty range (need A <= B and STEP > 0)"
                )));
            }
            let n = (b - a) / step + 1;
            if n > 100_000 {
                return Err(bad(format!("`{spec}` has {n} values; at most 100000")));
            }
            (0..n).map(|i| (a + i * step).to_string()).collect()
        } else {
            let parse = |s: &str| {
                s.parse::<f64>()
                    .map_err(|_| bad(format!("`{s}` is not a number")))
            };
            let (a, b) = (parse(a)?, parse(b)?);
            let Some(step) = step else {
                return Err(bad(format!(
                    "`{spec}`: a range of decimals needs a step, e.g. {a}..{b}:0.5"
                )));
            };
            let step = parse(step)?;
            if step <= 0.0 || b < a || !((b - a) / step).is_finite() || (b - a) / step > 100_000.0 {
                return Err(bad(format!("`{spec}` is not a usable range")));
            }
            let n = ((b - a) / step + 1e-9).floor() as u64 + 1;
            (0..n).map(|i| fmt_f(a + i as f64 * step)).collect()
        }
    } else {
        spec.split(',')
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect::<Vec<_>>()
    };
    if values.is_empty() {
        return Err(bad("no values".into()));
    }
    Ok(Vary { key, values })
}

/// How run seeds are derived.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Seeds {
    /// Replication r uses the same seed at every point (common random numbers: differences
    /// between points are not blurred by different arrivals). Replication 0 is the file's seed.
    #[default]
    Common,
    /// Every (point, replication) gets its own seed.
    Independent,
}

/// The seed of one run.
pub fn run_seed(base: u64, point: usize, replication: u32, mode: Seeds) -> u64 {
    let mask = i64::MAX as u64;
    match mode {
        Seeds::Common if replication == 0 => base,
        Seeds::Common => mix64(base ^ mix64(u64::from(replication))) & mask,
        Seeds::Independent => {
            mix64(base ^ mix64(((point as u64) << 32) | u64::from(replication)) ^ 0x5eed) & mask
        }
    }
}

/// What a sweep runs: everything needed to rebuild its runs (written as sweep.json).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spec {
    /// Scenario file path, as given.
    pub scenario: String,
    /// `--set` overrides applied to every run.
    pub sets: Vec<(String, String)>,
    /// `--variant`, if any.
    pub variant: Option<String>,
    /// The grid, first key outermost.
    pub vary: Vec<Vary>,
    /// Replications per point.
    pub replications: u32,
    /// Seed derivation.
    pub seeds: Seeds,
    /// The scenario's own seed.
    pub base_seed: u64,
    /// `(I, N)` when this is shard I of N (1-based).
    pub shard: Option<(u32, u32)>,
    /// `--uncertain` inputs: each replication draws one value of each (its future).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uncertain: Vec<Uncertain>,
}

/// The most runs one sweep (all its shards together) may have.
pub const MAX_RUNS: usize = 1_000_000;

/// The allowed `--threads`.
pub const MAX_THREADS: usize = 1024;

impl Spec {
    /// Number of grid points. Only meaningful for a spec that passed [`Spec::check`]
    /// (which refuses grids whose size does not fit).
    pub fn points(&self) -> usize {
        self.vary.iter().map(|v| v.values.len()).product()
    }

    /// Checks what a spec read from the command line or from a sweep.json must hold
    /// before anything is computed from it: at least one key, every key with values and
    /// varied once, at least one replication, a grid of at most [`MAX_RUNS`] runs (counted
    /// without wrapping), a shard I/N with 1 <= I <= N. The message says which rule broke.
    pub fn check(&self) -> Result<(), String> {
        if self.vary.is_empty() {
            return Err("no key is varied (give at least one --vary KEY=V1,V2,...)".into());
        }
        for (i, v) in self.vary.iter().enumerate() {
            if v.key.trim().is_empty() {
                return Err(format!("varied key {} has no name", i + 1));
            }
            if v.values.is_empty() {
                return Err(format!("`{}` is varied over no values", v.key));
            }
            if self.vary[..i].iter().any(|w| w.key == v.key) {
                return Err(format!(
                    "`{}` is varied twice; give all its values in one --vary {}=V1,V2,...",
                    v.key, v.key
                ));
            }
            if self.sets.iter().any(|(k, _)| *k == v.key) {
                return Err(format!(
                    "`{}` is both varied and set with --set; the sweep would silently use the varied values",
                    v.key
                ));
            }
        }
        for (i, u) in self.uncertain.iter().enumerate() {
            if let Some(w) = self.uncertain[..i]
                .iter()
                .find(|w| overlay::overlaps(&w.key, &u.key))
            {
                return Err(format!(
                    "`{}` and `{}` are both uncertain: give each key one --uncertain",
                    w.key, u.key
                ));
            }
            if let Some(v) = self.vary.iter().find(|v| overlay::overlaps(&v.key, &u.key)) {
                return Err(format!(
                    "`{}` is both varied (--vary {}) and uncertain (--uncertain {}): a key is either a setting you choose or an input you are unsure of",
                    u.key, v.key, u.key
                ));
            }
            if let Some((k, _)) = self.sets.iter().find(|(k, _)| overlay::overlaps(k, &u.key)) {
                return Err(format!(
                    "`{}` is both set (--set {k}=...) and uncertain: the run would silently use one of them",
                    u.key
                ));
            }
        }
        if self.replications == 0 {
            return Err("replications must be at least 1".into());
        }
        let total = self
            .vary
            .iter()
            .try_fold(self.replications as usize, |acc, v| {
                acc.checked_mul(v.values.len())
            });
        match total {
            Some(t) if t <= MAX_RUNS => {}
            Some(t) => {
                return Err(format!(
                    "the grid has {t} runs (points x replications), more than one sweep may do ({MAX_RUNS})"
                ))
            }
            None => {
                let sizes: Vec<String> = self.vary.iter().map(|v| v.values.len().to_string()).collect();
                return Err(format!(
                    "the grid has {} x {} replication(s) runs, a number too large to count, far more than one sweep may do ({MAX_RUNS})",
                    sizes.join(" x "),
                    self.replications
                ));
            }
        }
        if let Some((i, n)) = self.shard {
            if i == 0 || n == 0 || i > n {
                return Err(format!("shard {i}/{n} is not I/N with 1 <= I <= N"));
            }
        }
        Ok(())
    }

    /// The varied values of point `p` (first key outermost).
    pub fn point_values(&self, p: usize) -> Vec<&str> {
        let mut rest = p;
        let mut out = vec![""; self.vary.len()];
        for (i, v) in self.vary.iter().enumerate().rev() {
            out[i] = &v.values[rest % v.values.len()];
            rest /= v.values.len();
        }
        out
    }

    /// The uncertain inputs' values in future (replication) `r`, in `--uncertain` order:
    /// the same at every point.
    pub fn future_values(&self, r: u32) -> Vec<f64> {
        self.uncertain
            .iter()
            .map(|u| u.draw(self.base_seed, r))
            .collect()
    }

    /// Runs in this sweep (or shard): `run` indices.
    pub fn run_indices(&self) -> Vec<usize> {
        let total = self.points() * self.replications as usize;
        match self.shard {
            None => (0..total).collect(),
            Some((i, n)) => (0..total)
                .filter(|r| r % n as usize == (i - 1) as usize)
                .collect(),
        }
    }
}

/// Builds the scenario of point `p`, replication `r`.
pub fn scenario_for(spec: &Spec, text: &str, p: usize, r: u32) -> Result<Scenario, InputError> {
    let mut o = Overrides {
        sets: spec.sets.clone(),
        variants: match &spec.variant {
            Some(v) => VariantFilter::Only(v.clone()),
            None => VariantFilter::None,
        },
        ..Default::default()
    };
    for (v, value) in spec.vary.iter().zip(spec.point_values(p)) {
        o.set(&v.key, value);
    }
    let drawn = spec.future_values(r);
    for (u, x) in spec.uncertain.iter().zip(&drawn) {
        o.set(&u.key, u.value_text(*x));
    }
    o.set(
        "seed",
        run_seed(spec.base_seed, p, r, spec.seeds).to_string(),
    );
    let build = || -> Result<Scenario, InputError> {
        let mut f = scenario::parse(text, &spec.scenario, &o)?;
        if let Some(v) = &spec.variant {
            f.select_variant(v)?;
            return Ok(f.variants.remove(0));
        }
        Ok(f.base)
    };
    build().map_err(|mut e| {
        if !spec.uncertain.is_empty() {
            let vals: Vec<String> = spec
                .uncertain
                .iter()
                .zip(&drawn)
                .map(|(u, x)| format!("{}={}", u.key, u.value_text(*x)))
                .collect();
            e.message = format!(
                "in future {r} (drawn: {}): {}",
                vals.join(", "),
                e.message
            );
            // The drawn value went in as a `--set`: blame the flag that was given.
            if let Some(u) = spec.uncertain.iter().find(|u| {
                e.file
                    .as_deref()
                    .is_some_and(|f| f.starts_with(&format!("--set {}=", u.key)))
            }) {
                e.file = Some(format!("--uncertain {}={}", u.key, u.text));
            }
            if e.hint.is_none() {
                e = e.hint("every value a law can draw must be valid for its key: narrow the range, or pick a law that stays inside what the key allows (a whole-number key cannot be uncertain)");
            }
        }
        e
    })
}

/// One run's row of sweep.csv.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRow {
    /// Run index (point * replications + replication).
    pub run: usize,
    /// Grid point.
    pub point: usize,
    /// Replication.
    pub replication: u32,
    /// Seed used.
    pub seed: u64,
    /// One value per [`METRICS`] entry (`None` where the run had no sample).
    pub metrics: Vec<Option<f64>>,
}

/// The value of a dotted path in a summary, as a number (`recovered`: 1 if every
/// disturbance recovered or there was none, else 0).
pub fn metric(summary: &serde_json::Value, path: &str) -> Option<f64> {
    if path == "recovered" {
        let all = summary["recovery"]
            .as_array()
            .is_none_or(|ds| ds.iter().all(|d| d["recovered"].as_bool() == Some(true)));
        return Some(if all { 1.0 } else { 0.0 });
    }
    let mut v = summary;
    for seg in path.split('.') {
        v = match v {
            // A list (`subscribers`, `classes`, `recovery`) is indexed by position or by
            // the `name` of an entry: `subscribers.email.latency.end_to_end.p99`.
            serde_json::Value::Array(a) => match seg.parse::<usize>() {
                Ok(i) => a.get(i)?,
                Err(_) => a.iter().find(|x| x["name"].as_str() == Some(seg))?,
            },
            _ => v.get(seg)?,
        };
    }
    v.as_f64()
}

/// Every numeric path in a summary (for did-you-mean on targets).
pub fn metric_paths(summary: &serde_json::Value) -> Vec<String> {
    fn walk(v: &serde_json::Value, prefix: &str, out: &mut Vec<String>) {
        if let Some(o) = v.as_object() {
            for (k, x) in o {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                walk(x, &p, out);
            }
        } else if let Some(a) = v.as_array() {
            for x in a {
                if let Some(name) = x["name"].as_str() {
                    walk(x, &format!("{prefix}.{name}"), out);
                }
            }
        } else if v.is_number() || v.is_null() {
            out.push(prefix.to_string());
        }
    }
    let mut out = vec!["recovered".to_string()];
    walk(summary, "", &mut out);
    out
}

/// Runs `spec`'s runs (all, or its shard) on `threads` threads; `on_row` is called with
/// each run's row as it finishes (in completion order). Every scenario is built (and so
/// checked) before any run starts. After an interrupt ([`crate::guard::interrupt`]) no
/// new run starts and runs cut short are left out: the rows returned are the finished
/// ones, in run order.
pub fn execute(
    spec: &Spec,
    text: &str,
    threads: usize,
    metrics: &[String],
    on_row: &(dyn Fn(&RunRow) + Sync),
) -> Result<Vec<RunRow>, Error> {
    let runs = spec.run_indices();
    let reps = spec.replications as usize;
    let scenarios: Vec<(usize, Scenario)> = runs
        .iter()
        .map(|&run| scenario_for(spec, text, run / reps, (run % reps) as u32).map(|s| (run, s)))
        .collect::<Result<_, _>>()?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::Other(format!("cannot start {threads} threads: {e}")))?;
    let rows = pool.install(|| {
        scenarios
            .par_iter()
            .filter_map(|(run, s)| {
                if crate::guard::interrupted() {
                    return None;
                }
                let r = crate::sim::run(s);
                if r.summary.stopped.is_some() {
                    return None;
                }
                let json = serde_json::to_value(&r.summary).unwrap_or_default();
                let row = RunRow {
                    run: *run,
                    point: run / reps,
                    replication: (run % reps) as u32,
                    seed: s.seed,
                    metrics: metrics.iter().map(|m| metric(&json, m)).collect(),
                };
                on_row(&row);
                Some(row)
            })
            .collect::<Vec<_>>()
    });
    Ok(rows)
}

fn csv_err(e: impl std::fmt::Display) -> Error {
    Error::Other(format!("cannot encode CSV: {e}"))
}

/// The header of sweep.csv.
pub fn rows_header(spec: &Spec, metrics: &[String]) -> Vec<String> {
    let mut header = vec!["run".to_string(), "point".to_string()];
    header.extend(spec.vary.iter().map(|v| v.key.clone()));
    header.extend(["replication".to_string(), "seed".to_string()]);
    header.extend(spec.uncertain.iter().map(|u| u.key.clone()));
    header.extend(metrics.iter().cloned());
    header
}

/// One line of sweep.csv.
pub fn row_record(spec: &Spec, r: &RunRow) -> Vec<String> {
    let mut rec = vec![r.run.to_string(), r.point.to_string()];
    rec.extend(spec.point_values(r.point).iter().map(|s| s.to_string()));
    rec.extend([r.replication.to_string(), r.seed.to_string()]);
    rec.extend(spec.future_values(r.replication).into_iter().map(fmt_f));
    rec.extend(r.metrics.iter().map(|m| m.map(fmt_f).unwrap_or_default()));
    rec
}

/// sweep.csv: one row per run.
pub fn rows_csv(spec: &Spec, metrics: &[String], rows: &[RunRow]) -> Result<Vec<u8>, Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(rows_header(spec, metrics))
        .map_err(csv_err)?;
    for r in rows {
        w.write_record(row_record(spec, r)).map_err(csv_err)?;
    }
    w.into_inner().map_err(csv_err)
}

/// Reads sweep.csv back (for merging shards), checking it against its manifest: the
/// header must be the one `spec` and `metrics` give (a deleted or renamed column is named),
/// and every row must be a run of this sweep (its shard's, when `spec` is a shard) at the
/// point, values, replication and seed the spec gives it. `label` names the file in errors,
/// with the line.
pub fn parse_rows_csv(
    bytes: &[u8],
    spec: &Spec,
    metrics: &[String],
    label: &str,
) -> Result<Vec<RunRow>, Error> {
    let bad = |m: String| Error::from(InputError::new(m).in_file(label.to_string()));
    let mut r = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let header: Vec<String> = r
        .headers()
        .map_err(|e| bad(e.to_string()))?
        .iter()
        .map(str::to_string)
        .collect();
    let want = rows_header(spec, metrics);
    if header != want {
        let missing: Vec<&str> = want
            .iter()
            .filter(|c| !header.contains(c))
            .map(String::as_str)
            .collect();
        let extra: Vec<&str> = header
            .iter()
            .filter(|c| !want.contains(c))
            .map(String::as_str)
            .collect();
        let what = match (missing.is_empty(), extra.is_empty()) {
            (false, _) => format!("it lacks the column(s) {}", missing.join(", ")),
            (true, false) => format!("it has unexpected column(s) {}", extra.join(", ")),
            (true, true) => "its columns are in another order".to_string(),
        };
        return Err(bad(format!(
            "the header does not match the sweep's manifest (sweep.json): {what}"
        )));
    }
    let total = spec.points() * spec.replications as usize;
    let mine: std::collections::BTreeSet<usize> = spec.run_indices().into_iter().collect();
    let reps = spec.replications as usize;
    let first_metric = 4 + spec.vary.len() + spec.uncertain.len();
    let mut rows = Vec::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| bad(e.to_string()))?;
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        let bad_row = |m: String| bad(format!("line {line}: {m}"));
        if rec.len() != want.len() {
            return Err(bad_row(format!(
                "{} fields where the header has {}",
                rec.len(),
                want.len()
            )));
        }
        let num = |i: usize| {
            rec.get(i)
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or_else(|| bad_row(format!("`{}` is not a whole number", want[i])))
        };
        let run = num(0)? as usize;
        let point = num(1)? as usize;
        let replication = num(2 + spec.vary.len())?;
        let seed = num(3 + spec.vary.len())?;
        if run >= total {
            return Err(bad_row(format!(
                "run {run} is not in this sweep (runs 0..{})",
                total.saturating_sub(1)
            )));
        }
        if !mine.contains(&run) {
            return Err(bad_row(format!(
                "run {run} is not one of this shard's runs"
            )));
        }
        if point != run / reps || replication != (run % reps) as u64 {
            return Err(bad_row(format!(
                "run {run} is point {} replication {}, not point {point} replication {replication}",
                run / reps,
                run % reps
            )));
        }
        let values = spec.point_values(point);
        for (i, (v, x)) in spec.vary.iter().zip(&values).enumerate() {
            if rec.get(2 + i) != Some(*x) {
                return Err(bad_row(format!(
                    "point {point} has {}={x}, not {}",
                    v.key,
                    rec.get(2 + i).unwrap_or("")
                )));
            }
        }
        let want_seed = run_seed(spec.base_seed, point, replication as u32, spec.seeds);
        if seed != want_seed {
            return Err(bad_row(format!(
                "run {run} was seeded {want_seed}, not {seed}"
            )));
        }
        let drawn = spec.future_values(replication as u32);
        for (i, (u, x)) in spec.uncertain.iter().zip(drawn).enumerate() {
            let got = rec.get(4 + spec.vary.len() + i).unwrap_or("");
            if got != fmt_f(x) {
                return Err(bad_row(format!(
                    "future {replication} drew {}={}, not {got}",
                    u.key,
                    fmt_f(x)
                )));
            }
        }
        let mut values = Vec::with_capacity(metrics.len());
        for (i, t) in rec.iter().enumerate().skip(first_metric) {
            if t.is_empty() {
                values.push(None);
            } else {
                values.push(Some(t.parse::<f64>().map_err(|_| {
                    bad_row(format!("`{}` is `{t}`, not a number", want[i]))
                })?));
            }
        }
        rows.push(RunRow {
            run,
            point,
            replication: replication as u32,
            seed,
            metrics: values,
        });
    }
    Ok(rows)
}

/// Whether a metric is a time in seconds (printed as a duration, like everywhere else).
pub fn is_time_metric(metric: &str) -> bool {
    let last = metric.rsplit('.').next().unwrap_or(metric);
    metric.starts_with("latency.")
        || metric.contains(".latency.")
        || last.ends_with("_age")
        || last.ends_with("seconds")
}

/// A metric's value as printed: durations as durations (`1.25s`, `4m 05s`), others
/// with four decimals.
pub fn fmt_metric(metric: &str, x: f64) -> String {
    if is_time_metric(metric) {
        crate::time::human(x)
    } else {
        format!("{x:.4}")
    }
}

/// A mean and its interval as printed: `mean [low, high]`, or with fewer than two runs
/// `mean (one run: no interval)` (one value says nothing about its spread).
pub fn fmt_interval(metric: &str, iv: Option<&Interval>) -> String {
    match iv {
        None => "no samples".into(),
        Some(i) if i.n < 2 => format!("{} (one run: no interval)", fmt_metric(metric, i.mean)),
        Some(i) => format!(
            "{} [{}, {}]",
            fmt_metric(metric, i.mean),
            fmt_metric(metric, i.low),
            fmt_metric(metric, i.high)
        ),
    }
}

/// The 95% interval of each metric at each point: `[point][metric]`.
pub fn point_intervals(
    spec: &Spec,
    metrics: &[String],
    rows: &[RunRow],
) -> Vec<Vec<Option<Interval>>> {
    (0..spec.points())
        .map(|p| {
            let at: Vec<&RunRow> = rows.iter().filter(|r| r.point == p).collect();
            (0..metrics.len())
                .map(|m| interval(&at.iter().map(|r| r.metrics[m]).collect::<Vec<_>>()))
                .collect()
        })
        .collect()
}

/// The spread of a metric across a point's runs (its futures, when inputs are uncertain):
/// the 5th, 50th and 95th percentiles of the values, interpolated linearly between order
/// statistics (Hyndman and Fan's type 7, as numpy and R give by default).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Spread {
    /// Values used (runs with a sample).
    pub n: usize,
    /// 5th percentile.
    pub p5: f64,
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
}

/// The `p` quantile (0..=1) of sorted values, type 7.
pub fn quantile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * p.clamp(0.0, 1.0);
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// The spread of `values` (missing and non-finite ones skipped; `None` if none is left).
pub fn spread(values: &[Option<f64>]) -> Option<Spread> {
    let mut xs: Vec<f64> = values
        .iter()
        .flatten()
        .copied()
        .filter(|x| x.is_finite())
        .collect();
    if xs.is_empty() {
        return None;
    }
    xs.sort_by(f64::total_cmp);
    Some(Spread {
        n: xs.len(),
        p5: quantile(&xs, 0.05),
        p50: quantile(&xs, 0.5),
        p95: quantile(&xs, 0.95),
    })
}

/// The spread of each metric at each point: `[point][metric]`.
pub fn point_spreads(spec: &Spec, metrics: &[String], rows: &[RunRow]) -> Vec<Vec<Option<Spread>>> {
    (0..spec.points())
        .map(|p| {
            let at: Vec<&RunRow> = rows.iter().filter(|r| r.point == p).collect();
            (0..metrics.len())
                .map(|m| spread(&at.iter().map(|r| r.metrics[m]).collect::<Vec<_>>()))
                .collect()
        })
        .collect()
}

/// A share of runs (futures) with its 95% interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Share {
    /// Runs that met.
    pub met: usize,
    /// Runs in all.
    pub n: usize,
    /// `met / n`.
    pub fraction: f64,
    /// Lower end of the 95% Wilson score interval of the fraction.
    pub low: f64,
    /// Upper end of it.
    pub high: f64,
}

/// z for a two-sided 95% interval.
const Z95: f64 = 1.959_963_984_540_054;

/// `met` of `n` with its 95% Wilson score interval (which, unlike `p ± z·se`, stays inside
/// [0, 1] and does not collapse to a point when every run met or none did). `None` for
/// `n = 0`.
pub fn share(met: usize, n: usize) -> Option<Share> {
    if n == 0 {
        return None;
    }
    let (k, nf) = (met as f64, n as f64);
    let p = k / nf;
    let z2 = Z95 * Z95;
    let centre = (p + z2 / (2.0 * nf)) / (1.0 + z2 / nf);
    let half = Z95 / (1.0 + z2 / nf) * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt();
    Some(Share {
        met,
        n,
        fraction: p,
        low: if met == 0 {
            0.0
        } else {
            (centre - half).max(0.0)
        },
        high: if met == n {
            1.0
        } else {
            (centre + half).min(1.0)
        },
    })
}

/// The fewest runs whose share can show "at least `f`": with every run meeting, the
/// Wilson interval's lower end reaches `f` from this many on. `None` for `f >= 1` (no
/// finite number of runs shows 100%).
pub fn runs_to_show(f: f64) -> Option<u32> {
    if f.is_nan() || f > 0.9999 {
        return None;
    }
    (1..=1_000_000u32).find(|&n| share(n as usize, n as usize).is_some_and(|s| s.low >= f))
}

/// `5% 1.2s · 50% 1.4s · 95% 2.0s` (spread across futures).
pub fn fmt_spread(metric: &str, s: Option<&Spread>) -> String {
    match s {
        None => "no samples".into(),
        Some(s) => format!(
            "p5 {} · p50 {} · p95 {}",
            fmt_metric(metric, s.p5),
            fmt_metric(metric, s.p50),
            fmt_metric(metric, s.p95)
        ),
    }
}

/// `37 of 40 (92.5%, 95% interval 80.1% to 97.4%)`.
pub fn fmt_share(s: &Share) -> String {
    format!(
        "{} of {} ({:.1}%, 95% interval {:.1}% to {:.1}%)",
        s.met,
        s.n,
        100.0 * s.fraction,
        100.0 * s.low,
        100.0 * s.high
    )
}

/// The share of each point's runs that met every target (targets on metrics not among
/// `metrics`, or runs without a sample, do not meet).
pub fn point_shares(
    spec: &Spec,
    metrics: &[String],
    rows: &[RunRow],
    targets: &[crate::plan::Target],
) -> Vec<Option<Share>> {
    (0..spec.points())
        .map(|p| {
            let at: Vec<&RunRow> = rows.iter().filter(|r| r.point == p).collect();
            let met = at
                .iter()
                .filter(|r| crate::plan::run_meets(targets, metrics, r))
                .count();
            share(met, at.len())
        })
        .collect()
}

/// sweep_summary.csv: per point, mean and 95% CI of every metric.
pub fn summary_csv(spec: &Spec, metrics: &[String], rows: &[RunRow]) -> Result<Vec<u8>, Error> {
    summary_csv_with(spec, metrics, rows, &[])
}

/// sweep_summary.csv: per point, mean and 95% CI of every metric; with uncertain inputs,
/// also the p5/p50/p95 spread of every metric across the futures; with targets, the share
/// of runs meeting all of them and its 95% interval.
pub fn summary_csv_with(
    spec: &Spec,
    metrics: &[String],
    rows: &[RunRow],
    targets: &[crate::plan::Target],
) -> Result<Vec<u8>, Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["point".to_string()];
    header.extend(spec.vary.iter().map(|v| v.key.clone()));
    header.push("runs".into());
    let spreads = !spec.uncertain.is_empty();
    if !targets.is_empty() {
        header.extend([
            "targets_met".to_string(),
            "targets_met.fraction".to_string(),
            "targets_met.low".to_string(),
            "targets_met.high".to_string(),
        ]);
    }
    for m in metrics {
        header.extend([
            format!("{m}.mean"),
            format!("{m}.ci_low"),
            format!("{m}.ci_high"),
        ]);
        if spreads {
            header.extend([format!("{m}.p5"), format!("{m}.p50"), format!("{m}.p95")]);
        }
    }
    w.write_record(&header).map_err(csv_err)?;
    let all_spreads = point_spreads(spec, metrics, rows);
    let shares = point_shares(spec, metrics, rows, targets);
    for (p, ivs) in point_intervals(spec, metrics, rows).iter().enumerate() {
        let mut rec = vec![p.to_string()];
        rec.extend(spec.point_values(p).iter().map(|s| s.to_string()));
        rec.push(rows.iter().filter(|r| r.point == p).count().to_string());
        if !targets.is_empty() {
            match shares[p] {
                Some(s) => rec.extend([
                    s.met.to_string(),
                    fmt_f(s.fraction),
                    fmt_f(s.low),
                    fmt_f(s.high),
                ]),
                None => rec.extend(["0".to_string(), String::new(), String::new(), String::new()]),
            }
        }
        for (iv, sp) in ivs.iter().zip(&all_spreads[p]) {
            // With one run there is a mean but no interval: its ends are left empty.
            match iv {
                Some(i) if i.n >= 2 => rec.extend([fmt_f(i.mean), fmt_f(i.low), fmt_f(i.high)]),
                Some(i) => rec.extend([fmt_f(i.mean), String::new(), String::new()]),
                None => rec.extend([String::new(), String::new(), String::new()]),
            }
            if spreads {
                match sp {
                    Some(s) => rec.extend([fmt_f(s.p5), fmt_f(s.p50), fmt_f(s.p95)]),
                    None => rec.extend([String::new(), String::new(), String::new()]),
                }
            }
        }
        w.write_record(&rec).map_err(csv_err)?;
    }
    w.into_inner().map_err(csv_err)
}

/// Checks a metric name against the summary's paths.
pub fn check_metric(name: &str, known: &[String], flag: &str) -> Result<(), InputError> {
    if known.iter().any(|k| k == name) {
        return Ok(());
    }
    let mut e = InputError::new(format!("unknown metric `{name}`"))
        .in_file(flag.to_string())
        .allowed("a numeric path of summary.json, e.g. latency.end_to_end.p99, counts.dead_lettered, client.errors");
    if let Some(s) = did_you_mean(name, known.iter().map(String::as_str)) {
        e = e.hint(format!("did you mean `{s}`?"));
    } else {
        // `p99` or `latency.p99`: offer the full paths that end the same way.
        let last = name.rsplit('.').next().unwrap_or(name);
        let same: Vec<String> = known
            .iter()
            .filter(|k| k.rsplit('.').next() == Some(last))
            .map(|k| format!("`{k}`"))
            .collect();
        if !same.is_empty() {
            e = e.hint(format!("did you mean one of {}?", same.join(", ")));
        }
    }
    Err(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vary_forms() {
        assert_eq!(
            parse_vary("consumers.count=1..4").unwrap().values,
            vec!["1", "2", "3", "4"]
        );
        assert_eq!(
            parse_vary("consumers.count=2..10:4").unwrap().values,
            vec!["2", "6", "10"]
        );
        assert_eq!(
            parse_vary("producers.0.rate=0.5..1.5:0.5").unwrap().values,
            vec!["0.5", "1", "1.5"]
        );
        assert_eq!(
            parse_vary("client.mode=sync,async").unwrap().values,
            vec!["sync", "async"]
        );
        assert!(parse_vary("consumers.count=5..1").is_err());
        assert!(parse_vary("consumers.count").is_err());
    }

    #[test]
    fn grid_order_and_shards() {
        let spec = Spec {
            scenario: "s.toml".into(),
            sets: vec![],
            variant: None,
            vary: vec![parse_vary("a=1,2").unwrap(), parse_vary("b=x,y,z").unwrap()],
            replications: 2,
            seeds: Seeds::Common,
            base_seed: 7,
            shard: None,
            uncertain: vec![],
        };
        assert_eq!(spec.points(), 6);
        assert_eq!(spec.point_values(0), vec!["1", "x"]);
        assert_eq!(spec.point_values(4), vec!["2", "y"]);
        let all = spec.run_indices();
        let mut merged: Vec<usize> = (1..=3)
            .flat_map(|i| {
                Spec {
                    shard: Some((i, 3)),
                    ..spec.clone()
                }
                .run_indices()
            })
            .collect();
        merged.sort();
        assert_eq!(merged, all);
        assert_eq!(run_seed(7, 3, 0, Seeds::Common), 7);
        assert_eq!(
            run_seed(7, 0, 1, Seeds::Common),
            run_seed(7, 5, 1, Seeds::Common)
        );
        assert_ne!(
            run_seed(7, 0, 1, Seeds::Independent),
            run_seed(7, 5, 1, Seeds::Independent)
        );
    }
}
