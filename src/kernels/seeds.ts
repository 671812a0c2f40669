import { createHmac } from 'node:crypto';

/**
 * Per-sensor fuzzing seeds: HMAC-SHA256(key, sensor_id) → two uniforms in [0, 1) per sensor
 * (53 bits each from the first 16 bytes of the MAC), laid out as `seeds[2i]`, `seeds[2i+1]`
 * for `sensorIds[i]`. The same key and sensor always give the same offset; without the key the
 * offset cannot be guessed. The key is never logged or included in errors.
 */
export function sensorSeeds(key: string | Buffer, sensorIds: readonly string[]): Float64Array {
  if (key.length === 0) throw new RangeError('sensorSeeds: the fuzzing key must not be empty');
  const out = new Float64Array(sensorIds.length * 2);
  for (let i = 0; i < sensorIds.length; i++) {
    const mac = createHmac('sha256', key).update(sensorIds[i], 'utf8').digest();
    out[2 * i] = uniform53(mac, 0);
    out[2 * i + 1] = uniform53(mac, 8);
  }
  return out;
}

/** 53 high bits of 8 big-endian bytes at `off`, scaled to [0, 1). */
function uniform53(mac: Buffer, off: number): number {
  const hi = mac.readUInt32BE(off) >>> 5; // 27 bits
  const lo = mac.readUInt32BE(off + 4) >>> 6; // 26 bits
  return (hi * 67108864 + lo) / 9007199254740992;
}
