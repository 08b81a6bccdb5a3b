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
    /// Back to the start.
    Restart,
    /// Leave.
    Quit,
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
    /// the end of the run.
    pub fn advance(&mut self, wall: f64) {
        if self.paused {
            return;
        }
        self.t = (self.t + wall * self.speed).min(self.duration);
        if self.t >= self.duration {
            self.paused = true;
        }
    }

    /// Applies a key; false means quit.
    pub fn key(&mut self, k: Key) -> bool {
        match k {
            Key::Pause => {
                if self.t >= self.duration {
                    self.t = 0.0;
                }
                self.paused = !self.paused;
            }
            Key::Faster => self.speed = step_speed(self.speed, true),
            Key::Slower => self.speed = step_speed(self.speed, false),
            Key::Next => {
                // A few samples before it, so the viewer sees it start.
                let lead = self.sample_every() * 5.0;
                self.t = self
                    .marks
                    .iter()
                    .map(|m| (m.start - lead).max(0.0))
                    .find(|&s| s > self.t + 1e-9)
                    .unwrap_or(self.duration);
            }
            Key::Restart => {
                self.t = 0.0;
                self.paused = false;
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

    /// The last `n` values of `f` up to the clock (oldest first), as integers for
    /// sparklines (`scale` multiplies first: 1000 turns seconds into milliseconds).
    pub fn history(&self, n: usize, scale: f64, f: impl Fn(&Row) -> f64) -> Vec<u64> {
        let Some(end) = self.index() else {
            return Vec::new();
        };
        let start = (end + 1).saturating_sub(n);
        self.rows[start..=end]
            .iter()
            .map(|r| (f(r) * scale).max(0.0).round() as u64)
            .collect()
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
