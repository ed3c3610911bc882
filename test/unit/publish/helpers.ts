import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { expect } from 'vitest';
import { compileMapping } from '../../../src/channels/mapping.js';
import type { ChannelDefinition, FeedValue } from '../../../src/model/channel.js';
import type { FieldValue } from '../../../src/model/product.js';
import { createSerializer } from '../../../src/publish/serialize/index.js';
import type { Product } from '../../../src/rules/types.js';

/** A channel definition with the given extras. */
export function channel(extra: Partial<ChannelDefinition>): ChannelDefinition {
  return { kind: 'channel', id: 'shop', catalog: 'acme', ...extra };
}

/** A product as the rules return it, with null-prototype records as the store gives them. */
export function product(
  sku: string,
  fields: Record<string, FieldValue>,
  attributes: Record<string, FieldValue> = {},
): Product {
  return {
    sku,
    fields: Object.assign(Object.create(null), { sku, ...fields }),
    attributes: Object.assign(Object.create(null), attributes),
  };
}

/** Maps and serializes products as a build does, in batches of `batch`. */
export function buildFeed(
  def: ChannelDefinition,
  products: Product[],
  batch = 2,
): { text: string; rows: FeedValue[][]; columns: readonly string[]; contentType: string } {
  const mapper = compileMapping(def);
  const serializer = createSerializer(def, mapper.columns);
  const rows = products.map((p) => mapper.map(p));
  let text = serializer.head();
  for (let i = 0; i < rows.length; i += batch) text += serializer.items(rows.slice(i, i + batch));
  text += serializer.tail();
  return { text, rows, columns: mapper.columns, contentType: serializer.contentType };
}

// A strict reading: fast-xml-parser decodes every reference (numeric ones included) and
// keeps text exactly as written.
const xmlParser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  processEntities: true,
  htmlEntities: true,
  isArray: (_name, jpath) => jpath === 'products.product' || jpath === 'rss.channel.item',
});

/**
 * Checks what fast-xml-parser does not (it accepts some malformed documents): no character
 * XML 1.0 forbids, no `]]>`, no `&` that does not start a reference; then parses.
 */
export function readXml(text: string): Record<string, unknown> {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the controls XML 1.0 forbids are what it looks for.
  expect(text).not.toMatch(/[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]|[\uD800-\uDFFF]/u);
  expect(text).not.toContain(']]>');
  expect(text).not.toMatch(/&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/);
  expect(XMLValidator.validate(text)).toBe(true);
  return xmlParser.parse(text) as Record<string, unknown>;
}

/** The items of a parsed XML feed (`<product>` or RSS `<item>`), as objects of their child elements. */
export function xmlItems(doc: Record<string, unknown>): Array<Record<string, unknown>> {
  const root = (doc.products ?? (doc.rss as Record<string, Record<string, unknown>>).channel) as Record<
    string,
    unknown
  >;
  const items = (root.product ?? root.item ?? []) as unknown[];
  // An item with no element at all reads as ''.
  return items.map((i) => (typeof i === 'object' && i !== null ? (i as Record<string, unknown>) : {}));
}
