//! WebSocket integration `requestParameters` (data-plane.md §7.6, websocket-api-data-mapping):
//! `integration.request.{header|querystring|path}.NAME` ← `route.request.*`, `context.*`,
//! `stageVariables.*` or `'static'`, compiled from the model's AST like the HTTP mappings.
//!
//! Evaluation rules [inferred where the docs are silent; recorded in docs/decisions.md]:
//! * a source without a value (a header or query parameter the request lacks, any
//!   header/query source outside `$connect`, a JSON path not found or `null`, a message that
//!   is not JSON, an unknown context or stage variable) yields nothing: the parameter is not
//!   sent, rather than sent empty;
//! * `route.request.header.X` / `.querystring.X` take the **last** value when repeated (the
//!   REST convention for single-value sources); the `multivalue…` forms join all with `,`;
//! * `route.request.body` is the message as compact JSON; a JSON path selects strings
//!   unquoted and anything else as compact JSON;
//! * a value that cannot be a header value (control characters) is not sent to a header.

use std::collections::BTreeMap;

use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use apigw_model::mapping::jsonpath::{self, Step};
use apigw_model::mapping::WsSource;
pub use apigw_model::mapping::WsTarget;

use super::{first_error, header_name, unsendable, MappingError};

/// What a WebSocket request offers to its integration's parameter mapping.
pub struct WsRequestView<'a> {
    /// The `$connect` upgrade request's headers; `None` for MESSAGE and `$disconnect`.
    pub headers: Option<&'a HeaderMap>,
    /// The `$connect` query pairs (decoded); `None` otherwise.
    pub query: Option<&'a [(String, String)]>,
    /// The message parsed as JSON, when it is JSON.
    pub body: Option<&'a Value>,
    /// `context.X.Y` → called with `"X.Y"`.
    pub context: &'a dyn Fn(&str) -> Option<String>,
    pub stage_variables: &'a BTreeMap<String, String>,
}

/// A source, compiled (header names interned).
#[derive(Debug, Clone, PartialEq)]
enum Input {
    Header(HeaderName),
    QueryString(String),
    MultiValueHeader(HeaderName),
    MultiValueQueryString(String),
    Body(Vec<Step>),
    Context(String),
    StageVariable(String),
    Static(String),
}

#[derive(Debug, Clone, PartialEq)]
struct Rule {
    target: WsTarget,
    name: String,
    source: Input,
}

/// A WebSocket integration's `requestParameters`, compiled.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CompiledWsRequestMapping {
    rules: Vec<Rule>,
}

impl CompiledWsRequestMapping {
    /// Compiles from the model's AST: exactly what the control plane accepts compiles.
    pub fn compile(params: &BTreeMap<String, String>) -> Result<Self, MappingError> {
        let parsed = apigw_model::mapping::parse_websocket_request_parameters(params)
            .map_err(first_error)?;
        let mut rules = Vec::with_capacity(parsed.len());
        for p in parsed {
            let header = |n: &str| header_name(n).ok_or_else(|| unsendable(&p.key));
            let source = match &p.source {
                WsSource::Header(n) => Input::Header(header(n)?),
                WsSource::QueryString(n) => Input::QueryString(n.clone()),
                WsSource::MultiValueHeader(n) => Input::MultiValueHeader(header(n)?),
                WsSource::MultiValueQueryString(n) => Input::MultiValueQueryString(n.clone()),
                WsSource::Body(steps) => Input::Body(steps.clone()),
                WsSource::Context(n) => Input::Context(n.clone()),
                WsSource::StageVariable(n) => Input::StageVariable(n.clone()),
                WsSource::Static(s) => Input::Static(s.clone()),
            };
            rules.push(Rule {
                target: p.target,
                name: p.name,
                source,
            });
        }
        Ok(CompiledWsRequestMapping { rules })
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether some value reads the message (the caller then parses it as JSON).
    pub fn needs_body(&self) -> bool {
        self.rules
            .iter()
            .any(|r| matches!(r.source, Input::Body(_)))
    }

    /// The parameters to send, in key order: `(target, name, value)`. Sources without a value
    /// are left out.
    pub fn evaluate(&self, view: &WsRequestView<'_>) -> Vec<(WsTarget, String, String)> {
        let mut out = Vec::with_capacity(self.rules.len());
        for rule in &self.rules {
            let Some(value) = source(&rule.source, view) else {
                continue;
            };
            if rule.target == WsTarget::Header && HeaderValue::from_bytes(value.as_bytes()).is_err()
            {
                continue;
            }
            out.push((rule.target, rule.name.clone(), value));
        }
        out
    }
}

fn joined<'v>(mut values: impl Iterator<Item = &'v [u8]>) -> Option<String> {
    let mut out = String::from_utf8_lossy(values.next()?).into_owned();
    for v in values {
        out.push(',');
        out.push_str(&String::from_utf8_lossy(v));
    }
    Some(out)
}

