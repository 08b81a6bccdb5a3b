//! What a run's folder holds (that run alone,
//! all or nothing, with a manifest), the effective scenario and command in summary.json
//! and report.html, and the bundled lessons.

use crate::common::{queuelab, write, SMALL};
use predicates::prelude::*;
use predicates::str::contains;
use std::path::Path;

const TWO_VARIANTS: &str = r#"
name = "pair"
seed = 3
duration = "1m"
[[producers]]
rate = 20.0
[consumers]
count = 2
service = { dist = "exponential", mean = "30ms" }
[[variants]]
name = "one"
consumers = { count = 1 }
[[variants]]
name = "three"
consumers = { count = 3 }
"#;

/// Every file under `dir`, relative, `/`-separated, sorted (folders left out).
fn tree(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, d: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(d).unwrap().filter_map(|e| e.ok()) {
            let p = e.path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                let rel = p.strip_prefix(base).unwrap();
                out.push(
                    rel.components()
                        .map(|c| c.as_os_str().to_string_lossy().into_owned())
                        .collect::<Vec<_>>()
                        .join("/"),
                );
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Names in `dir` that look like our temporaries.
fn temporaries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp") || n.ends_with(".old") || n.contains(".queuelab-"))
        .collect()
}

fn manifest_files(dir: &Path) -> Vec<String> {
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["written_by"], "queuelab");
    m["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_runs_folder_holds_that_run_alone_with_a_manifest() {
    // A run of the whole file (variant folders, comparison files), then a run of
    // one variant into the same folder: nothing of the first may remain.
    let tmp = tempfile::tempdir().unwrap();
    let scen = write(tmp.path(), "pair.toml", TWO_VARIANTS);
    let out = tmp.path().join("out");
    queuelab()
        .args(["run", &scen, "--no-plots", "--out"])
        .arg(&out)
        .assert()
        .success();
    let first = tree(&out);
    assert!(first.contains(&"one/summary.json".to_string()), "{first:?}");
    assert!(first.contains(&"comparison.csv".to_string()), "{first:?}");
    let mut listed = manifest_files(&out);
    listed.push("manifest.json".into());
    listed.sort();
    assert_eq!(listed, first, "the manifest lists every file written");

    queuelab()
        .args(["run", &scen, "--no-plots", "--variant", "three", "--out"])
        .arg(&out)
        .assert()
        .success();
    let second = tree(&out);
    assert_eq!(
        second,
        vec![
            "manifest.json",
            "report.html",
            "summary.json",
            "timeseries.csv"
        ],
        "stale variant folders and comparison files are gone"
    );
    let s: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(s["variant"], "three");
    assert!(
        temporaries(tmp.path()).is_empty(),
        "{:?}",
        temporaries(tmp.path())
    );
}

#[test]
fn a_folder_with_files_queuelab_did_not_write_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let scen = write(tmp.path(), "small.toml", SMALL);
    let out = tmp.path().join("mine");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("notes.txt"), "my notes").unwrap();
    queuelab()
        .args(["run", &scen, "--no-plots", "--out"])
        .arg(&out)
        .assert()
        .code(2)
        .stderr(contains("--out").and(contains("`notes.txt`")));
    assert_eq!(std::fs::read(out.join("notes.txt")).unwrap(), b"my notes");
    // A file of the user's added to one of our folders is kept too.
    let ours = tmp.path().join("ours");
    queuelab()
        .args(["run", &scen, "--no-plots", "--out"])
        .arg(&ours)
        .assert()
        .success();
    std::fs::write(ours.join("keep.md"), "x").unwrap();
    queuelab()
        .args(["run", &scen, "--no-plots", "--out"])
        .arg(&ours)
        .assert()
        .code(2)
        .stderr(contains("`keep.md`"));
    assert!(ours.join("keep.md").exists());
    // The working folder itself is never an output folder.
    queuelab()
        .args(["run", &scen, "--no-plots", "--out", "."])
        .current_dir(tmp.path())
        .assert()
        .code(2)
        .stderr(contains("--out"));
}

