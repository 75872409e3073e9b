// wrapper-script.sh points the runtime at the proxy and becomes the runtime,
// with its arguments exactly as Lambda gave them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NODE, WRAPPER } from './harness.ts';

const PRINT = 'process.stdout.write(JSON.stringify({ argv: process.argv.slice(1), api: process.env.AWS_LAMBDA_RUNTIME_API }))';

test('keeps every argument exactly: spaces, empty strings, globs, quotes, dollars', () => {
  const args = ['a b', '', '*', '$HOME', `it's "quoted"`, '--flag=x  y', '\ttab', 'ü'];
  const out = execFileSync(WRAPPER, [NODE, '-e', PRINT, '--', ...args], { cwd: os.tmpdir(), env: { PATH: process.env.PATH ?? '' } });
  const { argv, api } = JSON.parse(out.toString()) as { argv: string[]; api: string };
  assert.deepEqual(argv, args); // node itself takes the '--'
  assert.equal(api, '127.0.0.1:9009');
});

test('points the runtime at LRAP_LISTENER_PORT and hands the log stream name to the extension', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'wrapper-'));
  try {
    const out = execFileSync(WRAPPER, [NODE, '-e', PRINT], {
      env: { PATH: process.env.PATH ?? '', LRAP_LISTENER_PORT: '9123', AWS_LAMBDA_LOG_STREAM_NAME: '2026/11/25/[$LATEST]abc', AWS_LAMBDA_RUNTIME_API: '127.0.0.1:9001' },
    });
    assert.equal((JSON.parse(out.toString()) as { api: string }).api, '127.0.0.1:9123');
    assert.equal(readFileSync('/tmp/.lambda-trace-proxy-9123.instance', 'utf8'), '2026/11/25/[$LATEST]abc');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    rmSync('/tmp/.lambda-trace-proxy-9123.instance', { force: true });
  }
});

test('passes the runtime\'s exit status through', () => {
  assert.throws(() => execFileSync(WRAPPER, [NODE, '-e', 'process.exit(7)'], { env: { PATH: process.env.PATH ?? '' } }),
    (err: { status?: number }) => err.status === 7);
});
