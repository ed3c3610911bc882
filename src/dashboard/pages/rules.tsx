import './rules.css';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { ChannelDefinition } from '../../model/channel.js';
import { isId } from '../../model/ids.js';
import type { RuleProblem } from '../../rules/types.js';
import type { RuleSetVersion, StoredRuleSet } from '../../store/rule-sets.js';
import { ApiError, api, seg } from '../api.js';
import { href, navigate } from '../router.js';
import {
  Badge,
  Card,
  ErrorBox,
  Facts,
  Field,
  fmtNumber,
  Loaded,
  Page,
  Table,
  Time,
  toApiError,
  useAction,
  useApi,
} from '../ui.js';
import { RuleHelp } from './rule-help.js';
import { canonicalJson, lineColumn, parseJson, type Span, spanOf, toEditorText } from './rule-json.js';
import { type PreviewTarget, RulePreview } from './rule-preview.js';
import { RuleVersions } from './rule-versions.js';

/** A rule set as GET /api/rules lists it. */
interface RuleSetSummary {
  id: string;
  version: number;
  author: string;
  updatedAt: string;
  rules: number;
  description: string | null;
}

/** What the rule pages read of GET /api/channels. */
interface ChannelSummary {
  id: string;
  catalog: string;
  enabled: boolean;
  definition: ChannelDefinition;
}

/** A problem as POST /api/rules/validate answers it (and RULE_INVALID's details hold). */
type Problem = Pick<RuleProblem, 'path' | 'message'>;

const usersOf = (channels: ChannelSummary[] | undefined, id: string) =>
  (channels ?? []).filter((c) => (c.definition.rules ?? []).includes(id));

/** Every rule set: what it is for, its version, and the channels that use it. */
export function RulesPage() {
  const rules = useApi<{ ruleSets: RuleSetSummary[] }>('/rules');
  const channels = useApi<{ channels: ChannelSummary[] }>('/channels');
  return (
    <Page
      title="Rules"
      subtitle="Rule sets change products on their way to a channel: stock buffers, exclusions, prices. A channel applies its rule sets in order."
    >
      <NewRuleSet />
      {channels.error ? <ErrorBox error={channels.error} onRetry={channels.reload} /> : null}
      <Loaded state={rules}>
        {({ ruleSets }) => (
          <Card>
            <Table
              testid="rule-sets"
              rows={ruleSets}
              rowKey={(r) => r.id}
              filter={ruleSets.length > 5}
              empty="No rule set yet: create one above, or add a JSON file to rules/ and run feedwright apply."
              columns={[
                {
                  title: 'Rule set',
                  cell: (r) => (
                    <>
                      <a href={href('rules', r.id)}>
                        <strong>{r.id}</strong>
                      </a>
                      {r.description ? (
                        <div class="muted rs-description" title={r.description}>
                          {r.description}
                        </div>
                      ) : null}
                    </>
                  ),
                  text: (r) => `${r.id} ${r.description ?? ''}`,
                  class: 'wrap',
                },
                {
                  title: 'Used by',
                  cell: (r) => (
                    <UsedBy channels={usersOf(channels.data?.channels, r.id)} loaded={!!channels.data} />
                  ),
                  text: (r) =>
                    usersOf(channels.data?.channels, r.id)
                      .map((c) => c.id)
                      .join(' '),
                },
                { title: 'Rules', cell: (r) => fmtNumber(r.rules), align: 'right' },
                {
                  title: 'Version',
                  cell: (r) => (
                    <>
                      v{r.version} <Time at={r.updatedAt} />
                      <div class="muted">by {r.author}</div>
                    </>
                  ),
                  text: (r) => `v${r.version} ${r.author}`,
                },
              ]}
            />
          </Card>
        )}
      </Loaded>
    </Page>
  );
}

function UsedBy(props: { channels: ChannelSummary[]; loaded: boolean }) {
  if (!props.loaded) return <span class="muted">…</span>;
  if (props.channels.length === 0) return <span class="muted">no channel</span>;
  return (
    <span>
      {props.channels.map((c, n) => (
        <span key={c.id}>
          {n > 0 ? ', ' : ''}
          <a href={href('channels', c.id)}>{c.id}</a>
          {c.enabled ? null : (
            <>
              {' '}
              <Badge value="disabled" />
            </>
          )}
        </span>
      ))}
    </span>
  );
}

