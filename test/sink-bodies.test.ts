/** Which bodies the main thread may free after a commit, and that freeing them leaves every other view alone. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ownedBodyBuffers, releaseBodies } from '../src/sink/bodies.ts';
import type { SinkObject } from '../src/sink/types.ts';

const object = (body: Uint8Array): SinkObject => ({ bucket: 'b', key: 'k', body, records: 1 });

test('only bodies that fill their whole buffer are owned, each buffer once', () => {
  const whole = new Uint8Array(1 << 20);
  const pooled = Buffer.from('small body in the shared pool'); // a view into Node's 8 KiB pool
  assert.ok(pooled.byteLength < pooled.buffer.byteLength, 'Buffer.from of a short string is a pool view');
  const slab = new ArrayBuffer(64);
  const first = new Uint8Array(slab, 0, 32);
  const owned = ownedBodyBuffers([object(whole), object(pooled), object(first), object(whole)]);
  assert.deepEqual(owned, [whole.buffer]);
});

test('releasing detaches the owned bodies and nothing else', () => {
  const whole = new Uint8Array(4096).fill(7);
  const pooled = Buffer.from('another small body');
  const neighbour = Buffer.from('a neighbour in the same pool');
  assert.equal(pooled.buffer, neighbour.buffer, 'both small Buffers share one pool slab');
  releaseBodies([object(whole), object(pooled)]);
  assert.equal(whole.byteLength, 0, 'the owned body is detached');
  assert.equal(whole.buffer.byteLength, 0);
  assert.equal(pooled.toString(), 'another small body', 'a pool view is left as it was');
  assert.equal(neighbour.toString(), 'a neighbour in the same pool');
  releaseBodies([]); // nothing to free is no error
});
