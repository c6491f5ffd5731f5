//! The Callback API through the real `ringback serve` over loopback: each scenario's chart
//! from create to COMPLETED with simulated agents and telephony (answers exactly as the help
//! shows them), queries, cancel and reschedule, the guards' GMS error bodies, and callbacks that
//! survive `kill -9`.

#[allow(dead_code)] // the harness is shared with the other API tests
mod common;

use std::time::{Duration, Instant};

use common::{send, wait_event, Resp, Scratch, Server};
use serde_json::{json, Value};

const NOT_FOUND_CB: &str =
    "com.genesyslab.gsg.services.callback.exceptions.CallbackExceptionNotFound";
const BAD_REQUEST_CB: &str =
    "com.genesyslab.gsg.services.callback.exceptions.CallbackExceptionBadRequest";
const UNAVAILABLE_CB: &str =
    "com.genesyslab.gsg.services.callback.exceptions.CallbackExceptionServiceUnavailable";

const CONFIG: &str = r#"
[resources.DNIS]
numbers = 6504663204, 6504663205
allocation = round-robin
_booking_expiration_timeout = 30

[routing]
reserve_timeout = 30

[telephony]
dial_rules = {"rules": [{"match": "5550000", "outcome": "busy", "after_ms": 0}], "default": {"outcome": "answer", "after_ms": 0}}

[agent.ann]
groups = Agents
media = voice

[service.ut-immediate]
_type = ors
_service = callback
_call_direction = USERTERMINATED
_wait_for_agent = false
_urs_virtual_queue = Callbacks
_target = Agents@StatServer.GA
_max_dial_attempts = 1
_max_queued_callbacks_per_service = 3

[service.ut-delayed]
_type = ors
_service = callback
_call_direction = USERTERMINATED
_wait_for_agent = true
_wait_for_user_confirm = true
_urs_virtual_queue = Callbacks
_target = Agents@StatServer.GA

[service.voice-userorig-immediate]
_type = ors
_service = callback
_call_direction = USERORIGINATED
_wait_for_agent = false
_resource_group = DNIS
_urs_virtual_queue = Callbacks
_target = Agents@StatServer.GA

[service.voice-userorig-delay]
_type = ors
_service = callback
_call_direction = USERORIGINATED
_wait_for_agent = true
_wait_for_user_confirm = true
_resource_group = DNIS
_urs_virtual_queue = Callbacks
_target = Agents@StatServer.GA
"#;

fn rb(server: &Server, method: &str, path: &str) -> Resp {
    let url = format!("{}/ringback/1{path}", server.root);
    send(server.raw_req(method, &url), None)
}

fn rb_form(server: &Server, path: &str, fields: &[(&str, &str)]) -> Resp {
    let url = format!("{}/ringback/1{path}", server.root);
    common::post_form(server.raw_req("POST", &url), fields)
}

/// The one record with `id`, by the cross-service query.
fn record(server: &Server, id: &str) -> Value {
    let list = server
        .get(&format!("/service/callback?_id={id}"))
        .ok_json(200);
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    list[0].clone()
}

/// Reads the record until its state is `state` (the chart's step runs after the event that
/// caused it is answered), at most ten seconds.
fn wait_state(server: &Server, id: &str, state: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = record(server, id);
        if r["_callback_state"] == state || Instant::now() > deadline {
            assert_eq!(r["_callback_state"], state, "{r}");
            return r;
        }
    }
}

/// Logs ann in and makes her ready; the event sequence to wait from.
fn ann_ready(server: &Server) -> u64 {
    // Offers can come with the ready itself: wait from before it.
    let since = rb(server, "POST", "/agents/ann/login").ok_json(200)["last_event"]
        .as_u64()
        .expect("last_event");
    rb(server, "POST", "/agents/ann/ready").ok_json(200);
    since
}

fn accept_offer(server: &Server, since: u64) -> (Value, u64) {
    let (offer, since) = wait_event(server, "ann", since, "offer");
    let id = offer["offer"].as_str().expect("offer id").to_owned();
    rb(server, "POST", &format!("/agents/ann/offers/{id}/accept")).ok_json(200);
    (offer, since)
}

fn id_of(v: &Value) -> String {
    v["_id"].as_str().expect("_id").to_owned()
}

#[test]
fn user_terminated_immediate_queues_dials_connects_and_completes() {
    let server = Server::start_with_config(CONFIG);
    let created = server
        .post_form(
            "/service/callback/ut-immediate",
            &[("_customer_number", "5551234"), ("first_name", "Ada")],
        )
        .ok_json(200);
    let id = id_of(&created);
    // The help's answer, field for field.
    assert_eq!(
        created,
        json!({"_id": id, "_action": "ConfirmationDialog",
               "_text": "You will receive the call shortly", "_ok_title": "Ok", "_dialog_id": "0"})
    );
    let r = record(&server, &id);
    assert_eq!(r["_callback_state"], "QUEUED");
    assert_eq!(r["_service_name"], "ut-immediate");
    // The same record as a service instance.
    assert_eq!(server.get(&format!("/service/{id}")).ok_json(200), r);
    assert_eq!(r["_customer_number"], "5551234");
    assert_eq!(r["first_name"], "Ada");
    assert_eq!(r["_ors_session_id"], id);
    assert!(r["_url"]
        .as_str()
        .is_some_and(|u| u.ends_with(&format!("/genesys/1/service/callback/ut-immediate/{id}"))));
    // Per service, with AND of properties and negation.
    let q = server
        .get("/service/callback/ut-immediate?_customer_number=5551234&_callback_state=!COMPLETED")
        .ok_json(200);
    assert_eq!(q.as_array().map(Vec::len), Some(1), "{q}");
    let none = server
        .get("/service/callback/ut-immediate?_customer_number=5551234&_callback_state=COMPLETED")
        .ok_json(200);
    assert_eq!(none, json!([]));
    // Waiting: position 1 in the queue.
    let pos = server
        .get(&format!("/service/{id}/check-queue-position"))
        .ok_json(200);
    assert_eq!(pos["_position"], 1, "{pos}");
    assert_eq!(pos["_total_waiting"], 1, "{pos}");

    // The agent is offered the callback with its user data, accepts; the customer is dialled
    // (answers at once) and connected.
    let since = ann_ready(&server);
    let (offer, since) = accept_offer(&server, since);
    assert_eq!(offer["queue"], "Callbacks");
    assert_eq!(offer["user_data"]["GMS_ServiceID"], id);
    assert_eq!(
        offer["user_data"]["GMS_UserData"],
        "{\"first_name\":\"Ada\"}"
    );
    assert_eq!(offer["user_data"]["GMS_ServiceName"], "ut-immediate");
    assert_eq!(offer["user_data"]["GMS_Call_Direction"], "USERTERMINATED");
    let (connected, _) = wait_event(&server, "ann", since, "interaction_connected");
    let ixn = connected["interaction"].as_str().expect("call").to_owned();
    let r = wait_state(&server, &id, "PROCESSING");
    assert_eq!(r["_agent"], "ann");
    assert_eq!(r["_dial_attempts"], "1");
    // With an agent, it can no longer be rescheduled.
    let late = server.put_json(
        &format!("/service/callback/ut-immediate/{id}"),
        &json!({"_new_desired_time": chrono_in(3600)}),
    );
    assert_eq!(
        late.gms_error(400, BAD_REQUEST_CB),
        format!(
            "Callback {id} is PROCESSING: only a SCHEDULED or QUEUED callback can be rescheduled."
        )
    );
    // The customer hangs up: COMPLETED with AGENT_CONNECTED.
    rb(&server, "POST", &format!("/telephony/calls/{ixn}/hangup")).ok_json(200);
    let r = wait_state(&server, &id, "COMPLETED");
    assert_eq!(r["_callback_reason"], "AGENT_CONNECTED");
    // A completed callback cannot be cancelled.
    server
        .delete(&format!("/service/callback/ut-immediate/{id}"))
        .gms_error(400, BAD_REQUEST_CB);
}

