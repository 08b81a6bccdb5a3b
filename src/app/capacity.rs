//! The capacity-planning commands: `sweep`, `merge` and `plan`.

use crate::error::{Error, InputError};
use crate::plan::{self, Target};
use crate::report::{plot, Bundle};
use crate::scenario;
use crate::sweep::{self, RunRow, Seeds, Spec, Vary, METRICS};
use std::path::{Path, PathBuf};

/// Arguments of `queuelab sweep`.
#[derive(Debug, Clone, Default)]
pub struct SweepArgs {
    /// The scenario file.
    pub scenario: String,
    /// `--vary` specs.
    pub vary: Vec<String>,
    /// Replications per point.
    pub replications: u32,
    /// Output folder.
    pub out: Option<PathBuf>,
    /// Worker threads (default: all cores).
    pub threads: Option<usize>,
    /// `--set` overrides.
    pub sets: Vec<String>,
    /// One variant of the file.
    pub variant: Option<String>,
    /// Seed derivation.
    pub seeds: Seeds,
    /// `I/N`: run only shard I of N.
    pub shard: Option<String>,
    /// Metric to plot.
    pub metric: String,
    /// Skip the plot.
    pub no_plots: bool,
    /// Refuse sweeps estimated above this many events in all.
    pub max_events: Option<f64>,
}

/// A sweep checked and ready to run.
pub struct PreparedSweep {
    /// What runs.
    pub spec: Spec,
    text: String,
    out: PathBuf,
    metric: String,
    threads: usize,
    no_plots: bool,
}

impl PreparedSweep {
    /// How many runs this invocation will do.
    pub fn runs(&self) -> usize {
        self.spec.run_indices().len()
    }
}

fn threads(n: Option<usize>) -> Result<usize, Error> {
    match n {
        Some(0) => Err(InputError::new("must be at least 1")
            .in_file("--threads")
            .into()),
        Some(n) => Ok(n),
        None => Ok(std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)),
    }
}

