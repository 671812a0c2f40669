/**
 * A small tmpfs for disk-full tests: mounted on a fresh folder (needs root / CAP_SYS_ADMIN; the
 * caller skips with the returned reason otherwise), unmounted and removed when the test ends,
 * and filled to the last byte with a filler file that the test deletes to "free space".
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

/** A mounted tmpfs, or why none could be mounted. */
export type TmpfsMount = { readonly dir: string; readonly skip?: undefined } | { readonly dir?: undefined; readonly skip: string };

/** Mounts a tmpfs of `sizeBytes` on a new folder; `t.after` unmounts it (lazily if still busy) and removes the folder. */
export function mountTmpfs(t: TestContext, sizeBytes: number): TmpfsMount {
  const dir = mkdtempSync(join(tmpdir(), 'edgelake-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    const e = err as { stderr?: Buffer; message: string };
    return { skip: `cannot mount a tmpfs here (${(e.stderr?.toString() || e.message).trim()}); the disk-full case needs root or CAP_SYS_ADMIN` };
  }
  t.after(() => {
    try {
      execFileSync('umount', [dir], { stdio: 'pipe' });
    } catch {
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
    }
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir };
}

/** Bytes a non-root writer could still write on the file system of `dir`. */
export function freeBytes(dir: string): number {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}

/** Writes `path` until the file system is full (ENOSPC); returns the bytes written. */
export function fillUp(path: string): number {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024, 0x55);
  let written = 0;
  try {
    for (let size = chunk.length; size >= 1; ) {
      try {
        written += writeSync(fd, chunk, 0, size);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
        size = Math.floor(size / 2);
      }
    }
  } finally {
    closeSync(fd);
  }
  return written;
}
