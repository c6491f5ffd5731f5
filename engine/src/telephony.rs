//! The telephony simulator: a sans-IO switch for voice and chat interactions.
//!
//! [`DialRules`] decide what happens when the switch dials a customer number (answer after N ms,
//! busy, no answer, answering machine, invalid number); [`Switch`] holds the interactions, their
//! parties and states, and the timers for dial outcomes. Time is always passed in: every
//! operation takes `now`, [`Switch::next_deadline`] says when the next timer is due and
//! [`Switch::advance`] fires the due timers and hands back every event emitted since the last
//! call. Nothing here reads the clock, sleeps or spawns threads.
//!
//! # Dial rules
//!
//! The run-time configuration (`PUT /ringback/1/telephony/rules`) is JSON:
//!
//! ```json
//! {"rules": [{"match": "6505550100", "outcome": "busy", "after_ms": 500},
//!            {"match": "650*",       "outcome": "answer", "after_ms": 2000},
//!            {"match": "/^\\+1900/", "outcome": "invalid"}],
//!  "default": {"outcome": "answer", "after_ms": 1000}}
//! ```
//!
//! * `match` is an exact number (`6505550100`), a prefix ending in one `*` (`650*`; `*` alone
//!   matches every number), or a regular expression between slashes (`/^\+1900/`, searched
//!   unanchored, so anchor it yourself). Matching is on the number exactly as dialled.
//! * `outcome` is `answer`, `busy`, `no_answer`, `machine` or `invalid`; `after_ms` (0 to one
//!   hour, default 0) is when the outcome happens, counted from the dial. For `no_answer` it is
//!   how long the number rings before the switch gives up.
//! * Rules are tried in order and the first match wins; `default` applies when none matches
//!   (when `default` is omitted it is `answer` after 1000 ms).
//! * A number that is not dialable — anything but digits after an optional leading `+`, or
//!   fewer than 3 / more than 15 digits — is `invalid` after 0 ms whatever the rules say.
//!
//! Problems are reported as [`RulesError::Field`] naming the rule index and the field.
//!
//! # Interactions
//!
//! | operation | from state | to state | events |
//! |---|---|---|---|
//! | [`Switch::dial`] | — | `Dialing` / `Ringing` | `Dialing`, `Ringing` (unless busy/invalid) |
//! | outcome timer | `Dialing` / `Ringing` | `Connected` (answer, machine) or `Released` | `Answered` / `AnsweringMachine` / `Busy` + `Released` / `NoAnswer` + `Released` / `InvalidNumber` + `Released` |
//! | [`Switch::inbound`] | — | `Alerting` (at the route point `dnis`) | `Arrived` |
//! | [`Switch::chat_start`] | — | `Connected` | `ChatStarted` |
//! | [`Switch::play_treatment`] | `Alerting`, `Connected`, `Treatment` | `Treatment(name)` | (`TreatmentStopped`), `TreatmentStarted` |
//! | [`Switch::stop_treatment`] | `Treatment` | `Connected` | `TreatmentStopped` |
//! | [`Switch::connect_agent`] | `Alerting`, `Connected`, `Treatment` | `Established` | (`TreatmentStopped`), `PartyJoined`, (`PartyLeft` route point), `Established` |
//! | [`Switch::transfer`] | `Established` | `Established` | `PartyLeft`, `PartyJoined`, `Transferred` |
//! | [`Switch::hangup`] | any but `Released` | `Released` | (`TreatmentStopped`), `PartyLeft`, `Released{by}` |
//! | [`Switch::release_call`] | any but `Released` | `Released` | (`TreatmentStopped`), `PartyLeft` for each party, `Released{Network}` |
//!
//! Treatments are voice only; chat messages are chat only. An answering machine leaves the call
//! `Connected` so the strategy decides (hang up, or play a message). Every operation first fires
//! the timers due at `now`, so events come out in time order.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::str::FromStr;

use fancy_regex::{Regex, RegexBuilder};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{json, Map, Value};
use thiserror::Error;

pub use crate::store::Millis;

/// Longest `after_ms` a rule may have: one hour.
pub const MAX_AFTER_MS: Millis = 3_600_000;
/// Fewest and most digits of a dialable number (E.164 allows at most 15).
pub const MIN_DIGITS: usize = 3;
pub const MAX_DIGITS: usize = 15;
const BACKTRACK_LIMIT: usize = 100_000;

