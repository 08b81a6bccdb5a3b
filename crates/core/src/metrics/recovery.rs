//! Recovery figures: for each disturbance (a schedule step that raises the offered rate, an
//! outage or slowdown of the downstream, a deploy that stops the consumers, a restart into a
//! waiting backlog), how high the backlog went and how long it took to come back.
//!
//! Definitions (from the time series, so to within one `sample_every`):
//! - backlog = messages waiting in the queue + waiting out a retry backoff + blocked callers;
//! - `baseline_backlog`, the pre-disturbance steady level: mean backlog over the (up to 60)
//!   rows before the disturbance starts and after the previous one had emptied;
//! - disturbances that overlap are measured together: when one starts before the backlog of
//!   the one before it is back to normal (or while that one lasts), they form one entry whose
//!   `parts` lists each, measured against the level before the first of them, and whose end is
//!   the last of their ends;
//! - `peak_backlog`: the largest backlog from the start until recovery (or the run's end),
//!   using the exact per-interval queue maximum;
//! - back to normal ([`RULE`]): the first row at or after the end whose backlog is at most
//!   `normal_level` = baseline + max(1, 10% of (peak - baseline)); `drain_seconds` = that time
//!   minus the end. `recovered = false` means it never came back before the run ended;
//! - empty: the first row at or after the end whose backlog is at most the baseline rounded
//!   down (an empty queue when it was empty before); `empty_seconds` = that time minus the end.

use super::timeseries::Row;
use crate::scenario::{ArrivalKind, Scenario};
use crate::time::{ns_to_secs, Nanos};
use serde::Serialize;

/// The rule behind "back to normal", in words (printed where the verdict appears).
pub const RULE: &str =
    "back to normal = backlog within 10% of its rise above the level before (at least 1 message)";

/// What a disturbance is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A schedule step that raises the total offered rate.
    Spike,
    /// An outage of the downstream: a window in which calls fail (`failure_rate > 0`).
    Outage,
    /// A window in which the downstream only slows down (`failure_rate = 0`, `slowdown > 1`).
    Slowdown,
    /// A deploy: no consumer takes a message (`consumers.down`).
    Deploy,
    /// A warm start: the backlog waiting at time 0 (start = end = 0).
    Restart,
}

impl Kind {
    /// The name used in `recovery[].kind` of summary.json.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Spike => "spike",
            Kind::Outage => "outage",
            Kind::Slowdown => "slowdown",
            Kind::Deploy => "deploy",
            Kind::Restart => "restart",
        }
    }

    /// How a report names it.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Spike => "traffic spike",
            Kind::Outage => "outage",
            Kind::Slowdown => "slowdown",
            Kind::Deploy => "deploy (consumers down)",
            Kind::Restart => "restart into a backlog",
        }
    }

    /// Whether it takes away capacity (outage, slowdown, deploy) rather than adding load.
    pub fn loses_capacity(self) -> bool {
        matches!(self, Kind::Outage | Kind::Slowdown | Kind::Deploy)
    }
}

/// One disturbance of an entry that several overlapping ones share.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Part {
    /// What it is.
    pub kind: Kind,
    /// Start, seconds.
    pub start: f64,
    /// End, seconds.
    pub end: f64,
}

