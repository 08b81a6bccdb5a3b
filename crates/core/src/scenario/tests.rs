use super::*;

const BASE: &str = r#"
name = "t"
duration = "10m"

[[producers]]
name = "web"
rate = 50.0
schedule = [ { at = "2m", rate = 500.0 } ]

[consumers]
count = 4
service = { dist = "exponential", mean = "40ms" }

[[variants]]
name = "sync"
client.mode = "sync"

[[variants]]
name = "more"
consumers.count = 8
producers.0.rate = 60.0
"#;

fn parse_ok(text: &str) -> ScenarioFile {
    parse(text, "t.toml", &Overrides::default()).unwrap_or_else(|e| panic!("{e}"))
}

fn parse_err(text: &str) -> InputError {
    parse(text, "t.toml", &Overrides::default()).expect_err("should be refused")
}

#[test]
fn defaults_make_a_textbook_queue() {
    let f = parse_ok(BASE);
    let s = &f.base;
    assert_eq!(s.seed, 1);
    assert_eq!(s.duration, 600_000_000_000);
    assert_eq!(s.warmup, 0);
    assert_eq!(s.sample_every, 1_000_000_000);
    assert_eq!(s.queue.capacity, None);
    assert_eq!(s.queue.overflow, Overflow::Reject);
    assert_eq!(s.retry.max_attempts, 1);
    assert!(s.dlq_enabled);
    assert_eq!(s.client.mode, ClientMode::Async);
    assert_eq!(s.producers[0].schedule, vec![(120_000_000_000, 500.0)]);
    assert_eq!(s.consumers.service, Service::Exponential(0.04));
}

#[test]
fn variants_overlay_the_base() {
    let f = parse_ok(BASE);
    assert_eq!(f.variants.len(), 2);
    assert_eq!(f.variants[0].variant.as_deref(), Some("sync"));
    assert_eq!(f.variants[0].client.mode, ClientMode::Sync);
    assert_eq!(f.variants[0].consumers.count, 4);
    assert_eq!(f.variants[1].consumers.count, 8);
    assert_eq!(f.variants[1].producers[0].rate, 60.0);
    assert_eq!(
        f.variants[1].producers[0].schedule.len(),
        1,
        "merge keeps the other keys"
    );
}

#[test]
fn set_applies_to_base_and_variants() {
    let mut o = Overrides::default();
    o.set("consumers.count", "16");
    o.set("client.timeout", "2s");
    let f = parse(BASE, "t.toml", &o).unwrap();
    assert_eq!(f.base.consumers.count, 16);
    assert!(f.variants.iter().all(|v| v.consumers.count == 16));
    assert_eq!(f.base.client.timeout, Some(2_000_000_000));
}

#[test]
fn unknown_key_is_located_with_a_suggestion() {
    let e = parse_err(
        "name = \"x\"\nduration = 10\n[[producers]]\nrate = 1.0\n[consumer]\ncount = 1\n",
    );
    assert_eq!(e.line, Some(5), "{e}");
    assert_eq!(e.hint.as_deref(), Some("did you mean `consumers`?"), "{e}");
    assert!(e.allowed.as_deref().unwrap_or("").contains("consumers"));
}

#[test]
fn nested_unknown_key_names_its_path() {
    let e = parse_err("name = \"x\"\nduration = 10\n[[producers]]\nrate = 1.0\n[consumers]\ncount = 1\nservice = { dist = \"exponential\", mean = 1 }\n[retry]\nmax_attempt = 3\n");
    assert_eq!(e.line, Some(9), "{e}");
    assert_eq!(e.key.as_deref(), Some("retry.max_attempt"), "{e}");
    assert_eq!(e.hint.as_deref(), Some("did you mean `max_attempts`?"));
}

#[test]
fn bad_values_name_key_line_and_rule() {
    let text = BASE.replace("count = 4", "count = 0");
    let e = parse_err(&text);
    assert_eq!(e.key.as_deref(), Some("consumers.count"));
    assert_eq!(e.line, Some(11), "{e}");
    assert!(e.message.contains("between 1 and"), "{e}");

    let e = parse_err(&BASE.replace("mean = \"40ms\"", "mean = \"40 parsecs\""));
    assert!(e.message.contains("unknown unit"), "{e}");
    assert_eq!(e.line, Some(12), "{e}");

    let e = parse_err(&BASE.replace("\"exponential\"", "\"exponentail\""));
    assert_eq!(
        e.hint.as_deref(),
        Some("did you mean `exponential`?"),
        "{e}"
    );

    let e = parse_err(&BASE.replace("rate = 50.0", "rate = -5.0"));
    assert_eq!(e.key.as_deref(), Some("producers.0.rate"));
}

#[test]
fn variant_errors_point_into_the_variant() {
    let text = BASE.replace("consumers.count = 8", "consumers.count = -1");
    let e = parse_err(&text);
    assert!(e.message.contains("variant `more`"), "{e}");
    assert_eq!(e.line, Some(20), "{e}");
    let text = BASE.replace("consumers.count = 8", "consumers.cuont = 8");
    let e = parse_err(&text);
    assert!(e.message.contains("cuont"), "{e}");
    assert_eq!(e.hint.as_deref(), Some("did you mean `count`?"), "{e}");
}

#[test]
fn syntax_errors_have_positions() {
    let e = parse_err("name = \"x\"\nduration = \n");
    assert_eq!(e.line, Some(2), "{e}");
}

#[test]
fn variant_selection() {
    let mut f = parse_ok(BASE);
    let e = f.clone().select_variant("snyc").unwrap_err();
    assert_eq!(e.hint.as_deref(), Some("did you mean `sync`?"));
    f.select_variant("more").unwrap();
    assert_eq!(f.runs().len(), 1);
}

#[test]
fn cross_checks() {
    let e = parse_err(&BASE.replace(
        "[[variants]]\nname = \"sync\"",
        "[delivery]\ncrash_rate = 0.1\n[[variants]]\nname = \"sync\"",
    ));
    assert_eq!(e.key.as_deref(), Some("delivery.crash_rate"), "{e}");
    let e = parse_err(&BASE.replace("duration = \"10m\"", "duration = \"10m\"\nwarmup = \"20m\""));
    assert_eq!(e.key.as_deref(), Some("warmup"));
}

#[test]
fn a_warm_backlog_past_what_message_ids_number_is_refused() {
    // Message ids are u32: a run keeps at most 2^31 messages alive (model::message::Slab).
    let doc = |n: u64| {
        format!(
            "name = \"t\"\nduration = \"1m\"\n[[producers]]\nrate = 1.0\n[queue]\ninitial_backlog = {n}\n[consumers]\ncount = 1\nservice = {{ dist = \"constant\", value = \"1ms\" }}\n"
        )
    };
    assert_eq!(parse_ok(&doc(1 << 31)).base.queue.initial_backlog, 1 << 31);
    let e = parse_err(&doc((1 << 31) + 1));
    assert_eq!(e.kind, ErrorKind::TooLarge);
    assert_eq!(e.key.as_deref(), Some("queue.initial_backlog"));
    assert!(e.message.contains("at most 2147483648"), "{}", e.message);
}
