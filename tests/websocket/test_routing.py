"""§7.2: route selection."""

import json

from conftest import CONNECTION_ID, add_echo, add_reply, assert_silent, recv_json, whoami


def test_action_selects_the_route(make_api):
    api = make_api()
    add_reply(api, "join", '{"route": "join"}')
    add_reply(api, "leave", '{"route": "leave"}')
    api.deploy()
    with api.connect() as ws:
        ws.send(json.dumps({"service": "chat", "action": "join", "data": {"room": "r1"}}))
        assert recv_json(ws) == {"route": "join"}
        ws.send(json.dumps({"action": "leave"}))
        assert recv_json(ws) == {"route": "leave"}


def test_multiple_variables_with_static_text(make_api):
    api = make_api(route_selection="${request.body.a}/${request.body.b}")
    add_reply(api, "x/y", '{"route": "x/y"}')
    add_reply(api, "x/", '{"route": "x/"}')
    add_reply(api, "$default", '{"route": "$context.routeKey"}')
    api.deploy()
    with api.connect() as ws:
        ws.send(json.dumps({"a": "x", "b": "y"}))
        assert recv_json(ws) == {"route": "x/y"}
        # A path that is not found resolves as "".
        ws.send(json.dumps({"a": "x"}))
        assert recv_json(ws) == {"route": "x/"}
        ws.send(json.dumps({"a": "y", "b": "x"}))
        assert recv_json(ws) == {"route": "$default"}


def test_nested_path(make_api):
    api = make_api(route_selection="$request.body.meta.kind")
    add_reply(api, "deep", '{"route": "deep"}')
    api.deploy()
    with api.connect() as ws:
        ws.send(json.dumps({"meta": {"kind": "deep"}}))
        assert recv_json(ws) == {"route": "deep"}


def test_numbers_and_booleans_are_stringified(make_api):
    api = make_api(route_selection="$request.body.k")
    add_reply(api, "1", '{"route": "one"}')
    add_reply(api, "true", '{"route": "true"}')
    add_reply(api, "2.5", '{"route": "two and a half"}')
    api.deploy()
    with api.connect() as ws:
        ws.send('{"k": 1}')
        assert recv_json(ws) == {"route": "one"}
        ws.send('{"k": true}')
        assert recv_json(ws) == {"route": "true"}
        ws.send('{"k": 2.5}')
        assert recv_json(ws) == {"route": "two and a half"}
        ws.send('{"k": "1"}')
        assert recv_json(ws) == {"route": "one"}


def test_non_json_goes_to_default(make_api):
    api = make_api()
    add_reply(api, "echo", '{"route": "echo"}')
    add_reply(api, "$default", '{"route": "$context.routeKey", "body": "$util.escapeJavaScript($input.body)"}')
    api.deploy()
    with api.connect() as ws:
        ws.send("this is not json")
        got = recv_json(ws)
        assert got["route"] == "$default"
        ws.send('{"action": "echo"}')
        assert recv_json(ws) == {"route": "echo"}
        # JSON without the key: no match, so $default.
        ws.send('{"other": 1}')
        assert recv_json(ws)["route"] == "$default"
        # A JSON array has no `action`.
        ws.send('[1, 2]')
        assert recv_json(ws)["route"] == "$default"


def test_connect_and_disconnect_are_never_selected_by_messages(make_api):
    api = make_api()
    api.route("$connect", api.mock())
    add_reply(api, "$default", '{"route": "$context.routeKey"}')
    api.deploy()
    with api.connect() as ws:
        ws.send('{"action": "$connect"}')
        assert recv_json(ws) == {"route": "$default"}
        ws.send('{"action": "$disconnect"}')
        assert recv_json(ws) == {"route": "$default"}


