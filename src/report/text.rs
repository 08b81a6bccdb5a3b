//! The text printed by `queuelab run`: one summary, or variants side by side.

use crate::metrics::recovery::{self, Disturbance, Kind, Part};
use crate::metrics::{LatencyStats, Summary};
use crate::theory::Prediction;
use crate::time::human;
use std::fmt::Write;

pub use crate::time::thousands;

fn opt_time(x: Option<f64>) -> String {
    x.map(human).unwrap_or_else(|| "-".into())
}

fn latency_line(out: &mut String, name: &str, l: &LatencyStats) {
    let _ = writeln!(
        out,
        "    {name:<12}{:>11}{:>10}{:>10}{:>10}{:>10}{:>10}{:>10}",
        thousands(l.count),
        opt_time(l.mean),
        opt_time(l.p50),
        opt_time(l.p90),
        opt_time(l.p99),
        opt_time(l.p999),
        opt_time(l.max)
    );
}

/// What a disturbance entry was, with when: "traffic spike 2m 00s–4m 00s", or several
/// overlapping ones joined with " + ".
pub fn disturbance_what(d: &Disturbance) -> String {
    let part = |p: &Part| match p.kind {
        Kind::Restart => format!("{} at 0s", p.kind.label()),
        k => format!("{} {}–{}", k.label(), human(p.start), human(p.end)),
    };
    let names: Vec<String> = d.parts.iter().map(part).collect();
    if names.len() > 1 {
        format!(
            "{} (measured together: each began before the backlog of the one before was back to normal)",
            names.join(" + ")
        )
    } else {
        names.into_iter().next().unwrap_or_default()
    }
}

/// The verdict on a disturbance entry's backlog: no backlog, back to normal (and empty), or
/// not recovered. The rule is [`recovery::RULE`], printed below the lines.
pub fn verdict(d: &Disturbance) -> String {
    if !d.built_backlog() && d.recovered {
        return "no backlog built up".into();
    }
    match d.drain_seconds {
        None => format!(
            "NOT back to normal (<= {}) by the end of the run",
            thousands(d.normal_level.floor() as u64)
        ),
        Some(t) => {
            let level = d.baseline_backlog.floor();
            let empty = match d.empty_seconds {
                Some(e) if level < 1.0 => format!("empty {} after it ended", human(e)),
                Some(e) => format!(
                    "down to the level before ({}) {} after it ended",
                    thousands(level as u64),
                    human(e)
                ),
                None if level < 1.0 => "not empty by the end of the run".into(),
                None => format!(
                    "not down to the level before ({}) by the end of the run",
                    thousands(level as u64)
                ),
            };
            format!(
                "back to normal (<= {}) {} after it ended, {empty}",
                thousands(d.normal_level.floor() as u64),
                human(t)
            )
        }
    }
}

/// One line about a disturbance.
pub fn disturbance_line(d: &Disturbance) -> String {
    let mut line = if !d.built_backlog() && d.recovered {
        format!(
            "{}: no backlog built up (peak {}, level before {:.0})",
            disturbance_what(d),
            thousands(d.peak_backlog),
            d.baseline_backlog
        )
    } else {
        format!(
            "{}: backlog rose from {:.0} to {}, oldest waited {}; {}",
            disturbance_what(d),
            d.baseline_backlog,
            thousands(d.peak_backlog),
            human(d.peak_oldest_age),
            verdict(d)
        )
    };
    if d.retries > 0 || d.dead_lettered > 0 {
        line.push_str(&format!(
            " ({} retries, {} dead-lettered)",
            thousands(d.retries),
            thousands(d.dead_lettered)
        ));
    }
    if d.client_errors + d.client_timeouts > 0 {
        line.push_str(&format!(
            " ({} caller errors, {} timeouts)",
            thousands(d.client_errors),
            thousands(d.client_timeouts)
        ));
    }
    line
}

