//! Latency distributions: an HDR histogram (3 significant digits, about 0.1% relative
//! error on percentiles) plus exact count, mean and max; and a time-series interval's
//! latencies, kept exactly.

use crate::convert::nearest_rank;
use crate::time::Nanos;
use hdrhistogram::Histogram;
use serde::Serialize;

/// Records latencies in nanoseconds.
///
/// A value is counted at once in `counts`, an array laid out exactly as the HDR
/// histogram's own (the same bucket and sub-bucket for every value), and the counts move
/// into the histogram at [`LatencyRecorder::flush`]. Recording is then an index and an
/// increment, without the histogram's call, range checks and min/max bookkeeping per
/// value; the histogram comes out the same as recording each value into it (tested).
#[derive(Clone)]
pub struct LatencyRecorder {
    hist: Histogram<u64>,
    /// Values not yet in `hist`, by the histogram's index (all zero when `pending` is 0).
    counts: Vec<u64>,
    /// How many values `counts` holds.
    pending: u64,
    /// The histogram's sub-bucket half-count magnitude (its lowest discernible value is 1).
    half: u32,
    sum: u128,
    max: u64,
    zeros: u64,
}

/// The highest value the histogram is first sized for (it grows past it).
const HIGHEST: u64 = 1 << 40;

impl LatencyRecorder {
    /// A recorder with `sigfig` significant digits (3 for run summaries, 2 per interval).
    pub fn new(sigfig: u8) -> Self {
        let mut hist =
            Histogram::new_with_bounds(1, HIGHEST, sigfig).expect("valid static histogram bounds");
        hist.auto(true);
        // As the histogram: sub-buckets of the smallest power of two >= 2 x 10^sigfig.
        let single = 2 * 10u64.pow(u32::from(sigfig));
        let half = single.next_power_of_two().trailing_zeros() - 1;
        LatencyRecorder {
            hist,
            counts: vec![0; index_of(HIGHEST, half) + 1],
            pending: 0,
            half,
            sum: 0,
            max: 0,
            zeros: 0,
        }
    }

    /// Records one latency.
    #[inline]
    pub fn record(&mut self, ns: Nanos) {
        let i = index_of(ns, self.half);
        match self.counts.get_mut(i) {
            Some(c) => *c += 1,
            None => self.grow_and_count(i),
        }
        self.pending += 1;
        self.sum += u128::from(ns);
        self.max = self.max.max(ns);
        if ns == 0 {
            self.zeros += 1;
        }
    }

    /// A value beyond the counts so far (latencies past 2^40 ns, about 18 minutes).
    #[cold]
    fn grow_and_count(&mut self, i: usize) {
        self.counts.resize(i + 1, 0);
        self.counts[i] += 1;
    }

    /// Puts the counted values into the histogram.
    pub fn flush(&mut self) {
        if self.pending > 0 {
            let half = self.half;
            for (i, c) in self.counts.iter_mut().enumerate() {
                if *c > 0 {
                    // With auto-resize on, recording cannot fail for a u64.
                    let _ = self.hist.record_n(value_at(i, half), *c);
                    *c = 0;
                }
            }
            self.pending = 0;
        }
    }

