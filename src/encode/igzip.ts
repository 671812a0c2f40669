import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../errors.ts';

/**
 * gzip level 1 through ISA-L's igzip (native/igzip/igzip.c over Debian's libisal2) when edgelake was
 * built with it, else Node's zlib. Level 1 is edgelake's default and the largest single cost of
 * the row stages: ≈ 3.5 of ≈ 11 CPU-s per 1M rows through zlib, ≈ 4× less through igzip, for
 * objects of the same size (6.22 MB for a 50k-row batch of ingestion either way). The bytes of
 * the two differ, the text inside does not: Auto Loader, zcat and Node read the same records, and
 * a replayed batch still overwrites its object with the same content. Other levels are zlib's.
 *
 * `EDGELAKE_GZIP=zlib` turns igzip off (for comparing, or to get zlib's exact bytes);
 * `EDGELAKE_GZIP=igzip` makes a missing binding an error instead of a quiet fallback.
 */

interface Binding {
  create(level: number): unknown;
  deflate(stream: unknown, bytes: Uint8Array, final: boolean): Buffer;
}

/** Where `npm run build:native` puts the addon; resolves alike from src/ (tsx) and build/ (tsc). */
export const IGZIP_ADDON = fileURLToPath(new URL('../../build/native/igzip.node', import.meta.url));

let loaded: { binding: Binding | null; error: string | null } | null = null;

function load(): { binding: Binding | null; error: string | null } {
  if (loaded) return loaded;
  const wanted = process.env.EDGELAKE_GZIP;
  if (wanted !== undefined && wanted !== '' && wanted !== 'zlib' && wanted !== 'igzip') {
    throw new ConfigError('BAD_ENV', `EDGELAKE_GZIP must be zlib or igzip (or unset: igzip where it is built), got ${JSON.stringify(wanted)}`);
  }
  if (wanted === 'zlib') return (loaded = { binding: null, error: 'EDGELAKE_GZIP=zlib' });
  try {
    loaded = { binding: createRequire(import.meta.url)(IGZIP_ADDON) as Binding, error: null };
  } catch (err) {
    const error = `${IGZIP_ADDON} is not loadable (${(err as Error).message.split('\n')[0]}); build it with \`apt-get install libisal-dev && npm run build:native\``;
    if (wanted === 'igzip') throw new ConfigError('BAD_ENV', `EDGELAKE_GZIP=igzip, but ${error}`, { cause: err });
    loaded = { binding: null, error };
  }
  return loaded;
}

/** Which compressor a gzip `level` goes through in this process. */
export function gzipBackend(level: number): 'igzip' | 'zlib' {
  return level === 1 && load().binding ? 'igzip' : 'zlib';
}

/** Why igzip is not used in this process, or null when it is (a ConfigError: see {@link checkGzipEnvironment}). */
export function igzipUnavailable(): string | null {
  return load().error;
}

/**
 * Throws a ConfigError for an EDGELAKE_GZIP this process cannot honour (a value other than zlib
 * or igzip, or igzip without the addon): the commands that write objects call it before they
 * start, so the operator hears it at once and not from the first worker that compresses.
 */
export function checkGzipEnvironment(): void {
  load();
}

/**
 * One gzip member through igzip, fed chunk by chunk and compressed synchronously on the calling
 * thread (a worker's, for the row stages): the input may be reused as soon as `push` returns.
 */
export class IgzipMember {
  readonly #b: Binding;
  readonly #s: unknown;

  /** `level`: igzip's 0–3 (edgelake uses 1, whose size matches zlib's level 1). */
  constructor(level = 1) {
    const b = load().binding;
    if (!b) throw new Error(`igzip is not available: ${load().error}`);
    this.#b = b;
    this.#s = b.create(level);
  }

  /** Compresses `bytes`; returns what came out so far (often empty: deflate keeps a window). */
  push(bytes: Uint8Array): Buffer {
    return this.#b.deflate(this.#s, bytes, false);
  }

  /** Compresses the last `bytes` and ends the member; returns the rest, gzip trailer included. */
  end(bytes: Uint8Array = EMPTY): Buffer {
    return this.#b.deflate(this.#s, bytes, true);
  }
}

const EMPTY = new Uint8Array(0);

/** `bytes` as one gzip member through igzip (level 1). */
export function igzipSync(bytes: Uint8Array): Buffer {
  return new IgzipMember(1).end(bytes);
}
