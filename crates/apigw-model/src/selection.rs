//! Selection expressions (`$request.body.action`, `${request.header.x}`) — the grammar of
//! apigateway-websocket-api-selection-expressions: `$`-prefixed variables, `${…}` braces,
//! `\$` escapes, static text around them.

use crate::error::{Result, ServiceError};
use crate::mapping::jsonpath::Step;

/// A piece of a parsed selection expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Static text, escapes already removed (`\$default` → `$default`).
    Text(String),
    /// A variable reference without its `$` / `${}`: `request.body.action`.
    Var(String),
    /// A `request.body…` variable whose path is in the mapping JSONPath subset, compiled once
    /// here rather than for every message: its name and its steps.
    Body(String, Vec<Step>),
}

impl Part {
    fn var(name: &str) -> Part {
        match name
            .strip_prefix("request.body")
            .and_then(crate::mapping::jsonpath::parse)
        {
            Some(steps) => Part::Body(name.to_string(), steps),
            None => Part::Var(name.to_string()),
        }
    }
}

/// A selection expression parsed once (at deployment), evaluated per message. The one grammar
/// behind both the control plane's validation and the data plane's evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectionExpression {
    parts: Vec<Part>,
}

impl SelectionExpression {
    /// `None` when a `${` is never closed.
    pub fn parse(expr: &str) -> Option<SelectionExpression> {
        let mut parts = Vec::new();
        let mut text = String::new();
        let b = expr.as_bytes();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'\\' => {
                    // `\$` is a literal dollar; a lone backslash stays as written.
                    match expr[i + 1..].chars().next() {
                        Some('$') => {
                            text.push('$');
                            i += 2;
                        }
                        _ => {
                            text.push('\\');
                            i += 1;
                        }
                    }
                }
                b'$' if b.get(i + 1) == Some(&b'{') => {
                    let start = i + 2;
                    let end = expr[start..].find('}')? + start;
                    if !text.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut text)));
                    }
                    parts.push(Part::var(&expr[start..end]));
                    i = end + 1;
                }
                b'$' => {
                    let start = i + 1;
                    let mut end = start;
                    while end < b.len() && is_var_char(b[end]) {
                        end += 1;
                    }
                    // A trailing `.` ends a sentence, not a path.
                    let mut var = &expr[start..end];
                    while let Some(v) = var.strip_suffix('.') {
                        var = v;
                    }
                    if var.is_empty() {
                        text.push('$');
                        i = start;
                    } else {
                        if !text.is_empty() {
                            parts.push(Part::Text(std::mem::take(&mut text)));
                        }
                        parts.push(Part::var(var));
                        i = start + var.len();
                    }
                }
                _ => {
                    let c = expr[i..].chars().next().unwrap_or('\u{fffd}');
                    text.push(c);
                    i += c.len_utf8();
                }
            }
        }
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Some(SelectionExpression { parts })
    }

    /// An expression that is only `text`.
    pub fn literal(text: &str) -> SelectionExpression {
        SelectionExpression {
            parts: vec![Part::Text(text.to_string())],
        }
    }

    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// The variables, in order.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(v) | Part::Body(v, _) => Some(v.as_str()),
            Part::Text(_) => None,
        })
    }

    /// The expression's value: static text as is, each variable as `resolve` gives it, `""`
    /// when it resolves to nothing ("If the JSONPath is not found, the variable is resolved as
    /// \"\"").
    pub fn evaluate(&self, resolve: impl FnMut(&str) -> Option<String>) -> String {
        self.evaluate_with_body(None, resolve)
    }

    /// [`Self::evaluate`] where the request body's JSON may be at hand: with `Some(body)`,
    /// `request.body…` variables are looked up in it by their compiled paths; every other
    /// variable goes to `resolve`.
    pub fn evaluate_with_body(
        &self,
        body: Option<&serde_json::Value>,
        mut resolve: impl FnMut(&str) -> Option<String>,
    ) -> String {
        let mut var = |p: &Part| -> Option<String> {
            match p {
                Part::Text(_) => None,
                Part::Var(v) => resolve(v),
                Part::Body(v, steps) => match body {
                    Some(json) => crate::mapping::jsonpath::select(json, steps).and_then(stringify),
                    None => resolve(v),
                },
            }
        };
        match self.parts.as_slice() {
            [Part::Text(t)] => return t.clone(),
            [only] => return var(only).unwrap_or_default(),
            _ => {}
        }
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                p => {
                    if let Some(value) = var(p) {
                        out.push_str(&value);
                    }
                }
            }
        }
        out
    }
}

/// The variable references in an expression (`request.body.action` for `$request.body.action`).
/// Returns `None` when a `${` is never closed.
pub fn variables(expr: &str) -> Option<Vec<String>> {
    SelectionExpression::parse(expr).map(|e| e.variables().map(str::to_string).collect())
}

