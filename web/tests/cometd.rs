//! The CometD endpoint of the real `ringback serve` binary over loopback: handshake, held and
//! released connects, the `gms_user` requirement, bad input as Bayeux errors, JSONP, and a
//! session moving from long-polling onto a websocket. (The real npm/PyPI clients are driven by
//! `tests/cometd-clients/run.sh`, from `.ci/run`.)

#[allow(dead_code)] // the harness serves several test binaries; each uses part of it
mod common;

use std::time::{Duration, Instant};

use common::{send, Resp, Server};
use serde_json::{json, Value};

/// Holds short enough for a test to wait one out.
const INI: &str = "[server]\nlisten = 127.0.0.1:0\n[push]\npushEnabled = comet\n\
                   [cometd]\ntimeout = 1500\nmaxInterval = 10000\nmaxBatch = 5\n";

struct Bayeux<'a> {
    server: &'a Server,
    user: &'a str,
}

impl Bayeux<'_> {
    fn post_raw(&self, path: &str, body: &str) -> Resp {
        let req = self
            .server
            .raw_req(
                "POST",
                &format!("{}/genesys/cometd{path}", self.server.root),
            )
            .set("Content-Type", "application/json")
            .set("gms_user", self.user);
        send(req, Some(body.as_bytes()))
    }

    fn post(&self, path: &str, body: Value) -> Vec<Value> {
        let r = self.post_raw(path, &body.to_string());
        assert_eq!(r.status, 200, "{}", r.text());
        match r.json() {
            Value::Array(items) => items,
            other => panic!("a Bayeux response is an array, not {other}"),
        }
    }

    fn handshake(&self) -> String {
        let replies = self.post(
            "/handshake",
            json!([{"channel": "/meta/handshake", "version": "1.0", "id": "1",
                "supportedConnectionTypes": ["websocket", "long-polling"]}]),
        );
        let id = replies[0]["clientId"]
            .as_str()
            .expect("a clientId")
            .to_string();
        let first = self.connect(&id, "2");
        assert_eq!(first[0]["successful"], true, "the first connect: {first:?}");
        id
    }

    fn connect(&self, client: &str, id: &str) -> Vec<Value> {
        self.post(
            "/connect",
            json!([{"channel": "/meta/connect", "clientId": client, "connectionType": "long-polling", "id": id}]),
        )
    }

    fn subscribe(&self, client: &str, sub: &str) {
        let r = self.post(
            "/",
            json!([{"channel": "/meta/subscribe", "clientId": client, "subscription": sub, "id": "s"}]),
        );
        assert_eq!(r[0]["successful"], true, "{r:?}");
    }
}

fn reply<'a>(replies: &'a [Value], channel: &str) -> &'a Value {
    replies
        .iter()
        .find(|m| m["channel"] == channel && m.get("successful").is_some())
        .unwrap_or_else(|| panic!("no {channel} reply in {replies:?}"))
}