#[test]
fn a_customer_who_cannot_be_reached_fails_and_frees_the_agent() {
    let server = Server::start_with_config(CONFIG);
    let id = id_of(
        &server
            .post_form(
                "/service/callback/ut-immediate",
                &[("_customer_number", "5550000")],
            )
            .ok_json(200),
    );
    let since = ann_ready(&server);
    accept_offer(&server, since);
    let r = wait_state(&server, &id, "COMPLETED");
    assert_eq!(r["_callback_reason"], "FAIL_CALL_TO_CUSTOMER", "{r}");
    // The agent has nothing left on the desktop.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let ann = rb(&server, "GET", "/agents/ann").ok_json(200);
        if ann["interactions"] == json!([]) {
            break;
        }
        assert!(Instant::now() < deadline, "{ann}");
    }
}

#[test]
fn user_originated_immediate_answers_the_access_number_and_routes_the_call_in() {
    let server = Server::start_with_config(CONFIG);
    let created = server
        .post_form(
            "/service/callback/voice-userorig-immediate",
            &[("_customer_number", "6504661232")],
        )
        .ok_json(200);
    let id = id_of(&created);
    assert_eq!(
        created,
        json!({"_access_code": "n/a", "_access_number": "6504663204", "_action": "DialNumber",
               "_dialog_id": "0", "_expiration_time": "30", "_id": id,
               "_label": "Connecting ...", "_tel_url": "tel:6504663204"})
    );
    assert_eq!(record(&server, &id)["_callback_state"], "QUEUED");
    // The customer calls the number: the callback's session takes the call.
    let call = rb_form(
        &server,
        "/telephony/calls",
        &[("ani", "6504661232"), ("dnis", "6504663204")],
    )
    .ok_json(201);
    assert_eq!(call["session"], id, "{call}");
    assert_eq!(call["strategy"], "callback");
    let ixn = call["interaction"].as_str().expect("call").to_owned();
    wait_state(&server, &id, "ROUTING");
    let since = ann_ready(&server);
    let (offer, _) = accept_offer(&server, since);
    assert_eq!(offer["interaction"], ixn);
    // The desktop shows the match (help, "GMS_MatchResult = SUCCESS").
    assert_eq!(offer["user_data"]["GMS_MatchResult"], "SUCCESS", "{offer}");
    assert_eq!(
        offer["user_data"]["GMS_MatchMethod_AccessNumber"],
        "6504663204"
    );
    assert_eq!(offer["user_data"]["GMS_MatchMethod_ANI"], "6504661232");
    assert_eq!(offer["user_data"]["GMS_Call_Direction"], "USERORIGINATED");
    wait_state(&server, &id, "PROCESSING");
    rb(&server, "POST", &format!("/telephony/calls/{ixn}/hangup")).ok_json(200);
    let r = wait_state(&server, &id, "COMPLETED");
    assert_eq!(r["_callback_reason"], "AGENT_CONNECTED");
}

#[test]
fn user_originated_delayed_notifies_then_books_on_connect() {
    let server = Server::start_with_config(CONFIG);
    let created = server
        .post_form(
            "/service/callback/voice-userorig-delay",
            &[
                ("_customer_number", "6504661232"),
                ("usr_customer_name", "Bob Markel"),
            ],
        )
        .ok_json(200);
    let id = id_of(&created);
    assert_eq!(
        created,
        json!({"_id": id, "_text": "We will notify you when agent is available"})
    );
    // Before an agent is free, connect is refused and books nothing.
    let early = server.post_form(&format!("/service/{id}/connect"), &[]);
    assert_eq!(early.status, 409, "{}", early.text());
    let since = ann_ready(&server);
    accept_offer(&server, since);
    wait_state(&server, &id, "ROUTING");
    // The dialog the push names.
    let dialog = server
        .get(&format!(
            "/service/{id}/get-dialog-user-confirmation-provide_code-false"
        ))
        .ok_json(200);
    assert_eq!(dialog["_action"], "DisplayMenu", "{dialog}");
    let connect_url = dialog["_content"][0]["_group_content"][0]["_user_action_url"]
        .as_str()
        .expect("connect url");
    assert!(connect_url.ends_with(&format!("/genesys/1/service/{id}/connect")));
    let dial = server
        .post_form(&format!("/service/{id}/connect"), &[])
        .ok_json(200);
    assert_eq!(
        dial,
        json!({"_dialog_id": "0", "_label": "Connecting ...", "_action": "DialNumber",
               "_tel_url": "tel:6504663204", "_access_code": "n/a",
               "_access_number": "6504663204", "_expiration_time": "30", "_id": id})
    );
    let call = rb_form(
        &server,
        "/telephony/calls",
        &[("ani", "6504661232"), ("dnis", "6504663204")],
    )
    .ok_json(201);
    assert_eq!(call["session"], id, "{call}");
    let r = wait_state(&server, &id, "PROCESSING");
    assert_eq!(r["usr_customer_name"], "Bob Markel");
}

