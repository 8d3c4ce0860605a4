"""§7.9: the `@connections` management API through boto3's `apigatewaymanagementapi`."""

import datetime
import json
import time

import pytest
from botocore.exceptions import ClientError
from websockets.exceptions import ConnectionClosed

from conftest import WsApi, add_echo, add_whoami, recv_json, whoami

FORMS = pytest.mark.parametrize("host_form", [False, True], ids=["path-form", "host-form"])


def api_with_whoami(make_api, stage="test"):
    api = make_api()
    add_whoami(api)
    add_echo(api)
    return api.deploy(stage)


def error_of(call):
    with pytest.raises(ClientError) as info:
        call()
    e = info.value.response
    return e["ResponseMetadata"]["HTTPStatusCode"], e["Error"]["Code"], e["Error"].get("Message")


@FORMS
def test_post_text_and_binary(make_api, host_form):
    api = api_with_whoami(make_api)
    mgmt = api.management(host_form=host_form)
    with api.connect() as ws:
        cid = whoami(ws)["connectionId"]
        mgmt.post_to_connection(ConnectionId=cid, Data=b"hello \xe2\x9c\x93")
        got = ws.recv(timeout=10)
        assert got == "hello \u2713"
        assert isinstance(got, str)
        mgmt.post_to_connection(ConnectionId=cid, Data=b"\xff\x00\xfe")
        got = ws.recv(timeout=10)
        assert got == b"\xff\x00\xfe"
        assert isinstance(got, bytes)
        mgmt.post_to_connection(ConnectionId=cid, Data=b"")
        assert ws.recv(timeout=10) == ""


@FORMS
def test_post_on_the_default_stage(make_api, host_form):
    api = api_with_whoami(make_api, "$default")
    mgmt = api.management(host_form=host_form)
    with api.connect(host_form=host_form) as ws:
        cid = whoami(ws)["connectionId"]
        mgmt.post_to_connection(ConnectionId=cid, Data=b"at the root")
        assert ws.recv(timeout=10) == "at the root"
        info = mgmt.get_connection(ConnectionId=cid)
        assert info["Identity"]["SourceIp"] == "127.0.0.1"


@FORMS
def test_get_connection(make_api, host_form):
    api = api_with_whoami(make_api)
    mgmt = api.management(host_form=host_form)
    with api.connect() as ws:
        before = datetime.datetime.now(datetime.timezone.utc)
        cid = whoami(ws)["connectionId"]
        user_agent = ws.request.headers["User-Agent"]
        first = mgmt.get_connection(ConnectionId=cid)
        assert first["Identity"]["SourceIp"] == "127.0.0.1"
        assert first["Identity"]["UserAgent"] == user_agent
        connected = first["ConnectedAt"]
        assert isinstance(connected, datetime.datetime)
        assert abs((connected - before).total_seconds()) < 10
        assert first["LastActiveAt"] >= connected
        time.sleep(0.3)
        ws.send(json.dumps({"action": "echo", "data": 1}))
        recv_json(ws)
        second = mgmt.get_connection(ConnectionId=cid)
        assert second["ConnectedAt"] == connected
        assert second["LastActiveAt"] > first["LastActiveAt"]
        # Reading it is no activity.
        third = mgmt.get_connection(ConnectionId=cid)
        assert third["LastActiveAt"] == second["LastActiveAt"]


@FORMS
def test_delete_then_gone(make_api, host_form):
    api = api_with_whoami(make_api)
    mgmt = api.management(host_form=host_form)
    ws = api.connect()
    cid = whoami(ws)["connectionId"]
    mgmt.delete_connection(ConnectionId=cid)
    with pytest.raises(ConnectionClosed) as info:
        ws.recv(timeout=10)
    assert info.value.rcvd.code == 1000
    for call in (
        lambda: mgmt.post_to_connection(ConnectionId=cid, Data=b"x"),
        lambda: mgmt.get_connection(ConnectionId=cid),
        lambda: mgmt.delete_connection(ConnectionId=cid),
    ):
        status, code, _ = error_of(call)
        assert (status, code) == (410, "GoneException")


def test_closed_by_client_then_gone(make_api):
    api = api_with_whoami(make_api)
    mgmt = api.management()
    ws = api.connect()
    cid = whoami(ws)["connectionId"]
    ws.close()
    status, code, _ = error_of(lambda: mgmt.post_to_connection(ConnectionId=cid, Data=b"x"))
    assert (status, code) == (410, "GoneException")


