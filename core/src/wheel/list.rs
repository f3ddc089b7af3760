//! Doubly-linked lists threaded through the slab, with head and tail kept outside.
//!
//! A [`List`] is two indices (`NIL` when empty); entries link to their neighbours. Keeping
//! the tail outside the entries means appending touches only the tail entry, which was
//! usually appended last and is still in cache. Every operation is O(1) except the sorted
//! ones, which order by (deadline, insertion sequence): the merge sort is O(k log k) (O(k)
//! when the list is already in order) and a sorted insert walks back from the tail, O(1)
//! when deadlines arrive in order.

use super::slab::{Slab, Storage, NIL};

/// Low bits of an entry's `meta` word that hold its location; the rest is its sequence.
pub(crate) const LOC_BITS: u32 = 4;
/// Mask of a sequence number (28 bits, compared modulo 2^28).
pub(crate) const SEQ_MASK: u32 = u32::MAX >> LOC_BITS;

/// The ends of one list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct List {
    pub(crate) head: u32,
    pub(crate) tail: u32,
}

impl List {
    pub(crate) const EMPTY: List = List {
        head: NIL,
        tail: NIL,
    };

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.head == NIL
    }

    /// Detaches the whole list, leaving this one empty.
    #[inline]
    pub(crate) fn take(&mut self) -> List {
        core::mem::replace(self, List::EMPTY)
    }
}

impl<T, S: Storage<T>> Slab<T, S> {
    /// Whether entry `a` comes before entry `b`: an earlier deadline, or the same deadline
    /// and inserted earlier (sequence numbers compared modulo 2^28, so ties between entries
    /// inserted more than 2^27 insertions apart may come out either way).
    #[inline]
    pub(crate) fn before(&self, a: u32, b: u32) -> bool {
        let (da, db) = (self.deadline(a), self.deadline(b));
        if da != db {
            return da < db;
        }
        let (sa, sb) = (self.meta(a) >> LOC_BITS, self.meta(b) >> LOC_BITS);
        let ahead = sb.wrapping_sub(sa) & SEQ_MASK;
        ahead != 0 && ahead <= SEQ_MASK / 2
    }

    /// Appends `i` (unlinked) at the tail of `list`.
    #[inline]
    pub(crate) fn push_back(&mut self, list: &mut List, i: u32) {
        let tail = list.tail;
        self.set_links(i, tail, NIL);
        if tail == NIL {
            list.head = i;
        } else {
            self.set_next(tail, i);
        }
        list.tail = i;
    }

    /// Prepends `i` (unlinked) at the head of `list`.
    #[inline]
    fn push_front(&mut self, list: &mut List, i: u32) {
        let head = list.head;
        self.set_links(i, NIL, head);
        if head == NIL {
            list.tail = i;
        } else {
            self.set_prev(head, i);
        }
        list.head = i;
    }

    /// Removes `i` from `list`.
    #[inline]
    pub(crate) fn unlink(&mut self, list: &mut List, i: u32) {
        let (prev, next) = (self.prev(i), self.next(i));
        if prev == NIL {
            list.head = next;
        } else {
            self.set_next(prev, next);
        }
        if next == NIL {
            list.tail = prev;
        } else {
            self.set_prev(next, prev);
        }
    }

    /// Inserts `i` (unlinked) into the sorted `list`.
    pub(crate) fn insert_sorted(&mut self, list: &mut List, i: u32) {
        if list.is_empty() || !self.before(i, list.tail) {
            self.push_back(list, i);
            return;
        }
        if self.before(i, list.head) {
            self.push_front(list, i);
            return;
        }
        // Some entry (at worst the head) comes before `i`, and the tail after it: link
        // `i` after the last entry that comes before it.
        let mut at = self.prev(list.tail);
        while self.before(i, at) {
            at = self.prev(at);
        }
        let next = self.next(at);
        self.set_links(i, at, next);
        self.set_next(at, i);
        self.set_prev(next, i);
    }

