//! The event queue: pending events in (time, sequence number) order.
//!
//! Determinism rule, enforced here: events at the same nanosecond run in the order they
//! were scheduled (each push takes the next sequence number). Keys are unique, so the
//! order popped does not depend on how the queue is stored.
//!
//! Most runs have a handful of pending events (one per producer, one per busy consumer,
//! the next sample), so they are kept in a vector sorted latest first: a pop takes the
//! last element, a push one insertion-sort step from the earliest end. When many are
//! pending (a message waiting out a backoff or a visibility timeout each has one, by the
//! thousand in an outage) they move to a binary heap, O(log n) each way, and back to the
//! vector once few are left; the thresholds are far apart so a run near one does not
//! switch back and forth.
//!
//! One event recurs at almost every step: the first producer's next arrival. It has a
//! slot of its own beside the queue ([`EventQueue::push_slot`]), so most steps insert one
//! event instead of two. It takes its sequence number like any other, and a pop compares
//! its key with the queue's earliest, so the order is the same as with one queue; a second
//! event pushed to the slot moves the first into the queue, key unchanged.

use crate::time::Nanos;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// A pending event. `key` is `time << 64 | seq`: one integer comparison orders events by
/// time, then by the order they were scheduled.
#[derive(Clone, Copy)]
struct Entry<E> {
    key: u128,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Entry<E> {
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap and we want the earliest (time, seq) first.
        other.key.cmp(&self.key)
    }
}

/// More pending events than this: the binary heap.
const TO_HEAP: usize = 48;
/// Fewer than this in the heap: back to the sorted vector.
const TO_SORTED: usize = 12;

/// Pending events of type `E`.
pub(crate) struct EventQueue<E> {
    /// The slot's event, see [`EventQueue::push_slot`].
    slot: Option<Entry<E>>,
    /// Sorted by key, latest first (the next event is the last), while `heap` is unused.
    sorted: Vec<Entry<E>>,
    heap: BinaryHeap<Entry<E>>,
    in_heap: bool,
    seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue {
            slot: None,
            sorted: Vec::with_capacity(TO_HEAP + 1),
            heap: BinaryHeap::new(),
            in_heap: false,
            seq: 0,
        }
    }
}

impl<E: Copy> EventQueue<E> {
    /// Schedules `event` at `time`.
    #[inline]
    pub(crate) fn push(&mut self, time: Nanos, event: E) {
        let e = self.entry(time, event);
        self.insert(e);
    }

    /// Schedules `event` at `time` in the slot beside the queue, for the event that
    /// recurs at almost every step. Popped in the same order as [`EventQueue::push`]
    /// would give; an event already in the slot moves into the queue.
    #[inline]
    pub(crate) fn push_slot(&mut self, time: Nanos, event: E) {
        let e = self.entry(time, event);
        if let Some(old) = self.slot.replace(e) {
            self.insert(old);
        }
    }

    #[inline]
    fn entry(&mut self, time: Nanos, event: E) -> Entry<E> {
        self.seq += 1;
        Entry {
            key: (u128::from(time) << 64) | u128::from(self.seq),
            event,
        }
    }

    #[inline]
    fn insert(&mut self, e: Entry<E>) {
        if self.in_heap {
            self.heap.push(e);
            return;
        }
        // From the end (the earliest), where a new event usually belongs: it is
        // scheduled a service time or an inter-arrival gap ahead, before the next sample
        // and most timers. One insertion-sort step: each earlier entry moves up by one,
        // then `e` goes in the gap.
        let v = &mut self.sorted;
        v.push(e);
        let mut i = v.len() - 1;
        while i > 0 && v[i - 1].key < e.key {
            v[i] = v[i - 1];
            i -= 1;
        }
        v[i] = e;
        if v.len() > TO_HEAP {
            self.use_heap();
        }
    }

