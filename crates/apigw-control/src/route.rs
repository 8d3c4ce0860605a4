//! Route, RouteResponse and DeleteRouteRequestParameter operations.

use apigw_model::route::target_integration_id;
use apigw_model::{Result, Route, RouteInput, RouteResponse, RouteResponseInput, ServiceError};

use crate::page::{paginate, Page, PageRequest};
use crate::state::{kind, ApiState};
use crate::{new_id, ControlPlane, Tx};

/// Routes per API (quota, not adjustable).
pub const MAX_ROUTES: usize = 300;

fn route_not_found(id: &str) -> ServiceError {
    ServiceError::NotFound {
        message: format!("Invalid Route identifier specified {id}"),
        resource_type: None,
    }
}

fn route_response_not_found(id: &str) -> ServiceError {
    ServiceError::NotFound {
        message: format!("Invalid RouteResponse identifier specified {id}"),
        resource_type: None,
    }
}

/// A route's target must name an integration of the same API; its key must be unique.
fn check_route(state: &ApiState, route: &Route) -> Result<()> {
    if let Some(target) = &route.target {
        let id = target_integration_id(target)?;
        if !state.integrations.contains_key(id) {
            return Err(ServiceError::bad_request(format!(
                "Invalid target specified: {target}. Integration {id} does not exist in this API"
            )));
        }
    }
    if state
        .routes
        .values()
        .any(|r| r.route_id != route.route_id && r.route_key == route.route_key)
    {
        return Err(ServiceError::conflict(format!(
            "Route with key {} already exists for this API",
            route.route_key
        )));
    }
    Ok(())
}

impl ControlPlane {
    pub async fn create_route(
        &self,
        region: &str,
        api_id: &str,
        input: RouteInput,
    ) -> Result<Route> {
        self.mutate(region, |tx| tx.create_route(api_id, input))
            .await
    }

    pub async fn get_route(&self, region: &str, api_id: &str, route_id: &str) -> Result<Route> {
        self.read(region, |r| {
            let api = r
                .apis
                .get(api_id)
                .ok_or_else(|| crate::api_not_found(api_id))?;
            api.routes
                .get(route_id)
                .cloned()
                .ok_or_else(|| route_not_found(route_id))
        })
        .await
    }

    pub async fn get_routes(
        &self,
        region: &str,
        api_id: &str,
        page: &PageRequest,
    ) -> Result<Page<Route>> {
        self.read(region, |r| {
            let api = r
                .apis
                .get(api_id)
                .ok_or_else(|| crate::api_not_found(api_id))?;
            paginate(
                api.routes.iter().map(|(k, v)| (k.as_str(), v)).collect(),
                page,
            )
        })
        .await
    }

    pub async fn update_route(
        &self,
        region: &str,
        api_id: &str,
        route_id: &str,
        input: RouteInput,
    ) -> Result<Route> {
        self.change_route(region, api_id, route_id, |r, p| r.update(p, input))
            .await
    }

    /// Makes the route exactly `input` (Cloud Control UpdateResource), same rules.
    pub async fn replace_route(
        &self,
        region: &str,
        api_id: &str,
        route_id: &str,
        input: RouteInput,
    ) -> Result<Route> {
        self.mutate(region, |tx| tx.replace_route(api_id, route_id, input))
            .await
    }

    async fn change_route(
        &self,
        region: &str,
        api_id: &str,
        route_id: &str,
        change: impl FnOnce(&Route, apigw_model::ProtocolType) -> Result<Route>,
    ) -> Result<Route> {
        self.mutate(region, |tx| tx.change_route(api_id, route_id, change))
            .await
    }

    pub async fn delete_route(&self, region: &str, api_id: &str, route_id: &str) -> Result<()> {
        self.mutate(region, |tx| tx.delete_route(api_id, route_id))
            .await
    }

    pub async fn delete_route_request_parameter(
        &self,
        region: &str,
        api_id: &str,
        route_id: &str,
        key: &str,
    ) -> Result<()> {
        self.mutate(region, |tx| {
            let state = tx.api(api_id)?;
            let route = state
                .routes
                .get_mut(route_id)
                .ok_or_else(|| route_not_found(route_id))?;
            let removed = route
                .request_parameters
                .as_mut()
                .and_then(|p| p.remove(key));
            if removed.is_none() {
                return Err(ServiceError::not_found(format!(
                    "Invalid request parameter key specified {key}"
                )));
            }
            if route
                .request_parameters
                .as_ref()
                .is_some_and(|p| p.is_empty())
            {
                route.request_parameters = None;
            }
            let route = route.clone();
            tx.put(kind::ROUTE, format!("{api_id}/{route_id}"), &route)?;
            crate::stage::auto_deploy(tx, api_id)
        })
        .await
    }

