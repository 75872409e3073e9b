import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTracingSettings, TracingConfigError } from '../../src/settings/tracing-settings.ts';

test('defaults: protobuf, parent-based always-on, W3C and X-Ray read, adaptive flushing', () => {
  const s = parseTracingSettings({});
  assert.equal(s.protocol, 'http/protobuf');
  assert.deepEqual(s.sampler, { kind: 'parentbased_always_on' });
  assert.deepEqual([...s.propagators].sort(), ['baggage', 'tracecontext', 'xray']);
  assert.deepEqual(s.flush, { kind: 'adaptive' });
  assert.equal(s.rewriteXrayParent, true);
});

test('Managed Instances flush on a timer, since there is no INVOKE event there', () => {
  assert.deepEqual(parseTracingSettings({ AWS_LAMBDA_INITIALIZATION_TYPE: 'lambda-managed-instances' }).flush, { kind: 'periodic', intervalMs: 1000 });
});

test('each flush mode and sampler is parsed', () => {
  assert.deepEqual(parseTracingSettings({ LRAP_FLUSH: 'periodic:250' }).flush, { kind: 'periodic', intervalMs: 250 });
  assert.deepEqual(parseTracingSettings({ LRAP_FLUSH: 'shutdown' }).flush, { kind: 'shutdown' });
  assert.deepEqual(parseTracingSettings({ LRAP_FLUSH: 'end' }).flush, { kind: 'end' });
  assert.deepEqual(parseTracingSettings({ LRAP_FLUSH: 'Adaptive' }).flush, { kind: 'adaptive' });
  assert.throws(() => parseTracingSettings({ LRAP_FLUSH: 'periodic:0' }), /adaptive \(default\), end, periodic/);
  assert.deepEqual(parseTracingSettings({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' }).sampler,
    { kind: 'parentbased_traceidratio', ratio: 0.25 });
  assert.equal(parseTracingSettings({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }).protocol, 'http/json');
  assert.equal(parseTracingSettings({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf' }).protocol, 'http/protobuf');
  assert.deepEqual([...parseTracingSettings({ OTEL_PROPAGATORS: 'tracecontext, xray-lambda, b3' }).propagators], ['tracecontext', 'xray-lambda']);
  assert.equal(parseTracingSettings({ OTEL_PROPAGATORS: 'none' }).propagators.size, 0);
});

test('bad values are TracingConfigErrors that say what would be valid', () => {
  for (const [env, pattern] of [
    [{ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, /http\/protobuf/],
    [{ OTEL_TRACES_SAMPLER: 'sometimes' }, /always_on/],
    [{ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '2' }, /from 0 to 1/],
    [{ LRAP_FLUSH: 'periodic:0' }, /periodic:<milliseconds>/],
    [{ LRAP_XRAY_PARENT_REWRITE: 'yes' }, /true or false/],
    [{ LRAP_FLUSH_TIMEOUT_MS: '-5' }, /positive whole number/],
  ] as const) {
    assert.throws(() => parseTracingSettings(env), (err: unknown) => err instanceof TracingConfigError && pattern.test(err.message), JSON.stringify(env));
  }
});
