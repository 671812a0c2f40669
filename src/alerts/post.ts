import { STATUS_CODES, request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { redactUrl } from '../redact.ts';

/**
 * One bounded HTTP POST to an alert receiver (issue 11: a receiver must not be able to hurt the
 * node). `node:http` rather than `fetch`, for control over every limit:
 * - redirects are never followed: a 3xx is a failed delivery, so a receiver cannot send the
 *   alerts to another origin (a 307 used to make edgelake POST the whole payload there);
 * - at most {@link MAX_RESPONSE_BYTES} of a response body are read, then the connection is cut
 *   (a 512 MB answer used to take 1.69 GB of RSS);
 * - a connect timeout, and a deadline for the whole exchange, so a receiver that never answers
 *   or answers one byte a second is abandoned;
 * - response headers bounded by Node's default 16 KiB;
 * - nothing the receiver says is repeated (a reason phrase or body may echo its secret URL): a
 *   failure names the status and its standard reason phrase only.
 */

/** Response body bytes read at most; the rest is discarded with the connection. */
export const MAX_RESPONSE_BYTES = 64 * 1024;
/** Default connect timeout, ms. */
export const CONNECT_TIMEOUT_MS = 3_000;
/** Default deadline of a whole POST (connect, send, answer), ms. */
export const POST_DEADLINE_MS = 10_000;

/** What {@link postJson} resolves with: ok, or why not (no URL in it but a redacted redirect target; the caller names the receiver). */
export type PostResult = { readonly ok: true; readonly status: number } | { readonly ok: false; readonly error: string };

/** Options of {@link postJson}. */
export interface PostOptions {
  /** The receiver URL without user info (see `auth`). */
  readonly url: URL;
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly connectTimeoutMs?: number;
  readonly deadlineMs?: number;
  /** Aborting abandons the POST (a stop whose grace is over): it fails with "abandoned". */
  readonly signal?: AbortSignal;
}

/** POSTs `body`; never rejects. A 2xx is success; anything else is a failure with a reason. */
export function postJson(opts: PostOptions): Promise<PostResult> {
  const { url } = opts;
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const payload = Buffer.from(opts.body, 'utf8');
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: PostResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      clearTimeout(connect);
      opts.signal?.removeEventListener('abort', abandon);
      resolve(r);
    };
    const req = send(url, {
      method: 'POST',
      headers: { ...opts.headers, 'content-type': 'application/json', 'content-length': String(payload.byteLength) },
      agent: false, // one connection per POST: nothing pooled that a hostile receiver could keep open
    });
    const fail = (error: string) => {
      done({ ok: false, error });
      req.destroy();
    };
    const deadline = setTimeout(() => fail(`no complete answer within ${(opts.deadlineMs ?? POST_DEADLINE_MS) / 1000} s`), opts.deadlineMs ?? POST_DEADLINE_MS);
    const connect = setTimeout(() => fail(`could not connect within ${(opts.connectTimeoutMs ?? CONNECT_TIMEOUT_MS) / 1000} s`), opts.connectTimeoutMs ?? CONNECT_TIMEOUT_MS);
    const abandon = () => fail('abandoned: the run is stopping');
    if (opts.signal?.aborted) abandon();
    else opts.signal?.addEventListener('abort', abandon, { once: true });
    req.on('socket', (socket) => {
      const connected = () => clearTimeout(connect);
      if (socket.connecting) socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', connected);
      else connected();
    });
    req.on('error', (err: NodeJS.ErrnoException) => fail(err.code ?? err.message));
    req.on('response', (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      let seen = 0;
      res.on('data', (chunk: Buffer) => {
        seen += chunk.byteLength;
        // Enough of an answer: stop reading (the status already says how it went).
        if (seen > MAX_RESPONSE_BYTES) finish();
      });
      res.on('end', () => finish());
      res.on('error', () => finish());
      const finish = () => {
        if (status >= 200 && status < 300) done({ ok: true, status });
        else if (status >= 300 && status < 400) done({ ok: false, error: `HTTP ${status} redirect${locationOf(res, url)} not followed (alerts go only to the configured receiver)` });
        // The standard reason phrase, never the receiver's own: a receiver may echo its URL there (a 500 "at /services/T000/B000/XXXX").
        else done({ ok: false, error: `HTTP ${status} ${STATUS_CODES[status] ?? ''}`.trim() });
        res.destroy();
        req.destroy();
      };
    });
    req.end(payload);
  });
}

/** ` to <redacted location>` of a redirect, or '' when it has none or it is not a URL. */
function locationOf(res: IncomingMessage, base: URL): string {
  const loc = res.headers.location;
  if (!loc) return '';
  try {
    return ` to ${redactUrl(new URL(loc, base).toString())}`;
  } catch {
    return ' to an invalid location';
  }
}
