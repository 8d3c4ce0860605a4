"""Authorizers end to end (authorizers.md §2, §3, §5): boto3 builds the APIs, a local OpenID
provider in this process (discovery and a JWKS over HTTP, RSA keys generated here, tokens
signed with PyJWT) issues tokens, authorizer and integration functions run under awslambdaric,
and IAM calls are signed by botocore's own SigV4 signer.

Servers are `$APIGW_BIN serve --listen 127.0.0.1:0 --data-dir <tmp>` (default
target/debug/apigw); calls go to 127.0.0.1 with the API's execute-api Host.
"""

import base64
import glob
import http.client
import http.server
import itertools
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import threading
import time

import boto3
import jwt as pyjwt
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = pathlib.Path(__file__).resolve().parents[2]
FUNCTIONS = pathlib.Path(__file__).resolve().parent / "functions"
REGION = "us-east-1"
_names = itertools.count(1)


def lambda_uri(function):
    arn = f"arn:aws:lambda:{REGION}:000000000000:function:{function}"
    return f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{arn}/invocations"


class Server:
    """One `apigw serve` with the suite's functions hosted."""

    def __init__(self, *flags):
        binary = os.environ.get("APIGW_BIN") or str(ROOT / "target" / "debug" / "apigw")
        if not os.access(binary, os.X_OK):
            pytest.fail(f"{binary} is not built (cargo build -p apigw)")
        self._tmp = tempfile.TemporaryDirectory(prefix="apigw-authz-py-")
        self.data_dir = pathlib.Path(self._tmp.name)
        self.records = self.data_dir / "records"
        self.records.mkdir()
        functions = {
            name: {
                "command": f"{sys.executable} -m awslambdaric authz_app.{name}",
                "workingDirectory": str(FUNCTIONS),
                "timeout": 10,
                "reservedConcurrency": 4,
                "environment": {"RECORD_DIR": str(self.records)},
            }
            for name in ("echo", "simple", "policy", "wsrecord")
        }
        config = self.data_dir / "functions.json"
        config.write_text(json.dumps({"functions": functions}))
        env = {k: v for k, v in os.environ.items() if not k.startswith("APIGW_") or k == "APIGW_LOG"}
        self.stderr = open(self.data_dir / "stderr.log", "w")
        self.proc = subprocess.Popen(
            [binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", str(self.data_dir / "state"),
             "--functions-config", str(config), *flags],
            stdout=subprocess.PIPE, stderr=self.stderr, env=env, text=True,
        )
        line = self.proc.stdout.readline().strip()
        prefix = "apigw listening on "
        if not line.startswith(prefix):
            self.stop()
            pytest.fail(f"unexpected first line from apigw: {line!r}")
        self.url = line[len(prefix):]
        self.port = int(self.url.rsplit(":", 1)[1])
        self.stdout_lines = []
        threading.Thread(target=self._drain, daemon=True).start()
        self.key, self.secret = "test", "test"
        if "--credentials" in flags:
            self.key, self.secret = flags[flags.index("--credentials") + 1].split(":", 1)
        self.v2 = boto3.session.Session().client(
            "apigatewayv2", endpoint_url=self.url, region_name=REGION,
            aws_access_key_id=self.key, aws_secret_access_key=self.secret,
            config=Config(retries={"max_attempts": 1, "mode": "standard"}),
        )

    def _drain(self):
        for line in self.proc.stdout:
            self.stdout_lines.append(line.rstrip("\n"))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()
        self._tmp.cleanup()

    def auth_events(self, tag="AUTH"):
        """Events the authorizer functions (or, with tag WS, `wsrecord`) received, oldest
        first."""
        out = []
        for path in sorted(glob.glob(str(self.records / f"{tag}-*.json"))):
            with open(path) as f:
                out.append(json.load(f))
        return out

    def call(self, api_id, method, path, headers=None, body=None):
        """A data-plane call by Host; returns (status, headers, body bytes)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        h = {"Host": f"{api_id}.execute-api.localhost:{self.port}"}
        h.update(headers or {})
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        conn.close()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data

    def signed_call(self, api_id, method, path, key, secret, body=b"", service="execute-api"):
        """A call signed by botocore's SigV4 signer, as an SDK would sign it."""
        host = f"{api_id}.execute-api.localhost:{self.port}"
        req = AWSRequest(method=method, url=f"http://{host}{path}", data=body)
        SigV4Auth(Credentials(key, secret), service, REGION).add_auth(req)
        headers = dict(req.headers.items())
        return self.call(api_id, method, path, headers=headers, body=body or None)


