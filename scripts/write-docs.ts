import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ruleSetSchemaDocument, withGeneratedTables } from './docs.js';

// npm run docs:write: rules/schema.json and the README's tables, from the registries.
const ROOT = path.resolve(import.meta.dirname, '..');

writeFileSync(
  path.join(ROOT, 'rules', 'schema.json'),
  `${JSON.stringify(ruleSetSchemaDocument(), null, 2)}\n`,
);
const readme = path.join(ROOT, 'README.md');
writeFileSync(readme, withGeneratedTables(readFileSync(readme, 'utf8')));
