// Relayed bytes freed as soon as nothing needs them, instead of when V8 next collects.
//
// Every chunk node:http hands the proxy is a buffer of its own: the HTTP parser copies each piece of
// a body into a fresh ArrayBuffer, and on an upstream (client) socket each read is a fresh 64 KiB
// buffer too. Their memory is off V8's heap and goes back to the allocator only when a collection
// finds their small Buffer objects dead, which the young generation does only after hundreds of MB
// have passed: a 6 MB cycle left 12-18 MiB of them behind, written into fresh pages (a page fault
// per 4 KiB). Collecting the young generation after each MiB relayed kept that down but cost a
// third of the proxy's CPU at 6 MB (test/bench/footprint.ts).
//
// Detaching a buffer (`transfer(0)`) frees its memory at once, and the next read or copy reuses
// the same, already mapped and cached memory. Only buffers nobody else holds: a chunk once its
// write is over (the socket reads from it until then), a socket read once the parser has copied
// the body out of it.

import type http from 'node:http';
import type { Writable } from 'node:stream';

/**
 * Frees `buffer`'s memory if it owns its ArrayBuffer whole (never a slice of Node's shared pool,
 * nor part of a larger buffer) and Node lets it go (it marks some, its pool among them, as not
 * transferable). The caller guarantees nothing reads it any more: a view of a freed buffer reads
 * as empty. Returns whether it was freed.
 */
export function freeBuffer(buffer: Buffer): boolean {
  return buffer.buffer.byteLength === buffer.length && detach(buffer);
}

/**
 * Frees the memory of `buffer`, which starts it: the caller knows that memory is this buffer's
 * alone, even where it is longer than the buffer's bytes. (Never a view of Node's pool: Node 24
 * refuses to let its pool go, but 22, the standalone layers' Node, would, and every small Buffer
 * made after that would throw.)
 */
function detach(buffer: Buffer): boolean {
  const memory = buffer.buffer;
  if (buffer.byteOffset !== 0 || buffer.length === 0 || !(memory instanceof ArrayBuffer) || memory.detached) return false;
  try {
    memory.transfer(0);
    return true;
  } catch {
    return false; // Not transferable: the garbage collector's, as before.
  }
}

/**
 * The chunks written to one stream, each freed once its write is over. Callbacks of writes to one
 * stream come in the order of the writes (and come, with an error, for writes a failed stream
 * drops), so one queue and one callback serve all its chunks: nothing is made per chunk.
 */
export class WrittenChunks {
  readonly #queue: Buffer[] = [];
  readonly #written = (): void => {
    const chunk = this.#queue.shift();
    if (chunk !== undefined) freeBuffer(chunk);
  };

  /** Writes `chunk`, which nobody else holds, to `to` (this object's one stream) and frees it once written; `to.write`'s answer. */
  write(to: Writable, chunk: Buffer): boolean {
    this.#queue.push(chunk);
    return to.write(chunk, this.#written);
  }
}

/**
 * Frees each read of an upstream answer's socket once node:http's parser has copied the body out
 * of it (a server's sockets are read natively into one reused buffer; a client's are not). For the
 * 'response' handler: node's own listener (added when the request got its socket) runs first, so
 * ours sees each read once the parser is done with it. Ours leaves when the answer completes or
 * ends; node hands the socket to another request only after the answer's 'end' handlers have run,
 * so it never sees a read of another answer before node's parser does. (An upgrade, whose head
 * node slices from the read, never gets to 'response'.)
 */
export function freeSocketReads(answer: http.IncomingMessage): void {
  const socket = answer.socket;
  // No listener of node's before ours: not the client socket this was written for.
  if (socket === null || answer.complete || socket.listenerCount('data') === 0) return;
  const stop = () => socket.off('data', onRead);
  // Each read has memory of its own (never the pool's), which may be longer than the read: Node
  // 24.22 leaves a read that filled most of its 64 KiB buffer in all of it rather than copy it to
  // its size (22.20 always copied). freeBuffer, which cannot tell that memory from a shared one,
  // would keep it.
  const onRead = (read: Buffer): void => {
    if (answer.complete) stop();
    detach(read);
  };
  socket.on('data', onRead);
  answer.once('end', stop);
  answer.once('close', stop);
}
