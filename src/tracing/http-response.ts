// The HTTP status the caller of an API Gateway / ALB / function URL invocation gets, read from the
// function's response (`http.response.status_code`, and ERROR for 5xx).
//
// Rule: only a top-level `statusCode` counts (a number, or a numeric string as some runtimes send);
// one inside the `body` string or a nested object does not. The response is read as it streams
// past, chunk by chunk, and nothing of it is kept: a state machine walks the root object's members,
// skipping strings with native `indexOf`, and holds at most a key (64 bytes) and the status token
// (32 bytes). Keeping the chunks instead cost up to 6 MB per response (issue #12). Once the answer
// is known (a prelude ends, or the input is not what we look for) the rest is not looked at. A
// streamed HTTP response
// (`application/vnd.awslambda.http-integration-response`) is a JSON prelude, 8 NUL bytes, then the
// body: the status is the prelude's, and the body is not read.
//
// Undefined means "the response names no status". What the caller then got depends on the trigger:
// HTTP APIs (payload 2.0) and function URLs treat a response that is not an object with a
// `statusCode` (a bare JSON value, or an object without one) as the body of a 200 response; REST
// APIs and ALB answer 502. Never throws.

import { STRING_CONTINUES_ESCAPED, skipStringContent } from '../event/json-scan.ts';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const LEFT_BRACE = 0x7b;
const RIGHT_BRACE = 0x7d;
const LEFT_BRACKET = 0x5b;
const RIGHT_BRACKET = 0x5d;
const NUL = 0x00;

export const STREAMING_HTTP_CONTENT_TYPE = 'application/vnd.awslambda.http-integration-response';

const PRELUDE_DELIMITER_LENGTH = 8;
/** A key longer than this cannot be `statusCode`, even escaped; it is skipped, not collected. */
const MAX_KEY_BYTES = 64;
/** `"statusCode": <token>` longer than this is no status code. */
const MAX_TOKEN_BYTES = 32;

/**
 * The top-level `statusCode` (100-599) of an HTTP-shaped response, or undefined. With the streaming
 * HTTP content type the chunks must start with a prelude; without a content type a prelude is
 * recognised by the NUL bytes after it (no JSON document is followed by NULs).
 */
export function readStatusCode(chunks: readonly Buffer[], contentType?: string): number | undefined {
  const reader = new StatusCodeReader();
  for (const chunk of chunks) reader.push(chunk);
  return reader.statusCode(contentType);
}

export function isStreamingHttpContentType(contentType: string | undefined): boolean {
  return contentType?.split(';')[0]?.trim().toLowerCase() === STREAMING_HTTP_CONTENT_TYPE;
}

/** `"statusCode"` as it is almost always written: compared byte for byte, not decoded. */
const STATUS_CODE_KEY: readonly number[] = [...Buffer.from('"statusCode"')];

/**
 * Whether a key's bytes (its quotes included) decode to `statusCode`. Every key of a response is
 * checked: decoding each (a Buffer, a string, JSON.parse) was most of what reading a response's
 * status allocated. Only a key with an escape or a control character is decoded (JSON.parse then
 * throws for the latter: a malformed response, as before).
 */
function isStatusCodeKey(bytes: readonly number[]): boolean {
  let plain = true;
  for (let i = 1; i < bytes.length - 1 && plain; i++) plain = bytes[i]! !== BACKSLASH && bytes[i]! >= 0x20;
  if (plain) {
    if (bytes.length !== STATUS_CODE_KEY.length) return false;
    for (let i = 0; i < bytes.length; i++) if (bytes[i] !== STATUS_CODE_KEY[i]) return false;
    return true;
  }
  const key: unknown = JSON.parse(Buffer.from(bytes as number[]).toString('utf8'));
  return key === 'statusCode';
}

/** 100-599 from a JSON number token (`404`) or a JSON string token (`"404"`). */
function statusCodeFromToken(token: string | undefined): number | undefined {
  if (token === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(token);
  } catch {
    return undefined;
  }
  const code = typeof value === 'string' && /^\d{3}$/.test(value) ? Number(value) : value;
  return typeof code === 'number' && Number.isInteger(code) && code >= 100 && code <= 599 ? code : undefined;
}

