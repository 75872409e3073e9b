import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { now } from './clock.ts';
import { request } from './fixtures/http-client.ts';
import { act, data, fields, reportFor, sandbox } from './fixtures/harness.ts';
import { MAX_BUFFERED_RESPONSE_BYTES, rawHeader } from './sandbox.ts';

describe('Runtime posts', () => {
  test('a buffered response of exactly 6291556 bytes is accepted with 202', async (t) => {
    const { sb } = await sandbox(t);
    assert.equal(MAX_BUFFERED_RESPONSE_BYTES, 6_291_556);
    const result = await act(sb, { action: 'size', size: 6_291_556 });
    assert.equal(result.outcome, 'response');
    assert.equal(result.status, 202);
    assert.equal(result.body.length, 6_291_556);
  });

  test('a buffered response one byte over 6291556 is answered 413 and ends the invocation as an error', async (t) => {
    const h = await sandbox(t);
    const result = await act(h.sb, { action: 'size', size: 6_291_557 });
    assert.equal(result.outcome, 'error');
    assert.equal(result.status, 413);
    assert.equal(result.errorType, 'Function.ResponseSizeTooLarge');
    assert.equal(result.body.length, 6_291_557);
    const reply = data(await reportFor(h, 'runtime', 'post-reply', result.requestId));
    assert.deepEqual(reply['body'], {
      errorMessage: 'Exceeded maximum allowed payload size (6291556 bytes).',
      errorType: 'RequestEntityTooLarge',
    });
  });

  test('a second post for the same request id is refused 403 InvalidStateTransition', async (t) => {
    const h = await sandbox(t);
    const result = await act(h.sb, { action: 'twice' });
    assert.equal(result.body.toString(), 'first');
    await h.control.reports.waitFor((r) => r.kind === 'post-reply' && data(r)['status'] === 403);
    const [first, second] = h.control.all('runtime', 'post-reply').map(data);
    assert.equal(first?.['status'], 202);
    assert.deepEqual(second?.['body'], {
      errorMessage: 'State transition from ResponseSent to InvocationResponse failed for runtime. Error: State transition is not allowed',
      errorType: 'InvalidStateTransition',
    });
  });

  test('a post for a request id the sandbox never handed out is refused 400 InvalidRequestID', async (t) => {
    const { sb } = await sandbox(t, { runtime: 'external' });
    const res = await request('POST', sb.address, '/2018-06-01/runtime/invocation/no-such-id/response', { body: '{}' });
    assert.equal(res.status, 400);
    assert.deepEqual(JSON.parse(res.body.toString()), { errorMessage: 'Invalid request ID', errorType: 'InvalidRequestID' });
  });

  test('an /error post ends the invocation as an error with the header error type, else the body one', async (t) => {
    const { sb } = await sandbox(t);
    const withHeader = await act(sb, { action: 'error', headerType: 'Function.Custom' });
    assert.equal(withHeader.outcome, 'error');
    assert.equal(withHeader.status, 202);
    assert.equal(withHeader.errorType, 'Function.Custom');
    assert.equal(fields(JSON.parse(withHeader.body.toString()))['errorMessage'], 'boom');
    assert.equal(rawHeader(withHeader.requestHeaders, 'Lambda-Runtime-Function-Error-Type'), 'Function.Custom');
    const bodyOnly = await act(sb, { action: 'error' });
    assert.equal(bodyOnly.errorType, 'Custom.Boom');
  });

  test('a chunked post that declares trailers and sends none is accepted as the response (aws-lambda-go)', async (t) => {
    const { sb } = await sandbox(t);
    const result = await act(sb, { action: 'chunked', chunks: ['{"answer":', '42}'] });
    assert.equal(result.outcome, 'response');
    assert.equal(result.status, 202);
    assert.equal(result.body.toString(), '{"answer":42}');
    assert.equal(rawHeader(result.requestHeaders, 'Transfer-Encoding'), 'chunked');
    assert.match(rawHeader(result.requestHeaders, 'Trailer') ?? '', /Lambda-Runtime-Function-Error-Type/);
    assert.equal(result.streamed, false);
  });

  test('a streamed response is recorded chunk by chunk as the chunks arrive', async (t) => {
    const { sb, control } = await sandbox(t);
    const streaming = act(sb, { action: 'stream', chunks: ['first;', 'second'], gates: ['after-first'] });
    await control.waitForGate('after-first');
    await sb.waitForRequest((r) => r.url.endsWith('/response') && r.chunks.length === 1);
    const released = now();
    control.open('after-first');
    const result = await streaming;
    assert.equal(result.outcome, 'response');
    assert.equal(result.streamed, true);
    assert.equal(result.body.toString(), 'first;second');
    const chunks = result.chunks ?? [];
    assert.equal(Buffer.concat(chunks.map((c) => c.bytes)).toString(), 'first;second');
    assert.ok((chunks[0]?.at ?? Infinity) < released, 'the first chunk arrived before the runtime went on');
    assert.ok((chunks.at(-1)?.at ?? 0) >= released, 'the last chunk arrived after');
  });

  test('error trailers of a streamed response make it an error with their type', async (t) => {
    const { sb } = await sandbox(t);
    const result = await act(sb, { action: 'stream', chunks: ['partial'], errorType: 'Function.StreamBroken' });
    assert.equal(result.outcome, 'error');
    assert.equal(result.status, 202);
    assert.equal(result.errorType, 'Function.StreamBroken');
    assert.equal(result.body.toString(), 'partial');
    assert.equal(
      Buffer.from(rawHeader(result.trailers, 'Lambda-Runtime-Function-Error-Body') ?? '', 'base64').toString(),
      '{"errorMessage":"mid-stream"}',
    );
  });

  test('any other path gets a 404 JSON error', async (t) => {
    const { sb } = await sandbox(t, { runtime: 'external' });
    const res = await request('GET', sb.address, '/2018-06-01/runtime/invocation/next/extra');
    assert.equal(res.status, 404);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.equal(fields(JSON.parse(res.body.toString()))['errorType'], 'NotFound');
  });
});
