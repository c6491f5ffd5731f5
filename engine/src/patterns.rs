//! The Pattern Matcher (gms-api.md §3.5): named Java regular expressions in groups, and the
//! check `POST /genesys/1/patterns[/group/{group}]` runs on request parameters.
//!
//! Semantics, following GMS:
//! * A pattern matches a value as Java's `String.matches` does: the **whole** value must
//!   match, so every pattern is compiled as `\A(?:…)\z`.
//! * The answer maps each request parameter whose value matches a pattern of the group to the
//!   **name of the first matching pattern** (configuration order); parameters that match
//!   nothing are left out. Genesys' own tests assert exactly this: with pattern
//!   `Email = ^[_A-Za-z0-9-]+…$` and `param1=a@int.com&param2=a@.com&param3=a.b@int.net` the
//!   answer is `{"param1":"Email","param3":"Email"}` (Patterns_NewUI_Tests test19–22 in the
//!   public GMS test suite); the documented `{"param3":"911","param2":"email"}` reads the same
//!   way, with patterns named `911` and `email`.
//! * `_customer_number` values are matched with a leading `+` (GMS prefixes one internally);
//!   a value already starting with `+` is left alone.
//! * Across all groups ([`PatternGroups::match_params`], for `POST /genesys/1/patterns`), the
//!   first group in configuration order with a matching pattern names the pattern.
//!
//! Java syntax is translated where fancy-regex differs: `\d \w \s` and the POSIX classes
//! (`\p{Lower}`…) are ASCII as in Java (unless the `(?U)` flag is on), `\h \v \R` are Java's
//! whitespace classes, `\Q…\E` quoting, `\uXXXX`, `\0ooo` octal and `\cX` escapes, the
//! `java.lang.Character` classes (`\p{javaLowerCase}`…) and the `Is` prefix (`\p{IsLatin}`),
//! and Java's `d`/`u`/`U` flags, which fancy-regex lacks (its `U` means something else).
//! Unicode blocks (`\p{InGreek}`) and the rarer `\p{java…}` classes are rejected with an
//! error naming the pattern. Possessive quantifiers, atomic groups, look-around and
//! back-references are native to fancy-regex.
//!
//! Matching is bounded: the backtracking engine gives up after [`BACKTRACK_LIMIT`] steps, and
//! a value that exhausts it counts as not matching, so a pathological pattern cannot stall a
//! worker.

use fancy_regex::{Regex, RegexBuilder};

/// Backtracking steps allowed per pattern per value before the match is abandoned.
pub const BACKTRACK_LIMIT: usize = 100_000;

/// Size cap for the compiled automata of one pattern (bytes), against patterns such as
/// `a{1000}{1000}`.
const SIZE_LIMIT: usize = 4 << 20;

const CUSTOMER_NUMBER: &str = "_customer_number";

/// A pattern that does not compile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("pattern `{name}` (`{pattern}`): {message}")]
pub struct PatternError {
    /// The pattern's name (its option name).
    pub name: String,
    /// The Java regular expression as configured.
    pub pattern: String,
    pub message: String,
}

/// One compiled, named pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    name: String,
    source: String,
    regex: Regex,
}

