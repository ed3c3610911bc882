import { useState } from 'preact/hooks';
import type { RuleVocabulary } from '../../rules/vocabulary.js';
import { Card, CopyButton, fmtNumber, Loaded, useApi } from '../ui.js';

// The rule editor's help: what the engine knows, as GET /api/rule-engine reads it from the
// engine and its action registry (src/rules/actions/), so it cannot drift from what
// validation accepts.

const VALUE_TEXT: Record<string, string> = {
  primitive: 'a string, number, true/false or null',
  number: 'a number',
  list: 'a list [ … ]',
  string: 'a string',
  pattern: 'a regular expression',
  none: 'none',
};

/** Operators, decorators, actions, facts and limits of the rule engine, with a link to /docs. */
export function RuleHelp() {
  const state = useApi<RuleVocabulary>('/rule-engine');
  // Open beside the editor on a laptop; folded on a phone, where it sits under the editor.
  const [wide] = useState(() => window.matchMedia('(min-width: 961px)').matches);
  return (
    <Card title="Writing rules" testid="rule-help" class="rs-help">
      <p class="muted">
        Rules apply in order, each to the product as the rules before it left it. A rule is{' '}
        <code>{'{ "id", "when", "then", "window"? }'}</code>; <code>when</code> is{' '}
        <code>{'{ "all": [ … ] }'}</code>, <code>{'{ "any": [ … ] }'}</code> or <code>{'{ "not": … }'}</code>{' '}
        around conditions like{' '}
        <code>{'{ "fact": "quantity", "operator": "lessThanInclusive", "value": 3 }'}</code>;{' '}
        <code>{'{ "all": [] }'}</code> always holds. Compare with another field with{' '}
        <code>{'"value": { "fact": "price" }'}</code>.
      </p>
      <Loaded state={state}>
        {(v) => (
          <>
            <details open={wide}>
              <summary>
                <strong>Operators</strong> ({v.operators.length})
              </summary>
              <div class="table-scroll">
                <table>
                  <thead>
                    <tr>
                      <th>Operator</th>
                      <th>Value</th>
                      <th>True when</th>
                    </tr>
                  </thead>
                  <tbody>
                    {v.operators.map((o) => (
                      <tr key={o.name}>
                        <td>
                          <code>{o.name}</code>
                        </td>
                        <td class="muted">{VALUE_TEXT[o.value] ?? o.value}</td>
                        <td>{o.description}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              <p class="muted">
                Decorators go before an operator, with a colon (<code>not:in</code>,{' '}
                <code>someFact:startsWith</code>):
              </p>
              <ul>
                {v.decorators.map((d) => (
                  <li key={d.name}>
                    <code>{d.name}</code>: {d.description}
                  </li>
                ))}
              </ul>
            </details>
            <details>
              <summary>
                <strong>Actions</strong> ({v.actions.length}): {v.actions.map((a) => a.name).join(', ')}
              </summary>
              {v.actions.map((a) => (
                <div key={a.name} class="rs-action">
                  <p>
                    <code>
                      <strong>{a.name}</strong>
                    </code>
                    : {a.description}
                  </p>
                  <ul>
                    {a.properties.map((p) => (
                      <li key={p.name}>
                        <code>{p.name}</code> {p.required ? '' : <span class="muted">(optional)</span>}{' '}
                        {p.description}
                      </li>
                    ))}
                  </ul>
                  <div class="actions">
                    <code class="rs-example">{JSON.stringify(a.example)}</code>
                    <CopyButton text={JSON.stringify(a.example)} />
                  </div>
                </div>
              ))}
            </details>
            <details>
              <summary>
                <strong>Facts</strong> ({v.facts.length} by name, and any source column)
              </summary>
              <p>
                {v.facts.map((f, n) => (
                  <span key={f.name}>
                    {n > 0 ? ', ' : ''}
                    <code>{f.name}</code> <span class="muted">{f.type}</span>
                  </span>
                ))}
              </p>
              <p class="muted">
                Numeric actions (
                {v.actions
                  .filter((a) => a.numeric)
                  .map((a) => a.name)
                  .join(', ')}
                ) work on{' '}
                {v.facts
                  .filter((f) => f.numeric)
                  .map((f) => f.name)
                  .join(', ')}{' '}
                and numeric source columns. <code>now</code> is the evaluation time.
              </p>
            </details>
            <details>
              <summary>
                <strong>Date windows and limits</strong>
              </summary>
              <p>
                <code>
                  {
                    '"window": { "start": "2026-12-24", "end": "2026-12-27T00:00:00", "timezone": "Europe/Paris" }'
                  }
                </code>{' '}
                applies the rule from start (included) to end (excluded), wall-clock time in the zone (UTC if
                none). Use “As of” in the preview to see a window open.
              </p>
              <p class="muted">
                At most {fmtNumber(v.limits.rules)} rules, {fmtNumber(v.limits.conditions)} conditions and{' '}
                {fmtNumber(v.limits.actions)} actions per rule; conditions nest {fmtNumber(v.limits.depth)}{' '}
                deep.
              </p>
            </details>
          </>
        )}
      </Loaded>
      <p>
        <a href="/docs" target="_blank" rel="noopener">
          API reference (/docs)
        </a>{' '}
        · the schema editors use is <code>rules/schema.json</code>.
      </p>
    </Card>
  );
}
