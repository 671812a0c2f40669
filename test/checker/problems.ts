/**
 * The checker's findings: human-readable sentences, capped per (node, kind) so that one bug
 * repeated over ten thousand rows reads as a handful of examples plus a count, not a flood.
 */

/** Examples kept per (node, kind) before the rest is only counted. Default of {@link Problems}. */
export const EXAMPLES_PER_KIND = 12;

/** Collects problems; `list()` is empty when everything was proven. */
export class Problems {
  readonly #examples = EXAMPLES_PER_KIND;
  readonly #kept: string[] = [];
  readonly #overflow = new Map<string, number>();
  readonly #counts = new Map<string, number>();

  /** Records one problem of `kind` (a short noun phrase) on `scope` (a node id or `fleet`). */
  add(scope: string, kind: string, message: string): void {
    const k = `${scope}: ${kind}`;
    const n = (this.#counts.get(k) ?? 0) + 1;
    this.#counts.set(k, n);
    if (n <= this.#examples) this.#kept.push(`${scope}: ${message}`);
    else this.#overflow.set(k, (this.#overflow.get(k) ?? 0) + 1);
  }

  /** Number of problems recorded (including the ones only counted). */
  get size(): number {
    let n = 0;
    for (const c of this.#counts.values()) n += c;
    return n;
  }

  /** Every kept problem, then one line per kind that overflowed. */
  list(): string[] {
    return [...this.#kept, ...[...this.#overflow].map(([k, n]) => `${k}: … and ${n} more like the above`)];
  }
}

/** `a, b, c, … (N)` for a long list of ids. */
export function sample(xs: readonly (number | string)[], max = 8): string {
  return xs.length <= max ? xs.join(', ') : `${xs.slice(0, max).join(', ')}, … (${xs.length} in all)`;
}
