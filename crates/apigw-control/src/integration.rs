//! Integration and IntegrationResponse operations.

use apigw_model::{
    Integration, IntegrationInput, IntegrationResponse, IntegrationResponseInput, IntegrationType,
    ProtocolType, Result, ServiceError,
};

use crate::page::{paginate, Page, PageRequest};
use crate::registry::Resource;
use crate::state::{kind, StoredIntegration};
use crate::{new_id, resources, Tx, View};

/// Integrations per API (HTTP and WebSocket quotas, not adjustable).
pub const MAX_INTEGRATIONS: usize = 300;

pub(crate) fn integration_not_found(id: &str) -> ServiceError {
    ServiceError::NotFound {
        message: format!("Invalid Integration identifier specified {id}"),
        resource_type: None,
    }
}

fn integration_response_not_found(id: &str) -> ServiceError {
    ServiceError::NotFound {
        message: format!("Invalid IntegrationResponse identifier specified {id}"),
        resource_type: None,
    }
}

/// Stores every child of an API that was built in memory in one go (quick create).
pub(crate) fn save_all_children(tx: &mut Tx<'_>, api_id: &str) -> Result<()> {
    let state = tx.api(api_id)?.clone();
    for (id, i) in state.integrations.iter() {
        tx.put(kind::INTEGRATION, format!("{api_id}/{id}"), &i)?;
    }
    for (id, r) in &state.routes {
        tx.put(kind::ROUTE, format!("{api_id}/{id}"), r)?;
    }
    for (name, s) in &state.stages {
        tx.put(kind::STAGE, format!("{api_id}/{name}"), s)?;
    }
    Ok(())
}

impl Resource for resources::Integration {
    const NAME: &'static str = "Integration";
    const COLLECTION: &'static str = "/v2/apis/{apiId}/integrations";
    const ID_LABEL: &'static str = "integrationId";
    const CLOUD_CONTROL: Option<&'static str> = Some("AWS::ApiGatewayV2::Integration");
    type Parents = [String; 1];
    type Ids = [String; 2];
    type Input = IntegrationInput;
    type Output = Integration;

    fn create(
        tx: &mut Tx<'_>,
        [api]: &[String; 1],
        input: IntegrationInput,
    ) -> Result<Integration> {
        tx.create_integration(api, input)
    }
    fn get(view: View<'_>, [api, id]: &[String; 2]) -> Result<Integration> {
        view.api(api)?
            .integrations
            .get(id)
            .ok_or_else(|| integration_not_found(id))
    }
    fn list(view: View<'_>, [api]: &[String; 1], page: &PageRequest) -> Result<Page<Integration>> {
        let api = view.api(api)?;
        // Only the page's integrations are built as the model.
        let all: Vec<(&str, &StoredIntegration)> = api.integrations.stored().collect();
        let Page { items, next_token } =
            paginate(all.iter().map(|entry| (entry.0, entry)).collect(), page)?;
        Ok(Page {
            items: items.into_iter().map(|(id, i)| i.to_model(id)).collect(),
            next_token,
        })
    }
    fn update(
        tx: &mut Tx<'_>,
        [api, id]: &[String; 2],
        input: IntegrationInput,
    ) -> Result<Integration> {
        tx.change_integration(api, id, |i, p| i.update(p, input))
    }
    fn replace(
        tx: &mut Tx<'_>,
        [api, id]: &[String; 2],
        input: IntegrationInput,
    ) -> Result<Integration> {
        tx.change_integration(api, id, |i, p| i.replace(p, input))
    }
    fn delete(tx: &mut Tx<'_>, [api, id]: &[String; 2]) -> Result<()> {
        tx.delete_integration(api, id)
    }
}

impl Resource for resources::IntegrationResponse {
    const NAME: &'static str = "IntegrationResponse";
    const COLLECTION: &'static str =
        "/v2/apis/{apiId}/integrations/{integrationId}/integrationresponses";
    const ID_LABEL: &'static str = "integrationResponseId";
    const CLOUD_CONTROL: Option<&'static str> = Some("AWS::ApiGatewayV2::IntegrationResponse");
    type Parents = [String; 2];
    type Ids = [String; 3];
    type Input = IntegrationResponseInput;
    type Output = IntegrationResponse;

