use super::*;
use ring::signature::RsaKeyPair;

/// A test-only RSA key (generated with openssl for these tests; it protects nothing).
const KEY: &[u8] = include_bytes!("test-rsa-2048.pk8");

fn pair() -> RsaKeyPair {
    RsaKeyPair::from_pkcs8(KEY).expect("test key")
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

fn jwks(kid: &str) -> KeySet {
    let p = pair();
    let public: ring::rsa::PublicKeyComponents<Vec<u8>> = p.public().into();
    let doc = serde_json::json!({"keys": [
        {"kty": "EC", "kid": "ec", "crv": "P-256", "x": "AA", "y": "AA"},
        {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
         "n": b64(&public.n),
         "e": b64(&public.e)},
    ]});
    KeySet::parse(doc.to_string().as_bytes()).expect("parses")
}

fn sign(header: Value, claims: Value) -> String {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let mut sig = vec![0; pair().public().modulus_len()];
    pair()
        .sign(
            &ring::signature::RSA_PKCS1_SHA256,
            &ring::rand::SystemRandom::new(),
            input.as_bytes(),
            &mut sig,
        )
        .expect("signs");
    format!("{input}.{}", b64(&sig))
}

const NOW: f64 = 1_800_000_000.0;

fn claims() -> Value {
    serde_json::json!({
        "iss": "http://127.0.0.1:9999/issuer", "aud": "client-a", "sub": "user-1",
        "exp": NOW + 300.0, "iat": NOW - 10.0, "scope": "read write",
        "groups": ["admin", "ops"], "admin": true, "gone": null, "n": 12,
    })
}

fn audiences() -> Vec<String> {
    vec!["client-a".to_string(), "client-b".to_string()]
}

fn check(token: &str, route_scopes: &[String]) -> Result<Option<Vec<String>>, Denial> {
    let keys = jwks("k1");
    let t = decode(token)?;
    t.verify(t.key(&keys)?)?;
    check_claims(
        &t.claims,
        &Expected {
            issuer: "http://127.0.0.1:9999/issuer",
            audiences: &audiences(),
            route_scopes,
            now: NOW,
        },
    )
}

fn rs256() -> Value {
    serde_json::json!({"alg": "RS256", "kid": "k1", "typ": "JWT"})
}

#[test]
fn a_good_token_passes_with_its_scopes() {
    let token = sign(rs256(), claims());
    assert_eq!(check(&token, &[]), Ok(None));
    let scopes = vec!["write".to_string(), "other".to_string()];
    assert_eq!(
        check(&token, &scopes),
        Ok(Some(vec!["read".to_string(), "write".to_string()]))
    );
}

#[test]
fn tokens_are_taken_with_or_without_bearer() {
    assert_eq!(token_from("Bearer abc"), Some("abc"));
    assert_eq!(token_from("bearer  abc "), Some("abc"));
    assert_eq!(token_from("abc"), Some("abc"));
    assert_eq!(token_from("  "), None);
    assert_eq!(token_from("Bearer "), None);
}

#[test]
fn every_failure_has_its_denial() {
    let with = |f: &dyn Fn(&mut Map<String, Value>)| {
        let mut c = claims().as_object().cloned().unwrap_or_default();
        f(&mut c);
        sign(rs256(), Value::Object(c))
    };
    let cases: Vec<(String, Denial)> = vec![
        ("abc".into(), Denial::Malformed),
        ("a.b.c.d".into(), Denial::Malformed),
        (
            sign(serde_json::json!({"alg": "RS256", "kid": "nope"}), claims()),
            Denial::SigningKeyNotFound,
        ),
        (
            sign(serde_json::json!({"alg": "RS256"}), claims()),
            Denial::SigningKeyNotFound,
        ),
        (
            sign(serde_json::json!({"alg": "HS256", "kid": "k1"}), claims()),
            Denial::UnsupportedAlgorithm,
        ),
        (
            sign(serde_json::json!({"alg": "none", "kid": "k1"}), claims()),
            Denial::UnsupportedAlgorithm,
        ),
        (
            with(&|c| {
                c.insert("iss".into(), "http://127.0.0.1:9999/issuer/".into());
            }),
            Denial::Issuer,
        ),
        (
            with(&|c| {
                c.insert("aud".into(), "someone-else".into());
            }),
            Denial::Audience,
        ),
        (
            with(&|c| {
                c.insert("exp".into(), (NOW - 1.0).into());
            }),
            Denial::Expired,
        ),
        (
            with(&|c| {
                c.remove("exp");
            }),
            Denial::Expired,
        ),
        (
            with(&|c| {
                c.insert("exp".into(), "soon".into());
            }),
            Denial::Malformed,
        ),
        (
            with(&|c| {
                c.insert("nbf".into(), (NOW + 61.0).into());
            }),
            Denial::NotYetValid,
        ),
    ];
    for (token, denial) in cases {
        assert_eq!(check(&token, &[]), Err(denial), "{token}");
    }
    // A signature made over other claims.
    let good = sign(rs256(), claims());
    let other = with(&|c| {
        c.insert("sub".into(), "admin".into());
    });
    let forged = format!(
        "{}.{}",
        other.rsplit_once('.').map_or("", |(a, _)| a),
        good.rsplit_once('.').map_or("", |(_, s)| s)
    );
    assert_eq!(check(&forged, &[]), Err(Denial::BadSignature));
    // Scopes: none of the route's.
    let route = vec!["admin:all".to_string()];
    let denied = check(&good, &route).unwrap_err();
    assert_eq!(denied.status(), 403);
    assert_eq!(
        denied.www_authenticate(),
        "Bearer scope=\"admin:all\" error=\"insufficient_scope\" error_description=\"the token does not have the required scope\""
    );
}

#[test]
fn audience_rules() {
    let signed = |aud: Value, client: Option<&str>| {
        let mut c = claims().as_object().cloned().unwrap_or_default();
        c.remove("aud");
        if !aud.is_null() {
            c.insert("aud".into(), aud);
        }
        if let Some(id) = client {
            c.insert("client_id".into(), id.into());
        }
        sign(rs256(), Value::Object(c))
    };
    assert!(check(&signed(serde_json::json!(["x", "client-b"]), None), &[]).is_ok());
    assert!(check(&signed(Value::Null, Some("client-a")), &[]).is_ok());
    // With `aud` present, `client_id` is not looked at.
    assert_eq!(
        check(&signed("x".into(), Some("client-a")), &[]),
        Err(Denial::Audience)
    );
    assert_eq!(
        check(&signed(Value::Null, None), &[]),
        Err(Denial::Audience)
    );
}

#[test]
fn leeway_applies_to_nbf_and_iat_only() {
    let mut c = claims().as_object().cloned().unwrap_or_default();
    c.insert("nbf".into(), (NOW + 30.0).into());
    c.insert("iat".into(), (NOW + 30.0).into());
    assert!(check(&sign(rs256(), Value::Object(c)), &[]).is_ok());
}

#[test]
fn scp_arrays_and_strings() {
    let mut c = claims().as_object().cloned().unwrap_or_default();
    c.remove("scope");
    c.insert("scp".into(), serde_json::json!(["a", "b"]));
    let scopes = vec!["b".to_string()];
    assert_eq!(
        check(&sign(rs256(), Value::Object(c.clone())), &scopes),
        Ok(Some(vec!["a".to_string(), "b".to_string()]))
    );
    c.insert("scp".into(), "c b".into());
    assert!(check(&sign(rs256(), Value::Object(c)), &scopes).is_ok());
}

#[test]
fn claims_reach_the_integration_as_strings() {
    let t = sign(rs256(), claims());
    let decoded = decode(&t).expect("decodes");
    let got: std::collections::BTreeMap<String, String> =
        claims_as_strings(&decoded.claims).into_iter().collect();
    assert_eq!(got["sub"], "user-1");
    assert_eq!(got["groups"], "[admin ops]");
    assert_eq!(got["admin"], "true");
    assert_eq!(got["n"], "12");
    assert_eq!(got["exp"], "1800000300.0");
    assert!(!got.contains_key("gone"));
}

#[test]
fn key_sets_keep_rsa_signature_keys_only() {
    let keys = jwks("k1");
    assert_eq!(keys.len(), 1);
    assert!(keys.get("ec").is_none());
    assert_eq!(KeySet::parse(b"{}"), Err(Denial::KeysUnavailable));
    assert_eq!(KeySet::parse(b"nope"), Err(Denial::KeysUnavailable));
}

#[test]
fn plain_http_issuers_only_on_loopback() {
    for ok in [
        "https://cognito-idp.us-east-1.amazonaws.com/pool",
        "http://127.0.0.1:9000/realms/x",
        "http://localhost/realm",
        "http://[::1]:8080",
        "http://127.8.9.1",
    ] {
        assert!(issuer_allowed(ok), "{ok}");
    }
    for no in [
        "http://example.com/x",
        "http://10.0.0.1:80",
        "ftp://127.0.0.1",
        "127.0.0.1",
    ] {
        assert!(!issuer_allowed(no), "{no}");
    }
}
