//! Byte-slice comparisons written out inline.
//!
//! The hot path compares short strings on every event: a label's name (in every
//! form of labels), a pattern's prefix, the event name against the route cache's,
//! the key against the stored one (a flow run's key is 54 bytes). `==` on slices
//! calls the C library's `memcmp`, a call through the PLT that cost 25 to 70
//! instructions each here; these compare 16, 8 or 4 bytes at a time (the last block
//! overlapping the one before) in a handful.

/// `N` bytes of `s` from `at` (which the callers keep within `s`; zeros past its
/// end).
#[inline]
pub(crate) fn block<const N: usize>(s: &[u8], at: usize) -> [u8; N] {
    s.get(at..at + N)
        .and_then(|b| b.try_into().ok())
        .unwrap_or([0; N])
}

/// Whether `a` and `b` hold the same bytes.
#[inline]
pub(crate) fn eq(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n >= 16 {
        let wide = |at| u128::from_ne_bytes(block(a, at)) == u128::from_ne_bytes(block(b, at));
        let mut at = 0;
        while at + 16 < n {
            if !wide(at) {
                return false;
            }
            at += 16;
        }
        wide(n - 16)
    } else if n >= 8 {
        let word = |s, at| u64::from_ne_bytes(block(s, at));
        (word(a, 0) ^ word(b, 0)) | (word(a, n - 8) ^ word(b, n - 8)) == 0
    } else if n >= 4 {
        let half = |s, at| u32::from_ne_bytes(block(s, at));
        (half(a, 0) ^ half(b, 0)) | (half(a, n - 4) ^ half(b, n - 4)) == 0
    } else {
        a.iter().zip(b).all(|(x, y)| x == y)
    }
}

/// Whether `s` starts with `prefix`.
#[inline]
pub(crate) fn starts_with(s: &[u8], prefix: &[u8]) -> bool {
    s.get(..prefix.len()).is_some_and(|head| eq(head, prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_exactly_when_slice_equality_says_so() {
        let base: [u8; 70] = core::array::from_fn(|i| (i * 37 + 11) as u8);
        for n in 0..=70 {
            let a = &base[..n];
            let mut b = base;
            assert!(eq(a, &b[..n]), "length {n}");
            assert!(starts_with(&base, a));
            // one byte different, at every position
            for at in 0..n {
                b[at] ^= 0x40;
                assert!(!eq(a, &b[..n]), "length {n}, byte {at}");
                assert!(!starts_with(&b, a), "length {n}, byte {at}");
                b[at] ^= 0x40;
            }
            // other lengths
            if n > 0 {
                assert!(!eq(a, &base[..n - 1]));
                assert!(!starts_with(&base[..n - 1], a));
            }
            if n < 70 {
                assert!(!eq(a, &base[..n + 1]));
            }
        }
        assert!(eq(b"", b""));
        assert!(starts_with(b"abc", b""));
    }
}
