//! `/ringback/1/...`: the agent desktop, virtual-queue statistics and the telephony simulator;
//! `/genesys/1/admin/agents`; and the urs-stat builtin. Thin handlers over [`EngineHandle`]:
//! read the request, call the actor, shape the JSON.
//!
//! [`EngineHandle`]: actors::EngineHandle

use std::time::Duration;

use actix_web::web::{self, Path, Payload, Query};
use actix_web::{HttpRequest, HttpResponse};
use actors::center::core::{AgentView, CenterError};
use actors::push::agent::state_name;
use actors::{AgentAction, HandleError};
use engine::agents::AgentState;
use engine::queue::{Ewt, ItemId};
use engine::routing::router::{QueueReport, RouterError};
use engine::telephony::{DialRules, IxnId};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::error::ApiError;
use super::params;
use super::routes::{
    authenticate, iso, json_options, not_found, options_json, read_limited, resource, State,
};

/// The longest a long poll waits.
const MAX_POLL: Duration = Duration::from_secs(60);

impl From<HandleError> for ApiError {
    fn from(e: HandleError) -> ApiError {
        match e {
            HandleError::Unavailable(m) => ApiError::ServiceUnavailable(m),
            HandleError::Center(c) => c.into(),
        }
    }
}

impl From<CenterError> for ApiError {
    fn from(e: CenterError) -> ApiError {
        let m = e.to_string();
        match e {
            CenterError::UnknownAgent(_) | CenterError::NoInteraction { .. } => {
                ApiError::NotFound(m)
            }
            CenterError::BadRequest(_) => ApiError::BadRequest(m),
            CenterError::Switch(s) => match s {
                engine::telephony::SwitchError::UnknownInteraction(_) => ApiError::NotFound(m),
                engine::telephony::SwitchError::Empty { .. } => ApiError::BadRequest(m),
                engine::telephony::SwitchError::Released(_)
                | engine::telephony::SwitchError::WrongState { .. }
                | engine::telephony::SwitchError::WrongMedia { .. }
                | engine::telephony::SwitchError::NotAParty { .. }
                | engine::telephony::SwitchError::AlreadyAParty { .. } => ApiError::Conflict(m),
            },
            CenterError::Router(r) => match r {
                RouterError::UnknownItem(_)
                | RouterError::NoOffer { .. }
                | RouterError::NoInteraction { .. } => ApiError::NotFound(m),
                RouterError::BadMedia(_) | RouterError::BadQueue(_) | RouterError::Queue(_) => {
                    ApiError::BadRequest(m)
                }
                RouterError::Agent(a) => match a {
                    engine::agents::AgentError::UnknownAgent(_)
                    | engine::agents::AgentError::NoReservation(_) => ApiError::NotFound(m),
                    engine::agents::AgentError::Option { .. }
                    | engine::agents::AgentError::EmptyId
                    | engine::agents::AgentError::DuplicateAgent(_) => ApiError::BadRequest(m),
                    engine::agents::AgentError::LoggedOut(_)
                    | engine::agents::AgentError::UnknownMedia { .. }
                    | engine::agents::AgentError::AtCapacity { .. }
                    | engine::agents::AgentError::NoInteraction { .. }
                    | engine::agents::AgentError::Expired { .. } => ApiError::Conflict(m),
                },
            },
        }
    }
}

fn ewt_json(e: Ewt) -> Value {
    e.seconds()
        .map_or(Value::Null, |s| json!((s * 10.0).round() / 10.0))
}

