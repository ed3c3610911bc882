import type { ActionDefinition } from './definition.js';

/** `keepActive`: an inactive product stays in the feed as active. */
export interface KeepActiveAction {
  keepActive: true;
}

export const keepActive: ActionDefinition<KeepActiveAction, 'keepActive'> = {
  name: 'keepActive',
  numeric: false,
  schema: {
    type: 'object',
    description: 'Keep Listing Active (LitCommerce): an inactive product stays in the feed, as active.',
    additionalProperties: false,
    required: ['keepActive'],
    properties: {
      keepActive: {
        const: true,
        description:
          "Keep the listing active whatever the product's status: an inactive product stays in the feed with status active.",
      },
    },
  },
  example: { keepActive: true },
  snippets: [{ label: 'keepActive', body: { keepActive: true } }],
  plan(_action, p) {
    return {
      kind: 'update',
      action: 'keepActive',
      path: p.path,
      target: p.target('status'),
      step: (status) => (status === 'inactive' ? 'active' : undefined),
      skipReason: () => 'the product is not inactive',
    };
  },
};
