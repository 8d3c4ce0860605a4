//! The JSONPath subset parameter mapping accepts after `body` (`$request.body…`,
//! `$response.body…`, `route.request.body…`, `integration.response.body…`): `.name`,
//! `['name']` / `["name"]`, `[index]` (negative counts from the end).
//!
//! http-api-parameter-mapping: "Recursive descent (`$request.body..name`) and filter
//! expressions (`?(expression)`) aren't supported." Wildcards (`*`), slices (`[0:2]`) and
//! unions (`[0,1]`) select several values where a mapping needs one, so they are outside the
//! subset too: the control plane refuses them rather than the data plane failing on them.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(i64),
}

/// Characters a `.name` step cannot hold: JSONPath syntax (a bracket form quotes such names).
fn is_name_char(c: char) -> bool {
    !(c.is_whitespace()
        || c.is_control()
        || matches!(
            c,
            '.' | '[' | ']' | '*' | '\'' | '"' | '?' | '(' | ')' | '@'
        ))
}

/// Parses the part after `body` (`""`, `.a.b`, `.a[0]`, `['a b']`); `None` when not in the
/// subset. An empty path selects the whole body.
pub fn parse(path: &str) -> Option<Vec<Step>> {
    let mut steps = Vec::new();
    let mut rest = path;
    while let Some(c) = rest.chars().next() {
        match c {
            '.' => {
                let after = &rest[1..];
                let end = after.find(|c| !is_name_char(c)).unwrap_or(after.len());
                if end == 0 {
                    return None; // `..`, `.*`, a trailing dot
                }
                steps.push(Step::Key(after[..end].to_owned()));
                rest = &after[end..];
            }
            '[' => {
                let inner = rest[1..].trim_start_matches(' ');
                let (step, after) = match inner.chars().next()? {
                    q @ ('\'' | '"') => {
                        // No escapes inside quotes: the name runs to the next quote.
                        let close = inner[1..].find(q)? + 1;
                        (Step::Key(inner[1..close].to_owned()), &inner[close + 1..])
                    }
                    _ => {
                        let end = inner.find([' ', ']']).unwrap_or(inner.len());
                        let digits = inner[..end].strip_prefix('-').unwrap_or(&inner[..end]);
                        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                            return None;
                        }
                        (Step::Index(inner[..end].parse().ok()?), &inner[end..])
                    }
                };
                rest = after.trim_start_matches(' ').strip_prefix(']')?;
                steps.push(step);
            }
            _ => return None,
        }
    }
    Some(steps)
}

pub fn select<'v>(root: &'v Value, steps: &[Step]) -> Option<&'v Value> {
    let mut cur = root;
    for step in steps {
        cur = match (step, cur) {
            (Step::Key(k), Value::Object(m)) => m.get(k)?,
            (Step::Index(i), Value::Array(a)) => {
                let idx = if *i < 0 {
                    a.len()
                        .checked_sub(usize::try_from(i.unsigned_abs()).ok()?)?
                } else {
                    usize::try_from(*i).ok()?
                };
                a.get(idx)?
            }
            _ => return None,
        };
    }
    Some(cur)
}

/// A selected value as mapping text: strings unquoted, `null` as empty, everything else as
/// compact JSON.
pub fn stringify(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_the_subset() {
        assert_eq!(
            parse(".a.b"),
            Some(vec![Step::Key("a".into()), Step::Key("b".into())])
        );
        assert_eq!(
            parse(".a[0]['x y'][\"z\"][-1][ 2 ]['a]b']"),
            Some(vec![
                Step::Key("a".into()),
                Step::Index(0),
                Step::Key("x y".into()),
                Step::Key("z".into()),
                Step::Index(-1),
                Step::Index(2),
                Step::Key("a]b".into()),
            ])
        );
        assert_eq!(
            parse(".user-name"),
            Some(vec![Step::Key("user-name".into())])
        );
        assert_eq!(parse(""), Some(vec![]));
        for bad in [
            "..a",
            ".a[?(@.x)]",
            ".a[*]",
            ".*",
            ".a.*",
            ".a[0:1]",
            ".a[0,1]",
            ".a[0",
            "a",
            ".",
            ".a.",
            "[]",
            "[+1]",
            "[1e3]",
            "['a]",
            ".a b",
            "[99999999999999999999]",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn selects_and_stringifies() {
        let v = json!({"a": {"b": [1, "two", {"c": true}], "n": null}});
        let get = |p: &str| select(&v, &parse(p).unwrap()).map(stringify);
        assert_eq!(get(".a.b[0]").as_deref(), Some("1"));
        assert_eq!(get(".a.b[1]").as_deref(), Some("two"));
        assert_eq!(get(".a.b[-1]").as_deref(), Some("{\"c\":true}"));
        assert_eq!(get(".a.b[2].c").as_deref(), Some("true"));
        assert_eq!(get(".a.n").as_deref(), Some(""));
        assert_eq!(get(".a.b[3]"), None);
        assert_eq!(get(".a.b[-4]"), None);
        assert_eq!(get(".x"), None);
        assert_eq!(get(".a.b.c"), None);
    }
}
