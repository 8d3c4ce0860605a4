"""JWT authorizers (authorizers.md §2): tokens from a real local OpenID provider."""

import http.server
import json
import threading

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from conftest import jwt_authorizer, make_api


@pytest.fixture(scope="module")
def api(server, provider):
    api_id, _ = make_api(server, {
        "GET /open": (None, {}),
        "GET /me": ("jwt", {}),
        "GET /writers": ("jwt", {"AuthorizationScopes": ["write", "admin:all"]}),
        "GET /admins": ("jwt", {"AuthorizationScopes": ["admin:all"]}),
    }, {"jwt": jwt_authorizer(provider)})
    return api_id


def www(headers):
    return headers.get("www-authenticate", "")


def test_open_routes_need_nothing(server, api):
    assert server.call(api, "GET", "/open")[0] == 200


def test_no_token_is_401_bearer(server, api):
    status, headers, body = server.call(api, "GET", "/me")
    assert status == 401
    assert json.loads(body) == {"message": "Unauthorized"}
    assert www(headers) == "Bearer"
    assert headers["content-type"] == "application/json"
    assert "apigw-requestid" in headers


def test_a_valid_token_reaches_the_integration_with_its_claims(server, api, provider):
    token = provider.token(email="a@example.com", n=12, admin=True, gone=None)
    for value in (f"Bearer {token}", token):
        status, _, body = server.call(api, "GET", "/me", {"Authorization": value})
        assert status == 200, body
        auth = json.loads(body)["requestContext"]["authorizer"]["jwt"]
        assert auth["scopes"] is None
        claims = auth["claims"]
        assert claims["sub"] == "user-1"
        assert claims["email"] == "a@example.com"
        assert claims["groups"] == "[admin ops]"
        assert claims["n"] == "12"
        assert claims["admin"] == "true"
        assert claims["exp"].isdigit()
        assert "gone" not in claims