@pytest.fixture(scope="session")
def server():
    s = Server()
    yield s
    s.stop()


@pytest.fixture
def start_server():
    started = []

    def start(*flags):
        s = Server(*flags)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


# --------------------------------------------------------------------------------------------
# A local OpenID provider.


def _b64(n):
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class Provider:
    """Discovery at `{issuer}/.well-known/openid-configuration`, keys at `{issuer}/keys`;
    `rotate()` publishes a new key beside the old one."""

    def __init__(self):
        self.keys = {"k1": rsa.generate_private_key(public_exponent=65537, key_size=2048)}
        self.jwks_fetches = 0
        provider = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path == "/realm/.well-known/openid-configuration":
                    body = {"issuer": provider.issuer, "jwks_uri": provider.issuer + "/keys"}
                elif self.path == "/realm/keys":
                    provider.jwks_fetches += 1
                    body = {"keys": [
                        {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
                         "n": _b64(k.public_key().public_numbers().n),
                         "e": _b64(k.public_key().public_numbers().e)}
                        for kid, k in provider.keys.items()
                    ]}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.httpd.server_address[1]}/realm"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def rotate(self, kid):
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def token(self, kid="k1", key=None, alg="RS256", headers=None, **claims):
        now = int(time.time())
        body = {"iss": self.issuer, "aud": "client-a", "sub": "user-1", "iat": now,
                "exp": now + 300, "scope": "read write", "groups": ["admin", "ops"]}
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        signing_key = key if key is not None else self.keys[kid]
        return pyjwt.encode(body, signing_key, algorithm=alg, headers={"kid": kid, **(headers or {})})

    def stop(self):
        self.httpd.shutdown()


@pytest.fixture(scope="session")
def provider():
    p = Provider()
    yield p
    p.stop()


# --------------------------------------------------------------------------------------------
# APIs.


def make_api(server, routes, authorizers, payload="2.0"):
    """An HTTP API whose routes reach `echo`. `authorizers`: name → CreateAuthorizer args;
    `routes`: route key → (authorizer name or None or "AWS_IAM", extra route args)."""
    v2 = server.v2
    api = v2.create_api(Name=f"authz-{next(_names)}", ProtocolType="HTTP")["ApiId"]
    integ = v2.create_integration(
        ApiId=api, IntegrationType="AWS_PROXY", IntegrationUri=lambda_uri("echo"),
        PayloadFormatVersion=payload,
    )["IntegrationId"]
    ids = {}
    for name, args in authorizers.items():
        ids[name] = v2.create_authorizer(ApiId=api, Name=name, **args)["AuthorizerId"]
    for key, (auth, extra) in routes.items():
        args = {"ApiId": api, "RouteKey": key, "Target": f"integrations/{integ}", **extra}
        if auth == "AWS_IAM":
            args["AuthorizationType"] = "AWS_IAM"
        elif auth is not None:
            kind = authorizers[auth]["AuthorizerType"]
            args["AuthorizationType"] = "JWT" if kind == "JWT" else "CUSTOM"
            args["AuthorizerId"] = ids[auth]
        v2.create_route(**args)
    v2.create_stage(ApiId=api, StageName="$default", AutoDeploy=True)
    return api, ids


def jwt_authorizer(provider, audience=("client-a",)):
    return {
        "AuthorizerType": "JWT",
        "IdentitySource": ["$request.header.Authorization"],
        "JwtConfiguration": {"Issuer": provider.issuer, "Audience": list(audience)},
    }


def lambda_authorizer(function, payload="2.0", simple=True, ttl=0, sources=("$request.header.x-token",)):
    args = {
        "AuthorizerType": "REQUEST",
        "AuthorizerUri": lambda_uri(function),
        "AuthorizerPayloadFormatVersion": payload,
        "IdentitySource": list(sources),
        "AuthorizerResultTtlInSeconds": ttl,
    }
    if payload == "2.0":
        args["EnableSimpleResponses"] = simple
    return args