    /// The histogram with the counted values in it (a copy only when some are pending:
    /// readers normally see a flushed recorder, see [`LatencyRecorder::flush`]).
    fn flushed(&self) -> std::borrow::Cow<'_, Histogram<u64>> {
        if self.pending == 0 {
            std::borrow::Cow::Borrowed(&self.hist)
        } else {
            let mut f = self.clone();
            f.flush();
            std::borrow::Cow::Owned(f.hist)
        }
    }

    /// Number of latencies recorded.
    pub fn count(&self) -> u64 {
        self.hist.len() + self.pending
    }

    /// Latencies that were exactly 0.
    pub fn zeros(&self) -> u64 {
        self.zeros
    }

    /// The `q` quantile in seconds (None when empty).
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.count() == 0 {
            return None;
        }
        let hist = self.flushed();
        Some(self.seconds(&hist, hist.value_at_quantile(q)))
    }

    /// A histogram value in seconds: the middle of its bucket (0 stays 0), at most the
    /// exact maximum.
    fn seconds(&self, hist: &Histogram<u64>, v: u64) -> f64 {
        let v = if v == 0 { 0 } else { hist.median_equivalent(v) };
        v.min(self.max) as f64 / 1e9
    }

    /// The quantiles `qs` (ascending) in seconds, each what [`LatencyRecorder::quantile`]
    /// gives, found in one pass over the histogram (None for each when empty).
    pub fn quantiles(&self, qs: &[f64]) -> Vec<Option<f64>> {
        debug_assert!(qs.windows(2).all(|w| w[0] <= w[1]), "ascending quantiles");
        if self.count() == 0 {
            return vec![None; qs.len()];
        }
        let hist = self.flushed();
        hist.value_at_quantiles(qs.iter().copied())
            .map(|v| Some(self.seconds(&hist, v)))
            .collect()
    }

    /// Adds every latency of `other` (same precision) to this one.
    pub fn merge(&mut self, other: &LatencyRecorder) {
        // Every field named, so a new one must be merged or said not to need it.
        let LatencyRecorder {
            // The counts not yet in the histogram: `flushed` moves them in.
            hist: _,
            counts: _,
            pending: _,
            // The precision: the same for both.
            half: _,
            sum,
            max,
            zeros,
        } = other;
        self.flush();
        // Both auto-resize, so adding cannot fail for lack of range.
        let _ = self.hist.add(&*other.flushed());
        self.sum += sum;
        self.max = self.max.max(*max);
        self.zeros += zeros;
    }

    /// Clears everything (used per time-series interval).
    pub fn reset(&mut self) {
        self.hist.reset();
        if self.pending > 0 {
            self.counts.fill(0);
            self.pending = 0;
        }
        self.sum = 0;
        self.max = 0;
        self.zeros = 0;
    }

    /// The summary figures.
    pub fn stats(&self) -> LatencyStats {
        if self.pending > 0 {
            let mut f = self.clone();
            f.flush();
            return f.stats();
        }
        let count = self.count();
        let some = |x: f64| if count == 0 { None } else { Some(x) };
        let q = self.quantiles(&[0.5, 0.9, 0.99, 0.999]);
        LatencyStats {
            count,
            mean: some(self.sum as f64 / count.max(1) as f64 / 1e9),
            p50: q[0],
            p90: q[1],
            p99: q[2],
            p999: q[3],
            max: some(self.max as f64 / 1e9),
        }
    }
}

/// The HDR histogram's counts index of `v` (lowest discernible value 1, sub-bucket
/// half-count 2^`half`), as `hdrhistogram` computes it: the power of two above the first
/// bucket, then the top bits within it.
#[inline]
fn index_of(v: u64, half: u32) -> usize {
    let mask = (1u64 << (half + 1)) - 1;
    let bucket = (64 - (half + 1)) - (v | mask).leading_zeros();
    let sub = v >> bucket;
    // Below 2^23 for any u64 at up to 5 significant digits, the histogram's limit (half
    // <= 17, so bucket <= 46 and sub < 2^18): it fits `usize` on every target, wasm32 too.
    let i = ((u64::from(bucket) + 1) << half) + sub - (1u64 << half);
    usize::try_from(i).expect("an HDR index is below 2^23")
}

/// The lowest value counted at index `i` (the inverse of [`index_of`]).
fn value_at(i: usize, half: u32) -> u64 {
    let i = i as u64;
    let bucket = (i >> half).saturating_sub(1);
    let sub = if i >> half == 0 {
        i
    } else {
        (i & ((1u64 << half) - 1)) + (1u64 << half)
    };
    sub << bucket
}