#[test]
fn cancel_and_reschedule_as_the_help_allows() {
    let server = Server::start_with_config(CONFIG);
    let later = "2099-01-15T10:00:00.000Z";
    // Far ahead: refused by the default _reject_future_desired_time (1M).
    let refused = server.post_form(
        "/service/callback/ut-immediate",
        &[("_customer_number", "5551234"), ("_desired_time", later)],
    );
    refused.gms_error(400, BAD_REQUEST_CB);
    let soon = chrono_in(3600);
    let scheduled = server
        .post_form(
            "/service/callback/ut-immediate",
            &[("_customer_number", "5551234"), ("_desired_time", &soon)],
        )
        .ok_json(200);
    let sid = id_of(&scheduled);
    let r = record(&server, &sid);
    assert_eq!(r["_callback_state"], "SCHEDULED");
    assert_eq!(r["_desired_time"], soon);
    // Reschedule: the new time, still SCHEDULED; a property removed with "".
    let newer = chrono_in(7200);
    let put = server.put_json(
        &format!("/service/callback/ut-immediate/{sid}"),
        &json!({"_new_desired_time": newer, "note": "x"}),
    );
    assert_eq!(put.status, 200, "{}", put.text());
    assert!(put.body.is_empty());
    let r = record(&server, &sid);
    assert_eq!(
        (r["_desired_time"].as_str(), r["note"].as_str()),
        (Some(newer.as_str()), Some("x"))
    );
    server
        .put_json(
            &format!("/service/callback/ut-immediate/{sid}"),
            &json!({"note": ""}),
        )
        .ok_json_empty();
    assert!(record(&server, &sid).get("note").is_none());
    // Cancel: the help's ConfirmationDialog, and the record COMPLETED (CANCELLED).
    let cancelled = server
        .delete(&format!("/service/callback/ut-immediate/{sid}"))
        .ok_json(200);
    assert_eq!(
        cancelled,
        json!({"_action": "ConfirmationDialog", "_id": sid,
               "_text": "Your service request is now cancelled.", "_ok_title": "OK",
               "_dialog_id": "0", "_desired_time": newer})
    );
    let r = record(&server, &sid);
    assert_eq!(
        (
            r["_callback_state"].as_str(),
            r["_callback_reason"].as_str()
        ),
        (Some("COMPLETED"), Some("CANCELLED"))
    );
    // A queued callback: cancelling takes it out of the queue.
    let qid = id_of(
        &server
            .post_form(
                "/service/callback/ut-immediate",
                &[("_customer_number", "5551235")],
            )
            .ok_json(200),
    );
    assert_eq!(
        rb(&server, "GET", "/queues/Callbacks").ok_json(200)["calls"],
        1
    );
    server
        .delete(&format!("/service/callback/ut-immediate/{qid}"))
        .ok_json(200);
    assert_eq!(
        rb(&server, "GET", "/queues/Callbacks").ok_json(200)["calls"],
        0
    );
    // Unknown ids and services.
    server
        .delete("/service/callback/ut-immediate/nope")
        .gms_error(404, NOT_FOUND_CB);
    server
        .post_form("/service/callback/nope", &[("_customer_number", "1")])
        .gms_error(404, NOT_FOUND_CB);
    // Watermarks and the admin's view.
    let marks = server.get("/admin/callback/watermarks").ok_json(200);
    assert_eq!(marks["total"], 0, "{marks}");
}

#[test]
fn guards_answer_with_the_gms_bodies() {
    let server = Server::start_with_config(CONFIG);
    for n in 0..3 {
        server
            .post_form(
                "/service/callback/ut-immediate",
                &[("_customer_number", &format!("555100{n}"))],
            )
            .ok_json(200);
    }
    server
        .post_form(
            "/service/callback/ut-immediate",
            &[("_customer_number", "5551009")],
        )
        .assert_error(
            503,
            UNAVAILABLE_CB,
            "Limit of queued callbacks for ut-immediate is reached.",
        );
    let r = send(
        server
            .req("POST", "/service/callback/ut-immediate")
            .set("ContactCenterId", "acme"),
        Some(b"_customer_number=1"),
    );
    r.assert_error(
        400,
        NOT_FOUND_CB,
        "Callback Contact Center ID: acme is not configured in transaction list.",
    );
    let marks = server.get("/admin/callback/watermarks").ok_json(200);
    assert_eq!(marks, json!({"services": {"ut-immediate": 3}, "total": 3}));
    let queues = server.get("/admin/callback/queues").ok_json(200);
    assert_eq!(
        queues["ut-immediate"].as_array().map(Vec::len),
        Some(3),
        "{queues}"
    );
}

#[test]
fn queued_and_scheduled_callbacks_survive_kill_9() {
    let scratch = Scratch::new("callback-restart");
    let ini = scratch.path().join("ringback.ini");
    std::fs::write(&ini, CONFIG).expect("config");
    let data = scratch.path().join("data");
    let mut server = Server::start_in(&data, Some(&ini));
    let queued = id_of(
        &server
            .post_form(
                "/service/callback/ut-immediate",
                &[("_customer_number", "5551234")],
            )
            .ok_json(200),
    );
    let soon = chrono_in(3600);
    let scheduled = id_of(
        &server
            .post_form(
                "/service/callback/ut-immediate",
                &[("_customer_number", "5551235"), ("_desired_time", &soon)],
            )
            .ok_json(200),
    );
    server.kill();
    let server = Server::start_in(&data, Some(&ini));
    assert_eq!(record(&server, &queued)["_callback_state"], "QUEUED");
    assert_eq!(record(&server, &scheduled)["_callback_state"], "SCHEDULED");
    // The queued one waits in its queue again and goes on where it was.
    assert_eq!(
        rb(&server, "GET", "/queues/Callbacks").ok_json(200)["calls"],
        1
    );
    let since = ann_ready(&server);
    accept_offer(&server, since);
    wait_state(&server, &queued, "PROCESSING");
}

/// An ISO time `secs` from now, to the millisecond.
fn chrono_in(secs: i64) -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
        + secs;
    let dt = chrono::DateTime::from_timestamp(t, 0).expect("time");
    dt.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

trait EmptyOk {
    fn ok_json_empty(&self);
}

impl EmptyOk for Resp {
    fn ok_json_empty(&self) {
        assert_eq!(self.status, 200, "{}", self.text());
    }
}

const CHAT_CONFIG: &str = r#"
[agent.ann]
groups = Agents
media = voice, chat
capacity = voice=1, chat=2

[service.chat-immediate]
_type = ors
_service = callback
_media_type = chat
_wait_for_agent = false
_urs_virtual_queue = Chats
_target = Agents@StatServer.GA

[service.chat-delayed]
_type = ors
_service = callback
_media_type = chat
_wait_for_agent = true
_urs_virtual_queue = Chats
_target = Agents@StatServer.GA

[service.preview]
_type = ors
_service = callback
_agent_preview = true
_agent_preview_allow_reject = 2
_urs_virtual_queue = Callbacks
_target = Agents@StatServer.GA
"#;

