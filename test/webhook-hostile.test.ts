/**
 * Issue 11, test 4: a receiver cannot hurt the node. One sensor database written live with many
 * anomalies is followed by seven `edgelake run` processes at once (each with its own --state-db
 * and lake): one POSTs its alerts to a well-behaved receiver (the control), each other to one
 * hostile receiver on 127.0.0.1 — a 512 MB answer (streamed, never allocated), a 307 and a 308 to
 * another port (a trap that must see no connection at all), a redirect loop, one that accepts and
 * never answers, one that answers a byte a second. Each process's RSS is sampled every 100 ms
 * from /proc (VmRSS, and the kernel's VmHWM) and must stay within 16 MiB of the larger of two well-behaved controls' peaks,
 * plus the two controls' own spread (identical runs differ by up to ~21 MiB on a busy 2-core machine: the
 * peak is sampled around garbage collections of three heaps; a hostile receiver's harm — buffering its flood, a pile
 * of connections — is far larger than that);
 * the stage keeps landing batches meanwhile; one POST at most is in flight per receiver; a redirect
 * is never followed; a held connection is abandoned at the deadline; SIGTERM stops each cleanly.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertBuilt, runBuilt, spawnBuilt } from './helpers/built-cli.ts';
import { describeResult, type CliChild, type CliResult } from './helpers/cli.ts';
import { listLakeFiles } from './helpers/lake.ts';
import { FLOOD_BYTES, HOSTILE_KINDS, startHostile, startRecorder, startTrap, type Hostile, type HostileKind, type Recorder, type Trap } from './helpers/receivers.ts';
import { mib, sampleRss, type RssReport, type RssSampler } from './helpers/rss.ts';
import { checkpointId, query } from './helpers/sensor-db.ts';
import { until } from './helpers/until.ts';

/** RSS a hostile receiver may add over the controls' peak, on top of the controls' own spread. */
const RSS_MARGIN_KIB = 16 * 1024;
/** edgelake's deadline for a whole POST (src/alerts/post.ts POST_DEADLINE_MS), ms. */
const POST_DEADLINE_MS = 10_000;

/** Two well-behaved controls: their spread shows how much RSS differs between identical runs. */
const CONTROLS = ['control-a', 'control-b'] as const;
type Kind = HostileKind | (typeof CONTROLS)[number];

interface Follower {
  readonly kind: Kind;
  readonly state: string;
  readonly lake: string;
  readonly run: CliChild;
  readonly rss: RssSampler;
  readonly hostile: Hostile | null;
  readonly control: Recorder | null;
  /** Checkpoint and lake objects when the receiver first got a POST. */
  engaged?: { checkpoint: number; objects: number };
  final?: { checkpoint: number; objects: number; rss: RssReport; stopMs: number; result: CliResult; maxAttempts: number };
}

/** A checkpoint for people: none before the first commit. */
function showCheckpoint(checkpoint: number): string {
  return checkpoint > 0 ? String(checkpoint) : 'none';
}

function position(f: Follower): { checkpoint: number; objects: number } {
  return { checkpoint: (existsSync(f.state) && checkpointId(f.state)) || 0, objects: listLakeFiles(f.lake).filter((k) => k.includes('/sensor_readings/')).length };
}

