#!/usr/bin/env bash
# Builds the e2e functions that need building: the Go bootstrap (aws-lambda-go, pinned in go/go.mod)
# and the Java jar with AWS's Java runtime interface client and its jars (java/pom.xml). The Node
# and Python functions run on the clients test/runtimes/install.sh installs.
#
#   test/e2e/functions/build.sh [--force] [go|java ...]      (no names = both)
#
# Idempotent: a stamp per function (go/.build.stamp, java/target/.build.stamp) keyed on the tool
# versions and the input files; skipped while it matches. Go's build cache and Maven's local
# repository (~/.cache/go-build, ~/.m2) persist on a machine, so a fresh clone rebuilds in
# seconds. Fails loudly: the reason and the last 40 lines of the log (<function>/build.log), exit 1.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
force=0
want=()
for a in "$@"; do
  case "$a" in
    --force) force=1 ;;
    go|java) want+=("$a") ;;
    *) echo "$0: unknown argument '$a' (go, java, --force)" >&2; exit 64 ;;
  esac
done
[ ${#want[@]} -gt 0 ] || want=(go java)

die() { echo "functions/build.sh: $*" >&2; exit 1; }
hash_files() { cat "$@" | sha256sum | cut -c1-16; }
fresh() { [ "$force" = 0 ] && [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; }
run_logged() { # run_logged <log> <what> <command...>
  local log="$1" what="$2"; shift 2
  echo "+ $*" >>"$log"
  if ! nice -n 10 "$@" >>"$log" 2>&1; then
    echo "functions/build.sh: $what failed: $*" >&2
    echo "---- last 40 lines of $log ----" >&2
    tail -n 40 "$log" >&2; echo >&2
    if grep -q "403 Forbidden\|404 Not Found\|not available\|Could not resolve\|Could not transfer" "$log"; then
      echo "functions/build.sh: $what: a registry refused or could not serve a package (see above)" >&2
    fi
    exit 1
  fi
}

build_go() {
  local dir="$HERE/go"
  if ! command -v go >/dev/null 2>&1; then
    [ -x /usr/local/go/bin/go ] && export PATH="/usr/local/go/bin:$PATH" \
      || die "go: the Go toolchain is not installed (no 'go' on PATH nor /usr/local/go/bin/go)"
  fi
  local key; key="$(go env GOVERSION) $(go env GOARCH) $(hash_files "$dir/go.mod" "$dir/go.sum" "$dir/main.go")"
  if fresh "$dir/.build.stamp" "$key" && [ -x "$dir/bootstrap" ]; then echo "functions/build.sh: go bootstrap up to date"; return; fi
  : >"$dir/build.log"; rm -f "$dir/.build.stamp"
  local t0=$SECONDS
  # Only the module proxy is reachable: never "direct". -mod=readonly: go.sum is committed.
  run_logged "$dir/build.log" "go build" env GOPROXY="${GOPROXY_E2E:-https://proxy.golang.org}" \
    GOFLAGS=-buildvcs=false CGO_ENABLED=0 go build -C "$dir" -mod=readonly -trimpath -o bootstrap .
  echo "$key" >"$dir/.build.stamp"
  echo "functions/build.sh: go bootstrap built in $((SECONDS - t0)) s"
}

build_java() {
  local dir="$HERE/java"
  command -v java >/dev/null 2>&1 || die "java: no 'java' on PATH (a JDK 17 or newer is needed)"
  command -v mvn >/dev/null 2>&1 || die "java: no 'mvn' on PATH (Maven builds the function and fetches the runtime client)"
  local key; key="$(java -version 2>&1 | head -1) $(mvn -v 2>/dev/null | head -1) $(hash_files "$dir/pom.xml" $(find "$dir/src" -type f | sort))"
  if fresh "$dir/target/.build.stamp" "$key" && [ -f "$dir/target/function.jar" ]; then echo "functions/build.sh: java function up to date"; return; fi
  mkdir -p "$dir/target"
  : >"$dir/build.log"; rm -f "$dir/target/.build.stamp"
  local t0=$SECONDS
  rm -rf "$dir/target/lib"
  run_logged "$dir/build.log" "mvn package" mvn -B -q -Dstyle.color=never -f "$dir/pom.xml" package
  echo "$key" >"$dir/target/.build.stamp"
  echo "functions/build.sh: java function built in $((SECONDS - t0)) s"
}

for f in "${want[@]}"; do "build_$f"; done
