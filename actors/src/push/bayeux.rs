//! The Bayeux 1.0 server core, sans-IO: sessions, the `/meta/*` protocol, subscriptions and
//! delivery queues as plain data. Callers hand it parsed messages and the time; it hands back
//! the replies to write, the connect to hold (if any), and which held connects or websocket
//! streams to wake. It never reads the clock, sleeps, or touches a socket.
//!
//! Section names below are those of the Bayeux 1.0 specification in the CometD reference
//! manual (`#_bayeux_meta_connect` and friends).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use rand::rngs::StdRng;
use rand::RngCore;
use serde_json::{json, Map, Value};

use super::channel::{is_meta, is_service, Pattern, SubscriptionIndex};

/// Milliseconds; the core only ever compares and adds them.
pub type Millis = i64;

/// One serialised JSON object: a reply or an event. Events broadcast to many clients share
/// one allocation.
pub type Frame = Arc<str>;

/// The knobs, with CometD's server defaults where CometD has one
/// (`java_server_configuration.adoc`).
#[derive(Debug, Clone)]
pub struct BayeuxConfig {
    /// How long a `/meta/connect` is held (CometD `timeout`, 30 s).
    pub timeout: Millis,
    /// The pause a client makes between connects (CometD `interval`, 0).
    pub interval: Millis,
    /// A session with no connect held and none received for this long is gone
    /// (CometD `maxInterval`, 10 s).
    pub max_interval: Millis,
    /// Messages waiting for one client (queued plus unacknowledged) beyond which the client is
    /// dropped and told to handshake again. CometD's default is unbounded; ours is not, so a
    /// client that stops reading cannot grow memory without bound.
    pub max_queue: usize,
    /// Messages in one request (a batch) beyond which the request is refused.
    pub max_batch: usize,
    /// Subscriptions one client may hold.
    pub max_subscriptions: usize,
    /// Sessions the server keeps at once; handshakes beyond are refused.
    pub max_sessions: usize,
    /// Whether `websocket` is offered at handshake.
    pub websocket: bool,
    /// Channels only the server publishes to (GMS `/_genesys`, agents' channels): a client's
    /// publish there is denied.
    pub server_only: Vec<Pattern>,
}

impl Default for BayeuxConfig {
    fn default() -> BayeuxConfig {
        BayeuxConfig {
            timeout: 30_000,
            interval: 0,
            max_interval: 10_000,
            max_queue: 1_000,
            max_batch: 100,
            max_subscriptions: 100,
            max_sessions: 100_000,
            websocket: true,
            server_only: vec![
                Pattern::Exact("/_genesys".into()),
                Pattern::Deep("/_genesys".into()),
                Pattern::Deep("/ringback".into()),
            ],
        }
    }
}

/// How a request reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    LongPolling,
    CallbackPolling,
    WebSocket,
}

impl Transport {
    pub fn name(self) -> &'static str {
        match self {
            Transport::LongPolling => "long-polling",
            Transport::CallbackPolling => "callback-polling",
            Transport::WebSocket => "websocket",
        }
    }
}

/// Who sent a request, how, and when.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub transport: Transport,
    /// The GMS `gms_user` of the request (the device the session belongs to).
    pub gms_user: Option<&'a str>,
    pub now: Millis,
}

/// A `/meta/connect` the caller must hold until it is woken or `deadline` passes, then finish
/// with [`Bayeux::finish_connect`] (or [`Bayeux::cancel_connect`] if its client went away).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    pub client: String,
    pub token: u64,
    pub deadline: Millis,
}

/// Something a caller waits on became ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wake {
    /// The held connect with this token has its reply ready: finish it now.
    Connect(u64),
    /// This websocket client has events queued: [`Bayeux::drain`] them onto its socket.
    Stream(String),
}

/// What one request produced.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Replies and events to send now.
    pub replies: Vec<Frame>,
    /// A connect to hold: an HTTP response waits for it; a websocket sends it later.
    pub hold: Option<Hold>,
    pub wake: Vec<Wake>,
    /// Clients this request spoke for (created or named): a websocket binds to them.
    pub clients: Vec<String>,
}

/// A `/service/**` handler: given the sender and the data, the data of the reply to send back
/// on the same channel (`None`: no reply). It runs inside the core, so it must be quick.
pub type ServiceHandler = Box<dyn Fn(&ServiceCall<'_>) -> Option<Value> + Send + Sync>;

/// One request on a `/service/**` channel.
#[derive(Debug)]
pub struct ServiceCall<'a> {
    pub client: &'a str,
    pub gms_user: Option<&'a str>,
    pub channel: &'a str,
    pub data: &'a Value,
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gone {
    Disconnected,
    Expired,
    QueueFull,
}

#[derive(Debug)]
struct HeldConnect {
    token: u64,
    id: Option<Value>,
    deadline: Millis,
}

/// A connect reply built but not yet taken by the one holding it.
#[derive(Debug)]
struct Completed {
    token: u64,
    events: Vec<Frame>,
    reply: Frame,
    /// When it was built: one nobody takes within `max_interval` has lost its holder.
    at: Millis,
}

#[derive(Debug, Default)]
struct Ack {
    /// The last batch number sent.
    batch: u64,
    /// Batches sent on connect replies and not yet acknowledged, by batch number.
    unacked: BTreeMap<u64, Vec<Frame>>,
}

impl Ack {
    fn len(&self) -> usize {
        self.unacked.values().map(Vec::len).sum()
    }
}

#[derive(Debug)]
struct Session {
    gms_user: Option<String>,
    /// When the client was last heard from, or its last connect answered.
    last_seen: Millis,
    connects: u64,
    held: Option<HeldConnect>,
    completed: Vec<Completed>,
    queue: VecDeque<Frame>,
    subscriptions: HashSet<Pattern>,
    /// Bound to an open websocket: events go out at once, not on the connect.
    streaming: bool,
    /// The acknowledgement extension is on (`extensions_acknowledge.adoc`).
    ack: Option<Ack>,
}

impl Session {
    fn pending(&self) -> usize {
        self.queue.len() + self.ack.as_ref().map_or(0, Ack::len)
    }

    /// Whether events wait for a connect reply rather than riding on any response.
    fn connect_only(&self) -> bool {
        self.ack.is_some()
    }
}

/// Counts for monitoring and the benchmark.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub sessions: usize,
    pub held: usize,
    pub queued: usize,
}

/// The server's state: every session, every subscription.
pub struct Bayeux {
    cfg: BayeuxConfig,
    rng: StdRng,
    sessions: HashMap<String, Session>,
    index: SubscriptionIndex,
    by_user: HashMap<String, HashSet<String>>,
    services: HashMap<String, ServiceHandler>,
    /// Replies of held connects whose session ended before they were taken, by token.
    /// (With when they were made: ones nobody takes are dropped by the sweep.)
    orphans: HashMap<u64, (Frame, Millis)>,
    /// Sessions dropped because their queue overflowed, remembered a while so their next
    /// message is told why (by client id: until when).
    overflowed: HashMap<String, Millis>,
    next_token: u64,
}

impl std::fmt::Debug for Bayeux {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bayeux")
            .field("sessions", &self.sessions.len())
            .finish_non_exhaustive()
    }
}

fn frame(v: Map<String, Value>) -> Frame {
    Arc::from(Value::Object(v).to_string())
}

