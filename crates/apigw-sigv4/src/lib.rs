//! AWS Signature Version 4 (`AWS4-HMAC-SHA256`).
//!
//! Boundary: pure computation over a request's method, raw path, raw query, headers and payload
//! hash. It verifies requests against operator-configured credentials (`verify`) and signs
//! outgoing requests (`sign`); it does no I/O and knows no AWS service. Each wire protocol maps
//! [`SigV4Error`] to its own error shape.
//!
//! Canonical forms follow the SigV4 documentation for services other than S3: the path as sent
//! is URI-encoded once more (`%24default` is signed as `%2524default`), query parameters are
//! decoded, re-encoded strictly and sorted, header values are trimmed with inner runs of spaces
//! collapsed.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use http::HeaderMap;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};

const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// How far a request's `X-Amz-Date` may be from our clock (AWS: 15 minutes).
pub const MAX_SKEW: Duration = Duration::from_secs(15 * 60);

/// Everything but the unreserved characters `A-Za-z0-9-_.~` is encoded.
const STRICT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
/// The same, keeping `/` for paths.
const PATH: &AsciiSet = &STRICT.remove(b'/');

/// Why a request's signature was not accepted. The texts are AWS's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigV4Error {
    #[error("Missing Authentication Token")]
    MissingAuthenticationToken,
    #[error("{0}")]
    IncompleteSignature(String),
    #[error("The security token included in the request is invalid.")]
    UnrecognizedClient,
    #[error("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")]
    SignatureDoesNotMatch,
    #[error("Signature expired: {signed} is now earlier than {earliest} ({now} - 15 min.)")]
    SignatureExpired {
        signed: String,
        earliest: String,
        now: String,
    },
    #[error("Signature not yet current: {signed} is still later than {latest} ({now} + 15 min.)")]
    SignatureNotYetCurrent {
        signed: String,
        latest: String,
        now: String,
    },
}

impl SigV4Error {
    /// The AWS error code (`x-amzn-ErrorType` / `__type`).
    pub fn code(&self) -> &'static str {
        match self {
            SigV4Error::MissingAuthenticationToken => "MissingAuthenticationTokenException",
            SigV4Error::IncompleteSignature(_) => "IncompleteSignatureException",
            SigV4Error::UnrecognizedClient => "UnrecognizedClientException",
            SigV4Error::SignatureDoesNotMatch
            | SigV4Error::SignatureExpired { .. }
            | SigV4Error::SignatureNotYetCurrent { .. } => "InvalidSignatureException",
        }
    }
}

/// Access key id → secret access key, as the operator configured them.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    secrets: HashMap<String, String>,
}

impl Credentials {
    pub fn new() -> Credentials {
        Credentials::default()
    }

    pub fn insert(&mut self, access_key_id: impl Into<String>, secret: impl Into<String>) {
        self.secrets.insert(access_key_id.into(), secret.into());
    }

    /// No credentials configured: every request is accepted unsigned.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// Parses `AKID:SECRET` (the form of `--credentials`).
    pub fn parse_pair(s: &str) -> Option<(String, String)> {
        let (id, secret) = s.split_once(':')?;
        let id = id.trim();
        let secret = secret.trim();
        (!id.is_empty() && !secret.is_empty()).then(|| (id.to_string(), secret.to_string()))
    }
}

/// The parts of a request SigV4 covers.
pub struct RequestParts<'a> {
    pub method: &'a str,
    /// The path exactly as received (still percent-encoded).
    pub raw_path: &'a str,
    /// The query string exactly as received, without `?`.
    pub raw_query: &'a str,
    pub headers: &'a HeaderMap,
}

/// What a verified signature vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub access_key_id: String,
    pub date: String,
    pub region: String,
    pub service: String,
}

