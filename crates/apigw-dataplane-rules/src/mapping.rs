//! HTTP API parameter mapping (data-plane.md §3.1–§3.4): `requestParameters` change the request
//! sent to the integration, `responseParameters` (keyed by the integration's status code) change
//! the response sent to the client.
//!
//! Compile once per routing snapshot, evaluate per request:
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::collections::BTreeMap;
//! use apigw_dataplane_rules::mapping::{CompiledRequestMapping, OutgoingRequest, RequestView};
//! use apigw_dataplane_rules::RequestContext;
//!
//! let params: BTreeMap<String, String> = [
//!     ("append:header.header2", "$request.header.header1"),
//!     ("remove:header.header1", "''"),
//!     ("overwrite:querystring.id", "${request.path.id}-v2"),
//!     ("overwrite:path", "/items/$request.path.id"),
//! ]
//! .into_iter()
//! .map(|(k, v)| (k.to_string(), v.to_string()))
//! .collect();
//! let mapping = CompiledRequestMapping::compile(&params).map_err(|e| e.message)?;
//!
//! let mut headers = http::HeaderMap::new();
//! headers.insert("header1", "hello".parse()?);
//! let path_params = vec![("id".to_string(), "7".to_string())];
//! let stage_variables = BTreeMap::new();
//! let context = RequestContext::default();
//! let view = RequestView {
//!     method: "GET",
//!     path: "/pets/7",
//!     path_parameters: &path_params,
//!     raw_query: Some("a=1"),
//!     headers: &headers,
//!     body: None,
//!     context: &context,
//!     stage_variables: &stage_variables,
//! };
//! // Fast path for callers that already hold the outgoing parts:
//! let mut out = OutgoingRequest {
//!     path: "/pets/7".into(),
//!     query: apigw_dataplane_rules::mapping::parse_query("a=1"),
//!     headers: headers.clone(),
//! };
//! mapping.apply(&view, &mut out);
//! assert_eq!(out.path, "/items/7");
//! assert_eq!(out.headers.get("header2").map(|v| v.as_bytes()), Some(&b"hello"[..]));
//! assert!(out.headers.get("header1").is_none());
//! assert_eq!(
//!     apigw_dataplane_rules::mapping::encode_query(&out.query),
//!     "a=1&id=7-v2"
//! );
//! # Ok(())
//! # }
//! ```
//!
//! There is no parser here: keys and values are parsed by `apigw_model::mapping` (the
//! control plane's validation) and compiled from its AST, so a mapping the control plane
//! accepted always compiles, and one it refuses never does.
//!
//! Rules (inferred ones are recorded in docs/decisions.md):
//! * every value is evaluated against the **original** request, then all actions are applied —
//!   removes first, then overwrites, then appends;
//! * a source that is absent (header, query, path parameter, JSON path, context or stage
//!   variable) evaluates to `""` and the action still happens;
//! * multi-valued headers/query parameters are joined with `,` when read;
//! * reserved headers (§3.4) cannot be mapped (the grammar refuses them); a value that is not
//!   a valid header value (control characters) skips that header action;
//! * `$request.body.<path>` reads at most the first 100 KB of the body (as AWS truncates);
//!   strings are used unquoted, `null` as `""`, objects/arrays/numbers as compact JSON.

use std::cell::OnceCell;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

use http::{HeaderMap, HeaderName, HeaderValue};
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;

use apigw_model::mapping::jsonpath::{self, Step};
use apigw_model::mapping::{expr, ParamError, RequestTarget, ResponseTarget};

use crate::context::RequestContext;

mod ws;
pub use ws::{CompiledWsRequestMapping, WsRequestView, WsTarget};

/// AWS truncates the body at 100 KB before applying a JSON path.
const BODY_JSONPATH_LIMIT: usize = 100 * 1024;

/// A mapping key or value that cannot be evaluated (the control plane normally rejects these).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingError {
    pub key: String,
    pub message: String,
}

impl fmt::Display for MappingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

impl std::error::Error for MappingError {}

