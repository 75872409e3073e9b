// One body, one hop: chunks go on as they arrive (a streamed response reaches
// Lambda as it is written), with backpressure so a slow reader never makes us
// buffer, and the trailers follow the last chunk (response streaming reports a
// mid-stream failure in them; aws-lambda-go announces them on every post).
// A chunk nobody kept is freed once written (written-chunks.ts says why).

import type http from 'node:http';
import { trailerPairs } from './headers.ts';
import { WrittenChunks } from './written-chunks.ts';

export function streamBody(
  from: http.IncomingMessage,
  to: http.OutgoingMessage,
  /** Sees each chunk before it goes on; true when it kept the chunk, which is then left to the garbage collector. */
  onChunk: ((chunk: Buffer) => boolean) | undefined,
  onEnd: (() => void) | undefined,
  /** A throw in here (a bug): the caller ends the exchange honestly instead of leaving it hanging. */
  onFailure: (err: unknown) => void,
): void {
  const resume = () => from.resume();
  const written = new WrittenChunks();
  from.on('data', (chunk: Buffer) => {
    try {
      const kept = onChunk?.(chunk) ?? false;
      // The far side failed (its error is handled by the caller): the rest of
      // the body is read and dropped, so the sender is never left hanging.
      if (to.destroyed) return;
      if (!(kept ? to.write(chunk) : written.write(to, chunk))) {
        from.pause();
        to.once('drain', resume);
      }
    } catch (err) {
      onFailure(err);
    }
  });
  to.once('close', resume);
  from.on('end', () => {
    try {
      if (!to.destroyed) {
        if (from.rawTrailers.length > 0) to.addTrailers(trailerPairs(from.rawTrailers));
        to.end();
      }
      onEnd?.();
    } catch (err) {
      onFailure(err);
    }
  });
}
