//! Service templates: what options a service of each kind has, with defaults, descriptions,
//! categories and kinds, and (for callback) the scenario presets of the Service Management UI's
//! "Common Default Configuration". Creating a service from a template yields its GMS option list
//! (`_type`, `_service`, defaults, preset values, overrides); validating a service checks the
//! rules GMS enforces on a `[service.<name>]` section.
//!
//! The ten built-in templates live in `templates/<name>/template.json` at the workspace root and
//! are compiled into the binary; more can be uploaded as zip archives (`templates/README.md`
//! describes the format).

mod archive;
mod ident;

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, OnceLock};

use include_dir::{include_dir, Dir};
use parking_lot::RwLock;
use serde::Deserialize;

pub use archive::{MAX_ARCHIVE_BYTES, MAX_ENTRIES, MAX_ENTRY_BYTES, TEMPLATE_JSON};
pub use ident::is_valid_option_name;

static BUILTIN_DIR: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../templates");

/// The option naming the service kind: `builtin` or `ors`.
pub const TYPE_OPTION: &str = "_type";
/// The option naming the template (or, for `ors`, an SCXML URL or file) a service runs.
pub const SERVICE_OPTION: &str = "_service";

/// Where a service is executed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceType {
    /// Executed inside GMS (Ringback's engine).
    Builtin,
    /// Executed as an SCXML session ("Orchestration Server-based").
    Ors,
}

impl ServiceType {
    /// The `_type` value.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceType::Builtin => "builtin",
            ServiceType::Ors => "ors",
        }
    }

    /// Parses a `_type` value.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "builtin" => Some(ServiceType::Builtin),
            "ors" => Some(ServiceType::Ors),
            _ => None,
        }
    }
}

/// How the Service Management UI treats an option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptionKind {
    /// Always present and non-empty; cannot be removed or renamed (the lock icon).
    Mandatory,
    /// Filled from its default when a service is created; may be edited or removed.
    Optional,
    /// Tuning knob hidden unless "Advanced Parameters" is on; filled from its default.
    Advanced,
    /// Normally supplied with each API request; never filled into a new service. Its default,
    /// if any, is what the service assumes when a request leaves it out.
    Request,
}

impl OptionKind {
    /// Whether the option may be deleted from a service.
    pub fn removable(self) -> bool {
        self != OptionKind::Mandatory
    }
}

/// One option a template declares.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionSpec {
    pub name: String,
    /// GMS options are strings, whatever they hold (numbers, booleans, JSON).
    #[serde(default)]
    pub default: String,
    pub description: String,
    #[serde(default = "general")]
    pub category: String,
    pub kind: OptionKind,
    /// What a value must look like (a service with a value that does not parse is refused).
    #[serde(default, rename = "type")]
    pub value_type: ValueType,
    /// The accepted values of a [`ValueType::Choice`] (compared without regard to ASCII case).
    #[serde(default)]
    pub values: Vec<String>,
}

/// The shape of an option's value. Every option is a string in GMS; the type says which
/// strings mean something. An empty value always passes ("not specified"), and so does one
/// holding a `$token$`, replaced by the request parameter of that name at request time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValueType {
    /// Any text (names, URLs, comma lists...).
    #[default]
    Text,
    /// A whole number (`-3`, `86400`).
    Integer,
    /// A finite decimal number.
    Number,
    /// `true` or `false`.
    Boolean,
    /// A JSON document (`{"1":{"0000":1}}`, `[...]`).
    Json,
    /// One of the option's `values`.
    Choice,
}

impl OptionSpec {
    /// Whether `value` fits the option's type; the problem, worded for an operator, if not.
    pub fn check_value(&self, value: &str) -> Result<(), String> {
        let v = value.trim();
        if v.is_empty() || has_token(v) {
            return Ok(());
        }
        let ok = match self.value_type {
            ValueType::Text => true,
            ValueType::Integer => v.parse::<i64>().is_ok(),
            ValueType::Number => v.parse::<f64>().is_ok_and(f64::is_finite),
            ValueType::Boolean => v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false"),
            ValueType::Json => serde_json::from_str::<serde_json::Value>(v).is_ok(),
            ValueType::Choice => self.values.iter().any(|c| c.eq_ignore_ascii_case(v)),
        };
        if ok {
            return Ok(());
        }
        let expected = match self.value_type {
            ValueType::Text => "text".to_owned(),
            ValueType::Integer => "a whole number".to_owned(),
            ValueType::Number => "a number".to_owned(),
            ValueType::Boolean => "true or false".to_owned(),
            ValueType::Json => "a JSON document".to_owned(),
            ValueType::Choice => format!("one of {}", self.values.join(", ")),
        };
        Err(format!(
            "option '{}' must be {expected}, not '{value}'",
            self.name
        ))
    }
}