struct Authorization<'a> {
    access_key_id: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn parse_authorization(value: &str) -> Result<Authorization<'_>, SigV4Error> {
    let rest = value
        .strip_prefix(ALGORITHM)
        .ok_or_else(|| {
            SigV4Error::IncompleteSignature(format!(
                "Authorization header requires '{ALGORITHM}' as the algorithm. Authorization={value}"
            ))
        })?
        .trim_start();
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("Credential=") {
            credential = Some(v);
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed = Some(v);
        } else if let Some(v) = part.strip_prefix("Signature=") {
            signature = Some(v);
        }
    }
    let missing = |what: &str| {
        SigV4Error::IncompleteSignature(format!(
            "Authorization header requires '{what}' parameter. Authorization={value}"
        ))
    };
    let credential = credential.ok_or_else(|| missing("Credential"))?;
    let signed = signed.ok_or_else(|| missing("SignedHeaders"))?;
    let signature = signature.ok_or_else(|| missing("Signature"))?;
    let fields: Vec<&str> = credential.split('/').collect();
    match fields.as_slice() {
        [id, date, region, service, "aws4_request"] if !id.is_empty() => Ok(Authorization {
            access_key_id: id,
            date,
            region,
            service,
            signed_headers: signed.split(';').collect(),
            signature,
        }),
        _ => Err(SigV4Error::IncompleteSignature(format!(
            "Credential should be scoped to a valid region, not '{credential}'. "
        ))),
    }
}

fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// The hex SHA-256 of a payload, as `x-amz-content-sha256` carries it.
pub fn payload_hash(body: &[u8]) -> String {
    sha256_hex(body)
}

fn canonical_path(raw_path: &str) -> String {
    if raw_path.is_empty() {
        return "/".into();
    }
    utf8_percent_encode(raw_path, PATH).to_string()
}

fn canonical_query(raw_query: &str) -> String {
    let mut pairs: Vec<(String, String)> = raw_query
        .split('&')
        .filter(|p| !p.is_empty())
        .filter(|p| !p.starts_with("X-Amz-Signature="))
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let enc = |s: &str| {
                let decoded = percent_decode_str(s).decode_utf8_lossy();
                utf8_percent_encode(&decoded, STRICT).to_string()
            };
            (enc(k), enc(v))
        })
        .collect();
    pairs.sort();
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

fn canonical_header_value(headers: &HeaderMap, name: &str) -> String {
    let values: Vec<String> = headers
        .get_all(name)
        .iter()
        .map(|v| {
            String::from_utf8_lossy(v.as_bytes())
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    values.join(",")
}

fn canonical_request(
    req: &RequestParts<'_>,
    signed_headers: &[&str],
    payload_hash: &str,
) -> String {
    let mut out = String::with_capacity(256);
    out.push_str(req.method);
    out.push('\n');
    out.push_str(&canonical_path(req.raw_path));
    out.push('\n');
    out.push_str(&canonical_query(req.raw_query));
    out.push('\n');
    for name in signed_headers {
        out.push_str(name);
        out.push(':');
        out.push_str(&canonical_header_value(req.headers, name));
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&signed_headers.join(";"));
    out.push('\n');
    out.push_str(payload_hash);
    out
}

fn signature(secret: &str, scope: &Scope, amz_date: &str, canonical: &str) -> String {
    let credential_scope = format!(
        "{}/{}/{}/aws4_request",
        scope.date, scope.region, scope.service
    );
    let string_to_sign = format!(
        "{ALGORITHM}\n{amz_date}\n{credential_scope}\n{}",
        sha256_hex(canonical.as_bytes())
    );
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), scope.date.as_bytes());
    let k_region = hmac(&k_date, scope.region.as_bytes());
    let k_service = hmac(&k_region, scope.service.as_bytes());
    let k_signing = hmac(&k_service, b"aws4_request");
    hex(&hmac(&k_signing, string_to_sign.as_bytes()))
}

