import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { buildRuleSetSchema } from './schema-document.js';

/**
 * The JSON Schema of a rule set (draft-07), as an object: built from the action registry
 * (schema-document.ts); `rules/schema.json` is the same written out for editors.
 */
export const RULE_SET_SCHEMA: Readonly<Record<string, unknown>> = buildRuleSetSchema();

let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  if (!compiled) {
    const ajv = new Ajv({
      allErrors: true,
      strict: true,
      strictRequired: false,
      allowUnionTypes: true,
      verbose: true,
    });
    // `if: { required: [key] }` dispatches on a key that the branch schema defines, so
    // strictRequired (which wants it under `properties` of the same schema) is off.
    // VS Code's completion snippets: an annotation for editors, nothing to check.
    ajv.addKeyword({ keyword: 'defaultSnippets', schemaType: 'array' });
    compiled = ajv.compile(RULE_SET_SCHEMA);
  }
  return compiled;
}

/** Checks a value against the schema; the ajv errors, none when it matches. */
export function schemaErrors(value: unknown): ErrorObject[] {
  const validate = validator();
  return validate(value) ? [] : [...(validate.errors ?? [])];
}
