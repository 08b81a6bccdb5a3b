//! `queuelab live`: the scenario's producers and consumers against a real RabbitMQ, in
//! real time (or scaled by `--speed`), measured with the core's own [`Recorder`] and
//! printed beside the model's run of the same scenario and seed.
//!
//! - [`plan`]: what a live run refuses, the messages it publishes (the model's own
//!   arrival and first-attempt draws, in the model's order) and the queue it declares.
//! - [`run`]: the clients on tokio (lapin): a confirmed publisher, one channel per
//!   consumer (basic.qos prefetch, ack / nack with or without requeue), a reader of the
//!   dead-letter queue, a poller of the broker's queue depth (passive queue.declare) and
//!   the time-series sampler.
//! - [`compare`]: model and measured side by side, the differences named.
//!
//! Times: the run's clock is the wall clock since the first publish times `--speed`, so
//! summary.json and timeseries.csv are in the scenario's own (simulated) seconds.
//!
//! [`Recorder`]: crate::metrics::recorder::Recorder

pub mod compare;
pub mod plan;
pub mod run;

use crate::app::{self, Format};
use crate::error::{Error, InputError};
use crate::report::{self, files, Bundle};
use crate::scenario::Scenario;
use crate::sim::{self, RunResult};
use lapin::uri::{AMQPScheme, AMQPUri};
use std::fmt::Write as _;
use std::path::PathBuf;

/// `queuelab live`'s arguments.
#[derive(Debug, Clone, Default)]
pub struct LiveArgs {
    /// The scenario (a file or a bundled lesson).
    pub scenario: String,
    /// `--broker amqp://HOST[:PORT][/VHOST]`.
    pub broker: String,
    /// `--speed`: simulated seconds per wall second.
    pub speed: f64,
    /// `--out` [default: output/<name>-live/].
    pub out: Option<PathBuf>,
    /// `--seed`.
    pub seed: Option<u64>,
    /// `--variant`.
    pub variant: Option<String>,
    /// `--set`.
    pub sets: Vec<String>,
    /// `--format`.
    pub format: Format,
}

/// What a live run did.
pub struct LiveReport {
    /// The scenario run.
    pub scenario: Scenario,
    /// The queue declared.
    pub spec: plan::QueueSpec,
    /// The model's run of the same scenario and seed.
    pub model: RunResult,
    /// The live run's measurements.
    pub measured: run::Measured,
    /// Model and measured side by side.
    pub figures: Vec<compare::Figure>,
    /// The latency tolerance the figures were judged with.
    pub tolerance: compare::Tolerance,
    /// Messages the plan publishes.
    pub planned: u64,
    /// `--speed`.
    pub speed: f64,
    /// The publish rate the plan asks for while it publishes, per wall second.
    pub asked_rate: f64,
    /// Where the files went.
    pub out_dir: PathBuf,
    /// Text for standard output.
    pub stdout: String,
}

/// The broker address: `amqp://HOST[:PORT][/VHOST]` (user `guest` unless given as
/// `amqp://USER:PASS@HOST`).
///
/// # Errors
/// An [`InputError`] blamed on `--broker` for anything else.
pub fn broker_uri(text: &str) -> Result<AMQPUri, InputError> {
    let bad = |why: String| {
        InputError::of(
            crate::error::ErrorKind::Invalid,
            format!("`{}` is not a broker address: {why}", crate::error::clip(text, 80)),
        )
        .in_file("--broker")
        .allowed("amqp://HOST[:PORT][/VHOST], e.g. amqp://127.0.0.1:5672 (vhost /) or amqp://localhost/%2f")
    };
    if !text.starts_with("amqp://") {
        return Err(bad(if text.starts_with("amqps://") {
            "TLS (amqps) is not supported by queuelab live".into()
        } else {
            "it must start with amqp://".into()
        }));
    }
    let rest = &text["amqp://".len()..];
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    if host.is_empty() || host.starts_with(':') {
        return Err(bad("it names no host".into()));
    }
    let uri: AMQPUri = text.parse().map_err(bad)?;
    if uri.scheme != AMQPScheme::AMQP {
        return Err(bad("only amqp:// is supported".into()));
    }
    if uri.authority.host.is_empty() {
        return Err(bad("it names no host".into()));
    }
    Ok(uri)
}

