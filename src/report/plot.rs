//! Pictures: the run dashboard and the variant comparison, as PNG and SVG.
//!
//! Text is drawn with DejaVu Sans compiled into the binary (plotters' `ab_glyph` backend),
//! so plots render on a machine with no font libraries. Every panel shares the time axis
//! and shades the scenario's disturbances (traffic spikes and outages).

use crate::error::Error;
use crate::metrics::recovery;
use crate::metrics::Row;
use crate::scenario::Scenario;
use crate::sim::RunResult;
use crate::time::ns_to_secs;
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
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

/// Okabe and Ito's colour-blind-safe palette (its yellow left out: too faint on white).
/// Series past the seventh reuse the colours with a different line pattern (see
/// [`series_style`]), so no two of the first 21 series look alike.
pub const PALETTE: [RGBColor; 7] = [
    RGBColor(0, 114, 178),   // blue
    RGBColor(213, 94, 0),    // vermillion
    RGBColor(0, 158, 115),   // bluish green
    RGBColor(230, 159, 0),   // orange
    RGBColor(204, 121, 167), // reddish purple
    RGBColor(86, 180, 233),  // sky blue
    RGBColor(0, 0, 0),       // black
];

/// A line pattern, in pixels along the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dash {
    /// Unbroken.
    Solid,
    /// 14 drawn, 6 skipped.
    Long,
    /// 6 drawn, 5 skipped.
    Short,
    /// 2 drawn, 4 skipped.
    Dotted,
}

impl Dash {
    /// (drawn, skipped) pixels; `None` when solid.
    pub fn pattern(self) -> Option<(f64, f64)> {
        match self {
            Dash::Solid => None,
            Dash::Long => Some((14.0, 6.0)),
            Dash::Short => Some((6.0, 5.0)),
            Dash::Dotted => Some((2.0, 4.0)),
        }
    }
}

/// Colour and pattern of the `i`-th series of a panel: the palette solid, then again in
/// long dashes, then dotted.
pub fn series_style(i: usize) -> (RGBColor, Dash) {
    let pattern = [Dash::Solid, Dash::Long, Dash::Dotted];
    (
        PALETTE[i % PALETTE.len()],
        pattern[(i / PALETTE.len()) % pattern.len()],
    )
}

/// How a disturbance window is shaded and labelled, by its kind.
pub fn shade_style(kind: recovery::Kind) -> (RGBColor, String) {
    use recovery::Kind;
    match kind {
        Kind::Spike => (RGBColor(255, 200, 120), "traffic spike".into()),
        Kind::Outage => (RGBColor(240, 150, 150), "downstream outage".into()),
        Kind::Slowdown => (RGBColor(245, 180, 200), "downstream slowdown".into()),
        Kind::Deploy => (RGBColor(170, 170, 230), "consumers down (deploy)".into()),
        Kind::Restart => (RGBColor(190, 190, 190), "restart into a backlog".into()),
    }
}

/// The text colour of a shading label: the shade, darkened until it reads on white.
fn shade_text(c: RGBColor) -> RGBColor {
    RGBColor(c.0 / 2, c.1 / 2, c.2 / 2)
}

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
/// each of `MAX_POINTS / 4` buckets, which keeps every spike visible.
pub const MAX_POINTS: usize = 3000;

