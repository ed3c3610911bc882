/** A `{{field}}` placeholder; spaces inside the braces are trimmed (`{{ Variant SKU }}`). */
const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

/** A template split into literal text and field names, alternating: text, field, text… */
export interface TemplateParts {
  /** One more text than fields: texts[0] field[0] texts[1] … texts[n]. */
  texts: string[];
  fields: string[];
}

/** Splits a template once, for every product. */
export function parseTemplate(template: string): TemplateParts {
  const texts: string[] = [];
  const fields: string[] = [];
  let last = 0;
  for (const m of template.matchAll(PLACEHOLDER)) {
    texts.push(template.slice(last, m.index));
    fields.push(m[1] as string);
    last = (m.index as number) + m[0].length;
  }
  texts.push(template.slice(last));
  return { texts, fields };
}

/**
 * A fact's value as template text: strings as they are, numbers and booleans as JavaScript
 * writes them, missing (undefined or null) as empty, arrays and objects as JSON.
 */
export function templateText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined || value === null) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