/** Where the reader is in the document. */
type At =
  /** Before the root value. */
  | 'root'
  /** After `{` (or `,` when `afterComma`): a key or, right after `{`, `}`. */
  | 'memberStart'
  /** Inside a key, collecting it. */
  | 'key'
  /** Inside a key too long to be ours, skipping it. */
  | 'keySkip'
  /** After a key: `:`. */
  | 'colon'
  /** After `:`: the value's first byte. */
  | 'value'
  /** Inside the status's string value, collecting it. */
  | 'tokenString'
  /** Inside the status's number value, collecting it. */
  | 'tokenNumber'
  /** Inside a string value we skip. */
  | 'stringSkip'
  /** Inside an object or array value we skip (`depth` deep); `inString` when in one of its strings. */
  | 'containerSkip'
  /** Inside a number or literal we skip. */
  | 'scalarSkip'
  /** After a member's value: `,` or `}`. */
  | 'memberEnd'
  /** After the root object: whitespace to the end, or a prelude delimiter. */
  | 'rest'
  /** Answer known; nothing more is read. */
  | 'done';

/**
 * Reads a response's top-level `statusCode` from chunks pushed as they pass, keeping none of them.
 * Never throws; malformed input ends in "no status".
 */
export class StatusCodeReader {
  #at: At = 'root';
  #afterComma = false;
  /** The member's key is `statusCode`. */
  #isStatus = false;
  /** Bytes of the key or token being collected. */
  #bytes: number[] = [];
  /** A backslash ended the last chunk inside a string: the next byte is escaped. */
  #escaped = false;
  #depth = 0;
  #inString = false;
  #scalarLength = 0;
  #nuls = 0;
  #restWhitespace = false;
  #token: string | undefined;
  #followedBy: 'end' | 'prelude' | 'other' | 'malformed' | undefined;

  /** Whether more bytes can change the answer. */
  get done(): boolean {
    return this.#at === 'done';
  }

  push(chunk: Buffer): void {
    if (this.#at === 'done') return;
    try {
      this.#read(chunk);
    } catch {
      this.#fail();
    }
  }

  /** The status, once every byte has been pushed. */
  statusCode(contentType?: string): number | undefined {
    const followedBy = this.#at === 'rest' ? (this.#nuls > 0 ? 'other' : 'end') : this.#followedBy;
    if (followedBy === undefined || followedBy === 'malformed' || followedBy === 'other') return undefined;
    if (followedBy === 'end' && isStreamingHttpContentType(contentType)) return undefined;
    return statusCodeFromToken(this.#token);
  }

  #fail(): void {
    this.#followedBy = 'malformed';
    this.#at = 'done';
    this.#bytes = [];
  }

  #finish(followedBy: 'prelude' | 'other'): void {
    this.#followedBy = followedBy;
    this.#at = 'done';
  }

