import type { ComponentChildren } from 'preact';
import type { ChannelExplanation } from '../../channels/explain.js';
// Runtime imports (pure functions, no Node API): the channel's output fields and where each
// takes its value from, so the feed row can say which product field filled each column.
import { resolveFields } from '../../channels/output.js';
import type { ResolvedField } from '../../channels/templates/definition.js';
import type { ChannelDefinition, FeedValue } from '../../model/channel.js';
import type { ActionTrace, ConditionTrace, RuleTrace } from '../../rules/explain.js';
import type { Publication } from '../../store/publications.js';
import { href } from '../router.js';
import { Badge, clip, fmtRelative, showValue, Table, Time } from '../ui.js';
import { feedRowWording } from './feed-row.js';

/** A channel as GET /api/channels answers it. */
export interface ChannelView {
  id: string;
  catalog: string;
  version: number;
  enabled: boolean;
  definition: ChannelDefinition;
  feedUrl: string;
  lastPublication: Omit<Publication, 'diff'> | null;
}

/** In the feed, or why not, as a badge. */
export function Verdict(props: { explanation: ChannelExplanation }) {
  const e = props.explanation;
  if (e.included) return <Badge value="in the feed" tone="ok" />;
  return <Badge value={e.excludedBy?.rule ? 'excluded by a rule' : 'excluded: inactive'} tone="bad" />;
}

/** What the rules changed, field by field: the first value before and the last after. */
export function ruleChanges(
  e: ChannelExplanation,
): Array<{ field: string; before: unknown; after: unknown; by: string[] }> {
  const out = new Map<string, { field: string; before: unknown; after: unknown; by: string[] }>();
  for (const r of e.rules) {
    for (const a of r.actions ?? []) {
      if (!a.changed || a.field === undefined) continue;
      const seen = out.get(a.field);
      if (seen) {
        seen.after = a.after;
        if (!seen.by.includes(r.rule)) seen.by.push(r.rule);
      } else out.set(a.field, { field: a.field, before: a.before, after: a.after, by: [r.rule] });
    }
  }
  return [...out.values()].filter((c) => JSON.stringify(c.before) !== JSON.stringify(c.after));
}

/**
 * One channel's answer to "why does this product look like this here?": the verdict, the
 * stock path, every rule in order (matched or not, on which facts, what it changed), and
 * the row the feed holds.
 */
export function ExplainPanel(props: {
  channel: ChannelView;
  explanation: ChannelExplanation;
  stock: { managed: boolean; imported: number | null; effective: number | null } | undefined;
}) {
  const { channel, explanation: e } = props;
  const fields = safeFields(channel.definition);
  const changes = ruleChanges(e);
  return (
    <div class="explain" data-testid={`explain-${channel.id}`}>
      <div class={`verdict ${e.included ? 'in' : 'out'}`} data-testid="verdict">
        <Verdict explanation={e} />
        <span>
          {e.included && e.summary === 'in the feed'
            ? `${channel.definition.name ?? channel.id} lists this product: its feed holds the row below.`
            : sentenceCase(e.summary)}
          {e.excludedBy?.rule ? (
            <>
              {' '}
              —{' '}
              <button
                type="button"
                class="link"
                onClick={() =>
                  document
                    .getElementById(
                      `rule-${ruleAnchor(channel.id, e.excludedBy?.ruleSet ?? null, e.excludedBy?.rule ?? null)}`,
                    )
                    ?.scrollIntoView({ behavior: 'smooth', block: 'center' })
                }
              >
                see the rule
              </button>
              .
            </>
          ) : null}
        </span>
      </div>
      <p class="muted small">
        Evaluated {at(e.at)} with channel <a href={href('channels', channel.id)}>{channel.id}</a> version{' '}
        {channel.version}
        {channel.lastPublication ? (
          <>
            ; feed version {channel.lastPublication.version} was published{' '}
            <Time at={channel.lastPublication.builtAt} />
          </>
        ) : (
          '; no feed published yet'
        )}
        .
      </p>
      {!channel.enabled ? (
        <p class="notice">
          This channel is frozen (<code>enabled: false</code>): the marketplace keeps getting the last
          publication; the row below is what a rebuild would write.
        </p>
      ) : null}
      <StockPath explanation={e} stock={props.stock} fields={fields} />
      {changes.length > 0 ? (
        <div class="changed" data-testid="rule-changes">
          <h3>What the rules changed</h3>
          <ul class="plain">
            {changes.map((c) => (
              <li key={c.field}>
                <code>{c.field}</code>: <Value v={c.before} /> → <Value v={c.after} added />{' '}
                <span class="muted small">by {c.by.join(', ')}</span>
              </li>
            ))}
          </ul>
        </div>
      ) : e.rules.some((r) => r.actions?.some((a) => a.changed)) ? (
        <p class="muted">The rules' changes cancel out: every field ends as it came in.</p>
      ) : e.rules.length > 0 && e.included ? (
        <p class="muted">The rules changed no field of this product.</p>
      ) : null}
      <h3>Rules, in the order they run</h3>
      {e.rules.length === 0 ? (
        <p class="muted">This channel has no rule set: the product goes to the feed as imported.</p>
      ) : (
        <ol class="rule-trace" data-testid="rule-trace">
          {e.rules.map((r) => (
            <RuleItem
              key={`${r.ruleSet}/${r.rule}`}
              channel={channel.id}
              rule={r}
              excluding={e.excludedBy?.ruleSet === r.ruleSet && e.excludedBy?.rule === r.rule}
            />
          ))}
        </ol>
      )}
      {!e.included && !e.excludedBy?.rule ? (
        <p class="notice">
          The product's status is <code>inactive</code> and no <code>keepActive</code> rule applied: the feed
          leaves it out.
        </p>
      ) : null}
      <h3>The row the feed holds</h3>
      <FeedRowTable row={e.feedRow} fields={fields} channel={channel} />
    </div>
  );
}