/// Constant-time comparison, so a signature cannot be guessed byte by byte from timings.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// Checks the request's `Authorization` header against `credentials`.
/// `body_hash` is the hex SHA-256 of the payload (used unless `x-amz-content-sha256` is sent).
pub fn verify(
    credentials: &Credentials,
    req: &RequestParts<'_>,
    body_hash: &str,
    now: SystemTime,
) -> Result<Scope, SigV4Error> {
    let (auth, amz_date) = signed_parts(req, now)?;
    let secret = credentials
        .secrets
        .get(auth.access_key_id)
        .ok_or(SigV4Error::UnrecognizedClient)?;
    let scope = auth.scope();
    let hash = req
        .headers
        .get("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok())
        .unwrap_or(body_hash);
    let canonical = canonical_request(req, &auth.signed_headers, hash);
    let expected = signature(secret, &scope, amz_date, &canonical);
    if same(&expected, auth.signature) {
        Ok(scope)
    } else {
        Err(SigV4Error::SignatureDoesNotMatch)
    }
}

/// Checks what can be checked of a signed request without its secret: an `Authorization`
/// header of SigV4's form, a date within 15 minutes of `now`. For a gateway that accepts any
/// signer (no credentials configured), which still needs the signer's access key and scope.
pub fn well_formed(req: &RequestParts<'_>, now: SystemTime) -> Result<Scope, SigV4Error> {
    signed_parts(req, now).map(|(auth, _)| auth.scope())
}

/// The parsed `Authorization` header and the checked `x-amz-date`.
fn signed_parts<'r>(
    req: &RequestParts<'r>,
    now: SystemTime,
) -> Result<(Authorization<'r>, &'r str), SigV4Error> {
    let header = req
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(SigV4Error::MissingAuthenticationToken)?;
    let auth = parse_authorization(header)?;
    let amz_date = req
        .headers
        .get("x-amz-date")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            SigV4Error::IncompleteSignature(
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
                    .into(),
            )
        })?;
    check_skew(amz_date, now)?;
    Ok((auth, amz_date))
}

impl Authorization<'_> {
    fn scope(&self) -> Scope {
        Scope {
            access_key_id: self.access_key_id.to_string(),
            date: self.date.to_string(),
            region: self.region.to_string(),
            service: self.service.to_string(),
        }
    }
}

/// Signs a request: returns the headers to add (`x-amz-date`, `authorization`, and
/// `x-amz-content-sha256`). `headers` must already hold `host` and every header to sign.
pub fn sign(
    access_key_id: &str,
    secret: &str,
    region: &str,
    service: &str,
    req: &RequestParts<'_>,
    body: &[u8],
    now: SystemTime,
) -> Vec<(&'static str, String)> {
    let amz_date = amz_date(now);
    let scope = Scope {
        access_key_id: access_key_id.to_string(),
        date: amz_date[..8].to_string(),
        region: region.to_string(),
        service: service.to_string(),
    };
    let hash = sha256_hex(body);
    let mut names: Vec<String> = req
        .headers
        .keys()
        .map(|n| n.as_str().to_string())
        .filter(|n| n != "authorization")
        .collect();
    names.extend(["x-amz-date".to_string(), "x-amz-content-sha256".to_string()]);
    names.sort();
    names.dedup();
    let mut headers = req.headers.clone();
    if let Ok(v) = http::HeaderValue::from_str(&amz_date) {
        headers.insert("x-amz-date", v);
    }
    if let Ok(v) = http::HeaderValue::from_str(&hash) {
        headers.insert("x-amz-content-sha256", v);
    }
    let signing = RequestParts {
        headers: &headers,
        ..*req
    };
    let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let canonical = canonical_request(&signing, &name_refs, &hash);
    let sig = signature(secret, &scope, &amz_date, &canonical);
    vec![
        ("x-amz-date", amz_date),
        ("x-amz-content-sha256", hash),
        (
            "authorization",
            format!(
                "{ALGORITHM} Credential={access_key_id}/{}/{region}/{service}/aws4_request, SignedHeaders={}, Signature={sig}",
                scope.date,
                names.join(";")
            ),
        ),
    ]
}

/// `YYYYMMDD'T'HHMMSS'Z'` for a time (clamped to 1970-01-01 .. 9999-12-31, which
/// `httpdate` renders).
pub fn amz_date(t: SystemTime) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let last = UNIX_EPOCH + Duration::from_secs(253_402_300_799);
    // `Sun, 06 Nov 1994 08:49:37 GMT`: the same fields, reordered.
    let imf = httpdate::fmt_http_date(t.clamp(UNIX_EPOCH, last));
    let field = |r: std::ops::Range<usize>| imf.get(r).unwrap_or("00");
    let month = MONTHS
        .iter()
        .position(|m| *m == field(8..11))
        .map_or(1, |i| i + 1);
    format!(
        "{}{month:02}{}T{}{}{}Z",
        field(12..16),
        field(5..7),
        field(17..19),
        field(20..22),
        field(23..25)
    )
}

