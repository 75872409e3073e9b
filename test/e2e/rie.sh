#!/usr/bin/env bash
# Runs AWS's Lambda Runtime Interface Emulator (RIE) with a layer mounted at /opt, in private
# mount, network and PID namespaces, and drives it from inside the same namespaces.
#
#   test/e2e/rie.sh [options] -- <runtime command...>
#
# e.g.  test/e2e/rie.sh --backends --invoke '{"a":1}' -- test/runtimes/run.sh go echo
#       test/e2e/rie.sh --layer /tmp/opt --no-wrapper --run 'curl -sd {} $RIE_INVOKE_URL' -- test/runtimes/run.sh node echo
#
# What it does (needs root, or at least CAP_SYS_ADMIN, for unshare and mount):
#   1. unshare --mount --net --pid --fork --mount-proc: nothing it starts can reach or be
#      reached from outside (only a loopback interface, brought up here), /opt is private to
#      it, and every process left when it ends is killed by the kernel with the namespace.
#   2. bind-mounts the layer (default dist/layer) read-only on /opt: RIE looks for external
#      extensions in /opt/extensions only, and our wrapper is /opt/wrapper-script.sh. Mounts a
#      private tmpfs on /tmp (the repo and --logs are bound back if they live under /tmp).
#   3. with --backends: starts Jaeger v2 (all-in-one, in-memory; OTLP 4317/4318, query UI/API
#      16686) and the OpenTelemetry Collector (collector-config/jaeger.yaml, OTLP in on
#      14317/14318, out to Jaeger), and sets OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:14318
#      for the function's environment.
#   4. starts aws-lambda-rie (127.0.0.1:8080) with /opt/wrapper-script.sh in front of the
#      runtime command (RIE never reads AWS_LAMBDA_EXEC_WRAPPER; Lambda's managed runtimes do,
#      OS-only runtimes don't: both cases end up as "wrapper runtime-command"). --no-wrapper
#      runs the command as is.
#   5. invokes it (--invoke, default one '{}' event) or runs --run's shell command, then sends
#      SIGTERM to RIE, which sends SHUTDOWN to the extensions and waits up to 2 s for them.
#
# Options:
#   --layer DIR       mounted at /opt (default: <repo>/dist/layer)
#   --no-wrapper      do not put /opt/wrapper-script.sh in front of the runtime command
#   --backends        start Jaeger + collector inside the namespace (see 3.)
#   --invoke JSON     invoke once with this event; repeatable; printed: status line and body
#   --run CMD         instead of --invoke, run CMD with bash -c once RIE listens. It gets
#                     RIE_INVOKE_URL, RIE_LOGS, and with --backends JAEGER_QUERY_URL,
#                     COLLECTOR_OTLP_HTTP_URL, JAEGER_OTLP_HTTP_URL. Its exit code is ours.
#   --env NAME=VALUE  set in RIE's environment, which RIE passes on to the runtime and the
#                     extensions; repeatable
#   --inherit-env     start RIE with this shell's whole environment; the default is a clean
#                     one, as in Lambda: PATH, LANG, TZ, AWS_REGION=us-east-1,
#                     AWS_LAMBDA_FUNCTION_TIMEOUT=30, plus --env
#   --logs DIR        where the logs go (default: a new temporary directory, printed)
#   --keep-going S    after the last invoke, wait S seconds before SIGTERM (default 1)
#
# Logs in --logs: rie.log (RIE, runtime and extensions' stdout/stderr), jaeger.log,
# otelcol.log, invoke-N.txt. The tools come from test/e2e/install-tools.sh.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BIN="$HERE/.tools/bin"

layer="$ROOT/dist/layer"
wrapper=1
backends=0
invokes=()
run_cmd=""
extra_env=()
inherit=0
logs=""
linger=1
inside=0

while [ $# -gt 0 ]; do
  case "$1" in
    --layer) layer="$2"; shift 2 ;;
    --no-wrapper) wrapper=0; shift ;;
    --backends) backends=1; shift ;;
    --invoke) invokes+=("$2"); shift 2 ;;
    --run) run_cmd="$2"; shift 2 ;;
    --env) extra_env+=("$2"); shift 2 ;;
    --inherit-env) inherit=1; shift ;;
    --logs) logs="$2"; shift 2 ;;
    --keep-going) linger="$2"; shift 2 ;;
    --inside-namespace) inside=1; shift ;;
    --) shift; break ;;
    -h|--help) sed -n '2,47p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "rie.sh: unknown option '$1' (--help)" >&2; exit 64 ;;
  esac
