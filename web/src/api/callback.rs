//! The Callback API (gms-api.md §1, §2.2): create, query, reschedule and cancel callbacks,
//! the per-session requests of their scenarios (`connect`, `check-queue-position`, dialogs),
//! and the admin endpoints the Callback panel uses. Handlers parse and render; the rules are
//! in `actors::callback` and `engine::callback`.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::web::{self, Data, Path, Payload};
use actix_web::{HttpRequest, HttpResponse};
use actors::callback::{
    cancelled_dialog, AvailabilityQuery, CallbackRequest, ChatOp, ChatView, CreateAnswer,
    QueuePosition,
};
use actors::push::notify::{Device, Notifier};
use engine::callback::{reason, CallbackRecord, CallbackState};
use engine::platform::PlatformError;
use serde_json::{json, Map, Value};

use super::error::ApiError;
use super::ors::value_json;
use super::params;
use super::routes::{authenticate, authenticate_service, gms_user, resource, State, Visible};

pub(crate) fn base_url(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}

fn header_pairs(req: &HttpRequest) -> Vec<(String, String)> {
    req.headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect()
}

/// `ContactCenterId`: Ringback serves one contact center; another id is refused as GMS refuses
/// an id its transaction list does not have.
fn contact_center(req: &HttpRequest) -> Result<(), ApiError> {
    match req
        .headers()
        .get("ContactCenterId")
        .and_then(|v| v.to_str().ok())
    {
        None => Ok(()),
        Some(id) if id.trim().is_empty() || id.trim().eq_ignore_ascii_case("default") => Ok(()),
        Some(id) => Err(ApiError::Callback(
            engine::callback::CallbackError::UnknownContactCenter(format!(
                "Callback Contact Center ID: {id} is not configured in transaction list."
            )),
        )),
    }
}

/// A record as GMS answers it: every property by its GMS name, and `_url`.
pub(crate) fn record_json(r: &CallbackRecord, base: &str) -> Value {
    let mut m: Map<String, Value> = r
        .fields()
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    m.insert(
        "_url".into(),
        Value::String(format!(
            "{base}/genesys/1/service/callback/{}/{}",
            r.service, r.id
        )),
    );
    Value::Object(m)
}

fn records_json(records: &[CallbackRecord], base: &str) -> HttpResponse {
    HttpResponse::Ok().json(Value::Array(
        records.iter().map(|r| record_json(r, base)).collect(),
    ))
}

/// `POST /genesys/1/service/callback/{name}` (form, multipart or JSON).
#[utoipa::path(
    post,
    path = "/genesys/1/service/callback/{name}",
    tag = "Callback",
    summary = "Requests a callback (immediate, delayed or scheduled, as the service says)",
    params(("name" = String, Path, description = "The name (a service, template, queue or event)")),
    request_body(content = serde_json::Value, content_type = "application/x-www-form-urlencoded", description = "The request's parameters (also accepted as JSON, multipart or the query string)"),
    responses(
        (status = 200, description = "The scenario's first answer (a dialog), with the callback _id", body = serde_json::Value),
    ),
)]
pub(crate) async fn create(
    req: HttpRequest,
    state: State,
    name: Path<String>,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    authenticate_service(&req, &state, &name)?;
    let p = params::read(&req, payload).await?;
    create_answer(&req, &state, &name, p.texts()).await
}

/// Creates a callback of service `name` (also reached as `POST /genesys/1/service/{name}`).
pub(crate) async fn create_answer(
    req: &HttpRequest,
    state: &State,
    name: &str,
    params: Vec<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    contact_center(req)?;
    let request = CallbackRequest {
        params,
        headers: header_pairs(req),
        gms_user: gms_user(req),
        base_url: base_url(req),
    };
    match state.node.create_callback(name, request).await? {
        CreateAnswer::Created { body, .. } => Ok(HttpResponse::Ok().json(value_json(&body))),
        CreateAnswer::Redirected(answer) => Ok(super::routes::service_answer(answer)),
    }
}

/// `GET /genesys/1/service/callback/{name}?prop=value…&operand=AND|OR`.
#[utoipa::path(
    get,
    path = "/genesys/1/service/callback/{name}",
    tag = "Callback",
    summary = "Callbacks of a service matching the query (properties, ! to negate, repeated keys)",
    params(("name" = String, Path, description = "The name (a service, template, queue or event)")),
    responses(
        (status = 200, description = "The records", body = Vec<serde_json::Value>),
    ),
)]
pub(crate) async fn query(
    req: HttpRequest,
    state: State,
    name: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    authenticate_service(&req, &state, &name)?;
    contact_center(&req)?;
    let q = query_pairs(&req)?;
    let found = state.node.query_callbacks(Some(&name), &q)?;
    Ok(records_json(&found, &base_url(&req)))
}

