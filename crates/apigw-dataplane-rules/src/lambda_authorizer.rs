//! Lambda `REQUEST` authorizers' answers (authorizers.md §3.3–§3.7): reading what the function
//! returned (a simple response or an IAM policy), deciding a request with it, and the result
//! cache keyed by the identity sources' values.
//!
//! Pure: the caller invokes the function, reads the clock and builds the event.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use rustc_hash::FxHashMap;
use serde_json::{Map, Value};

/// The largest authorizer answer accepted (§3.3: "A result over 8 KB … → 500").
pub const MAX_RESULT_BYTES: usize = 8 * 1024;

/// What an authorizer function answered, once read.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthorizerResult {
    pub decision: Decision,
    /// Present in policy answers; not part of a 2.0 event, but `$context.authorizer.principalId`.
    pub principal_id: Option<String>,
    /// The `context` object, as returned (`{}` when there was none).
    pub context: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// A simple response: the same answer for every route of the authorizer (§3.6).
    Simple(bool),
    /// An IAM policy, evaluated against each request's route ARN.
    Policy(Vec<Statement>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub allow: bool,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
}

/// Why an answer cannot be used: the request gets 500 (or 401 for `Unauthorized`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    /// The function failed with the message `Unauthorized` (§3.3): 401.
    Unauthorized,
    /// Anything else: 500.
    Malformed(String),
}

/// Reads the function's answer. `simple`: the authorizer has `enableSimpleResponses` (2.0).
pub fn parse_result(payload: &[u8], simple: bool) -> Result<AuthorizerResult, Invalid> {
    let bad = |why: &str| Invalid::Malformed(why.to_string());
    if payload.len() > MAX_RESULT_BYTES {
        return Err(bad("the authorizer's answer is over 8 KB"));
    }
    let v: Value = serde_json::from_slice(payload).map_err(|_| bad("the answer is not JSON"))?;
    let Value::Object(obj) = v else {
        return Err(bad("the answer is not a JSON object"));
    };
    let context = match obj.get("context") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(c)) => c.clone(),
        Some(_) => return Err(bad("context is not an object")),
    };
    let principal_id = obj
        .get("principalId")
        .and_then(Value::as_str)
        .map(str::to_string);
    let decision = if simple {
        // Only a JSON boolean: a string "false" must never read as a grant.
        match obj.get("isAuthorized") {
            Some(Value::Bool(b)) => Decision::Simple(*b),
            _ => return Err(bad("isAuthorized is not a boolean")),
        }
    } else {
        let statements = obj
            .get("policyDocument")
            .and_then(|p| p.get("Statement"))
            .ok_or_else(|| bad("no policyDocument.Statement"))?;
        let list: Vec<&Value> = match statements {
            Value::Array(a) => a.iter().collect(),
            s @ Value::Object(_) => vec![s],
            _ => return Err(bad("Statement is not a list")),
        };
        let strings = |v: Option<&Value>| -> Result<Vec<String>, Invalid> {
            match v {
                Some(Value::String(s)) => Ok(vec![s.clone()]),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|i| {
                        i.as_str()
                            .map(str::to_string)
                            .ok_or_else(|| bad("not a string"))
                    })
                    .collect(),
                _ => Err(bad("Action and Resource must be strings or lists")),
            }
        };
        let mut out = Vec::with_capacity(list.len());
        for s in list {
            let allow = match s.get("Effect").and_then(Value::as_str) {
                Some(e) if e.eq_ignore_ascii_case("allow") => true,
                Some(e) if e.eq_ignore_ascii_case("deny") => false,
                _ => return Err(bad("Effect is neither Allow nor Deny")),
            };
            out.push(Statement {
                allow,
                actions: strings(s.get("Action"))?,
                resources: strings(s.get("Resource"))?,
            });
        }
        Decision::Policy(out)
    };
    Ok(AuthorizerResult {
        decision,
        principal_id,
        context,
    })
}

