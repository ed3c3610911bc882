import type { FieldValue } from '../catalog/normalize.js';
import { MAX_QUANTITY } from '../model/fields.js';
import { canonicalType } from './fields.js';
import type { Rounding } from './types.js';

/*
 * Action semantics shared by the compiled evaluator and explain, so both compute the same
 * values:
 * - numeric actions (percent, clamp, add, multiply) apply to a field whose value is a finite
 *   number; any other value (null for stock not managed, text, missing) leaves the field as
 *   it is, and explain records the action as skipped — evaluation never throws. A result
 *   that is not finite (an overflow) is skipped the same way;
 * - quantity is a whole number from 0 to MAX_QUANTITY after every action: percent rounds as its `rounding`
 *   says, add/multiply with `round: 0` round to the nearest, and anything else that leaves a
 *   fraction rounds down (showing less stock than there is, never more); below 0 becomes 0;
 * - other numbers keep `decimals` (percent, default 2) or `round` (add, multiply) decimals.
 */

/**
 * Removes the binary noise of a product like 4.35 * 100 = 434.99999999999994 or
 * 2.675 * 100 = 267.49999999999997, so rounding sees the decimal value a person would:
 * below a million, to the nearest 1e-9 (a multiply and a round, where toPrecision would
 * cost a string); above, to 15 significant digits.
 */
function clean(x: number): number {
  if (Number.isInteger(x)) return x;
  return Math.abs(x) < 1e6 ? Math.round(x * 1e9) / 1e9 : Number(x.toPrecision(15));
}

/** Rounds to `decimals` decimals: down (toward −∞), up (toward +∞) or nearest (halves away from 0). */
export function roundTo(x: number, decimals: number, mode: Rounding): number {
  const f = 10 ** decimals;
  const s = clean(x * f);
  const r =
    mode === 'down' ? Math.floor(s) : mode === 'up' ? Math.ceil(s) : Math.sign(s) * Math.round(Math.abs(s));
  const out = decimals === 0 ? r : clean(r / f);
  return out === 0 ? 0 : out;
}

/** A quantity as the feed holds it: a whole number from 0 to MAX_QUANTITY (fractions round down). */
export function wholeQuantity(x: number): number {
  return x <= 0 ? 0 : Math.min(MAX_QUANTITY, Math.floor(clean(x)));
}

/** A numeric action's computation: the new value, or undefined to leave the field as it is. */
export type NumericStep = (current: number) => number | undefined;

function finite(x: number): number | undefined {
  return Number.isFinite(x) ? x : undefined;
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

/** `clamp`: the field kept within [min, max]. */
export function clampStep(field: string, min?: number, max?: number): NumericStep {
  const lo = min ?? Number.NEGATIVE_INFINITY;
  const hi = max ?? Number.POSITIVE_INFINITY;
  if (field === 'quantity') return (v) => finite(wholeQuantity(Math.min(Math.max(v, lo), hi)));
  return (v) => finite(Math.min(Math.max(v, lo), hi));
}

/** `add` and `multiply`, with their optional `round` (nearest). */
export function arithmeticStep(
  field: string,
  op: 'add' | 'multiply',
  value: number,
  round?: number,
): NumericStep {
  const apply = op === 'add' ? (v: number) => v + value : (v: number) => v * value;
  if (field === 'quantity') {
    return round === undefined
      ? (v) => finite(wholeQuantity(apply(v)))
      : (v) => finite(wholeQuantity(roundTo(apply(v), 0, 'nearest')));
  }
  return round === undefined
    ? (v) => finite(clean(apply(v)))
    : (v) => finite(roundTo(apply(v), round, 'nearest'));
}

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

/** Why a numeric action left its field alone, for explain. */
export function numericSkipReason(field: string, v: unknown): string {
  if (v === undefined) return `"${field}" is missing`;
  if (typeof v === 'number') return 'the result would not be a finite number';
  return `"${field}" is ${v === null ? 'null' : `not a number (${JSON.stringify(v)})`}`;
}