fn agent_json(a: &AgentView) -> Value {
    let mut body = json!({
        "id": a.config.id,
        "state": state_name(a.state),
        "groups": a.config.groups,
        "skills": a.config.skills,
        "place": a.config.place,
        "capacity": a.config.capacity,
        "offers": a.offers.iter().map(|o| json!({
            "id": o.offer.0.to_string(),
            "queue": o.queue,
            "media": o.media,
            "offered_at": iso(o.offered_at),
            "expires_at": iso(o.expires_at),
            "customer": o.customer,
            "interaction": o.interaction.map(|i| i.to_string()),
            "user_data": pairs_json(&o.user_data),
        })).collect::<Vec<_>>(),
        "interactions": a.interactions.iter().map(|w| json!({
            "id": w.interaction.map_or_else(|| w.item.0.to_string(), |i| i.to_string()),
            "item": w.item.0.to_string(),
            "queue": w.queue,
            "media": w.media,
            "since": iso(w.since),
            "customer": w.customer,
            "call_state": w.call_state,
            "user_data": pairs_json(&w.user_data),
        })).collect::<Vec<_>>(),
        "last_event": a.last_event,
        "auto": a.auto,
    });
    if let (AgentState::AfterCallWork { until }, Value::Object(m)) = (a.state, &mut body) {
        m.insert("after_call_work_until".into(), Value::String(iso(until)));
    }
    body
}

fn pairs_json(pairs: &[(String, String)]) -> Value {
    Value::Object(
        pairs
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

fn queue_json(name: &str, r: &QueueReport) -> Value {
    let s = &r.stats;
    json!({
        "name": name,
        "calls": s.calls,
        "wcalls": s.wcalls,
        "pos": s.pos,
        "wpos": s.wpos,
        "ewt": ewt_json(s.ewt),
        "aqt": s.aqt.map(|a| (a * 10.0).round() / 10.0),
        "time": s.time,
        "head_wait": (s.head_wait * 10.0).round() / 10.0,
        "entered": s.entered,
        "distributed": s.distributed,
        "abandoned": s.abandoned,
        "ready_agents": r.ready_agents,
        "available_agents": r.available_agents,
        "logged_in_agents": r.logged_in_agents,
    })
}

/// A text parameter that must be present: trimmed, not empty, at most `max` bytes; otherwise a
/// 400 with `missing` as the message.
fn required(p: &params::Params, name: &str, max: usize, missing: &str) -> Result<String, ApiError> {
    p.text(name)
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= max)
        .map(str::to_owned)
        .ok_or_else(|| ApiError::BadRequest(missing.to_owned()))
}

fn parse_item(s: &str) -> Result<ItemId, ApiError> {
    s.parse::<u64>()
        .map(ItemId)
        .map_err(|_| ApiError::NotFound(format!("no offer '{s}' (offer ids are numbers)")))
}

// ---- agent desktop ------------------------------------------------------------------------

#[utoipa::path(
    get,
    path = "/ringback/1/agents",
    tag = "Contact center",
    summary = "Agents and their states",
    responses(
        (status = 200, description = "Agents", body = serde_json::Value),
    ),
)]
pub(crate) async fn agents_list(req: HttpRequest, state: State) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let agents = state.engine.agents().await?;
    Ok(HttpResponse::Ok()
        .json(json!({ "agents": agents.iter().map(agent_json).collect::<Vec<_>>() })))
}

#[utoipa::path(
    get,
    path = "/ringback/1/agents/{id}",
    tag = "Contact center",
    summary = "An agent's state",
    params(("id" = String, Path, description = "An id (service instance, callback, session, record, agent)")),
    responses(
        (status = 200, description = "The agent", body = serde_json::Value),
    ),
)]
pub(crate) async fn agent_get(
    req: HttpRequest,
    state: State,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let a = state.engine.agent(id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(agent_json(&a)))
}

#[utoipa::path(
    post,
    path = "/ringback/1/agents/{id}/{action}",
    tag = "Contact center",
    summary = "login, logout, ready, not-ready, ...",
    params(("id" = String, Path, description = "An id (service instance, callback, session, record, agent)"), ("action" = String, Path, description = "The action")),
    request_body(content = serde_json::Value, content_type = "application/x-www-form-urlencoded", description = "The request's parameters (also accepted as JSON, multipart or the query string)"),
    responses(
        (status = 200, description = "The agent", body = serde_json::Value),
    ),
)]
pub(crate) async fn agent_action(
    req: HttpRequest,
    state: State,
    path: Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let (id, action) = path.into_inner();
    let action = match action.as_str() {
        "login" => AgentAction::Login,
        "ready" => AgentAction::Ready,
        "notready" => AgentAction::NotReady,
        "logout" => AgentAction::Logout,
        _ => return not_found(req).await,
    };
    let a = state.engine.agent_state(id, action).await?;
    Ok(HttpResponse::Ok().json(agent_json(&a)))
}

