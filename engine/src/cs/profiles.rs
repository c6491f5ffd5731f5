//! Customer profiles (UCS's, served here): attributes, typed extensions checked against
//! their schemas, identification keys and the rule that picks one for a lookup
//! (context-services.md §1–2; UCS `createIdentificationKeysSchema`, `IdentifyCustomer`).
//!
//! A profile is flat JSON: a key naming an extension schema holds that extension (an object,
//! or an array of objects when multi-valued); every other key is a contact attribute
//! (`FirstName`, `EmailAddress`, ...), a scalar or an array of scalars whose first item is
//! the primary one. Lookups compare values without regard to case or surrounding spaces.

use serde_json::{Map, Value};

use super::CsError;
use crate::store::Millis;

/// Attribute names with values: a lookup's query, or what a key covers of it.
pub type Pairs = Vec<(String, String)>;
/// A profile body split into attributes and extensions.
pub type Split = (Map<String, Value>, Map<String, Value>);

/// The longest customer id (UCS: 16; ids given by a client may be longer, up to this).
pub const MAX_CUSTOMER_ID: usize = 64;
/// The longest attribute value indexed for lookups.
const MAX_INDEXED_VALUE: usize = 256;

#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub customer_id: String,
    pub attributes: Map<String, Value>,
    pub extensions: Map<String, Value>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// An attribute's value type in an extension schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    String,
    Integer,
    Boolean,
    Datetime,
}

impl AttrType {
    fn parse(s: &str) -> Option<AttrType> {
        Some(match s.to_ascii_lowercase().as_str() {
            "string" | "text" => AttrType::String,
            "integer" | "int" | "long" | "number" => AttrType::Integer,
            "boolean" | "bool" => AttrType::Boolean,
            "datetime" | "date" | "timestamp" => AttrType::Datetime,
            _ => return None,
        })
    }

    fn as_str(self) -> &'static str {
        match self {
            AttrType::String => "string",
            AttrType::Integer => "integer",
            AttrType::Boolean => "boolean",
            AttrType::Datetime => "datetime",
        }
    }

    fn admits(self, v: &Value) -> bool {
        match self {
            AttrType::String => v.is_string(),
            AttrType::Integer => v.is_i64() || v.is_u64(),
            AttrType::Boolean => v.is_boolean(),
            // ISO-8601 text or milliseconds since the epoch.
            AttrType::Datetime => {
                v.is_i64()
                    || v.as_str()
                        .is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok())
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SchemaAttr {
    pub name: String,
    pub kind: AttrType,
    /// The longest string value.
    pub length: Option<usize>,
    pub default: Option<Value>,
    pub mandatory: bool,
}

/// A profile extension's schema.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtensionSchema {
    pub name: String,
    /// Multi-valued: an array of records.
    pub multi: bool,
    pub attributes: Vec<SchemaAttr>,
    /// Attributes that identify a record among a multi-valued extension's.
    pub unique: Vec<String>,
}

fn field<'a>(obj: &'a Map<String, Value>, k: &str) -> Option<&'a Value> {
    obj.get(k)
}

/// A schema or key name: a letter first, letters, digits and `_`, at most 26 (UCS).
fn check_name(what: &str, name: &str) -> Result<(), CsError> {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 26;
    if ok {
        Ok(())
    } else {
        Err(CsError::invalid(format!(
            "invalid {what} name '{name}': a letter, then letters, digits or '_' (at most 26)"
        )))
    }
}

