import { UsageError } from './args.js';

/** Reads `--at ISO-TIME` (default: now); a malformed time is a usage error. */
export function parseAt(at: string | undefined): Date {
  if (at === undefined) return new Date();
  const d = new Date(at);
  if (Number.isNaN(d.getTime()))
    throw new UsageError(`--at "${at}" is not an ISO time (2026-12-01T09:00:00Z)`);
  return d;
}
