// An event on its way from Lambda to the runtime, through tracing, which reads it to join its trace
// and splice `traceparent` into it (src/event/). The proxy (runtime-api-proxy.ts) hands each `/next`
// answer that carries an event here, while tracing is on; everything else it relays itself.

import type http from 'node:http';
import type { Logger } from '../log.ts';
import { describeError } from '../errors.ts';
import { forwardableHeaders, replaceHeaderValue, writeUpstreamHead } from './headers.ts';
import { freeBuffer, WrittenChunks } from './written-chunks.ts';
import { READ_MORE, READ_WHOLE, type EventAnswer, type EventRewrite, type InvocationObserver } from './invocation-observer.ts';

/** An event's announced Content-Length is trusted for one up-front allocation up to this size (Lambda's limit is 6 MB). */
const MAX_PREALLOCATED_EVENT_BYTES = 8 * 1024 * 1024;
/** An event longer than this is read by its head (see relayEvent): smaller ones are cheaper read whole. */
const HEAD_MIN_BYTES = 64 * 1024;
/**
 * A spliced event up to this size goes out as one buffer: copying a few KiB costs less than a
 * write through node:http per piece (an API Gateway event is 9 pieces). Larger ones are written
 * piece by piece (corked), sparing a copy of up to 6 MB.
 */
const CONCAT_MAX_BYTES = 16 * 1024;

/** Wraps a callback of the exchange, so that a throw in it ends the exchange honestly (RuntimeApiProxy #guard). */
export type Guard = <A extends unknown[]>(fn: (...args: A) => void) => (...args: A) => void;

/** What the proxy lends the relay of every event. */
export interface EventRelayContext {
  readonly log: Logger;
  /** Counts bytes relayed, and those kept a while, towards the next young-generation collection (RuntimeApiProxy #relayed). */
  relayed(bytes: number, kept: boolean): void;
}

/**
 * An event for the runtime. Tracing reads it to join and inject: small events whole; a large one
 * (Lambda announces its length) first by its head, and once tracing has decided from the head, the
 * head goes out (spliced) with the new length and the rest follows as it arrives, unread and unheld.
 */
export function relayEvent(res: http.ServerResponse, upRes: http.IncomingMessage, observer: InvocationObserver,
  guard: Guard, relay: EventRelayContext): void {
  const receivedAt = performance.now();
  const requestId = upRes.headers['lambda-runtime-aws-request-id'];
  const announced = Number(upRes.headers['content-length'] ?? NaN);
  const byHead = typeof requestId === 'string' && Number.isSafeInteger(announced) && announced > HEAD_MIN_BYTES
    && announced <= MAX_PREALLOCATED_EVENT_BYTES;
  let head: Buffer[] | undefined = byHead ? [] : undefined;
  let headBytes = 0;
  let nextLook = HEAD_MIN_BYTES;
  let whole: EventBody | undefined = byHead ? undefined : new EventBody(upRes.headers['content-length']);
  let streaming = false;
  let lastByteAt = receivedAt;
  const resume = () => upRes.resume();
  const written = new WrittenChunks();

  const look = (): void => {
    const bytes = head!.length === 1 ? head![0]! : Buffer.concat(head!, headBytes);
    head = [bytes];
    const answer = observer.onInvocationEvent({ requestId: requestId as string, headers: upRes.headers, body: bytes, totalBytes: announced, receivedAt });
    if (answer === READ_MORE) {
      nextLook = headBytes * 2;
    } else if (answer === READ_WHOLE) {
      whole = new EventBody(String(announced));
      whole.add(bytes);
      head = undefined;
    } else {
      head = undefined;
      streaming = true;
      sendTracedEvent(res, upRes, bytes, announced, answer, true, relay);
    }
  };

  upRes.on('data', guard((chunk: Buffer) => {
    if (streaming) {
      relay.relayed(chunk.length, false);
      if (res.destroyed) return;
      if (!written.write(res, chunk)) {
        upRes.pause();
        res.once('drain', resume);
      }
    } else if (whole !== undefined) {
      // The copy is the collector's; the chunk, once copied, is done with.
      if (whole.add(chunk)) freeBuffer(chunk);
      relay.relayed(chunk.length, true);
    } else {
      // Kept for tracing's look (and maybe sent as part of its pieces): the collector's.
      relay.relayed(chunk.length, true);
      head!.push(chunk);
      headBytes += chunk.length;
      if (headBytes >= nextLook && headBytes < announced) look();
    }
  }));
  upRes.on('error', () => res.destroy());
  // The runtime went away while the rest was streaming: stop reading, or the paused upstream
  // connection would wait for a 'drain' that never comes.
  res.on('close', () => { if (streaming && !upRes.complete) upRes.destroy(); });
  upRes.on('end', guard(() => {
    lastByteAt = performance.now();
    if (!streaming) {
      const event = whole !== undefined ? whole.bytes() : Buffer.concat(head!, headBytes);
      const answer = typeof requestId === 'string'
        ? observer.onInvocationEvent({ requestId, headers: upRes.headers, body: event, totalBytes: event.length, receivedAt })
        : undefined;
      sendTracedEvent(res, upRes, event, event.length, answer, false, relay);
    } else if (!res.destroyed) {
      res.end();
    }
  }));
  res.on('finish', () => {
    if (typeof requestId === 'string') observer.onEventForwarded(requestId, performance.now() - lastByteAt);
  });
}

