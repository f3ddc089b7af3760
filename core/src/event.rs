//! Events: a borrowed [`Event`] view for the hot path and, with `alloc`, an owned
//! [`OwnedEvent`].
//!
//! The view needs no allocation: labels are borrowed slices of `(name, value)` pairs,
//! either `&str` pairs (an edge agent that parsed in place) or `String` pairs (an
//! [`OwnedEvent`]). Only what trigger evaluation reads is kept: Prefect's `payload` is
//! accepted by the parsers and ignored.

#[cfg(feature = "alloc")]
use alloc::{string::String, vec::Vec};
use core::fmt;
use serde::{Deserialize, Serialize};

use crate::time::Instant;

mod packed;
// (for the engine's packed firings; the engine itself still needs `alloc`)
#[cfg_attr(not(feature = "alloc"), allow(unused_imports))]
pub(crate) use packed::{
    put_varint, read_bytes, read_postcard_event, read_str, read_varint, take_postcard, varint_len,
};
pub use packed::{
    PackedEvent, PackedLabels, PackedLabelsIter, PackedRelated, PackedRelatedIter,
    PACKED_HEADER_LEN,
};

/// The label holding a resource's id (`prefect.resource.id`).
pub const RESOURCE_ID: &str = "prefect.resource.id";
/// The label holding a related resource's role (`prefect.resource.role`).
pub const RESOURCE_ROLE: &str = "prefect.resource.role";

/// A 16-byte event id: the UUID Prefect gives every event.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EventId(pub [u8; 16]);

impl EventId {
    /// Parses a UUID in its hyphenated (`8-4-4-4-12`) or simple (32 hex digits) form.
    pub fn parse(text: &str) -> Option<EventId> {
        let bytes = text.as_bytes();
        let mut out = [0u8; 16];
        let mut nibbles = 0usize;
        let hyphenated = bytes.len() == 36;
        if !hyphenated && bytes.len() != 32 {
            return None;
        }
        for (i, &b) in bytes.iter().enumerate() {
            if hyphenated && matches!(i, 8 | 13 | 18 | 23) {
                if b != b'-' {
                    return None;
                }
                continue;
            }
            let v = match b {
                b'0'..=b'9' => b - b'0',
                b'a'..=b'f' => b - b'a' + 10,
                b'A'..=b'F' => b - b'A' + 10,
                _ => return None,
            };
            out[nibbles / 2] |= if nibbles.is_multiple_of(2) { v << 4 } else { v };
            nibbles += 1;
        }
        Some(EventId(out))
    }

    /// Parses every UUID spelling pydantic accepts for Prefect's `UUID` fields: the
    /// forms of [`EventId::parse`], plus `{…}`-braced and `urn:uuid:`-prefixed.
    pub fn parse_lenient(text: &str) -> Option<EventId> {
        let inner = text
            .strip_prefix('{')
            .and_then(|t| t.strip_suffix('}'))
            .or_else(|| text.strip_prefix("urn:uuid:"))
            .unwrap_or(text);
        EventId::parse(inner)
    }
}

