// The extension's clock (src/process-clock.ts): the global `performance` of the extension process
// is its own, so that node:perf_hooks never loads. Checked on the layer as built, run by the
// sandbox: the spans it exports are where the wall clock says, and the process, when it exits
// after SHUTDOWN, has loaded no node:perf_hooks. And checked on the bundles themselves: whatever
// they read of `performance` is what the clock has.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LAYER, next, raw, respond, startWithProxy } from './harness.ts';
import { stageLayer } from '../bench/staged-layer.ts';

const BUNDLES = path.join(LAYER, 'lambda-trace-proxy');
const MODULE_LIST_PROBE = path.join(import.meta.dirname, 'fixtures/module-list-at-exit.cjs');
/** Unix epoch ns from ms. */
const ns = (ms: number) => BigInt(Math.round(ms * 1e6));
/**
 * Slack between the test's wall-clock readings and the span's times: Date.now() moves in 1 ms
 * steps, in this process and in the extension's, where the SDK also anchors spans to it.
 */
const SLACK_NS = 3_000_000n;

test('the bundles read only now() and timeOrigin of `performance`, and never load node:perf_hooks', () => {
  const bundles = readdirSync(BUNDLES).filter((f) => f.endsWith('.cjs'));
  assert.deepEqual(bundles.sort(), ['extension.cjs', 'metrics.cjs', 'tracing.cjs']);
  for (const file of bundles) {
    const code = readFileSync(path.join(BUNDLES, file), 'latin1');
    assert.doesNotMatch(code, /perf_hooks/, `${file} loads node:perf_hooks`);
    // Every mention of the global is a member read (minified code has no other `performance` names:
    // esbuild renames locals; the clock's installer names it in a string), and every member is one
    // the process clock has.
    const mentions = [...code.matchAll(/(?<![\w$."'])performance(?![\w$"'])(\.[\w$]+)?/g)];
    assert.ok(mentions.length > 0, `${file} never reads the clock: this check no longer sees what it should`);
    for (const [mention, member] of mentions) {
      assert.ok(member === '.now' || member === '.timeOrigin', `${file} reads ${mention}: the process clock has only now() and timeOrigin (src/process-clock.ts)`);
    }
  }
});

test('the layer as built: spans on the wall clock, and no node:perf_hooks loaded in its life', async (t) => {
  const probeDir = mkdtempSync(path.join(tmpdir(), 'process-clock-test-'));
  t.after(() => rmSync(probeDir, { recursive: true, force: true }));
  const moduleList = path.join(probeDir, 'modules.txt');
  const layer = stageLayer(LAYER, { preload: MODULE_LIST_PROBE });
  const startedAt = Date.now();
  const env = await startWithProxy({ tracing: true, layerDir: layer.dir, env: { MODULE_LIST_OUT: moduleList, LRAP_FLUSH: 'end' } });
  let closed = false;
  t.after(async () => { if (!closed) await env.close(); });
  const windows: { id: string; from: number; to: number }[] = [];
  for (let i = 0; i < 3; i++) {
    const from = Date.now();
    const invoked = env.sandbox.invoke('{"n":1}');
    const got = await next(env.proxy);
    const id = raw(got.rawHeaders, 'lambda-runtime-aws-request-id')!;
    await new Promise((resolve) => setTimeout(resolve, 20)); // The function works a while: the span's length is measured.
    await respond(env.proxy, id, Buffer.from('{"ok":true}'));
    await invoked;
    windows.push({ id, from, to: Date.now() });
  }
  await env.sandbox.shutdown(); // SHUTDOWN: the extension flushes and exits, and the probe writes its list.
  const spans = env.receiver!.spans;
  await env.close();
  closed = true;

  for (const { id, from, to } of windows) {
    const span = spans.find((s) => s.attributes['faas.invocation.id'] === id);
    assert.ok(span, `the span of ${id} was exported`);
    assert.ok(span.startTimeUnixNano >= ns(from) - SLACK_NS, `span of ${id} starts ${span.startTimeUnixNano}, before its invocation (${ns(from)})`);
    assert.ok(span.endTimeUnixNano <= ns(to) + SLACK_NS, `span of ${id} ends ${span.endTimeUnixNano}, after its invocation (${ns(to)})`);
    const lengthMs = Number(span.endTimeUnixNano - span.startTimeUnixNano) / 1e6;
    assert.ok(lengthMs >= 19 && lengthMs <= to - from + 3, `span of ${id} lasts ${lengthMs} ms: the function worked 20 ms, the invocation took ${to - from} ms`);
  }
  // The init span starts when the extension's process did (the clock's timeOrigin): after the
  // sandbox was asked to start, before the first invocation.
  const init = spans.find((s) => s.name.endsWith(' init'));
  assert.ok(init, 'the cold start has its init span');
  assert.ok(init.startTimeUnixNano >= ns(startedAt) - SLACK_NS && init.startTimeUnixNano <= ns(windows[0]!.from) + SLACK_NS,
    `init span starts ${init.startTimeUnixNano}, outside ${ns(startedAt)}..${ns(windows[0]!.from)}`);

  const modules = readFileSync(moduleList, 'utf8').split('\n');
  assert.ok(modules.includes('NativeModule http'), 'the probe read the extension\'s own module list');
  assert.deepEqual(modules.filter((m) => /perf_hooks|internal\/perf\/performance$/.test(m)), [], 'node:perf_hooks was loaded');
});