    /// Sorts `list` by (deadline, sequence).
    pub(crate) fn sort(&mut self, list: &mut List) {
        let mut i = list.head;
        let mut sorted = true;
        while i != list.tail {
            let next = self.next(i);
            if self.before(next, i) {
                sorted = false;
                break;
            }
            i = next;
        }
        if sorted {
            return;
        }
        // Bottom-up merge sort on the NIL-terminated `next` chain, then relink `prev`.
        let mut chain = list.head;
        let mut run = 1usize;
        loop {
            let mut p = chain;
            chain = NIL;
            let mut out_tail = NIL;
            let mut merges = 0usize;
            while p != NIL {
                merges += 1;
                let mut q = p;
                let mut p_len = 0usize;
                while p_len < run && q != NIL {
                    p_len += 1;
                    q = self.next(q);
                }
                let mut q_len = run;
                while p_len > 0 || (q_len > 0 && q != NIL) {
                    let take_p = if p_len == 0 {
                        false
                    } else if q_len == 0 || q == NIL {
                        true
                    } else {
                        !self.before(q, p)
                    };
                    let e = if take_p {
                        let e = p;
                        p = self.next(p);
                        p_len -= 1;
                        e
                    } else {
                        let e = q;
                        q = self.next(q);
                        q_len -= 1;
                        e
                    };
                    if out_tail == NIL {
                        chain = e;
                    } else {
                        self.set_next(out_tail, e);
                    }
                    out_tail = e;
                }
                p = q;
            }
            self.set_next(out_tail, NIL);
            if merges <= 1 {
                break;
            }
            run *= 2;
        }
        let mut prev = NIL;
        let mut i = chain;
        while i != NIL {
            self.set_prev(i, prev);
            prev = i;
            i = self.next(i);
        }
        *list = List {
            head: chain,
            tail: prev,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::super::slab::{ArrayStorage, Slab};
    use super::*;
    extern crate alloc;
    use alloc::vec::Vec;
    use core::num::NonZeroU32;

    type TestSlab = Slab<u32, ArrayStorage<u32, 64>>;

    fn meta(seq: u32) -> NonZeroU32 {
        NonZeroU32::new((seq << LOC_BITS) | 8).unwrap()
    }

    /// The list front to back, checking every back link and the tail.
    fn collect(slab: &TestSlab, list: List) -> Vec<(u64, u32)> {
        let mut out = Vec::new();
        let mut prev = NIL;
        let mut i = list.head;
        while i != NIL {
            assert_eq!(slab.prev(i), prev, "prev link broken");
            out.push((slab.deadline(i), i));
            prev = i;
            i = slab.next(i);
        }
        assert_eq!(list.tail, prev, "tail broken");
        out
    }

    fn build(deadlines: &[u64]) -> (TestSlab, List) {
        let mut slab = TestSlab::new(ArrayStorage::new());
        let mut list = List::EMPTY;
        for (n, &d) in deadlines.iter().enumerate() {
            let (i, _) = slab.insert(d, meta(n as u32), n as u32).unwrap();
            slab.push_back(&mut list, i);
        }
        (slab, list)
    }

    #[test]
    fn merge_sort_orders_by_deadline_then_sequence() {
        let base: [u64; 9] = [5, 3, 5, 1, 9, 3, 3, 0, 5];
        for len in 0..=base.len() {
            for rot in 0..base.len() {
                let input: Vec<u64> = (0..len).map(|k| base[(k + rot) % base.len()]).collect();
                let (mut slab, mut list) = build(&input);
                slab.sort(&mut list);
                let got = collect(&slab, list);
                let mut want: Vec<(u64, u32)> = input
                    .iter()
                    .enumerate()
                    .map(|(i, &d)| (d, i as u32))
                    .collect();
                want.sort_by_key(|&(d, _)| d); // stable: insertion order among ties
                assert_eq!(got, want, "input {input:?}");
            }
        }
    }

    #[test]
    fn sorted_insert_goes_after_earlier_insertions() {
        let (mut slab, mut list) = build(&[]);
        for (n, d) in [4u64, 2, 4, 7, 1, 4, 7, 0, 3].into_iter().enumerate() {
            let (i, _) = slab.insert(d, meta(n as u32), n as u32).unwrap();
            slab.insert_sorted(&mut list, i);
        }
        let got = collect(&slab, list);
        let deadlines: Vec<u64> = got.iter().map(|e| e.0).collect();
        assert_eq!(deadlines, [0, 1, 2, 3, 4, 4, 4, 7, 7]);
        let ids: Vec<u32> = got.iter().map(|e| e.1).collect();
        assert_eq!(ids, [7, 4, 1, 8, 0, 2, 5, 3, 6]);
    }

    #[test]
    fn unlink_keeps_both_ends_right() {
        let (mut slab, mut list) = build(&[1, 2, 3, 4]);
        let head = list.head;
        slab.unlink(&mut list, head);
        let tail = list.tail;
        slab.unlink(&mut list, tail);
        assert_eq!(
            collect(&slab, list).iter().map(|e| e.0).collect::<Vec<_>>(),
            [2, 3]
        );
        let mid = list.head;
        slab.unlink(&mut list, mid);
        let last = list.head;
        slab.unlink(&mut list, last);
        assert!(list.is_empty());
        assert_eq!(list, List::EMPTY);
        let (x, _) = slab.insert(9, meta(9), 0).unwrap();
        slab.push_back(&mut list, x);
        assert_eq!(list.take(), List { head: x, tail: x });
        assert!(list.is_empty());
    }

    #[test]
    fn sequence_numbers_compare_across_the_wrap() {
        let mut slab = TestSlab::new(ArrayStorage::new());
        let m = |seq: u32| NonZeroU32::new((seq << LOC_BITS) | 8).unwrap();
        let (old, _) = slab.insert(7, m(SEQ_MASK - 1), 0).unwrap();
        let (new, _) = slab.insert(7, m(2), 1).unwrap(); // inserted after the wrap
        let (later, _) = slab.insert(8, m(0), 2).unwrap();
        assert!(slab.before(old, new));
        assert!(!slab.before(new, old));
        assert!(!slab.before(old, old));
        assert!(slab.before(new, later) && slab.before(old, later));
    }
}