/** Imported → effective (pending sales) → after the rules → the feed's column. */
function StockPath(props: {
  explanation: ChannelExplanation;
  stock: { managed: boolean; imported: number | null; effective: number | null } | undefined;
  fields: ResolvedField[];
}) {
  const s = props.stock;
  const e = props.explanation;
  const after = e.product.fields.quantity;
  const quantityRules = e.rules.filter((r) => r.actions?.some((a) => a.field === 'quantity' && a.changed));
  const columns = props.fields.filter((f) => readsQuantity(f));
  if (!s?.managed && after === undefined) return null;
  return (
    <div class="stock-path" data-testid="stock-path">
      <span class="step">
        <span class="muted">imported</span>{' '}
        <strong>{s?.managed ? showValue(s.imported) : 'not managed'}</strong>
      </span>
      {s?.managed ? (
        <>
          <span class="arrow" aria-hidden="true">
            →
          </span>
          <span class="step">
            <span class="muted">effective</span> <strong>{showValue(s.effective)}</strong>
            {s.effective !== s.imported ? <span class="muted small"> (pending sales)</span> : null}
          </span>
        </>
      ) : null}
      <span class="arrow" aria-hidden="true">
        →
      </span>
      <span class="step">
        <span class="muted">after the rules</span>{' '}
        <strong>{after === undefined ? 'missing' : showValue(after)}</strong>
        {quantityRules.length > 0 ? (
          <span class="muted small"> ({quantityRules.map((r) => r.rule).join(', ')})</span>
        ) : null}
      </span>
      {e.feedRow
        ? columns.map((c) => (
            <span key={c.name} class="step-group">
              <span class="arrow" aria-hidden="true">
                →
              </span>
              <span class="step">
                <span class="muted">column</span> <code>{c.name}</code>{' '}
                <strong>{feedText(e.feedRow?.[c.name] ?? null)}</strong>
              </span>
            </span>
          ))
        : null}
      {!e.feedRow ? (
        <>
          <span class="arrow" aria-hidden="true">
            →
          </span>
          <span class="step">
            <Badge value="not in the feed" tone="bad" />
          </span>
        </>
      ) : null}
    </div>
  );
}

function readsQuantity(f: ResolvedField): boolean {
  const s = f.spec;
  if (s.kind === 'field') return s.field === 'quantity';
  if (s.kind === 'template') return s.template.fields.includes('quantity');
  if (s.kind === 'computed') return /quantity/.test(s.description);
  return false;
}

const STATUS_TEXT: Record<RuleTrace['status'], string> = {
  applied: 'applied',
  'not-matched': 'did not match',
  'window-closed': 'window closed',
  'not-reached': 'not reached',
};

function RuleItem(props: { channel: string; rule: RuleTrace; excluding: boolean }) {
  const r = props.rule;
  const tone =
    r.status === 'applied'
      ? props.excluding
        ? 'bad'
        : 'ok'
      : r.status === 'window-closed'
        ? 'warn'
        : 'muted';
  return (
    <li
      id={`rule-${ruleAnchor(props.channel, r.ruleSet, r.rule)}`}
      class={`rule ${r.status}${props.excluding ? ' excluding' : ''}`}
      data-testid={`rule-${r.ruleSet}-${r.rule}`}
    >
      <div class="rule-head">
        <Badge value={props.excluding ? 'excluded the product' : STATUS_TEXT[r.status]} tone={tone} />{' '}
        <a href={href('rules', r.ruleSet)} class="mono">
          {r.ruleSet}
        </a>{' '}
        › <strong class="mono">{r.rule}</strong>
        {r.description ? <div class="muted">{r.description}</div> : null}
      </div>
      {r.window ? <WindowLine window={r.window} /> : null}
      {r.status === 'not-reached' ? (
        <p class="muted small">An earlier rule excluded the product: this one did not run.</p>
      ) : null}
      {r.status === 'applied' ? (
        <Conditions label="Matched because" list={r.matchedBy ?? []} whole={r.conditions} />
      ) : null}
      {r.status === 'not-matched' ? (
        <Conditions label="Did not match because" list={r.failed ?? []} whole={r.conditions} />
      ) : null}
      {r.actions && r.actions.length > 0 ? (
        <ul class="actions-trace">
          {r.actions.map((a) => (
            <ActionLine key={a.path} action={a} />
          ))}
        </ul>
      ) : null}
    </li>
  );
}

