#!/usr/bin/env bash
# Runs every sample handler of every installed client against check.ts (a one-event
# Runtime API that prints what the client sends) and writes the transcripts to
# captures/<client>-<case>.txt: the evidence behind the wire facts in README.md.
# Usage: test/runtimes/capture.sh [node|go|python ...]   (after install.sh)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
case "$(uname -m)" in x86_64) arch=x64 ;; *) arch=arm64 ;; esac
NODE="$ROOT/node_modules/node-linux-$arch/bin/node"
OUT="$HERE/captures"
mkdir -p "$OUT"
clients=("$@")
[ ${#clients[@]} -gt 0 ] || clients=(node go python)
HTTP_EVENT='{"resource":"/orders","httpMethod":"GET","headers":{"TraceParent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01","tracestate":"vendor=opaque"},"multiValueHeaders":{}}'

failed=0
# capture <client> <case> <handler> <expected check.ts exit code> [check.ts options...]
capture() {
  local client="$1" case="$2" handler="$3" want="$4"; shift 4
  local file="$OUT/$client-$case.txt" rc=0
  "$NODE" "$HERE/check.ts" --timeout-ms 10000 "$@" -- "$HERE/run.sh" "$client" "$handler" >"$file.raw" 2>&1 || rc=$?
  { echo "# $client / $case: run.sh $client $handler; check.ts $*"; sed "s#$ROOT#<repo>#g" "$file.raw"; } >"$file"
  rm -f "$file.raw"
  if [ "$rc" = "$want" ]; then echo "ok   $client-$case"; else echo "FAIL $client-$case (check.ts exit $rc, want $want): $file"; failed=1; fi
}

for c in "${clients[@]}"; do
  capture "$c" echo echo 0 --event '{"a": 1, "b": [true, null], "s": "x"}'
  capture "$c" http http 0 --event "$HTTP_EVENT"
  capture "$c" fail fail 0
  capture "$c" big big 0 --event '{"bytes": 100}'
  capture "$c" sleep sleep 0 --event '{"ms": 200}'
  capture "$c" crash crash 2
  case "$c" in
    node)
      capture node throw-string throwString 0
      capture node stream stream 0
      capture node stream-error stream 0 --event '{"chunks": 2, "failAfter": true}'
      capture node init-error nope 2
      capture node response-413 big 0 --event '{"bytes": 100}' --post-status 413
      ;;
    go)
      # aws-lambda-go exits after a panic and after a non-202 answer to its POST.
      capture go response-413 big 2 --event '{"bytes": 100}' --post-status 413
      capture go fail-plain failPlain 0
      capture go panic panic 2
      capture go stream stream 0
      capture go stream-error streamFail 0 --event '{"chunks": 2}'
      ;;
    python)
      capture python init-error nope 2
      capture python response-413 big 2 --event '{"bytes": 100}' --post-status 413
      ;;
  esac
done
exit "$failed"
