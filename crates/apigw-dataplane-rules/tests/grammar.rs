//! One grammar for parameter mappings: a property test that whatever the control plane's
//! validation (`apigw_model::mapping`) accepts compiles in the data plane and evaluates against
//! arbitrary requests without an error the gateway would answer with a 5xx, and whatever it
//! refuses does not compile.
//!
//! Inputs come from a grammar-aware generator (keys and values assembled from the pieces of
//! the language, valid and invalid) and from random mutations of what it generates; `fastrand`
//! with fixed seeds keeps every run the same.

use std::collections::BTreeMap;

use apigw_dataplane_rules::mapping::{
    parse_query, CompiledRequestMapping, CompiledResponseMapping, CompiledWsRequestMapping,
    OutgoingRequest, RequestView, ResponseView, WsRequestView, WsTarget,
};
use apigw_dataplane_rules::RequestContext;
use apigw_model::mapping as model;
use http::{HeaderMap, HeaderName, HeaderValue};

/// Maps per family; each accepted request map is evaluated against `REQUESTS` requests.
const CASES: usize = 20_000;
const REQUESTS: usize = 3;

struct Gen {
    rng: fastrand::Rng,
    /// While set, only pieces of the language are used (and no mutations), so that whole
    /// maps are often valid; otherwise invalid pieces and mutations are mixed in.
    valid_only: bool,
    /// The value language valid-only generation writes.
    side: model::Side,
}

impl Gen {
    fn new(seed: u64) -> Gen {
        Gen {
            rng: fastrand::Rng::with_seed(seed),
            valid_only: false,
            side: model::Side::Request,
        }
    }

    /// Starts a map: half of them from valid pieces only.
    fn start(&mut self, side: model::Side) {
        self.valid_only = self.chance(50);
        self.side = side;
    }

