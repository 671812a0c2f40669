import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.ts';

import { FUZZ_KEY_SETTING } from '../state/private.ts';

/** Where the fuzzing key came from (safe to log: it never contains the key). */
export type FuzzKeySource = 'env' | 'file' | 'private' | 'generated';

/** The part of the state store the key needs (see `StateStore`). */
export interface FuzzKeyStore {
  getSetting(name: string): string | null;
  setSettingIfAbsent(name: string, value: string): string;
}

/** Options of {@link resolveFuzzKey}. */
export interface FuzzKeyOptions {
  /** Where a generated key is kept, so the offsets stay the same across runs. */
  readonly store: FuzzKeyStore;
  /** Environment to read `EDGELAKE_FUZZ_KEY` / `EDGELAKE_FUZZ_KEY_FILE` from. Default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  /** A key file given by configuration (wins over the environment). Default: none. */
  readonly file?: string;
}

/** A resolved key: the secret itself and, for logs, only where it came from. */
export interface FuzzKey {
  /** The HMAC key for `sensorSeeds`. Never log it, never write it into a record. */
  readonly key: string;
  readonly source: FuzzKeySource;
}

/**
 * The GPS fuzzing key, by precedence: `file` (`--fuzz-key-file`), `EDGELAKE_FUZZ_KEY`, the file
 * named by `EDGELAKE_FUZZ_KEY_FILE` (a mounted secret, e.g. a Bacalhau secret), a key stored in
 * edgelake's private file (src/state/private.ts), else a new 256-bit key from
 * `crypto.randomBytes`, stored there once (an insert-if-absent, so two processes starting
 * together agree on one key). The key never leaves the node: it is not uploaded, logged or put
 * into an error message.
 */
export function resolveFuzzKey(opts: FuzzKeyOptions): FuzzKey {
  const env = opts.env ?? process.env;
  if (opts.file) return { key: readKeyFile(opts.file, 'the fuzz key file'), source: 'file' };
  const fromEnv = env.EDGELAKE_FUZZ_KEY;
  if (fromEnv !== undefined && fromEnv.trim() !== '') return { key: fromEnv.trim(), source: 'env' };
  const keyFile = env.EDGELAKE_FUZZ_KEY_FILE;
  if (keyFile) return { key: readKeyFile(keyFile, 'EDGELAKE_FUZZ_KEY_FILE'), source: 'file' };
  const stored = opts.store.getSetting(FUZZ_KEY_SETTING);
  if (stored) return { key: stored, source: 'private' };
  const key = opts.store.setSettingIfAbsent(FUZZ_KEY_SETTING, randomBytes(32).toString('base64url'));
  return { key, source: 'generated' };
}

function readKeyFile(path: string, what: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError('BAD_FUZZ_KEY', `${what} ${path} cannot be read (${(err as NodeJS.ErrnoException).code})`, { cause: err });
  }
  const key = text.trim();
  // The message names the path only: the content is the secret.
  if (key === '') throw new ConfigError('BAD_FUZZ_KEY', `${what} ${path} is empty: it must hold the GPS fuzzing key`);
  return key;
}
