//! JSON as JavaScript's `JSON.parse` and `JSON.stringify` treat it.
//!
//! The TypeScript service parses every wire payload with `JSON.parse` and
//! writes the Secret's `spec.json` with `JSON.stringify`. Both accept and keep
//! things `serde_json` does not: a lone surrogate escape (`"\ud83d"`), numbers
//! beyond `f64` range (`1e400` is `Infinity`), duplicate keys (the last value
//! wins, at the first key's position). Objects enumerate array-index keys
//! (`"0"`, `"17"`) first in numeric order, then the other keys in the order
//! received.
//!
//! [`parse`] builds a [`JsValue`] with those rules, [`JsValue::to_json`]
//! writes it back byte for byte like `JSON.stringify`, and `&JsValue` is a
//! serde [`Deserializer`] so the typed wire structs can be read from it.
//! Strings are seen by serde with each lone surrogate replaced by U+FFFD,
//! which is what `Buffer.from(text, 'utf8')` makes of it in the TypeScript.
//!
//! ```
//! use tale_sandbox_contract::js_json;
//!
//! let value = js_json::parse(r#"{"b": 1.0, "2": "\ud83d", "b": 3e4}"#).unwrap();
//! // Index keys first, the last duplicate wins, numbers as JavaScript prints them.
//! assert_eq!(value.to_json(), r#"{"2":"\ud83d","b":30000}"#);
//! let text: String = js_json::from_value(value.get("2").unwrap()).unwrap();
//! assert_eq!(text, "\u{FFFD}");
//! let b: u64 = js_json::from_value(value.get("b").unwrap()).unwrap();
//! assert_eq!(b, 30_000);
//! ```

use std::collections::HashMap;
use std::fmt;

use serde::de::value::{Error as DeError, MapDeserializer, SeqDeserializer};
use serde::de::{self, IntoDeserializer, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer, forward_to_deserialize_any};

/// Deepest nesting [`parse`] accepts. V8 accepts deeper input until its stack
/// runs out; no payload of the execute path nests more than five levels.
pub const MAX_DEPTH: usize = 512;

/// A JavaScript string: its text with lone surrogates replaced by U+FFFD, and
/// the exact UTF-16 units when the text had a lone surrogate.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JsString {
    text: String,
    utf16: Option<Box<[u16]>>,
}

impl JsString {
    /// The text, each lone surrogate replaced by U+FFFD.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the string holds a lone surrogate (so [`Self::as_str`] is lossy).
    pub fn has_lone_surrogate(&self) -> bool {
        self.utf16.is_some()
    }
}

impl From<&str> for JsString {
    fn from(text: &str) -> Self {
        JsString { text: text.to_string(), utf16: None }
    }
}

/// A value as `JSON.parse` returns it.
#[derive(Debug, Clone, PartialEq)]
pub enum JsValue {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// Every JSON number is an IEEE double; `1e400` is infinite.
    Number(f64),
    /// A string.
    String(JsString),
    /// An array.
    Array(Vec<JsValue>),
    /// An object's own keys in JavaScript enumeration order, without duplicates.
    Object(Vec<(JsString, JsValue)>),
}

impl JsValue {
    /// The value of `key` when `self` is an object.
    pub fn get(&self, key: &str) -> Option<&JsValue> {
        match self {
            JsValue::Object(entries) => {
                entries.iter().find(|(k, _)| k.utf16.is_none() && k.text == key).map(|(_, v)| v)
            }
            _ => None,
        }
    }

    /// `JSON.stringify(value)`: compact, non-finite numbers as `null`, lone
    /// surrogates as `\udxxx` escapes.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        write_json(&mut out, self);
        out
    }

    /// JavaScript truthiness (`if (value)`).
    pub fn is_truthy(&self) -> bool {
        match self {
            JsValue::Null => false,
            JsValue::Bool(b) => *b,
            JsValue::Number(n) => *n != 0.0 && !n.is_nan(),
            JsValue::String(s) => !s.text.is_empty() || s.utf16.is_some(),
            JsValue::Array(_) | JsValue::Object(_) => true,
        }
    }
}

