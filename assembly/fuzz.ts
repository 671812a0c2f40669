// GPS fuzzing: a stable per-sensor offset on the sphere, mirroring fuzzRef (src/kernels/ref/fuzz.ts),
// which documents the algorithm. Trigonometry is AssemblyScript's (musl-derived), so results may
// differ from V8's in the last bits; the tests allow for that.

const EARTH_RADIUS_M: f64 = 6371008.8;
const DEG: f64 = Math.PI / 180.0;

/**
 * pre: 4 f64 per slot (sinδ, cosδ, sinθ, cosθ), filled by fuzzPrepare; cache: 5 f64 per slot,
 * NaN-filled by the host. Writes lat, lon, distance (f64) and fuzzed (u8) per row.
 */
export function fuzz(n: i32, lat: usize, lon: usize, slot: usize, pre: usize, cache: usize, outLat: usize, outLon: usize, outDist: usize, outFuzzed: usize): void {
  for (let i = 0; i < n; i++) {
    const off = <usize>i << 3;
    const la = load<f64>(lat + off);
    const lo = load<f64>(lon + off);
    if (!(la >= -90.0 && la <= 90.0 && lo >= -180.0 && lo <= 180.0)) {
      store<f64>(outLat + off, NaN);
      store<f64>(outLon + off, NaN);
      store<f64>(outDist + off, NaN);
      store<u8>(outFuzzed + <usize>i, 0);
      continue;
    }
    store<u8>(outFuzzed + <usize>i, 1);
    const s = <usize>load<i32>(slot + (<usize>i << 2));
    const c = cache + s * 40;
    if (load<f64>(c) == la && load<f64>(c, 8) == lo) {
      store<f64>(outLat + off, load<f64>(c, 16));
      store<f64>(outLon + off, load<f64>(c, 24));
      store<f64>(outDist + off, load<f64>(c, 32));
      continue;
    }
    const q = pre + s * 32;
    const sinD = load<f64>(q);
    const cosD = load<f64>(q, 8);
    const sinT = load<f64>(q, 16);
    const cosT = load<f64>(q, 24);
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
    lon2 = ((lon2 + 540.0) % 360.0) - 180.0;
    const lat2 = phi2 / DEG;
    const sdp = Math.sin((phi2 - phi1) / 2.0);
    const sdl = Math.sin(dLam / 2.0);
    let h = sdp * sdp + cosP1 * cosP2 * sdl * sdl;
    if (h > 1.0) h = 1.0;
    const dist = 2.0 * EARTH_RADIUS_M * Math.asin(Math.sqrt(h));
    store<f64>(outLat + off, lat2);
    store<f64>(outLon + off, lon2);
    store<f64>(outDist + off, dist);
    store<f64>(c, la);
    store<f64>(c, lo, 8);
    store<f64>(c, lat2, 16);
    store<f64>(c, lon2, 24);
    store<f64>(c, dist, 32);
  }
}

/** Fills pre (4 f64 per slot) from seeds (2 f64 per slot) for `slots` slots and a radius in metres. */
export function fuzzPrepare(slots: i32, seeds: usize, pre: usize, radiusM: f64): void {
  for (let s = 0; s < slots; s++) {
    const u1 = load<f64>(seeds + (<usize>s << 4));
    const u2 = load<f64>(seeds + (<usize>s << 4), 8);
    const delta = (radiusM * Math.sqrt(u1)) / EARTH_RADIUS_M;
    const theta = 2.0 * Math.PI * u2;
    const q = pre + (<usize>s << 5);
    store<f64>(q, Math.sin(delta));
    store<f64>(q, Math.cos(delta), 8);
    store<f64>(q, Math.sin(theta), 16);
    store<f64>(q, Math.cos(theta), 24);
  }
}
