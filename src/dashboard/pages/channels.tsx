import './channels.css';
import { useMemo, useState } from 'preact/hooks';
import type { ChannelVersion } from '../../store/channels.js';
import type { LatestFetch } from '../../store/fetches.js';
import type { ImportRun } from '../../store/imports.js';
import type { Publication } from '../../store/publications.js';
import { api, qs, seg } from '../api.js';
import { href, setQuery, useRoute } from '../router.js';
import {
  Badge,
  Card,
  CopyButton,
  ErrorBox,
  Facts,
  fmtBytes,
  fmtDuration,
  fmtNumber,
  JsonView,
  Loaded,
  Page,
  plural,
  Table,
  Tabs,
  Time,
  useAction,
  useApi,
} from '../ui.js';
import {
  browserTimeZone,
  type ChannelView,
  type FetchStats,
  FetchStatus,
  fetcherName,
  outputText,
  versionsBehind,
} from './channel-common.js';
import {
  DeliverySummary,
  FetchChart,
  FetchersTable,
  FetchLog,
  HeldVersion,
  RANGES,
  RangePicker,
  rangeOf,
} from './channel-fetches.js';
import { DiffCounts, Exclusions, PublicationsList } from './channel-publications.js';

// The Channels pages: every channel with its last publication and last fetch, and one
// channel with its feed URL, publishing, publications, fetch log, definition and versions.

/** Every channel: catalog, output, state, last publication and what its marketplace last got. */
export function ChannelsPage() {
  const channels = useApi<{ channels: ChannelView[] }>('/channels');
  const fetches = useApi<{ channels: LatestFetch[] }>('/fetches/latest');
  const byChannel = useMemo(
    () => new Map((fetches.data?.channels ?? []).map((f) => [f.channel, f])),
    [fetches.data],
  );
  return (
    <Page
      title="Channels"
      subtitle="The marketplaces feedwright publishes to: what each feed holds, and which version each marketplace last fetched."
    >
      <Loaded state={channels}>
        {({ channels: list }) => {
          const behind = list.filter((c) => {
            const got = byChannel.get(c.id)?.lastDelivery;
            return got && versionsBehind(got.version, c.lastPublication?.version) > 0;
          }).length;
          const neverFetched = fetches.data ? list.filter((c) => !byChannel.get(c.id)?.lastFetch).length : 0;
          return (
            <Card>
              {list.length > 0 ? (
                <p class="muted ch-lead" data-testid="channels-summary">
                  {plural(list.length, 'channel')}, {fmtNumber(list.filter((c) => c.enabled).length)} enabled.
                  {behind > 0 ? (
                    <>
                      {' '}
                      <strong class="ch-warn">
                        {plural(behind, 'marketplace holds', 'marketplaces hold')} an older version than the
                        one served now.
                      </strong>
                    </>
                  ) : null}
                  {neverFetched > 0
                    ? ` ${plural(neverFetched, 'feed has', 'feeds have')} never been fetched.`
                    : ''}
                </p>
              ) : null}
              {fetches.error ? <ErrorBox error={fetches.error} onRetry={fetches.reload} /> : null}
              <Table
                testid="channels"
                rows={list}
                rowKey={(c) => c.id}
                filter={list.length > 5}
                empty="No channel yet: add a channel definition to feeds/ and run feedwright apply, or PUT /api/channels/{id}."
                columns={[
                  {
                    title: 'Channel',
                    cell: (c) => (
                      <>
                        <a href={href('channels', c.id)}>{c.definition.name ?? c.id}</a>
                        <div class="muted mono">{c.id}</div>
                      </>
                    ),
                    text: (c) => `${c.definition.name ?? ''} ${c.id}`,
                    class: 'wrap',
                  },
                  {
                    title: 'Catalog',
                    cell: (c) => <a href={href('catalogs', c.catalog)}>{c.catalog}</a>,
                    text: (c) => c.catalog,
                  },
                  { title: 'Output', cell: (c) => outputText(c) },
                  {
                    title: 'State',
                    cell: (c) => <Badge value={c.enabled ? 'enabled' : 'disabled'} />,
                    text: (c) => (c.enabled ? 'enabled' : 'disabled'),
                  },
                  {
                    title: 'Last publication',
                    cell: (c) => <LastPublicationCell p={c.lastPublication} />,
                    text: (c) =>
                      c.lastPublication
                        ? `v${c.lastPublication.version} ${c.lastPublication.items} items ${c.lastPublication.builtAt}`
                        : 'never',
                  },
                  {
                    title: 'Last fetch',
                    cell: (c) =>
                      fetches.data ? (
                        <LastFetchCell
                          latest={byChannel.get(c.id)}
                          current={c.lastPublication?.version ?? null}
                        />
                      ) : (
                        <span class="muted">…</span>
                      ),
                    text: (c) => {
                      const f = byChannel.get(c.id);
                      return f?.lastFetch
                        ? `${f.lastFetch.status} v${f.lastDelivery?.version ?? ''} ${f.lastFetch.at}`
                        : 'never';
                    },
                  },
                ]}
              />
            </Card>
          );
        }}
      </Loaded>
    </Page>
  );
}

