import { DEFAULT_MAX_DROP_PERCENT, DEFAULT_MAX_ERROR_PERCENT } from '../catalog/definition.js';
import type { CatalogDefinition } from '../model/catalog.js';
import type { HeldReason, RunCounts } from '../store/imports.js';
import type { DiffCounts } from '../store/staging.js';

/**
 * The safety gate (SPEC §3): why a run must be held, if it must. `invalid` is the number of
 * rows that are not valid products (row errors, but for a partial feed's unknown skus).
 */
export function gate(
  def: CatalogDefinition,
  missingColumns: string[],
  counts: RunCounts,
  invalid: number,
  diff: DiffCounts,
  mode: 'full' | 'partial',
): HeldReason[] {
  const reasons: HeldReason[] = [];
  if (missingColumns.length > 0) {
    reasons.push({
      code: 'missing_columns',
      message: `the feed lacks mapped column${missingColumns.length > 1 ? 's' : ''} ${missingColumns.map((c) => `"${c}"`).join(', ')}`,
    });
  }
  if (counts.valid === 0) {
    reasons.push({ code: 'no_valid_rows', message: `no valid row among ${counts.rows} rows` });
  }
  const maxErrors = def.safety?.maxErrorPercent ?? DEFAULT_MAX_ERROR_PERCENT;
  // Rows that are products or meant to be (a Shopify image row is neither).
  const considered = counts.rows - counts.skipped;
  if (counts.valid > 0 && considered > 0 && (invalid / considered) * 100 > maxErrors) {
    const pct = Math.round((invalid / considered) * 1000) / 10;
    reasons.push({
      code: 'too_many_errors',
      message: `${invalid} of ${considered} rows (${pct} %) are invalid, more than the ${maxErrors} % allowed`,
    });
  }
  const max = def.safety?.maxDropPercent ?? DEFAULT_MAX_DROP_PERCENT;
  if (mode === 'full' && diff.existing > 0 && (diff.removed / diff.existing) * 100 > max) {
    const pct = Math.round((diff.removed / diff.existing) * 1000) / 10;
    reasons.push({
      code: 'too_many_removed',
      message: `would remove ${diff.removed} of ${diff.existing} products (${pct} %), more than the ${max} % allowed`,
    });
  }
  return reasons;
}
