//! Callback status notifications (gms-api.md §1.9): as a callback moves through its states, the
//! events GMS names `_cbe_on_*` are sent through the notification service to the target the
//! service configures, each with the parameters its list asks for.
//!
//! Service options: `_enable_status_notification` (`subscribe_notify`, or `true`, turns them on),
//! `_status_notification_type` (a push type: `httpcb` by default, `comet`, `customhttp`, ...),
//! `_status_notification_target` (the device: a URL for `httpcb`, a `gms_user` for `comet`),
//! `_callback_events_list` (the name of a list: which events, with which `notify_params`;
//! every event with [`DEFAULT_PARAMS`] when unset). The list is a section whose keys are event
//! names and whose values are their comma-separated parameters (empty: the defaults), or one
//! section per event, `[<list>.<event>]`, with a `notify_params` key.
//!
//! The events follow the record's states (the charts move them): created → `_cbe_on_service_create`
//! (and, queued at once, `_cbe_on_virtual_ixn_create`, `_cbe_on_customer_queued`); SCHEDULED →
//! QUEUED → `_cbe_on_virtual_ixn_create`, `_cbe_on_customer_queued`; queued again (a failed dial
//! retried, a service resumed) → `_cbe_on_customer_queued`; → ROUTING (an agent was found, the
//! customer is dialled) → `_cbe_on_target_found`, `_cbe_on_dial_init`; → PROCESSING (connected) →
//! `_cbe_on_dial_done`, `_cbe_on_route_to_agent`; → COMPLETED → `_cbe_on_service_exit`.
//! Two events do not follow a state: `_cbe_on_connect_treatment_start`, sent when a chart starts
//! the connect treatment (`callback:update event=…`, with `_treatment_customer_connect`), and
//! `_cbe_on_callback_reminder`, sent `_notification_reminder_buffer` seconds before a
//! SCHEDULED callback's time when `_enable_notification_reminder` is on.

use super::{CallbackRecord, CallbackState};
use crate::service_options::Resolved;

pub const SERVICE_CREATE: &str = "_cbe_on_service_create";
pub const VIRTUAL_IXN_CREATE: &str = "_cbe_on_virtual_ixn_create";
pub const TARGET_FOUND: &str = "_cbe_on_target_found";
pub const DIAL_INIT: &str = "_cbe_on_dial_init";
pub const DIAL_DONE: &str = "_cbe_on_dial_done";
pub const CONNECT_TREATMENT_START: &str = "_cbe_on_connect_treatment_start";
pub const CUSTOMER_QUEUED: &str = "_cbe_on_customer_queued";
pub const ROUTE_TO_AGENT: &str = "_cbe_on_route_to_agent";
pub const SERVICE_EXIT: &str = "_cbe_on_service_exit";
pub const CALLBACK_REMINDER: &str = "_cbe_on_callback_reminder";

/// Every event, in the order a callback meets them.
pub const EVENTS: [&str; 10] = [
    SERVICE_CREATE,
    CALLBACK_REMINDER,
    VIRTUAL_IXN_CREATE,
    CUSTOMER_QUEUED,
    TARGET_FOUND,
    DIAL_INIT,
    CONNECT_TREATMENT_START,
    DIAL_DONE,
    ROUTE_TO_AGENT,
    SERVICE_EXIT,
];

/// What an event carries when its list names no parameters (besides the event itself, the
/// callback's id, service, state and reason, which every notification carries).
pub const DEFAULT_PARAMS: [&str; 2] = ["_customer_number", "_desired_time"];

/// A service's status notifications, resolved when a callback is created.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusNotify {
    /// The push type (`_status_notification_type`).
    pub device_os: String,
    /// The device (`_status_notification_target`).
    pub target: String,
    /// The events sent and their parameters; `None`: every event, with the defaults.
    pub events: Option<Vec<(String, Vec<String>)>>,
    /// Service options the parameters may name (`_urs_virtual_queue`, ...), by name.
    pub options: Vec<(String, String)>,
    /// With `_enable_notification_reminder`: `_notification_reminder_buffer` (300 s by
    /// default) in milliseconds, how long before a SCHEDULED callback's time the reminder goes.
    pub reminder_ms: Option<i64>,
}

/// Reads a configuration section by name (`None` when there is none).
pub type Sections<'a> = dyn Fn(&str) -> Option<Vec<(String, String)>> + 'a;

/// One notification to send.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusEvent {
    pub event: &'static str,
    /// `service.callback.<event>.<id>`: subscriptions to it receive the notification too.
    pub tag: String,
    pub device_os: String,
    pub target: String,
    /// The event's name under `_event`, then `_id`, `_service_name`, `_callback_state`,
    /// `_callback_reason` (when set) and the parameters, in order; a parameter with no value is
    /// left out.
    pub message: Vec<(String, String)>,
}

