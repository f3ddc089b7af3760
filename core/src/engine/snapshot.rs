//! Saving and restoring the engine's state: [`Engine::snapshot`] and
//! [`Engine::restore_in_place`] (with [`Engine::restore_from`] and, feature `alloc`,
//! [`Engine::restore`] on top). The format is described in the engine's module docs
//! (section "Snapshots").
//!
//! Neither needs the heap. Saving describes the payload with records that borrow
//! the engine's state (`records.rs`) and that postcard writes straight into the
//! caller's buffer: every sequence is serialized from an iterator of known length,
//! and what the format orders (triggers and nodes by load order, waiting followers
//! by position, follower sets by leader) is visited in that order by repeated scans
//! that each take the next [`SORT_BATCH`] items ([`for_each_sorted`]).
//!
//! Restoring (`restore.rs`) reads the payload twice, borrowing from it and never
//! copying it into owned records. Pass 1 walks it whole: every field decodes, labels
//! are UTF-8, and each sequence is remembered as its element count and byte range;
//! then the structure is checked (counters, disjoint trigger ranges in load order,
//! node numbers). Pass 2 resets the engine, loads the triggers and puts the state
//! back, walking the remembered sequences again; checks that need the loaded
//! triggers or the engine's tables (slot numbers, key values against `for_each`,
//! capacities) are made there, and should one fail the engine is reset to a fresh,
//! empty one before the error is returned: it is never left half restored.

use core::fmt;

use super::load::Children;
use super::{AddTriggerError, Engine, NodeKind, TriggerId};
use crate::store::Storage;

mod codec;
mod records;
mod restore;

use codec::crc32;
#[cfg(test)]
use codec::encode_seen;
#[cfg(test)]
use codec::fingerprint;
use records::{
    ActionsOut, FollowersOut, KeysOut, LatenessOut, NodesOut, PayloadOut, RootsOut, SeenCacheOut,
    WaitingOut,
};
pub use restore::RestoreOutcome;

/// The first four bytes of every snapshot.
pub const SNAPSHOT_MAGIC: [u8; 4] = *b"OVDS";
/// The snapshot format version this build writes and reads.
pub const SNAPSHOT_VERSION: u16 = 3;
/// Length of the snapshot header: magic (4), version (2), payload length (4), CRC-32
/// of the payload (4), integers little-endian.
pub const SNAPSHOT_HEADER_LEN: usize = 14;

/// Why [`Engine::snapshot`] could not write a snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SnapshotError {
    /// The output buffer is shorter than the snapshot: `needed` bytes are required.
    BufferTooSmall {
        /// The snapshot's size in bytes.
        needed: usize,
    },
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnapshotError::BufferTooSmall { needed } => write!(
                f,
                "the snapshot needs {needed} bytes; pass a buffer at least that long (or use snapshot_to_vec)"
            ),
        }
    }
}

impl core::error::Error for SnapshotError {}

/// Why a restore ([`Engine::restore_in_place`], [`Engine::restore_from`],
/// [`Engine::restore`]) refused a snapshot: no engine is built, or the engine
/// restored in place is left fresh and empty.
#[derive(Clone, Debug, PartialEq)]
pub enum RestoreError {
    /// The bytes end before the header or the payload does.
    Truncated,
    /// The bytes do not start with [`SNAPSHOT_MAGIC`]: not an overdue snapshot.
    BadMagic,
    /// The snapshot was written in a format version this build does not read.
    UnsupportedVersion(u16),
    /// The payload does not match its checksum, or does not decode to a consistent
    /// engine state.
    Corrupt,
    /// A trigger handed to the restore was refused (the error says why).
    InvalidTrigger(TriggerId, AddTriggerError),
    /// The saved state does not fit the configuration's [`Capacities`](super::Capacities)
    /// (the error names the first one it exceeds).
    Full(super::Capacity),
    /// A saved bucket's window does not follow from its trigger's `within` and the
    /// configuration's [`lookback`](super::EngineConfig::lookback): the snapshot was
    /// taken with another look-back (a key keeps only the instant its window is
    /// derived from, so it cannot hold that window).
    Window,
}