#[test]
fn chat_immediate_starts_a_chat_that_an_agent_answers() {
    let server = Server::start_with_config(CHAT_CONFIG);
    let created = send(
        server
            .req("POST", "/service/callback/chat-immediate")
            .set("gms_user", "u-42")
            .set("Content-Type", "application/x-www-form-urlencoded"),
        Some(b"_customer_number=6502388511&usr_reason=billing"),
    )
    .ok_json(200);
    let id = id_of(&created);
    let root = &server.root;
    assert_eq!(
        created,
        json!({"_dialog_id": "1", "_action": "StartChat", "_label": "Start Chat",
               "_start_chat_url": format!("{root}/genesys/1/service/{id}/ixn/chat"),
               "_comet_url": format!("{root}/genesys/cometd"), "_user_header": "u-42",
               "_id_to_jump_before": "exit://", "_chat_parameters": {"subject": "None"},
               "_id": id})
    );
    // Not started yet: the chat operations say so.
    server
        .post_form(&format!("/service/{id}/ixn/chat/refresh"), &[])
        .gms_error(400, BAD_REQUEST_CB);
    let started = server
        .post_form(
            &format!("/service/{id}/ixn/chat"),
            &[
                ("firstName", "John"),
                ("lastName", "Harry"),
                ("subject", "testing"),
            ],
        )
        .ok_json(200);
    assert_eq!(started["chatIxnState"], "CONNECTED", "{started}");
    assert_eq!(
        started["transcriptToShow"],
        json!([["Notice.Joined", "John Harry", "", "John Harry", "CLIENT"]])
    );
    wait_state(&server, &id, "ROUTING");
    let since = ann_ready(&server);
    let (offer, since) = accept_offer(&server, since);
    assert_eq!(offer["media"], "chat");
    assert_eq!(
        offer["user_data"]["GMS_UserData"],
        "{\"usr_reason\":\"billing\"}"
    );
    wait_state(&server, &id, "PROCESSING");
    let (_, _) = wait_event(&server, "ann", since, "interaction_started");
    let ixn = started["chatSessionId"]
        .as_str()
        .expect("chat id")
        .to_owned();
    // Both ways: the agent from the desktop, the customer through the Chat API.
    rb_form(
        &server,
        &format!("/agents/ann/interactions/{ixn}/send"),
        &[("message", "Hello, how can I help?")],
    )
    .ok_json(200);
    let said = server
        .post_form(
            &format!("/service/{id}/ixn/chat/send"),
            &[("message", "My bill"), ("transcriptPosition", "1")],
        )
        .ok_json(200);
    assert_eq!(
        said["transcriptToShow"],
        json!([
            ["Notice.Joined", "ann", "", "ann", "AGENT"],
            [
                "Message.Text",
                "ann",
                "Hello, how can I help?",
                "ann",
                "AGENT"
            ],
            [
                "Message.Text",
                "John Harry",
                "My bill",
                "John Harry",
                "CLIENT"
            ]
        ]),
        "{said}"
    );
    assert_eq!(said["transcriptPosition"], 4);
    let gone = server
        .post_form(&format!("/service/{id}/ixn/chat/disconnect"), &[])
        .ok_json(200);
    assert_eq!(gone["chatIxnState"], "DISCONNECTED");
    let r = wait_state(&server, &id, "COMPLETED");
    assert_eq!(r["_callback_reason"], "AGENT_CONNECTED");
}

#[test]
fn chat_delayed_refuses_request_chat_until_an_agent_is_free() {
    let server = Server::start_with_config(CHAT_CONFIG);
    let id = id_of(
        &server
            .post_form(
                "/service/callback/chat-delayed",
                &[("_customer_number", "4082652649")],
            )
            .ok_json(200),
    );
    let early = server.post_form(&format!("/service/{id}/request-chat"), &[]);
    assert_eq!(early.status, 503);
    assert!(early.body.is_empty(), "{}", early.text());
    let since = ann_ready(&server);
    accept_offer(&server, since);
    wait_state(&server, &id, "ROUTING");
    let chat = server
        .post_form(&format!("/service/{id}/request-chat"), &[])
        .ok_json(200);
    assert_eq!(
        chat,
        json!({"_chatIxnAPI-CREATE-URL": format!("{}/genesys/1/service/{id}/ixn/chat", server.root), "_id": id})
    );
    server
        .post_form(
            &format!("/service/{id}/ixn/chat"),
            &[("userDisplayName", "Bob")],
        )
        .ok_json(200);
    wait_state(&server, &id, "PROCESSING");
}

#[test]
fn an_agent_preview_rejected_twice_ends_the_callback() {
    let server = Server::start_with_config(CHAT_CONFIG);
    let id = id_of(
        &server
            .post_form(
                "/service/callback/preview",
                &[("_customer_number", "5551234")],
            )
            .ok_json(200),
    );
    let mut since = ann_ready(&server);
    for _ in 0..2 {
        let (offer, s) = wait_event(&server, "ann", since, "offer");
        since = s;
        assert_eq!(offer["user_data"]["GMS_Agent_Preview"], "true", "{offer}");
        let o = offer["offer"].as_str().expect("offer id").to_owned();
        rb(&server, "POST", &format!("/agents/ann/offers/{o}/reject")).ok_json(200);
    }
    let r = wait_state(&server, &id, "COMPLETED");
    assert_eq!(
        r["_callback_reason"], "AGENT_PREVIEW_CANCEL_AFTER_2REJECTS",
        "{r}"
    );
}

const HOURS_CONFIG: &str = r#"
[service.hours]
_type = builtin
_service = office-hours
_timezone = Europe/Paris
_bh_regular1 = Mon-Sun 09:00-17:00

[service.booked]
_type = ors
_service = callback
_call_direction = USERTERMINATED
_wait_for_agent = false
_urs_virtual_queue = Callbacks
_target = Agents@StatServer.GA
_business_hours_service = hours
_request_time_bucket = 30
_max_request_by_time_bucket = 1
_reject_future_desired_time = 1y
"#;

