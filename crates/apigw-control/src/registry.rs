//! The resource registry: one declaration per resource, from which the protocol layers produce
//! their operations.
//!
//! A resource is a marker type (`resources::Integration`, …) implementing [`Resource`]: its
//! restJson paths (the collection, and the item under `{ID_LABEL}`; the path labels name its
//! parents' ids and its own, in order), its Cloud Control type, its input and output shapes
//! (the apigatewayv2 wire forms, whose serde names are the wire names), and its rules: create,
//! get, list, update (merge), replace (exactly the input: Cloud Control's reconcile) and delete.
//! Each declaration lives next to its rules (api.rs, integration.rs, route.rs, stage.rs).
//!
//! From a declaration, generically:
//! * the control-plane operations: [`ControlPlane::create`], [`ControlPlane::get`], … over
//!   typed ids (`[String; N]`: parents first, then the resource's own);
//! * the restJson routes (`apigw_restjson::router`: one `resource::<R>()` line each);
//! * the Cloud Control dispatch (`apigw_cloudcontrol` types.rs: one `cc::<R>(schema, …)` line
//!   each, for the resources with a Cloud Control type).
//!
//! Mutating rules run inside a [`Tx`] (atomic by construction, tx.rs); reading rules on a
//! [`View`], which is also how a transaction reads what it is about to change.

use serde::de::DeserializeOwned;
use serde::Serialize;

use apigw_model::Result;

use crate::page::{Page, PageRequest};
use crate::{ControlPlane, Tx, View};

/// A resource's ids in path order: `[String; 0]` for none (an API's parents), `[api_id]`,
/// `[api_id, integration_id]`, …
pub trait IdList: Sized + Send + Sync + 'static {
    fn from_slice(ids: &[String]) -> Option<Self>;
    fn as_slice(&self) -> &[String];
}

impl<const N: usize> IdList for [String; N] {
    fn from_slice(ids: &[String]) -> Option<Self> {
        <[String; N]>::try_from(ids.to_vec()).ok()
    }
    fn as_slice(&self) -> &[String] {
        self
    }
}

/// One resource of the service: its declaration and its rules.
pub trait Resource: Send + Sync + 'static {
    /// The resource's name in operation names and messages (`Integration`).
    const NAME: &'static str;
    /// The restJson collection path (`/v2/apis/{apiId}/integrations`): `GET` lists, `POST`
    /// creates. Its labels are the parents' ids, in order.
    const COLLECTION: &'static str;
    /// The label of the resource's own id: the item path is `{COLLECTION}/{ID_LABEL}`
    /// (`GET` reads, `PATCH` updates, `DELETE` deletes).
    const ID_LABEL: &'static str;
    /// The `AWS::ApiGatewayV2::*` type Cloud Control serves it as, if any. Its primary
    /// identifier is the parents' ids then the resource's own, as here.
    const CLOUD_CONTROL: Option<&'static str>;

    /// The parents' ids (`[String; 1]` for a child of an API).
    type Parents: IdList;
    /// The parents' ids then the resource's own.
    type Ids: IdList;
    /// The create / update / replace request (apigatewayv2 wire form).
    type Input: DeserializeOwned + Send + 'static;
    /// The resource as answered (apigatewayv2 wire form).
    type Output: Serialize + Send + 'static;

    fn create(tx: &mut Tx<'_>, parents: &Self::Parents, input: Self::Input)
        -> Result<Self::Output>;
    fn get(view: View<'_>, ids: &Self::Ids) -> Result<Self::Output>;
    fn list(
        view: View<'_>,
        parents: &Self::Parents,
        page: &PageRequest,
    ) -> Result<Page<Self::Output>>;
    /// `Update*`: members present replace, maps merge.
    fn update(tx: &mut Tx<'_>, ids: &Self::Ids, input: Self::Input) -> Result<Self::Output>;
    /// Makes the resource exactly `input`, same rules (Cloud Control's UpdateResource).
    fn replace(tx: &mut Tx<'_>, ids: &Self::Ids, input: Self::Input) -> Result<Self::Output>;
    fn delete(tx: &mut Tx<'_>, ids: &Self::Ids) -> Result<()>;
}

/// An operation outside the five that deletes a part of a resource (DeleteCorsConfiguration,
/// DeleteRouteSettings, …): its restJson path (`DELETE`; its labels are the ids, in order) and
/// its rule.
pub trait Removal: Send + Sync + 'static {
    const PATH: &'static str;
    type Ids: IdList;
    fn delete(tx: &mut Tx<'_>, ids: &Self::Ids) -> Result<()>;
}

/// The labels of a path template, in order (`/v2/apis/{apiId}/routes` → `["apiId"]`).
pub fn path_labels(path: &str) -> impl Iterator<Item = &str> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
}

/// The item path of `R` (`/v2/apis/{apiId}/routes/{routeId}`).
pub fn item_path<R: Resource>() -> String {
    format!("{}/{{{}}}", R::COLLECTION, R::ID_LABEL)
}

/// The operations of every resource, produced from its declaration.
impl ControlPlane {
    pub async fn create<R: Resource>(
        &self,
        region: &str,
        parents: &R::Parents,
        input: R::Input,
    ) -> Result<R::Output> {
        self.mutate(region, |tx| R::create(tx, parents, input))
            .await
    }

    pub async fn get<R: Resource>(&self, region: &str, ids: &R::Ids) -> Result<R::Output> {
        self.inspect(region, |v| R::get(v, ids)).await
    }

    pub async fn list<R: Resource>(
        &self,
        region: &str,
        parents: &R::Parents,
        page: &PageRequest,
    ) -> Result<Page<R::Output>> {
        self.inspect(region, |v| R::list(v, parents, page)).await
    }

    pub async fn update<R: Resource>(
        &self,
        region: &str,
        ids: &R::Ids,
        input: R::Input,
    ) -> Result<R::Output> {
        self.mutate(region, |tx| R::update(tx, ids, input)).await
    }

    pub async fn replace<R: Resource>(
        &self,
        region: &str,
        ids: &R::Ids,
        input: R::Input,
    ) -> Result<R::Output> {
        self.mutate(region, |tx| R::replace(tx, ids, input)).await
    }

    pub async fn delete<R: Resource>(&self, region: &str, ids: &R::Ids) -> Result<()> {
        self.mutate(region, |tx| R::delete(tx, ids)).await
    }

    pub async fn remove<A: Removal>(&self, region: &str, ids: &A::Ids) -> Result<()> {
        self.mutate(region, |tx| A::delete(tx, ids)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_come_from_the_paths() {
        use crate::resources::*;
        let labels = |p: &str| path_labels(p).map(str::to_string).collect::<Vec<_>>();
        assert_eq!(labels(Api::COLLECTION), Vec::<String>::new());
        assert_eq!(
            labels(&item_path::<IntegrationResponse>()),
            ["apiId", "integrationId", "integrationResponseId"]
        );
        assert_eq!(labels(&item_path::<Stage>()), ["apiId", "stageName"]);
    }
}