impl StatusNotify {
    /// The service's status notifications, if it turns them on. `section` reads a list by name
    /// (`None` when there is no such section). A list that is named but missing, or names an
    /// event GMS does not have, is an error naming the option.
    pub fn from_options(
        opts: &Resolved<'_>,
        section: &Sections<'_>,
    ) -> Result<Option<StatusNotify>, String> {
        let on = opts
            .get("_enable_status_notification")
            .map(|v| v.trim().to_ascii_lowercase())
            .is_some_and(|v| matches!(v.as_str(), "subscribe_notify" | "true" | "yes" | "1"));
        if !on {
            return Ok(None);
        }
        let target = opts
            .get("_status_notification_target")
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(
                "_enable_status_notification is on but _status_notification_target names no \
                 target",
            )?
            .to_owned();
        let device_os = opts
            .get("_status_notification_type")
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .unwrap_or("httpcb")
            .to_owned();
        let events = match opts
            .get("_callback_events_list")
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            None => None,
            Some(list) => Some(read_list(list, section)?),
        };
        let mut wanted: Vec<&str> = Vec::new();
        match &events {
            None => wanted.extend(DEFAULT_PARAMS),
            Some(events) => {
                for (_, params) in events {
                    wanted.extend(params.iter().map(String::as_str));
                }
            }
        }
        let options = wanted
            .into_iter()
            .filter_map(|k| opts.get(k).map(|v| (k.to_owned(), v.to_owned())))
            .collect();
        let reminder = opts
            .get("_enable_notification_reminder")
            .map(|v| v.trim().to_ascii_lowercase())
            .is_some_and(|v| matches!(v.as_str(), "true" | "yes" | "1"));
        let reminder_ms = if reminder {
            let buffer = match opts.get("_notification_reminder_buffer").map(str::trim) {
                None | Some("") => 300,
                Some(v) => v.parse::<i64>().ok().filter(|s| *s >= 0).ok_or_else(|| {
                    format!("_notification_reminder_buffer: '{v}' is not a number of seconds")
                })?,
            };
            Some(buffer.saturating_mul(1000))
        } else {
            None
        };
        Ok(Some(StatusNotify {
            device_os,
            target,
            events,
            options,
            reminder_ms,
        }))
    }

    /// The notifications for a record that went from `before` (`None`: it was just created) to
    /// its state now.
    pub fn events(&self, before: Option<CallbackState>, now: &CallbackRecord) -> Vec<StatusEvent> {
        transition(before, now.state)
            .iter()
            .filter_map(|&event| self.named(event, now))
            .collect()
    }

    /// The notification of `event` (one of [`EVENTS`]) for `r`, unless the service's list
    /// leaves it out.
    pub fn named(&self, event: &str, r: &CallbackRecord) -> Option<StatusEvent> {
        let event = EVENTS.iter().copied().find(|e| *e == event)?;
        let params: Vec<&str> = match &self.events {
            None => DEFAULT_PARAMS.to_vec(),
            Some(list) => list
                .iter()
                .find(|(e, _)| e == event)
                .map(|(_, p)| p.iter().map(String::as_str).collect())?,
        };
        Some(self.event(event, &params, r))
    }

    fn event(&self, event: &'static str, params: &[&str], r: &CallbackRecord) -> StatusEvent {
        let mut message = vec![("_event".to_owned(), event.to_owned())];
        for key in [
            "_id",
            "_service_name",
            "_callback_state",
            "_callback_reason",
        ] {
            if let Some(v) = r.field(key) {
                message.push((key.to_owned(), v.into_owned()));
            }
        }
        for &p in params {
            if message.iter().any(|(k, _)| k == p) {
                continue;
            }
            let value = match p {
                "_service_id" => Some(r.id.clone()),
                _ => r.field(p).map(|v| v.into_owned()).or_else(|| {
                    self.options
                        .iter()
                        .find(|(k, _)| k == p)
                        .map(|(_, v)| v.clone())
                }),
            };
            if let Some(v) = value {
                message.push((p.to_owned(), v));
            }
        }
        StatusEvent {
            event,
            tag: format!("service.callback.{event}.{}", r.id),
            device_os: self.device_os.clone(),
            target: self.target.clone(),
            message,
        }
    }
}

