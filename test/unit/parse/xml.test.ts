import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FeedParseError } from '../../../src/parse/csv.js';
import { type RawObject, scalarText, valueAt } from '../../../src/parse/records.js';
import { GOOGLE_NAMESPACE, parseXml, type XmlOptions } from '../../../src/parse/xml.js';
import { chunked, fixture, plain, prototypeUntouched, recordsOf } from './helpers.js';

/** A record's data given back as a prototype-free object (as the reader gives it). */
function plainRecord(data: Record<string, unknown> | undefined): RawObject {
  return Object.assign(Object.create(null), data) as RawObject;
}

const PROTO = '__proto__';

async function readXml(data: Buffer | string, options: XmlOptions = {}, chunk = 64 * 1024) {
  const feed = await parseXml(chunked(data, chunk), options);
  const records = await recordsOf(feed);
  return { feed, records, data: records.map((r) => plain(r.data)) as Array<Record<string, unknown>> };
}

async function xmlError(
  data: Buffer | string,
  options: XmlOptions = {},
  chunk = 64 * 1024,
): Promise<FeedParseError> {
  try {
    await readXml(data, options, chunk);
  } catch (err) {
    expect(err).toBeInstanceOf(FeedParseError);
    return err as FeedParseError;
  }
  throw new Error('expected a FeedParseError');
}

describe('parseXml: Google Shopping RSS', () => {
  it("finds rss/channel/item and strips Google's g: by default, with lists, nesting, CDATA and entities", async () => {
    const { feed, records, data } = await readXml(fixture('google-shopping.xml'));
    expect(feed.itemPath).toBe('rss/channel/item');
    expect(feed.namespaces).toEqual({ g: GOOGLE_NAMESPACE });
    expect(records.map((r) => r.line)).toEqual([7, 30]);
    expect(feed.columns).toEqual([
      'id',
      'title',
      'description',
      'link',
      'image_link',
      'additional_image_link',
      'price',
      'availability',
      'brand',
      'gtin',
      'shipping',
    ]);
    const [first, second] = data;
    expect(first?.title).toBe('Salt & Pepper <Grinder> Set');
    expect(first?.description).toBe('Two grinders & a stand – ceramic ☕');
    expect(first?.link).toBe('https://shop.example/p/acme-001?ref=feed&utm=g');
    expect(first?.additional_image_link).toEqual([
      'https://cdn.example/acme-001/side.jpg',
      'https://cdn.example/acme-001/back.jpg',
      'https://cdn.example/acme-001/box.jpg',
    ]);
    expect(first?.gtin).toBe('04006381333931');
    // Nested elements follow the same rule.
    expect(first?.shipping).toEqual([
      { country: 'FR', service: 'Standard', price: '4.95 EUR' },
      { country: 'BE', price: '6.95 EUR' },
    ]);
    expect(second).toEqual({
      id: 'ACME-002',
      title: 'Mug "Morning" 35 cl',
      description: '',
      price: '9.50 EUR',
      sale_price: '7.90 EUR',
      availability: 'out_of_stock',
      brand: 'Acme',
    });
    expect([...feed.keysSeen]).toContain('sale_price');
    expect(feed.strippedName('g:price')).toBe('price');
    expect(feed.strippedName('title')).toBeNull();
  });

  it('keeps every name as written with stripNamespaces: []', async () => {
    const { feed, data } = await readXml(fixture('google-shopping.xml'), { stripNamespaces: [] });
    expect(feed.columns).toEqual([
      'g:id',
      'title',
      'description',
      'link',
      'g:image_link',
      'g:additional_image_link',
      'g:price',
      'g:availability',
      'g:brand',
      'g:gtin',
      'g:shipping',
    ]);
    expect(data[0]?.['g:shipping']).toEqual([
      { 'g:country': 'FR', 'g:service': 'Standard', 'g:price': '4.95 EUR' },
      { 'g:country': 'BE', 'g:price': '6.95 EUR' },
    ]);
    expect(data[1]).toEqual({
      'g:id': 'ACME-002',
      title: 'Mug "Morning" 35 cl',
      description: '',
      'g:price': '9.50 EUR',
      'g:sale_price': '7.90 EUR',
      'g:availability': 'out_of_stock',
      'g:brand': 'Acme',
    });
    expect(feed.strippedName('g:price')).toBeNull();
  });

  it("strips Google's namespace by default whatever prefix the feed binds it to, and no other", async () => {
    const xml =
      `<rss xmlns:google="${GOOGLE_NAMESPACE}" xmlns:media="http://search.yahoo.com/mrss/"><channel>` +
      '<item><google:id>1</google:id><google:price>2.00 EUR</google:price><media:content url="u"/></item>' +
      '</channel></rss>';
    const { data } = await readXml(xml);
    expect(data[0]).toEqual({ id: '1', price: '2.00 EUR', 'media:content': { '@url': 'u' } });
  });

  it('strips the g: prefix when asked, by prefix or by namespace URI', async () => {
    for (const stripNamespaces of [['g'], [GOOGLE_NAMESPACE], 'all' as const]) {
      const { data } = await readXml(fixture('google-shopping.xml'), { stripNamespaces });
      expect(data[0]?.price).toBe('24.90 EUR');
      expect(data[0]?.id).toBe('ACME-001');
      expect(data[0]?.shipping).toEqual([
        { country: 'FR', service: 'Standard', price: '4.95 EUR' },
        { country: 'BE', price: '6.95 EUR' },
      ]);
      expect(data[1]?.sale_price).toBe('7.90 EUR');
    }
  });

  it('keeps the prefix of a stripped name that the item also has unprefixed', async () => {
    const xml = `<rss xmlns:g="${GOOGLE_NAMESPACE}"><channel><item><g:title>G</g:title><title>Plain</title><g:id>1</g:id></item></channel></rss>`;
    for (const options of [{ stripNamespaces: ['g'] }, {}]) {
      const { data } = await readXml(xml, options);
      expect(data[0]).toEqual({ 'g:title': 'G', title: 'Plain', id: '1' });
    }
  });

  it('applies the same rule inside nested elements, each on its own', async () => {
    const xml =
      `<rss xmlns:g="${GOOGLE_NAMESPACE}"><channel><item><g:id>1</g:id>` +
      '<g:shipping><g:price>4.95 EUR</g:price><price>5</price><g:country>FR</g:country></g:shipping>' +
      '<g:shipping><g:price>6.95 EUR</g:price></g:shipping></item></channel></rss>';
    const { data } = await readXml(xml);
    expect(data[0]).toEqual({
      id: '1',
      shipping: [{ 'g:price': '4.95 EUR', price: '5', country: 'FR' }, { price: '6.95 EUR' }],
    });
  });

  it('does not strip a prefix bound to another namespace', async () => {
    const xml =
      '<rss xmlns:g="http://example.com/other"><channel><item><g:id>1</g:id></item></channel></rss>';
    expect((await readXml(xml, { stripNamespaces: [GOOGLE_NAMESPACE] })).data[0]).toEqual({ 'g:id': '1' });
    expect((await readXml(xml)).data[0]).toEqual({ 'g:id': '1' });
  });

  it('gives the same records whatever the chunk boundaries', async () => {
    const whole = await readXml(fixture('google-shopping.xml'));
    for (const size of [1, 2, 3, 7, 13, 100]) {
      const cut = await readXml(fixture('google-shopping.xml'), {}, size);
      expect(cut.data).toEqual(whole.data);
      expect(cut.records.map((r) => r.line)).toEqual(whole.records.map((r) => r.line));
    }
  });
});

