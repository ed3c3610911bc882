#!/usr/bin/env node
// The package's command: runs the compiled CLI (`npm run build` writes dist/).
import('../dist/src/cli/main.js')
  .then((cli) => cli.main(process.argv.slice(2)))
  .then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`feedwright: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
