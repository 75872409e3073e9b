import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STREAMING_HTTP_CONTENT_TYPE, StatusCodeReader, readStatusCode } from '../../src/tracing/http-response.ts';

const DELIMITER = '\u0000'.repeat(8);

function status(text: string | Buffer, contentType?: string): number | undefined {
  return readStatusCode([Buffer.isBuffer(text) ? text : Buffer.from(text)], contentType);
}

/** Every way of cutting `bytes` in two, and in three around each position. */
function everySplit(bytes: Buffer): Buffer[][] {
  const splits: Buffer[][] = [];
  for (let i = 0; i <= bytes.length; i++) {
    splits.push([bytes.subarray(0, i), bytes.subarray(i)]);
    if (i + 1 <= bytes.length) splits.push([bytes.subarray(0, i), bytes.subarray(i, i + 1), bytes.subarray(i + 1)]);
  }
  return splits;
}

describe('statusCode of a buffered HTTP response', () => {
  it('reads a numeric statusCode', () => {
    assert.equal(status('{"statusCode":201,"headers":{"content-type":"application/json"},"body":"{}"}'), 201);
  });

  it('reads a numeric string, as some runtimes send it', () => {
    assert.equal(status('{"statusCode": "404", "body": ""}'), 404);
  });

  it('ignores a statusCode inside the body string or a nested object', () => {
    const response = '{"body":"{\\"statusCode\\":500}","headers":{"statusCode":"503","x":[{"statusCode":502}]},"statusCode":302}';
    assert.equal(status(response), 302);
    assert.equal(status('{"body":"{\\"statusCode\\":500}","headers":{"statusCode":503}}'), undefined);
  });

  it('takes the last statusCode when the key is repeated, as JSON.parse does', () => {
    assert.equal(status('{"statusCode":200,"statusCode":500}'), 500);
  });

  it('reads a key written with escapes', () => {
    assert.equal(status('{"status\\u0043ode":418}'), 418);
  });

  it('tolerates whitespace everywhere JSON allows it', () => {
    assert.equal(status(' \n{ \t"statusCode" :\r\n 204 , "body" : null }\n'), 204);
  });

  it('finds the same status however the response is cut into chunks', () => {
    const response = Buffer.from('{"body":"a\\\\\\"b \\\\","multiValueHeaders":{"x":["{","]"]},"isBase64Encoded":false,"statusCode":"503"}');
    assert.equal(JSON.parse(response.toString('utf8')).statusCode, '503');
    for (const chunks of everySplit(response)) {
      assert.equal(readStatusCode(chunks), 503, chunks.map((c) => c.toString()).join(' | '));
    }
  });

  it('carries an escape across a chunk boundary, even past an empty chunk', () => {
    const chunks = ['{"body":"a\\', '', '"b\\', '\\","statusCode":200}'].map((c) => Buffer.from(c));
    assert.equal(JSON.parse(Buffer.concat(chunks).toString('utf8')).body, 'a"b\\');
    assert.equal(readStatusCode(chunks), 200);
  });

  it('reads the status after a 6 MB body that came in 64 KB chunks', () => {
    const bodyText = JSON.stringify({ items: 'q"\\x'.repeat(1_600_000) });
    const response = Buffer.from(JSON.stringify({ headers: { a: 'b' }, body: bodyText, statusCode: 507 }));
    assert.ok(response.length > 6_000_000);
    const chunks: Buffer[] = [];
    for (let i = 0; i < response.length; i += 65_536) chunks.push(response.subarray(i, i + 65_536));
    assert.equal(readStatusCode(chunks), 507);
  });

  it('has no status for a bare JSON value (HTTP API and function URLs answer 200)', () => {
    for (const bare of ['"hello"', '[1,2]', '42', 'null', 'true']) assert.equal(status(bare), undefined, bare);
  });

  it('has no status for an object without statusCode', () => {
    assert.equal(status('{"message":"hi"}'), undefined);
    assert.equal(status('{}'), undefined);
  });

  it('refuses status codes outside 100-599 and values that are not integers', () => {
    for (const value of ['99', '600', '999', '200.5', '"20"', '"2000"', '"abc"', '" 200"', 'null', 'true', '{}', '[200]', '-200', '"1e2"']) {
      assert.equal(status(`{"statusCode":${value}}`), undefined, value);
    }
  });

  it('reads an integer written with a fraction or exponent', () => {
    assert.equal(status('{"statusCode":200.0}'), 200);
    assert.equal(status('{"statusCode":2e2}'), 200);
  });

  it('has no status for malformed or cut-short JSON', () => {
    for (const broken of [
      '',
      'not json',
      '{"statusCode":200',
      '{"statusCode":200,}',
      '{"statusCode" 200}',
      '{"body":"unterminated,"statusCode":200}',
      '{"statusCode":200} trailing',
      '{"a":{"b":[1,2}',
      '{"head\ners":1,"statusCode":200}',
    ]) {
      assert.equal(status(broken), undefined, broken);
    }
    assert.equal(readStatusCode([]), undefined);
  });
});

