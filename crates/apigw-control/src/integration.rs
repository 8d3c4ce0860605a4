//! Integration and IntegrationResponse operations.

use apigw_model::{
    Integration, IntegrationInput, IntegrationResponse, IntegrationResponseInput, IntegrationType,
    ProtocolType, Result, ServiceError,
};

use crate::page::{paginate, Page, PageRequest};
use crate::state::kind;
use crate::{new_id, ControlPlane, Tx};

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
    for (id, i) in &state.integrations {
        tx.put(kind::INTEGRATION, format!("{api_id}/{id}"), i)?;
    }
    for (id, r) in &state.routes {
        tx.put(kind::ROUTE, format!("{api_id}/{id}"), r)?;
    }
    for (name, s) in &state.stages {
        tx.put(kind::STAGE, format!("{api_id}/{name}"), s)?;
    }
    Ok(())
}

impl ControlPlane {
    pub async fn create_integration(
        &self,
        region: &str,
        api_id: &str,
        input: IntegrationInput,
    ) -> Result<Integration> {
        self.mutate(region, |tx| tx.create_integration(api_id, input))
            .await
    }

    pub async fn get_integration(
        &self,
        region: &str,
        api_id: &str,
        integration_id: &str,
    ) -> Result<Integration> {
        self.read(region, |r| {
            let api = r
                .apis
                .get(api_id)
                .ok_or_else(|| crate::api_not_found(api_id))?;
            api.integrations
                .get(integration_id)
                .cloned()
                .ok_or_else(|| integration_not_found(integration_id))
        })
        .await
    }

    pub async fn get_integrations(
        &self,
        region: &str,
        api_id: &str,
        page: &PageRequest,
    ) -> Result<Page<Integration>> {
        self.read(region, |r| {
            let api = r
                .apis
                .get(api_id)
                .ok_or_else(|| crate::api_not_found(api_id))?;
            paginate(
                api.integrations
                    .iter()
                    .map(|(k, v)| (k.as_str(), v))
                    .collect(),
                page,
            )
        })
        .await
    }

    /// UpdateIntegration: members present replace, maps merge.
    pub async fn update_integration(
        &self,
        region: &str,
        api_id: &str,
        integration_id: &str,
        input: IntegrationInput,
    ) -> Result<Integration> {
        self.change_integration(region, api_id, integration_id, |i, p| i.update(p, input))
            .await
    }

    /// Makes the integration exactly `input` (Cloud Control UpdateResource), same rules.
    pub async fn replace_integration(
        &self,
        region: &str,
        api_id: &str,
        integration_id: &str,
        input: IntegrationInput,
    ) -> Result<Integration> {
        self.mutate(region, |tx| {
            tx.replace_integration(api_id, integration_id, input)
        })
        .await
    }

    async fn change_integration(
        &self,
        region: &str,
        api_id: &str,
        integration_id: &str,
        change: impl FnOnce(&Integration, ProtocolType) -> Result<Integration>,
    ) -> Result<Integration> {
        self.mutate(region, |tx| {
            tx.change_integration(api_id, integration_id, change)
        })
        .await
    }

    pub async fn delete_integration(
        &self,
        region: &str,
        api_id: &str,
        integration_id: &str,
    ) -> Result<()> {
        self.mutate(region, |tx| tx.delete_integration(api_id, integration_id))
            .await
    }

    pub async fn create_integration_response(
        &self,
        region: &str,
        api_id: &str,
        integration_id: &str,
        input: IntegrationResponseInput,
    ) -> Result<IntegrationResponse> {
        self.mutate(region, |tx| {
            tx.create_integration_response(api_id, integration_id, input)
        })
        .await
    }

    pub async fn get_integration_response(
        &self,
        region: &str,
        api_id: &str,
        integration_id: &str,
        response_id: &str,
    ) -> Result<IntegrationResponse> {
        self.read(region, |r| {
            let api = r
                .apis
                .get(api_id)
                .ok_or_else(|| crate::api_not_found(api_id))?;
            if !api.integrations.contains_key(integration_id) {
                return Err(integration_not_found(integration_id));
            }
            api.integration_responses
                .get(integration_id)
                .and_then(|m| m.get(response_id))
                .cloned()
                .ok_or_else(|| integration_response_not_found(response_id))
        })
        .await
    }

