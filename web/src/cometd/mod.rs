//! The CometD endpoint `/genesys/cometd`: Bayeux 1.0 over HTTP long-polling (POST), callback-
//! polling (JSONP over GET) and websocket (GET with Upgrade), on every sub-path the clients use
//! (the CometD client appends `/handshake`, `/connect`, `/disconnect` to the URL).
//!
//! The transports only move bytes: parsing requests into messages, framing replies, holding
//! connects. The protocol is [`actors::push::bayeux`], reached through the [`PushHub`].

pub mod ws;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes, Data, Payload};
use actix_web::{HttpRequest, HttpResponse};
use actors::push::bayeux::BayeuxConfig;
use actors::push::{Frame, PushHub, Transport};
use engine::config::option;
use serde_json::{json, Value};

/// Largest request body (one batch) the endpoint reads.
pub const MAX_REQUEST: usize = 256 * 1024;

/// The Bayeux options of the `[cometd]` section (names as CometD's server parameters):
/// `timeout`, `interval`, `maxInterval`, `maxQueue`, `maxBatch`, `maxSessions`, `websocket`.
pub fn config_from(options: Option<&[(String, String)]>) -> Result<BayeuxConfig, String> {
    let mut cfg = BayeuxConfig::default();
    let Some(o) = options else {
        return Ok(cfg);
    };
    let num = |k: &str, default: i64| -> Result<i64, String> {
        match option(o, k) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| format!("[cometd] {k} must be a whole number >= 0, not '{v}'")),
        }
    };
    cfg.timeout = num("timeout", cfg.timeout)?;
    cfg.interval = num("interval", cfg.interval)?;
    cfg.max_interval = num("maxInterval", cfg.max_interval)?;
    cfg.max_queue = num("maxQueue", cfg.max_queue as i64)?.max(1) as usize;
    cfg.max_batch = num("maxBatch", cfg.max_batch as i64)?.max(1) as usize;
    cfg.max_sessions = num("maxSessions", cfg.max_sessions as i64)? as usize;
    if let Some(v) = option(o, "websocket") {
        cfg.websocket = !matches!(v.trim(), "false" | "0" | "no" | "off");
    }
    Ok(cfg)
}

/// The server's `/service/**` channels (Bayeux §"Service Channels": request-reply, answered to
/// the sender only). `/service/echo` answers with the request's data: a liveness check clients
/// can make over the protocol itself.
pub fn install_services(hub: &PushHub) {
    hub.register_service("/service/echo", Box::new(|call| Some(call.data.clone())));
}

/// Mounts `/genesys/cometd` and its sub-paths.
pub fn configure(cfg: &mut web::ServiceConfig) {
    for path in [
        "/genesys/cometd",
        "/genesys/cometd/",
        "/genesys/cometd/{tail:.*}",
    ] {
        cfg.service(
            web::resource(path)
                .route(web::post().to(long_polling))
                .route(web::get().to(get))
                .default_service(web::to(method_not_allowed)),
        );
    }
}

async fn method_not_allowed(req: HttpRequest) -> HttpResponse {
    bayeux_error(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!(
            "405::method_not_allowed: use POST (long-polling), or GET for JSONP and websocket, not {}",
            req.method()
        ),
    )
}

/// The `gms_user` of a request: the header, as GMS requires ("all HTTP headers must include
/// the gms_user header", gms-api.md §4), or the `gms_user` query parameter for browsers'
/// websockets and JSONP, which cannot set headers.
pub fn gms_user(req: &HttpRequest) -> Option<String> {
    let header = req
        .headers()
        .get("gms_user")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty());
    if let Some(h) = header {
        return Some(h.to_string());
    }
    form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == "gms_user")
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// A JSON array of frames.
fn array(frames: &[Frame]) -> String {
    let mut out = String::with_capacity(2 + frames.iter().map(|f| f.len() + 1).sum::<usize>());
    out.push('[');
    for (i, f) in frames.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(f);
    }
    out.push(']');
    out
}

/// A transport-level failure (the request could not be read as messages), still as a Bayeux
/// reply array so clients see a Bayeux `error`.
fn bayeux_error(status: StatusCode, error: &str) -> HttpResponse {
    HttpResponse::build(status)
        .json(json!([{"channel": "/meta/unknown", "successful": false, "error": error}]))
}