/// One disturbance (or several overlapping ones, measured together) and what it did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Disturbance {
    /// What it is (the first of `parts` when several overlap).
    pub kind: Kind,
    /// Start, seconds.
    pub start: f64,
    /// End, seconds (the rate came back down, or the outage ended; the run's end if never;
    /// the last end when several overlap).
    pub end: f64,
    /// Every disturbance measured in this entry, in start order (one unless they overlap).
    pub parts: Vec<Part>,
    /// The pre-disturbance steady level: mean backlog before it started.
    pub baseline_backlog: f64,
    /// Largest backlog from its start until recovery.
    pub peak_backlog: u64,
    /// Largest age of the oldest waiting message in that time, seconds.
    pub peak_oldest_age: f64,
    /// The backlog at or below which it counts as back to normal ([`RULE`]).
    pub normal_level: f64,
    /// Whether the backlog came back to normal before the run ended.
    pub recovered: bool,
    /// When it came back to normal, seconds.
    pub recovered_at: Option<f64>,
    /// Seconds from the end until the backlog was back to normal.
    pub drain_seconds: Option<f64>,
    /// Seconds from the end until the backlog was down to the level before (rounded down:
    /// empty when the queue was empty before); None if never before the run ended.
    pub empty_seconds: Option<f64>,
    /// Retries scheduled from its start until recovery (or the run's end).
    pub retries: u64,
    /// Messages dead-lettered in that time.
    pub dead_lettered: u64,
    /// Callers refused or failed in that time.
    pub client_errors: u64,
    /// Callers that timed out in that time.
    pub client_timeouts: u64,
}

impl Disturbance {
    /// Whether the backlog rose by more than one message above the level before.
    pub fn built_backlog(&self) -> bool {
        self.peak_backlog as f64 > self.baseline_backlog + 1.0
    }
}

/// The disturbances of `s`: (kind, start, end), in start order.
pub fn windows(s: &Scenario) -> Vec<(Kind, Nanos, Nanos)> {
    let total = |t: Nanos| -> f64 { s.producers.iter().map(|p| p.rate_at(t)).sum() };
    // A rate series (`arrivals = "rates"`) is the traffic itself, not a disturbance laid
    // on it: its steps (one a minute in a metrics export) are not spikes.
    let mut steps: Vec<Nanos> = s
        .producers
        .iter()
        .filter(|p| p.arrivals != ArrivalKind::Rates)
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
        out.push((Kind::Spike, at, end));
        busy_until = end;
    }
    for &(a, b) in &s.consumers.down {
        if a < s.duration {
            out.push((Kind::Deploy, a, b.min(s.duration)));
        }
    }
    if s.queue.initial_backlog > 0 {
        // A warm start: the backlog is there at time 0 and must drain.
        out.push((Kind::Restart, 0, 0));
    }
    for o in &s.downstream.outages {
        if o.start < s.duration {
            let kind = if o.failure_rate == 0.0 && o.slowdown > 1.0 {
                Kind::Slowdown
            } else {
                Kind::Outage
            };
            out.push((kind, o.start, o.end.min(s.duration)));
        }
    }
    out.sort_by_key(|w| w.1);
    out
}

/// Recovery figures for every disturbance of `s`, from its time series; overlapping ones
/// share an entry.
pub(crate) fn analyse(s: &Scenario, rows: &[Row]) -> Vec<Disturbance> {
    let parts: Vec<Part> = windows(s)
        .into_iter()
        .map(|(kind, a, b)| Part {
            kind,
            start: ns_to_secs(a),
            end: ns_to_secs(b),
        })
        .collect();
    chain(&parts, rows)
}

/// Groups `parts` (in start order) into entries: a part joins the entry before it when it
/// starts before that entry's end or before its backlog is back to normal.
fn chain(parts: &[Part], rows: &[Row]) -> Vec<Disturbance> {
    let mut out: Vec<Disturbance> = Vec::new();
    // Where the previous entry's backlog was back at its level (the baseline of the next
    // is measured after it), and that level (inherited when no row lies in between).
    let mut settled_at = f64::NEG_INFINITY;
    let mut last_level = 0.0;
    let mut i = 0;
    while i < parts.len() {
        let first = parts[i];
        let baseline = baseline(rows, settled_at, first.start).unwrap_or(last_level);
        let mut group = vec![first];
        let mut end = first.end;
        let mut d = measure(&group, end, baseline, rows);
        while let Some(next) = parts.get(i + group.len()) {
            let overlaps = next.start < end || d.recovered_at.is_none_or(|t| next.start < t);
            if !overlaps {
                break;
            }
            group.push(*next);
            end = end.max(next.end);
            d = measure(&group, end, baseline, rows);
        }
        i += group.len();
        settled_at = d
            .empty_seconds
            .or(d.drain_seconds)
            .map_or(f64::INFINITY, |t| d.end + t);
        last_level = baseline;
        out.push(d);
    }
    out
}

