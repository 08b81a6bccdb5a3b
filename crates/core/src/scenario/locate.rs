//! Where a dotted key sits in a scenario file, and which key a byte offset belongs to.
//!
//! Used to put a file, line and column on errors that are found after parsing (a value out
//! of range, a variant's bad key). Parsing for spans is done again on demand: it only runs
//! when there is an error to report.

use std::ops::Range;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// The span of the key named by `path` (e.g. `["producers", "0", "rate"]`); for an array
/// element, the span of the element.
pub(super) fn span_of(text: &str, path: &[&str]) -> Option<Range<usize>> {
    let doc = DeTable::parse(text).ok()?;
    let mut table: &DeTable = doc.get_ref();
    let mut found: Option<Range<usize>> = None;
    let mut value: Option<&Spanned<DeValue>> = None;
    for seg in path {
        if let Some(v) = value {
            match v.get_ref() {
                DeValue::Table(t) => table = t,
                DeValue::Array(a) => {
                    let i: usize = seg.parse().ok()?;
                    let elem = a.get(i)?;
                    found = Some(elem.span());
                    value = Some(elem);
                    continue;
                }
                _ => return found,
            }
        }
        let (k, v) = table.iter().find(|(k, _)| k.get_ref().as_ref() == *seg)?;
        found = Some(k.span());
        value = Some(v);
    }
    found
}

/// The dotted path of the innermost key whose key or value covers `offset`.
pub(super) fn path_at(text: &str, offset: usize) -> Option<String> {
    let doc = DeTable::parse(text).ok()?;
    let mut path = Vec::new();
    walk_table(doc.get_ref(), offset, &mut path);
    if path.is_empty() {
        None
    } else {
        Some(path.join("."))
    }
}

fn walk_table(t: &DeTable, offset: usize, path: &mut Vec<String>) -> bool {
    for (k, v) in t.iter() {
        let ks = k.span();
        if ks.contains(&offset) {
            path.push(k.get_ref().to_string());
            return true;
        }
        if v.span().contains(&offset) || ks.start == offset {
            path.push(k.get_ref().to_string());
            walk_value(v, offset, path);
            return true;
        }
    }
    // Sub-tables declared with [headers] may have spans that do not cover their body: search.
    for (k, v) in t.iter() {
        if let DeValue::Table(inner) = v.get_ref() {
            path.push(k.get_ref().to_string());
            if walk_table(inner, offset, path) {
                return true;
            }
            path.pop();
        } else if let DeValue::Array(a) = v.get_ref() {
            for (i, e) in a.iter().enumerate() {
                if let DeValue::Table(inner) = e.get_ref() {
                    path.push(k.get_ref().to_string());
                    path.push(i.to_string());
                    if walk_table(inner, offset, path) {
                        return true;
                    }
                    path.pop();
                    path.pop();
                }
            }
        }
    }
    false
}

fn walk_value(v: &Spanned<DeValue>, offset: usize, path: &mut Vec<String>) {
    match v.get_ref() {
        DeValue::Table(t) => {
            walk_table(t, offset, path);
        }
        DeValue::Array(a) => {
            for (i, e) in a.iter().enumerate() {
                if e.span().contains(&offset) {
                    path.push(i.to_string());
                    walk_value(e, offset, path);
                    return;
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "name = \"x\"\n\n[[producers]]\nname = \"a\"\nrate = 5.0\n\n[consumers]\ncount = 0\nservice = { dist = \"constant\", value = 1 }\n";

    fn line_of(offset: usize) -> usize {
        DOC[..offset].matches('\n').count() + 1
    }

    #[test]
    fn finds_keys_in_tables_and_arrays() {
        let s = span_of(DOC, &["consumers", "count"]).unwrap();
        assert_eq!(line_of(s.start), 8);
        let s = span_of(DOC, &["producers", "0", "rate"]).unwrap();
        assert_eq!(line_of(s.start), 5);
        let s = span_of(DOC, &["consumers", "service", "value"]).unwrap();
        assert_eq!(line_of(s.start), 9);
        assert!(span_of(DOC, &["queue", "capacity"]).is_none());
    }

    #[test]
    fn names_the_key_at_an_offset() {
        let off = DOC.find("count = 0").unwrap() + 8;
        assert_eq!(path_at(DOC, off).as_deref(), Some("consumers.count"));
        let off = DOC.find("rate = 5.0").unwrap() + 7;
        assert_eq!(path_at(DOC, off).as_deref(), Some("producers.0.rate"));
    }
}
