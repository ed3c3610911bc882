import { useEffect, useMemo, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import type { ImportRun } from '../../store/imports.js';
import type { Publication } from '../../store/publications.js';
import { qs, seg } from '../api.js';
import { href, setQuery } from '../router.js';
import { Badge, fmtBytes, fmtDuration, fmtNumber, Loaded, plural, Table, Time, useApi } from '../ui.js';
import {
  type ChannelView,
  delivered,
  type FetchRow,
  type FetchStats,
  FetchStatus,
  fetcherName,
  fetchKind,
  KIND_MEANING,
  versionsBehind,
} from './channel-common.js';

// The question no other tool answers: which version of the feed did the marketplace get, and
// when? The headline, the clients that fetched, fetches over time, and the raw log.

/**
 * The headline: who last got which version and when, how that version relates to the last
 * import, and how many versions are newer than what it holds.
 */
export function DeliverySummary(props: {
  channel: ChannelView;
  stats: FetchStats;
  publications: Publication[];
  lastImport: ImportRun | null;
}) {
  const { channel, stats } = props;
  const current = channel.lastPublication;
  const last = stats.lastFetch;
  const got = stats.lastDelivery;
  const disabled = channel.enabled ? null : (
    <p class="notice">
      This channel is disabled: its feed is not rebuilt and its URL answers 404, so marketplaces get nothing.
    </p>
  );
  if (!last) {
    return (
      <div data-testid="delivery-headline">
        {disabled}
        <p class="ch-headline">No one has fetched this feed yet.</p>
        {channel.enabled ? (
          <p class="muted">
            Give the marketplace the feed URL below; every request it makes will show here, with the version
            it got.
          </p>
        ) : null}
      </div>
    );
  }
  if (!got) {
    return (
      <div data-testid="delivery-headline">
        {disabled}
        <p class="ch-headline">
          No request has got the feed yet. The last one, <Time at={last.at} />, by{' '}
          <strong>{fetcherName(last.userAgent)}</strong>, was answered <FetchStatus fetch={last} />
        </p>
        <p class="muted">{KIND_MEANING[fetchKind(last)] ?? ''}</p>
      </div>
    );
  }
  const behind = versionsBehind(got.version, current?.version);
  const gotPublication =
    props.publications.find((p) => p.version === got.version) ??
    (current?.version === got.version ? current : undefined);
  const later = last.at > got.at && !delivered(last) ? last : null;
  return (
    <div data-testid="delivery-headline">
      {disabled}
      <p class="ch-headline">
        <strong>{fetcherName(got.userAgent)}</strong> fetched <strong>version {got.version}</strong>{' '}
        <Time at={got.at} />
        <span class="muted">
          {' '}
          {got.status === 304
            ? '(304: it already had it)'
            : `(${fmtBytes(got.bytes)}${got.encoding === 'gzip' ? ', gzipped' : ''})`}
        </span>
      </p>
      {gotPublication ? (
        <p>
          Version {gotPublication.version} was built <Time at={gotPublication.builtAt} />
          <BuiltAfterImport builtAt={gotPublication.builtAt} lastImport={props.lastImport} /> (
          {gotPublication.reason}).
        </p>
      ) : null}
      {current === null ? null : behind > 0 && gotPublication?.sha256 === current.sha256 ? (
        <p class="success" data-testid="versions-behind">
          {plural(behind, 'version is', 'versions are')} newer, but version {current.version}, served now, has
          the same content (same SHA-256): the marketplace already has what is served (a fetch sending its
          ETag gets a 304).
        </p>
      ) : behind > 0 ? (
        <p class="notice" data-testid="versions-behind">
          <strong>{plural(behind, 'version is', 'versions are')} newer</strong> than what it last fetched:
          version {current.version}, served now, was built <Time at={current.builtAt} /> ({current.reason}).
        </p>
      ) : (
        <p class="success" data-testid="versions-behind">
          That is the version served now.
        </p>
      )}
      {later ? (
        <p class="muted">
          Since then: a request by {fetcherName(later.userAgent)} <Time at={later.at} /> was answered{' '}
          <FetchStatus fetch={later} /> ({KIND_MEANING[fetchKind(later)] ?? `HTTP ${later.status}`}).
        </p>
      ) : null}
    </div>
  );
}

/** ", 3 min after the last import (#45)", or how the build stands against the last import. */
function BuiltAfterImport(props: { builtAt: string; lastImport: ImportRun | null }) {
  const run = props.lastImport;
  const done = run?.finishedAt;
  if (!run || !done) return null;
  const gap = Date.parse(props.builtAt) - Date.parse(done);
  return gap >= 0 ? (
    <>
      , {fmtDuration(gap)} after the last import (<a href={href('imports', run.id)}>#{run.id}</a>,{' '}
      <Badge value={run.status} />)
    </>
  ) : (
    <>
      , before the last import (<a href={href('imports', run.id)}>#{run.id}</a>, <Badge value={run.status} />,{' '}
      <Time at={done} />)
    </>
  );
}

/** The clients of the period: how often each fetched, and the version each holds. */
export function FetchersTable(props: { stats: FetchStats; current: number | null }) {
  return (
    <Table
      testid="fetchers"
      rows={props.stats.fetchers}
      rowKey={(f) => f.userAgent ?? ''}
      empty="No request in this period."
      columns={[
        {
          title: 'Client',
          cell: (f) => (
            <>
              <strong>{fetcherName(f.userAgent)}</strong>
              <div class="muted ch-small mono">{f.userAgent ?? 'no user agent'}</div>
            </>
          ),
          text: (f) => f.userAgent ?? '',
          class: 'wrap',
        },
        {
          title: 'Holds',
          cell: (f) => <HeldVersion version={f.deliveredVersion} current={props.current} />,
          text: (f) => (f.deliveredVersion === null ? '' : String(f.deliveredVersion)),
        },
        {
          title: 'Got it',
          cell: (f) => <Time at={f.deliveredAt} />,
          text: (f) => f.deliveredAt ?? '',
          class: 'ch-nowrap',
        },
        {
          title: 'Last request',
          cell: (f) => <Time at={f.lastAt} />,
          text: (f) => f.lastAt,
          class: 'ch-nowrap',
        },
        { title: 'Requests', cell: (f) => fmtNumber(f.fetches), align: 'right' },
        {
          title: '404s',
          cell: (f) => (f.notFound > 0 ? <span class="ch-bad">{fmtNumber(f.notFound)}</span> : '0'),
          text: (f) => String(f.notFound),
          align: 'right',
        },
      ]}
    />
  );
}

/** "v12" with whether it is the version served now, or how far behind. */
export function HeldVersion(props: { version: number | null; current: number | null }) {
  if (props.version === null) return <span class="muted">none</span>;
  const behind = versionsBehind(props.version, props.current);
  return (
    <span class="ch-nowrap">
      v{props.version}{' '}
      {props.current === null ? null : behind === 0 ? (
        <Badge value="current" tone="ok" />
      ) : (
        <Badge value={`${behind} behind`} tone="warn" />
      )}
    </span>
  );
}

/** The periods the chart offers, and their bucket. */
export const RANGES = {
  '48h': { label: 'Last 48 hours, per hour', bucket: 'hour', ms: 48 * 3_600_000 },
  '7d': { label: 'Last 7 days, per hour', bucket: 'hour', ms: 7 * 86_400_000 },
  '30d': { label: 'Last 30 days, per day', bucket: 'day', ms: 30 * 86_400_000 },
  '365d': { label: 'Last 365 days, per day', bucket: 'day', ms: 365 * 86_400_000 },
} as const;
export type RangeId = keyof typeof RANGES;

/** A period's id from the route (`?range=`), 48 hours by default. */
export function rangeOf(value: string | null): RangeId {
  return value !== null && value in RANGES ? (value as RangeId) : '48h';
}

/** The period picker of the chart (kept in the route, so the view can be linked to). */
export function RangePicker(props: { range: RangeId }) {
  return (
    <label class="ch-inline-label">
      <span class="muted">Period</span>{' '}
      <select
        name="range"
        value={props.range}
        onChange={(e) =>
          setQuery({ range: e.currentTarget.value === '48h' ? undefined : e.currentTarget.value })
        }
      >
        {Object.entries(RANGES).map(([id, r]) => (
          <option key={id} value={id}>
            {r.label}
          </option>
        ))}
      </select>
    </label>
  );
}

const KIND_ORDER = ['200', '304', 'head', '404', '499', '503'];
const KIND_COLOR: Record<string, string> = {
  '200': '#1d7a46',
  '304': '#2456c9',
  head: '#8a94a3',
  '404': '#b3261e',
  '499': '#c77700',
  '503': '#7b1fa2',
};
const KIND_LABEL: Record<string, string> = {
  '200': '200 sent',
  '304': '304 not modified',
  head: 'HEAD',
  '404': '404',
};

/** Every bucket start of the period (local hours or days: the stats are asked in this time zone). */
function bucketStarts(since: string, until: string, bucket: 'hour' | 'day'): number[] {
  const d = new Date(since);
  if (bucket === 'hour') d.setMinutes(0, 0, 0);
  else d.setHours(0, 0, 0, 0);
  const end = Date.parse(until);
  const out: number[] = [];
  while (d.getTime() < end && out.length < 10_000) {
    out.push(d.getTime());
    if (bucket === 'hour') d.setHours(d.getHours() + 1);
    else d.setDate(d.getDate() + 1);
  }
  return out;
}

/**
 * Fetches per hour or day, stacked by kind (200 at the bottom, then 304, HEAD, 404…). Empty
 * buckets are drawn as zero so gaps in fetching show; the legend reads each kind's own count.
 */
export function FetchChart(props: { stats: FetchStats }) {
  const { stats } = props;
  const chart = useMemo(() => {
    const starts = new Set(bucketStarts(stats.since, stats.until, stats.bucket));
    // A bucket the server placed elsewhere (time zone data differing) still shows.
    for (const b of stats.buckets) starts.add(Date.parse(b.start));
    const xs = [...starts].sort((a, b) => a - b);
    const index = new Map(xs.map((x, i) => [x, i]));
    const kinds = [...new Set(stats.buckets.map((b) => b.kind))].sort(
      (a, b) => (KIND_ORDER.indexOf(a) + 1 || 99) - (KIND_ORDER.indexOf(b) + 1 || 99) || a.localeCompare(b),
    );
    const raw = kinds.map(() => xs.map(() => 0));
    for (const b of stats.buckets) {
      const i = index.get(Date.parse(b.start));
      const k = kinds.indexOf(b.kind);
      if (i !== undefined && raw[k]) raw[k][i] = b.fetches;
    }
    // Stacked: each kind's bar reaches the sum of the kinds below it and its own.
    const stacked = raw.map((_, k) =>
      xs.map((_x, i) => raw.slice(0, k + 1).reduce((s, r) => s + (r[i] ?? 0), 0)),
    );
    return {
      x: xs.map((t) => t / 1000),
      kinds,
      raw,
      stacked,
      total: stats.buckets.reduce((s, b) => s + b.fetches, 0),
    };
  }, [stats]);
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el || chart.kinds.length === 0) return;
    const step = stats.bucket === 'hour' ? 3600 : 86_400;
    // Drawn top of the stack first, each lower kind over it: the visible part of each bar is its own count.
    const order = chart.kinds.map((_, k) => k).reverse();
    const opts: uPlot.Options = {
      width: Math.max(el.clientWidth, 200),
      height: 240,
      scales: {
        x: {
          time: true,
          range: (_u, min, max) => [min - step / 2, max + step / 2],
        },
        y: { range: (_u, _min, max) => [0, Math.max(1, max)] },
      },
      axes: [
        { stroke: 'currentColor' },
        {
          stroke: 'currentColor',
          label: 'fetches',
          size: 56,
          values: (_u, vals) => vals.map((v) => (Number.isInteger(v) ? fmtNumber(v) : '')),
        },
      ],
      series: [
        { label: stats.bucket === 'hour' ? 'Hour' : 'Day' },
        ...order.map((k) => {
          const kind = chart.kinds[k] ?? '';
          const color = KIND_COLOR[kind] ?? '#c77700';
          return {
            label: KIND_LABEL[kind] ?? kind,
            stroke: color,
            fill: color,
            width: 0,
            paths: uPlot.paths.bars?.({ size: [0.8, 48] }),
            points: { show: false },
            value: (_u: uPlot, _v: number, _s: number, i: number | null) =>
              i === null ? '–' : fmtNumber(chart.raw[k]?.[i] ?? 0),
          };
        }),
      ],
    };
    const plot = new uPlot(opts, [chart.x, ...order.map((k) => chart.stacked[k] ?? [])], el);
    const resize = new ResizeObserver(() =>
      plot.setSize({ width: Math.max(el.clientWidth, 200), height: 240 }),
    );
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [chart, stats.bucket]);
  if (chart.total === 0) return <p class="muted empty">No fetch in this period.</p>;
  return (
    <>
      <div
        class="chart"
        ref={box}
        data-testid="fetch-chart"
        role="img"
        aria-label={chartSummary(chart.kinds, chart.raw)}
      />
      <p class="muted ch-small">
        {fmtNumber(chart.total)} requests in the period, times in {stats.tz}:{' '}
        {chartSummary(chart.kinds, chart.raw)}.
      </p>
    </>
  );
}

