//! The extension point for action elements in foreign namespaces, through `System`.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use scxml::interp::{InvokeRequest, SendTarget};
use scxml::parse::{parse_document, NoLoader};
use scxml::system::{
    ActionContext, ActionHandler, Capabilities, InvokeHandler, Output, StartOptions, System,
    Transport,
};
use scxml::{EcmaDataModel, Event, Value};

/// Records what it was asked and completes the action with `queue.submit.done`.
struct QueueHandler {
    seen: Rc<RefCell<Vec<String>>>,
}

impl ActionHandler for QueueHandler {
    fn execute(&mut self, cx: ActionContext<'_>) -> Result<(), String> {
        let mut line = format!("{} {} @{}", cx.session, cx.action.name, cx.now);
        for (k, v) in &cx.action.attrs {
            // ORS action attributes are expressions in the session's data model.
            let value = cx.scope.eval(v)?;
            line.push_str(&format!(" {k}={}", value.to_display_string()));
        }
        self.seen.borrow_mut().push(line);
        if cx.action.name == "submit" {
            cx.reply.push(Event::external(
                "queue.submit.done",
                Value::Object(vec![("position".into(), Value::Number(3.0))]),
            ));
            Ok(())
        } else {
            Err(format!("queue:{} is not supported", cx.action.name))
        }
    }
}

const CHART: &str = r#"<scxml xmlns="http://www.w3.org/2005/07/scxml" xmlns:queue="www.genesyslab.com/modules/queue"
        version="1.0" datamodel="ecmascript" initial="waiting">
  <datamodel><data id="vq" expr="'vq_billing'"/><data id="prio" expr="4"/></datamodel>
  <state id="waiting">
    <onentry><queue:submit queue="vq" priority="prio + 1"/></onentry>
    <transition event="queue.submit.done" cond="_event.data.position == 3" target="cancelling"/>
  </state>
  <state id="cancelling">
    <onentry><queue:cancel queue="vq"/></onentry>
    <transition event="error.execution" cond="_event.data.message.indexOf('not supported') &gt;= 0" target="pass"/>
  </state>
  <final id="pass"/>
</scxml>"#;

#[test]
fn registered_handler_runs_foreign_actions_and_completes_them_with_events() {
    let doc = Arc::new(parse_document(CHART, None, &NoLoader).expect("chart loads"));
    let mut dm = EcmaDataModel::new();
    let mut sys: System<EcmaDataModel> = System::new(Box::new(NoLoader), Capabilities::default());
    let seen = Rc::new(RefCell::new(Vec::new()));
    sys.register_action_handler(
        "www.genesyslab.com/modules/queue",
        Box::new(QueueHandler { seen: seen.clone() }),
    );
    let id = sys.start(&mut dm, doc, 7);
    let finished: Vec<_> = sys
        .take_output()
        .into_iter()
        .filter_map(|o| match o {
            Output::Finished { final_state, .. } => final_state,
            _ => None,
        })
        .collect();
    assert_eq!(finished, vec!["pass".to_string()]);
    assert_eq!(
        *seen.borrow(),
        vec![
            format!("{id} submit @7 queue=vq_billing priority=5"),
            format!("{id} cancel @7 queue=vq_billing"),
        ]
    );
}

