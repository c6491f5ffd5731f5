//! What the Callback panel needs beyond GMS's callback admin API: its settings
//! (`callback_column_alias`, the keys), a QUEUED callback's diagnostics, and the records' changes
//! as they happen (server-sent events), so the table follows states without a reload. All of it
//! under `/genesys/1/admin/callback/`, read with the role that reads callbacks, and narrowed to
//! the services the user sees.

use std::time::Duration;

use actix_web::web::{self, Bytes, Path};
use actix_web::{HttpRequest, HttpResponse};
use actors::callback::CallbackChange;
use engine::callback::CallbackState;
use serde_json::{json, Map, Value};
use tokio::sync::broadcast::error::RecvError;

use super::callback::{base_url, record_json};
use super::error::ApiError;
use super::routes::{authenticate, resource, State, Visible};

/// A comment line this often keeps proxies from closing a quiet stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// `GET /genesys/1/admin/callback/settings`: the callback services the user sees, the column
/// aliases and the keys.
#[utoipa::path(
    get,
    path = "/genesys/1/admin/callback/settings",
    tag = "Callback administration",
    summary = "The Callback panel's settings: services, column aliases, keys, states",
    responses(
        (status = 200, description = "Settings", body = serde_json::Value),
    ),
)]
pub(crate) async fn settings(req: HttpRequest, state: State) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let mut services = Visible::of(&req, &state).service_names();
    services.retain(|name| state.node.is_callback_service(name));
    let s = state.node.callbacks().settings();
    let alias: Map<String, Value> = s
        .column_alias
        .iter()
        .map(|(k, a)| (k.clone(), json!(a)))
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "services": services,
        "column_alias": alias,
        "filter_keys": s.filter_keys,
        "returned_keys": s.returned_keys,
        "states": CallbackState::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
    })))
}

/// `GET /genesys/1/admin/callback/diagnostics/{id}`.
#[utoipa::path(
    get,
    path = "/genesys/1/admin/callback/diagnostics/{id}",
    tag = "Callback administration",
    summary = "A callback's diagnostics (EWT, position, agents, scenario, ...)",
    params(("id" = String, Path, description = "An id (service instance, callback, session, record, agent)")),
    responses(
        (status = 200, description = "Diagnostics", body = serde_json::Value),
    ),
)]
pub(crate) async fn diagnostics(
    req: HttpRequest,
    state: State,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let visible = Visible::of(&req, &state);
    let missing = || {
        ApiError::Callback(engine::callback::CallbackError::NotFound(format!(
            "Service {id} does not exist."
        )))
    };
    let service = state
        .node
        .callbacks()
        .get(&id)
        .map(|r| r.service)
        .ok_or_else(missing)?;
    if !visible.sees(&service) {
        return Err(missing());
    }
    let d = state.node.callback_diagnostics(&id).await?;
    let facts: Map<String, Value> = d.facts.into_iter().map(|(k, v)| (k, json!(v))).collect();
    Ok(HttpResponse::Ok().json(json!({
        "_id": d.id,
        "service": d.service,
        "state": d.state.as_str(),
        "callback_type": d.scenario,
        "ors_session_id": d.session,
        "queue": d.queue,
        "routing_target": d.target,
        "position": d.position,
        "ewt": d.ewt,
        "waiting": d.waiting,
        "agents_logged_in": d.agents_logged_in,
        "agents_ready": d.agents_ready,
        "agent": d.agent,
        "accepted": engine::callback::iso(d.created_at),
        "facts": facts,
    })))
}

/// One server-sent event.
fn event(name: &str, data: &Value) -> Bytes {
    Bytes::from(format!("event: {name}\ndata: {data}\n\n"))
}

/// `GET /genesys/1/admin/callback/events`: `callback` events (a record as the queues answer it)
/// and `gone` events (`{"_id","_service_name"}`) for the services the user sees; `reload` when
/// the follower fell behind (the page queries afresh). Ends when the server stops.
#[utoipa::path(
    get,
    path = "/genesys/1/admin/callback/events",
    tag = "Callback administration",
    summary = "Server-sent events of every callback change the user may see",
    responses(
        (status = 200, description = "The event stream", body = String, content_type = "text/event-stream"),
    ),
)]
pub(crate) async fn events(req: HttpRequest, state: State) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let visible = Visible::of(&req, &state);
    let base = base_url(&req);
    let rx = state.node.callbacks().follow();
    let closing = state.closing.clone();
    let first =
        futures_util::stream::once(async { Ok::<_, actix_web::Error>(event("ready", &json!({}))) });
    let rest = futures_util::stream::unfold(
        (rx, closing, visible, base),
        |(mut rx, mut closing, visible, base)| async move {
            loop {
                if *closing.borrow() {
                    return None;
                }
                let next = tokio::select! {
                    r = rx.recv() => Some(r),
                    _ = closing.changed() => return None,
                    () = tokio::time::sleep(KEEP_ALIVE) => None,
                };
                let bytes = match next {
                    None => Bytes::from_static(b": keep-alive\n\n"),
                    Some(Ok(CallbackChange::Put(r))) => {
                        if !visible.sees(&r.service) {
                            continue;
                        }
                        event("callback", &record_json(&r, &base))
                    }
                    Some(Ok(CallbackChange::Gone { id, service })) => {
                        if !visible.sees(&service) {
                            continue;
                        }
                        event("gone", &json!({"_id": id, "_service_name": service}))
                    }
                    Some(Err(RecvError::Lagged(n))) => event("reload", &json!({ "missed": n })),
                    Some(Err(RecvError::Closed)) => return None,
                };
                return Some((
                    Ok::<_, actix_web::Error>(bytes),
                    (rx, closing, visible, base),
                ));
            }
        },
    );
    use futures_util::StreamExt as _;
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(first.chain(rest)))
}

/// The panel's routes under `/genesys/1/admin`.
pub(crate) fn admin_routes(scope: actix_web::Scope) -> actix_web::Scope {
    scope
        .service(resource("/callback/settings").route(web::get().to(settings)))
        .service(resource("/callback/events").route(web::get().to(events)))
        .service(resource("/callback/diagnostics/{id}").route(web::get().to(diagnostics)))
}
