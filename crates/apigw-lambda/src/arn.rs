//! Which function a caller means: Lambda `Invoke` function names (name, partial ARN, full
//! ARN, with or without a qualifier) and `AWS_PROXY` integration URIs (spec §5.1, §5.2).

use crate::error::LambdaError;

/// A function as a caller named it. Region and account are `None` when the name did not
/// carry them (the local defaults apply).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FunctionRef {
    pub name: String,
    pub region: Option<String>,
    pub account_id: Option<String>,
    /// `$LATEST`, a version number or an alias; `None` means `$LATEST`.
    pub qualifier: Option<String>,
}

/// An integration URI that names no Lambda function.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a Lambda function integration URI: {0}")]
pub struct UriError(pub String);

const INVOKE_PATH: &str = ":lambda:path/2015-03-31/functions/";

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 140
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn valid_qualifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'$'))
}

fn is_region(s: &str) -> bool {
    // [a-z]{2}(-gov)?-[a-z]+-\d
    let parts: Vec<&str> = s.split('-').collect();
    (3..=4).contains(&parts.len())
        && parts[0].len() == 2
        && parts[0].bytes().all(|b| b.is_ascii_lowercase())
        && parts[parts.len() - 1].len() == 1
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
}

fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

impl FunctionRef {
    /// A plain function name, `$LATEST`.
    pub fn named(name: impl Into<String>) -> FunctionRef {
        FunctionRef {
            name: name.into(),
            region: None,
            account_id: None,
            qualifier: None,
        }
    }

    /// Parses the `FunctionName` of a Lambda `Invoke` call: `name`, `name:qualifier`,
    /// `123456789012:function:name[:qualifier]`, `region:123456789012:function:name[...]` or
    /// `arn:aws:lambda:region:123456789012:function:name[:qualifier]`.
    pub fn parse(function_name: &str) -> Option<FunctionRef> {
        if function_name.is_empty() || function_name.len() > 170 {
            return None;
        }
        let parts: Vec<&str> = function_name.split(':').collect();
        let (prefix, rest): (&[&str], &[&str]) = match parts.iter().position(|p| *p == "function") {
            Some(i) => (&parts[..i], &parts[i + 1..]),
            None => (&[], &parts[..]),
        };
        let (name, qualifier) = match rest {
            [name] => (*name, None),
            [name, q] => (*name, Some(*q)),
            _ => return None,
        };
        if !valid_name(name) || qualifier.is_some_and(|q| !valid_qualifier(q)) {
            return None;
        }
        let (region, account) = match prefix {
            [] if parts.contains(&"function") => return None,
            [] => (None, None),
            [acct] if is_account(acct) => (None, Some(*acct)),
            [region, acct] if is_region(region) && is_account(acct) => (Some(*region), Some(*acct)),
            ["arn", partition, "lambda", region, acct]
                if partition.starts_with("aws") && is_region(region) && is_account(acct) =>
            {
                (Some(*region), Some(*acct))
            }
            _ => return None,
        };
        Some(FunctionRef {
            name: name.to_string(),
            region: region.map(str::to_string),
            account_id: account.map(str::to_string),
            qualifier: qualifier.map(str::to_string),
        })
    }

    /// Parses an `AWS_PROXY` integration URI (after `${stageVariables.x}` substitution):
    /// `arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{function-arn}/invocations`
    /// or a Lambda function ARN itself.
    pub fn from_integration_uri(uri: &str) -> Result<FunctionRef, UriError> {
        let bad = || UriError(uri.to_string());
        let function_arn = if uri.starts_with("arn:") && uri.contains(":apigateway:") {
            let (_, after) = uri.split_once(INVOKE_PATH).ok_or_else(bad)?;
            after.strip_suffix("/invocations").ok_or_else(bad)?
        } else {
            uri
        };
        let f = FunctionRef::parse(function_arn).ok_or_else(bad)?;
        if !function_arn.starts_with("arn:") {
            return Err(bad());
        }
        Ok(f)
    }

