//! The renderer: walks the AST against one `Input`, charging every step to the budget.

use std::rc::Rc;

use base64::Engine as _;
use indexmap::IndexMap;
use rustc_hash::FxHashMap;

use crate::ast::{BinOp, Expr, InputJson, Node, Reference, Step};
use crate::jsonpath::Path;
use crate::value::{java_double, write_java, LoopInfo, Num, Value, MAX_VALUE_DEPTH};
use crate::{Input, Limits, RenderError, Undefined};

pub(crate) enum Flow {
    Normal,
    Break,
    Stop,
}

pub(crate) struct Eval<'a, 'i> {
    input: &'a Input<'i>,
    limits: &'a Limits,
    // Fx hashing: the keys are the template's own names (and paths), not a client's.
    vars: FxHashMap<String, Value>,
    steps: u64,
    /// The body parsed as JSON, once, on first use (`None` inside: not JSON).
    json: Option<Option<serde_json::Value>>,
    body: Option<Rc<str>>,
    /// `$input.path` results by path.
    paths: FxHashMap<String, Value>,
    /// Where `$input.json` text is written before it joins the output.
    scratch: Vec<u8>,
    undefined: Undefined,
}

/// Methods that change their receiver: applied in place to the variable they are called on.
const MUTATORS: &[&str] = &["add", "addAll", "put", "putAll", "remove", "set", "clear"];

