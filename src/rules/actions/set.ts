// biome-ignore-all lint/suspicious/noTemplateCurlyInString: "${1:…}" is a VS Code snippet placeholder, not a template.
import { MAX_QUANTITY } from '../../model/fields.js';
import type { FieldValue } from '../../model/product.js';
import { canonicalType, fieldTypeName } from '../fields.js';
import { parseTemplate } from '../template.js';
import type { ActionDefinition } from './definition.js';
import { wholeQuantity } from './numeric.js';

/** `set`: give a field a value, a `{{field}}` template, or another field's value. */
export type SetAction =
  | { set: string; value: FieldValue }
  | { set: string; template: string }
  | { set: string; from: string };

/**
 * `set … from`: the source value made to fit the target field, or undefined to leave the
 * target as it is (explain says why). A canonical field keeps its type: quantity takes a
 * number (made whole, ≥ 0) or null; price and the other decimals a number or null;
 * manage_stock a boolean; status "active" or "inactive"; text fields text or null
 * (numbers and booleans are written as text). An attribute takes any value. A missing
 * source (undefined) changes nothing.
 */
export function fromCoercion(target: string): (v: unknown) => FieldValue | undefined {
  switch (canonicalType(target)) {
    case 'integer':
      return (v) =>
        v === null ? null : typeof v === 'number' && Number.isFinite(v) ? wholeQuantity(v) : undefined;
    case 'decimal':
      return (v) => (v === null || (typeof v === 'number' && Number.isFinite(v)) ? v : undefined);
    case 'boolean':
      return (v) => (typeof v === 'boolean' ? v : undefined);
    case 'status':
      return (v) => (v === 'active' || v === 'inactive' ? v : undefined);
    case 'text':
      return (v) =>
        v === null || typeof v === 'string'
          ? v
          : typeof v === 'number' || typeof v === 'boolean'
            ? String(v)
            : undefined;
    default:
      return (v) => (v === undefined ? undefined : (v as FieldValue));
  }
}

/** Why `set … from` left its target alone, for explain. */
export function fromSkipReason(target: string, from: string, v: unknown): string {
  if (v === undefined) return `"${from}" is missing`;
  return `the value of "${from}" (${JSON.stringify(v) ?? String(v)}) does not fit "${target}"`;
}

function setValueProblem(field: string, type: string | undefined, v: unknown): string | undefined {
  switch (type) {
    case undefined:
      return undefined;
    case 'integer':
      return v === null || (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_QUANTITY)
        ? undefined
        : `${field} must be a whole number from 0 to ${MAX_QUANTITY.toLocaleString('en-US')} (or null: stock not managed)`;
    case 'decimal':
      return v === null || typeof v === 'number' ? undefined : `${field} must be a number or null`;
    case 'boolean':
      return typeof v === 'boolean' ? undefined : `${field} must be true or false`;
    case 'status':
      return v === 'active' || v === 'inactive' ? undefined : `${field} must be "active" or "inactive"`;
    default:
      return v === null || typeof v === 'string'
        ? undefined
        : `${field} is text: write the value as a string`;
  }
}

export const set: ActionDefinition<SetAction, 'set'> = {
  name: 'set',
  numeric: false,
  schema: {
    type: 'object',
    description: "Give a field a value, a template's text, or another field's value.",
    additionalProperties: false,
    required: ['set'],
    properties: {
      set: {
        $ref: '#/definitions/fieldName',
        description:
          'The field given a new value (not sku). A canonical field keeps its type: quantity an integer ≥ 0 or null, price a number, status active or inactive, manage_stock true or false.',
      },
      value: { type: ['string', 'number', 'boolean', 'null'], description: 'The new value.' },
      template: {
        type: 'string',
        maxLength: 5000,
        description:
          "Text with {{field}} placeholders, each replaced by that fact's value (missing: empty). Only for text fields and attributes.",
      },
      from: {
        $ref: '#/definitions/fieldName',
        description: 'Copy the value of this field (as left by the rules before).',
      },
    },
    oneOf: [{ required: ['value'] }, { required: ['template'] }, { required: ['from'] }],
  },
  example: { set: 'availability', value: 'out of stock' },
  snippets: [
    { label: 'set', body: { set: '${1:quantity}', value: '^${2:0}' } },
    { label: 'set template', body: { set: '${1:title}', template: '${2:{{brand}} {{title}}}' } },
    { label: 'set from', body: { set: '${1:price}', from: '${2:sale_price}' } },
  ],
  schemaMessages: { oneOf: 'set needs exactly one of value, template or from' },
  check(action, path, checks) {
    if (!checks.target(action.set, `${path}.set`)) return;
    const type = canonicalType(action.set);
    if ('value' in action) {
      const problem = setValueProblem(action.set, type, action.value);
      if (problem) checks.add(`${path}.value`, problem);
    } else if ('template' in action) {
      if (type !== undefined && type !== 'text') {
        checks.add(
          `${path}.template`,
          `a template gives text, and "${action.set}" is ${fieldTypeName(type)}`,
        );
      }
      for (const field of parseTemplate(action.template).fields) {
        if (field === '') checks.add(`${path}.template`, 'an empty {{}} placeholder');
        else checks.factName(field, `${path}.template`);
      }
    } else if ('from' in action) {
      checks.factName(action.from, `${path}.from`);
    }
  },
  plan(action, p) {
    const target = p.target(action.set);
    if ('value' in action)
      return { kind: 'set-value', action: 'set', path: p.path, target, value: action.value };
    if ('template' in action) {
      const template = parseTemplate(action.template);
      template.fields.forEach(p.noteFact);
      return { kind: 'set-template', action: 'set', path: p.path, target, template };
    }
    p.noteFact(action.from);
    return {
      kind: 'set-from',
      action: 'set',
      path: p.path,
      target,
      from: action.from,
      coerce: fromCoercion(action.set),
    };
  },
};
