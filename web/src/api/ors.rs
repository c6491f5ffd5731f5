//! The ORS session API (`/scxml/session/...`, what GMS itself calls and customers' own tools
//! use), the template documents (`/genesys/1/document/service_template/<name>/<file>`), and
//! the HTTP client sessions fetch with. Thin handlers over [`actors::Node`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::web::{self, Path, Payload, Query};
use actix_web::{HttpRequest, HttpResponse};
use actors::node::NodeSettings;
use actors::push::notify::{Device, Notifier};
use actors::session::core::{FetchSpec, PushSpec, SessionInfo, StartReply};
use actors::session::runner::{json_value, FetchResult, HttpFetch, PushSend};
use scxml::Value;
use serde::Deserialize;
use serde_json::{json, Map};

use super::error::ApiError;
use super::params;
use super::routes::{authenticate, iso, not_found, now, read_limited, resource, State};

/// An event value as JSON (`undefined` is left out of objects, `null` elsewhere).
pub fn value_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Undefined | Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Number(n) => serde_json::Number::from_f64(*n)
            .map(|n| {
                // Whole numbers print as integers, as ECMAScript's JSON.stringify does.
                if n.as_f64()
                    .is_some_and(|f| f.fract() == 0.0 && f.abs() < 9e15)
                {
                    serde_json::Value::from(n.as_f64().unwrap_or_default() as i64)
                } else {
                    serde_json::Value::Number(n)
                }
            })
            .unwrap_or(serde_json::Value::Null),
        Value::String(s) | Value::Xml(s) => serde_json::Value::String(s.clone()),
        Value::Array(items) => serde_json::Value::Array(items.iter().map(value_json).collect()),
        Value::Object(props) => serde_json::Value::Object(
            props
                .iter()
                .filter(|(_, v)| !v.is_undefined())
                .map(|(k, v)| (k.clone(), value_json(v)))
                .collect(),
        ),
    }
}

/// The request's parameters as session values: a JSON object keeps its types; form fields are
/// strings.
async fn values(req: &HttpRequest, payload: Payload) -> Result<Vec<(String, Value)>, ApiError> {
    let json = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.to_ascii_lowercase().starts_with("application/json"));
    if !json {
        let p = params::read(req, payload).await?;
        return Ok(p
            .texts()
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect());
    }
    let mut out: Vec<(String, Value)> = form_urlencoded::parse(req.query_string().as_bytes())
        .into_owned()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    let body = read_limited(payload, params::MAX_BODY).await?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(out);
    }
    let v: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("the request body is not valid JSON: {e}")))?;
    let serde_json::Value::Object(map) = v else {
        return Err(ApiError::BadRequest(
            "the request body must be a JSON object of parameters".into(),
        ));
    };
    if map.len() > params::MAX_FIELDS {
        return Err(ApiError::BadRequest(format!(
            "more than {} parameters",
            params::MAX_FIELDS
        )));
    }
    out.extend(map.iter().map(|(k, v)| (k.clone(), json_value(v))));
    Ok(out)
}

fn object(pairs: Vec<(String, Value)>) -> Value {
    Value::Object(pairs)
}

/// `POST /scxml/session/start`: `src` (inline markup, a template or built-in strategy name, or
/// a URL on an allowed host); every other parameter is session data.
#[utoipa::path(
    post,
    path = "/scxml/session/start",
    tag = "ORS sessions",
    summary = "Starts a session of an SCXML document (src= URL or template, or inline)",
    request_body(content = serde_json::Value, content_type = "application/x-www-form-urlencoded", description = "The request's parameters (also accepted as JSON, multipart or the query string)"),
    responses(
        (status = 200, description = "The session id", body = serde_json::Value),
    ),
)]
pub(crate) async fn start(
    req: HttpRequest,
    state: State,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let mut data = values(&req, payload).await?;
    let src = match data.iter().position(|(k, _)| k == "src") {
        Some(i) => match data.remove(i).1 {
            Value::String(s) if !s.trim().is_empty() => s,
            _ => {
                return Err(ApiError::BadRequest(
                    "'src' must be a non-empty string".into(),
                ))
            }
        },
        None => {
            return Err(ApiError::BadRequest(
                "a session needs 'src': the document inline, a template name, or a URL".into(),
            ))
        }
    };
    let r = state.node.start_session(&src, data).await?;
    Ok(HttpResponse::Ok().json(start_json(&r)))
}

