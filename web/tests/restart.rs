//! Sessions survive `kill -9`: every step a session acknowledged is durable, the sessions come
//! back with their timers and queue items (in their old order) and go on; nothing is lost and
//! nothing runs twice.

#[allow(dead_code)] // the harness is shared with the GMS API tests
mod common;

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{send, try_send, Resp, Scratch, Server};
use serde_json::{json, Value};

const CONFIG: &str = r#"
[routing]
inbound_queue = Support
inbound_target = Support@StatServer.GA
reserve_timeout = 30
after_call_work = 0

[agent.ann]
groups = Support
"#;

/// Waits in the queue (the offer shows which session it is), counts `bump` events, ends once
/// its agent completes the interaction.
const WAITER: &str = r#"<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript"
    xmlns:queue="http://www.genesyslab.com/modules/queue" initial="waiting">
  <datamodel><data id="bumps" expr="0"/><data id="n"/></datamodel>
  <state id="waiting">
    <onentry><queue:submit queue="'Support'" target="'Support@StatServer.GA'"
        userdata="({session: _genesys.session.id, n: n})"/></onentry>
    <transition event="bump"><assign location="bumps" expr="bumps + 1"/></transition>
    <transition event="queue.submit.done" target="talking"/>
  </state>
  <state id="talking"><transition event="queue.submit.completed" target="done"/></state>
  <final id="done"/>
</scxml>"#;

fn at(server: &Server, method: &str, path: &str) -> ureq::Request {
    server.raw_req(method, &format!("{}{path}", server.root))
}

fn post_json(server: &Server, path: &str, body: &Value) -> Resp {
    let r = at(server, "POST", path).set("Content-Type", "application/json");
    send(r, Some(body.to_string().as_bytes()))
}

fn get(server: &Server, path: &str) -> Value {
    send(at(server, "GET", path), None).ok_json(200)
}

fn queue_calls(server: &Server) -> u64 {
    let r = send(at(server, "GET", "/ringback/1/queues/Support"), None);
    if r.status == 404 {
        return 0;
    }
    r.ok_json(200)["calls"].as_u64().expect("calls")
}

fn live(server: &Server) -> u64 {
    get(server, "/scxml/sessions?limit=1")["total"]
        .as_u64()
        .expect("total")
}

fn start_waiter(server: &Server, n: usize) -> String {
    post_json(
        server,
        "/scxml/session/start",
        &json!({"src": WAITER, "n": n}),
    )
    .ok_json(200)["sessionid"]
        .as_str()
        .expect("id")
        .to_owned()
}

/// Ann takes every waiting session in turn; returns the sessions in the order she was offered
/// them (each offer's `user_data.session`).
fn serve_all(server: &Server, expected: usize) -> Vec<String> {
    // The first offer comes with the ready itself: read from before it.
    let mut since = send(at(server, "POST", "/ringback/1/agents/ann/login"), None).ok_json(200)
        ["last_event"]
        .as_u64()
        .expect("seq");
    send(at(server, "POST", "/ringback/1/agents/ann/ready"), None).ok_json(200);
    let mut order = Vec::new();
    let mut offers = HashSet::new();
    while order.len() < expected {
        let page = get(
            server,
            &format!("/ringback/1/agents/ann/events?since={since}&timeout=10"),
        );
        let events = page["events"].as_array().expect("events").clone();
        assert!(
            !events.is_empty(),
            "no offer after {} of {expected}",
            order.len()
        );
        for e in events {
            since = e["seq"].as_u64().expect("seq");
            if e["type"] != "offer" {
                continue;
            }
            let offer = e["offer"].as_str().expect("offer").to_owned();
            assert!(offers.insert(offer.clone()), "offer {offer} made twice");
            order.push(
                e["user_data"]["session"]
                    .as_str()
                    .expect("session in the offer")
                    .to_owned(),
            );
            let path = format!("/ringback/1/agents/ann/offers/{offer}/accept");
            send(at(server, "POST", &path), None).ok_json(200);
            let path = format!("/ringback/1/agents/ann/interactions/{offer}/complete");
            send(at(server, "POST", &path), None).ok_json(200);
        }
    }
    order
}

