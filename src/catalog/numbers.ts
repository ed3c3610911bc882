import type { DecimalSeparator, NumberFormatNote } from '../model/catalog.js';
/**
 * Numbers as merchants write them: a decimal point or a decimal comma (`4.50`, `4,50`),
 * thousands grouped by `,` `.` a space, a no-break space or an apostrophe (`1,299.00`,
 * `1.299,00`, `1 299,00`, `1'299.00`), and a currency symbol or ISO 4217 code on either side
 * (`€ 4,50`, `4,50 €`, `EUR 4.50`, `$4.50`, `CHF 12.–`). Which of `.` and `,` is the decimal
 * separator is a property of the feed: given by the catalog (`options.decimalSeparator`) or
 * detected once from the feed's own numeric columns (see NumberFormatDetector), never guessed
 * cell by cell.
 */

/** A number read from a cell, with the currency written beside it when there was one. */
export type ReadNumber =
  | { ok: true; value: number; currency?: string }
  | { ok: false; reason: 'not_a_number' | 'out_of_range' };

// Spaces a spreadsheet or a shop puts between digit groups or beside a currency: space, tab,
// no-break space, narrow no-break space (French), thin space, figure space.
const SPACES = ' \t\u00a0\u202f\u2009\u2007';
const SPACE_SET = new Set(SPACES);
// Apostrophes used to group thousands (Swiss): ASCII and typographic.
const APOSTROPHES = new Set(["'", '\u2019']);
// The dash that Swiss prices write for a zero fraction: `12.–`, `12.-`.
const ZERO_FRACTION = new Set(['-', '\u2013', '\u2014']);
const MINUS = new Set(['-', '\u2212']);

/**
 * Currency symbols and the ISO 4217 code they stand for. A bare `$` is read as US dollars and
 * `¥` as yen, as most shops mean them; a feed in another dollar writes its code (`CAD 4.50`) or
 * has a currency column, which always wins. `kr` is Swedish, Norwegian, Danish or Icelandic:
 * accepted beside a number, but it names no currency.
 */
const SYMBOLS: ReadonlyMap<string, string | null> = new Map([
  ['US$', 'USD'],
  ['C$', 'CAD'],
  ['CA$', 'CAD'],
  ['A$', 'AUD'],
  ['AU$', 'AUD'],
  ['NZ$', 'NZD'],
  ['HK$', 'HKD'],
  ['S$', 'SGD'],
  ['R$', 'BRL'],
  ['$', 'USD'],
  ['€', 'EUR'],
  ['£', 'GBP'],
  ['¥', 'JPY'],
  ['₹', 'INR'],
  ['₽', 'RUB'],
  ['₺', 'TRY'],
  ['₩', 'KRW'],
  ['₪', 'ILS'],
  ['₫', 'VND'],
  ['₴', 'UAH'],
  ['฿', 'THB'],
  ['zł', 'PLN'],
  ['Kč', 'CZK'],
  ['Ft', 'HUF'],
  ['Fr.', 'CHF'],
  ['kr.', null],
  ['kr', null],
]);
// Longest first, so that `US$` is tried before `$` and `kr.` before `kr`.
const SYMBOL_LIST = [...SYMBOLS.keys()].sort((a, b) => b.length - a.length);

let isoCodes: ReadonlySet<string> | undefined;
/** Whether a three-letter code is an ISO 4217 currency (the runtime's own list). */
export function isCurrencyCode(code: string): boolean {
  isoCodes ??= new Set(Intl.supportedValuesOf('currency'));
  return isoCodes.has(code);
}

/** A cell split into its number text and the currency written beside it. */
interface Split {
  body: string;
  /** The ISO code of the currency written, null for a symbol naming none (`kr`), undefined if none. */
  currency?: string | null;
}

function trimSpaces(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && SPACE_SET.has(s[a] as string)) a++;
  while (b > a && SPACE_SET.has(s[b - 1] as string)) b--;
  return s.slice(a, b);
}

