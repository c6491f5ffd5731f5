//! Users of the UI and the API against the real server: made with `ringback user add`, they
//! authenticate with HTTP Basic and their role decides what the admin and callback APIs let
//! them do; the customers' callback API stays as it was.

#[allow(dead_code)] // the harness is shared with the GMS API tests
mod common;

use common::{add_user, Scratch, Server, FORBIDDEN, UNAUTHORIZED};
use serde_json::json;

#[test]
fn a_server_without_users_says_it_is_open() {
    let server = Server::start();
    assert!(
        server
            .log()
            .contains("no users and no [server] password: the admin API is open"),
        "{}",
        server.log()
    );
    assert_eq!(server.get("/admin/services").status, 200);
}

#[test]
fn roles_decide_what_users_may_do_and_the_customers_api_stays_open() {
    let scratch = Scratch::new("users");
    let data = scratch.path().join("data");
    add_user(&data, "ann", "Administrator", "", "ann-pw");
    add_user(&data, "bob", "Supervisor", "", "bob-pw");
    add_user(&data, "cy", "CallbackReadOnly", "", "cy-pw");
    let mut server = Server::start_in(&data, None);
    assert!(
        server
            .log()
            .contains("3 user(s): the admin API needs one of them"),
        "{}",
        server.log()
    );

    // Without credentials the admin API is refused; a customer's app still creates callbacks.
    let r = server.get("/admin/services");
    r.assert_error(
        401,
        UNAUTHORIZED,
        "this server has users: log in (POST /genesys/1/admin/login) or send one of them with HTTP Basic",
    );
    assert_eq!(
        r.header("WWW-Authenticate"),
        Some("Basic realm=\"genesys\"")
    );
    let created = server
        .post_form(
            "/service/callback/callback-immediate",
            &[("_customer_number", "5551234")],
        )
        .ok_json(200);
    let id = created["_id"].as_str().expect("an _id").to_owned();

    let svc = json!({"_type":"builtin","_service":"request-interaction"});
    // Administrator: everything.
    server.set_auth(Some(("ann", "ann-pw")));
    assert_eq!(server.get("/admin/services").status, 200);
    server.put_json("/admin/services/ri-ann", &svc).ok_json(200);

    // Supervisor: reads the configuration, works callbacks, changes no configuration.
    server.set_auth(Some(("bob", "bob-pw")));
    assert_eq!(server.get("/admin/services").status, 200);
    server
        .put_json("/admin/services/ri-bob", &svc)
        .assert_error(
            403,
            FORBIDDEN,
            "bob (Supervisor) may not administer this server",
        );
    assert_eq!(
        server.get("/admin/callback/queues").status,
        200,
        "the Callback panel's query"
    );
    server
        .post_form(
            "/service/callback/callback-immediate",
            &[("_customer_number", "5551235")],
        )
        .ok_json(200);

    // CallbackReadOnly: reads callbacks and nothing else.
    server.set_auth(Some(("cy", "cy-pw")));
    assert_eq!(server.get("/admin/callback/queues").status, 200);
    let one = server.get(&format!("/service/callback/callback-immediate/{id}"));
    assert_eq!(one.status, 200, "{}", one.text());
    server.get("/admin/services").assert_error(
        403,
        FORBIDDEN,
        "cy (CallbackReadOnly) may not read the configuration",
    );
    server
        .post_form(
            "/service/callback/callback-immediate",
            &[("_customer_number", "5551236")],
        )
        .assert_error(
            403,
            FORBIDDEN,
            "cy (CallbackReadOnly) may not create, change or cancel callbacks",
        );
    server
        .delete(&format!("/service/callback/callback-immediate/{id}"))
        .assert_error(
            403,
            FORBIDDEN,
            "cy (CallbackReadOnly) may not create, change or cancel callbacks",
        );

    // A wrong password is refused like an unknown name; repeated failures lock the pair out,
    // even with the right password, and say when to come back.
    server.set_auth(Some(("ann", "wrong")));
    for _ in 0..engine::users::MAX_FAILURES {
        server.get("/admin/services").assert_error(
            401,
            UNAUTHORIZED,
            "invalid username or password",
        );
    }
    server.set_auth(Some(("ann", "ann-pw")));
    let locked = server.get("/admin/services");
    assert_eq!(locked.status, 429, "{}", locked.text());
    let wait: u64 = locked
        .header("Retry-After")
        .expect("a Retry-After header")
        .parse()
        .expect("seconds");
    assert!((1..=300).contains(&wait), "{wait}");
    // Another user is not affected.
    server.set_auth(Some(("bob", "bob-pw")));
    assert_eq!(server.get("/admin/services").status, 200);
}

