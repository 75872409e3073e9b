#!/usr/bin/env bash
# Builds the end-to-end test tools from the Go module proxy, pinned, into test/e2e/.tools/bin:
#
#   aws-lambda-rie   AWS Lambda Runtime Interface Emulator (go install of its cmd/aws-lambda-rie)
#   otelcol          OpenTelemetry Collector built with the collector builder (ocb) from
#                    test/e2e/otelcol-builder.yaml (core components + sigv4auth)
#   jaeger           Jaeger v2 (cmd/jaeger of github.com/jaegertracing/jaeger, built in the
#                    pinned tools module test/e2e/tools/jaeger, go.mod + go.sum committed)
#
# Usage: test/e2e/install-tools.sh [--force] [rie|otelcol|jaeger ...]    (no names = all three)
#
# Idempotent: each tool has a stamp (.tools/stamps/<tool>) keyed on its versions, the Go
# version, the architecture and its input files; a tool whose stamp matches and whose binary
# runs is skipped. --force rebuilds. Go's module cache and build cache (GOMODCACHE, GOCACHE,
# by default ~/go/pkg/mod and ~/.cache/go-build) are reused, so a fresh clone on a machine
# that built them once rebuilds in seconds to a minute. Fails loudly: a failed step prints
# the reason and the last 40 lines of its log (.tools/logs/<tool>.log) and exits 1.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TOOLS="$HERE/.tools"
BIN="$TOOLS/bin"
STAMPS="$TOOLS/stamps"
LOGS="$TOOLS/logs"

# ---- pinned versions -------------------------------------------------------------------
# RIE has no tagged release on the module proxy: the newest pseudo-version it serves.
RIE_MODULE=github.com/aws/aws-lambda-runtime-interface-emulator
RIE_VERSION=v0.0.0-20261030222936-bef5c4ba774d
RIE_PACKAGE=$RIE_MODULE/cmd/aws-lambda-rie
# Collector builder; the components' versions are in otelcol-builder.yaml.
OCB_PACKAGE=go.opentelemetry.io/collector/cmd/builder
OCB_VERSION=v0.165.0
# Jaeger: the module's v1.x tags carry both binaries; cmd/jaeger is Jaeger v2.
# v1.76.0 (the newest the proxy serves) = Jaeger v2.13.0. Pinned in tools/jaeger/go.mod.
JAEGER_VERSION=v1.76.0
JAEGER_V2_VERSION=v2.13.0
JAEGER_PACKAGE=github.com/jaegertracing/jaeger/cmd/jaeger
# -------------------------------------------------------------------------------------------

force=0
want=()
for a in "$@"; do
  case "$a" in
    --force) force=1 ;;
    rie|otelcol|jaeger) want+=("$a") ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "$0: unknown argument '$a' (rie, otelcol, jaeger, --force)" >&2; exit 64 ;;
  esac
