import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FeedParseError, parseCsv } from '../../../src/parse/csv.js';
import { readFeed } from '../../../src/parse/detect.js';
import { parseJson } from '../../../src/parse/json.js';
import { parseNdjson } from '../../../src/parse/ndjson.js';
import { parseXml } from '../../../src/parse/xml.js';
import { chunked, fixture, prototypeUntouched, recordsOf } from './helpers.js';

/** A stream of `head`, then `count` times `unit`, then `tail`, never held whole. */
function repeated(head: string, unit: string, count: number, tail: string): Readable {
  const block = Buffer.from(unit.repeat(Math.max(1, Math.floor(65_536 / unit.length))));
  const perBlock = block.length / Buffer.byteLength(unit);
  async function* gen() {
    yield Buffer.from(head);
    let left = count;
    while (left >= perBlock) {
      yield block;
      left -= perBlock;
    }
    if (left > 0) yield Buffer.from(unit.repeat(left));
    yield Buffer.from(tail);
  }
  return Readable.from(gen(), { objectMode: false });
}

async function failure(run: () => Promise<unknown>): Promise<FeedParseError> {
  try {
    await run();
  } catch (err) {
    expect(err).toBeInstanceOf(FeedParseError);
    return err as FeedParseError;
  }
  throw new Error('expected a FeedParseError');
}

/** Runs `work` and returns how much the heap grew at most while it ran, in MiB. */
async function heapGrowth(work: () => Promise<void>): Promise<number> {
  const before = process.memoryUsage().heapUsed;
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().heapUsed);
  }, 5);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return (Math.max(peak, process.memoryUsage().heapUsed) - before) / 2 ** 20;
}

