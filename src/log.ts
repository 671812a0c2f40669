import { redact } from './redact.ts';

/**
 * Logging to stderr, one line per event, with every known secret removed by the one redactor
 * (src/redact.ts): URLs reduced to scheme, host, port and a hash, credentials, secret variables.
 */
export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

/** A logger writing `edgelake: <msg>` lines to stderr; `quiet` keeps only warnings and errors. */
export function createLogger(opts: { quiet?: boolean; stream?: NodeJS.WritableStream } = {}): Logger {
  const stream = opts.stream ?? process.stderr;
  const write = (level: string, msg: string) => stream.write(`edgelake${level}: ${redact(msg)}\n`);
  return {
    info: (m) => {
      if (!opts.quiet) write('', m);
    },
    warn: (m) => write(' warning', m),
    error: (m) => write(' error', m),
  };
}
