//! Scenario files: loading, overlays (`[[variants]]`, `--set`), validation.
//!
//! [`parse`] reads a file's text into a [`ScenarioFile`]: the base [`Scenario`] and one per variant,
//! every value checked, times converted to integer nanoseconds. Errors are
//! [`InputError`]s that name the file, line, column and key.

pub mod broker;
pub mod data;
mod locate;
pub mod overlay;
pub mod raw;
pub mod subscribers;
mod validate;
pub use validate::OUTPUT_NAMES;

pub use raw::{
    ArrivalKind, Backoff, ClientMode, Jitter, Overflow, RawTeaching as Teaching, RetryPlace,
    ScaleMetric, TtlAction,
};

use crate::error::{ErrorKind, InputError};
use crate::input::{Inputs, NoInputs};
use crate::time::Nanos;
use raw::RawScenario;
use std::sync::Arc;
use toml::Table;

/// A checked, ready-to-run scenario (one variant of a file, or the file itself).
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// `name`: names the output folder.
    pub name: String,
    /// The variant's name, if this is a variant.
    pub variant: Option<String>,
    /// `description`.
    pub description: String,
    /// The seed every random stream is derived from.
    pub seed: u64,
    /// The run stops here.
    pub duration: Nanos,
    /// Latency and queue statistics ignore messages produced before this.
    pub warmup: Nanos,
    /// Time-series resolution.
    pub sample_every: Nanos,
    /// One or more producers.
    pub producers: Vec<Producer>,
    /// The bounded (or not) queue.
    pub queue: Queue,
    /// The consumer pool.
    pub consumers: Consumers,
    /// What each processing attempt calls.
    pub downstream: Downstream,
    /// Retry policy (the consumer's in async mode, the caller's in sync mode).
    pub retry: Retry,
    /// Dead-letter queue after the last attempt.
    pub dlq_enabled: bool,
    /// At-least-once delivery.
    pub delivery: Delivery,
    /// The caller.
    pub client: Client,
    /// `[teaching]` notes, if any.
    pub teaching: Option<Teaching>,
    /// `[cost]` prices, if any.
    pub cost: Option<Cost>,
    /// `[breaker]`, if any.
    pub breaker: Option<Breaker>,
    /// `[autoscale]`, if any.
    pub autoscale: Option<Autoscale>,
    /// `[broker]`: whose semantics the queue follows (`Generic` by default).
    pub broker: broker::Broker,
    /// `[keys]`: message keys (per-key ordering, message groups, partitions).
    pub keys: Option<broker::Keys>,
    /// `[[subscribers]]`: fan-out. Empty: one queue and one consumer group (the tables
    /// above). Otherwise each published message is copied to every subscriber that takes
    /// its producer, and each subscriber runs its own queue and consumer group.
    pub subscribers: Vec<Subscriber>,
    /// Mixed into the seeds of the consumer-side random streams (0: none). Each subscriber
    /// gets its own, from its name, so that subscribers draw independently while sharing
    /// the arrivals.
    pub stream_salt: u64,
}

/// One subscription of a fan-out topic: its own queue and consumer group.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscriber {
    /// Its name (a folder name).
    pub name: String,
    /// Names of the producers whose messages it receives (all when the file does not say).
    pub producers: Vec<String>,
    /// The scenario it runs: the file's tables with the subscriber's own over them, only
    /// its producers, and its own random streams.
    pub run: Box<Scenario>,
}

/// Autoscaling of the consumer pool.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Autoscale {
    /// The signal watched.
    pub metric: ScaleMetric,
    /// Add consumers when the signal is above this (messages, or seconds of age).
    pub scale_out_above: f64,
    /// Remove consumers when the signal is below this.
    pub scale_in_below: f64,
    /// Consumers added or removed per decision.
    pub step: u32,
    /// Fewest consumers.
    pub min: u32,
    /// Most consumers.
    pub max: u32,
    /// Time for added consumers to start working.
    pub reaction: Nanos,
    /// No new decision this long after the last one.
    pub cooldown: Nanos,
    /// How often the signal is checked.
    pub check_every: Nanos,
}