/** Takes a currency (symbol or ISO code) off either end of a cell. */
function splitCurrency(cell: string): Split | undefined {
  let body = trimSpaces(cell);
  let currency: string | null | undefined;
  const take = (code: string | null) => {
    if (currency !== undefined) return false;
    currency = code;
    return true;
  };
  // A sign may stand before the symbol (`-€4.50`) or after it (`€ -4.50`).
  let sign = '';
  if (MINUS.has(body[0] as string) || body[0] === '+') {
    sign = body[0] === '+' ? '' : '-';
    body = trimSpaces(body.slice(1));
  }
  const code = /^([A-Z]{3})(?![A-Za-z])/.exec(body)?.[1];
  if (code !== undefined && isCurrencyCode(code)) {
    take(code);
    body = trimSpaces(body.slice(3));
  } else {
    const symbol = SYMBOL_LIST.find((s) => body.startsWith(s));
    if (symbol !== undefined) {
      take(SYMBOLS.get(symbol) ?? null);
      body = trimSpaces(body.slice(symbol.length));
    }
  }
  const tailCode = /(?<![A-Za-z])([A-Z]{3})$/.exec(body)?.[1];
  if (tailCode !== undefined && isCurrencyCode(tailCode)) {
    if (!take(tailCode)) return undefined;
    body = trimSpaces(body.slice(0, -3));
  } else {
    // A symbol that is a word (`kr`, `Ft`) must not end a longer word.
    const found = SYMBOL_LIST.find(
      (s) => body.endsWith(s) && !(/^[A-Za-z]/.test(s) && /[A-Za-z]$/.test(body.slice(0, -s.length))),
    );
    if (found !== undefined) {
      if (!take(SYMBOLS.get(found) ?? null)) return undefined;
      body = trimSpaces(body.slice(0, -found.length));
    }
  }
  if (MINUS.has(body[0] as string) || body[0] === '+') {
    if (sign !== '') return undefined;
    sign = body[0] === '+' ? '' : '-';
    body = trimSpaces(body.slice(1));
  }
  return { body: sign + body, ...(currency !== undefined ? { currency } : {}) };
}

/** The parts of a number's text: sign, integer digits, fraction digits, exponent. */
interface Parts {
  negative: boolean;
  int: string;
  frac: string;
  exp: string;
  /** The separator that grouped the integer digits, if any. */
  group?: string;
}

const DIGITS = /^\d+$/;
const PLAIN_POINT = /^-?\d+(?:\.\d+)?$/;
const PLAIN_COMMA = /^-?\d+(?:,\d+)?$/;

/**
 * Splits number text written with `decimal` as its decimal separator. The integer digits are
 * plain (`1299`) or grouped by threes with one separator (`1.299.000`, `1 299`, `1'299`);
 * grouping is refused with an exponent. `12.–` is `12`.
 */
function numberParts(text: string, decimal: DecimalSeparator): Parts | undefined {
  let s = text;
  let negative = false;
  if (MINUS.has(s[0] as string) || s[0] === '+') {
    negative = s[0] !== '+';
    s = s.slice(1);
  }
  let exp = '';
  const e = /[eE]([-+]?\d+)$/.exec(s);
  if (e) {
    exp = e[1] as string;
    s = s.slice(0, e.index);
  }
  let int = s;
  let frac = '';
  const at = s.lastIndexOf(decimal);
  if (at !== -1) {
    int = s.slice(0, at);
    frac = s.slice(at + 1);
    if (frac.length === 1 && ZERO_FRACTION.has(frac)) frac = '';
    else if (!(frac === '' || DIGITS.test(frac))) return undefined;
    if (int === '' && frac === '') return undefined;
  }
  if (int === '') return { negative, int: '0', frac, exp };
  if (DIGITS.test(int)) return { negative, int, frac, exp };
  if (exp !== '') return undefined;
  // Grouped: 1 to 3 digits, then groups of exactly 3 after the same separator.
  const first = /^\d{1,3}/.exec(int)?.[0];
  if (first === undefined) return undefined;
  const group = int[first.length] as string;
  const other = decimal === '.' ? ',' : '.';
  if (group !== other && !SPACE_SET.has(group) && !APOSTROPHES.has(group)) return undefined;
  const rest = int.slice(first.length).split(group);
  if (rest[0] !== '' || rest.length < 2) return undefined;
  for (const g of rest.slice(1)) if (!/^\d{3}$/.test(g)) return undefined;
  return { negative, int: first + rest.join(''), frac, exp, group };
}

/** What a number cell may hold besides its number. */
export interface NumberSyntax {
  /** A currency symbol or code beside it (prices). */
  currency?: boolean;
  /** An exponent (`1.5e3`): a price or a weight may, a quantity may not. */
  exponent?: boolean;
}

/**
 * Reads a number cell written with `decimal` as its decimal separator, with or without a
 * currency beside it or an exponent (see NumberSyntax). A number too large to be represented
 * (`1e400`) is `out_of_range`, never Infinity or null.
 */
export function readNumber(cell: string, decimal: DecimalSeparator, syntax: NumberSyntax = {}): ReadNumber {
  // Most cells are plain (`12.50`): read at once.
  if ((decimal === '.' ? PLAIN_POINT : PLAIN_COMMA).test(cell)) {
    const value = Number(decimal === '.' ? cell : cell.replace(',', '.'));
    return Number.isFinite(value)
      ? { ok: true, value: value === 0 ? 0 : value }
      : { ok: false, reason: 'out_of_range' };
  }
  const split = syntax.currency ? splitCurrency(cell) : { body: trimSpaces(cell) };
  if (split === undefined || split.body === '') return { ok: false, reason: 'not_a_number' };
  const parts = numberParts(split.body, decimal);
  if (parts === undefined || (parts.exp !== '' && !syntax.exponent))
    return { ok: false, reason: 'not_a_number' };
  const value = Number(`${parts.negative ? '-' : ''}${parts.int}.${parts.frac || '0'}e${parts.exp || '0'}`);
  if (!Number.isFinite(value)) return { ok: false, reason: 'out_of_range' };
  const currency = 'currency' in split ? split.currency : undefined;
  return { ok: true, value: value === 0 ? 0 : value, ...(currency ? { currency } : {}) };
}

