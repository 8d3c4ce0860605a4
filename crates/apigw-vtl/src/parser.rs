//! Hand-written parser for the Velocity 1.7 subset (see the crate documentation).
//!
//! It works on byte offsets: every delimiter it looks for is ASCII, so each slice it takes
//! starts and ends on a character boundary.

use crate::ast::{BinOp, Expr, InputJson, Node, Reference, Step};
use crate::jsonpath::Path;
use crate::ParseError;

/// A parse error before its position is turned into a line and column: failed attempts that
/// are backtracked (an index that is text after all) must stay cheap.
pub(crate) struct PErr {
    pos: usize,
    at: Option<(usize, usize)>,
    message: String,
}

/// Nesting limit for blocks, parentheses, collection literals and interpolated strings, so a
/// hostile template cannot overflow the stack of the parser or of the renderer.
pub const MAX_DEPTH: usize = 64;

const DIRECTIVES: &[&str] = &[
    "set", "if", "elseif", "else", "end", "foreach", "break", "stop",
];

enum Term {
    Eof,
    End,
    Else,
    ElseIf(Expr),
}

pub(crate) struct Parser<'a> {
    src: &'a str,
    b: &'a [u8],
    pos: usize,
    depth: usize,
    /// For the template inside a double-quoted literal: where that literal sits in the
    /// enclosing source, so errors point at it.
    outer: Option<(usize, usize)>,
}

pub(crate) fn parse_template(src: &str) -> Result<Vec<Node>, ParseError> {
    let mut p = Parser::new(src, 0, None);
    p.parse_top().map_err(|e| {
        let (line, column) = e.at.unwrap_or_else(|| line_col(src, e.pos));
        ParseError {
            line,
            column,
            message: e.message,
        }
    })
}

