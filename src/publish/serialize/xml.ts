import type { XmlShape } from '../../channels/templates/definition.js';
import { GOOGLE_NAMESPACE, sanitizeElementName } from '../../channels/xml-names.js';
import type { FeedValue } from '../../model/channel.js';
import type { FeedSerializer } from './serializer.js';

/** What an XML feed needs besides its columns. */
export interface XmlLayout {
  shape: XmlShape;
  /** google-rss: the `<channel>`'s title, link and description. */
  channel: { title: string; link: string; description: string };
  contentType: string;
}

/**
 * XML feeds (SPEC §3 "Publication": well-formed whatever the data). Prolog
 * `<?xml version="1.0" encoding="UTF-8"?>`; `products` shape:
 * `<products><product>…</product></products>`; `google-rss` shape: RSS 2.0 with
 * `xmlns:g`, a `<channel>` with title, link and description (always written, empty if so
 * configured, as RSS 2.0 requires all three) and one `<item>` per product. One item per line.
 *
 * - Each column is a child element of the item, in column order. A value that is null,
 *   `''`, or becomes empty once forbidden characters are removed leaves its element out.
 *   Numbers as JavaScript writes them, booleans `true`/`false`.
 * - A list is repeated elements of the column's name; an object is an element with nested
 *   elements by key, in key order. Keys follow the XML parser of imports: `@name` is an
 *   attribute and `#text` the element's own text. An object with nothing to write is left out.
 * - Text: `&`, `<` and `>` are escaped (so `]]>` can never appear), and CR is written `&#13;`
 *   so that it survives XML's line-end normalisation; attributes escape `&`, `<`, `"` and
 *   write tab, LF and CR as references. Characters XML 1.0 forbids are removed: C0 controls
 *   other than tab, LF and CR, U+FFFE, U+FFFF and lone surrogates.
 * - Names: `g:` is declared on the root when the feed is Google's or any column starts
 *   with `g:`. Names keep to the characters every XML parser accepts (`isXmlLocalName`:
 *   letters of the common scripts, digits, `_`, `-`, `.`). A name outside them (a column
 *   not checked by `checkChannelFields`, a nested key from data) is sanitized rather than
 *   refused: every other character becomes `_`, a name that cannot start as it does gets a
 *   leading `_` (`2nd size` → `_2nd_size`), and a prefix other than a declared `g:` becomes
 *   part of the name (`x:y` → `x_y`). Inside a `g:` element, unprefixed keys take `g:` (`g:shipping` →
 *   `g:country`), as Google reads them. An attribute whose sanitized name repeats one
 *   already written on that element is dropped.
 */
export function createXmlSerializer(columns: readonly string[], layout: XmlLayout): FeedSerializer {
  const rss = layout.shape === 'google-rss';
  const google = rss || columns.some((c) => c.startsWith('g:'));
  const names = new NameCache(google);
  const tags = columns.map((c) => tagOf(sanitizeElementName(c, google)));
  const item = rss ? tagOf('item') : tagOf('product');
  const ns = google ? ` xmlns:g=${xmlAttribute(GOOGLE_NAMESPACE)}` : '';
  const prolog = '<?xml version="1.0" encoding="UTF-8"?>\n';
  const head = rss
    ? `${prolog}<rss version="2.0"${ns}>\n<channel>\n` +
      `<title>${xmlText(layout.channel.title)}</title>\n` +
      `<link>${xmlText(layout.channel.link)}</link>\n` +
      `<description>${xmlText(layout.channel.description)}</description>\n`
    : `${prolog}<products${ns}>\n`;
  const tail = rss ? '</channel>\n</rss>\n' : '</products>\n';
  const n = tags.length;
  const itemsXml = (rows: readonly (readonly FeedValue[])[]): string => {
    let out = '';
    for (const row of rows) {
      out += item.open;
      for (let i = 0; i < n; i++) out += element(tags[i] as Tag, row[i] ?? null, names);
      out += `${item.close}\n`;
    }
    return out;
  };
  return {
    contentType: layout.contentType,
    head: () => head,
    items: (rows) => itemsXml(rows),
    rows: (rows) => itemsXml(rows),
    tail: () => tail,
  };
}

interface Tag {
  name: string;
  open: string;
  close: string;
  /** Unprefixed child keys take `g:`. */
  google: boolean;
}

