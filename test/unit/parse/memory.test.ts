import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFeed } from '../../../src/parse/detect.js';

const ITEMS = 200_000;
let dir: string;
let file: string;

/** Writes a Google Shopping feed of `count` items (about 800 bytes each), with backpressure. */
async function writeFeed(target: string, count: number): Promise<void> {
  const out = fs.createWriteStream(target);
  const write = (s: string) =>
    out.write(s) ? Promise.resolve() : new Promise<void>((r) => out.once('drain', () => r()));
  await write(
    '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0">\n<channel>\n<title>Big</title>\n',
  );
  let batch = '';
  for (let i = 0; i < count; i++) {
    batch +=
      `<item>\n  <g:id>SKU-${i}</g:id>\n  <title>Product ${i} – stainless steel kettle 1.7 l &amp; filter</title>\n` +
      `  <description><![CDATA[A kettle for <b>every</b> kitchen: fast boil, auto shut-off, limescale filter, 360° base, cordless. Item ${i} of the big feed, with enough text to weigh like a real description would.]]></description>\n` +
      `  <link>https://shop.example/p/sku-${i}?utm_source=google&amp;utm_medium=feed</link>\n` +
      `  <g:image_link>https://cdn.example/sku-${i}/main.jpg</g:image_link>\n` +
      `  <g:additional_image_link>https://cdn.example/sku-${i}/side.jpg</g:additional_image_link>\n` +
      `  <g:additional_image_link>https://cdn.example/sku-${i}/back.jpg</g:additional_image_link>\n` +
      `  <g:price>${(i % 500) + 9}.90 EUR</g:price>\n  <g:availability>in_stock</g:availability>\n` +
      `  <g:brand>Brand ${i % 97}</g:brand>\n  <g:gtin>${String(4000000000000 + i)}</g:gtin>\n` +
      `  <g:shipping><g:country>FR</g:country><g:price>4.95 EUR</g:price></g:shipping>\n</item>\n`;
    if (batch.length > 256 * 1024) {
      await write(batch);
      batch = '';
    }
  }
  await write(`${batch}</channel>\n</rss>\n`);
  await new Promise<void>((resolve, reject) =>
    out.end((err?: Error | null) => (err ? reject(err) : resolve())),
  );
}

describe('memory', () => {
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'feedwright-parse-'));
    file = path.join(dir, 'big-google-feed.xml');
    await writeFeed(file, ITEMS);
  });

  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reads a 200,000-item XML feed (about 160 MB) with bounded memory', async () => {
    expect(fs.statSync(file).size).toBeGreaterThan(150 * 1024 * 1024);
    const before = process.memoryUsage().rss;
    let peak = before;
    const timer = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 10);
    let count = 0;
    let last = '';
    try {
      const opened = await readFeed(fs.createReadStream(file), { stripNamespaces: ['g'] });
      if (opened.kind !== 'keyed') throw new Error('keyed records expected');
      for await (const r of opened.feed.records) {
        count++;
        last = r.data.id as string;
      }
      expect(opened.feed.issues).toEqual([]);
    } finally {
      clearInterval(timer);
    }
    peak = Math.max(peak, process.memoryUsage().rss);
    expect(count).toBe(ITEMS);
    expect(last).toBe(`SKU-${ITEMS - 1}`);
    expect((peak - before) / 2 ** 20).toBeLessThan(200);
  });
});
