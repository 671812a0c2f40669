/**
 * Event time of a source row, parsed by the checker itself (not by edgelake's code): the
 * contract's `timestamp` text is ISO-8601 with `+HH:MM`, `Z` or no zone (UTC), with or without
 * a fraction. The pipeline lets SQLite parse it (`unixepoch(ts, 'subsec')`), which reads the
 * same forms; agreeing with it on independent arithmetic is part of what the checker proves.
 */

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i;

/** Epoch milliseconds of a stored timestamp, or null when it is not a parseable ISO-8601 text. */
export function parseEventMs(value: unknown): number | null {
  if (typeof value !== 'string') return null;
  const m = ISO.exec(value.trim());
  if (!m) return null;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const [hour, minute, second] = [Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)];
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return null;
  // Only milliseconds count (the pipeline rounds SQLite's fractional seconds to ms).
  const millis = m[7] ? Math.round(Number(`0.${m[7]}`) * 1000) : 0;
  let offsetMin = 0;
  const zone = m[8];
  if (zone && zone.toUpperCase() !== 'Z') {
    const digits = zone.replace(':', '');
    offsetMin = (zone[0] === '-' ? -1 : 1) * (Number(digits.slice(1, 3)) * 60 + Number(digits.slice(3, 5)));
  }
  const local = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  // An impossible calendar day (2025-02-30) is not a time: Date.UTC would roll it into March.
  if (new Date(local).getUTCDate() !== day) return null;
  return local - offsetMin * 60_000;
}

/** Start (epoch ms) of the UTC hour holding `ms`. */
export function utcHourOf(ms: number): number {
  return Math.floor(ms / 3_600_000) * 3_600_000;
}

/** Start (epoch ms) of the tumbling window of `windowMs` holding `ms` (windows are aligned to the epoch). */
export function windowStartOf(ms: number, windowMs: number): number {
  return Math.floor(ms / windowMs) * windowMs;
}
