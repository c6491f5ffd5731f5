//! Context Services against the real server: journeys (services, states, tasks) with their
//! filters, extensions, lifetimes, purge and export; business attributes; profiles with their
//! schemas, identification keys and lookups; tenants, roles and the errors as the reference
//! gives them; and the journeys the callback service writes.

#[allow(dead_code)] // the harness is shared with the GMS API tests
mod common;

use std::time::{Duration, Instant};

use common::{add_user, send, Resp, Scratch, Server};
use serde_json::{json, Value};

const EXC: &str = "com.genesyslab.gsg.services.contextservices.exceptions.";

/// A 200 with an empty body.
trait Empty {
    fn ok_json_empty(&self);
}

impl Empty for Resp {
    fn ok_json_empty(&self) {
        assert_eq!(self.status, 200, "{}", self.text());
        assert!(self.body.is_empty(), "{}", self.text());
    }
}

fn exc(class: &str) -> String {
    format!("{EXC}{class}")
}

fn post(server: &Server, path: &str, body: &Value) -> Resp {
    let r = server
        .req("POST", &format!("/cs{path}"))
        .set("Content-Type", "application/json");
    send(r, Some(body.to_string().as_bytes()))
}

fn put(server: &Server, path: &str, body: &Value) -> Resp {
    server.put_json(&format!("/cs{path}"), body)
}

fn get(server: &Server, path: &str) -> Resp {
    server.get(&format!("/cs{path}"))
}

fn start(server: &Server, body: Value) -> String {
    post(server, "/services/start", &body).ok_json(201)["service_id"]
        .as_str()
        .expect("service_id")
        .to_owned()
}

fn ids(v: &Value, field: &str) -> Vec<String> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|x| x[field].as_str().expect("id").to_owned())
        .collect()
}

#[test]
fn a_journey_starts_moves_through_states_and_tasks_and_completes() {
    let server = Server::start();
    let sid = start(
        &server,
        json!({"customer_id": "0001Ba5SW8PJ0027", "service_type": "BlueSky Book Flight",
               "media_type": "voice", "interaction_id": "ixn-1", "est_duration": 300,
               "timestamp": "2016-01-08T13:28:28.276Z", "StoryService": [{"title": "booking"}]}),
    );
    // Answers give the DB id of a business-attribute value (map-names is off in the sample).
    let s = get(&server, &format!("/services/{sid}")).ok_json(200);
    assert_eq!(s["service_id"], sid);
    assert_eq!(s["customer_id"], "0001Ba5SW8PJ0027");
    assert_eq!(s["service_type"], 2452);
    assert_eq!(s["est_duration"], 300);
    assert_eq!(s["started"]["timestamp"], "2016-01-08T13:28:28.276Z");
    assert_eq!(s["started"]["media_type"], "voice");
    assert!(
        s.get("completed").is_none() && s.get("StoryService").is_none(),
        "{s}"
    );
    // Extensions only when asked.
    let s = get(&server, &format!("/services/{sid}?extensions=StoryService")).ok_json(200);
    assert_eq!(s["StoryService"][0]["title"], "booking");

    // A state by DB id, another by name after it; a task in the first state.
    let st1 = post(
        &server,
        &format!("/services/{sid}/states/start"),
        &json!({"state_type": 2455}),
    )
    .ok_json(201)["state_id"]
        .as_str()
        .expect("state_id")
        .to_owned();
    let task = post(
        &server,
        &format!("/services/{sid}/tasks/start"),
        &json!({"task_type": "BlueSky Confirm Booking", "state_id": st1}),
    )
    .ok_json(201)["task_id"]
        .as_str()
        .expect("task_id")
        .to_owned();
    let t = post(
        &server,
        &format!("/services/{sid}/states/transition"),
        &json!({"from": {"state_id": st1, "disposition": "accepted"},
                "to": {"state_type": "BlueSky Confirmation"}, "media_type": "voice"}),
    )
    .ok_json(201);
    let st2 = t["state_id"].as_str().expect("state_id").to_owned();
    let states = get(&server, &format!("/services/{sid}/states")).ok_json(200);
    assert_eq!(ids(&states, "state_id"), [st1.clone(), st2.clone()]);
    assert_eq!(states[0]["completed"]["disposition"], "accepted");
    assert_eq!(states[1]["previous_state_id"], st1);
    assert_eq!(
        ids(
            &get(&server, &format!("/services/{sid}/states/active")).ok_json(200),
            "state_id"
        ),
        [st2.as_str()]
    );
    assert_eq!(
        ids(
            &get(&server, &format!("/services/{sid}/states?state_types=2469")).ok_json(200),
            "state_id"
        ),
        [st2.as_str()]
    );
    // The state's tasks nested, then the task completed (204) and listed as completed.
    let with_tasks = get(
        &server,
        &format!("/services/{sid}/states?active_tasks=true"),
    )
    .ok_json(200);
    assert_eq!(with_tasks[0]["active_tasks"][0]["task_id"], task);
    let end = post(
        &server,
        &format!("/services/{sid}/tasks/{task}/end"),
        &json!({"disposition": "done", "disposition_desc": "booked"}),
    );
    assert_eq!(end.status, 204, "{}", end.text());
    assert_eq!(
        ids(
            &get(&server, &format!("/services/{sid}/tasks/completed")).ok_json(200),
            "task_id"
        ),
        [task.as_str()]
    );
    let one = get(&server, &format!("/services/{sid}/tasks/{task}")).ok_json(200);
    assert_eq!(
        (one["task_type"].clone(), one["state_id"].clone()),
        (json!(2480), json!(st1))
    );
    // Extensions: replaced, and merged into a map.
    put(
        &server,
        &format!("/services/{sid}/states/{st2}/extensions/Feedback"),
        &json!({"score": 3}),
    )
    .ok_json_empty();
    put(
        &server,
        &format!("/services/{sid}/states/{st2}/extensions/Feedback/merge"),
        &json!({"note": "ok"}),
    )
    .ok_json_empty();
    let st = get(
        &server,
        &format!("/services/{sid}/states/{st2}?extensions=Feedback"),
    )
    .ok_json(200);
    assert_eq!(st["Feedback"], json!({"score": 3, "note": "ok"}));
    // The service with everything nested, then completed.
    let full = get(
        &server,
        &format!("/services/{sid}?active_states=true&completed_states=true&completed_tasks=true&extensions=State.Feedback"),
    )
    .ok_json(200);
    assert_eq!(ids(&full["completed_states"], "state_id"), [st1.as_str()]);
    assert_eq!(full["active_states"][0]["Feedback"]["note"], "ok");
    assert!(
        full["active_states"][0].get("service_id").is_none(),
        "nested items omit service_id"
    );
    assert_eq!(full["completed_tasks"][0]["task_id"], task);
    let end = post(
        &server,
        &format!("/services/{sid}/end"),
        &json!({"disposition": "sold"}),
    );
    assert_eq!(end.status, 204);
    let s = get(&server, &format!("/services/{sid}")).ok_json(200);
    assert_eq!(s["completed"]["disposition"], "sold");
    // Ending twice is refused; a state on a completed service is still accepted (as GMS).
    post(&server, &format!("/services/{sid}/end"), &json!({})).assert_error(
        400,
        &exc("ContextServicesException"),
        &format!("service {sid} is already completed"),
    );
    post(
        &server,
        &format!("/services/{sid}/states/start"),
        &json!({}),
    )
    .ok_json(201);
}

