import type { ChannelDefinition, FeedValue } from '../model/channel.js';
import { isCanonicalField } from '../model/fields.js';
import { parseTemplate, type TemplateParts, templateText } from '../rules/template.js';
import type { Product } from '../rules/types.js';
import { formatMoney } from './money.js';
import { channelFormat, resolveFields } from './output.js';
import type { ProductValue, ResolvedFieldSpec } from './templates/definition.js';
import { xmlNameProblem } from './xml-names.js';

/**
 * Field mapping (SPEC §3 "Rules and channels": catalog → rules → field mapping →
 * serializer): turns a product, as the channel's rules left it, into one feed item.
 */

/** A channel's compiled field mapping: its output columns and one item per product. */
export interface ItemMapper {
  /** Output names in order: CSV header, XML element names, JSON keys. */
  readonly columns: readonly string[];
  /** The product's values, one per column, in column order. */
  map(product: Product): FeedValue[];
}

/**
 * Compiles a channel's mapping once per build. A field name reads the product's canonical
 * field of that name (`sku`, `price`…, even when empty: an attribute named like a canonical
 * field is shadowed), else the attribute of that source name; a missing value is null.
 *
 * Templates: each `{{field}}` is replaced by the field's text: `{{price}}` and
 * `{{sale_price}}` with two decimals ("12.50"), since merchants write
 * `"{{price}} {{currency}}"` and expect "12.50 EUR"; other numbers as JavaScript writes
 * them (`3`, `0.5`), booleans as `true`/`false`, lists and objects as JSON. A template whose
 * placeholders are all empty gives null, not its bare literal text: `"{{price}} EUR"`
 * without a price leaves the element out rather than writing " EUR".
 */
export function compileMapping(def: ChannelDefinition): ItemMapper {
  const fields = resolveFields(def);
  const columns = fields.map((f) => f.name);
  const values = fields.map((f) => compileSpec(f.spec, def));
  const n = values.length;
  return {
    columns,
    map(product: Product): FeedValue[] {
      const out: FeedValue[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = (values[i] as ProductValue)(product);
      return out;
    },
  };
}

function compileSpec(spec: ResolvedFieldSpec, def: ChannelDefinition): ProductValue {
  switch (spec.kind) {
    case 'field':
      return fieldReader(spec.field);
    case 'const': {
      const value = spec.value;
      return () => value;
    }
    case 'computed':
      return spec.compile(def.options ?? {});
    case 'template':
      return templateRenderer(spec.template);
  }
}

// Names that a plain object inherits (`constructor`, `toString`, `__proto__`…) must be read
// as own properties only; every other name takes the direct, faster read.
const INHERITED = new Set(Object.getOwnPropertyNames(Object.prototype));

/** Reads one field or attribute of a product by name; missing is null. */
export function fieldReader(name: string): ProductValue {
  if (name === 'sku') return (p) => p.sku;
  if (isCanonicalField(name)) {
    return (p) => {
      const v = p.fields[name];
      return v === undefined ? null : v;
    };
  }
  if (INHERITED.has(name)) {
    return (p) => {
      const v = Object.hasOwn(p.attributes, name) ? p.attributes[name] : undefined;
      return v === undefined ? null : v;
    };
  }
  return (p) => {
    const v = p.attributes[name];
    return v === undefined ? null : v;
  };
}

type TextOf = (value: unknown) => string;

const moneyText: TextOf = (v) => (typeof v === 'number' ? formatMoney(v) : templateText(v));
const MONEY_FIELDS = new Set(['price', 'sale_price']);

function templateRenderer(template: TemplateParts): ProductValue {
  const texts = template.texts;
  const readers = template.fields.map(fieldReader);
  const textOf = template.fields.map((f): TextOf => (MONEY_FIELDS.has(f) ? moneyText : templateText));
  const n = readers.length;
  const first = texts[0] as string;
  return (p) => {
    let out = first;
    let filled = false;
    for (let i = 0; i < n; i++) {
      const text = (textOf[i] as TextOf)((readers[i] as ProductValue)(p));
      if (text !== '') filled = true;
      out += text + (texts[i + 1] as string);
    }
    return filled ? out : null;
  };
}

/** A problem of a channel definition's fields, at the JSON path of its cause. */
export interface ChannelFieldProblem {
  path: string;
  message: string;
}

/**
 * Definition-time problems of a channel's `fields` (and of the options that shape its
 * output), in words for the person who wrote them: a value that is no field spec, an empty
 * field name, a template with an empty `{{}}`, and for XML feeds an output name that is no
 * valid element name (only the `g:` prefix is accepted). Names that differ only in case are
 * distinct columns and fine.
 */
export function checkChannelFields(def: ChannelDefinition): ChannelFieldProblem[] {
  const problems: ChannelFieldProblem[] = [];
  const xml = channelFormat(def) === 'xml';
  const own = def.fields ?? {};
  for (const name of Object.keys(own)) {
    const path = `$.fields[${JSON.stringify(name)}]`;
    const spec = own[name];
    if (xml) {
      const problem = xmlNameProblem(name);
      if (problem) problems.push({ path, message: problem });
    }
    if (spec === null) continue;
    if (typeof spec === 'string') {
      if (spec.trim() === '') {
        problems.push({
          path,
          message: 'an empty field name: name a product field, or write a {{template}}',
        });
        continue;
      }
      if (parseTemplate(spec).fields.some((f) => f === '')) {
        problems.push({ path, message: 'an empty {{}} placeholder: write the field name inside the braces' });
      }
    } else if (
      typeof spec === 'object' &&
      spec !== null &&
      !Array.isArray(spec) &&
      Object.hasOwn(spec, 'const')
    ) {
      const value: unknown = spec.const;
      if (value !== null && !['string', 'number', 'boolean'].includes(typeof value)) {
        problems.push({
          path: `${path}.const`,
          message: 'a constant is text, a number, true, false or null',
        });
      }
    } else {
      problems.push({
        path,
        message: 'a field is a product field name, a {{template}}, { "const": … }, or null to drop it',
      });
    }
  }
  const delimiter = def.options?.delimiter;
  if (delimiter !== undefined && !isUsableDelimiter(delimiter)) {
    problems.push({
      path: '$.options.delimiter',
      message: 'the delimiter is one character, other than a double quote or a line break',
    });
  }
  return problems;
}

/** Whether a CSV delimiter can round-trip: one character that is not the quote or a line break. */
export function isUsableDelimiter(delimiter: unknown): delimiter is string {
  return typeof delimiter === 'string' && delimiter.length === 1 && !'"\r\n'.includes(delimiter);
}