    fn create(
        tx: &mut Tx<'_>,
        [api, integration]: &[String; 2],
        input: IntegrationResponseInput,
    ) -> Result<IntegrationResponse> {
        tx.create_integration_response(api, integration, input)
    }
    fn get(view: View<'_>, [api, integration, id]: &[String; 3]) -> Result<IntegrationResponse> {
        let api = view.api(api)?;
        if !api.integrations.contains_key(integration) {
            return Err(integration_not_found(integration));
        }
        api.integration_responses
            .get(integration)
            .and_then(|m| m.get(id))
            .cloned()
            .ok_or_else(|| integration_response_not_found(id))
    }
    fn list(
        view: View<'_>,
        [api, integration]: &[String; 2],
        page: &PageRequest,
    ) -> Result<Page<IntegrationResponse>> {
        let api = view.api(api)?;
        if !api.integrations.contains_key(integration) {
            return Err(integration_not_found(integration));
        }
        let items = api
            .integration_responses
            .get(integration)
            .map(|m| m.iter().map(|(k, v)| (k.as_str(), v)).collect())
            .unwrap_or_default();
        paginate(items, page)
    }
    fn update(
        tx: &mut Tx<'_>,
        [api, integration, id]: &[String; 3],
        input: IntegrationResponseInput,
    ) -> Result<IntegrationResponse> {
        tx.change_integration_response(api, integration, id, |r| r.update(input))
    }
    fn replace(
        tx: &mut Tx<'_>,
        [api, integration, id]: &[String; 3],
        input: IntegrationResponseInput,
    ) -> Result<IntegrationResponse> {
        tx.change_integration_response(api, integration, id, |r| r.replace(input))
    }
    fn delete(tx: &mut Tx<'_>, [api, integration, id]: &[String; 3]) -> Result<()> {
        tx.delete_integration_response(api, integration, id)
    }
}

