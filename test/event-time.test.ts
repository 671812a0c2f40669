/**
 * The reader's JS fast path for canonical timestamps (src/source/event-time.ts) must give exactly
 * the event time SQLite's own expression gives — `unixepoch(ts, 'subsec')` for text starting with
 * a real calendar date, else NULL — on every value it accepts, through its per-day cache: days
 * switching every row, runs of one day, an impossible day right after a valid one, leap days,
 * offsets from -14:00 to +14:00, both separators, years 1000–9999.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { canonicalEventMs } from '../src/source/event-time.ts';

const two = (n: number) => String(n).padStart(2, '0');

test('canonical timestamps parsed in JS equal SQLite unixepoch(ts, subsec) on 300k values, through the per-day cache', () => {
  const db = new Database(':memory:');
  const sqlite = db
    .prepare(
      `SELECT CASE WHEN typeof(t) = 'text' AND t GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*'
                AND (substr(t, 9, 2) < '29' OR date(substr(t, 1, 10)) = substr(t, 1, 10))
              THEN unixepoch(t, 'subsec') END FROM (SELECT ? AS t)`,
    )
    .pluck();
  let seed = 7;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const values: string[] = [];
  for (let i = 0; i < 300_000; i++) {
    // Runs of one day (the cache hits), then a jump (it misses); days 28–31 often, to hit impossible dates.
    const run = Math.floor(i / (1 + (i % 7)));
    const y = 1000 + ((run * 7919) % 9000);
    const mo = 1 + (run % 12);
    const d = run % 3 === 0 ? 28 + (run % 4) : 1 + (run % 31);
    const time = `${two(rand(24))}:${two(rand(60))}:${two(rand(60))}.${String(rand(1000)).padStart(3, '0')}`;
    const sep = i % 5 === 0 ? ' ' : 'T';
    const zone = i % 3 === 0 ? 'Z' : `${i % 2 ? '+' : '-'}${two(rand(15))}:${two(rand(60))}`;
    values.push(`${y}-${two(mo)}-${two(d)}${sep}${time}${zone}`);
  }
  // Consecutive days that differ in one field only (the cache must key on all three).
  for (const y of [2023, 2024, 2025]) for (const d of [1, 15, 28, 29, 30, 31]) for (let mo = 1; mo <= 12; mo++) values.push(`${y}-${two(mo)}-${two(d)}T06:30:00.250Z`);
  for (const d of [1, 15, 29, 31]) for (let mo = 1; mo <= 12; mo++) for (const y of [2023, 2024, 2025]) values.push(`${y}-${two(mo)}-${two(d)} 18:00:00.999+05:30`);
  // Leap days, around an impossible one in the same month.
  values.push('2024-02-29T12:00:00.000Z', '2023-02-29T12:00:00.000Z', '2024-02-29T12:00:00.001Z', '2000-02-29T00:00:00.000+14:00', '1900-02-29T00:00:00.000Z');
  let checked = 0;
  let impossible = 0;
  for (const v of values) {
    const js = canonicalEventMs(v);
    if (js === undefined) continue; // not canonical: the reader asks SQLite itself
    const secs = sqlite.get(v) as number | null;
    const expected = typeof secs === 'number' ? Math.round(secs * 1000) : NaN;
    assert.ok(Object.is(js, expected), `${v}: JS ${js}, SQLite ${expected}`);
    checked++;
    if (Number.isNaN(js)) impossible++;
  }
  assert.ok(checked > 290_000, `canonical values checked: ${checked}`);
  assert.ok(impossible > 1000, `impossible dates among them: ${impossible}`);
  db.close();
});
