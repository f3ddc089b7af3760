//! [`PackedEvent`]: one event encoded into one byte buffer, read back as an [`Event`]
//! view without allocating.

use core::str;

use super::{Event, EventId, Labels, Related};
use crate::store::ByteBuf;
use crate::time::Instant;
use crate::varint;

/// Bytes of the fixed header: id, `occurred`, `received`, `follows` flag and id.
pub const PACKED_HEADER_LEN: usize = 49;

/// Bytes of `n` as a varint.
pub(crate) fn varint_len(n: usize) -> usize {
    varint::len(n as u64)
}

/// Appends `n` as a varint; false when it does not fit.
pub(crate) fn put_varint<B: ByteBuf>(out: &mut B, n: usize) -> bool {
    out.try_extend(varint::encode(n as u64, &mut [0; varint::MAX_LEN]))
}

/// Reads a varint at `*at`, moving past it.
pub(crate) fn read_varint(bytes: &[u8], at: &mut usize) -> Option<usize> {
    usize::try_from(varint::take(bytes, at)?).ok()
}

/// Reads a length-prefixed byte string at `*at`, moving past it.
pub(crate) fn read_bytes<'a>(bytes: &'a [u8], at: &mut usize) -> Option<&'a [u8]> {
    let len = read_varint(bytes, at)?;
    let end = at.checked_add(len)?;
    let out = bytes.get(*at..end)?;
    *at = end;
    Some(out)
}

/// Reads a length-prefixed string at `*at`, moving past it.
pub(crate) fn read_str<'a>(bytes: &'a [u8], at: &mut usize) -> Option<&'a str> {
    str::from_utf8(read_bytes(bytes, at)?).ok()
}

/// Reads a `T` at `*at` as postcard encodes it, moving past it (borrowed strings and
/// byte strings point into `bytes`).
pub(crate) fn take_postcard<'a, T: serde::Deserialize<'a>>(
    bytes: &'a [u8],
    at: &mut usize,
) -> Option<T> {
    let (value, rest) = postcard::take_from_bytes(bytes.get(*at..)?).ok()?;
    *at = bytes.len() - rest.len();
    Some(value)
}

/// Reads labels at `*at` as postcard encodes `Vec<(String, String)>` (the packed
/// layout: count, then every name and value with its length), checking they are
/// UTF-8.
fn take_postcard_labels<'a>(bytes: &'a [u8], at: &mut usize) -> Option<PackedLabels<'a>> {
    let len: usize = take_postcard(bytes, at)?;
    let start = *at;
    for _ in 0..len {
        take_postcard::<&str>(bytes, at)?;
        take_postcard::<&str>(bytes, at)?;
    }
    Some(PackedLabels {
        len,
        bytes: &bytes[start..*at],
    })
}

/// Reads an event at `*at` as a snapshot encodes it (postcard, field for field as
/// `OwnedEvent`), moving past it; the view reads the labels in place. `None` unless
/// it decodes whole.
pub(crate) fn read_postcard_event<'a>(bytes: &'a [u8], at: &mut usize) -> Option<Event<'a>> {
    let id: EventId = take_postcard(bytes, at)?;
    let event: &str = take_postcard(bytes, at)?;
    let occurred: Instant = take_postcard(bytes, at)?;
    let received: Instant = take_postcard(bytes, at)?;
    let resource = take_postcard_labels(bytes, at)?;
    let related_len: usize = take_postcard(bytes, at)?;
    let related_start = *at;
    for _ in 0..related_len {
        take_postcard_labels(bytes, at)?;
    }
    let related = PackedRelated {
        len: related_len,
        bytes: &bytes[related_start..*at],
    };
    let follows: Option<EventId> = take_postcard(bytes, at)?;
    Some(Event {
        id,
        event,
        occurred,
        received,
        resource: Labels::Packed(resource),
        related: Related::Packed(related),
        follows,
    })
}

/// Moves `*at` past `count` labels; `None` if they do not decode.
fn skip_labels(bytes: &[u8], at: &mut usize, count: usize) -> Option<()> {
    for _ in 0..count.saturating_mul(2) {
        read_bytes(bytes, at)?;
    }
    Some(())
}

/// Bytes of a labels section: count, then every name and value with its length.
fn labels_len(labels: Labels<'_>) -> usize {
    labels.iter().fold(varint_len(labels.len()), |sum, (k, v)| {
        sum + varint_len(k.len()) + k.len() + varint_len(v.len()) + v.len()
    })
}

