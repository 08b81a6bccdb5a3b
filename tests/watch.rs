//! `queuelab watch`: frames rendered headless with ratatui's TestBackend, the
//! playback controls, and the command's text mode.

use crate::common::{queuelab, root};
use queuelab::scenario::{self, Overrides};
use queuelab::watch::{view, Agg, Key, Player};

fn player(file: &str, variant: &str) -> Player {
    let path = root().join("scenarios").join(file);
    let mut f = scenario::load(path.to_str().unwrap(), &Overrides::default()).unwrap();
    f.select_variant(variant).unwrap();
    Player::new(&f.variants[0])
}

fn frame_at(p: &mut Player, t: f64) -> String {
    p.t = t;
    p.paused = true;
    view::snapshot(p, 100, 32)
}

#[test]
fn frames_show_the_queue_fill_during_the_spike_and_drain_after_it() {
    let mut p = player("flash_sale.toml", "bounded-8");
    // Before the spike: an empty queue, idle consumers, the spike announced.
    let before = frame_at(&mut p, 60.0);
    assert!(
        before.contains("queuelab watch: flash-sale / bounded-8"),
        "{before}"
    );
    assert!(before.contains("waiting   0 / 50,000"), "{before}");
    assert!(
        before.contains("next: traffic spike 2m 00s–4m 00s (in 1m 00s)"),
        "{before}"
    );
    assert!(before.contains("refused   0"), "{before}");
    // In the spike: the queue is full, every consumer busy, messages refused.
    let during = frame_at(&mut p, 210.0);
    assert!(during.contains("100% full"), "{during}");
    assert!(during.contains("Consumers 8 · 100% busy"), "{during}");
    assert!(
        during.contains("████████"),
        "eight busy consumer cells\n{during}"
    );
    assert!(during.contains("traffic spike 2m 00s–4m 00s"), "{during}");
    let refused = |f: &str| -> u64 {
        let line = f.lines().find(|l| l.contains("refused")).unwrap();
        let n: String = line
            .split("refused")
            .nth(1)
            .unwrap()
            .chars()
            .take_while(|c| *c != '│')
            .filter(|c| c.is_ascii_digit())
            .collect();
        n.parse().unwrap()
    };
    assert!(refused(&during) > 10_000, "{during}");
    // Long after: drained again, and the refusals stay counted.
    let after = frame_at(&mut p, 890.0);
    assert!(after.contains("waiting   0 / 50,000"), "{after}");
    assert_eq!(refused(&after), refused(&frame_at(&mut p, 899.0)));
    assert!(refused(&after) >= refused(&during));
}

#[test]
fn playback_controls_move_the_simulated_clock() {
    let mut p = player("flash_sale.toml", "bounded-8");
    assert_eq!(p.speed, 20.0, "a 15-minute run plays in under a minute");
    p.advance(1.5);
    assert!((p.t - 30.0).abs() < 1e-9);
    assert!(p.key(Key::Pause));
    p.advance(10.0);
    assert!((p.t - 30.0).abs() < 1e-9, "paused");
    p.key(Key::Pause);
    p.key(Key::Faster);
    assert_eq!(p.speed, 50.0);
    p.key(Key::Slower);
    p.key(Key::Slower);
    assert_eq!(p.speed, 10.0);
    // Next: just before the spike (five samples of lead).
    p.key(Key::Next);
    assert!((p.t - 115.0).abs() < 1e-9, "{}", p.t);
    p.t = p.duration - 1.0;
    p.advance(1.0);
    assert!(p.paused, "playback stops at the end");
    p.key(Key::Restart);
    assert_eq!(p.t, 0.0);
    assert!(!p.paused);
    assert!(!p.key(Key::Quit));
}

#[test]
fn an_outage_and_a_fan_out_play_too() {
    let mut p = player("downstream_outage.toml", "backoff");
    let t = p.marks[0].start + 30.0;
    let f = frame_at(&mut p, t);
    assert!(f.contains("outage"), "{f}");
    assert!(f.contains("backoff"), "{f}");
    let mut fan = player("checkout_fanout.toml", "event");
    // The email outage from 4m: the added-up queue grows while the others stay empty.
    let f = frame_at(&mut fan, 400.0);
    assert!(f.contains("outage 4m 00s–7m 00s"), "{f}");
    assert!(f.contains("Consumers 30"), "{f}");
}

