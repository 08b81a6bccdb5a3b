//! report.html offers "open this scenario in the lab" when a lab.html sits beside it (or
//! in the output folder above it), or when QUEUELAB_LAB names one; the link carries the
//! file, the seed and the variant as the lab's share links do.

use crate::common::{queuelab, write};
use base64::Engine;

const MM1: &str = "name = \"mm1\"\nduration = \"2m\"\n[[producers]]\nrate = 5.0\n[consumers]\ncount = 1\nservice = { dist = \"exponential\", mean = \"100ms\" }\n";

fn href(html: &str) -> Option<String> {
    let at = html.find("<a class=\"lab\" href=\"")? + "<a class=\"lab\" href=\"".len();
    Some(html[at..].split('"').next()?.replace("&amp;", "&"))
}

#[test]
fn report_links_to_a_lab_beside_it_with_the_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "mm1.toml", MM1);
    let out = dir.path().join("output").join("mm1");
    let run = |env: Option<&str>| {
        let mut c = queuelab();
        c.env_remove("QUEUELAB_LAB");
        if let Some(e) = env {
            c.env("QUEUELAB_LAB", e);
        }
        c.args([
            "run",
            &file,
            "--seed",
            "11",
            "--no-plots",
            "--quiet",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
        std::fs::read_to_string(out.join("report.html")).unwrap()
    };
    // No lab anywhere: no link.
    assert_eq!(href(&run(None)), None);
    // output/lab.html, the lab's default place: linked from output/mm1/report.html.
    std::fs::write(dir.path().join("output/lab.html"), "lab").unwrap();
    let l = href(&run(None)).expect("a link to ../lab.html");
    let frag = l
        .strip_prefix("../lab.html#lab=")
        .unwrap_or_else(|| panic!("{l}"));
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(frag)
        .unwrap();
    let json = miniz_oxide::inflate::decompress_to_vec(&bytes).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(v["toml"], MM1);
    assert_eq!(v["seed"], "11");
    assert_eq!(v["variant"], serde_json::Value::Null);
    // A configured address wins.
    let l = href(&run(Some("https://example.org/lab.html"))).unwrap();
    assert!(l.starts_with("https://example.org/lab.html#lab="), "{l}");
}