    /// A good piece, or now and then (never while `valid_only`) a bad one.
    fn either<'a>(&mut self, good: &[&'a str], bad: &[&'a str]) -> &'a str {
        if self.valid_only || self.chance(75) {
            self.pick(good)
        } else {
            self.pick(bad)
        }
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.rng.usize(..items.len())]
    }

    fn chance(&mut self, percent: u8) -> bool {
        self.rng.u8(..100) < percent
    }

    /// Header, query and path-parameter names: tokens, and what a token cannot hold.
    fn name(&mut self) -> String {
        self.either(
            &[
                "a",
                "id",
                "header1",
                "x-api-key",
                "Auth",
                "a.b",
                "a_b",
                "a$b",
            ],
            &["", "a b", "a@b", "é", "q[0]", "'q'", "*", "a}b", "a:b"],
        )
        .to_owned()
    }

    /// Context and stage-variable names.
    fn variable(&mut self) -> String {
        self.either(
            &[
                "requestId",
                "stage",
                "apiId",
                "authorizer.claims.sub",
                "identity.sourceIp",
                "env",
                "a..b",
            ],
            &["bad-char", "a b", "", "a$"],
        )
        .to_owned()
    }

    /// The part after `body`: mostly the subset, sometimes what lies outside it.
    fn json_path(&mut self) -> String {
        let mut out = String::new();
        for _ in 0..self.rng.usize(0..4) {
            let step = if self.valid_only || self.chance(75) {
                self.pick(&[
                    ".a",
                    ".b",
                    ".user-name",
                    ".items",
                    "[0]",
                    "[-1]",
                    "[ 1 ]",
                    "['x y']",
                    "[\"k\"]",
                    "['a]b']",
                ])
            } else {
                self.pick(&[
                    "[*]", "..a", ".*", "[?(@.x)]", "[0:1]", "[0,1]", "[", ".", "[+1]", "['a]",
                    ".a b", "]", "[]",
                ])
            };
            out.push_str(step);
        }
        out
    }

    /// A variable of the `$` language, without `$` or braces.
    fn source(&mut self) -> String {
        if self.valid_only {
            return match (self.side, self.rng.u8(..6)) {
                (model::Side::Request, 0) => format!("request.header.{}", self.name()),
                (model::Side::Request, 1) => format!("request.querystring.{}", self.name()),
                (model::Side::Request, 2) => "request.path".into(),
                (model::Side::Request, 3) => format!("request.path.{}", self.name()),
                (model::Side::Request, _) => format!("request.body{}", self.json_path()),
                (model::Side::Response, 0 | 1) => format!("response.header.{}", self.name()),
                (model::Side::Response, 2 | 3) => format!("response.body{}", self.json_path()),
                (_, 4) => format!("context.{}", self.variable()),
                _ => format!("stageVariables.{}", self.variable()),
            };
        }
        match self.rng.u8(..14) {
            0 => format!("request.header.{}", self.name()),
            1 => format!("request.querystring.{}", self.name()),
            2 => "request.path".into(),
            3 => format!("request.path.{}", self.name()),
            4 | 5 => format!("request.body{}", self.json_path()),
            6 => format!("response.header.{}", self.name()),
            7 => format!("response.body{}", self.json_path()),
            8 => format!("context.{}", self.variable()),
            9 => format!("stageVariables.{}", self.variable()),
            10 => format!("request.multivalueheader.{}", self.name()),
            11 => self
                .pick(&["request.nope.y", "unknown.thing", "request", "context", ""])
                .into(),
            12 => format!("integration.response.header.{}", self.name()),
            _ => format!("route.request.body{}", self.json_path()),
        }
    }

    /// A `$`-template: text, bare and braced variables, escapes.
    fn template(&mut self) -> String {
        let mut out = String::new();
        let parts = self.rng.usize(usize::from(self.valid_only)..4);
        for _ in 0..parts {
            let kind = self.rng.u8(..if self.valid_only { 9 } else { 10 });
            match kind {
                0..=2 => out.push_str(self.pick(&[
                    "plain", " ", "-", "/", ".", "v2", "é", "\\$", "\\", "$", "{", "}", "[", "]",
                    "'", "%41", "?", "#", "\u{7}", "403",
                ])),
                3..=5 => {
                    out.push('$');
                    let s = self.source();
                    out.push_str(&s);
                }
                6..=8 => {
                    out.push_str("${");
                    let s = self.source();
                    out.push_str(&s);
                    out.push('}');
                }
                _ => {
                    out.push_str("${");
                    let s = self.source();
                    out.push_str(&s);
                }
            }
        }
        out
    }

    /// A WebSocket source: `route.request.*`, `context.*`, `stageVariables.*`, `'static'`.
    fn ws_value(&mut self) -> String {
        match self.rng.u8(..if self.valid_only { 6 } else { 8 }) {
            0 | 1 => format!(
                "route.request.{}.{}",
                self.either(
                    &[
                        "header",
                        "querystring",
                        "multivalueheader",
                        "multivaluequerystring",
                    ],
                    &["path", "cookie"],
                ),
                self.name()
            ),
            2 => format!("route.request.body{}", self.json_path()),
            3 => format!("context.{}", self.variable()),
            4 => format!("stageVariables.{}", self.variable()),
            5 => format!("'{}'", self.template()),
            6 => {
                let s = self.source();
                format!("${s}")
            }
            _ => self
                .pick(&["'", "unquoted", "''", "route.request.body"])
                .into(),
        }
    }

    /// 1–3 random edits: the near misses a grammar-aware generator does not write.
    fn mutate(&mut self, s: &str) -> String {
        let mut chars: Vec<char> = s.chars().collect();
        for _ in 0..self.rng.usize(1..4) {
            let at = self.rng.usize(..=chars.len());
            match self.rng.u8(..4) {
                0 if at < chars.len() => {
                    chars.remove(at);
                }
                1 => {
                    let c = self.pick(&[
                        "$", "\\", "{", "}", "[", "]", "'", ".", "@", "*", "?", "(", " ", "-", ":",
                        "é",
                    ]);
                    chars.insert(at, c.chars().next().unwrap_or('$'));
                }
                2 if at < chars.len() => {
                    let end = self.rng.usize(at..=chars.len());
                    let dup: Vec<char> = chars[at..end].to_vec();
                    for (i, c) in dup.into_iter().enumerate() {
                        chars.insert(end + i, c);
                    }
                }
                _ => chars.truncate(at),
            }
        }
        chars.into_iter().collect()
    }

    fn maybe_mutate(&mut self, s: String) -> String {
        if !self.valid_only && self.chance(25) {
            self.mutate(&s)
        } else {
            s
        }
    }

    fn request_key(&mut self) -> String {
        if self.valid_only {
            return if self.chance(15) {
                "overwrite:path".to_owned()
            } else {
                format!(
                    "{}:{}.{}",
                    self.pick(&["append", "overwrite", "remove"]),
                    self.pick(&["header", "querystring"]),
                    self.name()
                )
            };
        }
        let key = match self.rng.u8(..8) {
            0 => "overwrite:path".to_owned(),
            1 => format!(
                "{}:header.{}",
                self.pick(&["append", "overwrite", "remove"]),
                self.pick(&[
                    "Authorization",
                    "x-amz-date",
                    "Host",
                    "Content-Length",
                    "apigw-x",
                    "Via"
                ])
            ),
            2 => format!(
                "{}:{}",
                self.pick(&["put", "", "append", "remove"]),
                self.pick(&["path", "body", "header.", "statuscode", "querystring."])
            ),
            _ => format!(
                "{}:{}.{}",
                self.pick(&["append", "overwrite", "remove"]),
                self.pick(&["header", "querystring"]),
                self.name()
            ),
        };
        self.maybe_mutate(key)
    }

    fn response_key(&mut self) -> String {
        if self.valid_only {
            return if self.chance(20) {
                "overwrite:statuscode".to_owned()
            } else {
                format!(
                    "{}:header.{}",
                    self.pick(&["append", "overwrite", "remove"]),
                    self.name()
                )
            };
        }
        let key = match self.rng.u8(..6) {
            0 => self
                .pick(&[
                    "overwrite:statuscode",
                    "overwrite.statuscode",
                    "append:statuscode",
                ])
                .to_owned(),
            1 => self
                .pick(&[
                    "append:querystring.x",
                    "overwrite:path",
                    "overwrite:header.Content-Length",
                ])
                .to_owned(),
            _ => format!(
                "{}:header.{}",
                self.pick(&["append", "overwrite", "remove"]),
                self.name()
            ),
        };
        self.maybe_mutate(key)
    }

    fn status_value(&mut self) -> String {
        if self.chance(50) {
            self.either(
                &["403", "200", "599", "100"],
                &["700", "99", "abc", "+403", "$ 403", "\\$403", "4O3"],
            )
            .to_owned()
        } else {
            let t = self.template();
            self.maybe_mutate(t)
        }
    }

    fn ws_key(&mut self) -> String {
        let key = format!(
            "integration.request.{}.{}",
            self.either(&["header", "header", "querystring", "path"], &["body", ""]),
            self.either(
                &["a", "connectionId", "X-Static", "a$b", "x-y", "a.b"],
                &["", "a b", "é"],
            )
        );
        if !self.valid_only && self.chance(10) {
            return self
                .pick(&["append:header.x", "method.request.header.x"])
                .to_owned();
        }
        self.maybe_mutate(key)
    }

    fn value(&mut self) -> String {
        let t = self.template();
        self.maybe_mutate(t)
    }
}

