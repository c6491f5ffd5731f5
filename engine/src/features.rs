//! The `[features]` section: which Service Management UI panels and tools are on, under the
//! names the help gives. GMS reads them from its application's `features` section; a panel
//! that is off is hidden, and its endpoints refuse the UI's users.
//!
//! The help contradicts itself on `disable-additional-columns-from-callbacks` (one page says
//! `true` enables the custom columns, another that it must be `false`); Ringback follows the
//! name: `false`, the default, leaves the custom columns on.

/// Every switch: its name, its default, and what it turns on or off.
pub const SWITCHES: &[(&str, bool, &str)] = &[
    (
        "enable-resources",
        false,
        "Tools > Resources: access-number groups",
    ),
    ("enable-patterns", false, "Tools > Patterns: pattern groups"),
    (
        "enable-downloaddfm",
        false,
        "Tools > the SCXML strategy documents to download",
    ),
    ("enable-metrics", false, "Tools > Metrics"),
    (
        "enable-config",
        false,
        "Tools > Config: the configuration snippet",
    ),
    (
        "enable-sample",
        false,
        "Tools > Sample: the JavaScript sample",
    ),
    ("enable-contextual-help", false, "the contextual help panel"),
    (
        "enable-logger",
        false,
        "DEBUG and INFO traces in the browser console",
    ),
    (
        "enable-logger-error",
        false,
        "ERROR traces in the browser console",
    ),
    (
        "disable-bulk-cancel-and-export-callback",
        true,
        "Callback: bulk cancel and the cancelled-callbacks export (off by default)",
    ),
    (
        "disable-additional-columns-from-callbacks",
        false,
        "Callback: custom columns from callback properties",
    ),
];

/// The switches as configured (the defaults where the section leaves one out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Features {
    values: Vec<(&'static str, bool)>,
}

impl Default for Features {
    fn default() -> Features {
        Features {
            values: SWITCHES.iter().map(|(n, d, _)| (*n, *d)).collect(),
        }
    }
}

impl Features {
    /// Reads a `[features]` section. A value other than a boolean keeps the default and is
    /// reported, with options the help does not name, as a warning.
    pub fn from_options(options: &[(String, String)]) -> (Features, Vec<String>) {
        let mut f = Features::default();
        let mut warnings = Vec::new();
        for (k, v) in options {
            let Some(slot) = f.values.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(k)) else {
                warnings.push(format!("[features] {k}: not a switch Ringback knows"));
                continue;
            };
            match v.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" | "on" => slot.1 = true,
                "false" | "no" | "0" | "off" => slot.1 = false,
                _ => warnings.push(format!(
                    "[features] {k} = {v}: not true or false; the default ({}) stays",
                    slot.1
                )),
            }
        }
        (f, warnings)
    }

    /// Whether the switch `name` is set (false for a name not in [`SWITCHES`]).
    pub fn is_set(&self, name: &str) -> bool {
        self.values.iter().any(|(n, v)| *n == name && *v)
    }

    /// Every switch with its value, in [`SWITCHES`] order.
    pub fn all(&self) -> &[(&'static str, bool)] {
        &self.values
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn panels_are_off_and_bulk_cancel_disabled_unless_configured() {
        let (f, warnings) = Features::from_options(&[]);
        assert!(warnings.is_empty());
        assert!(!f.is_set("enable-resources") && !f.is_set("enable-metrics"));
        assert!(f.is_set("disable-bulk-cancel-and-export-callback"));
        assert!(!f.is_set("disable-additional-columns-from-callbacks"));
        assert_eq!(f.all().len(), SWITCHES.len());
    }

    #[test]
    fn a_section_sets_switches_and_warns_about_what_it_cannot_read() {
        let (f, warnings) = Features::from_options(&opts(&[
            ("enable-resources", "true"),
            ("Enable-Patterns", "TRUE"),
            ("disable-bulk-cancel-and-export-callback", "false"),
            ("enable-metrics", "maybe"),
            ("enable-everything", "true"),
        ]));
        assert!(f.is_set("enable-resources") && f.is_set("enable-patterns"));
        assert!(!f.is_set("disable-bulk-cancel-and-export-callback"));
        assert!(!f.is_set("enable-metrics"));
        assert_eq!(
            warnings,
            [
                "[features] enable-metrics = maybe: not true or false; the default (false) stays",
                "[features] enable-everything: not a switch Ringback knows",
            ]
        );
        assert!(!f.is_set("enable-everything"));
    }
}
