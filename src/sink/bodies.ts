/**
 * Bodies that own their memory: a worker hands these over by transfer, not by copy (src/pool/
 * worker.ts), and the main thread frees them as soon as the batch that wrote them is committed.
 * A body that is a view into a larger buffer — Node's shared pool of small Buffers, say — is never
 * one of them: detaching that buffer would empty every other view of it.
 */
import type { SinkObject } from './types.ts';

/** The ArrayBuffers that `objects`' bodies each fill whole (each once). */
export function ownedBodyBuffers(objects: readonly SinkObject[]): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const { body } of objects) {
    if (body.buffer instanceof ArrayBuffer && body.byteOffset === 0 && body.byteLength === body.buffer.byteLength) out.add(body.buffer);
  }
  return [...out];
}

/**
 * Frees the bodies of committed objects now: each owned buffer is detached by a transfer to a clone
 * nobody keeps, which the next scavenge returns. Without it a transferred body — promoted while its
 * batch uploaded — waits for the heap's next full marking, and a main thread receiving a few MB of
 * bodies every batch holds tens of MB of them (bench/README.md, ninth pass). The bodies read as
 * empty afterwards: call it only once every object is durable and nothing will read them again.
 */
export function releaseBodies(objects: readonly SinkObject[]): void {
  const owned = ownedBodyBuffers(objects);
  if (owned.length > 0) structuredClone(owned, { transfer: owned });
}