function LastPublicationCell(props: { p: Publication | null }) {
  const p = props.p;
  if (!p) return <span class="muted">never published</span>;
  return (
    <>
      <strong>v{p.version}</strong> · {fmtNumber(p.items)} items
      {p.excluded > 0 ? <span class="muted"> · {fmtNumber(p.excluded)} excluded</span> : null}
      <div class="muted">
        <Time at={p.builtAt} /> · built in {fmtDuration(p.buildMs)}
      </div>
    </>
  );
}

function LastFetchCell(props: { latest: LatestFetch | undefined; current: number | null }) {
  const last = props.latest?.lastFetch;
  const got = props.latest?.lastDelivery;
  if (!last) return <span class="muted">never fetched</span>;
  return (
    <>
      <FetchStatus fetch={last} /> <Time at={last.at} />
      <div class="muted" title={last.userAgent ?? ''}>
        by {fetcherName(last.userAgent)}
      </div>
      <div>
        {got && got.userAgent !== last.userAgent ? `${fetcherName(got.userAgent)} holds ` : 'holds '}
        <HeldVersion version={got?.version ?? null} current={props.current} />
      </div>
    </>
  );
}

const TABS: Array<[string, string]> = [
  ['overview', 'Overview'],
  ['publications', 'Publications'],
  ['fetches', 'Fetch log'],
  ['definition', 'Definition'],
  ['versions', 'Versions'],
];

