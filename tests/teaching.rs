//! What the report, the findings and the quiz say about a run: every verdict with its rule,
//! every disturbance by its name, every sentence with its real cause.

use crate::common::{queuelab, root};
use queuelab::findings;
use queuelab::metrics::recovery::{Kind, RULE};
use queuelab::metrics::Summary;
use queuelab::scenario::{self, Overrides, Scenario, ScenarioFile};
use queuelab::sim;

fn load(name: &str) -> ScenarioFile {
    let path = root().join("scenarios").join(name);
    scenario::load(path.to_str().unwrap(), &Overrides::default()).unwrap_or_else(|e| panic!("{e}"))
}

fn variant(name: &str, v: &str) -> Scenario {
    let mut f = load(name);
    f.select_variant(v).unwrap_or_else(|e| panic!("{e}"));
    f.variants[0].clone()
}

fn run(name: &str, v: &str) -> Summary {
    sim::run(&variant(name, v)).summary
}

// Overlapping disturbances are measured together, against the level before the
// first. Before: checkout_fanout's event variant reported the spike at 9m as "no backlog
// built up" with 9,861 messages queued (its baseline was the outage's leftover backlog).
#[test]
fn overlapping_disturbances_are_measured_from_the_level_before_the_first() {
    let s = run("checkout_fanout.toml", "event");
    assert_eq!(s.recovery.len(), 1, "{:#?}", s.recovery);
    let d = &s.recovery[0];
    let kinds: Vec<Kind> = d.parts.iter().map(|p| p.kind).collect();
    assert_eq!(kinds, [Kind::Outage, Kind::Spike]);
    assert_eq!((d.start, d.end), (240.0, 660.0));
    assert!(d.baseline_backlog < 5.0, "{}", d.baseline_backlog);
    assert!(d.peak_backlog > 20_000, "{}", d.peak_backlog);
    assert!(d.recovered);
}

// For every bundled run: a verdict of "back to normal" is true of the time series
// at the moment it names, measured from a level no higher than the backlog at the start.
#[test]
fn every_back_to_normal_verdict_holds_in_the_time_series() {
    for f in std::fs::read_dir(root().join("scenarios")).unwrap() {
        let path = f.unwrap().path();
        // scenarios/data/ holds data files (and examples that are not bundled lessons).
        if path.extension().is_none_or(|x| x != "toml") {
            continue;
        }
        let file = scenario::load(path.to_str().unwrap(), &Overrides::default()).unwrap();
        for sc in file.runs() {
            let r = sim::run(sc);
            for d in &r.summary.recovery {
                let label = format!("{} {:?}: {d:?}", sc.name, sc.variant);
                let level = d.baseline_backlog
                    + (0.1 * (d.peak_backlog as f64 - d.baseline_backlog)).max(1.0);
                assert!((d.normal_level - level).abs() < 1e-9, "{label}");
                if let Some(t) = d.recovered_at {
                    let row = r.rows.iter().find(|x| x.time == t).expect("row");
                    assert!(row.backlog() as f64 <= d.normal_level, "{label}");
                    assert!(t >= d.end, "{label}");
                    // No later disturbance started before this one was back to normal.
                    assert!(
                        r.summary
                            .recovery
                            .iter()
                            .all(|o| o.start <= d.start || o.start >= t),
                        "{label}"
                    );
                }
                if let Some(e) = d.empty_seconds {
                    assert!(Some(e) >= d.drain_seconds, "{label}");
                    let row = r.rows.iter().find(|x| x.time == d.end + e).expect("row");
                    assert!(
                        row.backlog() as f64 <= d.baseline_backlog.floor(),
                        "{label}"
                    );
                }
            }
        }
    }
}

// The recovery rule is printed where the verdict appears (the run's text and the findings).
#[test]
fn the_recovery_rule_is_printed_with_the_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let out = queuelab()
        .args([
            "run",
            "scenarios/flash_sale.toml",
            "--variant",
            "bounded-8",
            "--no-plots",
            "--out",
        ])
        .arg(dir.path())
        .current_dir(root())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(RULE), "{text}");
    assert!(
        text.contains("back to normal (<= 5,000) 7m 25s after it ended, empty"),
        "{text}"
    );
    let s = run("flash_sale.toml", "bounded-8");
    let f = findings::sentences(&s);
    assert!(f[0].contains(RULE), "{f:?}");
    assert!(f[0].contains("here at most 5,000"), "{f:?}");
}

