//! Overlays on the scenario document: `[[variants]]` tables and `--set KEY=VALUE`.
//!
//! Both work on the parsed TOML document before it is typed, with the same dotted paths
//! as the file (`consumers.count`, `client.mode`, `producers.0.rate`): a numeric segment
//! indexes an array of tables.

use crate::error::{clip, ErrorKind, InputError};
use toml::{Table, Value};

/// Parses the right-hand side of `--set` / `--vary`: a TOML value, or else a bare string
/// (so `client.mode=sync` works without quotes).
pub fn parse_value(text: &str) -> Value {
    let doc = format!("v = {text}");
    match toml::from_str::<Table>(&doc) {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| Value::String(text.to_string())),
        Err(_) => Value::String(text.to_string()),
    }
}

/// Splits `KEY=VALUE`.
///
/// # Errors
/// [`ErrorKind::BadOverride`], blamed on `flag`, when `arg` has no `=` or no key.
pub fn split_assignment(arg: &str, flag: &str) -> Result<(String, String), InputError> {
    match arg.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.trim().to_string())),
        _ => Err(InputError::of(
            ErrorKind::BadOverride,
            format!("`{}` is not KEY=VALUE", clip(arg, 80)),
        )
        .in_file(flag.to_string())
        .allowed("KEY=VALUE with a dotted key from the scenario file, e.g. consumers.count=8")),
    }
}

/// The most parts a dotted key may have: the deepest scenario key has 5
/// (`subscribers.0.consumers.service.mean`); a little room is left for tables of tables.
pub const MAX_KEY_PARTS: usize = 8;

fn segments(path: &str) -> Result<Vec<&str>, InputError> {
    let segs: Vec<&str> = path.split('.').collect();
    if segs.iter().any(|s| s.is_empty()) {
        return Err(InputError::of(
            ErrorKind::BadOverride,
            format!("`{}` is not a dotted key", clip(path, 80)),
        )
        .key(clip(path, 80))
        .allowed("keys joined by dots, e.g. consumers.count or producers.0.rate"));
    }
    if segs.len() > MAX_KEY_PARTS {
        return Err(InputError::of(
            ErrorKind::BadOverride,
            format!(
                "a key with {} parts is deeper than any scenario key (they have at most 5, e.g. subscribers.0.consumers.service.mean)",
                segs.len()
            ),
        )
        .key(clip(path, 80)));
    }
    Ok(segs)
}

/// Sets `path` (dotted) to `value` in `doc`, creating tables on the way. Returns the path
/// with list entries named by their index (`producers.0.rate` for
/// `producers.checkout.rate`), as validation names keys.
///
/// # Errors
/// [`ErrorKind::BadOverride`] for a malformed path or one that goes through a value that
/// is not a table, [`ErrorKind::UnknownName`] for a list entry that is not there.
pub fn set_path(doc: &mut Table, path: &str, value: Value) -> Result<String, InputError> {
    let segs = segments(path)?;
    let mut canon = Vec::new();
    walk(doc, &segs, &mut canon, path, Some(value))?;
    Ok(canon.join("."))
}

/// Removes `path` (dotted) from `doc`: a key of a table, or an entry of a list. Returns the
/// path as [`set_path`] does.
///
/// # Errors
/// As [`set_path`], and [`ErrorKind::Missing`] when the key is not set (there is
/// nothing to remove).
pub fn unset_path(doc: &mut Table, path: &str) -> Result<String, InputError> {
    let segs = segments(path)?;
    let mut canon = Vec::new();
    walk(doc, &segs, &mut canon, path, None)?;
    Ok(canon.join("."))
}

/// True when one dotted key is the other or lies under it (`consumers` and
/// `consumers.count`).
pub fn overlaps(a: &str, b: &str) -> bool {
    let under = |x: &str, y: &str| x == y || x.starts_with(y) && x[y.len()..].starts_with('.');
    under(a, b) || under(b, a)
}

/// Goes down `segs` from the table `t`; at the last one sets `value`, or removes the key
/// when `value` is `None`. `canon` collects the path walked, with list indexes.
fn walk(
    t: &mut Table,
    segs: &[&str],
    canon: &mut Vec<String>,
    full: &str,
    value: Option<Value>,
) -> Result<(), InputError> {
    let (first, rest) = (segs[0], &segs[1..]);
    canon.push(first.to_string());
    if rest.is_empty() {
        return match value {
            Some(v) => {
                t.insert(first.to_string(), v);
                Ok(())
            }
            None => match t.remove(first) {
                Some(_) => Ok(()),
                None => Err(not_set(full)),
            },
        };
    }
    let entry = match (t.contains_key(first), &value) {
        (false, None) => return Err(not_set(full)),
        _ => t
            .entry(first.to_string())
            .or_insert_with(|| Value::Table(Table::new())),
    };
    walk_value(entry, rest, canon, full, value)
}

