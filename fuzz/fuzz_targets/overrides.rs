//! A valid scenario with arbitrary `--set KEY=VALUE` lines: overrides must never panic,
//! and whatever loads runs (bounded) and accounts for every message.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let sets: Vec<&str> = text.lines().take(8).collect();
    queuelab::fuzzing::check_scenario_text(queuelab::fuzzing::BASE_SCENARIO, &sets);
});
