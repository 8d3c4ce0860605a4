"""§7.4–§7.8: integrations of message routes, templates, integration responses, passthrough,
content handling, request parameters, timeouts and `$context` in templates."""

import base64
import json
import re
import time

import pytest

from conftest import (
    CONNECTION_ID,
    add_reply,
    add_whoami,
    assert_silent,
    recv_json,
    whoami,
)


def error_frame(ws, message, cid=None):
    frame = recv_json(ws)
    assert set(frame) == {"message", "connectionId", "requestId"}, frame
    assert frame["message"] == message
    assert CONNECTION_ID.match(frame["requestId"])
    if cid is not None:
        assert frame["connectionId"] == cid
    return frame


# --------------------------------------------------------------------------------------------
# AWS_PROXY


def test_lambda_proxy_message_event_and_two_way_reply(make_api, server):
    api = make_api()
    api.route("proxy", api.lambda_proxy("message"), two_way=True)
    add_whoami(api)
    api.deploy()
    with api.connect() as ws:
        cid = whoami(ws)["connectionId"]
        sent = '{"action": "proxy",\r\n\t"data": [1, 2]}'
        ws.send(sent)
        reply = recv_json(ws)
    assert reply["got"] == sent
    assert reply["connectionId"] == cid
    assert reply["routeKey"] == "proxy"
    assert CONNECTION_ID.match(reply["messageId"])
    (event,) = server.wait_recorded("MESSAGE", cid)
    assert event["body"] == sent
    assert event["isBase64Encoded"] is False
    assert "headers" not in event and "multiValueHeaders" not in event
    assert "queryStringParameters" not in event
    rc = event["requestContext"]
    assert rc["eventType"] == "MESSAGE"
    assert rc["routeKey"] == "proxy"
    assert rc["messageId"] == reply["messageId"]
    assert rc["connectionId"] == cid
    assert rc["messageDirection"] == "IN"
    assert rc["stage"] == "test"
    assert rc["apiId"] == api.id
    assert rc["domainName"] == f"127.0.0.1:{server.port}"
    assert rc["identity"]["sourceIp"] == "127.0.0.1"
    assert CONNECTION_ID.match(rc["requestId"])
    assert rc["requestId"] != rc["messageId"]
    assert isinstance(rc["connectedAt"], int)
    assert "disconnectStatusCode" not in rc
    assert re.match(r"^\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000$", rc["requestTime"]), rc
    assert abs(rc["requestTimeEpoch"] - time.time() * 1000) < 60_000
    assert rc["extendedRequestId"] == rc["requestId"]


def test_message_ids_differ_per_message(make_api):
    api = make_api()
    api.route("proxy", api.lambda_proxy("message"), two_way=True)
    api.deploy()
    with api.connect() as ws:
        ids = set()
        for i in range(5):
            ws.send(json.dumps({"action": "proxy", "i": i}))
            ids.add(recv_json(ws)["messageId"])
    assert len(ids) == 5


def test_lambda_proxy_one_way_sends_nothing_but_errors(make_api, server):
    api = make_api()
    api.route("oneway", api.lambda_proxy("message"))
    add_whoami(api)
    api.deploy()
    with api.connect() as ws:
        cid = whoami(ws)["connectionId"]
        ws.send('{"action": "oneway", "n": 1}')
        server.wait_recorded("MESSAGE", cid)
        assert_silent(ws, 1.0)
        # A failing function still produces the error frame on a one-way route (§7.5).
        ws.send('{"action": "oneway", "please": "fail"}')
        error_frame(ws, "Internal server error", cid)
        # And the connection stays usable.
        assert whoami(ws)["connectionId"] == cid


def test_lambda_proxy_two_way_failure_frame(make_api):
    api = make_api()
    api.route("proxy", api.lambda_proxy("message"), two_way=True)
    api.deploy()
    with api.connect() as ws:
        ws.send('{"action": "proxy", "x": "fail"}')
        error_frame(ws, "Internal server error")


def test_lambda_proxy_timeout_frame(make_api):
    api = make_api()
    api.route("proxy", api.lambda_proxy("message", TimeoutInMillis=500), two_way=True)
    api.deploy()
    with api.connect() as ws:
        started = time.monotonic()
        ws.send('{"action": "proxy", "x": "sleep"}')
        error_frame(ws, "Internal server error")
        assert time.monotonic() - started < 4