/// Name → value lookups for path parameters and stage variables, whatever map the caller keeps.
pub trait Lookup {
    fn lookup(&self, name: &str) -> Option<&str>;
}

impl Lookup for BTreeMap<String, String> {
    fn lookup(&self, name: &str) -> Option<&str> {
        self.get(name).map(String::as_str)
    }
}

impl<S: std::hash::BuildHasher> Lookup for HashMap<String, String, S> {
    fn lookup(&self, name: &str) -> Option<&str> {
        self.get(name).map(String::as_str)
    }
}

impl Lookup for [(String, String)] {
    fn lookup(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Lookup for Vec<(String, String)> {
    fn lookup(&self, name: &str) -> Option<&str> {
        self.as_slice().lookup(name)
    }
}

impl<'a> Lookup for [(&'a str, &'a str)] {
    fn lookup(&self, name: &str) -> Option<&str> {
        self.iter().find(|(k, _)| *k == name).map(|(_, v)| *v)
    }
}

impl<'a> Lookup for Vec<(&'a str, &'a str)> {
    fn lookup(&self, name: &str) -> Option<&str> {
        self.as_slice().lookup(name)
    }
}

/// A read-only view of the client's request, as the route matched it.
pub struct RequestView<'a> {
    pub method: &'a str,
    /// `$request.path`: the request path without the stage segment, as received.
    pub path: &'a str,
    /// Matched path parameters (`id` → `7`; greedy `proxy` → `a/b`), decoded.
    pub path_parameters: &'a dyn Lookup,
    /// The query string as received, without `?`.
    pub raw_query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    /// The body, when buffered; `None` makes `$request.body*` sources evaluate to `""`.
    /// Only needed when [`CompiledRequestMapping::needs_body`] says so.
    pub body: Option<&'a [u8]>,
    pub context: &'a RequestContext,
    pub stage_variables: &'a dyn Lookup,
}

/// A read-only view of the integration's response.
pub struct ResponseView<'a> {
    /// The integration's status code.
    pub status: u16,
    pub headers: &'a HeaderMap,
    /// The body, when buffered (only needed when [`CompiledResponseRules::needs_body`]).
    pub body: Option<&'a [u8]>,
    pub context: &'a RequestContext,
    pub stage_variables: &'a dyn Lookup,
}

/// The parts of the integration request a mapping may change.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OutgoingRequest {
    pub path: String,
    /// Decoded name/value pairs in order; see [`parse_query`] / [`encode_query`].
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
}

/// How a mapping changes its target (the model's, so both planes read one grammar).
pub use apigw_model::mapping::Action;

