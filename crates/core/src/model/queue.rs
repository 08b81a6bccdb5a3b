//! The waiting line: a FIFO of message ids with a capacity, and the oldest waiting age.
//!
//! Messages normally join in production order, so the head is the oldest; a retried or
//! redelivered message rejoins the tail with its original production time, which breaks
//! that order. The queue therefore keeps a monotone deque of production times (the
//! classic sliding-window minimum): push, pop and "oldest" are all amortised O(1).

use super::{ConsumerId, MessageId};
use crate::time::Nanos;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// One waiting entry: a message (or, in sync mode, one call of a request).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry {
    /// When the message was produced.
    pub(crate) produced: Nanos,
    /// Its slab id.
    pub(crate) id: MessageId,
    /// Sync: the call this entry belongs to.
    pub(crate) call: u32,
}

/// The waiting line: FIFO tiers served highest first (one tier without priorities), with
/// an optional capacity over all tiers. Within a tier order is FIFO; `oldest` is the
/// oldest entry of any tier (O(tiers)).
pub(crate) struct WaitQueue {
    tiers: Vec<Fifo>,
    len: usize,
    capacity: Option<u64>,
    /// Ordered lanes (message groups, partitions): `Some` when the queue serves each lane
    /// in order, one message at a time.
    lanes: Option<Lanes>,
}

/// Which ordered lanes may give out their head, and to whom.
struct Lanes {
    /// A message of the lane is being processed (or waits to be received again).
    locked: Vec<bool>,
    /// The consumer each lane belongs to (Kafka's assignment), or `None` when any consumer
    /// may serve any lane (SQS FIFO groups).
    owner: Option<Vec<u32>>,
    /// Per owner (one when lanes are shared): a min-heap of (head's production time, lane)
    /// of the unlocked, non-empty lanes; an owner serves its lane with the oldest head
    /// first. Entries are deleted lazily: one is live only while `key[lane]` equals it.
    ready: Vec<BinaryHeap<Reverse<(Nanos, u32)>>>,
    /// Each lane's live ready entry, if it is ready.
    key: Vec<Option<Nanos>>,
    /// Live entries per set.
    live: Vec<usize>,
    /// Lanes that are ready.
    ready_count: usize,
}

impl Lanes {
    fn set_of(&self, lane: usize) -> usize {
        self.owner.as_ref().map_or(0, |o| o[lane] as usize)
    }

    fn insert(&mut self, produced: Nanos, lane: usize) {
        let s = self.set_of(lane);
        if self.key[lane].is_none() {
            self.ready_count += 1;
            self.live[s] += 1;
        }
        self.key[lane] = Some(produced);
        // Lanes are numbered below a u32 count (`WaitQueue::ordered`).
        let lane32 = u32::try_from(lane).expect("fewer lanes than u32::MAX");
        self.ready[s].push(Reverse((produced, lane32)));
    }

    fn remove(&mut self, produced: Nanos, lane: usize) {
        if self.key[lane] == Some(produced) {
            self.key[lane] = None;
            self.ready_count -= 1;
            let s = self.set_of(lane);
            self.live[s] -= 1;
        }
    }

    /// The live entry with the oldest head in set `s` (dropping stale ones on the way).
    fn first(&mut self, s: usize) -> Option<(Nanos, u32)> {
        while let Some(&Reverse((p, lane))) = self.ready[s].peek() {
            if self.key[lane as usize] == Some(p) {
                return Some((p, lane));
            }
            self.ready[s].pop();
        }
        None
    }

    /// Takes the live entry with the oldest head in set `s`.
    fn pop_first(&mut self, s: usize) -> Option<(Nanos, u32)> {
        let (p, lane) = self.first(s)?;
        self.ready[s].pop();
        self.key[lane as usize] = None;
        self.ready_count -= 1;
        self.live[s] -= 1;
        Some((p, lane))
    }

    /// The set consumer `c` serves from.
    fn set_for(&self, c: ConsumerId) -> Option<usize> {
        match &self.owner {
            None => Some(0),
            Some(_) => (c.index() < self.ready.len()).then_some(c.index()),
        }
    }
}

impl WaitQueue {
    /// An empty single-tier queue; `capacity` = `None` is unbounded.
    #[cfg(test)]
    pub(crate) fn new(capacity: Option<u64>) -> Self {
        Self::with_tiers(capacity, 1)
    }

