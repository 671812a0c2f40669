import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { NodeIdentitySchema } from '../meta/identity.ts';
import { CITIES, type City } from '../simulate/cities.ts';

/**
 * The demo's fleet: who the nodes are, where they are, what hardware they report, which sensors
 * they read, and the Bacalhau job and execution ids each process gets, exactly as a daemon job
 * sets them. Pure data, decided up front and printed before anything runs.
 */

/** A site an edge node can stand at: a real city of the simulator, with a cloud-style region and a datacenter. */
interface Site {
  readonly city: string;
  /** Short site code used in node ids and datacenter names (IATA-like). */
  readonly code: string;
  readonly region: string;
  readonly nodeType: string;
  readonly cpuCores: number;
  readonly memoryGb: number;
  readonly gpuCount: number;
  readonly capabilities: readonly string[];
}

/** Sites in the order nodes are placed: spread over the continents first, so five nodes already span the globe. */
const SITES: readonly Site[] = [
  { city: 'NEWY', code: 'nyc', region: 'us-east-1', nodeType: 'edge-gateway', cpuCores: 4, memoryGb: 8, gpuCount: 0, capabilities: ['sqlite', 'wasm'] },
  { city: 'LOND', code: 'lon', region: 'eu-west-2', nodeType: 'industrial-pc', cpuCores: 8, memoryGb: 16, gpuCount: 0, capabilities: ['sqlite', 'wasm', 'modbus'] },
  { city: 'TOKY', code: 'tyo', region: 'ap-northeast-1', nodeType: 'edge-server', cpuCores: 16, memoryGb: 64, gpuCount: 1, capabilities: ['sqlite', 'wasm', 'gpu'] },
  { city: 'SAOP', code: 'gru', region: 'sa-east-1', nodeType: 'raspberry-pi', cpuCores: 4, memoryGb: 4, gpuCount: 0, capabilities: ['sqlite', 'wasm'] },
  { city: 'SYDN', code: 'syd', region: 'ap-southeast-2', nodeType: 'jetson-orin', cpuCores: 12, memoryGb: 32, gpuCount: 1, capabilities: ['sqlite', 'wasm', 'gpu', 'camera'] },
  { city: 'MUMB', code: 'bom', region: 'ap-south-1', nodeType: 'edge-gateway', cpuCores: 4, memoryGb: 8, gpuCount: 0, capabilities: ['sqlite', 'wasm'] },
  { city: 'JOHA', code: 'jnb', region: 'af-south-1', nodeType: 'industrial-pc', cpuCores: 8, memoryGb: 16, gpuCount: 0, capabilities: ['sqlite', 'wasm', 'modbus'] },
  { city: 'STOC', code: 'arn', region: 'eu-north-1', nodeType: 'edge-server', cpuCores: 16, memoryGb: 32, gpuCount: 0, capabilities: ['sqlite', 'wasm'] },
  { city: 'SING', code: 'sin', region: 'ap-southeast-1', nodeType: 'edge-server', cpuCores: 32, memoryGb: 128, gpuCount: 2, capabilities: ['sqlite', 'wasm', 'gpu'] },
  { city: 'TORO', code: 'yyz', region: 'ca-central-1', nodeType: 'edge-gateway', cpuCores: 4, memoryGb: 8, gpuCount: 0, capabilities: ['sqlite', 'wasm'] },
  { city: 'DUBA', code: 'dxb', region: 'me-central-1', nodeType: 'industrial-pc', cpuCores: 8, memoryGb: 16, gpuCount: 0, capabilities: ['sqlite', 'wasm'] },
  { city: 'SEOU', code: 'icn', region: 'ap-northeast-2', nodeType: 'jetson-orin', cpuCores: 12, memoryGb: 32, gpuCount: 1, capabilities: ['sqlite', 'wasm', 'gpu'] },
  { city: 'LOSA', code: 'lax', region: 'us-west-1', nodeType: 'edge-server', cpuCores: 16, memoryGb: 64, gpuCount: 0, capabilities: ['sqlite', 'wasm'] },
  { city: 'PARI', code: 'cdg', region: 'eu-west-3', nodeType: 'raspberry-pi', cpuCores: 4, memoryGb: 8, gpuCount: 0, capabilities: ['sqlite', 'wasm'] },
  { city: 'MEXI', code: 'mex', region: 'mx-central-1', nodeType: 'edge-gateway', cpuCores: 4, memoryGb: 8, gpuCount: 0, capabilities: ['sqlite', 'wasm'] },
  { city: 'NAIR', code: 'nbo', region: 'af-south-1', nodeType: 'raspberry-pi', cpuCores: 4, memoryGb: 4, gpuCount: 0, capabilities: ['sqlite', 'wasm'] },
];

/** A Bacalhau job as the nodes see it: one id for the whole fleet, one execution per node. */
export interface JobPlan {
  readonly name: string;
  /** `daemon` (runs on every node until stopped) or `ops` (runs once on every node). */
  readonly type: 'daemon' | 'ops';
  /** `j-<uuid>`, as Bacalhau names jobs. */
  readonly jobId: string;
}

/** One node of the fleet. */
export interface NodePlan {
  readonly index: number;
  /** e.g. `edge-nyc-01`. */
  readonly nodeId: string;
  readonly city: City;
  readonly region: string;
  readonly datacenter: string;
  readonly nodeType: string;
  readonly cpuCores: number;
  readonly memoryGb: number;
  readonly gpuCount: number;
  readonly capabilities: readonly string[];
  /** Sensors around the node and how many readings per second they write together. */
  readonly sensors: number;
  readonly rate: number;
  readonly seed: number;
  /** Its folder: sensor database, identity file, state of the cloud uploader, logs. */
  readonly dir: string;
  readonly db: string;
  readonly identityFile: string;
  /** `e-<uuid>` per job name: the node's execution of each job. */
  readonly executions: Readonly<Record<string, string>>;
}

