//! The supported `AWS::ApiGatewayV2::*` resource types: for each, its vendored schema, the
//! shapes the schema cannot express, the properties this emulator refuses, and how its
//! create/read/replace/delete/list handlers map onto `ControlPlane` operations. Everything else
//! (identifiers, property names, validation) is generic and read from the schema (cfn.rs).

use std::sync::OnceLock;

use apigw_control::{ControlPlane, PageRequest, Tx};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::cfn::{Schema, Shape};
use crate::Failure;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Api,
    Deployment,
    Integration,
    IntegrationResponse,
    Route,
    RouteResponse,
    Stage,
}

pub struct ResourceType {
    pub kind: Kind,
    pub schema: Schema,
    /// Exceptions to the schema-derived value shapes (cfn.rs).
    pub shapes: &'static [(&'static str, Shape)],
    /// Properties this emulator cannot act on; a model carrying one fails with InvalidRequest.
    pub unsupported: &'static [(&'static str, &'static str)],
}

const IMPORT_UNSUPPORTED: &str = "Importing an OpenAPI definition (Body, BodyS3Location) is not supported by apigw; create the API from its properties (Name, ProtocolType, ...) and its routes and integrations as resources";

/// Every supported type, in type-name order.
pub fn all() -> &'static [ResourceType] {
    static TYPES: OnceLock<Vec<ResourceType>> = OnceLock::new();
    TYPES.get_or_init(|| {
        let t = |kind, src: &str, shapes, unsupported| ResourceType {
            kind,
            schema: Schema::parse(src),
            shapes,
            unsupported,
        };
        vec![
            t(
                Kind::Api,
                include_str!("../schemas/aws-apigatewayv2-api.json"),
                &[],
                &[
                    ("Body", IMPORT_UNSUPPORTED),
                    ("BodyS3Location", IMPORT_UNSUPPORTED),
                ],
            ),
            t(
                Kind::Deployment,
                include_str!("../schemas/aws-apigatewayv2-deployment.json"),
                &[],
                &[],
            ),
            t(
                Kind::Integration,
                include_str!("../schemas/aws-apigatewayv2-integration.json"),
                &[("ResponseParameters", Shape::ResponseParameterLists)],
                &[],
            ),
            t(
                Kind::IntegrationResponse,
                include_str!("../schemas/aws-apigatewayv2-integrationresponse.json"),
                &[],
                &[],
            ),
            // The schema declares RequestParameters as an object with `items`
            // (ParameterConstraints): user keys, CFN-cased `{Required}` values.
            t(
                Kind::Route,
                include_str!("../schemas/aws-apigatewayv2-route.json"),
                &[("RequestParameters", Shape::UserKeyed)],
                &[],
            ),
            t(
                Kind::RouteResponse,
                include_str!("../schemas/aws-apigatewayv2-routeresponse.json"),
                &[],
                &[],
            ),
            // RouteSettings is typed only as JSON; its values are the RouteSettings definition.
            t(
                Kind::Stage,
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

fn parse_input<T: DeserializeOwned>(wire: Map<String, Value>) -> Result<T, Failure> {
    serde_json::from_value(Value::Object(wire))
        .map_err(|e| crate::invalid(format!("Model validation failed ({e})")))
}

fn wire<T: Serialize>(t: &T) -> Value {
    serde_json::to_value(t).unwrap_or(Value::Null)
}

fn at(ids: &[String], i: usize) -> &str {
    ids.get(i).map(String::as_str).unwrap_or_default()
}

impl ResourceType {
    pub fn name(&self) -> &str {
        self.schema.type_name()
    }

    /// The identifier properties naming the parents (all but the last).
    pub fn parents(&self) -> Vec<String> {
        let mut ids = self.schema.primary_identifier();
        ids.pop();
        ids
    }

    /// The full CFN model (write-only members included) of a resource in its wire form.
    pub fn model(
        &self,
        cp: &ControlPlane,
        region: &str,
        parents: &[String],
        wire: &Value,
    ) -> Value {
        let mut out = Map::new();
        for (name, value) in self.parents().into_iter().zip(parents) {
            out.insert(name, Value::String(value.clone()));
        }
        out.extend(self.schema.to_cfn(wire, self.shapes));
        if self.kind == Kind::Api {
            if let Some(id) = wire.get("apiId").and_then(Value::as_str) {
                out.insert(
                    "ExecuteApiArn".into(),
                    Value::String(format!(
                        "arn:aws:execute-api:{region}:{}:{id}",
                        cp.account_id()
                    )),
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
        p: &[String],
        body: Map<String, Value>,
    ) -> Result<Value, Failure> {
        Ok(match self.kind {
            Kind::Api => wire(&tx.create_api(parse_input(body)?)?),
            Kind::Deployment => wire(&tx.create_deployment(at(p, 0), parse_input(body)?)?),
            Kind::Integration => wire(&tx.create_integration(at(p, 0), parse_input(body)?)?),
            Kind::IntegrationResponse => {
                wire(&tx.create_integration_response(at(p, 0), at(p, 1), parse_input(body)?)?)
            }
            Kind::Route => wire(&tx.create_route(at(p, 0), parse_input(body)?)?),
            Kind::RouteResponse => {
                wire(&tx.create_route_response(at(p, 0), at(p, 1), parse_input(body)?)?)
            }
            Kind::Stage => wire(&tx.create_stage(at(p, 0), parse_input(body)?)?),
        })
    }

    pub async fn read(
        &self,
        cp: &ControlPlane,
        region: &str,
        i: &[String],
    ) -> apigw_model::Result<Value> {
        Ok(match self.kind {
            Kind::Api => wire(&cp.get_api(region, at(i, 0)).await?),
            Kind::Deployment => wire(&cp.get_deployment(region, at(i, 0), at(i, 1)).await?),
            Kind::Integration => wire(&cp.get_integration(region, at(i, 0), at(i, 1)).await?),
            Kind::IntegrationResponse => wire(
                &cp.get_integration_response(region, at(i, 0), at(i, 1), at(i, 2))
                    .await?,
            ),
            Kind::Route => wire(&cp.get_route(region, at(i, 0), at(i, 1)).await?),
            Kind::RouteResponse => wire(
                &cp.get_route_response(region, at(i, 0), at(i, 1), at(i, 2))
                    .await?,
            ),
            Kind::Stage => wire(&cp.get_stage(region, at(i, 0), at(i, 1)).await?),
        })
    }

    /// Reconciles the resource to exactly `body` (members absent are cleared).
    pub fn replace(
        &self,
        tx: &mut Tx<'_>,
        i: &[String],
        body: Map<String, Value>,
    ) -> Result<Value, Failure> {
        Ok(match self.kind {
            Kind::Api => wire(&tx.replace_api(at(i, 0), parse_input(body)?)?),
            Kind::Deployment => {
                wire(&tx.replace_deployment(at(i, 0), at(i, 1), parse_input(body)?)?)
            }
            Kind::Integration => {
                wire(&tx.replace_integration(at(i, 0), at(i, 1), parse_input(body)?)?)
            }
            Kind::IntegrationResponse => wire(&tx.replace_integration_response(
                at(i, 0),
                at(i, 1),
                at(i, 2),
                parse_input(body)?,
            )?),
            Kind::Route => wire(&tx.replace_route(at(i, 0), at(i, 1), parse_input(body)?)?),
            Kind::RouteResponse => wire(&tx.replace_route_response(
                at(i, 0),
                at(i, 1),
                at(i, 2),
                parse_input(body)?,
            )?),
            Kind::Stage => wire(&tx.replace_stage(at(i, 0), at(i, 1), parse_input(body)?)?),
        })
    }

    pub fn delete(&self, tx: &mut Tx<'_>, i: &[String]) -> apigw_model::Result<()> {
        match self.kind {
            Kind::Api => tx.delete_api(at(i, 0)),
            Kind::Deployment => tx.delete_deployment(at(i, 0), at(i, 1)),
            Kind::Integration => tx.delete_integration(at(i, 0), at(i, 1)),
            Kind::IntegrationResponse => {
                tx.delete_integration_response(at(i, 0), at(i, 1), at(i, 2))
            }
            Kind::Route => tx.delete_route(at(i, 0), at(i, 1)),
            Kind::RouteResponse => tx.delete_route_response(at(i, 0), at(i, 1), at(i, 2)),
            Kind::Stage => tx.delete_stage(at(i, 0), at(i, 1)),
        }
    }

    /// One page of the resources under `p` (the parent ids), in wire form.
    pub async fn list(
        &self,
        cp: &ControlPlane,
        region: &str,
        p: &[String],
        page: &PageRequest,
    ) -> apigw_model::Result<(Vec<Value>, Option<String>)> {
        fn out<T: Serialize>(page: apigw_control::Page<T>) -> (Vec<Value>, Option<String>) {
            (page.items.iter().map(wire).collect(), page.next_token)
        }
        Ok(match self.kind {
            Kind::Api => out(cp.get_apis(region, page).await?),
            Kind::Deployment => out(cp.get_deployments(region, at(p, 0), page).await?),
            Kind::Integration => out(cp.get_integrations(region, at(p, 0), page).await?),
            Kind::IntegrationResponse => out(cp
                .get_integration_responses(region, at(p, 0), at(p, 1), page)
                .await?),
            Kind::Route => out(cp.get_routes(region, at(p, 0), page).await?),
            Kind::RouteResponse => out(cp
                .get_route_responses(region, at(p, 0), at(p, 1), page)
                .await?),
            Kind::Stage => out(cp.get_stages(region, at(p, 0), page).await?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_is_described_by_its_own_schema() {
        let names: Vec<&str> = all().iter().map(ResourceType::name).collect();
        assert_eq!(
            names,
            [
                "AWS::ApiGatewayV2::Api",
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
        assert!(find("AWS::ApiGatewayV2::Authorizer").is_none());
    }
}