/// Why [`parse`] rejected a text; `JSON.parse` throws a `SyntaxError` there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonSyntaxError {
    /// Byte offset of the offending character.
    pub position: usize,
    /// What was wrong.
    pub message: &'static str,
}

impl fmt::Display for JsonSyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at position {}", self.message, self.position)
    }
}

impl std::error::Error for JsonSyntaxError {}

/// `JSON.parse(text)`: the grammar of ECMA-404 (whitespace is space, tab,
/// `\n`, `\r`), with the value rules of the module documentation.
pub fn parse(text: &str) -> Result<JsValue, JsonSyntaxError> {
    let mut parser = Parser { bytes: text.as_bytes(), text, pos: 0, depth: 0 };
    let value = parser.value()?;
    parser.skip_whitespace();
    if parser.pos != parser.bytes.len() {
        return Err(parser.error("unexpected text after the JSON value"));
    }
    Ok(value)
}

struct Parser<'a> {
    bytes: &'a [u8],
    text: &'a str,
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn error(&self, message: &'static str) -> JsonSyntaxError {
        JsonSyntaxError { position: self.pos, message }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn literal(&mut self, word: &'static str, value: JsValue) -> Result<JsValue, JsonSyntaxError> {
        if self.bytes[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(value)
        } else {
            Err(self.error("unexpected token"))
        }
    }

    fn value(&mut self) -> Result<JsValue, JsonSyntaxError> {
        self.skip_whitespace();
        match self.peek() {
            None => Err(self.error("unexpected end of JSON input")),
            Some(b'{') => self.nested(Self::object),
            Some(b'[') => self.nested(Self::array),
            Some(b'"') => self.string().map(JsValue::String),
            Some(b't') => self.literal("true", JsValue::Bool(true)),
            Some(b'f') => self.literal("false", JsValue::Bool(false)),
            Some(b'n') => self.literal("null", JsValue::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.error("unexpected token")),
        }
    }

    fn nested(
        &mut self,
        inner: fn(&mut Self) -> Result<JsValue, JsonSyntaxError>,
    ) -> Result<JsValue, JsonSyntaxError> {
        if self.depth == MAX_DEPTH {
            return Err(self.error("nesting too deep"));
        }
        self.depth += 1;
        let value = inner(self);
        self.depth -= 1;
        value
    }

    fn array(&mut self) -> Result<JsValue, JsonSyntaxError> {
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(JsValue::Array(items));
        }
        loop {
            items.push(self.value()?);
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(JsValue::Array(items));
                }
                _ => return Err(self.error("expected ',' or ']' in array")),
            }
        }
    }

    fn object(&mut self) -> Result<JsValue, JsonSyntaxError> {
        self.pos += 1;
        let mut entries: Vec<(JsString, JsValue)> = Vec::new();
        let mut index: HashMap<JsString, usize> = HashMap::new();
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(JsValue::Object(entries));
        }
        loop {
            self.skip_whitespace();
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a string key in object"));
            }
            let key = self.string()?;
            self.skip_whitespace();
            if self.peek() != Some(b':') {
                return Err(self.error("expected ':' after object key"));
            }
            self.pos += 1;
            let value = self.value()?;
            match index.get(&key) {
                Some(&at) => entries[at].1 = value,
                None => {
                    index.insert(key.clone(), entries.len());
                    entries.push((key, value));
                }
            }
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    // Array-index keys first, ascending; the sort is stable,
                    // so the other keys keep their order.
                    entries.sort_by_key(|(k, _)| array_index(k).map_or(u64::MAX, u64::from));
                    return Ok(JsValue::Object(entries));
                }
                _ => return Err(self.error("expected ',' or '}' in object")),
            }
        }
    }

    fn number(&mut self) -> Result<JsValue, JsonSyntaxError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.error("no digit in number")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.error("no digit after the decimal point"));
            }
            self.digits();
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.error("no digit in exponent"));
            }
            self.digits();
        }
        // Rust's float parsing rounds correctly and overflows to infinity,
        // like JavaScript's.
        let value = self.text[start..self.pos]
            .parse::<f64>()
            .map_err(|_| self.error("malformed number"))?;
        Ok(JsValue::Number(value))
    }

    fn digits(&mut self) {
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
    }

    fn hex4(&mut self) -> Result<u16, JsonSyntaxError> {
        let digits = self
            .text
            .get(self.pos..self.pos + 4)
            .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| self.error("bad \\u escape"))?;
        self.pos += 4;
        Ok(u16::from_str_radix(digits, 16).expect("four hex digits"))
    }

    fn string(&mut self) -> Result<JsString, JsonSyntaxError> {
        self.pos += 1;
        let mut text = String::new();
        let mut utf16: Option<Vec<u16>> = None;
        loop {
            let run_start = self.pos;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            let run = &self.text[run_start..self.pos];
            text.push_str(run);
            if let Some(units) = utf16.as_mut() {
                units.extend(run.encode_utf16());
            }
            match self.peek() {
                None => return Err(self.error("unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(JsString { text, utf16: utf16.map(Vec::into_boxed_slice) });
                }
                Some(b'\\') => {}
                Some(_) => return Err(self.error("control character in string")),
            }
            self.pos += 1;
            let escaped = match self.peek() {
                Some(b'"') => '"',
                Some(b'\\') => '\\',
                Some(b'/') => '/',
                Some(b'b') => '\u{8}',
                Some(b'f') => '\u{c}',
                Some(b'n') => '\n',
                Some(b'r') => '\r',
                Some(b't') => '\t',
                Some(b'u') => {
                    self.pos += 1;
                    let unit = self.hex4()?;
                    self.unicode_escape(unit, &mut text, &mut utf16)?;
                    continue;
                }
                _ => return Err(self.error("bad escape")),
            };
            self.pos += 1;
            text.push(escaped);
            if let Some(units) = utf16.as_mut() {
                units.push(escaped as u16);
            }
        }
    }

    /// Appends the code unit of a `\uXXXX` escape, pairing a high surrogate
    /// with an immediately following `\uXXXX` low surrogate.
    fn unicode_escape(
        &mut self,
        unit: u16,
        text: &mut String,
        utf16: &mut Option<Vec<u16>>,
    ) -> Result<(), JsonSyntaxError> {
        let is_high = (0xD800..0xDC00).contains(&unit);
        if is_high && self.bytes[self.pos..].starts_with(b"\\u") {
            let save = self.pos;
            self.pos += 2;
            let low = self.hex4()?;
            if (0xDC00..0xE000).contains(&low) {
                let c = 0x10000 + ((u32::from(unit) - 0xD800) << 10) + (u32::from(low) - 0xDC00);
                text.push(char::from_u32(c).expect("a surrogate pair is a scalar value"));
                if let Some(units) = utf16.as_mut() {
                    units.extend([unit, low]);
                }
                return Ok(());
            }
            self.pos = save;
        }
        match char::from_u32(u32::from(unit)) {
            Some(c) => {
                text.push(c);
                if let Some(units) = utf16.as_mut() {
                    units.push(unit);
                }
            }
            None => {
                let units = utf16.get_or_insert_with(|| text.encode_utf16().collect());
                units.push(unit);
                text.push(char::REPLACEMENT_CHARACTER);
            }
        }
        Ok(())
    }
}