#[test]
fn availability_and_a_full_slot_refused_with_the_free_ones() {
    let server = Server::start_with_config(HOURS_CONFIG);
    // A summer day in Paris (UTC+2): open 07:00-15:00 UTC, sixteen half-hour slots.
    let v1 = server
        .get("/service/callback/booked/availability?start=2027-07-01T00:00:00.000Z&end=2027-07-02T00:00:00.000Z")
        .ok_json(200);
    let slots = v1.as_object().expect("object");
    assert_eq!(slots.len(), 16, "{v1}");
    assert_eq!(slots["2027-07-01T07:00:00.000Z"], 1);
    assert!(!slots.contains_key("2027-07-01T06:30:00.000Z"));
    // A winter day (UTC+1): the same hours are 08:00-16:00 UTC.
    let winter = server
        .get("/service/callback/booked/availability?start=2027-01-12T00:00:00.000Z&number-of-days=1&max-time-slots=2")
        .ok_json(200);
    assert_eq!(
        winter,
        json!({"2027-01-12T08:00:00.000Z": 1, "2027-01-12T08:30:00.000Z": 1})
    );
    // Booking a slot takes it; a second request for it is refused with the next free ones.
    let t = "2027-07-01T07:10:00.000Z";
    server
        .post_form(
            "/service/callback/booked",
            &[("_customer_number", "5551234"), ("_desired_time", t)],
        )
        .ok_json(200);
    let refused = server.post_form(
        "/service/callback/booked",
        &[("_customer_number", "5551235"), ("_desired_time", t)],
    );
    assert_eq!(refused.status, 400, "{}", refused.text());
    let body = refused.json();
    assert_eq!(body["exception"], BAD_REQUEST_CB);
    assert_eq!(
        body["availability"]["2027-07-01T07:30:00.000Z"], 1,
        "{body}"
    );
    assert!(
        body["availability"]
            .get("2027-07-01T07:00:00.000Z")
            .is_none(),
        "{body}"
    );
    // Rescheduling follows the same rules; a callback's own place does not count against it.
    let b = id_of(
        &server
            .post_form(
                "/service/callback/booked",
                &[
                    ("_customer_number", "5551237"),
                    ("_desired_time", "2027-07-01T07:40:00.000Z"),
                ],
            )
            .ok_json(200),
    );
    let full = server.put_json(
        &format!("/service/callback/booked/{b}"),
        &json!({"_new_desired_time": "2027-07-01T07:05:00.000Z"}),
    );
    assert_eq!(full.status, 400, "{}", full.text());
    assert!(full.json()["availability"].is_object());
    let same_slot = server.put_json(
        &format!("/service/callback/booked/{b}"),
        &json!({"_new_desired_time": "2027-07-01T07:50:00.000Z"}),
    );
    assert_eq!(same_slot.status, 200, "{}", same_slot.text());
    // Out of office hours.
    let night = server.post_form(
        "/service/callback/booked",
        &[
            ("_customer_number", "5551236"),
            ("_desired_time", "2027-07-01T20:00:00.000Z"),
        ],
    );
    assert_eq!(night.status, 400);
    assert!(night.json()["message"]
        .as_str()
        .is_some_and(|m| m.contains("outside office hours")));
    // v2 reports the busy slots with report-busy, and local times in the zone asked for.
    let url = format!(
        "{}/genesys/2/service/callback/booked/availability?start=2027-07-01T07:00:00.000Z&max-time-slots=2&report-busy=true&timezone=America/Toronto",
        server.root
    );
    let v2 = send(server.raw_req("GET", &url), None).ok_json(200);
    assert_eq!(
        v2,
        json!({"durationMin": 30, "timezone": "America/Toronto", "slots": [
            {"utcTime": "2027-07-01T07:00:00.000Z", "localTime": "2027-07-01T03:00:00.000-04:00", "capacity": 0, "total": 1},
            {"utcTime": "2027-07-01T07:30:00.000Z", "localTime": "2027-07-01T03:30:00.000-04:00", "capacity": 0, "total": 1}]})
    );
    server
        .get("/service/callback/booked/availability?start=yesterday")
        .gms_error(400, common::BAD_REQUEST);
}

#[test]
fn a_paused_service_takes_its_queued_callbacks_out_and_back() {
    let config = format!(
        "{CONFIG}\n[service.pausable]\n_type = ors\n_service = callback\n\
         _call_direction = USERTERMINATED\n_wait_for_agent = false\n\
         _urs_virtual_queue = Pausable\n_target = Agents@StatServer.GA\n\
         _paused_services_list = GMS_Paused_Services\n"
    );
    let server = Server::start_with_config(&config);
    let id = id_of(
        &server
            .post_form(
                "/service/callback/pausable",
                &[("_customer_number", "5551234")],
            )
            .ok_json(200),
    );
    assert_eq!(
        rb(&server, "GET", "/queues/Pausable").ok_json(200)["calls"],
        1
    );
    server
        .put_json(
            "/admin/config/GMS_Paused_Services",
            &json!({"pausable": "true"}),
        )
        .ok_json(200);
    wait_state_for(&server, &id, "PAUSED", 20);
    assert_eq!(
        rb(&server, "GET", "/queues/Pausable").ok_json(200)["calls"],
        0
    );
    server
        .put_json(
            "/admin/config/GMS_Paused_Services",
            &json!({"pausable": "false"}),
        )
        .ok_json(200);
    wait_state_for(&server, &id, "QUEUED", 20);
    assert_eq!(
        rb(&server, "GET", "/queues/Pausable").ok_json(200)["calls"],
        1
    );
}

/// [`wait_state`] with a longer bound, for what the server does on its own schedule.
fn wait_state_for(server: &Server, id: &str, state: &str, secs: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let r = record(server, id);
        if r["_callback_state"] == state || Instant::now() > deadline {
            assert_eq!(r["_callback_state"], state, "{r}");
            return r;
        }
        // Paced by a long poll on an idle agent's events (no sleep).
        let _ = rb(server, "GET", "/agents/ann/events?since=1000000&timeout=1");
    }
}

#[test]
fn notifications_between_the_agent_and_the_app_as_the_help_shows() {
    let server = Server::start_with_config(CONFIG);
    let id = id_of(
        &server
            .post_form(
                "/service/callback/ut-immediate",
                &[("_customer_number", "5551234")],
            )
            .ok_json(200),
    );
    // Desktop to app: no push for this device, so kept for polling.
    let sent = server
        .post_form(
            &format!("/service/{id}/internal-notification"),
            &[
                ("_display_message", "Message to be displayed to user"),
                (
                    "_application_message",
                    "MESSAGE_FOR_MOBILE_APP_INTERNAL_USE",
                ),
            ],
        )
        .ok_json(200);
    assert_eq!(sent, json!({"message": "Notification Sent"}));
    let kept = server
        .post_form(&format!("/service/{id}/retrieve-notifications"), &[])
        .ok_json(200);
    assert_eq!(
        kept,
        json!([{"_internal_message": "MESSAGE_FOR_MOBILE_APP_INTERNAL_USE", "_id": id,
                "_display_message": "Message to be displayed to user"}])
    );
    assert_eq!(
        server
            .post_form(&format!("/service/{id}/retrieve-notifications"), &[])
            .ok_json(200),
        json!([])
    );
    // App to desktop.
    server
        .post_form(
            &format!("/service/{id}/agent-notification"),
            &[
                ("_display_message", "Message to be displayed to agent"),
                (
                    "_application_message",
                    "MESSAGE_FOR_AGENT_DESKTOP_INTERNAL_USE",
                ),
            ],
        )
        .ok_json(200);
    let got = server
        .post_form(&format!("/service/{id}/retrieve-agent-notifications"), &[])
        .ok_json(200);
    assert_eq!(got[0]["tag"], format!("agent.message.{id}"), "{got}");
    let inner: Value =
        serde_json::from_str(got[0]["message"].as_str().expect("a JSON string")).expect("json");
    assert_eq!(
        inner,
        json!({"_id": id, "_internal_message": "MESSAGE_FOR_AGENT_DESKTOP_INTERNAL_USE",
               "_display_message": "Message to be displayed to agent"})
    );
    // Nothing to send is refused; an unknown service is 404.
    server
        .post_form(&format!("/service/{id}/agent-notification"), &[])
        .gms_error(400, common::BAD_REQUEST);
    server
        .post_form(
            "/service/nope/internal-notification",
            &[("_display_message", "x")],
        )
        .gms_error(404, NOT_FOUND_CB);
}