fn parse_shard(s: &str) -> Result<(u32, u32), InputError> {
    let bad = || {
        InputError::new(format!("`{s}` is not I/N"))
            .in_file("--shard")
            .allowed("I/N with 1 <= I <= N, e.g. 2/8")
    };
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (i, n): (u32, u32) = (
        i.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if i == 0 || n == 0 || i > n {
        return Err(bad());
    }
    Ok((i, n))
}

/// Every numeric path of a summary of this scenario (for checking metric names).
fn known_metrics(spec: &Spec, text: &str) -> Result<Vec<String>, Error> {
    let mut s = sweep::scenario_for(spec, text, 0, 0)?;
    s.duration = s.sample_every.min(1_000_000);
    s.warmup = 0;
    let json = serde_json::to_value(crate::sim::run(&s).summary).unwrap_or_default();
    Ok(sweep::metric_paths(&json))
}

/// Checks a sweep's arguments and builds every run's scenario (errors exit 2, nothing runs).
pub fn prepare_sweep(a: &SweepArgs) -> Result<PreparedSweep, Error> {
    let text = std::fs::read_to_string(&a.scenario).map_err(|e| {
        InputError::new(format!("cannot read the scenario file: {e}")).in_file(a.scenario.clone())
    })?;
    if a.vary.is_empty() {
        return Err(
            InputError::new("give at least one --vary KEY=V1,V2,... or KEY=A..B")
                .in_file("sweep")
                .into(),
        );
    }
    if a.replications == 0 {
        return Err(InputError::new("must be at least 1")
            .in_file("--replications")
            .into());
    }
    let vary = a
        .vary
        .iter()
        .map(|v| sweep::parse_vary(v))
        .collect::<Result<Vec<_>, _>>()?;
    let o = super::overrides(&a.sets, None, None)?;
    let mut file = scenario::load(&a.scenario, &o)?;
    if let Some(v) = &a.variant {
        file.select_variant(v)?;
    }
    let spec = Spec {
        scenario: a.scenario.clone(),
        sets: o.sets,
        variant: a.variant.clone(),
        vary,
        replications: a.replications,
        seeds: a.seeds,
        base_seed: file.base.seed,
        shard: a.shard.as_deref().map(parse_shard).transpose()?,
    };
    if spec.points() * spec.replications as usize > 1_000_000 {
        return Err(InputError::new(format!(
            "{} runs is more than one sweep may do (1,000,000)",
            spec.points() * spec.replications as usize
        ))
        .in_file("--vary")
        .into());
    }
    // Every point must be a valid scenario: check them all before running anything.
    let mut points = Vec::with_capacity(spec.points());
    for p in 0..spec.points() {
        points.push(sweep::scenario_for(&spec, &text, p, 0).map_err(|mut e| {
            let vals: Vec<String> = spec
                .vary
                .iter()
                .zip(spec.point_values(p))
                .map(|(v, x)| format!("{}={x}", v.key))
                .collect();
            e.message = format!("at {}: {}", vals.join(", "), e.message);
            e
        })?);
    }
    // The work of this invocation (its shard's share of the replications).
    let share =
        spec.run_indices().len() as f64 / (spec.points() * spec.replications as usize) as f64;
    let reps = (f64::from(spec.replications) * share).ceil() as usize;
    super::check_work(&points.iter().collect::<Vec<_>>(), a.max_events, reps)?;
    for p in &points {
        // Sweeps run with the default memory budget.
        crate::guard::fits(p, &crate::guard::Limits::default())?;
    }
    if !METRICS.contains(&a.metric.as_str()) {
        let known: Vec<String> = METRICS.iter().map(|s| s.to_string()).collect();
        sweep::check_metric(&a.metric, &known, "--metric")?;
    }
    let name = file.base.name.clone();
    let out = a.out.clone().unwrap_or_else(|| {
        let dir = Path::new("output").join(format!("{name}-sweep"));
        match spec.shard {
            Some((i, n)) => dir.join(format!("shard-{i}-of-{n}")),
            None => dir,
        }
    });
    Ok(PreparedSweep {
        spec,
        text,
        out,
        metric: a.metric.clone(),
        threads: threads(a.threads)?,
        no_plots: a.no_plots,
    })
}

#[derive(serde::Serialize, serde::Deserialize, PartialEq)]
struct Manifest {
    spec: Spec,
    metrics: Vec<String>,
    runs: usize,
}

/// Writes a sweep's files from its rows (used by `sweep` and by `merge`, so both write
/// exactly the same bytes for the same runs).
fn write_sweep(
    spec: &Spec,
    metrics: &[String],
    rows: &[RunRow],
    out: &Path,
    metric: &str,
    no_plots: bool,
) -> Result<String, Error> {
    let mut b = Bundle::default();
    let manifest = Manifest {
        spec: spec.clone(),
        metrics: metrics.to_vec(),
        runs: rows.len(),
    };
    let mut json = serde_json::to_vec_pretty(&manifest).map_err(|e| Error::Other(e.to_string()))?;
    json.push(b'\n');
    b.add(out.join("sweep.json"), json);
    b.add(out.join("sweep.csv"), sweep::rows_csv(spec, metrics, rows)?);
    let mut said = format!(
        "{} runs written to {}\n",
        rows.len(),
        out.join("sweep.csv").display()
    );
    if spec.shard.is_none() {
        b.add(
            out.join("sweep_summary.csv"),
            sweep::summary_csv(spec, metrics, rows)?,
        );
        let m = metrics.iter().position(|x| x == metric).unwrap_or(0);
        let ivs = sweep::point_intervals(spec, metrics, rows);
        said.push_str(&table(spec, metric, &ivs, m));
        if !no_plots {
            let (png, svg) = sweep_plot(spec, metric, &ivs, m)?;
            let stem = format!("sweep_{}", metric.replace('.', "_"));
            b.add(out.join(format!("{stem}.png")), png);
            b.add(out.join(format!("{stem}.svg")), svg);
            said.push_str(&format!(
                "plot: {}\n",
                out.join(format!("{stem}.png")).display()
            ));
        }
        said.push_str(&format!(
            "per-point means and 95% intervals: {}\n",
            out.join("sweep_summary.csv").display()
        ));
    }
    b.write()?;
    Ok(said)
}

fn table(
    spec: &Spec,
    metric: &str,
    ivs: &[Vec<Option<crate::stats::Interval>>],
    m: usize,
) -> String {
    let mut o = format!(
        "{metric}: mean [95% interval] over {} replication(s)\n",
        spec.replications
    );
    for (p, iv) in ivs.iter().enumerate() {
        let vals: Vec<String> = spec
            .vary
            .iter()
            .zip(spec.point_values(p))
            .map(|(v, x)| format!("{}={x}", v.key))
            .collect();
        let fig = match iv[m] {
            Some(i) => format!("{:.4} [{:.4}, {:.4}]", i.mean, i.low, i.high),
            None => "no samples".into(),
        };
        o.push_str(&format!("  {:<50} {fig}\n", vals.join(" ")));
    }
    o
}

fn sweep_plot(
    spec: &Spec,
    metric: &str,
    ivs: &[Vec<Option<crate::stats::Interval>>],
    m: usize,
) -> Result<(Vec<u8>, String), Error> {
    let first = &spec.vary[0];
    let numeric: Option<Vec<f64>> = first.values.iter().map(|v| v.parse::<f64>().ok()).collect();
    let x_of = |i: usize| numeric.as_ref().map(|n| n[i]).unwrap_or(i as f64);
    let inner: usize = spec.vary[1..].iter().map(|v| v.values.len()).product();
    let mut lines = Vec::new();
    for k in 0..inner {
        let mut pts = Vec::new();
        for i in 0..first.values.len() {
            if let Some(iv) = ivs[i * inner + k][m] {
                pts.push((x_of(i), iv.mean, iv.low, iv.high));
            }
        }
        let name = if spec.vary.len() > 1 {
            let vals = spec.point_values(k);
            spec.vary[1..]
                .iter()
                .zip(&vals[1..])
                .map(|(v, x)| format!("{}={x}", v.key))
                .collect::<Vec<_>>()
                .join(", ")
        } else {
            metric.to_string()
        };
        lines.push((name, pts));
    }
    let names = if numeric.is_none() {
        Some(first.values.as_slice())
    } else {
        None
    };
    plot::sweep(
        &format!(
            "{metric} vs {} (95% CI, {} replications)",
            first.key, spec.replications
        ),
        &first.key,
        metric,
        names,
        &lines,
    )
}

/// Runs a prepared sweep; `tick` is called after every run (for a progress bar).
///
/// Rows are appended to `sweep.partial.csv` in the out folder as runs finish, so nothing
/// finished is lost even to a hard kill; the final files are then written from the rows in
/// run order and the partial file is removed. After Ctrl-C the final files hold the runs
/// that finished and the error says how many.
pub fn run_sweep(p: &PreparedSweep, tick: &(dyn Fn() + Sync)) -> Result<String, Error> {
    let metrics: Vec<String> = METRICS.iter().map(|s| s.to_string()).collect();
    std::fs::create_dir_all(&p.out)
        .map_err(|e| Error::io(format!("cannot create {}", p.out.display()), e))?;
    let partial_path = p.out.join("sweep.partial.csv");
    let file = std::fs::File::create(&partial_path)
        .map_err(|e| Error::io(format!("cannot write {}", partial_path.display()), e))?;
    let mut w = csv::Writer::from_writer(file);
    w.write_record(sweep::rows_header(&p.spec, &metrics))
        .and_then(|_| w.flush().map_err(csv::Error::from))
        .map_err(|e| Error::Other(format!("cannot write {}: {e}", partial_path.display())))?;
    let partial = std::sync::Mutex::new(w);
    let on_row = |row: &RunRow| {
        if let Ok(mut w) = partial.lock() {
            // Best effort: the final files are written from memory either way.
            let _ = w.write_record(sweep::row_record(&p.spec, row));
            let _ = w.flush();
        }
        tick();
    };
    let rows = sweep::execute(&p.spec, &p.text, p.threads, &metrics, &on_row)?;
    let said = write_sweep(&p.spec, &metrics, &rows, &p.out, &p.metric, p.no_plots)?;
    drop(partial);
    let _ = std::fs::remove_file(&partial_path);
    if crate::guard::interrupted() {
        return Err(Error::Interrupted(format!(
            "interrupted: {} of {} runs finished; they are in {}",
            rows.len(),
            p.runs(),
            p.out.display()
        )));
    }
    Ok(said)
}

/// `queuelab merge`: combines shard folders into what one machine would have written.
pub fn merge(dirs: &[PathBuf], out: &Path, metric: &str, no_plots: bool) -> Result<String, Error> {
    if dirs.is_empty() {
        return Err(InputError::new("give the shard folders to merge")
            .in_file("merge")
            .into());
    }
    let mut spec: Option<Spec> = None;
    let mut metrics: Option<Vec<String>> = None;
    let mut rows: Vec<RunRow> = Vec::new();
    for d in dirs {
        let label = d.join("sweep.json").display().to_string();
        let bytes = std::fs::read(d.join("sweep.json"))
            .map_err(|e| InputError::new(format!("cannot read: {e}")).in_file(label.clone()))?;
        let m: Manifest = serde_json::from_slice(&bytes).map_err(|e| {
            InputError::new(format!("not a sweep manifest: {e}")).in_file(label.clone())
        })?;
        let unsharded = Spec {
            shard: None,
            ..m.spec.clone()
        };
        match &spec {
            None => spec = Some(unsharded),
            Some(s) if *s != unsharded => {
                return Err(InputError::new("this shard belongs to a different sweep (scenario, keys, values, replications or seeds differ)")
                    .in_file(label)
                    .into())
            }
            _ => {}
        }
        if metrics.as_ref().is_some_and(|x| *x != m.metrics) {
            return Err(InputError::new("this shard has different metric columns")
                .in_file(label)
                .into());
        }
        metrics = Some(m.metrics.clone());
        let csv_label = d.join("sweep.csv").display().to_string();
        let bytes = std::fs::read(d.join("sweep.csv"))
            .map_err(|e| InputError::new(format!("cannot read: {e}")).in_file(csv_label.clone()))?;
        let (_, mut r) = sweep::parse_rows_csv(&bytes, &m.spec, &csv_label)?;
        rows.append(&mut r);
    }
    let (Some(spec), Some(metrics)) = (spec, metrics) else {
        return Err(Error::Other("nothing to merge".into()));
    };
    rows.sort_by_key(|r| r.run);
    let total = spec.points() * spec.replications as usize;
    let have: Vec<usize> = rows.iter().map(|r| r.run).collect();
    if have.windows(2).any(|w| w[0] == w[1]) {
        return Err(InputError::new("a run appears in two shards")
            .in_file("merge")
            .into());
    }
    if have.len() != total {
        let missing: Vec<String> = (0..total)
            .filter(|i| have.binary_search(i).is_err())
            .take(10)
            .map(|i| i.to_string())
            .collect();
        return Err(InputError::new(format!(
            "{} of {total} runs are present; missing runs include {}",
            have.len(),
            missing.join(", ")
        ))
        .in_file("merge")
        .hint("merge every shard I/N for I = 1..N")
        .into());
    }
    write_sweep(&spec, &metrics, &rows, out, metric, no_plots)
}

/// Arguments of `queuelab plan`.
#[derive(Debug, Clone, Default)]
pub struct PlanArgs {
    /// The scenario file.
    pub scenario: String,
    /// The one `--vary` to search.
    pub vary: String,
    /// Targets.
    pub targets: Vec<String>,
    /// Replications per evaluated value.
    pub replications: u32,
    /// Worker threads.
    pub threads: Option<usize>,
    /// `--set` overrides.
    pub sets: Vec<String>,
    /// One variant of the file.
    pub variant: Option<String>,
    /// JSON output.
    pub json: bool,
}

/// `queuelab plan`.
pub fn plan(a: &PlanArgs, tick: &(dyn Fn() + Sync)) -> Result<String, Error> {
    let prepared = prepare_sweep(&SweepArgs {
        scenario: a.scenario.clone(),
        vary: vec![a.vary.clone()],
        replications: a.replications,
        threads: a.threads,
        sets: a.sets.clone(),
        variant: a.variant.clone(),
        metric: METRICS[0].to_string(),
        no_plots: true,
        ..Default::default()
    })?;
    let targets: Vec<Target> = plan::parse_targets(&a.targets)?;
    let known = known_metrics(&prepared.spec, &prepared.text)?;
    for t in &targets {
        sweep::check_metric(&t.metric, &known, "--target")?;
    }
    let vary: Vary = prepared.spec.vary[0].clone();
    let result = plan::search(
        &prepared.spec,
        &prepared.text,
        &vary,
        &targets,
        prepared.threads,
        tick,
    )?;
    if a.json {
        let mut s =
            serde_json::to_string_pretty(&result).map_err(|e| Error::Other(e.to_string()))?;
        s.push('\n');
        Ok(s)
    } else {
        Ok(plan::describe(&result, &targets))
    }
}
