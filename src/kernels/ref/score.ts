import { COUNT_OFF, MEAN_OFF, SLOT_STRIDE, VAR_OFF } from '../score-state.ts';
import type { ScoreState } from '../score-state.ts';
import type { ScoreInput, ScoreOutput, ScoreThresholds } from '../types.ts';
import { checkLengths, checkMetrics, slotRange } from './check.ts';

/**
 * Reference `score`. Per row and metric (values NaN: ignored):
 * - outside the physical range (or ±Infinity): reason PHYSICAL[m], score ≥ high, baseline untouched;
 * - after warm-up (count ≥ state.warmup): z = (x − mean) / sd with sd = max(√var, 1e-6·(1 + |mean|))
 *   (the floor keeps a perfectly steady sensor from turning its first wobble into an infinite z);
 *   score = max |z|, reason ZSCORE[m] when |z| ≥ low;
 * - then the EWMA update with a = max(alpha, 1/(count+1)) (a running mean while young, so warm-up
 *   converges fast): mean += a·δ, var = (1 − a)(var + a·δ²). A spike with |z| > high is winsorised
 *   to mean ± high·sd first, so one outlier moves the baseline at most as much as a high-threshold value.
 * anomaly_flag = 1 adds SENSOR_FLAG and raises the score to ≥ medium. Priority: ≥ high 3, ≥ medium 2, ≥ low 1.
 */
export function scoreRef(input: ScoreInput, state: ScoreState, t: ScoreThresholds): ScoreOutput {
  const n = input.slot.length;
  checkLengths('score', n, { anomalyFlag: input.anomalyFlag });
  checkMetrics('score', n, input.metrics);
  state.ensure(slotRange('score', input.slot) + 1);
  const d = state.data;
  const { alpha, warmup } = state;
  const { low, medium, high } = t;
  const slot = input.slot;
  const flag = input.anomalyFlag;
  const [m0, m1, m2, m3, m4] = input.metrics;
  const cols = [m0, m1, m2, m3, m4];
  const pmin = input.physical.map((r) => r[0]);
  const pmax = input.physical.map((r) => r[1]);
  const score = new Float64Array(n);
  const reasons = new Uint32Array(n);
  const priority = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const base = slot[i] * SLOT_STRIDE;
    let sc = 0;
    let rs = 0;
    for (let m = 0; m < 5; m++) {
      const x = cols[m][i];
      if (x !== x) continue;
      if (!(x >= pmin[m] && x <= pmax[m] && Math.abs(x) < Infinity)) {
        rs |= 1 << (5 + m);
        if (sc < high) sc = high;
        continue;
      }
      const mean = d[base + MEAN_OFF + m];
      const v = d[base + VAR_OFF + m];
      const c = d[base + COUNT_OFF + m];
      let xu = x;
      if (c >= warmup) {
        let sd = Math.sqrt(v);
        const floor = 1e-6 * (1 + Math.abs(mean));
        if (sd < floor) sd = floor;
        const z = (x - mean) / sd;
        const az = Math.abs(z);
        if (az > sc) sc = az;
        if (az >= low) rs |= 1 << m;
        if (az > high) xu = mean + (z > 0 ? high : -high) * sd;
      }
      let a = 1 / (c + 1);
      if (a < alpha) a = alpha;
      const delta = xu - mean;
      const incr = a * delta;
      d[base + MEAN_OFF + m] = mean + incr;
      d[base + VAR_OFF + m] = (1 - a) * (v + delta * incr);
      d[base + COUNT_OFF + m] = c + 1;
    }
    if (flag[i] === 1) {
      rs |= 1 << 10;
      if (sc < medium) sc = medium;
    }
    score[i] = sc;
    reasons[i] = rs;
    priority[i] = sc >= high ? 3 : sc >= medium ? 2 : sc >= low ? 1 : 0;
  }
  return { score, reasons, priority };
}
