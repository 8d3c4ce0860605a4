//! Route selection for HTTP APIs (data-plane.md §1.3–§1.5).
//!
//! Priority: a full match (literal and `{var}` segments; more literal segments from the left
//! win; the exact method beats `ANY`), then a greedy `{name+}` route (longest prefix wins, then
//! the exact method), then `$default`. Paths are split on `/` after the leading one: `/` has no
//! segments and `/a/` has two (`a`, ``); an empty segment is only taken by a greedy variable or
//! `$default`. Literal segments are compared case-sensitively against the percent-decoded
//! request segment; parameter values are decoded too (the raw form is kept for URI
//! substitution, so `%2F` inside a value never becomes a path separator at the backend).

// Fx hashing: the keys are the gateway's own configuration; a request only looks them up, so
// a client cannot grow these maps, and SipHash was ~5% of the proxy path's instructions.
use rustc_hash::FxHashMap;
use std::borrow::Cow;

use percent_encoding::percent_decode_str;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Variable(String),
}

/// One route of a stage's deployment, compiled for matching. `T` is what the caller attaches
/// (the integration plan); the table never looks inside it.
#[derive(Debug)]
struct Compiled<T> {
    route_key: String,
    /// `None` is `ANY`.
    method: Option<String>,
    segments: Vec<Segment>,
    /// The greedy variable's name (without `+`) when the path ends in `{name+}`.
    greedy: Option<String>,
    /// Per segment: literal = 1, variable = 0 (compared left to right).
    score: Vec<u8>,
    value: T,
}

/// A matched route: its key, the attached value and the path parameters.
#[derive(Debug)]
pub struct RouteMatch<'a, T> {
    pub route_key: &'a str,
    pub value: &'a T,
    /// Name → (decoded value, raw value), in route order.
    pub path_parameters: Vec<PathParameter<'a>>,
    pub is_default: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathParameter<'a> {
    pub name: &'a str,
    pub value: String,
    pub raw: String,
}

/// The routes of one stage. Built once per deployment, shared read-only by every request.
#[derive(Debug)]
pub struct RouteTable<T> {
    routes: Vec<Compiled<T>>,
    /// Fully literal, non-greedy routes by path: the common case is one hash lookup.
    literal: FxHashMap<String, Vec<usize>>,
    /// Non-greedy routes with a variable segment, by segment count.
    patterned: FxHashMap<usize, Bucket>,
    /// Greedy routes.
    greedy: Bucket,
    default: Option<usize>,
}

impl<T> Default for RouteTable<T> {
    fn default() -> Self {
        RouteTable {
            routes: Vec::new(),
            literal: FxHashMap::default(),
            patterned: FxHashMap::default(),
            greedy: Bucket::default(),
            default: None,
        }
    }
}

fn split(path: &str) -> Vec<&str> {
    let p = path.strip_prefix('/').unwrap_or(path);
    if p.is_empty() {
        Vec::new()
    } else {
        p.split('/').collect()
    }
}

fn decode(raw: &str) -> Cow<'_, str> {
    if raw.contains('%') {
        percent_decode_str(raw).decode_utf8_lossy()
    } else {
        Cow::Borrowed(raw)
    }
}

fn specificity(segments: &[Segment]) -> Vec<u8> {
    segments
        .iter()
        .map(|s| u8::from(matches!(s, Segment::Literal(_))))
        .collect()
}

