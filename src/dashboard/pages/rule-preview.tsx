import type { ComponentChildren } from 'preact';
import { useMemo, useState } from 'preact/hooks';
import type { ChannelPreview, FeedRow } from '../../channels/explain.js';
import type { PreviewResult, PreviewRuleStats, PreviewSample } from '../../rules/preview.js';
import type { RuleWindow } from '../../rules/types.js';
import { isValidTimeZone, parseLocalTime, resolveWindow } from '../../rules/window.js';
import { api, seg } from '../api.js';
import { href } from '../router.js';
import { Badge, Card, ErrorBox, Field, fmtNumber, showValue, Table, toLocalInput, useAction } from '../ui.js';

// "What will this change do?": the edited (unsaved) rule set run over a channel's catalog,
// in the channel with its other rule sets, or alone over a catalog, at an instant; beside
// the saved version's run over the same products at the same instant.

/** Where a preview runs: a channel (its rule sets, this one edited) or a catalog (this one alone). */
export type PreviewTarget =
  | { kind: 'channel'; id: string; catalog: string }
  | { kind: 'catalog'; id: string };

type Preview = (PreviewResult & { catalog: string }) | ChannelPreview;

interface PreviewRun {
  target: PreviewTarget;
  at: string;
  edited: Preview;
  /** The saved version's run, when the editor differs from it. */
  saved: Preview | undefined;
  /** The editor text the preview ran, to say when it is out of date. */
  draftKey: string;
}

const SAMPLES = 5;

/** The preview card of the rule editor. */
export function RulePreview(props: {
  ruleSetId: string;
  /** The edited rule set when it is valid JSON without problems; undefined otherwise. */
  draft: unknown;
  draftKey: string;
  dirty: boolean;
  targets: Array<{ target: PreviewTarget; label: string }>;
}) {
  const [targetIndex, setTargetIndex] = useState(0);
  const [at, setAt] = useState('');
  const chosen = props.targets[targetIndex] ?? props.targets[0];
  const run = useAction(async (target: PreviewTarget, atLocal: string): Promise<PreviewRun> => {
    // One instant for both runs, so their counts compare.
    const iso = (atLocal ? new Date(atLocal) : new Date()).toISOString();
    const call = (withDraft: boolean, samples: number) =>
      target.kind === 'channel'
        ? api<ChannelPreview>(`/channels/${seg(target.id)}/preview`, {
            method: 'POST',
            json: { ...(withDraft ? { ruleSet: props.draft } : {}), at: iso, samples },
          })
        : api<PreviewResult & { catalog: string }>('/rules/preview', {
            method: 'POST',
            json: {
              catalog: target.id,
              ...(withDraft ? { ruleSet: props.draft } : { ruleSetId: props.ruleSetId }),
              at: iso,
              samples,
            },
          });
    const [edited, saved] = await Promise.all([
      call(props.dirty, SAMPLES),
      props.dirty ? call(false, 0) : Promise.resolve(undefined),
    ]);
    return { target, at: iso, edited, saved, draftKey: props.draftKey };
  });
  const [result, setResult] = useState<PreviewRun>();
  const start = async () => {
    if (!chosen) return;
    const r = await run.run(chosen.target, at);
    if (r) setResult(r);
  };
  const windows = useMemo(() => windowsOf(props.draft), [props.draft]);
  const canRun = props.draft !== undefined && chosen !== undefined;
  return (
    <Card title="Preview: what will this change do?" testid="rule-preview">
      <p class="muted">
        Runs the rule set as it is in the editor (saved or not) over every product, changing nothing, and
        compares it with the saved version.
      </p>
      <form
        class="inline-form rs-preview-form"
        onSubmit={(e) => {
          e.preventDefault();
          void start();
        }}
      >
        <Field label="Run over">
          <select
            name="target"
            value={String(targetIndex)}
            onChange={(e) => setTargetIndex(Number(e.currentTarget.value))}
            disabled={props.targets.length === 0}
          >
            {props.targets.map((t, n) => (
              <option key={`${t.target.kind}:${t.target.id}`} value={n}>
                {t.label}
              </option>
            ))}
          </select>
        </Field>
        <Field
          label="As of (your local time)"
          hint="Empty: now. Date windows are open or closed at this instant."
        >
          <input
            type="datetime-local"
            name="at"
            step="1"
            value={at}
            onInput={(e) => setAt(e.currentTarget.value)}
          />
        </Field>
        {at ? (
          <button type="button" onClick={() => setAt('')}>
            Now
          </button>
        ) : null}
        <button type="submit" class="primary" disabled={!canRun || run.busy}>
          {run.busy ? 'Running…' : 'Run the preview'}
        </button>
      </form>
      {windows.length > 0 ? (
        <p class="muted">
          Windows in these rules:{' '}
          {windows.map((w, n) => (
            <span key={w.rule}>
              {n > 0 ? '; ' : ''}
              <code>{w.rule}</code> {w.text}{' '}
              {w.start !== undefined ? (
                <button
                  type="button"
                  class="link"
                  onClick={() => setAt(toLocalInput(w.start as number, true))}
                >
                  as of its start
                </button>
              ) : null}
              {w.start !== undefined && w.end !== undefined ? ' · ' : ''}
              {w.end !== undefined ? (
                <button type="button" class="link" onClick={() => setAt(toLocalInput(w.end as number, true))}>
                  as of its end
                </button>
              ) : null}
            </span>
          ))}
        </p>
      ) : null}
      {props.targets.length === 0 ? (
        <p class="notice">There is no catalog to run the rules over yet: import one first.</p>
      ) : null}
      {props.draft === undefined ? (
        <p class="notice">Fix the problems in the editor to preview the rule set.</p>
      ) : null}
      {run.error ? <ErrorBox error={run.error} /> : null}
      {result ? (
        <PreviewResultView
          run={result}
          ruleSetId={props.ruleSetId}
          stale={result.draftKey !== props.draftKey}
        />
      ) : null}
    </Card>
  );
}

