/**
 * Progress of a long run: on a TTY a redrawn bar with rows/s and lag; elsewhere (CI, Bacalhau
 * logs) one line per second at most, and only while there is work.
 */
export class Progress {
  readonly #enabled: boolean;
  readonly #stream: NodeJS.WriteStream;
  readonly #tty: boolean;
  #started = false;
  #startRows = 0;
  #startMs = 0;
  #lastPrint = 0;
  #lastLine = '';

  constructor(opts: { enabled: boolean; stream: NodeJS.WriteStream }) {
    this.#enabled = opts.enabled;
    this.#stream = opts.stream;
    this.#tty = Boolean(opts.stream.isTTY);
  }

  /** `done` = rows landed by this run so far, `lagIds` = ids between the checkpoint and the newest row. */
  update(done: number, lagIds: number): void {
    if (!this.#enabled) return;
    const now = performance.now();
    if (!this.#started) {
      this.#started = true;
      this.#startRows = done;
      this.#startMs = now;
      this.#lastPrint = now;
      return;
    }
    if (now - this.#lastPrint < (this.#tty ? 200 : 1000)) return;
    this.#lastPrint = now;
    const rate = (done - this.#startRows) / Math.max((now - this.#startMs) / 1000, 1e-3);
    const lag = Math.max(0, lagIds);
    const total = done + lag;
    const line = `${fmt(done)} / ${fmt(total)} rows  ${fmt(rate)} rows/s  lag ${fmt(lag)} rows`;
    if (this.#tty) {
      const width = 24;
      const filled = total > 0 ? Math.round((done / total) * width) : width;
      this.#stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${line}\x1b[K`);
    } else if (line !== this.#lastLine && lag + (done - this.#startRows) > 0) {
      this.#stream.write(`edgelake: ${line}\n`);
    }
    this.#lastLine = line;
  }

  done(): void {
    if (this.#enabled && this.#tty && this.#lastLine) this.#stream.write('\n');
  }
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
