//! One frame of `queuelab watch`, drawn with ratatui.
//!
//! ```text
//! ┌ queuelab watch: flash-sale / bounded-8 ──────────────────────────────────────┐
//! │ t = 2m 14s / 10m 00s  ▶ 10x   traffic spike 1m 00s–3m 00s                    │
//! └──────────────────────────────────────────────────────────────────────────────┘
//! ┌ Queue ───────────────────┐┌ Queue depth ─────────────────────────────────────┐
//! │ waiting   4,512 / 5,000  ││ ▁▂▃▅▆▇█████                                      │
//! │ ██████████████████░░░░░  │└──────────────────────────────────────────────────┘
//! │ oldest    48.20s         │┌ Oldest waiting message ──────────────────────────┐
//! ...
//! ```

use super::{speed_text, Agg, Player};
use crate::time::human;
use crate::time::thousands;
use ratatui::backend::TestBackend;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Gauge, Paragraph, Sparkline, Wrap};
use ratatui::{Frame, Terminal};

/// Draws the player's current frame over the whole area.
pub fn draw(f: &mut Frame, p: &Player) {
    let [head, body, foot] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Min(10),
        Constraint::Length(1),
    ])
    .areas(f.area());
    header(f, head, p);
    let [left, right] =
        Layout::horizontal([Constraint::Length(34), Constraint::Min(20)]).areas(body);
    let [queue, retries, consumers] = Layout::vertical([
        Constraint::Length(9),
        Constraint::Length(8),
        Constraint::Min(3),
    ])
    .areas(left);
    queue_panel(f, queue, p);
    retry_panel(f, retries, p);
    consumer_panel(f, consumers, p);
    sparklines(f, right, p);
    let footer = match &p.message {
        Some((text, _)) => Line::from(Span::styled(
            text.clone(),
            Style::default().fg(Color::Black).bg(Color::Cyan),
        )),
        None => Line::from(vec![
            key("space"),
            Span::raw(" pause  "),
            key("+/-"),
            Span::raw(" speed  "),
            key("←/→"),
            Span::raw(" seek  "),
            key(",/."),
            Span::raw(" step  "),
            key("n/N"),
            Span::raw(" next/prev disturbance  "),
            key("r"),
            Span::raw(" start  "),
            key("q"),
            Span::raw(" quit"),
        ]),
    };
    f.render_widget(Paragraph::new(footer), foot);
}

fn key(k: &str) -> Span<'_> {
    Span::styled(k, Style::default().add_modifier(Modifier::BOLD))
}

fn header(f: &mut Frame, area: Rect, p: &Player) {
    let state = if p.paused && p.t >= p.duration {
        "■ end".to_string()
    } else if p.paused {
        format!("❚❚ paused · {}x", speed_text(p.speed))
    } else {
        format!("▶ {}x", speed_text(p.speed))
    };
    let mut spans = vec![
        Span::styled(
            format!("t = {} / {}", human(p.t), human(p.duration)),
            Style::default().add_modifier(Modifier::BOLD),
        ),
        Span::raw(format!("   {state}   ")),
    ];
    if let Some(m) = p.current_mark() {
        spans.push(Span::styled(
            m.label.clone(),
            Style::default().fg(Color::Black).bg(Color::Yellow),
        ));
    } else if let Some(m) = p.marks.iter().find(|m| m.start > p.t) {
        spans.push(Span::raw(format!(
            "next: {} (in {})",
            m.label,
            human(m.start - p.t)
        )));
    }
    f.render_widget(
        Paragraph::new(Line::from(spans)).block(
            Block::default()
                .borders(Borders::ALL)
                .title(format!(" queuelab watch: {} ", p.title)),
        ),
        area,
    );
}

/// `12.5/s`, `0/s`, `0.25/s`.
fn rate(v: f64) -> String {
    if v >= 100.0 || v == 0.0 {
        format!("{}/s", thousands(v.round() as u64))
    } else if v >= 10.0 {
        format!("{v:.0}/s")
    } else {
        format!("{v:.1}/s")
    }
}

