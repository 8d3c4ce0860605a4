//! The JSONPath subset of `$input.path` / `$input.json` (Goessner / Jayway): `$`, `.name`,
//! `['name']` / `["name"]`, `[n]` (negative counts from the end), `[*]`, `.*`, and recursive
//! descent `..name`, `..*`, `..[n]`. Like Jayway, a path not starting with `$` is read as
//! `$.path`. Filters, slices, unions and functions are not supported: such a path selects
//! nothing.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Child(String),
    Index(i64),
    Wild,
    /// `..x`: `x` applied to the node and every node below it.
    Deep(Box<Seg>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Path {
    segs: Vec<Seg>,
}

/// The work budget ran out (the caller turns this into its step-budget error).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Exhausted;

impl Path {
    /// A definite path names at most one node; Jayway returns that node itself, and a list for
    /// the others.
    pub(crate) fn is_definite(&self) -> bool {
        !self
            .segs
            .iter()
            .any(|s| matches!(s, Seg::Wild | Seg::Deep(_)))
    }

    pub(crate) fn compile(path: &str) -> Option<Path> {
        let p = path.trim();
        let rest = if let Some(r) = p.strip_prefix('$') {
            r.to_string()
        } else if p.starts_with('[') {
            p.to_string()
        } else {
            format!(".{p}")
        };
        let b = rest.as_bytes();
        let mut i = 0;
        let mut segs = Vec::new();
        while i < b.len() {
            if rest[i..].starts_with("..") {
                i += 2;
                let (seg, next) = if b.get(i) == Some(&b'[') {
                    bracket(&rest, i + 1)?
                } else {
                    dotted(&rest, i)?
                };
                segs.push(Seg::Deep(Box::new(seg)));
                i = next;
            } else if b[i] == b'.' {
                let (seg, next) = dotted(&rest, i + 1)?;
                segs.push(seg);
                i = next;
            } else if b[i] == b'[' {
                let (seg, next) = bracket(&rest, i + 1)?;
                segs.push(seg);
                i = next;
            } else {
                return None;
            }
        }
        Some(Path { segs })
    }

    /// The nodes selected, in document order. Every node visited costs one unit of `budget`.
    pub(crate) fn select<'v>(
        &self,
        root: &'v Value,
        budget: &mut u64,
    ) -> Result<Vec<&'v Value>, Exhausted> {
        let mut cur = vec![root];
        for seg in &self.segs {
            let mut next = Vec::new();
            for v in cur {
                apply(seg, v, &mut next, budget)?;
            }
            cur = next;
        }
        Ok(cur)
    }
}

impl Path {
    /// The node a definite path names, found without collecting: the same node, and the same
    /// budget drawn, as the first of [`Path::select`].
    pub(crate) fn select_one<'v>(
        &self,
        root: &'v Value,
        budget: &mut u64,
    ) -> Result<Option<&'v Value>, Exhausted> {
        if !self.is_definite() {
            return Ok(self.select(root, budget)?.first().copied());
        }
        let mut cur = root;
        for seg in &self.segs {
            charge(budget)?;
            let next = match seg {
                Seg::Child(name) => cur.as_object().and_then(|o| o.get(name)),
                Seg::Index(i) => cur.as_array().and_then(|a| {
                    let idx = if *i < 0 {
                        i64::try_from(a.len()).ok().and_then(|n| n.checked_add(*i))
                    } else {
                        Some(*i)
                    };
                    idx.and_then(|x| usize::try_from(x).ok())
                        .and_then(|x| a.get(x))
                }),
                Seg::Wild | Seg::Deep(_) => None,
            };
            match next {
                Some(n) => cur = n,
                None => return Ok(None),
            }
        }
        Ok(Some(cur))
    }
}

fn charge(budget: &mut u64) -> Result<(), Exhausted> {
    *budget = budget.checked_sub(1).ok_or(Exhausted)?;
    Ok(())
}

