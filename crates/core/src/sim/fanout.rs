//! Fan-out: a topic copies each published message to every subscriber that takes its
//! producer, and each subscriber has its own queue and consumer group.
//!
//! Subscribers never wait for one another: a topic stores the message and answers the
//! caller at once, and a full subscriber queue refuses only its own copy (`block` is
//! refused for subscribers). Given the arrivals they are independent, so each runs as a
//! simulation of its own over the same arrival streams (every subscriber sees the same
//! messages at the same instants) with its own consumer-side streams; the totals then add
//! them up: counts, means and rates add, latency histograms merge, maxima are the largest
//! of any subscriber. One slow subscriber cannot hold back the others, by construction
//! and by test.

use super::{cdf, class_stats, Hists, RunResult};
use crate::guard::Limits;
use crate::metrics::summary::*;
use crate::metrics::timeseries::merge_rows;
use crate::metrics::{recovery, Counts, LatencyRecorder, Row, Summary};
use crate::scenario::Scenario;
#[cfg(feature = "parallel")]
use rayon::prelude::*;

/// Runs every subscriber of `s` and adds them up.
pub(super) fn run(s: &Scenario, limits: &Limits) -> RunResult {
    // The memory budget is shared: each subscriber gets its part.
    let share = Limits {
        max_waiting: (limits.max_waiting / s.subscribers.len().max(1) as u64).max(1),
    };
    let one =
        |sub: &crate::scenario::Subscriber| (sub.name.clone(), super::run_with(&sub.run, &share));
    // Results are collected in file order either way, so both paths give the same bytes.
    #[cfg(feature = "parallel")]
    let subs: Vec<(String, RunResult)> = s.subscribers.par_iter().map(one).collect();
    #[cfg(not(feature = "parallel"))]
    let subs: Vec<(String, RunResult)> = s.subscribers.iter().map(one).collect();
    totals(s, subs)
}

/// The scenario the totals are drawn against: the file's, with every subscriber's
/// outages (a disturbance of any subscriber is one of the whole).
pub fn totals_scenario(s: &Scenario) -> Scenario {
    let mut t = s.clone();
    let mut outages: Vec<_> = s
        .subscribers
        .iter()
        .flat_map(|sub| sub.run.downstream.outages.iter().copied())
        .collect();
    outages.sort_by_key(|o| (o.start, o.end));
    outages.dedup_by(|a, b| a.start == b.start && a.end == b.end);
    t.downstream.outages = outages;
    let mut down: Vec<_> = s
        .subscribers
        .iter()
        .flat_map(|sub| sub.run.consumers.down.iter().copied())
        .collect();
    down.sort_unstable();
    down.dedup();
    t.consumers.down = down;
    t.subscribers.clear();
    t
}

/// Merges the subscribers' histograms. Per-tier figures are kept when the file's
/// producers use more than one tier; a subscriber whose producers share one tier (a
/// dedicated queue per tier) adds all its messages to that tier.
fn merge_hists(s: &Scenario, subs: &[(String, RunResult)]) -> Hists {
    let mut tiers: Vec<u8> = s.producers.iter().map(|p| p.priority).collect();
    tiers.sort_unstable();
    tiers.dedup();
    let mut h = Hists {
        e2e: LatencyRecorder::new(3),
        wait: LatencyRecorder::new(3),
        client: LatencyRecorder::new(3),
        classes: if tiers.len() > 1 {
            (0..10)
                .map(|_| (0, 0, LatencyRecorder::new(3), LatencyRecorder::new(3)))
                .collect()
        } else {
            Vec::new()
        },
    };
    for (sub, (_, r)) in s.subscribers.iter().zip(subs) {
        h.e2e.merge(&r.hists.e2e);
        h.wait.merge(&r.hists.wait);
        h.client.merge(&r.hists.client);
        if h.classes.is_empty() {
            continue;
        }
        if r.hists.classes.is_empty() {
            // One tier in this subscriber (its warm backlog, if any, is tier 0 as always).
            let tier = sub.run.producers.first().map_or(0, |p| p.priority);
            let c = &r.summary.counts;
            let t = &mut h.classes[usize::from(tier)];
            t.0 += c.produced;
            t.1 += c.completed;
            t.2.merge(&r.hists.e2e);
            t.3.merge(&r.hists.wait);
        } else {
            for (t, c) in h.classes.iter_mut().zip(&r.hists.classes) {
                t.0 += c.0;
                t.1 += c.1;
                t.2.merge(&c.2);
                t.3.merge(&c.3);
            }
        }
    }
    h
}

