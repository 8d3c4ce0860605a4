//! Route authorization on HTTP APIs (authorizers.md §2, §3, §5): after route selection and
//! throttling, before parameter mapping and the integration. A route is open (`NONE`), checked
//! with a JWT authorizer, a Lambda `REQUEST` authorizer or SigV4 (`AWS_IAM`). What an authorizer
//! lets through reaches the integration (`requestContext.authorizer`), mappings and access logs
//! (`$context.authorizer.*`, `$context.identity.*`).
//!
//! The rules themselves are pure (`apigw_dataplane_rules::{jwt, lambda_authorizer, iam}`); this
//! module evaluates identity sources, fetches keys ([`crate::jwks`]), invokes functions and keeps
//! the Lambda authorizers' result cache.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use apigw_dataplane_rules::context::RequestContext;
use apigw_dataplane_rules::iam::IamCaller;
use apigw_dataplane_rules::jwt::{self, Denial};
use apigw_dataplane_rules::lambda_authorizer::{self as la, AuthorizerResult, CacheKey, Invalid};
use apigw_lambda::payload::PayloadFormat;
use apigw_model::authorizer::{Authorizer, IdentitySource};
use apigw_model::{AuthorizationType, AuthorizerType, ProtocolType};
use serde_json::{Map, Value};

use crate::response::GatewayError;

/// AWS's limit on a Lambda authorizer's answer time (authorizers.md §3.8).
pub(crate) const LAMBDA_AUTHORIZER_TIMEOUT: Duration = Duration::from_secs(10);
/// Cached Lambda authorizer results kept at most (oldest first out).
const RESULT_CACHE_ENTRIES: usize = 10_000;

/// A JWT authorizer, compiled once per deployment.
#[derive(Debug)]
pub struct JwtAuthorizer {
    pub authorizer_id: String,
    pub issuer: String,
    pub audiences: Vec<String>,
    /// Exactly one for JWT authorizers (the control plane checks it).
    pub source: Option<IdentitySource>,
    /// `jwt::issuer_allowed`, decided once.
    pub issuer_allowed: bool,
}

/// A Lambda `REQUEST` authorizer, compiled once per deployment.
#[derive(Debug)]
pub struct LambdaAuthorizer {
    pub authorizer_id: String,
    pub function: Result<apigw_lambda::FunctionRef, String>,
    pub format: PayloadFormat,
    pub simple: bool,
    pub ttl: Duration,
    pub sources: Vec<IdentitySource>,
}

/// How a route is authorized.
#[derive(Debug, Default)]
pub enum RouteAuth {
    #[default]
    None,
    Iam,
    Jwt {
        authorizer: Arc<JwtAuthorizer>,
        /// The route's `authorizationScopes` (empty: no scope check).
        scopes: Vec<String>,
    },
    Lambda(Arc<LambdaAuthorizer>),
    /// The route names an authorizer its deployment lacks: every call fails (500).
    Broken(String),
}

impl RouteAuth {
    pub fn is_none(&self) -> bool {
        matches!(self, RouteAuth::None)
    }

    /// Whether authorizing reads `$context` (a Lambda authorizer's event, a `$context.X`
    /// identity source): then it is rendered first.
    pub fn reads_context(&self) -> bool {
        match self {
            RouteAuth::Lambda(_) => true,
            RouteAuth::Jwt { authorizer, .. } => {
                matches!(authorizer.source, Some(IdentitySource::Context(_)))
            }
            RouteAuth::None | RouteAuth::Iam | RouteAuth::Broken(_) => false,
        }
    }
}

/// A deployment's authorizers, compiled once and shared by its routes.
#[derive(Default)]
pub struct Compiled {
    jwt: BTreeMap<String, Arc<JwtAuthorizer>>,
    lambda: BTreeMap<String, Arc<LambdaAuthorizer>>,
}

