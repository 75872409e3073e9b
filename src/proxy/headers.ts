// Header lists are kept raw ([name, value, name, value, ...]) so that names keep
// their case and order, and repeated headers stay repeated. Only hop-by-hop
// headers (RFC 9110 §7.6.1) are dropped: they describe one connection, and Node
// writes its own framing for the next hop.

import type http from 'node:http';
import type { Logger } from '../log.ts';
import { describeError } from '../errors.ts';

const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'te', 'transfer-encoding', 'upgrade',
]);
/**
 * A name of another length cannot be hop-by-hop: it goes through without being lower-cased (a
 * new string for most names, three header lists per invocation).
 */
const HOP_BY_HOP_LENGTHS = new Set([...HOP_BY_HOP].map((name) => name.length));

/** Copies a raw header list without hop-by-hop headers and without `drop` (lower-case names). */
export function forwardableHeaders(raw: readonly string[], drop?: ReadonlySet<string>): string[] {
  const out: string[] = [];
  let connectionTokens: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 10 && raw[i]!.toLowerCase() === 'connection') {
      // Headers named in Connection are hop-by-hop too.
      connectionTokens ??= new Set();
      for (const t of raw[i + 1]!.split(',')) connectionTokens.add(t.trim().toLowerCase());
    }
  }
  const anyName = drop !== undefined || connectionTokens !== undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (anyName || HOP_BY_HOP_LENGTHS.has(name.length)) {
      const lower = name.toLowerCase();
      if (HOP_BY_HOP.has(lower) || drop?.has(lower) || connectionTokens?.has(lower)) continue;
    }
    out.push(name, raw[i + 1]!);
  }
  return out;
}

/** Whether `raw` names `lowerName` (lower-case); names of another length are not lower-cased to tell. */
function isNamed(name: string, lowerName: string): boolean {
  return name.length === lowerName.length && name.toLowerCase() === lowerName;
}

/** The value of the first header called `lowerName`, or undefined. */
export function headerValue(raw: readonly string[], lowerName: string): string | undefined {
  for (let i = 0; i < raw.length; i += 2) {
    if (isNamed(raw[i]!, lowerName)) return raw[i + 1];
  }
  return undefined;
}

/** Replaces the value of every header called `lowerName` in place; returns whether one was found. */
export function replaceHeaderValue(raw: string[], lowerName: string, value: string): boolean {
  let found = false;
  for (let i = 0; i < raw.length; i += 2) {
    if (isNamed(raw[i]!, lowerName)) {
      raw[i + 1] = value;
      found = true;
    }
  }
  return found;
}

/** Raw trailer list to the [name, value] pairs `addTrailers` takes. */
export function trailerPairs(raw: readonly string[]): [string, string][] {
  const pairs: [string, string][] = [];
  for (let i = 0; i < raw.length; i += 2) pairs.push([raw[i]!, raw[i + 1]!]);
  return pairs;
}

/** Answers the runtime with the status and headers of Lambda's answer `upRes` (`headers`: its forwardable ones, maybe changed). */
export function writeUpstreamHead(res: http.ServerResponse, upRes: http.IncomingMessage, headers: string[], log: Logger): void {
  try {
    res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, headers);
  } catch (err) {
    // e.g. a `Trailer` header on a body with a Content-Length: Node refuses
    // that framing, so drop the announcement rather than the answer.
    log.debug('upstream headers rejected as they are; sending without Trailer', { error: describeError(err) });
    res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, forwardableHeaders(headers, new Set(['trailer'])));
  }
}
