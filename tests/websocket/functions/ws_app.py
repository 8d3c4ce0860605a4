"""Lambda functions for the WebSocket suite, hosted by `apigw serve` under awslambdaric.

Every function records the event it received as one JSON file in $RECORD_DIR (one file per
event, so processes running side by side never share a file); tests read them back.
"""

import json
import os
import time
import uuid


def _record(event, tag):
    directory = os.environ.get("RECORD_DIR")
    if not directory:
        return
    name = f"{tag}-{uuid.uuid4().hex}.json"
    tmp = os.path.join(directory, "." + name)
    with open(tmp, "w") as f:
        json.dump(event, f)
    # Atomic: a reader never sees half a file.
    os.rename(tmp, os.path.join(directory, name))


def record(event, context):
    """Records any event ($connect, $disconnect, messages); answers 200 with an empty body."""
    rc = event.get("requestContext", {})
    _record(event, rc.get("eventType", "OTHER"))
    return {"statusCode": 200}


def connect(event, context):
    """A $connect handler steered by the upgrade request's query string:
    status=N answers N; protocol=P answers Sec-WebSocket-Protocol: P; header=Name:Value adds
    that header; fail=1 raises;
    sleep=S sleeps S seconds first."""
    _record(event, "CONNECT")
    q = event.get("queryStringParameters") or {}
    if q.get("sleep"):
        time.sleep(float(q["sleep"]))
    if q.get("fail"):
        raise RuntimeError("connect refused by exception")
    answer = {"statusCode": int(q.get("status", "200"))}
    headers = {}
    if q.get("protocol"):
        headers["Sec-WebSocket-Protocol"] = q["protocol"]
    if q.get("header"):
        name, value = q["header"].split(":", 1)
        headers[name] = value
    if headers:
        answer["headers"] = headers
    return answer


def message(event, context):
    """AWS_PROXY message route: answers with what it saw. A body containing "fail" raises,
    one containing "sleep" sleeps 5 s, "binary-answer" answers base64-encoded bytes,
    "plain-answer" answers a bare string."""
    _record(event, "MESSAGE")
    body = event.get("body") or ""
    if "fail" in body:
        raise RuntimeError("message handler failed")
    if "sleep" in body:
        time.sleep(5)
    if "binary-answer" in body:
        return {"statusCode": 200, "body": "//79AA==", "isBase64Encoded": True}
    if "plain-answer" in body:
        return "just text"
    rc = event["requestContext"]
    return {
        "statusCode": 200,
        "body": json.dumps(
            {
                "got": body,
                "isBase64Encoded": event.get("isBase64Encoded"),
                "connectionId": rc["connectionId"],
                "messageId": rc.get("messageId"),
                "routeKey": rc["routeKey"],
            }
        ),
    }


def custom(event, context):
    """AWS (Lambda custom) integration: the event is the rendered request template."""
    _record(event, "CUSTOM")
    item = event.get("item")
    if item == "missing":
        raise LookupError(f"item {item} not found")
    if item == "boom":
        raise RuntimeError("kaboom")
    return {"found": item, "seen": event}