/// One random client request the mappings are evaluated against.
struct Request {
    headers: HeaderMap,
    raw_query: Option<String>,
    body: Option<Vec<u8>>,
    path_params: Vec<(String, String)>,
    stage_vars: BTreeMap<String, String>,
    context: RequestContext,
}

impl Request {
    fn random(g: &mut Gen) -> Request {
        let mut headers = HeaderMap::new();
        for _ in 0..g.rng.usize(0..4) {
            let name = g.pick(&["a", "id", "header1", "x-api-key", "auth", "a.b"]);
            let value = g.pick(&["v", "", "a,b", "é", "  sp  ", "\u{80}"]);
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_bytes(value.as_bytes()),
            ) {
                headers.append(n, v);
            }
        }
        // Queries as a client could send them (characters a request line can carry).
        let raw_query = g
            .chance(70)
            .then(|| {
                g.pick(&[
                    "",
                    "a=1",
                    "a=%ZZ&%E2=x&&=",
                    "id=7&id=8",
                    "q=a+b&x=%C3%A9",
                    "a",
                ])
            })
            .map(str::to_owned);
        let body = match g.rng.u8(..5) {
            0 => None,
            1 => Some(b"plain text".to_vec()),
            2 => Some(vec![0xff, 0xfe, b'{']),
            _ => Some(
                br#"{"a":{"b":"deep","x y":1},"items":[1,{"k":"v"},"s\n"],"user-name":"u","b":null,"k":"\u0007"}"#
                    .to_vec(),
            ),
        };
        let path_params = vec![
            (
                "id".to_owned(),
                g.pick(&["7", "a b?c", "../x", "é", "%", "", "a/b", "\n"])
                    .to_owned(),
            ),
            ("a".to_owned(), "x".to_owned()),
        ];
        let mut stage_vars = BTreeMap::new();
        stage_vars.insert(
            "env".to_owned(),
            g.pick(&["prod", "a\nb", "é", ""]).to_owned(),
        );
        let mut context = RequestContext {
            request_id: "LV7fzho-PHcEJPw=".into(),
            api_id: "abc123".into(),
            stage: "$default".into(),
            ..Default::default()
        };
        context
            .authorizer
            .insert("claims.sub".into(), "user\r\n1".into());
        Request {
            headers,
            raw_query,
            body,
            path_params,
            stage_vars,
            context,
        }
    }

    fn view(&self) -> RequestView<'_> {
        RequestView {
            method: "GET",
            path: "/pets/7",
            path_parameters: &self.path_params,
            raw_query: self.raw_query.as_deref(),
            headers: &self.headers,
            body: self.body.as_deref(),
            context: &self.context,
            stage_variables: &self.stage_vars,
        }
    }
}

