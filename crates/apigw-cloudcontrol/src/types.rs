//! The supported `AWS::ApiGatewayV2::*` resource types: for each, the registry resource that
//! serves it (apigw-control's `Resource` declaration, whose rules create / read / replace /
//! delete / list it, dispatched generically through `Rules<R>`), its vendored schema, the shapes
//! the schema cannot express and the properties this emulator refuses. Everything else
//! (identifiers, property names, validation) is generic and read from the schema (cfn.rs).
//! Serving another type: one `cc::<resources::X>(schema, shapes, unsupported)` line.

use std::marker::PhantomData;
use std::sync::OnceLock;

use apigw_control::registry::{item_path, path_labels};
use apigw_control::{resources, IdList, PageRequest, Resource, Tx, View};
use apigw_model::ServiceError;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::cfn::{Schema, Shape};
use crate::Failure;

pub struct ResourceType {
    pub schema: Schema,
    /// Exceptions to the schema-derived value shapes (cfn.rs).
    pub shapes: &'static [(&'static str, Shape)],
    /// Properties this emulator cannot act on; a model carrying one fails with InvalidRequest.
    pub unsupported: &'static [(&'static str, &'static str)],
    /// The model carries the read-only `ExecuteApiArn` (AWS::ApiGatewayV2::Api).
    pub execute_api_arn: bool,
    /// The registry's rules for the type, over wire-form JSON.
    ops: Box<dyn Ops>,
    /// The identifier's property names in the registry's order (parents, then the resource's
    /// own: the restJson path labels, PascalCased). The schema's `primaryIdentifier` holds the
    /// same names, in its own order (Authorizer's is `AuthorizerId`, `ApiId`).
    ids: Vec<String>,
}

const IMPORT_UNSUPPORTED: &str = "Importing an OpenAPI definition (Body, BodyS3Location) is not supported by apigw; create the API from its properties (Name, ProtocolType, ...) and its routes and integrations as resources";

/// A registry resource served as the Cloud Control type its declaration names, described by
/// `schema` (vendored, schemas/).
fn cc<R: Resource>(
    schema: &str,
    shapes: &'static [(&'static str, Shape)],
    unsupported: &'static [(&'static str, &'static str)],
) -> ResourceType {
    let schema = Schema::parse(schema);
    assert_eq!(
        Some(schema.type_name()),
        R::CLOUD_CONTROL,
        "the schema of {}",
        R::NAME
    );
    let ids: Vec<String> = path_labels(&item_path::<R>())
        .map(|label| {
            let mut c = label.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect();
    let (mut declared, mut own) = (schema.primary_identifier(), ids.clone());
    declared.sort();
    own.sort();
    assert_eq!(declared, own, "the identifier of {}", R::NAME);
    ResourceType {
        schema,
        shapes,
        unsupported,
        execute_api_arn: false,
        ops: Box::new(Rules::<R>(PhantomData)),
        ids,
    }
}

/// Every supported type, in type-name order.
pub fn all() -> &'static [ResourceType] {
    static TYPES: OnceLock<Vec<ResourceType>> = OnceLock::new();
    TYPES.get_or_init(|| {
        vec![
            ResourceType {
                execute_api_arn: true,
                ..cc::<resources::Api>(
                    include_str!("../schemas/aws-apigatewayv2-api.json"),
                    &[],
                    &[
                        ("Body", IMPORT_UNSUPPORTED),
                        ("BodyS3Location", IMPORT_UNSUPPORTED),
                    ],
                )
            },
            cc::<resources::Authorizer>(
                include_str!("../schemas/aws-apigatewayv2-authorizer.json"),
                &[],
                &[],
            ),
            cc::<resources::Deployment>(
                include_str!("../schemas/aws-apigatewayv2-deployment.json"),
                &[],
                &[],
            ),
            cc::<resources::Integration>(
                include_str!("../schemas/aws-apigatewayv2-integration.json"),
                &[("ResponseParameters", Shape::ResponseParameterLists)],
                &[],
            ),
            cc::<resources::IntegrationResponse>(
                include_str!("../schemas/aws-apigatewayv2-integrationresponse.json"),
                &[],
                &[],
            ),
            // The schema declares RequestParameters as an object with `items`
            // (ParameterConstraints): user keys, CFN-cased `{Required}` values.
            cc::<resources::Route>(
                include_str!("../schemas/aws-apigatewayv2-route.json"),
                &[("RequestParameters", Shape::UserKeyed)],
                &[],
            ),
            cc::<resources::RouteResponse>(
                include_str!("../schemas/aws-apigatewayv2-routeresponse.json"),
                &[],
                &[],
            ),
            // RouteSettings is typed only as JSON; its values are the RouteSettings definition.
            cc::<resources::Stage>(
                include_str!("../schemas/aws-apigatewayv2-stage.json"),
                &[("RouteSettings", Shape::UserKeyed)],
                &[],
            ),
        ]
    })
}

pub fn find(type_name: &str) -> Option<&'static ResourceType> {
    all().iter().find(|t| t.name() == type_name)
}

