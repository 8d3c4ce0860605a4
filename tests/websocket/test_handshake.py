"""§7.1, §7.3, §7.4: addressing, the handshake and `$connect`."""

import json
import time

import pytest
from websockets.exceptions import InvalidStatus

from conftest import (
    CONNECTION_ID,
    add_echo,
    add_whoami,
    recv_json,
    whoami,
)


def refused_status(api, **kw):
    """Connects, expecting the upgrade to be refused; returns (status, body)."""
    with pytest.raises(InvalidStatus) as info:
        api.connect(**kw)
    response = info.value.response
    return response.status_code, response.body


@pytest.mark.parametrize("host_form", [False, True], ids=["path-form", "host-form"])
def test_both_addressing_forms(make_api, server, host_form):
    api = make_api()
    add_echo(api)
    add_whoami(api)
    api.deploy("prod")
    with api.connect(host_form=host_form) as ws:
        ws.send(json.dumps({"action": "echo", "data": {"n": 1}}))
        reply = recv_json(ws)
        assert reply["echoed"] == {"n": 1}
        assert CONNECTION_ID.match(reply["connectionId"]), reply
        me = whoami(ws)
        assert me["connectionId"] == reply["connectionId"]
        assert me["stage"] == "prod"
        expected_host = (
            f"{api.id}.execute-api.localhost:{server.port}" if host_form else f"127.0.0.1:{server.port}"
        )
        assert me["domainName"] == expected_host


@pytest.mark.parametrize("host_form", [False, True], ids=["path-form", "host-form"])
def test_default_stage_served_at_the_root(make_api, host_form):
    api = make_api()
    add_whoami(api)
    api.deploy("$default")
    assert api.url().endswith(api.id) or api.url(host_form=True).endswith("/")
    with api.connect(host_form=host_form) as ws:
        me = whoami(ws)
        assert me["stage"] == "$default"
        assert CONNECTION_ID.match(me["connectionId"])


def test_named_stage_wins_over_default_stage(make_api):
    api = make_api()
    add_whoami(api)
    api.deploy("$default")
    api.v2.create_stage(ApiId=api.id, StageName="beta", AutoDeploy=True)
    with api.connect("beta") as ws:
        assert whoami(ws)["stage"] == "beta"
    with api.connect("$default") as ws:
        assert whoami(ws)["stage"] == "$default"


def test_no_connect_route_accepts(make_api):
    api = make_api()
    add_echo(api)
    api.deploy()
    with api.connect() as ws:
        assert ws.response.status_code == 101
        ws.send(json.dumps({"action": "echo", "data": "hi"}))
        assert recv_json(ws)["echoed"] == "hi"


def test_unknown_stage_and_api_are_refused(make_api, server):
    api = make_api()
    add_echo(api)
    api.deploy()
    assert refused_status(api, stage="nope")[0] == 404


def connect_api(make_api, **integration):
    """$connect on the `connect` function, $disconnect on `record`, plus whoami."""
    api = make_api()
    api.route("$connect", api.lambda_proxy("connect", **integration))
    api.route("$disconnect", api.lambda_proxy("record"))
    add_whoami(api)
    return api.deploy()


def test_connect_lambda_returns_subprotocol(make_api):
    api = connect_api(make_api)
    with api.connect(query="protocol=chat2", subprotocols=["chat1", "chat2"]) as ws:
        assert ws.response.status_code == 101
        assert ws.response.headers["Sec-WebSocket-Protocol"] == "chat2"
        assert ws.subprotocol == "chat2"
        assert CONNECTION_ID.match(whoami(ws)["connectionId"])


@pytest.mark.parametrize("status", [400, 401, 403])
def test_connect_lambda_non_2xx_refuses_with_that_status(make_api, server, status):
    api = connect_api(make_api)
    got, _ = refused_status(api, query=f"status={status}")
    assert got == status
    # The connection never existed: no $disconnect.
    time.sleep(0.5)
    events = [e for e in server.recorded("DISCONNECT") if e["requestContext"]["apiId"] == api.id]
    assert events == [], events


def test_connect_lambda_raising_gives_502(make_api):
    api = connect_api(make_api)
    status, body = refused_status(api, query="fail=1")
    assert status == 502
    assert json.loads(body) == {"message": "Internal server error"}


def test_connect_lambda_timeout_gives_504(make_api):
    api = connect_api(make_api, TimeoutInMillis=500)
    started = time.monotonic()
    status, body = refused_status(api, query="sleep=5")
    assert status == 504
    assert json.loads(body) == {"message": "Endpoint request timed out"}
    assert time.monotonic() - started < 4


