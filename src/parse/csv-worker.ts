import { PassThrough } from 'node:stream';
import { parentPort, workerData } from 'node:worker_threads';
import { type CsvOptions, FeedParseError, parseCsv } from './csv.js';
import type { FromCsvWorker, ToCsvWorker } from './threaded-csv.js';

/**
 * The CSV parser's thread (threaded-csv.ts): csv-parse and the record guard run here on the
 * bytes the import's thread sends, and the records go back in batches, so that parsing (the
 * costliest step of an import) runs beside normalising and the store's COPY.
 */
const port = parentPort;
if (!port) throw new Error('csv-worker runs as a worker thread');
const { options, batchRecords, maxBatchesAhead } = workerData as {
  options: CsvOptions;
  batchRecords: number;
  maxBatchesAhead: number;
};

const input = new PassThrough();
const send = (m: FromCsvWorker, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer);
let ahead = 0;
let resume: (() => void) | undefined;

port.on('message', (m: ToCsvWorker) => {
  switch (m.type) {
    case 'chunk':
      input.write(Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength), () =>
        send({ type: 'credit', bytes: m.data.byteLength }),
      );
      break;
    case 'end':
      input.end();
      break;
    case 'abort':
      input.destroy(new Error('the feed stopped'));
      break;
    case 'ack': {
      ahead--;
      const r = resume;
      resume = undefined;
      r?.();
      break;
    }
  }
});

async function run(): Promise<void> {
  const feed = await parseCsv(input, options);
  send({ type: 'header', header: feed.header });
  let lines: number[] = [];
  let values: string[][] = [];
  const flush = async () => {
    send({ type: 'batch', lines, values, issues: feed.issues.splice(0) });
    lines = [];
    values = [];
    ahead++;
    while (ahead >= maxBatchesAhead) await new Promise<void>((r) => (resume = r));
  };
  for await (const record of feed.records) {
    lines.push(record.line);
    values.push(record.values);
    if (lines.length >= batchRecords) await flush();
  }
  send({ type: 'end', lines, values, issues: feed.issues.splice(0) });
}

run().catch((err: unknown) => {
  send({
    type: 'error',
    name: err instanceof Error ? err.name : 'Error',
    message: err instanceof Error ? err.message : String(err),
    line: err instanceof FeedParseError ? (err.line ?? null) : null,
  });
});
