//! `GET /metrics` against the real server: the Prometheus text format with the HTTP requests by
//! route and status, store commit latency, and the live figures read at the scrape.

#[allow(dead_code)] // the harness is shared with the GMS API tests
mod common;

use common::{post_form, Server};

/// The value of the sample line `name{labels}` (or `name` alone), if the text has it.
fn sample(text: &str, line_start: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(line_start) && l[line_start.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[test]
fn metrics_count_requests_by_route_and_read_the_live_figures() {
    let server = Server::start();
    let made = post_form(
        server.req("POST", "/service/callback/callback-immediate"),
        &[("_customer_number", "5550601")],
    );
    assert_eq!(made.status, 200, "{}", made.text());
    assert_eq!(server.get("/service/callback/nope-such").status, 404);
    let r = common::send(
        server.raw_req("GET", &format!("{}/metrics", server.root)),
        None,
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = r.text();
    assert!(
        text.contains("# TYPE ringback_http_request_duration_seconds histogram"),
        "{text}"
    );
    let created = sample(
        &text,
        "ringback_http_request_duration_seconds_count{method=\"POST\",route=\"/genesys/1/service/callback/{name}\",status=\"200\"}",
    );
    assert_eq!(created, Some(1.0), "{text}");
    // Patterns, not raw paths: the unknown service is counted under its route with its 404.
    assert!(
        text.contains("route=\"/genesys/1/service/callback/{name}\",status=\"404\""),
        "{text}"
    );
    assert!(
        sample(&text, "ringback_store_commit_seconds_count").is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "ringback_callbacks{service=\"callback-immediate\",state=\"QUEUED\"}"
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(sample(&text, "ringback_live_sessions"), Some(1.0), "{text}");
    assert_eq!(
        sample(&text, "ringback_queue_items{queue=\"Callbacks\"}"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "ringback_cometd_sessions"),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "ringback_store_failed_commits_total"),
        Some(0.0),
        "{text}"
    );
}
