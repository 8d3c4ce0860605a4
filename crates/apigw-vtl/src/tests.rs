use std::collections::BTreeMap;

use crate::{
    validate, Input, Limits, Params, ParseError, RenderError, Template, Undefined,
    MAX_TEMPLATE_BYTES,
};

fn render_with(src: &str, body: &str, limits: &Limits) -> Result<String, RenderError> {
    let params = Params::default();
    let sv: BTreeMap<String, String> = [("env".to_string(), "dev".to_string())].into();
    let ctx = |k: &str| match k {
        "stage" => Some("prod".to_string()),
        "connectionId" => Some("abc=".to_string()),
        "identity.sourceIp" => Some("192.0.2.1".to_string()),
        _ => None,
    };
    let input = Input {
        body: body.as_bytes(),
        params: &params,
        context: &ctx,
        stage_variables: &sv,
        json: None,
    };
    Template::parse(src).expect("parses").render(&input, limits)
}

fn rb(src: &str, body: &str) -> String {
    render_with(src, body, &Limits::default()).expect("renders")
}

fn r(src: &str) -> String {
    rb(src, "{}")
}

fn perr(src: &str) -> ParseError {
    Template::parse(src).expect_err("does not parse")
}

// ---- references ---------------------------------------------------------------------------

#[test]
fn undefined_references_render_as_written() {
    assert_eq!(r("a $foo b"), "a $foo b");
    assert_eq!(r("$foo.bar.baz(1, 'x')[0]"), "$foo.bar.baz(1, 'x')[0]");
    assert_eq!(r("${foo}x"), "${foo}x");
    assert_eq!(r("#set($m = {})$m.nope|$m.get('x')"), "$m.nope|$m.get('x')");
    // An unknown method makes the whole reference undefined.
    assert_eq!(r("#set($s = 'x')$s.frobnicate()"), "$s.frobnicate()");
}

#[test]
fn quiet_references_render_empty() {
    assert_eq!(r("[$!foo][$!{foo.bar}]"), "[][]");
    assert_eq!(r("#set($x = 'v')[$!x][$!{x}]"), "[v][v]");
}

#[test]
fn formal_references_delimit_names() {
    assert_eq!(r("#set($x = 'v')${x}y $x-y ${x}-y"), "vy $x-y v-y");
    assert_eq!(r("#set($a-b = 3)$a-b"), "3");
}

#[test]
fn dollar_that_is_not_a_reference_is_text() {
    assert_eq!(r("$ 5 $$ $1 $!. $!{ x ${"), "$ 5 $$ $1 $!. $!{ x ${");
    assert_eq!(r("#set($x = 'v')$x. $x.) $x.1"), "v. v.) v.1");
}

#[test]
fn properties_methods_and_indexes_chain() {
    let body = r#"{"a": {"b": [{"c": "deep"}, 2, 3]}, "k": "b"}"#;
    assert_eq!(rb("#set($d = $input.path('$'))$d.a.b[0].c $d.a.b.get(1) $d.a.b[-1] $d['a']['b'][0]['c'].toUpperCase()", body), "deep 2 3 DEEP");
    assert_eq!(
        rb(
            "#set($d = $input.path('$'))#set($i = 2)$d.a.b[$i] $d.a[$d.k].size() $d.a.b[5]",
            body
        ),
        "3 3 $d.a.b[5]"
    );
}

#[test]
fn escaped_references() {
    assert_eq!(r("#set($x = 'v')\\$x \\\\$x \\\\\\$x"), "$x \\v \\$x");
    assert_eq!(
        r("\\$nope \\\\$nope \\$!nope"),
        "\\$nope \\\\$nope \\$!nope"
    );
    assert_eq!(r("\\#if(true) x \\#end"), "#if(true) x #end");
    assert_eq!(r("\\\\#if(true)y#end"), "\\y");
    assert_eq!(r("a\\b \\n \\#foo"), "a\\b \\n \\#foo");
}

// ---- directives ---------------------------------------------------------------------------

#[test]
fn set_with_null_keeps_the_old_value() {
    assert_eq!(r("#set($x = 'a')#set($x = $nope)$x"), "a");
    assert_eq!(
        r("#set($x = 'a')#set($x = $input.path('$').missing)$x"),
        "a"
    );
    assert_eq!(r("#set($x = 1)#set($x = $x + 1)$x"), "2");
}

#[test]
fn set_into_maps_and_lists() {
    assert_eq!(
        r("#set($m = {})#set($m.a = 1)#set($m['b'] = [1, 2])#set($m.b[0] = 'x')$m"),
        "{a=1, b=[x, 2]}"
    );
}

#[test]
fn if_elseif_else() {
    let t = "#if($n == 1)one#elseif($n == 2)two#{else}many#end";
    assert_eq!(r(&format!("#set($n = 1){t}")), "one");
    assert_eq!(r(&format!("#set($n = 2){t}")), "two");
    assert_eq!(r(&format!("#set($n = 3){t}")), "many");
    assert_eq!(r("#{if}(true)a#{end}b"), "ab");
    assert_eq!(r("#if($nope)x#end|#if(!$nope)y#end"), "|y");
}

#[test]
fn truthiness_follows_velocity() {
    assert_eq!(r("#if('')T#{else}F#end #if(0)T#{else}F#end #if(false)T#{else}F#end #if(null)T#{else}F#end #if([])T#{else}F#end"), "T T F F T");
}

