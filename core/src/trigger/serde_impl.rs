//! serde for triggers: Prefect's JSON shape for human-readable formats (serde_json),
//! a compact derived shape for binary formats (postcard snapshots).
//!
//! Both directions validate: a human-readable document goes through the same parser as
//! [`Trigger::deserialize_prefect`]; a compact one is re-validated after decoding.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};

use super::parse::{self, Value};
use super::{
    CompoundTrigger, EventTrigger, Posture, Require, ResourceSpec, SequenceTrigger, Trigger,
    TriggerError,
};
use crate::time::Duration;

impl Trigger {
    /// Parses Prefect's trigger JSON from any self-describing deserializer (e.g. a
    /// `serde_json::Value` or `&mut serde_json::Deserializer`), keeping the typed
    /// error: the outer `Result` is the format's own error (malformed input), the
    /// inner one the trigger's validation.
    pub fn deserialize_prefect<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Result<Trigger, TriggerError>, D::Error> {
        let value = Value::deserialize(d)?;
        Ok(parse::trigger(&value, ""))
    }
}

impl Serialize for Trigger {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            prefect_trigger(self, s)
        } else {
            compact::TriggerDef::serialize(self, s)
        }
    }
}

impl<'de> Deserialize<'de> for Trigger {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Trigger, D::Error> {
        if d.is_human_readable() {
            Trigger::deserialize_prefect(d)?.map_err(de::Error::custom)
        } else {
            let mut t = compact::TriggerDef::deserialize(d)?;
            t.validate().map_err(de::Error::custom)?;
            Ok(t)
        }
    }
}

impl Serialize for EventTrigger {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            prefect_event(self, s)
        } else {
            compact::EventTriggerDef::serialize(self, s)
        }
    }
}

impl<'de> Deserialize<'de> for EventTrigger {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<EventTrigger, D::Error> {
        let t = if d.is_human_readable() {
            let value = Value::deserialize(d)?;
            parse::trigger(&value, "").map_err(de::Error::custom)?
        } else {
            let mut t = Trigger::Event(compact::EventTriggerDef::deserialize(d)?);
            t.validate().map_err(de::Error::custom)?;
            t
        };
        match t {
            Trigger::Event(e) => Ok(e),
            other => Err(de::Error::custom(format_args!(
                "expected an event trigger, found a {} trigger",
                other.type_name()
            ))),
        }
    }
}

impl Serialize for ResourceSpec {
    /// An object label → list of patterns (in both formats).
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.labels.len()))?;
        for (label, patterns) in &self.labels {
            map.serialize_entry(label, patterns)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for ResourceSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ResourceSpec, D::Error> {
        if d.is_human_readable() {
            let value = Value::deserialize(d)?;
            // Reuse the trigger parser's spec rules through a minimal trigger.
            let holder = Value::Map(alloc::vec![
                ("posture".to_string(), Value::Str("Reactive".to_string())),
                ("match".to_string(), value),
            ]);
            match parse::trigger(&holder, "") {
                Ok(Trigger::Event(e)) => Ok(e.match_),
                Ok(_) => unreachable!("a posture-only object is an event trigger"),
                Err(e) => Err(de::Error::custom(e)),
            }
        } else {
            d.deserialize_map(SpecVisitor)
        }
    }
}

struct SpecVisitor;

impl<'de> Visitor<'de> for SpecVisitor {
    type Value = ResourceSpec;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of label to patterns")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ResourceSpec, A::Error> {
        let mut labels = Vec::new();
        while let Some(entry) = map.next_entry::<String, Vec<String>>()? {
            labels.push(entry);
        }
        Ok(ResourceSpec { labels })
    }
}