def test_lambda_proxy_convert_to_binary(make_api, server):
    """CONVERT_TO_BINARY on a Lambda proxy route: the event carries the message as base64,
    flagged isBase64Encoded."""
    api = make_api(route_selection="\\$default")
    api.route("$default", api.lambda_proxy("message", ContentHandlingStrategy="CONVERT_TO_BINARY"), two_way=True)
    api.deploy()
    raw = bytes(range(256))
    with api.connect() as ws:
        ws.send(base64.b64encode(raw).decode())
        reply = recv_json(ws)
    assert reply["isBase64Encoded"] is True
    assert base64.b64decode(reply["got"]) == raw


# --------------------------------------------------------------------------------------------
# AWS (Lambda custom integration)


def test_lambda_custom_with_templates_and_error_regex(make_api, server):
    api = make_api()
    i = api.lambda_custom(
        "custom",
        RequestTemplates={"$default": '{"item": $input.json("$.item"), "cid": "$context.connectionId"}'},
        TemplateSelectionExpression="\\$default",
    )
    api.response(
        i,
        "/.*not found.*/",
        {"$default": '{"missing": true, "why": $input.json("$.errorMessage")}'},
        TemplateSelectionExpression="\\$default",
    )
    api.response(
        i,
        "$default",
        {"$default": '{"default": $input.json("$")}'},
        TemplateSelectionExpression="\\$default",
    )
    api.route("get", i, two_way=True)
    add_whoami(api)
    api.deploy()
    with api.connect() as ws:
        cid = whoami(ws)["connectionId"]
        ws.send('{"action": "get", "item": "apple"}')
        assert recv_json(ws) == {"default": {"found": "apple", "seen": {"item": "apple", "cid": cid}}}
        ws.send('{"action": "get", "item": "missing"}')
        assert recv_json(ws) == {"missing": True, "why": "item missing not found"}
        # An error whose message matches no regex: $default's template.
        ws.send('{"action": "get", "item": "boom"}')
        got = recv_json(ws)
        assert got["default"]["errorMessage"] == "kaboom"
        assert got["default"]["errorType"] == "RuntimeError"
    events = server.wait_recorded("CUSTOM", count=3)
    mine = [e for e in events if e.get("cid") == cid]
    # The function got the rendered template, not a proxy event.
    assert {"item": "apple", "cid": cid} in mine


def test_lambda_custom_one_way_error_without_default_response(make_api):
    """No integration response matches and there is no $default: Internal server error."""
    api = make_api()
    i = api.lambda_custom("custom", RequestTemplates={"$default": '{"item": $input.json("$.item")}'},
                          TemplateSelectionExpression="\\$default")
    api.response(i, "/.*not found.*/", {"$default": '{"missing": true}'},
                 TemplateSelectionExpression="\\$default")
    api.route("get", i)
    api.deploy()
    with api.connect() as ws:
        ws.send('{"action": "get", "item": "apple"}')
        error_frame(ws, "Internal server error")


# --------------------------------------------------------------------------------------------
# HTTP (non-proxy) and HTTP_PROXY


def http_api(make_api, upstream, tag):
    api = make_api()
    responses = {
        "/2\\d\\d/": '{"ok": $input.json("$.upstream"), "sent": $input.json("$.body")}',
        "/4\\d\\d/": '{"client_error": $input.json("$.upstream")}',
        "$default": '{"other": $input.json("$.upstream")}',
    }
    for route, path in [("ok", "ok"), ("bad", "status-404"), ("err", "status-503")]:
        i = api.http(
            f"{upstream.url}/{tag}/{path}",
            RequestTemplates={"text/plain": "name=$input.path('$.name')&cid=$context.connectionId"},
            TemplateSelectionExpression="text/plain",
        )
        for key, template in responses.items():
            api.response(i, key, {"$default": template}, TemplateSelectionExpression="\\$default")
        api.route(route, i, two_way=True)
    add_whoami(api)
    return api.deploy()