fn line_col(src: &str, pos: usize) -> (usize, usize) {
    let before = src.get(..pos).unwrap_or(src);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_ident_char(c: u8) -> bool {
    // Velocity 1.7 identifiers may contain '-' (`$foo-bar` is one name).
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

fn is_word_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'@'
}

impl<'a> Parser<'a> {
    fn new(src: &'a str, depth: usize, outer: Option<(usize, usize)>) -> Self {
        Parser {
            src,
            b: src.as_bytes(),
            pos: 0,
            depth,
            outer,
        }
    }

    fn err_at(&self, pos: usize, msg: impl Into<String>) -> PErr {
        PErr {
            pos,
            at: self.outer,
            message: msg.into(),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn at(&self, i: usize) -> Option<u8> {
        self.b.get(i).copied()
    }

    fn starts(&self, s: &str) -> bool {
        self.b
            .get(self.pos..)
            .is_some_and(|r| r.starts_with(s.as_bytes()))
    }

    fn enter(&mut self) -> Result<(), PErr> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err_at(
                self.pos,
                format!("Template nesting exceeds {MAX_DEPTH} levels"),
            ));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// What the parser found, for error messages: `Encountered "x" at line l, column c`.
    fn encountered(&self) -> String {
        match self.src.get(self.pos..).and_then(|r| r.chars().next()) {
            None => "Encountered \"<EOF>\"".to_string(),
            Some(c) => format!("Encountered \"{c}\""),
        }
    }

    fn expected(&self, what: &str) -> PErr {
        self.err_at(
            self.pos,
            format!("{}; was expecting {what}", self.encountered()),
        )
    }

    fn parse_top(&mut self) -> Result<Vec<Node>, PErr> {
        let start = self.pos;
        let (nodes, term) = self.parse_nodes()?;
        match term {
            Term::Eof => Ok(nodes),
            Term::End => Err(self.err_at(
                start.max(self.pos.saturating_sub(4)),
                "Encountered \"#end\" without a matching #if or #foreach",
            )),
            Term::Else | Term::ElseIf(_) => Err(self.err_at(
                self.pos,
                "Encountered \"#else\" or \"#elseif\" without a matching #if",
            )),
        }
    }

    /// Skips `[ \t]*` followed by one line break, if the line break is there: Velocity 1.7
    /// binds that to a directive's closing `)`, to `#else` and to `#end`, so a directive alone on
    /// its line leaves no empty line behind.
    fn eat_line_end(&mut self) {
        let mut i = self.pos;
        while matches!(self.at(i), Some(b' ' | b'\t')) {
            i += 1;
        }
        match self.at(i) {
            Some(b'\n') => self.pos = i + 1,
            Some(b'\r') => {
                self.pos = if self.at(i + 1) == Some(b'\n') {
                    i + 2
                } else {
                    i + 1
                };
            }
            _ => {}
        }
    }

    /// A directive name after `#`: `word` or `{word}`. Returns the name and the offset after it.
    fn directive_name(&self, at: usize) -> Option<(&'a str, usize)> {
        let mut i = at;
        let braced = self.at(i) == Some(b'{');
        if braced {
            i += 1;
        }
        let s = i;
        if !self
            .at(i)
            .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_' || c == b'@')
        {
            return None;
        }
        while self.at(i).is_some_and(is_word_char) {
            i += 1;
        }
        let name = self.src.get(s..i)?;
        if braced {
            if self.at(i) != Some(b'}') {
                return None;
            }
            i += 1;
        }
        Some((name, i))
    }

    fn parse_nodes(&mut self) -> Result<(Vec<Node>, Term), PErr> {
        let mut nodes = Vec::new();
        // The current run of plain text. It is a "token" in Velocity's lexer: `#set` swallows
        // the spaces before it only when they start such a run.
        let mut text = String::new();
        fn flush(nodes: &mut Vec<Node>, text: &mut String) {
            if !text.is_empty() {
                nodes.push(Node::Text(std::mem::take(text)));
            }
        }
        loop {
            // Copy plain text up to the next special character.
            let s = self.pos;
            while self
                .peek()
                .is_some_and(|c| !matches!(c, b'$' | b'#' | b'\\'))
            {
                self.pos += 1;
            }
            text.push_str(&self.src[s..self.pos]);
            let Some(c) = self.peek() else {
                flush(&mut nodes, &mut text);
                return Ok((nodes, Term::Eof));
            };
            match c {
                b'\\' => {
                    let s = self.pos;
                    while self.peek() == Some(b'\\') {
                        self.pos += 1;
                    }
                    let n = self.pos - s;
                    match self.peek() {
                        Some(b'$') => {
                            if let Some(r) = self.try_reference()? {
                                flush(&mut nodes, &mut text);
                                nodes.push(Node::Ref { r, escapes: n });
                            } else {
                                text.push_str(&self.src[s..self.pos]);
                            }
                        }
                        Some(b'#') => {
                            let known = self
                                .directive_name(self.pos + 1)
                                .filter(|(name, _)| DIRECTIVES.contains(name));
                            match known {
                                Some((_, end)) if n % 2 == 1 => {
                                    // `\#if` is the text `#if`; half the other backslashes stay.
                                    text.push_str(&"\\".repeat(n / 2));
                                    text.push_str(&self.src[self.pos..end]);
                                    self.pos = end;
                                }
                                Some(_) => text.push_str(&"\\".repeat(n / 2)),
                                None => text.push_str(&self.src[s..self.pos]),
                            }
                        }
                        _ => text.push_str(&self.src[s..self.pos]),
                    }
                }
                b'$' => {
                    if let Some(r) = self.try_reference()? {
                        flush(&mut nodes, &mut text);
                        nodes.push(Node::Ref { r, escapes: 0 });
                    } else {
                        text.push('$');
                        self.pos += 1;
                    }
                }
                _ => {
                    // '#'
                    if self.starts("##") {
                        while self.peek().is_some_and(|c| c != b'\n' && c != b'\r') {
                            self.pos += 1;
                        }
                        if self.starts("\r\n") {
                            self.pos += 2;
                        } else if self.peek().is_some() {
                            self.pos += 1;
                        }
                        flush(&mut nodes, &mut text);
                        continue;
                    }
                    if self.starts("#*") {
                        let from = self.pos;
                        match self.src[self.pos + 2..].find("*#") {
                            Some(i) => self.pos += 2 + i + 2,
                            None => {
                                return Err(self
                                    .err_at(from, "Unterminated comment (\"#*\" without \"*#\")"))
                            }
                        }
                        flush(&mut nodes, &mut text);
                        continue;
                    }
                    if self.starts("#[[") {
                        let from = self.pos;
                        match self.src[self.pos + 3..].find("]]#") {
                            Some(i) => {
                                flush(&mut nodes, &mut text);
                                let body = &self.src[self.pos + 3..self.pos + 3 + i];
                                if !body.is_empty() {
                                    nodes.push(Node::Text(body.to_string()));
                                }
                                self.pos += 3 + i + 3;
                            }
                            None => {
                                return Err(self.err_at(
                                    from,
                                    "Unterminated unparsed content (\"#[[\" without \"]]#\")",
                                ))
                            }
                        }
                        continue;
                    }
                    let hash = self.pos;
                    let Some((name, after)) = self.directive_name(self.pos + 1) else {
                        text.push('#');
                        self.pos += 1;
                        continue;
                    };
                    match name {
                        "set" => {
                            if text.bytes().all(|c| c == b' ' || c == b'\t') {
                                text.clear();
                            }
                            flush(&mut nodes, &mut text);
                            self.pos = after;
                            while self.peek() == Some(b' ') {
                                self.pos += 1;
                            }
                            if self.peek() != Some(b'(') {
                                return Err(self.expected("\"(\" after #set"));
                            }
                            self.pos += 1;
                            self.skip_ws();
                            if self.peek() != Some(b'$') {
                                return Err(self.expected("a reference after #set("));
                            }
                            let Some(target) = self.try_reference()? else {
                                return Err(self.expected("a reference after #set("));
                            };
                            self.skip_ws();
                            if self.peek() != Some(b'=') {
                                return Err(self.expected("\"=\""));
                            }
                            self.pos += 1;
                            let value = self.expr()?;
                            self.close_paren()?;
                            nodes.push(Node::Set { target, value });
                        }
                        "if" => {
                            flush(&mut nodes, &mut text);
                            self.pos = after;
                            let cond = self.paren_expr()?;
                            nodes.push(self.parse_if(cond, hash)?);
                        }
                        "foreach" => {
                            flush(&mut nodes, &mut text);
                            self.pos = after;
                            nodes.push(self.parse_foreach(hash)?);
                        }
                        "elseif" => {
                            flush(&mut nodes, &mut text);
                            self.pos = after;
                            let cond = self.paren_expr()?;
                            return Ok((nodes, Term::ElseIf(cond)));
                        }
                        "else" => {
                            flush(&mut nodes, &mut text);
                            self.pos = after;
                            self.eat_line_end();
                            return Ok((nodes, Term::Else));
                        }
                        "end" => {
                            flush(&mut nodes, &mut text);
                            self.pos = after;
                            self.eat_line_end();
                            return Ok((nodes, Term::End));
                        }
                        "break" => {
                            flush(&mut nodes, &mut text);
                            self.pos = after;
                            nodes.push(Node::Break);
                        }
                        "stop" => {
                            flush(&mut nodes, &mut text);
                            self.pos = after;
                            nodes.push(Node::Stop);
                        }
                        _ => {
                            // Not a directive we know (macros, #include, #parse, ...): text.
                            text.push('#');
                            self.pos += 1;
                        }
                    }
                }
            }
        }
    }

    fn parse_if(&mut self, first: Expr, hash: usize) -> Result<Node, PErr> {
        self.enter()?;
        let mut branches = Vec::new();
        let mut cond = first;
        let mut otherwise = None;
        loop {
            let (body, term) = self.parse_nodes()?;
            match term {
                Term::ElseIf(next) => {
                    branches.push((cond, body));
                    cond = next;
                }
                Term::Else => {
                    branches.push((cond, body));
                    let (body, term) = self.parse_nodes()?;
                    match term {
                        Term::End => {
                            otherwise = Some(body);
                            break;
                        }
                        Term::Eof => {
                            return Err(self.err_at(hash, "Encountered \"<EOF>\": #if without #end"))
                        }
                        Term::Else | Term::ElseIf(_) => {
                            return Err(self.err_at(
                                self.pos,
                                "Encountered \"#else\" or \"#elseif\" after #else",
                            ))
                        }
                    }
                }
                Term::End => {
                    branches.push((cond, body));
                    break;
                }
                Term::Eof => {
                    return Err(self.err_at(hash, "Encountered \"<EOF>\": #if without #end"))
                }
            }
        }
        self.leave();
        Ok(Node::If {
            branches,
            otherwise,
        })
    }

    fn parse_foreach(&mut self, hash: usize) -> Result<Node, PErr> {
        self.skip_ws();
        if self.peek() != Some(b'(') {
            return Err(self.expected("\"(\" after #foreach"));
        }
        self.pos += 1;
        self.skip_ws();
        if self.peek() != Some(b'$') {
            return Err(self.expected("a reference after #foreach("));
        }
        self.pos += 1;
        if self.peek() == Some(b'!') {
            self.pos += 1;
        }
        let braced = self.peek() == Some(b'{');
        if braced {
            self.pos += 1;
        }
        let Some(var) = self.ident() else {
            return Err(self.expected("a variable name"));
        };
        if braced {
            if self.peek() != Some(b'}') {
                return Err(self.expected("\"}\""));
            }
            self.pos += 1;
        }
        self.skip_ws();
        if !self.word_op("in") {
            return Err(self.expected("\"in\""));
        }
        self.pos += 2;
        let iter = self.expr()?;
        self.close_paren()?;
        self.enter()?;
        let (body, term) = self.parse_nodes()?;
        self.leave();
        match term {
            Term::End => Ok(Node::Foreach { var, iter, body }),
            Term::Eof => Err(self.err_at(hash, "Encountered \"<EOF>\": #foreach without #end")),
            Term::Else | Term::ElseIf(_) => {
                Err(self.err_at(self.pos, "Encountered \"#else\" inside #foreach"))
            }
        }
    }

    fn paren_expr(&mut self) -> Result<Expr, PErr> {
        self.skip_ws();
        if self.peek() != Some(b'(') {
            return Err(self.expected("\"(\""));
        }
        self.pos += 1;
        let e = self.expr()?;
        self.close_paren()?;
        Ok(e)
    }

    /// The `)` closing a directive, with the line end Velocity binds to it.
    fn close_paren(&mut self) -> Result<(), PErr> {
        self.skip_ws();
        if self.peek() != Some(b')') {
            return Err(self.expected("\")\""));
        }
        self.pos += 1;
        self.eat_line_end();
        Ok(())
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    fn ident(&mut self) -> Option<String> {
        if !self.peek().is_some_and(is_ident_start) {
            return None;
        }
        let s = self.pos;
        while self.peek().is_some_and(is_ident_char) {
            self.pos += 1;
        }
        Some(self.src[s..self.pos].to_string())
    }

    /// At a `$`: a reference, or `None` (position unchanged) when what follows is not one, in
    /// which case the `$` is text.
    fn try_reference(&mut self) -> Result<Option<Reference>, PErr> {
        let start = self.pos;
        self.pos += 1;
        let quiet = self.peek() == Some(b'!');
        if quiet {
            self.pos += 1;
        }
        let braced = self.peek() == Some(b'{');
        if braced {
            self.pos += 1;
        }
        let Some(name) = self.ident() else {
            self.pos = start;
            return Ok(None);
        };
        let mut steps = Vec::new();
        loop {
            match self.peek() {
                Some(b'.')
                    if self
                        .at(self.pos + 1)
                        .is_some_and(|c| c.is_ascii_alphabetic()) =>
                {
                    self.pos += 1;
                    let Some(id) = self.ident() else { break };
                    if self.peek() == Some(b'(') {
                        self.pos += 1;
                        self.enter()?;
                        let args = self.args()?;
                        self.leave();
                        steps.push(Step::Method(id, args));
                    } else {
                        steps.push(Step::Prop(id));
                    }
                }
                Some(b'[') => {
                    // Lenient: text like `$x[` that is not an index stays text.
                    let save = self.pos;
                    self.pos += 1;
                    let idx = self.enter().and_then(|()| {
                        let e = self.expr()?;
                        self.skip_ws();
                        if self.peek() == Some(b']') {
                            self.pos += 1;
                            Ok(e)
                        } else {
                            Err(self.expected("\"]\""))
                        }
                    });
                    self.depth = self.depth.saturating_sub(1);
                    match idx {
                        Ok(e) => steps.push(Step::Index(e)),
                        Err(_) => {
                            self.pos = save;
                            break;
                        }
                    }
                }
                _ => break,
            }
        }
        if braced {
            if self.peek() != Some(b'}') {
                self.pos = start;
                return Ok(None);
            }
            self.pos += 1;
        }
        let input_json = match (name.as_str(), steps.as_slice()) {
            ("input", [Step::Method(m, args)]) if m == "json" => match args.as_slice() {
                [Expr::Str(p)] => Some(InputJson {
                    path: Path::compile(p),
                    root: p.trim() == "$",
                }),
                _ => None,
            },
            _ => None,
        };
        Ok(Some(Reference {
            quiet,
            name,
            steps,
            literal: self.src[start..self.pos].to_string(),
            input_json,
        }))
    }

    fn args(&mut self) -> Result<Vec<Expr>, PErr> {
        let mut args = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b')') {
            self.pos += 1;
            return Ok(args);
        }
        loop {
            args.push(self.expr()?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b')') => {
                    self.pos += 1;
                    return Ok(args);
                }
                _ => return Err(self.expected("\",\" or \")\"")),
            }
        }
    }

    // ---- expressions -------------------------------------------------------------------

    fn word_op(&self, w: &str) -> bool {
        self.starts(w) && !self.at(self.pos + w.len()).is_some_and(is_word_char)
    }

    pub(crate) fn expr(&mut self) -> Result<Expr, PErr> {
        self.enter()?;
        let r = self.or_expr();
        self.leave();
        r
    }

    fn or_expr(&mut self) -> Result<Expr, PErr> {
        let mut l = self.and_expr()?;
        loop {
            self.skip_ws();
            if self.starts("||") || self.word_op("or") {
                self.pos += 2;
            } else {
                return Ok(l);
            }
            let r = self.and_expr()?;
            l = Expr::Binary(BinOp::Or, Box::new(l), Box::new(r));
        }
    }

    fn and_expr(&mut self) -> Result<Expr, PErr> {
        let mut l = self.eq_expr()?;
        loop {
            self.skip_ws();
            if self.starts("&&") {
                self.pos += 2;
            } else if self.word_op("and") {
                self.pos += 3;
            } else {
                return Ok(l);
            }
            let r = self.eq_expr()?;
            l = Expr::Binary(BinOp::And, Box::new(l), Box::new(r));
        }
    }

    fn eq_expr(&mut self) -> Result<Expr, PErr> {
        let mut l = self.rel_expr()?;
        loop {
            self.skip_ws();
            let op = if self.starts("==") {
                self.pos += 2;
                BinOp::Eq
            } else if self.starts("!=") {
                self.pos += 2;
                BinOp::Ne
            } else if self.word_op("eq") {
                self.pos += 2;
                BinOp::Eq
            } else if self.word_op("ne") {
                self.pos += 2;
                BinOp::Ne
            } else {
                return Ok(l);
            };
            let r = self.rel_expr()?;
            l = Expr::Binary(op, Box::new(l), Box::new(r));
        }
    }

    fn rel_expr(&mut self) -> Result<Expr, PErr> {
        let mut l = self.add_expr()?;
        loop {
            self.skip_ws();
            let (op, n) = if self.starts("<=") {
                (BinOp::Le, 2)
            } else if self.starts(">=") {
                (BinOp::Ge, 2)
            } else if self.starts("<") {
                (BinOp::Lt, 1)
            } else if self.starts(">") {
                (BinOp::Gt, 1)
            } else if self.word_op("le") {
                (BinOp::Le, 2)
            } else if self.word_op("ge") {
                (BinOp::Ge, 2)
            } else if self.word_op("lt") {
                (BinOp::Lt, 2)
            } else if self.word_op("gt") {
                (BinOp::Gt, 2)
            } else {
                return Ok(l);
            };
            self.pos += n;
            let r = self.add_expr()?;
            l = Expr::Binary(op, Box::new(l), Box::new(r));
        }
    }

    fn add_expr(&mut self) -> Result<Expr, PErr> {
        let mut l = self.mul_expr()?;
        loop {
            self.skip_ws();
            let op = match self.peek() {
                Some(b'+') => BinOp::Add,
                Some(b'-') => BinOp::Sub,
                _ => return Ok(l),
            };
            self.pos += 1;
            let r = self.mul_expr()?;
            l = Expr::Binary(op, Box::new(l), Box::new(r));
        }
    }

    fn mul_expr(&mut self) -> Result<Expr, PErr> {
        let mut l = self.unary()?;
        loop {
            self.skip_ws();
            let op = match self.peek() {
                Some(b'*') => BinOp::Mul,
                Some(b'/') => BinOp::Div,
                Some(b'%') => BinOp::Mod,
                _ => return Ok(l),
            };
            self.pos += 1;
            let r = self.unary()?;
            l = Expr::Binary(op, Box::new(l), Box::new(r));
        }
    }

    fn unary(&mut self) -> Result<Expr, PErr> {
        self.skip_ws();
        let n = if self.starts("!") && !self.starts("!=") {
            1
        } else if self.word_op("not") {
            3
        } else {
            return self.primary();
        };
        self.pos += n;
        self.enter()?;
        let e = self.unary();
        self.leave();
        Ok(Expr::Not(Box::new(e?)))
    }

    fn primary(&mut self) -> Result<Expr, PErr> {
        self.skip_ws();
        let Some(c) = self.peek() else {
            return Err(self.expected("an expression"));
        };
        match c {
            b'(' => {
                self.pos += 1;
                let e = self.expr()?;
                self.skip_ws();
                if self.peek() != Some(b')') {
                    return Err(self.expected("\")\""));
                }
                self.pos += 1;
                Ok(e)
            }
            b'[' => {
                self.pos += 1;
                self.enter()?;
                let r = self.list_or_range();
                self.leave();
                r
            }
            b'{' => {
                self.pos += 1;
                self.enter()?;
                let r = self.map_literal();
                self.leave();
                r
            }
            b'"' | b'\'' => self.string_literal(c),
            b'$' => match self.try_reference()? {
                Some(r) => Ok(Expr::Ref(r)),
                None => Err(self.expected("a reference")),
            },
            b'0'..=b'9' => self.number(),
            b'-' if self.at(self.pos + 1).is_some_and(|c| c.is_ascii_digit()) => self.number(),
            _ => {
                if self.word_op("true") {
                    self.pos += 4;
                    Ok(Expr::Bool(true))
                } else if self.word_op("false") {
                    self.pos += 5;
                    Ok(Expr::Bool(false))
                } else if self.word_op("null") {
                    self.pos += 4;
                    Ok(Expr::Null)
                } else {
                    Err(self.expected("an expression"))
                }
            }
        }
    }

    fn list_or_range(&mut self) -> Result<Expr, PErr> {
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Expr::List(Vec::new()));
        }
        let first = self.expr()?;
        self.skip_ws();
        if self.starts("..") {
            self.pos += 2;
            let last = self.expr()?;
            self.skip_ws();
            if self.peek() != Some(b']') {
                return Err(self.expected("\"]\""));
            }
            self.pos += 1;
            return Ok(Expr::Range(Box::new(first), Box::new(last)));
        }
        let mut items = vec![first];
        loop {
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    items.push(self.expr()?);
                }
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Expr::List(items));
                }
                _ => return Err(self.expected("\",\" or \"]\"")),
            }
        }
    }

    fn map_literal(&mut self) -> Result<Expr, PErr> {
        let mut entries = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Expr::Map(entries));
        }
        loop {
            let k = self.expr()?;
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.expected("\":\""));
            }
            self.pos += 1;
            let v = self.expr()?;
            entries.push((k, v));
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Expr::Map(entries));
                }
                _ => return Err(self.expected("\",\" or \"}\"")),
            }
        }
    }

    fn number(&mut self) -> Result<Expr, PErr> {
        let s = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        let mut float = false;
        // `1..3` is a range of integers, so a dot makes a float only when a digit follows.
        if self.peek() == Some(b'.') && self.at(self.pos + 1).is_some_and(|c| c.is_ascii_digit()) {
            float = true;
            self.pos += 1;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.pos += 1;
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            let mut i = self.pos + 1;
            if matches!(self.at(i), Some(b'+' | b'-')) {
                i += 1;
            }
            if self.at(i).is_some_and(|c| c.is_ascii_digit()) {
                float = true;
                self.pos = i;
                while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    self.pos += 1;
                }
            }
        }
        let text = &self.src[s..self.pos];
        if !float {
            if let Ok(i) = text.parse::<i64>() {
                return Ok(Expr::Int(i));
            }
        }
        text.parse::<f64>()
            .map(Expr::Float)
            .map_err(|_| self.err_at(s, format!("Invalid number \"{text}\"")))
    }

    fn string_literal(&mut self, q: u8) -> Result<Expr, PErr> {
        let start = self.pos;
        self.pos += 1;
        let mut content = String::new();
        loop {
            let s = self.pos;
            while self.peek().is_some_and(|c| c != q) {
                self.pos += 1;
            }
            content.push_str(&self.src[s..self.pos]);
            match self.peek() {
                None => return Err(self.err_at(start, "Unterminated string literal")),
                Some(_) if self.at(self.pos + 1) == Some(q) => {
                    // Velocity 1.7: a doubled quote stands for one quote.
                    content.push(q as char);
                    self.pos += 2;
                }
                Some(_) => {
                    self.pos += 1;
                    break;
                }
            }
        }
        if q == b'\'' {
            return Ok(Expr::Str(content));
        }
        // Velocity unescapes only `\uXXXX` in string literals; `\n` stays two characters.
        let content = unescape_unicode(&content);
        if !content.contains(['$', '#']) {
            return Ok(Expr::Str(content));
        }
        let outer = self.outer.unwrap_or_else(|| line_col(self.src, start));
        let mut sub = Parser::new(&content, self.depth + 1, Some(outer));
        if sub.depth > MAX_DEPTH {
            return Err(self.err_at(
                start,
                format!("Template nesting exceeds {MAX_DEPTH} levels"),
            ));
        }
        let nodes = sub.parse_top().map_err(|mut e| {
            e.at = Some(outer);
            e
        })?;
        // `"$.data"` holds a `$` but no reference: it is the text it renders to, and a plain
        // string can be precompiled where one is expected (`$input.json("$.data")`).
        if nodes.iter().all(|n| matches!(n, Node::Text(_))) {
            let mut text = String::new();
            for n in &nodes {
                if let Node::Text(t) = n {
                    text.push_str(t);
                }
            }
            return Ok(Expr::Str(text));
        }
        Ok(Expr::Interp(nodes))
    }
}

