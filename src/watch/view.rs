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

use super::Player;
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
    let [queue, consumers] =
        Layout::vertical([Constraint::Length(9), Constraint::Min(4)]).areas(left);
    queue_panel(f, queue, p);
    consumer_panel(f, consumers, p);
    sparklines(f, right, p);
    f.render_widget(
        Paragraph::new(Line::from(vec![
            key("space"),
            Span::raw(" pause  "),
            key("+/-"),
            Span::raw(" speed  "),
            key("n"),
            Span::raw(" next disturbance  "),
            key("r"),
            Span::raw(" restart  "),
            key("q"),
            Span::raw(" quit"),
        ])),
        foot,
    );
}

fn key(k: &str) -> Span<'_> {
    Span::styled(k, Style::default().add_modifier(Modifier::BOLD))
}

fn header(f: &mut Frame, area: Rect, p: &Player) {
    let state = if p.paused && p.t >= p.duration {
        "■ end".to_string()
    } else if p.paused {
        "❚❚ paused".to_string()
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

fn speed_text(v: f64) -> String {
    if v >= 1.0 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
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

fn sparklines(f: &mut Frame, area: Rect, p: &Player) {
    let width = area.width.saturating_sub(2) as usize;
    let r = p.row().cloned().unwrap_or_default();
    let rows = Layout::vertical([Constraint::Ratio(1, 4); 4]).split(area);
    let panels: [(String, Vec<u64>, Color); 4] = [
        (
            format!(" Queue depth: {} ", thousands(r.queue_depth)),
            p.history(width, 1.0, |x| x.queue_depth as f64),
            Color::Yellow,
        ),
        (
            format!(" Oldest waiting message: {} ", human(r.oldest_age)),
            p.history(width, 1000.0, |x| x.oldest_age),
            Color::Magenta,
        ),
        (
            format!(
                " End-to-end p99: {} ",
                r.e2e_p99.map(human).unwrap_or_else(|| "-".into())
            ),
            p.history(width, 1000.0, |x| x.e2e_p99.unwrap_or(0.0)),
            Color::Red,
        ),
        (
            format!(
                " Completed/s: {:.0} (offered {:.0}/s) ",
                r.completed as f64 / p.sample_every(),
                r.offered_rate
            ),
            p.history(width, 1.0, |x| x.completed as f64),
            Color::Green,
        ),
    ];
    for ((title, data, colour), area) in panels.into_iter().zip(rows.iter()) {
        f.render_widget(
            Sparkline::default()
                .block(Block::default().borders(Borders::ALL).title(title))
                .data(data)
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
