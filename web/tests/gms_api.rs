//! The GMS-compatible REST API (`/genesys/1/...`) of the real `ringback serve` binary, over
//! loopback: node, admin, service, resources, auth, storage and pattern-matcher APIs, restart
//! after a crash, concurrency and bad input. Each test starts its own server on a fresh data
//! folder (the embedded sample configuration unless it says otherwise).

#[allow(dead_code)] // the harness serves several test binaries; each uses part of it
mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::{
    post_form, send, Part, Resp, Scratch, Server, BAD_REQUEST, FORBIDDEN, METHOD_NOT_ALLOWED,
    NOT_FOUND, TOO_LARGE, UNAUTHORIZED, UNAVAILABLE, UNSUPPORTED,
};
use serde_json::{json, Value};

/// The access numbers of the sample's `DNIS` group.
fn dnis() -> Vec<String> {
    (6_504_663_200_u64..=6_504_663_209)
        .map(|n| n.to_string())
        .collect()
}

fn str_field<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("'{key}' is not a string in {v}"))
}

/// `POST /service/request-interaction`: returns the reply.
fn request_interaction(server: &Server, fields: &[(&str, &str)]) -> Value {
    server
        .post_form("/service/request-interaction", fields)
        .ok_json(200)
}

/// A request-interaction service handing out numbers of `group` (a configured
/// `_resource_group` beats the request's, as in GMS).
fn request_interaction_of(server: &Server, group: &str, fields: &[(&str, &str)]) -> Value {
    let name = format!("ri-{group}");
    server
        .put_json(
            &format!("/admin/services/{name}"),
            &json!({"_type":"builtin","_service":"request-interaction","_resource_group":group}),
        )
        .ok_json(200);
    server
        .post_form(&format!("/service/{name}"), fields)
        .ok_json(200)
}

fn match_interaction(server: &Server, fields: &[(&str, &str)]) -> Resp {
    server.post_form("/service/match-interaction", fields)
}

// ---- 1. Node API --------------------------------------------------------------------------

#[test]
fn node_status_offline_online_and_the_get_service() {
    let server = Server::start();
    let status = server.get("/admin/node/status");
    assert_eq!(status.status, 200);
    assert_eq!(status.content_type, "text/plain");
    assert_eq!(status.text(), "ONLINE");

    // The get service echoes its custom options (no leading underscore).
    server
        .put_json(
            "/admin/services/get",
            &json!({"_type":"builtin","_service":"get","_online_code":"200",
                    "_offline_code":"503","region":"eu-west","tier":"gold"}),
        )
        .ok_json(200);
    let online = server.get("/service/get");
    assert_eq!(
        online.ok_json(200),
        json!({"region":"eu-west","tier":"gold"})
    );

    let changed = server.post_form("/admin/node/changestatus/OFFLINE", &[]);
    assert_eq!(changed.status, 200);
    assert_eq!(changed.text(), "OFFLINE");
    let status = server.get("/admin/node/status");
    assert_eq!((status.status, status.text().as_str()), (200, "OFFLINE"));
    let offline = server.get("/service/get");
    assert_eq!(offline.status, 503, "the get service's _offline_code");
    assert_eq!(
        server.post_form("/service/get", &[]).status,
        503,
        "POST too"
    );

    let changed = server.post_form("/admin/node/changestatus/ONLINE", &[]);
    assert_eq!((changed.status, changed.text().as_str()), (200, "ONLINE"));
    assert_eq!(server.get("/admin/node/status").text(), "ONLINE");
    assert_eq!(
        server.get("/service/get").ok_json(200),
        json!({"region":"eu-west","tier":"gold"})
    );

    server
        .post_form("/admin/node/changestatus/BOGUS", &[])
        .assert_error(
            400,
            BAD_REQUEST,
            "unknown node status 'BOGUS': use ONLINE, OFFLINE or SHUTDOWN",
        );
    server
        .post_form("/admin/node/changestatus/online", &[])
        .assert_error(
            400,
            BAD_REQUEST,
            "unknown node status 'online': use ONLINE, OFFLINE or SHUTDOWN",
        );
    assert_eq!(server.get("/admin/node/status").text(), "ONLINE");
}

#[test]
fn node_shutdown_exits_the_process_with_status_0() {
    let mut server = Server::start();
    let r = server.post_form("/admin/node/changestatus/SHUTDOWN", &[]);
    assert_eq!((r.status, r.text().as_str()), (200, "SHUTDOWN"));
    let status = server.wait_exit(Duration::from_secs(30));
    assert_eq!(status.code(), Some(0), "stderr:\n{}", server.log());
}

// ---- 2. Admin API -------------------------------------------------------------------------

#[test]
fn admin_services_list_get_put_call_delete() {
    let server = Server::start();
    let list = server.get("/admin/services").ok_json(200);
    let names: BTreeSet<&str> = list
        .as_object()
        .expect("the service list is an object")
        .keys()
        .map(String::as_str)
        .collect();
    for name in [
        "request-interaction",
        "request-access",
        "match-interaction",
        "get",
        "business-hours",
        "capacity",
    ] {
        assert!(names.contains(name), "{name} missing from {names:?}");
    }
    assert_eq!(
        list["get"],
        json!({"_type":"builtin","_service":"get","_online_code":"200","_offline_code":"503"})
    );
    assert_eq!(server.get("/admin/services/get").ok_json(200), list["get"]);
    assert_eq!(
        server
            .get("/admin/services/request-interaction")
            .ok_json(200),
        json!({"_type":"builtin","_service":"request-interaction","_resource_group":"DNIS"})
    );
    server.get("/admin/services/nope").assert_error(
        404,
        NOT_FOUND,
        "service 'nope' is not configured",
    );

    // A new service from the `get` template.
    let greeter = json!({"_type":"builtin","_service":"get","_online_code":"200",
                         "_offline_code":"503","greeting":"hi"});
    assert_eq!(
        server
            .put_json("/admin/services/greeter", &greeter)
            .ok_json(200),
        greeter
    );
    assert_eq!(server.get("/admin/services/greeter").ok_json(200), greeter);
    assert_eq!(
        server.post_form("/service/greeter", &[]).ok_json(200),
        json!({"greeting":"hi"})
    );
    let list = server.get("/admin/services").ok_json(200);
    assert_eq!(list["greeter"], greeter);

    // Replacing it.
    let greeter2 = json!({"_type":"builtin","_service":"get","greeting":"hello"});
    server
        .put_json("/admin/services/greeter", &greeter2)
        .ok_json(200);
    assert_eq!(
        server.post_form("/service/greeter", &[]).ok_json(200),
        json!({"greeting":"hello"})
    );

    let deleted = server.delete("/admin/services/greeter");
    assert_eq!(deleted.status, 200);
    server.get("/admin/services/greeter").assert_error(
        404,
        NOT_FOUND,
        "service 'greeter' is not configured",
    );
    server.post_form("/service/greeter", &[]).assert_error(
        404,
        NOT_FOUND,
        "service 'greeter' is not configured",
    );
    server.delete("/admin/services/greeter").assert_error(
        404,
        NOT_FOUND,
        "service 'greeter' is not configured",
    );
}

