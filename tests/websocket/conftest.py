"""The WebSocket data plane end to end: boto3 builds the APIs, the `websockets` sync client
connects, boto3's `apigatewaymanagementapi` calls `@connections`, functions run under
awslambdaric, and a threaded `http.server` in this process stands in for HTTP backends.

Servers are `$APIGW_BIN serve --listen 127.0.0.1:0 --data-dir <tmp>` (default
target/debug/apigw), their address read from the first stdout line. One shared server hosts
the functions of functions/ws_app.py; tests that need flags of their own (idle timeout,
credentials, SIGTERM) start their own with `start_server`.
"""

import base64
import glob
import http.server
import itertools
import json
import os
import pathlib
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid

import boto3
import pytest
from botocore.config import Config
from websockets.sync.client import connect as ws_connect

ROOT = pathlib.Path(__file__).resolve().parents[2]
FUNCTIONS = pathlib.Path(__file__).resolve().parent / "functions"
REGION = "us-east-1"
CONNECTION_ID = re.compile(r"^[A-Za-z0-9]{15}=$")
_names = itertools.count(1)


def lambda_uri(function):
    arn = f"arn:aws:lambda:{REGION}:000000000000:function:{function}"
    return f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{arn}/invocations"


def client(service, endpoint, key="test", secret="test"):
    return boto3.session.Session().client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=30),
    )


def wait_for(predicate, timeout=10.0, interval=0.05, what="condition"):
    """Polls `predicate` until it returns something truthy; returns that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class Server:
    """One `apigw serve` process with the suite's functions hosted."""

    def __init__(self, *flags):
        binary = os.environ.get("APIGW_BIN") or str(ROOT / "target" / "debug" / "apigw")
        if not os.access(binary, os.X_OK):
            pytest.fail(f"{binary} is not built (cargo build -p apigw)")
        self._tmp = tempfile.TemporaryDirectory(prefix="apigw-ws-py-")
        self.data_dir = pathlib.Path(self._tmp.name)
        self.records = self.data_dir / "records"
        self.records.mkdir()
        functions = {}
        for handler in ("record", "connect", "message", "custom"):
            functions[handler] = {
                "command": f"{sys.executable} -m awslambdaric ws_app.{handler}",
                "workingDirectory": str(FUNCTIONS),
                "timeout": 10,
                "reservedConcurrency": 8,
                "environment": {"RECORD_DIR": str(self.records)},
            }
        config = self.data_dir / "functions.json"
        config.write_text(json.dumps({"functions": functions}))
        env = {k: v for k, v in os.environ.items() if not k.startswith("APIGW_") or k == "APIGW_LOG"}
        self.stdout_lines = []
        self.stderr = open(self.data_dir / "stderr.log", "w")
        self.proc = subprocess.Popen(
            [binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", str(self.data_dir / "state"),
             "--functions-config", str(config), *flags],
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            env=env,
            text=True,
        )
        line = self.proc.stdout.readline().strip()
        prefix = "apigw listening on "
        if not line.startswith(prefix):
            self.stop()
            pytest.fail(f"unexpected first line from apigw: {line!r}")
        self.url = line[len(prefix):]
        self.port = int(self.url.rsplit(":", 1)[1])
        # Drain stdout (access-log lines with --access-log-stdout) so the pipe never fills.
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()
        self.key, self.secret = "test", "test"
        if "--credentials" in flags:
            self.key, self.secret = flags[flags.index("--credentials") + 1].split(":", 1)
        self.v2 = client("apigatewayv2", self.url, self.key, self.secret)

    def _drain(self):
        for line in self.proc.stdout:
            self.stdout_lines.append(line.rstrip("\n"))

    def terminate(self, timeout=20):
        """SIGTERM; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def stop(self):
        self.terminate()
        self.stderr.close()
        self._tmp.cleanup()

    # ----- what the functions recorded -----
    def recorded(self, tag, connection_id=None):
        """Events a function recorded under `tag` (CONNECT, MESSAGE, DISCONNECT, CUSTOM),
        optionally only those of one connection."""
        out = []
        for path in sorted(glob.glob(str(self.records / f"{tag}-*.json"))):
            with open(path) as f:
                event = json.load(f)
            if connection_id is None or (
                event.get("requestContext", {}).get("connectionId") == connection_id
            ):
                out.append(event)
        return out

    def wait_recorded(self, tag, connection_id=None, count=1, timeout=15):
        return wait_for(
            lambda: (lambda r: r if len(r) >= count else None)(self.recorded(tag, connection_id)),
            timeout=timeout,
            what=f"{count} {tag} event(s) for {connection_id}",
        )


@pytest.fixture(scope="session")
def server():
    s = Server()
    yield s
    s.stop()


@pytest.fixture
def start_server():
    """Starts servers with flags of their own; stops them after the test."""
    started = []

    def start(*flags):
        s = Server(*flags)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


# --------------------------------------------------------------------------------------------
# The HTTP upstream.


class Upstream:
    """A threaded HTTP server on 127.0.0.1:0 that records every request.

    Paths `/{tag}/...` are recorded under `tag`; a path segment `status-NNN` answers NNN, one
    `sleep-S` sleeps S seconds first. The answer is JSON describing the request, unless the
    path has `raw`, then the request body comes back as is.
    """

    def __init__(self):
        self.requests = {}
        self.lock = threading.Lock()
        upstream = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def handle_any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parsed = urllib.parse.urlsplit(self.path)
                segments = [s for s in parsed.path.split("/") if s]
                record = {
                    "method": self.command,
                    "path": parsed.path,
                    "query": urllib.parse.parse_qs(parsed.query, keep_blank_values=True),
                    "raw_query": parsed.query,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body,
                }
                tag = segments[0] if segments else ""
                with upstream.lock:
                    upstream.requests.setdefault(tag, []).append(record)
                status = 200
                for s in segments:
                    if s.startswith("status-"):
                        status = int(s[len("status-"):])
                    if s.startswith("sleep-"):
                        time.sleep(float(s[len("sleep-"):]))
                if "raw" in segments:
                    answer = body
                else:
                    answer = json.dumps(
                        {
                            "upstream": status,
                            "method": self.command,
                            "path": parsed.path,
                            "query": parsed.query,
                            "body": body.decode("utf-8", "replace"),
                        }
                    ).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.send_header("X-Upstream", "yes")
                self.end_headers()
                self.wfile.write(answer)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = handle_any

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def tag(self):
        """A fresh path prefix for one test's requests."""
        return f"t{uuid.uuid4().hex[:12]}"

    def got(self, tag):
        with self.lock:
            return list(self.requests.get(tag, []))

    def wait(self, tag, count=1, timeout=10):
        return wait_for(
            lambda: (lambda r: r if len(r) >= count else None)(self.got(tag)),
            timeout=timeout,
            what=f"{count} upstream request(s) under /{tag}",
        )