impl Pattern {
    /// Compiles a Java regular expression with whole-value semantics.
    pub fn compile(name: &str, java: &str) -> Result<Pattern, PatternError> {
        let error = |message: String| PatternError {
            name: name.to_owned(),
            pattern: java.to_owned(),
            message,
        };
        let translated = translate(java).map_err(error)?;
        let regex = RegexBuilder::new(&format!(r"\A(?:{translated})\z"))
            .backtrack_limit(BACKTRACK_LIMIT)
            .delegate_size_limit(SIZE_LIMIT)
            .delegate_dfa_size_limit(SIZE_LIMIT)
            .build()
            .map_err(|e| error(e.to_string()))?;
        Ok(Pattern {
            name: name.to_owned(),
            source: java.to_owned(),
            regex,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The Java regular expression as configured.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the whole value matches. A match abandoned at the backtrack limit is `false`.
    pub fn matches(&self, value: &str) -> bool {
        match self.regex.is_match(value) {
            Ok(matched) => matched,
            Err(error) => {
                tracing::warn!(
                    pattern = %self.name,
                    %error,
                    "pattern match abandoned; counted as no match"
                );
                false
            }
        }
    }
}

/// A named group of patterns, in configuration order.
#[derive(Debug, Clone, Default)]
pub struct PatternGroup {
    patterns: Vec<Pattern>,
}

impl PatternGroup {
    /// Compiles `name = java-regex` options (a `[patterns.<group>]` section). Every pattern
    /// that fails is reported, not just the first.
    pub fn compile(options: &[(String, String)]) -> Result<PatternGroup, Vec<PatternError>> {
        let mut patterns = Vec::with_capacity(options.len());
        let mut errors = Vec::new();
        for (name, java) in options {
            match Pattern::compile(name, java) {
                Ok(pattern) => patterns.push(pattern),
                Err(error) => errors.push(error),
            }
        }
        if errors.is_empty() {
            Ok(PatternGroup { patterns })
        } else {
            Err(errors)
        }
    }

    pub fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }

    /// The name of the first pattern the whole value matches (the UI's "test a value").
    pub fn matching_pattern(&self, value: &str) -> Option<&str> {
        self.patterns
            .iter()
            .find(|p| p.matches(value))
            .map(Pattern::name)
    }

    /// `(parameter, pattern name)` for each parameter whose value matches a pattern, in
    /// parameter order; see the module docs for `_customer_number`.
    pub fn match_params(&self, params: &[(String, String)]) -> Vec<(String, String)> {
        params
            .iter()
            .filter_map(|(param, value)| {
                let value = normalize(param, value);
                let name = self.matching_pattern(&value)?;
                Some((param.clone(), name.to_owned()))
            })
            .collect()
    }
}

/// All pattern groups of a configuration, in order.
#[derive(Debug, Clone, Default)]
pub struct PatternGroups {
    groups: Vec<(String, PatternGroup)>,
}

impl PatternGroups {
    /// Compiles `(group, options)` pairs, e.g. from [`crate::config::Config::pattern_groups`].
    /// Groups that fail are left out and their errors returned, so one bad pattern does not
    /// disable the others.
    pub fn compile<'a>(
        groups: impl IntoIterator<Item = (&'a str, &'a [(String, String)])>,
    ) -> (PatternGroups, Vec<(String, PatternError)>) {
        let mut compiled = Vec::new();
        let mut errors = Vec::new();
        for (name, options) in groups {
            match PatternGroup::compile(options) {
                Ok(group) => compiled.push((name.to_owned(), group)),
                Err(errs) => errors.extend(errs.into_iter().map(|e| (name.to_owned(), e))),
            }
        }
        (PatternGroups { groups: compiled }, errors)
    }

    pub fn group(&self, name: &str) -> Option<&PatternGroup> {
        self.groups.iter().find(|(n, _)| n == name).map(|(_, g)| g)
    }

    pub fn groups(&self) -> impl Iterator<Item = (&str, &PatternGroup)> {
        self.groups.iter().map(|(n, g)| (n.as_str(), g))
    }

    /// Like [`PatternGroup::match_params`] over every group: the first group in order with a
    /// matching pattern names it.
    pub fn match_params(&self, params: &[(String, String)]) -> Vec<(String, String)> {
        params
            .iter()
            .filter_map(|(param, value)| {
                let value = normalize(param, value);
                let name = self
                    .groups
                    .iter()
                    .find_map(|(_, g)| g.matching_pattern(&value))?;
                Some((param.clone(), name.to_owned()))
            })
            .collect()
    }
}

fn normalize<'v>(param: &str, value: &'v str) -> std::borrow::Cow<'v, str> {
    if param == CUSTOMER_NUMBER && !value.starts_with('+') {
        std::borrow::Cow::Owned(format!("+{value}"))
    } else {
        std::borrow::Cow::Borrowed(value)
    }
}

// ---------------------------------------------------------------------------------------------
// Java → fancy-regex translation