#[test]
fn admin_put_of_an_invalid_service_names_every_problem() {
    let server = Server::start();
    let message = server
        .put_json(
            "/admin/services/bad",
            &json!({"_type":"builtin","_service":"nosuch","a.b":"1","my-opt":"2"}),
        )
        .gms_error(400, BAD_REQUEST);
    assert!(
        message.starts_with("service 'bad' is invalid: "),
        "{message}"
    );
    for problem in [
        "'_service=nosuch' does not name a known builtin template",
        "option name 'a.b' is not a valid ECMAScript identifier: it contains '.'",
        "option name 'my-opt' is not a valid ECMAScript identifier: it contains '-'",
    ] {
        assert!(message.contains(problem), "'{problem}' not in: {message}");
    }
    assert_eq!(
        message.matches("; ").count(),
        2,
        "three problems: {message}"
    );

    // A section as GMS writes it leaves options out: the template's defaults apply (a
    // basic_get without `result` answers 200), and `_type` comes from the template.
    server
        .put_json(
            "/admin/services/bg",
            &json!({"_type":"builtin","_service":"basic_get","greeting":"hi"}),
        )
        .ok_json(200);
    assert_eq!(
        server.post_form("/service/bg", &[]).ok_json(200),
        json!({"greeting":"hi"})
    );
    server
        .put_json("/admin/services/nt", &json!({"_service":"get"}))
        .ok_json(200);
    // An unparsable value is refused, naming the option and what it must be.
    server
        .put_json(
            "/admin/services/bg",
            &json!({"_type":"builtin","_service":"basic_get","result":"two hundred"}),
        )
        .assert_error(
            400,
            BAD_REQUEST,
            "service 'bg' is invalid: option 'result' must be a whole number, not 'two hundred'",
        );
    server
        .put_json(
            "/admin/services/bad%20name",
            &json!({"_type":"builtin","_service":"get"}),
        )
        .assert_error(
            400,
            BAD_REQUEST,
            "invalid service name 'bad name': use letters, digits, '-', '_' and '.'",
        );

    // Malformed JSON, and JSON that is not an object of options.
    let r = send(
        server
            .req("PUT", "/admin/services/x")
            .set("Content-Type", "application/json"),
        Some(b"{\"_type\": \"builtin\","),
    );
    let message = r.gms_error(400, BAD_REQUEST);
    assert!(
        message.starts_with("the request body is not valid JSON: "),
        "{message}"
    );
    server
        .put_json("/admin/services/x", &json!(["_type", "builtin"]))
        .assert_error(
            400,
            BAD_REQUEST,
            "the request body must be a JSON object of option names to values",
        );
    server
        .put_json(
            "/admin/services/x",
            &json!({"_type":"builtin","_service":"get","o":{"a":1}}),
        )
        .assert_error(
            400,
            BAD_REQUEST,
            "option 'o' must be a string, number or boolean, not {\"a\":1}",
        );

    // Nothing invalid was stored: `bg` keeps its valid options.
    for name in ["bad", "x"] {
        assert_eq!(server.get(&format!("/admin/services/{name}")).status, 404);
    }
    assert_eq!(
        server.get("/admin/services/bg").ok_json(200),
        json!({"_type":"builtin","_service":"basic_get","greeting":"hi"})
    );
}

#[test]
fn admin_config_sections() {
    let server = Server::start();
    // The sample's [callback] has only comments.
    assert_eq!(server.get("/admin/config/callback").ok_json(200), json!({}));
    assert_eq!(
        server.get("/admin/config/push").ok_json(200),
        json!({"pushEnabled":"comet","defaultSubscriptionExpiration":"30"})
    );
    let callback = json!({"queue_polling_rate":"15","queue_polling_rate_recover":"120"});
    assert_eq!(
        server
            .put_json("/admin/config/callback", &callback)
            .ok_json(200),
        callback
    );
    assert_eq!(server.get("/admin/config/callback").ok_json(200), callback);
    // Numbers and booleans are stored as text.
    assert_eq!(
        server
            .put_json(
                "/admin/config/callback",
                &json!({"queue_polling_rate": 20, "x": true})
            )
            .ok_json(200),
        json!({"queue_polling_rate":"20","x":"true"})
    );

    server.get("/admin/config/nosuch").assert_error(
        404,
        NOT_FOUND,
        "section 'nosuch' does not exist",
    );
    server
        .put_json("/admin/config/service.sneaky", &json!({"_type":"builtin"}))
        .assert_error(
            400,
            BAD_REQUEST,
            "section 'service.sneaky' is managed through its own admin API",
        );
    server
        .put_json("/admin/config/callback", &json!({"bad name":"1"}))
        .assert_error(400, BAD_REQUEST, "invalid option name 'bad name'");
}

// ---- 3. request-interaction, match-interaction, request-access -----------------------------

#[test]
fn match_by_caller_number_written_differently() {
    let server = Server::start();
    let ri = request_interaction(&server, &[("_phone_number", "6505551234")]);
    let id = str_field(&ri, "_id").to_string();
    let number = str_field(&ri, "_access_number").to_string();
    assert!(dnis().contains(&number), "{number} is not a DNIS number");
    assert!(ri.get("_access_code").is_none(), "no code asked: {ri}");
    assert!(
        ri["_expiration_time"]
            .as_i64()
            .is_some_and(|t| t > 0 && t <= 30),
        "{ri}"
    );

    // Another caller on the same number does not match.
    match_interaction(
        &server,
        &[
            ("_access_number", &number),
            ("_phone_number", "+16505559999"),
        ],
    )
    .assert_error(
        404,
        NOT_FOUND,
        &format!("no service matches access number {number} from +16505559999"),
    );

    let m = match_interaction(
        &server,
        &[
            ("_access_number", &number),
            ("_phone_number", "+1 (650) 555-1234"),
        ],
    )
    .ok_json(200);
    assert_eq!(m, json!({"_id": id, "_data_id": id}));

    // Matched means released.
    match_interaction(
        &server,
        &[
            ("_access_number", &number),
            ("_phone_number", "+16505551234"),
        ],
    )
    .assert_error(
        404,
        NOT_FOUND,
        &format!("no service matches access number {number} from +16505551234"),
    );
}

#[test]
fn match_by_access_code_with_user_data_and_record_kept() {
    let server = Server::start();
    let ri = request_interaction(
        &server,
        &[
            ("_provide_code", "true"),
            ("first_name", "Ada"),
            ("order", "A-17"),
            ("_phone_number", "6505551234"),
        ],
    );
    let id = str_field(&ri, "_id").to_string();
    let number = str_field(&ri, "_access_number").to_string();
    let code = str_field(&ri, "_access_code").to_string();
    assert_eq!(code.len(), 6, "{ri}");
    assert!(code.chars().all(|c| c.is_ascii_digit()), "{ri}");

    // A wrong code (7 digits cannot equal a 6-digit code).
    match_interaction(
        &server,
        &[("_access_number", &number), ("_access_code", "1234567")],
    )
    .assert_error(
        404,
        NOT_FOUND,
        &format!("no service matches access number {number} with access code 1234567"),
    );

    let m = match_interaction(
        &server,
        &[
            ("_access_number", &number),
            ("_access_code", &code),
            ("_return_user_data", "true"),
        ],
    )
    .ok_json(200);
    assert_eq!(
        m,
        json!({"_id": id, "_data_id": id, "user_data": {"first_name":"Ada","order":"A-17"}})
    );
    match_interaction(
        &server,
        &[("_access_number", &number), ("_access_code", &code)],
    )
    .assert_error(
        404,
        NOT_FOUND,
        &format!("no service matches access number {number} with access code {code}"),
    );

    // Without _delete_service the record stays.
    let record = server.get(&format!("/service/{id}")).ok_json(200);
    assert_eq!(record["_id"], id.as_str());
    assert_eq!(record["_service_name"], "request-interaction");
    assert_eq!(record["first_name"], "Ada");
    assert!(record["_created_time"].is_string(), "{record}");
}

