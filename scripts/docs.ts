import { buildRuleSetSchema } from '../src/rules/schema-document.js';

/*
 * The files written from the registries (npm run docs:write): rules/schema.json from the
 * rule actions. test/unit/docs.test.ts holds the committed files equal to what these
 * functions give.
 */

/** rules/schema.json's value (the file is this, formatted by Biome). */
export function ruleSetSchemaDocument(): Record<string, unknown> {
  return buildRuleSetSchema();
}