#[utoipa::path(
    post,
    path = "/ringback/1/agents/{id}/offers/{offer}/{action}",
    tag = "Contact center",
    summary = "Accepts or rejects an offer",
    params(("id" = String, Path, description = "An id (service instance, callback, session, record, agent)"), ("offer" = String, Path, description = "An offer id"), ("action" = String, Path, description = "The action")),
    responses(
        (status = 200, description = "The agent", body = serde_json::Value),
    ),
)]
pub(crate) async fn offer_action(
    req: HttpRequest,
    state: State,
    path: Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let (id, offer, action) = path.into_inner();
    let accept = match action.as_str() {
        "accept" => true,
        "reject" => false,
        _ => return not_found(req).await,
    };
    let a = state.engine.offer(id, parse_item(&offer)?, accept).await?;
    Ok(HttpResponse::Ok().json(agent_json(&a)))
}

#[utoipa::path(
    post,
    path = "/ringback/1/agents/{id}/interactions/{ixn}/{action}",
    tag = "Contact center",
    summary = "answer, hangup, transfer, ... an agent's interaction",
    params(("id" = String, Path, description = "An id (service instance, callback, session, record, agent)"), ("ixn" = String, Path, description = "An interaction id"), ("action" = String, Path, description = "The action")),
    request_body(content = serde_json::Value, content_type = "application/x-www-form-urlencoded", description = "The request's parameters (also accepted as JSON, multipart or the query string)"),
    responses(
        (status = 200, description = "The agent", body = serde_json::Value),
    ),
)]
pub(crate) async fn interaction_action(
    req: HttpRequest,
    state: State,
    path: Path<(String, String, String)>,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let (id, ixn, action) = path.into_inner();
    let a = match action.as_str() {
        "complete" => state.engine.interaction(id, ixn, true).await?,
        "hangup" => state.engine.interaction(id, ixn, false).await?,
        "transfer" => {
            let p = params::read(&req, payload).await?;
            let to = required(
                &p,
                "to",
                usize::MAX,
                "a transfer needs 'to' (the receiving agent's id)",
            )?;
            state.engine.transfer(id, ixn, to).await?
        }
        "send" => {
            let p = params::read(&req, payload).await?;
            let text = required(
                &p,
                "message",
                params::MAX_BODY,
                "a chat message needs 'message' (its text)",
            )?;
            let say = actors::center::core::ChatSay::Text(text);
            state.engine.agent_chat(id, ixn, say).await?
        }
        "startTyping" | "stopTyping" => {
            let say = actors::center::core::ChatSay::Typing(action == "startTyping");
            state.engine.agent_chat(id, ixn, say).await?
        }
        _ => return not_found(req).await,
    };
    Ok(HttpResponse::Ok().json(agent_json(&a)))
}

#[derive(Deserialize)]
struct EventsQuery {
    since: Option<String>,
    timeout: Option<String>,
}