impl ExtensionSchema {
    /// From `{name, type: "single-valued"|"multi-valued", attributes: [...], unique: [...]}`.
    pub fn from_json(v: &Value) -> Result<ExtensionSchema, CsError> {
        let obj = v
            .as_object()
            .ok_or_else(|| CsError::invalid("an extension schema is a JSON object"))?;
        let name = field(obj, "name")
            .and_then(Value::as_str)
            .ok_or_else(|| CsError::invalid("an extension schema needs a 'name'"))?
            .to_owned();
        check_name("extension schema", &name)?;
        let multi = match field(obj, "type").and_then(Value::as_str) {
            None | Some("single-valued") => false,
            Some("multi-valued") => true,
            Some(other) => {
                return Err(CsError::invalid(format!(
                    "schema '{name}': type '{other}' is neither single-valued nor multi-valued"
                )))
            }
        };
        let list = field(obj, "attributes")
            .and_then(Value::as_array)
            .ok_or_else(|| CsError::invalid(format!("schema '{name}' needs 'attributes'")))?;
        let mut attributes: Vec<SchemaAttr> = Vec::new();
        for a in list {
            let a = a.as_object().ok_or_else(|| {
                CsError::invalid(format!("schema '{name}': each attribute is an object"))
            })?;
            let an = a
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    CsError::invalid(format!("schema '{name}': an attribute needs a 'name'"))
                })?
                .to_owned();
            if attributes.iter().any(|x| x.name.eq_ignore_ascii_case(&an)) {
                return Err(CsError::invalid(format!(
                    "schema '{name}': attribute '{an}' is listed twice"
                )));
            }
            let kind = match a.get("type").and_then(Value::as_str) {
                None => AttrType::String,
                Some(t) => AttrType::parse(t).ok_or_else(|| {
                    CsError::invalid(format!(
                        "schema '{name}': attribute '{an}' has unknown type '{t}' (string, integer, boolean or datetime)"
                    ))
                })?,
            };
            let length = match a.get("length") {
                None | Some(Value::Null) => None,
                Some(l) => Some(l.as_u64().filter(|l| *l > 0).ok_or_else(|| {
                    CsError::invalid(format!(
                        "schema '{name}': attribute '{an}' has a length that is not a positive integer"
                    ))
                })? as usize),
            };
            let default = a.get("default").filter(|d| !d.is_null()).cloned();
            if let Some(d) = &default {
                if !kind.admits(d) {
                    return Err(CsError::invalid(format!(
                        "schema '{name}': the default of '{an}' is not a {}",
                        kind.as_str()
                    )));
                }
            }
            let mandatory = match a.get("mandatory") {
                Some(Value::Bool(b)) => *b,
                Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
                _ => false,
            };
            attributes.push(SchemaAttr {
                name: an,
                kind,
                length,
                default,
                mandatory,
            });
        }
        if attributes.is_empty() {
            return Err(CsError::invalid(format!(
                "schema '{name}' needs at least one attribute"
            )));
        }
        let unique: Vec<String> = match field(obj, "unique") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(u)) => u
                .iter()
                .map(|x| {
                    x.as_str().map(String::from).ok_or_else(|| {
                        CsError::invalid(format!("schema '{name}': 'unique' lists attribute names"))
                    })
                })
                .collect::<Result<_, _>>()?,
            Some(_) => {
                return Err(CsError::invalid(format!(
                    "schema '{name}': 'unique' lists attribute names"
                )))
            }
        };
        if let Some(u) = unique
            .iter()
            .find(|u| !attributes.iter().any(|a| &a.name == *u))
        {
            return Err(CsError::invalid(format!(
                "schema '{name}': unique attribute '{u}' is not one of its attributes"
            )));
        }
        Ok(ExtensionSchema {
            name,
            multi,
            attributes,
            unique,
        })
    }

    pub fn to_json(&self) -> Value {
        let attributes: Vec<Value> = self
            .attributes
            .iter()
            .map(|a| {
                let mut m = Map::new();
                m.insert("name".into(), a.name.clone().into());
                m.insert("type".into(), a.kind.as_str().into());
                if let Some(l) = a.length {
                    m.insert("length".into(), l.into());
                }
                if let Some(d) = &a.default {
                    m.insert("default".into(), d.clone());
                }
                m.insert("mandatory".into(), a.mandatory.into());
                Value::Object(m)
            })
            .collect();
        serde_json::json!({
            "name": self.name,
            "type": if self.multi { "multi-valued" } else { "single-valued" },
            "attributes": attributes,
            "unique": self.unique,
        })
    }

    /// Checks one record, filling defaults.
    fn check_record(&self, record: &Value) -> Result<Value, CsError> {
        let name = &self.name;
        let obj = record.as_object().ok_or_else(|| {
            CsError::invalid(format!("extension '{name}': a record is a JSON object"))
        })?;
        let mut out = Map::new();
        for (k, v) in obj {
            let a = self
                .attributes
                .iter()
                .find(|a| &a.name == k)
                .ok_or_else(|| {
                    CsError::invalid(format!(
                        "extension '{name}' has no attribute '{k}' in its schema"
                    ))
                })?;
            if v.is_null() {
                continue;
            }
            if !a.kind.admits(v) {
                return Err(CsError::invalid(format!(
                    "extension '{name}': '{k}' must be a {}",
                    a.kind.as_str()
                )));
            }
            if let (Some(max), Some(s)) = (a.length, v.as_str()) {
                if s.chars().count() > max {
                    return Err(CsError::invalid(format!(
                        "extension '{name}': '{k}' is longer than {max} characters"
                    )));
                }
            }
            out.insert(k.clone(), v.clone());
        }
        for a in &self.attributes {
            if out.contains_key(&a.name) {
                continue;
            }
            match (&a.default, a.mandatory) {
                (Some(d), _) => {
                    out.insert(a.name.clone(), d.clone());
                }
                (None, true) => {
                    return Err(CsError::invalid(format!(
                        "extension '{name}': mandatory attribute '{}' is missing",
                        a.name
                    )))
                }
                (None, false) => {}
            }
        }
        Ok(Value::Object(out))
    }

    fn unique_key(&self, record: &Value) -> Option<Vec<Value>> {
        if self.unique.is_empty() {
            return None;
        }
        Some(
            self.unique
                .iter()
                .map(|u| record.get(u).cloned().unwrap_or(Value::Null))
                .collect(),
        )
    }

    /// Checks an extension's value: an object (single-valued) or an array of them
    /// (multi-valued; one object is taken as a list of one), records unique by `unique`.
    pub fn check(&self, value: &Value) -> Result<Value, CsError> {
        if !self.multi {
            if value.is_array() {
                return Err(CsError::invalid(format!(
                    "extension '{}' is single-valued: one object, not an array",
                    self.name
                )));
            }
            return self.check_record(value);
        }
        let records: Vec<&Value> = match value {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        let mut out: Vec<Value> = Vec::with_capacity(records.len());
        for r in records {
            let r = self.check_record(r)?;
            if let Some(key) = self.unique_key(&r) {
                if out
                    .iter()
                    .any(|o| self.unique_key(o).as_ref() == Some(&key))
                {
                    return Err(CsError::invalid(format!(
                        "extension '{}': two records have the same {}",
                        self.name,
                        self.unique.join(", ")
                    )));
                }
            }
            out.push(r);
        }
        Ok(Value::Array(out))
    }

    /// Inserts or replaces records of a multi-valued extension (those with the same unique
    /// attributes are replaced); a single-valued one is replaced.
    pub fn merge(&self, current: Option<&Value>, new: Value) -> Value {
        match (self.multi, current) {
            (true, Some(Value::Array(old))) => {
                let Value::Array(added) = new else {
                    return new;
                };
                let mut out: Vec<Value> = old
                    .iter()
                    .filter(|o| match self.unique_key(o) {
                        Some(k) => !added
                            .iter()
                            .any(|a| self.unique_key(a).as_ref() == Some(&k)),
                        None => true,
                    })
                    .cloned()
                    .collect();
                out.extend(added);
                Value::Array(out)
            }
            _ => new,
        }
    }
}