    pub async fn create_route_response(
        &self,
        region: &str,
        api_id: &str,
        route_id: &str,
        input: RouteResponseInput,
    ) -> Result<RouteResponse> {
        self.mutate(region, |tx| {
            tx.create_route_response(api_id, route_id, input)
        })
        .await
    }

    pub async fn get_route_response(
        &self,
        region: &str,
        api_id: &str,
        route_id: &str,
        response_id: &str,
    ) -> Result<RouteResponse> {
        self.read(region, |r| {
            let api = r
                .apis
                .get(api_id)
                .ok_or_else(|| crate::api_not_found(api_id))?;
            if !api.routes.contains_key(route_id) {
                return Err(route_not_found(route_id));
            }
            api.route_responses
                .get(route_id)
                .and_then(|m| m.get(response_id))
                .cloned()
                .ok_or_else(|| route_response_not_found(response_id))
        })
        .await
    }

    pub async fn get_route_responses(
        &self,
        region: &str,
        api_id: &str,
        route_id: &str,
        page: &PageRequest,
    ) -> Result<Page<RouteResponse>> {
        self.read(region, |r| {
            let api = r
                .apis
                .get(api_id)
                .ok_or_else(|| crate::api_not_found(api_id))?;
            if !api.routes.contains_key(route_id) {
                return Err(route_not_found(route_id));
            }
            let items = api
                .route_responses
                .get(route_id)
                .map(|m| m.iter().map(|(k, v)| (k.as_str(), v)).collect())
                .unwrap_or_default();
            paginate(items, page)
        })
        .await
    }

    pub async fn update_route_response(
        &self,
        region: &str,
        api_id: &str,
        route_id: &str,
        response_id: &str,
        input: RouteResponseInput,
    ) -> Result<RouteResponse> {
        self.change_route_response(region, api_id, route_id, response_id, |r| r.update(input))
            .await
    }

    /// Makes the route response exactly `input` (Cloud Control UpdateResource), same rules.
    pub async fn replace_route_response(
        &self,
        region: &str,
        api_id: &str,
        route_id: &str,
        response_id: &str,
        input: RouteResponseInput,
    ) -> Result<RouteResponse> {
        self.mutate(region, |tx| {
            tx.replace_route_response(api_id, route_id, response_id, input)
        })
        .await
    }

    async fn change_route_response(
        &self,
        region: &str,
        api_id: &str,
        route_id: &str,
        response_id: &str,
        change: impl FnOnce(&RouteResponse) -> Result<RouteResponse>,
    ) -> Result<RouteResponse> {
        self.mutate(region, |tx| {
            tx.change_route_response(api_id, route_id, response_id, change)
        })
        .await
    }

    pub async fn delete_route_response(
        &self,
        region: &str,
        api_id: &str,
        route_id: &str,
        response_id: &str,
    ) -> Result<()> {
        self.mutate(region, |tx| {
            tx.delete_route_response(api_id, route_id, response_id)
        })
        .await
    }
}

