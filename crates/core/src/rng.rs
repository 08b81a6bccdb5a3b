//! Random streams: one portable generator per source of randomness.
//!
//! Every stream is a `Xoshiro256PlusPlus` (rand_xoshiro; its output is fixed by its
//! specification, unlike `StdRng`) seeded from the scenario seed and the stream's identity
//! through SplitMix64. Giving each source its own stream means that changing one part of a
//! scenario (the client mode, the retry policy) does not shift the draws of another: every
//! variant sees the same arrivals and the same first-attempt service times (common random
//! numbers). Distributions come from rand_distr without `std_math`, so their maths goes
//! through libm and gives the same numbers on every platform.

use crate::convert::{floor_u32, index_below};
use crate::scenario::Service;
use crate::time::{secs_to_ns, Nanos};
use rand::{Rng as _, RngExt, SeedableRng};
use rand_distr::{Distribution, Exp1, Gamma, LogNormal};
use rand_xoshiro::Xoshiro256PlusPlus;
use std::sync::Arc;

/// The generator used for every stream.
pub type Rng = Xoshiro256PlusPlus;

/// The sources of randomness. Each gets an independent stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Inter-arrival gaps of producer `i`.
    Arrivals(u32),
    /// Service time of each message's first attempt, drawn when it is produced.
    Service,
    /// Failure draw of each message's first attempt, drawn when it is produced.
    Failure,
    /// Service times of later attempts (retries, redeliveries).
    RetryService,
    /// Failure draws of later attempts.
    RetryFailure,
    /// Backoff jitter.
    Jitter,
    /// Consumer crashes before the ack.
    Crash,
    /// Whether a message is poison (fails on every attempt), drawn when it is produced.
    Poison,
    /// Service and failure draws of the messages waiting at time 0 (warm start).
    Warm,
    /// Message keys, drawn when a message is produced.
    Keys,
    /// Whether a message is published twice, and its copy's draws.
    Duplicates,
}

impl Stream {
    fn id(self) -> u64 {
        match self {
            Stream::Arrivals(i) => 0x100 + u64::from(i),
            Stream::Service => 1,
            Stream::Failure => 2,
            Stream::RetryService => 3,
            Stream::RetryFailure => 4,
            Stream::Jitter => 5,
            Stream::Crash => 6,
            Stream::Poison => 7,
            Stream::Warm => 8,
            Stream::Keys => 9,
            Stream::Duplicates => 10,
        }
    }
}

/// SplitMix64's output function: a bijective mix of 64 bits.
pub fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The generator of `stream` for a run seeded with `seed`.
pub fn stream(seed: u64, stream: Stream) -> Rng {
    Rng::seed_from_u64(mix64(seed ^ mix64(stream.id())))
}

/// The generator of `stream` for a run seeded with `seed`, with `salt` mixed into the
/// consumer-side streams (a fan-out subscriber's own draws). Arrivals and poison are never
/// salted: every subscriber sees the same messages, and a malformed message is malformed
/// for all of them. `salt = 0` gives [`stream`].
pub fn salted(seed: u64, salt: u64, s: Stream) -> Rng {
    match s {
        Stream::Arrivals(_) | Stream::Poison | Stream::Keys | Stream::Duplicates => stream(seed, s),
        _ if salt == 0 => stream(seed, s),
        _ => Rng::seed_from_u64(mix64(seed ^ mix64(s.id() ^ mix64(salt)))),
    }
}

/// Draws message keys: uniform over `0..count`, or Zipf with exponent `skew` (key 0 the
/// hottest).
pub(crate) struct KeySampler {
    count: u32,
    zipf: Option<rand_distr::Zipf<f64>>,
}

impl KeySampler {
    /// A sampler for `count` keys with Zipf exponent `skew` (0 = uniform).
    pub(crate) fn new(count: u32, skew: f64) -> KeySampler {
        KeySampler {
            count: count.max(1),
            zipf: (skew > 0.0)
                .then(|| rand_distr::Zipf::new(f64::from(count.max(1)), skew).ok())
                .flatten(),
        }
    }

    /// The next key.
    #[inline]
    pub(crate) fn sample(&self, rng: &mut Rng) -> u32 {
        match &self.zipf {
            Some(z) => (floor_u32(z.sample(rng)).max(1) - 1).min(self.count - 1),
            None => floor_u32(uniform(rng) * f64::from(self.count)).min(self.count - 1),
        }
    }
}

