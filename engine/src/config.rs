//! GMS-style configuration: an ordered list of `[section]`s of `key = value` options, read
//! from and written back to INI text, with typed accessors for the sections Ringback knows.
//!
//! # Syntax (GMS option syntax)
//! * `[section]` headers; `key = value` or `key=value` lines; lines starting with `#` or `;`
//!   are comments; blank lines are ignored.
//! * A value is everything after the first `=`, trimmed, kept verbatim: no quote processing,
//!   so `{"1":{"0000":1}}`, `a=b`, `x # y` and comma lists are plain values.
//! * A repeated key keeps the last value and yields a [`Warning`]; a repeated section merges
//!   into the first one, also with a warning. A key before any section is an error.
//! * Options are spelled as GMS spells them. In `[callback]`, `[server]`, `[push]`, `[cview]` and
//!   the other node sections that is often with hyphens (`queue-polling-rate`,
//!   `log-background-activity`, `filter-keys`, `returned-keys`): those load as they are. Only a
//!   `[service.<name>]` option that is not an ECMAScript identifier is warned about (and kept):
//!   service options reach the SCXML data model by name, where such a name is unreadable.
//!   `[patterns.*]` keys are free-form pattern labels (GMS accepts any).
//!
//! # Sections
//! * `[server]`: node options, read by [`Config::server`].
//! * `[callback]`, `[push]` (`pushEnabled = comet`): defaults for those subsystems.
//! * `[service.<name>]`: one configured service, reached at `/genesys/1/service/<name>`
//!   (`_type`, `_service`, then service-specific options); see [`Config::services`].
//! * `[resources.<group>]`: one access-number resource group (GMS keeps these in Transaction
//!   lists; one section per group is the flat equivalent). Options: `numbers` (comma-separated
//!   access numbers), `allocation` (`random` | `round-robin`) and `_booking_expiration_timeout`
//!   (seconds a number stays reserved); see [`Config::resource_groups`].
//! * `[patterns.<group>]`: one Pattern Matcher group, `name = java-regex` per line; see
//!   [`Config::pattern_groups`] and [`crate::patterns`].
//!
//! Comments are not kept: [`Config::to_ini`] writes sections and options only, and
//! `parse(to_ini(c))` gives back `c`.

use std::fmt::Write as _;

/// The options of one section, in file order, with unique keys.
pub type Options = Vec<(String, String)>;

/// The embedded sample configuration (`samples/ringback.ini`), what a fresh server serves.
pub const SAMPLE_INI: &str = include_str!("../../samples/ringback.ini");

const SERVICE_PREFIX: &str = "service.";
const RESOURCES_PREFIX: &str = "resources.";
const PATTERNS_PREFIX: &str = "patterns.";

/// A configuration: ordered sections of ordered options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    sections: Vec<(String, Options)>,
}

/// Text that could not be read as configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ConfigError {
    /// 1-based line number.
    pub line: usize,
    pub message: String,
}

/// Something suspicious but accepted while parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// 1-based line number.
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// A change that would make the configuration unwritable as INI.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("invalid section name `{0}`: it must be non-empty, trimmed, on one line, without `[` or `]`")]
    SectionName(String),
    #[error("invalid option name `{0}`: it must be non-empty, trimmed, on one line, without `=`, and not start with `[`, `#` or `;`")]
    OptionName(String),
    #[error("invalid value for option `{0}`: values must fit on one line")]
    Value(String),
}

/// The `[server]` options, with defaults applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Basic-auth user for every API (a service section may override it).
    pub username: Option<String>,
    /// Basic-auth password; authentication is enforced only when a password is configured
    /// (gms-api.md §5).
    pub password: Option<String>,
    /// This node's id in a cluster; default `1`.
    pub node_id: String,
    /// Address to listen on; default `127.0.0.1:8080` (GMS's default port).
    pub listen: String,
    /// The URL clients reach this node at (`http://host:port/genesys/`), when it differs from
    /// what `listen` implies, e.g. behind a load balancer.
    pub external_url_base: Option<String>,
    /// Prefix making access codes unique in a cluster (gms-api.md §3.4).
    pub access_code_prefix: Option<String>,
}