impl Compiled {
    pub fn new(authorizers: &BTreeMap<String, Authorizer>, protocol: ProtocolType) -> Compiled {
        let mut c = Compiled::default();
        for (id, a) in authorizers {
            let sources = a.identity_sources(protocol);
            match a.authorizer_type {
                AuthorizerType::Jwt => {
                    let jwt = a.jwt_configuration.clone().unwrap_or_default();
                    c.jwt.insert(
                        id.clone(),
                        Arc::new(JwtAuthorizer {
                            authorizer_id: id.clone(),
                            issuer_allowed: jwt::issuer_allowed(
                                jwt.issuer.as_deref().unwrap_or(""),
                            ),
                            issuer: jwt.issuer.unwrap_or_default(),
                            audiences: jwt.audience.unwrap_or_default(),
                            source: sources.into_iter().next(),
                        }),
                    );
                }
                AuthorizerType::Request => {
                    let format = match a
                        .authorizer_payload_format_version
                        .map(|v| v.to_string())
                        .as_deref()
                    {
                        Some("1.0") => PayloadFormat::V1,
                        _ => PayloadFormat::V2,
                    };
                    let function = a
                        .function_arn()
                        .ok_or_else(|| format!("authorizer {id} has no Lambda function URI"))
                        .and_then(|arn| {
                            apigw_lambda::FunctionRef::from_integration_uri(arn)
                                .map_err(|e| e.to_string())
                        });
                    c.lambda.insert(
                        id.clone(),
                        Arc::new(LambdaAuthorizer {
                            authorizer_id: id.clone(),
                            function,
                            format,
                            simple: format == PayloadFormat::V2 && a.simple_responses(),
                            ttl: Duration::from_secs(u64::from(a.result_ttl_seconds())),
                            sources,
                        }),
                    );
                }
            }
        }
        c
    }

    /// The authorization of a route.
    pub fn route(&self, route: &apigw_model::Route) -> RouteAuth {
        let id = route.authorizer_id.as_deref().unwrap_or("");
        match route.authorization_type {
            AuthorizationType::None => RouteAuth::None,
            AuthorizationType::AwsIam => RouteAuth::Iam,
            AuthorizationType::Jwt => match self.jwt.get(id) {
                Some(a) => RouteAuth::Jwt {
                    authorizer: a.clone(),
                    scopes: route.authorization_scopes.clone().unwrap_or_default(),
                },
                None => RouteAuth::Broken(format!("JWT authorizer {id} is not deployed")),
            },
            AuthorizationType::Custom => match self.lambda.get(id) {
                Some(a) => RouteAuth::Lambda(a.clone()),
                None => RouteAuth::Broken(format!("Lambda authorizer {id} is not deployed")),
            },
        }
    }
}

/// What an authorizer let through.
#[derive(Debug, Clone)]
pub enum Authorized {
    Jwt {
        /// Shared with the verified-token cache: a reused token copies nothing.
        claims: Arc<Vec<(String, String)>>,
        scopes: Option<Vec<String>>,
    },
    Lambda {
        principal_id: Option<String>,
        context: Map<String, Value>,
        latency_ms: u64,
    },
    Iam(IamCaller),
}

impl Authorized {
    /// `requestContext.authorizer` of the integration's Lambda event (§2.5, §3.5, §5).
    pub fn event_value(&self, format: PayloadFormat) -> Value {
        match (self, format) {
            (Authorized::Jwt { claims, scopes }, _) => {
                let claims: Map<String, Value> = claims
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect();
                let scopes = scopes.as_ref().map_or(Value::Null, |s| {
                    Value::Array(s.iter().cloned().map(Value::String).collect())
                });
                let inner = serde_json::json!({"claims": claims, "scopes": scopes});
                match format {
                    PayloadFormat::V2 => serde_json::json!({ "jwt": inner }),
                    PayloadFormat::V1 => inner,
                }
            }
            (Authorized::Lambda { context, .. }, PayloadFormat::V2) => {
                serde_json::json!({ "lambda": context })
            }
            (
                Authorized::Lambda {
                    principal_id,
                    context,
                    latency_ms,
                },
                PayloadFormat::V1,
            ) => {
                // REST's convention: the context's keys flattened, with the principal.
                let mut m = context.clone();
                if let Some(p) = principal_id {
                    m.insert("principalId".into(), p.clone().into());
                }
                m.insert("integrationLatency".into(), (*latency_ms).into());
                Value::Object(m)
            }
            (Authorized::Iam(c), PayloadFormat::V2) => serde_json::json!({"iam": {
                "accessKey": c.access_key,
                "accountId": c.account_id,
                "callerId": c.caller_id,
                "cognitoIdentity": null,
                "principalOrgId": null,
                "userArn": c.user_arn,
                "userId": c.caller_id,
            }}),
            // 1.0 has no authorizer object for IAM: the identity carries it.
            (Authorized::Iam(_), PayloadFormat::V1) => {
                serde_json::json!({"claims": null, "scopes": null})
            }
        }
    }

