//! The JSON the page exchanges with the core: safe Rust, tested natively.
//!
//! - [`run`]: a scenario's text, seed and variant in; the summaries exactly as
//!   `queuelab run --format json` prints them (wall time 0: the core reads no clock), and
//!   per run what the page draws: time series by column, latency distributions, findings,
//!   key figures, theory, quiz, and the bytes of summary.json and timeseries.csv.
//! - [`check`]: the CLI's validation, with the error's line, column, key, allowed values
//!   and hint.
//! - [`knobs`]: the numbers, durations, switches and choices written in the base scenario,
//!   with where each value sits in the text (UTF-16 offsets, as JavaScript counts), so
//!   the page can write a knob's new value back into the file.

use queuelab_core::error::InputError;
use queuelab_core::input::MemInputs;
use queuelab_core::metrics::{recovery, timeseries, Summary};
use queuelab_core::scenario::{self, Overrides, Scenario, VariantFilter};
use queuelab_core::sim::RunResult;
use queuelab_core::{findings, guard, output, quiz, theory};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use toml::de::{DeTable, DeValue};

/// What `run` is asked.
#[derive(Debug, Deserialize)]
pub struct RunRequest {
    /// The scenario file's text.
    pub toml: String,
    /// Overrides the file's seed (a number, or a string of digits for seeds above 2^53).
    #[serde(default)]
    pub seed: Option<Value>,
    /// Runs only this variant.
    #[serde(default)]
    pub variant: Option<String>,
    /// Names the text in errors (default `scenario.toml`).
    #[serde(default)]
    pub label: Option<String>,
    /// The data files the scenario names (`trace`, `rates`, `samples`, `buckets`): name
    /// as written in the scenario -> text. A scenario naming one not here is refused,
    /// naming it.
    #[serde(default)]
    pub data: std::collections::BTreeMap<String, String>,
}

/// The page's own data files (the bundled lessons' traces, rate series and samples), set
/// once by [`set_data`]; every run and check sees them, a request's own `data` on top.
static DATA: std::sync::Mutex<std::collections::BTreeMap<String, String>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

/// `data`: sets the page's data files from a JSON object (name -> text); answers
/// `{"ok": true, "files": N}`.
pub fn set_data(text: &str) -> Value {
    match serde_json::from_str::<std::collections::BTreeMap<String, String>>(text) {
        Ok(m) => {
            let n = m.len();
            *DATA.lock().unwrap_or_else(|p| p.into_inner()) = m;
            json!({ "ok": true, "files": n })
        }
        Err(e) => {
            json!({ "ok": false, "errors": [{ "message": format!("bad data: {e}"), "text": format!("bad data: {e}") }] })
        }
    }
}

/// The data files of a request (the page's, then the request's own), for the core.
fn inputs(data: &std::collections::BTreeMap<String, String>) -> std::sync::Arc<MemInputs> {
    let mut m = MemInputs::new().missing_hint(
        "the browser lab has only the data files the page gives it (those of its lessons); run this scenario with the command line (`queuelab run FILE`), which reads data files beside the scenario file",
    );
    for (k, v) in DATA.lock().unwrap_or_else(|p| p.into_inner()).iter() {
        m.insert(k.clone(), v);
    }
    for (k, v) in data {
        m.insert(k.clone(), v);
    }
    std::sync::Arc::new(m)
}

/// An input error as the page shows it.
pub fn error_json(e: &InputError) -> Value {
    json!({
        "file": e.file,
        "line": e.line,
        "column": e.col,
        "key": e.key,
        "message": e.message,
        "allowed": e.allowed,
        "hint": e.hint,
        "source_line": e.source_line,
        "text": e.to_string(),
    })
}

fn failed(e: &InputError) -> Value {
    json!({ "ok": false, "errors": [error_json(e)] })
}

fn label(l: &Option<String>) -> &str {
    l.as_deref().unwrap_or("scenario.toml")
}

/// Loads the file as `queuelab run FILE [--seed S] [--variant V]` does.
fn load(req: &RunRequest) -> Result<scenario::ScenarioFile, InputError> {
    let mut o = Overrides::default();
    match &req.seed {
        None | Some(Value::Null) => {}
        Some(Value::Number(n)) if n.as_u64().is_some() => o.set("seed", n.to_string()),
        Some(Value::String(s)) if !s.is_empty() && s.parse::<u64>().is_ok() => {
            o.set("seed", s.clone())
        }
        Some(other) => {
            return Err(InputError::new(format!("`{other}` is not a seed"))
                .in_file("seed")
                .allowed("a whole number 0 ..= 18446744073709551615"))
        }
    }
    if let Some(v) = &req.variant {
        o.variants = VariantFilter::Only(v.clone());
    }
    let mut file = scenario::parse_with(&req.toml, label(&req.label), &o, inputs(&req.data))?;
    if let Some(v) = &req.variant {
        file.select_variant(v)?;
    }
    Ok(file)
}

