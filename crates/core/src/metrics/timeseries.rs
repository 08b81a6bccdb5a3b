//! One row per `sample_every`: per-interval counts and gauges sampled at the row's time.

use serde::Serialize;

/// Declares the time-series row once: each column's name (a field of [`Row`] and a CSV
/// header, in order), its type, how fan-out subscribers' rows combine
/// ([`merge_rows`]), and its doc. The struct, [`header`], [`Row::fields`] and the merge
/// all come from this one list, so adding a column is one line here plus where
/// `Recorder::sample` fills it.
macro_rules! row_schema {
    ($( $(#[doc = $doc:literal])* $name:ident : $ty:ty => $merge:ident, )*) => {
        /// A time-series row (a line of timeseries.csv). Counts are per interval unless the
        /// name ends in `_total`; gauges are sampled at `time`; `*_max` are exact maxima
        /// within the interval; percentiles are of the messages completed within the
        /// interval (empty when none completed).
        #[derive(Debug, Clone, Default, PartialEq, Serialize)]
        pub struct Row {
            $( $(#[doc = $doc])* pub $name: $ty, )*
        }

        /// Column names in CSV order.
        pub fn header() -> Vec<&'static str> {
            vec![$( stringify!($name), )*]
        }

        impl Row {
            /// The row as CSV fields in [`header`] order (empty for missing percentiles).
            pub fn fields(&self) -> Vec<String> {
                vec![$( Cell::cell(&self.$name), )*]
            }

            /// Adds subscriber row `r` into this merged row, column by column.
            fn combine(&mut self, r: &Row) {
                $( Merge::$merge(&mut self.$name, &r.$name); )*
            }
        }
    };
}

row_schema! {
    /// End of the interval, seconds.
    time: f64 => first,
    /// Messages produced.
    arrivals: u64 => sum,
    /// Messages completed.
    completed: u64 => sum,
    /// Messages rejected.
    rejected: u64 => sum,
    /// Retries scheduled.
    retries: u64 => sum,
    /// Messages dead-lettered since the start.
    dead_lettered_total: u64 => sum,
    /// Messages waiting in the queue.
    queue_depth: u64 => sum,
    /// Age of the oldest waiting message, seconds (0 when none waits).
    oldest_age: f64 => max,
    /// Messages being processed (busy consumers) plus messages invisible after a crash.
    in_flight: u64 => sum,
    /// Busy fraction of consumer time over the interval (merged: weighted by consumers).
    utilization: f64 => first,
    /// Median end-to-end latency of the interval's completions, seconds.
    e2e_p50: Option<f64> => worst,
    /// 99th percentile of the same.
    e2e_p99: Option<f64> => worst,
    /// Largest queue depth within the interval (merged: the sum of the maxima, an upper
    /// bound).
    queue_depth_max: u64 => sum,
    /// Messages waiting out a retry backoff.
    retry_waiting: u64 => sum,
    /// Callers blocked by `overflow = "block"`.
    blocked: u64 => sum,
    /// Messages evicted by drop-oldest.
    dropped: u64 => sum,
    /// Messages dead-lettered.
    dead_lettered: u64 => sum,
    /// Messages failed.
    failed: u64 => sum,
    /// Processing attempts started.
    attempts: u64 => sum,
    /// Attempts that failed.
    failed_attempts: u64 => sum,
    /// Callers that got an error (refused or failed).
    client_errors: u64 => sum,
    /// Callers that gave up (sync timeouts).
    client_timeouts: u64 => sum,
    /// 99th percentile of what callers waited, for callers answered in the interval.
    client_p99: Option<f64> => worst,
    /// Offered rate of all producers at `time`, messages per second.
    offered_rate: f64 => sum,
    /// Consumers that exist at `time` (changes with autoscaling).
    consumers: u64 => sum,
}

/// A CSV cell.
trait Cell {
    fn cell(&self) -> String;
}
impl Cell for u64 {
    fn cell(&self) -> String {
        self.to_string()
    }
}
impl Cell for f64 {
    fn cell(&self) -> String {
        fmt_f(*self)
    }
}
impl Cell for Option<f64> {
    fn cell(&self) -> String {
        self.map(fmt_f).unwrap_or_default()
    }
}

/// How a column of subscriber rows combines into the merged row.
trait Merge {
    /// Kept from the row the merge starts from (the first subscriber's time).
    fn first(&mut self, _: &Self) {}
    /// Added up.
    fn sum(&mut self, other: &Self);
    /// The largest.
    fn max(&mut self, other: &Self);
    /// The slowest subscriber's (percentiles): the largest present value.
    fn worst(&mut self, other: &Self) {
        self.max(other);
    }
}
impl Merge for u64 {
    fn sum(&mut self, other: &Self) {
        *self += other;
    }
    fn max(&mut self, other: &Self) {
        *self = Ord::max(*self, *other);
    }
}
impl Merge for f64 {
    fn sum(&mut self, other: &Self) {
        *self += other;
    }
    fn max(&mut self, other: &Self) {
        *self = f64::max(*self, *other);
    }
}
impl Merge for Option<f64> {
    fn sum(&mut self, other: &Self) {
        *self = match (*self, *other) {
            (Some(x), Some(y)) => Some(x + y),
            (x, None) => x,
            (None, y) => y,
        };
    }
    fn max(&mut self, other: &Self) {
        *self = match (*self, *other) {
            (Some(x), Some(y)) => Some(x.max(y)),
            (x, None) => x,
            (None, y) => y,
        };
    }
}

impl Row {
    /// The backlog: messages waiting to be processed (queue, retry backoff, blocked callers).
    pub fn backlog(&self) -> u64 {
        self.queue_depth + self.retry_waiting + self.blocked
    }
}

/// The rows of fan-out subscribers added up, interval by interval, by each column's rule
/// in the schema above: counts, gauges and rates add; `oldest_age` is the oldest of any
/// subscriber; `utilization` is weighted by consumers; `queue_depth_max` is the sum of
/// each subscriber's maximum (an upper bound: their peaks need not coincide); the
/// percentile columns are the slowest subscriber's. Rows beyond the shortest run (one
/// stopped early) are left out.
pub(crate) fn merge_rows(groups: &[&[Row]]) -> Vec<Row> {
    let n = groups.iter().map(|g| g.len()).min().unwrap_or(0);
    (0..n)
        .map(|i| {
            let mut t = Row {
                time: groups[0][i].time,
                ..Row::default()
            };
            let mut busy = 0.0;
            for g in groups {
                let r = &g[i];
                t.combine(r);
                busy += r.utilization * r.consumers as f64;
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
        // An integer of magnitude below 1e15 < 2^63: exact as i64.
        #[allow(clippy::cast_possible_truncation)]
        let i = x as i64;
        format!("{i}")
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
