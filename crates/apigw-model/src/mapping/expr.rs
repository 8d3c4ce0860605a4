//! The value language of HTTP API parameter mapping (http-api-parameter-mapping; data-plane.md
//! §3.2–§3.3): static text with `$x.y` / `${x.y}` variables, parsed once into a [`Template`]
//! that the control plane validates with and the data plane compiles from.
//!
//! Lexing, shared with selection expressions (apigateway-websocket-api-selection-expressions):
//! * `${…}` is a variable running to the first `}`; an unclosed `${` is an error;
//! * a bare `$` starts a variable of letters, digits and `. _ - [ ] ' * @`; a `]` belongs to
//!   it only when it closes one of its `[`, and trailing dots end a sentence, not the path.
//!   A `$` followed by none of these is text;
//! * `\$` is a literal `$` ("A dollar sign can be escaped with `\`"); any other `\` is text.
//!
//! Variables (sources) per side:
//! * request: `request.header.NAME`, `request.querystring.NAME`, `request.path`,
//!   `request.path.NAME`, `request.body` + a [`jsonpath`] path;
//! * response: `response.header.NAME`, `response.body` + a path;
//! * both: `context.NAME`, `stageVariables.NAME`, where NAME uses only letters, digits, `.`
//!   and `_` (the docs: "only `.` and `_` are supported as special characters").

use super::jsonpath::{self, Step};

/// Which value language a mapping uses: integration requests read `$request.*`, responses
/// `$response.*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Request,
    Response,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A header name as written (a valid token; the data plane lower-cases it).
    RequestHeader(String),
    RequestQuery(String),
    /// No steps: the whole body.
    RequestBody(Vec<Step>),
    /// `$request.path`: the path without the stage.
    RequestPath,
    RequestPathParameter(String),
    ResponseHeader(String),
    ResponseBody(Vec<Step>),
    /// The name after `context.` (`requestId`, `authorizer.claims.sub`).
    Context(String),
    StageVariable(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Text(String),
    Var(Source),
}

/// A parsed value: text and variables in order (adjacent text merged).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Template {
    pub parts: Vec<Part>,
}

/// The longest header name the data plane can send (`http`'s limit).
const MAX_HEADER_NAME: usize = (1 << 16) - 1;

/// An RFC 9110 token: what a header name may be.
pub fn is_header_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= MAX_HEADER_NAME
        && n.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c))
}

/// A context-variable or stage-variable name.
pub fn is_variable_name(n: &str) -> bool {
    !n.is_empty()
        && n.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'.' || c == b'_')
}

fn is_var_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-' | b'[' | b']' | b'\'' | b'*' | b'@')
}

impl Template {
    /// Parses `value`; `None` when some variable is outside `side`'s language (AWS then
    /// answers "Invalid source: VALUE specified for destination: KEY").
    pub fn parse(value: &str, side: Side) -> Option<Template> {
        let b = value.as_bytes();
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'\\' if b.get(i + 1) == Some(&b'$') => {
                    text.push('$');
                    i += 2;
                }
                b'$' if b.get(i + 1) == Some(&b'{') => {
                    let start = i + 2;
                    let end = value[start..].find('}')? + start;
                    push_text(&mut parts, &mut text);
                    parts.push(Part::Var(parse_source(&value[start..end], side)?));
                    i = end + 1;
                }
                b'$' => {
                    let start = i + 1;
                    let mut end = start;
                    let mut depth = 0usize;
                    while end < b.len() && is_var_char(b[end]) {
                        match b[end] {
                            b'[' => depth += 1,
                            b']' if depth == 0 => break,
                            b']' => depth -= 1,
                            _ => {}
                        }
                        end += 1;
                    }
                    let var = value[start..end].trim_end_matches('.');
                    if var.is_empty() {
                        text.push('$');
                        i += 1;
                    } else {
                        push_text(&mut parts, &mut text);
                        parts.push(Part::Var(parse_source(var, side)?));
                        i = start + var.len();
                    }
                }
                _ => {
                    // Up to the next byte that may start an escape or a variable.
                    let from = i + value[i..].chars().next().map_or(1, char::len_utf8);
                    let next = value[from..]
                        .find(['$', '\\'])
                        .map_or(b.len(), |n| from + n);
                    text.push_str(&value[i..next]);
                    i = next;
                }
            }
        }
        push_text(&mut parts, &mut text);
        Some(Template { parts })
    }

    /// The value when it has no variables.
    pub fn static_text(&self) -> Option<String> {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Var(_) => return None,
            }
        }
        Some(out)
    }

    /// Whether some variable reads the request or response body.
    pub fn uses_body(&self) -> bool {
        self.parts.iter().any(|p| {
            matches!(
                p,
                Part::Var(Source::RequestBody(_) | Source::ResponseBody(_))
            )
        })
    }
}

