import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { messageOf } from '../errors.ts';
import type { LakeLocation } from '../schema/duckdb.ts';
import { renderDashboard } from './build.ts';
import { esc } from './svg.ts';

/**
 * The live dashboard: the report served on 127.0.0.1 and rendered again from the lake at most once
 * per refresh interval, while the page reloads itself on the same interval (a meta refresh: the
 * page stays script-free under the same Content-Security-Policy as the static report). A lake
 * that does not exist yet — a demo still starting — gets a waiting page that reloads too.
 */

/** Options of {@link serveDashboard}. */
export interface ServeOptions {
  /** Where the lake is, asked before every render (an S3 lake is synced to its cache there). */
  readonly lake: () => Promise<{ readonly location: LakeLocation; readonly description: string }>;
  /** TCP port on 127.0.0.1; 0 picks a free one. */
  readonly port: number;
  /** Seconds between renders and page reloads. Default 5. */
  readonly refreshSeconds?: number;
  readonly costPerGb?: number;
  readonly title?: string;
  /** Told of every render that failed (the page shows it too). */
  readonly onError?: (message: string) => void;
}

/** A running dashboard server. */
export interface DashboardServer {
  readonly url: string;
  readonly port: number;
  /** Renders done so far. */
  readonly renders: number;
  close(): Promise<void>;
}

const HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
} as const;

/** Starts the server; resolves once it listens. */
export async function serveDashboard(opts: ServeOptions): Promise<DashboardServer> {
  const every = Math.max(1, opts.refreshSeconds ?? 5);
  let cached: { html: string; atMs: number } | null = null;
  let inFlight: Promise<string> | null = null;
  let renders = 0;

  const render = async (): Promise<string> => {
    try {
      const { location, description } = await opts.lake();
      if (!existsSync(location.lake)) return waitingPage(`waiting for the lake ${location.lake} (edgelake demo or run --lake writes it)`, every);
      const { html } = await renderDashboard({ location, source: description, costPerGb: opts.costPerGb, title: opts.title, refreshSeconds: every });
      renders++;
      return html;
    } catch (err) {
      const m = messageOf(err);
      opts.onError?.(m);
      return waitingPage(`the lake could not be read: ${m}`, every);
    }
  };
  // One render at a time, shared by the requests that arrive meanwhile; fresh enough for `every` seconds.
  const page = async (): Promise<string> => {
    if (cached && Date.now() - cached.atMs < every * 1000) return cached.html;
    inFlight ??= render().then((html) => {
      cached = { html, atMs: Date.now() };
      inFlight = null;
      return html;
    });
    return inFlight;
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !['/', '/index.html', '/report.html'].includes(path)) {
      res.writeHead(path === '/' ? 405 : 404, { 'content-type': 'text/plain' }).end(path === '/' ? 'GET only\n' : 'not found: the report is at /\n');
      return;
    }
    page().then(
      (html) => res.writeHead(200, HEADERS).end(req.method === 'HEAD' ? undefined : html),
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${messageOf(err)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    get renders() {
      return renders;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await inFlight?.catch(() => undefined);
    },
  };
}

/** A page that says what it waits for and reloads itself. */
function waitingPage(message: string, every: number): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="${every}">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>edgelake dashboard</title>
<style>body{margin:0;font:15px/1.5 system-ui,sans-serif;color:#1f2933;background:#f4f6f8}header{background:#1f2a44;color:#fff;padding:20px 32px}main{padding:24px 32px}</style></head>
<body><header><h1>edgelake dashboard</h1></header><main><p data-waiting="1">${esc(message)}</p><p>This page reloads every ${every} s.</p></main></body></html>
`;
}
