// JSON byte scanner: finds where values start and end in a Buffer without building them.
//
// Why: an event (up to 6 MB) must reach the runtime byte for byte, and tracing needs only a few
// small members of it (`headers`, `requestContext`, each SQS record's `AWSTraceHeader`), sometimes
// with their byte offsets (to splice in `traceparent`). Parsing all of it costs 10-20 ms and
// re-serialising would change big integers, escapes and spacing. So we walk the bytes once: strings
// are skipped (long ones with native `indexOf`), keys are compared as bytes, and only the members a
// caller names are kept; small ones are then decoded by `JSON.parse` on their own slice.
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
const UPPER_A = 0x41;
const UPPER_E = 0x45;
const UPPER_Z = 0x5a;
const LEFT_BRACKET = 0x5b;
const BACKSLASH = 0x5c;
const RIGHT_BRACKET = 0x5d;
const LOWER_E = 0x65;
const LEFT_BRACE = 0x7b;
const RIGHT_BRACE = 0x7d;

const LITERALS: readonly string[] = ['true', 'false', 'null'];

const IN_OBJECT = 1;
const IN_ARRAY = 2;

/** Where a key is: its opening quote, and after its closing quote. */
export interface JsonKeySpan {
  readonly keyStart: number;
  readonly keyEnd: number;
}

export interface JsonMember extends JsonKeySpan {
  readonly valueStart: number;
  /** After the value's last byte. */
  readonly valueEnd: number;
  /** The value read as an object, when the shape asked for one and it is one. */
  readonly object: JsonObjectView | undefined;
  /** The value read as an array of objects, when the shape asked for one and it is one. */
  readonly elements: readonly JsonObjectView[] | undefined;
}

export interface JsonObjectView {
  /** The `{`. */
  readonly start: number;
  /** After the `}`. */
  readonly end: number;
  /** Kept members in document order, duplicates included (`findMember` picks the last, as JSON.parse does). */
  readonly members: readonly JsonMember[];
}

// ---------------------------------------------------------------- shapes

/**
 * Which members of an object to keep: `true` keeps the member's position; a nested spec reads its
 * value as an object in the same pass, `[spec]` as an array of objects. `*` matches any key. Other
 * members are skipped without allocating anything, which is what keeps a batch of thousands of
 * records cheap; and reading a nested value in the same pass means its bytes are scanned once.
 */
export interface JsonShapeSpec {
  readonly [key: string]: true | JsonShapeSpec | readonly [JsonShapeSpec];
}

type ShapeEntry =
  | { readonly kind: 'keep' }
  | { readonly kind: 'object'; readonly shape: JsonShape }
  | { readonly kind: 'array'; readonly shape: JsonShape };

/** A compiled JsonShapeSpec: names grouped by byte length, so most keys are rejected by one lookup. */
export interface JsonShape {
  readonly byLength: ReadonlyMap<number, readonly (readonly [string, ShapeEntry])[]>;
  readonly byName: ReadonlyMap<string, ShapeEntry>;
  readonly wildcard: ShapeEntry | undefined;
  readonly shortestName: number;
}

const KEEP: ShapeEntry = { kind: 'keep' };

/**
 * One spec reading everything each of `specs` reads (each event source names its own members):
 * a member kept by one and read as an object by another is read as an object.
 */
export function mergeShapeSpecs(...specs: readonly JsonShapeSpec[]): JsonShapeSpec {
  const merged: Record<string, true | JsonShapeSpec | readonly [JsonShapeSpec]> = {};
  for (const spec of specs) {
    for (const [name, value] of Object.entries(spec)) {
      const existing = merged[name];
      if (existing === undefined || existing === true) merged[name] = value;
      else if (value === true) continue;
      else if (Array.isArray(existing) && Array.isArray(value)) merged[name] = [mergeShapeSpecs((existing as readonly [JsonShapeSpec])[0], (value as readonly [JsonShapeSpec])[0])];
      else if (!Array.isArray(existing) && !Array.isArray(value)) merged[name] = mergeShapeSpecs(existing as JsonShapeSpec, value as JsonShapeSpec);
      else merged[name] = value;
    }
  }
  return merged;
}

