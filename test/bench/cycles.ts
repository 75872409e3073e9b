// One timed unit of work each: a full invocation cycle (`/next` then
// `/response`), a streamed response, and a burst of concurrent invocations.
// Each starts only when the environment is idle the way Lambda would start it:
// every extension back in `/event/next`.

import { performance } from 'node:perf_hooks';
import type { Environment } from './variants.ts';
import type { RuntimeClient } from './runtime-client.ts';

export interface CycleTiming {
  /** From the runtime's `/next` to Lambda's 202 for its `/response`, ms. */
  readonly cycleMs: number;
  /** From the end of the `/response` at Lambda to the extension's next `/event/next` (the flush), ms. */
  readonly exportMs: number | undefined;
}

export async function runCycle(env: Environment, client: RuntimeClient, event: Buffer, response: Buffer): Promise<CycleTiming> {
  const hasExtension = env.extensionPid !== undefined;
  if (hasExtension) await env.upstream.whenExtensionWaiting();
  const invocation = env.upstream.enqueue(event);
  const started = performance.now();
  const next = await client.next();
  const status = await client.respond(next.requestId, response);
  const cycleMs = performance.now() - started;
  // Tracing rewrites `traceparent` in an API Gateway event: a few bytes more or less.
  if (status !== 202 || next.requestId !== invocation.id || Math.abs(next.bytes - event.length) > 512) {
    throw new Error(`${env.variant}: cycle went wrong (status ${status}, ${next.bytes} of ${event.length} event bytes)`);
  }
  const outcome = await invocation.result;
  if (outcome.bytes !== response.length) throw new Error(`${env.variant}: Lambda got ${outcome.bytes} of ${response.length} response bytes`);
  const exportMs = hasExtension ? (await env.upstream.whenExtensionWaiting()) - outcome.endAt : undefined;
  return { cycleMs, exportMs };
}

export interface StreamTiming {
  /** From the runtime starting its streamed post to Lambda receiving the first bytes, ms. */
  readonly firstByteMs: number;
  /** To Lambda receiving the end of the stream, ms. */
  readonly totalMs: number;
}

/**
 * A streamed response whose chunks go out in lock step: the runtime writes the
 * next chunk once Lambda has the previous one, so every chunk pays the hop and
 * a proxy that held chunks back would show it in the total.
 */
export async function runStreamCycle(env: Environment, client: RuntimeClient, event: Buffer, chunks: readonly Buffer[]): Promise<StreamTiming> {
  const hasExtension = env.extensionPid !== undefined;
  if (hasExtension) await env.upstream.whenExtensionWaiting();
  const invocation = env.upstream.enqueue(event);
  const next = await client.next();
  let sent = 0;
  const started = performance.now();
  const status = await client.stream(next.requestId, chunks, (i) => invocation.whenReceived(sent += chunks[i]!.length));
  const outcome = await invocation.result;
  if (status !== 202 || outcome.bytes !== sent) throw new Error(`${env.variant}: stream went wrong (status ${status}, ${outcome.bytes} of ${sent} bytes)`);
  if (hasExtension) await env.upstream.whenExtensionWaiting();
  return { firstByteMs: outcome.firstByteAt - started, totalMs: outcome.endAt - started };
}

export interface BurstTiming {
  readonly cycleMs: number[];
  readonly wallMs: number;
}

/** `clients.length` runtimes each running `cyclesEach` cycles at once, against an upstream that never makes `/next` wait. */
export async function runBurst(clients: readonly RuntimeClient[], response: Buffer, cyclesEach: number): Promise<BurstTiming> {
  const cycleMs: number[] = [];
  const started = performance.now();
  await Promise.all(clients.map(async (client) => {
    for (let i = 0; i < cyclesEach; i++) {
      const t0 = performance.now();
      const next = await client.next();
      const status = await client.respond(next.requestId, response);
      cycleMs.push(performance.now() - t0);
      if (status !== 202) throw new Error(`concurrent cycle answered ${status}`);
    }
  }));
  return { cycleMs, wallMs: performance.now() - started };
}
