//! The GMS notification API (gms-api.md §3.8): `POST /genesys/1/notification/subscription`,
//! `DELETE /genesys/1/notification/subscription/{id}`, `POST /genesys/1/notification/publish`
//! (JSON only, else 415), `retrieve-notifications` for devices without active push, and the
//! administrator's `DELETE /genesys/1/admin/cometd/sessions/{gms_user}` and
//! `GET /genesys/1/admin/cometd/stats`.

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header;
use actix_web::web::{self, Data, Path, Payload};
use actix_web::{HttpRequest, HttpResponse};
use actors::push::notify::{
    Device, HttpPost, NewSubscription, Notifier, NotifyError, PushSettings,
};
use actors::push::PushHub;
use engine::platform::Platform;
use serde_json::{json, Value};

use super::auth::{self, Credentials};
use super::error::ApiError;
use super::routes::{now, AppState};

/// Largest notification request body.
const MAX_JSON: usize = 256 * 1024;

impl From<NotifyError> for ApiError {
    fn from(e: NotifyError) -> ApiError {
        match e {
            NotifyError::BadRequest(m) => ApiError::BadRequest(m),
            NotifyError::NotFound(m) => ApiError::NotFound(m),
            NotifyError::Store(s) => ApiError::Internal(format!("the store failed: {s}")),
        }
    }
}

/// The HTTP client of `httpcb` and `customhttp` deliveries: a blocking ureq call on the
/// blocking pool, so no event loop waits on a slow callback URL.
pub fn http_post() -> HttpPost {
    Arc::new(|url: String, body: String| {
        Box::pin(async move {
            let call = tokio::task::spawn_blocking(move || {
                let agent = ureq::AgentBuilder::new()
                    .timeout(Duration::from_secs(10))
                    .build();
                match agent
                    .post(&url)
                    .set("Content-Type", "application/json")
                    .send_string(&body)
                {
                    Ok(resp) => Ok(resp.status()),
                    Err(ureq::Error::Status(code, _)) => Ok(code),
                    Err(e) => Err(e.to_string()),
                }
            });
            call.await.map_err(|e| e.to_string())?
        })
    })
}

/// Opens the notification service on the platform's store and `[push]` options, and keeps it
/// current: every few seconds it re-reads `[push]` and forgets expired subscriptions.
pub fn start(platform: &Arc<Platform>, hub: PushHub) -> anyhow::Result<Notifier> {
    let settings = PushSettings::from_options(platform.section("push").as_deref());
    let notifier = Notifier::open(hub, platform.store().clone(), http_post(), settings, now())
        .map_err(|e| anyhow::anyhow!("cannot load notification subscriptions: {e}"))?;
    let keeper = notifier.clone();
    let platform = platform.clone();
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            keeper.set_settings(PushSettings::from_options(
                platform.section("push").as_deref(),
            ));
            if let Err(e) = keeper.purge(now()).await {
                tracing::warn!(error = %e, "purging notification subscriptions failed");
            }
        }
    });
    Ok(notifier)
}

fn authenticate(req: &HttpRequest, state: &AppState) -> Result<(), ApiError> {
    let server = state.platform.server();
    auth::check(
        req,
        &Credentials {
            username: server.username.clone(),
            password: server.password.clone(),
        },
    )
}

fn gms_user(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get("gms_user")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(String::from)
}

/// The JSON object of a request; the notification API takes JSON only (415 otherwise).
async fn json_body(
    req: &HttpRequest,
    mut payload: Payload,
) -> Result<serde_json::Map<String, Value>, ApiError> {
    use futures_util::StreamExt;
    let json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.trim_start().starts_with("application/json"));
    if !json {
        return Err(ApiError::UnsupportedMediaType(
            "the notification API takes application/json".into(),
        ));
    }
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk
            .map_err(|e| ApiError::BadRequest(format!("cannot read the request body: {e}")))?;
        if body.len() + chunk.len() > MAX_JSON {
            return Err(ApiError::PayloadTooLarge(format!(
                "the request body is larger than {MAX_JSON} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::BadRequest(
            "the request body must be a JSON object".into(),
        )),
        Err(e) => Err(ApiError::BadRequest(format!(
            "the request body is not valid JSON: {e}"
        ))),
    }
}

fn opt_text(body: &serde_json::Map<String, Value>, key: &str) -> Result<Option<String>, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(ApiError::BadRequest(format!(
            "{key} must be a string, not {other}"
        ))),
    }
}

#[utoipa::path(
    post,
    path = "/genesys/1/notification/subscription",
    tag = "Notifications",
    summary = "Subscribes to notifications",
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses(
        (status = 200, description = "The subscription id", body = serde_json::Value),
    ),
)]
pub(crate) async fn subscribe(
    req: HttpRequest,
    payload: Payload,
    state: Data<AppState>,
    notifier: Data<Notifier>,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let body = json_body(&req, payload).await?;
    let details = body
        .get("notificationDetails")
        .ok_or_else(|| ApiError::BadRequest("notificationDetails is required".into()))?;
    let expire = match body.get("expire") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => Some(n.as_i64().ok_or_else(|| {
            ApiError::BadRequest(format!("expire must be a whole number of seconds, not {n}"))
        })?),
        Some(Value::String(s)) => Some(s.trim().parse::<i64>().map_err(|_| {
            ApiError::BadRequest(format!(
                "expire must be a whole number of seconds, not '{s}'"
            ))
        })?),
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "expire must be a whole number of seconds, not {other}"
            )))
        }
    };
    let id = notifier
        .subscribe(
            NewSubscription {
                subscriber_id: opt_text(&body, "subscriberId")?,
                provider_name: opt_text(&body, "providerName")?,
                device: Device::from_json(details)?,
                expire,
                filter: opt_text(&body, "filter")?,
            },
            now(),
        )
        .await?;
    Ok(HttpResponse::Ok().json(json!({"id": id})))
}

