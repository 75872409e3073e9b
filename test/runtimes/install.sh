#!/usr/bin/env bash
# Installs the real AWS Lambda runtime interface clients that the integration tests and
# `make demo` run behind the proxy, with their sample functions (see README.md here):
#
#   node    aws-lambda-ric 4.0.2 (npm), native part compiled against the repo's pinned Node
#           -> test/runtimes/node/node_modules/
#   go      github.com/aws/aws-lambda-go v1.55.1, static provided.al2023-style binary
#           -> test/runtimes/go/bootstrap
#   python  awslambdaric 4.2.2 (PyPI wheel) in a venv -> test/runtimes/python/.venv/
#
# Usage: test/runtimes/install.sh [--force] [node|go|python ...]   (no names: all three)
#   --force   rebuild even when the stamp says the build is up to date
# Environment:
#   LTP_RUNTIMES_CACHE  where the built Node client is cached between clones
#                       (default ${XDG_CACHE_HOME:-~/.cache}/lambda-trace-proxy/runtimes; "off" disables)
#   PYTHON              interpreter for the venv (default python3; needs >= 3.10)
#
# Idempotent: each part writes a stamp keyed on every version and input file, and is
# skipped while the stamp matches. Safe in CI on a clean clone (as root it apt-get installs
# the few Debian build packages it needs, and only when one is missing). Needs the repo's
# npm dependencies installed first (`make deps`), for the pinned Node.
set -euo pipefail

RIC_VERSION=4.0.2            # npm aws-lambda-ric; also in node/package.json + package-lock.json
AWS_LAMBDA_GO_VERSION=v1.55.1 # also in go/go.mod + go.sum
AWSLAMBDARIC_VERSION=4.2.2   # PyPI awslambdaric; also in python/requirements.txt
BUILD_DEBS=(autoconf automake libtool cmake g++ make python3 xz-utils)

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
case "$(uname -m)" in
  x86_64) ARCH=x64 ;;
  aarch64 | arm64) ARCH=arm64 ;;
  *) echo "install.sh: unsupported machine $(uname -m)" >&2; exit 1 ;;
esac
NODE_DIR="$ROOT/node_modules/node-linux-$ARCH"
NODE="$NODE_DIR/bin/node"
CACHE="${LTP_RUNTIMES_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lambda-trace-proxy/runtimes}"

FORCE=0
PARTS=()
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    node | go | python) PARTS+=("$arg") ;;
    -h | --help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument '$arg' (try --help)" >&2; exit 64 ;;
  esac
