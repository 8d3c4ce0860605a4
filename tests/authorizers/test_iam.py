"""AWS_IAM routes (authorizers.md §5, §6.3): signed by botocore's SigV4 signer."""

import json

from conftest import make_api


def test_unsigned_is_403_and_signed_passes(server):
    api, _ = make_api(server, {"GET /iam": ("AWS_IAM", {}), "POST /iam": ("AWS_IAM", {})}, {})
    status, _, body = server.call(api, "GET", "/iam")
    assert (status, json.loads(body)) == (403, {"message": "Forbidden"})
    # Without --credentials any well-formed signature passes.
    status, _, body = server.signed_call(api, "GET", "/iam?a=1", "AKIDANYONE", "whatever")
    assert status == 200, body
    iam = json.loads(body)["requestContext"]["authorizer"]["iam"]
    assert iam["accessKey"] == "AKIDANYONE"
    assert iam["userArn"] == "arn:aws:iam::000000000000:user/AKIDANYONE"
    # The body is signed too.
    status, _, body = server.signed_call(api, "POST", "/iam", "AKIDANYONE", "x", body=b'{"a":1}')
    assert status == 200, body
    # Another service's signature is not one for execute-api.
    status, _, _ = server.signed_call(api, "GET", "/iam", "AKIDANYONE", "x", service="lambda")
    assert status == 403


def test_with_credentials_only_those_keys_pass(start_server):
    server = start_server("--credentials", "AKIDLOCAL:s3cret")
    api, _ = make_api(server, {"GET /iam": ("AWS_IAM", {})}, {}, payload="1.0")
    status, _, body = server.signed_call(api, "GET", "/iam", "AKIDLOCAL", "s3cret")
    assert status == 200, body
    identity = json.loads(body)["requestContext"]["identity"]
    assert identity["accessKey"] == "AKIDLOCAL"
    assert identity["caller"] == "AKIDLOCAL"
    status, _, body = server.signed_call(api, "GET", "/iam", "AKIDLOCAL", "wrong")
    assert status == 403
    assert json.loads(body)["message"].startswith("The request signature we calculated")
    status, _, body = server.signed_call(api, "GET", "/iam", "SOMEONE", "s3cret")
    assert (status, json.loads(body)) == (
        403, {"message": "The security token included in the request is invalid."})
