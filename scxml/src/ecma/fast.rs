//! Native evaluation of a safe subset of ECMAScript expressions.
//!
//! The ECMAScript data model evaluates SCXML `cond`/`expr`/`location`
//! attributes. The general path compiles every expression into a boa function
//! `function(__s){ with(__s){ return (EXPR); } }`. Most real expressions are
//! tiny (`n >= 0`, `_event.data.pos`, `In('s1')`), so this module parses those
//! once into a small plain-Rust AST (`Send + Sync`, no boa types) and evaluates
//! it directly against the scope object using boa's own value operations, so
//! the results are identical to what the general path produces.
//!
//! The grammar is a strict subset of ECMAScript expressions with identical
//! precedence and associativity:
//!
//! * literals: decimal / hexadecimal numbers, single or double quoted strings
//!   with the usual escapes, `true`, `false`, `null`;
//! * identifiers (ASCII only; reserved words, `this`, `arguments`, `eval` are
//!   rejected); `undefined`, `NaN` and `Infinity` are looked up in the scope
//!   first and otherwise fall back to the global constants;
//! * member access `a.b` and `a[expr]`;
//! * the call `In('state')` (and no other call);
//! * unary `!`, `-`, `+`, `typeof`;
//! * binary `* / % + - < <= > >= == != === !==`, logical `&&` and `||`;
//! * the conditional operator `a ? b : c`, parentheses;
//! * array literals `[a, b]` and object literals `{a: 1, 'b': 2, 3: x}`.
//!
//! Identifier and property names (and short ASCII string literals) are
//! interned once, process-wide, as static boa strings so that no allocation
//! is needed to build property keys at evaluation time. The intern table is
//! deliberately leaked and bounded (`INTERN_CAP` names).
//!
//! Anything else (assignments, other calls, `new`, regular expressions,
//! templates, comments, `??`, `?.`, bitwise operators, ...) makes the compile
//! functions return `None`, and the caller uses boa instead.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use boa_engine::object::builtins::JsArray;
use boa_engine::property::PropertyKey;
use boa_engine::string::{JsStr, StaticString};
use boa_engine::{Context, JsError, JsNativeError, JsObject, JsResult, JsString, JsValue};

/// Maximum number of AST nodes in one compiled expression.
const MAX_NODES: usize = 256;
/// Maximum syntactic nesting (parentheses, brackets, unary operators, ...).
const MAX_DEPTH: usize = 32;
/// Maximum number of distinct free identifiers (they are tracked in a `u64`).
const MAX_IDENTS: usize = 64;
/// Maximum source length accepted at all.
const MAX_SOURCE_LEN: usize = 4096;

// ---------------------------------------------------------------------------
// Interned names
// ---------------------------------------------------------------------------

/// Upper bound on the number of distinct names interned process-wide.
const INTERN_CAP: usize = 16 * 1024;
/// Only short ASCII names are interned.
const INTERN_MAX_LEN: usize = 64;

/// Interns a short ASCII string as a process-wide static boa string, so that
/// turning it into a `JsString` at evaluation time is free (no allocation).
///
/// The interned strings are leaked on purpose; the table is bounded by
/// `INTERN_CAP` entries (about 1-2 MiB worst case), after which names are
/// simply not interned any more and are allocated at evaluation time.
fn intern(text: &str) -> Option<&'static StaticString> {
    type Table = Mutex<HashMap<Box<str>, &'static StaticString>>;
    static TABLE: OnceLock<Table> = OnceLock::new();
    if !text.is_ascii() || text.len() > INTERN_MAX_LEN {
        return None;
    }
    let mut table = TABLE.get_or_init(Table::default).lock().ok()?;
    if let Some(s) = table.get(text) {
        return Some(*s);
    }
    if table.len() >= INTERN_CAP {
        return None;
    }
    let bytes: &'static [u8] = Box::leak(text.as_bytes().to_vec().into_boxed_slice());
    let s: &'static StaticString = Box::leak(Box::new(StaticString::new(JsStr::latin1(bytes))));
    table.insert(text.into(), s);
    Some(s)
}

/// A property name or string literal, cheaply convertible to a `JsString`.
#[derive(Debug, Clone)]
struct Name {
    text: Box<str>,
    interned: Option<&'static StaticString>,
}

impl Name {
    fn new(text: &str) -> Self {
        Self {
            text: text.into(),
            interned: intern(text),
        }
    }

    fn js(&self) -> JsString {
        match self.interned {
            Some(s) => JsString::from_static(s),
            None => JsString::from(&*self.text),
        }
    }

    fn key(&self) -> PropertyKey {
        PropertyKey::from(self.js())
    }
}

// ---------------------------------------------------------------------------
// AST
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UnOp {
    Not,
    Neg,
    Plus,
    TypeOf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BinOp {
    Mul,
    Div,
    Rem,
    Add,
    Sub,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    StrictEq,
    StrictNe,
}

/// Fallback for `undefined`, `NaN` and `Infinity` when the scope lacks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Constant {
    Undefined,
    NaN,
    Infinity,
}

impl Constant {
    fn value(self) -> JsValue {
        match self {
            Self::Undefined => JsValue::undefined(),
            Self::NaN => JsValue::nan(),
            Self::Infinity => JsValue::positive_infinity(),
        }
    }
}

#[derive(Debug, Clone)]
struct Ident {
    name: Name,
    constant: Option<Constant>,
}

#[derive(Debug, Clone)]
enum PropName {
    Name(Name),
    Num(f64),
}

