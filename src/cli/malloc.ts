import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * glibc's mmap threshold for edgelake's long-running commands (`run`, `reprocess`), through the
 * addon native/malloc/malloc.c (`npm run build:native`). Allocations of at least this size get
 * their own mapping, handed back to the system when freed; the batch buffers (columns, 1 MiB JSON
 * chunks, compressed bodies) are all above it. glibc's default starts at 128 KiB but rises with
 * every large block freed, after which those buffers fill the threads' arenas for good: set
 * explicitly, it stays put. 10M-row enriched drain: peak RSS −35 to −50 MB, same speed.
 */
export const MMAP_THRESHOLD_BYTES = 256 * 1024;

/** Where `npm run build:native` puts the addon; resolves alike from src/ (tsx) and build/ (tsc). */
export const MALLOC_ADDON = fileURLToPath(new URL('../../build/native/malloc.node', import.meta.url));

/** What {@link fixMmapThreshold} did. */
export type MmapThresholdOutcome =
  /** Set to {@link MMAP_THRESHOLD_BYTES}. */
  | 'set'
  /** Left alone: MALLOC_MMAP_THRESHOLD_ in the environment already fixes it (the operator's value wins). */
  | 'environment'
  /** Not set: the addon is not built, or the C library is not glibc. Nothing else changes. */
  | 'unavailable';

/**
 * Fixes glibc's mmap threshold for this process (all threads, workers included) unless the
 * environment does. Never throws: without the addon, malloc behaves as it always did.
 */
export function fixMmapThreshold(addon = MALLOC_ADDON, env: NodeJS.ProcessEnv = process.env): MmapThresholdOutcome {
  // Present at all (glibc reads an empty value as 0), or as a tunable: glibc fixed it at start-up.
  if (env.MALLOC_MMAP_THRESHOLD_ !== undefined || env.GLIBC_TUNABLES?.includes('glibc.malloc.mmap_threshold')) return 'environment';
  try {
    const binding = createRequire(import.meta.url)(addon) as { mmapThreshold(bytes: number): boolean };
    return binding.mmapThreshold(MMAP_THRESHOLD_BYTES) ? 'set' : 'unavailable';
  } catch {
    return 'unavailable';
  }
}