fn entries(
    g: &mut Gen,
    mut entry: impl FnMut(&mut Gen) -> (String, String),
) -> BTreeMap<String, String> {
    (0..g.rng.usize(1..4)).map(|_| entry(g)).collect()
}

/// Counts accepted and refused maps so the generator is seen to exercise both sides.
#[derive(Default)]
struct Tally {
    accepted: usize,
    refused: usize,
}

impl Tally {
    fn add(&mut self, ok: bool) {
        if ok {
            self.accepted += 1;
        } else {
            self.refused += 1;
        }
    }

    fn check(&self, what: &str) {
        let total = self.accepted + self.refused;
        eprintln!(
            "{what}: {} accepted, {} refused",
            self.accepted, self.refused
        );
        assert!(
            self.accepted * 5 > total && self.refused * 5 > total,
            "{what}: {} accepted, {} refused — the generator leans too far one way",
            self.accepted,
            self.refused
        );
    }
}

#[test]
fn http_request_mappings_compile_exactly_when_the_control_plane_accepts_them() {
    let mut g = Gen::new(0x5eed_0001);
    let mut tally = Tally::default();
    for _ in 0..CASES {
        g.start(model::Side::Request);
        let params = entries(&mut g, |g| (g.request_key(), g.value()));
        let accepted = model::validate_http_request_parameters(&params).is_ok();
        let compiled = CompiledRequestMapping::compile(&params);
        assert_eq!(
            accepted,
            compiled.is_ok(),
            "{params:?}: control plane {accepted}, data plane {compiled:?}"
        );
        tally.add(accepted);
        let Ok(mapping) = compiled else { continue };
        for _ in 0..REQUESTS {
            let req = Request::random(&mut g);
            let changes = mapping.evaluate(&req.view());
            // What the proxy does with the changes must give a request line `http` accepts.
            let mut headers = req.headers.clone();
            changes.apply_headers(&mut headers);
            let raw = req.raw_query.clone().unwrap_or_default();
            let query = if changes.query.is_empty() {
                raw.clone()
            } else {
                changes.apply_to_raw_query(&raw)
            };
            let mut target = changes.path.clone().unwrap_or_else(|| "/pets/7".into());
            assert!(target.starts_with('/'), "{params:?}: path {target}");
            if !query.is_empty() {
                target.push('?');
                target.push_str(&query);
            }
            assert!(
                http::Uri::try_from(target.as_str()).is_ok(),
                "{params:?}: backend target {target:?} is not a valid URI"
            );
            let mut out = OutgoingRequest {
                path: "/pets/7".into(),
                query: parse_query(&raw),
                headers: req.headers.clone(),
            };
            mapping.apply(&req.view(), &mut out);
        }
    }
    tally.check("request mappings");
}

