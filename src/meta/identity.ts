import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { z } from 'zod';
import { ConfigError } from '../errors.ts';

/** The node identity file (`--node-identity FILE`), as mounted into a Bacalhau job. */
export const NodeIdentitySchema = z
  .object({
    node_id: z.string().min(1).max(128).optional().describe('Stable node id, e.g. edge-nyc-01'),
    node_type: z.string().optional().describe('e.g. edge, gateway, datacenter'),
    capabilities: z.array(z.string()).optional().describe('e.g. ["gpu", "wasm-simd"]'),
    // Hardware as the node snapshot reports it; given here, they replace what the host shows
    // (a container sees its limits, not the node's; a demo fleet on one machine varies them).
    cpu_cores: z.int().min(1).max(4096).optional().describe('Logical CPU cores, e.g. 4. Default: detected from the host'),
    memory_gb: z.number().positive().max(1_000_000).optional().describe('Total memory in GB (10^9 bytes), e.g. 8. Default: detected from the host'),
    gpu_count: z.int().min(0).max(1024).optional().describe('GPUs, e.g. 0. Default: detected (NVIDIA) from the host'),
    location: z
      .object({
        city: z.string().nullable().optional(),
        country: z.string().nullable().optional(),
        region: z.string().nullable().optional(),
        datacenter: z.string().nullable().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type NodeIdentity = z.output<typeof NodeIdentitySchema>;

/** Reads and validates an identity file; a missing or malformed one is a ConfigError naming the path. */
export function readNodeIdentity(path: string): NodeIdentity {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError('BAD_NODE_IDENTITY', `--node-identity ${path} cannot be read (${(err as NodeJS.ErrnoException).code})`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError('BAD_NODE_IDENTITY', `--node-identity ${path} is not JSON: ${(err as Error).message}`, { cause: err });
  }
  const r = NodeIdentitySchema.safeParse(json);
  if (!r.success) {
    const why = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ConfigError('BAD_NODE_IDENTITY', `--node-identity ${path} is invalid: ${why}`);
  }
  return r.data;
}

/** Where a node id came from (safe to log). */
export type NodeIdSource = '--node-id' | 'NODE_ID' | 'identity file' | 'state' | 'host name';

/**
 * The node id the operator configured, by precedence (contract §6): `--node-id`, `NODE_ID`, the
 * identity file's `node_id`; null when none is configured. (Bacalhau sets no node-id variable
 * and refuses task variables named `BACALHAU_*`, so there is no Bacalhau source to read.) The
 * id actually used also depends on the one recorded in the state: see `pinNodeId`.
 */
export function configuredNodeId(opts: { override?: string; env?: NodeJS.ProcessEnv; identity?: NodeIdentity | null }): { id: string; source: NodeIdSource } | null {
  const env = opts.env ?? process.env;
  const pick = (v: string | undefined) => (v && v.trim() ? v.trim() : undefined);
  const override = pick(opts.override);
  if (override) return { id: override, source: '--node-id' };
  const fromEnv = pick(env.NODE_ID);
  if (fromEnv) return { id: fromEnv, source: 'NODE_ID' };
  const fromFile = pick(opts.identity?.node_id);
  if (fromFile) return { id: fromFile, source: 'identity file' };
  return null;
}

/** The configured node id, else the host name (for commands that keep no state). */
export function resolveNodeId(opts: { override?: string; env?: NodeJS.ProcessEnv; identity?: NodeIdentity | null }): string {
  return configuredNodeId(opts)?.id ?? hostname();
}