/**
 * Sends the event (or its head, `more` when the rest follows) with tracing's changes; if those
 * cannot be sent, the event as Lambda sent it must still reach the runtime.
 */
function sendTracedEvent(res: http.ServerResponse, upRes: http.IncomingMessage, bytes: Buffer, totalBytes: number,
  answer: EventAnswer, more: boolean, relay: EventRelayContext): void {
  const rewrite = typeof answer === 'object' ? answer : undefined;
  try {
    sendEvent(res, upRes, bytes, totalBytes, rewrite, more, relay.log);
  } catch (err) {
    if (res.headersSent || rewrite === undefined) throw err;
    // Tracing's changes could not be sent: the event as Lambda sent it must still reach the runtime.
    relay.log.warn('the traced event could not be sent; sending it unchanged', { code: 'LRAP_TRACING_HOOK_FAILED', error: describeError(err) });
    sendEvent(res, upRes, bytes, totalBytes, undefined, more, relay.log);
  }
}

/** `bytes` (the event, or its head when `more`) with `rewrite` applied, under a Content-Length for the whole event. */
function sendEvent(res: http.ServerResponse, upRes: http.IncomingMessage, bytes: Buffer, totalBytes: number,
  rewrite: EventRewrite | undefined, more: boolean, log: Logger): void {
  const out = rewrite?.body ?? bytes;
  const pieces = Buffer.isBuffer(out) ? [out] : out;
  for (const piece of pieces) if (!Buffer.isBuffer(piece)) throw new TypeError('an event piece is not a Buffer');
  const length = totalBytes - bytes.length + pieces.reduce((n, piece) => n + piece.length, 0);
  const headers = forwardableHeaders(upRes.rawHeaders);
  if (rewrite?.traceIdHeader !== undefined) replaceHeaderValue(headers, 'lambda-runtime-trace-id', rewrite.traceIdHeader);
  if (!replaceHeaderValue(headers, 'content-length', String(length))) headers.push('Content-Length', String(length));
  writeUpstreamHead(res, upRes, headers, log);
  if (!more && (pieces.length === 1 || length <= CONCAT_MAX_BYTES)) {
    res.end(pieces.length === 1 ? pieces[0] : Buffer.concat(pieces, length));
    return;
  }
  res.cork(); // One writev for all the pieces.
  for (const piece of pieces) res.write(piece);
  if (more) process.nextTick(() => res.uncork());
  else res.end();
}

/**
 * An event read whole. With a Content-Length (Lambda sends one) the chunks are
 * copied once into a buffer of that size as they arrive, instead of being kept
 * and concatenated at the end: at 6 MB that is one copy and ~100 fewer live
 * chunks for the garbage collector (make bench, test/bench/profile.ts).
 */
class EventBody {
  readonly #chunks: Buffer[] = [];
  #buffer: Buffer | undefined;
  #length = 0;

  constructor(contentLength: string | undefined) {
    const size = contentLength === undefined ? NaN : Number(contentLength);
    if (Number.isSafeInteger(size) && size > 0 && size <= MAX_PREALLOCATED_EVENT_BYTES) this.#buffer = Buffer.allocUnsafe(size);
  }

  /** Whether `chunk` was copied (else it is kept). */
  add(chunk: Buffer): boolean {
    const copied = this.#buffer !== undefined && this.#length + chunk.length <= this.#buffer.length;
    if (copied) {
      chunk.copy(this.#buffer!, this.#length);
    } else {
      // More than announced (or no announcement): fall back to keeping chunks.
      if (this.#buffer) this.#chunks.push(this.#buffer.subarray(0, this.#length));
      this.#buffer = undefined;
      this.#chunks.push(chunk);
    }
    this.#length += chunk.length;
    return copied;
  }

  bytes(): Buffer {
    if (this.#buffer) return this.#buffer.subarray(0, this.#length);
    return this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
  }
}
