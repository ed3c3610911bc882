import { CHANNEL_TEMPLATES } from '../src/channels/templates/index.js';
import { ACTIONS } from '../src/rules/actions/index.js';
import { buildRuleSetSchema } from '../src/rules/schema-document.js';

/*
 * The files written from the registries (npm run docs:write): rules/schema.json from the
 * rule actions, and the README's tables (rule actions, channel templates) between their `<!-- generated: name -->` and
 * `<!-- /generated: name -->` markers. test/unit/docs.test.ts holds the committed files
 * equal to what these functions give.
 */

/** rules/schema.json's value (the file is this, formatted by Biome). */
export function ruleSetSchemaDocument(): Record<string, unknown> {
  return buildRuleSetSchema();
}

/** Text for a Markdown table cell: pipes escaped, one line. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
}

/** The README's table of rule actions, one row per action of the registry. */
export function actionTable(): string {
  const rows = ACTIONS.map((a) => {
    const properties = Object.keys(a.schema.properties)
      .filter((p) => p !== a.name)
      .map((p) => (a.schema.required.includes(p) ? `**\`${p}\`**` : `\`${p}\``))
      .join(', ');
    const rule = a.schemaMessages?.oneOf ?? a.schemaMessages?.anyOf;
    return `| \`${a.name}\` | ${cell(a.schema.description)} | ${properties || '–'}${rule ? ` (${cell(rule)})` : ''} | \`${cell(JSON.stringify(a.example))}\` |`;
  });
  return [
    '| Action | What it does | Properties (required in bold) | Example |',
    '| --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

/** The README's table of channel templates (a channel's `preset`), one row per template. */
export function channelTemplateTable(): string {
  const rows = CHANNEL_TEMPLATES.map(
    (t) => `| \`${t.name}\` | ${t.formats.map((f) => `\`${f}\``).join(', ')} | ${cell(t.description)} |`,
  );
  return [
    '| `preset` | Formats (the first when `format` is left out) | Writes |',
    '| --- | --- | --- |',
    ...rows,
  ].join('\n');
}

/** The README's generated tables, by marker name. */
export function readmeTables(): Record<string, string> {
  return { actions: actionTable(), 'channel-templates': channelTemplateTable() };
}

/** The README with each generated table replaced by what the registries give now. */
export function withGeneratedTables(readme: string, tables = readmeTables()): string {
  let out = readme;
  for (const [name, table] of Object.entries(tables)) {
    const start = `<!-- generated: ${name} -->`;
    const end = `<!-- /generated: ${name} -->`;
    const i = out.indexOf(start);
    const j = out.indexOf(end);
    if (i < 0 || j < i) throw new Error(`README.md has no ${start} … ${end} section`);
    out = `${out.slice(0, i + start.length)}\n${table}\n${out.slice(j)}`;
  }
  return out;
}
