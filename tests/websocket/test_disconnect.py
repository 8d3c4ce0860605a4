"""§7.3: every way a connection ends fires `$disconnect` exactly once, with the close code and
reason of the table (and the client sees that close frame)."""

import json
import time

import pytest
from websockets.exceptions import ConnectionClosed

from conftest import (
    WsApi,
    add_echo,
    add_whoami,
    wait_for,
    whoami,
)


def disconnect_api(api):
    api.route("$disconnect", api.lambda_proxy("record"))
    add_whoami(api)
    add_echo(api)
    return api.deploy()


def the_disconnect(server, cid):
    """The one DISCONNECT event of `cid`; waits for it, then checks no second one follows."""
    server.wait_recorded("DISCONNECT", cid)
    time.sleep(0.7)
    events = server.recorded("DISCONNECT", cid)
    assert len(events) == 1, events
    event = events[0]
    rc = event["requestContext"]
    assert rc["eventType"] == "DISCONNECT"
    assert rc["routeKey"] == "$disconnect"
    assert "messageId" not in rc
    assert "body" not in event
    return rc


def closed_by_server(ws, timeout=10):
    """Waits for the server's close frame; returns (code, reason)."""
    with pytest.raises(ConnectionClosed) as info:
        while True:
            ws.recv(timeout=timeout)
    rcvd = info.value.rcvd
    assert rcvd is not None, "the server closed without a close frame"
    return rcvd.code, rcvd.reason


def test_client_close_with_code_and_reason(make_api, server):
    api = disconnect_api(make_api())
    ws = api.connect()
    cid = whoami(ws)["connectionId"]
    ws.close(4000, "bye now")
    rc = the_disconnect(server, cid)
    assert rc["disconnectStatusCode"] == 4000
    assert rc["disconnectReason"] == "bye now"
    assert rc["connectionId"] == cid


def test_client_close_without_code(make_api, server):
    api = disconnect_api(make_api())
    ws = api.connect()
    cid = whoami(ws)["connectionId"]
    # A close frame with no payload (websockets' public close() always sends a code).
    with ws.send_context():
        ws.protocol.send_close()
    ws.wait_closed(5)
    rc = the_disconnect(server, cid)
    assert rc["disconnectStatusCode"] == 1005
    assert rc["disconnectReason"] == "Client-side close frame status not set"


def test_client_drops_tcp(make_api, server):
    api = disconnect_api(make_api())
    ws = api.connect()
    cid = whoami(ws)["connectionId"]
    ws.socket.close()
    rc = the_disconnect(server, cid)
    assert rc["disconnectStatusCode"] == 1006


@pytest.mark.parametrize("host_form", [False, True], ids=["path-form", "host-form"])
def test_delete_connection(make_api, server, host_form):
    api = disconnect_api(make_api())
    ws = api.connect()
    cid = whoami(ws)["connectionId"]
    api.management(host_form=host_form).delete_connection(ConnectionId=cid)
    assert closed_by_server(ws) == (1000, "Connection Closed Normally")
    rc = the_disconnect(server, cid)
    assert rc["disconnectStatusCode"] == 1000
    assert rc["disconnectReason"] == "Connection Closed Normally"


def test_idle_timeout(start_server):
    s = start_server("--websocket-idle-timeout", "1")
    api = disconnect_api(WsApi(s))
    # websockets' keepalive pings would count as activity: off.
    ws = api.connect(ping_interval=None)
    cid = whoami(ws)["connectionId"]
    started = time.monotonic()
    assert closed_by_server(ws) == (1001, "Going away")
    assert time.monotonic() - started < 5
    rc = the_disconnect(s, cid)
    assert rc["disconnectStatusCode"] == 1001
    assert rc["disconnectReason"] == "Going away"


def test_idle_timeout_is_reset_by_messages(start_server):
    s = start_server("--websocket-idle-timeout", "1")
    api = disconnect_api(WsApi(s))
    ws = api.connect(ping_interval=None)
    for _ in range(6):
        time.sleep(0.5)
        whoami(ws)
    ws.close()


def test_max_duration(start_server):
    s = start_server("--websocket-max-duration", "2")
    api = disconnect_api(WsApi(s))
    ws = api.connect()
    cid = whoami(ws)["connectionId"]
    started = time.monotonic()
    # Busy all along: the idle timeout is not what closes it.
    with pytest.raises(ConnectionClosed) as info:
        while time.monotonic() - started < 10:
            ws.send(json.dumps({"action": "echo", "data": 1}))
            ws.recv(timeout=5)
            time.sleep(0.2)
    assert info.value.rcvd is not None
    assert (info.value.rcvd.code, info.value.rcvd.reason) == (1001, "Going away")
    assert time.monotonic() - started < 6
    rc = the_disconnect(s, cid)
    assert rc["disconnectStatusCode"] == 1001


def test_sigterm_closes_connections_and_runs_disconnect(start_server):
    s = start_server()
    api = disconnect_api(WsApi(s))
    sockets = [api.connect() for _ in range(3)]
    ids = [whoami(ws)["connectionId"] for ws in sockets]
    assert s.terminate() == 0
    for ws in sockets:
        assert closed_by_server(ws) == (1001, "Going away")
    # The $disconnect function ran before the server exited: its records are there now.
    for cid in ids:
        events = s.recorded("DISCONNECT", cid)
        assert len(events) == 1, (cid, events)
        assert events[0]["requestContext"]["disconnectStatusCode"] == 1001


def test_frame_over_32kb_closes_1009(make_api, server):
    api = disconnect_api(make_api())
    ws = api.connect()
    cid = whoami(ws)["connectionId"]
    ws.send(json.dumps({"action": "echo", "data": "x" * (32 * 1024)}))
    assert closed_by_server(ws) == (1009, "Message too big")
    rc = the_disconnect(server, cid)
    assert rc["disconnectStatusCode"] == 1009
    assert rc["disconnectReason"] == "Message too big"