/// The events of a state change, in order (see the module's text).
pub fn transition(before: Option<CallbackState>, now: CallbackState) -> &'static [&'static str] {
    use CallbackState::*;
    match (before, now) {
        (None, Queued) => &[SERVICE_CREATE, VIRTUAL_IXN_CREATE, CUSTOMER_QUEUED],
        (None, Completed) => &[SERVICE_CREATE, SERVICE_EXIT],
        (None, _) => &[SERVICE_CREATE],
        (Some(b), n) if b == n => &[],
        (Some(Scheduled), Queued) => &[VIRTUAL_IXN_CREATE, CUSTOMER_QUEUED],
        (Some(_), Queued) => &[CUSTOMER_QUEUED],
        (Some(_), Routing) => &[TARGET_FOUND, DIAL_INIT],
        (Some(_), Processing) => &[DIAL_DONE, ROUTE_TO_AGENT],
        (Some(_), Completed) => &[SERVICE_EXIT],
        (Some(_), _) => &[],
    }
}

/// The list `name`: `[name]` with `event = params`, or `[name.<event>]` sections with
/// `notify_params`.
fn read_list(name: &str, section: &Sections<'_>) -> Result<Vec<(String, Vec<String>)>, String> {
    let split = |v: &str| -> Vec<String> {
        v.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let params_or_default = |v: &str| {
        let p = split(v);
        if p.is_empty() {
            DEFAULT_PARAMS.iter().map(|s| (*s).to_owned()).collect()
        } else {
            p
        }
    };
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    let mut found = false;
    if let Some(keys) = section(name) {
        found = true;
        for (event, params) in keys {
            let event = event.trim();
            if !EVENTS.contains(&event) {
                return Err(format!(
                    "_callback_events_list: [{name}] names '{event}', which is not a callback \
                     event (they are {})",
                    EVENTS.join(", ")
                ));
            }
            out.push((event.to_owned(), params_or_default(&params)));
        }
    }
    for event in EVENTS {
        if let Some(keys) = section(&format!("{name}.{event}")) {
            found = true;
            let params = keys
                .iter()
                .find(|(k, _)| k == "notify_params")
                .map(|(_, v)| params_or_default(v))
                .unwrap_or_else(|| params_or_default(""));
            out.retain(|(e, _)| e != event);
            out.push((event.to_owned(), params));
        }
    }
    if !found {
        return Err(format!(
            "_callback_events_list names '{name}', but there is no [{name}] section (nor \
             [{name}.<event>] sections)"
        ));
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests on data they built themselves
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn record(state: CallbackState) -> CallbackRecord {
        CallbackRecord {
            id: "CB1".into(),
            service: "cb".into(),
            state,
            reason: None,
            desired_time: 0,
            created_at: 0,
            expires_at: 1,
            session: Some("CB1".into()),
            data: BTreeMap::from([("_customer_number".into(), "5551234".into())]),
        }
    }

    fn no_sections(_: &str) -> Option<Vec<(String, String)>> {
        None
    }

    #[test]
    fn off_unless_turned_on_and_a_target_is_required() {
        let s = pairs(&[("_status_notification_target", "http://x/cb")]);
        let opts = Resolved::new(&s, &[], None);
        assert_eq!(StatusNotify::from_options(&opts, &no_sections), Ok(None));
        let s = pairs(&[("_enable_status_notification", "subscribe_notify")]);
        let opts = Resolved::new(&s, &[], None);
        assert!(StatusNotify::from_options(&opts, &no_sections)
            .unwrap_err()
            .contains("_status_notification_target"));
    }

    #[test]
    fn the_reminder_and_named_events_follow_the_options_and_the_list() {
        let base = [
            ("_enable_status_notification", "subscribe_notify"),
            ("_status_notification_target", "http://x/cb"),
        ];
        let with = |extra: &[(&str, &str)]| {
            let mut v = base.to_vec();
            v.extend_from_slice(extra);
            pairs(&v)
        };
        let notify = |extra: &[(&str, &str)]| {
            StatusNotify::from_options(&Resolved::new(&with(extra), &[], None), &no_sections)
        };
        assert_eq!(notify(&[]).unwrap().unwrap().reminder_ms, None);
        let on = ("_enable_notification_reminder", "true");
        assert_eq!(notify(&[on]).unwrap().unwrap().reminder_ms, Some(300_000));
        let n = notify(&[on, ("_notification_reminder_buffer", "60")])
            .unwrap()
            .unwrap();
        assert_eq!(n.reminder_ms, Some(60_000));
        assert!(notify(&[on, ("_notification_reminder_buffer", "soon")])
            .unwrap_err()
            .contains("_notification_reminder_buffer"));
        // Every event by default; a list sends only what it names; no other names.
        let r = record(CallbackState::Scheduled);
        let e = n.named(CALLBACK_REMINDER, &r).unwrap();
        assert_eq!(e.tag, "service.callback._cbe_on_callback_reminder.CB1");
        assert_eq!(e.message[0], ("_event".into(), CALLBACK_REMINDER.into()));
        assert!(n.named("_cbe_on_lunch", &r).is_none());
        let s = with(&[("_callback_events_list", "L")]);
        let sections = |name: &str| {
            (name == "L").then(|| pairs(&[("_cbe_on_connect_treatment_start", "_service_id")]))
        };
        let n = StatusNotify::from_options(&Resolved::new(&s, &[], None), &sections)
            .unwrap()
            .unwrap();
        assert!(n.named(CALLBACK_REMINDER, &r).is_none());
        let e = n.named(CONNECT_TREATMENT_START, &r).unwrap();
        assert_eq!(
            e.message.last(),
            Some(&("_service_id".to_owned(), "CB1".to_owned()))
        );
    }

    #[test]
    fn every_state_change_has_its_events() {
        use CallbackState::*;
        assert_eq!(
            transition(None, Queued),
            [SERVICE_CREATE, VIRTUAL_IXN_CREATE, CUSTOMER_QUEUED]
        );
        assert_eq!(transition(None, Scheduled), [SERVICE_CREATE]);
        assert_eq!(
            transition(Some(Scheduled), Queued),
            [VIRTUAL_IXN_CREATE, CUSTOMER_QUEUED]
        );
        assert_eq!(transition(Some(Routing), Queued), [CUSTOMER_QUEUED]);
        assert_eq!(transition(Some(Queued), Routing), [TARGET_FOUND, DIAL_INIT]);
        assert_eq!(
            transition(Some(Routing), Processing),
            [DIAL_DONE, ROUTE_TO_AGENT]
        );
        assert_eq!(transition(Some(Processing), Completed), [SERVICE_EXIT]);
        assert!(transition(Some(Queued), Queued).is_empty());
        assert!(transition(Some(Queued), Paused).is_empty());
    }

    #[test]
    fn a_list_selects_events_and_their_parameters() {
        let s = pairs(&[
            ("_enable_status_notification", "subscribe_notify"),
            ("_status_notification_type", "httpcb"),
            ("_status_notification_target", "http://x/cb"),
            ("_callback_events_list", "Events"),
            ("_urs_virtual_queue", "VQ1"),
        ]);
        let opts = Resolved::new(&s, &[], None);
        let sections = |name: &str| match name {
            "Events" => Some(pairs(&[(
                "_cbe_on_dial_init",
                "_service_id, _customer_number,_urs_virtual_queue",
            )])),
            "Events._cbe_on_service_exit" => Some(pairs(&[("notify_params", "")])),
            _ => None,
        };
        let n = StatusNotify::from_options(&opts, &sections)
            .unwrap()
            .unwrap();
        // Queued → routing: only the dial init is in the list.
        let events = n.events(Some(CallbackState::Queued), &record(CallbackState::Routing));
        assert_eq!(events.len(), 1);
        let e = &events[0];
        assert_eq!(
            (
                e.event,
                e.tag.as_str(),
                e.device_os.as_str(),
                e.target.as_str()
            ),
            (
                DIAL_INIT,
                "service.callback._cbe_on_dial_init.CB1",
                "httpcb",
                "http://x/cb"
            )
        );
        assert_eq!(
            e.message,
            pairs(&[
                ("_event", "_cbe_on_dial_init"),
                ("_id", "CB1"),
                ("_service_name", "cb"),
                ("_callback_state", "ROUTING"),
                ("_service_id", "CB1"),
                ("_customer_number", "5551234"),
                ("_urs_virtual_queue", "VQ1"),
            ])
        );
        // The exit event with the default parameters.
        let mut done = record(CallbackState::Completed);
        done.reason = Some("AGENT_CONNECTED".into());
        let events = n.events(Some(CallbackState::Processing), &done);
        assert_eq!(events.len(), 1);
        assert_eq!(
            events[0].message,
            pairs(&[
                ("_event", "_cbe_on_service_exit"),
                ("_id", "CB1"),
                ("_service_name", "cb"),
                ("_callback_state", "COMPLETED"),
                ("_callback_reason", "AGENT_CONNECTED"),
                ("_customer_number", "5551234"),
                ("_desired_time", "1970-01-01T00:00:00.000Z"),
            ])
        );
        // Not in the list: nothing.
        assert!(n.events(None, &record(CallbackState::Queued)).is_empty());
    }

    #[test]
    fn a_missing_list_or_an_unknown_event_is_refused() {
        let s = pairs(&[
            ("_enable_status_notification", "true"),
            ("_status_notification_target", "u"),
            ("_callback_events_list", "Nope"),
        ]);
        let opts = Resolved::new(&s, &[], None);
        assert!(StatusNotify::from_options(&opts, &no_sections)
            .unwrap_err()
            .contains("no [Nope] section"));
        let bad = |name: &str| (name == "Nope").then(|| pairs(&[("_cbe_on_lunch", "")]));
        assert!(StatusNotify::from_options(&opts, &bad)
            .unwrap_err()
            .contains("'_cbe_on_lunch'"));
    }
}
