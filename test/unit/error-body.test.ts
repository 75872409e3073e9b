import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ErrorBodyReader,
  MAX_ERROR_BODY_BYTES,
  decodeErrorBodyTrailer,
  parseErrorBody,
  parseStreamErrorTrailers,
} from '../../src/tracing/error-body.ts';

function body(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

describe('error bodies of the real runtime clients', () => {
  it('reads the Node RIC shape, whose stack is in `trace`', () => {
    const error = body({
      errorType: 'TypeError',
      errorMessage: "Cannot read properties of undefined (reading 'id')",
      trace: ["TypeError: Cannot read properties of undefined (reading 'id')", '    at Runtime.handler (file:///var/task/index.mjs:3:21)'],
    });
    assert.deepEqual(parseErrorBody(error, undefined), {
      type: 'TypeError',
      message: "Cannot read properties of undefined (reading 'id')",
      stack: "TypeError: Cannot read properties of undefined (reading 'id')\n    at Runtime.handler (file:///var/task/index.mjs:3:21)",
    });
  });

  it('reads a thrown string from the Node RIC as type "string"', () => {
    assert.deepEqual(parseErrorBody(body({ errorType: 'string', errorMessage: 'boom', trace: [] }), undefined), {
      type: 'string',
      message: 'boom',
    });
  });

  it('reads the Python shape, dropping the newline each frame ends with', () => {
    const error = body({
      errorMessage: 'division by zero',
      errorType: 'ZeroDivisionError',
      requestId: 'c3a29910-49cf-4d1b-a31e-ec4821f55a9b',
      stackTrace: ['  File "/var/task/app.py", line 4, in handler\n    return 1 / 0\n'],
    });
    assert.deepEqual(parseErrorBody(error, undefined), {
      type: 'ZeroDivisionError',
      message: 'division by zero',
      stack: '  File "/var/task/app.py", line 4, in handler\n    return 1 / 0',
    });
  });

  it('treats the empty strings and list Python sends for absent fields as absent', () => {
    assert.deepEqual(parseErrorBody(body({ errorMessage: '', errorType: '', stackTrace: [] }), undefined), {});
  });

  it('lays out aws-lambda-go frame objects as a Go traceback', () => {
    const error = body({
      errorMessage: 'runtime error: invalid memory address or nil pointer dereference',
      errorType: 'runtimeError',
      stackTrace: [
        { path: 'github.com/aws/aws-lambda-go@v1.47.0/lambda/errors.go', line: 39, label: 'lambdaPanicResponse' },
        { path: 'main.go', line: 12, label: 'handler' },
      ],
    });
    assert.deepEqual(parseErrorBody(error, undefined), {
      type: 'runtimeError',
      message: 'runtime error: invalid memory address or nil pointer dereference',
      stack: 'lambdaPanicResponse\n\tgithub.com/aws/aws-lambda-go@v1.47.0/lambda/errors.go:39\nhandler\n\tmain.go:12',
    });
  });

  it('reads the Java shape', () => {
    const error = body({
      errorMessage: 'Order not found',
      errorType: 'com.example.NotFoundException',
      stackTrace: ['com.example.Handler.handleRequest(Handler.java:23)', 'java.base/java.lang.Thread.run(Thread.java:1583)'],
    });
    assert.deepEqual(parseErrorBody(error, 'com.example.NotFoundException'), {
      type: 'com.example.NotFoundException',
      message: 'Order not found',
      stack: 'com.example.Handler.handleRequest(Handler.java:23)\njava.base/java.lang.Thread.run(Thread.java:1583)',
    });
  });

  it('reads the Rust Diagnostic: its errorType wins over the fixed header category', () => {
    const error = body({ errorType: 'alloc::string::String', errorMessage: 'bad input' });
    assert.deepEqual(parseErrorBody(error, 'unhandled'), { type: 'alloc::string::String', message: 'bad input' });
  });

  it('names the Java exception class, not the Runtime.UserException category of the header', () => {
    const error = body({ errorMessage: 'no order', errorType: 'e2e.Handlers$OrderException', stackTrace: ['e2e.Handlers.handle(Handlers.java:12)'] });
    assert.equal(parseErrorBody(error, 'Runtime.UserException').type, 'e2e.Handlers$OrderException');
  });

  it('keeps a stack sent as one string', () => {
    assert.deepEqual(parseErrorBody(body({ errorType: 'E', stackTrace: 'line 1\nline 2\n' }), undefined), {
      type: 'E',
      stack: 'line 1\nline 2',
    });
  });

  it('accepts the body as the chunks it arrived in', () => {
    const bytes = body({ errorType: 'TypeError', errorMessage: 'x' });
    assert.deepEqual(parseErrorBody([bytes.subarray(0, 5), bytes.subarray(5, 6), bytes.subarray(6)], undefined), {
      type: 'TypeError',
      message: 'x',
    });
  });
});

describe('error bodies that cannot be read', () => {
  it('uses the Error-Type header alone when the body is empty, missing or not JSON', () => {
    assert.deepEqual(parseErrorBody(Buffer.alloc(0), 'Runtime.ExitError'), { type: 'Runtime.ExitError' });
    assert.deepEqual(parseErrorBody(undefined, 'Runtime.ExitError'), { type: 'Runtime.ExitError' });
    assert.deepEqual(parseErrorBody(Buffer.from('Segmentation fault'), 'Runtime.ExitError'), { type: 'Runtime.ExitError' });
  });

  it('gives nothing for JSON that is not an object, and ignores fields of the wrong type', () => {
    assert.deepEqual(parseErrorBody(Buffer.from('["errorType"]'), undefined), {});
    assert.deepEqual(parseErrorBody(Buffer.from('"boom"'), undefined), {});
    assert.deepEqual(parseErrorBody(body({ errorType: 42, errorMessage: { a: 1 }, stackTrace: [1, null, {}] }), undefined), {});
  });

  it('ignores a blank Error-Type header', () => {
    assert.deepEqual(parseErrorBody(body({ errorType: 'TypeError' }), '  '), { type: 'TypeError' });
  });

  it('does not parse a body above the cap, given whole or in chunks', () => {
    const huge = body({ errorType: 'Big', errorMessage: 'x'.repeat(MAX_ERROR_BODY_BYTES) });
    assert.deepEqual(parseErrorBody(huge, undefined), {});
    assert.deepEqual(parseErrorBody([huge.subarray(0, 10), huge.subarray(10)], 'Function.Big'), { type: 'Function.Big' });
  });

  it('parses a body just under the cap', () => {
    const overhead = body({ errorType: 'Big', errorMessage: '' }).length;
    const fits = body({ errorType: 'Big', errorMessage: 'x'.repeat(MAX_ERROR_BODY_BYTES - overhead) });
    assert.equal(fits.length, MAX_ERROR_BODY_BYTES);
    assert.equal(parseErrorBody(fits, undefined).type, 'Big');
  });
});

describe('error trailers of a streamed response', () => {
  const errorJson = body({ errorType: 'Runtime.StreamError', errorMessage: 'socket hang up', stackTrace: ['at write'] });

  it('decodes the base64 Error-Body trailer', () => {
    assert.deepEqual(decodeErrorBodyTrailer(errorJson.toString('base64')), errorJson);
  });

  it('refuses a trailer that is not base64', () => {
    assert.equal(decodeErrorBodyTrailer('not base64!'), undefined);
    assert.equal(decodeErrorBodyTrailer(''), undefined);
    assert.equal(decodeErrorBodyTrailer(undefined), undefined);
  });

  it('reads type, message and stack from both trailers, the body\'s own type winning over the category', () => {
    assert.deepEqual(parseStreamErrorTrailers('Runtime.TruncatedResponse', errorJson.toString('base64')), {
      type: 'Runtime.StreamError',
      message: 'socket hang up',
      stack: 'at write',
    });
  });

  it('reads the type trailer alone when the body trailer has none', () => {
    assert.equal(parseStreamErrorTrailers('Runtime.TruncatedResponse', undefined)?.type, 'Runtime.TruncatedResponse');
  });

  it('reads the body trailer alone', () => {
    assert.equal(parseStreamErrorTrailers(undefined, errorJson.toString('base64'))?.type, 'Runtime.StreamError');
  });

  it('reports no error when neither trailer is there', () => {
    assert.equal(parseStreamErrorTrailers(undefined, undefined), undefined);
    assert.equal(parseStreamErrorTrailers('', ' '), undefined);
  });

  it('keeps the type trailer when the body trailer is garbage', () => {
    assert.deepEqual(parseStreamErrorTrailers('Runtime.StreamError', '%%%'), { type: 'Runtime.StreamError' });
  });
});

describe('error bodies read as they pass', () => {
  it('parses a body pushed in pieces', () => {
    const reader = new ErrorBodyReader();
    const bytes = body({ errorType: 'Boom', errorMessage: 'went off' });
    reader.push(bytes.subarray(0, 7));
    reader.push(bytes.subarray(7));
    assert.deepEqual(reader.parse(undefined), { type: 'Boom', message: 'went off' });
  });

  it('parses a body whose chunks were freed once pushed (the proxy frees them once forwarded)', () => {
    const reader = new ErrorBodyReader();
    const bytes = body({ errorType: 'Boom', errorMessage: 'went off' });
    for (const piece of [bytes.subarray(0, 7), bytes.subarray(7)]) {
      const chunk = Buffer.allocUnsafeSlow(piece.length); // Owns its memory, as node:http's chunks do.
      piece.copy(chunk);
      reader.push(chunk);
      chunk.buffer.transfer(0);
    }
    assert.deepEqual(reader.parse(undefined), { type: 'Boom', message: 'went off' });
  });

  it('lets a body go once it is longer than is parsed, and falls back to the header', () => {
    const reader = new ErrorBodyReader();
    reader.push(body({ errorType: 'Big', errorMessage: 'x'.repeat(MAX_ERROR_BODY_BYTES) }));
    assert.equal(reader.done, true);
    assert.deepEqual(reader.parse('Runtime.UserException'), { type: 'Runtime.UserException' });
  });
});