/// The value of a canonical array-index key (`"0"`, `"42"`, at most 2^32 - 2).
fn array_index(key: &JsString) -> Option<u32> {
    let k = key.text.as_str();
    if key.utf16.is_some() || k.is_empty() || (k.len() > 1 && k.starts_with('0')) {
        return None;
    }
    if !k.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    k.parse::<u32>().ok().filter(|&i| i != u32::MAX)
}

/// `Number.prototype.toString()` in base 10, as `JSON.stringify` writes a
/// finite number: `3`, `1.5`, `1e+21`, `1e-7`, `0.000001`.
pub fn format_number(value: f64) -> String {
    if value.is_nan() {
        return "NaN".into();
    }
    if value == 0.0 {
        return "0".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    // `{:e}` prints the shortest digits that round-trip, e.g. `1.5e0`.
    let scientific = format!("{:e}", value.abs());
    let (mantissa, exponent) = scientific.split_once('e').expect("LowerExp output has an exponent");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let k = digits.len() as i32;
    let n = exponent.parse::<i32>().expect("LowerExp exponent is an integer") + 1;
    let mut out = String::new();
    if value < 0.0 {
        out.push('-');
    }
    if k <= n && n <= 21 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        out.push_str(&digits[..n as usize]);
        out.push('.');
        out.push_str(&digits[n as usize..]);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-n) as usize));
        out.push_str(&digits);
    } else {
        out.push_str(&digits[..1]);
        if k > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push_str(if n > 0 { "e+" } else { "e-" });
        out.push_str(&(n - 1).abs().to_string());
    }
    out
}

