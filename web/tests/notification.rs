//! The GMS notification API of the real `ringback serve` binary over loopback: subscriptions,
//! publish, `httpcb` and `customhttp` deliveries to a local receiver (with a retry), messages
//! kept for `retrieve-notifications` when push is not configured, and durability across a
//! restart.

#[allow(dead_code)] // the harness serves several test binaries; each uses part of it
mod common;

use std::time::Duration;

use common::{receiver, send, Resp, Scratch, Server, BAD_REQUEST, NOT_FOUND, UNSUPPORTED};
use serde_json::{json, Value};

fn post_json(server: &Server, path: &str, body: &Value) -> Resp {
    send(
        server
            .req("POST", path)
            .set("Content-Type", "application/json")
            .set("gms_user", "alice"),
        Some(body.to_string().as_bytes()),
    )
}

fn subscribe(server: &Server, details: Value, filter: &str) -> String {
    let r = post_json(
        server,
        "/notification/subscription",
        &json!({"subscriberId": "alice", "providerName": "test", "notificationDetails": details,
            "expire": 600, "filter": filter}),
    );
    let v = r.ok_json(200);
    v["id"].as_str().expect("a subscription id").to_string()
}

fn publish(server: &Server, tag: &str, message: Value) -> String {
    let r = post_json(
        server,
        "/notification/publish",
        &json!({"tag": tag, "message": message, "mediaType": "string"}),
    );
    r.ok_json(200)["id"]
        .as_str()
        .expect("a message id")
        .to_string()
}

fn retrieve(server: &Server, device: &str) -> Vec<Value> {
    let r = send(
        server
            .req("GET", "/service/retrieve-notifications")
            .set("gms_user", device),
        None,
    );
    match r.ok_json(200)["notifications"].take() {
        Value::Array(items) => items,
        other => panic!("notifications is an array, not {other}"),
    }
}

#[test]
fn subscriptions_need_json_and_a_valid_device() {
    let server = Server::start();
    let r = send(
        server
            .req("POST", "/notification/subscription")
            .set("Content-Type", "application/x-www-form-urlencoded"),
        Some(b"deviceId=x"),
    );
    r.assert_error(
        415,
        UNSUPPORTED,
        "the notification API takes application/json",
    );
    let r = post_json(
        &server,
        "/notification/subscription",
        &json!({"expire": 30}),
    );
    r.assert_error(400, BAD_REQUEST, "notificationDetails is required");
    let r = post_json(
        &server,
        "/notification/subscription",
        &json!({"notificationDetails": {"deviceId": "x", "type": "pager"}}),
    );
    r.assert_error(
        400,
        BAD_REQUEST,
        "unknown push type 'pager': use comet, httpcb, customhttp, orscb, ios, gcm or fcm",
    );
    let r = post_json(
        &server,
        "/notification/subscription",
        &json!({"notificationDetails": {"deviceId": "x", "type": "comet"}, "expire": -5}),
    );
    r.assert_error(
        400,
        BAD_REQUEST,
        "expire must be a positive number of seconds, not -5",
    );
    let r = post_json(&server, "/notification/publish", &json!({"message": "hi"}));
    r.assert_error(400, BAD_REQUEST, "tag is required");
}

#[test]
fn a_subscription_is_deleted_once() {
    let server = Server::start();
    let id = subscribe(&server, json!({"deviceId": "alice", "type": "comet"}), "");
    let r = server.delete(&format!("/notification/subscription/{id}"));
    assert_eq!(r.status, 200, "{}", r.text());
    let r = server.delete(&format!("/notification/subscription/{id}"));
    r.assert_error(
        404,
        NOT_FOUND,
        &format!("notification subscription '{id}' does not exist"),
    );
}

