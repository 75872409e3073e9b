// Fault injection on the extension's own calls to the Extensions API and on
// the runtime's /init/error, every fault on loopback: a relay in front of the
// sandbox (what the processes are told AWS_LAMBDA_RUNTIME_API is) resets the
// chosen call at each phase (fault-relay.ts), or refuses it for good.
//
// What the extension does, and why (RIE internal/lambda/core/externalagent_states.go,
// rapi/handler/*, and the runtime clients in test/runtimes):
// - /register: a broken connection is registered again (<= 6 times, <= 0.63 s).
//   If Lambda never got the first one, the second works; if it did, Lambda
//   refuses a second (403, Registered to Registered) and our identifier is lost:
//   the extension exits 1 at once, so Lambda fails this Init (not after its 10 s
//   limit) and the next invocation starts a new one. Refused for good: exits 1.
// - /event/next: asked again; an event lost in the broken answer is an event
//   the extension did not see: the invocation itself goes on through the proxy.
// - /init/error: reported again (RIE accepts and ignores a repeat: "only the
//   first submitted error is accepted"; the sandbox answers 403); the extension
//   exits 1 either way, so Lambda learns that Init failed from the report or,
//   if the report never arrived, from the exit.
// - /exit/error: never called. The extension exits after Init only when the
//   Extensions API itself failed, so there is no one to report to.
// - the runtime's /init/error: a post with a body is never sent twice; the
//   runtime gets 502 Extension.UpstreamUnreachable (or a cut once part of the
//   answer was out) and exits as its client does; Lambda has the report, or
//   learns from that exit. Never an Init timeout.
// - a call Lambda takes and never answers (stall): no time limit of our own.
//   The Extensions and Runtime APIs set none (a /register or /init/error that
//   hangs is Lambda's to end), and Lambda's Init limit ends such an Init as a
//   timeout, as it would without the extension. (/event/next is a long poll:
//   a stall there is an idle environment.)

import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { NODE, LAYER, ROOT, WRAPPER, next, raw, respond, shutDownAtEnd, startOnFreePortSettled } from '../integration/harness.ts';
import { LambdaSandbox, SandboxInitError, type RuntimeSpec } from '../sandbox/sandbox.ts';
import { OtlpReceiver } from '../support/otlp-receiver.ts';
import { FaultRelay, RESET_PHASES, type ResetPhase, type RuntimeCall } from './fault-relay.ts';
import { FuzzFigures } from './figures.ts';

const figures = new FuzzFigures('extensions-api faults', 0x45585441);
const r = figures.random;
after(() => figures.report());
/** Phases at which Lambda has already received the whole call. */
const RECEIVED: readonly ResetPhase[] = ['before-answer', 'mid-answer'];

interface Rig {
  readonly relay: FaultRelay;
  /** The sandbox and the proxy's address, once start() has run. */
  readonly sandbox: LambdaSandbox;
  readonly proxy: string;
  /**
   * Starts the sandbox (again on a fresh listener port if that one was taken meanwhile: a port race
   * is never the fault under test, and the call armed would never reach the relay); how its Init
   * failed, undefined when it started.
   */
  start(): Promise<SandboxInitError | undefined>;
  close(): Promise<void>;
}

/** The built layer behind a relay for every API, tracing on; started by its start(). */
async function rig(options: { env?: Record<string, string>; runtime?: RuntimeSpec; initTimeoutMs?: number } = {}): Promise<Rig> {
  const relay = new FaultRelay();
  const relayPort = await relay.start();
  const receiver = await OtlpReceiver.start();
  let started: { sandbox: LambdaSandbox; port: number } | undefined;
  const current = () => {
    if (started === undefined) throw new Error('the rig has not been started');
    return started;
  };
  return {
    relay,
    get sandbox() { return current().sandbox; },
    get proxy() { return `127.0.0.1:${current().port}`; },
    async start() {
      const settled = await startOnFreePortSettled((port) => shutDownAtEnd(new LambdaSandbox({
        layerDir: LAYER, runtime: options.runtime ?? 'external', wrapper: WRAPPER, timeoutMs: 30_000, initTimeoutMs: options.initTimeoutMs ?? 10_000,
        apiAddress: (address) => { relay.relayTo(address); return `127.0.0.1:${relayPort}`; },
        env: { LRAP_LISTENER_PORT: String(port), OTEL_SDK_DISABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, ...options.env },
      })));
      started = settled;
      return settled.failed;
    },
    async close() { await started?.sandbox.shutdown().catch(() => undefined); await relay.stop(); await receiver.close(); },
  };
}

/**
 * Waits for the armed fault to fire, once Init is over. If the armed call never reached the relay by
 * then it never will (the runtime or the extension is gone): that is a failure to report, not a
 * promise to wait on until the test's own time limit.
 */
async function whenFired(rig: Rig, fired: Promise<void>, what: string): Promise<void> {
  if (rig.relay.armedLeft > 0) {
    figures.fail(`${what}: the call armed never reached Lambda (${rig.sandbox.events.map((e) => e.kind).join(', ')})`);
    return;
  }
  await fired;
}

