//! Checks every value of a [`RawScenario`] and builds a [`Scenario`] in nanoseconds.
//!
//! Each check names the key, what was wrong and what is allowed. Locations are added by
//! the caller with [`locate`], which finds the key in the file text.

use super::locate;
use super::raw::*;
use super::*;
use crate::error::{clip, ErrorKind, InputError};
use crate::time::{secs_to_ns, Nanos};

/// The longest run, in seconds (about 31 years of simulated time).
pub(super) const MAX_DURATION_SECS: f64 = 1e9;

/// The most time-series rows a run may ask for (`duration / sample_every`): about 256 MiB.
/// When `sample_every` is omitted and 1 s would give more, a coarser whole number of
/// seconds is chosen instead.
pub(super) const MAX_SAMPLES: u64 = 1_000_000;

/// Turns a toml/serde error into an [`InputError`] with kind, position, key and
/// suggestion, in words without Rust type names.
pub(super) fn from_toml_error(e: &toml::de::Error, text: &str, label: &str) -> InputError {
    let msg = e.message().trim().to_string();
    let mut err = InputError::of(ErrorKind::Syntax, msg.clone()).in_file(label.to_string());
    if let Some(span) = e.span() {
        if !text.is_empty() {
            err = err.at_offset(text, span.start);
            if let Some(path) = locate::path_at(text, span.start) {
                err.key = Some(path);
            }
        }
    }
    let quoted: Vec<&str> = msg.split('`').skip(1).step_by(2).collect();
    if msg.starts_with("unknown field") || msg.starts_with("unknown variant") {
        if let Some((bad, expected)) = quoted.split_first() {
            let kind = if msg.starts_with("unknown field") {
                ErrorKind::UnknownKey
            } else {
                ErrorKind::UnknownValue
            };
            let u = InputError::unknown(kind, &clip(bad, 60), expected.iter().copied());
            err.kind = u.kind;
            err.message = u.message;
            err.allowed = u.allowed;
            err.hint = u.hint;
        }
    } else if let Some(field) = msg
        .strip_prefix("missing field `")
        .and_then(|r| r.split('`').next())
    {
        err.kind = ErrorKind::Missing;
        err.message = format!("missing required key `{field}`");
        err.hint = Some(match field {
            "producers" => "add at least one [[producers]] table with a `rate`".to_string(),
            "consumers" => "add a [consumers] table with `count` and `service`".to_string(),
            "service" => "e.g. service = { dist = \"exponential\", mean = \"40ms\" }".to_string(),
            other => format!("add `{other} = ...`"),
        });
    } else if let Some(rest) = msg
        .strip_prefix("invalid type: ")
        .or_else(|| msg.strip_prefix("invalid value: "))
    {
        err.kind = ErrorKind::WrongType;
        if let Some((found, expected)) = rest.rsplit_once(", expected ") {
            let found = found_words(found);
            err.message = format!("expected {}, found {found}", expected_words(expected));
            if found.starts_with("the string \"")
                && found[12..].starts_with(|c: char| c.is_ascii_digit())
            {
                err.hint = Some(
                    "a number is written without quotes; whole numbers in a scenario go up to 9223372036854775807".into(),
                );
            }
        }
    } else if msg.contains("duration") {
        err.kind = ErrorKind::BadDuration;
    } else if msg.contains("recursion limit") {
        err.kind = ErrorKind::TooLarge;
        err.message = "a key is nested too deeply to read: scenario keys have at most 5 levels (e.g. `subscribers.0.consumers.service.mean`)".into();
        if err.line.is_none() && !text.is_empty() {
            if let Some(offset) = deepest_key(text) {
                err = err.at_offset(text, offset);
            }
        }
    }
    err.message = clip(&err.message, 300);
    err
}

/// A Rust type name in a serde message, in words.
fn expected_words(expected: &str) -> String {
    match expected {
        "i8" | "i16" | "i32" | "i64" | "u8" | "u16" | "u32" | "u64" | "usize" | "isize" => {
            "a whole number".into()
        }
        "f32" | "f64" => "a number".into(),
        "a sequence" => "a list".into(),
        "a map" => "a table".into(),
        e if e.starts_with("struct ") => "a table".into(),
        e if e.starts_with("enum ") || e.starts_with("variant ") => {
            "one of the allowed words".into()
        }
        e => e.to_string(),
    }
}

/// serde's description of the value found (`string "x"`, `integer `3``), in words.
fn found_words(found: &str) -> String {
    let inner = |s: &str| s.trim_matches('`').to_string();
    if let Some(v) = found.strip_prefix("string ") {
        format!("the string {}", clip(v, 60))
    } else if let Some(v) = found.strip_prefix("integer ") {
        format!("the whole number {}", inner(v))
    } else if let Some(v) = found.strip_prefix("floating point ") {
        format!("the number {}", inner(v))
    } else if let Some(v) = found.strip_prefix("boolean ") {
        inner(v)
    } else {
        match found {
            "map" => "a table".into(),
            "sequence" => "a list".into(),
            f => clip(f, 60),
        }
    }
}

