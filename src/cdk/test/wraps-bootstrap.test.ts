// The bootstrap the construct builds for provided.al2023: the user's
// executable kept byte for byte as bootstrap.untraced, a script in its place
// that runs it through the wrapper; run here as real processes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Stack, Stage } from 'aws-cdk-lib';
import { Function, Runtime } from 'aws-cdk-lib/aws-lambda';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import { TracedBootstrap } from '../lib/index.ts';
import { TRACED_BOOTSTRAP, UNTRACED_BOOTSTRAP, runsWrapper } from '../lib/provided-bootstrap.ts';
import { ROOT, binaryBootstrapDirectory, newApp, tempDir } from './app-fixture.ts';

/** A bootstrap that prints what it was started with: the Runtime API it sees and its arguments, one per line. */
function echoingBootstrapDirectory(t: Parameters<typeof tempDir>[0]): string {
  const dir = tempDir(t, 'echo');
  writeFileSync(path.join(dir, 'bootstrap'), '#!/bin/sh\necho "$AWS_LAMBDA_RUNTIME_API"\nfor a in "$@"; do echo "[$a]"; done\n', { mode: 0o755 });
  writeFileSync(path.join(dir, 'data.json'), '{"kept":true}');
  return dir;
}

function stagedCode(fn: Function): string {
  const asset = fn.node.findChild('Code') as Asset;
  return path.resolve(Stage.of(fn)?.outdir ?? '.', asset.assetPath);
}

/** Runs a built bootstrap as Lambda would, with the repository's wrapper standing in for /opt/wrapper-script.sh. */
function runBootstrap(t: Parameters<typeof tempDir>[0], taskRoot: string, args: string[]): string {
  const script = readFileSync(path.join(taskRoot, 'bootstrap'), 'utf8').replace('/opt/wrapper-script.sh', path.join(ROOT, 'wrapper-script.sh'));
  const runnable = path.join(tempDir(t, 'run'), 'bootstrap');
  writeFileSync(runnable, script, { mode: 0o755 });
  const run = spawnSync(runnable, args, { encoding: 'utf8', env: { PATH: process.env.PATH, LAMBDA_TASK_ROOT: taskRoot, AWS_LAMBDA_RUNTIME_API: '169.254.100.1:9001' } });
  assert.equal(run.status, 0, run.stderr);
  return run.stdout;
}

test('fromDirectory keeps the executable byte for byte as bootstrap.untraced and puts the wrapper in front of it', (t) => {
  const source = binaryBootstrapDirectory(t);
  const original = readFileSync(path.join(source, 'bootstrap'));
  const stack = new Stack(newApp(t), 'Orders');
  const fn = new Function(stack, 'Go', { runtime: Runtime.PROVIDED_AL2023, handler: 'x', code: TracedBootstrap.fromDirectory(source) });
  const staged = stagedCode(fn);
  assert.deepEqual(readdirSync(staged).sort(), ['bootstrap', UNTRACED_BOOTSTRAP]);
  assert.ok(readFileSync(path.join(staged, UNTRACED_BOOTSTRAP)).equals(original));
  assert.equal(statSync(path.join(staged, UNTRACED_BOOTSTRAP)).mode & 0o777, 0o755);
  assert.equal(readFileSync(path.join(staged, 'bootstrap'), 'utf8'), TRACED_BOOTSTRAP);
  assert.equal(statSync(path.join(staged, 'bootstrap')).mode & 0o111, 0o111);
  assert.deepEqual(readdirSync(source), ['bootstrap'], 'the source directory is left as it was');
});

test('the built bootstrap starts the real one behind the proxy with its arguments unchanged', (t) => {
  const stack = new Stack(newApp(t), 'Orders');
  const fn = new Function(stack, 'Echo', { runtime: Runtime.PROVIDED_AL2023, handler: 'x', code: TracedBootstrap.fromDirectory(echoingBootstrapDirectory(t)) });
  const staged = stagedCode(fn);
  assert.equal(readFileSync(path.join(staged, 'data.json'), 'utf8'), '{"kept":true}');
  assert.equal(runBootstrap(t, staged, ['a b', '', '*']), '127.0.0.1:9009\n[a b]\n[]\n[*]\n');
});

test('the command hooks for GoFunction and RustFunction build the same bootstrap, run by a shell as a bundler does', (t) => {
  const out = echoingBootstrapDirectory(t);
  const hooks = TracedBootstrap.commandHooks();
  assert.deepEqual(hooks.beforeBundling('/in', out), []);
  const run = spawnSync('bash', ['-c', hooks.afterBundling('/in', out).join(' && ')], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(readFileSync(path.join(out, 'bootstrap'), 'utf8'), TRACED_BOOTSTRAP);
  assert.ok(runsWrapper(readFileSync(path.join(out, 'bootstrap'))));
  assert.equal(runBootstrap(t, out, ['x']), '127.0.0.1:9009\n[x]\n');
});

test('the command hooks fail the build, saying so, when there is no bootstrap to wrap', (t) => {
  const empty = tempDir(t, 'empty');
  const run = spawnSync('bash', ['-c', TracedBootstrap.commandHooks().afterBundling('/in', empty).join(' && ')], { encoding: 'utf8' });
  assert.notEqual(run.status, 0);
  assert.match(run.stderr, /lambda-trace-proxy: no bootstrap in .* to wrap/);
});

test('fromDirectory refuses a directory without a bootstrap, naming it', (t) => {
  const empty = tempDir(t, 'empty');
  assert.throws(() => TracedBootstrap.fromDirectory(empty), new RegExp(`${empty} has no bootstrap: give the directory your build writes the bootstrap executable to`));
});

test('a bootstrap runs the wrapper only if it is a script that names it', () => {
  assert.ok(runsWrapper(Buffer.from(TRACED_BOOTSTRAP)));
  assert.ok(!runsWrapper(Buffer.from('#!/bin/sh\nexec ./app\n')));
  assert.ok(!runsWrapper(Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46]), Buffer.from('/opt/wrapper-script.sh')])));
});
