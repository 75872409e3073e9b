"""The e2e tests' function for AWS's Python runtime interface client (awslambdaric, installed by
test/runtimes/install.sh). `handler` picks what to do from the event; same contract in the four
languages: test/e2e/README.md, "The functions"."""

import json
import time


class OrderError(Exception):
    """A failure the function means to report."""


def _header(event, name):
    """Header lookup that ignores case, for API Gateway v1/v2 and ALB events."""
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name:
            return value
    for key, values in (event.get("multiValueHeaders") or {}).items():
        if key.lower() == name and values:
            return values[-1]
    return None


def handler(event, context):
    if "httpMethod" in event or "requestContext" in event:
        return {
            "statusCode": 200,
            "headers": {"content-type": "application/json"},
            "body": json.dumps(
                {
                    "traceparent": _header(event, "traceparent"),
                    "tracestate": _header(event, "tracestate"),
                    "awsRequestId": context.aws_request_id,
                }
            ),
        }
    scenario = event.get("scenario")
    if scenario == "success":
        return {"ok": True, "runtime": "python", "requestId": context.aws_request_id, "traceparent": _header(event, "traceparent")}
    if scenario == "handled":
        raise OrderError("order 42 could not be placed")
    if scenario == "unhandled":
        # A bug: nothing catches the KeyError.
        return event["order"]["items"]
    if scenario == "big":
        # JSON-encoded by the client: the two quotes make it exactly event["bytes"] bytes.
        return "x" * (event["bytes"] - 2)
    if scenario == "sleep":
        time.sleep(event["ms"] / 1000)
        return {"slept": event["ms"]}
    raise ValueError(f"unknown scenario {scenario!r}")
