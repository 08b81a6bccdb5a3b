//! The capacity-planning commands: `sweep`, `merge` and `plan`.

use super::Format;
use crate::error::{Error, InputError};
use crate::plan::{self, Target};
use crate::report::{plot, Bundle, Staging};
use crate::scenario;
use crate::sweep::{self, RunRow, Seeds, Spec, Vary, METRICS};
use sha2::Digest;
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
    /// Overrides the scenario's seed (the seed of replication 0).
    pub seed: Option<u64>,
    /// Text or JSON on standard output.
    pub format: Format,
    /// `--uncertain KEY=LAW(...)`: inputs each replication (future) draws.
    pub uncertain: Vec<String>,
    /// `--target`: report, per point, the share of runs meeting all of them.
    pub targets: Vec<String>,
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
    format: Format,
    sha: String,
    targets: Vec<Target>,
}

impl PreparedSweep {
    /// How many runs this invocation will do.
    pub fn runs(&self) -> usize {
        self.spec.run_indices().len()
    }
}

fn threads(n: Option<usize>) -> Result<usize, Error> {
    match n {
        Some(n) if n == 0 || n > sweep::MAX_THREADS => Err(InputError::new(format!(
            "{n} is not a usable number of threads"
        ))
        .in_file("--threads")
        .allowed(format!(
            "1 to {} (this machine has {} cores)",
            sweep::MAX_THREADS,
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        ))
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
    let (label, text) = super::bundled::source(&a.scenario)?;
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
    let uncertain = a
        .uncertain
        .iter()
        .map(|u| sweep::uncertain::parse(u))
        .collect::<Result<Vec<_>, _>>()?;
    let targets = if a.targets.is_empty() {
        Vec::new()
    } else {
        plan::parse_targets(&a.targets)?
    };
    let known: Vec<String> = METRICS.iter().map(|s| s.to_string()).collect();
    for t in &targets {
        sweep::check_metric(&t.metric, &known, "--target")
            .map_err(|e| e.hint("sweep records the metrics listed in docs/reference.md (sweep.csv); a target must be one of them"))?;
    }
    let threads = threads(a.threads)?;
    let o = super::overrides(&a.sets, None, None)?;
    let mut file = scenario::parse(&text, &label, &o)?;
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
        base_seed: a.seed.unwrap_or(file.base.seed),
        shard: a.shard.as_deref().map(parse_shard).transpose()?,
        uncertain,
    };
    spec.check().map_err(|m| {
        InputError::new(m).in_file(if spec.uncertain.is_empty() {
            "--vary"
        } else {
            "--uncertain"
        })
    })?;
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
    if spec.uncertain.is_empty() {
        super::check_work(&points.iter().collect::<Vec<_>>(), a.max_events, reps)?;
        for p in &points {
            // Sweeps run with the default memory budget.
            crate::guard::fits(p, &crate::guard::Limits::default())?;
        }
    } else {
        // Every future draws its own inputs: build (and so check) every run of this
        // invocation, and estimate the work from all of them.
        let r = spec.replications as usize;
        let all: Vec<scenario::Scenario> = spec
            .run_indices()
            .into_iter()
            .map(|run| sweep::scenario_for(&spec, &text, run / r, (run % r) as u32))
            .collect::<Result<_, _>>()?;
        super::check_work(&all.iter().collect::<Vec<_>>(), a.max_events, 1)?;
        for s in &all {
            crate::guard::fits(s, &crate::guard::Limits::default())?;
        }
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
    let sha = scenario_sha256(&spec, &text)?;
    Ok(PreparedSweep {
        spec,
        text,
        out,
        metric: a.metric.clone(),
        threads,
        no_plots: a.no_plots,
        format: a.format,
        sha,
        targets,
    })
}

/// sweep.json: what a sweep (or shard) is, and how many of its runs it holds.
#[derive(serde::Serialize, serde::Deserialize, PartialEq)]
struct Manifest {
    spec: Spec,
    metrics: Vec<String>,
    /// Rows in sweep.csv.
    runs: usize,
    /// Runs this sweep or shard was to do (more than `runs` after an interrupt).
    #[serde(default)]
    expected_runs: Option<usize>,
    /// SHA-256 of the scenario as run at the first point (the file with `--variant` and
    /// `--set` applied, before the varied keys and the seed), so that shards of a file
    /// edited in between are told apart.
    #[serde(default)]
    scenario_sha256: Option<String>,
    /// `--target`s of the sweep (summaries give the share of runs meeting all of them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    targets: Vec<String>,
}

/// The hash kept in sweep.json: of the effective scenario (see [`Manifest`]).
fn scenario_sha256(spec: &Spec, text: &str) -> Result<String, Error> {
    let toml = super::effective_toml(text, spec.variant.as_deref(), &spec.sets)?;
    let digest = sha2::Sha256::digest(toml.as_bytes());
    Ok(digest.iter().map(|b| format!("{b:02x}")).collect())
}

/// What `sweep` and `merge` print, besides the files.
struct SweepOutput<'a> {
    out: &'a Path,
    expected: usize,
    sha: Option<String>,
    metric: &'a str,
    no_plots: bool,
    format: Format,
    targets: &'a [Target],
}

/// Writes a sweep's files from its rows into `staging` (used by `sweep` and by `merge`, so
/// both write exactly the same bytes for the same runs) and swaps them in.
fn write_sweep(
    spec: &Spec,
    metrics: &[String],
    rows: &[RunRow],
    mut staging: Staging,
    o: SweepOutput,
) -> Result<String, Error> {
    let (out, expected) = (o.out, o.expected);
    let mut b = Bundle::default();
    let manifest = Manifest {
        spec: spec.clone(),
        metrics: metrics.to_vec(),
        runs: rows.len(),
        expected_runs: Some(expected),
        scenario_sha256: o.sha.clone(),
        targets: o.targets.iter().map(|t| t.text.clone()).collect(),
    };
    let mut json = serde_json::to_vec_pretty(&manifest).map_err(|e| Error::Other(e.to_string()))?;
    json.push(b'\n');
    b.add(out.join("sweep.json"), json);
    b.add(out.join("sweep.csv"), sweep::rows_csv(spec, metrics, rows)?);
    let metric = o.metric;
    let mut said = format!(
        "{} runs written to {}\n",
        rows.len(),
        out.join("sweep.csv").display()
    );
    let mut points_json = Vec::new();
    if spec.shard.is_none() {
        b.add(
            out.join("sweep_summary.csv"),
            sweep::summary_csv_with(spec, metrics, rows, o.targets)?,
        );
        let m = metrics.iter().position(|x| x == metric).unwrap_or(0);
        let ivs = sweep::point_intervals(spec, metrics, rows);
        let spreads = sweep::point_spreads(spec, metrics, rows);
        let shares = sweep::point_shares(spec, metrics, rows, o.targets);
        said.push_str(&futures_header(spec, o.targets));
        said.push_str(&table(spec, metric, &ivs, m, &spreads, &shares, o.targets));
        for (p, iv) in ivs.iter().enumerate() {
            let values: serde_json::Map<String, serde_json::Value> = spec
                .vary
                .iter()
                .zip(spec.point_values(p))
                .map(|(v, x)| (v.key.clone(), serde_json::Value::String(x.to_string())))
                .collect();
            let iv = iv[m];
            let mut point = serde_json::json!({
                "point": p,
                "values": values,
                "runs": iv.map(|i| i.n).unwrap_or(0),
                "mean": iv.map(|i| i.mean),
                "ci_low": iv.filter(|i| i.n >= 2).map(|i| i.low),
                "ci_high": iv.filter(|i| i.n >= 2).map(|i| i.high),
            });
            if !spec.uncertain.is_empty() {
                point["spread"] = serde_json::to_value(spreads[p][m]).unwrap_or_default();
            }
            if !o.targets.is_empty() {
                point["targets_met"] = serde_json::to_value(shares[p]).unwrap_or_default();
            }
            points_json.push(point);
        }
        if !o.no_plots {
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
            "per-point means{}: {}\n",
            if spec.replications < 2 {
                ""
            } else {
                " and 95% intervals"
            },
            out.join("sweep_summary.csv").display()
        ));
    }
    staging.write(&b)?;
    staging.commit()?;
    if o.format == Format::Json {
        let mut v = serde_json::json!({
            "out": out.display().to_string(),
            "runs": rows.len(),
            "expected_runs": expected,
            "metric": metric,
            "replications": spec.replications,
            "points": points_json,
        });
        if !spec.uncertain.is_empty() {
            v["uncertain"] = serde_json::to_value(&spec.uncertain).unwrap_or_default();
        }
        if !o.targets.is_empty() {
            v["targets"] = serde_json::to_value(&manifest.targets).unwrap_or_default();
        }
        let mut s = serde_json::to_string_pretty(&v).map_err(|e| Error::Other(e.to_string()))?;
        s.push('\n');
        return Ok(s);
    }
    Ok(said)
}