impl<'a, 'i> Eval<'a, 'i> {
    /// A built-in object a template has not shadowed with `#set`; built on use, so a render
    /// that names none of them allocates nothing for them.
    fn builtin(&self, name: &str) -> Option<Value> {
        match name {
            "input" => Some(Value::Input),
            "util" => Some(Value::Util),
            "context" => Some(Value::Context(Rc::from(""))),
            "stageVariables" => {
                let sv: IndexMap<String, Value> = self
                    .input
                    .stage_variables
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::str(v.as_str())))
                    .collect();
                Some(Value::map(sv).unwrap_or(Value::Null))
            }
            _ => None,
        }
    }

    pub(crate) fn new(input: &'a Input<'i>, limits: &'a Limits, undefined: Undefined) -> Self {
        // The built-in names (`$input`, `$util`, `$context`, `$stageVariables`) are not
        // variables until a template sets them: see `builtin`.
        let vars = FxHashMap::default();
        Eval {
            input,
            limits,
            vars,
            steps: 0,
            json: None,
            body: None,
            paths: FxHashMap::default(),
            scratch: Vec::new(),
            undefined,
        }
    }

    fn step(&mut self, n: u64) -> Result<(), RenderError> {
        self.steps = self.steps.saturating_add(n);
        if self.steps > self.limits.max_steps {
            return Err(RenderError::StepBudget {
                limit: self.limits.max_steps,
            });
        }
        Ok(())
    }

    /// Work proportional to a string's length costs one step per 256 bytes.
    fn step_len(&mut self, len: usize) -> Result<(), RenderError> {
        self.step(1 + (len / 256) as u64)
    }

    /// Producing or parsing JSON costs one step per 32 bytes: slower than copying.
    fn step_json(&mut self, len: usize) -> Result<(), RenderError> {
        self.step(1 + (len / 32) as u64)
    }

    fn cap(&self) -> usize {
        self.limits.max_output_bytes
    }

    fn check_len(&self, s: &str) -> Result<(), RenderError> {
        if s.len() > self.cap() {
            return Err(RenderError::OutputLimit { limit: self.cap() });
        }
        Ok(())
    }

    fn push(&mut self, out: &mut String, s: &str) -> Result<(), RenderError> {
        // Text copied into a string that is thrown away (an interpolated literal in a loop)
        // never meets the output limit, so copying is paid for too.
        self.step((s.len() / 256) as u64)?;
        out.push_str(s);
        self.check_len(out)
    }

    /// Runs `f` with what is left of the budget and charges what it used.
    fn with_budget<T>(&mut self, f: impl FnOnce(&mut u64) -> T) -> Result<T, RenderError> {
        let before = self.limits.max_steps.saturating_sub(self.steps);
        let mut budget = before;
        let r = f(&mut budget);
        if budget == 0 {
            return Err(RenderError::StepBudget {
                limit: self.limits.max_steps,
            });
        }
        self.step(before - budget)?;
        Ok(r)
    }

    pub(crate) fn render(&mut self, nodes: &[Node], out: &mut String) -> Result<Flow, RenderError> {
        for node in nodes {
            self.step(1)?;
            match node {
                Node::Text(t) => self.push(out, t)?,
                Node::Ref { r, escapes } => self.render_ref(r, *escapes, out)?,
                Node::Set { target, value } => {
                    let v = self.eval(value)?;
                    // Velocity 1.7: a null right-hand side leaves the target unchanged.
                    if !v.is_null() {
                        self.assign(target, v)?;
                    }
                }
                Node::If {
                    branches,
                    otherwise,
                } => {
                    let mut chosen = otherwise.as_deref();
                    for (cond, body) in branches {
                        if self.eval(cond)?.truthy() {
                            chosen = Some(body);
                            break;
                        }
                    }
                    if let Some(body) = chosen {
                        match self.render(body, out)? {
                            Flow::Normal => {}
                            f => return Ok(f),
                        }
                    }
                }
                Node::Foreach { var, iter, body } => {
                    if let Flow::Stop = self.foreach(var, iter, body, out)? {
                        return Ok(Flow::Stop);
                    }
                }
                Node::Break => return Ok(Flow::Break),
                Node::Stop => return Ok(Flow::Stop),
            }
        }
        Ok(Flow::Normal)
    }

    fn render_ref(
        &mut self,
        r: &Reference,
        escapes: usize,
        out: &mut String,
    ) -> Result<(), RenderError> {
        if let (Some(q), 0) = (&r.input_json, escapes) {
            if !self.vars.contains_key("input") {
                return self.render_input_json(q, out);
            }
        }
        let v = self.eval_ref(r)?;
        let undefined = matches!(
            v,
            Value::Null | Value::Input | Value::Util | Value::Context(_) | Value::Foreach(_)
        );
        // Velocity's escaping: each pair of backslashes before `$` prints one; an odd one left
        // over escapes the reference, which then prints as written (`$x`) when defined and keeps
        // its backslash (`\$x`) when not.
        let half = "\\".repeat(escapes / 2);
        if escapes % 2 == 1 {
            self.push(out, &half)?;
            if undefined {
                self.push(out, "\\")?;
            }
            return self.push(out, &r.literal);
        }
        if undefined {
            self.push(out, &half)?;
            self.push(out, &half)?;
            if !r.quiet && self.undefined == Undefined::Literal {
                self.push(out, &r.literal)?;
            }
            return Ok(());
        }
        self.push(out, &half)?;
        let cap = self.cap();
        write_java(&v, out, cap)
    }

    /// `$input.json('…')` written straight into the output: what [`Self::input_method`]'s
    /// `json` gives, without copying the selected nodes or the text.
    fn render_input_json(&mut self, q: &InputJson, out: &mut String) -> Result<(), RenderError> {
        // The reference and its method, as `eval_ref` counts them.
        self.step(2)?;
        const NOTHING: &str = "\"\"";
        self.parse_doc();
        let doc = match self.input.json {
            Some(j) => Some(j),
            None => self.json.as_ref().and_then(Option::as_ref),
        };
        let Some(doc) = doc else {
            return self.push(out, if q.root { "{}" } else { NOTHING });
        };
        let Some(path) = &q.path else {
            return self.push(out, NOTHING);
        };
        let limit = self.limits.max_steps;
        let before = limit.saturating_sub(self.steps);
        let mut budget = before;
        let exhausted = |_| RenderError::StepBudget { limit };
        let scratch = &mut self.scratch;
        scratch.clear();
        let written = if path.is_definite() {
            match path.select_one(doc, &mut budget).map_err(exhausted)? {
                Some(v) => serde_json::to_writer(&mut *scratch, v),
                None => {
                    scratch.extend_from_slice(NOTHING.as_bytes());
                    Ok(())
                }
            }
        } else {
            let found = path.select(doc, &mut budget).map_err(exhausted)?;
            serde_json::to_writer(&mut *scratch, &found)
        };
        let start = out.len();
        // serde_json writes UTF-8; should it fail, nothing is printed.
        if let (Ok(()), Ok(text)) = (written, std::str::from_utf8(scratch)) {
            out.push_str(text);
        }
        self.step(before - budget)?;
        let len = out.len() - start;
        self.step_json(len)?;
        self.step((len / 256) as u64)?;
        self.check_len(out)
    }

    fn foreach(
        &mut self,
        var: &str,
        iter: &Expr,
        body: &[Node],
        out: &mut String,
    ) -> Result<Flow, RenderError> {
        let coll = self.eval(iter)?;
        // Velocity iterates lists and a map's values; anything else is not iterable and the
        // loop is skipped.
        let list: Rc<crate::value::List> = match coll {
            Value::List(l) => l,
            Value::Map(m) => {
                self.step(m.entries.len() as u64)?;
                Rc::new(crate::value::List {
                    items: m.entries.values().cloned().collect(),
                    depth: m.depth,
                    json: false,
                })
            }
            _ => return Ok(Flow::Normal),
        };
        let list = &list.items;
        let saved: Vec<(&str, Option<Value>)> =
            [var, "foreach", "velocityCount", "velocityHasNext"]
                .into_iter()
                .map(|k| (k, self.vars.get(k).cloned()))
                .collect();
        let mut flow = Flow::Normal;
        for (index, item) in list.iter().enumerate() {
            if index >= self.limits.max_foreach_iterations {
                return Err(RenderError::ForeachLimit {
                    limit: self.limits.max_foreach_iterations,
                });
            }
            self.step(1)?;
            let has_next = index + 1 < list.len();
            self.vars.insert(var.to_string(), item.clone());
            self.vars.insert(
                "foreach".to_string(),
                Value::Foreach(Rc::new(LoopInfo { index, has_next })),
            );
            self.vars
                .insert("velocityCount".to_string(), Value::Int(index as i64 + 1));
            self.vars
                .insert("velocityHasNext".to_string(), Value::Bool(has_next));
            match self.render(body, out)? {
                Flow::Normal => {}
                Flow::Break => break,
                Flow::Stop => {
                    flow = Flow::Stop;
                    break;
                }
            }
        }
        // Velocity 1.7 puts back what the loop variables held before the loop.
        for (k, v) in saved {
            match v {
                Some(v) => self.vars.insert(k.to_string(), v),
                None => self.vars.remove(k),
            };
        }
        Ok(flow)
    }

    // ---- references ----------------------------------------------------------------------

    fn eval_ref(&mut self, r: &Reference) -> Result<Value, RenderError> {
        if let Some(Step::Method(m, args)) = r.steps.last() {
            if MUTATORS.contains(&m.as_str()) && placeable(&r.steps[..r.steps.len() - 1]) {
                return self.mutate(r, m, args);
            }
        }
        let Some(mut v) = self
            .vars
            .get(&r.name)
            .cloned()
            .or_else(|| self.builtin(&r.name))
        else {
            return Ok(Value::Null);
        };
        for step in &r.steps {
            self.step(1)?;
            v = match step {
                Step::Prop(p) => self.prop(v, p),
                Step::Index(e) => {
                    let k = self.eval(e)?;
                    match (v, self.resolve(k)) {
                        // `$context['stage']` is `$context.stage`.
                        (v @ Value::Context(_), Value::Str(name)) => self.prop(v, &name),
                        (v, k) => index(&self.resolve(v), &k),
                    }
                }
                Step::Method(m, args) => {
                    let mut vals = Vec::with_capacity(args.len());
                    for a in args {
                        let x = self.eval(a)?;
                        vals.push(self.resolve(x));
                    }
                    let recv = self.resolve(v);
                    self.call(recv, m, vals)?
                }
            };
            if v.is_null() {
                return Ok(Value::Null);
            }
        }
        Ok(self.resolve(v))
    }

    /// A context prefix becomes its value once it names a context variable.
    fn resolve(&self, v: Value) -> Value {
        match v {
            Value::Context(p) if !p.is_empty() => match (self.input.context)(&p) {
                Some(s) => Value::str(s),
                None => Value::Context(p),
            },
            v => v,
        }
    }

    fn prop(&mut self, v: Value, name: &str) -> Value {
        match v {
            Value::Map(m) => m.entries.get(name).cloned().unwrap_or(Value::Null),
            Value::Context(p) => {
                if p.is_empty() {
                    Value::Context(Rc::from(name))
                } else {
                    // `$context.a.b` stays a prefix until a variable of that name exists.
                    match (self.input.context)(&p) {
                        Some(s) => string_prop(&s, name),
                        None => Value::Context(Rc::from(format!("{p}.{name}"))),
                    }
                }
            }
            Value::Input if name == "body" => self.body(),
            Value::Foreach(l) => foreach_prop(&l, name),
            Value::Str(s) => string_prop(&s, name),
            Value::List(l) if name == "empty" => Value::Bool(l.items.is_empty()),
            _ => Value::Null,
        }
    }

    fn assign(&mut self, target: &Reference, v: Value) -> Result<(), RenderError> {
        let Some((last, path)) = target.steps.split_last() else {
            self.vars.insert(target.name.clone(), v);
            return Ok(());
        };
        if !placeable(path) {
            return Ok(());
        }
        let keys = self.place_keys(path)?;
        let key = match last {
            Step::Prop(p) => Value::str(p.as_str()),
            Step::Index(e) => self.eval(e)?,
            Step::Method(..) => return Ok(()),
        };
        let Some(root) = self.vars.get_mut(&target.name) else {
            return Ok(());
        };
        let mut copied = 0;
        at_place(root, &keys, &mut copied, &mut |cur| {
            match cur {
                Value::Map(m) => {
                    let m = Rc::make_mut(m);
                    check_depth(m.depth, &v)?;
                    m.depth = m.depth.max(v.depth() + 1);
                    m.entries.insert(key_string(&key), v.clone());
                }
                Value::List(l) => {
                    let l = Rc::make_mut(l);
                    if let Some(i) = list_index(&key, l.items.len()) {
                        check_depth(l.depth, &v)?;
                        l.depth = l.depth.max(v.depth() + 1);
                        l.items[i] = v.clone();
                    }
                }
                _ => {}
            }
            Ok(Value::Null)
        })?;
        self.step(copied)
    }

    fn place_keys(&mut self, path: &[Step]) -> Result<Vec<Value>, RenderError> {
        let mut keys = Vec::with_capacity(path.len());
        for s in path {
            self.step(1)?;
            keys.push(match s {
                Step::Prop(p) => Value::str(p.as_str()),
                Step::Index(e) => self.eval(e)?,
                Step::Method(_, args) => match args.first() {
                    Some(a) => self.eval(a)?,
                    None => Value::Null,
                },
            });
        }
        Ok(keys)
    }

    /// `$list.add(x)`, `$map.put(k, v)`, ... on a variable (or an element reached from one by
    /// properties, indexes and `get`): the change lands in the variable.
    fn mutate(&mut self, r: &Reference, m: &str, args: &[Expr]) -> Result<Value, RenderError> {
        let path = &r.steps[..r.steps.len() - 1];
        let keys = self.place_keys(path)?;
        let mut vals = Vec::with_capacity(args.len());
        for a in args {
            let x = self.eval(a)?;
            vals.push(self.resolve(x));
        }
        self.step(1 + vals.iter().map(|v| v.depth() as u64).sum::<u64>())?;
        let Some(root) = self.vars.get_mut(&r.name) else {
            return Ok(Value::Null);
        };
        let mut copied = 0;
        let r = at_place(root, &keys, &mut copied, &mut |cur| mutator(cur, m, &vals))?;
        self.step(copied)?;
        Ok(r)
    }

    // ---- expressions ---------------------------------------------------------------------

    pub(crate) fn eval(&mut self, e: &Expr) -> Result<Value, RenderError> {
        self.step(1)?;
        Ok(match e {
            Expr::Null => Value::Null,
            Expr::Bool(b) => Value::Bool(*b),
            Expr::Int(i) => Value::Int(*i),
            Expr::Float(f) => Value::Float(*f),
            Expr::Str(s) => {
                self.step((s.len() / 256) as u64)?;
                Value::str(s.as_str())
            }
            Expr::Interp(nodes) => {
                let mut s = String::new();
                self.render(nodes, &mut s)?;
                Value::str(s)
            }
            Expr::Ref(r) => self.eval_ref(r)?,
            Expr::List(items) => {
                let mut v = Vec::with_capacity(items.len());
                for i in items {
                    let x = self.eval(i)?;
                    v.push(self.resolve(x));
                }
                Value::list(v)?
            }
            Expr::Range(a, b) => {
                let (a, b) = (self.eval(a)?, self.eval(b)?);
                let (Some(a), Some(b)) = (range_bound(&a), range_bound(&b)) else {
                    return Ok(Value::Null);
                };
                let n = a.abs_diff(b).saturating_add(1);
                self.step(n)?;
                let items: Vec<Value> = if a <= b {
                    (a..=b).map(Value::Int).collect()
                } else {
                    (b..=a).rev().map(Value::Int).collect()
                };
                Value::list(items)?
            }
            Expr::Map(entries) => {
                let mut m = IndexMap::with_capacity(entries.len());
                for (k, v) in entries {
                    let k = self.eval(k)?;
                    let k = key_string(&self.resolve(k));
                    let v = self.eval(v)?;
                    m.insert(k, self.resolve(v));
                }
                Value::map(m)?
            }
            Expr::Not(e) => Value::Bool(!self.eval(e)?.truthy()),
            Expr::Binary(op, l, r) => self.binary(*op, l, r)?,
        })
    }

    fn binary(&mut self, op: BinOp, l: &Expr, r: &Expr) -> Result<Value, RenderError> {
        match op {
            BinOp::And => {
                return Ok(Value::Bool(
                    self.eval(l)?.truthy() && self.eval(r)?.truthy(),
                ));
            }
            BinOp::Or => {
                return Ok(Value::Bool(
                    self.eval(l)?.truthy() || self.eval(r)?.truthy(),
                ));
            }
            _ => {}
        }
        let a = self.eval(l)?;
        let a = self.resolve(a);
        let b = self.eval(r)?;
        let b = self.resolve(b);
        Ok(match op {
            BinOp::Eq => Value::Bool(self.velocity_eq(&a, &b)?),
            BinOp::Ne => Value::Bool(!self.velocity_eq(&a, &b)?),
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                // Velocity compares numbers only; anything else is false.
                let (Some(x), Some(y)) = (a.as_number(), b.as_number()) else {
                    return Ok(Value::Bool(false));
                };
                let ord = match (x, y) {
                    (Num::Int(x), Num::Int(y)) => Some(x.cmp(&y)),
                    (x, y) => x.as_f64().partial_cmp(&y.as_f64()),
                };
                let Some(ord) = ord else {
                    return Ok(Value::Bool(false));
                };
                Value::Bool(match op {
                    BinOp::Lt => ord.is_lt(),
                    BinOp::Le => ord.is_le(),
                    BinOp::Gt => ord.is_gt(),
                    _ => ord.is_ge(),
                })
            }
            BinOp::Add if matches!(a, Value::Str(_)) || matches!(b, Value::Str(_)) => {
                if a.is_null() || b.is_null() {
                    return Ok(Value::Null);
                }
                let mut s = String::new();
                write_java(&a, &mut s, self.cap())?;
                write_java(&b, &mut s, self.cap())?;
                self.step_len(s.len())?;
                Value::str(s)
            }
            _ => arith(op, &a, &b),
        })
    }

    /// Velocity 1.7 `==`: numbers by value, same kinds by `equals`, different kinds by their
    /// `toString()` (so `1 == "1"`); null equals only null.
    fn velocity_eq(&mut self, a: &Value, b: &Value) -> Result<bool, RenderError> {
        let undefined = |v: &Value| matches!(v, Value::Null | Value::Context(_));
        if undefined(a) || undefined(b) {
            if self.undefined == Undefined::Empty {
                // As recorded from API Gateway: an undefined value equals null and "".
                let empty = |v: &Value| undefined(v) || matches!(v, Value::Str(s) if s.is_empty());
                return Ok(empty(a) && empty(b));
            }
            return Ok(undefined(a) && undefined(b));
        }
        if let (Some(x), Some(y)) = (a.as_number(), b.as_number()) {
            return Ok(match (x, y) {
                (Num::Int(x), Num::Int(y)) => x == y,
                (x, y) => x.as_f64() == y.as_f64(),
            });
        }
        if std::mem::discriminant(a) == std::mem::discriminant(b) {
            return self.with_budget(|b2| java_equals(a, b, b2));
        }
        let (x, y) = (
            to_java_string(a, self.cap())?,
            to_java_string(b, self.cap())?,
        );
        self.step(((x.len() + y.len()) / 16) as u64)?;
        Ok(x == y)
    }

    // ---- methods ---------------------------------------------------------------------------

    fn call(&mut self, recv: Value, m: &str, args: Vec<Value>) -> Result<Value, RenderError> {
        match recv {
            Value::Input => self.input_method(m, &args),
            Value::Util => self.util_method(m, &args),
            Value::Foreach(l) if args.is_empty() => Ok(foreach_prop(&l, m)),
            // A mutating method on a value that is not in a variable changes a copy.
            Value::List(_) | Value::Map(_) if MUTATORS.contains(&m) => {
                let mut tmp = recv;
                mutator(&mut tmp, m, &args)
            }
            Value::Str(s) => self.string_method(&s, m, &args),
            Value::List(l) => self.list_method(&l.items, m, &args),
            Value::Map(map) => self.map_method(&map.entries, m, &args),
            Value::Int(_) | Value::Float(_) | Value::Bool(_) => {
                Ok(scalar_method(&recv, m, &args, self.cap())?)
            }
            _ => Ok(Value::Null),
        }
    }

    /// `$input.body`; an empty payload reads as `{}` (LocalStack's record of API Gateway).
    /// (Made once per render, so reading it in a loop does not copy the payload each time.)
    fn body(&mut self) -> Value {
        let input = self.input;
        let body = self.body.get_or_insert_with(|| {
            if input.body.is_empty() {
                Rc::from("{}")
            } else {
                Rc::from(String::from_utf8_lossy(input.body))
            }
        });
        Value::Str(body.clone())
    }

    fn input_path(&mut self, p: &str) -> Result<Value, RenderError> {
        if self.doc().is_none() {
            return Ok(Value::str(""));
        }
        let Some(path) = Path::compile(p) else {
            return Ok(Value::str(""));
        };
        let found = self.select(&path)?;
        let n: u64 = found.iter().map(json_nodes).sum();
        self.step(n)?;
        if path.is_definite() {
            Ok(found
                .first()
                .map_or_else(|| Value::str(""), Value::from_json))
        } else {
            Value::json_list(found.iter().map(Value::from_json).collect())
        }
    }

    fn doc(&mut self) -> Option<&serde_json::Value> {
        if let Some(parsed) = self.input.json {
            return Some(parsed);
        }
        self.parse_doc();
        self.json.as_ref().and_then(Option::as_ref)
    }

    /// Parses the body as JSON on first use, unless the caller gave it parsed.
    fn parse_doc(&mut self) {
        if self.input.json.is_none() && self.json.is_none() {
            self.json = Some(serde_json::from_slice(self.input.body).ok());
        }
    }

    fn select(&mut self, path: &Path) -> Result<Vec<serde_json::Value>, RenderError> {
        let mut budget = self.limits.max_steps.saturating_sub(self.steps);
        let before = budget;
        let limit = self.limits.max_steps;
        let found = match self.doc() {
            Some(doc) => path
                .select(doc, &mut budget)
                .map_err(|_| RenderError::StepBudget { limit })?
                .into_iter()
                .cloned()
                .collect(),
            None => Vec::new(),
        };
        self.step(before - budget)?;
        Ok(found)
    }

    fn input_method(&mut self, m: &str, args: &[Value]) -> Result<Value, RenderError> {
        let arg = args
            .first()
            .map(|a| to_java_string(a, self.cap()))
            .transpose()?;
        match (m, arg) {
            ("json", Some(p)) => {
                // Nothing selected prints as the JSON empty string `""` (what LocalStack
                // recorded from API Gateway); a body that is not JSON reads as `{}` for `$`.
                const NOTHING: &str = "\"\"";
                if self.doc().is_none() {
                    return Ok(Value::str(if p.trim() == "$" { "{}" } else { NOTHING }));
                }
                let Some(path) = Path::compile(&p) else {
                    return Ok(Value::str(NOTHING));
                };
                let found = self.select(&path)?;
                let text = if path.is_definite() {
                    match found.first() {
                        Some(v) => v.to_string(),
                        None => NOTHING.to_string(),
                    }
                } else {
                    serde_json::Value::Array(found).to_string()
                };
                self.check_len(&text)?;
                self.step_json(text.len())?;
                Ok(Value::str(text))
            }
            ("path", Some(p)) => {
                // Results are kept per path: `$input.path('$')` inside a loop converts the
                // payload once (values are copy-on-write, so a kept one cannot be changed).
                if let Some(v) = self.paths.get(&p) {
                    return Ok(v.clone());
                }
                let v = self.input_path(&p)?;
                self.paths.insert(p, v.clone());
                Ok(v)
            }
            ("params", None) => {
                let p = self.input.params;
                let mut m = IndexMap::new();
                for (k, src) in [
                    ("path", &p.path),
                    ("querystring", &p.querystring),
                    ("header", &p.header),
                ] {
                    let inner: IndexMap<String, Value> = src
                        .iter()
                        .map(|(k, v)| (k.clone(), Value::str(v.as_str())))
                        .collect();
                    m.insert(k.to_string(), Value::map(inner)?);
                }
                Value::map(m)
            }
            ("params", Some(name)) => {
                let p = self.input.params;
                let found = p
                    .path
                    .get(&name)
                    .or_else(|| p.querystring.get(&name))
                    .or_else(|| p.header.get(&name))
                    .or_else(|| {
                        p.header
                            .iter()
                            .find(|(k, _)| k.eq_ignore_ascii_case(&name))
                            .map(|(_, v)| v)
                    });
                Ok(Value::str(found.map_or("", String::as_str)))
            }
            ("getBody", None) => Ok(self.body()),
            _ => Ok(Value::Null),
        }
    }

    fn util_method(&mut self, m: &str, args: &[Value]) -> Result<Value, RenderError> {
        let [arg] = args else {
            return Ok(Value::Null);
        };
        if m == "toJson" {
            let s = self.with_budget(|b| arg.to_json(b))?.to_string();
            self.check_len(&s)?;
            self.step_json(s.len())?;
            return Ok(Value::str(s));
        }
        if arg.is_null() {
            return Ok(Value::Null);
        }
        let s = to_java_string(arg, self.cap())?;
        self.step_json(s.len())?;
        let out = match m {
            "escapeJavaScript" => escape_javascript(&s),
            "urlEncode" => url_encode(&s),
            "urlDecode" => match url_decode(&s) {
                Some(d) => d,
                None => return Ok(Value::Null),
            },
            "base64Encode" => base64::engine::general_purpose::STANDARD.encode(s.as_bytes()),
            "base64Decode" => {
                let t = s.trim();
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(t)
                    .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(t));
                match bytes {
                    Ok(b) => String::from_utf8_lossy(&b).into_owned(),
                    Err(_) => return Ok(Value::Null),
                }
            }
            "parseJson" => {
                self.step_json(s.len())?;
                return Ok(match serde_json::from_str::<serde_json::Value>(&s) {
                    Ok(j) => {
                        self.step(json_nodes(&j))?;
                        Value::from_json(&j)
                    }
                    Err(_) => Value::Null,
                });
            }
            _ => return Ok(Value::Null),
        };
        self.check_len(&out)?;
        Ok(Value::str(out))
    }

    fn string_method(&mut self, s: &str, m: &str, args: &[Value]) -> Result<Value, RenderError> {
        // Most of these walk the string (UTF-16 counting, searching, copying).
        self.step(1 + (s.len() / 32) as u64)?;
        let cap = self.cap();
        let sargs: Vec<Option<String>> = args
            .iter()
            .map(|a| match a {
                Value::Null => Ok(None),
                a => to_java_string(a, cap).map(Some),
            })
            .collect::<Result<_, _>>()?;
        let int = |i: usize| {
            args.get(i).and_then(|a| match a {
                Value::Int(n) => Some(*n),
                _ => None,
            })
        };
        let sa = |i: usize| sargs.get(i).cloned().flatten();
        if matches!(m, "replaceAll" | "replaceFirst" | "matches" | "split") {
            // Regex work costs more per byte than the rest.
            self.step((s.len() / 16) as u64)?;
        }
        let v = match (m, args.len()) {
            ("length", 0) => Value::Int(utf16_len(s) as i64),
            ("toString", 0) | ("intern", 0) => Value::str(s),
            ("isEmpty", 0) => Value::Bool(s.is_empty()),
            ("trim", 0) => Value::str(s.trim_matches(|c: char| c <= ' ')),
            ("toLowerCase", 0) => Value::str(s.to_lowercase()),
            ("toUpperCase", 0) => Value::str(s.to_uppercase()),
            ("contains", 1) => opt_bool(sa(0).map(|x| s.contains(x.as_str()))),
            ("startsWith", 1) => opt_bool(sa(0).map(|x| s.starts_with(x.as_str()))),
            ("startsWith", 2) => opt_bool(sa(0).zip(int(1)).map(|(x, off)| {
                u16_offset(s, off).is_some_and(|b| s[b..].starts_with(x.as_str()))
            })),
            ("endsWith", 1) => opt_bool(sa(0).map(|x| s.ends_with(x.as_str()))),
            ("equals", 1) => Value::Bool(matches!(&args[0], Value::Str(x) if &**x == s)),
            ("equalsIgnoreCase", 1) => Value::Bool(
                matches!(&args[0], Value::Str(x) if x.to_lowercase() == s.to_lowercase()),
            ),
            ("concat", 1) => match sa(0) {
                Some(x) => {
                    let r = format!("{s}{x}");
                    self.check_len(&r)?;
                    Value::str(r)
                }
                None => Value::Null,
            },
            ("indexOf", 1) | ("indexOf", 2) | ("lastIndexOf", 1) => {
                let Some(x) = sa(0) else {
                    return Ok(Value::Null);
                };
                let from = if args.len() == 2 {
                    match int(1) {
                        Some(f) => u16_offset(s, f.max(0)).unwrap_or(s.len()),
                        None => return Ok(Value::Null),
                    }
                } else {
                    0
                };
                let found = if m == "indexOf" {
                    s.get(from..)
                        .and_then(|t| t.find(x.as_str()))
                        .map(|i| i + from)
                } else {
                    s.rfind(x.as_str())
                };
                Value::Int(found.map_or(-1, |b| utf16_len(&s[..b]) as i64))
            }
            ("substring", 1) | ("substring", 2) => {
                let units: Vec<u16> = s.encode_utf16().collect();
                let b = int(0);
                let e = if args.len() == 2 {
                    int(1)
                } else {
                    Some(units.len() as i64)
                };
                match (b, e) {
                    (Some(b), Some(e)) if 0 <= b && b <= e && e <= units.len() as i64 => {
                        Value::str(String::from_utf16_lossy(&units[b as usize..e as usize]))
                    }
                    // Java throws StringIndexOutOfBoundsException; we stay forgiving.
                    _ => Value::Null,
                }
            }
            ("charAt", 1) => {
                let units: Vec<u16> = s.encode_utf16().collect();
                match int(0)
                    .and_then(|i| usize::try_from(i).ok())
                    .and_then(|i| units.get(i))
                {
                    Some(u) => Value::str(String::from_utf16_lossy(&[*u])),
                    None => Value::Null,
                }
            }
            ("replace", 2) => match (sa(0), sa(1)) {
                (Some(a), Some(b)) => {
                    // The result's size first: many matches times a long replacement.
                    let n = if a.is_empty() {
                        s.chars().count() + 1
                    } else {
                        s.matches(a.as_str()).count()
                    };
                    let len = (s.len() - n * a.len()).saturating_add(n.saturating_mul(b.len()));
                    if len > cap {
                        return Err(RenderError::OutputLimit { limit: cap });
                    }
                    let r = s.replace(a.as_str(), &b);
                    self.check_len(&r)?;
                    Value::str(r)
                }
                _ => Value::Null,
            },
            ("replaceAll", 2) | ("replaceFirst", 2) => {
                let (Some(pat), Some(rep)) = (sa(0), sa(1)) else {
                    return Ok(Value::Null);
                };
                let (Ok(re), Some(rep)) = (regex_lite::Regex::new(&pat), java_replacement(&rep))
                else {
                    return Ok(Value::Null);
                };
                let r = if m == "replaceAll" {
                    // Bounded first: a pattern matching everywhere times a long replacement.
                    let n = self.count_matches(&re, s)?;
                    if s.len().saturating_add(n.saturating_mul(rep.len())) > cap.saturating_mul(4) {
                        return Err(RenderError::OutputLimit { limit: cap });
                    }
                    re.replace_all(s, rep.as_str()).into_owned()
                } else {
                    re.replace(s, rep.as_str()).into_owned()
                };
                self.check_len(&r)?;
                Value::str(r)
            }
            ("matches", 1) => {
                let Some(pat) = sa(0) else {
                    return Ok(Value::Null);
                };
                match regex_lite::Regex::new(&format!("^(?:{pat})$")) {
                    Ok(re) => Value::Bool(re.is_match(s)),
                    Err(_) => Value::Null,
                }
            }
            ("split", 1) | ("split", 2) => {
                let Some(pat) = sa(0) else {
                    return Ok(Value::Null);
                };
                let limit = if args.len() == 2 {
                    match int(1) {
                        Some(l) => l,
                        None => return Ok(Value::Null),
                    }
                } else {
                    0
                };
                let Ok(re) = regex_lite::Regex::new(&pat) else {
                    return Ok(Value::Null);
                };
                self.count_matches(&re, s)?;
                let parts = java_split(s, &re, limit);
                self.step(parts.len() as u64)?;
                Value::list(parts.into_iter().map(Value::str).collect())?
            }
            ("hashCode", 0) => {
                let h = s
                    .encode_utf16()
                    .fold(0i32, |h, u| h.wrapping_mul(31).wrapping_add(i32::from(u)));
                Value::Int(i64::from(h))
            }
            _ => Value::Null,
        };
        Ok(v)
    }

    /// Counts the matches of `re` in `s` and charges four steps for each (counting, then
    /// replacing or splitting), stopping as soon as the budget is spent: a pattern like `""`
    /// matches between every two characters.
    fn count_matches(&mut self, re: &regex_lite::Regex, s: &str) -> Result<usize, RenderError> {
        let remaining = self.limits.max_steps.saturating_sub(self.steps) / 4;
        let most = usize::try_from(remaining)
            .unwrap_or(usize::MAX)
            .saturating_add(1);
        let n = re.find_iter(s).take(most).count();
        self.step((n as u64).saturating_mul(4))?;
        Ok(n)
    }

    fn list_method(
        &mut self,
        items: &[Value],
        m: &str,
        args: &[Value],
    ) -> Result<Value, RenderError> {
        self.step(1)?;
        let cap = self.cap();
        Ok(match (m, args) {
            ("size", []) | ("count", []) => Value::Int(items.len() as i64),
            ("isEmpty", []) => Value::Bool(items.is_empty()),
            ("get", [Value::Int(i)]) => usize::try_from(*i)
                .ok()
                .and_then(|i| items.get(i))
                .cloned()
                .unwrap_or(Value::Null),
            ("contains", [x]) => {
                self.step(items.len() as u64)?;
                Value::Bool(self.with_budget(|b| items.iter().any(|y| java_equals(y, x, b)))?)
            }
            ("indexOf", [x]) => {
                let pos = self.with_budget(|b| items.iter().position(|y| java_equals(y, x, b)))?;
                Value::Int(pos.map_or(-1, |i| i as i64))
            }
            ("toString", []) => {
                self.step(items.len() as u64)?;
                let mut s = String::new();
                write_java(&Value::list(items.to_vec())?, &mut s, cap)?;
                self.step((s.len() / 16) as u64)?;
                Value::str(s)
            }
            ("equals", [x @ Value::List(_)]) => {
                let me = Value::list(items.to_vec())?;
                Value::Bool(self.with_budget(|b| java_equals(&me, x, b))?)
            }
            _ => Value::Null,
        })
    }

    fn map_method(
        &mut self,
        entries: &IndexMap<String, Value>,
        m: &str,
        args: &[Value],
    ) -> Result<Value, RenderError> {
        self.step(1)?;
        let cap = self.cap();
        Ok(match (m, args) {
            ("get", [k]) => entries.get(&key_string(k)).cloned().unwrap_or(Value::Null),
            ("containsKey", [k]) => Value::Bool(entries.contains_key(&key_string(k))),
            ("containsValue", [x]) => {
                self.step(entries.len() as u64)?;
                Value::Bool(self.with_budget(|b| entries.values().any(|y| java_equals(y, x, b)))?)
            }
            ("keySet", []) => {
                self.step(entries.len() as u64)?;
                Value::list(entries.keys().map(|k| Value::str(k.as_str())).collect())?
            }
            ("values", []) => {
                self.step(entries.len() as u64)?;
                Value::list(entries.values().cloned().collect())?
            }
            ("size", []) => Value::Int(entries.len() as i64),
            ("isEmpty", []) => Value::Bool(entries.is_empty()),
            ("toString", []) => {
                self.step(entries.len() as u64)?;
                let mut s = String::new();
                write_java(&Value::map(entries.clone())?, &mut s, cap)?;
                self.step((s.len() / 16) as u64)?;
                Value::str(s)
            }
            _ => Value::Null,
        })
    }
}

