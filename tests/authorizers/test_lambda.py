"""Lambda REQUEST authorizers (authorizers.md §3): functions under awslambdaric."""

import json

import pytest

from conftest import lambda_authorizer, make_api


def test_simple_responses(server):
    api, _ = make_api(server, {"GET /a": ("simple", {})},
                      {"simple": lambda_authorizer("simple")})
    before = len(server.auth_events())
    # Identity source missing: 401 without invoking the function.
    status, _, body = server.call(api, "GET", "/a")
    assert (status, json.loads(body)) == (401, {"message": "Unauthorized"})
    assert len(server.auth_events()) == before

    status, _, body = server.call(api, "GET", "/a?q=1", {"x-token": "allow"})
    assert status == 200, body
    event = json.loads(body)
    assert event["requestContext"]["authorizer"] == {
        "lambda": {"user": "alice", "n": 7, "ok": True}
    }
    auth_event = server.auth_events()[-1]
    assert auth_event["version"] == "2.0"
    assert auth_event["type"] == "REQUEST"
    assert auth_event["identitySource"] == ["allow"]
    assert auth_event["routeArn"] == (
        f"arn:aws:execute-api:us-east-1:000000000000:{api}/$default/GET/a"
    )
    assert auth_event["routeKey"] == "GET /a"
    assert auth_event["queryStringParameters"] == {"q": "1"}
    assert "body" not in auth_event
    assert "authorizer" not in auth_event["requestContext"]

    for token, status_code, message in [
        ("deny", 403, "Forbidden"),
        ("unauthorized", 401, "Unauthorized"),
        ("boom", 500, "Internal Server Error"),
        ("string", 500, "Internal Server Error"),
    ]:
        status, _, body = server.call(api, "GET", "/a", {"x-token": token})
        assert (status, json.loads(body)) == (status_code, {"message": message}), token


def test_results_are_cached_by_identity_for_their_ttl(server):
    api, _ = make_api(server, {"GET /a": ("simple", {}), "GET /b": ("simple", {})},
                      {"simple": lambda_authorizer("simple", ttl=300)})
    count = lambda: len(server.auth_events())
    start = count()
    assert server.call(api, "GET", "/a", {"x-token": "allow-1"})[0] == 200
    assert server.call(api, "GET", "/a", {"x-token": "allow-1"})[0] == 200
    # Every route of the authorizer shares the cached answer.
    assert server.call(api, "GET", "/b", {"x-token": "allow-1"})[0] == 200
    assert count() == start + 1
    # Another identity: invoked.
    assert server.call(api, "GET", "/a", {"x-token": "allow-2"})[0] == 200
    assert count() == start + 2
    # Denials are cached too; failures are not.
    assert server.call(api, "GET", "/a", {"x-token": "deny"})[0] == 403
    assert server.call(api, "GET", "/a", {"x-token": "deny"})[0] == 403
    assert count() == start + 3
    assert server.call(api, "GET", "/a", {"x-token": "boom"})[0] == 500
    assert server.call(api, "GET", "/a", {"x-token": "boom"})[0] == 500
    assert count() == start + 5
    # ResetAuthorizersCache forgets the stage's answers.
    server.v2.reset_authorizers_cache(ApiId=api, StageName="$default")
    assert server.call(api, "GET", "/a", {"x-token": "allow-1"})[0] == 200
    assert count() == start + 6


def test_ttl_zero_invokes_every_time(server):
    api, _ = make_api(server, {"GET /a": ("simple", {})},
                      {"simple": lambda_authorizer("simple", ttl=0)})
    start = len(server.auth_events())
    for _ in range(3):
        assert server.call(api, "GET", "/a", {"x-token": "allow"})[0] == 200
    assert len(server.auth_events()) == start + 3


@pytest.mark.parametrize("payload", ["1.0", "2.0"])
def test_policies(server, payload):
    api, _ = make_api(server, {"GET /pets": ("policy", {}), "POST /pets": ("policy", {})},
                      {"policy": lambda_authorizer("policy", payload=payload, simple=False, ttl=300)},
                      payload=payload)
    status, _, body = server.call(api, "GET", "/pets", {"x-token": "allow"})
    assert status == 200, body
    auth = json.loads(body)["requestContext"]["authorizer"]
    if payload == "2.0":
        assert auth == {"lambda": {"tier": "gold", "level": 3}}
    else:
        assert auth["principalId"] == "user-7"
        assert auth["tier"] == "gold"
        assert auth["level"] == 3
        assert "integrationLatency" in auth
        event = server.auth_events()[-1]
        assert event["version"] == "1.0"
        assert event["type"] == "REQUEST"
        assert event["authorizationToken"] == "allow"
        assert event["methodArn"].endswith(f"{api}/$default/GET/pets")
    assert server.call(api, "GET", "/pets", {"x-token": "deny"})[0] == 403
    # A cached policy is evaluated again for each route: GET allowed, POST not.
    assert server.call(api, "GET", "/pets", {"x-token": "allow-get-only"})[0] == 200
    status, _, body = server.call(api, "POST", "/pets", {"x-token": "allow-get-only"})
    assert (status, json.loads(body)) == (403, {"message": "Forbidden"})
