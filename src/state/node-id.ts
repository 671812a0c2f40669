import { hostname } from 'node:os';
import type { NodeIdSource } from '../meta/identity.ts';

/**
 * The node id is part of the state (contract §2): the first id a state sees is recorded, and
 * every later run keeps writing under it, whatever the host is called now. In a container the
 * host name is the container id, new at every restart: without the pin, a restart with a batch
 * pending would replay it under new keys (its rows twice in the lake), and every batch after it
 * would land under a "new node". An operator who really renamed the node re-keys explicitly
 * (`run --rekey-node`); a batch recorded before that still replays under its own key.
 */

/** The settings row holding the pinned node id. */
export const NODE_ID_SETTING = 'node_id';

/** The part of the state store the pin needs (see StateStore). */
export interface NodeIdStore {
  getSetting(name: string): string | null;
  setSetting(name: string, value: string): void;
}

/** The node id a run uses, and how it was decided (for the one log line that says so). */
export interface PinnedNodeId {
  readonly nodeId: string;
  readonly source: NodeIdSource;
  /** Set when the configured or host id differs from the recorded one and the recorded one was kept. */
  readonly ignored?: { readonly id: string; readonly source: NodeIdSource };
  /** Set when `rekey` replaced a recorded id. */
  readonly replaced?: string;
}

/**
 * Decides the node id of a run: the recorded id when there is one (a differing configured id is
 * reported in `ignored`, unless `rekey`), else the configured id, else the host name; the id
 * decided is recorded when it was not.
 */
export function pinNodeId(opts: {
  store: NodeIdStore;
  configured: { id: string; source: NodeIdSource } | null;
  rekey?: boolean;
  host?: string;
}): PinnedNodeId {
  const recorded = opts.store.getSetting(NODE_ID_SETTING);
  const wanted = opts.configured ?? { id: opts.host ?? hostname(), source: 'host name' as const };
  if (recorded === null) {
    opts.store.setSetting(NODE_ID_SETTING, wanted.id);
    return { nodeId: wanted.id, source: wanted.source };
  }
  if (recorded === wanted.id) return { nodeId: recorded, source: wanted.source };
  if (opts.rekey) {
    opts.store.setSetting(NODE_ID_SETTING, wanted.id);
    return { nodeId: wanted.id, source: wanted.source, replaced: recorded };
  }
  return { nodeId: recorded, source: 'state', ignored: wanted };
}

/** The one line a run logs about its node id, or null when there is nothing to say. */
export function describePin(p: PinnedNodeId): string | null {
  if (p.replaced) return `re-keyed: new batches are keyed under node id ${JSON.stringify(p.nodeId)} (${p.source}) instead of ${JSON.stringify(p.replaced)}; a batch recorded before still replays under its own key`;
  if (p.ignored) {
    return (
      `the node id from ${p.ignored.source} is ${JSON.stringify(p.ignored.id)}, but this state was recorded as node ${JSON.stringify(p.nodeId)}: ` +
      `keeping ${JSON.stringify(p.nodeId)} so that no batch lands twice under two node keys (pass --rekey-node to switch on purpose)`
    );
  }
  return null;
}