    /// An empty queue with `tiers` priority levels (0 lowest).
    pub(crate) fn with_tiers(capacity: Option<u64>, tiers: usize) -> Self {
        WaitQueue {
            tiers: (0..tiers.max(1)).map(|_| Fifo::new()).collect(),
            len: 0,
            capacity,
            lanes: None,
        }
    }

    /// An unbounded queue of `lanes` ordered lanes (SQS FIFO message groups, Kafka
    /// partitions): each lane is served in order and gives out one message at a time, until
    /// [`unlock`](Self::unlock); among the lanes that may, the oldest head goes first.
    pub(crate) fn ordered(lanes: u32) -> Self {
        let n = lanes.max(1) as usize;
        WaitQueue {
            tiers: (0..n).map(|_| Fifo::new()).collect(),
            len: 0,
            capacity: None,
            lanes: Some(Lanes {
                locked: vec![false; n],
                owner: None,
                ready: vec![BinaryHeap::new()],
                key: vec![None; n],
                live: vec![0],
                ready_count: 0,
            }),
        }
    }

    /// Ordered: gives lane `i` to consumer `members[i mod members.len()]` (round-robin
    /// assignment, as a Kafka group does); from now on a consumer serves only its lanes.
    /// Called again when the members change (a rebalance).
    pub(crate) fn assign(&mut self, members: &[ConsumerId]) {
        let Some(l) = &mut self.lanes else { return };
        if members.is_empty() {
            return;
        }
        let owner: Vec<u32> = (0..l.locked.len())
            .map(|i| members[i % members.len()].0)
            .collect();
        let sets = members.iter().max().map_or(1, |&m| m.index() + 1);
        l.owner = Some(owner);
        l.ready = (0..sets).map(|_| BinaryHeap::new()).collect();
        l.key.iter_mut().for_each(|k| *k = None);
        l.live = vec![0; sets];
        l.ready_count = 0;
        for (lane, t) in self.tiers.iter().enumerate() {
            if let (false, Some(h)) = (l.locked[lane], t.front()) {
                l.insert(h.produced, lane);
            }
        }
    }

    /// True when consumer `c` may be given a message now (ordered: one of its lanes is
    /// unlocked and non-empty).
    #[inline(always)]
    pub(crate) fn has_ready_for(&self, c: ConsumerId) -> bool {
        match &self.lanes {
            None => self.len > 0,
            Some(l) => l.set_for(c).is_some_and(|s| l.live[s] > 0),
        }
    }

    /// The next entry consumer `c` would serve, without removing it.
    #[inline(always)]
    pub(crate) fn front_for(&mut self, c: ConsumerId) -> Option<&Entry> {
        if self.lanes.is_none() {
            return self.front();
        }
        self.front_for_ordered(c)
    }

    fn front_for_ordered(&mut self, c: ConsumerId) -> Option<&Entry> {
        let l = self.lanes.as_mut()?;
        let s = l.set_for(c)?;
        let (_, lane) = l.first(s)?;
        self.tiers[lane as usize].front()
    }

    /// Removes the next entry consumer `c` serves (ordered: locks its lane).
    #[inline(always)]
    pub(crate) fn pop_for(&mut self, c: ConsumerId) -> Option<Entry> {
        if self.lanes.is_none() {
            return self.pop();
        }
        self.pop_for_ordered(c)
    }

    fn pop_for_ordered(&mut self, c: ConsumerId) -> Option<Entry> {
        let l = self.lanes.as_mut()?;
        let s = l.set_for(c)?;
        let (_, lane) = l.pop_first(s)?;
        l.locked[lane as usize] = true;
        let e = self.tiers[lane as usize].pop()?;
        self.len -= 1;
        Some(e)
    }

    /// True for an ordered queue.
    #[inline]
    pub(crate) fn is_ordered(&self) -> bool {
        self.lanes.is_some()
    }

    /// True when a message can be given out now (ordered: a lane is unlocked and non-empty).
    #[inline]
    pub(crate) fn has_ready(&self) -> bool {
        match &self.lanes {
            None => self.len > 0,
            Some(l) => l.ready_count > 0,
        }
    }

    /// Ordered: lets `lane` give out its next message.
    pub(crate) fn unlock(&mut self, lane: usize) {
        if let Some(l) = &mut self.lanes {
            l.locked[lane] = false;
            if let Some(h) = self.tiers[lane].front() {
                l.insert(h.produced, lane);
            }
        }
    }

