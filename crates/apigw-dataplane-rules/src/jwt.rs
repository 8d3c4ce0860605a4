//! JWT authorizers' checks (authorizers.md §2.2–§2.6): the token taken from its identity source,
//! decoded, its RSA signature verified against the issuer's JSON Web Key Set, its claims checked
//! against the authorizer's issuer and audiences, the time and the route's scopes, and what the
//! integration then receives (claims as strings, scopes).
//!
//! Pure: the caller fetches and caches the key set (discovery, `jwks_uri`) and passes the time in.
//! Signatures are verified with `ring`, already built for rustls; the token format itself is three
//! base64url segments of JSON, decoded here (docs/decisions.md).

use base64::Engine as _;
use serde_json::{Map, Value};

/// Why a token is refused. Each maps to the answer of authorizers.md §2.6.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// No token in the identity source.
    Missing,
    Malformed,
    /// `alg` is not one of the RSA algorithms.
    UnsupportedAlgorithm,
    SigningKeyNotFound,
    BadSignature,
    Issuer,
    Audience,
    Expired,
    NotYetValid,
    /// Discovery or the key set could not be fetched or read.
    KeysUnavailable,
    /// A plain `http://` issuer off loopback (authorizers.md §6.1).
    InsecureIssuer,
    /// A valid token with none of the route's scopes: 403.
    InsufficientScope {
        route_scopes: Vec<String>,
    },
}

impl Denial {
    pub fn status(&self) -> u16 {
        match self {
            Denial::InsufficientScope { .. } => 403,
            _ => 401,
        }
    }

    /// `{"message":"Unauthorized"}` or `{"message":"Forbidden"}`.
    pub fn body(&self) -> &'static str {
        match self {
            Denial::InsufficientScope { .. } => r#"{"message":"Forbidden"}"#,
            _ => r#"{"message":"Unauthorized"}"#,
        }
    }

    /// `$context.authorizer.error` and the `error_description` of `www-authenticate`.
    pub fn description(&self) -> &'static str {
        match self {
            Denial::Missing => "the token is missing",
            Denial::Malformed => "the token is malformed",
            Denial::UnsupportedAlgorithm => "the token's signing algorithm is not supported",
            Denial::SigningKeyNotFound => "signing key not found",
            Denial::BadSignature => "the token's signature could not be verified",
            Denial::Issuer => "the token does not have a valid issuer",
            Denial::Audience => "the token does not have a valid audience",
            Denial::Expired => "the token has expired",
            Denial::NotYetValid => "the token is not valid yet",
            Denial::KeysUnavailable => "unable to fetch the issuer's keys",
            Denial::InsecureIssuer => "issuer must use https",
            Denial::InsufficientScope { .. } => "the token does not have the required scope",
        }
    }

    /// The `www-authenticate` header of the answer (§2.6).
    pub fn www_authenticate(&self) -> String {
        match self {
            Denial::Missing => "Bearer".to_string(),
            Denial::InsufficientScope { route_scopes } => format!(
                "Bearer scope=\"{}\" error=\"insufficient_scope\" error_description=\"{}\"",
                route_scopes.join(" "),
                self.description()
            ),
            _ => format!(
                "Bearer scope=\"\" error=\"invalid_token\" error_description=\"{}\"",
                self.description()
            ),
        }
    }
}

/// Whether the keys of `issuer` may be fetched: `https://`, or `http://` on a loopback host
/// (a local identity provider, authorizers.md §6.1).
pub fn issuer_allowed(issuer: &str) -> bool {
    if issuer.starts_with("https://") {
        return true;
    }
    let Some(rest) = issuer.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The token in an identity source's value: with or without `Bearer ` (§2.2). `None`: empty.
pub fn token_from(value: &str) -> Option<&str> {
    let v = value.trim();
    if v.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = match v.get(..7) {
        Some(scheme) if scheme.eq_ignore_ascii_case("bearer ") => v[7..].trim_start(),
        _ => v,
    };
    (!token.is_empty()).then_some(token)
}

/// One RSA key of a key set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsaKey {
    pub kid: String,
    /// Modulus and exponent, big-endian.
    n: Vec<u8>,
    e: Vec<u8>,
}

/// A JSON Web Key Set's usable keys: RSA, for signatures (authorizers.md §2.3).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeySet {
    keys: Vec<RsaKey>,
}