/// Publishes a GMS notification for `device` (comet subscription first).
fn push_to(server: &Server, device: &str, tag: &str) {
    let r = send(
        server
            .req("POST", "/notification/subscription")
            .set("Content-Type", "application/json"),
        Some(
            json!({"notificationDetails": {"deviceId": device, "type": "comet"}, "filter": tag})
                .to_string()
                .as_bytes(),
        ),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let r = send(
        server
            .req("POST", "/notification/publish")
            .set("Content-Type", "application/json"),
        Some(
            json!({"tag": tag, "message": {"state": "QUEUED"}})
                .to_string()
                .as_bytes(),
        ),
    );
    assert_eq!(r.status, 200, "{}", r.text());
}

#[test]
fn handshake_gives_a_client_id_advice_and_the_browser_cookie() {
    let server = Server::start_with_config(INI);
    let b = Bayeux {
        server: &server,
        user: "alice",
    };
    let r = b.post_raw(
        "/handshake",
        r#"[{"channel":"/meta/handshake","version":"1.0","supportedConnectionTypes":["long-polling"],"id":"1"}]"#,
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type, "application/json");
    assert!(
        r.header("set-cookie")
            .is_some_and(|c| c.starts_with("BAYEUX_BROWSER=")),
        "{:?}",
        r.headers
    );
    let hs = &r.json()[0];
    assert_eq!(hs["successful"], true);
    assert_eq!(hs["id"], "1");
    assert_eq!(hs["clientId"].as_str().map(str::len), Some(40));
    assert_eq!(
        hs["advice"],
        json!({"reconnect": "retry", "interval": 0, "timeout": 1500})
    );
    assert_eq!(
        hs["supportedConnectionTypes"],
        json!(["websocket", "long-polling", "callback-polling"])
    );
}

#[test]
fn every_sub_path_the_clients_use_is_served() {
    let server = Server::start_with_config(INI);
    let b = Bayeux {
        server: &server,
        user: "alice",
    };
    for path in [
        "",
        "/",
        "/handshake",
        "/connect",
        "/disconnect",
        "/anything/else",
    ] {
        let r = b.post(
            path,
            json!({"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"]}),
        );
        assert_eq!(r[0]["successful"], true, "POST /genesys/cometd{path}");
    }
}