#[derive(Debug, Clone)]
enum Node {
    Int(i32),
    Num(f64),
    Str(Name),
    Bool(bool),
    Null,
    /// Index into the expression's identifier table.
    Ident(usize),
    Member(Box<Node>, Name),
    Index(Box<Node>, Box<Node>),
    InState(Box<str>),
    Unary(UnOp, Box<Node>),
    Binary(BinOp, Box<Node>, Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Cond(Box<Node>, Box<Node>, Box<Node>),
    Array(Vec<Node>),
    Object(Vec<(PropName, Node)>),
}

/// A compiled expression of the supported subset.
#[derive(Debug, Clone)]
pub struct FastExpr {
    root: Node,
    idents: Vec<Ident>,
}

#[derive(Debug, Clone)]
enum LocKey {
    Name(Name),
    Expr(Node),
}

#[derive(Debug, Clone)]
enum LocKind {
    Ident(usize),
    Member(Node, LocKey),
}

/// A compiled location (left-hand side): an identifier or a member chain
/// rooted at an identifier.
#[derive(Debug, Clone)]
pub struct FastLocation {
    kind: LocKind,
    idents: Vec<Ident>,
    root: Box<str>,
}

/// Why a fast evaluation did not produce a value.
#[derive(Debug)]
pub enum FastError {
    /// An identifier that is neither a property of the scope (own or
    /// inherited) nor `undefined`/`NaN`/`Infinity`: the caller must fall back
    /// to boa (nothing has been evaluated yet).
    Unresolved,
    /// A JS exception (e.g. a `TypeError` reading a property of `undefined`).
    Thrown(JsError),
}

// ---------------------------------------------------------------------------
// Lexer
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum P {
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Comma,
    Colon,
    Question,
    Dot,
    Not,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Lt,
    Le,
    Gt,
    Ge,
    EqEq,
    Ne,
    EqEqEq,
    NeEq,
    AndAnd,
    OrOr,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    Str(String),
    Word(String),
    P(P),
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == '$'
}

fn is_ident_part(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '$'
}

/// Characters that must not directly follow a numeric literal or identifier
/// (the JS grammar would either continue the token or reject it).
fn is_word_continuation(c: char) -> bool {
    is_ident_part(c) || c == '\\' || !c.is_ascii()
}

fn lex(src: &str) -> Option<Vec<Tok>> {
    let chars: Vec<char> = src.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    let at = |i: usize| chars.get(i).copied();
    while let Some(c) = at(i) {
        match c {
            ' ' | '\t' | '\n' | '\r' | '\u{0B}' | '\u{0C}' => {
                i += 1;
            }
            c if is_ident_start(c) => {
                let start = i;
                while at(i).is_some_and(is_ident_part) {
                    i += 1;
                }
                if at(i).is_some_and(is_word_continuation) {
                    return None;
                }
                toks.push(Tok::Word(chars[start..i].iter().collect()));
            }
            '0'..='9' => {
                let (v, next) = lex_number(&chars, i)?;
                toks.push(Tok::Num(v));
                i = next;
            }
            '.' if at(i + 1).is_some_and(|c| c.is_ascii_digit()) => {
                let (v, next) = lex_number(&chars, i)?;
                toks.push(Tok::Num(v));
                i = next;
            }
            '\'' | '"' => {
                let (s, next) = lex_string(&chars, i)?;
                toks.push(Tok::Str(s));
                i = next;
            }
            _ => {
                let next = at(i + 1);
                let next2 = at(i + 2);
                let (p, len) = match c {
                    '(' => (P::LParen, 1),
                    ')' => (P::RParen, 1),
                    '[' => (P::LBracket, 1),
                    ']' => (P::RBracket, 1),
                    '{' => (P::LBrace, 1),
                    '}' => (P::RBrace, 1),
                    ',' => (P::Comma, 1),
                    ':' => (P::Colon, 1),
                    // `??`, `?.` (optional chaining), `??=`
                    '?' if matches!(next, Some('?' | '.')) => return None,
                    '?' => (P::Question, 1),
                    // `...` and plain member access
                    '.' if next == Some('.') => return None,
                    '.' => (P::Dot, 1),
                    '!' if next == Some('=') && next2 == Some('=') => (P::NeEq, 3),
                    '!' if next == Some('=') => (P::Ne, 2),
                    '!' => (P::Not, 1),
                    // `++`, `+=`
                    '+' if matches!(next, Some('+' | '=')) => return None,
                    '+' => (P::Plus, 1),
                    '-' if matches!(next, Some('-' | '=')) => return None,
                    '-' => (P::Minus, 1),
                    // `**`, `*=`
                    '*' if matches!(next, Some('*' | '=')) => return None,
                    '*' => (P::Star, 1),
                    // comments, `/=`
                    '/' if matches!(next, Some('/' | '*' | '=')) => return None,
                    '/' => (P::Slash, 1),
                    '%' if next == Some('=') => return None,
                    '%' => (P::Percent, 1),
                    // shifts
                    '<' if next == Some('<') => return None,
                    '<' if next == Some('=') => (P::Le, 2),
                    '<' => (P::Lt, 1),
                    '>' if next == Some('>') => return None,
                    '>' if next == Some('=') => (P::Ge, 2),
                    '>' => (P::Gt, 1),
                    '=' if next == Some('=') && next2 == Some('=') => (P::EqEqEq, 3),
                    '=' if next == Some('=') => (P::EqEq, 2),
                    // `&&=`, `||=`
                    '&' if next == Some('&') && next2 != Some('=') => (P::AndAnd, 2),
                    '|' if next == Some('|') && next2 != Some('=') => (P::OrOr, 2),
                    _ => return None,
                };
                toks.push(Tok::P(p));
                i += len;
            }
        }
    }
    Some(toks)
}

fn lex_number(chars: &[char], start: usize) -> Option<(f64, usize)> {
    let at = |i: usize| chars.get(i).copied();
    let mut i = start;
    let value = if at(i) == Some('0') && matches!(at(i + 1), Some('x' | 'X')) {
        i += 2;
        let digits_start = i;
        let mut acc: u128 = 0;
        while let Some(d) = at(i).and_then(|c| c.to_digit(16)) {
            acc = acc.checked_mul(16)?.checked_add(u128::from(d))?;
            i += 1;
        }
        if i == digits_start {
            return None;
        }
        // `u128 as f64` rounds to nearest, ties to even, like JS.
        acc as f64
    } else {
        let mut int = String::new();
        while let Some(c) = at(i).filter(char::is_ascii_digit) {
            int.push(c);
            i += 1;
        }
        // Legacy octal (`012`) and non-octal decimal (`08`) literals.
        if int.len() > 1 && int.starts_with('0') {
            return None;
        }
        let mut frac = String::new();
        if at(i) == Some('.') {
            i += 1;
            while let Some(c) = at(i).filter(char::is_ascii_digit) {
                frac.push(c);
                i += 1;
            }
        }
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        let mut exp = String::new();
        if matches!(at(i), Some('e' | 'E')) {
            i += 1;
            if let Some(sign @ ('+' | '-')) = at(i) {
                exp.push(sign);
                i += 1;
            }
            let digits_start = i;
            while let Some(c) = at(i).filter(char::is_ascii_digit) {
                exp.push(c);
                i += 1;
            }
            if i == digits_start {
                return None;
            }
        }
        let text = format!(
            "{}.{}e{}",
            if int.is_empty() { "0" } else { &int },
            if frac.is_empty() { "0" } else { &frac },
            if exp.is_empty() { "0" } else { &exp },
        );
        text.parse::<f64>().ok()?
    };
    // `3in x`, `1_000`, `1n`, `0b1`, `1.toString()`, ...
    if at(i).is_some_and(is_word_continuation) {
        return None;
    }
    Some((value, i))
}

fn hex_digits(chars: &[char], start: usize, count: usize) -> Option<u32> {
    let mut acc = 0u32;
    for k in 0..count {
        acc = acc * 16 + chars.get(start + k)?.to_digit(16)?;
    }
    Some(acc)
}

fn lex_string(chars: &[char], start: usize) -> Option<(String, usize)> {
    let quote = *chars.get(start)?;
    let mut units: Vec<u16> = Vec::new();
    let mut i = start + 1;
    loop {
        let c = *chars.get(i)?;
        i += 1;
        match c {
            c if c == quote => break,
            '\n' | '\r' | '\u{2028}' | '\u{2029}' => return None,
            '\\' => {
                let e = *chars.get(i)?;
                i += 1;
                let unit: u32 = match e {
                    'n' => 0x0A,
                    't' => 0x09,
                    'r' => 0x0D,
                    'b' => 0x08,
                    'f' => 0x0C,
                    'v' => 0x0B,
                    '0' => {
                        if chars.get(i).is_some_and(char::is_ascii_digit) {
                            return None;
                        }
                        0
                    }
                    '1'..='9' => return None,
                    'x' => {
                        let v = hex_digits(chars, i, 2)?;
                        i += 2;
                        v
                    }
                    'u' => {
                        if chars.get(i) == Some(&'{') {
                            i += 1;
                            let mut v: u32 = 0;
                            let digits_start = i;
                            while let Some(d) = chars.get(i).and_then(|c| c.to_digit(16)) {
                                v = v.checked_mul(16)?.checked_add(d)?;
                                if v > 0x10FFFF {
                                    return None;
                                }
                                i += 1;
                            }
                            if i == digits_start || chars.get(i) != Some(&'}') {
                                return None;
                            }
                            i += 1;
                            v
                        } else {
                            let v = hex_digits(chars, i, 4)?;
                            i += 4;
                            v
                        }
                    }
                    // Line continuations.
                    '\n' | '\u{2028}' | '\u{2029}' => continue,
                    '\r' => {
                        if chars.get(i) == Some(&'\n') {
                            i += 1;
                        }
                        continue;
                    }
                    other => u32::from(other),
                };
                push_code_point(&mut units, unit)?;
            }
            other => push_code_point(&mut units, u32::from(other))?,
        }
    }
    // Lone surrogates cannot be represented as a Rust string.
    let s = String::from_utf16(&units).ok()?;
    Some((s, i))
}

fn push_code_point(units: &mut Vec<u16>, cp: u32) -> Option<()> {
    if let Ok(unit) = u16::try_from(cp) {
        units.push(unit);
    } else {
        let c = char::from_u32(cp)?;
        let mut buf = [0u16; 2];
        units.extend_from_slice(c.encode_utf16(&mut buf));
    }
    Some(())
}

// ---------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------

/// Names the fast path leaves to boa besides the reserved words: their meaning depends on
/// the calling function (`arguments`, `eval`) or on the syntax around them (`async`).
const NOT_FAST_IDENTIFIERS: &[&str] = &["arguments", "async", "eval"];

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    depth: usize,
    nodes: usize,
    idents: Vec<Ident>,
}

