//! Measurements for `ringback bench sessions` that run in process.

use std::cell::RefCell;
use std::rc::Rc;

use engine::config::Config;
use engine::store::Millis;
use scxml::{Event, Value};

use super::core::{CenterPort, HostCore, HostEffect, HostSettings, StartSpec};
use super::docs::Documents;
use crate::center::core::CenterCore;
use crate::center::settings::CenterSettings;

struct Direct(Rc<RefCell<CenterCore>>);

impl CenterPort for Direct {
    fn run(&mut self, f: &mut dyn FnMut(&mut CenterCore, Millis)) {
        f(&mut self.0.borrow_mut(), 0);
    }
}

/// Starts `chart` and delivers `events` one by one; returns the active state and the size of
/// the checkpoint saved after the start and after each event.
pub fn checkpoint_sizes(chart: &str, events: &[&str]) -> Result<Vec<(String, usize)>, String> {
    let (config, _) = Config::parse("").map_err(|e| e.to_string())?;
    let settings = CenterSettings::from_config(&config).map_err(|e| e.to_string())?;
    let core = Rc::new(RefCell::new(CenterCore::new(settings, Vec::new(), 0)));
    let mut host = HostCore::new(Box::new(Direct(core)), HostSettings::default(), None);
    let doc = Documents::new()
        .load("callback-like", chart)
        .map_err(|e| e.to_string())?;
    host.start(
        StartSpec {
            id: "bench".into(),
            doc,
            params: Vec::new(),
            call: None,
            reply: None,
            writes: Vec::new(),
            notify: Vec::new(),
        },
        0,
    )
    .map_err(|e| e.to_string())?;
    let mut sizes = Vec::new();
    let mut record = |host: &mut HostCore| {
        let state = host
            .info("bench")
            .map(|i| i.active.join(" "))
            .unwrap_or_else(|| "ended".into());
        for e in host.take_effects() {
            if let HostEffect::Save { checkpoint, .. } = e {
                sizes.push((state.clone(), checkpoint.len()));
            }
        }
    };
    record(&mut host);
    for (i, name) in events.iter().enumerate() {
        host.event(
            "bench",
            Event::external(*name, Value::Undefined),
            None,
            i as Millis,
        )
        .map_err(|e| e.to_string())?;
        record(&mut host);
    }
    Ok(sizes)
}