#[test]
fn a_thousand_waiting_sessions_survive_kill_9_in_their_queue_order() {
    let scratch = Scratch::new("restart");
    let ini = scratch.path().join("ringback.ini");
    std::fs::write(&ini, CONFIG).expect("config");
    let data = scratch.path().join("data");
    let mut server = Server::start_in(&data, Some(&ini));
    let ids: Vec<String> = (0..1000).map(|n| start_waiter(&server, n)).collect();
    assert_eq!(queue_calls(&server), 1000);
    server.kill();

    let server = Server::start_in(&data, Some(&ini));
    assert!(
        server.log().contains("1000 sessions restored"),
        "{}",
        server.log()
    );
    assert_eq!(live(&server), 1000);
    assert_eq!(queue_calls(&server), 1000);
    let one = get(&server, &format!("/scxml/session/{}", ids[500]));
    assert_eq!(one["activeStates"], json!(["waiting"]));
    assert_eq!(one["datamodel"]["n"], 500);
    // Served oldest first, each once; every session then ends.
    let order = serve_all(&server, 1000);
    assert_eq!(order, ids);
    for _ in 0..200 {
        if live(&server) == 0 {
            break;
        }
    }
    assert_eq!(live(&server), 0);
    assert_eq!(queue_calls(&server), 0);
}

