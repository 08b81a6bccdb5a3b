//! The consumer pool: which consumers are idle and what each busy one holds.

use super::{ConsumerId, MessageId};

/// What a busy consumer holds.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Slot {
    /// The message.
    pub(crate) msg: MessageId,
    /// Sync: the call being served.
    pub(crate) call: u32,
    /// Whether the running attempt succeeds.
    pub(crate) ok: bool,
    /// Sleeping out an inline backoff (`retry.in = "consumer"`).
    pub(crate) sleeping: bool,
}

/// `count` identical consumers. Idle ones are taken last-freed first, which is
/// deterministic and keeps no per-consumer statistics (they are identical).
pub(crate) struct Pool {
    slots: Vec<Slot>,
    idle: Vec<ConsumerId>,
    /// Slots of consumers removed by scaling in, for reuse.
    retired: Vec<ConsumerId>,
    /// Busy consumers to retire when they finish (scaling in).
    retire_when_done: u32,
}

impl Pool {
    /// `count` idle consumers.
    pub(crate) fn new(count: u32) -> Self {
        Pool {
            slots: vec![Slot::default(); count as usize],
            idle: (0..count).rev().map(ConsumerId).collect(),
            retired: Vec::new(),
            retire_when_done: 0,
        }
    }

    /// Takes an idle consumer, if there is one.
    #[inline]
    pub(crate) fn take_idle(&mut self) -> Option<ConsumerId> {
        self.idle.pop()
    }

    /// Takes the most recently freed idle consumer for which `f` holds, if any.
    pub(crate) fn take_idle_where(&mut self, f: impl Fn(ConsumerId) -> bool) -> Option<ConsumerId> {
        let i = self.idle.iter().rposition(|&c| f(c))?;
        Some(self.idle.remove(i))
    }

    /// The consumers that exist, by slot (busy or idle; a busy one due to retire included
    /// until it does).
    pub(crate) fn members(&self) -> Vec<ConsumerId> {
        (0..self.slots.len())
            .map(ConsumerId::from_index)
            .filter(|c| !self.retired.contains(c))
            .collect()
    }

    /// True when some consumer is idle.
    #[inline]
    pub(crate) fn has_idle(&self) -> bool {
        !self.idle.is_empty()
    }

    /// Marks consumer `c` idle.
    #[inline]
    pub(crate) fn release(&mut self, c: ConsumerId) {
        self.idle.push(c);
    }

    /// Takes consumer `c` if it is idle (it polls for work itself); false if it is busy or
    /// gone.
    pub(crate) fn take_if_idle(&mut self, c: ConsumerId) -> bool {
        match self.idle.iter().rposition(|&x| x == c) {
            Some(i) => {
                self.idle.remove(i);
                true
            }
            None => false,
        }
    }

    /// The idle consumers, most recently freed last.
    pub(crate) fn idle(&self) -> &[ConsumerId] {
        &self.idle
    }

    /// Busy consumers.
    #[inline]
    pub(crate) fn busy(&self) -> usize {
        self.slots.len() - self.retired.len() - self.idle.len()
    }

    /// Consumers in service (busy or idle), not counting those due to retire.
    pub(crate) fn count(&self) -> usize {
        self.slots.len() - self.retired.len() - self.retire_when_done as usize
    }

    /// Consumers that exist (busy or idle), including busy ones due to retire.
    pub(crate) fn present(&self) -> usize {
        self.slots.len() - self.retired.len()
    }

    /// Adds `n` idle consumers (scaling out); a pending retirement is cancelled first.
    pub(crate) fn add(&mut self, n: u32) {
        let keep = n.min(self.retire_when_done);
        self.retire_when_done -= keep;
        for _ in keep..n {
            let c = self.retired.pop().unwrap_or_else(|| {
                self.slots.push(Slot::default());
                ConsumerId::from_index(self.slots.len() - 1)
            });
            self.idle.push(c);
        }
    }

    /// Removes `n` consumers (at most all of them; scaling in): idle ones now, busy ones
    /// when they finish.
    pub(crate) fn remove(&mut self, n: u32) {
        for _ in 0..(n as usize).min(self.count()) {
            match self.idle.pop() {
                Some(c) => self.retired.push(c),
                None => self.retire_when_done += 1,
            }
        }
    }

    /// Consumer `c` finished: true if it retires now instead of taking more work.
    #[inline]
    pub(crate) fn retire_if_due(&mut self, c: ConsumerId) -> bool {
        if self.retire_when_done > 0 {
            self.retire_when_done -= 1;
            self.retired.push(c);
            true
        } else {
            false
        }
    }

    /// What consumer `c` holds.
    #[inline]
    pub(crate) fn slot(&mut self, c: ConsumerId) -> &mut Slot {
        &mut self.slots[c.index()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_and_release() {
        let mut p = Pool::new(2);
        let a = p.take_idle().unwrap();
        let b = p.take_idle().unwrap();
        assert_ne!(a, b);
        assert!(!p.has_idle());
        assert_eq!(p.busy(), 2);
        p.release(a);
        assert_eq!(p.take_idle(), Some(a));
    }

    #[test]
    fn scaling_in_retires_busy_consumers_when_they_finish() {
        let mut p = Pool::new(2);
        let (a, b) = (p.take_idle().unwrap(), p.take_idle().unwrap());
        p.remove(1);
        assert_eq!(p.count(), 1, "counted out at once");
        assert!(p.retire_if_due(a), "the first to finish retires");
        assert!(!p.retire_if_due(b));
        p.release(b);
        assert_eq!((p.count(), p.busy()), (1, 0));
        p.add(2);
        assert_eq!((p.count(), p.busy()), (3, 0));
        assert_eq!(p.slots.len(), 3, "the retired slot was reused");
        p.remove(3);
        assert_eq!((p.count(), p.busy()), (0, 0));
        p.add(1);
        p.remove(5);
        assert_eq!(p.count(), 0);
    }
}
