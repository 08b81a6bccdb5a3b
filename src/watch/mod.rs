//! `queuelab watch`: live playback of a run in the terminal.
//!
//! The run is simulated first (it takes well under a second) and its time series is then
//! played back on a simulated clock at a speed the viewer sets: the queue filling and
//! draining, consumers busy or idle, the dead-letter queue growing, sparklines of depth,
//! oldest age, latency and throughput.
//!
//! - [`Player`] is the playback state (clock, speed, pause) and what a frame shows; it knows
//!   nothing about terminals, so tests drive it directly.
//! - [`view`] draws a frame with ratatui; tests render it on ratatui's `TestBackend`.
//! - [`term`] runs the interactive loop on a real terminal (crossterm, works over SSH).

pub mod term;
pub mod view;

use crate::metrics::{recovery, Row};
use crate::scenario::Scenario;
use crate::sim::{self, RunResult};
use crate::time::{human, ns_to_secs};

/// Speeds offered, in simulated seconds per wall-clock second.
pub const SPEEDS: [f64; 16] = [
    0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1e3, 2e3, 5e3, 1e4,
];

/// What the viewer asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// Pause or resume.
    Pause,
    /// Next speed up.
    Faster,
    /// Next speed down.
    Slower,
    /// Jump to just before the next disturbance (spike, outage, restart).
    Next,
    /// Jump to just before the previous disturbance.
    Previous,
    /// Seek forward by a twentieth of the run.
    SeekForward,
    /// Seek back (rewind) by a twentieth of the run.
    SeekBack,
    /// One sample forward, paused.
    StepForward,
    /// One sample back, paused.
    StepBack,
    /// Back to the start.
    Restart,
    /// Leave.
    Quit,
}

/// How long a message about a key stays on screen, in wall-clock seconds.
pub const MESSAGE_SECONDS: f64 = 4.0;

/// Longest stretch of the run the sparklines show, seconds: a run up to this long is shown
/// whole (future columns blank); a longer one scrolls with the clock.
pub const WINDOW_MAX: f64 = 3600.0;

/// How a sparkline column sums up the rows it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agg {
    /// The largest value (depth, age, p99: peaks stay visible).
    Max,
    /// The mean (rates).
    Mean,
}

/// A disturbance shown on the timeline: label, start and end in seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    /// e.g. `traffic spike 1m 00s–3m 00s`.
    pub label: String,
    /// Start, seconds.
    pub start: f64,
    /// End, seconds.
    pub end: f64,
}

/// Playback of one run.
#[derive(Debug, Clone)]
pub struct Player {
    /// `scenario / variant`.
    pub title: String,
    /// The run's time series (fan-out: all subscribers added up).
    pub rows: Vec<Row>,
    /// Queue capacity (summed over subscribers; `None` = unbounded).
    pub capacity: Option<u64>,
    /// Run length, seconds.
    pub duration: f64,
    /// Disturbances, in time order.
    pub marks: Vec<Mark>,
    /// The simulated clock, seconds.
    pub t: f64,
    /// Simulated seconds per wall-clock second.
    pub speed: f64,
    /// Paused (also at the end of the run).
    pub paused: bool,
    /// What the last key did, while it is shown (wall-clock seconds left).
    pub message: Option<(String, f64)>,
    /// Running totals per row: arrivals, completed, rejected + dropped + expired.
    totals: Vec<(u64, u64, u64)>,
}

impl Player {
    /// Simulates `s` and gets ready to play it from time 0.
    pub fn new(s: &Scenario) -> Player {
        Player::from_run(s, &sim::run(s))
    }

