//! The consumer pool: which consumers are idle and what each busy one holds.

/// What a busy consumer holds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Slot {
    /// The message (slab id).
    pub msg: u32,
    /// Sync: the call being served.
    pub call: u32,
    /// Whether the running attempt succeeds.
    pub ok: bool,
    /// Sleeping out an inline backoff (`retry.in = "consumer"`).
    pub sleeping: bool,
}

/// `count` identical consumers. Idle ones are taken last-freed first, which is
/// deterministic and keeps no per-consumer statistics (they are identical).
pub struct Pool {
    slots: Vec<Slot>,
    idle: Vec<u32>,
}

impl Pool {
    /// `count` idle consumers.
    pub fn new(count: u32) -> Self {
        Pool {
            slots: vec![Slot::default(); count as usize],
            idle: (0..count).rev().collect(),
        }
    }

    /// Takes an idle consumer, if there is one.
    #[inline]
    pub fn take_idle(&mut self) -> Option<u32> {
        self.idle.pop()
    }

    /// True when some consumer is idle.
    #[inline]
    pub fn has_idle(&self) -> bool {
        !self.idle.is_empty()
    }

    /// Marks consumer `c` idle.
    #[inline]
    pub fn release(&mut self, c: u32) {
        self.idle.push(c);
    }

    /// Busy consumers.
    #[inline]
    pub fn busy(&self) -> usize {
        self.slots.len() - self.idle.len()
    }

    /// All consumers.
    pub fn count(&self) -> usize {
        self.slots.len()
    }

    /// What consumer `c` holds.
    #[inline]
    pub fn slot(&mut self, c: u32) -> &mut Slot {
        &mut self.slots[c as usize]
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
}
