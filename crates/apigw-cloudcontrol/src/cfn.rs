//! CloudFormation resource models ⇄ apigatewayv2 models, and checks against the vendored
//! resource schemas. Everything here is read from the schema document of a type: which
//! properties exist, how nested values are named (a property whose schema defines `properties`
//! is a CFN-cased object; a map whose `patternProperties` values define `properties` keeps its
//! user keys but CFN-cases its values; any other map is user data, passed verbatim), the
//! identifier, createOnly/readOnly/writeOnly paths and the list handler's required keys. Only the
//! shapes the schema cannot express are named per type (`Shape` exceptions in types.rs).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use serde_json::{Map, Value};

/// How one top-level property's value maps between the CFN model and the apigatewayv2 wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// An object whose member names are CFN-cased (`TlsConfig.ServerNameToVerify`).
    Converted,
    /// User data (header names, content types, stage variables, tags): passed as is.
    Verbatim,
    /// A map with user keys whose values are CFN-cased objects (`{"GET /":{"LoggingLevel":..}}`).
    UserKeyed,
    /// Integration `ResponseParameters`: `{code:{ResponseParameters:[{Destination,Source}]}}`
    /// in CFN, `{code:{destination:source}}` on the wire (control-plane.md §1.1.3).
    ResponseParameterLists,
}

/// One parsed resource schema.
pub struct Schema {
    doc: Value,
}

pub fn pascal(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}

pub fn camel(s: &str) -> String {
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
        Value::Array(a) => Value::Array(a.iter().map(|v| convert_keys(v, f)).collect()),
        other => other.clone(),
    }
}

fn convert_values(v: &Value, f: fn(&str) -> String) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), convert_keys(v, f)))
                .collect(),
        ),
        other => other.clone(),
    }
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

