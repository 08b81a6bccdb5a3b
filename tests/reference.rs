//! docs/reference.md is kept true: every scenario key it lists is one the parser accepts
//! and every key the parser accepts is listed (the accepted keys are read from the serde
//! structs themselves, so a new field breaks this test until it is documented); every
//! allowed word of a closed list is listed, and every word listed is one the parser
//! accepts; every summary.json field it lists is in the summaries of real runs, and every
//! field those runs write is listed; every flag it lists is one the command has, and
//! every flag a command's `--help` shows is listed.

use crate::common::{queuelab, root};
use queuelab::scenario::raw::RawScenario;
use serde::de::{
    self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};
use serde::Deserialize;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

/// What the walk found: every leaf key (dotted, `[]` for list entries) and, for keys
/// whose value is one of a closed list of words, the words.
#[derive(Default)]
struct Found {
    keys: BTreeSet<String>,
    words: BTreeMap<String, Vec<&'static str>>,
}

/// A deserializer that answers every request with a value of the asked type and records
/// the struct fields it is asked for: serde's derived code names every field (and every
/// enum word) it accepts, so walking it lists the format.
///
/// Hand-written rather than a reflection crate because the duration type reads its value
/// with `deserialize_any` (a string or a number), which such crates refuse.
struct Walk<'a> {
    path: String,
    found: &'a RefCell<Found>,
}

impl<'a> Walk<'a> {
    fn at(&self, seg: &str) -> Walk<'a> {
        Walk {
            path: if self.path.is_empty() {
                seg.to_string()
            } else {
                format!("{}.{seg}", self.path)
            },
            found: self.found,
        }
    }
    fn leaf(&self) {
        self.found.borrow_mut().keys.insert(self.path.clone());
    }
}

type E = de::value::Error;

impl<'de> Deserializer<'de> for Walk<'_> {
    type Error = E;
    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, E> {
        // Only the duration type asks for "anything": a number of seconds will do.
        self.leaf();
        v.visit_f64(1.0)
    }
    fn deserialize_bool<V: Visitor<'de>>(self, v: V) -> Result<V::Value, E> {
        self.leaf();
        v.visit_bool(true)
    }
    fn deserialize_i64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, E> {
        self.leaf();
        v.visit_i64(1)
    }
    fn deserialize_f64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, E> {
        self.leaf();
        v.visit_f64(1.0)
    }
    fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Result<V::Value, E> {
        self.leaf();
        v.visit_str("constant")
    }
    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Result<V::Value, E> {
        self.deserialize_str(v)
    }
    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, E> {
        v.visit_some(self)
    }
    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, E> {
        v.visit_seq(One(Some(format!("{}[]", self.path)), self.found))
    }
    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, E> {
        // A free-form table (a subscriber, a variant): its keys are listed by the test.
        self.leaf();
        v.visit_map(de::value::MapDeserializer::new(std::iter::empty::<(
            String,
            String,
        )>()))
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, E> {
        v.visit_map(Fields {
            walk: self,
            fields,
            i: 0,
        })
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, E> {
        self.leaf();
        self.found
            .borrow_mut()
            .words
            .insert(self.path.clone(), variants.to_vec());
        v.visit_enum(variants[0].into_deserializer())
    }
    serde::forward_to_deserialize_any! {
        i8 i16 i32 i128 u8 u16 u32 u64 u128 f32 char bytes byte_buf unit unit_struct
        newtype_struct tuple tuple_struct identifier ignored_any
    }
}

/// The elements of a list: one, walked under `path[]`.
struct One<'a>(Option<String>, &'a RefCell<Found>);

impl<'de> SeqAccess<'de> for One<'_> {
    type Error = E;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, E> {
        match self.0.take() {
            Some(path) => seed
                .deserialize(Walk {
                    path,
                    found: self.1,
                })
                .map(Some),
            None => Ok(None),
        }
    }
}

/// A struct's fields, each walked under its own name.
struct Fields<'a> {
    walk: Walk<'a>,
    fields: &'static [&'static str],
    i: usize,
}

