//! Python's `json` module as the oracle uses it: [`Json`] reads a document keeping
//! object members in order with `dict` semantics, and `py_json*` print values like
//! `json.dumps` with its default settings (`", "` and `": "` separators,
//! `ensure_ascii=True`, floats as `repr`), so replay output matches the oracle's byte
//! for byte.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::time::python_float_repr;

/// A JSON value that keeps object members in document order.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A number as serde_json parsed it.
    Number(serde_json::Number),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Json>),
    /// An object's members in document order (a repeated key keeps its first position
    /// and takes its last value, as Python's `json.load` does).
    Object(Vec<(String, Json)>),
}

impl Json {
    /// The member `key` of an object, if this is an object that has it.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The equivalent `serde_json::Value` (object members re-sorted by serde_json).
    pub fn to_value(&self) -> serde_json::Value {
        match self {
            Json::Null => serde_json::Value::Null,
            Json::Bool(b) => serde_json::Value::Bool(*b),
            Json::Number(n) => serde_json::Value::Number(n.clone()),
            Json::String(s) => serde_json::Value::String(s.clone()),
            Json::Array(items) => {
                serde_json::Value::Array(items.iter().map(Json::to_value).collect())
            }
            Json::Object(members) => serde_json::Value::Object(
                members
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_value()))
                    .collect(),
            ),
        }
    }

    /// A short description of the value for error messages (Python's names).
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Number(_) => "a number",
            Json::String(_) => "a string",
            Json::Array(_) => "an array",
            Json::Object(_) => "an object",
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Json, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
        Ok(Json::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
        Ok(Json::Number(v.into()))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Json, E> {
        serde_json::Number::from_f64(v)
            .map(Json::Number)
            .ok_or_else(|| E::custom("not a finite number"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Json, E> {
        Ok(Json::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Json, E> {
        Ok(Json::String(v))
    }
    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_none<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Json, D::Error> {
        Json::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut members: Vec<(String, Json)> = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, Json>()? {
            match members.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = value,
                None => members.push((key, value)),
            }
        }
        Ok(Json::Object(members))
    }
}

/// `json.dumps(text)`: quoted, `"` and `\` escaped, `\n \r \t \b \f` as such, every other
/// character outside `' '..='~'` as `\uXXXX` (lower-case hex, surrogate pairs beyond the
/// Basic Multilingual Plane).
pub fn py_json_str(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
    out
}

/// `json.dumps(value)` of a parsed document.
pub fn py_json(value: &Json) -> String {
    match value {
        Json::Null => "null".to_owned(),
        Json::Bool(true) => "true".to_owned(),
        Json::Bool(false) => "false".to_owned(),
        Json::Number(n) => py_json_number(n),
        Json::String(s) => py_json_str(s),
        Json::Array(items) => {
            let items: Vec<String> = items.iter().map(py_json).collect();
            format!("[{}]", items.join(", "))
        }
        Json::Object(members) => {
            py_json_object(members.iter().map(|(k, v)| (k.as_str(), py_json(v))))
        }
    }
}

/// A JSON number as Python prints it: integers as digits, floats as `repr`.
pub fn py_json_number(n: &serde_json::Number) -> String {
    if n.is_f64() {
        python_float_repr(n.as_f64().unwrap_or(f64::NAN))
    } else {
        n.to_string()
    }
}

/// `json.dumps` of a `dict` whose values are already dumped: `{"k": v, ...}`.
pub fn py_json_object<'a>(members: impl IntoIterator<Item = (&'a str, String)>) -> String {
    let members: Vec<String> = members
        .into_iter()
        .map(|(k, v)| format!("{}: {v}", py_json_str(k)))
        .collect();
    format!("{{{}}}", members.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_escape_like_ensure_ascii() {
        assert_eq!(py_json_str("plain"), r#""plain""#);
        assert_eq!(py_json_str("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(py_json_str("\n\r\t\u{8}\u{c}"), r#""\n\r\t\b\f""#);
        assert_eq!(py_json_str("\u{1}\u{1f}\u{7f}"), r#""\u0001\u001f\u007f""#);
        // python3 -c 'import json; print(json.dumps("zürich ✓ 😀"))'
        assert_eq!(
            py_json_str("zürich ✓ 😀"),
            r#""z\u00fcrich \u2713 \ud83d\ude00""#
        );
        assert_eq!(py_json_str("/<>&'"), r#""/<>&'""#);
    }

    #[test]
    fn documents_dump_with_python_separators() {
        let doc: Json = serde_json::from_str(
            r#"{"b": [1, 2.5, 1e2, -0.0, true, null], "a": {"x": "ü"}, "c": 12345678901234567890}"#,
        )
        .unwrap();
        assert_eq!(
            py_json(&doc),
            r#"{"b": [1, 2.5, 100.0, -0.0, true, null], "a": {"x": "\u00fc"}, "c": 12345678901234567890}"#
        );
        assert_eq!(py_json_object([]), "{}");
    }
}