/** Creates an empty rule set (version 1) and opens it in the editor. */
function NewRuleSet() {
  const [id, setId] = useState('');
  const create = useAction(async (newId: string) => {
    const exists = await api(`/rules/${seg(newId)}`).then(
      () => true,
      (err: unknown) => {
        if (err instanceof ApiError && err.code === 'RULE_SET_NOT_FOUND') return false;
        throw err;
      },
    );
    if (exists) throw new ApiError(409, 'RULE_SET_EXISTS', `A rule set "${newId}" exists already.`);
    await api(`/rules/${seg(newId)}`, {
      method: 'PUT',
      json: { id: newId, description: '', rules: [] },
    });
    navigate(href('rules', newId));
  });
  const valid = isId(id);
  return (
    <Card title="New rule set" testid="new-rule-set">
      <form
        class="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (valid) void create.run(id);
        }}
      >
        <Field label="Id" hint="lowercase letters, digits, - or _; channels name it in their rules list">
          <input
            name="id"
            value={id}
            pattern="[a-z0-9][a-z0-9_\-]{0,63}"
            placeholder="e.g. summer-sale"
            onInput={(e) => setId(e.currentTarget.value.trim())}
          />
        </Field>
        <button type="submit" disabled={!valid || create.busy}>
          {create.busy ? 'Creating…' : 'Create and edit'}
        </button>
      </form>
      {create.error ? <ErrorBox error={create.error} /> : null}
    </Card>
  );
}

/** One rule set: its JSON editor with live validation, a preview, its versions and help. */
export function RulePage(props: { id: string }) {
  const saved = useApi<StoredRuleSet>(`/rules/${seg(props.id)}`);
  return (
    <>
      <Loaded state={saved}>{(rs) => <RuleWorkbench saved={rs} reloadSaved={saved.reload} />}</Loaded>
      {saved.error?.code === 'RULE_SET_NOT_FOUND' ? (
        <p>
          <a href={href('rules')}>All rule sets</a>, where a new one can be created.
        </p>
      ) : null}
    </>
  );
}

const draftKey = (id: string) => `feedwright.ruleDraft.${id}`;

interface StoredDraft {
  text: string;
  base: number;
}

function readDraft(saved: StoredRuleSet): StoredDraft | undefined {
  try {
    const raw = sessionStorage.getItem(draftKey(saved.id));
    if (!raw) return undefined;
    const d = JSON.parse(raw) as StoredDraft;
    const p = parseJson(d.text);
    // A draft equal to what is saved is no draft.
    if (p.ok && canonicalJson(p.value) === canonicalJson(saved.definition)) return undefined;
    return d;
  } catch {
    return undefined;
  }
}

/** The live check of the editor's text: the server's problems for the text last checked. */
function useValidation(text: string, value: unknown, ok: boolean) {
  const [result, setResult] = useState<{ text: string; problems: Problem[]; error?: ApiError }>();
  useEffect(() => {
    if (!ok) return;
    const ctl = new AbortController();
    const timer = setTimeout(() => {
      api<{ valid: boolean; problems: Problem[] }>('/rules/validate', {
        method: 'POST',
        json: value,
        signal: ctl.signal,
      }).then(
        (a) => setResult({ text, problems: a.problems }),
        (err: unknown) => {
          if ((err as Error).name === 'AbortError') return;
          setResult({ text, problems: [], error: toApiError(err) });
        },
      );
    }, 300);
    return () => {
      clearTimeout(timer);
      ctl.abort();
    };
  }, [text]);
  return { result, checking: ok && result?.text !== text };
}