#[test]
fn http_response_mappings_compile_exactly_when_the_control_plane_accepts_them() {
    let mut g = Gen::new(0x5eed_0002);
    let mut tally = Tally::default();
    for _ in 0..CASES {
        g.start(model::Side::Response);
        let mut params = BTreeMap::new();
        for _ in 0..g.rng.usize(1..3) {
            let code = g
                .either(
                    &["200", "404", "500", "599"],
                    &["600", "199", "abc", "20", "2000"],
                )
                .to_owned();
            let inner = entries(&mut g, |g| {
                let key = g.response_key();
                let value = if key.contains("statuscode") {
                    g.status_value()
                } else {
                    g.value()
                };
                (key, value)
            });
            params.insert(code, inner);
        }
        let accepted = model::validate_http_response_parameters(&params).is_ok();
        let compiled = CompiledResponseMapping::compile(&params);
        assert_eq!(
            accepted,
            compiled.is_ok(),
            "{params:?}: control plane {accepted}, data plane {compiled:?}"
        );
        tally.add(accepted);
        let Ok(mapping) = compiled else { continue };
        let req = Request::random(&mut g);
        for code in params.keys() {
            let status: u16 = code.parse().unwrap_or(0);
            let Some(rules) = mapping.for_status(status) else {
                panic!("{params:?}: no rules for {code}");
            };
            let view = ResponseView {
                status,
                headers: &req.headers,
                body: req.body.as_deref(),
                context: &req.context,
                stage_variables: &req.stage_vars,
            };
            let changes = rules.evaluate(&view);
            if let Some(s) = changes.status {
                assert!((100..=599).contains(&s), "{params:?}: status {s}");
            }
            let mut headers = req.headers.clone();
            changes.apply_headers(&mut headers);
        }
    }
    tally.check("response mappings");
}

#[test]
fn websocket_request_mappings_compile_exactly_when_the_control_plane_accepts_them() {
    let mut g = Gen::new(0x5eed_0003);
    let mut tally = Tally::default();
    let context = |name: &str| (name == "requestId").then(|| "id\n1".to_owned());
    for _ in 0..CASES {
        g.start(model::Side::Request);
        let params = entries(&mut g, |g| {
            let key = g.ws_key();
            let value = g.ws_value();
            let value = g.maybe_mutate(value);
            (key, value)
        });
        let accepted = model::validate_websocket_request_parameters(&params).is_ok();
        let compiled = CompiledWsRequestMapping::compile(&params);
        assert_eq!(
            accepted,
            compiled.is_ok(),
            "{params:?}: control plane {accepted}, data plane {compiled:?}"
        );
        tally.add(accepted);
        let Ok(mapping) = compiled else { continue };
        let req = Request::random(&mut g);
        let query = req
            .raw_query
            .as_deref()
            .map(parse_query)
            .unwrap_or_default();
        let body: Option<serde_json::Value> = req
            .body
            .as_deref()
            .and_then(|b| serde_json::from_slice(b).ok());
        let connect = g.chance(50);
        let view = WsRequestView {
            headers: connect.then_some(&req.headers),
            query: connect.then_some(query.as_slice()),
            body: body.as_ref(),
            context: &context,
            stage_variables: &req.stage_vars,
        };
        for (target, name, value) in mapping.evaluate(&view) {
            if target == WsTarget::Header {
                assert!(
                    HeaderName::from_bytes(name.as_bytes()).is_ok()
                        && HeaderValue::from_bytes(value.as_bytes()).is_ok(),
                    "{params:?}: header {name:?}: {value:?}"
                );
            }
        }
    }
    tally.check("WebSocket mappings");
}

/// Integration responses have no data-plane evaluator yet; their parser must still agree with
/// the validation and never panic.
#[test]
fn integration_response_parameters_parse_exactly_when_valid() {
    let mut g = Gen::new(0x5eed_0004);
    for _ in 0..CASES {
        g.start(model::Side::Request);
        let params = entries(&mut g, |g| {
            let key = format!("method.response.header.{}", g.name());
            let key = g.maybe_mutate(key);
            let value = match g.rng.u8(..4) {
                0 => format!("integration.response.header.{}", g.name()),
                1 => format!("integration.response.body{}", g.json_path()),
                _ => g.ws_value(),
            };
            (key, g.maybe_mutate(value))
        });
        assert_eq!(
            model::validate_integration_response_parameters(&params).is_ok(),
            model::parse_integration_response_parameters(&params).is_ok()
        );
    }
}