// ---------------------------------------------------------------------------------------------
// Dial rules
// ---------------------------------------------------------------------------------------------

/// What happens to an outbound dial.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Answer,
    Busy,
    NoAnswer,
    Machine,
    Invalid,
}

impl Outcome {
    pub const ALL: [Outcome; 5] = [
        Outcome::Answer,
        Outcome::Busy,
        Outcome::NoAnswer,
        Outcome::Machine,
        Outcome::Invalid,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Answer => "answer",
            Outcome::Busy => "busy",
            Outcome::NoAnswer => "no_answer",
            Outcome::Machine => "machine",
            Outcome::Invalid => "invalid",
        }
    }
}

impl FromStr for Outcome {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == s).ok_or(())
    }
}

/// How a rule matches a number.
#[derive(Debug, Clone)]
pub enum NumberMatch {
    /// The whole number, as dialled.
    Exact(String),
    /// Numbers starting with this (written `650*`; `*` alone is the empty prefix).
    Prefix(String),
    /// A regular expression (written `/…/`), searched unanchored.
    Regex(Regex),
}

impl NumberMatch {
    /// Parses the `match` field; the error is the message only.
    pub fn parse(pattern: &str) -> Result<NumberMatch, String> {
        if pattern.is_empty() {
            return Err("must not be empty".into());
        }
        if pattern.len() >= 2 && pattern.starts_with('/') && pattern.ends_with('/') {
            let source = &pattern[1..pattern.len() - 1];
            if source.is_empty() {
                return Err("empty regular expression".into());
            }
            return RegexBuilder::new(source)
                .backtrack_limit(BACKTRACK_LIMIT)
                .build()
                .map(NumberMatch::Regex)
                .map_err(|e| format!("bad regular expression: {e}"));
        }
        if pattern.starts_with('/') {
            return Err("a regular expression must be written /…/".into());
        }
        if pattern.chars().any(char::is_whitespace) {
            return Err("must not contain whitespace".into());
        }
        match pattern.find('*') {
            Some(i) if i + 1 == pattern.len() => Ok(NumberMatch::Prefix(pattern[..i].to_owned())),
            Some(_) => Err("`*` is only allowed once, at the end (prefix match)".into()),
            None => Ok(NumberMatch::Exact(pattern.to_owned())),
        }
    }

    pub fn matches(&self, number: &str) -> bool {
        match self {
            NumberMatch::Exact(n) => n == number,
            NumberMatch::Prefix(p) => number.starts_with(p.as_str()),
            // A regex that hits the backtrack limit does not match.
            NumberMatch::Regex(r) => r.is_match(number).unwrap_or(false),
        }
    }

    /// The pattern as written in JSON.
    pub fn source(&self) -> String {
        match self {
            NumberMatch::Exact(n) => n.clone(),
            NumberMatch::Prefix(p) => format!("{p}*"),
            NumberMatch::Regex(r) => format!("/{}/", r.as_str()),
        }
    }
}

/// One rule: numbers matching `pattern` get `outcome` after `after_ms`.
#[derive(Debug, Clone)]
pub struct DialRule {
    pub pattern: NumberMatch,
    pub outcome: Outcome,
    pub after_ms: Millis,
}

/// The ordered rules plus the default; first match wins.
#[derive(Debug, Clone)]
pub struct DialRules {
    pub rules: Vec<DialRule>,
    pub default: (Outcome, Millis),
}

impl Default for DialRules {
    /// No rules; every dialable number answers after 1000 ms.
    fn default() -> Self {
        DialRules {
            rules: Vec::new(),
            default: (Outcome::Answer, 1000),
        }
    }
}

/// A problem in the rules' JSON.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RulesError {
    #[error("rules are not valid JSON: {0}")]
    Json(String),
    /// `index` is the position in `rules` (None for the top level or `default`).
    #[error("{}: {message}", path(*.index, .field))]
    Field {
        index: Option<usize>,
        field: String,
        message: String,
    },
}

fn path(index: Option<usize>, field: &str) -> String {
    match index {
        Some(i) if field.is_empty() => format!("rules[{i}]"),
        Some(i) => format!("rules[{i}].{field}"),
        None => field.to_owned(),
    }
}

fn field_error(index: Option<usize>, field: &str, message: impl Into<String>) -> RulesError {
    RulesError::Field {
        index,
        field: field.to_owned(),
        message: message.into(),
    }
}