/// A circuit breaker: the consumer's in async mode, the caller's in sync mode.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Breaker {
    /// Calls in the sliding window.
    pub window: u32,
    /// Share of failed calls in a full window that opens the breaker.
    pub failure_threshold: f64,
    /// How long it stays open.
    pub open_for: Nanos,
    /// Calls let through when half-open; all must succeed to close it.
    pub half_open_probes: u32,
}

/// A producer of messages.
#[derive(Debug, Clone, PartialEq)]
pub struct Producer {
    /// Its name.
    pub name: String,
    /// Poisson, evenly spaced, a trace, or a rate series (a Poisson producer whose
    /// `schedule` is the series).
    pub arrivals: ArrivalKind,
    /// Messages per second from time 0. For a trace: the rate of the head of the file
    /// ([`data::Trace::head_rate`]), an estimate used by work estimates and the time
    /// series' `offered_rate`.
    pub rate: f64,
    /// `(at, rate)` steps, strictly increasing in `at`.
    pub schedule: Vec<(Nanos, f64)>,
    /// Priority tier of its messages (0 lowest, 9 highest).
    pub priority: u8,
    /// Its position in the file: the identity of its arrival stream, kept when a
    /// subscriber takes only some producers so that the arrivals stay the same.
    pub stream: u32,
    /// Probability a message is published twice (async only).
    pub duplicate_rate: f64,
    /// Delay of the second copy.
    pub duplicate_delay: Nanos,
    /// `arrivals = "trace"`: the timestamps and how they are replayed.
    pub trace: Option<data::Trace>,
}

impl Producer {
    /// The rate in force at time `t`.
    pub fn rate_at(&self, t: Nanos) -> f64 {
        self.schedule
            .iter()
            .rev()
            .find(|(at, _)| *at <= t)
            .map(|(_, r)| *r)
            .unwrap_or(self.rate)
    }
}

/// The queue (async) or the server's accept backlog (sync).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Queue {
    /// Messages that may wait; `None` = unbounded.
    pub capacity: Option<u64>,
    /// What an arrival that finds it full does.
    pub overflow: Overflow,
    /// Messages older than this expire when they reach the head (`None`: never).
    pub ttl: Option<Nanos>,
    /// What an expired message does.
    pub ttl_action: TtlAction,
    /// Messages waiting at time 0.
    pub initial_backlog: u64,
    /// Serve higher priority tiers first (else one FIFO, priorities ignored).
    pub priority: bool,
}

/// The consumer pool.
#[derive(Debug, Clone, PartialEq)]
pub struct Consumers {
    /// How many consumers.
    pub count: u32,
    /// Service-time law of one attempt.
    pub service: Service,
    /// `(start, end)` windows in which no consumer takes a message (sorted, disjoint).
    /// Attempts in progress finish; sync calls arriving inside are refused.
    pub down: Vec<(Nanos, Nanos)>,
}

/// A service-time law, in seconds.
#[derive(Debug, Clone, PartialEq)]
pub enum Service {
    /// Always `value`.
    Constant(f64),
    /// Uniform on `[min, max]`.
    Uniform(f64, f64),
    /// Exponential with this mean.
    Exponential(f64),
    /// Lognormal with this mean and standard deviation (of the time itself).
    LogNormal(f64, f64),
    /// Gamma with this mean and standard deviation.
    Gamma(f64, f64),
    /// Measured times, resampled (`dist = "empirical"`).
    Empirical(data::Samples),
    /// A latency histogram, uniform inside each bucket (`dist = "histogram"`).
    Histogram(data::Buckets),
}

impl Service {
    /// Mean service time in seconds.
    pub fn mean(&self) -> f64 {
        match *self {
            Service::Constant(v) => v,
            Service::Uniform(a, b) => (a + b) / 2.0,
            Service::Exponential(m) | Service::LogNormal(m, _) | Service::Gamma(m, _) => m,
            Service::Empirical(ref s) => s.mean,
            Service::Histogram(ref b) => b.mean,
        }
    }

