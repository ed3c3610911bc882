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

/**
 * A one-line progress display on a terminal (stderr), silent elsewhere so pipes and
 * logs stay clean.
 */
export class Progress {
  private readonly enabled: boolean;
  private last = 0;
  private readonly started = Date.now();

  constructor(
    private readonly label: string,
    stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.enabled = stream.isTTY === true;
    this.stream = stream;
  }

  private readonly stream: NodeJS.WriteStream;

  /** Shows `label phase: N rows (R rows/s)`, at most ten times a second. */
  update(phase: string, rows: number): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.last < 100) return;
    this.last = now;
    const secs = (now - this.started) / 1000;
    const rate = secs > 0 ? Math.round(rows / secs) : 0;
    const spinner = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏'[Math.floor(now / 100) % 10];
    this.stream.write(
      `\r\x1b[2K${spinner} ${this.label} ${phase}: ${rows.toLocaleString('en')} rows (${rate.toLocaleString('en')} rows/s)`,
    );
  }

  /** Clears the line. */
  done(): void {
    if (this.enabled) this.stream.write('\r\x1b[2K');
  }
}

/**
 * A value as the terminal shows it: ∅ for nothing, text as is (quoted when `quote`, so
 * that "10" and 10 read differently), anything else as JSON, cut to `max` characters.
 */
export function showValue(v: unknown, opts: { quote?: boolean; max?: number } = {}): string {
  if (v === null || v === undefined) return '∅';
  const s = typeof v === 'string' && !opts.quote ? v : JSON.stringify(v);
  return opts.max !== undefined && s.length > opts.max ? `${s.slice(0, opts.max)}…` : s;
}
