import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BuildRenderer, MAX_RENDER_THREADS } from '../../../src/publish/build/piece-renderer.js';

// A render thread that cannot be started (its module missing, the process out of threads):
// the build fails, the threads already started are stopped, and the cores are given back.

const started: Worker[] = [];
const failOn = vi.hoisted(() => ({ call: 0, count: 0 }));
vi.mock(import('../../../src/workers.js'), async (importOriginal) => {
  const real = await importOriginal();
  return {
    startWorker: (base, name, data) => {
      failOn.count++;
      if (failOn.count === failOn.call) throw new Error('no thread for you');
      const w = real.startWorker(base, name, data);
      started.push(w);
      return w;
    },
  };
});

const inputs = {
  ruleSets: [],
  channel: {
    kind: 'channel' as const,
    id: 'x',
    catalog: 'shop',
    format: 'csv' as const,
    fields: { id: 'sku' },
  },
  at: Date.now(),
};
const good = { sku: 'A', fields: '{"sku":"A"}', attributes: '{}' };
const expectedThreads = Math.min(MAX_RENDER_THREADS, availableParallelism());

describe('starting render threads', () => {
  afterEach(() => {
    failOn.call = 0;
    failOn.count = 0;
    started.length = 0;
  });

  it.skipIf(expectedThreads < 2)(
    'fails the build when the second thread cannot start, stops the first, and gives the cores back',
    async () => {
      failOn.call = 2;
      const renderer = new BuildRenderer(inputs, 0);
      const exits: Array<Promise<unknown>> = [];
      try {
        const first = renderer.render([good]);
        const second = renderer.render([good]);
        await expect(first).rejects.toThrow('no thread for you');
        await expect(second).rejects.toThrow('no thread for you');
        expect(started).toHaveLength(1);
        exits.push(new Promise((r) => (started[0] as Worker).once('exit', r)));
      } finally {
        await renderer.close();
      }
      await Promise.all(exits);
      // Every core is free again: the next build gets its threads.
      const next = new BuildRenderer(inputs, 0);
      try {
        await next.render([good]);
        expect(next.threadCount).toBe(expectedThreads);
      } finally {
        await next.close();
      }
    },
  );
});
