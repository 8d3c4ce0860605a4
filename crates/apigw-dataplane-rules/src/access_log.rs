//! Access-log lines from a stage's `accessLogSettings.format` (http-api-logging,
//! http-api-logging-variables): every `$context.<name>` token is replaced by the request's
//! value; a variable without a value (unknown, not applicable, or empty) renders as `-`, as
//! in AWS's logs.
//!
//! Only the documented `$context.name` form is a variable (names use letters, digits, `.` and
//! `_`; a trailing `.` ends the token). When the format is a JSON object (starts with `{`),
//! values are JSON-escaped so that a quoted `"$context.x"` stays valid JSON; the pre-quoted
//! `$context.error.messageString` keeps its quotes. Outside JSON, CR/LF in values are written
//! as `\r`/`\n` so one request stays one line.

use crate::context::RequestContext;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Var(String),
}

/// A compiled access-log format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessLogFormat {
    parts: Vec<Part>,
    json: bool,
}

const PREFIX: &str = "$context.";

impl AccessLogFormat {
    pub fn parse(format: &str) -> AccessLogFormat {
        let mut parts = Vec::new();
        let mut rest = format;
        while let Some(at) = rest.find(PREFIX) {
            let after = &rest[at + PREFIX.len()..];
            let len = after
                .bytes()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_'))
                .count();
            let name = after[..len].trim_end_matches('.');
            if name.is_empty() {
                push_text(&mut parts, &rest[..at + PREFIX.len()]);
                rest = after;
                continue;
            }
            push_text(&mut parts, &rest[..at]);
            parts.push(Part::Var(name.to_owned()));
            rest = &after[name.len()..];
        }
        push_text(&mut parts, rest);
        AccessLogFormat {
            parts,
            json: format.trim_start().starts_with('{'),
        }
    }

    /// One log line (without a trailing newline).
    pub fn render(&self, ctx: &RequestContext) -> String {
        let mut out = String::with_capacity(256);
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Var(name) => {
                    let value = if name == "error.messageString" {
                        ctx.error.as_ref().map(|e| {
                            let mut q = String::from("\"");
                            escape_into(&mut q, &e.message, self.json);
                            q.push('"');
                            q
                        })
                    } else {
                        ctx.get(name).filter(|v| !v.is_empty()).map(|v| {
                            let mut s = String::new();
                            escape_into(&mut s, &v, self.json);
                            s
                        })
                    };
                    out.push_str(value.as_deref().unwrap_or("-"));
                }
            }
        }
        out
    }
}

fn push_text(parts: &mut Vec<Part>, text: &str) {
    if text.is_empty() {
        return;
    }
    if let Some(Part::Text(t)) = parts.last_mut() {
        t.push_str(text);
    } else {
        parts.push(Part::Text(text.to_owned()));
    }
}

fn escape_into(out: &mut String, v: &str, json: bool) {
    for c in v.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '"' if json => out.push_str("\\\""),
            '\\' if json => out.push_str("\\\\"),
            '\t' if json => out.push_str("\\t"),
            c if json && (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::IntegrationOutcome;

    fn ctx() -> RequestContext {
        RequestContext {
            account_id: "000000000000".into(),
            api_id: "abc123".into(),
            domain_name: "abc123.execute-api.localhost:4566".into(),
            http_method: "POST".into(),
            path: "/beta/pets".into(),
            protocol: "HTTP/1.1".into(),
            request_id: "LV7fzho-PHcEJPw=".into(),
            request_time_epoch_ms: 1_583_348_638_390,
            route_key: "POST /pets".into(),
            stage: "beta".into(),
            source_ip: "192.0.2.1".into(),
            user_agent: Some("agent \"quoted\"\\".into()),
            ..Default::default()
        }
    }

    /// The JSON format the HTTP API console proposes (http-api-logging).
    const CONSOLE_JSON: &str = r#"{ "requestId":"$context.requestId", "ip": "$context.identity.sourceIp", "requestTime":"$context.requestTime", "httpMethod":"$context.httpMethod","routeKey":"$context.routeKey", "status":"$context.status","protocol":"$context.protocol", "responseLength":"$context.responseLength" }"#;

    #[test]
    fn console_json_format_renders_valid_json() {
        let f = AccessLogFormat::parse(CONSOLE_JSON);
        let mut c = ctx();
        c.record_response(201, 17, 5);
        let line = f.render(&c);
        assert_eq!(
            line,
            r#"{ "requestId":"LV7fzho-PHcEJPw=", "ip": "192.0.2.1", "requestTime":"04/Mar/2020:19:03:58 +0000", "httpMethod":"POST","routeKey":"POST /pets", "status":"201","protocol":"HTTP/1.1", "responseLength":"17" }"#
        );
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["status"], "201");
    }

    #[test]
    fn missing_values_render_as_dash() {
        let f = AccessLogFormat::parse(
            "$context.requestId $context.status $context.integrationErrorMessage $context.authorizer.claims.sub $context.noSuchVar",
        );
        assert_eq!(f.render(&ctx()), "LV7fzho-PHcEJPw= - - - -");
    }

    #[test]
    fn clf_format() {
        let f = AccessLogFormat::parse(
            r#"$context.identity.sourceIp - - [$context.requestTime] "$context.httpMethod $context.routeKey $context.protocol" $context.status $context.responseLength $context.requestId"#,
        );
        let mut c = ctx();
        c.record_response(200, 2, 1);
        assert_eq!(
            f.render(&c),
            r#"192.0.2.1 - - [04/Mar/2020:19:03:58 +0000] "POST POST /pets HTTP/1.1" 200 2 LV7fzho-PHcEJPw="#
        );
    }

    #[test]
    fn json_escaping_keeps_lines_valid() {
        let f = AccessLogFormat::parse(
            r#"{"ua":"$context.identity.userAgent","err":$context.error.messageString,"ierr":"$context.integrationErrorMessage","lat":$context.integrationLatency}"#,
        );
        let mut c = ctx();
        c.record_error("bad \"thing\"\nhappened", "INTEGRATION_FAILURE");
        c.record_integration(IntegrationOutcome {
            error_message: Some("tab\there".into()),
            latency_ms: Some(7),
            ..Default::default()
        });
        let line = f.render(&c);
        assert!(!line.contains('\n'));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["ua"], "agent \"quoted\"\\");
        assert_eq!(v["err"], "bad \"thing\"\nhappened");
        assert_eq!(v["ierr"], "tab\there");
        assert_eq!(v["lat"], 7);
    }

    #[test]
    fn token_boundaries() {
        let f = AccessLogFormat::parse("id=$context.requestId. stage=$context.stage,$context. $$context.apiId ${context.stage}");
        assert_eq!(
            f.render(&ctx()),
            "id=LV7fzho-PHcEJPw=. stage=beta,$context. $abc123 ${context.stage}"
        );
    }

    #[test]
    fn plain_text_values_are_not_json_escaped_but_stay_on_one_line() {
        let f = AccessLogFormat::parse("$context.identity.userAgent|$context.error.message");
        let mut c = ctx();
        c.record_error("a\r\nb", "X");
        assert_eq!(f.render(&c), "agent \"quoted\"\\|a\\r\\nb");
    }
}
