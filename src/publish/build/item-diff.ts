import type { Readable } from 'node:stream';

/**
 * Orders skus by code point, as PostgreSQL's "C" collation (the products.sku column's)
 * does: JavaScript's `<` compares UTF-16 code units, which puts U+E000–U+FFFF after the
 * surrogate pairs of U+10000 and above; this corrects for that.
 */
export function compareSkus(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

/** A sku as one field of a line of the item list: no tab, line break or backslash left raw. */
export function escapeSku(sku: string): string {
  return /[\\\t\n\r]/.test(sku)
    ? sku.replace(/[\\\t\n\r]/g, (c) =>
        c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r',
      )
    : sku;
}

function unescapeSku(s: string): string {
  return s.includes('\\')
    ? s.replace(/\\(.)/g, (_, c: string) => (c === 't' ? '\t' : c === 'n' ? '\n' : c === 'r' ? '\r' : c))
    : s;
}

/** How many skus of each kind a publication record keeps (the counts are always whole). */
export const DIFF_LIST_CAP = 1000;

/** What changed between two publications' item lists. */
export interface ItemDiff {
  added: number;
  removed: number;
  changed: number;
  lists: { added: string[]; removed: string[]; changed: string[] };
}

/**
 * Diffs a new publication's items, fed in sku order, against the previous publication's
 * item list file (`sku<TAB>hash` lines in the same order), with a merge: memory stays
 * bounded by one read buffer whatever the catalog's size.
 */
export class ItemDiffer {
  private readonly lines: AsyncIterator<string> | undefined;
  private buffer: Array<[string, string]> = [];
  private pos = 0;
  private done: boolean;
  private readonly diff: ItemDiff = {
    added: 0,
    removed: 0,
    changed: 0,
    lists: { added: [], removed: [], changed: [] },
  };

  /** `previous` is the old item list, or undefined for a first publication. */
  constructor(previous: Readable | undefined) {
    this.done = previous === undefined;
    this.lines = previous === undefined ? undefined : readChunks(previous);
  }

  /** Takes the next batch of new items (sorted, after every earlier batch). */
  async add(skus: readonly string[], hashes: readonly string[]): Promise<void> {
    for (let i = 0; i < skus.length; i++) {
      const sku = skus[i] as string;
      for (;;) {
        if (this.pos >= this.buffer.length && !(await this.refill())) {
          this.note('added', sku);
          break;
        }
        const [oldSku, oldHash] = this.buffer[this.pos] as [string, string];
        const order = compareSkus(oldSku, sku);
        if (order < 0) {
          this.note('removed', oldSku);
          this.pos++;
          continue;
        }
        if (order === 0) {
          if (oldHash !== hashes[i]) this.note('changed', sku);
          this.pos++;
        } else {
          this.note('added', sku);
        }
        break;
      }
    }
  }

  /** Every old item not seen again was removed. */
  async finish(): Promise<ItemDiff> {
    for (;;) {
      while (this.pos < this.buffer.length)
        this.note('removed', (this.buffer[this.pos++] as [string, string])[0]);
      if (!(await this.refill())) return this.diff;
    }
  }

  private note(kind: 'added' | 'removed' | 'changed', sku: string): void {
    this.diff[kind]++;
    const list = this.diff.lists[kind];
    if (list.length < DIFF_LIST_CAP) list.push(sku);
  }

  private async refill(): Promise<boolean> {
    if (this.done || !this.lines) return false;
    const next = await this.lines.next();
    if (next.done) {
      this.done = true;
      return false;
    }
    this.buffer = [];
    this.pos = 0;
    for (const line of next.value.split('\n')) {
      if (line === '') continue;
      const tab = line.lastIndexOf('\t');
      this.buffer.push([unescapeSku(line.slice(0, tab)), line.slice(tab + 1)]);
    }
    return this.buffer.length > 0 || this.refill();
  }
}

/** A stream's whole lines, a chunk of them at a time. */
async function* readChunks(stream: Readable): AsyncGenerator<string> {
  let rest = '';
  stream.setEncoding('utf8');
  for await (const chunk of stream) {
    const text = rest + (chunk as string);
    const cut = text.lastIndexOf('\n');
    if (cut < 0) {
      rest = text;
      continue;
    }
    rest = text.slice(cut + 1);
    yield text.slice(0, cut + 1);
  }
  if (rest !== '') yield rest;
}

/** The `sku<TAB>hash` lines of (a piece of) an item list, parsed. */
export function parseItemLines(text: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const tab = line.lastIndexOf('\t');
    out.push([unescapeSku(line.slice(0, tab)), line.slice(tab + 1)]);
  }
  return out;
}

/**
 * Collects a diff piece by piece: each call compares the old and new items of one stretch
 * of skus (both in sku order); stretches come in sku order, so the lists are too.
 */
export class ItemDiffCollector {
  readonly diff: ItemDiff = {
    added: 0,
    removed: 0,
    changed: 0,
    lists: { added: [], removed: [], changed: [] },
  };

  /** Diffs one stretch: `old` (sku, hash) pairs against the new skus and hashes. */
  compare(
    old: ReadonlyArray<readonly [string, string]>,
    skus: readonly string[],
    hashes: readonly string[],
  ): void {
    let i = 0;
    let j = 0;
    while (i < old.length || j < skus.length) {
      const o = old[i];
      const sku = skus[j];
      const order = o === undefined ? 1 : sku === undefined ? -1 : compareSkus(o[0], sku);
      if (order < 0) {
        this.note('removed', (o as readonly [string, string])[0]);
        i++;
      } else if (order > 0) {
        this.note('added', sku as string);
        j++;
      } else {
        if ((o as readonly [string, string])[1] !== hashes[j]) this.note('changed', sku as string);
        i++;
        j++;
      }
    }
  }

  private note(kind: 'added' | 'removed' | 'changed', sku: string): void {
    this.diff[kind]++;
    const list = this.diff.lists[kind];
    if (list.length < DIFF_LIST_CAP) list.push(sku);
  }
}
