//! Stage and Deployment operations, and auto-deploy.

use apigw_model::stage::AUTO_DEPLOY_DESCRIPTION;
use apigw_model::{
    Deployment, DeploymentInput, ProtocolType, Result, ServiceError, Stage, StageInput,
};

use crate::page::{paginate, Page, PageRequest};
use crate::registry::{Removal, Resource};
use crate::state::{kind, DeploymentEntry};
use crate::{actions, new_id, resources, Tx, View};

/// Stages per API (quota).
pub const MAX_STAGES: usize = 10;

pub(crate) fn stage_not_found() -> ServiceError {
    ServiceError::NotFound {
        message: "Invalid stage identifier specified".into(),
        resource_type: None,
    }
}

fn deployment_not_found(id: &str) -> ServiceError {
    ServiceError::NotFound {
        message: format!("Invalid Deployment identifier specified {id}"),
        resource_type: None,
    }
}

fn no_routes_error(protocol: ProtocolType) -> ServiceError {
    ServiceError::bad_request(match protocol {
        ProtocolType::Http => "Unable to deploy API because no routes exist in this API",
        ProtocolType::WebSocket => "At least one route is required before deploying the Api",
    })
}

/// Every `routeSettings` entry a request adds or changes must name one of the API's route keys,
/// exactly (`ANY /x` is not `GET /x`): AWS answers 404 "Unable to find Route by key … within the
/// provided RouteSettings" otherwise (seen from CreateStage and UpdateStage). Entries left as they
/// were are not checked again, so a stage keeps settings of a route deleted since.
fn check_route_settings_keys(
    routes: &std::collections::BTreeMap<
        crate::state::Key,
        crate::state::Shared<apigw_model::Route>,
    >,
    before: Option<&Stage>,
    after: &Stage,
) -> Result<()> {
    for (key, settings) in &after.route_settings {
        if before.and_then(|b| b.route_settings.get(key)) == Some(settings) {
            continue;
        }
        if !routes.values().any(|r| r.route_key == *key) {
            return Err(ServiceError::NotFound {
                message: format!(
                    "Unable to find Route by key {key} within the provided RouteSettings"
                ),
                resource_type: None,
            });
        }
    }
    Ok(())
}

/// Records a deployment of the API's current configuration.
fn deploy(
    tx: &mut Tx<'_>,
    api_id: &str,
    description: Option<String>,
    auto: bool,
) -> Result<Deployment> {
    let now = tx.now;
    let state = tx.api(api_id)?;
    let id = new_id(6, |id| state.deployments.contains_key(id));
    let deployment = Deployment::new(id.clone(), now, description, auto)?;
    let entry = DeploymentEntry {
        deployment: deployment.clone(),
        snapshot: state.snapshot(),
    };
    state
        .deployments
        .insert(id.clone(), std::sync::Arc::new(entry.clone()));
    tx.put(kind::DEPLOYMENT, format!("{api_id}/{id}"), &entry)?;
    Ok(deployment)
}

fn point_stage(tx: &mut Tx<'_>, api_id: &str, stage_name: &str, deployment_id: &str) -> Result<()> {
    let now = tx.now;
    let state = tx.api(api_id)?;
    let Some(stage) = state.stages.get_mut(stage_name) else {
        return Err(stage_not_found());
    };
    stage.deployment_id = Some(deployment_id.to_string());
    stage.last_updated_date = now;
    stage.last_deployment_status_message = Some(format!(
        "Successfully deployed stage with deployment ID '{deployment_id}'"
    ));
    let stage = stage.clone();
    tx.put(kind::STAGE, format!("{api_id}/{stage_name}"), &stage)
}

/// After any change to an API's configuration: every `autoDeploy` stage gets a new deployment.
/// An API without routes cannot be deployed; its auto-deploy stages wait for the first route.
pub(crate) fn auto_deploy(tx: &mut Tx<'_>, api_id: &str) -> Result<()> {
    let state = tx.api(api_id)?;
    if state.routes.is_empty() {
        return Ok(());
    }
    let stages: Vec<String> = state
        .stages
        .values()
        .filter(|s| s.is_auto_deploy())
        .map(|s| s.stage_name.clone())
        .collect();
    for name in stages {
        let d = deploy(tx, api_id, Some(AUTO_DEPLOY_DESCRIPTION.into()), true)?;
        point_stage(tx, api_id, &name, &d.deployment_id)?;
    }
    Ok(())
}

