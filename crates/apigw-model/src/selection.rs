//! Selection expressions (`$request.body.action`, `${request.header.x}`) — the grammar of
//! apigateway-websocket-api-selection-expressions: `$`-prefixed variables, `${…}` braces,
//! `\$` escapes, static text around them.

use crate::error::{Result, ServiceError};

/// The variable references in an expression (`request.body.action` for `$request.body.action`).
/// Returns `None` when a `${` is never closed.
pub fn variables(expr: &str) -> Option<Vec<&str>> {
    let mut out = Vec::new();
    let b = expr.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'$' if b.get(i + 1) == Some(&b'{') => {
                let start = i + 2;
                let end = expr[start..].find('}')? + start;
                out.push(&expr[start..end]);
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
                if !var.is_empty() {
                    out.push(var);
                }
                i = end.max(start);
            }
            _ => i += 1,
        }
    }
    Some(out)
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
    for v in vars {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_variables() {
        assert_eq!(
            variables("$request.body.action"),
            Some(vec!["request.body.action"])
        );
        assert_eq!(
            variables("${request.path.a} x $context.requestId."),
            Some(vec!["request.path.a", "context.requestId"])
        );
        assert_eq!(variables("plain"), Some(vec![]));
        assert_eq!(variables("${request.x"), None);
        assert_eq!(variables("\\$default"), Some(vec![]));
    }
}
