import type { ChannelDefinition, ChannelFormat, FieldSpec } from '../model/channel.js';
import { parseTemplate } from '../rules/template.js';
import { canonicalOutputFields } from './templates/canonical-fields.js';
import type { ResolvedField, ResolvedFieldSpec, XmlShape } from './templates/definition.js';
import { channelTemplate } from './templates/index.js';

/**
 * What a channel writes, from its definition and its template (SPEC §2 `preset`, see
 * templates/): the format, the XML layout and the ordered output fields. A channel's own
 * `fields` are laid over the template's: same name overrides in place, `null` removes, a
 * new name is added at the end.
 */

/** The formats a template can write: its own, and TSV for the CSV template (a delimiter apart). */
export function templateFormats(name: string): readonly ChannelFormat[] {
  return channelTemplate(name).formats;
}

/** The channel's output format: its own `format`, else its template's, else csv. */
export function channelFormat(def: ChannelDefinition): ChannelFormat {
  return def.format ?? (def.preset ? channelTemplate(def.preset).formats[0] : 'csv');
}

/** The XML layout of a channel whose format is xml: its template's (Google's RSS for google-shopping). */
export function xmlShape(def: ChannelDefinition): XmlShape {
  return (def.preset && channelTemplate(def.preset).xmlShape) || 'products';
}

/**
 * The channel's output fields in order: the template's (or, with neither template nor
 * fields, the canonical ones), then the channel's `fields` laid over them. A field spec
 * that is not a string, `null` or `{ "const": … }` throws; `checkChannelFields` reports it
 * first.
 */
export function resolveFields(def: ChannelDefinition): ResolvedField[] {
  const own = def.fields ?? {};
  const ownNames = Object.keys(own);
  const base = def.preset
    ? channelTemplate(def.preset).fields()
    : ownNames.length === 0
      ? canonicalOutputFields()
      : [];
  const fields = new Map<string, ResolvedFieldSpec>(base.map((f) => [f.name, f.spec]));
  for (const name of ownNames) {
    const spec = own[name] as FieldSpec;
    // Map.set keeps an existing key's position: an override stays where the template put it.
    if (spec === null) fields.delete(name);
    else fields.set(name, resolveSpec(spec, name));
  }
  return [...fields].map(([name, spec]) => ({ name, spec }));
}

/**
 * A field spec as written, understood: a string with at least one `{{…}}` placeholder is a
 * template, any other string a field name.
 */
export function resolveSpec(spec: Exclude<FieldSpec, null>, name = ''): ResolvedFieldSpec {
  if (typeof spec === 'string') {
    const template = parseTemplate(spec);
    return template.fields.length > 0 ? { kind: 'template', template } : { kind: 'field', field: spec };
  }
  if (typeof spec === 'object' && spec !== null && Object.hasOwn(spec, 'const')) {
    return { kind: 'const', value: spec.const ?? null };
  }
  throw new TypeError(`field "${name}": expected a field name, a {{template}} or { "const": … }`);
}