/// True for `YYYYMMDD'T'HHMMSS'Z'` with plausible fields (a leap second allowed).
fn is_basic_format(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| {
        b[r.clone()]
            .iter()
            .all(u8::is_ascii_digit)
            .then(|| b[r].iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0')))
    };
    let fields = (
        digits(0..4),
        digits(4..6),
        digits(6..8),
        digits(9..11),
        digits(11..13),
        digits(13..15),
    );
    matches!(fields,
        (Some(_), Some(mo), Some(d), Some(h), Some(mi), Some(se))
            if (1..=12).contains(&mo) && (1..=31).contains(&d) && h <= 23 && mi <= 59 && se <= 60)
}

/// AWS's clock-skew check. The basic format sorts as the times it names, so the signed date
/// is compared as text with the window's ends, which are also what the error messages show.
fn check_skew(amz_date_signed: &str, now: SystemTime) -> Result<(), SigV4Error> {
    if !is_basic_format(amz_date_signed) {
        return Err(SigV4Error::IncompleteSignature(format!(
            "Date must be in ISO-8601 'basic format'. Got '{amz_date_signed}'. See http://en.wikipedia.org/wiki/ISO_8601"
        )));
    }
    let earliest = amz_date(now.checked_sub(MAX_SKEW).unwrap_or(UNIX_EPOCH));
    if amz_date_signed < earliest.as_str() {
        return Err(SigV4Error::SignatureExpired {
            signed: amz_date_signed.to_string(),
            earliest,
            now: amz_date(now),
        });
    }
    let latest = amz_date(now.checked_add(MAX_SKEW).unwrap_or(now));
    if amz_date_signed > latest.as_str() {
        return Err(SigV4Error::SignatureNotYetCurrent {
            signed: amz_date_signed.to_string(),
            latest,
            now: amz_date(now),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // The worked example of the SigV4 documentation ("Example: GET request", IAM ListUsers):
    // secret wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, 20150830T123600Z, us-east-1/iam.
    fn doc_example_headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8"
                .parse()
                .unwrap(),
        );
        h.insert("host", "iam.amazonaws.com".parse().unwrap());
        h.insert("x-amz-date", "20150830T123600Z".parse().unwrap());
        h
    }

    #[test]
    fn the_documentation_example_verifies() {
        let mut headers = doc_example_headers();
        headers.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, \
             Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
                .parse()
                .unwrap(),
        );
        let mut creds = Credentials::new();
        creds.insert("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
        let req = RequestParts {
            method: "GET",
            raw_path: "/",
            raw_query: "Action=ListUsers&Version=2010-05-08",
            headers: &headers,
        };
        let now = UNIX_EPOCH + Duration::from_secs(1_440_938_160); // 20150830T123600Z
        let scope = verify(&creds, &req, &payload_hash(b""), now).unwrap();
        assert_eq!(scope.region, "us-east-1");
        assert_eq!(scope.service, "iam");

        let mut wrong = Credentials::new();
        wrong.insert("AKIDEXAMPLE", "not-the-secret");
        assert_eq!(
            verify(&wrong, &req, &payload_hash(b""), now),
            Err(SigV4Error::SignatureDoesNotMatch)
        );
        assert_eq!(
            verify(&Credentials::new(), &req, &payload_hash(b""), now),
            Err(SigV4Error::UnrecognizedClient)
        );
        let later = now + Duration::from_secs(16 * 60);
        assert_eq!(
            verify(&creds, &req, &payload_hash(b""), later)
                .unwrap_err()
                .code(),
            "InvalidSignatureException"
        );
    }

    #[test]
    fn what_sign_produces_verifies_and_a_changed_request_does_not() {
        let mut headers = HeaderMap::new();
        headers.insert("host", "127.0.0.1:4566".parse().unwrap());
        let body = br#"{"name":"x"}"#;
        let now = SystemTime::now();
        let added = sign(
            "AK",
            "SECRET",
            "eu-west-1",
            "apigateway",
            &RequestParts {
                method: "POST",
                raw_path: "/v2/apis/a1/stages/%24default",
                raw_query: "maxResults=5&a=b%20c",
                headers: &headers,
            },
            body,
            now,
        );
        for (name, value) in added {
            headers.insert(name, value.parse().unwrap());
        }
        let req = RequestParts {
            method: "POST",
            raw_path: "/v2/apis/a1/stages/%24default",
            raw_query: "maxResults=5&a=b%20c",
            headers: &headers,
        };
        let mut creds = Credentials::new();
        creds.insert("AK", "SECRET");
        let scope = verify(&creds, &req, &payload_hash(body), now).unwrap();
        assert_eq!(scope.region, "eu-west-1");
        let tampered = RequestParts {
            raw_path: "/v2/apis/a2/stages/%24default",
            ..req
        };
        assert_eq!(
            verify(&creds, &tampered, &payload_hash(body), now),
            Err(SigV4Error::SignatureDoesNotMatch)
        );
    }

    #[test]
    fn canonical_forms() {
        assert_eq!(
            canonical_path("/v2/apis/x/stages/%24default"),
            "/v2/apis/x/stages/%2524default"
        );
        assert_eq!(canonical_path(""), "/");
        assert_eq!(canonical_query("b=2&a=1&a=0&c"), "a=0&a=1&b=2&c=");
        assert_eq!(canonical_query("k=a%2Fb+c"), "k=a%2Fb%2Bc");
        assert_eq!(
            amz_date(UNIX_EPOCH + Duration::from_secs(1_440_938_160)),
            "20150830T123600Z"
        );
        assert_eq!(amz_date(UNIX_EPOCH), "19700101T000000Z");
        // 2024-02-29 23:59:59, a leap day; the far future is clamped, not a panic.
        assert_eq!(
            amz_date(UNIX_EPOCH + Duration::from_secs(1_709_251_199)),
            "20240229T235959Z"
        );
        assert_eq!(
            amz_date(UNIX_EPOCH + Duration::from_secs(u64::MAX / 4)),
            "99991231T235959Z"
        );
        assert!(is_basic_format("20150830T123600Z"));
        assert!(is_basic_format("20161231T235960Z"));
        for bad in [
            "2015-08-30",
            "20151330T123600Z",
            "20150800T123600Z",
            "2015083OT123600Z",
            "20150830T246000Z",
            "+0150830T123600Z",
        ] {
            assert!(!is_basic_format(bad), "{bad}");
        }
    }

    #[test]
    fn the_skew_window_is_fifteen_minutes_either_way() {
        let now = UNIX_EPOCH + Duration::from_secs(1_440_938_160); // 20150830T123600Z
        assert_eq!(check_skew("20150830T122100Z", now), Ok(()));
        assert_eq!(check_skew("20150830T125100Z", now), Ok(()));
        assert_eq!(
            check_skew("20150830T122059Z", now),
            Err(SigV4Error::SignatureExpired {
                signed: "20150830T122059Z".into(),
                earliest: "20150830T122100Z".into(),
                now: "20150830T123600Z".into(),
            })
        );
        assert_eq!(
            check_skew("20150830T125101Z", now),
            Err(SigV4Error::SignatureNotYetCurrent {
                signed: "20150830T125101Z".into(),
                latest: "20150830T125100Z".into(),
                now: "20150830T123600Z".into(),
            })
        );
        assert!(matches!(
            check_skew("2015-08-30T12:36:00Z", now),
            Err(SigV4Error::IncompleteSignature(_))
        ));
    }

    #[test]
    fn missing_and_malformed_headers() {
        let headers = HeaderMap::new();
        let req = RequestParts {
            method: "GET",
            raw_path: "/",
            raw_query: "",
            headers: &headers,
        };
        let creds = Credentials::new();
        assert_eq!(
            verify(&creds, &req, "", SystemTime::now()),
            Err(SigV4Error::MissingAuthenticationToken)
        );
        let mut h = HeaderMap::new();
        h.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=x".parse().unwrap(),
        );
        let req = RequestParts { headers: &h, ..req };
        assert_eq!(
            verify(&creds, &req, "", SystemTime::now())
                .unwrap_err()
                .code(),
            "IncompleteSignatureException"
        );
    }
}