fn start_json(r: &StartReply) -> serde_json::Value {
    let mut body = Map::new();
    body.insert("sessionid".into(), json!(r.id));
    if let Some(resp) = &r.response {
        body.insert("response".into(), value_json(resp));
    }
    if let Some(f) = &r.finished {
        body.insert("finished".into(), json!(f));
    }
    serde_json::Value::Object(body)
}

/// `POST /scxml/session/{id}/event/{name}`: parameters become `_event.data`.
#[utoipa::path(
    post,
    path = "/scxml/session/{id}/event/{name}",
    tag = "ORS sessions",
    summary = "Sends an event to a session",
    params(("id" = String, Path, description = "An id (service instance, callback, session, record, agent)"), ("name" = String, Path, description = "The name (a service, template, queue or event)")),
    request_body(content = serde_json::Value, content_type = "application/x-www-form-urlencoded", description = "The request's parameters (also accepted as JSON, multipart or the query string)"),
    responses(
        (status = 200, description = "Queued", body = serde_json::Value),
    ),
)]
pub(crate) async fn event(
    req: HttpRequest,
    state: State,
    path: Path<(String, String)>,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    let (id, name, data) = addressed(&req, &state, path, payload).await?;
    state.node.event(&id, &name, data).await?;
    Ok(HttpResponse::Ok().json(json!({})))
}

/// The session id, the event name (checked) and the parameters as `_event.data` of an
/// `/event/{name}` or `/request/{name}` call.
async fn addressed(
    req: &HttpRequest,
    state: &State,
    path: Path<(String, String)>,
    payload: Payload,
) -> Result<(String, String, Value), ApiError> {
    authenticate(req, state)?;
    let (id, name) = path.into_inner();
    check_event_name(&name)?;
    let data = object(values(req, payload).await?);
    Ok((id, name, data))
}

fn check_event_name(name: &str) -> Result<(), ApiError> {
    let ok = !name.is_empty()
        && name.len() <= 256
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | ':'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::BadRequest(format!(
            "'{name}' is not an event name (letters, digits, '.', '_', '-', ':')"
        )))
    }
}

/// `POST /scxml/session/{id}/request/{name}`: answered by the chart's `<session:response>`;
/// 504 when none comes within `[ors] request_timeout`.
#[utoipa::path(
    post,
    path = "/scxml/session/{id}/request/{name}",
    tag = "ORS sessions",
    summary = "Sends a request to a session and waits for its answer",
    params(("id" = String, Path, description = "An id (service instance, callback, session, record, agent)"), ("name" = String, Path, description = "The name (a service, template, queue or event)")),
    request_body(content = serde_json::Value, content_type = "application/x-www-form-urlencoded", description = "The request's parameters (also accepted as JSON, multipart or the query string)"),
    responses(
        (status = "default", description = "The session's answer, with the status it chose", body = serde_json::Value),
    ),
)]
pub(crate) async fn request(
    req: HttpRequest,
    state: State,
    path: Path<(String, String)>,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    let (id, name, data) = addressed(&req, &state, path, payload).await?;
    let (status, body) = state.node.request(&id, &name, data).await?;
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    Ok(HttpResponse::build(status).json(value_json(&body)))
}

#[utoipa::path(
    post,
    path = "/scxml/session/{id}/terminate",
    tag = "ORS sessions",
    summary = "Ends a session",
    params(("id" = String, Path, description = "An id (service instance, callback, session, record, agent)")),
    responses(
        (status = 200, description = "Ended", body = serde_json::Value),
    ),
)]
pub(crate) async fn terminate(
    req: HttpRequest,
    state: State,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    state.node.terminate(&id).await?;
    Ok(HttpResponse::Ok().json(json!({})))
}