fn placeable(path: &[Step]) -> bool {
    path.iter().all(|s| match s {
        Step::Prop(_) | Step::Index(_) => true,
        Step::Method(m, args) => m == "get" && args.len() == 1,
    })
}

fn check_depth(container: u32, v: &Value) -> Result<(), RenderError> {
    if container.max(v.depth() + 1) > MAX_VALUE_DEPTH {
        return Err(RenderError::TooDeep);
    }
    Ok(())
}

/// Walks `keys` from `cur` (making each collection on the way unique) and applies `f` at the
/// end; on the way back, raises the recorded depth of every collection passed.
///
/// A collection shared with another variable is copied first; `copied` counts the elements
/// copied so the caller can charge them.
fn at_place(
    cur: &mut Value,
    keys: &[Value],
    copied: &mut u64,
    f: &mut dyn FnMut(&mut Value) -> Result<Value, RenderError>,
) -> Result<Value, RenderError> {
    match cur {
        Value::Map(m) if Rc::strong_count(m) > 1 => *copied += m.entries.len() as u64,
        Value::List(l) if Rc::strong_count(l) > 1 => *copied += l.items.len() as u64,
        _ => {}
    }
    let Some((k, rest)) = keys.split_first() else {
        return f(cur);
    };
    let (result, child_depth) = match cur {
        Value::Map(m) => {
            let m = Rc::make_mut(m);
            let Some(child) = m.entries.get_mut(&key_string(k)) else {
                return Ok(Value::Null);
            };
            let r = at_place(child, rest, copied, f)?;
            (r, child.depth())
        }
        Value::List(l) => {
            let l = Rc::make_mut(l);
            let Some(i) = list_index(k, l.items.len()) else {
                return Ok(Value::Null);
            };
            let child = &mut l.items[i];
            let r = at_place(child, rest, copied, f)?;
            (r, child.depth())
        }
        _ => return Ok(Value::Null),
    };
    match cur {
        Value::Map(m) => {
            let m = Rc::make_mut(m);
            m.depth = m.depth.max(child_depth + 1);
        }
        Value::List(l) => {
            let l = Rc::make_mut(l);
            l.depth = l.depth.max(child_depth + 1);
        }
        _ => {}
    }
    if cur.depth() > MAX_VALUE_DEPTH {
        return Err(RenderError::TooDeep);
    }
    Ok(result)
}

