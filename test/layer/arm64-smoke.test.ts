// The arm64 layer, run for real: its Go launcher and its Node are aarch64
// executables, so the kernel hands them to qemu-aarch64 (binfmt_misc), inside
// the local Lambda sandbox: the launcher listens and registers, then execs
// launcher.sh and Node, which take over both. One invocation goes through the
// proxy and its span is exported. Timings under emulation mean nothing here.
//
// Needs qemu-user-static and the aarch64 C/C++ runtime libraries (Debian's
// *-arm64-cross packages); as root it installs them with apt-get and
// registers the binfmt handler. Skipped, with the reason, only outside CI.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { next, raw, respond, startWithProxy } from '../integration/harness.ts';
import { OtlpReceiver } from '../support/otlp-receiver.ts';
import { STANDALONE_NODE_VERSION, unpackLayer, type UnpackedLayer } from './layer-fixture.ts';

const QEMU = '/usr/bin/qemu-aarch64-static';
const SYSROOT = '/usr/aarch64-linux-gnu';
const PACKAGES = ['qemu-user-static', 'libc6-arm64-cross', 'libstdc++6-arm64-cross', 'libgcc-s1-arm64-cross'];
const BINFMT = '/proc/sys/fs/binfmt_misc';
// ELF64, little-endian, executable or shared object, machine 183 (AArch64): Debian's qemu-aarch64.conf.
const AARCH64_MAGIC = '\\x7f\\x45\\x4c\\x46\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\xb7\\x00';
const AARCH64_MASK = '\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff';

/** Undefined when aarch64 executables run here; else why they cannot. */
function prepareEmulation(): string | undefined {
  const isRoot = process.getuid?.() === 0;
  if (!existsSync(QEMU) || !existsSync(`${SYSROOT}/lib/ld-linux-aarch64.so.1`) || !existsSync(`${SYSROOT}/lib/libstdc++.so.6`)) {
    if (!isRoot) return `${QEMU} or the aarch64 libraries are missing, and installing them (${PACKAGES.join(' ')}) needs root`;
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const install = () => spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...PACKAGES], { env, encoding: 'utf8' });
    let r = install();
    if (r.status !== 0) {
      spawnSync('apt-get', ['update', '-qq'], { env });
      r = install();
    }
    if (r.status !== 0) return `apt-get install ${PACKAGES.join(' ')} failed: ${r.stderr.trim().split('\n').pop()}`;
  }
  if (!existsSync(`${BINFMT}/register`)) {
    if (!isRoot) return `binfmt_misc is not mounted at ${BINFMT} and mounting it needs root`;
    const r = spawnSync('mount', ['-t', 'binfmt_misc', 'binfmt_misc', BINFMT], { encoding: 'utf8' });
    if (r.status !== 0) return `cannot mount binfmt_misc: ${r.stderr.trim()}`;
  }
  if (!existsSync(`${BINFMT}/qemu-aarch64`)) {
    if (!isRoot) return 'no binfmt_misc handler for aarch64, and registering one needs root';
    try {
      // F: the kernel opens qemu now, so the handler works from any mount namespace.
      writeFileSync(`${BINFMT}/register`, `:qemu-aarch64:M::${AARCH64_MAGIC}:${AARCH64_MASK}:${QEMU}:F`);
    } catch (err) {
      return `cannot register qemu-aarch64 with binfmt_misc: ${(err as Error).message}`;
    }
  }
  if (!readFileSync(`${BINFMT}/qemu-aarch64`, 'utf8').startsWith('enabled')) return 'the binfmt_misc handler for aarch64 is disabled';
  return undefined;
}

const unavailable = prepareEmulation();
if (unavailable !== undefined && process.env.CI === 'true') {
  throw new Error(`arm64 smoke test cannot run in CI: ${unavailable}`);
}
const skip = unavailable === undefined ? false : `no aarch64 emulation: ${unavailable}`;

let layer: UnpackedLayer;
before(() => { if (!skip) layer = unpackLayer('arm64'); });
after(() => layer?.remove());

// qemu-user finds the aarch64 loader and libraries here; Lambda's arm64 hosts have them in /lib.
const EMULATION_ENV = { QEMU_LD_PREFIX: SYSROOT };

test('the arm64 layer\'s Node is an aarch64 executable that runs (under emulation)', { skip }, () => {
  const node = `${layer.dir}/lambda-trace-proxy/bin/node`;
  const out = execFileSync(node, ['-p', 'process.arch + " " + process.version'], { env: { ...EMULATION_ENV, PATH: '/usr/bin:/bin' }, encoding: 'utf8' });
  assert.equal(out.trim(), `arm64 v${STANDALONE_NODE_VERSION}`);
  const version = execFileSync(layer.launcher, ['--version'], { env: { ...EMULATION_ENV, PATH: '/nonexistent' }, encoding: 'utf8' });
  assert.match(version, new RegExp(`^lambda-trace-proxy \\d+\\.\\d+\\.\\d+\\S* \\(node ${STANDALONE_NODE_VERSION.replaceAll('.', '\\.')}\\)\n$`));
});

test('the arm64 layer registers in the sandbox, proxies one invocation byte for byte and exports its span', { skip, timeout: 120_000 }, async () => {
  const receiver = await OtlpReceiver.start();
  const env = await startWithProxy({
    layerDir: layer.dir,
    wrapper: layer.wrapper,
    // Emulated start-up takes seconds, not the 10 s Init budget's fraction it takes on arm64 hardware.
    initTimeoutMs: 60_000,
    timeoutMs: 30_000,
    env: { ...EMULATION_ENV, PATH: '/usr/bin:/bin', OTEL_SDK_DISABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint },
  });
  try {
    const event = '{"arch":"arm64","n":12345678901234567890}';
    const invoked = env.sandbox.invoke(event);
    const got = await next(env.proxy);
    assert.equal(got.body.toString(), event);
    const id = raw(got.rawHeaders, 'lambda-runtime-aws-request-id')!;
    const posted = await respond(env.proxy, id, Buffer.from('{"ok":true}'));
    assert.equal(posted.status, 202);
    assert.equal((await invoked).body.toString(), '{"ok":true}');
    const span = await receiver.waitForSpan((s) => s.attributes['faas.invocation.id'] === id, { timeoutMs: 60_000 });
    assert.equal(span.kind, 'SERVER');
    const report = await env.sandbox.shutdown();
    assert.equal(report.extensions[0]?.exitCode, 0);
  } finally {
    await env.sandbox.shutdown().catch(() => undefined);
    await receiver.close();
  }
});
