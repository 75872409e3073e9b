// The demo's sample function, run by AWS's Node.js runtime interface client
// (aws-lambda-ric) behind lambda-trace-proxy. It knows nothing of tracing: it
// only reports the traceparent it was handed, to show that its own
// instrumentation would continue the invocation's trace.

export class PaymentDeclined extends Error {
  constructor(message) {
    super(message);
    this.name = 'PaymentDeclined';
  }
}

export const handler = async (event) => {
  if (event?.requestContext) {
    // API Gateway / function URL: answer as an HTTP integration.
    const traceparent = event.headers?.traceparent ?? event.multiValueHeaders?.traceparent?.[0] ?? null;
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ hello: 'from the demo', traceparent }) };
  }
  if (Array.isArray(event?.Records)) {
    await new Promise((r) => setTimeout(r, 15));
    return { batchItemFailures: [] };
  }
  if (event?.charge) throw new PaymentDeclined(`card ending ${event.charge.card} was declined`);
  if (event?.bytes) return 'x'.repeat(event.bytes);
  if (event?.leak) {
    // Grows the heap until V8 gives up ("JavaScript heap out of memory"): the runtime dies posting nothing.
    const held = [];
    for (;;) held.push(new Array(100_000).fill(held.length));
  }
  return { ok: true };
};
