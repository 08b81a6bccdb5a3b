//! Pictures: what the PNGs show, checked on their pixels, and the
//! drawing decisions behind them (clipping, gaps, units, legend labels, shading).

use crate::common::root;
use queuelab::report::plot;
use queuelab::scenario::{self, Overrides, Scenario, ScenarioFile};
use queuelab::sim::{self, RunResult};

fn file(name: &str) -> ScenarioFile {
    let path = root().join("scenarios").join(name);
    scenario::load(path.to_str().unwrap(), &Overrides::default()).unwrap()
}

/// flash_sale's four variants, run once for all the tests here (they are the heaviest).
fn flash_sale() -> &'static [(Scenario, RunResult)] {
    static RUNS: std::sync::OnceLock<Vec<(Scenario, RunResult)>> = std::sync::OnceLock::new();
    RUNS.get_or_init(|| runs(&file("flash_sale.toml")))
}

fn runs(f: &ScenarioFile) -> Vec<(Scenario, RunResult)> {
    f.runs()
        .into_iter()
        .map(|s| (s.clone(), sim::run(s)))
        .collect()
}

/// Pixels of a strong colour (series lines; not the black title text, the grey grid or the
/// white background) in the rows `y0..y1` of a PNG.
fn coloured_pixels(png: &[u8], y0: u32, y1: u32) -> usize {
    let img = image::load_from_memory(png).unwrap().to_rgb8();
    let mut n = 0;
    for y in y0..y1.min(img.height()) {
        for x in 0..img.width() {
            let p = img.get_pixel(x, y).0;
            let hi = *p.iter().max().unwrap() as i32;
            let lo = *p.iter().min().unwrap() as i32;
            if hi - lo > 80 {
                n += 1;
            }
        }
    }
    n
}

/// The band above the first row of panels holds the picture's title and nothing else.
const TITLE_BAND: u32 = 40;

#[test]
fn no_line_crosses_into_the_title_band_of_a_png() {
    // downstream_outage's comparison: its orange lines used to cross the title.
    let f = file("downstream_outage.toml");
    let rs = runs(&f);
    let pairs: Vec<(&Scenario, &[queuelab::metrics::Row])> =
        rs.iter().map(|(s, r)| (s, r.rows.as_slice())).collect();
    let (png, _) = plot::compare(&f.base, &pairs).unwrap();
    assert_eq!(
        coloured_pixels(&png, 0, TITLE_BAND),
        0,
        "compare.png title band"
    );
    // checkout_fanout's subscribers and dashboards.
    let f = file("checkout_fanout.toml");
    for (s, r) in runs(&f) {
        let named: Vec<(String, &Scenario, &[queuelab::metrics::Row])> = s
            .subscribers
            .iter()
            .zip(&r.subscribers)
            .map(|(sub, (name, sr))| (name.clone(), &*sub.run, sr.rows.as_slice()))
            .collect();
        if !named.is_empty() {
            let (png, _) =
                plot::compare_named("subscribers", &sim::totals_scenario(&s), &named).unwrap();
            assert_eq!(
                coloured_pixels(&png, 0, TITLE_BAND),
                0,
                "subscribers.png of {:?}",
                s.variant
            );
            for (sub, (_, sr)) in s.subscribers.iter().zip(&r.subscribers) {
                let (png, _) = plot::dashboard(&sub.run, &sr.rows).unwrap();
                assert_eq!(coloured_pixels(&png, 0, TITLE_BAND), 0, "{}", sub.run.name);
            }
        }
    }
    // broker_choice's dashboards.
    let f = file("broker_choice.toml");
    for (s, r) in runs(&f) {
        let (png, _) = plot::dashboard(&s, &r.rows).unwrap();
        assert_eq!(
            coloured_pixels(&png, 0, TITLE_BAND),
            0,
            "dashboard of {:?}",
            s.variant
        );
    }
}

fn area() -> plot::Area {
    plot::Area {
        left: 0.0,
        top: 0.0,
        right: 100.0,
        bottom: 100.0,
    }
}

