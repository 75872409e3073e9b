// JSON byte scanner: finds where values start and end in a Buffer without building them.
//
// Why: an event (up to 6 MB) must reach the runtime byte for byte, and tracing needs only a few
// small members of it (`headers`, `requestContext`, each SQS record's `attributes`), sometimes with
// their byte offsets (to splice in `traceparent`). Parsing 6 MB costs tens of milliseconds, and
// re-serialising would change big integers, escapes and spacing. So we walk the bytes: strings are
// skipped with native `Buffer.indexOf`, and only small members are decoded, by `JSON.parse` on
// their own slice.
//
// Rule: the RFC 8259 grammar is checked outside strings (brackets, commas, colons, literals,
// numbers); inside a string only the quote/backslash pairing is, not control characters or escape
// letters. Nesting uses an explicit stack, so deep input cannot overflow the call stack. Every
// function returns -1 or undefined on malformed input and never throws.

const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const QUOTE = 0x22;
const PLUS = 0x2b;
const COMMA = 0x2c;
const MINUS = 0x2d;
const DOT = 0x2e;
const DIGIT_0 = 0x30;
const DIGIT_1 = 0x31;
const DIGIT_9 = 0x39;
const COLON = 0x3a;
const UPPER_E = 0x45;
const LEFT_BRACKET = 0x5b;
const BACKSLASH = 0x5c;
const RIGHT_BRACKET = 0x5d;
const LOWER_E = 0x65;
const LEFT_BRACE = 0x7b;
const RIGHT_BRACE = 0x7d;

const LITERALS: readonly Buffer[] = [Buffer.from('true'), Buffer.from('false'), Buffer.from('null')];

const IN_OBJECT = 1;
const IN_ARRAY = 2;

export interface JsonMember {
  /** The key's opening quote. */
  readonly keyStart: number;
  /** After the key's closing quote. */
  readonly keyEnd: number;
  readonly valueStart: number;
  /** After the value's last byte. */
  readonly valueEnd: number;
}

export interface JsonObjectView {
  /** The `{`. */
  readonly start: number;
  /** After the `}`. */
  readonly end: number;
  /** In document order; duplicates kept (JSON.parse keeps the last, as `findMember` does). */
  readonly members: readonly JsonMember[];
}

export function skipWhitespace(buf: Buffer, pos: number): number {
  let i = pos;
  while (i < buf.length) {
    const c = buf[i];
    if (c !== SPACE && c !== LF && c !== CR && c !== TAB) break;
    i++;
  }
  return i;
}

/** Short strings (keys, ids) end within this many bytes: a plain loop beats a native call. */
const STRING_BURST = 64;

/**
 * `pos` is at an opening quote; returns the index after the closing quote, or -1. Alternates a
 * short byte loop with a native `indexOf` jump to the next quote: base64 or plain bodies are crossed
 * at memchr speed, while escape-dense ones (JSON inside a string: a `\"` every few bytes) do not pay
 * a native call per escaped quote.
 */
export function scanString(buf: Buffer, pos: number): number {
  const length = buf.length;
  let i = pos + 1;
  for (;;) {
    const burstEnd = Math.min(length, i + STRING_BURST);
    while (i < burstEnd) {
      const c = buf[i];
      if (c === QUOTE) return i + 1;
      i += c === BACKSLASH ? 2 : 1;
    }
    if (i >= length) return -1;
    const quote = buf.indexOf(QUOTE, i);
    if (quote < 0) return -1;
    if (!isEscaped(buf, quote, pos)) return quote + 1;
    i = quote + 1;
  }
}

/** Whether the byte at `at` follows an odd run of backslashes (that began after `floor`). */
function isEscaped(buf: Buffer, at: number, floor: number): boolean {
  let backslashes = 0;
  for (let j = at - 1; j > floor && buf[j] === BACKSLASH; j--) backslashes++;
  return (backslashes & 1) === 1;
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= DIGIT_0 && c <= DIGIT_9;
}

