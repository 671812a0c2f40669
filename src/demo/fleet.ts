import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { PipelineError } from '../errors.ts';
import type { PipelineType } from '../state/pipeline-types.ts';
import { jobEnv, type FleetPlan, type NodePlan } from './plan.ts';
import { EdgelakeProcess, landedUpTo, runEdgelake } from './processes.ts';

/**
 * The fleet's processes: per node the edge follower (the `edgelake-daemon` job: `edgelake run`
 * following the node's database through whichever stage is active) and the cloud-only path's raw
 * uploader (the `cloud-uploader` job: `edgelake run --type ingestion` shipping raw rows on the
 * central cadence into the cloud lake), the presenter's stage switches, and the final catch-up.
 */

/** Where things go and how the edge runs. */
export interface FleetSetup {
  /** The demo lake (edge objects, and the cloud baseline's measurements). */
  readonly lake: string;
  /** Where the cloud-only path's raw objects land. */
  readonly cloudLake: string;
  /** Webhook URL per node id. */
  readonly webhook: (nodeId: string) => string;
  /** Aggregation window and allowed lateness, as `run --window/--lateness` values. */
  readonly window: string;
  readonly lateness: string;
  /** Cloud uploader cadence, as a `--batch-timeout` value. */
  readonly uploadInterval: string;
}

/** The cloud uploader's state database of a node: its own checkpoint, beside the node's. */
export const uploaderState = (n: NodePlan) => join(n.dir, 'cloud-uploader-state.db');

/** Runs the fleet's processes; every child that ends unasked is an incident. */
export class FleetProcesses {
  readonly #plan: FleetPlan;
  readonly #s: FleetSetup;
  readonly #followers = new Map<string, EdgelakeProcess>();
  readonly #uploaders = new Map<string, EdgelakeProcess>();
  readonly #stopping = new Set<EdgelakeProcess>();
  readonly incidents: string[] = [];

  constructor(plan: FleetPlan, setup: FleetSetup) {
    this.#plan = plan;
    this.#s = setup;
  }

  /** The edge follower's arguments for a node (also those of the final `--once`, minus following). */
  edgeArgs(n: NodePlan): string[] {
    const s = this.#s;
    return ['run', '--db', n.db, '--lake', s.lake, '--node-identity', n.identityFile, '--alert-webhook', s.webhook(n.nodeId), '--window', s.window, '--lateness', s.lateness, '--no-progress'];
  }

  /** The raw uploader's arguments: ingestion only, its own state, no alerts, a batch per upload interval. */
  uploaderArgs(n: NodePlan): string[] {
    const s = this.#s;
    return [
      'run', '--db', n.db, '--state-db', uploaderState(n), '--type', 'ingestion', '--no-alerts', '--batch-timeout', s.uploadInterval,
      '--lake', s.cloudLake, '--node-identity', n.identityFile, '--no-progress',
    ];
  }

  /** `edgelake pipeline set --type T --by presenter --db <db>` on every node at once (the ops job of the brief's commands). */
  async setStage(type: PipelineType): Promise<void> {
    await Promise.all(
      this.#plan.nodes.map((n) =>
        runEdgelake(`pipeline set ${n.nodeId}`, ['pipeline', 'set', '--type', type, '--by', 'presenter', '--db', n.db], jobEnv(n, this.#plan.jobs.stageSwitch), join(n.dir, 'pipeline-set.log')),
      ),
    );
  }

  /** Starts every node's follower and uploader; resolves once each has taken its state (checkpoint row written). */
  async start(timeoutMs = 60_000): Promise<void> {
    for (const n of this.#plan.nodes) {
      this.#followers.set(n.nodeId, this.#spawn(`follower ${n.nodeId}`, this.edgeArgs(n), jobEnv(n, this.#plan.jobs.edge), join(n.dir, 'follower.log')));
      this.#uploaders.set(n.nodeId, this.#spawn(`uploader ${n.nodeId}`, this.uploaderArgs(n), jobEnv(n, this.#plan.jobs.uploader), join(n.dir, 'cloud-uploader.log')));
    }
    const deadline = Date.now() + timeoutMs;
    for (const n of this.#plan.nodes) {
      for (const [db, p] of [[n.db, this.#followers.get(n.nodeId)!], [uploaderState(n), this.#uploaders.get(n.nodeId)!]] as const) {
        while (!hasCheckpoint(db)) {
          if (!p.running) throw new PipelineError('DEMO_FAILED', `${p.name} ended at start-up:\n${p.tail}`);
          if (Date.now() > deadline) throw new PipelineError('DEMO_FAILED', `${p.name} did not start within ${timeoutMs / 1000} s:\n${p.tail}`);
          await sleep(100);
        }
      }
    }
  }

  /** Waits until every node's followers (`which`) have landed up to `lastIds[node]`, or the timeout; returns the nodes still behind. */
  async waitLanded(which: 'edge' | 'uploader', lastIds: ReadonlyMap<string, number>, timeoutMs: number): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const behind = this.#plan.nodes.filter((n) => landedUpTo(which === 'edge' ? n.db : uploaderState(n)) < (lastIds.get(n.nodeId) ?? 0)).map((n) => n.nodeId);
      if (behind.length === 0 || Date.now() > deadline) return behind;
      await sleep(100);
    }
  }

  /** Stops the followers or the uploaders as Bacalhau stops a job (SIGTERM), all at once; a non-zero exit is an incident. */
  async stop(which: 'edge' | 'uploader'): Promise<void> {
    const procs = [...(which === 'edge' ? this.#followers : this.#uploaders).values()];
    for (const p of procs) this.#stopping.add(p);
    const exits = await Promise.all(procs.map((p) => p.stop()));
    exits.forEach((e, i) => {
      if (e.code !== 0) this.incidents.push(`${procs[i].name} exited ${e.code ?? e.signal} on SIGTERM:\n${procs[i].tail}`);
    });
  }

  /**
   * The catch-up after the followers stopped (the `edgelake-once` ops job): `run --once` on every
   * node drains what is left and emits the aggregation windows still open (a follower keeps them
   * open until they close by event time), committed like any batch.
   */
  async catchUp(): Promise<void> {
    await Promise.all(this.#plan.nodes.map((n) => runEdgelake(`run --once ${n.nodeId}`, [...this.edgeArgs(n), '--once'], jobEnv(n, this.#plan.jobs.once), join(n.dir, 'once.log'))));
  }

  /** Stops whatever still runs (after an error or an interrupt). */
  async stopAll(): Promise<void> {
    const all = [...this.#followers.values(), ...this.#uploaders.values()].filter((p) => p.running);
    for (const p of all) this.#stopping.add(p);
    await Promise.all(all.map((p) => p.stop(5_000)));
  }

  #spawn(name: string, args: string[], env: Record<string, string>, log: string): EdgelakeProcess {
    const p = new EdgelakeProcess(name, args, env, log);
    void p.exited.then((e) => {
      if (!this.#stopping.has(p)) this.incidents.push(`${name} ended by itself (${e.code ?? e.signal}):\n${p.tail}`);
    });
    return p;
  }
}

/** True once a run has taken its state: the live checkpoint row exists. */
function hasCheckpoint(stateDb: string): boolean {
  let h: Database.Database;
  try {
    h = new Database(stateDb, { readonly: true, fileMustExist: true });
  } catch {
    return false;
  }
  try {
    h.pragma('busy_timeout = 2000');
    return h.prepare("SELECT 1 FROM edgelake_checkpoints WHERE cursor = 'live'").get() !== undefined;
  } catch {
    return false;
  } finally {
    h.close();
  }
}