/// `GET /genesys/1/service/callback?…`: across services.
#[utoipa::path(
    get,
    path = "/genesys/1/service/callback",
    tag = "Callback",
    summary = "Callbacks of every service matching the query",
    responses(
        (status = 200, description = "The records", body = Vec<serde_json::Value>),
    ),
)]
pub(crate) async fn query_all(req: HttpRequest, state: State) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    contact_center(&req)?;
    let q = query_pairs(&req)?;
    let mut found = state.node.query_callbacks(None, &q)?;
    let visible = Visible::of(&req, &state);
    found.retain(|r| visible.sees(&r.service));
    Ok(records_json(&found, &base_url(&req)))
}

fn query_pairs(req: &HttpRequest) -> Result<Vec<(String, String)>, ApiError> {
    let mut out = Vec::new();
    for (k, v) in form_urlencoded::parse(req.query_string().as_bytes()) {
        out.push((k.into_owned(), v.into_owned()));
    }
    Ok(out)
}

/// `GET /genesys/1/service/callback/{name}/{id}`: one record.
#[utoipa::path(
    get,
    path = "/genesys/1/service/callback/{name}/{id}",
    tag = "Callback",
    summary = "One callback record",
    params(("name" = String, Path, description = "The name (a service, template, queue or event)"), ("id" = String, Path, description = "An id (service instance, callback, session, record, agent)")),
    responses(
        (status = 200, description = "The record", body = serde_json::Value),
    ),
)]
pub(crate) async fn one(
    req: HttpRequest,
    state: State,
    path: Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (name, id) = path.into_inner();
    authenticate_service(&req, &state, &name)?;
    let q = vec![("_id".to_owned(), id.clone())];
    let found = state.node.query_callbacks(Some(&name), &q)?;
    let r = found.first().ok_or_else(|| {
        ApiError::Callback(engine::callback::CallbackError::NotFound(format!(
            "Callback {id} does not exist in service {name}."
        )))
    })?;
    Ok(HttpResponse::Ok().json(record_json(r, &base_url(&req))))
}

/// `PUT /genesys/1/service/callback/{name}/{id}`: reschedule or change properties; an empty
/// body on success, as GMS answers.
#[utoipa::path(
    put,
    path = "/genesys/1/service/callback/{name}/{id}",
    tag = "Callback",
    summary = "Reschedules a callback or changes its properties",
    params(("name" = String, Path, description = "The name (a service, template, queue or event)"), ("id" = String, Path, description = "An id (service instance, callback, session, record, agent)")),
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses(
        (status = 200, description = "Changed"),
    ),
)]
pub(crate) async fn update(
    req: HttpRequest,
    state: State,
    path: Path<(String, String)>,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    let (name, id) = path.into_inner();
    authenticate_service(&req, &state, &name)?;
    contact_center(&req)?;
    let p = params::read(&req, payload).await?;
    state.node.update_callback(&name, &id, &p.texts()).await?;
    Ok(HttpResponse::Ok().finish())
}

/// `DELETE /genesys/1/service/callback/{name}/{id}[?discard_ors_failure=true]`.
#[utoipa::path(
    delete,
    path = "/genesys/1/service/callback/{name}/{id}",
    tag = "Callback",
    summary = "Cancels a callback",
    params(("name" = String, Path, description = "The name (a service, template, queue or event)"), ("id" = String, Path, description = "An id (service instance, callback, session, record, agent)")),
    responses(
        (status = "default", description = "The cancellation dialog, with the status the scenario gives", body = serde_json::Value),
    ),
)]
pub(crate) async fn cancel(
    req: HttpRequest,
    state: State,
    path: Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (name, id) = path.into_inner();
    authenticate_service(&req, &state, &name)?;
    contact_center(&req)?;
    let discard = form_urlencoded::parse(req.query_string().as_bytes())
        .any(|(k, v)| k == "discard_ors_failure" && v.eq_ignore_ascii_case("true"));
    let r = match state
        .node
        .cancel_callback(Some(&name), &id, reason::CANCELLED)
        .await
    {
        Ok(r) => r,
        // The record is already cancelled; a session that could not be stopped is ignored.
        Err(actors::NodeError::Session(e)) if discard => {
            tracing::warn!(callback = %id, error = %e, "session failure discarded on cancel");
            state.node.callbacks().get(&id).ok_or_else(|| {
                ApiError::Callback(engine::callback::CallbackError::NotFound(format!(
                    "Callback {id} does not exist."
                )))
            })?
        }
        Err(e) => return Err(e.into()),
    };
    Ok(HttpResponse::Ok().json(value_json(&cancelled_dialog(&r))))
}

/// A chart's `<session:response>`: its status and body (none when it gave no data).
fn chart_answer(status: u16, body: &scxml::Value) -> HttpResponse {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    match body {
        scxml::Value::Undefined | scxml::Value::Null => HttpResponse::build(status).finish(),
        _ => HttpResponse::build(status).json(value_json(body)),
    }
}

