//! A JSON tree that keeps object members in document order (Python's `dict` rule for
//! repeated keys: first position, last value), readable by serde as a deserializer.

use std::fmt;

use serde::de::value::{MapDeserializer, SeqDeserializer};
use serde::de::{self, Deserialize, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde::forward_to_deserialize_any;

/// A JSON value with ordered objects.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Ordered {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Ordered>),
    Object(Vec<(String, Ordered)>),
}

impl Ordered {
    /// Reads a document; syntax errors keep serde_json's line and column.
    pub(crate) fn from_str(text: &str) -> Result<Ordered, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Converts a `serde_json::Value` (its own member order is kept).
    pub(crate) fn from_value(value: &serde_json::Value) -> Ordered {
        match value {
            serde_json::Value::Null => Ordered::Null,
            serde_json::Value::Bool(b) => Ordered::Bool(*b),
            serde_json::Value::Number(n) => Ordered::Number(n.clone()),
            serde_json::Value::String(s) => Ordered::String(s.clone()),
            serde_json::Value::Array(items) => {
                Ordered::Array(items.iter().map(Ordered::from_value).collect())
            }
            serde_json::Value::Object(map) => Ordered::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), Ordered::from_value(v)))
                    .collect(),
            ),
        }
    }

    /// Member `key` of an object.
    pub(crate) fn get(&self, key: &str) -> Option<&Ordered> {
        match self {
            Ordered::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// A short description of the value's kind, for error messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Ordered::Null => "null",
            Ordered::Bool(_) => "a boolean",
            Ordered::Number(_) => "a number",
            Ordered::String(_) => "a string",
            Ordered::Array(_) => "a list",
            Ordered::Object(_) => "an object",
        }
    }
}

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Ordered, D::Error> {
        d.deserialize_any(OrderedVisitor)
    }
}

struct OrderedVisitor;

impl<'de> Visitor<'de> for OrderedVisitor {
    type Value = Ordered;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Ordered, E> {
        Ok(Ordered::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Ordered, E> {
        Ok(Ordered::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Ordered, E> {
        Ok(Ordered::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Ordered, E> {
        serde_json::Number::from_f64(v)
            .map(Ordered::Number)
            .ok_or_else(|| E::custom("not a finite number"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Ordered, E> {
        Ok(Ordered::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Ordered, E> {
        Ok(Ordered::String(v))
    }
    fn visit_unit<E>(self) -> Result<Ordered, E> {
        Ok(Ordered::Null)
    }
    fn visit_none<E>(self) -> Result<Ordered, E> {
        Ok(Ordered::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Ordered, D::Error> {
        Ordered::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Ordered, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Ordered::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered, A::Error> {
        let mut members: Vec<(String, Ordered)> = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, Ordered>()? {
            match members.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = value,
                None => members.push((key, value)),
            }
        }
        Ok(Ordered::Object(members))
    }
}

/// Lets core's serde-based parsers (e.g. `Trigger::deserialize_prefect`) read an
/// [`Ordered`] tree without losing member order.
impl<'de> Deserializer<'de> for &Ordered {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self {
            Ordered::Null => visitor.visit_unit(),
            Ordered::Bool(b) => visitor.visit_bool(*b),
            Ordered::Number(n) => {
                if let Some(u) = n.as_u64() {
                    visitor.visit_u64(u)
                } else if let Some(i) = n.as_i64() {
                    visitor.visit_i64(i)
                } else {
                    visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Ordered::String(s) => visitor.visit_str(s),
            Ordered::Array(items) => {
                visitor.visit_seq(SeqDeserializer::new(items.iter().map(OrderedRef)))
            }
            Ordered::Object(members) => visitor.visit_map(MapDeserializer::new(
                members.iter().map(|(k, v)| (k.as_str(), OrderedRef(v))),
            )),
        }
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

/// `&Ordered` as an `IntoDeserializer` element for serde's seq/map helpers.
struct OrderedRef<'a>(&'a Ordered);

impl<'de, 'a> IntoDeserializer<'de, serde_json::Error> for OrderedRef<'a> {
    type Deserializer = &'a Ordered;

    fn into_deserializer(self) -> &'a Ordered {
        self.0
    }
}
