//! Unsigned LEB128 varints (7 bits per byte, low bits first, high bit = more), the
//! one encoding of lengths and counts in encoded keys, packed events and the
//! snapshot's own fields.

/// The most bytes a `u64` takes.
pub(crate) const MAX_LEN: usize = 10;

/// Bytes `n` takes.
pub(crate) fn len(mut n: u64) -> usize {
    let mut len = 1;
    while n >= 0x80 {
        n >>= 7;
        len += 1;
    }
    len
}

/// Encodes `n` into `buf`; the encoding is the returned prefix.
pub(crate) fn encode(mut n: u64, buf: &mut [u8; MAX_LEN]) -> &[u8] {
    let mut len = 0;
    while n >= 0x80 {
        buf[len] = n as u8 | 0x80;
        n >>= 7;
        len += 1;
    }
    buf[len] = n as u8;
    &buf[..=len]
}

/// Reads a varint at `*at` (advancing it); `None` at the end of the input or for
/// more than 64 bits.
pub(crate) fn take(input: &[u8], at: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    let mut shift = 0u32;
    loop {
        let b = *input.get(*at)?;
        *at += 1;
        let bits = u64::from(b & 0x7f);
        if shift == 63 && bits > 1 {
            return None;
        }
        v |= bits << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_at_every_length() {
        for n in [
            0,
            1,
            127,
            128,
            300,
            16_383,
            16_384,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            let mut buf = [0; MAX_LEN];
            let bytes = encode(n, &mut buf);
            assert_eq!(bytes.len(), len(n), "{n}");
            let mut at = 0;
            assert_eq!(take(bytes, &mut at), Some(n));
            assert_eq!(at, bytes.len());
        }
        let mut at = 0;
        assert_eq!(take(&[0x80, 0x80], &mut at), None, "ends mid-varint");
        let mut overlong = [0xff; 10];
        overlong[9] = 0x02;
        assert_eq!(take(&overlong, &mut 0), None, "beyond 64 bits");
    }
}