#[utoipa::path(
    get,
    path = "/ringback/1/agents/{id}/events",
    tag = "Contact center",
    summary = "An agent's events since a sequence number (long poll)",
    params(("id" = String, Path, description = "An id (service instance, callback, session, record, agent)")),
    responses(
        (status = 200, description = "Events", body = serde_json::Value),
    ),
)]
pub(crate) async fn agent_events(
    req: HttpRequest,
    state: State,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let q = Query::<EventsQuery>::from_query(req.query_string())
        .map_err(|e| ApiError::BadRequest(format!("bad query string: {e}")))?;
    let since = match q.since.as_deref() {
        None | Some("") => 0,
        Some(s) => s.parse::<u64>().map_err(|_| {
            ApiError::BadRequest(format!("since must be an event sequence number, not '{s}'"))
        })?,
    };
    let wait = match q.timeout.as_deref() {
        None | Some("") => Duration::from_secs(30),
        Some(s) => match s.parse::<f64>() {
            Ok(t) if t.is_finite() && t >= 0.0 => Duration::from_secs_f64(t).min(MAX_POLL),
            _ => {
                return Err(ApiError::BadRequest(format!(
                    "timeout must be a number of seconds (0 to 60), not '{s}'"
                )))
            }
        },
    };
    let events = state
        .engine
        .agent_events(id.into_inner(), since, wait)
        .await?;
    let last = events.last().map_or(since, |e| e.seq);
    Ok(HttpResponse::Ok().json(json!({
        "events": events.iter().map(actors::push::agent_event_json).collect::<Vec<_>>(),
        "last": last,
    })))
}

// ---- queues ------------------------------------------------------------------------------

#[utoipa::path(
    get,
    path = "/ringback/1/queues",
    tag = "Contact center",
    summary = "Virtual queues and their figures",
    responses(
        (status = 200, description = "Queues", body = serde_json::Value),
    ),
)]
pub(crate) async fn queues_list(req: HttpRequest, state: State) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let qs = state.engine.queues().await?;
    Ok(HttpResponse::Ok().json(json!({
        "queues": qs.iter().map(|(n, r)| queue_json(n, r)).collect::<Vec<_>>()
    })))
}

#[utoipa::path(
    get,
    path = "/ringback/1/queues/{name}",
    tag = "Contact center",
    summary = "A virtual queue",
    params(("name" = String, Path, description = "The name (a service, template, queue or event)")),
    responses(
        (status = 200, description = "The queue", body = serde_json::Value),
    ),
)]
pub(crate) async fn queue_get(
    req: HttpRequest,
    state: State,
    name: Path<String>,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let name = name.into_inner();
    match state.engine.queue(name.clone()).await? {
        Some(r) => Ok(HttpResponse::Ok().json(queue_json(&name, &r))),
        None => Err(ApiError::NotFound(format!(
            "virtual queue '{name}' has had no activity on this node"
        ))),
    }
}

/// `urs-stat`'s answer: the `lvq` fields of the queue, `{}` with no activity yet.
pub(crate) fn urs_stat_json(report: Option<&QueueReport>) -> HttpResponse {
    let Some(r) = report else {
        return HttpResponse::Ok().json(json!({}));
    };
    let s = &r.stats;
    let mut body = json!({
        "wcalls": s.wcalls, "wpos": s.wpos, "calls": s.calls, "pos": s.pos,
        "time": s.time, "wt": s.head_wait.round() as i64,
    });
    if let Value::Object(m) = &mut body {
        // URS reports numbers; with no estimate yet the fields are left out rather than faked.
        if let Some(e) = s.ewt.seconds() {
            m.insert("ewt".into(), json!((e * 10.0).round() / 10.0));
        }
        if let Some(h) = s.hit() {
            m.insert("hit".into(), json!(h.round() as i64));
        }
        if let Some(a) = s.aqt {
            m.insert("aqt".into(), json!((a * 10.0).round() / 10.0));
        }
        m.insert("ready_agents".into(), json!(r.ready_agents));
        m.insert("available_agents".into(), json!(r.available_agents));
        m.insert("logged_in_agents".into(), json!(r.logged_in_agents));
    }
    HttpResponse::Ok().json(body)
}

// ---- telephony ---------------------------------------------------------------------------

#[utoipa::path(
    get,
    path = "/ringback/1/telephony/rules",
    tag = "Telephony simulator",
    summary = "The dial rules",
    responses(
        (status = 200, description = "Rules", body = serde_json::Value),
    ),
)]
pub(crate) async fn rules_get(req: HttpRequest, state: State) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let rules = state.engine.dial_rules().await?;
    Ok(HttpResponse::Ok().json(rules.to_value()))
}