fn write_json(out: &mut String, value: &JsValue) {
    match value {
        JsValue::Null => out.push_str("null"),
        JsValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        JsValue::Number(n) if n.is_finite() => out.push_str(&format_number(*n)),
        JsValue::Number(_) => out.push_str("null"),
        JsValue::String(s) => write_string(out, s),
        JsValue::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, item);
            }
            out.push(']');
        }
        JsValue::Object(entries) => {
            out.push('{');
            for (i, (key, item)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, key);
                out.push(':');
                write_json(out, item);
            }
            out.push('}');
        }
    }
}

/// `JSON.stringify` of a string (well-formed variant, ES2019).
fn write_string(out: &mut String, s: &JsString) {
    out.push('"');
    match &s.utf16 {
        None => {
            for c in s.text.chars() {
                push_escaped(out, c as u32);
            }
        }
        Some(units) => {
            for item in char::decode_utf16(units.iter().copied()) {
                match item {
                    Ok(c) => push_escaped(out, c as u32),
                    Err(lone) => {
                        out.push_str(&format!("\\u{:04x}", lone.unpaired_surrogate()));
                    }
                }
            }
        }
    }
    out.push('"');
}

fn push_escaped(out: &mut String, c: u32) {
    match c {
        0x22 => out.push_str("\\\""),
        0x5C => out.push_str("\\\\"),
        0x08 => out.push_str("\\b"),
        0x0C => out.push_str("\\f"),
        0x0A => out.push_str("\\n"),
        0x0D => out.push_str("\\r"),
        0x09 => out.push_str("\\t"),
        c if c < 0x20 => out.push_str(&format!("\\u{c:04x}")),
        c => out.push(char::from_u32(c).expect("a char")),
    }
}

/// Serializes `value` as the JSON number `JSON.stringify` writes, as far as
/// the serializer allows: integral values within 64 bits as integers (`3`,
/// not `3.0`), others as `f64` (`1.5`), non-finite values as `null`.
/// `serde_json` spells very large and very small fractions in exponent form
/// where JavaScript does not (`1.5e-6` for `0.0000015`); the value is the same.
pub fn serialize_number<S: Serializer>(value: f64, s: S) -> Result<S::Ok, S::Error> {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if !value.is_finite() {
        s.serialize_unit()
    } else if value.fract() == 0.0 && (-TWO_63..TWO_63).contains(&value) {
        s.serialize_i64(value as i64)
    } else if value.fract() == 0.0 && (0.0..2.0 * TWO_63).contains(&value) {
        s.serialize_u64(value as u64)
    } else {
        s.serialize_f64(value)
    }
}

