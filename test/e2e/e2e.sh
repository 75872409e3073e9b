#!/usr/bin/env bash
# `make e2e` (after `make build test-runtimes`): builds what the end-to-end run needs, then runs
# e2e.ts inside private namespaces, which prints the table (scenario × runtime, with reasons).
#
#   test/e2e/e2e.sh                    all four runtimes
#   E2E_RUNTIMES=node,go test/e2e/e2e.sh
#
# 1. test/e2e/install-tools.sh: RIE, the collector, Jaeger (from the Go module proxy; cached).
#    A tool that cannot be built stops the run here, with the reason: nothing can run without it.
# 2. test/e2e/functions/build.sh go / java: the Go bootstrap and the Java jar (Maven Central).
#    One that cannot be built is recorded: its runtime's cells FAIL with the reason, the others run.
# 3. unshare --mount --net --pid: loopback only, the layer (dist/layer) read-only on /opt, a
#    private /tmp; e2e.ts starts Jaeger, the collectors and one RIE at a time in there.
# Logs: test/e2e/.logs/ (emptied at each run). Needs root (unshare, mount), curl, ip.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
LOGS="$HERE/.logs"
case "$(uname -m)" in x86_64) arch=x64 ;; *) arch=arm64 ;; esac
NODE="$ROOT/node_modules/node-linux-$arch/bin/node"

if [ "${1:-}" = "--inside-namespace" ]; then
  # shellcheck source=private-mounts.sh
  . "$HERE/private-mounts.sh"
  private_mounts "$ROOT/dist/layer" "$ROOT" "$LOGS"
  status=0
  E2E_LOGS="$LOGS" "$NODE" "$HERE/e2e.ts" || status=$?
  exit "$status"
fi

fail() { echo "e2e: FAILED: $*" >&2; exit 1; }
t0=$SECONDS
[ -x "$NODE" ] || fail "the pinned Node is missing at $NODE (make deps)"
[ -f "$ROOT/dist/layer/extensions/lambda-trace-proxy" ] || fail "dist/layer is not built (make build)"
[ "$(id -u)" = 0 ] || fail "needs root: RIE runs in private mount/net/PID namespaces (unshare, mount)"
for c in unshare ip curl; do command -v "$c" >/dev/null || fail "'$c' is not installed (util-linux, iproute2, curl)"; done

rm -rf "$LOGS"
mkdir -p "$LOGS/unavailable"
echo "e2e: building the tools (test/e2e/install-tools.sh)"
"$HERE/install-tools.sh" || fail "a tool could not be built (see above): RIE, the collector and Jaeger are all needed"

for f in go java; do
  echo "e2e: building the $f function (test/e2e/functions/build.sh $f)"
  if ! "$HERE/functions/build.sh" "$f" 2>"$LOGS/build-$f.err"; then
    cat "$LOGS/build-$f.err" >&2
    reason="$(grep '^functions/build.sh: ' "$LOGS/build-$f.err" | tail -n 2 | tr '\n' ' ')"
    echo "${reason:-build failed, see $LOGS/build-$f.err}" >"$LOGS/unavailable/$f"
    echo "e2e: the $f function could not be built; its cells will fail" >&2
  fi
done
echo "e2e: builds done in $((SECONDS - t0)) s"

status=0
unshare --mount --net --pid --fork --mount-proc --propagation private \
  "$BASH" "$0" --inside-namespace || status=$?
echo "e2e: total $((SECONDS - t0)) s (builds included); exit $status"
exit "$status"