/// What the futures are, before the table: the uncertain inputs and how they were
/// drawn, and the targets whose share of runs is shown.
fn futures_header(spec: &Spec, targets: &[Target]) -> String {
    let mut o = String::new();
    if !spec.uncertain.is_empty() {
        o.push_str(&format!(
            "uncertain inputs: each of the {} replications is one plausible future that draws one value of each (the same futures at every point):\n",
            spec.replications
        ));
        for u in &spec.uncertain {
            let mean = match u.kind {
                sweep::uncertain::Kind::Duration => crate::time::human(u.law.mean()),
                sweep::uncertain::Kind::Number => format!("{:.4}", u.law.mean())
                    .trim_end_matches('0')
                    .trim_end_matches('.')
                    .to_string(),
            };
            o.push_str(&format!("  {}, mean {mean}\n", u.describe()));
        }
        o.push_str(
            "  the values drawn are in sweep.csv, one column per input (durations in seconds)\n",
        );
    }
    if !targets.is_empty() {
        let goals: Vec<&str> = targets.iter().map(|t| t.text.as_str()).collect();
        o.push_str(&format!(
            "targets: {} (met: runs meeting all of them, with the 95% interval of the share)\n",
            goals.join(" and ")
        ));
    }
    o
}

fn table(
    spec: &Spec,
    metric: &str,
    ivs: &[Vec<Option<crate::stats::Interval>>],
    m: usize,
    spreads: &[Vec<Option<sweep::Spread>>],
    shares: &[Option<sweep::Share>],
    targets: &[Target],
) -> String {
    let mut o = if spec.replications < 2 {
        format!("{metric}: one replication per point, so a mean without an interval (give --replications 2 or more for 95% intervals)\n")
    } else {
        format!(
            "{metric}: mean [95% interval] over {} replications\n",
            spec.replications
        )
    };
    for (p, iv) in ivs.iter().enumerate() {
        let vals: Vec<String> = spec
            .vary
            .iter()
            .zip(spec.point_values(p))
            .map(|(v, x)| format!("{}={x}", v.key))
            .collect();
        let mut fig = sweep::fmt_interval(metric, iv[m].as_ref());
        if !spec.uncertain.is_empty() {
            fig.push_str(&format!(
                "  across futures {}",
                sweep::fmt_spread(metric, spreads[p][m].as_ref())
            ));
        }
        if !targets.is_empty() {
            if let Some(s) = &shares[p] {
                fig.push_str(&format!("  met {}", sweep::fmt_share(s)));
            }
        }
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
        &if spec.replications < 2 {
            format!("{metric} vs {} (one replication: no interval)", first.key)
        } else {
            format!(
                "{metric} vs {} (95% CI, {} replications)",
                first.key, spec.replications
            )
        },
        &first.key,
        metric,
        names,
        &lines,
    )
}