impl Resource for resources::Stage {
    const NAME: &'static str = "Stage";
    const COLLECTION: &'static str = "/v2/apis/{apiId}/stages";
    const ID_LABEL: &'static str = "stageName";
    const CLOUD_CONTROL: Option<&'static str> = Some("AWS::ApiGatewayV2::Stage");
    type Parents = [String; 1];
    type Ids = [String; 2];
    type Input = StageInput;
    type Output = Stage;

    fn create(tx: &mut Tx<'_>, [api]: &[String; 1], input: StageInput) -> Result<Stage> {
        tx.create_stage(api, input)
    }
    fn get(view: View<'_>, [api, name]: &[String; 2]) -> Result<Stage> {
        view.api(api)?
            .stages
            .get(name)
            .map(|x| Stage::clone(x))
            .ok_or_else(stage_not_found)
    }
    fn list(view: View<'_>, [api]: &[String; 1], page: &PageRequest) -> Result<Page<Stage>> {
        let api = view.api(api)?;
        paginate(
            api.stages.iter().map(|(k, v)| (k.as_str(), &**v)).collect(),
            page,
        )
    }
    fn update(tx: &mut Tx<'_>, [api, name]: &[String; 2], input: StageInput) -> Result<Stage> {
        tx.change_stage(api, name, |s, _, now| s.update(now, input))
    }
    fn replace(tx: &mut Tx<'_>, [api, name]: &[String; 2], input: StageInput) -> Result<Stage> {
        tx.change_stage(api, name, |s, p, now| s.replace(p, now, input))
    }
    fn delete(tx: &mut Tx<'_>, [api, name]: &[String; 2]) -> Result<()> {
        tx.delete_stage(api, name)
    }
}

impl Resource for resources::Deployment {
    const NAME: &'static str = "Deployment";
    const COLLECTION: &'static str = "/v2/apis/{apiId}/deployments";
    const ID_LABEL: &'static str = "deploymentId";
    const CLOUD_CONTROL: Option<&'static str> = Some("AWS::ApiGatewayV2::Deployment");
    type Parents = [String; 1];
    type Ids = [String; 2];
    type Input = DeploymentInput;
    type Output = Deployment;

    fn create(tx: &mut Tx<'_>, [api]: &[String; 1], input: DeploymentInput) -> Result<Deployment> {
        tx.create_deployment(api, input)
    }
    fn get(view: View<'_>, [api, id]: &[String; 2]) -> Result<Deployment> {
        view.api(api)?
            .deployments
            .get(id)
            .map(|e| e.deployment.clone())
            .ok_or_else(|| deployment_not_found(id))
    }
    fn list(view: View<'_>, [api]: &[String; 1], page: &PageRequest) -> Result<Page<Deployment>> {
        let api = view.api(api)?;
        paginate(
            api.deployments
                .iter()
                .map(|(k, v)| (k.as_str(), &v.deployment))
                .collect(),
            page,
        )
    }
    fn update(
        tx: &mut Tx<'_>,
        [api, id]: &[String; 2],
        input: DeploymentInput,
    ) -> Result<Deployment> {
        tx.update_deployment(api, id, input)
    }
    /// The description is set or cleared; a `stageName` (write-only in CloudFormation) points
    /// that stage at this deployment, as CreateDeployment does.
    fn replace(
        tx: &mut Tx<'_>,
        [api, id]: &[String; 2],
        input: DeploymentInput,
    ) -> Result<Deployment> {
        tx.replace_deployment(api, id, input)
    }
    fn delete(tx: &mut Tx<'_>, [api, id]: &[String; 2]) -> Result<()> {
        tx.delete_deployment(api, id)
    }
}

/// Removes a stage's settings for one route key.
impl Removal for actions::DeleteRouteSettings {
    const PATH: &'static str = "/v2/apis/{apiId}/stages/{stageName}/routesettings/{routeKey}";
    type Ids = [String; 3];

