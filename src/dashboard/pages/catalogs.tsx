import type { ComponentChildren } from 'preact';
import { useMemo, useState } from 'preact/hooks';
import type { StoredCatalog } from '../../store/catalogs.js';
import type { ImportRun } from '../../store/imports.js';
import type { StoredProduct } from '../../store/products.js';
import { numberFormatText, runStatusText } from '../../text.js';
import { api, qs, seg } from '../api.js';
import { href, setQuery, useRoute } from '../router.js';
import {
  Badge,
  Card,
  type ChartSeries,
  ErrorBox,
  Facts,
  Field,
  fmtDuration,
  fmtNumber,
  Loaded,
  Page,
  showValue,
  Table,
  Time,
  TimeChart,
  useAction,
  useApi,
} from '../ui.js';

/** A catalog as GET /api/catalogs answers it. */
export type CatalogView = StoredCatalog & { lastImport: ImportRun | null };

/** Where a catalog's feed comes from, in a few words. */
export function sourceText(c: CatalogView): string {
  const src = c.definition.source as { file?: string; url?: string } | undefined;
  if (src?.url) return src.url;
  if (src?.file) return src.file;
  return 'uploads only';
}

/** Created · updated · removed · errors of a run, as one short line. */
export function RunCounts(props: { run: ImportRun }) {
  const c = props.run.counts;
  return (
    <span>
      {fmtNumber(c.rows)} rows · {fmtNumber(c.created)} created · {fmtNumber(c.updated)} updated ·{' '}
      {fmtNumber(c.removed)} removed
      {c.errors > 0 ? (
        <>
          {' '}
          · <span class="removed-count">{fmtNumber(c.errors)} errors</span>
        </>
      ) : null}
      {c.kept > 0 ? <> · {fmtNumber(c.kept)} kept as they were</> : null}
    </span>
  );
}

/**
 * A run's status: an applied run with row errors is a warning, not a plain success (its bad
 * rows were left out, or their products kept as they were).
 */
export function RunStatusBadge(props: { run: ImportRun }) {
  const shown = runStatusText(props.run);
  return <Badge value={shown} {...(shown === props.run.status ? {} : { tone: 'warn' as const })} />;
}

/** Every catalog with its source, schedule and last import. */
export function CatalogsPage() {
  const state = useApi<{ catalogs: CatalogView[] }>('/catalogs');
  return (
    <Page title="Catalogs" subtitle="The merchant feeds feedwright imports, and how their last import went.">
      <Loaded state={state}>
        {({ catalogs }) => (
          <Card>
            <Table
              testid="catalogs"
              rows={catalogs}
              rowKey={(c) => c.id}
              empty="No catalog yet: add a catalog definition to feeds/ and run feedwright apply, or PUT /api/catalogs/{id}."
              columns={[
                {
                  title: 'Catalog',
                  cell: (c) => (
                    <>
                      <a href={href('catalogs', c.id)}>{c.definition.name ?? c.id}</a>
                      <div class="muted mono">{c.id}</div>
                    </>
                  ),
                },
                { title: 'Source', cell: (c) => <span class="mono">{sourceText(c)}</span>, class: 'wrap' },
                { title: 'Schedule', cell: (c) => c.definition.schedule ?? <span class="muted">none</span> },
                {
                  title: 'Last import',
                  cell: (c) =>
                    c.lastImport ? (
                      <>
                        <a href={href('imports', c.lastImport.id)}>
                          <RunStatusBadge run={c.lastImport} />
                        </a>{' '}
                        <Time at={c.lastImport.startedAt} />
                        <div class="muted">
                          <RunCounts run={c.lastImport} /> · {fmtDuration(c.lastImport.durationMs)}
                        </div>
                      </>
                    ) : (
                      <span class="muted">never imported</span>
                    ),
                },
              ]}
            />
          </Card>
        )}
      </Loaded>
    </Page>
  );
}

