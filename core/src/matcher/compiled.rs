//! [`CompiledEventTrigger`]: one event trigger's matchers, prepared once and packed
//! into one byte buffer.

use core::str;

use super::{fnmatch, has_wildcards, label_matches, NamePrefixPattern};
use crate::event::{Event, Labels};
use crate::store::ByteBuf;
use crate::time::Duration;
use crate::trigger::{EventTriggerDef, Posture, SpecDef};
use crate::varint;

/// Pattern kind: equality.
const LITERAL: u8 = 0;
/// Pattern kind: only one `*`, at the end (`prefect.flow-run.*`): `starts_with` the
/// text before it (fnmatch's `*` matches any run of characters, the empty one
/// included).
const PREFIX: u8 = 1;
/// Pattern kind: anything else, [`fnmatch`].
const GLOB: u8 = 2;
/// The kind bits of a pattern's flag byte.
const KIND: u8 = 0b11;
/// The negation bit of a pattern's flag byte (`!pattern`).
const NEGATED: u8 = 0b100;

/// Where each packed section starts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Header {
    expect: usize,
    after: usize,
    for_each: usize,
    match_: usize,
    related: usize,
}

/// One [`EventTriggerDef`] compiled for the hot path: name matchers, resource specs,
/// and the data the engine reads per event, packed into one buffer `B` and read in
/// place.
///
/// # Packed layout
///
/// Every string is a varint byte length followed by its UTF-8 bytes; every count is
/// an unsigned LEB128 varint. Sets are sorted and unique. The sections follow each
/// other in this order; the struct keeps the offset where each one starts (its
/// header), so nothing is searched. The index keys (`expect ∪ after`, or `*`) are
/// not stored: they are the merge of the two sorted sections.
///
/// | section | content |
/// |---|---|
/// | id | the Prefect id as a string (absent when the trigger has none) |
/// | expect | count, patterns |
/// | after | count, patterns |
/// | for_each | count, labels |
/// | match | a spec (below) |
/// | match_related | count, then each spec as its byte length and the spec |
///
/// A spec is a label count, then per label: the label name, the byte length of its
/// pattern block, and the block: pattern count, then per pattern one flag byte (bits
/// 0–1 the kind: 0 literal, 1 prefix, 2 glob; bit 2 negated) and the pattern text
/// without its `!` (and, for a prefix, without its final `*`). The block length lets
/// a match skip the rest of a label's patterns after a hit.
#[derive(Clone, Debug, PartialEq)]
pub struct CompiledEventTrigger<B: ByteBuf> {
    bytes: B,
    head: Header,
    has_id: bool,
    /// `expect` is empty (every name is expected; `covers` is `.+`).
    expect_empty: bool,
    after_empty: bool,
    posture: Posture,
    threshold: i64,
    within: Duration,
    /// What [`covers_resources`](Self::covers_resources) checks (read off the packed
    /// specs once).
    resources: ResourceCheck,
}

/// The shape of a trigger's resource specs, decided once when it is packed, so the
/// usual shapes are checked without walking the packed specs per event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ResourceCheck {
    /// `match` and `match_related` are both empty: every event is covered.
    Any,
    /// `match` is one label with one pattern and `match_related` is empty: the
    /// label's and the pattern's byte ranges in the buffer, the pattern's flags, and
    /// whether `for_each` is that label alone (not a `related:` one): then the value
    /// matched is the key.
    One {
        label: (u32, u32),
        text: (u32, u32),
        flags: u8,
        keyed: bool,
    },
    /// Anything else: the packed specs are walked.
    Specs,
}

