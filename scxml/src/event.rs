//! Events and the data-model-independent values they carry between sessions and hosts.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A value that crosses a session boundary (event data, invoke parameters, done data).
/// It is the JSON data model plus `undefined`; a data model converts to and from it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub enum Value {
    #[default]
    Undefined,
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Value>),
    /// Properties in insertion order.
    Object(Vec<(String, Value)>),
    /// An XML document or fragment, as markup (an ECMAScript data model binds it to a DOM).
    Xml(String),
}

impl Value {
    pub fn is_undefined(&self) -> bool {
        matches!(self, Value::Undefined)
    }

    /// Looks up a property of an object value.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(props) => props.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// ECMAScript `ToString` for primitives; objects and arrays render as JSON.
    pub fn to_display_string(&self) -> String {
        match self {
            Value::Undefined => "undefined".into(),
            Value::Null => "null".into(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => format_number(*n),
            Value::String(s) | Value::Xml(s) => s.clone(),
            Value::Array(_) | Value::Object(_) => self.to_json(),
        }
    }

    /// Serialises as JSON (`undefined` properties are omitted, as `JSON.stringify` does).
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut out);
        out
    }

    fn write_json(&self, out: &mut String) {
        match self {
            Value::Undefined | Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) if n.is_finite() => out.push_str(&format_number(*n)),
            Value::Number(_) => out.push_str("null"),
            Value::String(s) | Value::Xml(s) => write_json_string(s, out),
            Value::Array(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write_json(out);
                }
                out.push(']');
            }
            Value::Object(props) => {
                out.push('{');
                let mut first = true;
                for (k, v) in props.iter().filter(|(_, v)| !v.is_undefined()) {
                    if !first {
                        out.push(',');
                    }
                    first = false;
                    write_json_string(k, out);
                    out.push(':');
                    v.write_json(out);
                }
                out.push('}');
            }
        }
    }
}

/// Formats a number the way ECMAScript `Number.prototype.toString()` does for common values.
pub fn format_number(n: f64) -> String {
    if n.is_nan() {
        "NaN".into()
    } else if n.is_infinite() {
        if n > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else if n == 0.0 {
        // -0 prints as 0.
        "0".into()
    } else if n == n.trunc() && n.abs() < 1e21 {
        // Rust writes the shortest digits that read back to `n`, padded with zeros and never
        // in exponent form: ECMAScript's Number::toString below 1e21 (a cast through i64 would
        // saturate above 2^63).
        format!("{n}")
    } else {
        format!("{n}")
    }
}

/// Appends `s` as a JSON string literal.
pub(crate) fn write_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `_event.type` (SCXML §5.10.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventType {
    Platform,
    Internal,
    External,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Platform => "platform",
            EventType::Internal => "internal",
            EventType::External => "external",
        }
    }
}

/// The SCXML Event I/O Processor's type URI.
pub const SCXML_PROCESSOR: &str = "http://www.w3.org/TR/scxml/#SCXMLEventProcessor";
/// The Basic HTTP Event I/O Processor's type URI.
pub const BASICHTTP_PROCESSOR: &str = "http://www.w3.org/TR/scxml/#BasicHTTPEventProcessor";

/// An SCXML event with the seven `_event` fields (SCXML §5.10.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub name: String,
    pub kind: EventType,
    pub sendid: Option<String>,
    pub origin: Option<String>,
    pub origintype: Option<String>,
    pub invokeid: Option<String>,
    pub data: Value,
    /// The raw form of the event as received (Basic HTTP: the request body).
    pub raw: Option<String>,
}

impl Event {
    /// An event with only a name, of the given type.
    pub fn new(name: impl Into<String>, kind: EventType) -> Event {
        Event {
            name: name.into(),
            kind,
            sendid: None,
            origin: None,
            origintype: None,
            invokeid: None,
            data: Value::Undefined,
            raw: None,
        }
    }

    /// An external event with a name and data, as a host delivers it.
    pub fn external(name: impl Into<String>, data: Value) -> Event {
        Event {
            data,
            ..Event::new(name, EventType::External)
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name, self.kind.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::format_number;

    #[test]
    fn whole_numbers_print_as_ecmascript_does_even_past_two_to_the_sixty_three() {
        assert_eq!(format_number(5.0), "5");
        assert_eq!(format_number(-0.0), "0");
        assert_eq!(format_number(-42.0), "-42");
        assert_eq!(format_number(6.917491497644186e19), "69174914976441860000");
        assert_eq!(format_number(1e20), "100000000000000000000");
        assert_eq!(format_number(0.5), "0.5");
    }
}
