/**
 * A fault-injecting HTTP proxy for S3 tests: it sits on 127.0.0.1 (port 0) in front of a real
 * S3-protocol server (s3rver, see s3server.ts) and forwards every request as is — method, path,
 * headers (the SigV4 signature covers the Host header, so it is kept verbatim) and the streamed
 * body — unless the current mode says to fail it. Tests switch modes at run time to play phases
 * of an outage, and read counters to prove that each fault was actually hit.
 */
import { createServer, request as httpRequest, Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** How the proxy treats requests from now on. */
export type FaultMode =
  /** Forward unchanged. */
  | { readonly mode: 'pass' }
  /** Answer with this status and an S3-style XML error: 500 InternalError or 503 SlowDown; nothing reaches the server. */
  | { readonly mode: 'status'; readonly status: 500 | 503 }
  /** Forward, but hold the server's answer back for `delayMs` ms before sending it on. */
  | { readonly mode: 'slow'; readonly delayMs: number }
  /** Destroy the client's connection without an answer (the client sees ECONNRESET, EPIPE or "socket hang up"). */
  | { readonly mode: 'reset' }
  /** Forward, except every `n`-th request (the n-th, 2n-th, … since this mode was set), which gets `status` as in 'status'. */
  | { readonly mode: 'every-nth'; readonly n: number; readonly status: 500 | 503 };

/** The name of a {@link FaultMode}. */
export type FaultModeName = FaultMode['mode'];

/** One request seen by the proxy, in arrival order. */
export interface ProxiedRequest {
  readonly method: string;
  /** Path and query, e.g. `/expanso-databricks-ingestion-us-west-2/sensor_readings/…`. */
  readonly url: string;
  /** The mode in force when it arrived. */
  readonly mode: FaultModeName;
  /** True when the proxy failed or delayed it instead of forwarding it as is. */
  readonly injected: boolean;
  /** The status the proxy answered with itself (500 or 503), when it did. */
  readonly faultStatus?: 500 | 503;
}

/** Counters of a {@link FaultProxy}, per mode name. */
export interface FaultProxyStats {
  /** Requests that arrived while each mode was in force. */
  readonly received: Readonly<Record<FaultModeName, number>>;
  /** Requests that each mode actually failed or delayed (0 for 'pass'; the n-th ones for 'every-nth'). */
  readonly injected: Readonly<Record<FaultModeName, number>>;
  /** Forwarded requests whose upstream could not be reached (the client's connection is then destroyed). */
  readonly upstreamErrors: number;
}

/** A running proxy; see the module comment. */
export interface FaultProxy {
  /** `http://127.0.0.1:<port>`: give it to `--s3-endpoint`. */
  readonly endpoint: string;
  /** The mode in force. */
  readonly mode: FaultMode;
  /** Switches the mode for requests arriving from now on (requests already in flight keep theirs). */
  setMode(mode: FaultMode): void;
  /** A snapshot of the counters. */
  readonly stats: FaultProxyStats;
  /** Every request so far, in arrival order. */
  readonly requests: readonly ProxiedRequest[];
  /**
   * Resolves once `mode` has injected at least `count` faults in total (at once if it already has);
   * rejects after `timeoutMs` (default 20 000 ms) naming the mode and the count reached.
   */
  injectedAtLeast(mode: FaultModeName, count: number, timeoutMs?: number): Promise<void>;
  /** Stops listening and cuts open connections (idempotent). */
  close(): Promise<void>;
}

/** Options of {@link startFaultProxy}. */
export interface FaultProxyOptions {
  /** The server to forward to, e.g. an s3rver's `http://127.0.0.1:<port>`; read per request, so it may change. */
  readonly target: string | (() => string);
  /** The first mode. Default `{ mode: 'pass' }`. */
  readonly mode?: FaultMode;
}

const MODE_NAMES: readonly FaultModeName[] = ['pass', 'status', 'slow', 'reset', 'every-nth'];

/** S3's own error codes and messages for the statuses the proxy plays. */
const S3_ERRORS = {
  500: { code: 'InternalError', message: 'We encountered an internal error. Please try again.' },
  503: { code: 'SlowDown', message: 'Please reduce your request rate.' },
} as const;

/** Starts a proxy on 127.0.0.1 with an OS-chosen port, forwarding to `options.target`. */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  let mode: FaultMode = checkMode(options.mode ?? { mode: 'pass' });
  let nth = 0;
  const received = zeroCounts();
  const injected = zeroCounts();
  let upstreamErrors = 0;
  const requests: ProxiedRequest[] = [];
  const waiters: Array<{ mode: FaultModeName; count: number; resolve: () => void }> = [];
  const targetOf = typeof options.target === 'function' ? options.target : () => options.target as string;
  // Our own keep-alive pool towards the server, so a reset on the client side never reuses a broken upstream socket.
  const agent = new Agent({ keepAlive: true });
  const sockets = new Set<Socket>();
  // Answers held back by 'slow', cleared by close() so a stopped proxy keeps no timer alive.
  const timers = new Set<NodeJS.Timeout>();

  const count = (m: FaultModeName, inject: boolean, req: IncomingMessage, faultStatus?: 500 | 503): void => {
    received[m]++;
    if (inject) injected[m]++;
    requests.push({ method: req.method ?? 'GET', url: req.url ?? '/', mode: m, injected: inject, ...(faultStatus ? { faultStatus } : {}) });
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (injected[waiters[i].mode] >= waiters[i].count) waiters.splice(i, 1)[0].resolve();
    }
  };

  const server = createServer((req, res) => {
    const m = mode;
    switch (m.mode) {
      case 'pass':
        count('pass', false, req);
        forward(req, res, 0);
        return;
      case 'slow':
        count('slow', true, req);
        forward(req, res, m.delayMs);
        return;
      case 'status':
        count('status', true, req, m.status);
        answerError(req, res, m.status);
        return;
      case 'reset':
        count('reset', true, req);
        req.socket.destroy();
        return;
      case 'every-nth': {
        const fail = ++nth % m.n === 0;
        count('every-nth', fail, req, fail ? m.status : undefined);
        if (fail) answerError(req, res, m.status);
        else forward(req, res, 0);
        return;
      }
    }
  });

  const forward = (req: IncomingMessage, res: ServerResponse, delayMs: number): void => {
    const target = new URL(targetOf());
    const upstream = httpRequest(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent },
      (up) => {
        const relay = (): void => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        };
        if (delayMs <= 0) return relay();
        const timer = setTimeout(() => {
          timers.delete(timer);
          relay();
        }, delayMs);
        timers.add(timer);
        // The client gave up while the answer was held (its own timeout, or it was stopped): drop the answer.
        res.on('close', () => {
          if (!timers.delete(timer)) return;
          clearTimeout(timer);
          up.destroy();
        });
      },
    );
    upstream.on('error', () => {
      upstreamErrors++;
      // Unreachable upstream looks to the client like an unreachable S3: no answer at all.
      req.socket.destroy();
    });
    req.pipe(upstream);
  };

  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | null = null;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    get mode() {
      return mode;
    },
    setMode(next) {
      mode = checkMode(next);
      nth = 0;
    },
    get stats() {
      return { received: { ...received }, injected: { ...injected }, upstreamErrors };
    },
    get requests() {
      return requests;
    },
    injectedAtLeast(m, n, timeoutMs = 20_000) {
      if (injected[m] >= n) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`fault proxy: mode ${m} injected ${injected[m]} faults, not ${n}, within ${timeoutMs} ms`));
        }, timeoutMs);
        const waiter = {
          mode: m,
          count: n,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
        waiters.push(waiter);
      });
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
        for (const timer of timers) clearTimeout(timer);
        agent.destroy();
      });
      return closed;
    },
  };
}

