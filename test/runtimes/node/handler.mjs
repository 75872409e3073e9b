// Sample function for the real Node.js runtime interface client (aws-lambda-ric).
// The RIC loads this file from $LAMBDA_TASK_ROOT and calls the export named by
// $_HANDLER, e.g. _HANDLER=handler.echo. See ../README.md for the wire facts.

const sleepMs = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Header lookup that ignores case, for API Gateway v1/v2 and ALB events. */
function header(event, name) {
  const want = name.toLowerCase();
  for (const [key, value] of Object.entries(event?.headers ?? {})) {
    if (key.toLowerCase() === want) return value;
  }
  for (const [key, values] of Object.entries(event?.multiValueHeaders ?? {})) {
    if (key.toLowerCase() === want && Array.isArray(values) && values.length > 0) {
      return values[values.length - 1];
    }
  }
  return null;
}

/** Returns the event unchanged. */
export const echo = async (event) => event;

/** API Gateway / ALB style response reporting the trace headers the function received. */
export const http = async (event, context) => ({
  statusCode: 200,
  headers: { "content-type": "application/json" },
  body: JSON.stringify({
    traceparent: header(event, "traceparent"),
    tracestate: header(event, "tracestate"),
    xAmznTraceIdHeader: header(event, "x-amzn-trace-id"),
    // Set by the RIC from the Lambda-Runtime-Trace-Id header of /next.
    xAmznTraceIdEnv: process.env._X_AMZN_TRACE_ID ?? null,
    awsRequestId: context?.awsRequestId ?? null,
    invokedFunctionArn: context?.invokedFunctionArn ?? null,
  }),
});

export class OrderError extends Error {
  constructor(message) {
    super(message);
    this.name = "OrderError";
  }
}

/** Rejected promise with a custom Error subclass. */
export const fail = async (event) => {
  throw new OrderError(event?.message ?? "order 42 could not be placed");
};

/** Throws something that is not an Error. */
export const throwString = async () => {
  // eslint-disable-next-line no-throw-literal
  throw "a plain string was thrown";
};

/**
 * The POSTed /response body is exactly event.bytes bytes: the RIC JSON-encodes
 * the result, so a string of bytes-2 "x" gets its two quotes added.
 */
export const big = async (event) => {
  const bytes = Number(event?.bytes ?? 1024);
  if (!Number.isInteger(bytes) || bytes < 2) throw new RangeError(`bytes must be an integer >= 2, got ${event?.bytes}`);
  return "x".repeat(bytes - 2);
};

/** Response streaming: 5 chunks, event.pauseMs (default 100) apart, then end. */
// `awslambda` is the global the RIC sets up before it loads this file.
const streamifyResponse = globalThis.awslambda?.streamifyResponse ?? ((fn) => fn);

export const stream = streamifyResponse(async (event, responseStream) => {
  const chunks = Number(event?.chunks ?? 5);
  const pauseMs = Number(event?.pauseMs ?? 100);
  responseStream.setContentType("text/plain");
  for (let i = 1; i <= chunks; i++) {
    responseStream.write(`chunk ${i}/${chunks}\n`);
    if (i < chunks) await sleepMs(pauseMs);
  }
  if (event?.failAfter) {
    // Mid-stream failure: the RIC puts it in the request trailers.
    throw new OrderError("stream broke after the last chunk");
  }
  responseStream.end();
});

/** Waits event.ms (default 1000) then returns; for timeout tests. */
export const sleep = async (event) => {
  const ms = Number(event?.ms ?? 1000);
  await sleepMs(ms);
  return { slept: ms };
};

/** Exits the runtime process in the middle of an invoke. */
export const crash = async (event) => {
  process.exit(Number(event?.code ?? 1));
};

/**
 * Grows the V8 heap until it dies: run with --max-old-space-size, V8 prints
 * "JavaScript heap out of memory" and aborts, and the runtime posts nothing.
 */
export const oom = async () => {
  const held = [];
  for (;;) held.push(new Array(100_000).fill(held.length));
};

/**
 * Throws an OrderError whose message is event.messageBytes (default 40,000)
 * bytes long, from event.depth (default 200) nested calls: the client puts
 * message and stack in `Lambda-Runtime-Function-XRay-Error-Cause`, a header
 * far above Node's default 16 KiB limit.
 */
export const failLong = async (event) => {
  const bytes = Number(event?.messageBytes ?? 40_000);
  const depth = Number(event?.depth ?? 200);
  Error.stackTraceLimit = Infinity;
  const message = "validation failed for input: " + "0123456789abcdef".repeat(Math.ceil(bytes / 16));
  const nest = (n) => {
    if (n === 0) throw new OrderError(message.slice(0, bytes));
    return nest(n - 1) + 1; // not a tail call: every frame stays on the stack
  };
  return nest(depth);
};
