import { availableParallelism } from 'node:os';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildChannelFeed } from '../src/publish/build/build.js';
import { BuildRenderer, MAX_RENDER_THREADS, SegmentRenderer } from '../src/publish/build/piece-renderer.js';
import { readPublication } from '../src/publish/pack/index.js';
import type { Publication } from '../src/store/publications.js';
import { openShop, type Shop } from './helpers/shop.js';
import type { TestStore } from './helpers/store.js';

// A large build renders its first products itself and hands the rest to a render thread
// (piece-renderer.ts). Whichever thread renders which segment, the feed is the same bytes.

const KEY = 'render-thread-test-key';
// Nine segments of 500 products; the first 1,500 products have no stock, so the rule leaves
// them all out: the first item of the feed comes after a hand-over at 1,000, before one at 2,000.
const PRODUCTS = 4321;
const sku = (i: number) => `R-${String(i).padStart(5, '0')}`;

function catalogCsv(): string {
  const lines = ['sku,title,description,brand,price,currency,quantity,url,image_url,status'];
  for (let i = 1; i <= PRODUCTS; i++) {
    const title = i % 97 === 0 ? `"=Formula ""${i}"" <&> ]]> 日本 😀"` : `Product ${i} é`;
    const quantity = i <= 1500 ? '0' : i % 11 === 0 ? '' : String(1 + ((i * 7) % 13));
    lines.push(
      `${sku(i)},${title},"Thing, number ${i}",${i % 5 === 0 ? 'Brewco' : 'Acme'},${(i % 50) + 0.5},EUR,${quantity},` +
        `https://shop.example/${i},https://shop.example/${i}.jpg,active`,
    );
  }
  return lines.join('\n');
}

const NO_STOCK_OUT = {
  id: 'no-stock-out',
  rules: [
    {
      id: 'hide-empty',
      when: { all: [{ fact: 'quantity', operator: 'lessThanInclusive', value: 0 }] },
      then: [{ exclude: true, reason: 'no stock' }],
    },
  ],
};

const CHANNELS = [
  { id: 't-csv', format: 'csv', fields: { id: 'sku', title: 'title', stock: 'quantity', price: 'price' } },
  { id: 't-tsv', format: 'tsv', fields: { id: 'sku', title: 'title', stock: 'quantity' } },
  { id: 't-google', preset: 'google-shopping', options: { title: 'Shop', link: 'https://shop.example' } },
  { id: 't-json', preset: 'json', fields: { id: 'sku', title: 'title' } },
];