def test_http_integration_templates_and_status_selection(make_api, upstream):
    tag = upstream.tag()
    api = http_api(make_api, upstream, tag)
    with api.connect() as ws:
        cid = whoami(ws)["connectionId"]
        ws.send('{"action": "ok", "name": "bob"}')
        assert recv_json(ws) == {"ok": 200, "sent": f"name=bob&cid={cid}"}
        ws.send('{"action": "bad", "name": "x"}')
        assert recv_json(ws) == {"client_error": 404}
        ws.send('{"action": "err", "name": "x"}')
        assert recv_json(ws) == {"other": 503}
    first = upstream.got(tag)[0]
    assert first["method"] == "POST"
    assert first["body"] == f"name=bob&cid={cid}".encode()
    assert first["headers"]["content-type"] == "text/plain"
    assert first["path"] == f"/{tag}/ok"
    # No client header reaches the backend.
    assert "sec-websocket-key" not in first["headers"]


def test_http_integration_default_template_is_sent_as_json(make_api, upstream):
    tag = upstream.tag()
    api = make_api()
    i = api.http(f"{upstream.url}/{tag}/x", method="PUT",
                 RequestTemplates={"$default": '{"wrapped": $input.body}'})
    api.response(i, "$default")
    api.route("put", i, two_way=True)
    api.deploy()
    with api.connect() as ws:
        ws.send('{"action": "put", "v": 1}')
        reply = recv_json(ws)
    assert reply["upstream"] == 200
    (req,) = upstream.wait(tag)
    assert req["method"] == "PUT"
    assert json.loads(req["body"]) == {"wrapped": {"action": "put", "v": 1}}
    assert req["headers"]["content-type"] == "application/json"


def test_http_proxy_message_passthrough(make_api, upstream):
    tag = upstream.tag()
    api = make_api()
    api.route("pp", api.http_proxy(f"{upstream.url}/{tag}/raw", method="PUT"), two_way=True)
    api.deploy()
    message = '{"action":"pp",   "data": "  spaced \u00fc\u2713 "}\n'
    with api.connect() as ws:
        ws.send(message)
        # The backend's body comes back unmodified.
        assert ws.recv(timeout=10) == message
    (req,) = upstream.wait(tag)
    assert req["method"] == "PUT"
    assert req["body"] == message.encode()
    assert req["headers"]["content-type"] == "application/json"


def test_http_proxy_non_json_message(make_api, upstream):
    tag = upstream.tag()
    api = make_api()
    api.route("$default", api.http_proxy(f"{upstream.url}/{tag}/raw"), two_way=True)
    api.deploy()
    with api.connect() as ws:
        ws.send("plain words")
        assert ws.recv(timeout=10) == "plain words"
    (req,) = upstream.wait(tag)
    assert req["body"] == b"plain words"
    assert req["headers"]["content-type"].startswith("text/plain")


def test_http_proxy_unreachable_frame(make_api):
    api = make_api()
    api.route("pp", api.http_proxy("http://127.0.0.1:9/x"), two_way=True)
    api.deploy()
    with api.connect() as ws:
        ws.send('{"action": "pp"}')
        error_frame(ws, "Internal server error")


def test_http_timeout_frame(make_api, upstream):
    tag = upstream.tag()
    api = make_api()
    i = api.http(f"{upstream.url}/{tag}/sleep-5", TimeoutInMillis=300)
    api.response(i, "$default")
    api.route("slow", i, two_way=True)
    api.route("slowproxy", api.http_proxy(f"{upstream.url}/{tag}/sleep-5", TimeoutInMillis=300), two_way=True)
    api.deploy()
    with api.connect() as ws:
        for action in ("slow", "slowproxy"):
            started = time.monotonic()
            ws.send(json.dumps({"action": action}))
            error_frame(ws, "Internal server error")
            assert time.monotonic() - started < 4


def test_request_parameters_reach_the_upstream(make_api, upstream):
    tag = upstream.tag()
    api = make_api()
    params = {
        "integration.request.header.connectionId": "context.connectionId",
        "integration.request.querystring.q": "route.request.body.x",
        "integration.request.header.X-Static": "'v'",
    }
    api.route("proxied", api.http_proxy(f"{upstream.url}/{tag}/proxied", RequestParameters=params),
              two_way=True)
    i = api.http(f"{upstream.url}/{tag}/plain", RequestParameters=params)
    api.response(i, "$default")
    api.route("plain", i, two_way=True)
    add_whoami(api)
    api.deploy()
    with api.connect() as ws:
        cid = whoami(ws)["connectionId"]
        ws.send('{"action": "proxied", "x": "a b&c"}')
        recv_json(ws)
        ws.send('{"action": "plain", "x": "second"}')
        recv_json(ws)
    reqs = upstream.wait(tag, 2)
    by_path = {r["path"]: r for r in reqs}
    proxied, plain = by_path[f"/{tag}/proxied"], by_path[f"/{tag}/plain"]
    for req, x in [(proxied, "a b&c"), (plain, "second")]:
        assert req["headers"]["connectionid"] == cid
        assert req["headers"]["x-static"] == "v"
        assert req["query"] == {"q": [x]}


