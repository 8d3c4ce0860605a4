//! The parsed form of a template. Plain owned data, so a `Template` is `Send + Sync` and is
//! shared by every render of a deployment.

use crate::jsonpath::Path;

#[derive(Debug, Clone)]
pub(crate) enum Node {
    Text(String),
    /// A reference in text. `escapes` is the number of backslashes written before the `$`.
    Ref {
        r: Reference,
        escapes: usize,
    },
    Set {
        target: Reference,
        value: Expr,
    },
    If {
        branches: Vec<(Expr, Vec<Node>)>,
        otherwise: Option<Vec<Node>>,
    },
    Foreach {
        var: String,
        iter: Expr,
        body: Vec<Node>,
    },
    Break,
    Stop,
}

#[derive(Debug, Clone)]
pub(crate) struct Reference {
    pub quiet: bool,
    pub name: String,
    pub steps: Vec<Step>,
    /// The source text (`$foo.bar(1)`, `${foo}`), rendered when the value is undefined.
    pub literal: String,
    /// `$input.json('literal')`, the commonest reference of all, with its path compiled when
    /// the template is parsed rather than at every render.
    pub input_json: Option<InputJson>,
}

/// A precompiled `$input.json('…')`.
#[derive(Debug, Clone)]
pub(crate) struct InputJson {
    /// `None`: outside the supported subset (selects nothing).
    pub path: Option<Path>,
    /// The path is `$` (what a body that is not JSON reads as `{}` for).
    pub root: bool,
}

#[derive(Debug, Clone)]
pub(crate) enum Step {
    Prop(String),
    Method(String, Vec<Expr>),
    Index(Expr),
}

#[derive(Debug, Clone)]
pub(crate) enum Expr {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// A double-quoted literal holding `$` or `#`: rendered as a small template.
    Interp(Vec<Node>),
    Ref(Reference),
    List(Vec<Expr>),
    Range(Box<Expr>, Box<Expr>),
    Map(Vec<(Expr, Expr)>),
    Not(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}
