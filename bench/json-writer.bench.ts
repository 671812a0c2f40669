/**
 * The JSON Lines byte writer's hot primitives against the plain references they must equal:
 * numbers (`JsonWriter.number` against `String(v)` written as latin1) on sensor-like decimals,
 * and ISO instants (`isoWriter` against `JSON.stringify(new Date(ms).toISOString())`). Prints ns
 * per value (median of tinybench's iterations). Equality itself is tested in
 * test/json-writer.test.ts and test/typed-columns.test.ts.
 * Run: node --import tsx bench/json-writer.bench.ts
 */
import { Bench } from 'tinybench';
import { JsonWriter } from '../src/encode/json-writer.ts';
import { isoWriter } from '../src/stages/typed.ts';

const N = 200_000;
let seed = 3;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
// Temperatures, humidities, pressures, vibrations, voltages: what a sensor row holds.
const values = Float64Array.from({ length: N }, (_, i) => {
  const k = i % 5;
  return k === 0 ? Math.round(rand() * 4000) / 100 : k === 1 ? Math.round(rand() * 1e4) / 10 : k === 2 ? Math.round(1e6 + rand() * 5e4) / 10 : k === 3 ? Math.round(rand() * 5000) / 1000 : Math.round(rand() * 1500) / 100;
});
const instants = Float64Array.from({ length: N }, (_, i) => Date.UTC(2025, 7, 15) + i * 1003);

const sink = new JsonWriter(() => {}, 1 << 20);
const buf = Buffer.allocUnsafe(1 << 20);
let pos = 0;
const plain = (text: string) => {
  if (pos + text.length + 1 > buf.length) pos = 0;
  pos += buf.write(text, pos, 'latin1');
  buf[pos++] = 44;
};
const iso = isoWriter();

const bench = new Bench({ time: 1500, warmupTime: 300 });
bench
  .add('number: JsonWriter.number', () => {
    for (let i = 0; i < N; i++) {
      sink.number(values[i]);
      sink.byte(44);
    }
  })
  .add('number: String(v) → latin1 (reference)', () => {
    for (let i = 0; i < N; i++) plain(String(values[i]));
  })
  .add('instant: isoWriter', () => {
    for (let i = 0; i < N; i++) {
      iso(sink, instants[i]);
      sink.byte(44);
    }
  })
  .add('instant: JSON.stringify(toISOString()) → latin1 (reference)', () => {
    for (let i = 0; i < N; i++) plain(JSON.stringify(new Date(instants[i]).toISOString()));
  });

await bench.run();
for (const t of bench.tasks) {
  // tinybench 5: a completed task's result has latency statistics; an errored or aborted one has none.
  const r = t.result as { latency?: { p50?: number } } | undefined;
  const ms = r?.latency?.p50;
  console.log(`${t.name.padEnd(62)} ${ms === undefined ? '?' : ((ms * 1e6) / N).toFixed(0)} ns per value`);
}