impl ResourceCheck {
    /// The check for the specs packed in `bytes` at the offsets of `head`.
    fn of(bytes: &[u8], head: &Header) -> ResourceCheck {
        let mut r = Reader {
            bytes,
            at: head.related,
        };
        if r.num() != 0 {
            return ResourceCheck::Specs;
        }
        let mut r = Reader {
            bytes,
            at: head.match_,
        };
        match r.num() {
            0 => return ResourceCheck::Any,
            1 => {}
            _ => return ResourceCheck::Specs,
        }
        let range = |r: &mut Reader<'_>| {
            let len = r.num();
            let at = r.at;
            r.at = at.saturating_add(len);
            let end = u32::try_from(r.at).ok()?;
            Some((u32::try_from(at).ok()?, end))
        };
        let Some(label) = range(&mut r) else {
            return ResourceCheck::Specs;
        };
        let _block = r.num();
        if r.num() != 1 {
            return ResourceCheck::Specs;
        }
        let flags = r.byte();
        let text = match range(&mut r) {
            Some(text) if r.at <= bytes.len() => text,
            _ => return ResourceCheck::Specs,
        };
        let name = bytes.get(label.0 as usize..label.1 as usize).unwrap_or(&[]);
        let mut r = Reader {
            bytes,
            at: head.for_each,
        };
        let keyed = r.num() == 1 && r.raw() == name && !name.starts_with(b"related:");
        ResourceCheck::One {
            label,
            text,
            flags,
            keyed,
        }
    }
}

/// Where packing writes: a counter (to size the buffer) or the buffer.
trait Sink {
    fn put(&mut self, bytes: &[u8]) -> bool;
    fn pos(&self) -> usize;
    fn num(&mut self, n: usize) -> bool {
        let mut buf = [0; varint::MAX_LEN];
        self.put(varint::encode(n as u64, &mut buf))
    }
    fn text(&mut self, s: &str) -> bool {
        self.num(s.len()) && self.put(s.as_bytes())
    }
}

/// Counts the bytes packing takes.
struct Count(usize);

impl Sink for Count {
    fn put(&mut self, bytes: &[u8]) -> bool {
        self.0 = self.0.saturating_add(bytes.len());
        true
    }
    fn pos(&self) -> usize {
        self.0
    }
}

impl<B: ByteBuf> Sink for B {
    fn put(&mut self, bytes: &[u8]) -> bool {
        self.try_extend(bytes)
    }
    fn pos(&self) -> usize {
        self.len()
    }
}

/// A pattern split once: flag byte and the text to match.
fn split_pattern(pattern: &str) -> (u8, &str) {
    let (negated, text) = match pattern.strip_prefix('!') {
        Some(rest) => (NEGATED, rest),
        None => (0, pattern),
    };
    let (text, kind) = match text.strip_suffix('*') {
        _ if !has_wildcards(text) => (text, LITERAL),
        Some(prefix) if !has_wildcards(prefix) => (prefix, PREFIX),
        _ => (text, GLOB),
    };
    (kind | negated, text)
}

fn put_set<'a>(out: &mut impl Sink, set: impl Iterator<Item = &'a str> + Clone) -> bool {
    out.num(set.clone().count()) && set.into_iter().all(|s| out.text(s))
}

/// The bytes of one label's pattern block.
fn block_len(patterns: crate::trigger::Strs<'_>) -> usize {
    let mut count = Count(0);
    put_block(&mut count, patterns);
    count.0
}

fn put_block(out: &mut impl Sink, patterns: crate::trigger::Strs<'_>) -> bool {
    out.num(patterns.len())
        && patterns.iter().all(|p| {
            let (flags, text) = split_pattern(p);
            out.put(&[flags]) && out.text(text)
        })
}

fn put_spec(out: &mut impl Sink, spec: SpecDef<'_>) -> bool {
    out.num(spec.len())
        && spec.iter().all(|(label, patterns)| {
            out.text(label) && out.num(block_len(patterns)) && put_block(out, patterns)
        })
}

fn spec_len(spec: SpecDef<'_>) -> usize {
    let mut count = Count(0);
    put_spec(&mut count, spec);
    count.0
}

/// Packs `t` into `out`; the section offsets, or `None` when `out` is full.
fn pack_into(t: &EventTriggerDef<'_>, out: &mut impl Sink) -> Option<Header> {
    let mut head = Header::default();
    if let Some(id) = t.id {
        out.text(id).then_some(())?;
    }
    head.expect = out.pos();
    put_set(out, t.expect.sorted_unique()).then_some(())?;
    head.after = out.pos();
    put_set(out, t.after.sorted_unique()).then_some(())?;
    head.for_each = out.pos();
    put_set(out, t.for_each.sorted_unique()).then_some(())?;
    head.match_ = out.pos();
    put_spec(out, t.match_).then_some(())?;
    head.related = out.pos();
    out.num(t.match_related.len()).then_some(())?;
    for spec in t.match_related.iter() {
        (out.num(spec_len(spec)) && put_spec(out, spec)).then_some(())?;
    }
    Some(head)
}