/// The scenario live runs: the file's, or with variants the one `--variant` names.
fn scenario(a: &LiveArgs) -> Result<(Scenario, String), Error> {
    let o = app::overrides(&a.sets, a.seed, None)?;
    let mut o = o;
    if let Some(v) = &a.variant {
        o.variants = crate::scenario::VariantFilter::Only(v.clone());
    }
    let mut l = app::load_with(&a.scenario, o)?;
    if let Some(v) = &a.variant {
        l.file.select_variant(v)?;
        return Ok((l.file.variants[0].clone(), l.label));
    }
    if !l.file.variants.is_empty() {
        let names: Vec<&str> = l
            .file
            .variants
            .iter()
            .filter_map(|v| v.variant.as_deref())
            .collect();
        return Err(InputError::of(
            crate::error::ErrorKind::Missing,
            format!(
                "{} has variants: a live run is one of them, at its own real time",
                l.label
            ),
        )
        .in_file("--variant")
        .allowed(names.join(", "))
        .into());
    }
    Ok((l.file.base, l.label))
}

/// `queuelab live`: checks everything, runs the model, runs the scenario against the
/// broker, writes the files and returns the report.
///
/// # Errors
/// Exit status 2 ([`Error::Input`]) for a bad address, scenario or flag and for anything
/// live cannot do honestly (naming the key); 1 ([`Error::Other`]) when the broker cannot
/// be reached or refuses the queue.
pub fn live(a: &LiveArgs) -> Result<LiveReport, Error> {
    let uri = broker_uri(&a.broker)?;
    let (s, label) = scenario(a)?;
    let spec = plan::check(&s, a.speed).map_err(|e| {
        if e.file.is_some() {
            e
        } else {
            e.in_file(label.clone())
        }
    })?;
    let out_dir = a.out.clone().unwrap_or_else(|| {
        PathBuf::from("output").join(match &s.variant {
            Some(v) => format!("{}-{v}-live", s.name),
            None => format!("{}-live", s.name),
        })
    });
    report::check_out_dir(&out_dir)?;
    let planned = plan::schedule(&s);
    let model = sim::run(&s);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Other(format!("cannot start the live runtime: {e}")))?;
    let started = std::time::Instant::now();
    let mut measured = rt
        .block_on(run::run(&s, &spec, &planned, &uri, a.speed))
        .map_err(|e| {
            Error::Other(format!(
                "{e} (broker {}; is RabbitMQ running there? e.g. `rabbitmq-server -detached`)",
                crate::error::clip(&a.broker, 80)
            ))
        })?;
    rt.shutdown_background();
    measured.summary.wall_seconds = started.elapsed().as_secs_f64();
    measured.summary.variant = s.variant.clone();
    let deliveries = if model.summary.counts.completed > 0 {
        // Deliveries per completed message in the model, at most: 1 unless it requeues.
        (model.summary.counts.attempts as f64 / model.summary.counts.produced.max(1) as f64).ceil()
    } else {
        1.0
    };
    let model_handoff_ms = match s.broker {
        crate::scenario::broker::Broker::RabbitMq {
            publish_to_deliver, ..
        } => publish_to_deliver as f64 / 1e6 / a.speed,
        _ => 0.0,
    };
    let tolerance = compare::Tolerance::of(
        (
            model.summary.consumers.utilization,
            measured.summary.consumers.utilization,
        ),
        measured.handoff_ms.map(|(p50, _)| p50),
        model_handoff_ms,
    );
    let figures = compare::figures(
        &model.summary,
        &measured.summary,
        a.speed,
        deliveries,
        &tolerance,
    );

    let mut bundle = Bundle::default();
    bundle.add(
        out_dir.join("summary.json"),
        files::summary_json(&measured.summary)?,
    );
    bundle.add(
        out_dir.join("timeseries.csv"),
        files::timeseries_csv(&measured.rows)?,
    );
    bundle.add(
        out_dir.join("model").join("summary.json"),
        files::summary_json(&model.summary)?,
    );
    bundle.add(
        out_dir.join("model").join("timeseries.csv"),
        files::timeseries_csv(&model.rows)?,
    );
    bundle.add(out_dir.join("side_by_side.csv"), side_by_side_csv(&figures));
    report::publish(&out_dir, &bundle)?;
    let mut r = LiveReport {
        scenario: s,
        spec,
        model,
        measured,
        figures,
        tolerance,
        planned: planned.len() as u64,
        speed: a.speed,
        asked_rate: match (planned.first(), planned.last()) {
            (Some(f), Some(l)) if l.at > f.at => {
                (planned.len() - 1) as f64 / ((l.at - f.at) as f64 / 1e9) * a.speed
            }
            _ => 0.0,
        },
        out_dir,
        stdout: String::new(),
    };
    r.stdout = match a.format {
        Format::Text => text(&r, &a.broker),
        Format::Json => {
            let mut v = files::summary_json(&r.measured.summary)?;
            if v.last() != Some(&b'\n') {
                v.push(b'\n');
            }
            String::from_utf8_lossy(&v).into_owned()
        }
    };
    Ok(r)
}

