//! The routes of `/genesys/1/...`: thin handlers that read parameters, check authentication,
//! call the [`Platform`] and turn its answers into JSON.

use std::collections::BTreeMap;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::web::{self, Data, Path, Payload};
use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use engine::config::option;
use engine::platform::{parse_ttl, Field, NodeStatus, Platform, PlatformError, Reply};
use engine::store::StorageValue;
use serde_json::{Map, Value};

use super::auth::{self, Credentials};
use super::error::ApiError;
use super::params::{self, Param, Params};

/// What every handler shares.
pub struct AppState {
    pub platform: Arc<Platform>,
    /// The routing and telephony center.
    pub engine: actors::EngineHandle,
    /// Services, sessions and calls across the platform, the center and the session hosts.
    pub node: actors::Node,
    /// Stops the HTTP server (set once it runs): used by `changestatus/SHUTDOWN`.
    pub shutdown: tokio::sync::mpsc::UnboundedSender<()>,
    /// The users of the UI and the API.
    pub users: Arc<auth::Users>,
    /// When this server started (ms since the epoch), for the Monitor tab.
    pub started_ms: i64,
    /// Turns true when the server is stopping: open event streams end then.
    pub closing: tokio::sync::watch::Receiver<bool>,
    /// What `GET /metrics` answers.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The store's folder (exports are written under it).
    pub data_dir: std::path::PathBuf,
}

pub(crate) type State = Data<AppState>;

/// Milliseconds since the Unix epoch: the one place the API reads the clock.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl From<PlatformError> for ApiError {
    fn from(e: PlatformError) -> ApiError {
        match e {
            PlatformError::BadRequest(m) => ApiError::BadRequest(m),
            PlatformError::NotFound(m) => ApiError::NotFound(m),
            PlatformError::Unavailable(m) => ApiError::ServiceUnavailable(m),
            PlatformError::NotImplemented(m) => ApiError::NotImplemented(m),
            PlatformError::Forbidden(m) => ApiError::Forbidden(m),
            PlatformError::Conflict(m) => ApiError::Conflict(m),
            PlatformError::Store(s) => ApiError::Internal(format!("the store failed: {s}")),
        }
    }
}

fn field_json(f: &Field) -> Value {
    match f {
        Field::Null => Value::Null,
        Field::Str(s) => Value::String(s.clone()),
        Field::Int(n) => Value::from(*n),
        Field::Bool(b) => Value::Bool(*b),
        Field::Map(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), field_json(v))).collect()),
        Field::List(items) => Value::Array(items.iter().map(field_json).collect()),
    }
}

fn reply(r: Reply) -> HttpResponse {
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::OK);
    let body: Map<String, Value> = r
        .fields
        .iter()
        .map(|(k, v)| (k.clone(), field_json(v)))
        .collect();
    HttpResponse::build(status).json(Value::Object(body))
}

pub(crate) fn options_json(options: &[(String, String)]) -> Value {
    Value::Object(
        options
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

pub(crate) fn gms_user(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get("gms_user")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(String::from)
}

fn server_credentials(state: &State) -> Credentials {
    let server = state.platform.server();
    Credentials {
        username: server.username.clone(),
        password: server.password.clone(),
    }
}

/// Server-level authentication (admin API, storage, patterns).
pub(crate) fn authenticate(req: &HttpRequest, state: &State) -> Result<(), ApiError> {
    with_users(req, state, &server_credentials(state))
}

/// The `[features]` switches as configured now.
pub(crate) fn features(state: &State) -> engine::features::Features {
    engine::features::Features::from_options(
        &state.platform.section("features").unwrap_or_default(),
    )
    .0
}

/// Which services a request may see: every one, unless it comes from a user whose service
/// list names services or their virtual groups (`_service_groups`).
pub(crate) struct Visible {
    user: Option<engine::users::User>,
    platform: Arc<Platform>,
}

impl Visible {
    pub(crate) fn of(req: &HttpRequest, state: &State) -> Visible {
        Visible {
            user: req
                .extensions()
                .get::<auth::Authenticated>()
                .map(|a| a.0.clone())
                .filter(|u| !u.services.is_empty()),
            platform: state.platform.clone(),
        }
    }

    /// The configured services this request may see, by name.
    pub(crate) fn service_names(&self) -> Vec<String> {
        self.platform
            .services()
            .into_iter()
            .map(|(name, _)| name)
            .filter(|name| self.sees(name))
            .collect()
    }

    pub(crate) fn sees(&self, service: &str) -> bool {
        let Some(user) = &self.user else {
            return true;
        };
        let groups = self
            .platform
            .service_options(service)
            .and_then(|o| option(&o, "_service_groups").map(String::from))
            .unwrap_or_default();
        user.may_see(service, &engine::users::service_groups(&groups))
    }
}

/// A request from a user (see [`auth::identify`]) is decided by the user's role; any other
/// by the configured credentials, except that the admin API needs a user once users exist
/// and no password is configured.
fn with_users(req: &HttpRequest, state: &State, required: &Credentials) -> Result<(), ApiError> {
    if let Some(auth::Authenticated(user)) = req.extensions().get::<auth::Authenticated>() {
        auth::allowed(user, req)?;
        return auth::switched_on(&features(state), req);
    }
    // The admin API, and the customers' journeys and profiles, need a user once users exist.
    if required.password.is_none()
        && (req.path().starts_with("/genesys/1/admin/") || req.path().starts_with("/genesys/1/cs/"))
        && state.users.any(now())
    {
        return Err(ApiError::Unauthorized(
            "this server has users: log in (POST /genesys/1/admin/login) or send one of them with HTTP Basic".into(),
        ));
    }
    auth::check(req, required)
}

/// Service-level authentication: the service's `username`/`password` override the server's.
pub(crate) fn authenticate_service(
    req: &HttpRequest,
    state: &State,
    service: &str,
) -> Result<(), ApiError> {
    if !Visible::of(req, state).sees(service) {
        // Answered as for a service that does not exist: a user learns nothing of the others.
        return Err(if req.path().contains("/service/callback") {
            ApiError::Callback(engine::callback::CallbackError::NotFound(format!(
                "Callback service {service} is not configured."
            )))
        } else {
            ApiError::NotFound(format!("service '{service}' is not configured"))
        });
    }
    let svc = state.platform.service_options(service).map(|o| {
        let get = |k: &str| option(&o, k).map(String::from);
        Credentials {
            username: get("username"),
            password: get("password"),
        }
    });
    with_users(
        req,
        state,
        &Credentials::resolve(&server_credentials(state), svc.as_ref()),
    )
}

/// The request body (at most [`params::MAX_BODY`] bytes) as JSON.
pub(crate) async fn read_json(payload: Payload) -> Result<Value, ApiError> {
    let bytes = read_limited(payload, params::MAX_BODY).await?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::BadRequest(format!("the request body is not valid JSON: {e}")))
}

/// A JSON object of option → string value (numbers and booleans are accepted as text).
pub(crate) async fn json_options(payload: Payload) -> Result<Vec<(String, String)>, ApiError> {
    let value = read_json(payload).await?;
    let Value::Object(map) = value else {
        return Err(ApiError::BadRequest(
            "the request body must be a JSON object of option names to values".into(),
        ));
    };
    map.into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k, s)),
            Value::Number(n) => Ok((k, n.to_string())),
            Value::Bool(b) => Ok((k, b.to_string())),
            other => Err(ApiError::BadRequest(format!(
                "option '{k}' must be a string, number or boolean, not {other}"
            ))),
        })
        .collect()
}