/** The whole fleet. */
export interface FleetPlan {
  readonly nodes: readonly NodePlan[];
  /** The daemon job every follower belongs to, the cloud uploader's daemon job, and the final ops job. */
  readonly jobs: { readonly edge: JobPlan; readonly uploader: JobPlan; readonly once: JobPlan; readonly stageSwitch: JobPlan };
}

/** Options of {@link planFleet}. */
export interface FleetOptions {
  /** Nodes, ≥ 1. */
  readonly nodes: number;
  /** The demo folder; node folders go to `<dir>/nodes/<node_id>`. */
  readonly dir: string;
  /** Base of the per-node simulator seeds. Default 42. */
  readonly seed?: number;
}

const SENSORS = [4, 5, 3, 4, 5, 3, 4, 5];
/** Readings per second of each node's sensors together: about 8 per sensor, so a window holds enough rows to be worth summarising. */
const RATES = [36, 45, 30, 39, 48, 33, 42, 38];

/** The fleet of `nodes` nodes: sites in {@link SITES} order, the list repeated (`-02`, …) past its end. */
export function planFleet(opts: FleetOptions): FleetPlan {
  if (!Number.isInteger(opts.nodes) || opts.nodes < 1) throw new RangeError(`planFleet: nodes must be a whole number >= 1, got ${opts.nodes}`);
  const job = (name: string, type: JobPlan['type']): JobPlan => ({ name, type, jobId: `j-${randomUUID()}` });
  const jobs = { edge: job('edgelake-daemon', 'daemon'), uploader: job('cloud-uploader', 'daemon'), once: job('edgelake-once', 'ops'), stageSwitch: job('edgelake-pipeline-set', 'ops') };
  const nodes: NodePlan[] = [];
  for (let i = 0; i < opts.nodes; i++) {
    const site = SITES[i % SITES.length];
    const round = Math.floor(i / SITES.length) + 1;
    const city = CITIES.find((c) => c.code === site.city)!;
    const nodeId = `edge-${site.code}-${String(round).padStart(2, '0')}`;
    const dir = join(opts.dir, 'nodes', nodeId);
    nodes.push({
      index: i,
      nodeId,
      city,
      region: site.region,
      datacenter: `${site.code}-dc${round}`,
      nodeType: site.nodeType,
      cpuCores: site.cpuCores,
      memoryGb: site.memoryGb,
      gpuCount: site.gpuCount,
      capabilities: site.capabilities,
      sensors: SENSORS[i % SENSORS.length],
      rate: RATES[i % RATES.length],
      seed: (opts.seed ?? 42) + 1000 * (i + 1),
      dir,
      db: join(dir, 'sensor_data.db'),
      identityFile: join(dir, 'node.json'),
      executions: Object.fromEntries(Object.values(jobs).map((j) => [j.name, `e-${randomUUID()}`])),
    });
  }
  return { nodes, jobs };
}

/** Hardware keys the identity schema accepts, when it has them (newer versions let the identity state the node's hardware). */
const HARDWARE_KEYS = ['cpu_cores', 'memory_gb', 'gpu_count'] as const;

/**
 * The node's identity file, as an operator mounts it into the job: id, type, capabilities,
 * location, and the hardware figures where the identity schema accepts them (else the snapshot
 * reports the host's own). Validated with edgelake's own schema, so the demo never writes a file
 * the node would reject.
 */
export function identityOf(n: NodePlan): Record<string, unknown> {
  const shape = NodeIdentitySchema.shape as Record<string, unknown>;
  const hardware: Record<string, number> = { cpu_cores: n.cpuCores, memory_gb: n.memoryGb, gpu_count: n.gpuCount };
  const doc: Record<string, unknown> = {
    node_id: n.nodeId,
    node_type: n.nodeType,
    capabilities: [...n.capabilities],
    location: { city: n.city.name, country: n.city.country, region: n.region, datacenter: n.datacenter },
  };
  for (const k of HARDWARE_KEYS) if (k in shape) doc[k] = hardware[k];
  return NodeIdentitySchema.parse(doc) as Record<string, unknown>;
}

/** True when identity files carry the hardware figures (the schema accepts them). */
export function identityCarriesHardware(): boolean {
  const shape = NodeIdentitySchema.shape as Record<string, unknown>;
  return HARDWARE_KEYS.every((k) => k in shape);
}

/**
 * The environment of a node's execution of `job`, as Bacalhau sets it: job and execution ids, the
 * job type, the partition variables (a daemon or ops job has Count 0, so BACALHAU_PARTITION_COUNT
 * is 0), and the host's NODE_ID passed through (`NODE_ID: env:NODE_ID`, Bacalhau sets no node id).
 */
export function jobEnv(n: NodePlan, job: JobPlan): Record<string, string> {
  return {
    BACALHAU_JOB_ID: job.jobId,
    BACALHAU_EXECUTION_ID: n.executions[job.name],
    BACALHAU_JOB_TYPE: job.type,
    BACALHAU_PARTITION_INDEX: '0',
    BACALHAU_PARTITION_COUNT: '0',
    NODE_ID: n.nodeId,
  };
}