/** Returns `m`, or throws a RangeError naming what is wrong with it (a test's own mistake). */
function checkMode(m: FaultMode): FaultMode {
  if (!MODE_NAMES.includes(m.mode)) throw new RangeError(`fault proxy mode "${String(m.mode)}" is not one of ${MODE_NAMES.join(', ')}`);
  if (m.mode === 'every-nth' && !(Number.isInteger(m.n) && m.n >= 1)) throw new RangeError(`every-nth needs an integer n >= 1, got ${m.n}`);
  if (m.mode === 'slow' && !(Number.isFinite(m.delayMs) && m.delayMs >= 0)) throw new RangeError(`slow needs delayMs >= 0, got ${m.delayMs}`);
  if ((m.mode === 'status' || m.mode === 'every-nth') && !(m.status in S3_ERRORS)) throw new RangeError(`status must be 500 or 503, got ${m.status}`);
  return m;
}

/** Reads the request body to its end (so the connection stays usable), then answers like S3 does. */
function answerError(req: IncomingMessage, res: ServerResponse, status: 500 | 503): void {
  const { code, message } = S3_ERRORS[status];
  const requestId = Math.random().toString(16).slice(2, 18).toUpperCase();
  const body =
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message>` +
    `<Resource>${escapeXml(req.url ?? '/')}</Resource><RequestId>${requestId}</RequestId></Error>`;
  req.resume();
  req.on('end', () => {
    res.writeHead(status, {
      'content-type': 'application/xml',
      'content-length': Buffer.byteLength(body),
      'x-amz-request-id': requestId,
    });
    // HEAD answers carry no body; the client classifies them by status alone.
    res.end(req.method === 'HEAD' ? undefined : body);
  });
}

function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function zeroCounts(): Record<FaultModeName, number> {
  return { pass: 0, status: 0, slow: 0, reset: 0, 'every-nth': 0 };
}
