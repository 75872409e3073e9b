// What went wrong, from a runtime's `/error` (or `/init/error`) post or from the error trailers of a
// streamed response, for the span's exception event (`exception.type`, `.message`, `.stacktrace`).
//
// Rule: the documented body is `{errorMessage, errorType, stackTrace: [string]}`, but real runtime
// clients differ (shared README §1): Node's RIC sends `trace: [lines]`, aws-lambda-go sends
// `stackTrace: [{path, line, label}]`, Python strings end in newlines, Rust sends `{errorType,
// errorMessage}` only. The body's `errorType` wins for the type: it is the exception's class, while
// the `Lambda-Runtime-Function-Error-Type` header is often a fixed category (Java's RIC sends
// `Runtime.UserException` for every exception, Rust `unhandled`; seen on the wire in test/e2e). The
// header is the type only when the body has none (missing, unreadable, or not JSON). Bodies
// above MAX_ERROR_BODY_BYTES are not parsed. Never throws: unreadable input gives fewer fields.

import { asJsonObject, asNonEmptyString } from '../event/json-scan.ts';

export interface ParsedError {
  readonly type?: string;
  readonly message?: string;
  readonly stack?: string;
}

/** Real error bodies are KBs; Lambda caps what it accepts near 1 MiB. Larger ones are not parsed. */
export const MAX_ERROR_BODY_BYTES = 1024 * 1024;

/** Base64 of a body that is at most MAX_ERROR_BODY_BYTES long. */
const MAX_ERROR_TRAILER_CHARS = Math.ceil(MAX_ERROR_BODY_BYTES / 3) * 4;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Type, message and stack of an error post. `body` may be the chunks as they came off the socket;
 * `errorTypeHeader` is `Lambda-Runtime-Function-Error-Type`, when sent.
 */
export function parseErrorBody(body: Buffer | readonly Buffer[] | undefined, errorTypeHeader: string | undefined): ParsedError {
  const fromBody = parseErrorJson(boundedBytes(body));
  const type = fromBody.type ?? asNonEmptyString(errorTypeHeader?.trim());
  return withoutMissing({ type, message: fromBody.message, stack: fromBody.stack });
}

/**
 * An `/error` post's body, kept as it passes only as far as it will be parsed: past
 * MAX_ERROR_BODY_BYTES everything is let go (such a body is not parsed; the header names the type).
 */
export class ErrorBodyReader {
  #chunks: Buffer[] = [];
  #bytes = 0;

  get done(): boolean {
    return this.#bytes > MAX_ERROR_BODY_BYTES;
  }

  push(chunk: Buffer): void {
    this.#bytes += chunk.length;
    // A copy: the proxy frees the chunk once it is forwarded (BodyReader).
    if (this.#bytes <= MAX_ERROR_BODY_BYTES) this.#chunks.push(Buffer.from(chunk));
    else this.#chunks = [];
  }

  parse(errorTypeHeader: string | undefined): ParsedError {
    return parseErrorBody(this.done ? undefined : this.#chunks, errorTypeHeader);
  }
}

/**
 * The mid-stream failure of a streamed response, from its trailers
 * `Lambda-Runtime-Function-Error-Type` and `Lambda-Runtime-Function-Error-Body` (base64 JSON).
 * Undefined when neither trailer is there: the stream ended well.
 */
export function parseStreamErrorTrailers(errorType: string | undefined, errorBodyBase64: string | undefined): ParsedError | undefined {
  if (asNonEmptyString(errorType?.trim()) === undefined && asNonEmptyString(errorBodyBase64?.trim()) === undefined) {
    return undefined;
  }
  return parseErrorBody(decodeErrorBodyTrailer(errorBodyBase64), errorType);
}

/** The bytes of a base64 `Lambda-Runtime-Function-Error-Body` trailer; undefined when absent, not base64 or too long. */
export function decodeErrorBodyTrailer(value: string | undefined): Buffer | undefined {
  const base64 = value?.replace(/\s+/g, '');
  if (base64 === undefined || base64 === '' || base64.length > MAX_ERROR_TRAILER_CHARS || !BASE64.test(base64)) {
    return undefined;
  }
  return Buffer.from(base64, 'base64');
}

function parseErrorJson(bytes: Buffer | undefined): ParsedError {
  if (bytes === undefined || bytes.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    return {};
  }
  const error = asJsonObject(value);
  if (error === undefined) return {};
  return {
    type: asNonEmptyString(error.errorType),
    message: asNonEmptyString(error.errorMessage),
    // `trace` is the Node RIC's name for it.
    stack: formatStack(error.stackTrace) ?? formatStack(error.trace),
  };
}

/** One string per frame, joined by newlines; Go's frame objects in Go's own traceback layout. */
function formatStack(value: unknown): string | undefined {
  if (typeof value === 'string') return asNonEmptyString(value.trimEnd());
  if (!Array.isArray(value)) return undefined;
  const lines: string[] = [];
  for (const frame of value) {
    const line = typeof frame === 'string' ? frame.replace(/\n$/, '') : formatGoFrame(frame);
    if (line !== undefined && line !== '') lines.push(line);
  }
  return lines.length > 0 ? lines.join('\n') : undefined;
}

/** aws-lambda-go `{path, line, label}` → `label\n\tpath:line`, as a Go panic prints a frame. */
function formatGoFrame(frame: unknown): string | undefined {
  const fields = asJsonObject(frame);
  if (fields === undefined) return undefined;
  const label = asNonEmptyString(fields.label);
  const path = asNonEmptyString(fields.path);
  const line = typeof fields.line === 'number' ? fields.line : undefined;
  const location = path === undefined ? undefined : line === undefined ? path : `${path}:${line}`;
  if (label === undefined) return location;
  return location === undefined ? label : `${label}\n\t${location}`;
}

/** The body as one Buffer when it is within MAX_ERROR_BODY_BYTES (copying at most that much). */
function boundedBytes(body: Buffer | readonly Buffer[] | undefined): Buffer | undefined {
  if (body === undefined) return undefined;
  if (Buffer.isBuffer(body)) return body.length <= MAX_ERROR_BODY_BYTES ? body : undefined;
  const chunks = body as readonly Buffer[];
  let total = 0;
  for (const chunk of chunks) total += chunk.length;
  if (total > MAX_ERROR_BODY_BYTES) return undefined;
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total);
}

function withoutMissing(error: { type: string | undefined; message: string | undefined; stack: string | undefined }): ParsedError {
  const result: { type?: string; message?: string; stack?: string } = {};
  if (error.type !== undefined) result.type = error.type;
  if (error.message !== undefined) result.message = error.message;
  if (error.stack !== undefined) result.stack = error.stack;
  return result;
}
