//! Firings: the borrowed [`Firing`] view the engine hands out, the owned
//! [`OwnedFiring`] (feature `alloc`), and [`PackedFiring`], one firing (child firings
//! included) packed into one byte buffer, how the engine keeps firings in any storage
//! flavour.

#[cfg(feature = "alloc")]
use alloc::{string::String, vec::Vec};
use core::fmt;
use core::ops::Deref;
use core::str;

use serde::ser::{SerializeSeq, SerializeStruct, Serializer};
use serde::Serialize;

use super::{FiringKind, TriggerId};
use crate::event::{
    put_varint, read_bytes, read_str, read_varint, take_postcard, varint_len, EventId,
};
use crate::store::ByteBuf;
use crate::time::Instant;

/// Bytes of a packed firing's fixed header: trigger, flags, child, event, instant.
pub(crate) const FIRING_HEADER_LEN: usize = 33;

/// Header flag: `child` is set.
const HAS_CHILD: u8 = 1;
/// Header flag: `event` is set.
const HAS_EVENT: u8 = 2;
/// Header flag: the firing is [`FiringKind::Proactive`].
const PROACTIVE: u8 = 4;

/// A trigger fired: what Prefect hands to `act`, as a borrowed view.
///
/// [`Engine::poll_action`](super::Engine::poll_action) returns one read in place from
/// the engine's packed copy: the fixed fields are plain values, the labels and child
/// firings are decoded on demand by [`labels`](Self::labels) and
/// [`children`](Self::children). Keep one beyond the next engine call with
/// [`to_owned`](Self::to_owned) (feature `alloc`). Two views are equal when their
/// contents are, wherever they are read from.
#[derive(Clone, Copy)]
pub struct Firing<'a> {
    /// The loaded trigger (automation) this firing belongs to.
    pub trigger: TriggerId,
    /// Position of the firing trigger among its parent composite's children, for a
    /// child firing inside [`Firing::children`]; `None` for the top-level firing.
    pub child: Option<u32>,
    /// The triggering event (for proactive firings: the bucket's last event).
    pub event: Option<EventId>,
    /// The wall-clock instant of the firing.
    pub at: Instant,
    /// Proactive evaluation or event processing.
    pub kind: FiringKind,
    /// `triggering_labels`, where they are read from.
    labels: LabelsRepr<'a>,
    /// The child firings, where they are read from.
    children: ChildrenRepr<'a>,
}

/// Where a view's labels are read from.
#[derive(Clone, Copy)]
enum LabelsRepr<'a> {
    /// `len` packed pairs (name length, name, value length, value each).
    Packed { len: usize, bytes: &'a [u8] },
    /// The pairs of an [`OwnedFiring`].
    #[cfg(feature = "alloc")]
    Owned(&'a [(String, String)]),
}

/// Where a view's child firings are read from.
#[derive(Clone, Copy)]
enum ChildrenRepr<'a> {
    /// `len` packed firings, each prefixed with its length.
    Packed { len: usize, bytes: &'a [u8] },
    /// `len` firings as a snapshot encodes them (postcard, as [`OwnedFiring`]),
    /// checked by [`read_postcard_firing`].
    Postcard { len: usize, bytes: &'a [u8] },
    /// The children of an [`OwnedFiring`].
    #[cfg(feature = "alloc")]
    Owned(&'a [OwnedFiring]),
}

impl<'a> Firing<'a> {
    /// `triggering_labels`: each `for_each` label (sorted) with this key's value
    /// (`""` when missing); empty for composite triggers.
    pub fn labels(&self) -> FiringLabels<'a> {
        FiringLabels(match self.labels {
            LabelsRepr::Packed { len, bytes } => LabelsIter::Packed { len, bytes, at: 0 },
            #[cfg(feature = "alloc")]
            LabelsRepr::Owned(pairs) => LabelsIter::Owned(pairs.iter()),
        })
    }

    /// For composite triggers: the child firings that made it fire, in the order
    /// Prefect's database returns them.
    pub fn children(&self) -> FiringChildren<'a> {
        FiringChildren(match self.children {
            ChildrenRepr::Packed { len, bytes } => ChildrenIter::Packed { len, bytes, at: 0 },
            ChildrenRepr::Postcard { len, bytes } => ChildrenIter::Postcard { len, bytes, at: 0 },
            #[cfg(feature = "alloc")]
            ChildrenRepr::Owned(children) => ChildrenIter::Owned(children.iter()),
        })
    }

    /// The fixed fields.
    fn head(&self) -> Head {
        Head {
            trigger: self.trigger,
            child: self.child,
            event: self.event,
            at: self.at,
            kind: self.kind,
        }
    }

    /// A view with these fixed fields and nothing else (what bytes that do not
    /// decode read as).
    fn bare(head: Head) -> Firing<'static> {
        Firing {
            trigger: head.trigger,
            child: head.child,
            event: head.event,
            at: head.at,
            kind: head.kind,
            labels: LabelsRepr::Packed { len: 0, bytes: &[] },
            children: ChildrenRepr::Packed { len: 0, bytes: &[] },
        }
    }

    /// Copies the view into an [`OwnedFiring`].
    #[cfg(feature = "alloc")]
    pub fn to_owned(&self) -> OwnedFiring {
        use alloc::string::ToString;
        OwnedFiring {
            trigger: self.trigger,
            child: self.child,
            labels: self
                .labels()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            event: self.event,
            at: self.at,
            kind: self.kind,
            children: self.children().map(|c| c.to_owned()).collect(),
        }
    }
}

