//! [`SeenCache`]: the ids of recently processed events (Prefect's de-duplication).

use core::hash::{BuildHasher, Hasher};

use crate::event::EventId;
use crate::hash::FxBuildHasher;
use crate::store::{Queue, Seq, Storage};
use crate::time::{Duration, Instant};

/// The ids of events processed recently: Prefect's `TTLCache(maxsize, ttl)` of seen
/// event ids, on the wall clock.
///
/// An id is "seen" while `now < set_at + ttl`. Setting an id again refreshes its
/// expiry and makes it the most recently set. When the cache is full, expired ids are
/// dropped first (from the least recently set, stopping at the first live one, as
/// `cachetools` does), then the least recently set id is evicted.
///
/// The ids sit on a ring in set order, each at a *position* (`front` + its place on
/// the ring). A refreshed id leaves a stale entry behind, skipped when it reaches the
/// front; the ring is compacted (and renumbered from 0) when stale entries outnumber
/// live ones.
///
/// Live ids are found through an index of *lanes*: `u64`s holding a 32-bit tag of the
/// id's hash and its position, in buckets of up to 8 lanes (one cache line), the last
/// lane of each bucket being its overflow mark. An id goes into the first free lane
/// from its home bucket on, marking every full bucket it passes, and a lookup goes on
/// past a bucket only while that bucket is marked. Each ring entry names its lane, so
/// dropping the least recently set id clears that lane without reading the index
/// (the eviction a full consumer does on every event costs a store, not a lookup).
/// Marks stay until the index is rebuilt (when they pile up, or to grow it). With
/// four lanes per id of capacity a bucket overflows rarely. Every operation is O(1)
/// amortized.
pub(crate) struct SeenCache<S: Storage> {
    /// The ids in set order, possibly with stale entries.
    order: S::SeenQueue<SeenEntry>,
    /// The index, four lanes per element (see the type's documentation).
    lanes: S::SeenLanes,
    /// The position of the front entry of `order`.
    front: u32,
    /// How many ids are held (live entries of `order`).
    live: usize,
    /// How many entries of `order` are stale.
    stale: usize,
    /// How many buckets carry an overflow mark.
    marked: usize,
    /// Rebuild the index when more buckets than this are marked.
    rebuild_at: usize,
    next_seq: u64,
    /// The last id [`check`](Self::check) did not find, and its hash, until the
    /// next insert (nothing else adds an id).
    missed: Option<(EventId, u64)>,
}

/// An id on the ring.
#[derive(Clone, Copy, Debug)]
struct SeenEntry {
    /// Set order, kept in snapshots.
    seq: u64,
    id: EventId,
    expires: Instant,
    /// The lane indexing it (while it is live: the lane holds its position).
    lane: u32,
}

impl<S: Storage> Default for SeenCache<S> {
    fn default() -> Self {
        SeenCache {
            order: Default::default(),
            lanes: Default::default(),
            front: 0,
            live: 0,
            stale: 0,
            marked: 0,
            rebuild_at: 0,
            next_seq: 0,
            missed: None,
        }
    }
}

/// Whether an id expiring at `exp` is still seen at `now`. An expiry that saturated at
/// `Instant::MAX` lies beyond representable time: it never expires (otherwise nothing
/// would be a duplicate at the last instant).
fn live(exp: Instant, now: Instant) -> bool {
    now < exp || exp == Instant::MAX
}

/// The hash an id is indexed under: its two halves through
/// [`FxHasher`](crate::hash::FxHasher), finalized.
fn seen_hash(id: &EventId) -> u64 {
    let words = u128::from_le_bytes(id.0);
    let mut h = FxBuildHasher.build_hasher();
    h.write_u64(words as u64);
    h.write_u64((words >> 64) as u64);
    h.finish()
}

/// Positions are renumbered from 0 before the back of the ring would reach this one.
pub(crate) const LAST_POSITION: u32 = u32::MAX - 1;

/// The most index elements (four lanes each): every lane is numbered by a `u32`. An
/// index this large (32 GiB) holds some 3 billion ids; an id beyond what it holds is
/// not remembered.
const MAX_GROUPS: usize = (u32::MAX / 4) as usize;

/// The lane holding `tag` and `pos` (never 0: a tag has its low bit set).
fn lane_value(tag: u32, pos: u32) -> u64 {
    (u64::from(tag) << 32) | u64::from(pos)
}

/// The tag of a hash: its upper half with the low bit set (so no lane in use is 0).
fn tag_of(hash: u64) -> u32 {
    (hash >> 32) as u32 | 1
}

