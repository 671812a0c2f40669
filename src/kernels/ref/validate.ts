import { RULE } from '../types.ts';
import type { ValidateInput, ValidationLimits } from '../types.ts';
import { checkLengths, checkMetrics } from './check.ts';

/** Reference `validate`: the per-row RULE mask (see RULE for each bit's condition). */
export function validateRef(input: ValidateInput, limits: ValidationLimits): Uint32Array {
  const n = input.eventMs.length;
  const { latitude: lat, longitude: lon, statusCode: st, anomalyFlag: fl, eventMs: ev } = input;
  checkLengths('validate', n, { latitude: lat, longitude: lon, statusCode: st, anomalyFlag: fl });
  checkMetrics('validate', n, input.metrics);
  const out = new Uint32Array(n);
  const futureMs = input.nowMs + limits.maxFutureMs;
  const minMs = limits.minEventMs;
  for (let m = 0; m < 5; m++) {
    // Column by column: one tight loop per metric, the same order the WASM kernel ORs bits in.
    const col = input.metrics[m];
    const lo = limits.ranges[m][0];
    const hi = limits.ranges[m][1];
    const miss = RULE.MISSING[m];
    const oor = RULE.OUT_OF_RANGE[m];
    for (let i = 0; i < n; i++) {
      const x = col[i];
      if (x !== x) out[i] |= miss;
      else if (x < lo || x > hi) out[i] |= oor;
    }
  }
  const vib = input.metrics[3];
  const volt = input.metrics[4];
  const cv = limits.collapseVoltage;
  const cvib = limits.collapseVibration;
  for (let i = 0; i < n; i++) {
    let bits = 0;
    const e = ev[i];
    if (e !== e) bits |= RULE.TS_MISSING;
    else {
      if (e > futureMs) bits |= RULE.TS_FUTURE;
      if (e < minMs) bits |= RULE.TS_BEFORE_MIN;
    }
    const la = lat[i];
    const lo = lon[i];
    if (!(la >= -90 && la <= 90 && lo >= -180 && lo <= 180)) bits |= RULE.GPS_INVALID;
    if (volt[i] < cv && vib[i] > cvib) bits |= RULE.VOLTAGE_COLLAPSE_WITH_VIBRATION;
    const s = st[i];
    const f = fl[i];
    const sOk = s === 0 || s === 1;
    const fOk = f === 0 || f === 1;
    // NaN (NULL) is "absent", not invalid.
    if ((s === s && !sOk) || (f === f && !fOk)) bits |= RULE.FLAG_INVALID;
    if (sOk && fOk && s !== f) bits |= RULE.STATUS_FLAG_MISMATCH;
    out[i] |= bits;
  }
  return out;
}