impl Config {
    /// Reads INI text. Warnings are returned alongside the configuration; the first hard error
    /// ends parsing.
    pub fn parse(text: &str) -> Result<(Config, Vec<Warning>), ConfigError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut config = Config::default();
        let mut warnings = Vec::new();
        // Index into `config.sections` of the section being filled.
        let mut current: Option<usize> = None;
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
                continue;
            }
            if let Some(rest) = trimmed.strip_prefix('[') {
                let Some(name) = rest.strip_suffix(']') else {
                    return Err(ConfigError {
                        line,
                        message: format!("section header `{trimmed}` is missing its closing `]`"),
                    });
                };
                let name = name.trim();
                if name.is_empty() || name.contains(['[', ']']) {
                    return Err(ConfigError {
                        line,
                        message: format!("invalid section name in `{trimmed}`"),
                    });
                }
                current = Some(match config.position(name) {
                    Some(existing) => {
                        warnings.push(Warning {
                            line,
                            message: format!(
                                "section [{name}] appears again; its options are merged into the first one"
                            ),
                        });
                        existing
                    }
                    None => {
                        config.sections.push((name.to_owned(), Vec::new()));
                        config.sections.len() - 1
                    }
                });
                continue;
            }
            let Some((key, value)) = trimmed.split_once('=') else {
                return Err(ConfigError {
                    line,
                    message: format!("expected `[section]` or `key = value`, found `{trimmed}`"),
                });
            };
            let (key, value) = (key.trim(), value.trim());
            if key.is_empty() {
                return Err(ConfigError {
                    line,
                    message: "option without a name before `=`".to_owned(),
                });
            }
            let Some((section, options)) = current.and_then(|i| config.sections.get_mut(i)) else {
                return Err(ConfigError {
                    line,
                    message: format!("option `{key}` appears before any [section]"),
                });
            };
            if section.starts_with(SERVICE_PREFIX) && !is_ecmascript_identifier(key) {
                warnings.push(Warning {
                    line,
                    message: format!(
                        "service option `{key}` in [{section}] is not an ECMAScript identifier; \
                         the service's chart cannot read it by name (use `_` instead of `-` or `.`)"
                    ),
                });
            }
            match options.iter_mut().find(|(k, _)| k == key) {
                Some(slot) => {
                    warnings.push(Warning {
                        line,
                        message: format!(
                            "option `{key}` in [{section}] is set again; the last value wins"
                        ),
                    });
                    slot.1 = value.to_owned();
                }
                None => options.push((key.to_owned(), value.to_owned())),
            }
        }
        Ok((config, warnings))
    }

    /// The embedded sample configuration ([`SAMPLE_INI`]).
    pub fn sample() -> Config {
        // The sample is a compile-time constant covered by tests, not input.
        let (config, _) = Config::parse(SAMPLE_INI).expect("samples/ringback.ini parses");
        config
    }

    /// Writes the configuration as INI text (comments are not kept).
    pub fn to_ini(&self) -> String {
        let mut out = String::new();
        for (i, (name, options)) in self.sections.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            let _ = writeln!(out, "[{name}]");
            for (key, value) in options {
                if value.is_empty() {
                    let _ = writeln!(out, "{key} =");
                } else {
                    let _ = writeln!(out, "{key} = {value}");
                }
            }
        }
        out
    }

    /// All sections in order.
    pub fn sections(&self) -> &[(String, Options)] {
        &self.sections
    }

    /// The options of a section, if it exists.
    pub fn section(&self, name: &str) -> Option<&[(String, String)]> {
        self.sections
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, o)| o.as_slice())
    }

    /// One option's value.
    pub fn get(&self, section: &str, key: &str) -> Option<&str> {
        self.section(section)?
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Replaces (or appends) a whole section. Later duplicates of a key win, as when parsing.
    pub fn set_section(&mut self, name: &str, options: Options) -> Result<(), EditError> {
        check_section_name(name)?;
        let mut deduped: Options = Vec::with_capacity(options.len());
        for (key, value) in options {
            check_option(&key, &value)?;
            match deduped.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = value,
                None => deduped.push((key, value)),
            }
        }
        match self.position(name) {
            Some(i) => {
                if let Some(slot) = self.sections.get_mut(i) {
                    slot.1 = deduped;
                }
            }
            None => self.sections.push((name.to_owned(), deduped)),
        }
        Ok(())
    }

    /// Sets one option, creating its section if needed.
    pub fn set(&mut self, section: &str, key: &str, value: &str) -> Result<(), EditError> {
        check_section_name(section)?;
        check_option(key, value)?;
        let i = match self.position(section) {
            Some(i) => i,
            None => {
                self.sections.push((section.to_owned(), Vec::new()));
                self.sections.len() - 1
            }
        };
        if let Some((_, options)) = self.sections.get_mut(i) {
            match options.iter_mut().find(|(k, _)| k == key) {
                Some(slot) => slot.1 = value.to_owned(),
                None => options.push((key.to_owned(), value.to_owned())),
            }
        }
        Ok(())
    }

    /// Removes a section, returning its options if it existed.
    pub fn remove_section(&mut self, name: &str) -> Option<Options> {
        let i = self.position(name)?;
        Some(self.sections.remove(i).1)
    }

    /// `[service.<name>]` sections as `(name, options)`, in file order.
    pub fn services(&self) -> impl Iterator<Item = (&str, &[(String, String)])> {
        self.prefixed(SERVICE_PREFIX)
    }

    /// The options of `[service.<name>]`.
    pub fn service(&self, name: &str) -> Option<&[(String, String)]> {
        self.services().find(|(n, _)| *n == name).map(|(_, o)| o)
    }

    /// `[resources.<group>]` sections as `(group, options)`, in file order.
    pub fn resource_groups(&self) -> impl Iterator<Item = (&str, &[(String, String)])> {
        self.prefixed(RESOURCES_PREFIX)
    }

    /// `[patterns.<group>]` sections as `(group, options)`, in file order.
    pub fn pattern_groups(&self) -> impl Iterator<Item = (&str, &[(String, String)])> {
        self.prefixed(PATTERNS_PREFIX)
    }

    /// The `[server]` options with defaults. Empty values count as unset.
    pub fn server(&self) -> ServerConfig {
        let opt = |key: &str| {
            self.get("server", key)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        ServerConfig {
            username: opt("username"),
            password: opt("password"),
            node_id: opt("node_id").unwrap_or_else(|| "1".to_owned()),
            listen: opt("listen").unwrap_or_else(|| "127.0.0.1:8080".to_owned()),
            external_url_base: opt("external_url_base"),
            access_code_prefix: opt("access_code_prefix"),
        }
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.sections.iter().position(|(n, _)| n == name)
    }

    fn prefixed<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a [(String, String)])> {
        self.sections.iter().filter_map(move |(name, options)| {
            let rest = name.strip_prefix(prefix)?;
            (!rest.is_empty()).then_some((rest, options.as_slice()))
        })
    }
}

