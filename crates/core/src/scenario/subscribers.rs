//! `[[subscribers]]`: fan-out from a topic to several queues, each with its own consumers.
//!
//! A subscriber is a name, an optional `producers` filter (the messages it receives; all
//! by default) and any of the consumer-side tables (`queue`, `consumers`, `downstream`,
//! `retry`, `dlq`, `delivery`, `breaker`, `autoscale`, `cost`) merged over the file's own.
//! `expand` turns each into a complete, checked [`Scenario`] (`Subscriber::run`) with
//! only its producers and its own random streams (`stream_salt`, from its name, so that
//! adding or removing another subscriber does not change its draws).

use super::raw::{Overflow, RawScenario};
use super::{overlay, validate, ClientMode, Scenario, Subscriber};
use crate::error::{did_you_mean, ErrorKind, InputError};
use toml::{Table, Value};

/// The tables a subscriber may set.
pub const KEYS: [&str; 11] = [
    "name",
    "producers",
    "queue",
    "consumers",
    "downstream",
    "retry",
    "dlq",
    "delivery",
    "breaker",
    "autoscale",
    "cost",
];

/// The stream salt of a subscriber: FNV-1a of its name, never 0.
pub(crate) fn salt(name: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h | 1
}

/// Builds `s.subscribers` from the `subscribers` array of `doc` (the document `s` was
/// typed from). Error keys are paths in `doc` (`subscribers.0.consumers.count`).
///
/// # Errors
/// An [`InputError`] (without position: the caller adds it) for a subscriber that is
/// malformed, sets a key a subscriber cannot set, names a producer that is not there,
/// or whose merged scenario does not validate; and for a producer no subscriber takes.
pub(super) fn expand(
    doc: &Table,
    s: &mut Scenario,
    cx: &super::data::Ctx,
) -> Result<(), InputError> {
    let list = match doc.get("subscribers") {
        None => return Ok(()),
        Some(Value::Array(a)) => a,
        Some(_) => {
            return Err(InputError::of(
                ErrorKind::WrongType,
                "`subscribers` must be a list of tables",
            )
            .key("subscribers")
            .hint("write each one as a [[subscribers]] table with a `name`"))
        }
    };
    if list.is_empty() {
        return Ok(());
    }
    if s.client.mode != ClientMode::Async {
        return Err(InputError::of(
            ErrorKind::Conflict,
            "fan-out is asynchronous: a topic stores the message and answers the caller at once",
        )
        .key("client.mode")
        .allowed("\"async\" with [[subscribers]]")
        .hint(
            "set client.mode = \"async\", or drop the subscribers (subscribers = [] in a variant)",
        ));
    }
    let mut base = doc.clone();
    base.remove("subscribers");
    base.remove("variants");
    let producer_names: Vec<&str> = s.producers.iter().map(|p| p.name.as_str()).collect();
    let mut fed = vec![false; s.producers.len()];
    let mut out: Vec<Subscriber> = Vec::new();
    for (i, v) in list.iter().enumerate() {
        let at = |k: &str| {
            if k.is_empty() {
                format!("subscribers.{i}")
            } else {
                format!("subscribers.{i}.{k}")
            }
        };
        let Value::Table(t) = v else {
            return Err(
                InputError::of(ErrorKind::WrongType, "each subscriber must be a table").key(at("")),
            );
        };
        for k in t.keys() {
            if !KEYS.contains(&k.as_str()) {
                let mut e = InputError::of(ErrorKind::UnknownKey, format!(
                    "`{k}` cannot be set per subscriber: a subscriber has its own queue and consumer group, and shares everything else"
                ))
                .key(at(k))
                .allowed(KEYS.join(", "));
                if let Some(m) = did_you_mean(k, KEYS.iter().copied()) {
                    e = e.hint(format!("did you mean `{m}`?"));
                }
                return Err(e);
            }
        }
        let name = match t.get("name") {
            Some(Value::String(n)) => n.clone(),
            _ => {
                return Err(InputError::of(
                    ErrorKind::Missing,
                    "every [[subscribers]] entry needs a `name` (a string)",
                )
                .key(at("name")))
            }
        };
        validate::folder_name(&name).map_err(|e| e.key(at("name")))?;
        if out.iter().any(|o| o.name == name) {
            return Err(InputError::of(
                ErrorKind::Duplicate,
                format!("two subscribers are called `{name}`"),
            )
            .key(at("name")));
        }
        let takes: Vec<usize> = match t.get("producers") {
            None => (0..s.producers.len()).collect(),
            Some(Value::Array(a)) if !a.is_empty() => {
                let mut idx = Vec::new();
                for (j, p) in a.iter().enumerate() {
                    let key = at(&format!("producers.{j}"));
                    let Value::String(pn) = p else {
                        return Err(InputError::of(
                            ErrorKind::WrongType,
                            "a producer is named by a string",
                        )
                        .key(key)
                        .allowed(producer_names.join(", ")));
                    };
                    match producer_names.iter().position(|n| n == pn) {
                        Some(k) if !idx.contains(&k) => idx.push(k),
                        Some(_) => {
                            return Err(InputError::of(
                                ErrorKind::Duplicate,
                                format!("`{pn}` is listed twice"),
                            )
                            .key(key))
                        }
                        None => {
                            let mut e = InputError::of(
                                ErrorKind::UnknownName,
                                format!("no producer is called `{pn}`"),
                            )
                            .key(key)
                            .allowed(producer_names.join(", "));
                            if let Some(m) = did_you_mean(pn, producer_names.iter().copied()) {
                                e = e.hint(format!("did you mean `{m}`?"));
                            }
                            return Err(e);
                        }
                    }
                }
                idx.sort_unstable();
                idx
            }
            Some(_) => {
                return Err(InputError::of(
                    ErrorKind::WrongType,
                    "`producers` must be a non-empty list of producer names",
                )
                .key(at("producers"))
                .allowed(producer_names.join(", "))
                .hint("leave it out to receive every producer's messages"))
            }
        };
        for &k in &takes {
            fed[k] = true;
        }

        let mut over = t.clone();
        over.remove("name");
        over.remove("producers");
        let mut merged = base.clone();
        overlay::merge(&mut merged, &over).map_err(|e| {
            let k = e.key.clone().unwrap_or_default();
            e.key(at(&k))
        })?;
        let in_sub = |e: InputError| -> InputError {
            let mut e = e;
            e.message = format!("in subscriber `{name}`: {}", e.message);
            let own = e.key.as_deref().is_some_and(|k| has_path(&over, k));
            match e.key.clone() {
                Some(k) if own => e.key(at(&k)),
                Some(_) => e,
                None => e.key(at("")),
            }
        };
        let raw: RawScenario = super::typed(&merged).map_err(in_sub)?;
        let mut run = validate::scenario(&raw, s.variant.as_deref(), cx).map_err(in_sub)?;
        if run.queue.overflow == Overflow::Block {
            return Err(in_sub(
                InputError::of(
                    ErrorKind::Conflict,
                    "`block` would make one subscriber's full queue hold back the producers and so every other subscriber",
                )
                .key("queue.overflow")
                .allowed("\"reject\" or \"drop-oldest\" for a subscriber's queue"),
            ));
        }
        run.producers = takes.iter().map(|&k| run.producers[k].clone()).collect();
        run.stream_salt = salt(&name);
        out.push(Subscriber {
            name,
            producers: takes.iter().map(|&k| s.producers[k].name.clone()).collect(),
            run: Box::new(run),
        });
    }
    if let Some(k) = fed.iter().position(|f| !f) {
        return Err(InputError::of(ErrorKind::Conflict, format!(
            "producer `{}` feeds no subscriber: its messages would vanish uncounted",
            s.producers[k].name
        ))
        .key("subscribers")
        .hint("add it to a subscriber's `producers`, or leave `producers` out (a subscriber without it takes every producer)"));
    }
    s.subscribers = out;
    Ok(())
}