// A slowdown is a slowdown, a deploy a deploy, in recovery[] (and so in
// summary.json), in the report and in watch.
#[test]
fn disturbances_are_named_by_what_they_are() {
    let storm = run("retry_storm.toml", "no-retries");
    assert_eq!(storm.recovery[0].kind, Kind::Slowdown);
    let json = serde_json::to_value(&storm).unwrap();
    assert_eq!(json["recovery"][0]["kind"], "slowdown");
    let line = queuelab::report::text::disturbance_line(&storm.recovery[0]);
    assert!(line.starts_with("slowdown 2m 00s–2m 30s"), "{line}");
    let f = findings::sentences(&storm);
    assert!(
        f[0].starts_with("The slowdown of the downstream from 2m 00s to 2m 30s"),
        "{f:?}"
    );
    let deploy = run("decoupling.toml", "async");
    assert_eq!(deploy.recovery[0].kind, Kind::Deploy);
    let kinds: Vec<Kind> = sim::run(&load("dashboard_signals.toml").base)
        .summary
        .recovery
        .iter()
        .map(|d| d.kind)
        .collect();
    assert_eq!(kinds, [Kind::Spike, Kind::Slowdown, Kind::Outage]);
    let sc = variant("retry_storm.toml", "no-retries");
    let p = queuelab::watch::Player::new(&sc);
    assert_eq!(p.marks[0].label, "slowdown 2m 00s–2m 30s");
}

// After a warm start, both "back to normal" (the 10% rule: 0.9 x backlog / spare
// capacity) and "empty" (backlog / spare capacity) are reported.
#[test]
fn a_warm_start_reports_back_to_normal_and_empty() {
    for (v, spare, normal, empty) in [
        ("10-consumers", 100.0, 540.0, 600.0),
        ("20-consumers", 350.0, 154.0, 171.0),
    ] {
        let s = run("restart_backlog.toml", v);
        let d = &s.recovery[0];
        assert_eq!(d.kind, Kind::Restart);
        let drain = d.drain_seconds.unwrap();
        let e = d.empty_seconds.unwrap();
        assert!(
            (drain / normal - 1.0).abs() < 0.1,
            "{v}: back to normal {drain}"
        );
        assert!(
            (e / empty - 1.0).abs() < 0.1,
            "{v}: empty {e} (60,000 / {spare})"
        );
        let line = queuelab::report::text::disturbance_line(d);
        assert!(line.contains("back to normal (<= 5,99"), "{line}");
        assert!(line.contains(", empty "), "{line}");
    }
}

// Findings name the real cause. Before: retry_storm said "0 consumer crashes caused
// 0 redeliveries and 43,493 duplicate side effects".
#[test]
fn findings_name_the_real_cause_of_duplicates() {
    let storm = run("retry_storm.toml", "immediate-retries");
    let f = findings::sentences(&storm);
    assert!(f.iter().all(|x| !x.contains("crash")), "{f:#?}");
    let dup = format!(
        "{} requests took effect more than once: their callers gave up on a call that the server still finished, and the retry took effect too.",
        queuelab::time::thousands(storm.counts.duplicates)
    );
    assert!(f.contains(&dup), "{f:#?}");
    let plain = run("at_least_once.toml", "not-idempotent");
    let f = findings::sentences(&plain);
    let crash = format!(
        "{} consumers crashed after the side effect and before the ack, so their messages were delivered again: {} side effects were performed a second time.",
        plain.counts.crashes, plain.counts.duplicates
    );
    assert!(f.contains(&crash), "{f:#?}");
    let idem = run("at_least_once.toml", "idempotent");
    let f = findings::sentences(&idem);
    assert!(
        f.iter()
            .any(|x| x.contains("crashed") && x.contains("no side effect was repeated")),
        "{f:#?}"
    );
}

// ---------------------------------------------------------------------------------------
// The quiz.