#[test]
fn a_service_list_narrows_what_a_user_sees_by_name_or_virtual_group() {
    let scratch = Scratch::new("users-scope");
    let data = scratch.path().join("data");
    add_user(&data, "ann", "Administrator", "", "ann-pw");
    add_user(&data, "sam", "Supervisor", "callback-immediate", "pw");
    add_user(&data, "gus", "Supervisor", "support", "pw");
    let mut server = Server::start_in(&data, None);
    server.set_auth(Some(("ann", "ann-pw")));
    server
        .put_json(
            "/admin/services/cb-support",
            &json!({"_type":"ors","_service":"callback","_service_groups":"'support', vip"}),
        )
        .ok_json(200);
    for (service, number) in [
        ("callback-immediate", "5550001"),
        ("callback-delayed", "5550002"),
        ("cb-support", "5550003"),
    ] {
        server
            .post_form(
                &format!("/service/callback/{service}"),
                &[("_customer_number", number)],
            )
            .ok_json(200);
    }
    let names = |v: serde_json::Value| -> Vec<String> {
        v.as_object().expect("an object").keys().cloned().collect()
    };
    let services_of = |v: serde_json::Value| -> Vec<String> {
        let mut s: Vec<String> = v
            .as_array()
            .expect("an array")
            .iter()
            .map(|r| r["_service_name"].as_str().expect("a service").to_owned())
            .collect();
        s.sort();
        s.dedup();
        s
    };
    assert!(names(server.get("/admin/services").ok_json(200)).len() > 3);
    assert_eq!(
        services_of(server.get("/service/callback").ok_json(200)),
        ["callback-delayed", "callback-immediate", "cb-support"]
    );

    for (user, sees, hidden) in [
        ("sam", "callback-immediate", "cb-support"),
        ("gus", "cb-support", "callback-immediate"),
    ] {
        server.set_auth(Some((user, "pw")));
        assert_eq!(names(server.get("/admin/services").ok_json(200)), [sees]);
        assert_eq!(server.get(&format!("/admin/services/{sees}")).status, 200);
        server
            .get(&format!("/admin/services/{hidden}"))
            .assert_error(
                404,
                common::NOT_FOUND,
                &format!("service '{hidden}' is not configured"),
            );
        assert_eq!(
            services_of(server.get("/service/callback").ok_json(200)),
            [sees],
            "{user}"
        );
        assert_eq!(
            services_of(
                server
                    .get(&format!("/service/callback/{sees}"))
                    .ok_json(200)
            ),
            [sees]
        );
        let r = server.get(&format!("/service/callback/{hidden}"));
        assert_eq!(r.status, 404, "{user}: {}", r.text());
        assert_eq!(
            r.json()["message"],
            format!("Callback service {hidden} is not configured.")
        );
        assert_eq!(
            names(server.get("/admin/callback/queues").ok_json(200)),
            [sees],
            "{user}"
        );
        let marks = server
            .get(&format!(
                "/admin/callback/watermarks?service_name={sees}&service_name={hidden}"
            ))
            .ok_json(200);
        assert_eq!(names(marks["services"].clone()), [sees], "{user}");
        assert_eq!(marks["total"], marks["services"][sees], "{user}");
    }
}

