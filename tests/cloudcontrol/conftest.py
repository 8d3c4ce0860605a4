"""Cloud Control through boto3 against the real apigw binary.

One server per session: `$APIGW_BIN serve --listen 127.0.0.1:0 --data-dir <tmp>` (default
target/debug/apigw), its address read from the first stdout line `apigw listening on http://ADDR`.
State is per region, so every test gets clients for a region of its own.
"""

import itertools
import os
import pathlib
import subprocess
import tempfile

import boto3
import pytest
from botocore.config import Config

ROOT = pathlib.Path(__file__).resolve().parents[2]
_regions = itertools.count(1)


@pytest.fixture(scope="session")
def endpoint():
    binary = os.environ.get("APIGW_BIN") or str(ROOT / "target" / "debug" / "apigw")
    if not os.access(binary, os.X_OK):
        pytest.fail(f"{binary} is not built (cargo build -p apigw)")
    with tempfile.TemporaryDirectory(prefix="apigw-cc-py-") as data:
        env = {k: v for k, v in os.environ.items() if not k.startswith("APIGW_")}
        proc = subprocess.Popen(
            [binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", data],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            text=True,
        )
        try:
            line = proc.stdout.readline().strip()
            prefix = "apigw listening on "
            if not line.startswith(prefix):
                pytest.fail(f"unexpected first line from apigw: {line!r}")
            yield line[len(prefix):]
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def region():
    return f"us-test-{next(_regions)}"


def _client(service, endpoint, region):
    return boto3.session.Session().client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


@pytest.fixture
def cc(endpoint, region):
    return _client("cloudcontrol", endpoint, region)


@pytest.fixture
def v2(endpoint, region):
    return _client("apigatewayv2", endpoint, region)
