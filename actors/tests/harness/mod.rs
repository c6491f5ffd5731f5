//! The contact center and a session host joined with time passed in, no threads, no HTTP:
//! every notice the center produces is delivered to its owner at once, and new calls at a
//! route point start their strategy, as the server does.

#![allow(dead_code, clippy::unwrap_used)] // each test binary uses part of it

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;

use actors::center::core::{CenterCore, Notice, Owner};
use actors::center::settings::{agents_from_config, CenterSettings};
use actors::session::core::{
    CallStart, CenterPort, HostCore, HostEffect, HostError, HostSettings, Reply, StartSpec,
};
use actors::session::docs::{Documents, LoadedDoc};
use engine::config::Config;
use engine::store::Millis;
use scxml::Value;

/// The center, reached directly.
struct Direct {
    core: Rc<RefCell<CenterCore>>,
    now: Rc<Cell<Millis>>,
}

impl CenterPort for Direct {
    fn run(&mut self, f: &mut dyn FnMut(&mut CenterCore, Millis)) {
        let mut c = self.core.borrow_mut();
        f(&mut c, self.now.get());
    }
}

pub struct Harness {
    pub core: Rc<RefCell<CenterCore>>,
    now: Rc<Cell<Millis>>,
    pub host: HostCore,
    pub docs: Documents,
    pub settings: CenterSettings,
    /// Log lines as `session label: message`.
    pub logs: Vec<String>,
    pub replies: Vec<(u64, Result<Reply, HostError>)>,
    /// `(session, final state or halt reason)`.
    pub finished: Vec<(String, String)>,
    pub effects: Vec<String>,
    /// The latest checkpoint of each live session.
    pub saved: Vec<(String, Arc<LoadedDoc>, Vec<u8>)>,
    pub started: u64,
    next: u64,
}

impl Harness {
    pub fn new(ini: &str, t0: Millis) -> Harness {
        let (config, warnings) = Config::parse(ini).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        let settings = CenterSettings::from_config(&config).unwrap();
        let (agents, problems) = agents_from_config(&config);
        assert!(problems.is_empty(), "{problems:?}");
        let core = Rc::new(RefCell::new(CenterCore::new(settings.clone(), agents, t0)));
        Harness::with_core(core, settings, t0)
    }

    pub fn with_core(
        core: Rc<RefCell<CenterCore>>,
        settings: CenterSettings,
        t0: Millis,
    ) -> Harness {
        let now = Rc::new(Cell::new(t0));
        let host_settings = HostSettings {
            reserve_timeout_ms: settings.reserve_timeout_ms,
            reject_retry_ms: settings.reject_retry_ms,
            ..HostSettings::default()
        };
        let host = HostCore::new(
            Box::new(Direct {
                core: core.clone(),
                now: now.clone(),
            }),
            host_settings,
            None,
        );
        Harness {
            core,
            now,
            host,
            docs: Documents::new(),
            settings,
            logs: Vec::new(),
            replies: Vec::new(),
            finished: Vec::new(),
            effects: Vec::new(),
            saved: Vec::new(),
            started: 0,
            next: 0,
        }
    }

    pub fn now(&self) -> Millis {
        self.now.get()
    }

    pub fn doc(&self, name: &str, text: &str) -> Arc<LoadedDoc> {
        match self.docs.load(name, text) {
            Ok(d) => d,
            Err(e) => panic!("{name} does not load: {e}"),
        }
    }

    /// Starts a chart; returns the token its start reply comes back with.
    pub fn start(&mut self, id: &str, chart: &str, params: &[(&str, Value)]) -> u64 {
        self.start_with(id, chart, params, None)
    }

    pub fn start_with(
        &mut self,
        id: &str,
        chart: &str,
        params: &[(&str, Value)],
        call: Option<CallStart>,
    ) -> u64 {
        self.next += 1;
        let token = self.next;
        let doc = self.doc("test", chart);
        let spec = StartSpec {
            id: id.to_owned(),
            doc,
            params: params
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
            call,
            reply: Some(token),
            writes: Vec::new(),
            notify: Vec::new(),
        };
        let now = self.now();
        self.host.start(spec, now).unwrap();
        self.settle();
        token
    }

    /// Runs `f` on the center now, then delivers what it caused.
    pub fn center<R>(&mut self, f: impl FnOnce(&mut CenterCore, Millis) -> R) -> R {
        let now = self.now();
        let r = f(&mut self.core.borrow_mut(), now);
        self.settle();
        r
    }

    pub fn event(&mut self, id: &str, name: &str, data: Value) {
        let now = self.now();
        self.host
            .event(id, scxml::Event::external(name, data), None, now)
            .unwrap();
        self.settle();
    }

