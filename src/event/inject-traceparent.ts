// Hands the function our span as its parent: writes `traceparent` (and `tracestate`) into the
// header maps of an HTTP event (API Gateway, function URL, ALB), where the function's own
// instrumentation looks for an incoming context.
//
// Rule: splice bytes, never parse + stringify. Everything but the values we write stays
// byte-identical (big integers, escapes, spacing, key order). An existing member is found
// case-insensitively (`TraceParent` too) and only its value is replaced, keeping its key spelling;
// otherwise the member is appended to the map. `headers` take a string, `multiValueHeaders` a
// one-element array; a `null` map becomes an object holding only our members; a missing map is not
// created (an ALB multi-value event has no `headers` and gets none). When unsure (not an HTTP
// trigger, malformed JSON, no header map) the answer is undefined: forward the event unchanged.

import { parseTraceparent } from '../context/trace-headers.ts';
import { EVENT_SHAPE, type TriggerInfo } from './triggers.ts';
import type { EventView } from './view.ts';
import { findMember, isNullValue, keyEquals, readObject, readRootObject, type JsonMember, type JsonObjectView } from './json-scan.ts';

interface Splice {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

type HeaderToWrite = readonly [name: 'traceparent' | 'tracestate', value: string];

type EncodeHeaderValue = (value: string) => string;

const asHeaderString: EncodeHeaderValue = (value) => JSON.stringify(value);
const asMultiValue: EncodeHeaderValue = (value) => `[${JSON.stringify(value)}]`;

/**
 * The event with our trace context in its header maps, or undefined to forward it unchanged.
 * `tracestate` is written only when given (an existing one is otherwise left as it is).
 */
export function injectTraceContext(
  event: Buffer,
  trigger: TriggerInfo,
  traceparent: string,
  tracestate?: string,
): Buffer | undefined {
  const pieces = injectTraceContextPieces(event, trigger, traceparent, tracestate);
  return pieces && Buffer.concat(pieces);
}

export function injectTraceContextPieces(
  event: Buffer,
  trigger: TriggerInfo,
  traceparent: string,
  tracestate?: string,
): readonly Buffer[] | undefined {
  return injectIntoView({ bytes: event, root: readRootObject(event, EVENT_SHAPE), trigger, whole: true }, traceparent, tracestate);
}

/**
 * The view's bytes with our trace context spliced in, as pieces to write one after the other:
 * views of the original bytes between the splices, and the spliced text. Writing them (corked)
 * instead of concatenating saves a copy of a 6 MB event (~3.5 ms p50, test/bench/profile.ts). For
 * a head, the pieces cover the head; the rest of the event follows them unchanged.
 */
export function injectIntoView(view: EventView, traceparent: string, tracestate?: string): readonly Buffer[] | undefined {
  if (!view.trigger.httpShaped || view.root === undefined || parseTraceparent(traceparent) === undefined) return undefined;
  try {
    return spliceTraceHeaders(view.bytes, view.root, traceparent, tracestate);
  } catch {
    // The event goes on untouched; tracing must never cost an invocation.
    return undefined;
  }
}

function spliceTraceHeaders(event: Buffer, root: JsonObjectView, traceparent: string, tracestate: string | undefined): readonly Buffer[] | undefined {
  const toWrite: HeaderToWrite[] = [['traceparent', traceparent]];
  if (tracestate !== undefined && tracestate !== '') toWrite.push(['tracestate', tracestate]);
  const splices: Splice[] = [];
  // findMember takes the last `headers` when there are several: the one JSON parsers keep.
  const headers = findMember(event, root, 'headers');
  if (headers !== undefined) planHeaderMap(event, headers, toWrite, asHeaderString, splices);
  const multiValueHeaders = findMember(event, root, 'multiValueHeaders');
  if (multiValueHeaders !== undefined) planHeaderMap(event, multiValueHeaders, toWrite, asMultiValue, splices);
  return splices.length === 0 ? undefined : applySplices(event, splices);
}

/** Plans the edits of one header map; a map that is neither an object nor null is left alone. */
function planHeaderMap(
  event: Buffer,
  map: JsonMember,
  toWrite: readonly HeaderToWrite[],
  encode: EncodeHeaderValue,
  splices: Splice[],
): void {
  if (isNullValue(event, map)) {
    splices.push({ start: map.valueStart, end: map.valueEnd, text: `{${toWrite.map((h) => memberText(h, encode)).join(',')}}` });
    return;
  }
  // Read by the view already (HTTP_SHAPE), unless the view came from elsewhere.
  const object = map.object ?? readObject(event, map.valueStart);
  if (object === undefined) return;
  const appended: string[] = [];
  for (const header of toWrite) {
    let found = false;
    // Every spelling is replaced (`traceparent` and `TraceParent` in one map): no stale parent survives.
    for (const member of object.members) {
      if (!keyEquals(event, member, header[0], true)) continue;
      splices.push({ start: member.valueStart, end: member.valueEnd, text: encode(header[1]) });
      found = true;
    }
    if (!found) appended.push(memberText(header, encode));
  }
  if (appended.length === 0) return;
  const last = object.members[object.members.length - 1];
  splices.push(
    last === undefined
      ? { start: object.start + 1, end: object.start + 1, text: appended.join(',') }
      : { start: last.valueEnd, end: last.valueEnd, text: `,${appended.join(',')}` },
  );
}

function memberText([name, value]: HeaderToWrite, encode: EncodeHeaderValue): string {
  return `${JSON.stringify(name)}:${encode(value)}`;
}

/** Splices never overlap: each replaces one member's value or inserts after a map's last value. */
function applySplices(event: Buffer, splices: Splice[]): Buffer[] {
  splices.sort((a, b) => a.start - b.start || a.end - b.end);
  const parts: Buffer[] = [];
  let copied = 0;
  for (const splice of splices) {
    parts.push(event.subarray(copied, splice.start), Buffer.from(splice.text, 'utf8'));
    copied = splice.end;
  }
  parts.push(event.subarray(copied));
  return parts;
}