describe('parseXml: item element', () => {
  it('recognises Atom feed/entry, with attributes as @name', async () => {
    const { feed, data } = await readXml(fixture('atom-feed.xml'));
    expect(feed.itemPath).toBe('feed/entry');
    expect(data).toHaveLength(2);
    expect(data[0]?.title).toEqual({ '@type': 'text', '#text': 'Salt & Pepper Set' });
    expect(data[0]?.link).toEqual({ '@rel': 'alternate', '@href': 'https://shop.example/p/acme-001' });
    // Google's g:price is stripped; g:id keeps its prefix, as the entry has an Atom <id> of its own.
    expect(data[1]?.price).toBe('9.50 EUR');
    expect(data[1]?.['g:id']).toBe('ACME-002');
    expect(data[1]?.id).toBe('tag:shop.example,2026:ACME-002');
  });

  it('detects the repeated element of a generic export, skipping the header parts', async () => {
    const { feed, records, data } = await readXml(fixture('generic-products.xml'));
    expect(feed.itemPath).toBe('export/products/product');
    expect(records.map((r) => r.line)).toEqual([6, 13, 20]);
    expect(feed.columns).toEqual(['@id', '@status', 'sku', 'name', 'price', 'stock', 'categories']);
    expect(data[0]).toEqual({
      '@id': 'P-1',
      '@status': 'active',
      sku: 'P-1',
      name: 'Desk lamp',
      price: { '@currency': 'EUR', '#text': '39.00' },
      stock: '12',
      categories: { category: ['Home', 'Lighting'] },
    });
    expect(data[1]?.stock).toBe('');
    expect(data[1]?.categories).toEqual({ category: 'Home' });
    expect(data[2]?.name).toBe('Bulb E27 <LED>');
    expect(scalarText(valueAt(records[0]?.data ?? {}, 'price'))).toBe('39.00');
    expect(valueAt(records[0]?.data ?? {}, 'categories/category')).toEqual(['Home', 'Lighting']);
  });

  it('prefers the list of products to a list of leaf values inside the first product', async () => {
    const xml =
      '<products><product><sku>1</sku><img>a</img><img>b</img></product><product><sku>2</sku><img>c</img></product></products>';
    const { feed, data } = await readXml(xml);
    expect(feed.itemPath).toBe('products/product');
    expect(data).toEqual([
      { sku: '1', img: ['a', 'b'] },
      { sku: '2', img: 'c' },
    ]);
  });

  it('takes a lone product as the only item', async () => {
    const { feed, data } = await readXml(
      '<catalog><products><product><sku>1</sku><name>Only</name></product></products></catalog>',
    );
    expect(feed.itemPath).toBe('catalog/products/product');
    expect(data).toEqual([{ sku: '1', name: 'Only' }]);
  });

  it('decides on a window when the feed is large, and reads on item by item', async () => {
    const items = Array.from(
      { length: 3000 },
      (_, i) => `<product><sku>S-${i}</sku><n>${'x'.repeat(300)}</n></product>`,
    );
    const xml = `<catalog><info><a>1</a></info><products>\n${items.join('\n')}\n</products></catalog>`;
    const { feed, records } = await readXml(xml, { maxRecordSize: 64 * 1024 }, 4096);
    expect(feed.itemPath).toBe('catalog/products/product');
    expect(records).toHaveLength(3000);
    expect(records.map((r) => r.data.sku)).toEqual(items.map((_, i) => `S-${i}`));
    expect(records[2999]?.line).toBe(3001);
  });

  it('reads every item of the detected path, in lists under several parents or alone', async () => {
    const group = (g: number, n: number) =>
      `<group>${Array.from({ length: n }, (_, i) => `<product><sku>${g}-${i}</sku><n>${'x'.repeat(40)}</n></product>`).join('')}</group>`;
    const skus = (sizes: number[]) =>
      sizes.flatMap((n, g) => Array.from({ length: n }, (_, i) => `${g}-${i}`));
    // A small document, decided at its end, and a large one, decided on its first window.
    for (const sizes of [[3, 1, 2], Array.from({ length: 60 }, (_, g) => (g % 7 === 3 ? 1 : 30))]) {
      const xml = `<catalog>${sizes.map((n, g) => group(g, n)).join('\n')}</catalog>`;
      const { feed, records } = await readXml(xml, { maxRecordSize: 1024 }, 1000);
      expect(feed.itemPath).toBe('catalog/group/product');
      expect(records.map((r) => r.data.sku)).toEqual(skus(sizes));
    }
  });

  it('matches the detected path as written and strips the items it finds', async () => {
    const product = (i: number) =>
      `<g:product><g:id>${i}</g:id><g:shipping><g:price>1 EUR</g:price></g:shipping><t>${'x'.repeat(40)}</t></g:product>`;
    for (const count of [3, 2000]) {
      const xml = `<g:products xmlns:g="${GOOGLE_NAMESPACE}"><g:list>${Array.from({ length: count }, (_, i) => product(i)).join('\n')}</g:list></g:products>`;
      const { feed, data } = await readXml(xml, { maxRecordSize: 1024, stripNamespaces: ['g'] }, 1000);
      expect(feed.itemPath).toBe('g:products/g:list/g:product');
      expect(data).toHaveLength(count);
      expect(data[count - 1]).toEqual({
        id: String(count - 1),
        shipping: { price: '1 EUR' },
        t: 'x'.repeat(40),
      });
      expect(
        data.every((d, i) => d.id === String(i) && (d.shipping as { price?: string }).price === '1 EUR'),
      ).toBe(true);
    }
  });

  it('uses an explicit itemPath, as a path or as a name', async () => {
    const xml =
      '<shop><offers><offer><id>1</id></offer></offers><gifts><offer><id>G</id></offer><offer><id>H</id></offer></gifts></shop>';
    expect((await readXml(xml, { itemPath: 'shop/offers/offer' })).data).toEqual([{ id: '1' }]);
    expect((await readXml(xml, { itemPath: '/shop/gifts/offer/' })).data).toEqual([{ id: 'G' }, { id: 'H' }]);
    expect((await readXml(xml, { itemPath: 'offer' })).data).toEqual([{ id: '1' }, { id: 'G' }, { id: 'H' }]);
    expect((await readXml(xml, { itemPath: 'shop/none' })).data).toEqual([]);
  });

  it("gives an item the line of its '<', whatever follows its name", async () => {
    const xml = '<p>\n<i\n  a="1"><s>1</s></i>\n<i\r\n><s>2</s></i>\n<i\r><s>3</s></i><i/></p>';
    for (const size of [1, 64 * 1024]) {
      const { records } = await readXml(xml, { itemPath: 'p/i' }, size);
      expect(records.map((r) => r.line)).toEqual([2, 4, 6, 7]);
    }
  });

  it('keeps text as written, normalises line breaks and drops white space between elements', async () => {
    const xml =
      '<p><i>\r\n  <a>  two  spaces  </a>\r\n  <b>line\r\nbreak&#13;&#10;kept</b>\r\n  <c> </c>\r\n  <d>mixed <e>x</e> text</d>\r\n</i></p>';
    const { data } = await readXml(xml, { itemPath: 'p/i' });
    expect(data[0]).toEqual({
      a: '  two  spaces  ',
      b: 'line\nbreak\r\nkept',
      c: ' ',
      // Inline markup keeps its words: the text of mixed content is all of it (issue 15).
      d: { e: 'x', '#text': 'mixed x text' },
    });
  });

  it('decodes references once, leading zeros and all', async () => {
    const { data } = await readXml(fixture('numeric-references.xml'));
    expect(data[0]?.double).toBe('&lt;b&gt; &amp;amp; &#38;');
    // `&#x0000003C;` is `<`: a character reference may have any number of leading zeros (issue 15).
    expect(data[0]?.chars).toBe('éé😀 <> AT&T');
  });

  it('reads attributes with either quote, entities, and > inside values', async () => {
    const { data } = await readXml(
      `<p><i a="1 &gt; 0" b='it''s' c="x>y" xmlns:z="urn:z" z:d="e"/><i a="2"/></p>`.replace("''", '&apos;'),
    );
    expect(data).toEqual([{ '@a': '1 > 0', '@b': "it's", '@c': 'x>y', '@z:d': 'e' }, { '@a': '2' }]);
  });
  it('accepts a DOCTYPE without entities and processing instructions, reading nothing they point to', async () => {
    const xml =
      '<?xml version="1.0"?>\n<?xml-stylesheet type="text/xsl" href="feed.xsl"?>\n' +
      '<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" "http://my.netscape.com/publish/formats/rss-0.91.dtd">\n' +
      '<rss version="0.91"><channel><item><title>A</title><?pi inside?></item></channel></rss>';
    const { data } = await readXml(xml);
    expect(data).toEqual([{ title: 'A' }]);
  });
});

