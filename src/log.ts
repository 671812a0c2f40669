/**
 * Logging to stderr, one line per event, with every known secret removed: credentials in
 * URLs (`user:pass@`), query tokens, and the values of secret environment variables.
 */
export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

const SECRET_ENV = ['AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_ACCESS_KEY_ID', 'EDGELAKE_FUZZ_KEY', 'EDGELAKE_WEBHOOK_TOKEN'];

/** Removes credentials from a text: URL userinfo, token-like query parameters, secret env values. */
export function redact(text: string, env: NodeJS.ProcessEnv = process.env): string {
  let out = text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/\s@]*@/gi, '$1***@');
  out = out.replace(/([?&](?:token|key|secret|signature|password|access_token|X-Amz-Signature|X-Amz-Credential)=)[^&\s]*/gi, '$1***');
  for (const name of SECRET_ENV) {
    const v = env[name];
    if (v && v.length >= 4) out = out.split(v).join('***');
  }
  return out;
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
