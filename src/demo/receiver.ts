import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The demo's alert receiver: an HTTP server on 127.0.0.1 standing in for the on-call system the
 * nodes' `--alert-webhook` points at. It accepts the edge's POSTs (`{node_id, count, alert_ids,
 * alerts: [...]}`), keeps each alert once (delivery is at least once: receivers dedupe by
 * `alert_id`), and measures when it arrived: event time → received here is the latency a person
 * on call sees.
 */

/** One alert as received. */
export interface ReceivedAlert {
  readonly alertId: string;
  /** The path the node posted to (`/alerts/<node_id>`), decoded. */
  readonly node: string;
  readonly priority: string;
  /** Event time of the reading, epoch ms (NaN: none). */
  readonly eventMs: number;
  /** When it arrived here, epoch ms. */
  readonly receivedMs: number;
}

/** What the receiver got so far. */
export interface ReceiverStats {
  readonly posts: number;
  /** Distinct alerts. */
  readonly alerts: number;
  /** Alerts delivered again (same alert_id), ignored. */
  readonly duplicates: number;
  /** Bodies that were not JSON of the expected shape (answered 400). */
  readonly rejected: number;
}

/** Largest POST body accepted, bytes (the edge sends at most 500 alerts per POST, well under this). */
const MAX_BODY = 16 * 1024 * 1024;

/** A small facade over the server (STYLE 7): start it, point nodes at {@link urlFor}, read what arrived, close it. */
export class AlertReceiver {
  readonly #server: Server;
  readonly #alerts = new Map<string, ReceivedAlert>();
  #posts = 0;
  #duplicates = 0;
  #rejected = 0;
  #port = 0;

  private constructor() {
    this.#server = createServer((req, res) => this.#handle(req, res));
  }

  /** Starts listening on 127.0.0.1 (port 0: any free port). */
  static async start(port = 0): Promise<AlertReceiver> {
    const r = new AlertReceiver();
    await new Promise<void>((resolve, reject) => {
      r.#server.once('error', reject);
      r.#server.listen(port, '127.0.0.1', () => resolve());
    });
    r.#port = (r.#server.address() as AddressInfo).port;
    return r;
  }

  /** The webhook URL a node posts to. */
  urlFor(nodeId: string): string {
    return `http://127.0.0.1:${this.#port}/alerts/${encodeURIComponent(nodeId)}`;
  }

  get stats(): ReceiverStats {
    return { posts: this.#posts, alerts: this.#alerts.size, duplicates: this.#duplicates, rejected: this.#rejected };
  }

  /** Every distinct alert received, in arrival order. */
  get alerts(): readonly ReceivedAlert[] {
    return [...this.#alerts.values()];
  }

  /** Stops accepting and closes open connections. */
  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const receivedMs = Date.now();
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]);
    if (req.method !== 'POST' || !path.startsWith('/alerts/')) {
      res.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => {
      let body: { alerts?: unknown };
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { alerts?: unknown };
        if (!Array.isArray(body.alerts)) throw new TypeError('no alerts array');
      } catch {
        this.#rejected++;
        res.writeHead(400, { 'content-type': 'text/plain' }).end('expected {"alerts": [...]}\n');
        return;
      }
      this.#posts++;
      const node = path.slice('/alerts/'.length);
      for (const a of body.alerts as Record<string, unknown>[]) {
        const id = typeof a?.alert_id === 'string' ? a.alert_id : null;
        if (!id) continue;
        if (this.#alerts.has(id)) {
          this.#duplicates++;
          continue;
        }
        const eventMs = typeof a.timestamp === 'string' ? Date.parse(a.timestamp) : NaN;
        this.#alerts.set(id, { alertId: id, node, priority: String(a.alert_priority ?? ''), eventMs, receivedMs });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}\n');
    });
  }
}

/** Percentile `p` (0..1) of `values` by the nearest-rank rule the edge's metrics use; null when empty. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}
