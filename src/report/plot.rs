//! Pictures: the run dashboard and the variant comparison, as PNG and SVG.
//!
//! Text is drawn with DejaVu Sans compiled into the binary (plotters' `ab_glyph` backend),
//! so plots render on a machine with no font libraries. Every panel shares the time axis
//! and shades the scenario's disturbances (traffic spikes and outages).

use crate::error::Error;
use crate::metrics::recovery;
use crate::metrics::Row;
use crate::scenario::Scenario;
use crate::time::ns_to_secs;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;
use std::sync::Once;

static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
static REGISTER: Once = Once::new();

/// Dashboard size in pixels.
pub const DASHBOARD_SIZE: (u32, u32) = (1600, 1500);
/// Comparison size in pixels.
pub const COMPARE_SIZE: (u32, u32) = (1600, 1500);
/// Latency CDF size in pixels.
pub const CDF_SIZE: (u32, u32) = (1200, 700);

fn register_font() {
    REGISTER.call_once(|| {
        for style in [FontStyle::Normal, FontStyle::Bold] {
            // The font is compiled in and known to parse; a failure would only lose text.
            let _ = plotters::style::register_font("sans-serif", style, FONT);
        }
    });
}

/// Colours that stay distinct when projected and in greyscale print.
pub const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(23, 190, 207),
];
const SHADE: RGBColor = RGBColor(255, 200, 120);
const OUTAGE: RGBColor = RGBColor(240, 150, 150);

/// One panel: a title, a y-axis label, and named series of (time, value).
pub struct Panel {
    /// Panel title.
    pub title: String,
    /// Y-axis label with unit.
    pub unit: String,
    /// (legend, points).
    pub series: Vec<(String, Vec<(f64, f64)>)>,
}

/// Most points drawn per series; longer series are reduced to the minimum and maximum of
/// each of `MAX_POINTS / 2` buckets, which keeps every spike visible.
pub const MAX_POINTS: usize = 3000;

/// Reduces `points` (in time order) to at most [`MAX_POINTS`], keeping each bucket's
/// extremes in time order.
pub fn decimate(points: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    if points.len() <= MAX_POINTS {
        return points;
    }
    let buckets = MAX_POINTS / 2;
    let per = points.len().div_ceil(buckets);
    let mut out = Vec::with_capacity(MAX_POINTS);
    for chunk in points.chunks(per) {
        let lo = chunk
            .iter()
            .enumerate()
            .min_by(|a, b| a.1 .1.total_cmp(&b.1 .1))
            .map(|(i, _)| i)
            .unwrap_or(0);
        let hi = chunk
            .iter()
            .enumerate()
            .max_by(|a, b| a.1 .1.total_cmp(&b.1 .1))
            .map(|(i, _)| i)
            .unwrap_or(0);
        let (a, b) = (lo.min(hi), lo.max(hi));
        out.push(chunk[a]);
        if b != a {
            out.push(chunk[b]);
        }
    }
    out
}

fn per_second(rows: &[Row], dt: f64, f: impl Fn(&Row) -> u64) -> Vec<(f64, f64)> {
    rows.iter().map(|r| (r.time, f(r) as f64 / dt)).collect()
}

fn gauge(rows: &[Row], f: impl Fn(&Row) -> f64) -> Vec<(f64, f64)> {
    rows.iter().map(|r| (r.time, f(r))).collect()
}

fn optional(rows: &[Row], f: impl Fn(&Row) -> Option<f64>) -> Vec<(f64, f64)> {
    rows.iter()
        .filter_map(|r| f(r).map(|v| (r.time, v)))
        .collect()
}

