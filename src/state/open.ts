import Database from 'better-sqlite3';
import { closeSync, existsSync, openSync } from 'node:fs';
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
  try {
    // Created empty with mode 0600 before SQLite opens it (an empty file is a valid database):
    // a chmod after SQLite created it would leave a moment in which others could open it, and
    // SQLite gives the -wal and -shm files the mode of the database file.
    if (!existsSync(full)) createPrivate(full);
    const db = new Database(full);
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma('journal_mode = WAL');
    return db;
  } catch (err) {
    throw new ConfigError('STATE_DB_UNREADABLE', `--state-db ${full} cannot be opened: ${(err as Error).message}`, { cause: err });
  }
}

/** Creates an empty file readable by its owner only; another process creating it first is fine. */
function createPrivate(path: string): void {
  try {
    closeSync(openSync(path, 'wx', 0o600));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}