const RESTART_CONFIG: &str = r#"
[telephony]
dial_rules = {"rules": [{"match": "5559999", "outcome": "answer", "after_ms": 600000}], "default": {"outcome": "answer", "after_ms": 0}}

[agent.ann]
groups = Agents

[service.ut]
_type = ors
_service = callback
_call_direction = USERTERMINATED
_wait_for_agent = false
_urs_virtual_queue = Callbacks
_target = Agents@StatServer.GA
_dial_retry_timeout = 300
_max_queued_callbacks_per_service = 100000
_throttle_callbacks_per_service_1 = 100000
"#;

#[test]
fn queued_scheduled_and_routing_callbacks_come_back_after_kill_9_once_each() {
    let scratch = Scratch::new("callback-restart-load");
    let ini = scratch.path().join("ringback.ini");
    std::fs::write(&ini, RESTART_CONFIG).expect("config");
    let data = scratch.path().join("data");
    let mut server = Server::start_in(&data, Some(&ini));
    // One callback reaches an agent, whose customer's phone rings for ten minutes: ROUTING.
    let routing = id_of(
        &server
            .post_form("/service/callback/ut", &[("_customer_number", "5559999")])
            .ok_json(200),
    );
    let since = ann_ready(&server);
    accept_offer(&server, since);
    wait_state(&server, &routing, "ROUTING");
    // Then many queued and scheduled ones, created concurrently.
    let soon = chrono_in(3600);
    let ids: Vec<(String, &str)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..4)
            .map(|w| {
                let (server, soon) = (&server, &soon);
                s.spawn(move || {
                    (0..75)
                        .map(|n| {
                            let number = format!("55{w}{n:04}");
                            if n % 3 == 0 {
                                let r = server.post_form(
                                    "/service/callback/ut",
                                    &[("_customer_number", &number), ("_desired_time", soon)],
                                );
                                (id_of(&r.ok_json(200)), "SCHEDULED")
                            } else {
                                let r = server.post_form(
                                    "/service/callback/ut",
                                    &[("_customer_number", &number)],
                                );
                                (id_of(&r.ok_json(200)), "QUEUED")
                            }
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("worker"))
            .collect()
    });
    assert_eq!(ids.len(), 300);
    server.kill();

    let server = Server::start_in(&data, Some(&ini));
    for (id, state) in &ids {
        assert_eq!(record(&server, id)["_callback_state"], *state, "{id}");
    }
    // Each queued callback waits once in the queue (none lost, none twice).
    assert_eq!(
        rb(&server, "GET", "/queues/Callbacks").ok_json(200)["calls"],
        200
    );
    let all = server.get("/service/callback/ut").ok_json(200);
    assert_eq!(all.as_array().map(Vec::len), Some(301));
    // The ringing call did not survive the restart: the callback waits to be dialled again
    // (after _dial_retry_timeout), out of the queue meanwhile.
    let r = wait_state(&server, &routing, "QUEUED");
    assert_eq!(r["_dial_attempts"], "1");
}

/// The POSTs the receiver got within `secs` seconds, until `n` arrived: `(path, body)`.
fn posts(
    rx: &std::sync::mpsc::Receiver<(String, String)>,
    n: usize,
    secs: u64,
) -> Vec<(String, Value)> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut got = Vec::new();
    while got.len() < n {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((path, body)) => got.push((path, serde_json::from_str(&body).expect("JSON"))),
            Err(_) => break,
        }
    }
    got
}

#[test]
fn status_notifications_follow_a_callback_to_the_configured_target() {
    let (url, bodies) = common::receiver(Vec::new());
    let config = format!(
        "{CONFIG}
[push]
pushEnabled = comet, httpcb

[service.ut-notified]
_type = ors
_service = callback
_call_direction = USERTERMINATED
_wait_for_agent = false
_urs_virtual_queue = Callbacks
_target = Agents@StatServer.GA
_enable_status_notification = subscribe_notify
_status_notification_type = httpcb
_status_notification_target = {url}/status
_callback_events_list = CallbackEvents
_treatment_customer_connect = please-hold

[CallbackEvents]
_cbe_on_service_create = _service_id, _customer_number, _urs_virtual_queue
_cbe_on_customer_queued =
_cbe_on_target_found =
_cbe_on_dial_init =
_cbe_on_connect_treatment_start =
_cbe_on_route_to_agent =

[CallbackEvents._cbe_on_service_exit]
notify_params = _customer_number, first_name
"
    );
    let server = Server::start_with_config(&config);
    let id = id_of(
        &server
            .post_form(
                "/service/callback/ut-notified",
                &[("_customer_number", "5551234"), ("first_name", "Ada")],
            )
            .ok_json(200),
    );
    // Created and queued: the two events of the list (not the virtual interaction's).
    let mut got = posts(&bodies, 2, 10);
    let since = ann_ready(&server);
    let (_, since) = accept_offer(&server, since);
    let (connected, _) = wait_event(&server, "ann", since, "interaction_connected");
    let ixn = connected["interaction"].as_str().expect("call").to_owned();
    wait_state(&server, &id, "PROCESSING");
    rb(&server, "POST", &format!("/telephony/calls/{ixn}/hangup")).ok_json(200);
    wait_state(&server, &id, "COMPLETED");
    got.extend(posts(&bodies, 5, 10));
    // Nothing else comes (dial done is not in the list).
    got.extend(posts(&bodies, 1, 1));
    let events: Vec<&str> = got
        .iter()
        .map(|(path, body)| {
            assert_eq!(path, "/status");
            let event = body["message"]["_event"].as_str().expect("_event");
            assert_eq!(
                body["tag"],
                format!("service.callback.{event}.{id}"),
                "{body}"
            );
            assert_eq!(body["message"]["_id"], id, "{body}");
            assert_eq!(body["message"]["_service_name"], "ut-notified", "{body}");
            event
        })
        .collect();
    let mut sorted = events.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        [
            "_cbe_on_connect_treatment_start",
            "_cbe_on_customer_queued",
            "_cbe_on_dial_init",
            "_cbe_on_route_to_agent",
            "_cbe_on_service_create",
            "_cbe_on_service_exit",
            "_cbe_on_target_found",
        ],
        "{events:?}"
    );
    let message = |event: &str| {
        got.iter()
            .find(|(_, b)| b["message"]["_event"] == event)
            .map(|(_, b)| b["message"].clone())
            .expect("the event")
    };
    assert_eq!(
        message("_cbe_on_service_create"),
        json!({"_event": "_cbe_on_service_create", "_id": id, "_service_name": "ut-notified",
               "_callback_state": "QUEUED", "_service_id": id, "_customer_number": "5551234",
               "_urs_virtual_queue": "Callbacks"})
    );
    assert_eq!(
        message("_cbe_on_service_exit"),
        json!({"_event": "_cbe_on_service_exit", "_id": id, "_service_name": "ut-notified",
               "_callback_state": "COMPLETED", "_callback_reason": "AGENT_CONNECTED",
               "_customer_number": "5551234", "first_name": "Ada"})
    );
    // A list that names no section is the service's mistake: the callback is still taken.
    let bad = format!(
        "{CONFIG}\n[service.ut-bad-list]\n_type = ors\n_service = callback\n\
         _urs_virtual_queue = Callbacks\n_target = Agents@StatServer.GA\n\
         _enable_status_notification = true\n_status_notification_target = {url}/status\n\
         _callback_events_list = Missing\n"
    );
    let server = Server::start_with_config(&bad);
    server
        .post_form(
            "/service/callback/ut-bad-list",
            &[("_customer_number", "5551234")],
        )
        .ok_json(200);
}

