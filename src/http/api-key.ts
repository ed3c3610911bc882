import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** File under DATA_DIR that keeps a generated API key across restarts. */
export const API_KEY_FILE = 'api-key';

/**
 * The API key: FEEDWRIGHT_API_KEY when set; otherwise the one generated on an earlier
 * start (DATA_DIR/api-key), or a new 256-bit key written there with mode 0600.
 */
export function ensureApiKey(
  configured: string | undefined,
  dataDir: string,
): { key: string; generated: boolean } {
  if (configured) return { key: configured, generated: false };
  const file = path.join(dataDir, API_KEY_FILE);
  try {
    const key = fs.readFileSync(file, 'utf8').trim();
    if (key) return { key, generated: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  fs.mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(32).toString('base64url');
  fs.writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return { key, generated: true };
}

/** Compares a presented key with the real one in constant time. */
export function keyMatches(presented: string, actual: string): boolean {
  // Hashing first gives equal lengths, so timingSafeEqual never leaks the key's length.
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(actual).digest();
  return timingSafeEqual(a, b);
}