#[test]
fn match_with_delete_service_removes_the_record() {
    let server = Server::start();
    let ri = request_interaction(&server, &[("_provide_code", "true")]);
    let id = str_field(&ri, "_id").to_string();
    let m = match_interaction(
        &server,
        &[
            ("_access_number", str_field(&ri, "_access_number")),
            ("_access_code", str_field(&ri, "_access_code")),
            ("_delete_service", "true"),
        ],
    )
    .ok_json(200);
    assert_eq!(m["_id"], id.as_str());
    server.get(&format!("/service/{id}")).assert_error(
        404,
        NOT_FOUND,
        &format!("service instance '{id}' does not exist"),
    );
}

#[test]
fn match_returning_multiple_matches() {
    let server = Server::start();
    server
        .put_json(
            "/admin/resources/ONE",
            &json!({"numbers":["5551000"],"allocation":"round-robin"}),
        )
        .ok_json(200);
    let a = request_interaction_of(&server, "ONE", &[("_phone_number", "6505550001")]);
    let b = request_interaction_of(&server, "ONE", &[("_phone_number", "6505550002")]);
    assert_eq!(a["_access_number"], "5551000");
    assert_eq!(b["_access_number"], "5551000");
    let m = match_interaction(
        &server,
        &[
            ("_access_number", "5551000"),
            ("_return_multiple_matches", "true"),
        ],
    )
    .ok_json(200);
    let obj = m.as_object().expect("an object");
    assert_eq!(obj.len(), 1, "only 'matches': {m}");
    let matches = m["matches"].as_array().expect("'matches' is a list");
    let ids: BTreeSet<&str> = matches.iter().map(|x| str_field(x, "_id")).collect();
    let expected: BTreeSet<&str> = [str_field(&a, "_id"), str_field(&b, "_id")].into();
    assert_eq!(ids, expected, "{m}");
    for x in matches {
        assert_eq!(x["_data_id"], x["_id"], "{m}");
    }
    match_interaction(
        &server,
        &[
            ("_access_number", "5551000"),
            ("_return_multiple_matches", "true"),
        ],
    )
    .assert_error(404, NOT_FOUND, "no service matches access number 5551000");
    match_interaction(&server, &[]).assert_error(
        400,
        BAD_REQUEST,
        "match-interaction needs '_access_number' (the number called)",
    );
}

#[test]
fn request_access_for_existing_and_missing_services() {
    let server = Server::start();
    let ri = request_interaction(&server, &[]);
    let id = str_field(&ri, "_id").to_string();

    let ra = server
        .post_form(
            "/service/request-access",
            &[
                ("_id", &id),
                ("_resource_group", "DNIS"),
                ("_provide_code", "true"),
                ("_access_code_length", "4"),
            ],
        )
        .ok_json(200);
    assert_eq!(ra["_id"], id.as_str());
    let number = str_field(&ra, "_access_number").to_string();
    assert!(dnis().contains(&number), "{ra}");
    let code = str_field(&ra, "_access_code").to_string();
    assert_eq!(code.len(), 4, "{ra}");
    // The access information matches back to the same service.
    let m = match_interaction(
        &server,
        &[("_access_number", &number), ("_access_code", &code)],
    )
    .ok_json(200);
    assert_eq!(m["_id"], id.as_str());

    server
        .post_form(
            "/service/request-access",
            &[("_id", "1-no-such-service"), ("_resource_group", "DNIS")],
        )
        .assert_error(
            404,
            NOT_FOUND,
            "service '1-no-such-service' does not exist or has ended",
        );
    server
        .post_form("/service/request-access", &[("_resource_group", "DNIS")])
        .assert_error(
            400,
            BAD_REQUEST,
            "request-access needs the '_id' of a service",
        );
    server
        .post_form(
            "/service/request-access",
            &[("_id", &id), ("_resource_group", "NOPE")],
        )
        .assert_error(400, BAD_REQUEST, "resource group 'NOPE' does not exist");
    server
        .post_form(
            "/service/request-access",
            &[
                ("_id", &id),
                ("_resource_group", "DNIS"),
                ("_access_code_length", "13"),
                ("_provide_code", "true"),
            ],
        )
        .assert_error(
            400,
            BAD_REQUEST,
            "_access_code_length must be between 1 and 12, not '13'",
        );

    // A request-access service that names no group needs it on the request.
    server
        .put_json(
            "/admin/services/ra-nogroup",
            &json!({"_type":"builtin","_service":"request-access"}),
        )
        .ok_json(200);
    server
        .post_form("/service/ra-nogroup", &[("_id", &id)])
        .assert_error(
            400,
            BAD_REQUEST,
            "request-access needs '_resource_group' (a resource group name)",
        );
    assert_eq!(
        server
            .post_form(
                "/service/ra-nogroup",
                &[("_id", &id), ("_resource_group", "DNIS")]
            )
            .status,
        200
    );
    // A configured group wins over the request's: the sample's DNIS, not NOPE.
    let ri = request_interaction(&server, &[("_resource_group", "NOPE")]);
    assert!(
        dnis().contains(&str_field(&ri, "_access_number").to_string()),
        "{ri}"
    );
    // request-interaction with an unknown group (configured: a request cannot name it).
    server
        .put_json(
            "/admin/services/ri-nope",
            &json!({"_service":"request-interaction","_resource_group":"NOPE"}),
        )
        .ok_json(200);
    server.post_form("/service/ri-nope", &[]).assert_error(
        400,
        BAD_REQUEST,
        "resource group 'NOPE' does not exist",
    );
}

// ---- 4. Resources: locking under concurrency, round-robin ---------------------------------

#[test]
fn locking_group_hands_each_number_to_one_booking_under_concurrency() {
    let server = Server::start();
    let numbers: Vec<String> = (1..=20).map(|n| format!("55500{n:02}")).collect();
    let group = server
        .put_json(
            "/admin/resources/LOCK",
            &json!({"numbers": numbers, "allocation":"random", "locking": true,
                    "_booking_expiration_timeout": 60}),
        )
        .ok_json(200);
    assert_eq!(
        group,
        json!({"numbers": numbers, "allocation":"random", "locking": true,
               "_booking_expiration_timeout": 60, "available": 20, "total": 20})
    );
    server
        .put_json(
            "/admin/services/lockedri",
            &json!({"_type":"builtin","_service":"request-interaction","_resource_group":"LOCK"}),
        )
        .ok_json(200);

    const THREADS: usize = 12;
    const PER_THREAD: usize = 5;
    let barrier = Arc::new(Barrier::new(THREADS));
    let url = server.url("/service/lockedri");
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let barrier = barrier.clone();
            let req = server.raw_req("POST", &url);
            std::thread::spawn(move || {
                barrier.wait();
                (0..PER_THREAD)
                    .map(|_| post_form(req.clone(), &[]))
                    .collect::<Vec<Resp>>()
            })
        })
        .collect();
    let answers: Vec<Resp> = handles
        .into_iter()
        .flat_map(|h| h.join().expect("a client thread panicked"))
        .collect();
    assert_eq!(answers.len(), THREADS * PER_THREAD);

    let mut booked = Vec::new();
    let mut refused = 0;
    for r in &answers {
        match r.status {
            200 => booked.push(str_field(&r.json(), "_access_number").to_string()),
            _ => {
                r.assert_error(
                    503,
                    UNAVAILABLE,
                    "no access number of resource group 'LOCK' is available: all are booked",
                );
                refused += 1;
            }
        }
    }
    assert_eq!(booked.len(), 20, "exactly one booking per number");
    assert_eq!(refused, 40);
    let distinct: BTreeSet<&String> = booked.iter().collect();
    assert_eq!(distinct.len(), 20, "numbers handed out twice: {booked:?}");
    assert_eq!(
        distinct,
        numbers.iter().collect::<BTreeSet<_>>(),
        "only the group's numbers"
    );

    let group = server.get("/admin/resources/LOCK").ok_json(200);
    assert_eq!(
        (&group["available"], &group["total"]),
        (&json!(0), &json!(20))
    );
}

