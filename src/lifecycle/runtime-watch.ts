// What the lifecycle knows of the runtime's calls: which events it got through
// the proxy, which of them ended, and whether the runtime talks through the
// proxy at all. It decides, per INVOKE, how long the extension holds the
// environment awake: until the runtime's post for that id reached Lambda, and
// not one moment when the runtime is not behind the proxy.
//
// Detecting a bypass needs no timer. Lambda hands an event out only to a
// waiting `/next` (Init ends when the runtime and every extension have called
// next; RIE's `doInvoke` releases the extensions and the runtime only after
// `AwaitRuntimeReady`), and a runtime behind the proxy must send its `/next` to
// us before we can forward it. So when INVOKE for X arrives, either the proxy
// already handed X out, or it is still forwarding a `/next` (the extensions are
// released just before the runtime, so the event may be a moment behind the
// INVOKE), or the runtime asked Lambda directly. Only the last is a bypass, and
// it is decided the moment nothing is outstanding: a slow Init or a `/next`
// asked late only delays the INVOKE itself ("when a function is invoked in
// response to a Next API request, Lambda sends an Invoke event to the runtime
// and to each extension", Extensions API guide).
//
// The other orders considered: an Init retried at the first invoke runs inline
// before that INVOKE (RIE `doInvoke`: `doRuntimeDomainInit`, then release), so
// the runtime's `/next` still comes first. A SnapStart restore: the runtime's
// first `/next` after it goes through us like any other (retried by the proxy
// if its connection died). Chained proxies: each one in the chain forwards the
// `/next`, so each sees it before Lambda does. Managed Instances: no INVOKE at
// all, so nothing is held and nothing is detected here (the Telemetry API can
// tell, later). A `/next` that ends without an event (an error answer, an
// upstream failure) no longer counts as outstanding. One request id handed out
// twice (a retried attempt) is matched by attempt: the INVOKE counts against
// the hand-outs of that id, not against an earlier attempt's end.

import type { HandedOutEvent, RuntimeSignals } from '../proxy/invocation-observer.ts';
import type { Logger } from '../log.ts';

/** How the wait for one invocation ended. */
export type InvocationEnd =
  /** The runtime's post reached Lambda, or could not be delivered (the runtime got a 502). */
  | 'posted'
  /** The connection that carried the event closed before any post. */
  | 'runtime-gone'
  /** The runtime did not get this event through the proxy. */
  | 'bypassed'
  /** Still running at the deadline given to `whenEnded`. */
  | 'deadline';

/**
 * Whether the runtime is behind the proxy, for whoever reports on invocations
 * the proxy never saw (the Telemetry API): a small, read-only view.
 */
export interface RuntimeRouting {
  /** True from an INVOKE the runtime did not get through the proxy until the next event it gets through it. */
  readonly bypassed: boolean;
  /** Whether the INVOKE for `requestId` went around the proxy (the last 64 such ids are remembered). */
  wasBypassed(requestId: string): boolean;
}

export interface RuntimeWatchOptions {
  readonly log: Logger;
  /** The proxy's port, for the error message's fix. */
  readonly listenerPort: number;
  /**
   * Managed Instances: no INVOKE, no reset at a timeout (the code keeps
   * running), so an invocation whose post never comes is given up on at its
   * deadline and reported here.
   */
  readonly onAbandoned?: (requestId: string) => void;
  /** An invocation ended (posted, abandoned, its runtime gone) and none other is running. */
  readonly onQuiet?: () => void;
  /** The runtime got an event through the proxy (main.ts fits V8's heap at the first one). */
  readonly onHandedOut?: () => void;
}

/** Per request id: attempts handed out and INVOKEs seen (one id may be attempted more than once). */
interface Attempts {
  handedOut: number;
  invokes: number;
  /** The latest attempt's post ended. */
  ended: boolean;
  /** Lambda took a post for the latest attempt (see `postEnded`). */
  taken: boolean;
  /** The latest attempt's event connection closed before its post. */
  runtimeGone: boolean;
  abandonTimer: NodeJS.Timeout | undefined;
}

interface Waiter {
  readonly requestId: string;
  /** The attempt this INVOKE is about (1-based), matched against `handedOut`. */
  readonly attempt: number;
  readonly resolve: (end: InvocationEnd) => void;
  readonly timer: NodeJS.Timeout;
}

/** Ids remembered after they ended: an INVOKE read after its response, or a retry. */
const MEMORY = 64;
/** A post may reach Lambda just after the deadline it raced; give it this long before giving up. */
const ABANDON_GRACE_MS = 1_000;