pub(crate) async fn read_limited(mut payload: Payload, limit: usize) -> Result<Vec<u8>, ApiError> {
    use futures_util::StreamExt;
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk
            .map_err(|e| ApiError::BadRequest(format!("cannot read the request body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge(format!(
                "the request body is larger than {limit} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

// ---- Node API ------------------------------------------------------------------------------

#[utoipa::path(
    get,
    path = "/genesys/1/admin/node/status",
    tag = "Node",
    summary = "The node status: ONLINE, OFFLINE or SHUTDOWN",
    responses(
        (status = 200, description = "The status", body = String, content_type = "text/plain"),
    ),
)]
pub(crate) async fn node_status(req: HttpRequest, state: State) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain")
        .body(state.platform.node_status().as_str()))
}

#[utoipa::path(
    post,
    path = "/genesys/1/admin/node/changestatus/{status}",
    tag = "Node",
    summary = "Changes the node status (ONLINE, OFFLINE; SHUTDOWN stops the server gracefully)",
    params(("status" = String, Path, description = "ONLINE, OFFLINE or SHUTDOWN")),
    responses(
        (status = 200, description = "The new status", body = String, content_type = "text/plain"),
    ),
)]
pub(crate) async fn node_change(
    req: HttpRequest,
    state: State,
    status: Path<String>,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let status = status.into_inner();
    let new = NodeStatus::parse(&status).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "unknown node status '{status}': use ONLINE, OFFLINE or SHUTDOWN"
        ))
    })?;
    tracing::info!(status = new.as_str(), "node status changed");
    state.platform.set_node_status(new);
    if new == NodeStatus::Shutdown {
        let _ = state.shutdown.send(());
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain")
        .body(new.as_str()))
}

// ---- Admin API -----------------------------------------------------------------------------

#[utoipa::path(
    get,
    path = "/genesys/1/admin/services",
    tag = "Administration",
    summary = "Every configured service and its options",
    responses(
        (status = 200, description = "Services by name", body = serde_json::Value),
    ),
)]
pub(crate) async fn admin_services(
    req: HttpRequest,
    state: State,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let visible = Visible::of(&req, &state);
    let all: Map<String, Value> = state
        .platform
        .services()
        .into_iter()
        .filter(|(name, _)| visible.sees(name))
        .map(|(name, opts)| (name, options_json(&opts)))
        .collect();
    Ok(HttpResponse::Ok().json(Value::Object(all)))
}

#[utoipa::path(
    get,
    path = "/genesys/1/admin/services/{name}",
    tag = "Administration",
    summary = "A service's options",
    params(("name" = String, Path, description = "The name (a service, template, queue or event)")),
    responses(
        (status = 200, description = "Options by name", body = serde_json::Value),
    ),
)]
pub(crate) async fn admin_service_get(
    req: HttpRequest,
    state: State,
    name: Path<String>,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let opts = state
        .platform
        .service_options(&name)
        .filter(|_| Visible::of(&req, &state).sees(&name))
        .ok_or_else(|| ApiError::NotFound(format!("service '{name}' is not configured")))?;
    Ok(HttpResponse::Ok().json(options_json(&opts)))
}

#[utoipa::path(
    put,
    path = "/genesys/1/admin/services/{name}",
    tag = "Administration",
    summary = "Creates or replaces a service's options",
    params(("name" = String, Path, description = "The name (a service, template, queue or event)")),
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses(
        (status = 200, description = "The options stored", body = serde_json::Value),
    ),
)]
pub(crate) async fn admin_service_put(
    req: HttpRequest,
    state: State,
    name: Path<String>,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let options = json_options(payload).await?;
    state.platform.put_service(&name, options).await?;
    let opts = state.platform.service_options(&name).unwrap_or_default();
    Ok(HttpResponse::Ok().json(options_json(&opts)))
}

