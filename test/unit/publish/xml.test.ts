import { describe, expect, it } from 'vitest';
import { buildFeed, channel, product, readXml, xmlItems } from './helpers.js';

describe('generic xml feed', () => {
  it('writes <products><product>…</product></products> with one product per line', () => {
    const { text, contentType } = buildFeed(channel({ preset: 'generic-xml', fields: { weight: null } }), [
      product('A', { title: 'One', price: 12.5, quantity: 3 }),
      product('B', { title: 'Two' }),
    ]);
    expect(text).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>\n<products>\n' +
        '<product><sku>A</sku><title>One</title><price>12.5</price><quantity>3</quantity></product>\n' +
        '<product><sku>B</sku><title>Two</title></product>\n' +
        '</products>\n',
    );
    expect(contentType).toBe('application/xml; charset=utf-8');
  });

  it('removes characters XML 1.0 forbids, escapes markup, and the result parses to the remaining text', () => {
    const dirty = 'a\u0000b\u0008c\u000bd\u001fe\ufffef\uffffg\ud800h\udc00i 😀 ]]> & <x> "q" \t\n\r end';
    const { text } = buildFeed(channel({ format: 'xml', fields: { title: 'title' } }), [
      product('A', { title: dirty }),
    ]);
    expect(text).toContain('<title>abcdefghi 😀 ]]&gt; &amp; &lt;x&gt; "q" \t\n&#13; end</title>');
    expect(xmlItems(readXml(text))[0]?.title).toBe('abcdefghi 😀 ]]> & <x> "q" \t\n\r end');
  });

  it('leaves out an element whose text is nothing but forbidden characters', () => {
    const { text } = buildFeed(channel({ format: 'xml', fields: { sku: 'sku', title: 'title' } }), [
      product('A', { title: '\u0001\ud800' }),
    ]);
    expect(text).toContain('<product><sku>A</sku></product>');
  });

  it('declares the g namespace only when a column uses it', () => {
    const plain = buildFeed(channel({ format: 'xml', fields: { sku: 'sku' } }), []).text;
    expect(plain).toContain('<products>\n');
    const google = buildFeed(channel({ format: 'xml', fields: { 'g:id': 'sku' } }), [product('A', {})]).text;
    expect(google).toContain(
      '<products xmlns:g="http://base.google.com/ns/1.0">\n<product><g:id>A</g:id></product>',
    );
    readXml(google);
  });

  it('sanitizes names from data so that any nested object gives well-formed XML', () => {
    const p = product(
      'A',
      {},
      {
        specs: {
          'Screen size': '15"',
          '2nd': 'x',
          'x:y': 'prefixed',
          'g:z': 'google prefix, undeclared here',
          '': 'empty name',
          '@unit': 'cm & "in"',
          '@xmlns': 'http://evil.example/',
          '#text': 'own text',
          nested: { deeper: ['one', 'two'], nothing: null },
          empty: {},
        },
      },
    );
    const { text } = buildFeed(channel({ format: 'xml', fields: { specs: 'specs' } }), [p]);
    expect(text).toContain(
      '<specs unit="cm &amp; &quot;in&quot;" _xmlns="http://evil.example/">own text' +
        '<Screen_size>15"</Screen_size><_2nd>x</_2nd><x_y>prefixed</x_y><g_z>google prefix, undeclared here</g_z>' +
        '<_>empty name</_><nested><deeper>one</deeper><deeper>two</deeper></nested></specs>',
    );
    readXml(text);
  });

  it('keeps names of common scripts and replaces what some parsers would refuse', () => {
    const p = product('A', {}, { specs: { Größe: 'M', цена: '5', 色: 'red', 'size 😀': 'L', '²': 'x' } });
    const { text } = buildFeed(channel({ format: 'xml', fields: { specs: 'specs' } }), [p]);
    expect(text).toContain(
      '<specs><Größe>M</Größe><цена>5</цена><色>red</色><size__>L</size__><_>x</_></specs>',
    );
    readXml(text);
  });

  it('writes a column whose name XML refuses under a sanitized name rather than break the document', () => {
    const { text } = buildFeed(channel({ format: 'xml', fields: { 'Variant SKU': 'sku' } }), [
      product('A', {}),
    ]);
    expect(text).toContain('<Variant_SKU>A</Variant_SKU>');
  });
});

describe('json feed', () => {
  it('is an array with one item per line, valid when empty too', () => {
    const def = channel({ format: 'json', fields: { sku: 'sku', price: 'price', tags: 'tags' } });
    const { text, contentType } = buildFeed(def, [
      product('A', { price: 1.5 }, { tags: ['x', 'y'] }),
      product('B', {}),
    ]);
    expect(text).toBe(
      '[\n{"sku":"A","price":1.5,"tags":["x","y"]},\n{"sku":"B","price":null,"tags":null}\n]\n',
    );
    expect(contentType).toBe('application/json; charset=utf-8');
    expect(JSON.parse(buildFeed(def, []).text)).toEqual([]);
  });
});