/// Velocity 1.7 unescapes `\uXXXX` in double-quoted literals (and nothing else). The units
/// are UTF-16: a surrogate pair makes one character, a lone surrogate becomes U+FFFD.
fn unescape_unicode(s: &str) -> String {
    if !s.contains("\\u") {
        return s.to_string();
    }
    let hex_at = |i: usize| -> Option<u16> {
        let h = s.get(i + 2..i + 6)?;
        if !s[i..].starts_with("\\u") || !h.bytes().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        u16::from_str_radix(h, 16).ok()
    };
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let Some(unit) = hex_at(i) else {
            let c = s[i..].chars().next().unwrap_or('\u{FFFD}');
            out.push(c);
            i += c.len_utf8().max(1);
            continue;
        };
        i += 6;
        if (0xD800..0xDC00).contains(&unit) {
            if let Some(low) = hex_at(i).filter(|l| (0xDC00..0xE000).contains(l)) {
                let c = char::decode_utf16([unit, low]).next().and_then(Result::ok);
                out.push(c.unwrap_or('\u{FFFD}'));
                i += 6;
                continue;
            }
        }
        out.push(char::from_u32(u32::from(unit)).unwrap_or('\u{FFFD}'));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::unescape_unicode;

    #[test]
    fn unicode_escapes() {
        assert_eq!(unescape_unicode("a\\u00e9b"), "a\u{e9}b");
        assert_eq!(unescape_unicode("\\uD83D\\uDE00!"), "\u{1F600}!");
        assert_eq!(unescape_unicode("\\uD83Dx\\uDE00"), "\u{FFFD}x\u{FFFD}");
        assert_eq!(
            unescape_unicode("\\u12 \\uzzzz \\n é"),
            "\\u12 \\uzzzz \\n é"
        );
    }
}
