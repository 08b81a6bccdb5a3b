//! Producers: when each message is created.
//!
//! A Poisson producer draws exponential gaps; a constant one emits every 1/rate, its first
//! message at 1/rate. A schedule step changes the rate at its time: a Poisson producer
//! simply redraws its next gap (the process is memoryless); a constant one keeps its
//! phase by rescaling the remaining part of the current gap. A `rates` producer is a
//! Poisson producer whose schedule is its rate series.
//!
//! A trace producer replays the timestamps of a data file, streamed: it holds one
//! timestamp ahead of the one it gave (the gap to it places superposed copies) and a few
//! copies, never the file ([`Replay`]).

use crate::convert::{floor_u64, floor_usize};
use crate::error::InputError;
use crate::input::{Reader, Timestamps};
use crate::rng::{exp_gap, uniform, Rng};
use crate::scenario::data::Trace;
use crate::scenario::{ArrivalKind, Producer};
use crate::time::{secs_to_ns, Nanos};

/// One producer's state.
pub struct Source {
    kind: ArrivalKind,
    rate: f64,
    /// Bumped at every rate change, so a superseded arrival event can be recognised.
    pub generation: u32,
    /// Constant arrivals: time origin and index of the next arrival.
    origin: Nanos,
    k: u64,
    next: Option<Nanos>,
    rng: Rng,
    replay: Option<Box<Replay>>,
}

/// A trace being replayed.
///
/// Originals: each timestamp `f` of pass `k` at `offset + (base_k + f) / speed`. Each
/// original gives a group of messages: with `scale < 1` itself with probability `scale`;
/// with `scale >= 1` itself, plus `floor(scale) - 1` copies, plus one more copy with
/// probability `scale - floor(scale)`, each copy at a uniform point of the gap to the
/// next original (of the gap before it, for the last one), so that the copies keep the
/// trace's shape without becoming batches.
pub struct Replay {
    trace: Trace,
    ts: Timestamps<Reader>,
    /// This pass's base (file time, ns).
    base: Nanos,
    /// This pass's first and last timestamps (file time) and how many.
    pass_first: Nanos,
    pass_last: Nanos,
    pass_count: u64,
    /// The next original (simulated time), read ahead.
    ahead: Option<Nanos>,
    /// The gap before the original given last (for the copies of the very last one).
    last_gap: Nanos,
    /// Copies still to give, ascending, from `pos`.
    pending: Vec<Nanos>,
    pos: usize,
    /// The whole part and fraction of `scale`.
    whole: u64,
    frac: f64,
    /// Why the replay stopped early (a bad line met during the run).
    error: Option<InputError>,
    /// Messages produced since the last time-series row.
    window: u64,
}

impl Replay {
    fn open(trace: &Trace) -> Result<Replay, InputError> {
        let r = trace.inputs.open(&trace.file)?;
        let ts = Timestamps::new(r, &trace.label, "time")?;
        let mut rp = Replay {
            trace: trace.clone(),
            ts,
            base: 0,
            pass_first: 0,
            pass_last: 0,
            pass_count: 0,
            ahead: None,
            last_gap: 0,
            pending: Vec::with_capacity(floor_usize(trace.scale.ceil().min(1024.0)) + 1),
            pos: 0,
            whole: floor_u64(trace.scale),
            frac: trace.scale - trace.scale.floor(),
            error: None,
            window: 0,
        };
        rp.ahead = rp.read();
        Ok(rp)
    }

    #[inline]
    fn to_sim(&self, f: Nanos) -> Nanos {
        let x = self.base.saturating_add(f);
        let x = if self.trace.speed == 1.0 {
            x
        } else {
            secs_to_ns(x as f64 / 1e9 / self.trace.speed)
        };
        self.trace.offset.saturating_add(x)
    }

