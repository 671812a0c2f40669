/**
 * A model of what a real Bacalhau network does with edgelake's job specs and node configs, read
 * from the Bacalhau source (commit e28960c7; paths below) rather than from its docs:
 *
 * - job submission (`pkg/models/job.go` ValidateSubmission + Normalize, `task.go`,
 *   `env_var.go` ValidateEnvVars, `network.go`, `resource.go`, `timeout.go`, the docker engine
 *   decoder `pkg/executor/docker/models/types.go`, the local source decoder
 *   `pkg/storage/local/types.go`; port mappings `pkg/models/network.go` PortMap.Validate);
 * - constraints: `pkg/models/selector.go` + k8s `labels.NewRequirement` (operators, values per
 *   operator, label key and value syntax) and `Requirement.Matches` for node selection;
 * - what a compute node accepts: top-level `Labels` (`pkg/node/node.go` ConfigLabelsProvider),
 *   `Compute.Env.AllowList` as unanchored Go regexps (`pkg/compute/env/host_resolver.go`),
 *   `env:` values required on the host (same file, "required environment variable … not
 *   found"), `Compute.AllowListedLocalPaths` with `:rw`/`:ro` suffixes and glob matching
 *   (`pkg/storage/local/storage.go` matchAllowedPath), `JobAdmissionControl.RejectNetworkedJobs`
 *   (`pkg/bidstrategy/semantic/networking.go`).
 *
 * Stricter than Bacalhau where that only catches typos (unknown keys, key case: Go's JSON
 * decoding would match `type:` to `Type` and drop `Typo:`), never looser.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { posix } from 'node:path';
import { z } from 'zod';
import type { YamlValue } from './yaml.ts';

/** Label selector operators (k8s.io/apimachinery/pkg/selection, as Bacalhau's swagger lists them). */
export const OPERATORS = ['=', '==', '!=', 'in', 'notin', 'exists', '!', 'gt', 'lt'] as const;
/** Network types (`pkg/models/network.go`; parsed case-insensitively). Full is a deprecated alias of Host. */
export const NETWORK_TYPES = ['Default', 'None', 'Host', 'Full', 'HTTP', 'Bridge'] as const;
/** Job types (`pkg/models/constants.go`). */
export const JOB_TYPES = ['batch', 'ops', 'daemon', 'service'] as const;
/** Reserved prefix of task env names and docker EnvironmentVariables (`models.EnvVarPrefix`). */
export const ENV_PREFIX = 'BACALHAU_';

