import type { ErrorObject } from 'ajv';
import { ACTION_NAMES, ACTIONS, type ActionDefinition } from './actions/index.js';
import { propertyPath } from './problems.js';
import { RULE_SET_SCHEMA, schemaErrors } from './schema.js';
import { actionDefinitionName } from './schema-document.js';
import type { RuleProblem } from './types.js';

/*
 * ajv's errors turned into one clear problem each, at the JSON path of the fault. The
 * schema dispatches conditions and actions with if/then/else on their key, so a branch
 * reports its own errors and the chain adds "must match then/else" summaries, dropped here;
 * oneOf/anyOf summaries get a sentence of their own, their branches' errors are dropped.
 */

const defs = RULE_SET_SCHEMA.definitions as Record<string, object>;
/** The action whose schema definition an error's parent schema is. */
const ACTION_OF_SCHEMA = new Map<unknown, ActionDefinition>(
  ACTIONS.map((a) => [defs[actionDefinitionName(a.name)], a]),
);

/** The schema faults of a value, as problems; none when it matches rules/schema.json. */
export function schemaProblems(value: unknown, file: string | undefined): RuleProblem[] {
  const errors = schemaErrors(value);
  const out: RuleProblem[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    const mapped = describeError(e, value);
    if (!mapped) continue;
    const key = `${mapped.path}\n${mapped.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ file, ...mapped });
  }
  return out;
}

function describeError(e: ErrorObject, root: unknown): { path: string; message: string } | undefined {
  // An if/then/else reports its branch's errors and then a summary of them: keep the former.
  if (e.keyword === 'if') return undefined;
  // oneOf/anyOf report each branch's failure before their own summary, mapped below.
  if (/\/(oneOf|anyOf)\/\d+\//.test(e.schemaPath)) return undefined;
  const steps = e.instancePath.split('/').slice(1).map(unescapePointer);
  const path = toJsonPath(steps);
  const parent = e.parentSchema;
  const data = at(root, steps);
  switch (e.keyword) {
    case 'not':
      if (parent === defs.unknownAction) {
        const keys = data && typeof data === 'object' ? Object.keys(data) : [];
        return {
          path,
          message: `unknown action${keys.length ? ` (keys: ${keys.join(', ')})` : ''}: an action is one of ${ACTION_NAMES.join(', ')}`,
        };
      }
      break;
    case 'oneOf': {
      const message = ACTION_OF_SCHEMA.get(parent)?.schemaMessages?.oneOf;
      if (message) return { path, message };
      break;
    }
    case 'anyOf': {
      const message = ACTION_OF_SCHEMA.get(parent)?.schemaMessages?.anyOf;
      if (message) return { path, message };
      if (parent === defs.window) return { path, message: 'a window needs start, end or both' };
      break;
    }
    case 'required': {
      if (parent === defs.booleanRoot) {
        return {
          path,
          message:
            'when must be { "all": [ … ] }, { "any": [ … ] } or { "not": { … } } (json-rules-engine\'s root); put a single condition inside "all"',
        };
      }
      const missing = String(e.params.missingProperty);
      const message = ACTION_OF_SCHEMA.get(parent)?.schemaMessages?.required?.[missing];
      if (message) return { path: propertyPath(path, missing), message };
      return { path: propertyPath(path, missing), message: 'is required' };
    }
    case 'additionalProperties':
      return {
        path: propertyPath(path, String(e.params.additionalProperty)),
        message: 'is not a known property here',
      };
    case 'pattern':
      return { path, message: patternMessage(steps.at(-1) ?? '', String(e.params.pattern)) };
    case 'type':
      return { path, message: `must be ${article(String(e.params.type))}` };
    case 'enum':
      return {
        path,
        message: `must be one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
      };
    case 'const':
      return { path, message: `must be ${JSON.stringify(e.params.allowedValue)}` };
    case 'minItems':
      if (steps.at(-1) === 'then') return { path, message: 'a rule needs at least one action' };
      break;
  }
  return { path, message: e.message ?? 'is invalid' };
}

function patternMessage(key: string, pattern: string): string {
  switch (key) {
    case 'id':
      return 'must be lowercase letters, digits, - or _, starting with a letter or digit, at most 64 characters';
    case 'start':
    case 'end':
      return 'must be a local date-time like 2026-12-01T00:00:00 or a date like 2026-12-01, without offset (the zone goes in "timezone")';
    case 'path':
      return 'must be a simple JSONPath: $ followed by .name or [index] steps, e.g. $.size.width or $.tags[0]';
    default:
      return `must match ${pattern}`;
  }
}

function article(types: string): string {
  return types
    .split(',')
    .map((t) =>
      t === 'null' ? 'null' : t === 'integer' ? 'an integer' : t === 'array' ? 'an array' : `a ${t}`,
    )
    .join(' or ');
}

function unescapePointer(step: string): string {
  return step.replace(/~1/g, '/').replace(/~0/g, '~');
}

function toJsonPath(steps: string[]): string {
  return steps.reduce((acc, s) => (/^\d+$/.test(s) ? `${acc}[${s}]` : propertyPath(acc, s)), '$');
}

function at(root: unknown, steps: string[]): unknown {
  let v = root;
  for (const s of steps) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, s)) return undefined;
    v = (v as Record<string, unknown>)[s];
  }
  return v;
}
