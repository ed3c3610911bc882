import type { HistoryEvent } from '../../store/history.js';
import type { ImportRun, RowNote } from '../../store/imports.js';
import { qs } from '../api.js';
import { href, setQuery, useRoute } from '../router.js';
import { Card, ErrorBox, fmtNumber, Loaded, Page, Table, Tabs, useApi } from '../ui.js';
import { RunFacts, RunOutcome, RunStatusBadge } from './catalogs.js';
import { EventsTable } from './history.js';

interface RunView {
  run: ImportRun;
  rowErrors: RowNote[];
  rowWarnings: RowNote[];
}

// The API answers row errors in pages; the dashboard reads up to this many at once.
const ROW_NOTES_SHOWN = 10_000;

/** One import run: its counts, its row errors and warnings, and the changes it made. */
export function ImportRunPage(props: { run: number }) {
  const { query } = useRoute();
  const tab = query.get('tab') ?? 'errors';
  const state = useApi<RunView>(
    Number.isInteger(props.run) ? `/imports/${props.run}?errorsLimit=${ROW_NOTES_SHOWN}` : null,
  );
  if (!Number.isInteger(props.run)) return <ErrorBox error="An import run is a number: #/imports/12." />;
  return (
    <Loaded state={state}>
      {(v) => (
        <Page
          title={
            <>
              Import #{v.run.id} <RunStatusBadge run={v.run} />
            </>
          }
          subtitle={
            <>
              Catalog <a href={href('catalogs', v.run.catalog)}>{v.run.catalog}</a> · {v.run.mode} import from{' '}
              <span class="mono">{v.run.source}</span>
            </>
          }
        >
          <Counts run={v.run} onApplied={state.reload} />
          <Tabs
            tabs={[
              ['errors', `Row errors (${fmtNumber(v.run.counts.errors)})`],
              ['warnings', `Warnings (${fmtNumber(v.run.counts.warnings)})`],
              ['changes', 'Changes'],
            ]}
            current={tab}
            onSelect={(t) => setQuery({ tab: t })}
          />
          {tab === 'errors' ? (
            <RowNotes notes={v.rowErrors} total={v.run.counts.errors} run={v.run.id} kind="errors" />
          ) : tab === 'warnings' ? (
            <RowNotes notes={v.rowWarnings} total={v.run.counts.warnings} run={v.run.id} kind="warnings" />
          ) : (
            <Changes run={v.run} />
          )}
        </Page>
      )}
    </Loaded>
  );
}

function Counts(props: { run: ImportRun; onApplied: () => void }) {
  return (
    <Card testid="run-counts">
      <RunFacts run={props.run} big />
      <RunOutcome run={props.run} onApplied={props.onApplied} />
    </Card>
  );
}

function RowNotes(props: { notes: RowNote[]; total: number; run: number; kind: 'errors' | 'warnings' }) {
  return (
    <Card testid={`row-${props.kind}`}>
      {props.total > props.notes.length ? (
        <p class="notice">
          Showing the first {fmtNumber(props.notes.length)} of {fmtNumber(props.total)} {props.kind}.
        </p>
      ) : null}
      <Table
        rows={props.notes}
        filter
        csvName={`import-${props.run}-${props.kind}.csv`}
        empty={props.kind === 'errors' ? 'No row error: every row was valid.' : 'No warning.'}
        columns={[
          { title: 'Line', cell: (n) => String(n.line), align: 'right' },
          { title: 'SKU', cell: (n) => n.sku ?? '', class: 'mono' },
          { title: 'Reason', cell: (n) => n.code, class: 'mono' },
          { title: 'Message', cell: (n) => n.message, class: 'wrap' },
        ]}
      />
    </Card>
  );
}

/** The history events of the run: product created, updated (with fields), removed. */
function Changes(props: { run: ImportRun }) {
  const state = useApi<{ events: HistoryEvent[]; next: number | null }>(
    `/history${qs({ catalog: props.run.catalog, run: props.run.id, limit: 500 })}`,
  );
  return (
    <Card testid="run-changes">
      <Loaded state={state}>
        {(page) => (
          <>
            {page.next ? (
              <p class="notice">
                The first 500 changes;{' '}
                <a href={href('history', { catalog: props.run.catalog, run: String(props.run.id) })}>
                  the history
                </a>{' '}
                has them all.
              </p>
            ) : null}
            <EventsTable events={page.events} />
          </>
        )}
      </Loaded>
    </Card>
  );
}
