//! Arbitrary bytes as a scenario file: loading must never panic, and whatever loads runs
//! (bounded) and accounts for every message.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    queuelab::fuzzing::check_scenario_text(text, &[]);
});
