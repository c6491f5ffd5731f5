//! What a service call runs with: the service's own options, the request's parameters and the
//! template's defaults, in GMS's order of precedence (the help, Services tab, "Request
//! parameters"):
//!
//! 1. an option configured on the service (a non-empty value in its `[service.<name>]`
//!    section) wins over a request parameter of the same name — unless the service lists the
//!    name in `_overwritable_options`, and then the request's value wins;
//! 2. otherwise the request's value;
//! 3. otherwise the template's default (a section that leaves an option out gets it).
//!
//! An empty value counts as "not specified" everywhere (the UI's trash can).

use crate::config::option;
use crate::templates::Template;

/// The option listing which configured options a request may override.
pub const OVERWRITABLE_OPTION: &str = "_overwritable_options";

/// A service's options, a request's parameters and the template's defaults, resolved per name.
#[derive(Debug, Clone, Copy)]
pub struct Resolved<'a> {
    section: &'a [(String, String)],
    params: &'a [(String, String)],
    template: Option<&'a Template>,
}

impl<'a> Resolved<'a> {
    pub fn new(
        section: &'a [(String, String)],
        params: &'a [(String, String)],
        template: Option<&'a Template>,
    ) -> Resolved<'a> {
        Resolved {
            section,
            params,
            template,
        }
    }

    /// The value the call runs with for `key`, if any (never an empty string).
    pub fn get(&self, key: &str) -> Option<&'a str> {
        let configured = option(self.section, key).filter(|v| !v.is_empty());
        let requested = option(self.params, key).filter(|v| !v.is_empty());
        let chosen = match (configured, requested) {
            (Some(_), Some(r)) if self.overwritable(key) => Some(r),
            (Some(c), _) => Some(c),
            (None, r) => r,
        };
        chosen.or_else(|| self.default(key))
    }

    /// The request's own value for `key` (a request-only parameter such as `_id`).
    /// The template the defaults come from.
    pub fn template(&self) -> Option<&'a Template> {
        self.template
    }

    pub fn param(&self, key: &str) -> Option<&'a str> {
        option(self.params, key).filter(|v| !v.is_empty())
    }

    /// Whether the service lets a request override `key`.
    pub fn overwritable(&self, key: &str) -> bool {
        option(self.section, OVERWRITABLE_OPTION)
            .is_some_and(|list| list.split(',').any(|k| k.trim() == key))
    }

    fn default(&self, key: &str) -> Option<&'a str> {
        self.template
            .and_then(|t| t.option(key))
            .map(|o| o.default.as_str())
            .filter(|v| !v.is_empty())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::templates::Templates;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect()
    }

    #[test]
    fn service_then_request_then_template_default() {
        let templates = Templates::with_builtins().unwrap();
        let callback = templates.get("callback").unwrap();
        let section = pairs(&[
            ("_service", "callback"),
            ("_target", "Billing@Stat.GA"),
            ("_ors", "http://a:1"),
            ("_media_type", ""),
            (OVERWRITABLE_OPTION, " _ors , _redirect"),
        ]);
        let params = pairs(&[
            ("_target", "Sales@Stat.GA"),
            ("_ors", "http://b:2"),
            ("_customer_number", "5551234"),
            ("_media_type", "chat"),
            ("_redirect", ""),
        ]);
        let r = Resolved::new(&section, &params, Some(&callback));
        assert_eq!(r.get("_target"), Some("Billing@Stat.GA"), "configured wins");
        assert_eq!(
            r.get("_ors"),
            Some("http://b:2"),
            "overwritable: the request wins"
        );
        assert_eq!(
            r.get("_customer_number"),
            Some("5551234"),
            "only in the request"
        );
        assert_eq!(
            r.get("_media_type"),
            Some("chat"),
            "configured empty = not specified"
        );
        assert_eq!(r.get("_ttl"), Some("86400"), "the template's default");
        assert_eq!(r.get("_redirect"), None, "empty everywhere");
        assert_eq!(r.param("_target"), Some("Sales@Stat.GA"));
        assert!(r.overwritable("_redirect") && !r.overwritable("_target"));
    }
}