/// Reduces `points` (in time order) to at most [`MAX_POINTS`], keeping each bucket's
/// extremes in time order. A point whose value is not finite marks a gap (an interval with
/// nothing to show, e.g. no completions): a bucket that starts or ends in a gap keeps it,
/// so lines stay broken there; a gap inside a bucket is narrower than a pixel and is not.
pub fn decimate(points: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    if points.len() <= MAX_POINTS {
        return points;
    }
    let buckets = MAX_POINTS / 4;
    let per = points.len().div_ceil(buckets);
    let mut out: Vec<(f64, f64)> = Vec::with_capacity(MAX_POINTS);
    let gap = |out: &mut Vec<(f64, f64)>, t: f64| {
        if out.last().is_some_and(|p| p.1.is_finite()) {
            out.push((t, f64::NAN));
        }
    };
    for chunk in points.chunks(per) {
        let finite = |p: &&(f64, f64)| p.1.is_finite();
        let lo = chunk
            .iter()
            .enumerate()
            .filter(|(_, p)| finite(p))
            .min_by(|a, b| a.1 .1.total_cmp(&b.1 .1))
            .map(|(i, _)| i);
        let hi = chunk
            .iter()
            .enumerate()
            .filter(|(_, p)| finite(p))
            .max_by(|a, b| a.1 .1.total_cmp(&b.1 .1))
            .map(|(i, _)| i);
        let (Some(lo), Some(hi)) = (lo, hi) else {
            gap(&mut out, chunk[0].0);
            continue;
        };
        if !chunk[0].1.is_finite() {
            gap(&mut out, chunk[0].0);
        }
        let (a, b) = (lo.min(hi), lo.max(hi));
        out.push(chunk[a]);
        if b != a {
            out.push(chunk[b]);
        }
        if let Some(last) = chunk.last().filter(|p| !p.1.is_finite()) {
            gap(&mut out, last.0);
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

/// A value that an interval may not have (a percentile of no completions): `NaN` there,
/// which breaks the line instead of drawing it straight across.
fn optional(rows: &[Row], f: impl Fn(&Row) -> Option<f64>) -> Vec<(f64, f64)> {
    rows.iter()
        .map(|r| (r.time, f(r).unwrap_or(f64::NAN)))
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

/// A rectangle in pixels (y grows downwards), edges included.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Area {
    /// Left edge.
    pub left: f64,
    /// Top edge.
    pub top: f64,
    /// Right edge.
    pub right: f64,
    /// Bottom edge.
    pub bottom: f64,
}

impl Area {
    fn contains(&self, p: (f64, f64)) -> bool {
        p.0 >= self.left && p.0 <= self.right && p.1 >= self.top && p.1 <= self.bottom
    }
}

/// The part of the segment `a`-`b` inside `r` (Liang and Barsky's clipping), if any.
pub fn clip_segment(a: (f64, f64), b: (f64, f64), r: Area) -> Option<((f64, f64), (f64, f64))> {
    if ![a.0, a.1, b.0, b.1].iter().all(|v| v.is_finite()) {
        return None;
    }
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for (p, q) in [
        (-dx, a.0 - r.left),
        (dx, r.right - a.0),
        (-dy, a.1 - r.top),
        (dy, r.bottom - a.1),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let t = q / p;
            if p < 0.0 {
                t0 = t0.max(t);
            } else {
                t1 = t1.min(t);
            }
            if t0 > t1 {
                return None;
            }
        }
    }
    let at = |t: f64| {
        if t == 0.0 {
            a
        } else if t == 1.0 {
            b
        } else {
            (a.0 + t * dx, a.1 + t * dy)
        }
    };
    Some((at(t0), at(t1)))
}

/// What to draw of a series given in pixels: polylines that stay inside `r`. A point that is
/// not finite is a gap and breaks the line; a line leaving `r` is cut at its edge and
/// resumes where it comes back. A lone point between gaps is kept as a polyline of one
/// point (drawn as a dot), so an isolated value does not vanish.
pub fn strokes(points: &[(f64, f64)], r: Area) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut line: Vec<(f64, f64)> = Vec::new();
    let flush = |line: &mut Vec<(f64, f64)>, out: &mut Vec<Vec<(f64, f64)>>| {
        if line.len() >= 2 {
            out.push(std::mem::take(line));
        }
        line.clear();
    };
    let mut prev: Option<(f64, f64)> = None;
    let mut run = 0usize;
    for &p in points {
        let finite = p.0.is_finite() && p.1.is_finite();
        if !finite {
            if run == 1 && prev.is_some_and(|q| r.contains(q)) {
                out.push(vec![prev.unwrap_or(p)]);
            }
            flush(&mut line, &mut out);
            prev = None;
            run = 0;
            continue;
        }
        run += 1;
        if let Some(a) = prev {
            match clip_segment(a, p, r) {
                Some((c, d)) => {
                    if line.last() != Some(&c) {
                        flush(&mut line, &mut out);
                        line.push(c);
                    }
                    line.push(d);
                    if d != p {
                        flush(&mut line, &mut out);
                    }
                }
                None => flush(&mut line, &mut out),
            }
        }
        prev = Some(p);
    }
    if run == 1 && prev.is_some_and(|q| r.contains(q)) {
        out.extend(prev.map(|q| vec![q]));
    }
    flush(&mut line, &mut out);
    out
}

/// Cuts a polyline (pixels) into the drawn pieces of `dash`, measured along its length.
pub fn dashes(line: &[(f64, f64)], dash: Dash) -> Vec<Vec<(f64, f64)>> {
    let Some((on, off)) = dash.pattern() else {
        return vec![line.to_vec()];
    };
    if line.len() < 2 {
        return vec![line.to_vec()];
    }
    let mut out = Vec::new();
    let mut piece = vec![line[0]];
    let (mut drawing, mut left) = (true, on);
    for w in line.windows(2) {
        let (mut a, b) = (w[0], w[1]);
        let mut len = (b.0 - a.0).hypot(b.1 - a.1);
        while len > left {
            let t = left / len;
            let m = (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t);
            if drawing {
                piece.push(m);
                out.push(std::mem::take(&mut piece));
            } else {
                piece = vec![m];
            }
            drawing = !drawing;
            len -= left;
            left = if drawing { on } else { off };
            a = m;
        }
        left -= len;
        if drawing {
            piece.push(b);
        }
    }
    if drawing && piece.len() >= 2 {
        out.push(piece);
    }
    out
}

/// Draws polylines (pixels) on `root`. For a bitmap (`segmented`) every segment is drawn
/// on its own: plotters turns a thick polyline into one polygon whose corners at sharp
/// spikes reach far outside the line (across the title and the next panel); a single
/// segment is a plain rectangle. SVG strokes keep their polylines (the viewer joins them).
fn stroke<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    lines: &[Vec<(f64, f64)>],
    style: ShapeStyle,
    dash: Dash,
    segmented: bool,
) -> Result<(), Error> {
    let px = |p: &(f64, f64)| (p.0.round() as i32, p.1.round() as i32);
    for line in lines {
        if line.len() == 1 {
            root.draw(&Circle::new(
                px(&line[0]),
                style.stroke_width.max(2),
                style.filled(),
            ))
            .map_err(draw_error)?;
            continue;
        }
        for piece in dashes(line, dash) {
            let mut pts: Vec<(i32, i32)> = piece.iter().map(px).collect();
            pts.dedup();
            if pts.len() < 2 {
                continue;
            }
            if segmented {
                for w in pts.windows(2) {
                    root.draw(&PathElement::new(vec![w[0], w[1]], style))
                        .map_err(draw_error)?;
                }
            } else {
                root.draw(&PathElement::new(pts, style))
                    .map_err(draw_error)?;
            }
        }
    }
    Ok(())
}