/// The summary of one run.
pub fn summary(s: &Summary, theory: Option<&Prediction>, files: &[String]) -> String {
    let mut o = String::new();
    let c = &s.counts;
    let title = match &s.variant {
        Some(v) => format!("{} / {v}", s.scenario),
        None => s.scenario.clone(),
    };
    let _ = writeln!(
        o,
        "{title} (seed {}): {} simulated, {} events in {:.2}s",
        s.seed,
        human(s.simulated_seconds),
        thousands(s.events),
        s.wall_seconds
    );
    let _ = writeln!(
        o,
        "  messages    produced {} · accepted {} · completed {} · rejected {} · dropped {}",
        thousands(c.produced),
        thousands(c.accepted),
        thousands(c.completed),
        thousands(c.rejected),
        thousands(c.dropped)
    );
    let _ = writeln!(
        o,
        "              dead-lettered {} · failed {} · at the end: {} queued, {} in flight, {} in backoff{}",
        thousands(c.dead_lettered),
        thousands(c.failed),
        thousands(c.in_queue_at_end),
        thousands(c.in_flight_at_end),
        thousands(c.retry_waiting_at_end),
        if c.blocked_at_end > 0 {
            format!(", {} blocked callers", thousands(c.blocked_at_end))
        } else {
            String::new()
        }
    );
    if c.attempts > c.produced || c.retries > 0 || c.redeliveries > 0 || c.abandoned_work > 0 {
        let _ = writeln!(
            o,
            "  attempts    {} ({} failed, {} timed out) · retries {} · redeliveries {} · duplicates {} · abandoned work {}",
            thousands(c.attempts),
            thousands(c.failed_attempts),
            thousands(c.attempt_timeouts),
            thousands(c.retries),
            thousands(c.redeliveries),
            thousands(c.duplicates),
            thousands(c.abandoned_work)
        );
    }
    let _ = writeln!(
        o,
        "  latency           count      mean       p50       p90       p99      p999       max"
    );
    latency_line(&mut o, "end-to-end", &s.latency.end_to_end);
    latency_line(&mut o, "queue wait", &s.latency.queue_wait);
    latency_line(&mut o, "caller", &s.latency.client);
    let _ = writeln!(
        o,
        "  queue       mean depth {:.1} · max depth {} · oldest message waited up to {}",
        s.queue.mean_depth,
        thousands(s.queue.max_depth),
        human(s.queue.max_oldest_age)
    );
    let _ = writeln!(
        o,
        "  consumers   {} · utilization {:.1}%{}",
        s.consumers.count,
        100.0 * s.consumers.utilization,
        if s.consumers.backoff_fraction > 0.0 {
            format!(
                " (of which {:.1}% sleeping out retries)",
                100.0 * s.consumers.backoff_fraction
            )
        } else {
            String::new()
        }
    );
    if c.scale_outs + c.scale_ins > 0 {
        let _ = writeln!(
            o,
            "  autoscale   {} scale-outs, {} scale-ins · up to {} consumers, {:.1} on average",
            c.scale_outs, c.scale_ins, s.consumers.max_count, s.consumers.mean_count
        );
    }
    let _ = writeln!(
        o,
        "  callers     {} · ok {} · errors {} · timeouts {}",
        s.client.mode,
        thousands(s.client.ok),
        thousands(s.client.errors),
        thousands(s.client.timeouts)
    );
    let _ = writeln!(
        o,
        "  rates       offered {:.1}/s · throughput {:.1}/s · goodput {:.1}/s · {:.2} attempts per attempted message",
        s.rates.offered, s.rates.throughput, s.rates.goodput, s.rates.retry_amplification
    );
    if c.expired + c.poison + c.retries_denied + c.breaker_opens > 0 {
        let _ = writeln!(
            o,
            "  also        expired (TTL) {} · poison messages {} · retries denied by the budget {} · breaker opened {} times, failed {} calls fast",
            thousands(c.expired),
            thousands(c.poison),
            thousands(c.retries_denied),
            thousands(c.breaker_opens),
            thousands(c.breaker_rejections)
        );
    }
    if s.broker.kind != "generic" || c.out_of_order > 0 {
        let mut line = format!(
            "  broker      {} · {} processed out of their key's order",
            s.broker.kind,
            thousands(c.out_of_order)
        );
        if let (Some(lanes), Some(lag)) = (s.broker.lanes, s.broker.max_partition_lag) {
            line.push_str(&format!(
                " · {lanes} partitions, lag up to {} in one partition",
                thousands(lag)
            ));
        } else if let Some(lanes) = s.broker.lanes {
            line.push_str(&format!(" · {lanes} message groups"));
        }
        let _ = writeln!(o, "{line}");
    }
    if let Some(cost) = &s.cost {
        let _ = writeln!(
            o,
            "  cost        {:.2} ({:.1} consumer-hours, {} requests)",
            cost.total,
            cost.consumer_hours,
            thousands(cost.requests)
        );
    }
    for cl in &s.classes {
        let _ = writeln!(
            o,
            "  priority {}  produced {} · completed {} · end-to-end p50 {} p99 {} max {}",
            cl.priority,
            thousands(cl.produced),
            thousands(cl.completed),
            opt_time(cl.end_to_end.p50),
            opt_time(cl.end_to_end.p99),
            opt_time(cl.end_to_end.max)
        );
    }
    for d in &s.recovery {
        let _ = writeln!(o, "  recovery    {}", disturbance_line(d));
    }
    if !s.recovery.is_empty() {
        let _ = writeln!(
            o,
            "              ({}; empty = down to the level before, rounded down)",
            recovery::RULE
        );
    }
    if let Some(t) = theory {
        theory_lines(&mut o, s, t);
    }
    if let Some(g) = &s.gg_approximation {
        let _ = writeln!(o, "  G/G theory  {}", g.sentence);
    }
    let _ = writeln!(
        o,
        "  check       conservation {} (produced = fates + still in the system{})",
        if s.conservation.holds {
            "holds"
        } else {
            "BROKEN"
        },
        if s.conservation.holds {
            String::new()
        } else {
            format!(", gap {}", s.conservation.gap)
        }
    );
    if let Some(f) = &s.fanout {
        let _ = writeln!(
            o,
            "  fan-out     {} messages published, {} copies to {} subscribers (the figures above add up every copy)",
            thousands(f.published),
            thousands(f.deliveries),
            f.subscribers
        );
        let names: Vec<String> = s.subscribers.iter().map(|x| x.name.clone()).collect();
        let subs: Vec<&Summary> = s.subscribers.iter().map(|x| &x.summary).collect();
        o.push_str(&table(&names, &subs));
    }
    if !files.is_empty() {
        let _ = writeln!(o, "  files       {}", files.join(", "));
    }
    o
}