/// The dashboard panels of one run (also used, one series per variant, for comparisons).
pub fn dashboard_panels(s: &Scenario, rows: &[Row]) -> Vec<Panel> {
    let dt = ns_to_secs(s.sample_every);
    let p = |title: &str, unit: &str, series: Vec<(&str, Vec<(f64, f64)>)>| Panel {
        title: title.into(),
        unit: unit.into(),
        series: series
            .into_iter()
            .map(|(n, v)| (n.to_string(), v))
            .collect(),
    };
    let panels = vec![
        p(
            "Traffic: arrivals vs completions",
            "messages/s",
            vec![
                ("arrivals", per_second(rows, dt, |r| r.arrivals)),
                ("completions", per_second(rows, dt, |r| r.completed)),
                ("rejected", per_second(rows, dt, |r| r.rejected + r.dropped)),
            ],
        ),
        p(
            "Queue depth",
            "messages",
            vec![
                ("max in interval", gauge(rows, |r| r.queue_depth_max as f64)),
                ("in backoff", gauge(rows, |r| r.retry_waiting as f64)),
            ],
        ),
        p(
            "Age of the oldest waiting message",
            "seconds",
            vec![("oldest age", gauge(rows, |r| r.oldest_age))],
        ),
        p(
            "Retries and dead letters",
            "messages/s",
            vec![
                ("retries", per_second(rows, dt, |r| r.retries)),
                ("dead-lettered", per_second(rows, dt, |r| r.dead_lettered)),
                ("failed", per_second(rows, dt, |r| r.failed)),
            ],
        ),
        p(
            "End-to-end latency (completed in interval)",
            "seconds",
            vec![
                ("p50", optional(rows, |r| r.e2e_p50)),
                ("p99", optional(rows, |r| r.e2e_p99)),
            ],
        ),
        p(
            "What callers waited (p99)",
            "seconds",
            vec![("caller p99", optional(rows, |r| r.client_p99))],
        ),
        p(
            "Caller errors and timeouts",
            "callers/s",
            vec![
                ("errors", per_second(rows, dt, |r| r.client_errors)),
                ("timeouts", per_second(rows, dt, |r| r.client_timeouts)),
            ],
        ),
        p(
            if s.autoscale.is_some() {
                "Consumers: utilisation and pool size"
            } else {
                "Consumer utilisation"
            },
            if s.autoscale.is_some() {
                "busy % · consumers"
            } else {
                "busy %"
            },
            if s.autoscale.is_some() {
                vec![
                    ("utilisation %", gauge(rows, |r| 100.0 * r.utilization)),
                    ("consumers", gauge(rows, |r| r.consumers as f64)),
                ]
            } else {
                vec![("utilisation", gauge(rows, |r| 100.0 * r.utilization))]
            },
        ),
    ];
    panels
        .into_iter()
        .map(|mut panel| {
            for (_, points) in panel.series.iter_mut() {
                *points = decimate(std::mem::take(points));
            }
            panel
        })
        .collect()
}

fn draw_error<E: std::fmt::Debug>(e: E) -> Error {
    Error::Other(format!("cannot draw the plot: {e:?}"))
}

fn draw_panels<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    panels: &[Panel],
    shades: &[(recovery::Kind, f64, f64)],
    t_end: f64,
) -> Result<(), Error> {
    root.fill(&WHITE).map_err(draw_error)?;
    let (body, _) = {
        let titled = root
            .titled(title, ("sans-serif", 34).into_font().style(FontStyle::Bold))
            .map_err(draw_error)?;
        (titled, ())
    };
    let cells = body.split_evenly((panels.len().div_ceil(2), 2));
    let t_end = if t_end > 0.0 { t_end } else { 1.0 };
    let (scale, unit) = time_unit(t_end);
    for (cell, panel) in cells.iter().zip(panels) {
        let y_max = panel
            .series
            .iter()
            .flat_map(|(_, v)| v.iter().map(|p| p.1))
            .filter(|v| v.is_finite())
            .fold(0.0f64, f64::max);
        let y_max = if y_max > 0.0 { y_max * 1.08 } else { 1.0 };
        let mut chart = ChartBuilder::on(cell)
            .caption(
                &panel.title,
                ("sans-serif", 24).into_font().style(FontStyle::Bold),
            )
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(86)
            .build_cartesian_2d(0.0..t_end / scale, 0.0..y_max)
            .map_err(draw_error)?;
        for (kind, a, b) in shades {
            let colour = if kind.loses_capacity() { OUTAGE } else { SHADE };
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(a / scale, 0.0), (b / scale, y_max)],
                    colour.mix(0.35).filled(),
                )))
                .map_err(draw_error)?;
        }
        chart
            .configure_mesh()
            .x_desc(format!("time ({unit})"))
            .y_desc(&panel.unit)
            .label_style(("sans-serif", 18))
            .axis_desc_style(("sans-serif", 19))
            .y_label_formatter(&|v| short_number(*v))
            .x_labels(8)
            .y_labels(6)
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(draw_error)?;
        let mut any = false;
        for (i, (name, points)) in panel.series.iter().enumerate() {
            if points.is_empty() {
                continue;
            }
            any = true;
            let colour = PALETTE[i % PALETTE.len()];
            // Thin lines for dense series: thick ones overshoot sharp peaks (miter joins).
            let width = if points.len() > 300 { 2 } else { 3 };
            chart
                .draw_series(LineSeries::new(
                    points.iter().map(|(t, v)| (t / scale, *v)),
                    colour.stroke_width(width),
                ))
                .map_err(draw_error)?
                .label(name.clone())
                .legend(legend_mark(colour));
        }
        if any {
            draw_legend(&mut chart, SeriesLabelPosition::UpperRight, 0.6)?;
        }
    }
    root.present().map_err(draw_error)
}

