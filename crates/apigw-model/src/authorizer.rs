//! `Authorizer`: JWT and Lambda `REQUEST` authorizers of HTTP and WebSocket APIs
//! (authorizers.md §1), and the route rules that refer to them (§1.9, [`check_route_authorization`]).
//!
//! The serde form is the apigatewayv2 wire form (botocore `Authorizer`, `CreateAuthorizerRequest`):
//! camelCase members, unset members omitted. The CloudFormation form (`AWS::ApiGatewayV2::Authorizer`)
//! is the PascalCase of the same names.
//!
//! For the data plane: an [`Authorizer`] that exists has passed [`Authorizer::validate`] for its
//! API's protocol, so a `JWT` one has exactly one `$request.header.`/`$request.querystring.`
//! identity source, an issuer and at least one audience; a `REQUEST` one has a Lambda
//! invocation URI ([`Authorizer::function_arn`]) and, on HTTP APIs, a payload format version.
//! [`IdentitySource::parse`] reads an identity source into what to extract from a request.

use serde::{Deserialize, Serialize};

use crate::enums::{AuthorizationType, AuthorizerType, PayloadFormatVersion, ProtocolType};
use crate::error::{Result, ServiceError};
use crate::validate;

/// Authorizers per API (HTTP "Authorizers per API", WebSocket "Lambda authorizers per API").
pub const MAX_AUTHORIZERS: usize = 10;
/// Audiences per JWT authorizer.
pub const MAX_AUDIENCES: usize = 50;
/// `authorizationScopes` per route.
pub const MAX_SCOPES: usize = 10;
/// The upper bound of `authorizerResultTtlInSeconds` (one hour).
pub const MAX_RESULT_TTL_SECONDS: i64 = 3600;

/// `jwtConfiguration`: who issues the tokens and for whom.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JwtConfiguration {
    /// A token is valid when its `aud` (or `client_id`) matches one of these.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audience: Option<Vec<String>>,
    /// Must equal the token's `iss` exactly; discovery is `{issuer}/.well-known/openid-configuration`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
}

/// An authorizer as stored and answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Authorizer {
    pub authorizer_id: String,
    /// Stored and echoed; never assumed locally (§6.4).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorizer_credentials_arn: Option<String>,
    /// `REQUEST` on HTTP APIs: the Lambda event format (required there); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorizer_payload_format_version: Option<PayloadFormatVersion>,
    /// Result cache TTL; absent means 0, caching off ([`Authorizer::result_ttl_seconds`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorizer_result_ttl_in_seconds: Option<i64>,
    pub authorizer_type: AuthorizerType,
    /// `REQUEST`: `arn:{partition}:apigateway:{region}:lambda:path/2015-03-31/functions/{lambdaArn}/invocations`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorizer_uri: Option<String>,
    /// HTTP `REQUEST` with payload 2.0: the function may answer `{"isAuthorized": bool}`.
    /// Absent means false (an IAM policy answer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_simple_responses: Option<bool>,
    /// Selection expressions (see [`IdentitySource`]), in the order given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_source: Option<Vec<String>>,
    /// "This parameter is not used": accepted and echoed, never evaluated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_validation_expression: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwt_configuration: Option<JwtConfiguration>,
    pub name: String,
}

/// CreateAuthorizer / UpdateAuthorizer (and Cloud Control's desired state), wire form.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizerInput {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorizer_credentials_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorizer_payload_format_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorizer_result_ttl_in_seconds: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorizer_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorizer_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_simple_responses: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_source: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_validation_expression: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwt_configuration: Option<JwtConfiguration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Where an identity source reads its value from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentitySource {
    /// `$request.header.X` (HTTP) / `route.request.header.X` (WebSocket); names match
    /// case-insensitively.
    Header(String),
    /// `$request.querystring.X` / `route.request.querystring.X`; case-sensitive.
    QueryString(String),
    /// `$context.X` / `context.X`.
    Context(String),
    /// `$stageVariables.X` / `stageVariables.X`.
    StageVariable(String),
}

fn is_header_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'!' | b'#'
                        | b'$'
                        | b'%'
                        | b'&'
                        | b'\''
                        | b'*'
                        | b'+'
                        | b'-'
                        | b'.'
                        | b'^'
                        | b'_'
                        | b'`'
                        | b'|'
                        | b'~'
                )
        })
}

fn is_variable_name(s: &str, dots: bool) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || (dots && c == '.'))
}

