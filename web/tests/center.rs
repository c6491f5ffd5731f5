//! Routing and telephony through the real `ringback serve` binary over loopback: the agent
//! desktop API (`/ringback/1/agents/...`) with long-polled events, inbound calls through the
//! telephony simulator, virtual-queue statistics and the urs-stat builtin, dial rules, and the
//! admin agents API with persistence across a restart.

#[allow(dead_code)] // the harness is shared with the GMS API tests
mod common;

use std::time::Duration;

use common::{send, wait_event, Resp, Scratch, Server, BAD_REQUEST, METHOD_NOT_ALLOWED, NOT_FOUND};
use serde_json::{json, Value};

/// The GMS exception class for a status.
fn exception(status: u16) -> &'static str {
    match status {
        400 => BAD_REQUEST,
        404 => NOT_FOUND,
        405 => METHOD_NOT_ALLOWED,
        409 => "com.genesyslab.gsg.services.ConflictException",
        other => panic!("no exception class listed for {other}"),
    }
}

trait Expect {
    /// Asserts a GMS error body with this status whose message contains `needle`.
    fn err(&self, status: u16, needle: &str);
}

impl Expect for Resp {
    fn err(&self, status: u16, needle: &str) {
        let message = self.gms_error(status, exception(status));
        assert!(
            message.contains(needle),
            "message {message:?} does not contain {needle:?}"
        );
    }
}

const CONFIG: &str = r#"
[routing]
inbound_queue = Support
inbound_target = Support@StatServer.GA
reserve_timeout = 30
reject_retry = 0
ewt_method = urs

[resources.DNIS]
numbers = 6504663200, 6504663201
allocation = round-robin

[service.request-interaction]
_type = builtin
_service = request-interaction
_resource_group = DNIS

[service.stats]
_type = builtin
_service = urs-stat
_caching_policy = 3600

[agent.ann]
groups = Support
skills = English=5

[agent.ben]
groups = Support
skills = Spanish=5

[agent.cat]
groups = Sales
"#;

const CONFLICT: u16 = 409;
const CREATED: u16 = 201;

/// `/ringback/1{path}`.
fn rb(server: &Server, method: &str, path: &str, body: Option<&Value>) -> common::Resp {
    let url = format!("{}/ringback/1{path}", server.root);
    let mut r = server.raw_req(method, &url);
    if body.is_some() {
        r = r.set("Content-Type", "application/json");
    }
    let bytes = body.map(|b| b.to_string().into_bytes());
    send(r, bytes.as_deref())
}

fn agent_do(server: &Server, agent: &str, action: &str) -> Value {
    rb(server, "POST", &format!("/agents/{agent}/{action}"), None).ok_json(200)
}

fn call(server: &Server, ani: &str, dnis: &str) -> Value {
    rb(
        server,
        "POST",
        "/telephony/calls",
        Some(&json!({ "ani": ani, "dnis": dnis })),
    )
    .ok_json(CREATED)
}

#[test]
fn an_inbound_call_is_offered_accepted_bridged_and_completed() {
    let server = Server::start_with_config(CONFIG);
    agent_do(&server, "ann", "login");
    let ready = agent_do(&server, "ann", "ready");
    assert_eq!(ready["state"], "ready");
    let since = ready["last_event"].as_u64().expect("last_event");

    let ticket = call(&server, "+16505550100", "8000");
    assert_eq!(ticket["queue"], "Support");
    assert_eq!(ticket["position"], 1);
    let ixn = ticket["interaction"]
        .as_str()
        .expect("interaction")
        .to_owned();

    let (offer, since) = wait_event(&server, "ann", since, "offer");
    assert_eq!(offer["customer"], "+16505550100");
    assert_eq!(offer["interaction"], ixn.as_str());
    let offer_id = offer["offer"].as_str().expect("offer id").to_owned();
    let desk = rb(&server, "GET", "/agents/ann", None).ok_json(200);
    assert_eq!(desk["offers"][0]["id"], offer_id.as_str());

    let desk = agent_do(&server, "ann", &format!("offers/{offer_id}/accept"));
    assert_eq!(desk["offers"], json!([]));
    assert_eq!(desk["interactions"][0]["id"], ixn.as_str());
    assert_eq!(desk["interactions"][0]["call_state"], "established");
    let c = rb(&server, "GET", &format!("/telephony/calls/{ixn}"), None).ok_json(200);
    assert_eq!(c["state"]["state"], "established");
    assert_eq!(
        c["parties"],
        json!([{"type": "customer", "id": "+16505550100"}, {"type": "agent", "id": "ann"}])
    );

    let desk = agent_do(&server, "ann", &format!("interactions/{ixn}/hangup"));
    assert_eq!(desk["interactions"][0]["call_state"], "released");
    let desk = agent_do(&server, "ann", &format!("interactions/{ixn}/complete"));
    assert_eq!(desk["interactions"], json!([]));
    assert_eq!(desk["state"], "ready");
    let (ended, _) = wait_event(&server, "ann", since, "interaction_ended");
    assert_eq!(ended["item"], offer_id.as_str());

    let q = rb(&server, "GET", "/queues/Support", None).ok_json(200);
    assert_eq!(q["entered"], 1);
    assert_eq!(q["distributed"], 1);
    assert_eq!(q["calls"], 0);
    assert_eq!(q["logged_in_agents"], 2 - 1, "only ann is logged in: {q}");
    assert_eq!(
        (q["ready_agents"].clone(), q["available_agents"].clone()),
        (json!(1), json!(1))
    );
}