/** One catalog: its definition, its imports over time, an upload, and its products. */
export function CatalogPage(props: { id: string }) {
  const catalog = useApi<CatalogView>(`/catalogs/${seg(props.id)}`);
  const runs = useApi<{ runs: ImportRun[] }>(`/catalogs/${seg(props.id)}/imports?limit=100`);
  const reload = () => {
    catalog.reload();
    runs.reload();
  };
  return (
    <Loaded state={catalog}>
      {(c) => (
        <Page
          title={c.definition.name ?? c.id}
          subtitle={
            <>
              <span class="mono">{c.id}</span> · definition version {c.version} from {c.origin}
            </>
          }
        >
          <Card title="Definition">
            <Facts
              items={[
                ['Source', <span class="mono">{sourceText(c)}</span>],
                ['Format', c.definition.format ?? 'detected'],
                ['Preset', c.definition.preset ?? 'none'],
                ['Schedule', c.definition.schedule ?? 'none (uploads and manual imports)'],
                [
                  'Safety',
                  `hold when more than ${c.definition.safety?.maxDropPercent ?? 50} % would be removed, or more than ${c.definition.safety?.maxErrorPercent ?? 20} % of the rows are invalid`,
                ],
                ['Updated', <Time at={c.updatedAt} />],
              ]}
            />
          </Card>
          {c.lastImport ? <LastImport run={c.lastImport} onApplied={reload} /> : null}
          <ImportForm catalog={c} onDone={reload} />
          <Card title="Imports over time">
            <Loaded state={runs}>{(r) => <ImportsChart runs={r.runs} />}</Loaded>
          </Card>
          <Card title="Import history">
            <Loaded state={runs}>{(r) => <RunsTable runs={r.runs} />}</Loaded>
          </Card>
          {/* A new import changes the products: read them again. */}
          <ProductsCard key={c.lastImport?.id ?? 0} catalog={c.id} />
        </Page>
      )}
    </Loaded>
  );
}

/** The last import, and for a held one why it was held and a button to apply it anyway. */
function LastImport(props: { run: ImportRun; onApplied: () => void }) {
  const { run } = props;
  return (
    <Card
      testid="last-import"
      title={
        <>
          Last import <a href={href('imports', run.id)}>#{run.id}</a> <RunStatusBadge run={run} />
        </>
      }
    >
      <RunFacts run={run} />
      <RunOutcome run={run} onApplied={props.onApplied} />
    </Card>
  );
}

/** A run's counts, time, duration and author; `big` shows the counts large (the run's page). */
export function RunFacts(props: { run: ImportRun; big?: boolean }) {
  const { run } = props;
  const n = (v: number) => (props.big ? <span class="big">{fmtNumber(v)}</span> : fmtNumber(v));
  const numbers = run.numberFormat ? numberFormatText(run.numberFormat) : undefined;
  const extra: Array<[ComponentChildren, ComponentChildren]> = [];
  if (run.counts.kept > 0) extra.push(['Kept as they were', n(run.counts.kept)]);
  if (numbers) extra.push(['Numbers', numbers]);
  return (
    <Facts
      items={[
        ['Rows', n(run.counts.rows)],
        ['Valid', n(run.counts.valid)],
        ['Created', n(run.counts.created)],
        ['Updated', n(run.counts.updated)],
        ['Unchanged', n(run.counts.unchanged)],
        ['Removed', n(run.counts.removed)],
        ['Row errors', n(run.counts.errors)],
        ...extra,
        ['Started', <Time at={run.startedAt} />],
        ['Duration', fmtDuration(run.durationMs)],
        ['By', run.actor],
      ]}
    />
  );
}