impl IdentitySource {
    /// Parses an identity source in the grammar of `protocol`: HTTP APIs use `$request.header.X`,
    /// `$request.querystring.X`, `$context.X`, `$stageVariables.X`; WebSocket APIs
    /// `route.request.header.X`, `route.request.querystring.X`, `context.X`, `stageVariables.X`.
    pub fn parse(protocol: ProtocolType, source: &str) -> Option<IdentitySource> {
        let (header, query, context, stage) = match protocol {
            ProtocolType::Http => (
                "$request.header.",
                "$request.querystring.",
                "$context.",
                "$stageVariables.",
            ),
            ProtocolType::WebSocket => (
                "route.request.header.",
                "route.request.querystring.",
                "context.",
                "stageVariables.",
            ),
        };
        if let Some(n) = source.strip_prefix(header) {
            return is_header_token(n).then(|| IdentitySource::Header(n.to_string()));
        }
        if let Some(n) = source.strip_prefix(query) {
            let ok = !n.is_empty()
                && !n
                    .chars()
                    .any(|c| c.is_control() || c.is_whitespace() || matches!(c, '&' | '=' | '#'));
            return ok.then(|| IdentitySource::QueryString(n.to_string()));
        }
        if let Some(n) = source.strip_prefix(context) {
            return is_variable_name(n, true).then(|| IdentitySource::Context(n.to_string()));
        }
        if let Some(n) = source.strip_prefix(stage) {
            return is_variable_name(n, false)
                .then(|| IdentitySource::StageVariable(n.to_string()));
        }
        None
    }
}

fn invalid_identity_source(value: &str) -> ServiceError {
    ServiceError::bad_request(format!("Invalid identity source specified: {value}"))
}

/// The Lambda function ARN of an invocation URI
/// `arn:{partition}:apigateway:{region}:lambda:path/2015-03-31/functions/{lambdaArn}/invocations`,
/// or None when the URI is not of that form. `{lambdaArn}` may carry a version or alias.
pub fn lambda_function_of_uri(uri: &str) -> Option<&str> {
    let p: Vec<&str> = uri.splitn(6, ':').collect();
    if p.len() != 6
        || p[0] != "arn"
        || p[1].is_empty()
        || p[2] != "apigateway"
        || p[3].is_empty()
        || p[4] != "lambda"
    {
        return None;
    }
    let arn = p[5]
        .strip_prefix("path/2015-03-31/functions/")?
        .strip_suffix("/invocations")?;
    let f: Vec<&str> = arn.split(':').collect();
    let ok = (7..=8).contains(&f.len())
        && f[0] == "arn"
        && !f[1].is_empty()
        && f[2] == "lambda"
        && !f[3].is_empty()
        && !f[4].is_empty()
        && f[5] == "function"
        && !f[6].is_empty()
        && f.get(7).is_none_or(|q| !q.is_empty())
        && !arn.contains('/');
    ok.then_some(arn)
}

/// `arn:{partition}:iam::{12 digits}:role/{name}` (V19).
fn is_role_arn(arn: &str) -> bool {
    let p: Vec<&str> = arn.splitn(6, ':').collect();
    p.len() == 6
        && p[0] == "arn"
        && !p[1].is_empty()
        && p[2] == "iam"
        && p[3].is_empty()
        && p[4].len() == 12
        && p[4].bytes().all(|b| b.is_ascii_digit())
        && p[5].strip_prefix("role/").is_some_and(|n| !n.is_empty())
}

fn is_absolute_http_url(s: &str) -> bool {
    s.strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .is_some_and(|rest| {
            let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
            !host.is_empty() && !rest.chars().any(|c| c.is_whitespace() || c.is_control())
        })
}

impl Authorizer {
    /// CreateAuthorizer: defaults, then §1.3 for the API's protocol.
    pub fn create(
        authorizer_id: String,
        protocol: ProtocolType,
        input: AuthorizerInput,
    ) -> Result<Authorizer> {
        let name = input
            .name
            .clone()
            .ok_or_else(|| ServiceError::bad_request("Name is required"))?;
        let authorizer_type = match &input.authorizer_type {
            Some(t) => AuthorizerType::parse_member(t, "authorizer type")?,
            None => return Err(ServiceError::bad_request("AuthorizerType is required")),
        };
        let mut a = Authorizer {
            authorizer_id,
            authorizer_credentials_arn: None,
            authorizer_payload_format_version: None,
            authorizer_result_ttl_in_seconds: None,
            authorizer_type,
            authorizer_uri: None,
            enable_simple_responses: None,
            identity_source: None,
            identity_validation_expression: None,
            jwt_configuration: None,
            name,
        };
        a.merge(input)?;
        a.validate(protocol)?;
        Ok(a)
    }

    /// UpdateAuthorizer: members present replace (lists and `jwtConfiguration` whole), the
    /// merged result is validated as a new one would be (§1.4).
    pub fn update(&self, protocol: ProtocolType, input: AuthorizerInput) -> Result<Authorizer> {
        let mut next = self.clone();
        next.merge(input)?;
        next.validate(protocol)?;
        Ok(next)
    }

    /// Makes the authorizer exactly `input` (Cloud Control's reconcile-to-model), same rules.
    pub fn replace(&self, protocol: ProtocolType, input: AuthorizerInput) -> Result<Authorizer> {
        Authorizer::create(self.authorizer_id.clone(), protocol, input)
    }

