import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { KeyedFeed, KeyedRecord } from '../../../src/parse/records.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/parse');

/** The bytes of a fixture under test/fixtures/parse/. */
export function fixture(name: string): Buffer {
  return fs.readFileSync(path.join(FIXTURES, name));
}

/** A stream of the given bytes (or text), cut in chunks of `size` bytes. */
export function chunked(data: Buffer | string, size = 64 * 1024): Readable {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) parts.push(buf.subarray(i, i + size));
  return Readable.from(parts, { objectMode: false });
}

/** Reads every record of a keyed feed. */
export async function recordsOf(feed: KeyedFeed): Promise<KeyedRecord[]> {
  const out: KeyedRecord[] = [];
  for await (const r of feed.records) out.push(r);
  return out;
}

/** Plain-object copy of a record's data, for toEqual (records have no prototype). */
export function plain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value));
}

/** Reads a whole stream into one Buffer. */
export async function bytesOf(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** The names Object.prototype has, to check nothing was added to it. */
export const PROTOTYPE_NAMES = Object.getOwnPropertyNames(Object.prototype).sort();

/** Asserts that parsing left Object.prototype as it was. */
export function prototypeUntouched(): boolean {
  const probe = {} as Record<string, unknown>;
  return (
    probe.polluted === undefined &&
    JSON.stringify(Object.getOwnPropertyNames(Object.prototype).sort()) === JSON.stringify(PROTOTYPE_NAMES) &&
    Object.getPrototypeOf(probe) === Object.prototype
  );
}