describe('statusCode of a streamed HTTP response', () => {
  const prelude = '{"statusCode":201,"headers":{"content-type":"text/plain"},"cookies":["a=1"]}';
  const streamed = Buffer.from(`${prelude}${DELIMITER}{"statusCode":500} is body text, not JSON`);

  it('reads the status from the prelude before the 8 NUL bytes', () => {
    assert.equal(status(streamed, STREAMING_HTTP_CONTENT_TYPE), 201);
    assert.equal(status(streamed, `${STREAMING_HTTP_CONTENT_TYPE}; charset=utf-8`), 201);
  });

  it('finds the prelude however the stream is cut into chunks, delimiter included', () => {
    for (const chunks of everySplit(streamed)) {
      assert.equal(readStatusCode(chunks, STREAMING_HTTP_CONTENT_TYPE), 201);
    }
  });

  it('recognises a prelude without being told the content type', () => {
    assert.equal(status(streamed), 201);
  });

  it('has no status when the streaming content type comes without a prelude delimiter', () => {
    assert.equal(status('{"statusCode":201}', STREAMING_HTTP_CONTENT_TYPE), undefined);
    assert.equal(status(`{"statusCode":201}${'\u0000'.repeat(7)}x`, STREAMING_HTTP_CONTENT_TYPE), undefined);
  });

  it('has no status when the prelude names none (the caller gets 200)', () => {
    assert.equal(status(`{"headers":{}}${DELIMITER}body`, STREAMING_HTTP_CONTENT_TYPE), undefined);
  });
});

describe('statusCode read as the response passes', () => {
  it('is done at the prelude delimiter, so the streamed body is never read', () => {
    const reader = new StatusCodeReader();
    reader.push(Buffer.from('{"statusCode":206}\u0000\u0000\u0000'));
    assert.equal(reader.done, false);
    reader.push(Buffer.from('\u0000\u0000\u0000\u0000\u0000{not json at all'));
    assert.equal(reader.done, true);
    reader.push(Buffer.from('more body'));
    assert.equal(reader.statusCode(STREAMING_HTTP_CONTENT_TYPE), 206);
  });

  it('is done at the first byte that rules a status out', () => {
    const reader = new StatusCodeReader();
    reader.push(Buffer.from('["a bare array'));
    assert.equal(reader.done, true);
    assert.equal(reader.statusCode(), undefined);
  });

  it('reads a status written before a 6 MB body pushed in 64 KB chunks', () => {
    const reader = new StatusCodeReader();
    reader.push(Buffer.from('{"statusCode":200,"body":"'));
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    for (let i = 0; i < 96; i++) reader.push(chunk);
    reader.push(Buffer.from('"}'));
    assert.equal(reader.statusCode(), 200);
  });
});
