#!/usr/bin/env node
/**
 * `npm run build:native`: builds edgelake's native parts with node-gyp into build/native/:
 * - `igzip.node` (native/igzip/): the binding to ISA-L's igzip, gzip level 1 (src/encode/igzip.ts);
 * - `malloc.node` (native/malloc/): glibc's fixed mmap threshold (src/cli/malloc.ts);
 * - `sqlite_columns.node` (native/sqlite_columns/): not a Node addon but a SQLite extension that
 *   better-sqlite3's SQLite loads, the column reader (src/source/native-columns.ts).
 *
 * All are optional by design: without ISA-L's headers (Debian: `apt-get install libisal-dev`), on
 * a C library other than glibc, or without a C toolchain it says which addon is not built and
 * why, and exits 0 — edgelake then compresses with Node's zlib (the same records, ≈ 4× more CPU for
 * gzip) or leaves malloc as it is (a higher peak RSS). `--require` (what .ci/run and the Docker
 * image use) makes a missing addon an error.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const required = process.argv.includes('--require');

// npm hands its own node-gyp to scripts; outside npm, the one next to this node's npm.
const gyp = process.env.npm_config_node_gyp ?? join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
const glibc = process.report?.getReport().header.glibcVersionRuntime;

/** Each addon: its folder under native/, what it needs, and what edgelake does without it. */
const ADDONS = [
  {
    name: 'igzip',
    missing: () =>
      existsSync('/usr/include/isa-l/igzip_lib.h') || existsSync('/usr/local/include/isa-l/igzip_lib.h') ? null : 'ISA-L headers not found',
    without: "gzip runs on Node's zlib. For 4× cheaper gzip: apt-get install libisal-dev && npm run build:native",
  },
  {
    name: 'sqlite_columns',
    missing: () => (existsSync(join(root, 'node_modules', 'better-sqlite3', 'deps', 'sqlite3', 'sqlite3ext.h')) ? null : "better-sqlite3's sqlite3ext.h not found (run npm ci first)"),
    without: 'rows are read into JS through better-sqlite3 (the same batches, ≈ 2× the CPU for reading)',
    // A SQLite extension, not a Node module: it loads into a connection (db.loadExtension), not with require().
    loads: (out) => { const Database = createRequire(import.meta.url)('better-sqlite3'); const db = new Database(':memory:'); try { db.loadExtension(out, 'sqlite3_edgelakecolumns_init'); } finally { db.close(); } },
  },
  {
    name: 'malloc',
    missing: () => (glibc ? null : 'the C library is not glibc'),
    without: "malloc keeps glibc's moving mmap threshold (a higher peak RSS, nothing else)",
  },
];

let failed = false;
for (const addon of ADDONS) {
  const dir = join(root, 'native', addon.name);
  const out = join(root, 'build', 'native', `${addon.name}.node`);
  const give = (reason) => {
    rmSync(out, { force: true });
    const message = `build:native: ${addon.name} not built (${reason}); ${addon.without}`;
    if (required) {
      console.error(message);
      failed = true;
    } else console.warn(message);
  };
  // Up to date (newer than its sources) and loadable: nothing to do (`npm test` builds every time).
  const sources = [`${addon.name}.c`, 'binding.gyp'].map((f) => join(dir, f));
  if (existsSync(out) && sources.every((f) => statSync(f).mtimeMs < statSync(out).mtimeMs)) {
    try {
      if (addon.loads) addon.loads(out);
      else createRequire(import.meta.url)(out);
      console.log(`build:native: ${out} is up to date`);
      continue;
    } catch {
      // Built against another Node or without its library now: build again.
    }
  }
  const missing = addon.missing() ?? (existsSync(gyp) ? null : `node-gyp not found at ${gyp}`);
  if (missing) {
    give(missing);
    continue;
  }
  const r = spawnSync(process.execPath, [gyp, 'rebuild'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) {
    give(`node-gyp failed:\n${(r.stderr || r.stdout || '').trim().split('\n').slice(-8).join('\n')}`);
    continue;
  }
  mkdirSync(dirname(out), { recursive: true });
  copyFileSync(join(dir, 'build', 'Release', `${addon.name}.node`), out);
  rmSync(join(dir, 'build'), { recursive: true, force: true });
  console.log(`build:native: ${out}`);
}
process.exit(failed ? 1 : 0);