impl<B: ByteBuf> CompiledEventTrigger<B> {
    /// The bytes `t` takes packed (what [`pack`](Self::pack) needs `B` to hold).
    pub fn packed_len(t: &EventTriggerDef<'_>) -> usize {
        let mut count = Count(0);
        pack_into(t, &mut count);
        count.0
    }

    /// Compiles and packs a definition (normally validated: the sets are sorted and
    /// de-duplicated here, and a Proactive zero `within` is read as 10 s, so an
    /// unvalidated one still behaves like Prefect's set-based model). `None` when it
    /// does not fit in `B` (more than [`ByteBuf::max_len`] bytes, see
    /// [`packed_len`](Self::packed_len)).
    pub fn pack(t: &EventTriggerDef<'_>) -> Option<Self> {
        let len = Self::packed_len(t);
        if B::max_len().is_some_and(|max| len > max) {
            return None;
        }
        let mut bytes = B::with_room(len);
        let head = pack_into(t, &mut bytes)?;
        let resources = ResourceCheck::of(&bytes, &head);
        Some(CompiledEventTrigger {
            resources,
            bytes,
            head,
            has_id: t.id.is_some(),
            expect_empty: t.expect.is_empty(),
            after_empty: t.after.is_empty(),
            posture: t.posture,
            threshold: t.threshold,
            within: t.effective_within(),
        })
    }

    /// The packed bytes.
    pub fn packed(&self) -> &[u8] {
        &self.bytes
    }

