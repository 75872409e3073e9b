import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { guardObserver, type InvocationObserver } from '../../src/proxy/invocation-observer.ts';
import { createLogger } from '../../src/log.ts';

function observer(overrides: Partial<InvocationObserver>): InvocationObserver {
  return {
    onNextRequest() {}, onInvocationEvent: () => undefined, onEventForwarded() {}, bodyReader: () => undefined,
    answerBytesToKeep: () => 0, onInvocationResult() {}, onInitError() {}, ...overrides,
  };
}

describe('the guard around tracing', () => {
  it('stops feeding a body reader that threw, and never lets the throw through', () => {
    const lines: string[] = [];
    let pushes = 0;
    const guarded = guardObserver(observer({
      bodyReader: () => ({ push() { pushes++; throw new Error('reader broke'); }, done: false }),
    }), createLogger('warn', (line) => lines.push(line)));
    const reader = guarded.bodyReader('r1', 'response');
    assert.ok(reader);
    reader.push(Buffer.from('a'));
    assert.equal(reader.done, true);
    assert.equal(pushes, 1);
    assert.match(lines.join(''), /LRAP_TRACING_HOOK_FAILED/);
  });

  it('forwards the event unchanged when reading it throws', () => {
    const guarded = guardObserver(observer({ onInvocationEvent: () => { throw new Error('no'); } }), createLogger('none'));
    assert.equal(guarded.onInvocationEvent({ requestId: 'r', headers: {}, body: Buffer.from('{}'), totalBytes: 2, receivedAt: 0 }), undefined);
  });
});
