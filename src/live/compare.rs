//! Model and measured side by side: each figure, its difference, and whether they agree.

use crate::metrics::Summary;

/// Latency tolerance, in wall milliseconds per delivery a message went through: the
/// broker's hand-off (publish to delivery with an idle consumer, p99 about 1.5 ms on the
/// 2-core machine) plus the timer's overshoot of a consumer's sleep (tokio's timer wheel
/// has a 1 ms tick: up to 1 ms late, p99 about 1.2 ms) plus the ack's round trip
/// (about 0.2 ms), rounded up. See the README, "Check the model against your broker".
pub const LATENCY_MS_PER_DELIVERY: f64 = 3.0;
/// On top of that, a share of the model's value: queueing turns a few ms of extra service
/// into a longer wait for the messages behind.
pub const LATENCY_RELATIVE: f64 = 0.10;
/// The tolerance of one live run: the reference machine's allowances above, widened by
/// what this run measured of its own clients, so a slower or busier machine is not taken
/// for a model that is wrong.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    /// Wall milliseconds per delivery: [`LATENCY_MS_PER_DELIVERY`] plus how much this
    /// run's median hand-off (publish to delivery to an idle consumer) exceeds the
    /// model's `publish_to_deliver`.
    pub per_delivery_ms: f64,
    /// Share of the model's value: [`LATENCY_RELATIVE`] plus the consumers' measured
    /// stretch amplified by queueing (see [`Tolerance::of`]).
    pub relative: f64,
    /// How much longer the consumers were busy than the model's sampled service times
    /// (measured utilisation over the model's, minus 1; at least 0).
    pub stretch: f64,
    /// The amplification applied to the stretch.
    pub amplification: f64,
}

impl Tolerance {
    /// The tolerance for a run: `utilization` is the consumers' (model, measured),
    /// `handoff_p50_ms` the measured median hand-off, `model_handoff_ms` the model's
    /// (`broker.publish_to_deliver`), both in wall milliseconds.
    ///
    /// A consumer that is busy `stretch` longer per message than its sampled service time
    /// (a sleep that overshoots, an ack that waits for a lock) lengthens its own service
    /// and the wait of every message behind it. In M/M/1 the wait `W = S rho / (1 - rho)`
    /// grows, to first order, by the share `stretch (2 - rho) / (1 - rho)` when both `S`
    /// and `rho` grow by `stretch`; for c servers it grows less, so that share (with the
    /// measured utilisation, at most 0.9) bounds the effect on every latency figure.
    pub fn of(utilization: (f64, f64), handoff_p50_ms: Option<f64>, model_handoff_ms: f64) -> Self {
        let (um, ul) = utilization;
        let stretch = if um > 0.0 && ul.is_finite() {
            (ul / um - 1.0).max(0.0)
        } else {
            0.0
        };
        let rho = ul.clamp(0.0, 0.9);
        let amplification = (2.0 - rho) / (1.0 - rho);
        let excess = handoff_p50_ms.map_or(0.0, |h| (h - model_handoff_ms).max(0.0));
        Tolerance {
            per_delivery_ms: LATENCY_MS_PER_DELIVERY + excess,
            relative: LATENCY_RELATIVE + stretch * amplification,
            stretch,
            amplification,
        }
    }

    /// The reference machine's tolerance, nothing measured added.
    pub fn reference() -> Self {
        Tolerance {
            per_delivery_ms: LATENCY_MS_PER_DELIVERY,
            relative: LATENCY_RELATIVE,
            stretch: 0.0,
            amplification: 1.0,
        }
    }

    /// One sentence: the tolerance and where its parts come from.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "latency tolerance: {:.1} ms of wall time per delivery + {:.0}% of the model's value",
            self.per_delivery_ms,
            self.relative * 100.0
        );
        let extra_ms = self.per_delivery_ms - LATENCY_MS_PER_DELIVERY;
        let mut why = Vec::new();
        if extra_ms > 0.0 {
            why.push(format!(
                "{:.1} ms because this run's hand-off was that much slower than the model's",
                extra_ms
            ));
        }
        if self.stretch > 0.0 {
            why.push(format!(
                "{:.0}% because the consumers were busy {:.1}% longer than the sampled service times (x {:.1} for the messages queued behind them)",
                self.stretch * self.amplification * 100.0,
                self.stretch * 100.0,
                self.amplification
            ));
        }
        if why.is_empty() {
            s.push_str(" (the reference machine's: nothing in this run measured slower)");
        } else {
            s.push_str(&format!(
                " ({} ms and {:.0}% as measured on the reference machine; {})",
                LATENCY_MS_PER_DELIVERY,
                LATENCY_RELATIVE * 100.0,
                why.join("; ")
            ));
        }
        s
    }
}

/// Time-weighted gauges (mean depth from the broker, polled every 5 ms; utilisation from
/// the consumers) agree within this share, or an absolute floor (0.5 messages, 0.03).
pub const GAUGE_RELATIVE: f64 = 0.15;

/// How a figure is compared.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rule {
    /// A count: must be equal.
    Exact,
    /// Seconds: within this many seconds.
    Within(f64),
    /// A level: within [`GAUGE_RELATIVE`] of the model's, or this much in absolute terms.
    Gauge(f64),
}

/// One line of the side-by-side.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// Its summary.json name.
    pub name: &'static str,
    /// The model's value.
    pub model: Option<f64>,
    /// The live run's.
    pub measured: Option<f64>,
    /// How it is compared.
    pub rule: Rule,
}

impl Figure {
    /// Whether model and measured agree under the rule.
    pub fn agrees(&self) -> bool {
        match (self.model, self.measured) {
            (None, None) => true,
            (Some(a), Some(b)) => match self.rule {
                Rule::Exact => a == b,
                Rule::Within(t) => (a - b).abs() <= t,
                Rule::Gauge(floor) => (a - b).abs() <= (GAUGE_RELATIVE * a.abs()).max(floor),
            },
            _ => false,
        }
    }