/// `POST /genesys/1/admin/services/{name}` with `{"template": T, "preset": P}`: a new service
/// from template `T` (and its "Common Default Configuration" `P`); 201 with its options.
#[utoipa::path(
    post,
    path = "/genesys/1/admin/services/{name}",
    tag = "Administration",
    summary = "Creates a service from a template and preset",
    params(("name" = String, Path, description = "The name (a service, template, queue or event)")),
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses(
        (status = 201, description = "The options of the new service", body = serde_json::Value),
    ),
)]
pub(crate) async fn admin_service_create(
    req: HttpRequest,
    state: State,
    name: Path<String>,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let body = read_json(payload).await?;
    let text = |k: &str| match body.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.trim().to_owned())),
        Some(other) => Err(ApiError::BadRequest(format!(
            "'{k}' must be a non-empty string, not {other}"
        ))),
    };
    let template = text("template")?.ok_or_else(|| {
        ApiError::BadRequest(
            "a new service needs 'template' (the name of a service template)".into(),
        )
    })?;
    let preset = text("preset")?;
    let options = state
        .platform
        .create_service(&name, &template, preset.as_deref())
        .await?;
    tracing::info!(service = %name, %template, preset = ?preset, "service created");
    Ok(HttpResponse::Created().json(options_json(&options)))
}

#[utoipa::path(
    delete,
    path = "/genesys/1/admin/services/{name}",
    tag = "Administration",
    summary = "Deletes a service",
    params(("name" = String, Path, description = "The name (a service, template, queue or event)")),
    responses(
        (status = 200, description = "Deleted"),
    ),
)]
pub(crate) async fn admin_service_delete(
    req: HttpRequest,
    state: State,
    name: Path<String>,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    state.platform.delete_service(&name).await?;
    Ok(HttpResponse::Ok().finish())
}

#[utoipa::path(
    get,
    path = "/genesys/1/admin/config/{section}",
    tag = "Administration",
    summary = "A configuration section",
    params(("section" = String, Path, description = "A configuration section")),
    responses(
        (status = 200, description = "Options by name", body = serde_json::Value),
    ),
)]
pub(crate) async fn admin_config_get(
    req: HttpRequest,
    state: State,
    section: Path<String>,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let opts = state
        .platform
        .section(&section)
        .ok_or_else(|| ApiError::NotFound(format!("section '{section}' does not exist")))?;
    Ok(HttpResponse::Ok().json(options_json(&opts)))
}

#[utoipa::path(
    put,
    path = "/genesys/1/admin/config/{section}",
    tag = "Administration",
    summary = "Replaces a configuration section",
    params(("section" = String, Path, description = "A configuration section")),
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses(
        (status = 200, description = "The options stored", body = serde_json::Value),
    ),
)]
pub(crate) async fn admin_config_put(
    req: HttpRequest,
    state: State,
    section: Path<String>,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let options = json_options(payload).await?;
    state.platform.put_config_section(&section, options).await?;
    Ok(HttpResponse::Ok().json(options_json(
        &state.platform.section(&section).unwrap_or_default(),
    )))
}

#[utoipa::path(
    get,
    path = "/genesys/1/admin/templates",
    tag = "Administration",
    summary = "The service templates",
    responses(
        (status = 200, description = "Templates", body = Vec<serde_json::Value>),
    ),
)]
pub(crate) async fn admin_templates(
    req: HttpRequest,
    state: State,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let list: Vec<Value> = state
        .platform
        .templates()
        .list()
        .iter()
        .map(|t| {
            serde_json::json!({
                "name": t.name,
                "type": t.service_type.as_str(),
                "description": t.description,
                "options": t.options.len(),
                "presets": t.presets.iter().map(|p| p.name.clone()).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(list))
}

#[utoipa::path(
    get,
    path = "/genesys/1/admin/templates/{name}",
    tag = "Administration",
    summary = "A template with its options and presets",
    params(("name" = String, Path, description = "The name (a service, template, queue or event)")),
    responses(
        (status = 200, description = "The template", body = serde_json::Value),
    ),
)]
pub(crate) async fn admin_template_get(
    req: HttpRequest,
    state: State,
    name: Path<String>,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let t = state
        .platform
        .templates()
        .get(&name)
        .ok_or_else(|| ApiError::NotFound(format!("template '{name}' does not exist")))?;
    let options: Vec<Value> = t
        .options
        .iter()
        .map(|o| {
            let mut option = serde_json::json!({
                "name": o.name, "default": o.default, "description": o.description,
                "category": o.category, "kind": format!("{:?}", o.kind).to_lowercase(),
                "type": format!("{:?}", o.value_type).to_lowercase(),
            });
            if !o.values.is_empty() {
                option["values"] = serde_json::json!(o.values);
            }
            option
        })
        .collect();
    let presets: Vec<Value> = t
        .presets
        .iter()
        .map(|p| serde_json::json!({"name": p.name, "description": p.description, "values": p.values}))
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "name": t.name, "type": t.service_type.as_str(), "description": t.description,
        "options": options, "presets": presets,
    })))
}

#[utoipa::path(
    method(post, put),
    path = "/genesys/1/admin/templates/{name}",
    tag = "Administration",
    summary = "Uploads a template (a zip holding template.json)",
    params(("name" = String, Path, description = "The name (a service, template, queue or event)")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The template zip (or a multipart form whose file part is it)"),
    responses(
        (status = 200, description = "Stored"),
    ),
)]
pub(crate) async fn admin_template_upload(
    req: HttpRequest,
    state: State,
    name: Path<String>,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let ct = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let zip = if ct.starts_with("multipart/form-data") {
        let p = params::read(&req, payload).await?;
        p.0.into_iter()
            .find_map(|(_, v)| match v {
                Param::File { bytes, .. } => Some(bytes),
                Param::Text(_) => None,
            })
            .ok_or_else(|| {
                ApiError::BadRequest("the upload has no file part (the template zip)".into())
            })?
    } else {
        read_limited(payload, params::MAX_BODY).await?
    };
    state.platform.upload_template(&name, zip).await?;
    Ok(HttpResponse::Ok().finish())
}