/// `within` as Prefect serializes a timedelta (`ser_json_timedelta="float"`):
/// Python's `total_seconds()`, the microseconds divided by 10^6 and correctly rounded
/// once. (`micros as f64 / 1e6` rounds twice and differs past 2^53 µs.) The exact
/// decimal is written out and parsed, which `core`'s float parser rounds correctly.
fn seconds(d: Duration) -> f64 {
    struct Buf {
        bytes: [u8; 32],
        len: usize,
    }
    impl core::fmt::Write for Buf {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            let end = self.len + s.len();
            let dest = self.bytes.get_mut(self.len..end).ok_or(core::fmt::Error)?;
            dest.copy_from_slice(s.as_bytes());
            self.len = end;
            Ok(())
        }
    }
    let micros = d.as_micros();
    let mut buf = Buf {
        bytes: [0; 32],
        len: 0,
    };
    // u64::MAX µs is 20 + 1 + 6 characters: always fits
    let written = core::fmt::write(
        &mut buf,
        format_args!("{}.{:06}", micros / 1_000_000, micros % 1_000_000),
    );
    match (written, core::str::from_utf8(&buf.bytes[..buf.len])) {
        (Ok(()), Ok(text)) => text.parse().unwrap_or(micros as f64 / 1_000_000.0),
        _ => micros as f64 / 1_000_000.0,
    }
}

fn prefect_trigger<S: Serializer>(t: &Trigger, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Trigger::Event(e) => prefect_event(e, s),
        Trigger::Compound(c) => {
            let mut map = s.serialize_map(None)?;
            map.serialize_entry("type", "compound")?;
            if let Some(id) = &c.id {
                map.serialize_entry("id", id)?;
            }
            match c.require {
                Require::Any => map.serialize_entry("require", "any")?,
                Require::All => map.serialize_entry("require", "all")?,
                Require::AtLeast(n) => map.serialize_entry("require", &n)?,
            }
            map.serialize_entry("within", &c.within.map(seconds))?;
            map.serialize_entry("triggers", &c.triggers)?;
            map.end()
        }
        Trigger::Sequence(q) => {
            let mut map = s.serialize_map(None)?;
            map.serialize_entry("type", "sequence")?;
            if let Some(id) = &q.id {
                map.serialize_entry("id", id)?;
            }
            map.serialize_entry("within", &q.within.map(seconds))?;
            map.serialize_entry("triggers", &q.triggers)?;
            map.end()
        }
    }
}

fn prefect_event<S: Serializer>(e: &EventTrigger, s: S) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(None)?;
    map.serialize_entry("type", "event")?;
    if let Some(id) = &e.id {
        map.serialize_entry("id", id)?;
    }
    map.serialize_entry("match", &e.match_)?;
    map.serialize_entry("match_related", &e.match_related)?;
    map.serialize_entry("after", &e.after)?;
    map.serialize_entry("expect", &e.expect)?;
    map.serialize_entry("for_each", &e.for_each)?;
    map.serialize_entry(
        "posture",
        match e.posture {
            Posture::Reactive => "Reactive",
            Posture::Proactive => "Proactive",
        },
    )?;
    map.serialize_entry("threshold", &e.threshold)?;
    map.serialize_entry("within", &seconds(e.within))?;
    map.end()
}

/// The derived binary shape (field order = declaration order; stable across
/// versions only as long as these definitions are).
mod compact {
    use super::*;
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize)]
    #[serde(remote = "Trigger")]
    pub(super) enum TriggerDef {
        Event(#[serde(with = "EventTriggerDef")] EventTrigger),
        Compound(#[serde(with = "CompoundTriggerDef")] CompoundTrigger),
        Sequence(#[serde(with = "SequenceTriggerDef")] SequenceTrigger),
    }

    #[derive(Serialize, Deserialize)]
    #[serde(remote = "EventTrigger")]
    pub(super) struct EventTriggerDef {
        id: Option<String>,
        match_: ResourceSpec,
        match_related: Vec<ResourceSpec>,
        after: Vec<String>,
        expect: Vec<String>,
        for_each: Vec<String>,
        posture: Posture,
        threshold: i64,
        within: Duration,
    }

    #[derive(Serialize, Deserialize)]
    #[serde(remote = "Require")]
    enum RequireDef {
        Any,
        All,
        AtLeast(u32),
    }

    #[derive(Serialize, Deserialize)]
    #[serde(remote = "CompoundTrigger")]
    struct CompoundTriggerDef {
        id: Option<String>,
        #[serde(with = "RequireDef")]
        require: Require,
        within: Option<Duration>,
        triggers: Vec<Trigger>,
    }

    #[derive(Serialize, Deserialize)]
    #[serde(remote = "SequenceTrigger")]
    struct SequenceTriggerDef {
        id: Option<String>,
        within: Option<Duration>,
        triggers: Vec<Trigger>,
    }
}