/// The byte offset of the key with the most dots (where a too-deep key is written).
fn deepest_key(text: &str) -> Option<usize> {
    let mut best: Option<(usize, usize)> = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let key = line.split('=').next().unwrap_or("");
        let dots = key.matches('.').count();
        if dots > best.map_or(0, |b| b.0) {
            best = Some((dots, offset + (line.len() - line.trim_start().len())));
        }
        offset += line.len();
    }
    best.map(|b| b.1)
}

/// Adds file, line and column to `e` from its key, looked up under `prefix` in `text`.
pub(super) fn locate(mut e: InputError, text: &str, label: &str, prefix: &[&str]) -> InputError {
    if e.file.is_none() {
        e.file = Some(label.to_string());
    }
    if e.line.is_some() {
        return e;
    }
    let mut segs: Vec<&str> = prefix.to_vec();
    let key = e.key.clone().unwrap_or_default();
    segs.extend(key.split('.').filter(|s| !s.is_empty()));
    // The longest leading part of the path that is in the file.
    for n in (1..=segs.len()).rev() {
        if let Some(span) = locate::span_of(text, &segs[..n]) {
            return e.at_offset(text, span.start);
        }
    }
    e
}

/// Names used as folder names: letters, digits, `-`, `_`, `.`; not empty, not `.`/`..`.
/// The names a run writes at the top of its output folder, beside the variants' folders:
/// no variant may be called one of these (compared without case, for case-insensitive
/// file systems).
pub const OUTPUT_NAMES: &[&str] = &[
    "base",
    "compare.png",
    "compare.svg",
    "comparison.csv",
    "comparison.json",
    "dashboard.png",
    "dashboard.svg",
    "latency_cdf.png",
    "latency_cdf.svg",
    "manifest.json",
    "report.html",
    "subscribers",
    "subscribers.png",
    "subscribers.svg",
    "summary.json",
    "timeseries.csv",
];

pub(super) fn folder_name(name: &str) -> Result<(), InputError> {
    if let Some(taken) = OUTPUT_NAMES.iter().find(|n| n.eq_ignore_ascii_case(name)) {
        return Err(InputError::of(
            ErrorKind::BadName,
            format!(
                "`{name}` cannot name a variant: a run writes `{taken}` beside the variants' folders"
            ),
        )
        .allowed("any other name of 1 to 100 letters, digits, `-`, `_` or `.`"));
    }
    let ok = !name.is_empty()
        && name != "."
        && name != ".."
        && name.len() <= 100
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(InputError::of(
            ErrorKind::BadName,
            format!("`{}` cannot name an output folder", clip(name, 60)),
        )
        .allowed("1 to 100 letters, digits, `-`, `_` or `.`"))
    }
}

/// A value out of its range (the commonest error): `key` and what is wrong.
pub(super) fn bad(key: impl Into<String>, msg: impl Into<String>) -> InputError {
    InputError::of(ErrorKind::OutOfRange, msg).key(key)
}

/// Keys or values that do not go together.
pub(super) fn conflict(key: impl Into<String>, msg: impl Into<String>) -> InputError {
    InputError::of(ErrorKind::Conflict, msg).key(key)
}

/// A key that must be there.
pub(super) fn missing(key: impl Into<String>, msg: impl Into<String>) -> InputError {
    InputError::of(ErrorKind::Missing, msg).key(key)
}

/// More than the simulator can do on one machine.
pub(super) fn too_large(key: impl Into<String>, msg: impl Into<String>) -> InputError {
    InputError::of(ErrorKind::TooLarge, msg).key(key)
}

fn ns(d: Dur) -> Nanos {
    secs_to_ns(d.0)
}

fn rate(key: &str, r: f64) -> Result<f64, InputError> {
    if r.is_finite() && r >= 0.0 {
        Ok(r)
    } else {
        Err(bad(
            key,
            format!("rate must be a finite number >= 0 (messages per second), got {r}"),
        ))
    }
}

fn probability(key: &str, p: f64) -> Result<f64, InputError> {
    if (0.0..=1.0).contains(&p) {
        Ok(p)
    } else {
        Err(bad(
            key,
            format!("must be a probability between 0 and 1, got {p}"),
        )
        .allowed("0.0 ..= 1.0"))
    }
}