/// The lanes of one bucket (`width`, the last one being its overflow mark) and the
/// number of buckets of an index of `lanes` lanes (a multiple of 4).
#[inline]
fn geometry(lanes: usize) -> (usize, usize) {
    // (shifts, no division: this is on every lookup; below 8 lanes there are 0 or 4)
    match lanes {
        0 => (0, 0),
        1..8 => (lanes, 1),
        _ => (8, lanes >> 3),
    }
}

/// Bit `i` set for each of `lanes` whose tag is `tag`.
#[inline]
fn tag_hits(lanes: &[u64], tag: u32) -> u32 {
    lanes.iter().enumerate().fold(0, |m, (i, &v)| {
        m | (u32::from((v >> 32) as u32 == tag) << i)
    })
}

/// The home bucket of a hash among `buckets` (its lower half scaled, no division).
fn home(hash: u64, buckets: usize) -> usize {
    ((u64::from(hash as u32) * buckets as u64) >> 32) as usize
}

/// Files `pos` under `hash` in the first free lane from its home bucket on, marking
/// the full buckets it passes (counted in `marked`); the lane, or `None` when every
/// lane is taken (the callers keep fewer ids than lanes).
fn file(lanes: &mut [u64], hash: u64, pos: u32, marked: &mut usize) -> Option<u32> {
    let (width, buckets) = geometry(lanes.len());
    let mut b = home(hash, buckets);
    for _ in 0..buckets {
        let base = b * width;
        let mark = base + width - 1;
        if let Some(free) = (base..mark).find(|&i| lanes[i] == 0) {
            lanes[free] = lane_value(tag_of(hash), pos);
            return Some(free as u32);
        }
        if lanes[mark] == 0 {
            lanes[mark] = 1;
            *marked += 1;
        }
        b = if b + 1 == buckets { 0 } else { b + 1 };
    }
    None
}

impl<S: Storage> SeenCache<S> {
    /// The lanes as one slice.
    fn flat(&self) -> &[u64] {
        self.lanes.as_flattened()
    }

    /// The position the next id set gets.
    fn next_pos(&self) -> u32 {
        self.front.wrapping_add(self.order.len() as u32)
    }

    /// The lane of `id`'s live entry and that entry, looked up under its `hash`.
    fn find(&self, id: &EventId, hash: u64) -> Option<(u32, &SeenEntry)> {
        let lanes = self.flat();
        let (width, buckets) = geometry(lanes.len());
        if buckets == 0 {
            return None;
        }
        let tag = tag_of(hash);
        let mut b = home(hash, buckets);
        for _ in 0..buckets {
            let base = b * width;
            let bucket = &lanes[base..base + width];
            // the lanes carrying the tag, as bits (a full bucket of 8 is the usual
            // case: its lanes are compared without a branch each)
            let mut hits = match <&[u64; 8]>::try_from(bucket) {
                Ok(full) => tag_hits(&full[..7], tag),
                Err(_) => tag_hits(&bucket[..width - 1], tag),
            };
            while hits != 0 {
                let i = hits.trailing_zeros() as usize;
                hits &= hits - 1;
                let at = (bucket[i] as u32).wrapping_sub(self.front) as usize;
                if let Some(e) = self.order.get(at).filter(|e| e.id == *id) {
                    return Some(((base + i) as u32, e));
                }
            }
            if bucket[width - 1] == 0 {
                return None;
            }
            b = if b + 1 == buckets { 0 } else { b + 1 };
        }
        None
    }

    /// Whether `id` was seen and has not expired at `now`.
    pub(crate) fn contains(&self, id: &EventId, now: Instant) -> bool {
        self.find(id, seen_hash(id))
            .is_some_and(|(_, e)| live(e.expires, now))
    }

    /// [`contains`](Self::contains), remembering a miss so that
    /// [`insert`](Self::insert)ing that id next skips its own lookup (the duplicate
    /// check of an event that is then processed).
    pub(crate) fn check(&mut self, id: &EventId, now: Instant) -> bool {
        let hash = seen_hash(id);
        match self.find(id, hash) {
            Some((_, e)) => live(e.expires, now),
            None => {
                self.missed = Some((*id, hash));
                false
            }
        }
    }

    /// Whether the entry at `pos` is live (its lane still holds its position).
    fn is_live(lanes: &[u64], e: &SeenEntry, pos: u32) -> bool {
        lanes
            .get(e.lane as usize)
            .is_some_and(|&v| v != 0 && v as u32 == pos)
    }

    /// Points `lane` at `pos`, keeping its tag.
    fn repoint(&mut self, lane: u32, pos: u32) {
        if let Some(v) = self.lanes.as_flattened_mut().get_mut(lane as usize) {
            *v = (*v & !u64::from(u32::MAX)) | u64::from(pos);
        }
    }