impl<'de> MapAccess<'de> for Fields<'_> {
    type Error = E;
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, E> {
        match self.fields.get(self.i) {
            Some(f) => seed.deserialize((*f).into_deserializer()).map(Some),
            None => Ok(None),
        }
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, E> {
        let f = self.fields[self.i];
        self.i += 1;
        seed.deserialize(self.walk.at(f))
    }
}

/// Every key the parser accepts, and the closed lists of words.
fn accepted() -> Found {
    let found = RefCell::new(Found::default());
    RawScenario::deserialize(Walk {
        path: String::new(),
        found: &found,
    })
    .expect("walk");
    let mut f = found.into_inner();
    // The free-form tables: a subscriber's and a variant's own keys.
    f.keys.remove("subscribers[]");
    f.keys.remove("variants[]");
    for k in queuelab::scenario::subscribers::KEYS {
        f.keys.insert(format!("subscribers[].{k}"));
    }
    for k in queuelab::scenario::VARIANT_KEYS {
        f.keys.insert(format!("variants[].{k}"));
    }
    f
}

/// The rows of the tables under the heading `## {title}` of docs/reference.md: the first
/// cell's backticked name and the whole row.
fn rows(title: &str) -> Vec<(String, String)> {
    let text =
        std::fs::read_to_string(root().join("docs/reference.md")).expect("docs/reference.md");
    let start = text
        .find(&format!("\n## {title}\n"))
        .unwrap_or_else(|| panic!("no section `## {title}`"));
    let body = &text[start + 4..];
    let body = &body[..body.find("\n## ").unwrap_or(body.len())];
    body.lines()
        .filter_map(|l| {
            let cell = l.strip_prefix("| `")?;
            let name = cell.split('`').next()?;
            Some((name.to_string(), l.to_string()))
        })
        .collect()
}

#[test]
fn the_reference_lists_every_scenario_key_and_only_those() {
    let f = accepted();
    assert!(
        f.keys.len() >= 90,
        "the walk found only {} keys",
        f.keys.len()
    );
    let listed: BTreeMap<String, String> = rows("Scenario keys").into_iter().collect();
    let names: BTreeSet<String> = listed.keys().cloned().collect();
    let missing: Vec<&String> = f.keys.difference(&names).collect();
    let extra: Vec<&String> = names.difference(&f.keys).collect();
    assert!(
        missing.is_empty(),
        "accepted but not in docs/reference.md: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "in docs/reference.md but not accepted: {extra:?}"
    );
    for (key, words) in &f.words {
        let row = &listed[key];
        for w in words {
            assert!(
                row.contains(&format!("`{w}`")),
                "`{key}`: the word `{w}` is not in its row: {row}"
            );
        }
    }
}

/// The words a closed-list row of the scenario keys lists: the backticked words of its
/// "allowed" cell up to the first `;` (after it come the conditions, such as the broker
/// kinds the key belongs to: `` `classic`, `quorum`; `rabbitmq` ``), and its default
/// when that is one backticked word.
fn listed_words(row: &str) -> Vec<String> {
    // | key | type | default | allowed, units | meaning |
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    assert!(cells.len() >= 7, "not a row of five cells: {row}");
    let (default, allowed) = (cells[3], cells[4]);
    let allowed = allowed.split(';').next().unwrap_or_default();
    let mut words: Vec<String> = allowed
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    if let Some(w) = default
        .strip_prefix('`')
        .and_then(|d| d.strip_suffix('`'))
        .filter(|w| !w.contains('`'))
    {
        words.push(w.to_string());
    }
    words
}