#[utoipa::path(
    delete,
    path = "/genesys/1/admin/templates/{name}",
    tag = "Administration",
    summary = "Deletes an uploaded template",
    params(("name" = String, Path, description = "The name (a service, template, queue or event)")),
    responses(
        (status = 200, description = "Deleted"),
    ),
)]
pub(crate) async fn admin_template_delete(
    req: HttpRequest,
    state: State,
    name: Path<String>,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    state.platform.delete_template(&name).await?;
    Ok(HttpResponse::Ok().finish())
}

/// A resource group as the admin API answers it, with the numbers available now.
fn resource_json(state: &State, group: &str) -> Option<Value> {
    let (cfg, available, total) = state.platform.resource_group(group, now())?;
    Some(serde_json::json!({
        "numbers": cfg.numbers,
        "allocation": cfg.allocation.as_str(),
        "locking": cfg.locking,
        "_booking_expiration_timeout": cfg.booking_secs,
        "available": available,
        "total": total,
    }))
}

/// `GET /genesys/1/admin/resources`: every resource group, by name.
#[utoipa::path(
    get,
    path = "/genesys/1/admin/resources",
    tag = "Administration",
    summary = "Every resource group (access numbers)",
    responses(
        (status = 200, description = "Groups by name", body = serde_json::Value),
    ),
)]
pub(crate) async fn admin_resources_list(
    req: HttpRequest,
    state: State,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let all: Map<String, Value> = state
        .platform
        .section_names("resources")
        .into_iter()
        .filter_map(|g| resource_json(&state, &g).map(|v| (g, v)))
        .collect();
    Ok(HttpResponse::Ok().json(Value::Object(all)))
}

#[utoipa::path(
    get,
    path = "/genesys/1/admin/resources/{group}",
    tag = "Administration",
    summary = "A resource group with its available and total numbers",
    params(("group" = String, Path, description = "A resource or pattern group")),
    responses(
        (status = 200, description = "The group", body = serde_json::Value),
    ),
)]
pub(crate) async fn admin_resources_get(
    req: HttpRequest,
    state: State,
    group: Path<String>,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let group = resource_json(&state, &group)
        .ok_or_else(|| ApiError::NotFound(format!("resource group '{group}' does not exist")))?;
    Ok(HttpResponse::Ok().json(group))
}

#[utoipa::path(
    put,
    path = "/genesys/1/admin/resources/{group}",
    tag = "Administration",
    summary = "Creates or replaces a resource group",
    params(("group" = String, Path, description = "A resource or pattern group")),
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses(
        (status = 200, description = "Stored"),
    ),
)]
pub(crate) async fn admin_resources_put(
    req: HttpRequest,
    state: State,
    group: Path<String>,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let value = read_json(payload).await?;
    let Value::Object(map) = value else {
        return Err(ApiError::BadRequest(
            "the request body must be a JSON object".into(),
        ));
    };
    let mut options = Vec::new();
    for (k, v) in map {
        let text = match (k.as_str(), v) {
            ("numbers", Value::Array(items)) => {
                let mut numbers = Vec::new();
                for item in items {
                    match item {
                        Value::String(s) => numbers.push(s),
                        Value::Number(n) => numbers.push(n.to_string()),
                        other => {
                            return Err(ApiError::BadRequest(format!(
                                "'numbers' must list phone numbers as strings, not {other}"
                            )))
                        }
                    }
                }
                numbers.join(",")
            }
            (_, Value::String(s)) => s,
            (_, Value::Number(n)) => n.to_string(),
            (_, Value::Bool(b)) => b.to_string(),
            (key, other) => {
                return Err(ApiError::BadRequest(format!(
                    "'{key}' must be a string, number or boolean, not {other}"
                )))
            }
        };
        options.push((k, text));
    }
    state.platform.put_resource_group(&group, options).await?;
    admin_resources_get(req, state, group).await
}

#[utoipa::path(
    delete,
    path = "/genesys/1/admin/resources/{group}",
    tag = "Administration",
    summary = "Deletes a resource group",
    params(("group" = String, Path, description = "A resource or pattern group")),
    responses(
        (status = 200, description = "Deleted"),
    ),
)]
pub(crate) async fn admin_resources_delete(
    req: HttpRequest,
    state: State,
    group: Path<String>,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    state.platform.delete_resource_group(&group).await?;
    Ok(HttpResponse::Ok().finish())
}

/// `GET /genesys/1/admin/patterns`: every pattern group, by name.
#[utoipa::path(
    get,
    path = "/genesys/1/admin/patterns",
    tag = "Administration",
    summary = "Every pattern group",
    responses(
        (status = 200, description = "Groups by name", body = serde_json::Value),
    ),
)]
pub(crate) async fn admin_patterns_list(
    req: HttpRequest,
    state: State,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let all: Map<String, Value> = state
        .platform
        .section_names("patterns")
        .into_iter()
        .filter_map(|g| {
            let opts = state.platform.pattern_group(&g)?;
            Some((g, options_json(&opts)))
        })
        .collect();
    Ok(HttpResponse::Ok().json(Value::Object(all)))
}

#[utoipa::path(
    get,
    path = "/genesys/1/admin/patterns/{group}",
    tag = "Administration",
    summary = "A pattern group",
    params(("group" = String, Path, description = "A resource or pattern group")),
    responses(
        (status = 200, description = "Patterns by name", body = serde_json::Value),
    ),
)]
pub(crate) async fn admin_patterns_get(
    req: HttpRequest,
    state: State,
    group: Path<String>,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let opts = state
        .platform
        .pattern_group(&group)
        .ok_or_else(|| ApiError::NotFound(format!("pattern group '{group}' does not exist")))?;
    Ok(HttpResponse::Ok().json(options_json(&opts)))
}