fn walk_value(
    v: &mut Value,
    segs: &[&str],
    canon: &mut Vec<String>,
    full: &str,
    value: Option<Value>,
) -> Result<(), InputError> {
    match v {
        Value::Table(t) => walk(t, segs, canon, full, value),
        Value::Array(a) => {
            let i: usize = index_of(a, segs[0]).ok_or_else(|| {
                InputError::of(
                    ErrorKind::UnknownName,
                    format!(
                        "`{}` is not in the list `{}`: index it with a number or the `name` of an entry",
                        clip(segs[0], 60),
                        canon.join(".")
                    ),
                )
                .key(clip(full, 80))
                .allowed(names_of(a))
                .hint(format!("e.g. {}.0.…", canon.join(".")))
            })?;
            let len = a.len();
            if i >= len {
                return Err(InputError::of(
                    ErrorKind::UnknownName,
                    format!(
                        "index {i} is out of range: `{}` has {len} entries",
                        canon.join(".")
                    ),
                )
                .key(clip(full, 80))
                .allowed(names_of(a)));
            }
            canon.push(i.to_string());
            if segs.len() == 1 {
                match value {
                    Some(x) => a[i] = x,
                    None => {
                        a.remove(i);
                    }
                }
                Ok(())
            } else {
                walk_value(&mut a[i], &segs[1..], canon, full, value)
            }
        }
        other => Err(InputError::of(
            ErrorKind::BadOverride,
            format!(
                "`{}` is {}, not a table: there is no `{}` inside it",
                canon.join("."),
                what(other),
                clip(segs[0], 60)
            ),
        )
        .key(canon.join("."))),
    }
}

/// A TOML value's type, in words.
fn what(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Integer(_) => "a whole number",
        Value::Float(_) => "a number",
        Value::Boolean(_) => "true or false",
        Value::Datetime(_) => "a date",
        Value::Array(_) => "a list",
        Value::Table(_) => "a table",
    }
}

fn not_set(full: &str) -> InputError {
    InputError::of(
        ErrorKind::Missing,
        format!(
            "`{}` is not set: there is nothing to remove",
            clip(full, 80)
        ),
    )
    .key(clip(full, 80))
    .hint("only keys the scenario sets can be unset; an unset key takes its default")
}

/// The position `seg` names in a list: a number, or the `name` of a table in it
/// (`producers.checkout.rate`, `subscribers.email.consumers.count`). A number past the
/// end is returned as is (the caller reports it as out of range).
fn index_of(a: &[Value], seg: &str) -> Option<usize> {
    seg.parse().ok().or_else(|| {
        a.iter()
            .position(|v| v.get("name").and_then(Value::as_str) == Some(seg))
    })
}

/// `0 ..= n-1` and the names of the list's entries, for error messages.
fn names_of(a: &[Value]) -> String {
    let mut s = if a.is_empty() {
        "the list is empty".to_string()
    } else {
        format!("0 ..= {}", a.len() - 1)
    };
    for v in a {
        if let Some(n) = v.get("name").and_then(Value::as_str) {
            s.push_str(&format!(", {n}"));
        }
    }
    s
}