impl fmt::Display for EventId {
    /// The hyphenated lower-case UUID form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The labels of one resource, borrowed.
#[derive(Clone, Copy, Debug)]
pub enum Labels<'a> {
    /// Borrowed `&str` pairs.
    Pairs(&'a [(&'a str, &'a str)]),
    /// The pairs of an owned resource.
    #[cfg(feature = "alloc")]
    Owned(&'a [(String, String)]),
    /// The labels of a [`PackedEvent`]'s resource, read in place.
    Packed(PackedLabels<'a>),
}

impl<'a> Labels<'a> {
    /// No labels at all.
    pub const EMPTY: Labels<'static> = Labels::Pairs(&[]);

    /// The value of label `name`, if present (the first one, should it repeat).
    #[inline]
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.get_bytes(name.as_bytes())
    }

    /// [`get`](Self::get) with the name as bytes (the engine reads label names out of
    /// compiled triggers, checked for UTF-8 once when the trigger was compiled).
    #[inline]
    pub(crate) fn get_bytes(&self, name: &[u8]) -> Option<&'a str> {
        match *self {
            Labels::Pairs(pairs) => pairs
                .iter()
                .find(|(k, _)| crate::bytes::eq(k.as_bytes(), name))
                .map(|(_, v)| *v),
            #[cfg(feature = "alloc")]
            Labels::Owned(pairs) => pairs
                .iter()
                .find(|(k, _)| crate::bytes::eq(k.as_bytes(), name))
                .map(|(_, v)| v.as_str()),
            Labels::Packed(p) => p.get_bytes(name),
        }
    }

    /// The number of labels.
    pub fn len(&self) -> usize {
        match *self {
            Labels::Pairs(p) => p.len(),
            #[cfg(feature = "alloc")]
            Labels::Owned(p) => p.len(),
            Labels::Packed(p) => p.len(),
        }
    }

    /// Whether there are no labels.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `i`-th `(name, value)` pair.
    pub fn pair(&self, i: usize) -> Option<(&'a str, &'a str)> {
        match *self {
            Labels::Pairs(p) => p.get(i).copied(),
            #[cfg(feature = "alloc")]
            Labels::Owned(p) => p.get(i).map(|(k, v)| (k.as_str(), v.as_str())),
            Labels::Packed(p) => p.iter().nth(i),
        }
    }

    /// Every `(name, value)` pair in order.
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        match *self {
            Labels::Pairs(p) => LabelsIter::Pairs(p.iter()),
            #[cfg(feature = "alloc")]
            Labels::Owned(p) => LabelsIter::Owned(p.iter()),
            Labels::Packed(p) => LabelsIter::Packed(p.iter()),
        }
    }
}

/// The iterator of [`Labels::iter`], one arm per variant.
enum LabelsIter<'a> {
    Pairs(core::slice::Iter<'a, (&'a str, &'a str)>),
    #[cfg(feature = "alloc")]
    Owned(core::slice::Iter<'a, (String, String)>),
    Packed(PackedLabelsIter<'a>),
}

impl<'a> Iterator for LabelsIter<'a> {
    type Item = (&'a str, &'a str);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            LabelsIter::Pairs(it) => it.next().copied(),
            #[cfg(feature = "alloc")]
            LabelsIter::Owned(it) => it.next().map(|(k, v)| (k.as_str(), v.as_str())),
            LabelsIter::Packed(it) => it.next(),
        }
    }
}