fn time_unit(t_end: f64) -> (f64, &'static str) {
    if t_end >= 3.0 * 3600.0 {
        (3600.0, "hours")
    } else if t_end >= 180.0 {
        (60.0, "minutes")
    } else {
        (1.0, "seconds")
    }
}

/// `12500` -> `12.5k`, `0.0042` -> `0.0042`.
pub fn short_number(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 100.0 || v == v.trunc() {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.1}")
    } else {
        // Enough decimals for two significant digits: 0.0015, 0.25.
        let decimals = ((-a.log10().floor()) as usize + 1).min(9);
        format!("{v:.decimals$}")
    }
}

/// Renders panels to (PNG bytes, SVG text).
pub fn render(
    title: &str,
    panels: &[Panel],
    s: &Scenario,
    size: (u32, u32),
) -> Result<(Vec<u8>, String), Error> {
    let shades: Vec<(recovery::Kind, f64, f64)> = recovery::windows(s)
        .into_iter()
        .map(|(k, a, b)| (k, ns_to_secs(a), ns_to_secs(b)))
        .collect();
    let t_end = ns_to_secs(s.duration);
    png_and_svg(
        size,
        |root| draw_panels(root, title, panels, &shades, t_end),
        |root| draw_panels(root, title, panels, &shades, t_end),
    )
}

fn encode_png(rgb: Vec<u8>, size: (u32, u32)) -> Result<Vec<u8>, Error> {
    let img = image::RgbImage::from_raw(size.0, size.1, rgb)
        .ok_or_else(|| Error::Other("plot buffer has the wrong size".into()))?;
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageOutputFormat::Png)
        .map_err(|e| Error::Other(format!("cannot encode PNG: {e}")))?;
    Ok(out.into_inner())
}

/// Draws a picture twice, to a PNG (encoded in memory) and to an SVG string.
fn png_and_svg(
    size: (u32, u32),
    draw_png: impl FnOnce(&DrawingArea<BitMapBackend, Shift>) -> Result<(), Error>,
    draw_svg: impl FnOnce(&DrawingArea<SVGBackend, Shift>) -> Result<(), Error>,
) -> Result<(Vec<u8>, String), Error> {
    register_font();
    let mut rgb = vec![0u8; (size.0 * size.1 * 3) as usize];
    draw_png(&BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area())?;
    let png = encode_png(rgb, size)?;
    let mut svg = String::new();
    draw_svg(&SVGBackend::with_string(&mut svg, size).into_drawing_area())?;
    Ok((png, svg))
}

/// The legend mark of a series: a short thick line in its colour.
fn legend_mark(colour: RGBColor) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], colour.stroke_width(4))
}

/// Draws the legend box at `position`, its background `opacity` opaque.
fn draw_legend<'a, DB: DrawingBackend + 'a, X: Ranged, Y: Ranged>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    position: SeriesLabelPosition,
    opacity: f64,
) -> Result<(), Error> {
    chart
        .configure_series_labels()
        .position(position)
        .label_font(("sans-serif", 18))
        .background_style(WHITE.mix(opacity))
        .border_style(RGBColor(200, 200, 200))
        .draw()
        .map_err(draw_error)
}

