// make publish: one `aws lambda publish-layer-version` per zip, with the
// architectures and runtimes each layer supports. DRY_RUN=1 prints the
// commands and runs none; without it, the real AWS CLI runs them, here against
// a local stand-in for the Lambda API that records what it was sent.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { buildLayers, ROOT, ZIPS } from './layer-fixture.ts';
import { skipWithoutPythonTools, VENV_BIN } from './python-tools.ts';

const STANDALONE_RUNTIMES = ['provided.al2023', 'python3.12', 'python3.13', 'python3.14', 'java21', 'java25', 'dotnet8', 'dotnet10',
  'ruby3.3', 'ruby3.4', 'ruby4.0', 'nodejs20.x', 'nodejs22.x', 'nodejs24.x'];
const EXPECTED = [
  { layer: 'lambda-trace-proxy-x86_64', architectures: ['x86_64'], runtimes: STANDALONE_RUNTIMES, zip: ZIPS.x86_64 },
  { layer: 'lambda-trace-proxy-arm64', architectures: ['arm64'], runtimes: STANDALONE_RUNTIMES, zip: ZIPS.arm64 },
  { layer: 'lambda-trace-proxy-node', architectures: ['x86_64', 'arm64'], runtimes: ['nodejs22.x', 'nodejs24.x'], zip: ZIPS.node },
];

let tmp: string;
before(() => {
  buildLayers();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'ltp-publish-'));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

function make(args: readonly string[], env: Record<string, string>) {
  return spawnSync('make', ['-s', 'publish', ...args], { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 10 * 60_000 });
}

/** The same, without blocking this process's event loop (it serves the stand-in API). */
function makeAsync(env: Record<string, string>): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('make', ['-s', 'publish'], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => { stderr += text; });
    child.on('close', (status) => resolve({ status, stderr }));
  });
}

/** The words of one printed command, as the shell would split them. */
function words(line: string): string[] {
  const r = spawnSync('bash', ['-c', `printf '%s\\0' ${line}`], { encoding: 'utf8' });
  return r.stdout.split('\0').slice(0, -1);
}

function option(args: readonly string[], name: string): string[] {
  const at = args.indexOf(name);
  if (at < 0) return [];
  const end = args.findIndex((a, i) => i > at && a.startsWith('--'));
  return args.slice(at + 1, end < 0 ? undefined : end);
}

test('DRY_RUN=1 prints one publish-layer-version command per zip and runs none', () => {
  // An `aws` that must not be called.
  const fakeBin = path.join(tmp, 'bin');
  const called = path.join(tmp, 'aws-was-called');
  spawnSync('mkdir', ['-p', fakeBin]);
  writeFileSync(path.join(fakeBin, 'aws'), `#!/bin/sh\ntouch ${called}\nexit 99\n`);
  chmodSync(path.join(fakeBin, 'aws'), 0o755);
  const r = make(['DRY_RUN=1'], { PATH: `${fakeBin}:${process.env.PATH ?? ''}` });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(existsSync(called), false, 'aws was not run');
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 3, r.stdout);
  lines.forEach((line, i) => {
    const args = words(line);
    const want = EXPECTED[i]!;
    assert.deepEqual(args.slice(0, 3), ['aws', 'lambda', 'publish-layer-version']);
    assert.deepEqual(option(args, '--layer-name'), [want.layer]);
    assert.deepEqual(option(args, '--compatible-architectures'), want.architectures);
    assert.deepEqual(option(args, '--compatible-runtimes'), want.runtimes);
    assert.ok(want.runtimes.length <= 15, 'Lambda takes at most 15 compatible runtimes');
    assert.deepEqual(option(args, '--license-info'), ['Apache-2.0']);
    assert.deepEqual(option(args, '--zip-file'), [`fileb://dist/${path.basename(want.zip)}`]);
    assert.ok(existsSync(path.join(ROOT, option(args, '--zip-file')[0]!.slice('fileb://'.length))));
    assert.match(option(args, '--description')[0] ?? '', /^lambda-trace-proxy \d+\.\d+\.\d+/);
  });
});

interface Published { readonly url: string; readonly authorization: string; readonly body: Record<string, unknown> }

test('without DRY_RUN the AWS CLI publishes the three zips, byte for byte, with their runtimes and architectures', { skip: skipWithoutPythonTools, timeout: 10 * 60_000 }, async () => {
  const published: Published[] = [];
  // A stand-in for the Lambda API on loopback: it records and answers 201.
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      published.push({ url: req.url ?? '', authorization: String(req.headers.authorization), body: JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown> });
      const name = decodeURIComponent(/\/layers\/([^/]+)\/versions/.exec(req.url ?? '')?.[1] ?? 'x');
      const arn = `arn:aws:lambda:us-east-1:123456789012:layer:${name}`;
      res.writeHead(201, { 'Content-Type': 'application/json' }).end(JSON.stringify({ LayerArn: arn, LayerVersionArn: `${arn}:1`, Version: 1 }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const port = (server.address() as AddressInfo).port;
    const r = await makeAsync({
      PATH: `${VENV_BIN}:${process.env.PATH ?? ''}`,
      AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`,
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', AWS_DEFAULT_REGION: 'us-east-1',
      AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(published.length, 3);
    published.forEach((p, i) => {
      const want = EXPECTED[i]!;
      assert.equal(p.url, `/2018-10-31/layers/${want.layer}/versions`);
      assert.match(p.authorization, /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/lambda\/aws4_request/);
      assert.deepEqual(p.body.CompatibleArchitectures, want.architectures);
      assert.deepEqual(p.body.CompatibleRuntimes, want.runtimes);
      assert.equal(p.body.LicenseInfo, 'Apache-2.0');
      const zip = Buffer.from(String((p.body.Content as { ZipFile?: string }).ZipFile), 'base64');
      assert.equal(createHash('sha256').update(zip).digest('hex'), createHash('sha256').update(readFileSync(want.zip)).digest('hex'));
    });
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