/// A seed from the clock, printed so a failure can be replayed (`RESTART_SEED=...`).
fn seed() -> u64 {
    let s = std::env::var("RESTART_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    eprintln!("RESTART_SEED={s}");
    s
}

fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Four clients start sessions and send them events while the server is killed at a random
/// moment, three times over. Whatever was acknowledged is there after each restart, and
/// nothing counted twice: each session's `bumps` lies between the bumps acknowledged and the
/// bumps sent, and there is exactly one queue item per live session.
#[test]
fn kill_9_at_random_points_under_load_loses_nothing_acknowledged() {
    let mut rng = seed() | 1;
    let scratch = Scratch::new("kill9");
    let ini = scratch.path().join("ringback.ini");
    std::fs::write(&ini, CONFIG).expect("config");
    let data = scratch.path().join("data");
    // session id → (bumps acknowledged, bumps sent)
    let ledger: Arc<Mutex<BTreeMap<String, (u64, u64)>>> = Arc::default();
    for round in 0..3 {
        let mut server = Server::start_in(&data, Some(&ini));
        let root = server.root.clone();
        let stop = Arc::new(AtomicBool::new(false));
        // Acknowledged operations this round, and a wake-up for the killer.
        let progress = Arc::new((Mutex::new(0u64), Condvar::new()));
        let mut clients = Vec::new();
        for c in 0..4u64 {
            let (ledger, stop, root) = (ledger.clone(), stop.clone(), root.clone());
            let progress = progress.clone();
            let acked = move || {
                let (n, cv) = &*progress;
                *n.lock().expect("progress") += 1;
                cv.notify_all();
            };
            clients.push(std::thread::spawn(move || {
                let agent = ureq::AgentBuilder::new()
                    .timeout(Duration::from_secs(5))
                    .build();
                let mut mine: Vec<String> = Vec::new();
                let mut k = c;
                while !stop.load(Ordering::Relaxed) {
                    k += 1;
                    if k % 3 == 0 || mine.is_empty() {
                        let body = json!({"src": WAITER, "n": k}).to_string();
                        let req = agent
                            .post(&format!("{root}/scxml/session/start"))
                            .set("Content-Type", "application/json");
                        match try_send(req, Some(body.as_bytes())) {
                            Ok(r) if r.status == 200 => {
                                let id = r.json()["sessionid"].as_str().unwrap_or("").to_owned();
                                ledger.lock().expect("ledger").insert(id.clone(), (0, 0));
                                mine.push(id);
                                acked();
                            }
                            _ => break,
                        }
                    } else {
                        let id = mine[(k as usize) % mine.len()].clone();
                        ledger
                            .lock()
                            .expect("ledger")
                            .entry(id.clone())
                            .or_default()
                            .1 += 1;
                        let req = agent
                            .post(&format!("{root}/scxml/session/{id}/event/bump"))
                            .set("Content-Type", "application/json");
                        match try_send(req, Some(b"{}")) {
                            Ok(r) if r.status == 200 => {
                                ledger.lock().expect("ledger").entry(id).or_default().0 += 1;
                                acked();
                            }
                            _ => break,
                        }
                    }
                }
            }));
        }
        // Let the load run for 20 to 400 acknowledged operations, then kill the server
        // mid-flight.
        let target = 20 + next(&mut rng) % 380;
        {
            let (n, cv) = &*progress;
            let guard = n.lock().expect("progress");
            let _unused = cv.wait_while(guard, |n| *n < target).expect("progress");
        }
        server.kill();
        stop.store(true, Ordering::Relaxed);
        for c in clients {
            c.join().expect("client");
        }
        eprintln!(
            "round {round}: killed after {target} operations with {} sessions acknowledged",
            ledger.lock().expect("ledger").len()
        );
        // Restart and check every acknowledged session and event.
        let server = Server::start_in(&data, Some(&ini));
        let ledger = ledger.lock().expect("ledger");
        for (id, (acked, sent)) in ledger.iter() {
            let r = send(at(&server, "GET", &format!("/scxml/session/{id}")), None);
            assert_eq!(
                r.status,
                200,
                "session {id} acknowledged but lost: {}",
                r.text()
            );
            let bumps = r.json()["datamodel"]["bumps"].as_u64().expect("bumps");
            assert!(
                *acked <= bumps && bumps <= *sent,
                "session {id}: {bumps} bumps, {acked} acknowledged of {sent} sent"
            );
        }
        let total = live(&server);
        assert!(total >= ledger.len() as u64);
        assert_eq!(queue_calls(&server), total, "one queue item per session");
    }
}

/// A strategy file changed on disk between two runs: the restored session keeps running the
/// text it started with; new calls get the new text.
#[test]
fn a_restored_session_keeps_its_document_when_the_file_changes() {
    let scratch = Scratch::new("docchange");
    let file = scratch.path().join("my-strategy.scxml");
    let version = |v: &str| {
        format!(
            r#"<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript"
    xmlns:queue="http://www.genesyslab.com/modules/queue" initial="{v}waiting">
  <datamodel><data id="lost"/><data id="interaction"/></datamodel>
  <state id="{v}waiting">
    <onentry><queue:submit queue="'Support'" target="'Support@StatServer.GA'" interaction="interaction"/></onentry>
    <transition event="error.queue.submit" target="{v}waiting" type="internal">
      <assign location="lost" expr="_event.data.reason"/></transition>
  </state>
</scxml>"#
        )
    };
    std::fs::write(&file, version("one")).expect("strategy");
    let ini = scratch.path().join("ringback.ini");
    std::fs::write(
        &ini,
        CONFIG.replace(
            "[routing]\n",
            &format!("[routing]\nstrategy.7000 = file:{}\n", file.display()),
        ),
    )
    .expect("config");
    let data = scratch.path().join("data");
    let mut server = Server::start_in(&data, Some(&ini));
    let ticket = post_json(
        &server,
        "/ringback/1/telephony/calls",
        &json!({"ani": "+16505550100", "dnis": "7000"}),
    )
    .ok_json(201);
    let id = ticket["session"].as_str().expect("session").to_owned();
    let before = get(&server, &format!("/scxml/session/{id}"));
    assert_eq!(before["activeStates"], json!(["onewaiting"]));
    server.kill();

    std::fs::write(&file, version("two")).expect("strategy");
    let server = Server::start_in(&data, Some(&ini));
    let after = get(&server, &format!("/scxml/session/{id}"));
    assert_eq!(after["activeStates"], json!(["onewaiting"]));
    assert_eq!(after["documentHash"], before["documentHash"]);
    // Its call did not survive the restart, so its queue item left with it.
    assert_eq!(after["datamodel"]["lost"], "abandoned", "{after}");
    assert_eq!(after["queue"], json!([]));
    let ticket = post_json(
        &server,
        "/ringback/1/telephony/calls",
        &json!({"ani": "+16505550101", "dnis": "7000"}),
    )
    .ok_json(201);
    let fresh = get(
        &server,
        &format!(
            "/scxml/session/{}",
            ticket["session"].as_str().expect("session")
        ),
    );
    assert_eq!(fresh["activeStates"], json!(["twowaiting"]));
    assert_ne!(fresh["documentHash"], before["documentHash"]);
}