    /// Standard deviation in seconds.
    pub fn stddev(&self) -> f64 {
        match *self {
            Service::Constant(_) => 0.0,
            Service::Uniform(a, b) => (b - a) / 12f64.sqrt(),
            Service::Exponential(m) => m,
            Service::LogNormal(_, s) | Service::Gamma(_, s) => s,
            Service::Empirical(ref s) => s.stddev,
            Service::Histogram(ref b) => b.stddev,
        }
    }

    /// Short description, e.g. `exponential(mean 40ms)`.
    pub fn describe(&self) -> String {
        use crate::time::human;
        match *self {
            Service::Constant(v) => format!("constant {}", human(v)),
            Service::Uniform(a, b) => format!("uniform {}..{}", human(a), human(b)),
            Service::Exponential(m) => format!("exponential, mean {}", human(m)),
            Service::LogNormal(m, s) => format!("lognormal, mean {} sd {}", human(m), human(s)),
            Service::Gamma(m, s) => format!("gamma, mean {} sd {}", human(m), human(s)),
            Service::Empirical(ref s) => data::describe_samples(s),
            Service::Histogram(ref b) => data::describe_buckets(b),
        }
    }
}

/// The dependency each attempt calls.
#[derive(Debug, Clone, PartialEq)]
pub struct Downstream {
    /// Probability an attempt fails in normal times.
    pub failure_rate: f64,
    /// An attempt that would take longer fails at this time.
    pub timeout: Option<Nanos>,
    /// Outage windows.
    pub outages: Vec<Outage>,
    /// Fraction of messages that fail on every attempt (poison messages).
    pub poison_rate: f64,
}

/// A window in which attempts that start fail more and/or run slower.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outage {
    /// Start (inclusive).
    pub start: Nanos,
    /// End (exclusive).
    pub end: Nanos,
    /// Failure probability of attempts starting inside.
    pub failure_rate: f64,
    /// Service-time multiplier of attempts starting inside.
    pub slowdown: f64,
}

/// Retry policy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Retry {
    /// Total attempts including the first.
    pub max_attempts: u32,
    /// Backoff law.
    pub backoff: Backoff,
    /// Base delay.
    pub base_delay: Nanos,
    /// Cap on the delay.
    pub max_delay: Nanos,
    /// Jitter law.
    pub jitter: Jitter,
    /// Where the message waits out the delay.
    pub place: RetryPlace,
    /// Retry budget `(tokens per produced message, most tokens saved)`; `None`: unlimited.
    pub budget: Option<(f64, f64)>,
}

/// Prices for the bill.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cost {
    /// Price of one consumer for one hour.
    pub per_consumer_hour: f64,
    /// Price of a million processing attempts (requests to the downstream).
    pub per_million_requests: f64,
}

/// At-least-once delivery.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Delivery {
    /// Probability a consumer dies after the side effect, before the ack.
    pub crash_rate: f64,
    /// When an unacked message is delivered again (from its receipt).
    pub visibility_timeout: Nanos,
    /// A repeated delivery does no second side effect.
    pub idempotent: bool,
}

/// The caller.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Client {
    /// Async (through the queue) or sync (waits for processing).
    pub mode: ClientMode,
    /// Async: time for the broker to accept a message.
    pub enqueue_latency: Nanos,
    /// Sync: the caller gives up on an attempt after this.
    pub timeout: Option<Nanos>,
}

/// A loaded file: the base scenario and its variants.
#[derive(Debug, Clone)]
pub struct ScenarioFile {
    /// Where it was read from (as given).
    pub path: String,
    /// The base scenario (with `--set` applied).
    pub base: Scenario,
    /// One per `[[variants]]`, in file order (with `--set` applied on top).
    pub variants: Vec<Scenario>,
}

