import './product.css';
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { ChannelExplanation } from '../../channels/explain.js';
// Runtime import (a constant list): the canonical fields in the order they are shown.
import { CANONICAL_FIELDS } from '../../model/fields.js';
import type { ProductStock } from '../../stock/stock-view.js';
import type { HistoryEvent } from '../../store/history.js';
import type { StoredProduct } from '../../store/products.js';
import { type ApiError, api, qs, seg } from '../api.js';
import { href, setQuery } from '../router.js';
import {
  Badge,
  Card,
  clip,
  ErrorBox,
  Field,
  fmtNumber,
  Loaded,
  Page,
  plural,
  showValue,
  Table,
  Tabs,
  Time,
  toApiError,
  toLocalInput,
  useApi,
} from '../ui.js';
import type { CatalogView } from './catalogs.js';
import { EventsTable } from './history.js';
import { type ChannelView, ExplainPanel, ruleChanges, Verdict } from './product-explain.js';
import { StockCard, stockSentence } from './product-stock.js';

/** GET /api/catalogs/{id}/products/{sku}. */
interface ProductView {
  product: StoredProduct;
  stock?: ProductStock;
  history: HistoryEvent[];
}

type ProductPage = { products: StoredProduct[]; next: string | null; total: number };

// ---------------------------------------------------------------------------------------------
// #/products: search by sku or title, in one catalog or all of them.

/** Products by sku or title, in one catalog or across all. */
export function ProductsPage(props: { query: URLSearchParams }) {
  const catalogs = useApi<{ catalogs: CatalogView[] }>('/catalogs');
  const q = props.query.get('q') ?? '';
  const catalog = props.query.get('catalog') ?? '';
  const [text, setText] = useState(q);
  const [choice, setChoice] = useState(catalog);
  const submit = (e: Event) => {
    e.preventDefault();
    setQuery({ q: text.trim(), catalog: choice, after: undefined });
  };
  return (
    <div class="product-page">
      <Page
        title="Products"
        subtitle="Find a product by sku or title, then see why each channel shows it the way it does."
      >
        <Loaded state={catalogs}>
          {({ catalogs: list }) =>
            list.length === 0 ? (
              <Card>
                <p class="muted">
                  No catalog yet: add a catalog definition to feeds/ and run <code>feedwright apply</code>,
                  then import it.
                </p>
              </Card>
            ) : (
              <>
                <Card testid="product-search">
                  <form class="inline-form" onSubmit={submit}>
                    <Field label="Catalog">
                      <select
                        name="catalog"
                        value={choice}
                        onChange={(e) => setChoice(e.currentTarget.value)}
                      >
                        <option value="">All catalogs</option>
                        {list.map((c) => (
                          <option key={c.id} value={c.id}>
                            {c.definition.name ? `${c.definition.name} (${c.id})` : c.id}
                          </option>
                        ))}
                      </select>
                    </Field>
                    <Field label="SKU or title">
                      <input
                        type="search"
                        name="q"
                        class="grow"
                        placeholder="e.g. woo-hoodie or Hoodie"
                        value={text}
                        onInput={(e) => setText(e.currentTarget.value)}
                      />
                    </Field>
                    <button type="submit" class="primary">
                      Search
                    </button>
                  </form>
                </Card>
                <SearchResults
                  catalogs={catalog ? list.filter((c) => c.id === catalog) : list}
                  q={q}
                  after={props.query.get('after') ?? undefined}
                />
              </>
            )
          }
        </Loaded>
      </Page>
    </div>
  );
}

interface Hit {
  catalog: string;
  product: StoredProduct;
}

