//! AWS's documented mapping templates with their documented (or, where AWS shows none, hand
//! derived) output.

use std::collections::BTreeMap;

use apigw_vtl::{Input, Limits, Params, Template, Undefined};

struct Case<'a> {
    body: &'a str,
    params: Params,
    context: Vec<(&'a str, &'a str)>,
    stage: Vec<(&'a str, &'a str)>,
}

impl<'a> Case<'a> {
    fn body(body: &'a str) -> Self {
        Case {
            body,
            params: Params::default(),
            context: Vec::new(),
            stage: Vec::new(),
        }
    }

    fn render(&self, src: &str) -> String {
        self.render_as(src, Undefined::Literal)
    }

    fn render_as(&self, src: &str, undefined: Undefined) -> String {
        let ctx: BTreeMap<String, String> = self
            .context
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let lookup = move |k: &str| ctx.get(k).cloned();
        let sv: BTreeMap<String, String> = self
            .stage
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let input = Input {
            body: self.body.as_bytes(),
            params: &self.params,
            context: &lookup,
            stage_variables: &sv,
            json: None,
        };
        Template::parse(src)
            .expect("template parses")
            .render_with(&input, &Limits::default(), undefined)
            .expect("template renders")
    }
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// data-plane.md §8.2, first verbatim template (D:`models-mappings`), on a sample payload.
#[test]
fn bins_template() {
    let src = "#set($inputRoot = $input.path('$'))
{
  \"choices\": [
#foreach($elem in $inputRoot.bins)
    {
      \"kind\": \"$elem.type\",
      \"suggestedPrice\": \"$elem.price per $elem.unit\",
      \"available\": $elem.quantity
    }#if($foreach.hasNext),#end
            
#end
  ]
}";
    let body = r#"{"bins": [
        {"type": "apple", "price": 0.99, "unit": "lb", "quantity": 100},
        {"type": "pear", "price": 1.49, "unit": "kg", "quantity": 20}]}"#;
    let out = Case::body(body).render(src);
    let expected = "{
  \"choices\": [
    {
      \"kind\": \"apple\",
      \"suggestedPrice\": \"0.99 per lb\",
      \"available\": 100
    },            
    {
      \"kind\": \"pear\",
      \"suggestedPrice\": \"1.49 per kg\",
      \"available\": 20
    }            
  ]
}";
    assert_eq!(out, expected);
    let v: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    assert_eq!(v["choices"][1]["available"], 20);
}

/// data-plane.md §8.2, second verbatim template (D:`api-gateway-mapping-template-reference`).
#[test]
fn all_params_template() {
    let src = r#"#set($allParams = $input.params())
{
  "params" : {
    #foreach($type in $allParams.keySet())
    #set($params = $allParams.get($type))
    "$type" : {
      #foreach($paramName in $params.keySet())
      "$paramName" : "$util.escapeJavaScript($params.get($paramName))"
      #if($foreach.hasNext),#end
      #end
    }
    #if($foreach.hasNext),#end
    #end
  }
}"#;
    let mut case = Case::body("");
    case.params = Params {
        path: map(&[("petId", "7")]),
        querystring: map(&[("q", "it's"), ("z", "1")]),
        header: map(&[("Host", "example.com")]),
    };
    let out = case.render(src);
    // Velocity 1.7 keeps the indentation before `#foreach`, `#if` and `#end` and drops the
    // one before `#set` (worked out by hand from its lexer rules).
    let expected = r#"{
  "params" : {
        "path" : {
            "petId" : "7"
                }
    ,        "querystring" : {
            "q" : "it\'s"
      ,            "z" : "1"
                }
    ,        "header" : {
            "Host" : "example.com"
                }
          }
}"#;
    assert_eq!(out, expected);
    // Without a `'` to escape, the output is the documented JSON shape.
    case.params.querystring = map(&[("q", "a b"), ("z", "1")]);
    let v: serde_json::Value = serde_json::from_str(&case.render(src)).expect("valid JSON");
    assert_eq!(
        v,
        serde_json::json!({"params": {"path": {"petId": "7"}, "querystring": {"q": "a b", "z": "1"}, "header": {"Host": "example.com"}}})
    );
    assert_eq!(out, expected);
}