@pytest.mark.parametrize("case,description", [
    ("expired", "the token has expired"),
    ("audience", "the token does not have a valid audience"),
    ("issuer", "the token does not have a valid issuer"),
    ("not-yet", "the token is not valid yet"),
    ("no-exp", "the token has expired"),
    ("garbage", "the token is malformed"),
    ("unknown-kid", "signing key not found"),
    ("forged", "the token's signature could not be verified"),
    ("hs256", "the token's signing algorithm is not supported"),
])
def test_invalid_tokens_are_401_invalid_token(server, api, provider, case, description):
    import time
    now = int(time.time())
    token = {
        "expired": lambda: provider.token(exp=now - 5),
        "audience": lambda: provider.token(aud="someone-else"),
        "issuer": lambda: provider.token(iss=provider.issuer + "/"),
        "not-yet": lambda: provider.token(nbf=now + 600),
        "no-exp": lambda: provider.token(exp=None),
        "garbage": lambda: "not.a.token",
        "unknown-kid": lambda: provider.token(kid="nope", key=provider.keys["k1"]),
        "forged": lambda: provider.token(
            key=rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        "hs256": lambda: provider.token(key="a-shared-secret-of-enough-length-32b", alg="HS256"),
    }[case]()
    status, headers, body = server.call(api, "GET", "/me", {"Authorization": f"Bearer {token}"})
    assert status == 401, body
    assert json.loads(body) == {"message": "Unauthorized"}
    assert www(headers) == (
        f'Bearer scope="" error="invalid_token" error_description="{description}"'
    )


def test_scopes(server, api, provider):
    token = provider.token(scope="read write")
    status, _, body = server.call(api, "GET", "/writers", {"Authorization": token})
    assert status == 200, body
    # The token's whole scope list, not the intersection.
    assert json.loads(body)["requestContext"]["authorizer"]["jwt"]["scopes"] == ["read", "write"]
    status, headers, body = server.call(api, "GET", "/admins", {"Authorization": token})
    assert status == 403
    assert json.loads(body) == {"message": "Forbidden"}
    assert 'error="insufficient_scope"' in www(headers)
    assert 'scope="admin:all"' in www(headers)
    # `scp` as a list counts too.
    token = provider.token(scope=None, scp=["admin:all"])
    assert server.call(api, "GET", "/admins", {"Authorization": token})[0] == 200


def test_rotated_keys_are_fetched_again(server):
    # A provider of its own: the shared one's unknown-kid test used this minute's refetch.
    from conftest import Provider
    provider = Provider()
    api, _ = make_api(server, {"GET /me": ("jwt", {})}, {"jwt": jwt_authorizer(provider)})
    assert server.call(api, "GET", "/me", {"Authorization": provider.token()})[0] == 200
    before = provider.jwks_fetches
    provider.rotate("k2")
    status, _, body = server.call(api, "GET", "/me", {"Authorization": provider.token(kid="k2")})
    assert status == 200, body
    assert provider.jwks_fetches == before + 1
    # The new set is kept: no fetch for the next token.
    assert server.call(api, "GET", "/me", {"Authorization": provider.token(kid="k2")})[0] == 200
    assert provider.jwks_fetches == before + 1
    # Other unknown kids within the minute of that refetch: denied without fetching again.
    from cryptography.hazmat.primitives.asymmetric import rsa as _rsa
    stray = _rsa.generate_private_key(public_exponent=65537, key_size=2048)
    status, _, _ = server.call(api, "GET", "/me", {"Authorization": provider.token(kid="k3", key=stray)})
    assert status == 401
    status, _, _ = server.call(api, "GET", "/me", {"Authorization": provider.token(kid="k4", key=stray)})
    assert status == 401
    assert provider.jwks_fetches == before + 1
    provider.stop()


def test_payload_1_0_and_context_in_mappings(server, provider):
    """Claims reach a 1.0 event, and `$context.authorizer.claims.*` a request mapping."""
    seen = []

    class Upstream(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(dict(self.headers))
            self.send_response(200)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    up = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    threading.Thread(target=up.serve_forever, daemon=True).start()
    try:
        api, ids = make_api(server, {"GET /v1": ("jwt", {})}, {"jwt": jwt_authorizer(provider)},
                            payload="1.0")
        token = provider.token(sub="user-9")
        status, _, body = server.call(api, "GET", "/v1", {"Authorization": token})
        assert status == 200, body
        assert json.loads(body)["requestContext"]["authorizer"]["claims"]["sub"] == "user-9"

        v2 = server.v2
        integ = v2.create_integration(
            ApiId=api, IntegrationType="HTTP_PROXY", IntegrationMethod="GET",
            IntegrationUri=f"http://127.0.0.1:{up.server_address[1]}/x",
            PayloadFormatVersion="1.0",
            RequestParameters={"append:header.x-user": "$context.authorizer.claims.sub"},
        )["IntegrationId"]
        v2.create_route(ApiId=api, RouteKey="GET /proxied", Target=f"integrations/{integ}",
                        AuthorizationType="JWT", AuthorizerId=ids["jwt"])
        import time
        deadline = time.time() + 5
        while True:
            status, _, _ = server.call(api, "GET", "/proxied", {"Authorization": token})
            if status != 404 or time.time() > deadline:
                break
            time.sleep(0.05)
        assert status == 200
        assert seen[-1].get("x-user") == "user-9"
    finally:
        up.shutdown()


def test_insecure_issuers_are_refused(server, provider):
    api, _ = make_api(server, {"GET /me": ("jwt", {})}, {"jwt": {
        "AuthorizerType": "JWT",
        "IdentitySource": ["$request.header.Authorization"],
        "JwtConfiguration": {"Issuer": "http://example.com/realm", "Audience": ["client-a"]},
    }})
    status, headers, _ = server.call(api, "GET", "/me", {"Authorization": provider.token()})
    assert status == 401
    assert 'error_description="issuer must use https"' in www(headers)