#[test]
fn the_command_prints_a_frame_or_asks_for_a_terminal() {
    let out = queuelab()
        .args([
            "watch",
            "scenarios/flash_sale.toml",
            "--at",
            "3m30s",
            "--size",
            "90x24",
        ])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert_eq!(text.lines().count(), 24);
    assert!(text.lines().all(|l| l.chars().count() <= 90));
    assert!(text.contains("t = 3m 30s / 15m 00s"), "{text}");
    // Without a terminal (as here) and without --at: exit 2 and say what to do.
    queuelab()
        .args(["watch", "scenarios/flash_sale.toml"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--at"));
    queuelab()
        .args([
            "watch",
            "scenarios/flash_sale.toml",
            "--at",
            "1m",
            "--size",
            "10x10",
        ])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--size"));
    queuelab()
        .args([
            "watch",
            "scenarios/flash_sale.toml",
            "--variant",
            "bounded8",
            "--at",
            "1m",
        ])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("did you mean `bounded-8`?"));
}

/// The rows of a frame between the line holding `title` and the next border.
fn sparkline_rows<'a>(frame: &'a str, title: &str) -> Vec<&'a str> {
    frame
        .lines()
        .skip_while(|l| !l.contains(title))
        .skip(1)
        .take_while(|l| !l.contains('└'))
        .collect()
}

/// The characters of a sparkline row inside the right-hand panel's borders.
fn bars(row: &str) -> Vec<char> {
    let right: String = row.chars().skip(34).collect();
    right
        .trim_start_matches('│')
        .trim_end_matches('│')
        .chars()
        .collect()
}

#[test]
fn sparklines_show_the_whole_run_on_a_fixed_scale_that_they_print() {
    let mut p = player("flash_sale.toml", "bounded-8");
    // At the end the queue is empty: the last bars are empty, not full height (the bars
    // used to rescale to the last two minutes), and the title says what a full bar is.
    let d = p.duration;
    let end = frame_at(&mut p, d);
    assert!(
        end.contains("Queue depth: 0 · bar top 50,000"),
        "the scale is the run's peak, the bound\n{end}"
    );
    let rows = sparkline_rows(&end, "Queue depth: 0");
    assert!(!rows.is_empty(), "{end}");
    for row in &rows {
        let b = bars(row);
        assert_eq!(
            b.last(),
            Some(&' '),
            "empty queue at the end: {row:?}\n{end}"
        );
        assert!(b.contains(&'█'), "the spike stays in view: {row:?}\n{end}");
    }
    // The window is the whole run (15 minutes), said on the border; before the spike its
    // columns are blank (not yet played), and the spike's bars only appear once played.
    assert!(end.contains("0s–15m 00s"), "{end}");
    let early = frame_at(&mut p, 60.0);
    for row in sparkline_rows(&early, "Queue depth: 0") {
        assert!(
            !bars(row).contains(&'█'),
            "nothing played yet: {row:?}\n{early}"
        );
    }
    let n = 60;
    let cols = p.columns(n, p.t, Agg::Max, |r| Some(r.queue_depth_max as f64));
    assert_eq!(cols.len(), n);
    assert!(cols[..4].iter().all(Option::is_some), "{cols:?}");
    assert!(
        cols[5..].iter().all(Option::is_none),
        "the future is blank: {cols:?}"
    );
    // A column is 15 s here: its value is the largest depth in its rows.
    let full = p.columns(n, p.duration, Agg::Max, |r| Some(r.queue_depth_max as f64));
    assert_eq!(
        full.iter().flatten().fold(0.0f64, |a, b| a.max(*b)),
        50_000.0
    );
}

