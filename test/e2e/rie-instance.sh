#!/usr/bin/env bash
# One RIE instance for e2e.ts, as PID 1 of its own PID namespace inside e2e.sh's namespaces, so
# that nothing it started outlives it (RIE does not kill grandchildren of extensions):
#
#   unshare --pid --fork --mount-proc test/e2e/rie-instance.sh <log> [NAME=VALUE ...] -- <runtime command...>
#
# Starts aws-lambda-rie on 127.0.0.1:8080 with /opt/wrapper-script.sh in front of the runtime
# command, in a clean environment (as rie.sh: PATH, LANG, TZ, AWS_REGION, plus the NAME=VALUEs).
# SIGTERM to this script = SIGTERM to RIE (environment shutdown: SHUTDOWN to the extensions),
# then it waits for RIE to end.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
log="$1"; shift
vars=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do vars+=("$1"); shift; done
shift
# A previous instance's hand-over file must not be read by this one.
rm -f /tmp/.lambda-trace-proxy-*.instance
env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/opt/bin LANG=C.UTF-8 TZ=:UTC \
  AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 "${vars[@]}" \
  "$HERE/.tools/bin/aws-lambda-rie" --runtime-interface-emulator-address 127.0.0.1:8080 \
  /opt/wrapper-script.sh "$@" >>"$log" 2>&1 &
rie=$!
trap 'kill -TERM "$rie" 2>/dev/null; wait "$rie"; exit $?' TERM
wait "$rie"