describe('hostile input: entity expansion', () => {
  it('refuses a billion-laughs DOCTYPE at once', async () => {
    const started = Date.now();
    const err = await failure(() => readFeed(chunked(fixture('billion-laughs.xml'))).then((f) => f));
    expect(err.message).toBe(
      'XML: the DOCTYPE declares entities (<!ENTITY …>); entity declarations are refused, ' +
        'as their expansion ("billion laughs") can exhaust the server',
    );
    expect(err.line).toBe(2);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('refuses an external entity declaration too (no file or URL is ever read)', async () => {
    const xml =
      '<?xml version="1.0"?><!DOCTYPE p [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><p><i>&xxe;</i></p>';
    expect((await failure(() => parseXml(chunked(xml)))).message).toMatch(/DOCTYPE declares entities/);
  });

  it('decodes a flood of numeric references in one pass, never growing the text', async () => {
    // 200,000 references (1.8 MB) in one item: each gives one character.
    const feed = await parseXml(repeated('<p><i><d>', '&#x1F600;', 200_000, '</d></i></p>'), {
      itemPath: 'p/i',
      maxRecordSize: 4 * 1024 * 1024,
    });
    const started = Date.now();
    const [record] = await recordsOf(feed);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(record?.data.d).toBe('😀'.repeat(200_000));
  });

  it('does not decode references twice (&#38;lt; stays &lt;)', async () => {
    const feed = await parseXml(chunked('<p><i><d>&#38;lt;script&#38;gt; &amp;#60;</d></i></p>'), {
      itemPath: 'i',
    });
    expect((await recordsOf(feed))[0]?.data.d).toBe('&lt;script&gt; &#60;');
  });
});

describe('hostile input: nesting', () => {
  it('refuses XML nested a million levels outside items, in bounded time', async () => {
    const started = Date.now();
    const err = await failure(async () => recordsOf(await parseXml(repeated('', '<a>', 1_000_000, ''))));
    expect(err.message).toBe('XML: elements nested deeper than 32 levels');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('rejects an XML item nested a thousand levels and reads the next one', async () => {
    const deep = repeated('<p><i><s>1</s>', '<a>', 1000, `${'</a>'.repeat(1000)}</i><i><s>2</s></i></p>`);
    const feed = await parseXml(deep, { itemPath: 'p/i' });
    const records = await recordsOf(feed);
    expect(records.map((r) => r.data.s)).toEqual(['2']);
    expect(feed.issues.map((i) => i.message)).toEqual(['item nested deeper than 32 levels']);
  });

  it('refuses an XML item nested a million levels, in bounded time', async () => {
    // saxes keeps an object for each open element: past 1024 levels the feed is refused, where
    // the old tokenizer only counted them and read on.
    const started = Date.now();
    const deep = repeated(
      '<p><i><s>1</s>',
      '<a>',
      1_000_000,
      `${'</a>'.repeat(1_000_000)}</i><i><s>2</s></i></p>`,
    );
    const err = await failure(async () =>
      recordsOf(await parseXml(deep, { itemPath: 'p/i', maxRecordSize: 64 * 1024 * 1024 })),
    );
    expect([err.message, err.line]).toEqual([
      'XML: elements nested deeper than 1024 levels (an item nested deeper than 32 levels is skipped ' +
        'as a row error; nesting this deep refuses the feed)',
      1,
    ]);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('rejects a JSON item nested a million levels and reads the next one', async () => {
    const deep = repeated('[{"s":"1","x":', '[', 1_000_000, `${']'.repeat(1_000_000)}},{"s":"2"}]`);
    const feed = await parseJson(deep);
    expect((await recordsOf(feed)).map((r) => r.data.s)).toEqual(['2']);
    expect(feed.issues.map((i) => i.message)).toEqual(['item 1 is nested deeper than 32 levels']);
  });

  it('refuses JSON nested a million levels as the document itself', async () => {
    const err = await failure(async () => recordsOf(await parseJson(repeated('', '{"a":', 1_000_000, '1'))));
    expect(err.message).toBe('JSON: nested deeper than 32 levels');
  });

  it('rejects an NDJSON line nested a million levels and reads the next one', async () => {
    const deep = repeated('', '[', 1_000_000, `${']'.repeat(1_000_000)}\n{"s":"2"}\n`);
    const feed = await parseNdjson(deep, { maxRecordSize: 4 * 1024 * 1024 });
    expect((await recordsOf(feed)).map((r) => r.data.s)).toEqual(['2']);
    expect(feed.issues[0]?.message).toMatch(/nested deeper than 32 levels/);
  });
});

describe('hostile input: records over the size limit', () => {
  const size = 50 * 1024 * 1024;

  it('drops a 50 MB XML item without holding it', async () => {
    const growth = await heapGrowth(async () => {
      const feed = await parseXml(repeated('<p><i><s>1</s><d>', 'x', size, '</d></i><i><s>2</s></i></p>'), {
        itemPath: 'p/i',
      });
      expect((await recordsOf(feed)).map((r) => r.data.s)).toEqual(['2']);
      expect(feed.issues.map((i) => i.code)).toEqual(['record_too_long']);
    });
    expect(growth).toBeLessThan(30);
  });

  it('drops a 50 MB XML item made of one CDATA section or comment without holding it', async () => {
    for (const [open, close] of [
      ['<![CDATA[', ']]>'],
      ['<!--', '-->'],
    ]) {
      const growth = await heapGrowth(async () => {
        const feed = await parseXml(
          repeated(`<p><i><s>1</s><d>${open}`, 'y', size, `${close}</d></i><i><s>2</s></i></p>`),
          {
            itemPath: 'p/i',
          },
        );
        expect((await recordsOf(feed)).map((r) => r.data.s)).toEqual(['2']);
        expect(feed.issues.map((i) => i.code)).toEqual(['record_too_long']);
      });
      expect(growth).toBeLessThan(30);
    }
  });

  it('reads past a 50 MB comment, processing instruction or text between XML items without holding it', async () => {
    for (const [open, close] of [
      ['<!--', '-->'],
      ['<?pi ', '?>'],
      ['', ''],
    ]) {
      const growth = await heapGrowth(async () => {
        const feed = await parseXml(
          repeated(`<p><i><s>1</s></i>${open}`, 'z', size, `${close}<i><s>2</s></i></p>`),
          { itemPath: 'p/i' },
        );
        expect((await recordsOf(feed)).map((r) => r.data.s)).toEqual(['1', '2']);
        expect(feed.issues).toEqual([]);
      });
      expect(growth).toBeLessThan(30);
    }
  });

  it('drops a 50 MB JSON item and a 50 MB NDJSON line without holding them', async () => {
    const growth = await heapGrowth(async () => {
      const json = await parseJson(repeated('[{"s":"1","d":"', 'z\\"', size / 3, '"},{"s":"2"}]'));
      expect((await recordsOf(json)).map((r) => r.data.s)).toEqual(['2']);
      expect(json.issues.map((i) => i.code)).toEqual(['record_too_long']);
      const nd = await parseNdjson(repeated('{"s":"1","d":"', 'z', size, '"}\n{"s":"2"}\n'));
      expect((await recordsOf(nd)).map((r) => r.data.s)).toEqual(['2']);
      expect(nd.issues.map((i) => i.code)).toEqual(['record_too_long']);
    });
    expect(growth).toBeLessThan(30);
  });

  it('refuses a 50 MB tag', async () => {
    const err = await failure(async () =>
      recordsOf(await parseXml(repeated('<p><i a="', 'v', size, '"/></p>'), { itemPath: 'p/i' })),
    );
    expect(err.message).toBe('XML: a tag longer than 1048576 characters');
  });
});

describe('hostile input: prototype names', () => {
  it('leaves Object.prototype untouched, whatever the names in any format', async () => {
    await recordsOf(await parseXml(chunked(fixture('prototype-names.xml'))));
    await recordsOf(
      await parseJson(chunked('[{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}]')),
    );
    await recordsOf(
      await parseNdjson(chunked('{"__proto__":{"polluted":1}}\n{"constructor":{"prototype":{"x":1}}}\n')),
    );
    const csv = await parseCsv(chunked('__proto__,constructor,prototype\n{"polluted":1},x,y\n'));
    for await (const _ of csv.records) {
      // read to the end
    }
    expect(csv.header).toEqual(['__proto__', 'constructor', 'prototype']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(prototypeUntouched()).toBe(true);
  });
});

describe('hostile input: not what it claims to be', () => {
  it('holds an HTML error page served as CSV, XML or JSON', async () => {
    for (const format of ['csv', 'xml', 'json'] as const) {
      const err = await failure(() => readFeed(chunked(fixture('html-error-page.csv')), { format }));
      expect(err.message).toMatch(/^the feed is an HTML page/);
    }
  });

  it('stops at invalid bytes in the declared encoding', async () => {
    const err = await failure(() => readFeed(chunked(fixture('invalid-utf8.csv')), { encoding: 'utf-8' }));
    expect(err.message).toMatch(/byte 0xE9 at byte offset 24 is not UTF-8/);
  });
});

describe('hostile input: large content outside items', () => {
  it('holds neither a 50 MB CDATA section outside items nor one in the detection window', async () => {
    const size = 50 * 1024 * 1024;
    const growth = await heapGrowth(async () => {
      const outside = await parseXml(
        repeated(
          '<rss><channel><description><![CDATA[',
          'c',
          size,
          ']]></description><item><s>1</s></item></channel></rss>',
        ),
      );
      expect((await recordsOf(outside)).map((r) => r.data.s)).toEqual(['1']);
      const err = await failure(async () =>
        recordsOf(
          await parseXml(repeated('<catalog><header><![CDATA[', 'c', size, ']]></header></catalog>')),
        ),
      );
      expect(err.message).toMatch(/no repeated element found in the first 2162688 characters/);
      const text = await failure(async () =>
        recordsOf(await parseXml(repeated('<catalog><header>', 't', size, '</header></catalog>'))),
      );
      expect(text.message).toMatch(/set options.itemPath/);
    });
    expect(growth).toBeLessThan(30);
  });
});
