// Trace context headers: W3C `traceparent`/`tracestate` and AWS X-Ray `X-Amzn-Trace-Id`, parsed
// into OpenTelemetry `SpanContext`s and formatted back.
//
// W3C rules (https://www.w3.org/TR/trace-context/): lowercase hex, version `ff` invalid, all-zero
// ids invalid, version `00` has exactly four fields, higher versions may append fields; an invalid
// `traceparent` means `tracestate` is ignored; at most 32 `tracestate` members. OpenTelemetry's own
// `parseTraceParent` and `TraceState` (@opentelemetry/core) implement exactly that, so we reuse them.
//
// X-Ray (`Root=1-<8 hex>-<24 hex>;Parent=<16 hex>;Sampled=0|1|?;Lineage=…`): ids map as in
// OpenTelemetry's AWSXRayPropagator (trace id = the 8 hex epoch ‖ the 24 hex). Its parser does not
// fit here: it rejects `Sampled=?` and a missing `Sampled` (both mean "not decided yet, the
// receiver samples"), matches keys by prefix, and drops the fields we must keep when rewriting
// (`Lineage`, `Self`). So parsing is ours; formatting a fresh header uses the propagator.
//
// Pure functions: never throw on bad input, return undefined instead.

import {
  ROOT_CONTEXT,
  TraceFlags,
  isValidSpanId,
  isValidTraceId,
  trace,
  type SpanContext,
  type TextMapSetter,
  type TraceState,
} from '@opentelemetry/api';
import { TraceState as W3CTraceState, parseTraceParent } from '@opentelemetry/core';
import { AWSXRayPropagator } from '@opentelemetry/propagator-aws-xray';

/** A header that may arrive once, several times (multi-value maps), or not at all. */
export type HeaderValue = string | readonly string[] | undefined;

// Stateless; built once instead of per call.
const xrayPropagator = new AWSXRayPropagator();

const XRAY_ROOT = /^1-([0-9a-fA-F]{8})-([0-9a-fA-F]{24})$/;
const XRAY_PARENT = /^[0-9a-fA-F]{16}$/;
/** OpenTelemetry's isValidSpanId accepts upper case; what we write must be lower case (W3C). */
const OUR_SPAN_ID = /^[0-9a-f]{16}$/;

// ---------------------------------------------------------------- W3C

/** A valid `traceparent` as a remote SpanContext (no tracestate); undefined when invalid. */
export function parseTraceparent(value: string | undefined): SpanContext | undefined {
  if (typeof value !== 'string') return undefined;
  const parsed = parseTraceParent(value);
  if (parsed === null) return undefined;
  return { traceId: parsed.traceId, spanId: parsed.spanId, traceFlags: parsed.traceFlags, isRemote: true };
}

/** `tracestate` members (several header lines are one list, W3C §3.3.1.1); undefined when none is valid. */
export function parseTracestate(value: HeaderValue): TraceState | undefined {
  const joined = joinHeaderValues(value);
  if (joined === undefined) return undefined;
  const state = new W3CTraceState(joined);
  return state.serialize() === '' ? undefined : state;
}

/**
 * The remote parent described by `traceparent` + `tracestate`. More than one `traceparent` value
 * is invalid (W3C: a single header), and then `tracestate` is ignored too.
 */
export function extractW3CContext(traceparent: HeaderValue, tracestate?: HeaderValue): SpanContext | undefined {
  const single = singleHeaderValue(traceparent);
  const parent = parseTraceparent(single);
  if (parent === undefined) return undefined;
  const traceState = parseTracestate(tracestate);
  return traceState === undefined ? parent : { ...parent, traceState };
}

/**
 * `traceparent` (version 00) for a span context. Written here rather than through
 * W3CTraceContextPropagator.inject, which needs a Context and writes nothing for an invalid one:
 * callers pass their own live span. An invalid context gives a string `parseTraceparent` rejects.
 */
export function formatTraceparent(spanContext: SpanContext): string {
  const flags = (spanContext.traceFlags & 0xff).toString(16).padStart(2, '0');
  return `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`;
}

// ---------------------------------------------------------------- X-Ray

export interface XrayField {
  readonly key: string;
  readonly value: string;
}

export interface XrayTraceHeader {
  /** `Root` as a W3C trace id (32 lowercase hex). */
  readonly traceId: string;
  /** `Parent` (16 lowercase hex); undefined when absent or invalid: then there is no remote parent. */
  readonly parentSpanId: string | undefined;
  /** `Sampled=1` → true, `Sampled=0` → false; `Sampled=?` or absent → undefined: our sampler decides. */
  readonly sampled: boolean | undefined;
  /** Every `key=value` field in header order, unknown ones (`Lineage`, `Self`) included. */
  readonly fields: readonly XrayField[];
}

