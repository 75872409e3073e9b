// A process-level failure outside any Runtime API exchange (a throw in a timer
// callback, a rejection nobody handles) is logged once as LRAP_INTERNAL_ERROR
// and ignored: the extension keeps serving, byte for byte (main.ts,
// reportInternalError). The fault is injected into the real bundle by a
// preload (fixtures/internal-fault.ts) through a test-only launcher in a
// test-only layer: the shipped launcher and bundle have no such hook.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { once } from 'node:events';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { LAYER, ROOT, TRACING_MODES, next, raw, respond, startWithProxy, type ProxiedSandbox } from './harness.ts';
import { SeededRandom } from '../support/seeded-random.ts';

const random = new SeededRandom(0x1e7e);

/** A layer whose one extension is the shipped bundle on the shipped Node, with the fault preload. */
function faultLayer(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'lrap-internal-fault-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(path.join(dir, 'extensions'));
  const launcher = path.join(dir, 'extensions/lambda-trace-proxy');
  const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  writeFileSync(launcher, [
    '#!/bin/sh',
    `exec ${quote(path.join(LAYER, 'lambda-trace-proxy/bin/node'))} --import ${quote(path.join(ROOT, 'test/integration/fixtures/internal-fault.ts'))} `
      + `${quote(path.join(LAYER, 'lambda-trace-proxy/extension.cjs'))} --extension-name lambda-trace-proxy`,
    '',
  ].join('\n'));
  chmodSync(launcher, 0o755);
  return dir;
}

/** The test's end of the preload's connection: send a command, wait for "<command> done". */
async function faultChannel(): Promise<{ port: number; inject: (command: 'throw' | 'reject') => Promise<void>; close: () => void }> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const connected = once(server, 'connection') as Promise<[net.Socket]>;
  let socket: net.Socket | undefined;
  let buffered = '';
  const waiters: { line: string; resolve: () => void; reject: (err: Error) => void }[] = [];
  return {
    port: (server.address() as net.AddressInfo).port,
    async inject(command) {
      socket ??= (await connected)[0];
      if (!socket.listenerCount('data')) {
        socket.setEncoding('utf8');
        socket.on('data', (text: string) => {
          buffered += text;
          for (const w of [...waiters]) if (buffered.includes(`${w.line}\n`)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(); }
        });
        // The extension died of it: fail now rather than wait for an answer that cannot come.
        socket.on('close', () => { for (const w of waiters.splice(0)) w.reject(new Error(`the extension went away after "${w.line}"`)); });
      }
      const done = new Promise<void>((resolve, reject) => waiters.push({ line: `${command} done`, resolve, reject }));
      socket.write(`${command}\n`);
      await done;
    },
    close() { socket?.destroy(); server.close(); },
  };
}

async function invokeThrough(env: ProxiedSandbox, what: string): Promise<void> {
  const payload = random.bytes(random.between(0, 100_000));
  const invoked = env.sandbox.invoke(payload);
  const event = await next(env.proxy);
  assert.ok(event.body.equals(payload), `${what}: the runtime got the event byte for byte`);
  const answer = random.bytes(random.between(0, 100_000));
  assert.equal((await respond(env.proxy, raw(event.rawHeaders, 'lambda-runtime-aws-request-id')!, answer)).status, 202);
  assert.ok((await invoked).body.equals(answer), `${what}: Lambda got the runtime's answer byte for byte`);
}

for (const tracing of TRACING_MODES) {
  test(`tracing ${tracing ? 'on' : 'off'}: a throw and an unhandled rejection outside any exchange are logged once each as LRAP_INTERNAL_ERROR, and invocations go on byte for byte`, async () => {
    const channel = await faultChannel();
    let env: ProxiedSandbox | undefined;
    try {
      env = await startWithProxy({ tracing, layerDir: faultLayer(), env: { LRAP_TEST_FAULT_PORT: String(channel.port) } });
      await invokeThrough(env, 'before the faults');
      await channel.inject('throw');
      await invokeThrough(env, 'after the throw');
      await channel.inject('reject');
      for (let n = 0; n < 3; n++) await invokeThrough(env, `after the rejection, ${n}`);
      await env.sandbox.shutdown();
      const died = env.sandbox.events.filter((e) => e.kind === 'crash' || e.kind === 'reset');
      assert.deepEqual(died, [], 'the extension never went down');
      const internal = env.sandbox.output('lambda-trace-proxy').stderr.split('\n')
        .filter((l) => l.includes('"LRAP_INTERNAL_ERROR"'))
        .map((l) => JSON.parse(l) as { level: string; error: string });
      assert.deepEqual(internal.map((l) => [l.level, l.error]), [
        ['error', 'injected fault: a throw in a timer outside any exchange'],
        ['error', 'injected fault: a rejection nobody handles'],
      ]);
    } finally {
      await env?.close();
      channel.close();
    }
  });
}
