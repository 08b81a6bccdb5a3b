//! A circuit breaker in front of the downstream.
//!
//! Closed: calls go through and their outcomes fill a window of the last `window` calls;
//! when the window is full and at least `failure_threshold` of it failed, the breaker opens.
//! Open: no calls for `open_for`; then half-open: `half_open_probes` calls may go through;
//! if they all succeed it closes (with an empty window), if one fails it opens again.

use crate::scenario::Breaker as Config;
use crate::time::Nanos;
use std::collections::VecDeque;

/// The breaker's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// Calls go through.
    Closed,
    /// Calls are refused until the time given.
    Open(Nanos),
    /// Probe calls go through: (allowed so far, succeeded so far).
    HalfOpen(u32, u32),
}

/// A circuit breaker.
pub(crate) struct Breaker {
    cfg: Config,
    state: State,
    window: VecDeque<bool>,
    failures: usize,
    /// Times the breaker opened.
    pub(crate) opened: u64,
}

impl Breaker {
    /// A closed breaker.
    pub(crate) fn new(cfg: Config) -> Self {
        Breaker {
            cfg,
            state: State::Closed,
            window: VecDeque::with_capacity(cfg.window as usize),
            failures: 0,
            opened: 0,
        }
    }

    /// The state at `now`: open turns half-open when its time has come.
    pub(crate) fn state_at(&self, now: Nanos) -> State {
        match self.state {
            State::Open(until) if now >= until => State::HalfOpen(0, 0),
            s => s,
        }
    }

    /// The state at `now`, kept (open moves to half-open when its time has come).
    fn state(&mut self, now: Nanos) -> State {
        self.state = self.state_at(now);
        self.state
    }

    /// Whether [`allow`](Self::allow) would say yes now, without counting a probe.
    pub(crate) fn would_allow(&self, now: Nanos) -> bool {
        match self.state_at(now) {
            State::Closed => true,
            State::Open(_) => false,
            State::HalfOpen(started, _) => started < self.cfg.half_open_probes,
        }
    }

    /// Whether a call may start now (counts a half-open probe).
    pub(crate) fn allow(&mut self, now: Nanos) -> bool {
        match self.state(now) {
            State::Closed => true,
            State::Open(_) => false,
            State::HalfOpen(started, ok) => {
                if started < self.cfg.half_open_probes {
                    self.state = State::HalfOpen(started + 1, ok);
                    true
                } else {
                    false
                }
            }
        }
    }

    /// When an open breaker lets calls through again (None unless open).
    pub(crate) fn reopens_at(&self) -> Option<Nanos> {
        match self.state {
            State::Open(t) => Some(t),
            _ => None,
        }
    }

    /// Records a call's outcome. Returns true when this closed the breaker.
    pub(crate) fn record(&mut self, now: Nanos, ok: bool) -> bool {
        match self.state(now) {
            State::Closed => {
                self.window.push_back(ok);
                if !ok {
                    self.failures += 1;
                }
                if self.window.len() > self.cfg.window as usize
                    && !self.window.pop_front().unwrap_or(true)
                {
                    self.failures -= 1;
                }
                let full = self.window.len() >= self.cfg.window as usize;
                if full
                    && self.failures as f64 >= self.cfg.failure_threshold * self.window.len() as f64
                {
                    self.open(now);
                }
                false
            }
            State::Open(_) => false,
            State::HalfOpen(started, succeeded) => {
                if !ok {
                    self.open(now);
                    false
                } else if succeeded + 1 >= self.cfg.half_open_probes {
                    self.state = State::Closed;
                    self.window.clear();
                    self.failures = 0;
                    true
                } else {
                    self.state = State::HalfOpen(started, succeeded + 1);
                    false
                }
            }
        }
    }

    fn open(&mut self, now: Nanos) {
        self.state = State::Open(now.saturating_add(self.cfg.open_for));
        self.opened += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker() -> Breaker {
        Breaker::new(Config {
            window: 4,
            failure_threshold: 0.5,
            open_for: 100,
            half_open_probes: 2,
        })
    }

    #[test]
    fn opens_probes_and_closes() {
        let mut b = breaker();
        for ok in [true, false, true] {
            assert!(b.allow(0));
            b.record(0, ok);
        }
        assert!(b.allow(0), "window not full yet");
        b.record(0, false); // 2 of 4 failed: opens
        assert_eq!(b.state(1), State::Open(100));
        assert!(!b.allow(50));
        assert!(b.allow(100) && b.allow(100) && !b.allow(100), "two probes");
        assert!(!b.record(101, true));
        assert!(b.record(102, true), "both probes succeeded: closed");
        assert_eq!(b.state(103), State::Closed);
        assert_eq!(b.opened, 1);
    }

    #[test]
    fn a_failed_probe_reopens() {
        let mut b = breaker();
        for _ in 0..4 {
            b.record(0, false);
        }
        assert!(b.allow(100));
        b.record(100, false);
        assert_eq!(b.state(100), State::Open(200));
        assert_eq!(b.opened, 2);
    }
}
