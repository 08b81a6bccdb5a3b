//! Resource guards: what a run will cost, limits while it runs, and interruption.
//!
//! - [`estimate`] predicts the events and memory of a scenario before it runs, so that a
//!   run far past what one machine can do in reasonable time is refused up front
//!   (`--max-events` overrides).
//! - [`Limits`] bounds the memory a run may use for waiting messages: an unbounded queue
//!   that outgrows it stops the run, which keeps its results so far (`--max-memory`).
//! - [`interrupt`] / [`interrupted`]: a process-wide flag (set by the binary on Ctrl-C)
//!   that runs and sweeps check, so they stop cleanly and keep every finished result.

use crate::convert::floor_u64;
use crate::error::{ErrorKind, InputError};
use crate::scenario::broker::AttemptLimit;
use crate::scenario::{ClientMode, ScaleMetric, Scenario};
use crate::time::{ns_to_secs, Nanos};
use std::sync::atomic::{AtomicBool, Ordering};

/// Default `--max-events`: about ten minutes of simulation on one core.
pub const DEFAULT_MAX_EVENTS: f64 = 1e10;
/// Default `--max-memory` for waiting messages, bytes (4 GiB).
pub const DEFAULT_MAX_MEMORY: u64 = 4 << 30;
/// Memory one waiting message takes: its queue entry, its slab record, and slack for the
/// growth of both buffers.
pub const BYTES_PER_WAITING: u64 = 160;
/// Memory of one time-series row, bytes.
pub const BYTES_PER_ROW: u64 = 256;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Asks every run in progress to stop (called from a Ctrl-C handler).
pub fn interrupt() {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Whether a stop was asked for.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::Relaxed)
}

/// Limits a run enforces while it runs.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most messages that may wait (queue + blocked callers) before the run stops.
    pub max_waiting: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits::from_memory(DEFAULT_MAX_MEMORY)
    }
}

impl Limits {
    /// Limits for a memory budget in bytes.
    pub fn from_memory(bytes: u64) -> Self {
        Limits {
            max_waiting: (bytes / BYTES_PER_WAITING).max(1),
        }
    }
}

/// What a scenario is expected to cost.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// Messages the producers will create (and the warm backlog).
    pub messages: f64,
    /// Engine events, and the steps of work that are not events but grow with the
    /// scenario's sizes (scanning every ordered lane at each sample).
    pub events: f64,
    /// Memory a run needs for certain, bytes: the time series and the warm backlog (a
    /// queue that grows is bounded while it runs, by [`Limits`]).
    pub memory: f64,
}

/// Whether `s` fits the memory budget of `limits` before it starts: the warm backlog is
/// stored at time 0, before the budget is checked while running.
///
/// # Errors
/// [`ErrorKind::TooLarge`] on `queue.initial_backlog`, saying how much memory it needs
/// and what the budget is.
pub fn fits(s: &Scenario, limits: &Limits) -> Result<(), InputError> {
    for run in std::iter::once(s).chain(s.subscribers.iter().map(|x| &*x.run)) {
        let n = run.queue.initial_backlog;
        if n > limits.max_waiting {
            return Err(InputError::of(
                ErrorKind::TooLarge,
                format!(
                    "a warm backlog of {n} messages needs about {}, more than the memory budget of {} ({} waiting messages)",
                    human_bytes(n as f64 * BYTES_PER_WAITING as f64),
                    human_bytes((limits.max_waiting * BYTES_PER_WAITING) as f64),
                    limits.max_waiting
                ),
            )
            .key("queue.initial_backlog")
            .hint("lower it, or raise the budget with --max-memory if the machine has the memory"));
        }
    }
    Ok(())
}