/** Compile once (module level), use for every event. Names must be ASCII. */
export function compileShape(spec: JsonShapeSpec): JsonShape {
  const byLength = new Map<number, [string, ShapeEntry][]>();
  const byName = new Map<string, ShapeEntry>();
  let wildcard: ShapeEntry | undefined;
  for (const [name, value] of Object.entries(spec)) {
    const entry: ShapeEntry =
      value === true
        ? KEEP
        : Array.isArray(value)
          ? { kind: 'array', shape: compileShape((value as readonly [JsonShapeSpec])[0]) }
          : { kind: 'object', shape: compileShape(value as JsonShapeSpec) };
    if (name === '*') {
      wildcard = entry;
      continue;
    }
    byName.set(name, entry);
    const sameLength = byLength.get(name.length) ?? [];
    sameLength.push([name, entry]);
    byLength.set(name.length, sameLength);
  }
  return { byLength, byName, wildcard, shortestName: Math.min(...[...byName.keys()].map((n) => n.length)) };
}

// Called for every member of every record: no allocation on this path.
function shapeEntryOf(buf: Buffer, keyStart: number, keyEnd: number, shape: JsonShape): ShapeEntry | undefined {
  const rawLength = keyEnd - keyStart - 2;
  const candidates = shape.byLength.get(rawLength);
  if (candidates !== undefined) {
    for (let i = 0; i < candidates.length; i++) {
      const candidate = candidates[i];
      if (candidate !== undefined && rawKeyEquals(buf, keyStart + 1, candidate[0], false) === true) return candidate[1];
    }
  }
  // An escaped key is longer in bytes than its text: decode it (rare: AWS never escapes keys).
  if (rawLength > shape.shortestName && hasBackslash(buf, keyStart + 1, keyEnd - 1)) {
    const decoded = decodeString(buf, keyStart, keyEnd);
    const entry = decoded === undefined ? undefined : shape.byName.get(decoded);
    if (entry !== undefined) return entry;
  }
  return shape.wildcard;
}

// ---------------------------------------------------------------- scanning

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
const STRING_BURST_MAX = 64 * 1024;

/** `pos` is at an opening quote; returns the index after the closing quote, or -1. */
export function scanString(buf: Buffer, pos: number): number {
  const end = skipStringContent(buf, pos + 1);
  return end < 0 ? -1 : end;
}

/** `skipStringContent` ran out of bytes inside the string. */
export const STRING_CONTINUES = -1;
/** `skipStringContent` ran out of bytes inside the string, right after a backslash: the next byte is escaped. */
export const STRING_CONTINUES_ESCAPED = -2;

/**
 * From `from`, inside a string (bytes before it are settled), to the index after the closing
 * quote; or STRING_CONTINUES(_ESCAPED) when `buf` ends first, so that a caller reading chunks can
 * go on in the next one. Alternates a byte loop with a native `indexOf` jump to the next quote:
 * plain or base64 text is crossed at memchr speed, and when the jumps keep landing on escaped
 * quotes close by (JSON inside a string), the loop grows, so such text does not pay a native call
 * every few bytes.
 */
export function skipStringContent(buf: Buffer, from: number): number {
  const length = buf.length;
  let burst = STRING_BURST;
  let i = from;
  for (;;) {
    const burstEnd = Math.min(length, i + burst);
    while (i < burstEnd) {
      const c = buf[i];
      if (c === QUOTE) return i + 1;
      i += c === BACKSLASH ? 2 : 1;
    }
    if (i > length) return STRING_CONTINUES_ESCAPED;
    if (i === length) return STRING_CONTINUES;
    const quote = buf.indexOf(QUOTE, i);
    if (quote < 0) return oddBackslashRunBefore(buf, length, i) ? STRING_CONTINUES_ESCAPED : STRING_CONTINUES;
    if (!oddBackslashRunBefore(buf, quote, i)) return quote + 1;
    burst = quote - i < burst ? Math.min(burst * 2, STRING_BURST_MAX) : STRING_BURST;
    i = quote + 1;
  }
}

