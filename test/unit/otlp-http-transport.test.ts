// The transport against a real HTTP(S) server on loopback: a `localhost` endpoint is reached at
// 127.0.0.1 without a name lookup (otlp-http-transport.ts LOOPBACK says why), and by name once
// that address refuses. Name lookups are counted through node:dns, which node:net calls for a name.
// Over TLS, the collector's certificate is checked against the name, and a client certificate is
// presented when configured (test/fixtures/tls: self-signed, for `localhost` only, made with openssl).

import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import type { ExportResponse } from '@opentelemetry/otlp-exporter-base';
import { otlpHttpConfiguration } from '../../src/export/span-export.ts';
import { OtlpHttpTransport } from '../../src/export/otlp-http-transport.ts';
import { parseTracingSettings } from '../../src/settings/tracing-settings.ts';

interface Received { readonly host: string | undefined; readonly remote: string | undefined; readonly bytes: number }

const realLookup = dns.lookup;
const lookedUp: string[] = [];
const servers: (http.Server | https.Server)[] = [];
const TLS = path.join(import.meta.dirname, '..', 'fixtures', 'tls');
const transports: OtlpHttpTransport[] = [];

/** Counts the names node:net looks up; `answer` stands in for the machine's resolver when given. */
function countLookups(answer?: (name: string) => { address: string; family: 4 | 6 }): void {
  const lookup = (name: string, options: unknown, callback: (...args: unknown[]) => void): void => {
    lookedUp.push(name);
    if (answer === undefined) {
      (realLookup as (n: string, o: unknown, c: unknown) => void)(name, options, callback);
      return;
    }
    const { address, family } = answer(name);
    const all = typeof options === 'object' && options !== null && (options as { all?: boolean }).all === true;
    if (all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  };
  (dns as { lookup: unknown }).lookup = lookup;
}

async function collector(address: string, port = 0): Promise<{ port: number; received: Received[] }> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    let bytes = 0;
    req.on('data', (chunk: Buffer) => { bytes += chunk.length; });
    req.on('end', () => {
      received.push({ host: req.headers.host, remote: req.socket.remoteAddress, bytes });
      res.end();
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(port, address, resolve));
  return { port: (server.address() as AddressInfo).port, received };
}

function transportFor(endpoint: string, env: Record<string, string> = {}): OtlpHttpTransport {
  const settings = parseTracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, ...env });
  assert.equal(settings.exporter.kind, 'otlp');
  if (settings.exporter.kind !== 'otlp') throw new Error('unreachable');
  const transport = new OtlpHttpTransport(otlpHttpConfiguration(settings.exporter.otlp));
  transports.push(transport);
  return transport;
}

