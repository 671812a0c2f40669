/**
 * Page buffers shared by the columns of a thread: a file's columns take their level and value
 * arrays from here and give them back when the file is finished, so a worker holds one file's
 * page buffers (a slice of every column: ~15 MB), not one set per file of every batch in flight.
 */

const MAX_POOLED = 256;

class Pool<T extends { readonly length: number }> {
  readonly #free: T[] = [];
  readonly #make: (n: number) => T;

  constructor(make: (n: number) => T) {
    this.#make = make;
  }

  /** An array of at least `n` elements (contents unspecified). */
  take(n: number): T {
    const free = this.#free;
    for (let i = free.length - 1; i >= 0; i--) {
      if (free[i].length >= n) {
        const a = free[i];
        free[i] = free[free.length - 1];
        free.pop();
        return a;
      }
    }
    return this.#make(Math.max(n, 1024));
  }

  give(a: T): void {
    if (a.length > 0 && this.#free.length < MAX_POOLED) this.#free.push(a);
  }
}

export const bytePool = new Pool((n) => new Uint8Array(n));
export const f64Pool = new Pool((n) => new Float64Array(n));
export const i32Pool = new Pool((n) => new Int32Array(n));
