//! State-chart sessions through the real `ringback serve` over loopback: the ORS session API
//! (start, event, request, terminate, query, list), a customer strategy routed to simulated
//! agents, `_type=ors` services, template documents, and bad input.

#[allow(dead_code)] // the harness is shared with the GMS API tests
mod common;

use common::{send, wait_event, Resp, Server, BAD_REQUEST, NOT_FOUND};
use serde_json::{json, Value};

const ORS: &str = "com.genesyslab.gsg.services.ors.OrsServiceException";

const CONFIG: &str = r#"
[routing]
inbound_queue = Support
inbound_target = Support@StatServer.GA
reserve_timeout = 30

[telephony]
dial_rules = {"rules": [{"match": "*", "outcome": "answer", "after_ms": 0}]}

[agent.ann]
groups = Sales
skills = English=7

[agent.bob]
groups = Overflow

[service.hello]
_type = ors
_service = <scxml xmlns="http://www.w3.org/2005/07/scxml" xmlns:session="http://www.genesyslab.com/modules/session" version="1.0" datamodel="ecmascript"><datamodel><data id="greeting" expr="'hello'"/><data id="who"/></datamodel><state id="s"><onentry><session:response data="({msg: greeting, who: who})"/></onentry></state></scxml>
greeting = hi
"#;

const SAMPLE: &str = include_str!("../../samples/strategies/skill-escalation.scxml");

/// A request to a path from the server's root (not under `/genesys/1`).
fn at(server: &Server, method: &str, path: &str) -> ureq::Request {
    server.raw_req(method, &format!("{}{path}", server.root))
}

fn get(server: &Server, path: &str) -> Resp {
    send(at(server, "GET", path), None)
}

fn post_json(server: &Server, path: &str, body: &Value) -> Resp {
    let r = at(server, "POST", path).set("Content-Type", "application/json");
    send(r, Some(body.to_string().as_bytes()))
}

fn post_form(server: &Server, path: &str, fields: &[(&str, &str)]) -> Resp {
    common::post_form(at(server, "POST", path), fields)
}

fn rb(server: &Server, method: &str, path: &str) -> Resp {
    let url = format!("{}/ringback/1{path}", server.root);
    send(server.raw_req(method, &url), None)
}

fn start(server: &Server, body: &Value) -> String {
    let r = post_json(server, "/scxml/session/start", body).ok_json(200);
    r["sessionid"].as_str().expect("sessionid").to_owned()
}

fn session(server: &Server, id: &str) -> Value {
    get(server, &format!("/scxml/session/{id}")).ok_json(200)
}

