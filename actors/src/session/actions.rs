//! The ORS-style action elements sessions run: `queue:*`, `ixn:*` (interaction), `dialog:*`,
//! `session:*` and `notify:*` (notification), in the `www.genesyslab.com/modules/<module>`
//! namespaces. `templates/strategies/README.md` lists every element, its attributes and the
//! events that complete it.
//!
//! Attribute values are ECMAScript expressions, as in ORS, except the `requestid` and `ixnid`
//! of an action that creates something (`queue:submit`, `ixn:dial`, `dialog:play`,
//! `session:fetch`, `notify:push`): those are locations where the new id is stored. Actions on
//! the contact center happen at once; their outcome, and everything after, comes back as
//! events. A problem with the request itself (an unknown queue syntax, a call the session does
//! not own) is the action's own `error.<module>.<action>` event.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use engine::queue::ItemId;
use engine::routing::plan::TargetList;
use engine::routing::router::RouteRequest;
use engine::store::Millis;
use engine::telephony::IxnId;
use scxml::system::{ActionContext, ActionHandler, System};
use scxml::{EcmaDataModel, Event, EventType, Value};

use super::checkpoint::{CallMeta, ItemMeta};
use super::core::{FetchSpec, HostEffect, HostState, PushSpec, Reply};
use crate::center::core::{CenterCore, Owner, Submit};
use crate::center::CenterError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Module {
    Queue,
    Interaction,
    Dialog,
    Session,
    Notification,
    Callback,
}

const MODULES: [(&str, Module); 6] = [
    ("queue", Module::Queue),
    ("interaction", Module::Interaction),
    ("dialog", Module::Dialog),
    ("session", Module::Session),
    ("notification", Module::Notification),
    ("callback", Module::Callback),
];

/// Registers the handlers for every spelling of each module's namespace.
pub(crate) fn register(sys: &mut System<EcmaDataModel>, st: &Rc<RefCell<HostState>>) {
    for (name, module) in MODULES {
        for ns in [
            format!("http://www.genesyslab.com/modules/{name}"),
            format!("http://www.genesyslab.com/modules/{name}/"),
            format!("https://www.genesyslab.com/modules/{name}"),
            format!("www.genesyslab.com/modules/{name}"),
            format!("www.genesyslab.com/modules/{name}/"),
        ] {
            sys.register_action_handler(
                &ns,
                Box::new(Ors {
                    module,
                    st: st.clone(),
                }),
            );
        }
    }
}

struct Ors {
    module: Module,
    st: Rc<RefCell<HostState>>,
}

/// The action's attributes, looked up by local name.
struct Attrs<'a, 'b> {
    cx: &'a mut ActionContext<'b>,
}

impl Attrs<'_, '_> {
    fn source(&self, names: &[&str]) -> Option<String> {
        self.cx.action.attrs.iter().find_map(|(k, v)| {
            let local = k.rsplit(':').next().unwrap_or(k);
            names.contains(&local).then(|| v.clone())
        })
    }

    /// Evaluates the first attribute present among `names`.
    fn eval(&mut self, names: &[&str]) -> Result<Option<Value>, String> {
        match self.source(names) {
            None => Ok(None),
            Some(src) => self
                .cx
                .scope
                .eval(&src)
                .map(Some)
                .map_err(|e| format!("{}: {e}", names[0])),
        }
    }

    fn string(&mut self, names: &[&str]) -> Result<Option<String>, String> {
        Ok(self.eval(names)?.and_then(|v| match v {
            Value::Undefined | Value::Null => None,
            other => Some(other.to_display_string()),
        }))
    }

    fn number(&mut self, names: &[&str]) -> Result<Option<f64>, String> {
        match self.eval(names)? {
            None | Some(Value::Undefined | Value::Null) => Ok(None),
            Some(Value::Number(n)) if n.is_finite() => Ok(Some(n)),
            Some(Value::String(s)) => s
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .map(Some)
                .ok_or_else(|| format!("{}: '{s}' is not a number", names[0])),
            Some(other) => Err(format!(
                "{}: {} is not a number",
                names[0],
                other.to_display_string()
            )),
        }
    }

