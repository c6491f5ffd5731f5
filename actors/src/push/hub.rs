//! `PushHub`: the live Bayeux server other actors and the transports share. It owns the sans-IO
//! [`Bayeux`] core behind one short-held mutex, reads the clock, and turns the core's wakes into
//! signals: a oneshot per held connect, a [`Notify`] per websocket.
//!
//! Nothing awaits while holding the lock: every method takes it, calls the core, fires wakes and
//! returns. A held connect waits on its oneshot *outside* the lock, so ten thousand of them
//! cost ten thousand parked futures and no threads.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::Value;
use tokio::sync::{oneshot, Notify};

use super::bayeux::{
    Bayeux, BayeuxConfig, Context, Frame, Millis, ServiceHandler, Stats, Transport, Wake,
};
use super::channel::{is_meta, ChannelError, Pattern};

/// Why a server-side publish was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    #[error("invalid channel '{channel}': {error}")]
    InvalidChannel {
        channel: String,
        error: ChannelError,
    },
    #[error("'{0}' is a /meta channel: the protocol's own, never published to")]
    MetaChannel(String),
    #[error("'{0}' carries one device's notifications: deliver to its gms_user instead")]
    DeviceChannel(String),
}

/// Milliseconds since the Unix epoch.
pub fn wall_clock() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or(0)
}

/// The channel an agent's offers and state changes are published on.
pub fn agent_channel(agent_id: &str) -> String {
    format!("/ringback/agent/{agent_id}")
}

struct State {
    core: Bayeux,
    waiters: HashMap<u64, oneshot::Sender<()>>,
    streams: HashMap<String, Arc<Notify>>,
}

impl State {
    fn fire(&mut self, wakes: Vec<Wake>) {
        for w in wakes {
            match w {
                Wake::Connect(token) => {
                    if let Some(tx) = self.waiters.remove(&token) {
                        let _ = tx.send(());
                    }
                }
                Wake::Stream(client) => {
                    if let Some(n) = self.streams.get(&client) {
                        n.notify_one();
                    }
                }
            }
        }
    }
}

struct Inner {
    state: Mutex<State>,
    clock: fn() -> Millis,
}

/// A cloneable handle on the Bayeux server.
#[derive(Clone)]
pub struct PushHub {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for PushHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushHub")
            .field("stats", &self.stats())
            .finish()
    }
}

/// What a request produced: frames to send now, and maybe a connect still to wait for.
#[derive(Debug)]
pub struct Handled {
    pub replies: Vec<Frame>,
    pub pending: Option<PendingConnect>,
    /// Clients the request spoke for.
    pub clients: Vec<String>,
}

/// A held `/meta/connect`. [`PendingConnect::wait`] resolves with its reply when an event
/// arrives, a newer connect replaces it, or its deadline passes. Dropped unfinished (the HTTP
/// client hung up), it gives back any events taken for it.
#[derive(Debug)]
pub struct PendingConnect {
    hub: PushHub,
    client: String,
    token: u64,
    deadline: Millis,
    rx: Option<oneshot::Receiver<()>>,
    done: bool,
}

impl PendingConnect {
    pub fn client(&self) -> &str {
        &self.client
    }

    /// Waits until woken or the deadline, then answers.
    pub async fn wait(mut self) -> Vec<Frame> {
        let left = self.deadline - self.hub.now();
        if let Some(rx) = self.rx.take() {
            if left > 0 {
                let _ = tokio::time::timeout(Duration::from_millis(left as u64), rx).await;
            }
        }
        self.finish()
    }

    /// Answers now (woken, or the deadline is past).
    pub fn finish(&mut self) -> Vec<Frame> {
        self.done = true;
        let now = self.hub.now();
        let mut st = self.hub.inner.state.lock();
        st.waiters.remove(&self.token);
        st.core.finish_connect(&self.client, self.token, now)
    }

