import { SaxesParser, type SaxesTagPlain } from 'saxes';
import { DEFAULT_MAX_RECORD_SIZE, FeedParseError } from './csv.js';
import {
  createRawObject,
  DEFAULT_MAX_DEPTH,
  type ItemReader,
  type KeyedRecord,
  type RawObject,
  type RawValue,
} from './records.js';
import type { ParseWarning, RowIssue } from './types.js';
import {
  type Candidate,
  collectCandidates,
  isObject,
  loneItem,
  nodesAt,
  pickCandidate,
} from './xml-detect.js';
import { HtmlEntityTable } from './xml-entities.js';
import { describeFault } from './xml-faults.js';
import { NamespaceScope, prefixOf } from './xml-namespaces.js';
import {
  CONSTRUCT_WORDS,
  constructOf,
  guardReferences,
  MAX_REFERENCE,
  type Reference,
  type SaxesInternals,
  saxesInternals,
  setHandlers,
} from './xml-saxes.js';

/** What the XML reader does with HTML named entities (see XmlOptions.htmlEntities). */
export type HtmlEntities = 'decode' | 'refuse';

/** Options a catalog definition may give for XML feeds. */
export interface XmlOptions {
  /**
   * The item element: a path of element names from the root, as written with their
   * prefixes (`rss/channel/item`, `products/product`), or one name, matched at any depth
   * outside another item (`product`). Left out, it is detected: `rss/channel/item` for
   * RSS 2.0 (Google Shopping), `feed/entry` for Atom, `RDF/item` for RSS 1.0, and otherwise
   * the repeated element of the document's list.
   */
  itemPath?: string;
  /**
   * Namespace prefixes to drop from element and attribute names in the records, at every
   * level of an item (`g:shipping/g:price` becomes `shipping/price`): `'all'`, or a list of
   * prefixes (`'g'`) and namespace URIs (`GOOGLE_NAMESPACE`, whatever prefix the feed binds
   * it to). A name is stripped by the namespace its prefix is bound to where it is written:
   * a prefix re-bound to another namespace inside an item is that other namespace there.
   * `g:price` then becomes `price`, unless the item (or the nested element) also has
   * a `price` of its own, in which case `g:price` keeps its prefix. Left out: Google's
   * namespace (`DEFAULT_STRIP_NAMESPACES`), so a Google Shopping feed gives `id`, `price`,
   * `availability`; `[]` keeps every name as written.
   */
  stripNamespaces?: 'all' | string[];
  /**
   * HTML named entities (`&nbsp;`, `&eacute;`), which XML does not define: `'decode'` (the
   * default) reads them as the characters HTML gives them, with one warning per run naming
   * each entity and its count; `'refuse'` holds the run as not well-formed, as XML says.
   */
  htmlEntities?: HtmlEntities;
  /** Longest accepted item, in bytes of UTF-8, from its start tag to its end tag. */
  maxRecordSize?: number;
  /** Deepest accepted nesting of elements, counted from the root element (level 1). */
  maxDepth?: number;
}

/** The reader's options: XmlOptions with the namespaces to strip given. */
export type XmlReaderOptions = Omit<XmlOptions, 'stripNamespaces'> & {
  stripNamespaces: 'all' | readonly string[];
};

/** saxes without its own namespace processing (see NamespaceScope), tracking positions. */
type SaxesOptions = { xmlns: false; position: true };

/** One element being built. */
interface Frame {
  name: string;
  node: RawObject | null;
  /** All the text so far: its own and, in document order, that of the elements in it. */
  text: string;
  /** It has text of its own that is not white space (mixed content, when it has children too). */
  ownText: boolean;
  line: number;
  /** Offset of its `<`. */
  start: number;
  /** Its name once stripped of a stripped namespace's prefix (null: kept as written). */
  stripped: string | null;
  /** Its keys whose namespace is stripped: key as written → key once stripped. */
  strip: Map<string, string> | null;
  /**
   * While the item element is detected: the elements nested too deep inside it, as a range
   * of indexes into the reader's `deepLines` (from -1: none).
   */
  deepFrom: number;
  deepTo: number;
}

// Reading modes.
const DETECT = 0; // the item element is not known yet: the document is built up to a window
const ITEMS = 1; // items are known: elements outside them are only followed
const SKIP = 2; // the current item (or, while detecting, a subtree too deep) is skipped to its end

const MAX_DOCTYPE = 1024 * 1024;
/**
 * Elements nested deeper than this refuse the feed, inside an item too (an item nested
 * deeper than maxDepth, at most 256, is otherwise a row error): saxes keeps an object for
 * each open element, so a feed of a million `<a>` would otherwise hold a million of them.
 */
export const MAX_NESTING = 1024;
/** Longest piece of text handed to saxes at once: what it holds is looked at between pieces. */
const PIECE = 64 * 1024;
/** How much of the text given to saxes last is kept to quote from (an end tag's name). */
const TAIL = 1024;
/** What saxes may hold of one construct before the reader looks at whether to keep it. */
const SLACK = 64 * 1024;