impl PartialEq for Firing<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.head() == other.head()
            && self.labels().eq(other.labels())
            && self.children().eq(other.children())
    }
}

impl Eq for Firing<'_> {}

impl fmt::Debug for Firing<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        /// The labels as a list of pairs.
        struct Labels<'a>(FiringLabels<'a>);
        impl fmt::Debug for Labels<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_list().entries(self.0.clone()).finish()
            }
        }
        /// The children as a list of firings.
        struct Children<'a>(FiringChildren<'a>);
        impl fmt::Debug for Children<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_list().entries(self.0.clone()).finish()
            }
        }
        f.debug_struct("Firing")
            .field("trigger", &self.trigger)
            .field("child", &self.child)
            .field("labels", &Labels(self.labels()))
            .field("event", &self.event)
            .field("at", &self.at)
            .field("kind", &self.kind)
            .field("children", &Children(self.children()))
            .finish()
    }
}

/// Encodes as [`OwnedFiring`] does, field for field (the snapshot's encoding of a
/// pending or stored firing).
impl Serialize for Firing<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        /// The labels as `Vec<(String, String)>` encodes.
        struct Labels<'a>(FiringLabels<'a>);
        impl Serialize for Labels<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut seq = s.serialize_seq(Some(self.0.len()))?;
                for pair in self.0.clone() {
                    seq.serialize_element(&pair)?;
                }
                seq.end()
            }
        }
        /// The children as `Vec<OwnedFiring>` encodes.
        struct Children<'a>(FiringChildren<'a>);
        impl Serialize for Children<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut seq = s.serialize_seq(Some(self.0.len()))?;
                for child in self.0.clone() {
                    seq.serialize_element(&child)?;
                }
                seq.end()
            }
        }
        let mut st = s.serialize_struct("Firing", 7)?;
        st.serialize_field("trigger", &self.trigger)?;
        st.serialize_field("child", &self.child)?;
        st.serialize_field("labels", &Labels(self.labels()))?;
        st.serialize_field("event", &self.event)?;
        st.serialize_field("at", &self.at)?;
        st.serialize_field("kind", &self.kind)?;
        st.serialize_field("children", &Children(self.children()))?;
        st.end()
    }
}

/// The labels of a [`Firing`]: `(name, value)` pairs, sorted by name.
#[derive(Clone, Debug)]
pub struct FiringLabels<'a>(LabelsIter<'a>);