/// True when `number` is `+`? followed by 3 to 15 digits and nothing else.
pub fn is_dialable(number: &str) -> bool {
    let digits = number.strip_prefix('+').unwrap_or(number);
    (MIN_DIGITS..=MAX_DIGITS).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

impl DialRules {
    /// The outcome for `number` and when it happens (ms after the dial).
    pub fn outcome(&self, number: &str) -> (Outcome, Millis) {
        if !is_dialable(number) {
            return (Outcome::Invalid, 0);
        }
        self.rules
            .iter()
            .find(|r| r.pattern.matches(number))
            .map_or(self.default, |r| (r.outcome, r.after_ms))
    }

    pub fn from_json(text: &str) -> Result<DialRules, RulesError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| RulesError::Json(e.to_string()))?;
        DialRules::from_value(&value)
    }

    /// Validates the JSON shape; unknown fields are errors too.
    pub fn from_value(value: &Value) -> Result<DialRules, RulesError> {
        let top = value.as_object().ok_or_else(|| {
            field_error(
                None,
                "",
                "expected an object {\"rules\":[…],\"default\":{…}}",
            )
        })?;
        check_keys(top, None, "", &["rules", "default"])?;
        let mut rules = Vec::new();
        match top.get("rules") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    let obj = item
                        .as_object()
                        .ok_or_else(|| field_error(Some(i), "", "expected an object"))?;
                    check_keys(obj, Some(i), "", &["match", "outcome", "after_ms"])?;
                    let pattern = match obj.get("match") {
                        Some(Value::String(s)) => {
                            NumberMatch::parse(s).map_err(|m| field_error(Some(i), "match", m))?
                        }
                        Some(_) => return Err(field_error(Some(i), "match", "expected a string")),
                        None => return Err(field_error(Some(i), "match", "missing")),
                    };
                    let (outcome, after_ms) = outcome_and_delay(obj, Some(i), "")?;
                    rules.push(DialRule {
                        pattern,
                        outcome,
                        after_ms,
                    });
                }
            }
            Some(_) => return Err(field_error(None, "rules", "expected an array")),
        }
        let default = match top.get("default") {
            None | Some(Value::Null) => DialRules::default().default,
            Some(Value::Object(obj)) => {
                check_keys(obj, None, "default.", &["outcome", "after_ms"])?;
                outcome_and_delay(obj, None, "default.")?
            }
            Some(_) => return Err(field_error(None, "default", "expected an object")),
        };
        Ok(DialRules { rules, default })
    }

    pub fn to_value(&self) -> Value {
        let rules: Vec<Value> = self
            .rules
            .iter()
            .map(|r| {
                json!({"match": r.pattern.source(), "outcome": r.outcome.as_str(), "after_ms": r.after_ms})
            })
            .collect();
        json!({
            "rules": rules,
            "default": {"outcome": self.default.0.as_str(), "after_ms": self.default.1},
        })
    }

    pub fn to_json(&self) -> String {
        self.to_value().to_string()
    }
}

fn check_keys(
    obj: &Map<String, Value>,
    index: Option<usize>,
    prefix: &str,
    allowed: &[&str],
) -> Result<(), RulesError> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(field_error(
            index,
            &format!("{prefix}{k}"),
            format!("unknown field (expected one of {})", allowed.join(", ")),
        )),
        None => Ok(()),
    }
}

fn outcome_and_delay(
    obj: &Map<String, Value>,
    index: Option<usize>,
    prefix: &str,
) -> Result<(Outcome, Millis), RulesError> {
    let field = |f: &str| format!("{prefix}{f}");
    let outcome = match obj.get("outcome") {
        Some(Value::String(s)) => s.parse::<Outcome>().map_err(|()| {
            field_error(
                index,
                &field("outcome"),
                format!(
                    "unknown outcome {s:?} (expected answer, busy, no_answer, machine or invalid)"
                ),
            )
        })?,
        Some(_) => return Err(field_error(index, &field("outcome"), "expected a string")),
        None => return Err(field_error(index, &field("outcome"), "missing")),
    };
    let after_ms = match obj.get("after_ms") {
        None | Some(Value::Null) => 0,
        Some(v) => match v.as_i64() {
            Some(n) if (0..=MAX_AFTER_MS).contains(&n) => n,
            _ => {
                return Err(field_error(
                    index,
                    &field("after_ms"),
                    format!("expected an integer from 0 to {MAX_AFTER_MS}, got {v}"),
                ))
            }
        },
    };
    Ok((outcome, after_ms))
}

