/** Main-thread reassembly of the window partials that several bench pool tasks return. */
import { mergePartials } from '../../src/kernels/partial.ts';
import type { WindowPartial } from '../../src/kernels/types.ts';

/**
 * Accumulates partials from tasks, merging those of the same (slot, window) with mergePartials
 * (Chan et al.; equal to one pass within float rounding). Output keeps the order of first appearance.
 */
export class PartialMerger {
  readonly #byKey = new Map<string, number>();
  readonly #out: WindowPartial[] = [];

  /** Adds one task's partials (their `slot` already in the caller's numbering). */
  add(parts: readonly WindowPartial[]): void {
    for (const p of parts) {
      const key = `${p.slot}:${p.windowStartMs}`;
      const k = this.#byKey.get(key);
      if (k === undefined) {
        this.#byKey.set(key, this.#out.length);
        this.#out.push(p);
      } else this.#out[k] = mergePartials(this.#out[k], p);
    }
  }

  /** The merged partials so far. */
  get partials(): WindowPartial[] {
    return this.#out;
  }
}

/** A stable slot per sensor_id across tasks whose slots are task-local dictionary codes. */
export class SensorSlots {
  readonly #slots = new Map<string | null, number>();
  readonly #ids: (string | null)[] = [];

  /** Rewrites `parts[].slot` from indexes into `taskIds` to stable slots; returns `parts`. */
  remap(parts: WindowPartial[], taskIds: readonly (string | null)[]): WindowPartial[] {
    const map = taskIds.map((id) => {
      let s = this.#slots.get(id);
      if (s === undefined) {
        s = this.#ids.length;
        this.#slots.set(id, s);
        this.#ids.push(id);
      }
      return s;
    });
    for (const p of parts) p.slot = map[p.slot];
    return parts;
  }

  /** sensor_id by stable slot (null for rows without a sensor_id). */
  get sensorIds(): readonly (string | null)[] {
    return this.#ids;
  }
}
