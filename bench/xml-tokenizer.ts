/**
 * feedwright's own streaming XML tokenizer, the reader of XML feeds until issue 15 moved them
 * to saxes (src/parse/xml-reader.ts). Kept here, unchanged but for its imports and name, so
 * that `npm run bench:xml` can compare the two readers on the same feed; nothing in src/ uses it.
 * It is not a conformant XML parser: it accepts much that is not well-formed (see issue 15).
 */
import type { Readable } from 'node:stream';
import { DEFAULT_MAX_RECORD_SIZE, FeedParseError } from '../src/parse/csv.js';
import {
  createRawObject,
  DEFAULT_MAX_DEPTH,
  type ItemReader,
  type KeyedFeed,
  type KeyedRecord,
  LineCounter,
  type RawObject,
  type RawValue,
  readKeyedFeed,
} from '../src/parse/records.js';
import type { RowIssue } from '../src/parse/types.js';
import { DEFAULT_STRIP_NAMESPACES, type XmlOptions } from '../src/parse/xml.js';

/**
 * Parses an XML feed, a stream of UTF-8 bytes, as keyed records: one per item element.
 * One pass, bounded memory: only the item being read is held (and, while the item
 * element is being detected, at most a window of twice `maxRecordSize`).
 *
 * Each record's data has the item's child elements by name (as written, but for the prefixes
 * of stripped namespaces, Google's by default; a repeated element gives a list, an element
 * with children or attributes an object), attributes as `@name`,
 * and the text of an element that also has children or attributes as `#text`. Text is
 * kept as written (not trimmed); white space between child elements is dropped. CDATA is
 * text. The five XML entities and numeric character references are decoded, once; any
 * other `&name;` (and a stray `&` or `<`) stays as written. A DOCTYPE that declares
 * entities is refused, so no entity is ever expanded.
 *
 * An item that is too long, too deep or badly nested is a row issue and reading goes on;
 * a document that is not XML, is an HTML page, declares entities or ends too early throws
 * a FeedParseError.
 */
export async function parseXmlTokenizer(input: Readable, options: XmlOptions = {}): Promise<KeyedFeed> {
  const issues: RowIssue[] = [];
  return readKeyedFeed(input, 'xml', new XmlItemReader(options, issues), issues);
}

/** One element being built. */
interface Frame {
  name: string;
  node: RawObject | null;
  /** Decoded text so far. */
  text: string;
  /** Text as written since the last decoding. */
  raw: string;
  line: number;
  /** Absolute offset of its `<`. */
  start: number;
  /** It has a key with a namespace prefix (worth a look when stripping). */
  prefixed: boolean;
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
const SKIP_ITEM = 2; // the current item (or, while detecting, a subtree too deep) is skipped to its end

// Constructs that can span chunks without being held.
const TEXT = 0;
const CDATA = 1;
const COMMENT = 2;
const PI = 3;

const MAX_DOCTYPE = 1024 * 1024;

class XmlItemReader implements ItemReader {
  out: KeyedRecord[] = [];
  private readonly issues: RowIssue[];
  private readonly max: number;
  private readonly maxDepth: number;
  private readonly maxMarkup: number;
  private readonly budget: number;

  /** The item path, once known; with `anyName`, an item is any element of that name. */
  private matcher: string[] | null = null;
  private anyName: string | null = null;

  private readonly stripAll: boolean;
  private readonly stripPrefixes: Set<string>;
  private readonly stripUris: Set<string>;
  private readonly stripping: boolean;
  private readonly ns: Record<string, string> = Object.create(null);
  /** Key as written → key stripped of its prefix (null: kept); emptied when a prefix is declared. */
  private readonly stripCache = new Map<string, string | null>();

  private buf = '';
  private pos = 0;
  /** Absolute offset of `buf[0]`. */
  private base = 0;
  private readonly lines = new LineCounter();
  private state = TEXT;
  private cdata = '';

  private mode = ITEMS;
  private readonly names: string[] = [];
  private frames: Frame[] = [];
  private rootSeen = false;
  private rootClosed = false;
  private rootValue: RawValue = '';
  private rootTag = '';