    /// Drops stale entries at the front; the front is then live (or the ring empty).
    fn skip_stale(&mut self) {
        while self.stale > 0 {
            let Some(e) = self.order.front() else {
                break;
            };
            if Self::is_live(self.flat(), e, self.front) {
                break;
            }
            self.order.pop_front();
            self.front = self.front.wrapping_add(1);
            self.stale -= 1;
        }
    }

    /// Drops the front entry, which is live, clearing its lane (unread).
    fn drop_front(&mut self) {
        if let Some(e) = self.order.pop_front() {
            if let Some(v) = self.lanes.as_flattened_mut().get_mut(e.lane as usize) {
                *v = 0;
            }
            self.front = self.front.wrapping_add(1);
            self.live -= 1;
        }
    }

    /// Drops expired ids from the least recently set end, stopping at the first live one.
    fn expire(&mut self, now: Instant) {
        loop {
            self.skip_stale();
            match self.order.front() {
                Some(e) if !live(e.expires, now) => self.drop_front(),
                _ => break,
            }
        }
    }

    /// Drops the least recently set id; false if there is none.
    fn evict_oldest(&mut self) -> bool {
        self.skip_stale();
        if self.order.is_empty() {
            return false;
        }
        self.drop_front();
        true
    }

    /// Drops every stale entry of the ring and numbers the positions from 0 again.
    fn compact(&mut self) {
        if self.stale > 0 {
            let lanes = self.lanes.as_flattened();
            let mut pos = self.front;
            self.order.retain(|e| {
                let keep = Self::is_live(lanes, e, pos);
                pos = pos.wrapping_add(1);
                keep
            });
            self.stale = 0;
        }
        self.front = 0;
        let lanes = self.lanes.as_flattened_mut();
        for (pos, e) in self.order.iter().enumerate() {
            if let Some(v) = lanes.get_mut(e.lane as usize) {
                *v = (*v & !u64::from(u32::MAX)) | pos as u64;
            }
        }
    }

    /// Files every id again in an index of `groups` elements (four lanes each),
    /// dropping the overflow marks.
    fn rebuild(&mut self, groups: usize) {
        self.compact();
        self.lanes.clear();
        while self.lanes.len() < groups && self.lanes.try_push([0; 4]).is_ok() {}
        self.marked = 0;
        // rotate the ring once, filing each entry at its position
        for pos in 0..self.order.len() {
            let Some(mut e) = self.order.pop_front() else {
                break;
            };
            let lanes = self.lanes.as_flattened_mut();
            // (fewer ids than lanes: there is one)
            e.lane = file(lanes, seen_hash(&e.id), pos as u32, &mut self.marked).unwrap_or(0);
            let _ = self.order.try_push_back(e);
        }
        let buckets = geometry(self.flat().len()).1;
        self.rebuild_at = (buckets / 4).max(self.marked.saturating_mul(2)).max(1);
    }

    /// Makes room in the index for one more id: grows a growable index to three lanes
    /// per id or more (a fixed one is made full size at once), or rebuilds it when overflow
    /// marks have piled up.
    fn make_room(&mut self) {
        let groups = self.lanes.len();
        let want = match self.lanes.max_len() {
            Some(max) => max,
            // (three lanes per id at least: a bucket overflows rarely)
            None if (self.live + 1) * 3 > groups * 4 => (2 * groups).max(2),
            None => groups,
        }
        .min(MAX_GROUPS);
        if want > groups || self.marked > self.rebuild_at {
            self.rebuild(want);
        }
    }

    /// Records `id` as seen at `now` for `ttl`, evicting as `cachetools.TTLCache` does
    /// (expired ids first, then, for a new id in a full cache, the least recently set).
    pub(crate) fn insert(&mut self, id: EventId, now: Instant, ttl: Duration, capacity: usize) {
        self.expire(now);
        let seq = self.next_seq;
        self.next_seq += 1;
        let expires = now.saturating_add(ttl);
        // (an id that `check` missed since the last insert is still absent: only an
        // insert adds one, and expiring above only drops ids)
        let (hash, found) = match self.missed.take() {
            Some((missed, hash)) if missed == id => (hash, None),
            _ => {
                let hash = seen_hash(&id);
                (hash, self.find(&id, hash).map(|(lane, _)| lane))
            }
        };
        let lane = match found {
            // set again: its old entry goes stale, its lane indexes the new one
            Some(lane) => {
                self.repoint(lane, self.next_pos());
                self.stale += 1;
                lane
            }
            // a new id: evict down to the capacity (the new id is not on the ring
            // yet, so the least recently set ones go, as cachetools does)
            None => {
                let capacity = capacity.max(1).min(S::SEEN);
                while self.live >= capacity {
                    if !self.evict_oldest() {
                        break;
                    }
                }
                self.make_room();
                let pos = self.next_pos();
                let lanes = self.lanes.as_flattened_mut();
                let Some(lane) = file(lanes, hash, pos, &mut self.marked) else {
                    // (unreachable: an index has more lanes than ids)
                    return;
                };
                self.live += 1;
                lane
            }
        };
        let full = self
            .order
            .max_len()
            .is_some_and(|max| self.order.len() >= max);
        if full || self.stale > self.live + 32 || self.next_pos() >= LAST_POSITION {
            // stale entries outnumber live ones or fill a fixed ring (a live entry
            // per id fits), or positions run out: compact, then point the new lane
            // at its renumbered position
            self.compact();
            self.repoint(lane, self.next_pos());
        }
        let entry = SeenEntry {
            seq,
            id,
            expires,
            lane,
        };
        // (room was made above)
        let _ = self.order.try_push_back(entry);
    }

