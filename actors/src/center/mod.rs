//! The contact center, live: one [`CenterCore`] (router, switch, agent logs, demo) shared by
//! every thread that needs it behind one short-held lock, a clock thread that fires its timers,
//! and the delivery of its notices to their owners.
//!
//! Routing and telephony share one core on purpose: reserving an agent, bridging the call and
//! releasing it are then single steps with no protocol in between, which is what keeps an agent
//! from ever being reserved twice. Every operation is microseconds of work, so one lock serves
//! a node's agents and queues; it is never held across an `.await`, and notices are handed to
//! their owners (channel sends, never blocking) while it is held, so each owner hears its
//! notices in the order they happened.

pub mod core;
pub mod settings;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use engine::store::Millis;
use parking_lot::{Condvar, Mutex};

pub use self::core::{CenterCore, CenterError, Notice, Owner};

/// Milliseconds since the Unix epoch: where the actors read the clock.
pub fn now() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Where the center's notices go. Implementations must not block (they run under the center's
/// lock): a channel send, a push to a queue.
pub trait NoticeSink: Send + Sync {
    fn deliver(&self, owner: Owner, notice: Notice);
}

struct Inner {
    core: CenterCore,
    /// The latest time the core was run at: time never goes back for it, even when two threads
    /// read the clock in one order and take the lock in the other.
    last: Millis,
}

struct Shared {
    core: Mutex<Inner>,
    sink: OnceLock<Arc<dyn NoticeSink>>,
    /// The deadline the clock thread sleeps towards, and its wake-up.
    clock: Mutex<Clock>,
    tick: Condvar,
}

#[derive(Default)]
struct Clock {
    /// The next deadline the clock knows about.
    next: Option<Millis>,
    stopped: bool,
}

/// The center, shared: cheap to clone, callable from any thread.
#[derive(Clone)]
pub struct Center {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Center {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Center").finish_non_exhaustive()
    }
}

impl Center {
    /// Wraps the core and starts the clock thread that fires its timers.
    pub fn start(core: CenterCore) -> Center {
        let center = Center {
            shared: Arc::new(Shared {
                core: Mutex::new(Inner { core, last: 0 }),
                sink: OnceLock::new(),
                clock: Mutex::new(Clock::default()),
                tick: Condvar::new(),
            }),
        };
        let weak = Arc::downgrade(&center.shared);
        let spawned = std::thread::Builder::new()
            .name("center-clock".into())
            .spawn(move || clock_loop(weak));
        if let Err(e) = spawned {
            tracing::error!(error = %e, "the center's clock thread did not start");
        }
        center.with(|_, _| ());
        center
    }

    /// Sets where notices go (once; the session host and push are built after the center).
    /// Notices produced before are dropped.
    pub fn set_sink(&self, sink: Arc<dyn NoticeSink>) {
        if self.shared.sink.set(sink).is_err() {
            tracing::warn!("the center's notice sink was already set");
        }
    }

    /// Runs `f` on the core at the current time, after the timers due by then have fired, then
    /// hands the notices to their owners and re-arms the clock.
    pub fn with<R>(&self, f: impl FnOnce(&mut CenterCore, Millis) -> R) -> R {
        self.with_at(now(), f)
    }

    /// [`Center::with`] at a given time (never earlier than the last: time does not go back).
    pub fn with_at<R>(&self, now: Millis, f: impl FnOnce(&mut CenterCore, Millis) -> R) -> R {
        let mut inner = self.shared.core.lock();
        let now = now.max(inner.last);
        inner.last = now;
        let core = &mut inner.core;
        core.advance(now);
        let r = f(core, now);
        // What `f` set to happen at once (a demo agent that answers without delay, a zero
        // timeout) happens now, not after a round trip through the clock thread.
        for _ in 0..8 {
            if core.next_deadline().is_none_or(|d| d > now) {
                break;
            }
            core.advance(now);
        }
        match self.shared.sink.get() {
            Some(sink) => {
                for (owner, notice) in core.drain_notices() {
                    sink.deliver(owner, notice);
                }
            }
            None => drop(core.drain_notices()),
        }
        let next = core.next_deadline();
        drop(inner);
        self.arm(next);
        r
    }

    fn arm(&self, next: Option<Millis>) {
        let mut clock = self.shared.clock.lock();
        let earlier = match (next, clock.next) {
            (Some(n), Some(c)) => n < c,
            (Some(_), None) => true,
            _ => false,
        };
        clock.next = next;
        if earlier {
            self.shared.tick.notify_one();
        }
    }

    /// Stops the clock thread.
    pub fn stop(&self) {
        self.shared.clock.lock().stopped = true;
        self.shared.tick.notify_one();
    }
}

fn clock_loop(weak: std::sync::Weak<Shared>) {
    loop {
        let Some(shared) = weak.upgrade() else {
            return;
        };
        {
            let mut clock = shared.clock.lock();
            if clock.stopped {
                return;
            }
            let wait = match clock.next {
                None => Duration::from_secs(1),
                Some(at) => Duration::from_millis(u64::try_from(at - now()).unwrap_or(0)),
            };
            if !wait.is_zero() {
                shared
                    .tick
                    .wait_for(&mut clock, wait.min(Duration::from_secs(1)));
            }
            if clock.stopped {
                return;
            }
        }
        let due = shared.clock.lock().next.is_some_and(|at| at <= now());
        if due {
            let _span = tracing::debug_span!("center_tick").entered();
            Center { shared }.with(|_, _| ());
        }
    }
}