#[test]
fn a_rejected_offer_goes_to_the_other_ready_agent() {
    let server = Server::start_with_config(CONFIG);
    for a in ["ann", "ben"] {
        agent_do(&server, a, "login");
        agent_do(&server, a, "ready");
    }
    call(&server, "+16505550101", "8000");
    // Either agent may get it first (longest idle); whoever does rejects it.
    let (first, second) = {
        let a = rb(&server, "GET", "/agents/ann", None).ok_json(200);
        if a["offers"].as_array().is_some_and(|o| !o.is_empty()) {
            ("ann", "ben")
        } else {
            ("ben", "ann")
        }
    };
    let desk = rb(&server, "GET", &format!("/agents/{first}"), None).ok_json(200);
    let offer = desk["offers"][0]["id"].as_str().expect("offer").to_owned();
    agent_do(&server, first, &format!("offers/{offer}/reject"));
    let other = rb(&server, "GET", &format!("/agents/{second}"), None).ok_json(200);
    assert_eq!(other["offers"][0]["id"], offer.as_str(), "{other}");
    // The reject is on the first agent's log, with its reason.
    let (ended, _) = wait_event(&server, first, 0, "offer_ended");
    assert_eq!(ended["reason"], "rejected");
}

#[test]
fn a_long_poll_wakes_when_an_offer_arrives() {
    let server = std::sync::Arc::new(Server::start_with_config(CONFIG));
    agent_do(&server, "ann", "login");
    let since = agent_do(&server, "ann", "ready")["last_event"]
        .as_u64()
        .expect("last_event");
    let s = server.clone();
    let poll = std::thread::spawn(move || {
        rb(
            &s,
            "GET",
            &format!("/agents/ann/events?since={since}&timeout=30"),
            None,
        )
        .ok_json(200)
    });
    std::thread::sleep(Duration::from_millis(200));
    call(&server, "+16505550102", "8000");
    let page = poll.join().expect("poll thread");
    assert_eq!(page["events"][0]["type"], "offer", "{page}");
    // Nothing new: a zero timeout answers at once with no events.
    let last = page["last"].as_u64().expect("last");
    let empty = rb(
        &server,
        "GET",
        &format!("/agents/ann/events?since={last}&timeout=0"),
        None,
    )
    .ok_json(200);
    assert_eq!(empty["events"], json!([]));
    assert_eq!(empty["last"], last);
}

#[test]
fn an_offer_that_times_out_sets_the_agent_not_ready_and_returns_the_call() {
    let config = CONFIG.replace("reserve_timeout = 30", "reserve_timeout = 0.3");
    let server = Server::start_with_config(&config);
    agent_do(&server, "ann", "login");
    agent_do(&server, "ann", "ready");
    let ticket = call(&server, "+16505550103", "8000");
    let (ended, _) = wait_event(&server, "ann", 0, "offer_ended");
    assert_eq!(ended["reason"], "timeout");
    let desk = rb(&server, "GET", "/agents/ann", None).ok_json(200);
    assert_eq!(desk["state"], "not_ready");
    let q = rb(&server, "GET", "/queues/Support", None).ok_json(200);
    assert_eq!(
        (q["calls"].clone(), q["wcalls"].clone()),
        (json!(1), json!(1))
    );
    // The caller gives up: the call leaves the queue as abandoned.
    let ixn = ticket["interaction"].as_str().expect("interaction");
    let c = rb(
        &server,
        "POST",
        &format!("/telephony/calls/{ixn}/hangup"),
        None,
    )
    .ok_json(200);
    assert_eq!(c["state"]["state"], "released");
    let q = rb(&server, "GET", "/queues/Support", None).ok_json(200);
    assert_eq!(
        (q["calls"].clone(), q["abandoned"].clone()),
        (json!(0), json!(1))
    );
    // urs-stat's `hit`: none of the calls that left reached an agent.
    let stats = server.get("/service/stats?name=Support").ok_json(200);
    assert_eq!(stats["hit"], 0, "{stats}");
}