function PreviewResultView(props: { run: PreviewRun; ruleSetId: string; stale: boolean }) {
  const { edited, saved, target } = props.run;
  const catalog = edited.catalog;
  const feedRows = 'feedRows' in edited ? edited.feedRows : undefined;
  const t = edited.totals;
  const s = saved?.totals;
  const totals: Array<[string, number, number | undefined]> = [
    ['Products in the catalog', t.products, s?.products],
    ['In the feed', t.included, s?.included],
    ['Left out by a rule', t.excludedByRules, s?.excludedByRules],
    ['Left out as inactive', t.excludedInactive, s?.excludedInactive],
    ['Changed by the rules', t.changed, s?.changed],
  ];
  const savedByRule = new Map((saved?.rules ?? []).map((r) => [`${r.ruleSet}/${r.rule}`, r]));
  const editedKeys = new Set(edited.rules.map((r) => `${r.ruleSet}/${r.rule}`));
  const removed = (saved?.rules ?? []).filter((r) => !editedKeys.has(`${r.ruleSet}/${r.rule}`));
  type Row = {
    stats: PreviewRuleStats;
    before: PreviewRuleStats | undefined;
    state: 'same' | 'new' | 'removed';
  };
  const rows: Row[] = [
    ...edited.rules.map((r) => {
      const before = savedByRule.get(`${r.ruleSet}/${r.rule}`);
      return { stats: r, before, state: saved && !before ? ('new' as const) : ('same' as const) };
    }),
    ...removed.map((r) => ({ stats: r, before: r, state: 'removed' as const })),
  ];
  const count = (row: Row, key: 'matched' | 'changed' | 'excluded') => {
    if (row.state === 'removed') return <span class="removed">{fmtNumber(row.stats[key])}</span>;
    return <Delta now={row.stats[key]} before={saved ? row.before?.[key] : undefined} />;
  };
  return (
    <div class="stack" data-testid="rule-preview-result" aria-live="polite">
      {props.stale ? (
        <p class="notice">The editor changed since this preview ran: run it again to see the change.</p>
      ) : null}
      <p>
        Over catalog <a href={href('catalogs', catalog)}>{catalog}</a>
        {target.kind === 'channel' ? (
          <>
            {' '}
            in channel <a href={href('channels', target.id)}>{target.id}</a> (rule sets{' '}
            {edited.ruleSets.join(' → ')})
          </>
        ) : (
          ' (this rule set alone)'
        )}
        , as of <time dateTime={edited.at}>{new Date(edited.at).toLocaleString()}</time>.{' '}
        {saved
          ? 'Edited rules, with the change from the saved version.'
          : 'The editor holds the saved version.'}
      </p>
      <div class="table-scroll">
        <table data-testid="rule-preview-totals">
          <thead>
            <tr>
              <th />
              {saved ? <th class="num">Saved</th> : null}
              <th class="num">{saved ? 'Edited' : 'Products'}</th>
              {saved ? <th class="num">Change</th> : null}
            </tr>
          </thead>
          <tbody>
            {totals.map(([label, now, before]) => (
              <tr key={label}>
                <td>{label}</td>
                {saved ? <td class="num">{fmtNumber(before)}</td> : null}
                <td class="num">{fmtNumber(now)}</td>
                {saved ? (
                  <td class="num">
                    <Change now={now} before={before ?? 0} />
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <Table
        testid="rule-preview-rules"
        rows={rows}
        rowKey={(r) => `${r.state}:${r.stats.ruleSet}/${r.stats.rule}`}
        empty="No rule to run."
        columns={[
          {
            title: 'Rule',
            cell: (r) => (
              <>
                <span class={r.stats.ruleSet === props.ruleSetId ? undefined : 'muted'}>
                  {r.stats.ruleSet === props.ruleSetId ? null : `${r.stats.ruleSet} / `}
                  <code>{r.stats.rule}</code>
                </span>{' '}
                {r.state === 'new' ? <Badge value="new" tone="ok" /> : null}
                {r.state === 'removed' ? <Badge value="removed" tone="bad" /> : null}
                {r.stats.description ? <div class="muted">{r.stats.description}</div> : null}
              </>
            ),
            text: (r) => `${r.stats.ruleSet}/${r.stats.rule}`,
            class: 'wrap',
          },
          {
            title: 'Window',
            cell: (r) =>
              r.stats.windowOpen === null ? (
                <span class="muted">none</span>
              ) : (
                <Badge
                  value={r.stats.windowOpen ? 'open' : 'closed'}
                  tone={r.stats.windowOpen ? 'ok' : 'warn'}
                />
              ),
          },
          { title: 'Matched', cell: (r) => count(r, 'matched'), align: 'right' },
          { title: 'Changed', cell: (r) => count(r, 'changed'), align: 'right' },
          { title: 'Excluded', cell: (r) => count(r, 'excluded'), align: 'right' },
        ]}
      />
      <div data-testid="rule-preview-samples">
        <h3>Samples</h3>
        {edited.rules.every((r) => r.samples.length === 0) ? (
          <p class="muted">No rule changed or excluded a product at this instant.</p>
        ) : (
          edited.rules
            .filter((r) => r.samples.length > 0)
            .map((r) => (
              <details key={`${r.ruleSet}/${r.rule}`} open={r.ruleSet === props.ruleSetId}>
                <summary>
                  <code>{r.rule}</code>
                  {r.ruleSet === props.ruleSetId ? '' : <span class="muted"> ({r.ruleSet})</span>}:{' '}
                  {r.samples.length} of {fmtNumber(r.changed + r.excluded)} products it changed or excluded
                </summary>
                <div class="rs-samples">
                  {r.samples.map((sample) => (
                    <SampleView
                      key={sample.sku}
                      sample={sample}
                      catalog={catalog}
                      feedRow={feedRows ? feedRows[sample.sku] : undefined}
                      hasFeedRows={feedRows !== undefined}
                    />
                  ))}
                </div>
              </details>
            ))
        )}
      </div>
    </div>
  );
}

/** One product a rule touched: its fields before and after that rule, and its feed row. */
function SampleView(props: {
  sample: PreviewSample;
  catalog: string;
  feedRow: FeedRow | undefined;
  hasFeedRows: boolean;
}) {
  const { sample } = props;
  const fields = [...new Set([...Object.keys(sample.before), ...Object.keys(sample.after)])];
  return (
    <div class="card" data-testid="rule-sample">
      <div class="card-head">
        <a href={href('products', props.catalog, sample.sku)}>
          <strong>{sample.sku}</strong>
        </a>
        {sample.excluded !== undefined ? (
          <span>
            <Badge value="excluded" /> {sample.excluded}
          </span>
        ) : null}
      </div>
      {fields.length > 0 ? (
        <div class="table-scroll">
          <table>
            <thead>
              <tr>
                <th>Field</th>
                <th>Before the rule</th>
                <th>After</th>
              </tr>
            </thead>
            <tbody>
              {fields.map((f) => {
                const before = sample.before[f];
                const after = sample.after[f];
                const same = JSON.stringify(before) === JSON.stringify(after);
                return (
                  <tr key={f}>
                    <td>
                      <code>{f}</code>
                    </td>
                    <td class={same ? undefined : 'removed'}>{showValue(before)}</td>
                    <td class={same ? undefined : 'added'}>{showValue(after)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : null}
      {props.hasFeedRows ? (
        props.feedRow ? (
          <details>
            <summary>The feed’s row after every rule</summary>
            <dl class="facts">
              {Object.entries(props.feedRow).map(([k, v]) => (
                <div key={k}>
                  <dt>{k}</dt>
                  <dd>{showValue(v)}</dd>
                </div>
              ))}
            </dl>
          </details>
        ) : (
          <p class="muted">Not in the feed after every rule.</p>
        )
      ) : null}
    </div>
  );
}

/** A count with its change from the saved version: `12 (+3)`. */
function Delta(props: { now: number; before: number | undefined }): ComponentChildren {
  if (props.before === undefined || props.before === props.now) return fmtNumber(props.now);
  return (
    <>
      {fmtNumber(props.now)} <Change now={props.now} before={props.before} />
    </>
  );
}

function Change(props: { now: number; before: number }) {
  const d = props.now - props.before;
  if (d === 0) return <span class="muted">–</span>;
  return (
    <strong title={`was ${fmtNumber(props.before)}`}>
      ({d > 0 ? '+' : '−'}
      {fmtNumber(Math.abs(d))})
    </strong>
  );
}

interface WindowInfo {
  rule: string;
  text: string;
  start: number | undefined;
  end: number | undefined;
}

/** The date windows of a rule set, with their bounds as instants (as the engine reads them). */
function windowsOf(draft: unknown): WindowInfo[] {
  const rules = (draft as { rules?: unknown } | undefined)?.rules;
  if (!Array.isArray(rules)) return [];
  const out: WindowInfo[] = [];
  for (const r of rules as Array<{ id?: unknown; window?: RuleWindow }>) {
    const w = r.window;
    if (!w || typeof w !== 'object') continue;
    const zone = w.timezone ?? 'UTC';
    const ok =
      isValidTimeZone(zone) &&
      (w.start === undefined || parseLocalTime(w.start)) &&
      (w.end === undefined || parseLocalTime(w.end));
    if (!ok) continue;
    const resolved = resolveWindow(w);
    out.push({
      rule: String(r.id),
      text: `${w.start ?? '…'} → ${w.end ?? '…'} ${zone}`,
      start: Number.isFinite(resolved.start) ? resolved.start : undefined,
      end: Number.isFinite(resolved.end) ? resolved.end : undefined,
    });
  }
  return out;
}
