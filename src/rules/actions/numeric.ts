import { MAX_QUANTITY } from '../../model/fields.js';

/** How `percent` rounds its result. */
export type Rounding = 'down' | 'up' | 'nearest';

/*
 * The numeric actions' semantics, shared by the compiled evaluator and explain, so both
 * compute the same values:
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

/** The number, or undefined when it is not finite (an overflow): the field is left as it is. */
export function finite(x: number): number | undefined {
  return Number.isFinite(x) ? x : undefined;
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

/** Why a numeric action left its field alone, for explain. */
export function numericSkipReason(field: string, v: unknown): string {
  if (v === undefined) return `"${field}" is missing`;
  if (typeof v === 'number') return 'the result would not be a finite number';
  return `"${field}" is ${v === null ? 'null' : `not a number (${JSON.stringify(v)})`}`;
}