#[utoipa::path(
    put,
    path = "/genesys/1/admin/patterns/{group}",
    tag = "Administration",
    summary = "Creates or replaces a pattern group",
    params(("group" = String, Path, description = "A resource or pattern group")),
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses(
        (status = 200, description = "The patterns stored", body = serde_json::Value),
    ),
)]
pub(crate) async fn admin_patterns_put(
    req: HttpRequest,
    state: State,
    group: Path<String>,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let options = json_options(payload).await?;
    state.platform.put_pattern_group(&group, options).await?;
    Ok(HttpResponse::Ok().json(options_json(
        &state.platform.pattern_group(&group).unwrap_or_default(),
    )))
}

#[utoipa::path(
    delete,
    path = "/genesys/1/admin/patterns/{group}",
    tag = "Administration",
    summary = "Deletes a pattern group",
    params(("group" = String, Path, description = "A resource or pattern group")),
    responses(
        (status = 200, description = "Deleted"),
    ),
)]
pub(crate) async fn admin_patterns_delete(
    req: HttpRequest,
    state: State,
    group: Path<String>,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    state.platform.delete_pattern_group(&group).await?;
    Ok(HttpResponse::Ok().finish())
}

// ---- Service API ---------------------------------------------------------------------------

#[utoipa::path(
    method(get, post),
    path = "/genesys/1/service/{name}",
    tag = "Services",
    summary = "Calls a configured service (request-interaction, request-access, match-interaction, get, office-hours, capacity, urs-stat, ORS services, ...)",
    params(("name" = String, Path, description = "The name (a service, template, queue or event)")),
    request_body(content = serde_json::Value, content_type = "application/x-www-form-urlencoded", description = "The request's parameters (also accepted as JSON, multipart or the query string)"),
    responses(
        (status = "default", description = "The service's answer, with the status it gives (e.g. 503 from get while the node is offline)", body = serde_json::Value),
    ),
)]
pub(crate) async fn service_call(
    req: HttpRequest,
    state: State,
    name: Path<String>,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    let configured = state.platform.service_options(&name).is_some();
    if !configured && req.method() == actix_web::http::Method::GET {
        // GET /service/{id}: a service instance's record (a callback's included).
        authenticate(&req, &state)?;
        if let Some(r) = state.node.callbacks().get(&name) {
            let base = super::callback::base_url(&req);
            return Ok(HttpResponse::Ok().json(super::callback::record_json(&r, &base)));
        }
        return service_record(&state, &name);
    }
    authenticate_service(&req, &state, &name)?;
    let p = params::read(&req, payload).await?;
    if state.node.is_callback_service(&name) {
        return super::callback::create_answer(&req, &state, &name, p.texts()).await;
    }
    let user = gms_user(&req);
    let answer = state
        .node
        .call_service(&name, &p.texts(), user.as_deref())
        .await?;
    Ok(service_answer(answer))
}

/// A service's answer as JSON.
pub(crate) fn service_answer(answer: actors::node::ServiceAnswer) -> HttpResponse {
    match answer {
        actors::node::ServiceAnswer::Builtin(r) => reply(r),
        actors::node::ServiceAnswer::UrsStat(r) => super::center::urs_stat_json(r.as_ref()),
        actors::node::ServiceAnswer::Session { body, .. } => {
            HttpResponse::Ok().json(super::ors::value_json(&body))
        }
    }
}

fn service_record(state: &State, id: &str) -> Result<HttpResponse, ApiError> {
    let r = state.platform.service_record(id, now())?;
    let mut body = Map::new();
    body.insert("_id".into(), Value::String(r.id.clone()));
    body.insert("_service_name".into(), Value::String(r.service.clone()));
    body.insert("_created_time".into(), Value::String(iso(r.created_at)));
    if let Some(e) = r.expires_at {
        body.insert("_expiration_time".into(), Value::String(iso(e)));
    }
    for (k, v) in &r.data {
        body.entry(k.clone())
            .or_insert_with(|| Value::String(v.clone()));
    }
    Ok(HttpResponse::Ok().json(Value::Object(body)))
}

pub(crate) fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

#[utoipa::path(
    delete,
    path = "/genesys/1/service/{name}",
    tag = "Services",
    summary = "Ends a service instance and releases its resources",
    params(("name" = String, Path, description = "The name (a service, template, queue or event)")),
    responses(
        (status = 200, description = "Ended"),
    ),
)]
pub(crate) async fn service_delete(
    req: HttpRequest,
    state: State,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    state.platform.delete_service_record(&id, now()).await?;
    Ok(HttpResponse::Ok().finish())
}

// ---- Storage API ---------------------------------------------------------------------------

fn storage_values(p: Params) -> Result<BTreeMap<String, StorageValue>, ApiError> {
    let mut values = BTreeMap::new();
    for (k, v) in p.0 {
        if k.is_empty() {
            return Err(ApiError::BadRequest(
                "a storage key must not be empty".into(),
            ));
        }
        let value = match v {
            Param::Text(t) => StorageValue {
                bytes: t.into_bytes(),
                content_type: None,
                filename: None,
            },
            Param::File {
                bytes,
                content_type,
                filename,
            } => StorageValue {
                bytes,
                content_type: content_type.or_else(|| Some("application/octet-stream".into())),
                filename,
            },
        };
        values.insert(k, value);
    }
    Ok(values)
}

fn storage_json(values: &BTreeMap<String, StorageValue>) -> Value {
    Value::Object(
        values
            .iter()
            .map(|(k, v)| {
                let text = if v.content_type.is_none() {
                    String::from_utf8_lossy(&v.bytes).into_owned()
                } else {
                    // A file part: read it whole with /storage/binary/{id}/{key}.
                    v.filename.clone().unwrap_or_else(|| k.clone())
                };
                (k.clone(), Value::String(text))
            })
            .collect(),
    )
}

