// biome-ignore-all lint/suspicious/noTemplateCurlyInString: "${1:…}" is a VS Code snippet placeholder, not a template.
import { MAX_QUANTITY } from '../../model/fields.js';
import type { ActionDefinition } from './definition.js';
import type { Rounding } from './numeric.js';
import { finite, type NumericStep, roundTo } from './numeric.js';

/** `percent`: keep `value` % of a numeric field. */
export interface PercentAction {
  percent: string;
  value: number;
  rounding: Rounding;
  /** Decimals kept after rounding: 0 on quantity (always), 2 by default on other fields. */
  decimals?: number;
}

/** `percent`: `value` % of the field, rounded; whole on quantity. */
export function percentStep(
  field: string,
  value: number,
  rounding: Rounding,
  decimals?: number,
): NumericStep {
  if (field === 'quantity') {
    return (v) => finite(Math.min(MAX_QUANTITY, Math.max(0, roundTo((v * value) / 100, 0, rounding))));
  }
  const d = decimals ?? 2;
  return (v) => finite(roundTo((v * value) / 100, d, rounding));
}

export const percent: ActionDefinition<PercentAction, 'percent'> = {
  name: 'percent',
  numeric: true,
  schema: {
    type: 'object',
    description: 'Keep a percentage of a numeric field, rounded.',
    additionalProperties: false,
    required: ['percent', 'value', 'rounding'],
    properties: {
      percent: {
        $ref: '#/definitions/numericFieldName',
        description: 'The numeric field to take a percentage of, e.g. quantity.',
      },
      value: {
        type: 'number',
        minimum: 0,
        maximum: 100000,
        description: 'The percentage kept: 80 shows 80 % of the stock.',
      },
      rounding: {
        enum: ['down', 'up', 'nearest'],
        description:
          'How the result is rounded: down (never more than the share), up, or nearest (halves away from zero).',
      },
      decimals: {
        type: 'integer',
        minimum: 0,
        maximum: 10,
        description: 'Decimals kept: 0 on quantity (always a whole number), 2 by default on other fields.',
      },
    },
  },
  example: { percent: 'quantity', value: 80, rounding: 'down' },
  snippets: [
    {
      label: 'percent',
      body: { percent: '${1:quantity}', value: '^${2:80}', rounding: '${3|down,up,nearest|}' },
    },
  ],
  schemaMessages: {
    required: { rounding: 'is required: percent needs rounding "down", "up" or "nearest"' },
  },
  check(action, path, checks) {
    checks.numericTarget(action.percent, `${path}.percent`, 'percent');
    if (action.percent === 'quantity' && action.decimals !== undefined && action.decimals !== 0) {
      checks.add(`${path}.decimals`, 'quantity is a whole number: leave decimals out');
    }
  },
  plan(action, p) {
    const step = percentStep(action.percent, action.value, action.rounding, action.decimals);
    return { kind: 'numeric', action: 'percent', path: p.path, target: p.target(action.percent), step };
  },
};
