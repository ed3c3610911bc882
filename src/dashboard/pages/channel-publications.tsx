import type { ExclusionCount, Publication } from '../../store/publications.js';
import { qs, seg } from '../api.js';
import { href, setQuery } from '../router.js';
import {
  Badge,
  CopyButton,
  Facts,
  fmtBytes,
  fmtDuration,
  fmtNumber,
  Loaded,
  plural,
  Table,
  Time,
  useApi,
} from '../ui.js';
import type { ChannelView } from './channel-common.js';

// Publications: every built version of a channel's feed with what it held, what it left out
// and why, and what changed against the version before.

/** The channel's publications, newest first, paged (`?pbefore=`); the newest is open. */
export function PublicationsList(props: {
  channel: ChannelView;
  before: string | null;
  served: number | null;
}) {
  const state = useApi<{ publications: Publication[]; next: number | null }>(
    `/channels/${seg(props.channel.id)}/publications${qs({ before: props.before, limit: 20 })}`,
  );
  return (
    <Loaded state={state}>
      {(page) => (
        <div data-testid="publications">
          {page.publications.length === 0 ? (
            <p class="muted empty">
              Never published yet: the feed is built after an import, a change of its rules or definition, or
              with Publish now.
            </p>
          ) : (
            page.publications.map((p, i) => (
              <PublicationBlock
                key={p.version}
                channel={props.channel}
                publication={p}
                open={i === 0 && !props.before}
                served={p.version === props.served}
              />
            ))
          )}
          <div class="actions">
            {props.before ? (
              <button type="button" onClick={() => setQuery({ pbefore: undefined })}>
                Newest
              </button>
            ) : null}
            {page.next ? (
              <button type="button" onClick={() => setQuery({ pbefore: String(page.next) })}>
                Older
              </button>
            ) : null}
          </div>
        </div>
      )}
    </Loaded>
  );
}

/** "+3 −1 ~12" with colours. */
export function DiffCounts(props: { p: Pick<Publication, 'added' | 'removed' | 'changed'> }) {
  const { added, removed, changed } = props.p;
  return (
    <span class="ch-diff" title={`${added} added, ${removed} removed, ${changed} changed`}>
      <span class={added ? 'added' : 'muted'}>+{fmtNumber(added)}</span>{' '}
      <span class={removed ? 'ch-bad' : 'muted'}>−{fmtNumber(removed)}</span>{' '}
      <span class={changed ? 'ch-changed' : 'muted'}>~{fmtNumber(changed)}</span>
    </span>
  );
}

/** One publication, folded to a line; unfolded: its facts, exclusions by rule, and the sku diff. */
function PublicationBlock(props: {
  channel: ChannelView;
  publication: Publication;
  open: boolean;
  served: boolean;
}) {
  const p = props.publication;
  return (
    <details class="ch-publication" open={props.open} data-testid={`publication-${p.version}`}>
      <summary>
        <strong>Version {p.version}</strong> {props.served ? <Badge value="served now" tone="ok" /> : null}{' '}
        <Time at={p.builtAt} /> · {fmtNumber(p.items)} items · {fmtNumber(p.excluded)} excluded ·{' '}
        <DiffCounts p={p} /> · <span class="muted">{p.reason}</span>
      </summary>
      <div class="ch-publication-body">
        <Facts
          items={[
            ['Built', <Time at={p.builtAt} />],
            ['Build time', fmtDuration(p.buildMs)],
            ['Items', fmtNumber(p.items)],
            ['Excluded', fmtNumber(p.excluded)],
            ['Size', `${fmtBytes(p.bytes)} (gzip ${fmtBytes(p.gzipBytes)})`],
            [
              'SHA-256',
              <span class="mono" title={p.sha256}>
                {p.sha256.slice(0, 12)}… <CopyButton text={p.sha256} label="Copy" />
              </span>,
            ],
            ['Reason', p.reason],
            ['By', p.actor],
            ['Channel version', `v${p.channelVersion}`],
            ['Catalog revision', `${fmtNumber(p.catalogRevision)} (stock ${fmtNumber(p.stockRevision)})`],
            [
              'Rule sets',
              Object.keys(p.ruleVersions).length === 0 ? (
                <span class="muted">none</span>
              ) : (
                <RuleVersions order={props.channel.definition.rules ?? []} versions={p.ruleVersions} />
              ),
            ],
            [
              'Next rule window',
              p.nextBoundary ? <Time at={p.nextBoundary} /> : <span class="muted">none</span>,
            ],
          ]}
        />
        <h3 class="ch-sub">Left out, by rule</h3>
        <Exclusions exclusions={p.exclusions} total={p.excluded} />
        <h3 class="ch-sub">Against version {p.version - 1 || '–'}</h3>
        {p.version === 1 ? (
          <p class="muted">The first publication: every item is new.</p>
        ) : p.added + p.removed + p.changed === 0 ? (
          <p class="muted">No item added, removed or changed: the same feed, built again.</p>
        ) : null}
        {DIFF_LISTS.map(([title, kind, tone]) => (
          <SkuList
            key={kind}
            title={title}
            count={p[kind]}
            skus={p.diff[kind]}
            catalog={props.channel.catalog}
            tone={tone}
          />
        ))}
      </div>
    </details>
  );
}