  private inItem = false;
  private itemDepth = 0;
  /** Absolute offset of the current item's `<`. */
  private itemAbs = 0;
  private itemLine = 0;
  private itemProblem: string | null = null;
  private skipDepth = 0;
  /** The mode to go back to once the skipped elements are closed. */
  private skipReturn = ITEMS;

  private detectStart = 0;
  private readonly detectLine = new WeakMap<object, number>();
  private readonly detectSize = new WeakMap<object, number>();
  /**
   * While detecting, the line of each element nested deeper than maxDepth (its subtree is
   * skipped); which item holds it is only known once the item element is.
   */
  private readonly deepLines: number[] = [];
  private readonly detectDeep = new WeakMap<object, [number, number]>();

  constructor(options: XmlOptions, issues: RowIssue[]) {
    this.issues = issues;
    this.max = options.maxRecordSize ?? DEFAULT_MAX_RECORD_SIZE;
    this.maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
    this.maxMarkup = Math.max(this.max, 64 * 1024);
    this.budget = 2 * this.max + 64 * 1024;
    const path = options.itemPath?.trim().replace(/^\/+|\/+$/g, '');
    if (path) {
      const parts = path.split('/');
      if (parts.length === 1) this.anyName = path;
      else this.matcher = parts;
    }
    const strip = options.stripNamespaces ?? DEFAULT_STRIP_NAMESPACES;
    this.stripAll = strip === 'all';
    const list = Array.isArray(strip) ? strip : [];
    // A prefix is an XML name without a colon; anything with a colon is a namespace URI.
    this.stripUris = new Set(list.filter((s) => s.includes(':')));
    this.stripPrefixes = new Set(list.filter((s) => !s.includes(':')));
    this.stripping = this.stripAll || list.length > 0;
  }

  itemPath(): string {
    return this.anyName ?? this.matcher?.join('/') ?? '';
  }

  namespaces(): Record<string, string> {
    return this.ns;
  }

  write(text: string): void {
    const keep = this.inItem && this.mode === ITEMS ? Math.min(this.itemAbs - this.base, this.pos) : this.pos;
    if (keep > 0) {
      this.lines.shift(this.buf, keep);
      this.buf = this.buf.slice(keep) + text;
      this.base += keep;
      this.pos -= keep;
    } else this.buf += text;
    this.run();
    if (this.inItem && this.mode === ITEMS && this.base + this.pos - this.itemAbs > this.max) this.tooLong();
  }

  end(): void {
    if (this.state !== TEXT || this.pos < this.buf.length) {
      const what = ['', 'a CDATA section', 'a comment', 'a processing instruction'][this.state] || 'a tag';
      throw this.fail(`the document ends inside ${what}: the feed is truncated`);
    }
    if (!this.rootSeen) throw this.fail('the document has no root element: it is empty or not XML');
    if (!this.rootClosed) {
      // Still skipping an element nested too deep while the items were being detected: no
      // item was seen to hold it, so the document is refused for its depth (as it would be
      // with a known item path), not as merely truncated.
      if (this.mode === SKIP_ITEM && this.skipReturn === DETECT)
        throw new FeedParseError(
          `XML: elements nested deeper than ${this.maxDepth} levels`,
          this.deepLines[0],
        );
      const inside =
        this.mode === SKIP_ITEM && this.skipReturn === ITEMS ? 'an item' : `<${this.names.join('><')}>`;
      throw this.fail(`the document ends inside ${inside}: the feed is truncated`);
    }
  }

  private fail(message: string, at = this.pos): FeedParseError {
    return new FeedParseError(`XML: ${message}`, this.lines.lineAt(this.buf, Math.min(at, this.buf.length)));
  }

  private run(): void {
    const buf = this.buf;
    const len = buf.length;
    while (this.pos < len) {
      const pos = this.pos;
      if (this.state !== TEXT) {
        const close = this.state === CDATA ? ']]>' : this.state === COMMENT ? '-->' : '?>';
        const end = buf.indexOf(close, pos);
        // Keep what could be the start of the closing sequence for the next chunk.
        const stop = end === -1 ? Math.max(pos, len - close.length + 1) : end;
        if (this.state === CDATA && stop > pos && this.mode !== SKIP_ITEM && this.frames.length > 0) {
          this.cdata += buf.slice(pos, stop);
          this.checkSize(stop);
        }
        if (end === -1) {
          this.pos = stop;
          return;
        }
        if (this.state === CDATA) this.endCdata();
        this.state = TEXT;
        this.pos = end + close.length;
        continue;
      }
      const lt = buf.indexOf('<', pos);
      if (lt === -1) {
        this.text(pos, len);
        this.pos = len;
        return;
      }
      if (lt > pos) this.text(pos, lt);
      this.pos = lt;
      if (!this.markup(lt)) return;
    }
  }

