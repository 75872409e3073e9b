// The extension's side of the Lambda lifecycle: after registering, loop on
// /event/next. Each INVOKE is held until the runtime's post for it has reached
// Lambda (the lifecycle's own wait, see runtime-watch.ts), then tracing gets to
// export, because Lambda may freeze the environment as soon as we ask for the
// next event, and a frozen process exports nothing. SHUTDOWN ends the loop.

import { retryingBrokenConnections, type ExtensionsApiClient, type LifecycleEvent } from './extensions-api.ts';
import type { RuntimeApiProxy } from '../proxy/runtime-api-proxy.ts';
import type { RuntimeWatch } from './runtime-watch.ts';
import type { Logger } from '../log.ts';
import { describeError } from '../errors.ts';

export type InvokeEvent = Extract<LifecycleEvent, { eventType: 'INVOKE' }>;
export type ShutdownEvent = Extract<LifecycleEvent, { eventType: 'SHUTDOWN' }>;

/**
 * What the lifecycle needs from tracing; absent when tracing is off. The
 * lifecycle owns the waiting: it calls these only once an invocation is over
 * (or given up on), and a throw or rejection here never holds an invocation.
 */
export interface LifecycleHooks {
  /** An INVOKE arrived: the environment runs again (called at once, before any wait). */
  invoked(event: InvokeEvent): void;
  /**
   * The invocation has ended (its post reached Lambda, the runtime went away,
   * it bypassed the proxy, or its deadline came): resolves once its telemetry is
   * safe to be frozen with (exported, or given up on).
   */
  afterInvoke(event: InvokeEvent): Promise<void>;
  /** Managed Instances: the invocation was handed out but never posted and its deadline has passed. */
  abandoned(requestId: string): void;
  /** Ends what is still open and flushes, finishing before `deadline` (a performance.now() time). */
  shutdown(event: ShutdownEvent, deadline: number): Promise<void>;
}

/** Lambda kills external extensions at the SHUTDOWN deadline; leave a margin to exit cleanly. */
const SHUTDOWN_MARGIN_MS = 150;
/** Share of the shutdown budget given to posts still on their way to Lambda. */
const DRAIN_SHARE = 0.25;
/** Lambda ends the invocation at its deadline; stop waiting for it a little before. */
const INVOKE_DEADLINE_MARGIN_MS = 20;

export async function runLifecycle(
  client: ExtensionsApiClient,
  proxy: RuntimeApiProxy,
  watch: RuntimeWatch,
  hooks: LifecycleHooks | undefined,
  log: Logger,
): Promise<number> {
  for (;;) {
    let event: LifecycleEvent;
    try {
      proxy.noteFreezePoint();
      event = await nextEventRetrying(client, log);
    } catch (err) {
      // Lambda answers 500 when the environment is broken: the documented move is to exit.
      log.error('cannot get the next lifecycle event; exiting', { code: 'LRAP_EXTENSIONS_API_FAILED', error: describeError(err) });
      return 1;
    }
    if (event.eventType === 'INVOKE') {
      // A thaw: pooled connections to Lambda may have died while we were frozen.
      proxy.dropIdleUpstreamConnections();
      if (hooks) {
        try {
          hooks.invoked(event);
        } catch (err) {
          log.warn('tracing could not note an invocation', { code: 'LRAP_TRACING_HOOK_FAILED', requestId: event.requestId, error: describeError(err) });
        }
      }
      const deadline = performance.now() + (event.deadlineMs - Date.now()) - INVOKE_DEADLINE_MARGIN_MS;
      const ended = watch.whenEnded(event.requestId, deadline);
      // Without tracing nothing needs the environment awake: the INVOKE is only
      // noted (a runtime around the proxy is still reported).
      if (!hooks) continue;
      const end = await ended;
      log.debug('invoke', { requestId: event.requestId, end });
      await guarded(() => hooks.afterInvoke(event), log, 'tracing could not finish an invocation', 'LRAP_TRACING_HOOK_FAILED');
      continue;
    }
    const now = performance.now();
    const deadline = now + Math.max(0, event.deadlineMs - Date.now() - SHUTDOWN_MARGIN_MS);
    log.info('shutdown', { reason: event.shutdownReason, budgetMs: Math.round(deadline - now) });
    await proxy.close(now + (deadline - now) * DRAIN_SHARE);
    if (hooks) await guarded(() => hooks.shutdown(event, deadline), log, 'tracing could not flush at shutdown', 'LRAP_FLUSH_FAILED');
    return 0;
  }
}

/** A hook's throw or rejection is logged and goes no further: it must never hold or end the lifecycle. */
async function guarded(call: () => Promise<void>, log: Logger, msg: string, code: string): Promise<void> {
  try {
    await call();
  } catch (err) {
    log.warn(msg, { code, error: describeError(err) });
  }
}

/** `/event/next`, asked again when its connection breaks (retryingBrokenConnections). */
function nextEventRetrying(client: ExtensionsApiClient, log: Logger): Promise<LifecycleEvent> {
  return retryingBrokenConnections(() => client.nextEvent(), log, 'asking for the next event again');
}
