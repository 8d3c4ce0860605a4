//! Pure rules of the WebSocket data plane (data-plane.md §7): template lookup and passthrough
//! (§7.6), integration-response selection (§7.7), content handling (§7.7), the gateway's error
//! frames (§7.8) and connection ids (§7.3).

use std::collections::BTreeMap;

use base64::Engine as _;

/// Request-template lookup (§7.6 steps 2–4): the evaluated key, then `$default`, then the
/// literal key `application/json` (§10 #15). Returns the key used and the template.
pub fn find_template<'t, T>(
    templates: &'t BTreeMap<String, T>,
    key: &str,
) -> Option<(&'t str, &'t T)> {
    for k in [key, "$default", "application/json"] {
        if let Some((k, t)) = templates.get_key_value(k) {
            return Some((k.as_str(), t));
        }
    }
    None
}

/// `passthroughBehavior` as its wire value says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Passthrough {
    #[default]
    WhenNoMatch,
    WhenNoTemplates,
    Never,
}

/// What happens to a message for which no template was found (§7.6 truth table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unmapped {
    /// Sent to the integration unchanged.
    PassThrough,
    /// Refused: the `Unsupported Media Type` frame (or 415 on `$connect`).
    Reject,
}

pub fn unmapped(behavior: Passthrough, templates_defined: bool) -> Unmapped {
    match behavior {
        Passthrough::WhenNoMatch => Unmapped::PassThrough,
        Passthrough::WhenNoTemplates if !templates_defined => Unmapped::PassThrough,
        Passthrough::WhenNoTemplates | Passthrough::Never => Unmapped::Reject,
    }
}

/// An integration response key: `$default` or a `/regex/` matched against the whole value.
#[derive(Debug, Clone)]
pub enum ResponseKey {
    Default,
    Pattern(regex_lite::Regex),
}

impl ResponseKey {
    /// `None` for a key that is neither (the control plane refuses those).
    pub fn parse(key: &str) -> Option<ResponseKey> {
        if key == "$default" {
            return Some(ResponseKey::Default);
        }
        let inner = key.strip_prefix('/')?.strip_suffix('/')?;
        // A full match, as Java's `String.matches` (AWS's engine) does.
        regex_lite::Regex::new(&format!("^(?:{inner})$"))
            .ok()
            .map(ResponseKey::Pattern)
    }
}

/// §7.7: the first `/regex/` key (in key order) that matches `value` wins, else `$default`.
/// An empty value (a Lambda custom integration that succeeded: no `errorMessage`) goes to
/// `$default` directly. `None`: nothing matches and there is no `$default`.
pub fn select_response<'r, R>(responses: &'r [(ResponseKey, R)], value: &str) -> Option<&'r R> {
    if !value.is_empty() {
        for (key, r) in responses {
            if let ResponseKey::Pattern(p) = key {
                if p.is_match(value) {
                    return Some(r);
                }
            }
        }
    }
    responses
        .iter()
        .find(|(k, _)| matches!(k, ResponseKey::Default))
        .map(|(_, r)| r)
}

/// `contentHandlingStrategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentHandling {
    ConvertToBinary,
    ConvertToText,
}

/// A payload that `CONVERT_TO_BINARY` could not base64-decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotBase64;

/// §7.7 (REST's conversion table): `CONVERT_TO_BINARY` base64-decodes text; `CONVERT_TO_TEXT`
/// base64-encodes a payload that is not UTF-8 and leaves text as it is; no strategy → as is.
pub fn convert(strategy: Option<ContentHandling>, payload: &[u8]) -> Result<Vec<u8>, NotBase64> {
    let b64 = base64::engine::general_purpose::STANDARD;
    match strategy {
        None => Ok(payload.to_vec()),
        Some(ContentHandling::ConvertToBinary) => match std::str::from_utf8(payload) {
            Ok(text) => b64.decode(text.trim()).map_err(|_| NotBase64),
            // Already binary: "Binary data".
            Err(_) => Ok(payload.to_vec()),
        },
        Some(ContentHandling::ConvertToText) => match std::str::from_utf8(payload) {
            Ok(_) => Ok(payload.to_vec()),
            Err(_) => Ok(b64.encode(payload).into_bytes()),
        },
    }
}

/// The frames the gateway sends on its own (§7.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorFrame {
    /// The integration failed, or no integration response matched.
    InternalServerError,
    /// No route matched and there is no `$default` route.
    Forbidden,
    /// `passthroughBehavior` refused the message.
    UnsupportedMediaType,
    /// The route's throttling limit was exceeded.
    TooManyRequests,
}

impl ErrorFrame {
    pub fn message(self) -> &'static str {
        match self {
            ErrorFrame::InternalServerError => "Internal server error",
            ErrorFrame::Forbidden => "Forbidden",
            ErrorFrame::UnsupportedMediaType => "Unsupported Media Type",
            ErrorFrame::TooManyRequests => "Too Many Requests",
        }
    }

    /// `{"message": "Forbidden", "connectionId": "…", "requestId": "…"}`, spaced as observed.
    pub fn render(self, connection_id: &str, request_id: &str) -> String {
        format!(
            r#"{{"message": "{}", "connectionId": "{}", "requestId": "{}"}}"#,
            self.message(),
            connection_id,
            request_id
        )
    }
}