#[test]
fn round_robin_group_hands_numbers_in_order() {
    let server = Server::start();
    server
        .put_json(
            "/admin/resources/RR",
            &json!({"numbers":["7000","7001","7002"],"allocation":"round-robin"}),
        )
        .ok_json(200);
    let got: Vec<String> = (0..7)
        .map(|_| {
            let r = request_interaction_of(&server, "RR", &[]);
            str_field(&r, "_access_number").to_string()
        })
        .collect();
    assert_eq!(
        got,
        ["7000", "7001", "7002", "7000", "7001", "7002", "7000"]
    );
    // Not locking: every number stays available.
    let group = server.get("/admin/resources/RR").ok_json(200);
    assert_eq!(group["locking"], false);
    assert_eq!(
        (&group["available"], &group["total"]),
        (&json!(3), &json!(3))
    );

    // The sample's DNIS group is round-robin too.
    let got: Vec<String> = (0..3)
        .map(|_| str_field(&request_interaction(&server, &[]), "_access_number").to_string())
        .collect();
    assert_eq!(got, dnis()[..3]);

    server
        .put_json(
            "/admin/resources/BAD",
            &json!({"numbers":["12a"],"allocation":"round-robin"}),
        )
        .assert_error(
            400,
            BAD_REQUEST,
            "resource group 'BAD': '12a' is not an access number (digits only)",
        );
    server
        .put_json(
            "/admin/resources/BAD",
            &json!({"numbers":["12"],"allocation":"sometimes"}),
        )
        .assert_error(
            400,
            BAD_REQUEST,
            "resource group 'BAD': allocation 'sometimes' is not random or round-robin",
        );
    server.get("/admin/resources/BAD").assert_error(
        404,
        NOT_FOUND,
        "resource group 'BAD' does not exist",
    );
}

// ---- 5. Authentication --------------------------------------------------------------------

fn ini_with_server_auth(username: Option<&str>, password: Option<&str>) -> String {
    let mut ini = common::sample_ini();
    for (commented, value) in [
        (
            "# username = default",
            username.map(|u| format!("username = {u}")),
        ),
        (
            "# password = change-me",
            password.map(|p| format!("password = {p}")),
        ),
    ] {
        assert!(ini.contains(commented), "the sample has `{commented}`");
        if let Some(v) = value {
            ini = ini.replacen(commented, &v, 1);
        }
    }
    ini
}

#[test]
fn basic_auth_server_credentials_and_a_service_override() {
    let mut ini = ini_with_server_auth(Some("admin"), Some("s3cret"));
    ini.push_str(
        "\n[service.guarded]\n_type = builtin\n_service = get\nusername = svc\npassword = svcpw\nmotto = ok\n",
    );
    let mut server = Server::start_with_config(&ini);

    let unauthenticated = [
        ("GET", "/admin/node/status"),
        ("GET", "/admin/services"),
        ("GET", "/admin/config/callback"),
        ("POST", "/storage/60"),
        ("GET", "/storage/abc"),
        ("POST", "/patterns"),
        ("POST", "/service/get"),
        ("POST", "/service/guarded"),
    ];
    for (method, path) in unauthenticated {
        let r = send(server.req(method, path), None);
        r.assert_error(401, UNAUTHORIZED, "authentication is required");
        assert_eq!(
            r.header("WWW-Authenticate"),
            Some("Basic realm=\"genesys\""),
            "{method} {path}"
        );
    }

    server.set_auth(Some(("admin", "wrong")));
    for (method, path) in unauthenticated {
        let r = send(server.req(method, path), None);
        r.assert_error(401, UNAUTHORIZED, "invalid username or password");
        assert!(r.header("WWW-Authenticate").is_some(), "{method} {path}");
    }
    server.set_auth(Some(("someone", "s3cret")));
    server.get("/admin/node/status").assert_error(
        401,
        UNAUTHORIZED,
        "invalid username or password",
    );

    server.set_auth(Some(("admin", "s3cret")));
    assert_eq!(server.get("/admin/node/status").text(), "ONLINE");
    assert_eq!(server.get("/admin/services").status, 200);
    let id = server.post_form("/storage/60", &[("k", "v")]).ok_json(200);
    assert_eq!(
        server
            .get(&format!("/storage/{}", str_field(&id, "id")))
            .ok_json(200),
        json!({"k":"v"})
    );
    assert_eq!(server.post_form("/service/get", &[]).status, 200);
    // The service's own credentials replace the server's (gms-api §5, test_01_13/14).
    server.post_form("/service/guarded", &[]).assert_error(
        401,
        UNAUTHORIZED,
        "invalid username or password",
    );

    server.set_auth(Some(("svc", "svcpw")));
    // (The body also echoes `username`/`password`: see get_service_does_not_echo_credentials.)
    assert_eq!(
        server.post_form("/service/guarded", &[]).ok_json(200)["motto"],
        "ok"
    );
    // ... for that service only.
    server.get("/admin/node/status").assert_error(
        401,
        UNAUTHORIZED,
        "invalid username or password",
    );
}

#[test]
fn basic_auth_service_password_with_server_username() {
    let mut ini = ini_with_server_auth(Some("admin"), Some("s3cret"));
    ini.push_str("\n[service.half]\n_type = builtin\n_service = get\npassword = halfpw\n");
    let mut server = Server::start_with_config(&ini);
    // Each field from the service when set, else from [server] (gms-api §5, test_01_23/24).
    server.set_auth(Some(("admin", "halfpw")));
    assert_eq!(server.post_form("/service/half", &[]).status, 200);
    server.set_auth(Some(("admin", "s3cret")));
    server.post_form("/service/half", &[]).assert_error(
        401,
        UNAUTHORIZED,
        "invalid username or password",
    );
}

#[test]
fn basic_auth_is_not_required_with_only_a_username() {
    let server = Server::start_with_config(&ini_with_server_auth(Some("admin"), None));
    assert_eq!(server.get("/admin/node/status").text(), "ONLINE");
    assert_eq!(server.get("/admin/services").status, 200);
    assert_eq!(server.post_form("/storage/60", &[("k", "v")]).status, 200);
    assert_eq!(server.post_form("/service/get", &[]).status, 200);
}

// ---- 6. Restart after a crash -------------------------------------------------------------

#[test]
fn everything_acknowledged_survives_kill_9() {
    let scratch = Scratch::new("restart");
    let data = scratch.path().join("data");
    let binary: Vec<u8> = (0..=255u8).cycle().take(3000).collect();

    let mut server = Server::start_in(&data, None);
    let svc = json!({"_type":"builtin","_service":"get","greeting":"survivor"});
    server.put_json("/admin/services/kept", &svc).ok_json(200);
    let created = server
        .post_multipart(
            "/storage/300",
            &[
                Part::Text("name", "Ada"),
                Part::Text("city", "London"),
                Part::File {
                    name: "photo",
                    filename: "photo.bin",
                    content_type: "image/png",
                    bytes: &binary,
                },
            ],
        )
        .ok_json(200);
    let storage_id = str_field(&created, "id").to_string();
    let ri = request_interaction(
        &server,
        &[
            ("_provide_code", "true"),
            ("_booking_expiration_timeout", "600"),
            ("who", "ada"),
        ],
    );
    let callback = json!({"queue_polling_rate":"11"});
    server
        .put_json("/admin/config/callback", &callback)
        .ok_json(200);
    server.kill();

    let server = Server::start_in(&data, None);
    assert_eq!(server.get("/admin/services/kept").ok_json(200), svc);
    assert_eq!(
        server.post_form("/service/kept", &[]).ok_json(200),
        json!({"greeting":"survivor"})
    );
    assert_eq!(
        server.get(&format!("/storage/{storage_id}")).ok_json(200),
        json!({"name":"Ada","city":"London","photo":"photo.bin"})
    );
    let photo = server.get(&format!("/storage/binary/{storage_id}/photo"));
    assert_eq!(photo.status, 200);
    assert_eq!(photo.content_type, "image/png");
    assert_eq!(photo.body, binary);
    assert_eq!(server.get("/admin/config/callback").ok_json(200), callback);
    let m = match_interaction(
        &server,
        &[
            ("_access_number", str_field(&ri, "_access_number")),
            ("_access_code", str_field(&ri, "_access_code")),
            // The help's spelling of `_return_user_data`.
            ("_return_data", "true"),
        ],
    )
    .ok_json(200);
    assert_eq!(m["_id"], ri["_id"]);
    assert_eq!(m["user_data"], json!({"who":"ada"}));
}