    /// A duration in seconds, as milliseconds (0 to 10 days).
    fn seconds(&mut self, names: &[&str]) -> Result<Option<Millis>, String> {
        match self.number(names)? {
            None => Ok(None),
            Some(s) if (0.0..=864_000.0).contains(&s) => Ok(Some((s * 1000.0).round() as Millis)),
            Some(s) => Err(format!(
                "{}: {s} is not a number of seconds from 0 to 864000",
                names[0]
            )),
        }
    }

    fn pairs(&mut self, names: &[&str]) -> Result<Vec<(String, String)>, String> {
        match self.eval(names)? {
            None | Some(Value::Undefined | Value::Null) => Ok(Vec::new()),
            Some(Value::Object(props)) => Ok(props
                .into_iter()
                .filter(|(_, v)| !v.is_undefined())
                .map(|(k, v)| (k, v.to_display_string()))
                .collect()),
            Some(other) => Err(format!(
                "{}: {} is not an object of key/value pairs",
                names[0],
                other.to_display_string()
            )),
        }
    }

    /// Stores `value` in the location an attribute names, if the action has it.
    fn store(&mut self, names: &[&str], value: &str) -> Result<(), String> {
        match self.source(names) {
            None => Ok(()),
            Some(loc) => self.cx.scope.assign(&loc, &Value::String(value.to_owned())),
        }
    }

    fn session(&self) -> String {
        self.cx.session.to_owned()
    }

    fn reply(&mut self, name: &str, fields: Vec<(&str, Value)>) {
        let data = Value::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect());
        let mut ev = Event::external(name, data);
        if name.starts_with("error.") {
            ev.kind = EventType::Platform;
        }
        self.cx.reply.push(ev);
    }
}

fn s(v: &str) -> Value {
    Value::String(v.to_owned())
}

impl ActionHandler for Ors {
    fn execute(&mut self, mut cx: ActionContext<'_>) -> Result<(), String> {
        let name = cx.action.name.clone();
        let mut a = Attrs { cx: &mut cx };
        match (self.module, name.as_str()) {
            (Module::Queue, "submit") => self.submit(&mut a),
            (Module::Queue, "cancel") => self.cancel(&mut a),
            (Module::Queue, "priority") => self.priority(&mut a),
            (Module::Interaction, "dial" | "create") => self.dial(&mut a),
            (Module::Interaction, "connect") => self.connect(&mut a),
            (Module::Interaction, "redirect") => self.redirect(&mut a),
            (Module::Interaction, "release" | "hangup") => self.release(&mut a),
            (Module::Interaction, "attach") => self.attach(&mut a),
            (Module::Dialog, "play") => self.play(&mut a),
            (Module::Dialog, "stop") => self.stop(&mut a),
            (Module::Session, "fetch") => self.fetch(&mut a),
            (Module::Session, "response") => self.response(&mut a),
            (Module::Notification, "push") => self.push(&mut a),
            (Module::Callback, "update") => self.update_callback(&mut a),
            (m, other) => Err(format!("<{other}> is not an action of the {m:?} module")),
        }
    }
}

impl Ors {
    /// The session's call named by `interaction`/`ixnid`, or its only (first) call.
    fn own_call(&self, a: &mut Attrs, session: &str) -> Result<IxnId, String> {
        let named = a.string(&["interaction", "ixnid"])?;
        let st = self.st.borrow();
        let calls = st
            .sessions
            .get(session)
            .map(|m| m.state.calls.clone())
            .unwrap_or_default();
        match named {
            Some(text) => {
                let ixn: IxnId = text
                    .parse()
                    .map_err(|_| format!("'{text}' is not an interaction id (ixn-<n>)"))?;
                if calls.iter().any(|c| c.ixn == ixn.0) {
                    Ok(ixn)
                } else {
                    Err(format!("interaction {ixn} is not a call this session owns"))
                }
            }
            None => calls
                .first()
                .map(|c| IxnId(c.ixn))
                .ok_or_else(|| "the session owns no call".to_owned()),
        }
    }

