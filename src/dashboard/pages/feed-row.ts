import { channelFormat } from '../../channels/output.js';
import type { ChannelDefinition } from '../../model/channel.js';

// How a channel's feed writes an item, in the words of the product page's feed row.

/** What an empty value and a list become in one item of the channel's feed. */
export function feedRowWording(def: ChannelDefinition): { empty: string; lists: string } {
  // The format its feed is written in: a template is no format (generic-csv writes CSV).
  const format = channelFormat(def);
  const csv = format === 'csv' || format === 'tsv';
  return {
    empty: csv ? 'an empty cell' : 'no element',
    lists: csv ? 'comma-joined in one cell' : 'repeated elements',
  };
}
