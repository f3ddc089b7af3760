//! Circular doubly-linked lists threaded through the slab.
//!
//! A list is named by its head index alone (`NIL` when empty); the tail is `prev` of the
//! head, so a slot costs one `u32`. Every operation is O(1) except the sorted ones, which
//! order by (deadline, insertion sequence): the merge sort is O(k log k) (O(k) when the
//! list is already in order) and a sorted insert walks from the tail, O(1) when deadlines
//! arrive in order.

use super::slab::{Slab, Storage, NIL};

/// Low bits of an entry's `meta` word that hold its location; the rest is its sequence.
pub(crate) const LOC_BITS: u32 = 4;
/// Mask of a sequence number (28 bits, compared modulo 2^28).
pub(crate) const SEQ_MASK: u32 = u32::MAX >> LOC_BITS;

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

    /// Appends `i` (unlinked) at the tail of the list at `head`.
    #[inline]
    pub(crate) fn push_back(&mut self, head: &mut u32, i: u32) {
        if *head == NIL {
            let l = self.links_mut(i);
            l.next = i;
            l.prev = i;
            *head = i;
        } else {
            let tail = self.links(*head).prev;
            self.link_after(tail, i);
        }
    }

    /// Links `i` (unlinked) right after `at`.
    #[inline]
    fn link_after(&mut self, at: u32, i: u32) {
        let next = self.links(at).next;
        {
            let l = self.links_mut(i);
            l.prev = at;
            l.next = next;
        }
        self.links_mut(at).next = i;
        self.links_mut(next).prev = i;
    }

    /// Removes `i` from the list at `head`.
    #[inline]
    pub(crate) fn unlink(&mut self, head: &mut u32, i: u32) {
        let l = *self.links(i);
        if l.next == i {
            *head = NIL;
        } else {
            self.links_mut(l.prev).next = l.next;
            self.links_mut(l.next).prev = l.prev;
            if *head == i {
                *head = l.next;
            }
        }
    }

    /// Inserts `i` (unlinked) into the sorted list at `head`.
    pub(crate) fn insert_sorted(&mut self, head: &mut u32, i: u32) {
        if *head == NIL {
            self.push_back(head, i);
            return;
        }
        let mut at = self.links(*head).prev;
        if self.before(i, *head) {
            // Before everything: link after the tail and make it the head.
            self.link_after(at, i);
            *head = i;
            return;
        }
        // Some entry (at worst the head) comes before `i`: walk back to the last one.
        while self.before(i, at) {
            at = self.links(at).prev;
        }
        self.link_after(at, i);
    }

    /// Sorts the list at `head` by (deadline, sequence).
    pub(crate) fn sort(&mut self, head: &mut u32) {
        if *head == NIL {
            return;
        }
        let tail = self.links(*head).prev;
        let mut i = *head;
        let mut sorted = true;
        while i != tail {
            let next = self.links(i).next;
            if self.before(next, i) {
                sorted = false;
                break;
            }
            i = next;
        }
        if sorted {
            return;
        }
        // Bottom-up merge sort on the `next` chain (NIL-terminated), then relink `prev`.
        self.links_mut(tail).next = NIL;
        let mut list = *head;
        let mut run = 1usize;
        loop {
            let mut p = list;
            list = NIL;
            let mut out_tail = NIL;
            let mut merges = 0usize;
            while p != NIL {
                merges += 1;
                let mut q = p;
                let mut p_len = 0usize;
                while p_len < run && q != NIL {
                    p_len += 1;
                    q = self.links(q).next;
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
                        p = self.links(p).next;
                        p_len -= 1;
                        e
                    } else {
                        let e = q;
                        q = self.links(q).next;
                        q_len -= 1;
                        e
                    };
                    if out_tail == NIL {
                        list = e;
                    } else {
                        self.links_mut(out_tail).next = e;
                    }
                    out_tail = e;
                }
                p = q;
            }
            self.links_mut(out_tail).next = NIL;
            if merges <= 1 {
                break;
            }
            run *= 2;
        }
        // Rebuild `prev` links and close the circle.
        let mut prev = NIL;
        let mut i = list;
        while i != NIL {
            self.links_mut(i).prev = prev;
            prev = i;
            i = self.links(i).next;
        }
        self.links_mut(prev).next = list;
        self.links_mut(list).prev = prev;
        *head = list;
    }
}

