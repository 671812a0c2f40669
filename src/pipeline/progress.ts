import type { RunStatus } from '../ops/metrics.ts';

/** Where the status line gets what it shows (src/ops/metrics.ts `RunMetrics`). */
export interface StatusSource {
  readonly status: RunStatus;
}

/** Options of {@link Progress}. */
export interface ProgressOptions {
  readonly enabled: boolean;
  readonly stream: NodeJS.WritableStream & { readonly isTTY?: boolean };
  /** Stage, lag in seconds, objects, bytes, alerts and the sink's state; without it the line has rows and lag only. */
  readonly status?: StatusSource;
  /** Monotonic clock, ms (tests). Default performance.now. */
  readonly now?: () => number;
  /** Checks whether to print this often, ms; 0 = only when update() is called (tests). Default 200 (TTY) / 1000. */
  readonly tickMs?: number;
}

/** Non-TTY: a line at most this often while something changes, ms. */
export const BUSY_EVERY_MS = 10_000;
/** Non-TTY: a line this often when nothing changed (a heartbeat), ms. */
export const IDLE_EVERY_MS = 60_000;
/** Non-TTY: the stage or the sink's state changed: a line at once, but never two within this, ms. */
const STATE_GAP_MS = 1000;
/** The rows/s figure is over this much recent time, ms. */
const RATE_WINDOW_MS = 10_000;

/**
 * The status line of `run`: stage, rows/s, lag in rows and seconds, what this run wrote, alerts
 * and the sink's state. On a TTY it is redrawn in place; elsewhere (CI, container and Bacalhau
 * logs) it is a line when the stage or the sink's state changes, at most every 10 s while work
 * goes on, and every 60 s when idle — about 1,440 lines a day for an idle daemon, not 86,400.
 */
export class Progress {
  readonly #o: ProgressOptions;
  readonly #tty: boolean;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | null = null;
  #done = 0;
  #lagIds = 0;
  #samples: Array<[number, number]> = [];
  #printedAt = -Infinity;
  #printedWhat = '';
  #printedState = '';
  #drawn = false;

  constructor(opts: ProgressOptions) {
    this.#o = opts;
    this.#tty = Boolean(opts.stream.isTTY);
    this.#now = opts.now ?? (() => performance.now());
  }

  /** `done` = rows landed by this run so far, `lagIds` = ids between the checkpoint and the newest row. */
  update(done: number, lagIds: number): void {
    if (!this.#o.enabled) return;
    this.#done = done;
    this.#lagIds = Math.max(0, lagIds);
    const first = this.#samples.length === 0;
    this.#sample();
    if (first) {
      const every = this.#o.tickMs ?? (this.#tty ? 200 : 1000);
      // Its own clock: a loop stuck in a long upload or a backoff still shows the sink's state.
      if (every > 0) (this.#timer = setInterval(() => this.tick(), every)).unref();
    }
    this.tick();
  }

  /** Prints the line if it is due (see the class comment). */
  tick(): void {
    if (!this.#o.enabled || this.#samples.length === 0) return;
    const now = this.#now();
    this.#sample();
    const s = this.#o.status?.status;
    const line = this.#line(s, now);
    if (this.#tty) {
      if (now - this.#printedAt < 200) return;
      this.#printedAt = now;
      const total = this.#done + this.#lagIds;
      const width = 24;
      const filled = total > 0 ? Math.round((this.#done / total) * width) : width;
      this.#o.stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${line}\x1b[K`);
      this.#drawn = true;
      return;
    }
    const what = this.#what(s);
    const state = s ? `${s.stage}|${s.sink.state}` : '';
    const since = now - this.#printedAt;
    const due =
      this.#printedAt === -Infinity ||
      (state !== this.#printedState && since >= STATE_GAP_MS) ||
      (what !== this.#printedWhat && since >= BUSY_EVERY_MS) ||
      since >= IDLE_EVERY_MS;
    if (!due) return;
    this.#printedAt = now;
    this.#printedWhat = what;
    this.#printedState = state;
    this.#o.stream.write(`edgelake: ${line}\n`);
  }

  /** Stops the line's clock; on a TTY, ends the redrawn line. */
  done(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    if (this.#o.enabled && this.#tty && this.#drawn) this.#o.stream.write('\n');
  }

  #sample(): void {
    const now = this.#now();
    const last = this.#samples[this.#samples.length - 1];
    if (last && now - last[0] < 250) last[1] = this.#done;
    else this.#samples.push([now, this.#done]);
    while (this.#samples.length > 2 && now - this.#samples[1][0] >= RATE_WINDOW_MS) this.#samples.shift();
  }

  #rate(now: number): number {
    const [t0, d0] = this.#samples[0];
    return (this.#done - d0) / Math.max((now - t0) / 1000, 1);
  }

  /** Everything of the line but the rate: what a non-TTY line is printed for when it changes. */
  #what(s: RunStatus | undefined): string {
    const lag = this.#lagIds;
    if (!s) return `${this.#done}|${lag}`;
    return [s.stage, this.#done, lag, s.lag?.seconds?.toFixed(0), s.objects, s.bytes, s.alerts?.detected, s.alerts?.sent, s.alerts?.dropped, s.sink.state].join('|');
  }

  #line(s: RunStatus | undefined, now: number): string {
    const parts: string[] = [];
    if (s?.stage) parts.push(s.stage);
    parts.push(`${fmt(this.#rate(now))} rows/s`);
    const secs = s?.lag?.seconds;
    if (this.#lagIds === 0) parts.push('caught up');
    else parts.push(`lag ${fmt(this.#lagIds)} rows${secs !== null && secs !== undefined ? ` (${duration(secs)})` : ''}`);
    if (!s) {
      parts.push(`${fmt(this.#done)} rows this run`);
      return parts.join(' · ');
    }
    parts.push(`this run ${fmt(this.#done)} rows, ${fmt(s.objects)} objects, ${bytes(s.bytes)}`);
    if (s.alerts) parts.push(`alerts ${fmt(s.alerts.detected)} detected, ${fmt(s.alerts.sent)} sent${s.alerts.dropped ? `, ${fmt(s.alerts.dropped)} dropped` : ''}`);
    const sink = s.sink;
    const detail = sink.detail ? (sink.detail.length > 160 ? `${sink.detail.slice(0, 157)}...` : sink.detail) : '';
    parts.push(sink.state === 'ok' ? `${sink.kind} ok` : `${sink.kind} ${sink.state}${detail ? `: ${detail}` : ''}`);
    return parts.join(' · ');
  }
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

function duration(secs: number): string {
  if (secs < 10) return `${secs.toFixed(1)} s`;
  if (secs < 3600) return `${Math.round(secs)} s`;
  return `${(secs / 3600).toFixed(1)} h`;
}
