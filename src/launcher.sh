#!/bin/sh
# Lambda starts every file in /opt/extensions as an external extension. This one
# runs the bundled extension with a Node.js that can run it:
#   1. the Node shipped beside it (standalone layer: lambda-trace-proxy/bin/node);
#   2. else the function runtime's own (slim layer on nodejs22.x / nodejs24.x):
#      /var/lang/bin/node, where Lambda's Node runtimes keep it (it is not on an
#      extension's PATH), then the first `node` on PATH.
# Paths resolve from this file's location, so the layer works from /opt or from
# an unpacked copy. POSIX sh only: no bashisms.

# The function's Node settings belong to the function's runtime, not to us.
unset NODE_OPTIONS NODE_PATH NODE_EXTRA_CA_CERTS_DISABLED NODE_COMPILE_CACHE NODE_COMPILE_CACHE_PORTABLE NODE_V8_COVERAGE

# glibc's malloc with the thresholds it settles on by itself once Node has started
# (V8's snapshot loading frees a 260 KiB buffer, which raises them to 260 KiB for
# mmap and 520 KiB for trimming the top of the heap), fixed from the start, with the
# mmap threshold at 256 KiB: V8's string table, which doubles to 256 KiB while
# tracing.cjs is compiled, then gets a mapping of its own instead of the top of the
# heap, where it kept the compiler's ~1 MiB of freed memory below it resident for
# good. Idle RSS -0.7 to -0.8 MiB; node's CPU to /event/next, per 1 KB, 1 MB and 6 MB
# cycle and page faults per cycle unchanged (test/bench/footprint.ts, same runs).
# The mmap threshold alone (glibc then trims at 128 KiB) saved 1.0-1.2 MiB but trims
# and grows the heap again and again while Node loads (brk calls 31 -> 92): +0.6-3.2
# ms CPU before /event/next in three same-run comparisons; at 128 KiB (the launcher's
# earlier setting) the first invoke in AWS's emulator was 5-6 ms later.
# Fixed, they also stop glibc from raising both after the first 6 MB event (to 6 MiB, and
# 12 MiB of freed heap kept resident): in an hour's soak beside the build before under
# glibc's defaults, quiet RSS was about 6 MB lower on demand and 6-8 MB lower on Managed
# Instances, which only then stayed within 5 % (BENCHMARKS.md, Soak, sixth run).
export MALLOC_MMAP_THRESHOLD_=262144 MALLOC_TRIM_THRESHOLD_=532480

here=${0%/*}
if [ -f "$here/extension.cjs" ]; then
  # Beside the bundles: the standalone layers' extensions/lambda-trace-proxy
  # (src/stub) execs this file and passes its own file name first.
  root=$here
  name=$1
  shift
else
  name=${0##*/}
  root="$here/../lambda-trace-proxy"
  # The slim layer: no Go launcher in front, so a hand-over variable (src/stub) came from the
  # function's environment, which extensions inherit: Node would take descriptors it does not own and
  # a registration that never happened. The list is src/settings/launcher-handover.ts's (a test checks).
  unset _LRAP_LISTEN_FD _LRAP_REGISTER_STATUS _LRAP_REGISTER_ID _LRAP_REGISTER_BODY _LRAP_REGISTER_BROKEN _LRAP_TELEMETRY_FDS
fi
bundle="$root/extension.cjs"

# The shipped Node is known at build time: no version probe, which would cost
# a process start on every cold start. No compile cache either: 0-1 ms to
# register, 1.5-5 ms to ready (test/layer/measure-startup.ts), for a build
# that would need qemu to make the arm64 one.
if [ -x "$root/bin/node" ]; then
  exec "$root/bin/node" "$bundle" --extension-name "$name" "$@"
fi

# Oldest Node the bundle supports: package.json "engines" (test/layer checks they agree).
MIN_NODE=22.15

if [ -x /var/lang/bin/node ]; then
  node=/var/lang/bin/node
else
  node=$(command -v node 2>/dev/null) || node=
fi

if [ -z "$node" ]; then
  # Nothing here speaks HTTP, so Lambda cannot be told why: it reports an
  # extension that exited before registering (Extension.Crash); this line is in the logs.
  printf '{"level":"error","msg":"%s","code":"LRAP_NODE_MISSING","ext":"%s"}\n' \
    "no Node.js to run lambda-trace-proxy: this is the slim layer, for nodejs22.x and nodejs24.x functions; other runtimes need the standalone layer (lambda-trace-proxy-x86_64 or -arm64), which brings its own Node." \
    "$name" >&2
  exit 1
fi

# The version check runs inside that Node, before the bundle is loaded: a
# separate `node --version` would cost a process start (8 ms here) on every
# cold start. Plain ES5, so that any Node can run it. A Node too old for the
# bundle still speaks HTTP: it registers and reports the init error, so the
# function's Init fails with the reason instead of a crash.
# argv: [node, bundle, --extension-name, name, ...] as if the bundle were run directly.
exec "$node" -e '
var min = "'"$MIN_NODE"'".split("."), have = process.versions.node.split(".");
if (+have[0] > +min[0] || (+have[0] === +min[0] && +have[1] >= +min[1])) {
  require(require("path").resolve(process.argv[1]));
} else {
  var name = process.argv[3], args = process.argv.slice(4);
  var errorType = "Extension.UnsupportedNode";
  var message = "lambda-trace-proxy needs Node.js " + min.join(".") + " or later; " + process.execPath + " is " + process.version +
    ". Use a nodejs22.x or nodejs24.x runtime, or the standalone layer (lambda-trace-proxy-x86_64 or -arm64), which brings its own Node.";
  process.stderr.write(JSON.stringify({ level: "error", msg: message, code: "LRAP_NODE_UNSUPPORTED", ext: name }) + "\n");
  var api = process.env.AWS_LAMBDA_RUNTIME_API || "", colon = api.lastIndexOf(":");
  if (colon < 0 || args.indexOf("--version") >= 0 || args.indexOf("--help") >= 0 || args.indexOf("-h") >= 0) process.exit(1);
  var http = require("http");
  var call = function (path, headers, body, done) {
    headers["Content-Type"] = "application/json";
    headers["Content-Length"] = Buffer.byteLength(body);
    var req = http.request({ host: api.slice(0, colon), port: +api.slice(colon + 1), method: "POST",
      path: "/2020-01-01/extension" + path, headers: headers }, function (res) {
      res.resume();
      res.on("end", function () { done(res.statusCode, res.headers); });
    });
    req.on("error", function () { process.exit(1); });
    req.end(body);
  };
  call("/register", { "Lambda-Extension-Name": name }, JSON.stringify({ events: ["SHUTDOWN"] }), function (status, headers) {
    var id = headers["lambda-extension-identifier"];
    if (status !== 200 || !id) process.exit(1);
    call("/init/error", { "Lambda-Extension-Identifier": id, "Lambda-Extension-Function-Error-Type": errorType },
      JSON.stringify({ errorMessage: message, errorType: errorType, stackTrace: [] }), function () { process.exit(1); });
  });
}
' "$bundle" --extension-name "$name" "$@"