impl KeySet {
    /// Reads a JWKS document. Keys that are not RSA signature keys with a `kid` are skipped;
    /// a document that is not a key set is an error.
    pub fn parse(body: &[u8]) -> Result<KeySet, Denial> {
        let doc: Value = serde_json::from_slice(body).map_err(|_| Denial::KeysUnavailable)?;
        let keys = doc
            .get("keys")
            .and_then(Value::as_array)
            .ok_or(Denial::KeysUnavailable)?;
        let field = |k: &Value, name: &str| -> Option<Vec<u8>> {
            let s = k.get(name)?.as_str()?;
            b64url(s)
        };
        let keys = keys
            .iter()
            .filter(|k| k.get("kty").and_then(Value::as_str) == Some("RSA"))
            .filter(|k| {
                k.get("use")
                    .and_then(Value::as_str)
                    .is_none_or(|u| u == "sig")
            })
            .filter_map(|k| {
                Some(RsaKey {
                    kid: k.get("kid")?.as_str()?.to_string(),
                    n: field(k, "n")?,
                    e: field(k, "e")?,
                })
            })
            .collect();
        Ok(KeySet { keys })
    }

    pub fn get(&self, kid: &str) -> Option<&RsaKey> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// A token split and decoded, its signature not yet checked.
#[derive(Debug, Clone)]
pub struct Token<'t> {
    pub alg: String,
    /// `None`: the header has no `kid` (such a token can match no key).
    pub kid: Option<String>,
    pub claims: Map<String, Value>,
    signing_input: &'t str,
    signature: Vec<u8>,
}

fn b64url(s: &str) -> Option<Vec<u8>> {
    // Padding is not part of JWS's encoding, but some issuers add it.
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .ok()
}

/// Splits and decodes a compact JWS (§2.6: anything else is malformed).
pub fn decode(token: &str) -> Result<Token<'_>, Denial> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Denial::Malformed);
    };
    let object = |seg: &str| -> Result<Map<String, Value>, Denial> {
        let bytes = b64url(seg).ok_or(Denial::Malformed)?;
        match serde_json::from_slice(&bytes) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(Denial::Malformed),
        }
    };
    let header = object(h)?;
    let claims = object(p)?;
    let signature = b64url(s).ok_or(Denial::Malformed)?;
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or(Denial::Malformed)?
        .to_string();
    let kid = header
        .get("kid")
        .and_then(Value::as_str)
        .map(str::to_string);
    Ok(Token {
        alg,
        kid,
        claims,
        signing_input: &token[..h.len() + 1 + p.len()],
        signature,
    })
}

impl Token<'_> {
    /// The key this token names, from `keys` (§2.3: `kid` required).
    pub fn key<'k>(&self, keys: &'k KeySet) -> Result<&'k RsaKey, Denial> {
        self.kid
            .as_deref()
            .and_then(|kid| keys.get(kid))
            .ok_or(Denial::SigningKeyNotFound)
    }

    /// Verifies the signature with `key`. Only RSA algorithms: an HMAC or `none` token is
    /// refused before anything is computed (never an HMAC keyed with a public key).
    pub fn verify(&self, key: &RsaKey) -> Result<(), Denial> {
        use ring::signature as sig;
        let params: &sig::RsaParameters = match self.alg.as_str() {
            "RS256" => &sig::RSA_PKCS1_2048_8192_SHA256,
            "RS384" => &sig::RSA_PKCS1_2048_8192_SHA384,
            "RS512" => &sig::RSA_PKCS1_2048_8192_SHA512,
            "PS256" => &sig::RSA_PSS_2048_8192_SHA256,
            "PS384" => &sig::RSA_PSS_2048_8192_SHA384,
            "PS512" => &sig::RSA_PSS_2048_8192_SHA512,
            _ => return Err(Denial::UnsupportedAlgorithm),
        };
        sig::RsaPublicKeyComponents {
            n: &key.n,
            e: &key.e,
        }
        .verify(params, self.signing_input.as_bytes(), &self.signature)
        .map_err(|_| Denial::BadSignature)
    }
}

/// What a JWT authorizer checks a token's claims against.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    pub issuer: &'a str,
    pub audiences: &'a [String],
    /// The route's `authorizationScopes` (empty: no scope check).
    pub route_scopes: &'a [String],
    /// Now, in seconds since the Unix epoch.
    pub now: f64,
}