/// A resource's rules over the wire form: what Cloud Control dispatches to.
trait Ops: Send + Sync {
    fn create(
        &self,
        tx: &mut Tx<'_>,
        parents: &[String],
        body: Map<String, Value>,
    ) -> Result<Value, Failure>;
    fn read(&self, view: View<'_>, ids: &[String]) -> apigw_model::Result<Value>;
    fn replace(
        &self,
        tx: &mut Tx<'_>,
        ids: &[String],
        body: Map<String, Value>,
    ) -> Result<Value, Failure>;
    fn delete(&self, tx: &mut Tx<'_>, ids: &[String]) -> apigw_model::Result<()>;
    fn list(
        &self,
        view: View<'_>,
        parents: &[String],
        page: &PageRequest,
    ) -> apigw_model::Result<(Vec<Value>, Option<String>)>;
}

struct Rules<R>(PhantomData<fn() -> R>);

fn parse_input<T: DeserializeOwned>(wire: Map<String, Value>) -> Result<T, Failure> {
    serde_json::from_value(Value::Object(wire))
        .map_err(|e| crate::invalid(format!("Model validation failed ({e})")))
}

fn wire<T: Serialize>(t: &T) -> Value {
    serde_json::to_value(t).unwrap_or(Value::Null)
}

/// Identifiers are parsed from the type's schema, whose primary identifier has one part per
/// id: a mismatch is ours.
fn typed<L: IdList>(ids: &[String]) -> apigw_model::Result<L> {
    L::from_slice(ids).ok_or_else(|| {
        ServiceError::internal(
            apigw_model::Origin::Service,
            format!("{} identifier parts where the type has others", ids.len()),
        )
    })
}

impl<R: Resource> Ops for Rules<R> {
    fn create(
        &self,
        tx: &mut Tx<'_>,
        p: &[String],
        body: Map<String, Value>,
    ) -> Result<Value, Failure> {
        let parents = typed(p)?;
        Ok(wire(&R::create(tx, &parents, parse_input(body)?)?))
    }
    fn read(&self, view: View<'_>, i: &[String]) -> apigw_model::Result<Value> {
        Ok(wire(&R::get(view, &typed(i)?)?))
    }
    fn replace(
        &self,
        tx: &mut Tx<'_>,
        i: &[String],
        body: Map<String, Value>,
    ) -> Result<Value, Failure> {
        let ids = typed(i)?;
        Ok(wire(&R::replace(tx, &ids, parse_input(body)?)?))
    }
    fn delete(&self, tx: &mut Tx<'_>, i: &[String]) -> apigw_model::Result<()> {
        R::delete(tx, &typed(i)?)
    }
    fn list(
        &self,
        view: View<'_>,
        p: &[String],
        page: &PageRequest,
    ) -> apigw_model::Result<(Vec<Value>, Option<String>)> {
        let page = R::list(view, &typed(p)?, page)?;
        Ok((page.items.iter().map(wire).collect(), page.next_token))
    }
}

impl ResourceType {
    pub fn name(&self) -> &str {
        self.schema.type_name()
    }

    /// The identifier properties naming the parents (all but the resource's own id).
    pub fn parents(&self) -> Vec<String> {
        let mut ids = self.ids.clone();
        ids.pop();
        ids
    }

    /// Identifier values in the schema's `primaryIdentifier` order → the registry's order
    /// (parents first), which the rules take.
    pub fn registry_order(&self, schema_values: Vec<String>) -> Vec<String> {
        let names = self.schema.primary_identifier();
        self.ids
            .iter()
            .map(|id| {
                names
                    .iter()
                    .position(|n| n == id)
                    .and_then(|i| schema_values.get(i).cloned())
                    .unwrap_or_default()
            })
            .collect()
    }

    /// The full CFN model (write-only members included) of a resource in its wire form.
    pub fn model(&self, account_id: &str, region: &str, parents: &[String], wire: &Value) -> Value {
        let mut out = Map::new();
        for (name, value) in self.parents().into_iter().zip(parents) {
            out.insert(name, Value::String(value.clone()));
        }
        out.extend(self.schema.to_cfn(wire, self.shapes));
        if self.execute_api_arn {
            if let Some(id) = wire.get("apiId").and_then(Value::as_str) {
                out.insert(
                    "ExecuteApiArn".into(),
                    Value::String(format!("arn:aws:execute-api:{region}:{account_id}:{id}")),
                );
            }
        }
        Value::Object(out)
    }

    /// The wire body of a CFN model for create/replace (parent ids travel separately).
    pub fn body(&self, model: &Value) -> Result<Map<String, Value>, Failure> {
        for (prop, msg) in self.unsupported {
            if model.get(prop).is_some() {
                return Err(crate::invalid(msg.to_string()));
            }
        }
        self.schema
            .to_wire(model, &self.parents(), self.shapes)
            .map_err(crate::invalid)
    }

    pub fn create(
        &self,
        tx: &mut Tx<'_>,
        parents: &[String],
        body: Map<String, Value>,
    ) -> Result<Value, Failure> {
        self.ops.create(tx, parents, body)
    }

    pub fn read(&self, view: View<'_>, ids: &[String]) -> apigw_model::Result<Value> {
        self.ops.read(view, ids)
    }

    /// Reconciles the resource to exactly `body` (members absent are cleared).
    pub fn replace(
        &self,
        tx: &mut Tx<'_>,
        ids: &[String],
        body: Map<String, Value>,
    ) -> Result<Value, Failure> {
        self.ops.replace(tx, ids, body)
    }

    pub fn delete(&self, tx: &mut Tx<'_>, ids: &[String]) -> apigw_model::Result<()> {
        self.ops.delete(tx, ids)
    }

    /// One page of the resources under `parents`, in wire form.
    pub fn list(
        &self,
        view: View<'_>,
        parents: &[String],
        page: &PageRequest,
    ) -> apigw_model::Result<(Vec<Value>, Option<String>)> {
        self.ops.list(view, parents, page)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn every_type_is_described_by_its_own_schema() {
        let names: Vec<&str> = all().iter().map(ResourceType::name).collect();
        assert_eq!(
            names,
            [
                "AWS::ApiGatewayV2::Api",
                "AWS::ApiGatewayV2::Authorizer",
                "AWS::ApiGatewayV2::Deployment",
                "AWS::ApiGatewayV2::Integration",
                "AWS::ApiGatewayV2::IntegrationResponse",
                "AWS::ApiGatewayV2::Route",
                "AWS::ApiGatewayV2::RouteResponse",
                "AWS::ApiGatewayV2::Stage",
            ]
        );
        let ids = |n: &str| find(n).map(|t| t.schema.primary_identifier().join("|"));
        assert_eq!(ids("AWS::ApiGatewayV2::Api").as_deref(), Some("ApiId"));
        assert_eq!(
            ids("AWS::ApiGatewayV2::IntegrationResponse").as_deref(),
            Some("ApiId|IntegrationId|IntegrationResponseId")
        );
        assert_eq!(
            ids("AWS::ApiGatewayV2::RouteResponse").as_deref(),
            Some("ApiId|RouteId|RouteResponseId")
        );
        assert_eq!(
            ids("AWS::ApiGatewayV2::Stage").as_deref(),
            Some("ApiId|StageName")
        );
        // Authorizer's identifier is its own id first; the rules take the API's first.
        let authorizer = find("AWS::ApiGatewayV2::Authorizer").unwrap();
        assert_eq!(
            authorizer.schema.primary_identifier(),
            ["AuthorizerId", "ApiId"]
        );
        assert_eq!(authorizer.parents(), ["ApiId"]);
        assert_eq!(
            authorizer.registry_order(vec!["auth01".into(), "api0123456".into()]),
            ["api0123456", "auth01"]
        );
        let stage = find("AWS::ApiGatewayV2::Stage").unwrap();
        assert_eq!(
            stage.registry_order(vec!["a".into(), "$default".into()]),
            ["a", "$default"]
        );
    }
}