impl<T> RouteTable<T> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a route by its key (`$default` or `METHOD /path`). Keys that are not HTTP route keys
    /// are ignored (the control plane validated them already).
    pub fn insert(&mut self, route_key: &str, value: T) {
        let idx = self.routes.len();
        if route_key == "$default" {
            self.routes.push(Compiled {
                route_key: route_key.to_string(),
                method: None,
                segments: Vec::new(),
                greedy: None,
                score: Vec::new(),
                value,
            });
            self.default = Some(idx);
            return;
        }
        let Some((method, path)) = route_key.split_once(' ') else {
            return;
        };
        let mut segments = Vec::new();
        let mut greedy = None;
        for seg in split(path) {
            match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(inner) => match inner.strip_suffix('+') {
                    Some(name) => greedy = Some(name.to_string()),
                    None => segments.push(Segment::Variable(inner.to_string())),
                },
                None => segments.push(Segment::Literal(seg.to_string())),
            }
        }
        let method = (method != "ANY").then(|| method.to_string());
        let all_literal =
            greedy.is_none() && segments.iter().all(|s| matches!(s, Segment::Literal(_)));
        if all_literal {
            let key = segments
                .iter()
                .map(|s| match s {
                    Segment::Literal(l) => l.as_str(),
                    Segment::Variable(_) => "",
                })
                .collect::<Vec<_>>()
                .join("/");
            self.literal.entry(key).or_default().push(idx);
        } else if greedy.is_some() {
            self.greedy.add(idx, &segments);
        } else {
            self.patterned
                .entry(segments.len())
                .or_default()
                .add(idx, &segments);
        }
        self.routes.push(Compiled {
            route_key: route_key.to_string(),
            method,
            score: specificity(&segments),
            segments,
            greedy,
            value,
        });
    }

    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// Selects the route for `method` and the stage-relative raw `path`.
    pub fn find(&self, method: &str, path: &str) -> Option<RouteMatch<'_, T>> {
        let method_ok = |r: &Compiled<T>| r.method.as_deref().is_none_or(|m| m == method);
        // The common case without splitting: a path with nothing to decode and no empty
        // segment is its own literal key, and a literal route has no parameters.
        if let Some(key) = path.strip_prefix('/') {
            if !key.is_empty() && !key.ends_with('/') && !key.contains("//") && !key.contains('%') {
                if let Some(&i) = self.literal.get(key).and_then(|ids| {
                    ids.iter()
                        .filter(|&&i| method_ok(&self.routes[i]))
                        .min_by_key(|&&i| self.routes[i].method.is_none())
                }) {
                    return Some(self.matched(i, &[], &[]));
                }
            }
        }
        let raw: Vec<&str> = split(path);
        let decoded: Vec<Cow<'_, str>> = raw.iter().map(|s| decode(s)).collect();

        // 1. Full matches. Fully literal routes first: a literal path always beats a path
        //    with a variable, so if one matches (with an acceptable method) it wins.
        if !decoded.iter().any(|s| s.is_empty() || s.contains('/')) {
            let joined: Cow<'_, str> = if decoded.len() == 1 {
                Cow::Borrowed(decoded[0].as_ref())
            } else {
                Cow::Owned(
                    decoded
                        .iter()
                        .map(|s| s.as_ref())
                        .collect::<Vec<_>>()
                        .join("/"),
                )
            };
            if let Some(ids) = self.literal.get(joined.as_ref()) {
                if let Some(&i) = ids
                    .iter()
                    .filter(|&&i| method_ok(&self.routes[i]))
                    .min_by_key(|&&i| self.routes[i].method.is_none())
                {
                    return Some(self.matched(i, &raw, &decoded));
                }
            }
        }
        let mut best: Option<(usize, &[u8], bool)> = None;
        let first = decoded.first().map(|s| s.as_ref()).unwrap_or("");
        let bucket = self.patterned.get(&decoded.len());
        for &i in bucket.into_iter().flat_map(|b| b.candidates(first)) {
            let r = &self.routes[i];
            if !method_ok(r) || !segments_match(&r.segments, &decoded) {
                continue;
            }
            let exact = r.method.is_some();
            let wins = match best {
                None => true,
                Some((_, s, e)) => {
                    r.score.as_slice() > s || (r.score.as_slice() == s && exact && !e)
                }
            };
            if wins {
                best = Some((i, &r.score, exact));
            }
        }
        if let Some((i, _, _)) = best {
            return Some(self.matched(i, &raw, &decoded));
        }

        // 2. Greedy routes: at least one segment left for the greedy variable.
        // (route index, (prefix length, specificity), exact method)
        type Best<'s> = Option<(usize, (usize, &'s [u8]), bool)>;
        let mut best: Best<'_> = None;
        for &i in self.greedy.candidates(first) {
            let r = &self.routes[i];
            if r.segments.len() >= decoded.len() || !method_ok(r) {
                continue;
            }
            if !segments_match(&r.segments, &decoded[..r.segments.len()]) {
                continue;
            }
            let score = (r.segments.len(), r.score.as_slice());
            let exact = r.method.is_some();
            let wins = match &best {
                None => true,
                Some((_, s, e)) => score > *s || (score == *s && exact && !e),
            };
            if wins {
                best = Some((i, score, exact));
            }
        }
        if let Some((i, _, _)) = best {
            return Some(self.matched(i, &raw, &decoded));
        }

        // 3. `$default`.
        self.default.map(|i| RouteMatch {
            route_key: &self.routes[i].route_key,
            value: &self.routes[i].value,
            path_parameters: Vec::new(),
            is_default: true,
        })
    }

    fn matched(&self, i: usize, raw: &[&str], decoded: &[Cow<'_, str>]) -> RouteMatch<'_, T> {
        let r = &self.routes[i];
        let mut params = Vec::new();
        for (n, seg) in r.segments.iter().enumerate() {
            if let Segment::Variable(name) = seg {
                params.push(PathParameter {
                    name,
                    value: decoded[n].to_string(),
                    raw: raw[n].to_string(),
                });
            }
        }
        if let Some(name) = &r.greedy {
            let rest = &raw[r.segments.len()..];
            let raw_value = rest.join("/");
            params.push(PathParameter {
                name,
                value: decode(&raw_value).into_owned(),
                raw: raw_value,
            });
        }
        RouteMatch {
            route_key: &r.route_key,
            value: &r.value,
            path_parameters: params,
            is_default: false,
        }
    }
}

/// Routes indexed by their first segment when it is literal: a request only looks at routes
/// that can match its first segment.
#[derive(Debug, Default)]
struct Bucket {
    by_first: FxHashMap<String, Vec<usize>>,
    other: Vec<usize>,
}

impl Bucket {
    fn add(&mut self, idx: usize, segments: &[Segment]) {
        match segments.first() {
            Some(Segment::Literal(l)) => self.by_first.entry(l.clone()).or_default().push(idx),
            _ => self.other.push(idx),
        }
    }

    fn candidates<'a>(&'a self, first: &str) -> impl Iterator<Item = &'a usize> + 'a {
        self.by_first
            .get(first)
            .into_iter()
            .flatten()
            .chain(self.other.iter())
    }
}