#[test]
fn a_scheduled_callback_reminds_its_target_before_its_time_once() {
    let (url, bodies) = common::receiver(Vec::new());
    let config = format!(
        "{CONFIG}
[push]
pushEnabled = comet, httpcb

[service.ut-reminded]
_type = ors
_service = callback
_call_direction = USERTERMINATED
_wait_for_agent = false
_urs_virtual_queue = Callbacks
_target = Agents@StatServer.GA
_desired_connect_time_threshold = 0
_enable_status_notification = true
_status_notification_target = {url}/status
_enable_notification_reminder = true
_notification_reminder_buffer = 2
"
    );
    let server = Server::start_with_config(&config);
    let at = chrono_in(5);
    let desired = chrono::DateTime::parse_from_rfc3339(&at).expect("an ISO time");
    let id = id_of(
        &server
            .post_form(
                "/service/callback/ut-reminded",
                &[("_customer_number", "5551234"), ("_desired_time", &at)],
            )
            .ok_json(200),
    );
    let got = posts(&bodies, 2, 10);
    let events: Vec<&Value> = got.iter().map(|(_, b)| &b["message"]).collect();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0]["_event"], "_cbe_on_service_create");
    // Two seconds before the time, while it is still SCHEDULED.
    assert!(chrono::Utc::now() < desired, "the reminder came after {at}");
    assert_eq!(
        *events[1],
        json!({"_event": "_cbe_on_callback_reminder", "_id": id, "_service_name": "ut-reminded",
               "_callback_state": "SCHEDULED", "_customer_number": "5551234",
               "_desired_time": at})
    );
    assert_eq!(
        got[1].1["tag"],
        format!("service.callback._cbe_on_callback_reminder.{id}")
    );
    // The record says when it went, so a restart does not send it again.
    assert!(record(&server, &id)["_notification_reminder_time"].is_string());
    // At its time it queues (the events of queueing, no second reminder).
    wait_state(&server, &id, "QUEUED");
    let later: Vec<Value> = posts(&bodies, 3, 3)
        .into_iter()
        .map(|(_, b)| b["message"]["_event"].clone())
        .collect();
    assert_eq!(
        later,
        [
            json!("_cbe_on_virtual_ixn_create"),
            json!("_cbe_on_customer_queued")
        ]
    );
}

#[test]
fn agent_first_dials_the_customer_from_the_agents_phone() {
    // The customer answers two seconds after the dial.
    let config = CONFIG.replace(
        r#""default": {"outcome": "answer", "after_ms": 0}"#,
        r#""default": {"outcome": "answer", "after_ms": 2000}"#,
    ) + "
[service.ut-agent-first]
_type = ors
_service = callback
_call_direction = USERTERMINATED
_wait_for_agent = false
_urs_virtual_queue = Callbacks
_target = Agents@StatServer.GA
_userterminated_first_connect_party = AGENT
_treatment_customer_connect = please-hold
_max_dial_attempts = 1
";
    assert!(
        config.contains("\"after_ms\": 2000"),
        "CONFIG's dial rules changed"
    );
    let server = Server::start_with_config(&config);
    let id = id_of(
        &server
            .post_form(
                "/service/callback/ut-agent-first",
                &[("_customer_number", "5551234")],
            )
            .ok_json(200),
    );
    let since = ann_ready(&server);
    let (_, since) = accept_offer(&server, since);
    // The agent is on the call while it still rings at the customer's.
    let (connected, _) = wait_event(&server, "ann", since, "interaction_connected");
    let ixn = connected["interaction"].as_str().expect("call").to_owned();
    let call = rb(&server, "GET", &format!("/telephony/calls/{ixn}")).ok_json(200);
    assert_eq!(call["state"]["state"], "ringing", "{call}");
    assert_eq!(
        call["parties"],
        json!([{"type": "agent", "id": "ann"}, {"type": "customer", "id": "5551234"}])
    );
    assert_eq!(record(&server, &id)["_callback_state"], "ROUTING");
    // The customer answers: the two talk at once, with no connect treatment.
    let r = wait_state(&server, &id, "PROCESSING");
    assert_eq!(r["_agent"], "ann");
    let call = rb(&server, "GET", &format!("/telephony/calls/{ixn}")).ok_json(200);
    assert_eq!(call["state"], json!({"state": "established"}), "{call}");
    rb(&server, "POST", &format!("/telephony/calls/{ixn}/hangup")).ok_json(200);
    let r = wait_state(&server, &id, "COMPLETED");
    assert_eq!(r["_callback_reason"], "AGENT_CONNECTED");
    // A busy customer: the call ends with the agent on it and the callback fails.
    rb(
        &server,
        "POST",
        &format!("/agents/ann/interactions/{ixn}/complete"),
    )
    .ok_json(200);
    // Ready again: the next callback is offered as soon as it queues.
    let since = rb(&server, "GET", "/agents/ann").ok_json(200)["last_event"]
        .as_u64()
        .expect("last_event");
    let id = id_of(
        &server
            .post_form(
                "/service/callback/ut-agent-first",
                &[("_customer_number", "5550000")],
            )
            .ok_json(200),
    );
    accept_offer(&server, since);
    let r = wait_state(&server, &id, "COMPLETED");
    assert_eq!(r["_callback_reason"], "FAIL_CALL_TO_CUSTOMER", "{r}");
    // The agent placed the call: it stays on the desktop, released, until they complete it.
    let ann = rb(&server, "GET", "/agents/ann").ok_json(200);
    let desk = &ann["interactions"][0];
    assert_eq!(
        (&desk["call_state"], &desk["customer"]),
        (&json!("released"), &json!("5550000")),
        "{ann}"
    );
    let ixn = desk["id"].as_str().expect("id");
    let ann = rb(
        &server,
        "POST",
        &format!("/agents/ann/interactions/{ixn}/complete"),
    )
    .ok_json(200);
    assert_eq!(ann["interactions"], json!([]), "{ann}");
}

