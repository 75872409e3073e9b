// The resource holds the facts the environment gave, and the OpenTelemetry SDK has nothing to warn
// about for the ones it did not give (AWS's emulator sends no account id with register; a runtime
// that never ran the wrapper gives no log stream). Nothing on it waits: it is complete when made.

import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { diag, DiagLogLevel } from '@opentelemetry/api';
import { buildResource, type FunctionIdentity } from '../../src/tracing/resource.ts';

const warnings: string[] = [];

function listen(): void {
  const record = (message: string) => { warnings.push(message); };
  diag.setLogger({ error: record, warn: record, info: () => {}, debug: () => {}, verbose: () => {} }, DiagLogLevel.WARN);
}

afterEach(() => {
  diag.disable();
  warnings.length = 0;
});

const identity: FunctionIdentity = { functionName: 'orders', functionVersion: '$LATEST', region: 'eu-west-1', accountId: '123456789012', memoryMb: 128 };

test('every fact the environment gave is on the resource', () => {
  listen();
  const resource = buildResource(identity, undefined, {}, '2026/12/06/[$LATEST]abc');
  assert.equal(resource.asyncAttributesPending, false);
  assert.equal(resource.attributes['cloud.account.id'], '123456789012');
  assert.equal(resource.attributes['faas.version'], '$LATEST');
  assert.equal(resource.attributes['faas.max_memory'], 128 * 1024 * 1024);
  assert.equal(resource.attributes['faas.instance'], '2026/12/06/[$LATEST]abc');
  assert.deepEqual(warnings, []);
});

test('facts the environment did not give are left out without a warning', () => {
  listen();
  const unknown: FunctionIdentity = { functionName: 'orders', functionVersion: undefined, region: undefined, accountId: undefined, memoryMb: undefined };
  const resource = buildResource(unknown, undefined, {}, undefined);
  for (const key of ['cloud.account.id', 'cloud.region', 'faas.version', 'faas.max_memory', 'faas.instance']) assert.equal(key in resource.attributes, false, key);
  assert.equal(resource.attributes['faas.name'], 'orders');
  assert.deepEqual(warnings, []);
});
