import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import type { HistoryEvent, HistoryType } from '../../store/history.js';
import { isRecord, short, summarizeEvent } from '../../text.js';
import { qs } from '../api.js';
import { href, setQuery } from '../router.js';
import { Badge, Card, Field, Loaded, Page, Table, Time, useApi } from '../ui.js';

// Every type the history holds, for the filter (the compiler checks the list is whole).
const TYPES: Record<HistoryType, true> = {
  'catalog.created': true,
  'catalog.updated': true,
  'import.started': true,
  'import.applied': true,
  'import.held': true,
  'import.failed': true,
  'import.not_modified': true,
  'import.skipped': true,
  'product.created': true,
  'product.updated': true,
  'product.removed': true,
  'rules.created': true,
  'rules.updated': true,
  'channel.created': true,
  'channel.updated': true,
  'channel.token_rotated': true,
  'publication.published': true,
  'publication.failed': true,
  'order.reported': true,
  'stock.moved': true,
  'stock.oversold': true,
  'stock.reconciled': true,
  'stock.adjusted': true,
};
const FAMILIES = ['catalog', 'import', 'product', 'rules', 'channel', 'publication', 'order', 'stock'];

const FILTERS = ['catalog', 'channel', 'sku', 'type', 'since', 'run'] as const;

/** The unified history with its filters (catalog, channel, sku, type, since), newest first. */
export function HistoryPage(props: { query: URLSearchParams }) {
  const filters = Object.fromEntries(FILTERS.map((f) => [f, props.query.get(f) ?? ''])) as Record<
    (typeof FILTERS)[number],
    string
  >;
  const before = props.query.get('before') ?? '';
  const [draft, setDraft] = useState(filters);
  const sinceIso = filters.since ? new Date(filters.since).toISOString() : undefined;
  const state = useApi<{ events: HistoryEvent[]; next: number | null }>(
    `/history${qs({ ...filters, since: sinceIso, before, limit: 100 })}`,
  );
  const apply = (e: Event) => {
    e.preventDefault();
    setQuery({ ...draft, before: undefined });
  };
  return (
    <Page title="History" subtitle="Every change feedwright made or saw, newest first.">
      <Card>
        <form class="inline-form" onSubmit={apply} data-testid="history-filters">
          <Field label="Catalog">
            <input
              name="catalog"
              value={draft.catalog}
              onInput={(e) => setDraft({ ...draft, catalog: e.currentTarget.value })}
            />
          </Field>
          <Field label="Channel">
            <input
              name="channel"
              value={draft.channel}
              onInput={(e) => setDraft({ ...draft, channel: e.currentTarget.value })}
            />
          </Field>
          <Field label="SKU">
            <input
              name="sku"
              value={draft.sku}
              onInput={(e) => setDraft({ ...draft, sku: e.currentTarget.value })}
            />
          </Field>
          <Field label="Type">
            <select
              name="type"
              value={draft.type}
              onChange={(e) => setDraft({ ...draft, type: e.currentTarget.value })}
            >
              <option value="">any</option>
              {FAMILIES.map((f) => (
                <optgroup key={f} label={f}>
                  <option value={f}>{f}.*</option>
                  {Object.keys(TYPES)
                    .filter((t) => t.startsWith(`${f}.`))
                    .map((t) => (
                      <option key={t} value={t}>
                        {t}
                      </option>
                    ))}
                </optgroup>
              ))}
            </select>
          </Field>
          <Field label="Since">
            <input
              type="datetime-local"
              name="since"
              value={draft.since}
              onInput={(e) => setDraft({ ...draft, since: e.currentTarget.value })}
            />
          </Field>
          <button type="submit" class="primary">
            Filter
          </button>
          <button
            type="button"
            onClick={() => {
              const empty = Object.fromEntries(FILTERS.map((f) => [f, ''])) as typeof draft;
              setDraft(empty);
              setQuery({ ...empty, before: undefined });
            }}
          >
            Clear
          </button>
        </form>
        {filters.run ? (
          <p class="muted">
            Only the events of import <a href={href('imports', filters.run)}>#{filters.run}</a>.
          </p>
        ) : null}
      </Card>
      <Card>
        <Loaded state={state}>
          {(page) => (
            <>
              <EventsTable events={page.events} />
              <div class="actions">
                {before ? (
                  <button type="button" onClick={() => setQuery({ before: undefined })}>
                    Newest
                  </button>
                ) : null}
                {page.next ? (
                  <button type="button" onClick={() => setQuery({ before: String(page.next) })}>
                    Older
                  </button>
                ) : null}
              </div>
            </>
          )}
        </Loaded>
      </Card>
    </Page>
  );
}

