//! Runtime values: what Java objects a Velocity template would see, reduced to the kinds
//! mapping templates meet (JSON-shaped data, strings, numbers, and the built-in objects).

use std::rc::Rc;

use indexmap::IndexMap;

use crate::RenderError;

/// How deep lists and maps may nest. Values are built by the template (`#set($l = [$l])` in a
/// loop), and dropping, printing or serialising them recurses, so depth is capped.
pub(crate) const MAX_VALUE_DEPTH: u32 = 200;

/// Collections are reference counted and copied on write (`Rc::make_mut`), so values have copy
/// semantics and can never form a cycle.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Rc<str>),
    List(Rc<List>),
    Map(Rc<Map>),
    /// `$input`, `$util`: objects with methods only.
    Input,
    Util,
    /// `$context` or a prefix of a context variable (`$context.identity`), resolved through
    /// `Input::context` when its value is needed.
    Context(Rc<str>),
    /// `$foreach` inside a loop.
    Foreach(Rc<LoopInfo>),
}

#[derive(Debug, Clone, Default)]
pub(crate) struct List {
    pub items: Vec<Value>,
    pub depth: u32,
    /// A JSON array from the payload (`$input.path`, `$util.parseJson`): it prints as compact
    /// JSON (`["a",{"b":1}]`), as API Gateway's JSON arrays do, where a list built by the
    /// template prints as Java's `[a, {b=1}]`.
    pub json: bool,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Map {
    pub entries: IndexMap<String, Value>,
    pub depth: u32,
}

#[derive(Debug, Clone)]
pub(crate) struct LoopInfo {
    pub index: usize,
    pub has_next: bool,
}

impl Value {
    pub fn str(s: impl Into<Rc<str>>) -> Value {
        Value::Str(s.into())
    }

    pub fn depth(&self) -> u32 {
        match self {
            Value::List(l) => l.depth,
            Value::Map(m) => m.depth,
            _ => 0,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn list(items: Vec<Value>) -> Result<Value, RenderError> {
        let depth = items.iter().map(Value::depth).max().map_or(1, |d| d + 1);
        if depth > MAX_VALUE_DEPTH {
            return Err(RenderError::TooDeep);
        }
        Ok(Value::List(Rc::new(List {
            items,
            depth,
            json: false,
        })))
    }

    /// A list that prints as JSON (see [`List::json`]).
    pub fn json_list(items: Vec<Value>) -> Result<Value, RenderError> {
        match Value::list(items)? {
            Value::List(mut l) => {
                Rc::make_mut(&mut l).json = true;
                Ok(Value::List(l))
            }
            v => Ok(v),
        }
    }

    pub fn map(entries: IndexMap<String, Value>) -> Result<Value, RenderError> {
        let depth = entries
            .values()
            .map(Value::depth)
            .max()
            .map_or(1, |d| d + 1);
        if depth > MAX_VALUE_DEPTH {
            return Err(RenderError::TooDeep);
        }
        Ok(Value::Map(Rc::new(Map { entries, depth })))
    }

    /// Velocity 1.7 truthiness: null and `false` are false, everything else is true (an empty
    /// string too). A `$context.x` that names no variable is null.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Null | Value::Bool(false) => false,
            Value::Context(p) => p.is_empty(),
            _ => true,
        }
    }

    pub fn as_number(&self) -> Option<Num> {
        match self {
            Value::Int(i) => Some(Num::Int(*i)),
            Value::Float(f) => Some(Num::Float(*f)),
            _ => None,
        }
    }