#[utoipa::path(
    put,
    path = "/ringback/1/telephony/rules",
    tag = "Telephony simulator",
    summary = "Replaces the dial rules",
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses(
        (status = 200, description = "Rules", body = serde_json::Value),
    ),
)]
pub(crate) async fn rules_put(
    req: HttpRequest,
    state: State,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let bytes = read_limited(payload, params::MAX_BODY).await?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| ApiError::BadRequest("the request body is not UTF-8".into()))?;
    let rules = DialRules::from_json(text).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let body = rules.to_value();
    state.engine.set_dial_rules(rules).await?;
    Ok(HttpResponse::Ok().json(body))
}

#[utoipa::path(
    post,
    path = "/ringback/1/telephony/calls",
    tag = "Telephony simulator",
    summary = "A new inbound call",
    request_body(content = serde_json::Value, content_type = "application/x-www-form-urlencoded", description = "The request's parameters (also accepted as JSON, multipart or the query string)"),
    responses(
        (status = 201, description = "The call", body = serde_json::Value),
    ),
)]
pub(crate) async fn call_create(
    req: HttpRequest,
    state: State,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let p = params::read(&req, payload).await?;
    let ani = required(
        &p,
        "ani",
        usize::MAX,
        "an inbound call needs 'ani' (the caller's number)",
    )?;
    let dnis = required(
        &p,
        "dnis",
        usize::MAX,
        "an inbound call needs 'dnis' (the number called)",
    )?;
    if !engine::telephony::is_dialable(&ani) || !engine::telephony::is_dialable(&dnis) {
        return Err(ApiError::BadRequest(format!(
            "ani '{ani}' and dnis '{dnis}' must be phone numbers: digits with an optional leading +, 3 to 15 digits"
        )));
    }
    let ticket = state.node.inbound_call(&ani, &dnis).await?;
    Ok(HttpResponse::Created().json(ticket_json(&ticket)))
}

/// A new call's answer: its interaction, the strategy session that has it, and the queue item
/// the strategy submitted in its first step (if it did).
fn ticket_json(t: &actors::node::CallTicket) -> Value {
    let first = t.items.first();
    let mut body = json!({
        "interaction": t.interaction.to_string(),
        "session": t.session,
        "strategy": t.strategy,
        "item": first.and_then(|i| i.item).map(|i| i.0.to_string()),
        "queue": first.map(|i| i.queue.clone()),
        "position": first.and_then(|i| i.position),
        "ewt": first.map_or(Value::Null, |i| ewt_json(i.ewt)),
    });
    if let (Some(m), Value::Object(b)) = (&t.matched, &mut body) {
        let data: Map<String, Value> = m
            .data
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        b.insert(
            "matched".into(),
            json!({ "_id": m.service_id, "user_data": data }),
        );
    }
    body
}

#[utoipa::path(
    post,
    path = "/ringback/1/telephony/chats",
    tag = "Telephony simulator",
    summary = "A new inbound chat",
    request_body(content = serde_json::Value, content_type = "application/x-www-form-urlencoded", description = "The request's parameters (also accepted as JSON, multipart or the query string)"),
    responses(
        (status = 201, description = "The chat", body = serde_json::Value),
    ),
)]
pub(crate) async fn chat_create(
    req: HttpRequest,
    state: State,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let p = params::read(&req, payload).await?;
    let customer = required(
        &p,
        "customer",
        256,
        "a chat needs 'customer' (1 to 256 characters)",
    )?;
    let ticket = state.node.inbound_chat(&customer).await?;
    Ok(HttpResponse::Created().json(ticket_json(&ticket)))
}

fn parse_ixn(s: &str) -> Result<IxnId, ApiError> {
    s.parse::<IxnId>()
        .map_err(|_| ApiError::NotFound(format!("no interaction '{s}'")))
}