#[test]
fn a_customer_strategy_dials_queues_escalates_and_routes() {
    let server = Server::start_with_config(CONFIG);
    // Only the overflow agent is ready: the call waits for the skill, then widens to Overflow.
    rb(&server, "POST", "/agents/bob/login").ok_json(200);
    let since = rb(&server, "POST", "/agents/bob/ready").ok_json(200)["last_event"]
        .as_u64()
        .expect("last_event");
    let id = start(
        &server,
        &json!({"src": SAMPLE, "number": "6505550100", "escalate_after": 1}),
    );
    assert_eq!(id.len(), 32, "{id}");
    // The first request may come while the dial is still going: poll until queued.
    let mut status = Value::Null;
    for _ in 0..50 {
        status = post_json(
            &server,
            &format!("/scxml/session/{id}/request/status"),
            &json!({}),
        )
        .ok_json(200);
        if status["state"].is_object() {
            break;
        }
        let _ = rb(&server, "GET", "/queues/Sales");
    }
    assert_eq!(status["state"]["queue"], "Sales", "{status}");
    assert_eq!(status["state"]["position"], 1, "{status}");
    let info = session(&server, &id);
    assert_eq!(info["activeStates"], json!(["main", "waiting"]), "{info}");
    assert_eq!(info["datamodel"]["number"], "6505550100");
    assert_eq!(info["queue"][0]["queue"], "Sales");
    let call = info["interactions"][0]["id"]
        .as_str()
        .expect("call")
        .to_owned();
    assert_eq!(
        rb(&server, "GET", &format!("/telephony/calls/{call}")).ok_json(200)["state"],
        json!({"state": "treatment", "treatment": "music"})
    );
    // After the escalation (1 s), bob is offered the call.
    let (offer, since) = wait_event(&server, "bob", since, "offer");
    assert_eq!(offer["customer"], "6505550100");
    assert_eq!(offer["interaction"], call);
    let offer_id = offer["offer"].as_str().expect("offer id").to_owned();
    rb(
        &server,
        "POST",
        &format!("/agents/bob/offers/{offer_id}/accept"),
    )
    .ok_json(200);
    let (started, _) = wait_event(&server, "bob", since, "interaction_started");
    assert_eq!(started["interaction"], call);
    let answered = post_json(
        &server,
        &format!("/scxml/session/{id}/request/status"),
        &json!({}),
    )
    .ok_json(200);
    assert_eq!(answered["agent"], "bob", "{answered}");
    // The agent ends the call: the session ends, and its id is gone for good.
    rb(
        &server,
        "POST",
        &format!("/agents/bob/interactions/{call}/complete"),
    )
    .ok_json(200);
    let mut gone = None;
    for _ in 0..100 {
        let r = get(&server, &format!("/scxml/session/{id}"));
        if r.status == 410 {
            gone = Some(r);
            break;
        }
    }
    let gone = gone.expect("the session ends");
    assert_eq!(
        gone.gms_error(410, ORS),
        format!("session '{id}' has ended")
    );
    post_json(
        &server,
        &format!("/scxml/session/{id}/event/status"),
        &json!({}),
    )
    .assert_error(410, ORS, &format!("session '{id}' has ended"));
}

#[test]
fn terminating_a_session_mid_queue_releases_its_item_and_call() {
    let server = Server::start_with_config(CONFIG);
    let id = start(&server, &json!({"src": SAMPLE, "number": "6505550101"}));
    let mut calls = 0;
    for _ in 0..100 {
        calls = rb(&server, "GET", "/queues/Sales").ok_json(200)["calls"]
            .as_u64()
            .unwrap_or(0);
        if calls == 1 {
            break;
        }
    }
    assert_eq!(calls, 1);
    let call = session(&server, &id)["interactions"][0]["id"]
        .as_str()
        .expect("call")
        .to_owned();
    post_json(
        &server,
        &format!("/scxml/session/{id}/terminate"),
        &json!({}),
    )
    .ok_json(200);
    assert_eq!(rb(&server, "GET", "/queues/Sales").ok_json(200)["calls"], 0);
    assert_eq!(
        rb(&server, "GET", &format!("/telephony/calls/{call}")).ok_json(200)["state"],
        json!({"state": "released"})
    );
    get(&server, &format!("/scxml/session/{id}")).assert_error(
        410,
        ORS,
        &format!("session '{id}' has ended"),
    );
    let list = get(&server, "/scxml/sessions").ok_json(200);
    assert_eq!(list["total"], 0, "{list}");
}

