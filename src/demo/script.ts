import { relative } from 'node:path';
import type { PipelineType } from '../state/pipeline-types.ts';

/**
 * The demo's printout, read like a presenter's script: numbered steps with the time since the
 * start, the command each step runs (as a person would type it), and the point it makes.
 */

/** What each stage shows, in the brief's words, for the step that switches to it. */
export const STAGE_STORY: Readonly<Record<PipelineType, { title: string; point: string }>> = {
  ingestion: { title: 'Stage 1 — Data Ingestion', point: 'baseline capture without processing: every row as stored, raw JSON in the ingestion bucket' },
  validated: { title: 'Stage 2 — Data Validation', point: 'schema and range checks at the edge; bad rows are kept and flagged with the rule they break' },
  enriched: { title: 'Stage 3 — Enrichment & Privacy', point: 'Bacalhau job metadata, node snapshot and lineage on every record; GPS fuzzed before it leaves the node' },
  aggregated: { title: 'Stage 4 — Edge Aggregation', point: 'time windows and anomaly scores computed where the data is: a fraction of the bytes leave the node' },
};

/** Prints steps and commands with the elapsed time. */
export class Presenter {
  readonly #out: NodeJS.WritableStream;
  readonly #t0 = Date.now();
  readonly #cwd = process.cwd();
  #step = 0;

  constructor(out: NodeJS.WritableStream) {
    this.#out = out;
  }

  /** Seconds since the demo started. */
  get elapsedS(): number {
    return (Date.now() - this.#t0) / 1000;
  }

  /** `[mm:ss]`. */
  clock(): string {
    const s = Math.floor(this.elapsedS);
    return `[${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}]`;
  }

  /** A numbered step with its title and, optionally, the point it makes. */
  step(title: string, point?: string): void {
    this.#step++;
    this.#out.write(`\n${this.clock()} Step ${this.#step}. ${title}\n`);
    if (point) this.#out.write(`        ${point}\n`);
  }

  /** A command as a person would type it (paths relative to the working folder), with a note on how often it runs. */
  command(args: readonly string[], note = ''): void {
    const shown = args.map((a) => (a.startsWith('/') ? this.path(a) : /[\s"']/.test(a) ? JSON.stringify(a) : a)).join(' ');
    this.#out.write(`        $ edgelake ${shown}${note ? `   ${note}` : ''}\n`);
  }

  /** An indented line of the current step. */
  line(text: string): void {
    this.#out.write(`        ${text}\n`);
  }

  /** A status line with the clock. */
  status(text: string): void {
    this.#out.write(`${this.clock()}   ${text}\n`);
  }

  /** Free text, unindented. */
  text(text: string): void {
    this.#out.write(text.endsWith('\n') ? text : text + '\n');
  }

  /** A path relative to the working folder when it is inside it. */
  path(p: string): string {
    const r = relative(this.#cwd, p);
    return r && !r.startsWith('..') ? r : p;
  }
}

/** Rows of cells as an aligned text table (numbers right-aligned), two-space indented. */
export function textTable(head: readonly string[], rows: readonly (readonly (string | number)[])[], indent = '  '): string {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? c.toLocaleString('en-US') : c)));
  const numeric = head.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number' || /^[\d.,%×+−-]+( ?[a-zA-Z%]+)?$/.test(String(r[i]))));
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i].length)));
  const line = (r: readonly string[]) => indent + r.map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd() + '\n';
  return line(head) + line(widths.map((w) => '-'.repeat(w))) + cells.map(line).join('');
}