#[utoipa::path(
    get,
    path = "/ringback/1/telephony/calls/{ixn}",
    tag = "Telephony simulator",
    summary = "A call",
    params(("ixn" = String, Path, description = "An interaction id")),
    responses(
        (status = 200, description = "The call", body = serde_json::Value),
    ),
)]
pub(crate) async fn call_get(
    req: HttpRequest,
    state: State,
    ixn: Path<String>,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    call_answer(&state, parse_ixn(&ixn)?).await
}

#[utoipa::path(
    post,
    path = "/ringback/1/telephony/calls/{ixn}/hangup",
    tag = "Telephony simulator",
    summary = "Hangs up a call",
    params(("ixn" = String, Path, description = "An interaction id")),
    responses(
        (status = 200, description = "The call, or nothing once it is gone"),
    ),
)]
pub(crate) async fn call_hangup(
    req: HttpRequest,
    state: State,
    ixn: Path<String>,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let id = parse_ixn(&ixn)?;
    state.engine.customer_hangup(id).await?;
    match state.engine.call(id).await? {
        Some(i) => Ok(HttpResponse::Ok().json(&i)),
        None => Ok(HttpResponse::Ok().finish()),
    }
}

#[utoipa::path(
    post,
    path = "/ringback/1/telephony/dial",
    tag = "Telephony simulator",
    summary = "Dials from an agent's phone",
    request_body(content = serde_json::Value, content_type = "application/x-www-form-urlencoded", description = "The request's parameters (also accepted as JSON, multipart or the query string)"),
    responses(
        (status = 201, description = "The call", body = serde_json::Value),
    ),
)]
pub(crate) async fn dial(
    req: HttpRequest,
    state: State,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let p = params::read(&req, payload).await?;
    let number = required(
        &p,
        "number",
        64,
        "a dial needs 'number' (the customer's number)",
    )?;
    let ixn = state.engine.dial(number).await?;
    match state.engine.call(ixn).await? {
        Some(i) => Ok(HttpResponse::Created().json(&i)),
        None => Err(ApiError::Internal(format!(
            "the dialled interaction {ixn} vanished"
        ))),
    }
}

#[utoipa::path(
    put,
    path = "/ringback/1/telephony/calls/{ixn}/treatment",
    tag = "Telephony simulator",
    summary = "Plays a treatment on a call",
    params(("ixn" = String, Path, description = "An interaction id")),
    request_body(content = serde_json::Value, content_type = "application/x-www-form-urlencoded", description = "The request's parameters (also accepted as JSON, multipart or the query string)"),
    responses(
        (status = 200, description = "Playing"),
    ),
)]
pub(crate) async fn treatment_put(
    req: HttpRequest,
    state: State,
    ixn: Path<String>,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let id = parse_ixn(&ixn)?;
    let p = params::read(&req, payload).await?;
    let name = required(&p, "name", 256, "a treatment needs 'name' (e.g. music)")?;
    state.engine.treatment(id, Some(name)).await?;
    call_answer(&state, id).await
}

#[utoipa::path(
    delete,
    path = "/ringback/1/telephony/calls/{ixn}/treatment",
    tag = "Telephony simulator",
    summary = "Stops a call's treatment",
    params(("ixn" = String, Path, description = "An interaction id")),
    responses(
        (status = 200, description = "Stopped"),
    ),
)]
pub(crate) async fn treatment_delete(
    req: HttpRequest,
    state: State,
    ixn: Path<String>,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let id = parse_ixn(&ixn)?;
    state.engine.treatment(id, None).await?;
    call_answer(&state, id).await
}

async fn call_answer(state: &State, id: IxnId) -> Result<HttpResponse, ApiError> {
    match state.engine.call(id).await? {
        Some(i) => Ok(HttpResponse::Ok().json(&i)),
        None => Err(ApiError::NotFound(format!("no interaction '{id}'"))),
    }
}

// ---- admin: agents -------------------------------------------------------------------------