/** One channel: which version its marketplace has, then tabs for everything else. */
export function ChannelPage(props: { id: string }) {
  const { query } = useRoute();
  const tab = TABS.some(([t]) => t === query.get('tab')) ? (query.get('tab') as string) : 'overview';
  const range = rangeOf(query.get('range'));
  const channel = useApi<ChannelView>(`/channels/${seg(props.id)}`);
  // Computed once per period, so the path (and the read) stays put between renders.
  const statsPath = useMemo(() => {
    const r = RANGES[range];
    return `/channels/${seg(props.id)}/fetch-stats${qs({
      bucket: r.bucket,
      since: new Date(Date.now() - r.ms).toISOString(),
      tz: browserTimeZone(),
    })}`;
  }, [props.id, range]);
  const stats = useApi<FetchStats>(statsPath);
  const c = channel.data;
  const catalog = useApi<{ lastImport: ImportRun | null }>(c ? `/catalogs/${seg(c.catalog)}` : null);
  // The publication the marketplace holds, when it is not the one served now (for its build time).
  const gotVersion = stats.data?.lastDelivery?.version ?? null;
  const needOlder = c?.lastPublication && gotVersion !== null && gotVersion !== c.lastPublication.version;
  const older = useApi<{ publications: Publication[] }>(
    needOlder ? `/channels/${seg(props.id)}/publications${qs({ before: gotVersion + 1, limit: 1 })}` : null,
  );
  const [refresh, setRefresh] = useState(0);
  const publish = usePublish(props.id, () => reloadAll());
  // After a publish: everything is read again, the open tab remounted (its lists included).
  const reloadAll = () => {
    channel.reload();
    stats.reload();
    catalog.reload();
    setRefresh((n) => n + 1);
  };
  return (
    <Loaded state={channel}>
      {(ch) => (
        <Page
          title={ch.definition.name ?? ch.id}
          subtitle={
            <>
              <span class="mono">{ch.id}</span> · catalog{' '}
              <a href={href('catalogs', ch.catalog)}>{ch.catalog}</a> · {outputText(ch)} · definition v
              {ch.version} · <Badge value={ch.enabled ? 'enabled' : 'disabled'} />
            </>
          }
          actions={
            <>
              <EnabledToggle channel={ch} onChanged={reloadAll} />
              {publish.button}
            </>
          }
        >
          {publish.outcome}
          <Card title="Which version the marketplace has" testid="delivery" class="ch-delivery">
            <Loaded state={stats}>
              {(s) => (
                <DeliverySummary
                  channel={ch}
                  stats={s}
                  publications={older.data?.publications ?? []}
                  lastImport={catalog.data?.lastImport ?? null}
                />
              )}
            </Loaded>
          </Card>
          <Tabs
            tabs={TABS}
            current={tab}
            onSelect={(t) => setQuery({ tab: t === 'overview' ? undefined : t })}
          />
          <div role="tabpanel" key={`${tab}-${refresh}`}>
            {tab === 'overview' ? (
              <>
                <FeedUrlCard channel={ch} onRotated={channel.reload} />
                <ServedNowCard channel={ch} />
                <Card
                  title="Fetches over time"
                  testid="fetches-over-time"
                  actions={<RangePicker range={range} />}
                >
                  <Loaded state={stats}>
                    {(s) => (
                      <>
                        <FetchChart stats={s} />
                        <h3 class="ch-sub">Clients in this period</h3>
                        <FetchersTable stats={s} current={ch.lastPublication?.version ?? null} />
                      </>
                    )}
                  </Loaded>
                </Card>
              </>
            ) : null}
            {tab === 'publications' ? (
              <Card title="Publications">
                <PublicationsList
                  channel={ch}
                  before={query.get('pbefore')}
                  served={ch.lastPublication?.version ?? null}
                />
              </Card>
            ) : null}
            {tab === 'fetches' ? (
              <Card title="Fetch log">
                <p class="muted">
                  Every request for the feed URL, newest first: the answer, the version it got, its size and
                  gzip, and who asked. A HEAD request asks for the headers only and takes no version; a 304
                  confirms the version the client already had.
                </p>
                <FetchLog channel={ch} before={query.get('fbefore')} />
              </Card>
            ) : null}
            {tab === 'definition' ? <DefinitionCard channel={ch} /> : null}
            {tab === 'versions' ? (
              // Not remounted: the card keeps its "restored" message and reloads its own list.
              <VersionsCard
                channel={ch}
                onRestored={() => {
                  channel.reload();
                  stats.reload();
                }}
              />
            ) : null}
          </div>
        </Page>
      )}
    </Loaded>
  );
}

/**
 * Enables or disables the channel: a new version of its definition with `enabled` flipped.
 * A disabled channel's URL answers 404 (its last feed is kept); enabling publishes again.
 */
function EnabledToggle(props: { channel: ChannelView; onChanged: () => void }) {
  const { channel } = props;
  const toggle = useAction(async () => {
    const enabled = !channel.enabled;
    if (
      !enabled &&
      !confirm(
        `Disable ${channel.id}? Its feed URL answers 404 at once, so the marketplace stops getting the feed. ` +
          'The last feed is kept, and enabling the channel serves it again.',
      )
    ) {
      return;
    }
    await api(`/channels/${seg(channel.id)}`, { method: 'PUT', json: { ...channel.definition, enabled } });
    props.onChanged();
  });
  return (
    <>
      <button
        type="button"
        data-testid="toggle-enabled"
        disabled={toggle.busy}
        onClick={() => void toggle.run()}
      >
        {channel.enabled ? 'Disable' : 'Enable'}
      </button>
      {toggle.error ? <ErrorBox error={toggle.error} /> : null}
    </>
  );
}