/// The related resources of an event, borrowed.
#[derive(Clone, Copy, Debug)]
pub enum Related<'a> {
    /// Borrowed label slices.
    Pairs(&'a [&'a [(&'a str, &'a str)]]),
    /// The related resources of an [`OwnedEvent`].
    #[cfg(feature = "alloc")]
    Owned(&'a [Vec<(String, String)>]),
    /// The related resources of a [`PackedEvent`], read in place.
    Packed(PackedRelated<'a>),
}

impl<'a> Related<'a> {
    /// No related resources.
    pub const EMPTY: Related<'static> = Related::Pairs(&[]);

    /// The number of related resources.
    pub fn len(&self) -> usize {
        match *self {
            Related::Pairs(p) => p.len(),
            #[cfg(feature = "alloc")]
            Related::Owned(p) => p.len(),
            Related::Packed(p) => p.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The labels of the `i`-th related resource.
    pub fn get(&self, i: usize) -> Option<Labels<'a>> {
        match *self {
            Related::Pairs(p) => p.get(i).map(|l| Labels::Pairs(l)),
            #[cfg(feature = "alloc")]
            Related::Owned(p) => p.get(i).map(|l| Labels::Owned(l.as_slice())),
            Related::Packed(p) => p.get(i).map(Labels::Packed),
        }
    }

    /// Every related resource in order.
    pub fn iter(&self) -> impl Iterator<Item = Labels<'a>> + 'a {
        match *self {
            Related::Pairs(p) => RelatedIter::Pairs(p.iter()),
            #[cfg(feature = "alloc")]
            Related::Owned(p) => RelatedIter::Owned(p.iter()),
            Related::Packed(p) => RelatedIter::Packed(p.iter()),
        }
    }
}

/// The iterator of [`Related::iter`], one arm per variant.
enum RelatedIter<'a> {
    Pairs(core::slice::Iter<'a, &'a [(&'a str, &'a str)]>),
    #[cfg(feature = "alloc")]
    Owned(core::slice::Iter<'a, Vec<(String, String)>>),
    Packed(PackedRelatedIter<'a>),
}

impl<'a> Iterator for RelatedIter<'a> {
    type Item = Labels<'a>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            RelatedIter::Pairs(it) => it.next().map(|l| Labels::Pairs(l)),
            #[cfg(feature = "alloc")]
            RelatedIter::Owned(it) => it.next().map(|l| Labels::Owned(l.as_slice())),
            RelatedIter::Packed(it) => it.next().map(Labels::Packed),
        }
    }
}

/// A borrowed view of one Prefect event: everything trigger evaluation reads.
#[derive(Clone, Copy, Debug)]
pub struct Event<'a> {
    /// The event's id.
    pub id: EventId,
    /// The event name, e.g. `prefect.flow-run.heartbeat`.
    pub event: &'a str,
    /// When the event happened (client clock).
    pub occurred: Instant,
    /// When the event was received by the server.
    pub received: Instant,
    /// The primary resource's labels (must include `prefect.resource.id`).
    pub resource: Labels<'a>,
    /// Related resources, each with a `prefect.resource.role` label.
    pub related: Related<'a>,
    /// The id of an event that causally precedes this one.
    pub follows: Option<EventId>,
}

impl<'a> Event<'a> {
    /// Prefect's `Event.find_resource_label`: `related:<role>:<label>` reads `<label>`
    /// of the **first** related resource with that role (missing label → `None`);
    /// any other label, or a role no related resource has, reads the primary resource.
    ///
    /// The label is split as Prefect splits it: `rpartition(":")` for the label, then
    /// `partition(":")` for the directive and the role, so the role may contain `:`.
    pub fn find_resource_label(&self, label: &str) -> Option<&'a str> {
        self.find_resource_label_bytes(label.as_bytes())
    }

    /// [`find_resource_label`](Self::find_resource_label) with the label as bytes.
    #[inline]
    pub(crate) fn find_resource_label_bytes(&self, label: &[u8]) -> Option<&'a str> {
        if !label.starts_with(b"related:") {
            return self.resource.get_bytes(label);
        }
        // (the rare `related:` form is split as text; a label that is not UTF-8
        // names nothing)
        self.find_related_label(str::from_utf8(label).ok()?)
    }

    /// The `related:<role>:<label>` half of [`find_resource_label`](Self::find_resource_label).
    fn find_related_label(&self, label: &str) -> Option<&'a str> {
        if let Some((directive, related_label)) = label.rsplit_once(':') {
            let (head, role) = directive.split_once(':').unwrap_or((directive, ""));
            if head == "related" {
                for related in self.related.iter() {
                    if related.get(RESOURCE_ROLE) == Some(role) {
                        return related.get(related_label);
                    }
                }
            }
        }
        self.resource.get(label)
    }

    /// Copies the view into an [`OwnedEvent`].
    #[cfg(feature = "alloc")]
    pub fn to_owned_event(&self) -> OwnedEvent {
        use alloc::string::ToString;
        let own = |l: Labels<'_>| {
            l.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>()
        };
        OwnedEvent {
            id: self.id,
            event: self.event.to_string(),
            occurred: self.occurred,
            received: self.received,
            resource: own(self.resource),
            related: self.related.iter().map(own).collect(),
            follows: self.follows,
        }
    }
}