/** Why a held run was held, with *Apply anyway* while it can be; a failed run's reason. */
export function RunOutcome(props: { run: ImportRun; onApplied: () => void }) {
  const { run } = props;
  const apply = useAction(async () => {
    await api(`/imports/${run.id}/apply`, { method: 'POST' });
    props.onApplied();
  });
  return (
    <>
      {run.status === 'held' ? (
        <div class="notice" data-testid="held-reasons">
          <strong>Held, the catalog was not changed:</strong>
          <ul>
            {run.heldReasons.map((r) => (
              <li key={r.code}>{r.message}</li>
            ))}
          </ul>
          {run.applicable ? (
            <button type="button" class="danger" disabled={apply.busy} onClick={() => apply.run()}>
              {apply.busy ? 'Applying…' : 'Apply anyway'}
            </button>
          ) : (
            <p class="muted">A later import replaced this one; it can no longer be applied.</p>
          )}
          {apply.error ? <ErrorBox error={apply.error} /> : null}
        </div>
      ) : null}
      {run.failure ? <ErrorBox error={run.failure} /> : null}
    </>
  );
}

/** Upload a feed file, or fetch the linked source now. */
function ImportForm(props: { catalog: CatalogView; onDone: () => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [partial, setPartial] = useState(false);
  const [force, setForce] = useState(false);
  const linked = Boolean(
    (props.catalog.definition.source as { url?: string; file?: string } | undefined)?.url,
  );
  const hasSource = Boolean(
    (props.catalog.definition.source as { url?: string; file?: string } | undefined)?.url ||
      (props.catalog.definition.source as { url?: string; file?: string } | undefined)?.file,
  );
  const start = useAction(async (withFile: File | null) => {
    const query = qs({
      mode: partial ? 'partial' : undefined,
      force: force || undefined,
      name: withFile?.name,
    });
    const res = await api<{ run: ImportRun }>(`/catalogs/${seg(props.catalog.id)}/imports${query}`, {
      method: 'POST',
      ...(withFile ? { body: withFile, contentType: withFile.type || 'application/octet-stream' } : {}),
    });
    return res.run;
  });
  const [lastRun, setLastRun] = useState<ImportRun>();
  const submit = async (withFile: File | null) => {
    const run = await start.run(withFile);
    if (run) {
      setLastRun(run);
      props.onDone();
    }
  };
  return (
    <Card title="Import now" testid="import-form">
      <form
        class="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          void submit(file);
        }}
      >
        <Field label="Feed file" hint="CSV, TSV, XML, JSON or NDJSON, gzipped or not">
          <input type="file" name="feed" onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)} />
        </Field>
        <label>
          <input type="checkbox" checked={partial} onChange={(e) => setPartial(e.currentTarget.checked)} />{' '}
          Partial (update the listed skus only, remove nothing)
        </label>
        <label>
          <input type="checkbox" checked={force} onChange={(e) => setForce(e.currentTarget.checked)} /> Force
          (apply even if the safety gate would hold it)
        </label>
        <button type="submit" class="primary" disabled={!file || start.busy}>
          {start.busy ? 'Importing…' : 'Upload and import'}
        </button>
        {hasSource ? (
          <button type="button" disabled={start.busy} onClick={() => void submit(null)}>
            {linked ? 'Fetch the linked URL now' : 'Import the source file now'}
          </button>
        ) : null}
      </form>
      {start.error ? <ErrorBox error={start.error} /> : null}
      {lastRun ? (
        <p
          class={lastRun.status === 'applied' && lastRun.counts.errors === 0 ? 'success' : 'notice'}
          data-testid="import-result"
        >
          Import <a href={href('imports', lastRun.id)}>#{lastRun.id}</a> <RunStatusBadge run={lastRun} />:{' '}
          <RunCounts run={lastRun} />. <a href={href('imports', lastRun.id)}>See the run</a>
        </p>
      ) : null}
    </Card>
  );
}

/** Rows and errors per import, over time (oldest left). */
function ImportsChart(props: { runs: ImportRun[] }) {
  const { x, series } = useMemo(() => {
    const ordered = [...props.runs].filter((r) => r.status !== 'running').reverse();
    const s: ChartSeries[] = [
      { label: 'rows', values: ordered.map((r) => r.counts.rows), color: '#2456c9' },
      { label: 'valid', values: ordered.map((r) => r.counts.valid), color: '#1d7a46' },
      { label: 'errors', values: ordered.map((r) => r.counts.errors), color: '#b3261e' },
    ];
    return { x: ordered.map((r) => Date.parse(r.startedAt) / 1000), series: s };
  }, [props.runs]);
  return <TimeChart x={x} series={series} testid="imports-chart" />;
}