/// Runs a prepared sweep; `tick` is called after every run (for a progress bar).
///
/// The files are written into a staging folder beside the out folder and swapped in at
/// the end ([`Staging`]). Rows are appended to `sweep.partial.csv` in the staging folder
/// as runs finish, so nothing finished is lost even to a hard kill (the staging folder,
/// `.NAME.queuelab-PID-N.tmp`, then stays behind with them); the final files are then
/// written from the rows in run order and the partial file is left out. After Ctrl-C or
/// SIGTERM the final files hold the runs that finished (sweep.json says how many of how
/// many), `merge --partial` can use them, and the error says how many there are.
pub fn run_sweep(p: &PreparedSweep, tick: &(dyn Fn() + Sync)) -> Result<String, Error> {
    let metrics: Vec<String> = METRICS.iter().map(|s| s.to_string()).collect();
    let staging = Staging::begin(&p.out)?;
    let partial_path = staging.path().join("sweep.partial.csv");
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
    drop(partial);
    std::fs::remove_file(&partial_path)
        .map_err(|e| Error::io(format!("cannot remove {}", partial_path.display()), e))?;
    let said = write_sweep(
        &p.spec,
        &metrics,
        &rows,
        staging,
        SweepOutput {
            out: &p.out,
            expected: p.runs(),
            sha: Some(p.sha.clone()),
            metric: &p.metric,
            no_plots: p.no_plots,
            format: p.format,
            targets: &p.targets,
        },
    )?;
    if crate::guard::interrupted() {
        return Err(Error::Interrupted(format!(
            "interrupted: {} of {} runs finished; they are in {} (`queuelab merge --partial` can use them)",
            rows.len(),
            p.runs(),
            p.out.display()
        )));
    }
    Ok(said)
}