#[utoipa::path(
    delete,
    path = "/genesys/1/notification/subscription/{id}",
    tag = "Notifications",
    summary = "Ends a subscription",
    params(("id" = String, Path, description = "An id (service instance, callback, session, record, agent)")),
    responses(
        (status = 200, description = "Ended", body = serde_json::Value),
    ),
)]
pub(crate) async fn unsubscribe(
    req: HttpRequest,
    id: Path<String>,
    state: Data<AppState>,
    notifier: Data<Notifier>,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    notifier.unsubscribe(&id, now()).await?;
    Ok(HttpResponse::Ok().json(json!({})))
}

#[utoipa::path(
    post,
    path = "/genesys/1/notification/publish",
    tag = "Notifications",
    summary = "Publishes a notification",
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses(
        (status = 200, description = "The message id", body = serde_json::Value),
    ),
)]
pub(crate) async fn publish(
    req: HttpRequest,
    payload: Payload,
    state: Data<AppState>,
    notifier: Data<Notifier>,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let body = json_body(&req, payload).await?;
    let tag =
        opt_text(&body, "tag")?.ok_or_else(|| ApiError::BadRequest("tag is required".into()))?;
    let message = body
        .get("message")
        .cloned()
        .ok_or_else(|| ApiError::BadRequest("message is required".into()))?;
    match opt_text(&body, "mediaType")?.as_deref() {
        None | Some("string") | Some("localizestring") => {}
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "mediaType must be string or localizestring, not '{other}'"
            )))
        }
    }
    let direct = match body.get("notificationDetails") {
        None | Some(Value::Null) => None,
        Some(d) => Some(Device::from_json(d)?),
    };
    let (id, deliveries) = notifier.publish(&tag, message, direct, now()).await?;
    tracing::debug!(message = %id, %tag, deliveries = deliveries.len(), "notification published");
    Ok(HttpResponse::Ok().json(json!({"id": id})))
}

/// `retrieve-notifications`: the messages kept for the caller's device (its `gms_user`, or a
/// `_device_notification_id` parameter), oldest first, each `{"id", "tag", "message"}`.
#[utoipa::path(
    method(get, post),
    path = "/genesys/1/service/retrieve-notifications",
    tag = "Notifications",
    summary = "The notifications kept for a subscriber",
    responses(
        (status = 200, description = "The notifications", body = serde_json::Value),
    ),
)]
pub(crate) async fn retrieve(
    req: HttpRequest,
    notifier: Data<Notifier>,
) -> Result<HttpResponse, ApiError> {
    let param = form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == "_device_notification_id")
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.trim().is_empty());
    let device = param.or_else(|| gms_user(&req)).ok_or_else(|| {
        ApiError::BadRequest(
            "retrieve-notifications needs the gms_user header or _device_notification_id".into(),
        )
    })?;
    let messages = notifier.retrieve(&device, now()).await?;
    Ok(HttpResponse::Ok().json(json!({"notifications": messages})))
}

/// Ends the CometD sessions of a `gms_user`; its clients are told to handshake again.
#[utoipa::path(
    delete,
    path = "/genesys/1/admin/cometd/sessions/{gms_user}",
    tag = "Notifications",
    summary = "Ends a user's CometD sessions",
    params(("gms_user" = String, Path, description = "The gms_user of the sessions")),
    responses(
        (status = 200, description = "How many ended", body = serde_json::Value),
    ),
)]
pub(crate) async fn forget_sessions(
    req: HttpRequest,
    user: Path<String>,
    state: Data<AppState>,
    hub: Data<PushHub>,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let removed = hub.forget_user(&user);
    tracing::info!(gms_user = %user, removed, "cometd sessions ended by an administrator");
    Ok(HttpResponse::Ok().json(json!({"removed": removed})))
}

/// Counts of the CometD server: sessions, held connects, messages waiting.
#[utoipa::path(
    get,
    path = "/genesys/1/admin/cometd/stats",
    tag = "Notifications",
    summary = "CometD sessions, held connects and queued messages",
    responses(
        (status = 200, description = "The figures", body = serde_json::Value),
    ),
)]
pub(crate) async fn cometd_stats(
    req: HttpRequest,
    state: Data<AppState>,
    hub: Data<PushHub>,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let s = hub.stats();
    Ok(HttpResponse::Ok()
        .json(json!({"sessions": s.sessions, "heldConnects": s.held, "queuedMessages": s.queued})))
}

async fn method_not_allowed(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed(format!(
        "{} is not allowed on {}",
        req.method(),
        req.path()
    )))
}

fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

/// Mounts the notification routes. Mount before the `/genesys/1` scope: `retrieve-notifications`
/// must win over `/service/{name}`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/genesys/1/notification/subscription").route(web::post().to(subscribe)))
        .service(
            resource("/genesys/1/notification/subscription/{id}")
                .route(web::delete().to(unsubscribe)),
        )
        .service(resource("/genesys/1/notification/publish").route(web::post().to(publish)))
        .service(
            resource("/genesys/1/service/retrieve-notifications")
                .route(web::get().to(retrieve))
                .route(web::post().to(retrieve)),
        )
        .service(resource("/genesys/1/admin/cometd/stats").route(web::get().to(cometd_stats)))
        .service(
            resource("/genesys/1/admin/cometd/sessions/{gms_user}")
                .route(web::delete().to(forget_sessions)),
        );
}
