import type { Cell, NamedResult, QueryResult } from './engine.ts';

/**
 * Printing query results: aligned text tables for people (numbers right-aligned, nulls blank,
 * lists comma-joined) and JSON for machines.
 */

/** Options of {@link formatTable}. */
export interface TableFormatOptions {
  /** Longest cell shown, in characters; longer ones end in `…`. Default 48. */
  readonly maxCellWidth?: number;
  /** Rows shown at most; a last line says how many were left out. Default 200. */
  readonly maxRows?: number;
}

const DEFAULTS = { maxCellWidth: 48, maxRows: 200 } as const;

/** One cell as text: numbers with at most 3 decimals, booleans as yes/no, lists comma-joined, null blank. */
export function formatCell(v: Cell): string {
  if (v === null) return '';
  if (typeof v === 'number') {
    if (Number.isInteger(v)) return String(v);
    return String(Math.round(v * 1000) / 1000);
  }
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (Array.isArray(v)) return v.map(formatCell).join(', ');
  if (typeof v === 'object') return JSON.stringify(v);
  return v;
}

/** A result as an aligned text table (two-space indent, header, dashes); `(no rows)` when empty. */
export function formatTable(result: QueryResult, opts: TableFormatOptions = {}): string {
  const maxW = opts.maxCellWidth ?? DEFAULTS.maxCellWidth;
  const maxRows = opts.maxRows ?? DEFAULTS.maxRows;
  const head = result.columns.map((c) => c.name);
  if (result.rows.length === 0) return `  ${head.join('  ')}\n  (no rows)\n`;
  const shown = result.rows.slice(0, maxRows);
  const numeric = result.columns.map((_, i) => shown.every((r) => r[head[i]] === null || typeof r[head[i]] === 'number'));
  const cells = shown.map((r) => head.map((h) => clip(formatCell(r[h]), maxW)));
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (row: string[]) =>
    '  ' + row.map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd() + '\n';
  let out = line(head) + line(widths.map((w) => '-'.repeat(w))) + cells.map(line).join('');
  if (result.rows.length > shown.length) out += `  … ${result.rows.length - shown.length} more rows (use --json for all)\n`;
  return out;
}

/** A named result with its title above the table. */
export function formatNamed(result: NamedResult, opts?: TableFormatOptions): string {
  return `${result.title} [${result.name}]\n${formatTable(result, opts)}`;
}

/**
 * JSON for machines: one named result is `{name, title, columns, rows}`; several are an array of
 * those; an ad-hoc result has no name or title.
 */
export function formatJson(results: QueryResult | readonly QueryResult[]): string {
  const one = (r: QueryResult) => {
    const n = r as Partial<NamedResult>;
    return { ...(n.name ? { name: n.name, title: n.title } : {}), columns: r.columns, rows: r.rows };
  };
  return JSON.stringify(Array.isArray(results) ? results.map(one) : one(results as QueryResult)) + '\n';
}

function clip(s: string, max: number): string {
  const flat = s.replace(/\s+/g, ' ');
  return flat.length > max ? flat.slice(0, max - 1) + '…' : flat;
}