describe('the render thread', () => {
  let t: TestStore;
  let dataDir: string;

  let shop: Shop | undefined;
  beforeAll(async () => {
    shop = await openShop({ apiKey: KEY, csv: catalogCsv(), ruleSet: NO_STOCK_OUT, channels: CHANNELS });
    ({ t, dataDir } = shop);
  });
  afterAll(async () => {
    await shop?.close();
  });

  const build = (channelId: string, renderThreadAfter: number) => {
    let threadProducts = -1;
    let threads = -1;
    const done = buildChannelFeed(
      { store: t.store, dataDir, renderThreadAfter },
      {
        channelId,
        reason: `thread after ${renderThreadAfter}`,
        actor: 't',
        onTimings: (timings) => {
          threadProducts = timings.thread.products;
          threads = timings.thread.count;
        },
      },
    );
    return done.then(async (p: Publication) => ({
      p,
      threadProducts,
      threads,
      feed: await readPublication(dataDir, p, 'feed'),
      gzip: await readPublication(dataDir, p, 'gzip'),
      items: await readPublication(dataDir, p, 'items'),
    }));
  };

  it.each(CHANNELS.map((c) => c.id))(
    'writes %s the same, rendered here, from the start there, or handed over',
    async (id) => {
      const here = await build(id, Number.POSITIVE_INFINITY);
      expect(here.threadProducts).toBe(0);
      expect(here.p.items).toBe(PRODUCTS - 1500);
      expect(here.p.exclusions).toEqual([
        { ruleSet: 'no-stock-out', rule: 'hide-empty', reason: 'no stock', count: 1500 },
      ]);
      for (const after of [0, 1000, 2000]) {
        const there = await build(id, after);
        expect(there.threadProducts, `thread after ${after}`).toBe(PRODUCTS - after);
        // Segments go to two threads in turn, but a JSON feed's to one (its commas).
        expect(there.threads).toBe(
          id === 't-json' ? 1 : Math.min(MAX_RENDER_THREADS, availableParallelism()),
        );
        expect(there.feed.equals(here.feed), `feed, thread after ${after}`).toBe(true);
        expect(
          gunzipSync(there.gzip).equals(there.feed),
          `gzip decodes to the feed, thread after ${after}`,
        ).toBe(true);
        expect(there.gzip.equals(here.gzip), `gzip, thread after ${after}`).toBe(true);
        expect(there.items.equals(here.items), `item list, thread after ${after}`).toBe(true);
        expect(there.p).toMatchObject({
          sha256: here.p.sha256,
          bytes: here.p.bytes,
          items: here.p.items,
          excluded: 1500,
          exclusions: here.p.exclusions,
          added: 0,
          removed: 0,
          changed: 0,
        });
      }
      if (id === 't-json') {
        const items = JSON.parse(here.feed.toString('utf8')) as Array<{ id: string }>;
        expect(items).toHaveLength(PRODUCTS - 1500);
        expect(items[0]?.id).toBe(sku(1501));
      }
    },
  );

  const inputs = {
    ruleSets: [],
    channel: {
      kind: 'channel' as const,
      id: 'x',
      catalog: 'shop',
      format: 'json' as const,
      fields: { id: 'sku' },
    },
    at: Date.now(),
  };
  const good = (n = 1) => ({ sku: `A${n}`, fields: `{"sku":"A${n}"}`, attributes: '{}' });
  const broken = { sku: 'B', fields: '{"sku": ', attributes: '{}' };

  it('fails every segment after one the thread could not render, and says why', async () => {
    const renderer = new BuildRenderer(inputs, 0);
    try {
      const first = renderer.render([good()]);
      const failed = renderer.render([broken]);
      const after = renderer.render([good()]);
      const expected = new SegmentRenderer(inputs).render([good()]);
      expect((await first).encoded.body.toString('utf8')).toBe(expected.encoded.body.toString('utf8'));
      await expect(failed).rejects.toThrow(/rendering the feed failed: .*JSON/);
      await expect(after).rejects.toThrow(/rendering the feed failed/);
      await expect(renderer.render([good()])).rejects.toThrow(/rendering the feed failed/);
    } finally {
      await renderer.close();
    }
  });

  const csvInputs = { ...inputs, channel: { ...inputs.channel, format: 'csv' as const } };

  it.each([
    ['json', inputs],
    ['csv', csvInputs],
  ] as const)(
    'gives back in order many more %s segments than the threads take at once',
    async (_format, given) => {
      const renderer = new BuildRenderer(given, 2);
      const inline = new SegmentRenderer(given);
      try {
        const segments = Array.from({ length: 40 }, (_, i) => [good(2 * i), good(2 * i + 1)]);
        const pieces = segments.map((products) => renderer.render(products));
        const texts = (await Promise.all(pieces)).map((p) => p.encoded.body.toString('utf8'));
        expect(texts).toEqual(
          segments.map((products) => inline.render(products).encoded.body.toString('utf8')),
        );
        expect(renderer.threadProducts).toBe(78);
      } finally {
        await renderer.close();
      }
    },
  );

  it('shares the cores among builds, one thread at least each, and has them back when a build ends', async () => {
    const cores = availableParallelism();
    const started = async () => {
      const r = new BuildRenderer(csvInputs, 0);
      await r.render([good()]);
      return r;
    };
    const first = await started();
    const second = await started();
    try {
      expect(first.threadCount).toBe(Math.min(MAX_RENDER_THREADS, cores));
      // Every build gets one thread at least, however busy the cores.
      expect(second.threadCount).toBe(Math.max(1, Math.min(MAX_RENDER_THREADS, cores - first.threadCount)));
    } finally {
      await first.close();
      await second.close();
    }
    const third = await started();
    try {
      expect(third.threadCount).toBe(Math.min(MAX_RENDER_THREADS, cores));
    } finally {
      await third.close();
    }
  });

  it('leaves no failure unheard when a build stops with segments still on the thread', async () => {
    const unheard: unknown[] = [];
    const listen = (reason: unknown) => unheard.push(reason);
    process.on('unhandledRejection', listen);
    try {
      // The thread fails a segment: the build awaits that one and never the ones after it.
      const failing = new BuildRenderer(inputs, 0);
      const segments = [failing.render([good()]), failing.render([broken]), failing.render([good()])];
      await expect(segments[1]).rejects.toThrow(/rendering the feed failed/);
      await failing.close();
      // The build stops (a write failed) with segments out: close fails them.
      const stopped = new BuildRenderer(inputs, 0);
      for (let i = 0; i < 5; i++) stopped.render([good(i)]);
      await stopped.close();
      await new Promise((r) => setTimeout(r, 200));
      expect(unheard).toEqual([]);
    } finally {
      process.off('unhandledRejection', listen);
    }
  });
});
