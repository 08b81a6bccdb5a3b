//! Overlays on the scenario document: `[[variants]]` tables and `--set KEY=VALUE`.
//!
//! Both work on the parsed TOML document before it is typed, with the same dotted paths
//! as the file (`consumers.count`, `client.mode`, `producers.0.rate`): a numeric segment
//! indexes an array of tables.

use crate::error::InputError;
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
pub fn split_assignment(arg: &str, flag: &str) -> Result<(String, String), InputError> {
    match arg.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.trim().to_string())),
        _ => Err(InputError::new(format!("`{arg}` is not KEY=VALUE"))
            .in_file(flag.to_string())
            .allowed("KEY=VALUE with a dotted key from the scenario file, e.g. consumers.count=8")),
    }
}

/// Sets `path` (dotted) to `value` in `doc`, creating tables on the way.
pub fn set_path(doc: &mut Table, path: &str, value: Value) -> Result<(), InputError> {
    let segs: Vec<&str> = path.split('.').collect();
    if segs.iter().any(|s| s.is_empty()) {
        return Err(InputError::new(format!("`{path}` is not a dotted key")).key(path));
    }
    set_in_table(doc, &segs, value, path)
}

fn set_in_table(t: &mut Table, segs: &[&str], value: Value, full: &str) -> Result<(), InputError> {
    let (first, rest) = (segs[0], &segs[1..]);
    if rest.is_empty() {
        t.insert(first.to_string(), value);
        return Ok(());
    }
    let entry = t
        .entry(first.to_string())
        .or_insert_with(|| Value::Table(Table::new()));
    set_in_value(entry, rest, value, full)
}

fn set_in_value(v: &mut Value, segs: &[&str], value: Value, full: &str) -> Result<(), InputError> {
    match v {
        Value::Table(t) => set_in_table(t, segs, value, full),
        Value::Array(a) => {
            let i: usize = index_of(a, segs[0]).ok_or_else(|| {
                InputError::new(format!(
                    "`{}` is not in the list: index it with a number or the `name` of an entry",
                    segs[0]
                ))
                .key(full)
                .allowed(names_of(a))
                .hint(format!(
                    "e.g. {}.0.…",
                    full.split('.').next().unwrap_or(full)
                ))
            })?;
            let len = a.len();
            let elem = a.get_mut(i).ok_or_else(|| {
                InputError::new(format!(
                    "index {i} is out of range: the list has {len} entries"
                ))
                .key(full)
            })?;
            if segs.len() == 1 {
                *elem = value;
                Ok(())
            } else {
                set_in_value(elem, &segs[1..], value, full)
            }
        }
        _ => Err(InputError::new(format!(
            "cannot set a key inside `{}`: it is not a table",
            segs[0]
        ))
        .key(full)),
    }
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
/// merges into the elements of an array, anything else replaces.
pub fn merge(base: &mut Table, overlay: &Table) -> Result<(), InputError> {
    for (k, v) in overlay {
        match (base.get_mut(k), v) {
            (Some(Value::Table(b)), Value::Table(o)) => merge(b, o)?,
            (Some(Value::Array(b)), Value::Table(o)) => {
                for (ik, iv) in o {
                    let i: usize = index_of(b, ik).ok_or_else(|| {
                        InputError::new(format!(
                            "`{k}` is a list: index it with a number or the `name` of an entry, not `{ik}`"
                        ))
                        .key(format!("{k}.{ik}"))
                        .allowed(names_of(b))
                    })?;
                    let len = b.len();
                    let elem = b.get_mut(i).ok_or_else(|| {
                        InputError::new(format!(
                            "index {i} is out of range: `{k}` has {len} entries"
                        ))
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
