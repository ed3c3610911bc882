// biome-ignore-all lint/suspicious/noTemplateCurlyInString: "${1:…}" is a VS Code snippet placeholder, not a template.
import type { ActionDefinition } from './definition.js';
import { finite, type NumericStep, wholeQuantity } from './numeric.js';

/** `clamp`: keep a numeric field within [min, max]. */
export interface ClampAction {
  clamp: string;
  min?: number;
  max?: number;
}

/** `clamp`: the field kept within [min, max]. */
export function clampStep(field: string, min?: number, max?: number): NumericStep {
  const lo = min ?? Number.NEGATIVE_INFINITY;
  const hi = max ?? Number.POSITIVE_INFINITY;
  if (field === 'quantity') return (v) => finite(wholeQuantity(Math.min(Math.max(v, lo), hi)));
  return (v) => finite(Math.min(Math.max(v, lo), hi));
}

export const clamp: ActionDefinition<ClampAction, 'clamp'> = {
  name: 'clamp',
  numeric: true,
  schema: {
    type: 'object',
    description: 'Keep a numeric field within [min, max]; either bound may be left out.',
    additionalProperties: false,
    required: ['clamp'],
    properties: {
      clamp: {
        $ref: '#/definitions/numericFieldName',
        description: 'The numeric field kept within bounds, e.g. quantity.',
      },
      min: { type: 'number', description: 'The smallest value shown (minimum quantity).' },
      max: { type: 'number', description: 'The largest value shown (maximum quantity).' },
    },
    anyOf: [{ required: ['min'] }, { required: ['max'] }],
  },
  example: { clamp: 'quantity', min: 0, max: 10 },
  snippets: [{ label: 'clamp', body: { clamp: '${1:quantity}', min: '^${2:0}', max: '^${3:50}' } }],
  schemaMessages: { anyOf: 'clamp needs min, max or both' },
  check(action, path, checks) {
    checks.numericTarget(action.clamp, `${path}.clamp`, 'clamp');
    if (action.min !== undefined && action.max !== undefined && action.min > action.max) {
      checks.add(`${path}.min`, `min ${action.min} is greater than max ${action.max}`);
    }
  },
  plan(action, p) {
    const step = clampStep(action.clamp, action.min, action.max);
    return { kind: 'numeric', action: 'clamp', path: p.path, target: p.target(action.clamp), step };
  },
};
