import { EARTH_RADIUS_M } from '../types.ts';
import type { FuzzInput, FuzzOutput } from '../types.ts';
import { checkLengths, slotRange } from './check.ts';

const DEG = Math.PI / 180;

/**
 * Reference `fuzz`. Per slot s: r = radiusM·√u1 (uniform over the disc), bearing θ = 2π·u2, with
 * (u1, u2) = (seeds[2s], seeds[2s+1]); the point moves r along the great circle of bearing θ
 * (destination formula, valid at the poles and across the antimeridian; longitude normalised to
 * [-180, 180)), and distanceM is the haversine distance back to the input. The offset is fixed per
 * sensor, so averaging many readings never reveals the true position. Per slot the last input and
 * output are cached: a sensor that does not move costs no trigonometry.
 */
export function fuzzRef(input: FuzzInput, radiusM: number): FuzzOutput {
  if (!(radiusM >= 0 && radiusM < Infinity)) throw new RangeError(`fuzz: radiusM must be a finite number ≥ 0, got ${radiusM}`);
  const n = input.slot.length;
  const { latitude: lat, longitude: lon, slot, seeds } = input;
  checkLengths('fuzz', n, { latitude: lat, longitude: lon });
  const slots = seeds.length >> 1;
  const maxSlot = slotRange('fuzz', slot);
  if (maxSlot >= slots) throw new RangeError(`fuzz: slot ${maxSlot} has no seeds (seeds cover ${slots} slots)`);
  // Per slot: sinδ, cosδ, sinθ, cosθ, then the cache (last lat, lon → lat, lon, distance).
  const pre = new Float64Array(slots * 4);
  const cache = new Float64Array(slots * 5).fill(NaN);
  for (let s = 0; s < slots; s++) {
    const delta = (radiusM * Math.sqrt(seeds[2 * s])) / EARTH_RADIUS_M;
    const theta = 2 * Math.PI * seeds[2 * s + 1];
    pre[4 * s] = Math.sin(delta);
    pre[4 * s + 1] = Math.cos(delta);
    pre[4 * s + 2] = Math.sin(theta);
    pre[4 * s + 3] = Math.cos(theta);
  }
  const oLat = new Float64Array(n);
  const oLon = new Float64Array(n);
  const oDist = new Float64Array(n);
  const fuzzed = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const la = lat[i];
    const lo = lon[i];
    if (!(la >= -90 && la <= 90 && lo >= -180 && lo <= 180)) {
      oLat[i] = NaN;
      oLon[i] = NaN;
      oDist[i] = NaN;
      continue;
    }
    fuzzed[i] = 1;
    const s = slot[i];
    const c = 5 * s;
    if (cache[c] === la && cache[c + 1] === lo) {
      oLat[i] = cache[c + 2];
      oLon[i] = cache[c + 3];
      oDist[i] = cache[c + 4];
      continue;
    }
    const sinD = pre[4 * s];
    const cosD = pre[4 * s + 1];
    const sinT = pre[4 * s + 2];
    const cosT = pre[4 * s + 3];
    const phi1 = la * DEG;
    const lam1 = lo * DEG;
    const sinP1 = Math.sin(phi1);
    const cosP1 = Math.cos(phi1);
    // φ2 from atan2 of sin and cos rather than asin(sin): asin is ill-conditioned near the poles.
    const sinP2 = sinP1 * cosD + cosP1 * sinD * cosT;
    const ca = cosP1 * cosD - sinP1 * sinD * cosT;
    const cb = sinD * sinT;
    const cosP2 = Math.sqrt(ca * ca + cb * cb);
    const phi2 = Math.atan2(sinP2, cosP2);
    const dLam = Math.atan2(sinT * sinD * cosP1, cosD - sinP1 * sinP2);
    let lon2 = (lam1 + dLam) / DEG;
    lon2 = ((lon2 + 540) % 360) - 180;
    const lat2 = phi2 / DEG;
    const sdp = Math.sin((phi2 - phi1) / 2);
    const sdl = Math.sin(dLam / 2);
    let h = sdp * sdp + cosP1 * cosP2 * sdl * sdl;
    if (h > 1) h = 1;
    const dist = 2 * EARTH_RADIUS_M * Math.asin(Math.sqrt(h));
    oLat[i] = lat2;
    oLon[i] = lon2;
    oDist[i] = dist;
    cache[c] = la;
    cache[c + 1] = lo;
    cache[c + 2] = lat2;
    cache[c + 3] = lon2;
    cache[c + 4] = dist;
  }
  return { latitude: oLat, longitude: oLon, distanceM: oDist, fuzzed };
}