    /// From parsed JSON (`$input.path`, `$util.parseJson`). serde_json caps nesting at 128, below
    /// `MAX_VALUE_DEPTH`.
    pub fn from_json(j: &serde_json::Value) -> Value {
        match j {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(0.0)),
            },
            serde_json::Value::String(s) => Value::str(s.as_str()),
            serde_json::Value::Array(a) => {
                let items: Vec<Value> = a.iter().map(Value::from_json).collect();
                let depth = items.iter().map(Value::depth).max().map_or(1, |d| d + 1);
                Value::List(Rc::new(List {
                    items,
                    depth,
                    json: true,
                }))
            }
            serde_json::Value::Object(o) => {
                let entries: IndexMap<String, Value> = o
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::from_json(v)))
                    .collect();
                let depth = entries
                    .values()
                    .map(Value::depth)
                    .max()
                    .map_or(1, |d| d + 1);
                Value::Map(Rc::new(Map { entries, depth }))
            }
        }
    }

    /// For `$util.toJson`: objects with no JSON form (`$input`, ...) become null. Each node
    /// costs one unit of `budget` (shared storage can make a small value huge); at zero the
    /// result is cut short and the caller fails the render.
    pub fn to_json(&self, budget: &mut u64) -> serde_json::Value {
        if *budget == 0 {
            return serde_json::Value::Null;
        }
        *budget -= 1;
        match self {
            Value::Null | Value::Input | Value::Util | Value::Context(_) | Value::Foreach(_) => {
                serde_json::Value::Null
            }
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            Value::Str(s) => serde_json::Value::String(s.to_string()),
            Value::List(l) => {
                serde_json::Value::Array(l.items.iter().map(|v| v.to_json(budget)).collect())
            }
            Value::Map(m) => serde_json::Value::Object(
                m.entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json(budget)))
                    .collect(),
            ),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    pub fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }
}

/// Java's `Double.toString`: plain notation with at least one fractional digit between 10^-3
/// and 10^7, computerized scientific notation (`1.0E10`) outside.
pub(crate) fn java_double(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let a = f.abs();
    if a == 0.0 || (1e-3..1e7).contains(&a) {
        let s = format!("{f}");
        if s.contains('.') {
            s
        } else {
            format!("{s}.0")
        }
    } else {
        let s = format!("{f:e}");
        let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let mant = if mant.contains('.') {
            mant.to_string()
        } else {
            format!("{mant}.0")
        };
        format!("{mant}E{exp}")
    }
}

/// Appends Java's `toString()` of a value (`{k=v, ...}` for maps, `[a, b]` for lists), giving
/// up with `OutputLimit` once `out` passes `cap` bytes: a small value can print huge
/// (`[$l, $l]` doubling shares storage).
pub(crate) fn write_java(v: &Value, out: &mut String, cap: usize) -> Result<(), RenderError> {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&java_double(*f)),
        Value::Str(s) => out.push_str(s),
        Value::List(l) if l.json => write_json(v, out, cap)?,
        Value::List(l) => {
            out.push('[');
            for (i, item) in l.items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_java(item, out, cap)?;
                if out.len() > cap {
                    return Err(RenderError::OutputLimit { limit: cap });
                }
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push('{');
            for (i, (k, item)) in m.entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(k);
                out.push('=');
                write_java(item, out, cap)?;
                if out.len() > cap {
                    return Err(RenderError::OutputLimit { limit: cap });
                }
            }
            out.push('}');
        }
        // Java objects without a useful toString; callers resolve `Context` before printing.
        Value::Input | Value::Util | Value::Context(_) | Value::Foreach(_) => out.push_str("null"),
    }
    if out.len() > cap {
        return Err(RenderError::OutputLimit { limit: cap });
    }
    Ok(())
}

/// Appends compact JSON of a value (serde_json's formatting), giving up with `OutputLimit`
/// once `out` passes `cap` bytes.
pub(crate) fn write_json(v: &Value, out: &mut String, cap: usize) -> Result<(), RenderError> {
    match v {
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(f) => match serde_json::Number::from_f64(*f) {
            Some(n) => out.push_str(&n.to_string()),
            None => out.push_str("null"),
        },
        Value::Str(s) => out.push_str(&serde_json::Value::String(s.to_string()).to_string()),
        Value::List(l) => {
            out.push('[');
            for (i, item) in l.items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, out, cap)?;
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push('{');
            for (i, (k, item)) in m.entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::String(k.clone()).to_string());
                out.push(':');
                write_json(item, out, cap)?;
            }
            out.push('}');
        }
        Value::Null | Value::Input | Value::Util | Value::Context(_) | Value::Foreach(_) => {
            out.push_str("null")
        }
    }
    if out.len() > cap {
        return Err(RenderError::OutputLimit { limit: cap });
    }
    Ok(())
}
