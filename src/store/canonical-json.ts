/**
 * JSON with sorted keys, to compare values whatever their key order. The store's jsonb
 * gives keys back in its own order (shortest first), so a definition read back never
 * equals the one sent as text: compare them through this, as jsonb equality does.
 */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  const keys = Object.keys(v as object).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
}
