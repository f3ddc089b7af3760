//! A small deterministic generator for the unit tests (xorshift32): the same seed
//! gives the same sequence on every run and platform.

/// xorshift32 (Marsaglia); the seed must not be 0.
pub(crate) struct Rng(pub(crate) u32);

impl Rng {
    /// The next value.
    pub(crate) fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0
    }

    /// The next value modulo `n` (`n > 0`).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        self.next() as usize % n
    }
}