fn check_section_name(name: &str) -> Result<(), EditError> {
    let ok = !name.is_empty() && name.trim() == name && !name.contains(['[', ']', '\n', '\r']);
    ok.then_some(())
        .ok_or_else(|| EditError::SectionName(name.to_owned()))
}

fn check_option(key: &str, value: &str) -> Result<(), EditError> {
    let key_ok = !key.is_empty()
        && key.trim() == key
        && !key.contains(['=', '\n', '\r'])
        && !key.starts_with(['[', '#', ';']);
    if !key_ok {
        return Err(EditError::OptionName(key.to_owned()));
    }
    if value.contains(['\n', '\r']) {
        return Err(EditError::Value(key.to_owned()));
    }
    Ok(())
}

/// Whether an option's value turns something on (`true`, `yes`, `1` or `on`, any case).
pub fn truthy(v: Option<&str>) -> bool {
    matches!(
        v.map(|v| v.trim().to_ascii_lowercase()).as_deref(),
        Some("true" | "yes" | "1" | "on")
    )
}

/// The value of `key` in an option list; when a key repeats, the last value wins (as when
/// parsing INI and as with request parameters).
pub fn option<'a>(options: &'a [(String, String)], key: &str) -> Option<&'a str> {
    options
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// ECMAScript `IdentifierName` (ES2023 §12.7), approximated with Rust's Unicode tables:
/// `ID_Start` ≈ alphabetic, `ID_Continue` ≈ alphanumeric plus the joiners.
pub fn is_ecmascript_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    (first == '$' || first == '_' || first.is_alphabetic())
        && chars.all(|c| {
            c == '$' || c == '_' || c == '\u{200c}' || c == '\u{200d}' || c.is_alphanumeric()
        })
}