/// Whether a value holds a `$name$` token (GMS substitutes the request parameter `name`).
fn has_token(v: &str) -> bool {
    let mut parts = v.split('$');
    parts.next();
    let inner: Vec<&str> = parts.collect();
    // `a$x$b` splits into ["a", "x", "b"]: a token needs a closing `$` after a name.
    inner.len() >= 2
        && inner[..inner.len() - 1]
            .iter()
            .any(|name| !name.is_empty() && ident::identifier_problem(name).is_none())
}

fn general() -> String {
    "General".to_owned()
}

/// A named set of predefined values ("Common Default Configuration") applied on top of the
/// defaults when a service is created.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preset {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub values: BTreeMap<String, String>,
}

/// Where a template in the registry came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Origin {
    /// Compiled into the binary from `templates/`.
    #[default]
    BuiltIn,
    /// Uploaded as a zip archive.
    Uploaded,
}

/// A service template (`template.json` plus the files shipped with it).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    pub name: String,
    #[serde(rename = "type")]
    pub service_type: ServiceType,
    /// The builtin implementation (`builtin`) or the SCXML document (`ors`) the template runs.
    pub service: String,
    #[serde(default)]
    pub description: String,
    pub options: Vec<OptionSpec>,
    #[serde(default)]
    pub presets: Vec<Preset>,
    /// Every other file of the template folder or archive (SCXML, treatments...), by relative
    /// path.
    #[serde(skip)]
    pub files: BTreeMap<String, Vec<u8>>,
    #[serde(skip)]
    pub origin: Origin,
    /// Option positions by name (services read options by name on every request).
    #[serde(skip)]
    index: std::collections::HashMap<String, usize>,
}

impl Template {
    /// Parses a `template.json` and checks it (see [`Template::check`]).
    pub fn from_json(json: &[u8]) -> Result<Self, TemplateError> {
        let mut template: Template = serde_json::from_slice(json)
            .map_err(|e| TemplateError::InvalidTemplateJson(e.to_string()))?;
        template.check()?;
        template.index = template
            .options
            .iter()
            .enumerate()
            .map(|(i, o)| (o.name.clone(), i))
            .collect();
        Ok(template)
    }

    /// The option called `name`, if the template declares it.
    pub fn option(&self, name: &str) -> Option<&OptionSpec> {
        match self.index.get(name) {
            Some(&i) => self.options.get(i),
            // A template built another way than `from_json` has no index.
            None if self.index.is_empty() => self.options.iter().find(|o| o.name == name),
            None => None,
        }
    }

    /// The preset called `name`, if the template has one.
    pub fn preset(&self, name: &str) -> Option<&Preset> {
        self.presets.iter().find(|p| p.name == name)
    }

    /// The mandatory options, in declaration order.
    pub fn mandatory(&self) -> impl Iterator<Item = &OptionSpec> {
        self.options
            .iter()
            .filter(|o| o.kind == OptionKind::Mandatory)
    }

    /// The template's own consistency: a valid name, at least one option, option and preset
    /// value names that are identifiers, no duplicates, and `_type`/`_service` left to the
    /// service rather than declared as options.
    pub fn check(&self) -> Result<(), TemplateError> {
        let invalid = |problem: String| TemplateError::InvalidTemplate {
            template: self.name.clone(),
            problem,
        };
        if !is_valid_template_name(&self.name) {
            return Err(TemplateError::InvalidTemplateName(self.name.clone()));
        }
        if self.service.trim().is_empty() {
            return Err(invalid("\"service\" is empty".to_owned()));
        }
        if self.options.is_empty() {
            return Err(invalid("it declares no options".to_owned()));
        }
        let mut seen = HashSet::new();
        for option in &self.options {
            if let Some(reason) = ident::identifier_problem(&option.name) {
                return Err(invalid(format!(
                    "option '{}' is not a valid ECMAScript identifier: {reason}",
                    option.name
                )));
            }
            if option.name == TYPE_OPTION || option.name == SERVICE_OPTION {
                return Err(invalid(format!(
                    "'{}' is set from the template itself and cannot be declared as an option",
                    option.name
                )));
            }
            if !seen.insert(option.name.as_str()) {
                return Err(invalid(format!(
                    "option '{}' is declared twice",
                    option.name
                )));
            }
            if (option.value_type == ValueType::Choice) == option.values.is_empty() {
                return Err(invalid(format!(
                    "option '{}': \"values\" go with type \"choice\", and only with it",
                    option.name
                )));
            }
            if let Err(problem) = option.check_value(&option.default) {
                return Err(invalid(format!("its default: {problem}")));
            }
        }
        let mut presets = HashSet::new();
        for preset in &self.presets {
            if !presets.insert(preset.name.as_str()) {
                return Err(invalid(format!(
                    "preset '{}' is declared twice",
                    preset.name
                )));
            }
            if let Some(name) = preset.values.keys().find(|k| !is_valid_option_name(k)) {
                return Err(invalid(format!(
                    "preset '{}' sets '{name}', which is not a valid ECMAScript identifier",
                    preset.name
                )));
            }
            for (name, value) in &preset.values {
                if let Some(Err(problem)) = self.option(name).map(|o| o.check_value(value)) {
                    return Err(invalid(format!("preset '{}': {problem}", preset.name)));
                }
            }
        }
        Ok(())
    }
}