def test_request_parameters_on_connect(make_api, upstream):
    tag = upstream.tag()
    api = make_api()
    params = {
        "integration.request.header.X-Conn": "context.connectionId",
        "integration.request.querystring.token": "route.request.querystring.token",
        "integration.request.header.X-Client": "route.request.header.X-Client",
    }
    i = api.http(f"{upstream.url}/{tag}/connect", method="GET", RequestParameters=params,
                 RequestTemplates={"$default": '{"statusCode": 200}'})
    api.response(i, "$default")
    api.route("$connect", i)
    add_whoami(api)
    api.deploy()
    with api.connect(
        query="token=abc&other=1", additional_headers={"X-Client": "py", "X-Unmapped": "no"}
    ) as ws:
        cid = whoami(ws)["connectionId"]
        user_agent = ws.request.headers["User-Agent"]
    (req,) = upstream.wait(tag)
    assert req["headers"]["x-conn"] == cid
    assert req["headers"]["x-client"] == "py"
    assert req["query"] == {"token": ["abc"]}
    # Non-proxy: only mapped parameters; the upgrade request's headers stay out (§7.6).
    assert "x-unmapped" not in req["headers"]
    assert "sec-websocket-key" not in req["headers"]
    assert req["headers"].get("user-agent") != user_agent


# --------------------------------------------------------------------------------------------
# MOCK, template selection, passthrough


def test_mock_two_way_and_one_way(make_api):
    api = make_api()
    add_reply(api, "two", '{"two": "$context.routeKey"}')
    i = api.mock()
    api.response(i, "$default", {"$default": '{"one": true}'}, TemplateSelectionExpression="\\$default")
    api.route("one", i)
    api.deploy()
    with api.connect() as ws:
        ws.send('{"action": "one"}')
        assert_silent(ws, 0.8)
        ws.send('{"action": "two"}')
        assert recv_json(ws) == {"two": "two"}


def test_mock_without_status_code_is_an_error(make_api):
    api = make_api()
    i = api.mock('{"nothing": 1}')
    api.response(i, "$default")
    api.route("m", i, two_way=True)
    api.deploy()
    with api.connect() as ws:
        ws.send('{"action": "m"}')
        error_frame(ws, "Internal server error")


def test_template_selection_expression(make_api):
    api = make_api()
    i = api.mock(
        RequestTemplates={
            "a": '{"statusCode": 200, "which": "a"}',
            "b": '{"statusCode": 200, "which": "b"}',
            "$default": '{"statusCode": 200, "which": "default"}',
        },
        TemplateSelectionExpression="${request.body.kind}",
    )
    api.response(i, "$default")
    api.route("t", i, two_way=True)
    api.deploy()
    with api.connect() as ws:
        for kind, which in [("a", "a"), ("b", "b"), ("zzz", "default"), (None, "default")]:
            msg = {"action": "t"}
            if kind:
                msg["kind"] = kind
            ws.send(json.dumps(msg))
            assert recv_json(ws) == {"statusCode": 200, "which": which}


def test_application_json_template_is_the_last_fallback(make_api):
    """The documented MOCK example: one template keyed application/json, no expression."""
    api = make_api()
    i = api.integration("MOCK", RequestTemplates={"application/json": '{"statusCode": 200}'},
                        PassthroughBehavior="WHEN_NO_MATCH")
    api.response(i, "$default", {"$default": '{"ok": 1}'}, TemplateSelectionExpression="\\$default")
    api.route("m", i, two_way=True)
    api.deploy()
    with api.connect() as ws:
        ws.send('{"action": "m"}')
        assert recv_json(ws) == {"ok": 1}


