use std::collections::BTreeMap;

use crate::{Input, Limits, Params, RenderError, Template};

pub(crate) fn render_body(src: &str, body: &str) -> Result<String, RenderError> {
    let params = Params::default();
    let sv = BTreeMap::new();
    let ctx = |k: &str| match k {
        "stage" => Some("prod".to_string()),
        "identity.sourceIp" => Some("192.0.2.1".to_string()),
        _ => None,
    };
    let input = Input {
        body,
        params: &params,
        context: &ctx,
        stage_variables: &sv,
    };
    Template::parse(src)
        .expect("parses")
        .render(&input, &Limits::default())
}

fn r(src: &str) -> String {
    render_body(src, "{}").expect("renders")
}

#[test]
fn dbg() {
    assert_eq!(
        r("#foreach($a in [1])\n    #set($b = 1)\nx$b\n#end"),
        "x1\n"
    );
}

#[test]
fn dbg2() {
    assert_eq!(r("#set($m = {'a': 1, 'b': 2})\n  {\n    #foreach($type in $m.keySet())\n    #set($params = $m.get($type))\n    \"$type\" : {\n    #end\n"), "x1\n");
}

#[test]
fn dbg3() {
    assert_eq!(
        r("#foreach($a in [1])\n    #set($b = $a)\nx$b\n#end"),
        "x1\n"
    );
}
#[test]
fn dbg4() {
    assert_eq!(
        r("#set($m = {'a': 1})#foreach($a in $m.keySet())\n    #set($b = 1)\nx$b\n#end"),
        "x1\n"
    );
}

#[test]
fn dbg5() {
    for t in [
        "#set($m = {'a': 1})\n#foreach($type in $m.keySet())\n    #set($params = $m.get($type))\nX\n#end",
        "#set($m = {'a': 1})\n    #foreach($type in $m.keySet())\n    #set($params = 1)\nX\n#end",
        "#set($m = {'a': 1})\n  {\n#foreach($type in $m.keySet())\n    #set($params = 1)\nX\n#end",
    ] {
        eprintln!("{:?}", r(t));
    }
}

#[test]
fn dbg6() {
    let t = "#set($m = {'a': 1, 'b': 2})\n  {\n    #foreach($type in $m.keySet())\n    #set($params = $m.get($type))\n    \"$type\" : {\n    #end\n";
    eprintln!("{:#?}", crate::parser::parse_template(t));
}