    fn submit(&mut self, a: &mut Attrs) -> Result<(), String> {
        let session = a.session();
        let queue = a.string(&["queue", "vq"])?.unwrap_or_default();
        let target = match a.eval(&["target", "targets"])? {
            Some(Value::String(t)) => t,
            Some(v @ (Value::Array(_) | Value::Object(_))) => v.to_json(),
            Some(other) => other.to_display_string(),
            None => String::new(),
        };
        let priority = a.number(&["priority"])?;
        let timeout_ms = a.seconds(&["timeout"])?;
        let media = a.string(&["media"])?.unwrap_or_else(|| "voice".into());
        let user_data = a.pairs(&["userdata"])?;
        let reserve = a.seconds(&["reservetimeout"])?;
        let retry = a.seconds(&["rejectretry"])?;
        let interaction = if a.source(&["interaction", "ixnid"]).is_some() {
            Some(self.own_call(a, &session)?)
        } else {
            None
        };
        let (requestid, outcome) = {
            let mut st = self.st.borrow_mut();
            let requestid = st.next_request_id(&session, "q");
            let targets = match TargetList::parse(&target) {
                Ok(t) => t,
                Err(e) => {
                    drop(st);
                    a.store(&["requestid"], &requestid)?;
                    a.reply(
                        "error.queue.submit",
                        vec![
                            ("requestid", s(&requestid)),
                            ("reason", s("invalid")),
                            ("message", s(&format!("target '{target}': {e}"))),
                        ],
                    );
                    return Ok(());
                }
            };
            let mut request = RouteRequest::new(&queue, targets);
            request.priority = priority.map_or(0, |p| p.clamp(-1e9, 1e9) as i32);
            request.media = media.clone();
            request.reserve_timeout_ms = reserve.unwrap_or(st.settings.reserve_timeout_ms).max(1);
            request.reject_retry_ms = retry.unwrap_or(st.settings.reject_retry_ms);
            let submit = Submit {
                request,
                owner: Owner::Session(Arc::from(session.as_str())),
                tag: requestid.clone(),
                interaction,
                timeout_ms,
                user_data,
            };
            let r = enqueue(&mut st, &session, &target, submit);
            (requestid, r)
        };
        a.store(&["requestid"], &requestid)?;
        if let Err(message) = outcome {
            a.reply(
                "error.queue.submit",
                vec![
                    ("requestid", s(&requestid)),
                    ("reason", s("invalid")),
                    ("message", s(&message)),
                ],
            );
        }
        Ok(())
    }

    /// The session's item named by `requestid` (an expression), or its first.
    fn own_item(&self, a: &mut Attrs, session: &str) -> Result<(String, Option<ItemId>), String> {
        let named = a.string(&["requestid"])?;
        let st = self.st.borrow();
        let items = st
            .sessions
            .get(session)
            .map(|m| m.state.items.clone())
            .unwrap_or_default();
        let found = match &named {
            Some(r) => items.iter().find(|i| i.requestid == *r),
            None => items.first(),
        };
        match (found, named) {
            (Some(i), _) => Ok((i.requestid.clone(), i.item.map(ItemId))),
            (None, Some(r)) => Err(format!("no queue submission '{r}' in this session")),
            (None, None) => Err("the session has no queue submission".into()),
        }
    }

    fn cancel(&mut self, a: &mut Attrs) -> Result<(), String> {
        if let Some((requestid, ())) =
            self.on_item(a, "queue.cancel", |c, now, item| c.cancel(item, now))?
        {
            a.reply("queue.cancel.done", vec![("requestid", s(&requestid))]);
        }
        Ok(())
    }

    fn priority(&mut self, a: &mut Attrs) -> Result<(), String> {
        let session = a.session();
        let priority = a.number(&["priority"])?.unwrap_or(0.0).clamp(-1e9, 1e9) as i32;
        let Some((requestid, position)) = self.on_item(a, "queue.priority", |c, now, item| {
            c.set_priority(item, priority, now)
        })?
        else {
            return Ok(());
        };
        if let Some(i) = self
            .st
            .borrow_mut()
            .sessions
            .get_mut(&session)
            .and_then(|m| m.state.items.iter_mut().find(|i| i.requestid == requestid))
        {
            i.priority = priority;
        }
        a.reply(
            "queue.priority.done",
            vec![
                ("requestid", s(&requestid)),
                ("position", Value::Number(position as f64)),
            ],
        );
        Ok(())
    }

