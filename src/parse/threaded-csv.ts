import type { Readable } from 'node:stream';
import { startWorker } from '../workers.js';
import { type CsvOptions, FeedParseError } from './csv.js';
import type { ParsedFeed, RawRecord, RowIssue } from './types.js';

/** Messages to the CSV worker (csv-worker.ts). */
export type ToCsvWorker =
  | { type: 'chunk'; data: Uint8Array }
  | { type: 'end' }
  | { type: 'abort' }
  | { type: 'ack' };

/** Messages from the CSV worker. */
export type FromCsvWorker =
  | { type: 'credit'; bytes: number }
  | { type: 'header'; header: string[] }
  | { type: 'batch' | 'end'; lines: number[]; values: string[][]; issues: RowIssue[] }
  | { type: 'error'; name: string; message: string; line: number | null };

/** Feeds at least this large (when their size is known) are parsed on a worker thread. */
export const THREADED_MIN_BYTES = 4 * 1024 * 1024;

// Bytes sent to the worker and not yet taken by its parser; records parsed ahead of the
// import, in batches. Both bound the memory the two threads hold between them.
const MAX_BYTES_AHEAD = 4 * 1024 * 1024;
const BATCH_RECORDS = 1000;
const MAX_BATCHES_AHEAD = 4;

/**
 * parseCsv on a worker thread: the same header, records (with their lines) and issues, in
 * the same order, while this thread normalises them and the store copies them in. The bytes
 * go to the worker as they are read, at most `MAX_BYTES_AHEAD` ahead of its parser; it sends
 * records back in batches, at most `MAX_BATCHES_AHEAD` ahead of the caller. An error of the
 * input stream is thrown as it is (the import tells a cut upload from a parse error by it);
 * a parse error comes back as a FeedParseError with its line. Stopping early (the caller's
 * loop ends or throws) stops the worker and destroys the input.
 */
export async function parseCsvThreaded(input: Readable, options: CsvOptions = {}): Promise<ParsedFeed> {
  const worker = startWorker(import.meta.url, 'csv-worker', {
    options,
    batchRecords: BATCH_RECORDS,
    maxBatchesAhead: MAX_BATCHES_AHEAD,
  });
  let reading = false;
  const issues: RowIssue[] = [];
  const batches: Array<{ lines: number[]; values: string[][]; issues: RowIssue[] }> = [];
  let ended = false;
  let stopped = false;
  let inputError: unknown;
  let workerError: unknown;
  let bytesAhead = 0;
  let wakeReader: (() => void) | undefined;
  let wakePump: (() => void) | undefined;
  const wake = () => {
    const r = wakeReader;
    const p = wakePump;
    wakeReader = wakePump = undefined;
    r?.();
    p?.();
  };
  const failure = () => inputError ?? workerError;

  let gotHeader: (header: string[]) => void = () => {};
  const header = new Promise<string[]>((resolve) => {
    gotHeader = resolve;
  });

  worker.on('message', (m: FromCsvWorker) => {
    switch (m.type) {
      case 'credit':
        bytesAhead -= m.bytes;
        break;
      case 'header':
        gotHeader(m.header);
        break;
      case 'batch':
        batches.push(m);
        break;
      case 'end':
        batches.push(m);
        ended = true;
        break;
      case 'error':
        workerError ??=
          m.name === 'FeedParseError'
            ? new FeedParseError(m.message, m.line ?? undefined)
            : new Error(m.message);
        break;
    }
    wake();
  });
  worker.on('error', (err) => {
    workerError ??= err;
    wake();
  });
  worker.on('exit', (code) => {
    if (!ended && !stopped) workerError ??= new Error(`the CSV parser's thread stopped (exit code ${code})`);
    wake();
  });

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    wake();
    input.destroy();
    await worker.terminate();
  };

  // The bytes, to the worker, as its parser takes them.
  void (async () => {
    try {
      for await (const chunk of input as AsyncIterable<Buffer | string>) {
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
        // A copy the worker owns (a chunk may share its ArrayBuffer with others).
        const data = new Uint8Array(bytes);
        while (bytesAhead > MAX_BYTES_AHEAD && !stopped && failure() === undefined)
          await new Promise<void>((r) => (wakePump = r));
        if (stopped || failure() !== undefined) return;
        bytesAhead += data.byteLength;
        worker.postMessage({ type: 'chunk', data } satisfies ToCsvWorker, [data.buffer as ArrayBuffer]);
      }
      if (!stopped) worker.postMessage({ type: 'end' } satisfies ToCsvWorker);
    } catch (err) {
      if (stopped) return;
      inputError ??= err;
      worker.postMessage({ type: 'abort' } satisfies ToCsvWorker);
      wake();
      // The input was destroyed before anyone read the records: nobody will stop the worker.
      if (!reading) await stop();
    }
  })();

  // The header, or why there is none.
  for (;;) {
    const h = await Promise.race([header, new Promise<undefined>((r) => (wakeReader = () => r(undefined)))]);
    if (h !== undefined) {
      return { header: h, records: records(), issues, close: stop };
    }
    const err = failure();
    if (err !== undefined || stopped) {
      await stop();
      throw err ?? new Error("the CSV parser's thread stopped");
    }
  }

  async function* records(): AsyncGenerator<RawRecord> {
    reading = true;
    try {
      for (;;) {
        // Records parsed before a failure are given first, as parseCsv gives them.
        const batch = batches.shift();
        if (batch) {
          if (batch.issues.length > 0) issues.push(...batch.issues);
          if (!ended) worker.postMessage({ type: 'ack' } satisfies ToCsvWorker);
          for (let i = 0; i < batch.lines.length; i++)
            yield { line: batch.lines[i] as number, values: batch.values[i] as string[] };
          continue;
        }
        const err = failure();
        if (err !== undefined) throw err;
        if (ended) return;
        await new Promise<void>((r) => (wakeReader = r));
      }
    } finally {
      await stop();
    }
  }
}
