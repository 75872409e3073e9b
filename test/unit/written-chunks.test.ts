// Relayed buffers freed once nothing needs them: never before their write is over, never a buffer
// that shares its memory, and a socket's reads only while node's parser is done with them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { freeBuffer, freeSocketReads, WrittenChunks } from '../../src/proxy/written-chunks.ts';

/** A buffer that owns its memory, as node:http's chunks do. */
function owned(text: string): Buffer {
  const buffer = Buffer.allocUnsafeSlow(text.length);
  buffer.write(text);
  return buffer;
}

test('a buffer that owns its memory is freed; a slice, a pooled buffer or an empty one is left alone', () => {
  const whole = owned('abcdef');
  assert.equal(freeBuffer(whole), true);
  assert.equal(whole.length, 0);
  assert.equal(freeBuffer(whole), false); // Already freed.

  const parent = owned('abcdef');
  const slice = parent.subarray(2);
  assert.equal(freeBuffer(slice), false);
  assert.equal(parent.toString(), 'abcdef');

  const pooled = Buffer.from('abc'); // A slice of Node's shared pool.
  assert.equal(freeBuffer(pooled), false);
  assert.equal(pooled.toString(), 'abc');

  // The whole of that pool, which Node 24 marks as not transferable: refused, without a throw.
  // Node 22 (the standalone layers') would let it go, and every later small Buffer would throw:
  // no caller hands freeBuffer a view of the pool (our chunks and reads own their memory).
  if (Number(process.versions.node.split('.')[0]) >= 24) {
    const wholePool = Buffer.from(pooled.buffer);
    assert.equal(wholePool.byteOffset, 0);
    assert.equal(freeBuffer(wholePool), false);
    assert.equal(pooled.toString(), 'abc');
  }

  assert.equal(freeBuffer(Buffer.alloc(0)), false);
});

test('each chunk written is freed once its own write is over, not before', async () => {
  const finishWrite: (() => void)[] = [];
  const sink = new Writable({ write(_chunk, _encoding, callback) { finishWrite.push(() => callback()); } });
  const written = new WrittenChunks();
  const first = owned('first');
  const second = owned('second');
  for (const chunk of [first, second]) written.write(sink, chunk);
  const afterCallbacks = () => new Promise((resolve) => process.nextTick(resolve)); // Writable calls back on the next tick.
  await afterCallbacks();
  assert.equal(first.toString(), 'first'); // Still being written.
  finishWrite.shift()!();
  await afterCallbacks();
  assert.equal(first.length, 0);
  assert.equal(second.toString(), 'second');
  finishWrite.shift()!();
  await afterCallbacks();
  assert.equal(second.length, 0);
});

test('the reads of an answer are freed once parsed, the body arrives whole, and the kept-alive socket carries the next answer untouched', async () => {
  const bodies = [Buffer.alloc(3 * 1024 * 1024, 0x61), Buffer.alloc(256 * 1024, 0x62)];
  let served = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    res.end(bodies[served++]);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const { port } = server.address() as AddressInfo;
    const get = (free: boolean) => new Promise<{ body: Buffer; reads: Buffer[]; listeners: number }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, agent }, (res) => {
        const socket = res.socket;
        if (free) freeSocketReads(res);
        // After node's and ours: sees each read once both are done with it.
        const reads: Buffer[] = [];
        const onRead = (read: Buffer) => { reads.push(read); };
        socket.on('data', onRead);
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          socket.off('data', onRead);
          resolve({ body: Buffer.concat(chunks), reads, listeners: socket.listenerCount('data') });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
    const first = await get(true);
    assert.ok(first.body.equals(bodies[0]!));
    assert.ok(first.reads.length > 0);
    assert.ok(first.reads.every((read) => read.length === 0), 'a read was not freed');
    assert.equal(first.listeners, 0, 'a listener was left on the socket');
    const second = await get(false);
    assert.ok(second.body.equals(bodies[1]!));
    assert.ok(second.reads.some((read) => read.length > 0));
  } finally {
    agent.destroy();
    server.close();
  }
});
