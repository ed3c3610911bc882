import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = path.resolve(import.meta.dirname, '../..');
const TSX = pathToFileURL(path.join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;

/** A `feedwright serve` running in a child process. */
export interface ServeChild {
  child: ChildProcess;
  /** Where it listens, as it printed it: `http://127.0.0.1:PORT`. */
  url: string;
  /** Everything it wrote so far (the JSON log lines are on stdout). */
  stdout: () => string;
  stderr: () => string;
  /** Its end: exit code or the signal that killed it. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts `feedwright serve --dir DIR` from the sources (through tsx) on a free port of
 * 127.0.0.1, with `env` on top of a clean environment, and waits until it listens.
 */
export function startServe(env: Record<string, string | undefined>, dir: string): Promise<ServeChild> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      TSX,
      '-e',
      `import('${path.join(ROOT, 'src/cli/main.ts')}').then(m => m.main(process.argv.slice(1))).then(c => { process.exitCode = c; })`,
      '--',
      'serve',
      '--dir',
      dir,
    ],
    {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NODE_OPTIONS: '',
        PORT: '0',
        HOST: '127.0.0.1',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serve did not listen within 90 s: ${stderr}`));
    }, 90_000);
    const look = () => {
      const m = /feedwright listening on (http:\/\/\S+)/.exec(stdout);
      if (!m?.[1]) return;
      clearTimeout(timer);
      child.stdout.off('data', look);
      resolve({ child, url: m[1], stdout: () => stdout, stderr: () => stderr, exited });
    };
    child.stdout.on('data', look);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`serve ended before listening (code ${code}, signal ${signal}): ${stderr}`));
    });
  });
}

/** The JSON log lines a child wrote to stdout. */
export function logLines(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