/// Every (file, variant) the quiz takes: the base and each variant of every bundled file.
fn quiz_runs() -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(root().join("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    for path in files {
        let file = scenario::load(path.to_str().unwrap(), &Overrides::default()).unwrap();
        let p = path.to_str().unwrap().to_string();
        out.push((p.clone(), None));
        for v in &file.variants {
            out.push((p.clone(), v.variant.clone()));
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Tok {
    /// A number with half a unit of its last shown digit.
    Num(f64, f64),
    Op(char),
    Open,
    Close,
    Eq,
    Other,
}

const UNITS: [&str; 8] = [
    "s",
    "msg/s",
    "messages",
    "msg",
    "consumers",
    "each",
    "%",
    "calls",
];

fn tokens(text: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    for word in text.split_whitespace() {
        let w = word.trim_end_matches([';', ':', '.']);
        let w = w.trim_end_matches(',');
        let (w, close) = match w.strip_suffix(')') {
            Some(x) => (x, true),
            None => (w, false),
        };
        let (w, open) = match w.strip_prefix('(') {
            Some(x) => (x, true),
            None => (w, false),
        };
        if open {
            out.push(Tok::Open);
        }
        let bare = w.trim_end_matches('%');
        let grouped = bare.split('.').next().unwrap_or("");
        let groups: Vec<&str> = grouped.split(',').collect();
        let is_num = !bare.is_empty()
            && bare
                .chars()
                .all(|c| c.is_ascii_digit() || c == ',' || c == '.')
            && bare.chars().next().unwrap().is_ascii_digit()
            && groups[1..].iter().all(|g| g.len() == 3);
        if is_num {
            // The quiz writes whole numbers from 100 up and three significant digits
            // below (`quiz::num`): half a unit of the last digit that carries.
            let v: f64 = bare.replace(',', "").parse().unwrap();
            let half = if v >= 100.0 {
                0.5
            } else if v == 0.0 {
                1e-9
            } else {
                0.5 * 10f64.powi(v.log10().floor() as i32 - 2)
            };
            out.push(Tok::Num(v, half));
        } else if ["+", "-", "x", "/"].contains(&w) {
            out.push(Tok::Op(w.chars().next().unwrap()));
        } else if w == "=" {
            out.push(Tok::Eq);
        } else if UNITS.contains(&w) {
            // A unit: skipped.
        } else {
            out.push(Tok::Other);
        }
        if close {
            out.push(Tok::Close);
        }
        if word.ends_with([';', ':', ',']) && !is_num {
            out.push(Tok::Other);
        }
        if is_num && (word.ends_with(';') || word.ends_with(':')) {
            out.push(Tok::Other);
        }
    }
    out
}

/// Evaluates `toks` as an expression of intervals (precedence: x and / over + and -).
fn eval(toks: &[Tok]) -> Option<(f64, f64)> {
    fn atom(t: &[Tok], i: &mut usize) -> Option<(f64, f64)> {
        match t.get(*i)? {
            Tok::Num(v, h) => {
                *i += 1;
                Some((v - h, v + h))
            }
            Tok::Open => {
                *i += 1;
                let v = sum(t, i)?;
                (t.get(*i)? == &Tok::Close).then(|| *i += 1)?;
                Some(v)
            }
            _ => None,
        }
    }
    fn product(t: &[Tok], i: &mut usize) -> Option<(f64, f64)> {
        let mut a = atom(t, i)?;
        while let Some(Tok::Op(op @ ('x' | '/'))) = t.get(*i) {
            *i += 1;
            let b = atom(t, i)?;
            let c = if *op == 'x' {
                [a.0 * b.0, a.0 * b.1, a.1 * b.0, a.1 * b.1]
            } else {
                if b.0 <= 0.0 {
                    return None;
                }
                [a.0 / b.0, a.0 / b.1, a.1 / b.0, a.1 / b.1]
            };
            a = (
                c.iter().copied().fold(f64::MAX, f64::min),
                c.iter().copied().fold(f64::MIN, f64::max),
            );
        }
        Some(a)
    }
    fn sum(t: &[Tok], i: &mut usize) -> Option<(f64, f64)> {
        let mut a = product(t, i)?;
        while let Some(Tok::Op(op @ ('+' | '-'))) = t.get(*i) {
            *i += 1;
            let b = product(t, i)?;
            a = if *op == '+' {
                (a.0 + b.0, a.1 + b.1)
            } else {
                (a.0 - b.1, a.1 - b.0)
            };
        }
        Some(a)
    }
    let mut i = 0;
    let v = sum(toks, &mut i)?;
    (i == toks.len()).then_some(v)
}

/// Checks every `expression = number` in `text`; returns how many it checked.
fn check_arithmetic(text: &str, label: &str) -> usize {
    let t = tokens(text);
    let mut checked = 0;
    for (k, tok) in t.iter().enumerate() {
        if *tok != Tok::Eq {
            continue;
        }
        let Some(Tok::Num(c, h)) = t.get(k + 1) else {
            continue;
        };
        let mut j = k;
        while j > 0 && !matches!(t[j - 1], Tok::Other | Tok::Eq) {
            j -= 1;
        }
        let lhs = &t[j..k];
        if !lhs.iter().any(|x| matches!(x, Tok::Op(_))) {
            continue;
        }
        let (lo, hi) =
            eval(lhs).unwrap_or_else(|| panic!("{label}: cannot read {lhs:?} in {text}"));
        let tol = h + 0.01 * c.abs();
        assert!(
            *c >= lo - tol && *c <= hi + tol,
            "{label}: {lhs:?} is {lo}..{hi}, not {c}, in: {text}"
        );
        checked += 1;
    }
    checked
}

#[test]
fn the_checker_catches_the_old_arithmetic() {
    for bad in [
        "the spike brings 250 - 557 = 0 msg/s more",
        "FIFO: 200 / 160 = 1 s",
        "(50,000 - 5,000) / 100 = 500 s",
    ] {
        let r = std::panic::catch_unwind(|| check_arithmetic(bad, "old"));
        assert!(r.is_err(), "{bad}");
    }
    assert_eq!(
        check_arithmetic(
            "capacity = 8 consumers / 0.04 s each = 200 msg/s; 0.37 + 4.6 x 0.00262 = 0.382 s",
            "ok"
        ),
        2
    );
}

// Every bundled scenario's quiz: estimates within a factor of 2 of its own run (with an
// absolute slack of 10 messages, 1 s, half a percentage point: a back of the envelope says
// "none" where the run has a handful), every sum in the reasoning right, its last figure
// the estimate, and no estimate that is not a finite, sensible number. Before: decoupling
// p99 0.27 s against 233.7 s, restart_backlog 212 ms against 3m 56s, backpressure/block an
// error share of 16.2% against 0%, iot_firehose "-> 1193046h 28m".
#[test]
fn every_quiz_estimate_agrees_with_its_run_and_its_arithmetic_is_right() {
    let mut asked = 0;
    let mut sums = 0;
    for (file, v) in quiz_runs() {
        let a = queuelab::app::QuizArgs {
            scenario: file.clone(),
            variant: v.clone(),
            ..Default::default()
        };
        let Ok((sc, qs)) = queuelab::app::quiz_questions(&a) else {
            continue;
        };
        let sum = sim::run(&sc).summary;
        let duration = sum.simulated_seconds;
        for q in &qs {
            let label = format!("{file} {v:?} {}", q.key);
            let actual = queuelab::quiz::actual(q.key, &sc, &sum);
            assert!(
                q.estimate.is_finite() && q.estimate >= 0.0,
                "{label}: {}",
                q.estimate
            );
            let slack = match q.unit {
                "messages" => 10.0,
                "seconds" => 1.0,
                "percent" => 0.5,
                _ => 0.0,
            };
            if q.unit == "seconds" {
                assert!(
                    q.estimate <= duration,
                    "{label}: {} > the run's {duration}",
                    q.estimate
                );
            }
            let ratio = (q.estimate + slack + 1e-9) / (actual + slack + 1e-9);
            assert!(
                (0.5..=2.0).contains(&ratio),
                "{label}: estimate {} against the run's {actual}: {}",
                q.estimate,
                q.reasoning
            );
            sums += check_arithmetic(&q.reasoning, &label);
            let last = tokens(&q.reasoning)
                .into_iter()
                .rev()
                .find_map(|t| match t {
                    Tok::Num(x, h) => Some((x, h)),
                    _ => None,
                })
                .unwrap_or_else(|| panic!("{label}: no figure in {}", q.reasoning));
            assert!(
                (last.0 - q.estimate).abs() <= last.1 + 0.01 * q.estimate.abs(),
                "{label}: the reasoning ends at {} but the estimate is {}: {}",
                last.0,
                q.estimate,
                q.reasoning
            );
            asked += 1;
        }
        // What is not asked is said, with why.
        for (keys, why) in queuelab::quiz::not_asked(&sc) {
            assert!(!why.is_empty());
            for k in keys.split(", ") {
                assert!(
                    qs.iter().all(|q| q.key != k),
                    "{file} {v:?}: {k} asked and not asked"
                );
            }
        }
    }
    assert!(asked > 150, "{asked} questions");
    assert!(sums > 200, "{sums} sums checked");
}

#[test]
fn the_quiz_does_not_ask_what_it_cannot_reason_about() {
    let ask = |file: &str, v: &str| {
        let a = queuelab::app::QuizArgs {
            scenario: root()
                .join("scenarios")
                .join(file)
                .to_str()
                .unwrap()
                .to_string(),
            variant: Some(v.into()),
            ..Default::default()
        };
        let (_, qs) = queuelab::app::quiz_questions(&a).unwrap();
        qs.iter().map(|q| q.key).collect::<Vec<_>>()
    };
    // Blocked callers are never refused: no error question.
    assert!(!ask("backpressure.toml", "block").contains(&"error_rate"));
    // Immediate retries: only what needs no run.
    assert_eq!(
        ask("retry_storm.toml", "immediate-retries"),
        ["consumers_needed"]
    );
    // A deploy and a warm start are reasoned about.
    assert!(ask("decoupling.toml", "async").contains(&"p99"));
    assert!(ask("restart_backlog.toml", "10-consumers").contains(&"drain_time"));
}

// The interactive quiz asks again on an answer it cannot read, instead of skipping it.
#[test]
fn the_interactive_quiz_asks_again_on_an_unreadable_answer() {
    let a = queuelab::app::QuizArgs {
        scenario: root()
            .join("scenarios/flash_sale.toml")
            .to_str()
            .unwrap()
            .to_string(),
        variant: Some("bounded-8".into()),
        ..Default::default()
    };
    let (_, qs) = queuelab::app::quiz_questions(&a).unwrap();
    let mut input = std::io::Cursor::new("about 5 minutes\n5m\n");
    let mut out = Vec::new();
    let got = queuelab::app::ask_answer(&qs[0], &mut input, &mut out);
    assert_eq!(got, Some(300.0));
    let said = String::from_utf8(out).unwrap();
    assert!(said.contains("`about 5 minutes` is not a number"), "{said}");
    assert_eq!(
        said.matches(&qs[0].prompt).count(),
        2,
        "asked twice: {said}"
    );
    // Enter skips; so does the end of the input.
    let mut input = std::io::Cursor::new("\n");
    assert_eq!(
        queuelab::app::ask_answer(&qs[0], &mut input, &mut Vec::new()),
        None
    );
    assert_eq!(queuelab::quiz::parse_answer("50,000"), Some(50_000.0));
    assert_eq!(queuelab::quiz::parse_answer("12.5%"), Some(12.5));
    assert_eq!(queuelab::quiz::parse_answer("1,5"), None);
}

// The other lessons' look_for and takeaways against their numbers. Before:
// downstream_outage said jitter does not change how many messages are saved (8,616
// dead-lettered with it, 8,246 without); flash_sale said the queue fills "within a
// minute" (62 s); at_least_once said completed equals produced and redeliveries equal
// crashes (37 messages are still in flight at the end).
#[test]
fn the_lessons_say_what_their_numbers_show() {
    use queuelab::time::thousands;
    let look_for = |name: &str| load(name).base.teaching.clone().unwrap().look_for;
    let (b, j) = (
        run("downstream_outage.toml", "backoff"),
        run("downstream_outage.toml", "backoff-jitter"),
    );
    assert!(j.counts.dead_lettered > b.counts.dead_lettered);
    let text = look_for("downstream_outage.toml");
    assert!(
        !text.contains("without changing how many are saved"),
        "{text}"
    );
    for n in [j.counts.dead_lettered, b.counts.dead_lettered] {
        assert!(text.contains(&thousands(n)), "{n}: {text}");
    }
    // Flash sale: the queue is full after 50,000 / 800 = 62.5 s, and the text says so.
    let r = sim::run(&variant("flash_sale.toml", "bounded-8"));
    let full = r
        .rows
        .iter()
        .find(|x| x.queue_depth_max >= 50_000)
        .unwrap()
        .time;
    assert!((181.0..=184.0).contains(&full), "full at {full}");
    assert!(look_for("flash_sale.toml").contains("62 s"));
    // At least once: what the text claims, in numbers.
    let text = look_for("at_least_once.toml");
    for v in ["not-idempotent", "idempotent"] {
        let c = run("at_least_once.toml", v).counts;
        assert_eq!(c.completed + c.in_flight_at_end, c.produced, "{v}");
        assert!(
            c.redeliveries < c.crashes && c.redeliveries + c.in_flight_at_end >= c.crashes,
            "{v}"
        );
        assert_eq!(
            c.duplicates,
            if v == "idempotent" { 0 } else { c.redeliveries },
            "{v}"
        );
    }
    assert!(text.contains("still in flight at the end"), "{text}");
    // Restart: the text names both figures the report gives.
    let text = look_for("restart_backlog.toml");
    assert!(
        text.contains("empty") && text.contains("back to normal"),
        "{text}"
    );
}