    /// Applies an Invoke API `?Qualifier=`; a different qualifier in the name is an error.
    pub fn with_qualifier(mut self, qualifier: Option<&str>) -> Result<FunctionRef, LambdaError> {
        let Some(q) = qualifier.filter(|q| !q.is_empty()) else {
            return Ok(self);
        };
        if !valid_qualifier(q) {
            return Err(LambdaError::Validation(format!(
                "1 validation error detected: Value '{q}' at 'qualifier' failed to satisfy \
                 constraint: Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)"
            )));
        }
        match &self.qualifier {
            Some(own) if own != q => Err(LambdaError::InvalidParameterValue(
                "The derived qualifier from the function name does not match the specified \
                 qualifier."
                    .into(),
            )),
            _ => {
                self.qualifier = Some(q.to_string());
                Ok(self)
            }
        }
    }

    /// True for `$LATEST` (named or implied): the only version a hosted function has.
    pub fn is_latest(&self) -> bool {
        self.qualifier.as_deref().is_none_or(|q| q == "$LATEST")
    }

    /// The function's ARN, with the qualifier when one was named.
    pub fn arn(&self, default_region: &str, default_account: &str) -> String {
        let mut arn = format!(
            "arn:aws:lambda:{}:{}:function:{}",
            self.region.as_deref().unwrap_or(default_region),
            self.account_id.as_deref().unwrap_or(default_account),
            self.name
        );
        if let Some(q) = &self.qualifier {
            arn.push(':');
            arn.push_str(q);
        }
        arn
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(name: &str, region: Option<&str>, account: Option<&str>, q: Option<&str>) -> FunctionRef {
        FunctionRef {
            name: name.into(),
            region: region.map(Into::into),
            account_id: account.map(Into::into),
            qualifier: q.map(Into::into),
        }
    }

    #[test]
    fn invoke_function_names() {
        assert_eq!(
            FunctionRef::parse("hello"),
            Some(f("hello", None, None, None))
        );
        assert_eq!(
            FunctionRef::parse("hello:$LATEST"),
            Some(f("hello", None, None, Some("$LATEST")))
        );
        assert_eq!(
            FunctionRef::parse("000000000000:function:hello"),
            Some(f("hello", None, Some("000000000000"), None))
        );
        assert_eq!(
            FunctionRef::parse("arn:aws:lambda:eu-west-1:123456789012:function:my.fn-1_x:prod"),
            Some(f(
                "my.fn-1_x",
                Some("eu-west-1"),
                Some("123456789012"),
                Some("prod")
            ))
        );
        assert_eq!(
            FunctionRef::parse("us-gov-west-1:123456789012:function:g"),
            Some(f("g", Some("us-gov-west-1"), Some("123456789012"), None))
        );
        for bad in [
            "",
            "a b",
            "function:x",
            "12:function:x",
            "arn:aws:s3:::bucket",
            "arn:aws:lambda:us-east-1:123456789012:function:",
            "x:y:z",
            "hello:bad/q",
        ] {
            assert_eq!(FunctionRef::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn integration_uris() {
        let apigw = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/\
                     arn:aws:lambda:us-east-1:123412341234:function:simpleproxy-echo-e2e/invocations";
        assert_eq!(
            FunctionRef::from_integration_uri(apigw).unwrap(),
            f(
                "simpleproxy-echo-e2e",
                Some("us-east-1"),
                Some("123412341234"),
                None
            )
        );
        let with_alias = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/\
                          arn:aws:lambda:eu-west-1:000000000000:function:hello:live/invocations";
        assert_eq!(
            FunctionRef::from_integration_uri(with_alias)
                .unwrap()
                .qualifier
                .as_deref(),
            Some("live")
        );
        assert_eq!(
            FunctionRef::from_integration_uri(
                "arn:aws:lambda:us-east-1:000000000000:function:hello"
            )
            .unwrap(),
            f("hello", Some("us-east-1"), Some("000000000000"), None)
        );
        for bad in [
            "https://example.com/x",
            "hello",
            "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/hello",
            "arn:aws:apigateway:us-east-1:s3:path/bucket/key",
        ] {
            assert!(FunctionRef::from_integration_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn qualifier_parameter() {
        let r = FunctionRef::named("a")
            .with_qualifier(Some("$LATEST"))
            .unwrap();
        assert!(r.is_latest());
        let r = FunctionRef::named("a").with_qualifier(Some("3")).unwrap();
        assert!(!r.is_latest());
        assert!(FunctionRef::parse("a:1")
            .unwrap()
            .with_qualifier(Some("2"))
            .is_err());
        assert_eq!(
            FunctionRef::parse("a:1")
                .unwrap()
                .arn("us-east-1", "000000000000"),
            "arn:aws:lambda:us-east-1:000000000000:function:a:1"
        );
    }
}
