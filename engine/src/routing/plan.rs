//! The `_target` option as a list of up to 15 targets, and its escalation over time.
//!
//! Callback UG, `_target` (help lines 2499–2502, repeated at 2642–2645, 2897–2903, 3070–3076):
//!
//! ```text
//! [{ "target": "<Target String>@<StatServer name>.<Target Type>", "timeout": "<integer>",
//!    "clear": <true/false>, "stat_to_check": "<stat name>", "stat_operator": "< or >",
//!    "stat_value": "1" }]
//! ```
//!
//! - "a JSON-formatted string array of maximum 15 elements" (5 before 8.5.114.09);
//! - "`timeout` specifies how long to wait in seconds before switching of targets";
//! - "`stat_to_check` can be set to any of the values supported by the Statistics parameter
//!   passed to the IRD function SData(Target, Statistics), unless target is a skill expression",
//!   in which case only `RStatAgentsReadyvoice`, `RStatAgentsReady` or `RStatAgentsTotal`;
//! - "If the condition set by the combination of stat_to_check, stat_operator, and stat_value is
//!   met, the current target is skipped, except if it is the last target of the list";
//! - "If clear=true, the target will be overridden when switching to the next target; if
//!   clear=false, the target will be expanded with the next target."
//!
//! How this module reads those rules (the help is terse; each choice is the literal reading):
//!
//! - **Skip.** The stat condition says when *not* to use an entry (e.g. `RStatAgentsReady < 1`:
//!   nobody is ready there). It is checked once, when the list reaches the entry (at the start
//!   for the first entry, at the switch instant for later ones). If it holds, the list moves on
//!   at that same instant without waiting the entry's timeout. The last entry is never skipped.
//!   A skipped entry is transparent: its target is never added and its `clear` is not applied.
//! - **Timeout.** An entry that is used stays current for `timeout` seconds, then the list
//!   switches to the next entry. The last entry stays current for good (its timeout is ignored;
//!   the overall limit is `_urs_queued_ttl`, as the help's "Important" note says).
//! - **Clear.** `clear` belongs to the entry being left, like `timeout`: when switching away from
//!   an entry with `clear=true`, the active targets are replaced by the next entry's target;
//!   with `clear=false` (the default) the next target is added to those already active.
//! - **Values.** The help's own example writes `timeout` and `stat_value` as JSON strings, so
//!   numbers and numeric strings are both accepted; `clear` is a JSON boolean (or "true"/
//!   "false"). `stat_operator` is `<` or `>`, the two the help names. `timeout` is required on
//!   every entry but the last, where it has no effect.

use std::fmt;

use serde_json::{Map, Value};

use super::target::{Target, TargetError};

/// Most entries a `_target` list may have (8.5.114.09 and later).
pub const MAX_TARGETS: usize = 15;

const KEYS: [&str; 6] = [
    "target",
    "timeout",
    "clear",
    "stat_to_check",
    "stat_operator",
    "stat_value",
];

/// The statistic an entry's skip condition reads.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StatKind {
    /// `RStatAgentsReady`: agents ready for any media.
    AgentsReady,
    /// `RStatAgentsReadyvoice`: agents ready for voice.
    AgentsReadyVoice,
    /// `RStatAgentsTotal`: agents logged in.
    AgentsTotal,
    /// Any other `SData` statistic (not allowed with skill-expression targets).
    Other(String),
}

impl StatKind {
    /// The statistic's name as written in `stat_to_check`.
    pub fn name(&self) -> &str {
        match self {
            StatKind::AgentsReady => "RStatAgentsReady",
            StatKind::AgentsReadyVoice => "RStatAgentsReadyvoice",
            StatKind::AgentsTotal => "RStatAgentsTotal",
            StatKind::Other(name) => name,
        }
    }