/// `check`: `{"ok": true, "name", "variants": [...]}` or `{"ok": false, "errors": [...]}`.
pub fn check(toml: &str, label_text: Option<String>) -> Value {
    match scenario::parse_with(
        toml,
        label(&label_text),
        &Overrides::default(),
        inputs(&Default::default()),
    ) {
        Ok(f) => json!({
            "ok": true,
            "errors": [],
            "name": f.base.name,
            "variants": f.variants.iter().filter_map(|v| v.variant.clone()).collect::<Vec<_>>(),
        }),
        Err(e) => failed(&e),
    }
}

/// Theory beside the run: the closed forms, the simulated values, the warnings the CLI
/// prints, and whether they agree.
fn theory_json(s: &Scenario, sum: &Summary) -> Value {
    let Some(t) = theory::params_of(s).and_then(|p| theory::predict(&p)) else {
        return Value::Null;
    };
    let pb =
        (sum.counts.produced > 0).then(|| sum.counts.rejected as f64 / sum.counts.produced as f64);
    // (figure, theory, simulated, absolute tolerance on top of 10% relative)
    let rows = [
        (
            "mean queue wait (s)",
            t.wq_mean,
            sum.latency.queue_wait.mean,
            1e-3,
        ),
        (
            "mean time in system (s)",
            t.w_mean,
            sum.latency.end_to_end.mean,
            1e-3,
        ),
        (
            "mean queue depth",
            t.lq_mean,
            Some(sum.queue.mean_depth),
            0.5,
        ),
        (
            "utilization",
            Some(t.utilization),
            Some(sum.consumers.utilization),
            0.01,
        ),
        ("rejected fraction", Some(t.p_block), pb, 0.005),
    ];
    let mut compared = 0;
    let mut worst: Option<(&str, f64)> = None;
    let mut out_rows = Vec::new();
    for (name, th, sim, tol) in rows {
        let agrees = match (th, sim) {
            (Some(a), Some(b)) if t.stable => {
                compared += 1;
                let ok = (a - b).abs() <= 0.1 * a.abs() + tol;
                let rel = if a.abs() > 0.0 {
                    (b - a).abs() / a.abs()
                } else {
                    0.0
                };
                if !ok && worst.is_none_or(|(_, w)| rel > w) {
                    worst = Some((name, rel));
                }
                Some(ok)
            }
            _ => None,
        };
        out_rows.push(json!({ "figure": name, "theory": th, "simulated": sim, "agrees": agrees }));
    }
    let mut warnings = Vec::new();
    if !t.stable {
        warnings.push("rho >= 1: this queue has no steady state; it grows without bound");
    } else if t.rho > 0.95 {
        warnings.push("rho is close to 1: steady state takes very long runs to reach");
    }
    let served = sum.latency.end_to_end.count;
    if t.stable
        && t.rho < 1.0
        && served > 0
        && (served as f64) < 1e5 * (1.0 / (1.0 - t.rho.min(0.99))).powi(2) / 100.0
    {
        warnings.push("the run is short for this load: expect differences of several percent");
    }
    let agreement = if compared == 0 {
        "none".to_string()
    } else if worst.is_none() {
        "agrees".to_string()
    } else {
        "differs".to_string()
    };
    json!({
        "prediction": t,
        "rows": out_rows,
        "warnings": warnings,
        "agreement": agreement,
        "worst": worst.map(|(n, r)| json!({ "figure": n, "relative_difference": r })),
    })
}

/// The time series by column, in timeseries.csv's order (`null` for empty percentiles).
fn columns(rows: &[timeseries::Row]) -> Value {
    let mut cols: Map<String, Value> = Map::new();
    let header = timeseries::header();
    let mut arrays: Vec<Vec<Value>> = vec![Vec::with_capacity(rows.len()); header.len()];
    for r in rows {
        if let Ok(Value::Object(o)) = serde_json::to_value(r) {
            for (i, h) in header.iter().enumerate() {
                arrays[i].push(o.get(*h).cloned().unwrap_or(Value::Null));
            }
        }
    }
    for (h, a) in header.iter().zip(arrays) {
        cols.insert((*h).to_string(), Value::Array(a));
    }
    Value::Object(cols)
}