function WindowLine(props: { window: NonNullable<RuleTrace['window']> }) {
  const w = props.window;
  return (
    <p class="small">
      <Badge value={w.open ? 'window open' : 'window closed'} tone={w.open ? 'ok' : 'warn'} />{' '}
      {w.start ?? '…'} → {w.end ?? '…'} ({w.timezone})
      {!w.open && w.opensAt && Date.parse(w.opensAt) > Date.now() ? (
        <span class="muted"> · opens {fmtRelative(new Date(w.opensAt))}</span>
      ) : null}
      {w.open && w.closesAt ? <span class="muted"> · closes {fmtRelative(new Date(w.closesAt))}</span> : null}
    </p>
  );
}

function Conditions(props: { label: string; list: ConditionTrace[]; whole: ConditionTrace | undefined }) {
  return (
    <div class="conditions">
      {props.list.length === 0 ? (
        <p class="small">
          <span class="muted">{props.label}:</span> no condition (the rule applies to every product).
        </p>
      ) : (
        <ul class="plain small">
          {props.list.map((c) => (
            <li key={c.path}>
              <span class="muted">{props.label}:</span> <FactLine c={c} />
            </li>
          ))}
        </ul>
      )}
      {props.whole && countFacts(props.whole) > props.list.length ? (
        <details class="small">
          <summary>The whole condition</summary>
          <ConditionTree c={props.whole} />
        </details>
      ) : null}
    </div>
  );
}

function countFacts(c: ConditionTrace): number {
  return c.kind === 'fact' ? 1 : (c.conditions ?? []).reduce((n, x) => n + countFacts(x), 0);
}

const OPERATORS: Record<string, string> = {
  equal: '=',
  notEqual: '≠',
  lessThan: '<',
  lessThanInclusive: '≤',
  greaterThan: '>',
  greaterThanInclusive: '≥',
  in: 'is one of',
  notIn: 'is none of',
  contains: 'contains',
  doesNotContain: 'does not contain',
  startsWith: 'starts with',
  endsWith: 'ends with',
  matches: 'matches',
  isEmpty: 'is empty',
  isNotEmpty: 'is not empty',
};

/** "quantity (10) > 0 ✓": the fact, its value, the operator and what it was compared with. */
function FactLine(props: { c: ConditionTrace }) {
  const c = props.c;
  const op = c.operator ? (OPERATORS[c.operator] ?? c.operator) : '?';
  return (
    <span class={`fact ${c.result ? 'true' : 'false'}`}>
      <code>
        {c.fact}
        {c.factPath ? `.${c.factPath}` : ''}
      </code>{' '}
      <span class="fact-value">({c.factMissing ? 'missing' : <Value v={c.factValue} />})</span> {op}{' '}
      {c.valueFact ? (
        <>
          <code>{c.valueFact}</code> (<Value v={c.value} />)
        </>
      ) : 'value' in c ? (
        <Value v={c.value} />
      ) : null}{' '}
      <span class="mark" aria-hidden="true">
        {c.result ? '✓' : '✗'}
      </span>
      <span class="visually-hidden">{c.result ? '(holds)' : '(does not hold)'}</span>
      {c.name ? <span class="muted"> [{c.name}]</span> : null}
    </span>
  );
}

function ConditionTree(props: { c: ConditionTrace }) {
  const c = props.c;
  if (c.kind === 'fact') return <FactLine c={c} />;
  return (
    <div class="tree">
      <span class={c.result ? 'true' : 'false'}>
        {c.kind === 'all' ? 'all of' : c.kind === 'any' ? 'any of' : 'not'} {c.result ? '✓' : '✗'}
      </span>
      {c.name ? <span class="muted"> [{c.name}]</span> : null}
      <ul>
        {(c.conditions ?? []).map((x) => (
          <li key={x.path}>
            <ConditionTree c={x} />
          </li>
        ))}
      </ul>
    </div>
  );
}

