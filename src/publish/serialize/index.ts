import { isUsableDelimiter } from '../../channels/mapping.js';
import { channelFormat, xmlShape } from '../../channels/output.js';
import type { ChannelDefinition } from '../../model/channel.js';
import { createCsvSerializer } from './csv.js';
import { createJsonSerializer } from './json.js';
import type { FeedSerializer } from './serializer.js';
import { createXmlSerializer } from './xml.js';

export type { FeedSerializer } from './serializer.js';

/**
 * The serializer of a channel's format and template, for the mapper's columns.
 * Content types: `text/csv; charset=utf-8`, `text/tab-separated-values; charset=utf-8`,
 * `application/json; charset=utf-8`, and `application/xml; charset=utf-8` for every XML
 * feed, Google's RSS included: every feed fetcher accepts it, and a browser shows it
 * instead of offering `application/rss+xml` as a download. A CSV delimiter that cannot
 * round-trip (see `checkChannelFields`) throws, so the build fails and the previous feed
 * stays served.
 */
export function createSerializer(def: ChannelDefinition, columns: readonly string[]): FeedSerializer {
  const options = def.options ?? {};
  const neutralizeFormulas = options.neutralizeFormulas !== false;
  switch (channelFormat(def)) {
    case 'csv': {
      const delimiter = options.delimiter ?? ',';
      if (!isUsableDelimiter(delimiter)) {
        throw new Error(`channel ${def.id}: the CSV delimiter ${JSON.stringify(delimiter)} cannot be used`);
      }
      return createCsvSerializer(columns, {
        delimiter,
        neutralizeFormulas,
        contentType: 'text/csv; charset=utf-8',
      });
    }
    case 'tsv':
      return createCsvSerializer(columns, {
        delimiter: '\t',
        neutralizeFormulas,
        contentType: 'text/tab-separated-values; charset=utf-8',
      });
    case 'json':
      return createJsonSerializer(columns);
    case 'xml': {
      const name = def.name ?? def.id;
      return createXmlSerializer(columns, {
        shape: xmlShape(def),
        channel: {
          title: options.title ?? name,
          link: options.link ?? '',
          description: options.description ?? name,
        },
        contentType: 'application/xml; charset=utf-8',
      });
    }
  }
}