// ---- 7. Storage API -----------------------------------------------------------------------

#[test]
fn storage_create_read_update_delete() {
    let server = Server::start();
    let created = server
        .post_form("/storage/120", &[("a", "1"), ("b", "two words")])
        .ok_json(200);
    let obj = created.as_object().expect("an object");
    assert_eq!(obj.len(), 1, "only 'id': {created}");
    let id = str_field(&created, "id").to_string();
    assert_eq!(
        server.get(&format!("/storage/{id}")).ok_json(200),
        json!({"a":"1","b":"two words"})
    );
    let one = server.get(&format!("/storage/{id}/b"));
    assert_eq!(one.status, 200);
    assert_eq!(one.content_type, "text/plain");
    assert_eq!(one.text(), "two words");
    server.get(&format!("/storage/{id}/zz")).assert_error(
        404,
        NOT_FOUND,
        &format!("storage '{id}' has no key 'zz'"),
    );

    // Update merges and answers the id.
    assert_eq!(
        server
            .post_form(&format!("/storage/{id}/60"), &[("b", "2"), ("c", "3")])
            .ok_json(200),
        json!({"id": id})
    );
    assert_eq!(
        server.get(&format!("/storage/{id}")).ok_json(200),
        json!({"a":"1","b":"2","c":"3"})
    );
    server
        .post_form("/storage/nope/60", &[("b", "2")])
        .assert_error(404, NOT_FOUND, "storage 'nope' does not exist");

    assert_eq!(server.delete(&format!("/storage/{id}")).status, 200);
    server.get(&format!("/storage/{id}")).assert_error(
        404,
        NOT_FOUND,
        &format!("storage '{id}' does not exist"),
    );
    server.get(&format!("/storage/{id}/a")).assert_error(
        404,
        NOT_FOUND,
        &format!("storage '{id}' does not exist"),
    );
    server.delete(&format!("/storage/{id}")).assert_error(
        404,
        NOT_FOUND,
        &format!("storage '{id}' does not exist"),
    );
}

#[test]
fn storage_multipart_with_a_binary_part() {
    let server = Server::start();
    let bytes: Vec<u8> = (0..=255u8).rev().cycle().take(70_000).collect();
    let created = server
        .post_multipart(
            "/storage/60",
            &[
                Part::Text("note", "hello"),
                Part::File {
                    name: "screen",
                    filename: "screen.png",
                    content_type: "image/png",
                    bytes: &bytes,
                },
            ],
        )
        .ok_json(200);
    let id = str_field(&created, "id").to_string();
    assert_eq!(
        server.get(&format!("/storage/{id}")).ok_json(200),
        json!({"note":"hello","screen":"screen.png"})
    );
    let bin = server.get(&format!("/storage/binary/{id}/screen"));
    assert_eq!(bin.status, 200);
    assert_eq!(bin.content_type, "image/png");
    assert_eq!(bin.body, bytes, "exact bytes");
    // A file part read through the text route still answers its bytes and type.
    let same = server.get(&format!("/storage/{id}/screen"));
    assert_eq!(
        (same.status, same.content_type.as_str()),
        (200, "image/png")
    );
    assert_eq!(same.body, bytes);
    // A text value read as binary.
    let note = server.get(&format!("/storage/binary/{id}/note"));
    assert_eq!(note.status, 200);
    assert_eq!(note.content_type, "application/octet-stream");
    assert_eq!(note.body, b"hello");
    server
        .get(&format!("/storage/binary/{id}/nope"))
        .assert_error(404, NOT_FOUND, &format!("storage '{id}' has no key 'nope'"));
}

#[test]
fn storage_rejects_invalid_ttls_naming_them() {
    let server = Server::start();
    let created = server.post_form("/storage/60", &[("a", "1")]).ok_json(200);
    let id = str_field(&created, "id").to_string();
    for ttl in ["abc", "0", "-5", "99999999999", "1.5"] {
        let expected =
            format!("invalid TTL '{ttl}': it must be a whole number of seconds from 1 to 31536000");
        server
            .post_form(&format!("/storage/{ttl}"), &[("a", "1")])
            .assert_error(400, BAD_REQUEST, &expected);
        server
            .post_form(&format!("/storage/{id}/{ttl}"), &[("a", "1")])
            .assert_error(400, BAD_REQUEST, &expected);
        server
            .post_form(&format!("/storage/custom/cid/{ttl}"), &[("a", "1")])
            .assert_error(400, BAD_REQUEST, &expected);
    }
    assert_eq!(
        server.post_form("/storage/31536000", &[("a", "1")]).status,
        200
    );
}

#[test]
fn storage_with_a_custom_id_belongs_to_its_gms_user() {
    let server = Server::start();
    let post = |user: Option<&str>, fields: &[(&str, &str)]| {
        let mut r = server.req("POST", "/storage/custom/profile-42/60");
        if let Some(u) = user {
            r = r.set("gms_user", u);
        }
        post_form(r, fields)
    };
    let get = |user: Option<&str>, path: &str| {
        let mut r = server.req("GET", path);
        if let Some(u) = user {
            r = r.set("gms_user", u);
        }
        send(r, None)
    };
    post(None, &[("a", "1")]).assert_error(
        400,
        BAD_REQUEST,
        "a storage record with a custom id needs the gms_user header",
    );
    assert_eq!(
        post(Some("alice"), &[("a", "1")]).ok_json(200),
        json!({"id":"profile-42"})
    );
    assert_eq!(
        get(Some("alice"), "/storage/profile-42").ok_json(200),
        json!({"a":"1"})
    );
    assert_eq!(get(Some("alice"), "/storage/profile-42/a").text(), "1");
    get(Some("bob"), "/storage/profile-42").assert_error(
        403,
        FORBIDDEN,
        "storage 'profile-42' belongs to another gms_user",
    );
    get(Some("bob"), "/storage/profile-42/a").assert_error(
        403,
        FORBIDDEN,
        "storage 'profile-42' belongs to another gms_user",
    );
    get(None, "/storage/profile-42").assert_error(
        403,
        FORBIDDEN,
        "storage 'profile-42' needs the gms_user header of its owner",
    );
    post(Some("bob"), &[("a", "2")]).assert_error(
        403,
        FORBIDDEN,
        "storage 'profile-42' belongs to another gms_user",
    );
    let del = server
        .req("DELETE", "/storage/profile-42")
        .set("gms_user", "bob");
    send(del, None).assert_error(
        403,
        FORBIDDEN,
        "storage 'profile-42' belongs to another gms_user",
    );
    assert_eq!(
        get(Some("alice"), "/storage/profile-42").ok_json(200),
        json!({"a":"1"}),
        "bob changed nothing"
    );
    let bad = server
        .req("POST", "/storage/custom/bad%20id/60")
        .set("gms_user", "alice");
    post_form(bad, &[("a", "1")]).assert_error(
        400,
        BAD_REQUEST,
        "invalid storage id 'bad id': use up to 128 letters, digits, '-', '_' and '.'",
    );
}

