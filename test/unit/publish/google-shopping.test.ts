import { describe, expect, it } from 'vitest';
import { googleAvailabilityOf } from '../../../src/channels/templates/google-shopping.js';
import { buildFeed, channel, product, readXml, xmlItems } from './helpers.js';

const GOOGLE_NS = 'http://base.google.com/ns/1.0';

const shirt = product('SHIRT-1', {
  title: 'Shirt',
  description: 'A cotton shirt',
  url: 'https://shop.example/shirt',
  image_url: 'https://shop.example/shirt.jpg',
  price: 12.5,
  currency: 'EUR',
  quantity: 7,
  manage_stock: true,
  brand: 'Acme',
  gtin: '4006381333931',
  parent_sku: 'SHIRT',
  category: 'Apparel > Shirts',
});

function googleItems(products: ReturnType<typeof product>[], options = {}, name?: string) {
  const { text, contentType } = buildFeed(
    channel({ preset: 'google-shopping', options, ...(name ? { name } : {}) }),
    products,
  );
  const doc = readXml(text);
  return { text, contentType, doc, items: xmlItems(doc) };
}

describe('google-shopping preset', () => {
  it('writes RSS 2.0 with the g namespace and the channel title, link and description', () => {
    const { text, contentType, doc } = googleItems([shirt], {
      title: 'Acme & Co',
      link: 'https://shop.example/',
      description: 'All products',
    });
    expect(
      text.startsWith(
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0">',
      ),
    ).toBe(true);
    expect(contentType).toBe('application/xml; charset=utf-8');
    const rss = doc.rss as Record<string, unknown>;
    expect(rss['@version']).toBe('2.0');
    expect(rss['@xmlns:g']).toBe(GOOGLE_NS);
    const ch = rss.channel as Record<string, unknown>;
    expect([ch.title, ch.link, ch.description]).toEqual([
      'Acme & Co',
      'https://shop.example/',
      'All products',
    ]);
  });

  it('names the channel after the definition when the options do not', () => {
    const { doc } = googleItems([], {}, 'Google FR');
    const ch = (doc.rss as Record<string, Record<string, unknown>>).channel as Record<string, unknown>;
    expect(ch.title).toBe('Google FR');
    expect(ch.description).toBe('Google FR');
    expect(ch.link).toBe('');
  });

  it('gives every item the elements Google requires, with the price as "12.50 EUR"', () => {
    const { items } = googleItems([shirt]);
    expect(items[0]).toEqual({
      'g:id': 'SHIRT-1',
      'g:title': 'Shirt',
      'g:description': 'A cotton shirt',
      'g:link': 'https://shop.example/shirt',
      'g:image_link': 'https://shop.example/shirt.jpg',
      'g:availability': 'in_stock',
      'g:price': '12.50 EUR',
      'g:brand': 'Acme',
      'g:gtin': '4006381333931',
      'g:item_group_id': 'SHIRT',
      'g:product_type': 'Apparel > Shirts',
    });
  });

  it('takes the currency from the product, else the channel, else writes the amount alone', () => {
    const noCurrency = product('B', { price: 3, sale_price: 2.499 });
    const withOwn = product('C', { price: 1234.5, currency: 'USD' });
    const fromChannel = googleItems([noCurrency, withOwn], { currency: 'EUR' }).items;
    expect(fromChannel.map((i) => [i['g:price'], i['g:sale_price']])).toEqual([
      ['3.00 EUR', '2.50 EUR'],
      ['1234.50 USD', undefined],
    ]);
    expect(googleItems([noCurrency]).items[0]?.['g:price']).toBe('3.00');
  });

  it('derives availability from the quantity left by the rules, and from the availability field when stock is not managed', () => {
    const cases = [
      product('zero', { quantity: 0, manage_stock: true, availability: 'in stock' }),
      product('some', { quantity: 2, manage_stock: true }),
      product('unmanaged', { quantity: null, manage_stock: false }),
      product('flagged-off', { quantity: 0, manage_stock: false }),
      product('preorder', { quantity: null, manage_stock: false, availability: 'Pre-Order' }),
      product('woo-backorder', { quantity: null, availability: 'onbackorder' }),
      product('sold-out', { quantity: null, availability: 'Out of stock' }),
      product('gibberish', { quantity: null, availability: 'ask us' }),
    ];
    const { items } = googleItems(cases);
    expect(Object.fromEntries(items.map((i) => [i['g:id'], i['g:availability']]))).toEqual({
      zero: 'out_of_stock',
      some: 'in_stock',
      unmanaged: 'in_stock',
      'flagged-off': 'in_stock',
      preorder: 'preorder',
      'woo-backorder': 'backorder',
      'sold-out': 'out_of_stock',
      gibberish: 'in_stock',
    });
  });

  it('reads common spellings of availability as Google values', () => {
    expect(
      [
        'in_stock',
        'InStock',
        'in stock',
        'https://schema.org/OutOfStock',
        'out-of-stock',
        'Backorder',
        'preorder',
        'maybe',
      ].map(googleAvailabilityOf),
    ).toEqual([
      'in_stock',
      'in_stock',
      'in_stock',
      'out_of_stock',
      'out_of_stock',
      'backorder',
      'preorder',
      undefined,
    ]);
  });

  it('leaves out elements the product has no value for, and writes no default condition', () => {
    const bare = product('BARE', { title: 'Bare', price: null, description: '' });
    const { items } = googleItems([bare]);
    expect(items[0]).toEqual({ 'g:id': 'BARE', 'g:title': 'Bare', 'g:availability': 'in_stock' });
  });

  it('lets the channel override a preset field in place, remove one with null and add its own', () => {
    const def = channel({
      preset: 'google-shopping',
      fields: {
        'g:title': '{{brand}} {{title}}',
        'g:gtin': null,
        'g:description': null,
        'g:custom_label_0': { const: 'summer' },
      },
    });
    const { columns, text } = buildFeed(def, [shirt]);
    expect(columns.slice(0, 3)).toEqual(['g:id', 'g:title', 'g:link']);
    expect(columns).not.toContain('g:gtin');
    expect(columns.at(-1)).toBe('g:custom_label_0');
    const item = xmlItems(readXml(text))[0];
    expect(item?.['g:title']).toBe('Acme Shirt');
    expect(item?.['g:custom_label_0']).toBe('summer');
    expect(item?.['g:gtin']).toBeUndefined();
  });

  it('writes list attributes as repeated elements and objects as nested g: elements', () => {
    const p = product(
      'S',
      { title: 'S' },
      {
        images: ['a.jpg', '', 'b.jpg'],
        shipping: { country: 'FR', price: '4.95 EUR', 'g:service': 'Standard' },
      },
    );
    const def = channel({
      preset: 'google-shopping',
      fields: { 'g:additional_image_link': 'images', 'g:shipping': 'shipping' },
    });
    const { text } = buildFeed(def, [p]);
    expect(text).toContain(
      '<g:additional_image_link>a.jpg</g:additional_image_link><g:additional_image_link>b.jpg</g:additional_image_link>',
    );
    expect(text).toContain(
      '<g:shipping><g:country>FR</g:country><g:price>4.95 EUR</g:price><g:service>Standard</g:service></g:shipping>',
    );
    readXml(text);
  });
});