#[test]
fn foreach_variables() {
    assert_eq!(
        r("#foreach($e in ['a', 'b', 'c'])$foreach.index$foreach.count$e$velocityCount#if($foreach.first)F#end#if($foreach.last)L#end#if($foreach.hasNext),#end#end"),
        "01a1F,12b2,23c3L"
    );
    assert_eq!(
        r("#foreach($i in [1..3])$i#end #foreach($i in [3..1])$i#end"),
        "123 321"
    );
    assert_eq!(
        r("#set($m = {'x': 1, 'y': 2})#foreach($v in $m)$v#end"),
        "12"
    );
    assert_eq!(
        r("#foreach($x in $nope)never#end#foreach($x in 'str')never#end."),
        "."
    );
    // The loop variable and $foreach are put back afterwards.
    assert_eq!(
        r("#set($e = 'before')#foreach($e in [1])#end$e $foreach"),
        "before $foreach"
    );
    assert_eq!(r("#foreach($a in [1, 2])#foreach($b in ['x', 'y'])$a$b$foreach.count #end$foreach.count|#end"), "1x1 1y2 1|2x1 2y2 2|");
}

#[test]
fn break_and_stop() {
    assert_eq!(
        r("#foreach($i in [1..10])$i#if($i == 3)#break#end#end."),
        "123."
    );
    assert_eq!(r("a#if(true)b#stop c#end d"), "ab");
    assert_eq!(
        r("#foreach($i in [1..3])#foreach($j in [1..3])$j#break#end$i#end"),
        "111213"
    );
}

#[test]
fn comments_and_unparsed_content() {
    assert_eq!(r("a## comment\nb"), "ab");
    assert_eq!(r("a#* block\n $x #if *#b"), "ab");
    assert_eq!(r("a#** doc *#b"), "ab");
    assert_eq!(r("#[[ $x #if(]]#"), " $x #if(");
    assert_eq!(r("x ## at end"), "x ");
}

#[test]
fn unknown_directives_are_text() {
    assert_eq!(
        r("#foo #macro(x) #include('a') # #123 #{x} color: #fff;"),
        "#foo #macro(x) #include('a') # #123 #{x} color: #fff;"
    );
    assert_eq!(r("#elsewhere #ends #iffy"), "#elsewhere #ends #iffy");
}

#[test]
fn whitespace_rules_of_velocity_1_7() {
    // The line break after a directive's `)`, `#else` and `#end` goes with the directive.
    assert_eq!(
        r("#set($a = 1)\nx\n#if(true)  \ny\n#else\nz\n#end  \nw"),
        "x\ny\nw"
    );
    // Only when the line break directly follows (spaces and tabs allowed between).
    assert_eq!(r("#if(true) y#end w"), " y w");
    // `#set` takes the indentation before it; `#if` / `#foreach` / `#end` do not.
    assert_eq!(
        r("#set($a = 1)\n    #set($b = 2)\n  #if(true)\n  $b\n  #end\nend"),
        "    2\n  end"
    );
    // Not when text precedes on the line.
    assert_eq!(r("x  #set($a = 1)y"), "x  y");
    // CRLF line ends.
    assert_eq!(r("#set($a = 1)\r\nx#if(true)\r\ny#end\r\n"), "xy");
    assert_eq!(r("a##c\r\nb"), "ab");
}

#[test]
fn parse_errors_have_positions() {
    let e = perr("ok\n  #if($x");
    assert_eq!((e.line, e.column), (2, 9));
    assert!(e.to_string().contains("line 2, column 9"), "{e}");
    assert!(perr("#end").message.contains("#end"));
    assert!(perr("#if(true)x").message.contains("#end"));
    assert!(perr("#foreach($x in [1])").message.contains("#end"));
    assert!(perr("#foreach($x [1])#end").message.contains("in"));
    assert!(perr("#set($x 1)").message.contains("="));
    assert!(perr("#set $x = 1").message.contains("("));
    assert!(perr("#if(true)#else#else#end").message.contains("#else"));
    assert!(perr("#* never closed").message.contains("comment"));
    assert!(perr("#[[ never closed").message.contains("unparsed"));
    assert!(perr("#set($x = 'unterminated)").message.contains("string"));
    assert!(perr("$x.m(1,").message.contains("expecting"));
    assert!(perr("#set($x = (1 + )").message.contains("expecting"));
    assert!(validate("#if(1 < 2)ok#end").is_ok());
    let e = perr("#set($x = \"a $y.m(\")");
    assert_eq!((e.line, e.column), (1, 11));
}

#[test]
fn template_size_limit() {
    let big = "x".repeat(MAX_TEMPLATE_BYTES + 1);
    assert!(perr(&big).message.contains("maximum"));
    assert!(validate(&"x".repeat(MAX_TEMPLATE_BYTES)).is_ok());
}

// ---- expressions --------------------------------------------------------------------------

