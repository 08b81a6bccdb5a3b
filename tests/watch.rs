//! `queuelab watch` (issue 8): frames rendered headless with ratatui's TestBackend, the
//! playback controls, and the command's text mode.

use crate::common::{queuelab, root};
use queuelab::scenario::{self, Overrides};
use queuelab::watch::{view, Key, Player};

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
    // Next: just before the spike (five samples of lead), then to the end.
    p.key(Key::Next);
    assert!((p.t - 115.0).abs() < 1e-9, "{}", p.t);
    p.key(Key::Next);
    assert_eq!(p.t, p.duration);
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
