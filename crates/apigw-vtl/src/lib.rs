//! Velocity Template Language (VTL) engine for WebSocket API mapping templates
//! (`requestTemplates` / `responseTemplates`), following Apache Velocity 1.7 as API Gateway uses
//! it (data-plane spec §8).
//!
//! Boundary: pure computation. A template is parsed once per deployment ([`Template::parse`])
//! and rendered per message against an [`Input`] (the payload, `$input.params()`, a lookup for
//! `$context.*`, the stage variables). It does no I/O, reads no clock and draws no random
//! numbers; choosing a template, passthrough behaviour and what is done with the output are the
//! data plane's business.
//!
//! Hostile templates and payloads are expected: parsing never recurses deeper than
//! [`MAX_NESTING`] and refuses templates over [`MAX_TEMPLATE_BYTES`]; rendering is bounded by
//! [`Limits`] (iterations per `#foreach`, output bytes, a total step budget that every node,
//! expression, loop iteration, method call and JSONPath node visited draws from), and values
//! built by the template nest at most 200 levels. Nothing panics.
//!
//! # Language
//!
//! * References `$x`, `$!x`, `${x}`, `$!{x}` with properties `.a`, methods `.m(args)` and
//!   indexes `[0]`, `['k']`, `[$i]` (negative indexes count from the end), chained. Identifiers
//!   may contain `-` as in Velocity 1.7 (`$a-b` is one name: write `$a - $b`).
//! * Undefined or null references render as written in the source (`$foo.bar` stays
//!   `$foo.bar`), quiet ones (`$!foo`) as nothing. [`Template::render_with`] with
//!   [`Undefined::Empty`] prints them as nothing instead, as API Gateway was recorded doing.
//! * `\$x` renders `$x` when `$x` is defined and `\$x` when it is not; each pair of
//!   backslashes before `$` prints one. `\#if` prints `#if`.
//! * `#set`, `#if`/`#elseif`/`#else`/`#end`, `#foreach` (`$foreach.index`, `.count`,
//!   `.hasNext`, `.first`, `.last`, `$velocityCount`, `$velocityHasNext`), `#break`, `#stop`,
//!   braced names (`#{if}`), `##` and `#* *#` comments, `#[[ ]]#` unparsed content. A `#word`
//!   that is not one of these (`#macro`, `#include`, `#parse`, ...) is text.
//! * Expressions: strings (double-quoted ones interpolate references and directives; `""` and
//!   `''` stand for a quote; only `\uXXXX` is unescaped, `\n` stays two characters, as in
//!   Velocity 1.7), integers, floats, `true`, `false`, `null`, lists `[..]`, ranges `[1..5]`,
//!   maps `{"k": v}`, `+ - * / %`, `== != < > <= >=` (and `eq ne lt gt le ge`), `&& || !` (and
//!   `and or not`), parentheses.
//! * `$input.body`, `.json(path)`, `.path(path)`, `.params()`, `.params(name)`; `$context.*`;
//!   `$stageVariables`; `$util.escapeJavaScript`, `parseJson`, `urlEncode`, `urlDecode`,
//!   `base64Encode`, `base64Decode`, `toJson`; a whitelist of Java `String`, `List`, `Map` and
//!   number methods.
//!
//! # Whitespace (Velocity 1.7's lexer, not 2.x "space gobbling")
//!
//! * The closing `)` of `#set`, `#if`, `#elseif` and `#foreach`, and the words `#else` and
//!   `#end`, take the spaces/tabs after them and one line break, when the line break directly
//!   follows. So a directive ending its line leaves no empty line.
//! * `#set` also takes the spaces/tabs before it when they start a text run: at a line start
//!   after a directive or comment that took the previous line break, right after a reference
//!   or a directive, or at the template start. The indentation before `#if`, `#foreach` and
//!   `#end` is kept.
//! * `##` takes the rest of the line including its line break (hence the `##` line joiners);
//!   `#* *#` takes nothing after it.
//!
//! # Choices where Velocity or API Gateway leave it open
//!
//! * A path that selects nothing, or is outside the supported JSONPath subset: `$input.json`
//!   gives `""` (the JSON empty string, two characters) and `$input.path` the empty string, as
//!   LocalStack recorded from API Gateway (localstack/localstack PR 12774). A JSON `null`
//!   selected: `null` from `$input.json`, a null (undefined) value from `$input.path`. Paths
//!   with `[*]`, `.*` or `..` give a list (`$input.json`: a JSON array, `[]` when empty), as
//!   Jayway does.
//! * A body that is not JSON: `$input.json('$')` is `{}` (spec §8.1, inferred), other
//!   `$input.json` paths `""`, every `$input.path` the empty string. An empty body reads as `{}`
//!   for `$input.body` (LocalStack PR 12413, observed on API Gateway), and as "not JSON" for
//!   the JSONPath functions.
//! * Arrays taken from the payload (`$input.path`, `$util.parseJson`) print as compact JSON
//!   (`$input.path('$')` of `{"a":1,"b":[{"c":5}]}` is `{a=1, b=[{"c":5}]}`, as LocalStack
//!   recorded); objects print as Java maps, and lists built by the template as Java lists.
//! * `$input.params(name)`: path, then query string, then header, then header ignoring ASCII
//!   case; missing is the empty string. `$input.params()` is a map of `path`, `querystring`,
//!   `header`, in that order, each sorted by name.
//! * JSON numbers: integers that fit in 64 bits stay integers; the others are doubles printed as
//!   Java prints them (`10.50` → `10.5`, `1e3` → `1000.0`, `1e21` → `1.0E21`). `$input.json` and
//!   `$util.toJson` print JSON as serde_json does. Integer overflow gives a double.
//! * Values have copy semantics: `#set($b = $a)` then `$b.add(1)` leaves `$a` as it was (in
//!   Java both would change). Mutating methods (`add`, `addAll`, `put`, `putAll`, `remove`,
//!   `set`, `clear`) change the variable they are called on, also through `.a`, `[k]` and
//!   `.get(k)`; called on anything else they change a copy. Map keys are strings: `$m.get(1)`
//!   finds the key `"1"`.
//! * Where Java would throw (bad `substring` bounds, invalid regex or replacement, malformed
//!   `urlDecode` / `base64Decode` input, invalid `parseJson` text, `get` out of range), the
//!   reference is undefined (renders as written) instead of failing the render. Void methods
//!   render as nothing; `put` returns the previous value, so `$m.put('k', 1)` renders as written
//!   unless quiet or inside `#set`, as in Velocity.
//! * `#foreach` over a map iterates its values; over a string, number or null it does not run.
//!   Starting iteration `max_foreach_iterations + 1` fails the render (`#break` before that is
//!   fine). `#break` outside a loop ends the template like `#stop`; `#break($scope)` is not
//!   supported.
//! * The built-in objects (`$input`, `$util`, `$foreach`, a `$context` prefix that names no
//!   variable) render as written, like undefined references. They can be overridden by `#set`.
//! * `==` compares numbers by value, same kinds structurally (identity first), different kinds
//!   by their `toString()`; `< <= > >=` compare numbers only (otherwise false); `+` concatenates
//!   when either side is a string; arithmetic on a null or non-number, and division by zero,
//!   give null.
//! * `$util.escapeJavaScript` is Commons Lang's `escapeJavaScript` (`'` → `\'`, `/` → `\/`,
//!   non-ASCII → `\uXXXX`); `urlEncode`/`urlDecode` are Java's `URLEncoder`/`URLDecoder` with
//!   UTF-8; `base64Decode` takes padded or unpadded input and decodes to UTF-8 lossily;
//!   `toJson` is an extra (REST's `$util`), null for built-in objects and non-finite numbers.
//! * Regular expressions (`replaceAll`, `replaceFirst`, `matches`, `split`) use regex-lite,
//!   which reads the common Java syntax but has no look-around or back-references.
//! * `$x[` that does not parse as an index, and an unclosed `${x`, are text; a method call with
//!   malformed arguments is a parse error.
//!
//! Not supported: macros, `#include`, `#parse`, `#evaluate`, `#define` (they render as text),
//! `entrySet()`, `$foreach.parent` / `.topmost`, JSONPath filters, slices and unions, Java
//! reflection beyond the method whitelist.