/// The signals of a retry storm: retries and failing attempts rising while goodput (what
/// completes) falls behind the offered rate, and callers timing out.
fn retry_panel(f: &mut Frame, area: Rect, p: &Player) {
    let r = p.recent_rates(5.0 * p.sample_every());
    let failed = if r.attempts > 0.0 {
        format!(" · {:.0}% failed", 100.0 * r.failed_attempts / r.attempts)
    } else {
        String::new()
    };
    let useful = if r.attempts > 0.0 {
        format!(
            "{:.0}% of attempts",
            100.0 * (r.goodput / r.attempts).min(1.0)
        )
    } else {
        "-".to_string()
    };
    let lines = vec![
        Line::from(format!("retries   {}", rate(r.retries))),
        Line::from(format!("attempts  {}{failed}", rate(r.attempts))),
        Line::from(format!("useful    {useful}")),
        Line::from(format!(
            "goodput   {} of {} offered",
            rate(r.goodput),
            rate(r.offered)
        )),
        Line::from(format!("timeouts  {} (callers)", rate(r.timeouts))),
        Line::from(format!("errors    {} (callers)", rate(r.errors))),
    ];
    f.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title(format!(" Retries & goodput, last {} ", human(r.span))),
        ),
        area,
    );
}

fn queue_panel(f: &mut Frame, area: Rect, p: &Player) {
    let r = p.row().cloned().unwrap_or_default();
    let (_, done, lost) = p.totals();
    let cap = p
        .capacity
        .map(thousands)
        .unwrap_or_else(|| "unbounded".into());
    let lines = vec![
        Line::from(format!("waiting   {} / {cap}", thousands(r.queue_depth))),
        Line::from(format!("oldest    {}", human(r.oldest_age))),
        Line::from(format!("backoff   {}", thousands(r.retry_waiting))),
        Line::from(format!("DLQ       {}", thousands(r.dead_lettered_total))),
        Line::from(format!("done      {}", thousands(done))),
        Line::from(format!("refused   {}", thousands(lost))),
    ];
    let block = Block::default().borders(Borders::ALL).title(" Queue ");
    let inner = block.inner(area);
    f.render_widget(block, area);
    let [gauge, text] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(inner);
    let ratio = match p.capacity {
        Some(c) if c > 0 => (r.queue_depth as f64 / c as f64).clamp(0.0, 1.0),
        Some(_) => 1.0,
        None => 0.0,
    };
    let colour = if ratio > 0.9 {
        Color::Red
    } else if ratio > 0.5 {
        Color::Yellow
    } else {
        Color::Green
    };
    f.render_widget(
        Gauge::default()
            .gauge_style(Style::default().fg(colour))
            .ratio(ratio)
            .label(if p.capacity.is_some() {
                format!("{:.0}% full", ratio * 100.0)
            } else {
                "unbounded".to_string()
            }),
        gauge,
    );
    f.render_widget(Paragraph::new(lines), text);
}

fn consumer_panel(f: &mut Frame, area: Rect, p: &Player) {
    let r = p.row().cloned().unwrap_or_default();
    let n = r.consumers.max(1);
    let busy = r.in_flight.min(n);
    let block = Block::default().borders(Borders::ALL).title(format!(
        " Consumers {} · {:.0}% busy ",
        thousands(r.consumers),
        r.utilization * 100.0
    ));
    let inner = block.inner(area);
    f.render_widget(block, area);
    // One cell per consumer, or per group of consumers when they do not fit.
    let cells = u64::from(inner.width) * u64::from(inner.height);
    let per = n.div_ceil(cells.max(1)).max(1);
    let shown = n.div_ceil(per);
    let full = busy / per;
    let mut text = String::new();
    for i in 0..shown {
        text.push(if i < full { '█' } else { '·' });
    }
    let mut para = Paragraph::new(text)
        .style(Style::default().fg(Color::Cyan))
        .wrap(Wrap { trim: false });
    if per > 1 {
        para = para.block(Block::default().title(format!("(one cell = {per} consumers)")));
    }
    f.render_widget(para, inner);
}