    /// What the event needs besides `requestContext.authorizer`: a 1.0 event's identity for
    /// IAM callers (§5).
    pub fn amend_event(&self, format: PayloadFormat, event: &mut Value) {
        if let (Authorized::Iam(c), PayloadFormat::V1) = (self, format) {
            if let Some(identity) = event
                .get_mut("requestContext")
                .and_then(|r| r.get_mut("identity"))
                .and_then(Value::as_object_mut)
            {
                identity.insert("accessKey".into(), c.access_key.clone().into());
                identity.insert("accountId".into(), c.account_id.clone().into());
                identity.insert("caller".into(), c.caller_id.clone().into());
                identity.insert("user".into(), c.caller_id.clone().into());
                identity.insert("userArn".into(), c.user_arn.clone().into());
            }
        }
    }

    /// `$context.authorizer.*` and `$context.identity.*`.
    pub fn record(&self, ctx: &mut RequestContext) {
        match self {
            Authorized::Jwt { claims, .. } => {
                for (k, v) in claims.iter() {
                    ctx.authorizer.insert(format!("claims.{k}"), v.clone());
                }
            }
            Authorized::Lambda {
                principal_id,
                context,
                ..
            } => {
                if let Some(p) = principal_id {
                    ctx.authorizer.insert("principalId".into(), p.clone());
                }
                for (k, v) in context {
                    let text = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    ctx.authorizer.insert(k.clone(), text);
                }
            }
            Authorized::Iam(c) => {
                for (k, v) in [
                    ("accessKey", &c.access_key),
                    ("accountId", &c.account_id),
                    ("caller", &c.caller_id),
                    ("user", &c.caller_id),
                    ("userArn", &c.user_arn),
                ] {
                    ctx.identity.insert(k.to_string(), v.clone());
                }
            }
        }
    }
}

/// A refused request: the answer, and why (`$context.authorizer.error`).
#[derive(Debug)]
pub struct Denied {
    pub error: GatewayError,
    pub www_authenticate: Option<String>,
    pub body: Option<String>,
    pub reason: String,
}

impl Denied {
    fn jwt(d: Denial) -> Denied {
        Denied {
            error: if d.status() == 403 {
                GatewayError::Forbidden
            } else {
                GatewayError::Unauthorized
            },
            www_authenticate: Some(d.www_authenticate()),
            body: None,
            reason: d.description().to_string(),
        }
    }

    pub(crate) fn plain(error: GatewayError, reason: impl Into<String>) -> Denied {
        Denied {
            error,
            www_authenticate: None,
            body: None,
            reason: reason.into(),
        }
    }

    pub fn into_response(self) -> http::Response<axum::body::Body> {
        let mut r = match self.body {
            Some(body) => {
                let mut r = http::Response::new(axum::body::Body::from(body));
                *r.status_mut() = self.error.status();
                r.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    http::HeaderValue::from_static("application/json"),
                );
                r
            }
            None => self.error.into_response(),
        };
        if let Some(w) = self
            .www_authenticate
            .and_then(|w| http::HeaderValue::from_str(&w).ok())
        {
            r.headers_mut().insert(http::header::WWW_AUTHENTICATE, w);
        }
        r
    }
}

/// The request as authorizers read it.
pub struct AuthRequest<'a> {
    pub parts: &'a http::request::Parts,
    /// The hex SHA-256 of the body, for `AWS_IAM` (the caller buffered it).
    pub body_hash: Option<&'a str>,
    pub stage: &'a crate::snapshot::StageEntry,
    pub route: &'a crate::routing::RouteMatch<'a, crate::snapshot::RouteTarget>,
    pub stage_prefix: &'a str,
    pub route_path: &'a str,
    pub ctx: &'a RequestContext,
    pub client: &'a crate::Client,
}