/// dashboard.png and dashboard.svg of one run.
pub fn dashboard(s: &Scenario, rows: &[Row]) -> Result<(Vec<u8>, String), Error> {
    let title = match &s.variant {
        Some(v) => format!("{} / {v}", s.name),
        None => s.name.clone(),
    };
    render(&title, &dashboard_panels(s, rows), s, DASHBOARD_SIZE)
}

/// compare.png and compare.svg: the dashboard panels with one line per variant.
pub fn compare(base: &Scenario, runs: &[(&Scenario, &[Row])]) -> Result<(Vec<u8>, String), Error> {
    let named: Vec<(String, &Scenario, &[Row])> = runs
        .iter()
        .map(|(s, rows)| (s.variant.clone().unwrap_or_default(), *s, *rows))
        .collect();
    compare_named(&format!("{}: variants compared", base.name), base, &named)
}

/// The dashboard's headline series with one line per named run (variants, or the
/// subscribers of a fan-out).
pub fn compare_named(
    title: &str,
    base: &Scenario,
    runs: &[(String, &Scenario, &[Row])],
) -> Result<(Vec<u8>, String), Error> {
    let per_variant: Vec<Vec<Panel>> = runs
        .iter()
        .map(|(_, s, rows)| dashboard_panels(s, rows))
        .collect();
    let Some(first) = per_variant.first() else {
        return Err(Error::Other("nothing to compare".into()));
    };
    // For each panel keep its headline series, per variant: completions for traffic
    // (arrivals are the same in every variant), p99 for latency, else the first.
    let headline =
        |title: &str| usize::from(title.starts_with("End-to-end") || title.starts_with("Traffic"));
    let panels: Vec<Panel> = first
        .iter()
        .enumerate()
        .map(|(i, p)| Panel {
            title: format!("{} — {}", p.title, p.series[headline(&p.title)].0),
            unit: p.unit.clone(),
            series: per_variant
                .iter()
                .zip(runs)
                .map(|(v, (name, _, _))| (name.clone(), v[i].series[headline(&p.title)].1.clone()))
                .collect(),
        })
        .collect();
    render(title, &panels, base, COMPARE_SIZE)
}

/// latency_cdf.png / .svg: the distribution of end-to-end and caller latency per variant,
/// on a logarithmic time axis.
pub fn latency_cdf(
    title: &str,
    curves: &[(String, Vec<(f64, f64)>)],
) -> Result<(Vec<u8>, String), Error> {
    png_and_svg(
        CDF_SIZE,
        |root| draw_cdf(root, title, curves),
        |root| draw_cdf(root, title, curves),
    )
}

fn draw_cdf<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    curves: &[(String, Vec<(f64, f64)>)],
) -> Result<(), Error> {
    root.fill(&WHITE).map_err(draw_error)?;
    let positive = curves
        .iter()
        .flat_map(|(_, c)| c.iter().map(|p| p.0))
        .filter(|v| *v > 0.0);
    let lo = positive.clone().fold(f64::INFINITY, f64::min);
    let hi = positive.fold(0.0f64, f64::max);
    let (lo, hi) = if lo.is_finite() && hi > lo {
        (lo * 0.8, hi * 1.25)
    } else {
        (1e-3, 1.0)
    };
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 30).into_font().style(FontStyle::Bold))
        .margin(20)
        .x_label_area_size(56)
        .y_label_area_size(80)
        .build_cartesian_2d((lo..hi).log_scale(), 0.0..100.0)
        .map_err(draw_error)?;
    chart
        .configure_mesh()
        .x_desc("latency (seconds, log scale)")
        .y_desc("% of messages at or below")
        .label_style(("sans-serif", 18))
        .axis_desc_style(("sans-serif", 20))
        .x_label_formatter(&|v| short_number(*v))
        .draw()
        .map_err(draw_error)?;
    for (i, (name, points)) in curves.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let style = if name.contains("caller") {
            ShapeStyle::from(colour.mix(0.6)).stroke_width(2)
        } else {
            colour.stroke_width(3)
        };
        chart
            .draw_series(LineSeries::new(
                points
                    .iter()
                    .filter(|p| p.0 > 0.0)
                    .map(|(v, q)| (*v, 100.0 * q)),
                style,
            ))
            .map_err(draw_error)?
            .label(name.clone())
            .legend(legend_mark(colour));
    }
    draw_legend(&mut chart, SeriesLabelPosition::LowerRight, 0.85)?;
    root.present().map_err(draw_error)
}

