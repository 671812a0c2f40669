/**
 * What `/healthz` answers: the run is healthy while none of its parts is failing. A part fails
 * when its last attempt failed for good (S3 or the lake folder after the sink's retries, the
 * state database, the sensor database, the alert path's private file) and is healthy again with
 * its next success. A retry in progress is not a failure: the sink's own policy may still win.
 */

/** A part of the run that can fail on its own. */
export type Component = 'sink' | 'state' | 'source' | 'alerts';

/** Every component, in the order reasons are listed. */
export const COMPONENTS: readonly Component[] = ['sink', 'state', 'source', 'alerts'];

/** One failing part: why, and since when (epoch ms). */
export interface Failure {
  readonly component: Component;
  /** Redacted, one line: what failed and how. */
  readonly reason: string;
  readonly sinceMs: number;
}

/** The answer of a health check. */
export interface HealthReport {
  readonly ok: boolean;
  /** Empty when ok. */
  readonly failures: readonly Failure[];
}

/**
 * Failures keyed by component and, within it, by what failed (a bucket, a step), so one bucket's
 * success does not hide another's failure.
 */
export class Health {
  readonly #failing = new Map<string, Failure>();

  /** `what` (e.g. a bucket name) of `component` failed for good. The first time is kept as `since`. */
  fail(component: Component, what: string, reason: string, nowMs = Date.now()): void {
    const key = `${component}\u0000${what}`;
    const before = this.#failing.get(key);
    this.#failing.set(key, { component, reason: oneLine(reason), sinceMs: before?.sinceMs ?? nowMs });
  }

  /** `what` of `component` succeeded: healthy again (every `what` of it when omitted). */
  recover(component: Component, what?: string): void {
    if (what !== undefined) {
      this.#failing.delete(`${component}\u0000${what}`);
      return;
    }
    for (const key of this.#failing.keys()) if (key.startsWith(`${component}\u0000`)) this.#failing.delete(key);
  }

  /** True while some part of `component` is failing. */
  failing(component: Component): boolean {
    for (const f of this.#failing.values()) if (f.component === component) return true;
    return false;
  }

  /** The current answer: failures by component order, oldest first within one. */
  report(): HealthReport {
    const failures = [...this.#failing.values()].sort((a, b) => COMPONENTS.indexOf(a.component) - COMPONENTS.indexOf(b.component) || a.sinceMs - b.sinceMs);
    return { ok: failures.length === 0, failures };
  }
}

/** Long multi-line error texts become one line of at most 500 characters. */
function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 500 ? `${flat.slice(0, 497)}...` : flat;
}