function tagOf(name: string): Tag {
  return { name, open: `<${name}>`, close: `</${name}>`, google: name.startsWith('g:') };
}

// Nested keys repeat item after item; each distinct key is sanitized once. The cap keeps a
// feed of ever-new keys from growing it without bound.
class NameCache {
  private readonly children = new Map<string, Tag>();
  private readonly attributes = new Map<string, string>();
  constructor(private readonly google: boolean) {}

  child(parent: Tag, key: string): Tag {
    const cacheKey = parent.google ? `g ${key}` : key;
    let tag = this.children.get(cacheKey);
    if (tag === undefined) {
      tag = tagOf(sanitizeElementName(key, this.google, parent.google));
      if (this.children.size < 10_000) this.children.set(cacheKey, tag);
    }
    return tag;
  }

  attribute(key: string): string {
    let name = this.attributes.get(key);
    if (name === undefined) {
      name = sanitizeElementName(key, this.google);
      // `xmlns` and `xmlns:*` would declare namespaces and change what the names mean.
      if (name === 'xmlns') name = '_xmlns';
      if (this.attributes.size < 10_000) this.attributes.set(key, name);
    }
    return name;
  }
}

function element(tag: Tag, value: FeedValue, names: NameCache): string {
  switch (typeof value) {
    case 'string': {
      const text = xmlText(value);
      return text === '' ? '' : tag.open + text + tag.close;
    }
    case 'number':
      return tag.open + String(value) + tag.close;
    case 'boolean':
      return tag.open + (value ? 'true' : 'false') + tag.close;
    default: {
      if (value === null || value === undefined) return '';
      if (Array.isArray(value)) {
        let out = '';
        for (const v of value) out += element(tag, v, names);
        return out;
      }
      return objectElement(tag, value, names);
    }
  }
}

function objectElement(tag: Tag, value: { [name: string]: FeedValue }, names: NameCache): string {
  let attributes = '';
  let written: string[] | undefined;
  let text = '';
  let children = '';
  for (const key of Object.keys(value)) {
    const v = value[key] as FeedValue;
    if (key === '#text') text += scalarXmlText(v);
    else if (key.startsWith('@')) {
      const attr = scalarText(v);
      if (attr === '') continue;
      const name = names.attribute(key.slice(1));
      written ??= [];
      if (written.includes(name)) continue;
      written.push(name);
      attributes += ` ${name}=${xmlAttribute(attr)}`;
    } else children += element(names.child(tag, key), v, names);
  }
  if (attributes === '' && text === '' && children === '') return '';
  return `<${tag.name}${attributes}>${text}${children}${tag.close}`;
}

function scalarText(v: FeedValue): string {
  if (v === null || typeof v === 'object') return '';
  return typeof v === 'string' ? v : String(v);
}

function scalarXmlText(v: FeedValue): string {
  return xmlText(scalarText(v));
}

// One test finds whether a text needs any work; most texts do not and are written as they
// are. With the `u` flag a well-formed surrogate pair is one code point, so only a lone
// surrogate matches the surrogate range.
// biome-ignore lint/suspicious/noControlCharactersInRegex: the controls XML 1.0 forbids are what it looks for.
const NEEDS_WORK = /[&<>\r\x00-\x08\x0B\x0C\x0E-\x1F\uD800-\uDFFF\uFFFE\uFFFF]/u;
// biome-ignore lint/suspicious/noControlCharactersInRegex: the controls XML 1.0 forbids are what it removes.
const FORBIDDEN = /[\x00-\x08\x0B\x0C\x0E-\x1F\uD800-\uDFFF\uFFFE\uFFFF]/gu;
const TEXT_MARKUP = /[&<>\r]/g;
const ATTRIBUTE_MARKUP = /[&<"\t\n\r]/g;
const REFERENCES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  '\t': '&#9;',
  '\n': '&#10;',
  '\r': '&#13;',
};
const reference = (c: string): string => REFERENCES[c] as string;

/** Text as element content: forbidden characters removed, markup escaped (see `createXmlSerializer`). */
export function xmlText(s: string): string {
  if (!NEEDS_WORK.test(s)) return s;
  return s.replace(FORBIDDEN, '').replace(TEXT_MARKUP, reference);
}

/** Text as a double-quoted attribute value, quotes included. */
export function xmlAttribute(s: string): string {
  return `"${s.replace(FORBIDDEN, '').replace(ATTRIBUTE_MARKUP, reference)}"`;
}