/** Whether the backslashes right before `at` (none before `floor` counted) are an odd run, escaping `at`. */
function oddBackslashRunBefore(buf: Buffer, at: number, floor: number): boolean {
  let run = 0;
  for (let j = at - 1; j >= floor && buf[j] === BACKSLASH; j--) run++;
  return (run & 1) === 1;
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

// Compared byte by byte in JavaScript: Buffer#compare is a native call, and a request context full
// of `null`s made it 5 % of the event's view (test/bench/profile.ts).
function scanLiteral(buf: Buffer, pos: number): number {
  for (const literal of LITERALS) {
    const end = pos + literal.length;
    if (end > buf.length) continue;
    let i = 0;
    while (i < literal.length && buf[pos + i] === literal.charCodeAt(i)) i++;
    if (i === literal.length) return end;
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
  const c = buf[pos];
  // Most values are scalars: no container stack to allocate for them.
  return c === LEFT_BRACE || c === LEFT_BRACKET ? scanContainer(buf, pos) : scanScalar(buf, pos);
}

/** Open containers kept as bits of a number (up to its 52 exact bits) before an array is needed. */
const BIT_STACK_LEVELS = 52;

function scanContainer(buf: Buffer, pos: number): number {
  // The containers open around `i`, 1 for an object, the innermost in the lowest bit; levels past
  // BIT_STACK_LEVELS in `deeper`. Skipping a nested value allocates nothing unless it is that deep
  // (an array per skipped value was 2.8 KB of an API Gateway event's 15 KB view, test/bench/profile.ts).
  let depth = 0;
  let bits = 0;
  let deeper: number[] | undefined;
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
        if (depth < BIT_STACK_LEVELS) bits = bits * 2 + 1;
        else (deeper ??= []).push(IN_OBJECT);
        depth++;
        i = scanKeyAndColon(buf, i);
        if (i < 0) return -1;
        continue;
      }
    } else if (c === LEFT_BRACKET) {
      i = skipWhitespace(buf, i + 1);
      if (buf[i] === RIGHT_BRACKET) {
        i++;
      } else {
        if (depth < BIT_STACK_LEVELS) bits *= 2;
        else (deeper ??= []).push(IN_ARRAY);
        depth++;
        continue;
      }
    } else {
      i = scanScalar(buf, i);
      if (i < 0) return -1;
    }
    // A value ended: close containers until one expects another element.
    for (;;) {
      if (depth === 0) return i;
      const container = depth > BIT_STACK_LEVELS ? deeper![deeper!.length - 1] : bits % 2 === 1 ? IN_OBJECT : IN_ARRAY;
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
        if (depth > BIT_STACK_LEVELS) deeper!.pop();
        else bits = Math.floor(bits / 2);
        depth--;
        i++;
        continue;
      }
      return -1;
    }
  }
}

// ---------------------------------------------------------------- reading objects

/**
 * Reads the object whose `{` is at `start`. Without a shape every member is kept (a header map we
 * splice into); with one, only the members it names.
 */
export function readObject(buf: Buffer, start: number, shape?: JsonShape): JsonObjectView | undefined {
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
    const entry = shape === undefined ? KEEP : shapeEntryOf(buf, keyStart, keyEnd, shape);
    const valueEnd =
      entry === undefined ? scanValue(buf, valueStart) : readMember(buf, keyStart, keyEnd, valueStart, entry, members);
    if (valueEnd < 0) return undefined;
    i = skipWhitespace(buf, valueEnd);
    if (buf[i] === RIGHT_BRACE) return { start, end: i + 1, members };
    if (buf[i] !== COMMA) return undefined;
    i = skipWhitespace(buf, i + 1);
  }
}

