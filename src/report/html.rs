//! report.html: one self-contained page (inline SVG, inline CSS, no JavaScript, nothing
//! fetched) with the scenario's question, findings written from the numbers, key figures
//! per variant, the pictures, the scenario file and how to re-run it.

use super::findings;
use crate::metrics::Summary;
use crate::report::files::key_figures;
use crate::scenario::Scenario;

/// Escapes text for HTML.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Makes a standalone SVG document fit inline: drops the namespace URI and the fixed size.
pub fn inline_svg(svg: &str, label: &str) -> String {
    let Some(end) = svg.find('>') else {
        return String::new();
    };
    let head = &svg[..end];
    let view = head
        .split("viewBox=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or("0 0 1600 1500");
    format!(
        "<svg viewBox=\"{view}\" role=\"img\" aria-label=\"{}\" class=\"chart\">{}",
        escape(label),
        &svg[end + 1..]
    )
}

/// The inputs of a report.
pub struct Report<'a> {
    /// The base scenario (description, teaching notes).
    pub base: &'a Scenario,
    /// The scenario file's text.
    pub source: &'a str,
    /// The scenario file's path as given.
    pub path: &'a str,
    /// The exact command that made the run, as one shell line.
    pub command: &'a str,
    /// The overrides applied over the file (`KEY=VALUE`), in order.
    pub overrides: &'a [String],
    /// (run name, TOML) of each run's scenario as run, when a variant was chosen or keys
    /// were overridden (empty when the file as written is what ran).
    pub as_run: Vec<(String, String)>,
    /// The runs: (scenario, summary).
    pub runs: Vec<(&'a Scenario, &'a Summary)>,
    /// (title, inline-ready SVG) pictures, in order.
    pub pictures: Vec<(String, String)>,
    /// A link that opens this scenario in the browser lab ([`super::lab`]), if one is near.
    pub lab: Option<String>,
}

const CSS: &str = r#"
:root { --ink: #1d2433; --muted: #5b6478; --line: #d9dde6; --accent: #1f77b4; --warn: #b03a2e; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", "Segoe UI", Helvetica, Arial, sans-serif; color: var(--ink);
       max-width: 1200px; margin: 0 auto; padding: 2rem 2.5rem; font-size: 19px; line-height: 1.5; }
