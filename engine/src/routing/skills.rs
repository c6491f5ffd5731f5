//! URS skill expressions, the part of a `?:English=20&Loans>=2@Stat.GA` target after `?:`.
//!
//! Grammar (URS 8.1 SCXML reference, "Skill Expressions"; Composer "Expression Builder"):
//!
//! ```text
//! expr      := unary (('&' | '|') unary)*      -- '&' and '|' have the SAME priority, left to right
//! unary     := '!' unary | '(' expr ')' | condition
//! condition := operand cmp level
//! operand   := skill | '$(' statistic ')'
//! cmp       := '=' | '!=' | '<' | '<=' | '>' | '>='
//! level     := digits                           -- URS uses integer arithmetic
//! ```
//!
//! URS: "When a skill expression contains more than one conditional expression, the conditional
//! expression to the left has precedence over the conditional expression to the right.
//! Parentheses can be used to overrule this precedence", and Composer: "AND (&) and OR (|) ...
//! have the same priority". So `a=1|b=1&c=1` means `(a=1|b=1)&c=1`, not the C-style
//! `a=1|(b=1&c=1)`; `!` binds to the one condition or parenthesised group after it.
//!
//! Skill names are letters, digits and `_`, not starting with a digit, at most 126 bytes (URS).
//! Letters are Unicode letters, since configured skill names need not be ASCII.
//!
//! Evaluation follows URS: an agent without a skill has that skill at level 0 ("the value of the
//! skill (or 0 if agent has no such skill) will be used"). So `English<5`, `English<=8`,
//! `English=0` and `English!=3` all match agents who lack English; `English>0` never does.

use std::fmt;

/// Longest skill name URS accepts.
pub const MAX_SKILL_NAME: usize = 126;
/// Longest expression accepted, in bytes (keeps evaluation and error reporting bounded).
pub const MAX_EXPRESSION_LEN: usize = 4096;
/// Deepest nesting of `(` and `!` accepted.
pub const MAX_DEPTH: usize = 32;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    /// The operator as written in an expression.
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }

    /// `left <op> right`.
    pub fn test(self, left: i64, right: i64) -> bool {
        match self {
            CmpOp::Eq => left == right,
            CmpOp::Ne => left != right,
            CmpOp::Lt => left < right,
            CmpOp::Le => left <= right,
            CmpOp::Gt => left > right,
            CmpOp::Ge => left >= right,
        }
    }
}

/// The left side of a condition.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Operand {
    /// A configured skill, e.g. `English`.
    Skill(String),
    /// An agent statistic written `$(StatAgentLoggedIn)`.
    Statistic(String),
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operand::Skill(name) => f.write_str(name),
            Operand::Statistic(name) => write!(f, "$({name})"),
        }
    }
}

/// `operand <op> level`, e.g. `Loans>=2`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Condition {
    pub operand: Operand,
    pub op: CmpOp,
    pub level: i64,
}

/// `&` or `|`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Logic {
    And,
    Or,
}

impl Logic {
    fn as_char(self) -> char {
        match self {
            Logic::And => '&',
            Logic::Or => '|',
        }
    }
}

/// A parsed skill expression.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SkillExpr {
    Cond(Condition),
    Not(Box<SkillExpr>),
    /// `first op1 e1 op2 e2 ...`, folded strictly left to right (URS: same priority for `&`
    /// and `|`). Kept flat so a long chain never makes evaluation recurse deeply.
    Chain(Box<SkillExpr>, Vec<(Logic, SkillExpr)>),
}

/// A malformed skill expression; `column` is the 0-based byte offset of the fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{problem} at column {column}{hint}")]
pub struct SkillError {
    pub column: usize,
    pub problem: String,
    /// Empty, or ` (expected ...)`.
    pub hint: String,
}

impl SkillExpr {
    /// Parses an expression such as `English=20&Loans>=2` (without the target's `?:` prefix).
    pub fn parse(src: &str) -> Result<SkillExpr, SkillError> {
        if src.len() > MAX_EXPRESSION_LEN {
            return Err(err(
                MAX_EXPRESSION_LEN,
                format!("skill expression is longer than {MAX_EXPRESSION_LEN} bytes"),
                "",
            ));
        }
        let mut p = Parser { src, pos: 0 };
        p.skip_ws();
        if p.pos == src.len() {
            return Err(err(
                p.pos,
                "empty skill expression".into(),
                " (expected a condition such as English>=5)",
            ));
        }
        let expr = p.expr(0)?;
        p.skip_ws();
        match p.peek() {
            None => Ok(expr),
            Some(')') => Err(err(
                p.pos,
                "unexpected ')' without a matching '('".into(),
                "",
            )),
            Some(_) => Err(err(
                p.pos,
                format!("unexpected {}", p.found()),
                " (expected '&', '|' or the end of the expression)",
            )),
        }
    }

