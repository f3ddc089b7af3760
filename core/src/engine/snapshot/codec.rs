//! The snapshot's checksums and packed byte strings, written by hand: CRC-32 of the
//! payload, FNV-1a fingerprints of trigger definitions, varints, and the
//! de-duplication cache packed into one byte string.

use serde::ser::{Serialize, Serializer};

use crate::event::EventId;
use crate::time::Instant;
#[cfg(test)]
use crate::trigger::Trigger;
use crate::varint;

/// The fingerprint of a (validated) trigger definition: FNV-1a of its postcard
/// encoding (the compact form, which holds every field).
#[cfg(test)]
pub(super) fn fingerprint(trigger: &Trigger) -> u64 {
    trigger.def().fingerprint()
}

/// CRC-32 lookup tables for slicing by 8: `CRC_TABLES[0]` is the classic byte table,
/// `CRC_TABLES[k][b]` the CRC of byte `b` followed by `k` zero bytes.
const CRC_TABLES: [[u32; 256]; 8] = {
    let mut tables = [[0u32; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut bit = 0;
        while bit < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            bit += 1;
        }
        tables[0][i] = c;
        i += 1;
    }
    let mut k = 1;
    while k < 8 {
        let mut i = 0;
        while i < 256 {
            let prev = tables[k - 1][i];
            tables[k][i] = (prev >> 8) ^ tables[0][(prev & 0xff) as usize];
            i += 1;
        }
        k += 1;
    }
    tables
};

/// CRC-32 (IEEE 802.3, the zlib/PNG one) of `bytes`, eight bytes per step.
pub(super) fn crc32(bytes: &[u8]) -> u32 {
    let t = &CRC_TABLES;
    let mut c = !0u32;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let lo = c ^ u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        let hi = u32::from_le_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]);
        c = t[7][(lo & 0xff) as usize]
            ^ t[6][((lo >> 8) & 0xff) as usize]
            ^ t[5][((lo >> 16) & 0xff) as usize]
            ^ t[4][(lo >> 24) as usize]
            ^ t[3][(hi & 0xff) as usize]
            ^ t[2][((hi >> 8) & 0xff) as usize]
            ^ t[1][((hi >> 16) & 0xff) as usize]
            ^ t[0][(hi >> 24) as usize];
    }
    for &b in chunks.remainder() {
        c = t[0][((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

// ------------------------------------------------------------------ packed byte strings

/// Bytes written as one byte string (postcard: a varint length, then the bytes), read
/// back as a `&[u8]` borrowed from the input.
pub(super) struct Bytes<B>(pub(super) B);

impl<B: AsRef<[u8]>> Serialize for Bytes<B> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0.as_ref())
    }
}

pub(super) use varint::take as take_varint;

/// How many values a saved key holds, or `None` unless it is exactly what the engine
/// writes (`keys::push_key_value`): per value the shortest LEB128 length, then that
/// many bytes of UTF-8. A restored key is decoded again when its trigger fires, so a
/// malformed one is refused here.
pub(super) fn key_value_count(key: &[u8]) -> Option<usize> {
    let (mut at, mut count) = (0usize, 0usize);
    while at < key.len() {
        let start = at;
        let len = usize::try_from(take_varint(key, &mut at)?).ok()?;
        // a longer encoding than needed ends in a zero group
        if at - start > 1 && key[at - 1] == 0 {
            return None;
        }
        let end = at.checked_add(len)?;
        core::str::from_utf8(key.get(at..end)?).ok()?;
        (at, count) = (end, count + 1);
    }
    Some(count)
}

/// One de-duplication cache entry packed: the sequence number's increase (varint),
/// the 16 id bytes, and the expiry's change in microseconds (zigzag varint), after the
/// entry `(seq, expiry)` before it. Returns the buffer and the length used.
fn pack_seen_entry(
    (seq, expiry): (u64, u64),
    (s, id, e): (u64, EventId, Instant),
) -> ([u8; 2 * varint::MAX_LEN + 16], usize) {
    let mut out = [0u8; 2 * varint::MAX_LEN + 16];
    let mut buf = [0u8; varint::MAX_LEN];
    let step = varint::encode(s.wrapping_sub(seq), &mut buf);
    let mut len = step.len();
    out[..len].copy_from_slice(step);
    out[len..len + 16].copy_from_slice(&id.0);
    len += 16;
    let delta = e.as_micros().wrapping_sub(expiry) as i64;
    let zigzag = varint::encode(((delta << 1) ^ (delta >> 63)) as u64, &mut buf);
    out[len..len + zigzag.len()].copy_from_slice(zigzag);
    (out, len + zigzag.len())
}

/// The de-duplication cache's entries as one byte string: per entry the sequence
/// number's increase (varint), the 16 id bytes, and the expiry's change in
/// microseconds (zigzag varint). About 19 bytes an id, packed while written (postcard
/// writes a sequence of `u8` exactly as a byte string: its length, then the bytes).
pub(super) struct SeenOut<F>(pub(super) F);

impl<F, I> Serialize for SeenOut<F>
where
    F: Fn() -> I,
    I: Iterator<Item = (u64, EventId, Instant)>,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let packed = || {
            let mut before = (0u64, 0u64);
            (self.0)().map(move |entry| {
                let out = pack_seen_entry(before, entry);
                before = (entry.0, entry.2.as_micros());
                out
            })
        };
        let len = packed().map(|(_, len)| len).sum();
        let mut seq = s.serialize_seq(Some(len))?;
        for (bytes, len) in packed() {
            for b in &bytes[..len] {
                seq.serialize_element(b)?;
            }
        }
        seq.end()
    }
}

