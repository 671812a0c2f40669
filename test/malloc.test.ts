/**
 * glibc's fixed thresholds (native/malloc/malloc.c, src/cli/malloc.ts). The mmap threshold: after
 * edgelake's kind of allocation pattern — a large body freed, then many batch-sized buffers of
 * which some are freed — the freed buffers' pages go back to the system with the threshold fixed,
 * and stay resident without it (the control, which shows the measurement can tell the two apart).
 * The trim threshold: buffers below the mmap threshold allocated and freed over and over reuse the
 * same pages with it fixed, and fault fresh ones in every round with glibc's 128 KiB (each round's
 * trim is what cost an madvise and a TLB shootdown). Each side runs in a child process of its own,
 * since the thresholds are process-wide. Skipped, saying why, where the addon was not built (not
 * glibc, no toolchain).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { MALLOC_ADDON, MMAP_THRESHOLD_BYTES, TRIM_THRESHOLD_BYTES, tuneMalloc } from '../src/cli/malloc.ts';

const skip = existsSync(MALLOC_ADDON) ? false : `${MALLOC_ADDON} is not built here (npm run build:native)`;
const MODULE = fileURLToPath(new URL('../src/cli/malloc.ts', import.meta.url));
const MIB = 1024 * 1024;
/** Buffers of 512 KiB: above the fixed threshold, below what a freed 8 MiB body raises glibc's own to. */
const BUFFERS = 64;
const BUFFER_BYTES = 512 * 1024;

/**
 * In a child: frees one 8 MiB buffer (glibc then raises its threshold to 8 MiB unless it is
 * fixed), allocates and touches 64 buffers of 512 KiB, frees every other one; prints how much
 * resident memory the frees gave back, KiB.
 */
const CHILD = `
  const { tuneMalloc } = await import(${JSON.stringify(MODULE)});
  const outcome = process.argv[1] === 'fixed' ? tuneMalloc().mmap : 'default';
  const rssKiB = () => Number(/VmRSS:\\s+(\\d+)/.exec(require('node:fs').readFileSync('/proc/self/status', 'utf8'))[1]);
  const settle = async () => { for (let i = 0; i < 3; i++) { gc(); await new Promise((r) => setTimeout(r, 50)); } };
  let body = Buffer.allocUnsafeSlow(8 << 20); body.fill(1); body = null; await settle();
  const bufs = [];
  for (let i = 0; i < ${BUFFERS}; i++) { const b = Buffer.allocUnsafeSlow(${BUFFER_BYTES}); b.fill(1); bufs.push(b); }
  const before = rssKiB();
  for (let i = 1; i < bufs.length; i += 2) bufs[i] = null;
  await settle();
  console.log(JSON.stringify({ outcome, returnedKiB: before - rssKiB(), kept: bufs.filter(Boolean).length }));
`;