impl Parser {
    fn new(src: &str) -> Option<Self> {
        if src.len() > MAX_SOURCE_LEN {
            return None;
        }
        Some(Self {
            toks: lex(src)?,
            pos: 0,
            depth: 0,
            nodes: 0,
            idents: Vec::new(),
        })
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn peek_p(&self) -> Option<P> {
        match self.peek() {
            Some(Tok::P(p)) => Some(*p),
            _ => None,
        }
    }

    fn eat(&mut self, p: P) -> bool {
        if self.peek_p() == Some(p) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, p: P) -> Option<()> {
        self.eat(p).then_some(())
    }

    fn at_end(&self) -> bool {
        self.pos >= self.toks.len()
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned()?;
        self.pos += 1;
        Some(t)
    }

    /// Accounts for one more AST node.
    fn node(&mut self, n: Node) -> Option<Node> {
        self.nodes += 1;
        (self.nodes <= MAX_NODES).then_some(n)
    }

    fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        (self.depth <= MAX_DEPTH).then_some(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn ident(&mut self, name: &str) -> Option<usize> {
        if let Some(i) = self.idents.iter().position(|id| &*id.name.text == name) {
            return Some(i);
        }
        if self.idents.len() >= MAX_IDENTS {
            return None;
        }
        let constant = match name {
            "undefined" => Some(Constant::Undefined),
            "NaN" => Some(Constant::NaN),
            "Infinity" => Some(Constant::Infinity),
            _ => None,
        };
        self.idents.push(Ident {
            name: Name::new(name),
            constant,
        });
        Some(self.idents.len() - 1)
    }

    /// ConditionalExpression (also used where JS allows AssignmentExpression).
    fn cond(&mut self) -> Option<Node> {
        self.enter()?;
        let test = self.or()?;
        let result = if self.eat(P::Question) {
            let a = self.cond()?;
            self.expect(P::Colon)?;
            let b = self.cond()?;
            self.node(Node::Cond(Box::new(test), Box::new(a), Box::new(b)))?
        } else {
            test
        };
        self.leave();
        Some(result)
    }

    fn or(&mut self) -> Option<Node> {
        let mut left = self.and()?;
        while self.eat(P::OrOr) {
            let right = self.and()?;
            left = self.node(Node::Or(Box::new(left), Box::new(right)))?;
        }
        Some(left)
    }

    fn and(&mut self) -> Option<Node> {
        let mut left = self.equality()?;
        while self.eat(P::AndAnd) {
            let right = self.equality()?;
            left = self.node(Node::And(Box::new(left), Box::new(right)))?;
        }
        Some(left)
    }

    fn binary_level(
        &mut self,
        ops: &[(P, BinOp)],
        operand: fn(&mut Self) -> Option<Node>,
    ) -> Option<Node> {
        let mut left = operand(self)?;
        while let Some(op) = self
            .peek_p()
            .and_then(|p| ops.iter().find(|(q, _)| *q == p))
            .map(|&(_, op)| op)
        {
            self.pos += 1;
            let right = operand(self)?;
            left = self.node(Node::Binary(op, Box::new(left), Box::new(right)))?;
        }
        Some(left)
    }

    fn equality(&mut self) -> Option<Node> {
        self.binary_level(
            &[
                (P::EqEq, BinOp::Eq),
                (P::Ne, BinOp::Ne),
                (P::EqEqEq, BinOp::StrictEq),
                (P::NeEq, BinOp::StrictNe),
            ],
            Self::relational,
        )
    }

    fn relational(&mut self) -> Option<Node> {
        let node = self.binary_level(
            &[
                (P::Lt, BinOp::Lt),
                (P::Le, BinOp::Le),
                (P::Gt, BinOp::Gt),
                (P::Ge, BinOp::Ge),
            ],
            Self::additive,
        )?;
        // `in` / `instanceof` are not supported.
        if matches!(self.peek(), Some(Tok::Word(w)) if w == "in" || w == "instanceof") {
            return None;
        }
        Some(node)
    }

    fn additive(&mut self) -> Option<Node> {
        self.binary_level(
            &[(P::Plus, BinOp::Add), (P::Minus, BinOp::Sub)],
            Self::multiplicative,
        )
    }

    fn multiplicative(&mut self) -> Option<Node> {
        self.binary_level(
            &[
                (P::Star, BinOp::Mul),
                (P::Slash, BinOp::Div),
                (P::Percent, BinOp::Rem),
            ],
            Self::unary,
        )
    }

    fn unary(&mut self) -> Option<Node> {
        let op = match self.peek() {
            Some(Tok::P(P::Not)) => Some(UnOp::Not),
            Some(Tok::P(P::Minus)) => Some(UnOp::Neg),
            Some(Tok::P(P::Plus)) => Some(UnOp::Plus),
            Some(Tok::Word(w)) if w == "typeof" => Some(UnOp::TypeOf),
            _ => None,
        };
        let Some(op) = op else {
            return self.postfix();
        };
        self.pos += 1;
        self.enter()?;
        let operand = self.unary()?;
        self.leave();
        self.node(Node::Unary(op, Box::new(operand)))
    }

    fn postfix(&mut self) -> Option<Node> {
        // `In('state')`: only as a direct call of the bare identifier.
        if matches!(self.peek(), Some(Tok::Word(w)) if w == "In")
            && self.toks.get(self.pos + 1) == Some(&Tok::P(P::LParen))
        {
            self.pos += 2;
            let Some(Tok::Str(state)) = self.next() else {
                return None;
            };
            self.expect(P::RParen)?;
            let node = self.node(Node::InState(state.into()))?;
            return self.member_chain(node);
        }
        let node = self.primary()?;
        self.member_chain(node)
    }

    fn member_chain(&mut self, mut node: Node) -> Option<Node> {
        loop {
            match self.peek_p() {
                Some(P::Dot) => {
                    self.pos += 1;
                    let Some(Tok::Word(name)) = self.next() else {
                        return None;
                    };
                    node = self.node(Node::Member(Box::new(node), Name::new(&name)))?;
                }
                Some(P::LBracket) => {
                    self.pos += 1;
                    let index = self.cond()?;
                    self.expect(P::RBracket)?;
                    node = self.node(Node::Index(Box::new(node), Box::new(index)))?;
                }
                // Calls (other than `In(...)` above) are not supported.
                Some(P::LParen) => return None,
                _ => return Some(node),
            }
        }
    }

    fn primary(&mut self) -> Option<Node> {
        let node = match self.next()? {
            Tok::Num(v) => {
                // boa represents integral literals as int32 values.
                let as_int = v as i32;
                if f64::from(as_int) == v && !(v == 0.0 && v.is_sign_negative()) {
                    Node::Int(as_int)
                } else {
                    Node::Num(v)
                }
            }
            Tok::Str(s) => Node::Str(Name::new(&s)),
            Tok::Word(w) => match w.as_str() {
                "true" => Node::Bool(true),
                "false" => Node::Bool(false),
                "null" => Node::Null,
                w if super::is_reserved_word(w) || NOT_FAST_IDENTIFIERS.contains(&w) => {
                    return None
                }
                w => Node::Ident(self.ident(w)?),
            },
            Tok::P(P::LParen) => {
                let inner = self.cond()?;
                self.expect(P::RParen)?;
                return Some(inner);
            }
            Tok::P(P::LBracket) => {
                self.enter()?;
                let mut items = Vec::new();
                while !self.eat(P::RBracket) {
                    // Holes (`[1,,2]`) are not supported.
                    if self.peek_p() == Some(P::Comma) {
                        return None;
                    }
                    items.push(self.cond()?);
                    if !self.eat(P::Comma) {
                        self.expect(P::RBracket)?;
                        break;
                    }
                }
                self.leave();
                Node::Array(items)
            }
            Tok::P(P::LBrace) => {
                self.enter()?;
                let mut props = Vec::new();
                while !self.eat(P::RBrace) {
                    let key = match self.next()? {
                        Tok::Word(w) => PropName::Name(Name::new(&w)),
                        Tok::Str(s) => PropName::Name(Name::new(&s)),
                        Tok::Num(v) => PropName::Num(v),
                        Tok::P(_) => return None,
                    };
                    // `__proto__: x` sets the prototype: not supported.
                    if matches!(&key, PropName::Name(n) if &*n.text == "__proto__") {
                        return None;
                    }
                    // Shorthand, methods, getters/setters are not supported.
                    self.expect(P::Colon)?;
                    let value = self.cond()?;
                    props.push((key, value));
                    if !self.eat(P::Comma) {
                        self.expect(P::RBrace)?;
                        break;
                    }
                }
                self.leave();
                Node::Object(props)
            }
            Tok::P(_) => return None,
        };
        self.node(node)
    }

    /// Parses a whole input as one expression.
    fn parse_all(src: &str) -> Option<(Node, Vec<Ident>)> {
        let mut parser = Self::new(src)?;
        let root = parser.cond()?;
        if !parser.at_end() {
            return None;
        }
        Some((root, parser.idents))
    }
}

/// Parse `src` as an expression in the supported subset; `None` if it is
/// outside the subset or not valid JS (the caller then uses boa).
pub fn compile_expr(src: &str) -> Option<FastExpr> {
    let (root, idents) = Parser::parse_all(src)?;
    Some(FastExpr { root, idents })
}

/// A location (left-hand side): an identifier, or a member chain `a.b`,
/// `a[expr]`, `a.b[0].c` rooted at an identifier, where every index
/// expression is in the subset.
pub fn compile_location(src: &str) -> Option<FastLocation> {
    let (root, idents) = Parser::parse_all(src)?;
    // The chain must be rooted at an identifier.
    let mut cursor = &root;
    let root_ident = loop {
        match cursor {
            Node::Ident(i) => break *i,
            Node::Member(obj, _) | Node::Index(obj, _) => cursor = obj,
            _ => return None,
        }
    };
    let root_name = idents.get(root_ident)?.name.text.clone();
    let kind = match root {
        Node::Ident(i) => LocKind::Ident(i),
        Node::Member(obj, name) => LocKind::Member(*obj, LocKey::Name(name)),
        Node::Index(obj, index) => LocKind::Member(*obj, LocKey::Expr(*index)),
        _ => return None,
    };
    Some(FastLocation {
        kind,
        idents,
        root: root_name,
    })
}

// ---------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------

/// Looks up an own property of an *ordinary* object directly in its property
/// map, bypassing boa's internal-method dispatch (about twice as fast).
///
/// For ordinary objects this is exactly `[[GetOwnProperty]]`, so:
/// `Some(Some(v))` = own data property with value `v` (which is also what
/// `[[Get]]` returns); `Some(None)` = own accessor property; `None` = not an
/// own property, or not an ordinary object (use the generic path).
fn own_property(obj: &JsObject, key: &PropertyKey) -> Option<Option<JsValue>> {
    if !obj.is_ordinary() {
        return None;
    }
    let desc = obj.try_borrow().ok()?.properties().get(key)?;
    Some(desc.value().cloned())
}

/// Number of identifier values snapshotted by the resolution pass.
const SNAPSHOT: usize = 4;

struct Evaluator<'a> {
    scope: &'a JsObject,
    in_state: &'a dyn Fn(&str) -> bool,
    idents: &'a [Ident],
    /// Bit `i` set: identifier `i` is a property of the scope; clear: it is
    /// one of the constants.
    mask: u64,
    /// Values of own data properties of the scope read by the resolution
    /// pass. They are reused for identifier reads as long as no user code can
    /// have run since (`dirty` is false), which saves a second lookup.
    snapshot: [Option<JsValue>; SNAPSHOT],
    /// Set once an operation that may run user code (a getter, `valueOf`,
    /// `toString`, ...) has been performed.
    dirty: Cell<bool>,
}

impl<'a> Evaluator<'a> {
    /// Checks that every free identifier resolves (own or inherited property
    /// of the scope, or a constant), without running any user code.
    fn new(
        idents: &'a [Ident],
        scope: &'a JsObject,
        in_state: &'a dyn Fn(&str) -> bool,
        ctx: &mut Context,
    ) -> Result<Self, FastError> {
        let mut mask = 0u64;
        let mut snapshot: [Option<JsValue>; SNAPSHOT] = Default::default();
        for (i, id) in idents.iter().enumerate() {
            let key = id.name.key();
            let found = match own_property(scope, &key) {
                Some(value) => {
                    if let Some(slot) = snapshot.get_mut(i) {
                        *slot = value;
                    }
                    true
                }
                None => scope.has_property(key, ctx).map_err(FastError::Thrown)?,
            };
            if found {
                mask |= 1u64 << i;
            } else if id.constant.is_none() {
                return Err(FastError::Unresolved);
            }
        }
        Ok(Self {
            scope,
            in_state,
            idents,
            mask,
            snapshot,
            dirty: Cell::new(false),
        })
    }

