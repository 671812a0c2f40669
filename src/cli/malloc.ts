import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * glibc's mmap threshold for edgelake's long-running commands (`run`, `reprocess`), through the
 * addon native/malloc/malloc.c (`npm run build:native`). Allocations of at least this size get
 * their own mapping, handed back to the system when freed; the batch buffers (columns, 1 MiB JSON
 * chunks, compressed bodies) are all above it. glibc's default starts at 128 KiB but rises with
 * every large block freed, after which those buffers fill the threads' arenas for good: set
 * explicitly, it stays put. 10M-row enriched drain: peak RSS −35 to −50 MB.
 */
export const MMAP_THRESHOLD_BYTES = 256 * 1024;

/**
 * glibc's trim threshold, fixed alongside: an arena gives the free top of its heap back only past
 * this. Fixing the mmap threshold also stops glibc moving this one, which then stays at 128 KiB,
 * and a worker's arena returned pages with madvise after nearly every batch buffer it freed —
 * each call a TLB shootdown on every core (native/malloc/malloc.c). 2 MiB took 1M-row ingestion
 * from 6.5–7.5 CPU-s to 5.4–6.5, and 1 MiB alternated with 2 MiB did as well; a 10M-row enriched
 * Parquet drain into S3 peaked at 264–265 MiB with 1 MiB against 260–262 before (2 MiB: 268–269,
 * 4 MiB: 283–286; bench/README.md, eleventh pass).
 */
export const TRIM_THRESHOLD_BYTES = 1024 * 1024;

/** Where `npm run build:native` puts the addon; resolves alike from src/ (tsx) and build/ (tsc). */
export const MALLOC_ADDON = fileURLToPath(new URL('../../build/native/malloc.node', import.meta.url));

/** What {@link tuneMalloc} did with one threshold. */
export type ThresholdOutcome =
  /** Set to edgelake's value. */
  | 'set'
  /** Left alone: the environment already fixes it (the operator's value wins). */
  | 'environment'
  /** Not set: the addon is not built (or is older than this threshold), or the C library is not glibc. Nothing else changes. */
  | 'unavailable';

type MallocBinding = Partial<Record<'mmapThreshold' | 'trimThreshold', (bytes: number) => boolean>>;

/** Each threshold: the addon's setter, edgelake's value, and how an operator fixes it instead (glibc's environment variable or tunable). */
const THRESHOLDS = {
  mmap: { setter: 'mmapThreshold', bytes: MMAP_THRESHOLD_BYTES, variable: 'MALLOC_MMAP_THRESHOLD_', tunable: 'glibc.malloc.mmap_threshold' },
  trim: { setter: 'trimThreshold', bytes: TRIM_THRESHOLD_BYTES, variable: 'MALLOC_TRIM_THRESHOLD_', tunable: 'glibc.malloc.trim_threshold' },
} as const;

/**
 * Fixes glibc's mmap and trim thresholds for this process (all threads, workers included), each
 * unless the environment fixes it already. Never throws: without the addon, malloc behaves as it
 * always did.
 */
export function tuneMalloc(addon = MALLOC_ADDON, env: NodeJS.ProcessEnv = process.env): { readonly mmap: ThresholdOutcome; readonly trim: ThresholdOutcome } {
  let binding: MallocBinding | null = null;
  try {
    binding = createRequire(import.meta.url)(addon) as MallocBinding;
  } catch {
    // Not built here: both stay as glibc has them.
  }
  const tune = ({ setter, bytes, variable, tunable }: (typeof THRESHOLDS)[keyof typeof THRESHOLDS]): ThresholdOutcome => {
    // Present at all (glibc reads an empty value as 0), or as a tunable: glibc fixed it at start-up.
    if (env[variable] !== undefined || env.GLIBC_TUNABLES?.includes(tunable)) return 'environment';
    try {
      return binding?.[setter]?.(bytes) === true ? 'set' : 'unavailable';
    } catch {
      return 'unavailable';
    }
  };
  return { mmap: tune(THRESHOLDS.mmap), trim: tune(THRESHOLDS.trim) };
}