@pytest.fixture(scope="session")
def upstream():
    u = Upstream()
    yield u
    u.httpd.shutdown()


# --------------------------------------------------------------------------------------------
# Building WebSocket APIs.


class WsApi:
    """A WebSocket API under construction on `server`, then its URLs and clients."""

    def __init__(self, server, route_selection="$request.body.action", **kw):
        self.server = server
        self.v2 = server.v2
        api = self.v2.create_api(
            Name=f"ws-{next(_names)}",
            ProtocolType="WEBSOCKET",
            RouteSelectionExpression=route_selection,
            **kw,
        )
        self.id = api["ApiId"]
        self.stage = None

    # ----- integrations -----
    def integration(self, integration_type, **kw):
        return self.v2.create_integration(ApiId=self.id, IntegrationType=integration_type, **kw)[
            "IntegrationId"
        ]

    def lambda_proxy(self, function, **kw):
        return self.integration(
            "AWS_PROXY", IntegrationUri=lambda_uri(function), IntegrationMethod="POST", **kw
        )

    def lambda_custom(self, function, **kw):
        return self.integration(
            "AWS", IntegrationUri=lambda_uri(function), IntegrationMethod="POST", **kw
        )

    def mock(self, template='{"statusCode": 200}', **kw):
        kw.setdefault("RequestTemplates", {"$default": template})
        kw.setdefault("TemplateSelectionExpression", "\\$default")
        return self.integration("MOCK", **kw)

    def http_proxy(self, uri, method="POST", **kw):
        return self.integration("HTTP_PROXY", IntegrationUri=uri, IntegrationMethod=method, **kw)

    def http(self, uri, method="POST", **kw):
        return self.integration("HTTP", IntegrationUri=uri, IntegrationMethod=method, **kw)

    def response(self, integration_id, key="$default", templates=None, **kw):
        if templates is not None:
            kw["ResponseTemplates"] = templates
        return self.v2.create_integration_response(
            ApiId=self.id, IntegrationId=integration_id, IntegrationResponseKey=key, **kw
        )["IntegrationResponseId"]

    # ----- routes -----
    def route(self, key, integration_id=None, two_way=False, **kw):
        if integration_id is not None:
            kw["Target"] = f"integrations/{integration_id}"
        if two_way:
            kw["RouteResponseSelectionExpression"] = "$default"
        route_id = self.v2.create_route(ApiId=self.id, RouteKey=key, **kw)["RouteId"]
        if two_way:
            self.v2.create_route_response(
                ApiId=self.id, RouteId=route_id, RouteResponseKey="$default"
            )
        return route_id

    # ----- stage -----
    def deploy(self, stage="test", **kw):
        """Creates the stage with auto-deploy (a deployment of everything built so far)."""
        self.v2.create_stage(ApiId=self.id, StageName=stage, AutoDeploy=True, **kw)
        self.stage = stage
        return self

    # ----- clients -----
    def url(self, stage=None, host_form=False, query=""):
        stage = self.stage if stage is None else stage
        tail = "" if stage == "$default" else f"/{stage}"
        if host_form:
            u = f"ws://{self.id}.execute-api.localhost:{self.server.port}{tail or '/'}"
        else:
            u = f"ws://127.0.0.1:{self.server.port}/_aws/execute-api/{self.id}{tail}"
        if query:
            u += "?" + query
        return u

    def connect(self, stage=None, host_form=False, query="", **kw):
        kw.setdefault("open_timeout", 30)
        kw.setdefault("close_timeout", 5)
        kw.setdefault("proxy", None)
        kw.setdefault("compression", None)
        kw.setdefault("legacy", True)
        if host_form:
            kw["sock"] = socket.create_connection(("127.0.0.1", self.server.port))
        return ws_connect(self.url(stage, host_form, query), **kw)

    def management(self, stage=None, host_form=False, key=None, secret=None):
        key = self.server.key if key is None else key
        secret = self.server.secret if secret is None else secret
        stage = self.stage if stage is None else stage
        tail = "" if stage == "$default" else f"/{stage}"
        if not host_form:
            return client(
                "apigatewaymanagementapi",
                f"{self.server.url}/_aws/execute-api/{self.id}{tail}",
                key,
                secret,
            )
        # Host form: connect to 127.0.0.1 (Python can't resolve *.localhost) but send the
        # API's host name, set before signing so a signature covers it.
        c = client("apigatewaymanagementapi", f"{self.server.url}{tail}", key, secret)
        host = f"{self.id}.execute-api.localhost:{self.server.port}"

        def set_host(request, **_):
            request.headers["Host"] = host

        c.meta.events.register_first("before-sign.apigatewaymanagementapi", set_host)
        return c