describe('parseXml: problems with one item', () => {
  it('reports an item over maxRecordSize and reads on', async () => {
    const big = `<product><sku>BIG</sku><d>${'é'.repeat(3000)}</d></product>`;
    const xml = `<products>\n<product><sku>1</sku></product>\n${big}\n<product><sku>3</sku></product>\n</products>`;
    for (const chunk of [17, 64 * 1024]) {
      const { records, feed } = await readXml(
        xml,
        { itemPath: 'products/product', maxRecordSize: 4096 },
        chunk,
      );
      expect(records.map((r) => r.data.sku)).toEqual(['1', '3']);
      expect(records.map((r) => r.line)).toEqual([2, 4]);
      expect(feed.issues).toEqual([
        { line: 3, sku: null, code: 'record_too_long', message: 'item longer than 4096 bytes' },
      ]);
    }
  });

  it('counts an item in UTF-8 bytes, not characters', async () => {
    // 1,500 characters, 3,000 bytes.
    const xml = `<products><product><d>${'é'.repeat(1500)}</d></product><product><d>ok</d></product></products>`;
    const { records, feed } = await readXml(xml, { itemPath: 'product', maxRecordSize: 2048 });
    expect(records.map((r) => r.data.d)).toEqual(['ok']);
    expect(feed.issues[0]?.code).toBe('record_too_long');
  });

  it('counts an item in UTF-8 bytes while the item element is detected too', async () => {
    // 1,500 characters, 3,000 bytes: refused, whether the item path is given or detected.
    const xml = `<products><product><d>${'é'.repeat(1500)}</d></product><product><d>ok</d></product><product><d>ok2</d></product></products>`;
    for (const options of [{ itemPath: 'products/product' }, {}]) {
      const { records, feed } = await readXml(xml, { ...options, maxRecordSize: 2048 }, 100);
      expect(records.map((r) => r.data.d)).toEqual(['ok', 'ok2']);
      expect(feed.issues).toEqual([
        { line: 1, sku: null, code: 'record_too_long', message: 'item longer than 2048 bytes' },
      ]);
    }
  });

  it('reports an item nested deeper than maxDepth and reads on', async () => {
    const deep = `${'<a>'.repeat(50)}x${'</a>'.repeat(50)}`;
    const xml = `<products><product><sku>1</sku>${deep}</product><product><sku>2</sku></product></products>`;
    const { records, feed } = await readXml(xml, { itemPath: 'product' });
    expect(records.map((r) => r.data.sku)).toEqual(['2']);
    expect(feed.issues).toEqual([
      { line: 1, sku: null, code: 'malformed_record', message: 'item nested deeper than 32 levels' },
    ]);
  });

  it('reports an item nested deeper than maxDepth and reads on while the item element is detected', async () => {
    const deep = `${'<a>'.repeat(50)}x${'</a>'.repeat(50)}`;
    const xml =
      '<products>\n<product><sku>1</sku></product>\n' +
      `<product><sku>2</sku>\n${deep}</product>\n` +
      '<product><sku>3</sku></product>\n</products>';
    for (const chunk of [7, 64 * 1024]) {
      const { records, feed } = await readXml(xml, {}, chunk);
      expect(feed.itemPath).toBe('products/product');
      expect(records.map((r) => [r.line, r.data.sku])).toEqual([
        [2, '1'],
        [5, '3'],
      ]);
      expect(feed.issues).toEqual([
        { line: 3, sku: null, code: 'malformed_record', message: 'item nested deeper than 32 levels' },
      ]);
    }
  });

  it('reports an item nested too deep that is still open when the detection window fills', async () => {
    // The window is twice maxRecordSize plus 64 KiB; the deep item straddles its end.
    const max = 4096;
    const window = 2 * max + 64 * 1024;
    let xml = '<products>\n';
    let n = 0;
    while (xml.length < window - 500) xml += `<product><sku>P-${++n}</sku><n>x</n></product>\n`;
    const line = n + 2;
    const deep = `${'<a>'.repeat(50)}x${'</a>'.repeat(50)}`;
    xml += `<product><sku>DEEP</sku>${deep}<d>${'y'.repeat(1000)}</d></product>\n`;
    xml += '<product><sku>LAST</sku><n>x</n></product>\n</products>';
    expect(xml.indexOf('<d>')).toBeLessThan(window);
    expect(xml.indexOf('</d>')).toBeGreaterThan(window);

    const { records, feed } = await readXml(xml, { maxRecordSize: max });
    expect(records).toHaveLength(n + 1);
    expect(records.at(-1)?.data.sku).toBe('LAST');
    expect(records.some((r) => r.data.sku === 'DEEP')).toBe(false);
    expect(feed.issues).toEqual([
      { line, sku: null, code: 'malformed_record', message: 'item nested deeper than 32 levels' },
    ]);
  });

  it('decodes references once, leading zeros and all', async () => {
    const { data } = await readXml(fixture('numeric-references.xml'));
    expect(data[0]?.double).toBe('&lt;b&gt; &amp;amp; &#38;');
    // `&#x0000003C;` is `<`: a character reference may have any number of leading zeros (issue 15).
    expect(data[0]?.chars).toBe('éé😀 <> AT&T');
  });
});

