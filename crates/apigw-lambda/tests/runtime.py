"""A minimal Lambda runtime on the Python standard library, for the host tests.

Usage: python3 runtime.py MODE. It talks the Runtime API 2018-06-01 at $AWS_LAMBDA_RUNTIME_API
like any custom runtime. Modes:
  echo   answer {"pid", "event", "requestId", "deadlineMs", "start", "end"}; an event with
         "sleep": S sleeps S seconds first, "hang": true sleeps forever, "big": true answers
         7 MB, "fail": true posts an error
  probe  exercises invalid Runtime API calls and reports their status codes
  exit   exits during init without reporting anything
"""

import json
import os
import sys
import time
import urllib.error
import urllib.request

API = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"


def call(method, path, body=None, headers=None):
    req = urllib.request.Request(API + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def main():
    mode = sys.argv[1]
    if mode == "exit":
        sys.exit(7)
    carried = []
    if mode == "probe":
        # Extension registration (lambda_runtime's graceful shutdown does it) is accepted.
        ext = urllib.request.Request(
            API.replace("/2018-06-01/runtime", "/2020-01-01/extension/register"),
            data=b'{"events": ["SHUTDOWN"]}', method="POST",
            headers={"Lambda-Extension-Name": "probe"})
        with urllib.request.urlopen(ext) as r:
            carried.append(r.status if r.headers.get("Lambda-Extension-Identifier") else 0)
        # A response before any event: invalid state transition.
        carried.append(call("POST", "/invocation/nope/response", b"{}")[0])
    while True:
        status, headers, body = call("GET", "/invocation/next")
        if status != 200:
            sys.exit(2)
        rid = headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.loads(body)
        start = time.time()
        if mode == "probe":
            codes = carried
            codes.append(call("POST", "/invocation/wrong-id/response", b"{}")[0])
            codes.append(call("GET", "/invocation/next")[0])
            codes.append(call("POST", "/init/error", b"{}")[0])
            out = json.dumps({"codes": codes, "pid": os.getpid()}).encode()
            assert call("POST", f"/invocation/{rid}/response", out)[0] == 202
            # Answering twice: invalid; reported with the next event.
            carried = [call("POST", f"/invocation/{rid}/response", out)[0]]
            continue
        if event.get("hang"):
            time.sleep(3600)
        time.sleep(event.get("sleep", 0))
        if event.get("fail"):
            err = json.dumps({"errorMessage": "asked to fail", "errorType": "TestError"})
            call("POST", f"/invocation/{rid}/error", err.encode(),
                 {"Lambda-Runtime-Function-Error-Type": "TestError"})
            continue
        if event.get("big"):
            out = json.dumps("x" * (7 * 1024 * 1024)).encode()
        else:
            out = json.dumps({
                "pid": os.getpid(),
                "event": event,
                "requestId": rid,
                "deadlineMs": int(headers["Lambda-Runtime-Deadline-Ms"]),
                "arn": headers["Lambda-Runtime-Invoked-Function-Arn"],
                "traceId": headers.get("Lambda-Runtime-Trace-Id"),
                "clientContext": headers.get("Lambda-Runtime-Client-Context"),
                "start": start,
                "end": time.time(),
            }).encode()
        print(f"answering {rid}", flush=True)
        call("POST", f"/invocation/{rid}/response", out)


main()