#[test]
fn events_requests_and_the_session_list() {
    let server = Server::start_with_config(CONFIG);
    let chart = r#"<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript"
        xmlns:session="http://www.genesyslab.com/modules/session" initial="idle">
      <datamodel><data id="count" expr="0"/><data id="last"/></datamodel>
      <state id="idle">
        <transition event="bump"><assign location="count" expr="count + _event.data.by"/>
          <assign location="last" expr="_event.data"/></transition>
        <transition event="get"><session:response data="({count: count})"/></transition>
        <transition event="teapot"><session:response status="418" data="({tea: true})"/></transition>
        <transition event="nothing"/>
      </state>
    </scxml>"#;
    // Form parameters are strings; a JSON body keeps its types.
    let form = post_form(
        &server,
        "/scxml/session/start",
        &[("src", chart), ("count", "5")],
    )
    .ok_json(200);
    let a = form["sessionid"].as_str().expect("id").to_owned();
    let b = start(&server, &json!({"src": chart, "count": 5}));
    post_json(
        &server,
        &format!("/scxml/session/{b}/event/bump"),
        &json!({"by": 2, "x": [1]}),
    )
    .ok_json(200);
    let got = post_json(
        &server,
        &format!("/scxml/session/{b}/request/get"),
        &json!({}),
    )
    .ok_json(200);
    assert_eq!(got, json!({"count": 7}));
    let via_form = post_json(
        &server,
        &format!("/scxml/session/{a}/request/get"),
        &json!({}),
    )
    .ok_json(200);
    assert_eq!(via_form, json!({"count": "5"}));
    let tea = post_json(
        &server,
        &format!("/scxml/session/{b}/request/teapot"),
        &json!({}),
    );
    assert_eq!(tea.status, 418);
    assert_eq!(tea.json(), json!({"tea": true}));
    let info = session(&server, &b);
    assert_eq!(
        info["datamodel"],
        json!({"count": 7, "last": {"by": 2, "x": [1]}})
    );
    assert_eq!(info["activeStates"], json!(["idle"]));
    let list = get(&server, "/scxml/sessions?limit=1").ok_json(200);
    assert_eq!(list["total"], 2);
    assert_eq!(list["sessions"].as_array().map(Vec::len), Some(1));
    let mut all: Vec<String> = get(&server, "/scxml/sessions").ok_json(200)["sessions"]
        .as_array()
        .expect("ids")
        .iter()
        .map(|v| v.as_str().expect("id").to_owned())
        .collect();
    all.sort();
    let mut expected = vec![a, b.clone()];
    expected.sort();
    assert_eq!(all, expected);
    // Requests the chart does not answer time out (set to 1 s here).
    let quiet = Server::start_with_config(&format!("{CONFIG}\n[ors]\nrequest_timeout = 1\n"));
    let c = start(&quiet, &json!({"src": chart}));
    post_json(
        &quiet,
        &format!("/scxml/session/{c}/request/nothing"),
        &json!({}),
    )
    .assert_error(
        504,
        ORS,
        &format!("session '{c}' did not answer the request in time"),
    );
}

#[test]
fn an_ors_service_answers_with_its_chart_and_templates_serve_documents() {
    let server = Server::start_with_config(CONFIG);
    // The configured option wins over the request's unless it is overwritable.
    let r = post_form(
        &server,
        "/genesys/1/service/hello",
        &[("greeting", "yo"), ("who", "me")],
    )
    .ok_json(200);
    assert_eq!(r, json!({"msg": "hi", "who": "me"}));
    let doc = get(
        &server,
        "/genesys/1/document/service_template/strategies/default-inbound.scxml",
    );
    assert_eq!(doc.status, 200);
    assert!(doc.text().contains("name=\"default-inbound\""));
    get(
        &server,
        "/genesys/1/document/service_template/strategies/nope.scxml",
    )
    .assert_error(
        404,
        NOT_FOUND,
        "template 'strategies' has no document 'nope.scxml'",
    );
}

