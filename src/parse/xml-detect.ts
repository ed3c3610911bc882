import type { RawObject, RawValue } from './records.js';

/** A list of elements that could be the items: where it is, and its elements as built. */
export interface Candidate {
  path: string[];
  items: RawObject[];
  /** The items hold several child elements each: they look like records. */
  recordLike: boolean;
}

/** Every list of two or more objects in a built tree, with its path. */
export function collectCandidates(root: RawValue, path: string[], found: Candidate[]): void {
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
export function pickCandidate(found: Candidate[]): Candidate | undefined {
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
export function nodesAt(value: RawValue | undefined, path: string[], depth: number, out: RawObject[]): void {
  if (Array.isArray(value)) {
    for (const v of value) nodesAt(v, path, depth, out);
    return;
  }
  if (!isObject(value)) return;
  if (depth === path.length) out.push(value);
  else nodesAt(value[path[depth] as string], path, depth + 1, out);
}

/** A document without a repeated element: the item is the end of its chain of lone wrappers. */
export function loneItem(root: RawValue, rootName: string): Candidate | undefined {
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

/** Whether a value is an object (an element with children or attributes). */
export function isObject(v: RawValue | undefined): v is RawObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