/** One invocation through the proxy, its bytes compared. */
async function invokeThrough(rig: Rig, what: string): Promise<void> {
  figures.cases++;
  const payload = r.bytes(r.between(0, 50_000));
  const invoked = rig.sandbox.invoke(payload);
  const event = await next(rig.proxy);
  figures.same(event.body, payload, `${what}: the event`);
  const answer = r.bytes(r.between(0, 50_000));
  await respond(rig.proxy, raw(event.rawHeaders, 'lambda-runtime-aws-request-id')!, answer);
  figures.same((await invoked).body, answer, `${what}: the answer`);
}

function extensionLog(rig: Rig): string {
  return rig.sandbox.output('lambda-trace-proxy').stderr;
}

describe('/register', () => {
  for (const phase of RESET_PHASES) {
    const received = RECEIVED.includes(phase);
    test(`reset ${phase}: ${received ? 'the repeat is refused, the extension exits 1 at once with a clear error, and Init fails without waiting for its limit' : 'registered again, and it serves'}`, async () => {
      const failedBefore = figures.failures.length;
      const rigged = await rig();
      try {
        figures.faults++;
        const fired = rigged.relay.arm('register', phase);
        const failed = await rigged.start();
        await whenFired(rigged, fired, `register ${phase}`);
        if (!received) {
          if (failed) figures.fail(`register ${phase}: Init failed (${failed.reason} ${failed.errorType})`);
          if (!/"code":"LRAP_EXTENSIONS_API_RETRY"/.test(extensionLog(rigged))) figures.fail(`register ${phase}: no retry logged`);
          await invokeThrough(rigged, `register ${phase}`);
        } else {
          // 'process-exited', not 'timeout': Lambda fails this Init at once and starts the next one afresh.
          if (failed?.reason !== 'process-exited') figures.fail(`register ${phase}: Init ${failed ? `failed as ${failed.reason}` : 'succeeded'}, expected the extension's exit`);
          if (!/"code":"LRAP_EXTENSIONS_API_FAILED"/.test(extensionLog(rigged)) || !/the answer to our registration was lost/.test(extensionLog(rigged))) {
            figures.fail(`register ${phase}: no clear error logged`);
          }
        }
      } finally {
        await rigged.close();
      }
      assert.deepEqual(figures.failures.slice(failedBefore), []);
    });
  }

  test('refused for good: the extension gives up after its retries and exits 1; Init fails without waiting for its limit', async () => {
    const failedBefore = figures.failures.length;
    const rigged = await rig();
    try {
      figures.faults++;
      void rigged.relay.arm('register', 'request-start', Infinity);
      const failed = await rigged.start();
      if (failed?.reason !== 'process-exited') figures.fail(`register refused: Init ${failed ? `failed as ${failed.reason}` : 'succeeded'}`);
      const retries = extensionLog(rigged).match(/"code":"LRAP_EXTENSIONS_API_RETRY"/g)?.length ?? 0;
      if (retries !== 6) figures.fail(`register refused: ${retries} retries, expected 6`);
    } finally {
      await rigged.close();
    }
    assert.deepEqual(figures.failures.slice(failedBefore), []);
  });
});

describe('/event/next', () => {
  for (const phase of RESET_PHASES) {
    const received = RECEIVED.includes(phase);
    test(`reset ${phase}: asked again${received ? ' (the INVOKE in the broken answer is lost to the extension, not to the function)' : ''}; every invocation byte for byte, the extension never goes down`, async () => {
      const failedBefore = figures.failures.length;
      const rigged = await rig();
      try {
        figures.faults++;
        // The first /event/next ends Init; with 'before-answer' or 'mid-answer' the first INVOKE is lost.
        const fired = rigged.relay.arm('event-next', phase);
        const failed = await rigged.start();
        if (failed) throw failed;
        const runs = invokeThrough(rigged, `event/next ${phase}, 1`);
        await fired;
        await runs;
        for (let n = 2; n <= 3; n++) await invokeThrough(rigged, `event/next ${phase}, ${n}`);
        const died = rigged.sandbox.events.filter((e) => e.kind === 'crash' || e.kind === 'reset' || (e.kind === 'process-exit' && e.detail.name === 'lambda-trace-proxy'));
        if (died.length > 0) figures.fail(`event/next ${phase}: ${died.map((e) => e.kind).join(', ')}`);
        if (!/"code":"LRAP_EXTENSIONS_API_RETRY"/.test(extensionLog(rigged))) figures.fail(`event/next ${phase}: no retry logged`);
      } finally {
        await rigged.close();
      }
      assert.deepEqual(figures.failures.slice(failedBefore), []);
    });
  }
});

