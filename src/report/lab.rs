//! report.html's "open this scenario in the lab": a link into the browser lab (`lab.html`,
//! built by `cargo run -p xtask -- lab`) that carries the scenario, as the lab's own
//! "Share link" does: `#lab=` then base64url (no padding) of the raw-deflated JSON
//! `{"v": 1, "toml", "seed", "variant", "label"}`.

use base64::Engine;
use std::path::Path;

/// The environment variable that names a lab's address (e.g. a course page's copy).
pub const LAB_ENV: &str = "QUEUELAB_LAB";

/// Where the lab is for a report written to `out_dir`: `$QUEUELAB_LAB` if set and not
/// empty, else a `lab.html` in `out_dir` or in its parent folder (`output/lab.html`, the
/// lab's default place, for `output/<name>/report.html`), as a relative address.
pub fn address(out_dir: &Path) -> Option<String> {
    if let Some(v) = std::env::var_os(LAB_ENV).filter(|v| !v.is_empty()) {
        return Some(v.to_string_lossy().into_owned());
    }
    if out_dir.join("lab.html").is_file() {
        return Some("lab.html".into());
    }
    if out_dir.join("../lab.html").is_file() {
        return Some("../lab.html".into());
    }
    None
}

/// The link that opens `toml` in the lab at `lab`, with the run's seed and variant.
pub fn link(
    lab: &str,
    toml: &str,
    seed: Option<u64>,
    variant: Option<&str>,
    label: &str,
) -> String {
    let payload = serde_json::json!({
        "v": 1,
        "toml": toml,
        "seed": seed.map(|s| s.to_string()),
        "variant": variant,
        "label": label,
    });
    let deflated = miniz_oxide::deflate::compress_to_vec(payload.to_string().as_bytes(), 9);
    let lab = lab.split('#').next().unwrap_or(lab);
    format!(
        "{lab}#lab={}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(deflated)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_carries_the_scenario() {
        let l = link(
            "../lab.html#old",
            "name = \"x\"\n",
            Some(11),
            Some("v"),
            "x.toml",
        );
        let frag = l.strip_prefix("../lab.html#lab=").expect(&l);
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(frag)
            .unwrap();
        let json = miniz_oxide::inflate::decompress_to_vec(&bytes).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(v["toml"], "name = \"x\"\n");
        assert_eq!(v["seed"], "11");
        assert_eq!(v["variant"], "v");
    }
}