    fn from_name(name: &str) -> StatKind {
        match name {
            "RStatAgentsReady" => StatKind::AgentsReady,
            "RStatAgentsReadyvoice" => StatKind::AgentsReadyVoice,
            "RStatAgentsTotal" => StatKind::AgentsTotal,
            other => StatKind::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for StatKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `stat_operator`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatOperator {
    Less,
    Greater,
}

impl StatOperator {
    pub fn as_str(self) -> &'static str {
        match self {
            StatOperator::Less => "<",
            StatOperator::Greater => ">",
        }
    }
}

/// `stat_to_check stat_operator stat_value`: when it holds, the entry is skipped.
#[derive(Debug, Clone, PartialEq)]
pub struct StatCheck {
    pub stat: StatKind,
    pub operator: StatOperator,
    pub value: f64,
}

impl StatCheck {
    /// Whether `current <operator> value` holds (NaN statistics never meet it).
    pub fn is_met(&self, current: f64) -> bool {
        match self.operator {
            StatOperator::Less => current < self.value,
            StatOperator::Greater => current > self.value,
        }
    }
}

/// One element of the `_target` list.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetEntry {
    pub target: Target,
    /// Seconds before switching to the next entry; `None` only on the last entry.
    pub timeout_secs: Option<u64>,
    pub clear: bool,
    /// The skip condition, if any.
    pub skip_if: Option<StatCheck>,
}

impl TargetEntry {
    fn timeout_ms(&self) -> Option<i64> {
        self.timeout_secs
            .map(|s| i64::try_from(s).unwrap_or(i64::MAX).saturating_mul(1000))
    }
}

/// The parsed `_target` option: 1 to [`MAX_TARGETS`] entries.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetList {
    entries: Vec<TargetEntry>,
}

fn list_err(entry: Option<usize>, message: String) -> TargetError {
    TargetError::List { entry, message }
}

impl TargetList {
    /// The `_target` option's value: a JSON array when it starts with `[`, otherwise one
    /// target string (a one-entry list).
    pub fn parse(option: &str) -> Result<TargetList, TargetError> {
        if option.trim_start().starts_with('[') {
            TargetList::parse_json(option)
        } else {
            Ok(TargetList::single(Target::parse(option)?))
        }
    }

    /// A one-entry list.
    pub fn single(target: Target) -> TargetList {
        TargetList {
            entries: vec![TargetEntry {
                target,
                timeout_secs: None,
                clear: false,
                skip_if: None,
            }],
        }
    }

    /// Parses the multiple-target JSON array.
    pub fn parse_json(json: &str) -> Result<TargetList, TargetError> {
        let value: Value = serde_json::from_str(json)
            .map_err(|e| list_err(None, format!("the target list is not valid JSON: {e}")))?;
        let Value::Array(items) = value else {
            return Err(list_err(
                None,
                "the target list must be a JSON array of objects".into(),
            ));
        };
        if items.is_empty() {
            return Err(list_err(
                None,
                format!("the target list is empty (expected 1 to {MAX_TARGETS} entries)"),
            ));
        }
        if items.len() > MAX_TARGETS {
            return Err(list_err(
                None,
                format!(
                    "the target list has {} entries; at most {MAX_TARGETS} are allowed",
                    items.len()
                ),
            ));
        }
        let last = items.len() - 1;
        let entries = items
            .iter()
            .enumerate()
            .map(|(i, item)| parse_entry(i, i == last, item))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(TargetList { entries })
    }

