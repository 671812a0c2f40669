/**
 * Scanners for what must never leave a node or land in a shared file: a {@link Scan} looks for
 * needles (canary secrets) in process output, in every file below a folder (raw bytes, and the
 * decompressed text of gzip files: lake objects, s3rver's bodies, manifests), and in every row of
 * every table of a SQLite file; {@link coordinateFinder} finds a sensor's true coordinates as JSON
 * prints them.
 */
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import Database from 'better-sqlite3';

/** Where a needle was found. */
export interface Hit {
  readonly needle: string;
  readonly where: string;
  /** Up to 60 characters around it. */
  readonly context: string;
}

/** Every regular file below `root` (itself when it is a file), absolute paths, sorted; [] when missing. */
export function walkFiles(root: string): string[] {
  let st;
  try {
    st = lstatSync(root);
  } catch {
    return [];
  }
  if (st.isFile()) return [root];
  if (!st.isDirectory()) return [];
  return readdirSync(root)
    .sort()
    .flatMap((name) => walkFiles(join(root, name)));
}

/** The texts of a file's bytes: as stored (latin1, byte for byte), and decompressed when it is gzip. */
export function textsOf(bytes: Buffer): string[] {
  const texts = [bytes.toString('latin1')];
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      texts.push(gunzipSync(bytes).toString('utf8'));
    } catch {
      // Not a complete gzip stream (a file being written): its raw bytes were scanned.
    }
  }
  return texts;
}

/**
 * Accumulates a search for `needles` (case-insensitive) over texts, files and SQLite rows, with
 * counts of what was scanned, so a test can report "0 found in N files, M rows".
 */
export class Scan {
  readonly #needles: readonly string[];
  readonly #lower: readonly string[];
  readonly hits: Hit[] = [];
  files = 0;
  bytes = 0;
  rows = 0;
  texts = 0;

  constructor(needles: readonly string[]) {
    if (needles.some((n) => n.length < 6)) throw new RangeError('Scan: needles shorter than 6 characters would match by chance');
    this.#needles = needles;
    this.#lower = needles.map((n) => n.toLowerCase());
  }

  /** Searches one text (process output, a response body). */
  text(where: string, text: string): void {
    this.texts++;
    this.#search(where, text);
  }

  /** Searches a file's bytes (and its decompressed text when gzip); a file that vanished meanwhile is skipped. */
  file(path: string): void {
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    this.files++;
    this.bytes += bytes.byteLength;
    for (const t of textsOf(bytes)) this.#search(path, t);
  }

  /** Searches every file below `root`. */
  tree(root: string): void {
    for (const f of walkFiles(root)) this.file(f);
  }

  /** Searches every value of every row of every table of the SQLite file at `path` (opened read-only). */
  sqlite(path: string): void {
    const db = new Database(path, { readonly: true, fileMustExist: true });
    try {
      db.pragma('busy_timeout = 10000');
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[];
      for (const t of tables) {
        for (const row of db.prepare(`SELECT * FROM "${t.replace(/"/g, '""')}"`).raw().iterate() as IterableIterator<unknown[]>) {
          this.rows++;
          const text = row.map((v) => (typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('latin1') : String(v))).join('\u0001');
          this.#search(`${path} table ${t}`, text);
        }
      }
    } finally {
      db.close();
    }
  }

  #search(where: string, text: string): void {
    const lower = text.toLowerCase();
    this.#lower.forEach((n, i) => {
      const at = lower.indexOf(n);
      if (at >= 0) this.hits.push({ needle: this.#needles[i], where, context: text.slice(Math.max(0, at - 30), at + n.length + 30) });
    });
  }

  /** One line for a diagnostic. */
  summary(): string {
    return `${this.hits.length} found; scanned ${this.files} files (${(this.bytes / 1024 / 1024).toFixed(1)} MiB), ${this.rows} database rows, ${this.texts} texts`;
  }
}

/** A sensor's true position, as stored in the sensor database. */
export interface SensorPosition {
  readonly sensorId: string;
  readonly latitude: number;
  readonly longitude: number;
}

/** Every distinct (sensor, true coordinates) of the sensor database at `path` (REAL values only). */
export function sensorPositions(path: string): SensorPosition[] {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare(
        "SELECT DISTINCT sensor_id AS sensorId, latitude, longitude FROM sensor_readings WHERE typeof(latitude) = 'real' AND typeof(longitude) = 'real' ORDER BY sensor_id",
      )
      .all() as SensorPosition[];
  } finally {
    db.close();
  }
}

/** Where a coordinate was found: the matched text and what precedes it (a JSON key, say). */
export interface CoordinateHit {
  readonly value: string;
  readonly index: number;
  /** The 24 characters before it. */
  readonly before: string;
}

/**
 * A finder of `values` as JSON prints them (`String(v)`, the shortest round-trip form), sign
 * dropped so `-0.1278` and `0.1278` both count, not preceded or followed by another digit (a
 * fuzzed 48.86123… starts with 48.86 but is another number).
 */
export function coordinateFinder(values: readonly number[]): (text: string) => CoordinateHit[] {
  const forms = [...new Set(values.map((v) => String(Math.abs(v))))];
  if (forms.some((f) => f.replace(/\D/g, '').length < 5)) throw new RangeError(`coordinateFinder: ${forms.join(', ')} has values too short to find without false matches`);
  const re = new RegExp(`(?<![0-9])(?:${forms.map((f) => f.replace(/[.+]/g, '\\$&')).join('|')})(?![0-9])`, 'g');
  return (text) => [...text.matchAll(re)].map((m) => ({ value: m[0], index: m.index!, before: text.slice(Math.max(0, m.index! - 24), m.index!) }));
}