fn cdf(points: &[(f64, f64)]) -> Value {
    Value::Array(points.iter().map(|(x, y)| json!([x, y])).collect())
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8_lossy(&bytes).into_owned()
}

fn one_run(s: &Scenario, r: &RunResult) -> Result<Value, queuelab_core::Error> {
    let sum = &r.summary;
    let windows: Vec<Value> = recovery::windows(s)
        .into_iter()
        .map(|(k, a, b)| {
            json!({ "kind": k, "label": k.label(), "start": queuelab_core::time::ns_to_secs(a), "end": queuelab_core::time::ns_to_secs(b) })
        })
        .collect();
    let questions: Vec<Value> = quiz::questions(s)
        .into_iter()
        .map(|q| {
            let actual = quiz::actual(q.key, s, sum);
            let slack = if q.unit == "percent" { 0.5 } else { 1e-3 };
            json!({
                "key": q.key, "prompt": q.prompt, "unit": q.unit, "estimate": q.estimate,
                "reasoning": q.reasoning, "actual": actual, "slack": slack,
            })
        })
        .collect();
    let figures: Vec<Value> = output::key_figures(sum)
        .into_iter()
        .map(|(k, v)| json!([k, v]))
        .collect();
    Ok(json!({
        "name": s.name,
        "variant": s.variant,
        "summary_json": text(output::summary_json(sum)?),
        "timeseries_csv": text(output::timeseries_csv(&r.rows)?),
        "series": columns(&r.rows),
        "windows": windows,
        "e2e_cdf": cdf(&r.e2e_cdf),
        "client_cdf": cdf(&r.client_cdf),
        "findings": findings::sentences(sum),
        "key_figures": figures,
        "theory": theory_json(s, sum),
        "quiz": questions,
        "capacity": s.queue.capacity,
        "consumers": s.consumers.count,
        "dlq": s.dlq_enabled,
        "conservation_holds": sum.conservation.holds,
        "stopped": sum.stopped,
    }))
}

/// `run`: `{"ok": true, "json": <the CLI's --format json text>, "base": {...}, "runs": [...]}`
/// or `{"ok": false, "errors": [...]}`.
pub fn run(req: &RunRequest) -> Value {
    let file = match load(req) {
        Ok(f) => f,
        Err(e) => return failed(&e),
    };
    let scenarios: Vec<&Scenario> = file.runs();
    let est: f64 = scenarios.iter().map(|s| guard::estimate(s).events).sum();
    if est > guard::DEFAULT_MAX_EVENTS {
        return failed(
            &InputError::new(format!(
                "this needs about {est:.2e} events, more than the limit of {:.2e}",
                guard::DEFAULT_MAX_EVENTS
            ))
            .in_file(label(&req.label).to_string())
            .hint("shorten the run or lower the rates"),
        );
    }
    let limits = guard::Limits::default();
    let results: Vec<RunResult> = scenarios
        .iter()
        .map(|s| queuelab_core::sim::run_with(s, &limits))
        .collect();
    let summaries: Vec<&Summary> = results.iter().map(|r| &r.summary).collect();
    let side_by_side = !file.variants.is_empty() && req.variant.is_none();
    let cli = if summaries.len() == 1 && !side_by_side {
        output::summary_json(summaries[0])
    } else {
        output::summaries_json(&summaries)
    };
    let mut runs = Vec::new();
    for (s, r) in scenarios.iter().zip(&results) {
        match one_run(s, r) {
            Ok(v) => runs.push(v),
            Err(e) => {
                return json!({ "ok": false, "errors": [{ "message": e.to_string(), "text": e.to_string() }] })
            }
        }
    }
    let b = &file.base;
    let teaching = b
        .teaching
        .as_ref()
        .map(|t| json!({ "question": t.question, "look_for": t.look_for, "takeaway": t.takeaway }));
    let comparison = if side_by_side {
        output::comparison_csv(&summaries).map(text).ok()
    } else {
        None
    };
    json!({
        "ok": true,
        "json": cli.map(text).unwrap_or_default(),
        "comparison_csv": comparison,
        "estimated_events": est,
        "base": {
            "name": b.name,
            "description": b.description,
            "seed": b.seed,
            "duration": queuelab_core::time::ns_to_secs(b.duration),
            "teaching": teaching,
            "variants": file.variants.iter().filter_map(|v| v.variant.clone()).collect::<Vec<_>>(),
        },
        "runs": runs,
    })
}

