//! `EngineHandle`: the one cloneable facade the web layer calls. Async methods, domain errors;
//! no actor message types leak out.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use engine::agents::AgentConfig;
use engine::queue::ItemId;
use engine::routing::router::{ItemView, QueueReport};
use engine::store::Millis;
use engine::telephony::{DialRules, Interaction, IxnId};
use parking_lot::Mutex;

use crate::center::core::{AgentEvent, AgentView, Owner, Poll};
use crate::center::{Center, CenterCore, CenterError};

/// What a center operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    #[error(transparent)]
    Center(#[from] CenterError),
    #[error("the routing center is unavailable: {0}")]
    Unavailable(String),
}

/// A cached urs-stat answer.
#[derive(Debug, Clone)]
struct Cached {
    at: Millis,
    report: Option<QueueReport>,
}

#[derive(Clone)]
pub struct EngineHandle {
    center: Center,
    /// urs-stat answers by (service, queue), for `_caching_policy`.
    stat_cache: Arc<Mutex<HashMap<(String, String), Cached>>>,
}

impl std::fmt::Debug for EngineHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineHandle").finish_non_exhaustive()
    }
}

impl EngineHandle {
    /// A handle on a running center.
    pub fn new(center: Center) -> EngineHandle {
        EngineHandle {
            center,
            stat_cache: Arc::default(),
        }
    }

    /// The center itself.
    pub fn center(&self) -> &Center {
        &self.center
    }

    async fn exec<R, F>(&self, f: F) -> Result<R, HandleError>
    where
        R: Send + 'static,
        F: FnOnce(&mut CenterCore, Millis) -> R + Send + 'static,
    {
        // Microseconds under the center's lock; nothing is awaited while it is held.
        Ok(self.center.with(f))
    }

    async fn try_exec<R, F>(&self, f: F) -> Result<R, HandleError>
    where
        R: Send + 'static,
        F: FnOnce(&mut CenterCore, Millis) -> Result<R, CenterError> + Send + 'static,
    {
        Ok(self.exec(f).await??)
    }

    // ---- agents ----

    pub async fn put_agent(&self, config: AgentConfig) -> Result<(), HandleError> {
        self.try_exec(move |c, now| c.put_agent(config, now)).await
    }

    pub async fn remove_agent(&self, id: String) -> Result<(), HandleError> {
        self.try_exec(move |c, now| c.remove_agent(&id, now)).await
    }

    pub async fn agent(&self, id: String) -> Result<AgentView, HandleError> {
        self.try_exec(move |c, now| c.agent(&id, now)).await
    }

    pub async fn agents(&self) -> Result<Vec<AgentView>, HandleError> {
        self.exec(|c, now| c.agents(now)).await
    }

    /// `login`, `ready`, `notready` or `logout`.
    pub async fn agent_state(
        &self,
        id: String,
        action: AgentAction,
    ) -> Result<AgentView, HandleError> {
        self.try_exec(move |c, now| match action {
            AgentAction::Login => c.login(&id, now),
            AgentAction::Ready => c.ready(&id, now),
            AgentAction::NotReady => c.not_ready(&id, now),
            AgentAction::Logout => c.logout(&id, now),
        })
        .await
    }

    pub async fn offer(
        &self,
        id: String,
        offer: ItemId,
        accept: bool,
    ) -> Result<AgentView, HandleError> {
        self.try_exec(move |c, now| {
            if accept {
                c.accept(&id, offer, now)
            } else {
                c.reject(&id, offer, now)
            }
        })
        .await
    }

    pub async fn interaction(
        &self,
        id: String,
        ixn: String,
        complete: bool,
    ) -> Result<AgentView, HandleError> {
        self.try_exec(move |c, now| {
            if complete {
                c.complete(&id, &ixn, now)
            } else {
                c.hangup(&id, &ixn, now)
            }
        })
        .await
    }

    pub async fn transfer(
        &self,
        id: String,
        ixn: String,
        to: String,
    ) -> Result<AgentView, HandleError> {
        self.try_exec(move |c, now| c.transfer(&id, &ixn, &to, now))
            .await
    }

