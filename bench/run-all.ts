/**
 * `npm run bench`: the import benchmark, the rule evaluation benchmark, the publish
 * benchmark, the serve benchmark, the order-to-feed latency benchmark and the oversell
 * simulation, each in its own process (so one's memory does not
 * weigh on the other's figures), with the same arguments (`--products N`). The serve bench
 * measures requests on a 10,000-product feed whatever N is; N is the size of the feed it
 * serves to many clients at once (its `--serve-products`). Exits non-zero when any does.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);

/** The serve bench's name for the catalog size is --serve-products. */
function serveArgs(list: string[]): string[] {
  return list.map((a) =>
    a === '--products' ? '--serve-products' : a.replace(/^--products=/, '--serve-products='),
  );
}

let status = 0;
for (const script of [
  'import-bench.js',
  'rules-bench.js',
  'publish-bench.js',
  'serve-bench.js',
  'order-latency-bench.js',
  'oversell-sim.js',
]) {
  // The oversell simulation has its own sizes (low-stock products, orders per hour).
  const scriptArgs = script === 'serve-bench.js' ? serveArgs(args) : script === 'oversell-sim.js' ? [] : args;
  const run = spawnSync(process.execPath, ['--expose-gc', path.join(here, script), ...scriptArgs], {
    stdio: 'inherit',
  });
  if (run.status !== 0) status = run.status ?? 1;
}
process.exitCode = status;
