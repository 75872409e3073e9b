// The events and responses the benchmark sends, built once per size: a plain
// JSON document, and an API Gateway REST event (the fixture, its `body` padded)
// into which tracing splices `traceparent`. Responses match the event's shape:
// an API Gateway proxy response has a statusCode tracing reads.

import { readFileSync } from 'node:fs';

export type Shape = 'json' | 'apigw';

export const SHAPES: readonly Shape[] = ['json', 'apigw'];
export const SHAPE_LABELS: Record<Shape, string> = { json: 'plain JSON', apigw: 'API Gateway' };

export interface PayloadSize {
  readonly label: string;
  readonly bytes: number;
}

/** Lambda's limits are 6 MB for a synchronous event and 6 MB (+100 bytes) for a buffered response. */
export const PAYLOAD_SIZES: readonly PayloadSize[] = [
  { label: '1 KB', bytes: 1024 },
  { label: '64 KB', bytes: 64 * 1024 },
  { label: '1 MB', bytes: 1024 * 1024 },
  { label: '6 MB', bytes: 6 * 1024 * 1024 },
];

export interface Payload {
  readonly shape: Shape;
  readonly size: PayloadSize;
  readonly event: Buffer;
  readonly response: Buffer;
}

const APIGW_FIXTURE = new URL('../fixtures/events/apigw-rest.json', import.meta.url);

export function buildPayload(shape: Shape, size: PayloadSize): Payload {
  return shape === 'json'
    ? { shape, size, event: padded({ id: 'bench-event', payload: '' }, 'payload', size.bytes), response: padded({ ok: true, payload: '' }, 'payload', size.bytes) }
    : { shape, size, event: apigwEvent(size.bytes), response: padded(APIGW_RESPONSE, 'body', size.bytes) };
}

const APIGW_RESPONSE = { statusCode: 200, headers: { 'Content-Type': 'application/json' }, isBase64Encoded: false, body: '' };

function apigwEvent(bytes: number): Buffer {
  const fixture = JSON.parse(readFileSync(APIGW_FIXTURE, 'utf8')) as Record<string, unknown>;
  return padded(fixture, 'body', bytes, 2);
}

/**
 * `doc` serialised with the string member `key` padded so the whole document
 * is `bytes` long (or as short as it can be, when `doc` alone is longer).
 */
function padded(doc: Record<string, unknown>, key: string, bytes: number, indent?: number): Buffer {
  const base = JSON.stringify({ ...doc, [key]: '' }, null, indent).length;
  const text = JSON.stringify({ ...doc, [key]: 'x'.repeat(Math.max(0, bytes - base)) }, null, indent);
  return Buffer.from(text, 'utf8');
}

/** Five chunks of a streamed response (16 KiB each). */
export function streamChunks(): Buffer[] {
  return Array.from({ length: 5 }, (_, i) => Buffer.alloc(16 * 1024, 97 + i));
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${+(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${+(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}
