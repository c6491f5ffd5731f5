//! The websocket transport: each text frame is a JSON array of messages, both ways
//! (cometd-bayeux.md §1.9). Replies and events go out at once; a `/meta/connect` is held up to
//! the timeout as a heartbeat (CometD's behaviour; the 1.0 spec leaves non-HTTP transports
//! open). A session that handshook over HTTP may continue here: any message naming its
//! clientId binds it to this socket.

use std::sync::Arc;
use std::time::Duration;

use actix_web::web::{Data, Payload};
use actix_web::{HttpRequest, HttpResponse};
use actors::push::hub::PendingConnect;
use actors::push::{Frame, PushHub, Transport};
use futures_util::StreamExt;
use tokio::sync::{oneshot, Notify};

use super::{array, bayeux_error, gms_user, parse_batch, MAX_REQUEST};

/// Upgrades the request and runs the socket on this worker's event loop.
///
/// An upgrade without `gms_user` (header or `?gms_user=`) is refused before it becomes a
/// socket: a session on it could never be told whose messages it may receive. Stock clients
/// that cannot set headers on a websocket (npm `cometd` with only `requestHeaders`) see the
/// socket fail and fall back to long-polling, whose requests carry their headers.
pub async fn upgrade(req: HttpRequest, body: Payload, hub: Data<PushHub>) -> HttpResponse {
    let Some(user) = gms_user(&req) else {
        return bayeux_error(
            actix_web::http::StatusCode::UNAUTHORIZED,
            "401::gms_user_required: a websocket needs the gms_user header or ?gms_user=; \
             clients that cannot set it use long-polling",
        );
    };
    let (resp, session, stream) = match actix_ws::handle(&req, body) {
        Ok(parts) => parts,
        Err(e) => {
            return HttpResponse::BadRequest().json(serde_json::json!([{
                "channel": "/meta/unknown", "successful": false,
                "error": format!("400::websocket_invalid: {e}")
            }]))
        }
    };
    let stream = stream
        .max_frame_size(MAX_REQUEST)
        .aggregate_continuations()
        .max_continuation_size(MAX_REQUEST);
    let hub = hub.get_ref().clone();
    actix_web::rt::spawn(async move {
        run(hub, user, session, stream).await;
    });
    resp
}

/// The held connect of this socket and its wake signal.
struct Held {
    pending: PendingConnect,
    signal: Option<oneshot::Receiver<()>>,
}

/// Resolves when the held connect is woken or due; never, when there is none.
async fn held_ready(held: &mut Option<Held>, hub: &PushHub) {
    let Some(h) = held.as_mut() else {
        return std::future::pending().await;
    };
    let left = (h.pending.deadline() - hub.now()).max(0) as u64;
    match h.signal.as_mut() {
        Some(rx) => {
            let _ = tokio::time::timeout(Duration::from_millis(left), rx).await;
        }
        None => tokio::time::sleep(Duration::from_millis(left)).await,
    }
}

async fn run(
    hub: PushHub,
    user: String,
    mut session: actix_ws::Session,
    mut stream: actix_ws::AggregatedMessageStream,
) {
    let notify = Arc::new(Notify::new());
    let mut clients: Vec<String> = Vec::new();
    let mut held: Option<Held> = None;
    // A live client sends a connect at least every `timeout`; a socket silent for that plus
    // `maxInterval` has no live session on it and is closed.
    let cfg = hub.config();
    let idle = Duration::from_millis((cfg.timeout + cfg.max_interval).max(1_000) as u64);
    let mut heard = tokio::time::Instant::now();
    loop {
        let out: Vec<Frame> = tokio::select! {
            _ = tokio::time::sleep_until(heard + idle) => {
                tracing::debug!("closing a silent websocket");
                break;
            }
            msg = stream.next() => {
                heard = tokio::time::Instant::now();
                let text = match msg {
                    Some(Ok(actix_ws::AggregatedMessage::Text(t))) => t.into_bytes(),
                    Some(Ok(actix_ws::AggregatedMessage::Binary(b))) => b,
                    Some(Ok(actix_ws::AggregatedMessage::Ping(p))) => {
                        if session.pong(&p).await.is_err() { break; }
                        continue;
                    }
                    Some(Ok(actix_ws::AggregatedMessage::Pong(_))) => continue,
                    Some(Ok(actix_ws::AggregatedMessage::Close(_))) | None => break,
                    Some(Err(e)) => {
                        tracing::debug!(error = %e, "websocket protocol error");
                        break;
                    }
                };
                let messages = match parse_batch(&text) {
                    Ok(m) => m,
                    Err(e) => {
                        let reply = serde_json::json!([{"channel": "/meta/unknown", "successful": false, "error": e.to_string()}]);
                        if session.text(reply.to_string()).await.is_err() { break; }
                        continue;
                    }
                };
                let handled = hub.handle(messages, Transport::WebSocket, Some(&user), Some(&notify));
                for c in handled.clients {
                    if !clients.contains(&c) {
                        clients.push(c);
                    }
                }
                let mut frames = handled.replies;
                if let Some(mut pending) = handled.pending {
                    // One outstanding connect: the core has already answered the old one.
                    if let Some(mut old) = held.take() {
                        frames.extend(old.pending.finish());
                    }
                    let signal = pending.take_signal();
                    held = Some(Held { pending, signal });
                }
                frames
            }
            _ = notify.notified() => {
                let mut frames = Vec::new();
                clients.retain(|c| match hub.drain(c) {
                    Some(events) => { frames.extend(events); true }
                    None => false,
                });
                frames
            }
            _ = held_ready(&mut held, &hub) => {
                match held.take() {
                    Some(mut h) => h.pending.finish(),
                    None => Vec::new(),
                }
            }
        };
        if !out.is_empty() && session.text(array(&out)).await.is_err() {
            break;
        }
    }
    for c in &clients {
        hub.detach_stream(c, &notify);
    }
    // Dropping an unanswered connect gives its events back to the session.
    drop(held);
    let _ = session.close(None).await;
}
