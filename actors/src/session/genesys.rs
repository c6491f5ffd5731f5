//! `_genesys`: the ORS-style ECMAScript object every session sees (read-only).
//!
//! - `_genesys.session.id`, `.start` (ISO time), `.params` (the start parameters), `.document`
//!   (where the chart came from);
//! - `_genesys.queue.position(requestid?)`, `.ewt(requestid?)` (seconds, `undefined` with no
//!   estimate yet), `.status(requestid?)` (`{queue, position, ewt, agent, routed}`),
//!   `.stats(vq)` (`{calls, waiting, ewt, aqt, ready, available, loggedIn}`),
//!   `.agents(target)` (`{ready, available, loggedIn}`). With no `requestid`, the session's
//!   oldest queue submission is meant;
//! - `_genesys.ixn.interactions`: the session's calls by id (`{id, state, media, customer,
//!   agent, requestid, userdata}`).
//!
//! One object per thread, on the context's global object; its functions learn which session
//! is asking from the data model ([`scxml::ecma::with_current_session`]) and read the host's
//! state and the center at that moment.

use boa_engine::object::{FunctionObjectBuilder, ObjectInitializer};
use boa_engine::property::Attribute;
use boa_engine::{js_string, Context, JsNativeError, JsResult, JsValue, NativeFunction};
use engine::routing::target::Target;
use scxml::ecma::{to_js_plain, with_current_session};
use scxml::Value;

use super::core::with_host;

/// Defines `_genesys` on the context's global object.
pub fn install(ctx: &mut Context) -> JsResult<()> {
    let session_getter =
        FunctionObjectBuilder::new(ctx.realm(), NativeFunction::from_fn_ptr(session)).build();
    let queue = ObjectInitializer::new(ctx)
        .function(
            NativeFunction::from_fn_ptr(position),
            js_string!("position"),
            1,
        )
        .function(NativeFunction::from_fn_ptr(ewt), js_string!("ewt"), 1)
        .function(NativeFunction::from_fn_ptr(status), js_string!("status"), 1)
        .function(NativeFunction::from_fn_ptr(stats), js_string!("stats"), 1)
        .function(NativeFunction::from_fn_ptr(agents), js_string!("agents"), 1)
        .build();
    let interactions_getter =
        FunctionObjectBuilder::new(ctx.realm(), NativeFunction::from_fn_ptr(interactions)).build();
    let ixn = ObjectInitializer::new(ctx)
        .accessor(
            js_string!("interactions"),
            Some(interactions_getter),
            None,
            Attribute::ENUMERABLE,
        )
        .build();
    let genesys = ObjectInitializer::new(ctx)
        .accessor(
            js_string!("session"),
            Some(session_getter),
            None,
            Attribute::ENUMERABLE,
        )
        .property(js_string!("queue"), queue, Attribute::ENUMERABLE)
        .property(js_string!("ixn"), ixn, Attribute::ENUMERABLE)
        .build();
    ctx.register_global_property(js_string!("_genesys"), genesys, Attribute::READONLY)
}

fn current() -> String {
    with_current_session(str::to_owned)
}

fn host_error(message: &str) -> boa_engine::JsError {
    JsNativeError::error()
        .with_message(message.to_owned())
        .into()
}

fn value(v: Value, ctx: &mut Context) -> JsValue {
    to_js_plain(&v, ctx)
}

fn arg_string(args: &[JsValue], i: usize, ctx: &mut Context) -> JsResult<Option<String>> {
    match args.get(i) {
        None => Ok(None),
        Some(v) if v.is_null_or_undefined() => Ok(None),
        Some(v) => Ok(Some(v.to_string(ctx)?.to_std_string_escaped())),
    }
}

fn session(_: &JsValue, _: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let id = current();
    let v = with_host(|st| st.session_value(&id))
        .flatten()
        .ok_or_else(|| host_error("no session"))?;
    Ok(value(v, ctx))
}

fn position(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let req = arg_string(args, 0, ctx)?;
    let id = current();
    let s = with_host(|st| st.item_status(&id, req.as_deref())).flatten();
    Ok(s.and_then(|s| s.position)
        .map_or(JsValue::undefined(), |p| JsValue::from(p as f64)))
}

fn ewt(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let req = arg_string(args, 0, ctx)?;
    let id = current();
    let s = with_host(|st| st.item_status(&id, req.as_deref())).flatten();
    Ok(s.and_then(|s| s.ewt.seconds())
        .map_or(JsValue::undefined(), JsValue::from))
}

fn status(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let req = arg_string(args, 0, ctx)?;
    let id = current();
    let s = with_host(|st| st.item_status(&id, req.as_deref())).flatten();
    let Some(s) = s else {
        return Ok(JsValue::undefined());
    };
    let v = Value::Object(vec![
        ("queue".into(), Value::String(s.queue)),
        (
            "position".into(),
            s.position.map_or(Value::Null, |p| Value::Number(p as f64)),
        ),
        (
            "ewt".into(),
            s.ewt.seconds().map_or(Value::Null, Value::Number),
        ),
        ("agent".into(), s.agent.map_or(Value::Null, Value::String)),
        ("routed".into(), Value::Bool(s.routed)),
    ]);
    Ok(value(v, ctx))
}

fn stats(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let vq = arg_string(args, 0, ctx)?
        .ok_or_else(|| host_error("_genesys.queue.stats needs a virtual queue name"))?;
    let r = with_host(|st| st.queue_report(&vq)).flatten();
    let Some(r) = r else {
        return Ok(JsValue::undefined());
    };
    let s = &r.stats;
    let v = Value::Object(vec![
        ("calls".into(), Value::Number(s.calls as f64)),
        ("waiting".into(), Value::Number(s.wcalls as f64)),
        (
            "ewt".into(),
            s.ewt.seconds().map_or(Value::Null, Value::Number),
        ),
        ("aqt".into(), s.aqt.map_or(Value::Null, Value::Number)),
        ("entered".into(), Value::Number(s.entered as f64)),
        ("distributed".into(), Value::Number(s.distributed as f64)),
        ("abandoned".into(), Value::Number(s.abandoned as f64)),
        ("ready".into(), Value::Number(r.ready_agents as f64)),
        ("available".into(), Value::Number(r.available_agents as f64)),
        ("loggedIn".into(), Value::Number(r.logged_in_agents as f64)),
    ]);
    Ok(value(v, ctx))
}

fn agents(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let text = arg_string(args, 0, ctx)?
        .ok_or_else(|| host_error("_genesys.queue.agents needs a target"))?;
    let target = Target::parse(&text).map_err(|e| host_error(&e.to_string()))?;
    let t = with_host(|st| st.target_agents(&target)).unwrap_or_default();
    let v = Value::Object(vec![
        ("ready".into(), Value::Number(t.ready as f64)),
        ("available".into(), Value::Number(t.available as f64)),
        ("loggedIn".into(), Value::Number(t.logged_in as f64)),
    ]);
    Ok(value(v, ctx))
}

fn interactions(_: &JsValue, _: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let id = current();
    let v = with_host(|st| st.interactions_value(&id)).unwrap_or(Value::Object(Vec::new()));
    Ok(value(v, ctx))
}
