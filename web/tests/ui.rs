//! The Service Management UI's server side against the real server: the hub page and its
//! modules (content types, the Content-Security-Policy, revalidation), the Monitor tab's nodes
//! (a real second node and one that is down), services created from a template, and no Basic
//! challenge for the page's own requests. The page itself is tested in a browser by
//! `tests/ui/run.sh`.

#[allow(dead_code)] // the harness is shared with the GMS API tests
mod common;

use common::{send, Server, BAD_REQUEST, UNAUTHORIZED};
use serde_json::{json, Value};

fn post_json(server: &Server, path: &str, body: &Value) -> common::Resp {
    send(
        server
            .req("POST", path)
            .set("Content-Type", "application/json"),
        Some(body.to_string().as_bytes()),
    )
}

fn raw_get(server: &Server, path: &str) -> common::Resp {
    send(
        server.raw_req("GET", &format!("{}{path}", server.root)),
        None,
    )
}

#[test]
fn the_hub_page_and_every_module_it_names_are_served_with_their_types() {
    let server = Server::start();
    let to_hub = raw_get(&server, "/genesys");
    assert_eq!(to_hub.status, 301);
    assert_eq!(to_hub.header("location"), Some("/genesys/"));
    for old in ["/genesys/admin/login.jsp", "/genesys/develop/index.html"] {
        assert_eq!(
            raw_get(&server, old).header("location"),
            Some("/genesys/"),
            "{old}"
        );
    }

    let page = raw_get(&server, "/genesys/");
    assert_eq!(page.status, 200);
    assert_eq!(page.content_type, "text/html");
    let csp = page.header("content-security-policy").expect("a CSP");
    assert!(csp.contains("default-src 'self'"), "{csp}");
    assert!(csp.contains("script-src 'self' 'sha256-"), "{csp}");
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    let html = page.text();

    // Every file the page names: its stylesheet, its entry module, the import map's libraries.
    let named: Vec<&str> = html
        .split('"')
        .filter(|s| s.starts_with("/genesys/ui/"))
        .collect();
    assert!(named.len() >= 6, "{named:?}");
    for path in &named {
        let r = raw_get(&server, path);
        assert_eq!(r.status, 200, "{path}");
        let expected = match path.rsplit_once('.').map(|(_, e)| e) {
            Some("js") => "text/javascript",
            Some("css") => "text/css",
            Some("svg") => "image/svg+xml",
            other => panic!("unexpected file type {other:?} for {path}"),
        };
        assert_eq!(r.content_type, expected, "{path}");
        assert_eq!(
            r.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
    }
    // The entry module's own imports are there too.
    let app = raw_get(&server, "/genesys/ui/app.js").text();
    for import in app
        .lines()
        .filter_map(|l| l.split("from './").nth(1))
        .filter_map(|l| l.split('\'').next())
    {
        assert_eq!(
            raw_get(&server, &format!("/genesys/ui/{import}")).status,
            200,
            "{import}"
        );
    }

    let missing = raw_get(&server, "/genesys/ui/no-such.js");
    assert_eq!(missing.status, 404);
    let escape = raw_get(&server, "/genesys/ui/../Cargo.toml");
    assert_ne!(escape.status, 200);
}

#[test]
fn an_unchanged_file_is_revalidated_with_304() {
    let server = Server::start();
    let first = raw_get(&server, "/genesys/ui/app.js");
    let tag = first.header("etag").expect("an ETag").to_owned();
    assert_eq!(first.header("cache-control"), Some("no-cache"));
    let again = send(
        server
            .raw_req("GET", &format!("{}/genesys/ui/app.js", server.root))
            .set("If-None-Match", &tag),
        None,
    );
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    let other = send(
        server
            .raw_req("GET", &format!("{}/genesys/ui/app.js", server.root))
            .set("If-None-Match", "\"something-else\""),
        None,
    );
    assert_eq!(other.status, 200);
}

#[test]
fn the_monitor_lists_this_node_and_the_cluster_up_and_down() {
    // Both nodes ask for the same credentials, as the nodes of one GMS cluster do.
    let creds = "[server]\nusername = default\npassword = secret-1\n";
    let peer = Server::start_with_config(&format!("{}\n{creds}", common::sample_ini()));
    // A port nothing listens on: a node that is down.
    let down = "http://127.0.0.1:9";
    let mut server = Server::start_with_config(&format!(
        "{}\n{creds}[cluster]\nnodes = {}/, {down}\n",
        common::sample_ini(),
        peer.root
    ));
    assert_eq!(server.get("/admin/nodes").status, 401);
    server.set_auth(Some(("default", "secret-1")));
    let r = server.get("/admin/nodes");
    assert_eq!(r.status, 200, "{}", r.text());
    let nodes = r.json()["nodes"].as_array().cloned().expect("nodes");
    assert_eq!(nodes.len(), 3, "{nodes:?}");
    assert_eq!(nodes[0]["self"], true);
    assert_eq!(nodes[0]["status"], "ONLINE");
    assert_eq!(nodes[0]["node_id"], "1");
    assert_eq!(nodes[0]["url"], server.root.as_str());
    assert_eq!(nodes[1]["url"], peer.root.as_str());
    assert_eq!(nodes[1]["status"], "ONLINE", "{nodes:?}");
    assert_eq!(nodes[2]["url"], down);
    assert_eq!(nodes[2]["status"], "DOWN");
    assert!(nodes[2]["detail"].is_string(), "{nodes:?}");

    // A node taken offline through the Node API shows OFFLINE.
    let mut peer = peer;
    peer.set_auth(Some(("default", "secret-1")));
    assert_eq!(
        send(peer.req("POST", "/admin/node/changestatus/OFFLINE"), None).status,
        200
    );
    let nodes = server.get("/admin/nodes").json()["nodes"].clone();
    assert_eq!(nodes[1]["status"], "OFFLINE");
}

#[test]
fn a_service_is_created_from_a_template_and_its_common_default_configuration() {
    let server = Server::start();
    let template = server.get("/admin/templates/callback").json();
    let preset = template["presets"][1]["name"]
        .as_str()
        .expect("the callback template has presets")
        .to_owned();
    let made = post_json(
        &server,
        "/admin/services/cb-new",
        &json!({"template": "callback", "preset": preset}),
    );
    assert_eq!(made.status, 201, "{}", made.text());
    let options = made.json();
    assert_eq!(options["_type"], "ors");
    assert_eq!(options["_service"], "callback");
    for (name, value) in template["presets"][1]["values"]
        .as_object()
        .expect("preset values")
    {
        assert_eq!(&options[name], value, "{name}");
    }
    assert_eq!(server.get("/admin/services/cb-new").json(), options);

    let again = post_json(
        &server,
        "/admin/services/cb-new",
        &json!({"template": "get"}),
    );
    assert_eq!(again.status, 409);
    assert!(again.text().contains("exists already"), "{}", again.text());

    let unknown = post_json(&server, "/admin/services/x", &json!({"template": "nope"}));
    assert_eq!(unknown.status, 400);
    assert_eq!(unknown.json()["exception"], BAD_REQUEST);
    let bad_preset = post_json(
        &server,
        "/admin/services/x",
        &json!({"template": "callback", "preset": "No Such"}),
    );
    assert_eq!(bad_preset.status, 400);
    assert!(
        bad_preset.text().contains("No Such"),
        "{}",
        bad_preset.text()
    );
    let none = post_json(&server, "/admin/services/x", &json!({}));
    assert_eq!(none.status, 400);
    assert!(none.text().contains("template"), "{}", none.text());
    let bad_name = post_json(
        &server,
        "/admin/services/a%20b",
        &json!({"template": "get"}),
    );
    assert_eq!(bad_name.status, 400);
    assert_eq!(server.get("/admin/services/x").status, 404);
}

#[test]
fn the_pages_own_requests_get_no_basic_challenge() {
    let server = Server::start_with_config(&format!(
        "{}\n[server]\nusername = default\npassword = secret-1\n",
        common::sample_ini()
    ));
    let api = server.get("/admin/services");
    assert_eq!(api.status, 401);
    assert!(api.header("www-authenticate").is_some());
    let ui = send(
        server
            .req("GET", "/admin/services")
            .set("X-Requested-With", "XMLHttpRequest"),
        None,
    );
    assert_eq!(ui.status, 401);
    assert_eq!(ui.json()["exception"], UNAUTHORIZED);
    assert!(ui.header("www-authenticate").is_none());
}

/// Reads server-sent events until one named `name` whose data contains `needle`; its data.
fn next_event(lines: &mut impl std::io::BufRead, name: &str, needle: &str) -> Value {
    let mut current = String::new();
    loop {
        let mut line = String::new();
        let n = lines.read_line(&mut line).expect("the event stream reads");
        assert!(
            n > 0,
            "the event stream ended before a '{name}' event with {needle}"
        );
        let line = line.trim_end();
        if let Some(e) = line.strip_prefix("event: ") {
            current = e.to_owned();
        } else if let Some(data) = line.strip_prefix("data: ") {
            if current == name && data.contains(needle) {
                return serde_json::from_str(data).expect("event data is JSON");
            }
        }
    }
}

#[test]
fn the_callback_panel_hears_changes_of_the_services_its_user_sees() {
    let scratch = common::Scratch::new("panel");
    let data = scratch.path().join("data");
    common::add_user(&data, "ann", "Administrator", "", "ann-pw");
    common::add_user(&data, "sam", "Supervisor", "callback-immediate", "sam-pw");
    let config = scratch.path().join("ringback.ini");
    std::fs::write(
        &config,
        format!(
            "{}\n[callback]\ncallback_column_alias = {{\"_LOB\": \"Line Of Business\"}}\n",
            common::sample_ini()
        ),
    )
    .expect("config written");
    let mut server = Server::start_in(&data, Some(&config));

    server.set_auth(Some(("sam", "sam-pw")));
    let settings = server.get("/admin/callback/settings").json();
    assert_eq!(settings["services"], json!(["callback-immediate"]));
    assert_eq!(
        settings["column_alias"],
        json!({"_LOB": "Line Of Business"})
    );
    assert!(settings["states"]
        .as_array()
        .expect("states")
        .contains(&json!("PAUSED")));

    let stream = server
        .req("GET", "/admin/callback/events")
        .call()
        .expect("the event stream opens");
    assert_eq!(stream.content_type(), "text/event-stream");
    let mut lines = std::io::BufReader::new(stream.into_reader());
    next_event(&mut lines, "ready", "");

    // Changes to another service are not told to sam; those to its own are.
    server.set_auth(Some(("ann", "ann-pw")));
    let hidden = common::post_form(
        server.req("POST", "/service/callback/callback-delayed"),
        &[("_customer_number", "5550401")],
    );
    assert_eq!(hidden.status, 200, "{}", hidden.text());
    let mine = common::post_form(
        server.req("POST", "/service/callback/callback-immediate"),
        &[("_customer_number", "5550402"), ("_LOB", "Sales")],
    );
    assert_eq!(mine.status, 200, "{}", mine.text());
    let id = mine.json()["_id"].as_str().expect("an id").to_owned();
    let heard = next_event(&mut lines, "callback", &id);
    assert_eq!(heard["_service_name"], "callback-immediate");
    assert_eq!(heard["_customer_number"], "5550402");
    assert_eq!(heard["_LOB"], "Sales");
    let cancel = server.delete(&format!("/service/callback/callback-immediate/{id}"));
    assert_eq!(cancel.status, 200, "{}", cancel.text());
    let done = next_event(&mut lines, "callback", "COMPLETED");
    assert_eq!(done["_id"], id.as_str());
    assert_eq!(done["_callback_reason"], "CANCELLED");

    // Diagnostics: of a callback sam sees, and 404 for one it does not.
    let queued = common::post_form(
        server.req("POST", "/service/callback/callback-immediate"),
        &[("_customer_number", "5550403")],
    )
    .json()["_id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let hidden_id = hidden.json()["_id"].as_str().expect("an id").to_owned();
    server.set_auth(Some(("sam", "sam-pw")));
    let d = server.get(&format!("/admin/callback/diagnostics/{queued}"));
    assert_eq!(d.status, 200, "{}", d.text());
    let d = d.json();
    assert_eq!(d["callback_type"], "USER_TERMINATED_IMMEDIATE");
    assert_eq!(d["service"], "callback-immediate");
    assert_eq!(d["routing_target"], "Agents@StatServer.GA");
    assert!(
        d["accepted"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{d}"
    );
    let refused = server.get(&format!("/admin/callback/diagnostics/{hidden_id}"));
    assert_eq!(refused.status, 404);
    assert_eq!(server.get("/admin/callback/diagnostics/nope").status, 404);
}

#[test]
fn a_stopping_server_ends_its_event_streams_at_once() {
    let mut server = Server::start();
    let stream = server
        .req("GET", "/admin/callback/events")
        .call()
        .expect("the event stream opens");
    let mut lines = std::io::BufReader::new(stream.into_reader());
    next_event(&mut lines, "ready", "");
    let stop = send(
        server.one_shot("POST", "/admin/node/changestatus/SHUTDOWN"),
        None,
    );
    assert_eq!(stop.status, 200);
    // The stream ends (rather than holding the graceful stop for its 10 s).
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut lines, &mut rest).expect("the stream ends cleanly");
    let status = server.wait_exit(std::time::Duration::from_secs(8));
    assert!(status.success(), "{status:?}");
}

#[test]
fn the_tools_list_every_resource_group_and_pattern_group() {
    let server = Server::start();
    let groups = server.get("/admin/resources").json();
    let dnis = &groups["DNIS"];
    assert_eq!(dnis["total"], 10, "{groups}");
    assert_eq!(dnis["available"], 10);
    assert_eq!(dnis["allocation"], "round-robin");
    assert_eq!(server.get("/admin/resources/DNIS").json(), *dnis);
    let made = server.put_json(
        "/admin/resources/Extra",
        &json!({"numbers": ["6504660001", "6504660002"], "allocation": "random"}),
    );
    assert_eq!(made.status, 200, "{}", made.text());
    let groups = server.get("/admin/resources").json();
    assert_eq!(
        groups
            .as_object()
            .map(|m| m.keys().cloned().collect::<Vec<_>>()),
        Some(vec!["DNIS".to_owned(), "Extra".to_owned()])
    );
    assert_eq!(groups["Extra"]["total"], 2);

    let patterns = server.get("/admin/patterns").json();
    assert_eq!(
        patterns["default"]["local_number"], "\\d{3}-\\d{4}",
        "{patterns}"
    );
    assert_eq!(
        server.get("/admin/patterns/default").json(),
        patterns["default"]
    );
}

#[test]
fn the_download_dfm_list_names_every_strategy_document_and_where_it_downloads() {
    let server = Server::start();
    let docs = server.get("/admin/documents").json();
    let docs = docs.as_array().expect("a list");
    let find = |template: &str, file: &str| {
        docs.iter()
            .find(|d| d["template"] == template && d["file"] == file)
            .cloned()
            .unwrap_or_else(|| panic!("{template}/{file} is not listed: {docs:?}"))
    };
    for (template, file) in [
        ("callback", "user-terminated-delayed.scxml"),
        ("callback", "chat-immediate.scxml"),
        ("strategies", "default-inbound.scxml"),
    ] {
        let d = find(template, file);
        let url = d["url"].as_str().expect("a url");
        let served = raw_get(&server, url);
        assert_eq!(served.status, 200, "{url}");
        assert_eq!(Some(served.body.len() as u64), d["bytes"].as_u64(), "{url}");
        assert!(served.text().contains("<scxml"), "{url}");
    }
}

#[test]
fn the_sample_is_served_when_its_switch_is_on_and_may_be_framed_by_the_hub() {
    let off = Server::start_with_config(&common::sample_ini_default_features());
    let r = raw_get(&off, "/genesys/sample/");
    assert_eq!(r.status, 404);
    assert_eq!(
        r.text(),
        "the JavaScript sample is off: [features] enable-sample = false"
    );

    let server = Server::start_with_config(&format!(
        "{}\n[features]\nenable-sample = true\n",
        common::sample_ini()
    ));
    let to_sample = raw_get(&server, "/genesys/sample");
    assert_eq!(to_sample.status, 301);
    assert_eq!(to_sample.header("location"), Some("/genesys/sample/"));
    let page = raw_get(&server, "/genesys/sample/");
    assert_eq!(page.status, 200);
    assert_eq!(page.content_type, "text/html");
    let csp = page.header("content-security-policy").expect("a CSP");
    assert!(
        csp.contains("script-src 'self';"),
        "no inline scripts: {csp}"
    );
    assert!(csp.contains("frame-ancestors 'self'"), "{csp}");
    assert_eq!(page.header("x-frame-options"), Some("SAMEORIGIN"));
    // The page's files, and the modules they import, down to the vendored CometD client.
    let mut todo: Vec<String> = page
        .text()
        .split('"')
        .filter(|s| s.ends_with(".js") || s.ends_with(".css"))
        .map(str::to_owned)
        .collect();
    let mut seen = Vec::new();
    while let Some(path) = todo.pop() {
        if seen.contains(&path) {
            continue;
        }
        let r = raw_get(&server, &format!("/genesys/sample/{path}"));
        assert_eq!(r.status, 200, "{path}");
        let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
        if path.ends_with(".js") {
            assert_eq!(r.content_type, "text/javascript", "{path}");
            for import in r
                .text()
                .lines()
                .filter_map(|l| l.split_once(" from ").map(|(_, f)| f))
                .filter_map(|f| f.split(['"', '\'']).nth(1))
                .filter(|s| s.starts_with("./"))
            {
                let joined = if dir.is_empty() {
                    import[2..].to_owned()
                } else {
                    format!("{dir}/{}", &import[2..])
                };
                todo.push(joined);
            }
        } else {
            assert_eq!(r.content_type, "text/css", "{path}");
        }
        seen.push(path);
    }
    assert!(
        seen.iter().any(|p| p.ends_with("vendor/cometd/cometd.js")),
        "{seen:?}"
    );
    assert_eq!(raw_get(&server, "/genesys/sample/no-such.js").status, 404);
}
