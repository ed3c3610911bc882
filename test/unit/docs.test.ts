import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ruleSetSchemaDocument, withGeneratedTables } from '../../scripts/docs.js';

// The files written from the registries must say what the registries say: rules/schema.json
// (editors read it) and the README's tables. `npm run docs:write` writes them again.

const ROOT = path.resolve(import.meta.dirname, '../..');

describe('files written from the registries', () => {
  it('rules/schema.json is the schema built from the action registry, in its order', () => {
    const committed: unknown = JSON.parse(readFileSync(path.join(ROOT, 'rules', 'schema.json'), 'utf8'));
    // Compared as text of the parsed value: key order matters (editors show it), formatting not.
    expect(JSON.stringify(committed, null, 2)).toBe(JSON.stringify(ruleSetSchemaDocument(), null, 2));
  });

  it("the README's tables are those of the registries", () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    expect(readme).toBe(withGeneratedTables(readme));
  });
});