fn totals(s: &Scenario, subs: Vec<(String, RunResult)>) -> RunResult {
    let hists = merge_hists(s, &subs);
    let sums: Vec<&Summary> = subs.iter().map(|(_, r)| &r.summary).collect();
    let mut c = Counts::default();
    for x in &sums {
        c.add(&x.counts);
    }
    let rows: Vec<Row> = {
        let groups: Vec<&[Row]> = subs.iter().map(|(_, r)| r.rows.as_slice()).collect();
        merge_rows(&groups)
    };
    let sum = |f: &dyn Fn(&Summary) -> f64| sums.iter().map(|x| f(x)).sum::<f64>();
    let max = |f: &dyn Fn(&Summary) -> f64| sums.iter().map(|x| f(x)).fold(0.0, f64::max);
    // Consumer-time weights (provisioned consumers on average).
    let weight = sum(&|x| x.consumers.mean_count).max(1e-9);
    let waits: Vec<u64> = subs.iter().map(|(_, r)| r.hists.wait.count()).collect();
    let waited: u64 = waits.iter().sum();

    // Published messages: each producer's count, from any subscriber that takes it.
    let mut published: Vec<(u32, u64)> = Vec::new();
    for (_, r) in &subs {
        for &(p, n) in &r.produced_by {
            if !published.iter().any(|(q, _)| *q == p) {
                published.push((p, n));
            }
        }
    }
    published.sort_unstable();
    let deliveries: u64 = subs
        .iter()
        .flat_map(|(_, r)| r.produced_by.iter().map(|(_, n)| n))
        .sum();

    let gap = c.conservation_gap();
    let ts = totals_scenario(s);
    let summary = Summary {
        scenario: s.name.clone(),
        variant: s.variant.clone(),
        seed: s.seed,
        simulated_seconds: max(&|x| x.simulated_seconds),
        events: sums.iter().map(|x| x.events).sum(),
        wall_seconds: 0.0,
        counts: c,
        latency: Latencies {
            end_to_end: hists.e2e.stats(),
            queue_wait: hists.wait.stats(),
            client: hists.client.stats(),
        },
        queue: QueueStats {
            capacity: sums.iter().map(|x| x.queue.capacity).sum::<Option<u64>>(),
            mean_depth: sum(&|x| x.queue.mean_depth),
            max_depth: sums.iter().map(|x| x.queue.max_depth).max().unwrap_or(0),
            max_oldest_age: max(&|x| x.queue.max_oldest_age),
            mean_in_system: sum(&|x| x.queue.mean_in_system),
            p_wait: (waited > 0).then(|| {
                sums.iter()
                    .zip(&waits)
                    .map(|(x, &n)| x.queue.p_wait.unwrap_or(0.0) * n as f64)
                    .sum::<f64>()
                    / waited as f64
            }),
        },
        consumers: ConsumerStats {
            count: sums.iter().map(|x| x.consumers.count).sum(),
            utilization: sum(&|x| x.consumers.utilization * x.consumers.mean_count) / weight,
            backoff_fraction: sum(&|x| x.consumers.backoff_fraction * x.consumers.mean_count)
                / weight,
            mean_count: sum(&|x| x.consumers.mean_count),
            max_count: sums.iter().map(|x| x.consumers.max_count).sum(),
        },
        client: ClientStats {
            mode: "async".to_string(),
            ok: sums.iter().map(|x| x.client.ok).sum(),
            errors: sums.iter().map(|x| x.client.errors).sum(),
            timeouts: sums.iter().map(|x| x.client.timeouts).sum(),
        },
        rates: Rates {
            offered: sum(&|x| x.rates.offered),
            throughput: sum(&|x| x.rates.throughput),
            goodput: sum(&|x| x.rates.goodput),
            retry_amplification: if c.produced == 0 {
                0.0
            } else {
                c.attempts as f64 / c.produced as f64
            },
        },
        recovery: recovery::analyse(&ts, &rows),
        conservation: Conservation {
            holds: gap == 0,
            gap: gap as i64,
        },
        stopped: sums.iter().find_map(|x| x.stopped.clone()),
        cost: sums
            .iter()
            .filter_map(|x| x.cost.clone())
            .reduce(|a, b| CostStats {
                consumer_hours: a.consumer_hours + b.consumer_hours,
                requests: a.requests + b.requests,
                total: a.total + b.total,
            }),
        classes: class_stats(&hists.classes),
        broker: {
            // Optional broker figures: the largest, or the sum, over the subscribers that have one.
            let each =
                |f: fn(&BrokerStats) -> Option<u64>| sums.iter().filter_map(move |x| f(&x.broker));
            BrokerStats {
                max_partition_lag: each(|b| b.max_partition_lag).max(),
                partition_lag_at_end: each(|b| b.partition_lag_at_end).max(),
                total_lag_at_end: each(|b| b.total_lag_at_end).reduce(|a, b| a + b),
                receives: each(|b| b.receives).reduce(|a, b| a + b),
                empty_receives: each(|b| b.empty_receives).reduce(|a, b| a + b),
                api_requests: each(|b| b.api_requests).reduce(|a, b| a + b),
                ..sums[0].broker.clone()
            }
        },
        fanout: Some(FanoutStats {
            subscribers: subs.len() as u32,
            published: published.iter().map(|(_, n)| n).sum(),
            deliveries,
        }),
        subscribers: s
            .subscribers
            .iter()
            .zip(&subs)
            .map(|(sub, (_, r))| SubscriberSummary {
                name: sub.name.clone(),
                producers: sub.producers.clone(),
                summary: r.summary.clone(),
            })
            .collect(),
    };
    RunResult {
        summary,
        rows,
        e2e_cdf: cdf(&hists.e2e),
        client_cdf: cdf(&hists.client),
        produced_by: published,
        hists,
        subscribers: subs,
    }
}
