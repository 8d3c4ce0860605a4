//! Route, RouteResponse and DeleteRouteRequestParameter operations.

use apigw_model::authorizer::check_route_authorization;
use apigw_model::route::target_integration_id;
use apigw_model::{Result, Route, RouteInput, RouteResponse, RouteResponseInput, ServiceError};

use crate::page::{paginate, Page, PageRequest};
use crate::registry::{Removal, Resource};
use crate::state::{kind, ApiState, Key};
use crate::{actions, new_id, resources, Tx, View};

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

/// A route's target must name an integration of the same API; its key must be unique; its
/// authorization must fit the API's authorizers (authorizers.md §1.9 R1–R5, R7 on the merged
/// route).
fn check_route(state: &ApiState, route: &Route) -> Result<()> {
    check_route_authorization(
        state.api.protocol_type,
        route.authorization_type,
        route.authorizer_id.as_deref(),
        route.authorization_scopes.as_deref(),
        |id| state.authorizers.get(id),
    )?;
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
        return Err(ServiceError::already_exists(format!(
            "Route with key {} already exists for this API",
            route.route_key
        )));
    }
    Ok(())
}

impl Resource for resources::Route {
    const NAME: &'static str = "Route";
    const COLLECTION: &'static str = "/v2/apis/{apiId}/routes";
    const ID_LABEL: &'static str = "routeId";
    const CLOUD_CONTROL: Option<&'static str> = Some("AWS::ApiGatewayV2::Route");
    type Parents = [String; 1];
    type Ids = [String; 2];
    type Input = RouteInput;
    type Output = Route;

    fn create(tx: &mut Tx<'_>, [api]: &[String; 1], input: RouteInput) -> Result<Route> {
        tx.create_route(api, input)
    }
    fn get(view: View<'_>, [api, id]: &[String; 2]) -> Result<Route> {
        view.api(api)?
            .routes
            .get(id.as_str())
            .map(|x| Route::clone(x))
            .ok_or_else(|| route_not_found(id))
    }
    fn list(view: View<'_>, [api]: &[String; 1], page: &PageRequest) -> Result<Page<Route>> {
        let api = view.api(api)?;
        paginate(api.routes.iter().map(|(k, v)| (&**k, &**v)).collect(), page)
    }
    fn update(tx: &mut Tx<'_>, [api, id]: &[String; 2], input: RouteInput) -> Result<Route> {
        tx.change_route(api, id, |r, p| r.update(p, input))
    }
    fn replace(tx: &mut Tx<'_>, [api, id]: &[String; 2], input: RouteInput) -> Result<Route> {
        tx.change_route(api, id, |r, p| r.replace(p, input))
    }
    fn delete(tx: &mut Tx<'_>, [api, id]: &[String; 2]) -> Result<()> {
        tx.delete_route(api, id)
    }
}

impl Resource for resources::RouteResponse {
    const NAME: &'static str = "RouteResponse";
    const COLLECTION: &'static str = "/v2/apis/{apiId}/routes/{routeId}/routeresponses";
    const ID_LABEL: &'static str = "routeResponseId";
    const CLOUD_CONTROL: Option<&'static str> = Some("AWS::ApiGatewayV2::RouteResponse");
    type Parents = [String; 2];
    type Ids = [String; 3];
    type Input = RouteResponseInput;
    type Output = RouteResponse;

    fn create(
        tx: &mut Tx<'_>,
        [api, route]: &[String; 2],
        input: RouteResponseInput,
    ) -> Result<RouteResponse> {
        tx.create_route_response(api, route, input)
    }
    fn get(view: View<'_>, [api, route, id]: &[String; 3]) -> Result<RouteResponse> {
        let api = view.api(api)?;
        if !api.routes.contains_key(route.as_str()) {
            return Err(route_not_found(route));
        }
        api.route_responses
            .get(route)
            .and_then(|m| m.get(id))
            .cloned()
            .ok_or_else(|| route_response_not_found(id))
    }
    fn list(
        view: View<'_>,
        [api, route]: &[String; 2],
        page: &PageRequest,
    ) -> Result<Page<RouteResponse>> {
        let api = view.api(api)?;
        if !api.routes.contains_key(route.as_str()) {
            return Err(route_not_found(route));
        }
        let items = api
            .route_responses
            .get(route)
            .map(|m| m.iter().map(|(k, v)| (k.as_str(), v)).collect())
            .unwrap_or_default();
        paginate(items, page)
    }
    fn update(
        tx: &mut Tx<'_>,
        [api, route, id]: &[String; 3],
        input: RouteResponseInput,
    ) -> Result<RouteResponse> {
        tx.change_route_response(api, route, id, |r| r.update(input))
    }
    fn replace(
        tx: &mut Tx<'_>,
        [api, route, id]: &[String; 3],
        input: RouteResponseInput,
    ) -> Result<RouteResponse> {
        tx.change_route_response(api, route, id, |r| r.replace(input))
    }
    fn delete(tx: &mut Tx<'_>, [api, route, id]: &[String; 3]) -> Result<()> {
        tx.delete_route_response(api, route, id)
    }
}

/// Removes one request parameter of a route.
impl Removal for actions::DeleteRouteRequestParameter {
    const PATH: &'static str =
        "/v2/apis/{apiId}/routes/{routeId}/requestparameters/{requestParameterKey}";
    type Ids = [String; 3];

    fn delete(tx: &mut Tx<'_>, [api_id, route_id, key]: &[String; 3]) -> Result<()> {
        let state = tx.api(api_id)?;
        let route = state
            .routes
            .get_mut(route_id.as_str())
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
    }
}

/// The rules, as steps of one transaction.
impl Tx<'_> {
    pub(crate) fn create_route(&mut self, api_id: &str, input: RouteInput) -> Result<Route> {
        let tx = self;
        let state = tx.api(api_id)?;
        if state.routes.len() >= MAX_ROUTES {
            return Err(ServiceError::limit_exceeded("routes per API", MAX_ROUTES));
        }
        let id = new_id(7, |id| state.routes.contains_key(id));
        let route = Route::create(id.clone(), state.api.protocol_type, input)?;
        check_route(state, &route)?;
        state
            .routes
            .insert(Key::from(id.as_str()), route.clone().into());
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
        state
            .routes
            .insert(Key::from(route_id), next.clone().into());
        tx.put(kind::ROUTE, format!("{api_id}/{route_id}"), &next)?;
        crate::stage::auto_deploy(tx, api_id)?;
        Ok(next)
    }

    pub(crate) fn delete_route(&mut self, api_id: &str, route_id: &str) -> Result<()> {
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

    pub(crate) fn create_route_response(
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
            return Err(ServiceError::already_exists(format!(
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
            return Err(ServiceError::already_exists(format!(
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

    pub(crate) fn delete_route_response(
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