/// True when the dotted `path` (first segment at least) is present in `t`.
fn has_path(t: &Table, path: &str) -> bool {
    let mut segs = path.split('.');
    let Some(first) = segs.next() else {
        return false;
    };
    let mut v = match t.get(first) {
        Some(v) => v,
        None => return false,
    };
    // A missing key inside a table the subscriber set (`consumers.service.value` when it
    // wrote its own `service`) is the subscriber's too.
    for (depth, seg) in segs.enumerate() {
        v = match v {
            Value::Table(x) => match x.get(seg) {
                Some(n) => n,
                None => return depth >= 1,
            },
            Value::Array(a) => match seg.parse::<usize>().ok().and_then(|i| a.get(i)) {
                Some(n) => n,
                None => return depth >= 1,
            },
            _ => return true,
        };
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn salts_differ_by_name_and_are_never_zero() {
        assert_ne!(salt("email"), salt("invoice"));
        assert_ne!(salt(""), 0);
        assert_eq!(salt("email"), salt("email"));
    }

    #[test]
    fn paths_are_found_in_overlays() {
        let t: Table =
            toml::from_str("[consumers]\ncount = 3\nservice = { dist = \"constant\" }\n").unwrap();
        assert!(has_path(&t, "consumers.count"));
        assert!(has_path(&t, "consumers.service.value"));
        assert!(!has_path(&t, "consumers.other"));
        assert!(!has_path(&t, "queue.capacity"));
    }
}
