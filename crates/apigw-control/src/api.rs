//! Api operations, including quick create and DeleteCorsConfiguration.

use apigw_model::{
    Api, ApiInput, Integration, IntegrationInput, ProtocolType, Result, Route, RouteInput,
    ServiceError, Stage, StageInput,
};
use serde::Serialize;

use crate::page::{paginate, Page, PageRequest};
use crate::registry::{Removal, Resource};
use crate::state::{kind, ApiState, Key};
use crate::{actions, new_id, resources, ControlPlane, Tx, View};

/// An Api as the wire shows it: `apiEndpoint` depends on the region it lives in.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiView {
    pub api_endpoint: String,
    #[serde(flatten)]
    pub api: Api,
}

impl ApiView {
    pub fn new(region: &str, api: &Api) -> ApiView {
        ApiView {
            api_endpoint: api.endpoint(region),
            api: api.clone(),
        }
    }
}

pub(crate) fn save_api(tx: &mut Tx<'_>, api: &Api) -> Result<()> {
    tx.put(kind::API, api.api_id.clone(), api)
}

/// The quick-create integration for a target: a Lambda ARN becomes AWS_PROXY (payload 2.0),
/// anything else HTTP_PROXY (payload 1.0, method ANY).
fn quick_integration_input(target: &str, credentials_arn: Option<String>) -> IntegrationInput {
    let is_lambda = target.starts_with("arn:");
    IntegrationInput {
        integration_type: Some(if is_lambda { "AWS_PROXY" } else { "HTTP_PROXY" }.into()),
        integration_uri: Some(target.to_string()),
        integration_method: Some(if is_lambda { "POST" } else { "ANY" }.into()),
        payload_format_version: Some(if is_lambda { "2.0" } else { "1.0" }.into()),
        credentials_arn,
        ..Default::default()
    }
}

impl Resource for resources::Api {
    const NAME: &'static str = "Api";
    const COLLECTION: &'static str = "/v2/apis";
    const ID_LABEL: &'static str = "apiId";
    const CLOUD_CONTROL: Option<&'static str> = Some("AWS::ApiGatewayV2::Api");
    type Parents = [String; 0];
    type Ids = [String; 1];
    type Input = ApiInput;
    type Output = ApiView;

    fn create(tx: &mut Tx<'_>, []: &[String; 0], input: ApiInput) -> Result<ApiView> {
        tx.create_api(input)
    }
    fn get(view: View<'_>, [id]: &[String; 1]) -> Result<ApiView> {
        Ok(ApiView::new(view.region, &view.api(id)?.api))
    }
    fn list(view: View<'_>, []: &[String; 0], page: &PageRequest) -> Result<Page<ApiView>> {
        let views: Vec<(&str, ApiView)> = view
            .apis()
            .into_iter()
            .map(|(id, a)| (id, ApiView::new(view.region, &a.api)))
            .collect();
        paginate(views.iter().map(|(k, v)| (*k, v)).collect(), page)
    }
    fn update(tx: &mut Tx<'_>, [id]: &[String; 1], input: ApiInput) -> Result<ApiView> {
        tx.change_api(id, |current| {
            let mut api = current.clone();
            let quick = api.update(input)?;
            Ok((api, quick))
        })
    }
    fn replace(tx: &mut Tx<'_>, [id]: &[String; 1], input: ApiInput) -> Result<ApiView> {
        tx.change_api(id, |current| current.replace(input))
    }
    fn delete(tx: &mut Tx<'_>, [id]: &[String; 1]) -> Result<()> {
        tx.delete_api(id)
    }
}

impl ControlPlane {
    /// CreateApi (kept for callers outside the registry's generic operations).
    pub async fn create_api(&self, region: &str, input: ApiInput) -> Result<ApiView> {
        self.create::<resources::Api>(region, &[], input).await
    }

    /// GetApi (kept for callers outside the registry's generic operations).
    pub async fn get_api(&self, region: &str, api_id: &str) -> Result<ApiView> {
        self.get::<resources::Api>(region, &[api_id.to_string()])
            .await
    }
}

/// Removes the API's CORS configuration (HTTP APIs).
impl Removal for actions::DeleteCorsConfiguration {
    const PATH: &'static str = "/v2/apis/{apiId}/cors";
    type Ids = [String; 1];

    fn delete(tx: &mut Tx<'_>, [api_id]: &[String; 1]) -> Result<()> {
        let state = tx.api(api_id)?;
        if state.api.protocol_type != ProtocolType::Http {
            return Err(ServiceError::bad_request(
                "CORS configuration is supported only for HTTP APIs",
            ));
        }
        state.api.cors_configuration = None;
        let api = state.api.clone();
        save_api(tx, &api)?;
        crate::stage::auto_deploy(tx, api_id)
    }
}