fn hex_id(rng: &mut StdRng) -> String {
    // Bayeux §clientId: unique, at least 128 random bits; CometD issues 40 hex characters.
    let mut bytes = [0u8; 20];
    rng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The start of every reply: the channel, the request's `id` (Bayeux §id: echoed on every
/// reply; the CometD client matches connect replies by it) and `successful`.
fn reply_to(channel: &str, id: Option<&Value>, ok: bool) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("channel".into(), Value::String(channel.to_string()));
    if let Some(id) = id {
        m.insert("id".into(), id.clone());
    }
    m.insert("successful".into(), Value::Bool(ok));
    m
}

fn failure(channel: &str, id: Option<&Value>, error: String) -> Map<String, Value> {
    let mut m = reply_to(channel, id, false);
    m.insert("error".into(), Value::String(error));
    m
}

/// Bayeux §advice: `reconnect: handshake` means the server has forgotten the client.
fn handshake_advice() -> Value {
    json!({"reconnect": "handshake", "interval": 0})
}

impl Bayeux {
    pub fn new(cfg: BayeuxConfig, rng: StdRng) -> Bayeux {
        Bayeux {
            cfg,
            rng,
            sessions: HashMap::new(),
            index: SubscriptionIndex::default(),
            by_user: HashMap::new(),
            services: HashMap::new(),
            orphans: HashMap::new(),
            overflowed: HashMap::new(),
            next_token: 1,
        }
    }

    pub fn config(&self) -> &BayeuxConfig {
        &self.cfg
    }

    /// Answers requests on `channel` (a `/service/**` channel) with `handler`.
    pub fn register_service(&mut self, channel: &str, handler: ServiceHandler) {
        self.services.insert(channel.to_string(), handler);
    }

    pub fn stats(&self) -> Stats {
        Stats {
            sessions: self.sessions.len(),
            held: self.sessions.values().filter(|s| s.held.is_some()).count(),
            queued: self.sessions.values().map(Session::pending).sum(),
        }
    }

    pub fn has_session(&self, client: &str) -> bool {
        self.sessions.contains_key(client)
    }