/** The diff's three lists: title, kind, and the tone they are shown in. */
const DIFF_LISTS = [
  ['Added', 'added', 'added'],
  ['Removed', 'removed', 'ch-bad'],
  ['Changed', 'changed', 'ch-changed'],
] as const;

/** The rule set versions a build used, in the channel's order (then any others). */
function RuleVersions(props: { order: string[]; versions: Record<string, number> }) {
  const ids = [
    ...props.order.filter((id) => id in props.versions),
    ...Object.keys(props.versions).filter((id) => !props.order.includes(id)),
  ];
  return (
    <span>
      {ids.map((id, i) => (
        <span key={id}>
          {i > 0 ? ', ' : ''}
          <a href={href('rules', id)}>{id}</a> v{props.versions[id]}
        </span>
      ))}
    </span>
  );
}

/** Exclusions grouped by the rule (or default) that left the items out. */
export function Exclusions(props: { exclusions: ExclusionCount[]; total: number }) {
  if (props.total === 0) return <p class="muted">Nothing left out.</p>;
  return (
    <Table
      testid="exclusions"
      rows={[...props.exclusions].sort((a, b) => b.count - a.count)}
      rowKey={(e) => `${e.ruleSet ?? ''}/${e.rule ?? ''}/${e.reason}`}
      columns={[
        {
          title: 'Rule',
          cell: (e) =>
            e.ruleSet ? (
              <>
                <a href={href('rules', e.ruleSet)}>{e.ruleSet}</a>
                {e.rule ? <span class="mono"> / {e.rule}</span> : null}
              </>
            ) : (
              <span class="muted">default</span>
            ),
          text: (e) => [e.ruleSet, e.rule].filter(Boolean).join('/') || 'default',
        },
        { title: 'Reason', cell: (e) => e.reason, class: 'wrap' },
        { title: 'Items', cell: (e) => fmtNumber(e.count), align: 'right' },
      ]}
    />
  );
}

/** A list of skus, folded, each a link to the product; says when the list was capped. */
function SkuList(props: { title: string; count: number; skus: string[]; catalog: string; tone: string }) {
  if (props.count === 0) return null;
  return (
    <details class="ch-sku-list">
      <summary>
        <span class={props.tone}>{props.title}</span>: {plural(props.count, 'item')}
        {props.skus.length < props.count ? (
          <span class="muted"> (the first {fmtNumber(props.skus.length)} listed)</span>
        ) : null}
      </summary>
      <ul>
        {props.skus.map((sku) => (
          <li key={sku}>
            <a href={href('products', props.catalog, sku)}>{sku}</a>
          </li>
        ))}
      </ul>
    </details>
  );
}