    /// Runs `op` on the session's waiting item named by `requestid` (or its first); reports
    /// `error.<action>` itself and answers `None` when there is none or `op` fails.
    fn on_item<R>(
        &mut self,
        a: &mut Attrs,
        action: &str,
        op: impl FnOnce(&mut CenterCore, Millis, ItemId) -> Result<R, CenterError>,
    ) -> Result<Option<(String, R)>, String> {
        let session = a.session();
        let failed = format!("error.{action}");
        let (requestid, item) = match self.own_item(a, &session) {
            Ok(x) => x,
            Err(message) => {
                a.reply(&failed, vec![("message", s(&message))]);
                return Ok(None);
            }
        };
        let r = match item {
            None => Err("it is not waiting in a queue".to_owned()),
            Some(item) => self
                .st
                .borrow_mut()
                .center(|c, now| op(c, now, item).map_err(|e| e.to_string()))
                .unwrap_or_else(|| Err("the contact center is unavailable".into())),
        };
        match r {
            Ok(v) => Ok(Some((requestid, v))),
            Err(m) => {
                a.reply(
                    &failed,
                    vec![("requestid", s(&requestid)), ("message", s(&m))],
                );
                Ok(None)
            }
        }
    }

    fn dial(&mut self, a: &mut Attrs) -> Result<(), String> {
        let session = a.session();
        let number = a.string(&["number", "destination"])?.unwrap_or_default();
        let timeout = a.seconds(&["timeout"])?;
        let data = a.pairs(&["userdata"])?;
        // `agent`: the call is placed from that agent's phone (the agent first).
        let agent = a.string(&["agent"])?.filter(|a| !a.is_empty());
        let (requestid, ixn) = {
            let mut st = self.st.borrow_mut();
            let requestid = st.next_request_id(&session, "d");
            let owner = Owner::Session(Arc::from(session.as_str()));
            let tag = requestid.clone();
            let number2 = number.clone();
            let item = agent
                .as_deref()
                .and_then(|agent| st.routed_item(&session, agent));
            let placed = st
                .center(|c, now| {
                    let ixn = match &agent {
                        Some(agent) => c
                            .dial_from_agent(&number2, agent, item, owner, tag, timeout, now)
                            .map_err(|e| e.to_string())?,
                        None => c.dial(&number2, owner, tag, timeout, now),
                    };
                    if !data.is_empty() {
                        let _ = c.attach_call_data(ixn, data);
                    }
                    Ok::<_, String>(ixn)
                })
                .ok_or("the contact center is unavailable")?;
            let ixn = match placed {
                Ok(ixn) => ixn,
                Err(m) => {
                    drop(st);
                    a.store(&["requestid"], &requestid)?;
                    a.reply(
                        "error.interaction.dial",
                        vec![
                            ("requestid", s(&requestid)),
                            ("reason", s("failed")),
                            ("agent", s(agent.as_deref().unwrap_or_default())),
                            ("message", s(&m)),
                        ],
                    );
                    return Ok(());
                }
            };
            if let Some(m) = st.sessions.get_mut(&session) {
                m.state.calls.push(CallMeta {
                    ixn: ixn.0,
                    requestid: requestid.clone(),
                    customer: number.clone(),
                    media: "voice".into(),
                    direction: "outbound".into(),
                });
            }
            (requestid, ixn)
        };
        a.store(&["requestid"], &requestid)?;
        a.store(&["ixnid"], &ixn.to_string())?;
        Ok(())
    }

    fn connect(&mut self, a: &mut Attrs) -> Result<(), String> {
        let session = a.session();
        let agent = a.string(&["agent"])?.unwrap_or_default();
        let ixn = match self.own_call(a, &session) {
            Ok(i) => i,
            Err(m) => {
                a.reply("error.interaction.connect", vec![("message", s(&m))]);
                return Ok(());
            }
        };
        let r = {
            let mut st = self.st.borrow_mut();
            let item = st.routed_item(&session, &agent);
            let agent2 = agent.clone();
            st.center(|c, now| {
                c.connect(ixn, &agent2, item, now)
                    .map_err(|e| e.to_string())
            })
            .unwrap_or_else(|| Err("the contact center is unavailable".into()))
        };
        let ix = s(&ixn.to_string());
        match r {
            Ok(()) => a.reply(
                "interaction.connect.done",
                vec![("interaction", ix), ("agent", s(&agent))],
            ),
            Err(m) => a.reply(
                "error.interaction.connect",
                vec![
                    ("interaction", ix),
                    ("agent", s(&agent)),
                    ("message", s(&m)),
                ],
            ),
        }
        Ok(())
    }

