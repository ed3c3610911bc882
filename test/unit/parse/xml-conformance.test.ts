import { SaxesParser } from 'saxes';
import { describe, expect, it } from 'vitest';
import { FeedParseError } from '../../../src/parse/csv.js';
import { parseXml } from '../../../src/parse/xml.js';
import { chunked, recordsOf } from './helpers.js';

// The XML reader is saxes, but not only: namespaces are scoped by feedwright's own
// NamespaceScope (saxes's `xmlns` mode is quadratic in the nesting), references are looked at
// before saxes reads them (a bare & is reported where it is), and entity names go through a
// table of HTML's. This holds the whole to saxes with its `xmlns` mode, the trusted library:
// every document must be accepted or refused by both alike. (fast-xml-parser's XMLValidator
// is no such reference: it accepts `<a>]]></a>`, `<a b="<"/>`, `<a>&#0;</a>`, `<p:a/>`…)

/** Well-formed and namespace-well-formed documents. */
const WELL_FORMED = [
  '<a/>',
  '<a>x</a>',
  '  <a/>  ',
  '<?xml version="1.0"?>\n<a b="1" c=\'2\'>x &amp; &lt; &gt; &quot; &apos; &#65; &#x41; &#x0000041;</a>',
  '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><a/>',
  '<a><![CDATA[<&]]]></a>',
  '<!-- c --><a><!-- d --><?pi x?></a><!-- e -->',
  '<!DOCTYPE a [<!-- ] > --><!ELEMENT a ANY><?pi ]>?>]><a/>',
  '<!DOCTYPE a SYSTEM "a]>.dtd"><a/>',
  '<!DOCTYPE a [<!ATTLIST a b CDATA "x]>">]><a/>',
  '<a xmlns="urn:x"><b xmlns="">y</b></a>',
  '<p:a xmlns:p="urn:p"><p:b p:c="1"/></p:a>',
  '<a xmlns:p="urn:1"><b xmlns:p="urn:2"><p:c/></b><p:d/></a>',
  '<a xmlns:p="urn:1" xmlns:q="urn:2" p:x="1" q:x="2"/>',
  '<a xml:lang="fr" xmlns:xml="http://www.w3.org/XML/1998/namespace"/>',
  '<?xml version="1.1"?><a xmlns:p="urn:p"><b xmlns:p=""/></a>',
  '<a>\r\n<b>\r</b></a>',
  '<a>]]</a>',
  '<a>]></a>',
  '<a b="&#60;&gt;"/>',
  '<a>&#x10FFFF;</a>',
  '<a>\u00e9\ud83d\ude00\u2028</a>',
  '<a>text<b>inline</b>more</a>',
  '<a><b/><b/><c><d/></c></a>',
];

/** Documents that are not well-formed (or not namespace-well-formed). */
const MALFORMED = [
  '',
  '   ',
  'text',
  '<a>',
  '<a></b>',
  '<a><b></a></b>',
  '<a/><b/>',
  'x<a/>',
  '<a/>x',
  '<a>&</a>',
  '<a>& b</a>',
  '<a>AT&T;</a>',
  '<a>a<b</a>',
  '<a>< b</a>',
  '<a b="<"/>',
  '<a b="&"/>',
  '<a b="Tom & Jerry"/>',
  '<a>]]></a>',
  '<a b="1" b="2"/>',
  '<a b=1/>',
  '<a b/>',
  '<a b="1"c="2"/>',
  '<a>&#0;</a>',
  '<a>&#xFFFE;</a>',
  '<a>&#xD800;</a>',
  '<a>&#x110000;</a>',
  '<a>&#x1;</a>',
  '<a>&nbsp;</a>',
  '<a>&unknown;</a>',
  '<a>&;</a>',
  '<a>&#;</a>',
  '<a>&#x;</a>',
  '<a>&#12a;</a>',
  '<!-- a -- b --><a/>',
  '<a></>',
  '<a/><!DOCTYPE a>',
  '<!DOCTYPE a><!DOCTYPE a><a/>',
  '<a/><?xml version="1.0"?>',
  ' <?xml version="1.0"?><a/>',
  '<?xml encoding="UTF-8"?><a/>',
  '<?xml version="2.0"?><a/>',
  '<!FOO><a/>',
  '<a><!FOO></a>',
  '<p:a/>',
  '<a p:b="1"/>',
  '<a xmlns:p=""/>',
  '<a xmlns:xml="urn:x"/>',
  '<a xmlns:xmlns="urn:x"/>',
  '<xmlns:a/>',
  '<a:b:c xmlns:a="urn:a"/>',
  '<:a/>',
  '<a: xmlns:a="urn:a"/>',
  '<a xmlns:p="urn:1" xmlns:q="urn:1" p:x="1" q:x="2"/>',
  '<a><?p:q x?></a>',
  '<a xmlns="http://www.w3.org/2000/xmlns/"/>',
  '<a xmlns:p="http://www.w3.org/XML/1998/namespace"/>',
  '<a><b xmlns:p="urn:p"/><p:c/></a>',
  '<a><b></a>',
  '<a><!-- x',
  '<a><![CDATA[x',
  '<a b="x',
  '<?pi',
  '<!DOCTYPE a [',
  '<a>&amp',
];

/** Whether saxes, with its namespace checks, reads a document to its end without an error. */
function saxesAccepts(xml: string): boolean {
  const parser = new SaxesParser({ xmlns: true });
  let failed = false;
  parser.on('error', () => {
    failed = true;
  });
  parser.write(xml).close();
  return !failed;
}

/** Whether parseXml reads a document to its end; HTML entities refused, as XML does. */
async function readerAccepts(xml: string, chunk = 64 * 1024): Promise<boolean> {
  try {
    await recordsOf(await parseXml(chunked(xml, chunk), { htmlEntities: 'refuse' }));
    return true;
  } catch (err) {
    if (err instanceof FeedParseError) return false;
    throw err;
  }
}

describe('parseXml accepts and refuses documents as saxes does', () => {
  it.each(WELL_FORMED)('accepts %j', async (xml) => {
    expect(saxesAccepts(xml)).toBe(true);
    expect(await readerAccepts(xml)).toBe(true);
    expect(await readerAccepts(xml, 1)).toBe(true);
  });

  it.each(MALFORMED)('refuses %j', async (xml) => {
    expect(saxesAccepts(xml)).toBe(false);
    expect(await readerAccepts(xml)).toBe(false);
    expect(await readerAccepts(xml, 1)).toBe(false);
  });
});

describe('where parseXml and saxes differ, on purpose', () => {
  it('removes the characters XML allows nowhere, which saxes refuses (with a warning: see xml.test.ts)', async () => {
    for (const xml of ['<a>\u0001</a>', '<a b="\u001f"/>', '<a>\ufffe\uffff</a>', '<a/>\u0000']) {
      expect(saxesAccepts(xml)).toBe(false);
      expect(await readerAccepts(xml)).toBe(true);
    }
  });

  it('refuses a DOCTYPE declaring entities, which saxes reads past (billion laughs)', async () => {
    const xml = '<!DOCTYPE a [<!ENTITY e "x">]><a/>';
    expect(saxesAccepts(xml)).toBe(true);
    expect(await readerAccepts(xml)).toBe(false);
  });

  it('decodes HTML named entities unless told to refuse them', async () => {
    const xml = '<a><b>&nbsp;</b></a>';
    expect(saxesAccepts(xml)).toBe(false);
    const [record] = await recordsOf(await parseXml(chunked(xml)));
    expect(record?.data.b).toBe('\u00a0');
  });
});