#[test]
fn requests_without_gms_user_are_refused_with_a_bayeux_error() {
    let server = Server::start_with_config(INI);
    let req = server
        .raw_req("POST", &format!("{}/genesys/cometd/handshake", server.root))
        .set("Content-Type", "application/json");
    let r = send(
        req,
        Some(br#"[{"channel":"/meta/handshake","version":"1.0","supportedConnectionTypes":["long-polling"],"id":"1"}]"#),
    );
    assert_eq!(r.status, 200);
    let m = &r.json()[0];
    assert_eq!(m["successful"], false);
    assert_eq!(m["id"], "1");
    assert_eq!(
        m["error"],
        "401::gms_user_required: CometD requests need the gms_user header"
    );
    assert_eq!(m["advice"]["reconnect"], "none");
}

#[test]
fn a_held_connect_is_released_by_a_push_and_otherwise_answers_at_the_timeout() {
    let server = Server::start_with_config(INI);
    let b = Bayeux {
        server: &server,
        user: "alice",
    };
    let client = b.handshake();
    b.subscribe(&client, "/_genesys");

    // Nothing to send: held for `timeout`, then answered successfully.
    let started = Instant::now();
    let r = b.connect(&client, "3");
    assert!(
        started.elapsed() >= Duration::from_millis(1400),
        "held only {:?}",
        started.elapsed()
    );
    assert_eq!(r.len(), 1);
    assert_eq!(r[0]["id"], "3");
    assert_eq!(r[0]["successful"], true);

    // A push for alice arrives while the connect is held: it comes back with it.
    std::thread::scope(|s| {
        let held = s.spawn(|| b.connect(&client, "4"));
        // Wait until the server holds the connect (no lock-step hook: poll the thread).
        std::thread::sleep(Duration::from_millis(200));
        push_to(&server, "alice", "service.test.status.1");
        let r = held.join().expect("the connect thread");
        assert_eq!(r[0]["channel"], "/_genesys");
        assert_eq!(r[0]["data"]["tag"], "service.test.status.1");
        assert_eq!(r[0]["data"]["message"], json!({"state": "QUEUED"}));
        assert!(r[0]["data"]["id"].is_string());
        assert_eq!(reply(&r, "/meta/connect")["id"], "4");
    });
}

#[test]
fn a_push_reaches_only_the_device_it_is_for() {
    let server = Server::start_with_config(INI);
    let alice = Bayeux {
        server: &server,
        user: "alice",
    };
    let bob = Bayeux {
        server: &server,
        user: "bob",
    };
    let a = alice.handshake();
    let bc = bob.handshake();
    alice.subscribe(&a, "/_genesys");
    bob.subscribe(&bc, "/_genesys");
    push_to(&server, "alice", "service.test.status.2");
    let r = alice.connect(&a, "3");
    assert_eq!(r[0]["data"]["tag"], "service.test.status.2");
    let started = Instant::now();
    let r = bob.connect(&bc, "3");
    assert_eq!(r.len(), 1, "bob got nothing: {r:?}");
    assert!(started.elapsed() >= Duration::from_millis(1400));
}

#[test]
fn an_administrator_sees_the_counts_and_ends_a_users_sessions() {
    let server = Server::start_with_config(INI);
    let b = Bayeux {
        server: &server,
        user: "carol",
    };
    let client = b.handshake();
    let stats = server.get("/admin/cometd/stats").ok_json(200);
    assert_eq!(
        stats,
        json!({"sessions": 1, "heldConnects": 0, "queuedMessages": 0})
    );
    let r = server.delete("/admin/cometd/sessions/carol").ok_json(200);
    assert_eq!(r, json!({"removed": 1}));
    let r = b.connect(&client, "5");
    assert_eq!(r[0]["error"], "402::session_unknown");
    assert_eq!(r[0]["advice"]["reconnect"], "handshake");
}

#[test]
fn unknown_clients_get_402_with_handshake_advice() {
    let server = Server::start_with_config(INI);
    let b = Bayeux {
        server: &server,
        user: "alice",
    };
    let r = b.connect("0123456789abcdef0123456789abcdef01234567", "7");
    assert_eq!(r[0]["successful"], false);
    assert_eq!(r[0]["error"], "402::session_unknown");
    assert_eq!(r[0]["advice"]["reconnect"], "handshake");
    assert_eq!(r[0]["id"], "7");
}

#[test]
fn bad_input_gets_bayeux_errors_never_a_500() {
    let server = Server::start_with_config(INI);
    let b = Bayeux {
        server: &server,
        user: "alice",
    };
    let client = b.handshake();

    let r = b.post_raw("/", "[{\"channel\":");
    assert_eq!(r.status, 400);
    let error = r.json()[0]["error"].as_str().expect("an error").to_string();
    assert!(
        error.starts_with("400::message_invalid: the body is not JSON"),
        "{error}"
    );

    let r = b.post_raw("/", "42");
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()[0]["error"],
        "400::message_invalid: the body is neither a message nor an array of messages"
    );

    let batch: Vec<Value> = (0..6)
        .map(|n| json!({"channel": "/a", "clientId": client, "data": n, "id": n.to_string()}))
        .collect();
    let r = b.post("/", Value::Array(batch));
    assert_eq!(r.len(), 5);
    assert_eq!(
        r[0]["error"],
        "413::batch_too_large: at most 5 messages in one request"
    );

    let r = b.post(
        "/",
        json!([
            {"channel": "/meta/nonsense", "clientId": client, "data": {}, "id": "1"},
            {"channel": "/_genesys", "clientId": client, "data": {}, "id": "2"},
            {"channel": "/a b", "clientId": client, "data": {}, "id": "3"},
            {"channel": "/a", "clientId": "nobody", "data": {}, "id": "4"},
            {"channel": "/meta/subscribe", "clientId": client, "subscription": "/meta/**", "id": "5"}
        ]),
    );
    let errors: Vec<&str> = r.iter().filter_map(|m| m["error"].as_str()).collect();
    assert_eq!(
        errors,
        [
            "403:/meta/nonsense:publish_denied: /meta channels are the protocol's own",
            "403:/_genesys:publish_denied",
            "405:/a b:channel_invalid: ' ' is not allowed in a channel name",
            "402::session_unknown",
            "403:/meta/**:subscribe_denied",
        ]
    );

    let big = format!(
        "[{{\"channel\":\"/a\",\"data\":\"{}\"}}]",
        "x".repeat(300 * 1024)
    );
    let r = b.post_raw("/", &big);
    assert_eq!(r.status, 413);
    assert_eq!(
        r.json()[0]["error"],
        "413::batch_too_large: a request is at most 262144 bytes"
    );
    assert!(!server.log().contains("panicked"), "{}", server.log());
}

