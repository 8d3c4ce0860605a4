"""Functions of the authorizer suite, run under awslambdaric by the gateway.

`echo` is the integration: it answers with the event it received, so tests read what reached
the integration (`requestContext.authorizer`). The authorizers record every event they get
under RECORD_DIR (tag AUTH), so tests count invocations and read the authorizer event.
"""

import json
import os
import pathlib
import time


def _record(tag, event):
    path = pathlib.Path(os.environ["RECORD_DIR"]) / f"{tag}-{time.time_ns()}.json"
    path.write_text(json.dumps(event))


def echo(event, context):
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(event),
    }


def _token(event):
    source = event.get("identitySource")
    if isinstance(source, list):
        return source[0] if source else ""
    if event.get("authorizationToken"):
        return event["authorizationToken"]
    # A WebSocket $connect authorizer's event has the request's headers and query only.
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    return headers.get("x-token") or (event.get("queryStringParameters") or {}).get("token", "")


def wsrecord(event, context):
    """A WebSocket route's integration: records the event (tag WS)."""
    _record("WS", event)
    return {"statusCode": 200}


def simple(event, context):
    """Payload 2.0, simple responses: the token says what to answer."""
    _record("AUTH", event)
    token = _token(event)
    if token.startswith("allow"):
        return {"isAuthorized": True, "context": {"user": "alice", "n": 7, "ok": True}}
    if token == "deny":
        return {"isAuthorized": False, "context": {"user": "mallory"}}
    if token == "unauthorized":
        raise Exception("Unauthorized")
    if token == "string":
        return {"isAuthorized": "true"}
    raise RuntimeError("boom")


def policy(event, context):
    """An IAM policy answer (payload 1.0, or 2.0 without simple responses)."""
    _record("AUTH", event)
    token = _token(event)
    arn = event.get("routeArn") or event.get("methodArn")
    api_and_stage = "/".join(arn.split("/")[:2])
    if token == "allow-get-only":
        resource, effect = api_and_stage + "/GET/*", "Allow"
    elif token.startswith("allow"):
        resource, effect = arn, "Allow"
    else:
        resource, effect = arn, "Deny"
    return {
        "principalId": "user-7",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
        },
        "context": {"tier": "gold", "level": 3},
    }