/// Appends a labels section; false when it does not fit.
fn put_labels<B: ByteBuf>(out: &mut B, labels: Labels<'_>) -> bool {
    put_varint(out, labels.len())
        && labels.iter().all(|(k, v)| {
            put_varint(out, k.len())
                && out.try_extend(k.as_bytes())
                && put_varint(out, v.len())
                && out.try_extend(v.as_bytes())
        })
}

/// One event packed into one byte buffer `B`: how the engine holds events it keeps
/// for later (followers waiting for their leader, events buffered for allowed
/// lateness) in any storage flavour.
///
/// # Layout
///
/// | bytes | content |
/// |---|---|
/// | 0..16 | id |
/// | 16..24 | `occurred`, µs, `u64` little-endian |
/// | 24..32 | `received`, µs, `u64` little-endian |
/// | 32 | 1 if the event follows another one, else 0 |
/// | 33..49 | the id it follows (zeros when it follows none) |
/// | 49.. | the name: length, bytes |
/// | | the resource: label count, then per label name length, name, value length, value |
/// | | the related resources: count, then per resource its labels as for the resource |
///
/// Every length and count is an unsigned LEB128 varint (7 bits per byte, low bits
/// first, as postcard writes them): one byte below 128. An event with a name of `n`
/// bytes and labels of `l` bytes in all (names and values, all shorter than 128
/// bytes) over `p` labels and `r` related resources takes `49 + 1 + n + 1 + 2p + l +
/// 1 + r` bytes ([`PackedEvent::encoded_len`]).
///
/// The fixed header makes the id, the times and `follows` readable in O(1); labels
/// are read by walking the varints, which is what a lookup by label name does on a
/// slice of pairs anyway. Only [`PackedEvent::pack`] makes the bytes, so they always
/// decode; should they not, the view reads as empty rather than panicking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackedEvent<B> {
    bytes: B,
}

/// The labels of one resource of a [`PackedEvent`], read in place.
#[derive(Clone, Copy, Debug)]
pub struct PackedLabels<'a> {
    /// Number of labels.
    len: usize,
    /// The labels, from the first name's length on (possibly more bytes after them).
    bytes: &'a [u8],
}

/// The related resources of a [`PackedEvent`], read in place.
#[derive(Clone, Copy, Debug)]
pub struct PackedRelated<'a> {
    /// Number of resources.
    len: usize,
    /// The resources, from the first one's label count on.
    bytes: &'a [u8],
}

impl<'a> PackedLabels<'a> {
    /// The number of labels.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no labels.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The labels in order, decoded one after the other.
    pub fn iter(&self) -> PackedLabelsIter<'a> {
        PackedLabelsIter {
            left: self.len,
            bytes: self.bytes,
            at: 0,
        }
    }

    /// The value of the first label named `name`.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.get_bytes(name.as_bytes())
    }

    /// [`get`](Self::get) with the name as bytes.
    pub(crate) fn get_bytes(&self, name: &[u8]) -> Option<&'a str> {
        let mut at = 0;
        for _ in 0..self.len {
            let key = read_bytes(self.bytes, &mut at)?;
            let value = read_bytes(self.bytes, &mut at)?;
            if crate::bytes::eq(key, name) {
                return str::from_utf8(value).ok();
            }
        }
        None
    }
}

/// Iterator over the labels of [`PackedLabels`].
#[derive(Clone, Debug)]
pub struct PackedLabelsIter<'a> {
    left: usize,
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Iterator for PackedLabelsIter<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        let pair = read_str(self.bytes, &mut self.at)
            .and_then(|k| Some((k, read_str(self.bytes, &mut self.at)?)));
        // a pair that does not decode ends the iteration (never made by `pack`)
        self.left = if pair.is_some() { self.left - 1 } else { 0 };
        pair
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.left))
    }
}

impl<'a> PackedRelated<'a> {
    /// The number of related resources.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The labels of the `i`-th related resource (walks the ones before it).
    pub fn get(&self, i: usize) -> Option<PackedLabels<'a>> {
        if i >= self.len {
            return None;
        }
        self.iter().nth(i)
    }

    /// The related resources in order, decoded one after the other.
    pub fn iter(&self) -> PackedRelatedIter<'a> {
        PackedRelatedIter {
            left: self.len,
            bytes: self.bytes,
            at: 0,
        }
    }
}