describe('parseXml: problems that stop the feed', () => {
  it('refuses a truncated document, with its line', async () => {
    const err = await xmlError(fixture('truncated.xml'));
    expect(err.message).toBe(
      'XML: the document ends inside <products><product><name>: the feed is truncated',
    );
    expect(err.line).toBe(5);
  });

  it('refuses a document cut inside a tag, a comment or CDATA', async () => {
    expect((await xmlError('<products><product><sku')).message).toMatch(/ends inside a tag/);
    expect((await xmlError('<products><!-- cut')).message).toMatch(/ends inside a comment/);
    expect((await xmlError('<products><p><![CDATA[cut')).message).toMatch(/ends inside a CDATA section/);
  });

  it('refuses text that is not XML, an empty document and a second root', async () => {
    expect((await xmlError('sku,name\n1,2\n')).message).toMatch(
      /text before the root element: not an XML document/,
    );
    expect((await xmlError('  ')).message).toMatch(/no root element/);
    expect((await xmlError('<a></a><b></b>')).message).toMatch(/a second root element <b>/);
    expect((await xmlError('<a></a>trailing')).message).toMatch(/text after the root element/);
  });

  it('refuses badly nested structure outside items', async () => {
    const err = await xmlError('<rss><channel><item><a>1</a></item></rss>');
    expect(err.message).toBe('XML: </rss> closes <channel>');
  });

  it('refuses a badly nested item too: the feed is not well-formed, where it went wrong', async () => {
    // Once a row error read on (a malformed item cannot be told from a malformed feed); issue 15:
    // a feed that is not well-formed holds the run.
    const xml =
      '<products>\n<product><sku>1</sku><a><b>x</a></product>\n<product><sku>2</sku></product>\n</products>';
    const err = await xmlError(xml, { itemPath: 'products/product' });
    expect([err.message, err.line, err.column]).toEqual(['XML: </a> closes <b>', 2, 32]);
  });

  it('refuses elements nested deeper than maxDepth outside the items, detected or given', async () => {
    const deep = `${'<a>'.repeat(50)}x${'</a>'.repeat(50)}`;
    const xml =
      `<catalog>\n<meta>\n${deep}</meta>\n` +
      '<product><sku>1</sku><n>x</n></product><product><sku>2</sku><n>y</n></product>\n</catalog>';
    for (const options of [{}, { itemPath: 'catalog/product' }]) {
      const err = await xmlError(xml, options);
      expect(err.message).toBe('XML: elements nested deeper than 32 levels');
      expect(err.line).toBe(3);
    }
  });

  it('refuses an HTML page', async () => {
    expect((await xmlError('<!DOCTYPE html><html><body>x</body></html>')).message).toMatch(/HTML page/);
    expect((await xmlError('<html><body>x</body></html>')).message).toMatch(/HTML page/);
  });

  it('says how to go on when no repeated element appears in the detection window', async () => {
    const xml = `<catalog><product><sku>1</sku><d>${'x'.repeat(100_000)}</d></product><product><sku>2</sku></product></catalog>`;
    const err = await xmlError(xml, { maxRecordSize: 1024 });
    expect(err.message).toMatch(/set options.itemPath/);
  });
});

