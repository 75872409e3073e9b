// The standalone layers' Go launcher (src/stub), alone: in front of a probe that
// stands for launcher.sh and reports what it was handed, against a scripted
// Extensions API. What it must do: listen and register exactly as the Node part
// would, hand both over, and whenever it is not sure, hand over nothing and
// leave it all to the Node part (which then behaves as without the launcher).
// The whole chain, with the real Node part: the last test here, and every
// integration test (dist/layer has the launcher in front).

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../support/free-port.ts';
import { extensionPid, listeningSockets } from '../support/extension-process.ts';
import { LAYER, WRAPPER, next, raw, respond, shutDownAtEnd } from '../integration/harness.ts';
import { LambdaSandbox } from '../sandbox/sandbox.ts';
import { OtlpReceiver } from '../support/otlp-receiver.ts';
import { PINNED_NODE, ROOT } from './layer-fixture.ts';

/** This machine's build of the launcher (`make build`). */
const LAUNCHER = path.join(ROOT, 'dist/layer/extensions/lambda-trace-proxy');

/** What the probe reports: its arguments, the hand-over variables, and what it could do with the sockets. */
interface Probe {
  readonly args: readonly string[];
  readonly handed: Readonly<Record<string, string>>;
  /** The port of the handed-over socket, once Node listens on it, and what a connection to it got. */
  readonly port?: number;
  readonly served?: string;
  /** Each Telemetry API socket handed over, once Node serves on it: where it listens, and what a connection there got. */
  readonly telemetry?: readonly { address: string; port: number; served: string }[];
}

const PROBE = `
const net = require('node:net');
const handed = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('_LRAP_')));
const out = { args: process.argv.slice(2), handed };
const done = () => { process.stdout.write(JSON.stringify(out)); process.exit(0); };
/** Serves on fd, connects to where it listens, and gives where that was and what the connection got. */
const serve = (fd, answer) => new Promise((resolve) => {
  const server = net.createServer((socket) => socket.end(answer));
  server.listen({ fd }, () => {
    const { address, port } = server.address();
    let got = '';
    net.connect(port, address).on('data', (d) => { got += d; }).on('end', () => resolve({ address, port, served: got }));
  });
});
(async () => {
  if (handed._LRAP_LISTEN_FD !== undefined) {
    const proxy = await serve(Number(handed._LRAP_LISTEN_FD), 'served');
    out.port = proxy.port;
    out.served = proxy.served;
  }
  const telemetry = /^(?:resolved|loopback):([\\d,]+)$/.exec(handed._LRAP_TELEMETRY_FDS ?? '');
  if (telemetry) {
    out.telemetry = [];
    for (const fd of telemetry[1].split(',')) out.telemetry.push(await serve(Number(fd), 'telemetry'));
  }
  done();
})();
`;

/** A layer whose extension is the launcher under the name `name`, and whose launcher.sh is the probe. */
function probeLayer(dir: string, name: string): string {
  mkdirSync(path.join(dir, 'extensions'), { recursive: true });
  mkdirSync(path.join(dir, 'lambda-trace-proxy'), { recursive: true });
  // A symlink, as the integration tests' layers use: the name is the link's, not the target's.
  symlinkSync(LAUNCHER, path.join(dir, 'extensions', name));
  writeFileSync(path.join(dir, 'lambda-trace-proxy/probe.cjs'), PROBE);
  const sh = path.join(dir, 'lambda-trace-proxy/launcher.sh');
  writeFileSync(sh, `#!/bin/sh\nexec '${PINNED_NODE}' '${path.join(dir, 'lambda-trace-proxy/probe.cjs')}' "$@"\n`);
  chmodSync(sh, 0o755);
  return path.join(dir, 'extensions', name);
}

type Answer = string | 'reset';

/** A scripted Extensions API: records each request whole, then answers with raw bytes or resets. */
class ScriptedApi {
  readonly requests: string[] = [];
  readonly #server = net.createServer((socket) => this.#serve(socket));
  #answer: Answer = '';
  #lateMs = 0;

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return `127.0.0.1:${(this.#server.address() as net.AddressInfo).port}`;
  }

  /** What the next requests get, `lateMs` after they arrived (a Lambda slow to answer). */
  answer(answer: Answer, lateMs = 0): void {
    this.#answer = answer;
    this.#lateMs = lateMs;
    this.requests.length = 0;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #serve(socket: net.Socket): void {
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(text)?.[1] ?? 0);
      if (text.length < end + 4 + length) return;
      this.requests.push(text);
      const answer = this.#answer;
      const reply = () => (answer === 'reset' ? socket.resetAndDestroy() : socket.end(answer));
      if (this.#lateMs > 0) setTimeout(reply, this.#lateMs);
      else reply();
    });
    socket.on('error', () => undefined);
  }
}