/// Merges `overlay` over `base`: tables merge key by key, a table whose keys are numbers
/// (or the `name`s of entries) merges into the elements of an array, anything else
/// replaces.
///
/// # Errors
/// [`ErrorKind::UnknownName`] for a list entry that is not there.
pub fn merge(base: &mut Table, overlay: &Table) -> Result<(), InputError> {
    for (k, v) in overlay {
        match (base.get_mut(k), v) {
            (Some(Value::Table(b)), Value::Table(o)) => merge(b, o)?,
            (Some(Value::Array(b)), Value::Table(o)) => {
                for (ik, iv) in o {
                    let i: usize = index_of(b, ik).ok_or_else(|| {
                        InputError::of(ErrorKind::UnknownName, format!(
                            "`{k}` is a list: index it with a number or the `name` of an entry, not `{ik}`"
                        ))
                        .key(format!("{k}.{ik}"))
                        .allowed(names_of(b))
                    })?;
                    let len = b.len();
                    let elem = b.get_mut(i).ok_or_else(|| {
                        InputError::of(
                            ErrorKind::UnknownName,
                            format!("index {i} is out of range: `{k}` has {len} entries"),
                        )
                        .key(format!("{k}.{ik}"))
                    })?;
                    match (elem, iv) {
                        (Value::Table(bt), Value::Table(ot)) => merge(bt, ot)?,
                        (e, iv) => *e = iv.clone(),
                    }
                }
            }
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Table {
        toml::from_str(
            "[client]\nmode = \"async\"\n[[producers]]\nrate = 1.0\n[[producers]]\nrate = 2.0\n",
        )
        .unwrap()
    }

    #[test]
    fn set_reaches_nested_and_indexed_keys() {
        let mut d = doc();
        set_path(&mut d, "client.mode", parse_value("sync")).unwrap();
        set_path(&mut d, "producers.1.rate", parse_value("7.5")).unwrap();
        set_path(&mut d, "queue.capacity", parse_value("10")).unwrap();
        assert_eq!(d["client"]["mode"].as_str(), Some("sync"));
        assert_eq!(d["producers"][1]["rate"].as_float(), Some(7.5));
        assert_eq!(d["queue"]["capacity"].as_integer(), Some(10));
        let err = set_path(&mut d, "producers.5.rate", Value::Float(1.0)).unwrap_err();
        assert!(err.message.contains("out of range"));
        assert_eq!(err.kind, ErrorKind::UnknownName);
        let named: Table =
            toml::from_str("[[subscribers]]\nname = \"email\"\n[[subscribers]]\nname = \"bi\"\n")
                .unwrap();
        let mut n = named.clone();
        set_path(&mut n, "subscribers.bi.consumers.count", parse_value("3")).unwrap();
        assert_eq!(
            n["subscribers"][1]["consumers"]["count"].as_integer(),
            Some(3)
        );
        let err = set_path(&mut n, "subscribers.sms.queue.capacity", parse_value("3")).unwrap_err();
        assert!(
            err.allowed.as_deref().unwrap().contains("email, bi"),
            "{err:?}"
        );
        let o: Table = toml::from_str("subscribers.email.queue.capacity = 5\n").unwrap();
        merge(&mut n, &o).unwrap();
        assert_eq!(
            n["subscribers"][0]["queue"]["capacity"].as_integer(),
            Some(5)
        );
    }

    #[test]
    fn set_and_unset_name_the_right_part() {
        let mut d = doc();
        d.insert(
            "consumers".into(),
            toml::from_str::<Table>("count = 2").unwrap().into(),
        );
        let e = set_path(&mut d, "consumers.count.x", parse_value("3")).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("consumers.count"));
        assert!(
            e.message.contains(
                "`consumers.count` is a whole number, not a table: there is no `x` inside it"
            ),
            "{}",
            e.message
        );
        let named: Table = toml::from_str("[[producers]]\nname = \"p\"\nrate = 1.0\n").unwrap();
        let mut n = named.clone();
        assert_eq!(
            set_path(&mut n, "producers.p.rate", parse_value("-1")).unwrap(),
            "producers.0.rate"
        );
        assert_eq!(
            unset_path(&mut n, "producers.p.rate").unwrap(),
            "producers.0.rate"
        );
        assert!(n["producers"][0].get("rate").is_none());
        let e = unset_path(&mut n, "queue.capacity").unwrap_err();
        assert!(e.message.contains("is not set"), "{}", e.message);
        let deep = vec!["a"; 120].join(".");
        let e = set_path(&mut n, &deep, parse_value("1")).unwrap_err();
        assert!(e.message.contains("120 parts"), "{}", e.message);
        assert!(
            overlaps("consumers", "consumers.count")
                && !overlaps("consumers.count", "consumers.counter")
        );
    }

    #[test]
    fn merge_overlays_variants() {
        let mut d = doc();
        let o: Table = toml::from_str("client.mode = \"sync\"\nproducers.0.rate = 9.0\n").unwrap();
        merge(&mut d, &o).unwrap();
        assert_eq!(d["client"]["mode"].as_str(), Some("sync"));
        assert_eq!(d["producers"][0]["rate"].as_float(), Some(9.0));
        assert_eq!(d["producers"][1]["rate"].as_float(), Some(2.0));
    }

    #[test]
    fn values_parse_as_toml_or_strings() {
        assert_eq!(parse_value("8").as_integer(), Some(8));
        assert_eq!(parse_value("\"2s\"").as_str(), Some("2s"));
        assert_eq!(parse_value("2s").as_str(), Some("2s"));
        assert_eq!(parse_value("true").as_bool(), Some(true));
    }
}