impl Serialize for DialRules {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(s)
    }
}

impl<'de> Deserialize<'de> for DialRules {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        DialRules::from_value(&value).map_err(D::Error::custom)
    }
}

// ---------------------------------------------------------------------------------------------
// The switch
// ---------------------------------------------------------------------------------------------

/// An interaction id, written `ixn-<n>`; n counts from 1 per switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IxnId(pub u64);

impl fmt::Display for IxnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ixn-{}", self.0)
    }
}

impl FromStr for IxnId {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        s.strip_prefix("ixn-")
            .and_then(|n| n.parse().ok())
            .map(IxnId)
            .ok_or(())
    }
}

impl Serialize for IxnId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Media {
    Voice,
    Chat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Inbound,
    Outbound,
}

/// A party to an interaction.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "id")]
pub enum Party {
    /// The customer, by number (voice) or identifier (chat).
    Customer(String),
    Agent(String),
    /// The route point (DNIS) an inbound call arrived at.
    RoutePoint(String),
}

impl fmt::Display for Party {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Party::Customer(c) => write!(f, "customer {c}"),
            Party::Agent(a) => write!(f, "agent {a}"),
            Party::RoutePoint(r) => write!(f, "route point {r}"),
        }
    }
}

/// Who ended an interaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "id")]
pub enum Releaser {
    Party(Party),
    /// The network: busy, no answer, invalid number.
    Network,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "treatment")]
pub enum CallState {
    /// Outbound, waiting for the network (busy and invalid outcomes stay here).
    Dialing,
    /// Outbound, the customer's phone rings.
    Ringing,
    /// Inbound, waiting at the route point.
    Alerting,
    /// Customer on the line (answered, machine, treatment stopped, chat), no agent.
    Connected,
    /// Customer on the line hearing a treatment.
    Treatment(String),
    /// Customer and agent bridged.
    Established,
    Released,
}

impl CallState {
    fn customer_waiting(&self) -> bool {
        matches!(
            self,
            CallState::Alerting | CallState::Connected | CallState::Treatment(_)
        )
    }
}

impl fmt::Display for CallState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallState::Dialing => f.write_str("dialing"),
            CallState::Ringing => f.write_str("ringing"),
            CallState::Alerting => f.write_str("alerting"),
            CallState::Connected => f.write_str("connected"),
            CallState::Treatment(t) => write!(f, "treatment {t}"),
            CallState::Established => f.write_str("established"),
            CallState::Released => f.write_str("released"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChatMessage {
    pub at: Millis,
    pub from: Party,
    pub text: String,
    /// A message, or a party joining, leaving or typing.
    pub kind: ChatEntry,
}

/// What a chat transcript entry records (the Chat API's event types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ChatEntry {
    #[serde(rename = "Message.Text")]
    Text,
    #[serde(rename = "Notice.Joined")]
    Joined,
    #[serde(rename = "Notice.Left")]
    Left,
    #[serde(rename = "Notice.TypingStarted")]
    TypingStarted,
    #[serde(rename = "Notice.TypingStopped")]
    TypingStopped,
}