mod ast;
mod eval;
mod jsonpath;
mod parser;
mod value;

use std::collections::BTreeMap;

pub use parser::MAX_DEPTH as MAX_NESTING;

/// AWS: "The maximum size of a mapping template is 300 KB."
pub const MAX_TEMPLATE_BYTES: usize = 300 * 1024;

/// A template that does not parse. The position is 1-based, in characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Unable to parse template: {message} at line {line}, column {column}")]
pub struct ParseError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Why a render was abandoned. Velocity is forgiving, so these are limits, not mistakes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("Exceeded the maximum number of iterations ({limit}) in a #foreach loop")]
    ForeachLimit { limit: usize },
    #[error("Mapping template output exceeded the maximum size of {limit} bytes")]
    OutputLimit { limit: usize },
    #[error("Mapping template evaluation exceeded its budget of {limit} steps")]
    StepBudget { limit: u64 },
    #[error("Mapping template built a value nested deeper than 200 levels")]
    TooDeep,
}

/// `$input.params()`: the request parameters by location.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    pub path: BTreeMap<String, String>,
    pub querystring: BTreeMap<String, String>,
    pub header: BTreeMap<String, String>,
}

/// What one render sees.
pub struct Input<'a> {
    /// `$input.body`, the raw payload (read as UTF-8, lossily, when `$input.body` is used).
    /// Parsed as JSON at most once per render, and only when `$input.json` / `$input.path` is
    /// used.
    pub body: &'a [u8],
    pub params: &'a Params,
    /// `$context.X.Y` is looked up with `"X.Y"` (`"connectionId"`, `"identity.sourceIp"`,
    /// `"authorizer.principalId"`); `None` means undefined.
    pub context: &'a dyn Fn(&str) -> Option<String>,
    pub stage_variables: &'a BTreeMap<String, String>,
    /// `body` already parsed as JSON, when the caller has it (`None`: parsed here if needed).
    /// It must be what parsing `body` gives; it saves the parse.
    pub json: Option<&'a serde_json::Value>,
}