def test_response_template_selection(make_api):
    api = make_api()
    i = api.mock('{"statusCode": 200}')
    api.response(
        i,
        "$default",
        {"x": '{"picked": "x"}', "$default": '{"picked": "default"}'},
        TemplateSelectionExpression="${request.body.out}",
    )
    api.route("r", i, two_way=True)
    api.deploy()
    with api.connect() as ws:
        ws.send('{"action": "r", "out": "x"}')
        assert recv_json(ws) == {"picked": "x"}
        ws.send('{"action": "r", "out": "y"}')
        assert recv_json(ws) == {"picked": "default"}


def passthrough_api(make_api, upstream, tag, behavior, templates):
    api = make_api()
    kw = {"PassthroughBehavior": behavior, "TemplateSelectionExpression": "${request.body.kind}"}
    if templates:
        kw["RequestTemplates"] = {"mapped": '{"mapped": true}'}
    i = api.http(f"{upstream.url}/{tag}/raw", **kw)
    api.response(i, "$default")
    api.route("p", i, two_way=True)
    add_whoami(api)
    return api.deploy()


@pytest.mark.parametrize(
    "behavior,templates,outcome",
    [
        ("WHEN_NO_MATCH", True, "pass"),
        ("WHEN_NO_MATCH", False, "pass"),
        ("WHEN_NO_TEMPLATES", True, "reject"),
        ("WHEN_NO_TEMPLATES", False, "pass"),
        ("NEVER", True, "reject"),
        ("NEVER", False, "reject"),
    ],
)
def test_passthrough_behavior(make_api, upstream, behavior, templates, outcome):
    tag = upstream.tag()
    api = passthrough_api(make_api, upstream, tag, behavior, templates)
    message = '{"action": "p", "kind": "unmapped", "n": 1}'
    with api.connect() as ws:
        cid = whoami(ws)["connectionId"]
        ws.send(message)
        if outcome == "pass":
            assert ws.recv(timeout=10) == message
            (req,) = upstream.wait(tag)
            assert req["body"] == message.encode()
        else:
            error_frame(ws, "Unsupported Media Type", cid)
            time.sleep(0.3)
            assert upstream.got(tag) == []
            # Still open.
            assert whoami(ws)["connectionId"] == cid
        if templates:
            # A message whose key has a template is transformed whatever the behaviour.
            ws.send('{"action": "p", "kind": "mapped"}')
            assert recv_json(ws) == {"mapped": True}


def test_passthrough_rejection_on_connect_is_415(make_api):
    from websockets.exceptions import InvalidStatus

    api = make_api()
    api.route("$connect", api.integration("MOCK", PassthroughBehavior="NEVER"))
    add_whoami(api)
    api.deploy()
    with pytest.raises(InvalidStatus) as info:
        api.connect()
    assert info.value.response.status_code == 415


# --------------------------------------------------------------------------------------------
# contentHandlingStrategy


def test_convert_to_binary_on_a_proxy_route(make_api, upstream):
    tag = upstream.tag()
    api = make_api(route_selection="\\$default")
    api.route(
        "$default",
        api.http_proxy(f"{upstream.url}/{tag}/raw", ContentHandlingStrategy="CONVERT_TO_BINARY"),
        two_way=True,
    )
    api.deploy()
    raw = b"\x00\x01\xfe\xffbinary\x80"
    with api.connect() as ws:
        ws.send(base64.b64encode(raw).decode())
        # The backend echoes the bytes; not UTF-8, so a binary frame (§7.5 [choice]).
        assert ws.recv(timeout=10) == raw
        # Text that is not base64: the integration is not called.
        ws.send("not base64 !!")
        error_frame(ws, "Internal server error")
    (req,) = upstream.wait(tag)
    assert req["body"] == raw


@pytest.mark.parametrize("to_text", [True, False], ids=["CONVERT_TO_TEXT", "unset"])
def test_convert_to_text_on_an_integration_response(make_api, upstream, to_text):
    tag = upstream.tag()
    api = make_api(route_selection="\\$default")
    i = api.http(f"{upstream.url}/{tag}/raw", ContentHandlingStrategy="CONVERT_TO_BINARY")
    kw = {"ContentHandlingStrategy": "CONVERT_TO_TEXT"} if to_text else {}
    api.response(i, "$default", **kw)
    api.route("$default", i, two_way=True)
    api.deploy()
    raw = bytes([0xff, 0x00, 0x10, 0x80, 0x7f])
    encoded = base64.b64encode(raw).decode()
    with api.connect() as ws:
        ws.send(encoded)
        got = ws.recv(timeout=10)
    (req,) = upstream.wait(tag)
    assert req["body"] == raw
    if to_text:
        assert got == encoded
    else:
        assert got == raw


