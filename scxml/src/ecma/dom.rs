//! A small read-only XML DOM for the ECMAScript data model (SCXML §B.2.2: `<data>` whose
//! content is XML is bound to a DOM): `documentElement`, `childNodes`, `children`,
//! `firstChild`, `tagName`, `nodeName`, `nodeType`, `textContent`, `getAttribute`,
//! `hasAttribute`, `attributes` and `getElementsByTagName`.

use boa_engine::object::builtins::JsFunction;
use boa_engine::{Context, JsValue, Source};
use quick_xml::events::Event as XmlEvent;
use quick_xml::Reader;

use crate::event::Value;

use super::to_js_plain;

/// Builds DOM objects from a tree `{tag, attrs, children}` / text nodes (strings).
const PRELUDE: &str = r#"(function () {
  var nodeProto = {
    getElementsByTagName: function (name) {
      var out = [];
      (function walk(n) {
        for (var i = 0; i < n.childNodes.length; i++) {
          var c = n.childNodes[i];
          if (c.nodeType === 1) {
            if (name === '*' || c.tagName === name || c.localName === name) out.push(c);
            walk(c);
          }
        }
      })(this);
      out.item = function (i) { return this[i] === undefined ? null : this[i]; };
      return out;
    },
    getAttribute: function (a) {
      return this._attrs && Object.prototype.hasOwnProperty.call(this._attrs, a) ? this._attrs[a] : null;
    },
    hasAttribute: function (a) {
      return !!this._attrs && Object.prototype.hasOwnProperty.call(this._attrs, a);
    },
    hasChildNodes: function () { return this.childNodes.length > 0; }
  };
  Object.defineProperty(nodeProto, 'textContent', { get: function () {
    if (this.nodeType === 3) return this.nodeValue;
    var s = '';
    for (var i = 0; i < this.childNodes.length; i++) s += this.childNodes[i].textContent;
    return s;
  }});
  Object.defineProperty(nodeProto, 'firstChild', { get: function () { return this.childNodes[0] || null; } });
  Object.defineProperty(nodeProto, 'children', { get: function () {
    return this.childNodes.filter(function (c) { return c.nodeType === 1; });
  }});
  function esc(s, attr) {
    s = String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    return attr ? s.replace(/"/g, '&quot;') : s;
  }
  // The markup of a node: how a DOM value leaves the data model (event data, invoke content).
  Object.defineProperty(nodeProto, 'toXML', { enumerable: false, value: function () {
    if (this.nodeType === 3) return esc(this.nodeValue, false);
    var inner = '';
    for (var i = 0; i < this.childNodes.length; i++) inner += this.childNodes[i].toXML();
    if (this.nodeType === 9) return inner;
    var open = '<' + this.tagName;
    for (var k in this._attrs) open += ' ' + k + '="' + esc(this._attrs[k], true) + '"';
    return inner === '' ? open + '/>' : open + '>' + inner + '</' + this.tagName + '>';
  }});
  function hidden(o, k, v) { Object.defineProperty(o, k, { enumerable: false, writable: true, value: v }); }
  function build(n, parent) {
    var node = Object.create(nodeProto);
    hidden(node, 'parentNode', parent);
    if (typeof n === 'string') {
      node.nodeType = 3; node.nodeName = '#text'; node.nodeValue = n; node.childNodes = [];
      return node;
    }
    node.nodeType = 1; node.tagName = n.tag; node.nodeName = n.tag;
    node.localName = n.tag.indexOf(':') >= 0 ? n.tag.slice(n.tag.indexOf(':') + 1) : n.tag;
    hidden(node, '_attrs', n.attrs); node.attributes = n.attrs;
    node.childNodes = n.children.map(function (c) { return build(c, node); });
    return node;
  }
  return function (roots) {
    var doc = Object.create(nodeProto);
    doc.nodeType = 9; doc.nodeName = '#document'; hidden(doc, 'parentNode', null);
    doc.childNodes = roots.map(function (r) { return build(r, doc); });
    doc.documentElement = doc.children[0] || null;
    return doc;
  };
})()"#;

pub(super) struct DomBuilder {
    build: Option<JsFunction>,
}

