//! Which API and stage a request is for (data-plane.md §1.1–§1.2).
//!
//! Two forms reach the data plane: the Host form `{apiId}.execute-api.localhost[:port]`
//! (then `/{stage}/...`, or no stage segment for the `$default` stage) and the path form
//! `/_aws/execute-api/{apiId}/{stage}/...` for clients that cannot set Host.

use std::borrow::Cow;
use std::sync::Arc;

use crate::snapshot::{ApiEntry, StageEntry};

pub const PATH_PREFIX: &str = "/_aws/execute-api/";
const HOST_SUFFIX: &str = ".execute-api.localhost";

/// The API a request names and the path after the API part.
#[derive(Debug, PartialEq, Eq)]
pub struct Address<'a> {
    /// Lower case, as API ids are issued; borrowed unless the request spelled it otherwise.
    pub api_id: Cow<'a, str>,
    /// Everything after the API part: `/prod/pets/1`, `/pets`, `` (raw, as received).
    pub rest: &'a str,
    pub path_form: bool,
}

/// The API id named by a Host header, if it has the data-plane form (as written).
fn api_in_host(host: &str) -> Option<&str> {
    let name = match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    let cut = name.len().checked_sub(HOST_SUFFIX.len())?;
    if cut == 0 || !name.is_char_boundary(cut) || !name[cut..].eq_ignore_ascii_case(HOST_SUFFIX) {
        return None;
    }
    let id = &name[..cut];
    id.bytes().all(|b| b.is_ascii_alphanumeric()).then_some(id)
}

fn lower(id: &str) -> Cow<'_, str> {
    if id.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(id.to_ascii_lowercase())
    } else {
        Cow::Borrowed(id)
    }
}

/// The API id named by a Host header, if it has the data-plane form.
pub fn api_from_host(host: &str) -> Option<Cow<'_, str>> {
    api_in_host(host).map(lower)
}

/// Cheap test used in front of the control plane: is this request for the data plane? Any
/// host under `.execute-api.localhost` is (the data plane answers 404 for a malformed API
/// id); the full parse happens once, in the data plane.
pub fn is_data_plane(host: Option<&[u8]>, path: &str) -> bool {
    path.starts_with(PATH_PREFIX) || host.is_some_and(has_data_plane_suffix)
}

fn has_data_plane_suffix(host: &[u8]) -> bool {
    let name = match host.iter().rposition(|b| *b == b':') {
        Some(i) if host[i + 1..].iter().all(u8::is_ascii_digit) => &host[..i],
        _ => host,
    };
    name.len() > HOST_SUFFIX.len()
        && name[name.len() - HOST_SUFFIX.len()..].eq_ignore_ascii_case(HOST_SUFFIX.as_bytes())
}

pub fn parse<'a>(host: Option<&'a str>, path: &'a str) -> Option<Address<'a>> {
    if let Some(id) = host.and_then(api_from_host) {
        return Some(Address {
            api_id: id,
            rest: path,
            path_form: false,
        });
    }
    let after = path.strip_prefix(PATH_PREFIX)?;
    let (id, rest) = match after.find('/') {
        Some(i) => (&after[..i], &after[i..]),
        None => (after, ""),
    };
    if id.is_empty() {
        return None;
    }
    Some(Address {
        api_id: lower(id),
        rest,
        path_form: true,
    })
}

/// The stage serving a request, the stage-relative route path and the stage prefix of the path
/// (`/prod`, or empty for the `$default` stage).
pub struct StageSelection<'a> {
    pub stage: &'a Arc<StageEntry>,
    pub route_path: &'a str,
    pub stage_prefix: &'a str,
}

/// §1.2: an exact named-stage match on the first segment, else the `$default` stage, else none.
/// In the path form the `$default` stage may also be named explicitly (`$default` or `%24default`).
pub fn select_stage<'a>(
    api: &'a ApiEntry,
    rest: &'a str,
    path_form: bool,
) -> Option<StageSelection<'a>> {
    let trimmed = rest.strip_prefix('/').unwrap_or(rest);
    let first = trimmed.split('/').next().unwrap_or("");
    if !first.is_empty() {
        let after = &trimmed[first.len()..];
        if let Some(stage) = api.stages.get(first) {
            return Some(StageSelection {
                stage,
                route_path: after,
                stage_prefix: &rest[..first.len() + 1],
            });
        }
        if path_form && (first == "$default" || first.eq_ignore_ascii_case("%24default")) {
            return api.default_stage.as_ref().map(|stage| StageSelection {
                stage,
                route_path: after,
                stage_prefix: "",
            });
        }
    }
    api.default_stage.as_ref().map(|stage| StageSelection {
        stage,
        route_path: rest,
        stage_prefix: "",
    })
}

