//! Resource guards: what a run will cost, limits while it runs, and interruption.
//!
//! - [`estimate`] predicts the events and memory of a scenario before it runs, so that a
//!   run far past what one machine can do in reasonable time is refused up front
//!   (`--max-events` overrides).
//! - [`Limits`] bounds the memory a run may use for waiting messages: an unbounded queue
//!   that outgrows it stops the run, which keeps its results so far (`--max-memory`).
//! - [`interrupt`] / [`interrupted`]: a process-wide flag (set by the binary on Ctrl-C)
//!   that runs and sweeps check, so they stop cleanly and keep every finished result.

use crate::scenario::{ClientMode, Scenario};
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
    /// Messages the producers will create.
    pub messages: f64,
    /// Engine events.
    pub events: f64,
    /// Memory known in advance (time series and a bounded queue), bytes.
    pub memory: f64,
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
    let messages: f64 = s
        .producers
        .iter()
        .map(|p| {
            let mut total = 0.0;
            let mut t: Nanos = 0;
            let mut rate = p.rate;
            for &(at, r) in &p.schedule {
                let at = at.min(d);
                total += rate * ns_to_secs(at.saturating_sub(t));
                t = t.max(at);
                rate = r;
            }
            total + rate * ns_to_secs(d.saturating_sub(t))
        })
        .sum();
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
    let m = f64::from(s.retry.max_attempts);
    let mut attempts = if p >= 1.0 - 1e-12 {
        m
    } else {
        (1.0 - p.powf(m)) / (1.0 - p)
    };
    if s.client.mode == ClientMode::Sync && s.client.timeout.is_some() {
        // Timeouts can make every call fail: assume the worst.
        attempts = m;
    }
    attempts /= 1.0 - s.delivery.crash_rate.min(0.99);
    let rows = (s.duration / s.sample_every) as f64;
    let events = messages * (1.0 + 2.0 * attempts) + rows;
    let queue = s.queue.capacity.map(|c| c as f64).unwrap_or(0.0);
    Estimate {
        messages,
        events,
        memory: rows * BYTES_PER_ROW as f64 + queue * BYTES_PER_WAITING as f64,
    }
}

/// Formats bytes for people: `512.0 MiB`.
pub fn human_bytes(b: f64) -> String {
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
    Ok(bytes.min(u64::MAX as f64) as u64)
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
    fn sizes() {
        assert_eq!(parse_bytes("4GiB"), Ok(4 << 30));
        assert_eq!(parse_bytes("100MB"), Ok(100_000_000));
        assert_eq!(parse_bytes("1e6"), Ok(1_000_000));
        assert!(parse_bytes("lots").is_err());
        assert_eq!(human_bytes(1536.0), "1.5 KiB");
    }
}