describe('parseXml: prototype names', () => {
  it('keeps __proto__, constructor and prototype as plain keys and leaves Object.prototype alone', async () => {
    const { records } = await readXml(fixture('prototype-names.xml'));
    expect(records).toHaveLength(2);
    const [first, second] = records;
    expect(Object.getPrototypeOf(first?.data)).toBeNull();
    expect(Object.keys(first?.data ?? {})).toEqual([
      '@__proto__',
      'sku',
      '__proto__',
      'constructor',
      'prototype',
      'hasOwnProperty',
    ]);
    expect(Object.hasOwn(first?.data ?? {}, '__proto__')).toBe(true);
    expect(plain(first?.data[PROTO])).toEqual({ polluted: 'yes' });
    expect(plain(first?.data.constructor)).toEqual({ prototype: { polluted: 'yes' } });
    expect(first?.data.hasOwnProperty).toBe('shadow');
    expect(second?.data[PROTO]).toEqual(['text', 'twice']);
    expect(second?.data.toString).toBeUndefined();
    expect(prototypeUntouched()).toBe(true);
  });
});

describe('parseXml: namespace declarations', () => {
  it('keeps odd prefixes as plain keys of the namespaces map', async () => {
    const { feed, data } = await readXml(
      '<p xmlns:__proto__="urn:x" xmlns:constructor="urn:y"><i><__proto__:a>1</__proto__:a></i></p>',
      { itemPath: 'p/i', stripNamespaces: ['urn:x'] },
    );
    expect(Object.keys(feed.namespaces)).toEqual(['__proto__', 'constructor']);
    expect(data).toEqual([{ a: '1' }]);
    expect(prototypeUntouched()).toBe(true);
  });
});