/** RFC 8259 number: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`. */
function scanNumber(buf: Buffer, pos: number): number {
  let i = pos;
  if (buf[i] === MINUS) i++;
  if (buf[i] === DIGIT_0) {
    i++;
  } else {
    const first = buf[i];
    if (first === undefined || first < DIGIT_1 || first > DIGIT_9) return -1;
    while (isDigit(buf[i])) i++;
  }
  if (buf[i] === DOT) {
    i++;
    if (!isDigit(buf[i])) return -1;
    while (isDigit(buf[i])) i++;
  }
  if (buf[i] === LOWER_E || buf[i] === UPPER_E) {
    i++;
    if (buf[i] === PLUS || buf[i] === MINUS) i++;
    if (!isDigit(buf[i])) return -1;
    while (isDigit(buf[i])) i++;
  }
  return i;
}

function scanLiteral(buf: Buffer, pos: number): number {
  for (const literal of LITERALS) {
    const end = pos + literal.length;
    if (end <= buf.length && buf.compare(literal, 0, literal.length, pos, end) === 0) return end;
  }
  return -1;
}

function scanScalar(buf: Buffer, pos: number): number {
  const c = buf[pos];
  if (c === QUOTE) return scanString(buf, pos);
  if (c === MINUS || isDigit(c)) return scanNumber(buf, pos);
  return scanLiteral(buf, pos);
}

/** `pos` is at a key's opening quote; returns the index after the `:` that follows it, or -1. */
function scanKeyAndColon(buf: Buffer, pos: number): number {
  if (buf[pos] !== QUOTE) return -1;
  const keyEnd = scanString(buf, pos);
  if (keyEnd < 0) return -1;
  const colon = skipWhitespace(buf, keyEnd);
  return buf[colon] === COLON ? colon + 1 : -1;
}

/** `pos` is at the first byte of a value; returns the index after it, or -1 when malformed. */
export function scanValue(buf: Buffer, pos: number): number {
  const open: number[] = [];
  let i = pos;
  for (;;) {
    // Here a value is expected.
    i = skipWhitespace(buf, i);
    const c = buf[i];
    if (c === LEFT_BRACE) {
      i = skipWhitespace(buf, i + 1);
      if (buf[i] === RIGHT_BRACE) {
        i++;
      } else {
        open.push(IN_OBJECT);
        i = scanKeyAndColon(buf, i);
        if (i < 0) return -1;
        continue;
      }
    } else if (c === LEFT_BRACKET) {
      i = skipWhitespace(buf, i + 1);
      if (buf[i] === RIGHT_BRACKET) {
        i++;
      } else {
        open.push(IN_ARRAY);
        continue;
      }
    } else {
      i = scanScalar(buf, i);
      if (i < 0) return -1;
    }
    // A value ended: close containers until one expects another element.
    for (;;) {
      const container = open[open.length - 1];
      if (container === undefined) return i;
      i = skipWhitespace(buf, i);
      const d = buf[i];
      if (d === COMMA) {
        i = skipWhitespace(buf, i + 1);
        if (container === IN_OBJECT) {
          i = scanKeyAndColon(buf, i);
          if (i < 0) return -1;
        }
        break;
      }
      if ((container === IN_OBJECT && d === RIGHT_BRACE) || (container === IN_ARRAY && d === RIGHT_BRACKET)) {
        open.pop();
        i++;
        continue;
      }
      return -1;
    }
  }
}

/** Decodes the string whose quotes are at `start` and `end - 1`; undefined when it is not a valid string. */
export function decodeString(buf: Buffer, start: number, end: number): string | undefined {
  if (buf[start] !== QUOTE || end - start < 2) return undefined;
  if (!hasBackslash(buf, start + 1, end - 1)) return buf.toString('utf8', start + 1, end - 1);
  const decoded = parseSlice(buf, start, end, Number.POSITIVE_INFINITY);
  return typeof decoded === 'string' ? decoded : undefined;
}

/** `JSON.parse` of one value's bytes; undefined when longer than `maxBytes` or not JSON. */
export function parseSlice(buf: Buffer, start: number, end: number, maxBytes: number): unknown {
  if (end - start > maxBytes) return undefined;
  try {
    const value: unknown = JSON.parse(buf.toString('utf8', start, end));
    return value;
  } catch {
    return undefined;
  }
}

function hasBackslash(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buf[i] === BACKSLASH) return true;
  return false;
}

