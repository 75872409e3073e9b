import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import { DiagLogLevel, ROOT_CONTEXT, SpanKind, SpanStatusCode, createTraceState, diag, trace } from '@opentelemetry/api';
import type { Attributes } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import type { ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtobufTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { IdGenerator, ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { OtlpReceiver } from './otlp-receiver.ts';
import type { OtlpEncoding, ReceivedSpan } from './otlp-receiver.ts';

// The stock exporters name themselves by the version of the exporter base installed with them.
const EXPORTER_VERSION = (JSON.parse(readFileSync(new URL('../../node_modules/@opentelemetry/otlp-exporter-base/package.json', import.meta.url), 'utf8')) as { version: string }).version;

type ExporterConfig = NonNullable<ConstructorParameters<typeof ProtobufTraceExporter>[0]>;
// `compression` is typed as the CompressionAlgorithm enum of
// @opentelemetry/otlp-exporter-base, which is not our dependency; its GZIP is 'gzip'.
const GZIP = 'gzip' as ExporterConfig['compression'];

const REMOTE_PARENT = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331' };
const LOCAL_TRACE_ID = '5b8efff798038103d269b633813fc60c';
const LINKED = { traceId: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', spanId: 'bbbbbbbbbbbbbbbb' };
const OTHER_LINKED = { traceId: '0123456789abcdef0123456789abcdef', spanId: '0123456789abcdef' };
// OTLP span flags: W3C flags in bits 0-7, 0x100 "has is_remote", 0x200 "is_remote".
const SAMPLED_LOCAL = 0x101;
const SAMPLED_REMOTE = 0x301;

const EVERY_TYPE: Attributes = {
  'str': 'value',
  'str.empty': '',
  'int': 42,
  'int.negative': -7,
  'int.zero': 0,
  'int.max_safe': Number.MAX_SAFE_INTEGER,
  'double': 1.5,
  'double.negative': -0.25,
  'bool.true': true,
  'bool.false': false,
  'array.str': ['a', 'b'],
  'array.int': [1, 2, 3],
  'array.double': [0.5, 1.5],
  'array.bool': [true, false],
  'array.empty': [],
  'array.with_null': ['a', null],
  'bytes': new Uint8Array([0, 1, 254, 255]),
  'map': { region: 'eu-west-1', memory: 128, nested: { ok: true } },
  'null': null,
};

const EVERY_TYPE_DECODED = {
  'str': 'value',
  'str.empty': '',
  'int': 42n,
  'int.negative': -7n,
  'int.zero': 0n,
  'int.max_safe': 9007199254740991n,
  'double': 1.5,
  'double.negative': -0.25,
  'bool.true': true,
  'bool.false': false,
  'array.str': ['a', 'b'],
  'array.int': [1n, 2n, 3n],
  'array.double': [0.5, 1.5],
  'array.bool': [true, false],
  'array.empty': [],
  'array.with_null': ['a', null],
  'bytes': new Uint8Array([0, 1, 254, 255]),
  'map': { region: 'eu-west-1', memory: 128n, nested: { ok: true } },
  'null': null,
};

const RESOURCE: Attributes = { 'service.name': 'orders', 'cloud.provider': 'aws', 'faas.max_memory': 134217728 };
const RESOURCE_DECODED = { 'service.name': 'orders', 'cloud.provider': 'aws', 'faas.max_memory': 134217728n };
const SCOPE_DECODED = { name: 'otlp-receiver-test', version: '1.2.3', attributes: {} };

const ROOT_SPAN: ReceivedSpan = {
  traceId: LOCAL_TRACE_ID,
  spanId: '0000000000000001',
  flags: SAMPLED_LOCAL,
  name: 'GET /pets/{petId}',
  kind: 'SERVER',
  startTimeUnixNano: 1700000000000000000n,
  endTimeUnixNano: 1700000000250000000n,
  attributes: {},
  droppedAttributesCount: 0,
  status: { code: 'UNSET' },
  events: [],
  droppedEventsCount: 0,
  links: [],
  droppedLinksCount: 0,
  resource: RESOURCE_DECODED,
  scope: SCOPE_DECODED,
};

const CONSUMER_SPAN: ReceivedSpan = {
  traceId: REMOTE_PARENT.traceId,
  spanId: '0000000000000002',
  parentSpanId: REMOTE_PARENT.spanId,
  traceState: 'vendor=abc',
  flags: SAMPLED_REMOTE,
  name: 'orders process',
  kind: 'CONSUMER',
  startTimeUnixNano: 1700000000123456789n,
  endTimeUnixNano: 1700000001987654321n,
  attributes: EVERY_TYPE_DECODED,
  droppedAttributesCount: 0,
  status: { code: 'ERROR', message: 'handler threw' },
  events: [
    { name: 'retry', timeUnixNano: 1700000000500000000n, attributes: { attempt: 2n }, droppedAttributesCount: 0 },
    { name: 'acked', timeUnixNano: 1700000001000000001n, attributes: {}, droppedAttributesCount: 0 },
  ],
  droppedEventsCount: 0,
  links: [
    {
      ...LINKED,
      traceState: 'k=v',
      flags: SAMPLED_REMOTE,
      attributes: { 'messaging.message.id': 'm-1' },
      droppedAttributesCount: 0,
    },
    { ...OTHER_LINKED, flags: SAMPLED_LOCAL, attributes: {}, droppedAttributesCount: 0 },
  ],
  droppedLinksCount: 0,
  resource: RESOURCE_DECODED,
  scope: SCOPE_DECODED,
};

function fixedIds(): IdGenerator {
  let spans = 0;
  return {
    generateTraceId: () => LOCAL_TRACE_ID,
    generateSpanId: () => (++spans).toString(16).padStart(16, '0'),
  };
}

/** A SERVER root span and a CONSUMER child of a remote parent, as the SDK hands them to an exporter. */
async function recordSpans(attributes: Attributes = EVERY_TYPE): Promise<ReadableSpan[]> {
  const memory = new InMemorySpanExporter();
  const provider = new TracerProvider({
    resource: resourceFromAttributes(RESOURCE),
    idGenerator: fixedIds(),
    spanProcessors: [new SimpleSpanProcessor({ exporter: memory })],
  });
  const tracer = provider.getTracer('otlp-receiver-test', '1.2.3');

  tracer
    .startSpan('GET /pets/{petId}', { kind: SpanKind.SERVER, startTime: [1700000000, 0] }, ROOT_CONTEXT)
    .end([1700000000, 250000000]);

  const remoteParent = trace.setSpanContext(ROOT_CONTEXT, {
    ...REMOTE_PARENT,
    traceFlags: 1,
    isRemote: true,
    traceState: createTraceState('vendor=abc'),
  });
  const span = tracer.startSpan(
    'orders process',
    {
      kind: SpanKind.CONSUMER,
      startTime: [1700000000, 123456789],
      attributes,
      links: [
        {
          context: { ...LINKED, traceFlags: 1, isRemote: true, traceState: createTraceState('k=v') },
          attributes: { 'messaging.message.id': 'm-1' },
        },
        { context: { ...OTHER_LINKED, traceFlags: 1 } },
      ],
    },
    remoteParent,
  );
  span.addEvent('retry', { attempt: 2 }, [1700000000, 500000000]);
  span.addEvent('acked', [1700000001, 1]);
  span.setStatus({ code: SpanStatusCode.ERROR, message: 'handler threw' });
  span.end([1700000001, 987654321]);

  await provider.forceFlush();
  return memory.getFinishedSpans();
}

async function startReceiver(t: TestContext): Promise<OtlpReceiver> {
  const receiver = await OtlpReceiver.start();
  t.after(() => receiver.close());
  return receiver;
}

function exporterFor(t: TestContext, encoding: OtlpEncoding, config: ExporterConfig): SpanExporter {
  const exporter = encoding === 'protobuf' ? new ProtobufTraceExporter(config) : new JsonTraceExporter(config);
  t.after(() => exporter.shutdown());
  return exporter;
}

function exportSpans(exporter: SpanExporter, spans: ReadableSpan[]): Promise<ExportResult> {
  return new Promise((resolve) => exporter.export(spans, resolve));
}

function statusCodeOf(error: Error | undefined): unknown {
  return error !== undefined && 'code' in error ? error.code : undefined;
}

function outcomes(receiver: OtlpReceiver): Array<number | string> {
  return receiver.requests.map((r) => (r.outcome.kind === 'answered' ? r.outcome.status : r.outcome.kind));
}

const CONTENT_TYPES: Record<OtlpEncoding, string> = {
  protobuf: 'application/x-protobuf',
  json: 'application/json',
};

describe('OtlpReceiver decoding what the OTel exporters send', () => {
  for (const encoding of ['protobuf', 'json'] as const) {
    for (const gzip of [false, true]) {
      const how = `${encoding === 'json' ? 'JSON' : 'protobuf'}${gzip ? ' with gzip' : ''}`;

      it(`decodes every field of spans exported as ${how}`, async (t) => {
        const receiver = await startReceiver(t);
        const exporter = exporterFor(t, encoding, {
          url: receiver.tracesUrl,
          ...(gzip ? { compression: GZIP } : {}),
        });

        const result = await exportSpans(exporter, await recordSpans());

        assert.equal(result.code, ExportResultCode.SUCCESS, String(result.error));
        assert.deepEqual(await receiver.waitForSpans(2), [ROOT_SPAN, CONSUMER_SPAN]);
      });

      it(`keeps the raw ${how} request and answers in its encoding`, async (t) => {
        const receiver = await startReceiver(t);
        const exporter = exporterFor(t, encoding, {
          url: receiver.tracesUrl,
          headers: { 'x-api-key': 'secret', 'X-Tenant': 'team-1' },
          ...(gzip ? { compression: GZIP } : {}),
        });

        await exportSpans(exporter, await recordSpans());

        const [request] = await receiver.waitForRequests(1);
        assert.ok(request);
        assert.equal(request.method, 'POST');
        assert.equal(request.url, '/v1/traces');
        assert.equal(request.encoding, encoding);
        assert.equal(request.headers['content-type'], CONTENT_TYPES[encoding]);
        assert.equal(request.headers['content-encoding'], gzip ? 'gzip' : undefined);
        assert.equal(request.headers['x-api-key'], 'secret');
        assert.equal(request.headers['x-tenant'], 'team-1');
        assert.equal(request.headers['user-agent'], `OTel-OTLP-Exporter-JavaScript/${EXPORTER_VERSION}`);
        // The exporter streams the body: no Content-Length, chunked instead.
        assert.equal(request.headers['content-length'], undefined);
        assert.equal(request.headers['transfer-encoding'], 'chunked');
        assert.ok(request.decodedBody.equals(gzip ? gunzipSync(request.body) : request.body));
        assert.equal(request.spans.length, 2);
        assert.equal(request.error, undefined);
        assert.ok(request.outcome.kind === 'answered');
        assert.equal(request.outcome.status, 200);
        // An empty ExportTraceServiceResponse: zero bytes in protobuf, {} in JSON.
        assert.equal(request.outcome.body.toString(), encoding === 'json' ? '{}' : '');
      });
    }
  }

  it('reads integers past 2^53 exactly as each exporter wrote them', async (t) => {
    const receiver = await startReceiver(t);
    const spans = await recordSpans({ big: 2 ** 60 });

    await exportSpans(exporterFor(t, 'protobuf', { url: receiver.tracesUrl }), spans);
    await exportSpans(exporterFor(t, 'json', { url: receiver.tracesUrl }), spans);

    const [fromProtobuf, fromJson] = await receiver.waitForSpans((s) => s.kind === 'CONSUMER', { count: 2 });
    // Protobuf carries the double's exact value; JSON.stringify prints its
    // shortest decimal, which a receiver reads as a different int64.
    assert.equal(fromProtobuf?.attributes['big'], 1152921504606846976n);
    assert.equal(fromJson?.attributes['big'], 1152921504606847000n);
  });

  it('refuses a JSON intValue outside int64, which the JSON exporter writes for 1e20', async (t) => {
    const receiver = await startReceiver(t);
    const spans = await recordSpans({ huge: 1e20 });

    const protobufResult = await exportSpans(exporterFor(t, 'protobuf', { url: receiver.tracesUrl }), spans);
    const jsonResult = await exportSpans(exporterFor(t, 'json', { url: receiver.tracesUrl }), spans);

    assert.equal(protobufResult.code, ExportResultCode.SUCCESS);
    assert.equal(receiver.requests[0]?.spans[1]?.attributes['huge'], 1e20);
    assert.equal(jsonResult.code, ExportResultCode.FAILED);
    assert.equal(statusCodeOf(jsonResult.error), 400);
    assert.match(receiver.requests[1]?.error ?? '', /intValue: 100000000000000000000 is outside/);
  });

  it('records the headers an exporter in another process takes from OTEL_EXPORTER_OTLP_*', async (t) => {
    const receiver = await startReceiver(t);
    const script = [
      "import { TracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';",
      "import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';",
      'const exporter = new OTLPTraceExporter();',
      'const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });',
      "provider.getTracer('child').startSpan('from the environment').end();",
      'await provider.shutdown();',
    ].join('\n');
    const child = spawn(process.execPath, ['--input-type=module', '--eval', script], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      env: {
        PATH: process.env['PATH'],
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
        OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=secret,x-tenant=team%201',
        OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));

    const [exitCode] = await once(child, 'exit');

    assert.equal(exitCode, 0, stderr);
    const span = await receiver.waitForSpan((s) => s.name === 'from the environment');
    assert.equal(span.scope.name, 'child');
    const [request] = receiver.requests;
    // The base endpoint gets /v1/traces appended; header values are percent-decoded.
    assert.equal(request?.url, '/v1/traces');
    assert.equal(request?.headers['x-api-key'], 'secret');
    assert.equal(request?.headers['x-tenant'], 'team 1');
    assert.equal(request?.headers['content-encoding'], 'gzip');
  });
});

describe('OtlpReceiver refusing what is not OTLP', () => {
  it('answers 404 for a path other than /v1/traces and /v1/metrics and records why', async (t) => {
    const receiver = await startReceiver(t);

    const response = await fetch(`${receiver.endpoint}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: new Uint8Array(0),
    });

    assert.equal(response.status, 404);
    assert.match(receiver.requests[0]?.error ?? '', /no route for \/v1\/logs/);
  });

  it('answers 415 for a Content-Type that is neither protobuf nor JSON', async (t) => {
    const receiver = await startReceiver(t);

    const response = await fetch(receiver.tracesUrl, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: '{}',
    });

    assert.equal(response.status, 415);
    assert.match(await response.text(), /unsupported Content-Type "text\/plain"/);
  });

  it('answers 400 for a protobuf body that is not an ExportTraceServiceRequest', async (t) => {
    const receiver = await startReceiver(t);

    const response = await fetch(receiver.tracesUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: new Uint8Array([0x0a, 0xff, 0xff, 0xff]),
    });

    assert.equal(response.status, 400);
    assert.match(receiver.requests[0]?.error ?? '', /not a protobuf ExportTraceServiceRequest/);
    assert.deepEqual(receiver.spans, []);
  });

  it('answers 400 for OTLP/JSON ids in base64 instead of hex', async (t) => {
    const receiver = await startReceiver(t);
    const span = { traceId: 'CvdlGRbNQ92ESOshHIAxnA==', spanId: 'kHd6I/oKOy0=', name: 'x' };

    const response = await fetch(receiver.tracesUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [span] }] }] }),
    });

    assert.equal(response.status, 400);
    assert.match(await response.text(), /resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.traceId: expected 32 hex/);
  });
});

describe('OtlpReceiver fault modes, as the exporters see them', () => {
  for (const status of [400, 408, 500]) {
    it(`fails an export answered ${status} without retrying it`, async (t) => {
      const receiver = await startReceiver(t);
      receiver.respondWith({ kind: 'status', status, body: 'nope' });
      const exporter = exporterFor(t, 'protobuf', { url: receiver.tracesUrl, timeoutMillis: 5000 });

      const result = await exportSpans(exporter, await recordSpans());

      assert.equal(result.code, ExportResultCode.FAILED);
      assert.equal(statusCodeOf(result.error), status);
      assert.deepEqual(outcomes(receiver), [status]);
      assert.deepEqual(receiver.spans, []);
    });
  }

  // Retry-After: 0 makes the exporter call setTimeout(-1), which prints a
  // TimeoutNegativeWarning once per process: the exporter's doing, not ours.
  for (const status of [429, 502, 503, 504]) {
    it(`retries an export answered ${status} with Retry-After: 0 and keeps the retried copy`, async (t) => {
      const receiver = await startReceiver(t);
      receiver.respondWith({ kind: 'status', status, headers: { 'retry-after': '0' } }, { times: 1 });
      const exporter = exporterFor(t, 'protobuf', { url: receiver.tracesUrl, timeoutMillis: 5000 });

      const result = await exportSpans(exporter, await recordSpans());

      assert.equal(result.code, ExportResultCode.SUCCESS);
      assert.deepEqual(outcomes(receiver), [status, 200]);
      const [first, retry] = receiver.requests;
      assert.ok(first && retry && first.body.equals(retry.body));
      assert.equal(receiver.spans.length, 2);
    });
  }

  it('fails at once when Retry-After reaches past the export timeout', async (t) => {
    const receiver = await startReceiver(t);
    receiver.respondWith({ kind: 'status', status: 503, headers: { 'retry-after': '30' } });
    const exporter = exporterFor(t, 'json', { url: receiver.tracesUrl, timeoutMillis: 2000 });

    const result = await exportSpans(exporter, await recordSpans());

    assert.equal(result.code, ExportResultCode.FAILED);
    assert.deepEqual(outcomes(receiver), [503]);
  });

  it('holds a request until the exporter times out, which abandons it', async (t) => {
    const receiver = await startReceiver(t);
    receiver.respondWith({ kind: 'hang' });
    const exporter = exporterFor(t, 'protobuf', { url: receiver.tracesUrl, timeoutMillis: 200 });

    const result = await exportSpans(exporter, await recordSpans());

    assert.equal(result.code, ExportResultCode.FAILED);
    assert.match(String(result.error), /Request timed out/);
    await receiver.waitForRequests((r) => r.outcome.kind === 'abandoned');
    assert.equal(receiver.requests.length, 1);
    assert.deepEqual(receiver.spans, []);
  });

  it('answers held requests with 200 on release()', async (t) => {
    const receiver = await startReceiver(t);
    receiver.respondWith({ kind: 'hang' });
    const exporter = exporterFor(t, 'json', { url: receiver.tracesUrl, timeoutMillis: 10000 });

    const exported = exportSpans(exporter, await recordSpans());
    const [held] = await receiver.waitForRequests(1);
    assert.equal(held?.outcome.kind, 'pending');
    assert.deepEqual(receiver.spans, []);
    receiver.release();

    assert.equal((await exported).code, ExportResultCode.SUCCESS);
    assert.deepEqual(outcomes(receiver), [200]);
    assert.equal(receiver.spans.length, 2);
  });

  it('answers after delayMs and accepts the spans only then', async (t) => {
    const receiver = await startReceiver(t);
    receiver.respondWith({ kind: 'ok', delayMs: 50 });
    const exporter = exporterFor(t, 'protobuf', { url: receiver.tracesUrl, timeoutMillis: 10000 });

    const exported = exportSpans(exporter, await recordSpans());
    const [request] = await receiver.waitForRequests(1);
    assert.equal(request?.outcome.kind, 'pending');
    assert.deepEqual(receiver.spans, []);

    assert.equal((await exported).code, ExportResultCode.SUCCESS);
    assert.deepEqual(outcomes(receiver), [200]);
    assert.equal(receiver.spans.length, 2);
  });

  it('resets the connection instead of answering, and the exporter retries after its backoff', async (t) => {
    const receiver = await startReceiver(t);
    receiver.respondWith({ kind: 'reset' }, { times: 1 });
    const exporter = exporterFor(t, 'protobuf', { url: receiver.tracesUrl, timeoutMillis: 5000 });

    const result = await exportSpans(exporter, await recordSpans());

    assert.equal(result.code, ExportResultCode.SUCCESS);
    assert.deepEqual(outcomes(receiver), ['reset', 200]);
  });

  it('answers with a partial_success that the exporters log and do not retry', async (t) => {
    const warnings: string[] = [];
    const record = (...args: unknown[]): void => {
      warnings.push(args.map(String).join(' '));
    };
    const ignore = (): void => {};
    diag.setLogger({ error: record, warn: record, info: ignore, debug: ignore, verbose: ignore }, DiagLogLevel.WARN);
    t.after(() => diag.disable());
    const receiver = await startReceiver(t);
    receiver.respondWith({ kind: 'partialSuccess', rejectedSpans: 1n, errorMessage: 'span too old' });

    for (const encoding of ['protobuf', 'json'] as const) {
      const result = await exportSpans(exporterFor(t, encoding, { url: receiver.tracesUrl }), await recordSpans());
      assert.equal(result.code, ExportResultCode.SUCCESS);
    }

    assert.deepEqual(outcomes(receiver), [200, 200]);
    const partial = warnings.filter((w) => w.startsWith('Received Partial Success response:'));
    assert.equal(partial.length, 2, warnings.join('\n'));
    for (const warning of partial) assert.match(warning, /"rejectedSpans":"?1"?,"errorMessage":"span too old"/);
  });

  it('sees one exporter reuse a keep-alive connection, and reconnect after dropConnections()', async (t) => {
    const receiver = await startReceiver(t);
    const exporter = exporterFor(t, 'protobuf', { url: receiver.tracesUrl, timeoutMillis: 5000 });
    const spans = await recordSpans();

    await exportSpans(exporter, spans);
    await exportSpans(exporter, spans);
    receiver.dropConnections();
    const afterDrop = await exportSpans(exporter, spans);

    assert.equal(afterDrop.code, ExportResultCode.SUCCESS);
    const ports = receiver.requests.map((r) => r.remotePort);
    assert.equal(ports[0], ports[1]);
    assert.notEqual(ports.at(-1), ports[0]);
  });

  it('destroys held connections and rejects pending waits on close()', async (t) => {
    const receiver = await startReceiver(t);
    receiver.respondWith({ kind: 'hang' });
    const exporter = exporterFor(t, 'protobuf', { url: receiver.tracesUrl, timeoutMillis: 500 });
    const waiting = receiver.waitForSpans(1);

    const exported = exportSpans(exporter, await recordSpans());
    await receiver.waitForRequests(1);
    await receiver.close();

    await assert.rejects(waiting, /closed while a test was waiting/);
    assert.equal((await exported).code, ExportResultCode.FAILED);
    assert.deepEqual(outcomes(receiver), ['abandoned']);
  });

  it('rejects a wait that times out with what did arrive', async (t) => {
    const receiver = await startReceiver(t);
    receiver.respondWith({ kind: 'status', status: 500 });
    await exportSpans(exporterFor(t, 'json', { url: receiver.tracesUrl }), await recordSpans());

    await assert.rejects(
      receiver.waitForSpans(1, { timeoutMs: 10 }),
      /timed out after 10 ms: 0 of 1 spans accepted; requests: POST \/v1\/traces \(2 spans\) -> 500/,
    );
  });
});
