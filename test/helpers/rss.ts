/**
 * Resident memory of a child process over its run, from Linux's /proc/<pid>/status: `VmRSS`
 * sampled every `everyMs` (the peak of the samples), and `VmHWM`, the kernel's own high-water mark
 * of RSS since the process started (it catches a spike between two samples).
 */
import { readFileSync } from 'node:fs';

/** What the sampler saw, KiB. */
export interface RssReport {
  /** Highest sampled VmRSS. */
  readonly peakKiB: number;
  /** Last VmHWM read while the process was alive (its true peak up to then). */
  readonly hwmKiB: number;
  readonly lastKiB: number;
  readonly samples: number;
}

/** A running sampler. */
export interface RssSampler {
  /** What was seen so far (the sampler keeps going). */
  readonly report: RssReport;
  /** Stops sampling and returns the report. */
  stop(): RssReport;
}

/** VmRSS and VmHWM of `pid`, KiB, or null once the process is gone. */
export function readRss(pid: number): { rssKiB: number; hwmKiB: number } | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const rss = /^VmRSS:\s+(\d+) kB$/m.exec(text);
  const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(text);
  // A zombie has no memory lines any more.
  if (!rss || !hwm) return null;
  return { rssKiB: Number(rss[1]), hwmKiB: Number(hwm[1]) };
}

/** Starts sampling `pid` now and every `everyMs` (default 100 ms) until stopped or the process ends. */
export function sampleRss(pid: number, everyMs = 100): RssSampler {
  let peakKiB = 0;
  let hwmKiB = 0;
  let lastKiB = 0;
  let samples = 0;
  const take = () => {
    const r = readRss(pid);
    if (!r) return;
    samples++;
    lastKiB = r.rssKiB;
    peakKiB = Math.max(peakKiB, r.rssKiB);
    hwmKiB = Math.max(hwmKiB, r.hwmKiB);
  };
  take();
  const timer = setInterval(take, everyMs);
  const report = (): RssReport => ({ peakKiB, hwmKiB, lastKiB, samples });
  return {
    get report() {
      return report();
    },
    stop() {
      take();
      clearInterval(timer);
      return report();
    },
  };
}

/** `123.4 MiB` from KiB. */
export function mib(kib: number): string {
  return `${(kib / 1024).toFixed(1)} MiB`;
}
