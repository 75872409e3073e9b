import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { streamBody } from '../../src/proxy/stream-body.ts';

test('a throw while a body streams goes to onFailure, not out of the event handler, and the sender is not left hanging', async () => {
  const failures: unknown[] = [];
  const server = http.createServer((req, res) => {
    // A far side that breaks on the first chunk (a bug of ours, say).
    const broken = { destroyed: false, write() { throw new Error('injected'); }, once() {}, end() {}, addTrailers() {} };
    streamBody(req, broken as unknown as http.OutgoingMessage, undefined, undefined, (err) => {
      failures.push(err);
      if (!res.headersSent) res.writeHead(502).end();
      req.resume();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const { port } = server.address() as AddressInfo;
    const answer = await new Promise<number>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end(Buffer.alloc(1024, 0x61));
    });
    assert.equal(answer, 502);
    assert.equal(failures.length, 1);
    assert.match(String(failures[0]), /injected/);
  } finally {
    server.close();
  }
});
