import { describe, expect, it } from 'vitest';
import { validateCatalogDefinition } from '../../src/catalog/definition.js';
import { DIALECT_NAMES, DIALECTS, detectDialect } from '../../src/catalog/dialects/index.js';

// The export dialects are declared once (catalog/dialects/index.ts DIALECTS): detection and
// the definition's `preset` come from that list, so a new dialect is a file and this list.

describe('the export dialect registry', () => {
  it('detects each dialect by its own signature, and only by all of it', () => {
    for (const d of DIALECTS) {
      expect(detectDialect(['extra', ...d.signature.map((c) => ` ${c} `)])).toBe(d.name);
      expect(detectDialect(d.signature.slice(1))).toBeUndefined();
    }
  });

  it('accepts exactly the declared names as a definition’s preset', () => {
    expect(DIALECT_NAMES).toEqual(['shopify', 'woocommerce']);
    for (const name of DIALECT_NAMES) {
      expect(validateCatalogDefinition({ kind: 'catalog', id: 'c', preset: name })).toEqual([]);
    }
    const problems = validateCatalogDefinition({ kind: 'catalog', id: 'c', preset: 'magento' });
    expect(problems.map((p) => p.path)).toEqual(['$.preset']);
    expect(problems[0]?.message).toContain('shopify');
  });
});
