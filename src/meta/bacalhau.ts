/**
 * The Bacalhau job context (contract §6): what the orchestrator tells a job about itself
 * through `BACALHAU_*` environment variables. Outside Bacalhau every field is null.
 */
export interface BacalhauContext {
  /** `BACALHAU_JOB_ID`, e.g. `j-7e2a…`; null when unset or blank. */
  readonly job_id: string | null;
  /** `BACALHAU_EXECUTION_ID`; null when unset or blank. */
  readonly execution_id: string | null;
  /** `BACALHAU_JOB_TYPE`, e.g. `daemon`, `batch`, `ops`, `service`; null when unset or blank. */
  readonly job_type: string | null;
  /** `BACALHAU_PARTITION_INDEX`, an integer ≥ 0; null when unset or not such an integer. */
  readonly partition_index: number | null;
  /** `BACALHAU_PARTITION_COUNT`, an integer ≥ 1; null when unset or not such an integer. */
  readonly partition_count: number | null;
}

/**
 * Reads the Bacalhau variables from `env` (default `process.env`). Never throws: a malformed
 * partition number is reported as null rather than failing a running job over metadata.
 */
export function readBacalhauContext(env: NodeJS.ProcessEnv = process.env): BacalhauContext {
  return {
    job_id: text(env.BACALHAU_JOB_ID),
    execution_id: text(env.BACALHAU_EXECUTION_ID),
    job_type: text(env.BACALHAU_JOB_TYPE),
    partition_index: integer(env.BACALHAU_PARTITION_INDEX, 0),
    partition_count: integer(env.BACALHAU_PARTITION_COUNT, 1),
  };
}

function text(v: string | undefined): string | null {
  const t = v?.trim();
  return t ? t : null;
}

function integer(v: string | undefined, min: number): number | null {
  const t = v?.trim();
  if (!t || !/^\d{1,9}$/.test(t)) return null;
  const n = Number(t);
  return n >= min ? n : null;
}