    fn reader(&self, at: usize) -> Reader<'_> {
        Reader {
            bytes: &self.bytes,
            at,
        }
    }

    fn strs(&self, at: usize) -> PackedStrs<'_> {
        let mut r = self.reader(at);
        let left = r.num();
        PackedStrs { r, left }
    }

    /// Prefect's `EventTrigger.covers(event)`: the name matches `event_pattern` (see
    /// [`covers_name`](Self::covers_name)) **and** the resources match
    /// ([`covers_resources`](Self::covers_resources)).
    #[inline]
    pub fn covers(&self, ev: &Event<'_>) -> bool {
        self.covers_name(ev.event) && self.covers_resources(ev)
    }

    /// `event_pattern.match(name)`: with an empty `expect`, `.+` (any name that is
    /// non-empty and does not start with `\n`); otherwise some pattern of
    /// `expect ∪ after` as a start-anchored [`NamePrefixPattern`].
    pub fn covers_name(&self, name: &str) -> bool {
        if self.expect_empty {
            return name.chars().next().is_some_and(|c| c != '\n');
        }
        self.index_keys()
            .any(|p| NamePrefixPattern(p).matches(name))
    }

    /// `covers_resources`: `match` includes the primary resource, and every
    /// `match_related` spec includes some related resource.
    #[inline]
    pub fn covers_resources(&self, ev: &Event<'_>) -> bool {
        match self.resources {
            ResourceCheck::Any => return true,
            ResourceCheck::One {
                label, text, flags, ..
            } => return self.one_label_value(ev, label, text, flags).is_some(),
            ResourceCheck::Specs => {}
        }
        let spec = self.match_spec();
        (spec.is_empty() || spec.matches(ev.resource))
            && self
                .match_related()
                .all(|spec| spec.includes(ev.related.iter()))
    }

    /// The value of the one label of a [`ResourceCheck::One`] trigger, when the
    /// resource has it and the pattern matches it.
    #[inline]
    fn one_label_value<'e>(
        &self,
        ev: &Event<'e>,
        label: (u32, u32),
        text: (u32, u32),
        flags: u8,
    ) -> Option<&'e str> {
        let part = |(at, end): (u32, u32)| self.bytes.get(at as usize..end as usize).unwrap_or(&[]);
        ev.resource
            .get_bytes(part(label))
            .filter(|value| pattern_matches(flags, part(text), value))
    }

    /// For a trigger whose `match` is one label with one pattern, whose
    /// `match_related` is empty and whose `for_each` is that label alone (the usual
    /// shape): `Some(Some(value))` when [`covers_resources`](Self::covers_resources)
    /// holds, `value` being the one [`key_values`](Self::key_values) yields (the label
    /// is looked up once), and `Some(None)` when it does not. `None` for any other
    /// trigger.
    #[inline]
    pub fn covered_key_value<'e>(&self, ev: &Event<'e>) -> Option<Option<&'e str>> {
        match self.resources {
            ResourceCheck::One {
                label,
                text,
                flags,
                keyed: true,
            } => Some(self.one_label_value(ev, label, text, flags)),
            _ => None,
        }
    }

    /// The compiled `match` spec.
    pub fn match_spec(&self) -> PackedSpec<'_> {
        PackedSpec {
            bytes: self
                .bytes
                .get(self.head.match_..self.head.related)
                .unwrap_or(&[]),
        }
    }

    /// The compiled `match_related` specs.
    pub fn match_related(&self) -> impl ExactSizeIterator<Item = PackedSpec<'_>> + '_ {
        let mut r = self.reader(self.head.related);
        let left = r.num();
        RelatedSpecs { r, left }
    }

    /// `expects(name)`: `expect` is empty, or some pattern [`label_matches`] the name.
    #[inline]
    pub fn expects(&self, name: &str) -> bool {
        self.expect_empty || self.expect().any(|p| label_matches(p, Some(name)))
    }

    /// `starts_after(name)`: some `after` pattern [`label_matches`] the name (false
    /// when `after` is empty).
    #[inline]
    pub fn starts_after(&self, name: &str) -> bool {
        self.after().any(|p| label_matches(p, Some(name)))
    }

    /// Whether the trigger has `after` patterns.
    #[inline]
    pub fn has_after(&self) -> bool {
        !self.after_empty
    }

    /// Reactive or Proactive.
    #[inline]
    pub fn posture(&self) -> Posture {
        self.posture
    }

    /// The threshold.
    #[inline]
    pub fn threshold(&self) -> i64 {
        self.threshold
    }

    /// The window length (a Proactive zero read as 10 s).
    #[inline]
    pub fn within(&self) -> Duration {
        self.within
    }

    /// Prefect 3.9's `holds_expect_events`: Proactive with `after` (such a trigger
    /// holds `expect` events that arrive while no window is open).
    #[inline]
    pub fn holds_expect_events(&self) -> bool {
        self.posture == Posture::Proactive && self.has_after()
    }

    /// Prefect's `immediate`: Reactive and `within == 0`.
    #[inline]
    pub fn immediate(&self) -> bool {
        self.posture == Posture::Reactive && self.within.is_zero()
    }

    /// `meets_threshold(count)`: Reactive `count >= threshold`, Proactive
    /// `count < threshold`.
    #[inline]
    pub fn meets_threshold(&self, count: i64) -> bool {
        match self.posture {
            Posture::Reactive => count >= self.threshold,
            Posture::Proactive => count < self.threshold,
        }
    }

    /// The `for_each` labels, sorted and unique (the order of key values).
    #[inline]
    pub fn for_each(&self) -> PackedStrs<'_> {
        self.strs(self.head.for_each)
    }

    /// The `expect` patterns, sorted and unique.
    pub fn expect(&self) -> PackedStrs<'_> {
        self.strs(self.head.expect)
    }

    /// The `after` patterns, sorted and unique.
    pub fn after(&self) -> PackedStrs<'_> {
        self.strs(self.head.after)
    }

    /// The trigger's explicit Prefect id, if the definition carried one.
    pub fn prefect_id(&self) -> Option<&str> {
        self.has_id.then(|| self.reader(0).text())
    }

    /// Prefect's `bucketing_key`: for each label of [`for_each`](Self::for_each),
    /// `event.find_resource_label(label) or ""`. Missing and empty values are both
    /// `""`, so they share a bucket (quirk 13).
    #[inline]
    pub fn key_values<'s, 'e>(&'s self, ev: &Event<'e>) -> impl Iterator<Item = &'e str> + 's
    where
        'e: 's,
    {
        let ev = *ev;
        let mut names = self.for_each();
        // (label names as bytes: they were checked for UTF-8 when compiled)
        core::iter::from_fn(move || names.next_raw())
            .map(move |label| ev.find_resource_label_bytes(label).unwrap_or(""))
    }

    /// Prefect's `_index_keys_for`: `expect ∪ after` (sorted, unique), or just `*`
    /// when `expect` is empty. Keys are fnmatch patterns **without** negation: a `!x`
    /// pattern is indexed as the literal name `!x` (Prefect's index does the same, so
    /// a negated `expect` pattern only ever sees an event literally named `!x`).
    #[inline]
    pub fn index_keys(&self) -> IndexKeys<'_> {
        if self.expect_empty {
            return IndexKeys {
                expect: PackedStrs::EMPTY,
                after: PackedStrs::EMPTY,
                heads: (Some("*"), None),
            };
        }
        let (mut expect, mut after) = (self.expect(), self.after());
        IndexKeys {
            heads: (expect.next(), after.next()),
            expect,
            after,
        }
    }
}

