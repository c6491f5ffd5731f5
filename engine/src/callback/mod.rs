//! Callback records: what the Callback Services API creates, queries, reschedules and cancels
//! (gms-api.md §1), kept apart from the session that runs each callback's scenario chart.
//!
//! A record is GMS's flat map of properties — the request's user data (keys without `_`) and
//! `_`-keys such as `_customer_number` — plus the fields the server owns: its id, service,
//! state and reason, desired time, expiry and the id of the session running it. Everything
//! here is sans-IO, with time passed in; [`admission`] holds the guards a new request passes
//! (throttles, limits, number checks) and [`query`] the query language of `GET`.

pub mod admission;
pub mod availability;
pub mod book;
pub mod query;
pub mod scheduler;
pub mod settings;
pub mod status;

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};

use crate::store::Millis;

/// Where a callback stands (gms-api.md §1.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CallbackState {
    /// Waiting for its desired time; no session yet.
    Scheduled,
    /// Its session runs and waits for an agent (or for the customer's call).
    Queued,
    /// The customer is being reached, or waits on the line for the agent.
    Routing,
    /// The customer talks to the agent.
    Processing,
    /// Over; `_callback_reason` says how.
    Completed,
    /// Queued, but its service is paused (`_paused_services_list`).
    Paused,
}

impl CallbackState {
    pub const ALL: [CallbackState; 6] = [
        CallbackState::Scheduled,
        CallbackState::Queued,
        CallbackState::Routing,
        CallbackState::Processing,
        CallbackState::Completed,
        CallbackState::Paused,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CallbackState::Scheduled => "SCHEDULED",
            CallbackState::Queued => "QUEUED",
            CallbackState::Routing => "ROUTING",
            CallbackState::Processing => "PROCESSING",
            CallbackState::Completed => "COMPLETED",
            CallbackState::Paused => "PAUSED",
        }
    }

    /// Parses a state name (any ASCII case, as GMS compares them).
    pub fn parse(s: &str) -> Option<CallbackState> {
        CallbackState::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// Waiting for an agent: what `_max_queued_callbacks_per_service` and
    /// `_enable_in_queue_checking` count (not scheduled ones, not those already connected).
    pub fn is_waiting(self) -> bool {
        matches!(
            self,
            CallbackState::Queued | CallbackState::Paused | CallbackState::Routing
        )
    }

    pub fn is_final(self) -> bool {
        self == CallbackState::Completed
    }
}

/// `_callback_reason` values (gms-api.md §1.6). Reasons are open-ended in GMS (a chart may set
/// its own, `AGENT_PREVIEW_CANCEL_AFTER_<n>REJECTS`), so records keep them as text; these are
/// the ones the server itself gives.
pub mod reason {
    pub const CANCELLED: &str = "CANCELLED";
    pub const CANCELLED_BY_ADMIN: &str = "CANCELLED_BY_ADMIN";
    pub const AGENT_CONNECTED: &str = "AGENT_CONNECTED";
    pub const SUBMIT_FAILED: &str = "SUBMIT_FAILED";
    pub const FAIL_TIMEOUT_TTL: &str = "FAIL_TIMEOUT_TTL";
    pub const FAIL_ERROR: &str = "FAIL_ERROR";
    pub const FAIL_QUEUEING: &str = "FAIL_QUEUEING";
    pub const FAIL_TARGET_NOT_FOUND: &str = "FAIL_TARGET_NOT_FOUND";
    pub const FAIL_USER_NO_CONFIRM: &str = "FAIL_USER_NO_CONFIRM";
    pub const FAIL_CALL_TO_CUSTOMER: &str = "FAIL_CALL_TO_CUSTOMER";
    pub const FAIL_AGENT_CONNECT: &str = "FAIL_AGENT_CONNECT";
    pub const FAIL_NO_CUSTOMER_NUMBER: &str = "FAIL_NO_CUSTOMER_NUMBER";
    pub const FAIL_INTERACTION_DELETED: &str = "FAIL_INTERACTION_DELETED";
    pub const FAIL_IXN_UNKNOWN_MEDIA_TYPE: &str = "FAIL_IXN_UNKNOWN_MEDIA_TYPE";
    pub const FAIL_LOAD_MESSAGE_FILE: &str = "FAIL_LOAD_MESSAGE_FILE";
    pub const NOT_AVAILABLE: &str = "NOT_AVAILABLE";
}

/// Keys the server owns: a request cannot set them as properties, and queries read them from
/// the record's own fields.
pub const OWN_KEYS: [&str; 8] = [
    "_id",
    "_service_name",
    "_callback_state",
    "_callback_reason",
    "_desired_time",
    "_expiration_time",
    "_ors_session_id",
    "_url",
];

/// One callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackRecord {
    pub id: String,
    /// The configured service (`[service.<name>]`) it was requested from.
    pub service: String,
    pub state: CallbackState,
    pub reason: Option<String>,
    /// When the customer wants to be called (now for an immediate callback).
    pub desired_time: Millis,
    pub created_at: Millis,
    /// When the record is dropped: the desired time plus the service's `_ttl`.
    pub expires_at: Millis,
    /// The session running its scenario, once there is one.
    pub session: Option<String>,
    /// `_customer_number`, user data and the other request properties, by key.
    pub data: BTreeMap<String, String>,
}