/// A server with [`CONFIG`] and `[service.<name>]`: a user-terminated callback that waits
/// for an agent and the customer's confirmation, with one more option line.
fn confirming_server(name: &str, option: &str) -> Server {
    Server::start_with_config(&format!(
        "{CONFIG}
[service.{name}]
_type = ors
_service = callback
_call_direction = USERTERMINATED
_wait_for_agent = true
_wait_for_user_confirm = true
{option}
_urs_virtual_queue = Callbacks
_target = Agents@StatServer.GA
"
    ))
}

/// Reads the confirmation dialog of callback `id` until it is the DisplayMenu (the customer is
/// being asked), at most ten seconds.
fn wait_menu(server: &Server, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let d = server
            .get(&format!("/service/{id}/get-dialog-user-confirmation"))
            .ok_json(200);
        if d["_action"] == "DisplayMenu" || Instant::now() > deadline {
            assert_eq!(d["_action"], "DisplayMenu", "{d}");
            return d;
        }
    }
}

#[test]
fn a_scheduled_callback_of_a_confirming_service_waits_for_its_time_then_asks() {
    // It may be called from _desired_connect_time_threshold seconds before its time.
    let server = confirming_server("ut-sched", "_desired_connect_time_threshold = 2");
    let at = chrono_in(4);
    let desired = chrono::DateTime::parse_from_rfc3339(&at).expect("an ISO time");
    let created = server
        .post_form(
            "/service/callback/ut-sched",
            &[("_customer_number", "5551234"), ("_desired_time", &at)],
        )
        .ok_json(200);
    let id = id_of(&created);
    // The scheduled scenario's answer; SCHEDULED until the time, and nothing to confirm yet.
    assert_eq!(
        created,
        json!({"_id": id, "_action": "ConfirmationDialog",
               "_text": format!("You will receive the call at {at}"), "_ok_title": "Ok",
               "_dialog_id": "0", "_desired_time": at})
    );
    assert_eq!(record(&server, &id)["_callback_state"], "SCHEDULED");
    let early = server.post_form(&format!("/service/{id}/connect"), &[]);
    assert_eq!(early.status, 409, "{}", early.text());
    // Two seconds before its time it queues; an agent is found and the customer is asked.
    wait_state(&server, &id, "QUEUED");
    assert!(
        chrono::Utc::now() < desired,
        "queued only after its desired time {at}"
    );
    let since = ann_ready(&server);
    accept_offer(&server, since);
    let dialog = wait_menu(&server, &id);
    assert_eq!(dialog["_label"], "Agent is available", "{dialog}");
    let confirmed = server
        .post_form(&format!("/service/{id}/connect"), &[])
        .ok_json(200);
    assert_eq!(confirmed["_text"], "You will receive the call shortly");
    let r = wait_state(&server, &id, "PROCESSING");
    assert_eq!(r["_agent"], "ann");
}

#[test]
fn past_max_queue_wait_the_customer_is_called_and_waits_on_the_line_for_an_agent() {
    let server = confirming_server("ut-max-wait", "_max_queue_wait = 1");
    let id = id_of(
        &server
            .post_form(
                "/service/callback/ut-max-wait",
                &[("_customer_number", "5551234")],
            )
            .ok_json(200),
    );
    // No agent: after a second in the queue the customer is asked all the same.
    wait_menu(&server, &id);
    assert_eq!(record(&server, &id)["_callback_state"], "QUEUED");
    // They confirm: dialled (answers at once) and waiting on the line, still in the queue.
    server
        .post_form(&format!("/service/{id}/connect"), &[])
        .ok_json(200);
    let r = wait_state(&server, &id, "ROUTING");
    assert!(r.get("_agent").is_none(), "{r}");
    assert_eq!(
        rb(&server, "GET", "/queues/Callbacks").ok_json(200)["calls"],
        1
    );
    // An agent takes it: connected.
    let since = ann_ready(&server);
    accept_offer(&server, since);
    let r = wait_state(&server, &id, "PROCESSING");
    assert_eq!(r["_agent"], "ann");
}

#[test]
fn before_min_queue_wait_an_agent_found_early_is_held_and_the_customer_not_asked() {
    let server = confirming_server("ut-min-wait", "_min_queue_wait = 2");
    let since = ann_ready(&server);
    let t0 = Instant::now();
    let id = id_of(
        &server
            .post_form(
                "/service/callback/ut-min-wait",
                &[("_customer_number", "5551234")],
            )
            .ok_json(200),
    );
    // The agent takes it at once, but the customer is not asked before two seconds.
    accept_offer(&server, since);
    let dialog = server
        .get(&format!("/service/{id}/get-dialog-user-confirmation"))
        .ok_json(200);
    assert_eq!(
        dialog["_text"],
        "We will notify you when agent is available"
    );
    assert_eq!(record(&server, &id)["_callback_state"], "QUEUED");
    let early = server.post_form(&format!("/service/{id}/connect"), &[]);
    assert_eq!(early.status, 409, "{}", early.text());
    wait_menu(&server, &id);
    assert!(
        t0.elapsed() >= Duration::from_millis(1_900),
        "asked after {:?}",
        t0.elapsed()
    );
    server
        .post_form(&format!("/service/{id}/connect"), &[])
        .ok_json(200);
    let r = wait_state(&server, &id, "PROCESSING");
    assert_eq!(r["_agent"], "ann");
}

#[test]
fn a_callback_cancelled_while_its_agent_is_held_frees_the_agent() {
    let server = confirming_server("ut-held", "_min_queue_wait = 600");
    let since = ann_ready(&server);
    let id = id_of(
        &server
            .post_form(
                "/service/callback/ut-held",
                &[("_customer_number", "5551234")],
            )
            .ok_json(200),
    );
    let (_, since) = accept_offer(&server, since);
    let busy = rb(&server, "GET", "/agents/ann").ok_json(200);
    assert_eq!(
        busy["interactions"].as_array().map(Vec::len),
        Some(1),
        "{busy}"
    );
    // Cancelled while ann is held for it: she is free again and takes the next one.
    server
        .delete(&format!("/service/callback/ut-held/{id}"))
        .ok_json(200);
    server
        .post_form(
            "/service/callback/ut-immediate",
            &[("_customer_number", "5551235")],
        )
        .ok_json(200);
    let (offer, _) = wait_event(&server, "ann", since, "offer");
    assert_eq!(
        offer["user_data"]["GMS_ServiceName"], "ut-immediate",
        "{offer}"
    );
}