#[cfg(feature = "alloc")]
impl CompiledEventTrigger<alloc::vec::Vec<u8>> {
    /// Compiles an owned trigger on the heap.
    pub fn compile(t: &crate::trigger::EventTrigger) -> Self {
        let def = t.def();
        let mut bytes = alloc::vec::Vec::with_capacity(Self::packed_len(&def));
        // appending to a Vec never fails, so every section is written
        let head = pack_into(&def, &mut bytes).unwrap_or_default();
        let resources = ResourceCheck::of(&bytes, &head);
        CompiledEventTrigger {
            resources,
            bytes,
            head,
            has_id: def.id.is_some(),
            expect_empty: def.expect.is_empty(),
            after_empty: def.after.is_empty(),
            posture: def.posture,
            threshold: def.threshold,
            within: def.effective_within(),
        }
    }
}

/// A cursor over packed bytes. Reading past the end yields empty values (the bytes
/// are always written by this module, so it never happens).
#[derive(Clone, Debug)]
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    #[inline]
    fn num(&mut self) -> usize {
        // fast path: one-byte varint
        if let Some(&b) = self.bytes.get(self.at) {
            if b < 0x80 {
                self.at += 1;
                return usize::from(b);
            }
        }
        varint::take(self.bytes, &mut self.at).map_or(0, |n| n as usize)
    }

    #[inline]
    fn byte(&mut self) -> u8 {
        let b = self.bytes.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        b
    }

    #[inline]
    fn raw(&mut self) -> &'a [u8] {
        let n = self.num();
        let end = self.at.saturating_add(n);
        let out = self.bytes.get(self.at..end).unwrap_or(&[]);
        self.at = end;
        out
    }

    #[inline]
    fn text(&mut self) -> &'a str {
        str::from_utf8(self.raw()).unwrap_or("")
    }
}

/// The packed strings of one section (`expect`, `after`, `for_each`), in
/// order.
#[derive(Clone, Debug)]
pub struct PackedStrs<'a> {
    r: Reader<'a>,
    left: usize,
}

impl<'a> Iterator for PackedStrs<'a> {
    type Item = &'a str;

    #[inline]
    fn next(&mut self) -> Option<&'a str> {
        self.next_raw().map(|raw| str::from_utf8(raw).unwrap_or(""))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for PackedStrs<'_> {}

impl<'a> PackedStrs<'a> {
    /// The next string as bytes, without checking it for UTF-8 (packed strings were
    /// checked when they were compiled).
    #[inline]
    pub(crate) fn next_raw(&mut self) -> Option<&'a [u8]> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        Some(self.r.raw())
    }

    /// No string.
    const EMPTY: PackedStrs<'static> = PackedStrs {
        r: Reader { bytes: &[], at: 0 },
        left: 0,
    };

    /// Whether no string is left.
    pub fn is_empty(&self) -> bool {
        self.left == 0
    }
}

/// A trigger's index keys ([`CompiledEventTrigger::index_keys`]): the sorted, unique
/// merge of its sorted `expect` and `after` sections.
#[derive(Clone, Debug)]
pub struct IndexKeys<'a> {
    expect: PackedStrs<'a>,
    after: PackedStrs<'a>,
    /// The next string of each section.
    heads: (Option<&'a str>, Option<&'a str>),
}

impl<'a> Iterator for IndexKeys<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let (e, a) = self.heads;
        let take_e = match (e, a) {
            (None, None) => return None,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(x), Some(y)) => {
                if x == y {
                    // in both: once
                    self.heads.1 = self.after.next();
                }
                x <= y
            }
        };
        if take_e {
            self.heads.0 = self.expect.next();
            e
        } else {
            self.heads.1 = self.after.next();
            a
        }
    }
}

