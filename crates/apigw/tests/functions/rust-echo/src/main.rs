//! Test fixture, not part of the gateway: a Rust Lambda function on `lambda_runtime` that
//! deserializes API Gateway proxy events strictly with `aws_lambda_events` (payload 2.0 as
//! `ApiGatewayV2httpRequest`, 1.0 as `ApiGatewayProxyRequest`) and answers with what it parsed,
//! including every key the types did not know (`other`), so tests can prove the gateway's
//! events are what real functions expect. Any other event is echoed back with the process id.

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayV2httpRequest};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

fn keys(m: &serde_json::Map<String, Value>) -> Vec<String> {
    let mut k: Vec<String> = m.keys().cloned().collect();
    k.sort();
    k
}

fn v2(event: Value) -> Result<Value, Error> {
    let e: ApiGatewayV2httpRequest = serde_json::from_value(event)?;
    let c = &e.request_context;
    let mut headers: Vec<(String, String)> = e
        .headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("<binary>").to_string()))
        .collect();
    headers.sort();
    Ok(json!({
        "version": e.version,
        "routeKey": e.route_key,
        "rawPath": e.raw_path,
        "rawQueryString": e.raw_query_string,
        "cookies": e.cookies,
        "headers": headers,
        "queryStringParameters": e.query_string_parameters.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(),
        "pathParameters": e.path_parameters,
        "stageVariables": e.stage_variables,
        "body": e.body,
        "isBase64Encoded": e.is_base64_encoded,
        "requestContext": {
            "routeKey": c.route_key, "accountId": c.account_id, "stage": c.stage,
            "requestId": c.request_id, "apiId": c.apiid, "domainName": c.domain_name,
            "domainPrefix": c.domain_prefix, "time": c.time, "timeEpoch": c.time_epoch,
            "method": c.http.method.as_str(), "path": c.http.path, "protocol": c.http.protocol,
            "sourceIp": c.http.source_ip, "userAgent": c.http.user_agent,
        },
        "unknownKeys": {
            "event": keys(&e.other),
            "requestContext": keys(&c.other),
            "http": keys(&c.http.other),
        },
    }))
}

fn v1(event: Value) -> Result<Value, Error> {
    let e: ApiGatewayProxyRequest = serde_json::from_value(event)?;
    let c = &e.request_context;
    let mut headers: Vec<(String, String)> = e
        .headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("<binary>").to_string()))
        .collect();
    headers.sort();
    let mut multi: Vec<String> = e
        .multi_value_headers
        .iter()
        .map(|(k, v)| format!("{k}={}", v.to_str().unwrap_or("<binary>")))
        .collect();
    multi.sort();
    let mut mvq: Vec<String> = e
        .multi_value_query_string_parameters
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    mvq.sort();
    Ok(json!({
        "resource": e.resource,
        "path": e.path,
        "httpMethod": e.http_method.as_str(),
        "headers": headers,
        "multiValueHeaders": multi,
        "multiValueQueryStringParameters": mvq,
        "pathParameters": e.path_parameters,
        "stageVariables": e.stage_variables,
        "body": e.body,
        "isBase64Encoded": e.is_base64_encoded,
        "requestContext": {
            "accountId": c.account_id, "stage": c.stage, "requestId": c.request_id,
            "apiId": c.apiid, "domainName": c.domain_name, "domainPrefix": c.domain_prefix,
            "path": c.path, "resourcePath": c.resource_path, "httpMethod": c.http_method.as_str(),
            "requestTime": c.request_time, "requestTimeEpoch": c.request_time_epoch,
            "protocol": c.protocol, "sourceIp": c.identity.source_ip,
            "userAgent": c.identity.user_agent,
        },
        "unknownKeys": {
            "event": keys(&e.other),
            "requestContext": keys(&c.other),
        },
    }))
}

async fn handler(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let (payload, ctx) = event.into_parts();
    let parsed = match payload.get("version").and_then(Value::as_str) {
        Some("2.0") => v2(payload)?,
        Some("1.0") => v1(payload)?,
        _ => {
            return Ok(json!({
                "echo": payload,
                "pid": std::process::id(),
                "requestId": ctx.request_id,
            }))
        }
    };
    // A payload-2.0-style proxy response whose body is what the function parsed.
    Ok(json!({
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": parsed.to_string(),
    }))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(handler)).await
}
