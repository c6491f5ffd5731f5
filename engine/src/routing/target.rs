//! One URS routing target: `<name>@<statserver>.<type>` or `?:<skill expression>@<statserver>.GA`.
//!
//! Callback UG, `_target` option (help lines 2499–2502): "format the string according to the URS
//! target specification: <Target String>@<StatServer name>.<Target Type> where Target Type is one
//! of A (Agent), AP (Agent Place), GA (Group of Agents), GP (Group of Places), GC (Campaign
//! Group). <Target String> can be a skill expression. In that case, <Target String> must start
//! with '?:'", e.g. `Billing@StatServer.GA` and `?:English=20&Loans=2@StatServer.GA`.
//!
//! The string is split at its *last* `@` (agent names may be e-mail addresses) and the server
//! from the type at the last `.` after it (server names may contain dots). A skill expression
//! selects agents, so its type must be GA.

use std::fmt;

use super::skills::{SkillError, SkillExpr};

/// Longest target string accepted, in bytes.
pub const MAX_TARGET_LEN: usize = 4096;

const TYPE_HINT: &str = " (expected A, AP, GA, GP or GC)";
const SHAPE_HINT: &str = " (expected <name>@<statserver>.<type>)";

/// The URS target type after the final `.`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TargetKind {
    /// `A`
    Agent,
    /// `AP`
    AgentPlace,
    /// `GA`
    AgentGroup,
    /// `GP`
    PlaceGroup,
    /// `GC`
    CampaignGroup,
}

impl TargetKind {
    /// The type code as written in a target string.
    pub fn code(self) -> &'static str {
        match self {
            TargetKind::Agent => "A",
            TargetKind::AgentPlace => "AP",
            TargetKind::AgentGroup => "GA",
            TargetKind::PlaceGroup => "GP",
            TargetKind::CampaignGroup => "GC",
        }
    }

    /// The type for a code; codes are upper case, as URS writes them.
    pub fn from_code(code: &str) -> Option<TargetKind> {
        match code {
            "A" => Some(TargetKind::Agent),
            "AP" => Some(TargetKind::AgentPlace),
            "GA" => Some(TargetKind::AgentGroup),
            "GP" => Some(TargetKind::PlaceGroup),
            "GC" => Some(TargetKind::CampaignGroup),
            _ => None,
        }
    }
}

/// A routing target.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    /// The agent, place or group name; for a skill target, the canonical expression text.
    pub name: String,
    pub stat_server: String,
    pub kind: TargetKind,
    /// Set for `?:` targets.
    pub skill: Option<SkillExpr>,
}

/// A malformed target or target list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// A target string is malformed; `column` is the 0-based byte offset of the fault in it.
    #[error("{problem} at column {column}{hint}")]
    Syntax {
        column: usize,
        problem: String,
        /// Empty, or ` (expected ...)`.
        hint: String,
    },
    /// The `_target` JSON list is malformed (`entry` is the array index at fault, if any).
    #[error("{message}")]
    List {
        entry: Option<usize>,
        message: String,
    },
    /// The `target` string of list entry `entry` is malformed.
    #[error("_target[{entry}].target: {source}")]
    Entry {
        entry: usize,
        source: Box<TargetError>,
    },
}

impl TargetError {
    /// The 0-based byte offset of the fault inside the target string, when there is one.
    pub fn column(&self) -> Option<usize> {
        match self {
            TargetError::Syntax { column, .. } => Some(*column),
            TargetError::List { .. } => None,
            TargetError::Entry { source, .. } => source.column(),
        }
    }

    /// The list index at fault, for list errors.
    pub fn entry(&self) -> Option<usize> {
        match self {
            TargetError::Syntax { .. } => None,
            TargetError::List { entry, .. } => *entry,
            TargetError::Entry { entry, .. } => Some(*entry),
        }
    }
}

fn syntax(column: usize, problem: impl Into<String>, hint: &str) -> TargetError {
    TargetError::Syntax {
        column,
        problem: problem.into(),
        hint: hint.to_owned(),
    }
}

impl Target {
    /// Parses `name@statserver.TYPE` or `?:expr@statserver.GA`.
    pub fn parse(s: &str) -> Result<Target, TargetError> {
        if s.len() > MAX_TARGET_LEN {
            return Err(syntax(
                MAX_TARGET_LEN,
                format!("target is longer than {MAX_TARGET_LEN} bytes"),
                "",
            ));
        }
        if s.trim().is_empty() {
            return Err(syntax(0, "empty target", SHAPE_HINT));
        }
        let Some(at) = s.rfind('@') else {
            return Err(syntax(
                s.len(),
                "missing '@' before the statistics server",
                SHAPE_HINT,
            ));
        };
        let head = &s[..at];
        let server_at = at + 1;
        let tail = &s[server_at..];
        let Some(dot) = tail.rfind('.') else {
            return Err(syntax(
                s.len(),
                "missing '.<type>' after the statistics server",
                TYPE_HINT,
            ));
        };
        let stat_server = &tail[..dot];
        if stat_server.is_empty() {
            return Err(syntax(
                server_at,
                "missing statistics server name after '@'",
                "",
            ));
        }
        let type_at = server_at + dot + 1;
        let code = &tail[dot + 1..];
        if code.is_empty() {
            return Err(syntax(type_at, "missing target type after '.'", TYPE_HINT));
        }
        let Some(kind) = TargetKind::from_code(code) else {
            return Err(syntax(
                type_at,
                format!("unknown target type '{code}'"),
                TYPE_HINT,
            ));
        };

        if let Some(expr) = head.strip_prefix("?:") {
            let skill = SkillExpr::parse(expr).map_err(|e| shift(e, 2))?;
            if kind != TargetKind::AgentGroup {
                return Err(syntax(
                    type_at,
                    format!("a skill-expression target must be of type GA, not '{code}'"),
                    "",
                ));
            }
            return Ok(Target {
                name: skill.to_string(),
                stat_server: stat_server.to_owned(),
                kind,
                skill: Some(skill),
            });
        }
        if head.starts_with('?') {
            return Err(syntax(
                1,
                "a skill-expression target must start with '?:'",
                "",
            ));
        }
        if head.trim().is_empty() {
            return Err(syntax(0, "missing target name before '@'", SHAPE_HINT));
        }
        Ok(Target {
            name: head.to_owned(),
            stat_server: stat_server.to_owned(),
            kind,
            skill: None,
        })
    }

    /// A named (non-skill) target.
    pub fn named(name: &str, stat_server: &str, kind: TargetKind) -> Target {
        Target {
            name: name.to_owned(),
            stat_server: stat_server.to_owned(),
            kind,
            skill: None,
        }
    }

    /// Whether this is a `?:` skill-expression target.
    pub fn is_skill_expression(&self) -> bool {
        self.skill.is_some()
    }
}

/// A skill error inside a target, with its column moved past the `?:` prefix.
fn shift(e: SkillError, by: usize) -> TargetError {
    TargetError::Syntax {
        column: e.column + by,
        problem: e.problem,
        hint: e.hint,
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.skill {
            Some(expr) => write!(f, "?:{expr}")?,
            None => f.write_str(&self.name)?,
        }
        write!(f, "@{}.{}", self.stat_server, self.kind.code())
    }
}

impl std::str::FromStr for Target {
    type Err = TargetError;

    fn from_str(s: &str) -> Result<Target, TargetError> {
        Target::parse(s)
    }
}
