import { describe, expect, it } from 'vitest';
import { formatBytes, summarizeEvent } from '../../src/text.js';

// What the CLI and the dashboard show: the line for each kind of history event, sizes.
describe('text for people', () => {
  it('says how stock moved and why', () => {
    expect(summarizeEvent({ type: 'stock.moved', data: { delta: -2, cause: 'order', order: 'O-7' } })).toBe(
      '-2 (order, order O-7)',
    );
    expect(
      summarizeEvent({ type: 'stock.moved', data: { delta: 2, cause: 'cancellation', order: 'O-7' } }),
    ).toBe('+2 (cancellation, order O-7)');
  });

  it('counts a stock push by outcome and names the first skus adjusted', () => {
    const line = summarizeEvent({
      type: 'stock.adjusted',
      data: {
        adjusted: [
          { sku: 'A', quantity: 3, delta: -1 },
          { sku: 'B', quantity: 0, delta: -4 },
          { sku: 'C', quantity: 9, delta: 9 },
          { sku: 'D', quantity: 1, delta: 1 },
        ],
        counts: { adjusted: 4, unchanged: 1200, unknown: 2, notManaged: 0 },
        unknown: ['X', 'Y'],
      },
    });
    expect(line).toBe('4 adjusted (A → 3, B → 0, C → 9, …), 1,200 unchanged, 2 unknown, 0 not managed');
  });

  it('tells reconciled ledger entries, and an import run by its counts and held reasons', () => {
    expect(summarizeEvent({ type: 'stock.reconciled', data: { entries: 12 } })).toBe(
      '12 ledger entries reflected by the import',
    );
    expect(
      summarizeEvent({
        type: 'import.held',
        data: {
          counts: { rows: 1, created: 0, updated: 0, unchanged: 1, removed: 0, errors: 0 },
          reasons: [{ message: 'would remove 24 of 25 products' }],
        },
      }),
    ).toBe(
      'rows 1, created 0, updated 0, unchanged 1, removed 0, errors 0; held: would remove 24 of 25 products',
    );
  });

  it('shows an order report with its movements and unknown skus', () => {
    expect(
      summarizeEvent({
        type: 'order.reported',
        data: { order: 'O-1', status: 'paid', movements: [{ sku: 'A' }], unlinked: [{ sku: 'Z' }] },
      }),
    ).toBe('order O-1 paid: 1 stock movements, 1 unknown skus');
  });

  it('gives sizes in powers of 1024', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(12.4 * 1024)).toBe('12.4 KiB');
    expect(formatBytes(632 * 1024 ** 2)).toBe('632.0 MiB');
    expect(formatBytes(3 * 1024 ** 4)).toBe('3.0 TiB');
  });
});