function child(mode: 'fixed' | 'default'): { outcome: string; returnedKiB: number } {
  // Unset, not empty: glibc reads an empty MALLOC_MMAP_THRESHOLD_ as 0 (every allocation mapped).
  const env = { ...process.env };
  delete env.MALLOC_MMAP_THRESHOLD_;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--expose-gc', '--input-type=module', '-e', `import { createRequire } from 'node:module'; const require = createRequire(import.meta.url); ${CHILD}`, mode], {
    encoding: 'utf8',
    env,
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

test('with the mmap threshold fixed, freed batch-sized buffers go back to the system; with glibc’s moving one they stay resident', { skip }, (t) => {
  const freedKiB = ((BUFFERS / 2) * BUFFER_BYTES) / 1024;
  const fixed = child('fixed');
  const control = child('default');
  t.diagnostic(`of ${freedKiB / 1024} MiB freed: ${(fixed.returnedKiB / 1024).toFixed(1)} MiB returned with the threshold fixed at ${MMAP_THRESHOLD_BYTES / 1024} KiB, ${(control.returnedKiB / 1024).toFixed(1)} MiB without`);
  assert.equal(fixed.outcome, 'set');
  assert.ok(fixed.returnedKiB >= freedKiB * 0.75, `fixed: ${fixed.returnedKiB} KiB of ${freedKiB} returned`);
  assert.ok(control.returnedKiB <= freedKiB * 0.25, `control: ${control.returnedKiB} KiB of ${freedKiB} returned — the measurement cannot tell the threshold's effect apart`);
});

/** Rounds of the trim probe: each allocates and touches four 192 KiB blocks (below the mmap threshold), then frees them. */
const ROUNDS = 100;
const ROUND_CHUNKS = 4;
const CHUNK_BYTES = 192 * 1024;

/**
 * In a child whose mmap threshold is fixed (as every run's is), in a worker thread (whose malloc
 * arena is not the main one, as edgelake's workers'): the addon's churn, ROUNDS rounds of 768 KiB
 * allocated, touched and freed; prints the minor page faults of the rounds after the first.
 * `control` leaves the trim threshold at glibc's 128 KiB (through the environment, which
 * tuneMalloc leaves alone).
 */
const TRIM_WORKER = `
  Promise.all([import('node:worker_threads'), import('node:module')]).then(([{ parentPort, workerData }, { createRequire }]) => {
    const { churn } = createRequire(workerData.addon)(workerData.addon);
    churn(${CHUNK_BYTES}, ${ROUND_CHUNKS}, 1);
    const before = process.resourceUsage().minorPageFault;
    churn(${CHUNK_BYTES}, ${ROUND_CHUNKS}, ${ROUNDS - 1});
    parentPort.postMessage(process.resourceUsage().minorPageFault - before);
  });
`;
const TRIM_CHILD = `
  const { tuneMalloc } = await import(${JSON.stringify(MODULE)});
  const { Worker } = await import('node:worker_threads');
  const outcome = tuneMalloc();
  const worker = new Worker(${JSON.stringify(TRIM_WORKER)}, { eval: true, workerData: { addon: ${JSON.stringify(MALLOC_ADDON)} } });
  const faults = await new Promise((resolve, reject) => worker.once('message', resolve).once('error', reject));
  await worker.terminate();
  console.log(JSON.stringify({ outcome, faults }));
`;

function trimChild(mode: 'fixed' | 'control'): { outcome: { mmap: string; trim: string }; faults: number } {
  const env = { ...process.env };
  delete env.MALLOC_MMAP_THRESHOLD_;
  delete env.MALLOC_TRIM_THRESHOLD_;
  if (mode === 'control') env.MALLOC_TRIM_THRESHOLD_ = String(128 * 1024);
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', TRIM_CHILD], { encoding: 'utf8', env });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

test('with the trim threshold fixed, blocks freed and allocated again reuse their pages; with glibc’s 128 KiB every round faults fresh ones', { skip }, (t) => {
  const pagesPerRound = (ROUND_CHUNKS * CHUNK_BYTES) / 4096;
  const fixed = trimChild('fixed');
  const control = trimChild('control');
  t.diagnostic(`minor faults over ${ROUNDS - 1} rounds of ${pagesPerRound} pages: ${fixed.faults} with the trim threshold at ${TRIM_THRESHOLD_BYTES / 1024} KiB, ${control.faults} at 128 KiB`);
  assert.deepEqual(fixed.outcome, { mmap: 'set', trim: 'set' });
  assert.deepEqual(control.outcome, { mmap: 'set', trim: 'environment' });
  // The control faults a good part of each round's pages in again (58–89 % in ten runs here): the measurement can tell the two apart.
  assert.ok(control.faults >= (ROUNDS - 1) * pagesPerRound * 0.25, `control: ${control.faults} faults`);
  assert.ok(fixed.faults <= control.faults * 0.1, `fixed: ${fixed.faults} faults against the control's ${control.faults}`);
});

test('an operator’s MALLOC_MMAP_THRESHOLD_ or MALLOC_TRIM_THRESHOLD_ wins, each alone; a missing addon changes nothing and throws nothing', () => {
  assert.equal(tuneMalloc(MALLOC_ADDON, { MALLOC_MMAP_THRESHOLD_: '131072' }).mmap, 'environment');
  assert.equal(tuneMalloc(MALLOC_ADDON, { MALLOC_MMAP_THRESHOLD_: '' }).mmap, 'environment');
  assert.equal(tuneMalloc(MALLOC_ADDON, { GLIBC_TUNABLES: 'glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=65536' }).mmap, 'environment');
  assert.equal(tuneMalloc(MALLOC_ADDON, { MALLOC_TRIM_THRESHOLD_: '131072' }).trim, 'environment');
  assert.equal(tuneMalloc(MALLOC_ADDON, { GLIBC_TUNABLES: 'glibc.malloc.trim_threshold=65536' }).trim, 'environment');
  if (!skip) {
    // Each override leaves the other threshold to edgelake.
    assert.deepEqual(tuneMalloc(MALLOC_ADDON, { MALLOC_MMAP_THRESHOLD_: '131072' }), { mmap: 'environment', trim: 'set' });
    assert.deepEqual(tuneMalloc(MALLOC_ADDON, { MALLOC_TRIM_THRESHOLD_: '131072' }), { mmap: 'set', trim: 'environment' });
  }
  assert.deepEqual(tuneMalloc('/nonexistent/malloc.node', {}), { mmap: 'unavailable', trim: 'unavailable' });
});

test('the addon names a bad threshold instead of passing it to glibc', { skip }, () => {
  const binding = createRequire(import.meta.url)(MALLOC_ADDON) as { mmapThreshold(b: unknown): boolean; trimThreshold(b: unknown): boolean };
  assert.throws(() => binding.trimThreshold(-1), { name: 'RangeError', message: 'trimThreshold(bytes): bytes must be in [0, 64 MiB]' });
  assert.throws(() => binding.mmapThreshold(64 * MIB), { name: 'RangeError', message: 'mmapThreshold(bytes): bytes must be in [0, 32 MiB]' });
  assert.throws(() => binding.trimThreshold('2M'), { name: 'TypeError', message: 'trimThreshold(bytes): bytes must be a number' });
});