#[test]
fn without_push_configured_messages_wait_for_retrieve_notifications() {
    // The sample enables comet only: an ios device's messages wait to be fetched.
    let server = Server::start();
    subscribe(
        &server,
        json!({"deviceId": "phone-1", "type": "ios"}),
        "service.chat.*",
    );
    let first = publish(
        &server,
        "service.chat.refresh.180-1",
        json!({"transcriptPosition": "2"}),
    );
    let second = publish(
        &server,
        "service.chat.refresh.180-1",
        json!({"transcriptPosition": "3"}),
    );
    publish(
        &server,
        "service.callback.x.1",
        json!("not for this filter"),
    );
    let got = retrieve(&server, "phone-1");
    assert_eq!(
        got,
        [
            json!({"id": first, "tag": "service.chat.refresh.180-1", "message": {"transcriptPosition": "2"}}),
            json!({"id": second, "tag": "service.chat.refresh.180-1", "message": {"transcriptPosition": "3"}}),
        ]
    );
    assert!(
        retrieve(&server, "phone-1").is_empty(),
        "fetched messages are gone"
    );
    let r = send(server.req("GET", "/service/retrieve-notifications"), None);
    r.assert_error(
        400,
        BAD_REQUEST,
        "retrieve-notifications needs the gms_user header or _device_notification_id",
    );
}

#[test]
fn a_comet_device_with_no_session_keeps_its_messages() {
    let server = Server::start();
    subscribe(&server, json!({"deviceId": "offline", "type": "comet"}), "");
    let id = publish(
        &server,
        "service.callback.status.1",
        json!({"state": "QUEUED"}),
    );
    assert_eq!(retrieve(&server, "offline")[0]["id"], id);
}

#[test]
fn httpcb_posts_to_the_device_url_and_retries_until_200() {
    let (url, bodies) = receiver(vec![503]);
    let ini = "[server]\nlisten = 127.0.0.1:0\n[push]\npushEnabled = comet, httpcb, customhttp\n\
               httpcb.retryDelay = 50\n";
    let server = Server::start_with_config(ini);
    subscribe(
        &server,
        json!({"deviceId": format!("{url}/cb"), "type": "httpcb"}),
        "service.*",
    );
    let id = publish(
        &server,
        "service.callback.status.7",
        json!({"state": "ROUTING"}),
    );
    for attempt in 1..=2 {
        let (path, body) = bodies
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("attempt {attempt} did not arrive: {e}"));
        assert_eq!(path, "/cb");
        let v: Value = serde_json::from_str(&body).expect("a JSON body");
        assert_eq!(
            v,
            json!({"id": id, "tag": "service.callback.status.7", "message": {"state": "ROUTING"}})
        );
    }
    assert!(
        bodies.recv_timeout(Duration::from_millis(500)).is_err(),
        "no third attempt after a 200"
    );
}

#[test]
fn customhttp_posts_the_device_and_message_to_the_configured_url() {
    let (url, bodies) = receiver(vec![]);
    let ini = format!(
        "[server]\nlisten = 127.0.0.1:0\n[push]\npushEnabled = customhttp\ncustomhttp.url = {url}/push\n"
    );
    let server = Server::start_with_config(&ini);
    subscribe(
        &server,
        json!({"deviceId": "token-9", "type": "customhttp"}),
        "",
    );
    let id = publish(&server, "service.chat.message.1", json!("hello"));
    let (path, body) = bodies
        .recv_timeout(Duration::from_secs(10))
        .expect("the customhttp POST");
    assert_eq!(path, "/push");
    let v: Value = serde_json::from_str(&body).expect("a JSON body");
    assert_eq!(
        v,
        json!({"deviceId": "token-9", "message": {"id": id, "tag": "service.chat.message.1", "message": "hello"}})
    );
}

#[test]
fn subscriptions_and_kept_messages_survive_a_restart() {
    let scratch = Scratch::new("notify-restart");
    let data = scratch.path().join("data");
    let mut server = Server::start_in(&data, None);
    subscribe(
        &server,
        json!({"deviceId": "phone-2", "type": "gcm"}),
        "service.*",
    );
    let kept = publish(&server, "service.a.b.1", json!(1));
    server.kill();
    let server = Server::start_in(&data, None);
    let later = publish(&server, "service.a.b.2", json!(2));
    let ids: Vec<Value> = retrieve(&server, "phone-2")
        .into_iter()
        .map(|m| m["id"].clone())
        .collect();
    assert_eq!(ids, [json!(kept), json!(later)]);
}

#[test]
fn the_internal_notification_records_are_not_readable_through_the_storage_api() {
    let server = Server::start();
    subscribe(&server, json!({"deviceId": "x", "type": "comet"}), "");
    for user in [None, Some("alice")] {
        let mut req = server.req("GET", "/storage/ringback.notification.subscriptions");
        if let Some(u) = user {
            req = req.set("gms_user", u);
        }
        let r = send(req, None);
        assert_eq!(r.status, 403, "{}", r.text());
    }
}