    /// Evaluates against one agent's skills. A skill the agent lacks counts as level 0 (URS);
    /// `$(statistic)` terms count as 0 here — use [`SkillExpr::eval_with`] to supply them.
    pub fn eval(&self, skills: &dyn Fn(&str) -> Option<u32>) -> bool {
        self.eval_with(skills, &|_| None)
    }

    /// Evaluates with both skills and `$(statistic)` values; anything absent counts as 0.
    pub fn eval_with(
        &self,
        skills: &dyn Fn(&str) -> Option<u32>,
        statistics: &dyn Fn(&str) -> Option<i64>,
    ) -> bool {
        match self {
            SkillExpr::Cond(c) => {
                let value = match &c.operand {
                    Operand::Skill(name) => skills(name).map_or(0, i64::from),
                    Operand::Statistic(name) => statistics(name).unwrap_or(0),
                };
                c.op.test(value, c.level)
            }
            SkillExpr::Not(inner) => !inner.eval_with(skills, statistics),
            SkillExpr::Chain(first, rest) => {
                let mut acc = first.eval_with(skills, statistics);
                for (logic, next) in rest {
                    // No short-circuit needed for correctness; skip work where the result is fixed.
                    acc = match logic {
                        Logic::And => acc && next.eval_with(skills, statistics),
                        Logic::Or => acc || next.eval_with(skills, statistics),
                    };
                }
                acc
            }
        }
    }

    /// Every condition and group in explicit parentheses, e.g. `((a=1|b=1)&c=1)`: how the
    /// expression is grouped, for diagnostics and tests.
    pub fn fully_parenthesized(&self) -> String {
        match self {
            SkillExpr::Cond(c) => render_cond(c),
            SkillExpr::Not(inner) => format!("!{}", inner.fully_parenthesized()),
            SkillExpr::Chain(first, rest) => {
                let mut acc = first.fully_parenthesized();
                for (logic, next) in rest {
                    acc = format!("({acc}{}{})", logic.as_char(), next.fully_parenthesized());
                }
                acc
            }
        }
    }

    /// The skill names the expression refers to, in order of appearance (with repeats).
    pub fn skills(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_skills(&mut out);
        out
    }

    fn collect_skills<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            SkillExpr::Cond(Condition {
                operand: Operand::Skill(name),
                ..
            }) => out.push(name),
            SkillExpr::Cond(_) => {}
            SkillExpr::Not(inner) => inner.collect_skills(out),
            SkillExpr::Chain(first, rest) => {
                first.collect_skills(out);
                for (_, e) in rest {
                    e.collect_skills(out);
                }
            }
        }
    }
}

fn render_cond(c: &Condition) -> String {
    format!("{}{}{}", c.operand, c.op.as_str(), c.level)
}

/// Canonical form, no spaces; parentheses only where the tree needs them, so
/// `SkillExpr::parse(&e.to_string()) == Ok(e)`.
impl fmt::Display for SkillExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn operand(f: &mut fmt::Formatter<'_>, e: &SkillExpr) -> fmt::Result {
            match e {
                SkillExpr::Chain(..) => write!(f, "({e})"),
                _ => write!(f, "{e}"),
            }
        }
        match self {
            SkillExpr::Cond(c) => f.write_str(&render_cond(c)),
            SkillExpr::Not(inner) => {
                f.write_str("!")?;
                operand(f, inner)
            }
            SkillExpr::Chain(first, rest) => {
                operand(f, first)?;
                for (logic, next) in rest {
                    write!(f, "{}", logic.as_char())?;
                    operand(f, next)?;
                }
                Ok(())
            }
        }
    }
}

