//! `queuelab fit FILE`: the candidates for a measured sample, their goodness of fit, QQ
//! plots, and the scenario line to paste (the fitting itself is [`crate::fit`], in the
//! core).

use super::Format;
use crate::error::{Error, ErrorKind, InputError};
use crate::fit::{self, Fit, Kind, Source};
use crate::report::{self, plot, Bundle};
use crate::time::{human, thousands};
use queuelab_core::input;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// Arguments of `queuelab fit`.
#[derive(Debug, Clone, Default)]
pub struct FitArgs {
    /// The sample: one value a line, or a CSV with a `value` column (`time` for
    /// timestamps).
    pub file: PathBuf,
    /// The unit of bare numbers (`ms`, `s`, ...); values with their own unit need none.
    pub unit: Option<String>,
    /// The values are gaps between arrivals.
    pub gaps: bool,
    /// The values are arrival times.
    pub timestamps: bool,
    /// Output folder for fit.json and the QQ plots [default: output/fit-<file stem>/].
    pub out: Option<PathBuf>,
    /// Skip the QQ plots (and the folder).
    pub no_plots: bool,
    /// Text or JSON on standard output.
    pub format: Format,
}

/// What `queuelab fit` did.
#[derive(Debug)]
pub struct FitReport {
    /// What to print.
    pub stdout: String,
    /// The fit.
    pub fit: Fit,
    /// Where the files went (`None` with `--no-plots`).
    pub out_dir: Option<PathBuf>,
}

/// Reads the sample of `a.file` in seconds.
fn read(a: &FitArgs, label: &str, kind: Kind) -> Result<Vec<f64>, Error> {
    let f = std::fs::File::open(&a.file).map_err(|e| {
        let kind = if e.kind() == std::io::ErrorKind::NotFound {
            ErrorKind::Missing
        } else {
            ErrorKind::Syntax
        };
        InputError::of(kind, format!("cannot open the sample: {e}"))
            .in_file(label.to_string())
            .allowed("a file of one value a line, or a CSV with a `value` column")
    })?;
    let r = std::io::BufReader::new(f);
    let unit = match &a.unit {
        None => None,
        Some(u) => Some(input::unit_secs(u).ok_or_else(|| {
            InputError::of(ErrorKind::UnknownValue, format!("unknown unit `{u}`"))
                .in_file("--unit")
                .allowed(input::unit_names())
        })?),
    };
    if kind == Kind::Timestamps {
        let mut t = input::Timestamps::new(r, label, "time")?;
        let mut out = Vec::new();
        while let Some((ns, _)) = t.next_ns()? {
            out.push(crate::time::ns_to_secs(ns));
        }
        if out.is_empty() {
            return Err(
                InputError::of(ErrorKind::Missing, "this data file has no values")
                    .in_file(label.to_string())
                    .allowed("one timestamp a line, or a CSV column `time`")
                    .into(),
            );
        }
        return Ok(out);
    }
    input::read_durations(r, label, "value", unit).map_err(|mut e| {
        // The reader's hint is for scenario files; here the unit is a flag.
        if e.hint.as_deref().is_some_and(|h| h.contains("unit =")) {
            e.hint = Some("or give the unit of bare numbers: --unit ms".into());
        }
        e.into()
    })
}

/// `queuelab fit`.
pub fn fit(a: &FitArgs) -> Result<FitReport, Error> {
    if a.gaps && a.timestamps {
        return Err(InputError::new("give --gaps or --timestamps, not both")
            .in_file("--timestamps")
            .into());
    }
    let kind = if a.timestamps {
        Kind::Timestamps
    } else if a.gaps {
        Kind::Gaps
    } else {
        Kind::Service
    };
    let label = a.file.display().to_string();
    let out_dir = (!a.no_plots).then(|| {
        a.out.clone().unwrap_or_else(|| {
            let stem = a
                .file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "sample".into());
            Path::new("output").join(format!("fit-{stem}"))
        })
    });
    let values = read(a, &label, kind)?;
    let src = Source {
        file: label.clone(),
        unit: a.unit.clone().unwrap_or_else(|| "s".into()),
        kind,
    };
    let f = fit::fit(&values, &src).map_err(|e| {
        InputError::of(
            match e {
                fit::FitError::TooFew(_) => ErrorKind::Missing,
                _ => ErrorKind::OutOfRange,
            },
            e.to_string(),
        )
        .in_file(label.clone())
    })?;
    let mut json = serde_json::to_vec_pretty(&f).map_err(|e| Error::encode("fit.json", e))?;
    json.push(b'\n');
    if let Some(dir) = &out_dir {
        // Checked (and staged) before anything is drawn; swapped in whole.
        let mut staging = report::Staging::begin(dir)?;
        let mut bundle = Bundle::default();
        bundle.add(dir.join("fit.json"), json.clone());
        let title = format!(
            "{}: {} {} against the fitted laws",
            a.file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            thousands(f.n as u64),
            match kind {
                Kind::Service => "values",
                _ => "gaps",
            }
        );
        let (png, svg) = plot::qq(&title, &f, &sorted(&values, kind))?;
        bundle.add(dir.join("qq.png"), png);
        bundle.add(dir.join("qq.svg"), svg);
        staging.write(&bundle)?;
        staging.commit()?;
    }
    let stdout = match a.format {
        Format::Json => String::from_utf8_lossy(&json).into_owned(),
        Format::Text => text(&f, &label, out_dir.as_deref()),
    };
    Ok(FitReport {
        stdout,
        fit: f,
        out_dir,
    })
}

