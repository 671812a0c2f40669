import Database from 'better-sqlite3';
import { chmodSync, existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError } from '../errors.ts';
import { BUSY_TIMEOUT_MS } from '../source/open.ts';

/**
 * Opens (creating if needed) a separate state database (`--state-db`). It may hold the
 * generated fuzzing key and queued alerts, so a new file is made readable by its owner only.
 */
export function openStateDb(path: string): Database.Database {
  const full = resolve(path);
  if (!existsSync(dirname(full))) throw new ConfigError('STATE_DB_DIR_MISSING', `--state-db ${full}: folder ${dirname(full)} does not exist`);
  const fresh = !existsSync(full);
  try {
    const db = new Database(full);
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma('journal_mode = WAL');
    if (fresh) chmodSync(full, 0o600);
    return db;
  } catch (err) {
    throw new ConfigError('STATE_DB_UNREADABLE', `--state-db ${full} cannot be opened: ${(err as Error).message}`, { cause: err });
  }
}
