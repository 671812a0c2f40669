/**
 * The reader's JS parse of canonical timestamps (src/source/event-time.ts), ns per value, against
 * Date.parse. 100k instants one second apart: a batch's readings share a few days, so the
 * per-day cache hits. (Its form before the cache, Date.UTC per row, is 9661e66^ of that file.)
 * Run: node --import tsx bench/event-time.bench.ts
 */
import { Bench } from 'tinybench';
import { canonicalEventMs } from '../src/source/event-time.ts';

const N = 100_000;
const base = Date.UTC(2025, 7, 15, 20);
const values = Array.from({ length: N }, (_, i) => new Date(base + i * 1000).toISOString());

let sink = 0;
const bench = new Bench({ time: 1000 });
bench
  .add('canonicalEventMs (day start cached)', () => {
    for (let i = 0; i < N; i++) sink += canonicalEventMs(values[i])!;
  })
  .add('Date.parse (reference)', () => {
    for (let i = 0; i < N; i++) sink += Date.parse(values[i]);
  });
await bench.run();
for (const t of bench.tasks) {
  const r = t.result as { latency?: { p50?: number } } | undefined;
  const ms = r?.latency?.p50;
  console.log(`${t.name.padEnd(48)} ${ms === undefined ? '?' : ((ms * 1e6) / N).toFixed(0)} ns per value`);
}
if (sink === 0) console.log('');