    fn taint(&self) {
        self.dirty.set(true);
    }

    /// Operations on these operands may call user code (`valueOf`, ...).
    fn taint_if_object(&self, v: &JsValue) {
        if v.is_object() {
            self.taint();
        }
    }
}

fn type_error(message: &'static str) -> JsError {
    JsNativeError::typ().with_message(message).into()
}

impl Evaluator<'_> {
    /// `base[key]` with JS semantics (TypeError for `undefined`/`null`).
    fn get_property(
        &self,
        base: &JsValue,
        key: PropertyKey,
        ctx: &mut Context,
    ) -> JsResult<JsValue> {
        if let Some(obj) = base.as_object() {
            if let Some(Some(value)) = own_property(&obj, &key) {
                return Ok(value);
            }
        }
        self.taint();
        base.to_object(ctx)?.get(key, ctx)
    }

    fn ident(&self, i: usize, ctx: &mut Context) -> JsResult<JsValue> {
        let Some(id) = self.idents.get(i) else {
            return Ok(JsValue::undefined());
        };
        if self.mask & (1u64 << i) != 0 {
            if !self.dirty.get() {
                if let Some(Some(value)) = self.snapshot.get(i) {
                    return Ok(value.clone());
                }
            }
            let key = id.name.key();
            match own_property(self.scope, &key) {
                Some(Some(value)) => Ok(value),
                _ => {
                    self.taint();
                    self.scope.get(key, ctx)
                }
            }
        } else {
            Ok(id.constant.map_or_else(JsValue::undefined, Constant::value))
        }
    }

