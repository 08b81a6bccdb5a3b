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
pub fn figures(model: &Summary, live: &Summary, speed: f64, deliveries: f64) -> Vec<Figure> {
    let c = |s: &Summary| s.counts;
    let count = |name, f: fn(&crate::metrics::Counts) -> u64| Figure {
        name,
        model: Some(f(&c(model)) as f64),
        measured: Some(f(&c(live)) as f64),
        rule: Rule::Exact,
    };
    let lat = |name, f: fn(&Summary) -> Option<f64>, per_delivery: f64| {
        let m = f(model);
        let tol = LATENCY_MS_PER_DELIVERY / 1e3 * speed * per_delivery
            + LATENCY_RELATIVE * m.unwrap_or(0.0);
        Figure {
            name,
            model: m,
            measured: f(live),
            rule: Rule::Within(tol),
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