  private text(from: number, to: number): void {
    if (this.mode === SKIP_ITEM) return;
    const f = this.frames[this.frames.length - 1];
    if (f !== undefined) {
      f.raw += this.buf.slice(from, to);
      this.checkSize(to);
    } else if ((!this.rootSeen || this.rootClosed) && !isBlank(this.buf, from, to)) {
      throw this.fail(
        this.rootSeen ? 'text after the root element' : 'text before the root element: not an XML document',
        from,
      );
    }
  }

  /** Text is being kept up to `at`: an item may have grown too long, the detection window full. */
  private checkSize(at: number): void {
    if (this.inItem) {
      if (this.base + at - this.itemAbs > this.max) this.tooLong();
    } else if (this.mode === DETECT && this.base + at - this.detectStart > this.budget) this.decide(false);
  }

  /** Reads the markup at `lt`; false when it is not complete in the buffer yet. */
  private markup(lt: number): boolean {
    const buf = this.buf;
    const len = buf.length;
    if (lt + 1 >= len) return this.needMore(lt);
    const c1 = buf.charCodeAt(lt + 1);
    if (c1 === 0x2f) {
      const gt = buf.indexOf('>', lt + 2);
      if (gt === -1) return this.needMore(lt);
      this.pos = gt + 1;
      this.close(buf.slice(lt + 2, gt).trim(), lt);
      return true;
    }
    if (c1 === 0x21) {
      if (buf.startsWith('<!--', lt)) {
        this.pos = lt + 4;
        this.state = COMMENT;
        return true;
      }
      if (buf.startsWith('<![CDATA[', lt)) {
        this.pos = lt + 9;
        this.startCdata();
        return true;
      }
      const head = buf.slice(lt, lt + 9);
      if (head.length < 9 && ('<![CDATA['.startsWith(head) || '<!DOCTYPE'.startsWith(head.toUpperCase()))) {
        return this.needMore(lt);
      }
      if (head.toUpperCase() === '<!DOCTYPE') return this.doctype(lt);
      throw this.fail(`unexpected markup ${JSON.stringify(buf.slice(lt, lt + 12))}`, lt);
    }
    if (c1 === 0x3f) {
      this.pos = lt + 2;
      this.state = PI;
      return true;
    }
    if (!isNameStart(c1)) {
      // A stray `<` in text ("weight < 5 kg"): not XML, but kept as the text it was meant to be.
      this.text(lt, lt + 1);
      this.pos = lt + 1;
      return true;
    }
    let i = lt + 1;
    while (i < len) {
      const c = buf.charCodeAt(i);
      if (c === 0x3e || c === 0x2f || c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d) break;
      i++;
    }
    if (i >= len) return this.needMore(lt);
    const name = buf.slice(lt + 1, i);
    let gt = i;
    if (buf.charCodeAt(i) !== 0x3e) {
      let quote = 0;
      for (; gt < len; gt++) {
        const c = buf.charCodeAt(gt);
        if (quote !== 0) {
          if (c === quote) quote = 0;
        } else if (c === 0x22 || c === 0x27) quote = c;
        else if (c === 0x3e) break;
      }
      if (gt >= len) return this.needMore(lt);
    }
    const selfClosing = buf.charCodeAt(gt - 1) === 0x2f;
    const attrs = gt > i ? buf.slice(i, selfClosing ? gt - 1 : gt) : '';
    this.pos = gt + 1;
    this.open(name, attrs, selfClosing, lt);
    return true;
  }

  private needMore(lt: number): boolean {
    if (this.buf.length - lt > this.maxMarkup) {
      throw this.fail(`a tag longer than ${this.maxMarkup} characters`, lt);
    }
    this.pos = lt;
    return false;
  }