#[test]
fn seek_step_and_rewind_move_the_clock_and_say_so() {
    let mut p = player("flash_sale.toml", "bounded-8");
    assert_eq!(p.seek_step(), 45.0, "a twentieth of 15 minutes");
    p.key(Key::SeekForward);
    p.key(Key::SeekForward);
    assert!((p.t - 90.0).abs() < 1e-9, "{}", p.t);
    assert!(!p.paused, "seeking keeps playing");
    p.key(Key::SeekBack);
    assert!((p.t - 45.0).abs() < 1e-9, "{}", p.t);
    let f = view::snapshot(&p, 100, 32);
    assert!(f.contains("back 45.00s to 45.00s"), "{f}");
    for _ in 0..5 {
        p.key(Key::SeekBack);
    }
    assert_eq!(p.t, 0.0, "rewinding stops at the start");
    // Stepping pauses and lands on the samples.
    p.t = 100.4;
    p.key(Key::StepForward);
    assert!(p.paused);
    assert!((p.t - 101.0).abs() < 1e-9, "{}", p.t);
    p.key(Key::StepBack);
    p.key(Key::StepBack);
    assert!((p.t - 99.0).abs() < 1e-9, "{}", p.t);
    let f = view::snapshot(&p, 100, 32);
    assert!(
        f.contains("step back 1.00s to 1m 39s (paused: space plays)"),
        "{f}"
    );
    assert!(f.contains("t = 1m 39s"), "{f}");
    // The message fades after a few seconds of wall time, paused or not.
    p.advance(queuelab::watch::MESSAGE_SECONDS + 0.1);
    assert!(p.message.is_none());
    assert!(
        view::snapshot(&p, 100, 32).contains("seek"),
        "the key help is back"
    );
    // Seeking past the end stops there.
    p.t = p.duration - 10.0;
    p.key(Key::SeekForward);
    assert_eq!(p.t, p.duration);
    assert!(p.paused);
}

#[test]
fn speed_keys_while_paused_and_n_after_the_last_disturbance_give_feedback() {
    let mut p = player("flash_sale.toml", "bounded-8");
    p.key(Key::Pause);
    assert!(p.paused);
    p.key(Key::Faster);
    let f = view::snapshot(&p, 100, 32);
    assert!(f.contains("speed 50x (paused: space plays)"), "{f}");
    assert!(
        f.contains("❚❚ paused · 50x"),
        "the header shows the speed too\n{f}"
    );
    for _ in 0..20 {
        p.key(Key::Faster);
    }
    assert!(view::snapshot(&p, 100, 32).contains("speed 10000x (the fastest)"));
    // After the spike there is no next disturbance: stay, and say so.
    p.t = 300.0;
    p.key(Key::Next);
    assert_eq!(p.t, 300.0, "no jump to the end");
    let f = view::snapshot(&p, 100, 32);
    assert!(
        f.contains("no disturbance after 5m 00s: the last was traffic spike 2m 00s–4m 00s"),
        "{f}"
    );
    p.key(Key::Previous);
    assert!(
        (p.t - 115.0).abs() < 1e-9,
        "back to just before the spike: {}",
        p.t
    );
    p.key(Key::Previous);
    assert!((p.t - 115.0).abs() < 1e-9);
    assert!(view::snapshot(&p, 100, 32).contains("no disturbance before 1m 55s"));
}

#[test]
fn a_retry_storm_shows_in_the_retries_and_goodput_panel() {
    let rate = |f: &str, name: &str| -> f64 {
        let line = f
            .lines()
            .find(|l| l.starts_with(&format!("│{name}")))
            .unwrap_or_else(|| panic!("no {name} line in\n{f}"));
        let v: String = line
            .split(name)
            .nth(1)
            .unwrap()
            .trim_start()
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ',')
            .filter(|c| *c != ',')
            .collect();
        v.parse().unwrap_or_else(|_| panic!("{name} in {line:?}"))
    };
    let mut storm = player("retry_storm.toml", "immediate-retries");
    let f = frame_at(&mut storm, 200.0);
    assert!(f.contains("Retries & goodput"), "{f}");
    assert!(rate(&f, "retries ") > 0.0, "{f}");
    assert!(f.contains("% fail"), "{f}");
    let attempts = rate(&f, "attempts ");
    let goodput = rate(&f, "goodput ");
    assert!(attempts > goodput, "attempts outrun what completes\n{f}");
    assert!(rate(&f, "useful ") < 50.0, "most work is wasted\n{f}");
    let mut calm = player("retry_storm.toml", "no-retries");
    let f = frame_at(&mut calm, 60.0);
    assert_eq!(rate(&f, "retries "), 0.0, "{f}");
    assert!(rate(&f, "useful ") > 90.0, "{f}");
}