/// The two closed lists the serde walk cannot see (plain strings checked by validation):
/// the service law and the unit of bare sample values. A bad word's error lists what the
/// parser allows; the reference's row must list exactly those.
#[test]
fn the_reference_lists_the_service_laws_and_units_the_parser_allows() {
    let base = "name = \"t\"\nduration = 10\n[[producers]]\nrate = 1\n[consumers]\ncount = 1\n";
    let listed: BTreeMap<String, String> = rows("Scenario keys").into_iter().collect();
    for (key, service) in [
        (
            "consumers.service.dist",
            "service = { dist = \"nope\", mean = \"1s\" }",
        ),
        (
            "consumers.service.unit",
            "service = { dist = \"empirical\", samples = \"x.csv\", unit = \"nope\" }",
        ),
    ] {
        let text = format!("{base}{service}\n");
        let e =
            queuelab::scenario::parse(&text, "t.toml", &queuelab::scenario::Overrides::default())
                .expect_err("a bad word is refused");
        assert_eq!(e.key.as_deref(), Some(key), "{e}");
        let mut allowed: Vec<String> = e
            .allowed
            .as_deref()
            .unwrap_or_else(|| panic!("{key}: the error lists nothing allowed: {e}"))
            .split(", ")
            .map(str::to_string)
            .collect();
        let row = listed
            .get(key)
            .unwrap_or_else(|| panic!("`{key}` is not in docs/reference.md"));
        let mut said = listed_words(row);
        allowed.sort();
        said.sort();
        assert_eq!(said, allowed, "{key}: the reference against the parser");
    }
}

#[test]
fn every_word_the_reference_lists_is_one_the_parser_accepts() {
    let f = accepted();
    assert!(
        f.words.len() >= 10,
        "the walk found only {} closed lists",
        f.words.len()
    );
    let listed: BTreeMap<String, String> = rows("Scenario keys").into_iter().collect();
    for (key, words) in &f.words {
        let row = listed
            .get(key)
            .unwrap_or_else(|| panic!("`{key}` is not in docs/reference.md"));
        let said = listed_words(row);
        assert!(
            said.len() >= 2,
            "`{key}`: its row lists fewer than two words: {row}"
        );
        for w in &said {
            assert!(
                words.contains(&w.as_str()),
                "`{key}`: docs/reference.md lists `{w}`, which the parser refuses (it accepts {words:?}): {row}"
            );
        }
    }
}

/// Every field path of a JSON value (`latency.end_to_end.p99`, `recovery[].kind`).
fn paths(v: &serde_json::Value, at: &str, out: &mut BTreeSet<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                let p = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                out.insert(p.clone());
                paths(x, &p, out);
            }
        }
        serde_json::Value::Array(a) => {
            for x in a {
                paths(x, &format!("{at}[]"), out);
            }
        }
        _ => {}
    }
}

/// The fields written by runs of bundled lessons that between them use every feature:
/// plain, bounded, brokers, fan-out, cost, autoscaling, priorities, disturbances. A
/// subscriber's entry is a complete summary: its fields are the top-level ones.
fn written_fields() -> BTreeSet<String> {
    use rayon::prelude::*;
    let names = [
        "flash_sale",
        "broker_choice",
        "checkout_fanout",
        "autoscaling",
        "downstream_outage",
        "kafka_partitions",
        "rabbitmq_poison",
        "at_least_once",
        "sync_vs_async",
        "restart_backlog",
        "noisy_neighbour",
        "retry_storm",
        "backpressure",
        // Lognormal service, steady Poisson load: writes `gg_approximation`.
        "when_not_to_queue",
    ];
    let runs: Vec<queuelab::scenario::Scenario> = names
        .iter()
        .flat_map(|name| {
            let text =
                std::fs::read_to_string(root().join(format!("scenarios/{name}.toml"))).unwrap();
            let file = queuelab::scenario::parse(&text, name, &Default::default()).unwrap();
            file.runs().into_iter().cloned().collect::<Vec<_>>()
        })
        .collect();
    let sets: Vec<BTreeSet<String>> = runs
        .par_iter()
        .map(|s| {
            let mut seen = BTreeSet::new();
            paths(
                &serde_json::to_value(&queuelab::sim::run(s).summary).unwrap(),
                "",
                &mut seen,
            );
            seen
        })
        .collect();
    sets.into_iter()
        .flatten()
        .map(|p| match p.strip_prefix("subscribers[].") {
            Some(rest) if rest != "name" && rest != "producers" => rest.to_string(),
            _ => p,
        })
        .collect()
}