/// The Lambda authorizers' result cache (§3.7).
pub struct ResultCache(Mutex<la::ResultCache>);

impl Default for ResultCache {
    fn default() -> Self {
        ResultCache(Mutex::new(la::ResultCache::new(RESULT_CACHE_ENTRIES)))
    }
}

impl ResultCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, la::ResultCache> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Authorizes a request for its route. `Ok(None)`: the route is open.
pub async fn authorize(
    dp: &crate::DataPlane,
    auth: &RouteAuth,
    req: &AuthRequest<'_>,
) -> Result<Option<Authorized>, Denied> {
    match auth {
        RouteAuth::None => Ok(None),
        RouteAuth::Broken(reason) => {
            tracing::warn!(api = %req.stage.api_id, route = %req.route.route_key, %reason, "route authorizer missing");
            Err(Denied::plain(
                GatewayError::InternalServerError,
                reason.clone(),
            ))
        }
        RouteAuth::Iam => iam(dp, req.parts, req.body_hash).map(Some),
        RouteAuth::Jwt { authorizer, scopes } => jwt(dp, authorizer, scopes, req).await.map(Some),
        RouteAuth::Lambda(a) => lambda(dp, a, req).await.map(Some),
    }
}

/// `AWS_IAM`: the request's SigV4 signature (`body_hash`: the body's, when not sent).
pub(crate) fn iam(
    dp: &crate::DataPlane,
    parts: &http::request::Parts,
    body_hash: Option<&str>,
) -> Result<Authorized, Denied> {
    let signed = apigw_sigv4::RequestParts {
        method: parts.method.as_str(),
        raw_path: parts.uri.path(),
        raw_query: parts.uri.query().unwrap_or(""),
        headers: &parts.headers,
    };
    // SHA-256 of nothing: the hash of a request without a body.
    const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    apigw_dataplane_rules::iam::authorize(
        dp.config.credentials.as_deref(),
        &signed,
        body_hash.unwrap_or(EMPTY),
        SystemTime::now(),
        dp.cp.account_id(),
    )
    .map(Authorized::Iam)
    .map_err(|d| Denied {
        error: GatewayError::Forbidden,
        www_authenticate: None,
        body: Some(d.body()),
        reason: d.message,
    })
}

/// One identity source's value (§3.1, §4): `None` when absent or empty. A single header
/// value is borrowed, not copied (a JWT travels this way on every request).
pub(crate) fn source_value<'r>(
    source: &IdentitySource,
    parts: &'r http::request::Parts,
    ctx: &RequestContext,
    stage_variables: &BTreeMap<String, String>,
) -> Option<std::borrow::Cow<'r, str>> {
    use std::borrow::Cow;
    let v: Option<Cow<'r, str>> = match source {
        IdentitySource::Header(name) => {
            let mut values = parts
                .headers
                .get_all(name.as_str())
                .iter()
                .filter_map(|v| v.to_str().ok());
            match (values.next(), values.next()) {
                (None, _) => None,
                (Some(one), None) => Some(Cow::Borrowed(one)),
                (Some(first), Some(second)) => {
                    let mut all = vec![first, second];
                    all.extend(values);
                    Some(Cow::Owned(all.join(",")))
                }
            }
        }
        IdentitySource::QueryString(name) => {
            let query = parts.uri.query().unwrap_or("");
            let values: Vec<String> = query
                .split('&')
                .filter_map(|pair| {
                    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                    (decode(k) == *name).then(|| decode(v))
                })
                .collect();
            (!values.is_empty()).then(|| Cow::Owned(values.join(",")))
        }
        IdentitySource::Context(name) => ctx.get(name).map(|v| Cow::Owned(v.into_owned())),
        IdentitySource::StageVariable(name) => stage_variables.get(name).cloned().map(Cow::Owned),
    };
    v.filter(|v| !v.is_empty())
}

fn decode(s: &str) -> String {
    let plus = s.replace('+', " ");
    percent_encoding::percent_decode_str(&plus)
        .decode_utf8_lossy()
        .into_owned()
}