/// The entries of a packed de-duplication cache ([`SeenOut`]), decoded one after
/// the other; ends early at bytes that do not decode (see [`seen_count`]).
pub(super) fn seen_entries(
    bytes: &[u8],
) -> impl Iterator<Item = (u64, EventId, Instant)> + Clone + '_ {
    let (mut seq, mut expiry, mut at) = (0u64, 0u64, 0usize);
    core::iter::from_fn(move || {
        if at >= bytes.len() {
            return None;
        }
        seq = seq.wrapping_add(take_varint(bytes, &mut at)?);
        let id: [u8; 16] = bytes.get(at..at + 16)?.try_into().ok()?;
        at += 16;
        let z = take_varint(bytes, &mut at)?;
        let delta = ((z >> 1) as i64) ^ -((z & 1) as i64);
        expiry = expiry.wrapping_add(delta as u64);
        Some((seq, EventId(id), Instant::from_micros(expiry)))
    })
}

/// How many entries a packed de-duplication cache holds, or `None` unless it decodes
/// whole.
pub(super) fn seen_count(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    let mut count = 0;
    while at < bytes.len() {
        take_varint(bytes, &mut at)?;
        at = at.checked_add(16).filter(|&end| end <= bytes.len())?;
        take_varint(bytes, &mut at)?;
        count += 1;
    }
    Some(count)
}

/// The packed entries, collected (tests).
#[cfg(test)]
pub(super) fn decode_seen(bytes: &[u8]) -> Option<alloc::vec::Vec<(u64, EventId, Instant)>> {
    let count = seen_count(bytes)?;
    let all: alloc::vec::Vec<_> = seen_entries(bytes).collect();
    (all.len() == count).then_some(all)
}

/// [`SeenOut`]'s bytes, without the length (tests).
#[cfg(test)]
pub(super) fn encode_seen(
    entries: impl Iterator<Item = (u64, EventId, Instant)> + Clone,
    _len: usize,
) -> alloc::vec::Vec<u8> {
    let bytes = postcard::to_allocvec(&SeenOut(|| entries.clone())).expect("encodes");
    let mut at = 0;
    take_varint(&bytes, &mut at).expect("a length");
    bytes[at..].to_vec()
}

/// Appends `v` as a varint (tests).
#[cfg(test)]
pub(super) fn push_varint(out: &mut alloc::vec::Vec<u8>, v: u64) {
    out.extend_from_slice(varint::encode(v, &mut [0; varint::MAX_LEN]));
}

// ------------------------------------------------------------------ framing (harness)

#[cfg(feature = "harness")]
impl crate::engine::Engine {
    /// `payload` behind a valid snapshot header (magic, this build's version, length,
    /// CRC-32), exactly as [`snapshot`](Self::snapshot) frames its own payloads: lets
    /// the fuzz harness reach the payload decoding and layout checks with arbitrary
    /// payloads.
    ///
    /// # Panics
    ///
    /// If `payload` is longer than `u32::MAX` bytes.
    pub(crate) fn frame_snapshot_payload(payload: &[u8]) -> alloc::vec::Vec<u8> {
        let mut bytes = alloc::vec![0u8; super::SNAPSHOT_HEADER_LEN];
        super::write_header(&mut bytes, payload);
        bytes.extend_from_slice(payload);
        bytes
    }
}
