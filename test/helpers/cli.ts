import { spawn } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = path.resolve(import.meta.dirname, '../..');
// tsx's loader by absolute URL: the child may run in a folder with no node_modules.
const TSX = pathToFileURL(path.join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;

/** What a finished command printed and returned. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `feedwright <args>` from the sources (through tsx) in a child process, with the
 * given environment on top of a clean one, as a user would from a shell.
 */
export function runCli(
  args: string[],
  env: Record<string, string | undefined>,
  opts: { cwd?: string; stdin?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        TSX,
        '-e',
        `import('${path.join(ROOT, 'src/cli/main.ts')}').then(m => m.main(process.argv.slice(1))).then(c => { process.exitCode = c; })`,
        '--',
        ...args,
      ],
      {
        cwd: opts.cwd ?? ROOT,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_OPTIONS: '', ...env },
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.stdin ?? '');
  });
}
