/**
 * `npm run bench`: the import benchmark, then the rule evaluation benchmark, each in its own
 * process (so one's memory does not weigh on the other's figures), with the same arguments
 * (`--products N`). Exits non-zero when either does.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
let status = 0;
for (const script of ['import-bench.js', 'rules-bench.js']) {
  const run = spawnSync(process.execPath, ['--expose-gc', path.join(here, script), ...args], {
    stdio: 'inherit',
  });
  if (run.status !== 0) status = run.status ?? 1;
}
process.exitCode = status;