/// Leeway for `nbf` and `iat` only: a local identity provider's clock may run a little ahead
/// (authorizers.md §2.4 [inferred]); `exp` gets none.
pub const LEEWAY_SECONDS: f64 = 60.0;

/// Checks the claims (§2.4, in its order). `Ok`: the scopes the integration receives (`None`
/// when the route has no scopes; otherwise the token's full list).
pub fn check_claims(
    claims: &Map<String, Value>,
    want: &Expected<'_>,
) -> Result<Option<Vec<String>>, Denial> {
    ClaimFacts::read(claims).check(want)
}

/// What the checks of §2.4 read from a token's claims, read once: a token seen again is
/// checked against these (the time moves, the facts do not).
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimFacts {
    iss: Option<String>,
    /// `aud` (a string or the strings of an array), else `client_id`; `None`: an `aud` of
    /// another type, which matches nothing.
    audiences: Option<Vec<String>>,
    exp: Result<Option<f64>, Denial>,
    nbf: Result<Option<f64>, Denial>,
    iat: Result<Option<f64>, Denial>,
    scopes: Vec<String>,
}

impl ClaimFacts {
    pub fn read(claims: &Map<String, Value>) -> ClaimFacts {
        let strings = |v: Option<&Value>| -> Option<Vec<String>> {
            match v {
                Some(Value::String(a)) => Some(vec![a.clone()]),
                Some(Value::Array(items)) => Some(
                    items
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect(),
                ),
                Some(_) => None,
                None => Some(Vec::new()),
            }
        };
        // `client_id` counts only without `aud`.
        let audiences = match claims.get("aud") {
            Some(aud) => strings(Some(aud)),
            None => Some(
                claims
                    .get("client_id")
                    .and_then(Value::as_str)
                    .map(|c| vec![c.to_string()])
                    .unwrap_or_default(),
            ),
        };
        let time = |name: &str| -> Result<Option<f64>, Denial> {
            match claims.get(name) {
                None => Ok(None),
                Some(Value::Number(n)) => n.as_f64().map(Some).ok_or(Denial::Malformed),
                Some(_) => Err(Denial::Malformed),
            }
        };
        ClaimFacts {
            iss: claims
                .get("iss")
                .and_then(Value::as_str)
                .map(str::to_string),
            audiences,
            exp: time("exp"),
            nbf: time("nbf"),
            iat: time("iat"),
            scopes: token_scopes(claims),
        }
    }

    /// §2.4's checks, in its order.
    pub fn check(&self, want: &Expected<'_>) -> Result<Option<Vec<String>>, Denial> {
        if self.iss.as_deref() != Some(want.issuer) {
            return Err(Denial::Issuer);
        }
        let audience_ok = self
            .audiences
            .as_ref()
            .is_some_and(|auds| auds.iter().any(|a| want.audiences.contains(a)));
        if !audience_ok {
            return Err(Denial::Audience);
        }
        match self.exp.clone()? {
            Some(exp) if exp > want.now => {}
            // Required: a token that never expires is refused.
            _ => return Err(Denial::Expired),
        }
        for t in [self.nbf.clone()?, self.iat.clone()?].into_iter().flatten() {
            if t > want.now + LEEWAY_SECONDS {
                return Err(Denial::NotYetValid);
            }
        }
        if want.route_scopes.is_empty() {
            return Ok(None);
        }
        if !self.scopes.iter().any(|s| want.route_scopes.contains(s)) {
            return Err(Denial::InsufficientScope {
                route_scopes: want.route_scopes.to_vec(),
            });
        }
        Ok(Some(self.scopes.clone()))
    }
}

/// `scope` (space-separated) or `scp` (a string or an array of strings).
fn token_scopes(claims: &Map<String, Value>) -> Vec<String> {
    let split = |s: &str| -> Vec<String> { s.split_whitespace().map(str::to_string).collect() };
    match (claims.get("scope"), claims.get("scp")) {
        (Some(Value::String(s)), _) => split(s),
        (_, Some(Value::String(s))) => split(s),
        (_, Some(Value::Array(items))) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// The claims as the integration receives them (§2.5): every value a string; arrays as
/// `[a b]`, `null` claims left out, objects as JSON text.
pub fn claims_as_strings(claims: &Map<String, Value>) -> Vec<(String, String)> {
    claims
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.clone(), claim_text(v)))
        .collect()
}

fn claim_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(claim_text).collect();
            format!("[{}]", inner.join(" "))
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests;