/// Sparkline bars hold integers: values are kept in thousandths.
const BAR_UNIT: f64 = 1000.0;

/// One sparkline: its title (value now and the scale) and its bars, the scale fixed for
/// the whole run so a bar's height means the same at every moment.
pub struct Spark {
    /// Title with the current value and the bar scale.
    pub title: String,
    /// Bars, oldest first; `None` draws nothing (not yet played, or nothing measured).
    pub bars: Vec<Option<u64>>,
    /// The value of a full-height bar, in bar units.
    pub top: u64,
}

/// The sparkline of `f` over the window, `n` columns wide; `now` is the value at the clock
/// and `show` formats the scale for the title.
pub fn spark(
    p: &Player,
    n: usize,
    name: &str,
    now: String,
    agg: Agg,
    show: impl Fn(f64) -> String,
    f: impl Fn(&crate::metrics::Row) -> Option<f64> + Copy,
) -> Spark {
    let scale = p
        .columns(n, p.duration, agg, f)
        .into_iter()
        .flatten()
        .fold(0.0f64, f64::max);
    let bars = p
        .columns(n, p.t, agg, f)
        .into_iter()
        .map(|v| v.map(|v| (v.max(0.0) * BAR_UNIT).round() as u64))
        .collect();
    Spark {
        title: format!(" {name}: {now} · bar top {} ", show(scale)),
        bars,
        top: ((scale * BAR_UNIT).round() as u64).max(1),
    }
}

fn sparklines(f: &mut Frame, area: Rect, p: &Player) {
    let width = area.width.saturating_sub(2) as usize;
    let r = p.row().cloned().unwrap_or_default();
    let rows = Layout::vertical([Constraint::Ratio(1, 4); 4]).split(area);
    let dt = p.sample_every();
    let count = |v: f64| thousands(v.round() as u64);
    let panels: [(Spark, Color); 4] = [
        (
            spark(
                p,
                width,
                "Queue depth",
                thousands(r.queue_depth),
                Agg::Max,
                count,
                |x| Some(x.queue_depth_max as f64),
            ),
            Color::Yellow,
        ),
        (
            spark(
                p,
                width,
                "Oldest waiting",
                human(r.oldest_age),
                Agg::Max,
                human,
                |x| Some(x.oldest_age),
            ),
            Color::Magenta,
        ),
        (
            spark(
                p,
                width,
                "End-to-end p99",
                r.e2e_p99.map(human).unwrap_or_else(|| "-".into()),
                Agg::Max,
                human,
                |x| x.e2e_p99,
            ),
            Color::Red,
        ),
        (
            spark(
                p,
                width,
                "Completed",
                format!(
                    "{} (offered {})",
                    rate(r.completed as f64 / dt),
                    rate(r.offered_rate)
                ),
                Agg::Mean,
                rate,
                move |x| Some(x.completed as f64 / dt),
            ),
            Color::Green,
        ),
    ];
    let (start, end) = p.window();
    let span = format!(
        " {}–{}, {} a bar ",
        human(start),
        human(end),
        human((end - start) / width.max(1) as f64)
    );
    for ((s, colour), area) in panels.into_iter().zip(rows.iter()) {
        f.render_widget(
            Sparkline::default()
                .block(
                    Block::default()
                        .borders(Borders::ALL)
                        .title(s.title)
                        .title_bottom(Line::from(span.clone()).right_aligned()),
                )
                .data(s.bars)
                .max(s.top)
                .style(Style::default().fg(colour)),
            *area,
        );
    }
}

/// The frame as plain text, `width` x `height` characters (for `--at`, tests and docs).
pub fn snapshot(p: &Player, width: u16, height: u16) -> String {
    let mut t = match Terminal::new(TestBackend::new(width, height)) {
        Ok(t) => t,
        Err(e) => return format!("cannot draw: {e}"),
    };
    if let Err(e) = t.draw(|f| draw(f, p)) {
        return format!("cannot draw: {e}");
    }
    let buf = t.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut line = String::new();
        for x in 0..buf.area.width {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
