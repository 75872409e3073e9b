// What the proxy tells its two observers. The lifecycle gets plain facts
// (`RuntimeSignals`: an event was handed out, a post ended), always, whether or
// not tracing runs; it alone decides how long an invocation is waited for.
// Tracing gets the bytes (`InvocationObserver`), and every call to it goes
// through `guardObserver`, which catches, logs the failure's code once, and lets
// the bytes flow unchanged: a throw there can neither lose nor delay a release.

import type { Logger } from '../log.ts';
import { describeError } from '../errors.ts';

/** An event handed out by `/next`, as Lambda sent it. */
export interface InvocationEvent {
  readonly requestId: string;
  /** Lower-cased header names (node's `IncomingHttpHeaders`). */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The event, or its first bytes when `totalBytes` is more: see `EventAnswer`. */
  readonly body: Buffer;
  /** The event's length (its Content-Length). */
  readonly totalBytes: number;
  /** `performance.now()` when the event arrived from upstream. */
  readonly receivedAt: number;
}

/** Changes tracing wants in the event the runtime gets. Absent fields stay as they were. */
export interface EventRewrite {
  /**
   * What replaces the bytes given (the whole event, or its head, the rest following unchanged),
   * whole or as pieces to send one after the other (no concatenation).
   */
  readonly body?: Buffer | readonly Buffer[];
  readonly traceIdHeader?: string;
}

/** Given the head of an event: ask again with more of it. */
export const READ_MORE = 'read-more';
/** Given the head of an event: ask again with all of it. */
export const READ_WHOLE = 'read-whole';

/**
 * What tracing says to an event: a rewrite, or nothing to change (undefined); to a head, also
 * READ_MORE or READ_WHOLE. A decision on a head is final: the rest of the event streams past unread.
 */
export type EventAnswer = EventRewrite | undefined | typeof READ_MORE | typeof READ_WHOLE;

/**
 * Reads a posted body as it passes to Lambda, chunk by chunk in order, and
 * keeps only what it needs: the proxy itself keeps nothing of a post.
 */
export interface BodyReader {
  /**
   * `chunk` is lent, not given: the proxy frees its memory once it is forwarded (a view of it then
   * reads as empty), so whatever is kept of it must be copied.
   */
  push(chunk: Buffer): void;
  /** True once more bytes cannot change what was read: the proxy stops pushing. */
  readonly done: boolean;
}

/** How the runtime's `/response` or `/error` post ended. */
export interface InvocationResult {
  readonly requestId: string;
  readonly kind: 'response' | 'error';
  /** Lambda's answer to the post; undefined when it never came (proxy failure). */
  readonly upstreamStatus: number | undefined;
  /** Lambda's answer body (e.g. the 413 explanation), when it was read. */
  readonly upstreamBody: Buffer | undefined;
  readonly requestHeaders: readonly string[];
  readonly bodyBytes: number;
  /** From the post's last byte arriving from the runtime to its last byte handed to Lambda, ms. */
  readonly addedMs: number | undefined;
  readonly trailers: readonly string[];
  /** Set when the proxy could not deliver the post: why. */
  readonly failure: string | undefined;
}

/** An event Lambda handed to the runtime through the proxy. */
export interface HandedOutEvent {
  readonly requestId: string;
  /** `Lambda-Runtime-Deadline-Ms` (epoch ms), when it was a number. */
  readonly deadlineMs: number | undefined;
}

/**
 * What the lifecycle learns from the proxy. The proxy calls these for every
 * runtime call, before it calls tracing, and never lets a throw here touch the
 * exchange.
 */
export interface RuntimeSignals {
  /** The runtime's `/next` reached the proxy (it is forwarded after this call). */
  nextRequested(): void;
  /** That `/next` is over: Lambda handed out `event`, or answered without one (error status, upstream failure). */
  nextAnswered(event: HandedOutEvent | undefined): void;
  /** The runtime's `/response` or `/error` for `requestId` reached Lambda, which answered `upstreamStatus`, or could not be delivered (undefined). */
  postEnded(requestId: string, upstreamStatus: number | undefined): void;
  /**
   * The connection that carried the event for `requestId` closed. With a
   * keep-alive runtime that means it crashed or was killed; it may also just
   * have dropped an idle connection, so this is a hint, not an outcome.
   */
  eventConnectionClosed(requestId: string): void;
}

export interface InvocationObserver {
  /** The runtime asked for an event; the first such call marks the end of its init. */
  onNextRequest(at: number): void;
  onInvocationEvent(event: InvocationEvent): EventAnswer;
  /** The event's last byte reached the runtime's socket, `addedMs` after its last byte came from Lambda. */
  onEventForwarded(requestId: string, addedMs: number): void;
  /**
   * A reader for this post's body (init error: no request id), fed as the body
   * passes, before `onInvocationResult` or `onInitError`. The body is forwarded
   * whole either way; the proxy keeps nothing of it and holds no reading rules.
   */
  bodyReader(requestId: string | undefined, kind: 'response' | 'error' | 'init-error'): BodyReader | undefined;
  /** How many bytes of Lambda's answer to a post, when it refused it (status ≥ 400), to keep for `onInvocationResult`. */
  answerBytesToKeep(): number;
  onInvocationResult(result: InvocationResult): void;
  onInitError(headers: readonly string[]): void;
}

export function guardObserver(observer: InvocationObserver, log: Logger): InvocationObserver {
  const failedOnce = new Set<string>();
  const report = (hook: string, err: unknown, requestId?: string) => {
    const first = !failedOnce.has(hook);
    failedOnce.add(hook);
    (first ? log.warn : log.debug)('tracing hook failed; the invocation goes on untraced', {
      code: 'LRAP_TRACING_HOOK_FAILED', hook, requestId, error: describeError(err),
    });
  };
  return {
    onNextRequest(at) {
      try { observer.onNextRequest(at); } catch (err) { report('onNextRequest', err); }
    },
    onInvocationEvent(event) {
      try { return observer.onInvocationEvent(event); } catch (err) { report('onInvocationEvent', err, event.requestId); return undefined; }
    },
    onEventForwarded(requestId, addedMs) {
      try { observer.onEventForwarded(requestId, addedMs); } catch (err) { report('onEventForwarded', err, requestId); }
    },
    bodyReader(requestId, kind) {
      let reader: BodyReader | undefined;
      try { reader = observer.bodyReader(requestId, kind); } catch (err) { report('bodyReader', err, requestId); }
      if (reader === undefined) return undefined;
      const inner = reader;
      let failed = false;
      return {
        push(chunk) {
          try { inner.push(chunk); } catch (err) { failed = true; report('bodyReader.push', err, requestId); }
        },
        get done() { return failed || inner.done; },
      };
    },
    answerBytesToKeep() {
      try { return observer.answerBytesToKeep(); } catch (err) { report('answerBytesToKeep', err); return 0; }
    },
    onInvocationResult(result) {
      try { observer.onInvocationResult(result); } catch (err) { report('onInvocationResult', err, result.requestId); }
    },
    onInitError(headers) {
      try { observer.onInitError(headers); } catch (err) { report('onInitError', err); }
    },
  };
}
