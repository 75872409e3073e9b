"""Sample function for the real Python runtime interface client (awslambdaric).

Started as `python -m awslambdaric handler.<name>` with this folder on PYTHONPATH
(the RIC takes the handler from argv[1], not from $_HANDLER). See ../README.md.
"""

import json
import os
import time


def _header(event, name):
    """Header lookup that ignores case, for API Gateway v1/v2 and ALB events."""
    event = event if isinstance(event, dict) else {}
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name:
            return value
    for key, values in (event.get("multiValueHeaders") or {}).items():
        if key.lower() == name and values:
            return values[-1]
    return None


def _param(event, key, default):
    return event.get(key, default) if isinstance(event, dict) else default


def echo(event, context):
    return event


def http(event, context):
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(
            {
                "traceparent": _header(event, "traceparent"),
                "tracestate": _header(event, "tracestate"),
                "xAmznTraceIdHeader": _header(event, "x-amzn-trace-id"),
                "xAmznTraceIdEnv": os.environ.get("_X_AMZN_TRACE_ID"),
                "awsRequestId": context.aws_request_id,
                "invokedFunctionArn": context.invoked_function_arn,
            }
        ),
    }


class OrderError(Exception):
    pass


def fail(event, context):
    raise OrderError(_param(event, "message", "order 42 could not be placed"))


def big(event, context):
    """The POSTed body is exactly event.bytes bytes (the RIC JSON-encodes the string)."""
    size = int(_param(event, "bytes", 1024))
    if size < 2:
        raise ValueError("bytes must be >= 2")
    return "x" * (size - 2)


def sleep(event, context):
    ms = int(_param(event, "ms", 1000))
    time.sleep(ms / 1000)
    return {"slept": ms}


def crash(event, context):
    os._exit(int(_param(event, "code", 1)))


def oom(event, context):
    """Takes memory until the memory size is enforced (Lambda's cgroup kills the runtime).

    Bounded at 2 GiB, so that a sandbox that does not enforce memory sees it return.
    """
    held = []
    for _ in range(2048):
        held.append(bytearray(1024 * 1024))
        time.sleep(0.001)
    return {"held_mb": len(held)}