/// Expected messages, events and memory of `s`.
pub fn estimate(s: &Scenario) -> Estimate {
    if !s.subscribers.is_empty() {
        // Fan-out: every subscriber is a run of its own.
        return s.subscribers.iter().map(|sub| estimate(&sub.run)).fold(
            Estimate {
                messages: 0.0,
                events: 0.0,
                memory: 0.0,
            },
            |a, b| Estimate {
                messages: a.messages + b.messages,
                events: a.events + b.events,
                memory: a.memory + b.memory,
            },
        );
    }
    let d = s.duration;
    let produced: f64 = s
        .producers
        .iter()
        .map(|p| {
            // A trace read whole at load is counted; a longer one is estimated from the
            // rate of its head (`Producer::rate`) below.
            if let Some(n) = p.trace.as_ref().and_then(|t| t.known_count(d)) {
                return n * (1.0 + p.duplicate_rate);
            }
            let mut total = 0.0;
            let mut t: Nanos = 0;
            let mut rate = p.rate;
            for &(at, r) in &p.schedule {
                let at = at.min(d);
                total += rate * ns_to_secs(at.saturating_sub(t));
                t = t.max(at);
                rate = r;
            }
            (total + rate * ns_to_secs(d.saturating_sub(t))) * (1.0 + p.duplicate_rate)
        })
        .sum();
    let messages = produced + s.queue.initial_backlog as f64;
    // Average failure probability over the run (outages weighted by their length).
    let mut outage_time = 0.0;
    let mut outage_fail = 0.0;
    for o in &s.downstream.outages {
        let len = ns_to_secs(o.end.min(d).saturating_sub(o.start.min(d)));
        outage_time += len;
        outage_fail += len * o.failure_rate;
    }
    let run = ns_to_secs(d).max(1e-9);
    let p = ((s.downstream.failure_rate * (run - outage_time).max(0.0) + outage_fail) / run)
        .clamp(0.0, 1.0);
    // Attempts a message may take: the retry table's, or the broker's own redelivery
    // (unlimited when it has no limit).
    let m = match s.broker.attempt_limit() {
        // Below 2^33: exact as a float.
        AttemptLimit::Broker(limit) => limit.map_or(f64::INFINITY, |l| l as f64),
        AttemptLimit::RetryTable => f64::from(s.retry.max_attempts),
    };
    let mut attempts = if p >= 1.0 - 1e-12 {
        m
    } else {
        (1.0 - p.powf(m)) / (1.0 - p)
    };
    if s.client.mode == ClientMode::Sync && s.client.timeout.is_some() {
        // Timeouts can make every call fail: assume the worst.
        attempts = m;
    }
    // Poison messages fail every attempt.
    let poison = s.downstream.poison_rate;
    if poison >= 1.0 {
        attempts = m;
    } else if poison > 0.0 {
        attempts = (1.0 - poison) * attempts + poison * m;
    }
    attempts /= 1.0 - s.delivery.crash_rate.min(0.99);
    // The consumers cannot run more attempts than their time allows (which bounds the
    // unlimited redelivery loops); a service that takes no time bounds nothing.
    let most = match s.autoscale {
        Some(a) => a.max,
        None => s.consumers.count,
    };
    // RabbitMQ: each delivery after an ack takes the hand-off time too.
    let hop = ns_to_secs(s.broker.ack_hand_off());
    let service = s.consumers.service.mean() + hop;
    let room = if service > 0.0 {
        f64::from(most) * run / service
    } else {
        f64::INFINITY
    };
    let total_attempts = (messages * attempts).min(room.max(messages));
    let rows = (s.duration / s.sample_every) as f64;
    // Each sample (and each oldest-age autoscale check) scans every ordered lane.
    let lanes = f64::from(s.broker.ordered_lanes(s.keys).unwrap_or(1).max(1));
    let checks = s
        .autoscale
        .map_or(0.0, |a| (d / a.check_every.max(1)) as f64);
    let per_check = match s.autoscale.map(|a| a.metric) {
        Some(ScaleMetric::OldestAge) => lanes,
        _ => 1.0,
    };
    // RabbitMQ: a delivery that lands on an idle consumer is one more event.
    let per_attempt = if hop > 0.0 { 3.0 } else { 2.0 };
    let events = messages + per_attempt * total_attempts + rows * lanes + checks * per_check;
    Estimate {
        messages,
        events,
        memory: rows * BYTES_PER_ROW as f64
            + s.queue.initial_backlog as f64 * BYTES_PER_WAITING as f64,
    }
}

/// Formats bytes for people: `512.0 MiB`.
pub(crate) fn human_bytes(b: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < UNITS.len() {
        v /= 1024.0;
        i += 1;
    }
    format!("{v:.1} {}", UNITS[i])
}