def test_connect_mock(make_api):
    api = make_api()
    template = "#if($input.params('deny') == 'yes'){\"statusCode\": 403}#else{\"statusCode\": 200}#end"
    api.route("$connect", api.mock(template))
    add_whoami(api)
    api.deploy()
    with api.connect(query="deny=no") as ws:
        assert CONNECTION_ID.match(whoami(ws)["connectionId"])
    assert refused_status(api, query="deny=yes")[0] == 403


def test_connect_mock_with_integration_responses(make_api):
    api = make_api()
    i = api.mock("{\"statusCode\": $input.params('code')}")
    api.response(i, "/2\\d\\d/")
    api.response(i, "$default")
    api.route("$connect", i)
    add_whoami(api)
    api.deploy()
    with api.connect(query="code=200") as ws:
        whoami(ws)
    assert refused_status(api, query="code=401")[0] == 401


def test_connect_http_proxy(make_api, upstream):
    tag = upstream.tag()
    api = make_api()
    api.route("$connect", api.http_proxy(f"{upstream.url}/{tag}/connect", method="GET"))
    add_whoami(api)
    api.deploy()
    with api.connect(query="a=1&b=two", additional_headers={"X-Custom-Header": "custom"}) as ws:
        whoami(ws)
    (req,) = upstream.wait(tag)
    assert req["method"] == "GET"
    assert req["path"] == f"/{tag}/connect"
    assert req["query"] == {"a": ["1"], "b": ["two"]}
    assert req["headers"]["x-custom-header"] == "custom"
    # The handshake's own headers stay out.
    assert "sec-websocket-key" not in req["headers"]
    assert "upgrade" not in req["headers"]


def test_connect_http_proxy_status_decides(make_api, upstream):
    tag = upstream.tag()
    api = make_api()
    api.route("$connect", api.http_proxy(f"{upstream.url}/{tag}/status-403", method="GET"))
    add_whoami(api)
    api.deploy()
    assert refused_status(api)[0] == 403
    upstream.wait(tag)


def test_connect_http_proxy_unreachable_gives_502(make_api):
    api = make_api()
    api.route("$connect", api.http_proxy("http://127.0.0.1:9/nothing", method="GET"))
    add_whoami(api)
    api.deploy()
    assert refused_status(api)[0] == 502


@pytest.mark.parametrize("host_form", [False, True], ids=["path-form", "host-form"])
def test_connect_event_fields(make_api, server, host_form):
    api = connect_api(make_api)
    before_ms = int(time.time() * 1000)
    with api.connect(
        host_form=host_form,
        query="x=1&x=2&y=why",
        additional_headers={"X-Mixed-Case": "Yes"},
    ) as ws:
        cid = whoami(ws)["connectionId"]
        key = ws.request.headers["Sec-WebSocket-Key"]
        user_agent = ws.request.headers["User-Agent"]
    (event,) = server.wait_recorded("CONNECT", cid)
    # Header names keep the client's casing (§7.4).
    assert event["headers"]["Sec-WebSocket-Key"] == key
    assert event["headers"]["X-Mixed-Case"] == "Yes"
    assert event["multiValueHeaders"]["Sec-WebSocket-Key"] == [key]
    assert event["headers"]["Sec-WebSocket-Version"] == "13"
    host = f"{api.id}.execute-api.localhost:{server.port}" if host_form else f"127.0.0.1:{server.port}"
    assert event["headers"]["Host"] == host
    assert event["queryStringParameters"] == {"x": "2", "y": "why"}
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"], "y": ["why"]}
    assert event["isBase64Encoded"] is False
    assert "body" not in event
    rc = event["requestContext"]
    assert rc["eventType"] == "CONNECT"
    assert rc["routeKey"] == "$connect"
    assert rc["connectionId"] == cid
    assert CONNECTION_ID.match(rc["connectionId"])
    assert CONNECTION_ID.match(rc["requestId"])
    assert rc["messageDirection"] == "IN"
    assert before_ms - 1000 <= rc["connectedAt"] <= before_ms + 10_000
    assert isinstance(rc["requestTimeEpoch"], int)
    assert rc["domainName"] == host
    assert rc["stage"] == "test"
    assert rc["apiId"] == api.id
    assert rc["identity"]["sourceIp"] == "127.0.0.1"
    assert rc["identity"]["userAgent"] == user_agent
    assert "messageId" not in rc
    assert "disconnectStatusCode" not in rc


def test_connect_event_without_query_has_no_query_maps(make_api, server):
    api = connect_api(make_api)
    with api.connect() as ws:
        cid = whoami(ws)["connectionId"]
    (event,) = server.wait_recorded("CONNECT", cid)
    assert "queryStringParameters" not in event
    assert "multiValueQueryStringParameters" not in event


