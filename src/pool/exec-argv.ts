/**
 * The Node options a worker thread of edgelake is started with. Workers reject V8 and
 * process-wide flags (`--max-semi-space-size`, `--max-old-space-size`, …) with
 * ERR_WORKER_INVALID_EXEC_ARGV, so passing `process.execArgv` through would make an operator's
 * `node --max-old-space-size=512 edgelake run` crash at the first worker. Only module-loading
 * options are kept (they are how `tsx` reaches the threads when running from sources), and
 * `--import tsx` is added when the worker file is TypeScript.
 */
const WITH_VALUE = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader', '--conditions', '-C']);

/** execArgv for a worker whose entry file is `workerPath`. */
export function workerExecArgv(workerPath: string, parent: readonly string[] = process.execArgv): string[] {
  const out: string[] = [];
  for (let i = 0; i < parent.length; i++) {
    const a = parent[i];
    const name = a.split('=')[0];
    if (!WITH_VALUE.has(name)) continue;
    if (a.includes('=')) out.push(a);
    else if (i + 1 < parent.length) out.push(a, parent[++i]);
  }
  if (workerPath.endsWith('.ts') && !out.some((a) => a.includes('tsx'))) out.push('--import', 'tsx');
  return out;
}