done
[ ${#want[@]} -gt 0 ] || want=(rie otelcol jaeger)

die() { echo "install-tools: $*" >&2; exit 1; }

# Go: the machine's, found on PATH or at /usr/local/go (CI runs with the machine's PATH).
if ! command -v go >/dev/null 2>&1; then
  [ -x /usr/local/go/bin/go ] && export PATH="/usr/local/go/bin:$PATH" \
    || die "the Go toolchain is not installed (no 'go' on PATH nor /usr/local/go/bin/go); these tools are built from source with it"
fi
GO_VERSION="$(go env GOVERSION)"
GOARCH_="$(go env GOARCH)"
# Only the module proxy is reachable: never fall back to cloning ("direct").
export GOPROXY="${GOPROXY_E2E:-https://proxy.golang.org}"
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-buildvcs=false"
export CGO_ENABLED=0

mkdir -p "$BIN" "$STAMPS" "$LOGS"
exec 9>"$TOOLS/.lock"
flock 9

hash_files() { cat "$@" | sha256sum | cut -c1-16; }

# run_logged <tool> <what> <command...>: runs the command with its output in the tool's log;
# on failure prints the reason and the log's tail, and exits 1.
run_logged() {
  local tool="$1" what="$2"; shift 2
  local log="$LOGS/$tool.log"
  echo "+ $*" >>"$log"
  if ! nice -n 10 "$@" >>"$log" 2>&1; then
    echo "install-tools: $tool: $what failed: $*" >&2
    echo "---- last 40 lines of $log ----" >&2
    tail -n 40 "$log" >&2
    # The usual reasons, said plainly.
    if grep -q "403 Forbidden\|404 Not Found\|not available" "$log"; then
      echo "install-tools: $tool: the Go module proxy ($GOPROXY) refused a module (see above): it cannot be built here with these versions" >&2
    elif grep -q "requires go >=\|toolchain" "$log"; then
      echo "install-tools: $tool: a module needs a newer Go than $GO_VERSION (see above)" >&2
    elif grep -qi "dial tcp\|timeout\|no such host" "$log"; then
      echo "install-tools: $tool: the Go module proxy could not be reached (see above)" >&2
    fi
    exit 1
  fi
}

# fresh <tool> <key> <binary> <check-args...>: 0 when the stamp matches and the binary runs.
fresh() {
  local tool="$1" key="$2" binary="$3"; shift 3
  [ "$force" = 0 ] || return 1
  [ -f "$STAMPS/$tool" ] && [ "$(cat "$STAMPS/$tool")" = "$key" ] || return 1
  [ -x "$binary" ] && "$binary" "$@" >/dev/null 2>&1
}

timed() { local t0=$SECONDS; "$@"; echo "install-tools: ${1#build_}: $((SECONDS - t0)) s"; }

build_rie() {
  local key="rie $RIE_VERSION $GO_VERSION $GOARCH_"
  # aws-lambda-rie has no --version; --help exits 1 after printing usage, so check the file.
  if [ "$force" = 0 ] && [ -f "$STAMPS/rie" ] && [ "$(cat "$STAMPS/rie")" = "$key" ] && [ -x "$BIN/aws-lambda-rie" ]; then
    echo "install-tools: aws-lambda-rie $RIE_VERSION up to date"; return
  fi
  : >"$LOGS/rie.log"; rm -f "$STAMPS/rie"
  echo "install-tools: building aws-lambda-rie $RIE_VERSION (log: $LOGS/rie.log)"
  run_logged rie "go install" env GOBIN="$BIN" go install "$RIE_PACKAGE@$RIE_VERSION"
  [ -x "$BIN/aws-lambda-rie" ] || die "rie: go install succeeded but $BIN/aws-lambda-rie is missing"
  echo "$key" >"$STAMPS/rie"
}

build_otelcol() {
  local manifest="$HERE/otelcol-builder.yaml"
  local key="otelcol ocb-$OCB_VERSION $GO_VERSION $GOARCH_ $(hash_files "$manifest")"
  if fresh otelcol "$key" "$BIN/otelcol" --version; then
    echo "install-tools: otelcol ($("$BIN/otelcol" --version)) up to date"; return
  fi
  : >"$LOGS/otelcol.log"; rm -f "$STAMPS/otelcol"
  echo "install-tools: building otelcol with ocb $OCB_VERSION from $manifest (log: $LOGS/otelcol.log)"
  mkdir -p "$TOOLS/ocb" "$TOOLS/otelcol"
  if ! [ -x "$TOOLS/ocb/builder" ] || ! "$TOOLS/ocb/builder" version 2>/dev/null | grep -q "${OCB_VERSION#v}"; then
    run_logged otelcol "installing the collector builder" env GOBIN="$TOOLS/ocb" go install "$OCB_PACKAGE@$OCB_VERSION"
  fi
  # ocb writes the generated sources (and the binary) to dist.output_path, relative to here.
  rm -rf "$TOOLS/otelcol/src"
  (cd "$TOOLS/otelcol" && run_logged otelcol "ocb build" "$TOOLS/ocb/builder" --config "$manifest")
  install -m 0755 "$TOOLS/otelcol/src/otelcol" "$BIN/otelcol"
  "$BIN/otelcol" --version >/dev/null || die "otelcol: the built binary does not run"
  echo "$key" >"$STAMPS/otelcol"
}

build_jaeger() {
  local mod="$HERE/tools/jaeger"
  local key="jaeger $JAEGER_VERSION $JAEGER_V2_VERSION $GO_VERSION $GOARCH_ $(hash_files "$mod/go.mod" "$mod/go.sum")"
  if fresh jaeger "$key" "$BIN/jaeger" version; then
    echo "install-tools: jaeger $JAEGER_V2_VERSION ($JAEGER_VERSION) up to date"; return
  fi
  grep -q "github.com/jaegertracing/jaeger $JAEGER_VERSION" "$mod/go.mod" \
    || die "jaeger: $mod/go.mod does not require github.com/jaegertracing/jaeger $JAEGER_VERSION (update it with: cd $mod && go get -tool $JAEGER_PACKAGE@$JAEGER_VERSION)"
  : >"$LOGS/jaeger.log"; rm -f "$STAMPS/jaeger"
  echo "install-tools: building jaeger (v2) from $JAEGER_PACKAGE@$JAEGER_VERSION (log: $LOGS/jaeger.log)"
  # `go install pkg@version` refuses jaeger's module (its go.mod has a replace directive),
  # hence the tools module. -mod=readonly: go.sum is committed and must already be complete.
  run_logged jaeger "go build" go build -C "$mod" -mod=readonly -trimpath \
    -ldflags "-X github.com/jaegertracing/jaeger/internal/version.latestVersion=$JAEGER_V2_VERSION" \
    -o "$BIN/jaeger" "$JAEGER_PACKAGE"
  "$BIN/jaeger" version >/dev/null 2>&1 || die "jaeger: the built binary does not run"
  echo "$key" >"$STAMPS/jaeger"
}

for t in "${want[@]}"; do
  case "$t" in
    rie) timed build_rie ;;
    otelcol) timed build_otelcol ;;
    jaeger) timed build_jaeger ;;
  esac
done