#[test]
fn the_reference_lists_every_summary_field_and_only_those() {
    let seen = written_fields();
    let listed: BTreeSet<String> = rows("summary.json").into_iter().map(|(n, _)| n).collect();
    let missing: Vec<&String> = seen.difference(&listed).collect();
    let extra: Vec<&String> = listed.difference(&seen).collect();
    assert!(
        extra.is_empty(),
        "in docs/reference.md but in no summary: {extra:?}"
    );
    assert!(
        missing.is_empty(),
        "written but not in docs/reference.md: {missing:?}"
    );
}

#[test]
fn the_reference_lists_the_time_series_columns_in_order() {
    let listed: Vec<String> = rows("timeseries.csv").into_iter().map(|(n, _)| n).collect();
    let header: Vec<String> = queuelab::metrics::timeseries::header()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(listed, header);
}

#[test]
fn the_reference_lists_only_flags_the_commands_have() {
    let rows = rows("Commands and flags");
    assert!(rows.len() >= 9, "{} command rows", rows.len());
    for (name, row) in rows {
        // `queuelab run` rows name the command; the flags of that command follow in
        // the same row, each as `--flag`.
        let Some(cmd) = name.strip_prefix("queuelab ") else {
            continue;
        };
        let cmd = cmd.split_whitespace().next().unwrap();
        let help = help(&[cmd]);
        for flag in row_flags(&row) {
            assert!(
                help.contains(flag),
                "`queuelab {cmd}` has no {flag}:\n{help}"
            );
        }
    }
}

/// What `queuelab ARGS --help` prints.
fn help(args: &[&str]) -> String {
    let out = queuelab().args(args).arg("--help").output().unwrap();
    assert!(out.status.success(), "queuelab {args:?} --help failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The flags a row of "Commands and flags" names: every backticked `--flag` (with or
/// without a value after it, `--broker amqp://...`, `--set KEY=VALUE`).
fn row_flags(row: &str) -> Vec<&str> {
    row.split('`')
        .filter(|c| c.starts_with("--"))
        .map(|c| c.split([' ', '=']).next().unwrap())
        .collect()
}

/// The lines of a section of clap's help (`Commands:`, `Options:`), up to the blank line
/// that ends it.
fn help_section<'a>(help: &'a str, title: &str) -> Vec<&'a str> {
    help.lines()
        .skip_while(|l| *l != title)
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .collect()
}

#[test]
fn the_reference_lists_every_flag_the_commands_have() {
    let listed: BTreeMap<String, String> = rows("Commands and flags")
        .into_iter()
        .filter_map(|(name, row)| {
            let cmd = name.strip_prefix("queuelab ")?.split_whitespace().next()?;
            Some((cmd.to_string(), row))
        })
        .collect();
    // Every subcommand `queuelab --help` names (but clap's own `help`) has its row.
    let commands: Vec<String> = help_section(&help(&[]), "Commands:")
        .iter()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect();
    assert!(
        commands.len() >= 9,
        "{} commands: {commands:?}",
        commands.len()
    );
    for cmd in &commands {
        let row = listed
            .get(cmd)
            .unwrap_or_else(|| panic!("`queuelab {cmd}` has no row in docs/reference.md"));
        let said = row_flags(row);
        let help = help(&[cmd]);
        // An option line starts with its flags (`-h, --help`, `--out <OUT>`), then two
        // spaces or more, then its description.
        for line in help_section(&help, "Options:") {
            let spec = line.trim_start().split("  ").next().unwrap_or_default();
            for flag in spec
                .split([' ', ','])
                .filter(|t| t.starts_with('-'))
                // clap's own flags, the same on every command, are not repeated in the
                // reference: -h/--help everywhere, -V/--version (top level only).
                .filter(|t| !["-h", "--help", "-V", "--version"].contains(t))
            {
                assert!(
                    said.contains(&flag),
                    "`queuelab {cmd}` has {flag}, which its row of docs/reference.md does not list: {row}"
                );
            }
        }
    }
}
