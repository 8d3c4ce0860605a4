"""`$connect` authorization of WebSocket APIs (authorizers.md §4)."""

import json
import time

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect as ws_connect

from conftest import REGION, lambda_uri


def ws_api(server, authorization):
    """A WebSocket API whose $connect and $default reach `wsrecord`; $connect authorized by
    `authorization` ("lambda" or "AWS_IAM")."""
    v2 = server.v2
    api = v2.create_api(Name=f"ws-authz-{time.time_ns()}", ProtocolType="WEBSOCKET",
                        RouteSelectionExpression="$request.body.action")["ApiId"]
    integ = v2.create_integration(ApiId=api, IntegrationType="AWS_PROXY",
                                  IntegrationUri=lambda_uri("wsrecord"))["IntegrationId"]
    connect = {"ApiId": api, "RouteKey": "$connect", "Target": f"integrations/{integ}"}
    if authorization == "lambda":
        auth = v2.create_authorizer(
            ApiId=api, Name="ws", AuthorizerType="REQUEST", AuthorizerUri=lambda_uri("policy"),
            IdentitySource=["route.request.header.x-token"],
        )["AuthorizerId"]
        connect.update(AuthorizationType="CUSTOM", AuthorizerId=auth)
    else:
        connect["AuthorizationType"] = "AWS_IAM"
    v2.create_route(**connect)
    v2.create_route(ApiId=api, RouteKey="$default", Target=f"integrations/{integ}")
    v2.create_stage(ApiId=api, StageName="prod", AutoDeploy=True)
    return api


def url(server, api):
    return f"ws://127.0.0.1:{server.port}/_aws/execute-api/{api}/prod"


def open_ws(server, api, headers=None):
    return ws_connect(url(server, api), additional_headers=headers or {}, open_timeout=30,
                      proxy=None, compression=None)


def refused(server, api, headers=None):
    with pytest.raises(InvalidStatus) as info:
        open_ws(server, api, headers)
    return info.value.response.status_code


def test_lambda_authorizer_on_connect(server):
    api = ws_api(server, "lambda")
    before = len(server.auth_events())
    assert refused(server, api) == 401
    assert len(server.auth_events()) == before  # no identity: not invoked
    assert refused(server, api, {"x-token": "deny"}) == 403
    ws_before = len(server.auth_events("WS"))
    with open_ws(server, api, {"x-token": "allow"}) as ws:
        event = server.auth_events()[-1]
        assert event["type"] == "REQUEST"
        assert event["methodArn"].endswith(f"{api}/prod/$connect")
        assert event["requestContext"]["eventType"] == "CONNECT"
        assert event["requestContext"]["connectionId"]
        assert "isBase64Encoded" not in event
        ws.send(json.dumps({"action": "hello"}))
        deadline = time.time() + 10
        while len(server.auth_events("WS")) < ws_before + 2 and time.time() < deadline:
            time.sleep(0.05)
    connect_event, message_event = server.auth_events("WS")[ws_before:ws_before + 2]
    for e in (connect_event, message_event):
        auth = e["requestContext"]["authorizer"]
        assert auth["principalId"] == "user-7"
        assert auth["tier"] == "gold"
        assert auth["level"] == 3
    assert connect_event["requestContext"]["eventType"] == "CONNECT"
    assert message_event["requestContext"]["eventType"] == "MESSAGE"


def test_iam_on_connect(server):
    api = ws_api(server, "AWS_IAM")
    assert refused(server, api) == 403
    req = AWSRequest(method="GET", url=f"http://127.0.0.1:{server.port}/_aws/execute-api/{api}/prod")
    SigV4Auth(Credentials("AKIDWS", "secret"), "execute-api", REGION).add_auth(req)
    headers = {k: v for k, v in req.headers.items() if k.lower() != "host"}
    with open_ws(server, api, headers):
        pass
