// biome-ignore-all lint/suspicious/noTemplateCurlyInString: "${1:…}" is a VS Code snippet placeholder, not a template.
import type { ActionDefinition } from './definition.js';
import { arithmeticStep } from './numeric.js';

/** `add`: add a number to a numeric field (optionally rounded to `round` decimals). */
export interface AddAction {
  add: string;
  value: number;
  round?: number;
}

export const add: ActionDefinition<AddAction, 'add'> = {
  name: 'add',
  numeric: true,
  schema: {
    type: 'object',
    description: 'Add a number to a numeric field.',
    additionalProperties: false,
    required: ['add', 'value'],
    properties: {
      add: { $ref: '#/definitions/numericFieldName', description: 'The numeric field to add to.' },
      value: { type: 'number', description: 'The number added (negative to subtract).' },
      round: {
        type: 'integer',
        minimum: 0,
        maximum: 10,
        description: 'Round the result to this many decimals (nearest).',
      },
    },
  },
  example: { add: 'price', value: 2.5 },
  snippets: [{ label: 'add', body: { add: '${1:price}', value: '^${2:1}' } }],
  check(action, path, checks) {
    checks.numericTarget(action.add, `${path}.add`, 'add');
  },
  plan(action, p) {
    const step = arithmeticStep(action.add, 'add', action.value, action.round);
    return { kind: 'numeric', action: 'add', path: p.path, target: p.target(action.add), step };
  },
};