def test_no_match_and_no_default_is_forbidden_and_stays_open(make_api):
    api = make_api()
    add_echo(api)
    api.deploy()
    with api.connect() as ws:
        ws.send('{"action": "nothing-here"}')
        frame = recv_json(ws)
        assert set(frame) == {"message", "connectionId", "requestId"}
        assert frame["message"] == "Forbidden"
        assert CONNECTION_ID.match(frame["connectionId"])
        assert CONNECTION_ID.match(frame["requestId"])
        ws.send("not json either")
        second = recv_json(ws)
        assert second["message"] == "Forbidden"
        assert second["connectionId"] == frame["connectionId"]
        assert second["requestId"] != frame["requestId"]
        # Still open and serving.
        ws.send(json.dumps({"action": "echo", "data": "still here"}))
        reply = recv_json(ws)
        assert reply == {"echoed": "still here", "connectionId": frame["connectionId"]}


def test_forbidden_frame_is_sent_on_one_way_apis_too(make_api):
    api = make_api()
    api.route("oneway", api.mock())
    api.deploy()
    with api.connect() as ws:
        ws.send('{"action": "oneway"}')
        assert_silent(ws, 0.8)
        ws.send('{"action": "missing"}')
        assert recv_json(ws)["message"] == "Forbidden"


def test_fragmented_messages_are_reassembled(make_api):
    api = make_api()
    add_echo(api)
    api.deploy()
    with api.connect() as ws:
        ws.send(iter(['{"action": ', '"echo", "data": ', '"frag', 'mented"}']))
        assert recv_json(ws)["echoed"] == "fragmented"
        # 100 KB in 25 KB fragments: within the 128 KB message limit.
        big = "q" * (100 * 1024)
        chunks = [big[i:i + 25 * 1024] for i in range(0, len(big), 25 * 1024)]
        ws.send(iter(['{"action": "echo", "data": "', *chunks, '"}']))
        assert recv_json(ws)["echoed"] == big


def test_utf8_split_across_fragments(make_api):
    api = make_api()
    add_echo(api)
    api.deploy()
    text = json.dumps({"action": "echo", "data": "héllo wörld ✓"}, ensure_ascii=False).encode()
    # Split inside a multi-byte character: fragments as bytes of one text message.
    cut = text.index("✓".encode()) + 1
    with api.connect() as ws:
        ws.send(iter([text[:cut], text[cut:]]), text=True)
        assert recv_json(ws)["echoed"] == "héllo wörld ✓"


def test_ping_is_answered(make_api):
    api = make_api()
    add_echo(api)
    api.deploy()
    with api.connect() as ws:
        pong = ws.ping(b"abc")
        assert pong.wait(5)
        ws.send(json.dumps({"action": "echo", "data": 2}))
        assert recv_json(ws)["echoed"] == 2


def test_message_of_exactly_128kb_passes(make_api):
    api = make_api()
    add_echo(api)
    api.deploy()
    head, tail = '{"action": "echo", "data": "', '"}'
    data = "m" * (128 * 1024 - len(head) - len(tail))
    message = head + data + tail
    assert len(message) == 128 * 1024
    chunks = [message[i:i + 32 * 1024] for i in range(0, len(message), 32 * 1024)]
    with api.connect() as ws:
        ws.send(iter(chunks))
        assert recv_json(ws)["echoed"] == data


def test_arrays_and_objects_are_stringified(make_api):
    """§7.2: "if your JSONPath expression returns an array of two elements, that will be
    presented as the string "[item1, item2]"."""
    api = make_api()
    add_reply(api, "[a, b]", '{"route": "array"}')
    add_reply(api, "$default", '{"route": "$context.routeKey"}')
    api.deploy()
    with api.connect() as ws:
        ws.send('{"action": ["a", "b"]}')
        assert recv_json(ws) == {"route": "array"}
        ws.send('{"action": null}')
        assert recv_json(ws) == {"route": "$default"}


def test_routes_without_integrations(make_api):
    """A $connect route with no target accepts; a message route with none answers the
    Internal server error frame."""
    api = make_api()
    api.route("$connect")
    api.route("$disconnect")
    api.route("empty", two_way=True)
    add_echo(api)
    api.deploy()
    with api.connect() as ws:
        ws.send('{"action": "empty"}')
        assert recv_json(ws)["message"] == "Internal server error"
        ws.send(json.dumps({"action": "echo", "data": 3}))
        assert recv_json(ws)["echoed"] == 3