#[test]
fn two_writers_never_mix_their_files() {
    // Two runs with different seeds into one folder at the same time. Whichever
    // lands last, the folder is one run's files, every one from the same seed.
    let tmp = tempfile::tempdir().unwrap();
    let scen = write(tmp.path(), "small.toml", &SMALL.replace("2m", "20m"));
    let out = tmp.path().join("shared");
    let bin = assert_cmd::cargo::cargo_bin("queuelab");
    for round in 0..3 {
        let kids: Vec<std::process::Child> = [11u64, 12]
            .iter()
            .map(|seed| {
                std::process::Command::new(&bin)
                    .args(["run", &scen, "--no-plots", "--quiet", "--seed"])
                    .arg(seed.to_string())
                    .arg("--out")
                    .arg(&out)
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for mut k in kids {
            k.wait().unwrap();
        }
        let s: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
        let seed = s["seed"].as_u64().unwrap();
        let html = std::fs::read_to_string(out.join("report.html")).unwrap();
        assert!(
            html.contains(&format!("--seed {seed}")),
            "round {round}: report.html is from another run than summary.json (seed {seed})"
        );
        assert!(
            temporaries(tmp.path()).is_empty(),
            "{:?}",
            temporaries(tmp.path())
        );
    }
}

#[test]
fn a_variant_named_like_one_of_our_files_is_refused_at_check_time() {
    let tmp = tempfile::tempdir().unwrap();
    for name in ["report.html", "comparison.csv", "Manifest.json", "base"] {
        let scen = write(
            tmp.path(),
            "clash.toml",
            &TWO_VARIANTS.replace("name = \"three\"", &format!("name = \"{name}\"")),
        );
        queuelab().args(["check", &scen]).assert().code(2).stderr(
            contains(format!("`{name}` cannot name a variant")).and(contains("clash.toml:")),
        );
    }
    // The list the check uses covers every name a run writes beside the variants' folders.
    let scen = write(tmp.path(), "pair.toml", TWO_VARIANTS);
    let out = tmp.path().join("out");
    queuelab()
        .args(["run", &scen, "--out"])
        .arg(&out)
        .assert()
        .success();
    for e in std::fs::read_dir(&out).unwrap().filter_map(|e| e.ok()) {
        let n = e.file_name().to_string_lossy().into_owned();
        if n == "one" || n == "three" {
            continue;
        }
        assert!(
            queuelab::scenario::OUTPUT_NAMES.contains(&n.as_str()),
            "{n} is written beside the variants but a variant may be called that"
        );
    }
}

/// Mounts a tmpfs of `size` at `dir`; None (with the reason printed) where that is not
/// allowed. CI runs as root, so there it runs.
fn mount_tmpfs(dir: &Path, size: &str) -> Option<()> {
    let uid = std::process::Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        println!("skipped: filling a disk needs root to mount a tmpfs");
        return None;
    }
    let ok = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(dir)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        println!("skipped: mount -t tmpfs is not permitted here");
        return None;
    }
    Some(())
}

struct Unmount<'a>(&'a Path);
impl Drop for Unmount<'_> {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(self.0).status();
    }
}

#[test]
fn a_full_disk_leaves_the_earlier_run_intact_and_no_temporary() {
    let tmp = tempfile::tempdir().unwrap();
    let scen = write(tmp.path(), "small.toml", SMALL);
    let disk = tmp.path().join("disk");
    std::fs::create_dir(&disk).unwrap();
    if mount_tmpfs(&disk, "4m").is_none() {
        return;
    }
    let _unmount = Unmount(&disk);
    let out = disk.join("run");
    queuelab()
        .args(["run", &scen, "--no-plots", "--seed", "1", "--out"])
        .arg(&out)
        .assert()
        .success();
    let before: Vec<(String, Vec<u8>)> = tree(&out)
        .into_iter()
        .map(|f| {
            let b = std::fs::read(out.join(&f)).unwrap();
            (f, b)
        })
        .collect();
    // Fill the disk, then give back a little: room for summary.json and timeseries.csv
    // but not for the pictures.
    let filler = disk.join("filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).unwrap();
        let chunk = vec![7u8; 64 * 1024];
        while f.write_all(&chunk).is_ok() {}
        let _ = f.flush();
        let len = f.metadata().unwrap().len();
        f.set_len(len.saturating_sub(96 * 1024)).unwrap();
    }
    queuelab()
        .args(["run", &scen, "--seed", "2", "--out"])
        .arg(&out)
        .assert()
        .code(1)
        .stderr(contains("cannot write").and(contains("No space left")));
    let after: Vec<(String, Vec<u8>)> = tree(&out)
        .into_iter()
        .map(|f| {
            let b = std::fs::read(out.join(&f)).unwrap();
            (f, b)
        })
        .collect();
    assert!(before == after, "the earlier run's folder changed");
    let mut names: Vec<String> = std::fs::read_dir(&disk)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec!["filler", "run"],
        "a temporary was left on the disk"
    );
}

