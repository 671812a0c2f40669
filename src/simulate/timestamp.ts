const MILLIS = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

/**
 * Formats epoch milliseconds as the field generator does: `YYYY-MM-DDTHH:MM:SS.mmm+00:00`.
 * Rows come in time order, so the date-and-seconds prefix is cached and only rebuilt when
 * the second changes: one Date per second instead of one per row.
 */
export class TimestampFormatter {
  private second = Number.NaN;
  private prefix = '';

  /** `ms`: integer epoch milliseconds (UTC). */
  format(ms: number): string {
    const second = Math.floor(ms / 1000);
    if (second !== this.second) {
      this.second = second;
      this.prefix = new Date(second * 1000).toISOString().slice(0, 20);
    }
    return this.prefix + MILLIS[ms - second * 1000] + '+00:00';
  }
}