/// The mutating methods of Java's `List` and `Map`, with Java's return values (`add` → `true`,
/// `put` → the previous value or null, void methods → empty string as Velocity renders them).
fn mutator(cur: &mut Value, m: &str, args: &[Value]) -> Result<Value, RenderError> {
    let void = || Value::str("");
    match cur {
        Value::List(l) => {
            let l = Rc::make_mut(l);
            match (m, args) {
                ("add", [x]) => {
                    check_depth(l.depth, x)?;
                    l.depth = l.depth.max(x.depth() + 1);
                    l.items.push(x.clone());
                    Ok(Value::Bool(true))
                }
                ("add", [Value::Int(i), x]) => {
                    match usize::try_from(*i).ok().filter(|i| *i <= l.items.len()) {
                        Some(i) => {
                            check_depth(l.depth, x)?;
                            l.depth = l.depth.max(x.depth() + 1);
                            l.items.insert(i, x.clone());
                            Ok(void())
                        }
                        None => Ok(Value::Null),
                    }
                }
                ("addAll", [Value::List(other)]) => {
                    check_depth(l.depth, &Value::List(other.clone()))?;
                    l.depth = l.depth.max(other.depth);
                    l.items.extend(other.items.iter().cloned());
                    Ok(Value::Bool(!other.items.is_empty()))
                }
                ("remove", [Value::Int(i)]) => Ok(
                    match usize::try_from(*i).ok().filter(|i| *i < l.items.len()) {
                        Some(i) => l.items.remove(i),
                        None => Value::Null,
                    },
                ),
                ("set", [Value::Int(i), x]) => {
                    match usize::try_from(*i).ok().filter(|i| *i < l.items.len()) {
                        Some(i) => {
                            check_depth(l.depth, x)?;
                            l.depth = l.depth.max(x.depth() + 1);
                            Ok(std::mem::replace(&mut l.items[i], x.clone()))
                        }
                        None => Ok(Value::Null),
                    }
                }
                ("clear", []) => {
                    l.items.clear();
                    Ok(void())
                }
                _ => Ok(Value::Null),
            }
        }
        Value::Map(map) => {
            let map = Rc::make_mut(map);
            match (m, args) {
                ("put", [k, v]) => {
                    check_depth(map.depth, v)?;
                    map.depth = map.depth.max(v.depth() + 1);
                    Ok(map
                        .entries
                        .insert(key_string(k), v.clone())
                        .unwrap_or(Value::Null))
                }
                ("putAll", [Value::Map(other)]) => {
                    check_depth(map.depth, &Value::Map(other.clone()))?;
                    map.depth = map.depth.max(other.depth);
                    for (k, v) in &other.entries {
                        map.entries.insert(k.clone(), v.clone());
                    }
                    Ok(void())
                }
                ("remove", [k]) => Ok(map
                    .entries
                    .shift_remove(&key_string(k))
                    .unwrap_or(Value::Null)),
                ("clear", []) => {
                    map.entries.clear();
                    Ok(void())
                }
                _ => Ok(Value::Null),
            }
        }
        _ => Ok(Value::Null),
    }
}