#[test]
fn literals() {
    assert_eq!(r("#set($x = \"a$!{nope}b\")$x"), "ab");
    assert_eq!(r("#set($x = 'a $y b')$x"), "a $y b");
    assert_eq!(
        r("#set($y = 1)#set($x = \"v=$y #if($y == 1)one#end\")$x"),
        "v=1 one"
    );
    assert_eq!(r(r#"#set($x = "say ""hi"" it''s")$x"#), r#"say "hi" it''s"#);
    assert_eq!(r("#set($x = 'it''s')$x"), "it's");
    assert_eq!(r(r#"#set($x = "\u00e9\n")$x"#), "é\\n");
    assert_eq!(
        r("#set($x = [1, 'a', [true, null], {'k': 2.5}])$x"),
        "[1, a, [true, null], {k=2.5}]"
    );
    assert_eq!(r("#set($x = {})$x|#set($y = [])$y"), "{}|[]");
    assert_eq!(
        r("#set($x = -3)$x|#set($x = 1.0)$x|#set($x = 1e10)$x|#set($x = 2.5E-4)$x"),
        "-3|1.0|1.0E10|2.5E-4"
    );
}

#[test]
fn arithmetic() {
    assert_eq!(r("#set($x = 7 / 2)$x|#set($x = 7 % 3)$x|#set($x = 7.0 / 2)$x|#set($x = 2 * 3 + 4)$x|#set($x = 2 * (3 + 4))$x|#set($x = 1 - -1)$x"), "3|1|3.5|10|14|2");
    assert_eq!(
        r("#set($x = 'a' + 1 + 2)$x|#set($x = 1 + 2 + 'a')$x|#set($x = 'a' + [1])$x"),
        "a12|3a|a[1]"
    );
    // Division by zero and non-numbers are null, so #set keeps the old value.
    assert_eq!(
        r("#set($x = 'old')#set($x = 1 / 0)$x|#set($x = 'a' - 1)$x|#set($x = 'a' + $nope)$x"),
        "old|old|old"
    );
    assert_eq!(
        r("#set($x = 9223372036854775807 + 1)$x"),
        "9.223372036854776E18"
    );
}

#[test]
fn comparisons_and_logic() {
    assert_eq!(r("#if(1 == 1.0)a#end#if(1 == '1')b#end#if('a' == 'a')c#end#if('a' != 'b')d#end#if($nope == $nada)e#end#if($nope == 'x')X#end"), "abcde");
    assert_eq!(r("#if(1 < 2 && 2 <= 2 && 3 > 2 && 3 >= 3)a#end#if(1 lt 2 and 2 le 2 and 3 gt 2 and 3 ge 3)b#end#if('a' < 'b')X#end"), "ab");
    assert_eq!(r("#if(false || true)a#end#if(false or !false)b#end#if(not true)X#end#if(1 eq 1 && 1 ne 2)c#end"), "abc");
    assert_eq!(
        r("#if([1, 2] == [1, 2])a#end#if({'a': 1} == {'a': 1})b#end"),
        "ab"
    );
}

// ---- methods ------------------------------------------------------------------------------

#[test]
fn string_methods() {
    let s = "#set($s = ' Hello, World ')";
    let cases = [
        ("$s.length()", "14"),
        ("$s.trim()", "Hello, World"),
        (
            "$s.toLowerCase()$s.toUpperCase()",
            " hello, world  HELLO, WORLD ",
        ),
        (
            "$s.contains('World') $s.startsWith(' H') $s.endsWith('x') $s.isEmpty() $s.empty",
            "true true false false false",
        ),
        (
            "$s.indexOf('o') $s.indexOf('o', 6) $s.lastIndexOf('o') $s.indexOf('z')",
            "5 9 9 -1",
        ),
        (
            "$s.substring(1, 6)|$s.substring(8)|$s.charAt(1)",
            "Hello|World |H",
        ),
        (
            "$s.replace('l', 'L')|$s.replaceAll('[aeiou]', '*')|$s.replaceFirst('l+', '_')",
            " HeLLo, WorLd | H*ll*, W*rld | He_o, World ",
        ),
        ("$s.replaceAll('(\\w+), (\\w+)', '$2 $1')", " World Hello "),
        (
            "$s.split(',')|$s.split(',').size()|$s.trim().split('\\s*,\\s*')[1]",
            "[ Hello,  World ]|2|World",
        ),
        ("$s.matches('.*World.*') $s.matches('World')", "true false"),
        (
            "$s.equals(' Hello, World ') $s.equalsIgnoreCase(' HELLO, world ') $s.concat('!')",
            "true true  Hello, World !",
        ),
        ("$s.substring(5, 2)", "$s.substring(5, 2)"),
        ("$s.toString().contains('error')", "false"),
    ];
    for (expr, want) in cases {
        assert_eq!(r(&format!("{s}{expr}")), want, "{expr}");
    }
    // Java indexes count UTF-16 units.
    assert_eq!(
        r("#set($s = 'a😀b')$s.length() $s.indexOf('b') $s.substring(3)"),
        "4 3 b"
    );
    assert_eq!(
        r("#set($s = 'a,b,,')$s.split(',')|#set($e = ',')$e.split(',').size() $s.split(',', -1)"),
        "[a, b]|0 [a, b, , ]"
    );
    assert_eq!(r("#set($s = 'abc')$s.split('')"), "[a, b, c]");
    assert_eq!(
        r("#set($s = 'abc')$s.replaceAll('(', 'x')"),
        "$s.replaceAll('(', 'x')"
    );
}

#[test]
fn list_and_map_methods() {
    assert_eq!(
        r("#set($l = [1, 'b'])$l.size() $l.isEmpty() $l.contains('b') $l.contains(2) $l.get(0) $l.indexOf('b') $l.add(3) $l"),
        "2 false true false 1 1 true [1, b, 3]"
    );
    assert_eq!(
        r("#set($m = {'a': 1})$m.containsKey('a') $m.size() $!m.put('b', 2) $m.put('a', 9) $m.keySet() $m.values() $m.get('b') $m.isEmpty()"),
        "true 1  1 [a, b] [9, 2] 2 false"
    );
    // `put` returns the previous value: null renders the reference as written.
    assert_eq!(r("#set($m = {})$m.put('k', 'v')"), "$m.put('k', 'v')");
    assert_eq!(
        r("#set($m = {'a': 1})$m.remove('a')$m|#set($l = [1, 2])$l.remove(0)$l"),
        "1{}|1[2]"
    );
    // Changes land in the variable, also through properties, indexes and get().
    assert_eq!(r("#set($m = {'l': [], 'n': {}})#set($d = $m.l.add(1))#set($d = $m['n'].put('x', 1))#set($d = $m.get('l').add(2))$m"), "{l=[1, 2], n={x=1}}");
    // Values are copied: the alias does not change.
    assert_eq!(
        r("#set($a = [1])#set($b = $a)#set($d = $b.add(2))$a $b"),
        "[1] [1, 2]"
    );
    assert_eq!(
        r("#set($l = [])#set($d = $l.add($l))#set($d = $l.add($l))$l"),
        "[[], [[]]]"
    );
}

#[test]
fn number_methods() {
    assert_eq!(
        r("#set($n = 3.7)$n.intValue() $n.toString()|#set($i = 5)$i.doubleValue() $i.equals(5)"),
        "3 3.7|5.0 true"
    );
}

// ---- $input, $util, $context, $stageVariables ---------------------------------------------

#[test]
fn input_body_not_json() {
    assert_eq!(
        rb(
            "[$input.path('$')][$input.json('$')][$input.json('$.a')][$input.path('$.a')]",
            "plain text"
        ),
        "[][{}][\"\"][]"
    );
    assert_eq!(rb("$input.body", "plain $text"), "plain $text");
    assert_eq!(rb("[$input.json('$')]", ""), "[{}]");
    // An empty payload reads as `{}` (recorded by LocalStack against API Gateway).
    assert_eq!(
        rb(
            "$input.body|$util.urlEncode($input.body)|[$input.path('$.a')]",
            ""
        ),
        "{}|%7B%7D|[]"
    );
    assert_eq!(
        rb(
            "$util.escapeJavaScript($input.json('$.message'))",
            "not json"
        ),
        "\\\"\\\""
    );
}

/// Arrays from the payload print as JSON, the template's own lists as Java lists.
#[test]
fn json_arrays_print_as_json() {
    let body = r#"{"a": 1, "b": [{"c": 5}, "x", 2.50, null], "s": ["p", "q"]}"#;
    assert_eq!(
        rb("$input.path('$')", body),
        r#"{a=1, b=[{"c":5},"x",2.5,null], s=["p","q"]}"#
    );
    assert_eq!(
        rb(
            "$input.path('$.b')|$input.path('$.b')[0]|$input.path('$.s[*]')",
            body
        ),
        r#"[{"c":5},"x",2.5,null]|{c=5}|["p","q"]"#
    );
    assert_eq!(
        rb(
            "#set($l = $input.path('$.s'))#set($d = $l.add('r'))$l|#set($m = ['p', $l])$m",
            body
        ),
        r#"["p","q","r"]|[p, ["p","q","r"]]"#
    );
    assert_eq!(
        rb(
            "$util.parseJson('[1, \"a\"]') $util.parseJson('{\"k\": [true]}')",
            body
        ),
        r#"[1,"a"] {k=[true]}"#
    );
}

#[test]
fn input_missing_and_invalid_paths() {
    let body = r#"{"a": null, "b": [1]}"#;
    assert_eq!(rb("[$input.json('$.x')][$input.path('$.x')][$input.json('$[?(@.a)]')][$input.json('$.b[*].x')]", body), r#"[""][][""][[]]"#);
    assert_eq!(
        rb("[$input.json('$.a')][$input.path('$.a')]", body),
        "[null][$input.path('$.a')]"
    );
    assert_eq!(rb("$input.json('b')", body), "[1]");
}

#[test]
fn input_path_results_are_kept_and_unchanged_by_mutation() {
    let body = format!("{{\"items\": [{}]}}", vec!["{\"n\": 1}"; 1000].join(","));
    // 1000 conversions of a 2000-node payload would be 2M steps; kept, it is one.
    let t = "#foreach($i in [1..1000])#set($n = $input.path('$').items.size())#end$n";
    assert_eq!(rb(t, &body), "1000");
    let t = "#set($a = $input.path('$.l'))#set($d = $a.add(9))$a $input.path('$.l')";
    assert_eq!(rb(t, r#"{"l": [1]}"#), "[1,9] [1]");
}

#[test]
fn input_json_is_parsed_lazily() {
    // A body that is not JSON is never looked at when no JSONPath function is used.
    assert_eq!(rb("$input.body.length()", "{not json"), "9");
}

#[test]
fn util_functions() {
    assert_eq!(
        r("$util.urlEncode('a b&c=d/é*~')"),
        "a+b%26c%3Dd%2F%C3%A9*%7E"
    );
    assert_eq!(r("$util.urlDecode('a+b%26c%3Dd%2F%C3%A9')"), "a b&c=d/é");
    assert_eq!(r("$util.urlDecode('%zz')"), "$util.urlDecode('%zz')");
    assert_eq!(
        r("$util.base64Encode('hello?')|$util.base64Decode('aGVsbG8/')"),
        "aGVsbG8/|hello?"
    );
    assert_eq!(r("$util.base64Decode('!!')"), "$util.base64Decode('!!')");
    assert_eq!(
        r("$util.escapeJavaScript(\"a'b\"\"c\\d/e\")"),
        "a\\'b\\\"c\\\\d\\/e"
    );
    assert_eq!(
        r("#set($s = $util.base64Decode('CQrvv70='))$util.escapeJavaScript($s)"),
        "\\t\\n\\uFFFD"
    );
    assert_eq!(
        r("$util.parseJson('[1, {\"a\": \"b\"}]')[1].a $util.parseJson('nope')"),
        "b $util.parseJson('nope')"
    );
    assert_eq!(
        r("$util.toJson('x\"y') $util.toJson(1) $util.toJson($nope)"),
        "\"x\\\"y\" 1 null"
    );
    assert_eq!(
        r("$util.nope('x') $util.urlEncode($nope)"),
        "$util.nope('x') $util.urlEncode($nope)"
    );
}

#[test]
fn context_truthiness_and_mutators_on_copies() {
    assert_eq!(
        r("#if($context.nope)X#{else}n#end #if($context.stage)y#end #if($context)c#end"),
        "n y c"
    );
    assert_eq!(
        rb(
            "$input.path('$.l').add(3) $input.path('$.l')",
            r#"{"l": [1]}"#
        ),
        "true [1]"
    );
}

#[test]
fn context_and_stage_variables() {
    assert_eq!(
        r("$context.stage $context.identity.sourceIp $context.connectionId.length()"),
        "prod 192.0.2.1 4"
    );
    assert_eq!(
        r("$context.nope $context.identity.nope $!context.nope|"),
        "$context.nope $context.identity.nope |"
    );
    assert_eq!(
        r("$context['stage'] $context['identity'].sourceIp ${context['connectionId']}"),
        "prod 192.0.2.1 abc="
    );
    assert_eq!(
        r("#set($id = $context.identity)$id.sourceIp #if($context.stage == 'prod')P#end"),
        "192.0.2.1 P"
    );
    assert_eq!(
        r("$stageVariables.env $stageVariables['env'] ${stageVariables.env} $stageVariables.nope"),
        "dev dev dev $stageVariables.nope"
    );
    // Built-in names can be overridden by #set, as in Velocity.
    assert_eq!(r("#set($context = 'mine')$context"), "mine");
}

#[test]
fn java_number_rendering() {
    let body =
        r#"{"i": 10, "f": 10.50, "e": 1e3, "big": 12345678901, "neg": -0.0005, "huge": 1e21}"#;
    assert_eq!(rb("$input.path('$.i') $input.path('$.f') $input.path('$.e') $input.path('$.big') $input.path('$.neg') $input.path('$.huge')", body), "10 10.5 1000.0 12345678901 -5.0E-4 1.0E21");
    assert_eq!(rb("$input.json('$.f')", body), "10.5");
}

// ---- limits -------------------------------------------------------------------------------

#[test]
fn foreach_iteration_limit() {
    assert_eq!(r("#foreach($i in [1..1000])#end done"), " done");
    let e = render_with("#foreach($i in [1..1001])#end", "{}", &Limits::default());
    assert_eq!(e, Err(RenderError::ForeachLimit { limit: 1000 }));
    // #break before the limit is fine.
    assert_eq!(
        r("#foreach($i in [1..5000])#if($i == 10)#break#end#end ok"),
        " ok"
    );
    let body = format!("[{}]", vec!["1"; 1001].join(","));
    let e = render_with(
        "#foreach($i in $input.path('$'))#end",
        &body,
        &Limits::default(),
    );
    assert!(matches!(e, Err(RenderError::ForeachLimit { .. })));
}

#[test]
fn nested_loops_hit_the_step_budget() {
    let t =
        "#foreach($a in [1..1000])#foreach($b in [1..1000])#foreach($c in [1..1000])x#end#end#end";
    let start = std::time::Instant::now();
    let e = render_with(
        t,
        "{}",
        &Limits {
            max_output_bytes: usize::MAX,
            ..Limits::default()
        },
    );
    assert_eq!(e, Err(RenderError::StepBudget { limit: 1_000_000 }));
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
    assert!(matches!(
        render_with(
            "#foreach($i in [1..999999999])#end",
            "{}",
            &Limits::default()
        ),
        Err(RenderError::StepBudget { .. })
    ));
}

#[test]
fn output_limit() {
    let limits = Limits {
        max_output_bytes: 100,
        ..Limits::default()
    };
    assert!(render_with(&"x".repeat(100), "{}", &limits).is_ok());
    assert_eq!(
        render_with(&"x".repeat(101), "{}", &limits),
        Err(RenderError::OutputLimit { limit: 100 })
    );
    assert_eq!(
        render_with("#foreach($i in [1..200])x#end", "{}", &limits),
        Err(RenderError::OutputLimit { limit: 100 })
    );
    // Values that double in size cannot grow past the limit either.
    let t = "#set($s = 'xxxxxxxx')#foreach($i in [1..40])#set($s = \"$s$s\")#end";
    assert!(matches!(
        render_with(t, "{}", &Limits::default()),
        Err(RenderError::OutputLimit { .. })
    ));
    let t = "#set($l = [1])#foreach($i in [1..60])#set($l = [$l, $l])#end$l";
    assert!(matches!(
        render_with(t, "{}", &Limits::default()),
        Err(RenderError::OutputLimit { .. })
    ));
    let t =
        "#set($s = 'xxxxxxxxxxxxxxxx')#foreach($i in [1..30])#set($s = $s.replace('x', 'xx'))#end";
    assert!(matches!(
        render_with(t, "{}", &Limits::default()),
        Err(RenderError::OutputLimit { .. })
    ));
    let t = "#set($s = 'xxxxxxxxxxxxxxxx')#foreach($i in [1..30])#set($s = $s.replaceAll('', 'yy'))#end";
    assert!(matches!(
        render_with(t, "{}", &Limits::default()),
        Err(RenderError::OutputLimit { .. } | RenderError::StepBudget { .. })
    ));
}

#[test]
fn deep_values_are_refused() {
    let t = "#set($l = [])#foreach($i in [1..500])#set($l = [$l])#end$l";
    assert_eq!(
        render_with(t, "{}", &Limits::default()),
        Err(RenderError::TooDeep)
    );
    let t = "#set($m = {})#foreach($i in [1..500])#set($d = $m.put('k', $m))#end";
    assert_eq!(
        render_with(t, "{}", &Limits::default()),
        Err(RenderError::TooDeep)
    );
    let t = "#set($m = {'a': {}})#foreach($i in [1..500])#set($d = $m.a.put('k', $m))#end";
    assert_eq!(
        render_with(t, "{}", &Limits::default()),
        Err(RenderError::TooDeep)
    );
}

#[test]
fn deep_nesting_is_a_parse_error() {
    for t in [
        "#if(true)".repeat(10_000),
        format!("#set($x = {}1{})", "(".repeat(10_000), ")".repeat(10_000)),
        format!("#set($x = {}1{})", "[".repeat(10_000), "]".repeat(10_000)),
        format!("#set($x = {}true)", "!".repeat(10_000)),
        format!("$x.m({}1{})", "$y.m(".repeat(10_000), ")".repeat(10_000)),
        "#set($x = \"#set($y = \"".repeat(100),
    ] {
        let e = Template::parse(&t);
        assert!(e.is_err(), "{}", &t[..20]);
    }
    assert!(perr(&"#if(true)".repeat(100)).message.contains("nesting"));
    // An index that does not parse is text, however deep the attempt went.
    let t = format!("$x{}", "[$y".repeat(10_000));
    assert_eq!(r(&t), t);
    // Up to the limit everything parses and renders (in debug builds too, on a test thread's
    // stack).
    let ok = format!("{}x{}", "#if(true)".repeat(60), "#end".repeat(60));
    assert_eq!(r(&ok), "x");
    let ok = format!("#set($x = {}1{})$x", "(".repeat(60), ")".repeat(60));
    assert_eq!(r(&ok), "1");
    let ok = format!("#set($x = {}1{})$x", "[".repeat(30), "]".repeat(30));
    assert_eq!(r(&ok), format!("{}1{}", "[".repeat(30), "]".repeat(30)));
    let ok = format!(
        "$util.toJson({}1{})",
        "$util.parseJson(".repeat(30),
        ")".repeat(30)
    );
    assert_eq!(r(&ok), "1");
    let ok = format!(
        "{}#set($y = 1)$y{}",
        "#foreach($i in [1])".repeat(30),
        "#end".repeat(30)
    );
    assert_eq!(r(&ok), "1");
}

/// Mutated templates and bodies: whatever happens, no panic and no hang.
#[test]
fn random_mutations_do_not_panic() {
    mutation_rounds(0x5eed, 3000);
}

/// The same, longer: `VTL_FUZZ_ROUNDS=200000 VTL_FUZZ_SEED=1 cargo test -p apigw-vtl --
/// --ignored long_mutation_run`.
#[test]
#[ignore]
fn long_mutation_run() {
    let env = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    mutation_rounds(
        env("VTL_FUZZ_SEED", 1),
        env("VTL_FUZZ_ROUNDS", 100_000) as usize,
    );
}

fn mutation_rounds(seed: u64, rounds: usize) {
    let seeds = [
        "#set($inputRoot = $input.path('$'))\n{\n#foreach($elem in $inputRoot.bins)\n  \"k\": \"$elem.type\"#if($foreach.hasNext),#end\n#end\n}",
        "#set($m = {'a': [1, 2.5, \"x$y\"]})$m.a[0] $!m.b ${m.a.get(1)} #if($m.a.size() > 1 && !$m.c)y#{else}n#end",
        "$util.escapeJavaScript($input.json('$..a')).replaceAll(\"\\\\'\",\"'\") $util.urlEncode($input.body) #* c *# ## x\n#[[raw]]#",
        "#foreach($i in [1..3])#set($s = \"$s$i\")#break#end\\$x \\#if $context.identity.sourceIp $stageVariables['env']",
    ];
    let bodies = [
        "{\"bins\":[{\"type\":\"a\"}],\"a\":{\"a\":1}}",
        "not json",
        "[1,[2,[3]]]",
        "",
    ];
    let alphabet: &[u8] = b"$#!{}[]()'\".,:=+-*/%<>&|\\ \n\t0123456789abcxyz@..";
    let mut rng = fastrand::Rng::with_seed(seed);
    let limits = Limits {
        max_steps: 20_000,
        ..Limits::default()
    };
    for round in 0..rounds {
        let mut t: Vec<u8> = seeds[round % seeds.len()].as_bytes().to_vec();
        for _ in 0..rng.usize(1..6) {
            let at = rng.usize(0..=t.len());
            match rng.u8(0..3) {
                0 if !t.is_empty() => {
                    t.remove(at.min(t.len() - 1));
                }
                1 => t.insert(at, alphabet[rng.usize(0..alphabet.len())]),
                _ => {
                    let from = rng.usize(0..=t.len());
                    let to = (from + rng.usize(0..20)).min(t.len());
                    let chunk = t[from..to].to_vec();
                    t.splice(at..at, chunk);
                }
            }
        }
        let src = String::from_utf8_lossy(&t).into_owned();
        let mut body = bodies[rng.usize(0..bodies.len())].as_bytes().to_vec();
        if !body.is_empty() && rng.bool() {
            let at = rng.usize(0..body.len());
            body[at] = alphabet[rng.usize(0..alphabet.len())];
        }
        let body = String::from_utf8_lossy(&body).into_owned();
        if let Ok(tpl) = Template::parse(&src) {
            let _ = render_with_template(&tpl, &body, &limits);
        }
    }
}

/// Random strings over VTL's special characters: parsing never panics or overflows.
#[test]
fn random_templates_parse_or_fail_cleanly() {
    let alphabet: &[&str] = &[
        "$",
        "$!",
        "${",
        "}",
        "#",
        "#if(",
        "#else",
        "#end",
        "#foreach($x in ",
        "#set($a = ",
        "(",
        ")",
        "[",
        "]",
        "{",
        "\"",
        "'",
        "\\",
        "##",
        "#*",
        "*#",
        "#[[",
        "]]#",
        ".",
        "..",
        ",",
        ":",
        "a",
        "1",
        "-",
        " ",
        "\n",
        "+",
        "==",
        "!",
        "&&",
        "$a.b(",
        "$a[",
    ];
    let mut rng = fastrand::Rng::with_seed(7);
    let limits = Limits {
        max_steps: 10_000,
        ..Limits::default()
    };
    for _ in 0..5000 {
        let n = rng.usize(1..40);
        let src: String = (0..n)
            .map(|_| alphabet[rng.usize(0..alphabet.len())])
            .collect();
        if let Ok(t) = Template::parse(&src) {
            let _ = render_with_template(&t, "{\"a\": [1]}", &limits);
        }
    }
}

fn render_with_template(
    tpl: &Template,
    body: &str,
    limits: &Limits,
) -> Result<String, RenderError> {
    let params = Params::default();
    let sv = BTreeMap::new();
    let ctx = |_: &str| Some("c".to_string());
    let input = Input {
        body: body.as_bytes(),
        params: &params,
        context: &ctx,
        stage_variables: &sv,
        json: None,
    };
    tpl.render(input_ref(&input), limits)
}

fn input_ref<'a>(i: &'a Input<'a>) -> &'a Input<'a> {
    i
}

#[test]
fn template_is_send_sync_and_reusable() {
    fn assert_send_sync<T: Send + Sync + std::fmt::Debug>() {}
    assert_send_sync::<Template>();
    let t = Template::parse("#set($x = $input.path('$.a'))$x").expect("parses");
    for (body, want) in [(r#"{"a": 1}"#, "1"), (r#"{"a": 2}"#, "2"), ("{}", "")] {
        assert_eq!(
            render_with_template(&t, body, &Limits::default()).expect("renders"),
            want
        );
    }
}

/// Work that a small template can make huge is paid for: equality and JSON of values sharing
/// storage, copies forced by aliasing, long literals copied in loops.
#[test]
fn hidden_costs_are_charged() {
    let limits = Limits::default();
    let slow = |t: &str| {
        let start = std::time::Instant::now();
        let r = render_with(t, "{}", &limits);
        assert!(start.elapsed() < std::time::Duration::from_secs(10), "{t}");
        r
    };
    let double = "#set($l = [1])#set($k = [1])#foreach($i in [1..60])#set($l = [$l, $l])#set($k = [$k, $k])#end";
    // The same storage is equal at once (identity first, as in Java).
    assert_eq!(
        slow(&format!("{double}#set($m = $l)#if($l == $m)same#end")).as_deref(),
        Ok("same")
    );
    assert!(matches!(
        slow(&format!("{double}#if($l == $k)same#end")),
        Err(RenderError::StepBudget { .. })
    ));
    assert!(matches!(
        slow(&format!("{double}$util.toJson($l)")),
        Err(RenderError::StepBudget { .. })
    ));
    assert!(matches!(
        slow(&format!("{double}#set($m = [$k])#if($m.contains($l))x#end")),
        Err(RenderError::StepBudget { .. })
    ));
    // Each add copies the list because $b still shares it.
    let t = "#set($l = [])#foreach($i in [1..1000])#foreach($j in [1..1000])#set($b = $l)#set($d = $l.add($j))#end#end";
    assert!(matches!(slow(t), Err(RenderError::StepBudget { .. })));
    let long = "y".repeat(140_000);
    let t = format!("#foreach($i in [1..1000])#foreach($j in [1..1000])#set($s = \"{long}$j\")#set($t = '{long}')#end#end");
    assert!(matches!(slow(&t), Err(RenderError::StepBudget { .. })));
    let t = "#set($big = [1..5000])#foreach($i in [1..1000])#foreach($j in [1..1000])#set($s = $big.toString())#end#end";
    assert!(matches!(slow(t), Err(RenderError::StepBudget { .. })));
    let t = "#set($big = [1..5000])#foreach($i in [1..1000])#foreach($j in [1..1000])#if($big == 'x')#end#end#end";
    assert!(matches!(slow(t), Err(RenderError::StepBudget { .. })));
    // A large payload read, serialised and parsed in loops.
    let body = format!("{{\"a\": \"{}\"}}", "z".repeat(100_000));
    for t in [
        "#foreach($i in [1..1000])#foreach($j in [1..1000])#set($s = $input.json('$'))#end#end",
        "#foreach($i in [1..1000])#foreach($j in [1..1000])#set($s = $util.parseJson($input.body))#end#end",
        "#foreach($i in [1..1000])#foreach($j in [1..1000])#set($s = $input.body.length())#end#end",
    ] {
        let start = std::time::Instant::now();
        let r = render_with(t, &body, &limits);
        assert!(start.elapsed() < std::time::Duration::from_secs(10), "{t}");
        assert!(matches!(r, Err(RenderError::StepBudget { .. })), "{t}");
    }
    let t =
        "#set($big = [1..100000])#foreach($i in [1..1000])#foreach($j in $big)#break#end#end ok";
    assert_eq!(slow(t).as_deref(), Ok(" ok"));
}

/// API Gateway's recorded behaviour (LocalStack snapshot `test_input_path_template_formatting`).
#[test]
fn undefined_as_empty() {
    let t = r##"#set($result = $input.path("$.nonExisting")){"body": $result, "nested": $result.nested, "isNull": #if( $result == $null )"true"#else"false"#end, "isEmptyString": #if( $result == "" )"true"#else"false"#end}"##;
    let t = Template::parse(t).expect("parses");
    let params = Params::default();
    let sv = BTreeMap::new();
    let ctx = |_: &str| None;
    let render = |body: &str| {
        let input = Input {
            body: body.as_bytes(),
            params: &params,
            context: &ctx,
            stage_variables: &sv,
            json: None,
        };
        t.render_with(&input, &Limits::default(), Undefined::Empty)
            .expect("renders")
    };
    assert_eq!(
        render(""),
        r#"{"body": , "nested": , "isNull": "true", "isEmptyString": "true"}"#
    );
    assert_eq!(
        render(r#"{"nonExisting": null}"#),
        r#"{"body": , "nested": , "isNull": "true", "isEmptyString": "true"}"#
    );
    assert_eq!(
        render(r#"{"nonExisting": []}"#),
        r#"{"body": [], "nested": , "isNull": "false", "isEmptyString": "false"}"#
    );
    // The same template under Velocity's rule.
    let input = Input {
        body: br#"{"nonExisting": []}"#,
        params: &params,
        context: &ctx,
        stage_variables: &sv,
        json: None,
    };
    assert_eq!(
        t.render(&input, &Limits::default()).expect("renders"),
        r#"{"body": [], "nested": $result.nested, "isNull": "false", "isEmptyString": "false"}"#
    );
}

#[test]
fn input_json_fast_path_matches_the_method() {
    // `$input.json('…')` in text is rendered by a precompiled path; through `#set` it goes the
    // general way. Both must print the same for every kind of path and body.
    let bodies = [
        r#"{"a": {"b": [1, "x\u00e9\"", null, {"c": 2.50}]}, "d": true}"#,
        "not json",
        "",
        "[1,2]",
    ];
    let paths = [
        "$",
        " $ ",
        "$.a",
        "$.a.b",
        "$.a.b[1]",
        "$.a.b[-1].c",
        "$.missing",
        "$..c",
        "$.a.b[*]",
        "$.a[?(@.x)]",
        "a.b",
        r#"$["a"]["b"][0]"#,
        "$.d",
    ];
    for body in bodies {
        for p in paths {
            let fast = rb(&format!("$input.json('{p}')"), body);
            let general = rb(&format!("#set($j = $input.json('{p}'))$j"), body);
            assert_eq!(fast, general, "path {p:?} on body {body:?}");
            if !p.contains('"') {
                // A double-quoted path with no reference in it is the same plain string.
                let quoted = rb(&format!("$input.json(\"{p}\")"), body);
                assert_eq!(quoted, general, "path \"{p}\" on body {body:?}");
            }
        }
    }
}