fn chat_json(v: &ChatView, base: &str, verbose: bool) -> Value {
    let mut m = json!({
        "chatIxnState": if v.connected { "CONNECTED" } else { "DISCONNECTED" },
        "chatSessionId": v.interaction.to_string(),
        "transcriptPosition": v.position,
        "chatServiceMessage": "Chat service is available",
        "startedAt": super::routes::iso(v.started_at),
        "transcriptToShow": v.entries,
        "_id": v.id,
    });
    if verbose {
        let url = format!("{base}/genesys/1/service/{}/ixn/chat", v.id);
        m["_chatIxnAPI_SEND_URL"] = json!(format!("{url}/send"));
        m["_chatIxnAPI_REFRESH_URL"] = json!(format!("{url}/refresh"));
        m["_chatIxnAPI_STARTTYPING_URL"] = json!(format!("{url}/startTyping"));
        m["_chatIxnAPI_STOPTYPING_URL"] = json!(format!("{url}/stopTyping"));
        m["_chatIxnAPI_DISCONNECT_URL"] = json!(format!("{url}/disconnect"));
    }
    m
}

/// `POST /genesys/1/service/{id}/ixn/chat` (Chat API v1): starts the chat of a chat
/// callback. With `notify_by=comet` the answer is `{_id, comet_channel}` (the agent's messages
/// are pushed on that channel); else the chat as it is.
#[utoipa::path(
    post,
    path = "/genesys/1/service/{id}/ixn/chat",
    tag = "Chat",
    summary = "Starts the chat of a chat callback",
    params(("id" = String, Path, description = "An id (service instance, callback, session, record, agent)")),
    request_body(content = serde_json::Value, content_type = "application/x-www-form-urlencoded", description = "The request's parameters (also accepted as JSON, multipart or the query string)"),
    responses(
        (status = 200, description = "The chat", body = serde_json::Value),
    ),
)]
pub(crate) async fn chat_start(
    req: HttpRequest,
    state: State,
    id: Path<String>,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let p = params::read(&req, payload).await?;
    let view = state.node.start_chat(&id, &p.texts()).await?;
    if p.text("notify_by")
        .is_some_and(|n| n.eq_ignore_ascii_case("comet"))
    {
        return Ok(HttpResponse::Ok().json(json!({"_id": id, "comet_channel": "/_genesys"})));
    }
    let verbose = p
        .text("_verbose")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    Ok(HttpResponse::Ok().json(chat_json(&view, &base_url(&req), verbose)))
}

/// `POST /genesys/1/service/{id}/ixn/chat/{send|refresh|startTyping|stopTyping|disconnect}`.
#[utoipa::path(
    post,
    path = "/genesys/1/service/{id}/ixn/chat/{op}",
    tag = "Chat",
    summary = "A chat operation: send, refresh, startTyping, stopTyping, disconnect, ...",
    params(("id" = String, Path, description = "An id (service instance, callback, session, record, agent)"), ("op" = String, Path, description = "The chat operation")),
    request_body(content = serde_json::Value, content_type = "application/x-www-form-urlencoded", description = "The request's parameters (also accepted as JSON, multipart or the query string)"),
    responses(
        (status = 200, description = "The chat", body = serde_json::Value),
    ),
)]
pub(crate) async fn chat_op(
    req: HttpRequest,
    state: State,
    path: Path<(String, String)>,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    let (id, op) = path.into_inner();
    let p = params::read(&req, payload).await?;
    let op = match op.as_str() {
        "send" => ChatOp::Send(
            p.text("message")
                .filter(|m| !m.is_empty())
                .ok_or_else(|| ApiError::BadRequest("send needs 'message' (its text)".into()))?
                .to_owned(),
        ),
        "refresh" => ChatOp::Refresh,
        "startTyping" => ChatOp::Typing(true),
        "stopTyping" => ChatOp::Typing(false),
        "disconnect" => ChatOp::Disconnect,
        other => {
            return Err(ApiError::NotFound(format!(
                "no chat operation '{other}' (send, refresh, startTyping, stopTyping, disconnect)"
            )))
        }
    };
    let position = match p.text("transcriptPosition").filter(|v| !v.is_empty()) {
        None => 0,
        Some(v) => v.trim().parse::<usize>().map_err(|_| {
            ApiError::BadRequest(format!("transcriptPosition must be a count, not '{v}'"))
        })?,
    };
    let view = state.node.chat(&id, op, position).await?;
    let verbose = p
        .text("_verbose")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    Ok(HttpResponse::Ok().json(chat_json(&view, &base_url(&req), verbose)))
}

/// `POST|GET /genesys/1/service/{id}/connect`.
#[utoipa::path(
    method(get, post),
    path = "/genesys/1/service/{id}/connect",
    tag = "Callback",
    summary = "The customer is ready: connect the callback now",
    params(("id" = String, Path, description = "An id (service instance, callback, session, record, agent)")),
    request_body(content = serde_json::Value, content_type = "application/x-www-form-urlencoded", description = "The request's parameters (also accepted as JSON, multipart or the query string)"),
    responses(
        (status = "default", description = "The scenario's answer", body = serde_json::Value),
    ),
)]
pub(crate) async fn connect(
    req: HttpRequest,
    state: State,
    id: Path<String>,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let p = params::read(&req, payload).await?;
    let (status, body) = state.node.connect_callback(&id, &p.texts()).await?;
    Ok(chart_answer(status, &body))
}

