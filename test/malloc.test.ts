/**
 * glibc's fixed mmap threshold (native/malloc/malloc.c, src/cli/malloc.ts): after edgelake's kind
 * of allocation pattern — a large body freed, then many batch-sized buffers of which some are
 * freed — the freed buffers' pages go back to the system with the threshold fixed, and stay
 * resident without it (the control, which shows the measurement can tell the two apart). Each
 * side runs in a child process of its own, since the threshold is process-wide. Skipped, saying
 * why, where the addon was not built (not glibc, no toolchain).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fixMmapThreshold, MALLOC_ADDON, MMAP_THRESHOLD_BYTES } from '../src/cli/malloc.ts';

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
  const { fixMmapThreshold } = await import(${JSON.stringify(MODULE)});
  const outcome = process.argv[1] === 'fixed' ? fixMmapThreshold() : 'default';
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

test('an operator’s MALLOC_MMAP_THRESHOLD_ wins; a missing addon changes nothing and throws nothing', () => {
  assert.equal(fixMmapThreshold(MALLOC_ADDON, { MALLOC_MMAP_THRESHOLD_: '131072' }), 'environment');
  assert.equal(fixMmapThreshold(MALLOC_ADDON, { MALLOC_MMAP_THRESHOLD_: '' }), 'environment');
  assert.equal(fixMmapThreshold(MALLOC_ADDON, { GLIBC_TUNABLES: 'glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=65536' }), 'environment');
  assert.equal(fixMmapThreshold('/nonexistent/malloc.node', {}), 'unavailable');
});
