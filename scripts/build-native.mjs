#!/usr/bin/env node
/**
 * `npm run build:native`: builds native/igzip.c (edgelake's binding to ISA-L's igzip, see
 * src/encode/igzip.ts) with node-gyp into build/native/igzip.node.
 *
 * Optional by design: without ISA-L's headers (Debian: `apt-get install libisal-dev`) or a C
 * toolchain it says so and exits 0, and edgelake compresses with Node's zlib — the same records,
 * ≈ 4× more CPU for gzip. `--require` (what .ci/run and the Docker image use) makes that an error.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = join(root, 'native');
const out = join(root, 'build', 'native', 'igzip.node');
const required = process.argv.includes('--require');

// npm hands its own node-gyp to scripts; outside npm, the one next to this node's npm.
const gyp = process.env.npm_config_node_gyp ?? join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');

function give(reason) {
  rmSync(out, { force: true });
  const message = `build:native: igzip not built (${reason}); gzip runs on Node's zlib. For 4× cheaper gzip: apt-get install libisal-dev && npm run build:native`;
  if (required) {
    console.error(message);
    process.exit(1);
  }
  console.warn(message);
  process.exit(0);
}

// Up to date (newer than its sources) and loadable: nothing to do (`npm test` builds every time).
const sources = ['igzip.c', 'binding.gyp'].map((f) => join(dir, f));
if (existsSync(out) && sources.every((f) => statSync(f).mtimeMs < statSync(out).mtimeMs)) {
  try {
    createRequire(import.meta.url)(out);
    console.log(`build:native: ${out} is up to date`);
    process.exit(0);
  } catch {
    // Built against another Node or without its library now: build again.
  }
}
if (!existsSync('/usr/include/isa-l/igzip_lib.h') && !existsSync('/usr/local/include/isa-l/igzip_lib.h')) give('ISA-L headers not found');
if (!existsSync(gyp)) give(`node-gyp not found at ${gyp}`);
const r = spawnSync(process.execPath, [gyp, 'rebuild'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
if (r.status !== 0) give(`node-gyp failed:\n${(r.stderr || r.stdout || '').trim().split('\n').slice(-8).join('\n')}`);
mkdirSync(dirname(out), { recursive: true });
copyFileSync(join(dir, 'build', 'Release', 'igzip.node'), out);
rmSync(join(dir, 'build'), { recursive: true, force: true });
console.log(`build:native: ${out}`);
