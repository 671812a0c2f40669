/**
 * The alert router's own thread (see thread.ts): its own connections to the sensor and state
 * databases, its own sink and kernels, so that a batch being read, encoded or compressed on
 * the main thread never delays an alert. Logs and the final stats go back as messages.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { messageOf } from '../errors.ts';
// Static imports, not loadKernels(): under tsx this thread is entered through require(), and a
// dynamic import of a .ts file from there has no loader hooks (same as the pool worker).
import { referenceKernels } from '../kernels/reference.ts';
import type { Kernels } from '../kernels/types.ts';
import { loadWasmKernels } from '../kernels/wasm.ts';
import type { Logger } from '../log.ts';
import { openSensorDb } from '../source/open.ts';
import { createSink } from '../sink/index.ts';
import { openStateDb } from '../state/open.ts';
import { StateStore } from '../state/store.ts';
import { STOP_GRACE_MS } from '../sink/types.ts';
import { AlertRouter } from './router.ts';
import type { AlertThreadData, FromAlertThread, ToAlertThread } from './thread.ts';

const port = parentPort!;
const send = (m: FromAlertThread) => port.postMessage(m);
const log: Logger = {
  info: (msg) => send({ kind: 'log', level: 'info', msg }),
  warn: (msg) => send({ kind: 'log', level: 'warn', msg }),
  error: (msg) => send({ kind: 'log', level: 'error', msg }),
};

const { options, nodeId, version, buckets } = workerData as AlertThreadData;
const db = openSensorDb(options.db);
const stateDb = options.stateDb ? openStateDb(options.stateDb) : db;
const sink = createSink({ lake: options.lake, s3Endpoint: options.s3Endpoint, region: options.region, createBuckets: false });
let kernels: Promise<Kernels> | null = null;
const router = new AlertRouter({
  db,
  stateDb,
  state: new StateStore(stateDb),
  sink,
  buckets,
  nodeId,
  version,
  options,
  kernels: () => (kernels ??= options.kernels === 'ts' ? Promise.resolve(referenceKernels) : loadWasmKernels()),
  log,
});
router.start();
send({ kind: 'started' });

port.on('message', (m: ToAlertThread) => {
  if (m.kind !== 'stop') return;
  void (async () => {
    // Same grace as the main loop: a hung S3 upload must not hold the process past a stop request.
    if (!m.drain) setTimeout(() => void sink.close().catch(() => {}), STOP_GRACE_MS).unref();
    try {
      await router.stop({ drain: m.drain });
    } catch (err) {
      log.warn(`alerts: stopping failed (${messageOf(err)}); undelivered alerts stay queued for the next run`);
    }
    const stats = router.stats;
    await sink.close().catch(() => {});
    if (stateDb !== db) stateDb.close();
    db.close();
    send({ kind: 'stopped', stats: { ...stats, webhooks: stats.webhooks.map((w) => ({ ...w })) } });
    port.close();
  })();
});