/// The pixel rectangle a chart plots into (its edges included: a line along the x axis
/// stays drawn).
fn plot_area<DB: DrawingBackend, CT: CoordTranslate>(chart: &ChartContext<'_, DB, CT>) -> Area {
    let (x, y) = chart.plotting_area().get_pixel_range();
    Area {
        left: f64::from(x.start),
        top: f64::from(y.start),
        right: f64::from(x.end),
        bottom: f64::from(y.end),
    }
}

/// A corner of a chart for its legend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Corner {
    /// Top right.
    UpperRight,
    /// Top left.
    UpperLeft,
    /// Bottom right.
    LowerRight,
    /// Bottom left.
    LowerLeft,
}

impl From<Corner> for SeriesLabelPosition {
    fn from(c: Corner) -> SeriesLabelPosition {
        match c {
            Corner::UpperRight => SeriesLabelPosition::UpperRight,
            Corner::UpperLeft => SeriesLabelPosition::UpperLeft,
            Corner::LowerRight => SeriesLabelPosition::LowerRight,
            Corner::LowerLeft => SeriesLabelPosition::LowerLeft,
        }
    }
}

/// Where a legend of `size` pixels covers the least of `lines` (what [`strokes`] gave):
/// the corner whose box the fewest segments cross, upper right on a tie, then upper
/// left, lower right, lower left.
pub fn legend_corner(lines: &[Vec<(f64, f64)>], r: Area, size: (f64, f64)) -> Corner {
    let (w, h) = (size.0 + 5.0, size.1 + 5.0);
    let boxes = [
        (Corner::UpperRight, r.right - w, r.top),
        (Corner::UpperLeft, r.left, r.top),
        (Corner::LowerRight, r.right - w, r.bottom - h),
        (Corner::LowerLeft, r.left, r.bottom - h),
    ];
    let covered = |x: f64, y: f64| -> usize {
        let b = Area {
            left: x,
            top: y,
            right: x + w,
            bottom: y + h,
        };
        lines
            .iter()
            .map(|l| match l.as_slice() {
                [p] => usize::from(b.contains(*p)),
                _ => l
                    .windows(2)
                    .filter(|s| clip_segment(s[0], s[1], b).is_some())
                    .count(),
            })
            .sum()
    };
    boxes
        .iter()
        .map(|&(c, x, y)| (covered(x, y), c))
        .min_by_key(|(n, _)| *n)
        .map(|(_, c)| c)
        .unwrap_or(Corner::UpperRight)
}