fn source(src: &Input, view: &WsRequestView<'_>) -> Option<String> {
    match src {
        Input::Header(n) => view
            .headers?
            .get_all(n)
            .iter()
            .next_back()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
        Input::MultiValueHeader(n) => {
            joined(view.headers?.get_all(n).iter().map(HeaderValue::as_bytes))
        }
        Input::QueryString(n) => view
            .query?
            .iter()
            .rev()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone()),
        Input::MultiValueQueryString(n) => joined(
            view.query?
                .iter()
                .filter(|(k, _)| k == n)
                .map(|(_, v)| v.as_bytes()),
        ),
        Input::Body(steps) if steps.is_empty() => view.body.map(Value::to_string),
        Input::Body(steps) => jsonpath::select(view.body?, steps)
            .filter(|v| !v.is_null())
            .map(jsonpath::stringify),
        Input::Context(n) => (view.context)(n),
        Input::StageVariable(n) => view.stage_variables.get(n).cloned(),
        Input::Static(s) => Some(s.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn context(name: &str) -> Option<String> {
        match name {
            "connectionId" => Some("L0SM9cOFvHcCIhw=".into()),
            "authorizer.principalId" => Some("me".into()),
            _ => None,
        }
    }

    #[test]
    fn connect_request_sources() {
        let m = CompiledWsRequestMapping::compile(&params(&[
            (
                "integration.request.header.connectionId",
                "context.connectionId",
            ),
            (
                "integration.request.header.principal",
                "context.authorizer.principalId",
            ),
            (
                "integration.request.header.auth",
                "route.request.header.Auth",
            ),
            (
                "integration.request.header.all",
                "route.request.multivalueheader.Auth",
            ),
            (
                "integration.request.querystring.token",
                "route.request.querystring.t",
            ),
            (
                "integration.request.querystring.tokens",
                "route.request.multivaluequerystring.t",
            ),
            ("integration.request.path.stage", "stageVariables.stage"),
            ("integration.request.header.X-Static", "'v1'"),
            (
                "integration.request.header.missing",
                "route.request.header.nope",
            ),
            ("integration.request.header.unknown", "context.nope"),
        ]))
        .unwrap();
        assert!(!m.is_empty() && !m.needs_body());
        let mut headers = HeaderMap::new();
        headers.append("auth", "a1".parse().unwrap());
        headers.append("auth", "a2".parse().unwrap());
        let query = vec![
            ("t".to_string(), "x".to_string()),
            ("o".to_string(), "y".to_string()),
            ("t".to_string(), "z".to_string()),
        ];
        let stage_variables = BTreeMap::from([("stage".to_string(), "beta".to_string())]);
        let view = WsRequestView {
            headers: Some(&headers),
            query: Some(&query),
            body: None,
            context: &context,
            stage_variables: &stage_variables,
        };
        let got = m.evaluate(&view);
        let s = |t, n: &str, v: &str| (t, n.to_string(), v.to_string());
        assert_eq!(
            got,
            vec![
                s(WsTarget::Header, "X-Static", "v1"),
                s(WsTarget::Header, "all", "a1,a2"),
                s(WsTarget::Header, "auth", "a2"),
                s(WsTarget::Header, "connectionId", "L0SM9cOFvHcCIhw="),
                s(WsTarget::Header, "principal", "me"),
                s(WsTarget::Path, "stage", "beta"),
                s(WsTarget::QueryString, "token", "z"),
                s(WsTarget::QueryString, "tokens", "x,z"),
            ]
        );

        // MESSAGE / $disconnect: no headers or query, so those parameters are not sent.
        let view = WsRequestView {
            headers: None,
            query: None,
            ..view
        };
        let names: Vec<String> = m.evaluate(&view).into_iter().map(|(_, n, _)| n).collect();
        assert_eq!(names, ["X-Static", "connectionId", "principal", "stage"]);
    }

    #[test]
    fn message_body_sources() {
        let m = CompiledWsRequestMapping::compile(&params(&[
            (
                "integration.request.querystring.action",
                "route.request.body.action",
            ),
            (
                "integration.request.header.n",
                "route.request.body.data.items[-1]",
            ),
            ("integration.request.header.obj", "route.request.body.data"),
            ("integration.request.header.nil", "route.request.body.nil"),
            ("integration.request.header.none", "route.request.body.nope"),
            ("integration.request.header.whole", "route.request.body"),
            ("integration.request.header.bad", "'a\nb'"),
        ]))
        .unwrap();
        assert!(m.needs_body());
        let body = json!({"action": "send", "data": {"items": [1, 2]}, "nil": null});
        let stage_variables = BTreeMap::new();
        let view = WsRequestView {
            headers: None,
            query: None,
            body: Some(&body),
            context: &context,
            stage_variables: &stage_variables,
        };
        let s = |t, n: &str, v: &str| (t, n.to_string(), v.to_string());
        assert_eq!(
            m.evaluate(&view),
            vec![
                s(WsTarget::Header, "n", "2"),
                s(WsTarget::Header, "obj", r#"{"items":[1,2]}"#),
                s(WsTarget::Header, "whole", &body.to_string()),
                s(WsTarget::QueryString, "action", "send"),
            ]
        );
        // Not JSON: nothing from the body.
        let view = WsRequestView { body: None, ..view };
        assert!(m.evaluate(&view).is_empty());
    }

    #[test]
    fn compiles_exactly_what_the_control_plane_accepts() {
        for (k, v) in [
            ("integration.request.header.x", "route.request.body.a[*]"),
            ("integration.request.header.x", "route.request.path.p"),
            ("integration.request.header.x", "unquoted"),
            ("integration.request.body.x", "'v'"),
            ("append:header.x", "'v'"),
        ] {
            let p = params(&[(k, v)]);
            assert!(CompiledWsRequestMapping::compile(&p).is_err(), "{k} = {v}");
            assert!(apigw_model::mapping::validate_websocket_request_parameters(&p).is_err());
        }
        assert!(CompiledWsRequestMapping::compile(&BTreeMap::new())
            .unwrap()
            .is_empty());
    }
}