/** `[message, line, column]` of the error a document is refused with, the same at any chunk size. */
async function refusal(xml: string | Buffer, options: XmlOptions = {}): Promise<[string, number?, number?]> {
  const seen = new Set<string>();
  let first: [string, number?, number?] | undefined;
  for (const size of [1, 7, 64 * 1024]) {
    const err = await xmlError(xml, options, size);
    first ??= [err.message, err.line, err.column];
    seen.add(JSON.stringify([err.message, err.line, err.column]));
  }
  expect([...seen]).toHaveLength(1);
  return first as [string, number?, number?];
}

describe('parseXml: a feed that is not well-formed is refused where it goes wrong (issue 15)', () => {
  const doc = (body: string) =>
    `<?xml version="1.0"?>\n<products>\n  <product>\n    <sku>1</sku>\n${body}\n  </product>\n</products>\n`;

  it.each([
    [
      'a bare &',
      '    <title>Tom & Jerry</title>',
      "XML: '&' not followed by an entity or character reference and ';': a bare & is written &amp;",
      5,
      16,
    ],
    [
      'a bare & in an attribute',
      '    <link href="?a=1&b=2"/>',
      "XML: '&' not followed by an entity or character reference and ';': a bare & is written &amp;",
      5,
      21,
    ],
    [
      'a bare < in text',
      '    <weight>less than < 5 kg</weight>',
      "XML: '<' not followed by a tag name: a '<' in text is written &lt;",
      5,
      23,
    ],
    ['a < in an attribute', '    <img alt="a<b"/>', "XML: '<' in an attribute value: write it &lt;", 5, 16],
    ["']]>' in text", '    <note>a]]>b</note>', "XML: ']]>' in text: write it ]]&gt;", 5, 12],
    [
      'a duplicate attribute',
      '    <price currency="EUR" currency="USD">1</price>',
      'XML: the attribute currency appears twice in <price>',
      5,
      41,
    ],
    [
      'an unquoted attribute value',
      '    <price currency=EUR>1</price>',
      'XML: an attribute value without quotes in <price> (write name="value")',
      5,
      21,
    ],
    ['&#0;', '    <t>a&#0;b</t>', 'XML: &#0; refers to a character XML does not allow', 5, 9],
    ['&#xFFFE;', '    <t>&#xFFFE;</t>', 'XML: &#xFFFE; refers to a character XML does not allow', 5, 8],
    [
      'a lone surrogate reference',
      '    <t>&#xD800;</t>',
      'XML: &#xD800; refers to a character XML does not allow',
      5,
      8,
    ],
    [
      'a reference past Unicode',
      '    <t>&#99999999;</t>',
      'XML: &#99999999; refers to a character XML does not allow',
      5,
      8,
    ],
    [
      'an undefined entity',
      '    <t>&unknown;</t>',
      'XML: &unknown; is not defined (XML defines &amp; &lt; &gt; &quot; &apos;; a bare & is written &amp;)',
      5,
      8,
    ],
    ['an end tag that closes another element', '    <a><b>x</a>', 'XML: </a> closes <b>', 5, 15],
    [
      'an undeclared prefix',
      '    <g:price>1</g:price>',
      'XML: <g:price>: the prefix g is not declared (xmlns:g="…" is missing)',
      5,
      13,
    ],
    ["'--' in a comment", '    <!-- a -- b -->', "XML: '--' inside a comment", 5, 14],
  ])('%s', async (_what, body, message, line, column) => {
    expect(await refusal(doc(body))).toEqual([message, line, column]);
  });

  it('finds a bare & at its place when the feed is cut right after it', async () => {
    const xml = '<p>\n<i><t>Tom &';
    for (const size of [1, 2, xml.length]) {
      const err = await xmlError(`${xml} Jerry</t></i>\n</p>`, {}, size);
      expect([err.line, err.column]).toEqual([2, 11]);
    }
  });

  it('refuses a reference longer than 1024 characters (leading zeros have no end)', async () => {
    const [message, line, column] = await refusal(`<p><i><t>&#x${'0'.repeat(2000)}3C;</t></i></p>`);
    expect([message, line, column]).toEqual([
      'XML: an entity or character reference longer than 1024 characters',
      1,
      10,
    ]);
    expect((await readXml(`<p><i><t>&#x${'0'.repeat(1000)}3C;</t></i></p>`)).data[0]).toEqual({ t: '<' });
  });

  it('refuses a DOCTYPE declaring entities, even after a comment holding ] and >', async () => {
    const xml = '<!DOCTYPE p [\n<!-- ] > -->\n<!ENTITY x "y">\n]>\n<p><i>&x;</i></p>';
    expect(await refusal(xml)).toEqual([
      'XML: the DOCTYPE declares entities (<!ENTITY …>); entity declarations are refused, ' +
        'as their expansion ("billion laughs") can exhaust the server',
      1,
      undefined,
    ]);
  });
});

