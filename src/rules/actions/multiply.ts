// biome-ignore-all lint/suspicious/noTemplateCurlyInString: "${1:…}" is a VS Code snippet placeholder, not a template.
import type { ActionDefinition } from './definition.js';
import { arithmeticStep } from './numeric.js';

/** `multiply`: multiply a numeric field (optionally rounded to `round` decimals). */
export interface MultiplyAction {
  multiply: string;
  value: number;
  round?: number;
}

export const multiply: ActionDefinition<MultiplyAction, 'multiply'> = {
  name: 'multiply',
  numeric: true,
  schema: {
    type: 'object',
    description: 'Multiply a numeric field by a number.',
    additionalProperties: false,
    required: ['multiply', 'value'],
    properties: {
      multiply: { $ref: '#/definitions/numericFieldName', description: 'The numeric field to multiply.' },
      value: { type: 'number', description: 'The factor.' },
      round: {
        type: 'integer',
        minimum: 0,
        maximum: 10,
        description: 'Round the result to this many decimals (nearest).',
      },
    },
  },
  example: { multiply: 'price', value: 1.2, round: 2 },
  snippets: [{ label: 'multiply', body: { multiply: '${1:price}', value: '^${2:1.2}', round: '^${3:2}' } }],
  check(action, path, checks) {
    checks.numericTarget(action.multiply, `${path}.multiply`, 'multiply');
  },
  plan(action, p) {
    const step = arithmeticStep(action.multiply, 'multiply', action.value, action.round);
    return { kind: 'numeric', action: 'multiply', path: p.path, target: p.target(action.multiply), step };
  },
};