function ok(id: string, body: string): string {
  return `HTTP/1.1 200 OK\r\nLambda-Extension-Identifier: ${id}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

/**
 * What the launcher's resolver reads, in place of this machine's files: the
 * launcher runs in a mount namespace of its own where they are bound over
 * /etc/hosts, /etc/nsswitch.conf and /etc/resolv.conf (unshare and mount need
 * root, as make e2e does); `network: false` gives it a network namespace with
 * no interface up, where no DNS server can be reached.
 */
interface ResolverFiles {
  readonly hosts: string;
  readonly nsswitch: string;
  readonly resolv?: string;
  /** A network namespace of its own, loopback only: the Extensions API is out of reach too, so nothing is registered. */
  readonly network?: false;
  /** A DNS server on 127.0.0.1:53 that never answers (its socket, held open by the launcher itself, is never read). */
  readonly silentDns?: true;
}

/** In `dir`, the command that runs `launcher` with `files` as its resolver's view of the machine. */
function withResolverFiles(dir: string, files: ResolverFiles, launcher: string): { command: string; args: string[] } {
  const at = (name: string, text: string) => { writeFileSync(path.join(dir, name), text); return path.join(dir, name); };
  const mounts = [
    [at('hosts', files.hosts), '/etc/hosts'], [at('nsswitch.conf', files.nsswitch), '/etc/nsswitch.conf'],
    [at('resolv.conf', files.resolv ?? 'nameserver 127.0.0.1\n'), '/etc/resolv.conf'],
  ].map(([from, to]) => `mount --bind '${from}' ${to}`).join(' && ');
  const loopbackUp = files.network === false ? ' && PATH="$PATH:/usr/sbin:/sbin" ip link set lo up' : '';
  const silentDns = files.silentDns ? [
    'python3', '-c', 'import os, socket, sys; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 53)); os.dup2(s.fileno(), 9); os.execv(sys.argv[1], sys.argv[1:])',
  ] : [];
  return {
    command: 'unshare',
    args: ['--mount', '--propagation', 'private', ...(files.network === false ? ['--net'] : []), 'sh', '-c', `${mounts}${loopbackUp} && exec "$@"`, 'sh', ...silentDns, launcher],
  };
}

/** Runs the launcher in a clean environment (as Lambda starts extensions) and parses the probe's report. */
function run(launcher: string, env: Record<string, string>, args: readonly string[] = [], resolver?: { dir: string; files: ResolverFiles }): Promise<Probe> {
  return new Promise((resolve, reject) => {
    const wrapped = resolver ? withResolverFiles(resolver.dir, resolver.files, launcher) : { command: launcher, args: [] };
    const child = spawn(wrapped.command, [...wrapped.args, ...args], { env: { PATH: '/usr/bin:/bin', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        assert.equal(code, 0, stderr);
        resolve(JSON.parse(stdout) as Probe);
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  });
}

describe('the Go launcher in front of a probe', () => {
  const api = new ScriptedApi();
  let address: string;
  let dir: string;
  let launcher: string;
  const REGISTERED = JSON.stringify({ functionName: 'fn', functionVersion: '$LATEST', handler: 'index.handler', accountId: '123456789012' });

  before(async () => {
    address = await api.start();
    dir = mkdtempSync(path.join(os.tmpdir(), 'ltp-go-launcher-'));
    launcher = probeLayer(dir, 'my-extension');
  });
  after(async () => {
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const envWith = async (more: Record<string, string> = {}) => ({ AWS_LAMBDA_RUNTIME_API: address, LRAP_LISTENER_PORT: String(await freePort()), ...more });

  test('listens on the listener port, registers as the Node part does, and hands both over', async () => {
    api.answer(ok('id-1', REGISTERED));
    const env = await envWith();
    const probe = await run(launcher, env);
    assert.equal(api.requests.length, 1);
    const [head, body] = api.requests[0]!.split('\r\n\r\n') as [string, string];
    const lines = head.split('\r\n');
    assert.equal(lines[0], 'POST /2020-01-01/extension/register HTTP/1.1');
    const headers = new Map(lines.slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
    // Its own file name, as Lambda requires (src/lifecycle/extensions-api.ts sends the same headers).
    assert.equal(headers.get('lambda-extension-name'), 'my-extension');
    assert.equal(headers.get('lambda-extension-accept-feature'), 'accountId');
    assert.equal(headers.get('content-type'), 'application/json');
    assert.deepEqual(JSON.parse(body), { events: ['INVOKE', 'SHUTDOWN'] });
    // launcher.sh gets the name first (its $0 is its own path), then the launcher's arguments.
    assert.deepEqual(probe.args, ['my-extension']);
    assert.equal(probe.handed._LRAP_REGISTER_STATUS, '200');
    assert.equal(probe.handed._LRAP_REGISTER_ID, 'id-1');
    assert.equal(probe.handed._LRAP_REGISTER_BODY, REGISTERED);
    assert.equal(probe.handed._LRAP_REGISTER_BROKEN, undefined);
    assert.equal(probe.port, Number(env.LRAP_LISTENER_PORT));
    assert.equal(probe.served, 'served');
  });

  test('on Lambda Managed Instances it registers for SHUTDOWN only (INVOKE is refused there)', async () => {
    api.answer(ok('id-2', '{}'));
    await run(launcher, await envWith({ AWS_LAMBDA_INITIALIZATION_TYPE: 'lambda-managed-instances' }));
    assert.deepEqual(JSON.parse(api.requests[0]!.split('\r\n\r\n')[1]!), { events: ['SHUTDOWN'] });
  });

  test('a refusal is handed over as Lambda gave it, for the Node part to report', async () => {
    const refusal = '{"errorMessage":"wrong name","errorType":"Extension.InvalidExtensionName"}';
    api.answer(`HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: ${refusal.length}\r\n\r\n${refusal}`);
    const probe = await run(launcher, await envWith());
    assert.equal(probe.handed._LRAP_REGISTER_STATUS, '403');
    assert.equal(probe.handed._LRAP_REGISTER_ID, '');
    assert.equal(probe.handed._LRAP_REGISTER_BODY, refusal);
    assert.equal(probe.served, 'served');
  });

  test('an interim 100 Continue is skipped, as Node\'s client does', async () => {
    api.answer(`HTTP/1.1 100 Continue\r\n\r\n${ok('id-3', REGISTERED)}`);
    const probe = await run(launcher, await envWith());
    assert.equal(probe.handed._LRAP_REGISTER_STATUS, '200');
    assert.equal(probe.handed._LRAP_REGISTER_ID, 'id-3');
  });

  test('a connection broken after the request left is handed over as such: the Node part registers again and learns from the answer', async () => {
    api.answer('reset');
    const probe = await run(launcher, await envWith());
    assert.equal(api.requests.length, 1);
    assert.match(probe.handed._LRAP_REGISTER_BROKEN ?? '', /reset|EOF|closed/i);
    assert.equal(probe.handed._LRAP_REGISTER_STATUS, undefined);
    assert.equal(probe.served, 'served');
  });

  test('an Extensions API it cannot connect to: the socket is handed over, the registration left to the Node part', async () => {
    const probe = await run(launcher, await envWith({ AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${await freePort()}` }));
    // (The Telemetry API listener's sockets, below, do not depend on the registration.)
    assert.deepEqual(Object.keys(probe.handed).filter((name) => name !== '_LRAP_TELEMETRY_FDS'), ['_LRAP_LISTEN_FD']);
    assert.equal(probe.served, 'served');
  });

  describe('whatever it is not sure of: nothing handed over, no request sent', () => {
    const cases: readonly [string, () => Promise<{ env: Record<string, string>; args?: string[] }>][] = [
      ['arguments (--version, --help): the Node part answers them', async () => ({ env: await envWith(), args: ['--version'] })],
      ['a listener port that is not a port', async () => ({ env: await envWith({ LRAP_LISTENER_PORT: 'not-a-port' }) })],
      ['a listener port out of range', async () => ({ env: await envWith({ LRAP_LISTENER_PORT: '70000' }) })],
      ['a listener port with a space Node trims and Go might not', async () => ({ env: await envWith({ LRAP_LISTENER_PORT: '\u00a09009' }) })],
      ['no AWS_LAMBDA_RUNTIME_API', async () => ({ env: { LRAP_LISTENER_PORT: String(await freePort()) } })],
      ['an AWS_LAMBDA_RUNTIME_API that is not host:port', async () => ({ env: await envWith({ AWS_LAMBDA_RUNTIME_API: `http://${address}/` }) })],
      ['an LRAP_RUNTIME_API_ENDPOINT that is not host:port', async () => ({ env: await envWith({ LRAP_RUNTIME_API_ENDPOINT: 'nowhere' }) })],
      ['an LRAP_RUNTIME_API_ENDPOINT that is the listener itself', async () => {
        const port = await freePort();
        return { env: await envWith({ LRAP_LISTENER_PORT: String(port), LRAP_RUNTIME_API_ENDPOINT: `localhost:${port}` }) };
      }],
      ['an initialization type that only looks like Managed Instances', async () => ({ env: await envWith({ AWS_LAMBDA_INITIALIZATION_TYPE: 'lambda-managed-instances\u00a0' }) })],
    ];
    for (const [what, setUp] of cases) {
      test(what, async () => {
        api.answer(ok('never', '{}'));
        const { env, args } = await setUp();
        const probe = await run(launcher, env, args);
        assert.deepEqual(probe.handed, {});
        assert.deepEqual(api.requests, []);
        assert.deepEqual(probe.args, ['my-extension', ...(args ?? [])]);
      });
    }

    test('a listener port taken by another process: the Node part reports it (LRAP_LISTEN_FAILED)', async () => {
      api.answer(ok('never', '{}'));
      const taken = net.createServer();
      await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
      try {
        const probe = await run(launcher, await envWith({ LRAP_LISTENER_PORT: String((taken.address() as net.AddressInfo).port) }));
        assert.deepEqual(probe.handed, {});
        assert.deepEqual(api.requests, []);
      } finally {
        taken.close();
      }
    });
  });

  describe('the Telemetry API listener\'s sockets, bound while it registers', () => {
    let files: string;
    before(() => { files = mkdtempSync(path.join(os.tmpdir(), 'ltp-go-resolver-')); });
    after(() => rmSync(files, { recursive: true, force: true }));
    const LAMBDA_LIKE_HOSTS = '127.0.0.1 localhost\n127.0.0.2 sandbox.localdomain sandbox\n::1 sandbox.localdomain sandbox\n127.0.0.2 sandbox.localdomain\n';
    const NO_SANDBOX_HOSTS = '127.0.0.1 localhost\n';

    test('where sandbox.localdomain resolves (the hosts file, as in Lambda): one socket on each of its addresses, all on one port, besides the rest', async () => {
      api.answer(ok('id-5', REGISTERED));
      const env = await envWith();
      const probe = await run(launcher, env, [], { dir: files, files: { hosts: LAMBDA_LIKE_HOSTS, nsswitch: 'hosts: files dns\n' } });
      assert.match(probe.handed._LRAP_TELEMETRY_FDS ?? '', /^resolved:\d+,\d+$/);
      const telemetry = probe.telemetry ?? [];
      assert.deepEqual(telemetry.map((t) => t.address).sort(), ['127.0.0.2', '::1'], 'each address once');
      assert.ok(telemetry[0]!.port > 0);
      assert.deepEqual(telemetry.map((t) => [t.port, t.served]), telemetry.map(() => [telemetry[0]!.port, 'telemetry']));
      assert.notEqual(telemetry[0]!.port, probe.port);
      // The proxy's socket and the registration, as always.
      assert.equal(probe.port, Number(env.LRAP_LISTENER_PORT));
      assert.equal(probe.served, 'served');
      assert.equal(probe.handed._LRAP_REGISTER_ID, 'id-5');
    });

    test('a register slower than the lookup\'s budget: the answer already in is handed over all the same', async () => {
      // Both the answer and the spent budget are ready when the register returns: the answer must win every time.
      for (let i = 0; i < 4; i++) {
        api.answer(ok(`id-slow-${i}`, REGISTERED), 60);
        const probe = await run(launcher, await envWith(), [], { dir: files, files: { hosts: LAMBDA_LIKE_HOSTS, nsswitch: 'hosts: files dns\n' } });
        assert.equal(probe.handed._LRAP_REGISTER_ID, `id-slow-${i}`);
        assert.match(probe.handed._LRAP_TELEMETRY_FDS ?? '', /^resolved:\d+,\d+$/, `run ${i}`);
      }
    });

    test('where it does not resolve: one socket on 127.0.0.1, where the Node part would listen', async () => {
      api.answer(ok('id-6', REGISTERED));
      const probe = await run(launcher, await envWith(), [], { dir: files, files: { hosts: NO_SANDBOX_HOSTS, nsswitch: 'hosts: files\n' } });
      assert.match(probe.handed._LRAP_TELEMETRY_FDS ?? '', /^loopback:\d+$/);
      assert.equal(probe.telemetry?.length, 1);
      assert.equal(probe.telemetry[0]!.address, '127.0.0.1');
      assert.equal(probe.telemetry[0]!.served, 'telemetry');
      assert.equal(probe.handed._LRAP_REGISTER_ID, 'id-6');
    });

    test('where the resolver cannot tell (its DNS server refuses): nothing for them, the Node part looks the name up itself', async () => {
      const probe = await run(launcher, await envWith(), [], {
        dir: files, files: { hosts: NO_SANDBOX_HOSTS, nsswitch: 'hosts: files dns\n', resolv: 'nameserver 127.0.0.1\n', network: false },
      });
      assert.equal(probe.handed._LRAP_TELEMETRY_FDS, undefined);
      assert.equal(probe.telemetry, undefined);
      assert.equal(probe.served, 'served', 'the proxy\'s socket is handed over all the same');
    });

    test('where the answer would be late (a DNS server that never answers): nothing for them, and no wait for its timeout', { timeout: 20_000 }, async () => {
      // The server's socket is bound before the launcher starts, and never read: queries go unanswered.
      // The resolver would wait 30 s for it: the safety net's timeout fails the test if the launcher did.
      const probe = await run(launcher, await envWith(), [], {
        dir: files,
        files: { hosts: NO_SANDBOX_HOSTS, nsswitch: 'hosts: files dns\n', resolv: 'nameserver 127.0.0.1\noptions timeout:30 attempts:1\n', network: false, silentDns: true },
      });
      assert.equal(probe.handed._LRAP_TELEMETRY_FDS, undefined);
      assert.equal(probe.served, 'served');
    });
  });

  test('hand-over variables from the function\'s environment never reach the Node part', async () => {
    const forged = { _LRAP_REGISTER_STATUS: '200', _LRAP_REGISTER_ID: 'forged', _LRAP_LISTEN_FD: '999', _LRAP_TELEMETRY_FDS: 'resolved:998,999' };
    api.answer(ok('id-4', '{}'));
    const handing = await run(launcher, await envWith(forged));
    assert.equal(handing.handed._LRAP_REGISTER_ID, 'id-4');
    assert.notEqual(handing.handed._LRAP_LISTEN_FD, '999');
    assert.notEqual(handing.handed._LRAP_TELEMETRY_FDS, 'resolved:998,999');
    assert.equal(handing.served, 'served');
    const skipping = await run(launcher, await envWith({ ...forged, LRAP_LISTENER_PORT: 'not-a-port' }));
    assert.deepEqual(skipping.handed, {});
  });
});

