//! `AWS::ApiGatewayV2::Integration` CloudFormation model ⇄ apigatewayv2 model (§1.3), derived
//! from the model's serde (camelCase wire) form by key-case conversion, plus checks against the
//! vendored resource schema.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use apigw_model::{Integration, IntegrationInput};
use serde_json::{Map, Value};

pub const TYPE_NAME: &str = "AWS::ApiGatewayV2::Integration";

/// API-only read-only members that the CFN schema does not have (§1.3).
const API_ONLY: &[&str] = &[
    "apiGatewayManaged",
    "integrationResponseSelectionExpression",
];
/// Members whose object keys are user data (header names, content types), never converted.
const USER_KEYED: &[&str] = &["requestParameters", "requestTemplates"];

pub fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        serde_json::from_str(include_str!("../schemas/aws-apigatewayv2-integration.json"))
            .unwrap_or(Value::Null)
    })
}

fn pascal(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}

fn camel(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_ascii_lowercase().to_string() + c.as_str())
        .unwrap_or_default()
}

fn convert_keys(v: &Value, f: fn(&str) -> String) -> Value {
    match v {
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, v)| (f(k), convert_keys(v, f))).collect())
        }
        other => other.clone(),
    }
}

/// The CFN model (Properties) of an integration of `api_id`.
pub fn to_cfn(api_id: &str, integration: &Integration) -> Value {
    let wire = serde_json::to_value(integration).unwrap_or(Value::Null);
    let mut out = Map::new();
    out.insert("ApiId".into(), Value::String(api_id.to_string()));
    if let Value::Object(m) = wire {
        for (k, v) in m {
            if API_ONLY.contains(&k.as_str()) {
                continue;
            }
            let cfn = if k == "responseParameters" {
                response_parameters_to_cfn(&v)
            } else if USER_KEYED.contains(&k.as_str()) {
                v
            } else {
                convert_keys(&v, pascal)
            };
            out.insert(pascal(&k), cfn);
        }
    }
    Value::Object(out)
}

/// `{code:{dest:src}}` → `{code:{ResponseParameters:[{Destination,Source}]}}`.
fn response_parameters_to_cfn(v: &Value) -> Value {
    let Value::Object(codes) = v else {
        return v.clone();
    };
    Value::Object(
        codes
            .iter()
            .map(|(code, inner)| {
                let list: Vec<Value> = inner
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .map(|(d, s)| serde_json::json!({"Destination": d, "Source": s}))
                            .collect()
                    })
                    .unwrap_or_default();
                (
                    code.clone(),
                    serde_json::json!({ "ResponseParameters": list }),
                )
            })
            .collect(),
    )
}

fn response_parameters_from_cfn(v: &Value) -> Value {
    let Value::Object(codes) = v else {
        return v.clone();
    };
    Value::Object(
        codes
            .iter()
            .map(|(code, inner)| {
                let mut map = Map::new();
                for p in inner
                    .get("ResponseParameters")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let (Some(d), Some(s)) = (p.get("Destination"), p.get("Source")) {
                        map.insert(d.as_str().unwrap_or_default().to_string(), s.clone());
                    }
                }
                (code.clone(), Value::Object(map))
            })
            .collect(),
    )
}

/// The apigatewayv2 wire form (camelCase) of a CFN model, without ApiId/IntegrationId.
pub fn to_wire(model: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    if let Value::Object(m) = model {
        for (k, v) in m {
            if k == "ApiId" || k == "IntegrationId" {
                continue;
            }
            let key = camel(k);
            let wire = if key == "responseParameters" {
                response_parameters_from_cfn(v)
            } else if USER_KEYED.contains(&key.as_str()) {
                v.clone()
            } else {
                convert_keys(v, camel)
            };
            out.insert(key, wire);
        }
    }
    out
}

pub fn input_from(wire: Map<String, Value>) -> Result<IntegrationInput, String> {
    serde_json::from_value(Value::Object(wire))
        .map_err(|e| format!("Model validation failed ({e})"))
}

/// Checks a CFN model against the vendored schema: types, required, additionalProperties.
pub fn validate(model: &Value) -> Result<(), String> {
    let s = schema();
    let mut errors = Vec::new();
    check(s, s, model, "#", &mut errors);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!("Model validation failed ({})", errors.join("; ")))
    }
}

fn resolve<'a>(root: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => r
            .strip_prefix('#')
            .and_then(|p| root.pointer(p))
            .unwrap_or(&Value::Null),
        None => schema,
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "Null",
        Value::Bool(_) => "Boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "Integer",
        Value::Number(_) => "Number",
        Value::String(_) => "String",
        Value::Array(_) => "JSONArray",
        Value::Object(_) => "JSONObject",
    }
}

