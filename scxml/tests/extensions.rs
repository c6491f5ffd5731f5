//! The extension point for action elements in foreign namespaces, through `System`.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use scxml::model::CustomAction;
use scxml::parse::{parse_document, NoLoader};
use scxml::system::{ActionHandler, Capabilities, Output, System};
use scxml::{EcmaDataModel, Event, Value};

/// Records what it was asked and completes the action with `queue.submit.done`.
struct QueueHandler {
    seen: Rc<RefCell<Vec<String>>>,
}

impl ActionHandler for QueueHandler {
    fn execute(
        &mut self,
        session: &str,
        action: &CustomAction,
        eval: &mut dyn FnMut(&str) -> Result<Value, String>,
        reply: &mut Vec<Event>,
    ) -> Result<(), String> {
        let mut line = format!("{session} {}", action.name);
        for (k, v) in &action.attrs {
            // ORS action attributes are expressions in the session's data model.
            let value = eval(v)?;
            line.push_str(&format!(" {k}={}", value.to_display_string()));
        }
        self.seen.borrow_mut().push(line);
        if action.name == "submit" {
            reply.push(Event::external(
                "queue.submit.done",
                Value::Object(vec![("position".into(), Value::Number(3.0))]),
            ));
            Ok(())
        } else {
            Err(format!("queue:{} is not supported", action.name))
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
    let id = sys.start(&mut dm, doc, 0);
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
            format!("{id} submit queue=vq_billing priority=5"),
            format!("{id} cancel queue=vq_billing"),
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