/// Checks `raw` and converts it. `variant` is the variant's name, if any.
pub(super) fn scenario(
    raw: &RawScenario,
    variant: Option<&str>,
    cx: &super::data::Ctx,
) -> Result<Scenario, InputError> {
    folder_name(&raw.name).map_err(|e| e.key("name"))?;
    let duration = ns(raw.duration);
    if duration == 0 {
        return Err(bad("duration", "must be longer than 0").hint("e.g. duration = \"15m\""));
    }
    if raw.duration.0 > MAX_DURATION_SECS {
        return Err(
            too_large("duration", format!("{} s is too long", raw.duration.0)).allowed(format!(
                "at most {MAX_DURATION_SECS:e} seconds (about 31 years)"
            )),
        );
    }
    let warmup = raw.warmup.map(ns).unwrap_or(0);
    if warmup >= duration {
        return Err(conflict("warmup", "must be shorter than `duration`"));
    }
    let sample_every = match raw.sample_every {
        Some(d) => ns(d),
        None => {
            (duration.div_ceil(MAX_SAMPLES))
                .div_ceil(1_000_000_000)
                .max(1)
                * 1_000_000_000
        }
    };
    if sample_every == 0 {
        return Err(bad("sample_every", "must be longer than 0"));
    }
    if duration / sample_every > MAX_SAMPLES {
        return Err(too_large(
            "sample_every",
            format!(
                "gives {} time-series rows; at most {MAX_SAMPLES} are kept",
                duration / sample_every
            ),
        )
        .hint("use a coarser sample_every"));
    }
    let seed = match raw.seed {
        None => 1,
        Some(s) => u64::try_from(s).map_err(|_| bad("seed", format!("must be >= 0, got {s}")))?,
    };

    if raw.producers.is_empty() {
        return Err(bad("producers", "at least one [[producers]] is needed"));
    }
    let mut producers = Vec::new();
    for (i, p) in raw.producers.iter().enumerate() {
        let key = |k: &str| format!("producers.{i}.{k}");
        let scale = match p.scale {
            None => None,
            Some(x) if x.is_finite() && x >= 0.0 => Some(x),
            Some(x) => {
                return Err(bad(
                    key("scale"),
                    format!("must be a finite number >= 0, got {x}"),
                )
                .hint("e.g. scale = 2.0 doubles the rate and every schedule step"))
            }
        };
        let arrivals = producer_arrivals(p, i, scale, duration, cx)?;
        // The event loop numbers producers and their steps with u32 (`Ev::RateStep`).
        if u32::try_from(arrivals.1.len()).is_err() {
            return Err(too_large(
                key("schedule"),
                format!("has more than {} steps", u32::MAX),
            ));
        }
        let priority = match p.priority {
            None => 0,
            Some(x) if (0..=9).contains(&x) => u8::try_from(x).expect("checked 0..=9"),
            Some(x) => {
                return Err(bad(
                    key("priority"),
                    format!("must be between 0 (lowest) and 9 (highest), got {x}"),
                )
                .allowed("0 ..= 9"))
            }
        };
        producers.push(Producer {
            name: p.name.clone().unwrap_or_else(|| format!("producer{i}")),
            arrivals: p.arrivals,
            rate: arrivals.0,
            schedule: arrivals.1,
            trace: arrivals.2,
            priority,
            stream: u32::try_from(i)
                .map_err(|_| too_large("producers", format!("more than {} producers", u32::MAX)))?,
            duplicate_rate: probability(&key("duplicate_rate"), p.duplicate_rate.unwrap_or(0.0))?,
            duplicate_delay: match p.duplicate_delay.map(ns) {
                None => 1_000_000_000,
                Some(0) => return Err(bad(key("duplicate_delay"), "must be longer than 0")),
                Some(d) => d,
            },
        });
    }

    let capacity = match raw.queue.capacity {
        None => None,
        Some(c) => Some(u64::try_from(c).map_err(|_| {
            bad("queue.capacity", format!("must be >= 0, got {c}"))
                .allowed("0 (nothing may wait) or more; omit it for an unbounded queue")
        })?),
    };

    if raw.consumers.count < 1 || raw.consumers.count > 100_000 {
        return Err(bad(
            "consumers.count",
            format!("must be between 1 and 100000, got {}", raw.consumers.count),
        ));
    }
    let service = service(&raw.consumers.service, cx)?;
    let mut down = Vec::new();
    for (i, w) in raw.consumers.down.iter().enumerate() {
        let (start, end) = (ns(w.start), ns(w.end));
        if end <= start {
            return Err(bad(
                format!("consumers.down.{i}.end"),
                "a window must end after it starts",
            ));
        }
        down.push((start, end));
    }
    down.sort_unstable();
    if down.windows(2).any(|w| w[1].0 < w[0].1) {
        return Err(conflict("consumers.down", "the windows must not overlap"));
    }

    let d = &raw.downstream;
    let failure_rate = probability("downstream.failure_rate", d.failure_rate)?;
    let timeout = match d.timeout.map(ns) {
        Some(0) => {
            return Err(bad(
                "downstream.timeout",
                "must be longer than 0 (omit it for no timeout)",
            ))
        }
        t => t,
    };
    let mut outages = Vec::new();
    for (i, o) in d.outages.iter().enumerate() {
        let k = |s: &str| format!("downstream.outages.{i}.{s}");
        let (start, end) = (ns(o.start), ns(o.end));
        if end <= start {
            return Err(bad(k("end"), "an outage must end after it starts"));
        }
        let slowdown = o.slowdown.unwrap_or(1.0);
        if !(slowdown.is_finite() && slowdown > 0.0) {
            return Err(bad(
                k("slowdown"),
                format!("must be a finite number > 0, got {slowdown}"),
            ));
        }
        outages.push(Outage {
            start,
            end,
            failure_rate: probability(&k("failure_rate"), o.failure_rate.unwrap_or(1.0))?,
            slowdown,
        });
    }
    outages.sort_by_key(|o| o.start);
    if let Some(w) = outages.windows(2).find(|w| w[1].start < w[0].end) {
        let _ = w;
        return Err(conflict(
            "downstream.outages",
            "outage windows must not overlap",
        ));
    }

    let r = &raw.retry;
    let max_attempts = match r.max_attempts {
        None => 1,
        Some(n) if (1..=1000).contains(&n) => u32::try_from(n).expect("checked 1..=1000"),
        Some(n) => {
            return Err(bad(
                "retry.max_attempts",
                format!("must be between 1 and 1000, got {n}"),
            )
            .hint("1 means no retries"))
        }
    };
    let base_delay = r.base_delay.map(ns).unwrap_or(100_000_000);
    let max_delay = r.max_delay.map(ns).unwrap_or(30_000_000_000);
    if base_delay > max_delay {
        return Err(conflict(
            "retry.base_delay",
            "must not be longer than `retry.max_delay`",
        ));
    }

    let budget = match (r.budget, r.budget_burst) {
        (None, None) => None,
        (None, Some(_)) => {
            return Err(
                conflict("retry.budget_burst", "only applies with `retry.budget`")
                    .hint("e.g. budget = 0.1 (retries up to 10% of traffic), budget_burst = 10"),
            )
        }
        (Some(ratio), burst) => {
            if !(ratio.is_finite() && ratio >= 0.0) {
                return Err(bad(
                    "retry.budget",
                    format!("must be a finite number >= 0 (tokens per message), got {ratio}"),
                ));
            }
            let burst = burst.unwrap_or(10.0);
            if !(burst.is_finite() && burst >= 1.0) {
                return Err(bad(
                    "retry.budget_burst",
                    format!("must be a finite number >= 1, got {burst}"),
                ));
            }
            Some((ratio, burst))
        }
    };
    let poison_rate = probability("downstream.poison_rate", d.poison_rate)?;
    let ttl = match raw.queue.ttl.map(ns) {
        Some(0) => {
            return Err(bad(
                "queue.ttl",
                "must be longer than 0 (omit it for no TTL)",
            ))
        }
        t => t,
    };
    let initial_backlog = match raw.queue.initial_backlog {
        None => 0,
        Some(n) => match u64::try_from(n) {
            Err(_) => {
                return Err(bad(
                    "queue.initial_backlog",
                    format!("must be >= 0, got {n}"),
                ))
            }
            // The event loop numbers live messages with u32 ids (model::message::Slab).
            Ok(n) if n > MAX_BACKLOG => {
                return Err(too_large(
                    "queue.initial_backlog",
                    format!("{n} messages; at most {MAX_BACKLOG} may be alive at once"),
                ))
            }
            Ok(n) => n,
        },
    };
    if capacity.is_some_and(|c| initial_backlog > c) {
        return Err(conflict(
            "queue.initial_backlog",
            "must not exceed `queue.capacity`",
        ));
    }
    let cost = match &raw.cost {
        None => None,
        Some(c) => {
            for (k, v) in [
                ("cost.per_consumer_hour", c.per_consumer_hour),
                ("cost.per_million_requests", c.per_million_requests),
            ] {
                if !(v.is_finite() && v >= 0.0) {
                    return Err(bad(k, format!("must be a finite price >= 0, got {v}")));
                }
            }
            Some(Cost {
                per_consumer_hour: c.per_consumer_hour,
                per_million_requests: c.per_million_requests,
            })
        }
    };
    let breaker = match &raw.breaker {
        None => None,
        Some(b) => {
            let window = b.window.unwrap_or(20);
            if !(1..=100_000).contains(&window) {
                return Err(bad(
                    "breaker.window",
                    format!("must be between 1 and 100000 calls, got {window}"),
                ));
            }
            let threshold = b.failure_threshold.unwrap_or(0.5);
            if !(threshold > 0.0 && threshold <= 1.0) {
                return Err(bad(
                    "breaker.failure_threshold",
                    format!("must be above 0 and at most 1, got {threshold}"),
                )
                .allowed("0 < failure_threshold <= 1, e.g. 0.5"));
            }
            let probes = b.half_open_probes.unwrap_or(3);
            if !(1..=10_000).contains(&probes) {
                return Err(bad(
                    "breaker.half_open_probes",
                    format!("must be between 1 and 10000, got {probes}"),
                ));
            }
            let open_for = b.open_for.map(ns).unwrap_or(5_000_000_000);
            if open_for == 0 {
                return Err(bad("breaker.open_for", "must be longer than 0"));
            }
            Some(Breaker {
                window: u32::try_from(window).expect("checked 1..=100000 above"),
                failure_threshold: threshold,
                open_for,
                half_open_probes: u32::try_from(probes).expect("checked 1..=10000 above"),
            })
        }
    };
    let autoscale = match &raw.autoscale {
        None => None,
        Some(a) => {
            let min = a.min.unwrap_or(1);
            let count = raw.consumers.count;
            if min < 1 || a.max < min || a.max > 100_000 {
                return Err(bad(
                    "autoscale.max",
                    format!(
                        "need 1 <= min <= max <= 100000, got min {min}, max {}",
                        a.max
                    ),
                ));
            }
            if count < min || count > a.max {
                return Err(conflict("consumers.count", format!("the starting count {count} must be between autoscale.min {min} and autoscale.max {}", a.max)));
            }
            let step = a.step.unwrap_or(1);
            if !(1..=100_000).contains(&step) {
                return Err(bad(
                    "autoscale.step",
                    format!("must be at least 1, got {step}"),
                ));
            }
            if a.scale_in_below.0 >= a.scale_out_above.0 {
                return Err(conflict(
                    "autoscale.scale_in_below",
                    "must be below `scale_out_above` (or the pool would flap)",
                ));
            }
            let check_every = a.check_every.map(ns).unwrap_or(5_000_000_000);
            if check_every == 0 {
                return Err(bad("autoscale.check_every", "must be longer than 0"));
            }
            Some(Autoscale {
                metric: a.metric,
                scale_out_above: a.scale_out_above.0,
                scale_in_below: a.scale_in_below.0,
                step: u32::try_from(step).expect("checked 1..=100000 above"),
                min: u32::try_from(min).expect("checked 1 <= min <= max above"),
                max: u32::try_from(a.max).expect("checked max <= 100000 above"),
                reaction: a.reaction.map(ns).unwrap_or(30_000_000_000),
                cooldown: a.cooldown.map(ns).unwrap_or(60_000_000_000),
                check_every,
            })
        }
    };
    let dl = &raw.delivery;
    let crash_rate = probability("delivery.crash_rate", dl.crash_rate)?;
    if crash_rate >= 1.0 {
        return Err(bad(
            "delivery.crash_rate",
            "must be below 1: with 1 no message is ever acknowledged",
        )
        .allowed("0.0 <= crash_rate < 1.0"));
    }
    let visibility_timeout = dl.visibility_timeout.map(ns).unwrap_or(30_000_000_000);

    let c = &raw.client;
    let client = Client {
        mode: c.mode,
        enqueue_latency: c.enqueue_latency.map(ns).unwrap_or(0),
        timeout: match c.timeout.map(ns) {
            Some(0) => {
                return Err(bad(
                    "client.timeout",
                    "must be longer than 0 (omit it for no timeout)",
                ))
            }
            t => t,
        },
    };
    if client.mode == ClientMode::Sync {
        if crash_rate > 0.0 {
            return Err(conflict(
                "delivery.crash_rate",
                "consumer crashes and redelivery need a broker: they apply to client.mode = \"async\" only",
            )
            .hint("set delivery.crash_rate = 0 in the sync variant"));
        }
        for (key, used) in [
            ("queue.ttl", ttl.is_some()),
            ("queue.initial_backlog", initial_backlog > 0),
        ] {
            if used {
                return Err(conflict(
                    key,
                    "needs a broker: it applies to client.mode = \"async\" only",
                )
                .hint("remove it in the sync variant"));
            }
        }
        if let Some(i) = producers.iter().position(|p| p.duplicate_rate > 0.0) {
            return Err(conflict(
                format!("producers.{i}.duplicate_rate"),
                "duplicate publishes go to a broker: they apply to client.mode = \"async\" only",
            )
            .hint("a sync caller's retries are [retry]"));
        }
        if r.place == Some(RetryPlace::Consumer) {
            return Err(conflict(
                "retry.in",
                "in sync mode the caller retries: retry.in = \"consumer\" applies to async only",
            )
            .allowed("\"queue\" (the default) in sync mode"));
        }
    }

    let keys = super::broker::keys(raw)?;
    let broker = super::broker::broker(raw, keys)?;
    let mut queue = Queue {
        capacity,
        overflow: raw.queue.overflow,
        ttl,
        ttl_action: raw.queue.ttl_action,
        initial_backlog,
        priority: raw.queue.priority,
    };
    if let Some(b) = &raw.broker {
        if let Some(r) = b.retention {
            // Kafka retention: unconsumed messages are deleted (counted as expired).
            queue.ttl = Some(ns(r)).filter(|&t| t > 0);
            queue.ttl_action = TtlAction::Drop;
        }
        if b.kind == super::broker::BrokerKind::Rabbitmq {
            // x-overflow: RabbitMQ drops (dead-letters) the head when none is set.
            queue.overflow = match b.overflow {
                None | Some(super::broker::RabbitOverflow::DropHead) => Overflow::DropOldest,
                _ => Overflow::Reject,
            };
        }
    }
    let can_fail =
        failure_rate > 0.0 || poison_rate > 0.0 || outages.iter().any(|o| o.failure_rate > 0.0);
    zero_time_loop(&service, &broker, visibility_timeout, can_fail)?;
    Ok(Scenario {
        name: raw.name.clone(),
        variant: variant.map(str::to_string),
        description: raw.description.clone(),
        seed,
        duration,
        warmup,
        sample_every,
        producers,
        queue,
        consumers: Consumers {
            down,
            count: u32::try_from(raw.consumers.count)
                .expect("consumers.count: checked 1..=100000 above"),
            service,
        },
        downstream: Downstream {
            failure_rate,
            timeout,
            outages,
            poison_rate,
        },
        retry: Retry {
            max_attempts,
            backoff: r.backoff.unwrap_or_default(),
            base_delay,
            max_delay,
            jitter: r.jitter.unwrap_or_default(),
            place: r.place.unwrap_or_default(),
            budget,
        },
        dlq_enabled: raw.dlq.enabled,
        delivery: Delivery {
            crash_rate,
            visibility_timeout,
            idempotent: dl.idempotent,
        },
        client,
        teaching: raw.teaching.clone(),
        cost,
        breaker,
        autoscale,
        subscribers: Vec::new(),
        stream_salt: 0,
        broker,
        keys,
    })
}