/** Reads the object whose `{` is at `start`: where its members are and where it ends. */
export function readObject(buf: Buffer, start: number): JsonObjectView | undefined {
  if (buf[start] !== LEFT_BRACE) return undefined;
  const members: JsonMember[] = [];
  let i = skipWhitespace(buf, start + 1);
  if (buf[i] === RIGHT_BRACE) return { start, end: i + 1, members };
  for (;;) {
    if (buf[i] !== QUOTE) return undefined;
    const keyStart = i;
    const keyEnd = scanString(buf, keyStart);
    if (keyEnd < 0) return undefined;
    i = skipWhitespace(buf, keyEnd);
    if (buf[i] !== COLON) return undefined;
    const valueStart = skipWhitespace(buf, i + 1);
    const valueEnd = scanValue(buf, valueStart);
    if (valueEnd < 0) return undefined;
    members.push({ keyStart, keyEnd, valueStart, valueEnd });
    i = skipWhitespace(buf, valueEnd);
    if (buf[i] === RIGHT_BRACE) return { start, end: i + 1, members };
    if (buf[i] !== COMMA) return undefined;
    i = skipWhitespace(buf, i + 1);
  }
}

/** Reads the array whose `[` is at `start` when every element is an object (a `Records` list). */
export function readObjectArray(buf: Buffer, start: number): JsonObjectView[] | undefined {
  if (buf[start] !== LEFT_BRACKET) return undefined;
  const elements: JsonObjectView[] = [];
  let i = skipWhitespace(buf, start + 1);
  if (buf[i] === RIGHT_BRACKET) return elements;
  for (;;) {
    const element = readObject(buf, i);
    if (element === undefined) return undefined;
    elements.push(element);
    i = skipWhitespace(buf, element.end);
    if (buf[i] === RIGHT_BRACKET) return elements;
    if (buf[i] !== COMMA) return undefined;
    i = skipWhitespace(buf, i + 1);
  }
}

/** The document's root object, when the whole buffer is one JSON object (whitespace around it allowed). */
export function readRootObject(buf: Buffer): JsonObjectView | undefined {
  const root = readObject(buf, skipWhitespace(buf, 0));
  if (root === undefined || skipWhitespace(buf, root.end) !== buf.length) return undefined;
  return root;
}

/** The member JSON.parse would keep: the last one whose key is `key`. */
export function findMember(buf: Buffer, object: JsonObjectView, key: string): JsonMember | undefined {
  for (let i = object.members.length - 1; i >= 0; i--) {
    const member = object.members[i];
    if (member !== undefined && keyEquals(buf, member, key, false)) return member;
  }
  return undefined;
}

/**
 * Whether a member's key is `name` (ASCII; lower-case when `ignoreCase`). Compares bytes, so the
 * many keys of a big event are never turned into strings; escaped keys are decoded first.
 */
export function keyEquals(buf: Buffer, member: JsonMember, name: string, ignoreCase: boolean): boolean {
  const start = member.keyStart + 1;
  const length = member.keyEnd - 1 - start;
  if (length < name.length) return false;
  if (length === name.length) {
    let i = 0;
    for (; i < length; i++) {
      let c = buf[start + i] ?? 0;
      if (c === BACKSLASH) break;
      if (ignoreCase && c >= 0x41 && c <= 0x5a) c += 0x20;
      if (c !== name.charCodeAt(i)) return false;
    }
    if (i === length) return true;
  } else if (!hasBackslash(buf, start, start + length)) {
    return false;
  }
  const key = memberKey(buf, member);
  return (ignoreCase ? key?.toLowerCase() : key) === name;
}

/** A member's key, escapes resolved. */
export function memberKey(buf: Buffer, member: JsonMember): string | undefined {
  return decodeString(buf, member.keyStart, member.keyEnd);
}

export function isObjectAt(buf: Buffer, start: number): boolean {
  return buf[start] === LEFT_BRACE;
}

export function isNullAt(buf: Buffer, start: number, end: number): boolean {
  return end - start === 4 && buf.toString('latin1', start, end) === 'null';
}

// Narrowing for values that came out of JSON.parse as `unknown`.

export function asJsonObject(value: unknown): Readonly<Record<string, unknown>> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Readonly<Record<string, unknown>>)
    : undefined;
}

/** A string with at least one character; empty strings carry nothing worth a span attribute. */
export function asNonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}