#[derive(Clone, Debug)]
enum LabelsIter<'a> {
    Packed {
        len: usize,
        bytes: &'a [u8],
        at: usize,
    },
    #[cfg(feature = "alloc")]
    Owned(core::slice::Iter<'a, (String, String)>),
}

impl<'a> Iterator for FiringLabels<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            LabelsIter::Packed { len, bytes, at } => {
                if *len == 0 {
                    return None;
                }
                let pair = read_str(bytes, at).and_then(|k| Some((k, read_str(bytes, at)?)));
                // checked when the view was made, so a pair always decodes
                *len = if pair.is_some() { *len - 1 } else { 0 };
                pair
            }
            #[cfg(feature = "alloc")]
            LabelsIter::Owned(pairs) => pairs.next().map(|(k, v)| (k.as_str(), v.as_str())),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let len = match &self.0 {
            LabelsIter::Packed { len, .. } => *len,
            #[cfg(feature = "alloc")]
            LabelsIter::Owned(pairs) => pairs.len(),
        };
        (len, Some(len))
    }
}

impl ExactSizeIterator for FiringLabels<'_> {}

/// The child firings of a [`Firing`].
#[derive(Clone, Debug)]
pub struct FiringChildren<'a>(ChildrenIter<'a>);

#[derive(Clone, Debug)]
enum ChildrenIter<'a> {
    Packed {
        len: usize,
        bytes: &'a [u8],
        at: usize,
    },
    Postcard {
        len: usize,
        bytes: &'a [u8],
        at: usize,
    },
    #[cfg(feature = "alloc")]
    Owned(core::slice::Iter<'a, OwnedFiring>),
}

impl<'a> Iterator for FiringChildren<'a> {
    type Item = Firing<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            ChildrenIter::Packed { len, bytes, at } => {
                if *len == 0 {
                    return None;
                }
                let child = read_bytes(bytes, at).and_then(read_firing);
                // checked when the view was made, so a child always decodes
                *len = if child.is_some() { *len - 1 } else { 0 };
                child
            }
            ChildrenIter::Postcard { len, bytes, at } => {
                if *len == 0 {
                    return None;
                }
                let child = read_postcard_firing(bytes, at, 0);
                // checked when the view was made, so a child always decodes
                *len = if child.is_some() { *len - 1 } else { 0 };
                child
            }
            #[cfg(feature = "alloc")]
            ChildrenIter::Owned(children) => children.next().map(OwnedFiring::view),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let len = match &self.0 {
            ChildrenIter::Packed { len, .. } | ChildrenIter::Postcard { len, .. } => *len,
            #[cfg(feature = "alloc")]
            ChildrenIter::Owned(children) => children.len(),
        };
        (len, Some(len))
    }
}

impl ExactSizeIterator for FiringChildren<'_> {}

/// A trigger fired, owned: a [`Firing`] kept beyond the engine call that returned
/// it, or read back from a snapshot.
#[cfg(feature = "alloc")]
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OwnedFiring {
    /// The loaded trigger (automation) this firing belongs to.
    pub trigger: TriggerId,
    /// Position of the firing trigger among its parent composite's children, for a
    /// child firing inside [`OwnedFiring::children`]; `None` for the top-level firing.
    pub child: Option<u32>,
    /// `triggering_labels`: each `for_each` label (sorted) with this key's value
    /// (`""` when missing); empty for composite triggers.
    pub labels: Vec<(String, String)>,
    /// The triggering event (for proactive firings: the bucket's last event).
    pub event: Option<EventId>,
    /// The wall-clock instant of the firing.
    pub at: Instant,
    /// Proactive evaluation or event processing.
    pub kind: FiringKind,
    /// For composite triggers: the child firings that made it fire.
    pub children: Vec<OwnedFiring>,
}

#[cfg(feature = "alloc")]
impl OwnedFiring {
    /// A borrowed view of this firing (no allocation).
    pub fn view(&self) -> Firing<'_> {
        Firing {
            trigger: self.trigger,
            child: self.child,
            event: self.event,
            at: self.at,
            kind: self.kind,
            labels: LabelsRepr::Owned(&self.labels),
            children: ChildrenRepr::Owned(&self.children),
        }
    }
}

