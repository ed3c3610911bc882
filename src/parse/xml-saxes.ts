import type {
  CDataHandler,
  CloseTagHandler,
  DoctypeHandler,
  ErrorHandler,
  OpenTagHandler,
  OpenTagStartHandler,
  PIHandler,
  SaxesOptions,
  TextHandler,
  XMLDeclHandler,
} from 'saxes';
import { SaxesParser } from 'saxes';

/**
 * What feedwright reads (and, for three of them, writes) of saxes's private state. saxes
 * 6.0.0 is pinned (package.json names the exact version) and `saxesInternals` checks the
 * shape when a parser is made, so an upgrade that changes any of it fails at once, in every
 * XML test, rather than quietly. Everything else goes through saxes's public API.
 *
 * Why: saxes holds a text node, comment, CDATA section or processing instruction whole until
 * its end, in `text`; feedwright drops what it does not need (an item already refused, a
 * comment) so that memory stays bounded whatever the feed; `state` tells which of those saxes
 * is in; and a bare `&` (`Tom & Jerry`) would otherwise only be reported at the next `;`,
 * wherever that is, so the state that reads a reference is wrapped (see guardReferences).
 */
export interface SaxesInternals {
  state: number;
  text: string;
  entity: string;
  chunk: string;
  i: number;
  stateTable: Array<(this: SaxesInternals) => void>;
}

// saxes 6.0.0's states (saxes.js, S_*), grouped by what the parser is in the middle of.
const S_BEGIN_WHITESPACE = 1;
const S_DOCTYPE = 2;
const S_DTD_PI_ENDING = 12;
const S_TEXT = 13;
const S_ENTITY = 14;
const S_OPEN_WAKA = 15;
const S_OPEN_WAKA_BANG = 16;
const S_COMMENT = 17;
const S_COMMENT_ENDED = 19;
const S_CDATA = 20;
const S_CDATA_ENDING_2 = 22;
const S_PI_FIRST_CHAR = 23;
const S_PI_ENDING = 26;
const S_XML_DECL_NAME_START = 27;
const S_XML_DECL_ENDING = 33;
const S_OPEN_TAG = 34;
const S_CLOSE_TAG_SAW_WHITE = 44;

/** What saxes is in the middle of reading. */
export type Construct =
  | 'text'
  | 'reference'
  | 'tag'
  | 'comment'
  | 'cdata'
  | 'pi'
  | 'xmldecl'
  | 'doctype'
  | 'start';

/** The construct a saxes state reads. */
export function constructOf(state: number): Construct {
  if (state === S_TEXT) return 'text';
  if (state === S_ENTITY) return 'reference';
  if (state <= S_BEGIN_WHITESPACE) return 'start';
  if (state >= S_DOCTYPE && state <= S_DTD_PI_ENDING) return 'doctype';
  if (state >= S_COMMENT && state <= S_COMMENT_ENDED) return 'comment';
  if (state >= S_CDATA && state <= S_CDATA_ENDING_2) return 'cdata';
  if (state >= S_PI_FIRST_CHAR && state <= S_PI_ENDING) return 'pi';
  if (state >= S_XML_DECL_NAME_START && state <= S_XML_DECL_ENDING) return 'xmldecl';
  if (state === S_OPEN_WAKA || state === S_OPEN_WAKA_BANG) return 'tag';
  if (state >= S_OPEN_TAG && state <= S_CLOSE_TAG_SAW_WHITE) return 'tag';
  return 'text';
}

/** How the reader's messages name each construct ("the document ends inside a comment"). */
export const CONSTRUCT_WORDS: Record<Construct, string> = {
  text: 'text',
  reference: 'an entity or character reference',
  tag: 'a tag',
  comment: 'a comment',
  cdata: 'a CDATA section',
  pi: 'a processing instruction',
  xmldecl: 'the XML declaration',
  doctype: 'a DOCTYPE',
  start: 'the start of the document',
};

/** The private state of a saxes parser, checked to be what this file expects. */
export function saxesInternals<O extends SaxesOptions>(parser: SaxesParser<O>): SaxesInternals {
  // biome-ignore lint/suspicious/noExplicitAny: reading saxes's private fields is the point (see SaxesInternals).
  const p = parser as any;
  const entityState = (SaxesParser.prototype as unknown as Record<string, unknown>).sEntity;
  const ok =
    typeof p.state === 'number' &&
    typeof p.text === 'string' &&
    typeof p.entity === 'string' &&
    typeof p.chunk === 'string' &&
    typeof p.i === 'number' &&
    Array.isArray(p.stateTable) &&
    p.stateTable.length === S_CLOSE_TAG_SAW_WHITE + 1 &&
    typeof entityState === 'function' &&
    p.stateTable[S_ENTITY] === entityState;
  if (!ok)
    throw new Error(
      'saxes is not the version feedwright was written for (6.0.0): see src/parse/xml-saxes.ts',
    );
  return p as SaxesInternals;
}