/** Parses `X-Amzn-Trace-Id`; undefined without a valid version-1 `Root`. */
export function parseXrayHeader(value: string | undefined): XrayTraceHeader | undefined {
  if (typeof value !== 'string') return undefined;
  const fields = splitXrayFields(value);
  let traceId: string | undefined;
  let parentSpanId: string | undefined;
  let sampled: boolean | undefined;
  // Later duplicates win, as in AWSXRayPropagator.
  for (const { key, value: fieldValue } of fields) {
    if (key === 'Root') traceId = xrayRootToTraceId(fieldValue);
    else if (key === 'Parent') parentSpanId = xrayParentToSpanId(fieldValue);
    else if (key === 'Sampled') sampled = fieldValue === '1' ? true : fieldValue === '0' ? false : undefined;
  }
  if (traceId === undefined) return undefined;
  return { traceId, parentSpanId, sampled, fields };
}

/**
 * The remote parent an X-Ray header names; undefined without `Parent`. An undecided header
 * (`Sampled=?` or no `Sampled`) gives traceFlags NONE: check `parseXrayHeader(..).sampled` before
 * letting a parent-based sampler read that as "not sampled".
 */
export function xrayParentContext(value: string | XrayTraceHeader | undefined): SpanContext | undefined {
  const header = typeof value === 'string' ? parseXrayHeader(value) : value;
  if (header?.parentSpanId === undefined) return undefined;
  return {
    traceId: header.traceId,
    spanId: header.parentSpanId,
    traceFlags: header.sampled === true ? TraceFlags.SAMPLED : TraceFlags.NONE,
    isRemote: true,
  };
}

/** `Root=1-…;Parent=…;Sampled=0|1` for a valid SpanContext, as AWSXRayPropagator writes it. */
export function formatXrayHeader(spanContext: SpanContext): string | undefined {
  const headers = new Map<string, string>();
  xrayPropagator.inject(trace.setSpanContext(ROOT_CONTEXT, spanContext), headers, mapSetter);
  return headers.get('x-amzn-trace-id');
}

/**
 * Points an X-Ray header at our span: `Parent` and `Sampled` get the new values in place (added
 * after `Root`/`Parent` when missing); every other field (`Root`, `Self`, `Lineage`, unknown ones)
 * keeps its text and order. Undefined when the header has no valid Root or the span id is invalid.
 */
export function rewriteXrayParent(header: string | XrayTraceHeader, spanId: string, sampled: boolean): string | undefined {
  const parsed = typeof header === 'string' ? parseXrayHeader(header) : header;
  if (parsed === undefined || !OUR_SPAN_ID.test(spanId) || !isValidSpanId(spanId)) return undefined;
  const sampledValue = sampled ? '1' : '0';
  const replacements: Readonly<Record<string, string>> = { Parent: spanId, Sampled: sampledValue };
  const out: XrayField[] = [];
  for (const field of parsed.fields) {
    const replacement = replacements[field.key];
    if (replacement === undefined) out.push(field);
    // The first occurrence takes the new value; later duplicates are dropped.
    else if (!out.some((f) => f.key === field.key)) out.push({ key: field.key, value: replacement });
  }
  insertFieldAfter(out, 'Root', { key: 'Parent', value: spanId });
  insertFieldAfter(out, 'Parent', { key: 'Sampled', value: sampledValue });
  return out.map((f) => (f.key === '' ? f.value : `${f.key}=${f.value}`)).join(';');
}

/** Adds `field` right after the last `afterKey` field, unless a field with its key exists. */
function insertFieldAfter(fields: XrayField[], afterKey: string, field: XrayField): void {
  if (fields.some((f) => f.key === field.key)) return;
  fields.splice(fields.findLastIndex((f) => f.key === afterKey) + 1, 0, field);
}

// ---------------------------------------------------------------- helpers

const mapSetter: TextMapSetter<Map<string, string>> = {
  set(carrier, key, value) {
    carrier.set(key, value);
  },
};

function singleHeaderValue(value: HeaderValue): string | undefined {
  if (typeof value === 'string') return value;
  if (value !== undefined && value.length === 1) return value[0];
  return undefined;
}

function joinHeaderValues(value: HeaderValue): string | undefined {
  if (typeof value === 'string') return value;
  if (value === undefined || value.length === 0) return undefined;
  return value.join(',');
}

/** Fields split on `;`, trimmed, empty ones dropped; a part without `=` is kept with an empty key. */
function splitXrayFields(header: string): XrayField[] {
  const fields: XrayField[] = [];
  for (const part of header.split(';')) {
    const trimmed = part.trim();
    if (trimmed === '') continue;
    const equals = trimmed.indexOf('=');
    fields.push(
      equals < 0
        ? { key: '', value: trimmed }
        : { key: trimmed.slice(0, equals).trim(), value: trimmed.slice(equals + 1).trim() },
    );
  }
  return fields;
}

function xrayRootToTraceId(root: string): string | undefined {
  const match = XRAY_ROOT.exec(root);
  if (match === null) return undefined;
  const traceId = `${match[1]}${match[2]}`.toLowerCase();
  return isValidTraceId(traceId) ? traceId : undefined;
}

function xrayParentToSpanId(parent: string): string | undefined {
  if (!XRAY_PARENT.test(parent)) return undefined;
  const spanId = parent.toLowerCase();
  return isValidSpanId(spanId) ? spanId : undefined;
}