/// The error of a failed invocation, read as §3.3 says: `Unauthorized` → 401, else 500.
pub fn function_error(payload: &[u8]) -> Invalid {
    let message = serde_json::from_slice::<Value>(payload).ok().and_then(|v| {
        v.get("errorMessage")
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    match message.as_deref() {
        Some("Unauthorized") => Invalid::Unauthorized,
        _ => Invalid::Malformed("the authorizer function failed".into()),
    }
}

impl AuthorizerResult {
    /// Does this answer let a request for `route_arn` through? A policy: any matching Deny
    /// wins, then any matching Allow; nothing matching denies.
    pub fn allows(&self, route_arn: &str) -> bool {
        match &self.decision {
            Decision::Simple(b) => *b,
            Decision::Policy(statements) => {
                let applies = |s: &&Statement| {
                    s.actions
                        .iter()
                        .any(|a| wildcard(&a.to_ascii_lowercase(), "execute-api:invoke"))
                        && s.resources.iter().any(|r| wildcard(r, route_arn))
                };
                let matching: Vec<&Statement> = statements.iter().filter(applies).collect();
                !matching.iter().any(|s| !s.allow) && matching.iter().any(|s| s.allow)
            }
        }
    }
}

/// IAM's wildcards: `*` any run of characters (`/` included), `?` one character.
pub fn wildcard(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    // Iterative matching with one backtrack point: linear in practice, never exponential.
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// `arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{method}/{path}` (§3.2): `path` is
/// the request path after the stage, without its leading `/`.
pub fn route_arn(
    region: &str,
    account: &str,
    api_id: &str,
    stage: &str,
    method: &str,
    path: &str,
) -> String {
    format!(
        "arn:aws:execute-api:{region}:{account}:{api_id}/{stage}/{method}/{}",
        path.strip_prefix('/').unwrap_or(path)
    )
}

/// Cached answers by (stage, authorizer, identity values) (§3.7), each kept for its TTL from the
/// invocation that produced it. Bounded: the oldest entry goes first.
#[derive(Debug)]
pub struct ResultCache {
    entries: FxHashMap<CacheKey, (AuthorizerResult, Instant)>,
    order: VecDeque<(CacheKey, Instant)>,
    capacity: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    pub stage: String,
    pub authorizer_id: String,
    pub identity: Vec<String>,
}

impl ResultCache {
    pub fn new(capacity: usize) -> ResultCache {
        ResultCache {
            entries: FxHashMap::default(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// A live entry for `key` at `now`.
    pub fn get(&self, key: &CacheKey, now: Instant) -> Option<&AuthorizerResult> {
        self.entries
            .get(key)
            .filter(|(_, expires)| now < *expires)
            .map(|(r, _)| r)
    }

    /// Keeps `result` for `ttl` (0: not at all).
    pub fn put(&mut self, key: CacheKey, result: AuthorizerResult, ttl: Duration, now: Instant) {
        if ttl.is_zero() {
            return;
        }
        let expires = now + ttl;
        while self.entries.len() >= self.capacity {
            match self.order.pop_front() {
                Some((old, at)) => {
                    // Only if the entry is still the one queued (a key put again moved on).
                    if self.entries.get(&old).is_some_and(|(_, e)| *e == at) {
                        self.entries.remove(&old);
                    }
                }
                None => break,
            }
        }
        self.order.push_back((key.clone(), expires));
        self.entries.insert(key, (result, expires));
        // The queue may hold stale positions of re-put keys: keep it from growing past twice
        // the entries.
        if self.order.len() > 2 * self.capacity {
            let entries = &self.entries;
            self.order
                .retain(|(k, at)| entries.get(k).is_some_and(|(_, e)| e == at));
        }
    }

    /// Forgets every entry of `stage` (ResetAuthorizersCache, a new deployment), or of one
    /// authorizer (`UpdateAuthorizer` / `DeleteAuthorizer`).
    pub fn forget(&mut self, stage: Option<&str>, authorizer_id: Option<&str>) {
        self.entries.retain(|k, _| {
            !(stage.is_none_or(|s| k.stage == s)
                && authorizer_id.is_none_or(|a| k.authorizer_id == a))
        });
        let entries = &self.entries;
        self.order.retain(|(k, _)| entries.contains_key(k));
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(effect: &str, resource: Value) -> Vec<u8> {
        serde_json::json!({
            "principalId": "user-7",
            "policyDocument": {"Version": "2012-10-17", "Statement": [
                {"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}
            ]},
            "context": {"tier": "gold", "n": 3}
        })
        .to_string()
        .into_bytes()
    }

    const ARN: &str = "arn:aws:execute-api:us-east-1:000000000000:abc123/prod/GET/pets/7";

    #[test]
    fn simple_responses_need_a_real_boolean() {
        let ok =
            parse_result(br#"{"isAuthorized": true, "context": {"a": 1}}"#, true).expect("reads");
        assert!(ok.allows(ARN));
        assert_eq!(ok.context.get("a"), Some(&Value::from(1)));
        let no = parse_result(br#"{"isAuthorized": false}"#, true).expect("reads");
        assert!(!no.allows(ARN));
        for bad in [
            &br#"{"isAuthorized": "true"}"#[..],
            br#"{"isAuthorized": 1}"#,
            br#"{}"#,
            br#"[]"#,
            b"nope",
            br#"{"isAuthorized": true, "context": "x"}"#,
        ] {
            assert!(matches!(
                parse_result(bad, true),
                Err(Invalid::Malformed(_))
            ));
        }
        let big = format!(
            r#"{{"isAuthorized": true, "context": {{"a": "{}"}}}}"#,
            "x".repeat(9000)
        );
        assert!(parse_result(big.as_bytes(), true).is_err());
    }

    #[test]
    fn policies_match_with_wildcards_and_deny_wins() {
        let allow = parse_result(
            &policy("Allow", "arn:aws:execute-api:*:*:abc123/prod/GET/*".into()),
            false,
        )
        .expect("reads");
        assert!(allow.allows(ARN));
        assert_eq!(allow.principal_id.as_deref(), Some("user-7"));
        assert!(!allow.allows("arn:aws:execute-api:us-east-1:000000000000:abc123/prod/POST/pets"));
        let deny = parse_result(&policy("Deny", ARN.into()), false).expect("reads");
        assert!(!deny.allows(ARN));
        // An Allow and a Deny both matching: denied.
        let both = serde_json::json!({"policyDocument": {"Statement": [
            {"Action": ["execute-api:*"], "Effect": "Allow", "Resource": ["*"]},
            {"Action": "*", "Effect": "Deny", "Resource": "arn:aws:execute-api:us-east-1:000000000000:abc123/prod/GET/pets/?"}
        ]}});
        let both = parse_result(both.to_string().as_bytes(), false).expect("reads");
        assert!(!both.allows(ARN));
        assert!(both.allows("arn:aws:execute-api:us-east-1:000000000000:abc123/prod/GET/pets/77"));
        // Not a policy.
        assert!(parse_result(br#"{"isAuthorized": true}"#, false).is_err());
    }

    #[test]
    fn wildcards() {
        assert!(wildcard("*", ""));
        assert!(wildcard("a*b*c", "a/x/b/y/c"));
        assert!(!wildcard("a*b", "a/x/c"));
        assert!(wildcard("a?c", "abc"));
        assert!(!wildcard("a?c", "ac"));
        // No blow-up on hostile patterns.
        let p = "*a".repeat(50);
        assert!(!wildcard(&p, &"a".repeat(49)));
    }

    #[test]
    fn unauthorized_errors_are_401() {
        assert_eq!(
            function_error(br#"{"errorMessage": "Unauthorized", "errorType": "Error"}"#),
            Invalid::Unauthorized
        );
        assert!(matches!(
            function_error(br#"{"errorMessage": "boom"}"#),
            Invalid::Malformed(_)
        ));
    }

    #[test]
    fn route_arns() {
        assert_eq!(
            route_arn("us-east-1", "0", "abc", "$default", "GET", "/a/b"),
            "arn:aws:execute-api:us-east-1:0:abc/$default/GET/a/b"
        );
    }

    #[test]
    fn the_cache_keeps_answers_for_their_ttl_and_is_bounded() {
        let now = Instant::now();
        let key = |v: &str| CacheKey {
            stage: "prod".into(),
            authorizer_id: "a1".into(),
            identity: vec![v.to_string()],
        };
        let r = parse_result(br#"{"isAuthorized": true}"#, true).expect("reads");
        let mut c = ResultCache::new(2);
        c.put(key("t1"), r.clone(), Duration::from_secs(300), now);
        assert!(c.get(&key("t1"), now + Duration::from_secs(299)).is_some());
        assert!(c.get(&key("t1"), now + Duration::from_secs(300)).is_none());
        c.put(key("t0"), r.clone(), Duration::ZERO, now);
        assert!(c.get(&key("t0"), now).is_none());
        c.put(key("t2"), r.clone(), Duration::from_secs(300), now);
        c.put(key("t3"), r.clone(), Duration::from_secs(300), now);
        assert_eq!(c.len(), 2);
        assert!(c.get(&key("t1"), now).is_none());
        c.forget(Some("prod"), None);
        assert!(c.is_empty());
        // Putting one key again and again never grows the queue without bound.
        for i in 0..100 {
            c.put(
                key("same"),
                r.clone(),
                Duration::from_secs(300),
                now + Duration::from_secs(i),
            );
        }
        assert!(c.order.len() <= 4);
    }
}