/// Arguments of `queuelab merge`.
#[derive(Debug, Clone, Default)]
pub struct MergeArgs {
    /// The shard folders.
    pub shards: Vec<PathBuf>,
    /// Output folder.
    pub out: PathBuf,
    /// Metric to print and plot.
    pub metric: String,
    /// Skip the plot.
    pub no_plots: bool,
    /// Merge the runs present even when some are missing (interrupted shards).
    pub partial: bool,
    /// Text or JSON on standard output.
    pub format: Format,
}

/// `queuelab merge`: combines shard folders into what one machine would have written.
///
/// Refused: a folder that is not a sweep, shards of different sweeps (the spec or the
/// hash of the scenario differ), a sweep.csv whose columns or rows do not match its
/// sweep.json (an edited run index, point, value or seed; a deleted column), a run in two
/// shards, and, without `--partial`, missing runs.
pub fn merge(a: &MergeArgs) -> Result<String, Error> {
    let dirs = &a.shards;
    if dirs.is_empty() {
        return Err(InputError::new("give the shard folders to merge")
            .in_file("merge")
            .into());
    }
    if !METRICS.contains(&a.metric.as_str()) {
        let known: Vec<String> = METRICS.iter().map(|s| s.to_string()).collect();
        sweep::check_metric(&a.metric, &known, "--metric")?;
    }
    // The merged folder replaces --out whole: never one of the shards being merged.
    let same = |x: &Path, y: &Path| match (x.canonicalize(), y.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => x == y,
    };
    if let Some(d) = dirs.iter().find(|d| same(d, &a.out)) {
        return Err(InputError::new(format!(
            "`{}` is one of the shards being merged; the merge would replace it",
            d.display()
        ))
        .in_file("--out")
        .hint("merge into a new folder, e.g. --out results")
        .into());
    }
    let mut first: Option<(Spec, Vec<String>, Option<String>, String)> = None;
    let mut target_texts: Option<Vec<String>> = None;
    let mut rows: Vec<(RunRow, usize)> = Vec::new();
    for (k, d) in dirs.iter().enumerate() {
        let label = d.join("sweep.json").display().to_string();
        let bytes = std::fs::read(d.join("sweep.json"))
            .map_err(|e| InputError::new(format!("cannot read: {e}")).in_file(label.clone()))?;
        let m: Manifest = serde_json::from_slice(&bytes).map_err(|e| {
            InputError::new(format!("not a sweep manifest: {e}")).in_file(label.clone())
        })?;
        m.spec.check().map_err(|e| {
            InputError::new(format!("not a usable sweep manifest: {e}")).in_file(label.clone())
        })?;
        if m.metrics.is_empty() {
            return Err(InputError::new("not a usable sweep manifest: no metrics")
                .in_file(label)
                .into());
        }
        let unsharded = Spec {
            shard: None,
            ..m.spec.clone()
        };
        match &target_texts {
            None => target_texts = Some(m.targets.clone()),
            Some(t) if *t != m.targets => {
                return Err(InputError::new(
                    "this shard has different --target(s) than the first shard",
                )
                .in_file(label)
                .into())
            }
            Some(_) => {}
        }
        match &first {
            None => {
                first = Some((
                    unsharded,
                    m.metrics.clone(),
                    m.scenario_sha256.clone(),
                    label.clone(),
                ))
            }
            Some((s, metrics, sha, first_label)) => {
                if *s != unsharded {
                    return Err(InputError::new(format!("this shard belongs to a different sweep than {first_label} (scenario path, --set, --variant, keys, values, replications or seeds differ)"))
                        .in_file(label)
                        .into());
                }
                if *sha != m.scenario_sha256 {
                    return Err(InputError::new(format!("this shard ran a different scenario than {first_label}: the scenario's hash differs (was the file edited between shards?)"))
                        .in_file(label)
                        .hint("run every shard from the same scenario file")
                        .into());
                }
                if *metrics != m.metrics {
                    return Err(InputError::new(format!(
                        "this shard has different metric columns than {first_label}"
                    ))
                    .in_file(label)
                    .into());
                }
            }
        }
        let csv_label = d.join("sweep.csv").display().to_string();
        let bytes = std::fs::read(d.join("sweep.csv"))
            .map_err(|e| InputError::new(format!("cannot read: {e}")).in_file(csv_label.clone()))?;
        let r = sweep::parse_rows_csv(&bytes, &m.spec, &m.metrics, &csv_label)?;
        if r.len() != m.runs {
            return Err(InputError::new(format!(
                "{} rows, where sweep.json says {}",
                r.len(),
                m.runs
            ))
            .in_file(csv_label)
            .into());
        }
        rows.extend(r.into_iter().map(|r| (r, k)));
    }
    let Some((spec, metrics, sha, _)) = first else {
        return Err(Error::Other("nothing to merge".into()));
    };
    rows.sort_by_key(|(r, _)| r.run);
    if let Some(w) = rows.windows(2).find(|w| w[0].0.run == w[1].0.run) {
        return Err(InputError::new(format!(
            "run {} appears in two shards: {} and {}",
            w[0].0.run,
            dirs[w[0].1].display(),
            dirs[w[1].1].display()
        ))
        .in_file("merge")
        .into());
    }
    let rows: Vec<RunRow> = rows.into_iter().map(|(r, _)| r).collect();
    let total = spec.points() * spec.replications as usize;
    let have: Vec<usize> = rows.iter().map(|r| r.run).collect();
    let missing: Vec<String> = (0..total)
        .filter(|i| have.binary_search(i).is_err())
        .take(10)
        .map(|i| i.to_string())
        .collect();
    if have.len() != total && !a.partial {
        return Err(InputError::new(format!(
            "{} of {total} runs are present; missing runs include {}",
            have.len(),
            missing.join(", ")
        ))
        .in_file("merge")
        .hint("merge every shard I/N for I = 1..N, or pass --partial to merge the runs present")
        .into());
    }
    let target_texts = target_texts.unwrap_or_default();
    let targets = if target_texts.is_empty() {
        Vec::new()
    } else {
        plan::parse_targets(&target_texts)?
    };
    let staging = Staging::begin(&a.out)?;
    let mut said = write_sweep(
        &spec,
        &metrics,
        &rows,
        staging,
        SweepOutput {
            out: &a.out,
            expected: total,
            sha,
            metric: &a.metric,
            no_plots: a.no_plots,
            format: a.format,
            targets: &targets,
        },
    )?;
    if have.len() != total && a.format == Format::Text {
        said.push_str(&format!(
            "partial: {} of {total} runs were merged; the intervals are over the replications present (missing runs include {})\n",
            have.len(),
            missing.join(", ")
        ));
    }
    Ok(said)
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
    /// Replications (futures) per evaluated value [default: 5; with `--futures`, enough
    /// for the share to be shown].
    pub replications: Option<u32>,
    /// `--uncertain KEY=LAW(...)`: inputs each future draws.
    pub uncertain: Vec<String>,
    /// `--futures F`: the share of plausible futures that must meet every target.
    pub futures: Option<String>,
    /// Worker threads.
    pub threads: Option<usize>,
    /// `--set` overrides.
    pub sets: Vec<String>,
    /// One variant of the file.
    pub variant: Option<String>,
    /// Overrides the scenario's seed.
    pub seed: Option<u64>,
    /// Text or JSON on standard output.
    pub format: Format,
}