    fn eval(&self, node: &Node, ctx: &mut Context) -> JsResult<JsValue> {
        Ok(match node {
            Node::Int(v) => JsValue::new(*v),
            Node::Num(v) => JsValue::new(*v),
            Node::Str(s) => JsValue::new(s.js()),
            Node::Bool(b) => JsValue::new(*b),
            Node::Null => JsValue::null(),
            Node::Ident(i) => self.ident(*i, ctx)?,
            Node::Member(obj, name) => {
                let base = self.eval(obj, ctx)?;
                self.get_property(&base, name.key(), ctx)?
            }
            Node::Index(obj, index) => {
                let base = self.eval(obj, ctx)?;
                let index = self.eval(index, ctx)?;
                if base.is_null_or_undefined() {
                    // `ToObject` throws before the key is converted.
                    base.to_object(ctx)?;
                }
                self.taint_if_object(&index);
                let key = index.to_property_key(ctx)?;
                self.get_property(&base, key, ctx)?
            }
            Node::InState(state) => JsValue::new((self.in_state)(state)),
            Node::Unary(op, operand) => {
                let v = self.eval(operand, ctx)?;
                self.taint_if_object(&v);
                match op {
                    UnOp::Not => JsValue::new(!v.to_boolean()),
                    UnOp::Neg => v.neg(ctx)?,
                    UnOp::Plus => JsValue::new(v.to_number(ctx)?),
                    UnOp::TypeOf => JsValue::new(v.js_type_of()),
                }
            }
            Node::Binary(op, a, b) => {
                let a = self.eval(a, ctx)?;
                let b = self.eval(b, ctx)?;
                self.taint_if_object(&a);
                self.taint_if_object(&b);
                match op {
                    BinOp::Mul => a.mul(&b, ctx)?,
                    BinOp::Div => a.div(&b, ctx)?,
                    BinOp::Rem => a.rem(&b, ctx)?,
                    BinOp::Add => a.add(&b, ctx)?,
                    BinOp::Sub => a.sub(&b, ctx)?,
                    BinOp::Lt => JsValue::new(a.lt(&b, ctx)?),
                    BinOp::Le => JsValue::new(a.le(&b, ctx)?),
                    BinOp::Gt => JsValue::new(a.gt(&b, ctx)?),
                    BinOp::Ge => JsValue::new(a.ge(&b, ctx)?),
                    BinOp::Eq => JsValue::new(a.equals(&b, ctx)?),
                    BinOp::Ne => JsValue::new(!a.equals(&b, ctx)?),
                    BinOp::StrictEq => JsValue::new(a.strict_equals(&b)),
                    BinOp::StrictNe => JsValue::new(!a.strict_equals(&b)),
                }
            }
            Node::And(a, b) => {
                let a = self.eval(a, ctx)?;
                if a.to_boolean() {
                    self.eval(b, ctx)?
                } else {
                    a
                }
            }
            Node::Or(a, b) => {
                let a = self.eval(a, ctx)?;
                if a.to_boolean() {
                    a
                } else {
                    self.eval(b, ctx)?
                }
            }
            Node::Cond(test, a, b) => {
                if self.eval(test, ctx)?.to_boolean() {
                    self.eval(a, ctx)?
                } else {
                    self.eval(b, ctx)?
                }
            }
            Node::Array(items) => {
                let mut values = Vec::with_capacity(items.len());
                for item in items {
                    values.push(self.eval(item, ctx)?);
                }
                JsArray::from_iter(values, ctx).into()
            }
            Node::Object(props) => {
                let obj = JsObject::with_object_proto(ctx.intrinsics());
                for (key, value) in props {
                    let key = match key {
                        PropName::Name(n) => n.key(),
                        PropName::Num(v) => JsValue::new(*v).to_property_key(ctx)?,
                    };
                    let value = self.eval(value, ctx)?;
                    obj.create_data_property_or_throw(key, value, ctx)?;
                }
                obj.into()
            }
        })
    }
}

impl Evaluator<'_> {
    fn assign_member(
        &self,
        obj: &Node,
        key: &LocKey,
        value: JsValue,
        ctx: &mut Context,
    ) -> JsResult<()> {
        let base = self.eval(obj, ctx)?;
        let key: JsValue = match key {
            LocKey::Name(name) => name.js().into(),
            LocKey::Expr(index) => self.eval(index, ctx)?,
        };
        if base.is_null_or_undefined() {
            return Err(type_error("cannot set a property of undefined or null"));
        }
        // Sloppy mode: assignments to primitives go to a temporary wrapper.
        let target = base.to_object(ctx)?;
        let key = key.to_property_key(ctx)?;
        target.set(key, value, false, ctx)?;
        Ok(())
    }
}

impl FastExpr {
    /// Evaluate against the scope.
    ///
    /// Before evaluating anything, every free identifier is checked to be a
    /// property of the scope (own or inherited) or one of
    /// `undefined`/`NaN`/`Infinity`; otherwise `Err(FastError::Unresolved)`
    /// is returned without any side effect (no getter ran), so the caller can
    /// fall back to boa.
    pub fn eval(
        &self,
        scope: &JsObject,
        in_state: &dyn Fn(&str) -> bool,
        ctx: &mut Context,
    ) -> Result<JsValue, FastError> {
        let evaluator = Evaluator::new(&self.idents, scope, in_state, ctx)?;
        evaluator.eval(&self.root, ctx).map_err(FastError::Thrown)
    }
}

impl FastLocation {
    /// Assign `value` to the location (sloppy-mode semantics, like the boa
    /// path).
    ///
    /// Identifier case: the identifier must be an own or inherited property of
    /// the scope, else `Err(FastError::Unresolved)`. Member case: the object
    /// part is evaluated like a [`FastExpr`] (`TypeError` if it is
    /// `undefined`/`null`), then the property is set.
    pub fn assign(
        &self,
        scope: &JsObject,
        value: JsValue,
        in_state: &dyn Fn(&str) -> bool,
        ctx: &mut Context,
    ) -> Result<(), FastError> {
        match &self.kind {
            LocKind::Ident(i) => {
                let id = self.idents.get(*i).ok_or(FastError::Unresolved)?;
                let key = id.name.key();
                let found = own_property(scope, &key).is_some()
                    || scope
                        .has_property(key.clone(), ctx)
                        .map_err(FastError::Thrown)?;
                if !found {
                    return Err(FastError::Unresolved);
                }
                scope
                    .set(key, value, false, ctx)
                    .map_err(FastError::Thrown)?;
                Ok(())
            }
            LocKind::Member(obj, key) => {
                let evaluator = Evaluator::new(&self.idents, scope, in_state, ctx)?;
                evaluator
                    .assign_member(obj, key, value, ctx)
                    .map_err(FastError::Thrown)
            }
        }
    }

    /// The identifier at the root of the location (`a` for `a`, `a.b`,
    /// Whether the location is a bare identifier.
    pub fn is_identifier(&self) -> bool {
        matches!(self.kind, LocKind::Ident(_))
    }