impl ScenarioFile {
    /// The scenarios to run: the variants if there are any, else the base.
    pub fn runs(&self) -> Vec<&Scenario> {
        if self.variants.is_empty() {
            vec![&self.base]
        } else {
            self.variants.iter().collect()
        }
    }

    /// Keeps only the variant called `name`.
    ///
    /// # Errors
    /// [`ErrorKind::UnknownName`] (blamed on `--variant`) if the file has no such variant,
    /// with the names it has and a did-you-mean.
    pub fn select_variant(&mut self, name: &str) -> Result<(), InputError> {
        match self
            .variants
            .iter()
            .position(|v| v.variant.as_deref() == Some(name))
        {
            Some(i) => {
                let v = self.variants.swap_remove(i);
                self.variants = vec![v];
                Ok(())
            }
            None => {
                let names: Vec<&str> = self
                    .variants
                    .iter()
                    .filter_map(|v| v.variant.as_deref())
                    .collect();
                Err(no_such_variant(name, &self.path, &names))
            }
        }
    }
}

/// Overrides from the command line, applied on top of the file and every variant.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--set KEY=VALUE`, in order. An empty value (`--set queue.capacity=`) removes the
    /// key instead, as a variant's `unset` does; `KEY=""` sets an empty string.
    pub sets: Vec<(String, String)>,
    /// `--seed`: replaces the seed of the file and of every variant. Any `u64` (a seed
    /// written in the file is a TOML integer, at most `i64::MAX`).
    pub seed: Option<u64>,
    /// Which variants to build (and so check); others are skipped.
    pub variants: VariantFilter,
}

/// Which `[[variants]]` [`parse`] builds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum VariantFilter {
    /// Every variant (a run of the whole file).
    #[default]
    All,
    /// Only this one (a sweep of one variant).
    Only(String),
    /// None: only the base scenario is needed.
    None,
}

impl Overrides {
    /// Adds `KEY=VALUE` (an empty value removes the key).
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.sets.push((key.to_string(), value.into()));
    }
}

/// The keys a `[[variants]]` entry has besides the scenario keys it overlays.
pub const VARIANT_KEYS: [&str; 2] = ["name", "unset"];

/// Checks a scenario given as text; `label` names it in errors.
///
/// The base scenario is built from the file with `overrides.sets` on top; each variant
/// from the file, its `unset` keys removed, its own keys merged over, then the sets.
///
/// # Errors
/// An [`InputError`] naming what is wrong and where: the file, line, column and key for
/// a value in the file (a variant's own key at its own position); the flag
/// (`--set KEY=VALUE`) for a value that came from the command line. Its
/// [`kind`](InputError::kind) says what kind of problem it is.
pub fn parse(text: &str, label: &str, overrides: &Overrides) -> Result<ScenarioFile, InputError> {
    parse_with(text, label, overrides, Arc::new(NoInputs))
}