@pytest.fixture
def make_api(server):
    def make(**kw):
        return WsApi(server, **kw)

    return make


def b64(data):
    return base64.b64encode(data).decode()


# --------------------------------------------------------------------------------------------
# Recipes used across files.

ECHO_REQUEST = '{"statusCode": 200, "echo": $input.json("$.data")}'
ECHO_RESPONSE = '{"echoed": $input.json("$.echo"), "connectionId": "$context.connectionId"}'
WHOAMI_RESPONSE = (
    '{"connectionId": "$context.connectionId", "stage": "$context.stage", '
    '"domainName": "$context.domainName"}'
)


def add_echo(api, key="echo"):
    """A two-way MOCK route `key` answering {"echoed": <data>, "connectionId": ...}."""
    i = api.mock(ECHO_REQUEST)
    api.response(i, "$default", {"$default": ECHO_RESPONSE}, TemplateSelectionExpression="\\$default")
    return api.route(key, i, two_way=True)


def add_reply(api, key, text):
    """A two-way MOCK route `key` whose reply is `text` (a response template, so `$context`
    and `$stageVariables` work in it)."""
    i = api.mock()
    api.response(i, "$default", {"$default": text}, TemplateSelectionExpression="\\$default")
    return api.route(key, i, two_way=True)


def add_whoami(api):
    return add_reply(api, "whoami", WHOAMI_RESPONSE)


def whoami(ws):
    ws.send(json.dumps({"action": "whoami"}))
    return json.loads(ws.recv(timeout=10))


def recv_json(ws, timeout=10):
    return json.loads(ws.recv(timeout=timeout))


def assert_silent(ws, seconds=1.0):
    """Nothing arrives on `ws` for `seconds`."""
    try:
        got = ws.recv(timeout=seconds)
    except TimeoutError:
        return
    raise AssertionError(f"expected no frame, got {got!r}")