#[test]
fn a_customers_services_are_listed_and_filtered() {
    let server = Server::start();
    let cid = "C-LIST";
    let old = start(
        &server,
        json!({"customer_id": cid, "service_type": "Agency", "timestamp": "2020-01-01T00:00:00.000Z"}),
    );
    let mid = start(
        &server,
        json!({"customer_id": cid, "service_type": 2451, "timestamp": "2021-06-01T00:00:00.000Z"}),
    );
    let new = start(
        &server,
        json!({"customer_id": cid, "service_type": "Agency", "timestamp": "2022-01-01T00:00:00.000Z"}),
    );
    start(&server, json!({"customer_id": "someone-else"}));
    assert_eq!(
        post(
            &server,
            &format!("/services/{mid}/end"),
            &json!({"timestamp": "2021-06-02T00:00:00.000Z"})
        )
        .status,
        204
    );
    let all = get(&server, &format!("/customers/{cid}/services")).ok_json(200);
    assert_eq!(
        ids(&all, "service_id"),
        [new.clone(), mid.clone(), old.clone()],
        "latest first"
    );
    let active = get(&server, &format!("/customers/{cid}/services/active")).ok_json(200);
    assert_eq!(ids(&active, "service_id"), [new.clone(), old.clone()]);
    let done = get(&server, &format!("/customers/{cid}/services/completed")).ok_json(200);
    assert_eq!(ids(&done, "service_id"), [mid.as_str()]);
    let typed = get(
        &server,
        &format!("/customers/{cid}/services?service_types=Agency"),
    )
    .ok_json(200);
    assert_eq!(ids(&typed, "service_id"), [new.clone(), old.clone()]);
    let ranged = get(
        &server,
        &format!("/customers/{cid}/services?started_from=2021-01-01T00:00:00.000Z&started_to=2021-12-31T00:00:00.000Z"),
    )
    .ok_json(200);
    assert_eq!(ids(&ranged, "service_id"), [mid.as_str()]);
    // Nobody's services: an empty list, not an error.
    assert_eq!(
        get(&server, "/customers/nobody/services").ok_json(200),
        json!([])
    );
    // The summary the Journey Timeline's KPIs read.
    post(
        &server,
        &format!("/services/{new}/states/start"),
        &json!({}),
    )
    .ok_json(201);
    let sum = get(&server, &format!("/customers/{cid}/summary")).ok_json(200);
    assert_eq!(
        sum["services"],
        json!({"total": 3, "active": 2, "completed": 1})
    );
    assert_eq!(
        sum["states"],
        json!({"total": 1, "active": 1, "completed": 0})
    );
    // A bad filter value is a 400 naming it.
    get(&server, &format!("/customers/{cid}/services?service_types=Nope")).assert_error(
        400,
        &exc("ContextServicesException"),
        "unknown service_type 'Nope': not a value of business attribute ServiceType (Service.service_type)",
    );
    get(
        &server,
        &format!("/customers/{cid}/services?started_from=yesterday"),
    )
    .gms_error(400, &exc("ContextServicesException"));
}