#[utoipa::path(
    post,
    path = "/genesys/1/storage/{id}",
    tag = "Storage",
    summary = "Creates a storage record (id: its time to live in seconds, or an id)",
    params(("id" = String, Path, description = "An id (service instance, callback, session, record, agent)")),
    request_body(content = serde_json::Value, content_type = "application/x-www-form-urlencoded", description = "The request's parameters (also accepted as JSON, multipart or the query string)"),
    responses(
        (status = 200, description = "The record id", body = serde_json::Value),
    ),
)]
pub(crate) async fn storage_create(
    req: HttpRequest,
    state: State,
    ttl: Path<String>,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let ttl = parse_ttl(&ttl)?;
    let values = storage_values(params::read(&req, payload).await?)?;
    let user = gms_user(&req);
    let id = state
        .platform
        .create_storage(None, ttl, values, user.as_deref(), now())
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "id": id })))
}

#[utoipa::path(
    post,
    path = "/genesys/1/storage/custom/{id}/{ttl}",
    tag = "Storage",
    summary = "Creates a storage record with a chosen id",
    params(("id" = String, Path, description = "An id (service instance, callback, session, record, agent)"), ("ttl" = String, Path, description = "Seconds the record lives")),
    request_body(content = serde_json::Value, content_type = "application/x-www-form-urlencoded", description = "The request's parameters (also accepted as JSON, multipart or the query string)"),
    responses(
        (status = 200, description = "The record id", body = serde_json::Value),
    ),
)]
pub(crate) async fn storage_create_custom(
    req: HttpRequest,
    state: State,
    path: Path<(String, String)>,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let (custom, ttl) = path.into_inner();
    let ttl = parse_ttl(&ttl)?;
    let values = storage_values(params::read(&req, payload).await?)?;
    let user = gms_user(&req);
    let id = state
        .platform
        .create_storage(Some(&custom), ttl, values, user.as_deref(), now())
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "id": id })))
}

#[utoipa::path(
    post,
    path = "/genesys/1/storage/{id}/{key}",
    tag = "Storage",
    summary = "Adds values to a storage record",
    params(("id" = String, Path, description = "An id (service instance, callback, session, record, agent)"), ("key" = String, Path, description = "A stored value's key")),
    request_body(content = serde_json::Value, content_type = "application/x-www-form-urlencoded", description = "The request's parameters (also accepted as JSON, multipart or the query string)"),
    responses(
        (status = 200, description = "The record id", body = serde_json::Value),
    ),
)]
pub(crate) async fn storage_update(
    req: HttpRequest,
    state: State,
    path: Path<(String, String)>,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let (id, ttl) = path.into_inner();
    let ttl = parse_ttl(&ttl)?;
    let values = storage_values(params::read(&req, payload).await?)?;
    let user = gms_user(&req);
    state
        .platform
        .update_storage(&id, ttl, values, user.as_deref(), now())
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "id": id })))
}

#[utoipa::path(
    get,
    path = "/genesys/1/storage/{id}",
    tag = "Storage",
    summary = "Reads a storage record",
    params(("id" = String, Path, description = "An id (service instance, callback, session, record, agent)")),
    responses(
        (status = 200, description = "The values (JSON), or one binary value"),
    ),
)]
pub(crate) async fn storage_read(
    req: HttpRequest,
    state: State,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let user = gms_user(&req);
    let r = state.platform.storage(&id, user.as_deref(), now())?;
    Ok(HttpResponse::Ok().json(storage_json(&r.values)))
}

fn one_value(
    record: &engine::store::StorageRecord,
    key: &str,
    binary: bool,
) -> Result<HttpResponse, ApiError> {
    let v = record
        .values
        .get(key)
        .ok_or_else(|| ApiError::NotFound(format!("storage '{}' has no key '{key}'", record.id)))?;
    if binary || v.content_type.is_some() {
        let mut resp = HttpResponse::Ok();
        resp.content_type(
            v.content_type
                .clone()
                .unwrap_or_else(|| "application/octet-stream".into()),
        );
        if let Some(name) = &v.filename {
            resp.insert_header((
                "Content-Disposition",
                format!("attachment; filename=\"{}\"", name.replace('"', "")),
            ));
        }
        Ok(resp.body(v.bytes.clone()))
    } else {
        Ok(HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body(v.bytes.clone()))
    }
}

#[utoipa::path(
    get,
    path = "/genesys/1/storage/{id}/{key}",
    tag = "Storage",
    summary = "Reads one value of a storage record",
    params(("id" = String, Path, description = "An id (service instance, callback, session, record, agent)"), ("key" = String, Path, description = "A stored value's key")),
    responses(
        (status = 200, description = "The value"),
    ),
)]
pub(crate) async fn storage_read_key(
    req: HttpRequest,
    state: State,
    path: Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let (id, key) = path.into_inner();
    let user = gms_user(&req);
    let r = state.platform.storage(&id, user.as_deref(), now())?;
    one_value(&r, &key, false)
}

#[utoipa::path(
    get,
    path = "/genesys/1/storage/binary/{id}/{key}",
    tag = "Storage",
    summary = "Reads one binary value of a storage record",
    params(("id" = String, Path, description = "An id (service instance, callback, session, record, agent)"), ("key" = String, Path, description = "A stored value's key")),
    responses(
        (status = 200, description = "The bytes with their content type"),
    ),
)]
pub(crate) async fn storage_read_binary(
    req: HttpRequest,
    state: State,
    path: Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let (id, key) = path.into_inner();
    let user = gms_user(&req);
    let r = state.platform.storage(&id, user.as_deref(), now())?;
    one_value(&r, &key, true)
}