/// `GET /scxml/session/{id}`: active states, the data model, timers, what it owns.
#[utoipa::path(
    get,
    path = "/scxml/session/{id}",
    tag = "ORS sessions",
    summary = "A session's state",
    params(("id" = String, Path, description = "An id (service instance, callback, session, record, agent)")),
    responses(
        (status = 200, description = "The session", body = serde_json::Value),
    ),
)]
pub(crate) async fn query(
    req: HttpRequest,
    state: State,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let info = state.node.info(&id).await?;
    Ok(HttpResponse::Ok().json(info_json(&info)))
}

fn info_json(i: &SessionInfo) -> serde_json::Value {
    let data: Map<String, serde_json::Value> = i
        .data
        .iter()
        .map(|(k, v)| (k.clone(), value_json(v)))
        .collect();
    json!({
        "sessionid": i.id,
        "document": i.document,
        "documentHash": i.doc_hash,
        "started": iso(i.created_at),
        "activeStates": i.active,
        "datamodel": data,
        "timers": i.timers.iter().map(|(sendid, at)| json!({
            "sendid": sendid,
            "due": iso(i64::try_from(*at).unwrap_or(i64::MAX)),
        })).collect::<Vec<_>>(),
        "queue": i.items.iter().map(|it| json!({
            "requestid": it.requestid,
            "queue": it.queue,
            "target": it.targets,
            "priority": it.priority,
            "entered": iso(it.enqueued_at),
            "item": it.item.map(|n| n.to_string()),
            "agent": it.routed,
        })).collect::<Vec<_>>(),
        "interactions": i.calls.iter().map(|c| json!({
            "id": format!("ixn-{}", c.ixn),
            "requestid": c.requestid,
            "customer": c.customer,
            "media": c.media,
            "direction": c.direction,
        })).collect::<Vec<_>>(),
    })
}

#[derive(Deserialize)]
struct Page {
    offset: Option<String>,
    limit: Option<String>,
}

/// `GET /scxml/sessions?offset=&limit=`: live session ids, sorted.
#[utoipa::path(
    get,
    path = "/scxml/sessions",
    tag = "ORS sessions",
    summary = "Live sessions",
    responses(
        (status = 200, description = "Session ids", body = serde_json::Value),
    ),
)]
pub(crate) async fn list(req: HttpRequest, state: State) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let q = Query::<Page>::from_query(req.query_string())
        .map_err(|e| ApiError::BadRequest(format!("bad query string: {e}")))?;
    let number = |v: Option<&str>, default: usize, max: usize, what: &str| match v {
        None | Some("") => Ok(default),
        Some(s) => s
            .parse::<usize>()
            .ok()
            .filter(|n| *n <= max)
            .ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "{what} must be a whole number up to {max}, not '{s}'"
                ))
            }),
    };
    let offset = number(q.offset.as_deref(), 0, usize::MAX, "offset")?;
    let limit = number(q.limit.as_deref(), 100, 1000, "limit")?;
    let (ids, total) = state.node.list(offset, limit);
    Ok(HttpResponse::Ok().json(json!({
        "total": total, "offset": offset, "limit": limit, "sessions": ids,
    })))
}

/// `GET /genesys/1/document/service_template/<name>/<file>`.
#[utoipa::path(
    get,
    path = "/genesys/1/document/service_template/{name}/{file}",
    tag = "ORS sessions",
    summary = "A document of a service template (SCXML, audio, ...)",
    params(("name" = String, Path, description = "The name (a service, template, queue or event)"), ("file" = String, Path, description = "A file of the template")),
    responses(
        (status = 200, description = "The file"),
    ),
)]
pub(crate) async fn template_document(
    req: HttpRequest,
    state: State,
    path: Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let (template, file) = path.into_inner();
    let bytes = state.node.template_file(&template, &file).ok_or_else(|| {
        ApiError::NotFound(format!("template '{template}' has no document '{file}'"))
    })?;
    let ct = if file.ends_with(".scxml") || file.ends_with(".xml") {
        "application/xml"
    } else if file.ends_with(".json") {
        "application/json"
    } else {
        "application/octet-stream"
    };
    Ok(HttpResponse::Ok().content_type(ct).body(bytes))
}

