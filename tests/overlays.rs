//! Overlays that take away and scale: a variant's `unset`, `--set KEY=` (an empty value
//! removes the key) and a producer's `scale`.

use crate::common::{load, queuelab};
use queuelab::error::ErrorKind;
use queuelab::scenario::{parse, Overrides};

const BOUNDED: &str = r#"name = "b"
duration = "1m"
[[producers]]
name = "orders"
rate = 50.0
schedule = [ { at = "30s", rate = 80.0 } ]
[queue]
capacity = 100
[consumers]
count = 2
service = { dist = "exponential", mean = "10ms" }
[retry]
max_attempts = 3
[[variants]]
name = "generic"
[[variants]]
name = "kafka"
unset = ["queue.capacity", "retry"]
broker = { kind = "kafka", partitions = 4 }
"#;

#[test]
fn a_variant_can_unset_what_its_base_sets() {
    let f = load(BOUNDED);
    let kafka = &f.variants[1];
    assert_eq!(kafka.queue.capacity, None);
    assert_eq!(kafka.retry.max_attempts, 1, "[retry] removed: the default");
    assert_eq!(kafka.broker.name(), "kafka");
    assert_eq!(
        f.variants[0].queue.capacity,
        Some(100),
        "the other variant keeps it"
    );
    // Without the unset the Kafka variant is refused, and the hint says how to fix it.
    let e = parse(
        &BOUNDED.replace("unset = [\"queue.capacity\", \"retry\"]\n", ""),
        "b.toml",
        &Overrides::default(),
    )
    .unwrap_err();
    assert!(
        e.hint
            .as_deref()
            .unwrap_or("")
            .contains("unset = [\"queue.capacity\"]"),
        "{e}"
    );
    // Unsetting what the base does not set is an error at the variant's own line.
    let e = parse(
        &BOUNDED.replace("\"retry\"]", "\"queue.ttl\"]"),
        "b.toml",
        &Overrides::default(),
    )
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Missing, "{e}");
    assert_eq!(e.line, Some(18), "{e}");
    assert!(
        e.message.contains("in variant `kafka`") && e.message.contains("`queue.ttl` is not set"),
        "{e}"
    );
    // `unset` must be a list of keys.
    let e = parse(
        &BOUNDED.replace(
            "unset = [\"queue.capacity\", \"retry\"]",
            "unset = \"queue.capacity\"",
        ),
        "b.toml",
        &Overrides::default(),
    )
    .unwrap_err();
    assert_eq!((e.kind, e.line), (ErrorKind::WrongType, Some(18)), "{e}");
}

#[test]
fn an_empty_set_value_unsets() {
    let mut o = Overrides::default();
    o.set("queue.capacity", "");
    let f = parse(BOUNDED, "b.toml", &o).unwrap();
    assert_eq!(f.base.queue.capacity, None);
    assert!(f.variants.iter().all(|v| v.queue.capacity.is_none()));
    // An empty string is still a value.
    let mut o = Overrides::default();
    o.set("description", "\"\"");
    assert_eq!(parse(BOUNDED, "b.toml", &o).unwrap().base.description, "");
    // The command line: `--set queue.capacity=` runs the base unbounded.
    let tmp = tempfile::tempdir().unwrap();
    let scen = tmp.path().join("b.toml");
    std::fs::write(&scen, BOUNDED).unwrap();
    let out = queuelab()
        .arg("run")
        .arg(&scen)
        .args([
            "--variant",
            "generic",
            "--set",
            "queue.capacity=",
            "--format",
            "json",
            "--no-plots",
            "--out",
        ])
        .arg(tmp.path().join("o"))
        .assert()
        .success();
    let s: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let s = if s.is_array() { s[0].clone() } else { s };
    assert!(s["queue"]["capacity"].is_null(), "{}", s["queue"]);
    let mut o = Overrides::default();
    o.set("queue.ttl", "");
    let e = parse(BOUNDED, "b.toml", &o).unwrap_err();
    assert_eq!(e.file.as_deref(), Some("--set queue.ttl="), "{e}");
}

#[test]
fn scale_multiplies_a_whole_traffic_profile() {
    let f = load(&BOUNDED.replace("rate = 50.0\n", "rate = 50.0\nscale = 2.5\n"));
    let p = &f.base.producers[0];
    assert_eq!(p.rate, 125.0);
    assert_eq!(p.schedule, vec![(30_000_000_000, 200.0)]);
    // By name from the command line, for what-ifs.
    let mut o = Overrides::default();
    o.set("producers.orders.scale", "2");
    let f = parse(BOUNDED, "b.toml", &o).unwrap();
    assert_eq!(
        (f.base.producers[0].rate, f.base.producers[0].schedule[0].1),
        (100.0, 160.0)
    );
    assert_eq!(f.variants[1].producers[0].rate, 100.0);
    o.sets[0].1 = "-1".into();
    let e = parse(BOUNDED, "b.toml", &o).unwrap_err();
    assert_eq!(
        e.file.as_deref(),
        Some("--set producers.orders.scale=-1"),
        "{e}"
    );
    assert_eq!(e.key.as_deref(), Some("producers.0.scale"), "{e}");
}
