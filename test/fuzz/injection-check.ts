// The injection property, checked without trusting the injector: the event the
// runtime got is the original, or the original with only our members spliced
// into its header maps. Walks both byte strings side by side; at each
// difference the received side must hold one of our edits:
//   - members inserted into a map: `,"traceparent":V` (then `,"tracestate":V`),
//     or without the comma right after `{`; V is "…" or ["…"];
//   - a `null` map replaced by an object of only those members;
//   - the value of an existing member whose key is traceparent or tracestate
//     (any case, escapes decoded) replaced by "…" or ["…"].
// Removing exactly those bytes (and putting back the replaced values) must
// give the original, byte for byte.

const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
const OUR_MEMBER = /^"(traceparent|tracestate)":("(?:[^"\\]|\\.)*"|\["(?:[^"\\]|\\.)*"\])/;
const OUR_VALUE = /^("(?:[^"\\]|\\.)*"|\["(?:[^"\\]|\\.)*"\])/;
const WINDOW = 4096; // our members are short; never look further than this

/** undefined when `received` is `original` with only our edits; else what is wrong. */
export function explainInjection(original: Buffer, received: Buffer): string | undefined {
  let i = 0;
  let j = 0;
  let synced = 0; // first byte of `original` not yet matched across an edit
  let edits = 0;
  while (i < original.length || j < received.length) {
    if (i < original.length && j < received.length && original[i] === received[j]) {
      i++;
      j++;
      continue;
    }
    if (++edits > 16) return `more than 16 edits (at byte ${i} of the original)`;
    const inserted = ourMembers(received, j, received[j - 1] === 0x7b /* { */);
    if (inserted.length > 0) {
      const bad = badValue(inserted.values);
      if (bad) return bad;
      j += inserted.length;
      synced = i;
      continue;
    }
    if (original.toString('latin1', i, i + 4) === 'null' && received[j] === 0x7b) {
      const object = ourMembers(received, j + 1, true);
      if (object.length > 0 && received[j + 1 + object.length] === 0x7d /* } */) {
        const bad = badValue(object.values);
        if (bad) return bad;
        i += 4;
        j += object.length + 2;
        synced = i;
        continue;
      }
    }
    // A replaced value: back to where it starts, just after `:` and any whitespace.
    let start = i;
    while (start > synced && original[start - 1] !== 0x3a /* : */) start--;
    if (start === synced && original[start - 1] !== 0x3a) return `an unexplained change at byte ${i} of the original (${context(original, i)} became ${context(received, j)})`;
    const key = keyBefore(original, start - 1);
    if (key !== 'traceparent' && key !== 'tracestate') return `the value of ${JSON.stringify(key)} changed at byte ${i} (${context(original, i)} became ${context(received, j)})`;
    while (isSpace(original[start])) start++;
    const valueEnd = skipValue(original, start);
    if (valueEnd < 0) return `no JSON value after ${key} at byte ${start}`;
    const at = j - (i - start);
    const ours = OUR_VALUE.exec(received.toString('latin1', at, at + WINDOW));
    if (!ours) return `${key} at byte ${start} became something that is not our value: ${context(received, at)}`;
    const bad = badValue([[key, ours[1]!]]);
    if (bad) return bad;
    i = valueEnd;
    j = at + ours[0].length;
    synced = i;
  }
  return undefined;
}

function ourMembers(buf: Buffer, at: number, firstWithoutComma: boolean): { length: number; values: [string, string][] } {
  const values: [string, string][] = [];
  let length = 0;
  for (;;) {
    const comma = !(firstWithoutComma && values.length === 0);
    if (comma && buf[at + length] !== 0x2c) break;
    const from = at + length + (comma ? 1 : 0);
    const m = OUR_MEMBER.exec(buf.toString('latin1', from, from + WINDOW));
    if (!m) break;
    values.push([m[1]!, m[2]!]);
    length = from + m[0].length - at;
  }
  return { length, values };
}

function badValue(values: readonly [string, string][]): string | undefined {
  for (const [name, encoded] of values) {
    const decoded = JSON.parse(encoded) as unknown;
    const value = Array.isArray(decoded) ? decoded[0] : decoded;
    if (typeof value !== 'string') return `${name} written as ${encoded}`;
    if (name === 'traceparent' && !TRACEPARENT.test(value)) return `traceparent written as ${encoded}, not a valid traceparent`;
  }
  return undefined;
}

/** The key of the member whose `:` is at `colon`, decoded and lower-cased, or undefined. */
function keyBefore(buf: Buffer, colon: number): string | undefined {
  let end = colon - 1;
  while (end >= 0 && isSpace(buf[end])) end--;
  if (buf[end] !== 0x22) return undefined;
  let start = end - 1;
  while (start >= 0 && !(buf[start] === 0x22 && buf[start - 1] !== 0x5c)) start--;
  try {
    const key = JSON.parse(buf.toString('utf8', start, end + 1)) as unknown;
    return typeof key === 'string' ? key.toLowerCase() : undefined;
  } catch {
    return undefined;
  }
}

/** End of the JSON value starting at `at` (no whitespace before it), or -1. Iterative: events nest deep. */
function skipValue(buf: Buffer, at: number): number {
  let depth = 0;
  let i = at;
  do {
    while (isSpace(buf[i])) i++;
    const c = buf[i];
    if (c === undefined) return -1;
    if (c === 0x22) {
      i++;
      while (i < buf.length && buf[i] !== 0x22) i += buf[i] === 0x5c ? 2 : 1;
      if (i >= buf.length) return -1;
      i++;
    } else if (c === 0x7b || c === 0x5b) {
      depth++;
      i++;
      continue;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
      i++;
    } else if (c === 0x2c || c === 0x3a) {
      i++;
      continue;
    } else {
      while (i < buf.length && !isSpace(buf[i]) && ![0x2c, 0x7d, 0x5d, 0x3a].includes(buf[i]!)) i++;
    }
  } while (depth > 0);
  return i;
}

function isSpace(c: number | undefined): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

function context(buf: Buffer, at: number): string {
  return JSON.stringify(buf.toString('latin1', Math.max(0, at - 20), at + 40));
}