    fn redirect(&mut self, a: &mut Attrs) -> Result<(), String> {
        let session = a.session();
        let agent = a.string(&["to", "agent"])?.unwrap_or_default();
        let timeout_ms = a.seconds(&["timeout"])?;
        let priority = a.number(&["priority"])?;
        let ixn = match self.own_call(a, &session) {
            Ok(i) => i,
            Err(m) => {
                a.reply("error.interaction.redirect", vec![("message", s(&m))]);
                return Ok(());
            }
        };
        // A redirect is a queue submission to one agent: its progress is queue.submit.*.
        let target = format!("{agent}@StatServer.A");
        let (requestid, r) = {
            let mut st = self.st.borrow_mut();
            let requestid = st.next_request_id(&session, "r");
            let r = match TargetList::parse(&target) {
                Err(e) => Err(format!("agent '{agent}': {e}")),
                Ok(targets) => {
                    let mut request = RouteRequest::new("Redirect", targets);
                    request.priority = priority.map_or(0, |p| p.clamp(-1e9, 1e9) as i32);
                    request.reserve_timeout_ms = st.settings.reserve_timeout_ms.max(1);
                    request.media = st
                        .sessions
                        .get(&session)
                        .and_then(|m| m.state.calls.iter().find(|c| c.ixn == ixn.0))
                        .map_or_else(|| "voice".to_owned(), |c| c.media.clone());
                    let submit = Submit {
                        request,
                        owner: Owner::Session(Arc::from(session.as_str())),
                        tag: requestid.clone(),
                        interaction: Some(ixn),
                        timeout_ms,
                        user_data: Vec::new(),
                    };
                    let r = enqueue(&mut st, &session, &target, submit);
                    r.map(|_| ())
                }
            };
            (requestid, r)
        };
        a.store(&["requestid"], &requestid)?;
        if let Err(m) = r {
            a.reply(
                "error.interaction.redirect",
                vec![
                    ("requestid", s(&requestid)),
                    ("interaction", s(&ixn.to_string())),
                    ("message", s(&m)),
                ],
            );
        }
        Ok(())
    }

    fn release(&mut self, a: &mut Attrs) -> Result<(), String> {
        self.on_call(a, "interaction.release", |c, now, ixn| {
            c.release_call(ixn, now)
        })
    }

    fn attach(&mut self, a: &mut Attrs) -> Result<(), String> {
        let data = a.pairs(&["data", "userdata"])?;
        self.on_call(a, "interaction.attach", |c, _, ixn| {
            c.attach_call_data(ixn, data)
        })
    }

    /// Runs `op` on the session's call (`interaction`/`ixnid`, or its first) and reports
    /// `<action>.done`, or `error.<action>` with the message.
    fn on_call(
        &mut self,
        a: &mut Attrs,
        action: &str,
        op: impl FnOnce(&mut CenterCore, Millis, IxnId) -> Result<(), CenterError>,
    ) -> Result<(), String> {
        let session = a.session();
        let failed = format!("error.{action}");
        let ixn = match self.own_call(a, &session) {
            Ok(i) => i,
            Err(m) => {
                a.reply(&failed, vec![("message", s(&m))]);
                return Ok(());
            }
        };
        let r = self
            .st
            .borrow_mut()
            .center(|c, now| op(c, now, ixn).map_err(|e| e.to_string()))
            .unwrap_or_else(|| Err("the contact center is unavailable".into()));
        let ix = s(&ixn.to_string());
        match r {
            Ok(()) => a.reply(&format!("{action}.done"), vec![("interaction", ix)]),
            Err(m) => a.reply(&failed, vec![("interaction", ix), ("message", s(&m))]),
        }
        Ok(())
    }

