use super::*;

fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

struct Req {
    headers: HeaderMap,
    path_params: Vec<(String, String)>,
    stage_vars: BTreeMap<String, String>,
    context: RequestContext,
    raw_query: Option<String>,
    body: Option<Vec<u8>>,
    path: String,
}

impl Req {
    fn new() -> Req {
        Req {
            headers: HeaderMap::new(),
            path_params: Vec::new(),
            stage_vars: BTreeMap::new(),
            context: RequestContext {
                request_id: "LV7fzho-PHcEJPw=".into(),
                api_id: "abc123".into(),
                stage: "beta".into(),
                ..Default::default()
            },
            raw_query: None,
            body: None,
            path: "/pets/7".into(),
        }
    }

    fn header(mut self, n: &'static str, v: &str) -> Req {
        self.headers.append(n, v.parse().unwrap());
        self
    }

    fn view(&self) -> RequestView<'_> {
        RequestView {
            method: "GET",
            path: &self.path,
            path_parameters: &self.path_params,
            raw_query: self.raw_query.as_deref(),
            headers: &self.headers,
            body: self.body.as_deref(),
            context: &self.context,
            stage_variables: &self.stage_vars,
        }
    }

    /// Applies `pairs` to an outgoing request that starts as a copy of this one.
    fn run(&self, pairs: &[(&str, &str)]) -> OutgoingRequest {
        let m = CompiledRequestMapping::compile(&params(pairs)).unwrap();
        let mut out = OutgoingRequest {
            path: self.path.clone(),
            query: self
                .raw_query
                .as_deref()
                .map(parse_query)
                .unwrap_or_default(),
            headers: self.headers.clone(),
        };
        m.apply(&self.view(), &mut out);
        out
    }
}

