import { describe, expect, it } from 'vitest';
import { channelDefinitionSchema, validateChannelDefinition } from '../../../src/channels/definition.js';
import { channelFormat, resolveFields, xmlShape } from '../../../src/channels/output.js';
import { CHANNEL_TEMPLATE_NAMES, CHANNEL_TEMPLATES } from '../../../src/channels/templates/index.js';
import { xmlNameProblem } from '../../../src/channels/xml-names.js';
import { CHANNEL_FORMATS, type ChannelDefinition } from '../../../src/model/channel.js';

// What every channel template of the registry must give, so a new one is checked by
// being listed.

const channel = (more: Partial<ChannelDefinition>): ChannelDefinition => ({
  kind: 'channel',
  id: 'c',
  catalog: 'shop',
  ...more,
});

describe.each(CHANNEL_TEMPLATES.map((t) => [t.name, t] as const))('the %s template', (name, template) => {
  it('is a value of preset, and writes its first format when format is left out', () => {
    expect(channelDefinitionSchema.properties.preset.enum).toContain(name);
    const def = channel({ preset: name });
    expect(validateChannelDefinition(def)).toEqual([]);
    expect(channelFormat(def)).toBe(template.formats[0]);
  });

  it('accepts its formats and refuses the others, naming the ones it writes', () => {
    for (const format of CHANNEL_FORMATS) {
      const problems = validateChannelDefinition(channel({ preset: name, format }));
      if (template.formats.includes(format)) expect(problems, format).toEqual([]);
      else
        expect(problems, format).toEqual([
          {
            file: undefined,
            path: '$.format',
            message: `the ${name} preset writes ${template.formats.join(' or ')}, not ${format}`,
          },
        ]);
    }
  });

  it('gives distinct output fields, valid XML names when it writes XML', () => {
    const names = resolveFields(channel({ preset: name })).map((f) => f.name);
    expect(names.length).toBeGreaterThan(0);
    expect(new Set(names).size).toBe(names.length);
    if (template.formats.includes('xml')) {
      for (const n of names) expect(xmlNameProblem(n), n).toBeUndefined();
      expect(['google-rss', 'products']).toContain(xmlShape(channel({ preset: name })));
    }
    expect(template.description).not.toBe('');
  });
});

it('lists each template once', () => {
  expect(new Set(CHANNEL_TEMPLATE_NAMES).size).toBe(CHANNEL_TEMPLATES.length);
});