    /// The transports offered at handshake, in the order CometD lists them.
    fn connection_types(&self) -> Vec<&'static str> {
        let mut types = Vec::with_capacity(3);
        if self.cfg.websocket {
            types.push("websocket");
        }
        types.extend(["long-polling", "callback-polling"]);
        types
    }

    fn connect_advice(&self) -> Value {
        json!({"reconnect": "retry", "interval": self.cfg.interval, "timeout": self.cfg.timeout})
    }

    /// Handles one request: a batch of messages (Bayeux §"Protocol elements": every message of
    /// the array is processed and answered).
    pub fn handle(&mut self, messages: Vec<Value>, cx: Context<'_>) -> Outcome {
        let mut out = Outcome::default();
        if messages.len() > self.cfg.max_batch {
            let limit = self.cfg.max_batch;
            for m in messages.iter().take(limit) {
                let (channel, id) = head(m);
                out.replies.push(frame(failure(
                    channel.unwrap_or("/meta/unknown"),
                    id,
                    format!("413::batch_too_large: at most {limit} messages in one request"),
                )));
            }
            return out;
        }
        // Bayeux §handshake: "A server MUST ignore any other message sent in the same request
        // as a handshake message."
        if let Some(hs) = messages
            .iter()
            .find(|m| m.get("channel").and_then(Value::as_str) == Some("/meta/handshake"))
        {
            let reply = self.handshake(hs, cx, &mut out);
            out.replies.push(frame(reply));
            return out;
        }
        for m in &messages {
            let reply = self.dispatch(m, cx, &mut out);
            if let Some(reply) = reply {
                out.replies.push(frame(reply));
            }
        }
        // Bayeux §publish "Delivery": events may ride on any response to their client but a
        // handshake's. CometD places them before the replies.
        let mut events = Vec::new();
        for client in &out.clients {
            if let Some(s) = self.sessions.get_mut(client) {
                if !s.connect_only() {
                    events.extend(s.queue.drain(..));
                }
            }
        }
        if !events.is_empty() {
            events.append(&mut out.replies);
            out.replies = events;
        }
        out
    }

    fn handshake(&mut self, m: &Value, cx: Context<'_>, out: &mut Outcome) -> Map<String, Value> {
        let id = m.get("id");
        let ch = "/meta/handshake";
        let Some(offered) = m.get("supportedConnectionTypes").and_then(Value::as_array) else {
            let mut r = failure(ch, id, "400::supportedConnectionTypes_missing".into());
            r.insert("advice".into(), json!({"reconnect": "none"}));
            return r;
        };
        let ours = self.connection_types();
        // Bayeux §handshake: the reply's types MUST intersect the client's, or it fails.
        if !offered
            .iter()
            .filter_map(Value::as_str)
            .any(|t| ours.contains(&t))
        {
            let mut r = failure(ch, id, "301::connection_types_unsupported".into());
            r.insert("supportedConnectionTypes".into(), json!(ours));
            r.insert("advice".into(), json!({"reconnect": "none"}));
            return r;
        }
        if self.sessions.len() >= self.cfg.max_sessions {
            let mut r = failure(ch, id, "503::too_many_sessions".into());
            r.insert(
                "advice".into(),
                json!({"reconnect": "handshake", "interval": 5_000}),
            );
            return r;
        }
        let client = loop {
            let c = hex_id(&mut self.rng);
            if !self.sessions.contains_key(&c) {
                break c;
            }
        };
        let wants_ack = m
            .get("ext")
            .and_then(|e| e.get("ack"))
            .is_some_and(|a| a == &Value::Bool(true) || a.get("enabled") == Some(&json!(true)));
        let session = Session {
            gms_user: cx.gms_user.map(String::from),
            last_seen: cx.now,
            connects: 0,
            held: None,
            completed: Vec::new(),
            queue: VecDeque::new(),
            subscriptions: HashSet::new(),
            streaming: cx.transport == Transport::WebSocket,
            ack: wants_ack.then(Ack::default),
        };
        if let Some(user) = cx.gms_user {
            self.by_user
                .entry(user.to_string())
                .or_default()
                .insert(client.clone());
        }
        self.sessions.insert(client.clone(), session);
        tracing::debug!(client = %client, transport = cx.transport.name(), "bayeux handshake");
        let mut r = reply_to(ch, id, true);
        r.insert("version".into(), json!("1.0"));
        r.insert("minimumVersion".into(), json!("1.0"));
        r.insert("supportedConnectionTypes".into(), json!(ours));
        r.insert("clientId".into(), json!(client));
        r.insert("advice".into(), self.connect_advice());
        if wants_ack {
            // extensions_acknowledge.adoc: the server says it supports acks.
            r.insert("ext".into(), json!({"ack": true}));
        }
        out.clients.push(client);
        r
    }

    /// The reply for a client id we do not know (Bayeux §"Error" examples; CometD's wording).
    fn unknown(
        &mut self,
        channel: &str,
        id: Option<&Value>,
        client: Option<&str>,
        now: Millis,
    ) -> Map<String, Value> {
        let why = match client.and_then(|c| self.overflowed.get(c)) {
            Some(until) if *until > now => "402::message_queue_full",
            _ => "402::session_unknown",
        };
        let mut r = failure(channel, id, why.into());
        r.insert("advice".into(), handshake_advice());
        r
    }

    fn dispatch(
        &mut self,
        m: &Value,
        cx: Context<'_>,
        out: &mut Outcome,
    ) -> Option<Map<String, Value>> {
        let Value::Object(_) = m else {
            return Some(failure(
                "/meta/unknown",
                None,
                "400::message_invalid: a message is a JSON object".into(),
            ));
        };
        let (channel, id) = head(m);
        let Some(channel) = channel else {
            return Some(failure("/meta/unknown", id, "400::channel_missing".into()));
        };
        if let Err(e) = Pattern::concrete(channel) {
            return Some(failure(
                channel,
                id,
                format!("405:{channel}:channel_invalid: {e}"),
            ));
        }
        let client = m.get("clientId").and_then(Value::as_str);
        let known = client.filter(|c| self.sessions.contains_key(*c));
        let Some(client) = known else {
            return Some(self.unknown(channel, id, client, cx.now));
        };
        let client = client.to_string();
        if let Some(s) = self.sessions.get_mut(&client) {
            s.last_seen = cx.now;
            if cx.transport == Transport::WebSocket {
                s.streaming = true;
            }
            if let (Some(mine), Some(theirs)) = (s.gms_user.as_deref(), cx.gms_user) {
                if mine != theirs {
                    return Some(failure(channel, id, "403::gms_user_mismatch".into()));
                }
            }
        }
        if !out.clients.contains(&client) {
            out.clients.push(client.clone());
        }
        let mut r = match channel {
            "/meta/connect" => return self.connect(&client, m, cx, out),
            "/meta/disconnect" => {
                self.remove(&client, Gone::Disconnected, cx.now, &mut out.wake);
                out.clients.retain(|c| *c != client);
                reply_to(channel, id, true)
            }
            "/meta/subscribe" => self.subscribe(&client, m, true),
            "/meta/unsubscribe" => self.subscribe(&client, m, false),
            c if is_meta(c) => failure(
                c,
                id,
                format!("403:{c}:publish_denied: /meta channels are the protocol's own"),
            ),
            c => self.client_publish(&client, c, m, cx, &mut out.wake),
        };
        r.insert("clientId".into(), json!(client));
        Some(r)
    }

    fn connect(
        &mut self,
        client: &str,
        m: &Value,
        cx: Context<'_>,
        out: &mut Outcome,
    ) -> Option<Map<String, Value>> {
        let id = m.get("id").cloned();
        let advice = self.connect_advice();
        let token = self.next_token;
        let timeout = self.cfg.timeout;
        let Some(s) = self.sessions.get_mut(client) else {
            return Some(failure(
                "/meta/connect",
                id.as_ref(),
                "402::session_unknown".into(),
            ));
        };
        // Ack extension: the client names the last batch it received; later batches were lost
        // with their response and go out again, ahead of newer messages.
        if let Some(ack) = s.ack.as_mut() {
            if let Some(n) = m
                .get("ext")
                .and_then(|e| e.get("ack"))
                .and_then(Value::as_u64)
            {
                let resend = ack.unacked.split_off(&(n + 1));
                ack.unacked.clear();
                for (_, batch) in resend.into_iter().rev() {
                    for f in batch.into_iter().rev() {
                        s.queue.push_front(f);
                    }
                }
            }
        }
        s.connects += 1;
        // Bayeux §connect: one outstanding connect per client; a new one releases the old.
        if let Some(old) = s.held.take() {
            let reply = connect_reply(old.id.as_ref(), &advice, s.ack.as_ref().map(|a| a.batch));
            s.completed.push(Completed {
                token: old.token,
                events: Vec::new(),
                reply,
                at: cx.now,
            });
            out.wake.push(Wake::Connect(old.token));
        }
        // The first connect is answered at once, as is one whose client asks for timeout 0
        // (Bayeux §advice: servers SHOULD honour it), and one with messages to take.
        let client_timeout = m
            .get("advice")
            .and_then(|a| a.get("timeout"))
            .and_then(Value::as_i64);
        let immediate = s.connects == 1 || client_timeout == Some(0) || !s.queue.is_empty();
        if immediate {
            let (events, reply) = complete(s, id.as_ref(), &advice);
            out.replies.extend(events);
            out.replies.push(reply);
            return None;
        }
        self.next_token += 1;
        s.held = Some(HeldConnect {
            token,
            id,
            deadline: cx.now + timeout,
        });
        out.hold = Some(Hold {
            client: client.to_string(),
            token,
            deadline: cx.now + timeout,
        });
        None
    }

    fn subscribe(&mut self, client: &str, m: &Value, add: bool) -> Map<String, Value> {
        let channel = if add {
            "/meta/subscribe"
        } else {
            "/meta/unsubscribe"
        };
        let id = m.get("id");
        let Some(sub) = m.get("subscription") else {
            return failure(channel, id, "403::subscription_missing".into());
        };
        let names: Vec<&Value> = match sub {
            Value::Array(items) => items.iter().collect(),
            one => vec![one],
        };
        let mut patterns = Vec::with_capacity(names.len());
        let gms_user = self.sessions.get(client).and_then(|s| s.gms_user.clone());
        for n in names {
            let Some(name) = n.as_str() else {
                return with_sub(
                    failure(channel, id, "403::subscription_invalid".into()),
                    sub,
                );
            };
            match Pattern::parse(name) {
                Err(e) => {
                    return with_sub(
                        failure(channel, id, format!("403:{name}:subscription_invalid: {e}")),
                        sub,
                    )
                }
                Ok(_) if add && is_meta(name) => {
                    return with_sub(
                        failure(channel, id, format!("403:{name}:subscribe_denied")),
                        sub,
                    )
                }
                // Bayeux §service channels: not recorded as subscriptions.
                Ok(_) if is_service(name) => {}
                Ok(p) if add && !agent_channel_allowed(&p, gms_user.as_deref()) => {
                    return with_sub(
                        failure(
                            channel,
                            id,
                            format!("403:{name}:subscribe_denied: an agent's channel is for that agent's gms_user"),
                        ),
                        sub,
                    )
                }
                Ok(p) => patterns.push(p),
            }
        }
        let Some(s) = self.sessions.get_mut(client) else {
            return failure(channel, id, "402::session_unknown".into());
        };
        if add {
            let new = patterns
                .iter()
                .filter(|p| !s.subscriptions.contains(p))
                .count();
            if s.subscriptions.len() + new > self.cfg.max_subscriptions {
                let limit = self.cfg.max_subscriptions;
                return with_sub(
                    failure(
                        channel,
                        id,
                        format!("403::subscribe_denied: at most {limit} subscriptions"),
                    ),
                    sub,
                );
            }
            for p in patterns {
                self.index.insert(&p, client);
                s.subscriptions.insert(p);
            }
        } else {
            for p in patterns {
                if s.subscriptions.remove(&p) {
                    self.index.remove(&p, client);
                }
            }
        }
        with_sub(reply_to(channel, id, true), sub)
    }

    fn client_publish(
        &mut self,
        client: &str,
        channel: &str,
        m: &Value,
        cx: Context<'_>,
        wake: &mut Vec<Wake>,
    ) -> Map<String, Value> {
        let id = m.get("id");
        let Some(data) = m.get("data") else {
            return failure(channel, id, "400::data_missing".into());
        };
        if is_service(channel) {
            let Some(handler) = self.services.get(channel) else {
                return failure(channel, id, format!("404:{channel}:service_unknown"));
            };
            let gms_user = self.sessions.get(client).and_then(|s| s.gms_user.clone());
            let answer = handler(&ServiceCall {
                client,
                gms_user: gms_user.as_deref(),
                channel,
                data,
            });
            if let Some(answer) = answer {
                self.deliver_to_client(client, channel, answer, cx.now, wake);
            }
            return reply_to(channel, id, true);
        }
        if self.cfg.server_only.iter().any(|p| p.matches(channel)) {
            return failure(channel, id, format!("403:{channel}:publish_denied"));
        }
        self.publish(channel, data.clone(), cx.now, wake);
        reply_to(channel, id, true)
    }

    /// Broadcasts `data` on `channel` to every subscriber; returns how many got it.
    /// (Bayeux §publish: the publisher's clientId is not copied into the event.)
    /// Whether a publish on `channel` would reach anyone.
    pub fn has_subscribers(&self, channel: &str) -> bool {
        self.index.has_subscribers(channel)
    }

    pub fn publish(
        &mut self,
        channel: &str,
        data: Value,
        now: Millis,
        wake: &mut Vec<Wake>,
    ) -> usize {
        let event = frame(event_map(channel, data));
        let clients: Vec<String> = self
            .index
            .subscribers(channel)
            .into_iter()
            .map(String::from)
            .collect();
        for c in &clients {
            self.enqueue(c, event.clone(), now, wake);
        }
        clients.len()
    }

    /// Sends `data` on `channel` to the sessions of `gms_user` subscribed to it; returns how
    /// many got it.
    pub fn deliver_to_user(
        &mut self,
        gms_user: &str,
        channel: &str,
        data: Value,
        now: Millis,
        wake: &mut Vec<Wake>,
    ) -> usize {
        let Some(clients) = self.by_user.get(gms_user) else {
            return 0;
        };
        let targets: Vec<String> = clients
            .iter()
            .filter(|c| {
                self.sessions
                    .get(*c)
                    .is_some_and(|s| s.subscriptions.iter().any(|p| p.matches(channel)))
            })
            .cloned()
            .collect();
        if targets.is_empty() {
            return 0;
        }
        let event = frame(event_map(channel, data));
        for c in &targets {
            self.enqueue(c, event.clone(), now, wake);
        }
        targets.len()
    }

    /// Sends `data` on `channel` to one client, subscribed or not (service replies).
    pub fn deliver_to_client(
        &mut self,
        client: &str,
        channel: &str,
        data: Value,
        now: Millis,
        wake: &mut Vec<Wake>,
    ) -> bool {
        if !self.sessions.contains_key(client) {
            return false;
        }
        self.enqueue(client, frame(event_map(channel, data)), now, wake);
        true
    }

    fn enqueue(&mut self, client: &str, event: Frame, now: Millis, wake: &mut Vec<Wake>) {
        let advice = self.connect_advice();
        let Some(s) = self.sessions.get_mut(client) else {
            return;
        };
        if s.pending() >= self.cfg.max_queue {
            tracing::warn!(client = %client, limit = self.cfg.max_queue, "bayeux client queue full: dropping the session");
            self.overflowed
                .insert(client.to_string(), now + 3 * self.cfg.max_interval);
            self.remove(client, Gone::QueueFull, now, wake);
            return;
        }
        s.queue.push_back(event);
        if s.streaming && !s.connect_only() {
            if s.queue.len() == 1 {
                wake.push(Wake::Stream(client.to_string()));
            }
            return;
        }
        // Long-polling: the held connect carries the event at once.
        if let Some(held) = s.held.take() {
            let (events, reply) = complete(s, held.id.as_ref(), &advice);
            s.completed.push(Completed {
                token: held.token,
                events,
                reply,
                at: now,
            });
            wake.push(Wake::Connect(held.token));
        }
    }

    /// Events queued for a websocket client, to write now (`None`: the session is gone).
    pub fn drain(&mut self, client: &str) -> Option<Vec<Frame>> {
        let s = self.sessions.get_mut(client)?;
        if s.connect_only() {
            return Some(Vec::new());
        }
        Some(s.queue.drain(..).collect())
    }

    /// A websocket carrying this client closed: its events wait for a connect again.
    pub fn detach_stream(&mut self, client: &str) {
        if let Some(s) = self.sessions.get_mut(client) {
            s.streaming = false;
        }
    }

    /// The reply of a held connect, once woken or at its deadline: the connect reply with any
    /// events. Always answers: a connect whose session is gone gets `402::session_unknown`.
    pub fn finish_connect(&mut self, client: &str, token: u64, now: Millis) -> Vec<Frame> {
        if let Some((reply, _)) = self.orphans.remove(&token) {
            return vec![reply];
        }
        let advice = self.connect_advice();
        if let Some(s) = self.sessions.get_mut(client) {
            s.last_seen = now;
            if let Some(i) = s.completed.iter().position(|c| c.token == token) {
                let c = s.completed.swap_remove(i);
                let mut frames = c.events;
                frames.push(c.reply);
                return frames;
            }
            if s.held.as_ref().is_some_and(|h| h.token == token) {
                let held = s.held.take();
                let (mut events, reply) = complete(s, held.and_then(|h| h.id).as_ref(), &advice);
                events.push(reply);
                return events;
            }
        }
        vec![frame(self.unknown(
            "/meta/connect",
            None,
            Some(client),
            now,
        ))]
    }

    /// The reply of connect `token` if it is ready and belongs to one of `clients` (a connect
    /// released by a later one in the same request, which nobody waits for yet).
    pub fn take_ready(&mut self, token: u64, clients: &[String]) -> Option<Vec<Frame>> {
        if let Some((reply, _)) = self.orphans.remove(&token) {
            return Some(vec![reply]);
        }
        for c in clients {
            if let Some(s) = self.sessions.get_mut(c) {
                if let Some(i) = s.completed.iter().position(|c| c.token == token) {
                    let c = s.completed.swap_remove(i);
                    let mut frames = c.events;
                    frames.push(c.reply);
                    return Some(frames);
                }
            }
        }
        None
    }

    /// The one holding connect `token` went away before answering it (the HTTP client hung
    /// up): events drained for it go back to the front of the queue.
    pub fn cancel_connect(&mut self, client: &str, token: u64, now: Millis) {
        self.orphans.remove(&token);
        let Some(s) = self.sessions.get_mut(client) else {
            return;
        };
        s.last_seen = now;
        if s.held.as_ref().is_some_and(|h| h.token == token) {
            s.held = None;
        }
        if let Some(i) = s.completed.iter().position(|c| c.token == token) {
            let c = s.completed.swap_remove(i);
            // With acks the batch is kept until acknowledged and is resent from there.
            if !s.connect_only() {
                for f in c.events.into_iter().rev() {
                    s.queue.push_front(f);
                }
            }
        }
    }

    /// Ends sessions not heard from within `max_interval` (Bayeux §connect: "act as if a
    /// disconnect message has been received"). Returns the ended sessions' waiters to wake.
    pub fn sweep(&mut self, now: Millis) -> (Vec<String>, Vec<Wake>) {
        let max = self.cfg.max_interval;
        let mut wake = Vec::new();
        for s in self.sessions.values_mut() {
            // Answers nobody took: their holder is gone. Their events go back to the queue.
            while let Some(i) = s.completed.iter().position(|c| now - c.at > max) {
                let c = s.completed.swap_remove(i);
                if !s.connect_only() {
                    for f in c.events.into_iter().rev() {
                        s.queue.push_front(f);
                    }
                }
            }
        }
        let expired: Vec<String> = self
            .sessions
            .iter()
            .filter(|(_, s)| match &s.held {
                None => s.completed.is_empty() && now - s.last_seen > max,
                // A held connect nobody answered long after its deadline: its holder is gone.
                Some(h) => now - h.deadline > max,
            })
            .map(|(c, _)| c.clone())
            .collect();
        for c in &expired {
            tracing::debug!(client = %c, "bayeux session expired");
            self.remove(c, Gone::Expired, now, &mut wake);
        }
        self.overflowed.retain(|_, until| *until > now);
        self.orphans.retain(|_, (_, at)| now - *at <= max);
        (expired, wake)
    }

    /// Ends every session of `gms_user` (an administrator kicking a device); each is told to
    /// handshake again. Returns how many ended.
    pub fn forget_user(
        &mut self,
        gms_user: &str,
        now: Millis,
        wake: &mut Vec<Wake>,
    ) -> Vec<String> {
        let clients: Vec<String> = self
            .by_user
            .get(gms_user)
            .map(|set| set.iter().cloned().collect())
            .unwrap_or_default();
        for c in &clients {
            self.remove(c, Gone::Expired, now, wake);
        }
        clients
    }

    /// Forgets a session: its subscriptions, and any connect held for it is answered.
    pub fn remove(&mut self, client: &str, why: Gone, now: Millis, wake: &mut Vec<Wake>) {
        let Some(s) = self.sessions.remove(client) else {
            return;
        };
        for p in &s.subscriptions {
            self.index.remove(p, client);
        }
        if let Some(user) = &s.gms_user {
            if let Some(set) = self.by_user.get_mut(user) {
                set.remove(client);
                if set.is_empty() {
                    self.by_user.remove(user);
                }
            }
        }
        for c in s.completed {
            self.orphans.insert(c.token, (c.reply, now));
            wake.push(Wake::Connect(c.token));
        }
        if let Some(h) = s.held {
            let reply = match why {
                // Bayeux §disconnect: release the waiting connect; the client is done.
                Gone::Disconnected => {
                    let mut r = reply_to("/meta/connect", h.id.as_ref(), true);
                    r.insert("advice".into(), json!({"reconnect": "none"}));
                    r
                }
                Gone::Expired | Gone::QueueFull => {
                    let error = if why == Gone::QueueFull {
                        "402::message_queue_full"
                    } else {
                        "402::session_unknown"
                    };
                    let mut r = failure("/meta/connect", h.id.as_ref(), error.into());
                    r.insert("advice".into(), handshake_advice());
                    r
                }
            };
            self.orphans.insert(h.token, (frame(reply), now));
            wake.push(Wake::Connect(h.token));
        }
        if s.streaming && why != Gone::Disconnected {
            wake.push(Wake::Stream(client.to_string()));
        }
    }
}