    fn play(&mut self, a: &mut Attrs) -> Result<(), String> {
        let session = a.session();
        let name = a
            .string(&["treatment", "uri", "announcement", "prompt"])?
            .unwrap_or_default();
        let duration = a.seconds(&["duration"])?;
        let ixn = match self.own_call(a, &session) {
            Ok(i) => i,
            Err(m) => {
                a.reply("error.dialog.play", vec![("message", s(&m))]);
                return Ok(());
            }
        };
        let r = {
            let mut st = self.st.borrow_mut();
            let requestid = st.next_request_id(&session, "p");
            let name2 = name.clone();
            let r = st
                .center(|c, now| {
                    c.treatment(ixn, Some(&name2), duration, now)
                        .map_err(|e| e.to_string())
                })
                .unwrap_or_else(|| Err("the contact center is unavailable".into()));
            (requestid, r)
        };
        a.store(&["requestid"], &r.0)?;
        if let Err(m) = r.1 {
            a.reply(
                "error.dialog.play",
                vec![
                    ("requestid", s(&r.0)),
                    ("interaction", s(&ixn.to_string())),
                    ("treatment", s(&name)),
                    ("message", s(&m)),
                ],
            );
        }
        Ok(())
    }

    fn stop(&mut self, a: &mut Attrs) -> Result<(), String> {
        self.on_call(a, "dialog.stop", |c, now, ixn| {
            c.treatment(ixn, None, None, now)
        })
    }

    fn fetch(&mut self, a: &mut Attrs) -> Result<(), String> {
        let session = a.session();
        let url = a.string(&["src", "url", "srcexpr"])?.unwrap_or_default();
        let method = a
            .string(&["method"])?
            .unwrap_or_else(|| "GET".into())
            .to_ascii_uppercase();
        if !matches!(method.as_str(), "GET" | "POST" | "PUT" | "DELETE") {
            return Err(format!("method '{method}' is not GET, POST, PUT or DELETE"));
        }
        let timeout_ms = a.seconds(&["timeout"])?.unwrap_or(10_000).clamp(1, 120_000);
        let enctype = a.string(&["enctype"])?;
        let body = match a.eval(&["data", "content"])? {
            None | Some(Value::Undefined) => None,
            Some(Value::String(s)) => Some(s),
            Some(v) => Some(v.to_json()),
        };
        let content_type = body.as_ref().map(|b| {
            enctype.unwrap_or_else(|| {
                if b.trim_start().starts_with(['{', '[']) {
                    "application/json".into()
                } else {
                    "application/x-www-form-urlencoded".into()
                }
            })
        });
        let requestid = {
            let mut st = self.st.borrow_mut();
            let requestid = st.next_request_id(&session, "f");
            st.effects.push(HostEffect::Fetch {
                session: session.clone(),
                requestid: requestid.clone(),
                fetch: FetchSpec {
                    url,
                    method,
                    body,
                    content_type,
                    timeout_ms,
                },
            });
            requestid
        };
        a.store(&["requestid"], &requestid)
    }

    fn response(&mut self, a: &mut Attrs) -> Result<(), String> {
        let session = a.session();
        let named = a.string(&["requestid"])?;
        let status = a.number(&["status"])?.unwrap_or(200.0);
        if !(100.0..600.0).contains(&status) {
            return Err(format!("status {status} is not an HTTP status"));
        }
        let body = match a.source(&["namelist"]) {
            Some(names) => {
                let mut props = Vec::new();
                for n in names.split_whitespace() {
                    props.push((n.to_owned(), a.cx.scope.eval(n)?));
                }
                Value::Object(props)
            }
            None => a.eval(&["data"])?.unwrap_or(Value::Object(Vec::new())),
        };
        let current = a.cx.scope.event().and_then(|e| e.sendid.clone());
        let mut st = self.st.borrow_mut();
        let Some(m) = st.sessions.get_mut(&session) else {
            return Err("the session is gone".into());
        };
        let wanted = named.or(current);
        let pending = wanted
            .as_ref()
            .and_then(|w| m.requests.iter().position(|(r, _)| r == w));
        if let Some(i) = pending {
            let (_, token) = m.requests.remove(i);
            st.effects.push(HostEffect::Reply {
                token,
                reply: Ok(Reply::Response {
                    status: status as u16,
                    body,
                }),
            });
            return Ok(());
        }
        if m.start.is_some() && m.start_response.is_none() {
            m.start_response = Some(body);
            return Ok(());
        }
        Err(match wanted {
            Some(w) => format!("no request '{w}' is waiting for a response"),
            None => "no request is waiting for a response".into(),
        })
    }