done
[ ${#PARTS[@]} -gt 0 ] || PARTS=(node go python)

say() { printf '[runtimes] %s\n' "$*"; }
die() { printf '[runtimes] ERROR: %s\n' "$*" >&2; exit 1; }
# Prints the tail of a build log and fails.
die_log() { echo "----- last 40 lines of $2 -----" >&2; tail -n 40 "$2" >&2 || true; die "$1 (full log: $2)"; }
hash_of() { cat "$@" | sha256sum | cut -c1-16; }
stamp_ok() { [ "$FORCE" = 0 ] && [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; }

# Only one install at a time per work tree (parallel test runners may all call it).
exec 9>"$HERE/.install.lock"
flock 9

ensure_debs() {
  local missing=() p
  for p in "$@"; do
    # No `| grep -q`: it may exit before dpkg-query is done, and pipefail turns the SIGPIPE into a failure.
    [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" == *'install ok installed'* ]] || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" = 0 ] || die "missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install -y ${missing[*]})"
  local log="$HERE/apt.log"
  say "apt-get install ${missing[*]}"
  apt-get update >"$log" 2>&1 || die_log "apt-get update failed" "$log"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >>"$log" 2>&1 \
    || die_log "apt-get install ${missing[*]} failed" "$log"
}

install_node() {
  local dir="$HERE/node" log="$HERE/node/build.log"
  [ -x "$NODE" ] || die "pinned Node not found at $NODE: install the repo's npm dependencies first (make deps)"
  local node_version; node_version="$("$NODE" --version)"
  local major="${node_version#v}"; major="${major%%.*}"
  [ "$major" -ge 22 ] 2>/dev/null || die "aws-lambda-ric $RIC_VERSION needs Node >= 22, the pinned one is $node_version"
  grep -q "\"aws-lambda-ric\": \"$RIC_VERSION\"" "$dir/package.json" \
    || die "node/package.json does not pin aws-lambda-ric $RIC_VERSION"
  local glibc; glibc="$(ldd --version 2>&1 | awk 'NR == 1 { print $NF }')"
  local key="aws-lambda-ric=$RIC_VERSION node=$node_version arch=$ARCH glibc=$glibc inputs=$(hash_of "$dir/package.json" "$dir/package-lock.json")"
  local stamp="$dir/node_modules/.ltp-runtime-stamp"
  local addon="$dir/node_modules/aws-lambda-ric/rapid-client.node"
  if stamp_ok "$stamp" "$key" && [ -f "$addon" ]; then
    say "node: aws-lambda-ric $RIC_VERSION up to date"; return 0
  fi
  local t0=$SECONDS
  local tarball="$CACHE/aws-lambda-ric-$RIC_VERSION-$ARCH-$(printf '%s' "$key" | sha256sum | cut -c1-16).tar.gz"
  rm -rf "$dir/node_modules"
  if [ "$CACHE" != off ] && [ "$FORCE" = 0 ] && [ -f "$tarball" ] && tar -xzf "$tarball" -C "$dir" 2>/dev/null; then
    say "node: restored aws-lambda-ric $RIC_VERSION from $tarball"
  else
    rm -rf "$dir/node_modules"
    say "node: building aws-lambda-ric $RIC_VERSION (curl + aws-lambda-cpp + addon from source, ~45 s on 2 cores)"
    ensure_debs "${BUILD_DEBS[@]}"
    command -v npm >/dev/null || die "npm not found on PATH"
    # npm runs on the pinned Node (its shebang is `env node`), and node-gyp builds against
    # the pinned Node's headers, not /usr (~/.npmrc's nodedir); allowScripts in
    # node/package.json lets npm 11 run aws-lambda-ric's preinstall/postinstall.
    if ! (cd "$dir" && PATH="$NODE_DIR/bin:$PATH" npm_config_nodedir="$NODE_DIR" \
      npm ci --no-audit --no-fund --foreground-scripts >"$log" 2>&1); then
      die_log "node: npm ci of aws-lambda-ric $RIC_VERSION failed" "$log"
    fi
    [ -f "$addon" ] || die_log "node: npm ci finished but $addon was not built (install scripts skipped? see allowScripts in node/package.json)" "$log"
    if [ "$CACHE" != off ]; then
      mkdir -p "$CACHE" && tar -czf "$tarball.tmp.$$" -C "$dir" node_modules && mv -f "$tarball.tmp.$$" "$tarball" \
        || say "node: warning: could not write cache $tarball"
    fi
  fi
  # (the addon reads AWS_LAMBDA_RUNTIME_API when it loads and aborts if it is unset)
  AWS_LAMBDA_RUNTIME_API=127.0.0.1:9 "$NODE" -e 'require(process.argv[1])' "$addon" \
    || { rm -f "$tarball"; die "node: $addon does not load in $node_version (cache entry removed; run again to rebuild)"; }
  printf '%s' "$key" >"$stamp"
  say "node: aws-lambda-ric $RIC_VERSION ready in $((SECONDS - t0)) s"
}

install_go() {
  local dir="$HERE/go" log="$HERE/go/build.log"
  command -v go >/dev/null || die "go not found on PATH (the Go toolchain comes with the machine)"
  grep -q "github.com/aws/aws-lambda-go $AWS_LAMBDA_GO_VERSION\$" "$dir/go.mod" \
    || die "go/go.mod does not pin github.com/aws/aws-lambda-go $AWS_LAMBDA_GO_VERSION"
  local key="aws-lambda-go=$AWS_LAMBDA_GO_VERSION $(go env GOVERSION GOOS GOARCH | tr '\n' ' ')inputs=$(hash_of "$dir/go.mod" "$dir/go.sum" "$dir"/*.go)"
  local stamp="$dir/.bootstrap.stamp"
  if stamp_ok "$stamp" "$key" && [ -x "$dir/bootstrap" ]; then
    say "go: bootstrap (aws-lambda-go $AWS_LAMBDA_GO_VERSION) up to date"; return 0
  fi
  local t0=$SECONDS
  say "go: building bootstrap with aws-lambda-go $AWS_LAMBDA_GO_VERSION ($(go env GOVERSION))"
  # Static, like a provided.al2023 bootstrap; lambda.norpc drops the legacy go1.x RPC mode.
  if ! (cd "$dir" && CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -mod=readonly" \
    go build -trimpath -tags lambda.norpc -o bootstrap.tmp . >"$log" 2>&1); then
    rm -f "$dir/bootstrap.tmp"; die_log "go: build failed" "$log"
  fi
  mv -f "$dir/bootstrap.tmp" "$dir/bootstrap"
  printf '%s' "$key" >"$stamp"
  say "go: bootstrap ready in $((SECONDS - t0)) s"
}

install_python() {
  local dir="$HERE/python" venv="$HERE/python/.venv" log="$HERE/python/build.log"
  local py="${PYTHON:-python3}"
  command -v "$py" >/dev/null || die "python: $py not found"
  "$py" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
    || die "python: awslambdaric $AWSLAMBDARIC_VERSION needs Python >= 3.10, $py is $("$py" --version 2>&1)"
  grep -q "^awslambdaric==$AWSLAMBDARIC_VERSION\$" "$dir/requirements.txt" \
    || die "python/requirements.txt does not pin awslambdaric==$AWSLAMBDARIC_VERSION"
  local pyver; pyver="$("$py" -c 'import sys, platform; print(sys.version.split()[0], platform.machine())')"
  local key="awslambdaric=$AWSLAMBDARIC_VERSION python=$pyver at=$(command -v "$py") inputs=$(hash_of "$dir/requirements.txt")"
  local stamp="$venv/.ltp-runtime-stamp"
  if stamp_ok "$stamp" "$key" && [ -x "$venv/bin/python" ]; then
    say "python: awslambdaric $AWSLAMBDARIC_VERSION up to date"; return 0
  fi
  local t0=$SECONDS
  say "python: installing awslambdaric $AWSLAMBDARIC_VERSION into python/.venv ($pyver)"
  rm -rf "$venv"
  if ! "$py" -m venv "$venv" >"$log" 2>&1; then
    # Debian's own python3 needs python3-venv for ensurepip.
    ensure_debs python3-venv
    rm -rf "$venv"
    "$py" -m venv "$venv" >"$log" 2>&1 || die_log "python: could not create the venv" "$log"
  fi
  # A manylinux wheel exists for CPython 3.10-3.14 on x86_64/aarch64; without one pip builds
  # from the sdist (compiles libcurl + aws-lambda-cpp: needs the build packages).
  local pip=("$venv/bin/pip" install --disable-pip-version-check --no-input -r "$dir/requirements.txt")
  if ! "${pip[@]}" --only-binary=awslambdaric >>"$log" 2>&1; then
    say "python: no awslambdaric wheel for $pyver, building it from source"
    ensure_debs "${BUILD_DEBS[@]}"
    "${pip[@]}" >>"$log" 2>&1 || die_log "python: pip install -r python/requirements.txt failed" "$log"
  fi
  "$venv/bin/python" -c 'import awslambdaric.bootstrap, runtime_client' \
    || die "python: awslambdaric does not import in $venv"
  printf '%s' "$key" >"$stamp"
  say "python: awslambdaric $AWSLAMBDARIC_VERSION ready in $((SECONDS - t0)) s"
}

for part in "${PARTS[@]}"; do "install_$part"; done