const LABEL_NAME = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** k8s IsLabelKey: `[prefix/]name`, name ≤ 63 of [-A-Za-z0-9_.] starting and ending alphanumeric, prefix a DNS subdomain ≤ 253. */
export function isLabelKey(key: string): boolean {
  const slash = key.lastIndexOf('/');
  const name = slash < 0 ? key : key.slice(slash + 1);
  const prefix = slash < 0 ? null : key.slice(0, slash);
  if (prefix !== null && (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) return false;
  return name.length > 0 && name.length <= 63 && LABEL_NAME.test(name);
}

/** k8s IsValidLabelValue: empty, or ≤ 63 like a label name. */
export const isLabelValue = (v: string): boolean => v === '' || (v.length <= 63 && LABEL_NAME.test(v));

/** `ValidateEnvVars`: uppercase, starting with a letter, letters/digits/underscore, not `BACALHAU_…`. (ASCII here: stricter.) */
export function envNameProblem(name: string): string | null {
  if (name === '') return 'environment variable name cannot be empty';
  if (name !== name.toUpperCase()) return `environment variable '${name}' must be uppercase`;
  if (!/^[A-Z]/.test(name)) return `environment variable '${name}' must start with a letter`;
  if (!/^[A-Z0-9_]+$/.test(name)) return `environment variable '${name}' can only contain letters, numbers, and underscores`;
  if (name.toUpperCase().startsWith(ENV_PREFIX)) return `environment variable '${name}' cannot start with ${ENV_PREFIX}`;
  return null;
}

const nonBlank = z.string().refine((s) => s.trim() !== '', 'must not be blank');
const absolute = z.string().refine((p) => posix.isAbsolute(p), 'must be an absolute path');

const Constraint = z
  .strictObject({ Key: z.string(), Operator: z.enum(OPERATORS), Values: z.array(z.string()).optional() })
  .superRefine((c, ctx) => {
    const vals = c.Values ?? [];
    if (!isLabelKey(c.Key)) ctx.addIssue({ code: 'custom', message: `invalid label key ${JSON.stringify(c.Key)}` });
    if ((c.Operator === 'in' || c.Operator === 'notin') && vals.length === 0) ctx.addIssue({ code: 'custom', message: `for 'in', 'notin' operators, values set can't be empty` });
    if ((c.Operator === 'exists' || c.Operator === '!') && vals.length !== 0) ctx.addIssue({ code: 'custom', message: 'values set must be empty for exists and does not exist' });
    if (['=', '==', '!=', 'gt', 'lt'].includes(c.Operator) && vals.length !== 1) ctx.addIssue({ code: 'custom', message: `operator ${c.Operator} needs exactly one value` });
    if ((c.Operator === 'gt' || c.Operator === 'lt') && !vals.every((v) => /^[+-]?\d+$/.test(v))) ctx.addIssue({ code: 'custom', message: `for 'gt', 'lt' operators, the value must be an integer` });
    for (const v of vals) if (!isLabelValue(v)) ctx.addIssue({ code: 'custom', message: `invalid label value ${JSON.stringify(v)}` });
  });

const LocalSource = z.strictObject({
  Type: z.enum(['local', 'localDirectory']),
  Params: z.strictObject({ SourcePath: absolute, ReadWrite: z.boolean().optional(), CreateAs: z.enum(['dir', 'file', 'noCreate']).optional() }),
});

const DockerParams = z.strictObject({
  Image: nonBlank,
  Entrypoint: z.array(z.string()).optional(),
  // Go decodes these into []string: a YAML number here (`- 10000`) is a submission error.
  Parameters: z.array(z.string()).optional(),
  EnvironmentVariables: z
    .array(z.string().refine((e) => !e.split('=')[0].toUpperCase().startsWith(ENV_PREFIX), `cannot start with ${ENV_PREFIX}`))
    .optional(),
  WorkingDirectory: absolute.optional(),
});

/** Resources are strings (Go `string` fields): CPU in k8s form (`1`, `0.5`, `500m`), memory/disk in humanize bytes (`1gb`, `512MiB`), GPU a count. */
const Resources = z.strictObject({
  CPU: z.string().regex(/^\d+(\.\d+)?m?$/, 'CPU like "1", "0.5" or "500m"').optional(),
  Memory: z.string().regex(/^\d+(\.\d+)?\s*([kmgtpe]i?b?|b)?$/i, 'memory like "1gb" or "512MiB"').optional(),
  Disk: z.string().regex(/^\d+(\.\d+)?\s*([kmgtpe]i?b?|b)?$/i, 'disk like "10gb"').optional(),
  GPU: z.string().regex(/^\d+$/, 'GPU count like "1"').optional(),
});

/** A port mapping (`pkg/models/network.go` Port.Validate): a name usable as an env variable, host ports from 1024, a host IP. */
const Port = z.strictObject({
  Name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'port name must be a valid environment variable name'),
  Static: z.int().min(1024, 'static port is in privileged port range (1-1023)').max(65535).optional(),
  Target: z.int().min(0).max(65535, 'invalid target port').optional(),
  HostNetwork: z.string().refine((ip) => isIP(ip) !== 0, 'invalid host network IP address').optional(),
});

const Network = z
  .strictObject({
    Type: z.string().refine((t) => NETWORK_TYPES.some((n) => n.toLowerCase() === t.trim().toLowerCase()), `network type must be one of ${NETWORK_TYPES.join(', ')}`),
    Domains: z.array(z.string()).optional(),
    Ports: z.array(Port).optional(),
  })
  .refine((n) => !n.Domains?.length || n.Type.toLowerCase() === 'http', 'domains can only be set for HTTP network mode')
  // PortMap.Validate: only Host and Bridge allocate ports; Host has no target ports; names and ports unique.
  .refine((n) => !n.Ports?.length || ['host', 'full', 'bridge'].includes(n.Type.trim().toLowerCase()), 'ports can only be set for Host or Bridge network modes')
  .refine((n) => !n.Ports?.some((p) => p.Target) || n.Type.trim().toLowerCase() === 'bridge', 'target ports cannot be set for Host network mode')
  .refine((n) => new Set((n.Ports ?? []).map((p) => p.Name)).size === (n.Ports ?? []).length, 'duplicate port mapping name')
  .refine((n) => {
    const statics = (n.Ports ?? []).flatMap((p) => (p.Static ? [p.Static] : []));
    return new Set(statics).size === statics.length;
  }, 'duplicate port mapping static port');