    pub async fn get_integration_responses(
        &self,
        region: &str,
        api_id: &str,
        integration_id: &str,
        page: &PageRequest,
    ) -> Result<Page<IntegrationResponse>> {
        self.read(region, |r| {
            let api = r
                .apis
                .get(api_id)
                .ok_or_else(|| crate::api_not_found(api_id))?;
            if !api.integrations.contains_key(integration_id) {
                return Err(integration_not_found(integration_id));
            }
            let items = api
                .integration_responses
                .get(integration_id)
                .map(|m| m.iter().map(|(k, v)| (k.as_str(), v)).collect())
                .unwrap_or_default();
            paginate(items, page)
        })
        .await
    }

    pub async fn update_integration_response(
        &self,
        region: &str,
        api_id: &str,
        integration_id: &str,
        response_id: &str,
        input: IntegrationResponseInput,
    ) -> Result<IntegrationResponse> {
        self.change_integration_response(region, api_id, integration_id, response_id, |r| {
            r.update(input)
        })
        .await
    }

    /// Makes the integration response exactly `input` (Cloud Control UpdateResource).
    pub async fn replace_integration_response(
        &self,
        region: &str,
        api_id: &str,
        integration_id: &str,
        response_id: &str,
        input: IntegrationResponseInput,
    ) -> Result<IntegrationResponse> {
        self.mutate(region, |tx| {
            tx.replace_integration_response(api_id, integration_id, response_id, input)
        })
        .await
    }

    async fn change_integration_response(
        &self,
        region: &str,
        api_id: &str,
        integration_id: &str,
        response_id: &str,
        change: impl FnOnce(&IntegrationResponse) -> Result<IntegrationResponse>,
    ) -> Result<IntegrationResponse> {
        self.mutate(region, |tx| {
            tx.change_integration_response(api_id, integration_id, response_id, change)
        })
        .await
    }

    pub async fn delete_integration_response(
        &self,
        region: &str,
        api_id: &str,
        integration_id: &str,
        response_id: &str,
    ) -> Result<()> {
        self.mutate(region, |tx| {
            tx.delete_integration_response(api_id, integration_id, response_id)
        })
        .await
    }
}

/// The same operations as steps of one mutation (`ControlPlane::transact`).
impl Tx<'_> {
    /// Makes the integration exactly `input` (Cloud Control UpdateResource), same rules.
    pub fn replace_integration(
        &mut self,
        api_id: &str,
        integration_id: &str,
        input: IntegrationInput,
    ) -> Result<Integration> {
        self.change_integration(api_id, integration_id, |i, p| i.replace(p, input))
    }

    /// Makes the integration response exactly `input`, same rules.
    pub fn replace_integration_response(
        &mut self,
        api_id: &str,
        integration_id: &str,
        response_id: &str,
        input: IntegrationResponseInput,
    ) -> Result<IntegrationResponse> {
        self.change_integration_response(api_id, integration_id, response_id, |r| r.replace(input))
    }

    pub fn create_integration(
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
        state.integrations.insert(id.clone(), integration.clone());
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
        let next = change(current, state.api.protocol_type)?;
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
        state
            .integrations
            .insert(integration_id.to_string(), next.clone());
        tx.put(
            kind::INTEGRATION,
            format!("{api_id}/{integration_id}"),
            &next,
        )?;
        crate::stage::auto_deploy(tx, api_id)?;
        Ok(next)
    }

    pub fn delete_integration(&mut self, api_id: &str, integration_id: &str) -> Result<()> {
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

    pub fn create_integration_response(
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
            return Err(ServiceError::conflict(format!(
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
            return Err(ServiceError::conflict(format!(
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

    pub fn delete_integration_response(
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
