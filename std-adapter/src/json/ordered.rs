//! The order-keeping JSON tree ([`Ordered`], the scenario reader's `Json`) made readable
//! by serde as a deserializer, so core's serde-based parsers see members in order.

use serde::de::value::{MapDeserializer, SeqDeserializer};
use serde::de::{Deserializer, IntoDeserializer, Visitor};
use serde::forward_to_deserialize_any;

/// The ordered JSON tree is the scenario reader's `Json`: the same rule for repeated
/// keys (Python's `dict`: first position, last value), one implementation.
pub(crate) use crate::scenario::Json as Ordered;

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