describe('hostile webhook receivers cannot hurt the node', () => {
  let dir: string;
  let trap: Trap;
  let writer: CliChild;
  const followers = new Map<Kind, Follower>();

  before(async () => {
    assertBuilt();
    dir = mkdtempSync(join(tmpdir(), 'edgelake-hostile-'));
    const db = join(dir, 'sensors.db');
    const seed = await runBuilt(['simulate', '--db', db, '--rows', '200', '--sensors', '4', '--anomaly-rate', '0.2', '--seed', '3']);
    assert.equal(seed.code, 0, describeResult(seed));
    trap = await startTrap();
    for (const kind of [...CONTROLS, ...HOSTILE_KINDS]) {
      const isControl = (CONTROLS as readonly string[]).includes(kind);
      const hostile = isControl ? null : await startHostile(kind as HostileKind, trap.origin);
      const control = isControl ? await startRecorder() : null;
      const state = join(dir, `${kind}.state.db`);
      const lake = join(dir, `${kind}-lake`);
      const url = hostile?.url ?? `${control!.origin}/alerts`;
      const run = spawnBuilt(
        ['run', '--db', db, '--state-db', state, '--lake', lake, '--node-id', `hostile-${kind}`, '--batch-timeout', '300ms', '--poll-interval', '50ms', '--alert-rate-limit', '0', '--alert-webhook', url, '--no-progress'],
        { timeoutMs: 120_000 },
      );
      followers.set(kind, { kind, state, lake, run, rss: sampleRss(run.child.pid!), hostile, control });
    }
    writer = spawnBuilt(['simulate', '--db', db, '--duration', '45s', '--rate', '40', '--sensors', '4', '--anomaly-rate', '0.2', '--seed', '3'], { timeoutMs: 120_000 });

    const seen = (f: Follower) => (f.hostile ? f.hostile.requests : f.control!.receipts.length) > 0;
    await until(
      'every receiver to get its first POST',
      () => {
        for (const f of followers.values()) if (!f.engaged && seen(f)) f.engaged = position(f);
        return [...followers.values()].every((f) => f.engaged);
      },
      45_000,
      50,
    );
    // Long enough for each kind to show its harm: a held or dripping POST outlives the deadline, the others are retried.
    const shown = (f: Follower): boolean => {
      const h = f.hostile;
      const moved = position(f);
      const landing = moved.checkpoint > f.engaged!.checkpoint + 100 && moved.objects > f.engaged!.objects;
      if (!h) return landing;
      if (h.kind === 'never-answers' || h.kind === 'byte-per-second') return landing && h.heldMs.length >= 1;
      return landing && h.requests >= 3;
    };
    await until('each hostile receiver to have done its worst while batches keep landing', () => [...followers.values()].every(shown), 45_000, 100);
    await Promise.all(
      [...followers.values()].map(async (f) => {
        const pos = position(f);
        const t0 = performance.now();
        f.run.child.kill('SIGTERM');
        const result = await f.run.exited;
        const stopMs = performance.now() - t0;
        const rss = f.rss.stop();
        const maxAttempts = query<{ m: number | null }>(`${f.state}.private`, 'SELECT max(attempts) AS m FROM deliveries')[0].m ?? 0;
        f.final = { ...pos, rss, stopMs, result, maxAttempts };
      }),
    );
  });

  after(async () => {
    writer?.child.kill('SIGKILL');
    for (const f of followers.values()) {
      f.run.child.kill('SIGKILL');
      f.rss.stop();
      await (f.hostile ?? f.control)?.close();
    }
    await trap?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The larger of the two controls' peaks (sampled, VmHWM) and how far apart the two are (the noise of identical runs), KiB. */
  const control = () => {
    const [a, b] = CONTROLS.map((k) => followers.get(k)!.final!.rss);
    return {
      peakKiB: Math.max(a.peakKiB, b.peakKiB),
      hwmKiB: Math.max(a.hwmKiB, b.hwmKiB),
      peakSpreadKiB: Math.abs(a.peakKiB - b.peakKiB),
      hwmSpreadKiB: Math.abs(a.hwmKiB - b.hwmKiB),
    };
  };

  test('the control followers deliver their alerts to their well-behaved receivers', (t) => {
    for (const k of CONTROLS) {
      const f = followers.get(k)!;
      assert.equal(f.final!.result.code, 0, describeResult(f.final!.result));
      assert.ok(f.control!.firstSeen.size > 20, `${f.control!.firstSeen.size} alerts received`);
      t.diagnostic(`${k}: peak RSS ${mib(f.final!.rss.peakKiB)} sampled (${f.final!.rss.samples} samples every 100 ms), VmHWM ${mib(f.final!.rss.hwmKiB)}; ${f.control!.firstSeen.size} alerts received; SIGTERM → exit 0 in ${Math.round(f.final!.stopMs)} ms`);
    }
  });

  for (const kind of HOSTILE_KINDS) {
    test(`a receiver of kind ${kind}: RSS within 16 MiB (plus their spread) of the well-behaved controls, nothing sent elsewhere, batches keep landing, one POST in flight, a clean stop on SIGTERM`, (t) => {
      const f = followers.get(kind)!;
      const c = { rss: control() };
      const h = f.hostile!;
      const x = f.final!;
      assert.equal(x.result.code, 0, `SIGTERM: ${describeResult(x.result)}`);
      assert.equal(x.result.signal, null);
      assert.ok(
        x.rss.peakKiB <= c.rss.peakKiB + c.rss.peakSpreadKiB + RSS_MARGIN_KIB,
        `${kind}: sampled RSS peak ${mib(x.rss.peakKiB)} vs control ${mib(c.rss.peakKiB)} (controls ${mib(c.rss.peakSpreadKiB)} apart)`,
      );
      assert.ok(x.rss.hwmKiB <= c.rss.hwmKiB + c.rss.hwmSpreadKiB + RSS_MARGIN_KIB, `${kind}: VmHWM ${mib(x.rss.hwmKiB)} vs control ${mib(c.rss.hwmKiB)} (controls ${mib(c.rss.hwmSpreadKiB)} apart)`);
      assert.equal(trap.connections, 0, 'the other origin received no connection');
      assert.equal(trap.bytes, 0);
      assert.ok(x.checkpoint > f.engaged!.checkpoint && x.objects > f.engaged!.objects, `landing meanwhile: checkpoint ${f.engaged!.checkpoint} → ${x.checkpoint}, objects ${f.engaged!.objects} → ${x.objects}`);
      assert.ok(h.maxInFlight <= 1, `${h.maxInFlight} POSTs in flight at once`);
      let extra = '';
      if (kind === 'body-512mb') {
        // A 200 is an answer: its first 64 KiB are read, the rest is cut off, and the alerts count as delivered.
        assert.equal(x.maxAttempts, 0, 'no failed attempt: the status said 200');
        assert.ok(h.requests >= 3, `${h.requests} POSTs`);
        extra = `; the receiver pushed ${mib(h.bytesSent / 1024)} into its sockets over ${h.requests} answers of ${mib(FLOOD_BYTES / 1024)} (${mib(h.bytesSent / 1024 / h.requests)} each) before edgelake cut them`;
      } else {
        // Each failed attempt is one request: a redirect is never followed, not even to its own origin.
        assert.ok(h.requests >= x.maxAttempts && h.requests <= x.maxAttempts + 1, `${h.requests} requests for ${x.maxAttempts} recorded attempts`);
        assert.match(x.result.stderr, /alert webhook http:\/\/127\.0\.0\.1:\d+ #[0-9a-f]{8} keeps failing|alerts stay queued for webhook/, 'the failing receiver is reported');
      }
      assert.ok(x.stopMs < POST_DEADLINE_MS + 5000, `stopped ${Math.round(x.stopMs)} ms after SIGTERM`);
      if (kind === 'never-answers' || kind === 'byte-per-second') {
        assert.ok(h.heldMs[0] >= POST_DEADLINE_MS - 500 && h.heldMs[0] <= POST_DEADLINE_MS + 3000, `a held POST is abandoned at the deadline: held ${Math.round(h.heldMs[0])} ms`);
        extra = `; connection abandoned after ${(h.heldMs[0] / 1000).toFixed(1)} s`;
      }
      t.diagnostic(
        `${kind}: peak RSS ${mib(x.rss.peakKiB)} sampled / VmHWM ${mib(x.rss.hwmKiB)} vs the larger control ${mib(c.rss.peakKiB)} / ${mib(c.rss.hwmKiB)} (Δ ${((x.rss.peakKiB - c.rss.peakKiB) / 1024).toFixed(1)} MiB, controls ${mib(c.rss.peakSpreadKiB)} apart); ` +
          `${h.requests} POSTs (${x.maxAttempts} recorded attempts), at most ${h.maxInFlight} in flight; other origin: ${trap.connections} connections; ` +
          `checkpoint ${showCheckpoint(f.engaged!.checkpoint)} → ${x.checkpoint}, objects ${f.engaged!.objects} → ${x.objects} meanwhile; SIGTERM → exit 0 in ${Math.round(x.stopMs)} ms${extra}`,
      );
    });
  }
});
