//! Ctrl-C acts within a second even when each event is slow: a
//! Kafka topic of 100,000 partitions sampled every millisecond scans every partition at
//! each row. Before the fix the loop looked at the interrupt flag every 65,536 events and
//! exited 44 s after SIGINT; it now looks every 4,096 events and at every row.

use std::time::{Duration, Instant};

#[test]
fn ctrl_c_stops_a_run_of_slow_events_within_a_second() {
    let tmp = tempfile::tempdir().unwrap();
    let scen = tmp.path().join("slow.toml");
    std::fs::write(
        &scen,
        r#"
name = "slow-samples"
duration = "15m"
sample_every = "1ms"
[[producers]]
rate = 100.0
[keys]
count = 100000
[consumers]
count = 4
service = { dist = "exponential", mean = "5ms" }
[broker]
kind = "kafka"
partitions = 100000
"#,
    )
    .unwrap();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("queuelab"))
        .args(["run", scen.to_str().unwrap(), "--no-plots", "--quiet"])
        .args(["--max-events", "1e15", "--out"])
        .arg(tmp.path().join("out"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let sent = Instant::now();
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let code = child.wait().unwrap().code();
    let took = sent.elapsed();
    assert_eq!(code, Some(130));
    assert!(
        took < Duration::from_secs(1),
        "exited {took:?} after SIGINT"
    );
    assert!(tmp.path().join("out/summary.json").is_file());
}
