import { isIP } from 'node:net';

/** Where `--metrics-addr` listens. */
export interface ListenAddress {
  /** An IP literal or a host name; IPv6 without brackets. */
  readonly host: string;
  /** 0 lets the system choose a free port (the run logs which). */
  readonly port: number;
}

/** The host of a bare port: loopback only, so metrics are never exposed by accident (contract §3). */
export const DEFAULT_METRICS_HOST = '127.0.0.1';

const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/**
 * Parses `HOST:PORT`, `[IPv6]:PORT` or a bare `PORT` (on 127.0.0.1). Returns the address, or a
 * sentence saying what is wrong with `text` and what to write instead.
 */
export function parseListenAddress(text: string): ListenAddress | string {
  const t = text.trim();
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(t)) return 'is a URL; give a host and port, e.g. 127.0.0.1:9464 (metrics are served at /metrics)';
  if (/^\d+$/.test(t)) return portOf(t, DEFAULT_METRICS_HOST);
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]*)):(\d+)$/.exec(t);
  if (!m) return 'is not HOST:PORT or a port (examples: 9464, 127.0.0.1:9464, 0.0.0.0:9464, [::1]:9464)';
  const host = m[1] ?? m[2];
  if (host === '') return 'names no host; write 0.0.0.0:PORT to listen on every interface, or 127.0.0.1:PORT for this machine only';
  if (m[1] !== undefined ? isIP(host) !== 6 : !(isIP(host) === 4 || HOST_NAME.test(host))) return `has no valid host (${JSON.stringify(host)}); examples: 127.0.0.1:9464, [::1]:9464, localhost:9464`;
  return portOf(m[3], host);
}

function portOf(digits: string, host: string): ListenAddress | string {
  const port = Number(digits);
  if (!Number.isSafeInteger(port) || port > 65535) return `has port ${digits}, beyond 65535`;
  return { host, port };
}

/** `host:port` as people write it (brackets around IPv6). */
export function formatAddress(a: ListenAddress): string {
  return `${isIP(a.host) === 6 ? `[${a.host}]` : a.host}:${a.port}`;
}
