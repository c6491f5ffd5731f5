//! Business attributes: the lists of values a record's types and event fields take, as
//! Configuration Server business attributes with their DB ids (context-services.md §1, §4.10).
//!
//! Configuration (GMS spells the mapping section `business-attributes[.<tenant>]`):
//!
//! ```ini
//! [business-attributes]
//! map-names = true                 ; answer names, not DB ids
//! Service.service_type = ServiceType   ; also `Service.type`
//! State.state_type = StateType
//! Task.task_type = TaskType
//! State.media_type = MediaType     ; an event field of one kind of record
//!
//! [business-attribute.ServiceType]  ; the attribute and its values (Configuration Server's)
//! dbid = 2440
//! display_name = Service Type
//! value.2451 = BlueSky Flight Status
//! value.2451.display_name = Flight status
//! ```
//!
//! A mapped field takes a value's name or DB id and nothing else; an unmapped one takes any
//! text. Records keep the value's *name* (stable across a renumbering), and answers give the
//! DB id unless `map-names` is on.

use std::collections::BTreeMap;

use serde_json::Value;

use super::CsError;

/// The record kinds a mapping names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Service,
    State,
    Task,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Service => "Service",
            Kind::State => "State",
            Kind::Task => "Task",
        }
    }

    fn parse(s: &str) -> Option<Kind> {
        match s {
            "Service" => Some(Kind::Service),
            "State" => Some(Kind::State),
            "Task" => Some(Kind::Task),
            _ => None,
        }
    }

    /// The record's own type field (`service_type`, `state_type`, `task_type`).
    pub fn type_field(self) -> &'static str {
        match self {
            Kind::Service => "service_type",
            Kind::State => "state_type",
            Kind::Task => "task_type",
        }
    }
}

/// The fields a business attribute may constrain (besides the record's type).
pub const MAPPABLE_EVENT_FIELDS: [&str; 4] = [
    "application_type",
    "resource_type",
    "media_type",
    "disposition",
];

/// One value of a business attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrValue {
    pub name: String,
    pub dbid: i64,
    pub display_name: String,
    pub description: String,
}

/// One business attribute with its values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub name: String,
    pub dbid: i64,
    pub display_name: String,
    pub description: String,
    /// The fields mapped to it (`Service.service_type`, ...).
    pub cv_attributes: Vec<String>,
    pub values: Vec<AttrValue>,
}

impl Attribute {
    /// The value named `input` (names compare without regard to case) or with that DB id.
    pub fn find(&self, input: &str) -> Option<&AttrValue> {
        let input = input.trim();
        self.values
            .iter()
            .find(|v| v.name == input)
            .or_else(|| {
                self.values
                    .iter()
                    .find(|v| v.name.eq_ignore_ascii_case(input))
            })
            .or_else(|| {
                let id: i64 = input.parse().ok()?;
                self.values.iter().find(|v| v.dbid == id)
            })
    }
}

/// The business attributes of one tenant, and which fields they constrain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    pub map_names: bool,
    /// `(kind, field)` → attribute name.
    fields: BTreeMap<(Kind, String), String>,
    attributes: BTreeMap<String, Attribute>,
}

