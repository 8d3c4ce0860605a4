//! Routing + parameter-mapping cost per request, without sockets: a stage with 300 routes
//! (literal, `{var}` and greedy), the request mapping of bench/data-plane.sh's `/mapped` route
//! and its response mapping. Prints ns/op for each step. Run with
//! `cargo run --release -p apigw-dataplane --example route_cost`.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

use apigw_dataplane::routing::RouteTable;
use apigw_dataplane_rules::context::RequestContext;
use apigw_dataplane_rules::{
    CompiledRequestMapping, CompiledResponseMapping, RequestView, ResponseView,
};

fn time<F: FnMut()>(name: &str, iterations: u32, mut f: F) {
    for _ in 0..iterations / 10 {
        f();
    }
    let start = Instant::now();
    for _ in 0..iterations {
        f();
    }
    let ns = start.elapsed().as_nanos() as f64 / f64::from(iterations);
    println!("{name:<48}{ns:>10.0} ns/op");
}

fn main() {
    let mut table = RouteTable::new();
    for i in 0..100 {
        table.insert(&format!("GET /svc{i}/items"), i);
        table.insert(&format!("GET /svc{i}/items/{{id}}"), i);
        table.insert(&format!("ANY /svc{i}/{{proxy+}}"), i);
    }
    table.insert("$default", 1000);

    let iterations = 200_000;
    time("route: literal (hash lookup)", iterations, || {
        black_box(table.find("GET", black_box("/svc42/items")).is_some());
    });
    time("route: {var} among 300 routes", iterations, || {
        black_box(table.find("GET", black_box("/svc42/items/7")).is_some());
    });
    time("route: greedy among 300 routes", iterations, || {
        black_box(table.find("POST", black_box("/svc42/a/b/c")).is_some());
    });
    time("route: $default fallback", iterations, || {
        black_box(table.find("GET", black_box("/nothing/here")).is_some());
    });

    let request: BTreeMap<String, String> = [
        ("append:header.x-request-id", "$context.requestId"),
        (
            "overwrite:header.x-stage",
            "${stageVariables.env}-${context.stage}",
        ),
        ("append:querystring.src", "apigw"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let request = CompiledRequestMapping::compile(&request).expect("valid mapping");
    let mut response = BTreeMap::new();
    response.insert(
        "200".to_string(),
        [(
            "overwrite:header.x-route".to_string(),
            "$context.routeKey".to_string(),
        )]
        .into_iter()
        .collect::<BTreeMap<_, _>>(),
    );
    let response = CompiledResponseMapping::compile(&response).expect("valid mapping");

    let mut headers = http::HeaderMap::new();
    headers.insert(
        "host",
        "abc.execute-api.localhost:4566".parse().expect("header"),
    );
    headers.insert("user-agent", "wrk".parse().expect("header"));
    headers.insert("accept", "*/*".parse().expect("header"));
    let stage_variables: BTreeMap<String, String> = [("env".to_string(), "bench".to_string())]
        .into_iter()
        .collect();
    let ctx = RequestContext {
        api_id: "abc".into(),
        request_id: "LV7fzho-PHcEJPw=".into(),
        stage: "$default".into(),
        route_key: "GET /mapped".into(),
        ..Default::default()
    };
    let params: Vec<(&str, &str)> = Vec::new();
    time(
        "request mapping: evaluate + apply (3 rules)",
        iterations,
        || {
            let view = RequestView {
                method: "GET",
                path: "/mapped",
                path_parameters: &params,
                raw_query: None,
                headers: &headers,
                body: None,
                context: &ctx,
                stage_variables: &stage_variables,
            };
            let changes = request.evaluate(&view);
            let mut out = headers.clone();
            changes.apply_headers(&mut out);
            let mut q = Vec::new();
            changes.apply_query(&mut q);
            black_box((out, q));
        },
    );
    let resp_headers = http::HeaderMap::new();
    time(
        "response mapping: lookup + evaluate + apply",
        iterations,
        || {
            if let Some(rules) = response.for_status(200) {
                let changes = rules.evaluate(&ResponseView {
                    status: 200,
                    headers: &resp_headers,
                    body: None,
                    context: &ctx,
                    stage_variables: &stage_variables,
                });
                let mut out = resp_headers.clone();
                changes.apply_headers(&mut out);
                black_box(out);
            }
        },
    );
    time("$context: build the request context", iterations, || {
        black_box(RequestContext {
            account_id: "000000000000".into(),
            api_id: "abc".into(),
            domain_name: "abc.execute-api.localhost:4566".into(),
            http_method: "GET".into(),
            path: "/mapped".into(),
            protocol: "HTTP/1.1".into(),
            request_id: apigw_dataplane_rules::context::generate_request_id(),
            stage: "$default".into(),
            source_ip: "127.0.0.1".into(),
            ..Default::default()
        });
    });
}
