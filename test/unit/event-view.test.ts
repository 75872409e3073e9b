import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { viewEvent, viewEventHead } from '../../src/event/view.ts';
import { injectIntoView } from '../../src/event/inject-traceparent.ts';

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/events/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>;
const OURS = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

/** The event serialised with `body` last and long, as API Gateway sends a large request. */
function withLargeBody(event: Record<string, unknown>): Buffer {
  const { body: _ignored, ...rest } = event;
  return Buffer.from(JSON.stringify({ ...rest, body: 'x'.repeat(1024 * 1024) }));
}

describe('the event view', () => {
  it('classifies a head that ends in the body as the whole event would be', () => {
    for (const name of ['apigw-rest.json', 'apigw-http.json', 'alb.json', 'function-url.json']) {
      const event = withLargeBody(fixture(name));
      const head = viewEventHead(event.subarray(0, 64 * 1024), 'fn');
      assert.ok(typeof head === 'object', name);
      const whole = viewEvent(event, 'fn');
      assert.deepEqual(head.trigger, whole.trigger, name);
      assert.equal(head.whole, false);
    }
  });

  it('splices the head as the whole event would be spliced', () => {
    const event = withLargeBody(fixture('apigw-rest.json'));
    const head = viewEventHead(event.subarray(0, 64 * 1024), 'fn');
    assert.ok(typeof head === 'object');
    const fromHead = Buffer.concat([...injectIntoView(head, OURS)!, event.subarray(64 * 1024)]);
    const fromWhole = Buffer.concat(injectIntoView(viewEvent(event, 'fn'), OURS)!);
    assert.ok(fromHead.equals(fromWhole));
  });

  it('asks for more while the head ends before the string it would stream past', () => {
    const event = withLargeBody(fixture('apigw-rest.json'));
    assert.equal(viewEventHead(event.subarray(0, 40), 'fn'), 'more');
  });

  it('asks for the whole event when a batch of records is longer than a head may be', () => {
    const records = Array.from({ length: 400 }, (_, i) => ({ ...((fixture('sqs.json').Records as unknown[])[0] as object), messageId: String(i) }));
    const event = Buffer.from(JSON.stringify({ Records: records }));
    assert.ok(event.length > 256 * 1024);
    assert.equal(viewEventHead(event.subarray(0, 64 * 1024), 'fn'), 'more');
    assert.equal(viewEventHead(event.subarray(0, 256 * 1024), 'fn'), 'whole');
  });

  it('decides at once for an event that is no JSON object', () => {
    const head = viewEventHead(Buffer.from('plain text, long enough to stream'), 'fn');
    assert.ok(typeof head === 'object');
    assert.equal(head.trigger.source, 'other');
    assert.equal(head.root, undefined);
  });
});