fn push_text(parts: &mut Vec<Part>, text: &mut String) {
    if !text.is_empty() {
        parts.push(Part::Text(std::mem::take(text)));
    }
}

/// One variable (`request.header.x`, without `$` or braces).
fn parse_source(var: &str, side: Side) -> Option<Source> {
    if let Some(name) = var.strip_prefix("context.") {
        return is_variable_name(name).then(|| Source::Context(name.to_owned()));
    }
    if let Some(name) = var.strip_prefix("stageVariables.") {
        return is_variable_name(name).then(|| Source::StageVariable(name.to_owned()));
    }
    match side {
        Side::Request => {
            let rest = var.strip_prefix("request.")?;
            if rest == "path" {
                return Some(Source::RequestPath);
            }
            if let Some(p) = rest.strip_prefix("body") {
                return jsonpath::parse(p).map(Source::RequestBody);
            }
            if let Some(n) = rest.strip_prefix("header.") {
                return is_header_name(n).then(|| Source::RequestHeader(n.to_owned()));
            }
            if let Some(n) = rest.strip_prefix("querystring.") {
                return (!n.is_empty()).then(|| Source::RequestQuery(n.to_owned()));
            }
            if let Some(n) = rest.strip_prefix("path.") {
                return (!n.is_empty()).then(|| Source::RequestPathParameter(n.to_owned()));
            }
            None
        }
        Side::Response => {
            let rest = var.strip_prefix("response.")?;
            if let Some(p) = rest.strip_prefix("body") {
                return jsonpath::parse(p).map(Source::ResponseBody);
            }
            if let Some(n) = rest.strip_prefix("header.") {
                return is_header_name(n).then(|| Source::ResponseHeader(n.to_owned()));
            }
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(v: &str) -> Option<Template> {
        Template::parse(v, Side::Request)
    }

    fn text(s: &str) -> Part {
        Part::Text(s.to_owned())
    }

    #[test]
    fn text_variables_and_escapes() {
        assert_eq!(
            req("${request.path.id}-v2 $context.requestId. \\$5 $ x\\y"),
            Some(Template {
                parts: vec![
                    Part::Var(Source::RequestPathParameter("id".into())),
                    text("-v2 "),
                    Part::Var(Source::Context("requestId".into())),
                    text(". $5 $ x\\y"),
                ]
            })
        );
        assert_eq!(
            req("[$request.querystring.q]").unwrap().parts,
            vec![
                text("["),
                Part::Var(Source::RequestQuery("q".into())),
                text("]")
            ]
        );
        assert_eq!(
            req("$request.body.a[0]['b']").unwrap().parts,
            vec![Part::Var(Source::RequestBody(vec![
                Step::Key("a".into()),
                Step::Index(0),
                Step::Key("b".into())
            ]))]
        );
        assert_eq!(
            req("$request.body.").unwrap().parts,
            vec![Part::Var(Source::RequestBody(vec![])), text(".")]
        );
        assert_eq!(
            req("plain").unwrap().static_text().as_deref(),
            Some("plain")
        );
        assert_eq!(
            req("\\\\$x").unwrap().static_text().as_deref(),
            Some("\\$x")
        );
    }

    #[test]
    fn sources_outside_the_language() {
        for bad in [
            "$request.nope.y",
            "$request.body..a",
            "$request.body.a[?(@.x)]",
            "$request.body.a[*]",
            "${request.body.a.}",
            "${request.body.}",
            "$request.bodyx",
            "$request.header.",
            "${request.header.a b}",
            "$request.header.a@b",
            "${request.header.x",
            "$unknown.thing",
            "$context.bad-char",
            "${context.a b}",
            "$stageVariables.a-b",
            "$context",
            "${}",
            "$request.multivalueheader.x",
            "$response.header.x",
        ] {
            assert_eq!(req(bad), None, "{bad}");
        }
        assert!(Template::parse("$response.body.a", Side::Response).is_some());
        assert!(Template::parse("$request.path", Side::Response).is_none());
    }
}
