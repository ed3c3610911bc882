import { parentPort, workerData } from 'node:worker_threads';
import {
  type FromRenderWorker,
  type RenderWorkerData,
  SegmentRenderer,
  type ToRenderWorker,
} from './piece-renderer.js';

/**
 * A build's render thread (piece-renderer.ts): the segments' products come as text, in sku
 * order; each goes through the channel's rules, mapping and serializer, and goes back encoded
 * with its checksums, its bytes moved rather than copied.
 */
const port = parentPort;
if (!port) throw new Error('render-worker runs as a worker thread');
const { inputs, written } = workerData as RenderWorkerData;
const renderer = new SegmentRenderer(inputs, written);

port.on('message', (m: ToRenderWorker) => {
  let reply: FromRenderWorker;
  const transfer: ArrayBuffer[] = [];
  try {
    const { encoded, ...piece } = renderer.render(m.products);
    // Its own memory, which can be moved: a short text's Buffer may sit in Node's shared pool.
    const whole = encoded.body.byteOffset === 0 && encoded.body.buffer.byteLength === encoded.body.byteLength;
    const body = whole ? encoded.body : new Uint8Array(encoded.body);
    transfer.push(body.buffer as ArrayBuffer);
    reply = { type: 'piece', body, crc: encoded.crc, sha: encoded.sha, ...piece };
  } catch (err) {
    reply = { type: 'error', message: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(reply, transfer);
});