/// Why a request body is not a batch of messages.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error("400::message_invalid: the body is not JSON: {0}")]
    Json(String),
    #[error("400::message_invalid: the body is neither a message nor an array of messages")]
    Shape,
    #[error("400::message_missing: the request holds no message")]
    Empty,
}

/// Parses a batch: "a Bayeux server MUST accept either array of messages and MAY accept a
/// single message" (Bayeux §"Protocol elements").
pub fn parse_batch(text: &[u8]) -> Result<Vec<Value>, BatchError> {
    match serde_json::from_slice::<Value>(text).map_err(|e| BatchError::Json(e.to_string()))? {
        Value::Array(items) => Ok(items),
        one @ Value::Object(_) => Ok(vec![one]),
        _ => Err(BatchError::Shape),
    }
}

/// Replies for a batch from a request without `gms_user`.
fn refuse_without_user(messages: &[Value]) -> Vec<Frame> {
    messages
        .iter()
        .map(|m| {
            let mut r = json!({
                "channel": m.get("channel").and_then(Value::as_str).unwrap_or("/meta/unknown"),
                "successful": false,
                "error": "401::gms_user_required: CometD requests need the gms_user header",
                "advice": {"reconnect": "none"},
            });
            if let (Some(id), Some(obj)) = (m.get("id"), r.as_object_mut()) {
                obj.insert("id".into(), id.clone());
            }
            Frame::from(r.to_string())
        })
        .collect()
}