    /// Puts `e` back at the head of `lane` (a requeue, or a message received again).
    pub(crate) fn push_front(&mut self, e: Entry, lane: usize) {
        let lane = lane.min(self.tiers.len() - 1);
        if let Some(l) = &mut self.lanes {
            if !l.locked[lane] {
                if let Some(h) = self.tiers[lane].front() {
                    l.remove(h.produced, lane);
                }
                l.insert(e.produced, lane);
            }
        }
        self.tiers[lane].push_front(e);
        self.len += 1;
    }

    /// Waiting messages of each lane (Kafka: partition lag, not counting the one in process).
    pub(crate) fn lane_lengths(&self) -> impl Iterator<Item = usize> + '_ {
        self.tiers.iter().map(|t| t.items.len())
    }

    /// Messages waiting.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// True when nothing waits.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True when one more message may wait.
    #[inline]
    pub(crate) fn has_room(&self) -> bool {
        self.capacity.is_none_or(|c| (self.len as u64) < c)
    }

    /// Appends at the tail of `tier` (clamped to the top tier; the caller checks
    /// [`has_room`](Self::has_room)). Ordered: returns whether its lane became ready (it
    /// was empty and unlocked), the only way a push lets a consumer take something new.
    #[inline]
    pub(crate) fn push(&mut self, e: Entry, tier: usize) -> bool {
        let top = self.tiers.len() - 1;
        let lane = tier.min(top);
        let mut ready = false;
        if let Some(l) = &mut self.lanes {
            if !l.locked[lane] && self.tiers[lane].front().is_none() {
                l.insert(e.produced, lane);
                ready = true;
            }
        }
        self.tiers[lane].push(e);
        self.len += 1;
        ready
    }

    /// The next entry to serve, without removing it.
    #[inline]
    pub(crate) fn front(&self) -> Option<&Entry> {
        if self.lanes.is_some() {
            return self.front_ordered();
        }
        self.tiers.iter().rev().find_map(|t| t.front())
    }

    /// Ordered: the oldest ready head of any owner.
    fn front_ordered(&self) -> Option<&Entry> {
        let l = self.lanes.as_ref()?;
        let (_, lane) = l
            .ready
            .iter()
            .flat_map(|h| h.iter())
            .map(|&Reverse(x)| x)
            .filter(|&(p, lane)| l.key[lane as usize] == Some(p))
            .min()?;
        self.tiers[lane as usize].front()
    }

    /// Removes the next entry to serve: the head of the highest non-empty tier (ordered:
    /// the oldest head of an unlocked lane, which locks that lane).
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<Entry> {
        if self.lanes.is_some() {
            return self.pop_ordered();
        }
        let e = self.tiers.iter_mut().rev().find_map(|t| t.pop())?;
        self.len -= 1;
        Some(e)
    }

    /// Ordered: the oldest ready head of any owner (locks its lane).
    fn pop_ordered(&mut self) -> Option<Entry> {
        let l = self.lanes.as_mut()?;
        let sets = l.ready.len();
        let s = (0..sets)
            .filter_map(|s| l.first(s).map(|h| (h, s)))
            .min()
            .map(|(_, s)| s)?;
        let (_, lane) = l.pop_first(s)?;
        l.locked[lane as usize] = true;
        let e = self.tiers[lane as usize].pop()?;
        self.len -= 1;
        Some(e)
    }

    /// Removes the head of the lowest non-empty tier (what drop-oldest sheds; ordered
    /// queues are unbounded and never shed).
    pub(crate) fn pop_lowest(&mut self) -> Option<Entry> {
        if self.lanes.is_some() {
            return None;
        }
        let e = self.tiers.iter_mut().find_map(|t| t.pop())?;
        self.len -= 1;
        Some(e)
    }

    /// Production time of the oldest waiting message, in any tier.
    #[inline]
    pub(crate) fn oldest(&self) -> Option<Nanos> {
        self.tiers.iter().filter_map(|t| t.oldest()).min()
    }
}

/// One FIFO tier, tracking its oldest entry.
///
/// While entries sit in production order (the common case: new messages at the tail, a
/// requeued head that is the oldest), the head is the oldest and nothing else is kept.
/// The first entry out of order (a retry, older than the tail, rejoining at the tail; a
/// newer message requeued at the head) builds a minimum deque, kept until the tier empties.
struct Fifo {
    items: VecDeque<Entry>,
    /// Entries in production order, front to back: `out_of_order` is unused.
    sorted: bool,
    /// The minimum deque, only while `!sorted`; boxed so that a tier (Kafka partitions, SQS
    /// FIFO groups: thousands of them) stays small, and kept once made (no allocation when a
    /// tier leaves production order again).
    out_of_order: Option<Box<Mins>>,
}

