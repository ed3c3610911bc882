import http from 'node:http';
import { pipeline, type Readable, Transform, type TransformCallback } from 'node:stream';
import { describeHolder, type StoreHolder, storeLockPath } from '../store/store-lock.js';

/** An answer of the running server: its status and JSON body. */
export interface ServeAnswer<T> {
  status: number;
  body: T;
}

/** What a request sends: a query string, and a JSON body or a streamed upload. */
export interface ServeRequest {
  query?: Record<string, string | number | boolean | undefined>;
  json?: unknown;
  upload?: {
    stream: Readable;
    /** Sent as Content-Length when known and not zero (a zero-length upload is still an upload). */
    size: number | undefined;
    /** Told of the bytes sent so far. */
    onSent?: (bytes: number) => void;
  };
}

/** An error answer of the running server, as the one line the command line prints. */
export class ServeError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | undefined,
    readonly details: unknown,
  ) {
    super(message);
    this.name = 'ServeError';
  }
}

type ErrorAnswer = { error?: { code?: string; message?: string; details?: unknown } };

/**
 * The API of the `serve` that holds the embedded store, as the command line reaches it: at
 * the address in DATA_DIR/store.lock, with the local credential kept there.
 */
export class ServeClient {
  constructor(
    readonly holder: StoreHolder,
    private readonly endpoint: { url: string; token: string },
    private readonly dataDir: string,
  ) {}

  /** Sends a request; answers its status and body whatever the status (a refused connection throws). */
  send<T>(method: string, path: string, request: ServeRequest = {}): Promise<ServeAnswer<T>> {
    const url = new URL(path, this.endpoint.url);
    for (const [k, v] of Object.entries(request.query ?? {})) {
      if (v !== undefined) url.searchParams.set(k, String(v));
    }
    const headers: http.OutgoingHttpHeaders = {
      authorization: `Bearer ${this.endpoint.token}`,
      accept: 'application/json',
    };
    let payload: Buffer | undefined;
    const upload = request.upload;
    if (request.json !== undefined) {
      payload = Buffer.from(JSON.stringify(request.json));
      headers['content-type'] = 'application/json';
      headers['content-length'] = payload.length;
    } else if (upload) {
      headers['content-type'] = 'application/octet-stream';
      // No length (chunked) for an empty upload: a zero Content-Length would mean "no body".
      if (upload.size !== undefined && upload.size > 0) headers['content-length'] = upload.size;
    } else if (method !== 'GET') {
      headers['content-length'] = 0;
    }
    return new Promise((resolve, reject) => {
      const req = http.request(url, { method, headers });
      let answered = false;
      req.on('response', (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => reject(this.unreachable(err)));
        res.on('end', () => {
          // An answer that came before the whole upload (an unknown catalog) ends the sending.
          if (upload && !req.writableFinished) req.destroy();
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown;
          try {
            body = text === '' ? undefined : JSON.parse(text);
          } catch {
            body = { error: { message: text.split('\n')[0] } };
          }
          resolve({ status: res.statusCode ?? 0, body: body as T });
        });
      });
      req.on('error', (err) => {
        if (!answered) reject(this.unreachable(err));
      });
      if (upload) {
        let sent = 0;
        const counter = new Transform({
          transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
            sent += chunk.length;
            upload.onSent?.(sent);
            done(null, chunk);
          },
        });
        pipeline(upload.stream, counter, req, (err) => {
          // A source that cannot be read stops the request; one cut by the answer is no error.
          if (err && !answered) reject(err);
        });
      } else {
        req.end(payload);
      }
    });
  }

  /** Sends a request and answers its body; an error answer throws the server's message. */
  async call<T>(method: string, path: string, request: ServeRequest = {}): Promise<T> {
    const answer = await this.send<T>(method, path, request);
    if (answer.status >= 400) throw this.failure(answer);
    return answer.body;
  }

  /** The one-line error of an error answer. */
  failure(answer: ServeAnswer<unknown>): ServeError {
    const error = (answer.body as ErrorAnswer | undefined)?.error;
    const code = error?.code;
    let message = error?.message ?? `HTTP ${answer.status}`;
    if (answer.status === 401)
      message = `${describeHolder(this.holder)} refused the credential in ${storeLockPath(this.dataDir)}`;
    else if (answer.status >= 500 && code === 'INTERNAL')
      message = `${message} (feedwright serve, pid ${this.holder.pid})`;
    return new ServeError(message, answer.status, code, error?.details);
  }

  private unreachable(err: Error): Error {
    const code = (err as NodeJS.ErrnoException).code ?? err.message;
    return new Error(
      `cannot reach ${describeHolder(this.holder)}, which holds the embedded store in ${this.dataDir}: ${code}`,
    );
  }
}

/** A path segment, escaped. */
export function seg(value: string | number): string {
  return encodeURIComponent(String(value));
}