/// The same operations as steps of one mutation (`ControlPlane::transact`).
impl Tx<'_> {
    /// Makes the route exactly `input` (Cloud Control UpdateResource), same rules.
    pub fn replace_route(
        &mut self,
        api_id: &str,
        route_id: &str,
        input: RouteInput,
    ) -> Result<Route> {
        self.change_route(api_id, route_id, |r, p| r.replace(p, input))
    }

    /// Makes the route response exactly `input`, same rules.
    pub fn replace_route_response(
        &mut self,
        api_id: &str,
        route_id: &str,
        response_id: &str,
        input: RouteResponseInput,
    ) -> Result<RouteResponse> {
        self.change_route_response(api_id, route_id, response_id, |r| r.replace(input))
    }

    pub fn create_route(&mut self, api_id: &str, input: RouteInput) -> Result<Route> {
        let tx = self;
        let state = tx.api(api_id)?;
        if state.routes.len() >= MAX_ROUTES {
            return Err(ServiceError::limit_exceeded("routes per API", MAX_ROUTES));
        }
        let id = new_id(7, |id| state.routes.contains_key(id));
        let route = Route::create(id.clone(), state.api.protocol_type, input)?;
        check_route(state, &route)?;
        state.routes.insert(id.clone(), route.clone());
        tx.put(kind::ROUTE, format!("{api_id}/{id}"), &route)?;
        crate::stage::auto_deploy(tx, api_id)?;
        Ok(route)
    }

    pub(crate) fn change_route(
        &mut self,
        api_id: &str,
        route_id: &str,
        change: impl FnOnce(&Route, apigw_model::ProtocolType) -> Result<Route>,
    ) -> Result<Route> {
        let tx = self;
        let state = tx.api(api_id)?;
        let current = state
            .routes
            .get(route_id)
            .ok_or_else(|| route_not_found(route_id))?;
        let next = change(current, state.api.protocol_type)?;
        check_route(state, &next)?;
        state.routes.insert(route_id.to_string(), next.clone());
        tx.put(kind::ROUTE, format!("{api_id}/{route_id}"), &next)?;
        crate::stage::auto_deploy(tx, api_id)?;
        Ok(next)
    }

    pub fn delete_route(&mut self, api_id: &str, route_id: &str) -> Result<()> {
        let tx = self;
        let state = tx.api(api_id)?;
        if state.routes.remove(route_id).is_none() {
            return Err(route_not_found(route_id));
        }
        let responses = state.route_responses.remove(route_id).unwrap_or_default();
        for id in responses.keys() {
            tx.delete(kind::ROUTE_RESPONSE, format!("{api_id}/{route_id}/{id}"));
        }
        tx.delete(kind::ROUTE, format!("{api_id}/{route_id}"));
        crate::stage::auto_deploy(tx, api_id)
    }

    pub fn create_route_response(
        &mut self,
        api_id: &str,
        route_id: &str,
        input: RouteResponseInput,
    ) -> Result<RouteResponse> {
        let tx = self;
        let state = tx.api(api_id)?;
        if !state.routes.contains_key(route_id) {
            return Err(route_not_found(route_id));
        }
        let existing = state
            .route_responses
            .entry(route_id.to_string())
            .or_default();
        let id = new_id(6, |id| existing.contains_key(id));
        let response = RouteResponse::create(id.clone(), input)?;
        if existing
            .values()
            .any(|r| r.route_response_key == response.route_response_key)
        {
            return Err(ServiceError::conflict(format!(
                "A route response with key {} already exists for this route",
                response.route_response_key
            )));
        }
        existing.insert(id.clone(), response.clone());
        tx.put(
            kind::ROUTE_RESPONSE,
            format!("{api_id}/{route_id}/{id}"),
            &response,
        )?;
        crate::stage::auto_deploy(tx, api_id)?;
        Ok(response)
    }

    pub(crate) fn change_route_response(
        &mut self,
        api_id: &str,
        route_id: &str,
        response_id: &str,
        change: impl FnOnce(&RouteResponse) -> Result<RouteResponse>,
    ) -> Result<RouteResponse> {
        let tx = self;
        let state = tx.api(api_id)?;
        if !state.routes.contains_key(route_id) {
            return Err(route_not_found(route_id));
        }
        let responses = state
            .route_responses
            .entry(route_id.to_string())
            .or_default();
        let current = responses
            .get(response_id)
            .ok_or_else(|| route_response_not_found(response_id))?;
        let next = change(current)?;
        if responses.values().any(|r| {
            r.route_response_id != response_id && r.route_response_key == next.route_response_key
        }) {
            return Err(ServiceError::conflict(format!(
                "A route response with key {} already exists for this route",
                next.route_response_key
            )));
        }
        responses.insert(response_id.to_string(), next.clone());
        tx.put(
            kind::ROUTE_RESPONSE,
            format!("{api_id}/{route_id}/{response_id}"),
            &next,
        )?;
        crate::stage::auto_deploy(tx, api_id)?;
        Ok(next)
    }

    pub fn delete_route_response(
        &mut self,
        api_id: &str,
        route_id: &str,
        response_id: &str,
    ) -> Result<()> {
        let tx = self;
        let state = tx.api(api_id)?;
        if !state.routes.contains_key(route_id) {
            return Err(route_not_found(route_id));
        }
        if state
            .route_responses
            .get_mut(route_id)
            .and_then(|m| m.remove(response_id))
            .is_none()
        {
            return Err(route_response_not_found(response_id));
        }
        tx.delete(
            kind::ROUTE_RESPONSE,
            format!("{api_id}/{route_id}/{response_id}"),
        );
        crate::stage::auto_deploy(tx, api_id)
    }
}