fn apply<'v>(
    seg: &Seg,
    v: &'v Value,
    out: &mut Vec<&'v Value>,
    budget: &mut u64,
) -> Result<(), Exhausted> {
    charge(budget)?;
    match seg {
        Seg::Child(name) => {
            if let Some(c) = v.as_object().and_then(|o| o.get(name)) {
                out.push(c);
            }
        }
        Seg::Index(i) => {
            if let Some(a) = v.as_array() {
                let idx = if *i < 0 {
                    i64::try_from(a.len()).ok().and_then(|n| n.checked_add(*i))
                } else {
                    Some(*i)
                };
                if let Some(c) = idx
                    .and_then(|x| usize::try_from(x).ok())
                    .and_then(|x| a.get(x))
                {
                    out.push(c);
                }
            }
        }
        Seg::Wild => match v {
            Value::Object(o) => out.extend(o.values()),
            Value::Array(a) => out.extend(a.iter()),
            _ => {}
        },
        Seg::Deep(inner) => {
            // Pre-order: the node's own match first, then its children's (Jayway's order).
            // serde_json nests at most 128 levels, which bounds this recursion.
            apply(inner, v, out, budget)?;
            match v {
                Value::Object(o) => {
                    for c in o.values() {
                        apply(seg, c, out, budget)?;
                    }
                }
                Value::Array(a) => {
                    for c in a {
                        apply(seg, c, out, budget)?;
                    }
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// After a `.`: `*` or a name running to the next `.` or `[`.
fn dotted(s: &str, i: usize) -> Option<(Seg, usize)> {
    let rest = s.get(i..)?;
    if rest.starts_with('*') {
        return Some((Seg::Wild, i + 1));
    }
    let end = rest.find(['.', '[']).unwrap_or(rest.len());
    let name = rest[..end].trim();
    if name.is_empty() {
        return None;
    }
    Some((Seg::Child(name.to_string()), i + end))
}

/// After a `[`: `*`, a quoted name or an integer, then `]`.
fn bracket(s: &str, i: usize) -> Option<(Seg, usize)> {
    let rest = s.get(i..)?;
    let close = |after: &str, consumed: usize| -> Option<usize> {
        let t = after.trim_start();
        t.starts_with(']')
            .then(|| i + consumed + (after.len() - t.len()) + 1)
    };
    let t = rest.trim_start();
    let lead = rest.len() - t.len();
    if let Some(after) = t.strip_prefix('*') {
        return Some((Seg::Wild, close(after, lead + 1)?));
    }
    if let Some(q) = t.chars().next().filter(|c| *c == '\'' || *c == '"') {
        let body = &t[1..];
        let end = body.find(q)?;
        let name = &body[..end];
        let after = &body[end + 1..];
        return Some((
            Seg::Child(name.to_string()),
            close(after, lead + 1 + end + 1)?,
        ));
    }
    let end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '-'))
        .unwrap_or(t.len());
    let n: i64 = t[..end].parse().ok()?;
    Some((Seg::Index(n), close(&t[end..], lead + end)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sel(path: &str, doc: &Value) -> Vec<Value> {
        let p = Path::compile(path).expect("path compiles");
        let mut budget = 1_000_000;
        p.select(doc, &mut budget)
            .expect("budget")
            .into_iter()
            .cloned()
            .collect()
    }

    #[test]
    fn basic_paths() {
        let doc =
            json!({"pets": [{"name": "a", "id": 1}, {"name": "b", "id": 2}], "x y": {"z": true}});
        assert_eq!(sel("$", &doc), vec![doc.clone()]);
        assert_eq!(sel("$.pets[0].name", &doc), vec![json!("a")]);
        assert_eq!(sel("$.pets[-1].id", &doc), vec![json!(2)]);
        assert_eq!(sel("$['pets'][1][\"name\"]", &doc), vec![json!("b")]);
        assert_eq!(sel("$.pets[*].name", &doc), vec![json!("a"), json!("b")]);
        assert_eq!(sel("$.pets.*.id", &doc), vec![json!(1), json!(2)]);
        assert_eq!(sel("$['x y'].z", &doc), vec![json!(true)]);
        assert_eq!(sel("pets[1].id", &doc), vec![json!(2)]);
        assert!(sel("$.pets[5]", &doc).is_empty());
        assert!(sel("$.nope.deeper", &doc).is_empty());
        assert!(sel("$.pets[-3]", &doc).is_empty());
    }

    #[test]
    fn recursive_descent() {
        let doc = json!({"name": 0, "a": {"name": 1, "b": [{"name": 2}, {"c": {"name": 3}}]}});
        assert_eq!(
            sel("$..name", &doc),
            vec![json!(0), json!(1), json!(2), json!(3)]
        );
        assert_eq!(sel("$.a..name", &doc), vec![json!(1), json!(2), json!(3)]);
        assert_eq!(sel("$..b[1].c.name", &doc), vec![json!(3)]);
        assert_eq!(sel("$..[0].name", &doc), vec![json!(2)]);
        assert_eq!(sel("$.a.b..*", &doc).len(), 5);
    }

    #[test]
    fn definiteness_and_invalid() {
        assert!(Path::compile("$.a[0]['b']").expect("ok").is_definite());
        assert!(!Path::compile("$.a[*]").expect("ok").is_definite());
        assert!(!Path::compile("$..a").expect("ok").is_definite());
        for bad in ["$.", "$[", "$[?(@.a)]", "$[1:2]", "$['a'", "$.a[x]", "$x"] {
            assert_eq!(Path::compile(bad), None, "{bad}");
        }
    }

    #[test]
    fn budget_is_enforced() {
        let doc = json!([[1, 2, 3], [4, 5, 6], [7, 8, 9]]);
        let p = Path::compile("$..*..*..*").expect("ok");
        let mut budget = 50;
        assert_eq!(p.select(&doc, &mut budget), Err(Exhausted));
    }
}