    /// A player for an existing result of `s`.
    pub fn from_run(s: &Scenario, r: &RunResult) -> Player {
        let drawn = if s.subscribers.is_empty() {
            s.clone()
        } else {
            sim::totals_scenario(s)
        };
        let marks = recovery::windows(&drawn)
            .into_iter()
            .map(|(kind, a, b)| {
                let (a, b) = (ns_to_secs(a), ns_to_secs(b));
                let label = match kind {
                    recovery::Kind::Restart => kind.label().to_string(),
                    k => format!("{} {}–{}", k.label(), human(a), human(b)),
                };
                Mark {
                    label,
                    start: a,
                    end: b,
                }
            })
            .collect();
        let mut acc = (0, 0, 0);
        let totals = r
            .rows
            .iter()
            .map(|row| {
                acc.0 += row.arrivals;
                acc.1 += row.completed;
                acc.2 += row.rejected + row.dropped;
                acc
            })
            .collect();
        let duration = ns_to_secs(s.duration);
        Player {
            title: match &s.variant {
                Some(v) => format!("{} / {v}", s.name),
                None => s.name.clone(),
            },
            rows: r.rows.clone(),
            capacity: r.summary.queue.capacity,
            duration,
            marks,
            t: 0.0,
            speed: default_speed(duration),
            paused: false,
            message: None,
            totals,
        }
    }

    /// Index of the latest row at or before the clock, if any.
    pub fn index(&self) -> Option<usize> {
        self.rows.iter().rposition(|r| r.time <= self.t + 1e-9)
    }

    /// The latest row at or before the clock.
    pub fn row(&self) -> Option<&Row> {
        self.index().map(|i| &self.rows[i])
    }

    /// Running totals at the clock: (arrivals, completed, refused or dropped).
    pub fn totals(&self) -> (u64, u64, u64) {
        self.index().map(|i| self.totals[i]).unwrap_or((0, 0, 0))
    }

    /// The disturbance in progress at the clock, if any.
    pub fn current_mark(&self) -> Option<&Mark> {
        self.marks
            .iter()
            .find(|m| self.t >= m.start && (self.t < m.end || m.start == m.end && self.t < 1.0))
    }

    /// Moves the clock on by `wall` seconds of real time at the current speed; pauses at
    /// the end of the run. A message from a key fades after [`MESSAGE_SECONDS`].
    pub fn advance(&mut self, wall: f64) {
        if let Some((_, left)) = &mut self.message {
            *left -= wall;
            if *left <= 0.0 {
                self.message = None;
            }
        }
        if self.paused {
            return;
        }
        self.t = (self.t + wall * self.speed).min(self.duration);
        if self.t >= self.duration {
            self.paused = true;
        }
    }

    fn say(&mut self, text: String) {
        self.message = Some((text, MESSAGE_SECONDS));
    }