/// The `match_related` specs of a packed trigger.
struct RelatedSpecs<'a> {
    r: Reader<'a>,
    left: usize,
}

impl<'a> Iterator for RelatedSpecs<'a> {
    type Item = PackedSpec<'a>;

    fn next(&mut self) -> Option<PackedSpec<'a>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        Some(PackedSpec {
            bytes: self.r.raw(),
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for RelatedSpecs<'_> {}

/// A compiled resource spec, read in place: `ResourceSpecification.includes/matches`.
#[derive(Clone, Copy, Debug)]
pub struct PackedSpec<'a> {
    bytes: &'a [u8],
}

impl PackedSpec<'_> {
    /// Whether the spec is empty (matches every resource, even no resource at all).
    pub fn is_empty(&self) -> bool {
        self.bytes.first().is_none_or(|&n| n == 0)
    }

    /// `matches(resource)`: every label has some pattern matching the resource's
    /// value; a missing label never matches (not even `!p`); an empty pattern list
    /// never matches.
    pub fn matches(&self, resource: Labels<'_>) -> bool {
        let mut r = Reader {
            bytes: self.bytes,
            at: 0,
        };
        let labels = r.num();
        for _ in 0..labels {
            let label = r.raw();
            let block = r.num();
            let next = r.at.saturating_add(block);
            let Some(value) = resource.get_bytes(label) else {
                return false;
            };
            let patterns = r.num();
            let mut hit = false;
            for _ in 0..patterns {
                let flags = r.byte();
                let text = r.raw();
                if pattern_matches(flags, text, value) {
                    hit = true;
                    break;
                }
            }
            if !hit {
                return false;
            }
            r.at = next;
        }
        true
    }

    /// `includes(candidates)`: an empty spec matches everything (even an empty list of
    /// candidates); otherwise some candidate must match.
    pub fn includes<'a>(&self, mut candidates: impl Iterator<Item = Labels<'a>>) -> bool {
        self.is_empty() || candidates.any(|r| self.matches(r))
    }
}

/// [`label_matches`] with the pattern pre-split (see [`split_pattern`]).
#[inline]
fn pattern_matches(flags: u8, text: &[u8], value: &str) -> bool {
    let hit = match flags & KIND {
        LITERAL => crate::bytes::eq(value.as_bytes(), text),
        PREFIX => crate::bytes::starts_with(value.as_bytes(), text),
        _ => fnmatch(str::from_utf8(text).unwrap_or(""), value),
    };
    hit != (flags & NEGATED != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pattern_is_split_once() {
        assert_eq!(split_pattern("a.b"), (LITERAL, "a.b"));
        assert_eq!(split_pattern("!a.*"), (PREFIX | NEGATED, "a."));
        assert_eq!(split_pattern("a*b*"), (GLOB, "a*b*"));
        assert_eq!(split_pattern("*"), (PREFIX, ""));
        assert_eq!(split_pattern("!"), (LITERAL | NEGATED, ""));
    }

    #[test]
    fn index_keys_merge_expect_and_after_once() {
        let t = |expect: &'static [&'static str], after: &'static [&'static str]| {
            let def = EventTriggerDef {
                id: None,
                match_: SpecDef::EMPTY,
                match_related: crate::trigger::SpecDefs::EMPTY,
                after: crate::trigger::Strs::Borrowed(after),
                expect: crate::trigger::Strs::Borrowed(expect),
                for_each: crate::trigger::Strs::EMPTY,
                posture: Posture::Reactive,
                threshold: 1,
                within: Duration::ZERO,
            };
            CompiledEventTrigger::<heapless::Vec<u8, 128>>::pack(&def).expect("fits")
        };
        let c = t(&["b", "a", "b"], &["c", "a", "b", "0"]);
        assert!(c.index_keys().eq(["0", "a", "b", "c"]));
        assert!(c.expect().eq(["a", "b"]));
        assert!(c.after().eq(["0", "a", "b", "c"]));
        assert!(t(&[], &["x"]).index_keys().eq(["*"]));
        assert!(t(&["x"], &[]).index_keys().eq(["x"]));
    }
}
