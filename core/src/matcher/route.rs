//! [`RouteIndex`]: how the engine finds the triggers interested in an event name, and
//! [`ScanRouter`], the index-free one for fixed storage.

use super::{fnmatch, CompiledEventTrigger};
use crate::store::{ByteBuf, Seq};

/// Finds the loaded event triggers with an [index
/// key](CompiledEventTrigger::index_keys) that fnmatches an event name (Prefect's
/// `_triggers_by_expect` lookup). Callers then keep the candidates that
/// [`covers`](CompiledEventTrigger::covers) the event.
///
/// The engine tells an index about every trigger it routes ([`insert`](Self::insert),
/// [`remove`](Self::remove)) and, when asking for candidates, also hands it those
/// triggers (`loaded`, in ascending id order), so an index may keep nothing and scan.
pub trait RouteIndex<B: ByteBuf>: Default {
    /// Trigger `id` is routed from now on. Inserting the same `(id, trigger)` twice is
    /// harmless.
    fn insert(&mut self, id: u32, t: &CompiledEventTrigger<B>);

    /// Trigger `id` (inserted as `t`) is no longer routed.
    fn remove(&mut self, id: u32, t: &CompiledEventTrigger<B>);

    /// Clears `out`, then fills it with the ids of the routed triggers with a key
    /// that fnmatches `event_name`, ascending and without duplicates. `loaded` yields
    /// every routed trigger with its id, ascending.
    fn candidates<'t>(
        &self,
        event_name: &str,
        loaded: impl Iterator<Item = (u32, &'t CompiledEventTrigger<B>)>,
        out: &mut impl Seq<u32>,
    ) where
        B: 't;
}

/// A [`RouteIndex`] that keeps nothing: each lookup scans the routed triggers' index
/// keys with [`fnmatch`]. Its cost grows with the number of loaded event triggers
/// (and their keys), which suits the few triggers of a fixed-capacity engine; the
/// result is the same as the indexed [`Router`](super::Router)'s.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScanRouter;

impl<B: ByteBuf> RouteIndex<B> for ScanRouter {
    fn insert(&mut self, _id: u32, _t: &CompiledEventTrigger<B>) {}

    fn remove(&mut self, _id: u32, _t: &CompiledEventTrigger<B>) {}

    fn candidates<'t>(
        &self,
        event_name: &str,
        loaded: impl Iterator<Item = (u32, &'t CompiledEventTrigger<B>)>,
        out: &mut impl Seq<u32>,
    ) where
        B: 't,
    {
        out.clear();
        for (id, t) in loaded {
            if t.index_keys().any(|key| fnmatch(key, event_name)) && out.try_push(id).is_err() {
                break;
            }
        }
        sort_unique(out);
    }
}

/// Sorts `ids` ascending and drops duplicates.
pub(crate) fn sort_unique(ids: &mut impl Seq<u32>) {
    match ids.len() {
        0 | 1 => {}
        2 => {
            if ids[0] > ids[1] {
                ids.swap(0, 1);
            } else if ids[0] == ids[1] {
                ids.truncate(1);
            }
        }
        _ => {
            ids.sort_unstable();
            let mut kept = 1;
            for i in 1..ids.len() {
                if ids[i] != ids[kept - 1] {
                    ids[kept] = ids[i];
                    kept += 1;
                }
            }
            ids.truncate(kept);
        }
    }
}
