// The HTTP status the caller of an API Gateway / ALB / function URL invocation gets, read from the
// function's response (`http.response.status_code`, and ERROR for 5xx).
//
// Rule: only a top-level `statusCode` counts (a number, or a numeric string as some runtimes send);
// one inside the `body` string or a nested object does not. The response arrives as the chunks that
// came off the socket (up to 6 MB buffered): we walk them in place, never concatenate them; strings
// are skipped with native `indexOf`. A streamed HTTP response
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
  try {
    const scan = scanRootMember(new ChunkCursor(chunks), 'statusCode');
    if (scan === undefined) return undefined;
    const followedBy = isStreamingHttpContentType(contentType) ? ['prelude'] : ['end', 'prelude'];
    return followedBy.includes(scan.followedBy) ? statusCodeFromToken(scan.token) : undefined;
  } catch {
    return undefined;
  }
}

export function isStreamingHttpContentType(contentType: string | undefined): boolean {
  return contentType?.split(';')[0]?.trim().toLowerCase() === STREAMING_HTTP_CONTENT_TYPE;
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

interface RootMemberScan {
  /** The raw JSON text of the last member named so, when it is a short string or number. */
  readonly token: string | undefined;
  /** What follows the root object: nothing but whitespace, a streaming prelude delimiter, or other bytes. */
  readonly followedBy: 'end' | 'prelude' | 'other';
}

/** Walks the root object's members, skipping every value but `name`'s. Undefined when the root is no object. */
function scanRootMember(cursor: ChunkCursor, name: string): RootMemberScan | undefined {
  cursor.skipWhitespace();
  // A bare JSON value (string, array, number): see the header comment.
  if (cursor.peek() !== LEFT_BRACE) return undefined;
  cursor.advance();
  cursor.skipWhitespace();
  let token: string | undefined;
  if (cursor.peek() === RIGHT_BRACE) {
    cursor.advance();
  } else {
    for (;;) {
      const key = cursor.readKey();
      if (key === null) return undefined;
      cursor.skipWhitespace();
      if (cursor.peek() !== COLON) return undefined;
      cursor.advance();
      cursor.skipWhitespace();
      if (key === name) {
        // Later duplicates win, as in JSON.parse.
        const value = cursor.readValueToken();
        if (value === null) return undefined;
        token = value;
      } else if (!cursor.skipValue()) {
        return undefined;
      }
      cursor.skipWhitespace();
      const next = cursor.peek();
      cursor.advance();
      if (next === RIGHT_BRACE) break;
      if (next !== COMMA) return undefined;
      cursor.skipWhitespace();
    }
  }
  return { token, followedBy: cursor.classifyRest() };
}

/**
 * Reads JSON tokens across a list of chunks, without joining them. `null` results mean malformed
 * input; `undefined` means "well-formed, but not what we collect".
 */
class ChunkCursor {
  readonly #chunks: readonly Buffer[];
  #index = 0;
  #pos = 0;

  constructor(chunks: readonly Buffer[]) {
    this.#chunks = chunks;
  }

  /** The current byte, or -1 at the end. */
  peek(): number {
    for (;;) {
      const chunk = this.#chunks[this.#index];
      if (chunk === undefined) return -1;
      const byte = chunk[this.#pos];
      if (byte !== undefined) return byte;
      this.#index++;
      this.#pos = 0;
    }
  }

  advance(): void {
    if (this.peek() >= 0) this.#pos++;
  }

  skipWhitespace(): void {
    for (;;) {
      const c = this.peek();
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return;
      this.#pos++;
    }
  }

  /** A key (at its opening quote), decoded; undefined when too long to matter; null when malformed. */
  readKey(): string | undefined | null {
    if (this.peek() !== QUOTE) return null;
    const raw = this.#collectString(MAX_KEY_BYTES);
    if (raw === null || raw === undefined) return raw;
    const key: unknown = JSON.parse(raw);
    return typeof key === 'string' ? key : null;
  }

  /** A short string or number value as raw JSON text; undefined for other values; null when malformed. */
  readValueToken(): string | undefined | null {
    const c = this.peek();
    if (c === QUOTE) return this.#collectString(MAX_TOKEN_BYTES);
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      const bytes: number[] = [];
      for (let b = this.peek(); isNumberByte(b); b = this.peek()) {
        if (bytes.length < MAX_TOKEN_BYTES) bytes.push(b);
        this.#pos++;
      }
      return bytes.length < MAX_TOKEN_BYTES ? String.fromCharCode(...bytes) : undefined;
    }
    return this.skipValue() ? undefined : null;
  }

  /** Skips any value; false when malformed or cut short. */
  skipValue(): boolean {
    const c = this.peek();
    if (c === QUOTE) {
      this.#pos++;
      return this.#skipStringBody();
    }
    if (c === LEFT_BRACE || c === LEFT_BRACKET) {
      this.#pos++;
      return this.#skipContainerBody();
    }
    // Number or literal: up to the next delimiter.
    let length = 0;
    for (let b = this.peek(); b >= 0 && !isDelimiter(b); b = this.peek()) {
      this.#pos++;
      length++;
    }
    return length > 0;
  }

  /** After the root value: whitespace to the end, a prelude delimiter, or anything else. */
  classifyRest(): 'end' | 'prelude' | 'other' {
    if (this.peek() === NUL) {
      for (let i = 0; i < PRELUDE_DELIMITER_LENGTH; i++) {
        if (this.peek() !== NUL) return 'other';
        this.#pos++;
      }
      return 'prelude';
    }
    this.skipWhitespace();
    return this.peek() < 0 ? 'end' : 'other';
  }

  /** The string at the cursor as raw JSON (quotes included), or undefined past `maxBytes`; null if unterminated. */
  #collectString(maxBytes: number): string | undefined | null {
    const bytes: number[] = [];
    for (;;) {
      const c = this.peek();
      if (c < 0) return null;
      this.#pos++;
      bytes.push(c);
      if (c === QUOTE && bytes.length > 1) return Buffer.from(bytes).toString('utf8');
      if (c === BACKSLASH) {
        const escaped = this.peek();
        if (escaped < 0) return null;
        this.#pos++;
        bytes.push(escaped);
      }
      if (bytes.length > maxBytes) return this.#skipStringBody() ? undefined : null;
    }
  }

  /** After an opening quote: moves past the closing one. False when the input ends first. */
  #skipStringBody(): boolean {
    for (;;) {
      const chunk = this.#chunks[this.#index];
      if (chunk === undefined) return false;
      const end = skipStringContent(chunk, this.#pos);
      if (end >= 0) {
        this.#pos = end;
        return true;
      }
      this.#nextChunk();
      // A backslash ended the last chunk: the next chunk's first byte is the escaped one.
      if (end === STRING_CONTINUES_ESCAPED) this.#pos = 1;
    }
  }

  /** After `{` or `[`: moves past the matching close, skipping strings. False when the input ends first. */
  #skipContainerBody(): boolean {
    let depth = 1;
    for (;;) {
      const chunk = this.#chunks[this.#index];
      if (chunk === undefined) return false;
      let i = this.#pos;
      for (; i < chunk.length; i++) {
        const c = chunk[i];
        if (c === QUOTE) break;
        if (c === LEFT_BRACE || c === LEFT_BRACKET) depth++;
        else if (c === RIGHT_BRACE || c === RIGHT_BRACKET) {
          depth--;
          if (depth === 0) {
            this.#pos = i + 1;
            return true;
          }
        }
      }
      if (i < chunk.length) {
        this.#pos = i + 1;
        if (!this.#skipStringBody()) return false;
      } else {
        this.#nextChunk();
      }
    }
  }

  #nextChunk(): void {
    this.#index++;
    this.#pos = 0;
  }
}

function isNumberByte(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || b === 0x2d || b === 0x2b || b === 0x2e || b === 0x65 || b === 0x45;
}

function isDelimiter(b: number): boolean {
  return b === COMMA || b === RIGHT_BRACE || b === RIGHT_BRACKET || b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}