/// What `plan` found: the text or JSON to print, and when no value meets the targets,
/// the error the command exits with after printing it.
pub struct PlanOutcome {
    /// For standard output.
    pub stdout: String,
    /// Set when no candidate meets every target.
    pub unmet: Option<Error>,
    /// The search and its evidence.
    pub plan: plan::Plan,
}

/// `queuelab plan`.
pub fn plan(a: &PlanArgs, tick: &(dyn Fn() + Sync)) -> Result<PlanOutcome, Error> {
    let futures = a.futures.as_deref().map(parse_futures).transpose()?;
    if futures.is_none() && !a.uncertain.is_empty() {
        return Err(InputError::new(
            "with uncertain inputs, plan answers for a share of plausible futures: say which",
        )
        .in_file("--uncertain")
        .hint("add --futures 0.9 (the smallest value meeting every target in at least 90% of futures)")
        .into());
    }
    let needed = futures.and_then(sweep::runs_to_show);
    let replications = match (a.replications, futures, needed) {
        (Some(r), _, _) => r,
        (None, None, _) => 5,
        // Enough that a few futures may fail and the share still shows F.
        (None, Some(_), Some(n)) => (n + n / 2).max(20),
        (None, Some(_), None) => 0,
    };
    match (futures, needed) {
        (None, _) if replications < 2 => {
            return Err(InputError::new(format!(
                "{replications} replication(s) per value: plan judges each value by the 95% interval of its mean, and one run has no interval"
            ))
            .in_file("--replications")
            .allowed("2 or more (5 by default)")
            .into());
        }
        (Some(f), Some(n)) if replications < n => {
            let best = sweep::share(replications as usize, replications as usize)
                .map(|s| s.low)
                .unwrap_or(0.0);
            return Err(InputError::new(format!(
                "{replications} futures per value cannot show a share of {}: even if every one met the targets, the 95% interval of the share would reach down to {:.1}%",
                fmt_share_pct(f),
                100.0 * best
            ))
            .in_file("--replications")
            .allowed(format!("{n} or more for --futures {} (the default is {})", fmt_share_pct(f), (n + n / 2).max(20)))
            .into());
        }
        _ => {}
    }
    let targets: Vec<Target> = plan::parse_targets(&a.targets)?;
    let prepared = prepare_sweep(&SweepArgs {
        scenario: a.scenario.clone(),
        vary: vec![a.vary.clone()],
        uncertain: a.uncertain.clone(),
        replications,
        threads: a.threads,
        sets: a.sets.clone(),
        variant: a.variant.clone(),
        seed: a.seed,
        metric: METRICS[0].to_string(),
        no_plots: true,
        ..Default::default()
    })?;
    let known = known_metrics(&prepared.spec, &prepared.text)?;
    for t in &targets {
        sweep::check_metric(&t.metric, &known, "--target")?;
    }
    let vary: Vary = prepared.spec.vary[0].clone();
    let result = plan::search_futures(
        &prepared.spec,
        &prepared.text,
        &vary,
        &targets,
        prepared.threads,
        tick,
        futures,
    )?;
    let stdout = if a.format == Format::Json {
        let mut s =
            serde_json::to_string_pretty(&result).map_err(|e| Error::Other(e.to_string()))?;
        s.push('\n');
        s
    } else {
        plan::describe(&result, &targets)
    };
    let unmet = result.answer.is_none().then(|| {
        Error::Other(match futures {
            None => format!(
                "no value of {} among the {} candidates meets every target",
                result.key, result.candidates
            ),
            Some(f) => format!(
                "no value of {} among the {} candidates meets every target in at least {} of plausible futures",
                result.key,
                result.candidates,
                fmt_share_pct(f)
            ),
        })
    });
    Ok(PlanOutcome {
        stdout,
        unmet,
        plan: result,
    })
}

/// `95%`.
fn fmt_share_pct(f: f64) -> String {
    format!(
        "{}%",
        crate::metrics::timeseries::fmt_f((f * 1000.0).round() / 10.0)
    )
}

/// Parses `--futures`: a share such as `0.95` or `95%`, more than 0 and below 1.
fn parse_futures(s: &str) -> Result<f64, InputError> {
    let t = s.trim();
    let f = match t.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|x| x / 100.0),
        None => t.parse::<f64>(),
    };
    let bad = |m: String| {
        InputError::new(m)
            .in_file("--futures")
            .allowed("a share above 0 and below 1, e.g. 0.9 or 95%, at most 99.99%")
    };
    match f {
        Err(_) => Err(bad(format!("`{t}` is not a share"))),
        Ok(f) if f >= 1.0 => Err(bad(format!(
            "`{t}`: no finite number of futures can show that every plausible future meets the targets (the interval of a share of n out of n still reaches below 100%)"
        ))),
        Ok(f) if f > 0.0 && sweep::runs_to_show(f).is_some() => Ok(f),
        Ok(_) => Err(bad(format!("`{t}` is not above 0 and at most 99.99%"))),
    }
}
