//! The callback service: every callback record in memory ([`Callbacks`], shared by the
//! request handlers, the session hosts and the scheduler) and the operations of the Callback
//! API on the [`Node`] — create (admission, the scenario's session or the scheduler), query,
//! cancel, reschedule and update, `connect`, the per-session requests — and the scheduler loop
//! that starts SCHEDULED callbacks on time.
//!
//! A callback's `_id` is the id of the session that runs its scenario. Records are durable
//! before anyone hears of them: a new immediate callback's record is written in the same group
//! commit as its session's first checkpoint (`StartSpec::writes`); a chart's `callback:update`
//! goes out with the checkpoint of the step that ran it; a scheduled callback leaves SCHEDULED
//! in the commit that saves its new session, so none is started twice or lost.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use engine::callback::admission::{self, Throttles};
use engine::callback::book::{BookChange, CallbackBook};
use engine::callback::query::Query;
use engine::callback::scheduler::{Retry, Scheduler};
use engine::callback::settings::CallbackSettings;
use engine::callback::status::StatusNotify;
use engine::callback::{iso, reason, CallbackError, CallbackRecord, CallbackState, OWN_KEYS};
use engine::config::option;
use engine::reporting::Recorder;
use engine::service_options::Resolved;
use engine::store::{Millis, WriteOp};
use parking_lot::Mutex;
use scxml::Value;

use crate::center::now;

/// A scenario chart as loaded: its name, the template it came from, the document and the ids
/// of its `<data>` (the start parameters it takes).
type Chart = (&'static str, Template, Arc<LoadedDoc>, Arc<Vec<String>>);

/// A callback service's options and its template.
type ServiceOf = (Vec<(String, String)>, Option<Template>);

/// A callback's service options as they apply to one of its records.
struct RecordOptions {
    section: Vec<(String, String)>,
    values: Vec<(String, String)>,
    template: Option<Template>,
}

impl RecordOptions {
    fn resolved(&self) -> Resolved<'_> {
        Resolved::new(&self.section, &self.values, self.template.as_deref())
    }
}
type Template = Arc<engine::templates::Template>;
use crate::node::{Node, NodeError, ServiceAnswer};
use crate::session::core::{PushSpec, StartSpec};
use crate::session::docs::LoadedDoc;
use crate::session::SessionError;

/// What a chart's `callback:update` changes.
#[derive(Debug, Clone, Copy, Default)]
pub struct ChartUpdate<'a> {
    pub state: Option<CallbackState>,
    pub reason: Option<&'a str>,
    pub data: &'a [(String, String)],
    /// A status notification to send besides those of the state change.
    pub event: Option<&'a str>,
}

/// A status notification as the notification service sends it.
fn push_spec(e: engine::callback::status::StatusEvent) -> PushSpec {
    PushSpec {
        tag: Some(e.tag),
        device_os: Some(e.device_os),
        device_id: Some(e.target),
        message: Value::Object(
            e.message
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect(),
        ),
    }
}

/// When a record's reminder was sent (`_cbe_on_callback_reminder`), so it goes once.
const REMINDER_SENT: &str = "_notification_reminder_time";

/// Records in memory and the scheduler of SCHEDULED ones.
pub struct Callbacks {
    book: Mutex<CallbackBook>,
    /// The scenario charts as loaded, with the template they came from (a template uploaded
    /// again is loaded again).
    charts: Mutex<Vec<Chart>>,
    scheduler: Mutex<Scheduler>,
    /// When the reminders of SCHEDULED callbacks go (`_enable_notification_reminder`).
    reminders: Mutex<Scheduler>,
    wake: tokio::sync::Notify,
    settings: CallbackSettings,
    /// The status notifications of the callbacks whose service turns them on, until they end.
    status: Mutex<HashMap<String, Arc<StatusNotify>>>,
    /// Every change to a record, for whoever follows them live (the Callback panel).
    changes: tokio::sync::broadcast::Sender<CallbackChange>,
    /// The metrics history (states over time, hold times), told every change by the book.
    recorder: Arc<Mutex<Recorder>>,
    /// Where the book's changes go to be written in the customers' journeys (Context
    /// Services), once `run_journal` follows them.
    journal: Arc<std::sync::OnceLock<tokio::sync::mpsc::UnboundedSender<JournalNote>>>,
}

/// How long the journal gathers changes before it writes them.
const JOURNAL_GATHER: Duration = Duration::from_millis(20);

/// A record's change, for the journeys (resolved against the service's options when written).
#[derive(Debug, Clone)]
pub struct JournalNote {
    id: String,
    service: String,
    state: engine::callback::CallbackState,
    before: Option<engine::callback::CallbackState>,
    reason: Option<String>,
    number: Option<String>,
    created_at: Millis,
    at: Millis,
    gone: bool,
}

/// A change to the callback records, as followers hear it.
#[derive(Debug, Clone)]
pub enum CallbackChange {
    /// A record was created or changed (as it is now).
    Put(Arc<CallbackRecord>),
    /// A record is gone (expired).
    Gone { id: String, service: String },
}

/// Changes a follower may fall behind by before it is told it lagged (and reads afresh).
pub const CHANGES_KEPT: usize = 4096;

impl std::fmt::Debug for Callbacks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Callbacks")
            .field("records", &self.book.lock().len())
            .field("scheduled", &self.scheduler.lock().len())
            .finish_non_exhaustive()
    }
}

/// The scenario a callback runs, from its service's options (and whether it was scheduled).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    UserTerminatedImmediate,
    UserTerminatedDelayed,
    UserTerminatedScheduled,
    UserTerminatedDelayedAgentPreview,
    UserOriginatedImmediate,
    UserOriginatedDelayed,
    ChatImmediate,
    ChatDelayed,
}

impl Scenario {
    /// The scenario as the Callback panel names it.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::UserTerminatedImmediate => "USER_TERMINATED_IMMEDIATE",
            Scenario::UserTerminatedDelayed => "USER_TERMINATED_DELAYED",
            Scenario::UserTerminatedScheduled => "USER_TERMINATED_SCHEDULED",
            Scenario::UserTerminatedDelayedAgentPreview => "USER_TERMINATED_DELAYED_AGENT_PREVIEW",
            Scenario::UserOriginatedImmediate => "USER_ORIGINATED_IMMEDIATE",
            Scenario::UserOriginatedDelayed => "USER_ORIGINATED_DELAYED",
            Scenario::ChatImmediate => "CHAT_IMMEDIATE",
            Scenario::ChatDelayed => "CHAT_DELAYED",
        }
    }

    /// `_media_type`, `_call_direction`, `_wait_for_agent`, `_wait_for_user_confirm`,
    /// `_agent_preview` and whether the request named a desired time.
    pub fn of(opts: &Resolved<'_>, scheduled: bool) -> Scenario {
        let yes = |k: &str| {
            opts.get(k).is_some_and(|v| {
                matches!(v.trim().to_ascii_lowercase().as_str(), "true" | "1" | "yes")
            })
        };
        let chat = opts
            .get("_media_type")
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("chat"));
        let originated = opts
            .get("_call_direction")
            .is_some_and(|d| d.trim().eq_ignore_ascii_case("USERORIGINATED"));
        let wait = yes("_wait_for_agent");
        // An agent preview is a user-terminated scenario whatever the direction says.
        let preview = yes("_agent_preview");
        match (chat, originated) {
            (true, _) if wait => Scenario::ChatDelayed,
            (true, _) => Scenario::ChatImmediate,
            _ if preview => Scenario::UserTerminatedDelayedAgentPreview,
            (false, true) if wait => Scenario::UserOriginatedDelayed,
            (false, true) => Scenario::UserOriginatedImmediate,
            // Scheduled with a confirmation: the delayed chart, after waiting for the time.
            _ if wait && yes("_wait_for_user_confirm") => Scenario::UserTerminatedDelayed,
            _ if scheduled => Scenario::UserTerminatedScheduled,
            _ => Scenario::UserTerminatedImmediate,
        }
    }

    /// The chart under `templates/callback/` that runs it.
    pub fn document(self) -> &'static str {
        match self {
            Scenario::UserTerminatedImmediate => "callback/user-terminated-immediate.scxml",
            Scenario::UserTerminatedDelayed => "callback/user-terminated-delayed.scxml",
            Scenario::UserTerminatedScheduled => "callback/user-terminated-scheduled.scxml",
            Scenario::UserTerminatedDelayedAgentPreview => {
                "callback/user-terminated-delayed-agent-preview.scxml"
            }
            Scenario::UserOriginatedImmediate => "callback/user-originated-immediate.scxml",
            Scenario::UserOriginatedDelayed => "callback/user-originated-delayed.scxml",
            Scenario::ChatImmediate => "callback/chat-immediate.scxml",
            Scenario::ChatDelayed => "callback/chat-delayed.scxml",
        }
    }
}

impl Callbacks {
    /// `recorder` records the states' levels and hold times (the metrics history).
    pub fn new(settings: CallbackSettings, recorder: Arc<Mutex<Recorder>>) -> Callbacks {
        let (changes, _) = tokio::sync::broadcast::channel(CHANGES_KEPT);
        let mut book = CallbackBook::new();
        let tx = changes.clone();
        let metrics = recorder.clone();
        let journal: Arc<std::sync::OnceLock<tokio::sync::mpsc::UnboundedSender<JournalNote>>> =
            Arc::default();
        let journal_tx = journal.clone();
        // Under the book's lock: the recorder's short lock, then a clone and a channel send
        // (nothing when nobody follows).
        book.observe(Arc::new(move |c| {
            if let Some(j) = journal_tx.get() {
                let note = match &c {
                    BookChange::Put { record, before } => JournalNote {
                        id: record.id.clone(),
                        service: record.service.clone(),
                        state: record.state,
                        before: *before,
                        reason: record.reason.clone(),
                        number: record.data.get("_customer_number").cloned(),
                        created_at: record.created_at,
                        at: now(),
                        gone: false,
                    },
                    BookChange::Gone { id, service, state } => JournalNote {
                        id: (*id).to_owned(),
                        service: (*service).to_owned(),
                        state: *state,
                        before: Some(*state),
                        reason: None,
                        number: None,
                        created_at: 0,
                        at: now(),
                        gone: true,
                    },
                };
                let _ = j.send(note);
            }
            {
                let mut rec = metrics.lock();
                match c {
                    BookChange::Put { record, before } => rec.callback_changed(
                        now(),
                        &record.id,
                        &record.service,
                        before,
                        Some(record.state),
                    ),
                    BookChange::Gone { id, service, state } => {
                        rec.callback_changed(now(), id, service, Some(state), None)
                    }
                }
            }
            if tx.receiver_count() == 0 {
                return;
            }
            let _ = tx.send(match c {
                BookChange::Put { record, .. } => CallbackChange::Put(Arc::new(record.clone())),
                BookChange::Gone { id, service, .. } => CallbackChange::Gone {
                    id: id.to_owned(),
                    service: service.to_owned(),
                },
            });
        }));
        Callbacks {
            changes,
            recorder,
            journal,
            book: Mutex::new(book),
            charts: Mutex::new(Vec::new()),
            scheduler: Mutex::new(Scheduler::new()),
            reminders: Mutex::new(Scheduler::new()),
            wake: tokio::sync::Notify::new(),
            settings,
            status: Mutex::new(HashMap::new()),
        }
    }