/// The rules, as steps of one transaction.
impl Tx<'_> {
    pub(crate) fn create_integration(
        &mut self,
        api_id: &str,
        input: IntegrationInput,
    ) -> Result<Integration> {
        let tx = self;
        let state = tx.api(api_id)?;
        if state.integrations.len() >= MAX_INTEGRATIONS {
            return Err(ServiceError::limit_exceeded(
                "integrations per API",
                MAX_INTEGRATIONS,
            ));
        }
        let id = new_id(7, |id| state.integrations.contains_key(id));
        let integration = Integration::create(id.clone(), state.api.protocol_type, input)?;
        state.integrations.insert(integration.clone());
        tx.put(kind::INTEGRATION, format!("{api_id}/{id}"), &integration)?;
        crate::stage::auto_deploy(tx, api_id)?;
        Ok(integration)
    }

    pub(crate) fn change_integration(
        &mut self,
        api_id: &str,
        integration_id: &str,
        change: impl FnOnce(&Integration, ProtocolType) -> Result<Integration>,
    ) -> Result<Integration> {
        let tx = self;
        let state = tx.api(api_id)?;
        let current = state
            .integrations
            .get(integration_id)
            .ok_or_else(|| integration_not_found(integration_id))?;
        let next = change(&current, state.api.protocol_type)?;
        if next.integration_type.is_proxy()
            && state
                .integration_responses
                .get(integration_id)
                .is_some_and(|m| !m.is_empty())
        {
            return Err(ServiceError::bad_request(
                "Cannot change to a proxy integration type while integration responses exist",
            ));
        }
        state.integrations.insert(next.clone());
        tx.put(
            kind::INTEGRATION,
            format!("{api_id}/{integration_id}"),
            &next,
        )?;
        crate::stage::auto_deploy(tx, api_id)?;
        Ok(next)
    }

    pub(crate) fn delete_integration(&mut self, api_id: &str, integration_id: &str) -> Result<()> {
        let tx = self;
        let state = tx.api(api_id)?;
        let integration = state
            .integrations
            .get(integration_id)
            .ok_or_else(|| integration_not_found(integration_id))?;
        if integration.api_gateway_managed == Some(true) {
            return Err(ServiceError::bad_request(
                "Cannot delete an integration managed by API Gateway. Delete the API instead",
            ));
        }
        let target = integration.route_target();
        let referencing: Vec<&str> = state
            .routes
            .values()
            .filter(|r| r.target.as_deref() == Some(target.as_str()))
            .map(|r| r.route_id.as_str())
            .collect();
        if !referencing.is_empty() {
            return Err(ServiceError::conflict(format!(
                "Cannot delete Integration because it is referenced by the following Routes with Ids: [{}]",
                referencing.join(", ")
            )));
        }
        state.integrations.remove(integration_id);
        let responses = state
            .integration_responses
            .remove(integration_id)
            .unwrap_or_default();
        for id in responses.keys() {
            tx.delete(
                kind::INTEGRATION_RESPONSE,
                format!("{api_id}/{integration_id}/{id}"),
            );
        }
        tx.delete(kind::INTEGRATION, format!("{api_id}/{integration_id}"));
        crate::stage::auto_deploy(tx, api_id)
    }

    pub(crate) fn create_integration_response(
        &mut self,
        api_id: &str,
        integration_id: &str,
        input: IntegrationResponseInput,
    ) -> Result<IntegrationResponse> {
        let tx = self;
        let state = tx.api(api_id)?;
        let integration = state
            .integrations
            .get(integration_id)
            .ok_or_else(|| integration_not_found(integration_id))?;
        if state.api.protocol_type != ProtocolType::WebSocket {
            return Err(ServiceError::bad_request(
                "Integration responses are supported only for WebSocket APIs",
            ));
        }
        if matches!(
            integration.integration_type,
            IntegrationType::HttpProxy | IntegrationType::AwsProxy
        ) {
            return Err(ServiceError::bad_request(
                "Integration responses are not supported for proxy integrations (AWS_PROXY, HTTP_PROXY)",
            ));
        }
        let existing = state
            .integration_responses
            .entry(integration_id.to_string())
            .or_default();
        let id = new_id(6, |id| existing.contains_key(id));
        let response = IntegrationResponse::create(id.clone(), input)?;
        if existing
            .values()
            .any(|r| r.integration_response_key == response.integration_response_key)
        {
            return Err(ServiceError::already_exists(format!(
                "An integration response with key {} already exists for this integration",
                response.integration_response_key
            )));
        }
        existing.insert(id.clone(), response.clone());
        tx.put(
            kind::INTEGRATION_RESPONSE,
            format!("{api_id}/{integration_id}/{id}"),
            &response,
        )?;
        crate::stage::auto_deploy(tx, api_id)?;
        Ok(response)
    }

    pub(crate) fn change_integration_response(
        &mut self,
        api_id: &str,
        integration_id: &str,
        response_id: &str,
        change: impl FnOnce(&IntegrationResponse) -> Result<IntegrationResponse>,
    ) -> Result<IntegrationResponse> {
        let tx = self;
        let state = tx.api(api_id)?;
        if !state.integrations.contains_key(integration_id) {
            return Err(integration_not_found(integration_id));
        }
        let responses = state
            .integration_responses
            .entry(integration_id.to_string())
            .or_default();
        let current = responses
            .get(response_id)
            .ok_or_else(|| integration_response_not_found(response_id))?;
        let next = change(current)?;
        if responses.values().any(|r| {
            r.integration_response_id != response_id
                && r.integration_response_key == next.integration_response_key
        }) {
            return Err(ServiceError::already_exists(format!(
                "An integration response with key {} already exists for this integration",
                next.integration_response_key
            )));
        }
        responses.insert(response_id.to_string(), next.clone());
        tx.put(
            kind::INTEGRATION_RESPONSE,
            format!("{api_id}/{integration_id}/{response_id}"),
            &next,
        )?;
        crate::stage::auto_deploy(tx, api_id)?;
        Ok(next)
    }

    pub(crate) fn delete_integration_response(
        &mut self,
        api_id: &str,
        integration_id: &str,
        response_id: &str,
    ) -> Result<()> {
        let tx = self;
        let state = tx.api(api_id)?;
        if !state.integrations.contains_key(integration_id) {
            return Err(integration_not_found(integration_id));
        }
        let removed = state
            .integration_responses
            .get_mut(integration_id)
            .and_then(|m| m.remove(response_id));
        if removed.is_none() {
            return Err(integration_response_not_found(response_id));
        }
        tx.delete(
            kind::INTEGRATION_RESPONSE,
            format!("{api_id}/{integration_id}/{response_id}"),
        );
        crate::stage::auto_deploy(tx, api_id)
    }
}
