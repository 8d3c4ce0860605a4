//! `AWS_IAM` route authorization (authorizers.md §5, §6.3): a SigV4 signature for `execute-api`
//! is required; with configured credentials it must verify against them, without any it must be
//! well formed (the secret is unknown here). No IAM policy is evaluated. What passes becomes the
//! caller's identity for the integration (`requestContext.authorizer.iam`, `$context.identity.*`).

use std::time::SystemTime;

use apigw_sigv4::{Credentials, RequestParts, SigV4Error};

/// The signer, as the integration sees it (§5: local values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamCaller {
    pub access_key: String,
    pub account_id: String,
    /// `callerId`, `userId`, `$context.identity.caller` / `.user`: the access key id.
    pub caller_id: String,
    pub user_arn: String,
}

/// A refused request: 403 with this body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamDenial {
    pub message: String,
}

impl IamDenial {
    pub fn body(&self) -> String {
        serde_json::json!({ "message": self.message }).to_string()
    }
}

/// Checks a request to an `AWS_IAM` route. `body_hash`: the hex SHA-256 of the body (used
/// unless the client sent `x-amz-content-sha256`).
pub fn authorize(
    credentials: Option<&Credentials>,
    req: &RequestParts<'_>,
    body_hash: &str,
    now: SystemTime,
    account_id: &str,
) -> Result<IamCaller, IamDenial> {
    let checked = match credentials.filter(|c| !c.is_empty()) {
        Some(c) => apigw_sigv4::verify(c, req, body_hash, now),
        None => apigw_sigv4::well_formed(req, now),
    };
    let scope = checked.map_err(|e| IamDenial {
        message: match e {
            // Unsigned: the plain 403 of HTTP APIs (§7 #5).
            SigV4Error::MissingAuthenticationToken => "Forbidden".to_string(),
            e => e.to_string(),
        },
    })?;
    if scope.service != "execute-api" {
        return Err(IamDenial {
            message: format!(
                "Credential should be scoped to correct service: 'execute-api'. Found '{}'.",
                scope.service
            ),
        });
    }
    let key = scope.access_key_id;
    Ok(IamCaller {
        user_arn: format!("arn:aws:iam::{account_id}:user/{key}"),
        account_id: account_id.to_string(),
        caller_id: key.clone(),
        access_key: key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderMap;

    fn signed(service: &str, secret: &str, at: SystemTime) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::HOST,
            "abc.execute-api.localhost".parse().expect("host"),
        );
        let req = RequestParts {
            method: "GET",
            raw_path: "/prod/pets",
            raw_query: "a=1",
            headers: &h,
        };
        let added = apigw_sigv4::sign("AKIDLOCAL", secret, "us-east-1", service, &req, b"", at);
        for (k, v) in added {
            h.insert(k, v.parse().expect("header value"));
        }
        h
    }

    fn check(
        h: &HeaderMap,
        creds: Option<&Credentials>,
        now: SystemTime,
    ) -> Result<IamCaller, IamDenial> {
        let req = RequestParts {
            method: "GET",
            raw_path: "/prod/pets",
            raw_query: "a=1",
            headers: h,
        };
        authorize(
            creds,
            &req,
            &apigw_sigv4::payload_hash(b""),
            now,
            "000000000000",
        )
    }

    #[test]
    fn signatures_pass_or_fail_as_configured() {
        let now = SystemTime::now();
        let h = signed("execute-api", "s3cret", now);
        // No credentials: any well-formed signature.
        let caller = check(&h, None, now).expect("passes");
        assert_eq!(caller.access_key, "AKIDLOCAL");
        assert_eq!(caller.user_arn, "arn:aws:iam::000000000000:user/AKIDLOCAL");
        let mut creds = Credentials::new();
        creds.insert("AKIDLOCAL", "s3cret");
        assert!(check(&h, Some(&creds), now).is_ok());
        let mut other = Credentials::new();
        other.insert("AKIDLOCAL", "different");
        assert!(check(&h, Some(&other), now)
            .unwrap_err()
            .message
            .starts_with("The request signature we calculated"));
        let mut unknown = Credentials::new();
        unknown.insert("SOMEONE", "x");
        assert_eq!(
            check(&h, Some(&unknown), now).unwrap_err().message,
            "The security token included in the request is invalid."
        );
        // Unsigned.
        assert_eq!(
            check(&HeaderMap::new(), None, now).unwrap_err().body(),
            r#"{"message":"Forbidden"}"#
        );
        // Another service's signature.
        let lambda = signed("lambda", "s3cret", now);
        assert!(check(&lambda, None, now).is_err());
        // Stale.
        let old = signed(
            "execute-api",
            "s3cret",
            now - std::time::Duration::from_secs(3600),
        );
        assert!(check(&old, None, now)
            .unwrap_err()
            .message
            .starts_with("Signature expired"));
    }
}
