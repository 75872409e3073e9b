// The first invocation's span is the first one started, ended and serialized:
// V8 compiles each function of that path when it first runs, and that compile
// time lands in the first invocation's flush hold, on the user's cold start.
// One throw-away span through the same code during Init, while Lambda starts
// the runtime, moves it there. Nothing is sent: the span has no processor but
// the one that keeps it, and its serialized bytes are dropped.

import { SpanKind, SpanStatusCode, ROOT_CONTEXT } from '@opentelemetry/api';
import { TracerProvider, type ReadableSpan, type SpanProcessor } from '@opentelemetry/sdk-trace';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';

/** Runs the span and serialization code once; failures are ignored (it only saves time). */
export function warmUpSpanSerialization(json: boolean): void {
  let ended: ReadableSpan | undefined;
  const keep: SpanProcessor = {
    onStart: () => {},
    onEnd: (span) => { ended = span; },
    forceFlush: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
  };
  try {
    const tracer = new TracerProvider({ spanProcessors: [keep] }).getTracer('warm-up');
    // The attribute value types an invocation span carries (string, number, boolean).
    const span = tracer.startSpan('warm-up', {
      kind: SpanKind.SERVER,
      attributes: { 'faas.trigger': 'other', 'faas.coldstart': true, 'lambda_trace_proxy.added.next_us': 100 },
      startTime: Date.now(),
    }, ROOT_CONTEXT);
    span.setAttribute('http.response.status_code', 200);
    span.setStatus({ code: SpanStatusCode.UNSET });
    span.end();
    if (ended) (json ? JsonTraceSerializer : ProtobufTraceSerializer).serializeRequest([ended]);
  } catch {
    // A warm-up that fails costs the first invocation what it cost before.
  }
}