fn foreach_prop(l: &LoopInfo, name: &str) -> Value {
    match name {
        "index" | "getIndex" => Value::Int(l.index as i64),
        "count" | "getCount" => Value::Int(l.index as i64 + 1),
        "hasNext" | "getHasNext" => Value::Bool(l.has_next),
        "first" | "isFirst" | "getFirst" => Value::Bool(l.index == 0),
        "last" | "isLast" | "getLast" => Value::Bool(!l.has_next),
        _ => Value::Null,
    }
}

fn string_prop(s: &str, name: &str) -> Value {
    match name {
        // Velocity reads `.empty` through `isEmpty()`.
        "empty" => Value::Bool(s.is_empty()),
        _ => Value::Null,
    }
}

fn scalar_method(v: &Value, m: &str, args: &[Value], cap: usize) -> Result<Value, RenderError> {
    Ok(match (m, args) {
        ("toString", []) => Value::str(to_java_string(v, cap)?),
        ("equals", [x]) => Value::Bool(java_equals(v, x, &mut 1)),
        ("intValue", []) => match v {
            Value::Int(i) => Value::Int(i64::from(*i as i32)),
            Value::Float(f) => Value::Int(i64::from(*f as i32)),
            _ => Value::Null,
        },
        ("longValue", []) => match v {
            Value::Int(i) => Value::Int(*i),
            Value::Float(f) => Value::Int(*f as i64),
            _ => Value::Null,
        },
        ("doubleValue", []) => match v.as_number() {
            Some(n) => Value::Float(n.as_f64()),
            None => Value::Null,
        },
        ("booleanValue", []) => match v {
            Value::Bool(b) => Value::Bool(*b),
            _ => Value::Null,
        },
        _ => Value::Null,
    })
}