    /// Sends status notifications for callback `id` as `notify` says (`None`: none).
    fn watch(&self, id: &str, notify: Option<StatusNotify>) {
        if let Some(n) = notify {
            self.status.lock().insert(id.to_owned(), Arc::new(n));
        }
    }

    /// The status notifications of a record that went from `before` (`None`: just created) to
    /// its state now; a callback that ended is no longer watched.
    pub(crate) fn status_events(
        &self,
        before: Option<CallbackState>,
        now: &CallbackRecord,
    ) -> Vec<PushSpec> {
        let notify = {
            let mut status = self.status.lock();
            if now.state.is_final() {
                status.remove(&now.id)
            } else {
                status.get(&now.id).cloned()
            }
        };
        let Some(notify) = notify else {
            return Vec::new();
        };
        notify
            .events(before, now)
            .into_iter()
            .map(push_spec)
            .collect()
    }

    pub fn settings(&self) -> &CallbackSettings {
        &self.settings
    }

    /// Follows every change to the records from now on.
    pub fn follow(&self) -> tokio::sync::broadcast::Receiver<CallbackChange> {
        self.changes.subscribe()
    }

    /// Takes the stored records: each counted again by the throttles (`throttled` gives a
    /// record's throttled values) and each SCHEDULED one scheduled at `start_at`.
    pub fn load(
        &self,
        records: Vec<CallbackRecord>,
        throttled: impl Fn(&CallbackRecord) -> Vec<(String, String)>,
        start_at: impl Fn(&CallbackRecord) -> Millis,
    ) {
        let mut sched = self.scheduler.lock();
        for r in &records {
            // Started ones (a session waits for the time) come back with their session.
            if r.state == CallbackState::Scheduled && r.session.is_none() {
                sched.schedule(&r.id, start_at(r));
            }
        }
        let mut book = self.book.lock();
        let observer = book.observer();
        *book = CallbackBook::load(records, throttled);
        if let Some(o) = observer {
            book.observe(o);
        }
        let counts: Vec<(&str, CallbackState, u64)> = book
            .counts()
            .iter()
            .flat_map(|(svc, m)| m.iter().map(move |(s, n)| (svc.as_str(), *s, *n)))
            .collect();
        let queued = book
            .records()
            .filter(|r| r.state == CallbackState::Queued)
            .map(|r| r.id.as_str());
        self.recorder.lock().callbacks_loaded(now(), counts, queued);
        drop(book);
        drop(sched);
        self.wake.notify_one();
    }

    pub fn len(&self) -> usize {
        self.book.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.book.lock().is_empty()
    }

    pub fn get(&self, id: &str) -> Option<CallbackRecord> {
        self.book.lock().get(id).cloned()
    }

    /// Records of `service` (every service when `None`) matching `query`, at most `max`.
    pub fn query(&self, service: Option<&str>, query: &Query, max: usize) -> Vec<CallbackRecord> {
        self.book
            .lock()
            .query(service, query)
            .into_iter()
            .take(max)
            .cloned()
            .collect()
    }