/// A new connection id (§7.3 [choice]): 11 random bytes as standard padded base64, 16
/// characters; draws containing `+` or `/` are redrawn so an id needs no escaping but `=`.
pub fn new_connection_id(mut random: impl FnMut(&mut [u8; 11])) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    loop {
        let mut bytes = [0u8; 11];
        random(&mut bytes);
        let id = b64.encode(bytes);
        if !id.contains(['+', '/']) {
            return id;
        }
    }
}

/// §7.3: exactly 16 characters, 15 from the base64 alphabet and a final `=`.
pub fn is_valid_connection_id(id: &str) -> bool {
    let b = id.as_bytes();
    b.len() == 16
        && b[15] == b'='
        && b[..15]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/')
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn template_lookup_order() {
        let mut t = BTreeMap::new();
        t.insert("application/json".to_string(), 1);
        assert_eq!(find_template(&t, "x"), Some(("application/json", &1)));
        t.insert("$default".to_string(), 2);
        assert_eq!(find_template(&t, "x"), Some(("$default", &2)));
        t.insert("x".to_string(), 3);
        assert_eq!(find_template(&t, "x"), Some(("x", &3)));
        assert_eq!(find_template(&BTreeMap::<String, i32>::new(), "x"), None);
    }

    #[test]
    fn passthrough_truth_table() {
        use Passthrough::*;
        assert_eq!(unmapped(WhenNoMatch, true), Unmapped::PassThrough);
        assert_eq!(unmapped(WhenNoMatch, false), Unmapped::PassThrough);
        assert_eq!(unmapped(WhenNoTemplates, true), Unmapped::Reject);
        assert_eq!(unmapped(WhenNoTemplates, false), Unmapped::PassThrough);
        assert_eq!(unmapped(Never, true), Unmapped::Reject);
        assert_eq!(unmapped(Never, false), Unmapped::Reject);
    }

    #[test]
    fn response_selection() {
        let responses = vec![
            (ResponseKey::parse("/2\\d\\d/").unwrap(), "2xx"),
            (ResponseKey::parse("/4\\d\\d/").unwrap(), "4xx"),
            (ResponseKey::parse("$default").unwrap(), "default"),
        ];
        assert_eq!(select_response(&responses, "200"), Some(&"2xx"));
        assert_eq!(select_response(&responses, "404"), Some(&"4xx"));
        assert_eq!(select_response(&responses, "500"), Some(&"default"));
        // Full match only.
        assert_eq!(select_response(&responses, "2000"), Some(&"default"));
        assert_eq!(select_response(&responses, ""), Some(&"default"));
        let no_default = vec![(ResponseKey::parse("/2\\d\\d/").unwrap(), "2xx")];
        assert_eq!(select_response(&no_default, "500"), None);
        assert!(ResponseKey::parse("200").is_none());
        let errors = vec![
            (ResponseKey::parse("/.*not found.*/").unwrap(), "nf"),
            (ResponseKey::parse("$default").unwrap(), "d"),
        ];
        assert_eq!(select_response(&errors, "item not found"), Some(&"nf"));
        assert_eq!(select_response(&errors, ""), Some(&"d"));
    }

    #[test]
    fn content_handling() {
        assert_eq!(convert(None, b"aGk=").unwrap(), b"aGk=");
        assert_eq!(
            convert(Some(ContentHandling::ConvertToBinary), b"aGk=").unwrap(),
            b"hi"
        );
        assert_eq!(
            convert(Some(ContentHandling::ConvertToBinary), b"not base64!"),
            Err(NotBase64)
        );
        assert_eq!(
            convert(Some(ContentHandling::ConvertToText), b"text").unwrap(),
            b"text"
        );
        assert_eq!(
            convert(Some(ContentHandling::ConvertToText), &[0xff, 0x00]).unwrap(),
            b"/wA="
        );
    }

    #[test]
    fn frames_and_ids() {
        assert_eq!(
            ErrorFrame::Forbidden.render("IU3kkeN4IAMCJwA=", "R1knPc2ntjMCFIA="),
            r#"{"message": "Forbidden", "connectionId": "IU3kkeN4IAMCJwA=", "requestId": "R1knPc2ntjMCFIA="}"#
        );
        let mut n = 0u8;
        let id = new_connection_id(|b| {
            // First draw encodes to a `+`/`/`-bearing id, the second does not.
            n += 1;
            *b = if n == 1 { [0xfb; 11] } else { [7; 11] };
        });
        assert_eq!(n, 2);
        assert!(is_valid_connection_id(&id), "{id}");
        assert!(is_valid_connection_id("IU3kkeN4IAMCJwA="));
        assert!(!is_valid_connection_id("IU3kkeN4IAMCJwA"));
        assert!(!is_valid_connection_id("IU3kkeN4IAMCJw-="));
        assert!(!is_valid_connection_id("é3kkeN4IAMCJwA="));
    }
}