    /// `(paused: space plays)` while paused, else nothing.
    fn paused_note(&self) -> &'static str {
        if self.paused {
            " (paused: space plays)"
        } else {
            ""
        }
    }

    /// Sets the clock to `t` (clamped to the run); reaching the end pauses.
    fn seek_to(&mut self, t: f64) {
        self.t = t.clamp(0.0, self.duration);
        if self.t >= self.duration {
            self.paused = true;
        }
    }

    /// How far one seek moves: a twentieth of the run, in whole samples.
    pub fn seek_step(&self) -> f64 {
        let dt = self.sample_every();
        ((self.duration / 20.0) / dt).round().max(1.0) * dt
    }

    /// Applies a key; false means quit.
    pub fn key(&mut self, k: Key) -> bool {
        // A few samples before a disturbance, so the viewer sees it start.
        let lead = self.sample_every() * 5.0;
        match k {
            Key::Pause => {
                if self.t >= self.duration {
                    self.t = 0.0;
                }
                self.paused = !self.paused;
                self.message = None;
            }
            Key::Faster | Key::Slower => {
                let before = self.speed;
                self.speed = step_speed(self.speed, k == Key::Faster);
                let limit = if self.speed == before {
                    if k == Key::Faster {
                        " (the fastest)"
                    } else {
                        " (the slowest)"
                    }
                } else {
                    ""
                };
                let text = format!(
                    "speed {}x{limit}{}",
                    speed_text(self.speed),
                    self.paused_note()
                );
                self.say(text);
            }
            Key::Next => {
                let next = self
                    .marks
                    .iter()
                    .map(|m| ((m.start - lead).max(0.0), m))
                    .find(|(s, _)| *s > self.t + 1e-9);
                match next {
                    Some((s, m)) => {
                        let text = format!("to {}: {}", human(s), m.label);
                        self.t = s;
                        self.say(text);
                    }
                    None => {
                        let text = match self.marks.last() {
                            None => "this run has no disturbances".to_string(),
                            Some(m) => format!(
                                "no disturbance after {}: the last was {} (N goes back)",
                                human(self.t),
                                m.label
                            ),
                        };
                        self.say(text);
                    }
                }
            }
            Key::Previous => {
                let prev = self
                    .marks
                    .iter()
                    .rev()
                    .map(|m| ((m.start - lead).max(0.0), m))
                    .find(|(s, _)| *s < self.t - 1e-9);
                match prev {
                    Some((s, m)) => {
                        let text = format!("back to {}: {}", human(s), m.label);
                        self.t = s;
                        self.say(text);
                    }
                    None => {
                        let text = if self.marks.is_empty() {
                            "this run has no disturbances".to_string()
                        } else {
                            format!("no disturbance before {}", human(self.t))
                        };
                        self.say(text);
                    }
                }
            }
            Key::SeekForward | Key::SeekBack => {
                let step = self.seek_step();
                let sign = if k == Key::SeekForward { 1.0 } else { -1.0 };
                self.seek_to(self.t + sign * step);
                let text = format!(
                    "{} {} to {}{}",
                    if sign > 0.0 { "forward" } else { "back" },
                    human(step),
                    human(self.t),
                    self.paused_note()
                );
                self.say(text);
            }
            Key::StepForward | Key::StepBack => {
                let dt = self.sample_every();
                self.paused = true;
                // Land on a sample: the next (or previous) row's time.
                let target = if k == Key::StepForward {
                    self.rows
                        .iter()
                        .map(|r| r.time)
                        .find(|&t| t > self.t + 1e-9)
                        .unwrap_or(self.duration)
                } else {
                    self.rows
                        .iter()
                        .rev()
                        .map(|r| r.time)
                        .find(|&t| t < self.t - 1e-9)
                        .unwrap_or(0.0)
                };
                self.seek_to(target);
                let text = format!(
                    "step {} {} to {} (paused: space plays)",
                    if k == Key::StepForward {
                        "forward"
                    } else {
                        "back"
                    },
                    human(dt),
                    human(self.t)
                );
                self.say(text);
            }
            Key::Restart => {
                self.t = 0.0;
                self.paused = false;
                self.say("from the start".to_string());
            }
            Key::Quit => return false,
        }
        true
    }

    /// Seconds between rows.
    pub fn sample_every(&self) -> f64 {
        match self.rows.as_slice() {
            [a, b, ..] => b.time - a.time,
            [a] => a.time,
            [] => 1.0,
        }
    }

    /// The stretch of the run the sparklines show, seconds: the whole run when it is at
    /// most [`WINDOW_MAX`] long, else that much, scrolling so the clock stays in view.
    pub fn window(&self) -> (f64, f64) {
        if self.duration <= WINDOW_MAX {
            (0.0, self.duration.max(1e-9))
        } else {
            let start = (self.t - WINDOW_MAX / 2.0).clamp(0.0, self.duration - WINDOW_MAX);
            (start, start + WINDOW_MAX)
        }
    }

    /// `n` sparkline columns over [`Player::window`], each summing up (`agg`) `f` over the
    /// rows it covers up to `until` seconds; `None` where it covers no such row (the future,
    /// or nothing measured, as `f` says by `None`).
    pub fn columns(
        &self,
        n: usize,
        until: f64,
        agg: Agg,
        f: impl Fn(&Row) -> Option<f64>,
    ) -> Vec<Option<f64>> {
        let (start, end) = self.window();
        let width = (end - start) / n.max(1) as f64;
        let mut out = vec![None; n];
        let first = self.rows.partition_point(|r| r.time <= start + 1e-9);
        let mut sums = vec![(0.0f64, 0usize); n];
        for r in &self.rows[first..] {
            if r.time > until + 1e-9 || r.time > end + 1e-9 {
                break;
            }
            let Some(v) = f(r).filter(|v| v.is_finite()) else {
                continue;
            };
            // A row covers the interval ending at its time.
            let k = (((r.time - start) / width).ceil() as usize).clamp(1, n) - 1;
            let (s, c) = &mut sums[k];
            match agg {
                Agg::Max => *s = if *c == 0 { v } else { s.max(v) },
                Agg::Mean => *s += v,
            }
            *c += 1;
        }
        for (o, (s, c)) in out.iter_mut().zip(sums) {
            if c > 0 {
                *o = Some(match agg {
                    Agg::Max => s,
                    Agg::Mean => s / c as f64,
                });
            }
        }
        out
    }

    /// Running totals of the retry-storm signals up to the clock, per second of the
    /// latest `span` seconds: (retries, attempts, failed attempts, completed, caller
    /// timeouts, caller errors, offered).
    pub fn recent_rates(&self, span: f64) -> Rates {
        let Some(end) = self.index() else {
            return Rates::default();
        };
        let dt = self.sample_every();
        let n = ((span / dt).round() as usize).clamp(1, end + 1);
        let rows = &self.rows[end + 1 - n..=end];
        let secs = n as f64 * dt;
        let sum = |f: fn(&Row) -> u64| rows.iter().map(f).sum::<u64>() as f64 / secs;
        Rates {
            retries: sum(|r| r.retries),
            attempts: sum(|r| r.attempts),
            failed_attempts: sum(|r| r.failed_attempts),
            goodput: sum(|r| r.completed),
            timeouts: sum(|r| r.client_timeouts),
            errors: sum(|r| r.client_errors),
            offered: rows[rows.len() - 1].offered_rate,
            span: secs,
        }
    }
}