#[test]
fn per_service_storage() {
    let server = Server::start();
    let id = str_field(&request_interaction(&server, &[]), "_id").to_string();
    assert_eq!(
        server.get(&format!("/service/{id}/storage")).ok_json(200),
        json!({}),
        "empty before the first write"
    );
    assert_eq!(
        server
            .post_form(
                &format!("/service/{id}/storage"),
                &[("k1", "v1"), ("k2", "v2")]
            )
            .ok_json(200),
        json!({"id": id})
    );
    let shot = b"\x89PNG\r\n\x1a\n\x00\xff";
    server
        .post_multipart(
            &format!("/service/{id}/storage"),
            &[Part::File {
                name: "screen",
                filename: "s.png",
                content_type: "image/png",
                bytes: shot,
            }],
        )
        .ok_json(200);
    assert_eq!(
        server.get(&format!("/service/{id}/storage")).ok_json(200),
        json!({"k1":"v1","k2":"v2","screen":"s.png"})
    );
    let k1 = server.get(&format!("/service/{id}/storage/k1"));
    assert_eq!((k1.status, k1.content_type.as_str()), (200, "text/plain"));
    assert_eq!(k1.text(), "v1");
    let bin = server.get(&format!("/service/{id}/storage/binary/screen"));
    assert_eq!((bin.status, bin.content_type.as_str()), (200, "image/png"));
    assert_eq!(bin.body, shot);

    assert_eq!(
        server.delete(&format!("/service/{id}/storage/k1")).status,
        200
    );
    server
        .get(&format!("/service/{id}/storage/k1"))
        .assert_error(404, NOT_FOUND, &format!("storage '{id}' has no key 'k1'"));
    server
        .delete(&format!("/service/{id}/storage/k1"))
        .assert_error(404, NOT_FOUND, &format!("storage '{id}' has no key 'k1'"));
    assert_eq!(
        server.get(&format!("/service/{id}/storage")).ok_json(200),
        json!({"k2":"v2","screen":"s.png"})
    );

    server
        .post_form("/service/1-nope/storage", &[("k", "v")])
        .assert_error(404, NOT_FOUND, "service instance '1-nope' does not exist");
    server.get("/service/1-nope/storage").assert_error(
        404,
        NOT_FOUND,
        "service instance '1-nope' does not exist",
    );

    // Deleting the service deletes its storage.
    assert_eq!(server.delete(&format!("/service/{id}")).status, 200);
    server.get(&format!("/service/{id}")).assert_error(
        404,
        NOT_FOUND,
        &format!("service instance '{id}' does not exist"),
    );
    server
        .get(&format!("/service/{id}/storage/k2"))
        .assert_error(404, NOT_FOUND, &format!("storage '{id}' does not exist"));
}

/// A body over the 5 MB limit. The server may answer 413 before reading it all and close the
/// connection, so a client that is still writing may see the connection reset instead.
fn send_oversize(server: &Server, content_type: &str, body: &[u8]) -> Option<Resp> {
    let r = server
        .req("POST", "/storage/60")
        .set("Content-Type", content_type);
    match r.send_bytes(body) {
        Ok(resp) | Err(ureq::Error::Status(_, resp)) => {
            let status = resp.status();
            let content_type = resp.content_type().to_string();
            let text = resp.into_string().expect("the body can be read");
            Some(Resp {
                status,
                content_type,
                headers: Vec::new(),
                body: text.into_bytes(),
            })
        }
        Err(ureq::Error::Transport(t)) => {
            eprintln!("oversize body: the connection ended while sending ({t})");
            None
        }
    }
}

#[test]
fn storage_rejects_bodies_over_5_mb() {
    let server = Server::start();
    let big = vec![b'a'; 5 * 1024 * 1024 + 1];
    let mut answered = 0;
    let mut form = b"k=".to_vec();
    form.extend_from_slice(&big);
    if let Some(r) = send_oversize(&server, "application/x-www-form-urlencoded", &form) {
        r.assert_error(
            413,
            TOO_LARGE,
            "the request body is larger than 5242880 bytes",
        );
        answered += 1;
    }
    let (ct, body) = common::multipart(&[Part::File {
        name: "f",
        filename: "f.bin",
        content_type: "application/octet-stream",
        bytes: &big,
    }]);
    if let Some(r) = send_oversize(&server, &ct, &body) {
        r.assert_error(
            413,
            TOO_LARGE,
            "the request body is larger than 5242880 bytes",
        );
        answered += 1;
    }
    assert!(answered > 0, "neither oversize request got an answer");
    // The server is still fine, and exactly 5 MB of file is accepted.
    let ok = vec![b'b'; 5 * 1024 * 1024 - 200];
    let created = server
        .post_multipart(
            "/storage/60",
            &[Part::File {
                name: "f",
                filename: "f.bin",
                content_type: "application/octet-stream",
                bytes: &ok,
            }],
        )
        .ok_json(200);
    let got = server.get(&format!("/storage/binary/{}/f", str_field(&created, "id")));
    assert_eq!(got.body.len(), ok.len());
}

// ---- 8. Pattern matcher -------------------------------------------------------------------