    fn delete(tx: &mut Tx<'_>, [api_id, stage_name, route_key]: &[String; 3]) -> Result<()> {
        let now = tx.now;
        let state = tx.api(api_id)?;
        let stage = state
            .stages
            .get_mut(stage_name)
            .ok_or_else(stage_not_found)?;
        if stage.route_settings.remove(route_key).is_none() {
            return Err(ServiceError::not_found(format!(
                "Invalid route settings specified: no settings for route key {route_key}"
            )));
        }
        stage.last_updated_date = now;
        let stage = stage.clone();
        tx.put(kind::STAGE, format!("{api_id}/{stage_name}"), &stage)
    }
}

/// Removes a stage's access log settings.
impl Removal for actions::DeleteAccessLogSettings {
    const PATH: &'static str = "/v2/apis/{apiId}/stages/{stageName}/accesslogsettings";
    type Ids = [String; 2];

    fn delete(tx: &mut Tx<'_>, [api_id, stage_name]: &[String; 2]) -> Result<()> {
        let now = tx.now;
        let state = tx.api(api_id)?;
        let stage = state
            .stages
            .get_mut(stage_name)
            .ok_or_else(stage_not_found)?;
        stage.access_log_settings = None;
        stage.last_updated_date = now;
        let stage = stage.clone();
        tx.put(kind::STAGE, format!("{api_id}/{stage_name}"), &stage)
    }
}