/// `GET|POST /genesys/1/service/{id}/check-queue-position`.
#[utoipa::path(
    method(get, post),
    path = "/genesys/1/service/{id}/check-queue-position",
    tag = "Callback",
    summary = "The callback's position and estimated wait",
    params(("id" = String, Path, description = "An id (service instance, callback, session, record, agent)")),
    responses(
        (status = 200, description = "Position, EWT, total waiting", body = serde_json::Value),
    ),
)]
pub(crate) async fn check_queue_position(
    state: State,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let p: QueuePosition = state.node.queue_position(&id.into_inner()).await?;
    let eta = match p.eta {
        Some(s) => json!(s.round() as i64),
        None => json!("n/a"),
    };
    Ok(HttpResponse::Ok().json(json!({
        "_id": p.id,
        "_position": p.position,
        "_eta": eta,
        "_total_waiting": p.total_waiting,
        "_agent_ready_threshold_passed": p.threshold_passed,
        "_agent_ready_threshold_passed_reason": p.threshold_reason,
        "_callback_state": p.state.as_str(),
        "ewt": p.eta,
    })))
}

/// `GET|POST /genesys/1/service/{id}/{action}`: a dialog the app was pushed, or a menu's
/// action (`snooze`, `cancel`).
#[utoipa::path(
    method(get, post),
    path = "/genesys/1/service/{id}/{action}",
    tag = "Callback",
    summary = "A dialog step the scenario offered (its _action URL)",
    params(("id" = String, Path, description = "An id (service instance, callback, session, record, agent)"), ("action" = String, Path, description = "The action")),
    request_body(content = serde_json::Value, content_type = "application/x-www-form-urlencoded", description = "The request's parameters (also accepted as JSON, multipart or the query string)"),
    responses(
        (status = "default", description = "The scenario's answer", body = serde_json::Value),
    ),
)]
pub(crate) async fn dialog(
    req: HttpRequest,
    state: State,
    path: Path<(String, String)>,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    let (id, action) = path.into_inner();
    if state.node.callbacks().get(&id).is_none() {
        return Err(ApiError::NotFound(format!(
            "no service {id} (path /genesys/1/service/{id}/{action})"
        )));
    }
    let p = params::read(&req, payload).await?;
    let (status, body) = state
        .node
        .callback_request(&id, &action, &p.texts())
        .await?;
    Ok(chart_answer(status, &body))
}

// ---- notifications between the agent and the app ------------------------------------------

/// The device a callback's app is reached on: `_device_notification_id` (else its `gms_user`,
/// else the callback itself, for polling) and `_device_os` (comet by default).
fn callback_device(r: &CallbackRecord) -> Result<Device, ApiError> {
    let id = r
        .data
        .get("_device_notification_id")
        .or_else(|| r.data.get("_gms_user"))
        .filter(|d| !d.trim().is_empty())
        .cloned()
        .unwrap_or_else(|| r.id.clone());
    let os = r
        .data
        .get("_device_os")
        .map(|o| o.trim().to_ascii_lowercase())
        .filter(|o| !o.is_empty())
        .unwrap_or_else(|| "comet".into());
    Device::of_service(&os, &id).map_err(ApiError::from)
}

fn callback_record(state: &State, id: &str) -> Result<CallbackRecord, ApiError> {
    state.node.callbacks().get(id).ok_or_else(|| {
        ApiError::Callback(engine::callback::CallbackError::NotFound(format!(
            "Service {id} does not exist."
        )))
    })
}

/// The two messages of a notification: `_display_message` (shown to the person) and
/// `_application_message` (for the app or desktop), at least one.
fn notification_message(p: &params::Params, id: &str) -> Result<Value, ApiError> {
    let display = p.text("_display_message").filter(|v| !v.is_empty());
    let app = p.text("_application_message").filter(|v| !v.is_empty());
    if display.is_none() && app.is_none() {
        return Err(ApiError::BadRequest(
            "a notification needs _display_message or _application_message".into(),
        ));
    }
    Ok(
        json!({"_id": id, "_internal_message": app.unwrap_or(""), "_display_message": display.unwrap_or("")}),
    )
}