fn opt_bool(b: Option<bool>) -> Value {
    b.map_or(Value::Null, Value::Bool)
}

fn range_bound(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        Value::Str(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn json_nodes(j: &serde_json::Value) -> u64 {
    match j {
        serde_json::Value::Array(a) => 1 + a.iter().map(json_nodes).sum::<u64>(),
        serde_json::Value::Object(o) => 1 + o.values().map(json_nodes).sum::<u64>(),
        _ => 1,
    }
}

/// Java's `toString()` of a value.
pub(crate) fn to_java_string(v: &Value, cap: usize) -> Result<String, RenderError> {
    let mut s = String::new();
    write_java(v, &mut s, cap)?;
    Ok(s)
}

/// Map keys are strings (JSON objects); other keys are looked up by their string form.
fn key_string(k: &Value) -> String {
    match k {
        Value::Str(s) => s.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => java_double(*f),
        Value::Bool(b) => b.to_string(),
        _ => "null".to_string(),
    }
}

/// A list index; negative ones count from the end (Velocity 1.7's `$list[-1]`).
fn list_index(k: &Value, len: usize) -> Option<usize> {
    let Value::Int(i) = k else { return None };
    let i = if *i < 0 {
        i64::try_from(len).ok()?.checked_add(*i)?
    } else {
        *i
    };
    usize::try_from(i).ok().filter(|i| *i < len)
}

fn index(v: &Value, k: &Value) -> Value {
    match v {
        Value::List(l) => list_index(k, l.items.len())
            .and_then(|i| l.items.get(i))
            .cloned()
            .unwrap_or(Value::Null),
        Value::Map(m) => m
            .entries
            .get(&key_string(k))
            .cloned()
            .unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

/// Java's `equals`: same kind and same content (numbers of either kind compare by value, as
/// mapping templates meet JSON numbers that may be either). Each node compared costs one unit
/// of `budget`; at zero the answer is `false` and the caller fails the render.
fn java_equals(a: &Value, b: &Value, budget: &mut u64) -> bool {
    if *budget == 0 {
        return false;
    }
    *budget -= 1;
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        // Java's collections check identity first.
        (Value::List(x), Value::List(y)) if Rc::ptr_eq(x, y) => true,
        (Value::Map(x), Value::Map(y)) if Rc::ptr_eq(x, y) => true,
        (Value::List(x), Value::List(y)) => {
            x.items.len() == y.items.len()
                && x.items
                    .iter()
                    .zip(&y.items)
                    .all(|(v, w)| java_equals(v, w, budget))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.entries.len() == y.entries.len()
                && x.entries
                    .iter()
                    .all(|(k, v)| y.entries.get(k).is_some_and(|w| java_equals(v, w, budget)))
        }
        _ => false,
    }
}

/// `- * / %` and numeric `+`. Integer overflow widens to a double (Velocity widens to a
/// bigger type); division or modulo by zero is null, as in Velocity.
fn arith(op: BinOp, a: &Value, b: &Value) -> Value {
    let (Some(x), Some(y)) = (a.as_number(), b.as_number()) else {
        return Value::Null;
    };
    if let (Num::Int(x), Num::Int(y)) = (x, y) {
        let r = match op {
            BinOp::Add => x.checked_add(y),
            BinOp::Sub => x.checked_sub(y),
            BinOp::Mul => x.checked_mul(y),
            BinOp::Div if y == 0 => return Value::Null,
            BinOp::Div => x.checked_div(y),
            BinOp::Mod if y == 0 => return Value::Null,
            BinOp::Mod => x.checked_rem(y),
            _ => return Value::Null,
        };
        if let Some(r) = r {
            return Value::Int(r);
        }
    }
    let (x, y) = (x.as_f64(), y.as_f64());
    Value::Float(match op {
        BinOp::Add => x + y,
        BinOp::Sub => x - y,
        BinOp::Mul => x * y,
        BinOp::Div if y == 0.0 => return Value::Null,
        BinOp::Div => x / y,
        BinOp::Mod if y == 0.0 => return Value::Null,
        BinOp::Mod => x % y,
        _ => return Value::Null,
    })
}

fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// The byte offset of UTF-16 offset `off`, if it falls on a character boundary.
fn u16_offset(s: &str, off: i64) -> Option<usize> {
    let off = usize::try_from(off).ok()?;
    let mut units = 0;
    for (b, c) in s.char_indices() {
        if units == off {
            return Some(b);
        }
        if units > off {
            return None;
        }
        units += c.len_utf16();
    }
    (units == off).then_some(s.len())
}

/// A Java replacement string (`$1` for a group, `\x` for a literal `x`) in regex-lite's syntax;
/// `None` where Java would throw.
fn java_replacement(rep: &str) -> Option<String> {
    let mut out = String::with_capacity(rep.len());
    let mut it = rep.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '\\' => match it.next()? {
                '$' => out.push_str("$$"),
                x => out.push(x),
            },
            '$' => {
                if it.peek() == Some(&'{') {
                    it.next();
                    let mut name = String::new();
                    loop {
                        match it.next()? {
                            '}' => break,
                            x => name.push(x),
                        }
                    }
                    out.push_str(&format!("${{{name}}}"));
                } else {
                    let mut digits = String::new();
                    while let Some(d) = it.peek().filter(|d| d.is_ascii_digit()) {
                        digits.push(*d);
                        it.next();
                    }
                    if digits.is_empty() {
                        return None;
                    }
                    out.push_str(&format!("${{{digits}}}"));
                }
            }
            x => out.push(x),
        }
    }
    Some(out)
}

/// Java's `String.split(regex, limit)`: no leading empty piece for a zero-width match at the
/// start, at most `limit` pieces when `limit > 0`, and with `limit == 0` trailing empty pieces
/// dropped (`",".split(",")` is empty).
fn java_split(s: &str, re: &regex_lite::Regex, limit: i64) -> Vec<String> {
    let mut parts = Vec::new();
    let mut index = 0;
    let mut matched = false;
    for m in re.find_iter(s) {
        if limit > 0 && parts.len() as i64 >= limit - 1 {
            break;
        }
        if index == 0 && m.start() == 0 && m.end() == 0 {
            continue;
        }
        matched = true;
        parts.push(s[index..m.start()].to_string());
        index = m.end();
    }
    if !matched {
        return vec![s.to_string()];
    }
    parts.push(s[index..].to_string());
    if limit == 0 {
        while parts.last().is_some_and(String::is_empty) {
            parts.pop();
        }
    }
    parts
}

/// Commons Lang `StringEscapeUtils.escapeJavaScript`: quotes, backslash and `/` escaped,
/// control characters as `\b \t \n \f \r` or `\uXXXX`, and every non-ASCII UTF-16 unit as
/// `\uXXXX` (upper-case hex).
pub(crate) fn escape_javascript(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for u in s.encode_utf16() {
        match u {
            0x27 => out.push_str("\\'"),
            0x22 => out.push_str("\\\""),
            0x5C => out.push_str("\\\\"),
            0x2F => out.push_str("\\/"),
            0x08 => out.push_str("\\b"),
            0x09 => out.push_str("\\t"),
            0x0A => out.push_str("\\n"),
            0x0C => out.push_str("\\f"),
            0x0D => out.push_str("\\r"),
            u if !(0x20..=0x7F).contains(&u) => out.push_str(&format!("\\u{u:04X}")),
            u => out.push(char::from(u as u8)),
        }
    }
    out
}

/// Java's `URLEncoder.encode(s, "UTF-8")`: `a-z A-Z 0-9 . - * _` kept, space as `+`, every
/// other byte `%XX`.
pub(crate) fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'*' | b'_' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Java's `URLDecoder.decode(s, "UTF-8")`; `None` for a malformed `%` escape (Java throws).
pub(crate) fn url_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s
                    .get(i + 1..i + 3)
                    .filter(|h| h.bytes().all(|c| c.is_ascii_hexdigit()))?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}