    /// The next original in simulated time; `None` at the end (or on an error, kept).
    fn read(&mut self) -> Option<Nanos> {
        loop {
            match self.ts.next_ns() {
                Ok(Some((f, _))) => {
                    if self.pass_count == 0 {
                        self.pass_first = f;
                    }
                    self.pass_last = f;
                    self.pass_count += 1;
                    return Some(self.to_sim(f));
                }
                Ok(None) => {
                    let span = self.pass_last.saturating_sub(self.pass_first);
                    if !self.trace.looped || self.pass_count < 2 || span == 0 {
                        return None;
                    }
                    // The next pass starts one mean gap after this one's last timestamp.
                    let gap = span / (self.pass_count - 1);
                    self.base = self
                        .base
                        .saturating_add(self.pass_last)
                        .saturating_add(gap.max(1))
                        .saturating_sub(self.pass_first);
                    self.pass_count = 0;
                    match self
                        .trace
                        .inputs
                        .open(&self.trace.file)
                        .and_then(|r| Timestamps::new(r, &self.trace.label, "time"))
                    {
                        Ok(ts) => self.ts = ts,
                        Err(e) => {
                            self.error = Some(e);
                            return None;
                        }
                    }
                }
                Err(e) => {
                    self.error = Some(e);
                    return None;
                }
            }
        }
    }

    /// The next message time.
    #[inline]
    fn next(&mut self, rng: &mut Rng) -> Option<Nanos> {
        if self.pos < self.pending.len() {
            self.pos += 1;
            return Some(self.pending[self.pos - 1]);
        }
        loop {
            let t = self.ahead?;
            self.ahead = self.read();
            if let Some(n) = self.ahead {
                self.last_gap = n.saturating_sub(t);
            }
            let scale = self.trace.scale;
            if scale == 1.0 {
                return Some(t);
            }
            if scale < 1.0 {
                if uniform(rng) < scale {
                    return Some(t);
                }
                continue;
            }
            let mut copies = self.whole - 1;
            if self.frac > 0.0 && uniform(rng) < self.frac {
                copies += 1;
            }
            self.pending.clear();
            self.pos = 0;
            let gap = self.last_gap;
            for _ in 0..copies {
                self.pending
                    .push(t.saturating_add(floor_u64(uniform(rng) * gap as f64)));
            }
            self.pending.sort_unstable();
            return Some(t);
        }
    }
}

impl Source {
    /// A producer starting at time 0.
    pub fn new(p: &Producer, rng: Rng) -> Self {
        Source {
            kind: p.arrivals,
            rate: p.rate,
            generation: 0,
            origin: 0,
            k: 1,
            next: None,
            rng,
            replay: None,
        }
    }

    /// A trace producer: `Err` if its file cannot be opened again.
    ///
    /// # Errors
    /// The file cannot be opened or its header read.
    pub fn replay(p: &Producer, trace: &Trace, rng: Rng) -> Result<Self, InputError> {
        let mut s = Source::new(p, rng);
        s.replay = Some(Box::new(Replay::open(trace)?));
        Ok(s)
    }

    /// Counts a message produced (for a trace's offered rate per interval).
    #[inline]
    pub fn count_one(&mut self) {
        if let Some(r) = &mut self.replay {
            r.window += 1;
        }
    }

    /// A trace: the messages counted since the last call (then 0); `None` otherwise.
    pub fn take_window(&mut self) -> Option<u64> {
        self.replay.as_mut().map(|r| std::mem::take(&mut r.window))
    }

    /// Why a trace stopped early (a bad line met during the run), once.
    pub fn take_error(&mut self) -> Option<InputError> {
        self.replay.as_mut().and_then(|r| r.error.take())
    }

    /// The first arrival time, if the initial rate is positive.
    pub fn first(&mut self) -> Option<Nanos> {
        self.next = self.draw(0);
        self.next
    }

    fn draw(&mut self, from: Nanos) -> Option<Nanos> {
        if let Some(r) = &mut self.replay {
            return r.next(&mut self.rng);
        }
        if self.rate <= 0.0 {
            return None;
        }
        Some(match self.kind {
            ArrivalKind::Poisson | ArrivalKind::Rates | ArrivalKind::Trace => {
                from.saturating_add(exp_gap(&mut self.rng, self.rate))
            }
            ArrivalKind::Constant => self
                .origin
                .saturating_add(secs_to_ns(self.k as f64 / self.rate)),
        })
    }

