import * as zlib from 'node:zlib';

/**
 * The page codec of edgelake's Parquet files: zstd (contract §3). Node 20's zlib has no zstd,
 * so it comes from `@bokuweb/zstd-wasm` (zstd compiled to WebAssembly, no native build); where
 * Node's own zlib has it (Node ≥ 22.15) that is used instead. Both write standard zstd frames.
 * The WASM module loads asynchronously once per thread: {@link zstd} resolves when it is ready.
 */

/** A page compressor and its `CompressionCodec` id in the footer. */
export interface Codec {
  /** Thrift `CompressionCodec`: 6 = ZSTD. */
  readonly id: number;
  readonly name: string;
  compress(bytes: Uint8Array): Uint8Array;
}

/** zstd level of pages. Default 1: compression runs beside encoding on every row, and level 3 gains little on these columns. */
export const ZSTD_LEVEL = 1;

type NativeZstd = (buf: Uint8Array, opts: { params: Record<number, number> }) => Buffer;
const native = (zlib as unknown as { zstdCompressSync?: NativeZstd; constants: Record<string, number> }).zstdCompressSync;

let ready: Promise<Codec> | null = null;

/** The zstd codec of this thread (loaded on first use). */
export function zstd(level = ZSTD_LEVEL): Promise<Codec> {
  if (native) {
    const param = (zlib.constants as unknown as Record<string, number>).ZSTD_c_compressionLevel;
    return Promise.resolve({ id: 6, name: 'zstd', compress: (b) => native(b, { params: { [param]: level } }) });
  }
  ready ??= import('@bokuweb/zstd-wasm').then(async (m) => {
    await m.init();
    return { id: 6, name: 'zstd', compress: (b: Uint8Array) => m.compress(b, level) } satisfies Codec;
  });
  if (level === ZSTD_LEVEL) return ready;
  return ready.then(() => import('@bokuweb/zstd-wasm')).then((m) => ({ id: 6, name: 'zstd', compress: (b: Uint8Array) => m.compress(b, level) }));
}