/// A variable of a value, compiled: header names interned, JSON paths parsed.
#[derive(Debug, Clone, PartialEq)]
enum Source {
    RequestHeader(HeaderName),
    RequestQuery(String),
    RequestBody(Vec<Step>),
    RequestPath,
    RequestPathParameter(String),
    ResponseHeader(HeaderName),
    ResponseBody(Vec<Step>),
    Context(String),
    StageVariable(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Var(Source),
}

/// A value compiled from the model's [`expr::Template`].
#[derive(Debug, Clone, Default, PartialEq)]
struct Template {
    parts: Vec<Part>,
}

impl Template {
    /// From the AST the control plane validated with; only a header name `http` cannot hold
    /// (which the grammar already refuses) fails here.
    fn compile(t: &expr::Template) -> Option<Template> {
        let parts = t
            .parts
            .iter()
            .map(|p| {
                Some(match p {
                    expr::Part::Text(s) => Part::Text(s.clone()),
                    expr::Part::Var(src) => Part::Var(match src {
                        expr::Source::RequestHeader(n) => Source::RequestHeader(header_name(n)?),
                        expr::Source::RequestQuery(n) => Source::RequestQuery(n.clone()),
                        expr::Source::RequestBody(s) => Source::RequestBody(s.clone()),
                        expr::Source::RequestPath => Source::RequestPath,
                        expr::Source::RequestPathParameter(n) => {
                            Source::RequestPathParameter(n.clone())
                        }
                        expr::Source::ResponseHeader(n) => Source::ResponseHeader(header_name(n)?),
                        expr::Source::ResponseBody(s) => Source::ResponseBody(s.clone()),
                        expr::Source::Context(n) => Source::Context(n.clone()),
                        expr::Source::StageVariable(n) => Source::StageVariable(n.clone()),
                    }),
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Template { parts })
    }

    fn uses_body(&self) -> bool {
        self.parts.iter().any(|p| {
            matches!(
                p,
                Part::Var(Source::RequestBody(_) | Source::ResponseBody(_))
            )
        })
    }
}

fn header_name(name: &str) -> Option<HeaderName> {
    // `'static` bytes: requests clone these names out of the shared snapshot.
    HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes())
        .ok()
        .map(|n| crate::interned::name(&n))
}

/// The first of the model's errors, as the snapshot reports an unusable integration.
fn first_error(errors: Vec<ParamError>) -> MappingError {
    errors
        .into_iter()
        .next()
        .map(|e| MappingError {
            key: e.key,
            message: e.message,
        })
        .unwrap_or_else(|| MappingError {
            key: String::new(),
            message: "invalid parameter mapping".into(),
        })
}

fn unsendable(key: &str) -> MappingError {
    MappingError {
        key: key.to_owned(),
        message: format!("Invalid mapping key specified: {key}"),
    }
}

/// Values of a header joined with `,` (as AWS combines them); `""` when absent.
fn joined_header(headers: &HeaderMap, name: &HeaderName) -> String {
    let mut out = String::new();
    for (i, v) in headers.get_all(name).iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&String::from_utf8_lossy(v.as_bytes()));
    }
    out
}

/// Lazily parsed JSON body, shared by every body source of one evaluation.
struct Body<'a> {
    bytes: Option<&'a [u8]>,
    json: OnceCell<Option<Value>>,
}

impl<'a> Body<'a> {
    fn new(bytes: Option<&'a [u8]>) -> Self {
        Body {
            bytes,
            json: OnceCell::new(),
        }
    }

    fn select(&self, steps: &[Step]) -> String {
        let Some(bytes) = self.bytes else {
            return String::new();
        };
        if steps.is_empty() {
            return String::from_utf8_lossy(bytes).into_owned();
        }
        let json = self.json.get_or_init(|| {
            let cut = &bytes[..bytes.len().min(BODY_JSONPATH_LIMIT)];
            serde_json::from_slice(cut).ok()
        });
        json.as_ref()
            .and_then(|v| jsonpath::select(v, steps))
            .map(jsonpath::stringify)
            .unwrap_or_default()
    }
}

struct RequestScope<'v, 'a> {
    view: &'v RequestView<'a>,
    body: Body<'a>,
    query: OnceCell<Vec<(String, String)>>,
}

impl RequestScope<'_, '_> {
    fn eval(&self, t: &Template) -> String {
        let mut out = String::new();
        for part in &t.parts {
            match part {
                Part::Text(s) => out.push_str(s),
                Part::Var(src) => self.source(src, &mut out),
            }
        }
        out
    }

    fn source(&self, src: &Source, out: &mut String) {
        let v = self.view;
        match src {
            Source::RequestHeader(n) => out.push_str(&joined_header(v.headers, n)),
            Source::RequestQuery(n) => {
                let q = self
                    .query
                    .get_or_init(|| v.raw_query.map(parse_query).unwrap_or_default());
                let mut first = true;
                for (_, val) in q.iter().filter(|(k, _)| k == n) {
                    if !first {
                        out.push(',');
                    }
                    first = false;
                    out.push_str(val);
                }
            }
            Source::RequestBody(steps) => out.push_str(&self.body.select(steps)),
            Source::RequestPath => out.push_str(v.path),
            Source::RequestPathParameter(n) => {
                out.push_str(v.path_parameters.lookup(n).unwrap_or(""))
            }
            Source::Context(n) => {
                if let Some(val) = v.context.get(n) {
                    out.push_str(&val);
                }
            }
            Source::StageVariable(n) => out.push_str(v.stage_variables.lookup(n).unwrap_or("")),
            Source::ResponseHeader(_) | Source::ResponseBody(_) => {}
        }
    }
}

