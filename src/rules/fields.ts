import { CANONICAL_FIELDS, FIELD_TYPES, type FieldType, isCanonicalField } from '../model/fields.js';

/** The fact that holds the evaluation time as an ISO string; it cannot be written. */
export const NOW_FACT = 'now';

/** Canonical fields that hold numbers, and so accept the numeric actions (percent, clamp…). */
export const NUMERIC_FIELDS: ReadonlySet<string> = new Set(
  CANONICAL_FIELDS.filter((f) => FIELD_TYPES[f] === 'decimal' || FIELD_TYPES[f] === 'integer'),
);

/** The type of a canonical field, or undefined for an attribute name. */
export function canonicalType(name: string): FieldType | undefined {
  return isCanonicalField(name) ? FIELD_TYPES[name] : undefined;
}

/** A field type in words, for messages: "an integer field", "the status field", "a text field". */
export function fieldTypeName(type: string): string {
  return type === 'integer' ? 'an integer field' : type === 'status' ? 'the status field' : `a ${type} field`;
}

/**
 * A canonical field that `name` looks like a misspelling of, or undefined. Attributes may
 * have any name, so a name is refused only when it is written the way canonical fields are
 * (lowercase letters, digits, `_`) and is one or two edits from one of them: `quantiy`,
 * `sale_prise`. A source column differing only by case or separators (`Price`,
 * `sale-price`) is taken for the attribute it names.
 */
export function misspeltCanonical(name: string): string | undefined {
  if (isCanonicalField(name) || name === NOW_FACT || !/^[a-z0-9_]+$/.test(name)) return undefined;
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const field of [...CANONICAL_FIELDS, NOW_FACT]) {
    const allowed = field.length >= 8 ? 2 : 1;
    const d = editDistance(name, field, allowed);
    if (d <= allowed && d < bestDistance) {
      best = field;
      bestDistance = d;
    }
  }
  return best;
}

// Damerau–Levenshtein (optimal string alignment), giving up past `limit`.
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row: number[] = [i];
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        row.push(j);
        continue;
      }
      const prev = rows[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, ((rows[i - 2] as number[])[j - 2] as number) + 1);
      }
      row.push(d);
    }
    rows.push(row);
  }
  return (rows[a.length] as number[])[b.length] as number;
}