#[cfg(test)]
mod tests {
    use super::super::slab::{ArrayStorage, Slab};
    use super::*;
    extern crate alloc;
    use alloc::vec::Vec;
    use core::num::NonZeroU32;

    fn meta(seq: u32) -> NonZeroU32 {
        NonZeroU32::new((seq << LOC_BITS) | 8).unwrap()
    }

    type TestSlab = Slab<u32, ArrayStorage<u32, 64>>;

    fn collect(slab: &TestSlab, head: u32) -> Vec<(u64, u32)> {
        let mut out = Vec::new();
        if head == NIL {
            return out;
        }
        let mut i = head;
        loop {
            out.push((slab.deadline(i), i));
            let next = slab.links(i).next;
            assert_eq!(slab.links(next).prev, i, "prev link broken");
            i = next;
            if i == head {
                break;
            }
        }
        out
    }

    fn build(deadlines: &[u64]) -> (TestSlab, u32) {
        let mut slab = TestSlab::new(ArrayStorage::new());
        let mut head = NIL;
        for (n, &d) in deadlines.iter().enumerate() {
            let (i, _) = slab.insert(d, meta(n as u32), n as u32).unwrap();
            slab.push_back(&mut head, i);
        }
        (slab, head)
    }

    #[test]
    fn merge_sort_orders_by_deadline_then_sequence() {
        // Deadlines with duplicates; every prefix length and several orders.
        let base: [u64; 9] = [5, 3, 5, 1, 9, 3, 3, 0, 5];
        for len in 0..=base.len() {
            for rot in 0..base.len().max(1) {
                let input: Vec<u64> = (0..len).map(|k| base[(k + rot) % base.len()]).collect();
                let (mut slab, mut head) = build(&input);
                slab.sort(&mut head);
                let got = collect(&slab, head);
                let mut want: Vec<(u64, u32)> = input
                    .iter()
                    .enumerate()
                    .map(|(i, &d)| (d, i as u32))
                    .collect();
                want.sort_by_key(|&(d, _)| d); // stable
                assert_eq!(got, want, "input {input:?}");
            }
        }
    }

    #[test]
    fn sorted_insert_goes_after_equal_deadlines() {
        let (mut slab, mut head) = build(&[]);
        for (n, d) in [4u64, 2, 4, 7, 1, 4, 7, 0].into_iter().enumerate() {
            let (i, _) = slab.insert(d, meta(n as u32), n as u32).unwrap();
            slab.insert_sorted(&mut head, i);
        }
        let got: Vec<u64> = collect(&slab, head).into_iter().map(|(d, _)| d).collect();
        assert_eq!(got, [0, 1, 2, 4, 4, 4, 7, 7]);
        let ids: Vec<u32> = collect(&slab, head).into_iter().map(|(_, i)| i).collect();
        assert_eq!(ids, [7, 4, 1, 0, 2, 5, 3, 6]);
    }

    #[test]
    fn unlink_keeps_lists_circular() {
        let (mut slab, mut a) = build(&[1, 2, 3]);
        let h = a;
        slab.unlink(&mut a, h); // the head
        assert_eq!(
            collect(&slab, a).iter().map(|e| e.0).collect::<Vec<_>>(),
            [2, 3]
        );
        let (x, _) = slab.insert(9, meta(9), 0).unwrap();
        slab.push_back(&mut a, x);
        let last = slab.links(a).prev;
        assert_eq!(last, x);
        let mid = slab.links(a).next;
        slab.unlink(&mut a, mid); // the middle
        assert_eq!(
            collect(&slab, a).iter().map(|e| e.0).collect::<Vec<_>>(),
            [2, 9]
        );
        for _ in 0..2 {
            let h = a;
            slab.unlink(&mut a, h);
        }
        assert_eq!(a, NIL);
    }
}

#[cfg(test)]
mod sequence_tests {
    use super::super::slab::{ArrayStorage, Slab};
    use super::*;
    use core::num::NonZeroU32;

    #[test]
    fn sequence_numbers_compare_across_the_wrap() {
        let mut slab: Slab<u8, ArrayStorage<u8, 4>> = Slab::new(ArrayStorage::new());
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