/**
 * Characters XML 1.0 allows nowhere, not even as references: C0 control characters other
 * than tab, line feed and carriage return, and the non-characters U+FFFE and U+FFFF. Exports
 * carry them (a pasted description, a vertical tab); they are removed before saxes reads the
 * text, and the run is told (one warning). A character reference to one (`&#0;`,
 * `&#xFFFE;`) is written on purpose and is an error, as XML says.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const FORBIDDEN = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const FORBIDDEN_ALL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g;

/**
 * Reads an XML feed with saxes and builds one keyed record per item (see parseXml): saxes
 * checks that the feed is well-formed, decodes references and reports where what is wrong
 * is; this class follows its events to find the items, build their records, keep memory
 * bounded, and scope namespace prefixes element by element.
 */
export class XmlItemReader implements ItemReader {
  out: KeyedRecord[] = [];
  private readonly issues: RowIssue[];
  private readonly warnings: ParseWarning[];
  private readonly max: number;
  private readonly maxDepth: number;
  private readonly maxMarkup: number;
  private readonly budget: number;

  private readonly parser: SaxesParser<SaxesOptions>;
  private readonly internals: SaxesInternals;
  private readonly entities: HtmlEntityTable;
  private readonly scope = new NamespaceScope();
  /** The last entity or character reference saxes read. */
  private readonly reference: Reference;

  /** The item path, once known; with `anyName`, an item is any element of that name. */
  private matcher: string[] | null = null;
  private anyName: string | null = null;

  private readonly stripAll: boolean;
  private readonly stripPrefixes: Set<string>;
  private readonly stripUris: Set<string>;
  private readonly stripping: boolean;
  /** The first namespace each prefix was bound to, anywhere: the feed's own view of them. */
  private readonly ns: Record<string, string> = Object.create(null);
  /** Key as written → key stripped of its prefix by the feed's first bindings (null: kept). */
  private readonly stripCache = new Map<string, string | null>();

  // Where saxes is. Offsets count UTF-16 code units of the text saxes was given (characters
  // XML forbids already removed), from the start of the feed, as saxes's `position` does.
  /** The piece of text saxes is reading, and the offset of its first character. */
  private piece = '';
  private pieceStart = 0;
  /** The last characters given to saxes, this piece's included: where an end tag's name is found. */
  private tail = '';
  /** The last character of the piece before (saxes may carry it into this one). */
  private previousLast = -1;
  private written = 0;
  /** saxes is reading a piece (its `position` is right only then: see where()). */
  private writing = false;
  /** Recent pieces, kept while an item (or the detection window) may need its exact UTF-8 size. */
  private pieces: Array<{ start: number; text: string }> = [];
  /** Where saxes last handed something on (what it holds starts there), and its line and column. */
  private lastEvent = 0;
  private lastLine = 1;
  private lastColumn = 0;
  /** The start tag being read: its name, line and the offset of its `<`. */
  private tagName = '';
  private tagLine = 1;
  private tagStart = 0;
  /** The name of the element saxes closed last. */
  private lastClosed = '';

  private mode = ITEMS;
  /** Elements open, whatever the mode (saxes's own stack). */
  private depth = 0;
  /** Names of the open elements, while not skipping. */
  private readonly names: string[] = [];
  private frames: Frame[] = [];
  private rootSeen = false;
  private rootClosed = false;
  private rootValue: RawValue = '';
  private rootTag = '';

  private inItem = false;
  private itemDepth = 0;
  /** Offset of the current item's `<`. */
  private itemAbs = 0;
  private itemLine = 0;
  private skipDepth = 0;
  /** The mode to go back to once the skipped elements are closed. */
  private skipReturn = ITEMS;

  private detectStart = 0;
  private readonly detectLine = new WeakMap<object, number>();
  private readonly detectSize = new WeakMap<object, number>();
  /** While detecting, the keys to strip of each node built (stripped once the items are known). */
  private readonly detectStrip = new WeakMap<object, Map<string, string>>();
  /**
   * While detecting, the line of each element nested deeper than maxDepth (its subtree is
   * skipped); which item holds it is only known once the item element is.
   */
  private readonly deepLines: number[] = [];
  private readonly detectDeep = new WeakMap<object, [number, number]>();

  /** Characters XML forbids, removed: how many of each, and the line of the first. */
  private readonly removed = new Map<number, number>();
  private removedLine = 0;