    /// The earliest event, if any.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<(Nanos, E)> {
        let queued = if self.in_heap {
            self.heap.peek()
        } else {
            self.sorted.last()
        };
        let from_slot = match (&self.slot, queued) {
            (Some(s), Some(q)) => s.key < q.key,
            (Some(_), None) => true,
            (None, _) => false,
        };
        let e = if from_slot {
            self.slot.take()
        } else if self.in_heap {
            let e = self.heap.pop();
            if self.heap.len() < TO_SORTED {
                self.use_sorted();
            }
            e
        } else {
            self.sorted.pop()
        }?;
        Some(((e.key >> 64) as Nanos, e.event))
    }

    #[cold]
    fn use_heap(&mut self) {
        self.heap.extend(self.sorted.drain(..));
        self.in_heap = true;
    }

    #[cold]
    fn use_sorted(&mut self) {
        self.sorted.extend(self.heap.drain());
        self.sorted
            .sort_unstable_by_key(|e| std::cmp::Reverse(e.key));
        self.in_heap = false;
    }

    /// Number of pending events.
    #[cfg(test)]
    fn len(&self) -> usize {
        usize::from(self.slot.is_some()) + self.sorted.len() + self.heap.len()
    }

    /// True when nothing is pending.
    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};

    #[test]
    fn earliest_first_and_ties_in_schedule_order() {
        let mut q = EventQueue::default();
        q.push(5, 'a');
        q.push(3, 'b');
        q.push(5, 'c');
        q.push(3, 'd');
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec!['b', 'd', 'a', 'c']);
    }

    #[test]
    fn many_pending_events_pop_in_order_across_both_layouts() {
        // Up to thousands pending (the heap), down to a few (the vector), and back:
        // always the earliest (time, seq) first, ties in schedule order.
        let mut q = EventQueue::default();
        let mut rng = crate::rng::Rng::seed_from_u64(3);
        let mut next = |m: u64| rng.random_range(0..m);
        let mut now = 0;
        let mut pushed = 0u64;
        let mut last = (0u64, 0u64);
        for round in 0..6 {
            let target = if round % 2 == 0 { 3000 } else { 3 };
            while q.len() != target {
                if q.len() < target {
                    pushed += 1;
                    q.push(now + next(50), pushed);
                } else {
                    let (t, id) = q.pop().unwrap();
                    assert!((t, id) > last, "{:?} after {last:?}", (t, id));
                    // Same time: scheduled later, so a larger id.
                    last = (t, id);
                    now = t;
                }
            }
        }
        while let Some((t, id)) = q.pop() {
            assert!((t, id) > last);
            last = (t, id);
        }
        assert!(q.is_empty());
    }

    #[test]
    fn the_slot_keeps_the_order_of_one_queue() {
        // Every third event goes to the slot (a displaced one moves into the queue): the
        // order popped is (time, order scheduled), as with plain pushes, in both layouts.
        let mut rng = crate::rng::Rng::seed_from_u64(11);
        let mut next = |m: u64| rng.random_range(0..m);
        for pending in [3, 200] {
            let (mut q, mut plain) = (EventQueue::default(), EventQueue::default());
            let (mut now, mut id) = (0u64, 0u64);
            let (mut got, mut want) = (Vec::new(), Vec::new());
            for step in 0..5000 {
                while q.len() < pending {
                    id += 1;
                    let t = now + next(20);
                    if id % 3 == 0 {
                        q.push_slot(t, id);
                    } else {
                        q.push(t, id);
                    }
                    plain.push(t, id);
                }
                let (t, e) = q.pop().unwrap();
                got.push((t, e));
                want.push(plain.pop().unwrap());
                now = t;
                if step % 7 == 0 {
                    // Sometimes the queue runs dry but for the slot.
                    while q.len() > 1 {
                        got.push(q.pop().unwrap());
                        want.push(plain.pop().unwrap());
                    }
                }
            }
            assert_eq!(got, want);
        }
    }
}