async fn read_body(mut payload: Payload) -> Result<Bytes, HttpResponse> {
    use futures_util::StreamExt;
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            bayeux_error(
                StatusCode::BAD_REQUEST,
                &format!("400::message_invalid: cannot read the body: {e}"),
            )
        })?;
        if body.len() + chunk.len() > MAX_REQUEST {
            return Err(bayeux_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("413::batch_too_large: a request is at most {MAX_REQUEST} bytes"),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// The messages of a long-polling POST: a JSON body, or (Bayeux §"long-polling") a form with
/// one or more `message` fields, each a message or an array of them.
fn post_messages(req: &HttpRequest, body: &[u8]) -> Result<Vec<Value>, BatchError> {
    let form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    // A JSON body sent with a form content type (curl's default) is still JSON.
    let json = body
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| matches!(b, b'[' | b'{'));
    let all = if form && !json {
        let mut all = Vec::new();
        for (k, v) in form_urlencoded::parse(body) {
            if k == "message" {
                all.extend(parse_batch(v.as_bytes())?);
            }
        }
        all
    } else {
        parse_batch(body)?
    };
    if all.is_empty() {
        return Err(BatchError::Empty);
    }
    Ok(all)
}

/// Runs a batch and waits for its held connect, if it has one. The wait is a parked future:
/// no worker thread is blocked and no lock is held.
async fn run(hub: &PushHub, messages: Vec<Value>, transport: Transport, user: &str) -> Vec<Frame> {
    let handled = hub.handle(messages, transport, Some(user), None);
    let mut frames = handled.replies;
    if let Some(pending) = handled.pending {
        frames.extend(pending.wait().await);
    }
    frames
}

fn is_handshake(messages: &[Value]) -> bool {
    messages
        .iter()
        .any(|m| m.get("channel").and_then(Value::as_str) == Some("/meta/handshake"))
}

/// CometD servers set `BAYEUX_BROWSER` at handshake to recognise a browser's sessions; we set
/// it too (clients expect it) but do not require it, since some clients drop cookies for bare
/// IP hosts (cometd-bayeux.md §1.9).
fn browser_cookie(req: &HttpRequest, resp: &mut HttpResponse) {
    if req.cookie("BAYEUX_BROWSER").is_some() {
        return;
    }
    let id: String = (0..16)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect();
    if let Ok(v) = HeaderValue::from_str(&format!("BAYEUX_BROWSER={id}; Path=/; HttpOnly")) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

async fn long_polling(req: HttpRequest, payload: Payload, hub: Data<PushHub>) -> HttpResponse {
    let body = match read_body(payload).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let messages = match post_messages(&req, &body) {
        Ok(m) => m,
        Err(e) => return bayeux_error(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    let handshake = is_handshake(&messages);
    let frames = match gms_user(&req) {
        None => refuse_without_user(&messages),
        Some(user) => run(&hub, messages, Transport::LongPolling, &user).await,
    };
    let mut resp = HttpResponse::Ok()
        .content_type("application/json;charset=UTF-8")
        .body(array(&frames));
    if handshake {
        browser_cookie(&req, &mut resp);
    }
    resp
}

/// A JSONP callback name: a JavaScript identifier path, so the reply cannot inject script.
fn callback_ok(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 64
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '$' | '.'))
}

async fn get(req: HttpRequest, body: Payload, hub: Data<PushHub>) -> HttpResponse {
    let upgrade = req
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if upgrade {
        if !hub.config().websocket {
            return bayeux_error(
                StatusCode::BAD_REQUEST,
                "400::websocket_disabled: this server offers long-polling and callback-polling",
            );
        }
        return ws::upgrade(req, body, hub).await;
    }
    callback_polling(req, hub).await
}

/// Callback-polling (Bayeux §"callback-polling"): `GET ?jsonp=cb&message=[...]` answered with
/// `cb([...])` as `text/javascript`.
async fn callback_polling(req: HttpRequest, hub: Data<PushHub>) -> HttpResponse {
    let mut callback = "jsonpcallback".to_string();
    let mut messages = Vec::new();
    for (k, v) in form_urlencoded::parse(req.query_string().as_bytes()) {
        match &*k {
            "jsonp" => callback = v.into_owned(),
            "message" => match parse_batch(v.as_bytes()) {
                Ok(m) => messages.extend(m),
                Err(e) => return bayeux_error(StatusCode::BAD_REQUEST, &e.to_string()),
            },
            _ => {}
        }
    }
    if !callback_ok(&callback) {
        return bayeux_error(
            StatusCode::BAD_REQUEST,
            "400::jsonp_invalid: the jsonp callback must be a JavaScript identifier",
        );
    }
    if messages.is_empty() {
        return bayeux_error(
            StatusCode::BAD_REQUEST,
            "400::message_missing: callback-polling needs a message parameter",
        );
    }
    let handshake = is_handshake(&messages);
    let frames = match gms_user(&req) {
        None => refuse_without_user(&messages),
        Some(user) => run(&hub, messages, Transport::CallbackPolling, &user).await,
    };
    let mut resp = HttpResponse::Ok()
        .content_type("text/javascript;charset=UTF-8")
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(format!("{callback}({})", array(&frames)));
    if handshake {
        browser_cookie(&req, &mut resp);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_arrays_or_one_message() {
        assert_eq!(
            parse_batch(br#"{"channel":"/a"}"#).map(|v| v.len()).ok(),
            Some(1)
        );
        assert_eq!(parse_batch(br#"[{},{}]"#).map(|v| v.len()).ok(), Some(2));
        assert!(matches!(parse_batch(b"7"), Err(BatchError::Shape)));
        assert!(matches!(parse_batch(b"[{"), Err(BatchError::Json(_))));
    }

    #[test]
    fn jsonp_callbacks_must_be_identifiers() {
        assert!(callback_ok("cb123") && callback_ok("jQuery.cb_1") && callback_ok("$x"));
        assert!(!callback_ok("") && !callback_ok("alert(1)//") && !callback_ok("1cb"));
    }

    #[test]
    fn cometd_options_come_from_the_cometd_section() {
        let o = vec![
            ("timeout".to_string(), "2000".to_string()),
            ("websocket".to_string(), "false".to_string()),
        ];
        let cfg = config_from(Some(&o)).expect("valid options");
        assert_eq!(cfg.timeout, 2000);
        assert!(!cfg.websocket);
        let bad = vec![("maxInterval".to_string(), "soon".to_string())];
        assert_eq!(
            config_from(Some(&bad)).err().as_deref(),
            Some("[cometd] maxInterval must be a whole number >= 0, not 'soon'")
        );
    }
}