    /// `callback:update`: the state (`QUEUED`, `ROUTING`, `PROCESSING`, `COMPLETED`, …),
    /// `_callback_reason` and properties (`""` removes one) of the callback this session runs,
    /// written with the step's checkpoint. A COMPLETED record no longer changes. `event` names a
    /// status notification to send besides those of the state change
    /// (`_cbe_on_connect_treatment_start`).
    fn update_callback(&mut self, a: &mut Attrs) -> Result<(), String> {
        let session = a.session();
        let state = match a.string(&["state"])? {
            None => None,
            Some(text) => Some(
                engine::callback::CallbackState::parse(&text)
                    .ok_or_else(|| format!("state: '{text}' is not a callback state"))?,
            ),
        };
        let reason = a.string(&["reason"])?;
        let data = a.pairs(&["data"])?;
        let event = a.string(&["event"])?;
        let mut st = self.st.borrow_mut();
        let callbacks = st
            .callbacks
            .clone()
            .ok_or_else(|| "this server keeps no callback records".to_owned())?;
        let change = crate::callback::ChartUpdate {
            state,
            reason: reason.as_deref(),
            data: &data,
            event: event.as_deref(),
        };
        if let Some((record, told)) = callbacks.chart_update(&session, change)? {
            st.effects.push(HostEffect::Write(vec![
                engine::store::WriteOp::PutCallback(record),
            ]));
            st.effects.extend(told.into_iter().map(HostEffect::Notify));
        }
        Ok(())
    }

    fn push(&mut self, a: &mut Attrs) -> Result<(), String> {
        let session = a.session();
        let message = a.eval(&["message"])?.unwrap_or(Value::Undefined);
        let tag = a.string(&["tag"])?;
        let device_os = a.string(&["device_os"])?;
        let device_id = a.string(&["device_id", "deviceid"])?;
        if tag.is_none() && device_id.is_none() {
            return Err("notify:push needs a 'tag' or a 'device_id'".into());
        }
        let requestid = {
            let mut st = self.st.borrow_mut();
            let requestid = st.next_request_id(&session, "n");
            st.effects.push(HostEffect::Push {
                session: session.clone(),
                requestid: requestid.clone(),
                push: PushSpec {
                    tag,
                    device_os,
                    device_id,
                    message,
                },
            });
            requestid
        };
        a.store(&["requestid"], &requestid)
    }
}

/// Submits for `session` (its `tag` the request id; `targets` the target as written),
/// recording it so the session can cancel it and a restart can submit it again.
fn enqueue(
    st: &mut HostState,
    session: &str,
    targets: &str,
    submit: Submit,
) -> Result<ItemId, String> {
    let r = &submit.request;
    let meta = ItemMeta {
        requestid: submit.tag.clone(),
        queue: r.queue.clone(),
        targets: targets.to_owned(),
        priority: r.priority,
        media: r.media.clone(),
        reserve_timeout_ms: r.reserve_timeout_ms,
        reject_retry_ms: r.reject_retry_ms,
        deadline: submit.timeout_ms.map(|t| st.now.saturating_add(t)),
        interaction: submit.interaction.map(|i| i.0),
        user_data: submit.user_data.clone(),
        enqueued_at: st.now,
        seq: 0,
        item: None,
        routed: None,
    };
    let item = st
        .center(|c, now| c.submit(submit, now).map_err(|e| e.to_string()))
        .unwrap_or_else(|| Err("the contact center is unavailable".into()))?;
    if let Some(m) = st.sessions.get_mut(session) {
        m.state.items.push(ItemMeta {
            seq: item.0,
            item: Some(item.0),
            ..meta
        });
    }
    Ok(item)
}
