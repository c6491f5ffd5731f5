//! What an agent's desktop event looks like on its push channel (`/ringback/agent/{id}`) and in
//! the long-poll API: one JSON object with `seq`, `at`, `type` and the event's fields.

use engine::agents::AgentState;
use engine::store::Millis;
use serde_json::{json, Map, Value};

use crate::center::core::{AgentEvent, AgentEventKind};

/// An agent state's name on the wire.
pub fn state_name(s: AgentState) -> &'static str {
    match s {
        AgentState::LoggedOut => "logged_out",
        AgentState::NotReady => "not_ready",
        AgentState::Ready => "ready",
        AgentState::AfterCallWork { .. } => "after_call_work",
    }
}

/// ISO-8601 UTC with milliseconds.
fn iso(ms: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

fn data(pairs: &[(String, String)]) -> Value {
    Value::Object(
        pairs
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

pub fn agent_event_json(e: &AgentEvent) -> Value {
    let mut m = Map::new();
    m.insert("seq".into(), json!(e.seq));
    m.insert("at".into(), Value::String(iso(e.at)));
    let (kind, fields) = match &e.kind {
        AgentEventKind::State { state } => ("state", json!({ "state": state_name(*state) })),
        AgentEventKind::Offer {
            offer,
            queue,
            media,
            expires_at,
            customer,
            interaction,
            user_data,
        } => (
            "offer",
            json!({ "offer": offer.0.to_string(), "queue": queue, "media": media,
                    "expires_at": iso(*expires_at), "customer": customer,
                    "interaction": interaction.map(|i| i.to_string()),
                    "user_data": data(user_data) }),
        ),
        AgentEventKind::OfferEnded { offer, reason } => (
            "offer_ended",
            json!({ "offer": offer.0.to_string(), "reason": reason.as_str() }),
        ),
        AgentEventKind::InteractionStarted {
            item,
            interaction,
            media,
            customer,
            user_data,
        } => (
            "interaction_started",
            json!({ "item": item.0.to_string(), "interaction": interaction.map(|i| i.to_string()),
                    "media": media, "customer": customer, "user_data": data(user_data) }),
        ),
        AgentEventKind::InteractionConnected {
            item,
            interaction,
            customer,
        } => (
            "interaction_connected",
            json!({ "item": item.0.to_string(), "interaction": interaction.to_string(),
                    "customer": customer }),
        ),
        AgentEventKind::InteractionReleased {
            item,
            interaction,
            by,
        } => (
            "interaction_released",
            json!({ "item": item.0.to_string(), "interaction": interaction.to_string(), "by": by }),
        ),
        AgentEventKind::InteractionTransferred { item, to } => (
            "interaction_transferred",
            json!({ "item": item.0.to_string(), "to": to }),
        ),
        AgentEventKind::InteractionEnded { item, handle_ms } => (
            "interaction_ended",
            json!({ "item": item.0.to_string(), "handle_time": *handle_ms as f64 / 1000.0 }),
        ),
    };
    m.insert("type".into(), Value::String(kind.into()));
    if let Value::Object(f) = fields {
        m.extend(f);
    }
    Value::Object(m)
}
