//! The JSONPath subset HTTP API parameter mapping accepts after `$request.body` /
//! `$response.body`: `.name`, `['name']` / `["name"]`, `[index]` (negative counts from the end).
//! Recursive descent (`..`) and filters (`?(...)`) are not supported (http-api-parameter-mapping).

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    Key(String),
    Index(i64),
}

/// Parses the part after `body` (`.a.b`, `.a[0]`, `['a b']`); `None` when not in the subset.
pub(crate) fn parse(path: &str) -> Option<Vec<Step>> {
    let mut steps = Vec::new();
    let b = path.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'.' => {
                let start = i + 1;
                let mut end = start;
                while end < b.len() && b[end] != b'.' && b[end] != b'[' {
                    end += 1;
                }
                let key = &path[start..end];
                if key.is_empty() {
                    return None; // `..` recursive descent or trailing dot
                }
                steps.push(Step::Key(key.to_owned()));
                i = end;
            }
            b'[' => {
                let close = path[i..].find(']')? + i;
                let inner = path[i + 1..close].trim();
                if let Some(q) = inner
                    .strip_prefix('\'')
                    .and_then(|s| s.strip_suffix('\''))
                    .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
                {
                    steps.push(Step::Key(q.to_owned()));
                } else {
                    steps.push(Step::Index(inner.parse().ok()?));
                }
                i = close + 1;
            }
            _ => return None,
        }
    }
    Some(steps)
}

pub(crate) fn select<'v>(root: &'v Value, steps: &[Step]) -> Option<&'v Value> {
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
pub(crate) fn stringify(v: &Value) -> String {
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
            parse(".a[0]['x y'][\"z\"][-1]"),
            Some(vec![
                Step::Key("a".into()),
                Step::Index(0),
                Step::Key("x y".into()),
                Step::Key("z".into()),
                Step::Index(-1)
            ])
        );
        assert_eq!(parse(""), Some(vec![]));
        assert_eq!(parse("..a"), None);
        assert_eq!(parse(".a[?(@.x)]"), None);
        assert_eq!(parse(".a[0"), None);
        assert_eq!(parse("a"), None);
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