/// A producer's starting rate, schedule and trace.
type Arrivals = (f64, Vec<(Nanos, f64)>, Option<super::data::Trace>);

/// The most schedule steps a looping rate series may expand to over a run.
const MAX_RATE_STEPS: usize = 10_000_000;

/// The largest warm backlog: the most messages a run keeps alive at once.
const MAX_BACKLOG: u64 = crate::model::message::Slab::MAX_LIVE as u64;

/// A producer's `(rate, schedule, trace)`: from `rate` and `schedule` for `poisson` and
/// `constant`; from the data file for `trace` (streamed in the run) and `rates` (the
/// series becomes the schedule: a Poisson process whose gaps are redrawn at each row is
/// exactly the non-homogeneous Poisson process of the piecewise-constant rate).
fn producer_arrivals(
    p: &RawProducer,
    i: usize,
    scale: Option<f64>,
    duration: Nanos,
    cx: &super::data::Ctx,
) -> Result<Arrivals, InputError> {
    let key = |k: &str| format!("producers.{i}.{k}");
    let kind = match p.arrivals {
        ArrivalKind::Poisson => "poisson",
        ArrivalKind::Constant => "constant",
        ArrivalKind::Trace => "trace",
        ArrivalKind::Rates => "rates",
    };
    let data_keys: [(&str, bool); 5] = [
        ("trace", p.trace.is_some()),
        ("rates", p.rates.is_some()),
        ("speed", p.speed.is_some()),
        ("offset", p.offset.is_some()),
        ("loop", p.looped.is_some()),
    ];
    let refuse = |k: &str, why: &str| {
        Err(conflict(
            key(k),
            format!("`{k}` does not apply to arrivals = \"{kind}\""),
        )
        .hint(why.to_string()))
    };
    match p.arrivals {
        ArrivalKind::Poisson | ArrivalKind::Constant => {
            if let Some((k, _)) = data_keys.iter().find(|(_, set)| *set) {
                return refuse(
                    k,
                    "`trace`, `rates`, `speed`, `offset` and `loop` go with arrivals = \"trace\" or \"rates\"",
                );
            }
            let scaled = |r: f64| scale.map_or(r, |x| r * x);
            let Some(r0) = p.rate else {
                return Err(missing(
                    key("rate"),
                    format!("arrivals = \"{kind}\" needs a `rate` (messages per second)"),
                )
                .hint("e.g. rate = 50.0, or arrivals = \"trace\" with a `trace` file"));
            };
            let r = rate(&key("rate"), scaled(r0))?;
            let mut schedule = Vec::new();
            let mut last: Option<Nanos> = None;
            for (j, step) in p.schedule.iter().enumerate() {
                let at = ns(step.at);
                let k = format!("producers.{i}.schedule.{j}");
                if last.is_some_and(|l| at <= l) {
                    return Err(bad(
                        format!("{k}.at"),
                        "schedule steps must be in increasing order of `at`",
                    ));
                }
                last = Some(at);
                schedule.push((at, rate(&format!("{k}.rate"), scaled(step.rate))?));
            }
            Ok((r, schedule, None))
        }
        ArrivalKind::Trace | ArrivalKind::Rates => {
            let (file_key, other) = if p.arrivals == ArrivalKind::Trace {
                ("trace", ("rates", p.rates.is_some()))
            } else {
                ("rates", ("trace", p.trace.is_some()))
            };
            if other.1 {
                return refuse(
                    other.0,
                    &format!("arrivals = \"{kind}\" reads `{file_key}`"),
                );
            }
            if p.rate.is_some() {
                return refuse(
                    "rate",
                    "the data file gives the rate; `scale` multiplies it",
                );
            }
            if !p.schedule.is_empty() {
                return refuse("schedule", "the data file gives the rate over time");
            }
            let file = match if p.arrivals == ArrivalKind::Trace { &p.trace } else { &p.rates } {
                Some(f) if !f.trim().is_empty() => f.clone(),
                _ => {
                    return Err(missing(
                        key(file_key),
                        format!("arrivals = \"{kind}\" needs `{file_key}`, the data file (relative to the scenario file)"),
                    )
                    .hint(if p.arrivals == ArrivalKind::Trace {
                        "e.g. trace = \"data/arrivals.csv\": one timestamp a line, or a CSV with a `time` column"
                    } else {
                        "e.g. rates = \"data/rps.csv\": a CSV with columns time,rate"
                    }))
                }
            };
            let speed = match p.speed {
                None => 1.0,
                Some(x) if x.is_finite() && x > 0.0 => x,
                Some(x) => {
                    return Err(bad(
                        key("speed"),
                        format!("must be a finite number above 0, got {x}"),
                    )
                    .hint("e.g. speed = 24 replays a day in an hour"))
                }
            };
            let scale = scale.unwrap_or(1.0);
            let offset = p.offset.map(ns).unwrap_or(0);
            let looped = p.looped.unwrap_or(false);
            let at_key = key(file_key);
            if p.arrivals == ArrivalKind::Trace {
                let head = cx.head(&file, &at_key)?;
                if looped && head.whole && head.rate().is_none() {
                    return Err(conflict(
                        key("loop"),
                        "a trace that loops needs at least two distinct timestamps (a pass would take no time)",
                    ));
                }
                let trace = super::data::Trace {
                    label: cx.inputs.label(&file),
                    file,
                    inputs: cx.inputs.clone(),
                    speed,
                    scale,
                    offset,
                    looped,
                    head,
                };
                Ok((trace.head_rate(), Vec::new(), Some(trace)))
            } else {
                let rows = cx.rates(&file, &at_key)?;
                let to_sim = |t: Nanos| offset.saturating_add(secs_to_ns(t as f64 / 1e9 / speed));
                // A rate before the first row is 0; the last row holds to the end, or,
                // with `loop`, the series repeats with a period of its span plus its
                // last step (the step before the last row).
                let period = match rows.len() {
                    n if n >= 2 => {
                        let last = rows[n - 1].0;
                        Some(last - rows[0].0 + (last - rows[n - 2].0))
                    }
                    _ => None,
                };
                if looped && period.is_none_or(|p| p == 0) {
                    return Err(conflict(
                        key("loop"),
                        "a rate series that loops needs at least two rows",
                    ));
                }
                let mut schedule: Vec<(Nanos, f64)> = Vec::new();
                let mut base: Nanos = 0;
                'passes: loop {
                    for &(t, r) in rows.iter() {
                        let at = to_sim(base.saturating_add(t));
                        if at > duration {
                            break 'passes;
                        }
                        if schedule.len() >= MAX_RATE_STEPS {
                            return Err(too_large(
                                key("loop"),
                                format!("the looping rate series gives more than {MAX_RATE_STEPS} steps over the run"),
                            )
                            .hint("a coarser series, a shorter run, or no loop"));
                        }
                        schedule.push((at, r * scale));
                    }
                    match period {
                        Some(p) if looped => base = base.saturating_add(p),
                        _ => break,
                    }
                }
                // A step at time 0 sets the starting rate.
                let mut r0 = 0.0;
                if schedule.first().is_some_and(|&(at, _)| at == 0) {
                    r0 = schedule.remove(0).1;
                }
                // Equal times after rounding: the later row wins.
                schedule.dedup_by(|later, earlier| {
                    if later.0 == earlier.0 {
                        earlier.1 = later.1;
                        true
                    } else {
                        false
                    }
                });
                Ok((r0, schedule, None))
            }
        }
    }
}