#[test]
fn bad_documents_and_dead_sessions_get_clear_errors() {
    let server = Server::start_with_config(CONFIG);
    let missing_src = post_json(&server, "/scxml/session/start", &json!({"x": 1}));
    missing_src.assert_error(
        400,
        BAD_REQUEST,
        "a session needs 'src': the document inline, a template name, or a URL",
    );
    let malformed = post_json(
        &server,
        "/scxml/session/start",
        &json!({"src": "<scxml xmlns=\"http://www.w3.org/2005/07/scxml\" initial=\"nowhere\">\n  <state id=\"a\"><transition target=\"b\"/></state>\n</scxml>"}),
    );
    let message = malformed.gms_error(400, BAD_REQUEST);
    assert!(
        message.starts_with("the document is not valid SCXML:\n"),
        "{message}"
    );
    assert!(message.contains("1:1: "), "{message}");
    assert!(message.contains("2:17: "), "{message}");
    let unknown = post_json(
        &server,
        "/scxml/session/start",
        &json!({"src": "<scxml xmlns=\"http://www.w3.org/2005/07/scxml\" xmlns:q=\"http://www.genesyslab.com/modules/queue\"><state id=\"a\"><onentry><q:sumbit/></onentry></state></scxml>"}),
    );
    assert_eq!(
        unknown.gms_error(400, BAD_REQUEST),
        "the document is not valid SCXML:\n1:121: unknown action <sumbit> in module 'queue' (it has submit, cancel, priority)"
    );
    let big = format!(
        "<scxml xmlns=\"http://www.w3.org/2005/07/scxml\"><!--{}--><state id=\"a\"/></scxml>",
        "x".repeat(1_100_000)
    );
    let too_large = post_json(&server, "/scxml/session/start", &json!({ "src": big }));
    assert!(too_large
        .gms_error(413, "com.genesyslab.gsg.services.PayloadTooLargeException")
        .contains("more than the 1048576 allowed"));
    post_json(
        &server,
        "/scxml/session/start",
        &json!({"src": "http://example.com/strategy.scxml"}),
    )
    .assert_error(
        403,
        "com.genesyslab.gsg.security.AccessDeniedException",
        "documents are not fetched from 'http://example.com/strategy.scxml': its host is not in [ors] allowed_hosts",
    );
    post_json(
        &server,
        "/scxml/session/start",
        &json!({"src": "/etc/passwd.scxml"}),
    )
    .assert_error(
        400,
        BAD_REQUEST,
        "'/etc/passwd.scxml' is not a built-in strategy (default-inbound) or a template",
    );
    get(&server, "/scxml/session/NOSUCH").assert_error(404, NOT_FOUND, "no session 'NOSUCH'");
    post_json(&server, "/scxml/session/NOSUCH/event/x", &json!({})).assert_error(
        404,
        NOT_FOUND,
        "no session 'NOSUCH'",
    );
    post_json(&server, "/scxml/session/NOSUCH/event/bad name", &json!({})).assert_error(
        400,
        BAD_REQUEST,
        "'bad name' is not an event name (letters, digits, '.', '_', '-', ':')",
    );
    // Charts that never settle end or fail; the server keeps serving.
    let looping = start(
        &server,
        &json!({"src": "<scxml xmlns=\"http://www.w3.org/2005/07/scxml\" initial=\"a\"><state id=\"a\"><transition target=\"b\"/></state><state id=\"b\"><transition target=\"a\"/></state></scxml>"}),
    );
    get(&server, &format!("/scxml/session/{looping}")).assert_error(
        410,
        ORS,
        &format!("session '{looping}' has ended"),
    );
    let spinning = start(
        &server,
        &json!({"src": "<scxml xmlns=\"http://www.w3.org/2005/07/scxml\" datamodel=\"ecmascript\" initial=\"a\"><state id=\"a\"><onentry><script>while (true) {}</script></onentry><transition event=\"error.execution\" target=\"failed\"/></state><state id=\"failed\"/></scxml>"}),
    );
    assert_eq!(
        session(&server, &spinning)["activeStates"],
        json!(["failed"])
    );
    let fine = start(&server, &json!({"src": "default-inbound"}));
    assert_eq!(session(&server, &fine)["activeStates"], json!(["routing"]));
}

#[test]
fn the_session_api_needs_the_admin_credentials_when_they_are_set() {
    let mut server = Server::start_with_config(&format!(
        "{CONFIG}\n[server]\nusername = admin\npassword = secret\n"
    ));
    let r = post_json(
        &server,
        "/scxml/session/start",
        &json!({"src": "default-inbound"}),
    );
    assert_eq!(r.status, 401);
    server.set_auth(Some(("admin", "secret")));
    start(&server, &json!({"src": "default-inbound"}));
}
