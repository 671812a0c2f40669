import { resolve } from 'node:path';
import { z } from 'zod';
import { configErrorFrom } from '../../config.ts';
import { ConfigError } from '../../errors.ts';
import { RunLock } from '../../state/lock.ts';
import { NODE_ID_SETTING } from '../../state/node-id.ts';
import { StateStore } from '../../state/store.ts';
import { openState } from './pipeline.ts';

const StateOptions = z
  .object({
    db: z.string().min(1).default('sensor_data.db'),
    stateDb: z.string().min(1).optional(),
    cursor: z.string().min(1).default('live'),
    json: z.boolean().default(false),
  })
  .strict();

/**
 * `edgelake state show|reset`: what a state holds (checkpoints, pinned node id), and the repair
 * of a damaged checkpoint row. `reset` removes the row, under the run lock (never beneath a
 * running `run`); the next run then recovers the position from the lake's manifest of this node,
 * or, without one, reads the cursor from the start.
 */
export async function stateCommand(sub: string, raw: Record<string, unknown>, out = process.stdout): Promise<number> {
  const r = StateOptions.safeParse(raw);
  if (!r.success) throw configErrorFrom(r.error, raw);
  const o = r.data;
  const db = openState(o.db, o.stateDb);
  try {
    const store = new StateStore(db);
    if (sub === 'show') {
      const rows = db.prepare('SELECT cursor, last_id, pending, updated_at FROM edgelake_checkpoints ORDER BY cursor').all() as Array<{ cursor: string; last_id: number; pending: string | null; updated_at: string }>;
      const node = store.getSetting(NODE_ID_SETTING);
      if (o.json) out.write(JSON.stringify({ node_id: node, checkpoints: rows }) + '\n');
      else {
        out.write(`node id: ${node ?? '(not recorded yet)'}\n`);
        for (const c of rows) out.write(`cursor ${c.cursor}: after id ${c.last_id === Number.MIN_SAFE_INTEGER ? '(start)' : c.last_id}${c.pending ? `, pending ${c.pending.slice(0, 200)}` : ''} (updated ${c.updated_at})\n`);
      }
      return 0;
    }
    const lock = await RunLock.acquire({ statePath: resolve(o.stateDb ?? o.db), holders: store, command: 'state reset' });
    try {
      if (!store.deleteCheckpoint(o.cursor)) throw new ConfigError('NO_CHECKPOINT', `the state has no checkpoint "${o.cursor}" (edgelake state show lists them)`);
    } finally {
      lock.release();
    }
    out.write(`removed checkpoint "${o.cursor}"; the next run recovers its position from the lake's manifest of this node (or, without one, starts the cursor afresh)\n`);
    return 0;
  } finally {
    db.close();
  }
}