@FORMS
def test_unknown_and_malformed_ids(make_api, host_form):
    api = api_with_whoami(make_api)
    mgmt = api.management(host_form=host_form)
    for call in (mgmt.post_to_connection, mgmt.get_connection, mgmt.delete_connection):
        kw = {"Data": b"x"} if call == mgmt.post_to_connection else {}
        for unknown in ("AAAAAAAAAAAAAAA=", "AAAA+AAAA/AAAAA="):
            status, code, message = error_of(lambda: call(ConnectionId=unknown, **kw))
            assert (status, code) == (410, "GoneException"), unknown
        for bad in ("not-an-id", "AAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAA=", "AAAAAAAAAAAAA-A="):
            status, code, message = error_of(lambda: call(ConnectionId=bad, **kw))
            assert (status, code) == (400, "BadRequestException"), bad
            assert message == f"Invalid connectionId: {bad}"


def test_connection_of_another_stage_is_gone(make_api):
    api = api_with_whoami(make_api)
    api.v2.create_stage(ApiId=api.id, StageName="other", AutoDeploy=True)
    with api.connect() as ws:
        cid = whoami(ws)["connectionId"]
        status, code, _ = error_of(
            lambda: api.management("other").post_to_connection(ConnectionId=cid, Data=b"x")
        )
        assert (status, code) == (410, "GoneException")


def test_payload_limit(make_api):
    api = api_with_whoami(make_api)
    mgmt = api.management()
    with api.connect(max_size=1024 * 1024) as ws:
        cid = whoami(ws)["connectionId"]
        status, code, _ = error_of(
            lambda: mgmt.post_to_connection(ConnectionId=cid, Data=b"a" * 131073)
        )
        assert (status, code) == (413, "PayloadTooLargeException")
        mgmt.post_to_connection(ConnectionId=cid, Data=b"b" * 131072)
        got = ws.recv(timeout=10)
        assert got == "b" * 131072


def test_post_reaches_only_its_connection(make_api):
    api = api_with_whoami(make_api)
    mgmt = api.management()
    with api.connect() as a, api.connect() as b:
        ida, idb = whoami(a)["connectionId"], whoami(b)["connectionId"]
        mgmt.post_to_connection(ConnectionId=ida, Data=b"for a")
        mgmt.post_to_connection(ConnectionId=idb, Data=b"for b")
        assert a.recv(timeout=10) == "for a"
        assert b.recv(timeout=10) == "for b"


def test_credentials_are_verified(start_server):
    s = start_server("--credentials", "AKIDWSTEST:ws/secret+key")
    api = WsApi(s)
    add_whoami(api)
    api.deploy()
    with api.connect() as ws:
        cid = whoami(ws)["connectionId"]
        for host_form in (False, True):
            wrong = api.management(host_form=host_form, secret="wrong-secret")
            status, code, _ = error_of(lambda: wrong.post_to_connection(ConnectionId=cid, Data=b"x"))
            assert status == 403
            assert code == "ForbiddenException"
            status, _, _ = error_of(lambda: wrong.get_connection(ConnectionId=cid))
            assert status == 403
            unknown = api.management(host_form=host_form, key="AKIDOTHER", secret="ws/secret+key")
            status, _, _ = error_of(lambda: unknown.get_connection(ConnectionId=cid))
            assert status == 403
            right = api.management(host_form=host_form)
            right.post_to_connection(ConnectionId=cid, Data=b"signed")
            assert ws.recv(timeout=10) == "signed"
            assert right.get_connection(ConnectionId=cid)["Identity"]["SourceIp"] == "127.0.0.1"
        # Unsigned requests are refused too.
        import urllib.error
        import urllib.request

        unsigned = urllib.request.Request(
            f"{s.url}/_aws/execute-api/{api.id}/test/@connections/{cid}", data=b"x", method="POST"
        )
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(unsigned, timeout=10)
        assert info.value.code == 403
        # A refused DELETE leaves the connection open.
        wrong = api.management(secret="wrong-secret")
        error_of(lambda: wrong.delete_connection(ConnectionId=cid))
        assert whoami(ws)["connectionId"] == cid
        api.management().delete_connection(ConnectionId=cid)
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=10)


def test_identity_without_user_agent(make_api, server):
    api = make_api()
    add_whoami(api)
    api.route("$connect", api.lambda_proxy("connect"))
    api.deploy()
    with api.connect(user_agent_header=None) as ws:
        assert "User-Agent" not in ws.request.headers
        cid = whoami(ws)["connectionId"]
        identity = api.management().get_connection(ConnectionId=cid)["Identity"]
    assert identity == {"SourceIp": "127.0.0.1"}
    (event,) = server.wait_recorded("CONNECT", cid)
    assert event["requestContext"]["identity"] == {"sourceIp": "127.0.0.1"}
