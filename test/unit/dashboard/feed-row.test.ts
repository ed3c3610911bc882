import { describe, expect, it } from 'vitest';
import { feedRowWording } from '../../../src/dashboard/pages/feed-row.js';
import type { ChannelDefinition } from '../../../src/model/channel.js';

const channel = (more: Partial<ChannelDefinition>): ChannelDefinition => ({
  kind: 'channel',
  id: 'c',
  catalog: 'shop',
  ...more,
});

const CELLS = { empty: 'an empty cell', lists: 'comma-joined in one cell' };
const ELEMENTS = { empty: 'no element', lists: 'repeated elements' };

describe("the product page's words for a feed row", () => {
  it('reads the format as the feed is written: a generic-csv channel without format is CSV', () => {
    expect(feedRowWording(channel({ preset: 'generic-csv' }))).toEqual(CELLS);
  });

  it.each<[Partial<ChannelDefinition>, typeof CELLS]>([
    [{}, CELLS],
    [{ format: 'tsv' }, CELLS],
    [{ preset: 'generic-csv', format: 'tsv' }, CELLS],
    [{ preset: 'google-shopping' }, ELEMENTS],
    [{ preset: 'generic-xml' }, ELEMENTS],
    [{ format: 'xml' }, ELEMENTS],
  ])('%j', (more, words) => {
    expect(feedRowWording(channel(more))).toEqual(words);
  });
});
