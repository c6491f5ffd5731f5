//! A session's ECMAScript variables as text and back, for snapshots.
//!
//! The encoding is JSON, so boa's own `JSON.parse` reads it back, with the values JSON cannot
//! hold tagged as objects whose one marker key is `"$rb"`:
//!
//! | value | encoded |
//! |---|---|
//! | `undefined` | `{"$rb":"u"}` |
//! | `NaN`, `±Infinity` | `{"$rb":"n","v":"NaN"}` |
//! | a function (source text kept by boa) | `{"$rb":"f","s":"function (a) { … }"}` |
//! | an XML DOM node | `{"$rb":"x","s":"<markup/>"}` |
//! | a `Date` | `{"$rb":"d","t":1700000000000}` |
//! | an object that has a `$rb` key of its own | `{"$rb":"o","v":{…}}` |
//!
//! Functions are compiled again inside the session's scope (`with(__s)`), so a function from
//! a `<script>` sees the session's variables as it did; what it had captured from an enclosing
//! function's locals is not kept. Native and bound functions, symbols and big integers do not
//! survive (they come back `undefined`), nor do other built-in objects' internal slots (a
//! `Map` comes back as `{}`). A reference cycle is cut where it closes (the repeated object
//! comes back `undefined`, and a warning is logged); an object reached twice otherwise is
//! written twice.

use std::collections::HashMap;

use boa_engine::object::builtins::{JsArray, JsDate, JsFunction};
use boa_engine::property::PropertyKey;
use boa_engine::{js_string, Context, JsObject, JsString, JsValue};

use super::{compile_fn, dom_markup, js_err, std_string};
use crate::datamodel::DmResult;
use crate::event::{format_number, write_json_string};

/// At most this many values are written for one session.
const MAX_VALUES: usize = 1_000_000;
/// Objects nested deeper than this are an error.
const MAX_DEPTH: usize = 128;

const MARK: &str = "$rb";

/// Writes the own enumerable properties of `scope` (but `skip`) as one JSON object.
pub(super) fn encode(ctx: &mut Context, scope: &JsObject, skip: &[&str]) -> DmResult<String> {
    let mut enc = Encoder {
        out: String::with_capacity(256),
        path: Vec::new(),
        budget: MAX_VALUES,
    };
    enc.out.push('{');
    let mut first = true;
    for (key, v) in own_entries(scope, ctx)? {
        if skip.contains(&key.as_str()) {
            continue;
        }
        if !first {
            enc.out.push(',');
        }
        first = false;
        write_json_string(&key, &mut enc.out);
        enc.out.push(':');
        enc.value(&v, ctx)?;
    }
    enc.out.push('}');
    Ok(enc.out)
}

/// `Object.entries(obj)` without building its arrays: own enumerable string-keyed
/// properties with their values, in property order. An ordinary object's data properties are
/// read from its property map; getters are called, and exotic objects take the general path.
pub(super) fn own_entries(obj: &JsObject, ctx: &mut Context) -> DmResult<Vec<(String, JsValue)>> {
    if !obj.is_ordinary() {
        let mut out = Vec::new();
        for key in own_keys(obj, ctx) {
            let v = obj.get(JsString::from(key.as_str()), ctx).map_err(js_err)?;
            out.push((key, v));
        }
        return Ok(out);
    }
    let keys = obj.own_property_keys(ctx).map_err(js_err)?;
    let mut out = Vec::with_capacity(keys.len());
    for key in keys {
        let name = match &key {
            PropertyKey::String(s) => std_string(s),
            PropertyKey::Index(i) => i.get().to_string(),
            PropertyKey::Symbol(_) => continue,
        };
        let desc = obj.borrow().properties().get(&key);
        let Some(desc) = desc else {
            continue;
        };
        if desc.enumerable() != Some(true) {
            continue;
        }
        let v = match desc.value() {
            Some(v) if desc.is_data_descriptor() => v.clone(),
            _ => obj.get(key, ctx).map_err(js_err)?,
        };
        out.push((name, v));
    }
    Ok(out)
}

/// `Object.keys(obj)`: own enumerable string keys in property order.
fn own_keys(obj: &JsObject, ctx: &mut Context) -> Vec<String> {
    let keys = boa_engine::builtins::object::OrdinaryObject::keys(
        &JsValue::undefined(),
        &[obj.clone().into()],
        ctx,
    )
    .ok()
    .and_then(|k| k.as_object())
    .and_then(|k| JsArray::from_object(k).ok());
    let Some(keys) = keys else {
        return Vec::new();
    };
    let n = keys.length(ctx).unwrap_or(0);
    (0..n)
        .filter_map(|i| keys.get(i, ctx).ok())
        .filter_map(|k| k.as_string().map(|s| std_string(&s)))
        .collect()
}

struct Encoder {
    out: String,
    /// Objects being written, outermost first (for the cycle check).
    path: Vec<JsObject>,
    budget: usize,
}