async fn jwt(
    dp: &crate::DataPlane,
    a: &JwtAuthorizer,
    route_scopes: &[String],
    req: &AuthRequest<'_>,
) -> Result<Authorized, Denied> {
    let value = a
        .source
        .as_ref()
        .and_then(|s| source_value(s, req.parts, req.ctx, &req.stage.stage_variables));
    let token = value
        .as_deref()
        .and_then(jwt::token_from)
        .ok_or_else(|| Denied::jwt(Denial::Missing))?;
    if !a.issuer_allowed {
        return Err(Denied::jwt(Denial::InsecureIssuer));
    }
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let want = jwt::Expected {
        issuer: &a.issuer,
        audiences: &a.audiences,
        route_scopes,
        now,
    };
    // A token whose signature was verified lately is not verified again: its claims are
    // checked (time, issuer, audience, scopes) on every request.
    let verified = match dp.verified_tokens.get(&a.issuer, token) {
        Some(v) => v,
        None => {
            let decoded = jwt::decode(token).map_err(Denied::jwt)?;
            let keys = dp
                .jwks
                .keys(&dp.backends, &a.issuer, decoded.kid.as_deref())
                .await
                .map_err(Denied::jwt)?;
            decoded
                .verify(decoded.key(&keys).map_err(Denied::jwt)?)
                .map_err(Denied::jwt)?;
            let v = Arc::new(VerifiedToken {
                strings: Arc::new(jwt::claims_as_strings(&decoded.claims)),
                facts: jwt::ClaimFacts::read(&decoded.claims),
            });
            dp.verified_tokens.put(&a.issuer, token, v.clone());
            v
        }
    };
    let scopes = verified.facts.check(&want).map_err(Denied::jwt)?;
    Ok(Authorized::Jwt {
        claims: verified.strings.clone(),
        scopes,
    })
}

/// A token whose signature verified, by issuer and token text.
pub struct VerifiedToken {
    facts: jwt::ClaimFacts,
    strings: Arc<Vec<(String, String)>>,
}

/// Tokens verified in the last [`VERIFIED_FOR`], at most [`VERIFIED_TOKENS`] of them: a client
/// that sends the same token with every request pays for its RSA signature once. (As long
/// as a key set is kept: a token never outlives the keys it was checked with by more.)
#[derive(Default)]
pub struct VerifiedTokens(Mutex<rustc_hash::FxHashMap<Box<str>, Verified>>);

struct Verified {
    issuer: String,
    token: Arc<VerifiedToken>,
    at: Instant,
}

const VERIFIED_TOKENS: usize = 10_000;
const VERIFIED_FOR: Duration = Duration::from_secs(300);

impl VerifiedTokens {
    fn get(&self, issuer: &str, token: &str) -> Option<Arc<VerifiedToken>> {
        // Keyed by the token's text (only verified tokens get in, so a client cannot fill the
        // table with colliding keys); the issuer must match too.
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(token)
            .filter(|v| v.issuer == issuer && v.at.elapsed() < VERIFIED_FOR)
            .map(|v| v.token.clone())
    }

    fn put(&self, issuer: &str, token: &str, v: Arc<VerifiedToken>) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= VERIFIED_TOKENS {
            map.retain(|_, v| v.at.elapsed() < VERIFIED_FOR);
            if map.len() >= VERIFIED_TOKENS {
                map.clear();
            }
        }
        map.insert(
            token.into(),
            Verified {
                issuer: issuer.to_string(),
                token: v,
                at: Instant::now(),
            },
        );
    }
}