#[cfg(feature = "alloc")]
impl From<Firing<'_>> for OwnedFiring {
    fn from(firing: Firing<'_>) -> Self {
        firing.to_owned()
    }
}

/// The fixed fields of a firing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Head {
    pub(crate) trigger: TriggerId,
    pub(crate) child: Option<u32>,
    pub(crate) event: Option<EventId>,
    pub(crate) at: Instant,
    pub(crate) kind: FiringKind,
}

impl Head {
    /// The header bytes.
    fn encode(&self) -> [u8; FIRING_HEADER_LEN] {
        let mut out = [0u8; FIRING_HEADER_LEN];
        out[..4].copy_from_slice(&self.trigger.0.to_le_bytes());
        let mut flags = 0;
        if let Some(child) = self.child {
            flags |= HAS_CHILD;
            out[5..9].copy_from_slice(&child.to_le_bytes());
        }
        if let Some(event) = self.event {
            flags |= HAS_EVENT;
            out[9..25].copy_from_slice(&event.0);
        }
        if self.kind == FiringKind::Proactive {
            flags |= PROACTIVE;
        }
        out[4] = flags;
        out[25..33].copy_from_slice(&self.at.as_micros().to_le_bytes());
        out
    }

    /// The fields of a header (`None` if `bytes` is shorter than one or has unknown
    /// flags).
    fn decode(bytes: &[u8]) -> Option<Head> {
        let header: &[u8; FIRING_HEADER_LEN] = bytes.get(..FIRING_HEADER_LEN)?.try_into().ok()?;
        let flags = header[4];
        if flags & !(HAS_CHILD | HAS_EVENT | PROACTIVE) != 0 {
            return None;
        }
        let mut word = [0u8; 4];
        word.copy_from_slice(&header[..4]);
        let trigger = TriggerId(u32::from_le_bytes(word));
        word.copy_from_slice(&header[5..9]);
        let child = (flags & HAS_CHILD != 0).then_some(u32::from_le_bytes(word));
        let mut id = [0u8; 16];
        id.copy_from_slice(&header[9..25]);
        let event = (flags & HAS_EVENT != 0).then_some(EventId(id));
        let mut micros = [0u8; 8];
        micros.copy_from_slice(&header[25..33]);
        Some(Head {
            trigger,
            child,
            event,
            at: Instant::from_micros(u64::from_le_bytes(micros)),
            kind: if flags & PROACTIVE != 0 {
                FiringKind::Proactive
            } else {
                FiringKind::Reactive
            },
        })
    }
}

/// Reads a packed firing (the whole of `bytes`), checking every label and child
/// firing decodes; `None` if anything does not.
fn read_firing(bytes: &[u8]) -> Option<Firing<'_>> {
    let head = Head::decode(bytes)?;
    let mut at = FIRING_HEADER_LEN;
    let labels_len = read_varint(bytes, &mut at)?;
    let labels_start = at;
    for _ in 0..labels_len {
        read_str(bytes, &mut at)?;
        read_str(bytes, &mut at)?;
    }
    let labels = bytes.get(labels_start..at)?;
    let children_len = read_varint(bytes, &mut at)?;
    let children_start = at;
    for _ in 0..children_len {
        read_firing(read_bytes(bytes, &mut at)?)?;
    }
    if at != bytes.len() {
        return None;
    }
    Some(Firing {
        labels: LabelsRepr::Packed {
            len: labels_len,
            bytes: labels,
        },
        children: ChildrenRepr::Packed {
            len: children_len,
            bytes: bytes.get(children_start..)?,
        },
        ..Firing::bare(head)
    })
}

/// How deep [`read_postcard_firing`] follows child firings: far beyond any trigger
/// tree a firing comes from, and a bound on the stack it uses for hostile bytes.
const MAX_POSTCARD_DEPTH: u32 = 256;

