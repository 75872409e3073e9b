// Runs inside test/e2e/rie.sh --backends (see smoke.sh): proves the whole chain
//   curl/OTLP -> collector -> Jaeger, and RIE -> runtime -> layer -> collector -> Jaeger.
// Env from rie.sh: RIE_INVOKE_URL, COLLECTOR_OTLP_HTTP_URL, JAEGER_QUERY_URL.
// Exit 0 when every span was found in Jaeger through its query API (/api/v3), 1 otherwise.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { JaegerQuery, attr, poll, type OtlpSpan } from './jaeger-api.ts';

const env = (name: string): string => {
  const v = process.env[name];
  if (v === undefined || v === '') throw new Error(`${name} is not set: run me through test/e2e/rie.sh --backends`);
  return v;
};
const RIE = env('RIE_INVOKE_URL');
const COLLECTOR = env('COLLECTOR_OTLP_HTTP_URL');
const JAEGER = env('JAEGER_QUERY_URL');
const SERVICE = process.env.SMOKE_SERVICE_NAME ?? 'test_function';

const jaeger = new JaegerQuery(JAEGER);
const traceById = (id: string) => jaeger.trace(id);
const search = (service: string) => jaeger.search(service, new Date(Date.now() - 3_600_000));

// 1. Any OTLP client -> collector -> Jaeger.
const traceId = randomBytes(16).toString('hex');
const now = BigInt(Date.now()) * 1_000_000n;
const otlp = {
  resourceSpans: [{
    resource: { attributes: [{ key: 'service.name', value: { stringValue: 'e2e-smoke-client' } }] },
    scopeSpans: [{
      scope: { name: 'smoke-driver' },
      spans: [{
        traceId, spanId: randomBytes(8).toString('hex'), name: 'smoke-span', kind: 2,
        startTimeUnixNano: String(now), endTimeUnixNano: String(now + 5_000_000n),
        attributes: [{ key: 'e2e', value: { stringValue: 'yes' } }],
      }],
    }],
  }],
};
const posted = await fetch(`${COLLECTOR}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(otlp) });
const postedText = await posted.text();
assert.equal(posted.status, 200, `collector refused the span: ${posted.status} ${postedText}`);
const t0 = Date.now();
const direct = await poll('the OTLP/JSON span in Jaeger', 15_000, () => traceById(traceId));
assert.equal(direct[0]?.name, 'smoke-span');
console.log(`OK  OTLP/JSON span -> collector -> Jaeger: GET /api/v3/traces/${traceId} after ${Date.now() - t0} ms`);

// 2. Invocations through RIE and the layer. RIE takes the invocation id from X-Amzn-RequestId.
const run = randomBytes(3).toString('hex');
const invocations = [
  { id: `smoke-${run}-1`, headers: {} as Record<string, string> },
  { id: `smoke-${run}-2`, headers: { 'X-Amzn-Trace-Id': `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')};Parent=${randomBytes(8).toString('hex')};Sampled=1` } },
];
for (const inv of invocations) {
  const event = JSON.stringify({ smoke: inv.id });
  const r = await fetch(RIE, { method: 'POST', headers: { 'X-Amzn-RequestId': inv.id, ...inv.headers }, body: event });
  const text = await r.text();
  assert.equal(r.status, 200, `invoke ${inv.id}: ${r.status} ${text}`);
  console.log(`OK  invoke ${inv.id}: HTTP ${r.status} ${text.slice(0, 120)}`);
}
const t1 = Date.now();
const found = await poll(`server spans for ${invocations.map((i) => i.id).join(', ')} in Jaeger`, 20_000, async () => {
  const spans = await search(SERVICE);
  const byId = invocations.map((inv) => spans.find((s) => attr(s, 'faas.invocation.id') === inv.id));
  return byId.every((s) => s !== undefined) ? (byId as OtlpSpan[]) : undefined;
});
for (const s of found) {
  const ms = Number(BigInt(s.endTimeUnixNano) - BigInt(s.startTimeUnixNano)) / 1e6;
  console.log(`OK  span ${s.traceId}/${s.spanId} "${s.name}" kind=${s.kind} ${ms.toFixed(1)} ms faas.invocation.id=${attr(s, 'faas.invocation.id')} faas.coldstart=${attr(s, 'faas.coldstart')}`);
}
console.log(`OK  ${found.length} invocation spans in Jaeger (service ${SERVICE}) ${Date.now() - t1} ms after the last invoke`);