struct ResponseScope<'v, 'a> {
    view: &'v ResponseView<'a>,
    body: Body<'a>,
}

impl ResponseScope<'_, '_> {
    fn eval(&self, t: &Template) -> String {
        let mut out = String::new();
        let v = self.view;
        for part in &t.parts {
            match part {
                Part::Text(s) => out.push_str(s),
                Part::Var(Source::ResponseHeader(n)) => out.push_str(&joined_header(v.headers, n)),
                Part::Var(Source::ResponseBody(steps)) => out.push_str(&self.body.select(steps)),
                Part::Var(Source::Context(n)) => {
                    if let Some(val) = v.context.get(n) {
                        out.push_str(&val);
                    }
                }
                Part::Var(Source::StageVariable(n)) => {
                    out.push_str(v.stage_variables.lookup(n).unwrap_or(""))
                }
                Part::Var(_) => {}
            }
        }
        out
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Target {
    Header(HeaderName),
    Query(String),
    Path,
}

#[derive(Debug, Clone, PartialEq)]
struct RequestRule {
    action: Action,
    target: Target,
    value: Template,
}

/// An integration's `requestParameters`, compiled.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CompiledRequestMapping {
    rules: Vec<RequestRule>,
    needs_body: bool,
}

/// One header or query change, with its value already evaluated.
#[derive(Debug, Clone, PartialEq)]
pub struct Change<N> {
    pub action: Action,
    pub name: N,
    pub value: String,
}

/// The evaluated effect of a request mapping on one request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestChanges {
    pub headers: Vec<Change<HeaderName>>,
    pub query: Vec<Change<String>>,
    /// New path (always starting with `/`) from `overwrite:path`.
    pub path: Option<String>,
}

impl CompiledRequestMapping {
    /// Compiles an HTTP API integration's `requestParameters` (integrations without a subtype)
    /// from the model's AST: exactly what the control plane accepts compiles.
    pub fn compile(params: &BTreeMap<String, String>) -> Result<Self, MappingError> {
        let parsed =
            apigw_model::mapping::parse_http_request_parameters(params).map_err(first_error)?;
        let mut rules = Vec::with_capacity(parsed.len());
        for p in parsed {
            let target = match &p.target {
                RequestTarget::Header(n) => {
                    Target::Header(header_name(n).ok_or_else(|| unsendable(&p.key))?)
                }
                RequestTarget::QueryString(n) => Target::Query(n.clone()),
                RequestTarget::Path => Target::Path,
            };
            let value = Template::compile(&p.value).ok_or_else(|| unsendable(&p.key))?;
            rules.push(RequestRule {
                action: p.action,
                target,
                value,
            });
        }
        // Removes, then overwrites, then appends; key order within each.
        rules.sort_by_key(|r| r.action);
        let needs_body = rules.iter().any(|r| r.value.uses_body());
        Ok(CompiledRequestMapping { rules, needs_body })
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether some value reads `$request.body*` (the caller must then buffer the body).
    pub fn needs_body(&self) -> bool {
        self.needs_body
    }

    /// Whether some rule changes the query string (otherwise forward the raw query unchanged).
    pub fn touches_query(&self) -> bool {
        self.rules
            .iter()
            .any(|r| matches!(r.target, Target::Query(_)))
    }

    /// Whether some rule changes headers.
    pub fn touches_headers(&self) -> bool {
        self.rules
            .iter()
            .any(|r| matches!(r.target, Target::Header(_)))
    }

    /// Whether the mapping has `overwrite:path`.
    pub fn touches_path(&self) -> bool {
        self.rules.iter().any(|r| r.target == Target::Path)
    }

    /// Evaluates every value against the original request.
    pub fn evaluate(&self, view: &RequestView<'_>) -> RequestChanges {
        let scope = RequestScope {
            view,
            body: Body::new(view.body),
            query: OnceCell::new(),
        };
        let mut changes = RequestChanges::default();
        for rule in &self.rules {
            let value = scope.eval(&rule.value);
            match &rule.target {
                Target::Header(n) => changes.headers.push(Change {
                    action: rule.action,
                    name: n.clone(),
                    value,
                }),
                Target::Query(n) => changes.query.push(Change {
                    action: rule.action,
                    name: n.clone(),
                    value,
                }),
                Target::Path => {
                    changes.path = Some(if value.starts_with('/') {
                        encode_path(&value)
                    } else {
                        encode_path(&format!("/{value}"))
                    })
                }
            }
        }
        changes
    }

    /// Evaluates against `view` and applies the changes to `out`.
    pub fn apply(&self, view: &RequestView<'_>, out: &mut OutgoingRequest) {
        if self.rules.is_empty() {
            return;
        }
        let changes = self.evaluate(view);
        changes.apply_headers(&mut out.headers);
        changes.apply_query(&mut out.query);
        if let Some(p) = changes.path {
            out.path = p;
        }
    }
}

fn apply_header_changes(changes: &[Change<HeaderName>], headers: &mut HeaderMap) {
    for c in changes {
        match c.action {
            Action::Remove => {
                headers.remove(&c.name);
            }
            Action::Overwrite | Action::Append => {
                // Bytes, not `from_str`: UTF-8 text is valid obs-text; only controls are not.
                let Ok(value) = HeaderValue::from_bytes(c.value.as_bytes()) else {
                    continue;
                };
                if c.action == Action::Overwrite {
                    headers.insert(c.name.clone(), value);
                } else {
                    headers.append(c.name.clone(), value);
                }
            }
        }
    }
}

impl RequestChanges {
    pub fn apply_headers(&self, headers: &mut HeaderMap) {
        apply_header_changes(&self.headers, headers);
    }