h1 { font-size: 2.2rem; margin: 0 0 .3rem; }
h2 { font-size: 1.5rem; margin-top: 2.2rem; border-bottom: 2px solid var(--line); padding-bottom: .2rem; }
h3 { font-size: 1.2rem; margin-bottom: .3rem; }
.lede { color: var(--muted); font-size: 1.15rem; margin-top: 0; }
.question { background: #eef5fb; border-left: 6px solid var(--accent); padding: .8rem 1.2rem; font-size: 1.2rem; }
.question p { margin: .3rem 0; }
ul.findings li { margin: .35rem 0; }
table { border-collapse: collapse; width: 100%; font-size: .95rem; }
th, td { border-bottom: 1px solid var(--line); padding: .3rem .6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #f3f5f9; }
figure { margin: 1.5rem 0; page-break-inside: avoid; break-inside: avoid; }
figcaption { color: var(--muted); font-size: .95rem; }
svg.chart { width: 100%; height: auto; border: 1px solid var(--line); }
pre { background: #f6f7f9; padding: 1rem; overflow-x: auto; font-size: .8rem; line-height: 1.35; }
code { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; }
.bad { color: var(--warn); font-weight: bold; }
@media print {
  body { font-size: 11pt; padding: 0; max-width: none; }
  h2 { page-break-after: avoid; }
  pre { white-space: pre-wrap; }
}
"#;

/// Renders the page.
pub fn render(r: &Report) -> String {
    let b = r.base;
    let mut h = String::with_capacity(64 * 1024);
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    h.push_str(&format!(
        "<title>queuelab: {}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        escape(&b.name)
    ));
    h.push_str(&format!("<h1>{}</h1>\n", escape(&b.name)));
    if !b.description.is_empty() {
        h.push_str(&format!(
            "<p class=\"lede\">{}</p>\n",
            escape(&b.description)
        ));
    }
    if let Some(t) = &b.teaching {
        h.push_str("<div class=\"question\">\n");
        for (label, text) in [("Question", &t.question), ("Look for", &t.look_for)] {
            if !text.is_empty() {
                h.push_str(&format!(
                    "<p><strong>{label}:</strong> {}</p>\n",
                    escape(text)
                ));
            }
        }
        h.push_str("</div>\n");
    }

    h.push_str("<h2>What happened</h2>\n");
    for (s, sum) in &r.runs {
        if let Some(v) = &s.variant {
            h.push_str(&format!("<h3>{}</h3>\n", escape(v)));
        }
        h.push_str("<ul class=\"findings\">\n");
        for line in findings::sentences(sum) {
            h.push_str(&format!("<li>{}</li>\n", escape(&line)));
        }
        if !sum.conservation.holds {
            h.push_str("<li class=\"bad\">The conservation check failed: some messages are unaccounted for. Please report this as a bug.</li>\n");
        }
        h.push_str("</ul>\n");
    }
    if let Some(t) = b.teaching.as_ref().filter(|t| !t.takeaway.is_empty()) {
        h.push_str(&format!(
            "<p class=\"question\"><strong>Takeaway:</strong> {}</p>\n",
            escape(&t.takeaway)
        ));
    }

    h.push_str("<h2>Key figures</h2>\n<table>\n<thead><tr><th>figure</th>");
    let figures: Vec<Vec<(&str, String)>> = r.runs.iter().map(|(_, s)| key_figures(s)).collect();
    for (s, _) in &r.runs {
        h.push_str(&format!(
            "<th>{}</th>",
            escape(s.variant.as_deref().unwrap_or(&s.name))
        ));
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    if let Some(first) = figures.first() {
        for (i, (name, _)) in first.iter().enumerate().skip(1) {
            h.push_str(&format!("<tr><td>{}</td>", name.replace('_', " ")));
            for f in &figures {
                h.push_str(&format!("<td>{}</td>", escape(&pretty(name, &f[i].1))));
            }
            h.push_str("</tr>\n");
        }
    }
    h.push_str("</tbody>\n</table>\n<p class=\"lede\">Latency percentiles are over messages produced after the warm-up; e2e is end-to-end, client is what callers waited.</p>\n");

    if !r.pictures.is_empty() {
        h.push_str("<h2>Pictures</h2>\n");
        for (title, svg) in &r.pictures {
            h.push_str(&format!(
                "<figure>\n{svg}\n<figcaption>{}</figcaption>\n</figure>\n",
                escape(title)
            ));
        }
    }

    h.push_str("<h2>The scenario</h2>\n");
    h.push_str(&format!("<pre><code>{}</code></pre>\n", escape(r.source)));
    if !r.as_run.is_empty() {
        let overrides = if r.overrides.is_empty() {
            String::new()
        } else {
            let each: Vec<String> = r
                .overrides
                .iter()
                .map(|o| format!("<code>{}</code>", escape(o)))
                .collect();
            format!(", then the overrides {}", each.join(", "))
        };
        h.push_str(&format!(
            "<h2>The scenario as run</h2>\n<p>The numbers above are for these, not for the file as written: the file's keys, then the variant's{overrides}.</p>\n"
        ));
        for (name, toml) in &r.as_run {
            h.push_str(&format!(
                "<h3>{}</h3>\n<pre><code>{}</code></pre>\n",
                escape(name),
                escape(toml)
            ));
        }
    }
    h.push_str("<h2>Run it again</h2>\n");
    let mut seeds: Vec<u64> = r.runs.iter().map(|(s, _)| s.seed).collect();
    seeds.sort_unstable();
    seeds.dedup();
    let seeds: Vec<String> = seeds.iter().map(u64::to_string).collect();
    h.push_str(&format!(
        "<pre><code>{}</code></pre>\n<p>The same file, flags and seed ({}) give the same numbers on any machine.</p>\n",
        escape(r.command),
        seeds.join(", ")
    ));
    if let Some(l) = &r.lab {
        h.push_str(&format!(
            "<p><a class=\"lab\" href=\"{}\">Open this scenario in the lab</a>: the same engine in the browser, with knobs, playback and the quiz.</p>\n",
            escape(l)
        ));
    }
    h.push_str("<p class=\"lede\">Made by queuelab.</p>\n</body>\n</html>\n");
    h
}

fn pretty(name: &str, value: &str) -> String {
    let Ok(x) = value.parse::<f64>() else {
        return value.to_string();
    };
    if name == "utilization" {
        format!("{:.1}%", 100.0 * x)
    } else if name.contains("p50")
        || name.contains("p99")
        || name.ends_with("_max")
        || name.ends_with("_age")
    {
        crate::time::human(x)
    } else if name == "retry_amplification" {
        format!("{x:.2}")
    } else if x == x.trunc() {
        crate::report::text::thousands(x as u64)
    } else {
        format!("{x:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_formatted_by_kind() {
        assert_eq!(pretty("max_depth", "50000"), "50,000");
        assert_eq!(pretty("e2e_max", "250"), "4m 10s");
        assert_eq!(pretty("max_oldest_age", "0.5"), "500ms");
        assert_eq!(pretty("utilization", "0.84"), "84.0%");
    }

    #[test]
    fn escapes_and_inlines() {
        assert_eq!(escape("<a & \"b\">"), "&lt;a &amp; &quot;b&quot;&gt;");
        let svg = "<svg width=\"10\" height=\"5\" viewBox=\"0 0 10 5\" xmlns=\"http://www.w3.org/2000/svg\">\n<rect/></svg>";
        let inl = inline_svg(svg, "x");
        assert!(inl.starts_with("<svg viewBox=\"0 0 10 5\""));
        assert!(!inl.contains("http"));
        assert!(inl.contains("<rect/>"));
    }
}