describe('the extension\'s /init/error', () => {
  // An Init the extension must fail: a listener port that is not a port.
  const badConfig = { LRAP_LISTENER_PORT: 'not-a-port' };
  for (const phase of [...RESET_PHASES, 'refused' as const]) {
    test(`${phase === 'refused' ? 'refused for good' : `reset ${phase}`}: the extension exits 1 and Lambda learns that Init failed ${phase === 'refused' ? 'from the exit' : 'from the report'}, never from its time limit`, async () => {
      const failedBefore = figures.failures.length;
      const rigged = await rig({ env: badConfig });
      try {
        figures.cases++;
        figures.faults++;
        if (phase === 'refused') void rigged.relay.arm('extension-init-error', 'request-start', Infinity);
        else void rigged.relay.arm('extension-init-error', phase);
        const failed = await rigged.start();
        const expected = phase === 'refused' ? 'process-exited' : 'extension-init-error';
        if (failed?.reason !== expected) figures.fail(`init/error ${phase}: Init ${failed ? `failed as ${failed.reason} (${failed.errorType})` : 'succeeded'}, expected ${expected}`);
        if (phase !== 'refused' && failed?.errorType !== 'Extension.InvalidListenerPort') figures.fail(`init/error ${phase}: Lambda got error type ${failed?.errorType}`);
        const exit = await rigged.sandbox.waitForEvent('process-exit', { match: (e) => e.detail.name === 'lambda-trace-proxy' });
        if (exit.detail.code !== 1 && exit.detail.signal === null) figures.fail(`init/error ${phase}: the extension exited ${JSON.stringify(exit.detail)}`);
      } finally {
        await rigged.close();
      }
      assert.deepEqual(figures.failures.slice(failedBefore), []);
    });
  }
});

describe('a call Lambda takes and never answers', () => {
  const cases: readonly { call: RuntimeCall; env?: Record<string, string>; runtime?: RuntimeSpec }[] = [
    { call: 'register' },
    { call: 'extension-init-error', env: { LRAP_LISTENER_PORT: 'not-a-port' } },
    { call: 'init-error', runtime: { command: [NODE, path.join(ROOT, 'test/fuzz/fixtures/init-error-runtime.ts')] } },
  ];
  for (const { call, env, runtime } of cases) {
    test(`${call} stalls: Lambda's own Init limit ends the Init, as without the extension`, async () => {
      const failedBefore = figures.failures.length;
      const rigged = await rig({ env, runtime, initTimeoutMs: 1_000 });
      try {
        figures.cases++;
        figures.faults++;
        const fired = rigged.relay.arm(call, 'stall');
        const failed = await rigged.start();
        await whenFired(rigged, fired, `${call} stalled`);
        if (failed?.reason !== 'timeout') figures.fail(`${call} stalled: Init ${failed ? `failed as ${failed.reason}` : 'succeeded'}, expected Lambda's timeout`);
        if (/LRAP_FATAL|"code":"LRAP_INTERNAL_ERROR"/.test(extensionLog(rigged))) figures.fail(`${call} stalled: the extension failed`);
      } finally {
        await rigged.close();
      }
      assert.deepEqual(figures.failures.slice(failedBefore), []);
    });
  }
});

describe('the runtime\'s /init/error through the proxy', () => {
  const runtime: RuntimeSpec = { command: [NODE, path.join(ROOT, 'test/fuzz/fixtures/init-error-runtime.ts')] };
  for (const phase of RESET_PHASES) {
    const received = RECEIVED.includes(phase);
    test(`reset ${phase}: the runtime gets ${phase === 'mid-answer' ? 'a cut' : '502 Extension.UpstreamUnreachable'} and exits; Lambda learns that Init failed ${received ? 'from the report' : 'from that exit'}; the extension stays up`, async () => {
      const failedBefore = figures.failures.length;
      const rigged = await rig({ runtime });
      try {
        figures.cases++;
        figures.faults++;
        const fired = rigged.relay.arm('init-error', phase);
        const failed = await rigged.start();
        await whenFired(rigged, fired, `runtime init/error ${phase}`);
        const expected = received ? 'runtime-init-error' : 'process-exited';
        if (failed?.reason !== expected) figures.fail(`runtime init/error ${phase}: Init ${failed ? `failed as ${failed.reason} (${failed.errorType})` : 'succeeded'}, expected ${expected}`);
        // Once Lambda has the report it ends Init and kills the runtime, which may not have printed by then.
        const got = /init-error post: (.*)/.exec(rigged.sandbox.output('runtime').stdout)?.[1] ?? 'nothing';
        const honest = phase === 'mid-answer' ? /^cut|^502 / : /^502 .*Extension\.UpstreamUnreachable/;
        if (!honest.test(got) && !(received && got === 'nothing')) figures.fail(`runtime init/error ${phase}: the runtime got ${got}`);
        const extensionDied = rigged.sandbox.events.some((e) => e.kind === 'crash' && e.detail.process === 'lambda-trace-proxy');
        if (extensionDied || /LRAP_FATAL|"code":"LRAP_INTERNAL_ERROR"/.test(extensionLog(rigged))) figures.fail(`runtime init/error ${phase}: the extension failed`);
      } finally {
        await rigged.close();
      }
      assert.deepEqual(figures.failures.slice(failedBefore), []);
    });
  }
});