impl DomBuilder {
    pub(super) fn new(ctx: &mut Context) -> DomBuilder {
        let build = ctx.eval(Source::from_bytes(PRELUDE)).ok().and_then(|v| {
            v.as_object()
                .and_then(|o| JsFunction::from_object(o.clone()))
        });
        DomBuilder { build }
    }

    /// Parses `xml` and returns a DOM document, or `None` when it is not well-formed XML.
    pub(super) fn build(&self, xml: &str, ctx: &mut Context) -> Option<JsValue> {
        let roots = parse_tree(xml)?;
        let tree = to_js_plain(&Value::Array(roots), ctx);
        self.build
            .as_ref()?
            .call(&JsValue::undefined(), &[tree], ctx)
            .ok()
    }
}

/// Appends text to the open element, joining it with a preceding text node.
fn push_text(stack: &mut [Open], text: String) {
    if let Some(top) = stack.last_mut() {
        if let Some(Value::String(prev)) = top.2.last_mut() {
            prev.push_str(&text);
        } else {
            top.2.push(Value::String(text));
        }
    }
}

/// An element being read: tag, attributes, children so far.
type Open = (String, Vec<(String, Value)>, Vec<Value>);

/// Whether `xml` is well-formed markup with at least one element.
pub(super) fn is_well_formed(xml: &str) -> bool {
    parse_tree(xml).is_some()
}

fn element(tag: String, attrs: Vec<(String, Value)>) -> Open {
    (tag, attrs, Vec::new())
}

fn finish(tag: String, attrs: Vec<(String, Value)>, children: Vec<Value>) -> Value {
    Value::Object(vec![
        ("tag".into(), Value::String(tag)),
        ("attrs".into(), Value::Object(attrs)),
        ("children".into(), Value::Array(children)),
    ])
}

/// Parses XML into `{tag, attrs, children}` objects and text strings.
fn parse_tree(xml: &str) -> Option<Vec<Value>> {
    let mut reader = Reader::from_str(xml);
    let mut stack: Vec<Open> = Vec::new();
    let mut roots = Vec::new();
    let attrs_of = |e: &quick_xml::events::BytesStart| -> Option<Vec<(String, Value)>> {
        let mut out = Vec::new();
        for a in e.attributes() {
            let a = a.ok()?;
            let key = a.key.0.to_string();
            if key == "xmlns" || key.starts_with("xmlns:") {
                continue;
            }
            let v = a
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .ok()?
                .into_owned();
            out.push((key, Value::String(v)));
        }
        Some(out)
    };
    loop {
        match reader.read_event().ok()? {
            XmlEvent::Start(e) => {
                let tag = e.name().0.to_string();
                stack.push(element(tag, attrs_of(&e)?));
                if stack.len() > 256 {
                    return None;
                }
            }
            XmlEvent::Empty(e) => {
                let tag = e.name().0.to_string();
                let node = finish(tag, attrs_of(&e)?, Vec::new());
                match stack.last_mut() {
                    Some(top) => top.2.push(node),
                    None => roots.push(node),
                }
            }
            XmlEvent::End(_) => {
                let (tag, attrs, children) = stack.pop()?;
                let node = finish(tag, attrs, children);
                match stack.last_mut() {
                    Some(top) => top.2.push(node),
                    None => roots.push(node),
                }
            }
            XmlEvent::Text(t) => {
                let text = t.xml10_content().into_owned();
                if let Some(top) = stack.last_mut() {
                    if !text.trim().is_empty() || !top.2.is_empty() {
                        top.2.push(Value::String(text));
                    }
                } else if !text.trim().is_empty() {
                    return None;
                }
            }
            XmlEvent::CData(t) => {
                let text = t.xml10_content().into_owned();
                push_text(&mut stack, text);
            }
            XmlEvent::GeneralRef(r) => {
                let text = if r.is_char_ref() {
                    r.resolve_char_ref().ok().flatten().map(String::from)
                } else {
                    match &*r {
                        "lt" => Some("<".into()),
                        "gt" => Some(">".into()),
                        "amp" => Some("&".into()),
                        "apos" => Some("'".into()),
                        "quot" => Some("\"".into()),
                        _ => None,
                    }
                }?;
                push_text(&mut stack, text);
            }
            XmlEvent::Eof => break,
            _ => {}
        }
    }
    (stack.is_empty() && !roots.is_empty()).then_some(roots)
}