#[test]
fn strokes_are_clipped_to_their_panel_and_broken_at_gaps() {
    // A spike far above the panel is cut at its top edge, both ways.
    let spike = [(10.0, 90.0), (20.0, -500.0), (30.0, 90.0)];
    let lines = plot::strokes(&spike, area());
    assert_eq!(lines.len(), 2, "{lines:?}");
    for l in &lines {
        assert!(l.iter().all(|p| (0.0..=100.0).contains(&p.1)), "{l:?}");
    }
    assert_eq!(lines[0].last().unwrap().1, 0.0);
    assert_eq!(lines[1][0].1, 0.0);
    // A gap (no value) breaks the line; an isolated value stays as a dot.
    let gappy = [
        (0.0, 50.0),
        (10.0, 50.0),
        (20.0, f64::NAN),
        (30.0, 40.0),
        (40.0, f64::NAN),
        (50.0, 60.0),
        (60.0, 60.0),
    ];
    let lines = plot::strokes(&gappy, area());
    assert_eq!(
        lines,
        vec![
            vec![(0.0, 50.0), (10.0, 50.0)],
            vec![(30.0, 40.0)],
            vec![(50.0, 60.0), (60.0, 60.0)]
        ]
    );
    // A line along an edge (zero on the x axis) is kept.
    let floor = [(0.0, 100.0), (50.0, 100.0), (100.0, 100.0)];
    assert_eq!(plot::strokes(&floor, area()), vec![floor.to_vec()]);
    assert_eq!(
        plot::clip_segment((-50.0, 50.0), (150.0, 50.0), area()),
        Some(((0.0, 50.0), (100.0, 50.0)))
    );
    assert_eq!(
        plot::clip_segment((-50.0, -1.0), (150.0, -1.0), area()),
        None
    );
}

#[test]
fn decimation_keeps_gaps_and_lines_do_not_cross_them() {
    // 100k samples with nothing to show in the middle fifth.
    let pts: Vec<(f64, f64)> = (0..100_000)
        .map(|i| {
            let v = if (40_000..60_000).contains(&i) {
                f64::NAN
            } else {
                (i % 7) as f64
            };
            (i as f64, v)
        })
        .collect();
    let d = plot::decimate(pts);
    assert!(d.len() <= plot::MAX_POINTS);
    let big = plot::Area {
        left: -1.0,
        top: -1.0,
        right: 1e6,
        bottom: 1e6,
    };
    let lines = plot::strokes(&d, big);
    assert_eq!(lines.len(), 2, "one line each side of the gap");
    for l in &lines {
        for w in l.windows(2) {
            assert!(
                !(w[0].0 < 45_000.0 && w[1].0 > 55_000.0),
                "a segment spans the gap: {w:?}"
            );
        }
    }
}

#[test]
fn end_to_end_lines_break_where_nothing_completed() {
    // checkout_fanout's email subscriber completes nothing during its 4m-7m outage.
    let f = file("checkout_fanout.toml");
    let s = f
        .runs()
        .into_iter()
        .find(|s| !s.subscribers.is_empty())
        .unwrap();
    let r = sim::run(s);
    let email = s
        .subscribers
        .iter()
        .position(|x| x.name == "email")
        .unwrap();
    let panels = plot::dashboard_panels(&s.subscribers[email].run, &r.subscribers[email].1.rows);
    let e2e = panels
        .iter()
        .find(|p| p.title.starts_with("End-to-end"))
        .unwrap();
    let p99 = &e2e.series.iter().find(|(n, _)| n == "p99").unwrap().1;
    let in_outage: Vec<&(f64, f64)> = p99.iter().filter(|p| p.0 > 270.0 && p.0 < 390.0).collect();
    assert!(!in_outage.is_empty(), "the gap is marked, not skipped");
    assert!(in_outage.iter().all(|p| p.1.is_nan()), "{in_outage:?}");
    let lines = plot::strokes(
        p99,
        plot::Area {
            left: 0.0,
            top: -1.0,
            right: 1e9,
            bottom: 1e9,
        },
    );
    assert!(lines.len() >= 2, "broken at the outage");
    for l in &lines {
        assert!(
            !l.windows(2).any(|w| w[0].0 < 270.0 && w[1].0 > 390.0),
            "drawn straight across the outage"
        );
    }
}

#[test]
fn twenty_one_series_look_different_and_the_cdf_gives_each_run_a_colour() {
    let styles: Vec<_> = (0..21).map(plot::series_style).collect();
    for (i, a) in styles.iter().enumerate() {
        assert!(
            styles[..i].iter().all(|b| b != a),
            "series {i} looks like an earlier one"
        );
    }
    // flash_sale: four variants, eight curves; every curve has its own look, and a
    // variant's two curves share a colour (solid end to end, dashed for callers).
    let rs = flash_sale();
    let named: Vec<(String, &RunResult)> = rs
        .iter()
        .map(|(s, r)| (s.variant.clone().unwrap(), r))
        .collect();
    let curves = plot::cdf_curves(&named);
    assert_eq!(curves.len(), 8);
    let looks: Vec<_> = curves.iter().map(plot::cdf_style).collect();
    for (i, a) in looks.iter().enumerate() {
        assert!(looks[..i].iter().all(|b| b != a), "{:?}", curves[i].name);
    }
    for pair in curves.chunks(2) {
        let (a, b) = (plot::cdf_style(&pair[0]), plot::cdf_style(&pair[1]));
        assert_eq!(a.0, b.0, "{} / {}", pair[0].name, pair[1].name);
        assert_eq!(a.1, plot::Dash::Solid);
        assert_ne!(b.1, plot::Dash::Solid);
    }
    let dashed = plot::dashes(&[(0.0, 0.0), (100.0, 0.0)], plot::Dash::Long);
    assert_eq!(dashed.len(), 5, "14 on, 6 off along 100 px: {dashed:?}");
    assert_eq!(dashed[1], vec![(20.0, 0.0), (34.0, 0.0)]);
}