/** An entity or character reference: its name (`nbsp`, `#x1F600`) and where its `&` is. */
export interface Reference {
  name: string;
  line: number;
  column: number;
}

/** Longest entity or character reference read (`&#x0000003C;` may have any number of zeros). */
export const MAX_REFERENCE = 1024;

/**
 * Makes saxes report a bare `&` where it is. saxes reads everything after a `&` as the
 * reference's name up to the next `;`, and only then says the name is wrong: in
 * `Tom & Jerry</title>…` that is wherever the next `;` happens to be, or the end of the
 * feed. The wrapped state looks ahead in the chunk first: a character that cannot be in a
 * reference (white space, `<`, `&`, quotes…) before the `;`, or a reference longer than
 * MAX_REFERENCE, calls `bad` with the line and column of the `&`; otherwise saxes reads the
 * reference as before and checks it as before. Returns the last reference read (kept up to
 * date), for messages about it.
 */
export function guardReferences<O extends SaxesOptions>(
  parser: SaxesParser<O>,
  internals: SaxesInternals,
  bad: (line: number, column: number, tooLong: boolean) => never,
): Reference {
  const table = internals.stateTable;
  const read = table[S_ENTITY] as (this: SaxesInternals) => void;
  const last: Reference = { name: '', line: 0, column: 0 };
  let line = 0;
  let column = 0;
  table[S_ENTITY] = function (this: SaxesInternals) {
    const held = this.entity.length;
    if (held === 0) {
      // The `&` was the last character read: saxes's column is its 1-based column.
      line = parser.line;
      column = parser.column;
    }
    const { chunk, i } = this;
    // Characters the reference may still have before its `;`.
    const room = MAX_REFERENCE - held;
    for (let j = i; j < chunk.length; j++) {
      const c = chunk.charCodeAt(j);
      if (c === 0x3b) {
        last.name = this.entity + chunk.slice(i, j);
        last.line = line;
        last.column = column;
        break;
      }
      if (j - i >= room) bad(line, column, true);
      if (!isReferenceChar(c)) bad(line, column, false);
    }
    read.call(this);
  };
  return last;
}

/** Characters a reference's name may hold (name characters, and `#` for character references). */
function isReferenceChar(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) ||
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x30 && c <= 0x39) ||
    c === 0x23 ||
    c === 0x5f ||
    c === 0x2d ||
    c === 0x2e ||
    c === 0x3a ||
    c === 0xb7 ||
    c >= 0xc0
  );
}

/** The handlers the XML reader gives saxes. */
export interface SaxesHandlers<O extends SaxesOptions> {
  xmldecl: XMLDeclHandler;
  doctype: DoctypeHandler;
  processinginstruction: PIHandler;
  opentagstart: OpenTagStartHandler<O>;
  opentag: OpenTagHandler<O>;
  closetag: CloseTagHandler<O>;
  text: TextHandler;
  cdata: CDataHandler;
  comment: () => void;
  error: ErrorHandler;
}

/**
 * Sets saxes's handlers, as `parser.on()` would, but by their field names. `on()` stores each
 * handler under a computed key, which V8 treats as a keyed store: past a few such new
 * properties it turns the parser into a dictionary-mode object, and every field access of
 * saxes's inner loop slows down, reading feeds about three times slower (measured with
 * eight handlers on Node 20). Stores by name keep the parser's fast properties.
 */
export function setHandlers<O extends SaxesOptions>(parser: SaxesParser<O>, h: SaxesHandlers<O>): void {
  const f = parser as unknown as {
    xmldeclHandler: XMLDeclHandler;
    doctypeHandler: DoctypeHandler;
    piHandler: PIHandler;
    openTagStartHandler: OpenTagStartHandler<O>;
    openTagHandler: OpenTagHandler<O>;
    closeTagHandler: CloseTagHandler<O>;
    textHandler: TextHandler;
    cdataHandler: CDataHandler;
    commentHandler: () => void;
    errorHandler: ErrorHandler;
  };
  f.xmldeclHandler = h.xmldecl;
  f.doctypeHandler = h.doctype;
  f.piHandler = h.processinginstruction;
  f.openTagStartHandler = h.opentagstart;
  f.openTagHandler = h.opentag;
  f.closeTagHandler = h.closetag;
  f.textHandler = h.text;
  f.cdataHandler = h.cdata;
  f.commentHandler = h.comment;
  f.errorHandler = h.error;
}