/// Iterator over the resources of [`PackedRelated`].
#[derive(Clone, Debug)]
pub struct PackedRelatedIter<'a> {
    left: usize,
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Iterator for PackedRelatedIter<'a> {
    type Item = PackedLabels<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        let mut at = self.at;
        let labels = read_varint(self.bytes, &mut at).and_then(|len| {
            let start = at;
            skip_labels(self.bytes, &mut at, len)?;
            Some(PackedLabels {
                len,
                bytes: &self.bytes[start..at],
            })
        });
        self.at = at;
        self.left = if labels.is_some() { self.left - 1 } else { 0 };
        labels
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.left))
    }
}

impl<B: ByteBuf> PackedEvent<B> {
    /// The number of bytes `event` takes packed.
    pub fn encoded_len(event: &Event<'_>) -> usize {
        let name = event.event.len();
        let related = event
            .related
            .iter()
            .fold(varint_len(event.related.len()), |sum, labels| {
                sum + labels_len(labels)
            });
        PACKED_HEADER_LEN + varint_len(name) + name + labels_len(event.resource) + related
    }

    /// `event` packed, or `None` when it takes more than `B` holds
    /// ([`encoded_len`](Self::encoded_len) > `B::max_len()`).
    pub fn pack(event: &Event<'_>) -> Option<Self> {
        let len = Self::encoded_len(event);
        if B::max_len().is_some_and(|max| len > max) {
            return None;
        }
        let mut out = B::with_room(len);
        let mut header = [0u8; PACKED_HEADER_LEN];
        header[..16].copy_from_slice(&event.id.0);
        header[16..24].copy_from_slice(&event.occurred.as_micros().to_le_bytes());
        header[24..32].copy_from_slice(&event.received.as_micros().to_le_bytes());
        if let Some(leader) = event.follows {
            header[32] = 1;
            header[33..49].copy_from_slice(&leader.0);
        }
        let ok = out.try_extend(&header)
            && put_varint(&mut out, event.event.len())
            && out.try_extend(event.event.as_bytes())
            && put_labels(&mut out, event.resource)
            && put_varint(&mut out, event.related.len())
            && event.related.iter().all(|l| put_labels(&mut out, l));
        ok.then_some(PackedEvent { bytes: out })
    }
}

impl<B: core::ops::Deref<Target = [u8]>> PackedEvent<B> {
    /// The packed bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The `len` bytes at `at` of the header (zeros if the bytes are short).
    fn header<const N: usize>(&self, at: usize) -> [u8; N] {
        let mut out = [0u8; N];
        if let Some(bytes) = self.bytes.get(at..at + N) {
            out.copy_from_slice(bytes);
        }
        out
    }

    /// The event's id.
    pub fn id(&self) -> EventId {
        EventId(self.header(0))
    }

    /// When the event happened.
    pub fn occurred(&self) -> Instant {
        Instant::from_micros(u64::from_le_bytes(self.header(16)))
    }

    /// When the event was received.
    pub fn received(&self) -> Instant {
        Instant::from_micros(u64::from_le_bytes(self.header(24)))
    }

    /// The id of the event this one follows.
    pub fn follows(&self) -> Option<EventId> {
        (self.header::<1>(32)[0] == 1).then(|| EventId(self.header(33)))
    }

    /// The event as a borrowed view, read in place (no allocation).
    pub fn view(&self) -> Event<'_> {
        let bytes: &[u8] = &self.bytes;
        let mut at = PACKED_HEADER_LEN;
        let name = read_str(bytes, &mut at).unwrap_or("");
        let resource = read_varint(bytes, &mut at)
            .and_then(|len| {
                let start = at;
                skip_labels(bytes, &mut at, len)?;
                Some(PackedLabels {
                    len,
                    bytes: &bytes[start..at],
                })
            })
            .unwrap_or(PackedLabels { len: 0, bytes: &[] });
        let related = read_varint(bytes, &mut at)
            .map(|len| PackedRelated {
                len,
                bytes: &bytes[at..],
            })
            .unwrap_or(PackedRelated { len: 0, bytes: &[] });
        Event {
            id: self.id(),
            event: name,
            occurred: self.occurred(),
            received: self.received(),
            resource: Labels::Packed(resource),
            related: Related::Packed(related),
            follows: self.follows(),
        }
    }
}

#[cfg(test)]
mod tests;
