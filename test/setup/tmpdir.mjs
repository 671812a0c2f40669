/**
 * Preloaded into the test runner and every test process (`node --import tsx --import
 * ./test/setup/tmpdir.mjs --test …`): puts the tests' temporary files on a RAM disk (/dev/shm) when
 * it has room, unless TMPDIR is set. edgelake fsyncs every object, intent and commit, and the
 * suite lands tens of thousands of them; on a VM disk each fsync costs milliseconds, which is a
 * third of the suite's time and measures the disk, not edgelake. The code under test is the same
 * (it still fsyncs); on tmpfs an fsync is free. Children inherit the variable.
 *
 * Plain JavaScript, not TypeScript: worker threads of the code under test (piscina) inherit the
 * `--import` flags, and a worker thread has no TypeScript loader for a `.ts` preload.
 */
import { statfsSync } from 'node:fs';

/** Free space a RAM disk needs to hold the suite's largest files at once (two files in parallel). */
const NEEDED_BYTES = 6 * 2 ** 30;

if (!process.env.TMPDIR) {
  try {
    const s = statfsSync('/dev/shm');
    if (s.bavail * s.bsize >= NEEDED_BYTES) process.env.TMPDIR = '/dev/shm';
  } catch {
    // No /dev/shm (not Linux): the system's temporary folder.
  }
}