    /// Per service, records in each state.
    pub fn counts(&self) -> BTreeMap<String, BTreeMap<CallbackState, u64>> {
        self.book
            .lock()
            .counts()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Records of `service` holding a slot in `[start, end)`.
    pub fn booked(&self, service: &str, start: Millis, end: Millis) -> u32 {
        self.book.lock().booked(service, start, end)
    }

    /// Runs the admission guards and, if they pass, adds the record under the same lock (two
    /// requests never both take the last place).
    fn admit(
        &self,
        check: impl FnOnce(
            admission::Waiting,
            &Throttles,
            &CallbackBook,
        ) -> Result<CallbackRecord, CallbackError>,
        number: Option<&str>,
        service: &str,
        throttled: &[(String, String)],
    ) -> Result<CallbackRecord, CallbackError> {
        let mut book = self.book.lock();
        let waiting = book.waiting(service, number);
        let record = check(waiting, book.throttles(), &book)?;
        book.insert(record.clone(), throttled);
        Ok(record)
    }

    fn remove(&self, id: &str) {
        self.book.lock().remove(id);
        self.scheduler.lock().cancel(id);
        self.reminders.lock().cancel(id);
        self.status.lock().remove(id);
    }

    /// Plans the reminder of SCHEDULED record `r` (`_enable_notification_reminder`):
    /// `_notification_reminder_buffer` seconds before its time, unless it was sent. A time
    /// already past is due at once when `late` (a reminder the server was down for), else
    /// skipped (a callback booked within the buffer needs none). True when one was planned
    /// (the scheduler loop must look again).
    fn plan_reminder(&self, r: &CallbackRecord, now: Millis, late: bool) -> bool {
        if r.state != CallbackState::Scheduled {
            return false;
        }
        self.reminders.lock().cancel(&r.id);
        if r.desired_time <= now || r.data.contains_key(REMINDER_SENT) {
            return false;
        }
        let Some(lead) = self.status.lock().get(&r.id).and_then(|n| n.reminder_ms) else {
            return false;
        };
        let at = r.desired_time.saturating_sub(lead);
        if at > now || late {
            self.reminders.lock().schedule(&r.id, at);
            return true;
        }
        false
    }

    /// Changes a record; `None` when there is none.
    fn update(&self, id: &str, change: impl FnOnce(&mut CallbackRecord)) -> Option<CallbackRecord> {
        self.book.lock().update(id, change).cloned()
    }

    /// A chart's `callback:update`: the record as changed, to be written with the step's
    /// checkpoint, and its status notifications. A final record is not changed any more
    /// (`Ok(None)`).
    pub(crate) fn chart_update(
        &self,
        id: &str,
        change: ChartUpdate<'_>,
    ) -> Result<Option<(CallbackRecord, Vec<PushSpec>)>, String> {
        let ChartUpdate {
            state,
            reason,
            data,
            event,
        } = change;
        if let Some(e) = event {
            if !engine::callback::status::EVENTS.contains(&e) {
                return Err(format!(
                    "event: '{e}' is not a callback event (they are {})",
                    engine::callback::status::EVENTS.join(", ")
                ));
            }
        }
        let mut book = self.book.lock();
        let Some(current) = book.get(id) else {
            return Err(format!("session '{id}' runs no callback"));
        };
        if current.state.is_final() || current.session.as_deref() != Some(id) {
            return Ok(None);
        }
        let before = current.state;
        let record = book
            .update(id, |r| {
                if let Some(s) = state {
                    r.set_state(s, reason);
                } else if let Some(why) = reason {
                    r.reason = Some(why.to_owned());
                }
                for (k, v) in data {
                    if OWN_KEYS.contains(&k.as_str()) {
                        continue;
                    }
                    if v.is_empty() {
                        r.data.remove(k);
                    } else {
                        r.data.insert(k.clone(), v.clone());
                    }
                }
            })
            .cloned();
        drop(book);
        Ok(record.map(|r| {
            let mut told = self.status_events(Some(before), &r);
            if let Some(e) = event {
                told.extend(self.named_event(e, &r));
            }
            (r, told)
        }))
    }

    /// The status notification `event` of record `r`, if its service sends it.
    fn named_event(&self, event: &str, r: &CallbackRecord) -> Option<PushSpec> {
        let notify = self.status.lock().get(&r.id).cloned()?;
        notify.named(event, r).map(push_spec)
    }

    /// A session ended: a callback it ran that is not COMPLETED yet ends with `FAIL_ERROR`
    /// (with its status notifications).
    pub(crate) fn session_ended(&self, id: &str) -> Option<(CallbackRecord, Vec<PushSpec>)> {
        let mut book = self.book.lock();
        let r = book.get(id)?;
        if r.state.is_final() || r.session.as_deref() != Some(id) {
            return None;
        }
        let before = r.state;
        let record = book
            .update(id, |r| {
                r.set_state(CallbackState::Completed, Some(reason::FAIL_ERROR))
            })
            .cloned()?;
        drop(book);
        let told = self.status_events(Some(before), &record);
        Some((record, told))
    }

    /// Drops the records past their expiry; the caller purges them from the store.
    pub fn expire(&self, now: Millis) -> Vec<String> {
        let gone = self.book.lock().expire(now);
        let mut sched = self.scheduler.lock();
        let mut status = self.status.lock();
        for id in &gone {
            sched.cancel(id);
            status.remove(id);
        }
        gone
    }
}

/// What `POST /genesys/1/service/callback/{name}` answers.
#[derive(Debug)]
pub enum CreateAnswer {
    /// The scenario's answer (its first dialog, or `{"_id"}`).
    Created { id: String, body: Value },
    /// `_redirect` named another service, which answered.
    Redirected(ServiceAnswer),
}

/// A request's parameters and where it came from.
#[derive(Debug, Clone, Default)]
pub struct CallbackRequest {
    pub params: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub gms_user: Option<String>,
    /// `http://host:port` the request came to: the base of the URLs a dialog carries.
    pub base_url: String,
}

/// The `_id` carried by every dialog answer first, as GMS writes them.
fn object(fields: Vec<(&str, Value)>) -> Value {
    Value::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

fn s(v: impl Into<String>) -> Value {
    Value::String(v.into())
}

/// Service options with `$token$` values replaced by the request parameter of that name.
fn substitute(options: &[(String, String)], params: &[(String, String)]) -> Vec<(String, String)> {
    options
        .iter()
        .map(|(k, v)| {
            let t = v.trim();
            let value = match t.strip_prefix('$').and_then(|r| r.strip_suffix('$')) {
                Some(name) if !name.is_empty() => option(params, name)
                    .map(str::to_owned)
                    .unwrap_or_else(|| v.clone()),
                _ => v.clone(),
            };
            (k.clone(), value)
        })
        .collect()
}

fn int(opts: &Resolved<'_>, key: &str, default: i64) -> i64 {
    opts.get(key)
        .and_then(|v| v.trim().parse::<i64>().ok())
        .unwrap_or(default)
}

/// Seconds a service keeps records after their desired time (`_ttl`, default one day).
fn ttl_ms(opts: &Resolved<'_>) -> Millis {
    int(opts, "_ttl", 86_400).max(1).saturating_mul(1000)
}

/// When a scheduled callback's session starts: `_request_execution_time_buffer` before its
/// desired time.
fn start_at(opts: &Resolved<'_>, desired: Millis) -> Millis {
    desired.saturating_sub(int(opts, "_request_execution_time_buffer", 120).max(0) * 1000)
}

impl Node {
    fn callback_service(&self, name: &str) -> Result<ServiceOf, NodeError> {
        let options = self.platform().service_options(name).ok_or_else(|| {
            CallbackError::NotFound(format!("Callback service {name} is not configured."))
        })?;
        let service = option(&options, "_service").unwrap_or("").trim();
        let template = self.platform().templates().get(service);
        let is_callback =
            service == "callback" || template.as_ref().is_some_and(|t| t.service == "callback");
        if !is_callback {
            return Err(CallbackError::NotFound(format!(
                "Service {name} is not a callback service (its _service is '{service}')."
            ))
            .into());
        }
        Ok((options, template))
    }

    /// The options of `record`'s service with the record's values (then `extra`, a request's
    /// parameters) substituted into them: what [`RecordOptions::resolved`] reads.
    fn record_options(
        &self,
        record: &CallbackRecord,
        extra: &[(String, String)],
    ) -> Result<RecordOptions, NodeError> {
        let (options, template) = self.callback_service(&record.service)?;
        let values: Vec<(String, String)> = record
            .data
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .chain(extra.iter().cloned())
            .collect();
        Ok(RecordOptions {
            section: substitute(&options, &values),
            values,
            template,
        })
    }

    /// Whether `name` is a configured callback service (`_service = callback`, or a template
    /// whose service is the callback's).
    pub fn is_callback_service(&self, name: &str) -> bool {
        self.callback_service(name).is_ok()
    }

    /// `POST /genesys/1/service/callback/{name}`.
    pub async fn create_callback(
        &self,
        name: &str,
        req: CallbackRequest,
    ) -> Result<CreateAnswer, NodeError> {
        let (options, template) = self.callback_service(name)?;
        self.platform().note_access(name, now());
        let section = substitute(&options, &req.params);
        let opts = Resolved::new(&section, &req.params, template.as_deref());
        if let Some(target) = opts.get("_redirect").map(str::trim) {
            if !target.is_empty() && target != name {
                return self.redirect(target, &req).await;
            }
        }
        let now = now();
        let number = opts.get("_customer_number").map(str::to_owned);
        let throttled = admission::throttled_values(&opts, &req.headers);
        let node_max = Some(self.callbacks().settings().max_queued_per_service);
        let scheduled_request = req
            .params
            .iter()
            .any(|(k, v)| k == "_desired_time" && !v.trim().is_empty());
        let id = crate::node::new_session_id();
        // A time asked for must be in office hours and in a slot with room (checked under the
        // book's lock, so two requests never take the last place of a slot).
        let availability = if scheduled_request {
            Some(self.availability_of(&opts)?)
        } else {
            None
        };
        let record = self.callbacks().admit(
            |waiting, throttles, book| {
                let admitted =
                    admission::admit(name, &opts, &req.headers, waiting, throttles, node_max, now)?;
                if let Some(a) = &availability {
                    if admitted.desired_time > now {
                        let booked = |s: Millis, e: Millis| book.booked(name, s, e);
                        a.check(admitted.desired_time, &booked, PROPOSAL_HORIZON_MS)?;
                    }
                }
                let mut data: BTreeMap<String, String> = req
                    .params
                    .iter()
                    .filter(|(k, v)| !OWN_KEYS.contains(&k.as_str()) && !v.is_empty())
                    .cloned()
                    .collect();
                if let Some(n) = &number {
                    data.insert("_customer_number".into(), n.clone());
                }
                if let Some(u) = &req.gms_user {
                    data.entry("_gms_user".into()).or_insert_with(|| u.clone());
                }
                Ok(CallbackRecord {
                    id: id.clone(),
                    service: name.to_owned(),
                    // A callback for later is SCHEDULED until its chart queues it, even once its
                    // session runs (within _request_execution_time_buffer of the time).
                    state: if admitted.desired_time <= now {
                        CallbackState::Queued
                    } else {
                        CallbackState::Scheduled
                    },
                    reason: None,
                    desired_time: admitted.desired_time,
                    created_at: now,
                    expires_at: admitted.desired_time.saturating_add(ttl_ms(&opts)),
                    session: admitted.immediate.then(|| id.clone()),
                    data,
                })
            },
            number.as_deref(),
            name,
            &throttled,
        )?;
        let platform = self.platform();
        match StatusNotify::from_options(&opts, &|list| platform.section(list)) {
            Ok(notify) => self.callbacks().watch(&id, notify),
            Err(e) => {
                tracing::warn!(service = %name, error = %e, "status notifications not sent")
            }
        }
        let told = self.callbacks().status_events(None, &record);
        if self.callbacks().plan_reminder(&record, now, false) {
            self.callbacks().wake.notify_one();
        }
        if record.session.is_none() {
            if let Err(e) = self
                .platform()
                .store()
                .write(vec![WriteOp::PutCallback(record.clone())])
                .await
            {
                self.callbacks().remove(&id);
                return Err(PlatformErrorFrom::from(e).into());
            }
            self.sessions().notify(told);
            let at = start_at(&opts, record.desired_time);
            self.callbacks().scheduler.lock().schedule(&id, at);
            self.callbacks().wake.notify_one();
            let when = iso(record.desired_time);
            let body = object(vec![
                ("_id", s(id.clone())),
                ("_action", s("ConfirmationDialog")),
                ("_text", s(format!("You will receive the call at {when}"))),
                ("_ok_title", s("Ok")),
                ("_dialog_id", s("0")),
                ("_desired_time", s(when)),
            ]);
            return Ok(CreateAnswer::Created { id, body });
        }
        let scenario = Scenario::of(&opts, scheduled_request);
        match self
            .start_callback(&record, scenario, &opts, &req, told, now)
            .await
        {
            Ok(body) => Ok(CreateAnswer::Created { id, body }),
            Err(e) => {
                self.callbacks().remove(&id);
                Err(e)
            }
        }
    }

    async fn redirect(
        &self,
        target: &str,
        req: &CallbackRequest,
    ) -> Result<CreateAnswer, NodeError> {
        let is_callback = self
            .platform()
            .service_options(target)
            .is_some_and(|o| option(&o, "_service").is_some_and(|s| s.trim() == "callback"));
        if is_callback {
            let mut params: Vec<(String, String)> = req
                .params
                .iter()
                .filter(|(k, _)| k != "_redirect")
                .cloned()
                .collect();
            params.push(("_redirect".into(), String::new()));
            let inner = CallbackRequest {
                params,
                ..req.clone()
            };
            return Box::pin(self.create_callback(target, inner)).await;
        }
        let answer = self
            .call_service(target, &req.params, req.gms_user.as_deref())
            .await?;
        Ok(CreateAnswer::Redirected(answer))
    }

    /// Starts the session of `record` (durable with its record) and returns its first answer.
    /// `told`: status notifications sent once the first step is durable, before the chart's.
    async fn start_callback(
        &self,
        record: &CallbackRecord,
        scenario: Scenario,
        opts: &Resolved<'_>,
        req: &CallbackRequest,
        told: Vec<PushSpec>,
        now: Millis,
    ) -> Result<Value, NodeError> {
        let (doc, ids) = self.chart(scenario).await?;
        let mut given: Vec<(String, Value)> = vec![
            ("_id".into(), s(record.id.clone())),
            ("_service_name".into(), s(record.service.clone())),
            ("_desired_time".into(), s(iso(record.desired_time))),
            (
                "_start_delay".into(),
                // Seconds, to the millisecond (a callback due in 0.9 s waits 0.9 s).
                Value::Number((record.desired_time - now).max(0) as f64 / 1000.0),
            ),
            ("_gms_url".into(), s(req.base_url.clone())),
            (
                "_gms_user".into(),
                s(req
                    .gms_user
                    .clone()
                    .or_else(|| record.data.get("_gms_user").cloned())
                    .unwrap_or_default()),
            ),
        ];
        given.push(("udata".into(), attached_data(scenario, opts, record)));
        // The immediate scenario hands out the number in its first answer; the delayed one
        // books it when the customer connects.
        if scenario == Scenario::UserOriginatedImmediate {
            for (k, v) in self.book_access(&record.id, opts, now).await? {
                given.push((k, s(v)));
            }
        }
        // Only what the chart declares: the rest would be kept with every checkpoint for nothing.
        given.retain(|(k, _)| ids.contains(k));
        // Every other `<data>` of the chart from the service's options, the request and the
        // template's defaults, in that order of precedence, typed as the template says
        // (numbers, booleans) so charts use them as they are; an empty value leaves the chart's
        // own default.
        let mut params = given;
        for id in ids.iter() {
            if params.iter().any(|(k, _)| k == id) {
                continue;
            }
            let value = opts
                .get(id)
                .or_else(|| record.data.get(id).map(String::as_str));
            if let Some(v) = value.filter(|v| !v.trim().is_empty()) {
                let spec = opts.template().and_then(|t| t.option(id));
                params.push((id.clone(), typed(id, spec, v)?));
            }
        }
        let spec = StartSpec {
            id: record.id.clone(),
            doc,
            params,
            call: None,
            reply: None,
            writes: vec![WriteOp::PutCallback(record.clone())],
            notify: told,
        };
        let reply = match self.sessions().start_session(spec).await? {
            crate::session::core::Reply::Started(r) => r,
            other => {
                return Err(NodeError::BadRequest(format!(
                    "the session host answered a start with {other:?}"
                )))
            }
        };
        Ok(reply
            .response
            .unwrap_or_else(|| object(vec![("_id", s(record.id.clone()))])))
    }

    /// The chart of a scenario and its `<data>` ids, loaded once per version of the callback
    /// template.
    async fn chart(
        &self,
        scenario: Scenario,
    ) -> Result<(Arc<LoadedDoc>, Arc<Vec<String>>), NodeError> {
        let name = scenario.document();
        let current = self.platform().templates().get("callback");
        if let Some(t) = &current {
            let cached = self
                .callbacks()
                .charts
                .lock()
                .iter()
                .find_map(|(n, ct, d, ids)| {
                    (*n == name && Arc::ptr_eq(ct, t)).then(|| (d.clone(), ids.clone()))
                });
            if let Some(c) = cached {
                return Ok(c);
            }
        }
        let doc = self.document(name, false).await?;
        let ids = Arc::new(data_ids(&doc.doc));
        if let Some(t) = current {
            let mut charts = self.callbacks().charts.lock();
            // Drop this chart's entry and every entry of an older template.
            charts.retain(|(n, ct, _, _)| *n != name && Arc::ptr_eq(ct, &t));
            charts.push((name, t, doc.clone(), ids.clone()));
        }
        Ok((doc, ids))
    }

    /// Books an access number for a user-originated callback: `_access_number`,
    /// `_access_code` (`n/a` without `_provide_code`) and `_expiration_time` (seconds).
    async fn book_access(
        &self,
        id: &str,
        opts: &Resolved<'_>,
        now: Millis,
    ) -> Result<Vec<(String, String)>, NodeError> {
        let booking = self
            .platform()
            .book_access(
                engine::resources::BookRequest {
                    group: opts.get("_resource_group").unwrap_or("DNIS").to_owned(),
                    service_id: id.to_owned(),
                    phone_number: opts.get("_customer_number").map(str::to_owned),
                    provide_code: opts
                        .get("_provide_code")
                        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true")),
                    code_length: opts.get("_access_code_length").map(str::to_owned),
                    timeout: opts.get("_booking_expiration_timeout").map(str::to_owned),
                },
                now,
            )
            .await?;
        Ok(vec![
            ("_access_number".into(), booking.number.clone()),
            (
                "_access_code".into(),
                booking.access_code.clone().unwrap_or_else(|| "n/a".into()),
            ),
            (
                "_expiration_time".into(),
                ((booking.expires_at - now).max(0) / 1000).to_string(),
            ),
        ])
    }

    /// Stops a callback's session; one that has already ended (or never started) is fine.
    async fn stop_session(&self, id: &str) -> Result<(), NodeError> {
        match self.sessions().terminate(id).await {
            Ok(()) | Err(SessionError::NotFound(_) | SessionError::Finished(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// `GET /genesys/1/service/callback[/{name}]?…`.
    pub fn query_callbacks(
        &self,
        name: Option<&str>,
        params: &[(String, String)],
    ) -> Result<Vec<CallbackRecord>, NodeError> {
        if let Some(n) = name {
            self.callback_service(n)?;
        }
        let q = Query::from_params(params, &["max", "operand"])?;
        Ok(self.callbacks().query(name, &q, usize::MAX))
    }

    /// `DELETE /genesys/1/service/callback/{name}/{id}` (and the admin's bulk cancel): the
    /// record ends COMPLETED with `why`, its session is stopped. Answers the record.
    pub async fn cancel_callback(
        &self,
        name: Option<&str>,
        id: &str,
        why: &str,
    ) -> Result<CallbackRecord, NodeError> {
        let current = self.callback_of(name, id)?;
        if current.state.is_final() {
            return Err(CallbackError::BadRequest(format!(
                "Callback {id} is already {} ({}); it cannot be cancelled.",
                current.state.as_str(),
                current.reason.as_deref().unwrap_or("no reason")
            ))
            .into());
        }
        // The session as of the change itself (the scheduler may be starting one).
        let mut session = None;
        let mut before = current.state;
        let record = self
            .callbacks()
            .update(id, |r| {
                session.clone_from(&r.session);
                before = r.state;
                r.set_state(CallbackState::Completed, Some(why));
            })
            .ok_or_else(|| CallbackError::NotFound(format!("Callback {id} does not exist.")))?;
        self.callbacks().scheduler.lock().cancel(id);
        self.callbacks().reminders.lock().cancel(id);
        self.platform()
            .store()
            .write(vec![WriteOp::PutCallback(record.clone())])
            .await
            .map_err(PlatformErrorFrom::from)?;
        self.sessions()
            .notify(self.callbacks().status_events(Some(before), &record));
        if let Some(sid) = session {
            self.stop_session(&sid).await?;
        }
        Ok(record)
    }

    fn callback_of(&self, name: Option<&str>, id: &str) -> Result<CallbackRecord, NodeError> {
        let r = self
            .callbacks()
            .get(id)
            .filter(|r| name.is_none_or(|n| r.service == n))
            .ok_or_else(|| {
                CallbackError::NotFound(format!(
                    "Callback {id} does not exist{}.",
                    name.map(|n| format!(" in service {n}")).unwrap_or_default()
                ))
            })?;
        Ok(r)
    }

    /// `PUT /genesys/1/service/callback/{name}/{id}`: `_new_desired_time` reschedules a
    /// callback that is not yet with an agent (SCHEDULED, or QUEUED: its session stops and it
    /// waits again); other keys set properties (`""` removes one). Answers the record.
    pub async fn update_callback(
        &self,
        name: &str,
        id: &str,
        params: &[(String, String)],
    ) -> Result<CallbackRecord, NodeError> {
        let (options, template) = self.callback_service(name)?;
        // It must be a callback of this service (404 otherwise).
        self.callback_of(Some(name), id)?;
        let opts = Resolved::new(&options, params, template.as_deref());
        let now = now();
        let new_time = match params
            .iter()
            .find(|(k, v)| (k == "_new_desired_time" || k == "_desired_time") && !v.is_empty())
        {
            None => None,
            Some((k, v)) => Some(engine::callback::parse_iso(v).ok_or_else(|| {
                CallbackError::BadRequest(format!(
                    "{k} must be an ISO 8601 time such as 2026-12-06T14:30:00.000Z, not '{v}'"
                ))
            })?),
        };
        // The calendar is read before the book is locked; the state, the slot and the change
        // are checked and made under one lock, so two reschedules cannot both take the last
        // place of a slot, nor a chart move the callback on in between.
        let availability = match new_time.filter(|t| *t > now) {
            Some(_) => Some(self.availability_of(&opts)?),
            None => None,
        };
        let (record, stop) = {
            let mut book = self.callbacks().book.lock();
            let current = book
                .get(id)
                .cloned()
                .ok_or_else(|| CallbackError::NotFound(format!("Callback {id} does not exist.")))?;
            if current.state.is_final() {
                return Err(CallbackError::BadRequest(format!(
                    "Callback {id} is {} and cannot be changed.",
                    current.state.as_str()
                ))
                .into());
            }
            if new_time.is_some()
                && !matches!(
                    current.state,
                    CallbackState::Scheduled | CallbackState::Queued | CallbackState::Paused
                )
            {
                return Err(CallbackError::BadRequest(format!(
                    "Callback {id} is {}: only a SCHEDULED or QUEUED callback can be rescheduled.",
                    current.state.as_str()
                ))
                .into());
            }
            // The new time must be in office hours and in a slot with room (this callback's
            // own place does not count against it), else 400 with the free slots.
            if let (Some(t), Some(availability)) = (new_time.filter(|t| *t > now), &availability) {
                let own = current.desired_time;
                let booked = |s: Millis, e: Millis| {
                    let n = book.booked(name, s, e);
                    if (s..e).contains(&own) {
                        n.saturating_sub(1)
                    } else {
                        n
                    }
                };
                availability.check(t, &booked, PROPOSAL_HORIZON_MS)?;
            }
            let stop = new_time.and(current.session.clone());
            let record = book
                .update(id, |r| {
                    for (k, v) in params {
                        if OWN_KEYS.contains(&k.as_str())
                            || k == "_new_desired_time"
                            || k == "_callback_state"
                        {
                            continue;
                        }
                        if v.is_empty() {
                            r.data.remove(k);
                        } else {
                            r.data.insert(k.clone(), v.clone());
                        }
                    }
                    if let Some(t) = new_time {
                        let t = t.max(now);
                        r.expires_at = t.saturating_add(ttl_ms(&opts));
                        r.desired_time = t;
                        r.state = CallbackState::Scheduled;
                        r.session = None;
                        // A new time, a new reminder.
                        r.data.remove(REMINDER_SENT);
                    }
                })
                .cloned()
                .ok_or_else(|| CallbackError::NotFound(format!("Callback {id} does not exist.")))?;
            (record, stop)
        };
        self.platform()
            .store()
            .write(vec![WriteOp::PutCallback(record.clone())])
            .await
            .map_err(PlatformErrorFrom::from)?;
        if let Some(t) = new_time {
            self.callbacks()
                .scheduler
                .lock()
                .schedule(id, start_at(&opts, t.max(now)));
            self.callbacks().plan_reminder(&record, now, false);
            self.callbacks().wake.notify_one();
        }
        if let Some(sid) = stop {
            self.stop_session(&sid).await?;
        }
        Ok(record)
    }

    /// Writes every callback's journey in Context Services (when `[cview] enabled` is on and
    /// the service's `_cs_enabled` is not false): its changes in batches, each one durable
    /// write, on a thread of its own. A restart loses at most the changes of the batch being
    /// written (the journey is a record of the callback, not the callback).
    pub fn run_journal(&self) {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<JournalNote>();
        if self.callbacks().journal.set(tx).is_err() {
            return;
        }
        let platform = self.platform().clone();
        // A thread of its own: looking customers up and building the writes are store reads,
        // which must not hold up a runtime's thread.
        let spawned = std::thread::Builder::new()
            .name("journal".into())
            .spawn(move || {
                let mut batch = Vec::new();
                while let Some(first) = rx.blocking_recv() {
                    batch.push(first);
                    // Gather what follows for a moment: one write of many changes (a callback that
                    // moves on at once is written once) rather than many small ones beside the
                    // callbacks' own commits.
                    std::thread::sleep(JOURNAL_GATHER);
                    while batch.len() < 2000 {
                        match rx.try_recv() {
                            Ok(n) => batch.push(n),
                            Err(_) => break,
                        }
                    }
                    let cs = platform.context_services();
                    if !cs.settings().enabled {
                        batch.clear();
                        continue;
                    }
                    // The service's options once per batch: `None` when its journeys are off.
                    let mut kinds: HashMap<String, Option<(String, String)>> = HashMap::new();
                    let notes: Vec<engine::cs::callbacks::CallbackNote> = batch
                        .drain(..)
                        .filter_map(|n| {
                            let kind = kinds
                                .entry(n.service.clone())
                                .or_insert_with(|| {
                                    let o =
                                        platform.service_options(&n.service).unwrap_or_default();
                                    let get =
                                        |k: &str| engine::config::option(&o, k).map(str::trim);
                                    if get("_cs_enabled")
                                        .is_some_and(|v| v.eq_ignore_ascii_case("false"))
                                    {
                                        return None;
                                    }
                                    let media = if get("_media_type")
                                        .is_some_and(|m| m.eq_ignore_ascii_case("chat"))
                                    {
                                        "chat"
                                    } else {
                                        "voice"
                                    };
                                    let kind = get("_cs_service_type")
                                        .filter(|t| !t.is_empty())
                                        .unwrap_or(engine::cs::callbacks::DEFAULT_SERVICE_TYPE);
                                    Some((kind.to_owned(), media.to_owned()))
                                })
                                .clone()?;
                            Some(engine::cs::callbacks::CallbackNote {
                                id: n.id,
                                service_type: kind.0,
                                state: n.state,
                                before: n.before,
                                reason: n.reason,
                                number: n.number,
                                media: kind.1,
                                created_at: n.created_at,
                                at: n.at,
                                gone: n.gone,
                            })
                        })
                        .collect();
                    if let Err(e) = futures_executor::block_on(cs.record_callbacks(notes)) {
                        tracing::warn!(error = %e, "writing callbacks' journeys failed");
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "the journal thread could not start: callbacks write no journeys");
        }
    }

    /// Starts the scheduler: SCHEDULED callbacks start when due, until the runtime stops.
    pub fn run_scheduler(&self, runtime: &tokio::runtime::Handle) {
        let node = self.clone();
        runtime.spawn(async move {
            loop {
                let starts = node.callbacks().scheduler.lock().next_deadline();
                let reminders = node.callbacks().reminders.lock().next_deadline();
                let next = match (starts, reminders) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                let wait = next.map_or(Duration::from_secs(60), |at| {
                    Duration::from_millis(u64::try_from(at - now()).unwrap_or(0))
                });
                if !wait.is_zero() {
                    let _ = tokio::time::timeout(wait, node.callbacks().wake.notified()).await;
                }
                let due = node.callbacks().scheduler.lock().take_due(now(), 256);
                for (id, _) in due {
                    let node = node.clone();
                    tokio::spawn(async move { node.start_scheduled(&id).await });
                }
                let due = node.callbacks().reminders.lock().take_due(now(), 256);
                for (id, _) in due {
                    let node = node.clone();
                    tokio::spawn(async move { node.remind(&id).await });
                }
            }
        });
    }

    /// Sends the reminder of a callback still SCHEDULED (`_cbe_on_callback_reminder`), once its
    /// record says durably that it was sent.
    async fn remind(&self, id: &str) {
        let t = now();
        let mut due = false;
        let Some(record) = self.callbacks().update(id, |r| {
            if r.state == CallbackState::Scheduled
                && r.desired_time > t
                && !r.data.contains_key(REMINDER_SENT)
            {
                r.data.insert(REMINDER_SENT.into(), iso(t));
                due = true;
            }
        }) else {
            return;
        };
        if !due {
            return;
        }
        let Some(spec) = self
            .callbacks()
            .named_event(engine::callback::status::CALLBACK_REMINDER, &record)
        else {
            return;
        };
        match self
            .platform()
            .store()
            .write(vec![WriteOp::PutCallback(record)])
            .await
        {
            Ok(()) => self.sessions().notify(vec![spec]),
            Err(e) => tracing::error!(callback = %id, error = %e, "the reminder was not saved"),
        }
    }

    /// Starts a due SCHEDULED callback: it leaves SCHEDULED in the commit of its session's
    /// first step. A failed start is tried again (`_max_ors_submit_attempts`, every
    /// `_ors_submit_retry_interval`... seconds) and then ends with `SUBMIT_FAILED`.
    async fn start_scheduled(&self, id: &str) {
        let Some(current) = self.callbacks().get(id) else {
            return;
        };
        if current.state != CallbackState::Scheduled || current.session.is_some() {
            return;
        }
        let outcome = self.start_scheduled_session(current.clone()).await;
        match outcome {
            Ok(()) => self.callbacks().scheduler.lock().started(id),
            Err(e) => {
                tracing::warn!(callback = %id, error = %e, "a scheduled callback did not start");
                let (attempts, retry) = self
                    .platform()
                    .service_options(&current.service)
                    .map(|o| {
                        let r = Resolved::new(&o, &[], None);
                        (int(&r, "_max_ors_submit_attempts", 3), 10_000)
                    })
                    .unwrap_or((1, 10_000));
                let verdict = self.callbacks().scheduler.lock().failed(
                    id,
                    now(),
                    attempts.max(1) as u32,
                    retry,
                );
                if let Retry::GiveUp { .. } = verdict {
                    let mut before = CallbackState::Scheduled;
                    let failed = self.callbacks().update(id, |r| {
                        before = r.state;
                        r.session = None;
                        r.set_state(CallbackState::Completed, Some(reason::SUBMIT_FAILED));
                    });
                    if let Some(r) = failed {
                        let told = self.callbacks().status_events(Some(before), &r);
                        match self
                            .platform()
                            .store()
                            .write(vec![WriteOp::PutCallback(r)])
                            .await
                        {
                            Ok(()) => self.sessions().notify(told),
                            Err(e) => {
                                tracing::error!(callback = %id, error = %e, "SUBMIT_FAILED not saved")
                            }
                        }
                    }
                } else {
                    self.callbacks().wake.notify_one();
                }
            }
        }
    }

    async fn start_scheduled_session(&self, current: CallbackRecord) -> Result<(), NodeError> {
        let of_record = self.record_options(&current, &[])?;
        let opts = of_record.resolved();
        let params = &of_record.values;
        let id = current.id.clone();
        // Claimed in one step: a callback cancelled or rescheduled meanwhile is left alone.
        let mut claimed = false;
        let record = self
            .callbacks()
            .update(&id, |r| {
                if r.state == CallbackState::Scheduled && r.session.is_none() {
                    r.session = Some(r.id.clone());
                    // When the scheduler took it (its lag after the due time shows here).
                    r.data.insert("_started_time".into(), iso(now()));
                    claimed = true;
                }
            })
            .ok_or_else(|| CallbackError::NotFound(format!("Callback {id} does not exist.")))?;
        if !claimed {
            return Ok(());
        }
        let req = CallbackRequest {
            params: params.clone(),
            headers: Vec::new(),
            gms_user: record.data.get("_gms_user").cloned(),
            base_url: self.settings().public_url.clone(),
        };
        let scenario = Scenario::of(&opts, true);
        match self
            .start_callback(&record, scenario, &opts, &req, Vec::new(), now())
            .await
        {
            Ok(_) => {
                // Cancelled while its session started: the session stops too.
                if self
                    .callbacks()
                    .get(&id)
                    .is_some_and(|r| r.state.is_final())
                {
                    self.stop_session(&id).await?;
                }
                Ok(())
            }
            Err(e) => {
                self.callbacks().update(&id, |r| {
                    if r.session.as_deref() == Some(r.id.as_str()) && !r.state.is_final() {
                        r.session = None;
                    }
                });
                Err(e)
            }
        }
    }
}

/// The user data a callback's interaction carries to the agent (`udata` of the charts):
/// `GMS_ServiceID`, `GMS_ServiceName`, `GMS_Call_Direction`, `GMS_Customer_Number`, and the
/// request's keys without a leading underscore as `_attach_udata` says (help, Callback
/// options) — `single_json` (default: all of them as one JSON object under `GMS_UserData`),
/// `separate_keys` (each under its own name), `data_id` (only the id they are kept under, as
/// `GMS_UserData`). An agent preview shows the keys `_agent_preview_data` lists (all when
/// empty) and `GMS_Agent_Preview`. Charts add the match keys (`GMS_MatchResult`, ...) when a
/// customer's call is matched.
fn attached_data(scenario: Scenario, opts: &Resolved<'_>, record: &CallbackRecord) -> Value {
    let (id, data) = (record.id.as_str(), &record.data);
    let direction = match scenario {
        Scenario::UserOriginatedImmediate | Scenario::UserOriginatedDelayed => "USERORIGINATED",
        Scenario::ChatImmediate | Scenario::ChatDelayed => "CHAT",
        _ => "USERTERMINATED",
    };
    let user = data.iter().filter(|(k, _)| !k.starts_with('_'));
    let mut out: Vec<(String, Value)> = vec![
        ("GMS_ServiceID".into(), s(id)),
        ("GMS_ServiceName".into(), s(record.service.clone())),
        ("GMS_Call_Direction".into(), s(direction)),
        (
            "GMS_Customer_Number".into(),
            s(data.get("_customer_number").cloned().unwrap_or_default()),
        ),
    ];
    let preview_keys: Vec<&str> = opts
        .get("_agent_preview_data")
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .collect();
    if scenario == Scenario::UserTerminatedDelayedAgentPreview {
        out.push(("GMS_Agent_Preview".into(), s("true")));
        if !preview_keys.is_empty() {
            out.extend(
                user.filter(|(k, _)| preview_keys.contains(&k.as_str()))
                    .map(|(k, v)| (k.clone(), s(v.clone()))),
            );
            return Value::Object(out);
        }
    }
    let mode = opts
        .get("_attach_udata")
        .unwrap_or("single_json")
        .trim()
        .to_ascii_lowercase();
    match mode.as_str() {
        "separate_keys" => out.extend(user.map(|(k, v)| (k.clone(), s(v.clone())))),
        "data_id" => out.push(("GMS_UserData".into(), s(id))),
        _ => {
            let json: serde_json::Map<String, serde_json::Value> = user
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .collect();
            out.push((
                "GMS_UserData".into(),
                s(serde_json::Value::Object(json).to_string()),
            ));
        }
    }
    Value::Object(out)
}

/// An option's value as the chart gets it: a number or a boolean when the template's type says
/// so, else the text.
fn typed(
    key: &str,
    spec: Option<&engine::templates::OptionSpec>,
    raw: &str,
) -> Result<Value, CallbackError> {
    use engine::templates::ValueType;
    let t = raw.trim();
    match spec.map(|o| o.value_type) {
        Some(ValueType::Integer | ValueType::Number) => t
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .map(Value::Number)
            .ok_or_else(|| {
                CallbackError::BadRequest(format!("{key} must be a number, not '{raw}'"))
            }),
        Some(ValueType::Boolean) => match t.to_ascii_lowercase().as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(CallbackError::BadRequest(format!(
                "{key} must be true or false, not '{raw}'"
            ))),
        },
        _ => Ok(Value::String(raw.to_owned())),
    }
}

/// The ids of every `<data>` in a document (the start parameters it can take).
fn data_ids(doc: &scxml::model::Document) -> Vec<String> {
    let mut ids: Vec<String> = doc
        .states
        .iter()
        .flat_map(|st| st.data.iter().map(|d| d.id.clone()))
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// Store errors reach the client through the platform's error mapping.
type PlatformErrorFrom = engine::platform::PlatformError;

impl Callbacks {
    /// The callbacks of a node: `[callback]`'s settings and the stored records (the
    /// throttles count them again; SCHEDULED ones are scheduled, a start time already past due
    /// at once). Problems with `[callback]` come back as warnings.
    pub fn open(
        platform: &engine::platform::Platform,
        now: Millis,
    ) -> Result<(Callbacks, Vec<String>), engine::platform::PlatformError> {
        let (settings, warnings) =
            CallbackSettings::from_section(platform.section("callback").as_deref());
        let callbacks = Callbacks::new(settings, platform.recorder().clone());
        let records = platform.store().callbacks(now)?;
        let template = platform.templates().get("callback");
        let options = |r: &CallbackRecord| platform.service_options(&r.service).unwrap_or_default();
        let params = |r: &CallbackRecord| -> Vec<(String, String)> {
            r.data.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
        };
        let section = |list: &str| platform.section(list);
        for r in records.iter().filter(|r| !r.state.is_final()) {
            let (o, p) = (options(r), params(r));
            if let Ok(notify) =
                StatusNotify::from_options(&Resolved::new(&o, &p, template.as_deref()), &section)
            {
                callbacks.watch(&r.id, notify);
                let _ = callbacks.plan_reminder(r, now, true);
            }
        }
        callbacks.load(
            records,
            |r| {
                let (o, p) = (options(r), params(r));
                admission::throttled_values(&Resolved::new(&o, &p, template.as_deref()), &[])
            },
            |r| {
                let (o, p) = (options(r), params(r));
                start_at(&Resolved::new(&o, &p, template.as_deref()), r.desired_time)
            },
        );
        Ok((callbacks, warnings))
    }
}

/// `check-queue-position`: where a callback waits.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuePosition {
    pub id: String,
    /// 1-based; `None` once it is no longer waiting.
    pub position: Option<usize>,
    /// Estimated wait in seconds, `None` without an estimate.
    pub eta: Option<f64>,
    /// Items waiting in its queue.
    pub total_waiting: usize,
    /// Whether an agent is about to be ready (`_eta_pos_threshold`), and why.
    pub threshold_passed: bool,
    pub threshold_reason: String,
    pub state: CallbackState,
}

/// `_eta_pos_threshold` (`eta:position,…`, e.g. `0:10,10:5,20:2,30:1,40:0`): passed when the
/// estimate is unknown, or some pair has `eta <= e` and `position <= p`.
pub fn threshold(spec: &str, eta: Option<f64>, position: Option<usize>) -> (bool, String) {
    let Some(eta) = eta else {
        return (true, "eta n/a".into());
    };
    let pos = position.unwrap_or(0);
    for pair in spec.split(',') {
        let Some((e, p)) = pair.split_once(':') else {
            continue;
        };
        let (Ok(e), Ok(p)) = (e.trim().parse::<f64>(), p.trim().parse::<usize>()) else {
            continue;
        };
        if eta <= e && pos <= p {
            return (true, format!("eta <= {e} and position <={p} "));
        }
    }
    (false, String::new())
}

impl Node {
    /// The callback behind a session id, live.
    fn live_callback(&self, id: &str) -> Result<CallbackRecord, NodeError> {
        let r = self
            .callbacks()
            .get(id)
            .ok_or_else(|| CallbackError::NotFound(format!("Service {id} does not exist.")))?;
        if r.state.is_final() {
            return Err(CallbackError::BadRequest(format!(
                "Callback {id} is {} ({}).",
                r.state.as_str(),
                r.reason.as_deref().unwrap_or("no reason")
            ))
            .into());
        }
        Ok(r)
    }

    /// `POST /genesys/1/service/{id}/connect`: the customer is ready. A user-originated
    /// callback books an access number first (the chart answers with it).
    pub async fn connect_callback(
        &self,
        id: &str,
        params: &[(String, String)],
    ) -> Result<(u16, Value), NodeError> {
        let record = self.live_callback(id)?;
        let of_record = self.record_options(&record, params)?;
        let opts = of_record.resolved();
        let scenario = Scenario::of(&opts, false);
        let mut data: Vec<(String, Value)> = params
            .iter()
            .map(|(k, v)| (k.clone(), s(v.clone())))
            .collect();
        // A number is booked only when the chart can use it: at once for the immediate
        // scenario, once an agent waits (ROUTING) for the delayed one.
        let wants_number = match scenario {
            Scenario::UserOriginatedImmediate => true,
            Scenario::UserOriginatedDelayed => record.state == CallbackState::Routing,
            _ => false,
        };
        if wants_number {
            for (k, v) in self.book_access(id, &opts, now()).await? {
                data.push((k, s(v)));
            }
        }
        self.request(id, "connect", Value::Object(data)).await
    }

    /// A request a callback's chart answers: a dialog (`GET /genesys/1/service/{id}/{action}`,
    /// delivered as event `dialog` with `_action`), `snooze`, `cancel` from a menu.
    pub async fn callback_request(
        &self,
        id: &str,
        name: &str,
        params: &[(String, String)],
    ) -> Result<(u16, Value), NodeError> {
        let record = self.live_callback(id)?;
        if name == "cancel" {
            let r = self
                .cancel_callback(Some(&record.service), id, reason::CANCELLED)
                .await?;
            return Ok((200, cancelled_dialog(&r)));
        }
        let mut data: Vec<(String, Value)> = params
            .iter()
            .map(|(k, v)| (k.clone(), s(v.clone())))
            .collect();
        let event = if name == "snooze" {
            "snooze"
        } else {
            data.push(("_action".into(), s(name)));
            "dialog"
        };
        self.request(id, event, Value::Object(data)).await
    }

    /// Where a live callback's queue item is now (`None` once it waits in no queue), with its
    /// queue's report.
    async fn queue_item(
        &self,
        record: &CallbackRecord,
    ) -> Result<
        Option<(
            crate::center::core::ItemStatus,
            Option<engine::routing::router::QueueReport>,
        )>,
        NodeError,
    > {
        let items = match record.session.as_deref() {
            Some(sid) if !record.state.is_final() => match self.sessions().info(sid).await {
                Ok(info) => info.items,
                Err(SessionError::NotFound(_) | SessionError::Finished(_)) => Vec::new(),
                Err(e) => return Err(e.into()),
            },
            _ => Vec::new(),
        };
        let item = items.iter().rev().find_map(|i| i.item);
        Ok(item.and_then(|item| {
            self.engine().center().with(|c, now| {
                let st = c.item_status(engine::queue::ItemId(item), now)?;
                let report = c.queue(&st.queue, now);
                Some((st, report))
            })
        }))
    }

    /// `check-queue-position`: the position and estimate of the callback's queue item.
    pub async fn queue_position(&self, id: &str) -> Result<QueuePosition, NodeError> {
        let record = self
            .callbacks()
            .get(id)
            .ok_or_else(|| CallbackError::NotFound(format!("Service {id} does not exist.")))?;
        let status = self
            .queue_item(&record)
            .await?
            .map(|(st, report)| (st, report.map_or(0, |q| q.stats.calls)));
        let spec = self
            .platform()
            .service_options(&record.service)
            .and_then(|o| option(&o, "_eta_pos_threshold").map(str::to_owned))
            .unwrap_or_else(|| "0:10,10:5,20:2,30:1,40:0".into());
        let (position, eta, total_waiting) = match &status {
            Some((st, waiting)) => (
                st.position,
                match st.ewt {
                    engine::queue::Ewt::Seconds(s) => Some(s),
                    engine::queue::Ewt::Unknown => None,
                },
                *waiting,
            ),
            None => (None, None, 0),
        };
        let (passed, why) = threshold(&spec, eta, position);
        Ok(QueuePosition {
            id: id.to_owned(),
            position,
            eta,
            total_waiting,
            threshold_passed: passed,
            threshold_reason: why,
            state: record.state,
        })
    }
}

/// What the Callback panel shows of a callback when its QUEUED row is expanded (the help's
/// "Get Additional Details about the Queued State").
#[derive(Debug, Clone)]
pub struct Diagnostics {
    pub id: String,
    pub service: String,
    pub state: CallbackState,
    /// The scenario its service runs (`USER_TERMINATED_DELAYED`, ...).
    pub scenario: &'static str,
    pub session: Option<String>,
    /// Its virtual queue and routing target (`_urs_virtual_queue`, `_target`).
    pub queue: Option<String>,
    pub target: Option<String>,
    /// 1-based position in the queue, while it waits there.
    pub position: Option<usize>,
    /// Estimated wait, seconds.
    pub ewt: Option<f64>,
    /// Items in its queue; agents logged in, Ready, and free for the queue's target.
    pub waiting: usize,
    pub agents_logged_in: Option<usize>,
    pub agents_ready: Option<usize>,
    /// The agent reserved for it, once there is one.
    pub agent: Option<String>,
    pub created_at: Millis,
    /// Record keys the charts wrote while it ran (dial attempts and results, EWT and position
    /// at offer, ...): every `_`-key of the record but those the table already shows.
    pub facts: Vec<(String, String)>,
}

impl Node {
    /// [`Diagnostics`] of callback `id`.
    pub async fn callback_diagnostics(&self, id: &str) -> Result<Diagnostics, NodeError> {
        let record = self
            .callbacks()
            .get(id)
            .ok_or_else(|| CallbackError::NotFound(format!("Service {id} does not exist.")))?;
        let of_record = self.record_options(&record, &[])?;
        let opts = of_record.resolved();
        // Asked for a time to come (the record keeps no request, only the times).
        let scheduled = record.desired_time > record.created_at + 1_000;
        let scenario = Scenario::of(&opts, scheduled);
        let found = self.queue_item(&record).await?;
        // The table shows the record's own keys and the number already.
        let facts = record
            .data
            .iter()
            .filter(|(k, _)| {
                k.starts_with('_')
                    && k.as_str() != "_customer_number"
                    && !OWN_KEYS.contains(&k.as_str())
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let (queue, position, ewt, waiting, logged_in, ready, agent) = match found {
            Some((st, report)) => (
                Some(st.queue),
                st.position,
                st.ewt.seconds(),
                report.as_ref().map_or(0, |r| r.stats.calls),
                report.as_ref().map(|r| r.logged_in_agents),
                report.as_ref().map(|r| r.ready_agents),
                st.agent,
            ),
            None => (
                opts.get("_urs_virtual_queue").map(str::to_owned),
                None,
                None,
                0,
                None,
                None,
                None,
            ),
        };
        Ok(Diagnostics {
            id: record.id.clone(),
            service: record.service.clone(),
            state: record.state,
            scenario: scenario.name(),
            session: record.session.clone(),
            queue,
            target: opts.get("_target").map(str::to_owned),
            position,
            ewt,
            waiting,
            agents_logged_in: logged_in,
            agents_ready: ready,
            agent,
            created_at: record.created_at,
            facts,
        })
    }
}

/// The answer to a cancel: the ConfirmationDialog the help shows.
pub fn cancelled_dialog(r: &CallbackRecord) -> Value {
    object(vec![
        ("_action", s("ConfirmationDialog")),
        ("_id", s(r.id.clone())),
        ("_text", s("Your service request is now cancelled.")),
        ("_ok_title", s("OK")),
        ("_dialog_id", s("0")),
        ("_desired_time", s(iso(r.desired_time))),
    ])
}

/// What a chat of a callback is, for the Chat API v1.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatView {
    pub id: String,
    pub interaction: engine::telephony::IxnId,
    pub connected: bool,
    pub started_at: Millis,
    /// Entries after the position asked for: `(type, nickname, text, party id, party type)`.
    pub entries: Vec<[String; 5]>,
    /// Entries in the whole transcript.
    pub position: usize,
}

/// What the customer does in a callback's chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatOp {
    Send(String),
    Typing(bool),
    Refresh,
    Disconnect,
}

/// The record key holding a callback's chat interaction.
const CHAT_KEY: &str = "_chat_interaction";

impl Node {
    /// `POST /genesys/1/service/{id}/ixn/chat`: the customer starts the chat of a chat
    /// callback; its session takes it (`interaction.arrived`).
    pub async fn start_chat(
        &self,
        id: &str,
        params: &[(String, String)],
    ) -> Result<ChatView, NodeError> {
        let record = self.live_callback(id)?;
        if let Some(ixn) = record.data.get(CHAT_KEY) {
            return Err(CallbackError::BadRequest(format!(
                "The chat of service {id} is already started ({ixn})."
            ))
            .into());
        }
        let get = |k: &str| option(params, k).filter(|v| !v.trim().is_empty());
        let name = get("userDisplayName")
            .map(str::to_owned)
            .or_else(|| {
                let full = [get("firstName"), get("lastName")]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" ");
                (!full.is_empty()).then_some(full)
            })
            .or_else(|| record.data.get("_customer_number").cloned())
            .unwrap_or_else(|| "customer".into());
        let call = crate::session::core::CallStart::New {
            customer: name,
            dnis: String::new(),
            media: engine::telephony::Media::Chat,
        };
        let ticket = self.adopted(id, call, None).await?;
        let updated = self.callbacks().update(id, |r| {
            r.data
                .insert(CHAT_KEY.into(), ticket.interaction.to_string());
        });
        if let Some(r) = updated {
            self.platform()
                .store()
                .write(vec![WriteOp::PutCallback(r)])
                .await
                .map_err(PlatformErrorFrom::from)?;
        }
        self.chat(id, ChatOp::Refresh, 0).await
    }

    /// `…/ixn/chat/{send,refresh,startTyping,stopTyping,disconnect}`: the chat as it is after
    /// the customer's action, with the entries after `position`.
    pub async fn chat(&self, id: &str, op: ChatOp, position: usize) -> Result<ChatView, NodeError> {
        let record = self
            .callbacks()
            .get(id)
            .ok_or_else(|| CallbackError::NotFound(format!("Service {id} does not exist.")))?;
        let ixn: engine::telephony::IxnId = record
            .data
            .get(CHAT_KEY)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| {
                CallbackError::BadRequest(format!(
                    "Service {id} has no chat: start it with POST /genesys/1/service/{id}/ixn/chat."
                ))
            })?;
        use crate::center::core::ChatSay;
        let view = self.engine().center().with(|c, now| {
            let done = match &op {
                ChatOp::Send(text) => c.customer_chat(ixn, &ChatSay::Text(text.clone()), now),
                ChatOp::Typing(on) => c.customer_chat(ixn, &ChatSay::Typing(*on), now),
                ChatOp::Disconnect => c.customer_hangup(ixn, now),
                ChatOp::Refresh => Ok(()),
            };
            let i = c.interaction(ixn).cloned();
            (done, i)
        });
        let (done, interaction) = view;
        let interaction = interaction
            .ok_or_else(|| CallbackError::NotFound(format!("The chat of service {id} is over.")))?;
        if let Err(e) = done {
            return Err(CallbackError::BadRequest(format!("The chat of service {id}: {e}")).into());
        }
        let entries = interaction
            .transcript
            .iter()
            .skip(position)
            .map(|m| {
                let (pid, kind) = match &m.from {
                    engine::telephony::Party::Customer(c) => (c.clone(), "CLIENT"),
                    engine::telephony::Party::Agent(a) => (a.clone(), "AGENT"),
                    other => (format!("{other:?}"), "EXTERNAL"),
                };
                [
                    m.kind.name().to_owned(),
                    pid.clone(),
                    m.text.clone(),
                    pid,
                    kind.to_owned(),
                ]
            })
            .collect();
        Ok(ChatView {
            id: id.to_owned(),
            interaction: ixn,
            connected: interaction.state != engine::telephony::CallState::Released,
            started_at: interaction.created_at,
            entries,
            position: interaction.transcript.len(),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect()
    }

    /// Options, whether a desired time was asked, the scenario.
    type Case<'a> = (&'a [(&'a str, &'a str)], bool, Scenario);

    #[test]
    fn each_scenario_follows_from_the_options() {
        let cases: [Case<'_>; 10] = [
            (
                &[
                    ("_call_direction", "USERTERMINATED"),
                    ("_wait_for_agent", "false"),
                ],
                false,
                Scenario::UserTerminatedImmediate,
            ),
            (
                &[
                    ("_call_direction", "USERTERMINATED"),
                    ("_wait_for_agent", "false"),
                ],
                true,
                Scenario::UserTerminatedScheduled,
            ),
            (
                &[
                    ("_call_direction", "USERTERMINATED"),
                    ("_wait_for_agent", "true"),
                    ("_wait_for_user_confirm", "true"),
                ],
                false,
                Scenario::UserTerminatedDelayed,
            ),
            // Scheduled, with the customer's confirmation once an agent is found.
            (
                &[
                    ("_call_direction", "USERTERMINATED"),
                    ("_wait_for_agent", "true"),
                    ("_wait_for_user_confirm", "true"),
                ],
                true,
                Scenario::UserTerminatedDelayed,
            ),
            (
                &[
                    ("_call_direction", "USERTERMINATED"),
                    ("_agent_preview", "true"),
                ],
                false,
                Scenario::UserTerminatedDelayedAgentPreview,
            ),
            (
                &[
                    ("_call_direction", "USERORIGINATED"),
                    ("_agent_preview", "TRUE"),
                ],
                false,
                Scenario::UserTerminatedDelayedAgentPreview,
            ),
            (
                &[
                    ("_call_direction", "USERORIGINATED"),
                    ("_wait_for_agent", "false"),
                ],
                false,
                Scenario::UserOriginatedImmediate,
            ),
            (
                &[
                    ("_call_direction", "userOriginated"),
                    ("_wait_for_agent", "true"),
                ],
                false,
                Scenario::UserOriginatedDelayed,
            ),
            (
                &[("_media_type", "chat"), ("_wait_for_agent", "false")],
                false,
                Scenario::ChatImmediate,
            ),
            (
                &[("_media_type", "CHAT"), ("_wait_for_agent", "true")],
                false,
                Scenario::ChatDelayed,
            ),
        ];
        for (options, scheduled, want) in cases {
            let o = pairs(options);
            let got = Scenario::of(&Resolved::new(&o, &[], None), scheduled);
            assert_eq!(got, want, "{options:?} scheduled={scheduled}");
            assert!(got.document().starts_with("callback/"));
        }
    }

    #[test]
    fn the_eta_position_threshold_reads_pairs_in_order() {
        let spec = "0:10,10:5,20:2,30:1,40:0";
        assert_eq!(threshold(spec, None, Some(9)), (true, "eta n/a".into()));
        assert_eq!(
            threshold(spec, Some(8.0), Some(4)),
            (true, "eta <= 10 and position <=5 ".into())
        );
        assert_eq!(threshold(spec, Some(8.0), Some(6)), (false, String::new()));
        assert_eq!(
            threshold(spec, Some(25.0), Some(1)),
            (true, "eta <= 30 and position <=1 ".into())
        );
        assert_eq!(threshold(spec, Some(50.0), Some(0)), (false, String::new()));
        assert_eq!(
            threshold("junk,5", Some(1.0), Some(1)),
            (false, String::new())
        );
    }

    #[test]
    fn tokens_take_the_request_parameter_of_their_name() {
        let options = pairs(&[
            ("_target", "$team$@StatServer.GA"),
            ("_ors", "$ors$"),
            ("x", "$"),
        ]);
        let params = pairs(&[("ors", "http://ors:4421")]);
        let out = substitute(&options, &params);
        assert_eq!(
            out,
            pairs(&[
                ("_target", "$team$@StatServer.GA"),
                ("_ors", "http://ors:4421"),
                ("x", "$")
            ])
        );
    }

    #[test]
    fn a_chart_update_stops_at_completed_and_keeps_own_keys() {
        let cb = Callbacks::new(
            CallbackSettings::default(),
            Arc::new(Mutex::new(Recorder::new(0))),
        );
        let record = CallbackRecord {
            id: "s1".into(),
            service: "cb".into(),
            state: CallbackState::Queued,
            reason: None,
            desired_time: 0,
            created_at: 0,
            expires_at: 1000,
            session: Some("s1".into()),
            data: BTreeMap::new(),
        };
        cb.admit(|_, _, _| Ok(record.clone()), None, "cb", &[])
            .unwrap();
        cb.watch(
            "s1",
            Some(StatusNotify {
                device_os: "httpcb".into(),
                target: "http://127.0.0.1:9/status".into(),
                events: None,
                options: Vec::new(),
                reminder_ms: None,
            }),
        );
        let data = pairs(&[("_id", "forged"), ("note", "x")]);
        let (r, told) = cb
            .chart_update(
                "s1",
                ChartUpdate {
                    state: Some(CallbackState::Routing),
                    data: &data,
                    event: Some("_cbe_on_connect_treatment_start"),
                    ..ChartUpdate::default()
                },
            )
            .unwrap()
            .unwrap();
        let tags: Vec<_> = told.iter().filter_map(|p| p.tag.as_deref()).collect();
        assert_eq!(
            tags,
            [
                "service.callback._cbe_on_target_found.s1",
                "service.callback._cbe_on_dial_init.s1",
                "service.callback._cbe_on_connect_treatment_start.s1"
            ]
        );
        assert_eq!(
            told[0].device_id.as_deref(),
            Some("http://127.0.0.1:9/status")
        );
        assert_eq!((r.state, r.id.as_str()), (CallbackState::Routing, "s1"));
        assert_eq!(r.data.get("note").map(String::as_str), Some("x"));
        assert!(!r.data.contains_key("_id"));
        let (done, told) = cb
            .chart_update(
                "s1",
                ChartUpdate {
                    state: Some(CallbackState::Completed),
                    reason: Some("AGENT_CONNECTED"),
                    ..ChartUpdate::default()
                },
            )
            .unwrap()
            .unwrap();
        assert_eq!(done.reason.as_deref(), Some("AGENT_CONNECTED"));
        assert_eq!(told.len(), 1, "the exit");
        assert!(
            cb.status.lock().is_empty(),
            "an ended callback is no longer watched"
        );
        assert_eq!(
            cb.chart_update(
                "s1",
                ChartUpdate {
                    state: Some(CallbackState::Queued),
                    ..ChartUpdate::default()
                }
            )
            .unwrap(),
            None
        );
        assert_eq!(cb.session_ended("s1"), None);
        assert!(cb.chart_update("nope", ChartUpdate::default()).is_err());
        let lunch = ChartUpdate {
            event: Some("_cbe_on_lunch"),
            ..ChartUpdate::default()
        };
        assert!(cb
            .chart_update("s1", lunch)
            .unwrap_err()
            .contains("_cbe_on_lunch"));
    }
}

/// `…/availability` parameters (v1 and v2).
#[derive(Debug, Clone, Default)]
pub struct AvailabilityQuery {
    pub start: Option<Millis>,
    pub end: Option<Millis>,
    pub days: Option<i64>,
    pub max_slots: Option<usize>,
    pub report_busy: bool,
}

/// Bookable slots of a callback service.
#[derive(Debug, Clone, PartialEq)]
pub struct Slots {
    pub bucket_minutes: u32,
    pub timezone: chrono_tz::Tz,
    pub slots: Vec<engine::callback::availability::SlotView>,
}

/// Slots a query may ask for at most.
const MAX_SLOTS: usize = 2000;
/// How far ahead a refused desired time looks for free slots: a week.
const PROPOSAL_HORIZON_MS: Millis = 7 * 86_400_000;

impl Node {
    /// The office hours (`_business_hours_service`) and capacity (`_capacity_service`, else
    /// `_max_request_by_time_bucket` per `_request_time_bucket` minutes) of a callback service.
    fn availability_of(
        &self,
        opts: &Resolved<'_>,
    ) -> Result<engine::callback::availability::Availability, NodeError> {
        let platform = self.platform();
        let hours = match opts.get("_business_hours_service").map(str::trim) {
            None | Some("") => None,
            Some(svc) => {
                let o = platform.service_options(svc).ok_or_else(|| {
                    engine::platform::PlatformError::Unavailable(format!(
                        "_business_hours_service '{svc}' is not a configured service"
                    ))
                })?;
                Some(platform.office_hours(svc, &o).map_err(|e| {
                    engine::platform::PlatformError::Unavailable(format!(
                        "office hours '{svc}' are misconfigured: {e}"
                    ))
                })?)
            }
        };
        let capacity = match opts.get("_capacity_service").map(str::trim) {
            None | Some("") => None,
            Some(svc) => Some(platform.capacity_of(svc)?),
        };
        let bucket = int(opts, "_request_time_bucket", 5).clamp(1, 24 * 60) as u32;
        let max =
            int(opts, "_max_request_by_time_bucket", 100).clamp(0, i64::from(u32::MAX)) as u32;
        Ok(engine::callback::availability::Availability::new(
            hours, capacity, bucket, max,
        ))
    }

    /// `GET /genesys/{1,2}/service/callback/{name}/availability`.
    pub fn callback_availability(
        &self,
        name: &str,
        q: &AvailabilityQuery,
    ) -> Result<Slots, NodeError> {
        let (options, template) = self.callback_service(name)?;
        let opts = Resolved::new(&options, &[], template.as_deref());
        let availability = self.availability_of(&opts)?;
        let start = q.start.unwrap_or_else(now);
        let end = match (q.end, q.days) {
            (Some(e), _) => e,
            (None, Some(d)) => start.saturating_add(d.clamp(0, 366) * 86_400_000),
            (None, None) => start.saturating_add(86_400_000),
        };
        if end < start {
            return Err(CallbackError::BadRequest(format!(
                "The end {} is before the start {}.",
                iso(end),
                iso(start)
            ))
            .into());
        }
        let booked = |s: Millis, e: Millis| self.callbacks().booked(name, s, e);
        let slots = availability.slots(
            start,
            end,
            &booked,
            q.max_slots.unwrap_or(MAX_SLOTS).min(MAX_SLOTS),
            q.report_busy,
        );
        Ok(Slots {
            bucket_minutes: availability.bucket_minutes(),
            timezone: availability.timezone(),
            slots,
        })
    }
}

impl Node {
    /// Forgets the callbacks past their `_ttl` (in memory and in the store); a session still
    /// running for one is stopped.
    pub async fn expire_callbacks(&self, now: Millis) -> Result<usize, NodeError> {
        let gone = self.callbacks().expire(now);
        self.platform()
            .store()
            .write(vec![WriteOp::PurgeCallbacks { before: now }])
            .await
            .map_err(PlatformErrorFrom::from)?;
        for id in &gone {
            if let Err(e) = self.stop_session(id).await {
                tracing::warn!(callback = %id, error = %e, "an expired callback's session did not stop");
            }
        }
        Ok(gone.len())
    }
}

impl Node {
    /// Whether a callback service is paused: its `_paused_services_list` names a configuration
    /// section (GMS's transaction list; its `services` subsection too) whose entry for the
    /// service (`_paused_services_id`, else the service name) is `true`.
    fn paused(&self, service: &str, options: &[(String, String)]) -> bool {
        let list = option(options, "_paused_services_list")
            .map(str::trim)
            .unwrap_or("");
        if list.is_empty() {
            return false;
        }
        let key = option(options, "_paused_services_id")
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .unwrap_or(service);
        [list.to_owned(), format!("{list}.services")]
            .iter()
            .filter_map(|section| self.platform().section(section))
            .any(|entries| {
                option(&entries, key).is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
            })
    }

    /// Pauses the QUEUED callbacks of paused services (their charts leave the queue and say
    /// PAUSED) and resumes the PAUSED ones of services no longer paused. Run periodically;
    /// answers how many sessions were told.
    pub async fn apply_pauses(&self) -> usize {
        let mut told = 0;
        for (service, options) in self.platform().services() {
            if self.callback_service(&service).is_err() {
                continue;
            }
            let paused = self.paused(&service, &options);
            let (from, event) = if paused {
                ("QUEUED", "callback.pause")
            } else {
                ("PAUSED", "callback.resume")
            };
            let Ok(q) = Query::from_params(&[("_callback_state".into(), from.into())], &[]) else {
                continue;
            };
            let ids: Vec<String> = self
                .callbacks()
                .query(Some(&service), &q, usize::MAX)
                .into_iter()
                .filter_map(|r| r.session)
                .collect();
            for id in ids {
                match self.sessions().event(&id, event, Value::Null).await {
                    Ok(()) => told += 1,
                    Err(e) => tracing::debug!(callback = %id, error = %e, event, "not told"),
                }
            }
        }
        told
    }
}