/// `POST /genesys/1/service/{id}/internal-notification` (the agent desktop to the app, once
/// called `poke`): pushed to the callback's device, kept for `retrieve-notifications` when it
/// cannot be pushed.
#[utoipa::path(
    post,
    path = "/genesys/1/service/{id}/internal-notification",
    tag = "Notifications",
    summary = "Sends a notification to the session's customer",
    params(("id" = String, Path, description = "An id (service instance, callback, session, record, agent)")),
    request_body(content = serde_json::Value, content_type = "application/x-www-form-urlencoded", description = "The request's parameters (also accepted as JSON, multipart or the query string)"),
    responses(
        (status = 200, description = "Sent", body = serde_json::Value),
    ),
)]
pub(crate) async fn internal_notification(
    req: HttpRequest,
    state: State,
    notifier: Data<Notifier>,
    id: Path<String>,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let record = callback_record(&state, &id)?;
    let p = params::read(&req, payload).await?;
    let message = notification_message(&p, &id)?;
    let device = callback_device(&record)?;
    notifier
        .publish(
            &format!("service.internal-notification.{id}"),
            message,
            Some(device),
            super::routes::now(),
        )
        .await?;
    Ok(HttpResponse::Ok().json(json!({"message": "Notification Sent"})))
}

/// `POST|GET /genesys/1/service/{id}/retrieve-notifications`: the notifications kept for the
/// callback's device because they could not be pushed (`[]` when push delivered them).
#[utoipa::path(
    method(get, post),
    path = "/genesys/1/service/{id}/retrieve-notifications",
    tag = "Notifications",
    summary = "The notifications kept for a session",
    params(("id" = String, Path, description = "An id (service instance, callback, session, record, agent)")),
    responses(
        (status = 200, description = "The notifications", body = Vec<serde_json::Value>),
    ),
)]
pub(crate) async fn retrieve_notifications(
    state: State,
    notifier: Data<Notifier>,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let record = callback_record(&state, &id)?;
    let device = callback_device(&record)?;
    let kept = notifier
        .retrieve(&device.device_id, super::routes::now())
        .await?;
    // Everything kept for the device goes to it (retrieving takes all of them).
    let messages: Vec<Value> = kept.into_iter().map(|m| m["message"].clone()).collect();
    Ok(HttpResponse::Ok().json(messages))
}

/// Where a callback's messages to its agent are kept.
fn agent_box(id: &str) -> String {
    format!("agent-notifications:{id}")
}

/// `POST /genesys/1/service/{id}/agent-notification` (the app to the agent): kept, durably,
/// for the desktop's `retrieve-agent-notifications`.
#[utoipa::path(
    post,
    path = "/genesys/1/service/{id}/agent-notification",
    tag = "Notifications",
    summary = "Sends a notification to the session's agent",
    params(("id" = String, Path, description = "An id (service instance, callback, session, record, agent)")),
    request_body(content = serde_json::Value, content_type = "application/x-www-form-urlencoded", description = "The request's parameters (also accepted as JSON, multipart or the query string)"),
    responses(
        (status = 200, description = "Sent", body = serde_json::Value),
    ),
)]
pub(crate) async fn agent_notification(
    req: HttpRequest,
    state: State,
    id: Path<String>,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let record = callback_record(&state, &id)?;
    let p = params::read(&req, payload).await?;
    let message = notification_message(&p, &id)?;
    let entry = json!({"message": message.to_string(), "tag": format!("agent.message.{id}")});
    let key = actors::node::new_session_id();
    state
        .platform
        .store()
        .write(vec![engine::store::WriteOp::PutStorage {
            id: agent_box(&id),
            owner: None,
            expires_at: record.expires_at,
            values: BTreeMap::from([(
                key,
                engine::store::StorageValue {
                    bytes: entry.to_string().into_bytes(),
                    content_type: Some("application/json".into()),
                    filename: None,
                },
            )]),
        }])
        .await
        .map_err(PlatformError::from)?;
    Ok(HttpResponse::Ok().json(json!({"message": "Notification Sent"})))
}

/// `POST|GET /genesys/1/service/{id}/retrieve-agent-notifications`: the app's messages for the
/// agent, oldest first, each `{"message", "tag"}`; they are gone once read.
#[utoipa::path(
    method(get, post),
    path = "/genesys/1/service/{id}/retrieve-agent-notifications",
    tag = "Notifications",
    summary = "The agent notifications kept for a session",
    params(("id" = String, Path, description = "An id (service instance, callback, session, record, agent)")),
    responses(
        (status = 200, description = "The notifications", body = Vec<serde_json::Value>),
    ),
)]
pub(crate) async fn retrieve_agent_notifications(
    state: State,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    callback_record(&state, &id)?;
    let store = state.platform.store();
    let now = super::routes::now();
    let Some(kept) = store
        .storage(&agent_box(&id), now)
        .map_err(PlatformError::from)?
    else {
        return Ok(HttpResponse::Ok().json(json!([])));
    };
    let messages: Vec<Value> = kept
        .values
        .values()
        .filter_map(|v| serde_json::from_slice::<Value>(&v.bytes).ok())
        .collect();
    store
        .write(vec![engine::store::WriteOp::DeleteStorage {
            id: agent_box(&id),
        }])
        .await
        .map_err(PlatformError::from)?;
    Ok(HttpResponse::Ok().json(messages))
}

// ---- availability --------------------------------------------------------------------------

