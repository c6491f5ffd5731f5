//! `GET /genesys/1/openapi.json` against the real server: an OpenAPI 3 document whose every
//! operation is a route the server has (each answered by its handler, not by the router's 404 or
//! 405), with the GMS error body as a schema. Schemathesis fuzzes the same document in CI
//! (`tests/openapi/run.sh`).

#[allow(dead_code)] // the harness is shared with the GMS API tests
mod common;

use common::{send, Server};
use serde_json::Value;

#[test]
fn every_documented_operation_is_a_route_of_the_server() {
    let server = Server::start();
    let r = send(
        server.raw_req("GET", &format!("{}/genesys/1/openapi.json", server.root)),
        None,
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type, "application/json");
    let doc = r.json();
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "{}",
        doc["openapi"]
    );
    let error = &doc["components"]["schemas"]["ErrorBody"]["properties"];
    for field in ["exception", "message", "code", "phrase"] {
        assert!(
            error.get(field).is_some(),
            "ErrorBody lacks {field}: {error}"
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["basic"]["scheme"],
        "basic"
    );
    let paths = doc["paths"].as_object().expect("paths");
    let mut operations = 0;
    for (path, item) in paths {
        for (method, op) in item.as_object().expect("a path item") {
            if !["get", "post", "put", "delete"].contains(&method.as_str()) {
                continue;
            }
            operations += 1;
            assert!(
                op["responses"]["4XX"]["content"]["application/json"]["schema"]["$ref"]
                    == "#/components/schemas/ErrorBody",
                "{method} {path} does not give the GMS error body for 4xx"
            );
            // Streams and long polls would hold the request open; a state change would stop
            // the server: their routes are checked by their own tests.
            if path.ends_with("/callback/events")
                || path.ends_with("/events")
                || path.contains("changestatus")
            {
                continue;
            }
            // Parameters the handler itself checks against a list get a name on it, so an
            // answer of "no API at" can only come from the router.
            let value = |param: &str| match param {
                "{action}" if path.contains("/interactions/") => "hangup",
                "{action}" if path.contains("/offers/") => "accept",
                "{action}" if path.starts_with("/ringback/1/agents/") => "ready",
                "{op}" => "refresh",
                "{report}" => "services",
                _ => "probe-x",
            };
            let concrete = path
                .split('/')
                .map(|s| if s.starts_with('{') { value(s) } else { s })
                .collect::<Vec<_>>()
                .join("/");
            let resp = send(
                server.raw_req(
                    &method.to_uppercase(),
                    &format!("{}{concrete}", server.root),
                ),
                None,
            );
            let body = resp.text();
            assert_ne!(resp.status, 405, "{method} {path}: {body}");
            assert!(
                !(resp.status == 404 && body.contains("no API at")),
                "{method} {path} is documented but not routed: {body}"
            );
            assert!(resp.status < 500, "{method} {path}: {} {body}", resp.status);
        }
    }
    assert!(operations >= 100, "only {operations} operations documented");
    let _: &Value = &doc["info"];
}