    fn merge(&mut self, input: AuthorizerInput) -> Result<()> {
        if let Some(v) = input.authorizer_type {
            self.authorizer_type = AuthorizerType::parse_member(&v, "authorizer type")?;
        }
        if let Some(v) = input.name {
            self.name = v;
        }
        if let Some(v) = input.authorizer_credentials_arn {
            // "" clears it (what SDKs send to remove a member).
            self.authorizer_credentials_arn = (!v.is_empty()).then_some(v);
        }
        if let Some(v) = input.authorizer_payload_format_version {
            self.authorizer_payload_format_version = Some(PayloadFormatVersion::parse_member(
                &v,
                "authorizer payload format version",
            )?);
        }
        if let Some(v) = input.authorizer_result_ttl_in_seconds {
            validate::range_i64("authorizerResultTtlInSeconds", v, 0, MAX_RESULT_TTL_SECONDS)?;
            self.authorizer_result_ttl_in_seconds = Some(v);
        }
        if let Some(v) = input.authorizer_uri {
            self.authorizer_uri = (!v.is_empty()).then_some(v);
        }
        if let Some(v) = input.enable_simple_responses {
            self.enable_simple_responses = Some(v);
        }
        if let Some(v) = input.identity_source {
            self.identity_source = Some(v);
        }
        if let Some(v) = input.identity_validation_expression {
            self.identity_validation_expression = Some(v);
        }
        if let Some(v) = input.jwt_configuration {
            self.jwt_configuration = Some(v);
        }
        Ok(())
    }

    /// Every rule of authorizers.md §1.3 (V1, V3–V19; V2 uniqueness and V20 the quota need the
    /// other authorizers of the API: apigw-control).
    pub fn validate(&self, protocol: ProtocolType) -> Result<()> {
        validate::length("name", &self.name, 1, 128)?;
        validate::opt_length(
            "identityValidationExpression",
            &self.identity_validation_expression,
            0,
            1024,
        )?;
        validate::opt_length("authorizerUri", &self.authorizer_uri, 1, 2048)?;
        if let Some(ttl) = self.authorizer_result_ttl_in_seconds {
            validate::range_i64(
                "authorizerResultTtlInSeconds",
                ttl,
                0,
                MAX_RESULT_TTL_SECONDS,
            )?;
        }
        let sources = self.identity_source.as_deref().unwrap_or_default();
        match (self.authorizer_type, protocol) {
            (AuthorizerType::Jwt, ProtocolType::WebSocket) => Err(ServiceError::bad_request(
                "JWT authorizers are only supported for HTTP APIs",
            )),
            (AuthorizerType::Jwt, ProtocolType::Http) => self.validate_jwt(sources),
            (AuthorizerType::Request, _) => self.validate_request(protocol, sources),
        }
    }

    fn validate_jwt(&self, sources: &[String]) -> Result<()> {
        // V18: members of Lambda authorizers only.
        let lambda_only = [
            ("AuthorizerUri", self.authorizer_uri.is_some()),
            (
                "AuthorizerPayloadFormatVersion",
                self.authorizer_payload_format_version.is_some(),
            ),
            (
                "EnableSimpleResponses",
                self.enable_simple_responses == Some(true),
            ),
            (
                "AuthorizerResultTtlInSeconds",
                self.authorizer_result_ttl_in_seconds.unwrap_or(0) > 0,
            ),
            (
                "AuthorizerCredentialsArn",
                self.authorizer_credentials_arn.is_some(),
            ),
        ];
        if let Some((member, _)) = lambda_only.iter().find(|(_, set)| *set) {
            return Err(ServiceError::bad_request(format!(
                "{member} is only supported for REQUEST authorizers"
            )));
        }
        // V5, V6.
        let jwt = self.jwt_configuration.as_ref().ok_or_else(|| {
            ServiceError::bad_request("JwtConfiguration is required for JWT authorizers")
        })?;
        let issuer = jwt.issuer.as_deref().unwrap_or_default();
        if issuer.is_empty() {
            return Err(ServiceError::bad_request(
                "Issuer is required in JwtConfiguration for JWT authorizers",
            ));
        }
        validate::length("issuer", issuer, 1, 2048)?;
        if !is_absolute_http_url(issuer) {
            return Err(ServiceError::bad_request(format!(
                "Invalid issuer specified: {issuer}. The issuer must be an absolute https:// URL"
            )));
        }
        let audience = jwt.audience.as_deref().unwrap_or_default();
        if audience.is_empty() {
            return Err(ServiceError::bad_request(
                "Audience is required in JwtConfiguration for JWT authorizers",
            ));
        }
        if audience.len() > MAX_AUDIENCES {
            return Err(ServiceError::bad_request(format!(
                "Invalid audience specified: at most {MAX_AUDIENCES} audiences are allowed per authorizer"
            )));
        }
        for a in audience {
            validate::length("audience", a, 1, 2048)?;
        }
        // V7: exactly one, from a header or the query string.
        match sources {
            [one] => match IdentitySource::parse(ProtocolType::Http, one) {
                Some(IdentitySource::Header(_) | IdentitySource::QueryString(_)) => Ok(()),
                _ => Err(ServiceError::bad_request(format!(
                    "Invalid identity source specified: {one}. A JWT authorizer takes the token from $request.header.<name> or $request.querystring.<name>"
                ))),
            },
            _ => Err(ServiceError::bad_request(
                "Invalid identity source specified. A JWT authorizer must have exactly one identity source",
            )),
        }
    }

