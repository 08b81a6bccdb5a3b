//! Findings: what happened in a run, in sentences written from its numbers.

use crate::convert::floor_u64;
use crate::metrics::recovery::{Disturbance, Kind, Part, RULE};
use crate::metrics::Summary;
use crate::time::human;
use crate::time::thousands;

fn pct(part: u64, whole: u64) -> String {
    if whole == 0 {
        "0%".into()
    } else {
        let p = 100.0 * part as f64 / whole as f64;
        if p > 0.0 && p < 0.1 {
            "<0.1%".into()
        } else {
            format!("{p:.1}%")
        }
    }
}

/// Sentences about one run, most important first.
pub fn sentences(s: &Summary) -> Vec<String> {
    let c = &s.counts;
    let mut out = Vec::new();
    for d in &s.recovery {
        out.push(disturbance(d, s.simulated_seconds));
    }
    if let Some(f) = &s.fanout {
        out.push(format!(
            "The topic copied {} published messages to {} subscribers ({} copies); the figures here add up every copy. Each subscriber has its own queue and consumers, so one falling behind delays only its own copies:",
            thousands(f.published),
            f.subscribers,
            thousands(f.deliveries)
        ));
        for sub in &s.subscribers {
            let x = &sub.summary;
            let mut line = format!(
                "{}: end-to-end p99 {}, oldest message waited {}, consumers busy {:.0}%",
                sub.name,
                x.latency
                    .end_to_end
                    .p99
                    .map(human)
                    .unwrap_or_else(|| "-".into()),
                human(x.queue.max_oldest_age),
                100.0 * x.consumers.utilization
            );
            let lost = x.counts.rejected + x.counts.dropped + x.counts.expired;
            if x.counts.dead_lettered + lost > 0 {
                line.push_str(&format!(
                    "; {} dead-lettered, {} refused, dropped or expired",
                    thousands(x.counts.dead_lettered),
                    thousands(lost)
                ));
            }
            if x.recovery.iter().any(|d| !d.recovered) {
                line.push_str("; it did NOT recover by the end of the run");
            }
            line.push('.');
            out.push(line);
        }
    }
    if s.client.mode == "async" {
        let max = s
            .latency
            .client
            .max
            .map(human)
            .unwrap_or_else(|| "0s".into());
        let mut line = if c.rejected == 0 {
            format!("Callers waited at most {max} and were never refused")
        } else {
            format!(
                "Callers waited at most {max}, but {} messages ({}) were refused because the queue was full",
                thousands(c.rejected),
                pct(c.rejected, c.produced)
            )
        };
        if c.blocked_at_end > 0 {
            line.push_str(&format!(
                "; {} callers were still blocked on the full queue when the run ended",
                thousands(c.blocked_at_end)
            ));
        }
        line.push('.');
        out.push(line);
    } else {
        let bad = s.client.errors + s.client.timeouts;
        out.push(format!(
            "Sync callers waited up to {} (p99 {}); {} of them ({}) got an error or gave up.",
            s.latency
                .client
                .max
                .map(human)
                .unwrap_or_else(|| "0s".into()),
            s.latency
                .client
                .p99
                .map(human)
                .unwrap_or_else(|| "-".into()),
            thousands(bad),
            pct(bad, c.produced)
        ));
    }
    if let (Some(p50), Some(p99), Some(max)) = (
        s.latency.end_to_end.p50,
        s.latency.end_to_end.p99,
        s.latency.end_to_end.max,
    ) {
        out.push(format!(
            "End to end, half the messages were processed within {}, 99% within {}; the slowest took {}.",
            human(p50),
            human(p99),
            human(max)
        ));
    }
    if c.dead_lettered + c.failed + c.dropped > 0 {
        out.push(format!(
            "{} messages went to the dead-letter queue, {} failed outright and {} were evicted by drop-oldest.",
            thousands(c.dead_lettered),
            thousands(c.failed),
            thousands(c.dropped)
        ));
    }
    if s.rates.retry_amplification > 1.05 && c.retries + c.redeliveries > 0 {
        out.push(format!(
            "The work multiplied: {:.2} processing attempts per message attempted, from {} retries and {} redeliveries.",
            s.rates.retry_amplification,
            thousands(c.retries),
            thousands(c.redeliveries)
        ));
    }
    if c.abandoned_work > 0 {
        out.push(format!(
            "The servers finished {} calls for callers who had already given up on them (timed out, or moved on to a retry): work done for nobody.",
            thousands(c.abandoned_work)
        ));
    }
    if s.classes.len() > 1 {
        let parts: Vec<String> = s
            .classes
            .iter()
            .map(|cl| {
                format!(
                    "priority {}: p99 {}",
                    cl.priority,
                    cl.end_to_end.p99.map(human).unwrap_or_else(|| "-".into())
                )
            })
            .collect();
        out.push(format!(
            "By priority tier, end to end: {}.",
            parts.join("; ")
        ));
    }
    if c.scale_outs + c.scale_ins > 0 {
        out.push(format!(
            "Autoscaling grew the pool to {} consumers and back ({} scale-outs, {} scale-ins); {:.1} consumers on average.",
            s.consumers.max_count, c.scale_outs, c.scale_ins, s.consumers.mean_count
        ));
    }
    if c.expired > 0 {
        out.push(format!(
            "{} messages ({}) expired after waiting longer than their TTL.",
            thousands(c.expired),
            pct(c.expired, c.produced)
        ));
    }
    if c.poison > 0 {
        out.push(format!(
            "{} poison messages failed every attempt; the dead-letter queue took {} messages in all.",
            thousands(c.poison),
            thousands(c.dead_lettered)
        ));
    }
    if c.out_of_order > 0 {
        out.push(format!(
            "{} messages ({}) were processed after a later message with the same key: per-key order was not kept.",
            thousands(c.out_of_order),
            pct(c.out_of_order, c.completed)
        ));
    }
    if let Some(lag) = s.broker.max_partition_lag {
        out.push(format!(
            "On {} partitions, the most messages waiting in one partition was {} (consumer lag); at the end, {}.",
            s.broker.lanes.unwrap_or(0),
            thousands(lag),
            thousands(s.broker.partition_lag_at_end.unwrap_or(0))
        ));
    }
    if c.retries_denied > 0 {
        out.push(format!(
            "The retry budget refused {} retries, capping the extra load at the cost of those messages.",
            thousands(c.retries_denied)
        ));
    }
    if let Some(cost) = &s.cost {
        out.push(format!(
            "The run would cost {:.2}: {:.1} consumer-hours and {} requests.",
            cost.total,
            cost.consumer_hours,
            thousands(cost.requests)
        ));
    }
    if s.client.mode == "sync" {
        if c.duplicates > 0 {
            out.push(format!(
                "{} requests took effect more than once: their callers gave up on a call that the server still finished, and the retry took effect too.",
                thousands(c.duplicates)
            ));
        }
    } else {
        let from_crashes = c.duplicates.saturating_sub(c.duplicate_copies);
        if c.crashes > 0 {
            out.push(if from_crashes > 0 {
                format!(
                    "{} consumers crashed after the side effect and before the ack, so their messages were delivered again: {} side effects were performed a second time.",
                    thousands(c.crashes),
                    thousands(from_crashes)
                )
            } else {
                format!(
                    "{} consumers crashed after the side effect and before the ack, so their messages were delivered again; no side effect was repeated (the consumers are idempotent, or the redelivered messages did not succeed).",
                    thousands(c.crashes)
                )
            });
        }
        if c.duplicate_copies > 0 {
            out.push(format!(
                "{} side effects were performed for a second copy a producer published (a retry after a lost ack).",
                thousands(c.duplicate_copies)
            ));
        }
    }
    out.push(format!(
        "Consumers were busy {:.0}% of the time{}.",
        100.0 * s.consumers.utilization,
        if s.consumers.backoff_fraction > 0.0 {
            format!(
                ", {:.0}% of it asleep in inline backoffs",
                100.0 * s.consumers.backoff_fraction
            )
        } else {
            String::new()
        }
    ));
    out
}