#[test]
fn the_cdf_counts_refused_messages_and_says_so() {
    let rs = flash_sale();
    let named: Vec<(String, &RunResult)> = rs
        .iter()
        .map(|(s, r)| (s.variant.clone().unwrap(), r))
        .collect();
    let curves = plot::cdf_curves(&named);
    let bounded = curves
        .iter()
        .find(|c| c.name == "bounded-8 end-to-end")
        .unwrap();
    let (_, r) = rs
        .iter()
        .find(|(s, _)| s.variant.as_deref() == Some("bounded-8"))
        .unwrap();
    let c = &r.summary.counts;
    assert!(c.rejected > 0);
    let share = c.completed as f64 / c.produced as f64;
    assert!((bounded.covered - share).abs() < 1e-12);
    let top = bounded.drawn().map(|p| p.1).fold(0.0f64, f64::max);
    assert!(
        (top - 100.0 * share).abs() < 1e-9,
        "the curve stops at the completed share, {top}"
    );
    let missing = format!("{:.1}% never completed", 100.0 * (1.0 - share));
    assert_eq!(bounded.label(), format!("bounded-8 end-to-end: {missing}"));
    let unbounded = curves
        .iter()
        .find(|c| c.name == "unbounded-8 end-to-end")
        .unwrap();
    // No refusals there, but a backlog still queued at the end: also never completed.
    let (_, ur) = rs
        .iter()
        .find(|(s, _)| s.variant.as_deref() == Some("unbounded-8"))
        .unwrap();
    let uc = &ur.summary.counts;
    assert_eq!(uc.rejected, 0);
    assert!(uc.in_queue_at_end > 0);
    assert!((unbounded.covered - uc.completed as f64 / uc.produced as f64).abs() < 1e-12);
    let (_, svg) = plot::latency_cdf("flash", &curves).unwrap();
    assert!(svg.contains(&missing), "the legend says it");
    assert!(
        svg.contains("never completed the rest"),
        "the note under the title"
    );
    // Ticks carry their unit: 100 ms, 1 s, not bare seconds.
    assert!(
        svg.contains("100 ms") || svg.contains("10 ms"),
        "ticks with units"
    );
}

#[test]
fn legends_say_when_a_line_is_hidden_and_sit_where_they_cover_least() {
    let flat = vec![(0.0, 0.0), (1.0, 0.0)];
    let up = vec![(0.0, 1.0), (1.0, 2.0)];
    let labels = plot::legend_labels(&[
        ("no-retries".into(), up.clone()),
        ("backoff".into(), up.clone()),
        ("errors".into(), flat),
        ("p99".into(), vec![(0.0, f64::NAN)]),
        ("jitter".into(), vec![(0.0, 1.0), (1.0, 2.5)]),
    ]);
    assert_eq!(
        labels,
        vec![
            "no-retries",
            "backoff (identical to no-retries)",
            "errors (zero throughout)",
            "p99 (no values)",
            "jitter"
        ]
    );
    // A line across the top right: the legend goes to the top left.
    let r = area();
    let lines = vec![vec![(60.0, 5.0), (100.0, 5.0)]];
    assert_eq!(
        plot::legend_corner(&lines, r, (30.0, 20.0)),
        plot::Corner::UpperLeft
    );
    assert_eq!(
        plot::legend_corner(&[], r, (30.0, 20.0)),
        plot::Corner::UpperRight
    );
    // downstream_outage's comparison: caller p99 has no values in any variant, and the
    // retry variants' identical lines are named.
    let f = file("downstream_outage.toml");
    let rs = runs(&f);
    let pairs: Vec<(&Scenario, &[queuelab::metrics::Row])> =
        rs.iter().map(|(s, r)| (s, r.rows.as_slice())).collect();
    let (_, svg) = plot::compare(&f.base, &pairs).unwrap();
    assert!(
        svg.contains("(zero throughout)"),
        "caller errors are zero everywhere"
    );
    assert!(svg.contains("opacity=\"0.7\""), "translucent legends");
}