impl ChatEntry {
    /// The Chat API v1 name (`Message.Text`, `Notice.Joined`, ...).
    pub fn name(self) -> &'static str {
        match self {
            ChatEntry::Text => "Message.Text",
            ChatEntry::Joined => "Notice.Joined",
            ChatEntry::Left => "Notice.Left",
            ChatEntry::TypingStarted => "Notice.TypingStarted",
            ChatEntry::TypingStopped => "Notice.TypingStopped",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Interaction {
    pub id: IxnId,
    pub media: Media,
    pub direction: Direction,
    pub state: CallState,
    /// Current parties, in joining order.
    pub parties: Vec<Party>,
    pub created_at: Millis,
    pub released_at: Option<Millis>,
    /// Chat only.
    pub transcript: Vec<ChatMessage>,
    /// Outbound only: the outcome the rules chose and when it is due.
    #[serde(skip)]
    pending: Option<(Millis, Outcome)>,
}

impl Interaction {
    pub fn agent(&self) -> Option<&str> {
        self.parties.iter().find_map(|p| match p {
            Party::Agent(a) => Some(a.as_str()),
            _ => None,
        })
    }

    pub fn customer(&self) -> Option<&str> {
        self.parties.iter().find_map(|p| match p {
            Party::Customer(c) => Some(c.as_str()),
            _ => None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "event")]
pub enum EventKind {
    Dialing { number: String },
    Ringing,
    Answered,
    Busy,
    NoAnswer,
    AnsweringMachine,
    InvalidNumber,
    Arrived { ani: String, dnis: String },
    ChatStarted { customer: String },
    Established,
    TreatmentStarted { name: String },
    TreatmentStopped { name: String },
    PartyJoined { party: Party },
    PartyLeft { party: Party },
    Transferred { from: String, to: String },
    Message { from: Party, text: String },
    Released { by: Releaser },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SwitchEvent {
    pub ixn: IxnId,
    pub at: Millis,
    #[serde(flatten)]
    pub kind: EventKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SwitchError {
    #[error("unknown interaction {0}")]
    UnknownInteraction(IxnId),
    #[error("interaction {0} is already released")]
    Released(IxnId),
    #[error("interaction {ixn} is {state}: cannot {op}")]
    WrongState {
        ixn: IxnId,
        state: CallState,
        op: &'static str,
    },
    #[error("interaction {ixn} is {media:?}: cannot {op}")]
    WrongMedia {
        ixn: IxnId,
        media: Media,
        op: &'static str,
    },
    #[error("{party} is not a party to interaction {ixn}")]
    NotAParty { ixn: IxnId, party: Party },
    #[error("agent {agent} is already on interaction {ixn}")]
    AlreadyAParty { ixn: IxnId, agent: String },
    #[error("{what} must not be empty")]
    Empty { what: &'static str },
}

/// The simulated switch. See the module documentation for states and events.
#[derive(Debug, Default)]
pub struct Switch {
    rules: DialRules,
    next_id: u64,
    interactions: HashMap<IxnId, Interaction>,
    /// (due, ixn) of pending dial outcomes; one per interaction at most.
    timers: BTreeSet<(Millis, IxnId)>,
    outbox: Vec<SwitchEvent>,
}

impl Switch {
    pub fn new(rules: DialRules) -> Switch {
        Switch {
            rules,
            ..Switch::default()
        }
    }

    pub fn rules(&self) -> &DialRules {
        &self.rules
    }

    /// Replaces the rules; dials already in progress keep the outcome chosen when they started.
    pub fn set_rules(&mut self, rules: DialRules) {
        self.rules = rules;
    }

    pub fn interaction(&self, ixn: IxnId) -> Option<&Interaction> {
        self.interactions.get(&ixn)
    }

    pub fn interactions(&self) -> impl Iterator<Item = &Interaction> {
        self.interactions.values()
    }

    /// Forgets interactions released before `before`; returns how many.
    pub fn purge_released(&mut self, before: Millis) -> usize {
        let n = self.interactions.len();
        self.interactions
            .retain(|_, i| i.released_at.is_none_or(|t| t >= before));
        n - self.interactions.len()
    }

    /// When the next dial outcome is due.
    pub fn next_deadline(&self) -> Option<Millis> {
        self.timers.first().map(|(t, _)| *t)
    }

    /// Fires the timers due at `now` and returns every event emitted since the last call.
    pub fn advance(&mut self, now: Millis) -> Vec<SwitchEvent> {
        self.fire_due(now);
        std::mem::take(&mut self.outbox)
    }

    /// Dials `number` (voice, outbound). The rules choose the outcome now; it happens at
    /// `now + after_ms`. An undialable number still gets an interaction (and `InvalidNumber`).
    pub fn dial(&mut self, number: &str, now: Millis) -> IxnId {
        self.place_call(None, number, now)
    }

    /// An outbound call placed from `agent`'s phone: the agent is on it from the start and
    /// hears it ring; answered (by a person or a machine), the call is established between the
    /// two at once. Busy, no answer or an invalid number release it, the agent with it.
    pub fn dial_from(
        &mut self,
        agent: &str,
        number: &str,
        now: Millis,
    ) -> Result<IxnId, SwitchError> {
        nonempty(agent, "agent")?;
        Ok(self.place_call(Some(agent), number, now))
    }

    fn place_call(&mut self, agent: Option<&str>, number: &str, now: Millis) -> IxnId {
        self.fire_due(now);
        let (outcome, after_ms) = self.rules.outcome(number);
        let mut parties = Vec::with_capacity(2);
        parties.extend(agent.map(|a| Party::Agent(a.to_owned())));
        parties.push(Party::Customer(number.to_owned()));
        let id = self.create(
            Media::Voice,
            Direction::Outbound,
            parties,
            CallState::Dialing,
            now,
        );
        self.emit(
            id,
            now,
            EventKind::Dialing {
                number: number.to_owned(),
            },
        );
        if matches!(
            outcome,
            Outcome::Answer | Outcome::NoAnswer | Outcome::Machine
        ) {
            self.set_state(id, CallState::Ringing);
            self.emit(id, now, EventKind::Ringing);
        }
        let due = now.saturating_add(after_ms);
        if let Some(i) = self.interactions.get_mut(&id) {
            i.pending = Some((due, outcome));
        }
        self.timers.insert((due, id));
        id
    }

    /// An inbound call from `ani` arriving at route point `dnis`.
    pub fn inbound(&mut self, ani: &str, dnis: &str, now: Millis) -> Result<IxnId, SwitchError> {
        nonempty(ani, "ani")?;
        nonempty(dnis, "dnis")?;
        self.fire_due(now);
        let id = self.create(
            Media::Voice,
            Direction::Inbound,
            vec![
                Party::Customer(ani.to_owned()),
                Party::RoutePoint(dnis.to_owned()),
            ],
            CallState::Alerting,
            now,
        );
        self.emit(
            id,
            now,
            EventKind::Arrived {
                ani: ani.to_owned(),
                dnis: dnis.to_owned(),
            },
        );
        Ok(id)
    }

    /// A chat started by `customer`.
    pub fn chat_start(&mut self, customer: &str, now: Millis) -> Result<IxnId, SwitchError> {
        nonempty(customer, "customer")?;
        self.fire_due(now);
        let id = self.create(
            Media::Chat,
            Direction::Inbound,
            vec![Party::Customer(customer.to_owned())],
            CallState::Connected,
            now,
        );
        self.note(
            id,
            &Party::Customer(customer.to_owned()),
            ChatEntry::Joined,
            now,
        );
        self.emit(
            id,
            now,
            EventKind::ChatStarted {
                customer: customer.to_owned(),
            },
        );
        Ok(id)
    }

    /// A party of a live chat starts or stops typing (kept in the transcript).
    pub fn chat_typing(
        &mut self,
        ixn: IxnId,
        from: &Party,
        started: bool,
        now: Millis,
    ) -> Result<(), SwitchError> {
        self.fire_due(now);
        let i = self.live(ixn)?;
        if i.media != Media::Chat {
            return Err(wrong_media(i, "type in a chat"));
        }
        if !i.parties.contains(from) {
            return Err(SwitchError::NotAParty {
                ixn,
                party: from.clone(),
            });
        }
        let kind = if started {
            ChatEntry::TypingStarted
        } else {
            ChatEntry::TypingStopped
        };
        self.note(ixn, from, kind, now);
        Ok(())
    }

    /// A transcript entry of a chat (nothing for a voice call).
    fn note(&mut self, ixn: IxnId, party: &Party, kind: ChatEntry, now: Millis) {
        if let Some(i) = self.interactions.get_mut(&ixn) {
            if i.media == Media::Chat {
                i.transcript.push(ChatMessage {
                    at: now,
                    from: party.clone(),
                    text: String::new(),
                    kind,
                });
            }
        }
    }

    /// Plays treatment `name` to the waiting customer, replacing one already playing.
    pub fn play_treatment(
        &mut self,
        ixn: IxnId,
        name: &str,
        now: Millis,
    ) -> Result<(), SwitchError> {
        nonempty(name, "treatment name")?;
        self.fire_due(now);
        let i = self.live(ixn)?;
        if i.media != Media::Voice {
            return Err(wrong_media(i, "play a treatment"));
        }
        if !i.state.customer_waiting() {
            return Err(wrong_state(i, "play a treatment"));
        }
        self.stop_playing(ixn, now);
        self.set_state(ixn, CallState::Treatment(name.to_owned()));
        self.emit(
            ixn,
            now,
            EventKind::TreatmentStarted {
                name: name.to_owned(),
            },
        );
        Ok(())
    }

    /// Stops the treatment playing; the call is then `Connected`.
    pub fn stop_treatment(&mut self, ixn: IxnId, now: Millis) -> Result<(), SwitchError> {
        self.fire_due(now);
        let i = self.live(ixn)?;
        if !matches!(i.state, CallState::Treatment(_)) {
            return Err(wrong_state(i, "stop a treatment"));
        }
        self.stop_playing(ixn, now);
        self.set_state(ixn, CallState::Connected);
        Ok(())
    }

    /// Bridges `agent` and the customer (voice or chat): stops any treatment, takes the call
    /// off its route point, and establishes it.
    pub fn connect_agent(
        &mut self,
        ixn: IxnId,
        agent: &str,
        now: Millis,
    ) -> Result<(), SwitchError> {
        nonempty(agent, "agent")?;
        self.fire_due(now);
        let i = self.live(ixn)?;
        if !i.state.customer_waiting() {
            return Err(wrong_state(i, "connect an agent"));
        }
        self.stop_playing(ixn, now);
        let agent_party = Party::Agent(agent.to_owned());
        self.join(ixn, agent_party, now);
        let route_points: Vec<Party> = self.interactions[&ixn]
            .parties
            .iter()
            .filter(|p| matches!(p, Party::RoutePoint(_)))
            .cloned()
            .collect();
        for rp in route_points {
            self.leave(ixn, &rp, now);
        }
        self.set_state(ixn, CallState::Established);
        self.emit(ixn, now, EventKind::Established);
        Ok(())
    }

    /// Single-step transfer of an established interaction to another agent.
    pub fn transfer(&mut self, ixn: IxnId, to_agent: &str, now: Millis) -> Result<(), SwitchError> {
        nonempty(to_agent, "agent")?;
        self.fire_due(now);
        let i = self.live(ixn)?;
        if i.state != CallState::Established {
            return Err(wrong_state(i, "transfer"));
        }
        let from = i.agent().unwrap_or_default().to_owned();
        if from == to_agent {
            return Err(SwitchError::AlreadyAParty { ixn, agent: from });
        }
        self.leave(ixn, &Party::Agent(from.clone()), now);
        self.join(ixn, Party::Agent(to_agent.to_owned()), now);
        self.emit(
            ixn,
            now,
            EventKind::Transferred {
                from,
                to: to_agent.to_owned(),
            },
        );
        Ok(())
    }

    /// `party` hangs up. Any party leaving ends the interaction (two-party calls and chats); a
    /// pending dial outcome is cancelled.
    pub fn hangup(&mut self, ixn: IxnId, party: &Party, now: Millis) -> Result<(), SwitchError> {
        self.fire_due(now);
        let i = self.live(ixn)?;
        if !i.parties.contains(party) {
            return Err(SwitchError::NotAParty {
                ixn,
                party: party.clone(),
            });
        }
        self.stop_playing(ixn, now);
        self.leave(ixn, party, now);
        self.release(ixn, Releaser::Party(party.clone()), now);
        Ok(())
    }

    /// The network (a strategy) ends the interaction: every party leaves, a pending dial
    /// outcome is cancelled.
    pub fn release_call(&mut self, ixn: IxnId, now: Millis) -> Result<(), SwitchError> {
        self.fire_due(now);
        self.live(ixn)?;
        self.stop_playing(ixn, now);
        let parties = self
            .interactions
            .get(&ixn)
            .map(|i| i.parties.clone())
            .unwrap_or_default();
        for p in &parties {
            self.leave(ixn, p, now);
        }
        self.release(ixn, Releaser::Network, now);
        Ok(())
    }

    /// A chat message from `from` (a current party).
    pub fn chat_message(
        &mut self,
        ixn: IxnId,
        from: &Party,
        text: &str,
        now: Millis,
    ) -> Result<(), SwitchError> {
        self.fire_due(now);
        let i = self.live(ixn)?;
        if i.media != Media::Chat {
            return Err(wrong_media(i, "send a chat message"));
        }
        if !i.parties.contains(from) {
            return Err(SwitchError::NotAParty {
                ixn,
                party: from.clone(),
            });
        }
        if let Some(i) = self.interactions.get_mut(&ixn) {
            i.transcript.push(ChatMessage {
                at: now,
                from: from.clone(),
                text: text.to_owned(),
                kind: ChatEntry::Text,
            });
        }
        self.emit(
            ixn,
            now,
            EventKind::Message {
                from: from.clone(),
                text: text.to_owned(),
            },
        );
        Ok(())
    }

    // -- internals --------------------------------------------------------------------------

    fn create(
        &mut self,
        media: Media,
        direction: Direction,
        parties: Vec<Party>,
        state: CallState,
        now: Millis,
    ) -> IxnId {
        self.next_id += 1;
        let id = IxnId(self.next_id);
        self.interactions.insert(
            id,
            Interaction {
                id,
                media,
                direction,
                state,
                parties,
                created_at: now,
                released_at: None,
                transcript: Vec::new(),
                pending: None,
            },
        );
        id
    }

    fn fire_due(&mut self, now: Millis) {
        while let Some(&(due, id)) = self.timers.first() {
            if due > now {
                break;
            }
            self.timers.remove(&(due, id));
            let Some(outcome) = self
                .interactions
                .get_mut(&id)
                .and_then(|i| i.pending.take())
                .map(|(_, o)| o)
            else {
                continue;
            };
            match outcome {
                Outcome::Answer | Outcome::Machine => {
                    self.set_state(id, CallState::Connected);
                    let answered = if outcome == Outcome::Answer {
                        EventKind::Answered
                    } else {
                        EventKind::AnsweringMachine
                    };
                    self.emit(id, due, answered);
                    // Placed from an agent's phone: the two are talking.
                    if self
                        .interactions
                        .get(&id)
                        .is_some_and(|i| i.agent().is_some())
                    {
                        self.set_state(id, CallState::Established);
                        self.emit(id, due, EventKind::Established);
                    }
                }
                Outcome::Busy => {
                    self.emit(id, due, EventKind::Busy);
                    self.release(id, Releaser::Network, due);
                }
                Outcome::NoAnswer => {
                    self.emit(id, due, EventKind::NoAnswer);
                    self.release(id, Releaser::Network, due);
                }
                Outcome::Invalid => {
                    self.emit(id, due, EventKind::InvalidNumber);
                    self.release(id, Releaser::Network, due);
                }
            }
        }
    }

    fn live(&self, ixn: IxnId) -> Result<&Interaction, SwitchError> {
        let i = self
            .interactions
            .get(&ixn)
            .ok_or(SwitchError::UnknownInteraction(ixn))?;
        if i.state == CallState::Released {
            return Err(SwitchError::Released(ixn));
        }
        Ok(i)
    }

    fn set_state(&mut self, ixn: IxnId, state: CallState) {
        if let Some(i) = self.interactions.get_mut(&ixn) {
            i.state = state;
        }
    }

    fn emit(&mut self, ixn: IxnId, at: Millis, kind: EventKind) {
        self.outbox.push(SwitchEvent { ixn, at, kind });
    }

    fn stop_playing(&mut self, ixn: IxnId, now: Millis) {
        let playing = match self.interactions.get(&ixn).map(|i| &i.state) {
            Some(CallState::Treatment(name)) => name.clone(),
            _ => return,
        };
        self.set_state(ixn, CallState::Connected);
        self.emit(ixn, now, EventKind::TreatmentStopped { name: playing });
    }

    fn join(&mut self, ixn: IxnId, party: Party, now: Millis) {
        if let Some(i) = self.interactions.get_mut(&ixn) {
            i.parties.push(party.clone());
        }
        self.note(ixn, &party, ChatEntry::Joined, now);
        self.emit(ixn, now, EventKind::PartyJoined { party });
    }

    fn leave(&mut self, ixn: IxnId, party: &Party, now: Millis) {
        if let Some(i) = self.interactions.get_mut(&ixn) {
            i.parties.retain(|p| p != party);
        }
        self.note(ixn, party, ChatEntry::Left, now);
        self.emit(
            ixn,
            now,
            EventKind::PartyLeft {
                party: party.clone(),
            },
        );
    }

    fn release(&mut self, ixn: IxnId, by: Releaser, now: Millis) {
        if let Some(i) = self.interactions.get_mut(&ixn) {
            if let Some((due, _)) = i.pending.take() {
                self.timers.remove(&(due, ixn));
            }
            i.state = CallState::Released;
            i.released_at = Some(now);
        }
        self.emit(ixn, now, EventKind::Released { by });
    }
}

fn nonempty(value: &str, what: &'static str) -> Result<(), SwitchError> {
    if value.is_empty() {
        Err(SwitchError::Empty { what })
    } else {
        Ok(())
    }
}

fn wrong_state(i: &Interaction, op: &'static str) -> SwitchError {
    SwitchError::WrongState {
        ixn: i.id,
        state: i.state.clone(),
        op,
    }
}

fn wrong_media(i: &Interaction, op: &'static str) -> SwitchError {
    SwitchError::WrongMedia {
        ixn: i.id,
        media: i.media,
        op,
    }
}
