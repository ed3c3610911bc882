import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// A fresh clone has nothing beside it: every file a test, the example or a benchmark reads
// must be inside the repository. This reads the code under src/, test/, bench/ and .ci/ and
// refuses any path in it that leads outside the repository's root.

const ROOT = path.resolve(import.meta.dirname, '../..');
const FOLDERS = ['src', 'test', 'bench', '.ci'];
const TEXT = /\.(ts|tsx|js|mjs|cjs|json|sh|css|html)$/;

/**
 * Folders not read: fixtures are data, not code; the benches' generated catalogs and result
 * files are git-ignored output (a generated JSON catalog can be larger than a string can hold,
 * and results name the machine's own paths).
 */
const NOT_CODE = new Set(['test/fixtures', 'bench/data', 'bench/results'].map((f) => path.join(ROOT, f)));

/** Every code file under the given folders. */
function codeFiles(folder: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!NOT_CODE.has(full)) walk(full);
      } else if (TEXT.test(entry.name) || path.basename(dir) === '.ci') {
        out.push(full);
      }
    }
  };
  walk(path.join(ROOT, folder));
  return out;
}

/** Where the file's relative paths start: its folder for code, the root for .ci scripts (they cd there). */
function baseOf(file: string): string {
  return path.relative(ROOT, file).startsWith('.ci') ? ROOT : path.dirname(file);
}

const outside = (target: string): boolean => {
  const rel = path.relative(ROOT, target);
  return rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel);
};

/** The lines of one file's text that lead outside the repository, as `file:line: the line`. */
function escapes(file: string, text: string): string[] {
  const found: string[] = [];
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    let leaves = false;
    // A relative path written out: '../x', "../../shared/samples", `../y`.
    for (const m of line.matchAll(/['"`]((?:\.\.?\/)+[^'"`\s]*)['"`]/g)) {
      // Only dots ('../..') is how code finds the root, not a file: a path out names something.
      const named = (m[1] as string).split('/').some((s) => s !== '' && s !== '.' && s !== '..');
      if (named && outside(path.resolve(baseOf(file), m[1] as string))) leaves = true;
    }
    // A path put together from parts: path.join(import.meta.dirname, '..', '..', 'shared').
    for (const m of line.matchAll(/path\.(?:join|resolve)\(([^)]*)\)/g)) {
      const args = (m[1] as string).split(',').map((a) => a.trim());
      const base = args[0] === 'import.meta.dirname' || args[0] === '__dirname' ? baseOf(file) : undefined;
      const rootNamed =
        args[0] !== undefined && /^(REPO|ROOT|PACKAGE_ROOT)$/.test(args[0]) ? ROOT : undefined;
      const start = base ?? rootNamed;
      const parts = args.slice(1);
      if (start === undefined || !parts.every((p) => /^['"][^'"]*['"]$/.test(p))) continue;
      const target = path.resolve(start, ...parts.map((p) => p.slice(1, -1)));
      if (outside(target)) leaves = true;
    }
    // The folders a clone of this repository never has, named in any way.
    if (
      /\bshared(\/|['"],\s*['"])(samples|reference|hooks|SPEC\.md|STYLE\.md)/.test(line) ||
      /['"`]\/work\//.test(line)
    ) {
      leaves = true;
    }
    if (leaves) found.push(`${path.relative(ROOT, file)}:${i + 1}: ${line.trim()}`);
  });
  return found;
}

describe('the repository is whole', () => {
  it('no file under src/, test/, bench/ or .ci/ refers to a path outside the repository', () => {
    const files = FOLDERS.flatMap(codeFiles);
    expect(files.length).toBeGreaterThan(100);
    const found = files
      .filter((f) => f !== import.meta.filename)
      .flatMap((f) => escapes(f, fs.readFileSync(f, 'utf8')));
    expect(found).toEqual([]);
  });

  it('recognises each way a path can leave the repository', () => {
    const at = path.join(ROOT, 'test', 'unit', 'x.test.ts');
    const ci = path.join(ROOT, '.ci', 'run');
    expect(
      escapes(at, "const S = path.resolve(import.meta.dirname, '../../../shared/samples');"),
    ).toHaveLength(1);
    expect(escapes(at, "const S = path.join(PACKAGE_ROOT, '..', 'shared', 'samples');")).toHaveLength(1);
    expect(escapes(at, "path.join(import.meta.dirname, '..', '..', '..', 'elsewhere')")).toHaveLength(1);
    expect(escapes(ci, 'cp ../shared/samples/x.csv .')).toHaveLength(1);
    expect(escapes(at, "readFileSync('/work/shared/x.csv')")).toHaveLength(1);
    // Inside the repository: fine.
    expect(escapes(at, "path.resolve(import.meta.dirname, '../../feeds/example.json')")).toEqual([]);
    expect(escapes(at, "path.join(REPO, 'rules', 'schema.json')")).toEqual([]);
    expect(escapes(ci, 'cd "$(dirname "$0")/.."')).toEqual([]);
  });

  it('keeps the real shop exports the suite reads', () => {
    for (const f of ['shopify-product-template.csv', 'woocommerce-sample-products.csv']) {
      expect(fs.statSync(path.join(ROOT, 'test', 'fixtures', 'samples', f)).size).toBeGreaterThan(1000);
    }
  });
});
