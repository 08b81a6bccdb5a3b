//! One row per `sample_every`: per-interval counts and gauges sampled at the row's time.

use serde::Serialize;

/// A time-series row (a line of timeseries.csv). Counts are per interval unless the name
/// ends in `_total`; gauges are sampled at `time`; `*_max` are exact maxima within the
/// interval; percentiles are of the messages completed within the interval (empty when
/// none completed).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Row {
    /// End of the interval, seconds.
    pub time: f64,
    /// Messages produced.
    pub arrivals: u64,
    /// Messages completed.
    pub completed: u64,
    /// Messages rejected.
    pub rejected: u64,
    /// Retries scheduled.
    pub retries: u64,
    /// Messages dead-lettered since the start.
    pub dead_lettered_total: u64,
    /// Messages waiting in the queue.
    pub queue_depth: u64,
    /// Age of the oldest waiting message, seconds (0 when none waits).
    pub oldest_age: f64,
    /// Messages being processed (busy consumers) plus messages invisible after a crash.
    pub in_flight: u64,
    /// Busy fraction of consumer time over the interval.
    pub utilization: f64,
    /// Median end-to-end latency of the interval's completions, seconds.
    pub e2e_p50: Option<f64>,
    /// 99th percentile of the same.
    pub e2e_p99: Option<f64>,
    /// Largest queue depth within the interval.
    pub queue_depth_max: u64,
    /// Messages waiting out a retry backoff.
    pub retry_waiting: u64,
    /// Callers blocked by `overflow = "block"`.
    pub blocked: u64,
    /// Messages evicted by drop-oldest.
    pub dropped: u64,
    /// Messages dead-lettered.
    pub dead_lettered: u64,
    /// Messages failed.
    pub failed: u64,
    /// Processing attempts started.
    pub attempts: u64,
    /// Attempts that failed.
    pub failed_attempts: u64,
    /// Callers that got an error (refused or failed).
    pub client_errors: u64,
    /// Callers that gave up (sync timeouts).
    pub client_timeouts: u64,
    /// 99th percentile of what callers waited, for callers answered in the interval.
    pub client_p99: Option<f64>,
    /// Offered rate of all producers at `time`, messages per second.
    pub offered_rate: f64,
    /// Consumers that exist at `time` (changes with autoscaling).
    pub consumers: u64,
}

/// Column names in CSV order.
pub fn header() -> Vec<&'static str> {
    vec![
        "time",
        "arrivals",
        "completed",
        "rejected",
        "retries",
        "dead_lettered_total",
        "queue_depth",
        "oldest_age",
        "in_flight",
        "utilization",
        "e2e_p50",
        "e2e_p99",
        "queue_depth_max",
        "retry_waiting",
        "blocked",
        "dropped",
        "dead_lettered",
        "failed",
        "attempts",
        "failed_attempts",
        "client_errors",
        "client_timeouts",
        "client_p99",
        "offered_rate",
        "consumers",
    ]
}

impl Row {
    /// The backlog: messages waiting to be processed (queue, retry backoff, blocked callers).
    pub fn backlog(&self) -> u64 {
        self.queue_depth + self.retry_waiting + self.blocked
    }

    /// The row as CSV fields in [`header`] order (empty for missing percentiles).
    pub fn fields(&self) -> Vec<String> {
        let opt = |x: Option<f64>| x.map(fmt_f).unwrap_or_default();
        vec![
            fmt_f(self.time),
            self.arrivals.to_string(),
            self.completed.to_string(),
            self.rejected.to_string(),
            self.retries.to_string(),
            self.dead_lettered_total.to_string(),
            self.queue_depth.to_string(),
            fmt_f(self.oldest_age),
            self.in_flight.to_string(),
            fmt_f(self.utilization),
            opt(self.e2e_p50),
            opt(self.e2e_p99),
            self.queue_depth_max.to_string(),
            self.retry_waiting.to_string(),
            self.blocked.to_string(),
            self.dropped.to_string(),
            self.dead_lettered.to_string(),
            self.failed.to_string(),
            self.attempts.to_string(),
            self.failed_attempts.to_string(),
            self.client_errors.to_string(),
            self.client_timeouts.to_string(),
            opt(self.client_p99),
            fmt_f(self.offered_rate),
            self.consumers.to_string(),
        ]
    }
}

/// The rows of fan-out subscribers added up, interval by interval: counts, gauges and
/// rates add; `oldest_age` is the oldest of any subscriber; `utilization` is weighted by
/// consumers; `queue_depth_max` is the sum of each subscriber's maximum (an upper bound:
/// their peaks need not coincide); the percentile columns are the slowest subscriber's.
/// Rows beyond the shortest run (one stopped early) are left out.
pub fn merge_rows(groups: &[&[Row]]) -> Vec<Row> {
    let n = groups.iter().map(|g| g.len()).min().unwrap_or(0);
    let worst = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) => x,
        (None, y) => y,
    };
    (0..n)
        .map(|i| {
            let mut t = Row {
                time: groups[0][i].time,
                ..Row::default()
            };
            let mut busy = 0.0;
            for g in groups {
                let r = &g[i];
                t.arrivals += r.arrivals;
                t.completed += r.completed;
                t.rejected += r.rejected;
                t.retries += r.retries;
                t.dead_lettered_total += r.dead_lettered_total;
                t.queue_depth += r.queue_depth;
                t.oldest_age = t.oldest_age.max(r.oldest_age);
                t.in_flight += r.in_flight;
                busy += r.utilization * r.consumers as f64;
                t.e2e_p50 = worst(t.e2e_p50, r.e2e_p50);
                t.e2e_p99 = worst(t.e2e_p99, r.e2e_p99);
                t.queue_depth_max += r.queue_depth_max;
                t.retry_waiting += r.retry_waiting;
                t.blocked += r.blocked;
                t.dropped += r.dropped;
                t.dead_lettered += r.dead_lettered;
                t.failed += r.failed;
                t.attempts += r.attempts;
                t.failed_attempts += r.failed_attempts;
                t.client_errors += r.client_errors;
                t.client_timeouts += r.client_timeouts;
                t.client_p99 = worst(t.client_p99, r.client_p99);
                t.offered_rate += r.offered_rate;
                t.consumers += r.consumers;
            }
            t.utilization = if t.consumers == 0 {
                0.0
            } else {
                busy / t.consumers as f64
            };
            t
        })
        .collect()
}

/// Shortest float text that reads back the same value (deterministic across platforms).
pub fn fmt_f(x: f64) -> String {
    if x == x.trunc() && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_matches_fields() {
        assert_eq!(header().len(), Row::default().fields().len());
        for col in [
            "time",
            "arrivals",
            "completed",
            "rejected",
            "retries",
            "dead_lettered_total",
            "queue_depth",
            "oldest_age",
            "in_flight",
            "utilization",
            "e2e_p50",
            "e2e_p99",
        ] {
            assert!(header().contains(&col), "{col}");
        }
    }
}