#[test]
fn clients_publish_to_each_other_and_services_answer_the_sender() {
    let server = Server::start_with_config(INI);
    let b = Bayeux {
        server: &server,
        user: "alice",
    };
    let client = b.handshake();
    b.subscribe(&client, "/chat/*");
    let r = b.post(
        "/",
        json!([{"channel": "/chat/room1", "clientId": client, "data": {"text": "hi"}, "id": "9"}]),
    );
    // CometD places the event before the replies.
    assert_eq!(
        r[0],
        json!({"channel": "/chat/room1", "data": {"text": "hi"}})
    );
    assert_eq!(
        r[1],
        json!({"channel": "/chat/room1", "clientId": client, "id": "9", "successful": true})
    );
}

#[test]
fn callback_polling_wraps_replies_in_the_callback() {
    let server = Server::start_with_config(INI);
    let url = format!("{}/genesys/cometd/handshake", server.root);
    let req = server
        .raw_req("GET", &url)
        .set("gms_user", "alice")
        .query("jsonp", "cb123")
        .query(
            "message",
            r#"[{"channel":"/meta/handshake","version":"1.0","supportedConnectionTypes":["callback-polling"],"id":"1"}]"#,
        );
    let r = send(req, None);
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type, "text/javascript");
    let text = r.text();
    let inner = text
        .strip_prefix("cb123(")
        .and_then(|t| t.strip_suffix(')'))
        .unwrap_or_else(|| panic!("not wrapped in cb123(...): {text}"));
    let v: Value = serde_json::from_str(inner).expect("JSON inside the callback");
    assert_eq!(v[0]["successful"], true);

    let req = server
        .raw_req("GET", &url)
        .set("gms_user", "alice")
        .query("jsonp", "alert(1)//")
        .query("message", "[]");
    let r = send(req, None);
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()[0]["error"],
        "400::jsonp_invalid: the jsonp callback must be a JavaScript identifier"
    );
}