/// [`parse`], with the data files the scenario names (`trace`, `rates`, `samples`,
/// `buckets`) opened through `inputs`. Samples, histograms and rate series are read
/// whole; of a trace only the head ([`data::HEAD_LINES`] timestamps) is read and checked,
/// and the run streams the rest through the same `inputs`.
///
/// # Errors
/// As [`parse`]; an error in a data file names that file and its line.
pub fn parse_with(
    text: &str,
    label: &str,
    overrides: &Overrides,
    inputs: Arc<dyn Inputs>,
) -> Result<ScenarioFile, InputError> {
    let cx = data::Ctx::new(inputs);
    let cx = &cx;
    // 1. The file on its own, typed straight from the text so that errors carry positions.
    let raw: RawScenario =
        toml::from_str(text).map_err(|e| validate::from_toml_error(&e, text, label))?;
    let located = |e: InputError, prefix: &[&str]| validate::locate(e, text, label, prefix);

    // 2. The command-line overrides, applied to the untyped document.
    let mut doc: Table =
        toml::from_str(text).map_err(|e| validate::from_toml_error(&e, text, label))?;
    doc.remove("variants");
    let variants = raw.variants.clone();
    let mut set_doc = doc.clone();
    // Each set's key as an index path (`producers.0.rate` for `producers.checkout.rate`),
    // and the flag to blame for an error under it.
    let mut sets: Vec<(String, String)> = Vec::new();
    // `strict`: a key to unset must be there (in the file); a variant may have unset it
    // already.
    let apply_sets = |d: &mut Table, sets: &mut Vec<(String, String)>, strict: bool| {
        for (k, v) in &overrides.sets {
            let flag = format!(
                "--set {}={}",
                crate::error::clip(k, 80),
                crate::error::clip(v, 80)
            );
            let canon = if v.is_empty() {
                match overlay::unset_path(d, k) {
                    Err(e) if !strict && e.kind == ErrorKind::Missing => Ok(k.clone()),
                    r => r,
                }
            } else {
                overlay::set_path(d, k, overlay::parse_value(v))
            }
            .map_err(|e| e.in_file(flag.clone()))?;
            sets.push((canon, flag));
        }
        Ok::<(), InputError>(())
    };
    apply_sets(&mut set_doc, &mut sets, true)?;
    // An error under a key some `--set` gave is that flag's; others are the file's.
    let blame = |e: InputError, sets: &[(String, String)], variant: Option<&str>| {
        if let Some(key) = e.key.as_deref() {
            if let Some((_, flag)) = sets.iter().find(|(canon, _)| overlay::overlaps(canon, key)) {
                let mut e = e.clone();
                e.file = Some(flag.clone());
                return e;
            }
        }
        match variant {
            Some(idx) => {
                // The variant's own key where it wrote it; else the base's; else the
                // variant's nearest table (a key missing from what the variant set).
                let key = e.key.clone().unwrap_or_default();
                let segs: Vec<&str> = key.split('.').filter(|s| !s.is_empty()).collect();
                let under = |prefix: &[&str], n: usize| {
                    let mut p = prefix.to_vec();
                    p.extend(&segs[..n.min(segs.len())]);
                    locate::span_of(text, &p).is_some()
                };
                let variant = ["variants", idx];
                if under(&variant, segs.len()) || !under(&[], segs.len()) && under(&variant, 1) {
                    located(e, &variant)
                } else {
                    located(e, &[])
                }
            }
            None => located(e, &[]),
        }
    };
    // With one variant selected, `--set` applies to it; the base is checked as written
    // (a key such as `broker.partitions` may make sense only in the variant).
    let selected = matches!(overrides.variants, VariantFilter::Only(_));
    let base_raw: RawScenario = if overrides.sets.is_empty() || selected {
        raw
    } else {
        typed(&set_doc).map_err(|e| blame(e, &sets, None))?
    };
    let base_sets: &[(String, String)] = if selected { &[] } else { &sets };
    let mut base =
        validate::scenario(&base_raw, None, cx).map_err(|e| blame(e, base_sets, None))?;
    subscribers::expand(if selected { &doc } else { &set_doc }, &mut base, cx)
        .map_err(|e| blame(e, base_sets, None))?;
    reseed(&mut base, overrides.seed);

    // 3. Each variant: the document, the variant's keys over it, then the overrides.
    let mut out = Vec::new();
    for (i, vt) in variants.iter().enumerate() {
        let idx = i.to_string();
        let at_variant = |e: InputError| located(e, &["variants", &idx]);
        let name = match vt.get("name") {
            Some(toml::Value::String(s)) => s.clone(),
            _ => {
                return Err(located(
                    InputError::of(
                        ErrorKind::Missing,
                        "every [[variants]] entry needs a `name` (a string)",
                    )
                    .key(format!("variants.{i}.name")),
                    &[],
                ))
            }
        };
        let wanted = match &overrides.variants {
            VariantFilter::All => true,
            VariantFilter::Only(v) => *v == name,
            VariantFilter::None => false,
        };
        if !wanted {
            continue;
        }
        validate::folder_name(&name)
            .map_err(|e| located(e.key(format!("variants.{i}.name")), &[]))?;
        if out
            .iter()
            .any(|s: &Scenario| s.variant.as_deref() == Some(name.as_str()))
        {
            return Err(located(
                InputError::of(
                    ErrorKind::Duplicate,
                    format!("two variants are called `{name}`"),
                )
                .key(format!("variants.{i}.name")),
                &[],
            ));
        }
        let in_variant = |mut e: InputError| {
            e.message = format!("in variant `{name}`: {}", e.message);
            e
        };
        let mut overlay_t = vt.clone();
        overlay_t.remove("name");
        let mut merged = doc.clone();
        if let Some(list) = overlay_t.remove("unset") {
            let paths = match list {
                toml::Value::Array(a) if a.iter().all(toml::Value::is_str) => a,
                _ => {
                    return Err(at_variant(in_variant(
                        InputError::of(
                            ErrorKind::WrongType,
                            "`unset` is a list of dotted keys of the base scenario",
                        )
                        .key("unset")
                        .hint("e.g. unset = [\"queue.capacity\", \"retry\"]"),
                    )))
                }
            };
            for (j, p) in paths.iter().enumerate() {
                let p = p.as_str().unwrap_or_default();
                overlay::unset_path(&mut merged, p)
                    .map_err(|e| at_variant(in_variant(e.key(format!("unset.{j}")))))?;
            }
        }
        overlay::merge(&mut merged, &overlay_t).map_err(|e| at_variant(in_variant(e)))?;
        let mut vsets = Vec::new();
        apply_sets(&mut merged, &mut vsets, false)?;
        let vraw: RawScenario =
            typed(&merged).map_err(|e| blame(in_variant(e), &vsets, Some(&idx)))?;
        let mut s = validate::scenario(&vraw, Some(&name), cx)
            .map_err(|e| blame(in_variant(e), &vsets, Some(&idx)))?;
        subscribers::expand(&merged, &mut s, cx)
            .map_err(|e| blame(in_variant(e), &vsets, Some(&idx)))?;
        reseed(&mut s, overrides.seed);
        out.push(s);
    }
    if let VariantFilter::Only(wanted) = &overrides.variants {
        if out.is_empty() {
            let names: Vec<&str> = variants
                .iter()
                .filter_map(|v| v.get("name").and_then(toml::Value::as_str))
                .collect();
            return Err(no_such_variant(wanted, label, &names));
        }
    }
    Ok(ScenarioFile {
        path: label.to_string(),
        base,
        variants: out,
    })
}

