//! A small, fixed, deterministic hasher for the core's hash maps.
//!
//! overdue's outputs must not depend on hash-map iteration order, and a `no_std` core
//! has no source of randomness anyway, so every map uses [`FxBuildHasher`]: the
//! multiply-rotate hash of rustc's `FxHasher` (fast on short keys such as event names
//! and trigger ids). It is **not** resistant to hash flooding; the keys it sees come
//! from the operator's own automations.

use core::hash::{BuildHasher, Hasher};

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

/// The FxHash-style hasher: `h = (h.rotate_left(5) ^ word) * SEED` per word.
#[derive(Clone, Copy, Debug, Default)]
pub struct FxHasher {
    hash: u64,
}

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            // Mix the length in so that "a\0" and "a" differ.
            self.add(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 56));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        // A multiply only carries entropy upwards: keys that differ only in their
        // high bytes (time-ordered UUIDs, big-endian counters) would share their low
        // bits, which hashbrown uses for the bucket index. Fold the high half down
        // (the finalizer of MurmurHash3's fmix64).
        let mut h = self.hash;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h
    }
}

/// Builds [`FxHasher`]s; the same state everywhere, so hashes are reproducible.
#[derive(Clone, Copy, Debug, Default)]
pub struct FxBuildHasher;

impl BuildHasher for FxBuildHasher {
    type Hasher = FxHasher;

    #[inline]
    fn build_hasher(&self) -> FxHasher {
        FxHasher::default()
    }
}

/// A `hashbrown` map with the deterministic [`FxBuildHasher`].
#[cfg(feature = "alloc")]
pub type FxHashMap<K, V> = hashbrown::HashMap<K, V, FxBuildHasher>;

/// The low and high halves of the full product of `x` and `y`, xored: a multiply
/// whose every output bit depends on every input bit of both factors.
#[inline]
fn folded_multiply(x: u64, y: u64) -> u64 {
    let p = u128::from(x) * u128::from(y);
    (p as u64) ^ ((p >> 64) as u64)
}

/// Odd constants (digits of π) the key hash mixes in.
const KEY_SEEDS: [u64; 4] = [
    0x243f_6a88_85a3_08d3,
    0x1319_8a2e_0370_7344,
    0xa409_3822_299f_31d0,
    0x082e_fa98_ec4e_6c89,
];

/// One step of [`key_hash`]: 16 bytes folded into the state.
#[inline]
fn key_step(s: u64, block: [u8; 16]) -> u64 {
    let [_, _, k2, k3] = KEY_SEEDS;
    let words = u128::from_le_bytes(block);
    folded_multiply(s ^ (words as u64) ^ k2, ((words >> 64) as u64) ^ k3)
}

/// The hash of a (trigger, encoded key) pair for the key table: 16 bytes per folded
/// multiply (one chain of a multiply and two xors per 16 bytes, where [`FxHasher`]
/// takes a dependent multiply per 8), its upper and lower halves both well mixed.
/// Deterministic; like [`FxHasher`], not resistant to hash flooding.
#[inline]
pub(crate) fn key_hash(trigger: u32, bytes: &[u8]) -> u64 {
    let [k0, k1, _, _] = KEY_SEEDS;
    let mut s = folded_multiply(u64::from(trigger) ^ k0, bytes.len() as u64 ^ k1);
    let mut chunks = bytes.chunks_exact(16);
    for c in &mut chunks {
        s = key_step(s, c.try_into().unwrap_or([0; 16]));
    }
    if !chunks.remainder().is_empty() {
        s = key_step(s, tail16(bytes));
    }
    folded_multiply(s ^ k1, k0)
}