    fn validate_request(&self, protocol: ProtocolType, sources: &[String]) -> Result<()> {
        match protocol {
            ProtocolType::Http => {
                // V10 first: its text is AWS's, and comes before the other checks.
                let Some(version) = self.authorizer_payload_format_version else {
                    return Err(ServiceError::bad_request(
                        "AuthorizerPayloadFormatVersion is a required parameter for REQUEST authorizer",
                    ));
                };
                // V13.
                if self.enable_simple_responses == Some(true) && version != PayloadFormatVersion::V2
                {
                    return Err(ServiceError::bad_request(
                        "Simple responses are only supported for payload format version 2.0",
                    ));
                }
            }
            ProtocolType::WebSocket => {
                // V16, V17.
                if self.authorizer_result_ttl_in_seconds.is_some() {
                    return Err(ServiceError::bad_request(
                        "AuthorizerResultTtlInSeconds cannot be set for WEBSOCKET protocol Apis.",
                    ));
                }
                if self.authorizer_payload_format_version.is_some() {
                    return Err(ServiceError::bad_request(
                        "AuthorizerPayloadFormatVersion is only supported for HTTP APIs",
                    ));
                }
                if self.enable_simple_responses == Some(true) {
                    return Err(ServiceError::bad_request(
                        "EnableSimpleResponses is only supported for HTTP APIs",
                    ));
                }
            }
        }
        // V8 / V9.
        for s in sources {
            if IdentitySource::parse(protocol, s).is_none() {
                return Err(invalid_identity_source(s));
            }
        }
        // V15.
        if self.authorizer_result_ttl_in_seconds.unwrap_or(0) > 0 && sources.is_empty() {
            return Err(ServiceError::bad_request(
                "Identity source must be set if authorizer caching is enabled (TTL is greater than 0)",
            ));
        }
        // V12.
        match self.authorizer_uri.as_deref() {
            None => {
                return Err(ServiceError::bad_request(
                    "AuthorizerUri is a required parameter for REQUEST authorizer",
                ))
            }
            Some(uri) if lambda_function_of_uri(uri).is_none() => {
                return Err(ServiceError::bad_request(format!(
                    "Invalid authorizer URI specified: {uri}. Authorizer URI should be a valid API Gateway ARN that represents a Lambda function invocation."
                )))
            }
            Some(_) => {}
        }
        // V19.
        if let Some(arn) = &self.authorizer_credentials_arn {
            if !is_role_arn(arn) {
                return Err(ServiceError::bad_request(format!(
                    "Invalid authorizer credentials ARN specified: {arn}. It must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)"
                )));
            }
        }
        Ok(())
    }

    /// The identity sources, parsed for `protocol` (each one parses: the authorizer was
    /// validated for its API's protocol).
    pub fn identity_sources(&self, protocol: ProtocolType) -> Vec<IdentitySource> {
        self.identity_source
            .iter()
            .flatten()
            .filter_map(|s| IdentitySource::parse(protocol, s))
            .collect()
    }

    /// The Lambda function a `REQUEST` authorizer invokes (from its `authorizerUri`).
    pub fn function_arn(&self) -> Option<&str> {
        self.authorizer_uri
            .as_deref()
            .and_then(lambda_function_of_uri)
    }

    /// The result cache TTL: 0 (caching off) unless set.
    pub fn result_ttl_seconds(&self) -> u32 {
        self.authorizer_result_ttl_in_seconds
            .and_then(|t| u32::try_from(t).ok())
            .unwrap_or(0)
    }

    /// Whether a `REQUEST` authorizer's function answers `{"isAuthorized": …}`.
    pub fn simple_responses(&self) -> bool {
        self.enable_simple_responses == Some(true)
    }
}

