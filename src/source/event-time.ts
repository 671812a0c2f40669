/**
 * Event time of a `timestamp` value, in epoch ms, exactly as the reader's SQL computes it
 * (`unixepoch(timestamp, 'subsec')` for text starting with a real calendar date, else NULL),
 * with a fast path in JS for the canonical shape the sensors write —
 * `YYYY-MM-DDTHH:MM:SS.mmm` then `Z` or `±HH:MM` (a space for `T` too) — which costs a few
 * character comparisons instead of ~1 µs of SQLite date functions per row. Anything else is
 * left to SQLite (`fallback`), so odd shapes keep SQLite's exact semantics.
 */

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Two ASCII digits at `i` as a number, or -1. */
function two(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/**
 * Epoch ms of a canonical timestamp; NaN for an impossible date (as SQLite's date() check
 * rejects it); undefined when the text is not in the canonical shape (ask SQLite).
 */
export function canonicalEventMs(s: string): number | undefined {
  const n = s.length;
  if (n !== 24 && n !== 29) return undefined;
  const sep = s.charCodeAt(10);
  if (s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || (sep !== 84 && sep !== 32) || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58 || s.charCodeAt(19) !== 46) return undefined;
  const yh = two(s, 0);
  const yl = two(s, 2);
  const mo = two(s, 5);
  const d = two(s, 8);
  const h = two(s, 11);
  const mi = two(s, 14);
  const se = two(s, 17);
  const m1 = two(s, 20);
  const m2 = s.charCodeAt(22) - 48;
  if (yh < 10 || yl < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 59 || m1 < 0 || !(m2 >= 0 && m2 <= 9)) return undefined;
  let offsetMin = 0;
  if (n === 24) {
    if (s.charCodeAt(23) !== 90) return undefined;
  } else {
    const sign = s.charCodeAt(23);
    const oh = two(s, 24);
    const om = two(s, 27);
    if ((sign !== 43 && sign !== 45) || s.charCodeAt(26) !== 58 || oh < 0 || oh > 14 || om < 0 || om > 59) return undefined;
    offsetMin = (sign === 43 ? 1 : -1) * (oh * 60 + om);
  }
  const y = yh * 100 + yl;
  // Readings of one batch share a handful of days: the day's start is computed once per day, not
  // once per row (Date.UTC is most of this function's cost).
  const day = (y * 100 + mo) * 100 + d;
  if (day !== lastDay) {
    const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
    if (d > (mo === 2 && leap ? 29 : DAYS[mo - 1])) return NaN;
    lastDay = day;
    lastDayMs = Date.UTC(y, mo - 1, d);
  }
  return lastDayMs + ((h * 60 + mi) * 60 + se) * 1000 + m1 * 10 + m2 - offsetMin * 60_000;
}

/** The last valid calendar day parsed (`yyyymmdd`) and its start, epoch ms. */
let lastDay = -1;
let lastDayMs = 0;