#[test]
fn the_ui_logs_in_with_a_session_cookie_and_echoes_its_csrf_token_on_every_change() {
    let open = Server::start();
    let me = open.get("/admin/me").ok_json(200);
    assert_eq!(
        (me["user"].clone(), me["open"].clone()),
        (json!(null), json!(true))
    );
    let refused = open.post_form("/admin/login", &[("username", "ann"), ("password", "x")]);
    assert_eq!(refused.status, 400, "{}", refused.text());
    assert!(refused.json()["message"]
        .as_str()
        .expect("a message")
        .contains("ringback user add NAME --role Administrator"));

    let scratch = Scratch::new("users-login");
    let data = scratch.path().join("data");
    add_user(&data, "ann", "Administrator", "", "ann-pw");
    let server = Server::start_in(&data, None);
    server
        .get("/admin/me")
        .assert_error(401, UNAUTHORIZED, "not logged in");
    server
        .post_form("/admin/login", &[("username", "ann"), ("password", "nope")])
        .assert_error(401, UNAUTHORIZED, "invalid username or password");
    server
        .post_form("/admin/login", &[("username", "ann")])
        .assert_error(
            400,
            common::BAD_REQUEST,
            "a login needs 'username' and 'password'",
        );

    let r = server.post_form(
        "/admin/login",
        &[("username", "ann"), ("password", "ann-pw")],
    );
    let me = r.ok_json(200);
    assert_eq!(
        (me["user"].clone(), me["role"].clone()),
        (json!("ann"), json!("Administrator"))
    );
    let csrf = me["csrf"].as_str().expect("a CSRF token").to_owned();
    let set = r.header("Set-Cookie").expect("a session cookie").to_owned();
    for attribute in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/genesys",
        "Max-Age=43200",
    ] {
        assert!(set.contains(attribute), "{attribute} in {set}");
    }
    let cookie = set.split(';').next().expect("name=value").to_owned();
    assert!(
        cookie.starts_with("RINGBACK_SESSION=") && cookie.len() > 60,
        "{cookie}"
    );

    let with_cookie = |method: &str, path: &str| server.req(method, path).set("Cookie", &cookie);
    let me = common::send(with_cookie("GET", "/admin/me"), None).ok_json(200);
    assert_eq!(me["csrf"], json!(csrf));
    assert_eq!(
        common::send(with_cookie("GET", "/admin/services"), None).status,
        200
    );

    // A change without the CSRF token is refused; with it, it goes through.
    let body = json!({"_type":"builtin","_service":"request-interaction"}).to_string();
    let put = |csrf: Option<&str>| {
        let mut r =
            with_cookie("PUT", "/admin/services/ri-ui").set("Content-Type", "application/json");
        if let Some(c) = csrf {
            r = r.set("X-CSRF-Token", c);
        }
        common::send(r, Some(body.as_bytes()))
    };
    put(None).assert_error(
        403,
        FORBIDDEN,
        "a state-changing request of a logged-in session needs its X-CSRF-Token header",
    );
    put(Some("0000")).assert_error(
        403,
        FORBIDDEN,
        "a state-changing request of a logged-in session needs its X-CSRF-Token header",
    );
    put(Some(&csrf)).ok_json(200);

    // Logout ends the login and clears the cookie; the old cookie opens nothing.
    let out = common::send(
        with_cookie("POST", "/admin/logout").set("X-CSRF-Token", &csrf),
        None,
    );
    assert_eq!(out.status, 204);
    let cleared = out.header("Set-Cookie").expect("the cookie is cleared");
    assert!(
        cleared.starts_with("RINGBACK_SESSION=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    common::send(with_cookie("GET", "/admin/services"), None).assert_error(
        401,
        UNAUTHORIZED,
        "this server has users: log in (POST /genesys/1/admin/login) or send one of them with HTTP Basic",
    );
}