fn values(h: &HeaderMap, n: &str) -> Vec<String> {
    h.get_all(n)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

// --- The documented examples (http-api-parameter-mapping "Examples") ---

#[test]
fn doc_example_add_a_header_with_the_request_id() {
    let out = Req::new().run(&[("append:header.header1", "$context.requestId")]);
    assert_eq!(values(&out.headers, "header1"), ["LV7fzho-PHcEJPw="]);
}

#[test]
fn doc_example_rename_a_request_header() {
    let out = Req::new().header("header1", "v1").run(&[
        ("append:header.header2", "$request.header.header1"),
        ("remove:header.header1", "''"),
    ]);
    assert_eq!(values(&out.headers, "header2"), ["v1"]);
    assert!(out.headers.get("header1").is_none());
}

#[test]
fn doc_example_change_the_response_from_an_integration() {
    let mut rp = BTreeMap::new();
    rp.insert(
        "500".to_string(),
        params(&[
            ("append:header.header1", "$context.requestId"),
            ("overwrite:statuscode", "403"),
        ]),
    );
    rp.insert(
        "404".to_string(),
        params(&[("append:header.error", "$stageVariables.environmentId")]),
    );
    let m = CompiledResponseMapping::compile(&rp).unwrap();
    let req = Req::new();
    let mut stage_vars = BTreeMap::new();
    stage_vars.insert("environmentId".to_string(), "prod-1".to_string());

    let mut headers = HeaderMap::new();
    headers.insert("content-type", "application/json".parse().unwrap());
    let view = ResponseView {
        status: 500,
        headers: &headers,
        body: None,
        context: &req.context,
        stage_variables: &stage_vars,
    };
    let changes = m.for_status(500).unwrap().evaluate(&view);
    assert_eq!(changes.status, Some(403));
    changes.apply_headers(&mut headers);
    assert_eq!(values(&headers, "header1"), ["LV7fzho-PHcEJPw="]);

    let mut headers = HeaderMap::new();
    let view = ResponseView {
        status: 404,
        headers: &HeaderMap::new(),
        body: None,
        context: &req.context,
        stage_variables: &stage_vars,
    };
    let changes = m.for_status(404).unwrap().evaluate(&view);
    assert_eq!(changes.status, None);
    changes.apply_headers(&mut headers);
    assert_eq!(values(&headers, "error"), ["prod-1"]);

    // Other statuses are untouched: exact keys, no ranges.
    assert!(m.for_status(200).is_none());
    assert!(m.for_status(501).is_none());
}

// --- Value sources (§3.2) ---

#[test]
fn multi_valued_headers_and_queries_are_comma_joined() {
    let mut r = Req::new()
        .header("header1", "value1")
        .header("header1", "value2");
    r.raw_query = Some("querystring1=Value1&other=x&querystring1=Value2".into());
    let out = r.run(&[
        ("overwrite:header.h", "$request.header.HEADER1"),
        ("overwrite:header.q", "$request.querystring.querystring1"),
        (
            "overwrite:header.q-case",
            "[$request.querystring.QueryString1]",
        ),
    ]);
    assert_eq!(values(&out.headers, "h"), ["value1,value2"]);
    assert_eq!(values(&out.headers, "q"), ["Value1,Value2"]);
    // Query names are case-sensitive.
    assert_eq!(values(&out.headers, "q-case"), ["[]"]);
}

#[test]
fn path_parameters_request_path_and_braced_mixing() {
    let mut r = Req::new();
    r.path_params = vec![
        ("name".into(), "rex".into()),
        ("id".into(), "7".into()),
        ("proxy".into(), "a/b".into()),
    ];
    let out = r.run(&[
        (
            "overwrite:header.both",
            "${request.path.name} ${request.path.id}",
        ),
        ("overwrite:header.p", "$request.path"),
        ("overwrite:header.v", "${request.path.id}-beta"),
        ("overwrite:path", "${request.path.proxy}"),
    ]);
    assert_eq!(values(&out.headers, "both"), ["rex 7"]);
    assert_eq!(values(&out.headers, "p"), ["/pets/7"]);
    assert_eq!(values(&out.headers, "v"), ["7-beta"]);
    // A path without a leading slash gets one.
    assert_eq!(out.path, "/a/b");
}

#[test]
fn overwrite_path_with_request_path_strips_the_stage() {
    // Private-integration recipe: the forwarded path carries `/beta`, `$request.path` does not.
    let r = Req::new();
    let m =
        CompiledRequestMapping::compile(&params(&[("overwrite:path", "$request.path")])).unwrap();
    let mut out = OutgoingRequest {
        path: "/beta/pets/7".into(),
        ..Default::default()
    };
    m.apply(&r.view(), &mut out);
    assert_eq!(out.path, "/pets/7");
    assert!(m.touches_path() && !m.touches_query() && !m.touches_headers());
}

#[test]
fn request_body_json_paths() {
    let mut r = Req::new();
    r.body =
        Some(br#"{"a":{"b":"deep","n":5,"arr":[{"x":1},"s"]},"version":"v2","nil":null}"#.to_vec());
    let pairs = [
        ("overwrite:header.ab", "$request.body.a.b"),
        ("overwrite:header.n", "$request.body.a.n"),
        ("overwrite:header.arr0", "$request.body.a.arr[0]"),
        ("overwrite:header.arr1", "${request.body.a.arr[1]}"),
        ("overwrite:header.ver", "${request.body.version}-beta"),
        ("overwrite:header.missing", "$request.body.nope.deeper"),
        ("overwrite:header.nil", "$request.body.nil"),
        ("overwrite:querystring.whole", "$request.body"),
    ];
    let m = CompiledRequestMapping::compile(&params(&pairs)).unwrap();
    assert!(m.needs_body());
    let out = r.run(&pairs);
    assert_eq!(values(&out.headers, "ab"), ["deep"]);
    assert_eq!(values(&out.headers, "n"), ["5"]);
    assert_eq!(values(&out.headers, "arr0"), [r#"{"x":1}"#]);
    assert_eq!(values(&out.headers, "arr1"), ["s"]);
    assert_eq!(values(&out.headers, "ver"), ["v2-beta"]);
    assert_eq!(values(&out.headers, "missing"), [""]);
    assert_eq!(values(&out.headers, "nil"), [""]);
    assert_eq!(
        out.query,
        [(
            "whole".to_string(),
            String::from_utf8(r.body.clone().unwrap()).unwrap()
        )]
    );
}

#[test]
fn body_json_path_reads_only_the_first_100kb() {
    let mut r = Req::new();
    let mut big = String::from(r#"{"pad":""#);
    big.push_str(&"x".repeat(100 * 1024));
    big.push_str(r#"","k":"v"}"#);
    r.body = Some(big.clone().into_bytes());
    let out = r.run(&[
        ("overwrite:header.k", "$request.body.k"),
        ("overwrite:header.len", "x"),
    ]);
    assert_eq!(values(&out.headers, "k"), [""]);
    // Small bodies are read.
    r.body = Some(br#"{"k":"v"}"#.to_vec());
    assert_eq!(
        values(
            &r.run(&[("overwrite:header.k", "$request.body.k")]).headers,
            "k"
        ),
        ["v"]
    );
    // Non-JSON body: JSON paths are empty, the whole body is still available.
    r.body = Some(b"plain text".to_vec());
    let out = r.run(&[
        ("overwrite:header.k", "$request.body.k"),
        ("overwrite:header.all", "$request.body"),
    ]);
    assert_eq!(values(&out.headers, "k"), [""]);
    assert_eq!(values(&out.headers, "all"), ["plain text"]);
}

#[test]
fn unbuffered_body_evaluates_empty() {
    let r = Req::new();
    let out = r.run(&[("overwrite:header.k", "$request.body.k")]);
    assert_eq!(values(&out.headers, "k"), [""]);
}

#[test]
fn context_stage_variables_static_and_escapes() {
    let mut r = Req::new();
    r.stage_vars.insert("env".into(), "prod".into());
    let out = r.run(&[
        ("overwrite:header.api", "$context.apiId/${context.stage}"),
        ("overwrite:header.env", "${stageVariables.env}"),
        ("overwrite:header.missing-var", "<$stageVariables.nope>"),
        ("overwrite:header.static", "just text"),
        ("overwrite:header.dollar", "cost \\$5 and $ alone"),
        ("overwrite:header.sentence", "id $context.requestId."),
        ("overwrite:header.unknown-ctx", "[$context.noSuchThing]"),
        (
            "overwrite:header.suffix",
            "${context.stage}-${stageVariables.env}-x",
        ),
        (
            "overwrite:header.hyphen-header",
            "$request.header.x-api-key!",
        ),
    ]);
    assert_eq!(values(&out.headers, "suffix"), ["beta-prod-x"]);
    assert_eq!(values(&out.headers, "hyphen-header"), ["!"]);
    assert_eq!(values(&out.headers, "api"), ["abc123/beta"]);
    assert_eq!(values(&out.headers, "env"), ["prod"]);
    assert_eq!(values(&out.headers, "missing-var"), ["<>"]);
    assert_eq!(values(&out.headers, "static"), ["just text"]);
    assert_eq!(values(&out.headers, "dollar"), ["cost $5 and $ alone"]);
    assert_eq!(values(&out.headers, "sentence"), ["id LV7fzho-PHcEJPw=."]);
    assert_eq!(values(&out.headers, "unknown-ctx"), ["[]"]);
}

#[test]
fn missing_header_source_still_sets_an_empty_header() {
    let out = Req::new().run(&[("append:header.copy", "$request.header.absent")]);
    assert_eq!(values(&out.headers, "copy"), [""]);
}

// --- Actions (§3.1) ---

#[test]
fn header_actions_append_overwrite_remove() {
    let r = Req::new()
        .header("a", "1")
        .header("o", "1")
        .header("o", "2")
        .header("x-remove", "bye")
        .header("keep", "k");
    let out = r.run(&[
        ("append:header.A", "2"),
        ("overwrite:header.o", "3"),
        ("overwrite:header.new", "n"),
        ("remove:header.X-Remove", "''"),
    ]);
    assert_eq!(values(&out.headers, "a"), ["1", "2"]);
    assert_eq!(values(&out.headers, "o"), ["3"]);
    assert_eq!(values(&out.headers, "new"), ["n"]);
    assert_eq!(values(&out.headers, "keep"), ["k"]);
    assert!(out.headers.get("x-remove").is_none());
}

#[test]
fn actions_on_one_name_run_remove_then_overwrite_then_append() {
    let r = Req::new().header("h", "client");
    let out = r.run(&[
        ("append:header.h", "appended"),
        ("overwrite:header.h", "over"),
    ]);
    assert_eq!(values(&out.headers, "h"), ["over", "appended"]);
    let out = r.run(&[("append:header.h", "appended"), ("remove:header.h", "''")]);
    assert_eq!(values(&out.headers, "h"), ["appended"]);
}

#[test]
fn values_see_the_original_request_not_earlier_changes() {
    let r = Req::new().header("a", "orig");
    let out = r.run(&[
        ("overwrite:header.a", "changed"),
        ("overwrite:header.b", "$request.header.a"),
    ]);
    assert_eq!(values(&out.headers, "a"), ["changed"]);
    assert_eq!(values(&out.headers, "b"), ["orig"]);
}

#[test]
fn query_actions_keep_order_and_multi_values() {
    let mut r = Req::new();
    r.raw_query = Some("a=1&o=1&r=x&o=2&b=%20sp&r=y".into());
    let out = r.run(&[
        ("append:querystring.a", "2"),
        ("overwrite:querystring.o", "3"),
        ("remove:querystring.r", "''"),
        ("overwrite:querystring.new", "v w"),
    ]);
    assert_eq!(
        out.query,
        [
            ("a".to_string(), "1".to_string()),
            ("o".to_string(), "3".to_string()),
            ("b".to_string(), " sp".to_string()),
            ("new".to_string(), "v w".to_string()),
            ("a".to_string(), "2".to_string()),
        ]
    );
    assert_eq!(encode_query(&out.query), "a=1&o=3&b=%20sp&new=v%20w&a=2");
}

#[test]
fn reserved_headers_cannot_be_mapped() {
    // The grammar refuses them, as the control plane does (§3.4); Host is not reserved.
    for key in [
        "overwrite:header.Authorization",
        "remove:header.x-amz-date",
        "append:header.Access-Control-Allow-Origin",
        "overwrite:header.apigw-requestid",
    ] {
        let e = CompiledRequestMapping::compile(&params(&[(key, "v")])).unwrap_err();
        assert!(e.message.contains("reserved header"), "{key}: {e}");
    }
    let r = Req::new();
    let out = r.run(&[("overwrite:header.Host", "h")]);
    assert_eq!(values(&out.headers, "host"), ["h"]);

    for key in [
        "overwrite:header.Content-Length",
        "overwrite:header.x-amzn-RequestId",
    ] {
        let mut rp = BTreeMap::new();
        rp.insert("200".to_string(), params(&[(key, "1")]));
        let e = CompiledResponseMapping::compile(&rp).unwrap_err();
        assert_eq!(e.key, format!("200/{key}"));
    }
}

#[test]
fn invalid_header_values_skip_the_action() {
    let r = Req::new().header("h", "keep");
    let mut bad = Req::new();
    bad.stage_vars.insert("nl".into(), "a\nb".into());
    bad.headers = r.headers.clone();
    let out = bad.run(&[("overwrite:header.h", "$stageVariables.nl")]);
    assert_eq!(values(&out.headers, "h"), ["keep"]);
}

#[test]
fn utf8_values_are_sent_as_bytes() {
    let mut r = Req::new();
    r.path_params = vec![("name".into(), "café ✓".into())];
    let out = r.run(&[("overwrite:header.n", "$request.path.name")]);
    assert_eq!(
        out.headers.get("n").unwrap().as_bytes(),
        "café ✓".as_bytes()
    );
}

#[test]
fn path_values_are_percent_encoded_where_needed() {
    let mut r = Req::new();
    r.path_params = vec![("name".into(), "a b?c".into())];
    let out = r.run(&[("overwrite:path", "/x/$request.path.name/%41")]);
    assert_eq!(out.path, "/x/a%20b%3Fc/%41");
}

#[test]
fn empty_mapping_is_a_no_op() {
    let m = CompiledRequestMapping::compile(&BTreeMap::new()).unwrap();
    assert!(m.is_empty() && !m.needs_body());
    let r = Req::new().header("a", "1");
    let mut out = OutgoingRequest {
        path: "/p".into(),
        query: vec![("q".into(), "1".into())],
        headers: r.headers.clone(),
    };
    let before = out.clone();
    m.apply(&r.view(), &mut out);
    assert_eq!(out, before);
}

// --- Compile errors ---

#[test]
fn bad_keys_and_sources_are_compile_errors() {
    for (k, v) in [
        ("put:header.x", "a"),
        ("append:path", "a"),
        ("remove:path", ""),
        ("overwrite:body", "a"),
        ("append:querystring.", "a"),
        ("append:header.x", "$request.nope.y"),
        ("append:header.x", "$response.header.y"),
        ("append:header.x", "$request.body..a"),
        ("append:header.x", "$request.body.a[?(@.b)]"),
        // Accepted by the control plane's old grammar, failing here: now refused by both.
        ("append:header.x", "$request.body.a[*]"),
        ("append:header.x", "${request.body.a.}"),
        ("append:header.x", "${request.header.a b}"),
        ("append:header.x", "$request.header.a@b"),
        ("append:header.x", "$context.bad-char"),
        ("append:header.x", "${request.header.x"),
        ("append:header.x", "$request.multivalueheader.x"),
        ("append:header.x", "$context."),
    ] {
        let e = CompiledRequestMapping::compile(&params(&[(k, v)]));
        assert!(e.is_err(), "{k} = {v} compiled");
    }
    // `remove:` values are ignored, whatever they are.
    assert!(CompiledRequestMapping::compile(&params(&[("remove:header.x", "$junk.")])).is_ok());

    let mut rp = BTreeMap::new();
    rp.insert(
        "600".to_string(),
        params(&[("overwrite:statuscode", "403")]),
    );
    assert!(CompiledResponseMapping::compile(&rp).is_err());
    let mut rp = BTreeMap::new();
    rp.insert("200".to_string(), params(&[("append:querystring.x", "a")]));
    assert!(CompiledResponseMapping::compile(&rp).is_err());
    let mut rp = BTreeMap::new();
    rp.insert(
        "200".to_string(),
        params(&[("append:header.x", "$request.path")]),
    );
    assert!(CompiledResponseMapping::compile(&rp).is_err());
}

// --- Response sources ---

#[test]
fn response_header_body_and_dynamic_status() {
    let mut rp = BTreeMap::new();
    rp.insert(
        "200".to_string(),
        params(&[
            ("overwrite:statuscode", "$response.body.code"),
            ("overwrite:header.x-up", "$response.header.X-Upstream"),
            ("append:header.x-msg", "msg=${response.body.detail.msg}"),
            ("remove:header.x-secret", "''"),
            ("overwrite:header.x-status", "$context.integration.status"),
        ]),
    );
    rp.insert(
        "201".to_string(),
        params(&[("overwrite:statuscode", "$response.header.x-nope")]),
    );
    let m = CompiledResponseMapping::compile(&rp).unwrap();
    let rules = m.for_status(200).unwrap();
    assert!(rules.needs_body());
    assert!(!m.for_status(201).unwrap().needs_body());

    let mut ctx = RequestContext::default();
    ctx.integration.status = Some(200);
    let mut headers = HeaderMap::new();
    headers.append("x-upstream", "u1".parse().unwrap());
    headers.append("x-upstream", "u2".parse().unwrap());
    headers.append("x-secret", "s".parse().unwrap());
    let body = br#"{"code":418,"detail":{"msg":"teapot"}}"#;
    let stage_vars = BTreeMap::new();
    let view = ResponseView {
        status: 200,
        headers: &headers,
        body: Some(body),
        context: &ctx,
        stage_variables: &stage_vars,
    };
    let changes = rules.evaluate(&view);
    assert_eq!(changes.status, Some(418));
    let mut out = headers.clone();
    changes.apply_headers(&mut out);
    assert_eq!(values(&out, "x-up"), ["u1,u2"]);
    assert_eq!(values(&out, "x-msg"), ["msg=teapot"]);
    assert_eq!(values(&out, "x-status"), ["200"]);
    assert!(out.get("x-secret").is_none());

    // A status expression that is not a code leaves the status alone.
    let view = ResponseView {
        status: 201,
        headers: &headers,
        body: None,
        context: &ctx,
        stage_variables: &stage_vars,
    };
    assert_eq!(m.for_status(201).unwrap().evaluate(&view).status, None);
}

// --- Query helpers ---

#[test]
fn query_parse_and_encode() {
    assert_eq!(
        parse_query("a=1&b&c=x%2Fy&&d=a+b&e=%E2%9C%93"),
        [
            ("a".to_string(), "1".to_string()),
            ("b".to_string(), String::new()),
            ("c".to_string(), "x/y".to_string()),
            ("d".to_string(), "a+b".to_string()),
            ("e".to_string(), "✓".to_string()),
        ]
    );
    assert_eq!(
        encode_query(&parse_query("c=x%2Fy&d=a+b&e=%E2%9C%93")),
        "c=x%2Fy&d=a%2Bb&e=%E2%9C%93"
    );
    assert_eq!(parse_query(""), []);
}

// --- Arbitrary input never panics ---

#[test]
fn arbitrary_expressions_never_panic() {
    const ALPHABET: &[&str] = &[
        "$",
        "{",
        "}",
        "[",
        "]",
        ".",
        "\\",
        "'",
        "\"",
        "-",
        "a",
        "0",
        "é",
        "✓",
        "request",
        "body",
        "header",
        "querystring",
        "path",
        "context",
        "stageVariables",
        "response",
        "?(",
        "*",
        " ",
    ];
    let mut rng = fastrand::Rng::with_seed(7);
    let mut r = Req::new().header("a", "1");
    r.body = Some(br#"{"a":[1,{"b":"c"}]}"#.to_vec());
    r.raw_query = Some("a=%ZZ&%E2=x&&=".into());
    for _ in 0..5000 {
        let len = rng.usize(0..12);
        let expr: String = (0..len)
            .map(|_| ALPHABET[rng.usize(..ALPHABET.len())])
            .collect();
        for key in [
            "overwrite:header.x",
            "append:querystring.q",
            "overwrite:path",
        ] {
            if let Ok(m) = CompiledRequestMapping::compile(&params(&[(key, &expr)])) {
                let mut out = OutgoingRequest::default();
                m.apply(&r.view(), &mut out);
            }
        }
        let mut rp = BTreeMap::new();
        rp.insert(
            "200".to_string(),
            params(&[("overwrite:statuscode", &expr), ("append:header.y", &expr)]),
        );
        if let Ok(m) = CompiledResponseMapping::compile(&rp) {
            let view = ResponseView {
                status: 200,
                headers: &r.headers,
                body: r.body.as_deref(),
                context: &r.context,
                stage_variables: &r.stage_vars,
            };
            let _ = m.for_status(200).map(|rules| rules.evaluate(&view));
        }
        let _ = crate::access_log::AccessLogFormat::parse(&expr).render(&r.context);
    }
}

#[test]
fn raw_query_changes_match_decoding_and_encoding_again() {
    let change = |action, name: &str, value: &str| Change {
        action,
        name: name.to_string(),
        value: value.to_string(),
    };
    let change_sets = [
        vec![change(Action::Append, "src", "apigw")],
        vec![
            change(Action::Append, "a b", "x&y=z"),
            change(Action::Append, "src", ""),
        ],
        vec![change(Action::Overwrite, "a", "9")],
        vec![change(Action::Remove, "a", "")],
    ];
    let raws = [
        "",
        "a=1",
        "a=1&b=2",
        "a",
        "a=1&&b=2",
        "&a=1",
        "a=b=c",
        "a=%41",
        "a=x+y",
        "a=1&",
        "=v",
        "a=\u{e9}",
        "k-._~=v-._~",
    ];
    for query in change_sets {
        let changes = RequestChanges {
            query,
            ..Default::default()
        };
        for raw in raws {
            let mut pairs = parse_query(raw);
            changes.apply_query(&mut pairs);
            assert_eq!(
                changes.apply_to_raw_query(raw),
                encode_query(&pairs),
                "{raw:?} with {:?}",
                changes.query
            );
        }
    }
    assert!(is_canonical_query("a=1&b=2"));
    assert!(!is_canonical_query("a=1&&b=2"));
    assert!(!is_canonical_query("a=%41"));
}