/// The route rules R1–R5 of authorizers.md §1.9 on a route (as it will be after the change):
/// `authorizerId` must name an authorizer of the route's API of the kind its
/// `authorizationType` needs (`lookup` finds one by id), `authorizationScopes` only with `JWT`
/// and at most 10, `JWT` only on HTTP APIs.
pub fn check_route_authorization<'a>(
    protocol: ProtocolType,
    authorization_type: AuthorizationType,
    authorizer_id: Option<&str>,
    scopes: Option<&[String]>,
    lookup: impl Fn(&str) -> Option<&'a Authorizer>,
) -> Result<()> {
    // R3.
    if protocol == ProtocolType::WebSocket && authorization_type == AuthorizationType::Jwt {
        return Err(ServiceError::bad_request(
            "Invalid authorization type specified. JWT authorization is only supported for HTTP APIs; use NONE, AWS_IAM or CUSTOM",
        ));
    }
    // R5.
    if let Some(scopes) = scopes.filter(|s| !s.is_empty()) {
        if authorization_type != AuthorizationType::Jwt {
            return Err(ServiceError::bad_request(
                "Invalid Route authorization type specified. Authorization Scopes are only valid for COGNITO_USER_POOLS and JWT authorization types",
            ));
        }
        if scopes.len() > MAX_SCOPES {
            return Err(ServiceError::bad_request(format!(
                "Invalid authorizationScopes specified: at most {MAX_SCOPES} scopes are allowed per route"
            )));
        }
        for s in scopes {
            validate::length("authorizationScopes", s, 1, 64)?;
        }
    }
    match authorization_type {
        // R1.
        AuthorizationType::Custom => {
            let ok = authorizer_id
                .and_then(&lookup)
                .is_some_and(|a| a.authorizer_type == AuthorizerType::Request);
            if !ok {
                return Err(ServiceError::bad_request(
                    "Invalid authorizer ID specified. Setting the authorization type to CUSTOM or COGNITO_USER_POOLS requires a valid authorizer.",
                ));
            }
        }
        // R2.
        AuthorizationType::Jwt => {
            let ok = authorizer_id
                .and_then(&lookup)
                .is_some_and(|a| a.authorizer_type == AuthorizerType::Jwt);
            if !ok {
                return Err(ServiceError::bad_request(
                    "Invalid authorizer ID specified. Setting the authorization type to JWT requires a valid JWT authorizer.",
                ));
            }
        }
        // R4.
        AuthorizationType::None | AuthorizationType::AwsIam => {
            if authorizer_id.is_some() {
                return Err(ServiceError::bad_request(
                    "AuthorizerId can only be set when the authorization type is CUSTOM or JWT",
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const URI: &str = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:auth/invocations";

    fn jwt() -> AuthorizerInput {
        AuthorizerInput {
            name: Some("jwt".into()),
            authorizer_type: Some("JWT".into()),
            identity_source: Some(vec!["$request.header.Authorization".into()]),
            jwt_configuration: Some(JwtConfiguration {
                audience: Some(vec!["client".into()]),
                issuer: Some("https://issuer.example.com/pool".into()),
            }),
            ..Default::default()
        }
    }

    fn lambda() -> AuthorizerInput {
        AuthorizerInput {
            name: Some("lambda".into()),
            authorizer_type: Some("REQUEST".into()),
            authorizer_uri: Some(URI.into()),
            authorizer_payload_format_version: Some("2.0".into()),
            ..Default::default()
        }
    }

    fn http(input: AuthorizerInput) -> Result<Authorizer> {
        Authorizer::create("abc123".into(), ProtocolType::Http, input)
    }

    fn ws(input: AuthorizerInput) -> Result<Authorizer> {
        Authorizer::create("abc123".into(), ProtocolType::WebSocket, input)
    }

    fn msg(r: Result<Authorizer>) -> String {
        match r {
            Err(ServiceError::BadRequest(m)) => m,
            other => panic!("expected BadRequest, got {other:?}"),
        }
    }

    #[test]
    fn jwt_authorizers_echo_only_what_they_have() {
        let a = http(jwt()).unwrap();
        let wire = serde_json::to_value(&a).unwrap();
        assert_eq!(
            wire,
            serde_json::json!({
                "authorizerId": "abc123",
                "authorizerType": "JWT",
                "identitySource": ["$request.header.Authorization"],
                "jwtConfiguration": {"audience": ["client"], "issuer": "https://issuer.example.com/pool"},
                "name": "jwt"
            })
        );
        assert_eq!(
            a.identity_sources(ProtocolType::Http),
            [IdentitySource::Header("Authorization".into())]
        );
        assert_eq!(a.result_ttl_seconds(), 0);
        // Query-string tokens and a local http:// issuer are accepted.
        let mut i = jwt();
        i.identity_source = Some(vec!["$request.querystring.token".into()]);
        i.jwt_configuration.as_mut().unwrap().issuer = Some("http://127.0.0.1:9000".into());
        http(i).unwrap();
    }

    #[test]
    fn jwt_rules() {
        assert!(msg(ws(jwt())).contains("only supported for HTTP APIs"));
        let mut i = jwt();
        i.jwt_configuration = None;
        assert!(msg(http(i)).contains("JwtConfiguration is required"));
        let mut i = jwt();
        i.jwt_configuration.as_mut().unwrap().issuer = None;
        assert!(msg(http(i)).contains("Issuer is required"));
        let mut i = jwt();
        i.jwt_configuration.as_mut().unwrap().issuer = Some("issuer.example.com".into());
        assert!(msg(http(i)).contains("Invalid issuer specified"));
        let mut i = jwt();
        i.jwt_configuration.as_mut().unwrap().audience = Some(vec![]);
        assert!(msg(http(i)).contains("Audience is required"));
        let mut i = jwt();
        i.jwt_configuration.as_mut().unwrap().audience =
            Some((0..51).map(|n| n.to_string()).collect());
        assert!(msg(http(i)).contains("at most 50 audiences"));
        for sources in [
            vec![],
            vec!["$request.header.A".to_string(), "$request.header.B".into()],
            vec!["$context.requestId".into()],
            vec!["$request.header.".into()],
            vec!["route.request.header.Authorization".into()],
        ] {
            let mut i = jwt();
            i.identity_source = Some(sources.clone());
            assert!(
                msg(http(i)).starts_with("Invalid identity source specified"),
                "{sources:?}"
            );
        }
        let mut i = jwt();
        i.identity_source = None;
        assert!(msg(http(i)).starts_with("Invalid identity source specified"));
        for (member, set) in [
            (
                "AuthorizerUri",
                AuthorizerInput {
                    authorizer_uri: Some(URI.into()),
                    ..jwt()
                },
            ),
            (
                "AuthorizerPayloadFormatVersion",
                AuthorizerInput {
                    authorizer_payload_format_version: Some("2.0".into()),
                    ..jwt()
                },
            ),
            (
                "EnableSimpleResponses",
                AuthorizerInput {
                    enable_simple_responses: Some(true),
                    ..jwt()
                },
            ),
            (
                "AuthorizerResultTtlInSeconds",
                AuthorizerInput {
                    authorizer_result_ttl_in_seconds: Some(300),
                    ..jwt()
                },
            ),
            (
                "AuthorizerCredentialsArn",
                AuthorizerInput {
                    authorizer_credentials_arn: Some("arn:aws:iam::123456789012:role/r".into()),
                    ..jwt()
                },
            ),
        ] {
            assert_eq!(
                msg(http(set)),
                format!("{member} is only supported for REQUEST authorizers")
            );
        }
        // Values that mean "off" are not Lambda settings.
        http(AuthorizerInput {
            enable_simple_responses: Some(false),
            authorizer_result_ttl_in_seconds: Some(0),
            ..jwt()
        })
        .unwrap();
    }

    #[test]
    fn name_type_and_ranges() {
        assert_eq!(
            msg(http(AuthorizerInput {
                name: None,
                ..jwt()
            })),
            "Name is required"
        );
        assert!(msg(http(AuthorizerInput {
            name: Some(String::new()),
            ..jwt()
        }))
        .contains("Length must be between 1 and 128"));
        http(AuthorizerInput {
            name: Some("n".repeat(128)),
            ..jwt()
        })
        .unwrap();
        assert!(msg(http(AuthorizerInput {
            name: Some("n".repeat(129)),
            ..jwt()
        }))
        .contains("Length must be between 1 and 128"));
        assert_eq!(
            msg(http(AuthorizerInput {
                authorizer_type: None,
                ..jwt()
            })),
            "AuthorizerType is required"
        );
        assert_eq!(
            msg(http(AuthorizerInput {
                authorizer_type: Some("TOKEN".into()),
                ..jwt()
            })),
            "Invalid authorizer type specified. Must be one of [REQUEST, JWT]"
        );
        for ttl in [-1, 3601] {
            assert!(msg(http(AuthorizerInput {
                authorizer_result_ttl_in_seconds: Some(ttl),
                identity_source: Some(vec!["$request.header.a".into()]),
                ..lambda()
            }))
            .contains("Must be between 0 and 3600"));
        }
        let a = http(AuthorizerInput {
            authorizer_result_ttl_in_seconds: Some(3600),
            identity_source: Some(vec!["$request.header.a".into()]),
            ..lambda()
        })
        .unwrap();
        assert_eq!(a.result_ttl_seconds(), 3600);
        assert!(msg(http(AuthorizerInput {
            identity_validation_expression: Some("x".repeat(1025)),
            ..lambda()
        }))
        .contains("identityValidationExpression"));
    }

    #[test]
    fn request_authorizers_on_http_apis() {
        let a = http(lambda()).unwrap();
        assert_eq!(
            a.function_arn(),
            Some("arn:aws:lambda:us-east-1:123456789012:function:auth")
        );
        assert!(!a.simple_responses());
        let wire = serde_json::to_value(&a).unwrap();
        assert_eq!(wire["authorizerPayloadFormatVersion"], "2.0");
        assert!(wire.get("enableSimpleResponses").is_none());
        assert!(wire.get("authorizerResultTtlInSeconds").is_none());
        assert!(wire.get("identitySource").is_none());

        // V10 comes before the identity sources and the URI are looked at.
        assert_eq!(
            msg(http(AuthorizerInput {
                authorizer_payload_format_version: None,
                authorizer_uri: Some("auth_uri".into()),
                identity_source: Some(vec![String::new()]),
                ..lambda()
            })),
            "AuthorizerPayloadFormatVersion is a required parameter for REQUEST authorizer"
        );
        assert!(msg(http(AuthorizerInput {
            authorizer_payload_format_version: Some("3.0".into()),
            ..lambda()
        }))
        .starts_with("Invalid authorizer payload format version specified"));
        // V13.
        assert_eq!(
            msg(http(AuthorizerInput {
                authorizer_payload_format_version: Some("1.0".into()),
                enable_simple_responses: Some(true),
                ..lambda()
            })),
            "Simple responses are only supported for payload format version 2.0"
        );
        let a = http(AuthorizerInput {
            enable_simple_responses: Some(true),
            ..lambda()
        })
        .unwrap();
        assert!(a.simple_responses());
        // V8.
        let a = http(AuthorizerInput {
            identity_source: Some(vec![
                "$request.header.Authorization".into(),
                "$request.querystring.token".into(),
                "$context.routeKey".into(),
                "$stageVariables.env".into(),
            ]),
            ..lambda()
        })
        .unwrap();
        assert_eq!(
            a.identity_sources(ProtocolType::Http),
            [
                IdentitySource::Header("Authorization".into()),
                IdentitySource::QueryString("token".into()),
                IdentitySource::Context("routeKey".into()),
                IdentitySource::StageVariable("env".into()),
            ]
        );
        for bad in [
            "",
            "$request.header.",
            "$request.header.a b",
            "$request.body.token",
            "$request.path.id",
            "route.request.header.Auth",
            "Authorization",
            "$context.",
        ] {
            assert_eq!(
                msg(http(AuthorizerInput {
                    identity_source: Some(vec![bad.into()]),
                    ..lambda()
                })),
                format!("Invalid identity source specified: {bad}")
            );
        }
        // V15.
        assert_eq!(
            msg(http(AuthorizerInput {
                authorizer_result_ttl_in_seconds: Some(300),
                ..lambda()
            })),
            "Identity source must be set if authorizer caching is enabled (TTL is greater than 0)"
        );
        http(AuthorizerInput {
            authorizer_result_ttl_in_seconds: Some(0),
            ..lambda()
        })
        .unwrap();
        // V12.
        assert_eq!(
            msg(http(AuthorizerInput {
                authorizer_uri: None,
                ..lambda()
            })),
            "AuthorizerUri is a required parameter for REQUEST authorizer"
        );
        for bad in [
            "auth_uri",
            "arn:aws:lambda:us-east-1:123456789012:function:auth",
            "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/auth/invocations",
            "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:auth",
        ] {
            assert!(
                msg(http(AuthorizerInput {
                    authorizer_uri: Some(bad.into()),
                    ..lambda()
                }))
                .starts_with("Invalid authorizer URI specified"),
                "{bad}"
            );
        }
        let qualified = URI.replace(":function:auth/", ":function:auth:live/");
        let a = http(AuthorizerInput {
            authorizer_uri: Some(qualified),
            ..lambda()
        })
        .unwrap();
        assert_eq!(
            a.function_arn(),
            Some("arn:aws:lambda:us-east-1:123456789012:function:auth:live")
        );
        // V19.
        http(AuthorizerInput {
            authorizer_credentials_arn: Some("arn:aws:iam::123456789012:role/invoker".into()),
            ..lambda()
        })
        .unwrap();
        for bad in ["auth:creds:arn", "arn:aws:iam::123456789012:user/u"] {
            assert!(msg(http(AuthorizerInput {
                authorizer_credentials_arn: Some(bad.into()),
                ..lambda()
            }))
            .starts_with("Invalid authorizer credentials ARN specified"));
        }
    }

    #[test]
    fn request_authorizers_on_websocket_apis() {
        let base = AuthorizerInput {
            authorizer_payload_format_version: None,
            identity_source: Some(vec![
                "route.request.header.Auth".into(),
                "route.request.querystring.token".into(),
                "stageVariables.env".into(),
                "context.requestId".into(),
            ]),
            ..lambda()
        };
        let a = ws(base.clone()).unwrap();
        assert_eq!(a.identity_sources(ProtocolType::WebSocket).len(), 4);
        assert_eq!(
            msg(ws(AuthorizerInput {
                authorizer_result_ttl_in_seconds: Some(0),
                ..base.clone()
            })),
            "AuthorizerResultTtlInSeconds cannot be set for WEBSOCKET protocol Apis."
        );
        assert!(msg(ws(AuthorizerInput {
            authorizer_payload_format_version: Some("1.0".into()),
            ..base.clone()
        }))
        .contains("only supported for HTTP APIs"));
        assert!(msg(ws(AuthorizerInput {
            enable_simple_responses: Some(true),
            ..base.clone()
        }))
        .contains("only supported for HTTP APIs"));
        assert_eq!(
            msg(ws(AuthorizerInput {
                identity_source: Some(vec!["$request.header.Auth".into()]),
                ..base.clone()
            })),
            "Invalid identity source specified: $request.header.Auth"
        );
        ws(AuthorizerInput {
            identity_source: None,
            ..base
        })
        .unwrap();
    }

    #[test]
    fn update_validates_the_merged_result() {
        let a = http(lambda()).unwrap();
        // TTL > 0 on an authorizer without identity sources (V15).
        let e = a
            .update(
                ProtocolType::Http,
                AuthorizerInput {
                    authorizer_result_ttl_in_seconds: Some(60),
                    ..Default::default()
                },
            )
            .unwrap_err();
        assert!(e.to_string().starts_with("Identity source must be set"));
        // Members absent keep their value; lists replace.
        let b = a
            .update(
                ProtocolType::Http,
                AuthorizerInput {
                    identity_source: Some(vec!["$request.header.x".into()]),
                    authorizer_result_ttl_in_seconds: Some(60),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(b.name, "lambda");
        assert_eq!(b.authorizer_uri.as_deref(), Some(URI));
        assert_eq!(b.result_ttl_seconds(), 60);
        let c = b
            .update(
                ProtocolType::Http,
                AuthorizerInput {
                    identity_source: Some(vec!["$request.header.y".into()]),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(
            c.identity_source.as_deref(),
            Some(&["$request.header.y".to_string()][..])
        );
        // Changing the type: the result must satisfy the new type's rules.
        let e = c
            .update(
                ProtocolType::Http,
                AuthorizerInput {
                    authorizer_type: Some("JWT".into()),
                    ..Default::default()
                },
            )
            .unwrap_err();
        assert!(e.to_string().contains("only supported for REQUEST"), "{e}");
        // Replace is exactly the input.
        let r = c.replace(ProtocolType::Http, lambda()).unwrap();
        assert_eq!(r.identity_source, None);
        assert_eq!(r.authorizer_id, "abc123");
    }

    #[test]
    fn route_rules() {
        let j = http(jwt()).unwrap();
        let l = Authorizer {
            authorizer_id: "lam".into(),
            ..http(lambda()).unwrap()
        };
        let find = |id: &str| match id {
            "abc123" => Some(&j),
            "lam" => Some(&l),
            _ => None,
        };
        let check = |p, t, id: Option<&str>, scopes: Option<&[String]>| {
            check_route_authorization(p, t, id, scopes, find).map_err(|e| e.to_string())
        };
        use AuthorizationType::{AwsIam, Custom, Jwt};
        let no_auth = AuthorizationType::None;
        let http_p = ProtocolType::Http;
        let scopes = vec!["read".to_string()];
        assert!(check(http_p, Jwt, Some("abc123"), Some(&scopes)).is_ok());
        assert!(check(http_p, Custom, Some("lam"), None).is_ok());
        assert!(check(http_p, no_auth, None, None).is_ok());
        assert!(check(http_p, AwsIam, None, Some(&[])).is_ok());
        // R1 / R2: missing, unknown or of the other kind.
        for id in [None, Some("nope"), Some("abc123")] {
            assert!(check(http_p, Custom, id, None)
                .unwrap_err()
                .contains("CUSTOM or COGNITO_USER_POOLS requires a valid authorizer"));
        }
        for id in [None, Some("nope"), Some("lam")] {
            assert!(check(http_p, Jwt, id, None)
                .unwrap_err()
                .contains("requires a valid JWT authorizer"));
        }
        // R3.
        assert!(check(ProtocolType::WebSocket, Jwt, Some("abc123"), None)
            .unwrap_err()
            .starts_with("Invalid authorization type specified"));
        // R4.
        for t in [no_auth, AwsIam] {
            assert!(check(http_p, t, Some("lam"), None)
                .unwrap_err()
                .contains("can only be set when the authorization type is CUSTOM or JWT"));
        }
        // R5.
        assert!(check(http_p, Custom, Some("lam"), Some(&scopes))
            .unwrap_err()
            .contains("Authorization Scopes are only valid"));
        let many: Vec<String> = (0..11).map(|n| n.to_string()).collect();
        assert!(check(http_p, Jwt, Some("abc123"), Some(&many))
            .unwrap_err()
            .contains("at most 10 scopes"));
        let long = vec!["s".repeat(65)];
        assert!(check(http_p, Jwt, Some("abc123"), Some(&long)).is_err());
    }
}
