import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyPartial, type WindowPartial } from '../src/kernels/types.ts';
import { WindowStore } from '../src/stages/windows.ts';

/** A partial of `count` rows with metric values drawn from `rand` (awkward doubles included). */
function partial(slot: number, startMs: number, count: number, rand: () => number): WindowPartial {
  const p = emptyPartial(slot, startMs);
  p.count = count;
  p.firstId = Math.floor(rand() * 1e6);
  p.lastId = p.firstId + count;
  p.anomalyCount = Math.floor(rand() * count);
  p.maxScore = rand() < 0.1 ? -0 : rand() * 10;
  p.metrics = p.metrics.map((m, i) => (i === 4 && rand() < 0.2 ? m : { n: count, mean: rand() * 100 - 50, m2: rand() * 1e3, min: -rand() * 1e-7, max: rand() * 1e21 }));
  return p;
}

test('the window state text (kept windows printed once, then cached) is JSON.stringify(toJSON()) byte for byte through closes, corrections, evictions, flushes and restores', () => {
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const windowMs = 300_000;
  const store = new WindowStore({ windowMs, latenessMs: 60_000, retainMs: 1_800_000 });
  assert.equal(store.toJSONText(), JSON.stringify(store.toJSON()));
  let now = Date.UTC(2025, 7, 15);
  let corrections = 0;
  for (let batch = 0; batch < 300; batch++) {
    now += 40_000 + Math.floor(rand() * 40_000);
    const partials: WindowPartial[] = [];
    for (let slot = 0; slot < 12; slot++) {
      // Mostly the current window; sometimes a late row for one emitted long ago (a correction, or past retention).
      const late = rand() < 0.08 ? Math.floor(rand() * 12) * windowMs : 0;
      partials.push(partial(slot, Math.floor((now - late) / windowMs) * windowMs, 1 + Math.floor(rand() * 50), rand));
    }
    corrections += store.add(partials, now).closed.filter((c) => c.correction).length;
    assert.equal(store.toJSONText(), JSON.stringify(store.toJSON()), `after batch ${batch}`);
    if (batch % 97 === 50) {
      store.flushAll();
      assert.equal(store.toJSONText(), JSON.stringify(store.toJSON()), `after the flush at batch ${batch}`);
    }
    if (batch % 61 === 30) {
      // A restart: the restored store prints the same text, and goes on printing it right.
      const before = store.toJSONText();
      store.restore(JSON.parse(before));
      assert.equal(store.toJSONText(), before, `after the restore at batch ${batch}`);
    }
  }
  assert.ok(corrections > 10, `the run exercised corrections of kept windows (${corrections})`);
  store.restore(null);
  assert.equal(store.toJSONText(), JSON.stringify(store.toJSON()));
});