function RuleWorkbench(props: { saved: StoredRuleSet; reloadSaved: () => void }) {
  const { saved } = props;
  const id = saved.id;
  const channels = useApi<{ channels: ChannelSummary[] }>('/channels');
  const catalogs = useApi<{ catalogs: Array<{ id: string; definition: { name?: string } }> }>('/catalogs');
  const versions = useApi<{ versions: RuleSetVersion[] }>(`/rules/${seg(id)}/versions`);

  const [restoredDraft] = useState(() => readDraft(saved));
  const [text, setText] = useState(() => restoredDraft?.text ?? toEditorText(saved.definition));
  const [loadedVersion, setLoadedVersion] = useState<number>();
  const parsed = useMemo(() => parseJson(text), [text]);
  const value = parsed.ok ? parsed.value : undefined;
  const dirty = !parsed.ok || canonicalJson(parsed.value) !== canonicalJson(saved.definition);
  const { result, checking } = useValidation(text, value, parsed.ok);
  const [refused, setRefused] = useState<{ text: string; problems: Problem[] }>();
  const [savedNotice, setSavedNotice] = useState<string>();

  // Unsaved work survives a reload or a wrong click (this tab only).
  useEffect(() => {
    if (dirty) sessionStorage.setItem(draftKey(id), JSON.stringify({ text, base: saved.version }));
    else sessionStorage.removeItem(draftKey(id));
  }, [text, dirty, id, saved.version]);
  useEffect(() => {
    if (!dirty) return;
    const warn = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener('beforeunload', warn);
    return () => window.removeEventListener('beforeunload', warn);
  }, [dirty]);

  const renamed =
    parsed.ok &&
    typeof (value as { id?: unknown } | null)?.id === 'string' &&
    (value as { id: string }).id !== id
      ? (value as { id: string }).id
      : undefined;
  const checked = result && result.text === text ? result : undefined;
  const problems: Problem[] = [
    ...new Map(
      [...(checked?.problems ?? []), ...(refused && refused.text === text ? refused.problems : [])].map(
        (p) => [`${p.path}\n${p.message}`, p],
      ),
    ).values(),
  ];
  const serverOk = checked !== undefined && checked.problems.length === 0 && !checked.error;
  const canSave = parsed.ok && dirty && !renamed && problems.length === 0;

  const save = useAction(async () => {
    try {
      const res = await api<{ outcome: string; ruleSet: StoredRuleSet }>(`/rules/${seg(id)}`, {
        method: 'PUT',
        json: value,
      });
      setSavedNotice(
        res.outcome === 'unchanged'
          ? `Nothing to save: identical to version ${res.ruleSet.version}.`
          : `Saved as version ${res.ruleSet.version}. Channels that use "${id}" are being rebuilt.`,
      );
      setLoadedVersion(undefined);
      props.reloadSaved();
      versions.reload();
    } catch (err) {
      const problemsOf = (err as ApiError).details as { problems?: Problem[] } | undefined;
      if (err instanceof ApiError && err.code === 'RULE_INVALID' && problemsOf?.problems) {
        setRefused({ text, problems: problemsOf.problems });
      }
      throw err;
    }
  });
  const saveAsNew = useAction(async (newId: string) => {
    const exists = await api(`/rules/${seg(newId)}`).then(
      () => true,
      (err: unknown) => {
        if (err instanceof ApiError && err.code === 'RULE_SET_NOT_FOUND') return false;
        throw err;
      },
    );
    if (exists) {
      throw new ApiError(
        409,
        'RULE_SET_EXISTS',
        `A rule set "${newId}" exists already: open it to change it.`,
      );
    }
    await api(`/rules/${seg(newId)}`, { method: 'PUT', json: value });
    sessionStorage.removeItem(draftKey(id));
    navigate(href('rules', newId));
  });

  const area = useRef<HTMLTextAreaElement>(null);
  const [cursor, setCursor] = useState(0);
  const jump = (span: Span) => {
    const ta = area.current;
    if (!ta) return;
    ta.focus();
    ta.setSelectionRange(span.start, span.end);
    const lineHeight = Number.parseFloat(getComputedStyle(ta).lineHeight) || 18;
    ta.scrollTop = Math.max(0, (lineColumn(text, span.start).line - 4) * lineHeight);
    setCursor(span.start);
  };
  const where = useMemo(() => {
    const lc = lineColumn(text, cursor);
    let path: string | undefined;
    if (parsed.ok) {
      let best: Span | undefined;
      for (const [p, s] of parsed.spans) {
        if (s.start <= cursor && cursor <= s.end && (!best || s.end - s.start <= best.end - best.start)) {
          best = s;
          path = p;
        }
      }
    }
    return { ...lc, path };
  }, [text, cursor, parsed]);

  const users = usersOf(channels.data?.channels, id);
  const targets: Array<{ target: PreviewTarget; label: string }> = [
    ...users.map((c) => ({
      target: { kind: 'channel' as const, id: c.id, catalog: c.catalog },
      label: `Channel ${c.id}: ${(c.definition.rules ?? []).join(' → ')}`,
    })),
    ...(catalogs.data?.catalogs ?? []).map((c) => ({
      target: { kind: 'catalog' as const, id: c.id },
      label: `Catalog ${c.id}: this rule set alone`,
    })),
  ];
  const draftForPreview = parsed.ok && !renamed && (serverOk || !dirty) ? value : undefined;

  const status = !parsed.ok ? (
    <p class="error-box" role="status">
      JSON syntax error at line {parsed.error.line}, column {parsed.error.column}.
    </p>
  ) : checking ? (
    <p class="muted" role="status">
      Checking…
    </p>
  ) : checked?.error ? (
    <ErrorBox error={checked.error} />
  ) : problems.length > 0 || renamed ? (
    <p class="notice" role="status">
      {problems.length + (renamed ? 1 : 0) === 1
        ? '1 problem: the server would refuse this rule set.'
        : `${problems.length + (renamed ? 1 : 0)} problems: the server would refuse this rule set.`}
    </p>
  ) : dirty ? (
    <p class="success" role="status">
      Valid, not saved yet{loadedVersion ? ` (version ${loadedVersion} loaded)` : ''}.
    </p>
  ) : (
    <p class="success" role="status">
      Valid: this is version {saved.version}, in force.
    </p>
  );

  return (
    <Page
      title={id}
      subtitle={typeof saved.definition.description === 'string' ? saved.definition.description : undefined}
      actions={<a href={href('rules')}>All rule sets</a>}
    >
      <Card testid="rule-facts">
        <Facts
          items={[
            ['Version in force', `v${saved.version}`],
            ['Saved', <Time at={saved.updatedAt} />],
            ['By', saved.author],
            ['Rules', fmtNumber(Array.isArray(saved.definition.rules) ? saved.definition.rules.length : 0)],
            [
              'Used by',
              channels.data ? (
                users.length > 0 ? (
                  <UsedBy channels={users} loaded />
                ) : (
                  'no channel: it changes no feed until a channel lists it'
                )
              ) : (
                '…'
              ),
            ],
          ]}
        />
      </Card>
      <div class="rs-workbench">
        <Card
          title="Rule set JSON"
          testid="rule-editor"
          actions={
            <>
              <button
                type="button"
                disabled={!parsed.ok}
                onClick={() => parsed.ok && setText(toEditorText(parsed.value))}
              >
                Format
              </button>
              <button
                type="button"
                disabled={!dirty}
                onClick={() => {
                  if (confirm('Discard the changes in the editor?')) {
                    setText(toEditorText(saved.definition));
                    setLoadedVersion(undefined);
                  }
                }}
              >
                Discard changes
              </button>
              <button
                type="button"
                class="primary"
                disabled={!canSave || save.busy}
                onClick={() => void save.run()}
              >
                {save.busy ? 'Saving…' : 'Save'}
              </button>
            </>
          }
        >
          {restoredDraft && dirty ? (
            <p class="notice">
              Your unsaved changes from earlier are back in the editor
              {restoredDraft.base !== saved.version
                ? ` (started from version ${restoredDraft.base}; version ${saved.version} is in force now)`
                : ''}
              .
            </p>
          ) : null}
          <textarea
            ref={area}
            class="editor"
            aria-label={`Rule set ${id} as JSON`}
            aria-describedby="rule-status"
            spellcheck={false}
            autoComplete="off"
            autoCapitalize="off"
            value={text}
            onInput={(e) => {
              setText(e.currentTarget.value);
              setCursor(e.currentTarget.selectionStart);
              setSavedNotice(undefined);
            }}
            onKeyDown={(e) => {
              if ((e.ctrlKey || e.metaKey) && e.key === 's') {
                e.preventDefault();
                if (canSave && !save.busy) void save.run();
              }
            }}
            onKeyUp={(e) => setCursor(e.currentTarget.selectionStart)}
            onClick={(e) => setCursor(e.currentTarget.selectionStart)}
          />
          <p class="muted mono rs-cursor">
            Line {where.line}, column {where.column}
            {where.path ? ` · ${where.path}` : ''}
          </p>
          <div id="rule-status">{status}</div>
          <ul class="problems rs-problems" data-testid="rule-problems">
            {!parsed.ok ? (
              <li>
                <button
                  type="button"
                  class="link"
                  onClick={() => jump({ start: parsed.error.offset, end: parsed.error.offset + 1 })}
                >
                  <code>
                    line {parsed.error.line}, column {parsed.error.column}
                  </code>
                </button>
                : {parsed.error.message}
              </li>
            ) : null}
            {renamed && parsed.ok ? (
              <li>
                <ProblemPath path="$.id" spans={parsed.spans} text={text} jump={jump} />: this page edits "
                {id}". Put the id back, or save the JSON as a new rule set "{renamed}" (button below).
              </li>
            ) : null}
            {parsed.ok
              ? problems.map((p, n) => (
                  <li key={`${p.path}:${n}`}>
                    <ProblemPath path={p.path} spans={parsed.spans} text={text} jump={jump} />: {p.message}
                  </li>
                ))
              : null}
          </ul>
          {refused && refused.text === text ? (
            <p class="muted">
              The server refused to save for the problems above; version {saved.version} stays in force.
            </p>
          ) : null}
          {save.error && !(save.error.code === 'RULE_INVALID' && refused?.text === text) ? (
            <ErrorBox error={save.error} />
          ) : null}
          {savedNotice ? (
            <p class="success" role="status" data-testid="rule-saved">
              {savedNotice}
            </p>
          ) : null}
          {renamed && serverOk ? (
            <div class="actions">
              <button type="button" disabled={saveAsNew.busy} onClick={() => void saveAsNew.run(renamed)}>
                Save as a new rule set "{renamed}"
              </button>
            </div>
          ) : null}
          {saveAsNew.error ? <ErrorBox error={saveAsNew.error} /> : null}
          <p class="muted">
            Checked as you type; <kbd>Ctrl</kbd>+<kbd>S</kbd> saves. Saving makes a new version; channels that
            use the rule set are rebuilt.
          </p>
        </Card>
        <RuleHelp />
      </div>
      <RulePreview
        ruleSetId={id}
        draft={draftForPreview}
        draftKey={`${saved.version}\n${parsed.ok ? canonicalJson(parsed.value) : text}`}
        dirty={dirty}
        targets={targets}
      />
      <RuleVersions
        id={id}
        current={saved.version}
        versions={versions}
        dirty={dirty}
        onLoad={(t, v) => {
          setText(t);
          setLoadedVersion(v);
          setSavedNotice(undefined);
          area.current?.scrollIntoView({ block: 'center' });
        }}
        onRestored={(rs) => {
          setText(toEditorText(rs.definition));
          setSavedNotice(undefined);
          setLoadedVersion(undefined);
          props.reloadSaved();
          versions.reload();
        }}
      />
    </Page>
  );
}

/** A problem's JSON path, as a button that selects it in the editor, with its line. */
function ProblemPath(props: {
  path: string;
  spans: Map<string, Span>;
  text: string;
  jump: (span: Span) => void;
}) {
  const span = spanOf(props.spans, props.path);
  if (!span) return <code>{props.path}</code>;
  return (
    <>
      <button type="button" class="link" onClick={() => props.jump(span)} title="Show it in the editor">
        <code>{props.path}</code>
      </button>
      <span class="muted"> (line {lineColumn(props.text, span.start).line})</span>
    </>
  );
}