def test_frame_of_exactly_32kb_passes(make_api, server):
    api = disconnect_api(make_api())
    ws = api.connect()
    whoami(ws)
    prefix = '{"action": "echo", "data": "'
    data = "y" * (32 * 1024 - len(prefix) - 2)
    message = prefix + data + '"}'
    assert len(message) == 32 * 1024
    ws.send(message)
    assert json.loads(ws.recv(timeout=10))["echoed"] == data
    ws.close()


def test_message_over_128kb_closes_1009(make_api, server):
    api = disconnect_api(make_api())
    ws = api.connect()
    cid = whoami(ws)["connectionId"]
    chunk = "z" * (30 * 1024)
    # Five 30 KB fragments: every frame is within 32 KB, the message is 150 KB. The server
    # may close before the last fragment is sent: then the send itself sees the close.
    try:
        ws.send(iter(['{"action": "echo", "data": "'] + [chunk] * 5 + ['"}']))
    except ConnectionClosed as closed:
        assert closed.rcvd is not None, "the server closed without a close frame"
        assert (closed.rcvd.code, closed.rcvd.reason) == (1009, "Message too big")
    else:
        assert closed_by_server(ws) == (1009, "Message too big")
    rc = the_disconnect(server, cid)
    assert rc["disconnectStatusCode"] == 1009


def test_binary_frame_closes_1003(make_api, server):
    api = disconnect_api(make_api())
    ws = api.connect()
    cid = whoami(ws)["connectionId"]
    ws.send(b'{"action": "echo"}')
    assert closed_by_server(ws) == (1003, "Unsupported data")
    rc = the_disconnect(server, cid)
    assert rc["disconnectStatusCode"] == 1003
    assert rc["disconnectReason"] == "Unsupported data"


def test_disconnect_event_fields(make_api, server):
    api = disconnect_api(make_api())
    ws = api.connect()
    cid = whoami(ws)["connectionId"]
    user_agent = ws.request.headers["User-Agent"]
    ws.close()
    rc = the_disconnect(server, cid)
    (event,) = server.recorded("DISCONNECT", cid)
    assert event["headers"]["Host"] == f"127.0.0.1:{server.port}"
    assert event["multiValueHeaders"]["Host"] == [f"127.0.0.1:{server.port}"]
    assert rc["disconnectStatusCode"] == 1000
    assert rc["stage"] == "test"
    assert rc["apiId"] == api.id
    assert rc["domainName"] == f"127.0.0.1:{server.port}"
    assert rc["identity"]["sourceIp"] == "127.0.0.1"
    assert rc["identity"]["userAgent"] == user_agent
    assert isinstance(rc["connectedAt"], int)


def test_disconnect_without_route_is_fine(make_api):
    api = make_api()
    add_whoami(api)
    api.deploy()
    for _ in range(3):
        ws = api.connect()
        whoami(ws)
        ws.close()
    # The API still serves.
    with api.connect() as ws:
        whoami(ws)


def test_many_closes_each_fire_once(make_api, server):
    api = disconnect_api(make_api())
    ids = []
    for i in range(10):
        ws = api.connect()
        ids.append(whoami(ws)["connectionId"])
        if i % 2:
            ws.close(1000 + (i % 3), f"r{i}")
        else:
            api.management().delete_connection(ConnectionId=ids[-1])
            closed_by_server(ws)
    wait_for(
        lambda: all(server.recorded("DISCONNECT", c) for c in ids),
        timeout=20,
        what="all disconnects",
    )
    time.sleep(0.7)
    for c in ids:
        assert len(server.recorded("DISCONNECT", c)) == 1, c


def test_disconnect_through_an_http_upstream(make_api, upstream):
    """$disconnect on HTTP_PROXY: only the mapped parameters are sent (§7.6 [choice])."""
    tag = upstream.tag()
    api = make_api()
    api.route(
        "$disconnect",
        api.http_proxy(
            f"{upstream.url}/{tag}/gone",
            method="DELETE",
            RequestParameters={
                "integration.request.header.X-Connection": "context.connectionId",
                "integration.request.querystring.code": "context.disconnectStatusCode",
            },
        ),
    )
    add_whoami(api)
    api.deploy()
    ws = api.connect()
    cid = whoami(ws)["connectionId"]
    ws.close(4001, "done")
    (req,) = upstream.wait(tag)
    assert req["method"] == "DELETE"
    assert req["headers"]["x-connection"] == cid
    assert req["query"] == {"code": ["4001"]}
    assert req["body"] == b""
    time.sleep(0.7)
    assert len(upstream.got(tag)) == 1


def test_invalid_utf8_text_closes_1007(make_api, server):
    api = disconnect_api(make_api())
    ws = api.connect()
    cid = whoami(ws)["connectionId"]
    ws.send(b'{"action": "echo", "data": "\xff"}', text=True)
    code, _ = closed_by_server(ws)
    assert code == 1007
    rc = the_disconnect(server, cid)
    assert rc["disconnectStatusCode"] == 1007


def test_disconnect_runs_after_in_flight_messages_are_accepted(make_api, server):
    """A client that sends and closes at once: the message still reaches its function, and
    $disconnect fires once."""
    api = make_api()
    api.route("$disconnect", api.lambda_proxy("record"))
    api.route("proxy", api.lambda_proxy("message"))
    add_whoami(api)
    api.deploy()
    ws = api.connect()
    cid = whoami(ws)["connectionId"]
    ws.send('{"action": "proxy", "last": true}')
    ws.close()
    server.wait_recorded("MESSAGE", cid)
    the_disconnect(server, cid)