#[test]
fn pattern_matcher_on_the_sample_and_an_admin_group() {
    let server = Server::start();
    // The sample's [patterns.default]: local_number, email, emergency, premium_us.
    let params = [
        ("a", "555-1234"),
        ("b", "ada@example.com"),
        ("c", "911"),
        ("d", "hello"),
        ("e", "555-12345"),
        ("_customer_number", "19005551234"),
    ];
    let expected = json!({"a":"local_number","b":"email","c":"emergency",
                          "_customer_number":"premium_us"});
    assert_eq!(
        server
            .post_form("/patterns/group/default", &params)
            .ok_json(200),
        expected
    );
    assert_eq!(
        server.post_form("/patterns", &params).ok_json(200),
        expected
    );
    // Multipart and JSON bodies too.
    let r = server.post_multipart(
        "/patterns/group/default",
        &[Part::Text("x", "112"), Part::Text("y", "nothing")],
    );
    assert_eq!(r.ok_json(200), json!({"x":"emergency"}));
    let r = send(
        server
            .req("POST", "/patterns/group/default")
            .set("Content-Type", "application/json"),
        Some(br#"{"mail":"a.b@c.org","n":42}"#),
    );
    assert_eq!(r.ok_json(200), json!({"mail":"email"}));

    let zips = json!({"zip":"\\d{5}","plus4":"\\d{5}-\\d{4}"});
    assert_eq!(
        server.put_json("/admin/patterns/zips", &zips).ok_json(200),
        zips
    );
    assert_eq!(server.get("/admin/patterns/zips").ok_json(200), zips);
    assert_eq!(
        server
            .post_form(
                "/patterns/group/zips",
                &[("z", "94105"), ("p", "94105-1234"), ("l", "555-1234")]
            )
            .ok_json(200),
        json!({"z":"zip","p":"plus4"})
    );
    // Across every group: the first group (in order) with a match names it.
    assert_eq!(
        server
            .post_form("/patterns", &[("z", "94105"), ("l", "555-1234")])
            .ok_json(200),
        json!({"z":"zip","l":"local_number"})
    );

    server
        .post_form("/patterns/group/nope", &[("a", "1")])
        .assert_error(404, NOT_FOUND, "pattern group 'nope' does not exist");

    let message = server
        .put_json(
            "/admin/patterns/broken",
            &json!({"ok":"\\d+","bad":"(unclosed","worse":"[z-a]"}),
        )
        .gms_error(400, BAD_REQUEST);
    assert!(
        message.contains("pattern `bad` (`(unclosed`): "),
        "{message}"
    );
    assert!(message.contains("pattern `worse` (`[z-a]`): "), "{message}");
    assert!(!message.contains("pattern `ok`"), "{message}");
    server.get("/admin/patterns/broken").assert_error(
        404,
        NOT_FOUND,
        "pattern group 'broken' does not exist",
    );

    assert_eq!(server.delete("/admin/patterns/zips").status, 200);
    server
        .post_form("/patterns/group/zips", &[("z", "94105")])
        .assert_error(404, NOT_FOUND, "pattern group 'zips' does not exist");
}

// ---- 9. Bad input is a 4xx with a GMS body, never a 500 ------------------------------------

#[test]
fn bad_input_is_a_4xx_with_a_gms_body() {
    let server = Server::start();
    let gms = |r: Resp, what: &str| {
        assert!(
            (400..500).contains(&r.status),
            "{what}: status {} body {:?}",
            r.status,
            String::from_utf8_lossy(&r.body)
        );
        let exception = match r.status {
            400 => BAD_REQUEST,
            404 => NOT_FOUND,
            405 => METHOD_NOT_ALLOWED,
            413 => TOO_LARGE,
            415 => UNSUPPORTED,
            other => panic!("{what}: unexpected status {other}"),
        };
        let message = r.gms_error(r.status, exception);
        assert!(!message.is_empty(), "{what}");
        message
    };

    // Unknown routes under /genesys/1.
    assert_eq!(
        gms(server.get("/nothing/here"), "unknown route"),
        "no API at GET /genesys/1/nothing/here"
    );
    server
        .get("/admin")
        .assert_error(404, NOT_FOUND, "no API at GET /genesys/1/admin");
    server
        .get("/storage")
        .assert_error(404, NOT_FOUND, "no API at GET /genesys/1/storage");
    server.post_form("/service", &[]).assert_error(
        404,
        NOT_FOUND,
        "no API at POST /genesys/1/service",
    );

    // Wrong methods on known paths.
    for (method, path) in [
        ("PATCH", "/admin/services"),
        ("DELETE", "/admin/node/status"),
        ("GET", "/admin/node/changestatus/ONLINE"),
        ("PUT", "/storage/60"),
        ("GET", "/patterns"),
        ("PUT", "/service/get"),
        ("POST", "/admin/config/callback"),
    ] {
        gms(
            send(server.req(method, path), None),
            &format!("{method} {path}"),
        );
    }

    // Malformed multipart bodies.
    let bad_boundary = send(
        server
            .req("POST", "/storage/60")
            .set("Content-Type", "multipart/form-data; boundary=XYZ"),
        Some(b"--ABC\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--ABC--\r\n"),
    );
    assert!(
        gms(bad_boundary, "wrong boundary").starts_with("malformed multipart body: "),
        "wrong boundary"
    );
    let no_boundary = send(
        server
            .req("POST", "/storage/60")
            .set("Content-Type", "multipart/form-data"),
        Some(b"--ABC\r\n\r\n"),
    );
    assert!(gms(no_boundary, "no boundary").starts_with("malformed multipart body: "));
    let truncated = send(
        server
            .req("POST", "/service/request-interaction")
            .set("Content-Type", "multipart/form-data; boundary=ABC"),
        Some(b"--ABC\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx"),
    );
    assert!(gms(truncated, "truncated").starts_with("malformed multipart body: "));
    let nameless = send(
        server
            .req("POST", "/storage/60")
            .set("Content-Type", "multipart/form-data; boundary=ABC"),
        Some(b"--ABC\r\nContent-Disposition: form-data\r\n\r\nx\r\n--ABC--\r\n"),
    );
    let message = gms(nameless, "nameless part");
    assert!(
        message == "a multipart part has no name"
            || message.starts_with("malformed multipart body: "),
        "{message}"
    );

    // JSON bodies that are not an object of parameters.
    let json_post = |path: &str, body: &[u8]| {
        send(
            server
                .req("POST", path)
                .set("Content-Type", "application/json"),
            Some(body),
        )
    };
    assert_eq!(
        gms(json_post("/storage/60", b"[1,2]"), "JSON array"),
        "the request body must be a JSON object of parameters"
    );
    assert_eq!(
        gms(
            json_post("/service/request-interaction", b"\"x\""),
            "JSON string"
        ),
        "the request body must be a JSON object of parameters"
    );
    assert!(gms(json_post("/patterns", b"{\"a\":"), "truncated JSON")
        .starts_with("the request body is not valid JSON: "));
    server
        .put_json("/admin/resources/G", &json!([1, 2]))
        .assert_error(400, BAD_REQUEST, "the request body must be a JSON object");
    server
        .put_json("/admin/resources/G", &json!({"numbers":[{"n":1}]}))
        .assert_error(
            400,
            BAD_REQUEST,
            "'numbers' must list phone numbers as strings, not {\"n\":1}",
        );
    server
        .put_json("/admin/patterns/G", &json!(null))
        .assert_error(
            400,
            BAD_REQUEST,
            "the request body must be a JSON object of option names to values",
        );

    // An unsupported content type.
    let xml = send(
        server
            .req("POST", "/storage/60")
            .set("Content-Type", "text/xml"),
        Some(b"<a>1</a>"),
    );
    assert!(gms(xml, "xml").starts_with("content type 'text/xml' is not accepted"));

    // Long paths that still fit the request head.
    let long = "a".repeat(6000);
    server.get(&format!("/{long}")).assert_error(
        404,
        NOT_FOUND,
        &format!("no API at GET /genesys/1/{long}"),
    );
    assert_eq!(
        gms(server.get(&format!("/storage/{long}")), "long storage id"),
        format!("storage '{long}' does not exist")
    );
    server
        .post_form(&format!("/service/{long}"), &[])
        .assert_error(
            404,
            NOT_FOUND,
            &format!("service '{long}' is not configured"),
        );
    // A path far over the request head limit is refused by the HTTP layer itself.
    // actix-http answers `400` (empty body, `connection: close`) and closes the socket with the
    // rest of the request unread, so the client may see a reset instead of the answer.
    let huge = "a".repeat(70_000);
    match common::try_send(server.one_shot("GET", &format!("/{huge}")), None) {
        Ok(r) => assert_eq!(r.status, 400, "huge path"),
        Err(e) => eprintln!("huge path: the connection was reset ({e})"),
    }

    // Too many parameters, in a body or a query string.
    let many: Vec<(String, String)> = (0..1001).map(|i| (format!("k{i}"), "v".into())).collect();
    let fields: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        gms(server.post_form("/storage/60", &fields), "1001 form fields"),
        "too many parameters: at most 1000 are accepted"
    );
    assert_eq!(
        gms(
            server.post_form("/service/request-interaction", &fields),
            "1001 service params"
        ),
        "too many parameters: at most 1000 are accepted"
    );
    let query: String = (0..1001).map(|i| format!("q{i}=1&")).collect();
    assert_eq!(
        gms(
            server.post_form(&format!("/patterns?{query}"), &[]),
            "1001 query params"
        ),
        "too many parameters: at most 1000 are accepted"
    );
    let parts: Vec<String> = (0..1001).map(|i| format!("p{i}")).collect();
    let parts: Vec<Part<'_>> = parts.iter().map(|p| Part::Text(p, "v")).collect();
    assert_eq!(
        gms(
            server.post_multipart("/storage/60", &parts),
            "1001 multipart parts"
        ),
        "too many parameters: at most 1000 are accepted"
    );

    // An empty storage key.
    assert_eq!(
        gms(server.post_form("/storage/60", &[("", "v")]), "empty key"),
        "a storage key must not be empty"
    );

    // None of this disturbed the server.
    assert_eq!(server.get("/admin/node/status").text(), "ONLINE");
    assert!(
        !server.log().contains("panicked"),
        "the server panicked:\n{}",
        server.log()
    );
}