    /// The wake signal, for callers that select on it themselves (websocket).
    pub fn take_signal(&mut self) -> Option<oneshot::Receiver<()>> {
        self.rx.take()
    }

    pub fn deadline(&self) -> Millis {
        self.deadline
    }
}

impl Drop for PendingConnect {
    fn drop(&mut self) {
        if !self.done {
            let now = self.hub.now();
            let mut st = self.hub.inner.state.lock();
            st.waiters.remove(&self.token);
            st.core.cancel_connect(&self.client, self.token, now);
        }
    }
}

impl PushHub {
    pub fn new(cfg: BayeuxConfig) -> PushHub {
        PushHub::with_clock(cfg, StdRng::from_os_rng(), wall_clock)
    }

    /// A hub on a given random source and clock (tests).
    pub fn with_clock(cfg: BayeuxConfig, rng: StdRng, clock: fn() -> Millis) -> PushHub {
        PushHub {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    core: Bayeux::new(cfg, rng),
                    waiters: HashMap::new(),
                    streams: HashMap::new(),
                }),
                clock,
            }),
        }
    }

    pub fn now(&self) -> Millis {
        (self.inner.clock)()
    }

    pub fn config(&self) -> BayeuxConfig {
        self.inner.state.lock().core.config().clone()
    }

    pub fn stats(&self) -> Stats {
        self.inner.state.lock().core.stats()
    }

    /// Handles one request's messages. `stream` is the websocket's signal when the request
    /// came over one: the clients it speaks for then get their events pushed through it.
    pub fn handle(
        &self,
        messages: Vec<Value>,
        transport: Transport,
        gms_user: Option<&str>,
        stream: Option<&Arc<Notify>>,
    ) -> Handled {
        let now = self.now();
        let mut st = self.inner.state.lock();
        let out = st.core.handle(
            messages,
            Context {
                transport,
                gms_user,
                now,
            },
        );
        if let Some(stream) = stream {
            for c in &out.clients {
                st.streams.insert(c.clone(), stream.clone());
            }
        }
        let mut replies = out.replies;
        let hold_token = out.hold.as_ref().map(|h| h.token);
        let ready_now = out
            .wake
            .iter()
            .any(|w| matches!(w, Wake::Connect(t) if Some(*t) == hold_token));
        // A connect released by a later one in this same request has nobody waiting for it
        // yet: its answer goes out with this response.
        let stray: Vec<u64> = out
            .wake
            .iter()
            .filter_map(|w| match w {
                Wake::Connect(t) if Some(*t) != hold_token && !st.waiters.contains_key(t) => {
                    Some(*t)
                }
                _ => None,
            })
            .collect();
        st.fire(out.wake);
        for t in stray {
            if let Some(frames) = st.core.take_ready(t, &out.clients) {
                replies.extend(frames);
            }
        }
        let pending = match out.hold {
            // A later message of the same batch already answered the connect.
            Some(h) if ready_now => {
                replies.extend(st.core.finish_connect(&h.client, h.token, now));
                None
            }
            Some(h) => {
                let (tx, rx) = oneshot::channel();
                st.waiters.insert(h.token, tx);
                Some(PendingConnect {
                    hub: self.clone(),
                    client: h.client,
                    token: h.token,
                    deadline: h.deadline,
                    rx: Some(rx),
                    done: false,
                })
            }
            None => None,
        };
        Handled {
            replies,
            pending,
            clients: out.clients,
        }
    }

    /// Events waiting for a websocket client (`None`: the session is gone).
    pub fn drain(&self, client: &str) -> Option<Vec<Frame>> {
        self.inner.state.lock().core.drain(client)
    }

    /// A websocket closed: its clients' events wait for their next connect.
    pub fn detach_stream(&self, client: &str, stream: &Arc<Notify>) {
        let mut st = self.inner.state.lock();
        if st
            .streams
            .get(client)
            .is_some_and(|s| Arc::ptr_eq(s, stream))
        {
            st.streams.remove(client);
            st.core.detach_stream(client);
        }
    }

    /// Answers requests on a `/service/**` channel.
    pub fn register_service(&self, channel: &str, handler: ServiceHandler) {
        self.inner
            .state
            .lock()
            .core
            .register_service(channel, handler);
    }

    fn checked(channel: &str) -> Result<String, PushError> {
        let c = Pattern::concrete(channel).map_err(|error| PushError::InvalidChannel {
            channel: channel.to_string(),
            error,
        })?;
        if is_meta(&c) {
            return Err(PushError::MetaChannel(c));
        }
        Ok(c)
    }

    /// Broadcasts `data` on `channel` to its subscribers; returns how many got it. `/_genesys`
    /// is refused: every device subscribes to it, and each must get only its own messages.
    pub fn publish(&self, channel: &str, data: Value) -> Result<usize, PushError> {
        let channel = PushHub::checked(channel)?;
        if channel == super::notify::GENESYS_CHANNEL {
            return Err(PushError::DeviceChannel(channel));
        }
        let now = self.now();
        let mut st = self.inner.state.lock();
        let mut wake = Vec::new();
        let n = st.core.publish(&channel, data, now, &mut wake);
        st.fire(wake);
        Ok(n)
    }

    /// Sends `data` on `channel` to the sessions of one `gms_user` subscribed to it.
    pub fn deliver_to_user(
        &self,
        gms_user: &str,
        channel: &str,
        data: Value,
    ) -> Result<usize, PushError> {
        let channel = PushHub::checked(channel)?;
        let now = self.now();
        let mut st = self.inner.state.lock();
        let mut wake = Vec::new();
        let n = st
            .core
            .deliver_to_user(gms_user, &channel, data, now, &mut wake);
        st.fire(wake);
        Ok(n)
    }

    /// Sends `data` on `channel` to one client.
    pub fn deliver_to_client(
        &self,
        client: &str,
        channel: &str,
        data: Value,
    ) -> Result<bool, PushError> {
        let channel = PushHub::checked(channel)?;
        let now = self.now();
        let mut st = self.inner.state.lock();
        let mut wake = Vec::new();
        let sent = st
            .core
            .deliver_to_client(client, &channel, data, now, &mut wake);
        st.fire(wake);
        Ok(sent)
    }

    /// Publishes on an agent's own channel (`/ringback/agent/{id}`).
    /// Whether anyone listens to an agent's channel (so its events are worth building).
    pub fn listens_to_agent(&self, agent_id: &str) -> bool {
        // No parsing: a channel that is not valid has no subscribers anyway.
        let channel = agent_channel(agent_id);
        self.inner.state.lock().core.has_subscribers(&channel)
    }

    pub fn publish_to_agent(&self, agent_id: &str, data: Value) -> Result<usize, PushError> {
        self.publish(&agent_channel(agent_id), data)
    }

    /// Ends every session of `gms_user`; each is told to handshake again. Returns how many.
    pub fn forget_user(&self, gms_user: &str) -> usize {
        let now = self.now();
        let mut st = self.inner.state.lock();
        let mut wake = Vec::new();
        let gone = st.core.forget_user(gms_user, now, &mut wake);
        st.fire(wake);
        gone.len()
    }

    /// Ends sessions past `maxInterval`; returns how many.
    pub fn sweep(&self) -> usize {
        let now = self.now();
        let mut st = self.inner.state.lock();
        let (gone, wake) = st.core.sweep(now);
        for c in &gone {
            st.streams.remove(c);
        }
        st.fire(wake);
        gone.len()
    }

    /// Sweeps every `period`, for ever (spawn it on the runtime).
    pub async fn run_sweeper(self, period: Duration) {
        let mut tick = tokio::time::interval(period);
        loop {
            tick.tick().await;
            let n = self.sweep();
            if n > 0 {
                tracing::debug!(expired = n, "bayeux sessions expired");
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests on data they built themselves
mod tests {
    use super::*;
    use serde_json::json;

    fn hub() -> PushHub {
        PushHub::with_clock(
            BayeuxConfig::default(),
            StdRng::seed_from_u64(1),
            wall_clock,
        )
    }

    fn parse(frames: &[Frame]) -> Vec<Value> {
        frames
            .iter()
            .map(|f| serde_json::from_str(f).unwrap())
            .collect()
    }

    /// A session of `user` subscribed to `/_genesys`, past its first connect.
    fn session(hub: &PushHub, user: &str) -> String {
        let hs = hub.handle(
            vec![json!({"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"]})],
            Transport::LongPolling,
            Some(user),
            None,
        );
        let client = parse(&hs.replies)[0]["clientId"]
            .as_str()
            .unwrap()
            .to_string();
        hub.handle(
            vec![
                json!({"channel": "/meta/connect", "clientId": client, "connectionType": "long-polling"}),
                json!({"channel": "/meta/subscribe", "clientId": client, "subscription": "/_genesys"}),
            ],
            Transport::LongPolling,
            Some(user),
            None,
        );
        client
    }

    fn connect(hub: &PushHub, client: &str, user: &str) -> Handled {
        hub.handle(
            vec![json!({"channel": "/meta/connect", "clientId": client, "connectionType": "long-polling", "id": "c"})],
            Transport::LongPolling,
            Some(user),
            None,
        )
    }

    #[tokio::test]
    async fn a_held_connect_is_answered_when_a_push_arrives() {
        let hub = hub();
        let client = session(&hub, "alice");
        let pending = connect(&hub, &client, "alice").pending.expect("held");
        let waiter = tokio::spawn(pending.wait());
        tokio::task::yield_now().await;
        assert_eq!(
            hub.deliver_to_user("alice", "/_genesys", json!({"tag": "t"})),
            Ok(1)
        );
        let frames = parse(&waiter.await.unwrap());
        assert_eq!(
            frames[0],
            json!({"channel": "/_genesys", "data": {"tag": "t"}})
        );
        assert_eq!(frames[1]["id"], "c");
        assert_eq!(hub.stats().held, 0);
    }

    #[tokio::test]
    async fn a_connect_dropped_unanswered_gives_its_events_back() {
        let hub = hub();
        let client = session(&hub, "alice");
        let pending = connect(&hub, &client, "alice").pending.expect("held");
        hub.deliver_to_user("alice", "/_genesys", json!(1)).unwrap();
        // The HTTP client hung up before the reply was written.
        drop(pending);
        let again = connect(&hub, &client, "alice");
        assert!(again.pending.is_none());
        assert_eq!(
            parse(&again.replies)[0],
            json!({"channel": "/_genesys", "data": 1})
        );
    }

    #[tokio::test]
    async fn forgetting_a_user_answers_its_held_connect_with_handshake_advice() {
        let hub = hub();
        let client = session(&hub, "alice");
        let pending = connect(&hub, &client, "alice").pending.expect("held");
        assert_eq!(hub.forget_user("alice"), 1);
        let frames = parse(&pending.wait().await);
        assert_eq!(frames[0]["error"], "402::session_unknown");
        assert_eq!(frames[0]["advice"]["reconnect"], "handshake");
        assert_eq!(frames[0]["id"], "c");
    }

    #[test]
    fn server_side_publishes_check_the_channel() {
        let hub = hub();
        assert_eq!(
            hub.publish("/meta/connect", json!(1)),
            Err(PushError::MetaChannel("/meta/connect".into()))
        );
        assert_eq!(
            hub.publish("/a/*", json!(1)),
            Err(PushError::InvalidChannel {
                channel: "/a/*".into(),
                error: ChannelError::WildcardNotAllowed
            })
        );
        assert_eq!(
            hub.publish("/_genesys", json!(1)),
            Err(PushError::DeviceChannel("/_genesys".into()))
        );
        assert_eq!(hub.publish_to_agent("7", json!({"offer": 1})), Ok(0));
    }
}