    /// The number of ids held (expired ones included until they are dropped).
    pub(crate) fn len(&self) -> usize {
        self.live
    }

    /// Every held id as `(sequence, id, expiry)`, least recently set first (stale
    /// ring entries left out), and the next sequence number.
    pub(crate) fn export(&self) -> (impl Iterator<Item = (u64, EventId, Instant)> + '_, u64) {
        // without stale entries (the consumer's case) every entry is live
        let check = self.stale > 0;
        let lanes = self.flat();
        let front = self.front;
        let live = self
            .order
            .iter()
            .enumerate()
            .filter(move |&(i, e)| !check || Self::is_live(lanes, e, front.wrapping_add(i as u32)))
            .map(|(_, e)| (e.seq, e.id, e.expires));
        (live, self.next_seq)
    }

    /// Empties the cache in place (as [`Default`] makes it).
    pub(crate) fn clear(&mut self) {
        let SeenCache {
            order,
            lanes,
            front,
            live,
            stale,
            marked,
            rebuild_at,
            next_seq,
            missed,
        } = self;
        order.clear();
        lanes.clear();
        *front = 0;
        *live = 0;
        *stale = 0;
        *marked = 0;
        *rebuild_at = 0;
        *next_seq = 0;
        *missed = None;
    }

    /// Empties this cache and fills it with what [`export`](Self::export) describes
    /// (`len` entries), where it is (a fixed cache is inline), holding at most
    /// `capacity` ids: beyond it the least recently set ones are left out, as the
    /// cache itself evicts them (a snapshot of a larger cache restored into a smaller
    /// one). False (the cache then holding any part of it: clear it) unless the ids
    /// are distinct and the sequence numbers strictly increase below `next_seq`.
    pub(crate) fn import_in_place(
        &mut self,
        entries: impl Iterator<Item = (u64, EventId, Instant)> + Clone,
        len: usize,
        next_seq: u64,
        capacity: usize,
    ) -> bool {
        self.clear();
        self.import_entries(entries, len, next_seq, capacity)
            .is_some()
    }

    fn import_entries(
        &mut self,
        entries: impl Iterator<Item = (u64, EventId, Instant)> + Clone,
        len: usize,
        next_seq: u64,
        capacity: usize,
    ) -> Option<()> {
        let cache = self;
        let mut previous: Option<u64> = None;
        for (seq, _, _) in entries.clone() {
            if previous.is_some_and(|p| p >= seq) || seq >= next_seq {
                return None;
            }
            previous = Some(seq);
        }
        let keep = capacity.max(1).min(S::SEEN);
        let left_out = len.saturating_sub(keep);
        for (seq, id, expires) in entries.clone().skip(left_out) {
            let hash = seen_hash(&id);
            if cache.find(&id, hash).is_some() {
                return None;
            }
            cache.make_room();
            let pos = cache.next_pos();
            let lanes = cache.lanes.as_flattened_mut();
            let lane = file(lanes, hash, pos, &mut cache.marked)?;
            cache.live += 1;
            let entry = SeenEntry {
                seq,
                id,
                expires,
                lane,
            };
            cache.order.try_push_back(entry).ok()?;
        }
        // an id left out may not repeat among the kept ones either
        for (_, id, _) in entries.take(left_out) {
            if cache.find(&id, seen_hash(&id)).is_some() {
                return None;
            }
        }
        cache.next_seq = next_seq;
        Some(())
    }

    /// Test access: starts the positions at `front` (an empty cache only).
    #[cfg(test)]
    pub(crate) fn start_positions_at(&mut self, front: u32) {
        assert!(self.order.is_empty());
        self.front = front;
    }
}

#[cfg(test)]
mod tests;
