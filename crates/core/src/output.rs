//! summary.json, timeseries.csv and the comparison files of a file with variants.

use crate::error::Error;
use crate::metrics::timeseries::{self, fmt_f};
use crate::metrics::{Row, Summary};

/// summary.json (pretty-printed, newline-terminated).
///
/// # Errors
/// [`Error::Encode`] if the summary cannot be encoded (a bug: it holds only numbers,
/// strings and lists).
pub fn summary_json(s: &Summary) -> Result<Vec<u8>, Error> {
    let mut v = serde_json::to_vec_pretty(s).map_err(|e| Error::encode("summary.json", e))?;
    v.push(b'\n');
    Ok(v)
}

/// Several summaries as one JSON array.
///
/// # Errors
/// [`Error::Encode`], as [`summary_json`].
pub fn summaries_json(s: &[&Summary]) -> Result<Vec<u8>, Error> {
    let mut v = serde_json::to_vec_pretty(s).map_err(|e| Error::encode("summaries", e))?;
    v.push(b'\n');
    Ok(v)
}

fn csv_error(e: impl std::fmt::Display) -> Error {
    Error::encode("CSV", e)
}

/// timeseries.csv.
///
/// # Errors
/// [`Error::Encode`] if the CSV writer fails (a bug: it writes into memory).
pub fn timeseries_csv(rows: &[Row]) -> Result<Vec<u8>, Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(timeseries::header()).map_err(csv_error)?;
    for r in rows {
        w.write_record(r.fields()).map_err(csv_error)?;
    }
    w.into_inner().map_err(csv_error)
}

/// Key figures of one summary, as (column, value) pairs.
pub fn key_figures(s: &Summary) -> Vec<(&'static str, String)> {
    let o = |x: Option<f64>| x.map(fmt_f).unwrap_or_default();
    let c = &s.counts;
    vec![
        ("variant", s.variant.clone().unwrap_or_default()),
        ("produced", c.produced.to_string()),
        ("completed", c.completed.to_string()),
        ("rejected", c.rejected.to_string()),
        ("dropped", c.dropped.to_string()),
        ("dead_lettered", c.dead_lettered.to_string()),
        ("failed", c.failed.to_string()),
        ("retries", c.retries.to_string()),
        ("duplicates", c.duplicates.to_string()),
        ("e2e_p50", o(s.latency.end_to_end.p50)),
        ("e2e_p99", o(s.latency.end_to_end.p99)),
        ("e2e_max", o(s.latency.end_to_end.max)),
        ("client_p50", o(s.latency.client.p50)),
        ("client_p99", o(s.latency.client.p99)),
        ("client_max", o(s.latency.client.max)),
        ("client_ok", s.client.ok.to_string()),
        ("client_errors", s.client.errors.to_string()),
        ("client_timeouts", s.client.timeouts.to_string()),
        ("max_depth", s.queue.max_depth.to_string()),
        ("max_oldest_age", fmt_f(s.queue.max_oldest_age)),
        ("utilization", fmt_f(s.consumers.utilization)),
        ("mean_consumers", fmt_f(s.consumers.mean_count)),
        ("max_consumers", s.consumers.max_count.to_string()),
        ("retry_amplification", fmt_f(s.rates.retry_amplification)),
    ]
}

/// comparison.csv: one row per variant with its key figures.
///
/// # Errors
/// [`Error::Encode`], as [`timeseries_csv`].
pub fn comparison_csv(summaries: &[&Summary]) -> Result<Vec<u8>, Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    if let Some(first) = summaries.first() {
        w.write_record(key_figures(first).iter().map(|(k, _)| *k))
            .map_err(csv_error)?;
    }
    for s in summaries {
        w.write_record(key_figures(s).iter().map(|(_, v)| v.as_str()))
            .map_err(csv_error)?;
    }
    w.into_inner().map_err(csv_error)
}