/// data-plane.md §8.2, third verbatim template: the `$connect` non-proxy example.
#[test]
fn connect_template() {
    let src = r#"{
    "connectionId": "$context.connectionId",
    "domain": "$context.domainName",
    "stage": "$context.stage",
    "params": "$input.params()"
}"#;
    let mut case = Case::body("");
    case.context = vec![
        ("connectionId", "L0SM9cOFvHcCIhw="),
        ("domainName", "abc.execute-api.us-east-1.amazonaws.com"),
        ("stage", "prod"),
    ];
    case.params.header = map(&[("Host", "abc"), ("Sec-WebSocket-Version", "13")]);
    case.params.querystring = map(&[("token", "x")]);
    let out = case.render(src);
    assert_eq!(
        out,
        r#"{
    "connectionId": "L0SM9cOFvHcCIhw=",
    "domain": "abc.execute-api.us-east-1.amazonaws.com",
    "stage": "prod",
    "params": "{path={}, querystring={token=x}, header={Host=abc, Sec-WebSocket-Version=13}}"
}"#
    );
}

/// §8.1 `$util.parseJson` example, with its documented output.
#[test]
fn parse_json_example() {
    let body = r#"{"errorMessage":"{\"key1\":\"var1\",\"key2\":{\"arr\":[1,2,3]}}"}"#;
    let src = "#set ($errorMessageObj = $util.parseJson($input.path('$.errorMessage')))
{
   \"errorMessageObjKey2ArrVal\" : $errorMessageObj.key2.arr[0]
}";
    // `#set (` with a space is a Velocity 1.7 `#set`, and it takes its line break.
    let out = Case::body(body).render(src);
    assert_eq!(out, "{\n   \"errorMessageObjKey2ArrVal\" : 1\n}");
    let short = Case::body(body).render(
        "#set ($errorMessageObj = $util.parseJson($input.path('$.errorMessage')))\n{ \"errorMessageObjKey2ArrVal\" : $errorMessageObj.key2.arr[0] }",
    );
    assert_eq!(short, "{ \"errorMessageObjKey2ArrVal\" : 1 }");
}

const PETS: &str = r#"{"pets": [{"id": 1, "type": "dog", "price": 249.99}, {"id": 2, "type": "cat", "price": 124.99}, {"id": 3, "type": "fish", "price": 0.99}], "things": {"a": 1, "b": [2], "c": "x"}}"#;

/// D:`api-gateway-mapping-template-reference`: `$input.json('$.pets')` is the JSON text of the
/// pets array; `.size()` / `.count()` of `$input.path` results give "3".
#[test]
fn input_json_and_path() {
    let case = Case::body(PETS);
    assert_eq!(
        case.render("$input.json('$.pets')"),
        r#"[{"id":1,"type":"dog","price":249.99},{"id":2,"type":"cat","price":124.99},{"id":3,"type":"fish","price":0.99}]"#
    );
    assert_eq!(case.render("\"$input.path('$.things').size()\""), "\"3\"");
    assert_eq!(case.render("$input.path('$.pets').count()"), "3");
    assert_eq!(case.render("$input.path('$.pets').size()"), "3");
    assert_eq!(case.render("$input.json('$.pets[0].type')"), "\"dog\"");
    assert_eq!(case.render("$input.path('$.pets[0].type')"), "dog");
    assert_eq!(case.render("$input.json('$.pets[*].id')"), "[1,2,3]");
    assert_eq!(case.render("$input.path('$.pets[-1].price')"), "0.99");
    assert_eq!(case.render("$input.json('$.things.b')"), "[2]");
    assert_eq!(
        case.render("{\"petId\": $input.json('$.pets[1].id')}"),
        "{\"petId\": 2}"
    );
}