#[utoipa::path(
    delete,
    path = "/genesys/1/storage/{id}",
    tag = "Storage",
    summary = "Deletes a storage record",
    params(("id" = String, Path, description = "An id (service instance, callback, session, record, agent)")),
    responses(
        (status = 200, description = "Deleted"),
    ),
)]
pub(crate) async fn storage_delete(
    req: HttpRequest,
    state: State,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let user = gms_user(&req);
    state
        .platform
        .delete_storage(&id, None, user.as_deref(), now())
        .await?;
    Ok(HttpResponse::Ok().finish())
}

// Per-service storage.

#[utoipa::path(
    post,
    path = "/genesys/1/service/{id}/storage",
    tag = "Storage",
    summary = "Adds values to a service instance's storage",
    params(("id" = String, Path, description = "An id (service instance, callback, session, record, agent)")),
    request_body(content = serde_json::Value, content_type = "application/x-www-form-urlencoded", description = "The request's parameters (also accepted as JSON, multipart or the query string)"),
    responses(
        (status = 200, description = "The service id", body = serde_json::Value),
    ),
)]
pub(crate) async fn service_storage_put(
    req: HttpRequest,
    state: State,
    id: Path<String>,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let values = storage_values(params::read(&req, payload).await?)?;
    state
        .platform
        .put_service_storage(&id, values, now())
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "id": id.into_inner() })))
}

#[utoipa::path(
    get,
    path = "/genesys/1/service/{id}/storage",
    tag = "Storage",
    summary = "A service instance's stored values",
    params(("id" = String, Path, description = "An id (service instance, callback, session, record, agent)")),
    responses(
        (status = 200, description = "Values by key", body = serde_json::Value),
    ),
)]
pub(crate) async fn service_storage_get(
    req: HttpRequest,
    state: State,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    state.platform.service_record(&id, now())?;
    let values = match state.platform.storage(&id, None, now()) {
        Ok(r) => r.values,
        Err(PlatformError::NotFound(_)) => BTreeMap::new(),
        Err(e) => return Err(e.into()),
    };
    Ok(HttpResponse::Ok().json(storage_json(&values)))
}

#[utoipa::path(
    get,
    path = "/genesys/1/service/{id}/storage/{key}",
    tag = "Storage",
    summary = "One stored value of a service instance",
    params(("id" = String, Path, description = "An id (service instance, callback, session, record, agent)"), ("key" = String, Path, description = "A stored value's key")),
    responses(
        (status = 200, description = "The value"),
    ),
)]
pub(crate) async fn service_storage_key(
    req: HttpRequest,
    state: State,
    path: Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let (id, key) = path.into_inner();
    let r = state.platform.storage(&id, None, now())?;
    one_value(&r, &key, false)
}

#[utoipa::path(
    get,
    path = "/genesys/1/service/{id}/storage/binary/{key}",
    tag = "Storage",
    summary = "One binary value of a service instance",
    params(("id" = String, Path, description = "An id (service instance, callback, session, record, agent)"), ("key" = String, Path, description = "A stored value's key")),
    responses(
        (status = 200, description = "The bytes with their content type"),
    ),
)]
pub(crate) async fn service_storage_binary(
    req: HttpRequest,
    state: State,
    path: Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let (id, key) = path.into_inner();
    let r = state.platform.storage(&id, None, now())?;
    one_value(&r, &key, true)
}

#[utoipa::path(
    delete,
    path = "/genesys/1/service/{id}/storage/{key}",
    tag = "Storage",
    summary = "Deletes one stored value of a service instance",
    params(("id" = String, Path, description = "An id (service instance, callback, session, record, agent)"), ("key" = String, Path, description = "A stored value's key")),
    responses(
        (status = 200, description = "Deleted"),
    ),
)]
pub(crate) async fn service_storage_delete_key(
    req: HttpRequest,
    state: State,
    path: Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let (id, key) = path.into_inner();
    state
        .platform
        .delete_storage(&id, Some(&key), None, now())
        .await?;
    Ok(HttpResponse::Ok().finish())
}

// ---- Pattern matcher -----------------------------------------------------------------------

#[utoipa::path(
    post,
    path = "/genesys/1/patterns",
    tag = "Patterns",
    summary = "Which patterns of every group match the values given",
    request_body(content = serde_json::Value, content_type = "application/x-www-form-urlencoded", description = "The request's parameters (also accepted as JSON, multipart or the query string)"),
    responses(
        (status = 200, description = "The matching patterns", body = serde_json::Value),
    ),
)]
pub(crate) async fn patterns_match(
    req: HttpRequest,
    state: State,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let p = params::read(&req, payload).await?;
    let matched = state.platform.match_patterns(None, &p.texts())?;
    Ok(HttpResponse::Ok().json(options_json(&matched)))
}

#[utoipa::path(
    post,
    path = "/genesys/1/patterns/group/{group}",
    tag = "Patterns",
    summary = "Which patterns of a group match the values given",
    params(("group" = String, Path, description = "A resource or pattern group")),
    request_body(content = serde_json::Value, content_type = "application/x-www-form-urlencoded", description = "The request's parameters (also accepted as JSON, multipart or the query string)"),
    responses(
        (status = 200, description = "The matching patterns", body = serde_json::Value),
    ),
)]
pub(crate) async fn patterns_match_group(
    req: HttpRequest,
    state: State,
    group: Path<String>,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let p = params::read(&req, payload).await?;
    let matched = state.platform.match_patterns(Some(&group), &p.texts())?;
    Ok(HttpResponse::Ok().json(options_json(&matched)))
}

// ---- Phone numbers ---------------------------------------------------------------------------

