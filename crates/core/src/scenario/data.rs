//! The parts of a scenario that come from data files: trace and rates producers,
//! empirical and histogram service times (see [`crate::input`] for the file formats).
//!
//! Service samples, histograms and rate series are read whole when the scenario is
//! loaded (they are small, and resampling needs them at hand). A trace is not: loading
//! reads only its head ([`HEAD_LINES`] timestamps) to check it and estimate its rate; the
//! run streams it ([`crate::model::producer`]).

use crate::convert::nearest_rank;
use crate::error::{ErrorKind, InputError};
use crate::input::{self, Inputs, Timestamps};
use crate::time::{human, Nanos};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// Timestamps of a trace read when the scenario is loaded (to check the file and estimate
/// its rate); the rest is read during the run.
pub const HEAD_LINES: u64 = 10_000;

/// A trace producer's timestamps: where they come from and how they are replayed.
///
/// A timestamp `f` (seconds from the start, or time since the file's first date-time) of
/// pass `k` over the file arrives at `offset + (base_k + f) / speed`, where `base_0 = 0`
/// and each further pass (`loop = true`) starts one mean gap after the last timestamp of
/// the pass before.
#[derive(Clone)]
pub struct Trace {
    /// The file as the scenario names it.
    pub file: String,
    /// The file as messages show it.
    pub label: String,
    /// Where it is opened from.
    pub inputs: Arc<dyn Inputs>,
    /// Every gap is divided by this.
    pub speed: f64,
    /// Below 1: each timestamp is kept with this probability; above 1: each gives
    /// `floor(scale)` messages plus one more with probability `scale - floor(scale)`, the
    /// extra ones at uniform random points of the gap to the next timestamp.
    pub scale: f64,
    /// The trace starts this much after time 0.
    pub offset: Nanos,
    /// Start again at the end.
    pub looped: bool,
    /// What the head of the file said.
    pub head: Head,
}

/// What loading read of a trace.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Head {
    /// Timestamps read (at most [`HEAD_LINES`]).
    pub count: u64,
    /// Whether that was the whole file.
    pub whole: bool,
    /// The first and last of them (file time, nanoseconds).
    pub first: Nanos,
    /// The last one read.
    pub last: Nanos,
}

impl Head {
    /// Timestamps per second of file time over the head (`None` with fewer than two, or
    /// all at one instant).
    pub fn rate(&self) -> Option<f64> {
        let span = self.last.saturating_sub(self.first);
        (self.count >= 2 && span > 0).then(|| (self.count - 1) as f64 * 1e9 / span as f64)
    }
}

impl Trace {
    /// Messages per second of simulated time the head of the trace gives (speed and scale
    /// applied); 0 when the head has no rate.
    pub fn head_rate(&self) -> f64 {
        self.head
            .rate()
            .map_or(0.0, |r| r * self.speed * self.scale)
    }

    /// Messages the trace gives up to simulated time `until`, when the whole file was read
    /// at load and does not loop (exact up to the random thinning or superposition).
    pub fn known_count(&self, until: Nanos) -> Option<f64> {
        (self.head.whole && !self.looped).then(|| {
            let to_sim = |f: Nanos| self.offset as f64 + f as f64 / self.speed;
            if self.head.count == 0 || to_sim(self.head.first) > until as f64 {
                return 0.0;
            }
            // Only the first and last are known: interpolate linearly in between.
            let (a, b) = (to_sim(self.head.first), to_sim(self.head.last));
            let share = if b > a {
                ((until as f64 - a) / (b - a)).clamp(0.0, 1.0)
            } else {
                1.0
            };
            (1.0 + share * (self.head.count - 1) as f64) * self.scale
        })
    }
}

impl fmt::Debug for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Trace")
            .field("file", &self.file)
            .field("speed", &self.speed)
            .field("scale", &self.scale)
            .field("offset", &self.offset)
            .field("looped", &self.looped)
            .field("head", &self.head)
            .finish()
    }
}

impl PartialEq for Trace {
    fn eq(&self, o: &Self) -> bool {
        self.file == o.file
            && self.label == o.label
            && self.speed == o.speed
            && self.scale == o.scale
            && self.offset == o.offset
            && self.looped == o.looped
            && self.head == o.head
    }
}