    /// Events after `since`, waiting up to `wait` for the first one (long poll). An empty
    /// answer means the wait ended with nothing new.
    pub async fn agent_events(
        &self,
        id: String,
        since: u64,
        wait: Duration,
    ) -> Result<Vec<AgentEvent>, HandleError> {
        let first = {
            let id = id.clone();
            self.try_exec(move |c, _| c.poll(&id, since)).await?
        };
        match first {
            Poll::Events(e) => Ok(e),
            Poll::Wait(rx) => {
                if tokio::time::timeout(wait, rx).await.is_err() {
                    return Ok(Vec::new());
                }
                match self.try_exec(move |c, _| c.poll(&id, since)).await? {
                    Poll::Events(e) => Ok(e),
                    Poll::Wait(_) => Ok(Vec::new()),
                }
            }
        }
    }

    // ---- queues ----

    pub async fn item(&self, item: ItemId) -> Result<Option<ItemView>, HandleError> {
        self.exec(move |c, _| c.item(item)).await
    }

    pub async fn queue(&self, name: String) -> Result<Option<QueueReport>, HandleError> {
        self.exec(move |c, now| c.queue(&name, now)).await
    }

    pub async fn queues(&self) -> Result<Vec<(String, QueueReport)>, HandleError> {
        self.exec(|c, now| c.queues(now)).await
    }

    /// A queue's statistics through the urs-stat service: served from the cache while younger
    /// than `caching_secs` (`_caching_policy`).
    pub async fn urs_stat(
        &self,
        service: &str,
        queue: &str,
        caching_secs: u64,
        now: Millis,
    ) -> Result<Option<QueueReport>, HandleError> {
        let key = (service.to_owned(), queue.to_owned());
        let max_age = i64::try_from(caching_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        if let Some(c) = self.stat_cache.lock().get(&key) {
            if now.saturating_sub(c.at) < max_age {
                return Ok(c.report);
            }
        }
        let report = self.queue(queue.to_owned()).await?;
        let mut cache = self.stat_cache.lock();
        if cache.len() > 10_000 {
            cache.retain(|_, c| now.saturating_sub(c.at) < max_age);
        }
        cache.insert(key, Cached { at: now, report });
        Ok(report)
    }

    // ---- telephony ----

    pub async fn dial_rules(&self) -> Result<DialRules, HandleError> {
        self.exec(|c, _| c.dial_rules().clone()).await
    }

    pub async fn set_dial_rules(&self, rules: DialRules) -> Result<(), HandleError> {
        self.exec(move |c, _| c.set_dial_rules(rules)).await
    }

    pub async fn call(&self, ixn: IxnId) -> Result<Option<Interaction>, HandleError> {
        self.exec(move |c, _| c.interaction(ixn).cloned()).await
    }

    /// Dials a number for the telephony API (nobody owns the call).
    pub async fn dial(&self, number: String) -> Result<IxnId, HandleError> {
        self.exec(move |c, now| c.dial(&number, Owner::Api, String::new(), None, now))
            .await
    }

    /// Plays (`Some`) or stops (`None`) a treatment.
    pub async fn treatment(&self, ixn: IxnId, name: Option<String>) -> Result<(), HandleError> {
        self.try_exec(move |c, now| c.treatment(ixn, name.as_deref(), None, now))
            .await
    }

    /// A chat message (or typing) from the agent on interaction `ixn` of their desktop.
    pub async fn agent_chat(
        &self,
        agent: String,
        ixn: String,
        say: crate::center::core::ChatSay,
    ) -> Result<AgentView, HandleError> {
        self.try_exec(move |c, now| c.agent_chat(&agent, &ixn, &say, now))
            .await
    }

    pub async fn customer_hangup(&self, ixn: IxnId) -> Result<(), HandleError> {
        self.try_exec(move |c, now| c.customer_hangup(ixn, now))
            .await
    }
}

/// Agent desktop state changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentAction {
    Login,
    Ready,
    NotReady,
    Logout,
}