/// Bounds on one render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// AWS: "Number of iterations in a #foreach ... #end loop in mapping templates: 1000".
    pub max_foreach_iterations: usize,
    pub max_output_bytes: usize,
    /// Total evaluation budget of a render.
    pub max_steps: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_foreach_iterations: 1000,
            max_output_bytes: 1024 * 1024,
            max_steps: 1_000_000,
        }
    }
}

/// How an undefined (or null) reference that is not quiet prints.
///
/// Velocity prints it as written (`$foo.bar`). API Gateway, as recorded by LocalStack's
/// AWS-validated snapshot `test_input_path_template_formatting` (REST API, 2025-06-18), prints
/// nothing: `#set($result = $input.path("$.nonExisting")){"body": $result, "nested":
/// $result.nested, ...}` gave `{"body": , "nested": , ...}`, and there `$result == $null` and
/// `$result == ""` were both true. `Empty` reproduces that (printing and `==`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Undefined {
    #[default]
    Literal,
    Empty,
}

/// A parsed mapping template.
#[derive(Debug, Clone)]
pub struct Template {
    nodes: Vec<ast::Node>,
    /// The template's own top-level text: a render's output starts with room for it.
    text_len: usize,
}

impl Template {
    pub fn parse(src: &str) -> Result<Template, ParseError> {
        if src.len() > MAX_TEMPLATE_BYTES {
            return Err(ParseError {
                line: 1,
                column: 1,
                message: format!(
                    "Mapping template size {} bytes exceeds the maximum of {MAX_TEMPLATE_BYTES} bytes",
                    src.len()
                ),
            });
        }
        let nodes = parser::parse_template(src)?;
        let text_len = nodes
            .iter()
            .map(|n| match n {
                ast::Node::Text(t) => t.len(),
                _ => 0,
            })
            .sum();
        Ok(Template { nodes, text_len })
    }

    /// Renders with Velocity's treatment of undefined references ([`Undefined::Literal`]).
    pub fn render(&self, input: &Input<'_>, limits: &Limits) -> Result<String, RenderError> {
        self.render_with(input, limits, Undefined::Literal)
    }

    /// Renders with a choice of how undefined references print.
    pub fn render_with(
        &self,
        input: &Input<'_>,
        limits: &Limits,
        undefined: Undefined,
    ) -> Result<String, RenderError> {
        let mut out = String::with_capacity(self.text_len + 32);
        let mut ev = eval::Eval::new(input, limits, undefined);
        ev.render(&self.nodes, &mut out)?;
        Ok(out)
    }
}

/// For the control plane: does `src` parse?
pub fn validate(src: &str) -> Result<(), ParseError> {
    Template::parse(src).map(drop)
}

#[cfg(test)]
mod tests;