    /// Moves time to `t`, firing the center's and the host's timers in order on the way.
    pub fn run_to(&mut self, t: Millis) {
        loop {
            let next = [
                self.core.borrow().next_deadline(),
                self.host.next_deadline(),
            ]
            .into_iter()
            .flatten()
            .min();
            match next {
                Some(at) if at <= t => self.tick(at.max(self.now())),
                _ => break,
            }
        }
        self.tick(t);
    }

    /// Fires what is due at `t`.
    pub fn tick(&mut self, t: Millis) {
        self.now.set(t);
        self.core.borrow_mut().advance(t);
        self.host.advance(t);
        self.settle();
        // As the server's host loop does after each round.
        self.host.park_idle(t);
    }

    /// Delivers notices (and starts strategies for new calls) until everything is quiet.
    pub fn settle(&mut self) {
        loop {
            let notices = self.core.borrow_mut().take_notices();
            let effects = self.host.take_effects();
            if notices.is_empty() && effects.is_empty() {
                return;
            }
            self.record(effects);
            let now = self.now();
            for (owner, notice) in notices {
                match (owner, notice) {
                    (Owner::Session(id), n) => self.host.notice(&id, n, now),
                    (Owner::RoutePoint, Notice::RouteRequest { ixn, dnis, .. }) => {
                        self.started += 1;
                        let name = self.settings.strategy_for(&dnis).to_owned();
                        let text = engine::templates::builtin_strategy(&name).unwrap();
                        let doc = self.doc(&name, text);
                        let params = vec![
                            (
                                "queue".to_owned(),
                                Value::String(self.settings.inbound_queue.clone()),
                            ),
                            (
                                "target".to_owned(),
                                Value::String(self.settings.inbound_target_text.clone()),
                            ),
                            (
                                "treatment".to_owned(),
                                Value::String(self.settings.inbound_treatment.clone()),
                            ),
                        ];
                        let spec = StartSpec {
                            id: format!("in-{}", ixn.0),
                            doc,
                            params,
                            call: Some(CallStart::Claim { ixn }),
                            reply: None,
                            writes: Vec::new(),
                            notify: Vec::new(),
                        };
                        if let Err(e) = self.host.start(spec, now) {
                            self.effects.push(format!("strategy not started: {e}"));
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    fn record(&mut self, effects: Vec<HostEffect>) {
        for e in effects {
            match e {
                HostEffect::Log {
                    session,
                    label,
                    message,
                } => self.logs.push(format!(
                    "{session} {}: {message}",
                    label.unwrap_or_default()
                )),
                HostEffect::Reply { token, reply } => self.replies.push((token, reply)),
                HostEffect::Write(ops) => self.effects.push(format!("write {} ops", ops.len())),
                HostEffect::Finished {
                    id,
                    final_state,
                    halted,
                    ..
                } => {
                    self.saved.retain(|(s, _, _)| *s != id);
                    self.finished
                        .push((id, final_state.or(halted).unwrap_or_default()));
                }
                HostEffect::Save {
                    id,
                    doc,
                    checkpoint,
                    ..
                } => {
                    self.saved.retain(|(s, _, _)| *s != id);
                    self.saved.push((id, doc, checkpoint));
                }
                HostEffect::Fetch {
                    session,
                    requestid,
                    fetch,
                } => self.effects.push(format!(
                    "fetch {session} {requestid} {} {}",
                    fetch.method, fetch.url
                )),
                HostEffect::Push {
                    session,
                    requestid,
                    push,
                } => self.effects.push(format!(
                    "push {session} {requestid} {:?} {}",
                    push.tag,
                    push.message.to_json()
                )),
                HostEffect::Notify(push) => {
                    self.effects
                        .push(format!("notify {:?} {}", push.tag, push.message.to_json()))
                }
            }
        }
    }

    /// The log lines of one session, `label: message`.
    pub fn logs_of(&self, id: &str) -> Vec<String> {
        self.logs
            .iter()
            .filter_map(|l| l.strip_prefix(&format!("{id} ")).map(str::to_owned))
            .collect()
    }

    pub fn reply(&self, token: u64) -> Option<&Result<Reply, HostError>> {
        self.replies
            .iter()
            .find(|(t, _)| *t == token)
            .map(|(_, r)| r)
    }
}

/// `{"k": v, ...}` from pairs.
pub fn obj(pairs: &[(&str, Value)]) -> Value {
    Value::Object(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
    )
}

pub fn s(v: &str) -> Value {
    Value::String(v.to_owned())
}