/// A uniform number in [0, 1) with 53 random bits.
#[inline]
pub fn uniform(rng: &mut Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Draws from a service-time law, in nanoseconds.
#[derive(Debug, Clone)]
pub enum Sampler {
    /// Always this many seconds.
    Constant(f64),
    /// `min + u * (max - min)` seconds.
    Uniform(f64, f64),
    /// Exponential with this mean (seconds).
    Exp(f64),
    /// Lognormal.
    LogNormal(LogNormal<f64>),
    /// Gamma.
    Gamma(Gamma<f64>),
    /// One of these seconds, each equally likely (one uniform draw).
    Empirical(Arc<[f64]>),
    /// A histogram: bucket by count, uniform inside (one uniform draw).
    Histogram(crate::scenario::data::Buckets),
}

impl Sampler {
    /// A sampler for `service`. Means and standard deviations are of the time itself.
    pub fn new(service: &Service) -> Sampler {
        match *service {
            Service::Empirical(ref s) => Sampler::Empirical(s.values.clone()),
            Service::Histogram(ref b) => Sampler::Histogram(b.clone()),
            Service::Constant(v) => Sampler::Constant(v),
            Service::Uniform(a, b) => Sampler::Uniform(a, b),
            Service::Exponential(m) => Sampler::Exp(m),
            Service::LogNormal(m, s) => {
                let sigma2 = (1.0 + (s / m).powi(2)).ln();
                let mu = m.ln() - sigma2 / 2.0;
                match LogNormal::new(mu, sigma2.sqrt()) {
                    Ok(d) => Sampler::LogNormal(d),
                    Err(_) => Sampler::Constant(m),
                }
            }
            Service::Gamma(m, s) => {
                let shape = (m / s).powi(2);
                let scale = s * s / m;
                match Gamma::new(shape, scale) {
                    Ok(d) => Sampler::Gamma(d),
                    Err(_) => Sampler::Constant(m),
                }
            }
        }
    }

    /// One draw, in nanoseconds.
    #[inline]
    pub fn sample(&self, rng: &mut Rng) -> Nanos {
        let secs = match self {
            Sampler::Constant(v) => *v,
            Sampler::Uniform(a, b) => a + uniform(rng) * (b - a),
            Sampler::Exp(m) => {
                let e: f64 = rng.sample(Exp1);
                e * m
            }
            Sampler::LogNormal(d) => d.sample(rng),
            Sampler::Gamma(d) => d.sample(rng),
            Sampler::Empirical(v) => {
                let i = index_below(uniform(rng) * v.len() as f64, v.len());
                v[i]
            }
            Sampler::Histogram(b) => b.at(uniform(rng)),
        };
        secs_to_ns(secs)
    }
}

/// An exponential gap with `rate` per second, in nanoseconds (at least 1 ns).
#[inline]
pub(crate) fn exp_gap(rng: &mut Rng, rate: f64) -> Nanos {
    let e: f64 = rng.sample(Exp1);
    secs_to_ns(e / rate).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let mut a = stream(7, Stream::Service);
        let mut b = stream(7, Stream::Service);
        let mut c = stream(7, Stream::Failure);
        let xa: Vec<u64> = (0..4).map(|_| a.next_u64()).collect();
        let xb: Vec<u64> = (0..4).map(|_| b.next_u64()).collect();
        let xc: Vec<u64> = (0..4).map(|_| c.next_u64()).collect();
        assert_eq!(xa, xb);
        assert_ne!(xa, xc);
    }

    #[test]
    fn the_stream_is_pinned() {
        // If this changes, every published result changes: it must not, across versions.
        let mut r = stream(1, Stream::Arrivals(0));
        assert_eq!(r.next_u64(), PINNED);
    }
    const PINNED: u64 = 14354805122349058705;

    fn mean_sd(s: &Service) -> (f64, f64) {
        let sampler = Sampler::new(s);
        let mut rng = stream(3, Stream::Service);
        let n = 200_000;
        let xs: Vec<f64> = (0..n)
            .map(|_| sampler.sample(&mut rng) as f64 / 1e9)
            .collect();
        let m = xs.iter().sum::<f64>() / n as f64;
        let v = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1) as f64;
        (m, v.sqrt())
    }

    #[test]
    fn samplers_have_the_requested_moments() {
        for s in [
            Service::Exponential(0.04),
            Service::LogNormal(0.05, 0.15),
            Service::Gamma(0.2, 0.1),
            Service::Uniform(0.02, 0.1),
        ] {
            let (m, sd) = mean_sd(&s);
            assert!((m / s.mean() - 1.0).abs() < 0.03, "{s:?}: mean {m}");
            assert!((sd / s.stddev() - 1.0).abs() < 0.12, "{s:?}: sd {sd}");
        }
        assert_eq!(
            Sampler::new(&Service::Constant(0.05)).sample(&mut stream(1, Stream::Service)),
            50_000_000
        );
    }
}