afterEach(async () => {
  (dns as { lookup: unknown }).lookup = realLookup;
  lookedUp.length = 0;
  for (const t of transports.splice(0)) t.shutdown();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

test('a localhost endpoint is reached at 127.0.0.1 without looking the name up, and the name stays in Host', async () => {
  const { port, received } = await collector('127.0.0.1');
  countLookups();
  const transport = transportFor(`http://localhost:${port}`);
  for (const size of [10, 2000]) {
    const result = await transport.send(new Uint8Array(size), 5_000);
    assert.equal(result.status, 'success');
  }
  assert.deepEqual(received, [
    { host: `localhost:${port}`, remote: '127.0.0.1', bytes: 10 },
    { host: `localhost:${port}`, remote: '127.0.0.1', bytes: 2000 },
  ]);
  assert.deepEqual(lookedUp, [], 'no name was looked up');
});

test('a collector that is not on 127.0.0.1 (localhost is ::1 on this host) is reached by name, the first export included', async () => {
  const { port, received } = await collector('::1');
  countLookups((name) => {
    assert.equal(name, 'localhost');
    return { address: '::1', family: 6 };
  });
  const transport = transportFor(`http://localhost:${port}`);
  assert.equal((await transport.send(new Uint8Array(5), 5_000)).status, 'success', 'the refused address is not reported: the name is tried at once');
  assert.equal((await transport.send(new Uint8Array(7), 5_000)).status, 'success');
  assert.deepEqual(received.map((r) => [r.host, r.remote, r.bytes]), [[`localhost:${port}`, '::1', 5], [`localhost:${port}`, '::1', 7]]);
  assert.ok(lookedUp.length >= 1, 'looked up by name');
});

test('no collector yet (refused at 127.0.0.1 and by name): the next export still goes to 127.0.0.1 first', async () => {
  const { port } = await collector('127.0.0.1');
  await new Promise((resolve) => servers.pop()!.close(resolve)); // Nothing listens there any more: a collector not up yet.
  countLookups();
  const transport = transportFor(`http://localhost:${port}`);
  const early = await transport.send(new Uint8Array(4), 5_000);
  assert.equal(early.status, 'retryable');
  assert.deepEqual(lookedUp, ['localhost'], 'refused at 127.0.0.1, then tried by name once');
  const { received } = await collector('127.0.0.1', port); // The collector is up.
  lookedUp.length = 0;
  assert.equal((await transport.send(new Uint8Array(6), 5_000)).status, 'success');
  assert.deepEqual(received.map((r) => [r.host, r.bytes]), [[`localhost:${port}`, 6]]);
  assert.deepEqual(lookedUp, [], 'reached at 127.0.0.1 again, without a lookup');
});

test('any other name is looked up as Node does; nothing listening is a retryable failure', async () => {
  const { port } = await collector('127.0.0.1');
  await new Promise((resolve) => servers.pop()!.close(resolve)); // The port is free again: refused.
  countLookups(() => ({ address: '127.0.0.1', family: 4 }));
  const result = await transportFor(`http://collector.internal:${port}`).send(new Uint8Array(3), 5_000);
  assert.equal(result.status, 'retryable');
  assert.deepEqual([...new Set(lookedUp)], ['collector.internal']);
});

function errorOf(result: ExportResponse): string {
  return 'error' in result ? String(result.error?.message) : '';
}

/** An HTTPS collector with the `localhost` certificate; it asks for a client certificate signed by the test client's own. */
async function tlsCollector(): Promise<{ port: number; clients: (string | undefined)[] }> {
  const clients: (string | undefined)[] = [];
  const server = https.createServer({
    key: readFileSync(path.join(TLS, 'collector-key.pem')), cert: readFileSync(path.join(TLS, 'collector-cert.pem')),
    ca: readFileSync(path.join(TLS, 'client-cert.pem')), requestCert: true, rejectUnauthorized: false,
  }, (req, res) => {
    const socket = req.socket as TLSSocket;
    clients.push(socket.authorized ? String(socket.getPeerCertificate().subject.CN) : undefined);
    req.resume();
    req.on('end', () => res.end());
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, clients };
}

test('over TLS to localhost: the certificate is checked against the name (it has no address), and the client certificate is presented', async () => {
  const { port, clients } = await tlsCollector();
  countLookups();
  const transport = transportFor(`https://localhost:${port}`, {
    OTEL_EXPORTER_OTLP_CERTIFICATE: path.join(TLS, 'collector-cert.pem'),
    OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: path.join(TLS, 'client-cert.pem'),
    OTEL_EXPORTER_OTLP_CLIENT_KEY: path.join(TLS, 'client-key.pem'),
  });
  assert.equal((await transport.send(new Uint8Array(8), 5_000)).status, 'success');
  assert.deepEqual(clients, ['extension-test-client']);
  assert.deepEqual(lookedUp, [], 'reached at 127.0.0.1 all the same');
});

test('over TLS, a collector whose certificate does not name the endpoint, or that no trusted CA signed, is not sent the spans', async () => {
  const { port, clients } = await tlsCollector();
  const trusted = { OTEL_EXPORTER_OTLP_CERTIFICATE: path.join(TLS, 'collector-cert.pem') };
  // The certificate names localhost, not 127.0.0.1.
  const byAddress = await transportFor(`https://127.0.0.1:${port}`, trusted).send(new Uint8Array(8), 5_000);
  assert.notEqual(byAddress.status, 'success');
  assert.match(errorOf(byAddress), /altnames|certificate/i);
  // The name matches, but without the CA nothing vouches for it.
  const untrusted = await transportFor(`https://localhost:${port}`).send(new Uint8Array(8), 5_000);
  assert.notEqual(untrusted.status, 'success');
  assert.match(errorOf(untrusted), /self[- ]signed|certificate/i);
  assert.deepEqual(clients, [], 'no request reached the collector');
});
