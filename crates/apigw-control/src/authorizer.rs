//! Authorizer operations (authorizers.md §1) and ResetAuthorizersCache (§1.7).
//!
//! The shape and its own rules are `apigw_model::authorizer`; here are the rules that need the
//! rest of the API: unique names (V2), the quota (V20), routes that must still match an
//! authorizer they use after it changes (§1.4), the 409 on deleting one a route uses (§1.6).
//!
//! **The authorizer result cache epoch.** Lambda authorizer results are cached by the data plane
//! (§3.7), per stage. `ResetAuthorizersCache` validates its request (API, stage, HTTP API) and
//! bumps that stage's epoch ([`ControlPlane::authorizer_cache_epoch`]), then reports a change like
//! any write, so the data plane rebuilds its snapshot: the new `ServedStage::authorizer_cache_epoch`
//! (carried into the data plane's `StageEntry`) differs from the one its cached results were made
//! under, and they are dropped. Epochs live in memory only, as the cache does (§6.5): they start at
//! 0 with the process, and a new deployment of the stage or a change of the authorizer reaches the
//! data plane as a new snapshot anyway.

use std::collections::HashMap;
use std::sync::Mutex;

use apigw_model::authorizer::{check_route_authorization, MAX_AUTHORIZERS};
use apigw_model::{Authorizer, AuthorizerInput, ProtocolType, Result, ServiceError};

use crate::page::{paginate, Page, PageRequest};
use crate::registry::Resource;
use crate::state::{kind, ApiState};
use crate::{new_id, resources, ControlPlane, Tx, View};

fn authorizer_not_found(id: &str) -> ServiceError {
    ServiceError::NotFound {
        message: format!("Invalid Authorizer identifier specified {id}"),
        resource_type: None,
    }
}

/// V2: names are unique within an API. AWS's text (seen on HTTP APIs) says "RestApi".
fn check_name(state: &ApiState, a: &Authorizer) -> Result<()> {
    if state
        .authorizers
        .values()
        .any(|o| o.authorizer_id != a.authorizer_id && o.name == a.name)
    {
        return Err(ServiceError::bad_request(format!(
            "Authorizer name must be unique. Authorizer {} already exists in this RestApi.",
            a.name
        )));
    }
    Ok(())
}

/// §1.4: after a change of `next`, every route that uses it must still be valid (R1, R2: a
/// `CUSTOM` route needs a `REQUEST` authorizer, a `JWT` route a `JWT` one).
fn check_users(state: &ApiState, next: &Authorizer) -> Result<()> {
    let protocol = state.api.protocol_type;
    for route in state.routes.values() {
        if route.authorizer_id.as_deref() != Some(next.authorizer_id.as_str()) {
            continue;
        }
        check_route_authorization(
            protocol,
            route.authorization_type,
            route.authorizer_id.as_deref(),
            route.authorization_scopes.as_deref(),
            |id| (id == next.authorizer_id).then_some(next),
        )
        .map_err(|e| {
            ServiceError::bad_request(format!(
                "Authorizer {} is used by route {} and the change would make that route invalid: {e}",
                next.authorizer_id, route.route_key
            ))
        })?;
    }
    Ok(())
}

impl Resource for resources::Authorizer {
    const NAME: &'static str = "Authorizer";
    const COLLECTION: &'static str = "/v2/apis/{apiId}/authorizers";
    const ID_LABEL: &'static str = "authorizerId";
    const CLOUD_CONTROL: Option<&'static str> = Some("AWS::ApiGatewayV2::Authorizer");
    type Parents = [String; 1];
    type Ids = [String; 2];
    type Input = AuthorizerInput;
    type Output = Authorizer;

    fn create(tx: &mut Tx<'_>, [api]: &[String; 1], input: AuthorizerInput) -> Result<Authorizer> {
        tx.create_authorizer(api, input)
    }
    fn get(view: View<'_>, [api, id]: &[String; 2]) -> Result<Authorizer> {
        view.api(api)?
            .authorizers
            .get(id)
            .cloned()
            .ok_or_else(|| authorizer_not_found(id))
    }
    fn list(view: View<'_>, [api]: &[String; 1], page: &PageRequest) -> Result<Page<Authorizer>> {
        let api = view.api(api)?;
        paginate(
            api.authorizers
                .iter()
                .map(|(k, v)| (k.as_str(), v))
                .collect(),
            page,
        )
    }
    fn update(
        tx: &mut Tx<'_>,
        [api, id]: &[String; 2],
        input: AuthorizerInput,
    ) -> Result<Authorizer> {
        tx.change_authorizer(api, id, |a, p| a.update(p, input))
    }
    fn replace(
        tx: &mut Tx<'_>,
        [api, id]: &[String; 2],
        input: AuthorizerInput,
    ) -> Result<Authorizer> {
        tx.change_authorizer(api, id, |a, p| a.replace(p, input))
    }
    fn delete(tx: &mut Tx<'_>, [api, id]: &[String; 2]) -> Result<()> {
        tx.delete_authorizer(api, id)
    }
}

