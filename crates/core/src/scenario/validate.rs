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
        return Err(InputError::new(format!(
            "`{name}` cannot name a variant: a run writes `{taken}` beside the variants' folders"
        ))
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
pub(super) fn scenario(raw: &RawScenario, variant: Option<&str>) -> Result<Scenario, InputError> {
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
        Some(s) if s >= 0 => s as u64,
        Some(s) => return Err(bad("seed", format!("must be >= 0, got {s}"))),
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
        let scaled = |r: f64| scale.map_or(r, |x| r * x);
        let r = rate(&key("rate"), scaled(p.rate))?;
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
        let priority = match p.priority {
            None => 0,
            Some(x) if (0..=9).contains(&x) => x as u8,
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
            rate: r,
            schedule,
            priority,
            stream: i as u32,
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
        Some(c) if c >= 0 => Some(c as u64),
        Some(c) => {
            return Err(bad("queue.capacity", format!("must be >= 0, got {c}"))
                .allowed("0 (nothing may wait) or more; omit it for an unbounded queue"))
        }
    };

    if raw.consumers.count < 1 || raw.consumers.count > 100_000 {
        return Err(bad(
            "consumers.count",
            format!("must be between 1 and 100000, got {}", raw.consumers.count),
        ));
    }
    let service = service(&raw.consumers.service)?;
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
        Some(n) if (1..=1000).contains(&n) => n as u32,
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
        Some(n) if n < 0 => {
            return Err(bad(
                "queue.initial_backlog",
                format!("must be >= 0, got {n}"),
            ))
        }
        Some(n) => n as u64,
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
                window: window as u32,
                failure_threshold: threshold,
                open_for,
                half_open_probes: probes as u32,
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
                step: step as u32,
                min: min as u32,
                max: a.max as u32,
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
            count: raw.consumers.count as u32,
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
    let instant = match *service {
        Service::Constant(v) => secs_to_ns(v) == 0,
        Service::Uniform(_, b) => secs_to_ns(b) == 0,
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

const DISTS: [&str; 5] = ["constant", "uniform", "exponential", "lognormal", "gamma"];

fn service(s: &RawService) -> Result<Service, InputError> {
    let key = |k: &str| format!("consumers.service.{k}");
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
        other => {
            let mut e = InputError::unknown(ErrorKind::UnknownValue, other, DISTS).key(key("dist"));
            e.message = format!("unknown distribution `{}`", clip(other, 60));
            Err(e)
        }
    }
}
