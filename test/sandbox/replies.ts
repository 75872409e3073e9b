import type { ServerResponse } from 'node:http';
import { rawHeader } from './raw-headers.ts';

/** What the sandbox answers to one API call. */
export interface Reply {
  readonly status: number;
  readonly body: Buffer;
  /** Raw `[name, value, …]`; Content-Type and Content-Length are added when missing. */
  readonly headers?: readonly string[];
}

/** Lambda's error document: `{"errorMessage", "errorType"}` (RIE `model.ErrorResponse`). */
export function errorReply(status: number, errorType: string, errorMessage: string): Reply {
  return jsonReply(status, { errorMessage, errorType });
}

/** 202 `{"status":"OK"}`, Lambda's answer to every accepted post (RIE `RenderAccepted`). */
export function acceptedReply(): Reply {
  return jsonReply(202, { status: 'OK' });
}

export function jsonReply(status: number, document: unknown, headers: readonly string[] = []): Reply {
  return { status, body: Buffer.from(JSON.stringify(document)), headers };
}

/**
 * Writes `reply` unless the client is gone. Returns false when it could not be
 * delivered (socket closed or destroyed), so callers can hand the work elsewhere.
 */
export function send(res: ServerResponse, reply: Reply): boolean {
  if (res.writableEnded || res.destroyed || res.socket === null || res.socket.destroyed) return false;
  const headers = [...(reply.headers ?? [])];
  if (rawHeader(headers, 'content-type') === undefined) headers.push('Content-Type', 'application/json');
  if (rawHeader(headers, 'content-length') === undefined) headers.push('Content-Length', String(reply.body.length));
  res.writeHead(reply.status, headers);
  res.end(reply.body);
  return true;
}