/// An owned event, for buffering (held followers, the lateness buffer) and for the
/// adapter's parsers.
#[cfg(feature = "alloc")]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnedEvent {
    /// The event's id.
    pub id: EventId,
    /// The event name.
    pub event: String,
    /// When the event happened.
    pub occurred: Instant,
    /// When the event was received.
    pub received: Instant,
    /// The primary resource's labels, in document order.
    pub resource: Vec<(String, String)>,
    /// Related resources' labels, in document order.
    pub related: Vec<Vec<(String, String)>>,
    /// The id of an event that causally precedes this one.
    pub follows: Option<EventId>,
}

#[cfg(feature = "alloc")]
impl OwnedEvent {
    /// A borrowed view of this event (no allocation).
    pub fn view(&self) -> Event<'_> {
        Event {
            id: self.id,
            event: &self.event,
            occurred: self.occurred,
            received: self.received,
            resource: Labels::Owned(&self.resource),
            related: Related::Owned(&self.related),
            follows: self.follows,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_round_trips_through_display() {
        extern crate alloc;
        use alloc::string::ToString;
        let text = "6f0b2a8e-5b7c-4c8e-9f3e-7d1a2b3c4d5e";
        let id = EventId::parse(text).unwrap();
        assert_eq!(id.to_string(), text);
        assert_eq!(EventId::parse("6F0B2A8E5B7C4C8E9F3E7D1A2B3C4D5E"), Some(id));
        assert_eq!(EventId::parse("6f0b2a8e-5b7c-4c8e-9f3e-7d1a2b3c4d5"), None);
        assert_eq!(EventId::parse("6f0b2a8e+5b7c-4c8e-9f3e-7d1a2b3c4d5e"), None);
        assert_eq!(EventId::parse("zz0b2a8e-5b7c-4c8e-9f3e-7d1a2b3c4d5e"), None);
        assert_eq!(
            EventId::parse_lenient(&alloc::format!("{{{text}}}")),
            Some(id)
        );
        assert_eq!(
            EventId::parse_lenient(&alloc::format!("urn:uuid:{text}")),
            Some(id)
        );
        assert_eq!(EventId::parse_lenient(text), Some(id));
        assert_eq!(
            EventId::parse_lenient("{6f0b2a8e-5b7c-4c8e-9f3e-7d1a2b3c4d5e"),
            None
        );
    }

    #[test]
    fn related_label_uses_first_resource_with_role() {
        let related: &[&[(&str, &str)]] = &[
            &[(RESOURCE_ID, "prefect.flow.a"), (RESOURCE_ROLE, "flow")],
            &[
                (RESOURCE_ID, "prefect.deployment.x"),
                (RESOURCE_ROLE, "deployment"),
            ],
            &[
                (RESOURCE_ID, "prefect.deployment.y"),
                (RESOURCE_ROLE, "deployment"),
                ("extra", "e"),
            ],
        ];
        let ev = Event {
            id: EventId::default(),
            event: "x",
            occurred: Instant::ZERO,
            received: Instant::ZERO,
            resource: Labels::Pairs(&[(RESOURCE_ID, "r"), ("related:tag:x", "own")]),
            related: Related::Pairs(related),
            follows: None,
        };
        assert_eq!(
            ev.find_resource_label("related:deployment:prefect.resource.id"),
            Some("prefect.deployment.x")
        );
        // the first deployment lacks `extra`: no fallback to the second one
        assert_eq!(ev.find_resource_label("related:deployment:extra"), None);
        // no related resource has role `tag`: falls back to the primary resource
        assert_eq!(ev.find_resource_label("related:tag:x"), Some("own"));
        assert_eq!(ev.find_resource_label(RESOURCE_ID), Some("r"));
        assert_eq!(ev.find_resource_label("missing"), None);
    }
}