    /// The arrival after the one at `t`.
    #[inline]
    pub fn after(&mut self, t: Nanos) -> Option<Nanos> {
        self.k += 1;
        self.next = self.draw(t);
        self.next
    }

    /// Changes the rate at `now`; returns the new next arrival (the old one is void).
    pub fn set_rate(&mut self, now: Nanos, rate: f64) -> Option<Nanos> {
        let old = self.rate;
        self.rate = rate;
        self.generation = self.generation.wrapping_add(1);
        match self.kind {
            ArrivalKind::Poisson | ArrivalKind::Rates | ArrivalKind::Trace => {
                self.next = self.draw(now)
            }
            ArrivalKind::Constant => {
                // Keep the phase: the remaining fraction of the current gap carries over.
                let frac = match self.next {
                    Some(t) if old > 0.0 => {
                        (t.saturating_sub(now) as f64 * old / 1e9).clamp(0.0, 1.0)
                    }
                    _ => 1.0,
                };
                self.next = if rate > 0.0 {
                    let first = now.saturating_add(secs_to_ns(frac / rate));
                    self.origin = first.saturating_sub(secs_to_ns(1.0 / rate));
                    self.k = 1;
                    Some(first)
                } else {
                    None
                };
            }
        }
        self.next
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{stream, Stream};

    fn constant(rate: f64) -> Source {
        Source::new(&constant_producer(rate), stream(1, Stream::Arrivals(0)))
    }

    fn constant_producer(rate: f64) -> Producer {
        Producer {
            name: "p".into(),
            arrivals: ArrivalKind::Constant,
            rate,
            schedule: vec![],
            priority: 0,
            stream: 0,
            duplicate_rate: 0.0,
            duplicate_delay: 1_000_000_000,
            trace: None,
        }
    }

    fn replay(text: &str, speed: f64, scale: f64, offset: Nanos, looped: bool) -> Vec<Nanos> {
        use crate::input::MemInputs;
        use crate::scenario::data::Head;
        let t = Trace {
            file: "t.csv".into(),
            label: "t.csv".into(),
            inputs: std::sync::Arc::new(MemInputs::new().with("t.csv", text)),
            speed,
            scale,
            offset,
            looped,
            head: Head {
                count: 0,
                whole: false,
                first: 0,
                last: 0,
            },
        };
        let p = Producer {
            trace: Some(t.clone()),
            ..constant_producer(0.0)
        };
        let mut s = Source::replay(&p, &t, stream(1, Stream::Arrivals(0))).unwrap();
        let mut out = Vec::new();
        let mut next = s.first();
        while let Some(x) = next {
            out.push(x);
            if out.len() >= 100_000 {
                break;
            }
            next = s.after(x);
        }
        assert!(s.take_error().is_none());
        out
    }

    const TRACE: &str = "0.5\n1\n1\n1.75\n4\n";
    const S: Nanos = 1_000_000_000;

    #[test]
    fn a_trace_replays_exactly_and_speed_divides_every_gap() {
        let t = replay(TRACE, 1.0, 1.0, 0, false);
        assert_eq!(t, vec![S / 2, S, S, 1_750_000_000, 4 * S]);
        let fast = replay(TRACE, 2.0, 1.0, 0, false);
        let halved: Vec<Nanos> = t.iter().map(|x| x / 2).collect();
        assert_eq!(fast, halved);
        let later = replay(TRACE, 1.0, 1.0, 3 * S, false);
        assert_eq!(later, t.iter().map(|x| x + 3 * S).collect::<Vec<_>>());
    }

    #[test]
    fn a_looping_trace_starts_again_one_mean_gap_after_its_end() {
        let t = replay(TRACE, 1.0, 1.0, 0, true);
        // Span 3.5 s over 4 gaps: a mean gap of 0.875 s; the second pass starts at 4.875 s.
        assert_eq!(&t[..5], &[S / 2, S, S, 1_750_000_000, 4 * S]);
        assert_eq!(
            &t[5..10],
            &[
                4_875_000_000,
                5_375_000_000,
                5_375_000_000,
                6_125_000_000,
                8_375_000_000
            ]
        );
        assert_eq!(t.len(), 100_000);
    }

    #[test]
    fn scale_thins_or_superposes_inside_the_gaps() {
        // Ten timestamps a second, 0.1 s apart.
        let text: String = (0..20_000)
            .map(|i| format!("{}.{}\n", i / 10, i % 10))
            .collect();
        let one = replay(&text, 1.0, 1.0, 0, false);
        assert_eq!(one.len(), 20_000);
        let two = replay(&text, 1.0, 2.0, 0, false);
        assert_eq!(
            two.len(),
            40_000,
            "scale 2: exactly two messages per timestamp"
        );
        assert!(two.windows(2).all(|w| w[0] <= w[1]), "in time order");
        // Same shape: each second still holds 2 x its 10 timestamps.
        let per_second = |v: &[Nanos], k: u64| v.iter().filter(|&&x| x / S == k).count();
        for k in [0, 7, 1999] {
            assert_eq!(per_second(&two, k), 20, "second {k}");
        }
        // Not batches: each copy is at its own time inside the gap after its original.
        let distinct: std::collections::BTreeSet<_> = two.iter().collect();
        assert_eq!(distinct.len(), 40_000);
        // A batch (equal timestamps) stays a batch: its members' copies have a gap of 0,
        // but the last one's goes into the gap after the batch.
        let batch = replay("1\n1\n1\n2\n", 1.0, 2.0, 0, false);
        assert_eq!(&batch[..5], &[S; 5]);
        assert!(batch[5] > S && batch[5] < 2 * S, "{batch:?}");
        let half = replay(&text, 1.0, 0.5, 0, false).len() as f64;
        assert!((half - 10_000.0).abs() < 4.0 * 70.8, "thinned to {half}");
        let more = replay(&text, 1.0, 1.5, 0, false).len() as f64;
        assert!((more - 30_000.0).abs() < 4.0 * 70.8, "superposed to {more}");
    }

    #[test]
    fn a_bad_line_mid_trace_is_kept_as_the_error() {
        use crate::input::MemInputs;
        use crate::scenario::data::Head;
        let t = Trace {
            file: "t.csv".into(),
            label: "t.csv".into(),
            inputs: std::sync::Arc::new(MemInputs::new().with("t.csv", "1\n2\n1.5\n")),
            speed: 1.0,
            scale: 1.0,
            offset: 0,
            looped: false,
            head: Head {
                count: 0,
                whole: false,
                first: 0,
                last: 0,
            },
        };
        let p = constant_producer(0.0);
        let mut s = Source::replay(&p, &t, stream(1, Stream::Arrivals(0))).unwrap();
        let a = s.first().unwrap();
        assert_eq!(a, S);
        // The second was read ahead before the third turned out bad.
        assert_eq!(s.after(a), Some(2 * S));
        assert_eq!(s.after(2 * S), None);
        let e = s.take_error().unwrap();
        assert_eq!(e.line, Some(3));
    }

    #[test]
    fn constant_arrivals_are_evenly_spaced() {
        let mut s = constant(4.0);
        let mut t = s.first().unwrap();
        let mut times = vec![t];
        for _ in 0..3 {
            t = s.after(t).unwrap();
            times.push(t);
        }
        assert_eq!(
            times,
            vec![250_000_000, 500_000_000, 750_000_000, 1_000_000_000]
        );
    }

    #[test]
    fn rate_change_keeps_the_phase() {
        let mut s = constant(1.0);
        assert_eq!(s.first(), Some(1_000_000_000));
        // At 0.5 s half the gap remains; at 10/s that half is 50 ms.
        let next = s.set_rate(500_000_000, 10.0).unwrap();
        assert_eq!(next, 550_000_000);
        assert_eq!(s.after(next), Some(650_000_000));
        assert_eq!(s.set_rate(700_000_000, 0.0), None);
    }
}