/// Mean backlog over the (up to 60) rows in `(after, start]`; None when there is none.
fn baseline(rows: &[Row], after: f64, start: f64) -> Option<f64> {
    let before: Vec<&Row> = rows
        .iter()
        .filter(|r| r.time > after && r.time <= start)
        .collect();
    let tail = &before[before.len().saturating_sub(60)..];
    if tail.is_empty() {
        // Nothing before time 0 (a warm start, or a disturbance at the very start): the
        // steady level is an empty queue.
        (after == f64::NEG_INFINITY).then_some(0.0)
    } else {
        Some(tail.iter().map(|r| r.backlog() as f64).sum::<f64>() / tail.len() as f64)
    }
}

fn measure(parts: &[Part], end: f64, baseline: f64, rows: &[Row]) -> Disturbance {
    let start = parts[0].start;
    let peak_of = |r: &Row| r.queue_depth_max + r.retry_waiting + r.blocked;
    let during: Vec<&Row> = rows.iter().filter(|r| r.time > start).collect();
    let mut peak = during
        .iter()
        .filter(|r| r.time <= end)
        .map(|r| peak_of(r))
        .max()
        .unwrap_or(0);
    let mut recovered_at = None;
    let mut normal_level = baseline + 1.0;
    for r in &during {
        if r.time < end {
            continue;
        }
        peak = peak.max(peak_of(r));
        normal_level = normal_level_of(baseline, peak);
        if r.backlog() as f64 <= normal_level {
            recovered_at = Some(r.time);
            break;
        }
    }
    let until = recovered_at.unwrap_or(f64::INFINITY);
    // At or below the level before is also back to normal, so never earlier than that.
    let floor = baseline.floor();
    let empty_at = during
        .iter()
        .filter(|r| r.time >= end)
        .find(|r| r.backlog() as f64 <= floor)
        .map(|r| r.time);
    let window: Vec<&&Row> = during.iter().filter(|r| r.time <= until).collect();
    Disturbance {
        kind: parts[0].kind,
        start,
        end,
        parts: parts.to_vec(),
        baseline_backlog: baseline,
        peak_backlog: peak,
        peak_oldest_age: window.iter().map(|r| r.oldest_age).fold(0.0, f64::max),
        normal_level,
        recovered: recovered_at.is_some(),
        recovered_at,
        drain_seconds: recovered_at.map(|t| (t - end).max(0.0)),
        empty_seconds: empty_at.map(|t| (t - end).max(0.0)),
        retries: window.iter().map(|r| r.retries).sum(),
        dead_lettered: window.iter().map(|r| r.dead_lettered).sum(),
        client_errors: window.iter().map(|r| r.client_errors).sum(),
        client_timeouts: window.iter().map(|r| r.client_timeouts).sum(),
    }
}

