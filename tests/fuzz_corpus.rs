//! The fuzzers' corpora (tests/data/fuzz/*.jsonl, one JSON string per input), replayed:
//! loading never panics, and whatever loads runs and accounts for every message.

use queuelab::fuzzing::{check_scenario_text, BASE_SCENARIO};

fn corpus(name: &str) -> Vec<String> {
    let path = crate::common::root()
        .join("tests/data/fuzz")
        .join(format!("{name}.jsonl"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str::<String>(l).expect("one JSON string per line"))
        .collect()
}

#[test]
fn scenario_corpus_replays_cleanly() {
    let inputs = corpus("scenario");
    assert!(inputs.len() > 500, "{} inputs", inputs.len());
    for text in &inputs {
        check_scenario_text(text, &[]);
    }
}

#[test]
fn overrides_corpus_replays_cleanly() {
    let inputs = corpus("overrides");
    assert!(inputs.len() > 500, "{} inputs", inputs.len());
    for text in &inputs {
        let sets: Vec<&str> = text.lines().take(8).collect();
        check_scenario_text(BASE_SCENARIO, &sets);
    }
}