    /// The raw query string `raw` with the query changes applied, encoded as
    /// [`encode_query`] does: `encode_query(parse_query(raw))` then the changes.
    pub fn apply_to_raw_query(&self, raw: &str) -> String {
        // Appends to a query that decoding and encoding would leave as it is: append the
        // encoded pairs to the text, without decoding every pair and encoding it again.
        if self.query.iter().all(|c| c.action == Action::Append) && is_canonical_query(raw) {
            let mut out = String::with_capacity(raw.len() + 16 * self.query.len());
            out.push_str(raw);
            for c in &self.query {
                if !out.is_empty() {
                    out.push('&');
                }
                out.extend(utf8_percent_encode(&c.name, QUERY_COMPONENT));
                out.push('=');
                out.extend(utf8_percent_encode(&c.value, QUERY_COMPONENT));
            }
            return out;
        }
        let mut pairs = parse_query(raw);
        self.apply_query(&mut pairs);
        encode_query(&pairs)
    }

    /// `append` adds a pair; `overwrite` replaces the first pair of that name and drops the
    /// others (or appends when absent); `remove` drops every pair of that name.
    pub fn apply_query(&self, query: &mut Vec<(String, String)>) {
        for c in &self.query {
            match c.action {
                Action::Remove => query.retain(|(k, _)| *k != c.name),
                Action::Append => query.push((c.name.clone(), c.value.clone())),
                Action::Overwrite => match query.iter().position(|(k, _)| *k == c.name) {
                    Some(first) => {
                        query[first].1 = c.value.clone();
                        let mut i = 0;
                        query.retain(|(k, _)| {
                            let keep = i <= first || *k != c.name;
                            i += 1;
                            keep
                        });
                    }
                    None => query.push((c.name.clone(), c.value.clone())),
                },
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
struct ResponseRule {
    action: Action,
    name: HeaderName,
    value: Template,
}

/// The `responseParameters` for one integration status code, compiled.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CompiledResponseRules {
    status: Option<Template>,
    headers: Vec<ResponseRule>,
    needs_body: bool,
}

/// The evaluated effect of a response mapping.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResponseChanges {
    /// New status from `overwrite:statuscode` (only when it evaluates to 100–599).
    pub status: Option<u16>,
    pub headers: Vec<Change<HeaderName>>,
}

impl ResponseChanges {
    pub fn apply_headers(&self, headers: &mut HeaderMap) {
        apply_header_changes(&self.headers, headers);
    }
}

impl CompiledResponseRules {
    /// Whether some value reads `$response.body*` (the caller must then buffer the body).
    pub fn needs_body(&self) -> bool {
        self.needs_body
    }

    pub fn evaluate(&self, view: &ResponseView<'_>) -> ResponseChanges {
        let scope = ResponseScope {
            view,
            body: Body::new(view.body),
        };
        let status = self.status.as_ref().and_then(|t| {
            scope
                .eval(t)
                .trim()
                .parse::<u16>()
                .ok()
                .filter(|c| (100..=599).contains(c))
        });
        let headers = self
            .headers
            .iter()
            .map(|r| Change {
                action: r.action,
                name: r.name.clone(),
                value: scope.eval(&r.value),
            })
            .collect();
        ResponseChanges { status, headers }
    }
}

/// An integration's `responseParameters`, compiled: status code → rules.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CompiledResponseMapping {
    by_status: Vec<(u16, CompiledResponseRules)>,
}

impl CompiledResponseMapping {
    /// Compiles `responseParameters` from the model's AST.
    pub fn compile(
        params: &BTreeMap<String, BTreeMap<String, String>>,
    ) -> Result<Self, MappingError> {
        let parsed =
            apigw_model::mapping::parse_http_response_parameters(params).map_err(first_error)?;
        let mut by_status = Vec::with_capacity(parsed.len());
        for (status, parameters) in parsed {
            let mut rules = CompiledResponseRules::default();
            for p in parameters {
                let at = || unsendable(&format!("{status}/{}", p.key));
                let value = Template::compile(&p.value).ok_or_else(at)?;
                match &p.target {
                    ResponseTarget::StatusCode => rules.status = Some(value),
                    ResponseTarget::Header(n) => rules.headers.push(ResponseRule {
                        action: p.action,
                        name: header_name(n).ok_or_else(at)?,
                        value,
                    }),
                }
            }
            rules.headers.sort_by_key(|r| r.action);
            rules.needs_body = rules.status.as_ref().is_some_and(Template::uses_body)
                || rules.headers.iter().any(|r| r.value.uses_body());
            by_status.push((status, rules));
        }
        Ok(CompiledResponseMapping { by_status })
    }

