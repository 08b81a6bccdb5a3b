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

use super::{cdf, RunResult};
use crate::guard::Limits;
use crate::metrics::recorder::{Context, Tally};
use crate::metrics::summary::*;
use crate::metrics::timeseries::merge_rows;
use crate::metrics::{Row, Summary};
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

/// The subscribers' results added up: their tallies merged ([`Tally::merge`]) and
/// summarised by the same function as a single run, plus the fan-out figures and each
/// subscriber's own summary.
fn totals(s: &Scenario, subs: Vec<(String, RunResult)>) -> RunResult {
    let sums: Vec<&Summary> = subs.iter().map(|(_, r)| &r.summary).collect();
    let mut tiers: Vec<u8> = s.producers.iter().map(|p| p.priority).collect();
    tiers.sort_unstable();
    tiers.dedup();
    let sub_tier: Vec<u8> = s
        .subscribers
        .iter()
        .map(|sub| sub.run.producers.first().map_or(0, |p| p.priority))
        .collect();
    let tallies: Vec<&Tally> = subs.iter().map(|(_, r)| &r.tally).collect();
    let tally = Tally::merge(&tallies, tiers.len() > 1, &sub_tier);
    let rows: Vec<Row> = {
        let groups: Vec<&[Row]> = subs.iter().map(|(_, r)| r.rows.as_slice()).collect();
        merge_rows(&groups)
    };

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

    let mut broker = sums[0].broker.clone();
    for x in &sums[1..] {
        broker.merge(&x.broker);
    }
    let mut cost: Option<CostStats> = None;
    for c in sums.iter().filter_map(|x| x.cost.as_ref()) {
        match &mut cost {
            Some(total) => total.merge(c),
            None => cost = Some(c.clone()),
        }
    }
    let ts = totals_scenario(s);
    let mut summary = tally.summary(
        &rows,
        Context {
            scenario: &ts,
            capacity: sums.iter().map(|x| x.queue.capacity).sum::<Option<u64>>(),
            sync: false,
            events: sums.iter().map(|x| x.events).sum(),
            stopped: sums.iter().find_map(|x| x.stopped.clone()),
            broker,
            cost,
        },
    );
    summary.fanout = Some(FanoutStats {
        subscribers: u32::try_from(subs.len()).unwrap_or(u32::MAX),
        published: published.iter().map(|(_, n)| n).sum(),
        deliveries,
    });
    summary.subscribers = s
        .subscribers
        .iter()
        .zip(&subs)
        .map(|(sub, (_, r))| SubscriberSummary {
            name: sub.name.clone(),
            producers: sub.producers.clone(),
            summary: r.summary.clone(),
        })
        .collect();
    // The first subscriber that stopped early says why the totals did.
    let stop = subs.iter().find_map(|(_, r)| r.stop.clone());
    RunResult {
        summary,
        rows,
        e2e_cdf: cdf(&tally.e2e),
        client_cdf: cdf(&tally.client),
        produced_by: published,
        tally,
        subscribers: subs,
        stop,
    }
}
