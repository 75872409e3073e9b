#!/usr/bin/env bash
# Starts one of the real runtime clients installed by install.sh as a function's runtime,
# the way Lambda's own bootstrap does. Usage:
#
#   AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001 test/runtimes/run.sh <node|go|python> <handler>
#
# <handler>: echo, http, fail, big, sleep, crash, ... ("handler.echo" works too); see README.md.
# Sets LAMBDA_TASK_ROOT and _HANDLER, and defaults (only where unset) the variables Lambda
# always sets and aws-lambda-ric 4 refuses to run without: AWS_LAMBDA_FUNCTION_NAME,
# AWS_LAMBDA_FUNCTION_VERSION, AWS_LAMBDA_FUNCTION_MEMORY_SIZE, AWS_LAMBDA_LOG_GROUP_NAME,
# AWS_LAMBDA_LOG_STREAM_NAME (and AWS_REGION). Like the managed runtimes, node and python
# honour AWS_LAMBDA_EXEC_WRAPPER (exec "$AWS_LAMBDA_EXEC_WRAPPER" <interpreter> <args...>);
# go, an OS-only provided.al2023 bootstrap, ignores it, as Lambda does.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
[ $# -eq 2 ] || { echo "usage: $0 <node|go|python> <handler>" >&2; exit 64; }
client="$1"
name="${2##*.}"
: "${AWS_LAMBDA_RUNTIME_API:?AWS_LAMBDA_RUNTIME_API must be set to host:port of the Runtime API}"

: "${AWS_LAMBDA_FUNCTION_NAME:=runtimes-$client-$name}"
: "${AWS_LAMBDA_FUNCTION_VERSION:=\$LATEST}"
: "${AWS_LAMBDA_FUNCTION_MEMORY_SIZE:=128}"
: "${AWS_LAMBDA_LOG_GROUP_NAME:=/aws/lambda/$AWS_LAMBDA_FUNCTION_NAME}"
: "${AWS_LAMBDA_LOG_STREAM_NAME:=2026/01/01/[\$LATEST]00000000000000000000000000000000}"
: "${AWS_REGION:=us-east-1}"
export AWS_LAMBDA_FUNCTION_NAME AWS_LAMBDA_FUNCTION_VERSION AWS_LAMBDA_FUNCTION_MEMORY_SIZE \
  AWS_LAMBDA_LOG_GROUP_NAME AWS_LAMBDA_LOG_STREAM_NAME AWS_REGION

missing() { echo "$0: $1 not found: run test/runtimes/install.sh $client" >&2; exit 1; }
wrap=()
case "$client" in
  node)
    case "$(uname -m)" in x86_64) arch=x64 ;; *) arch=arm64 ;; esac
    node="$ROOT/node_modules/node-linux-$arch/bin/node"
    ric="$HERE/node/node_modules/aws-lambda-ric/index.mjs"
    [ -f "$ric" ] || missing "$ric"
    export LAMBDA_TASK_ROOT="$HERE/node" _HANDLER="handler.$name"
    [ -z "${AWS_LAMBDA_EXEC_WRAPPER:-}" ] || wrap=("$AWS_LAMBDA_EXEC_WRAPPER")
    exec "${wrap[@]}" "$node" "$ric"
    ;;
  go)
    [ -x "$HERE/go/bootstrap" ] || missing "$HERE/go/bootstrap"
    export LAMBDA_TASK_ROOT="$HERE/go" _HANDLER="$name"
    exec "$HERE/go/bootstrap"
    ;;
  python)
    [ -x "$HERE/python/.venv/bin/python" ] || missing "$HERE/python/.venv"
    export LAMBDA_TASK_ROOT="$HERE/python" _HANDLER="handler.$name"
    export PYTHONPATH="$LAMBDA_TASK_ROOT${PYTHONPATH:+:$PYTHONPATH}"
    [ -z "${AWS_LAMBDA_EXEC_WRAPPER:-}" ] || wrap=("$AWS_LAMBDA_EXEC_WRAPPER")
    exec "${wrap[@]}" "$HERE/python/.venv/bin/python" -m awslambdaric "$_HANDLER"
    ;;
  *) echo "$0: unknown client '$client' (node, go or python)" >&2; exit 64 ;;
esac