#[test]
fn an_anonymous_service_is_found_by_contact_key_then_associated() {
    let server = Server::start();
    let sid = start(
        &server,
        json!({"contact_key": "+15125550100", "media_type": "chat"}),
    );
    let anon = get(&server, "/services/anonymous/+15125550100").ok_json(200);
    assert_eq!(ids(&anon, "service_id"), [sid.as_str()]);
    assert_eq!(anon[0]["contact_key"], "+15125550100");
    assert_eq!(
        ids(
            &get(&server, "/services/anonymous/+15125550100/active").ok_json(200),
            "service_id"
        ),
        [sid.as_str()]
    );
    let r = post(
        &server,
        &format!("/customers/C-9/services/{sid}"),
        &json!({"interaction_id": "ixn-9"}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        get(&server, "/services/anonymous/+15125550100").ok_json(200),
        json!([])
    );
    let mine = get(&server, "/customers/C-9/services").ok_json(200);
    assert_eq!(mine[0]["service_id"], sid);
    assert_eq!(mine[0]["started"]["interaction_id"], "ixn-9");
    assert_eq!(mine[0]["started"]["media_type"], "chat");
}

#[test]
fn errors_are_context_services_exceptions() {
    let server = Server::start();
    // context-services.md §2: DELETE of an unknown service.
    server.delete("/cs/services/451-nope").assert_error(
        400,
        &exc("NotFoundException"),
        "There are no service found for : 451-nope",
    );
    get(&server, "/services/451-nope").assert_error(
        400,
        &exc("NotFoundException"),
        "There are no service found for : 451-nope",
    );
    post(&server, "/services/451-nope/states/start", &json!({})).assert_error(
        400,
        &exc("NotFoundException"),
        "There are no service found for : 451-nope",
    );
    let sid = start(&server, json!({"customer_id": "E"}));
    post(
        &server,
        &format!("/services/{sid}/states/x/end"),
        &json!({}),
    )
    .assert_error(
        400,
        &exc("NotFoundException"),
        "There are no state found for : x",
    );
    post(
        &server,
        &format!("/services/{sid}/tasks/start"),
        &json!({"state_id": "x"}),
    )
    .assert_error(
        400,
        &exc("NotFoundException"),
        "There are no state found for : x",
    );
    let bad = exc("ContextServicesException");
    post(
        &server,
        "/services/start",
        &json!({"service_type": "Agency"}),
    )
    .assert_error(
        400,
        &bad,
        "a service needs a 'customer_id' or a 'contact_key'",
    );
    post(&server, "/services/start", &json!({"customer_id": "E", "service_type": "Nope"})).assert_error(
        400,
        &bad,
        "unknown service_type 'Nope': not a value of business attribute ServiceType (Service.service_type)",
    );
    post(
        &server,
        "/services/start",
        &json!({"customer_id": "E", "disposition": "x"}),
    )
    .assert_error(
        400,
        &bad,
        "'disposition' belongs to an end event, not a start",
    );
    post(
        &server,
        "/services/start",
        &json!({"customer_id": "E", "session_id": "x".repeat(33)}),
    )
    .assert_error(400, &bad, "'session_id' is longer than 32 characters");
    post(
        &server,
        "/services/start",
        &json!({"customer_id": "E", "timestamp": "soon"}),
    )
    .gms_error(400, &bad);
    post(
        &server,
        "/services/start",
        &json!({"customer_id": "E", "ttl": -1}),
    )
    .assert_error(400, &bad, "'ttl' must not be negative");
    let raw = send(
        server
            .req("POST", "/cs/services/start")
            .set("Content-Type", "application/json"),
        Some(b"{not json"),
    );
    raw.gms_error(400, &bad);
    put(
        &server,
        &format!("/services/{sid}/extensions/9bad"),
        &json!({}),
    )
    .gms_error(400, &bad);
    put(
        &server,
        &format!("/services/{sid}/extensions/Notes/merge"),
        &json!([1]),
    )
    .gms_error(400, &bad);
    get(&server, "/profiles/nobody").assert_error(
        404,
        &exc("NotFoundException"),
        "no customer profile 'nobody'",
    );
    get(&server, "/metadata/business-attributes/Nope").assert_error(
        404,
        &exc("NotFoundException"),
        "no business attribute 'Nope'",
    );
    post(
        &server,
        "/maintenance/purge",
        &json!({"limit": 0, "operation": "purge.everything"}),
    )
    .gms_error(400, &bad);
    // A path Context Services do not have is the API's 404.
    get(&server, "/nothing/here")
        .gms_error(404, "com.genesyslab.gsg.services.ServiceNotFoundException");
}

#[test]
fn lifetimes_purge_and_export() {
    let server = Server::start();
    let keep = start(
        &server,
        json!({"customer_id": "L", "timestamp": "2024-01-01T00:00:00.000Z"}),
    );
    let old = start(
        &server,
        json!({"contact_key": "k", "timestamp": "2019-01-01T00:00:00.000Z"}),
    );
    let old_done = start(
        &server,
        json!({"customer_id": "L", "timestamp": "2019-02-01T00:00:00.000Z"}),
    );
    assert_eq!(
        post(
            &server,
            &format!("/services/{old_done}/end"),
            &json!({"timestamp": "2019-02-02T00:00:00.000Z"})
        )
        .status,
        204
    );
    // Lifetime: set, answered as the expiration time.
    put(
        &server,
        &format!("/services/{keep}"),
        &json!({"expiration_time": "2099-01-01T00:00:00.000Z"}),
    )
    .ok_json_empty();
    assert_eq!(
        get(&server, &format!("/services/{keep}")).ok_json(200)["expiration_time"],
        "2099-01-01T00:00:00.000Z"
    );
    put(&server, &format!("/services/{keep}"), &json!({}))
        .gms_error(400, &exc("ContextServicesException"));
    // Export: every service started in 2019, streamed, as services or ids.
    let stream = get(&server, "/maintenance/services/stream?time_from=2019-01-01T00:00:00.000Z&time_to=2019-12-31T00:00:00.000Z&filter_events=started").ok_json(200);
    let mut got = ids(&stream, "service_id");
    got.sort();
    let mut want = vec![old.clone(), old_done.clone()];
    want.sort();
    assert_eq!(got, want);
    let only_ids = get(&server, "/maintenance/services/stream?time_from=2019-01-01T00:00:00.000Z&time_to=2019-12-31T00:00:00.000Z&filter_state=active&export_content=ids").ok_json(200);
    assert_eq!(only_ids, json!([old.as_str()]));
    get(&server, "/maintenance/services/stream").gms_error(400, &exc("ContextServicesException"));
    // Purge the completed ones before 2020, then every anonymous one still active.
    let p = post(
        &server,
        "/maintenance/purge",
        &json!({"limit": "2020-01-01T00:00:00.000Z", "operation": "purge.service.completed"}),
    )
    .ok_json(200);
    assert_eq!(p["purged"], 1);
    get(&server, &format!("/services/{old_done}")).gms_error(400, &exc("NotFoundException"));
    let p = post(&server, "/maintenance/purge", &json!({"limit": "2020-01-01T00:00:00.000Z", "operation": "purge.service.started.anonymous"})).ok_json(200);
    assert_eq!(p["purged"], 1);
    get(&server, &format!("/services/{old}")).gms_error(400, &exc("NotFoundException"));
    get(&server, &format!("/services/{keep}")).ok_json(200);
    // A service whose ttl has passed is deleted by the server's sweep.
    let brief = start(&server, json!({"customer_id": "L", "ttl": 0}));
    let deadline = Instant::now() + Duration::from_secs(15);
    while get(&server, &format!("/services/{brief}")).status == 200 {
        assert!(
            Instant::now() < deadline,
            "an expired service is deleted within a sweep or two"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn business_attributes_are_metadata() {
    let server = Server::start();
    let all = get(&server, "/metadata/business-attributes").ok_json(200);
    let names: Vec<&str> = all
        .as_array()
        .expect("array")
        .iter()
        .map(|a| a["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["ServiceType", "StateType", "TaskType"]);
    let st = get(
        &server,
        "/metadata/business-attributes?cv-attribute=State.state_type",
    )
    .ok_json(200);
    assert_eq!(st["name"], "StateType");
    assert_eq!(st["cv_attributes"], json!(["State.state_type"]));
    let upsell = st["values"]
        .as_array()
        .expect("values")
        .iter()
        .find(|v| v["dbid"] == 2455)
        .expect("2455");
    assert_eq!(upsell["name"], "BlueSky Upsell");
    assert_eq!(
        get(&server, "/metadata/business-attributes/TaskType").ok_json(200)["dbid"],
        2442
    );
}

#[test]
fn map_names_answers_names() {
    let ini = common::sample_ini().replace("map-names = false", "map-names = true");
    let server = Server::start_with_config(&ini);
    let sid = start(&server, json!({"customer_id": "M", "service_type": 2453}));
    assert_eq!(
        get(&server, &format!("/services/{sid}")).ok_json(200)["service_type"],
        "Agency"
    );
}

#[test]
fn profiles_are_identified_by_their_keys() {
    let server = Server::start();
    let made = post(
        &server,
        "/profiles",
        &json!({"FirstName": "Jane", "LastName": "Jones", "PhoneNumber": ["5125", "6504661100"],
                "EmailAddress": "Jones@DemoSrv.genesyslab.com", "Title": "Sr. Product Manager"}),
    );
    let jane = made.ok_json(201)["customer_id"]
        .as_str()
        .expect("customer_id")
        .to_owned();
    assert_eq!(jane.len(), 16);
    assert_eq!(
        made.header("location"),
        Some(format!("/genesys/1/cs/profiles/{jane}").as_str())
    );
    let john = post(&server, "/profiles", &json!({"customer_id": "john-1", "FirstName": "John", "LastName": "Jones", "PhoneNumber": "5125"}))
        .ok_json(201)["customer_id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(john, "john-1");
    post(&server, "/profiles", &json!({"customer_id": "john-1"}))
        .gms_error(409, &exc("DuplicateException"));
    // By phone: both (a shared number), in id order; by email without regard to case.
    let both = get(&server, "/profiles?PhoneNumber=5125").ok_json(200);
    let mut want = vec![jane.clone(), john.clone()];
    want.sort();
    assert_eq!(ids(&both, "customer_id"), want);
    let by_mail = get(
        &server,
        "/profiles?EmailAddress=jones@demosrv.genesyslab.com",
    )
    .ok_json(200);
    assert_eq!(ids(&by_mail, "customer_id"), [jane.as_str()]);
    assert_eq!(by_mail[0]["Title"], "Sr. Product Manager");
    // A secondary number, and include_profile=no.
    let lean = get(
        &server,
        "/profiles?PhoneNumber=6504661100&include_profile=no",
    )
    .ok_json(200);
    assert_eq!(lean, json!([{"customer_id": jane}]));
    // The Name key (LastName, FirstName): both given, or its leading attribute only.
    assert_eq!(
        ids(
            &get(&server, "/profiles?FirstName=Jane&LastName=Jones").ok_json(200),
            "customer_id"
        ),
        [jane.as_str()]
    );
    assert_eq!(
        ids(
            &get(&server, "/profiles?LastName=jones").ok_json(200),
            "customer_id"
        )
        .len(),
        2
    );
    get(&server, "/profiles?FirstName=Jane").gms_error(400, &exc("ContextServicesException"));
    get(&server, "/profiles?PhoneNumber=5125&id_key=Nope").assert_error(
        404,
        &exc("NotFoundException"),
        "no identification key 'Nope'",
    );
    assert_eq!(
        get(&server, "/profiles?PhoneNumber=000").ok_json(200),
        json!([])
    );
    // Replace: attributes replaced, so the old phone number no longer finds John.
    put(
        &server,
        "/profiles/john-1",
        &json!({"FirstName": "John", "LastName": "Jones", "PhoneNumber": "777"}),
    )
    .ok_json_empty();
    assert_eq!(
        ids(
            &get(&server, "/profiles?PhoneNumber=5125").ok_json(200),
            "customer_id"
        ),
        [jane.as_str()]
    );
    server.delete("/cs/profiles/john-1").ok_json_empty();
    get(&server, "/profiles/john-1").gms_error(404, &exc("NotFoundException"));
    let keys = get(&server, "/metadata/identification-keys").ok_json(200);
    assert_eq!(ids(&keys, "name"), ["PhoneNumber", "EmailAddress", "Name"]);
}

#[test]
fn extension_schemas_type_profile_extensions_and_unique_keys_refuse_duplicates() {
    let server = Server::start();
    let schema = json!({"name": "Loyalty", "type": "multi-valued",
        "attributes": [{"name": "card", "type": "string", "length": 8, "mandatory": true},
                       {"name": "tier", "type": "string", "default": "silver"},
                       {"name": "points", "type": "integer"}],
        "unique": ["card"]});
    assert_eq!(
        post(&server, "/metadata/profiles/extensions", &schema).ok_json(201),
        json!({"name": "Loyalty"})
    );
    post(&server, "/metadata/profiles/extensions", &schema)
        .gms_error(409, &exc("DuplicateException"));
    assert_eq!(
        get(&server, "/metadata/profiles/extensions/loyalty").ok_json(200)["unique"],
        json!(["card"])
    );
    let key = post(
        &server,
        "/metadata/identification-keys",
        &json!({"name": "Card", "source": "Loyalty", "attributes": ["card"], "unique": true}),
    )
    .ok_json(201);
    assert_eq!(key["id"], 4);
    let a = post(
        &server,
        "/profiles",
        &json!({"LastName": "A", "Loyalty": {"card": "C1", "points": 5}}),
    )
    .ok_json(201)["customer_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let p = get(&server, &format!("/profiles/{a}?extensions=Loyalty")).ok_json(200);
    assert_eq!(
        p["Loyalty"],
        json!([{"card": "C1", "points": 5, "tier": "silver"}])
    );
    assert!(get(&server, &format!("/profiles/{a}"))
        .ok_json(200)
        .get("Loyalty")
        .is_none());
    // The unique key: another profile with card C1 is refused; a lookup by it finds A.
    post(
        &server,
        "/profiles",
        &json!({"LastName": "B", "Loyalty": [{"card": "C1"}]}),
    )
    .gms_error(409, &exc("DuplicateException"));
    assert_eq!(
        ids(
            &get(&server, "/profiles?Loyalty.card=C1").ok_json(200),
            "customer_id"
        ),
        [a.as_str()]
    );
    // Records: C1 replaced (same unique card), C2 added.
    let r = post(
        &server,
        &format!("/profiles/{a}/extensions"),
        &json!({"Loyalty": [{"card": "C1", "points": 9}, {"card": "C2"}]}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let p = get(&server, &format!("/profiles/{a}?extensions=*")).ok_json(200);
    assert_eq!(
        p["Loyalty"],
        json!([{"card": "C1", "points": 9, "tier": "silver"}, {"card": "C2", "tier": "silver"}])
    );
    let bad = exc("ContextServicesException");
    post(
        &server,
        &format!("/profiles/{a}/extensions"),
        &json!({"Loyalty": {"points": 1}}),
    )
    .assert_error(
        400,
        &bad,
        "extension 'Loyalty': mandatory attribute 'card' is missing",
    );
    post(
        &server,
        &format!("/profiles/{a}/extensions"),
        &json!({"Loyalty": {"card": "123456789"}}),
    )
    .assert_error(
        400,
        &bad,
        "extension 'Loyalty': 'card' is longer than 8 characters",
    );
    post(
        &server,
        &format!("/profiles/{a}/extensions"),
        &json!({"Other": {}}),
    )
    .assert_error(400, &bad, "no extension schema 'Other'");
    post(&server, "/profiles", &json!({"Address": {"city": "x"}})).gms_error(400, &bad);
    post(
        &server,
        "/metadata/identification-keys",
        &json!({"name": "Mixed", "attributes": ["Loyalty.card"]}),
    )
    .gms_error(400, &bad);
    server
        .delete("/cs/metadata/profiles/extensions/Loyalty")
        .ok_json_empty();
    get(&server, "/metadata/profiles/extensions/Loyalty").gms_error(404, &exc("NotFoundException"));
}

#[test]
fn tenants_are_named_by_contact_center_id_and_kept_apart() {
    let ini = format!(
        "{}\n[cview]\nenabled = true\ncontact-center-ids = acme, globex\n",
        common::sample_ini().replace("[cview]", "[cview-sample]")
    );
    let server = Server::start_with_config(&ini);
    let as_tenant = |method: &str, path: &str, tenant: Option<&str>, body: Option<Value>| {
        let mut r = server
            .req(method, &format!("/cs{path}"))
            .set("Content-Type", "application/json");
        if let Some(t) = tenant {
            r = r.set("ContactCenterId", t);
        }
        send(r, body.map(|b| b.to_string().into_bytes()).as_deref())
    };
    as_tenant("GET", "/customers/x/services", None, None).assert_error(
        400,
        &exc("ContextServicesExceptionResource"),
        "this installation serves several contact centers: the ContactCenterId header is required",
    );
    as_tenant("GET", "/customers/x/services", Some("umbrella"), None).assert_error(
        400,
        &exc("ContextServicesExceptionResource"),
        "ContactCenterId 'umbrella' is not a contact center of this installation",
    );
    let sid = as_tenant(
        "POST",
        "/services/start",
        Some("acme"),
        Some(json!({"customer_id": "x"})),
    )
    .ok_json(201)["service_id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(
        ids(
            &as_tenant("GET", "/customers/x/services", Some("acme"), None).ok_json(200),
            "service_id"
        ),
        [sid.as_str()]
    );
    assert_eq!(
        as_tenant("GET", "/customers/x/services", Some("globex"), None).ok_json(200),
        json!([])
    );
    as_tenant("GET", &format!("/services/{sid}"), Some("globex"), None)
        .gms_error(400, &exc("NotFoundException"));
    // The UI's panels are single-tenant only.
    assert_eq!(
        server.get("/admin/me").ok_json(200)["context_services"]["single_tenant"],
        false
    );
}

#[test]
fn roles_decide_who_reads_and_who_changes() {
    let scratch = Scratch::new("cs-roles");
    let data = scratch.path().join("data");
    let config = scratch.path().join("ringback.ini");
    std::fs::write(
        &config,
        common::sample_ini().replace("use-role = false", "use-role = true"),
    )
    .expect("config");
    add_user(&data, "ann", "Administrator", "", "admin-pass-1");
    add_user(&data, "sam", "Supervisor", "", "super-pass-1");
    add_user(&data, "rob", "CallbackReadOnly", "", "reader-pass-1");
    let mut server = Server::start_in(&data, Some(&config));
    server.set_auth(Some(("ann", "admin-pass-1")));
    let sid = start(&server, json!({"customer_id": "R"}));
    server.set_auth(Some(("sam", "super-pass-1")));
    get(&server, &format!("/services/{sid}")).ok_json(200);
    post(&server, "/services/start", &json!({"customer_id": "R"})).assert_error(
        403,
        "com.genesyslab.gsg.security.AccessDeniedException",
        "sam (Supervisor) may only read Context Services ([cview] use-role = true)",
    );
    server
        .delete(&format!("/cs/services/{sid}"))
        .gms_error(403, "com.genesyslab.gsg.security.AccessDeniedException");
    server.set_auth(Some(("rob", "reader-pass-1")));
    get(&server, &format!("/services/{sid}"))
        .gms_error(403, "com.genesyslab.gsg.security.AccessDeniedException");
    server.set_auth(None);
    get(&server, &format!("/services/{sid}"))
        .gms_error(401, "com.genesyslab.gsg.security.AuthenticationException");
}

#[test]
fn context_services_are_off_unless_enabled() {
    let server = Server::start_with_config(
        &common::sample_ini().replace("[cview]\nenabled = true", "[cview]\nenabled = false"),
    );
    get(&server, "/customers/x/services").assert_error(
        404,
        &exc("ContextServicesDisabledException"),
        "Context Services are not enabled on this node ([cview] enabled = false)",
    );
    assert_eq!(
        server.get("/admin/me").ok_json(200)["context_services"]["enabled"],
        false
    );
}

/// Polls until `ok` holds of the customer's services (the journal writes after the callback's
/// own commit).
fn journey_until(server: &Server, path: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let v = get(server, path).ok_json(200);
        if ok(&v) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "the journey never became as expected: {v}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_callback_writes_its_customers_journey() {
    let server = Server::start();
    let cid = post(
        &server,
        "/profiles",
        &json!({"FirstName": "Ada", "LastName": "Byron", "PhoneNumber": "5551234"}),
    )
    .ok_json(201)["customer_id"]
        .as_str()
        .expect("id")
        .to_owned();
    // A callback for later: SCHEDULED, then cancelled.
    let soon = (chrono::Utc::now() + chrono::Duration::hours(1))
        .format("%Y-%m-%dT%H:%M:%S.000Z")
        .to_string();
    let cb = server
        .post_form(
            "/service/callback/callback-delayed",
            &[("_customer_number", "5551234"), ("_desired_time", &soon)],
        )
        .ok_json(200);
    let id = cb["_id"].as_str().expect("_id").to_owned();
    let path = format!("/customers/{cid}/services?active_states=true&completed_states=true");
    let v = journey_until(&server, &path, |v| {
        v.as_array().is_some_and(|a| a.len() == 1)
    });
    assert_eq!(
        v[0]["service_id"], id,
        "the journey's service is the callback"
    );
    assert_eq!(v[0]["service_type"], 2450, "Callback");
    assert_eq!(
        v[0]["active_states"][0]["state_type"], 2460,
        "Callback Scheduled"
    );
    server
        .delete(&format!("/service/callback/callback-delayed/{id}"))
        .ok_json(200);
    let v = journey_until(&server, &path, |v| v[0].get("completed").is_some());
    assert_eq!(v[0]["completed"]["disposition"], "CANCELLED");
    assert_eq!(
        v[0]["completed_states"][0]["completed"]["disposition"],
        "CANCELLED"
    );
    assert_eq!(v[0]["active_states"], json!([]));
    // A number no profile has: an anonymous journey by the number.
    let cb = server
        .post_form(
            "/service/callback/callback-delayed",
            &[("_customer_number", "5550000"), ("_desired_time", &soon)],
        )
        .ok_json(200);
    let anon = journey_until(&server, "/services/anonymous/5550000", |v| {
        v.as_array().is_some_and(|a| !a.is_empty())
    });
    assert_eq!(anon[0]["service_id"], cb["_id"]);
}

fn rb(server: &Server, method: &str, path: &str) -> Resp {
    send(
        server.raw_req(method, &format!("{}/ringback/1{path}", server.root)),
        None,
    )
}

#[test]
fn a_callback_journey_shows_queued_offered_and_connected() {
    let ini = format!(
        "{}\n[telephony]\ndial_rules = {{\"rules\": [], \"default\": {{\"outcome\": \"answer\", \"after_ms\": 0}}}}\n\
         [agent.ann]\ngroups = Agents\nmedia = voice\n\
         [service.cs-now]\n_type = ors\n_service = callback\n_call_direction = USERTERMINATED\n\
         _wait_for_agent = false\n_urs_virtual_queue = CsNow\n_target = Agents@StatServer.GA\n\
         _cs_service_type = Agency\n",
        common::sample_ini()
    );
    let server = Server::start_with_config(&ini);
    let cb = server
        .post_form(
            "/service/callback/cs-now",
            &[("_customer_number", "5557777")],
        )
        .ok_json(200);
    let id = cb["_id"].as_str().expect("_id").to_owned();
    let path = "/services/anonymous/5557777?active_states=true&completed_states=true";
    let v = journey_until(&server, path, |v| {
        v[0]["active_states"][0]["state_type"] == 2461
    });
    assert_eq!(v[0]["service_id"], id);
    assert_eq!(
        v[0]["service_type"], 2453,
        "the service's _cs_service_type (Agency)"
    );
    // An agent takes it: offered (the customer is dialled), then connected.
    let since = rb(&server, "POST", "/agents/ann/login").ok_json(200)["last_event"]
        .as_u64()
        .expect("last_event");
    rb(&server, "POST", "/agents/ann/ready").ok_json(200);
    let (offer, _) = common::wait_event(&server, "ann", since, "offer");
    let offer_id = offer["offer"].as_str().expect("offer id").to_owned();
    rb(
        &server,
        "POST",
        &format!("/agents/ann/offers/{offer_id}/accept"),
    )
    .ok_json(200);
    let v = journey_until(&server, path, |v| {
        v[0]["active_states"][0]["state_type"] == 2463
    });
    let done: Vec<&Value> = v[0]["completed_states"]
        .as_array()
        .expect("states")
        .iter()
        .map(|s| &s["state_type"])
        .collect();
    assert_eq!(
        done,
        [&json!(2461), &json!(2462)],
        "queued, then offered; connected is open: {v}"
    );
    let sum = get(&server, "/services/anonymous/5557777/summary").ok_json(200);
    assert_eq!(
        sum["states"],
        json!({"total": 3, "active": 1, "completed": 2})
    );
}

#[test]
fn the_panels_additions_and_the_remaining_operations() {
    let server = Server::start();
    let sid = start(&server, json!({"contact_key": "k-1"}));
    let st = post(
        &server,
        &format!("/services/{sid}/states/start"),
        &json!({}),
    )
    .ok_json(201)["state_id"]
        .as_str()
        .expect("state_id")
        .to_owned();
    let task = post(&server, &format!("/services/{sid}/tasks/start"), &json!({})).ok_json(201)
        ["task_id"]
        .as_str()
        .expect("task_id")
        .to_owned();
    // The service of a state or task id.
    assert_eq!(
        get(&server, &format!("/items/{st}")).ok_json(200),
        json!({"service_id": sid, "kind": "state"})
    );
    assert_eq!(
        get(&server, &format!("/items/{task}")).ok_json(200),
        json!({"service_id": sid, "kind": "task"})
    );
    get(&server, "/items/nope").gms_error(400, &exc("NotFoundException"));
    // Extensions of a service and a task.
    put(
        &server,
        &format!("/services/{sid}/extensions/Notes"),
        &json!([{"n": 1}]),
    )
    .ok_json_empty();
    put(
        &server,
        &format!("/services/{sid}/tasks/{task}/extensions/Notes/merge"),
        &json!({"n": 2}),
    )
    .ok_json_empty();
    assert_eq!(
        get(&server, &format!("/services/{sid}?extensions=Notes")).ok_json(200)["Notes"],
        json!([{"n": 1}])
    );
    assert_eq!(
        get(
            &server,
            &format!("/services/{sid}/tasks/{task}?extensions=Notes")
        )
        .ok_json(200)["Notes"],
        json!({"n": 2})
    );
    assert_eq!(
        get(
            &server,
            &format!("/services/{sid}?active_tasks=true&extensions=Task.Notes")
        )
        .ok_json(200)["active_tasks"][0]["Notes"],
        json!({"n": 2})
    );
    assert_eq!(
        get(&server, "/services/anonymous/k-1/summary").ok_json(200)["tasks"]["total"],
        1
    );
    // The Journey Timeline's configuration: the default, then [cview] timeline.
    let t = get(&server, "/ui/journey-timeline").ok_json(200);
    assert_eq!(t["search"][0]["attributes"], json!(["EmailAddress"]));
    server
        .put_json(
            "/admin/config/cview",
            &json!({"enabled": "true", "timeline": "{\"search\": [], \"profile\": []}"}),
        )
        .ok_json(200);
    assert_eq!(
        get(&server, "/ui/journey-timeline").ok_json(200),
        json!({"search": [], "profile": []})
    );
    // A timeline configuration that is not a JSON object is refused.
    server
        .put_json(
            "/admin/config/cview",
            &json!({"enabled": "true", "timeline": "[1]"}),
        )
        .assert_error(
            400,
            "com.genesyslab.gsg.services.ServiceException",
            "[cview] timeline must be a JSON object",
        );
    // Metadata one by one.
    let key = get(&server, "/metadata/identification-keys/EmailAddress").ok_json(200);
    assert_eq!(
        (key["id"].clone(), key["source"].clone()),
        (json!(2), json!("profile"))
    );
    get(&server, "/metadata/identification-keys/Nope").gms_error(404, &exc("NotFoundException"));
    assert_eq!(
        get(&server, "/metadata/profiles/extensions").ok_json(200),
        json!([])
    );
    // The export to files: a JSON line and a CSV row per service, in the data folder.
    let files = post(
        &server,
        "/maintenance/services/files",
        &json!({"time_from": 0}),
    )
    .ok_json(200);
    assert_eq!(files["services"], 1);
    let created: Vec<&str> = files["created"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| f.as_str().expect("name"))
        .collect();
    assert_eq!(created.len(), 2);
    let json_lines = std::fs::read_to_string(created[0]).expect("the JSON file");
    assert!(
        json_lines.contains(&format!("\"service_id\":\"{sid}\"")),
        "{json_lines}"
    );
    let csv = std::fs::read_to_string(created[1]).expect("the CSV file");
    assert!(
        csv.starts_with("service_id,customer_id,contact_key"),
        "{csv}"
    );
    assert!(csv.contains(&format!("\"{sid}\",\"\",\"k-1\"")), "{csv}");
}