function ActionLine(props: { action: ActionTrace }) {
  const a = props.action;
  if (a.action === 'exclude') {
    return (
      <li class="action exclude">
        <Badge value="exclude" tone="bad" /> {a.reason ? <>“{a.reason}”</> : null}
      </li>
    );
  }
  return (
    <li class={`action ${a.changed ? 'changed' : 'same'}`}>
      <span class="mono">{a.action}</span> <code>{a.field}</code>:{' '}
      {a.skipped ? (
        <span class="muted">
          left as <Value v={a.before} missing={!('before' in a)} /> — {a.skipped}
        </span>
      ) : a.changed ? (
        <>
          <Value v={a.before} missing={!('before' in a)} removed /> → <Value v={a.after} added />
        </>
      ) : (
        <span class="muted">
          <Value v={a.after} /> (unchanged)
        </span>
      )}
    </li>
  );
}

/** A value as the trace shows it: strings quoted, missing said so. */
function Value(props: { v: unknown; missing?: boolean; added?: boolean; removed?: boolean }) {
  const cls = props.added ? 'added' : props.removed ? 'removed-value' : undefined;
  if (props.missing || props.v === undefined) return <em class="muted">missing</em>;
  const text = typeof props.v === 'string' ? `“${clip(props.v, 80)}”` : clip(showValue(props.v), 80);
  return <span class={cls}>{text}</span>;
}

/** The feed row: column, value as the marketplace reads it, and where the value came from. */
function FeedRowTable(props: {
  row: Record<string, FeedValue> | null;
  fields: ResolvedField[];
  channel: ChannelView;
}) {
  if (!props.row) {
    return (
      <p class="notice" data-testid="feed-row">
        The feed holds no row for this product: the marketplace does not list it (and takes it down if it was
        listed).
      </p>
    );
  }
  const sources = new Map(props.fields.map((f) => [f.name, f]));
  const rows = Object.entries(props.row).map(([name, value]) => ({ name, value, source: sources.get(name) }));
  const wording = feedRowWording(props.channel.definition);
  return (
    <>
      <Table
        testid="feed-row"
        rows={rows}
        rowKey={(r) => r.name}
        csvName={`${props.channel.id}-row.csv`}
        columns={[
          { title: 'Column', cell: (r) => <code>{r.name}</code>, text: (r) => r.name },
          {
            title: 'Value',
            cell: (r) => <FeedCell value={r.value} />,
            text: (r) => feedText(r.value),
            class: 'wrap',
          },
          {
            title: 'From',
            cell: (r) => (r.source ? <SourceText field={r.source} /> : <span class="muted">–</span>),
            text: (r) => (r.source ? sourceText(r.source) : ''),
          },
        ]}
      />
      <p class="muted small">
        Empty values are left out of the item ({wording.empty}
        ); lists are {wording.lists}.
      </p>
    </>
  );
}

function FeedCell(props: { value: FeedValue }) {
  const v = props.value;
  if (v === null || v === '') return <em class="muted">empty</em>;
  if (Array.isArray(v)) {
    return (
      <ul class="plain">
        {v.map((x, i) => (
          <li key={i}>{feedText(x)}</li>
        ))}
      </ul>
    );
  }
  if (typeof v === 'string' && /^https?:\/\//.test(v)) {
    return (
      <a href={v} target="_blank" rel="noopener noreferrer" class="url-text">
        {v}
      </a>
    );
  }
  return <span>{feedText(v)}</span>;
}

/** A feed value as text. */
export function feedText(v: FeedValue): string {
  if (v === null) return '';
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map(feedText).join(', ');
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

function SourceText(props: { field: ResolvedField }): ComponentChildren {
  const s = props.field.spec;
  if (s.kind === 'field')
    return (
      <span>
        field <code>{s.field}</code>
      </span>
    );
  if (s.kind === 'const') return <span>constant</span>;
  return <span class="muted">{sourceText(props.field)}</span>;
}

function sourceText(f: ResolvedField): string {
  const s = f.spec;
  switch (s.kind) {
    case 'field':
      return `field ${s.field}`;
    case 'const':
      return 'constant';
    case 'template':
      return s.template.texts
        .map((t, i) => t + (s.template.fields[i] !== undefined ? `{{${s.template.fields[i]}}}` : ''))
        .join('');
    case 'computed':
      return s.description;
  }
}

function safeFields(def: ChannelDefinition): ResolvedField[] {
  try {
    return resolveFields(def);
  } catch {
    // A stored definition is valid; if not, the row still shows, without its sources.
    return [];
  }
}

function ruleAnchor(channel: string, ruleSet: string | null, rule: string | null): string {
  return `${channel}-${ruleSet ?? ''}-${rule ?? ''}`.replace(/[^\w-]/g, '_');
}

function sentenceCase(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function at(iso: string): string {
  const d = new Date(iso);
  return Math.abs(d.getTime() - Date.now()) < 60_000 ? 'now' : `at ${d.toLocaleString()}`;
}
