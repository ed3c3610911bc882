import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { ruleSetSchemaDocument } from './docs.js';

// npm run docs:write: rules/schema.json, from the action registry.
const ROOT = path.resolve(import.meta.dirname, '..');

writeFileSync(
  path.join(ROOT, 'rules', 'schema.json'),
  `${JSON.stringify(ruleSetSchemaDocument(), null, 2)}\n`,
);
