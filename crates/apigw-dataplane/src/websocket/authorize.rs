//! `$connect` authorization of WebSocket APIs (authorizers.md §4): a Lambda `REQUEST`
//! authorizer (an IAM policy answer, never cached) or `AWS_IAM` on the upgrade request. A
//! refusal answers the handshake (401, 403 or 500) and no `$connect` integration runs; what an
//! authorizer lets through stays with the connection for every later event.

use serde_json::{Map, Value};

use apigw_dataplane_rules::context::RequestContext;

use super::integrate::ConnectRequest;
use crate::authorizer::{self, Authorized, Denied, RouteAuth};
use crate::response::GatewayError;
use crate::snapshot::StageEntry;
use crate::DataPlane;

/// Authorizes a `$connect`; `Ok(None)` when the route is open.
pub(super) async fn connect(
    dp: &DataPlane,
    auth: &RouteAuth,
    parts: &http::request::Parts,
    connect: &ConnectRequest,
    stage: &StageEntry,
    ctx: &RequestContext,
) -> Result<Option<Authorized>, Denied> {
    let a = match auth {
        RouteAuth::None => return Ok(None),
        // The upgrade is a GET without a body.
        RouteAuth::Iam => return authorizer::iam(dp, parts, None).map(Some),
        RouteAuth::Lambda(a) => a,
        RouteAuth::Jwt { .. } | RouteAuth::Broken(_) => {
            return Err(Denied::plain(
                GatewayError::InternalServerError,
                "the $connect route's authorizer cannot run",
            ))
        }
    };
    let mut values = Vec::with_capacity(a.sources.len());
    for s in &a.sources {
        match authorizer::source_value(s, parts, ctx, &stage.stage_variables) {
            Some(v) => values.push(v.into_owned()),
            None => {
                return Err(Denied::plain(
                    GatewayError::Unauthorized,
                    "identity source missing",
                ))
            }
        }
    }
    let function = a
        .function
        .as_ref()
        .map_err(|e| Denied::plain(GatewayError::InternalServerError, e.clone()))?;
    // "In the case of $connect, methodArn ends with $connect."
    let method_arn = format!(
        "arn:aws:execute-api:{}:{}:{}/{}/$connect",
        stage.region,
        dp.cp.account_id(),
        stage.api_id,
        stage.stage_name
    );
    let event =
        super::event::connect_authorizer_event(ctx, connect, &stage.stage_variables, &method_arn);
    let started = std::time::Instant::now();
    let out = dp
        .lambda
        .invoke(
            function,
            bytes::Bytes::from(event.to_string()),
            authorizer::LAMBDA_AUTHORIZER_TIMEOUT,
        )
        .await
        .map_err(|e| Denied::plain(GatewayError::InternalServerError, e.to_string()))?;
    // WebSocket authorizers answer with policies only (no simple responses).
    let result = authorizer::read_answer(&a.authorizer_id, &out, false)?;
    if !result.allows(&method_arn) {
        return Err(Denied::plain(
            GatewayError::Forbidden,
            "the authorizer denied the connection",
        ));
    }
    Ok(Some(Authorized::Lambda {
        principal_id: result.principal_id,
        context: result.context,
        latency_ms: started.elapsed().as_millis() as u64,
    }))
}

/// What a connection's events carry as `requestContext.authorizer`: the principal and the
/// context's keys, flattened, values as returned (§4).
pub(super) fn event_authorizer(a: &Authorized) -> Option<Map<String, Value>> {
    match a {
        Authorized::Lambda {
            principal_id,
            context,
            latency_ms,
        } => {
            let mut m = Map::new();
            if let Some(p) = principal_id {
                m.insert("principalId".into(), Value::String(p.clone()));
            }
            for (k, v) in context {
                m.insert(k.clone(), v.clone());
            }
            m.insert("integrationLatency".into(), Value::from(*latency_ms));
            Some(m)
        }
        Authorized::Jwt { .. } | Authorized::Iam(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use apigw_dataplane_rules::lambda_authorizer::wildcard;

    #[test]
    fn connect_arns_match_connect_policies() {
        let arn = "arn:aws:execute-api:us-east-1:000000000000:abc/prod/$connect";
        assert!(wildcard("arn:aws:execute-api:*:*:abc/*/$connect", arn));
        assert!(!wildcard("arn:aws:execute-api:*:*:abc/*/GET/*", arn));
    }
}