/** Reads a kept member's value (nested when the shape says so), appends the member, returns its end. */
function readMember(
  buf: Buffer,
  keyStart: number,
  keyEnd: number,
  valueStart: number,
  entry: ShapeEntry,
  members: JsonMember[],
): number {
  if (entry.kind === 'array' && buf[valueStart] === LEFT_BRACKET) {
    const array = readObjectArray(buf, valueStart, entry.shape);
    if (array !== undefined) {
      members.push({ keyStart, keyEnd, valueStart, valueEnd: array.end, object: undefined, elements: array.elements });
      return array.end;
    }
  } else if (entry.kind === 'object' && buf[valueStart] === LEFT_BRACE) {
    const object = readObject(buf, valueStart, entry.shape);
    if (object !== undefined) {
      members.push({ keyStart, keyEnd, valueStart, valueEnd: object.end, object, elements: undefined });
      return object.end;
    }
  }
  // A plain keep, a value of another kind than the shape expected, or an array holding more than
  // objects: keep only its position.
  const valueEnd = scanValue(buf, valueStart);
  // Every member has the same fields, so V8 keeps one hidden class for them (monomorphic access).
  if (valueEnd >= 0) members.push({ keyStart, keyEnd, valueStart, valueEnd, object: undefined, elements: undefined });
  return valueEnd;
}

export interface JsonObjectArray {
  /** After the `]`. */
  readonly end: number;
  readonly elements: readonly JsonObjectView[];
}

/** Reads the array whose `[` is at `start` when every element is an object (a `Records` list). */
export function readObjectArray(buf: Buffer, start: number, shape?: JsonShape): JsonObjectArray | undefined {
  if (buf[start] !== LEFT_BRACKET) return undefined;
  const elements: JsonObjectView[] = [];
  let i = skipWhitespace(buf, start + 1);
  if (buf[i] === RIGHT_BRACKET) return { end: i + 1, elements };
  for (;;) {
    const element = readObject(buf, i, shape);
    if (element === undefined) return undefined;
    elements.push(element);
    i = skipWhitespace(buf, element.end);
    if (buf[i] === RIGHT_BRACKET) return { end: i + 1, elements };
    if (buf[i] !== COMMA) return undefined;
    i = skipWhitespace(buf, i + 1);
  }
}

/** The document's root object, when the whole buffer is one JSON object (whitespace around it allowed). */
export function readRootObject(buf: Buffer, shape?: JsonShape): JsonObjectView | undefined {
  const root = readObject(buf, skipWhitespace(buf, 0), shape);
  if (root === undefined || skipWhitespace(buf, root.end) !== buf.length) return undefined;
  return root;
}

/** The head of a root object that ends inside a member's string value. */
export interface JsonObjectHead {
  /** The members complete in the head (shape-kept ones), `end` at the open member's key. */
  readonly root: JsonObjectView;
  /** The member whose string value the head ends in. */
  readonly open: JsonKeySpan & { readonly valueStart: number };
}

/**
 * Reads the first bytes of a longer document, when it is an object: the members complete in them,
 * and the member whose string value runs past them. 'incomplete' means the head ends elsewhere (in
 * a key, a number, a nested value, or the object closes in it) and only more bytes can tell;
 * undefined means the bytes read are not the start of an object.
 */
