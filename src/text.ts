/**
 * Text for people, shared by the CLI and the dashboard: a value, a size, one readable line
 * for a history event. Plain TypeScript, no Node or DOM module: the dashboard bundles it.
 */

/** The parts of an event the line is made from. */
export interface SummarizedEvent {
  type: string;
  data: Record<string, unknown>;
}

const numbers = new Intl.NumberFormat('en');

/** A value as text: a string as it is, ∅ for none, anything else as JSON. */
export function showValue(v: unknown): string {
  if (v === null || v === undefined) return '∅';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

/** Text cut to `max` characters, with an ellipsis when cut. */
export function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** A size in powers of 1024: 512 B, 12.4 KiB, 3.1 MiB, 1.2 GiB. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return i === 0 ? `${value} B` : `${value.toFixed(1)} ${units[i]}`;
}

/** A value as text, cut to `max` characters (60). */
export function short(v: unknown, max = 60): string {
  return clip(showValue(v), max);
}

function count(v: unknown): string {
  return typeof v === 'number' ? numbers.format(v) : '–';
}

/** Whether a JSON value is an object (not null, not an array). */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The line for one event (its type decides which parts of its data are shown). */
export function summarizeEvent(e: SummarizedEvent): string {
  const d = e.data;
  switch (e.type) {
    case 'product.updated':
      return isRecord(d.changes)
        ? Object.entries(d.changes as Record<string, { before: unknown; after: unknown }>)
            .map(([k, v]) => `${k}: ${short(v.before)} → ${short(v.after)}`)
            .join('; ')
        : '';
    case 'product.created':
      return isRecord(d.fields) ? `${Object.keys(d.fields).length} fields` : '';
    case 'publication.published':
      return `version ${showValue(d.version)}: ${count(d.items)} items (+${count(d.added)} −${count(
        d.removed,
      )} ~${count(d.changed)}), ${showValue(d.reason)}`;
    case 'rules.created':
    case 'rules.updated': {
      const diff = isRecord(d.diff) ? d.diff : {};
      const n = (k: string) => (Array.isArray(diff[k]) ? (diff[k] as unknown[]).length : 0);
      const changes = [
        n('added') ? `${n('added')} rules added` : '',
        n('changed') ? `${n('changed')} changed` : '',
        n('removed') ? `${n('removed')} removed` : '',
        diff.reordered ? 'reordered' : '',
      ].filter(Boolean);
      return `rule set ${showValue(d.ruleSet)} version ${showValue(d.version)}${
        d.restoredFrom ? ` (restored from version ${showValue(d.restoredFrom)})` : ''
      }${changes.length ? `: ${changes.join(', ')}` : ''}`;
    }
    case 'publication.failed':
      return showValue(d.error ?? d.message ?? d.reason);
    case 'stock.moved':
      return `${Number(d.delta) > 0 ? '+' : ''}${showValue(d.delta)} (${showValue(d.cause)}${
        d.order ? `, order ${showValue(d.order)}` : ''
      })`;
    case 'stock.oversold':
      return `${showValue(d.units)} units oversold by order ${showValue(d.order)} (effective stock ${showValue(
        d.effectiveStock,
      )})`;
    case 'order.reported': {
      const moves = Array.isArray(d.movements) ? d.movements.length : 0;
      const late = isRecord(d.outOfOrder)
        ? `, after it was ${showValue(d.outOfOrder.closedBy)}: out of order, no units taken`
        : '';
      return `order ${showValue(d.order)} ${showValue(d.status)}${late}: ${moves} stock movements${
        Array.isArray(d.unlinked) && d.unlinked.length ? `, ${d.unlinked.length} unknown skus` : ''
      }`;
    }
    case 'stock.adjusted': {
      const c = isRecord(d.counts) ? d.counts : {};
      const adjusted = Array.isArray(d.adjusted)
        ? (d.adjusted as Array<{ sku: string; quantity: number }>)
        : [];
      const shown = adjusted
        .slice(0, 3)
        .map((a) => `${a.sku} → ${a.quantity}`)
        .join(', ');
      return `${count(c.adjusted)} adjusted${shown ? ` (${shown}${adjusted.length > 3 ? ', …' : ''})` : ''}, ${count(
        c.unchanged,
      )} unchanged, ${count(c.unknown)} unknown, ${count(c.notManaged)} not managed`;
    }
    case 'stock.reconciled':
      return `${count(d.entries)} ledger entries reflected by the import`;
  }
  if (isRecord(d.counts)) {
    const c = d.counts;
    const base = `rows ${count(c.rows)}, created ${count(c.created)}, updated ${count(c.updated)}, unchanged ${count(
      c.unchanged,
    )}, removed ${count(c.removed)}, errors ${count(c.errors)}`;
    if (Array.isArray(d.reasons))
      return `${base}; held: ${(d.reasons as Array<{ message: string }>).map((r) => r.message).join('; ')}`;
    return base;
  }
  if (typeof d.reason === 'string') return d.reason;
  if (typeof d.error === 'string') return d.error;
  if (typeof d.source === 'string') return `source ${d.source}`;
  if (typeof d.version === 'number') return `version ${d.version}`;
  const text = JSON.stringify(d);
  return text === '{}' ? '' : short(d, 160);
}

/** What `numberFormatText` reads: how an import run read its feed's numbers. */
interface NumberFormatShown {
  decimalSeparator: '.' | ',';
  source: 'option' | 'detected' | 'default';
  evidence?: { point: number; comma: number; example?: string };
}

/** How a run read the feed's numbers, in words ("decimal comma (4,50), detected from 12 values…"). */
export function numberFormatText(f: NumberFormatShown): string {
  const name = f.decimalSeparator === ',' ? 'decimal comma (4,50)' : 'decimal point (4.50)';
  if (f.source === 'option') return `${name}, as the catalog says`;
  if (f.source === 'default') return `${name}: no value told, the default`;
  const told = (f.decimalSeparator === ',' ? f.evidence?.comma : f.evidence?.point) ?? 0;
  const other = (f.decimalSeparator === ',' ? f.evidence?.point : f.evidence?.comma) ?? 0;
  return `${name}, detected from ${told.toLocaleString('en-US')} value${told === 1 ? '' : 's'}${
    f.evidence?.example ? ` such as "${f.evidence.example}"` : ''
  }${other > 0 ? ` (${other.toLocaleString('en-US')} read the other way)` : ''}`;
}

/**
 * An import run's status as people should read it: an applied run with row errors is
 * "applied with errors", a warning, not a plain success.
 */
export function runStatusText(run: { status: string; counts: { errors: number } }): string {
  return run.status === 'applied' && run.counts.errors > 0 ? 'applied with errors' : run.status;
}

/** "1 version", "3 versions", "1,200 products". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}