fn err(column: usize, problem: String, hint: &str) -> SkillError {
    SkillError {
        column,
        problem,
        hint: hint.to_owned(),
    }
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<char> {
        self.src.get(self.pos..).and_then(|s| s.chars().next())
    }

    fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            if c.is_whitespace() {
                self.pos += c.len_utf8();
            } else {
                break;
            }
        }
    }

    /// "'x'" for the character at the cursor, or "end of expression".
    fn found(&self) -> String {
        match self.peek() {
            Some(c) => format!("'{c}'"),
            None => "end of expression".to_owned(),
        }
    }

    fn expr(&mut self, depth: usize) -> Result<SkillExpr, SkillError> {
        let first = self.unary(depth)?;
        let mut rest = Vec::new();
        loop {
            self.skip_ws();
            let logic = match self.peek() {
                Some('&') => Logic::And,
                Some('|') => Logic::Or,
                _ => break,
            };
            self.pos += 1;
            rest.push((logic, self.unary(depth)?));
        }
        if rest.is_empty() {
            Ok(first)
        } else {
            Ok(SkillExpr::Chain(Box::new(first), rest))
        }
    }

    fn unary(&mut self, depth: usize) -> Result<SkillExpr, SkillError> {
        self.skip_ws();
        if depth >= MAX_DEPTH {
            return Err(err(
                self.pos,
                format!("skill expression nests '(' and '!' more than {MAX_DEPTH} deep"),
                "",
            ));
        }
        match self.peek() {
            Some('!') => {
                self.pos += 1;
                Ok(SkillExpr::Not(Box::new(self.unary(depth + 1)?)))
            }
            Some('(') => {
                let open = self.pos;
                self.pos += 1;
                let inner = self.expr(depth + 1)?;
                self.skip_ws();
                if self.peek() == Some(')') {
                    self.pos += 1;
                    Ok(inner)
                } else if self.peek().is_none() {
                    Err(err(
                        open,
                        "unclosed '('".into(),
                        " (expected a matching ')')",
                    ))
                } else {
                    Err(err(
                        self.pos,
                        format!("unexpected {}", self.found()),
                        " (expected '&', '|' or ')')",
                    ))
                }
            }
            _ => self.condition().map(SkillExpr::Cond),
        }
    }

    fn condition(&mut self) -> Result<Condition, SkillError> {
        let operand = self.operand()?;
        self.skip_ws();
        let op_at = self.pos;
        let rest = self.src.get(self.pos..).unwrap_or("");
        let (op, len) = if rest.starts_with("!=") {
            (CmpOp::Ne, 2)
        } else if rest.starts_with("<=") {
            (CmpOp::Le, 2)
        } else if rest.starts_with(">=") {
            (CmpOp::Ge, 2)
        } else if rest.starts_with('=') {
            (CmpOp::Eq, 1)
        } else if rest.starts_with('<') {
            (CmpOp::Lt, 1)
        } else if rest.starts_with('>') {
            (CmpOp::Gt, 1)
        } else {
            return Err(err(
                op_at,
                format!(
                    "expected a comparison after '{operand}' but found {}",
                    self.found()
                ),
                " (one of =, !=, <, <=, >, >=)",
            ));
        };
        self.pos += len;
        self.skip_ws();
        let level = self.level(op)?;
        Ok(Condition { operand, op, level })
    }

    fn operand(&mut self) -> Result<Operand, SkillError> {
        let start = self.pos;
        if self
            .src
            .get(self.pos..)
            .is_some_and(|s| s.starts_with("$("))
        {
            self.pos += 2;
            let name_at = self.pos;
            let name = self.name();
            if name.is_empty() {
                return Err(err(
                    name_at,
                    format!(
                        "expected a statistic name after '$(' but found {}",
                        self.found()
                    ),
                    "",
                ));
            }
            if self.peek() != Some(')') {
                return Err(err(
                    self.pos,
                    format!("expected ')' to close '$(' but found {}", self.found()),
                    "",
                ));
            }
            self.pos += 1;
            return Ok(Operand::Statistic(name.to_owned()));
        }
        match self.peek() {
            Some(c) if c.is_alphabetic() || c == '_' => {}
            _ => {
                return Err(err(
                    start,
                    format!("expected a skill name but found {}", self.found()),
                    " (a letter or '_', then letters, digits or '_'; or '$(statistic)', '!' or '(')",
                ));
            }
        }
        let name = self.name();
        if name.len() > MAX_SKILL_NAME {
            return Err(err(
                start,
                format!(
                    "skill name is {} bytes long; at most {MAX_SKILL_NAME} are allowed",
                    name.len()
                ),
                "",
            ));
        }
        Ok(Operand::Skill(name.to_owned()))
    }

    /// Letters, digits and `_` from the cursor (possibly none).
    fn name(&mut self) -> &'a str {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_alphanumeric() || c == '_' {
                self.pos += c.len_utf8();
            } else {
                break;
            }
        }
        self.src.get(start..self.pos).unwrap_or("")
    }

    fn level(&mut self, op: CmpOp) -> Result<i64, SkillError> {
        let start = self.pos;
        while matches!(self.peek(), Some(c) if c.is_ascii_digit()) {
            self.pos += 1;
        }
        if self.pos == start {
            return Err(err(
                start,
                format!(
                    "expected an integer level after '{}' but found {}",
                    op.as_str(),
                    self.found()
                ),
                "",
            ));
        }
        let digits = self.src.get(start..self.pos).unwrap_or("");
        if self.peek() == Some('.') {
            let mut end = self.pos + 1;
            while self
                .src
                .as_bytes()
                .get(end)
                .is_some_and(|b| b.is_ascii_digit())
            {
                end += 1;
            }
            let written = self.src.get(start..end).unwrap_or(digits);
            return Err(err(
                start,
                format!("decimal level '{written}' is not supported"),
                " (URS compares whole numbers)",
            ));
        }
        digits
            .parse::<i64>()
            .map_err(|_| err(start, format!("level '{digits}' is out of range"), ""))
    }
}
