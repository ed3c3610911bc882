import { type HistoryEvent, readHistory } from '../store/history.js';
import { summarizeEvent } from '../text.js';
import { parseCommandArgs, UsageError } from './args.js';
import { openContext } from './context.js';
import { formatTable } from './output.js';

/** `feedwright history [--catalog ID] [--channel ID] [--sku SKU] [--run N] [--type T] [--since ISO] [--limit N]`. */
export async function historyCommand(args: string[], json: boolean): Promise<number> {
  const { values } = parseCommandArgs(
    args,
    {
      catalog: { type: 'string' },
      channel: { type: 'string' },
      sku: { type: 'string' },
      run: { type: 'string' },
      type: { type: 'string' },
      since: { type: 'string' },
      before: { type: 'string' },
      limit: { type: 'string' },
    },
    false,
  );
  const since = values.since ? new Date(values.since) : undefined;
  if (since && Number.isNaN(since.getTime()))
    throw new UsageError(`--since "${values.since}" is not an ISO time`);
  const limit = values.limit ? Number(values.limit) : 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
    throw new UsageError('--limit must be 1 to 10000');
  const before = values.before ? Number(values.before) : undefined;
  if (before !== undefined && !Number.isInteger(before)) throw new UsageError('--before must be an event id');
  const run = values.run ? Number(values.run) : undefined;
  if (run !== undefined && !(Number.isInteger(run) && run > 0))
    throw new UsageError('--run must be an import run id');
  const ctx = await openContext(json, 'history');
  try {
    const query = {
      catalog: values.catalog,
      channel: values.channel,
      sku: values.sku,
      run,
      type: values.type,
      since,
      before,
      limit,
    };
    const page =
      ctx.via === 'server'
        ? await ctx.server.call<{ events: HistoryEvent[]; next: number | null }>('GET', '/api/history', {
            query: { ...query, since: since?.toISOString() },
          })
        : await readHistory(ctx.store, query);
    if (json) {
      ctx.out(JSON.stringify(page));
      return 0;
    }
    if (page.events.length === 0) {
      ctx.out('no events');
      return 0;
    }
    ctx.out(
      formatTable([
        ['ID', 'TIME', 'TYPE', 'CATALOG', 'CHANNEL', 'SKU', 'RUN', 'DETAILS'],
        ...page.events.map((e) => [
          String(e.id),
          e.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
          e.type,
          e.catalog ?? '',
          e.channel ?? '',
          e.sku ?? '',
          e.run === null ? '' : String(e.run),
          summarizeEvent(e),
        ]),
      ]),
    );
    if (page.next !== null) ctx.out(`more: --before ${page.next}`);
    return 0;
  } finally {
    await ctx.close();
  }
}
