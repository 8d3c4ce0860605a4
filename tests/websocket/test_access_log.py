"""Access logs of WebSocket stages: one line per CONNECT, MESSAGE and DISCONNECT event."""

import json
import re

from conftest import CONNECTION_ID, add_echo, add_whoami, wait_for, whoami

FORMAT = "$context.connectionId $context.eventType $context.routeKey $context.status $context.messageId"


def log_lines(server, arn):
    name = re.sub(r"[^A-Za-z0-9._-]", "_", arn) + ".log"
    path = server.data_dir / "state" / "logs" / name
    try:
        return path.read_text().splitlines()
    except FileNotFoundError:
        return []


def test_one_line_per_event(make_api, server):
    api = make_api()
    add_echo(api)
    add_whoami(api)
    api.route("$connect", api.mock())
    api.route("$disconnect", api.lambda_proxy("record"))
    arn = f"arn:aws:logs:us-east-1:000000000000:log-group:ws-access-{api.id}"
    api.deploy(AccessLogSettings={"DestinationArn": arn, "Format": FORMAT})
    ws = api.connect()
    cid = whoami(ws)["connectionId"]
    ws.send(json.dumps({"action": "echo", "data": 1}))
    ws.recv(timeout=10)
    ws.send(json.dumps({"action": "nowhere"}))
    ws.recv(timeout=10)
    ws.close()

    def mine():
        lines = [l.split(" ") for l in log_lines(server, arn) if l.startswith(cid + " ")]
        return lines if any(l[1] == "DISCONNECT" for l in lines) else None

    lines = wait_for(mine, timeout=15, what="the DISCONNECT log line")
    by_type = {}
    for fields in lines:
        assert len(fields) == 5, fields
        by_type.setdefault(fields[1], []).append(fields)
    assert sorted(by_type) == ["CONNECT", "DISCONNECT", "MESSAGE"]
    (connect,) = by_type["CONNECT"]
    assert connect[2:4] == ["$connect", "200"]
    assert connect[4] == "-"
    (disconnect,) = by_type["DISCONNECT"]
    assert disconnect[2:4] == ["$disconnect", "200"]
    assert disconnect[4] == "-"
    messages = by_type["MESSAGE"]
    assert len(messages) == 3  # whoami, echo, the Forbidden one
    routes = sorted((m[2], m[3]) for m in messages)
    assert routes == [("-", "403"), ("echo", "200"), ("whoami", "200")]
    for m in messages:
        assert CONNECTION_ID.match(m[4]), m
    assert len({m[4] for m in messages}) == 3


def test_refused_connect_is_logged(make_api, server):
    from websockets.exceptions import InvalidStatus
    import pytest

    api = make_api()
    api.route("$connect", api.lambda_proxy("connect"))
    add_whoami(api)
    arn = f"arn:aws:logs:us-east-1:000000000000:log-group:ws-refused-{api.id}"
    api.deploy(AccessLogSettings={"DestinationArn": arn, "Format": FORMAT})
    with pytest.raises(InvalidStatus):
        api.connect(query="status=403")

    def refused():
        lines = [l.split(" ") for l in log_lines(server, arn)]
        return [l for l in lines if l[1] == "CONNECT"] or None

    (line,) = wait_for(refused, timeout=10, what="the CONNECT log line")
    assert CONNECTION_ID.match(line[0])
    assert line[2:] == ["$connect", "403", "-"]


def test_access_log_stdout(start_server):
    from conftest import WsApi

    s = start_server("--access-log-stdout")
    api = WsApi(s)
    add_whoami(api)
    arn = "arn:aws:logs:us-east-1:000000000000:log-group:ws-stdout"
    api.deploy(AccessLogSettings={"DestinationArn": arn, "Format": FORMAT})
    ws = api.connect()
    cid = whoami(ws)["connectionId"]
    ws.close()

    def mine(lines):
        return [l.split(" ")[1] for l in lines if l.startswith(cid + " ")]

    wait_for(lambda: "DISCONNECT" in mine(s.stdout_lines), timeout=10, what="stdout lines")
    assert sorted(mine(s.stdout_lines)) == ["CONNECT", "DISCONNECT", "MESSAGE"]
    # The file gets the same lines.
    wait_for(lambda: sorted(mine(log_lines(s, arn))) == ["CONNECT", "DISCONNECT", "MESSAGE"],
             timeout=10, what="file lines")