def test_connection_ids_are_unique_and_well_formed(make_api):
    api = make_api()
    add_whoami(api)
    api.deploy()
    ids = set()
    for _ in range(20):
        with api.connect() as ws:
            ids.add(whoami(ws)["connectionId"])
    assert len(ids) == 20
    assert all(CONNECTION_ID.match(i) for i in ids), ids


def test_connect_lambda_headers_reach_the_101(make_api):
    api = connect_api(make_api)
    with api.connect(query="header=X-From-Connect:hello") as ws:
        assert ws.response.headers["X-From-Connect"] == "hello"
        whoami(ws)


def test_connect_http_non_proxy_status_decides(make_api, upstream):
    tag = upstream.tag()
    api = make_api()
    i = api.http(f"{upstream.url}/{tag}/status-401", method="GET")
    api.response(i, "/2\\d\\d/")
    api.response(i, "$default")
    api.route("$connect", i)
    add_whoami(api)
    api.deploy()
    assert refused_status(api)[0] == 401
    upstream.wait(tag)


def test_connect_no_integration_response_matches_is_500(make_api, upstream):
    """§7.7 [choice]: no key matches and no $default → the handshake is refused with 500."""
    tag = upstream.tag()
    api = make_api()
    i = api.http(f"{upstream.url}/{tag}/fine", method="GET")
    api.response(i, "/4\\d\\d/")
    api.route("$connect", i)
    add_whoami(api)
    api.deploy()
    status, body = refused_status(api)
    assert status == 500
    assert json.loads(body) == {"message": "Internal server error"}


def test_connect_lambda_custom(make_api, server):
    api = make_api()
    i = api.lambda_custom(
        "custom",
        RequestTemplates={"$default": '{"item": "$input.params(\'item\')", "cid": "$context.connectionId"}'},
        TemplateSelectionExpression="\\$default",
    )
    api.response(i, "$default")
    api.route("$connect", i)
    add_whoami(api)
    api.deploy()
    with api.connect(query="item=apple") as ws:
        cid = whoami(ws)["connectionId"]
    events = server.wait_recorded("CUSTOM")
    assert {"item": "apple", "cid": cid} in events
    # A function error refuses the handshake with 502 (§7.1 [choice]).
    assert refused_status(api, query="item=boom")[0] == 502


def test_no_extension_is_negotiated(make_api, server):
    api = connect_api(make_api)
    with api.connect(compression="deflate") as ws:
        assert "Sec-WebSocket-Extensions" not in ws.response.headers
        offered = ws.request.headers["Sec-WebSocket-Extensions"]
        cid = whoami(ws)["connectionId"]
        ws.send(json.dumps({"action": "whoami", "pad": "p" * 5000}))
        assert recv_json(ws)["connectionId"] == cid
    (event,) = server.wait_recorded("CONNECT", cid)
    # The client's offer still reaches $connect.
    assert event["headers"]["Sec-WebSocket-Extensions"] == offered


def test_plain_http_requests_to_a_websocket_stage(make_api, server):
    import urllib.error
    import urllib.request

    api = make_api()
    add_whoami(api)
    api.deploy()
    url = f"{server.url}/_aws/execute-api/{api.id}/test"
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(url, timeout=10)
    assert info.value.code == 426
    # An upgrade anywhere but the stage's root is not a WebSocket endpoint.
    assert refused_status(api, stage="test/deeper")[0] == 404


def test_disabled_execute_api_endpoint(make_api):
    api = make_api(DisableExecuteApiEndpoint=True)
    add_whoami(api)
    api.deploy()
    assert refused_status(api)[0] == 403


def test_connect_event_repeated_headers_and_encoded_query(make_api, server):
    """§7.4 [choice]: a repeated name lists every value in multiValue*, the last one in the
    single-value map; query values are percent-decoded."""
    api = connect_api(make_api)
    with api.connect(
        query="name=a%20b&sym=%26%3D&e=",
        additional_headers=[("X-Dup", "first"), ("X-Dup", "second")],
    ) as ws:
        cid = whoami(ws)["connectionId"]
    (event,) = server.wait_recorded("CONNECT", cid)
    assert event["headers"]["X-Dup"] == "second"
    assert event["multiValueHeaders"]["X-Dup"] == ["first", "second"]
    assert event["queryStringParameters"] == {"name": "a b", "sym": "&=", "e": ""}
    assert event["multiValueQueryStringParameters"]["name"] == ["a b"]