    /// `a[0].c`). Used by the caller to check reserved system variables.
    pub fn root_identifier(&self) -> &str {
        &self.root
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use boa_engine::Source;

    const PRELUDE: &str = r#"
        function In(s) { return s === 's1'; }
        function __show(v) {
            if (v !== null && typeof v === 'object') {
                var proto = Object.getPrototypeOf(v);
                return 'object:' + Array.isArray(v) + ':'
                    + (proto === Object.prototype || proto === Array.prototype) + ':'
                    + JSON.stringify(v);
            }
            if (typeof v === 'number' && v === 0 && 1 / v < 0) { return 'number:-0'; }
            return typeof v + ':' + String(v);
        }
        function __mkscope() {
            var p = Object.create(null);
            Object.defineProperty(p, '_event', {
                get: function () { return { name: 'ev', data: { pos: 7 } }; }
            });
            Object.defineProperty(p, '_sessionid', { get: function () { return 'sid1'; } });
            var s = Object.create(p);
            s.n = 5; s.x = 3; s.y = false; s.a = 1; s.b = 0; s.c = 'c';
            s.str = 'hello'; s.num = 2.5; s.nul = null; s.u = undefined; s.neg = -4;
            s.o = { a: { b: [1, 2, { c: 'x' }] } };
            s.arr = [10, 20, 30]; s.k = 'a'; s.Var1 = 1; s.attempts = 2; s.maxAttempts = 3;
            s.zero = 0; s.t = true; s.e = ''; s.big = 1e21; s.ns = '12';
            s.obj = { valueOf: function () { return 42; }, toString: function () { return 'O'; } };
            // Side effects that mutate scope variables mid-expression.
            s.cnt = 0;
            Object.defineProperty(p, '_bump', { get: function () { s.cnt += 1; return 0; } });
            s.og = { get g() { s.cnt += 10; return 1; } };
            s.ov = { valueOf: function () { s.cnt += 100; return 1; } };
            s.ok = { toString: function () { s.cnt += 1000; return '0'; } };
            return s;
        }
    "#;

    struct Env {
        ctx: Context,
        scope: JsObject,
    }

    impl Env {
        fn new() -> Self {
            let mut ctx = Context::default();
            ctx.eval(Source::from_bytes(PRELUDE)).unwrap();
            let scope = ctx
                .eval(Source::from_bytes("__mkscope()"))
                .unwrap()
                .as_object()
                .unwrap();
            Self { ctx, scope }
        }

        fn in_state(s: &str) -> bool {
            s == "s1"
        }

        fn fast(&mut self, src: &str) -> Result<JsValue, FastError> {
            let expr = compile_expr(src).unwrap_or_else(|| panic!("not compiled: {src}"));
            expr.eval(&self.scope, &Self::in_state, &mut self.ctx)
        }

        fn boa(&mut self, src: &str) -> JsResult<JsValue> {
            let code = format!("(function(__s){{ with(__s){{ return ({src}\n); }} }})");
            let f = self.ctx.eval(Source::from_bytes(&code))?;
            let f = f.as_callable().unwrap();
            f.call(
                &JsValue::undefined(),
                &[self.scope.clone().into()],
                &mut self.ctx,
            )
        }

        fn show(&mut self, v: &JsValue) -> String {
            let show = self
                .ctx
                .global_object()
                .get(JsString::from("__show"), &mut self.ctx)
                .unwrap();
            let show = show.as_callable().unwrap();
            let s = show
                .call(
                    &JsValue::undefined(),
                    std::slice::from_ref(v),
                    &mut self.ctx,
                )
                .unwrap();
            s.to_string(&mut self.ctx).unwrap().to_std_string_escaped()
        }

        fn error_name(&mut self, e: &JsError) -> String {
            let v = e.clone().into_opaque(&mut self.ctx).unwrap();
            match v.as_object() {
                Some(o) => {
                    let name = o.get(JsString::from("name"), &mut self.ctx).unwrap();
                    self.show(&name)
                }
                None => format!("thrown:{}", self.show(&v)),
            }
        }

        /// Compares the fast path with boa; returns the shown result.
        fn check(&mut self, src: &str) -> String {
            self.check_resolved(src)
                .unwrap_or_else(|| panic!("unexpectedly unresolved: {src}"))
        }

        /// Like `check`, but `None` if the fast path reports `Unresolved`.
        fn check_resolved(&mut self, src: &str) -> Option<String> {
            let fast = self.fast(src);
            let boa = self.boa(src);
            match (fast, boa) {
                (Ok(f), Ok(b)) => {
                    let (fs, bs) = (self.show(&f), self.show(&b));
                    assert_eq!(fs, bs, "mismatch for {src}");
                    if !f.is_object() && !f.as_number().is_some_and(f64::is_nan) {
                        assert!(f.strict_equals(&b), "not strictly equal for {src}");
                    }
                    Some(fs)
                }
                (Err(FastError::Thrown(f)), Err(b)) => {
                    let (fs, bs) = (self.error_name(&f), self.error_name(&b));
                    assert_eq!(fs, bs, "error mismatch for {src}");
                    Some(format!("throw {fs}"))
                }
                (Err(FastError::Unresolved), _) => None,
                (f, b) => panic!(
                    "outcome mismatch for {src}: fast ok={} boa ok={}",
                    f.is_ok(),
                    b.is_ok()
                ),
            }
        }
    }

    const SAME_AS_BOA: &[&str] = &[
        "n >= 0",
        "n + 1",
        "_event.data.pos",
        "_event.name",
        "_sessionid",
        "attempts < maxAttempts",
        "In('s1')",
        "In(\"s2\")",
        "!In('s1')",
        "'pass'",
        "\"pass\"",
        "Var1 == 1",
        "'1' + 2",
        "1 + '2' * 3",
        "null == undefined",
        "null === undefined",
        "NaN == NaN",
        "NaN",
        "undefined",
        "Infinity",
        "-Infinity",
        "'b' > 'a'",
        "'B' > 'a'",
        "'10' < '9'",
        "'10' < 9",
        "[1,2] + ''",
        "[1, 2, [3]]",
        "[]",
        "[1,]",
        "{}",
        "{a: 1, 'b': 2, c: x, 3: 'three', 1.5: 1, 0x10: 2, if: 3}",
        "{a: {b: [n, str]}}.a.b[1]",
        "a && b || c",
        "a || b && c",
        "b && a",
        "b || e",
        "e || u",
        "u && x",
        "-x * 2",
        "!x == y",
        "!!str",
        "!e",
        "typeof 1",
        "typeof str",
        "typeof o",
        "typeof u",
        "typeof nul",
        "typeof In('s1')",
        "typeof typeof x",
        "1 - -1",
        "- - 1",
        "+'3' + +ns",
        "+str",
        "+obj",
        "obj + 1",
        "obj + ''",
        "obj == 42",
        "obj == 'O'",
        "o.a.b[2].c",
        "o['a']",
        "o[k].b.length",
        "o.a.b[1 + 1]['c']",
        "arr[0] + arr[2]",
        "arr.length",
        "arr[5]",
        "arr['1']",
        "str.length",
        "str[1]",
        "str.nope",
        "x ? 1 : 2 ? 3 : 4",
        "b ? 1 : 2 ? 3 : 4",
        "b ? 1 : zero ? 3 : 4",
        "(1 + 2) * 3",
        "1 + 2 * 3",
        "10 / 4",
        "10 % 4",
        "-7 % 3",
        "1 / 0",
        "-1 / 0",
        "1 / -0",
        "0 / 0",
        "-zero",
        "5 - 2 - 1",
        "12 / 3 / 2",
        "1 < 2 < 3",
        "3 > 2 > 1",
        "1 == 1 == 1",
        "2 == 2 === true",
        "'abc' === 'abc'",
        "'abc' !== 'abd'",
        "1 != '1'",
        "1 !== '1'",
        "true + 1",
        "null + 1",
        "undefined + 1",
        "u + 1",
        "nul >= 0",
        "nul == 0",
        "big + 1",
        "1e21 + ''",
        ".5 + 1.",
        "1.e2",
        "0x1F",
        "0XfF + 0",
        "0.1 + 0.2",
        "123456789012345678901234567890",
        "0xFFFFFFFFFFFFFFFFFF",
        "2147483647 + 1",
        "-2147483648 - 1",
        "'\\x41\\u0042\\u{43}\\n\\t\\r\\b\\f\\v\\0\\'\\\"\\\\'",
        "'\\a\\c\\d'",
        "'line\\\ncont'",
        "'\\uD83D\\uDE00'.length",
        "'é' + '日本'",
        "'é' === '\\xe9'",
        "{'é': 1}['\\u00e9']",
        "  n  ",
        "\tn\n+\r\n1 ",
        "In('s1') ? 'yes' : 'no'",
        "In('s1').nope",
        "o.a.b[2].c === 'x' && n > 4",
        "neg * -1 >= 4",
        "u",
        "nul",
        "$x_1",
        // Identifier reads after user code ran must see its side effects.
        "-cnt + _bump + cnt",
        "cnt - cnt + _bump",
        "-cnt + og.g + cnt",
        "-cnt + (ov + 0) + cnt",
        "-cnt + ov * 0 + cnt",
        "-cnt + (arr[ok] - 10) + cnt",
        "-cnt + (ov == 1) + cnt",
        "-cnt + (ov === 1) + cnt",
        "-cnt + -ov + cnt",
        "[cnt, og.g, cnt][2] - cnt",
    ];

    #[test]
    fn matches_boa() {
        let mut env = Env::new();
        let scope = env.scope.clone();
        scope
            .set(JsString::from("$x_1"), JsValue::new(9), true, &mut env.ctx)
            .unwrap();
        for src in SAME_AS_BOA {
            env.check(src);
        }
        assert!(SAME_AS_BOA.len() >= 80);
    }

    #[test]
    fn spot_values() {
        let mut env = Env::new();
        assert_eq!(env.check("'1' + 2"), "string:12");
        assert_eq!(env.check("1 + '2' * 3"), "number:7");
        assert_eq!(env.check("null == undefined"), "boolean:true");
        assert_eq!(env.check("null === undefined"), "boolean:false");
        assert_eq!(env.check("NaN == NaN"), "boolean:false");
        assert_eq!(env.check("x ? 1 : 2 ? 3 : 4"), "number:1");
        assert_eq!(env.check("In('s1')"), "boolean:true");
        assert_eq!(env.check("o.a.b[2].c"), "string:x");
        assert_eq!(env.check("_event.data.pos"), "number:7");
        assert_eq!(env.check("1 / -0"), "number:-Infinity");
        assert_eq!(env.check("a && b || c"), "string:c");
        assert_eq!(env.check("-cnt + _bump + cnt"), "number:1");
        assert_eq!(env.check("-cnt + ov * 0 + cnt"), "number:100");
        assert_eq!(env.check("-cnt + (arr[ok] - 10) + cnt"), "number:1000");
        assert_eq!(env.check("[cnt, og.g, cnt][2] - cnt"), "number:0");
    }

    #[test]
    fn thrown_errors() {
        let mut env = Env::new();
        for src in [
            "o.nope.x",
            "u.x",
            "nul.x",
            "nul[0]",
            "o.nope[k]",
            "undefined.x",
        ] {
            assert_eq!(env.check(src), "throw string:TypeError", "{src}");
        }
    }

    #[test]
    fn unresolved() {
        let mut env = Env::new();
        for src in [
            "zz + 1",
            "zz",
            "typeof zz",
            "n > 0 && zz",
            "In",
            "__s",
            "[1, zz]",
            "o[zz]",
        ] {
            assert!(
                matches!(env.fast(src), Err(FastError::Unresolved)),
                "{src} should be unresolved"
            );
        }
        // Nothing was evaluated before the fallback: the getter did not run.
        env.ctx
            .eval(Source::from_bytes(
                "var __hits = 0; Object.defineProperty(__mkscope, 'x', {value: 0});",
            ))
            .unwrap();
        let proto = env.scope.prototype().unwrap();
        env.ctx
            .eval(Source::from_bytes(
                "var __p = {}; Object.defineProperty(__p, 'g', { get: function () { __hits++; return 1; } });",
            ))
            .unwrap();
        let getter_holder = env
            .ctx
            .global_object()
            .get(JsString::from("__p"), &mut env.ctx)
            .unwrap()
            .as_object()
            .unwrap();
        proto.set_prototype(Some(getter_holder));
        assert!(matches!(env.fast("g + zz"), Err(FastError::Unresolved)));
        let hits = env.ctx.eval(Source::from_bytes("__hits")).unwrap();
        assert!(hits.strict_equals(&JsValue::new(0)));
        assert_eq!(env.check("g + 1"), "number:2");
        // Scope variables shadow the constants.
        env.scope
            .set(JsString::from("NaN"), JsValue::new(1), true, &mut env.ctx)
            .unwrap();
        assert_eq!(env.check("NaN + 1"), "number:2");
    }

    const REJECTED: &[&str] = &[
        "a = 1",
        "a += 1",
        "f()",
        "o.f()",
        "In(k)",
        "In('a', 'b')",
        "In()",
        "(In)('s1')",
        "a++",
        "++a",
        "a--",
        "new X",
        "/re/.test(a)",
        "a / b / c /",
        "a ?? b",
        "a?.b",
        "a ?. b",
        "function(){}",
        "x => x",
        "(x) => x",
        "`t`",
        "this.x",
        "this",
        "a; b",
        "a, b",
        "012",
        "08",
        "0b1",
        "0o7",
        "1n",
        "1_000",
        "3in x",
        "1.toString()",
        "'unterminated",
        "\"foo",
        "'a\nb'",
        "'\\1'",
        "'\\08'",
        "'\\x4'",
        "'\\u12'",
        "'\\u{110000}'",
        "'\\uD800'",
        "// c",
        "a /* c */ + b",
        "a // c",
        "return",
        "return 1",
        "",
        "   ",
        "a b",
        "a.",
        "a[",
        "a[]",
        "[1,,2]",
        "[,]",
        "[...a]",
        "{a}",
        "{a: 1,,}",
        "{[k]: 1}",
        "{a() {}}",
        "{get a() {}}",
        "{...o}",
        "{__proto__: o}",
        "{'__proto__': o}",
        "a in o",
        "a instanceof o",
        "a & b",
        "a | b",
        "a ^ b",
        "~a",
        "a << 1",
        "a >> 1",
        "a >>> 1",
        "a ** 2",
        "void 0",
        "delete o.a",
        "typeof",
        "eval",
        "arguments",
        "let",
        "yield",
        "await x",
        "async",
        "true = 1",
        "null.x = 1",
        "x ? 1",
        "x ? 1 : ",
        "(1",
        "1)",
        "a.1",
        "a.#b",
        "#a",
        "@a",
        "a\\u0062",
        "caf\u{e9}",
        "n\u{a0}+ 1",
        "n\u{2028}+ 1",
        "\u{feff}n",
        "'a'\u{2028}",
        "a\\",
        "a&&=b",
        "a||=b",
        "a??=b",
        "a...b",
        "import.meta",
        "super.x",
        "new.target",
    ];

    #[test]
    fn rejected() {
        for src in REJECTED {
            assert!(compile_expr(src).is_none(), "should be rejected: {src:?}");
        }
    }

    #[test]
    fn hostile_inputs_do_not_panic() {
        let inputs = [
            "(".repeat(100_000),
            format!("{}x{}", "(".repeat(1000), ")".repeat(1000)),
            format!("{}x", "!".repeat(100_000)),
            format!("{}x", "-".repeat(100_001)),
            format!("{}a", "a+".repeat(100_000)),
            "[".repeat(100_000),
            "{a:".repeat(100_000),
            format!("x{}", ".a".repeat(100_000)),
            format!("x{}", "[0]".repeat(100_000)),
            format!("{}1", "x ? 1 : ".repeat(100_000)),
            "'".to_string(),
            "\\".to_string(),
            "\u{0}".to_string(),
            "'\\u{".to_string(),
            "'\\x".to_string(),
            "0x".to_string(),
            "1e".to_string(),
            "1e+".to_string(),
            ".".to_string(),
            "0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF".to_string(),
            format!("1e{}", "9".repeat(1000)),
        ];
        for src in &inputs {
            let _ = compile_expr(src);
            let _ = compile_location(src);
        }
        // Moderately nested input still works.
        let mut env = Env::new();
        // (boa's own parser overflows a debug-mode test thread on these, so
        // compare against known values instead.)
        let mut fast_show = |src: String| {
            let v = env.fast(&src).ok().unwrap();
            env.show(&v)
        };
        let nested = format!("{}n{}", "(".repeat(25), ")".repeat(25));
        assert_eq!(fast_show(nested), "number:5");
        assert_eq!(fast_show(format!("{}n", "!".repeat(20))), "boolean:true");
        assert_eq!(fast_show(format!("{}1", "n + ".repeat(100))), "number:501");
    }

    /// Random token soup: whatever is accepted must be valid JS and evaluate
    /// exactly like boa.
    #[test]
    fn random_token_soup() {
        const VOCAB: &[&str] = &[
            "[0]",
            "o.a.b",
            "'1'",
            "e",
            "t",
            "-0",
            "1e3",
            "_event",
            ".data",
            "obj",
            "ov",
            "n",
            "x",
            "b",
            "str",
            "o",
            "arr",
            "nul",
            "u",
            "k",
            "NaN",
            "undefined",
            ".a",
            ".b",
            ".length",
            ".c",
            "[",
            "]",
            "(",
            ")",
            "{",
            "}",
            ",",
            ":",
            "?",
            "+",
            "-",
            "!",
            "*",
            "/",
            "%",
            "<",
            "<=",
            ">",
            ">=",
            "==",
            "!=",
            "===",
            "!==",
            "&&",
            "||",
            "1",
            "0",
            "2.5",
            ".5",
            "0x1F",
            "'s'",
            "\"a\"",
            "''",
            "true",
            "false",
            "null",
            "typeof ",
            "In('s1')",
            "In",
            " ",
            "a:",
            "'b':",
            "2:",
            ".",
        ];
        let mut env = Env::new();
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut accepted = 0;
        for _ in 0..200_000 {
            let len = 1 + (next() % 7) as usize;
            let mut src = String::new();
            for _ in 0..len {
                src.push_str(VOCAB[(next() % VOCAB.len() as u64) as usize]);
                if next() % 3 == 0 {
                    src.push(' ');
                }
            }
            if compile_expr(&src).is_some() {
                // The boa wrapper must compile too (no invalid JS accepted).
                if env.check_resolved(&src).is_some() {
                    accepted += 1;
                }
            }
            if let Some(loc) = compile_location(&src) {
                assert!(compile_expr(&src).is_some());
                let _ = loc.is_identifier();
            }
        }
        assert!(accepted > 1000, "only {accepted} accepted");
    }

    #[test]
    fn locations() {
        let mut env = Env::new();
        let loc = compile_location("x").unwrap();
        assert!(loc.is_identifier());
        assert_eq!(loc.root_identifier(), "x");
        loc.assign(&env.scope, JsValue::new(11), &Env::in_state, &mut env.ctx)
            .unwrap();
        assert_eq!(env.check("x"), "number:11");

        let loc = compile_location("o.a.b[0]").unwrap();
        assert!(!loc.is_identifier());
        assert_eq!(loc.root_identifier(), "o");
        loc.assign(&env.scope, JsValue::new(99), &Env::in_state, &mut env.ctx)
            .unwrap();
        assert_eq!(env.check("o.a.b[0]"), "number:99");

        let loc = compile_location("o[k]").unwrap();
        loc.assign(
            &env.scope,
            JsValue::new(JsString::from("v")),
            &Env::in_state,
            &mut env.ctx,
        )
        .unwrap();
        assert_eq!(env.check("o.a"), "string:v");

        let loc = compile_location("o.a2 . z").unwrap();
        assert!(matches!(
            loc.assign(&env.scope, JsValue::new(1), &Env::in_state, &mut env.ctx),
            Err(FastError::Thrown(_))
        ));
        let loc = compile_location("o.fresh").unwrap();
        loc.assign(&env.scope, JsValue::new(1), &Env::in_state, &mut env.ctx)
            .unwrap();
        assert_eq!(env.check("o.fresh"), "number:1");
        let loc = compile_location("arr[arr.length]").unwrap();
        loc.assign(&env.scope, JsValue::new(40), &Env::in_state, &mut env.ctx)
            .unwrap();
        assert_eq!(env.check("arr.length"), "number:4");

        // Inherited (accessor) properties count as resolved.
        let loc = compile_location("_sessionid").unwrap();
        loc.assign(&env.scope, JsValue::new(1), &Env::in_state, &mut env.ctx)
            .unwrap();
        assert_eq!(env.check("_sessionid"), "string:sid1");

        // Primitives: sloppy mode ignores the assignment.
        let loc = compile_location("str.foo").unwrap();
        loc.assign(&env.scope, JsValue::new(1), &Env::in_state, &mut env.ctx)
            .unwrap();
        assert_eq!(env.check("str.foo"), "undefined:undefined");

        let loc = compile_location("zz").unwrap();
        assert!(matches!(
            loc.assign(&env.scope, JsValue::new(1), &Env::in_state, &mut env.ctx),
            Err(FastError::Unresolved)
        ));
        let loc = compile_location("undefined").unwrap();
        assert!(matches!(
            loc.assign(&env.scope, JsValue::new(1), &Env::in_state, &mut env.ctx),
            Err(FastError::Unresolved)
        ));
        let loc = compile_location("zz.a").unwrap();
        assert!(matches!(
            loc.assign(&env.scope, JsValue::new(1), &Env::in_state, &mut env.ctx),
            Err(FastError::Unresolved)
        ));
        let loc = compile_location("u.x").unwrap();
        match loc.assign(&env.scope, JsValue::new(1), &Env::in_state, &mut env.ctx) {
            Err(FastError::Thrown(e)) => assert_eq!(env.error_name(&e), "string:TypeError"),
            _ => panic!("expected TypeError"),
        }
        let loc = compile_location("nul[k]").unwrap();
        assert!(matches!(
            loc.assign(&env.scope, JsValue::new(1), &Env::in_state, &mut env.ctx),
            Err(FastError::Thrown(_))
        ));

        for src in [
            "1",
            "x + 1",
            "In('s1')",
            "In('s1').a",
            "'a'.b",
            "f()",
            "x = 1",
            "[a][0]",
            "o.a()",
            "",
            "this.x",
            "a.b.",
            "a?.b",
        ] {
            assert!(compile_location(src).is_none(), "{src}");
        }
        assert_eq!(compile_location("(o).a.b").unwrap().root_identifier(), "o");
    }

    #[test]
    fn send_sync() {
        fn check<T: Send + Sync + 'static>() {}
        check::<FastExpr>();
        check::<FastLocation>();
    }

    #[test]
    #[ignore = "benchmark; run with --release -- --ignored --nocapture"]
    fn bench() {
        use std::time::Instant;
        let mut env = Env::new();
        for src in [
            "n >= 0",
            "n + 1",
            "attempts < maxAttempts",
            "_event.data.pos",
            "In('s1')",
            "'pass'",
            "Var1 == 1",
            "o.a.b[2].c",
        ] {
            let expr = compile_expr(src).unwrap();
            const N: u32 = 1_000_000;
            for _ in 0..1000 {
                expr.eval(&env.scope, &Env::in_state, &mut env.ctx).ok();
            }
            let start = Instant::now();
            for _ in 0..N {
                std::hint::black_box(expr.eval(&env.scope, &Env::in_state, &mut env.ctx).ok());
            }
            let fast = start.elapsed().as_nanos() as f64 / f64::from(N);

            let code = format!("(function(__s){{ with(__s){{ return ({src}); }} }})");
            let f = env.ctx.eval(Source::from_bytes(&code)).unwrap();
            let f = f.as_callable().unwrap();
            let args = [JsValue::from(env.scope.clone())];
            const M: u32 = 200_000;
            let start = Instant::now();
            for _ in 0..M {
                std::hint::black_box(f.call(&JsValue::undefined(), &args, &mut env.ctx).ok());
            }
            let slow = start.elapsed().as_nanos() as f64 / f64::from(M);
            println!("{src:<26} fast {fast:7.1} ns/eval   boa {slow:7.1} ns/eval");
        }
    }
}