fn availability_query(
    req: &HttpRequest,
) -> Result<(AvailabilityQuery, Option<chrono_tz::Tz>), ApiError> {
    let q = query_pairs(req)?;
    let get = |k: &str| {
        q.iter()
            .rev()
            .find(|(qk, v)| qk == k && !v.trim().is_empty())
            .map(|(_, v)| v.trim())
    };
    let time = |iso: &str, ms: &str| -> Result<Option<i64>, ApiError> {
        if let Some(v) = get(ms) {
            return v.parse::<i64>().map(Some).map_err(|_| {
                ApiError::BadRequest(format!("{ms} must be milliseconds since 1970, not '{v}'"))
            });
        }
        match get(iso) {
            None => Ok(None),
            Some(v) => engine::callback::parse_iso(v).map(Some).ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "{iso} must be an ISO 8601 time such as 2026-12-06T14:30:00.000Z, not '{v}'"
                ))
            }),
        }
    };
    let count = |k: &str| -> Result<Option<i64>, ApiError> {
        get(k)
            .map(|v| {
                v.parse::<i64>()
                    .ok()
                    .filter(|n| *n >= 0)
                    .ok_or_else(|| ApiError::BadRequest(format!("{k} must be a count, not '{v}'")))
            })
            .transpose()
    };
    let tz = get("timezone")
        .map(|v| {
            v.parse::<chrono_tz::Tz>()
                .map_err(|_| ApiError::BadRequest(format!("'{v}' is not a time zone name")))
        })
        .transpose()?;
    Ok((
        AvailabilityQuery {
            start: time("start", "start-ms")?,
            end: time("end", "end-ms")?,
            days: count("number-of-days")?,
            max_slots: count("max-time-slots")?.map(|n| n as usize),
            report_busy: get("report-busy").is_some_and(|v| v.eq_ignore_ascii_case("true")),
        },
        tz,
    ))
}

/// `GET /genesys/1/service/callback/{name}/availability`: `{"<slot start>": places left}`.
#[utoipa::path(
    get,
    path = "/genesys/1/service/callback/{name}/availability",
    tag = "Callback",
    summary = "Bookable time slots (v1)",
    params(("name" = String, Path, description = "The name (a service, template, queue or event)")),
    responses(
        (status = 200, description = "Slots by time", body = serde_json::Value),
    ),
)]
pub(crate) async fn availability_v1(
    req: HttpRequest,
    state: State,
    name: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    authenticate_service(&req, &state, &name)?;
    let (q, _) = availability_query(&req)?;
    let slots = state.node.callback_availability(&name, &q)?;
    let out: Map<String, Value> = slots
        .slots
        .iter()
        .filter(|s| s.left > 0 || q.report_busy)
        .map(|s| (super::routes::iso(s.start), json!(s.left)))
        .collect();
    Ok(HttpResponse::Ok().json(Value::Object(out)))
}

/// `GET /genesys/2/service/callback/{name}/availability`: the slots with their local time.
#[utoipa::path(
    get,
    path = "/genesys/2/service/callback/{name}/availability",
    tag = "Callback",
    summary = "Bookable time slots (v2)",
    params(("name" = String, Path, description = "The name (a service, template, queue or event)")),
    responses(
        (status = 200, description = "Slots", body = serde_json::Value),
    ),
)]
pub(crate) async fn availability_v2(
    req: HttpRequest,
    state: State,
    name: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    authenticate_service(&req, &state, &name)?;
    let (q, tz) = availability_query(&req)?;
    let slots = state.node.callback_availability(&name, &q)?;
    let tz = tz.unwrap_or(slots.timezone);
    let list: Vec<Value> = slots
        .slots
        .iter()
        .map(|s| {
            let local = chrono::DateTime::from_timestamp_millis(s.start)
                .map(|t| {
                    t.with_timezone(&tz)
                        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                })
                .unwrap_or_default();
            json!({"utcTime": super::routes::iso(s.start), "localTime": local,
                   "capacity": s.left, "total": s.total})
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "durationMin": slots.bucket_minutes,
        "timezone": tz.name(),
        "slots": list,
    })))
}

/// `/genesys/2`: the availability v2 route.
pub fn configure_v2(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/genesys/2")
            .service(
                resource("/service/callback/{name}/availability")
                    .route(web::get().to(availability_v2)),
            )
            .default_service(web::to(super::routes::not_found)),
    );
}

// ---- admin ---------------------------------------------------------------------------------