async fn lambda(
    dp: &crate::DataPlane,
    a: &LambdaAuthorizer,
    req: &AuthRequest<'_>,
) -> Result<Authorized, Denied> {
    let unauthorized = || Denied::plain(GatewayError::Unauthorized, "identity source missing");
    let mut values = Vec::with_capacity(a.sources.len());
    for s in &a.sources {
        let v = source_value(s, req.parts, req.ctx, &req.stage.stage_variables);
        values.push(v.ok_or_else(unauthorized)?.into_owned());
    }
    let stage = req.stage;
    let route_arn = la::route_arn(
        &stage.region,
        dp.cp.account_id(),
        &stage.api_id,
        &stage.stage_name,
        req.parts.method.as_str(),
        req.route_path,
    );
    // Keyed by the deployment and the stage's cache epoch too: a new deployment or
    // ResetAuthorizersCache makes older entries unreachable (they age out).
    let key = (!a.sources.is_empty() && !a.ttl.is_zero()).then(|| CacheKey {
        stage: format!(
            "{}/{}/{}/{}",
            stage.api_id, stage.stage_name, stage.deployment_id, stage.authorizer_cache_epoch
        ),
        authorizer_id: a.authorizer_id.clone(),
        identity: values.clone(),
    });
    let cached = key
        .as_ref()
        .and_then(|k| dp.authorizer_results.lock().get(k, Instant::now()).cloned());
    let started = Instant::now();
    let result = match cached {
        Some(r) => r,
        None => {
            let r = invoke(dp, a, req, &route_arn, &values).await?;
            if let Some(k) = key {
                dp.authorizer_results
                    .lock()
                    .put(k, r.clone(), a.ttl, Instant::now());
            }
            r
        }
    };
    if !result.allows(&route_arn) {
        return Err(Denied::plain(
            GatewayError::Forbidden,
            "the authorizer denied the request",
        ));
    }
    Ok(Authorized::Lambda {
        principal_id: result.principal_id,
        context: result.context,
        latency_ms: started.elapsed().as_millis() as u64,
    })
}

/// Reads what an authorizer function returned: its answer, or the request's refusal.
pub(crate) fn read_answer(
    authorizer_id: &str,
    out: &apigw_lambda::InvokeOutcome,
    simple: bool,
) -> Result<AuthorizerResult, Denied> {
    let failed = |why: String| {
        tracing::info!(authorizer = %authorizer_id, error = %why, "Lambda authorizer failed");
        Denied::plain(GatewayError::InternalServerError, why)
    };
    let unauthorized = || {
        Denied::plain(
            GatewayError::Unauthorized,
            "the authorizer answered Unauthorized",
        )
    };
    if out.function_error.is_some() {
        return Err(match la::function_error(&out.payload) {
            Invalid::Unauthorized => unauthorized(),
            Invalid::Malformed(why) => failed(why),
        });
    }
    la::parse_result(&out.payload, simple).map_err(|e| match e {
        Invalid::Unauthorized => unauthorized(),
        Invalid::Malformed(why) => failed(why),
    })
}

/// Runs the authorizer function: its answer, or the request's refusal (never cached).
async fn invoke(
    dp: &crate::DataPlane,
    a: &LambdaAuthorizer,
    req: &AuthRequest<'_>,
    route_arn: &str,
    values: &[String],
) -> Result<AuthorizerResult, Denied> {
    let failed = |why: String| {
        tracing::info!(authorizer = %a.authorizer_id, error = %why, "Lambda authorizer failed");
        Denied::plain(GatewayError::InternalServerError, why)
    };
    let function = a.function.as_ref().map_err(|e| failed(e.clone()))?;
    let mut headers = req.parts.headers.clone();
    crate::proxy::add_forwarding_headers(dp, &mut headers, req.client, req.ctx);
    let facts = crate::lambda::event_request(crate::lambda::EventFacts {
        method: req.parts.method.as_str(),
        raw_path: format!("{}{}", req.stage_prefix, req.route_path),
        raw_query: req.parts.uri.query().unwrap_or("").to_string(),
        headers: &headers,
        body: bytes::Bytes::new(),
        route: req.route,
        stage: req.stage,
        ctx: req.ctx,
        client: req.client,
    });
    let event = match a.format {
        PayloadFormat::V2 => apigw_lambda::payload::authorizer_event_v2(&facts, route_arn, values),
        PayloadFormat::V1 => apigw_lambda::payload::authorizer_event_v1(&facts, route_arn, values),
    };
    let out = dp
        .lambda
        .invoke(
            function,
            bytes::Bytes::from(event.to_string()),
            LAMBDA_AUTHORIZER_TIMEOUT,
        )
        .await
        .map_err(|e| failed(e.to_string()))?;
    read_answer(&a.authorizer_id, &out, a.simple)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_empty_body_hash_is_sha256_of_nothing() {
        assert_eq!(
            apigw_sigv4::payload_hash(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