/** History events as a table: when, what, where (catalog, channel, sku, run) and a summary. */
export function EventsTable(props: { events: HistoryEvent[]; testid?: string }) {
  return (
    <Table
      testid={props.testid ?? 'events'}
      rows={props.events}
      rowKey={(e) => e.id}
      filter
      csvName="history.csv"
      empty="No event matches."
      columns={[
        { title: 'When', cell: (e) => <Time at={e.at} />, text: (e) => e.at },
        {
          title: 'Event',
          cell: (e) => <Badge value={e.type} tone={toneOfEvent(e.type)} />,
          text: (e) => e.type,
        },
        {
          title: 'Where',
          cell: (e) => <Where event={e} />,
          text: (e) =>
            [e.catalog, e.channel, e.sku, e.run === null ? null : `#${e.run}`].filter(Boolean).join(' '),
        },
        { title: 'What', cell: (e) => <Summary event={e} />, text: (e) => summarizeEvent(e), class: 'wrap' },
        { title: 'By', cell: (e) => e.actor ?? '' },
      ]}
    />
  );
}

function toneOfEvent(type: string): 'ok' | 'warn' | 'bad' | 'info' | 'muted' {
  if (/failed|oversold|removed/.test(type)) return 'bad';
  if (/held|skipped|not_modified|token_rotated/.test(type)) return 'warn';
  if (/applied|published|created/.test(type)) return 'ok';
  return 'info';
}

function Where(props: { event: HistoryEvent }) {
  const e = props.event;
  const parts: ComponentChildren[] = [];
  if (e.catalog) parts.push(<a href={href('catalogs', e.catalog)}>{e.catalog}</a>);
  if (e.channel) parts.push(<a href={href('channels', e.channel)}>{e.channel}</a>);
  if (e.sku && e.catalog) parts.push(<a href={href('products', e.catalog, e.sku)}>{e.sku}</a>);
  else if (e.sku) parts.push(<span>{e.sku}</span>);
  if (e.run !== null) parts.push(<a href={href('imports', e.run)}>#{e.run}</a>);
  if (e.type.startsWith('rules.') && typeof e.data.ruleSet === 'string') {
    parts.push(<a href={href('rules', e.data.ruleSet)}>{e.data.ruleSet}</a>);
  }
  return (
    <span class="where">
      {parts.map((p, i) => (
        <span key={i}>
          {i > 0 ? ' · ' : ''}
          {p}
        </span>
      ))}
    </span>
  );
}

function Summary(props: { event: HistoryEvent }) {
  const e = props.event;
  const d = e.data;
  if (e.type === 'product.updated' && isRecord(d.changes)) {
    return (
      <span>
        {Object.entries(d.changes as Record<string, { before: unknown; after: unknown }>).map(([k, v], i) => (
          <span key={k}>
            {i > 0 ? '; ' : ''}
            <strong>{k}</strong>: <span class="removed">{short(v.before)}</span> →{' '}
            <span class="added">{short(v.after)}</span>
          </span>
        ))}
      </span>
    );
  }
  return <span>{summarizeEvent(e)}</span>;
}