done
[ $# -gt 0 ] || { echo "rie.sh: no runtime command (after --)" >&2; exit 64; }
runtime=("$@")

if [ "$inside" = 0 ]; then
  [ -x "$BIN/aws-lambda-rie" ] || { echo "rie.sh: $BIN/aws-lambda-rie missing: run test/e2e/install-tools.sh rie" >&2; exit 1; }
  if [ "$backends" = 1 ]; then
    for t in jaeger otelcol; do
      [ -x "$BIN/$t" ] || { echo "rie.sh: $BIN/$t missing: run test/e2e/install-tools.sh $t" >&2; exit 1; }
    done
  fi
  [ -d "$layer" ] || { echo "rie.sh: layer directory $layer missing (make build?)" >&2; exit 1; }
  [ -d "$layer/extensions" ] || echo "rie.sh: warning: $layer has no extensions/ directory" >&2
  if [ "$wrapper" = 1 ] && [ ! -x "$layer/wrapper-script.sh" ]; then
    echo "rie.sh: $layer/wrapper-script.sh missing (use --no-wrapper to run without it)" >&2; exit 1
  fi
  command -v unshare >/dev/null || { echo "rie.sh: unshare (util-linux) not found" >&2; exit 1; }
  command -v ip >/dev/null || { echo "rie.sh: ip (iproute2) not found" >&2; exit 1; }
  if [ -z "$logs" ]; then logs="$(mktemp -d "${TMPDIR:-/tmp}/rie-e2e.XXXXXX")"; fi
  mkdir -p "$logs"
  logs="$(cd "$logs" && pwd)"
  layer="$(cd "$layer" && pwd)"
  echo "rie.sh: logs in $logs" >&2
  args=(--inside-namespace --layer "$layer" --logs "$logs" --keep-going "$linger")
  [ "$wrapper" = 1 ] || args+=(--no-wrapper)
  [ "$backends" = 0 ] || args+=(--backends)
  [ "$inherit" = 0 ] || args+=(--inherit-env)
  [ -z "$run_cmd" ] || args+=(--run "$run_cmd")
  for i in "${invokes[@]+"${invokes[@]}"}"; do args+=(--invoke "$i"); done
  for e in "${extra_env[@]+"${extra_env[@]}"}"; do args+=(--env "$e"); done
  exec unshare --mount --net --pid --fork --mount-proc --propagation private \
    "$BASH" "$0" "${args[@]}" -- "${runtime[@]}"
fi

# ---- inside the namespaces (PID 1) -------------------------------------------------------
# shellcheck source=private-mounts.sh
. "$HERE/private-mounts.sh"
# The repo and the logs directory stay visible when they live under /tmp; other /tmp paths a
# --run command or --env refers to are not visible inside.
private_mounts "$layer" "$ROOT" "$logs"

fn_env=()
if [ "$backends" = 1 ]; then
  # Jaeger v2 without --config: its built-in all-in-one configuration (in-memory storage,
  # OTLP gRPC 4317 + HTTP 4318, query UI/API 16686, its own metrics on 8888).
  "$BIN/jaeger" >"$logs/jaeger.log" 2>&1 &
  jaeger_pid=$!
  export JAEGER_QUERY_URL=http://127.0.0.1:16686 JAEGER_OTLP_HTTP_URL=http://127.0.0.1:4318 \
    COLLECTOR_OTLP_HTTP_URL=http://127.0.0.1:14318
  wait_http "$JAEGER_QUERY_URL/" 60 jaeger "$jaeger_pid" "$logs/jaeger.log"
  wait_http "$JAEGER_OTLP_HTTP_URL/" 30 "jaeger OTLP" "$jaeger_pid" "$logs/jaeger.log"
  # Only now the collector: started beside Jaeger, its gRPC connection to 4317 fails at
  # first and backs off, and the first export waits ~5 s for the retry.
  # The collector's own metrics would also take 127.0.0.1:8888: switched off here.
  env JAEGER_ENDPOINT=127.0.0.1:4317 JAEGER_TLS_INSECURE=true \
    OTLP_GRPC_LISTEN=127.0.0.1:14317 OTLP_HTTP_LISTEN=127.0.0.1:14318 DEBUG_VERBOSITY=basic \
    "$BIN/otelcol" --config "$ROOT/collector-config/jaeger.yaml" \
    --set=service::telemetry::metrics::level=none >"$logs/otelcol.log" 2>&1 &
  otelcol_pid=$!
  wait_http "$COLLECTOR_OTLP_HTTP_URL/" 30 collector "$otelcol_pid" "$logs/otelcol.log"
  fn_env+=(OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:14318)
fi

if [ "$inherit" = 1 ]; then
  rie_env=(env)
else
  rie_env=(env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/opt/bin
    LANG=C.UTF-8 TZ=:UTC AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
    AWS_LAMBDA_FUNCTION_TIMEOUT=30)
fi
rie_env+=("${fn_env[@]+"${fn_env[@]}"}" "${extra_env[@]+"${extra_env[@]}"}")
cmd=("${runtime[@]}")
[ "$wrapper" = 0 ] || cmd=(/opt/wrapper-script.sh "${cmd[@]}")

# RIE takes the last argument as the handler when it gets more than one, and sets _HANDLER
# to it: keep that in mind with commands that read $_HANDLER (test/runtimes/run.sh sets its own).
"${rie_env[@]}" "$BIN/aws-lambda-rie" --runtime-interface-emulator-address 127.0.0.1:8080 "${cmd[@]}" \
  >"$logs/rie.log" 2>&1 &
rie_pid=$!
export RIE_INVOKE_URL=http://127.0.0.1:8080/2015-03-31/functions/function/invocations RIE_LOGS="$logs"
wait_http http://127.0.0.1:8080/ 30 aws-lambda-rie "$rie_pid" "$logs/rie.log"

status=0
if [ -n "$run_cmd" ]; then
  bash -c "$run_cmd" || status=$?
else
  [ ${#invokes[@]} -gt 0 ] || invokes=('{}')
  n=0
  for ev in "${invokes[@]}"; do
    n=$((n + 1))
    code=$(curl -sS -o "$logs/invoke-$n.txt" -w '%{http_code}' --max-time 330 -XPOST "$RIE_INVOKE_URL" -d "$ev") || status=$?
    echo "invoke $n: HTTP $code: $(head -c 2000 "$logs/invoke-$n.txt")"
  done
fi

sleep "$linger"
kill -TERM "$rie_pid" 2>/dev/null || true
for _ in $(seq 50); do kill -0 "$rie_pid" 2>/dev/null || break; sleep 0.1; done
exit "$status"
