/**
 * What the operations tests need beside a running `edgelake run --metrics-addr`: the address it
 * logged, scrapes of `/metrics` (parsed strictly) and `/healthz`, and a webhook receiver on
 * loopback that records the alerts it gets and can be told to stop answering.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CliChild } from './cli.ts';
import { parsePromText, type PromFamily } from './prom-text.ts';
import { until } from './until.ts';

/** The `host:port` a run logged for `--metrics-addr` (it serves once the line is out). */
export async function metricsAddress(run: CliChild, timeoutMs = 60_000): Promise<string> {
  return until(
    'the run to log its metrics address',
    () => {
      if (run.child.exitCode !== null) throw new Error(`run exited early (${run.child.exitCode}):\n${run.stderr()}`);
      return /serving metrics on (\S+): GET \/metrics/.exec(run.stderr())?.[1];
    },
    timeoutMs,
  );
}

/** GET `/metrics`, parsed by the strict parser (it throws on any violation of the format). */
export async function scrape(addr: string): Promise<{ text: string; families: Map<string, PromFamily>; contentType: string }> {
  const res = await fetch(`http://${addr}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  const text = await res.text();
  return { text, families: parsePromText(text), contentType: res.headers.get('content-type') ?? '' };
}

/** GET `/healthz`: its status and JSON body. */
export async function healthz(addr: string): Promise<{ status: number; body: { status: string; reason?: string; failures?: Array<{ component: string; reason: string; since: string }> } }> {
  const res = await fetch(`http://${addr}/healthz`);
  return { status: res.status, body: (await res.json()) as never };
}

/** A loopback alert receiver. */
export interface AlertReceiver {
  /** `http://127.0.0.1:<port>/hook?token=…` (the token must never appear in what edgelake shows). */
  readonly url: string;
  /** alert_id of every alert POSTed and answered 200, in arrival order (repeats kept). */
  readonly received: string[];
  /** POSTs that arrived while hanging (never answered). */
  readonly hung: number;
  /** While true, POSTs are read and never answered (a receiver that hangs). */
  hang: boolean;
  close(): Promise<void>;
}

/** Starts a receiver on 127.0.0.1 (an OS-chosen port). */
export async function startReceiver(token = 'receiver-secret-token'): Promise<AlertReceiver> {
  const received: string[] = [];
  let hung = 0;
  const hanging = new Set<IncomingMessage>();
  const state = { hang: false };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => (body += c));
    req.on('end', () => {
      if (state.hang) {
        hung++;
        hanging.add(req);
        return;
      }
      const parsed = JSON.parse(body) as { alert_ids: string[] };
      received.push(...parsed.alert_ids);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hook?token=${token}`,
    received,
    get hung() {
      return hung;
    },
    get hang() {
      return state.hang;
    },
    set hang(v: boolean) {
      state.hang = v;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