/**
 * What one cell says of the decimal separator: `.` or `,` when only that reading makes sense
 * (`4,50`, `1.299,00`, `100.0000`, `1,299,000`), undefined when it does not tell
 * (`12`, `1,299`, `1.299`: grouped thousands or three decimals).
 */
export function decimalEvidence(cell: string): DecimalSeparator | undefined {
  const split = splitCurrency(cell);
  if (split === undefined) return undefined;
  let body = split.body.replace(/[eE][-+]?\d+$/, '');
  if (MINUS.has(body[0] as string) || body[0] === '+') body = body.slice(1);
  const dot = body.indexOf('.');
  const comma = body.indexOf(',');
  if (dot === -1 && comma === -1) return undefined;
  if (dot !== -1 && comma !== -1) {
    // Both: the later one is the decimal separator, if the text reads that way.
    const decimal: DecimalSeparator = dot > comma ? '.' : ',';
    return numberParts(body, decimal) ? decimal : undefined;
  }
  const sep: DecimalSeparator = dot !== -1 ? '.' : ',';
  const other: DecimalSeparator = sep === '.' ? ',' : '.';
  if (body.indexOf(sep) !== body.lastIndexOf(sep)) {
    // Twice or more: it groups thousands, so the decimal separator is the other one.
    return numberParts(body, other) ? other : undefined;
  }
  const [int = '', frac = ''] = body.split(sep);
  if (frac.length === 1 && ZERO_FRACTION.has(frac)) return DIGITS.test(int) ? sep : undefined;
  if (!DIGITS.test(frac) && frac !== '') return undefined;
  // Three digits after it read both ways (`1,299`), unless the integer part cannot be a group
  // of thousands (`0,500`, `,500`).
  if (frac.length === 3 && /^[1-9]\d{0,2}$/.test(int)) return undefined;
  return numberParts(body, sep) ? sep : undefined;
}

/** Records looked at, at most, before the decimal separator is settled. */
export const DETECT_MAX_RECORDS = 10_000;
/** Values that tell the separator, after which no more records are looked at. */
export const DETECT_ENOUGH_EVIDENCE = 1_000;

/**
 * Settles a feed's decimal separator from its first records: buffers up to
 * DETECT_MAX_RECORDS records (or until DETECT_ENOUGH_EVIDENCE of their numeric values told
 * the separator), decides by the majority of the values that tell it (a point when none
 * does), and gives the records back in order, the buffered ones first.
 */
export async function settleDecimalSeparator<T>(
  records: AsyncIterable<T>,
  numericCells: (record: T) => Iterable<string>,
  given: DecimalSeparator | undefined,
): Promise<{ note: NumberFormatNote; records: AsyncIterable<T> }> {
  if (given !== undefined) return { note: { decimalSeparator: given, source: 'option' }, records };
  const iterator = records[Symbol.asyncIterator]();
  const buffered: T[] = [];
  let point = 0;
  let comma = 0;
  const examples: Record<DecimalSeparator, string | undefined> = { '.': undefined, ',': undefined };
  let done = false;
  while (buffered.length < DETECT_MAX_RECORDS && point + comma < DETECT_ENOUGH_EVIDENCE) {
    const next = await iterator.next();
    if (next.done) {
      done = true;
      break;
    }
    buffered.push(next.value);
    for (const cell of numericCells(next.value)) {
      const e = decimalEvidence(cell);
      if (e === '.') point++;
      else if (e === ',') comma++;
      if (e !== undefined) examples[e] ??= cell.trim();
    }
  }
  const decimalSeparator: DecimalSeparator = comma > point ? ',' : '.';
  const note: NumberFormatNote = {
    decimalSeparator,
    source: point + comma > 0 ? 'detected' : 'default',
    evidence: {
      point,
      comma,
      ...(examples[decimalSeparator] ? { example: examples[decimalSeparator] } : {}),
    },
  };
  async function* replay(): AsyncGenerator<T> {
    try {
      yield* buffered.splice(0);
      if (done) return;
      for (;;) {
        const next = await iterator.next();
        if (next.done) return;
        yield next.value;
      }
    } finally {
      await iterator.return?.();
    }
  }
  return { note, records: replay() };
}