  private doctype(lt: number): boolean {
    const buf = this.buf;
    let depth = 0;
    let quote = 0;
    let end = -1;
    for (let i = lt + 9; i < buf.length; i++) {
      const c = buf.charCodeAt(i);
      if (quote !== 0) {
        if (c === quote) quote = 0;
      } else if (c === 0x22 || c === 0x27) quote = c;
      else if (c === 0x5b) depth++;
      else if (c === 0x5d) depth--;
      else if (c === 0x3e && depth <= 0) {
        end = i;
        break;
      }
    }
    if (end === -1) {
      if (buf.length - lt > MAX_DOCTYPE) throw this.fail('a DOCTYPE longer than 1 MiB', lt);
      this.pos = lt;
      return false;
    }
    const decl = buf.slice(lt, end + 1);
    if (this.rootSeen) throw this.fail('a DOCTYPE inside the document', lt);
    if (/^<!DOCTYPE\s+html\b/i.test(decl)) throw this.fail('the document is an HTML page, not a feed', lt);
    if (/<!ENTITY/i.test(decl)) {
      throw this.fail(
        'the DOCTYPE declares entities (<!ENTITY …>); entity declarations are refused, ' +
          'as their expansion ("billion laughs") can exhaust the server',
        lt,
      );
    }
    this.pos = end + 1;
    return true;
  }

  private open(name: string, attrs: string, selfClosing: boolean, lt: number): void {
    if (this.mode === SKIP_ITEM) {
      if (!selfClosing) this.skipDepth++;
      return;
    }
    if (this.rootClosed) throw this.fail(`a second root element <${name}>`, lt);
    const depth = this.names.length + 1;
    if (depth > this.maxDepth) {
      if (this.inItem) {
        this.reject(
          'malformed_record',
          `item nested deeper than ${this.maxDepth} levels`,
          selfClosing ? 0 : 1,
        );
        return;
      }
      if (this.mode === DETECT) {
        this.tooDeepWhileDetecting(selfClosing, lt);
        return;
      }
      throw this.fail(`elements nested deeper than ${this.maxDepth} levels`, lt);
    }
    if (depth === 1) this.openRoot(name, lt);
    this.names.push(name);
    const pairs = attrs === '' ? null : parseAttributes(attrs);
    if (pairs !== null) this.declareNamespaces(pairs);
    let build = this.mode === DETECT || this.inItem;
    if (!build && this.matches(depth, name)) {
      this.startItem(lt);
      build = true;
    }
    if (build) {
      const f: Frame = {
        name,
        node: null,
        text: '',
        raw: '',
        line: this.mode === DETECT ? this.lines.lineAt(this.buf, lt) : this.itemLine,
        start: this.base + lt,
        prefixed: false,
        deepFrom: -1,
        deepTo: -1,
      };
      if (pairs !== null) this.setAttributes(f, pairs);
      this.frames.push(f);
      if (this.inItem && this.base + this.pos - this.itemAbs > this.max) {
        this.tooLong();
        return;
      }
    }
    if (this.mode === DETECT && this.base + lt - this.detectStart > this.budget) this.decide(false);
    if (selfClosing) this.close(name, lt);
  }

  private openRoot(name: string, lt: number): void {
    this.rootSeen = true;
    this.rootTag = name;
    const local = localName(name);
    if (local.toLowerCase() === 'html') throw this.fail('the document is an HTML page, not a feed', lt);
    if (this.matcher !== null || this.anyName !== null) return;
    const prefix = name.slice(0, name.length - local.length);
    if (local === 'rss') this.matcher = [name, 'channel', 'item'];
    else if (local === 'feed') this.matcher = [name, `${prefix}entry`];
    else if (local === 'RDF') this.matcher = [name, 'item'];
    else {
      this.mode = DETECT;
      this.detectStart = this.base + lt;
    }
  }

  private matches(depth: number, name: string): boolean {
    if (this.anyName !== null) return name === this.anyName;
    const m = this.matcher;
    if (m === null || m.length !== depth || m[depth - 1] !== name) return false;
    for (let i = 0; i < depth - 1; i++) if (this.names[i] !== m[i]) return false;
    return true;
  }