/// Agents' channels (`/ringback/agent/{id}/...`) carry offers and state for one agent: only a
/// session whose `gms_user` is that agent id may subscribe, and no wildcard may span agents.
fn agent_channel_allowed(p: &Pattern, gms_user: Option<&str>) -> bool {
    const AGENTS: &str = "/ringback/agent/";
    let (base, spans_agents) = match p {
        Pattern::Exact(c) => (c.as_str(), false),
        // `/ringback/agent/*` names every agent.
        Pattern::OneLevel(parent) => (parent.as_str(), format!("{parent}/") == AGENTS),
        // So do `/**`, `/ringback/**` and `/ringback/agent/**`.
        Pattern::Deep(parent) => (parent.as_str(), AGENTS.starts_with(&format!("{parent}/"))),
    };
    if spans_agents {
        return false;
    }
    match base.strip_prefix(AGENTS) {
        None => true,
        Some(rest) => gms_user == rest.split('/').next(),
    }
}

fn head(m: &Value) -> (Option<&str>, Option<&Value>) {
    (
        m.get("channel").and_then(Value::as_str),
        m.get("id").filter(|v| v.is_string() || v.is_number()),
    )
}

fn with_sub(mut r: Map<String, Value>, sub: &Value) -> Map<String, Value> {
    r.insert("subscription".into(), sub.clone());
    r
}

