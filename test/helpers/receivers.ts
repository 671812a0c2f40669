/**
 * Real HTTP alert receivers on 127.0.0.1 for the webhook tests: a recorder that keeps every POST
 * with its receive time (and can be stopped and restarted on its port, a receiver that goes down),
 * hostile receivers of each kind a node meets in the field (a 512 MB answer, redirects to another
 * origin, a redirect loop, one that never answers, one that answers a byte a second), a trap that
 * counts any connection at all (the "other origin" that must receive nothing), and a port that
 * refuses connections.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';

/** One POST as a receiver saw it. */
export interface Receipt {
  /** Wall clock (Date.now()) when the whole body had arrived, ms. */
  readonly receivedMs: number;
  /** Request target: path and query. */
  readonly target: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** The `alerts` of an edgelake payload (`{"node_id","count","alert_ids","alerts"}`); [] when not one. */
  readonly alerts: ReadonlyArray<Record<string, unknown>>;
}

/** What a recorder answers to one request; default 200 with body `ok`. */
export interface Answer {
  readonly status: number;
  /** Reason phrase (the receiver's own text: edgelake must not repeat what a receiver says blindly). */
  readonly reason?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
}

/** Options of {@link startRecorder}. */
export interface RecorderOptions {
  /** The answer per request (after its body was read). Default 200 `ok`. */
  readonly answer?: (r: Receipt) => Answer;
}

/** A recording receiver. */
export interface Recorder {
  /** `http://127.0.0.1:<port>`; valid across stop()/restart(). */
  readonly origin: string;
  readonly port: number;
  /** Every request, in arrival order. */
  readonly receipts: readonly Receipt[];
  /** First receipt time per alert id, ms (a redelivered alert keeps its first time). */
  readonly firstSeen: ReadonlyMap<string, { readonly alert: Record<string, unknown>; readonly receivedMs: number }>;
  /** Alerts received more than once (a retry after an answer got lost), by id. */
  readonly duplicates: number;
  /** Requests in flight now, and the most there ever were at once. */
  readonly inFlight: number;
  readonly maxInFlight: number;
  /** Stops listening and drops open connections (the receiver is down; the port stays reserved for restart). */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

function listen(server: Server | ReturnType<typeof createNetServer>, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** Parses an edgelake alert payload; [] for anything else. */
function alertsOf(body: string): Array<Record<string, unknown>> {
  try {
    const j = JSON.parse(body) as { alerts?: unknown };
    return Array.isArray(j.alerts) ? (j.alerts as Array<Record<string, unknown>>) : [];
  } catch {
    return [];
  }
}

/** Starts a recording receiver on 127.0.0.1 (OS-chosen port). */
export async function startRecorder(opts: RecorderOptions = {}): Promise<Recorder> {
  const receipts: Receipt[] = [];
  const firstSeen = new Map<string, { alert: Record<string, unknown>; receivedMs: number }>();
  let duplicates = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    let done = false;
    const leave = () => {
      if (!done) inFlight--;
      done = true;
    };
    res.on('close', leave);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const r: Receipt = { receivedMs: Date.now(), target: req.url ?? '', headers: req.headers, body, alerts: alertsOf(body) };
      receipts.push(r);
      for (const a of r.alerts) {
        const id = String(a.alert_id);
        if (firstSeen.has(id)) duplicates++;
        else firstSeen.set(id, { alert: a, receivedMs: r.receivedMs });
      }
      const answer = opts.answer?.(r) ?? { status: 200, body: 'ok' };
      res.writeHead(answer.status, answer.reason ?? '', answer.headers ?? {});
      res.end(answer.body ?? '');
    });
  };
  let server = createServer(handler);
  const port = await listen(server);
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    receipts,
    firstSeen,
    get duplicates() {
      return duplicates;
    },
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    stop: () => closeServer(server),
    async restart() {
      await closeServer(server);
      server = createServer(handler);
      await listen(server, port);
    },
    close: () => closeServer(server),
  };
}

