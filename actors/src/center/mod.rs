//! The contact-center actor: one actix actor owning [`CenterCore`] (router, switch, default
//! inbound strategy, agent logs, demo), with the wall clock and one timer armed for the core's
//! next deadline.
//!
//! Routing and telephony share one actor on purpose: reserving an agent, bridging the call and
//! releasing it are then single steps with no cross-actor protocol in between, which is what
//! keeps an agent from ever being reserved twice. Every operation is microseconds of work, so
//! one actor serves a node's agents and queues; a larger deployment shards by tenant.

pub mod core;
pub mod settings;

use std::time::Duration;

use actix::prelude::*;
use engine::store::Millis;

pub use self::core::{CenterCore, CenterError};

/// Milliseconds since the Unix epoch: where the actors read the clock.
pub fn now() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

type Job<R> = Box<dyn FnOnce(&mut CenterCore, Millis) -> R + Send>;

/// Runs a closure on the core, in the actor, with the current time.
pub struct Exec<R: Send + 'static>(pub Job<R>);

impl<R: Send + 'static> Message for Exec<R> {
    type Result = R;
}

pub struct CenterActor {
    core: CenterCore,
    armed: Option<(Millis, SpawnHandle)>,
}

impl CenterActor {
    pub fn new(core: CenterCore) -> CenterActor {
        CenterActor { core, armed: None }
    }

    /// Arms the timer for the core's next deadline (re-arming only when it moved).
    fn rearm(&mut self, ctx: &mut Context<Self>) {
        let next = self.core.next_deadline();
        if self.armed.as_ref().map(|(at, _)| *at) == next {
            return;
        }
        if let Some((_, h)) = self.armed.take() {
            ctx.cancel_future(h);
        }
        if let Some(at) = next {
            let wait = Duration::from_millis(u64::try_from(at.saturating_sub(now())).unwrap_or(0));
            let h = ctx.run_later(wait, |act, ctx| {
                act.armed = None;
                let _span = tracing::debug_span!("center_tick").entered();
                act.core.advance(now());
                act.rearm(ctx);
            });
            self.armed = Some((at, h));
        }
    }
}

impl Actor for CenterActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        // Mailbox large enough for bursts of desktop and load-test traffic.
        ctx.set_mailbox_capacity(65_536);
        self.core.advance(now());
        self.rearm(ctx);
    }
}

impl<R: Send + 'static> Handler<Exec<R>> for CenterActor {
    type Result = MessageResult<Exec<R>>;

    fn handle(&mut self, msg: Exec<R>, ctx: &mut Context<Self>) -> Self::Result {
        let t = now();
        // Timers due by now fire first, so the operation sees the state it would in real time.
        self.core.advance(t);
        let r = (msg.0)(&mut self.core, t);
        self.rearm(ctx);
        MessageResult(r)
    }
}