  constructor(options: XmlReaderOptions, issues: RowIssue[], warnings: ParseWarning[]) {
    this.issues = issues;
    this.warnings = warnings;
    this.max = options.maxRecordSize ?? DEFAULT_MAX_RECORD_SIZE;
    this.maxDepth = Math.min(options.maxDepth ?? DEFAULT_MAX_DEPTH, MAX_NESTING);
    this.maxMarkup = Math.max(this.max, 1024 * 1024);
    this.budget = 2 * this.max + 64 * 1024;
    const path = options.itemPath?.trim().replace(/^\/+|\/+$/g, '');
    if (path) {
      const parts = path.split('/');
      if (parts.length === 1) this.anyName = path;
      else this.matcher = parts;
    }
    const strip = options.stripNamespaces;
    this.stripAll = strip === 'all';
    const list = Array.isArray(strip) ? strip : [];
    // A prefix is an XML name without a colon; anything with a colon is a namespace URI.
    this.stripUris = new Set(list.filter((s) => s.includes(':')));
    this.stripPrefixes = new Set(list.filter((s) => !s.includes(':')));
    this.stripping = this.stripAll || list.length > 0;

    // Namespaces are scoped here (NamespaceScope), not by saxes's `xmlns` option: see there why.
    const parser = new SaxesParser<SaxesOptions>({ xmlns: false, position: true });
    this.parser = parser;
    this.internals = saxesInternals(parser);
    this.entities = new HtmlEntityTable((options.htmlEntities ?? 'decode') === 'decode', () => parser.line);
    parser.ENTITIES = this.entities.entities();
    this.reference = guardReferences(parser, this.internals, (line, column, tooLong) => {
      throw this.fail(
        tooLong
          ? `an entity or character reference longer than ${MAX_REFERENCE} characters`
          : "'&' not followed by an entity or character reference and ';': a bare & is written &amp;",
        line,
        column,
      );
    });
    setHandlers(parser, {
      xmldecl: (decl) => {
        this.mark();
        this.scope.xml11 = decl.version !== undefined && decl.version !== '1.0';
      },
      doctype: (doctype) => this.onDoctype(doctype),
      processinginstruction: (pi) => {
        this.mark();
        // Namespaces in XML: a processing instruction's target has no colon.
        if (pi.target.includes(':')) {
          throw this.fail(`a processing instruction target with a colon (${pi.target})`);
        }
      },
      opentagstart: (tag) => this.onOpenTagStart(tag.name),
      opentag: (tag) => this.onOpenTag(tag),
      closetag: (tag) => this.onCloseTag(tag),
      text: (text) => this.onText(text),
      cdata: (text) => this.onText(text),
      comment: () => this.mark(),
      error: (err) => {
        throw this.describe(err.message.replace(/^\d+:\d+: /, ''));
      },
    });
  }

  itemPath(): string {
    return this.anyName ?? this.matcher?.join('/') ?? '';
  }

  namespaces(): Record<string, string> {
    return this.ns;
  }

  write(text: string): void {
    for (let at = 0; at < text.length; at += PIECE) {
      let piece = text.length <= PIECE ? text : text.slice(at, at + PIECE);
      if (FORBIDDEN.test(piece)) piece = this.removeForbidden(piece);
      if (piece === '') continue;
      this.keepPieces();
      this.previousLast =
        this.piece === '' ? this.previousLast : this.piece.charCodeAt(this.piece.length - 1);
      this.piece = piece;
      this.pieceStart = this.written;
      this.written += piece.length;
      this.pieces.push({ start: this.pieceStart, text: piece });
      this.tail = piece.length >= TAIL ? piece : (this.tail + piece).slice(-TAIL);
      this.writing = true;
      this.parser.write(piece);
      this.writing = false;
      this.bound();
    }
  }

  end(): void {
    const construct = constructOf(this.internals.state);
    if (construct !== 'text' && construct !== 'start') {
      throw this.failAtEnd(`the document ends inside ${CONSTRUCT_WORDS[construct]}: the feed is truncated`);
    }
    if (!this.rootSeen) throw this.failAtEnd('the document has no root element: it is empty or not XML');
    if (!this.rootClosed) {
      // Still skipping an element nested too deep while the items were being detected: no
      // item was seen to hold it, so the document is refused for its depth (as it would be
      // with a known item path), not as merely truncated.
      if (this.mode === SKIP && this.skipReturn === DETECT) throw this.tooDeepOutsideItems();
      const inside =
        this.mode === SKIP && this.skipReturn === ITEMS ? 'an item' : `<${this.names.join('><')}>`;
      throw this.failAtEnd(`the document ends inside ${inside}: the feed is truncated`);
    }
    this.parser.close();
    if (this.entities.used) {
      this.warnings.push({
        line: this.entities.firstLine,
        sku: null,
        code: 'html_entities',
        message:
          `decoded HTML entities, which XML does not define: ${this.entities.describe()} ` +
          '(options.htmlEntities "refuse" holds such a feed instead)',
      });
    }
    if (this.removed.size > 0) {
      const what = [...this.removed]
        .sort((a, b) => b[1] - a[1])
        .map(([c, n]) => `U+${c.toString(16).toUpperCase().padStart(4, '0')} (${n})`)
        .join(', ');
      this.warnings.push({
        line: this.removedLine,
        sku: null,
        code: 'control_characters',
        message: `removed characters XML does not allow: ${what}`,
      });
    }
  }

  // ------------------------------------------------------------------------------------
  // saxes's events

  /** saxes handed something on (or was made to drop what it held): what it holds starts here. */
  private mark(at = this.where()): void {
    const p = this.parser;
    this.lastEvent = at;
    this.lastLine = p.line;
    this.lastColumn = p.column;
  }

  private onDoctype(doctype: string): void {
    this.mark();
    // saxes gives the declaration between `<!DOCTYPE` and its `>`, line breaks as `\n`.
    const breaks = countBreaks(doctype);
    const line = this.parser.line - breaks;
    const column = breaks === 0 ? this.parser.column - doctype.length - 9 : null;
    if (/^\s*html\b/i.test(doctype))
      throw this.fail('the document is an HTML page, not a feed', line, column);
    // Comments, processing instructions and quoted literals may say `<!ENTITY` without declaring one.
    const declarations = doctype.replace(/<!--[\s\S]*?-->|<\?[\s\S]*?\?>|"[^"]*"|'[^']*'/g, '');
    if (/<!ENTITY/i.test(declarations)) {
      throw this.fail(
        'the DOCTYPE declares entities (<!ENTITY …>); entity declarations are refused, ' +
          'as their expansion ("billion laughs") can exhaust the server',
        line,
        column,
      );
    }
  }