describe('google-shopping images', () => {
  it('writes the first image of a comma-separated cell as image_link and the others as additional_image_link', () => {
    const hoodie = product('HOODIE', {
      ...shirt.fields,
      image_url: 'https://shop.example/h-1.jpg, https://shop.example/h-2.jpg,https://shop.example/h-3.jpg',
    });
    const { items, text } = googleItems([hoodie]);
    expect(items[0]?.['g:image_link']).toBe('https://shop.example/h-1.jpg');
    expect(text).toContain(
      '<g:additional_image_link>https://shop.example/h-2.jpg</g:additional_image_link><g:additional_image_link>https://shop.example/h-3.jpg</g:additional_image_link>',
    );
    const single = googleItems([shirt]);
    expect(single.items[0]?.['g:image_link']).toBe('https://shop.example/shirt.jpg');
    expect(single.text).not.toContain('additional_image_link');
  });

  it('republishes an imported additional_image_link list as repeated elements, at most ten', () => {
    const link = (n: number) => `https://cdn.example/tee/${n}.jpg`;
    // As a Google feed imports it: the main image in image_url, the others as a list.
    const tee = product(
      'TEE',
      { title: 'Tee', image_url: link(0) },
      { additional_image_link: [link(1), link(2)] },
    );
    const { items, text } = googleItems([tee]);
    expect(items[0]?.['g:image_link']).toBe(link(0));
    expect(text).toContain(
      `<g:additional_image_link>${link(1)}</g:additional_image_link><g:additional_image_link>${link(2)}</g:additional_image_link>`,
    );

    // Google takes ten: the others of a multi-image cell come first, then the list, without repeats.
    const many = product(
      'MANY',
      { title: 'Many', image_url: `${link(0)}, ${link(1)}` },
      { additional_image_link: Array.from({ length: 12 }, (_, i) => link(i + 1)) },
    );
    const written = [...googleItems([many]).text.matchAll(/<g:additional_image_link>([^<]*)</g)].map(
      (m) => m[1],
    );
    expect(written).toEqual(Array.from({ length: 10 }, (_, i) => link(i + 1)));

    // One link, as a CSV column gives it, is written too.
    const one = product('ONE', { title: 'One', image_url: link(0) }, { additional_image_link: link(5) });
    expect(googleItems([one]).text).toContain(
      `<g:additional_image_link>${link(5)}</g:additional_image_link>`,
    );
  });
});
