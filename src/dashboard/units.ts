/**
 * Human units for the report's labels. The exact values stay in `data-value` attributes; these
 * only decide what a person reads.
 */

/** Bytes in B, KiB, MiB, GiB or TiB with three significant digits, e.g. `1.21 MiB`. */
export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? String(Math.round(v)) : sig3(v)} ${units[i]}`;
}

/** Milliseconds as ms, s, min or h, e.g. `640 ms`, `1.49 s`, `24.6 min`. */
export function duration(ms: number): string {
  const a = Math.abs(ms);
  if (a < 1000) return `${sig3(ms)} ms`;
  if (a < 60_000) return `${sig3(ms / 1000)} s`;
  if (a < 3_600_000) return `${sig3(ms / 60_000)} min`;
  return `${sig3(ms / 3_600_000)} h`;
}

/** The unit {@link durationIn} scales to for values up to `maxMs`. */
export function durationUnit(maxMs: number): { unit: string; div: number } {
  if (maxMs < 1000) return { unit: 'ms', div: 1 };
  if (maxMs < 60_000) return { unit: 's', div: 1000 };
  if (maxMs < 3_600_000) return { unit: 'min', div: 60_000 };
  return { unit: 'h', div: 3_600_000 };
}

/** US dollars: cents for amounts ≥ $1, more decimals below, e.g. `$0.000114`. */
export function usd(n: number): string {
  if (n === 0) return '$0';
  if (Math.abs(n) >= 1) return `$${n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
  return `$${Number(n.toPrecision(3))}`;
}

/** A count with thousands separators, e.g. `120,000`. */
export function count(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** A compact axis number: 1.2k, 3.4M. */
export function compact(n: number): string {
  const a = Math.abs(n);
  if (a >= 1e9) return `${sig3(n / 1e9)}G`;
  if (a >= 1e6) return `${sig3(n / 1e6)}M`;
  if (a >= 1e3) return `${sig3(n / 1e3)}k`;
  return sig3(n);
}

/** Three significant digits without trailing zeros. */
export function sig3(v: number): string {
  if (v === 0) return '0';
  return String(Number(v.toPrecision(3)));
}