  private onOpenTagStart(name: string): void {
    const p = this.parser;
    const pos = p.position;
    this.lastEvent = pos;
    this.lastLine = p.line;
    this.lastColumn = p.column;
    // saxes has read the name and the character after it (white space, `>` or `/`).
    let line = p.line;
    let after = 1;
    const c = this.charAt(pos - 1);
    if (c === 0x0a || c === 0x0d) {
      line--;
      if (c === 0x0a && this.charAt(pos - 2) === 0x0d) after = 2;
    }
    this.tagName = name;
    this.tagLine = line;
    this.tagStart = pos - after - name.length - 1;
    if (this.depth === 0) {
      if (this.rootClosed) throw this.fail(`a second root element <${name}>`);
      const local = localName(name);
      if (local.toLowerCase() === 'html') throw this.fail('the document is an HTML page, not a feed');
    }
  }

  private onOpenTag(tag: SaxesTagPlain): void {
    this.mark();
    const depth = ++this.depth;
    const name = tag.name;
    const attributes = tag.attributes;
    let hasAttributes = false;
    for (const a in attributes) {
      hasAttributes = true;
      if (a.charCodeAt(0) === 0x78 && (a === 'xmlns' || a.startsWith('xmlns:'))) {
        this.declare(depth, a, attributes[a] as string);
      }
    }
    const prefix = prefixOf(name);
    if (prefix === undefined)
      throw this.fail(`<${name}>: not a valid element name (at most one ':', inside the name)`);
    let uri: string | undefined;
    if (prefix !== '') {
      if (prefix === 'xmlns') throw this.fail(`<${name}>: an element name may not have the prefix xmlns`);
      uri = this.scope.resolve(prefix);
      if (uri === undefined) throw this.undeclared(prefix, `<${name}>`);
    }
    const attributeUris = hasAttributes ? this.attributeNamespaces(name, attributes) : null;

    if (this.mode === SKIP) {
      if (depth > MAX_NESTING) throw this.nestedTooDeep();
      this.skipDepth++;
      return;
    }
    if (depth > this.maxDepth) {
      if (this.inItem) {
        this.reject('malformed_record', `item nested deeper than ${this.maxDepth} levels`);
        return;
      }
      if (this.mode === DETECT) {
        this.tooDeepWhileDetecting();
        return;
      }
      throw this.tooDeepOutsideItems(this.tagLine);
    }
    if (depth === 1) this.openRoot(name);
    this.names.push(name);
    let build = this.mode === DETECT || this.inItem;
    if (!build && this.matches(depth, name)) {
      this.startItem();
      build = true;
    }
    if (build) {
      const f: Frame = {
        name,
        node: null,
        text: '',
        ownText: false,
        line: this.mode === DETECT ? this.tagLine : this.itemLine,
        start: this.tagStart,
        stripped: uri === undefined ? null : this.strippedLocal(prefix, name, uri),
        strip: null,
        deepFrom: -1,
        deepTo: -1,
      };
      if (hasAttributes) this.setAttributes(f, attributes, attributeUris);
      this.frames.push(f);
      if (this.inItem && this.where() - this.itemAbs > this.max) {
        this.tooLong();
        return;
      }
    }
    if (this.mode === DETECT && this.where() - this.detectStart > this.budget) this.decide(false);
  }

  private onCloseTag(tag: SaxesTagPlain): void {
    this.mark();
    this.lastClosed = tag.name;
    const depth = this.depth--;
    this.scope.close(depth);
    if (this.mode === SKIP) {
      if (--this.skipDepth === 0) {
        this.mode = this.skipReturn;
        if (this.depth === 0) this.rootClosed = true;
      }
      return;
    }
    this.names.pop();
    if (this.depth === 0) this.rootClosed = true;
    if (this.mode === DETECT || this.inItem) {
      const f = this.frames.pop() as Frame;
      const value = this.finish(f);
      const parent = this.frames[this.frames.length - 1];
      if (parent !== undefined) this.attach(parent, f, value);
      else if (this.mode === DETECT) this.rootValue = value;
      else this.completeItem(value);
    }
    if (this.rootClosed && this.mode === DETECT) this.decide(true);
  }

  private onText(text: string): void {
    // Text outside the root element is white space (saxes refuses anything else), and is
    // not a mark: saxes reports text that is not at the end of it.
    if (this.depth === 0) return;
    this.mark();
    if (this.mode === SKIP) return;
    const f = this.frames[this.frames.length - 1];
    if (f === undefined) return;
    f.text += text;
    if (!f.ownText && !isBlank(text)) f.ownText = true;
  }

  // ------------------------------------------------------------------------------------
  // Namespaces

