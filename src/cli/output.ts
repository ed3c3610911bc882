import { clip, formatBytes, showValue as valueText } from '../text.js';

/** Writes aligned columns; the first row is the header. */
export function formatTable(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, [...cell].length);
    });
  }
  return rows
    .map((row) =>
      row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  '),
    )
    .join('\n');
}

/** How far a long piece of work has come, when its end is known. */
export interface ProgressShare {
  done: number;
  total: number;
  /** `bytes` shows sizes (a file being read); `count` shows "N of M" in the display's unit. */
  unit: 'bytes' | 'count';
}

/**
 * A one-line progress display on a terminal (stderr): a bar and a percentage when the total
 * is known, the count and its rate always. Silent when the stream is not a terminal, so pipes
 * and logs stay clean.
 */
export class Progress {
  private readonly enabled: boolean;
  private last = 0;
  private readonly started = Date.now();
  private state: ProgressState | undefined;
  private ticker: NodeJS.Timeout | undefined;

  /** `unit` names what is counted: rows of a feed, products of a catalog, runs of a benchmark. */
  constructor(
    private readonly label: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly unit = 'rows',
  ) {
    this.enabled = stream.isTTY === true;
  }

  /** Whether anything is shown (stderr is a terminal): work done only for the display can be skipped. */
  get shown(): boolean {
    return this.enabled;
  }

  /**
   * Shows the phase, `count` (undefined when not known here: an import run by the server) and
   * how far along it is, at most ten times a second.
   */
  update(phase: string, count: number | undefined, share?: ProgressShare): void {
    if (!this.enabled) return;
    this.state = { phase, count, share };
    // Phases that report nothing for a while (an import's diff) keep the spinner turning.
    if (!this.ticker) {
      this.ticker = setInterval(() => this.draw(), 250);
      this.ticker.unref();
    }
    const now = Date.now();
    if (now - this.last < 100) return;
    this.last = now;
    this.draw();
  }

  /** Clears the line. */
  done(): void {
    clearInterval(this.ticker);
    this.ticker = undefined;
    if (this.enabled) this.stream.write('\r\x1b[2K');
  }

  private draw(): void {
    if (!this.state) return;
    const line = describeProgress(this.label, this.unit, this.state, Date.now() - this.started);
    // Wider than the terminal, the line would wrap and `\r` could no longer redraw it.
    const width = this.stream.columns ?? 0;
    this.stream.write(`\r\x1b[2K${width > 1 ? [...line].slice(0, width - 1).join('') : line}`);
  }
}

/** What a progress line shows. */
export interface ProgressState {
  phase: string;
  /** Undefined when the work is counted elsewhere (an upload imported by the server). */
  count: number | undefined;
  share?: ProgressShare | undefined;
}

/**
 * The text of a progress line: `⠋ import shop reading ███████░░░░░░  35 % · 12.4 MiB of 35.0 MiB ·
 * 120,000 rows (40,000 rows/s)`; without a count, the bytes' rate: `· 12.4 MiB of 35.0 MiB (4.1 MiB/s)`.
 */
export function describeProgress(
  label: string,
  unit: string,
  state: ProgressState,
  elapsedMs: number,
): string {
  const spinner = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏'[Math.floor(elapsedMs / 100) % 10];
  const parts = [`${spinner} ${label} ${state.phase}`];
  const share = state.share;
  if (share && share.total > 0) {
    const ratio = Math.min(1, Math.max(0, share.done / share.total));
    parts[0] += ` ${progressBar(ratio, 20)} ${String(Math.floor(ratio * 100)).padStart(3)} %`;
    if (share.unit === 'bytes') parts.push(`${formatBytes(share.done)} of ${formatBytes(share.total)}`);
  }
  const secs = elapsedMs / 1000;
  if (state.count === undefined) {
    if (share && share.total > 0 && share.unit === 'bytes' && secs > 0) {
      const last = parts.length - 1;
      parts[last] = `${parts[last]} (${formatBytes(Math.round(share.done / secs))}/s)`;
    }
    return parts.join(' · ');
  }
  const rate = secs > 0 ? Math.round(state.count / secs) : 0;
  const count =
    share && share.total > 0 && share.unit === 'count'
      ? `${fmt(state.count)} of ${fmt(share.total)} ${unit}`
      : `${fmt(state.count)} ${unit}`;
  parts.push(`${count} (${fmt(rate)} ${unit}/s)`);
  return parts.join(' · ');
}

/** A bar of `width` cells, `ratio` (0 to 1) of them full. */
export function progressBar(ratio: number, width: number): string {
  const full = Math.round(Math.min(1, Math.max(0, ratio)) * width);
  return `${'█'.repeat(full)}${'░'.repeat(width - full)}`;
}

function fmt(n: number): string {
  return n.toLocaleString('en');
}

/**
 * A value as the terminal shows it: ∅ for nothing, text as is (quoted when `quote`, so
 * that "10" and 10 read differently), anything else as JSON, cut to `max` characters.
 */
export function showValue(v: unknown, opts: { quote?: boolean; max?: number } = {}): string {
  const s = opts.quote && typeof v === 'string' ? JSON.stringify(v) : valueText(v);
  return opts.max === undefined ? s : clip(s, opts.max);
}
