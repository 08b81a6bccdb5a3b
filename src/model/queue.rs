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

/// A FIFO queue with optional capacity.
pub struct WaitQueue {
    items: VecDeque<Entry>,
    capacity: Option<u64>,
    /// (position, produced), produced strictly increasing from front to back.
    mins: VecDeque<(u64, Nanos)>,
    head_pos: u64,
}

impl WaitQueue {
    /// An empty queue; `capacity` = `None` is unbounded.
    pub fn new(capacity: Option<u64>) -> Self {
        WaitQueue {
            items: VecDeque::new(),
            capacity,
            mins: VecDeque::new(),
            head_pos: 0,
        }
    }

    /// Messages waiting.
    #[inline]
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when nothing waits.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// True when one more message may wait.
    #[inline]
    pub fn has_room(&self) -> bool {
        self.capacity.is_none_or(|c| (self.items.len() as u64) < c)
    }

    /// Appends at the tail (the caller checks [`has_room`](Self::has_room)).
    #[inline]
    pub fn push(&mut self, e: Entry) {
        let pos = self.head_pos + self.items.len() as u64;
        while self.mins.back().is_some_and(|&(_, p)| p >= e.produced) {
            self.mins.pop_back();
        }
        self.mins.push_back((pos, e.produced));
        self.items.push_back(e);
    }

    /// The head, without removing it.
    #[inline]
    pub fn front(&self) -> Option<&Entry> {
        self.items.front()
    }

    /// Removes the head.
    #[inline]
    pub fn pop(&mut self) -> Option<Entry> {
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
    pub fn oldest(&self) -> Option<Nanos> {
        self.mins.front().map(|&(_, p)| p)
    }

    /// Every waiting entry, head first.
    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.items.iter()
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
        q.push(e(1, 1));
        q.push(e(2, 2));
        assert!(!q.has_room());
        assert_eq!(q.pop().map(|x| x.id), Some(1));
        assert_eq!(q.pop().map(|x| x.id), Some(2));
        assert_eq!(q.pop(), None);
        assert!(!WaitQueue::new(Some(0)).has_room());
    }

    #[test]
    fn oldest_is_tracked_when_retries_rejoin_the_tail() {
        let mut q = WaitQueue::new(None);
        q.push(e(10, 1));
        q.push(e(20, 2));
        q.push(e(5, 3)); // a retry produced long ago
        q.push(e(30, 4));
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