    pub fn is_empty(&self) -> bool {
        self.by_status.is_empty()
    }

    /// The rules for the integration's status code (exact match; no ranges).
    pub fn for_status(&self, status: u16) -> Option<&CompiledResponseRules> {
        self.by_status
            .iter()
            .find(|(s, _)| *s == status)
            .map(|(_, r)| r)
    }
}

/// Splits a raw query string into decoded pairs, in order. `%XX` is decoded (invalid UTF-8
/// lossily); `+` is kept as is; `a` without `=` is `("a", "")`.
pub fn parse_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// True when `encode_query(parse_query(raw)) == raw`: no empty pairs, one `=` per pair, and
/// only characters [`encode_query`] leaves as they are.
fn is_canonical_query(raw: &str) -> bool {
    raw.is_empty()
        || raw.split('&').all(|pair| {
            pair.bytes().filter(|b| *b == b'=').count() == 1
                && pair.bytes().all(|b| {
                    b == b'=' || b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
                })
        })
}

fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// Everything but RFC 3986 unreserved characters is percent-encoded in query names/values.
const QUERY_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The inverse of [`parse_query`]: `a=1&b=x%20y`.
pub fn encode_query(pairs: &[(String, String)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.extend(utf8_percent_encode(k, QUERY_COMPONENT));
        out.push('=');
        out.extend(utf8_percent_encode(v, QUERY_COMPONENT));
    }
    out
}

/// Characters that cannot appear raw in a path; `/` and existing `%XX` escapes stay.
const PATH_UNSAFE: &AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'^')
    .add(b'|')
    .add(b'\\');

fn encode_path(p: &str) -> String {
    utf8_percent_encode(p, PATH_UNSAFE).to_string()
}

#[cfg(test)]
mod tests;