/// `{ count, mean, p50, p90, p99, p999, max }` in seconds; all but `count` are `null`
/// (`None`) when nothing was recorded, never NaN.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct LatencyStats {
    /// How many latencies.
    pub count: u64,
    /// Mean (exact).
    pub mean: Option<f64>,
    /// Median.
    pub p50: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
    /// 99.9th percentile.
    pub p999: Option<f64>,
    /// Maximum (exact).
    pub max: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng as _, SeedableRng};

    #[test]
    fn quantiles_within_a_tenth_of_a_percent() {
        let mut r = LatencyRecorder::new(3);
        for i in 1..=100_000u64 {
            r.record(i * 1000);
        }
        let s = r.stats();
        assert_eq!(s.count, 100_000);
        assert!((s.mean.unwrap() - 0.0500005).abs() < 1e-9);
        for (q, want) in [(s.p50, 0.05), (s.p90, 0.09), (s.p99, 0.099)] {
            assert!((q.unwrap() / want - 1.0).abs() < 0.001, "{q:?} vs {want}");
        }
        assert_eq!(s.max, Some(0.1));
        assert!(s.p50 <= s.p90 && s.p90 <= s.p99 && s.p99 <= s.p999 && s.p999 <= s.max);
    }

    #[test]
    fn empty_is_null_not_nan() {
        let s = LatencyRecorder::new(3).stats();
        assert_eq!(s.count, 0);
        assert_eq!(s.mean, None);
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            r#"{"count":0,"mean":null,"p50":null,"p90":null,"p99":null,"p999":null,"max":null}"#
        );
    }

    #[test]
    fn runs_of_equal_values_give_the_same_histogram() {
        let values = [5_000u64, 5_000, 5_000, 7_000, 7_000, 0, 0, 5_000, 9_999_999];
        let mut batched = LatencyRecorder::new(3);
        let mut one_by_one = Histogram::<u64>::new_with_bounds(1, 1 << 40, 3).unwrap();
        one_by_one.auto(true);
        for &v in &values {
            batched.record(v);
            one_by_one.record(v).unwrap();
        }
        // Readers see the pending run before and after a flush.
        assert_eq!(batched.count(), values.len() as u64);
        let before = batched.stats();
        let mut other = LatencyRecorder::new(3);
        other.record(5_000);
        other.merge(&batched);
        batched.flush();
        assert_eq!(batched.hist, one_by_one);
        assert_eq!(batched.stats(), before);
        assert_eq!(other.count(), values.len() as u64 + 1);
        assert_eq!(batched.zeros(), 2);
    }

    #[test]
    fn counting_by_index_gives_the_histogram_recording_gives() {
        // Values of every magnitude (0, each power of two and its neighbours, random ones
        // up to 2^62), at every precision the histogram allows (the summaries use 3, the
        // intervals 2): the same counts, total, min and max.
        let mut values: Vec<u64> = vec![0, 1, 2, 3];
        for k in 1..62 {
            let p = 1u64 << k;
            values.extend([p - 1, p, p + 1, p + p / 3]);
        }
        let mut rng = crate::rng::Rng::seed_from_u64(5);
        for _ in 0..20_000 {
            let state = rng.next_u64();
            let bits = (state >> 58) as u32; // a magnitude, 0..63
            values.push((state >> 2) >> (62 - bits.min(62)));
        }
        for sigfig in 0..=5 {
            let mut r = LatencyRecorder::new(sigfig);
            let mut direct = Histogram::<u64>::new_with_bounds(1, HIGHEST, sigfig).unwrap();
            direct.auto(true);
            for &v in &values {
                r.record(v);
                direct.record(v).unwrap();
                assert_eq!(
                    value_at(index_of(v, r.half), r.half),
                    direct.lowest_equivalent(v),
                    "{v}"
                );
            }
            r.flush();
            assert_eq!(r.hist, direct, "sigfig {sigfig}");
            assert_eq!(r.count(), values.len() as u64);
        }
    }

    #[test]
    fn quantiles_in_one_pass_are_the_single_ones() {
        let mut r = LatencyRecorder::new(3);
        assert_eq!(r.quantiles(&[0.5, 0.9]), vec![None, None]);
        let mut rng = crate::rng::Rng::seed_from_u64(9);
        for i in 0..50_000u64 {
            let state = rng.next_u64();
            // Zeros, small values and a long tail.
            r.record(if i % 7 == 0 {
                0
            } else {
                (state >> 40) * (1 + i % 13)
            });
        }
        r.flush();
        let mut qs: Vec<f64> = (0..=1000).map(|i| f64::from(i) / 1000.0).collect();
        qs.extend([0.9995, 0.9999, 1.0]);
        qs.sort_by(f64::total_cmp);
        let one: Vec<Option<f64>> = qs.iter().map(|&q| r.quantile(q)).collect();
        assert_eq!(r.quantiles(&qs), one);
    }

    #[test]
    fn zero_and_huge_values() {
        let mut r = LatencyRecorder::new(3);
        r.record(0);
        r.record(10 * 86_400 * 1_000_000_000); // ten days: beyond the initial bound
        assert_eq!(r.zeros(), 1);
        assert_eq!(r.quantile(0.0), Some(0.0));
        assert_eq!(r.stats().max, Some(864_000.0));
    }
}