// ---------------------------------------------------------------------------------------
// Knobs

/// Top-level keys that are not knobs: names, prose, the seed (its own control), variants.
const NOT_KNOBS: [&str; 6] = [
    "name",
    "description",
    "seed",
    "teaching",
    "variants",
    "sample_every",
];

fn utf16_offset(text: &str, byte: usize) -> usize {
    text[..byte.min(text.len())].encode_utf16().count()
}

fn number(lit: &str, radix: u32) -> Option<f64> {
    let clean: String = lit.chars().filter(|c| *c != '_').collect();
    if radix == 10 {
        clean.parse::<f64>().ok()
    } else {
        let digits = clean.get(2..)?;
        i64::from_str_radix(digits, radix).ok().map(|v| v as f64)
    }
}

/// The choices of a string value, found by asking the validator what it would accept:
/// the values it names, kept when the file with that value alone changed still checks (a
/// service law that needs other parameters, a broker kind that refuses this file's other
/// keys, are left out of the list).
fn choices(text: &str, span: std::ops::Range<usize>, current: &str) -> Option<Vec<String>> {
    let with = |value: &str| {
        let mut t = String::with_capacity(text.len() + value.len() + 2);
        t.push_str(&text[..span.start]);
        t.push('"');
        t.push_str(value);
        t.push('"');
        t.push_str(&text[span.end..]);
        t
    };
    let o = Overrides {
        variants: VariantFilter::None,
        ..Default::default()
    };
    let named: Vec<String> = match scenario::parse(&with("zz-probe-zz"), "probe", &o) {
        Err(e) if e.message.starts_with("unknown ") && e.message.contains("zz-probe-zz") => e
            .allowed?
            .split(", ")
            .map(|s| s.trim_matches('`').to_string())
            .collect(),
        _ => return None,
    };
    Some(
        named
            .into_iter()
            .filter(|c| c == current || scenario::parse(&with(c), "probe", &o).is_ok())
            .collect(),
    )
}

fn walk(text: &str, t: &DeTable, path: &mut Vec<String>, out: &mut Vec<Value>) {
    for (k, v) in t.iter() {
        let key = k.get_ref().to_string();
        if path.is_empty() && NOT_KNOBS.contains(&key.as_str()) {
            continue;
        }
        if key == "name" {
            continue;
        }
        path.push(key);
        let span = v.span();
        let dotted = path.join(".");
        let at = json!([utf16_offset(text, span.start), utf16_offset(text, span.end)]);
        let lit = &text[span.clone()];
        match v.get_ref() {
            DeValue::Table(inner) => walk(text, inner, path, out),
            DeValue::Array(a) => {
                for (i, e) in a.iter().enumerate() {
                    if let DeValue::Table(inner) = e.get_ref() {
                        path.push(i.to_string());
                        walk(text, inner, path, out);
                        path.pop();
                    }
                }
            }
            DeValue::Integer(i) => {
                if let Some(x) = number(i.as_str(), i.radix()) {
                    out.push(json!({ "path": dotted, "kind": "int", "value": x, "span": at, "literal": lit }));
                }
            }
            DeValue::Float(f) => {
                if let Some(x) = number(f.as_str(), 10) {
                    out.push(json!({ "path": dotted, "kind": "float", "value": x, "span": at, "literal": lit }));
                }
            }
            DeValue::Boolean(b) => {
                out.push(json!({ "path": dotted, "kind": "bool", "value": b, "span": at, "literal": lit }));
            }
            DeValue::String(s) => {
                let s: &str = s.as_ref();
                if let Ok(secs) = queuelab_core::time::parse_duration(s) {
                    if s.trim().parse::<f64>().is_err() {
                        out.push(json!({ "path": dotted, "kind": "duration", "value": secs, "span": at, "literal": lit }));
                    }
                } else if let Some(c) = choices(text, span.clone(), s).filter(|c| c.len() > 1) {
                    out.push(json!({ "path": dotted, "kind": "enum", "value": s, "choices": c, "span": at, "literal": lit }));
                }
            }
            DeValue::Datetime(_) => {}
        }
        path.pop();
    }
}

