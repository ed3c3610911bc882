import { buildChannelFeed } from '../publish/build/build.js';
import { listChannels } from '../store/channels.js';
import { countProducts } from '../store/products.js';
import type { Publication } from '../store/publications.js';
import { parseCommandArgs, UsageError } from './args.js';
import { openContext } from './context.js';
import { formatTable, Progress } from './output.js';
import { seg } from './serve-client.js';

/** What publishing needs to know of a channel. */
interface ChannelSummary {
  id: string;
  catalog: string;
  enabled: boolean;
}

/**
 * `feedwright publish [<channel>]`: builds one channel's feed now, or every enabled
 * channel's, and prints each publication (items, exclusions, diff, size). A disabled
 * channel keeps its feed frozen: named, it is refused; in "all", it is skipped.
 */
export async function publishCommand(args: string[], json: boolean): Promise<number> {
  const { positionals } = parseCommandArgs(args, {});
  if (positionals.length > 1) throw new UsageError('usage: feedwright publish [<channel>]');
  const ctx = await openContext(json, 'publish');
  try {
    const wanted = positionals[0];
    const channels = (
      ctx.via === 'server'
        ? (await ctx.server.call<{ channels: ChannelSummary[] }>('GET', '/api/channels')).channels
        : (await listChannels(ctx.store)).map((c) => ({
            id: c.id,
            catalog: c.catalog,
            enabled: c.definition.enabled !== false,
          }))
    ).filter((c) => wanted === undefined || c.id === wanted);
    if (wanted !== undefined && channels.length === 0) throw new UsageError(`no channel "${wanted}"`);
    const published: Publication[] = [];
    const skipped: string[] = [];
    for (const channel of channels) {
      if (!channel.enabled) {
        if (wanted !== undefined)
          throw new UsageError(`channel "${wanted}" is disabled: its feed stays frozen`);
        skipped.push(channel.id);
        continue;
      }
      const progress = new Progress(`publish ${channel.id}`, process.stderr, 'products');
      if (ctx.via === 'server') {
        // The server builds it (joining a build of its own under way); the count stays there.
        progress.update('building', undefined);
        published.push(
          await ctx.server
            .call<Publication>('POST', `/api/channels/${seg(channel.id)}/publish`)
            .finally(() => progress.done()),
        );
        continue;
      }
      const total = progress.shown ? await countProducts(ctx.store, channel.catalog) : 0;
      published.push(
        await buildChannelFeed(
          { store: ctx.store, dataDir: ctx.config.dataDir },
          {
            channelId: channel.id,
            reason: 'on demand',
            actor: 'cli',
            onProgress: (n) => progress.update('building', n, { done: n, total, unit: 'count' }),
          },
        ),
      );
      progress.done();
    }
    if (json) {
      ctx.out(JSON.stringify({ publications: published, skipped }));
      return 0;
    }
    if (published.length === 0 && skipped.length === 0) ctx.out('no channel to publish');
    if (published.length > 0) {
      ctx.out(
        formatTable([
          ['CHANNEL', 'VERSION', 'ITEMS', 'EXCLUDED', 'ADDED', 'REMOVED', 'CHANGED', 'BYTES', 'GZIP', 'MS'],
          ...published.map((p) => [
            p.channel,
            String(p.version),
            String(p.items),
            String(p.excluded),
            String(p.added),
            String(p.removed),
            String(p.changed),
            String(p.bytes),
            String(p.gzipBytes),
            String(p.buildMs),
          ]),
        ]),
      );
    }
    for (const id of skipped) ctx.out(`skipped ${id}: disabled, its feed stays frozen`);
    return 0;
  } finally {
    await ctx.close();
  }
}