/// The size in pixels of a legend of `labels` in the 18-pixel font (an estimate a little
/// on the large side).
fn legend_size(labels: &[String]) -> (f64, f64) {
    let chars = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    (
        chars as f64 * 10.0 + 50.0,
        labels.len() as f64 * 22.0 + 20.0,
    )
}

/// Distance from `p` to the segment `a`-`b`.
fn to_segment(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    (p.0 - a.0 - t * dx).hypot(p.1 - a.1 - t * dy)
}

/// Whether every point of `a` lies within `tol` pixels of the lines `b` (lines that go
/// left to right, as time series and distributions do).
fn within(a: &[Vec<(f64, f64)>], b: &[Vec<(f64, f64)>], tol: f64) -> bool {
    // Segments (and lone points) of `b`, by their left end.
    let mut segs: Vec<((f64, f64), (f64, f64))> = b
        .iter()
        .flat_map(|l| match l.as_slice() {
            [p] => vec![(*p, *p)],
            _ => l
                .windows(2)
                .map(|w| {
                    if w[0].0 <= w[1].0 {
                        (w[0], w[1])
                    } else {
                        (w[1], w[0])
                    }
                })
                .collect(),
        })
        .collect();
    segs.sort_by(|s, t| s.0 .0.total_cmp(&t.0 .0));
    let reach = segs.iter().map(|s| s.1 .0 - s.0 .0).fold(0.0f64, f64::max);
    a.iter().flatten().all(|&p| {
        let from = segs.partition_point(|s| s.0 .0 < p.0 - tol - reach);
        segs[from..]
            .iter()
            .take_while(|s| s.0 .0 <= p.0 + tol)
            .any(|s| to_segment(p, s.0, s.1) <= tol)
    })
}

/// Whether the drawn series `a` lies within `tol` pixels of `b` everywhere, so that `b`,
/// drawn after it, hides it.
pub fn hidden_under(a: &[Vec<(f64, f64)>], b: &[Vec<(f64, f64)>], tol: f64) -> bool {
    !a.is_empty() && !b.is_empty() && within(a, b, tol)
}

/// Adds "(hidden under X)" to the label of a series that a series X drawn after it covers
/// everywhere (within a pixel and a half), unless a label already says why it cannot be
/// seen ("zero throughout", or a later series "identical to" it).
pub fn mark_hidden(
    mut labels: Vec<String>,
    names: &[&str],
    lines: &[Vec<Vec<(f64, f64)>>],
) -> Vec<String> {
    for i in 0..lines.len() {
        let twin = format!("(identical to {})", names[i]);
        if labels[i].ends_with(')') || labels[i + 1..].iter().any(|l| l.ends_with(&twin)) {
            continue;
        }
        if let Some(j) = (i + 1..lines.len()).find(|&j| hidden_under(&lines[i], &lines[j], 1.5)) {
            labels[i] = format!("{} (hidden under {})", labels[i], names[j]);
        }
    }
    labels
}

/// The legend text of each series: its name, and why a reader may not see its line: it
/// is zero throughout (flat on the axis), it has no values, or it is identical to an
/// earlier series (drawn over it).
pub fn legend_labels(series: &[(String, Vec<(f64, f64)>)]) -> Vec<String> {
    let same = |a: &[(f64, f64)], b: &[(f64, f64)]| {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(p, q)| p.0 == q.0 && (p.1 == q.1 || p.1.is_nan() && q.1.is_nan()))
    };
    series
        .iter()
        .enumerate()
        .map(|(i, (name, points))| {
            let values = || points.iter().map(|p| p.1).filter(|v| v.is_finite());
            if values().next().is_none() {
                format!("{name} (no values)")
            } else if values().all(|v| v == 0.0) {
                format!("{name} (zero throughout)")
            } else if let Some((first, _)) = series[..i].iter().find(|(_, q)| same(points, q)) {
                format!("{name} (identical to {first})")
            } else {
                name.clone()
            }
        })
        .collect()
}

/// The unit a duration axis reads in, for values up to `max` seconds: (seconds in one
/// unit, its name).
pub fn duration_unit(max: f64) -> (f64, &'static str) {
    if max.is_nan() || max <= 0.0 {
        (1.0, "seconds")
    } else if max < 1e-4 {
        (1e-6, "microseconds")
    } else if max < 1.0 {
        (1e-3, "milliseconds")
    } else if max < 180.0 {
        (1.0, "seconds")
    } else if max < 3.0 * 3600.0 {
        (60.0, "minutes")
    } else {
        (3600.0, "hours")
    }
}

