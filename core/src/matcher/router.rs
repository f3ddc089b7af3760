//! [`Router`]: which triggers might be interested in an event name.

use alloc::string::String;
use alloc::vec::Vec;

use super::{fnmatch, has_wildcards, literal_prefix, CompiledEventTrigger, RouteIndex};
use crate::hash::FxHashMap;
use crate::store::{ByteBuf, Seq};

/// An index from event names to the ids of the triggers whose
/// [`index_keys`](CompiledEventTrigger::index_keys) fnmatch the name: Prefect's
/// `_triggers_by_expect` + the first half of `find_interested_triggers`. Callers then
/// keep the candidates that [`covers`](CompiledEventTrigger::covers) the event.
///
/// # Implementation
///
/// The cost of a lookup grows with the number of *interested* triggers and the number
/// of distinct wildcard prefixes the name could have, not with the number of loaded
/// triggers:
///
/// | key kind | stored in | lookup |
/// |---|---|---|
/// | literal (`prefect.flow-run.Failed`) | `literal`: key → ids | one hash probe of the whole name |
/// | wildcard (`custom.family-7.*`) | `wildcard`: literal prefix (`custom.family-7.`) → patterns → ids | one hash probe per distinct prefix **length** ≤ the name's length, then fnmatch on the patterns of a matching prefix only |
///
/// A wildcard key can only match names that start with its literal prefix (the text
/// before the first `*`, `?` or `[`), so probing `name[..len]` for each prefix length
/// in use finds every candidate group. Maps use the fixed [`FxHashMap`] hasher, and
/// the output is sorted, so results never depend on hashing or insertion order.
#[derive(Clone, Debug, Default)]
pub struct Router {
    literal: FxHashMap<String, Vec<u32>>,
    wildcard: FxHashMap<String, Vec<(String, Vec<u32>)>>,
    /// `(prefix length in bytes, number of wildcard keys with a prefix that long)`,
    /// sorted by length.
    prefix_lengths: Vec<(usize, usize)>,
}

impl Router {
    /// An empty router.
    pub fn new() -> Router {
        Router::default()
    }

    /// Indexes trigger `id` under its keys. Inserting the same `(id, trigger)` twice
    /// is harmless.
    pub fn insert<B: ByteBuf>(&mut self, id: u32, t: &CompiledEventTrigger<B>) {
        for key in t.index_keys() {
            if !has_wildcards(key) {
                let ids = self.literal.entry_ref(key).or_default();
                insert_sorted(ids, id);
                continue;
            }
            let prefix = literal_prefix(key);
            let group = self.wildcard.entry_ref(prefix).or_default();
            match group.iter_mut().find(|(p, _)| p == key) {
                Some((_, ids)) => insert_sorted(ids, id),
                None => {
                    group.push((String::from(key), alloc::vec![id]));
                    match self
                        .prefix_lengths
                        .binary_search_by_key(&prefix.len(), |&(l, _)| l)
                    {
                        Ok(i) => self.prefix_lengths[i].1 += 1,
                        Err(i) => self.prefix_lengths.insert(i, (prefix.len(), 1)),
                    }
                }
            }
        }
    }

    /// Removes trigger `id` from the keys of `t` (the trigger it was inserted with).
    pub fn remove<B: ByteBuf>(&mut self, id: u32, t: &CompiledEventTrigger<B>) {
        for key in t.index_keys() {
            if !has_wildcards(key) {
                if let Some(ids) = self.literal.get_mut(key) {
                    remove_sorted(ids, id);
                    if ids.is_empty() {
                        self.literal.remove(key);
                    }
                }
                continue;
            }
            let prefix = literal_prefix(key);
            let Some(group) = self.wildcard.get_mut(prefix) else {
                continue;
            };
            let Some(pos) = group.iter().position(|(p, _)| p == key) else {
                continue;
            };
            remove_sorted(&mut group[pos].1, id);
            if !group[pos].1.is_empty() {
                continue;
            }
            group.swap_remove(pos);
            if group.is_empty() {
                self.wildcard.remove(prefix);
            }
            if let Ok(i) = self
                .prefix_lengths
                .binary_search_by_key(&prefix.len(), |&(l, _)| l)
            {
                self.prefix_lengths[i].1 -= 1;
                if self.prefix_lengths[i].1 == 0 {
                    self.prefix_lengths.remove(i);
                }
            }
        }
    }

    /// Clears `out`, then fills it with the ids of the triggers with a key that
    /// fnmatches `event_name`, sorted ascending and without duplicates. Allocates only
    /// if `out` lacks capacity.
    pub fn candidates(&self, event_name: &str, out: &mut Vec<u32>) {
        self.fill(event_name, out);
    }

    /// [`candidates`](Self::candidates) into any sequence (ids that do not fit are
    /// left out).
    fn fill(&self, event_name: &str, out: &mut impl Seq<u32>) {
        out.clear();
        let mut extend = |ids: &[u32]| {
            for &id in ids {
                if out.try_push(id).is_err() {
                    break;
                }
            }
        };
        if let Some(ids) = self.literal.get(event_name) {
            extend(ids);
        }
        for &(len, _) in &self.prefix_lengths {
            if len > event_name.len() {
                break;
            }
            let Some(prefix) = event_name.get(..len) else {
                continue; // not a char boundary: no prefix of that length
            };
            if let Some(group) = self.wildcard.get(prefix) {
                for (pattern, ids) in group {
                    if fnmatch(pattern, event_name) {
                        extend(ids);
                    }
                }
            }
        }
        super::route::sort_unique(out);
    }

    /// Whether no trigger is indexed.
    pub fn is_empty(&self) -> bool {
        self.literal.is_empty() && self.wildcard.is_empty()
    }
}

fn insert_sorted(ids: &mut Vec<u32>, id: u32) {
    if let Err(i) = ids.binary_search(&id) {
        ids.insert(i, id);
    }
}

fn remove_sorted(ids: &mut Vec<u32>, id: u32) {
    if let Ok(i) = ids.binary_search(&id) {
        ids.remove(i);
    }
}

impl<B: ByteBuf> RouteIndex<B> for Router {
    fn insert(&mut self, id: u32, t: &CompiledEventTrigger<B>) {
        Router::insert(self, id, t);
    }

    fn remove(&mut self, id: u32, t: &CompiledEventTrigger<B>) {
        Router::remove(self, id, t);
    }

    fn candidates<'t>(
        &self,
        event_name: &str,
        _loaded: impl Iterator<Item = (u32, &'t CompiledEventTrigger<B>)>,
        out: &mut impl Seq<u32>,
    ) where
        B: 't,
    {
        self.fill(event_name, out);
    }
}
