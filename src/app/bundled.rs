//! The bundled lessons, compiled into the binary so that `queuelab list` and
//! `queuelab run flash_sale` work from any folder. A path that exists always wins.

use crate::error::{Error, InputError};
use std::path::Path;

/// (name, text) of every file in `scenarios/`, in name order.
pub const BUNDLED: &[(&str, &str)] = &[
    (
        "at_least_once",
        include_str!("../../scenarios/at_least_once.toml"),
    ),
    (
        "autoscaling",
        include_str!("../../scenarios/autoscaling.toml"),
    ),
    (
        "backpressure",
        include_str!("../../scenarios/backpressure.toml"),
    ),
    (
        "broker_choice",
        include_str!("../../scenarios/broker_choice.toml"),
    ),
    (
        "checkout_fanout",
        include_str!("../../scenarios/checkout_fanout.toml"),
    ),
    (
        "dashboard_signals",
        include_str!("../../scenarios/dashboard_signals.toml"),
    ),
    (
        "decoupling",
        include_str!("../../scenarios/decoupling.toml"),
    ),
    (
        "downstream_outage",
        include_str!("../../scenarios/downstream_outage.toml"),
    ),
    (
        "flash_sale",
        include_str!("../../scenarios/flash_sale.toml"),
    ),
    (
        "iot_firehose",
        include_str!("../../scenarios/iot_firehose.toml"),
    ),
    (
        "kafka_partitions",
        include_str!("../../scenarios/kafka_partitions.toml"),
    ),
    (
        "noisy_neighbour",
        include_str!("../../scenarios/noisy_neighbour.toml"),
    ),
    (
        "poison_message",
        include_str!("../../scenarios/poison_message.toml"),
    ),
    (
        "rabbitmq_poison",
        include_str!("../../scenarios/rabbitmq_poison.toml"),
    ),
    (
        "rabbitmq_prefetch",
        include_str!("../../scenarios/rabbitmq_prefetch.toml"),
    ),
    (
        "real_traffic",
        include_str!("../../scenarios/real_traffic.toml"),
    ),
    (
        "restart_backlog",
        include_str!("../../scenarios/restart_backlog.toml"),
    ),
    (
        "retry_storm",
        include_str!("../../scenarios/retry_storm.toml"),
    ),
    (
        "sync_vs_async",
        include_str!("../../scenarios/sync_vs_async.toml"),
    ),
    (
        "when_not_to_queue",
        include_str!("../../scenarios/when_not_to_queue.toml"),
    ),
];

/// (name as the lessons write it, text) of every data file a bundled lesson reads, so that
/// `queuelab run real_traffic` works from any folder as the other lessons do.
pub const BUNDLED_DATA: &[(&str, &str)] = &[(
    "data/departures_east_2001-06-29.csv",
    include_str!("../../scenarios/data/departures_east_2001-06-29.csv"),
)];

/// The bundled lessons' data files, for a scenario labelled `bundled:NAME.toml`.
pub fn data_inputs() -> queuelab_core::input::MemInputs {
    let mut m = queuelab_core::input::MemInputs::new().missing_hint(
        "a bundled lesson reads only the data files built in with it; save the lesson to a file (`queuelab run` a path) to give it your own",
    );
    for (name, text) in BUNDLED_DATA {
        m.insert((*name).to_string(), text);
    }
    m
}

/// The bundled lesson called `arg` (`flash_sale`, `flash_sale.toml` or
/// `scenarios/flash_sale.toml`), if there is one.
pub fn bundled(arg: &str) -> Option<(&'static str, &'static str)> {
    let name = arg.strip_prefix("scenarios/").unwrap_or(arg);
    let name = name.strip_suffix(".toml").unwrap_or(name);
    BUNDLED.iter().copied().find(|(n, _)| *n == name)
}

/// A scenario's text and the label that names it in messages: the file at `arg` when
/// there is one, else the bundled lesson of that name (labelled `bundled:NAME.toml`).
pub fn source(arg: &str) -> Result<(String, String), Error> {
    match std::fs::read_to_string(arg) {
        Ok(text) => Ok((arg.to_string(), text)),
        Err(e) => {
            if !Path::new(arg).exists() {
                if let Some((name, text)) = bundled(arg) {
                    return Ok((format!("bundled:{name}.toml"), text.to_string()));
                }
            }
            let names: Vec<&str> = BUNDLED.iter().map(|(n, _)| *n).collect();
            let mut err = InputError::new(format!("cannot read the scenario file: {e}"))
                .in_file(arg.to_string());
            if !Path::new(arg).exists() {
                err = err
                    .allowed(format!(
                        "a scenario file, or a bundled lesson: {}",
                        names.join(", ")
                    ))
                    .hint("`queuelab list` shows the bundled lessons and their questions");
                if let Some(s) = crate::error::did_you_mean(arg, names.iter().copied()) {
                    err = err.hint(format!("did you mean `{s}`?"));
                }
            }
            Err(err.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_in_scenarios_is_bundled() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
            .collect();
        names.sort();
        let all: Vec<&str> = BUNDLED.iter().map(|(n, _)| *n).collect();
        assert_eq!(all, names, "add the new scenario to BUNDLED");
        assert!(bundled("scenarios/flash_sale.toml").is_some());
        assert!(bundled("flash_sale").is_some());
        assert!(bundled("nope").is_none());
    }

    #[test]
    fn every_bundled_lesson_loads_with_its_built_in_data() {
        for (name, text) in BUNDLED {
            let label = format!("bundled:{name}.toml");
            if let Err(e) = crate::scenario::parse(text, &label, &Default::default()) {
                panic!("{label}: {e}");
            }
        }
        // And every built-in data file is one a lesson reads.
        for (file, _) in BUNDLED_DATA {
            assert!(
                BUNDLED
                    .iter()
                    .any(|(_, t)| t.contains(&format!("\"{file}\""))),
                "{file} is built in but no lesson reads it"
            );
        }
    }
}