fn is_var_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-' | b'[' | b']' | b'\'' | b'*' | b'@')
}

/// A WebSocket route/template selection expression: any text whose variables name
/// `request.*`, `context.*` or `stageVariables.*`; `$default` is the catch-all literal.
pub fn validate_selection_expression(what: &str, expr: &str) -> Result<()> {
    if expr.is_empty() || expr.chars().count() > 1024 {
        return Err(ServiceError::bad_request(format!(
            "Invalid {what} specified: {expr}"
        )));
    }
    if expr == "$default" {
        return Ok(());
    }
    let vars = variables(expr)
        .ok_or_else(|| ServiceError::bad_request(format!("Invalid {what} specified: {expr}")))?;
    for v in &vars {
        // A body path must be one the data plane can evaluate (the mapping JSONPath subset).
        if let Some(path) = v.strip_prefix("request.body") {
            if crate::mapping::jsonpath::parse(path).is_none() {
                return Err(ServiceError::bad_request(format!(
                    "Invalid {what} specified: {expr}"
                )));
            }
        }
        let ok = [
            "request.",
            "context.",
            "stageVariables.",
            "integration.response.",
        ]
        .iter()
        .any(|p| v.starts_with(p) && v.len() > p.len())
            || v == "request.body"
            || v == "request.method";
        if !ok {
            return Err(ServiceError::bad_request(format!(
                "Invalid {what} specified: {expr}"
            )));
        }
    }
    Ok(())
}

/// A JSON value as a selection expression renders it: strings unquoted, arrays as
/// `[item1, item2]` (data-plane.md §7.2: "will be stringified"), other values as JSON text,
/// `null` as nothing.
pub fn stringify(v: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => {
            let inner: Vec<String> = items
                .iter()
                .map(|i| stringify(i).unwrap_or_else(|| "null".into()))
                .collect();
            Some(format!("[{}]", inner.join(", ")))
        }
        other => Some(other.to_string()),
    }
}

/// Looks up the part after `request.body` (`.a.b[0]`) in a JSON document, with the one
/// JSONPath subset the control plane validates mappings with.
pub fn body_path<'v>(root: &'v serde_json::Value, path: &str) -> Option<&'v serde_json::Value> {
    let steps = crate::mapping::jsonpath::parse(path)?;
    crate::mapping::jsonpath::select(root, &steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_variables() {
        assert_eq!(
            variables("$request.body.action"),
            Some(vec!["request.body.action".to_string()])
        );
        assert_eq!(
            variables("${request.path.a} x $context.requestId."),
            Some(vec![
                "request.path.a".to_string(),
                "context.requestId".to_string()
            ])
        );
        assert_eq!(variables("plain"), Some(vec![]));
        assert_eq!(variables("${request.x"), None);
        assert_eq!(variables("\\$default"), Some(vec![]));
    }

    fn eval(expr: &str, body: &serde_json::Value) -> String {
        SelectionExpression::parse(expr).unwrap().evaluate(|v| {
            v.strip_prefix("request.body")
                .and_then(|p| body_path(body, p))
                .and_then(stringify)
        })
    }

    #[test]
    fn evaluates_the_documented_table() {
        // apigateway-websocket-api-develop-routes, evaluated against this message.
        let body = serde_json::json!({"service":"chat","action":"join","data":{"room":"room1234"}});
        assert_eq!(eval("$request.body.action", &body), "join");
        assert_eq!(eval("${request.body.action}", &body), "join");
        assert_eq!(
            eval("${request.body.service}/${request.body.action}", &body),
            "chat/join"
        );
        assert_eq!(
            eval("${request.body.action}-${request.body.invalidPath}", &body),
            "join-"
        );
        assert_eq!(eval("action", &body), "action");
        assert_eq!(eval("\\$default", &body), "$default");
        assert_eq!(eval("$request.body.data.room", &body), "room1234");
    }

    #[test]
    fn stringifies_non_strings() {
        let body = serde_json::json!({"n": 5, "b": true, "a": ["x", 2], "o": {"k": 1}, "z": null});
        assert_eq!(eval("$request.body.n", &body), "5");
        assert_eq!(eval("$request.body.b", &body), "true");
        assert_eq!(eval("$request.body.a", &body), "[x, 2]");
        assert_eq!(eval("$request.body.a[1]", &body), "2");
        assert_eq!(eval("$request.body.a[-1]", &body), "2");
        assert_eq!(eval("$request.body.o", &body), "{\"k\":1}");
        assert_eq!(eval("$request.body.z", &body), "");
        assert_eq!(eval("$request.body['n']", &body), "5");
    }
}
