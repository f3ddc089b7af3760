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

    #[cfg(feature = "alloc")]
    #[test]
    fn map_round_trips() {
        let mut map: FxHashMap<alloc::string::String, u32> = FxHashMap::default();
        map.insert("x".into(), 1);
        assert_eq!(map.get("x"), Some(&1));
        assert_eq!(map.get("y"), None);
    }
}
