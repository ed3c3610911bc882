import type { ChannelFormat, ChannelOptions, FeedValue } from '../../model/channel.js';
import type { TemplateParts } from '../../rules/template.js';
import type { Product } from '../../rules/types.js';

/*
 * A channel template (a channel definition's `preset`): a starting set of ordered output
 * fields and the shape of the serialized feed, declared once in its own file
 * (src/channels/templates/*.ts) and listed in src/channels/templates/index.ts. The channel
 * schema, validation, the format a channel writes, its XML layout, its fields and the
 * README's table are read from there.
 */

/**
 * One output field, ready to compile:
 * - `field`: a product field or attribute by name;
 * - `template`: `{{field}}` placeholders between literal texts;
 * - `const`: the same value for every item;
 * - `computed`: a template's own derivation (Google's availability and prices), which JSON
 *   cannot express; `compile` is called once per build with the channel's options.
 */
export type ResolvedFieldSpec =
  | { kind: 'field'; field: string }
  | { kind: 'template'; template: TemplateParts }
  | { kind: 'const'; value: string | number | boolean | null }
  | { kind: 'computed'; description: string; compile: (options: ChannelOptions) => ProductValue };

/** Computes one output value of a product. */
export type ProductValue = (product: Product) => FeedValue;

/** One output field: its name (CSV column, XML element, JSON key) and where its value comes from. */
export interface ResolvedField {
  name: string;
  spec: ResolvedFieldSpec;
}

/** How an XML feed is laid out: Google's RSS 2.0, or `<products><product>…</product></products>`. */
export type XmlShape = 'google-rss' | 'products';

/** One channel template. */
export interface ChannelTemplate<N extends string = string> {
  /** Its name, the value of a channel definition's `preset`. */
  readonly name: N;
  /** What it writes, for the README's table (Markdown). */
  readonly description: string;
  /** The formats it can write; the first is the channel's format when `format` is left out. */
  readonly formats: readonly [ChannelFormat, ...ChannelFormat[]];
  /** The XML layout, for a template that writes XML (default `products`). */
  readonly xmlShape?: XmlShape;
  /** Its output fields, in order; a channel's own `fields` are laid over them. */
  fields(): ResolvedField[];
}