  private startItem(lt: number): void {
    this.inItem = true;
    this.itemDepth = this.names.length;
    this.itemAbs = this.base + lt;
    this.itemLine = this.lines.lineAt(this.buf, lt);
    this.itemProblem = null;
  }

  private close(name: string, lt: number): void {
    if (this.mode === SKIP_ITEM) {
      if (--this.skipDepth === 0) {
        this.mode = this.skipReturn;
        if (this.names.length === 0) this.rootClosed = true;
      }
      return;
    }
    const names = this.names;
    const top = names[names.length - 1];
    if (top !== name) {
      const k = names.lastIndexOf(name);
      if (!this.inItem || k < this.itemDepth - 1) {
        throw this.fail(
          top === undefined ? `</${name}> without a start tag` : `</${name}> closes <${top}>`,
          lt,
        );
      }
      // Inside an item the damage stays in the item: close what was left open, reject it.
      this.itemProblem ??= `</${name}> closes <${top}> on line ${this.lines.lineAt(this.buf, lt)}`;
      while (names.length > k + 1) {
        names.pop();
        this.frames.pop();
      }
    }
    names.pop();
    if (names.length === 0) this.rootClosed = true;
    if (this.mode === DETECT || this.inItem) {
      const f = this.frames.pop() as Frame;
      const value = this.finish(f);
      const parent = this.frames[this.frames.length - 1];
      if (parent !== undefined) this.attach(parent, f.name, value);
      else if (this.mode === DETECT) this.rootValue = value;
      else this.completeItem(value);
    }
    if (this.rootClosed && this.mode === DETECT) this.decide(true);
  }

  private finish(f: Frame): RawValue {
    const text = f.raw === '' ? f.text : f.text + decodeText(f.raw);
    // An element whose too deep content was skipped stays an object, to be found again.
    if (f.node === null && f.deepFrom !== -1) f.node = createRawObject();
    if (f.node === null) return text;
    let node = f.node;
    if (text !== '' && !isBlank(text, 0, text.length)) node['#text'] = text;
    // While the item element is being detected, names stay as written: the item path is
    // matched against the names as written; decide() strips the items it hands on.
    if (f.prefixed && this.stripping && this.mode !== DETECT) node = this.strip(node);
    if (this.mode === DETECT) {
      this.detectLine.set(node, f.line);
      this.detectSize.set(node, this.base + this.pos - f.start);
      if (f.deepFrom !== -1) this.detectDeep.set(node, [f.deepFrom, f.deepTo]);
    }
    return node;
  }

  private attach(parent: Frame, name: string, value: RawValue): void {
    if (parent.node === null) parent.node = createRawObject();
    const node = parent.node;
    if (this.stripping && name.includes(':')) parent.prefixed = true;
    const prev = node[name];
    if (prev === undefined) node[name] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else node[name] = [prev, value];
  }

  private setAttributes(f: Frame, pairs: string[]): void {
    for (let i = 0; i < pairs.length; i += 2) {
      const name = pairs[i] as string;
      if (name === 'xmlns' || name.startsWith('xmlns:')) continue;
      if (f.node === null) f.node = createRawObject();
      if (this.stripping && name.includes(':')) f.prefixed = true;
      f.node[`@${name}`] = decodeAttribute(pairs[i + 1] as string);
    }
  }

  private declareNamespaces(pairs: string[]): void {
    for (let i = 0; i < pairs.length; i += 2) {
      const name = pairs[i] as string;
      if (name === 'xmlns') this.ns[''] ??= pairs[i + 1] as string;
      else if (name.startsWith('xmlns:') && this.ns[name.slice(6)] === undefined) {
        this.ns[name.slice(6)] = pairs[i + 1] as string;
        this.stripCache.clear();
      }
    }
  }

  private startCdata(): void {
    this.state = CDATA;
    this.cdata = '';
  }

  private endCdata(): void {
    const f = this.frames[this.frames.length - 1];
    if (this.mode !== SKIP_ITEM && f !== undefined) {
      f.text += decodeText(f.raw) + normalizeNewlines(this.cdata);
      f.raw = '';
    }
    this.cdata = '';
  }

