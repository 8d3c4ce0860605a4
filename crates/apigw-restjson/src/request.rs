//! Pieces of a request the handlers need: the region (from SigV4), URI labels, query
//! parameters and a JSON body — each failing with an AWS-shaped error, never a panic.

use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use percent_encoding::percent_decode_str;
use serde::de::DeserializeOwned;

use apigw_control::registry::path_labels;
use apigw_control::{IdList, Removal, Resource};

use crate::error::WireError;

/// The region every request without a SigV4 scope is served in.
pub const DEFAULT_REGION: &str = "us-east-1";

/// The region of the request's SigV4 credential scope
/// (`Credential=AKID/20260101/eu-west-1/apigateway/aws4_request`).
pub struct Region(pub String);

pub fn region_from_parts(parts: &Parts) -> String {
    let from_header = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            // SDKs put the credential first; only other layouts need the search.
            let rest = match v.strip_prefix("AWS4-HMAC-SHA256 Credential=") {
                Some(rest) => rest,
                None => &v[v.find("Credential=")? + "Credential=".len()..],
            };
            let end = rest
                .bytes()
                .position(|b| b == b',' || b == b' ')
                .unwrap_or(rest.len());
            Some(&rest[..end])
        });
    let region = match from_header {
        Some(credential) => scope_region(credential).map(str::to_string),
        None => query_pairs(parts.uri.query().unwrap_or(""))
            .into_iter()
            .find(|(k, _)| k == "X-Amz-Credential")
            .and_then(|(_, credential)| scope_region(&credential).map(str::to_string)),
    };
    region.unwrap_or_else(|| DEFAULT_REGION.to_string())
}

/// The region of a credential scope `AKID/DATE/REGION/SERVICE/aws4_request`, when it looks like one.
fn scope_region(credential: &str) -> Option<&str> {
    credential.split('/').nth(2).filter(|r| {
        !r.is_empty()
            && r.len() <= 32
            && r.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    })
}

impl<S: Send + Sync> FromRequestParts<S> for Region {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Region(region_from_parts(parts)))
    }
}

/// URI labels, percent-decoded (`%24default` → `$default`).
pub struct Labels(RawPathParams);

impl Labels {
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find_map(|(k, v)| (k == name).then_some(v))
            .unwrap_or("")
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Labels {
    type Rejection = WireError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match RawPathParams::from_request_parts(parts, state).await {
            Ok(params) => Ok(Labels(params)),
            Err(e) => Err(WireError::bad_request(format!(
                "Invalid request path: {}",
                e.body_text()
            ))),
        }
    }
}

/// The parents' ids of registry resource `R`, read from the labels of its collection path.
pub struct ParentIds<R: Resource>(pub R::Parents);

/// The ids of registry resource `R` (parents first), read from the labels of its item path.
pub struct ItemIds<R: Resource>(pub R::Ids);

/// The ids of registry removal `A`, read from the labels of its path.
pub struct RemovalIds<A: Removal>(pub A::Ids);

impl<S: Send + Sync, A: Removal> FromRequestParts<S> for RemovalIds<A> {
    type Rejection = WireError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let names: Vec<&str> = path_labels(A::PATH).collect();
        Ok(RemovalIds(typed(parts, &names).await?))
    }
}

/// The values of `names`, in order, as the ids `L`.
async fn typed<L: IdList>(parts: &mut Parts, names: &[&str]) -> Result<L, WireError> {
    let values: Vec<String> = if names.is_empty() {
        Vec::new()
    } else {
        let labels = Labels::from_request_parts(parts, &()).await?;
        names.iter().map(|n| labels.get(n).to_string()).collect()
    };
    L::from_slice(&values).ok_or_else(|| {
        WireError::Service(apigw_model::ServiceError::internal(
            apigw_model::Origin::Service,
            format!("the route's labels {names:?} do not match its resource's ids"),
        ))
    })
}

impl<S: Send + Sync, R: Resource> FromRequestParts<S> for ParentIds<R> {
    type Rejection = WireError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let names: Vec<&str> = path_labels(R::COLLECTION).collect();
        Ok(ParentIds(typed(parts, &names).await?))
    }
}

impl<S: Send + Sync, R: Resource> FromRequestParts<S> for ItemIds<R> {
    type Rejection = WireError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let mut names: Vec<&str> = path_labels(R::COLLECTION).collect();
        names.push(R::ID_LABEL);
        Ok(ItemIds(typed(parts, &names).await?))
    }
}

pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let dec = |s: &str| {
                percent_decode_str(&s.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (dec(k), dec(v))
        })
        .collect()
}

/// Query parameters, decoded; repeated names keep every value.
pub struct Query(pub Vec<(String, String)>);

impl Query {
    pub fn get(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Query {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Query(query_pairs(parts.uri.query().unwrap_or(""))))
    }
}

/// A JSON request body. SDKs send no body (and no content type) on some calls: that is `{}`.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = WireError;

    async fn from_request(req: Request, _: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::to_bytes(req.into_body(), apigw_model::limits::CONTROL_PLANE_BODY)
            .await
            .map_err(|_| WireError::PayloadTooLarge)?;
        let slice: &[u8] = if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            b"{}"
        } else {
            &bytes
        };
        // An object decodes straight into the input; anything else, or a body that does not
        // decode, goes the long way (a `Value` first), whose errors say which of the three it
        // is. (A struct would also decode from an array, which must be refused.)
        if slice.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
            if let Ok(input) = serde_json::from_slice::<T>(slice) {
                return Ok(JsonBody(input));
            }
        }
        match serde_json::from_slice::<serde_json::Value>(slice) {
            Ok(v) if v.is_object() => serde_json::from_value(v)
                .map(JsonBody)
                .map_err(|e| WireError::bad_request(format!("Invalid request body: {e}"))),
            Ok(_) => Err(WireError::bad_request(
                "Invalid request body: expected a JSON object",
            )),
            Err(e) => Err(WireError::bad_request(format!(
                "Invalid request body: malformed JSON ({e})"
            ))),
        }
    }
}