/// The last 16 bytes of `bytes` as a block (overlapping the block before when
/// `bytes` is longer), or, for fewer than 16 bytes, a block of them read in
/// overlapping pieces (the first and last 8, 4 or 1 bytes, and the middle one),
/// the rest zero. Read straight from `bytes`: assembling a padded copy on the stack
/// and loading it back costs a store-forwarding stall. Keys of one length (mixed in
/// before) read the same bytes, so equal keys hash equal.
#[inline]
fn tail16(bytes: &[u8]) -> [u8; 16] {
    use crate::bytes::block;
    let n = bytes.len();
    if n >= 16 {
        return block(bytes, n - 16);
    }
    let (lo, hi) = if n >= 8 {
        (
            u64::from_le_bytes(block(bytes, 0)),
            u64::from_le_bytes(block(bytes, n - 8)),
        )
    } else if n >= 4 {
        (
            u64::from(u32::from_le_bytes(block(bytes, 0))),
            u64::from(u32::from_le_bytes(block(bytes, n - 4))),
        )
    } else if n > 0 {
        let [first, middle, last] =
            [0, n / 2, n - 1].map(|at| u64::from(u8::from_le_bytes(block(bytes, at))));
        (first | middle << 8 | last << 16, 0)
    } else {
        (0, 0)
    };
    ((u128::from(hi) << 64) | u128::from(lo)).to_le_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::hash::Hash;

    fn hash_of<T: Hash + ?Sized>(value: &T) -> u64 {
        FxBuildHasher.hash_one(value)
    }

    #[test]
    fn hashes_are_deterministic_and_discriminating() {
        assert_eq!(
            hash_of("prefect.flow-run.heartbeat"),
            hash_of("prefect.flow-run.heartbeat")
        );
        assert_ne!(hash_of("a"), hash_of("b"));
        assert_ne!(hash_of(&b"a"[..]), hash_of(&b"a\0"[..]));
        assert_ne!(hash_of("custom.family-1.*"), hash_of("custom.family-2.*"));
        assert_ne!(hash_of(&1u32), hash_of(&2u32));
    }

    #[test]
    fn keys_differing_only_in_high_bytes_spread_over_low_bits() {
        // Big-endian counters (like time-ordered UUIDs) leave the low bytes equal;
        // the bucket index (low 10 bits here) must still vary.
        let mut seen = [false; 1024];
        for n in 0u64..1024 {
            let mut id = [0u8; 16];
            id[..8].copy_from_slice(&n.to_be_bytes());
            seen[(hash_of(&id) & 1023) as usize] = true;
        }
        let distinct = seen.iter().filter(|&&s| s).count();
        assert!(distinct > 500, "only {distinct} of 1024 buckets used");
    }

    #[test]
    fn key_hashes_tell_keys_apart_and_spread_over_both_halves() {
        assert_eq!(key_hash(1, b"abc"), key_hash(1, b"abc"));
        assert_ne!(key_hash(1, b"abc"), key_hash(2, b"abc"));
        assert_ne!(key_hash(1, b"a"), key_hash(1, b"a\0"));
        assert_ne!(key_hash(1, b""), key_hash(1, b"\0"));
        assert_ne!(key_hash(0, b""), key_hash(1, b""));
        // under 4 bytes the first, middle and last are read: each one counts
        for other in [&b"bbc"[..], b"acc", b"abd"] {
            assert_ne!(key_hash(1, b"abc"), key_hash(1, other));
        }
        // run ids differing in one byte anywhere, at every length around a
        // 16-byte step: the top and the bottom 10 bits both vary
        for len in [5usize, 9, 15, 16, 17, 31, 32, 33, 54] {
            let (mut top, mut bottom) = ([false; 1024], [false; 1024]);
            for n in 0u32..1024 {
                let mut key = [b'x'; 54];
                key[(n as usize * 7) % len] = (n % 251) as u8;
                key[(n as usize * 13 + 3) % len] ^= (n >> 8) as u8;
                let h = key_hash(7, &key[..len]);
                top[(h >> 54) as usize] = true;
                bottom[(h & 1023) as usize] = true;
            }
            for (half, seen) in [("top", top), ("bottom", bottom)] {
                let distinct = seen.iter().filter(|&&s| s).count();
                assert!(distinct > 550, "length {len}, {half}: {distinct} of 1024");
            }
        }
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn map_round_trips() {
        let mut map: FxHashMap<alloc::string::String, u32> = FxHashMap::default();
        map.insert("x".into(), 1);
        assert_eq!(map.get("x"), Some(&1));
        assert_eq!(map.get("y"), None);
    }
}