export function readRootObjectHead(buf: Buffer, shape: JsonShape): JsonObjectHead | 'incomplete' | undefined {
  const start = skipWhitespace(buf, 0);
  if (start === buf.length) return 'incomplete';
  if (buf[start] !== LEFT_BRACE) return undefined;
  const members: JsonMember[] = [];
  let i = skipWhitespace(buf, start + 1);
  for (;;) {
    if (i >= buf.length) return 'incomplete';
    if (buf[i] !== QUOTE) return buf[i] === RIGHT_BRACE && members.length === 0 ? 'incomplete' : undefined;
    const keyStart = i;
    const keyEnd = scanString(buf, keyStart);
    if (keyEnd < 0) return 'incomplete';
    i = skipWhitespace(buf, keyEnd);
    if (i >= buf.length) return 'incomplete';
    if (buf[i] !== COLON) return undefined;
    const valueStart = skipWhitespace(buf, i + 1);
    if (valueStart >= buf.length) return 'incomplete';
    // An unterminated string can only mean the head ends inside it: the quote/backslash pairing is all a string is checked for.
    if (buf[valueStart] === QUOTE && scanString(buf, valueStart) < 0) {
      return { root: { start, end: keyStart, members }, open: { keyStart, keyEnd, valueStart } };
    }
    const entry = shapeEntryOf(buf, keyStart, keyEnd, shape);
    const valueEnd =
      entry === undefined ? scanValue(buf, valueStart) : readMember(buf, keyStart, keyEnd, valueStart, entry, members);
    // Malformed or cut short: only the whole document can tell.
    if (valueEnd < 0) return 'incomplete';
    i = skipWhitespace(buf, valueEnd);
    if (i >= buf.length) return 'incomplete';
    if (buf[i] === RIGHT_BRACE) return 'incomplete';
    if (buf[i] !== COMMA) return undefined;
    i = skipWhitespace(buf, i + 1);
  }
}

/** Whether a shape names this key (not through `*`). */
export function shapeNames(buf: Buffer, key: JsonKeySpan, shape: JsonShape): boolean {
  const entry = shapeEntryOf(buf, key.keyStart, key.keyEnd, shape);
  return entry !== undefined && entry !== shape.wildcard;
}

/** The member JSON.parse would keep: the last one whose key is `key`. */
export function findMember(buf: Buffer, object: JsonObjectView, key: string): JsonMember | undefined {
  for (let i = object.members.length - 1; i >= 0; i--) {
    const member = object.members[i];
    if (member !== undefined && keyEquals(buf, member, key, false)) return member;
  }
  return undefined;
}

export function isNullValue(buf: Buffer, member: JsonMember): boolean {
  return member.valueEnd - member.valueStart === 4 && buf.toString('latin1', member.valueStart, member.valueEnd) === 'null';
}

/** Whether two values are the same bytes (the same ARN in every record: decode it once). */
export function sameValueBytes(buf: Buffer, a: JsonMember, b: JsonMember): boolean {
  return buf.compare(buf, a.valueStart, a.valueEnd, b.valueStart, b.valueEnd) === 0;
}

/** Whether a key is `name` (ASCII; give it in lower case with `ignoreCase`). Escaped keys are decoded first. */
export function keyEquals(buf: Buffer, key: JsonKeySpan, name: string, ignoreCase: boolean): boolean {
  const rawLength = key.keyEnd - key.keyStart - 2;
  if (rawLength === name.length) {
    const equal = rawKeyEquals(buf, key.keyStart + 1, name, ignoreCase);
    if (equal !== undefined) return equal;
  } else if (rawLength < name.length || !hasBackslash(buf, key.keyStart + 1, key.keyEnd - 1)) {
    return false;
  }
  const decoded = decodeString(buf, key.keyStart, key.keyEnd);
  return (ignoreCase ? decoded?.toLowerCase() : decoded) === name;
}

/** Compares `name.length` key bytes at `at` with `name`; undefined when an escape makes bytes and text differ. */
function rawKeyEquals(buf: Buffer, at: number, name: string, ignoreCase: boolean): boolean | undefined {
  for (let i = 0; i < name.length; i++) {
    let c = buf[at + i] ?? 0;
    if (c === BACKSLASH) return undefined;
    if (ignoreCase && c >= UPPER_A && c <= UPPER_Z) c += 0x20;
    if (c !== name.charCodeAt(i)) return false;
  }
  return true;
}

// ---------------------------------------------------------------- decoding small values

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

// ---------------------------------------------------------------- narrowing parsed values

export function asJsonObject(value: unknown): Readonly<Record<string, unknown>> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Readonly<Record<string, unknown>>)
    : undefined;
}

/** A string with at least one character; empty strings carry nothing worth a span attribute. */
export function asNonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}