/** The matches of every chosen catalog, read side by side. */
function SearchResults(props: { catalogs: CatalogView[]; q: string; after: string | undefined }) {
  const ids = props.catalogs.map((c) => c.id).join(',');
  const one = props.catalogs.length === 1;
  const [state, setState] = useState<{
    pages?: Array<[string, ProductPage]>;
    error?: ApiError;
    loading: boolean;
  }>({
    loading: true,
  });
  useEffect(() => {
    const ctl = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    // One catalog pages with `after`; across catalogs, the first 50 matches of each.
    Promise.all(
      props.catalogs.map(async (c) => {
        const page = await api<ProductPage>(
          `/catalogs/${seg(c.id)}/products${qs({ q: props.q, limit: 50, after: one ? props.after : undefined })}`,
          { signal: ctl.signal },
        );
        return [c.id, page] as [string, ProductPage];
      }),
    ).then(
      (pages) => setState({ pages, loading: false }),
      (err: unknown) => {
        if ((err as Error).name !== 'AbortError') setState({ error: toApiError(err), loading: false });
      },
    );
    return () => ctl.abort();
  }, [ids, props.q, props.after]);
  if (state.error) return <ErrorBox error={state.error} />;
  if (!state.pages) return <p class="muted loading">Searching…</p>;
  const hits: Hit[] = state.pages.flatMap(([catalog, page]) =>
    page.products.map((product) => ({ catalog, product })),
  );
  const exact = props.q ? hits.filter((h) => h.product.sku.toLowerCase() === props.q.toLowerCase()) : [];
  const more = state.pages.filter(([, p]) => p.next !== null).map(([c]) => c);
  const total = state.pages.reduce((n, [, p]) => n + p.total, 0);
  return (
    <Card testid="product-results">
      <p class="muted">
        {props.q
          ? `${fmtNumber(hits.length)}${more.length > 0 ? '+' : ''} ${hits.length === 1 ? 'product matches' : 'products match'} "${props.q}"`
          : plural(total, 'product')}{' '}
        in {one ? `catalog ${props.catalogs[0]?.id}` : `${props.catalogs.length} catalogs`}.
      </p>
      {exact.length > 0 ? (
        <p class="success" data-testid="exact-match">
          SKU{' '}
          {exact.map((h, i) => (
            <span key={`${h.catalog}/${h.product.sku}`}>
              {i > 0 ? ', ' : ''}
              <a href={href('products', h.catalog, h.product.sku)}>
                <strong>{h.product.sku}</strong>
                {one ? '' : ` in ${h.catalog}`}
              </a>
            </span>
          ))}
          : open the product page.
        </p>
      ) : null}
      <Table
        testid="products-found"
        rows={hits}
        rowKey={(h) => `${h.catalog}/${h.product.sku}`}
        empty={
          props.q ? `No product's sku or title contains "${props.q}".` : 'No product in this catalog yet.'
        }
        columns={[
          {
            title: 'SKU',
            cell: (h) => <a href={href('products', h.catalog, h.product.sku)}>{h.product.sku}</a>,
            text: (h) => h.product.sku,
            class: 'nowrap',
          },
          ...(one ? [] : [{ title: 'Catalog', cell: (h: Hit) => h.catalog }]),
          { title: 'Title', cell: (h) => showValue(h.product.fields.title), class: 'wrap' },
          { title: 'Price', cell: (h) => showValue(h.product.fields.price), align: 'right' },
          {
            title: 'Imported qty',
            cell: (h) =>
              typeof h.product.fields.quantity === 'number' ? (
                fmtNumber(h.product.fields.quantity)
              ) : (
                <span class="muted">not managed</span>
              ),
            align: 'right',
          },
          {
            title: 'Status',
            cell: (h) => (h.product.fields.status ? <Badge value={String(h.product.fields.status)} /> : ''),
          },
        ]}
      />
      <div class="actions">
        {one && props.after ? (
          <button type="button" onClick={() => setQuery({ after: undefined })}>
            First page
          </button>
        ) : null}
        {one && state.pages[0]?.[1].next ? (
          <button type="button" onClick={() => setQuery({ after: state.pages?.[0]?.[1].next ?? undefined })}>
            Next page
          </button>
        ) : null}
        {!one && more.length > 0 ? (
          <span class="muted small">
            More matches in {more.join(', ')}: choose the catalog or narrow the search.
          </span>
        ) : null}
      </div>
    </Card>
  );
}

// ---------------------------------------------------------------------------------------------
// #/products/<catalog>/<sku>

type Explained = { data?: ChannelExplanation; error?: ApiError };