/// Reads a firing at `*at` as a snapshot encodes it (postcard, field for field as
/// [`OwnedFiring`]), moving past it: the view reads its labels and children in place.
/// `None` unless it decodes whole (labels UTF-8, children at most
/// [`MAX_POSTCARD_DEPTH`] levels below `depth`).
pub(crate) fn read_postcard_firing<'a>(
    bytes: &'a [u8],
    at: &mut usize,
    depth: u32,
) -> Option<Firing<'a>> {
    if depth > MAX_POSTCARD_DEPTH {
        return None;
    }
    let trigger: TriggerId = take_postcard(bytes, at)?;
    let child: Option<u32> = take_postcard(bytes, at)?;
    let labels_len: usize = take_postcard(bytes, at)?;
    let labels_start = *at;
    for _ in 0..labels_len {
        take_postcard::<&str>(bytes, at)?;
        take_postcard::<&str>(bytes, at)?;
    }
    let labels = &bytes[labels_start..*at];
    let event: Option<EventId> = take_postcard(bytes, at)?;
    let instant: Instant = take_postcard(bytes, at)?;
    let kind: FiringKind = take_postcard(bytes, at)?;
    let children_len: usize = take_postcard(bytes, at)?;
    let children_start = *at;
    for _ in 0..children_len {
        read_postcard_firing(bytes, at, depth + 1)?;
    }
    Some(Firing {
        labels: LabelsRepr::Packed {
            len: labels_len,
            bytes: labels,
        },
        children: ChildrenRepr::Postcard {
            len: children_len,
            bytes: &bytes[children_start..*at],
        },
        ..Firing::bare(Head {
            trigger,
            child,
            event,
            at: instant,
            kind,
        })
    })
}

/// Bytes of a labels section: count, then every name and value with its length.
fn labels_len<'l>(labels: impl Iterator<Item = (&'l str, &'l str)>) -> usize {
    let (count, bytes) = labels.fold((0usize, 0usize), |(count, sum), (k, v)| {
        let pair = varint_len(k.len()) + k.len() + varint_len(v.len()) + v.len();
        (count + 1, sum.saturating_add(pair))
    });
    bytes.saturating_add(varint_len(count))
}

/// Bytes of a firing with these labels and children, packed.
fn encoded_len<'l, 'c>(
    labels: impl Iterator<Item = (&'l str, &'l str)>,
    children: impl Iterator<Item = Firing<'c>>,
) -> usize {
    let (count, bytes) = children.fold((0usize, 0usize), |(count, sum), c| {
        let len = encoded_len(c.labels(), c.children());
        (
            count + 1,
            sum.saturating_add(varint_len(len)).saturating_add(len),
        )
    });
    (FIRING_HEADER_LEN + varint_len(count))
        .saturating_add(labels_len(labels))
        .saturating_add(bytes)
}

/// Appends a firing; false when it does not fit.
fn put_firing<'l, 'c, B: ByteBuf>(
    out: &mut B,
    head: &Head,
    mut labels: impl Iterator<Item = (&'l str, &'l str)> + Clone,
    mut children: impl Iterator<Item = Firing<'c>> + Clone,
) -> bool {
    out.try_extend(&head.encode())
        && put_varint(out, labels.clone().count())
        && labels.all(|(k, v)| {
            put_varint(out, k.len())
                && out.try_extend(k.as_bytes())
                && put_varint(out, v.len())
                && out.try_extend(v.as_bytes())
        })
        && put_varint(out, children.clone().count())
        && children.all(|c| {
            put_varint(out, encoded_len(c.labels(), c.children()))
                && put_firing(out, &c.head(), c.labels(), c.children())
        })
}