/// The backlog at or below which a disturbance that rose from `baseline` to `peak` counts as
/// back to normal ([`RULE`]).
pub fn normal_level_of(baseline: f64, peak: u64) -> f64 {
    baseline + (0.1 * (peak as f64 - baseline)).max(1.0)
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

    fn rows(depths: &[u64]) -> Vec<Row> {
        depths
            .iter()
            .enumerate()
            .map(|(i, &d)| row(i as f64 + 1.0, d))
            .collect()
    }

    fn part(kind: Kind, start: f64, end: f64) -> Part {
        Part { kind, start, end }
    }

    #[test]
    fn finds_peak_and_drain() {
        let rows = rows(&[0, 0, 0, 50, 100, 80, 40, 5, 0, 0]);
        let d = &chain(&[part(Kind::Spike, 3.0, 5.0)], &rows)[0];
        assert_eq!(d.peak_backlog, 100);
        assert!(d.recovered);
        assert_eq!(d.normal_level, 10.0);
        assert_eq!(
            d.recovered_at,
            Some(8.0),
            "first row within 10 of the baseline"
        );
        assert_eq!(d.drain_seconds, Some(3.0));
        assert_eq!(d.empty_seconds, Some(4.0), "empty one row later");
    }

    #[test]
    fn never_recovering_is_reported() {
        let rows: Vec<Row> = (1..=10)
            .map(|i| row(i as f64, if i > 3 { 100 * i } else { 0 }))
            .collect();
        let d = &chain(&[part(Kind::Outage, 3.0, 5.0)], &rows)[0];
        assert!(!d.recovered);
        assert_eq!(d.drain_seconds, None);
        assert_eq!(d.empty_seconds, None);
        assert_eq!(d.peak_backlog, 1000);
    }

    #[test]
    fn a_disturbance_inside_anothers_backlog_is_measured_with_it() {
        // A spike at 3-5 builds 1,000; before that has drained, an outage 7-8 adds more.
        // Measured alone, the outage's baseline would be the spike's leftover (~600) and it
        // would be "back to normal" at 700 queued.
        let rows = rows(&[
            0, 0, 0, 500, 1000, 800, 700, 900, 750, 600, 400, 200, 50, 0, 0,
        ]);
        let ds = chain(
            &[part(Kind::Spike, 3.0, 5.0), part(Kind::Outage, 7.0, 8.0)],
            &rows,
        );
        assert_eq!(ds.len(), 1, "{ds:?}");
        let d = &ds[0];
        assert_eq!(d.parts.len(), 2);
        assert_eq!((d.start, d.end), (3.0, 8.0));
        assert_eq!(d.baseline_backlog, 0.0, "the level before the first");
        assert_eq!(d.peak_backlog, 1000);
        assert_eq!(d.recovered_at, Some(13.0), "50 <= 0 + 10% of 1,000");
        assert_eq!(d.empty_seconds, Some(6.0));
    }

    #[test]
    fn a_later_disturbance_is_measured_from_the_level_before_it() {
        // The first drains (to 0 at 8); a second at 12 starts from the steady level 2.
        let rows = rows(&[0, 0, 0, 50, 100, 20, 5, 0, 2, 2, 2, 2, 60, 40, 2, 2]);
        let ds = chain(
            &[
                part(Kind::Spike, 3.0, 5.0),
                part(Kind::Slowdown, 12.0, 13.0),
            ],
            &rows,
        );
        assert_eq!(ds.len(), 2, "{ds:?}");
        assert_eq!(ds[1].kind, Kind::Slowdown);
        assert_eq!(
            ds[1].baseline_backlog, 2.0,
            "rows after the first had emptied"
        );
        assert_eq!(ds[1].recovered_at, Some(15.0));
    }

    #[test]
    fn kinds_are_named_by_what_they_are() {
        let s = crate::scenario::parse(
            r#"
name = "k"
duration = "10m"
[[producers]]
name = "p"
rate = 10.0
schedule = [ { at = "1m", rate = 50.0 }, { at = "2m", rate = 10.0 } ]
[queue]
initial_backlog = 10
[consumers]
count = 2
service = { dist = "constant", value = "10ms" }
down = [ { start = "3m", end = "4m" } ]
[downstream]
outages = [ { start = "5m", end = "6m", failure_rate = 0.0, slowdown = 5.0 },
            { start = "7m", end = "8m", failure_rate = 1.0 } ]
"#,
            "k.toml",
            &Default::default(),
        )
        .unwrap()
        .base;
        let kinds: Vec<&str> = windows(&s).iter().map(|w| w.0.name()).collect();
        assert_eq!(kinds, ["restart", "spike", "deploy", "slowdown", "outage"]);
        let json = serde_json::to_string(&Kind::Slowdown).unwrap();
        assert_eq!(json, "\"slowdown\"");
    }
}