/** A catalog's import runs. */
export function RunsTable(props: { runs: ImportRun[] }) {
  return (
    <Table
      testid="runs"
      rows={props.runs}
      rowKey={(r) => r.id}
      filter
      empty="No import yet."
      columns={[
        { title: 'Run', cell: (r) => <a href={href('imports', r.id)}>#{r.id}</a>, text: (r) => String(r.id) },
        {
          title: 'Status',
          cell: (r) => <RunStatusBadge run={r} />,
          text: (r) => runStatusText(r),
        },
        { title: 'Started', cell: (r) => <Time at={r.startedAt} />, text: (r) => r.startedAt },
        { title: 'Rows', cell: (r) => fmtNumber(r.counts.rows), align: 'right' },
        { title: 'Created', cell: (r) => fmtNumber(r.counts.created), align: 'right' },
        { title: 'Updated', cell: (r) => fmtNumber(r.counts.updated), align: 'right' },
        { title: 'Removed', cell: (r) => fmtNumber(r.counts.removed), align: 'right' },
        { title: 'Errors', cell: (r) => fmtNumber(r.counts.errors), align: 'right' },
        { title: 'Duration', cell: (r) => fmtDuration(r.durationMs), align: 'right' },
        { title: 'By', cell: (r) => r.actor },
      ]}
    />
  );
}

/** The catalog's products, searchable by sku or title, paged. */
function ProductsCard(props: { catalog: string }) {
  const { query } = useRoute();
  const q = query.get('q') ?? '';
  const after = query.get('after') ?? undefined;
  const [text, setText] = useState(q);
  const state = useApi<{ products: StoredProduct[]; next: string | null; total: number }>(
    `/catalogs/${seg(props.catalog)}/products${qs({ q, after, limit: 50 })}`,
  );
  return (
    <Card title="Products" testid="products">
      <form
        class="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          setQuery({ q: text.trim(), after: undefined });
        }}
      >
        <input
          type="search"
          name="q"
          placeholder="Search by sku or title"
          aria-label="Search products"
          value={text}
          onInput={(e) => setText(e.currentTarget.value)}
        />
        <button type="submit">Search</button>
      </form>
      <Loaded state={state}>
        {(page) => (
          <>
            <p class="muted">
              {fmtNumber(page.total)} products in the catalog{q ? `; showing those matching "${q}"` : ''}.
            </p>
            <Table
              rows={page.products}
              rowKey={(p) => p.sku}
              empty="No product matches."
              columns={[
                {
                  title: 'SKU',
                  cell: (p) => <a href={href('products', props.catalog, p.sku)}>{p.sku}</a>,
                  text: (p) => p.sku,
                },
                { title: 'Title', cell: (p) => showValue(p.fields.title), class: 'wrap' },
                { title: 'Price', cell: (p) => showValue(p.fields.price), align: 'right' },
                {
                  title: 'Quantity',
                  cell: (p) =>
                    p.fields.quantity === null || p.fields.quantity === undefined ? (
                      <span class="muted">not managed</span>
                    ) : (
                      showValue(p.fields.quantity)
                    ),
                  align: 'right',
                },
                { title: 'Updated', cell: (p) => <Time at={p.updatedAt} />, text: (p) => p.updatedAt },
              ]}
            />
            <div class="actions">
              {after ? (
                <button type="button" onClick={() => setQuery({ after: undefined })}>
                  First page
                </button>
              ) : null}
              {page.next ? (
                <button type="button" onClick={() => setQuery({ after: page.next ?? undefined })}>
                  Next page
                </button>
              ) : null}
            </div>
          </>
        )}
      </Loaded>
    </Card>
  );
}