#[test]
fn shading_is_labelled_by_kind_and_durations_choose_their_unit() {
    use queuelab::metrics::recovery::Kind;
    let (spike, spike_label) = plot::shade_style(Kind::Spike);
    let (outage, outage_label) = plot::shade_style(Kind::Outage);
    assert_ne!(spike, outage);
    assert_eq!(spike_label, "traffic spike");
    assert_eq!(outage_label, "downstream outage");
    assert_eq!(plot::shade_style(Kind::Deploy).1, "consumers down (deploy)");
    assert_ne!(plot::shade_style(Kind::Slowdown).1, outage_label);
    assert_eq!(plot::duration_unit(0.00054), (1e-3, "milliseconds"));
    assert_eq!(plot::duration_unit(50.0), (1.0, "seconds"));
    assert_eq!(plot::duration_unit(0.0), (1.0, "seconds"), "all zero");
    assert_eq!(plot::duration_unit(600.0), (60.0, "minutes"));
    assert_eq!(plot::duration_unit(5e-5), (1e-6, "microseconds"));
    assert_eq!(plot::duration_label(0.0005), "500 µs");
    assert_eq!(plot::duration_label(0.02), "20 ms");
    assert_eq!(plot::duration_label(300.0), "5 min");
    // checkout_fanout's subscribers: an outage and a spike, each named on the chart; the
    // caller p99 (5 ms) reads in milliseconds, not "0.0050" seconds.
    let f = file("checkout_fanout.toml");
    let s = f
        .runs()
        .into_iter()
        .find(|s| !s.subscribers.is_empty())
        .unwrap();
    let r = sim::run(s);
    let named: Vec<(String, &Scenario, &[queuelab::metrics::Row])> = s
        .subscribers
        .iter()
        .zip(&r.subscribers)
        .map(|(sub, (name, sr))| (name.clone(), &*sub.run, sr.rows.as_slice()))
        .collect();
    let (_, svg) = plot::compare_named("subscribers", &sim::totals_scenario(s), &named).unwrap();
    assert!(svg.contains("traffic spike"), "spike labelled");
    assert!(svg.contains("downstream outage"), "outage labelled");
    assert!(svg.contains("milliseconds"), "caller p99 in ms");
    assert!(!svg.contains("0.0050"), "no tiny seconds");
}

#[test]
fn identical_latency_curves_are_named() {
    let rs = flash_sale();
    let named: Vec<(String, &RunResult)> = rs
        .iter()
        .map(|(s, r)| (s.variant.clone().unwrap(), r))
        .collect();
    let curves = plot::cdf_curves(&named);
    // Every variant's callers wait the same enqueue time (2 ms; refused callers 0, off the
    // log axis): the bounded variants' caller curves lie on the line of a later one, and
    // the legend says under which.
    let (_, svg) = plot::latency_cdf("flash", &curves).unwrap();
    for v in ["bounded-8", "scaled-16"] {
        assert!(svg.contains(&format!("{v} caller (hidden under ")), "{v}");
    }
    assert!(!svg.contains("unbounded-8 caller (hidden"), "it is on top");
    // Within a pixel and a half everywhere.
    let a = vec![vec![(0.0, 10.0), (50.0, 10.0), (100.0, 20.0)]];
    let b = vec![vec![(0.0, 11.0), (50.0, 11.0), (100.0, 21.0)]];
    assert!(plot::hidden_under(&a, &b, 1.5));
    let c = vec![vec![(0.0, 11.0), (60.0, 30.0), (100.0, 21.0)]];
    assert!(!plot::hidden_under(&a, &c, 1.5));
    let short = vec![vec![(20.0, 10.0), (40.0, 10.0)]];
    assert!(plot::hidden_under(&short, &a, 1.5), "a part of a line");
    assert!(!plot::hidden_under(&a, &short, 1.5));
    let labels = plot::mark_hidden(
        vec!["a".into(), "b".into(), "c (zero throughout)".into()],
        &["a", "b", "c"],
        &[a.clone(), b, c],
    );
    assert_eq!(
        labels,
        vec!["a (hidden under b)", "b", "c (zero throughout)"]
    );
    // A later series identical to it already says so: not twice.
    let labels = plot::mark_hidden(
        vec!["a".into(), "b (identical to a)".into()],
        &["a", "b"],
        &[a.clone(), a.clone()],
    );
    assert_eq!(labels, vec!["a", "b (identical to a)"]);
}