/// `GET /genesys/1/admin/callback/queues?target=&start_time=&end_time=&max=&states=&…`:
/// records per service, by default from 15 minutes ago to 24 hours ahead.
#[utoipa::path(
    get,
    path = "/genesys/1/admin/callback/queues",
    tag = "Callback administration",
    summary = "Callbacks by service in a time range",
    responses(
        (status = 200, description = "Records by service", body = serde_json::Value),
    ),
)]
pub(crate) async fn admin_queues(req: HttpRequest, state: State) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    contact_center(&req)?;
    let q = query_pairs(&req)?;
    let get = |k: &str| q.iter().find(|(qk, _)| qk == k).map(|(_, v)| v.as_str());
    let now = super::routes::now();
    let time = |k: &str, default: i64| -> Result<i64, ApiError> {
        match get(k).filter(|v| !v.is_empty()) {
            None => Ok(default),
            Some(v) => engine::callback::parse_iso(v).ok_or_else(|| {
                ApiError::BadRequest(format!("{k} must be an ISO 8601 time, not '{v}'"))
            }),
        }
    };
    let start = time("start_time", now - 15 * 60_000)?;
    let end = time("end_time", now + 24 * 3_600_000)?;
    let max = match get("max") {
        None | Some("") => usize::MAX,
        Some(v) => v
            .parse::<usize>()
            .map_err(|_| ApiError::BadRequest(format!("max must be a count, not '{v}'")))?,
    };
    let states: Vec<CallbackState> = match get("states").filter(|v| !v.is_empty()) {
        None => Vec::new(),
        Some(list) => list
            .split(',')
            .map(|s| {
                CallbackState::parse(s.trim())
                    .ok_or_else(|| ApiError::BadRequest(format!("'{s}' is not a callback state")))
            })
            .collect::<Result<_, _>>()?,
    };
    let target = get("target").filter(|v| !v.is_empty()).map(str::to_owned);
    let filters: Vec<(String, String)> = q
        .iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "target" | "start_time" | "end_time" | "max" | "states"
            )
        })
        .cloned()
        .collect();
    let found = state.node.query_callbacks(target.as_deref(), &filters)?;
    let base = base_url(&req);
    let visible = Visible::of(&req, &state);
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for r in found {
        if !visible.sees(&r.service) || r.desired_time < start || r.desired_time > end {
            continue;
        }
        if !states.is_empty() && !states.contains(&r.state) {
            continue;
        }
        let list = out.entry(r.service.clone()).or_default();
        if list.len() < max {
            list.push(record_json(&r, &base));
        }
    }
    Ok(HttpResponse::Ok().json(out))
}

/// `POST /genesys/1/admin/callback/cancel` `{"reason": "...", "ids": [...]}`: each callback
/// ends COMPLETED with the reason (`CANCELLED_BY_ADMIN` by default); answers what happened to
/// each.
#[utoipa::path(
    post,
    path = "/genesys/1/admin/callback/cancel",
    tag = "Callback administration",
    summary = "Cancels many callbacks",
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses(
        (status = 200, description = "What was cancelled", body = serde_json::Value),
    ),
)]
pub(crate) async fn admin_cancel(
    req: HttpRequest,
    state: State,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    contact_center(&req)?;
    let body = super::routes::read_json(payload).await?;
    let why = body
        .get("reason")
        .and_then(Value::as_str)
        .filter(|r| !r.trim().is_empty())
        .unwrap_or(reason::CANCELLED_BY_ADMIN)
        .to_owned();
    let ids: Vec<String> = body
        .get("ids")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            ApiError::BadRequest("the body needs \"ids\": an array of callback ids".into())
        })?
        .iter()
        .map(|v| {
            v.as_str()
                .map(str::to_owned)
                .ok_or_else(|| ApiError::BadRequest("every id must be a string".into()))
        })
        .collect::<Result<_, _>>()?;
    let visible = Visible::of(&req, &state);
    let mut results = Map::new();
    for id in ids {
        let seen = state
            .node
            .callbacks()
            .get(&id)
            .is_none_or(|r| visible.sees(&r.service));
        if !seen {
            results.insert(id.clone(), json!(format!("Callback {id} does not exist.")));
            continue;
        }
        let outcome = match state.node.cancel_callback(None, &id, &why).await {
            Ok(_) => json!("CANCELLED"),
            Err(e) => json!(ApiError::from(e).message()),
        };
        results.insert(id, outcome);
    }
    Ok(HttpResponse::Ok().json(json!({"reason": why, "results": results})))
}

/// `GET /genesys/1/admin/callback/watermarks[?service_name=a&service_name=b]`: callbacks
/// waiting per service and in total.
#[utoipa::path(
    get,
    path = "/genesys/1/admin/callback/watermarks",
    tag = "Callback administration",
    summary = "Callbacks waiting, by service",
    responses(
        (status = 200, description = "Counts by service and total", body = serde_json::Value),
    ),
)]
pub(crate) async fn admin_watermarks(
    req: HttpRequest,
    state: State,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let q = query_pairs(&req)?;
    let wanted: Vec<&str> = q
        .iter()
        .filter(|(k, _)| k == "service_name")
        .map(|(_, v)| v.as_str())
        .collect();
    let visible = Visible::of(&req, &state);
    let mut services = Map::new();
    let mut total = 0u64;
    for (service, by_state) in state.node.callbacks().counts() {
        if !visible.sees(&service) || (!wanted.is_empty() && !wanted.contains(&service.as_str())) {
            continue;
        }
        let n: u64 = by_state
            .iter()
            .filter(|(s, _)| !s.is_final())
            .map(|(_, n)| *n)
            .sum();
        total += n;
        services.insert(service, json!(n));
    }
    for w in wanted.into_iter().filter(|w| visible.sees(w)) {
        services.entry(w.to_owned()).or_insert(json!(0));
    }
    Ok(HttpResponse::Ok().json(json!({"services": services, "total": total})))
}