#[test]
fn foreign_action_without_handler_raises_error_execution_naming_it() {
    let chart = r#"<scxml xmlns="http://www.w3.org/2005/07/scxml" xmlns:queue="www.genesyslab.com/modules/queue"
            version="1.0" datamodel="ecmascript" initial="a">
      <state id="a">
        <onentry><queue:submit queue="'vq1'"/><log label="after" expr="'not reached'"/></onentry>
        <transition event="error.execution" target="done"><log label="error" expr="_event.data.message"/></transition>
      </state>
      <final id="done"/>
    </scxml>"#;
    let doc = Arc::new(parse_document(chart, None, &NoLoader).expect("chart loads"));
    let mut dm = EcmaDataModel::new();
    let mut sys: System<EcmaDataModel> = System::new(Box::new(NoLoader), Capabilities::default());
    sys.start(&mut dm, doc, 0);
    let logs: Vec<String> = sys
        .take_output()
        .into_iter()
        .filter_map(|o| match o {
            Output::Log { label, message, .. } => {
                Some(format!("{}: {message}", label.unwrap_or_default()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        logs,
        vec![
            "error: no handler for <submit> in namespace www.genesyslab.com/modules/queue"
                .to_string()
        ]
    );
}

/// Stores a request id into the location the chart names (`requestid="rid"`).
struct Assigning;

impl ActionHandler for Assigning {
    fn execute(&mut self, cx: ActionContext<'_>) -> Result<(), String> {
        let loc = cx
            .action
            .attrs
            .iter()
            .find(|(k, _)| k == "requestid")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        cx.scope
            .assign(&loc, &Value::String(format!("{}-req", cx.session)))
    }
}

#[test]
fn a_handler_assigns_locations_with_the_checks_of_assign() {
    let chart = r#"<scxml xmlns="http://www.w3.org/2005/07/scxml" xmlns:queue="www.genesyslab.com/modules/queue"
            version="1.0" datamodel="ecmascript" initial="a">
      <datamodel><data id="rid"/></datamodel>
      <state id="a">
        <onentry>
          <queue:submit requestid="rid"/><log label="rid" expr="rid"/>
          <queue:submit requestid="undeclared"/>
          <queue:submit requestid="_sessionid"/>
        </onentry>
        <transition event="error.execution"><log label="error" expr="_event.data.message"/></transition>
      </state>
    </scxml>"#;
    let doc = Arc::new(parse_document(chart, None, &NoLoader).expect("chart loads"));
    let mut dm = EcmaDataModel::new();
    let mut sys: System<EcmaDataModel> = System::new(Box::new(NoLoader), Capabilities::default());
    sys.register_action_handler("www.genesyslab.com/modules/queue", Box::new(Assigning));
    let id = sys
        .start_with(
            &mut dm,
            doc,
            StartOptions {
                id: Some("caller-chosen".into()),
                data: Vec::new(),
            },
            0,
        )
        .expect("start");
    assert_eq!(id, "caller-chosen");
    assert_eq!(
        logs(&mut sys),
        vec![
            "rid: caller-chosen-req".to_string(),
            "error: 'undeclared' is not a declared variable".to_string(),
        ]
    );
}

fn logs(sys: &mut System<EcmaDataModel>) -> Vec<String> {
    sys.take_output()
        .into_iter()
        .filter_map(|o| match o {
            Output::Log { label, message, .. } => {
                Some(format!("{}: {message}", label.unwrap_or_default()))
            }
            _ => None,
        })
        .collect()
}

/// A host-served invoke type: records what it is asked.
struct Recorder(Rc<RefCell<Vec<String>>>);

impl InvokeHandler for Recorder {
    fn start(&mut self, session: &str, req: &InvokeRequest, now: u64) -> Result<(), String> {
        let params: Vec<String> = req
            .params
            .iter()
            .map(|(k, v)| format!("{k}={}", v.to_display_string()))
            .collect();
        self.0.borrow_mut().push(format!(
            "start {session} {} {} @{now} {}",
            req.invokeid,
            req.type_,
            params.join(",")
        ));
        Ok(())
    }
    fn send(&mut self, session: &str, invokeid: &str, ev: &Event, now: u64) -> Result<(), String> {
        self.0
            .borrow_mut()
            .push(format!("send {session} {invokeid} {} @{now}", ev.name));
        Ok(())
    }
    fn cancel(&mut self, session: &str, invokeid: &str, now: u64) {
        self.0
            .borrow_mut()
            .push(format!("cancel {session} {invokeid} @{now}"));
    }
}

#[test]
fn host_invoke_types_start_receive_and_are_cancelled() {
    let chart = r##"<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript" initial="busy">
      <state id="busy">
        <invoke type="x-recorder" id="rec"><param name="who" expr="'bob'"/></invoke>
        <transition event="poke"><send target="#_rec" event="hello"/></transition>
        <transition event="reply" target="idle"><log label="reply" expr="_event.invokeid + ' ' + _event.data"/></transition>
      </state>
      <state id="idle"/>
    </scxml>"##;
    let doc = Arc::new(parse_document(chart, None, &NoLoader).expect("chart loads"));
    let mut dm = EcmaDataModel::new();
    let mut sys: System<EcmaDataModel> = System::new(Box::new(NoLoader), Capabilities::default());
    let seen = Rc::new(RefCell::new(Vec::new()));
    sys.register_invoke_handler("x-recorder", Box::new(Recorder(seen.clone())));
    let id = sys.start(&mut dm, doc, 5);
    sys.deliver(&mut dm, &id, Event::external("poke", Value::Undefined), 6);
    sys.deliver_from_invoked(
        &mut dm,
        &id,
        "rec",
        Event::external("reply", Value::String("hi".into())),
        7,
    );
    assert_eq!(logs(&mut sys), vec!["reply: rec hi".to_string()]);
    assert_eq!(
        *seen.borrow(),
        vec![
            format!("start {id} rec x-recorder @5 who=bob"),
            format!("send {id} rec hello @6"),
            format!("cancel {id} rec @7"),
        ]
    );
}

/// Reaches sessions of "another system" (here: a list of names) and records the sends.
struct Elsewhere(Rc<RefCell<Vec<String>>>);

impl Transport for Elsewhere {
    fn send(&mut self, session: &str, target: &SendTarget, event: &Event) -> Result<(), String> {
        self.0
            .borrow_mut()
            .push(format!("{session} -> {target:?}: {}", event.name));
        Ok(())
    }
    fn poll(&mut self) -> Option<(String, Event)> {
        None
    }
    fn session_exists(&self, id: &str) -> bool {
        id == "on-host-2"
    }
}

#[test]
fn sends_to_sessions_of_another_system_go_through_the_transport() {
    let chart = r##"<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript" initial="a">
      <state id="a"><onentry>
        <send target="#_scxml_on-host-2" event="hello"/>
        <send target="#_scxml_nowhere" event="lost"/>
      </onentry>
      <transition event="error.communication"><log label="error" expr="_event.data.message"/></transition>
      </state>
    </scxml>"##;
    let doc = Arc::new(parse_document(chart, None, &NoLoader).expect("chart loads"));
    let mut dm = EcmaDataModel::new();
    let mut sys: System<EcmaDataModel> = System::new(Box::new(NoLoader), Capabilities::default());
    let sent = Rc::new(RefCell::new(Vec::new()));
    sys.set_transport(Box::new(Elsewhere(sent.clone())));
    let id = sys.start(&mut dm, doc, 0);
    assert_eq!(
        *sent.borrow(),
        vec![format!("{id} -> Session(\"on-host-2\"): hello")]
    );
    assert_eq!(
        logs(&mut sys),
        vec!["error: no session 'nowhere'".to_string()]
    );
}

#[test]
fn native_functions_learn_which_session_is_running() {
    use boa_engine::{js_string, NativeFunction};
    let chart = r#"<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript" initial="a">
      <state id="a"><onentry><log label="me" expr="whoami()"/></onentry></state>
    </scxml>"#;
    let doc = Arc::new(parse_document(chart, None, &NoLoader).expect("chart loads"));
    let mut dm = EcmaDataModel::new();
    let f = NativeFunction::from_fn_ptr(|_, _, _| {
        Ok(scxml::ecma::with_current_session(|id| {
            boa_engine::JsString::from(id).into()
        }))
    });
    dm.context()
        .register_global_builtin_callable(js_string!("whoami"), 0, f)
        .expect("global");
    let mut sys: System<EcmaDataModel> = System::new(Box::new(NoLoader), Capabilities::default());
    let a = sys.start(&mut dm, doc.clone(), 0);
    let b = sys.start(&mut dm, doc, 0);
    assert_eq!(logs(&mut sys), vec![format!("me: {a}"), format!("me: {b}")]);
}