fn event_map(channel: &str, data: Value) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("channel".into(), Value::String(channel.to_string()));
    m.insert("data".into(), data);
    m
}

fn connect_reply(id: Option<&Value>, advice: &Value, ack: Option<u64>) -> Frame {
    let mut r = reply_to("/meta/connect", id, true);
    r.insert("advice".into(), advice.clone());
    if let Some(batch) = ack {
        r.insert("ext".into(), json!({"ack": batch}));
    }
    frame(r)
}

/// Builds a connect reply carrying everything queued for the session.
fn complete(s: &mut Session, id: Option<&Value>, advice: &Value) -> (Vec<Frame>, Frame) {
    let events: Vec<Frame> = s.queue.drain(..).collect();
    let ack = match s.ack.as_mut() {
        Some(ack) => {
            // extensions_acknowledge.adoc: every reply carrying messages gets a new batch number.
            if !events.is_empty() {
                ack.batch += 1;
                ack.unacked.insert(ack.batch, events.clone());
            }
            Some(ack.batch)
        }
        None => None,
    };
    (events, connect_reply(id, advice, ack))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests on data they built themselves
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// A core on a seeded random source and a clock the test moves.
    struct T {
        core: Bayeux,
        now: Millis,
        user: Option<&'static str>,
    }

    /// What one request produced, parsed back.
    struct Got {
        msgs: Vec<Value>,
        hold: Option<Hold>,
        wake: Vec<Wake>,
    }

    fn parse(frames: Vec<Frame>) -> Vec<Value> {
        frames
            .iter()
            .map(|f| serde_json::from_str(f).expect("frames are JSON"))
            .collect()
    }

    impl Got {
        fn reply(&self, channel: &str) -> &Value {
            self.msgs
                .iter()
                .find(|m| m["channel"] == channel && m.get("successful").is_some())
                .unwrap_or_else(|| panic!("no reply on {channel} in {:?}", self.msgs))
        }
        fn events(&self) -> Vec<&Value> {
            self.msgs
                .iter()
                .filter(|m| m.get("data").is_some())
                .collect()
        }
    }

    impl T {
        fn new() -> T {
            T::with(BayeuxConfig::default())
        }
        fn with(cfg: BayeuxConfig) -> T {
            T {
                core: Bayeux::new(cfg, StdRng::seed_from_u64(7)),
                now: 1_000_000,
                user: Some("alice"),
            }
        }
        fn send_via(&mut self, t: Transport, msgs: Value) -> Got {
            let msgs = match msgs {
                Value::Array(a) => a,
                one => vec![one],
            };
            let out = self.core.handle(
                msgs,
                Context {
                    transport: t,
                    gms_user: self.user,
                    now: self.now,
                },
            );
            Got {
                msgs: parse(out.replies),
                hold: out.hold,
                wake: out.wake,
            }
        }
        fn send(&mut self, msgs: Value) -> Got {
            self.send_via(Transport::LongPolling, msgs)
        }
        fn handshake_with(&mut self, ext: Value) -> String {
            let got = self.send(json!({"channel": "/meta/handshake", "version": "1.0",
                "supportedConnectionTypes": ["long-polling"], "id": "1", "ext": ext}));
            let r = got.reply("/meta/handshake");
            assert_eq!(r["successful"], true, "{r}");
            r["clientId"].as_str().expect("a clientId").to_string()
        }
        /// Handshakes and makes the first connect (answered at once).
        fn client(&mut self) -> String {
            let c = self.handshake_with(json!({}));
            let got = self.connect(&c, "2");
            assert!(got.hold.is_none(), "the first connect is answered at once");
            c
        }
        fn connect(&mut self, c: &str, id: &str) -> Got {
            self.send(json!({"channel": "/meta/connect", "clientId": c, "connectionType": "long-polling", "id": id}))
        }
        fn subscribe(&mut self, c: &str, sub: Value) -> Got {
            self.send(json!({"channel": "/meta/subscribe", "clientId": c, "subscription": sub, "id": "s"}))
        }
        fn finish(&mut self, h: &Hold) -> Vec<Value> {
            parse(self.core.finish_connect(&h.client, h.token, self.now))
        }
    }

    #[test]
    fn handshake_issues_a_40_hex_client_id_with_advice() {
        let mut t = T::new();
        let got = t.send(
            json!([{"channel": "/meta/handshake", "version": "1.0", "id": "1",
            "supportedConnectionTypes": ["websocket", "long-polling"]}]),
        );
        let r = got.reply("/meta/handshake");
        let id = r["clientId"].as_str().unwrap();
        assert_eq!(id.len(), 40);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(r["id"], "1");
        assert_eq!(r["version"], "1.0");
        assert_eq!(r["advice"]["reconnect"], "retry");
        assert_eq!(r["advice"]["timeout"], 30_000);
        assert_eq!(
            r["supportedConnectionTypes"],
            json!(["websocket", "long-polling", "callback-polling"])
        );
    }

    #[test]
    fn handshake_fails_without_a_common_transport() {
        let mut t = T::new();
        let got = t.send(
            json!({"channel": "/meta/handshake", "version": "1.0", "id": "1",
            "supportedConnectionTypes": ["in-process"]}),
        );
        let r = got.reply("/meta/handshake");
        assert_eq!(r["successful"], false);
        assert_eq!(r["error"], "301::connection_types_unsupported");
        assert_eq!(r["advice"]["reconnect"], "none");
    }

    #[test]
    fn other_messages_beside_a_handshake_are_ignored() {
        let mut t = T::new();
        let got = t.send(json!([
            {"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"], "id": "1"},
            {"channel": "/meta/subscribe", "subscription": "/a", "id": "2"}
        ]));
        assert_eq!(got.msgs.len(), 1);
    }

    #[test]
    fn first_connect_is_answered_at_once_later_ones_are_held_until_the_timeout() {
        let mut t = T::new();
        let c = t.client();
        let got = t.connect(&c, "3");
        let hold = got.hold.expect("the second connect is held");
        assert!(got.msgs.is_empty());
        assert_eq!(hold.deadline, t.now + 30_000);
        t.now = hold.deadline;
        let msgs = t.finish(&hold);
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0]["channel"], "/meta/connect");
        assert_eq!(
            msgs[0]["id"], "3",
            "the connect reply carries the request's id"
        );
        assert_eq!(msgs[0]["successful"], true);
    }

    #[test]
    fn a_connect_asking_timeout_zero_is_answered_at_once() {
        let mut t = T::new();
        let c = t.client();
        let got = t.send(
            json!({"channel": "/meta/connect", "clientId": c, "connectionType": "long-polling",
            "id": "3", "advice": {"timeout": 0}}),
        );
        assert!(got.hold.is_none());
        assert_eq!(got.reply("/meta/connect")["id"], "3");
    }

    #[test]
    fn a_publish_wakes_the_held_connect_with_the_event() {
        let mut t = T::new();
        let c = t.client();
        assert_eq!(
            t.subscribe(&c, json!("/callbacks/status"))
                .reply("/meta/subscribe")["successful"],
            true
        );
        let hold = t.connect(&c, "4").hold.expect("held");
        let mut wake = Vec::new();
        assert_eq!(
            t.core.publish(
                "/callbacks/status",
                json!({"state": "QUEUED"}),
                t.now,
                &mut wake
            ),
            1
        );
        assert_eq!(wake, [Wake::Connect(hold.token)]);
        let msgs = t.finish(&hold);
        assert_eq!(
            msgs[0],
            json!({"channel": "/callbacks/status", "data": {"state": "QUEUED"}})
        );
        assert_eq!(msgs[1]["channel"], "/meta/connect");
    }

    #[test]
    fn a_new_connect_releases_the_held_one() {
        let mut t = T::new();
        let c = t.client();
        let first = t.connect(&c, "3").hold.expect("held");
        let got = t.connect(&c, "4");
        assert_eq!(got.wake, [Wake::Connect(first.token)]);
        let second = got.hold.expect("the new connect is held");
        assert_ne!(second.token, first.token);
        let msgs = t.finish(&first);
        assert_eq!(msgs[0]["id"], "3");
        assert_eq!(msgs[0]["successful"], true);
    }

    #[test]
    fn events_ride_on_any_response_and_come_first() {
        let mut t = T::new();
        let c = t.client();
        let got = t.send(json!([
            {"channel": "/meta/subscribe", "clientId": c, "subscription": "/a/b", "id": "5"},
            {"channel": "/a/b", "clientId": c, "data": {"n": 1}, "id": "6"}
        ]));
        assert_eq!(got.msgs.len(), 3);
        assert_eq!(got.msgs[0], json!({"channel": "/a/b", "data": {"n": 1}}));
        assert_eq!(got.msgs[1]["id"], "5");
        assert_eq!(got.msgs[2]["id"], "6");
        assert!(
            got.msgs[0].get("clientId").is_none(),
            "the publisher's id is never copied into the event"
        );
    }

    #[test]
    fn wildcards_and_arrays_of_subscriptions() {
        let mut t = T::new();
        let c = t.client();
        let r = t.subscribe(&c, json!(["/x/*", "/y/**"]));
        assert_eq!(
            r.reply("/meta/subscribe")["subscription"],
            json!(["/x/*", "/y/**"])
        );
        let mut w = Vec::new();
        assert_eq!(t.core.publish("/x/1", json!(1), t.now, &mut w), 1);
        assert_eq!(t.core.publish("/x/1/2", json!(2), t.now, &mut w), 0);
        assert_eq!(t.core.publish("/y/1/2", json!(3), t.now, &mut w), 1);
        assert_eq!(t.core.publish("/y", json!(4), t.now, &mut w), 0);
        let r = t.send(json!({"channel": "/meta/unsubscribe", "clientId": c, "subscription": "/x/*", "id": "u"}));
        assert_eq!(r.reply("/meta/unsubscribe")["successful"], true);
        assert_eq!(t.core.publish("/x/1", json!(5), t.now, &mut w), 0);
    }

    #[test]
    fn bad_subscriptions_are_refused_with_bayeux_errors() {
        let mut t = T::new();
        let c = t.client();
        for (sub, error) in [
            (json!("/meta/connect"), "403:/meta/connect:subscribe_denied"),
            (json!("/a/*/b"), "403:/a/*/b:subscription_invalid: a wildcard may only be the last segment of a channel"),
            (json!(7), "403::subscription_invalid"),
        ] {
            let got = t.subscribe(&c, sub);
            let r = got.reply("/meta/subscribe");
            assert_eq!(r["successful"], false);
            assert_eq!(r["error"], error);
            assert_eq!(r["id"], "s");
        }
        let got = t.send(json!({"channel": "/meta/subscribe", "clientId": c, "id": "9"}));
        assert_eq!(
            got.reply("/meta/subscribe")["error"],
            "403::subscription_missing"
        );
    }

    #[test]
    fn service_channels_are_not_recorded_and_answer_the_sender() {
        let mut t = T::new();
        t.core
            .register_service("/service/echo", Box::new(|call| Some(call.data.clone())));
        let c = t.client();
        assert_eq!(
            t.subscribe(&c, json!("/service/echo"))
                .reply("/meta/subscribe")["successful"],
            true
        );
        let mut w = Vec::new();
        assert_eq!(
            t.core.publish("/service/echo", json!(1), t.now, &mut w),
            0,
            "no subscription was recorded"
        );
        let got = t
            .send(json!({"channel": "/service/echo", "clientId": c, "data": {"hi": 1}, "id": "7"}));
        assert_eq!(
            got.msgs[0],
            json!({"channel": "/service/echo", "data": {"hi": 1}})
        );
        assert_eq!(got.reply("/service/echo")["id"], "7");
        let got = t.send(json!({"channel": "/service/nope", "clientId": c, "data": {}, "id": "8"}));
        assert_eq!(
            got.reply("/service/nope")["error"],
            "404:/service/nope:service_unknown"
        );
    }

    #[test]
    fn publishing_to_meta_or_server_only_channels_is_denied() {
        let mut t = T::new();
        let c = t.client();
        let got = t.send(json!({"channel": "/meta/foo", "clientId": c, "data": {}, "id": "1"}));
        assert_eq!(
            got.reply("/meta/foo")["error"],
            "403:/meta/foo:publish_denied: /meta channels are the protocol's own"
        );
        let got = t.send(json!({"channel": "/_genesys", "clientId": c, "data": {}, "id": "2"}));
        assert_eq!(
            got.reply("/_genesys")["error"],
            "403:/_genesys:publish_denied"
        );
        let got =
            t.send(json!({"channel": "/ringback/agent/7", "clientId": c, "data": {}, "id": "3"}));
        assert_eq!(
            got.reply("/ringback/agent/7")["error"],
            "403:/ringback/agent/7:publish_denied"
        );
    }

    #[test]
    fn malformed_messages_get_bayeux_errors() {
        let mut t = T::new();
        let c = t.client();
        let got = t.send(json!([7, {"id": "2"}, {"channel": "no-slash", "id": "3"}, {"channel": "/a", "clientId": c, "id": "4"}]));
        let errors: Vec<&str> = got
            .msgs
            .iter()
            .map(|m| m["error"].as_str().unwrap())
            .collect();
        assert_eq!(
            errors,
            [
                "400::message_invalid: a message is a JSON object",
                "400::channel_missing",
                "405:no-slash:channel_invalid: a channel name starts with '/'",
                "400::data_missing",
            ]
        );
        assert_eq!(got.msgs[2]["id"], "3");
    }

    #[test]
    fn oversize_batches_are_refused() {
        let mut t = T::with(BayeuxConfig {
            max_batch: 2,
            ..BayeuxConfig::default()
        });
        let got = t.send(json!([{"channel": "/a", "id": "1"}, {"channel": "/b", "id": "2"}, {"channel": "/c", "id": "3"}]));
        assert_eq!(got.msgs.len(), 2);
        assert_eq!(
            got.msgs[0]["error"],
            "413::batch_too_large: at most 2 messages in one request"
        );
        assert_eq!(got.msgs[1]["id"], "2");
    }

    #[test]
    fn unknown_clients_are_told_to_handshake() {
        let mut t = T::new();
        let got = t.connect("deadbeef", "3");
        let r = got.reply("/meta/connect");
        assert_eq!(r["successful"], false);
        assert_eq!(r["error"], "402::session_unknown");
        assert_eq!(r["advice"]["reconnect"], "handshake");
        assert_eq!(r["id"], "3");
        let r = t.subscribe("deadbeef", json!("/a"));
        assert_eq!(r.reply("/meta/subscribe")["error"], "402::session_unknown");
    }

    #[test]
    fn sessions_expire_after_max_interval_without_a_connect() {
        let mut t = T::new();
        let c = t.client();
        t.now += 10_000;
        assert!(t.core.sweep(t.now).0.is_empty(), "not yet past maxInterval");
        t.now += 1;
        assert_eq!(t.core.sweep(t.now).0, std::slice::from_ref(&c));
        assert_eq!(
            t.connect(&c, "9").reply("/meta/connect")["error"],
            "402::session_unknown"
        );
    }

    #[test]
    fn a_held_connect_keeps_its_session_alive() {
        let mut t = T::new();
        let c = t.client();
        let hold = t.connect(&c, "3").hold.expect("held");
        t.now += 25_000;
        assert!(t.core.sweep(t.now).0.is_empty());
        t.now = hold.deadline;
        t.finish(&hold);
        t.now += 10_001;
        assert_eq!(t.core.sweep(t.now).0, [c]);
    }

    #[test]
    fn an_answer_nobody_takes_goes_back_to_the_queue_and_the_session_can_expire() {
        let mut t = T::new();
        let c = t.client();
        t.subscribe(&c, json!("/a"));
        let hold = t.connect(&c, "3").hold.expect("held");
        let mut w = Vec::new();
        t.core.publish("/a", json!(1), t.now, &mut w);
        // Its holder vanished without cancelling (so the answer is never taken), while the
        // client goes on talking on another connection.
        let _ = hold;
        t.now += 10_001;
        t.subscribe(&c, json!("/b"));
        assert!(
            t.core.sweep(t.now).0.is_empty(),
            "the client was heard from"
        );
        let got = t.connect(&c, "4");
        assert_eq!(got.events(), [&json!({"channel": "/a", "data": 1})]);
        t.now += 10_001;
        assert_eq!(t.core.sweep(t.now).0, [c]);
    }

    #[test]
    fn two_connects_in_one_batch_answer_the_first_in_the_same_response() {
        let mut t = T::new();
        let c = t.client();
        let out = t.core.handle(
            vec![
                json!({"channel": "/meta/connect", "clientId": c, "connectionType": "long-polling", "id": "3"}),
                json!({"channel": "/meta/connect", "clientId": c, "connectionType": "long-polling", "id": "4"}),
            ],
            Context { transport: Transport::LongPolling, gms_user: t.user, now: t.now },
        );
        let hold = out.hold.expect("the second is held");
        let Wake::Connect(first) = out.wake[0] else {
            panic!("{:?}", out.wake)
        };
        let frames = parse(
            t.core
                .take_ready(first, &out.clients)
                .expect("the first is ready"),
        );
        assert_eq!(frames[0]["id"], "3");
        assert!(t.core.take_ready(hold.token, &out.clients).is_none());
    }

    #[test]
    fn disconnect_releases_the_held_connect() {
        let mut t = T::new();
        let c = t.client();
        let hold = t.connect(&c, "3").hold.expect("held");
        let got = t.send(json!({"channel": "/meta/disconnect", "clientId": c, "id": "4"}));
        assert_eq!(got.reply("/meta/disconnect")["successful"], true);
        assert_eq!(got.wake, [Wake::Connect(hold.token)]);
        let msgs = t.finish(&hold);
        assert_eq!(msgs[0]["advice"]["reconnect"], "none");
        assert!(!t.core.has_session(&c));
    }

    #[test]
    fn a_full_queue_drops_the_client_with_a_clear_error() {
        let mut t = T::with(BayeuxConfig {
            max_queue: 3,
            ..BayeuxConfig::default()
        });
        let c = t.client();
        t.subscribe(&c, json!("/a"));
        let mut w = Vec::new();
        for n in 0..4 {
            t.core.publish("/a", json!(n), t.now, &mut w);
        }
        assert!(!t.core.has_session(&c));
        let r = t.connect(&c, "5");
        let r = r.reply("/meta/connect");
        assert_eq!(r["error"], "402::message_queue_full");
        assert_eq!(r["advice"]["reconnect"], "handshake");
    }

    #[test]
    fn a_cancelled_connect_gives_its_events_back() {
        let mut t = T::new();
        let c = t.client();
        t.subscribe(&c, json!("/a"));
        let hold = t.connect(&c, "3").hold.expect("held");
        let mut w = Vec::new();
        t.core.publish("/a", json!(1), t.now, &mut w);
        t.core.cancel_connect(&c, hold.token, t.now);
        let got = t.connect(&c, "4");
        assert!(got.hold.is_none(), "events are waiting: answered at once");
        assert_eq!(got.events(), [&json!({"channel": "/a", "data": 1})]);
    }

    #[test]
    fn acked_batches_are_resent_until_acknowledged() {
        let mut t = T::new();
        let c = t.handshake_with(json!({"ack": true}));
        t.connect(&c, "2");
        t.subscribe(&c, json!("/a"));
        let mut w = Vec::new();
        t.core.publish("/a", json!(1), t.now, &mut w);
        // The ack extension delivers through connect replies only.
        let got = t.send(json!({"channel": "/meta/connect", "clientId": c, "connectionType": "long-polling", "id": "3", "ext": {"ack": 0}}));
        assert_eq!(got.events().len(), 1);
        assert_eq!(got.reply("/meta/connect")["ext"]["ack"], 1);
        // That response was lost: the client acknowledges 0 again, and batch 1 comes back.
        let got = t.send(json!({"channel": "/meta/connect", "clientId": c, "connectionType": "long-polling", "id": "4", "ext": {"ack": 0}}));
        assert_eq!(got.events(), [&json!({"channel": "/a", "data": 1})]);
        assert_eq!(got.reply("/meta/connect")["ext"]["ack"], 2);
        // Acknowledged: nothing more.
        let got = t.send(json!({"channel": "/meta/connect", "clientId": c, "connectionType": "long-polling", "id": "5", "ext": {"ack": 2}}));
        assert!(got.hold.is_some());
        assert!(got.events().is_empty());
    }

    #[test]
    fn websocket_clients_are_streamed_events_at_once() {
        let mut t = T::new();
        let got = t.send_via(
            Transport::WebSocket,
            json!({"channel": "/meta/handshake", "version": "1.0",
            "supportedConnectionTypes": ["websocket"], "id": "1"}),
        );
        let c = got.reply("/meta/handshake")["clientId"]
            .as_str()
            .unwrap()
            .to_string();
        t.send_via(
            Transport::WebSocket,
            json!({"channel": "/meta/subscribe", "clientId": c, "subscription": "/a", "id": "2"}),
        );
        let mut w = Vec::new();
        t.core.publish("/a", json!(1), t.now, &mut w);
        assert_eq!(w, [Wake::Stream(c.clone())]);
        assert_eq!(
            parse(t.core.drain(&c).unwrap()),
            [json!({"channel": "/a", "data": 1})]
        );
        // The stream closes: events wait for a long-poll connect again.
        t.core.detach_stream(&c);
        let mut w = Vec::new();
        t.core.publish("/a", json!(2), t.now, &mut w);
        assert!(w.is_empty());
    }

    #[test]
    fn a_session_moves_from_long_polling_to_websocket() {
        let mut t = T::new();
        let c = t.client();
        t.subscribe(&c, json!("/a"));
        let got = t.send_via(Transport::WebSocket, json!({"channel": "/meta/connect", "clientId": c, "connectionType": "websocket", "id": "3"}));
        assert!(got.hold.is_some());
        let mut w = Vec::new();
        t.core.publish("/a", json!(1), t.now, &mut w);
        assert_eq!(w, [Wake::Stream(c)]);
    }

    #[test]
    fn delivery_to_a_gms_user_reaches_only_that_users_subscribed_sessions() {
        let mut t = T::new();
        let alice = t.client();
        t.subscribe(&alice, json!("/_genesys"));
        t.user = Some("bob");
        let bob = t.client();
        t.subscribe(&bob, json!("/_genesys"));
        t.user = Some("alice");
        let idle = t.client();
        let mut w = Vec::new();
        assert_eq!(
            t.core
                .deliver_to_user("alice", "/_genesys", json!({"tag": "x"}), t.now, &mut w),
            1
        );
        let got = t.connect(&alice, "9");
        assert_eq!(got.events().len(), 1);
        t.user = Some("bob");
        assert!(t.connect(&bob, "9").hold.is_some(), "bob got nothing");
        t.user = Some("alice");
        assert!(
            t.connect(&idle, "9").hold.is_some(),
            "an unsubscribed session got nothing"
        );
    }

    #[test]
    fn only_the_agent_subscribes_to_its_channel() {
        let mut t = T::new();
        t.user = Some("7");
        let c = t.client();
        for ok in [
            "/ringback/agent/7",
            "/ringback/agent/7/**",
            "/ringback/agent/7/*",
            "/ringback/*",
        ] {
            assert_eq!(
                t.subscribe(&c, json!(ok)).reply("/meta/subscribe")["successful"],
                true,
                "{ok}"
            );
        }
        for denied in [
            "/ringback/agent/8",
            "/ringback/agent/*",
            "/ringback/agent/**",
            "/ringback/**",
            "/**",
        ] {
            let got = t.subscribe(&c, json!(denied));
            assert_eq!(
                got.reply("/meta/subscribe")["error"],
                format!("403:{denied}:subscribe_denied: an agent's channel is for that agent's gms_user"),
            );
        }
        let mut w = Vec::new();
        assert_eq!(
            t.core
                .publish("/ringback/agent/7", json!({"offer": 1}), t.now, &mut w),
            1
        );
        assert_eq!(
            t.core
                .publish("/ringback/agent/8", json!({"offer": 2}), t.now, &mut w),
            0
        );
    }

    #[test]
    fn a_session_refuses_another_gms_user() {
        let mut t = T::new();
        let c = t.client();
        t.user = Some("mallory");
        let got = t.subscribe(&c, json!("/_genesys"));
        assert_eq!(
            got.reply("/meta/subscribe")["error"],
            "403::gms_user_mismatch"
        );
    }
}