/// An identification key: the attributes (of the profile, or of one extension) a lookup
/// compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdKey {
    /// Keys are tried in ascending id.
    pub id: u32,
    pub name: String,
    /// `profile`, or the extension whose attributes these are.
    pub source: String,
    pub attributes: Vec<String>,
    /// No two profiles may share the key's values.
    pub unique: bool,
}

impl IdKey {
    /// From `{name, source, attributes, unique}`, given its id.
    pub fn from_json(v: &Value, id: u32) -> Result<IdKey, CsError> {
        let obj = v
            .as_object()
            .ok_or_else(|| CsError::invalid("an identification key is a JSON object"))?;
        let name = obj
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| CsError::invalid("an identification key needs a 'name'"))?
            .to_owned();
        check_name("identification key", &name)?;
        let source = obj
            .get("source")
            .and_then(Value::as_str)
            .unwrap_or("profile")
            .to_owned();
        let attributes: Vec<String> = obj
            .get("attributes")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        if attributes.is_empty() {
            return Err(CsError::invalid(format!(
                "identification key '{name}' needs 'attributes' (names of the {source}'s attributes)"
            )));
        }
        if let Some(a) = attributes.iter().find(|a| a.contains('.')) {
            return Err(CsError::invalid(format!(
                "identification key '{name}': '{a}' — a key's attributes all come from its source ({source}), never mixed"
            )));
        }
        let unique = matches!(obj.get("unique"), Some(Value::Bool(true)))
            || obj
                .get("unique")
                .and_then(Value::as_str)
                .is_some_and(|s| s.eq_ignore_ascii_case("true"));
        Ok(IdKey {
            id,
            name,
            source,
            attributes,
            unique,
        })
    }

    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "id": self.id,
            "name": self.name,
            "source": self.source,
            "attributes": self.attributes,
            "unique": self.unique,
        })
    }

    /// The attributes as a lookup names them (`Attr`, or `Extension.attr`).
    pub fn qualified(&self) -> Vec<String> {
        self.attributes
            .iter()
            .map(|a| {
                if self.source == "profile" {
                    a.clone()
                } else {
                    format!("{}.{a}", self.source)
                }
            })
            .collect()
    }
}

