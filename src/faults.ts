/**
 * Named crash points for fault-injection tests (in the spirit of FoundationDB's "buggify"):
 * `EDGELAKE_CRASH_AT=<point>:<n>` makes the process SIGKILL itself the n-th time it passes
 * `<point>` (n ≥ 1, default 1). Tests use it to kill `run` exactly between an upload and its
 * checkpoint, or after the k-th object of a batch, which a timer-based kill hits only by luck.
 * Unset (production), a pass costs one comparison.
 */

import { ConfigError } from './errors.ts';

/** The places a run can be killed at, in the order a batch passes them. */
export const CRASH_POINTS = ['intent-recorded', 'object-written', 'batch-uploaded', 'batch-committed'] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];

const spec = parse(process.env.EDGELAKE_CRASH_AT);
let passes = 0;

function parse(value: string | undefined): { point: CrashPoint; nth: number } | null {
  if (!value) return null;
  const [point, nth = '1'] = value.split(':');
  const n = Number(nth);
  if (!(CRASH_POINTS as readonly string[]).includes(point) || !(Number.isInteger(n) && n >= 1)) {
    throw new ConfigError('BAD_ENV', `EDGELAKE_CRASH_AT must be <point>:<n> with point one of ${CRASH_POINTS.join(', ')} and n ≥ 1, got ${JSON.stringify(value)}`);
  }
  return { point: point as CrashPoint, nth: n };
}

/** Marks a pass through `point`; kills the process when EDGELAKE_CRASH_AT names this pass. */
export function crashPoint(point: CrashPoint): void {
  if (spec === null || spec.point !== point) return;
  if (++passes === spec.nth) process.kill(process.pid, 'SIGKILL');
}