describe('parseXml: valid XML read right (issue 15)', () => {
  it('reads past a DOCTYPE whose internal subset holds a comment with ] and >', async () => {
    const xml =
      '<?xml version="1.0"?>\n<!DOCTYPE products [\n  <!-- ] and > and <!ENTITY in a comment -->\n' +
      '  <!ELEMENT products (product*)>\n  <!ATTLIST product id CDATA "x]>">\n]>\n' +
      '<products><product><sku>1</sku></product><product><sku>2</sku></product></products>';
    const { records } = await readXml(xml);
    expect(records.map((r) => [r.line, r.data.sku])).toEqual([
      [7, '1'],
      [7, '2'],
    ]);
  });

  it('keeps the words of inline markup in the text of mixed content', async () => {
    const { data } = await readXml(
      '<p><i><title>Mixed <b>bold</b> title</title><d><b>Only</b> <i>inline</i> <u>and <i>nested</i></u>!</d>' +
        '<shipping>\n  <country>FR</country>\n</shipping><price currency="EUR">1.00</price></i></p>',
      { itemPath: 'p/i' },
    );
    expect(data[0]).toEqual({
      title: { b: 'bold', '#text': 'Mixed bold title' },
      d: {
        b: 'Only',
        i: 'inline',
        u: { i: 'nested', '#text': 'and nested' },
        '#text': 'Only inline and nested!',
      },
      // White space around child elements is not text of its own.
      shipping: { country: 'FR' },
      price: { '@currency': 'EUR', '#text': '1.00' },
    });
    expect(scalarText(valueAt(plainRecord(data[0]), 'title'))).toBe('Mixed bold title');
  });

  it('scopes namespace prefixes per element: a prefix re-bound inside an item is not Google’s there', async () => {
    const xml =
      `<rss xmlns:g="${GOOGLE_NAMESPACE}"><channel>` +
      '<item><g:id>1</g:id><g:color>red</g:color></item>' +
      `<item xmlns:g="http://example.com/other" xmlns:gs="${GOOGLE_NAMESPACE}"><gs:id>2</gs:id>` +
      `<g:size g:unit="cm" gs:system="EU"><g:value xmlns:g="${GOOGLE_NAMESPACE}">40</g:value></g:size>` +
      '<g:color>blue</g:color></item>' +
      '<item><g:id>3</g:id><g:color>green</g:color></item>' +
      '</channel></rss>';
    const { feed, data } = await readXml(xml);
    expect(data).toEqual([
      { id: '1', color: 'red' },
      // In the item, g: is the other namespace, but where an element binds it to Google's again.
      {
        id: '2',
        'g:size': { '@g:unit': 'cm', '@system': 'EU', value: '40' },
        'g:color': 'blue',
      },
      // The binding ends with the item that made it.
      { id: '3', color: 'green' },
    ]);
    // The feed's own view of a prefix is its first binding.
    expect(feed.namespaces).toEqual({ g: GOOGLE_NAMESPACE, gs: GOOGLE_NAMESPACE });
    expect(feed.strippedName('g:color')).toBe('color');
  });

  it('reads a default namespace and its undeclaration, and keeps xml: names', async () => {
    const { data } = await readXml('<p xmlns="urn:a"><i xml:lang="fr"><t>1</t><u xmlns="">2</u></i></p>', {
      stripNamespaces: 'all',
    });
    expect(data).toEqual([{ '@xml:lang': 'fr', t: '1', u: '2' }]);
  });
});

