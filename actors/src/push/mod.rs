//! Push: a Bayeux 1.0 (CometD) server and the GMS notification service on top of it.
//!
//! * [`channel`]: channel names, wildcard patterns and the subscription index.
//! * [`bayeux`]: the sans-IO protocol core (sessions, `/meta/*`, queues, acks) — time passed in.
//! * [`hub`]: [`PushHub`], the cloneable live handle: the transports feed it requests, and
//!   session, queue and agent actors publish through it.
//! * [`agent`]: agents' desktop events as JSON (their channel and the long poll).
//! * [`notify`]: the GMS notification API's subscriptions and deliveries (`comet`, `httpcb`,
//!   `customhttp`, or waiting for `retrieve-notifications`).

pub mod agent;
pub mod bayeux;
pub mod channel;
pub mod hub;
pub mod notify;

pub use agent::agent_event_json;
pub use bayeux::{BayeuxConfig, Frame, Transport};
pub use hub::{agent_channel, PushError, PushHub};