#[test]
fn summary_and_report_record_the_scenario_as_run_and_the_command() {
    // --set, --variant and --duration change the numbers; summary.json and
    // report.html say so, and the effective scenario run alone gives the same numbers.
    let tmp = tempfile::tempdir().unwrap();
    let scen = write(tmp.path(), "pair.toml", TWO_VARIANTS);
    let out = tmp.path().join("o");
    queuelab()
        .args(["run", &scen, "--no-plots", "--variant", "three"])
        .args([
            "--set",
            "producers.0.rate=30",
            "--duration",
            "40s",
            "--seed",
            "9",
        ])
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let s: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let inv = &s["invocation"];
    let overrides: Vec<&str> = inv["overrides"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        overrides,
        vec!["producers.0.rate=30", "seed=9", "duration=\"40s\""]
    );
    let command: Vec<&str> = inv["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(command[..3], ["queuelab", "run", scen.as_str()]);
    assert!(command.contains(&"--variant") && !command.contains(&"--out"));
    let effective = inv["effective_scenario"].as_str().unwrap();
    let again = write(tmp.path(), "as_run.toml", effective);
    let again_out = tmp.path().join("again");
    queuelab()
        .args(["run", &again, "--no-plots", "--out"])
        .arg(&again_out)
        .assert()
        .success();
    let t: serde_json::Value =
        serde_json::from_slice(&std::fs::read(again_out.join("summary.json")).unwrap()).unwrap();
    for k in [
        "counts",
        "latency",
        "queue",
        "consumers",
        "seed",
        "simulated_seconds",
    ] {
        assert_eq!(
            s[k], t[k],
            "{k}: the effective scenario gives other numbers"
        );
    }
    assert_eq!(t["consumers"]["count"], 3);
    assert_eq!(t["simulated_seconds"], 40.0);

    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("The scenario as run"),
        "no effective scenario"
    );
    assert!(html.contains("<code>producers.0.rate=30</code>"));
    assert!(html.contains("--set producers.0.rate=30 --duration 40s --seed 9 --out"));
    assert!(
        !html.contains("cargo run --release -- run"),
        "the old re-run line"
    );
    // The seed named is the one the run used (--seed 9), not the file's (3).
    assert!(html.contains("flags and seed (9)"), "seed of the run");
    assert!(html.contains("then the overrides <code>producers.0.rate=30</code>"));
}

#[test]
fn quiet_still_prints_the_json_it_was_asked_for() {
    let tmp = tempfile::tempdir().unwrap();
    let scen = write(tmp.path(), "small.toml", SMALL);
    let out = queuelab()
        .args([
            "run",
            &scen,
            "--no-plots",
            "--quiet",
            "--format",
            "json",
            "--out",
        ])
        .arg(tmp.path().join("q"))
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["scenario"], "small");
    queuelab()
        .args(["run", &scen, "--no-plots", "--quiet", "--out"])
        .arg(tmp.path().join("q"))
        .assert()
        .success()
        .stdout("");
}

#[test]
fn the_bundled_lessons_work_from_any_folder() {
    // From a folder without scenarios/, `list` shows the lessons and `run NAME`
    // runs one; a file of that name in the folder wins.
    let tmp = tempfile::tempdir().unwrap();
    queuelab()
        .arg("list")
        .current_dir(tmp.path())
        .assert()
        .success()
        .stdout(
            contains("flash_sale")
                .and(contains("What happens to latency when traffic jumps 10x"))
                .and(contains("variants: bounded-8")),
        );
    queuelab()
        .args([
            "run",
            "flash_sale",
            "--variant",
            "bounded-8",
            "--duration",
            "2m",
        ])
        .args(["--no-plots", "--out", "o", "--format", "json", "--quiet"])
        .current_dir(tmp.path())
        .assert()
        .success()
        .stdout(contains("\"scenario\": \"flash-sale\""));
    assert!(tmp.path().join("o/summary.json").exists());
    // The README's spelling, scenarios/NAME.toml, works too when there is no such file.
    queuelab()
        .args(["check", "scenarios/decoupling.toml"])
        .current_dir(tmp.path())
        .assert()
        .success()
        .stdout(contains("ok"));
    write(
        tmp.path(),
        "flash_sale",
        &SMALL.replace("\"small\"", "\"mine\""),
    );
    queuelab()
        .args(["check", "flash_sale"])
        .current_dir(tmp.path())
        .assert()
        .success()
        .stdout(contains("scenario `mine`"));
    queuelab()
        .args(["run", "flash_sael"])
        .current_dir(tmp.path())
        .assert()
        .code(2)
        .stderr(contains("did you mean `flash_sale`?"));
}

#[test]
fn a_folder_from_before_manifests_is_replaced_with_its_leftovers() {
    // An older queuelab wrote no manifest.json and could leave `.NAME.PID.tmp` behind on a
    // full disk: such a folder is ours, and a new run replaces it whole.
    let tmp = tempfile::tempdir().unwrap();
    let scen = write(tmp.path(), "small.toml", SMALL);
    let out = tmp.path().join("old");
    std::fs::create_dir_all(out.join("some-variant")).unwrap();
    for f in [
        "summary.json",
        "timeseries.csv",
        "compare.png",
        ".dashboard.png.4242.tmp",
    ] {
        std::fs::write(out.join(f), "old").unwrap();
    }
    std::fs::write(out.join("some-variant/summary.json"), "old").unwrap();
    queuelab()
        .args(["run", &scen, "--no-plots", "--out"])
        .arg(&out)
        .assert()
        .success();
    assert_eq!(
        tree(&out),
        vec![
            "manifest.json",
            "report.html",
            "summary.json",
            "timeseries.csv"
        ]
    );
}