#[test]
fn non_utf8_values_are_refused_with_a_400_naming_them() {
    let server = Server::start();
    let r = send(
        server
            .req("POST", "/storage/60")
            .set("Content-Type", "application/x-www-form-urlencoded"),
        Some(b"a=%FF%FE&b=\xff\xfe"),
    );
    r.assert_error(
        400,
        BAD_REQUEST,
        "the form parameter '%FF%FE' is not valid UTF-8; send binary data as a multipart file part",
    );
    let r = send(
        server
            .req("POST", "/service/request-interaction")
            .set("Content-Type", "application/x-www-form-urlencoded"),
        Some(b"first_name=%C3%28&_phone_number=\xff"),
    );
    r.assert_error(
        400,
        BAD_REQUEST,
        "the form parameter '%C3%28' is not valid UTF-8; send binary data as a multipart file part",
    );
    let r = send(
        server
            .req("POST", "/patterns")
            .set("Content-Type", "application/json"),
        Some(b"{\"a\":\"\xff\"}"),
    );
    assert!(
        r.gms_error(400, BAD_REQUEST)
            .starts_with("the request body is not valid JSON: "),
        "invalid UTF-8 in JSON"
    );
}

// ---- Known bugs ---------------------------------------------------------------------------

#[test]
fn get_service_does_not_echo_credentials() {
    let mut ini = ini_with_server_auth(None, None);
    ini.push_str(
        "\n[service.guarded]\n_type = builtin\n_service = get\nusername = svc\npassword = svcpw\nmotto = ok\n",
    );
    let mut server = Server::start_with_config(&ini);
    server.set_auth(Some(("svc", "svcpw")));
    assert_eq!(
        server.post_form("/service/guarded", &[]).ok_json(200),
        json!({"motto":"ok"})
    );
}

#[test]
fn non_utf8_form_value_is_rejected_not_mangled() {
    let server = Server::start();
    let r = send(
        server
            .req("POST", "/storage/60")
            .set("Content-Type", "application/x-www-form-urlencoded"),
        Some(b"a=%FF%FE"),
    );
    let message = r.gms_error(400, BAD_REQUEST);
    assert!(message.contains("UTF-8"), "{message}");
}

#[test]
fn unknown_route_outside_genesys_1_has_a_gms_body() {
    let server = Server::start();
    for path in ["/foo", "/genesys/2/chat/x", "/"] {
        let r = send(
            server.raw_req("GET", &format!("{}{path}", server.root)),
            None,
        );
        assert_eq!(r.gms_error(404, NOT_FOUND), format!("no API at GET {path}"));
    }
}

#[test]
fn wrong_method_on_a_known_path_is_405() {
    let server = Server::start();
    let r = send(server.req("DELETE", "/admin/node/status"), None);
    let message = r.gms_error(405, METHOD_NOT_ALLOWED);
    assert!(message.contains("DELETE"), "{message}");
}

#[test]
fn office_hours_service_lists_open_periods_in_utc_and_local_time() {
    let server = Server::start();
    // The sample's business-hours: America/Los_Angeles, Mon-Fri 08:00-18:00.
    let r = server.get("/service/business-hours?start=2026-11-24T00:00:00.000Z&number-of-days=1");
    assert_eq!(r.status, 200, "{}", r.text());
    let v: Value = serde_json::from_slice(&r.body).expect("JSON");
    assert_eq!(v["error"], Value::Null);
    assert_eq!(v["timezone"], "America/Los_Angeles");
    let periods: Vec<(String, String)> = v["periods"]
        .as_array()
        .expect("periods")
        .iter()
        .map(|p| {
            (
                str_field(p, "start").to_string(),
                str_field(p, "end").to_string(),
            )
        })
        .collect();
    assert_eq!(
        periods,
        [
            (
                "2026-11-24T00:00:00.000Z".to_string(),
                "2026-11-24T02:00:00.000Z".to_string()
            ),
            (
                "2026-11-24T16:00:00.000Z".to_string(),
                "2026-11-25T00:00:00.000Z".to_string()
            ),
        ]
    );
    // An imported rule calendar: its holiday closes the Tuesday, read in Los Angeles time.
    server
        .put_json(
            "/admin/services/closures",
            &json!({"_service":"office-hours","_timezone":"Asia/Tokyo","_holiday1":"2026-11-24"}),
        )
        .ok_json(200);
    server
        .put_json(
            "/admin/services/bh2",
            &json!({"_service":"office-hours","_timezone":"America/Los_Angeles",
                    "_bh_regular1":"Mon-Fri 08:00-18:00","_import_rule1":"closures"}),
        )
        .ok_json(200);
    let v = server
        .get("/service/bh2?start=2026-11-24T00:00:00.000Z&number-of-days=1")
        .ok_json(200);
    assert_eq!(v["periods"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(v["periods"][0]["end"], "2026-11-24T02:00:00.000Z");
    // An import must name an office-hours service.
    server
        .put_json(
            "/admin/services/bh3",
            &json!({"_service":"office-hours","_import_schedule1":"request-interaction"}),
        )
        .assert_error(
            400,
            BAD_REQUEST,
            "service 'bh3' is invalid: invalid option _import_schedule1: 'request-interaction' is \
             not an office-hours service",
        );

    let bad = server.get("/service/business-hours?start=garbage");
    assert_eq!(bad.status, 400);
    let e: Value = serde_json::from_slice(&bad.body).expect("JSON");
    assert_eq!(
        e["message"],
        "invalid parameter start: 'garbage' is not an ISO-8601 date-time"
    );
}

#[test]
fn capacity_service_lists_buckets_and_invalid_calendars_are_refused_at_configuration() {
    let server = Server::start();
    let r = server.get(
        "/service/capacity?start=2026-11-24T08:00:00.000&end=2026-11-24T08:15:00.000&timezone=UTC",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v: Value = serde_json::from_slice(&r.body).expect("JSON");
    assert_eq!(v["durationMin"], 5);
    let slots: Vec<(String, u64)> = v["slots"]
        .as_array()
        .expect("slots")
        .iter()
        .map(|s| {
            (
                str_field(s, "utcTime").to_string(),
                s["capacity"].as_u64().expect("capacity"),
            )
        })
        .collect();
    assert_eq!(
        slots,
        [
            ("2026-11-24T08:00:00.000Z".to_string(), 5),
            ("2026-11-24T08:05:00.000Z".to_string(), 5),
            ("2026-11-24T08:10:00.000Z".to_string(), 5),
        ]
    );
    let bad = server.put_json(
        "/admin/services/late-hours",
        &serde_json::json!({"_type": "builtin", "_service": "office-hours", "_timezone": "Mars/Olympus"}),
    );
    assert_eq!(bad.status, 400, "{}", bad.text());
    let e: Value = serde_json::from_slice(&bad.body).expect("JSON");
    let msg = e["message"].as_str().expect("message");
    assert!(
        msg.starts_with("service 'late-hours' is invalid: invalid option _timezone"),
        "{msg}"
    );
}