/// A latency as a tick label with its unit: `0.0005` -> `500 µs`, `0.02` -> `20 ms`,
/// `1.5` -> `1.5 s`, `300` -> `5 min`.
pub fn duration_label(secs: f64) -> String {
    let a = secs.abs();
    let (v, unit) = if a == 0.0 {
        (0.0, "s")
    } else if a < 1e-3 {
        (secs * 1e6, "µs")
    } else if a < 1.0 {
        (secs * 1e3, "ms")
    } else if a < 120.0 {
        (secs, "s")
    } else if a < 2.0 * 3600.0 {
        (secs / 60.0, "min")
    } else {
        (secs / 3600.0, "h")
    };
    format!("{} {unit}", short_number(v))
}

/// A legend mark: a short line in the series' colour and pattern.
fn legend_mark(
    colour: RGBColor,
    dash: Dash,
) -> impl Fn((i32, i32)) -> DashedPathElement<std::vec::IntoIter<(i32, i32)>, i32> {
    let (on, off) = dash.pattern().unwrap_or((24.0, 1.0));
    move |(x, y)| {
        DashedPathElement::new(
            vec![(x, y), (x + 24, y)],
            on as i32,
            off as i32,
            colour.stroke_width(4),
        )
    }
}

/// Registers a legend entry on `chart` for a series drawn elsewhere.
fn legend_entry<DB: DrawingBackend, CT: CoordTranslate<From = (f64, f64)>>(
    chart: &mut ChartContext<'_, DB, CT>,
    label: &str,
    colour: RGBColor,
    dash: Dash,
) -> Result<(), Error> {
    chart
        .draw_series(std::iter::empty::<PathElement<(f64, f64)>>())
        .map_err(draw_error)?
        .label(label)
        .legend(legend_mark(colour, dash));
    Ok(())
}

