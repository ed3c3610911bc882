import { useState } from 'preact/hooks';
import type { RuleSetDiff, RuleSetVersion, StoredRuleSet } from '../../store/rule-sets.js';
import { api, seg } from '../api.js';
import { href } from '../router.js';
import {
  type ApiState,
  Badge,
  Card,
  ErrorBox,
  Loaded,
  showValue,
  Table,
  Time,
  useAction,
  useApi,
} from '../ui.js';
import { leafChanges, toEditorText } from './rule-json.js';

/** What GET /api/rules/{id}/versions/{version}/diff answers. */
interface VersionDiff {
  ruleSet: string;
  version: number;
  against: number | null;
  diff: RuleSetDiff;
}

/**
 * Every version of a rule set, newest first, with who saved it and when; what a version
 * changed (against the one before, or another); load a version into the editor, or
 * restore it as a new version.
 */
export function RuleVersions(props: {
  id: string;
  current: number;
  versions: ApiState<{ versions: RuleSetVersion[] }>;
  dirty: boolean;
  onLoad: (text: string, version: number) => void;
  onRestored: (saved: StoredRuleSet) => void;
}) {
  const [selected, setSelected] = useState<number>();
  const shown = selected ?? props.current;
  const restore = useAction(async (version: number) => {
    const res = await api<{ outcome: string; ruleSet: StoredRuleSet }>(`/rules/${seg(props.id)}/restore`, {
      method: 'POST',
      json: { version },
    });
    props.onRestored(res.ruleSet);
    setSelected(undefined);
    return res;
  });
  const [restored, setRestored] = useState<string>();
  const askRestore = async (v: RuleSetVersion) => {
    const lose = props.dirty ? ' The editor’s unsaved changes will be replaced.' : '';
    if (
      !confirm(
        `Restore version ${v.version} as a new version of "${props.id}"? Channels using it are rebuilt.${lose}`,
      )
    )
      return;
    const res = await restore.run(v.version);
    if (res) {
      setRestored(
        res.outcome === 'unchanged'
          ? `Version ${v.version} is the same as the version in force: nothing to restore.`
          : `Version ${v.version} restored as version ${res.ruleSet.version}.`,
      );
    }
  };
  const load = (v: RuleSetVersion) => {
    if (props.dirty && !confirm('Replace the editor’s unsaved changes with this version?')) return;
    props.onLoad(toEditorText(v.definition), v.version);
  };
  return (
    <Card
      title="Versions"
      testid="rule-versions"
      actions={<a href={href('history', { type: 'rules' })}>Every rule set change in History</a>}
    >
      {restore.error ? <ErrorBox error={restore.error} /> : null}
      {restored ? (
        <p class="success" role="status">
          {restored}
        </p>
      ) : null}
      <Loaded state={props.versions}>
        {({ versions }) => (
          <>
            <Table
              rows={versions}
              rowKey={(v) => v.version}
              testid="rule-version-list"
              empty="No version yet."
              columns={[
                {
                  title: 'Version',
                  cell: (v) => (
                    <>
                      <strong>v{v.version}</strong>{' '}
                      {v.version === props.current ? <Badge value="in force" tone="ok" /> : null}
                      <div class="muted">
                        <Time at={v.createdAt} /> by {v.author}
                      </div>
                      {v.restoredFrom !== null ? (
                        <div class="muted">restored from v{v.restoredFrom}</div>
                      ) : null}
                    </>
                  ),
                  text: (v) => `v${v.version} ${v.createdAt} ${v.author}`,
                  class: 'wrap',
                },
                {
                  title: 'Rules',
                  cell: (v) => (Array.isArray(v.definition.rules) ? v.definition.rules.length : 0),
                  align: 'right',
                },
                {
                  title: 'Actions',
                  cell: (v) => (
                    <div class="actions">
                      <button
                        type="button"
                        aria-pressed={v.version === shown}
                        class={v.version === shown ? 'primary' : undefined}
                        onClick={() => setSelected(v.version)}
                      >
                        Changes
                      </button>
                      <button type="button" onClick={() => load(v)}>
                        Load into the editor
                      </button>
                      {v.version !== props.current ? (
                        <button
                          type="button"
                          class="danger"
                          disabled={restore.busy}
                          onClick={() => void askRestore(v)}
                        >
                          Restore
                        </button>
                      ) : null}
                    </div>
                  ),
                  text: () => '',
                },
              ]}
            />
            {versions.some((v) => v.version === shown) ? (
              <VersionChanges id={props.id} version={shown} versions={versions} />
            ) : null}
          </>
        )}
      </Loaded>
    </Card>
  );
}