impl fmt::Display for RestoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RestoreError::Truncated => f.write_str(
                "the snapshot is truncated (it ends before its header or payload does); use a complete copy, or start with an empty engine",
            ),
            RestoreError::BadMagic => f.write_str(
                "these bytes are not an overdue snapshot (they do not start with \"OVDS\"); check the file name",
            ),
            RestoreError::UnsupportedVersion(v) => write!(
                f,
                "snapshot format version {v} is not supported (this build reads version {SNAPSHOT_VERSION}); restore it with the overdue version that wrote it, or start with an empty engine"
            ),
            RestoreError::Corrupt => f.write_str(
                "the snapshot is corrupt (checksum mismatch or inconsistent contents); discard it and start with an empty engine",
            ),
            RestoreError::InvalidTrigger(id, e) => write!(
                f,
                "trigger {} cannot be loaded: {e}; fix it or leave it out",
                id.0
            ),
            RestoreError::Window => f.write_str(
                "a saved bucket window does not follow from its trigger's within and this engine's lookback: the snapshot was taken with another lookback; restore it with the configuration it was taken with, or start with an empty engine",
            ),
            RestoreError::Full(c) => write!(
                f,
                "the snapshot holds more than this engine's capacities allow: {c}"
            ),
        }
    }
}

impl core::error::Error for RestoreError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            RestoreError::InvalidTrigger(_, e) => Some(e),
            _ => None,
        }
    }
}

/// What [`Engine::restore`] did with each trigger (the [`RestoreOutcome`]s of
/// [`Engine::restore_in_place`], collected).
#[cfg(feature = "alloc")]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RestoreReport {
    /// In the snapshot and given now with the same definition: state restored.
    pub kept: alloc::vec::Vec<TriggerId>,
    /// In the snapshot, but given now with a different definition: loaded, state
    /// dropped.
    pub changed: alloc::vec::Vec<TriggerId>,
    /// In the snapshot, not given now: its state was dropped.
    pub removed: alloc::vec::Vec<TriggerId>,
    /// Given now, not in the snapshot: loaded with no state.
    pub added: alloc::vec::Vec<TriggerId>,
}

// ------------------------------------------------------------------ saving

/// How many items [`for_each_sorted`] takes per scan.
pub(super) const SORT_BATCH: usize = 64;

/// Calls `emit` with every item `items()` yields, in increasing order, without
/// allocating: each scan over `items()` takes the next [`SORT_BATCH`] smallest items
/// above the last one emitted (kept sorted in a small array). The items must be
/// distinct. `n` items take `n / SORT_BATCH + 1` scans.
pub(super) fn for_each_sorted<K: Ord + Copy, I: Iterator<Item = K>, E>(
    items: impl Fn() -> I,
    mut emit: impl FnMut(K) -> Result<(), E>,
) -> Result<(), E> {
    let mut after: Option<K> = None;
    loop {
        let mut batch = heapless::Vec::<K, SORT_BATCH>::new();
        for k in items() {
            if after.is_some_and(|a| k <= a) {
                continue;
            }
            if batch.is_full() {
                if batch.last().is_some_and(|&last| k >= last) {
                    continue;
                }
                batch.pop();
            }
            let at = batch.partition_point(|&b| b < k);
            // room was made above
            let _ = batch.insert(at, k);
        }
        for &k in &batch {
            emit(k)?;
        }
        if batch.len() < SORT_BATCH {
            return Ok(());
        }
        after = batch.last().copied();
    }
}

impl<S: Storage> Engine<S> {
    /// The number of nodes in the tree under node `idx` (itself included).
    pub(super) fn tree_size(&self, idx: u32) -> u32 {
        match self.nodes.get(idx as usize).and_then(Option::as_ref) {
            Some(node) => match &node.kind {
                NodeKind::Composite(c) => Children::of(&self.nodes, c)
                    .fold(1u32, |sum, child| sum.saturating_add(self.tree_size(child))),
                NodeKind::Event(_) => 1,
            },
            None => 0,
        }
    }