fn check(root: &Value, schema: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
    let schema = resolve(root, schema);
    if let Some(t) = schema.get("type").and_then(Value::as_str) {
        let ok = match t {
            "string" => v.is_string(),
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            "boolean" => v.is_boolean(),
            "object" => v.is_object(),
            "array" => v.is_array(),
            _ => true,
        };
        if !ok {
            errors.push(format!(
                "{at}: expected type: {}, found: {}",
                pascal(t),
                type_name(v)
            ));
            return;
        }
    }
    if let Value::Object(m) = v {
        for req in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(r) = req.as_str() {
                if !m.contains_key(r) {
                    errors.push(format!("{at}: required key [{r}] not found"));
                }
            }
        }
        let props = schema.get("properties").and_then(Value::as_object);
        let patterns = schema.get("patternProperties").and_then(Value::as_object);
        let closed = schema.get("additionalProperties") == Some(&Value::Bool(false));
        for (k, child) in m {
            let path = format!("{at}/{k}");
            if let Some(p) = props.and_then(|p| p.get(k)) {
                check(root, p, child, &path, errors);
            } else if let Some((_, p)) = patterns
                .and_then(|p| p.iter().next())
                .filter(|_| !k.is_empty())
            {
                // Patterns here are character classes that any non-empty key matches.
                check(root, p, child, &path, errors);
            } else if closed {
                errors.push(format!("{at}: extraneous key [{k}] is not permitted"));
            }
        }
    }
    if let (Value::Array(items), Some(item_schema)) = (v, schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            check(root, item_schema, item, &format!("{at}/{i}"), errors);
        }
    }
}

/// JSON pointers (`/Name`) of the schema's `readOnlyProperties` / `createOnlyProperties`.
pub fn schema_paths(key: &str) -> Vec<String> {
    schema()
        .get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| p.as_str()?.strip_prefix("/properties").map(str::to_string))
        .collect()
}

/// The primary identifier's property names, in order.
pub fn primary_identifier() -> Vec<String> {
    schema_paths("primaryIdentifier")
        .into_iter()
        .map(|p| p.trim_start_matches('/').to_string())
        .collect()
}

/// `ApiId|IntegrationId` or `{"ApiId":..,"IntegrationId":..}` → the identifier's values.
pub fn parse_identifier(id: &str) -> Option<BTreeMap<String, String>> {
    let names = primary_identifier();
    let values: Vec<String> = if id.trim_start().starts_with('{') {
        let v: Value = serde_json::from_str(id).ok()?;
        names
            .iter()
            .map(|n| v.get(n).and_then(Value::as_str).map(str::to_string))
            .collect::<Option<_>>()?
    } else {
        id.split('|').map(str::to_string).collect()
    };
    if values.len() != names.len() || values.iter().any(String::is_empty) {
        return None;
    }
    Some(names.into_iter().zip(values).collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::json;

    fn integration() -> Integration {
        serde_json::from_value(json!({
            "integrationId": "abc1234",
            "apiGatewayManaged": true,
            "connectionType": "VPC_LINK",
            "connectionId": "vl1",
            "integrationType": "HTTP_PROXY",
            "integrationMethod": "GET",
            "integrationUri": "arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/app/l/1/2",
            "integrationResponseSelectionExpression": "x",
            "payloadFormatVersion": "1.0",
            "requestParameters": {"append:header.h": "$request.header.x"},
            "responseParameters": {"200": {"overwrite:statuscode": "204"}},
            "timeoutInMillis": 30000,
            "tlsConfig": {"serverNameToVerify": "example.com"}
        }))
        .unwrap()
    }

    #[test]
    fn cfn_model_is_derived_and_round_trips() {
        let m = to_cfn("api1", &integration());
        assert_eq!(m["ApiId"], "api1");
        assert_eq!(m["IntegrationId"], "abc1234");
        assert_eq!(m["TlsConfig"], json!({"ServerNameToVerify": "example.com"}));
        assert_eq!(
            m["RequestParameters"],
            json!({"append:header.h": "$request.header.x"})
        );
        assert_eq!(
            m["ResponseParameters"],
            json!({"200": {"ResponseParameters": [{"Destination": "overwrite:statuscode", "Source": "204"}]}})
        );
        assert!(m.get("ApiGatewayManaged").is_none());
        assert!(m.get("IntegrationResponseSelectionExpression").is_none());
        validate(&m).unwrap_or_else(|e| panic!("{e}"));

        let input = input_from(to_wire(&m)).unwrap();
        assert_eq!(
            input.tls_config.unwrap().server_name_to_verify.as_deref(),
            Some("example.com")
        );
        assert_eq!(
            input.response_parameters.unwrap()["200"]["overwrite:statuscode"],
            "204"
        );
        assert_eq!(input.connection_id.as_deref(), Some("vl1"));
    }

    #[test]
    fn schema_checks() {
        assert!(validate(&json!({"ApiId": "a", "IntegrationType": "MOCK"})).is_ok());
        let e = validate(&json!({"IntegrationType": 3, "X": 1})).unwrap_err();
        assert!(e.contains("required key [ApiId] not found"), "{e}");
        assert!(
            e.contains("#/IntegrationType: expected type: String, found: Integer"),
            "{e}"
        );
        assert!(e.contains("extraneous key [X]"), "{e}");
        let e = validate(&json!({"ApiId": "a", "IntegrationType": "MOCK",
            "ResponseParameters": {"200": {"ResponseParameters": [{"Destination": 1}]}}}))
        .unwrap_err();
        assert!(e.contains("Destination"), "{e}");
        assert_eq!(primary_identifier(), vec!["ApiId", "IntegrationId"]);
        assert_eq!(parse_identifier("a|b").unwrap()["IntegrationId"], "b");
        assert_eq!(
            parse_identifier(r#"{"IntegrationId":"b","ApiId":"a"}"#).unwrap()["ApiId"],
            "a"
        );
        assert!(parse_identifier("a").is_none());
        assert!(parse_identifier("a|").is_none());
    }
}