#[utoipa::path(
    get,
    path = "/genesys/1/phonenumber",
    tag = "Services",
    summary = "Analyses a phone number (number=, region=)",
    responses(
        (status = 200, description = "What the number is", body = serde_json::Value),
    ),
)]
pub(crate) async fn phone_number(req: HttpRequest, state: State) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let q: Vec<(String, String)> = form_urlencoded::parse(req.query_string().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let get = |k: &str| option(&q, k).filter(|v| !v.trim().is_empty());
    let number = get("number")
        .ok_or_else(|| ApiError::BadRequest("the 'number' query parameter is required".into()))?;
    let info = engine::phone::analyze_localized(number, get("country"), get("geocodingLocale"))
        .map_err(|e| ApiError::InvalidPhoneNumber(e.to_string()))?;
    Ok(HttpResponse::Ok().json(info))
}

pub(crate) async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound(format!(
        "no API at {} {}",
        req.method(),
        req.path()
    )))
}

async fn method_not_allowed(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed(format!(
        "{} is not allowed on {}",
        req.method(),
        req.path()
    )))
}

/// One path: its method handlers, and 405 for any other method.
pub(crate) fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

/// Every `/genesys/1` route; the server and the integration tests both mount this. Routes are
/// grouped in scopes so a request only tries the patterns of its own area; a known path with
/// another method is 405, an unknown path 404, both with the GMS error body.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/genesys/1")
            .service(
                super::callback::session_routes(
                    super::callback::service_routes(web::scope("/service"))
                        .service(
                            resource("/{name}")
                                .route(web::post().to(service_call))
                                .route(web::get().to(service_call))
                                .route(web::delete().to(service_delete)),
                        )
                        .service(
                            resource("/{id}/storage")
                                .route(web::post().to(service_storage_put))
                                .route(web::get().to(service_storage_get)),
                        )
                        .service(
                            resource("/{id}/storage/binary/{key}")
                                .route(web::get().to(service_storage_binary)),
                        )
                        .service(
                            resource("/{id}/storage/{key}")
                                .route(web::get().to(service_storage_key))
                                .route(web::delete().to(service_storage_delete_key)),
                        ),
                )
                .default_service(web::to(not_found)),
            )
            .service(
                web::scope("/storage")
                    .service(
                        resource("/custom/{id}/{ttl}").route(web::post().to(storage_create_custom)),
                    )
                    .service(
                        resource("/binary/{id}/{key}").route(web::get().to(storage_read_binary)),
                    )
                    .service(
                        resource("/{id}")
                            .route(web::post().to(storage_create))
                            .route(web::get().to(storage_read))
                            .route(web::delete().to(storage_delete)),
                    )
                    .service(
                        resource("/{id}/{key}")
                            .route(web::post().to(storage_update))
                            .route(web::get().to(storage_read_key)),
                    )
                    .default_service(web::to(not_found)),
            )
            .service(
                super::reports::admin_routes(super::callback_panel::admin_routes(
                    super::callback::admin_routes(web::scope("/admin")),
                ))
                .service(resource("/node/status").route(web::get().to(node_status)))
                .service(resource("/node/changestatus/{status}").route(web::post().to(node_change)))
                .service(resource("/login").route(web::post().to(super::login::login)))
                .service(resource("/logout").route(web::post().to(super::login::logout)))
                .service(resource("/me").route(web::get().to(super::login::me)))
                .service(resource("/users").route(web::get().to(super::users::list)))
                .service(
                    resource("/users/{name}")
                        .route(web::get().to(super::users::get))
                        .route(web::put().to(super::users::put))
                        .route(web::delete().to(super::users::delete)),
                )
                .service(resource("/documents").route(web::get().to(super::ors::documents)))
                .service(resource("/nodes").route(web::get().to(super::monitor::nodes)))
                .service(resource("/services").route(web::get().to(admin_services)))
                .service(
                    resource("/services/{name}")
                        .route(web::get().to(admin_service_get))
                        .route(web::post().to(admin_service_create))
                        .route(web::put().to(admin_service_put))
                        .route(web::delete().to(admin_service_delete)),
                )
                .service(
                    resource("/config/{section}")
                        .route(web::get().to(admin_config_get))
                        .route(web::put().to(admin_config_put)),
                )
                .service(resource("/templates").route(web::get().to(admin_templates)))
                .service(
                    resource("/templates/{name}")
                        .route(web::get().to(admin_template_get))
                        .route(web::post().to(admin_template_upload))
                        .route(web::put().to(admin_template_upload))
                        .route(web::delete().to(admin_template_delete)),
                )
                .service(resource("/resources").route(web::get().to(admin_resources_list)))
                .service(
                    resource("/resources/{group}")
                        .route(web::get().to(admin_resources_get))
                        .route(web::put().to(admin_resources_put))
                        .route(web::delete().to(admin_resources_delete)),
                )
                .service(resource("/agents").route(web::get().to(super::center::admin_agents)))
                .service(
                    resource("/agents/{id}")
                        .route(web::get().to(super::center::admin_agent_get))
                        .route(web::put().to(super::center::admin_agent_put))
                        .route(web::delete().to(super::center::admin_agent_delete)),
                )
                .service(resource("/patterns").route(web::get().to(admin_patterns_list)))
                .service(
                    resource("/patterns/{group}")
                        .route(web::get().to(admin_patterns_get))
                        .route(web::put().to(admin_patterns_put))
                        .route(web::delete().to(admin_patterns_delete)),
                )
                .default_service(web::to(not_found)),
            )
            .service(super::cs::scope())
            .service(resource("/openapi.json").route(web::get().to(super::openapi::document)))
            .service(resource("/phonenumber").route(web::get().to(phone_number)))
            .service(resource("/patterns").route(web::post().to(patterns_match)))
            .service(
                resource("/patterns/group/{group}").route(web::post().to(patterns_match_group)),
            )
            .default_service(web::to(not_found)),
    );
}

/// The answer for paths outside the API (mounted as the application's default service).
pub async fn outside_api(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    not_found(req).await
}