/// The rules, as steps of one transaction.
impl Tx<'_> {
    pub(crate) fn create_api(&mut self, input: ApiInput) -> Result<ApiView> {
        let tx = self;
        let api_id = new_id(10, |id| tx.api_exists(id));
        let (api, quick) = Api::create(api_id.clone(), tx.now, input)?;
        let mut state = ApiState::new(api.clone());
        if let Some(q) = quick {
            // Quick create: a managed integration, a route to it and an auto-deployed $default stage.
            let integration_id = new_id(7, |_| false);
            let mut integration = Integration::create(
                integration_id.clone(),
                ProtocolType::Http,
                quick_integration_input(&q.target, q.credentials_arn),
            )?;
            integration.api_gateway_managed = Some(true);
            let route_id = new_id(7, |_| false);
            let mut route = Route::create(
                route_id.clone(),
                ProtocolType::Http,
                RouteInput {
                    route_key: Some(q.route_key),
                    target: Some(integration.route_target()),
                    ..Default::default()
                },
            )?;
            route.api_gateway_managed = Some(true);
            let mut stage = Stage::create(
                ProtocolType::Http,
                tx.now,
                StageInput {
                    stage_name: Some(apigw_model::stage::DEFAULT_STAGE.into()),
                    auto_deploy: Some(true),
                    ..Default::default()
                },
            )?;
            stage.api_gateway_managed = Some(true);
            state.integrations.insert(integration);
            state.routes.insert(Key::from(route_id), route.into());
            state.stages.insert(stage.stage_name.clone(), stage.into());
        }
        save_api(tx, &api)?;
        let has_children = !state.routes.is_empty();
        tx.insert_api(api_id.clone(), state);
        if has_children {
            crate::integration::save_all_children(tx, &api_id)?;
            crate::stage::auto_deploy(tx, &api_id)?;
        }
        Ok(ApiView::new(tx.region, &api))
    }

    pub(crate) fn change_api(
        &mut self,
        api_id: &str,
        change: impl FnOnce(&Api) -> Result<(Api, Option<apigw_model::QuickUpdate>)>,
    ) -> Result<ApiView> {
        let tx = self;
        let state = tx.api(api_id)?;
        if state.api.api_gateway_managed == Some(true) {
            return Err(ServiceError::bad_request(
                "Cannot update an API managed by another service",
            ));
        }
        let (api, quick) = change(&state.api)?;
        // target/routeKey/credentialsArn re-point a quick-created API's managed children;
        // on other APIs they have nothing to act on (they are write-only members).
        let mut managed_integration = None;
        let mut managed_route = None;
        if let Some(apigw_model::QuickUpdate {
            target,
            route_key,
            credentials_arn,
        }) = quick
        {
            if let Some((id, integ)) = state
                .integrations
                .stored()
                .find(|(_, i)| i.is_managed())
                .map(|(id, i)| (id, i.to_model(id)))
            {
                if target.is_some() || credentials_arn.is_some() {
                    let mut input = IntegrationInput {
                        credentials_arn,
                        ..Default::default()
                    };
                    if let Some(t) = target {
                        input = IntegrationInput {
                            credentials_arn: input.credentials_arn,
                            ..quick_integration_input(&t, None)
                        };
                    }
                    managed_integration =
                        Some((id.to_string(), integ.update(ProtocolType::Http, input)?));
                }
            }
            if let (Some(key), Some((id, route))) = (
                route_key,
                state
                    .routes
                    .iter()
                    .find(|(_, r)| r.api_gateway_managed == Some(true)),
            ) {
                let mut next = route.clone();
                apigw_model::RouteKey::parse(ProtocolType::Http, &key)?;
                if state
                    .routes
                    .values()
                    .any(|r| r.route_key == key && *r.route_id != **id)
                {
                    return Err(ServiceError::already_exists(format!(
                        "Route with key {key} already exists for this API"
                    )));
                }
                next.route_key = key;
                managed_route = Some((id.clone(), next));
            }
        }
        state.api = api.clone();
        if let Some((id, integ)) = managed_integration {
            state.integrations.insert(integ.clone());
            tx.put(kind::INTEGRATION, format!("{api_id}/{id}"), &integ)?;
        }
        if let Some((id, route)) = managed_route {
            let state = tx.api(api_id)?;
            state.routes.insert(id.clone(), route.clone());
            tx.put(kind::ROUTE, format!("{api_id}/{id}"), &route)?;
        }
        save_api(tx, &api)?;
        crate::stage::auto_deploy(tx, api_id)?;
        Ok(ApiView::new(tx.region, &api))
    }

    pub(crate) fn delete_api(&mut self, api_id: &str) -> Result<()> {
        let tx = self;
        let state = tx.api(api_id)?;
        if state.api.api_gateway_managed == Some(true) {
            return Err(ServiceError::bad_request(
                "Cannot delete an API managed by another service",
            ));
        }
        let state = tx.remove_api(api_id)?;
        // Children go with their API.
        for id in state.integrations.keys() {
            tx.delete(kind::INTEGRATION, format!("{api_id}/{id}"));
        }
        for (parent, rs) in &state.integration_responses {
            for id in rs.keys() {
                tx.delete(
                    kind::INTEGRATION_RESPONSE,
                    format!("{api_id}/{parent}/{id}"),
                );
            }
        }
        for id in state.routes.keys() {
            tx.delete(kind::ROUTE, format!("{api_id}/{id}"));
        }
        for (parent, rs) in &state.route_responses {
            for id in rs.keys() {
                tx.delete(kind::ROUTE_RESPONSE, format!("{api_id}/{parent}/{id}"));
            }
        }
        for name in state.stages.keys() {
            tx.delete(kind::STAGE, format!("{api_id}/{name}"));
        }
        for id in state.deployments.keys() {
            tx.delete(kind::DEPLOYMENT, format!("{api_id}/{id}"));
        }
        for id in state.authorizers.keys() {
            tx.delete(kind::AUTHORIZER, format!("{api_id}/{id}"));
        }
        tx.delete(kind::API, api_id.to_string());
        Ok(())
    }
}