impl Catalog {
    /// Reads the mapping section (`[business-attributes]` or its tenant's) and the attribute
    /// sections (`business-attribute.<name>` → options). Returns what was ignored, and why.
    pub fn from_config<'a>(
        mapping: &[(String, String)],
        attributes: impl IntoIterator<Item = (&'a str, &'a [(String, String)])>,
    ) -> (Catalog, Vec<String>) {
        let mut warnings = Vec::new();
        let mut catalog = Catalog::default();
        for (name, options) in attributes {
            let get = |k: &str| {
                options
                    .iter()
                    .find(|(key, _)| key == k)
                    .map(|(_, v)| v.trim().to_owned())
            };
            let dbid = get("dbid").and_then(|v| v.parse().ok()).unwrap_or(0);
            let mut values = Vec::new();
            for (key, v) in options {
                let Some(rest) = key.strip_prefix("value.") else {
                    continue;
                };
                if rest.contains('.') {
                    continue;
                }
                let Ok(id) = rest.parse::<i64>() else {
                    warnings.push(format!(
                        "[business-attribute.{name}] {key}: a value is `value.<dbid> = <name>`"
                    ));
                    continue;
                };
                let value = v.trim().to_owned();
                if value.is_empty() {
                    warnings.push(format!("[business-attribute.{name}] {key} has no name"));
                    continue;
                }
                values.push(AttrValue {
                    display_name: get(&format!("value.{id}.display_name"))
                        .unwrap_or_else(|| value.clone()),
                    description: get(&format!("value.{id}.description")).unwrap_or_default(),
                    name: value,
                    dbid: id,
                });
            }
            catalog.attributes.insert(
                name.to_owned(),
                Attribute {
                    name: name.to_owned(),
                    dbid,
                    display_name: get("display_name").unwrap_or_else(|| name.to_owned()),
                    description: get("description").unwrap_or_default(),
                    cv_attributes: Vec::new(),
                    values,
                },
            );
        }
        for (key, v) in mapping {
            let value = v.trim();
            if key == "map-names" || key == "map_names" {
                catalog.map_names = crate::config::truthy(Some(value));
                continue;
            }
            let Some((kind, field)) = key
                .split_once('.')
                .and_then(|(k, f)| Some((Kind::parse(k)?, f)))
            else {
                warnings.push(format!(
                    "[business-attributes] {key}: expected <Service|State|Task>.<field>"
                ));
                continue;
            };
            let field = if field == "type" {
                kind.type_field()
            } else {
                field
            };
            if field != kind.type_field() && !MAPPABLE_EVENT_FIELDS.contains(&field) {
                warnings.push(format!(
                    "[business-attributes] {key}: {field} cannot be a business attribute"
                ));
                continue;
            }
            let Some(attr) = catalog.attributes.get_mut(value) else {
                warnings.push(format!(
                    "[business-attributes] {key} = {value}: no [business-attribute.{value}] section"
                ));
                continue;
            };
            attr.cv_attributes
                .push(format!("{}.{field}", kind.as_str()));
            catalog
                .fields
                .insert((kind, field.to_owned()), value.to_owned());
        }
        (catalog, warnings)
    }

    /// The attribute that constrains `field` of `kind` records, if any.
    pub fn attribute_of(&self, kind: Kind, field: &str) -> Option<&Attribute> {
        self.fields
            .get(&(kind, field.to_owned()))
            .and_then(|a| self.attributes.get(a))
    }

    /// What a record keeps for `input` in `field`: the value's name when the field is mapped
    /// (refusing anything that is not one of its values), else the input itself.
    pub fn canonical(&self, kind: Kind, field: &str, input: &str) -> Result<String, CsError> {
        match self.attribute_of(kind, field) {
            None => Ok(input.to_owned()),
            Some(attr) => attr.find(input).map(|v| v.name.clone()).ok_or_else(|| {
                CsError::invalid(format!(
                    "unknown {field} '{input}': not a value of business attribute {} ({}.{field})",
                    attr.name,
                    kind.as_str()
                ))
            }),
        }
    }

    /// How an answer shows a stored value: the DB id (a number) of a mapped field, or its
    /// name with `map-names`; text as stored otherwise.
    pub fn render(&self, kind: Kind, field: &str, stored: &str) -> Value {
        match self.attribute_of(kind, field).and_then(|a| a.find(stored)) {
            Some(v) if !self.map_names => Value::from(v.dbid),
            Some(v) => Value::from(v.name.clone()),
            None => Value::from(stored),
        }
    }

    /// Every attribute, by name.
    pub fn attributes(&self) -> impl Iterator<Item = &Attribute> {
        self.attributes.values()
    }

    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.get(name)
    }

    /// The attribute behind a `cv-attribute` such as `Service.service_type` (or `Service.type`).
    pub fn by_cv_attribute(&self, cv: &str) -> Option<&Attribute> {
        let (kind, field) = cv.split_once('.')?;
        let kind = Kind::parse(kind)?;
        let field = if field == "type" {
            kind.type_field()
        } else {
            field
        };
        self.attribute_of(kind, field)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn catalog(map_names: bool) -> Catalog {
        let st = opts(&[
            ("dbid", "2440"),
            ("display_name", "State Type"),
            ("value.2455", "BlueSky Upsell"),
            ("value.2469", "BlueSky Confirmation"),
            ("value.2469.display_name", "Confirmation"),
        ]);
        let mapping = opts(&[
            ("map-names", if map_names { "true" } else { "false" }),
            ("State.type", "StateType"),
            ("Service.media_type", "Missing"),
        ]);
        let (c, warnings) = Catalog::from_config(&mapping, [("StateType", st.as_slice())]);
        assert_eq!(
            warnings,
            ["[business-attributes] Service.media_type = Missing: no [business-attribute.Missing] section"]
        );
        c
    }

    #[test]
    fn a_mapped_field_takes_a_name_or_a_db_id_and_keeps_the_name() {
        let c = catalog(false);
        assert_eq!(
            c.canonical(Kind::State, "state_type", "2455").unwrap(),
            "BlueSky Upsell"
        );
        assert_eq!(
            c.canonical(Kind::State, "state_type", "bluesky upsell")
                .unwrap(),
            "BlueSky Upsell"
        );
        assert_eq!(
            c.canonical(Kind::State, "state_type", "Nope"),
            Err(CsError::invalid(
                "unknown state_type 'Nope': not a value of business attribute StateType (State.state_type)"
            ))
        );
        // Unmapped fields take any text.
        assert_eq!(
            c.canonical(Kind::Service, "service_type", "x").unwrap(),
            "x"
        );
    }

    #[test]
    fn answers_give_db_ids_unless_map_names() {
        assert_eq!(
            catalog(false).render(Kind::State, "state_type", "BlueSky Upsell"),
            Value::from(2455)
        );
        assert_eq!(
            catalog(true).render(Kind::State, "state_type", "BlueSky Upsell"),
            Value::from("BlueSky Upsell")
        );
        assert_eq!(
            catalog(false).render(Kind::Task, "task_type", "free"),
            Value::from("free")
        );
    }

    #[test]
    fn the_schema_names_its_cv_attributes_and_values() {
        let c = catalog(false);
        let a = c.by_cv_attribute("State.state_type").unwrap();
        assert_eq!(a.cv_attributes, ["State.state_type"]);
        assert_eq!(a.values[1].display_name, "Confirmation");
        assert_eq!(a.dbid, 2440);
    }
}
