/**
 * Where a child process's CPU goes, by thread (Linux): its main thread, its worker threads, and the
 * rest — libuv's thread pool (gzip runs there) and V8's platform threads (parallel and concurrent
 * GC, background compilation). Node 20 names none of its threads and has no per-thread CPU API,
 * so the parent samples `/proc/<pid>/task/<tid>/stat` and each worker thread of the child says
 * which thread it is (its tid, from `/proc/thread-self`, appended to a file by WORKER_TID_HOOK).
 *
 * A thread's CPU is its last sample, at most one interval before it ended; what the samples miss
 * is counted in `rest`, which is the process total (exact, from the child itself) minus main and
 * workers. Elsewhere than Linux every figure is NaN.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** How often the parent reads the child's threads. */
const INTERVAL_MS = 100;
/** Clock ticks per second of utime/stime in /proc (USER_HZ: 100 on every Linux Node supports). */
const TICKS_PER_SECOND = 100;

/**
 * Preload code for the child (a fragment of a `data:` module that imports appendFileSync,
 * readlinkSync and isMainThread): a worker thread appends its tid to `$EDGELAKE_E2E_USAGE_FILE.tids`.
 */
export const WORKER_TID_HOOK =
  ' if (!isMainThread) { try { appendFileSync(process.env.EDGELAKE_E2E_USAGE_FILE + ".tids", readlinkSync("/proc/thread-self").split("/").pop() + "\\n"); } catch {} }';

/** CPU seconds of one run, by thread kind. */
export interface ThreadCpu {
  readonly main: number;
  readonly workers: number;
}

/** utime + stime of one task, in seconds; NaN when it is gone or unreadable. */
function taskSeconds(pid: number, tid: string): number {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'latin1');
    // Fields after the command name (which may hold spaces) — utime and stime are the 12th and 13th.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}

/**
 * Samples the threads of process `pid` until `stop()`, which returns the main thread's CPU and the
 * workers' (the tids listed in `tidsFile`, one per line).
 */
export function sampleThreads(pid: number, tidsFile: string): { stop(): ThreadCpu } {
  const last = new Map<string, number>();
  const sample = () => {
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      return; // not Linux, or the process is gone
    }
    for (const tid of tids) {
      const s = taskSeconds(pid, tid);
      if (Number.isFinite(s)) last.set(tid, s);
    }
  };
  sample();
  const timer = setInterval(sample, INTERVAL_MS);
  return {
    stop(): ThreadCpu {
      clearInterval(timer);
      if (last.size === 0) return { main: NaN, workers: NaN };
      let workerTids: string[] = [];
      try {
        workerTids = readFileSync(tidsFile, 'utf8').split('\n').filter(Boolean);
      } catch {
        // no worker thread announced itself: the run had none
      }
      const workers = workerTids.reduce((sum, tid) => sum + (last.get(tid) ?? 0), 0);
      return { main: last.get(String(pid)) ?? NaN, workers };
    },
  };
}