/// Template names become URL path segments and archive names: ASCII letters, digits, `_`, `-`
/// and `.`, at most 64 characters, not starting with `.`.
pub fn is_valid_template_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Everything that can go wrong with templates and the services made from them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("unknown template '{0}'")]
    UnknownTemplate(String),
    #[error("template '{template}' has no preset '{preset}'")]
    UnknownPreset { template: String, preset: String },
    #[error("option name '{name}' is not a valid ECMAScript identifier: {reason}")]
    InvalidOptionName { name: String, reason: &'static str },
    #[error("option '{0}' is set more than once")]
    DuplicateOption(String),
    #[error("{0}")]
    InvalidValue(String),
    #[error("option '_type' must be 'builtin' or 'ors', not '{0}'")]
    InvalidType(String),
    #[error("option '_service' is missing")]
    MissingService,
    #[error("'_service={0}' does not name a known builtin template")]
    UnknownBuiltin(String),
    #[error(
        "'_service={0}' is neither a known template, an absolute http(s) URL nor a .scxml file name"
    )]
    UnknownOrsService(String),
    #[error(
        "'_type={declared}' does not match template '{template}', which is of type '{actual}'"
    )]
    TypeMismatch {
        template: String,
        declared: &'static str,
        actual: &'static str,
    },
    #[error(
        "invalid template name '{0}': use ASCII letters, digits, '_', '-' and '.' (at most 64)"
    )]
    InvalidTemplateName(String),
    #[error("template '{template}' is invalid: {problem}")]
    InvalidTemplate { template: String, problem: String },
    #[error("template.json is invalid: {0}")]
    InvalidTemplateJson(String),
    #[error("the archive is named '{archive}' but its template.json declares '{declared}'")]
    NameMismatch { archive: String, declared: String },
    #[error("the template archive is {size} bytes; the limit is {limit}")]
    ArchiveTooLarge { size: usize, limit: usize },
    #[error("the template archive has {count} entries; the limit is {limit}")]
    TooManyEntries { count: usize, limit: usize },
    #[error("archive entry '{name}' is larger than {limit} bytes")]
    EntryTooLarge { name: String, limit: u64 },
    #[error("archive entry '{0}' has an absolute path or a '..' component")]
    UnsafePath(String),
    #[error("not a readable zip archive: {0}")]
    BadArchive(String),
    #[error("the archive has no template.json at its root or in its single top folder")]
    MissingTemplateJson,
}

/// A built-in strategy document, `templates/strategies/<name>.scxml` (the default inbound
/// strategy and the others shipped with Ringback). `name` is letters, digits, `-` and `_`.
pub fn builtin_strategy(name: &str) -> Option<&'static str> {
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !plain {
        return None;
    }
    BUILTIN_DIR
        .get_file(format!("strategies/{name}.scxml"))
        .and_then(|f| f.contents_utf8())
}