/// A character class produced for a Java escape: either a bracket expression's contents or a
/// Unicode property name. Both forms are valid inside and outside a bracket expression (as a
/// nested class), so the translation does not depend on where the escape stands.
enum Class {
    Set(&'static str),
    Property(String),
}

impl Class {
    fn write(&self, negated: bool, out: &mut String) {
        match self {
            Class::Set(set) => {
                out.push('[');
                if negated {
                    out.push('^');
                }
                out.push_str(set);
                out.push(']');
            }
            Class::Property(name) => {
                out.push_str(if negated { r"\P{" } else { r"\p{" });
                out.push_str(name);
                out.push('}');
            }
        }
    }
}

const ASCII_DIGIT: &str = "0-9";
const ASCII_WORD: &str = "a-zA-Z_0-9";
const ASCII_SPACE: &str = r" \t\n\x0B\f\r";
const HORIZONTAL_SPACE: &str = r" \t\xA0\x{1680}\x{180E}\x{2000}-\x{200A}\x{202F}\x{205F}\x{3000}";
const VERTICAL_SPACE: &str = r"\n\x0B\f\r\x{85}\x{2028}\x{2029}";

/// Translates Java regex syntax to fancy-regex syntax (see the module docs).
fn translate(java: &str) -> Result<String, String> {
    let chars: Vec<char> = java.chars().collect();
    let mut out = String::with_capacity(java.len() + 8);
    let mut unicode_classes = false;
    let mut class_depth = 0usize;
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        match c {
            '\\' => {
                i = translate_escape(&chars, i, class_depth > 0, unicode_classes, &mut out)?;
            }
            '[' => {
                class_depth += 1;
                out.push('[');
                i += 1;
                // A `]` right after `[` or `[^` is literal (as fancy-regex reads it).
                if chars.get(i) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                if chars.get(i) == Some(&']') {
                    out.push_str(r"\]");
                    i += 1;
                }
            }
            ']' if class_depth > 0 => {
                class_depth -= 1;
                out.push(']');
                i += 1;
            }
            '(' if class_depth == 0 && chars.get(i + 1) == Some(&'?') => {
                i = translate_group_flags(&chars, i, &mut unicode_classes, &mut out);
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// `(?flags)` / `(?flags:` at `start`: drops Java's `d` and `u`, turns `U` into the ASCII/Unicode
/// switch for `\d \w \s`, passes `i m s x` through. Other group kinds are copied unchanged.
fn translate_group_flags(
    chars: &[char],
    start: usize,
    unicode_classes: &mut bool,
    out: &mut String,
) -> usize {
    let mut j = start + 2;
    let mut kept = String::new();
    let mut negative = false;
    let mut is_flag_group = false;
    while let Some(&c) = chars.get(j) {
        match c {
            'i' | 'm' | 's' | 'x' => kept.push(c),
            '-' => {
                negative = true;
                kept.push('-');
            }
            'd' | 'u' => {}
            'U' => *unicode_classes = !negative,
            ')' | ':' => {
                is_flag_group = true;
                break;
            }
            _ => break,
        }
        j += 1;
    }
    if !is_flag_group {
        out.push_str("(?");
        return start + 2;
    }
    let terminator = chars.get(j).copied().unwrap_or(')');
    let kept = kept.trim_end_matches('-');
    if kept.is_empty() {
        if terminator == ':' {
            out.push_str("(?:");
        }
    } else {
        out.push_str("(?");
        out.push_str(kept);
        out.push(terminator);
    }
    j + 1
}

/// The escape starting at `start` (a backslash); returns the index after it.
fn translate_escape(
    chars: &[char],
    start: usize,
    in_class: bool,
    unicode_classes: bool,
    out: &mut String,
) -> Result<usize, String> {
    let Some(&c) = chars.get(start + 1) else {
        return Err("trailing backslash".to_owned());
    };
    let next = start + 2;
    let ascii = |set: &'static str, negated: bool, out: &mut String| {
        Class::Set(set).write(negated, out);
    };
    match c {
        'd' | 'D' | 'w' | 'W' | 's' | 'S' if !unicode_classes => {
            let set = match c.to_ascii_lowercase() {
                'd' => ASCII_DIGIT,
                'w' => ASCII_WORD,
                _ => ASCII_SPACE,
            };
            ascii(set, c.is_ascii_uppercase(), out);
            Ok(next)
        }
        'h' | 'H' => {
            ascii(HORIZONTAL_SPACE, c == 'H', out);
            Ok(next)
        }
        'v' | 'V' => {
            ascii(VERTICAL_SPACE, c == 'V', out);
            Ok(next)
        }
        'R' if in_class => Err(r"`\R` is not allowed in a character class".to_owned()),
        'R' => {
            out.push_str(r"(?:\r\n|[");
            out.push_str(VERTICAL_SPACE);
            out.push_str("])");
            Ok(next)
        }
        'Q' => {
            let mut j = next;
            while let Some(&q) = chars.get(j) {
                if q == '\\' && chars.get(j + 1) == Some(&'E') {
                    return Ok(j + 2);
                }
                push_literal(q, out);
                j += 1;
            }
            Ok(j)
        }
        // A stray `\E` (no `\Q` open) is ignored by Java.
        'E' => Ok(next),
        'u' => {
            let unit = hex4(chars, next).ok_or(r"`\u` needs four hex digits")?;
            if (0xD800..0xDC00).contains(&unit) {
                // A high surrogate must be followed by `\u` and a low one: one code point.
                let low = (chars.get(next + 4) == Some(&'\\') && chars.get(next + 5) == Some(&'u'))
                    .then(|| hex4(chars, next + 6))
                    .flatten()
                    .filter(|low| (0xDC00..0xE000).contains(low))
                    .ok_or("unpaired surrogate in `\\u` escape")?;
                let code = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                push_code_point(code, out);
                Ok(next + 10)
            } else if (0xDC00..0xE000).contains(&unit) {
                Err("unpaired surrogate in `\\u` escape".to_owned())
            } else {
                push_code_point(unit, out);
                Ok(next + 4)
            }
        }
        '0' => {
            // Java: `\0` then one to three octal digits, at most 0377.
            let mut value = 0u32;
            let mut j = next;
            while let Some(digit) = chars.get(j).and_then(|d| d.to_digit(8)) {
                let candidate = value * 8 + digit;
                if j - next == 3 || candidate > 0o377 {
                    break;
                }
                value = candidate;
                j += 1;
            }
            if j == next {
                return Err(r"`\0` needs an octal digit".to_owned());
            }
            push_code_point(value, out);
            Ok(j)
        }
        'c' => {
            let control = chars.get(next).ok_or(r"`\c` needs a character")?;
            push_code_point(u32::from(*control) ^ 0x40, out);
            Ok(next + 1)
        }
        'p' | 'P' => {
            let (name, after) = match chars.get(next) {
                Some('{') => {
                    let close = chars[next..]
                        .iter()
                        .position(|&ch| ch == '}')
                        .ok_or("unclosed `\\p{`")?;
                    let name: String = chars[next + 1..next + close].iter().collect();
                    (name, next + close + 1)
                }
                Some(letter) => (letter.to_string(), next + 1),
                None => return Err(format!("`\\{c}` needs a property name")),
            };
            java_property(name.trim())?.write(c == 'P', out);
            Ok(after)
        }
        _ => {
            out.push('\\');
            out.push(c);
            Ok(next)
        }
    }
}

fn hex4(chars: &[char], at: usize) -> Option<u32> {
    let digits = chars.get(at..at + 4)?;
    digits
        .iter()
        .try_fold(0u32, |acc, d| Some(acc * 16 + d.to_digit(16)?))
}

fn push_code_point(code: u32, out: &mut String) {
    out.push_str(&format!(r"\x{{{code:X}}}"));
}

/// A literal character, safe both inside and outside a bracket expression.
fn push_literal(c: char, out: &mut String) {
    if c.is_alphanumeric() || c == ' ' || c == '_' {
        out.push(c);
    } else {
        push_code_point(u32::from(c), out);
    }
}

/// A Java `\p{name}` class.
fn java_property(name: &str) -> Result<Class, String> {
    // POSIX classes are US-ASCII only in Java (without UNICODE_CHARACTER_CLASS).
    let posix = match name {
        "Lower" => Some("a-z"),
        "Upper" => Some("A-Z"),
        "ASCII" => Some(r"\x00-\x7F"),
        "Alpha" => Some("a-zA-Z"),
        "Digit" => Some("0-9"),
        "Alnum" => Some("a-zA-Z0-9"),
        "Punct" => Some(r"\x21-\x2F\x3A-\x40\x5B-\x60\x7B-\x7E"),
        "Graph" => Some(r"\x21-\x7E"),
        "Print" => Some(r"\x20-\x7E"),
        "Blank" => Some(r" \t"),
        "Cntrl" => Some(r"\x00-\x1F\x7F"),
        "XDigit" => Some("0-9a-fA-F"),
        "Space" => Some(ASCII_SPACE),
        "javaLetterOrDigit" => Some(r"\p{L}\p{Nd}"),
        "javaISOControl" => Some(r"\x00-\x1F\x7F-\x9F"),
        "javaDefined" => Some(r"\P{Cn}"),
        // Character.isWhitespace: space separators except the non-breaking ones, and controls.
        "javaWhitespace" => Some(r"\t-\r\x1C-\x1F\p{Zs}\p{Zl}\p{Zp}&&[^\xA0\x{2007}\x{202F}]"),
        _ => None,
    };
    if let Some(set) = posix {
        return Ok(Class::Set(set));
    }
    let property = match name {
        "javaLowerCase" => "Lowercase",
        "javaUpperCase" => "Uppercase",
        "javaAlphabetic" => "Alphabetic",
        "javaIdeographic" => "Ideographic",
        "javaLetter" => "L",
        "javaDigit" => "Nd",
        "javaTitleCase" => "Lt",
        "javaSpaceChar" => "Z",
        _ if name.starts_with("java") => {
            return Err(format!("`\\p{{{name}}}` is not supported"));
        }
        _ if name.starts_with("In") || name.starts_with("block=") || name.starts_with("blk=") => {
            return Err(format!(
                "Unicode blocks (`\\p{{{name}}}`) are not supported; use a script (`\\p{{IsGreek}}`) or a range"
            ));
        }
        // `IsLatin`, `IsLu`, `IsAlphabetic`: a script, category or binary property.
        _ => name.strip_prefix("Is").unwrap_or(name),
    };
    Ok(Class::Property(property.to_owned()))
}