/// The rules, as steps of one transaction.
impl Tx<'_> {
    pub(crate) fn update_deployment(
        &mut self,
        api_id: &str,
        deployment_id: &str,
        input: DeploymentInput,
    ) -> Result<Deployment> {
        let tx = self;
        if input.stage_name.is_some() {
            return Err(ServiceError::bad_request(
                "StageName cannot be updated on a deployment",
            ));
        }
        apigw_model::validate::opt_length("description", &input.description, 0, 1024)?;
        let state = tx.api(api_id)?;
        let entry = state
            .deployments
            .get_mut(deployment_id)
            .ok_or_else(|| deployment_not_found(deployment_id))?;
        let entry = std::sync::Arc::make_mut(entry);
        if let Some(d) = input.description {
            entry.deployment.description = Some(d);
        }
        let entry = entry.clone();
        tx.put(
            kind::DEPLOYMENT,
            format!("{api_id}/{deployment_id}"),
            &entry,
        )?;
        Ok(entry.deployment)
    }

    pub(crate) fn create_stage(&mut self, api_id: &str, input: StageInput) -> Result<Stage> {
        let tx = self;
        let now = tx.now;
        let state = tx.api(api_id)?;
        let stage = Stage::create(state.api.protocol_type, now, input)?;
        if state.stages.contains_key(&stage.stage_name) {
            return Err(ServiceError::already_exists(format!(
                "Stage {} already exists",
                stage.stage_name
            )));
        }
        if state.stages.len() >= MAX_STAGES {
            return Err(ServiceError::limit_exceeded("stages per API", MAX_STAGES));
        }
        if let Some(d) = &stage.deployment_id {
            if !state.deployments.contains_key(d) {
                return Err(deployment_not_found(d));
            }
        }
        check_route_settings_keys(&state.routes, None, &stage)?;
        let name = stage.stage_name.clone();
        state.stages.insert(name.clone(), stage.clone().into());
        tx.put(kind::STAGE, format!("{api_id}/{name}"), &stage)?;
        if stage.is_auto_deploy() && !tx.api(api_id)?.routes.is_empty() {
            let d = deploy(tx, api_id, Some(AUTO_DEPLOY_DESCRIPTION.into()), true)?;
            point_stage(tx, api_id, &name, &d.deployment_id)?;
        }
        tx.api(api_id)?
            .stages
            .get(&name)
            .map(|s| Stage::clone(s))
            .ok_or_else(stage_not_found)
    }

    pub(crate) fn change_stage(
        &mut self,
        api_id: &str,
        stage_name: &str,
        change: impl FnOnce(&Stage, ProtocolType, apigw_model::Timestamp) -> Result<Stage>,
    ) -> Result<Stage> {
        let tx = self;
        let now = tx.now;
        let state = tx.api(api_id)?;
        let current = state.stages.get(stage_name).ok_or_else(stage_not_found)?;
        let was_auto = current.is_auto_deploy();
        let next = change(current, state.api.protocol_type, now)?;
        check_route_settings_keys(&state.routes, Some(current), &next)?;
        if let Some(d) = &next.deployment_id {
            if !state.deployments.contains_key(d) {
                return Err(deployment_not_found(d));
            }
        }
        state
            .stages
            .insert(stage_name.to_string(), next.clone().into());
        tx.put(kind::STAGE, format!("{api_id}/{stage_name}"), &next)?;
        if next.is_auto_deploy() && !was_auto && !tx.api(api_id)?.routes.is_empty() {
            let d = deploy(tx, api_id, Some(AUTO_DEPLOY_DESCRIPTION.into()), true)?;
            point_stage(tx, api_id, stage_name, &d.deployment_id)?;
        }
        tx.api(api_id)?
            .stages
            .get(stage_name)
            .map(|s| Stage::clone(s))
            .ok_or_else(stage_not_found)
    }

    pub(crate) fn delete_stage(&mut self, api_id: &str, stage_name: &str) -> Result<()> {
        let tx = self;
        let state = tx.api(api_id)?;
        if state.stages.remove(stage_name).is_none() {
            return Err(stage_not_found());
        }
        tx.delete(kind::STAGE, format!("{api_id}/{stage_name}"));
        Ok(())
    }

    pub(crate) fn create_deployment(
        &mut self,
        api_id: &str,
        input: DeploymentInput,
    ) -> Result<Deployment> {
        let tx = self;
        let state = tx.api(api_id)?;
        if state.routes.is_empty() {
            return Err(no_routes_error(state.api.protocol_type));
        }
        if let Some(name) = &input.stage_name {
            let stage = state.stages.get(name).ok_or_else(stage_not_found)?;
            if stage.is_auto_deploy() {
                return Err(ServiceError::bad_request(format!(
                    "Stage {name} has autoDeploy enabled; its deployments are made automatically"
                )));
            }
        }
        let d = deploy(tx, api_id, input.description, false)?;
        if let Some(name) = &input.stage_name {
            point_stage(tx, api_id, name, &d.deployment_id)?;
        }
        Ok(d)
    }

    pub(crate) fn replace_deployment(
        &mut self,
        api_id: &str,
        deployment_id: &str,
        input: DeploymentInput,
    ) -> Result<Deployment> {
        let tx = self;
        apigw_model::validate::opt_length("description", &input.description, 0, 1024)?;
        let state = tx.api(api_id)?;
        if !state.deployments.contains_key(deployment_id) {
            return Err(deployment_not_found(deployment_id));
        }
        if let Some(name) = &input.stage_name {
            let stage = state.stages.get(name).ok_or_else(stage_not_found)?;
            if stage.is_auto_deploy() {
                return Err(ServiceError::bad_request(format!(
                    "Stage {name} has autoDeploy enabled; its deployments are made automatically"
                )));
            }
        }
        let entry = state
            .deployments
            .get_mut(deployment_id)
            .ok_or_else(|| deployment_not_found(deployment_id))?;
        let entry = std::sync::Arc::make_mut(entry);
        entry.deployment.description = input.description;
        let entry = entry.clone();
        tx.put(
            kind::DEPLOYMENT,
            format!("{api_id}/{deployment_id}"),
            &entry,
        )?;
        if let Some(name) = &input.stage_name {
            point_stage(tx, api_id, name, deployment_id)?;
        }
        Ok(entry.deployment)
    }

    pub(crate) fn delete_deployment(&mut self, api_id: &str, deployment_id: &str) -> Result<()> {
        let tx = self;
        let state = tx.api(api_id)?;
        if !state.deployments.contains_key(deployment_id) {
            return Err(deployment_not_found(deployment_id));
        }
        if let Some(stage) = state
            .stages
            .values()
            .find(|s| s.deployment_id.as_deref() == Some(deployment_id))
        {
            return Err(ServiceError::bad_request(format!(
                "Active stages pointing to this deployment must be moved or deleted (stage {})",
                stage.stage_name
            )));
        }
        state.deployments.remove(deployment_id);
        tx.delete(kind::DEPLOYMENT, format!("{api_id}/{deployment_id}"));
        Ok(())
    }
}
