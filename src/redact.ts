import { createHash } from 'node:crypto';

/**
 * The one redactor (issue 11: there were three, each missing something). Whatever edgelake
 * writes for people or for other programs — logs, errors, `pipeline history`, state rows,
 * metrics labels — names a URL only by scheme, host, port and a short hash of the whole URL:
 * never its user info, path or query, where receivers keep their secrets (Slack's
 * `/services/T000/B000/XXXX`, `?api_key=`, `?sig=`, `?code=`, any other query value). The hash
 * tells two receivers on one host apart without revealing either.
 */

/** Environment variables whose values are secrets wherever they appear. */
const SECRET_ENV = ['AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_ACCESS_KEY_ID', 'EDGELAKE_FUZZ_KEY', 'EDGELAKE_WEBHOOK_TOKEN'];

/** An absolute URL with an authority, as it appears in free text (up to whitespace or a quote). */
const URL_IN_TEXT = /\b([a-z][a-z0-9+.-]*):\/\/[^\s"'<>`]+/gi;
/** `scheme://host:port` and nothing else (no user info, path or query): the first half of a {@link redactUrl} name. */
const NAMED = /^[a-z][a-z0-9+.-]*:\/\/(?:[a-z0-9.-]+|\[[0-9a-f:.]+\])(?::\d+)?$/i;
/** The second half of a {@link redactUrl} name, right after the first. */
const REDACTED_HASH = /^ #[0-9a-f]{8}(?![0-9a-z])/;

/**
 * A URL's name: `https://hooks.example.com:443 #1a2b3c4d` — scheme, host, port (the scheme's
 * default made explicit) and the first 8 hex digits of SHA-256 of the full URL. Text that is not
 * a URL becomes `<url #hash>`.
 */
export function redactUrl(url: string): string {
  const hash = createHash('sha256').update(url).digest('hex').slice(0, 8);
  try {
    const u = new URL(url);
    if (!u.host) return `<url #${hash}>`;
    const port = u.port || ({ 'http:': '80', 'https:': '443' } as Record<string, string>)[u.protocol] || '';
    return `${u.protocol}//${u.hostname}${port ? `:${port}` : ''} #${hash}`;
  } catch {
    return `<url #${hash}>`;
  }
}

/**
 * Text with every secret removed: each URL replaced by {@link redactUrl}, values of the secret
 * environment variables, AWS access key ids, SigV4 signature parts and `secret=…`/`token=…`/
 * `password=…` pairs. `env` defaults to `process.env`.
 */
export function redact(text: string, env: NodeJS.ProcessEnv = process.env): string {
  let out = text.replace(URL_IN_TEXT, (url: string, _scheme: string, at: number, whole: string) => {
    // A name redactUrl made already (a receiver in a log line) stays as it is, not hashed twice.
    if (NAMED.test(url) && REDACTED_HASH.test(whole.slice(at + url.length))) return url;
    // A local file (a stack frame's file:///…/x.js:12:5) holds no secret, and a stack trace needs it.
    if (/^file:\/\/\//i.test(url)) return url;
    // A sentence may end right after a URL: keep its closing punctuation out of the hash.
    const m = /[.,;:)\]}]+$/.exec(url);
    const tail = m ? m[0] : '';
    return redactUrl(tail ? url.slice(0, -tail.length) : url) + tail;
  });
  out = redactCredentials(out);
  for (const name of SECRET_ENV) {
    const v = env[name];
    if (v && v.length >= 4) out = out.split(v).join('[redacted]');
  }
  return out;
}

/**
 * Access key ids, secrets in `key=value` form and SigV4 signature parts (error texts of the AWS
 * SDK may echo request details).
 */
export function redactCredentials(text: string): string {
  return text
    .replace(/\b(?:AKIA|ASIA|AROA|AIDA)[A-Z0-9]{4,}\b/g, '[redacted]')
    .replace(/(Credential|Signature|X-Amz-Security-Token|X-Amz-Credential|X-Amz-Signature)=[^,&\s"]+/gi, '$1=[redacted]')
    .replace(/((?:secret|token|password|api[_-]?key)["']?\s*[:=]\s*["']?)[^\s"',&]+/gi, '$1[redacted]');
}