    /// The verdict word.
    pub fn verdict(&self) -> String {
        match (self.agrees(), self.rule) {
            (true, Rule::Exact) => "same".into(),
            (true, Rule::Within(t)) => format!("within ±{}", ms(t)),
            (true, Rule::Gauge(_)) => format!("within ±{:.0}%", GAUGE_RELATIVE * 100.0),
            (false, _) => "DIFFERS".into(),
        }
    }

    /// measured - model, as text.
    pub fn difference(&self) -> String {
        match (self.model, self.measured) {
            (Some(a), Some(b)) => match self.rule {
                Rule::Exact => format!("{:+}", b - a),
                Rule::Within(_) => {
                    format!("{}{}", if b >= a { "+" } else { "-" }, ms((b - a).abs()))
                }
                Rule::Gauge(_) => format!("{:+.3}", b - a),
            },
            (None, None) => String::new(),
            _ => "one has no value".into(),
        }
    }

    /// A value as text.
    pub fn show(&self, v: Option<f64>) -> String {
        match (v, self.rule) {
            (None, _) => "-".into(),
            (Some(x), Rule::Exact) => format!("{x}"),
            (Some(x), Rule::Within(_)) => ms(x),
            (Some(x), Rule::Gauge(_)) => format!("{x:.3}"),
        }
    }
}

fn ms(secs: f64) -> String {
    format!("{:.1} ms", secs * 1e3)
}

/// The figures compared, model against measured. `speed` scales the wall-clock
/// tolerance into simulated seconds; `deliveries` is the most deliveries a completed
/// message took in the model (each adds a hand-off and a timer's overshoot).
pub fn figures(
    model: &Summary,
    live: &Summary,
    speed: f64,
    deliveries: f64,
    tol: &Tolerance,
) -> Vec<Figure> {
    let c = |s: &Summary| s.counts;
    let count = |name, f: fn(&crate::metrics::Counts) -> u64| Figure {
        name,
        model: Some(f(&c(model)) as f64),
        measured: Some(f(&c(live)) as f64),
        rule: Rule::Exact,
    };
    let lat = |name, f: fn(&Summary) -> Option<f64>, per_delivery: f64| {
        let m = f(model);
        let within =
            tol.per_delivery_ms / 1e3 * speed * per_delivery + tol.relative * m.unwrap_or(0.0);
        Figure {
            name,
            model: m,
            measured: f(live),
            rule: Rule::Within(within),
        }
    };
    let gauge = |name, f: fn(&Summary) -> f64, floor| Figure {
        name,
        model: Some(f(model)),
        measured: Some(f(live)),
        rule: Rule::Gauge(floor),
    };
    let d = deliveries.max(1.0);
    vec![
        count("counts.produced", |c| c.produced),
        count("counts.accepted", |c| c.accepted),
        count("counts.rejected", |c| c.rejected),
        count("counts.dropped", |c| c.dropped),
        count("counts.expired", |c| c.expired),
        count("counts.completed", |c| c.completed),
        count("counts.dead_lettered", |c| c.dead_lettered),
        count("counts.failed", |c| c.failed),
        count("counts.attempts", |c| c.attempts),
        count("counts.retries", |c| c.retries),
        count("counts.in_queue_at_end", |c| c.in_queue_at_end),
        count("counts.in_flight_at_end", |c| c.in_flight_at_end),
        lat("latency.end_to_end.p50", |s| s.latency.end_to_end.p50, d),
        lat("latency.end_to_end.p99", |s| s.latency.end_to_end.p99, d),
        lat("latency.end_to_end.mean", |s| s.latency.end_to_end.mean, d),
        lat("latency.queue_wait.p50", |s| s.latency.queue_wait.p50, 1.0),
        lat(
            "latency.queue_wait.mean",
            |s| s.latency.queue_wait.mean,
            1.0,
        ),
        gauge("queue.mean_depth", |s| s.queue.mean_depth, 0.5),
        gauge("consumers.utilization", |s| s.consumers.utilization, 0.03),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_no_slower_than_the_reference_gets_its_tolerance() {
        let t = Tolerance::of((0.43, 0.42), Some(0.8), 0.9);
        let r = Tolerance::reference();
        assert_eq!(
            (t.per_delivery_ms, t.relative),
            (r.per_delivery_ms, r.relative)
        );
        assert!(t.describe().contains("nothing in this run measured slower"));
    }

    #[test]
    fn a_slower_run_widens_the_tolerance_by_what_it_measured() {
        // CI's run of tests/live/prefetch.toml, prefetch 50: consumers busy 0.473 against
        // the model's 0.434 (9.0% longer), hand-off p50 1.84 ms against the model's 0.9.
        let t = Tolerance::of((0.434, 0.473), Some(1.84), 0.9);
        assert!((t.per_delivery_ms - 3.94).abs() < 1e-9);
        assert!((t.stretch - 0.0899).abs() < 1e-3);
        // (2 - 0.473) / (1 - 0.473) = 2.90
        assert!((t.amplification - 2.8975).abs() < 1e-3);
        assert!((t.relative - 0.3604).abs() < 1e-3, "{t:?}");
        let d = t.describe();
        assert!(d.contains("3.9 ms of wall time per delivery + 36%"), "{d}");
        assert!(d.contains("busy 9.0% longer"), "{d}");
        // Utilisation near 1 does not blow the share up: rho is taken at most 0.9.
        let t = Tolerance::of((0.9, 0.99), None, 0.9);
        assert!((t.amplification - 11.0).abs() < 1e-9);
    }
}
