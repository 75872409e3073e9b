import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import { act, sandbox } from './fixtures/harness.ts';
import type { Harness } from './fixtures/harness.ts';
import { request } from './fixtures/http-client.ts';
import { record, TelemetrySink } from './fixtures/telemetry-sink.ts';
import type { LambdaSandbox, SchemaVersion } from './sandbox.ts';

const TELEMETRY = '/2022-07-01/telemetry';

function extensionId(sb: LambdaSandbox, name = 'watcher'): string {
  const event = sb.events.find((e) => e.kind === 'extension-registered' && e.detail['name'] === name);
  return String(event?.detail['id']);
}

function subscribe(sb: LambdaSandbox, id: string, body: unknown) {
  return request('PUT', sb.address, TELEMETRY, {
    headers: { 'Lambda-Extension-Identifier': id, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
}

function subscription(sink: TelemetrySink, schemaVersion: SchemaVersion, types: string[] = ['platform']) {
  return { schemaVersion, types, buffering: { maxItems: 1000, maxBytes: 262144, timeoutMs: 25 }, destination: { protocol: 'HTTP', URI: sink.uri } };
}

async function subscribed(t: TestContext, spec: Parameters<typeof sandbox>[1], schema: SchemaVersion, types?: string[]): Promise<Harness & { sink: TelemetrySink }> {
  const harness = await sandbox(t, { extensions: { watcher: {} }, ...spec });
  const sink = await TelemetrySink.start();
  t.after(() => sink.close());
  const res = await subscribe(harness.sb, extensionId(harness.sb), subscription(sink, schema, types));
  assert.equal(res.status, 200, res.body.toString());
  return { ...harness, sink };
}

describe('Telemetry API subscription', () => {
  test('is refused with 400 ValidationError naming every problem', async (t) => {
    const { sb } = await sandbox(t, { extensions: { watcher: {} } });
    const res = await subscribe(sb, extensionId(sb), {
      schemaVersion: '2021-01-01',
      types: [],
      buffering: { timeoutMs: 10, maxItems: 50 },
      destination: { protocol: 'HTTP', URI: 'http://sandbox.localdomain' },
    });
    assert.equal(res.status, 400);
    const body = JSON.parse(res.body.toString()) as { errorType: string; errorMessage: string };
    assert.equal(body.errorType, 'ValidationError');
    for (const problem of ['schemaVersion', 'types should not be empty', 'buffering.maxItems', 'buffering.timeoutMs', 'URI port is not provided']) {
      assert.ok(body.errorMessage.includes(problem), `${problem} in ${body.errorMessage}`);
    }
  });

  test('refuses port 9001, HTTPS and hosts other than sandbox.localdomain', async (t) => {
    const { sb } = await sandbox(t, { extensions: { watcher: {} } });
    for (const URI of ['http://sandbox.localdomain:9001/', 'https://sandbox.localdomain:4243/', 'http://example.com:4243/']) {
      const res = await subscribe(sb, extensionId(sb), { schemaVersion: '2022-12-13', types: ['platform'], destination: { protocol: 'HTTP', URI } });
      assert.equal(res.status, 400, URI);
    }
  });

  test('needs the identifier of a registered extension', async (t) => {
    const { sb } = await sandbox(t, { extensions: { watcher: {} } });
    const res = await subscribe(sb, '6d68ca91-49c9-448d-89b8-7ca3e6dc66aa', { schemaVersion: '2022-12-13', types: ['platform'] });
    assert.equal(res.status, 403);
  });

  test('accepts 2025-01-29 only on Managed Instances', async (t) => {
    const { sb } = await sandbox(t, {
      extensions: { watcher: { events: ['SHUTDOWN'] } },
      runtime: { concurrency: 2 },
      options: { concurrency: 2 },
    });
    const sink = await TelemetrySink.start();
    t.after(() => sink.close());
    assert.equal((await subscribe(sb, extensionId(sb), subscription(sink, '2022-12-13'))).status, 400);
    assert.equal((await subscribe(sb, extensionId(sb), subscription(sink, '2025-01-29'))).status, 200);
  });
});

describe('Telemetry API delivery', () => {
  test('delivers the Init events, then start, runtimeDone and report of each invocation, in order and in batches', async (t) => {
    const { sb, sink } = await subscribed(t, {}, '2022-12-13');
    const first = await act(sb, { action: 'echo' });
    const second = await act(sb, { action: 'echo' });
    await sink.waitFor('platform.report', (r) => r['requestId'] === second.requestId);

    const types = sink.events.entries.map((e) => e.type);
    assert.deepEqual(types.slice(0, 5), ['platform.initStart', 'platform.extension', 'platform.initRuntimeDone', 'platform.initReport', 'platform.telemetrySubscription']);
    const ofFirst = sink.events.entries.filter((e) => record(e)['requestId'] === first.requestId).map((e) => e.type);
    assert.deepEqual(ofFirst, ['platform.start', 'platform.runtimeDone', 'platform.report']);
    assert.ok(sink.batches.length < sink.events.entries.length, 'events come batched');

    const start = record(sink.events.entries.find((e) => e.type === 'platform.start'));
    assert.deepEqual(start['tracing'] !== undefined && (start['tracing'] as Record<string, unknown>)['value'], first.traceId);
    const done = record(sink.events.entries.find((e) => e.type === 'platform.runtimeDone'));
    assert.equal(done['status'], 'success');
    assert.deepEqual((done['spans'] as { name: string }[]).map((s) => s.name), ['responseLatency', 'responseDuration']);
    assert.equal((done['metrics'] as Record<string, unknown>)['producedBytes'], first.body.length);
    const reports = sink.events.entries.filter((e) => e.type === 'platform.report').map((e) => record(e)['metrics'] as Record<string, number>);
    assert.equal(reports[0]?.['memorySizeMB'], 128);
    assert.equal(typeof reports[0]?.['initDurationMs'], 'number', 'the first report after Init has its duration');
    assert.equal(reports[1]?.['initDurationMs'], undefined);
    assert.ok(reports[0]!['billedDurationMs']! >= reports[0]!['durationMs']!);
  });

  test('schema 2022-07-01 has no tracing and no runtimeDone spans', async (t) => {
    const { sb, sink } = await subscribed(t, {}, '2022-07-01');
    const result = await act(sb, { action: 'echo' });
    const done = record(await sink.waitFor('platform.runtimeDone', (r) => r['requestId'] === result.requestId));
    assert.equal(done['tracing'], undefined);
    assert.equal(done['spans'], undefined);
    assert.equal(record(sink.events.entries.find((e) => e.type === 'platform.start'))['tracing'], undefined);
  });

  test('runtimeDone says error for a function error and timeout for a timeout', async (t) => {
    const { sb, sink } = await subscribed(t, { options: { timeoutMs: 1000 } }, '2022-12-13');
    const failed = await act(sb, { action: 'error' });
    // A timeout resets the environment: what Lambda reported goes out before SHUTDOWN.
    const timedOut = await act(sb, { action: 'hang' });
    const error = record(await sink.waitFor('platform.runtimeDone', (r) => r['requestId'] === failed.requestId));
    assert.deepEqual([error['status'], error['errorType']], ['error', 'Custom.Boom']);
    const timeout = record(await sink.waitFor('platform.runtimeDone', (r) => r['requestId'] === timedOut.requestId));
    assert.equal(timeout['status'], 'timeout');
    await sink.waitFor('platform.report', (r) => r['requestId'] === timedOut.requestId);
  });

  test('a crashed runtime gives Runtime.ExitError in runtimeDone and Lambda\'s line in the function log', async (t) => {
    const { sb, sink } = await subscribed(t, {}, '2022-12-13', ['platform', 'function']);
    const crashed = await act(sb, { action: 'exit' });
    const crash = record(await sink.waitFor('platform.runtimeDone', (r) => r['requestId'] === crashed.requestId));
    assert.deepEqual([crash['status'], crash['errorType']], ['error', 'Runtime.ExitError']);
    await sink.events.waitFor((e) => e.type === 'function' && e.record === `RequestId: ${crashed.requestId} Error: Runtime exited with error: exit status 3`);
  });

  test('a runtime that outgrows the memory size is killed; runtimeDone and report say so', async (t) => {
    const { sb, sink } = await subscribed(t, { options: { outOfMemory: { errorType: 'Runtime.OutOfMemory' } } }, '2022-12-13');
    const result = await act(sb, { action: 'allocate', mb: 200 });
    assert.equal(result.outcome, 'crash');
    const done = record(await sink.waitFor('platform.runtimeDone', (r) => r['requestId'] === result.requestId));
    assert.deepEqual([done['status'], done['errorType']], ['error', 'Runtime.OutOfMemory']);
    const report = record(await sink.waitFor('platform.report', (r) => r['requestId'] === result.requestId));
    const metrics = report['metrics'] as Record<string, number>;
    assert.equal(metrics['maxMemoryUsedMB'], metrics['memorySizeMB']);
  });

  test('a delivery answered 500 is sent again', async (t) => {
    const { sb, sink } = await subscribed(t, {}, '2022-12-13');
    sink.statuses.push(500);
    const result = await act(sb, { action: 'echo' });
    await sink.waitFor('platform.report', (r) => r['requestId'] === result.requestId);
    const refused = sink.batches[0]!;
    assert.ok(refused.length > 0);
    const delivered = sink.events.entries.map((e) => JSON.stringify(e));
    for (const event of refused) assert.ok(delivered.includes(JSON.stringify(event)), `${event.type} delivered after the 500`);
  });

  test('the runtime\'s output lines reach only subscribers of function', async (t) => {
    const { sb, sink } = await subscribed(t, {}, '2022-12-13', ['platform', 'function']);
    const result = await act(sb, { action: 'log', lines: ['hello from the function', 'second line'] });
    await sink.waitFor('platform.runtimeDone', (r) => r['requestId'] === result.requestId);
    await sink.events.waitFor((e) => e.type === 'function' && e.record === 'second line');
    assert.ok(sink.events.entries.some((e) => e.type === 'function' && e.record === 'hello from the function'));

    const other = await subscribed(t, {}, '2022-12-13', ['platform']);
    const again = await act(other.sb, { action: 'log', lines: ['not for platform subscribers'] });
    await other.sink.waitFor('platform.report', (r) => r['requestId'] === again.requestId);
    assert.equal(other.sink.events.entries.filter((e) => e.type === 'function').length, 0);
  });

  test('on Managed Instances there is no runtimeDone; report carries status, duration and the response spans', async (t) => {
    const { sb, sink } = await subscribed(t, {
      extensions: { watcher: { events: ['SHUTDOWN'] } },
      runtime: { concurrency: 2 },
      options: { concurrency: 2 },
    }, '2025-01-29');
    const result = await act(sb, { action: 'echo' });
    const report = record(await sink.waitFor('platform.report', (r) => r['requestId'] === result.requestId));
    assert.equal(report['status'], 'success');
    assert.deepEqual(Object.keys(report['metrics'] as object), ['durationMs']);
    assert.deepEqual((report['spans'] as { name: string }[]).map((s) => s.name), ['responseLatency', 'responseDuration']);
    assert.equal(sink.events.entries.filter((e) => e.type === 'platform.runtimeDone').length, 0);
  });
});