/// Refuses a redelivery loop that takes no time: every attempt takes no time (the service
/// is under a nanosecond), an attempt can fail, and the broker gives a failed message
/// back at once without limit. Such a run would redeliver one message for ever while the
/// clock stands still.
fn zero_time_loop(
    service: &Service,
    broker: &super::broker::Broker,
    visibility_timeout: Nanos,
    can_fail: bool,
) -> Result<(), InputError> {
    use super::broker::Broker;
    let instant = match service {
        Service::Constant(v) => secs_to_ns(*v) == 0,
        Service::Uniform(_, b) => secs_to_ns(*b) == 0,
        _ => false,
    };
    if !instant || !can_fail {
        return Ok(());
    }
    let (key, how, fix) = match *broker {
        Broker::RabbitMq {
            requeue: true,
            delivery_limit: None,
            ack_to_deliver: 0,
            ..
        } => (
            "broker.requeue",
            "RabbitMQ requeues a failed message at the head at once, with no delivery limit and broker.ack_to_deliver = 0",
            "set broker.delivery_limit (with queue_type = \"quorum\"), broker.requeue = false, or broker.ack_to_deliver above 0",
        ),
        Broker::Sqs {
            max_receive_count: None,
            ..
        }
        | Broker::SqsFifo {
            max_receive_count: None,
            ..
        } if visibility_timeout == 0 => (
            "delivery.visibility_timeout",
            "SQS makes a failed message visible again at once (visibility timeout 0), with no max_receive_count",
            "set delivery.visibility_timeout above 0, or broker.max_receive_count",
        ),
        _ => return Ok(()),
    };
    Err(conflict(
        key,
        format!("{how}, and every attempt takes no time: a failing message would be redelivered for ever while the clock stands still"),
    )
    .hint(format!("{fix}, or give consumers.service a duration")))
}

