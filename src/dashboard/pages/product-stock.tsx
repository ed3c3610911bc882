import { useMemo, useState } from 'preact/hooks';
import type { ProductStock } from '../../stock/stock-view.js';
import type { StockPoint, StockTimeline } from '../../store/stock-timeline.js';
import { qs, seg } from '../api.js';
import { href } from '../router.js';
import {
  Badge,
  Card,
  type ChartSeries,
  Facts,
  fmtNumber,
  Loaded,
  Table,
  Time,
  TimeChart,
  useApi,
} from '../ui.js';

// The stock of one product: what the last import said, what was sold since on which
// channels (the pending ledger entries), the effective stock the channels see, and how
// the two moved over time.

/** The stock as one sentence: "Imported 12, 3 sold since on 2 channels: effective stock 9." */
export function stockSentence(s: ProductStock): string {
  if (!s.managed || s.imported === null) {
    return 'Stock not managed: the feed gives no quantity, so orders move nothing.';
  }
  // The exact pending sum (the list is capped): effective = max(0, imported + pending).
  const pendingSum = (s.oversold > 0 ? -s.oversold : (s.effective ?? 0)) - s.imported;
  const parts = [`Imported ${fmtNumber(s.imported)}`];
  if (s.pending.length === 0) {
    parts.push('nothing sold or returned since the last import');
  } else {
    const sold = -sum(s.pending.filter((e) => e.cause === 'order'));
    const back = sum(s.pending.filter((e) => e.cause === 'cancellation' || e.cause === 'refund'));
    const adjusted = sum(s.pending.filter((e) => e.cause === 'adjustment'));
    const channels = new Set(s.pending.filter((e) => e.channelId).map((e) => e.channelId)).size;
    const moves: string[] = [];
    if (sold !== 0) moves.push(`${fmtNumber(sold)} sold`);
    if (back !== 0) moves.push(`${fmtNumber(back)} given back`);
    let text = moves.join(' and ');
    if (text)
      text += ` since the last import${channels > 0 ? ` on ${channels} channel${channels === 1 ? '' : 's'}` : ''}`;
    if (adjusted !== 0) text += `${text ? ', ' : ''}stock pushes moved it by ${signed(adjusted)}`;
    parts.push(text || `pending entries sum to ${signed(pendingSum)}`);
  }
  let sentence = `${parts.join(', ')}: effective stock ${fmtNumber(s.effective)}.`;
  if (s.oversold > 0) sentence += ` Oversold by ${fmtNumber(s.oversold)}: channels see 0.`;
  return sentence;
}

function sum(entries: Array<{ delta: number }>): number {
  return entries.reduce((n, e) => n + e.delta, 0);
}

/** +3, −2, 0 */
export function signed(n: number): string {
  return n > 0 ? `+${fmtNumber(n)}` : n < 0 ? `−${fmtNumber(-n)}` : '0';
}

/** The stock card: the sentence, the numbers, the pending entries and the timeline. */
export function StockCard(props: { catalog: string; sku: string; stock: ProductStock | undefined }) {
  const s = props.stock;
  return (
    <Card title="Stock" testid="stock">
      {!s ? (
        <p class="muted">No stock information for this product.</p>
      ) : (
        <>
          <p class="lead" data-testid="stock-sentence">
            {stockSentence(s)}
          </p>
          {s.managed ? (
            <>
              <Facts
                items={[
                  ['Imported', <span class="big">{fmtNumber(s.imported)}</span>],
                  [
                    'Pending',
                    <span class="big">
                      {signed((s.oversold > 0 ? -s.oversold : (s.effective ?? 0)) - (s.imported ?? 0))}
                    </span>,
                  ],
                  ['Effective', <span class="big">{fmtNumber(s.effective)}</span>],
                  [
                    'Oversold',
                    s.oversold > 0 ? <Badge value={`${fmtNumber(s.oversold)} units`} tone="bad" /> : 'no',
                  ],
                ]}
              />
              <h3>Pending ledger entries</h3>
              <p class="muted small">
                Sales, returns and stock pushes the merchant's feed does not reflect yet: the next import
                fetched long enough after them makes its quantity the truth again.
              </p>
              <Table
                testid="pending"
                rows={s.pending}
                rowKey={(e) => e.id}
                empty="None: the effective stock is the imported quantity."
                columns={[
                  { title: 'When', cell: (e) => <Time at={e.at} />, text: (e) => e.at },
                  { title: 'Change', cell: (e) => signed(e.delta), align: 'right' },
                  { title: 'Cause', cell: (e) => <Badge value={e.cause} tone={causeTone(e.cause)} /> },
                  {
                    title: 'Channel',
                    cell: (e) =>
                      e.channelId ? (
                        <a href={href('channels', e.channelId)}>{e.channelId}</a>
                      ) : (
                        <span class="muted">stock push</span>
                      ),
                    text: (e) => e.channelId ?? '',
                  },
                  {
                    title: 'Order',
                    cell: (e) => e.orderId ?? <span class="muted">–</span>,
                    text: (e) => e.orderId ?? '',
                  },
                ]}
              />
              {s.pending.length >= 200 ? (
                <p class="muted small">The 200 newest entries; the numbers above count them all.</p>
              ) : null}
            </>
          ) : null}
          <StockTimelineView catalog={props.catalog} sku={props.sku} />
        </>
      )}
    </Card>
  );
}