/// True when a segment of `path` is a dot segment (`.` or `..`), spelled plainly or with
/// `%2e`/`%2E` in any mix, with `\\`, `%2f` and `%5c` counted as separators too (backends
/// that decode or accept them would see one). Such a request is refused before routing
/// (docs/decisions.md, "Dot segments"): routed as sent, `{proxy}` would carry `..` into an
/// integration URI and a backend that resolves it would serve what lies outside its path.
/// A path without `.` and `%` costs one scan of its bytes.
pub fn has_dot_segment(path: &str) -> bool {
    let bytes = path.as_bytes();
    if !bytes.iter().any(|b| matches!(b, b'.' | b'%')) {
        return false;
    }
    // Per segment: how many dots, and whether anything else is in it.
    let mut dots = 0u8;
    let mut other = false;
    let mut i = 0;
    while i < bytes.len() {
        let (is_dot, is_separator, len) = match bytes[i] {
            b'/' | b'\\' => (false, true, 1),
            b'.' => (true, false, 1),
            b'%' if i + 2 < bytes.len() => {
                match (bytes[i + 1], bytes[i + 2].to_ascii_lowercase()) {
                    (b'2', b'e') => (true, false, 3),
                    (b'2', b'f') | (b'5', b'c') => (false, true, 3),
                    _ => (false, false, 1),
                }
            }
            _ => (false, false, 1),
        };
        if is_separator {
            if !other && (dots == 1 || dots == 2) {
                return true;
            }
            dots = 0;
            other = false;
        } else if is_dot {
            dots = dots.saturating_add(1);
        } else {
            other = true;
        }
        i += len;
    }
    !other && (dots == 1 || dots == 2)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn dot_segments_in_any_spelling() {
        for bad in [
            "/items/../../etc/passwd",
            "/items/..",
            "/items/.",
            "/./items",
            "/items/%2e%2e/x",
            "/items/%2E%2e/x",
            "/items/.%2E/x",
            "/items/%2e/x",
            "/items/..%2fetc",
            "/items/..%2F..%2Fetc",
            "/items/..\\etc",
            "/items/%2e%2e%5cetc",
            "/_aws/execute-api/abc/prod/../other",
        ] {
            assert!(has_dot_segment(bad), "{bad}");
        }
        for fine in [
            "/items/a.b",
            "/items/...",
            "/items/.hidden",
            "/items/x..",
            "/items/%2e%2e%2e",
            "/items/%41",
            "/items/%",
            "/items/%2",
            "/items/a%2eb",
            "/",
            "",
            "/v1.2/x",
        ] {
            assert!(!has_dot_segment(fine), "{fine}");
        }
    }

    #[test]
    fn host_form() {
        assert_eq!(
            api_from_host("abc123.execute-api.localhost:4566").unwrap(),
            "abc123"
        );
        assert_eq!(
            api_from_host("ABC123.Execute-Api.localhost").unwrap(),
            "abc123"
        );
        assert_eq!(api_from_host("127.0.0.1:4566"), None);
        assert_eq!(api_from_host(".execute-api.localhost"), None);
        assert_eq!(api_from_host("a.b.execute-api.localhost"), None);
        assert!(is_data_plane(
            Some(b"x1.execute-api.localhost:1"),
            "/v2/apis"
        ));
        assert!(is_data_plane(Some(b"X1.EXECUTE-API.LOCALHOST"), "/v2/apis"));
        assert!(is_data_plane(None, "/_aws/execute-api/x1/prod"));
        assert!(!is_data_plane(Some(b"127.0.0.1:4566"), "/v2/apis"));
        assert!(!is_data_plane(Some(b".execute-api.localhost"), "/v2/apis"));
        assert!(!is_data_plane(
            Some(b"execute-api.localhost:4566"),
            "/v2/apis"
        ));
    }

    #[test]
    fn path_form() {
        let a = parse(Some("127.0.0.1:1"), "/_aws/execute-api/abc/prod/pets").unwrap();
        assert_eq!(a.api_id, "abc");
        assert_eq!(a.rest, "/prod/pets");
        assert!(a.path_form);
        assert_eq!(parse(None, "/_aws/execute-api/abc").unwrap().rest, "");
        assert_eq!(parse(None, "/_aws/execute-api/"), None);
        assert_eq!(parse(None, "/v2/apis"), None);
    }
}
