import { channelFormat } from '../../channels/output.js';
import type { ChannelDefinition } from '../../model/channel.js';
import type { FeedFetcher, FetchBucket, FetchSummary } from '../../store/fetches.js';
import type { Publication } from '../../store/publications.js';
import { Badge } from '../ui.js';

// What the channel pages share: the API's answers as types, and how a fetch reads to a person.

/** A channel as GET /api/channels/{id} answers it (the list leaves the publication's diff out). */
export interface ChannelView {
  id: string;
  catalog: string;
  version: number;
  enabled: boolean;
  definition: ChannelDefinition;
  author: string;
  feedUrl: string;
  tokenRotatedAt: string;
  createdAt: string;
  updatedAt: string;
  lastPublication: Publication | null;
}

/** One row of the fetch log, as GET /api/channels/{id}/fetches answers it. */
export type FetchRow = FetchSummary & { id: number; channel: string };

/** GET /api/channels/{id}/fetch-stats. */
export interface FetchStats {
  channel: string;
  bucket: 'hour' | 'day';
  tz: string;
  since: string;
  until: string;
  buckets: FetchBucket[];
  fetchers: FeedFetcher[];
  lastFetch: FetchSummary | null;
  lastDelivery: FetchSummary | null;
}

/** The output as a person names it: the template (`preset`, or "custom") and the format its feed URL ends with. */
export function outputText(c: Pick<ChannelView, 'definition' | 'feedUrl'>): string {
  const ext = /\.([a-z]+)$/.exec(c.feedUrl)?.[1] ?? channelFormat(c.definition);
  return `${c.definition.preset ?? 'custom'} · ${ext.toUpperCase()}`;
}

/**
 * A client named from its user agent: the product a crawler names after "compatible;"
 * (Googlebot, Google-Shopping…), else the first product token (curl, Go-http-client…).
 */
export function fetcherName(userAgent: string | null | undefined): string {
  const ua = userAgent?.trim();
  if (!ua) return 'A client without a user agent';
  const compatible = /compatible;\s*([^;/)]+)/i.exec(ua);
  if (compatible?.[1]) return compatible[1].trim();
  const first = /^([^\s/]+)/.exec(ua)?.[1] ?? ua;
  if (/^mozilla$/i.test(first)) return 'A browser';
  return first.length > 40 ? `${first.slice(0, 40)}…` : first;
}

/** Whether a fetch left the client holding a version: a GET answered 200, or a 304. */
export function delivered(f: Pick<FetchSummary, 'status' | 'method'>): boolean {
  return f.status === 304 || (f.status === 200 && f.method === 'GET');
}

/** "200", "304", "404"… or "HEAD" (a HEAD request answered 200: the headers only). */
export function fetchKind(f: Pick<FetchSummary, 'status' | 'method'>): string {
  return f.status === 200 && f.method === 'HEAD' ? 'HEAD' : String(f.status);
}

/** What each kind of answer means, for titles and legends. */
export const KIND_MEANING: Record<string, string> = {
  '200': 'got the feed',
  '304': 'not modified: already had the version served',
  HEAD: 'checked the headers only (HEAD)',
  head: 'checked the headers only (HEAD)',
  '404': 'refused: wrong or old token, wrong extension, disabled channel or nothing built yet',
  '499': 'the client went away before the feed was sent whole',
  '503': 'the feed file was missing on the server',
};

/** A fetch's answer as a badge, with its meaning on hover. */
export function FetchStatus(props: { fetch: Pick<FetchSummary, 'status' | 'method'> }) {
  const kind = fetchKind(props.fetch);
  const tone =
    kind === '200'
      ? 'ok'
      : kind === '304'
        ? 'info'
        : kind === 'HEAD'
          ? 'muted'
          : kind === '499'
            ? 'warn'
            : 'bad';
  return (
    <span title={KIND_MEANING[kind] ?? `HTTP ${kind}`}>
      <Badge value={kind === '304' ? '304 not modified' : kind} tone={tone} />
    </span>
  );
}

/** How many versions are newer than `version` (publication versions count up by one). */
export function versionsBehind(
  version: number | null | undefined,
  current: number | null | undefined,
): number {
  if (version === null || version === undefined || current === null || current === undefined) return 0;
  return Math.max(0, current - version);
}

/** The browser's time zone, for day buckets that start at the person's midnight. */
export function browserTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}
