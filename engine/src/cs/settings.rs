//! `[cview]`: whether Context Services run, who may change them, auto-completion, and the
//! contact centers (tenants) they serve.
//!
//! * `enabled` (default `false`, as GMS): off, every `/genesys/1/cs` request is refused and the
//!   UI shows neither panel.
//! * `use-role` (default `false`): on, an Administrator may change journeys and profiles and a
//!   Supervisor may only read them (GMS: WRITE for start, end, delete, purge and TTL).
//! * `auto-complete-enabled` / `auto-complete-after` (seconds, default 86400): a service
//!   without its own `auto_complete_after` is completed, with its states and tasks, after that
//!   long without activity.
//! * `contact-center-ids`: the tenants' `ContactCenterId`s (also every `[business-attributes.<id>]`
//!   section names one). With none, the installation is single-tenant and the header is
//!   ignored; with some, every request names one of them.
//! * `timeline`: the Journey Timeline's JSON configuration (search keys and profile
//!   sections), see `docs/journey-timeline.md`.

use super::CsError;
use crate::config::truthy;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    pub enabled: bool,
    pub use_role: bool,
    /// Seconds of inactivity before a service is completed, when auto-completion is on.
    pub auto_complete_after: Option<i64>,
    pub tenants: Vec<String>,
    /// The Journey Timeline's configuration, as configured (JSON text).
    pub timeline: Option<String>,
}

/// The default `auto-complete-after`, seconds.
pub const DEFAULT_AUTO_COMPLETE_AFTER: i64 = 86_400;

impl Settings {
    /// From `[cview]` and the names of the `business-attributes.<tenant>` sections.
    pub fn from_options(options: &[(String, String)], ba_tenants: &[String]) -> Settings {
        let get = |k: &str| {
            options
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.trim())
        };
        let mut tenants: Vec<String> = get("contact-center-ids")
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        for t in ba_tenants {
            if !tenants.contains(t) {
                tenants.push(t.clone());
            }
        }
        let auto = truthy(get("auto-complete-enabled"));
        Settings {
            enabled: truthy(get("enabled")),
            use_role: truthy(get("use-role")),
            auto_complete_after: auto.then(|| {
                get("auto-complete-after")
                    .and_then(|v| v.parse::<i64>().ok())
                    .filter(|s| *s > 0)
                    .unwrap_or(DEFAULT_AUTO_COMPLETE_AFTER)
            }),
            tenants,
            timeline: get("timeline").filter(|v| !v.is_empty()).map(String::from),
        }
    }

    /// What `[cview]` may not hold: a `timeline` that is not a JSON object (the Journey
    /// Timeline reads it).
    pub fn check(options: &[(String, String)]) -> Result<(), String> {
        match options.iter().find(|(k, _)| k == "timeline") {
            Some((_, v)) if !v.trim().is_empty() => {
                match serde_json::from_str::<serde_json::Value>(v) {
                    Ok(serde_json::Value::Object(_)) => Ok(()),
                    Ok(_) => Err("[cview] timeline must be a JSON object".into()),
                    Err(e) => Err(format!("[cview] timeline is not valid JSON: {e}")),
                }
            }
            _ => Ok(()),
        }
    }

    /// The tenant a request's `ContactCenterId` names ([`super::DEFAULT_TENANT`] when the
    /// installation is single-tenant).
    pub fn tenant(&self, header: Option<&str>) -> Result<String, CsError> {
        if self.tenants.is_empty() {
            return Ok(super::DEFAULT_TENANT.to_owned());
        }
        match header.map(str::trim).filter(|h| !h.is_empty()) {
            None => Err(CsError::Tenant(
                "this installation serves several contact centers: the ContactCenterId header is required"
                    .into(),
            )),
            Some(id) if self.tenants.iter().any(|t| t == id) => Ok(id.to_owned()),
            Some(id) => Err(CsError::Tenant(format!(
                "ContactCenterId '{id}' is not a contact center of this installation"
            ))),
        }
    }

    /// Whether a role may do this: with `use-role`, only an Administrator changes anything.
    pub fn permits(&self, administrator: bool, change: bool) -> bool {
        !(self.use_role && change && !administrator)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn single_tenant_ignores_the_header() {
        let s = Settings::from_options(&opts(&[("enabled", "true")]), &[]);
        assert!(s.enabled);
        assert_eq!(s.tenant(Some("anything")).unwrap(), "");
        assert_eq!(s.tenant(None).unwrap(), "");
    }

    #[test]
    fn several_tenants_need_a_known_contact_center_id() {
        let s = Settings::from_options(
            &opts(&[("contact-center-ids", "acme, globex")]),
            &["initech".to_owned()],
        );
        assert_eq!(s.tenant(Some("globex")).unwrap(), "globex");
        assert_eq!(s.tenant(Some("initech")).unwrap(), "initech");
        assert_eq!(
            s.tenant(Some("umbrella")),
            Err(CsError::Tenant(
                "ContactCenterId 'umbrella' is not a contact center of this installation".into()
            ))
        );
        assert!(matches!(s.tenant(None), Err(CsError::Tenant(m)) if m.contains("required")));
    }

    #[test]
    fn use_role_keeps_changes_to_administrators() {
        let on = Settings::from_options(&opts(&[("use-role", "true")]), &[]);
        assert!(on.permits(true, true));
        assert!(on.permits(false, false));
        assert!(!on.permits(false, true));
        let off = Settings::default();
        assert!(off.permits(false, true));
    }

    #[test]
    fn the_timeline_configuration_is_a_json_object() {
        assert_eq!(
            Settings::check(&opts(&[("timeline", "{\"search\": []}")])),
            Ok(())
        );
        assert_eq!(
            Settings::check(&opts(&[("timeline", "[1]")])),
            Err("[cview] timeline must be a JSON object".into())
        );
        assert!(Settings::check(&opts(&[("timeline", "{oops")])).is_err());
    }

    #[test]
    fn auto_completion_defaults_to_a_day_when_enabled() {
        let s = Settings::from_options(&opts(&[("auto-complete-enabled", "true")]), &[]);
        assert_eq!(s.auto_complete_after, Some(86_400));
        let s = Settings::from_options(
            &opts(&[
                ("auto-complete-enabled", "true"),
                ("auto-complete-after", "60"),
            ]),
            &[],
        );
        assert_eq!(s.auto_complete_after, Some(60));
        assert_eq!(Settings::default().auto_complete_after, None);
    }
}