/// The retry-storm signals over the latest few seconds, per second.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rates {
    /// Retries scheduled.
    pub retries: f64,
    /// Processing attempts started.
    pub attempts: f64,
    /// Attempts that failed (including timeouts).
    pub failed_attempts: f64,
    /// Messages completed (useful work).
    pub goodput: f64,
    /// Callers that gave up.
    pub timeouts: f64,
    /// Callers that got an error.
    pub errors: f64,
    /// Offered rate at the clock.
    pub offered: f64,
    /// Seconds the rates are over.
    pub span: f64,
}

/// `20`, `0.5`: a speed as the header prints it.
pub fn speed_text(v: f64) -> String {
    if v >= 1.0 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

/// The slowest listed speed from real time up that plays the whole run in about a minute
/// or less.
pub fn default_speed(duration: f64) -> f64 {
    SPEEDS
        .iter()
        .copied()
        .find(|&v| v >= 1.0 && duration / v <= 60.0)
        .unwrap_or(SPEEDS[SPEEDS.len() - 1])
}

fn step_speed(now: f64, up: bool) -> f64 {
    let i = SPEEDS
        .iter()
        .position(|&v| v >= now - 1e-9)
        .unwrap_or(SPEEDS.len() - 1);
    if up {
        SPEEDS[(i + 1).min(SPEEDS.len() - 1)]
    } else {
        SPEEDS[i.saturating_sub(1)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speeds_step_and_default_to_a_minute() {
        assert_eq!(default_speed(600.0), 10.0);
        assert_eq!(default_speed(30.0), 1.0);
        assert_eq!(step_speed(10.0, true), 20.0);
        assert_eq!(step_speed(10.0, false), 5.0);
        assert_eq!(step_speed(0.1, false), 0.1);
        assert_eq!(step_speed(1e4, true), 1e4);
    }
}
