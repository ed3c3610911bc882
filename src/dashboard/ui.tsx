import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { formatBytes } from '../text.js';
import { ApiError, api } from './api.js';

// The dashboard's small kit: loading and error states, numbers and times as people read
// them, tables that filter, a copy button, CSV downloads and time charts (uPlot).

/** The state of one API read. */
export interface ApiState<T> {
  data: T | undefined;
  error: ApiError | undefined;
  loading: boolean;
  reload: () => void;
}

/**
 * Reads `/api{path}` and re-reads when the path changes or `reload()` is called; a null
 * path reads nothing. An answer to an older path never overwrites a newer one.
 */
export function useApi<T>(path: string | null): ApiState<T> {
  const [state, setState] = useState<{ data?: T; error?: ApiError; loading: boolean }>({
    loading: path !== null,
  });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (path === null) {
      setState({ loading: false });
      return;
    }
    // `tick` re-runs the read on reload().
    void tick;
    const ctl = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    api<T>(path, { signal: ctl.signal }).then(
      (data) => setState({ data, loading: false }),
      (err: unknown) => {
        if ((err as Error).name === 'AbortError') return;
        setState({ error: toApiError(err), loading: false });
      },
    );
    return () => ctl.abort();
  }, [path, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

/** Any failure as an ApiError, so every error box reads the same. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  return new ApiError(0, 'CLIENT', err instanceof Error ? err.message : String(err));
}

/** Runs an action (a POST, a PUT) with its busy and error state. */
export function useAction<A extends unknown[], R>(
  fn: (...args: A) => Promise<R>,
): {
  run: (...args: A) => Promise<R | undefined>;
  busy: boolean;
  error: ApiError | undefined;
  clear: () => void;
} {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();
  const run = useCallback(
    async (...args: A) => {
      setBusy(true);
      setError(undefined);
      try {
        return await fn(...args);
      } catch (err) {
        setError(toApiError(err));
        return undefined;
      } finally {
        setBusy(false);
      }
    },
    [fn],
  );
  return { run, busy, error, clear: () => setError(undefined) };
}

/** The page frame: a title, an optional subtitle and actions, then the content. */
export function Page(props: {
  title: ComponentChildren;
  subtitle?: ComponentChildren;
  actions?: ComponentChildren;
  children: ComponentChildren;
}) {
  return (
    <section class="page">
      <header class="page-head">
        <div>
          <h1>{props.title}</h1>
          {props.subtitle ? <p class="muted">{props.subtitle}</p> : null}
        </div>
        {props.actions ? <div class="actions">{props.actions}</div> : null}
      </header>
      {props.children}
    </section>
  );
}

/** A titled block of a page. */
export function Card(props: {
  title?: ComponentChildren;
  actions?: ComponentChildren;
  children: ComponentChildren;
  class?: string;
  testid?: string;
}) {
  return (
    <div class={`card ${props.class ?? ''}`} data-testid={props.testid}>
      {props.title || props.actions ? (
        <div class="card-head">
          {props.title ? <h2>{props.title}</h2> : <span />}
          {props.actions ? <div class="actions">{props.actions}</div> : null}
        </div>
      ) : null}
      {props.children}
    </div>
  );
}

/** What an API read shows while loading or after failing; the content once it has data. */
export function Loaded<T>(props: { state: ApiState<T>; children: (data: T) => ComponentChildren }) {
  const { data, error, loading } = props.state;
  if (error) return <ErrorBox error={error} onRetry={props.state.reload} />;
  if (data === undefined) return loading ? <p class="muted loading">Loading…</p> : null;
  return <>{props.children(data)}</>;
}

/** An error as the server worded it, with its code. */
export function ErrorBox(props: { error: ApiError | string; onRetry?: () => void }) {
  const e = typeof props.error === 'string' ? undefined : props.error;
  const message = typeof props.error === 'string' ? props.error : props.error.message;
  return (
    <div class="error-box" role="alert">
      {e ? <code class="code">{e.code}</code> : null} <span class="message">{message}</span>
      {props.onRetry ? (
        <button type="button" class="link" onClick={props.onRetry}>
          Retry
        </button>
      ) : null}
    </div>
  );
}

/** A status as a coloured badge (applied, held, failed, published, paid…). */
export function Badge(props: { value: string; tone?: 'ok' | 'warn' | 'bad' | 'info' | 'muted' }) {
  const tone = props.tone ?? toneOf(props.value);
  return <span class={`badge ${tone}`}>{props.value.replaceAll('_', ' ')}</span>;
}

function toneOf(value: string): string {
  if (/^(applied|published|ok|paid|enabled|in_stock|up)$/.test(value)) return 'ok';
  if (/^(held|running|not_modified|unpaid|queued|pending)$/.test(value)) return 'warn';
  if (/^(failed|error|cancelled|refunded|disabled|out_of_stock|oversold|excluded)$/.test(value)) return 'bad';
  return 'info';
}

const numberFormat = new Intl.NumberFormat('en');

/** A whole number with thousands separators. */
export function fmtNumber(n: number | null | undefined): string {
  return n === null || n === undefined ? '–' : numberFormat.format(n);
}

/** Bytes as KiB, MiB…; – for none. */
export function fmtBytes(n: number | null | undefined): string {
  return n === null || n === undefined ? '–' : formatBytes(n);
}

/** A duration in ms as people say it: 840 ms, 12.4 s, 3 min 20 s. */
export function fmtDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const m = Math.floor(ms / 60_000);
  return `${m} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** An instant as a datetime-local input's value, in the browser's zone ('' if not a time). */
export function toLocalInput(at: number | string, withSeconds = false): string {
  const d = new Date(at);
  if (Number.isNaN(d.getTime())) return '';
  const p = (n: number) => String(n).padStart(2, '0');
  const minutes = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
  return withSeconds ? `${minutes}:${p(d.getSeconds())}` : minutes;
}

const relative = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });

/** "3 minutes ago", with the exact local time on hover. */
export function Time(props: { at: string | null | undefined }) {
  if (!props.at) return <span class="muted">–</span>;
  const d = new Date(props.at);
  return (
    <time dateTime={props.at} title={d.toLocaleString()}>
      {fmtRelative(d)}
    </time>
  );
}

/** How long ago (or ahead) a time is. */
export function fmtRelative(d: Date, now = Date.now()): string {
  const secs = Math.round((d.getTime() - now) / 1000);
  const abs = Math.abs(secs);
  if (abs < 45) return relative.format(secs, 'second');
  if (abs < 45 * 60) return relative.format(Math.round(secs / 60), 'minute');
  if (abs < 22 * 3600) return relative.format(Math.round(secs / 3600), 'hour');
  if (abs < 26 * 86400) return relative.format(Math.round(secs / 86400), 'day');
  return d.toLocaleDateString();
}

export { clip, plural, showValue } from '../text.js';

/** A column of a Table. */
export interface Column<R> {
  title: string;
  /** The cell; also the text the filter and the CSV use unless `text` is given. */
  cell: (row: R) => ComponentChildren;
  text?: (row: R) => string;
  align?: 'right';
  class?: string;
}

/**
 * A table that a person can narrow with a filter box (over every column's text) and
 * download as CSV (what is shown, filtered). Wide tables scroll sideways on a phone.
 */
export function Table<R>(props: {
  rows: R[];
  columns: Column<R>[];
  empty?: ComponentChildren;
  filter?: boolean;
  csvName?: string;
  rowKey?: (row: R, i: number) => string | number;
  testid?: string;
}) {
  const [filter, setFilter] = useState('');
  const textOf = (c: Column<R>, r: R) => (c.text ? c.text(r) : cellText(c.cell(r)));
  const shown = useMemo(() => {
    const f = filter.trim().toLowerCase();
    if (!f) return props.rows;
    return props.rows.filter((r) => props.columns.some((c) => textOf(c, r).toLowerCase().includes(f)));
    // textOf only reads props.columns.
  }, [filter, props.rows, props.columns]);
  const download = () => {
    const lines = [
      props.columns.map((c) => c.title),
      ...shown.map((r) => props.columns.map((c) => textOf(c, r))),
    ];
    downloadText(props.csvName ?? 'table.csv', toCsv(lines), 'text/csv;charset=utf-8');
  };
  return (
    <div class="table-block" data-testid={props.testid}>
      {props.filter || props.csvName ? (
        <div class="table-tools">
          {props.filter ? (
            <input
              type="search"
              class="filter"
              placeholder="Filter…"
              aria-label="Filter the table"
              value={filter}
              onInput={(e) => setFilter((e.target as HTMLInputElement).value)}
            />
          ) : null}
          <span class="muted">
            {shown.length === props.rows.length
              ? `${fmtNumber(props.rows.length)} rows`
              : `${fmtNumber(shown.length)} of ${fmtNumber(props.rows.length)} rows`}
          </span>
          {props.csvName ? (
            <button type="button" onClick={download} disabled={shown.length === 0}>
              Download CSV
            </button>
          ) : null}
        </div>
      ) : null}
      {shown.length === 0 ? (
        <p class="muted empty">
          {props.rows.length === 0 ? (props.empty ?? 'Nothing yet.') : 'No row matches the filter.'}
        </p>
      ) : (
        <div class="table-scroll">
          <table>
            <thead>
              <tr>
                {props.columns.map((c) => (
                  <th key={c.title} class={c.align === 'right' ? 'num' : undefined}>
                    {c.title}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {shown.map((r, i) => (
                <tr key={props.rowKey ? props.rowKey(r, i) : i}>
                  {props.columns.map((c) => (
                    <td
                      key={c.title}
                      class={[c.align === 'right' ? 'num' : '', c.class ?? ''].join(' ').trim() || undefined}
                    >
                      {c.cell(r)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

function cellText(node: ComponentChildren): string {
  if (node === null || node === undefined || typeof node === 'boolean') return '';
  if (typeof node === 'string' || typeof node === 'number' || typeof node === 'bigint') return String(node);
  if (Array.isArray(node)) return node.map(cellText).join('');
  const vnode = node as { props?: { children?: ComponentChildren; title?: string } };
  return cellText(vnode.props?.children ?? '');
}

/** RFC 4180 CSV; a cell that a spreadsheet would run as a formula is prefixed with '. */
export function toCsv(lines: string[][]): string {
  const cell = (v: string) => {
    const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
    return /[",\n\r]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
  };
  return `${lines.map((l) => l.map(cell).join(',')).join('\r\n')}\r\n`;
}

/** Saves text as a file in the browser. */
export function downloadText(name: string, text: string | Blob, type = 'text/plain'): void {
  const blob = typeof text === 'string' ? new Blob([text], { type }) : text;
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** A button that copies `text` and says so. */
export function CopyButton(props: { text: string; label?: string }) {
  const [copied, setCopied] = useState<'no' | 'yes' | 'failed'>('no');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.text);
      setCopied('yes');
    } catch {
      // Clipboard access needs a secure context (https or localhost); select the text instead.
      setCopied('failed');
    }
    setTimeout(() => setCopied('no'), 2000);
  };
  return (
    <button type="button" onClick={copy}>
      {copied === 'yes' ? 'Copied' : copied === 'failed' ? 'Copy it by hand' : (props.label ?? 'Copy')}
    </button>
  );
}

/** Label–value pairs. */
export function Facts(props: { items: Array<[ComponentChildren, ComponentChildren]> }) {
  return (
    <dl class="facts">
      {props.items.map(([k, v], i) => (
        <div key={i}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

/** Tabs kept in the route's query (`?tab=`), so a tab can be linked to. */
export function Tabs(props: {
  tabs: Array<[string, string]>;
  current: string;
  onSelect: (id: string) => void;
}) {
  return (
    <div class="tabs" role="tablist">
      {props.tabs.map(([id, label]) => (
        <button
          type="button"
          role="tab"
          key={id}
          aria-selected={props.current === id}
          class={props.current === id ? 'tab active' : 'tab'}
          onClick={() => props.onSelect(id)}
        >
          {label}
        </button>
      ))}
    </div>
  );
}

/** JSON as an indented, read-only block. */
export function JsonView(props: { value: unknown }) {
  return <pre class="json">{JSON.stringify(props.value, null, 2)}</pre>;
}

/** One line of a time chart. */
export interface ChartSeries {
  label: string;
  values: Array<number | null>;
  color: string;
  /** Bars instead of a line (counts per bucket); `stepped` for levels such as stock. */
  style?: 'line' | 'bars' | 'stepped';
}

/**
 * A time chart (uPlot): `x` in epoch seconds, one or more series, with a legend that
 * reads the values under the cursor. It follows the width of its box.
 */
export function TimeChart(props: {
  x: number[];
  series: ChartSeries[];
  height?: number;
  testid?: string;
  yLabel?: string;
}) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const opts: uPlot.Options = {
      width: Math.max(el.clientWidth, 200),
      height: props.height ?? 220,
      scales: {
        // One point alone: uPlot would stretch the axis over years; show the hours around it.
        x: {
          time: true,
          range: (_u, min, max) => {
            const only = props.x.length === 1 ? props.x[0] : undefined;
            return only === undefined ? [min, max] : [only - 3600, only + 3600];
          },
        },
      },
      axes: [{ stroke: 'currentColor' }, { stroke: 'currentColor', label: props.yLabel, size: 56 }],
      series: [
        {},
        ...props.series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 2,
          fill: s.style === 'bars' ? `${s.color}99` : `${s.color}22`,
          paths:
            s.style === 'bars'
              ? uPlot.paths.bars?.({ size: [0.7, 40] })
              : s.style === 'stepped'
                ? uPlot.paths.stepped?.({ align: 1 })
                : undefined,
          points: { show: props.x.length < 60 },
        })),
      ],
    };
    const chart = new uPlot(opts, [props.x, ...props.series.map((s) => s.values)], el);
    const resize = new ResizeObserver(() =>
      chart.setSize({ width: Math.max(el.clientWidth, 200), height: opts.height }),
    );
    resize.observe(el);
    return () => {
      resize.disconnect();
      chart.destroy();
    };
  }, [props.x, props.series, props.height, props.yLabel]);
  if (props.x.length === 0) return <p class="muted empty">No data to chart yet.</p>;
  return <div class="chart" ref={box} data-testid={props.testid} />;
}

/** A form field with its label and an optional hint. */
export function Field(props: { label: string; hint?: ComponentChildren; children: ComponentChildren }) {
  return (
    // biome-ignore lint/a11y/noLabelWithoutControl: the control is the child, which labels it implicitly
    <label class="field">
      <span class="field-label">{props.label}</span>
      {props.children}
      {props.hint ? <span class="hint muted">{props.hint}</span> : null}
    </label>
  );
}