  /** A namespace declaration (`xmlns`, `xmlns:p`) on the element opened at `depth`. */
  private declare(depth: number, attribute: string, value: string): void {
    const prefix = attribute === 'xmlns' ? '' : attribute.slice(6);
    if (prefix !== '' && prefixOf(attribute) === undefined) {
      throw this.fail(`${attribute}: not a valid namespace declaration`);
    }
    const wrong = this.scope.declare(depth, prefix, value);
    if (wrong !== undefined) throw this.fail(wrong);
    const uri = value.trim();
    if (this.ns[prefix] === undefined && uri !== '') {
      this.ns[prefix] = uri;
      this.stripCache.clear();
    }
  }

  /**
   * The namespace of each prefixed attribute of an element (null when it has none), after
   * checking, as Namespaces in XML asks, that each prefix is declared and that no two
   * attributes have the same namespace and local name.
   */
  private attributeNamespaces(
    element: string,
    attributes: Record<string, string>,
  ): Map<string, string> | null {
    let uris: Map<string, string> | null = null;
    for (const a in attributes) {
      const prefix = prefixOf(a);
      if (prefix === undefined) throw this.fail(`${a} in <${element}>: not a valid attribute name`);
      if (prefix === '' || prefix === 'xmlns') continue;
      const uri = this.scope.resolve(prefix);
      if (uri === undefined) throw this.undeclared(prefix, `${a} in <${element}>`);
      uris ??= new Map();
      uris.set(a, uri);
    }
    if (uris !== null && uris.size > 1) {
      const seen = new Set<string>();
      for (const [a, uri] of uris) {
        const expanded = `{${uri}}${localName(a)}`;
        if (seen.has(expanded)) {
          throw this.fail(`the attribute ${expanded} appears twice in <${element}> (under two prefixes)`);
        }
        seen.add(expanded);
      }
    }
    return uris;
  }

  private undeclared(prefix: string, where: string): FeedParseError {
    return this.fail(`${where}: the prefix ${prefix} is not declared (xmlns:${prefix}="…" is missing)`);
  }

  /** The local name an element or attribute of that namespace gets in the records, when stripped. */
  private strippedLocal(prefix: string, name: string, uri: string): string | null {
    if (!this.stripping || prefix === 'xml') return null;
    if (this.stripAll || this.stripPrefixes.has(prefix) || this.stripUris.has(uri)) {
      return name.slice(prefix.length + 1);
    }
    return null;
  }

  // ------------------------------------------------------------------------------------
  // Items and records

  private openRoot(name: string): void {
    this.rootSeen = true;
    this.rootTag = name;
    if (this.matcher !== null || this.anyName !== null) return;
    const local = localName(name);
    const prefix = name.slice(0, name.length - local.length);
    if (local === 'rss') this.matcher = [name, 'channel', 'item'];
    else if (local === 'feed') this.matcher = [name, `${prefix}entry`];
    else if (local === 'RDF') this.matcher = [name, 'item'];
    else {
      this.mode = DETECT;
      this.detectStart = this.tagStart;
    }
  }

  private matches(depth: number, name: string): boolean {
    if (this.anyName !== null) return name === this.anyName;
    const m = this.matcher;
    if (m === null || m.length !== depth || m[depth - 1] !== name) return false;
    for (let i = 0; i < depth - 1; i++) if (this.names[i] !== m[i]) return false;
    return true;
  }

  private startItem(): void {
    this.inItem = true;
    this.itemDepth = this.depth;
    this.itemAbs = this.tagStart;
    this.itemLine = this.tagLine;
  }

  private finish(f: Frame): RawValue {
    // An element whose too deep content was skipped stays an object, to be found again.
    if (f.node === null && f.deepFrom !== -1) f.node = createRawObject();
    if (f.node === null) return f.text;
    let node = f.node;
    // Mixed content (`Mixed <b>bold</b> title`): the text is all of it, inline words included.
    if (f.ownText) node['#text'] = f.text;
    // While the item element is being detected, names stay as written: the item path is
    // matched against the names as written; decide() strips the items it hands on.
    if (f.strip !== null) {
      if (this.mode === DETECT) this.detectStrip.set(node, f.strip);
      else node = strip(node, f.strip);
    }
    if (this.mode === DETECT) {
      this.detectLine.set(node, f.line);
      this.detectSize.set(node, this.sizeOf(f.start, this.where()));
      if (f.deepFrom !== -1) this.detectDeep.set(node, [f.deepFrom, f.deepTo]);
    }
    return node;
  }

  private attach(parent: Frame, child: Frame, value: RawValue): void {
    if (parent.node === null) parent.node = createRawObject();
    const node = parent.node;
    const name = child.name;
    parent.text += child.text;
    if (child.stripped !== null) keysToStrip(parent).set(name, child.stripped);
    const prev = node[name];
    if (prev === undefined) node[name] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else node[name] = [prev, value];
  }

  private setAttributes(
    f: Frame,
    attributes: Record<string, string>,
    uris: Map<string, string> | null,
  ): void {
    for (const a in attributes) {
      if (a.charCodeAt(0) === 0x78 && (a === 'xmlns' || a.startsWith('xmlns:'))) continue;
      if (f.node === null) f.node = createRawObject();
      const key = `@${a}`;
      f.node[key] = attributes[a] as string;
      const uri = uris?.get(a);
      if (uri !== undefined) {
        const stripped = this.strippedLocal(a.slice(0, a.indexOf(':')), a, uri);
        if (stripped !== null) keysToStrip(f).set(key, `@${stripped}`);
      }
    }
  }