/** The explanation of one sku in each channel, read side by side. */
function useExplanations(channels: ChannelView[] | undefined, sku: string, at: string | undefined) {
  const [state, setState] = useState<{ map: Map<string, Explained>; loading: boolean }>({
    map: new Map(),
    loading: true,
  });
  const [tick, setTick] = useState(0);
  const ids = channels?.map((c) => c.id).join(',');
  useEffect(() => {
    if (!channels) return;
    void tick;
    const ctl = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    Promise.all(
      channels.map(async (c): Promise<[string, Explained]> => {
        try {
          const data = await api<ChannelExplanation>(
            `/channels/${seg(c.id)}/explain/${seg(sku)}${qs({ at })}`,
            {
              signal: ctl.signal,
            },
          );
          return [c.id, { data }];
        } catch (err) {
          if ((err as Error).name === 'AbortError') throw err;
          return [c.id, { error: toApiError(err) }];
        }
      }),
    ).then(
      (entries) => setState({ map: new Map(entries), loading: false }),
      () => {},
    );
    return () => ctl.abort();
  }, [ids, sku, at, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}

/** One product: its channels' verdicts, the rule trace and feed row per channel, its stock and values. */
export function ProductPage(props: { catalog: string; sku: string; query: URLSearchParams }) {
  const { catalog, sku, query } = props;
  const state = useApi<ProductView>(`/catalogs/${seg(catalog)}/products/${seg(sku)}`);
  const channelState = useApi<{ channels: ChannelView[] }>('/channels');
  const channels = useMemo(
    () => channelState.data?.channels.filter((c) => c.catalog === catalog),
    [channelState.data, catalog],
  );
  const at = query.get('at') ?? undefined;
  const explained = useExplanations(state.data ? channels : undefined, sku, at);
  const back = (
    <p>
      <a href={href('products', { catalog })}>Search the products of {catalog}</a>
    </p>
  );
  if (state.error) {
    return (
      <div class="product-page">
        <Page title={sku} subtitle={<>Catalog {catalog}</>}>
          <ErrorBox error={state.error} onRetry={state.reload} />
          {back}
        </Page>
      </div>
    );
  }
  return (
    <div class="product-page">
      <Loaded state={state}>
        {(v) => (
          <Page
            title={showValue(v.product.fields.title ?? v.product.sku)}
            subtitle={
              <>
                SKU <span class="mono">{v.product.sku}</span> · catalog{' '}
                <a href={href('catalogs', catalog)}>{catalog}</a>
                {v.product.lastRun !== null ? (
                  <>
                    {' '}
                    · last changed by{' '}
                    <a href={href('imports', v.product.lastRun)}>import #{v.product.lastRun}</a>{' '}
                    <Time at={v.product.updatedAt} />
                  </>
                ) : null}
              </>
            }
            actions={
              <a class="button" href={href('history', { catalog, sku })}>
                Full history
              </a>
            }
          >
            <Glance
              view={v}
              channels={channels}
              channelsError={channelState.error}
              explained={explained.map}
              loading={explained.loading}
              at={at}
            />
            <ChannelsCard
              channels={channels}
              explained={explained.map}
              loading={explained.loading || channelState.loading}
              at={at}
              current={query.get('channel') ?? undefined}
              stock={v.stock}
              onReload={explained.reload}
            />
            <StockCard catalog={catalog} sku={sku} stock={v.stock} />
            <ImportedCard product={v.product} />
            <Card
              title="History"
              testid="product-history"
              actions={<a href={href('history', { catalog, sku })}>All events of this sku</a>}
            >
              <p class="muted small">
                {v.history.length === 1
                  ? 'The one event'
                  : `The ${fmtNumber(v.history.length)} newest events`}{' '}
                of this sku: imports that changed it, sales and returns.
              </p>
              <EventsTable events={v.history} testid="product-events" />
            </Card>
          </Page>
        )}
      </Loaded>
    </div>
  );
}

/** The short answer: the stock in one sentence, and per channel in the feed or not, and with what. */
function Glance(props: {
  view: ProductView;
  channels: ChannelView[] | undefined;
  channelsError: ApiError | undefined;
  explained: Map<string, Explained>;
  loading: boolean;
  at: string | undefined;
}) {
  const { view, channels } = props;
  return (
    <Card testid="product-glance" class="glance">
      {view.stock ? <p class="lead">{stockSentence(view.stock)}</p> : null}
      {props.at ? (
        <p class="notice">
          The channels below are explained at {new Date(props.at).toLocaleString()}, not now.
        </p>
      ) : null}
      {props.channelsError ? <ErrorBox error={props.channelsError} /> : null}
      {channels && channels.length === 0 ? (
        <p class="muted">
          No channel publishes this catalog yet: add a channel definition to feeds/ to send its products to a
          marketplace.
        </p>
      ) : null}
      {channels && channels.length > 0 ? (
        <ul class="verdicts" data-testid="channel-verdicts">
          {channels.map((c) => (
            <li key={c.id} class="verdict-row" data-testid={`verdict-${c.id}`}>
              <button type="button" class="link channel-name" onClick={() => selectChannel(c.id)}>
                {c.definition.name ?? c.id}
              </button>
              <VerdictLine explained={props.explained.get(c.id)} loading={props.loading} />
            </li>
          ))}
        </ul>
      ) : null}
    </Card>
  );
}

/** In the feed or not, the quantity the channel shows, and what its rules changed. */
function VerdictLine(props: { explained: Explained | undefined; loading: boolean }) {
  const x = props.explained;
  if (x?.error) return <Badge value="cannot explain" tone="bad" />;
  const d = x?.data;
  if (!d) return <span class="muted">{props.loading ? 'Explaining…' : '–'}</span>;
  const q = d.product.fields.quantity;
  const changes = ruleChanges(d);
  return (
    <>
      <Verdict explanation={d} />
      <span class="verdict-quantity">
        {!d.included ? null : typeof q === 'number' ? (
          <>
            shows <strong>{fmtNumber(q)}</strong> in stock
          </>
        ) : (
          <span class="muted">stock not managed</span>
        )}
      </span>
      <span class="verdict-why">
        {!d.included ? (
          (d.excludedBy?.reason ?? d.summary)
        ) : changes.length === 0 ? (
          <span class="muted">the rules changed nothing</span>
        ) : (
          changes.map((ch, i) => (
            <span key={ch.field}>
              {i > 0 ? '; ' : ''}
              <code>{ch.field}</code> {short(ch.before)} → {short(ch.after)}
            </span>
          ))
        )}
      </span>
    </>
  );
}

function short(v: unknown): string {
  if (v === undefined) return 'missing';
  return clip(showValue(v), 30);
}

function selectChannel(id: string): void {
  setQuery({ channel: id });
  document.getElementById('channels-card')?.scrollIntoView({ behavior: 'smooth', block: 'start' });
}

/** Per channel, in tabs: the explain trace and the feed row. */
function ChannelsCard(props: {
  channels: ChannelView[] | undefined;
  explained: Map<string, Explained>;
  loading: boolean;
  at: string | undefined;
  current: string | undefined;
  stock: ProductStock | undefined;
  onReload: () => void;
}) {
  const channels = props.channels ?? [];
  const current = channels.find((c) => c.id === props.current) ?? channels[0];
  const x = current ? props.explained.get(current.id) : undefined;
  return (
    <div id="channels-card">
      <Card
        title="Why it looks like this on each channel"
        testid="product-channels"
        actions={<AtPicker at={props.at} />}
      >
        {channels.length === 0 ? (
          <p class="muted">{props.loading ? 'Loading…' : 'No channel publishes this catalog.'}</p>
        ) : (
          <>
            <Tabs
              tabs={channels.map((c) => {
                const d = props.explained.get(c.id)?.data;
                const mark = d ? (d.included ? ' ✓' : ' ✗') : '';
                return [c.id, `${c.definition.name ?? c.id}${mark}`];
              })}
              current={current?.id ?? ''}
              onSelect={(id) => setQuery({ channel: id })}
            />
            {x?.error ? (
              <ErrorBox error={x.error} onRetry={props.onReload} />
            ) : x?.data && current ? (
              <ExplainPanel channel={current} explanation={x.data} stock={props.stock} />
            ) : (
              <p class="muted loading">Loading…</p>
            )}
          </>
        )}
      </Card>
    </div>
  );
}

/** "Explain at": now, or another instant (a rule's time window opens later). */
function AtPicker(props: { at: string | undefined }) {
  const [value, setValue] = useState(props.at ? toLocalInput(props.at) : '');
  return (
    <form
      class="inline-form at-picker"
      onSubmit={(e) => {
        e.preventDefault();
        const d = value ? new Date(value) : undefined;
        setQuery({ at: d && !Number.isNaN(d.getTime()) ? d.toISOString() : undefined });
      }}
    >
      <label>
        <span class="small muted">Explain at</span>{' '}
        <input
          type="datetime-local"
          name="at"
          value={value}
          onInput={(e) => setValue(e.currentTarget.value)}
          aria-label="Explain at this time (empty: now)"
        />
      </label>
      <button type="submit">Explain</button>
      {props.at ? (
        <button
          type="button"
          onClick={() => {
            setValue('');
            setQuery({ at: undefined });
          }}
        >
          Now
        </button>
      ) : null}
    </form>
  );
}

/** The values the last import stored: canonical fields in their order, then the source's other columns. */
function ImportedCard(props: { product: StoredProduct }) {
  const p = props.product;
  const known = new Set<string>(CANONICAL_FIELDS);
  const fieldRows = [
    ...CANONICAL_FIELDS.filter((f) => Object.hasOwn(p.fields, f)).map((f) => ({
      name: f,
      value: p.fields[f],
    })),
    ...Object.keys(p.fields)
      .filter((f) => !known.has(f))
      .sort()
      .map((f) => ({ name: f, value: p.fields[f] })),
  ];
  const attributeRows = Object.keys(p.attributes)
    .sort((a, b) => a.localeCompare(b))
    .map((name) => ({ name, value: p.attributes[name] }));
  return (
    <Card
      title="Imported values"
      testid="imported"
      actions={
        p.lastRun !== null ? (
          <span class="muted small">
            Last changed by <a href={href('imports', p.lastRun)}>import #{p.lastRun}</a>{' '}
            <Time at={p.updatedAt} />; first imported <Time at={p.createdAt} />
          </span>
        ) : null
      }
    >
      <p class="muted small">
        As the catalog's last import stored them, before any rule. Quantity is the imported quantity; channels
        see the effective stock.
      </p>
      <div class="grid">
        <div>
          <h3>Fields</h3>
          <Table
            testid="imported-fields"
            rows={fieldRows}
            rowKey={(r) => r.name}
            columns={[
              { title: 'Field', cell: (r) => <code>{r.name}</code>, text: (r) => r.name },
              {
                title: 'Value',
                cell: (r) => <ImportedValue v={r.value} />,
                text: (r) => showValue(r.value),
                class: 'wrap',
              },
            ]}
          />
        </div>
        <div>
          <h3>Attributes</h3>
          <Table
            testid="imported-attributes"
            rows={attributeRows}
            rowKey={(r) => r.name}
            filter={attributeRows.length > 12}
            empty="The source has no other column."
            columns={[
              { title: 'Column', cell: (r) => <code>{r.name}</code>, text: (r) => r.name },
              {
                title: 'Value',
                cell: (r) => <ImportedValue v={r.value} />,
                text: (r) => showValue(r.value),
                class: 'wrap',
              },
            ]}
          />
        </div>
      </div>
    </Card>
  );
}

function ImportedValue(props: { v: unknown }) {
  const v = props.v;
  if (v === null || v === undefined || v === '') return <em class="muted">empty</em>;
  if (typeof v === 'string' && v.length > 240) {
    return (
      <details>
        <summary>{v.slice(0, 120)}…</summary>
        {v}
      </details>
    );
  }
  if (typeof v === 'boolean') return <span class="mono">{String(v)}</span>;
  return <span>{typeof v === 'object' ? JSON.stringify(v) : String(v)}</span>;
}