/** Publish now: the button (in the page's actions) and what came of it (above the content). */
function usePublish(channelId: string, onPublished: () => void) {
  const [result, setResult] = useState<Publication>();
  const action = useAction(async () => {
    setResult(undefined);
    const p = await api<Publication>(`/channels/${seg(channelId)}/publish`, { method: 'POST' });
    setResult(p);
    onPublished();
    return p;
  });
  const button = (
    <button
      type="button"
      class="primary"
      data-testid="publish"
      disabled={action.busy}
      onClick={() => void action.run()}
    >
      {action.busy ? 'Publishing…' : 'Publish now'}
    </button>
  );
  const outcome = action.error ? (
    <ErrorBox error={action.error} />
  ) : result ? (
    <p class="success" data-testid="publish-result" role="status">
      Published version {result.version}: {fmtNumber(result.items)} items, {fmtNumber(result.excluded)}{' '}
      excluded, <DiffCounts p={result} /> against the version before, built in {fmtDuration(result.buildMs)}.
    </p>
  ) : null;
  return { button, outcome };
}

/** The secret feed URL, copied in one click, and a token rotation with a confirm step. */
function FeedUrlCard(props: { channel: ChannelView; onRotated: () => void }) {
  const [confirming, setConfirming] = useState(false);
  const [newUrl, setNewUrl] = useState<string>();
  const rotate = useAction(async () => {
    const res = await api<{ feedUrl: string; tokenRotatedAt: string }>(
      `/channels/${seg(props.channel.id)}/token`,
      {
        method: 'POST',
      },
    );
    setNewUrl(res.feedUrl);
    setConfirming(false);
    props.onRotated();
    return res;
  });
  const url = newUrl ?? props.channel.feedUrl;
  return (
    <Card title="Feed URL" testid="feed-url">
      <div class="ch-url-row">
        <code class="url" data-testid="feed-url-value">
          {url}
        </code>
        <CopyButton text={url} label="Copy URL" />
      </div>
      <p class="muted">
        Secret: anyone with this URL can read the feed; a wrong token answers 404. Token set{' '}
        <Time at={props.channel.tokenRotatedAt} />.
      </p>
      {newUrl ? (
        <p class="success" role="status" data-testid="rotated">
          New token in force. Give the URL above to every marketplace that pulls this feed: the old one
          answers 404.
        </p>
      ) : null}
      {confirming ? (
        <div class="notice" role="alertdialog" aria-labelledby="rotate-warning" data-testid="rotate-confirm">
          <p id="rotate-warning">
            <strong>The current URL stops working at once.</strong> Every marketplace still using it gets 404
            until you give it the new URL.
          </p>
          <div class="actions">
            <button type="button" class="danger" disabled={rotate.busy} onClick={() => void rotate.run()}>
              {rotate.busy ? 'Rotating…' : 'Rotate the token now'}
            </button>
            <button type="button" onClick={() => setConfirming(false)} disabled={rotate.busy}>
              Cancel
            </button>
          </div>
        </div>
      ) : (
        <button type="button" onClick={() => setConfirming(true)}>
          Rotate token…
        </button>
      )}
      {rotate.error ? <ErrorBox error={rotate.error} /> : null}
    </Card>
  );
}

/** The publication served now. */
function ServedNowCard(props: { channel: ChannelView }) {
  const p = props.channel.lastPublication;
  return (
    <Card
      title={p ? `Served now: version ${p.version}` : 'Served now'}
      testid="served-now"
      actions={
        p ? <a href={href('channels', props.channel.id, { tab: 'publications' })}>All publications</a> : null
      }
    >
      {p ? (
        <>
          <Facts
            items={[
              ['Built', <Time at={p.builtAt} />],
              ['Items', fmtNumber(p.items)],
              ['Excluded', fmtNumber(p.excluded)],
              ['Against the previous', <DiffCounts p={p} />],
              ['Size', `${fmtBytes(p.bytes)} (gzip ${fmtBytes(p.gzipBytes)})`],
              [
                'SHA-256',
                <span class="mono" title={p.sha256}>
                  {p.sha256.slice(0, 12)}…
                </span>,
              ],
              ['Build time', fmtDuration(p.buildMs)],
              ['Reason', p.reason],
            ]}
          />
          {p.excluded > 0 ? (
            <>
              <h3 class="ch-sub">Left out, by rule</h3>
              <Exclusions exclusions={p.exclusions} total={p.excluded} />
            </>
          ) : null}
        </>
      ) : (
        <p class="muted">
          Never published:{' '}
          {props.channel.enabled
            ? 'use Publish now, or wait for the next import.'
            : 'the channel is disabled.'}
        </p>
      )}
    </Card>
  );
}

