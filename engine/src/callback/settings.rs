//! The node's `[callback]` section, spelled as GMS spells it (gms-api.md §1.2, §1.8,
//! callback-options.md): defaults every callback service shares.

use crate::config::option;

/// `[callback]` with its defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackSettings {
    /// `max_queued_callbacks_per_service`: the queue limit of a service that sets none.
    pub max_queued_per_service: u64,
    /// `queue-polling-rate`: seconds between two scans of the stored callbacks.
    pub polling_rate_s: u64,
    /// `queue-polling-rate-recover`: seconds between two recovery scans.
    pub polling_rate_recover_s: u64,
    /// `log-background-activity`: background scans logged at info rather than debug.
    pub log_background_activity: bool,
    /// `returned-keys`: record keys every query answers besides the fixed ones.
    pub returned_keys: Vec<String>,
    /// `filter-keys`: the keys `GET /genesys/1/admin/callback/queues` filters on.
    pub filter_keys: Vec<String>,
    /// `enable-restore-vq-position`: a resubmitted callback keeps its priority and age.
    pub restore_vq_position: bool,
    /// `callback_column_alias` (a JSON object, `{"_LOB": "Line Of Business"}`): the names the
    /// Callback panel shows for record keys (by key).
    pub column_alias: Vec<(String, String)>,
}

impl Default for CallbackSettings {
    fn default() -> Self {
        CallbackSettings {
            max_queued_per_service: super::admission::DEFAULT_MAX_QUEUED,
            polling_rate_s: 60,
            polling_rate_recover_s: 3600,
            log_background_activity: false,
            returned_keys: keys("_desired_time,_callback_state,_callback_reason,_ors_session_id"),
            filter_keys: keys(
                "_callback_state,_callback_reason,_request_queue_time_stat,_request_ewt_service,_vq",
            ),
            restore_vq_position: true,
            column_alias: Vec::new(),
        }
    }
}

impl CallbackSettings {
    /// Reads the section; a value that does not parse keeps the default and is reported.
    pub fn from_section(options: Option<&[(String, String)]>) -> (CallbackSettings, Vec<String>) {
        let mut s = CallbackSettings::default();
        let mut problems = Vec::new();
        let Some(options) = options else {
            return (s, problems);
        };
        let get = |k: &str| option(options, k).map(str::trim).filter(|v| !v.is_empty());
        let mut number = |key: &str, slot: &mut u64| {
            if let Some(v) = get(key) {
                match v.parse::<u64>() {
                    Ok(n) => *slot = n,
                    Err(_) => problems.push(format!(
                        "[callback] {key} must be a whole number, not '{v}'; using {slot}"
                    )),
                }
            }
        };
        number(
            "max_queued_callbacks_per_service",
            &mut s.max_queued_per_service,
        );
        number("queue-polling-rate", &mut s.polling_rate_s);
        number("queue-polling-rate-recover", &mut s.polling_rate_recover_s);
        let mut flag = |key: &str, slot: &mut bool| {
            if let Some(v) = get(key) {
                match v.to_ascii_lowercase().as_str() {
                    "true" => *slot = true,
                    "false" => *slot = false,
                    _ => problems.push(format!(
                        "[callback] {key} must be true or false, not '{v}'; using {slot}"
                    )),
                }
            }
        };
        flag("log-background-activity", &mut s.log_background_activity);
        flag("enable-restore-vq-position", &mut s.restore_vq_position);
        if let Some(v) = get("returned-keys") {
            s.returned_keys = keys(v);
        }
        if let Some(v) = get("filter-keys") {
            s.filter_keys = keys(v);
        }
        if let Some(v) = get("callback_column_alias") {
            match column_alias(v) {
                Ok(a) => s.column_alias = a,
                Err(e) => problems.push(format!(
                    "[callback] callback_column_alias must be a JSON object of key to column name \
                     ({e}); no aliases"
                )),
            }
        }
        (s, problems)
    }
}

/// `{"key": "alias", ...}`, by key.
fn column_alias(text: &str) -> Result<Vec<(String, String)>, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let serde_json::Value::Object(map) = value else {
        return Err("not an object".into());
    };
    map.into_iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(alias) => Ok((k, alias)),
            other => Err(format!("the alias of '{k}' is {other}, not a string")),
        })
        .collect()
}

/// A comma list of keys, trimmed, each once, in order.
fn keys(list: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for k in list.split(',').map(str::trim).filter(|k| !k.is_empty()) {
        if !out.iter().any(|o| o == k) {
            out.push(k.to_owned());
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn column_aliases_are_read_and_a_bad_one_is_reported() {
        let (config, _) = Config::parse(
            "[callback]\ncallback_column_alias = {\"_LOB\": \"Line Of Business\", \"_a\": \"A\"}\n",
        )
        .unwrap();
        let (s, problems) = CallbackSettings::from_section(config.section("callback"));
        assert_eq!(problems, Vec::<String>::new());
        assert_eq!(
            s.column_alias,
            [
                ("_LOB".to_owned(), "Line Of Business".to_owned()),
                ("_a".to_owned(), "A".to_owned())
            ]
        );
        let (config, _) =
            Config::parse("[callback]\ncallback_column_alias = {\"_LOB\": 3}\n").unwrap();
        let (s, problems) = CallbackSettings::from_section(config.section("callback"));
        assert!(s.column_alias.is_empty());
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("'_LOB' is 3"), "{problems:?}");
    }

    #[test]
    fn gms_spellings_with_defaults_and_problems_named() {
        let (config, warnings) = Config::parse(
            "[callback]\nqueue-polling-rate = 5\nqueue-polling-rate-recover = 60\n\
             log-background-activity = TRUE\nmax_queued_callbacks_per_service = 20\n\
             returned-keys = _desired_time, _callback_state,_callback_state, first_name\n\
             enable-restore-vq-position = maybe\n",
        )
        .unwrap();
        assert_eq!(warnings, []);
        let (s, problems) = CallbackSettings::from_section(config.section("callback"));
        assert_eq!(s.polling_rate_s, 5);
        assert_eq!(s.polling_rate_recover_s, 60);
        assert!(s.log_background_activity);
        assert_eq!(s.max_queued_per_service, 20);
        // GMS's own default repeats _callback_state; keys are kept once.
        assert_eq!(
            s.returned_keys,
            ["_desired_time", "_callback_state", "first_name"]
        );
        assert_eq!(s.filter_keys, CallbackSettings::default().filter_keys);
        assert!(s.restore_vq_position);
        assert_eq!(
            problems,
            ["[callback] enable-restore-vq-position must be true or false, not 'maybe'; using true"]
        );
        assert_eq!(
            CallbackSettings::from_section(None),
            (CallbackSettings::default(), Vec::new())
        );
    }
}