impl Encoder {
    fn marker(&mut self, kind: &str) {
        self.out.push_str("{\"$rb\":\"");
        self.out.push_str(kind);
        self.out.push('"');
    }

    fn value(&mut self, v: &JsValue, ctx: &mut Context) -> DmResult<()> {
        if self.budget == 0 {
            return Err(format!(
                "the session's variables hold more than {MAX_VALUES} values and cannot be saved"
            ));
        }
        self.budget -= 1;
        if v.is_undefined() {
            self.marker("u");
            self.out.push('}');
        } else if v.is_null() {
            self.out.push_str("null");
        } else if let Some(b) = v.as_boolean() {
            self.out.push_str(if b { "true" } else { "false" });
        } else if let Some(n) = v.as_number() {
            self.number(n);
        } else if let Some(s) = v.as_string() {
            write_json_string(&std_string(&s), &mut self.out);
        } else if let Some(obj) = v.as_object() {
            self.object(&obj, ctx)?;
        } else {
            // Symbols and big integers have no portable form.
            self.marker("u");
            self.out.push('}');
        }
        Ok(())
    }

    fn number(&mut self, n: f64) {
        if n.is_finite() {
            if n == n.trunc() && n.abs() < 1e21 {
                self.out.push_str(&format_number(n));
                if n == 0.0 && n.is_sign_negative() {
                    // JSON.parse("-0") is -0; format_number writes "0".
                    self.out.insert(self.out.len() - 1, '-');
                }
            } else {
                // `{:e}` is the shortest text that reads back to the same double.
                self.out.push_str(&format!("{n:e}"));
            }
        } else {
            self.marker("n");
            self.out.push_str(",\"v\":");
            let text = if n.is_nan() {
                "NaN"
            } else if n > 0.0 {
                "Infinity"
            } else {
                "-Infinity"
            };
            write_json_string(text, &mut self.out);
            self.out.push('}');
        }
    }

    fn object(&mut self, obj: &JsObject, ctx: &mut Context) -> DmResult<()> {
        if obj.is_callable() {
            let src = JsValue::from(obj.clone())
                .to_string(ctx)
                .map(|s| std_string(&s))
                .unwrap_or_default();
            if src.is_empty() || src.contains("[native code]") {
                self.marker("u");
            } else {
                self.marker("f");
                self.out.push_str(",\"s\":");
                write_json_string(&src, &mut self.out);
            }
            self.out.push('}');
            return Ok(());
        }
        if self.path.iter().any(|o| JsObject::equals(o, obj)) {
            tracing::warn!("a reference cycle in a session's variables was cut in its snapshot");
            self.marker("u");
            self.out.push('}');
            return Ok(());
        }
        if self.path.len() >= MAX_DEPTH {
            return Err(format!(
                "the session's variables are nested more than {MAX_DEPTH} levels deep and cannot be saved"
            ));
        }
        if let Some(markup) = dom_markup(obj, ctx) {
            self.marker("x");
            self.out.push_str(",\"s\":");
            write_json_string(&markup, &mut self.out);
            self.out.push('}');
            return Ok(());
        }
        if let Ok(date) = JsDate::from_object(obj.clone()) {
            let t = date
                .get_time(ctx)
                .ok()
                .and_then(|t| t.as_number())
                .unwrap_or(f64::NAN);
            self.marker("d");
            self.out.push_str(",\"t\":");
            self.number(t);
            self.out.push('}');
            return Ok(());
        }
        self.path.push(obj.clone());
        let r = self.members(obj, ctx);
        self.path.pop();
        r
    }

    fn members(&mut self, obj: &JsObject, ctx: &mut Context) -> DmResult<()> {
        if obj.is_array() {
            let len = obj
                .get(js_string!("length"), ctx)
                .and_then(|l| l.to_length(ctx))
                .map_err(js_err)?;
            self.out.push('[');
            for i in 0..len {
                if i > 0 {
                    self.out.push(',');
                }
                let item = obj.get(i, ctx).map_err(js_err)?;
                self.value(&item, ctx)?;
            }
            self.out.push(']');
            return Ok(());
        }
        let entries = own_entries(obj, ctx)?;
        let wrapped = entries.iter().any(|(k, _)| k == MARK);
        if wrapped {
            self.marker("o");
            self.out.push_str(",\"v\":");
        }
        self.out.push('{');
        for (i, (key, v)) in entries.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            write_json_string(key, &mut self.out);
            self.out.push(':');
            self.value(v, ctx)?;
        }
        self.out.push('}');
        if wrapped {
            self.out.push('}');
        }
        Ok(())
    }
}

/// Reads [`encode`]'s output back: the variables and their values, functions compiled in
/// `scope`.
pub(super) struct Decoder<'a> {
    pub json_parse: &'a JsFunction,
    pub scope: &'a JsObject,
    /// Function factories by source text, compiled once per thread.
    pub factories: &'a mut HashMap<String, JsFunction>,
    pub dom: &'a super::dom::DomBuilder,
}