fn draw_panels<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    panels: &[Panel],
    shades: &[(recovery::Kind, f64, f64)],
    t_end: f64,
    segmented: bool,
) -> Result<(), Error> {
    root.fill(&WHITE).map_err(draw_error)?;
    let body = root
        .titled(title, ("sans-serif", 34).into_font().style(FontStyle::Bold))
        .map_err(draw_error)?;
    let cells = body.split_evenly((panels.len().div_ceil(2), 2));
    let t_end = if t_end > 0.0 { t_end } else { 1.0 };
    let (scale, unit) = time_unit(t_end);
    for (cell, panel) in cells.iter().zip(panels) {
        let raw_max = panel
            .series
            .iter()
            .flat_map(|(_, v)| v.iter().map(|p| p.1))
            .filter(|v| v.is_finite())
            .fold(0.0f64, f64::max);
        let (per_unit, y_unit) = if panel.unit == "seconds" {
            duration_unit(raw_max)
        } else {
            (1.0, panel.unit.as_str())
        };
        let y_max = if raw_max > 0.0 {
            raw_max / per_unit * 1.08
        } else {
            1.0
        };
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
            let (colour, _) = shade_style(*kind);
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
            .y_desc(y_unit)
            .label_style(("sans-serif", 18))
            .axis_desc_style(("sans-serif", 19))
            .y_label_formatter(&|v| short_number(*v))
            .x_labels(8)
            .y_labels(6)
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(draw_error)?;
        // Say what each shading is, at its top left corner.
        for (kind, a, _) in shades {
            let (colour, label) = shade_style(*kind);
            chart
                .draw_series(std::iter::once(
                    EmptyElement::at((a / scale, y_max))
                        + Text::new(
                            label,
                            (4, 3),
                            ("sans-serif", 15).into_font().color(&shade_text(colour)),
                        ),
                ))
                .map_err(draw_error)?;
        }
        let area = plot_area(&chart);
        let per_series: Vec<Vec<Vec<(f64, f64)>>> = panel
            .series
            .iter()
            .map(|(_, points)| {
                let pixels: Vec<(f64, f64)> = points
                    .iter()
                    .map(|&(t, v)| {
                        if v.is_finite() {
                            let (x, y) = chart.backend_coord(&(t / scale, v / per_unit));
                            (f64::from(x), f64::from(y))
                        } else {
                            (f64::NAN, f64::NAN)
                        }
                    })
                    .collect();
                strokes(&pixels, area)
            })
            .collect();
        let names: Vec<&str> = panel.series.iter().map(|(n, _)| n.as_str()).collect();
        let labels = mark_hidden(legend_labels(&panel.series), &names, &per_series);
        let mut drawn = Vec::new();
        for (i, ((points, lines), label)) in panel
            .series
            .iter()
            .map(|(_, p)| p)
            .zip(per_series)
            .zip(&labels)
            .enumerate()
        {
            let (colour, dash) = series_style(i);
            // Thin lines for dense series: thick ones blur sharp peaks.
            let width = if points.len() > 300 { 2 } else { 3 };
            stroke(root, &lines, colour.stroke_width(width), dash, segmented)?;
            legend_entry(&mut chart, label, colour, dash)?;
            drawn.extend(lines);
        }
        if !panel.series.is_empty() {
            let corner = legend_corner(&drawn, area, legend_size(&labels));
            draw_legend(&mut chart, corner.into(), 0.7)?;
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
        |root| draw_panels(root, title, panels, &shades, t_end, true),
        |root| draw_panels(root, title, panels, &shades, t_end, false),
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

/// One curve of the latency distribution.
#[derive(Debug, Clone, PartialEq)]
pub struct CdfCurve {
    /// Legend text.
    pub name: String,
    /// (seconds, fraction at or below) of the latencies recorded.
    pub points: Vec<(f64, f64)>,
    /// The share of the curve's messages those latencies cover: what callers waited
    /// covers every caller answered (1); end to end covers the messages that completed, out
    /// of every message produced (the rest were refused, dropped, dead-lettered, failed,
    /// expired or still in the system at the end).
    pub covered: f64,
    /// Which run or subscriber it belongs to (one colour each).
    pub group: usize,
    /// What callers waited (dashed), rather than end to end (solid).
    pub caller: bool,
}

impl CdfCurve {
    /// The points drawn: (seconds, % of all the curve's messages at or below).
    pub fn drawn(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        self.points
            .iter()
            .filter(|p| p.0 > 0.0)
            .map(|&(v, q)| (v, 100.0 * q * self.covered))
    }

    /// Legend text, with the share the curve leaves out when there is one.
    pub fn label(&self) -> String {
        let missing = 100.0 * (1.0 - self.covered);
        if self.points.is_empty() {
            format!("{} (none)", self.name)
        } else if missing >= 0.05 {
            format!("{}: {missing:.1}% never completed", self.name)
        } else {
            self.name.clone()
        }
    }
}

/// Completed messages as a share of those produced (copies a broker dropped as duplicates
/// left out).
fn completed_share(r: &RunResult) -> f64 {
    let c = &r.summary.counts;
    let produced = c.produced.saturating_sub(c.deduplicated);
    if produced == 0 {
        1.0
    } else {
        (c.completed as f64 / produced as f64).min(1.0)
    }
}

/// The curves of latency_cdf for named runs: end to end and what callers waited for each,
/// and end to end for each subscriber of a fan-out.
pub fn cdf_curves(runs: &[(String, &RunResult)]) -> Vec<CdfCurve> {
    let mut out = Vec::new();
    let mut group = 0;
    for (name, r) in runs {
        out.push(CdfCurve {
            name: format!("{name} end-to-end"),
            points: r.e2e_cdf.clone(),
            covered: completed_share(r),
            group,
            caller: false,
        });
        if !r.client_cdf.is_empty() {
            out.push(CdfCurve {
                name: format!("{name} caller"),
                points: r.client_cdf.clone(),
                covered: 1.0,
                group,
                caller: true,
            });
        }
        group += 1;
        for (sub, sr) in &r.subscribers {
            out.push(CdfCurve {
                name: format!("{name}/{sub} end-to-end"),
                points: sr.e2e_cdf.clone(),
                covered: completed_share(sr),
                group,
                caller: false,
            });
            group += 1;
        }
    }
    out
}

/// Colour and pattern of a CDF curve: one colour per run, solid end to end and dashed for
/// callers; past the palette, long dashes and dots.
pub fn cdf_style(c: &CdfCurve) -> (RGBColor, Dash) {
    let round = (c.group / PALETTE.len()) % 2;
    let dash = match (c.caller, round) {
        (false, 0) => Dash::Solid,
        (false, _) => Dash::Long,
        (true, 0) => Dash::Short,
        (true, _) => Dash::Dotted,
    };
    (PALETTE[c.group % PALETTE.len()], dash)
}

/// latency_cdf.png / .svg: the distribution of end-to-end and caller latency per variant,
/// on a logarithmic time axis, end to end as a share of every message produced.
pub fn latency_cdf(title: &str, curves: &[CdfCurve]) -> Result<(Vec<u8>, String), Error> {
    png_and_svg(
        CDF_SIZE,
        |root| draw_cdf(root, title, curves, true),
        |root| draw_cdf(root, title, curves, false),
    )
}

/// The line under the CDF's title.
pub const CDF_NOTE: &str = "End to end counts every message produced: a curve that stops \
below 100% never completed the rest (refused, dropped, dead-lettered or still queued).";

fn draw_cdf<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    curves: &[CdfCurve],
    segmented: bool,
) -> Result<(), Error> {
    root.fill(&WHITE).map_err(draw_error)?;
    let positive: Vec<f64> = curves.iter().flat_map(|c| c.drawn().map(|p| p.0)).collect();
    let lo = positive.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = positive.iter().copied().fold(0.0f64, f64::max);
    let (lo, hi) = if lo.is_finite() && hi > lo {
        (lo * 0.8, hi * 1.25)
    } else {
        (1e-3, 1.0)
    };
    let body = root
        .titled(title, ("sans-serif", 30).into_font().style(FontStyle::Bold))
        .map_err(draw_error)?
        .titled(CDF_NOTE, ("sans-serif", 16))
        .map_err(draw_error)?;
    let mut chart = ChartBuilder::on(&body)
        .margin(20)
        .x_label_area_size(56)
        .y_label_area_size(80)
        .build_cartesian_2d((lo..hi).log_scale(), 0.0..100.0)
        .map_err(draw_error)?;
    chart
        .configure_mesh()
        .x_desc("latency (log scale)")
        .y_desc("% of messages at or below")
        .label_style(("sans-serif", 18))
        .axis_desc_style(("sans-serif", 20))
        .x_label_formatter(&|v| duration_label(*v))
        .draw()
        .map_err(draw_error)?;
    let area = plot_area(&chart);
    let per_curve: Vec<Vec<Vec<(f64, f64)>>> = curves
        .iter()
        .map(|c| {
            let pixels: Vec<(f64, f64)> = c
                .drawn()
                .map(|p| {
                    let (x, y) = chart.backend_coord(&p);
                    (f64::from(x), f64::from(y))
                })
                .collect();
            strokes(&pixels, area)
        })
        .collect();
    let mut labels: Vec<String> = Vec::new();
    for (i, c) in curves.iter().enumerate() {
        let twin = curves[..i]
            .iter()
            .find(|d| d.covered == c.covered && d.points == c.points && !c.points.is_empty());
        labels.push(match twin {
            Some(d) => format!("{} (identical to {})", c.label(), d.name),
            None => c.label(),
        });
    }
    let names: Vec<&str> = curves.iter().map(|c| c.name.as_str()).collect();
    let labels = mark_hidden(labels, &names, &per_curve);
    let mut drawn = Vec::new();
    for ((c, lines), label) in curves.iter().zip(per_curve).zip(&labels) {
        let (colour, dash) = cdf_style(c);
        let width = if c.caller { 2 } else { 3 };
        stroke(root, &lines, colour.stroke_width(width), dash, segmented)?;
        legend_entry(&mut chart, label, colour, dash)?;
        drawn.extend(lines);
    }
    let corner = legend_corner(&drawn, area, legend_size(&labels));
    draw_legend(&mut chart, corner.into(), 0.7)?;
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
        let (colour, _) = series_style(i);
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
            .legend(legend_mark(colour, Dash::Solid));
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

/// QQ plot size in pixels.
pub const QQ_SIZE: (u32, u32) = (1100, 1000);

/// Most points per family on a QQ plot (evenly spaced in probability).
pub const QQ_POINTS: usize = 400;

/// The points of a QQ plot of the sorted sample `x` against candidate `c`: (the law's
/// quantile, the sample's) at probabilities (j - 0.5) / m, m = min(n, [`QQ_POINTS`]), the
/// sample's quantile interpolated between order statistics. Empty for empirical.
pub fn qq_points(c: &crate::fit::Candidate, x: &[f64]) -> Vec<(f64, f64)> {
    let n = x.len();
    let m = n.min(QQ_POINTS);
    if n == 0 || c.family == "empirical" {
        return Vec::new();
    }
    (0..m)
        .filter_map(|j| {
            let p = (j as f64 + 0.5) / m as f64;
            // Sample quantile at p with the same plotting position (i + 0.5) / n.
            let pos = (p * n as f64 - 0.5).clamp(0.0, (n - 1) as f64);
            let (i, frac) = (pos.floor() as usize, pos - pos.floor());
            let y = x[i] + frac * (x[(i + 1).min(n - 1)] - x[i]);
            let q = c.quantile(p)?;
            q.is_finite().then_some((q, y))
        })
        .collect()
}

/// qq.png / qq.svg: the sample's quantiles against each fitted law's, the best law
/// first; points on the grey diagonal are a perfect fit.
pub fn qq(title: &str, f: &crate::fit::Fit, sorted: &[f64]) -> Result<(Vec<u8>, String), Error> {
    png_and_svg(
        QQ_SIZE,
        |root| draw_qq(root, title, f, sorted),
        |root| draw_qq(root, title, f, sorted),
    )
}

/// The line under the QQ plot's title.
pub const QQ_NOTE: &str = "Each point: a quantile of the sample against the same quantile of a \
fitted law. On the diagonal = a perfect fit; above it on the right = the sample's tail is longer.";

fn draw_qq<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    f: &crate::fit::Fit,
    sorted: &[f64],
) -> Result<(), Error> {
    root.fill(&WHITE).map_err(draw_error)?;
    let series: Vec<(&crate::fit::Candidate, Vec<(f64, f64)>)> = f
        .candidates
        .iter()
        // A constant's quantiles are one value: a vertical line that says nothing more
        // than its D, drawn only when it is the best.
        .filter(|c| c.family != "constant" || c.family == f.best)
        .map(|c| (c, qq_points(c, sorted)))
        .filter(|(_, p)| !p.is_empty())
        .collect();
    let hi = series
        .iter()
        .flat_map(|(_, p)| p.iter().flat_map(|&(a, b)| [a, b]))
        .fold(0.0f64, f64::max);
    let lo = series
        .iter()
        .flat_map(|(_, p)| p.iter().flat_map(|&(a, b)| [a, b]))
        .fold(f64::INFINITY, f64::min)
        .min(hi);
    let (lo, hi) = if hi > lo && lo.is_finite() {
        let pad = (hi - lo) * 0.03;
        ((lo - pad).max(0.0), hi + pad)
    } else {
        (0.0, hi.max(1e-3) * 1.1)
    };
    let (scale, unit) = duration_unit(hi);
    let body = root
        .titled(title, ("sans-serif", 28).into_font().style(FontStyle::Bold))
        .map_err(draw_error)?
        .titled(QQ_NOTE, ("sans-serif", 15))
        .map_err(draw_error)?;
    let mut chart = ChartBuilder::on(&body)
        .margin(20)
        .x_label_area_size(56)
        .y_label_area_size(90)
        .build_cartesian_2d(lo / scale..hi / scale, lo / scale..hi / scale)
        .map_err(draw_error)?;
    chart
        .configure_mesh()
        .x_desc(format!("quantile of the fitted law ({unit})"))
        .y_desc(format!("quantile of the sample ({unit})"))
        .label_style(("sans-serif", 18))
        .axis_desc_style(("sans-serif", 20))
        .x_label_formatter(&|v| short_number(*v))
        .y_label_formatter(&|v| short_number(*v))
        .draw()
        .map_err(draw_error)?;
    let grey = RGBColor(150, 150, 150);
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(lo / scale, lo / scale), (hi / scale, hi / scale)],
            grey.stroke_width(2),
        )))
        .map_err(draw_error)?
        .label("sample = law")
        .legend(legend_mark(grey, Dash::Solid));
    // The best last, so that it is drawn on top.
    let mut order: Vec<usize> = (0..series.len()).collect();
    order.sort_by_key(|&i| series[i].0.family == f.best);
    for i in order {
        let (c, pts) = &series[i];
        let colour = PALETTE[i % PALETTE.len()];
        let best = c.family == f.best;
        let size = if best { 5 } else { 3 };
        chart
            .draw_series(pts.iter().map(|&(a, b)| {
                Circle::new(
                    (a / scale, b / scale),
                    size,
                    if best {
                        colour.filled()
                    } else {
                        colour.stroke_width(1)
                    },
                )
            }))
            .map_err(draw_error)?
            .label(format!(
                "{}{}: KS D = {:.4}{}",
                c.family,
                if best { " (best)" } else { "" },
                c.ks_d,
                if c.acceptable { "" } else { ", does not fit" }
            ))
            .legend(move |(x, y)| Circle::new((x + 12, y), 6, colour.filled()));
    }
    // Below the diagonal on the right is where the points are least often (a law whose
    // tail is longer than the sample's).
    draw_legend(&mut chart, SeriesLabelPosition::LowerRight, 0.85)?;
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
