import type { ChannelTemplate } from './definition.js';
import { genericCsv } from './generic-csv.js';
import { genericXml } from './generic-xml.js';
import { googleShopping } from './google-shopping.js';
import { json } from './json.js';

/*
 * The channel templates, each declared once in its own file. This list is the only place
 * they are named together: the channel schema's `preset` values, the format check, the
 * format and XML layout a channel gets, its fields and the README's table are read from it.
 * A new template is a file here, a line below, and its test.
 */
export const CHANNEL_TEMPLATES = [googleShopping, genericCsv, genericXml, json] as const;

export type {
  ChannelTemplate,
  ProductValue,
  ResolvedField,
  ResolvedFieldSpec,
  XmlShape,
} from './definition.js';

/** A template's name: the values a channel definition's `preset` takes. */
export type ChannelTemplateName = (typeof CHANNEL_TEMPLATES)[number]['name'];

/** The templates' names, in the registry's order. */
export const CHANNEL_TEMPLATE_NAMES: readonly ChannelTemplateName[] = CHANNEL_TEMPLATES.map((t) => t.name);

/** The template of a name (a validated definition's `preset`). */
export function channelTemplate(name: string): ChannelTemplate {
  const template = CHANNEL_TEMPLATES.find((t) => t.name === name);
  if (!template) throw new Error(`unknown channel template "${name}"`);
  return template;
}