/// One firing packed into one byte buffer `B`, its child firings included: how the
/// engine keeps pending firings and composite triggers' stored child firings.
///
/// # Layout
///
/// | bytes | content |
/// |---|---|
/// | 0..4 | trigger id, `u32` little-endian |
/// | 4 | flags: 1 `child` set, 2 `event` set, 4 proactive |
/// | 5..9 | `child`, `u32` little-endian (zeros when unset) |
/// | 9..25 | `event` id (zeros when unset) |
/// | 25..33 | `at`, µs, `u64` little-endian |
/// | 33.. | labels: count, then per label name length, name, value length, value |
/// | | children: count, then per child firing its length and its packed bytes |
///
/// Every length and count is a varint (`crate::varint`). An event trigger's
/// firing with labels of `l` bytes (names and values, all shorter than 128 bytes)
/// over `p` labels takes `33 + 1 + 2p + l + 1` bytes; a composite's `33 + 1 + 1 +`
/// its children's lengths, each plus its varint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PackedFiring<B> {
    bytes: B,
}

impl<B: ByteBuf> PackedFiring<B> {
    /// A firing with these fields, labels and children packed, or `None` when it
    /// takes more than `B` holds.
    pub(crate) fn pack<'l, 'c>(
        head: &Head,
        labels: impl Iterator<Item = (&'l str, &'l str)> + Clone,
        children: impl Iterator<Item = Firing<'c>> + Clone,
    ) -> Option<Self> {
        let len = encoded_len(labels.clone(), children.clone());
        if B::max_len().is_some_and(|max| len > max) {
            return None;
        }
        let mut out = B::with_room(len);
        put_firing(&mut out, head, labels, children).then_some(PackedFiring { bytes: out })
    }

    /// `firing` packed, or `None` when it takes more than `B` holds.
    pub(crate) fn from_view(firing: &Firing<'_>) -> Option<Self> {
        Self::pack(&firing.head(), firing.labels(), firing.children())
    }
}

impl<B: Deref<Target = [u8]>> PackedFiring<B> {
    /// The firing as a borrowed view, read in place (no allocation). Bytes that do
    /// not decode (never made by [`pack`](PackedFiring::pack)) read as a firing with
    /// no labels and no children.
    pub(crate) fn view(&self) -> Firing<'_> {
        read_firing(&self.bytes).unwrap_or_else(|| {
            Firing::bare(Head::decode(&self.bytes).unwrap_or(Head {
                trigger: TriggerId(0),
                child: None,
                event: None,
                at: Instant::ZERO,
                kind: FiringKind::Reactive,
            }))
        })
    }

    /// The firing's instant, read from the header alone.
    pub(crate) fn at(&self) -> Instant {
        let mut micros = [0u8; 8];
        if let Some(bytes) = self.bytes.get(25..33) {
            micros.copy_from_slice(bytes);
        }
        Instant::from_micros(u64::from_le_bytes(micros))
    }

    /// The packed bytes.
    #[cfg(test)]
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// The most bytes a firing takes packed when its labels are `names` (with any
/// values of `key_bytes` bytes in all, lengths included: the values of one key) and
/// it has no children: an event trigger's firing. Saturates at `usize::MAX`.
pub(crate) fn max_event_firing_len<'a>(
    names: impl Iterator<Item = &'a str>,
    key_bytes: usize,
) -> usize {
    let (count, bytes) = names.fold((0usize, 0usize), |(count, sum), name| {
        (
            count + 1,
            sum.saturating_add(varint_len(name.len()) + name.len()),
        )
    });
    // (a trigger without `for_each` has one key, the empty one)
    let values = if count == 0 { 0 } else { key_bytes };
    (FIRING_HEADER_LEN + varint_len(count) + varint_len(0))
        .saturating_add(bytes)
        .saturating_add(values)
}

/// The most bytes a composite trigger's firing takes packed, given the most each of
/// its children's firings takes. Saturates at `usize::MAX`.
pub(crate) fn max_composite_firing_len(children: impl Iterator<Item = usize>) -> usize {
    let (count, bytes) = children.fold((0usize, 0usize), |(count, sum), len| {
        (
            count + 1,
            sum.saturating_add(varint_len(len)).saturating_add(len),
        )
    });
    (FIRING_HEADER_LEN + varint_len(0) + varint_len(count)).saturating_add(bytes)
}

#[cfg(test)]
mod tests;