/// A tier out of production order: its entries' positions and a monotone deque of their
/// production times.
#[derive(Default)]
struct Mins {
    /// (position, produced), produced strictly increasing from front to back.
    mins: VecDeque<(u64, Nanos)>,
    /// The head's position (positions count from when the tier left production order).
    head_pos: u64,
}

impl Mins {
    /// Appends `e`, at position `pos`, at the back.
    fn push_back(&mut self, pos: u64, produced: Nanos) {
        while self.mins.back().is_some_and(|&(_, p)| p >= produced) {
            self.mins.pop_back();
        }
        self.mins.push_back((pos, produced));
    }

    /// Rebuilds the deque for `items` (the head at `head_pos`).
    fn build(&mut self, items: &VecDeque<Entry>) {
        self.mins.clear();
        for (i, x) in items.iter().enumerate() {
            self.push_back(self.head_pos.wrapping_add(i as u64), x.produced);
        }
    }
}

impl Fifo {
    fn new() -> Self {
        Fifo {
            items: VecDeque::new(),
            sorted: true,
            out_of_order: None,
        }
    }

    /// Appends at the tail (the caller checks [`has_room`](Self::has_room)).
    #[inline]
    fn push(&mut self, e: Entry) {
        if self.sorted {
            if self.items.back().is_none_or(|b| b.produced <= e.produced) {
                self.items.push_back(e);
                return;
            }
            self.unsort();
        }
        let m = self.out_of_order.get_or_insert_with(Box::default);
        m.push_back(m.head_pos.wrapping_add(self.items.len() as u64), e.produced);
        self.items.push_back(e);
    }

    /// Puts `e` at the head. The minimum deque stays exact: `e` becomes its front if it is
    /// the oldest; otherwise (rare: a newer message requeued ahead of older ones) it is
    /// rebuilt.
    fn push_front(&mut self, e: Entry) {
        if self.sorted {
            let in_order = self.items.front().is_none_or(|f| e.produced <= f.produced);
            self.items.push_front(e);
            if !in_order {
                self.unsort();
            }
            return;
        }
        self.items.push_front(e);
        let m = self.out_of_order.get_or_insert_with(Box::default);
        m.head_pos = m.head_pos.wrapping_sub(1);
        if m.mins.front().is_none_or(|&(_, p)| e.produced <= p) {
            m.mins.push_front((m.head_pos, e.produced));
        } else {
            m.build(&self.items);
        }
    }

    /// Leaves production order: builds the minimum deque of what is waiting.
    #[cold]
    fn unsort(&mut self) {
        self.sorted = false;
        let m = self.out_of_order.get_or_insert_with(Box::default);
        m.head_pos = 0;
        m.build(&self.items);
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
        if !self.sorted {
            if let Some(m) = &mut self.out_of_order {
                if m.mins.front().is_some_and(|&(pos, _)| pos == m.head_pos) {
                    m.mins.pop_front();
                }
                m.head_pos = m.head_pos.wrapping_add(1);
                if self.items.is_empty() {
                    self.sorted = true;
                    m.mins.clear();
                }
            }
        }
        Some(e)
    }

