//! Recovery figures: for each disturbance (a schedule step that raises the offered rate,
//! an outage window), how high the backlog went and how long it took to come back.
//!
//! Definitions (from the time series, so to within one `sample_every`):
//! - backlog = messages waiting in the queue + waiting out a retry backoff + blocked callers;
//! - `baseline_backlog`: mean backlog over the (up to 60) rows before the disturbance starts;
//! - `peak_backlog`: the largest backlog from the start until recovery (or the run's end),
//!   using the exact per-interval queue maximum;
//! - recovered at the first row at or after the disturbance's end whose backlog is within
//!   `max(1, 10% of (peak - baseline))` of the baseline; `drain_seconds` = that time minus
//!   the disturbance's end. `recovered = false` means it never came back before the run ended.

use super::timeseries::Row;
use crate::scenario::Scenario;
use crate::time::{ns_to_secs, Nanos};
use serde::Serialize;

/// One disturbance and what it did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Disturbance {
    /// `spike` (offered rate stepped up), `outage` (of the downstream), `down` (consumers
    /// down: `consumers.down`), or `restart` (a warm start: the backlog
    /// waiting at time 0; start = end = 0).
    pub kind: String,
    /// Start, seconds.
    pub start: f64,
    /// End, seconds (the rate came back down, or the outage ended; the run's end if never).
    pub end: f64,
    /// Mean backlog before it started.
    pub baseline_backlog: f64,
    /// Largest backlog from its start until recovery.
    pub peak_backlog: u64,
    /// Largest age of the oldest waiting message in that time, seconds.
    pub peak_oldest_age: f64,
    /// Whether the backlog came back to the baseline before the run ended.
    pub recovered: bool,
    /// When it came back, seconds.
    pub recovered_at: Option<f64>,
    /// Seconds from the disturbance's end until recovery.
    pub drain_seconds: Option<f64>,
    /// Retries scheduled from its start until recovery (or the run's end).
    pub retries: u64,
    /// Messages dead-lettered in that time.
    pub dead_lettered: u64,
    /// Callers refused or failed in that time.
    pub client_errors: u64,
    /// Callers that timed out in that time.
    pub client_timeouts: u64,
}

/// The disturbances of `s`: (kind, start, end).
pub fn windows(s: &Scenario) -> Vec<(&'static str, Nanos, Nanos)> {
    let total = |t: Nanos| -> f64 { s.producers.iter().map(|p| p.rate_at(t)).sum() };
    let mut steps: Vec<Nanos> = s
        .producers
        .iter()
        .flat_map(|p| p.schedule.iter().map(|(at, _)| *at))
        .collect();
    steps.sort_unstable();
    steps.dedup();
    let mut out = Vec::new();
    let mut busy_until = 0;
    for (i, &at) in steps.iter().enumerate() {
        if at < busy_until || at >= s.duration {
            continue;
        }
        let before = total(at.saturating_sub(1));
        if at == 0 || total(at) <= before * (1.0 + 1e-9) {
            continue;
        }
        let end = steps[i + 1..]
            .iter()
            .copied()
            .find(|&t| total(t) <= before * (1.0 + 1e-9))
            .unwrap_or(s.duration);
        out.push(("spike", at, end));
        busy_until = end;
    }
    for &(a, b) in &s.consumers.down {
        if a < s.duration {
            out.push(("down", a, b.min(s.duration)));
        }
    }
    if s.queue.initial_backlog > 0 {
        // A warm start: the backlog is there at time 0 and must drain.
        out.push(("restart", 0, 0));
    }
    for o in &s.downstream.outages {
        if o.start < s.duration {
            out.push(("outage", o.start, o.end.min(s.duration)));
        }
    }
    out.sort_by_key(|w| w.1);
    out
}

/// Recovery figures for every disturbance of `s`, from its time series.
pub fn analyse(s: &Scenario, rows: &[Row]) -> Vec<Disturbance> {
    windows(s)
        .into_iter()
        .map(|(kind, start, end)| one(kind, ns_to_secs(start), ns_to_secs(end), rows))
        .collect()
}

fn one(kind: &str, start: f64, end: f64, rows: &[Row]) -> Disturbance {
    let before: Vec<&Row> = rows.iter().filter(|r| r.time <= start).collect();
    let tail = &before[before.len().saturating_sub(60)..];
    let baseline = if tail.is_empty() {
        0.0
    } else {
        tail.iter().map(|r| r.backlog() as f64).sum::<f64>() / tail.len() as f64
    };
    let peak_of = |r: &Row| r.queue_depth_max + r.retry_waiting + r.blocked;
    let during: Vec<&Row> = rows.iter().filter(|r| r.time > start).collect();
    let peak_to_end = during
        .iter()
        .filter(|r| r.time <= end)
        .map(|r| peak_of(r))
        .max()
        .unwrap_or(0);
    let mut peak = peak_to_end;
    let mut recovered_at = None;
    for r in &during {
        if r.time < end {
            continue;
        }
        peak = peak.max(peak_of(r));
        let threshold = baseline + (0.1 * (peak as f64 - baseline)).max(1.0);
        if r.backlog() as f64 <= threshold {
            recovered_at = Some(r.time);
            break;
        }
    }
    let until = recovered_at.unwrap_or(f64::INFINITY);
    let window: Vec<&&Row> = during.iter().filter(|r| r.time <= until).collect();
    Disturbance {
        kind: kind.to_string(),
        start,
        end,
        baseline_backlog: baseline,
        peak_backlog: peak,
        peak_oldest_age: window.iter().map(|r| r.oldest_age).fold(0.0, f64::max),
        recovered: recovered_at.is_some(),
        recovered_at,
        drain_seconds: recovered_at.map(|t| (t - end).max(0.0)),
        retries: window.iter().map(|r| r.retries).sum(),
        dead_lettered: window.iter().map(|r| r.dead_lettered).sum(),
        client_errors: window.iter().map(|r| r.client_errors).sum(),
        client_timeouts: window.iter().map(|r| r.client_timeouts).sum(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(time: f64, depth: u64) -> Row {
        Row {
            time,
            queue_depth: depth,
            queue_depth_max: depth,
            ..Default::default()
        }
    }

    #[test]
    fn finds_peak_and_drain() {
        let rows: Vec<Row> = [0, 0, 0, 50, 100, 80, 40, 5, 0, 0]
            .iter()
            .enumerate()
            .map(|(i, &d)| row(i as f64 + 1.0, d))
            .collect();
        let d = one("spike", 3.0, 5.0, &rows);
        assert_eq!(d.peak_backlog, 100);
        assert!(d.recovered);
        assert_eq!(
            d.recovered_at,
            Some(8.0),
            "first row within 10 of the baseline"
        );
        assert_eq!(d.drain_seconds, Some(3.0));
    }

    #[test]
    fn never_recovering_is_reported() {
        let rows: Vec<Row> = (1..=10)
            .map(|i| row(i as f64, if i > 3 { 100 * i } else { 0 }))
            .collect();
        let d = one("outage", 3.0, 5.0, &rows);
        assert!(!d.recovered);
        assert_eq!(d.drain_seconds, None);
        assert_eq!(d.peak_backlog, 1000);
    }
}