# --------------------------------------------------------------------------------------------
# $context and $stageVariables in templates


def test_context_and_stage_variables_in_templates(make_api, server):
    api = make_api()
    fields = ["connectionId", "messageId", "eventType", "routeKey", "stage", "requestId",
              "domainName", "apiId", "extendedRequestId"]
    template = "{" + ", ".join(f'"{f}": "$context.{f}"' for f in fields)
    template += ', "color": "$stageVariables.color", "size": "${stageVariables.size}"'
    template += ', "sourceIp": "$context.identity.sourceIp", "connectedAt": $context.connectedAt}'
    add_reply(api, "ctx", template)
    add_whoami(api)
    api.deploy("live", StageVariables={"color": "blue", "size": "xl"})
    with api.connect() as ws:
        cid = whoami(ws)["connectionId"]
        ws.send('{"action": "ctx"}')
        a = recv_json(ws)
        ws.send('{"action": "ctx"}')
        b = recv_json(ws)
    assert a["connectionId"] == cid
    assert CONNECTION_ID.match(a["messageId"])
    assert a["messageId"] != b["messageId"]
    assert a["requestId"] != b["requestId"]
    assert CONNECTION_ID.match(a["requestId"])
    assert a["eventType"] == "MESSAGE"
    assert a["routeKey"] == "ctx"
    assert a["stage"] == "live"
    assert a["domainName"] == f"127.0.0.1:{server.port}"
    assert a["apiId"] == api.id
    assert a["color"] == "blue"
    assert a["size"] == "xl"
    assert a["sourceIp"] == "127.0.0.1"
    assert isinstance(a["connectedAt"], int) and a["connectedAt"] == b["connectedAt"]


def test_stage_variables_in_integration_uri(make_api, upstream):
    tag = upstream.tag()
    api = make_api()
    api.route("go", api.http_proxy(f"{upstream.url}/{tag}/${{stageVariables.where}}/raw"), two_way=True)
    api.deploy(StageVariables={"where": "there"})
    with api.connect() as ws:
        ws.send('{"action": "go"}')
        assert ws.recv(timeout=10) == '{"action": "go"}'
    (req,) = upstream.wait(tag)
    assert req["path"] == f"/{tag}/there/raw"


def test_lambda_proxy_event_has_stage_variables(make_api, server):
    api = make_api()
    api.route("proxy", api.lambda_proxy("message"))
    add_whoami(api)
    api.deploy(StageVariables={"k": "v"})
    with api.connect() as ws:
        cid = whoami(ws)["connectionId"]
        ws.send('{"action": "proxy"}')
        (event,) = server.wait_recorded("MESSAGE", cid)
    assert event["stageVariables"] == {"k": "v"}


# --------------------------------------------------------------------------------------------
# Many messages on one connection, redeployment


def test_more_messages_than_in_flight_slots_are_all_answered(make_api, upstream):
    tag = upstream.tag()
    api = make_api()
    api.route("slow", api.http_proxy(f"{upstream.url}/{tag}/sleep-0.2/raw"), two_way=True)
    api.deploy()
    count = 40
    with api.connect() as ws:
        for n in range(count):
            ws.send(json.dumps({"action": "slow", "n": n}))
        got = sorted(json.loads(ws.recv(timeout=30))["n"] for _ in range(count))
    assert got == list(range(count))


def test_redeployment_applies_to_open_connections(make_api):
    api = make_api()
    i = api.mock()
    api.response(i, "$default", {"$default": '{"version": 1}'}, TemplateSelectionExpression="\\$default")
    api.route("v", i, two_way=True)
    api.deploy()
    with api.connect() as ws:
        ws.send('{"action": "v"}')
        assert recv_json(ws) == {"version": 1}
        rid = api.v2.get_integration_responses(ApiId=api.id, IntegrationId=i)["Items"][0]["IntegrationResponseId"]
        api.v2.update_integration_response(
            ApiId=api.id, IntegrationId=i, IntegrationResponseId=rid,
            ResponseTemplates={"$default": '{"version": 2}'},
        )
        ws.send('{"action": "v"}')
        assert recv_json(ws) == {"version": 2}