#[test]
fn an_administrator_manages_users_through_the_admin_api() {
    let mut server = Server::start();
    // An open server lets the first user be made over the API, as from the shell.
    let ann = server
        .put_json(
            "/admin/users/ann",
            &json!({"role": "administrator", "password": "ann-pw"}),
        )
        .ok_json(201);
    assert_eq!(
        (
            ann["user"].clone(),
            ann["role"].clone(),
            ann["services"].clone()
        ),
        (json!("ann"), json!("Administrator"), json!([]))
    );
    assert!(ann.get("password").is_none() && !ann.to_string().contains("argon2"));
    server.get("/admin/users").assert_error(
        401,
        UNAUTHORIZED,
        "this server has users: log in (POST /genesys/1/admin/login) or send one of them with HTTP Basic",
    );

    server.set_auth(Some(("ann", "ann-pw")));
    let bob = server
        .put_json(
            "/admin/users/bob",
            &json!({"role": "Supervisor", "services": "callback-immediate, support", "password": "bob-pw"}),
        )
        .ok_json(201);
    assert_eq!(bob["services"], json!(["callback-immediate", "support"]));
    let changed = server
        .put_json("/admin/users/bob", &json!({"role": "CallbackReadOnly"}))
        .ok_json(200);
    assert_eq!(
        (changed["role"].clone(), changed["services"].clone()),
        (
            json!("CallbackReadOnly"),
            json!(["callback-immediate", "support"])
        )
    );
    let list = server.get("/admin/users").ok_json(200);
    let names: Vec<&str> = list
        .as_array()
        .expect("an array")
        .iter()
        .map(|u| u["user"].as_str().expect("a name"))
        .collect();
    assert_eq!(names, ["ann", "bob"]);

    for (body, message) in [
        (
            json!({"role": "Supervisor"}),
            "a new user needs a role and a password ('cy' does not exist)",
        ),
        (
            json!({"role": "agent", "password": "x"}),
            "unknown role 'agent' (one of Administrator, Supervisor, CallbackReadOnly)",
        ),
        (
            json!({"role": "Supervisor", "password": "x", "email": "e"}),
            "unknown field 'email' (a user has role, services and password)",
        ),
        (
            json!({"role": "Supervisor", "password": ""}),
            "the password is empty",
        ),
    ] {
        server
            .put_json("/admin/users/cy", &body)
            .assert_error(400, common::BAD_REQUEST, message);
    }
    let conflict = "com.genesyslab.gsg.services.ConflictException";
    server
        .put_json("/admin/users/ann", &json!({"role": "Supervisor"}))
        .assert_error(
            409,
            conflict,
            "ann is the last Administrator: make another one first",
        );
    server.delete("/admin/users/ann").assert_error(
        409,
        conflict,
        "ann is the last Administrator: make another one first",
    );

    // Bob, read-only now (his password unchanged), may not manage users.
    server.set_auth(Some(("bob", "bob-pw")));
    server.get("/admin/users").assert_error(
        403,
        FORBIDDEN,
        "bob (CallbackReadOnly) may not administer this server",
    );
    server.set_auth(Some(("ann", "ann-pw")));
    assert_eq!(server.delete("/admin/users/bob").status, 204);
    server
        .get("/admin/users/bob")
        .assert_error(404, common::NOT_FOUND, "no user 'bob'");
    server.set_auth(Some(("bob", "bob-pw")));
    server
        .get("/admin/callback/queues")
        .assert_error(401, UNAUTHORIZED, "this server has users: log in (POST /genesys/1/admin/login) or send one of them with HTTP Basic");
}

#[test]
fn the_features_switches_hold_the_uis_users_to_their_panels() {
    let scratch = Scratch::new("users-features");
    let data = scratch.path().join("data");
    add_user(&data, "ann", "Administrator", "", "ann-pw");
    // The sample turns every panel on: here the defaults are what is tested.
    let sample = common::sample_ini_default_features();
    let ini = scratch.path().join("ringback.ini");
    std::fs::write(
        &ini,
        format!(
            "{sample}\n[features]\nenable-resources = true\nenable-metrics = perhaps\n\
             enable-nothing = true\n"
        ),
    )
    .expect("the configuration is written");
    let mut server = Server::start_in(&data, Some(&ini));
    let log = server.log();
    assert!(
        log.contains(
            "[features] enable-metrics = perhaps: not true or false; the default (false) stays"
        ) && log.contains("[features] enable-nothing: not a switch Ringback knows"),
        "{log}"
    );

    server.set_auth(Some(("ann", "ann-pw")));
    let r = server
        .post_form(
            "/admin/login",
            &[("username", "ann"), ("password", "ann-pw")],
        )
        .ok_json(200);
    assert_eq!(r["features"]["enable-resources"], json!(true));
    assert_eq!(r["features"]["enable-patterns"], json!(false));
    assert_eq!(
        r["features"]["disable-bulk-cancel-and-export-callback"],
        json!(true)
    );
    assert_eq!(server.get("/admin/resources/DNIS").status, 200);
    server.get("/admin/patterns/default").assert_error(
        403,
        FORBIDDEN,
        "the Patterns panel is off: [features] enable-patterns = false",
    );
    let cancel = common::send(
        server
            .req("POST", "/admin/callback/cancel")
            .set("Content-Type", "application/json"),
        Some(br#"{"ids":[]}"#),
    );
    cancel.assert_error(
        403,
        FORBIDDEN,
        "the bulk cancel and export of callbacks is off: \
         [features] disable-bulk-cancel-and-export-callback = true",
    );
}