describe('the Go launcher in front of the Node part', () => {
  let dir: string;
  before(() => { dir = mkdtempSync(path.join(os.tmpdir(), 'ltp-early-runtime-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a runtime that connects before Node has started is served, not refused, and its first invocation is traced', async () => {
    // The built layer, with a gate between the launcher and launcher.sh: Node
    // cannot start until the test opens it, so the runtime's connection is
    // made while only the launcher's socket exists.
    mkdirSync(path.join(dir, 'extensions'));
    mkdirSync(path.join(dir, 'lambda-trace-proxy'));
    symlinkSync(path.join(LAYER, 'extensions/lambda-trace-proxy'), path.join(dir, 'extensions/lambda-trace-proxy'));
    const gate = path.join(dir, 'gate');
    execFileSync('mkfifo', [gate]);
    const sh = path.join(dir, 'lambda-trace-proxy/launcher.sh');
    writeFileSync(sh, `#!/bin/sh\nread _ < '${gate}'\nexec '${path.join(LAYER, 'lambda-trace-proxy/launcher.sh')}' "$@"\n`);
    chmodSync(sh, 0o755);

    const receiver = await OtlpReceiver.start();
    const port = await freePort();
    const sandbox = shutDownAtEnd(new LambdaSandbox({
      layerDir: dir, runtime: 'external', wrapper: WRAPPER,
      env: { LRAP_LISTENER_PORT: String(port), OTEL_SDK_DISABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint },
    }));
    try {
      const started = sandbox.start();
      await sandbox.waitForRequest((r) => r.url.endsWith('/extension/register'));
      // Lambda would start the runtime now. Its first call, on a raw socket:
      const socket = net.connect(port, '127.0.0.1');
      await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
      socket.write(`GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
      let answer = '';
      socket.on('data', (d: Buffer) => { answer += d.toString('latin1'); });
      writeFileSync(gate, 'open\n');
      await started;
      const invoked = sandbox.invoke('{"early":true}');
      const head = await new Promise<string>((resolve) => {
        const check = () => { if (answer.includes('{"early":true}')) { socket.off('data', check); resolve(answer); } };
        socket.on('data', check);
        check();
      });
      assert.match(head, /^HTTP\/1\.1 200 /);
      const id = /lambda-runtime-aws-request-id: *([^\r]+)/i.exec(head)?.[1];
      assert.ok(id, head);
      // On another connection, the early one kept open: a runtime whose connection closes mid-invocation is gone.
      assert.equal((await respond(`127.0.0.1:${port}`, id, Buffer.from('{"ok":1}'))).status, 202);
      assert.equal((await invoked).body.toString(), '{"ok":1}');
      socket.destroy();
      await receiver.waitForSpan((span) => span.attributes['faas.invocation.id'] === id, { timeoutMs: 10_000 });
      // The Node part took the launcher's registration instead of sending its own.
      assert.equal(sandbox.requests.filter((r) => r.url.endsWith('/extension/register')).length, 1);
    } finally {
      await sandbox.shutdown().catch(() => undefined);
      await receiver.close();
    }
  });
});

describe('the Go launcher in front of the Node part, where sandbox.localdomain is in the hosts file', () => {
  let dir: string;
  let receiver: OtlpReceiver;
  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ltp-resolving-'));
    receiver = await OtlpReceiver.start();
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await receiver.close();
  });

  /** Lambda's view of the name as this machine can give it (loopback only): both address families. */
  const HOSTS = '127.0.0.1 localhost\n127.0.0.1 sandbox.localdomain sandbox\n::1 sandbox.localdomain sandbox\n';

  /** The built layer, its launcher run with HOSTS as /etc/hosts; started in the sandbox with tracing on. */
  async function startResolving(name: string, env: Record<string, string> = {}): Promise<{ sandbox: LambdaSandbox; pid: number }> {
    const layer = path.join(dir, name);
    mkdirSync(path.join(layer, 'extensions'), { recursive: true });
    const { command, args } = withResolverFiles(layer, { hosts: HOSTS, nsswitch: 'hosts: files dns\n' }, path.join(LAYER, 'extensions/lambda-trace-proxy'));
    const extension = path.join(layer, 'extensions/lambda-trace-proxy');
    writeFileSync(extension, `#!/bin/sh\nexec ${[command, ...args].map((arg) => `'${arg.replaceAll("'", `'\\''`)}'`).join(' ')}\n`);
    chmodSync(extension, 0o755);
    const port = await freePort();
    const sandbox = shutDownAtEnd(new LambdaSandbox({
      layerDir: layer, runtime: 'external', wrapper: WRAPPER,
      env: { LRAP_LISTENER_PORT: String(port), OTEL_SDK_DISABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, LRAP_LOG_LEVEL: 'debug', ...env },
    }));
    await sandbox.start();
    return { sandbox, pid: extensionPid(port) };
  }

  /** The descriptors the launcher handed over for the Telemetry API listener, from the environment Node was started with. */
  function handedTelemetryFds(pid: number): number[] {
    const handed = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').find((kv) => kv.startsWith('_LRAP_TELEMETRY_FDS='));
    const m = /^_LRAP_TELEMETRY_FDS=resolved:([\d,]+)$/.exec(handed ?? '');
    assert.ok(m, `the launcher handed the listener's sockets over as resolved: ${handed}`);
    return m[1]!.split(',').map(Number);
  }

  test('the Telemetry API listener serves on the launcher\'s sockets, one on each address, and Lambda\'s deliveries arrive', async () => {
    const { sandbox, pid } = await startResolving('resolved');
    try {
      const subscription = sandbox.requests.find((r) => r.method === 'PUT' && r.url.endsWith('/telemetry'));
      assert.ok(subscription, 'subscribed');
      const port = Number(new URL((JSON.parse(subscription.body.toString()) as { destination: { URI: string } }).destination.URI).port);
      const sockets = listeningSockets(pid).filter((s) => s.port === port);
      // 127.0.0.1 and ::1 as the kernel writes them, on the descriptors the launcher handed over.
      assert.deepEqual(sockets.map((s) => `${s.table} ${s.address}`).sort(), ['tcp 0100007F', `tcp6 ${'0'.repeat(24)}01000000`]);
      assert.deepEqual(sockets.map((s) => s.fd).sort(), handedTelemetryFds(pid).sort());
      await sandbox.waitForEvent('telemetry-delivered', { match: (e) => e.detail['ok'] === true, timeoutMs: 10_000 });
      const stderr = sandbox.output('lambda-trace-proxy').stderr;
      assert.doesNotMatch(stderr, /LRAP_HANDOVER_FAILED|LRAP_TELEMETRY_LOOPBACK|LRAP_TELEMETRY_LISTEN_PARTIAL/);
      assert.match(stderr, /"code":"LRAP_TELEMETRY_SUBSCRIBED"/);
    } finally {
      await sandbox.shutdown().catch(() => undefined);
    }
  });

  test('with platform telemetry off, the launcher\'s sockets are closed: only the proxy listens', async () => {
    const { sandbox, pid } = await startResolving('telemetry-off', { LRAP_TELEMETRY_API: 'false' });
    try {
      const handed = handedTelemetryFds(pid);
      const sockets = listeningSockets(pid);
      assert.deepEqual(sockets.map((s) => `${s.table} ${s.address}`), ['tcp 0100007F'], `only the proxy's socket among ${JSON.stringify(sockets)}`);
      assert.ok(!sockets.some((s) => handed.includes(s.fd)));
      assert.equal(sandbox.requests.filter((r) => r.url.endsWith('/telemetry')).length, 0);
    } finally {
      await sandbox.shutdown().catch(() => undefined);
    }
  });
});

describe('the Node part, handed over what the launcher could not do right', () => {
  let dir: string;
  before(() => { dir = mkdtempSync(path.join(os.tmpdir(), 'ltp-handover-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A layer whose extension hands `variables` (and fd 5, open on /dev/null unless `fd5From` opens it) to the built launcher.sh, as the Go launcher would. */
  function handingLayer(name: string, variables: Record<string, string>, fd5From?: readonly string[]): string {
    const layer = path.join(dir, name);
    mkdirSync(path.join(layer, 'extensions'), { recursive: true });
    const extension = path.join(layer, 'extensions/lambda-trace-proxy');
    const exports = Object.entries(variables).map(([k, v]) => `export ${k}='${v}'`).join('\n');
    // fd 5 comes from /dev/null, or from a command that opens it and then execs the rest of argv.
    const launch = `'${path.join(LAYER, 'lambda-trace-proxy/launcher.sh')}' lambda-trace-proxy`;
    const exec = fd5From ? `exec ${fd5From.map((arg) => `'${arg.replaceAll("'", `'\\''`)}'`).join(' ')} ${launch}` : `exec 5</dev/null\nexec ${launch}`;
    writeFileSync(extension, `#!/bin/sh\n${exports}\n${exec}\n`);
    chmodSync(extension, 0o755);
    return layer;
  }

  async function sandboxWith(layer: string, env: Record<string, string> = { OTEL_SDK_DISABLED: 'true' }): Promise<{ sandbox: LambdaSandbox; port: number }> {
    const port = await freePort();
    const sandbox = shutDownAtEnd(new LambdaSandbox({
      layerDir: layer, runtime: 'external', wrapper: WRAPPER, env: { LRAP_LISTENER_PORT: String(port), ...env },
    }));
    return { sandbox, port };
  }

  /** The hand-over of `layer` is refused with a `LRAP_HANDOVER_FAILED` line matching `why`; the Node part then serves one invocation on its own port. */
  async function servesAfterRefusedHandover(layer: string, why: RegExp): Promise<void> {
    const { sandbox, port } = await sandboxWith(layer);
    try {
      await sandbox.start();
      assert.match(sandbox.output('lambda-trace-proxy').stderr, why);
      const invoked = sandbox.invoke('{"n":1}');
      const event = await next(`127.0.0.1:${port}`);
      assert.equal(event.body.toString(), '{"n":1}');
      assert.equal((await respond(`127.0.0.1:${port}`, raw(event.rawHeaders, 'lambda-runtime-aws-request-id')!, Buffer.from('{"ok":1}'))).status, 202);
      assert.equal((await invoked).body.toString(), '{"ok":1}');
    } finally {
      await sandbox.shutdown().catch(() => undefined);
    }
  }

  test('a socket it cannot serve on: closed, the port listened on again (LRAP_HANDOVER_FAILED), and it serves', async () => {
    await servesAfterRefusedHandover(handingLayer('not-a-socket', { _LRAP_LISTEN_FD: '5' }), /"code":"LRAP_HANDOVER_FAILED"/);
  });

  test('a socket listening on another port than ours: closed, our port listened on (LRAP_HANDOVER_FAILED), and it serves', async () => {
    // fd 5: a socket listening on a port of the kernel's choosing, as a launcher whose reading of
    // LRAP_LISTENER_PORT had parted from the Node part's would hand over.
    const layer = handingLayer('other-port', { _LRAP_LISTEN_FD: '5' }, [
      'python3', '-c', 'import os, socket, sys; s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(); os.dup2(s.fileno(), 5); os.execv(sys.argv[1], sys.argv[1:])',
    ]);
    await servesAfterRefusedHandover(layer, /"code":"LRAP_HANDOVER_FAILED".*listens on 127\.0\.0\.1:\d+, not on 127\.0\.0\.1:\d+/);
  });

  test('a refusal Lambda gave the launcher is reported as if it had refused the Node part: exit 1, LRAP_EXTENSIONS_API_FAILED, no second register', async () => {
    const { sandbox } = await sandboxWith(handingLayer('refused', {
      _LRAP_REGISTER_STATUS: '403', _LRAP_REGISTER_BODY: '{"errorType":"Extension.Forbidden","errorMessage":"no"}',
    }));
    try {
      await assert.rejects(sandbox.start());
      const stderr = sandbox.output('lambda-trace-proxy').stderr;
      assert.match(stderr, /"code":"LRAP_EXTENSIONS_API_FAILED"/);
      assert.match(stderr, /refused registration of \\"lambda-trace-proxy\\" \(HTTP 403: Extension\.Forbidden: no\)/);
      assert.equal(sandbox.requests.filter((r) => r.url.endsWith('/extension/register')).length, 0);
    } finally {
      await sandbox.shutdown().catch(() => undefined);
    }
  });

  describe('the Telemetry API listener\'s sockets', () => {
    let receiver: OtlpReceiver;
    before(async () => { receiver = await OtlpReceiver.start(); });
    after(() => receiver.close());

    /** What descriptor `fd` of process `pid` is open on, if it is. */
    const linkOf = (pid: number, fd: number): string | undefined => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        return undefined;
      }
    };

    /** Starts `layer` with tracing on; once Lambda has delivered to the listener, gives the extension's stderr to `check`, with its process. */
    async function subscribedAndDelivered(layer: string, check: (stderr: string, pid: number) => void): Promise<void> {
      const { sandbox, port } = await sandboxWith(layer, { OTEL_SDK_DISABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, LRAP_LOG_LEVEL: 'debug' });
      try {
        await sandbox.start();
        await sandbox.waitForEvent('telemetry-delivered', { match: (e) => e.detail['ok'] === true, timeoutMs: 10_000 });
        const stderr = sandbox.output('lambda-trace-proxy').stderr;
        assert.match(stderr, /"code":"LRAP_TELEMETRY_SUBSCRIBED"/);
        check(stderr, extensionPid(port));
      } finally {
        await sandbox.shutdown().catch(() => undefined);
      }
    }

    test('one it cannot serve on: closed, the listener listens itself (LRAP_HANDOVER_FAILED), and Lambda\'s deliveries arrive', async () => {
      await subscribedAndDelivered(handingLayer('telemetry-not-a-socket', { _LRAP_TELEMETRY_FDS: 'loopback:5' }), (stderr, pid) => {
        assert.match(stderr, /"msg":"cannot serve on the launcher's Telemetry API sockets; listening again".*"code":"LRAP_HANDOVER_FAILED"/);
        // Closed (the number may since have gone to another descriptor).
        assert.notEqual(linkOf(pid, 5), '/dev/null');
      });
    });

    test('sockets on two ports: both closed (their ports freed), the listener listens itself (LRAP_HANDOVER_FAILED), and deliveries arrive', async () => {
      // fds 5 and 6: listening, each on a port of the kernel's choosing, as a launcher that had bound them apart would hand over.
      const layer = handingLayer('telemetry-two-ports', { _LRAP_TELEMETRY_FDS: 'resolved:5,6' }, [
        'python3', '-c', [
          'import os, socket, sys',
          'for fd in (5, 6):\n  s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(); os.dup2(s.fileno(), fd)',
          'os.execv(sys.argv[1], sys.argv[1:])',
        ].join('\n'),
      ]);
      await subscribedAndDelivered(layer, (stderr, pid) => {
        const refused = /"code":"LRAP_HANDOVER_FAILED".*127\.0\.0\.1:(\d+), 127\.0\.0\.1:(\d+), not on one TCP port/.exec(stderr);
        assert.ok(refused, stderr);
        const ports = [Number(refused[1]), Number(refused[2])];
        assert.notEqual(ports[0], ports[1]);
        assert.deepEqual(listeningSockets(pid).filter((s) => ports.includes(s.port)), []);
      });
    });

    test('a value the launcher would not write: left alone, the listener resolves the name and listens itself', async () => {
      await subscribedAndDelivered(handingLayer('telemetry-malformed', { _LRAP_TELEMETRY_FDS: 'resolved:5,5' }), (stderr, pid) => {
        assert.doesNotMatch(stderr, /LRAP_HANDOVER_FAILED/);
        assert.equal(linkOf(pid, 5), '/dev/null', 'fd 5 untouched');
      });
    });
  });

  test('a register whose answer the launcher lost: the Node part registers again (LRAP_EXTENSIONS_API_RETRY) and serves', async () => {
    const { sandbox } = await sandboxWith(handingLayer('broken', { _LRAP_REGISTER_BROKEN: 'unexpected EOF' }));
    try {
      await sandbox.start();
      assert.match(sandbox.output('lambda-trace-proxy').stderr, /"code":"LRAP_EXTENSIONS_API_RETRY".*the launcher's registration broke before Lambda's answer: unexpected EOF/);
      assert.equal(sandbox.requests.filter((r) => r.url.endsWith('/extension/register')).length, 1);
    } finally {
      await sandbox.shutdown().catch(() => undefined);
    }
  });
});
