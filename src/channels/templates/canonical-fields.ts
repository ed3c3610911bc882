import { CANONICAL_FIELDS } from '../../model/fields.js';
import type { ResolvedField } from './definition.js';

/**
 * The canonical fields under their own names, minus manage_stock and status: both steer the
 * feed (stock, inclusion) and mean nothing to a marketplace once the rules have run. The
 * generic templates write them, and so does a channel with neither template nor fields.
 */
export function canonicalOutputFields(): ResolvedField[] {
  return CANONICAL_FIELDS.filter((f) => f !== 'manage_stock' && f !== 'status').map((f) => ({
    name: f,
    spec: { kind: 'field', field: f },
  }));
}