/// One line of a sweep plot: (legend, points of (x, mean, ci_low, ci_high)).
pub type SweepLine = (String, Vec<(f64, f64, f64, f64)>);

/// Sweep plot size in pixels.
pub const SWEEP_SIZE: (u32, u32) = (1200, 750);

/// `metric` against the first varied key, with 95% confidence bands.
pub fn sweep(
    title: &str,
    x_label: &str,
    y_label: &str,
    x_names: Option<&[String]>,
    lines: &[SweepLine],
) -> Result<(Vec<u8>, String), Error> {
    png_and_svg(
        SWEEP_SIZE,
        |root| draw_sweep(root, title, x_label, y_label, x_names, lines),
        |root| draw_sweep(root, title, x_label, y_label, x_names, lines),
    )
}

fn draw_sweep<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    x_label: &str,
    y_label: &str,
    x_names: Option<&[String]>,
    lines: &[SweepLine],
) -> Result<(), Error> {
    root.fill(&WHITE).map_err(draw_error)?;
    let pts = lines.iter().flat_map(|(_, p)| p.iter());
    let (mut x0, mut x1, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, 0.0f64);
    for &(x, m, _, h) in pts {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y1 = y1.max(h.max(m));
    }
    if !x0.is_finite() {
        (x0, x1) = (0.0, 1.0);
    }
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    let pad = (x1 - x0) * 0.03;
    let y1 = if y1 > 0.0 { y1 * 1.1 } else { 1.0 };
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 28).into_font().style(FontStyle::Bold))
        .margin(20)
        .x_label_area_size(56)
        .y_label_area_size(90)
        .build_cartesian_2d((x0 - pad)..(x1 + pad), 0.0..y1)
        .map_err(draw_error)?;
    let names = x_names.map(|n| n.to_vec());
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .label_style(("sans-serif", 18))
        .axis_desc_style(("sans-serif", 20))
        .x_label_formatter(&|v| match &names {
            Some(n) => n
                .get(v.round().max(0.0) as usize)
                .cloned()
                .unwrap_or_default(),
            None => short_number(*v),
        })
        .y_label_formatter(&|v| short_number(*v))
        .draw()
        .map_err(draw_error)?;
    for (i, (name, points)) in lines.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        if points.len() > 1 {
            let mut band: Vec<(f64, f64)> = points.iter().map(|p| (p.0, p.3)).collect();
            band.extend(points.iter().rev().map(|p| (p.0, p.2)));
            chart
                .draw_series(std::iter::once(Polygon::new(
                    band,
                    colour.mix(0.18).filled(),
                )))
                .map_err(draw_error)?;
        }
        for p in points {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(p.0, p.2), (p.0, p.3)],
                    colour.stroke_width(2),
                )))
                .map_err(draw_error)?;
        }
        chart
            .draw_series(LineSeries::new(
                points.iter().map(|p| (p.0, p.1)),
                colour.stroke_width(3),
            ))
            .map_err(draw_error)?
            .label(name.clone())
            .legend(legend_mark(colour));
        chart
            .draw_series(
                points
                    .iter()
                    .map(|p| Circle::new((p.0, p.1), 5, colour.filled())),
            )
            .map_err(draw_error)?;
    }
    draw_legend(&mut chart, SeriesLabelPosition::UpperRight, 0.85)?;
    root.present().map_err(draw_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimation_keeps_extremes_and_order() {
        let pts: Vec<(f64, f64)> = (0..100_000)
            .map(|i| (i as f64, if i == 54_321 { 1e6 } else { (i % 7) as f64 }))
            .collect();
        let d = decimate(pts);
        assert!(d.len() <= MAX_POINTS);
        assert!(d.iter().any(|p| p.1 == 1e6), "the spike survives");
        assert!(d.windows(2).all(|w| w[0].0 < w[1].0), "time order kept");
        assert_eq!(decimate(vec![(0.0, 1.0)]).len(), 1);
    }
}
