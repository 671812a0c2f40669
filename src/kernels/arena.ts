/**
 * Host-side memory of a WASM kernel instance built with `--runtime stub`: a bump allocator over
 * the instance's linear memory, starting at the module's heap base and reset before every call.
 * Growing memory detaches every existing view, so callers take views only after their last alloc
 * (or re-take them, which is what `f64()`/`i32()`/… are for).
 */
/** The part of `WebAssembly.Memory` the arena uses (the project's lib settings carry no WebAssembly types). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

export class Arena {
  readonly #memory: WasmMemory;
  readonly #base: number;
  #top: number;

  constructor(memory: WasmMemory, base: number) {
    this.#memory = memory;
    this.#base = align(base);
    this.#top = this.#base;
  }

  /** Frees everything allocated since construction (the memory itself is kept for the next call). */
  reset(): void {
    this.#top = this.#base;
  }

  /** Bytes of linear memory currently reserved by the instance. */
  get capacity(): number {
    return this.#memory.buffer.byteLength;
  }

  /** Allocates `bytes` (16-byte aligned, contents undefined), growing memory as needed; returns the address. */
  alloc(bytes: number): number {
    const ptr = this.#top;
    const top = align(ptr + bytes);
    if (top > 0xffff0000) throw new RangeError(`WASM kernel memory exhausted: ${top} bytes needed, 4 GiB is the wasm32 limit (use smaller batches)`);
    const have = this.#memory.buffer.byteLength;
    if (top > have) {
      // Grow at least by half again so a sequence of calls does not grow page by page.
      const want = Math.max(top, Math.min(0xffff0000, Math.floor(have * 1.5)));
      this.#memory.grow(Math.ceil((want - have) / 65536));
    }
    this.#top = top;
    return ptr;
  }

  f64(ptr: number, length: number): Float64Array {
    return new Float64Array(this.#memory.buffer, ptr, length);
  }

  i32(ptr: number, length: number): Int32Array {
    return new Int32Array(this.#memory.buffer, ptr, length);
  }

  u32(ptr: number, length: number): Uint32Array {
    return new Uint32Array(this.#memory.buffer, ptr, length);
  }

  u8(ptr: number, length: number): Uint8Array {
    return new Uint8Array(this.#memory.buffer, ptr, length);
  }
}

function align(n: number): number {
  return Math.ceil(n / 16) * 16;
}