/// The keys a tenant starts with: phone number, email address, and name (last, first).
pub fn default_keys() -> Vec<IdKey> {
    let key = |id, name: &str, attrs: &[&str]| IdKey {
        id,
        name: name.to_owned(),
        source: "profile".to_owned(),
        attributes: attrs.iter().map(|a| (*a).to_owned()).collect(),
        unique: false,
    };
    vec![
        key(1, "PhoneNumber", &["PhoneNumber"]),
        key(2, "EmailAddress", &["EmailAddress"]),
        key(3, "Name", &["LastName", "FirstName"]),
    ]
}

/// How a lookup value compares: trimmed, lower case.
pub fn normalise(v: &str) -> String {
    v.trim().to_lowercase()
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn values_of(v: &Value) -> Vec<String> {
    match v {
        Value::Array(items) => items.iter().filter_map(scalar_text).collect(),
        other => scalar_text(other).into_iter().collect(),
    }
}

impl Profile {
    /// The lookup index: every attribute value, and every extension record's, as
    /// `(Attr | Extension.attr, normalised value)`.
    pub fn index(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut add = |name: String, v: String| {
            let v = normalise(&v);
            if !v.is_empty()
                && v.len() <= MAX_INDEXED_VALUE
                && !out.contains(&(name.clone(), v.clone()))
            {
                out.push((name, v));
            }
        };
        for (k, v) in &self.attributes {
            for x in values_of(v) {
                add(k.clone(), x);
            }
        }
        for (ext, v) in &self.extensions {
            let records: Vec<&Value> = match v {
                Value::Array(items) => items.iter().collect(),
                other => vec![other],
            };
            for r in records {
                if let Some(obj) = r.as_object() {
                    for (k, x) in obj {
                        if let Some(t) = scalar_text(x) {
                            add(format!("{ext}.{k}"), t);
                        }
                    }
                }
            }
        }
        out
    }

    /// The primary value of a qualified attribute (`Attr` or `Extension.attr`).
    pub fn primary(&self, qualified: &str) -> Option<String> {
        let first = |v: &Value| match v {
            Value::Array(items) => items.first().and_then(scalar_text),
            other => scalar_text(other),
        };
        match qualified.split_once('.') {
            None => self.attributes.get(qualified).and_then(first),
            Some((ext, attr)) => {
                let v = self.extensions.get(ext)?;
                let rec = match v {
                    Value::Array(items) => items.first()?,
                    other => other,
                };
                rec.get(attr).and_then(scalar_text)
            }
        }
    }

    /// The values of each unique key the profile fills: `(key, [(attribute, value)])`.
    pub fn unique_values<'k>(&self, keys: &'k [IdKey]) -> Vec<(&'k IdKey, Vec<(String, String)>)> {
        keys.iter()
            .filter(|k| k.unique)
            .filter_map(|k| {
                let pairs: Option<Vec<(String, String)>> = k
                    .qualified()
                    .into_iter()
                    .map(|q| self.primary(&q).map(|v| (q, normalise(&v))))
                    .collect();
                pairs.map(|p| (k, p))
            })
            .collect()
    }
}

/// Splits a profile body into attributes and extensions (checked against `schemas`):
/// `customer_id` is not an attribute; an object value must name a schema.
pub fn split_body(
    body: &Map<String, Value>,
    schemas: &[ExtensionSchema],
) -> Result<Split, CsError> {
    let mut attributes = Map::new();
    let mut extensions = Map::new();
    for (k, v) in body {
        if k == "customer_id" {
            continue;
        }
        if let Some(schema) = schemas.iter().find(|s| s.name.eq_ignore_ascii_case(k)) {
            extensions.insert(schema.name.clone(), schema.check(v)?);
            continue;
        }
        let scalar = |x: &Value| matches!(x, Value::String(_) | Value::Number(_) | Value::Bool(_));
        let ok = scalar(v) || v.as_array().is_some_and(|a| a.iter().all(scalar));
        if !ok {
            return Err(CsError::invalid(format!(
                "'{k}' is neither an attribute (a value or a list of values) nor an extension with a schema"
            )));
        }
        if k.is_empty() || k.len() > 64 {
            return Err(CsError::invalid(format!("invalid attribute name '{k}'")));
        }
        attributes.insert(k.clone(), v.clone());
    }
    Ok((attributes, extensions))
}

