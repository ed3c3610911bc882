import fs from 'node:fs';
import type { Writable } from 'node:stream';

/** Writes text to a stream, resolving at once or, when its buffer is full, on 'drain'. */
export function writeChunk(stream: Writable, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    stream.once('error', onError);
    const ok = stream.write(text, () => {});
    const done = () => {
      stream.off('error', onError);
      resolve();
    };
    if (ok) done();
    else stream.once('drain', done);
  });
}

/** Ends a stream and waits until it is finished (a file stream: closed, its flush done). */
export function endStream(stream: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.once('error', reject);
    stream.once('finish', () => {
      if (stream instanceof fs.WriteStream) stream.once('close', () => resolve());
      else resolve();
    });
    stream.end();
  });
}