describe('parseXml: what is mended, with one warning per run (issue 15)', () => {
  it('decodes HTML named entities and names each with its count', async () => {
    const xml =
      '<p>\n<i><t>Caf&eacute;&nbsp;cr&egrave;me</t></i>\n<i><t a="x&nbsp;y">500&nbsp;g &amp; &euro;</t></i>\n</p>';
    for (const size of [1, 64 * 1024]) {
      const { feed, data } = await readXml(xml, {}, size);
      expect(data).toEqual([
        { t: 'Café\u00a0crème' },
        { t: { '@a': 'x\u00a0y', '#text': '500\u00a0g & €' } },
      ]);
      expect(feed.warnings).toEqual([
        {
          line: 2,
          sku: null,
          code: 'html_entities',
          message:
            'decoded HTML entities, which XML does not define: &nbsp; (3), &eacute; (1), &egrave; (1), &euro; (1) ' +
            '(options.htmlEntities "refuse" holds such a feed instead)',
        },
      ]);
    }
  });

  it('refuses HTML named entities with htmlEntities: "refuse", at the first one', async () => {
    expect(await refusal('<p>\n<i><t>Caf&eacute;</t></i>\n</p>', { htmlEntities: 'refuse' })).toEqual([
      'XML: &eacute; is an HTML entity, which XML does not define (options.htmlEntities is "refuse")',
      2,
      10,
    ]);
  });

  it('knows no entity named after Object.prototype', async () => {
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      const [message] = await refusal(`<p><i><t>&${name};</t></i></p>`);
      expect(message).toMatch(new RegExp(`^XML: &${name}; is not defined`));
    }
    expect(prototypeUntouched()).toBe(true);
  });

  it('removes characters XML allows nowhere (C0 controls, U+FFFE, U+FFFF), and says which', async () => {
    const xml =
      '<p>\n<i><t>bell\u0007 and\tescape\u001b[0m</t></i>\n<i><t a="v\u000btab">NUL\u0000 \ufffe\uffff end</t></i>\n</p>';
    for (const size of [1, 64 * 1024]) {
      const { feed, data } = await readXml(xml, {}, size);
      expect(data).toEqual([{ t: 'bell and\tescape[0m' }, { t: { '@a': 'vtab', '#text': 'NUL  end' } }]);
      expect(feed.warnings).toEqual([
        {
          line: 2,
          sku: null,
          code: 'control_characters',
          message:
            'removed characters XML does not allow: U+0007 (1), U+001B (1), U+000B (1), U+0000 (1), U+FFFE (1), U+FFFF (1)',
        },
      ]);
    }
  });

  it('warns of nothing in a feed that needs no mending', async () => {
    const { feed } = await readXml(fixture('google-shopping.xml'));
    expect(feed.warnings).toEqual([]);
  });
});

describe('parseXml: speed', () => {
  it('leaves saxes an object with fast properties (a dictionary-mode parser reads three times slower)', () => {
    // V8 only tells with --allow-natives-syntax: asked in a process of its own.
    const reader = fileURLToPath(new URL('../../../src/parse/xml-reader.ts', import.meta.url));
    const script =
      `import { XmlItemReader } from ${JSON.stringify(reader)};\n` +
      'const r = new XmlItemReader({ stripNamespaces: [] }, [], []);\n' +
      'r.write(\'<?xml version="1.0"?><a><b>x</b><!-- c --><?pi x?><b><![CDATA[y]]></b></a>\');\n' +
      'console.log(%HasFastProperties(r.parser));';
    const out = execFileSync(
      process.execPath,
      ['--allow-natives-syntax', '--import', 'tsx', '--input-type=module', '-e', script],
      { encoding: 'utf8' },
    );
    expect(out.trim()).toBe('true');
  });
});
