//! The journey records — services, states and tasks with their start and end events — and the
//! checks every write passes (context-services.md §1–2).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::CsError;
use crate::store::Millis;

/// Schema-less named extensions (GMS 8.5 "attached data"), by name.
pub type Extensions = Map<String, Value>;

/// The most extensions one record may carry, and the largest one (as JSON text).
pub const MAX_EXTENSIONS: usize = 64;
pub const MAX_EXTENSION_BYTES: usize = 64 * 1024;

/// The event fields every start and end event may carry, with their longest value.
pub const EVENT_FIELDS: [(&str, usize); 7] = [
    ("session_id", 32),
    ("interaction_id", 50),
    ("application_type", 255),
    ("application_id", 255),
    ("resource_type", 255),
    ("resource_id", 255),
    ("media_type", 255),
];

/// What only an end event carries.
pub const END_FIELDS: [(&str, usize); 2] = [("disposition", 255), ("disposition_desc", 64)];

/// A start or end event: when, and the interaction, application and resource behind it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    #[serde(rename = "t")]
    pub timestamp: Millis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interaction_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disposition: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disposition_desc: Option<String>,
}

impl Event {
    /// The named field (one of [`EVENT_FIELDS`] or [`END_FIELDS`]).
    pub fn field(&self, name: &str) -> Option<&String> {
        self.slot(name).and_then(|s| s.as_ref())
    }

    fn slot(&self, name: &str) -> Option<&Option<String>> {
        Some(match name {
            "session_id" => &self.session_id,
            "interaction_id" => &self.interaction_id,
            "application_type" => &self.application_type,
            "application_id" => &self.application_id,
            "resource_type" => &self.resource_type,
            "resource_id" => &self.resource_id,
            "media_type" => &self.media_type,
            "disposition" => &self.disposition,
            "disposition_desc" => &self.disposition_desc,
            _ => return None,
        })
    }

    /// Sets the named field; false if there is no such field.
    pub fn set(&mut self, name: &str, value: Option<String>) -> bool {
        let slot = match name {
            "session_id" => &mut self.session_id,
            "interaction_id" => &mut self.interaction_id,
            "application_type" => &mut self.application_type,
            "application_id" => &mut self.application_id,
            "resource_type" => &mut self.resource_type,
            "resource_id" => &mut self.resource_id,
            "media_type" => &mut self.media_type,
            "disposition" => &mut self.disposition,
            "disposition_desc" => &mut self.disposition_desc,
            _ => return false,
        };
        *slot = value;
        true
    }

    /// The fields set, in the order of [`EVENT_FIELDS`] then [`END_FIELDS`].
    pub fn fields(&self) -> impl Iterator<Item = (&'static str, &String)> + '_ {
        EVENT_FIELDS
            .iter()
            .chain(END_FIELDS.iter())
            .filter_map(|(name, _)| self.field(name).map(|v| (*name, v)))
    }
}

/// An event as a request gives it: without a `timestamp`, it happens now ("Use Current
/// Timestamp").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventInput {
    pub timestamp: Option<Millis>,
    /// The fields; its own `timestamp` is ignored.
    pub fields: Event,
}

impl EventInput {
    /// The event, at `now` unless the request gave its time.
    pub fn at(self, now: Millis) -> Event {
        Event {
            timestamp: self.timestamp.unwrap_or(now),
            ..self.fields
        }
    }

    /// Checks the fields' lengths; a start event may not carry the end event's fields.
    pub fn check(&self, end: bool) -> Result<(), CsError> {
        if !end {
            if let Some((name, _)) = END_FIELDS
                .iter()
                .find(|(n, _)| self.fields.field(n).is_some())
            {
                return Err(CsError::invalid(format!(
                    "'{name}' belongs to an end event, not a start"
                )));
            }
        }
        for (name, max) in EVENT_FIELDS.iter().chain(END_FIELDS.iter()) {
            if let Some(v) = self.fields.field(name) {
                if v.chars().count() > *max {
                    return Err(CsError::invalid(format!(
                        "'{name}' is longer than {max} characters"
                    )));
                }
            }
        }
        Ok(())
    }
}

/// Whose journey a service is: a known customer's, or an anonymous contact's (found by its
/// contact key until it is associated with a customer).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Owner {
    Customer(String),
    Anonymous(String),
}

/// The longest customer id and contact key.
pub const MAX_CUSTOMER_ID: usize = 64;
pub const MAX_CONTACT_KEY: usize = 255;

impl Owner {
    pub fn check(&self) -> Result<(), CsError> {
        let (what, v, max) = match self {
            Owner::Customer(v) => ("customer_id", v, MAX_CUSTOMER_ID),
            Owner::Anonymous(v) => ("contact_key", v, MAX_CONTACT_KEY),
        };
        if v.trim().is_empty() {
            return Err(CsError::invalid(format!("'{what}' is empty")));
        }
        if v.chars().count() > max {
            return Err(CsError::invalid(format!(
                "'{what}' is longer than {max} characters"
            )));
        }
        Ok(())
    }
}

