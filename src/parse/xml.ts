import type { Readable } from 'node:stream';
import { type KeyedFeed, readKeyedFeed } from './records.js';
import type { ParseWarning, RowIssue } from './types.js';
import { XmlItemReader, type XmlOptions } from './xml-reader.js';

export type { HtmlEntities, XmlOptions } from './xml-reader.js';

/** The namespace of Google Shopping's product attributes (`g:price`, `g:availability`, …). */
export const GOOGLE_NAMESPACE = 'http://base.google.com/ns/1.0';

/**
 * The namespaces stripped when `stripNamespaces` is left out: Google Shopping's product
 * attributes are read by their names (`g:price` is `price`), as the canonical fields are named.
 */
export const DEFAULT_STRIP_NAMESPACES: readonly string[] = [GOOGLE_NAMESPACE];

/**
 * Parses an XML feed, a stream of UTF-8 bytes, as keyed records: one per item element, read
 * by saxes, a conformant streaming XML parser. One pass, bounded memory: only the item being
 * read is held (and, while the item element is being detected, at most a window of twice
 * `maxRecordSize`).
 *
 * Each record's data has the item's child elements by name (as written, but for the prefixes
 * of stripped namespaces, Google's by default; a repeated element gives a list, an element
 * with children or attributes an object), attributes as `@name`, and the text of an element
 * that also has children or attributes as `#text`. Text is kept as written (not trimmed);
 * white space between child elements is dropped. CDATA is text. The text of an element with
 * inline markup (`Mixed <b>bold</b> title`) is all its text, the inline elements' words
 * included (`#text`: `Mixed bold title`). References are decoded once; HTML named entities
 * as `options.htmlEntities` says. A DOCTYPE that declares entities is refused, so no entity
 * is ever expanded.
 *
 * A feed that is not well-formed XML (or not namespace-well-formed) throws a FeedParseError
 * naming what is wrong, with its line and column; so do a document that is an HTML page,
 * declares entities, ends too early or nests elements deeper than `maxDepth` outside items.
 * Two things are mended and reported as warnings instead (`feed.warnings`, one per run each):
 * HTML named entities (decoded) and characters XML does not allow anywhere (C0 control
 * characters other than tab and line breaks, U+FFFE, U+FFFF), removed. An item that is too
 * long or too deep is a row issue, and reading goes on.
 */
export async function parseXml(input: Readable, options: XmlOptions = {}): Promise<KeyedFeed> {
  const issues: RowIssue[] = [];
  const warnings: ParseWarning[] = [];
  const reader = new XmlItemReader(
    { ...options, stripNamespaces: options.stripNamespaces ?? DEFAULT_STRIP_NAMESPACES },
    issues,
    warnings,
  );
  return readKeyedFeed(input, 'xml', reader, issues, warnings);
}
