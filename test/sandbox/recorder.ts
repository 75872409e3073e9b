import type { IncomingMessage, ServerResponse } from 'node:http';
import { now } from './clock.ts';
import { AwaitableLog } from './event-log.ts';

export interface BodyChunk {
  /** Arrival time, epoch ms (sub-ms precision). */
  readonly at: number;
  readonly bytes: Buffer;
}

/** One HTTP request the sandbox received, byte for byte. Filled in as it arrives. */
export interface RecordedRequest {
  readonly at: number;
  readonly method: string;
  readonly url: string;
  /** `[name, value, name, value, …]` exactly as sent (case kept, duplicates kept). */
  readonly rawHeaders: readonly string[];
  readonly remotePort: number | null;
  /** Complete once `complete` is true. */
  body: Buffer;
  /** Every body chunk with its arrival time (what streaming tests look at). */
  readonly chunks: BodyChunk[];
  /** Raw trailers `[name, value, …]` of a chunked body. */
  trailers: readonly string[];
  /** The whole body (and trailers) arrived. */
  complete: boolean;
  /** The client went away before the sandbox answered (mid-body, or during a long poll). */
  aborted: boolean;
  /** Status the sandbox answered with; null while pending (long poll) or if never answered. */
  status: number | null;
  answeredAt: number | null;
}

/** Keeps every request the server receives, raw, and lets tests await one. */
export class RequestRecorder extends AwaitableLog<RecordedRequest> {
  constructor() {
    super('request');
  }

  /**
   * Starts recording `req`; resolves once its body (and trailers) arrived,
   * with false if the client went away first. Never rejects.
   */
  record(req: IncomingMessage, res: ServerResponse): { entry: RecordedRequest; received: Promise<boolean> } {
    const entry: RecordedRequest = {
      at: now(),
      method: req.method ?? '',
      url: req.url ?? '',
      rawHeaders: [...req.rawHeaders],
      remotePort: req.socket.remotePort ?? null,
      body: Buffer.alloc(0),
      chunks: [],
      trailers: [],
      complete: false,
      aborted: false,
      status: null,
      answeredAt: null,
    };
    this.push(entry);
    res.once('finish', () => {
      entry.status = res.statusCode;
      entry.answeredAt = now();
      this.notify();
    });
    res.once('close', () => {
      if (entry.status !== null || entry.aborted) return;
      entry.aborted = true;
      this.notify();
    });
    const received = new Promise<boolean>((resolve) => {
      req.on('data', (bytes: Buffer) => {
        entry.chunks.push({ at: now(), bytes });
        this.notify();
      });
      req.once('end', () => {
        entry.body = Buffer.concat(entry.chunks.map((c) => c.bytes));
        entry.trailers = [...req.rawTrailers];
        entry.complete = true;
        this.notify();
        resolve(true);
      });
      // 'close' without 'end': the client reset the socket mid-body.
      req.once('close', () => {
        if (entry.complete) return;
        entry.body = Buffer.concat(entry.chunks.map((c) => c.bytes));
        entry.aborted = true;
        this.notify();
        resolve(false);
      });
      req.on('error', () => {
        /* reported through 'close' */
      });
    });
    return { entry, received };
  }
}