fn part_name(p: &Part) -> String {
    let (a, b) = (human(p.start), human(p.end));
    match p.kind {
        Kind::Spike => format!("the traffic spike from {a} to {b}"),
        Kind::Outage => format!("the outage of the downstream from {a} to {b}"),
        Kind::Slowdown => format!("the slowdown of the downstream from {a} to {b}"),
        Kind::Deploy => format!("the deploy that stopped the consumers from {a} to {b}"),
        Kind::Restart => "the restart into a waiting backlog".to_string(),
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// The sentence about one recovery entry.
fn disturbance(d: &Disturbance, run_end: f64) -> String {
    let names: Vec<String> = d.parts.iter().map(part_name).collect();
    let what = if names.len() > 1 {
        format!(
            "{}, which overlapped (each began before the backlog of the one before was back to normal),",
            names.join(" and ")
        )
    } else {
        names.into_iter().next().unwrap_or_default()
    };
    let what = capitalised(&what);
    let mut line = if d.built_backlog() || !d.recovered {
        format!(
            "{what} raised the backlog from {:.0} to {} messages; the oldest waited {}.",
            d.baseline_backlog,
            thousands(d.peak_backlog),
            human(d.peak_oldest_age)
        )
    } else {
        format!("{what} built no backlog.")
    };
    match d.drain_seconds {
        Some(t) if d.built_backlog() => {
            line.push_str(&format!(
                " It was back to normal ({RULE}: here at most {}) {} after it ended",
                thousands(floor_u64(d.normal_level)),
                human(t)
            ));
            let level = d.baseline_backlog.floor();
            match d.empty_seconds {
                Some(e) if level < 1.0 => line.push_str(&format!(", and empty {} after.", human(e))),
                Some(e) => line.push_str(&format!(
                    ", and down to the level before ({}) {} after.",
                    thousands(floor_u64(level)),
                    human(e)
                )),
                None => line.push_str(", but not back down to the level before by the end of the run."),
            }
        }
        Some(_) => {}
        None => line.push_str(&format!(
            " The backlog was still not back to normal ({RULE}: at most {}) when the run ended at {}: the system did not recover.",
            thousands(floor_u64(d.normal_level)),
            human(run_end)
        )),
    }
    if d.retries > 0 || d.dead_lettered > 0 {
        line.push_str(&format!(
            " Meanwhile {} retries were scheduled and {} messages went to the dead-letter queue.",
            thousands(d.retries),
            thousands(d.dead_lettered)
        ));
    }
    line
}