/// The knobs of the base scenario (variants left as written), in file order.
pub fn knobs(text: &str) -> Value {
    let Ok(doc) = DeTable::parse(text) else {
        return json!({ "ok": false, "knobs": [] });
    };
    let mut out = Vec::new();
    walk(text, doc.get_ref(), &mut Vec::new(), &mut out);
    out.sort_by_key(|k| k["span"][0].as_u64());
    json!({ "ok": true, "knobs": out })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MM1: &str = "name = \"mm1\" # ─ comment\nduration = \"10m\"\n[[producers]]\nrate = 5.0\n[queue]\ncapacity = 1_000\noverflow = \"reject\"\n[consumers]\ncount = 1\nservice = { dist = \"exponential\", mean = \"100ms\" }\n";

    #[test]
    fn knobs_find_values_and_choices() {
        let k = knobs(MM1);
        let list = k["knobs"].as_array().unwrap();
        let get = |p: &str| list.iter().find(|x| x["path"] == p).cloned().unwrap();
        assert_eq!(get("duration")["kind"], "duration");
        assert_eq!(get("duration")["value"], 600.0);
        assert_eq!(get("queue.capacity")["value"], 1000.0);
        let overflow = get("queue.overflow");
        assert_eq!(overflow["kind"], "enum");
        let c: Vec<&str> = overflow["choices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert!(c.contains(&"reject") && c.contains(&"drop-oldest"), "{c:?}");
        // Other service laws need other parameters: no choice to offer, so no knob.
        assert!(list.iter().all(|x| x["path"] != "consumers.service.dist"));
        assert_eq!(get("consumers.service.mean")["value"], 0.1);
        assert_eq!(get("producers.0.rate")["value"], 5.0);
        // Spans are UTF-16 offsets of the value literal (the comment's box drawing counts 1 each).
        let span = get("consumers.count")["span"].clone();
        let (a, b) = (
            span[0].as_u64().unwrap() as usize,
            span[1].as_u64().unwrap() as usize,
        );
        let units: Vec<u16> = MM1.encode_utf16().collect();
        assert_eq!(String::from_utf16(&units[a..b]).unwrap(), "1");
    }

    #[test]
    fn check_reports_position_allowed_and_hint() {
        let bad = MM1.replace("overflow = \"reject\"", "overflow = \"rejekt\"");
        let v = check(&bad, None);
        assert_eq!(v["ok"], false);
        let e = &v["errors"][0];
        assert_eq!(e["line"], 7);
        assert_eq!(e["column"], 12);
        assert_eq!(e["key"], "queue.overflow");
        assert!(e["allowed"].as_str().unwrap().contains("drop-oldest"));
        assert_eq!(e["hint"], "did you mean `reject`?");
    }

    #[test]
    fn run_prints_what_the_cli_prints() {
        let req = RunRequest {
            toml: MM1.into(),
            seed: Some(json!(3)),
            variant: None,
            label: None,
            data: Default::default(),
        };
        let v = run(&req);
        assert_eq!(v["ok"], true, "{v}");
        let printed: Value = serde_json::from_str(v["json"].as_str().unwrap()).unwrap();
        assert!(printed.is_object());
        assert_eq!(printed["seed"], 3);
        assert_eq!(
            v["runs"][0]["series"]["time"].as_array().unwrap().len(),
            600
        );
        assert_eq!(
            v["runs"][0]["theory"]["agreement"], "agrees",
            "{}",
            v["runs"][0]["theory"]
        );
        let bad = RunRequest {
            toml: MM1.into(),
            seed: Some(json!("x")),
            variant: None,
            label: None,
            data: Default::default(),
        };
        assert_eq!(run(&bad)["errors"][0]["file"], "seed");
        // Data files come with the request; one that does not is refused, named.
        let traced = MM1.replace("rate = 5.0", "arrivals = \"trace\"\ntrace = \"data/t.csv\"");
        assert_ne!(traced, MM1);
        let mut req = RunRequest {
            toml: traced,
            seed: None,
            variant: None,
            label: None,
            data: Default::default(),
        };
        let v = run(&req);
        assert_eq!(v["errors"][0]["file"], "data/t.csv", "{v}");
        assert!(v["errors"][0]["hint"]
            .as_str()
            .unwrap()
            .contains("browser lab"));
        req.data
            .insert("data/t.csv".into(), "0.1\n0.2\n0.25\n".into());
        let v = run(&req);
        assert_eq!(v["ok"], true);
        assert!(v["json"].as_str().unwrap().contains("\"produced\": 3,"));
    }
}