/// Parses `4GiB`, `512MiB`, `100MB`, `1e9` (bytes).
///
/// # Errors
///
/// A sentence for the person who typed it (the CLI puts it under `--max-memory`) when the
/// number does not parse, the unit is not one of B, k/kB, KiB, M/MB, MiB, G/GB, GiB, T/TB or
/// TiB (any case), or the size is below one byte or not finite.
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let t = text.trim();
    // The number ends where the unit starts (an `e` followed by a digit is an exponent).
    let split = t
        .char_indices()
        .find(|&(i, c)| {
            c.is_ascii_alphabetic()
                && !((c == 'e' || c == 'E')
                    && t[i + 1..].starts_with(|d: char| d.is_ascii_digit() || d == '-' || d == '+'))
        })
        .map(|(i, _)| i)
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("`{t}` is not a size"))?;
    let scale = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mib" => 1024.0 * 1024.0,
        "g" | "gb" => 1e9,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tb" => 1e12,
        "tib" => 1024f64.powi(4),
        other => return Err(format!("unknown size unit `{other}`")),
    };
    let bytes = v * scale;
    if !(bytes.is_finite() && bytes >= 1.0) {
        return Err(format!("`{t}` is not a positive size"));
    }
    Ok(floor_u64(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{parse, Overrides};

    #[test]
    fn estimates_follow_the_schedule_and_retries() {
        let text = "name = \"e\"\nduration = \"10m\"\n[[producers]]\nrate = 100.0\nschedule = [ { at = \"2m\", rate = 1000.0 }, { at = \"4m\", rate = 100.0 } ]\n[consumers]\ncount = 1\nservice = { dist = \"constant\", value = \"1ms\" }\n";
        let s = parse(text, "e.toml", &Overrides::default()).unwrap().base;
        let e = estimate(&s);
        assert!((e.messages - (100.0 * 480.0 + 1000.0 * 120.0)).abs() < 1e-6);
        assert!((e.events - (3.0 * e.messages + 600.0)).abs() < 1e-6);
        let r = parse(
            &format!("{text}[downstream]\nfailure_rate = 0.5\n[retry]\nmax_attempts = 3\n"),
            "e.toml",
            &Overrides::default(),
        )
        .unwrap()
        .base;
        // 1 + 0.5 + 0.25 attempts per message.
        assert!((estimate(&r).events - (1.0 + 2.0 * 1.75) * e.messages - 600.0).abs() < 1e-6);
    }

    #[test]
    fn the_estimate_counts_what_the_features_cost() {
        let base = "name = \"e\"\nduration = \"1h\"\n[[producers]]\nrate = 10.0\n[consumers]\ncount = 4\nservice = { dist = \"exponential\", mean = \"10ms\" }\n";
        let est = |extra: &str| {
            let s = parse(&format!("{base}{extra}"), "e.toml", &Overrides::default())
                .unwrap()
                .base;
            estimate(&s).events
        };
        let plain = est("");
        // An autoscaler checked every nanosecond: 3.6e12 checks.
        let a = est("[autoscale]\nmax = 8\nscale_out_above = 100\nscale_in_below = 10\ncheck_every = \"1ns\"\n");
        assert!(a > 3e12, "{a:e}");
        // 100,000 Kafka partitions scanned at each of 900,000 1 ms samples.
        let k = {
            let t = base
                .replace("[[producers]]", "sample_every = \"1ms\"\n[[producers]]")
                .replace("1h", "15m");
            let s = parse(
                &format!("{t}[broker]\nkind = \"kafka\"\npartitions = 100000\n"),
                "e.toml",
                &Overrides::default(),
            )
            .unwrap()
            .base;
            estimate(&s).events
        };
        assert!(k > 9e10 && plain < 1e6, "{k:e} {plain:e}");
        // RabbitMQ requeueing poison messages without a limit: the consumers' whole time,
        // each attempt 10 ms plus the 0.2 ms hand-off (one more event, the hand-off).
        let r = est("[downstream]\npoison_rate = 0.01\n[broker]\nkind = \"rabbitmq\"\n");
        assert!(
            (r - (36_000.0 + 3.0 * 4.0 * 3600.0 / 0.0102 + 3600.0)).abs() < 1.0,
            "{r:e}"
        );
        // A warm backlog is work and memory (2^31 messages, the most validation allows).
        let s = parse(
            &format!("{base}[queue]\ninitial_backlog = 2147483648\n"),
            "e.toml",
            &Overrides::default(),
        )
        .unwrap()
        .base;
        assert!(estimate(&s).events > 2.1e9 && estimate(&s).memory > 3e11);
        let e = fits(&s, &Limits::default()).unwrap_err();
        assert!(
            e.message.contains("memory budget") && e.kind == ErrorKind::TooLarge,
            "{e}"
        );
        assert!(fits(&s, &Limits::from_memory(u64::MAX)).is_ok());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("4GiB"), Ok(4 << 30));
        assert_eq!(parse_bytes("100MB"), Ok(100_000_000));
        assert_eq!(parse_bytes("1e6"), Ok(1_000_000));
        assert!(parse_bytes("lots").is_err());
        assert_eq!(human_bytes(1536.0), "1.5 KiB");
    }
}