    /// Production time of the oldest waiting message.
    #[inline]
    fn oldest(&self) -> Option<Nanos> {
        match &self.out_of_order {
            Some(m) if !self.sorted => m.mins.front().map(|&(_, p)| p),
            _ => self.items.front().map(|e| e.produced),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};

    fn e(produced: Nanos, id: u32) -> Entry {
        Entry {
            produced,
            id: MessageId(id),
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
        assert_eq!(q.pop().map(|x| x.id.0), Some(1));
        assert_eq!(q.pop().map(|x| x.id.0), Some(2));
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
        assert_eq!(q.front().map(|x| x.id.0), Some(2));
        assert_eq!(q.pop_lowest().map(|x| x.id.0), Some(1));
        let order: Vec<u32> = std::iter::from_fn(|| q.pop().map(|x| x.id.0)).collect();
        assert_eq!(order, vec![2, 4, 3]);
        assert!(q.is_empty());
    }

    #[test]
    fn ordered_lanes_give_out_one_message_each_in_order() {
        let mut q = WaitQueue::ordered(3);
        q.push(e(1, 1), 0);
        q.push(e(2, 2), 0);
        q.push(e(3, 3), 1);
        q.push(e(4, 4), 2);
        // Oldest head first, and a lane is locked while its message is out.
        assert_eq!(q.pop().map(|x| x.id.0), Some(1));
        assert_eq!(q.pop().map(|x| x.id.0), Some(3));
        assert_eq!(q.pop().map(|x| x.id.0), Some(4));
        assert!(!q.has_ready(), "lane 0 still has 2, but 1 is out");
        assert_eq!(q.pop(), None);
        assert_eq!(q.len(), 1);
        // A message received again goes back to the head of its lane.
        q.push_front(e(1, 1), 0);
        assert_eq!(q.oldest(), Some(1));
        q.unlock(0);
        assert_eq!(q.front().map(|x| x.id.0), Some(1));
        assert_eq!(q.pop().map(|x| x.id.0), Some(1));
        q.unlock(0);
        assert_eq!(q.pop().map(|x| x.id.0), Some(2));
        assert!(q.is_empty());
        q.unlock(1);
        q.push(e(9, 9), 1);
        assert!(q.has_ready());
    }

    #[test]
    fn assigned_lanes_are_served_only_by_their_owner() {
        let mut q = WaitQueue::ordered(3);
        q.assign(&[ConsumerId(4), ConsumerId(7)]); // lanes 0 and 2 -> consumer 4, lane 1 -> consumer 7
        q.push(e(1, 1), 0);
        q.push(e(2, 2), 1);
        q.push(e(3, 3), 2);
        assert!(q.has_ready_for(ConsumerId(4)) && q.has_ready_for(ConsumerId(7)));
        assert!(!q.has_ready_for(ConsumerId(5)), "owns nothing");
        assert_eq!(q.pop_for(ConsumerId(7)).map(|x| x.id.0), Some(2));
        assert!(!q.has_ready_for(ConsumerId(7)));
        assert_eq!(q.front_for(ConsumerId(4)).map(|x| x.id.0), Some(1));
        assert_eq!(q.pop_for(ConsumerId(4)).map(|x| x.id.0), Some(1));
        assert_eq!(q.pop_for(ConsumerId(4)).map(|x| x.id.0), Some(3));
        assert!(!q.has_ready());
        // A rebalance: consumer 9 alone takes everything, locks kept.
        q.unlock(0);
        q.push(e(5, 5), 0);
        q.push(e(6, 6), 1);
        q.assign(&[ConsumerId(9)]);
        assert!(!q.has_ready_for(ConsumerId(4)));
        assert_eq!(q.pop_for(ConsumerId(9)).map(|x| x.id.0), Some(5));
        assert_eq!(
            q.pop_for(ConsumerId(9)),
            None,
            "lane 1 is still locked by 2"
        );
        q.unlock(1);
        assert_eq!(q.pop_for(ConsumerId(9)).map(|x| x.id.0), Some(6));
    }

    #[test]
    fn push_front_keeps_the_oldest_exact() {
        let mut q = WaitQueue::new(None);
        q.push(e(5, 1), 0);
        q.push(e(7, 2), 0);
        q.push_front(e(9, 3), 0); // a newer message requeued ahead
        assert_eq!(q.oldest(), Some(5));
        assert_eq!(q.pop().map(|x| x.id.0), Some(3));
        assert_eq!(q.oldest(), Some(5));
        q.push_front(e(1, 4), 0);
        assert_eq!(q.oldest(), Some(1));
        let order: Vec<u32> = std::iter::from_fn(|| q.pop().map(|x| x.id.0)).collect();
        assert_eq!(order, vec![4, 1, 2]);
        assert_eq!(q.oldest(), None);
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

    #[test]
    fn oldest_matches_a_scan_whatever_the_order() {
        // Random pushes at the tail and the head (in and out of production order) and
        // pops: the oldest is always the minimum of what waits, and the order is FIFO.
        let mut rng = crate::rng::Rng::seed_from_u64(99);
        let mut next = |m: u64| rng.random_range(0..m);
        let mut q = WaitQueue::new(None);
        let mut model: VecDeque<(Nanos, u32)> = VecDeque::new();
        let mut clock = 0;
        for id in 0..20_000u32 {
            match next(10) {
                0..=3 => {
                    clock += next(3);
                    q.push(e(clock, id), 0);
                    model.push_back((clock, id));
                }
                4 => {
                    let p = next(clock + 1);
                    q.push(e(p, id), 0);
                    model.push_back((p, id));
                }
                5 => {
                    let p = next(clock + 1);
                    q.push_front(e(p, id), 0);
                    model.push_front((p, id));
                }
                _ => {
                    assert_eq!(q.pop().map(|x| x.id.0), model.pop_front().map(|x| x.1));
                }
            }
            assert_eq!(q.oldest(), model.iter().map(|x| x.0).min(), "after {id}");
        }
    }
}
