//! Scenario files: loading, overlays (`[[variants]]`, `--set`), validation.
//!
//! [`parse`] reads a file's text into a [`ScenarioFile`]: the base [`Scenario`] and one per variant,
//! every value checked, times converted to integer nanoseconds. Errors are
//! [`InputError`]s that name the file, line, column and key.

pub mod broker;
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

use crate::error::{did_you_mean, InputError};
use crate::time::Nanos;
use raw::RawScenario;
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
    /// Poisson or evenly spaced.
    pub arrivals: ArrivalKind,
    /// Messages per second from time 0.
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
#[derive(Debug, Clone, Copy, PartialEq)]
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
}

impl Service {
    /// Mean service time in seconds.
    pub fn mean(&self) -> f64 {
        match *self {
            Service::Constant(v) => v,
            Service::Uniform(a, b) => (a + b) / 2.0,
            Service::Exponential(m) | Service::LogNormal(m, _) | Service::Gamma(m, _) => m,
        }
    }

    /// Standard deviation in seconds.
    pub fn stddev(&self) -> f64 {
        match *self {
            Service::Constant(_) => 0.0,
            Service::Uniform(a, b) => (b - a) / 12f64.sqrt(),
            Service::Exponential(m) => m,
            Service::LogNormal(_, s) | Service::Gamma(_, s) => s,
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
                let mut e = InputError::new(format!("no variant called `{name}` in {}", self.path))
                    .in_file("--variant")
                    .allowed(if names.is_empty() {
                        "this file has no [[variants]]".to_string()
                    } else {
                        names.join(", ")
                    });
                if let Some(s) = did_you_mean(name, names.iter().copied()) {
                    e = e.hint(format!("did you mean `{s}`?"));
                }
                Err(e)
            }
        }
    }
}

/// Overrides from the command line, applied on top of the file and every variant.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--set KEY=VALUE`, in order.
    pub sets: Vec<(String, String)>,
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
    /// Adds `KEY=VALUE`.
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.sets.push((key.to_string(), value.into()));
    }
}

/// Checks a scenario given as text; `label` names it in errors.
pub fn parse(text: &str, label: &str, overrides: &Overrides) -> Result<ScenarioFile, InputError> {
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
    for (k, v) in &overrides.sets {
        overlay::set_path(&mut set_doc, k, overlay::parse_value(v))
            .map_err(|e| e.in_file(format!("--set {k}={v}")))?;
    }
    // With one variant selected, `--set` applies to it; the base is checked as written
    // (a key such as `broker.partitions` may make sense only in the variant).
    let selected = matches!(overrides.variants, VariantFilter::Only(_));
    let base_raw: RawScenario = if overrides.sets.is_empty() || selected {
        raw
    } else {
        set_doc.clone().try_into().map_err(|e: toml::de::Error| {
            validate::from_toml_error(&e, "", &set_label(overrides))
        })?
    };
    let base_error = |e: InputError| {
        if overrides
            .sets
            .iter()
            .any(|(k, _)| Some(k.as_str()) == e.key.as_deref())
        {
            e.in_file(set_label(overrides))
        } else {
            located(e, &[])
        }
    };
    let mut base = validate::scenario(&base_raw, None).map_err(base_error)?;
    subscribers::expand(&set_doc, &mut base).map_err(base_error)?;

    // 3. Each variant: the document, the variant's keys over it, then the overrides.
    let mut out = Vec::new();
    for (i, vt) in variants.iter().enumerate() {
        let idx = i.to_string();
        let at_variant = |e: InputError| located(e, &["variants", &idx]);
        let name = match vt.get("name") {
            Some(toml::Value::String(s)) => s.clone(),
            _ => {
                return Err(at_variant(
                    InputError::new("every [[variants]] entry needs a `name` (a string)")
                        .key(format!("variants.{i}.name")),
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
            return Err(at_variant(
                InputError::new(format!("two variants are called `{name}`"))
                    .key(format!("variants.{i}.name")),
            ));
        }
        let mut overlay_t = vt.clone();
        overlay_t.remove("name");
        let mut merged = doc.clone();
        overlay::merge(&mut merged, &overlay_t).map_err(|e| {
            let key = e.key.clone().unwrap_or_default();
            located(e.key(format!("variants.{i}.{key}")), &[])
        })?;
        for (k, v) in &overrides.sets {
            overlay::set_path(&mut merged, k, overlay::parse_value(v))
                .map_err(|e| e.in_file(format!("--set {k}={v}")))?;
        }
        let vdoc = merged.clone();
        let vraw: RawScenario = merged.try_into().map_err(|e: toml::de::Error| {
            let mut err = validate::from_toml_error(&e, "", label);
            err.message = format!("in variant `{name}`: {}", err.message);
            at_variant(err)
        })?;
        let variant_error = |mut e: InputError| {
            e.message = format!("in variant `{name}`: {}", e.message);
            let key_in_variant = e.key.as_deref().is_some_and(|k| {
                let mut segs = vec!["variants", idx.as_str()];
                segs.extend(k.split('.'));
                locate::span_of(text, &segs).is_some()
            });
            if key_in_variant {
                at_variant(e)
            } else {
                located(e, &[])
            }
        };
        let mut s = validate::scenario(&vraw, Some(&name)).map_err(variant_error)?;
        subscribers::expand(&vdoc, &mut s).map_err(variant_error)?;
        out.push(s);
    }
    if let VariantFilter::Only(wanted) = &overrides.variants {
        if out.is_empty() {
            let names: Vec<&str> = variants
                .iter()
                .filter_map(|v| v.get("name").and_then(toml::Value::as_str))
                .collect();
            let mut e = InputError::new(format!("no variant called `{wanted}` in {label}"))
                .in_file("--variant")
                .allowed(if names.is_empty() {
                    "this file has no [[variants]]".to_string()
                } else {
                    names.join(", ")
                });
            if let Some(s) = did_you_mean(wanted, names.iter().copied()) {
                e = e.hint(format!("did you mean `{s}`?"));
            }
            return Err(e);
        }
    }
    Ok(ScenarioFile {
        path: label.to_string(),
        base,
        variants: out,
    })
}

fn set_label(o: &Overrides) -> String {
    let sets: Vec<String> = o
        .sets
        .iter()
        .map(|(k, v)| format!("--set {k}={v}"))
        .collect();
    sets.join(" ")
}

#[cfg(test)]
mod tests;