/// The rules, as steps of one transaction.
impl Tx<'_> {
    pub(crate) fn create_authorizer(
        &mut self,
        api_id: &str,
        input: AuthorizerInput,
    ) -> Result<Authorizer> {
        let tx = self;
        let state = tx.api(api_id)?;
        let id = new_id(6, |id| state.authorizers.contains_key(id));
        let authorizer = Authorizer::create(id.clone(), state.api.protocol_type, input)?;
        check_name(state, &authorizer)?;
        // V20, after the request itself was found valid.
        if state.authorizers.len() >= MAX_AUTHORIZERS {
            return Err(ServiceError::limit_exceeded(
                "authorizers per API",
                MAX_AUTHORIZERS,
            ));
        }
        state.authorizers.insert(id.clone(), authorizer.clone());
        tx.put(kind::AUTHORIZER, format!("{api_id}/{id}"), &authorizer)?;
        crate::stage::auto_deploy(tx, api_id)?;
        Ok(authorizer)
    }

    pub(crate) fn change_authorizer(
        &mut self,
        api_id: &str,
        authorizer_id: &str,
        change: impl FnOnce(&Authorizer, ProtocolType) -> Result<Authorizer>,
    ) -> Result<Authorizer> {
        let tx = self;
        let state = tx.api(api_id)?;
        let current = state
            .authorizers
            .get(authorizer_id)
            .ok_or_else(|| authorizer_not_found(authorizer_id))?;
        let next = change(current, state.api.protocol_type)?;
        check_name(state, &next)?;
        check_users(state, &next)?;
        state
            .authorizers
            .insert(authorizer_id.to_string(), next.clone());
        tx.put(kind::AUTHORIZER, format!("{api_id}/{authorizer_id}"), &next)?;
        crate::stage::auto_deploy(tx, api_id)?;
        Ok(next)
    }

    pub(crate) fn delete_authorizer(&mut self, api_id: &str, authorizer_id: &str) -> Result<()> {
        let tx = self;
        let state = tx.api(api_id)?;
        let current = state
            .authorizers
            .get(authorizer_id)
            .ok_or_else(|| authorizer_not_found(authorizer_id))?;
        // §1.6, AWS's text.
        if let Some(route) = state
            .routes
            .values()
            .find(|r| r.authorizer_id.as_deref() == Some(authorizer_id))
        {
            return Err(ServiceError::conflict(format!(
                "Cannot delete authorizer '{}', is referenced in route: {}",
                current.name, route.route_key
            )));
        }
        state.authorizers.remove(authorizer_id);
        tx.delete(kind::AUTHORIZER, format!("{api_id}/{authorizer_id}"));
        crate::stage::auto_deploy(tx, api_id)
    }
}

/// Per (region, API, stage): how many times its authorizer cache was reset (in memory only).
#[derive(Default)]
pub(crate) struct CacheEpochs(Mutex<HashMap<(String, String, String), u64>>);

impl CacheEpochs {
    fn get(&self, region: &str, api_id: &str, stage: &str) -> u64 {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&(region.to_string(), api_id.to_string(), stage.to_string()))
            .copied()
            .unwrap_or(0)
    }

    fn bump(&self, region: &str, api_id: &str, stage: &str) -> u64 {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let e = map
            .entry((region.to_string(), api_id.to_string(), stage.to_string()))
            .or_default();
        *e += 1;
        *e
    }

    /// Every epoch, for building served stages without a lock per stage.
    pub(crate) fn all(&self) -> HashMap<(String, String, String), u64> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl ControlPlane {
    /// ResetAuthorizersCache (`DELETE /v2/apis/{apiId}/stages/{stageName}/cache/authorizers`):
    /// unknown API or stage → 404, a WebSocket API → 400 ("Supported only for HTTP APIs");
    /// otherwise the stage's authorizer cache epoch moves on and a change is reported, so the
    /// data plane drops that stage's cached Lambda authorizer results. Nothing is stored.
    pub async fn reset_authorizers_cache(
        &self,
        region: &str,
        api_id: &str,
        stage_name: &str,
    ) -> Result<()> {
        self.inspect(region, |view| {
            let api = view.api(api_id)?;
            if !api.stages.contains_key(stage_name) {
                return Err(crate::stage::stage_not_found());
            }
            if api.api.protocol_type != ProtocolType::Http {
                return Err(ServiceError::bad_request(
                    "ResetAuthorizersCache is supported only for HTTP APIs",
                ));
            }
            Ok(())
        })
        .await?;
        self.authorizer_cache.bump(region, api_id, stage_name);
        self.count_change();
        Ok(())
    }

    /// How many times the authorizer cache of this stage was reset since the process started
    /// (0 before the first reset). The data plane reads it through `ServedStage`.
    pub fn authorizer_cache_epoch(&self, region: &str, api_id: &str, stage_name: &str) -> u64 {
        self.authorizer_cache.get(region, api_id, stage_name)
    }
}
