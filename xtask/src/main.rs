//! `cargo run -p xtask -- lab [--out PATH]`: builds the browser lab, one self-contained
//! HTML file (default `output/lab.html`): the core compiled to WebAssembly
//! (`crates/lab`, profile `wasm`, `wasm32-unknown-unknown`) and base64-inlined, the page's
//! scripts and styles from `web/`, the vendored chart library (`web/vendor/`), and every
//! bundled scenario in the order of `docs/lessons.md`.

use base64::Engine;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// The page may not be larger than this (3 MiB): the lab is one file to host on a course
/// page, and the README's table of the lab's budgets gives its measured size against it.
const MAX_BYTES: usize = 3 * 1024 * 1024;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("lab") => match lab(&args[1..]) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("xtask lab: {e}");
                ExitCode::from(1)
            }
        },
        _ => {
            eprintln!("usage: cargo run -p xtask -- lab [--out PATH] [--skip-build]\n  builds the browser lab (default output/lab.html)");
            ExitCode::from(2)
        }
    }
}

fn root() -> PathBuf {
    // `cargo run` sets CARGO_MANIFEST_DIR for the process too: prefer it to the one
    // compiled in (a target folder shared by two clones may hold the other's binary).
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest
        .parent()
        .expect("xtask sits in the workspace")
        .to_path_buf()
}

fn read(p: &Path) -> Result<String, String> {
    std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))
}

/// The bundled scenarios: those docs/lessons.md names, in its order (with the heading of
/// the section that first names each), then any others in file-name order.
fn lessons(root: &Path) -> Result<Vec<serde_json::Value>, String> {
    let doc = read(&root.join("docs/lessons.md"))?;
    let mut order: Vec<(String, String)> = Vec::new();
    let mut heading = String::new();
    for line in doc.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            heading = h.trim().to_string();
        }
        let mut rest = line;
        while let Some(i) = rest.find("scenarios/") {
            let tail = &rest[i + "scenarios/".len()..];
            let end = tail
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.'))
                .unwrap_or(tail.len());
            let name = tail[..end].trim_end_matches('.');
            // Mentions before the first numbered lesson (the intro's commands) do not count.
            let numbered = heading.starts_with(|c: char| c.is_ascii_digit());
            if numbered && name.ends_with(".toml") && !order.iter().any(|(n, _)| n == name) {
                order.push((name.to_string(), heading.clone()));
            }
            rest = &tail[end..];
        }
    }
    let mut all: Vec<String> = std::fs::read_dir(root.join("scenarios"))
        .map_err(|e| format!("cannot list scenarios/: {e}"))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    all.sort();
    for n in &all {
        if !order.iter().any(|(o, _)| o == n) {
            order.push((n.clone(), String::new()));
        }
    }
    let mut out = Vec::new();
    for (name, heading) in order {
        let path = root.join("scenarios").join(&name);
        if !path.exists() {
            return Err(format!(
                "docs/lessons.md names scenarios/{name}, which does not exist"
            ));
        }
        let toml = read(&path)?;
        let mut data = serde_json::Map::new();
        for f in data_files(&toml) {
            data.insert(f.clone(), read(&root.join("scenarios").join(&f))?.into());
        }
        out.push(serde_json::json!({
            "file": format!("scenarios/{name}"),
            "lesson": heading,
            "toml": toml,
            "data": data,
        }));
    }
    Ok(out)
}

/// The data files a scenario names (`trace = "…"`, `rates`, `samples`, `buckets`), as
/// written (relative to scenarios/), so that the page can give them to the engine.
fn data_files(toml: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in toml.lines() {
        let line = line.split('#').next().unwrap_or("");
        for key in ["trace", "rates", "samples", "buckets"] {
            let mut rest = line;
            while let Some(i) = rest.find(key) {
                let before_ok = rest[..i]
                    .chars()
                    .next_back()
                    .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'));
                let after = rest[i + key.len()..].trim_start();
                rest = &rest[i + key.len()..];
                let Some(v) = after.strip_prefix('=') else {
                    continue;
                };
                let v = v.trim_start();
                if !before_ok || !v.starts_with('"') {
                    continue;
                }
                if let Some(end) = v[1..].find('"') {
                    let name = v[1..=end].to_string();
                    if !out.contains(&name) {
                        out.push(name);
                    }
                }
            }
        }
    }
    out
}

/// JSON safe inside a `<script>` element.
fn script_json(v: &serde_json::Value) -> String {
    v.to_string()
        .replace("</", "<\\/")
        .replace("<!--", "<\\!--")
}

fn lab(args: &[String]) -> Result<(), String> {
    let root = root();
    let mut out = root.join("output/lab.html");
    let mut build = true;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--out" => out = PathBuf::from(it.next().ok_or("--out needs a path")?),
            "--skip-build" => build = false,
            other => {
                return Err(format!(
                    "unknown argument `{other}` (allowed: --out PATH, --skip-build)"
                ))
            }
        }
    }
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    if build {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .current_dir(&root)
            .args([
                "build",
                "--profile",
                "wasm",
                "--target",
                "wasm32-unknown-unknown",
                "-p",
                "queuelab-lab",
            ])
            .status()
            .map_err(|e| format!("cannot start cargo: {e}"))?;
        if !status.success() {
            return Err("building the wasm failed (is the target installed? `rustup target add wasm32-unknown-unknown`)".into());
        }
    }
    let wasm_path = target_dir.join("wasm32-unknown-unknown/wasm/queuelab_lab.wasm");
    let wasm = std::fs::read(&wasm_path)
        .map_err(|e| format!("cannot read {}: {e}", wasm_path.display()))?;
    let web = root.join("web");
    let version = read(&root.join("crates/lab/Cargo.toml"))?
        .lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .map(|v| v.trim_end_matches('"').to_string())
        .unwrap_or_default();
    let template = read(&web.join("lab.html"))?;
    let lessons = serde_json::Value::Array(lessons(&root)?);
    let abi = read(&web.join("abi.js"))?;
    let pieces: [(&str, String); 8] = [
        ("/*@CSS@*/", read(&web.join("lab.css"))?),
        ("/*@UPLOT_CSS@*/", read(&web.join("vendor/uPlot.min.css"))?),
        (
            "/*@UPLOT_JS@*/",
            read(&web.join("vendor/uPlot.iife.min.js"))?,
        ),
        (
            "/*@WORKER_JS@*/",
            format!("{abi}\n{}", read(&web.join("worker.js"))?),
        ),
        ("/*@ABI_JS@*/", abi.clone()),
        ("/*@LAB_JS@*/", read(&web.join("lab.js"))?),
        ("@LESSONS@", script_json(&lessons)),
        (
            "@WASM@",
            base64::engine::general_purpose::STANDARD.encode(&wasm),
        ),
    ];
    let mut page = template.replace("@VERSION@", &version);
    for (mark, text) in &pieces {
        if !page.contains(mark) {
            return Err(format!("web/lab.html has no {mark} mark"));
        }
        page = page.replacen(mark, text, 1);
    }
    if page.len() > MAX_BYTES {
        return Err(format!(
            "lab.html is {} bytes, over the budget of {MAX_BYTES}",
            page.len()
        ));
    }
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    std::fs::write(&out, &page).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    println!(
        "wrote {} ({} bytes; wasm {} bytes; {} scenarios)",
        out.display(),
        page.len(),
        wasm.len(),
        lessons.as_array().map_or(0, Vec::len)
    );
    Ok(())
}
