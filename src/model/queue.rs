//! The waiting line: a FIFO of message ids with a capacity, and the oldest waiting age.
//!
//! Messages normally join in production order, so the head is the oldest; a retried or
//! redelivered message rejoins the tail with its original production time, which breaks
//! that order. The queue therefore keeps a monotone deque of production times (the
//! classic sliding-window minimum): push, pop and "oldest" are all amortised O(1).

use crate::time::Nanos;
use std::collections::VecDeque;

/// One waiting entry: a message (or, in sync mode, one call of a request).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// When the message was produced.
    pub produced: Nanos,
    /// Its slab id.
    pub id: u32,
    /// Sync: the call this entry belongs to.
    pub call: u32,
}

/// The waiting line: FIFO tiers served highest first (one tier without priorities), with
/// an optional capacity over all tiers. Within a tier order is FIFO; `oldest` is the
/// oldest entry of any tier (O(tiers)).
pub struct WaitQueue {
    tiers: Vec<Fifo>,
    len: usize,
    capacity: Option<u64>,
}

impl WaitQueue {
    /// An empty single-tier queue; `capacity` = `None` is unbounded.
    pub fn new(capacity: Option<u64>) -> Self {
        Self::with_tiers(capacity, 1)
    }

    /// An empty queue with `tiers` priority levels (0 lowest).
    pub fn with_tiers(capacity: Option<u64>, tiers: usize) -> Self {
        WaitQueue {
            tiers: (0..tiers.max(1)).map(|_| Fifo::new()).collect(),
            len: 0,
            capacity,
        }
    }

    /// Messages waiting.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing waits.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True when one more message may wait.
    #[inline]
    pub fn has_room(&self) -> bool {
        self.capacity.is_none_or(|c| (self.len as u64) < c)
    }

    /// Appends at the tail of `tier` (clamped to the top tier; the caller checks
    /// [`has_room`](Self::has_room)).
    #[inline]
    pub fn push(&mut self, e: Entry, tier: usize) {
        let top = self.tiers.len() - 1;
        self.tiers[tier.min(top)].push(e);
        self.len += 1;
    }

    /// The next entry to serve, without removing it.
    #[inline]
    pub fn front(&self) -> Option<&Entry> {
        self.tiers.iter().rev().find_map(|t| t.front())
    }

    /// Removes the next entry to serve: the head of the highest non-empty tier.
    #[inline]
    pub fn pop(&mut self) -> Option<Entry> {
        let e = self.tiers.iter_mut().rev().find_map(|t| t.pop())?;
        self.len -= 1;
        Some(e)
    }

    /// Removes the head of the lowest non-empty tier (what drop-oldest sheds).
    pub fn pop_lowest(&mut self) -> Option<Entry> {
        let e = self.tiers.iter_mut().find_map(|t| t.pop())?;
        self.len -= 1;
        Some(e)
    }

    /// Production time of the oldest waiting message, in any tier.
    #[inline]
    pub fn oldest(&self) -> Option<Nanos> {
        self.tiers.iter().filter_map(|t| t.oldest()).min()
    }
}

/// One FIFO tier, tracking its oldest entry.
struct Fifo {
    items: VecDeque<Entry>,
    /// (position, produced), produced strictly increasing from front to back.
    mins: VecDeque<(u64, Nanos)>,
    head_pos: u64,
}

impl Fifo {
    fn new() -> Self {
        Fifo {
            items: VecDeque::new(),
            mins: VecDeque::new(),
            head_pos: 0,
        }
    }

    /// Appends at the tail (the caller checks [`has_room`](Self::has_room)).
    #[inline]
    fn push(&mut self, e: Entry) {
        let pos = self.head_pos + self.items.len() as u64;
        while self.mins.back().is_some_and(|&(_, p)| p >= e.produced) {
            self.mins.pop_back();
        }
        self.mins.push_back((pos, e.produced));
        self.items.push_back(e);
    }

    /// The head, without removing it.
    #[inline]
    fn front(&self) -> Option<&Entry> {
        self.items.front()
    }

    /// Removes the head.
    #[inline]
    fn pop(&mut self) -> Option<Entry> {
        let e = self.items.pop_front()?;
        if self
            .mins
            .front()
            .is_some_and(|&(pos, _)| pos == self.head_pos)
        {
            self.mins.pop_front();
        }
        self.head_pos += 1;
        Some(e)
    }

    /// Production time of the oldest waiting message.
    #[inline]
    fn oldest(&self) -> Option<Nanos> {
        self.mins.front().map(|&(_, p)| p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(produced: Nanos, id: u32) -> Entry {
        Entry {
            produced,
            id,
            call: 0,
        }
    }

    #[test]
    fn fifo_with_capacity() {
        let mut q = WaitQueue::new(Some(2));
        assert!(q.has_room());
        q.push(e(1, 1), 0);
        q.push(e(2, 2), 0);
        assert!(!q.has_room());
        assert_eq!(q.pop().map(|x| x.id), Some(1));
        assert_eq!(q.pop().map(|x| x.id), Some(2));
        assert_eq!(q.pop(), None);
        assert!(!WaitQueue::new(Some(0)).has_room());
    }

    #[test]
    fn tiers_are_served_highest_first_and_shed_lowest_first() {
        let mut q = WaitQueue::with_tiers(Some(4), 3);
        q.push(e(1, 1), 0);
        q.push(e(2, 2), 2);
        q.push(e(3, 3), 1);
        q.push(e(4, 4), 2);
        assert!(!q.has_room(), "capacity counts every tier");
        assert_eq!(q.oldest(), Some(1));
        assert_eq!(q.front().map(|x| x.id), Some(2));
        assert_eq!(q.pop_lowest().map(|x| x.id), Some(1));
        let order: Vec<u32> = std::iter::from_fn(|| q.pop().map(|x| x.id)).collect();
        assert_eq!(order, vec![2, 4, 3]);
        assert!(q.is_empty());
    }

    #[test]
    fn oldest_is_tracked_when_retries_rejoin_the_tail() {
        let mut q = WaitQueue::new(None);
        q.push(e(10, 1), 0);
        q.push(e(20, 2), 0);
        q.push(e(5, 3), 0); // a retry produced long ago
        q.push(e(30, 4), 0);
        assert_eq!(q.oldest(), Some(5));
        q.pop();
        q.pop();
        assert_eq!(q.oldest(), Some(5));
        q.pop();
        assert_eq!(q.oldest(), Some(30));
        q.pop();
        assert_eq!(q.oldest(), None);
    }
}