#[test]
fn a_session_that_handshook_over_http_continues_over_websocket() {
    use tungstenite::client::IntoClientRequest;
    let server = Server::start_with_config(INI);
    let b = Bayeux {
        server: &server,
        user: "alice",
    };
    let client = b.handshake();

    let ws_url = format!("{}/genesys/cometd", server.root.replace("http://", "ws://"));
    let mut request = ws_url.into_client_request().expect("a websocket request");
    request
        .headers_mut()
        .insert("gms_user", "alice".parse().expect("a header value"));
    let addr = server.root.trim_start_matches("http://").to_string();
    let stream = std::net::TcpStream::connect(&addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("a read timeout");
    let (mut ws, _) = tungstenite::client(request, stream).expect("the websocket upgrade");
    let mut send_ws = |v: Value| {
        ws.send(tungstenite::Message::text(v.to_string()))
            .expect("a websocket send");
        loop {
            match ws.read().expect("a websocket frame") {
                tungstenite::Message::Text(t) => {
                    break serde_json::from_str::<Vec<Value>>(t.as_str()).expect("a JSON array")
                }
                _ => continue,
            }
        }
    };
    let r = send_ws(
        json!([{"channel": "/meta/subscribe", "clientId": client, "subscription": "/_genesys", "id": "3"}]),
    );
    assert_eq!(r[0]["successful"], true, "{r:?}");
    // A connect over the socket is held as a heartbeat; events do not wait for it.
    ws_send_only(
        &mut ws,
        json!([{"channel": "/meta/connect", "clientId": client, "connectionType": "websocket", "id": "4"}]),
    );
    push_to(&server, "alice", "service.test.ws.1");
    let frame = read_frame(&mut ws);
    assert_eq!(frame[0]["channel"], "/_genesys", "{frame:?}");
    assert_eq!(frame[0]["data"]["tag"], "service.test.ws.1");
    // And the heartbeat answers at the timeout.
    let frame = read_frame(&mut ws);
    assert_eq!(frame[0]["channel"], "/meta/connect");
    assert_eq!(frame[0]["id"], "4");
    assert_eq!(frame[0]["successful"], true);
}

#[test]
fn a_websocket_upgrade_without_gms_user_is_refused_so_clients_fall_back() {
    use tungstenite::client::IntoClientRequest;
    let server = Server::start_with_config(INI);
    let request = format!("{}/genesys/cometd", server.root.replace("http://", "ws://"))
        .into_client_request()
        .expect("a websocket request");
    let stream =
        std::net::TcpStream::connect(server.root.trim_start_matches("http://")).expect("connect");
    match tungstenite::client(request, stream) {
        Err(tungstenite::handshake::HandshakeError::Failure(tungstenite::Error::Http(resp))) => {
            assert_eq!(resp.status(), 401);
            let body: Value =
                serde_json::from_slice(resp.body().as_deref().unwrap_or_default()).expect("JSON");
            assert!(
                body[0]["error"]
                    .as_str()
                    .is_some_and(|e| e.starts_with("401::gms_user_required")),
                "{body}"
            );
        }
        Err(e) => panic!("expected a 401 answer, got {e}"),
        Ok(_) => panic!("the upgrade was accepted without gms_user"),
    }
    // `?gms_user=` (what browsers can set) is enough.
    let request = format!(
        "{}/genesys/cometd?gms_user=alice",
        server.root.replace("http://", "ws://")
    )
    .into_client_request()
    .expect("a websocket request");
    let stream =
        std::net::TcpStream::connect(server.root.trim_start_matches("http://")).expect("connect");
    assert!(tungstenite::client(request, stream).is_ok(), "upgraded");
}

fn ws_send_only(ws: &mut tungstenite::WebSocket<std::net::TcpStream>, v: Value) {
    ws.send(tungstenite::Message::text(v.to_string()))
        .expect("a websocket send");
}

fn read_frame(ws: &mut tungstenite::WebSocket<std::net::TcpStream>) -> Vec<Value> {
    loop {
        if let tungstenite::Message::Text(t) = ws.read().expect("a websocket frame") {
            return serde_json::from_str(t.as_str()).expect("a JSON array");
        }
    }
}

#[test]
fn with_websocket_disabled_it_is_neither_offered_nor_upgraded() {
    use tungstenite::client::IntoClientRequest;
    let server = Server::start_with_config(&format!("{INI}websocket = false\n"));
    let b = Bayeux {
        server: &server,
        user: "alice",
    };
    let r = b.post(
        "/handshake",
        json!([{"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["websocket", "long-polling"]}]),
    );
    assert_eq!(
        r[0]["supportedConnectionTypes"],
        json!(["long-polling", "callback-polling"])
    );
    let r = b.post(
        "/handshake",
        json!([{"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["websocket"]}]),
    );
    assert_eq!(r[0]["error"], "301::connection_types_unsupported");

    let mut request = format!("{}/genesys/cometd", server.root.replace("http://", "ws://"))
        .into_client_request()
        .expect("a websocket request");
    request
        .headers_mut()
        .insert("gms_user", "alice".parse().expect("a header value"));
    let stream =
        std::net::TcpStream::connect(server.root.trim_start_matches("http://")).expect("connect");
    match tungstenite::client(request, stream) {
        Err(tungstenite::handshake::HandshakeError::Failure(tungstenite::Error::Http(resp))) => {
            assert_eq!(resp.status(), 400)
        }
        Err(e) => panic!("expected a 400 answer, got {e}"),
        Ok(_) => panic!("the upgrade was accepted"),
    }
}
