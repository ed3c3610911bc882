import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// ARCHITECTURE.md's layers, checked: a folder of src/ imports only from folders of lower
// layers (and from itself), and no file reaches itself through its imports, type imports
// included (a cycle of types is still a knot for the reader).

/** Each folder's layer, lowest first; a root file (src/errors.ts…) is named by its file. */
const LAYERS: Record<string, number> = {
  model: 0,
  'errors.ts': 0,
  'text.ts': 0,
  'workers.ts': 0,
  time: 1,
  config: 1,
  parse: 1,
  store: 2,
  'metrics.ts': 3,
  sources: 3,
  catalog: 4,
  rules: 5,
  channels: 6,
  import: 7,
  stock: 7,
  publish: 7,
  schedule: 8,
  definitions: 8,
  http: 9,
  cli: 10,
  dashboard: 10,
};

const SRC = path.resolve('src');

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(full);
    return /\.tsx?$/.test(e.name) && !e.name.endsWith('.d.ts') ? [full] : [];
  });
}

/** The files of src/ a file imports (static, dynamic and type imports, and re-exports). */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((m) => m[1] ?? '');
  return specs.flatMap((spec) => {
    const target = path.resolve(path.dirname(file), spec).replace(/\.js$/, '');
    const found = ['.ts', '.tsx', '/index.ts'].map((ext) => target + ext).find((f) => fs.existsSync(f));
    return found ? [found] : [];
  });
}

function layerOf(file: string): string {
  const [first = ''] = path.relative(SRC, file).split(path.sep);
  return first;
}

const files = sourceFiles(SRC);
const graph = new Map(files.map((f) => [f, importsOf(f)]));

describe('the architecture', () => {
  it('gives every folder of src/ a layer', () => {
    const unknown = [...new Set(files.map(layerOf))].filter((l) => LAYERS[l] === undefined);
    expect(unknown).toEqual([]);
  });

  it('has no folder import from a layer above it or beside it', () => {
    const wrong: string[] = [];
    for (const [file, imports] of graph) {
      const from = layerOf(file);
      for (const target of imports) {
        const to = layerOf(target);
        if (to === from) continue;
        if ((LAYERS[to] ?? 99) >= (LAYERS[from] ?? -1)) {
          wrong.push(`${path.relative(SRC, file)} → ${path.relative(SRC, target)}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it('has no cycle of imports', () => {
    // Tarjan's strongly connected components: any with more than one file is a cycle.
    let index = 0;
    const order = new Map<string, number>();
    const low = new Map<string, number>();
    const stack: string[] = [];
    const onStack = new Set<string>();
    const cycles: string[][] = [];
    const visit = (v: string): void => {
      order.set(v, index);
      low.set(v, index);
      index++;
      stack.push(v);
      onStack.add(v);
      for (const w of graph.get(v) ?? []) {
        if (!order.has(w)) {
          visit(w);
          low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
        } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) ?? 0, order.get(w) ?? 0));
      }
      if (low.get(v) === order.get(v)) {
        const component: string[] = [];
        let w: string | undefined;
        do {
          w = stack.pop();
          if (w === undefined) break;
          onStack.delete(w);
          component.push(path.relative(SRC, w));
        } while (w !== v);
        if (component.length > 1) cycles.push(component.sort());
      }
    };
    for (const f of files) if (!order.has(f)) visit(f);
    expect(cycles).toEqual([]);
  });
});