/// Measured service times (`dist = "empirical"`), resampled: each draw is one of them,
/// each equally likely.
#[derive(Debug, Clone, PartialEq)]
pub struct Samples {
    /// The file, as messages show it.
    pub file: String,
    /// The times in seconds, sorted.
    pub values: Arc<[f64]>,
    /// Their mean (the mean of a draw).
    pub mean: f64,
    /// Their standard deviation, dividing by n (that of a draw).
    pub stddev: f64,
}

impl Samples {
    /// The sample quantile `q` (nearest rank).
    pub fn quantile(&self, q: f64) -> f64 {
        let n = self.values.len();
        let i = nearest_rank(q, n) - 1;
        self.values[i]
    }
}

/// A latency histogram (`dist = "histogram"`): a draw picks a bucket with probability
/// proportional to its count, then a uniform time inside it (the first bucket starts
/// at 0).
#[derive(Debug, Clone, PartialEq)]
pub struct Buckets {
    /// The file, as messages show it.
    pub file: String,
    /// Upper bounds in seconds, increasing.
    pub bounds: Arc<[f64]>,
    /// Cumulative counts: `cum[i]` times fell at or below `bounds[i]`.
    pub cum: Arc<[u64]>,
    /// Mean of a draw.
    pub mean: f64,
    /// Standard deviation of a draw.
    pub stddev: f64,
}

impl Buckets {
    fn new(file: String, rows: &[(f64, u64)]) -> Buckets {
        let total: u64 = rows.iter().map(|r| r.1).sum();
        let (mut m1, mut m2, mut lo, mut acc) = (0.0, 0.0, 0.0, 0);
        let mut cum = Vec::with_capacity(rows.len());
        for &(hi, c) in rows {
            let w = c as f64 / total as f64;
            m1 += w * (lo + hi) / 2.0;
            m2 += w * (lo * lo + lo * hi + hi * hi) / 3.0;
            acc += c;
            cum.push(acc);
            lo = hi;
        }
        Buckets {
            file,
            bounds: rows.iter().map(|r| r.0).collect(),
            cum: cum.into(),
            mean: m1,
            stddev: (m2 - m1 * m1).max(0.0).sqrt(),
        }
    }

    /// Total count.
    pub fn total(&self) -> u64 {
        self.cum.last().copied().unwrap_or(0)
    }

    /// A time in seconds for a uniform `u` in [0, 1): the bucket holding rank `u * total`,
    /// and the fraction of the way through it as the position inside.
    #[inline]
    pub fn at(&self, u: f64) -> f64 {
        let x = u * self.total() as f64;
        let b = self
            .cum
            .partition_point(|&c| c as f64 <= x)
            .min(self.cum.len() - 1);
        let below = if b == 0 { 0 } else { self.cum[b - 1] };
        let lo = if b == 0 { 0.0 } else { self.bounds[b - 1] };
        let hi = self.bounds[b];
        let count = (self.cum[b] - below).max(1) as f64;
        let frac = ((x - below as f64) / count).clamp(0.0, 1.0);
        lo + frac * (hi - lo)
    }
}

/// Describes a data-driven service law for people.
pub(super) fn describe_samples(s: &Samples) -> String {
    format!(
        "empirical, {} samples from {}, mean {} p99 {}",
        crate::time::thousands(s.values.len() as u64),
        s.file,
        human(s.mean),
        human(s.quantile(0.99))
    )
}

pub(super) fn describe_buckets(b: &Buckets) -> String {
    format!(
        "histogram of {} times in {} buckets from {}, mean {} sd {}",
        crate::time::thousands(b.total()),
        b.bounds.len(),
        b.file,
        human(b.mean),
        human(b.stddev)
    )
}

/// A rate series: `(time, rate per second)` rows.
type Series = Arc<[(Nanos, f64)]>;

/// Loads data files for validation, each once per scenario file (variants and
/// subscribers share them).
pub(super) struct Ctx {
    pub(super) inputs: Arc<dyn Inputs>,
    samples: RefCell<BTreeMap<(String, u64), Samples>>,
    buckets: RefCell<BTreeMap<String, Buckets>>,
    rates: RefCell<BTreeMap<String, Series>>,
    heads: RefCell<BTreeMap<String, Head>>,
}