fn segments_match(pattern: &[Segment], decoded: &[Cow<'_, str>]) -> bool {
    pattern.iter().zip(decoded).all(|(p, s)| match p {
        Segment::Literal(l) => l == s.as_ref(),
        Segment::Variable(_) => !s.is_empty(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn table(keys: &[&str]) -> RouteTable<String> {
        let mut t = RouteTable::new();
        for k in keys {
            t.insert(k, k.to_string());
        }
        t
    }

    fn pick(t: &RouteTable<String>, method: &str, path: &str) -> Option<String> {
        t.find(method, path).map(|m| m.value.clone())
    }

    /// data-plane.md §1.4, the documented worked example, row by row.
    #[test]
    fn worked_routing_table() {
        let t = table(&[
            "GET /pets/dog/1",
            "GET /pets/dog/{id}",
            "GET /pets/{proxy+}",
            "ANY /{proxy+}",
            "$default",
        ]);
        assert_eq!(pick(&t, "GET", "/pets/dog/1").unwrap(), "GET /pets/dog/1");
        assert_eq!(
            pick(&t, "GET", "/pets/dog/2").unwrap(),
            "GET /pets/dog/{id}"
        );
        assert_eq!(
            pick(&t, "GET", "/pets/cat/1").unwrap(),
            "GET /pets/{proxy+}"
        );
        assert_eq!(pick(&t, "POST", "/test/5").unwrap(), "ANY /{proxy+}");
        // `{proxy+}` needs at least one segment: `/` falls to `$default`.
        assert_eq!(pick(&t, "GET", "/").unwrap(), "$default");
    }

    #[test]
    fn path_parameters_and_greedy_capture() {
        let t = table(&["GET /pets/dog/{id}", "GET /pets/{proxy+}"]);
        let m = t.find("GET", "/pets/dog/2").unwrap();
        assert_eq!(m.path_parameters[0].name, "id");
        assert_eq!(m.path_parameters[0].value, "2");
        let m = t.find("GET", "/pets/cat/1/x%20y").unwrap();
        assert_eq!(m.path_parameters[0].name, "proxy");
        assert_eq!(m.path_parameters[0].value, "cat/1/x y");
        assert_eq!(m.path_parameters[0].raw, "cat/1/x%20y");
    }

    #[test]
    fn exact_method_beats_any_and_any_takes_the_rest() {
        let t = table(&["GET /pets", "ANY /pets"]);
        assert_eq!(pick(&t, "GET", "/pets").unwrap(), "GET /pets");
        assert_eq!(pick(&t, "DELETE", "/pets").unwrap(), "ANY /pets");
        let t = table(&["GET /pets"]);
        assert_eq!(pick(&t, "POST", "/pets"), None);
    }

    #[test]
    fn literal_beats_variable_from_the_left() {
        let t = table(&["GET /{a}/b", "GET /a/{b}"]);
        assert_eq!(pick(&t, "GET", "/a/b").unwrap(), "GET /a/{b}");
    }

    #[test]
    fn longer_greedy_prefix_wins_then_method() {
        let t = table(&["ANY /{proxy+}", "ANY /pets/{proxy+}", "GET /pets/{proxy+}"]);
        assert_eq!(pick(&t, "GET", "/pets/a/b").unwrap(), "GET /pets/{proxy+}");
        assert_eq!(pick(&t, "PUT", "/pets/a").unwrap(), "ANY /pets/{proxy+}");
        assert_eq!(pick(&t, "PUT", "/cats/a").unwrap(), "ANY /{proxy+}");
    }

    #[test]
    fn trailing_slash_and_empty_segments() {
        let t = table(&["GET /metrics", "GET /a/{b}"]);
        assert_eq!(pick(&t, "GET", "/metrics/"), None);
        assert_eq!(pick(&t, "GET", "/a/"), None);
        assert_eq!(pick(&t, "GET", "/a//"), None);
        let t = table(&["GET /metrics", "GET /metrics/{proxy+}", "GET /"]);
        assert_eq!(
            pick(&t, "GET", "/metrics/").unwrap(),
            "GET /metrics/{proxy+}"
        );
        assert_eq!(pick(&t, "GET", "/").unwrap(), "GET /");
        assert_eq!(pick(&t, "GET", "").unwrap(), "GET /");
    }

    #[test]
    fn literals_compare_decoded_and_case_sensitively() {
        let t = table(&["GET /pets/dog"]);
        assert_eq!(pick(&t, "GET", "/pets/%64og").unwrap(), "GET /pets/dog");
        assert_eq!(pick(&t, "GET", "/Pets/dog"), None);
    }
}