/// One customer journey.
#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub id: String,
    pub owner: Owner,
    pub service_type: Option<String>,
    /// Estimated duration, seconds.
    pub est_duration: Option<i64>,
    pub started: Event,
    pub completed: Option<Event>,
    pub extensions: Extensions,
    /// When it is deleted (`ttl` / `expiration_time`).
    pub expires_at: Option<Millis>,
    /// Completed (with its states and tasks) after this long without activity, seconds.
    pub auto_complete_after: Option<i64>,
    /// The last start or end of the service, one of its states or one of its tasks.
    pub last_activity: Millis,
}

impl Service {
    /// When it is completed for inactivity, if it may be.
    pub fn idle_due(&self) -> Option<Millis> {
        match (&self.completed, self.auto_complete_after) {
            (None, Some(s)) => Some(self.last_activity.saturating_add(s.saturating_mul(1000))),
            _ => None,
        }
    }
}

/// A step of a journey.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    pub service_id: String,
    pub id: String,
    pub state_type: Option<String>,
    pub previous_state_id: Option<String>,
    pub est_duration: Option<i64>,
    pub started: Event,
    pub completed: Option<Event>,
    pub extensions: Extensions,
}

/// Work done for a journey, optionally within one of its states.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub service_id: String,
    pub id: String,
    pub state_id: Option<String>,
    pub task_type: Option<String>,
    pub est_duration: Option<i64>,
    pub started: Event,
    pub completed: Option<Event>,
    pub extensions: Extensions,
}

/// Which records a collection lists (`/active`, `/completed`, or all).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Status {
    #[default]
    Any,
    Active,
    Completed,
}

impl Status {
    pub fn admits(self, completed: bool) -> bool {
        match self {
            Status::Any => true,
            Status::Active => !completed,
            Status::Completed => completed,
        }
    }
}

/// `GET /customers/{cid}/services` and `/services/anonymous/{key}` with their filters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceQuery {
    pub owner: Owner,
    pub status: Status,
    /// Stored type names (empty: any).
    pub service_types: Vec<String>,
    pub started_from: Option<Millis>,
    pub started_to: Option<Millis>,
    pub completed_from: Option<Millis>,
    pub completed_to: Option<Millis>,
}

impl ServiceQuery {
    pub fn of(owner: Owner) -> ServiceQuery {
        ServiceQuery {
            owner,
            status: Status::Any,
            service_types: Vec::new(),
            started_from: None,
            started_to: None,
            completed_from: None,
            completed_to: None,
        }
    }

    /// Whether `s` passes the filters (the store's query does the same in SQL).
    pub fn admits(&self, s: &Service) -> bool {
        let within = |t: Option<Millis>, from: Option<Millis>, to: Option<Millis>| match t {
            Some(t) => from.is_none_or(|f| t >= f) && to.is_none_or(|x| t <= x),
            None => from.is_none() && to.is_none(),
        };
        s.owner == self.owner
            && self.status.admits(s.completed.is_some())
            && (self.service_types.is_empty()
                || s.service_type
                    .as_ref()
                    .is_some_and(|t| self.service_types.contains(t)))
            && within(
                Some(s.started.timestamp),
                self.started_from,
                self.started_to,
            )
            && within(
                s.completed.as_ref().map(|c| c.timestamp),
                self.completed_from,
                self.completed_to,
            )
    }
}

/// The states or tasks of services, filtered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemQuery {
    pub status: Status,
    /// Stored type names (empty: any).
    pub types: Vec<String>,
    /// Tasks only: those of this state.
    pub state_id: Option<String>,
}

/// A customer's (or contact's) journeys in figures: the KPIs of the Journey Timeline.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub services: u64,
    pub services_active: u64,
    pub states: u64,
    pub states_active: u64,
    pub tasks: u64,
    pub tasks_active: u64,
}

/// Which services a purge removes (`purge.service.<which>`), before its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PurgeKind {
    /// Every service started before the limit.
    All,
    /// Services started before the limit and still active.
    Started { anonymous: bool },
    /// Services completed before the limit.
    Completed { anonymous: bool },
}

impl PurgeKind {
    /// From the `operation` of `POST /maintenance/purge`.
    pub fn parse(operation: &str) -> Option<PurgeKind> {
        Some(match operation.strip_prefix("purge.service.")? {
            "all" => PurgeKind::All,
            "started" => PurgeKind::Started { anonymous: false },
            "started.anonymous" => PurgeKind::Started { anonymous: true },
            "completed" => PurgeKind::Completed { anonymous: false },
            "completed.anonymous" => PurgeKind::Completed { anonymous: true },
            _ => return None,
        })
    }
}

/// Which services an export lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportQuery {
    pub from: Millis,
    pub to: Millis,
    /// `filter_events`: the events that must fall in the range (`any`: either).
    pub events: ExportEvents,
    /// `filter_state`.
    pub status: Status,
    /// Export after this service id (paging through a large export).
    pub after: Option<String>,
    pub limit: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportEvents {
    Any,
    Started,
    Completed,
}