function causeTone(cause: string): 'ok' | 'warn' | 'bad' | 'info' | 'muted' {
  if (cause === 'order') return 'warn';
  if (cause === 'cancellation' || cause === 'refund') return 'ok';
  if (cause === 'removed') return 'bad';
  return 'info';
}

const RANGES: Array<[string, string, number | null]> = [
  ['1d', '24 hours', 86_400_000],
  ['7d', '7 days', 7 * 86_400_000],
  ['30d', '30 days', 30 * 86_400_000],
  ['all', 'All', null],
];

/** Effective stock and imported quantity over time (stepped), and the changes as a table. */
function StockTimelineView(props: { catalog: string; sku: string }) {
  const [range, setRange] = useState('all');
  // Computed once per choice: a `since` that moved with every render would re-read forever.
  const since = useMemo(() => {
    const ms = RANGES.find((r) => r[0] === range)?.[2] ?? null;
    return ms === null ? undefined : new Date(Date.now() - ms).toISOString();
  }, [range]);
  const state = useApi<StockTimeline>(
    `/catalogs/${seg(props.catalog)}/products/${seg(props.sku)}/stock-timeline${qs({ since, limit: 500 })}`,
  );
  return (
    <div class="stock-timeline" data-testid="stock-timeline">
      <div class="card-head">
        <h3>Stock over time</h3>
        <fieldset class="segmented">
          <legend class="visually-hidden">Period</legend>
          {RANGES.map(([id, label]) => (
            <button
              type="button"
              key={id}
              aria-pressed={range === id}
              class={range === id ? 'active' : ''}
              onClick={() => setRange(id)}
            >
              {label}
            </button>
          ))}
        </fieldset>
      </div>
      <Loaded state={state}>{(t) => <TimelineBody timeline={t} since={since} />}</Loaded>
    </div>
  );
}

function TimelineBody(props: { timeline: StockTimeline; since: string | undefined }) {
  const t = props.timeline;
  const { x, series } = useMemo(() => chartData(t, props.since), [t, props.since]);
  const managed = t.points.some((p) => p.imported !== null) || t.now.imported !== null;
  const rows = useMemo(() => [...t.points].reverse(), [t]);
  return (
    <>
      {managed ? (
        <TimeChart x={x} series={series} testid="stock-chart" yLabel="units" height={240} />
      ) : (
        <p class="muted">The stock of this product is not managed: there is nothing to chart.</p>
      )}
      {t.truncated ? <p class="muted small">The newest {fmtNumber(t.points.length)} changes.</p> : null}
      <details class="changes">
        <summary>
          {fmtNumber(t.points.length)} stock change{t.points.length === 1 ? '' : 's'}
          {props.since ? ' in this period' : ''}
        </summary>
        <Table
          testid="stock-changes"
          rows={rows}
          rowKey={(p) => p.at}
          filter
          csvName="stock-changes.csv"
          empty="No change in this period."
          columns={[
            { title: 'When', cell: (p) => <Time at={p.at} />, text: (p) => p.at },
            { title: 'What', cell: (p) => <ChangeCause point={p} />, text: (p) => p.cause, class: 'wrap' },
            { title: 'Imported', cell: (p) => fmtNumber(p.imported), align: 'right' },
            { title: 'Pending', cell: (p) => signed(p.pending), align: 'right' },
            { title: 'Effective', cell: (p) => <strong>{fmtNumber(p.effective)}</strong>, align: 'right' },
          ]}
        />
      </details>
    </>
  );
}

/** One change in words: "order M-1 on market −2", "import #4: quantity, 3 entries reflected". */
function ChangeCause(props: { point: StockPoint }) {
  const p = props.point;
  return (
    <span>
      {p.cause.split(',').map((c) => (
        <Badge key={c} value={c} tone={causeTone(c)} />
      ))}{' '}
      {p.moved !== 0 ? <strong>{signed(p.moved)}</strong> : null}
      {p.order ? <> order {p.order}</> : null}
      {p.channel ? (
        <>
          {' '}
          on <a href={href('channels', p.channel)}>{p.channel}</a>
        </>
      ) : null}
      {p.run !== null ? (
        <>
          {' '}
          by <a href={href('imports', p.run)}>import #{p.run}</a>
        </>
      ) : null}
      {p.reflected > 0 ? (
        <span class="muted">
          {' '}
          (reflected {fmtNumber(p.reflected)} pending entr{p.reflected === 1 ? 'y' : 'ies'})
        </span>
      ) : null}
    </span>
  );
}

/** The chart's x (seconds) and series: from the window's start (or first change) to now. */
function chartData(t: StockTimeline, since: string | undefined): { x: number[]; series: ChartSeries[] } {
  const x: number[] = [];
  const effective: Array<number | null> = [];
  const imported: Array<number | null> = [];
  const push = (at: number, s: { imported: number | null; effective: number | null }) => {
    x.push(at / 1000);
    effective.push(s.effective);
    imported.push(s.imported);
  };
  const first = t.points[0];
  if (since && (!first || Date.parse(since) < Date.parse(first.at))) push(Date.parse(since), t.before);
  for (const p of t.points) push(Date.parse(p.at), p);
  // The last level holds until now.
  const now = Date.now();
  if (x.length > 0 && now / 1000 > (x.at(-1) ?? 0)) push(now, t.now);
  return {
    x,
    series: [
      { label: 'effective', values: effective, color: '#2456c9', style: 'stepped' },
      { label: 'imported', values: imported, color: '#8a5a00', style: 'stepped' },
    ],
  };
}
