//! Statistics kept while a run goes, in memory that does not grow with the number of
//! messages: HDR histograms for latencies, time-weighted sums for gauges, counters for
//! fates, and one time-series row per `sample_every`.

pub mod counts;
pub mod gauge;
pub mod latency;
pub mod moments;
pub mod recorder;
pub mod recovery;
pub mod summary;
pub mod timeseries;

pub use counts::Counts;
pub use gauge::TimeWeighted;
pub use latency::{LatencyRecorder, LatencyStats};
pub use moments::{MomentStats, Moments};
pub use summary::Summary;
pub use timeseries::Row;