/// A change to the journeys or profiles, committed in a store batch.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// Creates or replaces a service (its states and tasks stay).
    PutService {
        tenant: String,
        service: Service,
    },
    PutState {
        tenant: String,
        state: State,
    },
    PutTask {
        tenant: String,
        task: Task,
    },
    /// Records activity on a service (for its auto-completion).
    Touch {
        tenant: String,
        id: String,
        at: Millis,
    },
    /// Deletes a service with its states and tasks.
    DeleteService {
        tenant: String,
        id: String,
    },
    /// Deletes the services `kind` names whose time is before `before`, with their states and
    /// tasks.
    Purge {
        tenant: String,
        kind: PurgeKind,
        before: Millis,
    },
    /// Creates or replaces a customer profile with its identification index.
    PutProfile {
        tenant: String,
        profile: super::profiles::Profile,
        /// The identification index entries: `(attribute, normalised value)`.
        index: Vec<(String, String)>,
    },
    DeleteProfile {
        tenant: String,
        id: String,
    },
    /// Metadata: an extension schema (`kind` "schema") or an identification key ("key").
    PutMeta {
        tenant: String,
        kind: String,
        name: String,
        body: String,
    },
    DeleteMeta {
        tenant: String,
        kind: String,
        name: String,
    },
}

/// Checks a record's extensions: at most [`MAX_EXTENSIONS`], well-formed names, no nulls,
/// each at most [`MAX_EXTENSION_BYTES`] as JSON.
pub fn check_extensions(ext: &Extensions) -> Result<(), CsError> {
    if ext.len() > MAX_EXTENSIONS {
        return Err(CsError::invalid(format!(
            "at most {MAX_EXTENSIONS} extensions per record"
        )));
    }
    for (name, value) in ext {
        check_extension_name(name)?;
        if value.is_null() {
            return Err(CsError::invalid(format!("extension '{name}' is null")));
        }
        let size = serde_json::to_string(value).map(|s| s.len()).unwrap_or(0);
        if size > MAX_EXTENSION_BYTES {
            return Err(CsError::invalid(format!(
                "extension '{name}' is larger than {MAX_EXTENSION_BYTES} bytes"
            )));
        }
    }
    Ok(())
}

/// An extension's name: a letter first, then letters, digits and `_`, at most 64.
pub fn check_extension_name(name: &str) -> Result<(), CsError> {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && name.len() <= 64;
    if ok {
        Ok(())
    } else {
        Err(CsError::invalid(format!(
            "invalid extension name '{name}': a letter, then letters, digits, '_' or '-' (at most 64)"
        )))
    }
}

/// A duration or lifetime in seconds: not negative.
pub fn check_seconds(what: &str, v: Option<i64>) -> Result<(), CsError> {
    match v {
        Some(s) if s < 0 => Err(CsError::invalid(format!("'{what}' must not be negative"))),
        _ => Ok(()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_start_event_may_not_carry_a_disposition() {
        let mut e = EventInput::default();
        e.fields.disposition = Some("done".into());
        assert_eq!(
            e.check(false),
            Err(CsError::invalid(
                "'disposition' belongs to an end event, not a start"
            ))
        );
        assert_eq!(e.check(true), Ok(()));
    }

    #[test]
    fn event_fields_are_bounded_as_gms_bounds_them() {
        let mut e = EventInput::default();
        e.fields.session_id = Some("x".repeat(33));
        assert_eq!(
            e.check(false),
            Err(CsError::invalid(
                "'session_id' is longer than 32 characters"
            ))
        );
        e.fields.session_id = Some("x".repeat(32));
        assert_eq!(e.check(false), Ok(()));
    }

    #[test]
    fn an_event_without_a_timestamp_happens_now() {
        let e = EventInput::default().at(42);
        assert_eq!(e.timestamp, 42);
        let e = EventInput {
            timestamp: Some(7),
            ..EventInput::default()
        }
        .at(42);
        assert_eq!(e.timestamp, 7);
    }

    #[test]
    fn extensions_are_named_values() {
        let ok: Extensions =
            serde_json::from_str(r#"{"Feedback":{"a":1},"List":[{"b":2}],"Note":"x"}"#).unwrap();
        assert_eq!(check_extensions(&ok), Ok(()));
        let bad: Extensions = serde_json::from_str(r#"{"Feedback":null}"#).unwrap();
        assert_eq!(
            check_extensions(&bad),
            Err(CsError::invalid("extension 'Feedback' is null"))
        );
        let bad: Extensions = serde_json::from_str(r#"{"9lives":{}}"#).unwrap();
        assert!(
            matches!(check_extensions(&bad), Err(CsError::Invalid(m)) if m.contains("'9lives'"))
        );
    }

    #[test]
    fn purge_operations_are_spelled_as_gms_spells_them() {
        assert_eq!(
            PurgeKind::parse("purge.service.completed.anonymous"),
            Some(PurgeKind::Completed { anonymous: true })
        );
        assert_eq!(PurgeKind::parse("purge.service.all"), Some(PurgeKind::All));
        assert_eq!(PurgeKind::parse("purge.all"), None);
    }
}