/// `POST /genesys/1/admin/callback/reportcancelled` `{"callback_reason", "exported_properties"}`:
/// the cancelled callbacks as CSV.
#[utoipa::path(
    post,
    path = "/genesys/1/admin/callback/reportcancelled",
    tag = "Callback administration",
    summary = "The cancelled callbacks as CSV",
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses(
        (status = 200, description = "The report", body = String, content_type = "text/csv"),
    ),
)]
pub(crate) async fn admin_report_cancelled(
    req: HttpRequest,
    state: State,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let bytes = super::routes::read_limited(payload, params::MAX_BODY).await?;
    let body: Value = if bytes.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::BadRequest(format!("the request body is not valid JSON: {e}")))?
    };
    let why = body
        .get("callback_reason")
        .and_then(Value::as_str)
        .unwrap_or(reason::CANCELLED_BY_ADMIN)
        .to_owned();
    let columns: Vec<String> = match body.get("exported_properties").and_then(Value::as_array) {
        Some(list) if !list.is_empty() => list
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => [
            "_id",
            "_service_name",
            "_customer_number",
            "_desired_time",
            "_callback_state",
            "_callback_reason",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect(),
    };
    let q = vec![
        ("_callback_state".to_owned(), "COMPLETED".to_owned()),
        ("_callback_reason".to_owned(), why),
    ];
    let mut found = state.node.query_callbacks(None, &q)?;
    let visible = Visible::of(&req, &state);
    found.retain(|r| visible.sees(&r.service));
    let mut csv = columns.join(",");
    csv.push('\n');
    for r in &found {
        let row: Vec<String> = columns
            .iter()
            .map(|c| csv_field(r.field(c).as_deref().unwrap_or("")))
            .collect();
        csv.push_str(&row.join(","));
        csv.push('\n');
    }
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            "attachment; filename=\"cancelled-callbacks.csv\"",
        ))
        .body(csv))
}

fn csv_field(v: &str) -> String {
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_owned()
    }
}

/// The callback routes under `/genesys/1/service` (before `/{name}`).
pub(crate) fn service_routes(scope: actix_web::Scope) -> actix_web::Scope {
    scope
        .service(resource("/callback").route(web::get().to(query_all)))
        .service(
            resource("/callback/{name}")
                .route(web::post().to(create))
                .route(web::get().to(query)),
        )
        .service(resource("/callback/{name}/availability").route(web::get().to(availability_v1)))
        .service(
            resource("/callback/{name}/{id}")
                .route(web::get().to(one))
                .route(web::put().to(update))
                .route(web::delete().to(cancel)),
        )
}

/// The per-session routes under `/genesys/1/service` (after the storage ones).
pub(crate) fn session_routes(scope: actix_web::Scope) -> actix_web::Scope {
    scope
        .service(resource("/{id}/ixn/chat").route(web::post().to(chat_start)))
        .service(
            resource("/{id}/internal-notification").route(web::post().to(internal_notification)),
        )
        .service(
            resource("/{id}/retrieve-notifications")
                .route(web::post().to(retrieve_notifications))
                .route(web::get().to(retrieve_notifications)),
        )
        .service(resource("/{id}/agent-notification").route(web::post().to(agent_notification)))
        .service(
            resource("/{id}/retrieve-agent-notifications")
                .route(web::post().to(retrieve_agent_notifications))
                .route(web::get().to(retrieve_agent_notifications)),
        )
        .service(resource("/{id}/ixn/chat/{op}").route(web::post().to(chat_op)))
        .service(
            resource("/{id}/connect")
                .route(web::post().to(connect))
                .route(web::get().to(connect)),
        )
        .service(
            resource("/{id}/check-queue-position")
                .route(web::get().to(check_queue_position))
                .route(web::post().to(check_queue_position)),
        )
        .service(
            resource("/{id}/{action}")
                .route(web::get().to(dialog))
                .route(web::post().to(dialog)),
        )
}

/// The callback routes under `/genesys/1/admin`.
pub(crate) fn admin_routes(scope: actix_web::Scope) -> actix_web::Scope {
    scope
        .service(resource("/callback/queues").route(web::get().to(admin_queues)))
        .service(resource("/callback/cancel").route(web::post().to(admin_cancel)))
        .service(resource("/callback/watermarks").route(web::get().to(admin_watermarks)))
        .service(
            resource("/callback/reportcancelled").route(web::post().to(admin_report_cancelled)),
        )
}