/** The definition in force: catalog, output, state, rule sets in order, and the JSON. */
function DefinitionCard(props: { channel: ChannelView }) {
  const c = props.channel;
  const rules = c.definition.rules ?? [];
  return (
    <Card title={`Definition, version ${c.version}`} testid="definition">
      <Facts
        items={[
          ['Catalog', <a href={href('catalogs', c.catalog)}>{c.catalog}</a>],
          ['Output', outputText(c)],
          ['State', <Badge value={c.enabled ? 'enabled' : 'disabled'} />],
          ['Own fields', fmtNumber(Object.keys(c.definition.fields ?? {}).length)],
          ['Saved', <Time at={c.updatedAt} />],
          ['By', c.author],
        ]}
      />
      <h3 class="ch-sub">Rule sets, in the order they apply</h3>
      {rules.length === 0 ? (
        <p class="muted">None: the catalog goes out as it is (inactive products left out).</p>
      ) : (
        <ol class="ch-rules" data-testid="rule-sets">
          {rules.map((id) => (
            <li key={id}>
              <a href={href('rules', id)}>{id}</a>
            </li>
          ))}
        </ol>
      )}
      <h3 class="ch-sub">As written</h3>
      <JsonView value={c.definition} />
    </Card>
  );
}

/** Every version of the definition, with restore (as a new version) after a confirm step. */
function VersionsCard(props: { channel: ChannelView; onRestored: () => void }) {
  const state = useApi<{ versions: ChannelVersion[] }>(`/channels/${seg(props.channel.id)}/versions`);
  const [confirming, setConfirming] = useState<number>();
  const [done, setDone] = useState<{ from: number; outcome: string; version: number }>();
  const restore = useAction(async (version: number) => {
    const res = await api<{ outcome: string; channel: ChannelView }>(
      `/channels/${seg(props.channel.id)}/restore`,
      {
        method: 'POST',
        json: { version },
      },
    );
    setDone({ from: version, outcome: res.outcome, version: res.channel.version });
    setConfirming(undefined);
    state.reload();
    props.onRestored();
    return res;
  });
  return (
    <Card title="Versions" testid="versions">
      {done ? (
        <p class="success" role="status">
          {done.outcome === 'unchanged'
            ? `Version ${done.from} is the definition in force: nothing changed.`
            : `Version ${done.from} is back, as version ${done.version}; the feed is rebuilt with it.`}
        </p>
      ) : null}
      {restore.error ? <ErrorBox error={restore.error} /> : null}
      <Loaded state={state}>
        {({ versions }) => (
          <ol class="ch-versions">
            {versions.map((v) => (
              <li key={v.version} class="ch-version" data-testid={`version-${v.version}`}>
                <div class="ch-version-head">
                  <span>
                    <strong>Version {v.version}</strong> <Time at={v.createdAt} /> · by {v.author}
                  </span>
                  {v.version === props.channel.version ? (
                    <Badge value="in force" tone="ok" />
                  ) : confirming === v.version ? (
                    <span class="actions">
                      <button
                        type="button"
                        class="danger"
                        disabled={restore.busy}
                        onClick={() => void restore.run(v.version)}
                      >
                        {restore.busy ? 'Restoring…' : `Restore version ${v.version} as a new version`}
                      </button>
                      <button type="button" onClick={() => setConfirming(undefined)}>
                        Cancel
                      </button>
                    </span>
                  ) : (
                    <button type="button" onClick={() => setConfirming(v.version)}>
                      Restore version {v.version}…
                    </button>
                  )}
                </div>
                <div class="muted">
                  {v.definition.enabled === false ? 'disabled' : 'enabled'} · rule sets{' '}
                  {(v.definition.rules ?? []).join(' → ') || 'none'}
                </div>
                <details class="ch-version-json">
                  <summary>Definition as written</summary>
                  <JsonView value={v.definition} />
                </details>
              </li>
            ))}
          </ol>
        )}
      </Loaded>
    </Card>
  );
}
