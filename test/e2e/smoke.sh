#!/usr/bin/env bash
# End-to-end smoke test: the built layer (dist/layer) in AWS's Runtime Interface Emulator with a
# real runtime client, exporting through a real OpenTelemetry Collector into a real Jaeger v2,
# checked through Jaeger's query API. Everything runs in private namespaces (test/e2e/rie.sh).
#
#   test/e2e/smoke.sh [go|node|python]      (default go; needs make build, make test-runtimes,
#                                            test/e2e/install-tools.sh)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
client="${1:-go}"
case "$(uname -m)" in x86_64) arch=x64 ;; *) arch=arm64 ;; esac
node="$ROOT/node_modules/node-linux-$arch/bin/node"
[ -x "$node" ] || { echo "smoke.sh: pinned Node missing at $node (make deps)" >&2; exit 1; }
exec "$HERE/rie.sh" --backends --env LRAP_LOG_LEVEL="${LRAP_LOG_LEVEL:-info}" \
  --run "'$node' '$HERE/smoke-driver.ts'" -- "$ROOT/test/runtimes/run.sh" "$client" echo
