import { AppError } from '../errors.js';
import { UsageError } from './args.js';

type Command = (args: string[], json: boolean) => Promise<number>;

// Each command's module is loaded when it runs: a command sent to the running server loads
// neither the HTTP app (serve's) nor what it does not use.
const serveCommand: Command = async (a, j) => (await import('./serve.js')).serveCommand(a, j);
const applyCommand: Command = async (a, j) => (await import('./apply.js')).applyCommand(a, j);
const importCommand: Command = async (a, j) => (await import('./import.js')).importCommand(a, j);
const publishCommand: Command = async (a, j) => (await import('./publish.js')).publishCommand(a, j);
const orderCommand: Command = async (a, j) => (await import('./order.js')).orderCommand(a, j);
const rulesCommand: Command = async (a, j) => (await import('./rules.js')).rulesCommand(a, j);
const explainCommand: Command = async (a, j) => (await import('./explain.js')).explainCommand(a, j);
const historyCommand: Command = async (a, j) => (await import('./history.js')).historyCommand(a, j);
const migrateCommand: Command = async (a, j) => (await import('./migrate.js')).migrateCommand(a, j);

const COMMANDS: Record<string, { run: Command; usage: string }> = {
  serve: {
    run: serveCommand,
    usage: 'serve [--dir DIR]            HTTP API, feed URLs and scheduler on PORT (8080)',
  },
  apply: {
    run: applyCommand,
    usage: 'apply [--dir DIR]            load feeds/ and rules/ from DIR (default .) into the store',
  },
  import: {
    run: importCommand,
    usage: 'import <catalog> [--file PATH|-] [--partial] [--force] | import --apply-run RUN',
  },
  publish: {
    run: publishCommand,
    usage: "publish [<channel>]          rebuild one channel's feed now, or every enabled channel's",
  },
  order: {
    run: orderCommand,
    usage:
      'order <channel> <file.json|->    report an order: { orderId, status, lines: [{ sku, quantity }] }',
  },
  rules: {
    run: rulesCommand,
    usage:
      'rules validate <file…> | rules preview <channel|rule-set> [--rules FILE] [--catalog ID] [--at ISO] [--samples N] | rules versions <rule-set> | rules restore <rule-set> --version N',
  },
  explain: {
    run: explainCommand,
    usage: 'explain <channel|rule-set> <sku> [--catalog ID] [--at ISO]   the rule trace of one product',
  },
  history: {
    run: historyCommand,
    usage:
      'history [--catalog ID] [--channel ID] [--sku SKU] [--run N] [--type T] [--since ISO] [--limit N] [--before ID]',
  },
  migrate: { run: migrateCommand, usage: 'migrate                      bring the store schema up to date' },
};

const HELP = `feedwright <command> [--json]

${Object.values(COMMANDS)
  .map((c) => `  ${c.usage}`)
  .join('\n')}

Environment: DATABASE_URL, DATA_DIR (./data), FEEDWRIGHT_API_KEY, FEEDWRIGHT_MAX_UPLOAD_BYTES,
FEEDWRIGHT_ALLOW_PRIVATE_SOURCES, LOG_LEVEL; for serve also PORT (8080), HOST (0.0.0.0),
FEEDWRIGHT_PUBLIC_URL, FEEDWRIGHT_RATE_LIMIT, FEEDWRIGHT_HEADERS_TIMEOUT_MS,
FEEDWRIGHT_REQUEST_TIMEOUT_MS and FEEDWRIGHT_SHUTDOWN_GRACE_MS (README, "Configuration", "Operating it").
Exit status: 0 ok, 1 failure (one line on stderr), 2 import held by the safety gate.
The embedded store is one process's (DATA_DIR/store.lock): while serve holds it, commands go
through serve's API (README, "Command line").
`;

/** Runs the command line; returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const args = argv.filter((a) => a !== '--json');
  const [name, ...rest] = args;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(HELP);
    return name ? 0 : 1;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`feedwright: unknown command "${name}" (feedwright help lists them)\n`);
    return 1;
  }
  try {
    return await command.run(rest, json);
  } catch (err) {
    const message =
      err instanceof UsageError || err instanceof AppError
        ? err.message
        : err instanceof Error
          ? err.message.split('\n')[0]
          : String(err);
    process.stderr.write(`feedwright: ${message}\n`);
    if (process.env.LOG_LEVEL === 'debug' && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    return 1;
  }
}