impl CallbackRecord {
    /// The value of a property as queries and answers see it: the server's own fields by their
    /// GMS names, else the record's data. (`_url` depends on the address the request came to,
    /// so the web layer adds it.)
    pub fn field(&self, key: &str) -> Option<Cow<'_, str>> {
        match key {
            "_id" => Some(Cow::Borrowed(&self.id)),
            "_service_name" => Some(Cow::Borrowed(&self.service)),
            "_callback_state" => Some(Cow::Borrowed(self.state.as_str())),
            "_callback_reason" => self.reason.as_deref().map(Cow::Borrowed),
            "_desired_time" => Some(Cow::Owned(iso(self.desired_time))),
            "_expiration_time" => Some(Cow::Owned(iso(self.expires_at))),
            "_ors_session_id" => self.session.as_deref().map(Cow::Borrowed),
            _ => self.data.get(key).map(|v| Cow::Borrowed(v.as_str())),
        }
    }

    /// Every property: the server's fields, then the data, in key order.
    pub fn fields(&self) -> BTreeMap<String, String> {
        let mut all = self.data.clone();
        for key in OWN_KEYS {
            if let Some(v) = self.field(key) {
                all.insert(key.to_owned(), v.into_owned());
            }
        }
        all
    }

    /// Moves to `state`; a final state keeps the first reason it was given.
    pub fn set_state(&mut self, state: CallbackState, reason: Option<&str>) {
        if self.state.is_final() {
            return;
        }
        self.state = state;
        if let Some(r) = reason {
            self.reason = Some(r.to_owned());
        }
    }
}

/// `2026-12-06T14:30:00.000Z`: the form GMS writes times in.
pub fn iso(at: Millis) -> String {
    DateTime::<Utc>::from_timestamp_millis(at)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses an ISO-8601 time with an offset or `Z` (`2026-12-06T14:30:00.000Z`,
/// `2026-12-06T15:30:00+01:00`), as GMS accepts `_desired_time`.
pub fn parse_iso(s: &str) -> Option<Millis> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc).timestamp_millis())
}

/// Why a callback request or change is refused, with GMS's exception class and message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    /// 400 `CallbackExceptionNumber`: the customer number is refused.
    #[error("{0}")]
    Number(String),
    /// 400 `CallbackExceptionBadRequest`-style problems with the request itself.
    #[error("{0}")]
    BadRequest(String),
    /// 400: the desired time is out of office hours or its slot is full; the slots that are
    /// free, by start time, go with the error.
    #[error("{message}")]
    Unavailable {
        message: String,
        availability: BTreeMap<String, u32>,
    },
    /// 404: no such callback.
    #[error("{0}")]
    NotFound(String),
    /// 400 `CallbackExceptionNotFound`: a `ContactCenterId` this node does not serve.
    #[error("{0}")]
    UnknownContactCenter(String),
    /// 503 `CallbackExceptionServiceUnavailable`: a limit or throttle.
    #[error("{0}")]
    ServiceUnavailable(String),
}

impl CallbackError {
    /// GMS's exception class for the error body.
    pub fn exception(&self) -> &'static str {
        match self {
            CallbackError::Number(_) => {
                "com.genesyslab.gsg.services.callback.exceptions.CallbackExceptionNumber"
            }
            CallbackError::BadRequest(_) | CallbackError::Unavailable { .. } => {
                "com.genesyslab.gsg.services.callback.exceptions.CallbackExceptionBadRequest"
            }
            CallbackError::NotFound(_) | CallbackError::UnknownContactCenter(_) => {
                "com.genesyslab.gsg.services.callback.exceptions.CallbackExceptionNotFound"
            }
            CallbackError::ServiceUnavailable(_) => {
                "com.genesyslab.gsg.services.callback.exceptions.CallbackExceptionServiceUnavailable"
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn record() -> CallbackRecord {
        CallbackRecord {
            id: "1-abc".into(),
            service: "cb".into(),
            state: CallbackState::Queued,
            reason: None,
            desired_time: 1_800_000_000_000,
            created_at: 1_800_000_000_000,
            expires_at: 1_800_086_400_000,
            session: Some("s-1".into()),
            data: [("_customer_number", "5551234"), ("first_name", "Ada")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        }
    }

    #[test]
    fn fields_are_gms_names_with_iso_times() {
        let r = record();
        let f = r.fields();
        assert_eq!(f["_id"], "1-abc");
        assert_eq!(f["_service_name"], "cb");
        assert_eq!(f["_callback_state"], "QUEUED");
        assert_eq!(f["_desired_time"], "2027-01-15T08:00:00.000Z");
        assert_eq!(f["_expiration_time"], "2027-01-16T08:00:00.000Z");
        assert_eq!(f["_ors_session_id"], "s-1");
        assert_eq!(f["first_name"], "Ada");
        assert!(!f.contains_key("_callback_reason"));
        assert_eq!(parse_iso(&f["_desired_time"]), Some(r.desired_time));
        assert_eq!(parse_iso("2027-01-15T09:00:00+01:00"), Some(r.desired_time));
        assert_eq!(parse_iso("tomorrow"), None);
    }

    #[test]
    fn a_completed_callback_keeps_its_state_and_first_reason() {
        let mut r = record();
        r.set_state(CallbackState::Completed, Some(reason::CANCELLED));
        r.set_state(CallbackState::Queued, Some(reason::AGENT_CONNECTED));
        assert_eq!(r.state, CallbackState::Completed);
        assert_eq!(r.reason.as_deref(), Some("CANCELLED"));
        assert_eq!(
            CallbackState::parse("completed"),
            Some(CallbackState::Completed)
        );
        assert_eq!(CallbackState::parse("DONE"), None);
    }
}
