// biome-ignore-all lint/suspicious/noTemplateCurlyInString: "${1:…}" is a VS Code snippet placeholder, not a template.
import type { ActionDefinition } from './definition.js';

/** `exclude`: leave the product out of the feed, recording the rule (and reason). */
export interface ExcludeAction {
  exclude: true;
  reason?: string;
}

export const exclude: ActionDefinition<ExcludeAction, 'exclude'> = {
  name: 'exclude',
  numeric: false,
  final: true,
  schema: {
    type: 'object',
    description: 'Leave the product out of the feed.',
    additionalProperties: false,
    required: ['exclude'],
    properties: {
      exclude: {
        const: true,
        description:
          "Leave the product out of the channel's feed; the rule is recorded as the reason. Later rules do not run for it.",
      },
      reason: {
        type: 'string',
        maxLength: 500,
        description: "The reason recorded (default: the rule's description).",
      },
    },
  },
  example: { exclude: true, reason: 'not sold on this channel' },
  snippets: [{ label: 'exclude', body: { exclude: true, reason: '${1}' } }],
  plan(action, p) {
    const reason = action.reason ?? p.rule.description ?? `excluded by rule ${p.rule.id}`;
    return {
      kind: 'exclude',
      action: 'exclude',
      path: p.path,
      exclusion: Object.freeze({ ruleSet: p.ruleSet, rule: p.rule.id, reason }),
    };
  },
};