impl Decoder<'_> {
    pub(super) fn decode(
        &mut self,
        text: &str,
        ctx: &mut Context,
    ) -> DmResult<Vec<(JsString, JsValue)>> {
        if text.trim().is_empty() {
            return Ok(Vec::new());
        }
        let parsed = self
            .json_parse
            .call(&JsValue::undefined(), &[JsString::from(text).into()], ctx)
            .map_err(|e| format!("the saved variables are not readable: {}", js_err(e)))?;
        let Some(root) = parsed.as_object() else {
            return Err("the saved variables are not an object".into());
        };
        let mut vars = Vec::new();
        for key in own_keys(&root, ctx) {
            let k = JsString::from(key.as_str());
            let v = root.get(k.clone(), ctx).map_err(js_err)?;
            let v = self.revive(v, ctx)?;
            vars.push((k, v));
        }
        Ok(vars)
    }

    fn revive(&mut self, v: JsValue, ctx: &mut Context) -> DmResult<JsValue> {
        let Some(obj) = v.as_object() else {
            return Ok(v);
        };
        if obj.is_array() {
            let arr = JsArray::from_object(obj.clone()).map_err(js_err)?;
            let n = arr.length(ctx).map_err(js_err)?;
            for i in 0..n {
                let item = arr.get(i, ctx).map_err(js_err)?;
                if item.is_object() {
                    let item = self.revive(item, ctx)?;
                    arr.set(i, item, true, ctx).map_err(js_err)?;
                }
            }
            return Ok(v);
        }
        let mark = if obj
            .has_own_property(js_string!("$rb"), ctx)
            .map_err(js_err)?
        {
            obj.get(js_string!("$rb"), ctx).map_err(js_err)?.as_string()
        } else {
            None
        };
        let Some(mark) = mark.map(|s| std_string(&s)) else {
            self.revive_members(&obj, ctx)?;
            return Ok(v);
        };
        let field =
            |name: &str, ctx: &mut Context| obj.get(JsString::from(name), ctx).unwrap_or_default();
        match mark.as_str() {
            "u" => Ok(JsValue::undefined()),
            "n" => {
                let text = field("v", ctx)
                    .as_string()
                    .map(|s| std_string(&s))
                    .unwrap_or_default();
                Ok(JsValue::from(match text.as_str() {
                    "Infinity" => f64::INFINITY,
                    "-Infinity" => f64::NEG_INFINITY,
                    _ => f64::NAN,
                }))
            }
            "f" => {
                let src = field("s", ctx)
                    .as_string()
                    .map(|s| std_string(&s))
                    .unwrap_or_default();
                Ok(self.function(&src, ctx))
            }
            "x" => {
                let markup = field("s", ctx)
                    .as_string()
                    .map(|s| std_string(&s))
                    .unwrap_or_default();
                Ok(self
                    .dom
                    .build(&markup, ctx)
                    .unwrap_or_else(|| JsString::from(markup.as_str()).into()))
            }
            "d" => {
                let t = field("t", ctx);
                let make = self.factory("(function(t){return new Date(t);})", ctx)?;
                make.call(&JsValue::undefined(), &[t], ctx).map_err(js_err)
            }
            "o" => {
                let inner = field("v", ctx);
                if let Some(o) = inner.as_object() {
                    self.revive_members(&o, ctx)?;
                }
                Ok(inner)
            }
            other => Err(format!("unknown saved value kind '{other}'")),
        }
    }

    fn revive_members(&mut self, obj: &JsObject, ctx: &mut Context) -> DmResult<()> {
        for key in own_keys(obj, ctx) {
            let k = JsString::from(key.as_str());
            let v = obj.get(k.clone(), ctx).map_err(js_err)?;
            if v.is_object() {
                let v = self.revive(v, ctx)?;
                obj.set(k, v, true, ctx).map_err(js_err)?;
            }
        }
        Ok(())
    }

    /// A function from its source text, closed over the session's scope.
    fn function(&mut self, src: &str, ctx: &mut Context) -> JsValue {
        let wrapped = format!("(function(__s){{with(__s){{return ({src}\n);}}}})");
        let made = self.factory(&wrapped, ctx).and_then(|f| {
            f.call(&JsValue::undefined(), &[self.scope.clone().into()], ctx)
                .map_err(js_err)
        });
        match made {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(error = %e, "a saved function could not be compiled again");
                JsValue::undefined()
            }
        }
    }

    fn factory(&mut self, src: &str, ctx: &mut Context) -> DmResult<JsFunction> {
        if let Some(f) = self.factories.get(src) {
            return Ok(f.clone());
        }
        let f = compile_fn(ctx, src)?;
        if self.factories.len() > 4096 {
            self.factories.clear();
        }
        self.factories.insert(src.to_string(), f.clone());
        Ok(f)
    }
}