/// The doc's example of iterating `$input.path` results (models-mappings "PetStore" output
/// template shape).
#[test]
fn petstore_output_template() {
    let src = "#set($inputRoot = $input.path('$'))
[
#foreach($elem in $inputRoot.pets)
  {
    \"description\" : \"Item $elem.id is a $elem.type.\",
    \"askingPrice\" : $elem.price
  }#if($foreach.hasNext),#end

#end
]";
    let out = Case::body(PETS).render(src);
    let v: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    assert_eq!(v[0]["description"], "Item 1 is a dog.");
    assert_eq!(v[2]["askingPrice"], 0.99);
    assert_eq!(
        out,
        "[\n  {\n    \"description\" : \"Item 1 is a dog.\",\n    \"askingPrice\" : 249.99\n  },\n  {\n    \"description\" : \"Item 2 is a cat.\",\n    \"askingPrice\" : 124.99\n  },\n  {\n    \"description\" : \"Item 3 is a fish.\",\n    \"askingPrice\" : 0.99\n  }\n]"
    );
}

/// The documented workaround for `'` in `escapeJavaScript` output.
#[test]
fn escape_javascript_replace_all() {
    let case = Case::body(r#"{"msg": "it's \"quoted\" / done"}"#);
    assert_eq!(
        case.render("$util.escapeJavaScript($input.path('$.msg'))"),
        r#"it\'s \"quoted\" \/ done"#
    );
    assert_eq!(
        case.render(
            r#"{"m": "$util.escapeJavaScript($input.path('$.msg')).replaceAll("\\'","'")"}"#
        ),
        r#"{"m": "it's \"quoted\" \/ done"}"#
    );
}

/// The SQS recipe: `##` joins lines, `urlEncode` is form encoding.
#[test]
fn sqs_send_message_recipe() {
    let src = "Action=SendMessage##
&QueueUrl=$util.urlEncode('https://sqs.us-east-1.amazonaws.com/123456789012/queue')##
&MessageBody=$util.urlEncode($input.body)##
";
    let out = Case::body("{\"a\": \"b c\"}").render(src);
    assert_eq!(
        out,
        "Action=SendMessage&QueueUrl=https%3A%2F%2Fsqs.us-east-1.amazonaws.com%2F123456789012%2Fqueue&MessageBody=%7B%22a%22%3A+%22b+c%22%7D"
    );
}

/// D:`apigateway-websocket-api-integration-requests`: the MOCK template.
#[test]
fn mock_status_template() {
    assert_eq!(
        Case::body("hi").render("{\"statusCode\":200}"),
        "{\"statusCode\":200}"
    );
}

/// Stage variables in their three documented notations, and a context variable with dots.
#[test]
fn stage_variables_and_context() {
    let mut case = Case::body("{}");
    case.stage = vec![("url", "example.com"), ("alias", "v1")];
    case.context = vec![
        ("identity.sourceIp", "192.0.2.1"),
        ("authorizer.principalId", "me"),
    ];
    assert_eq!(
        case.render("$stageVariables.url|$stageVariables['alias']|${stageVariables['url']}|$context.identity.sourceIp|$context.authorizer.principalId|$context.identity.userAgent|$!context.identity.userAgent."),
        "example.com|v1|example.com|192.0.2.1|me|$context.identity.userAgent|."
    );
}

/// D:`api-gateway-mapping-template-reference` `$input.params` examples.
#[test]
fn input_params_by_name() {
    let mut case = Case::body("{}");
    case.params = Params {
        path: map(&[("id", "p")]),
        querystring: map(&[("id", "q"), ("limit", "10")]),
        header: map(&[("Authorization", "token")]),
    };
    assert_eq!(
        case.render("\"$input.params('id')\" \"$input.params('limit')\" \"$input.params('Authorization')\" \"$input.params('missing')\""),
        "\"p\" \"10\" \"token\" \"\""
    );
    assert_eq!(
        case.render(
            "#set($l = $input.params('missing'))#if($l && $l.length() != 0)yes#{else}no#end"
        ),
        "no"
    );
    assert_eq!(
        case.render(
            "$input.params().querystring.limit $input.params().header.get('Authorization')"
        ),
        "10 token"
    );
}

/// The `$context.requestOverride`-style pattern of the docs: `#set` into a map and JSON out.
#[test]
fn util_to_json_and_maps() {
    let case = Case::body(r#"{"name": "n", "n": 3}"#);
    assert_eq!(
        case.render("#set($m = {\"a\": 1, \"b\": [true, null, 1.5]})$util.toJson($m)"),
        r#"{"a":1,"b":[true,null,1.5]}"#
    );
    assert_eq!(
        case.render("#set($body = $input.path('$'))#set($ignored = $body.put('extra', 'x'))$util.toJson($body)"),
        r#"{"name":"n","n":3,"extra":"x"}"#
    );
}

/// A widely shared "pass everything" template (gist "API Gateway (AWS): Mapping Body
/// Template"): headers, path and query parameters re-emitted as JSON.
#[test]
fn pass_everything_template() {
    let src = r#"{
"body" : $input.json('$'),
"headers": {
#foreach($header in $input.params().header.keySet())
"$header": "$util.escapeJavaScript($input.params().header.get($header))" #if($foreach.hasNext),#end
#end
},
"method": "$context.httpMethod",
"params": {
#foreach($param in $input.params().path.keySet())
"$param": "$util.escapeJavaScript($input.params().path.get($param))" #if($foreach.hasNext),#end
#end
},
"query": {
#foreach($queryParam in $input.params().querystring.keySet())
"$queryParam": "$util.escapeJavaScript($input.params().querystring.get($queryParam))" #if($foreach.hasNext),#end
#end
}
}"#;
    let mut case = Case::body(r#"{"a": [1, "x"]}"#);
    case.params.header = map(&[("Accept", "*/*"), ("X-Q", "say \"hi\"")]);
    case.params.querystring = map(&[("q", "1")]);
    let out = case.render(src);
    assert_eq!(
        out,
        r#"{
"body" : {"a":[1,"x"]},
"headers": {
"Accept": "*\/*" ,"X-Q": "say \"hi\"" },
"method": "$context.httpMethod",
"params": {
},
"query": {
"q": "1" }
}"#
    );
    let v: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    assert_eq!(v["headers"]["X-Q"], "say \"hi\"");
    assert_eq!(v["body"]["a"][1], "x");
}

/// Outputs LocalStack recorded from API Gateway (REST API, AWS-validated snapshots
/// `test_input_path_template_formatting` and `test_input_body_formatting`, 2025). The
/// undefined cases are rendered with `Undefined::Empty`, the rule those recordings show.
#[test]
fn recorded_api_gateway_outputs() {
    let path = "#set($result = $input.path(\"$.json\"))$result";
    let nested = "#set($result = $input.path(\"$.json\"))$result.nested";
    let list = "#set($result = $input.path(\"$.json\"))$result[0]";
    let to_string = "#set($result = $input.path(\"$.json\"))$result.toString()";
    let cases = [
        (path, r#"{"json": {"foo": "bar"}}"#, "{foo=bar}"),
        (path, r#"{"json": [{"foo": "bar"}]}"#, r#"[{"foo":"bar"}]"#),
        (
            nested,
            r#"{"json": {"nested": {"foo": "bar"}}}"#,
            "{foo=bar}",
        ),
        (
            nested,
            r#"{"json": {"nested": [{"foo": "bar"}]}}"#,
            r#"[{"foo":"bar"}]"#,
        ),
        (list, r#"{"json": [{"foo": "bar"}]}"#, "{foo=bar}"),
        (
            list,
            r#"{"json": [[{"foo": "bar"}]]}"#,
            r#"[{"foo":"bar"}]"#,
        ),
        (
            path,
            r#"{"json": {"foo": [{"nested": "bar"}]}}"#,
            r#"{foo=[{"nested":"bar"}]}"#,
        ),
        (
            path,
            r#"{"json": {"bigger": "dict", "to": "test", "with": "separators"}}"#,
            "{bigger=dict, to=test, with=separators}",
        ),
        (to_string, r#"{"json": {"foo": "bar"}}"#, "{foo=bar}"),
        (
            to_string,
            r#"{"json": {"list": [{"foo": "bar"}]}}"#,
            r#"{list=[{"foo":"bar"}]}"#,
        ),
    ];
    for (src, body, want) in cases {
        assert_eq!(Case::body(body).render(src), want, "{src} on {body}");
    }
    // The recordings post the JSON as the whole body; `$.json` above stands for that.
    let body_cases = [
        ("#set($result = $input.body)$result", "", "{}"),
        ("#set($result = $input.body)$result", "some raw data", "some raw data"),
        ("Action=SendMessage&MessageBody=$input.body", "", "Action=SendMessage&MessageBody={}"),
        ("#set($result = $input.body.testAccess)$result", r#"{"some": "value"}"#, ""),
        (
            "EncodedBody=$util.urlEncode($input.body)&EncodedBodyAccess=$util.urlEncode($input.body.testAccess)",
            r#"{"some": "value"}"#,
            "EncodedBody=%7B%22some%22%3A+%22value%22%7D&EncodedBodyAccess=",
        ),
        (
            "EncodedBody=$util.urlEncode($input.body)&EncodedBodyAccess=$util.urlEncode($input.body.testAccess)",
            "",
            "EncodedBody=%7B%7D&EncodedBodyAccess=",
        ),
    ];
    for (src, body, want) in body_cases {
        assert_eq!(
            Case::body(body).render_as(src, Undefined::Empty),
            want,
            "{src} on {body:?}"
        );
    }
}

/// A common recipe rebuilding the query string (StackOverflow 31329958), and the
/// "send all parameters" template of an API Gateway team member's blog (ryangreen.ca, 2015),
/// whose documented output orders the maps path, querystring, header.
#[test]
fn query_string_rebuild_and_all_parameters() {
    let mut case = Case::body("{}");
    case.params.querystring = map(&[("a b", "1&2"), ("c", "é")]);
    case.params.path = map(&[("pathParamName1", "pathParamValue1")]);
    case.params.header = map(&[("headerParamName1", "headerParamValue1")]);
    let src = r##"{
"querystring" : "#foreach($key in $input.params().querystring.keySet())#if($foreach.index > 0)&#end$util.urlEncode($key)=$util.urlEncode($input.params().querystring.get($key))#end",
"body" : $input.json('$')
}"##;
    assert_eq!(
        case.render(src),
        "{\n\"querystring\" : \"a+b=1%262&c=%C3%A9\",\n\"body\" : {}\n}"
    );
    let src = r#"#set($allParams = $input.params())
{
    "body-json" : "$input.json('$')",
    "params" : {
    #foreach($type in $allParams.keySet())
        #set($params = $allParams.get($type))
        "$type" : {
            #foreach($paramName in $params.keySet())
                "$paramName" : "$util.escapeJavaScript($params.get($paramName))"
                #if($foreach.hasNext),#end
            #end
        }
        #if($foreach.hasNext),#end
    #end
    }
}"#;
    case.params.querystring = map(&[("queryParamName1", "queryParamValue1")]);
    let v: serde_json::Value = serde_json::from_str(&case.render(src)).expect("valid JSON");
    assert_eq!(
        v,
        serde_json::json!({"body-json": "{}", "params": {
            "path": {"pathParamName1": "pathParamValue1"},
            "querystring": {"queryParamName1": "queryParamValue1"},
            "header": {"headerParamName1": "headerParamValue1"}}})
    );
    let keys: Vec<&String> = v["params"].as_object().expect("map").keys().collect();
    assert_eq!(keys, ["path", "querystring", "header"]);
}