def test_stage_variable_in_the_function_uri(make_api, server):
    api = make_api()
    api.route("fn", api.lambda_proxy("${stageVariables.fn}"), two_way=True)
    api.deploy(StageVariables={"fn": "message"})
    with api.connect() as ws:
        ws.send('{"action": "fn"}')
        assert recv_json(ws)["routeKey"] == "fn"


def test_lambda_proxy_reply_shapes(make_api):
    """§7.5: the function's `body` is the frame, base64-decoded when isBase64Encoded (then a
    binary frame, not being UTF-8); a bare string answer is the body itself ([choice])."""
    api = make_api()
    api.route("proxy", api.lambda_proxy("message"), two_way=True)
    api.deploy()
    with api.connect() as ws:
        ws.send('{"action": "proxy", "x": "binary-answer"}')
        assert ws.recv(timeout=10) == b"\xff\xfe\xfd\x00"
        ws.send('{"action": "proxy", "x": "plain-answer"}')
        assert ws.recv(timeout=10) == "just text"


def test_path_parameter_mapping(make_api, upstream):
    tag = upstream.tag()
    api = make_api()
    i = api.http(
        f"{upstream.url}/{tag}/items/{{id}}",
        RequestParameters={"integration.request.path.id": "route.request.body.id"},
    )
    api.response(i, "$default")
    api.route("item", i, two_way=True)
    api.deploy()
    with api.connect() as ws:
        ws.send('{"action": "item", "id": "a b/c"}')
        assert recv_json(ws)["upstream"] == 200
    (req,) = upstream.wait(tag)
    # The value is percent-encoded into its segment.
    assert req["path"] == f"/{tag}/items/a%20b%2Fc"


def test_lambda_custom_success_goes_to_default_without_trying_regexes(make_api):
    """§7.7: a successful invocation has no errorMessage: `$default` is selected directly,
    even when a `/regex/` key would match the empty string."""
    api = make_api()
    i = api.lambda_custom("custom", RequestTemplates={"$default": '{"item": "x"}'},
                          TemplateSelectionExpression="\\$default")
    api.response(i, "/.*/", {"$default": '{"picked": "regex"}'}, TemplateSelectionExpression="\\$default")
    api.response(i, "$default", {"$default": '{"picked": "default"}'}, TemplateSelectionExpression="\\$default")
    api.route("c", i, two_way=True)
    api.deploy()
    with api.connect() as ws:
        ws.send('{"action": "c"}')
        assert recv_json(ws) == {"picked": "default"}


def test_integration_response_keys_are_tried_in_key_order(make_api, upstream):
    """§7.7 [inferred]: first match wins, keys sorted for determinism; full matches only."""
    tag = upstream.tag()
    api = make_api()
    i = api.http(f"{upstream.url}/{tag}/status-201")
    api.response(i, "/2\\d\\d/", {"$default": '{"picked": "2dd"}'}, TemplateSelectionExpression="\\$default")
    api.response(i, "/20\\d/", {"$default": '{"picked": "20d"}'}, TemplateSelectionExpression="\\$default")
    api.response(i, "/2/", {"$default": '{"picked": "2"}'}, TemplateSelectionExpression="\\$default")
    api.route("k", i, two_way=True)
    api.deploy()
    with api.connect() as ws:
        ws.send('{"action": "k"}')
        assert recv_json(ws) == {"picked": "20d"}


def test_convert_to_binary_on_an_integration_response(make_api, upstream):
    tag = upstream.tag()
    api = make_api(route_selection="\\$default")
    i = api.http(f"{upstream.url}/{tag}/raw")
    api.response(i, "$default", ContentHandlingStrategy="CONVERT_TO_BINARY")
    api.route("$default", i, two_way=True)
    api.deploy()
    raw = b"\xfe\xed\xfa\xce"
    with api.connect() as ws:
        ws.send(base64.b64encode(raw).decode())
        assert ws.recv(timeout=10) == raw
        # Not base64: the Internal server error frame.
        ws.send("%%% not base64 %%%")
        error_frame(ws, "Internal server error")