export const BYPASS_CODE = 'LRAP_RUNTIME_BYPASS';

export class RuntimeWatch implements RuntimeSignals, RuntimeRouting {
  readonly #o: RuntimeWatchOptions;
  readonly #ids = new Map<string, Attempts>();
  readonly #waiters = new Set<Waiter>();
  readonly #bypassedIds = new Set<string>();
  /** `/next` calls received from the runtime and not yet answered by Lambda. */
  #outstanding = 0;
  #bypassed = false;
  #bypassReported = false;

  constructor(options: RuntimeWatchOptions) {
    this.#o = options;
  }

  get bypassed(): boolean {
    return this.#bypassed;
  }

  wasBypassed(requestId: string): boolean {
    return this.#bypassedIds.has(requestId);
  }

  /** Whether an event handed out through the proxy is still waiting for its post. */
  get invocationsRunning(): boolean {
    for (const ids of this.#ids.values()) if (isRunning(ids)) return true;
    return false;
  }

  // ---- signals from the proxy ------------------------------------------------

  nextRequested(): void {
    this.#outstanding++;
  }

  nextAnswered(event: HandedOutEvent | undefined): void {
    this.#outstanding = Math.max(0, this.#outstanding - 1);
    if (event !== undefined) {
      const ids = this.#attempts(event.requestId);
      ids.handedOut++;
      ids.ended = false;
      ids.taken = false;
      ids.runtimeGone = false;
      this.#armAbandon(event, ids);
      this.#o.onHandedOut?.();
      if (this.#bypassed) {
        this.#bypassed = false;
        this.#o.log.info('the runtime now talks through the proxy; invocations are traced again', { code: 'LRAP_RUNTIME_PROXIED', requestId: event.requestId });
      }
    }
    this.#review();
  }

  /**
   * A post for an event the proxy never handed out (the runtime got it from
   * Lambda some other way, or posts for an id it made up or kept) is forwarded
   * like any other, and Lambda's answer decides what it means. Lambda refuses
   * an id that is not its current invocation with 400 `InvalidRequestID` before
   * anything changes (RIE `AwsRequestIDValidator`, ahead of every post handler),
   * and a second post for one already answered with 403: such a post ended
   * nothing, so nothing is held or remembered for it. A post Lambda took (2xx,
   * or 413, which ends the invocation as `Function.ResponseSizeTooLarge`) ended
   * that invocation: its INVOKE, read before or after, is released at once
   * instead of being held to its deadline.
   */
  postEnded(requestId: string, upstreamStatus: number | undefined): void {
    const taken = upstreamStatus !== undefined && lambdaTookPost(upstreamStatus);
    let ids = this.#ids.get(requestId);
    if (ids !== undefined && ids.handedOut > 0 && !ids.taken) {
      // The post for the attempt the proxy handed out: whatever became of it, it is over for the runtime.
      if (upstreamStatus === undefined) this.#o.log.debug('post not delivered; the invocation is not held for it', { requestId });
    } else if (taken) {
      this.#o.log.debug('Lambda took a post for an event the proxy never handed out; its invocation is not held', { requestId, upstreamStatus });
      ids ??= this.#attempts(requestId);
      ids.handedOut++;
    } else {
      this.#o.log.debug('post for an event the proxy never handed out; Lambda did not take it', { requestId, upstreamStatus });
      return;
    }
    ids.ended = true;
    ids.taken = taken;
    ids.runtimeGone = false;
    this.#disarmAbandon(ids);
    this.#review();
    this.#noteEnd();
  }

  eventConnectionClosed(requestId: string): void {
    const ids = this.#ids.get(requestId);
    if (ids === undefined || ids.ended) return;
    this.#o.log.debug('runtime connection closed during the invocation', { requestId });
    ids.runtimeGone = true;
    this.#review();
    this.#noteEnd();
  }

  // ---- the wait ----------------------------------------------------------------

  /**
   * Called for each INVOKE: resolves when that invocation has ended, at once if
   * the runtime is not behind the proxy, and at `deadline` (performance.now()
   * time) at the latest.
   */
  whenEnded(requestId: string, deadline: number): Promise<InvocationEnd> {
    const ids = this.#attempts(requestId);
    ids.invokes++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.#finish(waiter, 'deadline'), Math.max(0, deadline - performance.now()));
      const waiter: Waiter = { requestId, attempt: ids.invokes, resolve, timer };
      this.#waiters.add(waiter);
      this.#check(waiter);
    });
  }

  #review(): void {
    for (const waiter of this.#waiters) this.#check(waiter);
  }

  #check(waiter: Waiter): void {
    const ids = this.#ids.get(waiter.requestId);
    if (ids === undefined) return;
    if (ids.handedOut >= waiter.attempt) {
      if (ids.ended) this.#finish(waiter, 'posted');
      else if (ids.runtimeGone) this.#finish(waiter, 'runtime-gone');
      return;
    }
    // Not handed out through us yet: a `/next` being forwarded may still bring it.
    if (this.#outstanding > 0) return;
    this.#noteBypass(waiter.requestId);
    this.#finish(waiter, 'bypassed');
  }

  #noteEnd(): void {
    if (this.#o.onQuiet !== undefined && !this.invocationsRunning) this.#o.onQuiet();
  }

  #finish(waiter: Waiter, end: InvocationEnd): void {
    if (!this.#waiters.delete(waiter)) return;
    clearTimeout(waiter.timer);
    waiter.resolve(end);
  }

  #noteBypass(requestId: string): void {
    this.#bypassed = true;
    remember(this.#bypassedIds, requestId);
    const fields = { code: BYPASS_CODE, requestId };
    if (this.#bypassReported) {
      this.#o.log.debug('invocation went around the proxy', fields);
      return;
    }
    this.#bypassReported = true;
    this.#o.log.error(
      'the function\'s runtime does not call the Runtime API through lambda-trace-proxy: no traceparent reaches the function, '
      + 'and its invocations are traced from Lambda\'s platform events alone (spans with lambda_trace_proxy.injected=false, '
      + 'no response or error read; none with LRAP_TELEMETRY_API=false). '
      + 'Set AWS_LAMBDA_EXEC_WRAPPER=/opt/wrapper-script.sh; on provided.al2023/provided.al2 (which ignore it) make your bootstrap '
      + '`exec /opt/wrapper-script.sh <your binary>` (README, OS-only runtimes), '
      + `or point AWS_LAMBDA_RUNTIME_API at 127.0.0.1:${this.#o.listenerPort}. `
      + 'Until the runtime shows up through the proxy, invocations are not held for tracing.',
      fields);
  }

  // ---- per-id memory and Managed Instances' abandoned invocations ----------------

  #attempts(requestId: string): Attempts {
    let ids = this.#ids.get(requestId);
    if (ids === undefined) {
      ids = { handedOut: 0, invokes: 0, ended: false, taken: false, runtimeGone: false, abandonTimer: undefined };
      this.#ids.set(requestId, ids);
      this.#forgetOld();
    }
    return ids;
  }

  /** Keeps the memory bounded: drops the oldest ids that nothing waits for and that are not running. */
  #forgetOld(): void {
    if (this.#ids.size <= MEMORY) return;
    const waited = new Set([...this.#waiters].map((w) => w.requestId));
    for (const [id, ids] of this.#ids) {
      if (this.#ids.size <= MEMORY) return;
      const running = ids.handedOut > 0 && !ids.ended;
      if (!running && !waited.has(id)) this.#ids.delete(id);
    }
  }

  #armAbandon(event: HandedOutEvent, ids: Attempts): void {
    const onAbandoned = this.#o.onAbandoned;
    this.#disarmAbandon(ids);
    if (onAbandoned === undefined || event.deadlineMs === undefined) return;
    const timer = setTimeout(() => {
      ids.abandonTimer = undefined;
      if (ids.ended) return;
      ids.ended = true;
      this.#o.log.debug('invocation still open after its deadline; its span ends as a timeout', { requestId: event.requestId });
      onAbandoned(event.requestId);
      this.#review();
      this.#noteEnd();
    }, Math.max(0, event.deadlineMs - Date.now()) + ABANDON_GRACE_MS);
    timer.unref();
    ids.abandonTimer = timer;
  }

  #disarmAbandon(ids: Attempts): void {
    if (ids.abandonTimer !== undefined) clearTimeout(ids.abandonTimer);
    ids.abandonTimer = undefined;
  }
}

/** Handed out through the proxy, and neither posted nor left by its runtime. */
function isRunning(ids: Attempts): boolean {
  return ids.handedOut > 0 && !ids.ended && !ids.runtimeGone;
}

/** Lambda's answers that mean it took the post and the invocation is over. */
function lambdaTookPost(status: number): boolean {
  return (status >= 200 && status < 300) || status === 413;
}

function remember(set: Set<string>, id: string): void {
  set.delete(id);
  set.add(id);
  if (set.size > MEMORY) {
    const oldest = set.values().next().value;
    if (oldest !== undefined) set.delete(oldest);
  }
}