fn theory_lines(o: &mut String, s: &Summary, t: &Prediction) {
    let _ = writeln!(o, "  theory says {} at rho = {:.3}:", t.model, t.rho);
    let row = |name: &str, theory: Option<f64>, sim: Option<f64>| {
        format!(
            "              {name:<22} theory {:>12}   simulated {:>12}\n",
            theory.map(|x| format!("{x:.4}")).unwrap_or("-".into()),
            sim.map(|x| format!("{x:.4}")).unwrap_or("-".into())
        )
    };
    o.push_str(&row(
        "mean queue wait (s)",
        t.wq_mean,
        s.latency.queue_wait.mean,
    ));
    o.push_str(&row(
        "mean time in system (s)",
        t.w_mean,
        s.latency.end_to_end.mean,
    ));
    o.push_str(&row(
        "mean queue depth",
        t.lq_mean,
        Some(s.queue.mean_depth),
    ));
    o.push_str(&row(
        "utilization",
        Some(t.utilization),
        Some(s.consumers.utilization),
    ));
    let pb = if s.counts.produced > 0 {
        Some(s.counts.rejected as f64 / s.counts.produced as f64)
    } else {
        None
    };
    o.push_str(&row("rejected fraction", Some(t.p_block), pb));
    if !t.stable {
        let _ = writeln!(o, "              warning: rho >= 1: this queue has no steady state; it grows without bound");
    } else if t.rho > 0.95 {
        let _ = writeln!(
            o,
            "              warning: rho is close to 1: steady state takes very long runs to reach"
        );
    }
    let served = s.latency.end_to_end.count;
    if t.stable
        && t.rho < 1.0
        && served > 0
        && (served as f64) < 1e5 * (1.0 / (1.0 - t.rho.min(0.99))).powi(2) / 100.0
    {
        let _ = writeln!(o, "              warning: the run is short for this load: expect differences of several percent");
    }
}