  private completeItem(value: RawValue): void {
    this.inItem = false;
    const chars = this.base + this.pos - this.itemAbs;
    let tooLong = chars > this.max;
    if (!tooLong && chars * 3 > this.max) {
      const from = Math.max(0, this.itemAbs - this.base);
      tooLong = Buffer.byteLength(this.buf.slice(from, this.pos), 'utf8') > this.max;
    }
    if (tooLong) this.issue('record_too_long', `item longer than ${this.max} bytes`);
    else if (this.itemProblem !== null)
      this.issue('malformed_record', `badly nested item: ${this.itemProblem}`);
    else this.out.push({ line: this.itemLine, data: asRecord(value) });
  }

  private tooLong(): void {
    this.reject('record_too_long', `item longer than ${this.max} bytes`, 0);
  }

  /** Drops the current item, reports it, and counts its elements to its end. */
  private reject(code: RowIssue['code'], message: string, extraDepth: number): void {
    this.issue(code, message);
    this.mode = SKIP_ITEM;
    this.skipReturn = ITEMS;
    this.skipDepth = this.names.length - this.itemDepth + 1 + extraDepth;
    this.names.length = this.itemDepth - 1;
    this.frames = [];
    this.inItem = false;
    this.cdata = '';
  }

  /**
   * An element nested too deep while the item element is not known yet: it is skipped to its
   * end and noted in every open element, so that the item holding it is rejected once the
   * items are known (as with a known item path), and the document refused if none holds it.
   */
  private tooDeepWhileDetecting(selfClosing: boolean, lt: number): void {
    const k = this.deepLines.length;
    this.deepLines.push(this.lines.lineAt(this.buf, lt));
    for (const f of this.frames) {
      if (f.deepFrom === -1) f.deepFrom = k;
      f.deepTo = k + 1;
    }
    if (selfClosing) return;
    this.mode = SKIP_ITEM;
    this.skipReturn = DETECT;
    this.skipDepth = 1;
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
      this.itemProblem = null;
      if (f.deepFrom !== -1)
        this.reject('malformed_record', `item nested deeper than ${this.maxDepth} levels`, 0);
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
    if (next < lines.length) {
      throw new FeedParseError(`XML: elements nested deeper than ${this.maxDepth} levels`, lines[next]);
    }
  }

  /** The node with prefixes stripped from its keys; a name the node also has unprefixed keeps its prefix. */
  private strip(node: RawObject): RawObject {
    const out = createRawObject();
    for (const k in node) {
      const s = this.strippedName(k);
      if (s !== null && node[s] === undefined && out[s] === undefined) out[s] = node[k] as RawValue;
      else out[k] = node[k] as RawValue;
    }
    return out;
  }

  /** A value built unstripped, stripped at every level (nested elements follow the same rule). */
  private stripTree(value: RawValue): RawValue {
    if (value === null || typeof value === 'string') return value;
    if (Array.isArray(value)) return value.map((v) => this.stripTree(v));
    const out = createRawObject();
    let prefixed = false;
    for (const k in value) {
      out[k] = this.stripTree(value[k] as RawValue);
      if (k.includes(':')) prefixed = true;
    }
    return prefixed ? this.strip(out) : out;
  }