    /// The engine's state as a payload description borrowing from it.
    fn payload(&self) -> PayloadOut<'_, S> {
        PayloadOut {
            roots: RootsOut(self),
            nodes: NodesOut(self),
            keys: KeysOut(self),
            free_slots: self.keys.free_slots(),
            wheel_elapsed: self.wheel.elapsed(),
            wall: self.wall,
            events_clock: self.events_clock,
            events_clock_updated: self.events_clock_updated,
            stats: self.stats,
            actions: ActionsOut(&self.actions),
            resume: self.resume.record(),
            seen: SeenCacheOut(&self.seen),
            seen_next_seq: self.seen.export().1,
            waiting: WaitingOut(&self.ordering),
            followers: FollowersOut(&self.ordering),
            next_position: self.ordering.next_position(),
            lateness: LatenessOut(&self.lateness),
            lateness_arrivals: self.lateness.export().2,
            watermark: self.lateness.watermark,
        }
    }

    /// Writes the engine's whole state into `out` and returns the number of bytes
    /// written: a [`SNAPSHOT_HEADER_LEN`]-byte header (magic `OVDS`, format version,
    /// payload length, CRC-32 of the payload) and the postcard payload. See the
    /// module docs ("Snapshots") for what it holds.
    ///
    /// Call it between `handle_*` calls, whenever a checkpoint is wanted; it does not
    /// change the engine and allocates nothing. Firings not yet taken with
    /// [`poll_action`](Self::poll_action) are part of the snapshot.
    ///
    /// # Errors
    ///
    /// [`SnapshotError::BufferTooSmall`] with the size needed when `out` is too short
    /// (nothing useful is written then).
    ///
    /// # Panics
    ///
    /// If the payload is larger than `u32::MAX` bytes (4 GiB, tens of millions of
    /// tracked keys), which the header cannot describe.
    pub fn snapshot(&self, out: &mut [u8]) -> Result<usize, SnapshotError> {
        let payload = self.payload();
        let too_small = |payload: &PayloadOut<'_, S>| SnapshotError::BufferTooSmall {
            needed: SNAPSHOT_HEADER_LEN
                + postcard::experimental::serialized_size(payload).unwrap_or(0),
        };
        if out.len() < SNAPSHOT_HEADER_LEN {
            return Err(too_small(&payload));
        }
        let (header, body) = out.split_at_mut(SNAPSHOT_HEADER_LEN);
        let len = match postcard::to_slice(&payload, body) {
            Ok(written) => written.len(),
            Err(_) => return Err(too_small(&payload)),
        };
        write_header(header, &body[..len]);
        Ok(SNAPSHOT_HEADER_LEN + len)
    }

    /// [`snapshot`](Self::snapshot) into a new `Vec` of exactly the snapshot's size.
    #[cfg(feature = "alloc")]
    ///
    /// # Panics
    ///
    /// As [`snapshot`](Self::snapshot), beyond 4 GiB of payload.
    pub fn snapshot_to_vec(&self) -> alloc::vec::Vec<u8> {
        let payload = self.payload();
        // a guess at the size, to spare most reallocations
        let guess = 256 + 96 * self.keys.len() + 20 * self.seen.len() + 128 * self.lateness.len();
        let mut bytes = alloc::vec::Vec::with_capacity(SNAPSHOT_HEADER_LEN + guess);
        bytes.resize(SNAPSHOT_HEADER_LEN, 0);
        bytes = postcard::to_extend(&payload, bytes)
            .expect("every sequence in the payload has a known length");
        let (header, body) = bytes.split_at_mut(SNAPSHOT_HEADER_LEN);
        write_header(header, body);
        bytes
    }
}

fn write_header(header: &mut [u8], payload: &[u8]) {
    let len = u32::try_from(payload.len()).expect("a snapshot payload is at most 4 GiB");
    header[0..4].copy_from_slice(&SNAPSHOT_MAGIC);
    header[4..6].copy_from_slice(&SNAPSHOT_VERSION.to_le_bytes());
    header[6..10].copy_from_slice(&len.to_le_bytes());
    header[10..14].copy_from_slice(&crc32(payload).to_le_bytes());
}

/// Checks the header and the checksum; returns the payload.
fn read_header(bytes: &[u8]) -> Result<&[u8], RestoreError> {
    let magic_len = bytes.len().min(SNAPSHOT_MAGIC.len());
    if bytes[..magic_len] != SNAPSHOT_MAGIC[..magic_len] {
        return Err(RestoreError::BadMagic);
    }
    if bytes.len() < SNAPSHOT_HEADER_LEN {
        return Err(RestoreError::Truncated);
    }
    let u16_at = |i: usize| u16::from_le_bytes([bytes[i], bytes[i + 1]]);
    let u32_at =
        |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let version = u16_at(4);
    if version != SNAPSHOT_VERSION {
        return Err(RestoreError::UnsupportedVersion(version));
    }
    let len = u32_at(6) as usize;
    let payload = &bytes[SNAPSHOT_HEADER_LEN..];
    if payload.len() < len {
        return Err(RestoreError::Truncated);
    }
    if payload.len() > len || crc32(payload) != u32_at(10) {
        return Err(RestoreError::Corrupt);
    }
    Ok(payload)
}

#[cfg(test)]
mod tests;
