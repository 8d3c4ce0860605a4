"""Test functions run by awslambdaric (`python -m awslambdaric app.<handler>`)."""

import json
import os
import time


def echo(event, context):
    """Returns what the function saw: the event, its context and its process."""
    print(f"echo handling {context.aws_request_id}")
    return {
        "event": event,
        "pid": os.getpid(),
        "requestId": context.aws_request_id,
        "functionName": context.function_name,
        "functionArn": context.invoked_function_arn,
        "memory": context.memory_limit_in_mb,
        "remainingMs": context.get_remaining_time_in_millis(),
        "env": {k: os.environ.get(k) for k in [
            "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_REGION",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_LOG_GROUP_NAME", "_HANDLER",
            "LAMBDA_TASK_ROOT", "TZ", "AWS_ACCESS_KEY_ID", "GREETING", "_X_AMZN_TRACE_ID"]},
    }


def hello(event, context):
    return {"message": "hello from python", "input": event}


def http(event, context):
    """A payload 2.0 proxy response."""
    return {
        "statusCode": 201,
        "headers": {"content-type": "text/plain"},
        "cookies": ["a=1"],
        "body": "method " + event["requestContext"]["http"]["method"],
    }


def slow(event, context):
    """Holds its environment for a while (concurrency tests)."""
    time.sleep(event.get("sleep", 0.5))
    return {"pid": os.getpid()}


def fail(event, context):
    raise ValueError("something went wrong!")


def crash(event, context):
    print("about to crash", flush=True)
    os._exit(3)


def hang(event, context):
    if event.get("hang"):
        time.sleep(600)
    return {"pid": os.getpid()}


def big(event, context):
    return "x" * (7 * 1024 * 1024)
