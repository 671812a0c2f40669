import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { NODE_FLAGS } from '../cli/node-flags.ts';
import { workerExecArgv } from '../pool/exec-argv.ts';

/**
 * The demo's child processes: every node's follower and uploader is a real `edgelake run`, started
 * as a daemon job would start it (its own environment, its own output), and every operator command
 * (`pipeline set`, the final `run --once`) a real `edgelake` invocation. The CLI is the one this
 * demo runs from: the compiled build under `npm start`, the sources through tsx in development.
 */

/** `node [edgelake's Node options] [loader options] <cli>` of the CLI this module belongs to. */
export function cliArgv(): string[] {
  const self = fileURLToPath(import.meta.url);
  const entry = fileURLToPath(new URL(`../cli/main${extname(self)}`, import.meta.url));
  return [...NODE_FLAGS, ...workerExecArgv(entry), entry];
}

/** How a child ended. */
export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A running `edgelake` child with its output going to a log file. */
export class EdgelakeProcess {
  readonly name: string;
  readonly args: readonly string[];
  readonly logFile: string;
  readonly #child: ChildProcess;
  readonly #log: WriteStream;
  readonly exited: Promise<Exit>;
  #tail = '';

  /** Starts `edgelake <args>` with `env` added to this process's environment; stdout and stderr go to `logFile`. */
  constructor(name: string, args: readonly string[], env: Readonly<Record<string, string>>, logFile: string) {
    this.name = name;
    this.args = args;
    this.logFile = logFile;
    this.#log = createWriteStream(logFile, { flags: 'a', mode: 0o600 });
    this.#child = spawn(process.execPath, [...cliArgv(), ...args], {
      env: { ...process.env, NODE_NO_WARNINGS: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (d: Buffer) => {
      this.#log.write(d);
      this.#tail = (this.#tail + d.toString('utf8')).slice(-4000);
    };
    this.#child.stdout!.on('data', keep);
    this.#child.stderr!.on('data', keep);
    this.exited = new Promise<Exit>((resolve) => {
      this.#child.on('error', (err) => {
        this.#tail += `\nspawn failed: ${err.message}`;
        resolve({ code: -1, signal: null });
      });
      this.#child.on('close', (code, signal) => this.#log.end(() => resolve({ code, signal })));
    });
  }

  /** The process id (undefined when it never started). */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** The last few KB of its output, for error messages. */
  get tail(): string {
    return this.#tail;
  }

  /** True while it runs. */
  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /**
   * Asks it to stop as Bacalhau stops a job (SIGTERM: finish the batch in flight, exit 0) and
   * waits; after `graceMs` it is killed (SIGKILL), which the exactly-once protocol also survives.
   */
  async stop(graceMs = 15_000): Promise<Exit> {
    if (this.running) this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Runs `edgelake <args>` to completion; rejects with its output when it does not exit 0. */
export async function runEdgelake(name: string, args: readonly string[], env: Readonly<Record<string, string>>, logFile: string): Promise<void> {
  const p = new EdgelakeProcess(name, args, env, logFile);
  const e = await p.exited;
  if (e.code !== 0) throw new Error(`${name} (edgelake ${args.join(' ')}) exited ${e.code ?? e.signal}:\n${p.tail}`);
}

/** The live checkpoint of a state database, read-only: the last id whose data is durably in the lake. */
export function landedUpTo(stateDb: string): number {
  let h: Database.Database;
  try {
    h = new Database(stateDb, { readonly: true, fileMustExist: true });
  } catch {
    return 0; // not created yet
  }
  try {
    h.pragma('busy_timeout = 2000');
    const row = h.prepare("SELECT last_id FROM edgelake_checkpoints WHERE cursor = 'live'").get() as { last_id: number } | undefined;
    return row?.last_id ?? 0;
  } catch (err) {
    if (/no such table/.test((err as Error).message)) return 0;
    throw err;
  } finally {
    h.close();
  }
}