/// A pattern of the schema (ECMA-262, unanchored), compiled once.
fn matches(pattern: &str, s: &str) -> bool {
    static CACHE: OnceLock<Mutex<HashMap<String, Option<regex_lite::Regex>>>> = OnceLock::new();
    let mut cache = CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let re = cache
        .entry(pattern.to_string())
        .or_insert_with(|| regex_lite::Regex::new(pattern).ok());
    // A pattern we cannot compile constrains nothing rather than rejecting everything.
    re.as_ref().is_none_or(|r| r.is_match(s))
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

fn has_type(v: &Value, t: &str) -> bool {
    match t {
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        "null" => v.is_null(),
        _ => true,
    }
}

fn strs(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect()
}

impl Schema {
    pub fn parse(src: &str) -> Schema {
        Schema {
            doc: serde_json::from_str(src).unwrap_or(Value::Null),
        }
    }

    pub fn type_name(&self) -> &str {
        self.doc
            .get("typeName")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(r) => r
                .strip_prefix('#')
                .and_then(|p| self.doc.pointer(p))
                .unwrap_or(&Value::Null),
            None => schema,
        }
    }

    /// The (resolved) schema of top-level property `name`.
    pub fn property(&self, name: &str) -> Option<&Value> {
        self.doc
            .get("properties")
            .and_then(|p| p.get(name))
            .map(|p| self.resolve(p))
    }

    pub fn has_property(&self, name: &str) -> bool {
        self.property(name).is_some()
    }

    /// JSON pointers into the model (`/Name`, `/A/B`) of `readOnlyProperties`,
    /// `createOnlyProperties`, `writeOnlyProperties` or `primaryIdentifier`.
    pub fn paths(&self, key: &str) -> Vec<String> {
        strs(self.doc.get(key))
            .into_iter()
            .filter_map(|p| {
                p.strip_prefix("/properties")
                    .map(|rest| rest.replace("/properties/", "/"))
            })
            .collect()
    }

    /// The primary identifier's property names, in the schema's order.
    pub fn primary_identifier(&self) -> Vec<String> {
        self.paths("primaryIdentifier")
            .into_iter()
            .map(|p| p.trim_start_matches('/').to_string())
            .collect()
    }

    /// What ListResources needs in `ResourceModel`: the list handler schema's `required`, or, when
    /// the schema names none, the parent part of the identifier (it cannot list without them).
    pub fn list_required(&self) -> Vec<String> {
        let declared = strs(self.doc.pointer("/handlers/list/handlerSchema/required"));
        if !declared.is_empty() {
            return declared;
        }
        let mut ids = self.primary_identifier();
        ids.pop();
        ids
    }

    /// `a|b` or `{"A":"a","B":"b"}` → the identifier's values in schema order.
    pub fn parse_identifier(&self, id: &str) -> Option<Vec<String>> {
        let names = self.primary_identifier();
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
        Some(values)
    }

    /// The string form of a model's identifier (`ApiId|IntegrationId`).
    pub fn identifier_of(&self, model: &Value) -> String {
        self.primary_identifier()
            .iter()
            .map(|n| model.get(n).and_then(Value::as_str).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("|")
    }

    /// Removes the write-only properties: a read never returns them.
    pub fn strip_write_only(&self, model: &mut Value) {
        for p in self.paths("writeOnlyProperties") {
            let (parent, leaf) = p.rsplit_once('/').unwrap_or(("", &p));
            if let Some(Value::Object(m)) = model.pointer_mut(parent) {
                m.remove(leaf);
            }
        }
    }

    /// How property `name` maps, from its schema unless `exceptions` names it.
    pub fn shape(&self, name: &str, exceptions: &[(&str, Shape)]) -> Shape {
        if let Some((_, s)) = exceptions.iter().find(|(p, _)| *p == name) {
            return *s;
        }
        let Some(p) = self.property(name) else {
            return Shape::Verbatim;
        };
        if p.get("properties").is_some() {
            return Shape::Converted;
        }
        let values_are_objects = p
            .get("patternProperties")
            .and_then(Value::as_object)
            .is_some_and(|pp| {
                pp.values()
                    .any(|v| self.resolve(v).get("properties").is_some())
            });
        if values_are_objects {
            Shape::UserKeyed
        } else {
            Shape::Verbatim
        }
    }

    /// The CFN model members of an apigatewayv2 wire object: CFN-cased names, only the
    /// properties the schema has (API-only members such as `createdDate` are dropped).
    pub fn to_cfn(&self, wire: &Value, exceptions: &[(&str, Shape)]) -> Map<String, Value> {
        let mut out = Map::new();
        if let Value::Object(m) = wire {
            for (k, v) in m {
                let name = pascal(k);
                if !self.has_property(&name) {
                    continue;
                }
                let value = match self.shape(&name, exceptions) {
                    Shape::Converted => convert_keys(v, pascal),
                    Shape::Verbatim => v.clone(),
                    Shape::UserKeyed => convert_values(v, pascal),
                    Shape::ResponseParameterLists => response_parameters_to_cfn(v),
                };
                out.insert(name, value);
            }
        }
        out
    }

    /// The apigatewayv2 wire form (camelCase) of a CFN model, without the properties in
    /// `skip` (parent ids, which travel in the path). JSON-typed properties given as a JSON
    /// string (`"type": ["object","string"], "format": "json"`) are parsed first.
    pub fn to_wire(
        &self,
        model: &Value,
        skip: &[String],
        exceptions: &[(&str, Shape)],
    ) -> Result<Map<String, Value>, String> {
        let mut out = Map::new();
        let Value::Object(m) = model else {
            return Ok(out);
        };
        for (k, v) in m {
            if skip.contains(k) {
                continue;
            }
            let parsed;
            let v = match (v, self.property(k)) {
                (Value::String(s), Some(p))
                    if p.get("format").and_then(Value::as_str) == Some("json")
                        && strs(p.get("type")).iter().any(|t| t == "object") =>
                {
                    parsed = serde_json::from_str::<Value>(s)
                        .ok()
                        .filter(Value::is_object)
                        .ok_or_else(|| {
                            format!("Model validation failed (#/{k}: value is not a JSON object)")
                        })?;
                    &parsed
                }
                _ => v,
            };
            let value = match self.shape(k, exceptions) {
                Shape::Converted => convert_keys(v, camel),
                Shape::Verbatim => v.clone(),
                Shape::UserKeyed => convert_values(v, camel),
                Shape::ResponseParameterLists => response_parameters_from_cfn(v),
            };
            out.insert(camel(k), value);
        }
        Ok(out)
    }

    /// Checks a model against the schema: type, required, additionalProperties,
    /// patternProperties, pattern, enum, length and range, recursively.
    pub fn validate(&self, model: &Value) -> Result<(), String> {
        let mut errors = Vec::new();
        self.check(&self.doc, model, "#", &mut errors);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(format!("Model validation failed ({})", errors.join("; ")))
        }
    }

    fn check(&self, schema: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
        let schema = self.resolve(schema);
        let types: Vec<String> = match schema.get("type") {
            Some(Value::String(t)) => vec![t.clone()],
            other => strs(other),
        };
        if !types.is_empty() && !types.iter().any(|t| has_type(v, t)) {
            let want: Vec<String> = types.iter().map(|t| pascal(t)).collect();
            errors.push(format!(
                "{at}: expected type: {}, found: {}",
                want.join(" or "),
                type_name(v)
            ));
            return;
        }
        if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
            if !allowed.contains(v) {
                errors.push(format!("{at}: {v} is not a valid enum value"));
            }
        }
        if let Value::String(s) = v {
            let len = s.chars().count() as u64;
            if let Some(min) = schema.get("minLength").and_then(Value::as_u64) {
                if len < min {
                    errors.push(format!("{at}: expected minLength: {min}, actual: {len}"));
                }
            }
            if let Some(max) = schema.get("maxLength").and_then(Value::as_u64) {
                if len > max {
                    errors.push(format!("{at}: expected maxLength: {max}, actual: {len}"));
                }
            }
            if let Some(p) = schema.get("pattern").and_then(Value::as_str) {
                if !matches(p, s) {
                    errors.push(format!("{at}: string [{s}] does not match pattern {p}"));
                }
            }
        }
        if let Some(n) = v.as_f64() {
            if let Some(min) = schema.get("minimum").and_then(Value::as_f64) {
                if n < min {
                    errors.push(format!("{at}: {n} is not greater or equal to {min}"));
                }
            }
            if let Some(max) = schema.get("maximum").and_then(Value::as_f64) {
                if n > max {
                    errors.push(format!("{at}: {n} is not less or equal to {max}"));
                }
            }
        }
        if let Value::Object(m) = v {
            for r in strs(schema.get("required")) {
                if !m.contains_key(&r) {
                    errors.push(format!("{at}: required key [{r}] not found"));
                }
            }
            let props = schema.get("properties").and_then(Value::as_object);
            let patterns = schema.get("patternProperties").and_then(Value::as_object);
            let closed = schema.get("additionalProperties") == Some(&Value::Bool(false));
            for (k, child) in m {
                let path = format!("{at}/{k}");
                if let Some(p) = props.and_then(|p| p.get(k)) {
                    self.check(p, child, &path, errors);
                    continue;
                }
                let mut matched = false;
                for (pattern, p) in patterns.into_iter().flatten() {
                    if matches(pattern, k) {
                        matched = true;
                        self.check(p, child, &path, errors);
                    }
                }
                if !matched && closed {
                    errors.push(format!("{at}: extraneous key [{k}] is not permitted"));
                }
            }
        }
        if let (Value::Array(items), Some(item_schema)) = (v, schema.get("items")) {
            for (i, item) in items.iter().enumerate() {
                self.check(item_schema, item, &format!("{at}/{i}"), errors);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::json;

    fn integration() -> Schema {
        Schema::parse(include_str!("../schemas/aws-apigatewayv2-integration.json"))
    }

    #[test]
    fn integration_model_is_derived_and_round_trips() {
        let s = integration();
        let ex = [("ResponseParameters", Shape::ResponseParameterLists)];
        let wire = json!({
            "integrationId": "abc1234",
            "apiGatewayManaged": true,
            "connectionType": "VPC_LINK",
            "integrationType": "HTTP_PROXY",
            "integrationResponseSelectionExpression": "x",
            "requestParameters": {"append:header.h": "$request.header.x"},
            "responseParameters": {"200": {"overwrite:statuscode": "204"}},
            "tlsConfig": {"serverNameToVerify": "example.com"}
        });
        let m = Value::Object(s.to_cfn(&wire, &ex));
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
        // API-only members are not schema properties, so they are not in the model.
        assert!(m.get("ApiGatewayManaged").is_none());
        assert!(m.get("IntegrationResponseSelectionExpression").is_none());
        let back = s.to_wire(&m, &[], &ex).unwrap();
        assert_eq!(
            back["tlsConfig"],
            json!({"serverNameToVerify": "example.com"})
        );
        assert_eq!(
            back["responseParameters"],
            json!({"200": {"overwrite:statuscode": "204"}})
        );
        assert_eq!(back["requestParameters"], wire["requestParameters"]);
    }

    #[test]
    fn schema_checks() {
        let s = integration();
        assert!(s
            .validate(&json!({"ApiId": "a", "IntegrationType": "MOCK"}))
            .is_ok());
        let e = s
            .validate(&json!({"IntegrationType": 3, "X": 1}))
            .unwrap_err();
        assert!(e.contains("required key [ApiId] not found"), "{e}");
        assert!(
            e.contains("#/IntegrationType: expected type: String, found: Integer"),
            "{e}"
        );
        assert!(e.contains("extraneous key [X]"), "{e}");
        let e = s
            .validate(&json!({"ApiId": "a", "IntegrationType": "MOCK",
            "ResponseParameters": {"200": {"ResponseParameters": [{"Destination": 1}]}}}))
            .unwrap_err();
        assert!(e.contains("Destination"), "{e}");
        // The pattern comes from the schema document.
        let e = s
            .validate(&json!({"ApiId": "a", "IntegrationType": "AWS", "CredentialsArn": "role"}))
            .unwrap_err();
        assert!(
            e.contains("#/CredentialsArn: string [role] does not match pattern"),
            "{e}"
        );
        assert!(s
            .validate(&json!({"ApiId": "a", "IntegrationType": "AWS",
                "CredentialsArn": "arn:aws:iam::123456789012:role/x"}))
            .is_ok());
        // patternProperties: "[a-zA-Z0-9]+" (unanchored) rejects a key without alphanumerics.
        let e = s
            .validate(&json!({"ApiId": "a", "IntegrationType": "AWS",
                "RequestTemplates": {"$$": "x"}}))
            .unwrap_err();
        assert!(e.contains("extraneous key [$$]"), "{e}");
        assert_eq!(s.primary_identifier(), vec!["ApiId", "IntegrationId"]);
        assert_eq!(s.list_required(), vec!["ApiId"]);
        assert_eq!(s.parse_identifier("a|b").unwrap(), vec!["a", "b"]);
        assert_eq!(
            s.parse_identifier(r#"{"IntegrationId":"b","ApiId":"a"}"#)
                .unwrap(),
            vec!["a", "b"]
        );
        assert!(s.parse_identifier("a").is_none());
        assert!(s.parse_identifier("a|").is_none());
    }

    #[test]
    fn other_schemas_drive_shapes_and_paths() {
        let api = Schema::parse(include_str!("../schemas/aws-apigatewayv2-api.json"));
        assert_eq!(api.shape("CorsConfiguration", &[]), Shape::Converted);
        assert_eq!(api.shape("Tags", &[]), Shape::Verbatim);
        assert!(api
            .paths("writeOnlyProperties")
            .contains(&"/BodyS3Location/Etag".to_string()));
        let e = api.validate(&json!({"ExecuteApiArn": "nope"})).unwrap_err();
        assert!(e.contains("does not match pattern"), "{e}");
        assert!(api
            .validate(&json!({"ExecuteApiArn": "arn:aws:execute-api:us-east-1:000000000000:abc"}))
            .is_ok());
        let mut m = json!({"ApiId": "a", "Target": "t", "BodyS3Location": {"Bucket": "b"}});
        api.strip_write_only(&mut m);
        assert_eq!(m, json!({"ApiId": "a"}));
        let e = api.validate(&json!({"Body": 3})).unwrap_err();
        assert!(e.contains("expected type: Object or String"), "{e}");

        let rr = Schema::parse(include_str!(
            "../schemas/aws-apigatewayv2-routeresponse.json"
        ));
        assert_eq!(rr.shape("ResponseParameters", &[]), Shape::UserKeyed);
        assert_eq!(rr.list_required(), vec!["ApiId", "RouteId"]);
        let e = rr
            .validate(
                &json!({"ApiId": "a", "RouteId": "r", "RouteResponseKey": "$default",
                "ResponseParameters": {"route.response.header.x": {"Required": "yes"}}}),
            )
            .unwrap_err();
        assert!(e.contains("Required: expected type: Boolean"), "{e}");

        let stage = Schema::parse(include_str!("../schemas/aws-apigatewayv2-stage.json"));
        assert_eq!(stage.primary_identifier(), vec!["ApiId", "StageName"]);
        let wire = stage
            .to_wire(
                &json!({"StageName": "s", "StageVariables": "{\"a\":\"b\"}",
                    "RouteSettings": {"sendMessage": {"LoggingLevel": "INFO"}}}),
                &[],
                &[("RouteSettings", Shape::UserKeyed)],
            )
            .unwrap();
        assert_eq!(wire["stageVariables"], json!({"a": "b"}));
        assert_eq!(
            wire["routeSettings"],
            json!({"sendMessage": {"loggingLevel": "INFO"}})
        );
    }
}
