// The e2e tests' function for AWS's Node.js runtime interface client (aws-lambda-ric, built by
// test/runtimes/install.sh). `handler` picks what to do from the event; `stream` is a response
// streaming handler (only this client supports it). Same contract in the four languages:
// test/e2e/README.md, "The functions".

/** A failure the function means to report. */
export class OrderError extends Error {
  constructor(message) {
    super(message);
    this.name = "OrderError";
  }
}

/** Header lookup that ignores case, for API Gateway v1/v2 and ALB events. */
function header(event, name) {
  for (const [key, value] of Object.entries(event?.headers ?? {})) {
    if (key.toLowerCase() === name) return value;
  }
  for (const [key, values] of Object.entries(event?.multiValueHeaders ?? {})) {
    if (key.toLowerCase() === name && Array.isArray(values) && values.length > 0) return values[values.length - 1];
  }
  return null;
}

export const handler = async (event, context) => {
  if (event?.httpMethod || event?.requestContext) {
    return {
      statusCode: 200,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        traceparent: header(event, "traceparent"),
        tracestate: header(event, "tracestate"),
        awsRequestId: context.awsRequestId,
      }),
    };
  }
  switch (event?.scenario) {
    case "success":
      return { ok: true, runtime: "node", requestId: context.awsRequestId, traceparent: header(event, "traceparent") };
    case "handled":
      throw new OrderError("order 42 could not be placed");
    case "unhandled": {
      // A bug: nothing catches the TypeError.
      const order = event.order;
      return order.items.length;
    }
    case "big":
      // JSON-encoded by the client: the two quotes make it exactly event.bytes bytes.
      return "x".repeat(event.bytes - 2);
    case "sleep":
      await new Promise((resolve) => setTimeout(resolve, event.ms));
      return { slept: event.ms };
    default:
      throw new Error(`unknown scenario ${JSON.stringify(event?.scenario)}`);
  }
};

// `awslambda` is the global the client sets up before it loads this file.
export const stream = awslambda.streamifyResponse(async (event, responseStream) => {
  responseStream.setContentType("text/plain");
  for (let i = 1; i <= event.chunks; i++) {
    responseStream.write(`chunk ${i}/${event.chunks}\n`);
    if (i < event.chunks) await new Promise((resolve) => setTimeout(resolve, event.pauseMs));
  }
  responseStream.end();
});
