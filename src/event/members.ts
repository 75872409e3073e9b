// Reading the few members a source needs from the scanned event: strings decoded, small objects parsed
// (each capped at PARSE_LIMIT, so a 6 MB `body` is never decoded), values shared by every record of a
// batch compared as bytes and decoded once, ARNs taken apart.

import { type JsonObjectView, asNonEmptyString, decodeString, findMember, parseSlice, readObject, sameValueBytes } from './json-scan.ts';

/** Members larger than this are not parsed; the ones we parse (header maps, request context, an S3 record) are KBs. */
const PARSE_LIMIT = 256 * 1024;

interface SharedValue {
  /** The decoded value when every record has the same one. */
  readonly value: string | undefined;
  /** Whether every record has the same bytes there (or none has the member). */
  readonly uniform: boolean;
}

/** A member every record shares (queue ARN, region): compared as bytes, decoded once. */
export function sharedStringMember(event: Buffer, records: readonly JsonObjectView[], key: string): SharedValue {
  const first = records[0] === undefined ? undefined : findMember(event, records[0], key);
  for (let i = 1; i < records.length; i++) {
    const record = records[i];
    const member = record === undefined ? undefined : findMember(event, record, key);
    const same = member === undefined || first === undefined ? member === first : sameValueBytes(event, first, member);
    if (!same) return { value: undefined, uniform: false };
  }
  return {
    value: first === undefined ? undefined : asNonEmptyString(decodeString(event, first.valueStart, first.valueEnd)),
    uniform: true,
  };
}

export function stringMember(event: Buffer, object: JsonObjectView, key: string): string | undefined {
  const member = findMember(event, object, key);
  return member === undefined ? undefined : asNonEmptyString(decodeString(event, member.valueStart, member.valueEnd));
}

export function parsedMember(event: Buffer, object: JsonObjectView, key: string): unknown {
  const member = findMember(event, object, key);
  return member === undefined ? undefined : parseSlice(event, member.valueStart, member.valueEnd, PARSE_LIMIT);
}

export function objectMember(event: Buffer, object: JsonObjectView, key: string): JsonObjectView | undefined {
  const member = findMember(event, object, key);
  return member === undefined ? undefined : (member.object ?? readObject(event, member.valueStart));
}

/** The value every item shares; undefined when any is missing or they differ. */
export function commonValue(values: readonly (string | undefined)[]): string | undefined {
  const first = values[0];
  return first !== undefined && values.every((v) => v === first) ? first : undefined;
}

/** `arn:aws:sqs:us-east-1:123456789012:ledger-entries` → `ledger-entries`. */
export function arnResource(arn: string | undefined): string | undefined {
  const parts = arn?.split(':');
  return parts === undefined || parts.length < 6 ? undefined : asNonEmptyString(parts.slice(5).join(':'));
}

export function arnRegion(arn: string | undefined): string | undefined {
  const parts = arn?.split(':');
  return parts === undefined || parts.length < 6 ? undefined : asNonEmptyString(parts[3]);
}

/** The path segment after `prefix` in an ARN's resource: `table/ledger/stream/x`, `table/` → `ledger`. */
export function arnResourceAfter(arn: string | undefined, prefix: string): string | undefined {
  const resource = arnResource(arn);
  if (resource === undefined || !resource.startsWith(prefix)) return undefined;
  return asNonEmptyString(resource.slice(prefix.length).split('/')[0]);
}