  #read(chunk: Buffer): void {
    const length = chunk.length;
    let i = 0;
    while (i < length) {
      const c = chunk[i]!;
      switch (this.#at) {
        case 'root':
          if (isWhitespace(c)) { i++; break; }
          // A bare JSON value (string, array, number): see the header comment.
          if (c !== LEFT_BRACE) { this.#fail(); return; }
          this.#at = 'memberStart';
          this.#afterComma = false;
          i++;
          break;
        case 'memberStart':
          if (isWhitespace(c)) { i++; break; }
          if (c === RIGHT_BRACE && !this.#afterComma) { this.#at = 'rest'; i++; break; }
          if (c !== QUOTE) { this.#fail(); return; }
          this.#bytes = [c];
          this.#escaped = false;
          this.#at = 'key';
          i++;
          break;
        case 'key':
        case 'tokenString': {
          const max = this.#at === 'key' ? MAX_KEY_BYTES : MAX_TOKEN_BYTES;
          this.#bytes.push(c);
          i++;
          if (this.#escaped) {
            this.#escaped = false;
          } else if (c === BACKSLASH) {
            this.#escaped = true;
          } else if (c === QUOTE) {
            if (this.#at === 'key') {
              this.#isStatus = isStatusCodeKey(this.#bytes);
              this.#bytes = [];
              this.#at = 'colon';
            } else {
              this.#token = Buffer.from(this.#bytes).toString('utf8');
              this.#bytes = [];
              this.#at = 'memberEnd';
            }
            break;
          }
          if (this.#bytes.length > max) {
            // Too long to matter: a long key is not ours, a long status is none (later duplicates win).
            if (this.#at === 'tokenString') this.#token = undefined;
            this.#bytes = [];
            this.#at = this.#at === 'key' ? 'keySkip' : 'stringSkip';
          }
          break;
        }
        case 'keySkip':
        case 'stringSkip': {
          const end = this.#skipString(chunk, i);
          if (end < 0) return;
          i = end;
          if (this.#at === 'keySkip') {
            this.#isStatus = false;
            this.#at = 'colon';
          } else {
            this.#at = 'memberEnd';
          }
          break;
        }
        case 'colon':
          if (isWhitespace(c)) { i++; break; }
          if (c !== COLON) { this.#fail(); return; }
          this.#at = 'value';
          i++;
          break;
        case 'value':
          if (isWhitespace(c)) { i++; break; }
          if (this.#isStatus) this.#token = undefined;
          if (c === QUOTE) {
            this.#escaped = false;
            if (this.#isStatus) {
              this.#bytes = [c];
              this.#at = 'tokenString';
            } else {
              this.#at = 'stringSkip';
            }
            i++;
          } else if (c === LEFT_BRACE || c === LEFT_BRACKET) {
            this.#depth = 1;
            this.#inString = false;
            this.#at = 'containerSkip';
            i++;
          } else if (this.#isStatus && (c === 0x2d || (c >= 0x30 && c <= 0x39))) {
            this.#bytes = [];
            this.#at = 'tokenNumber';
          } else {
            this.#scalarLength = 0;
            this.#at = 'scalarSkip';
          }
          break;
        case 'tokenNumber':
          if (isNumberByte(c)) {
            if (this.#bytes.length <= MAX_TOKEN_BYTES) this.#bytes.push(c);
            i++;
            break;
          }
          this.#token = this.#bytes.length < MAX_TOKEN_BYTES ? String.fromCharCode(...this.#bytes) : undefined;
          this.#bytes = [];
          this.#at = 'memberEnd';
          break;
        case 'scalarSkip':
          if (!isDelimiter(c)) { this.#scalarLength++; i++; break; }
          if (this.#scalarLength === 0) { this.#fail(); return; }
          this.#at = 'memberEnd';
          break;
        case 'containerSkip':
          i = this.#skipContainer(chunk, i);
          break;
        case 'memberEnd':
          if (isWhitespace(c)) { i++; break; }
          i++;
          if (c === RIGHT_BRACE) { this.#at = 'rest'; break; }
          if (c !== COMMA) { this.#fail(); return; }
          this.#afterComma = true;
          this.#at = 'memberStart';
          break;
        case 'rest':
          // 8 NULs right after the object: a prelude, and the body that follows is not ours to read.
          if (c === NUL && !this.#restWhitespace) {
            i++;
            if (++this.#nuls === PRELUDE_DELIMITER_LENGTH) { this.#finish('prelude'); return; }
            break;
          }
          if (this.#nuls > 0 || !isWhitespace(c)) { this.#finish('other'); return; }
          this.#restWhitespace = true;
          i++;
          break;
        case 'done':
          return;
      }
    }
  }

  /** Inside a string from `from`: the index after its closing quote, or -1 when the chunk ends first. */
  #skipString(chunk: Buffer, from: number): number {
    let start = from;
    if (this.#escaped) {
      this.#escaped = false;
      start++;
      if (start > chunk.length) return -1;
    }
    const end = skipStringContent(chunk, start);
    if (end >= 0) return end;
    this.#escaped = end === STRING_CONTINUES_ESCAPED;
    return -1;
  }

  /** Inside a container from `from`: where reading goes on (its end, or the chunk's end). */
  #skipContainer(chunk: Buffer, from: number): number {
    let i = from;
    while (i < chunk.length) {
      if (this.#inString) {
        const end = this.#skipString(chunk, i);
        if (end < 0) return chunk.length;
        this.#inString = false;
        i = end;
        continue;
      }
      const c = chunk[i++];
      if (c === QUOTE) {
        this.#inString = true;
        this.#escaped = false;
      } else if (c === LEFT_BRACE || c === LEFT_BRACKET) {
        this.#depth++;
      } else if (c === RIGHT_BRACE || c === RIGHT_BRACKET) {
        if (--this.#depth === 0) {
          this.#at = 'memberEnd';
          return i;
        }
      }
    }
    return i;
  }
}

function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function isNumberByte(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || b === 0x2d || b === 0x2b || b === 0x2e || b === 0x65 || b === 0x45;
}

function isDelimiter(b: number): boolean {
  return b === COMMA || b === RIGHT_BRACE || b === RIGHT_BRACKET || isWhitespace(b);
}
