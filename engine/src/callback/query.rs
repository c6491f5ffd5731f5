//! The query of `GET /genesys/1/service/callback[/{name}]?prop=value…&operand=AND|OR`
//! (gms-api.md §1.2): each parameter names a property and the value it must have; a value
//! starting with `!` must *not* be the property's value (`_callback_state=!COMPLETED`); a
//! property given more than once matches any of its values (`_id=a&_id=b`); `operand` joins
//! the properties (AND by default). No property: every record.

use super::{CallbackError, CallbackRecord};

/// The parameter joining the terms.
pub const OPERAND: &str = "operand";

/// One property's condition.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Term {
    key: String,
    /// The record's value must be one of these...
    any_of: Vec<String>,
    /// ...and none of these.
    none_of: Vec<String>,
}

impl Term {
    fn matches(&self, record: &CallbackRecord) -> bool {
        let value = record.field(&self.key);
        let value = value.as_deref();
        if self.none_of.iter().any(|v| Some(v.as_str()) == value) {
            return false;
        }
        self.any_of.is_empty() || self.any_of.iter().any(|v| Some(v.as_str()) == value)
    }
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Query {
    terms: Vec<Term>,
    /// `operand=OR`.
    any: bool,
}

impl Query {
    /// Reads a query from request parameters (in their order); `skip` names parameters that
    /// are not properties (paging and the like).
    pub fn from_params(params: &[(String, String)], skip: &[&str]) -> Result<Query, CallbackError> {
        let mut q = Query::default();
        for (key, value) in params {
            if key == OPERAND {
                q.any = match value.trim().to_ascii_uppercase().as_str() {
                    "AND" => false,
                    "OR" => true,
                    _ => {
                        return Err(CallbackError::BadRequest(format!(
                            "operand must be AND or OR, not '{value}'"
                        )))
                    }
                };
                continue;
            }
            if skip.contains(&key.as_str()) {
                continue;
            }
            let at = match q.terms.iter().position(|t| t.key == *key) {
                Some(i) => i,
                None => {
                    q.terms.push(Term {
                        key: key.clone(),
                        any_of: Vec::new(),
                        none_of: Vec::new(),
                    });
                    q.terms.len() - 1
                }
            };
            if let Some(term) = q.terms.get_mut(at) {
                match value.strip_prefix('!') {
                    Some(not) => term.none_of.push(not.to_owned()),
                    None => term.any_of.push(value.clone()),
                }
            }
        }
        Ok(q)
    }

    pub fn matches(&self, record: &CallbackRecord) -> bool {
        if self.terms.is_empty() {
            return true;
        }
        if self.any {
            self.terms.iter().any(|t| t.matches(record))
        } else {
            self.terms.iter().all(|t| t.matches(record))
        }
    }

    /// The ids the query asks for by `_id` alone, if that is all it asks (a lookup, not a scan).
    pub fn ids(&self) -> Option<&[String]> {
        match self.terms.as_slice() {
            [t] if t.key == "_id" && t.none_of.is_empty() && !t.any_of.is_empty() => {
                Some(&t.any_of)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::callback::CallbackState;

    fn record(id: &str, number: &str, state: CallbackState) -> CallbackRecord {
        CallbackRecord {
            id: id.into(),
            service: "cb".into(),
            state,
            reason: None,
            desired_time: 0,
            created_at: 0,
            expires_at: 0,
            session: None,
            data: [("_customer_number".to_owned(), number.to_owned())]
                .into_iter()
                .collect(),
        }
    }

    fn q(pairs: &[(&str, &str)]) -> Result<Query, CallbackError> {
        let params: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        Query::from_params(&params, &["max"])
    }

    fn ids(query: &Query, records: &[CallbackRecord]) -> Vec<String> {
        records
            .iter()
            .filter(|r| query.matches(r))
            .map(|r| r.id.clone())
            .collect()
    }

    #[test]
    fn and_or_negation_and_repeated_keys() {
        use CallbackState::*;
        let all = [
            record("a", "5115", Queued),
            record("b", "5115", Completed),
            record("c", "6000", Scheduled),
        ];
        let got = |pairs: &[(&str, &str)]| ids(&q(pairs).unwrap(), &all);
        assert_eq!(got(&[]), ["a", "b", "c"]);
        assert_eq!(
            got(&[
                ("_customer_number", "5115"),
                ("_callback_state", "!COMPLETED")
            ]),
            ["a"]
        );
        assert_eq!(
            got(&[
                ("_customer_number", "6000"),
                ("_callback_state", "COMPLETED"),
                ("operand", "or")
            ]),
            ["b", "c"]
        );
        assert_eq!(
            got(&[("_id", "a"), ("_id", "c"), ("max", "10")]),
            ["a", "c"]
        );
        assert_eq!(got(&[("_callback_reason", "!CANCELLED")]), ["a", "b", "c"]);
        assert_eq!(got(&[("first_name", "Ada")]), Vec::<String>::new());
        assert_eq!(
            q(&[("_id", "a"), ("_id", "c")]).unwrap().ids(),
            Some(&["a".to_owned(), "c".to_owned()][..])
        );
        assert_eq!(q(&[("_id", "a"), ("x", "1")]).unwrap().ids(), None);
        assert_eq!(
            q(&[("operand", "XOR")]),
            Err(CallbackError::BadRequest(
                "operand must be AND or OR, not 'XOR'".into()
            ))
        );
    }
}
