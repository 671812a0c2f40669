import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, messageOf } from '../errors.ts';
import { formatAddress, type ListenAddress } from './addr.ts';
import type { RunMetrics } from './metrics.ts';

/** A running `--metrics-addr` server. */
export interface OpsServer {
  /** Where it listens (the port the system chose when 0 was asked). */
  readonly address: ListenAddress;
  /** `http://host:port`, for logs and tests. */
  readonly url: string;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

/** Connections served at once; a scraper and a probe or two need a handful. */
const MAX_CONNECTIONS = 32;

/**
 * Serves `GET /metrics` (Prometheus text format) and `GET /healthz` (200 `{"status":"ok"}`,
 * or 503 with the failing parts and why) on `address`, nothing else. A failure to listen is a
 * configuration error naming the flag (exit 2).
 */
export async function startOpsServer(opts: { address: ListenAddress; metrics: RunMetrics }): Promise<OpsServer> {
  const { metrics } = opts;
  opts.metrics.collectProcessMetrics();
  const server = createServer((req, res) => void handle(metrics, req, res));
  server.maxConnections = MAX_CONNECTIONS;
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  await listen(server, opts.address);
  const bound = server.address() as AddressInfo;
  const address = { host: opts.address.host, port: bound.port };
  return {
    address,
    url: `http://${formatAddress(address)}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function listen(server: Server, a: ListenAddress): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const code = err.code ?? 'EIO';
      const why: Record<string, string> = {
        EADDRINUSE: 'the port is in use by another process (another edgelake run on this node?); choose another port',
        EACCES: 'this user may not listen there (ports below 1024 need privileges); choose a port above 1024',
        EADDRNOTAVAIL: 'the host is not an address of this machine; use 127.0.0.1, 0.0.0.0 or one of its own addresses',
        ENOTFOUND: 'the host name does not resolve; use an IP address',
      };
      reject(new ConfigError('METRICS_ADDR_UNAVAILABLE', `--metrics-addr ${formatAddress(a)} cannot be served (${code}): ${why[code] ?? messageOf(err)}`, { cause: err }));
    };
    server.once('error', onError);
    server.listen(a.port, a.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

async function handle(metrics: RunMetrics, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (path !== '/metrics' && path !== '/healthz') return send(res, 404, 'text/plain; charset=utf-8', 'not found: edgelake serves /metrics and /healthz\n');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed: use GET\n');
  }
  const head = req.method === 'HEAD';
  try {
    if (path === '/metrics') return send(res, 200, metrics.contentType, await metrics.exposition(), head);
    const h = metrics.health();
    const body = h.ok
      ? { status: 'ok' }
      : {
          status: 'failing',
          reason: h.failures.map((f) => `${f.component}: ${f.reason}`).join('; '),
          failures: h.failures.map((f) => ({ component: f.component, reason: f.reason, since: new Date(f.sinceMs).toISOString() })),
        };
    return send(res, h.ok ? 200 : 503, 'application/json; charset=utf-8', JSON.stringify(body) + '\n', head);
  } catch (err) {
    return send(res, 500, 'text/plain; charset=utf-8', `edgelake could not render ${path}: ${messageOf(err)}\n`, head);
  }
}

function send(res: ServerResponse, status: number, type: string, body: string, head = false): void {
  const bytes = Buffer.from(body, 'utf8');
  res.writeHead(status, { 'content-type': type, 'content-length': String(bytes.byteLength), 'cache-control': 'no-store' });
  res.end(head ? undefined : bytes);
}