/// Picks the identification key for a lookup on `query` (qualified attribute names): the one
/// named by `id_key`; else the first (ascending id) whose attributes the query all gives;
/// else the one whose leading attributes it gives most of, the smaller id on a tie. Returns
/// the key and the query's values for the attributes it covers.
pub fn choose_key<'k>(
    keys: &'k [IdKey],
    query: &[(String, String)],
    id_key: Option<&str>,
) -> Result<(&'k IdKey, Pairs), CsError> {
    let given = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let covered = |k: &IdKey| -> Vec<(String, String)> {
        k.qualified()
            .into_iter()
            .map_while(|q| given(&q).map(|v| (q, v)))
            .collect()
    };
    let mut sorted: Vec<&IdKey> = keys.iter().collect();
    sorted.sort_by_key(|k| k.id);
    if let Some(name) = id_key {
        let k = sorted
            .iter()
            .find(|k| k.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| CsError::ProfileNotFound(format!("no identification key '{name}'")))?;
        let c = covered(k);
        if c.is_empty() {
            return Err(CsError::invalid(format!(
                "identification key '{}' needs {} in the query",
                k.name,
                k.qualified().join(", ")
            )));
        }
        return Ok((k, c));
    }
    if let Some(k) = sorted
        .iter()
        .find(|k| covered(k).len() == k.attributes.len())
    {
        return Ok((k, covered(k)));
    }
    let best = sorted
        .iter()
        .map(|k| (covered(k), *k))
        .filter(|(c, _)| !c.is_empty())
        .max_by(|(a, ka), (b, kb)| a.len().cmp(&b.len()).then(kb.id.cmp(&ka.id)));
    match best {
        Some((c, k)) => Ok((k, c)),
        None => Err(CsError::invalid(format!(
            "no identification key matches the query's attributes ({}); keys: {}",
            query
                .iter()
                .map(|(k, _)| k.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            sorted
                .iter()
                .map(|k| format!("{} ({})", k.name, k.qualified().join(", ")))
                .collect::<Vec<_>>()
                .join("; ")
        ))),
    }
}

/// A new customer id: 16 characters, time-ordered (milliseconds in base 62, then random).
pub fn new_customer_id(now: Millis, rng: &mut impl rand::Rng) -> String {
    const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut t = now.max(0) as u64;
    let mut head = [b'0'; 8];
    for slot in head.iter_mut().rev() {
        *slot = DIGITS[(t % 62) as usize];
        t /= 62;
    }
    let mut id: String = head.iter().map(|b| *b as char).collect();
    for _ in 0..8 {
        id.push(DIGITS[rng.random_range(0..62)] as char);
    }
    id
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn keys() -> Vec<IdKey> {
        let mut k = default_keys();
        k.push(IdKey::from_json(
            &json!({"name": "Loyalty", "source": "Loyalty", "attributes": ["card", "program"], "unique": true}),
            4,
        ).unwrap());
        k
    }

    #[test]
    fn the_first_key_the_query_covers_wins() {
        let keys = keys();
        let (k, c) = choose_key(
            &keys,
            &q(&[("FirstName", "Jane"), ("LastName", "Jones")]),
            None,
        )
        .unwrap();
        assert_eq!(k.name, "Name");
        assert_eq!(c, q(&[("LastName", "Jones"), ("FirstName", "Jane")]));
        let (k, _) = choose_key(
            &keys,
            &q(&[("LastName", "Jones"), ("PhoneNumber", "5125")]),
            None,
        )
        .unwrap();
        assert_eq!(k.name, "PhoneNumber", "fully covered, smallest id");
    }

    #[test]
    fn else_the_most_leading_attributes_covered() {
        let keys = keys();
        let (k, c) = choose_key(&keys, &q(&[("LastName", "Jones")]), None).unwrap();
        assert_eq!(k.name, "Name");
        assert_eq!(c, q(&[("LastName", "Jones")]));
        // Only a trailing attribute: no key's leading attribute is given.
        let e = choose_key(&keys, &q(&[("FirstName", "Jane")]), None).unwrap_err();
        assert!(matches!(e, CsError::Invalid(m) if m.contains("no identification key")));
        let (k, _) = choose_key(&keys, &q(&[("Loyalty.card", "77")]), None).unwrap();
        assert_eq!(k.name, "Loyalty");
    }

    #[test]
    fn id_key_names_the_key() {
        let keys = keys();
        let (k, _) = choose_key(
            &keys,
            &q(&[("EmailAddress", "a@b"), ("PhoneNumber", "1")]),
            Some("EmailAddress"),
        )
        .unwrap();
        assert_eq!(k.name, "EmailAddress");
        assert_eq!(
            choose_key(&keys, &q(&[("PhoneNumber", "1")]), Some("Nope")),
            Err(CsError::ProfileNotFound(
                "no identification key 'Nope'".into()
            ))
        );
    }

    #[test]
    fn keys_never_mix_sources() {
        let e = IdKey::from_json(&json!({"name": "Mixed", "attributes": ["Loyalty.card"]}), 5)
            .unwrap_err();
        assert!(matches!(e, CsError::Invalid(m) if m.contains("never mixed")));
    }

    fn schema() -> ExtensionSchema {
        ExtensionSchema::from_json(&json!({
            "name": "Loyalty", "type": "multi-valued",
            "attributes": [
                {"name": "card", "type": "string", "length": 8, "mandatory": true},
                {"name": "program", "type": "string", "default": "gold"},
                {"name": "points", "type": "integer"}
            ],
            "unique": ["card"]
        }))
        .unwrap()
    }

    #[test]
    fn extension_records_are_checked_against_their_schema() {
        let s = schema();
        assert_eq!(
            s.check(&json!({"card": "77", "points": 3})).unwrap(),
            json!([{"card": "77", "points": 3, "program": "gold"}])
        );
        assert_eq!(
            s.check(&json!([{"points": 3}])),
            Err(CsError::invalid(
                "extension 'Loyalty': mandatory attribute 'card' is missing"
            ))
        );
        assert_eq!(
            s.check(&json!([{"card": "123456789"}])),
            Err(CsError::invalid(
                "extension 'Loyalty': 'card' is longer than 8 characters"
            ))
        );
        assert_eq!(
            s.check(&json!([{"card": "1", "points": "many"}])),
            Err(CsError::invalid(
                "extension 'Loyalty': 'points' must be a integer"
            ))
        );
        assert_eq!(
            s.check(&json!([{"card": "1"}, {"card": "1"}])),
            Err(CsError::invalid(
                "extension 'Loyalty': two records have the same card"
            ))
        );
        assert!(
            matches!(s.check(&json!([{"colour": "red", "card": "1"}])), Err(CsError::Invalid(m)) if m.contains("no attribute 'colour'"))
        );
    }

    #[test]
    fn inserting_records_replaces_those_with_the_same_unique_values() {
        let s = schema();
        let old = json!([{"card": "1", "points": 1}, {"card": "2", "points": 2}]);
        let merged = s.merge(
            Some(&old),
            json!([{"card": "2", "points": 20}, {"card": "3"}]),
        );
        assert_eq!(
            merged,
            json!([{"card": "1", "points": 1}, {"card": "2", "points": 20}, {"card": "3"}])
        );
    }

    #[test]
    fn the_index_holds_every_value_normalised() {
        let p = Profile {
            customer_id: "c".into(),
            attributes: json!({"PhoneNumber": ["5125", " 6504661100 "], "EmailAddress": "Jones@Example.com"})
                .as_object()
                .unwrap()
                .clone(),
            extensions: json!({"Loyalty": [{"card": "77"}]}).as_object().unwrap().clone(),
            created_at: 0,
            updated_at: 0,
        };
        let idx = p.index();
        assert!(idx.contains(&("PhoneNumber".into(), "6504661100".into())));
        assert!(idx.contains(&("EmailAddress".into(), "jones@example.com".into())));
        assert!(idx.contains(&("Loyalty.card".into(), "77".into())));
        assert_eq!(p.primary("PhoneNumber").as_deref(), Some("5125"));
        let keys = keys();
        let u = p.unique_values(&keys);
        assert_eq!(u.len(), 0, "Loyalty needs card and program");
    }

    #[test]
    fn customer_ids_are_sixteen_characters_in_creation_order() {
        let mut rng = rand::rng();
        let a = new_customer_id(1_700_000_000_000, &mut rng);
        let b = new_customer_id(1_700_000_000_001, &mut rng);
        assert_eq!(a.len(), 16);
        assert!(a < b);
    }
}