/// The fitted values, sorted (for timestamps, their gaps).
fn sorted(values: &[f64], kind: Kind) -> Vec<f64> {
    let mut x = if kind == Kind::Timestamps {
        fit::gaps_of(values).unwrap_or_default()
    } else {
        values.to_vec()
    };
    x.sort_by(f64::total_cmp);
    x
}

/// The text `queuelab fit` prints.
pub fn text(f: &Fit, label: &str, out: Option<&Path>) -> String {
    let mut o = String::new();
    let what = match f.kind {
        Kind::Service => "values",
        Kind::Gaps => "gaps",
        Kind::Timestamps => "gaps between timestamps",
    };
    let _ = writeln!(
        o,
        "{label}: {} {what}, mean {}, stddev {} (cv {:.3}), min {}, median {}, p99 {}, max {}",
        thousands(f.n as u64),
        human(f.mean),
        human(f.stddev),
        f.cv,
        human(f.min),
        human(f.p50),
        human(f.p99),
        human(f.max)
    );
    let _ = writeln!(o, "  best        {} — {}", f.best, f.reason);
    let _ = writeln!(
        o,
        "  {:<12}{:>10}{:>10}{:>9}{:>10}  {:<11}parameters",
        "family", "mean", "stddev", "KS D", "A²", "fits"
    );
    for c in &f.candidates {
        let params = match c.family.as_str() {
            "exponential" => format!("rate {:.4}/s", c.rate.unwrap_or(0.0)),
            "lognormal" => format!(
                "mu {:.4}, sigma {:.4} (of ln seconds)",
                c.mu.unwrap_or(0.0),
                c.sigma.unwrap_or(0.0)
            ),
            "gamma" => format!(
                "shape {:.4}, scale {}",
                c.shape.unwrap_or(0.0),
                human(c.scale.unwrap_or(0.0))
            ),
            "constant" => format!("value {}", human(c.value.unwrap_or(0.0))),
            _ => "the sample itself".into(),
        };
        let verdict = if c.family == "empirical" {
            "always"
        } else if c.acceptable {
            "yes"
        } else {
            "no"
        };
        let _ = writeln!(
            o,
            "  {:<12}{:>10}{:>10}{:>9.4}{:>10}  {verdict:<11}{params}",
            c.family,
            human(c.mean),
            human(c.stddev),
            c.ks_d,
            c.ad.map(|v| format!("{v:.2}"))
                .unwrap_or_else(|| "-".into()),
        );
    }
    for n in &f.not_fitted {
        let _ = writeln!(o, "  {:<12}not fitted: {}", n.family, n.reason);
    }
    let _ = writeln!(
        o,
        "              (fits: KS D below {:.4}, the 5% critical value for {} values; constant: cv below {})",
        f.ks_critical,
        thousands(f.n as u64),
        fit::CONSTANT_CV
    );
    if let Some(best) = f.candidates.iter().find(|c| c.family == f.best) {
        match &best.paste {
            Some(p) => {
                let _ = writeln!(o, "  paste       {p}");
                if best.family == "empirical" {
                    let _ = writeln!(
                        o,
                        "              (the path is read relative to the scenario file)"
                    );
                }
            }
            None => {
                let _ = writeln!(
                    o,
                    "  paste       - (a scenario has no arrivals with {} gaps; replay the times with arrivals = \"trace\")",
                    best.family
                );
            }
        }
    }
    if let Some(b) = &f.arrivals {
        let _ = writeln!(
            o,
            "  arrivals    {:.4}/s, cv {:.3}, Ca² {:.3}",
            b.rate, b.cv, b.ca2
        );
        for d in &b.dispersion {
            let _ = writeln!(
                o,
                "              {:>7} windows ({} of them, {:.1} arrivals each): index of dispersion {:.3} (Poisson 1 ± {:.3})",
                human(d.window),
                thousands(d.windows as u64),
                d.mean_count,
                d.index,
                d.band
            );
        }
        let _ = writeln!(o, "  verdict     {}", b.sentence);
    }
    if let Some(dir) = out {
        let _ = writeln!(
            o,
            "  files       {} (fit.json, qq.png, qq.svg)",
            dir.display()
        );
    }
    o
}