/// `GET /genesys/1/admin/documents`: every document a template ships (the strategy SCXML its
/// services run) and the built-in strategies, with the URL each downloads from — the Tools >
/// Download DFM panel.
#[utoipa::path(
    get,
    path = "/genesys/1/admin/documents",
    tag = "Administration",
    summary = "Every template's SCXML documents and the built-in strategies (Download DFM)",
    responses(
        (status = 200, description = "Documents", body = Vec<serde_json::Value>),
    ),
)]
pub(crate) async fn documents(req: HttpRequest, state: State) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let list: Vec<serde_json::Value> = state
        .node
        .template_files()
        .into_iter()
        .map(|(template, file, bytes)| {
            json!({
                "url": format!("/genesys/1/document/service_template/{template}/{file}"),
                "template": template, "file": file, "bytes": bytes,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(list))
}

/// The ORS session API and the template documents.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/scxml")
            .service(resource("/session/start").route(web::post().to(start)))
            .service(resource("/sessions").route(web::get().to(list)))
            .service(resource("/session/{id}").route(web::get().to(query)))
            .service(resource("/session/{id}/query").route(web::get().to(query)))
            .service(resource("/session/{id}/terminate").route(web::post().to(terminate)))
            .service(resource("/session/{id}/event/{name}").route(web::post().to(event)))
            .service(resource("/session/{id}/request/{name}").route(web::post().to(request)))
            .default_service(web::to(not_found)),
    )
    .service(
        resource("/genesys/1/document/service_template/{name}/{file}")
            .route(web::get().to(template_document)),
    );
}

/// The HTTP client of `session:fetch` and of documents started by URL: a relative URL
/// (`/genesys/1/...`) goes to this server; an absolute one only to a host `[ors]
/// allowed_hosts` names.
pub fn http_fetch(settings: NodeSettings, own: SocketAddr) -> HttpFetch {
    let settings = Arc::new(settings);
    Arc::new(move |spec: FetchSpec| {
        let settings = settings.clone();
        Box::pin(async move {
            let url = if spec.url.starts_with('/') {
                format!("http://{own}{}", spec.url)
            } else if spec.url.starts_with(&format!("http://{own}/")) || settings.allows(&spec.url)
            {
                spec.url.clone()
            } else {
                return Err(format!(
                    "'{}' is not reachable from a session: its host is not in [ors] allowed_hosts",
                    spec.url
                ));
            };
            let call = tokio::task::spawn_blocking(move || {
                let agent = ureq::AgentBuilder::new()
                    .timeout(Duration::from_millis(spec.timeout_ms.max(1) as u64))
                    .redirects(0)
                    .build();
                let mut r = agent.request(&spec.method, &url);
                if let Some(ct) = &spec.content_type {
                    r = r.set("Content-Type", ct);
                }
                let resp = match &spec.body {
                    Some(b) => r.send_string(b),
                    None => r.call(),
                };
                let resp = match resp {
                    Ok(resp) => resp,
                    Err(ureq::Error::Status(_, resp)) => resp,
                    Err(e) => return Err(e.to_string()),
                };
                let status = resp.status();
                let content_type = resp.header("Content-Type").map(str::to_owned);
                let mut body = String::new();
                use std::io::Read as _;
                resp.into_reader()
                    .take(params::MAX_BODY as u64)
                    .read_to_string(&mut body)
                    .map_err(|e| e.to_string())?;
                Ok(FetchResult {
                    status,
                    content_type,
                    body,
                })
            });
            call.await.map_err(|e| e.to_string())?
        })
    })
}

/// Pushes a session's message through the notification service: to the device it names, and
/// to subscriptions matching its tag.
pub fn push_send(notifier: Notifier) -> PushSend {
    Arc::new(move |spec: PushSpec| {
        let notifier = notifier.clone();
        Box::pin(async move {
            let direct = match (&spec.device_os, &spec.device_id) {
                (Some(os), Some(id)) => {
                    Some(Device::of_service(os, id).map_err(|e| e.to_string())?)
                }
                (None, Some(id)) => {
                    Some(Device::of_service("comet", id).map_err(|e| e.to_string())?)
                }
                _ => None,
            };
            let tag = spec.tag.unwrap_or_else(|| "ors.session.push".into());
            let (id, _) = notifier
                .publish(&tag, value_json(&spec.message), direct, now())
                .await
                .map_err(|e| e.to_string())?;
            Ok(id)
        })
    })
}
