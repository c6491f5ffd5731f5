//! Option names must be ECMAScript identifiers, because the callback strategy reads service
//! options as variables of its data model (`_data._target`, ...). The Service Management UI
//! enforces the same rule: no `.` and no `-` in a parameter name.

/// Why `name` is not a valid option name, or `None` when it is one.
///
/// Only the ASCII subset of identifiers is accepted (letters, digits, `_`, `$`, not starting with
/// a digit): GMS option names are ASCII, and a narrower rule is easier to explain in an error.
pub(crate) fn identifier_problem(name: &str) -> Option<&'static str> {
    let Some(first) = name.chars().next() else {
        return Some("it is empty");
    };
    if first.is_ascii_digit() {
        return Some("it starts with a digit");
    }
    if name.contains('.') {
        return Some("it contains '.'");
    }
    if name.contains('-') {
        return Some("it contains '-'");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
    {
        return Some("only ASCII letters, digits, '_' and '$' are allowed");
    }
    if scxml::ecma::is_reserved_word(name) {
        return Some("it is an ECMAScript reserved word");
    }
    None
}

/// Whether `name` can be used as an option name.
pub fn is_valid_option_name(name: &str) -> bool {
    identifier_problem(name).is_none()
}