function chartSummary(kinds: string[], raw: number[][]): string {
  return kinds
    .map((k, i) => `${fmtNumber((raw[i] ?? []).reduce((s, n) => s + n, 0))} ${KIND_LABEL[k] ?? k}`)
    .join(', ');
}

/** The raw fetch log, newest first, paged (`?fbefore=`), each row with the version it got. */
export function FetchLog(props: { channel: ChannelView; before: string | null }) {
  const state = useApi<{ fetches: FetchRow[]; next: number | null }>(
    `/channels/${seg(props.channel.id)}/fetches${qs({ before: props.before, limit: 100 })}`,
  );
  const current = props.channel.lastPublication?.version ?? null;
  return (
    <Loaded state={state}>
      {(page) => (
        <>
          <Table
            testid="fetch-log"
            rows={page.fetches}
            rowKey={(f) => f.id}
            filter
            csvName={`${props.channel.id}-fetches.csv`}
            empty="No request for this feed yet."
            columns={[
              { title: 'When', cell: (f) => <Time at={f.at} />, text: (f) => f.at, class: 'ch-nowrap' },
              { title: 'Answer', cell: (f) => <FetchStatus fetch={f} />, text: (f) => fetchKind(f) },
              {
                title: 'Version',
                cell: (f) =>
                  delivered(f) ? (
                    <HeldVersion version={f.version} current={current} />
                  ) : f.version === null ? (
                    <span class="muted">none</span>
                  ) : (
                    <span class="muted" title="the version served then, which this request did not take">
                      v{f.version}
                    </span>
                  ),
                text: (f) => (f.version === null ? '' : String(f.version)),
              },
              {
                title: 'Bytes',
                cell: (f) => (f.bytes > 0 ? fmtBytes(f.bytes) : '–'),
                text: (f) => String(f.bytes),
                align: 'right',
                class: 'ch-nowrap',
              },
              {
                title: 'Gzip',
                cell: (f) => (f.encoding === 'gzip' ? 'gzip' : '–'),
                text: (f) => f.encoding ?? '',
              },
              {
                title: 'Client',
                cell: (f) => <span title={f.userAgent ?? ''}>{fetcherName(f.userAgent)}</span>,
                text: (f) => f.userAgent ?? '',
              },
              {
                title: 'User agent',
                cell: (f) => <span class="mono ch-small">{f.userAgent ?? '–'}</span>,
                class: 'wrap',
              },
              {
                title: 'Address',
                cell: (f) => <span class="mono">{f.address ?? '–'}</span>,
                text: (f) => f.address ?? '',
              },
            ]}
          />
          <div class="actions">
            {props.before ? (
              <button type="button" onClick={() => setQuery({ fbefore: undefined })}>
                Newest
              </button>
            ) : null}
            {page.next ? (
              <button type="button" onClick={() => setQuery({ fbefore: String(page.next) })}>
                Older
              </button>
            ) : null}
          </div>
        </>
      )}
    </Loaded>
  );
}