const Task = z
  .strictObject({
    Name: nonBlank,
    Engine: z.strictObject({ Type: z.literal('docker'), Params: DockerParams }),
    Publisher: z.strictObject({ Type: z.string(), Params: z.record(z.string(), z.unknown()).optional() }).optional(),
    Env: z
      .record(z.string(), z.string().min(1, 'environment variable values cannot be empty'))
      .superRefine((env, ctx) => {
        for (const name of Object.keys(env)) {
          const problem = envNameProblem(name);
          if (problem) ctx.addIssue({ code: 'custom', message: problem, path: [name] });
        }
      })
      .optional(),
    Meta: z.record(z.string(), z.string()).optional(),
    InputSources: z.array(z.strictObject({ Source: LocalSource, Target: absolute, Alias: z.string().optional() })).optional(),
    ResultPaths: z.array(z.strictObject({ Name: z.string(), Path: z.string() })).optional(),
    Resources: Resources.optional(),
    Network: Network.optional(),
    Timeouts: z
      .strictObject({ ExecutionTimeout: z.int().min(0).optional(), QueueTimeout: z.int().min(0).optional(), TotalTimeout: z.int().min(0).optional() })
      .optional(),
  })
  .refine((t) => !t.ResultPaths?.length || t.Publisher, 'publisher must be set if result paths are set')
  .refine((t) => new Set((t.InputSources ?? []).map((s) => s.Target)).size === (t.InputSources ?? []).length, 'input source targets must be unique');

/** A job spec as `bacalhau job run` submits it, with Bacalhau's submission rules. */
export const JobSchema = z
  .strictObject({
    Name: nonBlank,
    Namespace: z.string().optional(),
    Type: z.enum(JOB_TYPES),
    Count: z.int().min(0, 'job count must be >= 0').optional(),
    Priority: z.int().optional(),
    Meta: z.record(z.string(), z.string()).optional(),
    Labels: z.record(z.string(), z.string()).optional(),
    Constraints: z.array(Constraint).optional(),
    // Bacalhau keeps only the first task ("only one task is supported per job").
    Tasks: z.array(Task).length(1),
  })
  .refine((j) => !((j.Type === 'daemon' || j.Type === 'ops') && (j.Count ?? 0) > 1), {
    message: 'daemon and ops jobs cannot specify count > 1 as they run on all matching nodes',
    path: ['Count'],
  });
export type Job = z.infer<typeof JobSchema>;

/**
 * Count as Bacalhau runs it (`Job.UnmarshalJSON` + `Normalize`): batch/service default to 1
 * when absent (0 means "stop all executions"); daemon/ops are forced to 0 — which is also what
 * `BACALHAU_PARTITION_COUNT` is in their executions (`pkg/compute/envvars.go`).
 */
export function effectiveCount(job: Job): number {
  if (job.Type === 'daemon' || job.Type === 'ops') return 0;
  return job.Count ?? 1;
}

/** The real node config keys, from the Bacalhau source (test/fixtures/bacalhau-config-keys.txt). */
export const NODE_CONFIG_KEYS: readonly string[] = readFileSync(new URL('../fixtures/bacalhau-config-keys.txt', import.meta.url), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));

/** The dotted leaf paths of a parsed config document. */
export function configPaths(doc: YamlValue, prefix = ''): string[] {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return prefix ? [prefix] : [];
  return Object.entries(doc).flatMap(([k, v]) => configPaths(v, prefix ? `${prefix}.${k}` : k));
}

/** Problems of a node config: keys Bacalhau does not have (it would ignore them silently), values of the wrong shape. */
export function nodeConfigProblems(doc: YamlValue): string[] {
  const problems: string[] = [];
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return ['a node config is a mapping'];
  const known = new Set(NODE_CONFIG_KEYS);
  for (const path of configPaths(doc)) {
    const parts = path.split('.');
    const ok = parts.some((_, i) => known.has(parts.slice(0, i + 1).join('.')) && (i === parts.length - 1 || parts[0] === 'Labels'));
    if (!ok) problems.push(`unknown key ${path} (Bacalhau ignores it silently)`);
  }
  const cfg = doc as Record<string, YamlValue>;
  const labels = cfg.Labels;
  if (labels !== undefined) {
    if (labels === null || typeof labels !== 'object' || Array.isArray(labels)) problems.push('Labels must be a mapping');
    else for (const [k, v] of Object.entries(labels)) if (!isLabelKey(k) || typeof v !== 'string' || !isLabelValue(v)) problems.push(`bad label ${k}: ${JSON.stringify(v)}`);
  }
  const compute = (cfg.Compute ?? {}) as Record<string, YamlValue>;
  const allow = ((compute.Env ?? {}) as Record<string, YamlValue>).AllowList;
  if (allow !== undefined) {
    if (!Array.isArray(allow)) problems.push('Compute.Env.AllowList must be a list');
    else for (const p of allow) {
      try {
        new RegExp(String(p));
      } catch {
        problems.push(`Compute.Env.AllowList entry ${JSON.stringify(p)} is not a regular expression`);
      }
    }
  }
  const paths = compute.AllowListedLocalPaths;
  if (paths !== undefined && (!Array.isArray(paths) || !paths.every((p) => typeof p === 'string' && p.startsWith('/')))) problems.push('Compute.AllowListedLocalPaths must be a list of absolute paths');
  return problems;
}