  private completeItem(value: RawValue): void {
    this.inItem = false;
    if (this.sizeOf(this.itemAbs, this.where()) > this.max) {
      this.issue('record_too_long', `item longer than ${this.max} bytes`);
    } else this.out.push({ line: this.itemLine, data: asRecord(value) });
  }

  /**
   * The UTF-8 size of the feed's text between two offsets, counted exactly only when it could
   * exceed maxRecordSize (a character is 1 to 3 bytes; a surrogate pair, 2 units, is 4).
   */
  private sizeOf(from: number, to: number): number {
    const chars = to - from;
    return chars > this.max || chars * 3 <= this.max ? chars : this.bytesBetween(from, to);
  }

  private tooLong(): void {
    this.reject('record_too_long', `item longer than ${this.max} bytes`);
  }

  /** Drops the current item, reports it, and follows its elements to its end. */
  private reject(code: RowIssue['code'], message: string): void {
    this.issue(code, message);
    this.mode = SKIP;
    this.skipReturn = ITEMS;
    this.skipDepth = this.depth - this.itemDepth + 1;
    this.names.length = this.itemDepth - 1;
    this.frames = [];
    this.inItem = false;
    this.dropHeld();
  }

  /**
   * An element nested too deep while the item element is not known yet: it is skipped to its
   * end and noted in every open element, so that the item holding it is rejected once the
   * items are known (as with a known item path), and the document refused if none holds it.
   */
  private tooDeepWhileDetecting(): void {
    const k = this.deepLines.length;
    this.deepLines.push(this.tagLine);
    for (const f of this.frames) {
      if (f.deepFrom === -1) f.deepFrom = k;
      f.deepTo = k + 1;
    }
    this.mode = SKIP;
    this.skipReturn = DETECT;
    this.skipDepth = 1;
  }

  private tooDeepOutsideItems(line = this.deepLines[0]): FeedParseError {
    return new FeedParseError(`XML: elements nested deeper than ${this.maxDepth} levels`, line);
  }

  /** Nesting past MAX_NESTING, while an item or a subtree is skipped. */
  private nestedTooDeep(): FeedParseError {
    if (this.skipReturn === DETECT) return this.tooDeepOutsideItems();
    return this.fail(
      `elements nested deeper than ${MAX_NESTING} levels (an item nested deeper than ` +
        `${this.maxDepth} levels is skipped as a row error; nesting this deep refuses the feed)`,
      this.tagLine,
    );
  }

  private issue(code: RowIssue['code'], message: string, line = this.itemLine): void {
    this.issues.push({ line, sku: null, code, message });
  }

  /**
   * Decides the item element from what was built: at the end of a small document, or once
   * the detection window is full. Items already built are handed on; an item still open is
   * read on as one.
   */
  private decide(atEnd: boolean): void {
    const found: Candidate[] = [];
    if (atEnd) collectCandidates(this.rootValue, [this.rootTag], found);
    else {
      for (let i = 0; i < this.frames.length; i++) {
        const node = (this.frames[i] as Frame).node;
        if (node !== null) collectCandidates(node, this.names.slice(0, i + 1), found);
      }
    }
    const picked = pickCandidate(found);
    let best = picked;
    if (best === undefined) {
      if (!atEnd) {
        throw this.fail(
          `no repeated element found in the first ${this.budget} characters to read as items; ` +
            'set options.itemPath (e.g. "products/product")',
        );
      }
      best = loneItem(this.rootValue, this.rootTag);
    }
    this.mode = ITEMS;
    const open = this.frames;
    this.frames = [];
    if (best === undefined) {
      this.matcher = [this.rootTag];
      this.checkDeepInItems([]);
      return;
    }
    this.matcher = best.path;
    const d = best.path.length;
    // Every element at the chosen path is an item, not only those of the list that was picked:
    // items may come in several lists (`catalog/group/product` in many groups) or alone.
    let items = best.items;
    if (picked !== undefined) {
      items = [];
      if (atEnd) nodesAt(this.rootValue, best.path, 1, items);
      else {
        for (let i = 0; i + 1 < d && i < open.length; i++) {
          if (this.names[i] !== best.path[i]) break;
          nodesAt((open[i] as Frame).node, best.path, i + 1, items);
        }
      }
    }
    const inProgress = !atEnd && this.names.length >= d && best.path.every((n, i) => this.names[i] === n);
    const current = inProgress ? (open[d - 1] as Frame) : undefined;
    const ranges: Array<[number, number]> = [];
    for (const item of items) {
      const deep = this.detectDeep.get(item);
      if (deep !== undefined) ranges.push(deep);
    }
    if (current !== undefined && current.deepFrom !== -1) ranges.push([current.deepFrom, current.deepTo]);
    this.checkDeepInItems(ranges);
    for (const item of items) {
      const line = this.detectLine.get(item) ?? 1;
      if ((this.detectSize.get(item) ?? 0) > this.max) {
        this.issue('record_too_long', `item longer than ${this.max} bytes`, line);
      } else if (this.detectDeep.has(item)) {
        this.issue('malformed_record', `item nested deeper than ${this.maxDepth} levels`, line);
      } else this.out.push({ line, data: this.stripping ? (this.stripTree(item) as RawObject) : item });
    }
    if (atEnd) return;
    // The element open at the item's level, if it is on the item path, is an item in progress.
    if (current !== undefined) {
      const f = current;
      this.frames = open.slice(d - 1);
      // What it holds so far was built unstripped; its own keys are stripped when it closes.
      if (this.stripping) {
        for (const g of this.frames) {
          const node = g.node;
          if (node !== null) for (const k in node) node[k] = this.stripTree(node[k] as RawValue);
        }
      }
      this.inItem = true;
      this.itemDepth = d;
      this.itemAbs = f.start;
      this.itemLine = f.line;
      if (f.deepFrom !== -1)
        this.reject('malformed_record', `item nested deeper than ${this.maxDepth} levels`);
    }
  }