const DISTS: [&str; 7] = [
    "constant",
    "uniform",
    "exponential",
    "lognormal",
    "gamma",
    "empirical",
    "histogram",
];

fn service(s: &RawService, cx: &super::data::Ctx) -> Result<Service, InputError> {
    let key = |k: &str| format!("consumers.service.{k}");
    // The data keys: each belongs to one law.
    for (k, set, dists) in [
        ("samples", s.samples.is_some(), &["empirical"][..]),
        ("unit", s.unit.is_some(), &["empirical"][..]),
        ("buckets", s.buckets.is_some(), &["histogram"][..]),
    ] {
        if set && !dists.contains(&s.dist.as_str()) {
            return Err(conflict(
                key(k),
                format!("`{k}` does not apply to dist = \"{}\"", clip(&s.dist, 40)),
            )
            .allowed(format!("`{k}` with dist = \"{}\"", dists[0])));
        }
    }
    let all_params = [
        ("value", s.value),
        ("mean", s.mean),
        ("stddev", s.stddev),
        ("min", s.min),
        ("max", s.max),
    ];
    let need = |v: Option<Dur>, k: &str, example: &str| {
        v.map(|d| d.0).ok_or_else(|| {
            missing(key(k), format!("dist = \"{}\" needs `{k}`", s.dist))
                .hint(format!("e.g. service = {example}"))
        })
    };
    let unused = |names: &[(&str, Option<Dur>)]| -> Result<(), InputError> {
        for (n, v) in names {
            if v.is_some() {
                return Err(conflict(
                    key(n),
                    format!("`{n}` does not apply to dist = \"{}\"", s.dist),
                ));
            }
        }
        Ok(())
    };
    let positive = |v: f64, k: &str| {
        if v > 0.0 {
            Ok(v)
        } else {
            Err(bad(key(k), "must be longer than 0"))
        }
    };
    match s.dist.as_str() {
        "constant" => {
            unused(&[
                ("mean", s.mean),
                ("stddev", s.stddev),
                ("min", s.min),
                ("max", s.max),
            ])?;
            Ok(Service::Constant(need(
                s.value,
                "value",
                "{ dist = \"constant\", value = \"50ms\" }",
            )?))
        }
        "uniform" => {
            unused(&[("mean", s.mean), ("stddev", s.stddev), ("value", s.value)])?;
            let ex = "{ dist = \"uniform\", min = \"20ms\", max = \"100ms\" }";
            let (a, b) = (need(s.min, "min", ex)?, need(s.max, "max", ex)?);
            if a > b {
                return Err(conflict(key("min"), "`min` must not exceed `max`"));
            }
            Ok(Service::Uniform(a, b))
        }
        "exponential" => {
            unused(&[
                ("value", s.value),
                ("stddev", s.stddev),
                ("min", s.min),
                ("max", s.max),
            ])?;
            let m = need(
                s.mean,
                "mean",
                "{ dist = \"exponential\", mean = \"40ms\" }",
            )?;
            Ok(Service::Exponential(positive(m, "mean")?))
        }
        "lognormal" | "gamma" => {
            unused(&[("value", s.value), ("min", s.min), ("max", s.max)])?;
            let ex = format!(
                "{{ dist = \"{}\", mean = \"40ms\", stddev = \"20ms\" }}",
                s.dist
            );
            let m = positive(need(s.mean, "mean", &ex)?, "mean")?;
            let sd = positive(need(s.stddev, "stddev", &ex)?, "stddev")?;
            Ok(if s.dist == "lognormal" {
                Service::LogNormal(m, sd)
            } else {
                Service::Gamma(m, sd)
            })
        }
        "empirical" => {
            unused(&all_params)?;
            let file = match &s.samples {
                Some(f) if !f.trim().is_empty() => f,
                _ => {
                    return Err(missing(
                        key("samples"),
                        "dist = \"empirical\" needs `samples`, the data file of measured times",
                    )
                    .hint("e.g. service = { dist = \"empirical\", samples = \"data/payment.csv\", unit = \"ms\" }"))
                }
            };
            let unit = match &s.unit {
                None => None,
                Some(u) => Some(crate::input::unit_secs(u).ok_or_else(|| {
                    let mut e = InputError::unknown(
                        ErrorKind::UnknownValue,
                        u,
                        crate::time::UNITS.iter().map(|(n, _)| *n),
                    )
                    .key(key("unit"));
                    e.message = format!("unknown unit `{}`", clip(u, 40));
                    e
                })?),
            };
            Ok(Service::Empirical(cx.samples(
                file,
                unit,
                &key("samples"),
            )?))
        }
        "histogram" => {
            unused(&all_params)?;
            let file =
                match &s.buckets {
                    Some(f) if !f.trim().is_empty() => f,
                    _ => return Err(missing(
                        key("buckets"),
                        "dist = \"histogram\" needs `buckets`, the data file of `le,count` rows",
                    )
                    .hint(
                        "e.g. service = { dist = \"histogram\", buckets = \"data/latency.csv\" }",
                    )),
                };
            Ok(Service::Histogram(cx.buckets(file, &key("buckets"))?))
        }
        other => {
            let mut e = InputError::unknown(ErrorKind::UnknownValue, other, DISTS).key(key("dist"));
            e.message = format!("unknown distribution `{}`", clip(other, 60));
            Err(e)
        }
    }
}