/// The names of the built-in strategy documents.
pub fn builtin_strategies() -> Vec<String> {
    BUILTIN_DIR
        .get_dir("strategies")
        .map(|d| {
            d.files()
                .filter_map(|f| {
                    let name = f.path().file_name()?.to_str()?;
                    name.strip_suffix(".scxml").map(str::to_owned)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The built-in templates, parsed once per process.
fn builtin_templates() -> &'static Result<Vec<Arc<Template>>, TemplateError> {
    static BUILTIN: OnceLock<Result<Vec<Arc<Template>>, TemplateError>> = OnceLock::new();
    BUILTIN.get_or_init(|| {
        let mut templates = Vec::new();
        for folder in BUILTIN_DIR.dirs() {
            let json_path = folder.path().join(TEMPLATE_JSON);
            let Some(json) = folder.get_file(&json_path) else {
                continue;
            };
            let mut template = Template::from_json(json.contents())?;
            for file in all_files(folder) {
                if file.path() == json_path {
                    continue;
                }
                if let Ok(relative) = file.path().strip_prefix(folder.path()) {
                    let relative = relative.to_string_lossy().replace('\\', "/");
                    template.files.insert(relative, file.contents().to_vec());
                }
            }
            template.origin = Origin::BuiltIn;
            templates.push(Arc::new(template));
        }
        Ok(templates)
    })
}

fn all_files<'a>(dir: &'a Dir<'a>) -> Vec<&'a include_dir::File<'a>> {
    let mut files: Vec<_> = dir.files().collect();
    for sub in dir.dirs() {
        files.extend(all_files(sub));
    }
    files
}

/// The template registry: the built-in templates plus uploaded ones. Shared by reference
/// (`Arc<Templates>`); every method takes `&self`.
#[derive(Debug)]
pub struct Templates {
    by_name: RwLock<BTreeMap<String, Arc<Template>>>,
}

impl Templates {
    /// A registry holding the built-in templates. Fails only if an embedded `template.json` is
    /// broken, which the test suite rules out.
    pub fn with_builtins() -> Result<Self, TemplateError> {
        let builtins = builtin_templates().as_ref().map_err(Clone::clone)?;
        let by_name = builtins
            .iter()
            .map(|t| (t.name.clone(), Arc::clone(t)))
            .collect();
        Ok(Templates {
            by_name: RwLock::new(by_name),
        })
    }

    /// An empty registry.
    pub fn empty() -> Self {
        Templates {
            by_name: RwLock::new(BTreeMap::new()),
        }
    }

    /// The template called `name`.
    pub fn get(&self, name: &str) -> Option<Arc<Template>> {
        self.by_name.read().get(name).cloned()
    }

    /// Every template, sorted by name.
    pub fn list(&self) -> Vec<Arc<Template>> {
        self.by_name.read().values().cloned().collect()
    }

    /// Removes the template called `name` and returns it.
    pub fn remove(&self, name: &str) -> Result<Arc<Template>, TemplateError> {
        self.by_name
            .write()
            .remove(name)
            .ok_or_else(|| TemplateError::UnknownTemplate(name.to_owned()))
    }

    /// Adds (or replaces) the template `name` from an uploaded zip archive whose root, or whose
    /// single top folder, holds `template.json`; the other files are kept with the template.
    /// The `name` of `template.json` must equal `name`.
    pub fn add_zip(&self, name: &str, bytes: &[u8]) -> Result<Arc<Template>, TemplateError> {
        if !is_valid_template_name(name) {
            return Err(TemplateError::InvalidTemplateName(name.to_owned()));
        }
        let unpacked = archive::unpack(bytes)?;
        let mut template = Template::from_json(&unpacked.template_json)?;
        if template.name != name {
            return Err(TemplateError::NameMismatch {
                archive: name.to_owned(),
                declared: template.name,
            });
        }
        template.files = unpacked.files;
        template.origin = Origin::Uploaded;
        let template = Arc::new(template);
        self.by_name
            .write()
            .insert(name.to_owned(), Arc::clone(&template));
        tracing::info!(template = name, "service template uploaded");
        Ok(template)
    }

    /// The option list of a new service made from `template`: `_type`, `_service` (the template
    /// name), every non-request option with a non-empty default, then the preset's values, then
    /// `overrides`. A later value for an option already in the list replaces it in place.
    pub fn create_service(
        &self,
        template: &str,
        preset: Option<&str>,
        overrides: &[(String, String)],
    ) -> Result<Vec<(String, String)>, TemplateError> {
        let t = self
            .get(template)
            .ok_or_else(|| TemplateError::UnknownTemplate(template.to_owned()))?;
        let preset = match preset {
            None => None,
            Some(p) => Some(t.preset(p).ok_or_else(|| TemplateError::UnknownPreset {
                template: t.name.clone(),
                preset: p.to_owned(),
            })?),
        };
        for (name, _) in overrides {
            check_option_name(name)?;
        }

        let mut options = OptionList::default();
        options.set(TYPE_OPTION, t.service_type.as_str());
        options.set(SERVICE_OPTION, &t.name);
        for spec in &t.options {
            if spec.kind != OptionKind::Request && !spec.default.is_empty() {
                options.set(&spec.name, &spec.default);
            }
        }
        if let Some(preset) = preset {
            for (name, value) in &preset.values {
                options.set(name, value);
            }
        }
        for (name, value) in overrides {
            options.set(name, value);
        }
        Ok(options.0)
    }

    /// Checks a service's options against GMS's rules and reports every problem found: every
    /// option name is an ECMAScript identifier and appears once; `_service` names a known
    /// template (for `ors` it may also be an absolute http(s) URL or a `.scxml` file name) of
    /// the `_type` given, if one is; and every value of an option the template declares parses
    /// as that option's type. Options the section leaves out are not problems: the service
    /// runs with the template's defaults for them (see [`crate::service_options`]), as GMS does.
    pub fn validate_service(&self, options: &[(String, String)]) -> Result<(), Vec<TemplateError>> {
        let mut errors = Vec::new();
        let mut seen = HashSet::new();
        for (name, _) in options {
            if let Err(e) = check_option_name(name) {
                errors.push(e);
            } else if !seen.insert(name.as_str()) {
                errors.push(TemplateError::DuplicateOption(name.clone()));
            }
        }

        let value = |key: &str| crate::config::option(options, key).map(str::trim);
        let service_type = match value(TYPE_OPTION) {
            // Left out: the template's own type.
            None | Some("") => None,
            Some(v) => match ServiceType::parse(v) {
                Some(t) => Some(t),
                None => {
                    errors.push(TemplateError::InvalidType(v.to_owned()));
                    None
                }
            },
        };
        let template = match value(SERVICE_OPTION) {
            None | Some("") => {
                errors.push(TemplateError::MissingService);
                None
            }
            Some(service) => self.resolve_service(service, service_type, &mut errors),
        };

        if let Some(template) = template {
            for (name, v) in options {
                if let Some(Err(problem)) = template.option(name).map(|o| o.check_value(v)) {
                    errors.push(TemplateError::InvalidValue(problem));
                }
            }
        }

        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// The template a `_service` value refers to, recording why it is unacceptable if it is.
    /// Services whose `_service` is an SCXML URL or file of no known template have no template,
    /// so no mandatory options.
    fn resolve_service(
        &self,
        service: &str,
        declared: Option<ServiceType>,
        errors: &mut Vec<TemplateError>,
    ) -> Option<Arc<Template>> {
        let found = self.get(service).or_else(|| {
            // An ORS service may name its template by the SCXML document it runs.
            self.by_name
                .read()
                .values()
                .find(|t| t.service_type == ServiceType::Ors && t.service == service)
                .cloned()
        });
        match (declared, found) {
            (Some(declared), Some(t)) if declared != t.service_type => {
                errors.push(TemplateError::TypeMismatch {
                    template: t.name.clone(),
                    declared: declared.as_str(),
                    actual: t.service_type.as_str(),
                });
                None
            }
            (_, Some(t)) => Some(t),
            (Some(ServiceType::Builtin), None) => {
                errors.push(TemplateError::UnknownBuiltin(service.to_owned()));
                None
            }
            (Some(ServiceType::Ors) | None, None) => {
                if !is_absolute_http_url(service) && !is_scxml_name(service) {
                    errors.push(TemplateError::UnknownOrsService(service.to_owned()));
                }
                None
            }
        }
    }
}

fn check_option_name(name: &str) -> Result<(), TemplateError> {
    match ident::identifier_problem(name) {
        None => Ok(()),
        Some(reason) => Err(TemplateError::InvalidOptionName {
            name: name.to_owned(),
            reason,
        }),
    }
}

fn is_absolute_http_url(s: &str) -> bool {
    let rest = s
        .strip_prefix("http://")
        .or_else(|| s.strip_prefix("https://"));
    rest.is_some_and(|r| {
        let host = r.split(['/', '?', '#']).next().unwrap_or_default();
        !host.is_empty() && !s.chars().any(char::is_whitespace)
    })
}

fn is_scxml_name(s: &str) -> bool {
    s.len() > ".scxml".len()
        && s.to_ascii_lowercase().ends_with(".scxml")
        && !s.chars().any(char::is_whitespace)
}

/// An ordered option list where setting an existing name replaces its value in place.
#[derive(Default)]
struct OptionList(Vec<(String, String)>);

impl OptionList {
    fn set(&mut self, name: &str, value: &str) {
        match self.0.iter_mut().find(|(k, _)| k == name) {
            Some(slot) => value.clone_into(&mut slot.1),
            None => self.0.push((name.to_owned(), value.to_owned())),
        }
    }
}
