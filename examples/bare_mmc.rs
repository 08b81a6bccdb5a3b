//! The baseline queuelab's speed is measured against: the barest M/M/c event loop one
//! would write in Rust (a binary heap of (time, sequence) events, a FIFO of arrival times,
//! exponential draws from the same generator queuelab uses, a running sum of waits), with
//! no scenario, no metrics beyond the mean wait, no time series and no output files.
//!
//! ```text
//! cargo run --release --example bare_mmc                  # M/M/4 at rho 0.9, 10 M messages
//! cargo run --release --example bare_mmc -- 10000000 4 0.9 1ms
//! ```
//!
//! It prints events/s and the mean wait (for M/M/4 at rho 0.9 with 1 ms service, Erlang C
//! gives Wq = C(4, 3.6) / (4 mu - lambda) = 0.7455 / 400 per s = 1.86 ms), so a broken
//! baseline shows.
//! `scripts/perf.sh` runs it and `queuelab run` on the same M/M/4 interleaved.

use rand::SeedableRng;
use rand_distr::{Distribution, Exp1};
use rand_xoshiro::Xoshiro256PlusPlus;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let messages: u64 = args
        .next()
        .and_then(|a| a.parse::<f64>().ok())
        .map_or(10_000_000, |x| x as u64);
    let c: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(4);
    let rho: f64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(0.9);
    let mean_s = 1e-3;
    let lambda = rho * f64::from(c) / mean_s;
    let started = Instant::now();
    let mut arrivals = Xoshiro256PlusPlus::seed_from_u64(1);
    let mut service = Xoshiro256PlusPlus::seed_from_u64(2);
    let exp_ns = |rng: &mut Xoshiro256PlusPlus, mean_ns: f64| -> u64 {
        let x: f64 = Exp1.sample(rng);
        (x * mean_ns).round() as u64
    };
    // Events: (time ns, sequence, kind): kind 0 = arrival, 1 = a consumer finishes.
    let mut heap: BinaryHeap<Reverse<(u64, u64, u8)>> = BinaryHeap::new();
    let mut seq = 0u64;
    let mut waiting: VecDeque<u64> = VecDeque::new();
    let mut idle = c;
    let (mut produced, mut events, mut waits, mut wait_sum) = (0u64, 0u64, 0u64, 0u128);
    heap.push(Reverse((exp_ns(&mut arrivals, 1e9 / lambda), seq, 0)));
    while let Some(Reverse((now, _, kind))) = heap.pop() {
        events += 1;
        if kind == 0 {
            produced += 1;
            if produced < messages {
                seq += 1;
                heap.push(Reverse((now + exp_ns(&mut arrivals, 1e9 / lambda), seq, 0)));
            }
            if idle > 0 {
                idle -= 1;
                waits += 1;
                seq += 1;
                heap.push(Reverse((now + exp_ns(&mut service, mean_s * 1e9), seq, 1)));
            } else {
                waiting.push_back(now);
            }
        } else if let Some(t) = waiting.pop_front() {
            waits += 1;
            wait_sum += u128::from(now - t);
            seq += 1;
            heap.push(Reverse((now + exp_ns(&mut service, mean_s * 1e9), seq, 1)));
        } else {
            idle += 1;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "bare M/M/{c} rho {rho}: {produced} messages, {events} events in {secs:.2}s = {:.1} M events/s; mean wait {:.3} ms",
        events as f64 / secs / 1e6,
        wait_sum as f64 / waits.max(1) as f64 / 1e6
    );
}
