//! `EngineHandle`: the one cloneable facade the web layer calls. Async methods, domain errors;
//! no actor message types leak out.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use engine::agents::AgentConfig;
use engine::queue::ItemId;
use engine::routing::plan::TargetList;
use engine::routing::router::{ItemView, QueueReport, RouteRequest};
use engine::store::Millis;
use engine::telephony::{DialRules, Interaction, IxnId};
use parking_lot::Mutex;

use crate::center::core::{AgentEvent, AgentView, CallTicket, Poll};
use crate::center::{CenterActor, CenterCore, CenterError, Exec};

/// The actor is gone (the node is shutting down) or its mailbox is full.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    #[error(transparent)]
    Center(#[from] CenterError),
    #[error("the routing actor is unavailable: {0}")]
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
    center: Addr<CenterActor>,
    /// urs-stat answers by (service, queue), for `_caching_policy`.
    stat_cache: Arc<Mutex<HashMap<(String, String), Cached>>>,
}

impl std::fmt::Debug for EngineHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineHandle").finish_non_exhaustive()
    }
}

impl EngineHandle {
    /// Starts the center actor on the current actix system.
    pub fn start(core: CenterCore) -> EngineHandle {
        EngineHandle {
            center: CenterActor::new(core).start(),
            stat_cache: Arc::default(),
        }
    }

    async fn exec<R, F>(&self, f: F) -> Result<R, HandleError>
    where
        R: Send + 'static,
        F: FnOnce(&mut CenterCore, Millis) -> R + Send + 'static,
    {
        self.center
            .send(Exec(Box::new(f)))
            .await
            .map_err(|e| HandleError::Unavailable(e.to_string()))
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

    pub async fn submit(&self, req: RouteRequest) -> Result<ItemId, HandleError> {
        self.try_exec(move |c, now| c.submit(req, now)).await
    }

    pub async fn cancel(&self, item: ItemId) -> Result<(), HandleError> {
        self.try_exec(move |c, now| c.cancel(item, now)).await
    }

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

    pub async fn inbound_call(
        &self,
        ani: String,
        dnis: String,
        route: Option<(String, TargetList, i32)>,
    ) -> Result<CallTicket, HandleError> {
        self.try_exec(move |c, now| c.inbound_call(&ani, &dnis, route, now))
            .await
    }

    pub async fn inbound_chat(&self, customer: String) -> Result<CallTicket, HandleError> {
        self.try_exec(move |c, now| c.inbound_chat(&customer, None, now))
            .await
    }

    pub async fn call(&self, ixn: IxnId) -> Result<Option<Interaction>, HandleError> {
        self.exec(move |c, _| c.interaction(ixn).cloned()).await
    }

    pub async fn dial(&self, number: String) -> Result<IxnId, HandleError> {
        self.exec(move |c, now| c.dial(&number, now)).await
    }

    /// Plays (`Some`) or stops (`None`) a treatment.
    pub async fn treatment(&self, ixn: IxnId, name: Option<String>) -> Result<(), HandleError> {
        self.try_exec(move |c, now| c.treatment(ixn, name.as_deref(), now))
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