/// Says which key named the file of a data error.
fn named_by(mut e: InputError, key: &str) -> InputError {
    e.message = format!("{} (the data file of `{key}`)", e.message);
    e
}

impl Ctx {
    pub(super) fn new(inputs: Arc<dyn Inputs>) -> Ctx {
        Ctx {
            inputs,
            samples: RefCell::default(),
            buckets: RefCell::default(),
            rates: RefCell::default(),
            heads: RefCell::default(),
        }
    }

    fn open(&self, file: &str, key: &str) -> Result<input::Reader, InputError> {
        self.inputs.open(file).map_err(|e| named_by(e, key))
    }

    /// The service samples of `file`, bare numbers in `unit` seconds.
    pub(super) fn samples(
        &self,
        file: &str,
        unit: Option<f64>,
        key: &str,
    ) -> Result<Samples, InputError> {
        let k = (file.to_string(), unit.map_or(0, f64::to_bits));
        if let Some(s) = self.samples.borrow().get(&k) {
            return Ok(s.clone());
        }
        let label = self.inputs.label(file);
        let mut v = input::read_durations(self.open(file, key)?, &label, "value", unit)
            .map_err(|e| named_by(e, key))?;
        v.sort_by(f64::total_cmp);
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
        if mean <= 0.0 {
            return Err(named_by(
                InputError::of(
                    ErrorKind::OutOfRange,
                    "every service time in this file is 0",
                )
                .in_file(label)
                .allowed("service times >= 0, not all 0"),
                key,
            ));
        }
        let s = Samples {
            file: label,
            values: v.into(),
            mean,
            stddev: var.sqrt(),
        };
        self.samples.borrow_mut().insert(k, s.clone());
        Ok(s)
    }

    /// The histogram of `file`.
    pub(super) fn buckets(&self, file: &str, key: &str) -> Result<Buckets, InputError> {
        if let Some(b) = self.buckets.borrow().get(file) {
            return Ok(b.clone());
        }
        let label = self.inputs.label(file);
        let rows =
            input::read_histogram(|| self.open(file, key), &label).map_err(|e| named_by(e, key))?;
        let b = Buckets::new(label, &rows);
        if b.mean <= 0.0 {
            return Err(named_by(
                InputError::of(ErrorKind::OutOfRange, "every time in this histogram is 0")
                    .in_file(b.file)
                    .allowed("buckets with upper bounds above 0"),
                key,
            ));
        }
        self.buckets
            .borrow_mut()
            .insert(file.to_string(), b.clone());
        Ok(b)
    }

    /// The rate series of `file`.
    pub(super) fn rates(&self, file: &str, key: &str) -> Result<Series, InputError> {
        if let Some(r) = self.rates.borrow().get(file) {
            return Ok(r.clone());
        }
        let label = self.inputs.label(file);
        let rows: Arc<[(Nanos, f64)]> = input::read_rates(|| self.open(file, key), &label)
            .map_err(|e| named_by(e, key))?
            .into();
        self.rates
            .borrow_mut()
            .insert(file.to_string(), rows.clone());
        Ok(rows)
    }

    /// The head of the trace `file`: its first [`HEAD_LINES`] timestamps checked.
    pub(super) fn head(&self, file: &str, key: &str) -> Result<Head, InputError> {
        if let Some(h) = self.heads.borrow().get(file) {
            return Ok(*h);
        }
        let label = self.inputs.label(file);
        let mut ts =
            Timestamps::new(self.open(file, key)?, &label, "time").map_err(|e| named_by(e, key))?;
        let mut head = Head {
            count: 0,
            whole: false,
            first: 0,
            last: 0,
        };
        loop {
            if head.count == HEAD_LINES {
                break;
            }
            match ts.next_ns().map_err(|e| named_by(e, key))? {
                Some((t, _)) => {
                    if head.count == 0 {
                        head.first = t;
                    }
                    head.last = t;
                    head.count += 1;
                }
                None => {
                    head.whole = true;
                    break;
                }
            }
        }
        if head.count == 0 {
            return Err(named_by(
                InputError::of(ErrorKind::Missing, "this trace has no timestamps")
                    .in_file(label)
                    .allowed("one timestamp a line, or a CSV file with a `time` column"),
                key,
            ));
        }
        self.heads.borrow_mut().insert(file.to_string(), head);
        Ok(head)
    }
}