  /** The name a key written `key` gets in the records when stripped (null: kept as written). */
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
}

interface Candidate {
  path: string[];
  items: RawObject[];
  /** The items hold several child elements each: they look like records. */
  recordLike: boolean;
}

/** Every list of two or more objects in a built tree, with its path. */
function collectCandidates(root: RawValue, path: string[], found: Candidate[]): void {
  const queue: Array<{ node: RawObject; path: string[] }> = [];
  if (isObject(root)) queue.push({ node: root, path });
  for (let q = 0; q < queue.length; q++) {
    const { node, path: at } = queue[q] as { node: RawObject; path: string[] };
    for (const key of Object.keys(node)) {
      const c = key.charCodeAt(0);
      if (c === 0x40 || c === 0x23) continue;
      const v = node[key] as RawValue;
      if (Array.isArray(v)) {
        if (v.length >= 2 && v.every(isObject)) {
          const items = v as RawObject[];
          found.push({ path: [...at, key], items, recordLike: items.every((o) => childCount(o) >= 2) });
        }
        for (const e of v) if (isObject(e)) queue.push({ node: e, path: [...at, key] });
      } else if (isObject(v)) queue.push({ node: v, path: [...at, key] });
    }
  }
}

/** Items that look like records first, then the shallowest, then the most numerous. */
function pickCandidate(found: Candidate[]): Candidate | undefined {
  let best: Candidate | undefined;
  for (const c of found) {
    if (
      best === undefined ||
      (c.recordLike && !best.recordLike) ||
      (c.recordLike === best.recordLike &&
        (c.path.length < best.path.length ||
          (c.path.length === best.path.length && c.items.length > best.items.length)))
    ) {
      best = c;
    }
  }
  return best;
}

/** Appends the objects at `path` under `value`, the node at `path[depth - 1]`, in document order. */
function nodesAt(value: RawValue | undefined, path: string[], depth: number, out: RawObject[]): void {
  if (Array.isArray(value)) {
    for (const v of value) nodesAt(v, path, depth, out);
    return;
  }
  if (!isObject(value)) return;
  if (depth === path.length) out.push(value);
  else nodesAt(value[path[depth] as string], path, depth + 1, out);
}

/** A document without a repeated element: the item is the end of its chain of lone wrappers. */
function loneItem(root: RawValue, rootName: string): Candidate | undefined {
  if (!isObject(root)) return undefined;
  let node = root;
  const path = [rootName];
  for (;;) {
    const keys = Object.keys(node).filter((k) => k[0] !== '@' && k[0] !== '#');
    const only = keys.length === 1 ? node[keys[0] as string] : undefined;
    if (only === undefined || !isObject(only)) break;
    node = only;
    path.push(keys[0] as string);
  }
  return { path, items: [node], recordLike: true };
}

function childCount(o: RawObject): number {
  let n = 0;
  for (const k in o) if (k[0] !== '@' && k[0] !== '#') n++;
  return n;
}

function isObject(v: RawValue | undefined): v is RawObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
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

function isNameStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c === 0x3a || c >= 0x80;
}

function isBlank(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09 && c !== 0xfeff) return false;
  }
  return true;
}

const ATTRIBUTE = /([^\s=]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;

/** Attribute names and values as written, alternating: [name, value, name, value, …]. */
function parseAttributes(attrs: string): string[] | null {
  let out: string[] | null = null;
  ATTRIBUTE.lastIndex = 0;
  for (let m = ATTRIBUTE.exec(attrs); m !== null; m = ATTRIBUTE.exec(attrs)) {
    out ??= [];
    out.push(m[1] as string, m[2] ?? m[3] ?? '');
  }
  return out;
}

const REFERENCE = /&(?:#(\d{1,8})|#[xX]([0-9a-fA-F]{1,7})|(amp|lt|gt|quot|apos));/g;
const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/**
 * Decodes text as written: line breaks normalised to `\n` (XML §2.11), then the five XML
 * entities and numeric character references, in one pass, so `&#38;lt;` is `&lt;`, not `<`.
 * A reference to a character XML does not allow, and any other `&…;`, stays as written.
 */
export function decodeText(raw: string): string {
  const s = normalizeNewlines(raw);
  return s.includes('&') ? s.replace(REFERENCE, replaceReference) : s;
}

function decodeAttribute(raw: string): string {
  // Attribute-value normalisation (XML §3.3.3): a literal tab or line break is a space.
  const s = raw.replace(/\r\n|[\t\n\r]/g, ' ');
  return s.includes('&') ? s.replace(REFERENCE, replaceReference) : s;
}

function replaceReference(whole: string, dec?: string, hex?: string, name?: string): string {
  if (name !== undefined) return NAMED[name] ?? whole;
  const code = dec !== undefined ? Number.parseInt(dec, 10) : Number.parseInt(hex ?? '', 16);
  const allowed =
    code === 0x9 ||
    code === 0xa ||
    code === 0xd ||
    (code >= 0x20 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd) ||
    (code >= 0x10000 && code <= 0x10ffff);
  return allowed ? String.fromCodePoint(code) : whole;
}

function normalizeNewlines(s: string): string {
  return s.includes('\r') ? s.replace(/\r\n?/g, '\n') : s;
}
