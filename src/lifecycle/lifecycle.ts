// The extension's side of the Lambda lifecycle: after registering, loop on
// /event/next. Each INVOKE is held until tracing has exported that invocation's
// span, because Lambda may freeze the environment as soon as we ask for the next
// event, and a frozen process exports nothing. SHUTDOWN ends the loop.

import { performance } from 'node:perf_hooks';
import type { ExtensionsApiClient, LifecycleEvent } from './extensions-api.ts';
import type { RuntimeApiProxy } from '../proxy/runtime-api-proxy.ts';
import type { Logger } from '../log.ts';
import { describeError } from '../errors.ts';

export type InvokeEvent = Extract<LifecycleEvent, { eventType: 'INVOKE' }>;
export type ShutdownEvent = Extract<LifecycleEvent, { eventType: 'SHUTDOWN' }>;

/** What the lifecycle needs from tracing; absent when tracing is off. */
export interface LifecycleHooks {
  /** Resolves once this invocation's telemetry is safe to be frozen with (exported, or given up on). */
  afterInvoke(event: InvokeEvent): Promise<void>;
  /** Ends what is still open and flushes, finishing before `deadline` (a performance.now() time). */
  shutdown(event: ShutdownEvent, deadline: number): Promise<void>;
}

/** Lambda kills external extensions at the SHUTDOWN deadline; leave a margin to exit cleanly. */
const SHUTDOWN_MARGIN_MS = 150;
/** Share of the shutdown budget given to posts still on their way to Lambda. */
const DRAIN_SHARE = 0.25;

export async function runLifecycle(
  client: ExtensionsApiClient,
  proxy: RuntimeApiProxy,
  hooks: LifecycleHooks | undefined,
  log: Logger,
): Promise<number> {
  for (;;) {
    let event: LifecycleEvent;
    try {
      event = await client.nextEvent();
    } catch (err) {
      // Lambda answers 500 when the environment is broken: the documented move is to exit.
      log.error('cannot get the next lifecycle event; exiting', { code: 'LRAP_EXTENSIONS_API_FAILED', error: describeError(err) });
      return 1;
    }
    if (event.eventType === 'INVOKE') {
      log.debug('invoke', { requestId: event.requestId });
      if (hooks) await hooks.afterInvoke(event).catch((err: unknown) => {
        log.warn('tracing could not finish an invocation', { code: 'LRAP_TRACING_HOOK_FAILED', requestId: event.requestId, error: describeError(err) });
      });
      continue;
    }
    const now = performance.now();
    const deadline = now + Math.max(0, event.deadlineMs - Date.now() - SHUTDOWN_MARGIN_MS);
    log.info('shutdown', { reason: event.shutdownReason, budgetMs: Math.round(deadline - now) });
    await proxy.close(now + (deadline - now) * DRAIN_SHARE);
    if (hooks) await hooks.shutdown(event, deadline).catch((err: unknown) => {
      log.warn('tracing could not flush at shutdown', { code: 'LRAP_FLUSH_FAILED', error: describeError(err) });
    });
    return 0;
  }
}