#[test]
fn urs_stat_serves_lvq_fields_from_cache() {
    let server = Server::start_with_config(CONFIG);
    let none = server.get("/service/stats?name=Nowhere").ok_json(200);
    assert_eq!(none, json!({}), "no activity: an empty object");
    server
        .get("/service/stats")
        .err(400, "needs the virtual queue");
    call(&server, "+16505550104", "8000");
    let first = server.get("/service/stats?name=Support").ok_json(200);
    assert_eq!(
        (
            &first["calls"],
            &first["wcalls"],
            &first["pos"],
            &first["wpos"]
        ),
        (&json!(1), &json!(1), &json!(2), &json!(2))
    );
    assert!(first.get("ewt").is_none(), "no estimate yet: {first}");
    assert!(
        first.get("hit").is_none(),
        "nothing left the queue yet: {first}"
    );
    call(&server, "+16505550105", "8000");
    // _caching_policy = 3600: the second call is not visible yet.
    let cached = server.get("/service/stats?name=Support").ok_json(200);
    assert_eq!(cached, first);
    // The desktop API is never cached.
    let live = rb(&server, "GET", "/queues/Support", None).ok_json(200);
    assert_eq!(live["calls"], 2);
}

#[test]
fn dial_rules_are_validated_and_replaced_at_run_time() {
    let server = Server::start_with_config(CONFIG);
    let bad = rb(
        &server,
        "PUT",
        "/telephony/rules",
        Some(&json!({"rules": [{"match": "650*", "outcome": "explode"}]})),
    );
    bad.err(400, "outcome");
    let rules = json!({"rules": [{"match": "650*", "outcome": "busy", "after_ms": 100}],
                       "default": {"outcome": "answer", "after_ms": 500}});
    rb(&server, "PUT", "/telephony/rules", Some(&rules)).ok_json(200);
    let got = rb(&server, "GET", "/telephony/rules", None).ok_json(200);
    assert_eq!(got["rules"][0]["outcome"], "busy");
    assert_eq!(got["default"]["after_ms"], 500);

    // The rules decide what a dial does: 650* is busy, anything else answers after 500 ms.
    let busy = rb(
        &server,
        "POST",
        "/telephony/dial",
        Some(&json!({"number": "6505550199"})),
    )
    .ok_json(CREATED);
    assert_eq!(busy["state"]["state"], "dialing");
    let answered = rb(
        &server,
        "POST",
        "/telephony/dial",
        Some(&json!({"number": "4155550199"})),
    )
    .ok_json(CREATED);
    assert_eq!(answered["state"]["state"], "ringing");
    let state_of = |c: &Value| {
        let id = c["id"].as_str().expect("id");
        rb(&server, "GET", &format!("/telephony/calls/{id}"), None).ok_json(200)["state"]["state"]
            .as_str()
            .expect("state")
            .to_owned()
    };
    let mut seen = (String::new(), String::new());
    for _ in 0..100 {
        seen = (state_of(&busy), state_of(&answered));
        if seen.0 == "released" && seen.1 == "connected" {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(seen, ("released".to_owned(), "connected".to_owned()));
    rb(&server, "POST", "/telephony/dial", Some(&json!({}))).err(400, "number");
}

#[test]
fn treatments_start_and_stop_on_a_waiting_caller() {
    let server = Server::start_with_config(CONFIG);
    let t = call(&server, "+16505550109", "8000");
    let ixn = t["interaction"].as_str().expect("interaction");
    let c = rb(&server, "GET", &format!("/telephony/calls/{ixn}"), None).ok_json(200);
    assert_eq!(
        c["state"],
        json!({"state": "treatment", "treatment": "music"})
    );
    let path = format!("/telephony/calls/{ixn}/treatment");
    let c = rb(&server, "DELETE", &path, None).ok_json(200);
    assert_eq!(c["state"], json!({"state": "connected"}));
    rb(&server, "DELETE", &path, None).err(409, "connected");
    let c = rb(
        &server,
        "PUT",
        &path,
        Some(&json!({"name": "ewt-announcement"})),
    )
    .ok_json(200);
    assert_eq!(c["state"]["treatment"], "ewt-announcement");
    rb(&server, "PUT", &path, Some(&json!({}))).err(400, "name");
}

#[test]
fn a_call_to_a_booked_access_number_reports_the_session_it_matched() {
    let server = Server::start_with_config(CONFIG);
    agent_do(&server, "ann", "login");
    let since = agent_do(&server, "ann", "ready")["last_event"]
        .as_u64()
        .expect("last_event");
    let booked = server
        .post_form(
            "/service/request-interaction",
            &[("_phone_number", "+16505550106"), ("topic", "loans")],
        )
        .ok_json(200);
    let number = booked["_access_number"].as_str().expect("access number");
    let ticket = call(&server, "+16505550106", number);
    assert_eq!(ticket["matched"]["_id"], booked["_id"]);
    assert_eq!(ticket["matched"]["user_data"]["topic"], "loans");
    // The agent sees the match as attached data (help: "GMS_MatchResult = SUCCESS").
    let (offer, _) = wait_event(&server, "ann", since, "offer");
    let data = &offer["user_data"];
    assert_eq!(data["GMS_MatchResult"], "SUCCESS", "{offer}");
    assert_eq!(data["GMS_ServiceID"], booked["_id"]);
    assert_eq!(data["GMS_MatchMethod_AccessNumber"], number);
    assert_eq!(data["GMS_MatchMethod_ANI"], "+16505550106");
    assert_eq!(data["GMS_UserData"], "{\"topic\":\"loans\"}");
    // The booking was released by the match: a second call from the same number matches nothing.
    let again = call(&server, "+16505550106", number);
    assert!(again.get("matched").is_none(), "{again}");
}

#[test]
fn desktop_bad_input_gets_clear_4xx_answers() {
    let server = Server::start_with_config(CONFIG);
    rb(&server, "POST", "/agents/nobody/login", None).err(404, "no agent 'nobody'");
    rb(&server, "POST", "/agents/ann/ready", None).err(CONFLICT, "logged out");
    rb(&server, "POST", "/agents/ann/dance", None).err(404, "no API");
    agent_do(&server, "ann", "login");
    rb(&server, "POST", "/agents/ann/offers/abc/accept", None).err(404, "offer ids are numbers");
    rb(&server, "POST", "/agents/ann/offers/99/accept", None).err(404, "holds no offer 99");
    rb(
        &server,
        "POST",
        "/agents/ann/interactions/ixn-9/complete",
        None,
    )
    .err(404, "no interaction ixn-9");
    rb(&server, "GET", "/agents/ann/events?since=abc", None).err(400, "since");
    rb(&server, "GET", "/agents/ann/events?timeout=-1", None).err(400, "timeout");
    rb(
        &server,
        "POST",
        "/telephony/calls",
        Some(&json!({"ani": "+1650"})),
    )
    .err(400, "dnis");
    rb(
        &server,
        "POST",
        "/telephony/calls",
        Some(&json!({"ani": "hello", "dnis": "8000"})),
    )
    .err(400, "phone numbers");
    rb(&server, "GET", "/telephony/calls/ixn-404", None).err(404, "no interaction");
    rb(&server, "GET", "/queues/Nowhere", None).err(404, "no activity");
    rb(&server, "DELETE", "/agents/ann", None).err(405, "not allowed");
}

#[test]
fn agents_put_through_the_admin_api_route_at_once_and_survive_a_restart() {
    let scratch = Scratch::new("agents");
    let ini = scratch.path().join("ringback.ini");
    std::fs::write(&ini, CONFIG).expect("config written");
    let data = scratch.path().join("data");
    let mut server = Server::start_in(&data, Some(&ini));
    server
        .put_json(
            "/admin/agents/dan",
            &json!({"groups": "Support", "skills": "English=nine"}),
        )
        .err(400, "skills");
    server
        .put_json("/admin/agents/bad id", &json!({"groups": "Support"}))
        .err(400, "invalid agent id");
    let put = server
        .put_json(
            "/admin/agents/dan",
            &json!({"groups": "Support", "media": "voice,chat", "capacity": "chat=2"}),
        )
        .ok_json(200);
    assert_eq!(put["groups"], "Support");
    agent_do(&server, "dan", "login");
    agent_do(&server, "dan", "ready");
    call(&server, "+16505550107", "8000");
    let desk = rb(&server, "GET", "/agents/dan", None).ok_json(200);
    assert_eq!(desk["offers"].as_array().map(Vec::len), Some(1), "{desk}");
    assert_eq!(desk["capacity"], json!({"chat": 2, "voice": 1}));

    server.kill();
    let server = Server::start_in(&data, Some(&ini));
    let listed = server.get("/admin/agents").ok_json(200);
    assert_eq!(listed["dan"]["capacity"], "chat=2");
    let desk = rb(&server, "GET", "/agents/dan", None).ok_json(200);
    assert_eq!(
        desk["state"], "logged_out",
        "agent state is not kept across restarts"
    );
    assert_eq!(server.delete("/admin/agents/dan").status, 200);
    rb(&server, "GET", "/agents/dan", None).err(404, "no agent 'dan'");
    server
        .delete("/admin/agents/dan")
        .err(404, "not configured");
    server
        .put_json("/admin/config/agent.eve", &json!({"groups": "Support"}))
        .err(400, "its own admin API");
}

#[test]
fn demo_mode_agents_take_calls_on_their_own() {
    let scratch = Scratch::new("demo");
    let ini = scratch.path().join("ringback.ini");
    let config = format!(
        "{CONFIG}\n[demo]\ncalls_per_minute = 0\naccept_after = 0.05\ntalk_time = 0.1\nwrap_up = 0\n"
    );
    std::fs::write(&ini, config).expect("config written");
    let server = Server::start_with_args(&scratch.path().join("data"), Some(&ini), &["--demo"]);
    let s = &server;
    let desk = rb(s, "GET", "/agents/ann", None).ok_json(200);
    assert_eq!(
        (desk["state"].clone(), desk["auto"].clone()),
        (json!("ready"), json!(true))
    );
    call(s, "+16505550108", "8000");
    // A demo agent accepts, talks and hangs up; the call ends released by the agent.
    let mut done = false;
    for _ in 0..100 {
        let q = rb(s, "GET", "/queues/Support", None).ok_json(200);
        if q["distributed"] == 1 && q["calls"] == 0 {
            let agents = rb(s, "GET", "/agents", None).ok_json(200);
            if agents["agents"]
                .as_array()
                .is_some_and(|a| a.iter().all(|x| x["interactions"] == json!([])))
            {
                done = true;
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(done, "the demo agents never finished the call");
    let c = rb(s, "GET", "/telephony/calls/ixn-1", None).ok_json(200);
    assert_eq!(c["state"]["state"], "released");
}

#[test]
fn an_agent_with_chat_capacity_two_is_offered_two_chats_at_once() {
    let config =
        format!("{CONFIG}\n[agent.dee]\ngroups = Support\nmedia = chat\ncapacity = chat=2\n");
    let server = Server::start_with_config(&config);
    agent_do(&server, "dee", "login");
    agent_do(&server, "dee", "ready");
    for who in ["web-visitor-1", "web-visitor-2", "web-visitor-3"] {
        let t = rb(
            &server,
            "POST",
            "/telephony/chats",
            Some(&json!({ "customer": who })),
        )
        .ok_json(CREATED);
        assert_eq!(t["queue"], "Support");
    }
    let desk = rb(&server, "GET", "/agents/dee", None).ok_json(200);
    let customers: Vec<&str> = desk["offers"]
        .as_array()
        .expect("offers")
        .iter()
        .map(|o| o["customer"].as_str().expect("customer"))
        .collect();
    assert_eq!(customers, ["web-visitor-1", "web-visitor-2"], "{desk}");
    assert!(desk["offers"]
        .as_array()
        .is_some_and(|o| o.iter().all(|o| o["media"] == "chat")));
    let q = rb(&server, "GET", "/queues/Support", None).ok_json(200);
    assert_eq!(q["wcalls"], 1, "the third chat waits: {q}");
    // Ready (the EWT divisor) but with both chat slots offered: not available.
    assert_eq!(
        (q["ready_agents"].clone(), q["available_agents"].clone()),
        (json!(1), json!(0))
    );
    rb(&server, "POST", "/telephony/chats", Some(&json!({}))).err(400, "customer");
}

/// A raw Bayeux exchange on `/genesys/cometd` as `gms_user`.
fn bayeux(server: &Server, user: &str, body: Value) -> Vec<Value> {
    let req = server
        .raw_req("POST", &format!("{}/genesys/cometd", server.root))
        .set("Content-Type", "application/json")
        .set("gms_user", user);
    let r = send(req, Some(body.to_string().as_bytes()));
    assert_eq!(r.status, 200, "{}", r.text());
    match r.json() {
        Value::Array(items) => items,
        other => panic!("a Bayeux response is an array, not {other}"),
    }
}

#[test]
fn agent_events_are_pushed_on_the_agents_cometd_channel() {
    let server = Server::start_with_config(CONFIG);
    let hs = bayeux(
        &server,
        "ann",
        json!([{"channel": "/meta/handshake", "version": "1.0", "id": "1",
                "supportedConnectionTypes": ["long-polling"]}]),
    );
    let client = hs[0]["clientId"].as_str().expect("clientId").to_owned();
    let connect = json!([{"channel": "/meta/connect", "clientId": client,
                          "connectionType": "long-polling", "id": "2"}]);
    bayeux(&server, "ann", connect.clone());
    let sub = bayeux(
        &server,
        "ann",
        json!([{"channel": "/meta/subscribe", "clientId": client,
                "subscription": "/ringback/agent/ann", "id": "3"}]),
    );
    assert_eq!(sub[0]["successful"], true, "{sub:?}");
    // Another user may not listen to ann's desktop.
    let hs2 = bayeux(
        &server,
        "mallory",
        json!([{"channel": "/meta/handshake", "version": "1.0", "id": "1",
                "supportedConnectionTypes": ["long-polling"]}]),
    );
    let other = hs2[0]["clientId"].as_str().expect("clientId").to_owned();
    let denied = bayeux(
        &server,
        "mallory",
        json!([{"channel": "/meta/subscribe", "clientId": other,
                "subscription": "/ringback/agent/ann", "id": "3"}]),
    );
    assert_eq!(denied[0]["successful"], false, "{denied:?}");

    agent_do(&server, "ann", "login");
    agent_do(&server, "ann", "ready");
    call(&server, "+16505550110", "8000");
    let mut types = Vec::new();
    for _ in 0..5 {
        for m in bayeux(&server, "ann", connect.clone()) {
            if m["channel"] == "/ringback/agent/ann" {
                types.push(m["data"]["type"].as_str().expect("type").to_owned());
            }
        }
        if types.iter().any(|t| t == "offer") {
            break;
        }
    }
    assert_eq!(types, ["state", "state", "offer"], "pushed: {types:?}");
}

#[test]
fn an_agent_transfers_a_connected_call_to_another_agent() {
    let server = Server::start_with_config(CONFIG);
    agent_do(&server, "ann", "login");
    agent_do(&server, "ann", "ready");
    agent_do(&server, "cat", "login");
    let t = call(&server, "+16505550111", "8000");
    let ixn = t["interaction"].as_str().expect("interaction").to_owned();
    let offer = t["item"].as_str().expect("item").to_owned();
    agent_do(&server, "ann", &format!("offers/{offer}/accept"));
    let path = format!("/agents/ann/interactions/{ixn}/transfer");
    rb(&server, "POST", &path, Some(&json!({}))).err(400, "'to'");
    rb(&server, "POST", &path, Some(&json!({"to": "nobody"}))).err(404, "no agent 'nobody'");
    rb(&server, "POST", &path, Some(&json!({"to": "ben"}))).err(409, "logged out");
    let ann = rb(&server, "POST", &path, Some(&json!({"to": "cat"}))).ok_json(200);
    assert_eq!(ann["interactions"], json!([]));
    let cat = rb(&server, "GET", "/agents/cat", None).ok_json(200);
    assert_eq!(cat["interactions"][0]["id"], ixn.as_str());
    assert_eq!(cat["interactions"][0]["call_state"], "established");
    let c = rb(&server, "GET", &format!("/telephony/calls/{ixn}"), None).ok_json(200);
    assert_eq!(
        c["parties"],
        json!([{"type": "customer", "id": "+16505550111"}, {"type": "agent", "id": "cat"}])
    );
    let (moved, _) = wait_event(&server, "ann", 0, "interaction_transferred");
    assert_eq!(moved["to"], "cat");
    let done = agent_do(&server, "cat", &format!("interactions/{ixn}/complete"));
    assert_eq!(done["interactions"], json!([]));
}