/** Does a k8s requirement match a node's labels (`labels.Requirement.Matches`)? */
export function constraintMatches(c: { Key: string; Operator: string; Values?: string[] }, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.hasOwn(labels, c.Key);
  const v = labels[c.Key];
  const vals = c.Values ?? [];
  switch (c.Operator) {
    case 'in':
    case '=':
    case '==':
      return has && vals.includes(v);
    case 'notin':
    case '!=':
      return !has || !vals.includes(v);
    case 'exists':
      return has;
    case '!':
      return !has;
    case 'gt':
    case 'lt': {
      if (!has || !/^[+-]?\d+$/.test(v)) return false;
      return c.Operator === 'gt' ? Number(v) > Number(vals[0]) : Number(v) < Number(vals[0]);
    }
    default:
      return false;
  }
}

/** doublestar.PathMatch, as far as allow-listed paths use it: `*` within a segment, `**` across segments, `?`. */
export function pathMatch(pattern: string, path: string): boolean {
  const re = pattern
    .split('/')
    .map((seg) => (seg === '**' ? '.*' : seg.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')))
    .join('/');
  return new RegExp(`^${re}$`).test(path);
}

/** What a compute node is: its config (as `bacalhau serve --config FILE` reads it) and the environment it runs in. */
export interface ComputeNode {
  readonly config: Record<string, YamlValue>;
  readonly hostEnv: Readonly<Record<string, string>>;
  /** Runtime labels Bacalhau adds itself (`pkg/node/labels.go`): os_type, os_arch, name. */
  readonly runtimeLabels?: Readonly<Record<string, string>>;
}

/**
 * Why this node would not run the job (empty: it is placed and its execution starts). Follows
 * the node selection and bid strategies in order: labels, networking, environment variables
 * (allow list at bidding; a missing host variable fails the execution), local paths.
 */
export function nodeRefusals(node: ComputeNode, job: Job): string[] {
  const out: string[] = [];
  const labels = { ...(node.runtimeLabels ?? { os_type: 'linux', os_arch: 'amd64' }), ...((node.config.Labels ?? {}) as Record<string, string>) };
  for (const c of job.Constraints ?? []) {
    if (!constraintMatches(c, labels)) out.push(`labels ${JSON.stringify(labels)} don't match constraint ${c.Key} ${c.Operator} ${(c.Values ?? []).join('|')}`);
  }
  const task = job.Tasks[0];
  const compute = (node.config.Compute ?? {}) as Record<string, YamlValue>;
  const admission = (node.config.JobAdmissionControl ?? {}) as Record<string, YamlValue>;
  const net = (task.Network?.Type ?? 'Default').toLowerCase();
  if (admission.RejectNetworkedJobs === true && net !== 'none' && net !== 'default') out.push('node rejects networked jobs');
  const allow = (((compute.Env ?? {}) as Record<string, YamlValue>).AllowList ?? []) as string[];
  for (const [name, value] of Object.entries(task.Env ?? {})) {
    const colon = value.indexOf(':');
    if (colon < 0 || value.slice(0, colon) !== 'env') continue; // a literal value (an unknown prefix is literal too)
    const hostVar = value.slice(colon + 1);
    if (!allow.some((p) => new RegExp(p).test(hostVar))) out.push(`resolve environment variable ${name}: environment variable '${hostVar}' is not in allowed patterns`);
    else if (!Object.hasOwn(node.hostEnv, hostVar)) out.push(`required environment variable '${hostVar}' not found`);
  }
  const allowed = ((compute.AllowListedLocalPaths ?? []) as string[]).map((p) =>
    p.endsWith(':rw') ? { path: p.slice(0, -3), rw: true } : p.endsWith(':ro') ? { path: p.slice(0, -3), rw: false } : { path: p, rw: false },
  );
  for (const input of task.InputSources ?? []) {
    const { SourcePath, ReadWrite } = input.Source.Params;
    const matches = allowed.filter((a) => pathMatch(a.path, SourcePath));
    if (matches.length === 0) out.push(`volume ${SourcePath} is not allowlisted`);
    else if (ReadWrite && !matches.some((a) => a.rw)) out.push(`volume ${SourcePath} is not granted write access`);
  }
  return out;
}
