import fs from 'node:fs/promises';
import { type OrderResult, reportOrder } from '../stock/orders.js';
import { parseCommandArgs, UsageError } from './args.js';
import { openContext } from './context.js';
import { formatTable } from './output.js';
import { seg } from './serve-client.js';

/**
 * `feedwright order <channel> <file or ->`: reports an order from a JSON file (or stdin),
 * as `POST /api/channels/{channel}/orders` does: `{ orderId, status, lines: [{ sku, quantity }] }`.
 * Prints the stock movements, unlinked lines and oversells.
 */
export async function orderCommand(args: string[], json: boolean): Promise<number> {
  const { positionals } = parseCommandArgs(args, {});
  const [channel, file] = positionals;
  if (!channel || !file || positionals.length > 2)
    throw new UsageError('usage: feedwright order <channel> <file.json or ->');
  const text = file === '-' ? await readStdin() : await fs.readFile(file, 'utf8');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${file === '-' ? 'stdin' : file}: not valid JSON: ${(err as Error).message}`);
  }
  const ctx = await openContext(json, 'order');
  try {
    const r =
      ctx.via === 'server'
        ? await ctx.server.call<OrderResult>('POST', `/api/channels/${seg(channel)}/orders`, { json: body })
        : await reportOrder(ctx.store, channel, body, 'cli');
    if (json) {
      ctx.out(JSON.stringify(r));
      return 0;
    }
    const o = r.order;
    ctx.out(
      r.duplicate
        ? `order ${o.orderId} on ${o.channelId}: this report was received before; nothing moved`
        : `order ${o.orderId} on ${o.channelId}: ${o.status}, ${o.holdsStock ? 'holds its units' : 'holds no stock'}`,
    );
    if (r.movements.length > 0) {
      ctx.out(
        formatTable([
          ['SKU', 'DELTA', 'CAUSE', 'EFFECTIVE STOCK'],
          ...r.movements.map((m) => [m.sku, String(m.delta), m.cause, String(m.effectiveStock)]),
        ]),
      );
    }
    for (const l of r.unlinked) ctx.out(`unlinked: ${l.sku} × ${l.quantity} is not a product of the catalog`);
    for (const l of r.notManaged)
      ctx.out(`not managed: ${l.sku} × ${l.quantity} (stock not managed; nothing moved)`);
    for (const x of r.oversold) ctx.out(`oversold: ${x.sku} by ${x.units} unit(s)`);
    return 0;
  } finally {
    await ctx.close();
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