/** A port on 127.0.0.1 that refuses connections (bound, then released; nothing listens on it). */
export async function refusedPort(): Promise<number> {
  const s = createNetServer();
  const port = await listen(s);
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** A TCP listener that must never be reached: it counts connections and bytes, and answers nothing. */
export interface Trap {
  readonly origin: string;
  readonly connections: number;
  readonly bytes: number;
  close(): Promise<void>;
}

/** Starts a {@link Trap} on 127.0.0.1. */
export async function startTrap(): Promise<Trap> {
  let connections = 0;
  let bytes = 0;
  const sockets = new Set<Socket>();
  const server = createNetServer((s) => {
    connections++;
    sockets.add(s);
    s.on('data', (d: Buffer) => (bytes += d.byteLength));
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
  });
  const port = await listen(server);
  return {
    origin: `http://127.0.0.1:${port}`,
    get connections() {
      return connections;
    },
    get bytes() {
      return bytes;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The kinds of hostile receiver. */
export const HOSTILE_KINDS = ['body-512mb', 'redirect-307', 'redirect-308', 'redirect-loop', 'never-answers', 'byte-per-second'] as const;
export type HostileKind = (typeof HOSTILE_KINDS)[number];

/** A hostile receiver and what it saw. */
export interface Hostile {
  readonly kind: HostileKind;
  /** The URL to give `--alert-webhook`. */
  readonly url: string;
  /** Requests whose headers arrived. */
  readonly requests: number;
  readonly maxInFlight: number;
  /** Response bytes the receiver managed to hand to its socket before edgelake cut it. */
  readonly bytesSent: number;
  /** Per finished connection: how long edgelake kept it open after its request arrived, ms. */
  readonly heldMs: readonly number[];
  close(): Promise<void>;
}

/** 512 MiB: the answer of the flooding receiver. */
export const FLOOD_BYTES = 512 * 1024 * 1024;

/**
 * Starts a hostile receiver of `kind` on 127.0.0.1. `elsewhere` is the origin the redirects
 * point to (a {@link Trap}). The flood streams 512 MiB from one reused 64 KiB buffer, honouring
 * backpressure, so the test itself never allocates it.
 */
export async function startHostile(kind: HostileKind, elsewhere: string): Promise<Hostile> {
  let requests = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let bytesSent = 0;
  const heldMs: number[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  const server = createServer((req, res) => {
    requests++;
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    const t0 = performance.now();
    const socket = req.socket;
    res.on('close', () => {
      inFlight--;
      heldMs.push(performance.now() - t0);
      bytesSent += socket.bytesWritten;
    });
    req.resume();
    req.on('end', () => {
      if (kind === 'body-512mb') {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(FLOOD_BYTES) });
        let left = FLOOD_BYTES;
        const pump = () => {
          while (left > 0 && !res.destroyed) {
            left -= chunk.byteLength;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          if (left <= 0) res.end();
        };
        pump();
      } else if (kind === 'redirect-307' || kind === 'redirect-308') {
        res.writeHead(kind === 'redirect-307' ? 307 : 308, { location: `${elsewhere}/collect?from=hostile` });
        res.end();
      } else if (kind === 'redirect-loop') {
        res.writeHead(307, { location: req.url ?? '/' });
        res.end();
      } else if (kind === 'byte-per-second') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.flushHeaders();
        const t = setInterval(() => res.write('.'), 1000);
        timers.add(t);
        res.on('close', () => {
          clearInterval(t);
          timers.delete(t);
        });
      }
      // never-answers: the request was read; nothing is ever written, the socket is held open.
    });
  });
  // The server's own timeouts must not be what ends a held request: edgelake's deadline is under test.
  server.requestTimeout = 0;
  server.headersTimeout = 0;
  server.timeout = 0;
  const port = await listen(server);
  return {
    kind,
    url: `http://127.0.0.1:${port}/alerts`,
    get requests() {
      return requests;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    get bytesSent() {
      return bytesSent;
    },
    heldMs,
    close: async () => {
      for (const t of timers) clearInterval(t);
      await closeServer(server);
    },
  };
}