#[utoipa::path(
    get,
    path = "/genesys/1/admin/agents",
    tag = "Contact center",
    summary = "Every configured agent",
    responses(
        (status = 200, description = "Agents by id", body = serde_json::Value),
    ),
)]
pub(crate) async fn admin_agents(req: HttpRequest, state: State) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let body: Map<String, Value> = state
        .platform
        .agent_sections()
        .into_iter()
        .map(|(id, o)| (id, options_json(&o)))
        .collect();
    Ok(HttpResponse::Ok().json(Value::Object(body)))
}

#[utoipa::path(
    get,
    path = "/genesys/1/admin/agents/{id}",
    tag = "Contact center",
    summary = "An agent's configuration",
    params(("id" = String, Path, description = "An id (service instance, callback, session, record, agent)")),
    responses(
        (status = 200, description = "Options", body = serde_json::Value),
    ),
)]
pub(crate) async fn admin_agent_get(
    req: HttpRequest,
    state: State,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let o = state
        .platform
        .section(&format!("agent.{id}"))
        .ok_or_else(|| ApiError::NotFound(format!("agent '{id}' is not configured")))?;
    Ok(HttpResponse::Ok().json(options_json(&o)))
}

#[utoipa::path(
    put,
    path = "/genesys/1/admin/agents/{id}",
    tag = "Contact center",
    summary = "Creates or replaces an agent",
    params(("id" = String, Path, description = "An id (service instance, callback, session, record, agent)")),
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses(
        (status = 200, description = "Options stored", body = serde_json::Value),
    ),
)]
pub(crate) async fn admin_agent_put(
    req: HttpRequest,
    state: State,
    id: Path<String>,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let options = json_options(payload).await?;
    // Stored first, so an acknowledged agent survives a restart.
    let config = state.platform.put_agent(&id, options.clone()).await?;
    state.engine.put_agent(config).await?;
    Ok(HttpResponse::Ok().json(options_json(&options)))
}

#[utoipa::path(
    delete,
    path = "/genesys/1/admin/agents/{id}",
    tag = "Contact center",
    summary = "Removes an agent",
    params(("id" = String, Path, description = "An id (service instance, callback, session, record, agent)")),
    responses(
        (status = 200, description = "Removed"),
    ),
)]
pub(crate) async fn admin_agent_delete(
    req: HttpRequest,
    state: State,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    state.platform.delete_agent(&id).await?;
    match state.engine.remove_agent(id.into_inner()).await {
        Ok(())
        | Err(HandleError::Center(CenterError::Router(RouterError::Agent(
            engine::agents::AgentError::UnknownAgent(_),
        )))) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(HttpResponse::Ok().finish())
}

/// Every `/ringback/1` route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/ringback/1")
            .service(resource("/agents").route(web::get().to(agents_list)))
            .service(resource("/agents/{id}").route(web::get().to(agent_get)))
            .service(resource("/agents/{id}/events").route(web::get().to(agent_events)))
            .service(resource("/agents/{id}/{action}").route(web::post().to(agent_action)))
            .service(
                resource("/agents/{id}/offers/{offer}/{action}")
                    .route(web::post().to(offer_action)),
            )
            .service(
                resource("/agents/{id}/interactions/{ixn}/{action}")
                    .route(web::post().to(interaction_action)),
            )
            .service(resource("/queues").route(web::get().to(queues_list)))
            .service(resource("/queues/{name}").route(web::get().to(queue_get)))
            .service(
                resource("/telephony/rules")
                    .route(web::get().to(rules_get))
                    .route(web::put().to(rules_put)),
            )
            .service(resource("/telephony/calls").route(web::post().to(call_create)))
            .service(resource("/telephony/chats").route(web::post().to(chat_create)))
            .service(resource("/telephony/dial").route(web::post().to(dial)))
            .service(
                resource("/telephony/calls/{ixn}/treatment")
                    .route(web::put().to(treatment_put))
                    .route(web::delete().to(treatment_delete)),
            )
            .service(resource("/telephony/calls/{ixn}").route(web::get().to(call_get)))
            .service(resource("/telephony/calls/{ixn}/hangup").route(web::post().to(call_hangup)))
            .default_service(web::to(not_found)),
    );
}