    pub fn entries(&self) -> &[TargetEntry] {
        &self.entries
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Always false: a list has at least one entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Time from the start until the last entry is reached if nothing is skipped, in seconds:
    /// what the help says `_urs_queued_ttl` must at least cover.
    pub fn total_timeout_secs(&self) -> u64 {
        let n = self.entries.len().saturating_sub(1);
        self.entries[..n]
            .iter()
            .map(|e| e.timeout_secs.unwrap_or(0))
            .fold(0u64, u64::saturating_add)
    }
}

fn parse_entry(i: usize, is_last: bool, item: &Value) -> Result<TargetEntry, TargetError> {
    let Value::Object(obj) = item else {
        return Err(list_err(
            Some(i),
            format!("_target[{i}] must be an object with a \"target\" key, not {item}"),
        ));
    };
    if let Some(bad) = obj.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(list_err(
            Some(i),
            format!(
                "_target[{i}] has unknown key \"{bad}\" (expected target, timeout, clear, \
                 stat_to_check, stat_operator or stat_value)"
            ),
        ));
    }
    let target = match obj.get("target") {
        None => {
            return Err(list_err(
                Some(i),
                format!("_target[{i}] is missing \"target\""),
            ))
        }
        Some(Value::String(s)) => Target::parse(s).map_err(|e| TargetError::Entry {
            entry: i,
            source: Box::new(e),
        })?,
        Some(other) => {
            return Err(list_err(
                Some(i),
                format!("_target[{i}].target must be a string, not {other}"),
            ))
        }
    };
    let timeout_secs = match obj.get("timeout") {
        None if is_last => None,
        None => {
            return Err(list_err(
                Some(i),
                format!(
                    "_target[{i}] is missing \"timeout\" (seconds to wait before switching \
                     to the next target)"
                ),
            ))
        }
        Some(v) => Some(parse_timeout(i, v)?),
    };
    let clear = match obj.get("clear") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) if s == "true" => true,
        Some(Value::String(s)) if s == "false" => false,
        Some(other) => {
            return Err(list_err(
                Some(i),
                format!("_target[{i}].clear must be true or false, not {other}"),
            ))
        }
    };
    let skip_if = parse_stat_check(i, obj, &target)?;
    Ok(TargetEntry {
        target,
        timeout_secs,
        clear,
        skip_if,
    })
}

fn parse_timeout(i: usize, v: &Value) -> Result<u64, TargetError> {
    let secs = match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse::<u64>().ok()
        }
        _ => None,
    };
    secs.ok_or_else(|| {
        list_err(
            Some(i),
            format!("_target[{i}].timeout must be a whole number of seconds (0 or more), not {v}"),
        )
    })
}

fn parse_stat_check(
    i: usize,
    obj: &Map<String, Value>,
    target: &Target,
) -> Result<Option<StatCheck>, TargetError> {
    let stat = obj.get("stat_to_check");
    let op = obj.get("stat_operator");
    let value = obj.get("stat_value");
    if stat.is_none() && op.is_none() && value.is_none() {
        return Ok(None);
    }
    let (Some(stat), Some(op), Some(value)) = (stat, op, value) else {
        let missing: Vec<&str> = [
            ("stat_to_check", stat),
            ("stat_operator", op),
            ("stat_value", value),
        ]
        .iter()
        .filter(|(_, v)| v.is_none())
        .map(|(k, _)| *k)
        .collect();
        return Err(list_err(
            Some(i),
            format!(
                "_target[{i}] is missing \"{}\" (stat_to_check, stat_operator and stat_value \
                 go together)",
                missing.join("\", \"")
            ),
        ));
    };

    let stat = match stat {
        Value::String(s) if !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_') => {
            StatKind::from_name(s)
        }
        other => {
            return Err(list_err(
                Some(i),
                format!("_target[{i}].stat_to_check must be a statistic name, not {other}"),
            ))
        }
    };
    if target.is_skill_expression() && matches!(stat, StatKind::Other(_)) {
        return Err(list_err(
            Some(i),
            format!(
                "_target[{i}].stat_to_check \"{stat}\" cannot be used with a skill-expression \
                 target (expected RStatAgentsReady, RStatAgentsReadyvoice or RStatAgentsTotal)"
            ),
        ));
    }
    let operator = match op {
        Value::String(s) if s == "<" => StatOperator::Less,
        Value::String(s) if s == ">" => StatOperator::Greater,
        other => {
            return Err(list_err(
                Some(i),
                format!("_target[{i}].stat_operator must be \"<\" or \">\", not {other}"),
            ))
        }
    };
    let number = match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    let Some(value) = number.filter(|v| v.is_finite()) else {
        return Err(list_err(
            Some(i),
            format!("_target[{i}].stat_value must be a number, not {value}"),
        ));
    };
    Ok(Some(StatCheck {
        stat,
        operator,
        value,
    }))
}

/// Where an escalation stands.
#[derive(Debug, Clone, PartialEq)]
struct Position {
    /// The current entry.
    index: usize,
    /// When it became current.
    since_ms: i64,
    /// Entries whose targets are active, in order.
    active: Vec<usize>,
    /// False until the first entry's skip condition has been looked at.
    started: bool,
}

