//! Tools > Metrics against the real server: the metrics history recorded as callbacks, service
//! requests and access numbers come and go, reported per bucket (current to the second),
//! exported as CSV, kept across a graceful restart, behind `enable-metrics`, narrowed to a
//! Supervisor's services; bad parameters are 4xx with the GMS error body.

#[allow(dead_code)] // the harness is shared with the GMS API tests
mod common;

use std::time::{Duration, Instant};

use common::{
    add_user, send, wait_event, Resp, Scratch, Server, BAD_REQUEST, FORBIDDEN, NOT_FOUND,
};
use serde_json::Value;

fn config() -> String {
    format!(
        "{}\n[features]\nenable-metrics = true\n",
        common::sample_ini()
    )
}

fn rb(server: &Server, method: &str, path: &str) -> Resp {
    let url = format!("{}/ringback/1{path}", server.root);
    send(server.raw_req(method, &url), None)
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A report of the last ten minutes, by minute.
fn report(server: &Server, name: &str, extra: &str) -> Value {
    let start = now_ms() - 10 * 60_000;
    server
        .get(&format!(
            "/admin/metrics/{name}?rollup=1m&start={start}&end={}{extra}",
            now_ms() + 60_000
        ))
        .ok_json(200)
}

/// A column of a report, by name.
fn column(r: &Value, name: &str) -> Vec<Option<f64>> {
    let cols = r["columns"].as_array().expect("columns");
    let i = cols
        .iter()
        .position(|c| c == name)
        .unwrap_or_else(|| panic!("no column {name} in {r}"));
    r["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|row| row[i].as_f64())
        .collect()
}

fn total(r: &Value, name: &str) -> f64 {
    column(r, name).into_iter().flatten().sum()
}

fn highest(r: &Value, name: &str) -> f64 {
    column(r, name).into_iter().flatten().fold(0.0, f64::max)
}

fn state_of(server: &Server, id: &str) -> String {
    let list = server
        .get(&format!("/service/callback?_id={id}"))
        .ok_json(200);
    list[0]["_callback_state"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn wait_state(server: &Server, id: &str, state: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while state_of(server, id) != state {
        assert!(Instant::now() < deadline, "{id} never reached {state}");
    }
}

#[test]
fn reports_follow_callbacks_services_and_access_numbers_and_survive_a_restart() {
    let scratch = Scratch::new("reports");
    let config_file = scratch.path().join("ringback.ini");
    std::fs::write(&config_file, config()).expect("config written");
    let data = scratch.path().join("data");
    let server = Server::start_in(&data, Some(&config_file));

    // Three callbacks wait for an agent (nobody is ready).
    let mut ids = Vec::new();
    for n in ["5550701", "5550702", "5550703"] {
        let made = server
            .post_form(
                "/service/callback/callback-immediate",
                &[("_customer_number", n)],
            )
            .ok_json(200);
        ids.push(made["_id"].as_str().expect("_id").to_owned());
    }
    for id in &ids {
        wait_state(&server, id, "QUEUED");
    }
    // Two access numbers booked, one matched by the customer's call.
    let mut booked = Vec::new();
    for phone in ["6505550001", "6505550002"] {
        let ri = server
            .post_form("/service/request-interaction", &[("_phone_number", phone)])
            .ok_json(200);
        booked.push(ri["_access_number"].as_str().expect("number").to_owned());
    }
    server
        .post_form(
            "/service/match-interaction",
            &[
                ("_access_number", &booked[0]),
                ("_phone_number", "6505550001"),
            ],
        )
        .ok_json(200);

    // The catalogue names what can be reported.
    let cat = server.get("/admin/metrics").ok_json(200);
    assert_eq!(
        cat["reports"],
        serde_json::json!([
            "callbacks",
            "watermark",
            "holdtime",
            "services",
            "resources"
        ])
    );
    assert_eq!(cat["resource_groups"], serde_json::json!(["DNIS"]));
    assert_eq!(cat["retention_days"], 31);
    let chat = cat["services"]
        .as_array()
        .expect("services")
        .iter()
        .find(|s| s["name"] == "chat-immediate")
        .expect("chat-immediate is listed");
    assert_eq!(
        (&chat["callback"], &chat["media"]),
        (&Value::Bool(true), &Value::from("chat"))
    );

    // Current to the second: nothing had to be stored first.
    let w = report(&server, "watermark", "&service=callback-immediate");
    assert_eq!(
        w["columns"],
        serde_json::json!(["time", "min", "avg", "max"])
    );
    assert_eq!(highest(&w, "max"), 3.0, "{w}");
    let c = report(&server, "callbacks", "");
    assert_eq!(highest(&c, "QUEUED"), 3.0, "{c}");
    let s = report(&server, "services", "");
    assert_eq!(total(&s, "callback-immediate"), 3.0, "{s}");
    assert_eq!(total(&s, "request-interaction"), 2.0, "{s}");
    assert_eq!(total(&s, "match-interaction"), 1.0, "{s}");
    assert_eq!(total(&s, "callback-delayed"), 0.0, "{s}");
    let r = report(&server, "resources", "&group=DNIS");
    assert_eq!(highest(&r, "in_use"), 2.0, "{r}");
    assert_eq!(total(&r, "match"), 1.0, "{r}");
    assert_eq!(total(&r, "timeout"), 0.0, "{r}");
    assert_eq!(highest(&r, "total"), 10.0, "{r}");
    assert!(
        column(&r, "aht_seconds").into_iter().flatten().count() == 1,
        "one bucket holds the match's handle time: {r}"
    );
    // No hold time yet: nobody has been found an agent.
    let h = report(&server, "holdtime", "");
    assert_eq!(total(&h, "count"), 0.0, "{h}");

    // An agent takes one: its wait is a hold time, and QUEUED goes down.
    let since = rb(&server, "POST", "/agents/alice/login").ok_json(200)["last_event"]
        .as_u64()
        .expect("last_event");
    rb(&server, "POST", "/agents/alice/ready").ok_json(200);
    let (offer, _) = wait_event(&server, "alice", since, "offer");
    let offer_id = offer["offer"].as_str().expect("offer id");
    rb(
        &server,
        "POST",
        &format!("/agents/alice/offers/{offer_id}/accept"),
    )
    .ok_json(200);
    let taken = offer["user_data"]["GMS_ServiceID"]
        .as_str()
        .expect("the offer names its callback")
        .to_owned();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !matches!(state_of(&server, &taken).as_str(), "ROUTING" | "PROCESSING") {
        assert!(Instant::now() < deadline, "{taken} never reached an agent");
    }
    let h = report(&server, "holdtime", "&media=voice");
    assert_eq!(total(&h, "count"), 1.0, "{h}");
    assert!(highest(&h, "max_seconds") > 0.0, "{h}");
    // A chat-only report has no voice callback's hold time.
    let h = report(&server, "holdtime", "&media=chat");
    assert_eq!(total(&h, "count"), 0.0, "{h}");
    // The minute's high stays 3, and the callback taken shows in its new state.
    let c = report(&server, "callbacks", "");
    assert_eq!(highest(&c, "QUEUED"), 3.0, "{c}");
    assert_eq!(
        highest(&c, "ROUTING").max(highest(&c, "PROCESSING")),
        1.0,
        "{c}"
    );
    assert_eq!(
        column(&c, "SCHEDULED").into_iter().flatten().sum::<f64>(),
        0.0,
        "{c}"
    );

    // CSV: a download with a header and one line per bucket.
    let start = now_ms() - 10 * 60_000;
    let csv = server.get(&format!(
        "/admin/metrics/services?rollup=15m&start={start}&format=csv"
    ));
    assert_eq!(csv.status, 200);
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    assert!(csv
        .header("content-disposition")
        .is_some_and(|d| d.starts_with("attachment; filename=\"ringback-services-")));
    let text = csv.text();
    let header = text.lines().next().expect("a header");
    assert!(header.starts_with("time,"), "{text}");
    assert!(header.contains("callback-immediate"), "{text}");
    assert!(
        text.lines()
            .skip(1)
            .all(|l| l.contains("T") && l.contains('Z')),
        "{text}"
    );

    // A graceful stop stores the minute in progress; the restarted server reports it.
    let mut server = server;
    let stop = server.post_form("/admin/node/changestatus/SHUTDOWN", &[]);
    assert_eq!(stop.status, 200, "{}", stop.text());
    assert!(server.wait_exit(Duration::from_secs(20)).success());
    let again = Server::start_in(&data, Some(&config_file));
    let s = report(&again, "services", "");
    assert_eq!(total(&s, "callback-immediate"), 3.0, "{s}");
    assert_eq!(total(&s, "request-interaction"), 2.0, "{s}");
    let r = report(&again, "resources", "&group=DNIS");
    assert_eq!(total(&r, "match"), 1.0, "{r}");
}

#[test]
fn bad_report_parameters_are_4xx_with_the_gms_body() {
    let server = Server::start_with_config(&config());
    let start = now_ms() - 3_600_000;
    server.get("/admin/metrics/nonsense").assert_error(
        404,
        NOT_FOUND,
        "no report 'nonsense': the reports are callbacks, watermark, holdtime, services, resources",
    );
    server
        .get(&format!("/admin/metrics/services?start={start}&rollup=7m"))
        .assert_error(
            400,
            BAD_REQUEST,
            "rollup '7m' is not one of 1m, 15m, 30m, 1h, 1d",
        );
    server
        .get("/admin/metrics/services?start=yesterday")
        .assert_error(
        400,
        BAD_REQUEST,
        "start 'yesterday' is not a time (milliseconds, or ISO 8601 such as 2026-12-06T09:30:00Z)",
    );
    server
        .get("/admin/metrics/services?start=2026-12-06T10:00:00Z&end=2026-12-06T09:00:00Z")
        .assert_error(
            400,
            BAD_REQUEST,
            "the report's end (2026-12-06T09:00:00.000Z) is not after its start (2026-12-06T10:00:00.000Z)",
        );
    server
        .get("/admin/metrics/services?start=2026-10-01&end=2026-12-01&rollup=1m")
        .assert_error(
            400,
            BAD_REQUEST,
            "a report holds at most 20000 buckets: choose a longer rollup than 1m or a shorter range",
        );
    server
        .get("/admin/metrics/services?timezone=Mars/Olympus")
        .assert_error(
            400,
            BAD_REQUEST,
            "timezone 'Mars/Olympus' is not a time zone",
        );
    server
        .get("/admin/metrics/services?service=no-such")
        .assert_error(404, NOT_FOUND, "service 'no-such' does not exist");
    server.get("/admin/metrics/resources").assert_error(
        400,
        BAD_REQUEST,
        "the resources report needs a resource group (group=)",
    );
    // Days follow the time zone asked for: midnight in Paris, not in UTC.
    let d = server
        .get("/admin/metrics/services?start=2026-07-01&end=2026-07-03&rollup=1d&timezone=Europe/Paris")
        .ok_json(200);
    let times: Vec<i64> = d["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r[0].as_i64().expect("time"))
        .collect();
    let paris_midnight = |day: u32| {
        chrono::DateTime::parse_from_rfc3339(&format!("2026-07-{day:02}T00:00:00+02:00"))
            .expect("a time")
            .timestamp_millis()
    };
    assert_eq!(times, [paris_midnight(1), paris_midnight(2)]);
}

#[test]
fn metrics_are_behind_their_switch_and_a_supervisor_sees_only_its_services() {
    let scratch = Scratch::new("reports-roles");
    let config_file = scratch.path().join("ringback.ini");
    std::fs::write(&config_file, config()).expect("config written");
    let data = scratch.path().join("data");
    add_user(
        &data,
        "sam",
        "Supervisor",
        "callback-immediate",
        "super-pass-1",
    );
    add_user(&data, "rob", "CallbackReadOnly", "", "reader-pass-1");
    let mut server = Server::start_in(&data, Some(&config_file));
    server
        .post_form(
            "/service/callback/callback-delayed",
            &[("_customer_number", "5550801")],
        )
        .ok_json(200);
    server.set_auth(Some(("sam", "super-pass-1")));
    let cat = server.get("/admin/metrics").ok_json(200);
    let names: Vec<&str> = cat["services"]
        .as_array()
        .expect("services")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(names, ["callback-immediate"]);
    let s = report(&server, "services", "");
    assert_eq!(
        s["columns"],
        serde_json::json!(["time", "callback-immediate"]),
        "{s}"
    );
    // Another service's figures read as a service that does not exist.
    server
        .get("/admin/metrics/services?service=callback-delayed")
        .assert_error(404, NOT_FOUND, "service 'callback-delayed' does not exist");
    let c = report(&server, "callbacks", "");
    assert_eq!(
        highest(&c, "QUEUED"),
        0.0,
        "the other service's callback is not counted: {c}"
    );
    // CallbackReadOnly reads callbacks and nothing else.
    server.set_auth(Some(("rob", "reader-pass-1")));
    assert_eq!(server.get("/admin/metrics").status, 403);

    // With the switch off, the panel's endpoints refuse users.
    drop(server);
    let off = scratch.path().join("off.ini");
    std::fs::write(&off, common::sample_ini_default_features()).expect("config written");
    let off_data = scratch.path().join("off");
    add_user(&off_data, "ann", "Administrator", "", "admin-pass-1");
    let mut server = Server::start_in(&off_data, Some(&off));
    server.set_auth(Some(("ann", "admin-pass-1")));
    let r = server.get("/admin/metrics/services");
    assert_eq!(
        r.gms_error(403, FORBIDDEN),
        "the Metrics panel is off: [features] enable-metrics = false"
    );
}