  /**
   * Refuses the document when an element nested too deep while detecting lies outside every
   * item (`ranges`: the deep elements each item holds), as it is refused with a known item path.
   */
  private checkDeepInItems(ranges: Array<[number, number]>): void {
    const lines = this.deepLines;
    if (lines.length === 0) return;
    ranges.sort((a, b) => a[0] - b[0]);
    let next = 0;
    for (const [from, to] of ranges) {
      if (from > next) break;
      next = Math.max(next, to);
    }
    if (next < lines.length) throw this.tooDeepOutsideItems(lines[next]);
  }

  /** A value built unstripped, stripped at every level (nested elements follow the same rule). */
  private stripTree(value: RawValue): RawValue {
    if (value === null || typeof value === 'string') return value;
    if (Array.isArray(value)) return value.map((v) => this.stripTree(v));
    const out = createRawObject();
    for (const k in value) out[k] = this.stripTree(value[k] as RawValue);
    const keys = this.detectStrip.get(value);
    return keys === undefined ? out : strip(out, keys);
  }

  /** The name a key written `key` gets in the records by the feed's first bindings (null: kept). */
  strippedName(key: string): string | null {
    if (!this.stripping) return null;
    let s = this.stripCache.get(key);
    if (s === undefined) {
      s = this.stripName(key);
      this.stripCache.set(key, s);
    }
    return s;
  }

  private stripName(key: string): string | null {
    const at = key.charCodeAt(0) === 0x40 ? 1 : 0;
    const colon = key.indexOf(':', at);
    if (colon === -1) return null;
    const prefix = key.slice(at, colon);
    if (prefix === 'xml') return null;
    const uri = this.ns[prefix];
    if (
      !this.stripAll &&
      !this.stripPrefixes.has(prefix) &&
      (uri === undefined || !this.stripUris.has(uri))
    ) {
      return null;
    }
    return (at === 1 ? '@' : '') + key.slice(colon + 1);
  }

  // ------------------------------------------------------------------------------------
  // Memory

  /**
   * After each piece: an item grown too long is dropped, a full detection window decided, and
   * what saxes holds of one construct is looked at. A text node, comment, CDATA section or
   * processing instruction is held whole by saxes until its end; what the records do not need
   * (a comment, text outside items, an item already dropped) is dropped from saxes, so that
   * memory stays bounded whatever the feed. A tag or DOCTYPE too long refuses the feed.
   */
  private bound(): void {
    const pos = this.where();
    if (this.inItem && this.mode === ITEMS && pos - this.itemAbs > this.max) this.tooLong();
    else if (this.mode === DETECT && pos - this.detectStart > this.budget) this.decide(false);
    const held = pos - this.lastEvent;
    if (held <= SLACK) return;
    const construct = constructOf(this.internals.state);
    switch (construct) {
      case 'tag':
      case 'xmldecl':
        if (held > this.maxMarkup) {
          throw this.fail(`a tag longer than ${this.maxMarkup} characters`, this.lastLine, this.lastColumn);
        }
        return;
      case 'doctype':
        if (held > MAX_DOCTYPE)
          throw this.fail('a DOCTYPE longer than 1 MiB', this.lastLine, this.lastColumn);
        return;
      case 'text':
      case 'cdata':
        if (this.inItem && this.mode === ITEMS) return;
        if (this.mode === DETECT && held <= this.max) return;
        this.dropHeld();
        return;
      case 'comment':
      case 'pi':
        this.dropHeld();
        return;
      default:
        // The start of the document and references hold little (see guardReferences).
        return;
    }
  }

  /** Drops what saxes holds of the text, comment, CDATA section or processing instruction it is reading. */
  private dropHeld(): void {
    const construct = constructOf(this.internals.state);
    if (construct === 'text' || construct === 'cdata' || construct === 'comment' || construct === 'pi') {
      this.internals.text = '';
      this.mark();
    }
  }

  /** Forgets the pieces no item can need any more. */
  private keepPieces(): void {
    const detecting = this.mode === DETECT || (this.mode === SKIP && this.skipReturn === DETECT);
    const from = this.inItem ? this.itemAbs : detecting ? this.detectStart : this.written;
    const pieces = this.pieces;
    let k = 0;
    for (const p of pieces) {
      if (p.start + p.text.length > from) break;
      k++;
    }
    if (k > 0) this.pieces = pieces.slice(k);
  }