/// Latencies of one time-series interval, kept exactly in a reused buffer (quantiles by
/// nearest rank, found by selection at each row: no per-value histogram work). Past
/// [`IntervalLatency::EXACT`] values in one interval they move to an HDR histogram, so
/// memory stays bounded whatever the rate. The buffer grows to the largest interval seen
/// (up to that bound) and is reused: no allocation per value once it has grown.
#[derive(Clone)]
pub(crate) struct IntervalLatency {
    exact: Vec<u64>,
    hist: LatencyRecorder,
    in_hist: bool,
    /// While every value of the interval so far is the same (a caller's wait of 0 when
    /// the broker acknowledges at once, constant service): that value and how many, and
    /// `exact` stays empty.
    same: Option<(u64, usize)>,
}

impl Default for IntervalLatency {
    fn default() -> Self {
        IntervalLatency {
            exact: Vec::with_capacity(256),
            hist: LatencyRecorder::new(2),
            in_hist: false,
            same: None,
        }
    }
}

impl IntervalLatency {
    /// Values kept exactly per interval before the histogram takes over.
    pub(crate) const EXACT: usize = 1 << 18;

    /// Adds one latency, in nanoseconds.
    #[inline]
    pub(crate) fn record(&mut self, ns: Nanos) {
        // The two hot cases inline: a buffer already filling, a run of one value.
        let len = self.exact.len();
        if len != 0 && len < Self::EXACT {
            self.exact.push(ns);
            return;
        }
        if let Some((v, n)) = &mut self.same {
            if *v == ns && *n < Self::EXACT {
                *n += 1;
                return;
            }
        }
        self.record_rest(ns);
    }

    /// The rest: the first value, the end of a run, the histogram.
    #[inline(never)]
    fn record_rest(&mut self, ns: Nanos) {
        if self.in_hist {
            self.hist.record(ns);
            return;
        }
        if self.exact.is_empty() {
            if self.same.is_none() {
                self.same = Some((ns, 1));
                return;
            }
            self.materialize();
        }
        if self.exact.len() < Self::EXACT {
            self.exact.push(ns);
        } else {
            self.spill();
            self.hist.record(ns);
        }
    }

    /// The run of equal values becomes buffer entries.
    #[cold]
    fn materialize(&mut self) {
        if let Some((v, n)) = self.same.take() {
            self.exact.resize(n, v);
        }
    }

    #[cold]
    fn spill(&mut self) {
        for &v in &self.exact {
            self.hist.record(v);
        }
        self.exact.clear();
        self.in_hist = true;
    }

    /// The `q` quantile (nearest rank) of this interval's latencies, in seconds.
    pub(crate) fn quantile(&mut self, q: f64) -> Option<f64> {
        if self.in_hist {
            self.hist.flush();
            return self.hist.quantile(q);
        }
        if let Some((v, _)) = self.same {
            return Some(v as f64 / 1e9);
        }
        if self.exact.is_empty() {
            return None;
        }
        let n = self.exact.len();
        let rank = nearest_rank(q, n);
        let (_, v, _) = self.exact.select_nth_unstable(rank - 1);
        Some(*v as f64 / 1e9)
    }

    /// The `lo` and `hi` quantiles (`lo <= hi`) at once, as [`quantile`](Self::quantile)
    /// gives them: the second selection runs only on the part above the first (the first
    /// one partitions the buffer), half the work of two calls for a median and a p99.
    pub(crate) fn quantile_pair(&mut self, lo: f64, hi: f64) -> (Option<f64>, Option<f64>) {
        debug_assert!(lo <= hi);
        if self.in_hist || self.exact.is_empty() {
            return (self.quantile(lo), self.quantile(hi));
        }
        let n = self.exact.len();
        let rank = |q: f64| nearest_rank(q, n);
        let (a, b) = (rank(lo), rank(hi));
        let (_, v, above) = self.exact.select_nth_unstable(a - 1);
        let lo_v = *v;
        // Everything in `above` is >= lo_v; rank b (>= a) is in it unless b == a.
        let hi_v = if b == a {
            lo_v
        } else {
            *above.select_nth_unstable(b - a - 1).1
        };
        (Some(lo_v as f64 / 1e9), Some(hi_v as f64 / 1e9))
    }

