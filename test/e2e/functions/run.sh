#!/usr/bin/env bash
# Starts the e2e function of one language under its real runtime interface client, the way
# Lambda's bootstrap would (test/e2e/rie-instance.sh puts /opt/wrapper-script.sh in front):
#
#   AWS_LAMBDA_RUNTIME_API=host:port test/e2e/functions/run.sh <node|python|go|java> <handler>
#
# <handler>: `handler` (all four; picks what to do from the event) or `stream` (node only).
# The clients come from test/runtimes/install.sh (node, python) and test/e2e/functions/build.sh
# (the go bootstrap, the java jar + the client's jars). RIE sets the AWS_LAMBDA_FUNCTION_* and
# AWS_LAMBDA_LOG_* variables that aws-lambda-ric needs.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
[ $# -eq 2 ] || { echo "usage: $0 <node|python|go|java> <handler>" >&2; exit 64; }
client="$1" name="$2"
missing() { echo "$0: $1 not found: run $2" >&2; exit 1; }
export LAMBDA_TASK_ROOT="$HERE/$client"
case "$client" in
  node)
    case "$(uname -m)" in x86_64) arch=x64 ;; *) arch=arm64 ;; esac
    ric="$ROOT/test/runtimes/node/node_modules/aws-lambda-ric/index.mjs"
    [ -f "$ric" ] || missing "$ric" "test/runtimes/install.sh node"
    export _HANDLER="handler.$name"
    exec "$ROOT/node_modules/node-linux-$arch/bin/node" "$ric"
    ;;
  python)
    py="$ROOT/test/runtimes/python/.venv/bin/python"
    [ -x "$py" ] || missing "$py" "test/runtimes/install.sh python"
    export _HANDLER="handler.$name" PYTHONPATH="$LAMBDA_TASK_ROOT"
    exec "$py" -m awslambdaric "$_HANDLER"
    ;;
  go)
    [ -x "$HERE/go/bootstrap" ] || missing "$HERE/go/bootstrap" "test/e2e/functions/build.sh go"
    export _HANDLER="$name"
    exec "$HERE/go/bootstrap"
    ;;
  java)
    jar="$HERE/java/target/function.jar"
    [ -f "$jar" ] || missing "$jar" "test/e2e/functions/build.sh java"
    export _HANDLER="e2e.Handlers::$name"
    # The JVM flags of Lambda's managed Java runtimes (fast start over peak speed).
    exec java -XX:+TieredCompilation -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto \
      -cp "$jar:$HERE/java/target/lib/*" com.amazonaws.services.lambda.runtime.api.client.AWSLambda "$_HANDLER"
    ;;
  *) echo "$0: unknown client '$client' (node, python, go or java)" >&2; exit 64 ;;
esac