  /** UTF-8 size of the feed's text between two offsets (kept in `pieces`). */
  private bytesBetween(from: number, to: number): number {
    let bytes = 0;
    for (const { start, text } of this.pieces) {
      const a = Math.max(from, start) - start;
      const b = Math.min(to, start + text.length) - start;
      if (b > a) bytes += Buffer.byteLength(a === 0 && b === text.length ? text : text.slice(a, b), 'utf8');
    }
    return bytes;
  }

  /** Removes the characters XML forbids from a piece, counting them. */
  private removeForbidden(piece: string): string {
    if (this.removed.size === 0) {
      const first = piece.search(FORBIDDEN);
      this.removedLine = this.parser.line + countBreaks(piece.slice(0, first));
    }
    return piece.replace(FORBIDDEN_ALL, (c) => {
      const code = c.charCodeAt(0);
      this.removed.set(code, (this.removed.get(code) ?? 0) + 1);
      return '';
    });
  }

  /**
   * The offset saxes is at. Between writes its `position` is off (it counts the last piece
   * twice); all of the piece was read then, but a character saxes carries to the next one
   * (a CR, half a surrogate pair).
   */
  private where(): number {
    return this.writing ? this.parser.position : this.written;
  }

  /** The character at an offset of the feed, if it is in the piece being read (or just before). */
  private charAt(at: number): number {
    if (at >= this.pieceStart) return this.piece.charCodeAt(at - this.pieceStart);
    return at === this.pieceStart - 1 ? this.previousLast : -1;
  }

  // ------------------------------------------------------------------------------------
  // Errors

  /** A FeedParseError at saxes's position (or the one given; a null column: not known). Columns are 1-based. */
  private fail(
    message: string,
    line = this.parser.line,
    column: number | null = this.parser.column,
  ): FeedParseError {
    return new FeedParseError(
      `XML: ${message}`,
      line,
      undefined,
      column === null ? undefined : Math.max(1, column),
    );
  }

  /** A FeedParseError where the document ends. */
  private failAtEnd(message: string): FeedParseError {
    return this.fail(message, this.parser.line, this.parser.column + 1);
  }

  /** What saxes reported, in the reader's words, where it is. */
  private describe(saxes: string): FeedParseError {
    const p = this.parser;
    const fault = describeFault(saxes, {
      line: p.line,
      column: p.column,
      lastRead: this.charAt(this.where() - 1),
      tagName: this.tagName,
      reference: this.reference,
      isHtmlEntity: (name) => this.entities.htmlText(name) !== undefined,
      endTagWritten: () => this.closeTagWritten(),
      lastClosed: this.lastClosed,
      rootSeen: this.rootSeen,
      textOutsideRoot: () => this.textOutsideRoot(),
    });
    return this.fail(fault.message, fault.line, fault.column);
  }

  /** The name of the end tag saxes has just read, as written (`…` if it began in an earlier piece). */
  private closeTagWritten(): string {
    const tail = this.tail;
    const end = tail.length - (this.written - this.where());
    // The shortest end tag, `</a>`, starts 4 characters before its end.
    const lt = tail.lastIndexOf('</', end - 4);
    return lt === -1 ? '…' : tail.slice(lt + 2, end - 1).trim();
  }

  /**
   * Where text before or after the root element begins: its first character that is not
   * white space, if it is in the piece being read (saxes reports it at its end).
   */
  private textOutsideRoot(): { line: number; column: number } | undefined {
    if (this.lastEvent < this.pieceStart) return undefined;
    let line = this.lastLine;
    let column = this.lastColumn;
    const end = this.where() - this.pieceStart;
    for (let i = this.lastEvent - this.pieceStart; i < end; i++) {
      const c = this.piece.charCodeAt(i);
      if (c === 0x0a || (c === 0x0d && this.piece.charCodeAt(i + 1) !== 0x0a)) {
        line++;
        column = 0;
      } else if (c !== 0x0d) {
        // (The CR of a CRLF is passed over: its LF counts the break.)
        column++;
        if (c !== 0x20 && c !== 0x09) return { line, column };
      }
    }
    return undefined;
  }
}

/** The node with keys stripped of their prefix; a name the node also has unprefixed keeps its prefix. */
function strip(node: RawObject, keys: Map<string, string>): RawObject {
  const out = createRawObject();
  for (const k in node) {
    const s = keys.get(k);
    if (s !== undefined && node[s] === undefined && out[s] === undefined) out[s] = node[k] as RawValue;
    else out[k] = node[k] as RawValue;
  }
  return out;
}

/** A frame's map of keys to strip, made when first needed. */
function keysToStrip(f: Frame): Map<string, string> {
  if (f.strip === null) f.strip = new Map();
  return f.strip;
}

function asRecord(value: RawValue): RawObject {
  if (isObject(value)) return value;
  const data = createRawObject();
  if (typeof value === 'string' && value !== '') data['#text'] = value;
  return data;
}

function localName(name: string): string {
  const colon = name.indexOf(':');
  return colon === -1 ? name : name.slice(colon + 1);
}

function isBlank(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09 && c !== 0xfeff) return false;
  }
  return true;
}

function countBreaks(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', i + 1)) n++;
  return n;
}
