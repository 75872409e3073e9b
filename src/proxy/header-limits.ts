// How much head (request line, or status line, plus headers) the proxy reads on
// each socket. Lambda's Runtime API is Go's net/http server with no
// MaxHeaderBytes of its own (aws-lambda-runtime-interface-emulator,
// internal/lambda/rapi/server.go), so it reads up to http.DefaultMaxHeaderBytes
// (1 MiB) plus the 4096 bytes of bufio slop net/http allows on top. Runtime
// clients fill that: the error's cause goes in
// `Lambda-Runtime-Function-XRay-Error-Cause`, uncapped by the Node client
// (aws-lambda-cpp) and capped at 1 MiB by Java's. Node's default (16 KiB) made
// the proxy answer 400 to a 40 KB error message that Lambda would take.
//
// Node counts fewer bytes than Go for the same head (the request target, names
// and values, without separators or line ends), so the same number is at least
// as generous. Anything larger is Lambda's to refuse, not ours.
export const RUNTIME_API_MAX_HEADER_BYTES = (1 << 20) + 4096;

// Go's server has no limit on the number of headers; Node's keeps the first
// 2000 and silently drops the rest. 0 = no limit, so nothing is lost on the way.
export const RUNTIME_API_MAX_HEADERS_COUNT = 0;