/** What one version changed, rule by rule, against the one before or a chosen one. */
function VersionChanges(props: { id: string; version: number; versions: RuleSetVersion[] }) {
  const [against, setAgainst] = useState<number>();
  const others = props.versions.filter((v) => v.version !== props.version);
  const state = useApi<VersionDiff>(
    `/rules/${seg(props.id)}/versions/${props.version}/diff${against ? `?against=${against}` : ''}`,
  );
  const after = props.versions.find((v) => v.version === props.version);
  const rulesOf = (v: RuleSetVersion | undefined) =>
    new Map(
      (Array.isArray(v?.definition.rules) ? (v.definition.rules as Array<{ id?: unknown }>) : []).map((r) => [
        String(r.id),
        r,
      ]),
    );
  return (
    <section class="rs-diff" data-testid="rule-diff" aria-live="polite">
      <div class="card-head">
        <h3>What version {props.version} changed</h3>
        {others.length > 0 ? (
          <label class="inline-form">
            <span class="field-label">against</span>
            <select
              value={against ?? ''}
              onChange={(e) => setAgainst(e.currentTarget.value ? Number(e.currentTarget.value) : undefined)}
            >
              <option value="">
                {props.version > 1 ? `the version before (v${props.version - 1})` : 'nothing'}
              </option>
              {others.map((v) => (
                <option key={v.version} value={v.version}>
                  v{v.version}
                </option>
              ))}
            </select>
          </label>
        ) : null}
      </div>
      <Loaded state={state}>
        {(d) => {
          const { diff } = d;
          const props2 = Object.entries(diff.properties);
          const nothing =
            diff.added.length + diff.removed.length + diff.changed.length + props2.length === 0 &&
            !diff.reordered;
          const rulesAfter = rulesOf(after);
          return (
            <div>
              <p class="muted">
                {d.against === null
                  ? 'The first version, compared with nothing: every rule is new.'
                  : `Compared with version ${d.against}.`}
              </p>
              {nothing ? <p>No difference.</p> : null}
              {props2.length > 0 ? (
                <ul>
                  {props2.map(([k, v]) => (
                    <li key={k}>
                      <code>{k}</code>: <span class="removed">{diffValue(v.before)}</span> →{' '}
                      <span class="added">{diffValue(v.after)}</span>
                    </li>
                  ))}
                </ul>
              ) : null}
              {diff.added.length > 0 ? (
                <div>
                  <h4>Rules added</h4>
                  {diff.added.map((id) => (
                    <details key={id}>
                      <summary class="added">+ {id}</summary>
                      <pre class="json">{toEditorText(rulesAfter.get(id))}</pre>
                    </details>
                  ))}
                </div>
              ) : null}
              {diff.removed.length > 0 ? (
                <div>
                  <h4>Rules removed</h4>
                  <ul>
                    {diff.removed.map((id) => (
                      <li key={id} class="removed">
                        − {id}
                      </li>
                    ))}
                  </ul>
                </div>
              ) : null}
              {diff.changed.length > 0 ? (
                <div>
                  <h4>Rules changed</h4>
                  {diff.changed.map((c) => (
                    <div key={c.rule} class="rs-changed">
                      <strong>{c.rule}</strong>
                      <ul>
                        {leafChanges(c.before, c.after, '').map((l) => (
                          <li key={l.path}>
                            <code>{l.path.replace(/^\./, '')}</code>:{' '}
                            {l.before === undefined ? (
                              <span class="muted">(none)</span>
                            ) : (
                              <span class="removed">{diffValue(l.before)}</span>
                            )}{' '}
                            →{' '}
                            {l.after === undefined ? (
                              <span class="muted">(removed)</span>
                            ) : (
                              <span class="added">{diffValue(l.after)}</span>
                            )}
                          </li>
                        ))}
                      </ul>
                    </div>
                  ))}
                </div>
              ) : null}
              {diff.reordered ? (
                <p class="notice">
                  The rules’ order changed: each rule sees the product as the rules before it left it, so the
                  order can change the result.
                </p>
              ) : null}
            </div>
          );
        }}
      </Loaded>
    </section>
  );
}

/** A value in a diff: an empty text shows as "" rather than nothing. */
function diffValue(v: unknown): string {
  return v === '' ? '""' : showValue(v);
}