/// [`serialize_number`] for `serialize_with` on an `f64` field.
pub fn serialize_number_ref<S: Serializer>(value: &f64, s: S) -> Result<S::Ok, S::Error> {
    serialize_number(*value, s)
}

impl From<&str> for JsValue {
    fn from(text: &str) -> Self {
        JsValue::String(text.into())
    }
}

impl Serialize for JsValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            JsValue::Null => s.serialize_unit(),
            JsValue::Bool(b) => s.serialize_bool(*b),
            JsValue::Number(n) => serialize_number(*n, s),
            JsValue::String(text) => s.serialize_str(text.as_str()),
            JsValue::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            JsValue::Object(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (key, item) in entries {
                    map.serialize_entry(key.as_str(), item)?;
                }
                map.end()
            }
        }
    }
}

/// Builds a [`JsValue`] from another format (e.g. `serde_json`), keeping the
/// key order the deserializer reports.
impl<'de> Deserialize<'de> for JsValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ValueVisitor;
        impl<'de> Visitor<'de> for ValueVisitor {
            type Value = JsValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_unit<E>(self) -> Result<JsValue, E> {
                Ok(JsValue::Null)
            }
            fn visit_none<E>(self) -> Result<JsValue, E> {
                Ok(JsValue::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<JsValue, D::Error> {
                JsValue::deserialize(d)
            }
            fn visit_bool<E>(self, b: bool) -> Result<JsValue, E> {
                Ok(JsValue::Bool(b))
            }
            fn visit_i64<E>(self, n: i64) -> Result<JsValue, E> {
                Ok(JsValue::Number(n as f64))
            }
            fn visit_u64<E>(self, n: u64) -> Result<JsValue, E> {
                Ok(JsValue::Number(n as f64))
            }
            fn visit_f64<E>(self, n: f64) -> Result<JsValue, E> {
                Ok(JsValue::Number(n))
            }
            fn visit_str<E>(self, s: &str) -> Result<JsValue, E> {
                Ok(JsValue::String(s.into()))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<JsValue, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(JsValue::Array(items))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<JsValue, A::Error> {
                let mut entries: Vec<(JsString, JsValue)> = Vec::new();
                let mut index: HashMap<String, usize> = HashMap::new();
                while let Some((key, value)) = map.next_entry::<String, JsValue>()? {
                    match index.get(&key) {
                        Some(&at) => entries[at].1 = value,
                        None => {
                            index.insert(key.clone(), entries.len());
                            entries.push((JsString::from(key.as_str()), value));
                        }
                    }
                }
                entries.sort_by_key(|(k, _)| array_index(k).map_or(u64::MAX, u64::from));
                Ok(JsValue::Object(entries))
            }
        }
        d.deserialize_any(ValueVisitor)
    }
}

/// Reads a typed value from a [`JsValue`]. Integral numbers are offered to
/// the visitor as integers, so `3e4` and `30000.0` fill an integer field.
pub fn from_value<'de, T: Deserialize<'de>>(value: &'de JsValue) -> Result<T, DeError> {
    T::deserialize(value)
}

impl<'de> IntoDeserializer<'de, DeError> for &'de JsValue {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de> Deserializer<'de> for &'de JsValue {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        const TWO_63: f64 = 9_223_372_036_854_775_808.0;
        match self {
            JsValue::Null => visitor.visit_unit(),
            JsValue::Bool(b) => visitor.visit_bool(*b),
            JsValue::Number(n) if n.fract() == 0.0 && (-TWO_63..TWO_63).contains(n) => {
                visitor.visit_i64(*n as i64)
            }
            JsValue::Number(n) if n.fract() == 0.0 && (0.0..2.0 * TWO_63).contains(n) => {
                visitor.visit_u64(*n as u64)
            }
            JsValue::Number(n) => visitor.visit_f64(*n),
            JsValue::String(s) => visitor.visit_borrowed_str(s.as_str()),
            JsValue::Array(items) => {
                let mut seq = SeqDeserializer::new(items.iter());
                let value = visitor.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(value)
            }
            JsValue::Object(entries) => {
                let mut map = MapDeserializer::new(entries.iter().map(|(k, v)| (k.as_str(), v)));
                let value = visitor.visit_map(&mut map)?;
                map.end()?;
                Ok(value)
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self {
            JsValue::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match self {
            JsValue::String(s) => visitor.visit_enum(s.as_str().into_deserializer()),
            _ => Err(de::Error::invalid_type(self.unexpected(), &"a string")),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct
        identifier ignored_any
    }
}

impl JsValue {
    fn unexpected(&self) -> de::Unexpected<'_> {
        match self {
            JsValue::Null => de::Unexpected::Unit,
            JsValue::Bool(b) => de::Unexpected::Bool(*b),
            JsValue::Number(n) => de::Unexpected::Float(*n),
            JsValue::String(s) => de::Unexpected::Str(s.as_str()),
            JsValue::Array(_) => de::Unexpected::Seq,
            JsValue::Object(_) => de::Unexpected::Map,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_like_number_to_string() {
        for (value, text) in [
            (3.0, "3"),
            (1.5, "1.5"),
            (-0.0, "0"),
            (30000.0, "30000"),
            (1e21, "1e+21"),
            (1e-7, "1e-7"),
            (0.000001, "0.000001"),
            (0.0000015, "0.0000015"),
            (123e-20, "1.23e-18"),
            (9007199254740992.0, "9007199254740992"),
            (123456789012345680000.0, "123456789012345680000"),
            (f64::MAX, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (-2.5e30, "-2.5e+30"),
            (0.1 + 0.2, "0.30000000000000004"),
        ] {
            assert_eq!(format_number(value), text, "{value:e}");
        }
    }

    #[test]
    fn object_order_and_duplicates_follow_javascript() {
        let v = parse(r#"{"b":1,"2":2,"a":3,"b":4,"10":5,"01":6}"#).unwrap();
        assert_eq!(v.to_json(), r#"{"2":2,"10":5,"b":4,"a":3,"01":6}"#);
    }

    #[test]
    fn lone_surrogates_survive_a_round_trip_and_read_as_replacement() {
        let v = parse(r#"["\ud83d","\ud83d\ude00","a\udc00b","\uD83D\u0041"]"#).unwrap();
        assert_eq!(v.to_json(), "[\"\\ud83d\",\"😀\",\"a\\udc00b\",\"\\ud83dA\"]");
        let texts: Vec<String> = from_value(&v).unwrap();
        assert_eq!(texts, ["\u{FFFD}", "😀", "a\u{FFFD}b", "\u{FFFD}A"]);
    }

    #[test]
    fn grammar_is_as_strict_as_json_parse() {
        for bad in [
            "",
            "01",
            "1.",
            ".5",
            "+1",
            "[1,]",
            "{\"a\":1,}",
            "'a'",
            "\"\t\"",
            "\"\\x\"",
            "\"\\u12\"",
            "NaN",
            "Infinity",
            "[1] x",
            "{a:1}",
            "tru",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse("1e400").unwrap(), JsValue::Number(f64::INFINITY));
        assert_eq!(parse(" \r\n\t[] ").unwrap(), JsValue::Array(vec![]));
        let deep = "[".repeat(MAX_DEPTH + 1);
        assert!(parse(&deep).is_err());
    }

    #[test]
    fn stringify_escapes_like_javascript() {
        let v = parse(r#""\u0001\b\f\n\r\t\"\\\/\u2028é\u007f""#).unwrap();
        assert_eq!(v.to_json(), "\"\\u0001\\b\\f\\n\\r\\t\\\"\\\\/\u{2028}é\u{7f}\"");
    }
}
