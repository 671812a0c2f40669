/**
 * Runs the compiled CLI under another host name, as a container restarted by Docker or Bacalhau
 * gets a new one: a UTS namespace of its own (`unshare --uts`, needs root or CAP_SYS_ADMIN) in
 * which `hostname` is set before edgelake starts, so `os.hostname()` really changes — no
 * monkey-patching. `exec` keeps the process id, so signals reach edgelake itself.
 */
import { execFileSync, spawn } from 'node:child_process';
import { BUILT_CLI } from './built-cli.ts';
import { REPO_ROOT, type CliChild, type CliResult } from './cli.ts';

/** Null when host names can be changed here, else why not (for `t.skip`). */
export function hostNamesUnavailable(): string | null {
  try {
    execFileSync('unshare', ['--uts', 'sh', '-c', 'hostname edgelake-probe'], { stdio: 'pipe' });
    return null;
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    return `cannot give a process its own host name here (unshare --uts: ${(e.stderr?.toString() || e.message).trim()}); needs root or CAP_SYS_ADMIN`;
  }
}

/** Starts `node build/cli/main.js <args>` with host name `host` (and the test's environment plus `env`). */
export function spawnOnHost(host: string, args: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): CliChild {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, NODE_NO_WARNINGS: '1' };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete childEnv[k];
    else childEnv[k] = v;
  }
  const child = spawn('unshare', ['--uts', 'sh', '-c', 'hostname "$0" && exec "$@"', host, process.execPath, BUILT_CLI, ...args], {
    cwd: REPO_ROOT,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout: out, stderr: err }));
  });
  return { child, stdout: () => out, stderr: () => err, exited };
}
