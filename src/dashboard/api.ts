// The dashboard's one way to the API: the key from sign-in as a Bearer token, the house
// error body turned into an ApiError, and a sign-out when the key stops working.

const KEY_STORAGE = 'feedwright.apiKey';
const listeners = new Set<() => void>();

/** The API key this browser signed in with, or null. */
export function storedKey(): string | null {
  return localStorage.getItem(KEY_STORAGE);
}

/** Keeps the key (this browser only) and tells the shell. */
export function signIn(key: string): void {
  localStorage.setItem(KEY_STORAGE, key);
  for (const l of listeners) l();
}

/** Forgets the key and tells the shell. */
export function signOut(): void {
  localStorage.removeItem(KEY_STORAGE);
  for (const l of listeners) l();
}

/** Calls `listener` on sign-in and sign-out; returns the unsubscribe. */
export function onAuthChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** An API refusal, as the server worded it. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Options of an API call: `json` is sent as the JSON body; `body` as is (uploads). */
export interface ApiInit {
  method?: string;
  json?: unknown;
  body?: BodyInit;
  contentType?: string;
  key?: string;
  signal?: AbortSignal;
}

/** Calls `/api{path}` and answers the parsed JSON; throws ApiError on a 4xx/5xx. */
export async function api<T>(path: string, init: ApiInit = {}): Promise<T> {
  const res = await send(path, init);
  const text = await res.text();
  const body: unknown = text ? safeJson(text) : null;
  if (!res.ok) throw toApiError(res, body);
  return body as T;
}

async function send(path: string, init: ApiInit): Promise<Response> {
  const key = init.key ?? storedKey();
  const headers: Record<string, string> = {};
  if (key) headers.authorization = `Bearer ${key}`;
  let body = init.body;
  if (init.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(init.json);
  } else if (init.contentType) {
    headers['content-type'] = init.contentType;
  }
  let res: Response;
  try {
    res = await fetch(`/api${path}`, { method: init.method ?? 'GET', headers, body, signal: init.signal });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'NETWORK', 'the server cannot be reached; is feedwright running?');
  }
  // A key that worked and no longer does (rotated, server restarted with another key).
  if (res.status === 401 && init.key === undefined && storedKey()) signOut();
  return res;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function toApiError(res: Response, body: unknown): ApiError {
  const err = (body as { error?: { code?: string; message?: string; details?: unknown } } | null)?.error;
  return new ApiError(
    res.status,
    err?.code ?? `HTTP_${res.status}`,
    err?.message ?? `${res.status} ${res.statusText}`,
    err?.details,
  );
}

/** Encodes a path segment (skus may hold anything). */
export function seg(value: string | number): string {
  return encodeURIComponent(String(value));
}

/** A query string from the defined, non-empty values. */
export function qs(params: Record<string, string | number | boolean | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}