/// `--variant NAME` names no variant of the file.
fn no_such_variant(wanted: &str, label: &str, names: &[&str]) -> InputError {
    let mut e = InputError::unknown(ErrorKind::UnknownName, wanted, names.iter().copied())
        .in_file("--variant");
    e.message = format!(
        "no variant called `{}` in {label}",
        crate::error::clip(wanted, 60)
    );
    if names.is_empty() {
        e.allowed = Some("this file has no [[variants]]".to_string());
    }
    e
}

/// `--seed`, over the file's (and so over every subscriber's run).
fn reseed(s: &mut Scenario, seed: Option<u64>) {
    if let Some(seed) = seed {
        s.seed = seed;
        for sub in &mut s.subscribers {
            sub.run.seed = seed;
        }
    }
}

/// Types a document built from overlays. It has no text of its own, so on an error it is
/// written out and read again to learn which key is at fault; the error carries that key
/// (an index path) and no position: the caller puts it where the key came from.
fn typed(doc: &Table) -> Result<RawScenario, InputError> {
    doc.clone().try_into().map_err(|e: toml::de::Error| {
        let text = toml::to_string(doc).unwrap_or_default();
        let again = toml::from_str::<RawScenario>(&text).err();
        let mut err = validate::from_toml_error(again.as_ref().unwrap_or(&e), &text, "");
        err.file = None;
        err.line = None;
        err.col = None;
        err.source_line = None;
        err.caret = None;
        err
    })
}

#[cfg(test)]
mod tests;