/// The `_target` list walking through time: a pure state machine, time and statistics are
/// passed in. `current` answers for any `now` from the last committed position; `advance`
/// commits, so a skip decided at a switch instant is never revisited when statistics change.
#[derive(Debug, Clone)]
pub struct Escalation {
    list: TargetList,
    at: Position,
}

impl Escalation {
    pub fn new(list: TargetList, started_at_ms: i64) -> Escalation {
        Escalation {
            list,
            at: Position {
                index: 0,
                since_ms: started_at_ms,
                active: vec![0],
                started: false,
            },
        }
    }

    pub fn list(&self) -> &TargetList {
        &self.list
    }

    /// The targets to route to at `now_ms`, in list order without repeats. `stats` gives the
    /// current value of a statistic for a target; it is read only for entries reached and not
    /// yet decided.
    pub fn current(&self, now_ms: i64, stats: &dyn Fn(&Target, &StatKind) -> f64) -> Vec<&Target> {
        let at = self.walk(now_ms, stats);
        self.targets(&at.active)
    }

    /// Moves to where the escalation stands at `now_ms` and returns when it will next change
    /// (the instant to arm a timer for), or `None` once the last entry is current.
    pub fn advance(
        &mut self,
        now_ms: i64,
        stats: &dyn Fn(&Target, &StatKind) -> f64,
    ) -> Option<i64> {
        self.at = self.walk(now_ms, stats);
        self.switch_at(&self.at)
    }

    /// The targets active at the last `advance`.
    pub fn active(&self) -> Vec<&Target> {
        self.targets(&self.at.active)
    }

    /// The index of the current entry at the last `advance`.
    pub fn position(&self) -> usize {
        self.at.index
    }

    /// The first instant after `now_ms` at which the escalation switches entries, counting
    /// timeouts from the last committed position (skips are not known without statistics; a
    /// skip happens at a switch instant, so call [`Escalation::advance`] then and ask again).
    /// `None` when no further switch is due.
    pub fn next_change(&self, now_ms: i64) -> Option<i64> {
        let mut index = self.at.index;
        let mut since = self.at.since_ms;
        let last = self.list.entries.len().checked_sub(1)?;
        while index < last {
            let at = since.saturating_add(self.list.entries.get(index)?.timeout_ms()?);
            if at > now_ms {
                return Some(at);
            }
            since = at;
            index += 1;
        }
        None
    }

    fn targets(&self, active: &[usize]) -> Vec<&Target> {
        let mut out: Vec<&Target> = Vec::with_capacity(active.len());
        for t in active
            .iter()
            .filter_map(|&i| self.list.entries.get(i))
            .map(|e| &e.target)
        {
            if !out.contains(&t) {
                out.push(t);
            }
        }
        out
    }

    fn switch_at(&self, at: &Position) -> Option<i64> {
        if at.index + 1 >= self.list.entries.len() {
            return None;
        }
        let timeout = self.list.entries.get(at.index)?.timeout_ms()?;
        Some(at.since_ms.saturating_add(timeout))
    }

    /// From `index`, the first entry that is not skipped (the last one never is).
    fn land(&self, mut index: usize, stats: &dyn Fn(&Target, &StatKind) -> f64) -> usize {
        let last = self.list.entries.len().saturating_sub(1);
        while index < last {
            let Some(entry) = self.list.entries.get(index) else {
                break;
            };
            let skipped = entry
                .skip_if
                .as_ref()
                .is_some_and(|c| c.is_met(stats(&entry.target, &c.stat)));
            if !skipped {
                break;
            }
            tracing::debug!(index, target = %entry.target, "target skipped by its stat check");
            index += 1;
        }
        index
    }

    fn walk(&self, now_ms: i64, stats: &dyn Fn(&Target, &StatKind) -> f64) -> Position {
        let mut at = self.at.clone();
        if !at.started {
            at.started = true;
            at.index = self.land(0, stats);
            at.active = vec![at.index];
        }
        while let Some(switch) = self.switch_at(&at) {
            if now_ms < switch {
                break;
            }
            let clear = self.list.entries.get(at.index).is_some_and(|e| e.clear);
            let next = self.land(at.index + 1, stats);
            if clear {
                at.active.clear();
            }
            at.active.push(next);
            at.index = next;
            at.since_ms = switch;
        }
        at
    }
}