fn side_by_side_csv(figures: &[compare::Figure]) -> Vec<u8> {
    let mut s = String::from("figure,model,measured,difference,verdict\n");
    let v = |x: Option<f64>| x.map(|x| format!("{x}")).unwrap_or_default();
    for f in figures {
        let _ = writeln!(
            s,
            "{},{},{},{},{}",
            f.name,
            v(f.model),
            v(f.measured),
            f.difference(),
            f.verdict()
        );
    }
    s.into_bytes()
}

/// The text report: what ran, how well the publisher kept up, the side-by-side and the
/// differences named.
pub fn text(r: &LiveReport, broker: &str) -> String {
    let s = &r.scenario;
    let m = &r.measured;
    let mut o = String::new();
    let name = match &s.variant {
        Some(v) => format!("{} / {v}", s.name),
        None => s.name.clone(),
    };
    let _ = writeln!(
        o,
        "live: {name} against {broker}, {} of scenario time in {:.1} s of wall time",
        crate::time::human(crate::time::ns_to_secs(s.duration)),
        m.summary.wall_seconds
    );
    let _ = writeln!(o, "queue: {}", r.spec.describe());
    let achieved = if m.publish_span > 0.0 && m.published > 1 {
        (m.published - 1) as f64 / m.publish_span
    } else {
        0.0
    };
    let _ = writeln!(
        o,
        "published {} of {} planned messages: {:.1}/s of wall time achieved, {:.1}/s asked; publishes late by p50 {:.2} ms, p99 {:.2} ms, at most {:.2} ms",
        m.published,
        r.planned,
        achieved,
        r.asked_rate,
        m.lateness_ms.0,
        m.lateness_ms.1,
        m.lateness_ms.2
    );
    if let Some((p50, p99)) = m.handoff_ms {
        let _ = writeln!(
            o,
            "hand-off, publish to delivery to an idle consumer: p50 {p50:.2} ms, p99 {p99:.2} ms of wall time"
        );
    }
    if let Some((p50, p99)) = m.overshoot_ms {
        let _ = writeln!(
            o,
            "consumers' sleeps overshoot the sampled service time by p50 {p50:.2} ms, p99 {p99:.2} ms of wall time"
        );
    }
    if !m.dead_reasons.is_empty() {
        let reasons: Vec<String> = m
            .dead_reasons
            .iter()
            .map(|(r, n)| format!("{n} {r}"))
            .collect();
        let _ = writeln!(
            o,
            "dead-lettered by RabbitMQ's x-death reason: {}",
            reasons.join(", ")
        );
    }
    if m.inferred > 0 {
        let _ = writeln!(
            o,
            "{} messages left the queue unseen (no DLQ): counted at the end, from the message ids, as dropped, expired or failed",
            m.inferred
        );
    }
    let _ = writeln!(o, "{}", r.tolerance.describe());
    let _ = writeln!(o);
    let w = r.figures.iter().map(|f| f.name.len()).max().unwrap_or(10);
    let _ = writeln!(
        o,
        "{:w$}  {:>12}  {:>12}  {:>12}  verdict",
        "figure", "model", "measured", "difference"
    );
    for f in &r.figures {
        let _ = writeln!(
            o,
            "{:w$}  {:>12}  {:>12}  {:>12}  {}",
            f.name,
            f.show(f.model),
            f.show(f.measured),
            f.difference(),
            f.verdict()
        );
    }
    let differ: Vec<&compare::Figure> = r.figures.iter().filter(|f| !f.agrees()).collect();
    let _ = writeln!(o);
    if differ.is_empty() {
        let _ = writeln!(
            o,
            "model and broker agree on all {} figures (counts exactly, latencies within the tolerance shown).",
            r.figures.len()
        );
    } else {
        let _ = writeln!(
            o,
            "{} of {} figures agree; these differ:",
            r.figures.len() - differ.len(),
            r.figures.len()
        );
        for f in differ {
            let _ = writeln!(
                o,
                "- {}: the model says {}, RabbitMQ did {} ({})",
                f.name,
                f.show(f.model),
                f.show(f.measured),
                f.difference()
            );
        }
    }
    let _ = writeln!(
        o,
        "wrote {}: summary.json and timeseries.csv (measured), model/ (the model's), side_by_side.csv",
        r.out_dir.display()
    );
    o
}