/// Variants side by side.
pub fn comparison(summaries: &[&crate::metrics::Summary]) -> String {
    let names: Vec<String> = summaries
        .iter()
        .map(|s| s.variant.clone().unwrap_or_default())
        .collect();
    table(&names, summaries)
}

/// Summaries side by side under the column names `names`.
fn table(names: &[String], summaries: &[&Summary]) -> String {
    let mut o = String::new();
    let width = names.iter().map(|n| n.len()).max().unwrap_or(0).max(12) + 2;
    let _ = write!(o, "  {:<26}", "");
    for n in names {
        let _ = write!(o, "{n:>width$}");
    }
    o.push('\n');
    type Getter = Box<dyn Fn(&Summary) -> String>;
    let rows: Vec<(&str, Getter)> = vec![
        (
            "published",
            Box::new(|s| thousands(s.fanout.as_ref().map_or(s.counts.produced, |f| f.published))),
        ),
        ("produced", Box::new(|s| thousands(s.counts.produced))),
        ("completed", Box::new(|s| thousands(s.counts.completed))),
        ("rejected", Box::new(|s| thousands(s.counts.rejected))),
        (
            "dead-lettered",
            Box::new(|s| thousands(s.counts.dead_lettered)),
        ),
        ("failed", Box::new(|s| thousands(s.counts.failed))),
        ("retries", Box::new(|s| thousands(s.counts.retries))),
        ("duplicates", Box::new(|s| thousands(s.counts.duplicates))),
        (
            "out of key order",
            Box::new(|s| thousands(s.counts.out_of_order)),
        ),
        (
            "end-to-end p50",
            Box::new(|s| opt_time(s.latency.end_to_end.p50)),
        ),
        (
            "end-to-end p99",
            Box::new(|s| opt_time(s.latency.end_to_end.p99)),
        ),
        ("caller p50", Box::new(|s| opt_time(s.latency.client.p50))),
        ("caller p99", Box::new(|s| opt_time(s.latency.client.p99))),
        ("caller max", Box::new(|s| opt_time(s.latency.client.max))),
        (
            "caller errors+timeouts",
            Box::new(|s| thousands(s.client.errors + s.client.timeouts)),
        ),
        (
            "max queue depth",
            Box::new(|s| thousands(s.queue.max_depth)),
        ),
        (
            "oldest message waited",
            Box::new(|s| human(s.queue.max_oldest_age)),
        ),
        (
            "utilization",
            Box::new(|s| format!("{:.1}%", 100.0 * s.consumers.utilization)),
        ),
        (
            "consumers (mean / max)",
            Box::new(|s| format!("{:.1} / {}", s.consumers.mean_count, s.consumers.max_count)),
        ),
        (
            "attempts per attempted message",
            Box::new(|s| format!("{:.2}", s.rates.retry_amplification)),
        ),
        (
            "back to normal (10% rule)",
            Box::new(|s| {
                if s.recovery.is_empty() {
                    "-".into()
                } else if s.recovery.iter().all(|d| d.recovered) {
                    "yes".into()
                } else {
                    "NO".into()
                }
            }),
        ),
    ];
    // "published" differs from "produced" only with fan-out (which counts every copy).
    let fanout = summaries.iter().any(|s| s.fanout.is_some());
    let keyed = summaries
        .iter()
        .any(|s| s.counts.out_of_order > 0 || s.broker.kind != "generic");
    for (label, get) in rows {
        if (label == "published" && !fanout) || (label == "out of key order" && !keyed) {
            continue;
        }
        let _ = write!(o, "  {label:<26}");
        for s in summaries {
            let _ = write!(o, "{:>width$}", get(s));
        }
        o.push('\n');
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