    /// Starts the next interval.
    pub(crate) fn reset(&mut self) {
        self.exact.clear();
        self.same = None;
        if self.in_hist {
            self.hist.reset();
            self.in_hist = false;
        }
    }
}

#[cfg(test)]
mod interval_tests {
    use super::*;
    use rand::{RngExt, SeedableRng};

    #[test]
    fn a_pair_of_quantiles_is_two_single_ones() {
        let mut rng = crate::rng::Rng::seed_from_u64(12345);
        for n in [1usize, 2, 3, 7, 100, 101, 1000, 4097] {
            let values: Vec<u64> = (0..n).map(|_| rng.random_range(0..1000)).collect();
            for (lo, hi) in [(0.5, 0.99), (0.5, 0.5), (0.0, 1.0), (0.9, 0.999)] {
                let mut a = IntervalLatency::default();
                let mut b = IntervalLatency::default();
                for &v in &values {
                    a.record(v);
                    b.record(v);
                }
                let single = (a.quantile(lo), {
                    let mut c = IntervalLatency::default();
                    values.iter().for_each(|&v| c.record(v));
                    c.quantile(hi)
                });
                assert_eq!(b.quantile_pair(lo, hi), single, "n {n}, {lo} {hi}");
            }
        }
        let mut e = IntervalLatency::default();
        assert_eq!(e.quantile_pair(0.5, 0.99), (None, None));
    }

    #[test]
    fn runs_of_one_value_then_others() {
        // All equal: the run; then a different value: the run becomes buffer entries.
        let mut a = IntervalLatency::default();
        for _ in 0..1000 {
            a.record(0);
        }
        assert_eq!(a.quantile_pair(0.5, 0.99), (Some(0.0), Some(0.0)));
        for _ in 0..20 {
            a.record(5_000_000);
        }
        // 1,020 values: rank 1010 (p99) is a 5 ms one, rank 510 (p50) a zero.
        assert_eq!(a.quantile_pair(0.5, 0.99), (Some(0.0), Some(0.005)));
        a.reset();
        assert_eq!(a.quantile(0.5), None);
        a.record(7);
        a.record(7);
        assert_eq!(a.quantile(0.99), Some(7e-9));
        // A run longer than the exact buffer moves to the histogram, as any values do.
        let mut b = IntervalLatency::default();
        for _ in 0..IntervalLatency::EXACT + 5 {
            b.record(1_000_000);
        }
        b.record(3_000_000);
        assert!(b.in_hist);
        assert!((b.quantile(0.5).unwrap() / 0.001 - 1.0).abs() < 0.01);
    }

    #[test]
    fn small_and_large_intervals_agree() {
        let mut small = IntervalLatency::default();
        for v in [5u64, 1, 3, 2, 4] {
            small.record(v * 1_000_000);
        }
        assert_eq!(small.quantile(0.5), Some(0.003));
        assert_eq!(small.quantile(0.99), Some(0.005));
        let mut big = IntervalLatency::default();
        for i in 1..=10_000u64 {
            big.record(i * 1_000_000);
        }
        let p50 = big.quantile(0.5).unwrap();
        assert!((p50 / 5.0 - 1.0).abs() < 0.01, "{p50}");
        assert_eq!(big.quantile(0.5), Some(5.0));
        assert_eq!(big.quantile(0.99), Some(9.9));
        big.reset();
        assert_eq!(big.quantile(0.5), None);
        big.record(7);
        assert_eq!(big.quantile(0.5), Some(7e-9));
        // Past the exact bound, the histogram (2 significant digits) takes over.
        let mut huge = IntervalLatency::default();
        for i in 1..=(IntervalLatency::EXACT as u64 + 10) {
            huge.record(i * 1_000);
        }
        let p50 = huge.quantile(0.5).unwrap();
        let want = (IntervalLatency::EXACT as f64 + 10.0) / 2.0 * 1e-6;
        assert!((p50 / want - 1.0).abs() < 0.01, "{p50} vs {want}");
    }
}
